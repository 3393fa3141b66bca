/**
 * The deterministic mixed workload of the crash tests, shared by the writer process and the
 * verifying test.
 *
 * Design: operation k (1-based) is chosen from the model state after k-1 operations and the
 * bytes detBytes(`crash/<seed>/<k>`), so writer and test, given the same seed, build the same
 * sequence without talking to each other. Each operation is one store call (one backend
 * transaction): opening pending channels with link nodes (Coordinator.syncPendingChannel),
 * markOpen, the three steps of payment rounds (PaymentRound: append → advance → update, on a
 * few channels at once), forwarding-package filters, acks and removals, closes
 * (closeChannel with a makeCloseSummary summary), markChannelFullyClosed and bounded
 * purges. Every commitment round goes through the fixtures' PaymentRound, never through
 * hand-built store arguments, so fixture changes carry over.
 *
 * The model (WorkloadState) is exactly what the store must hold after k operations, except
 * for the purge: how many records one purgeClosedChannels call deletes is the backend's
 * choice, so the model keeps only the totals the purge may still delete (`closedBulk`), and
 * the test bounds the counts with them.
 */
import { CHAIN_HASHES, type Network } from '../../src/linknode/store.js';
import { outPointKey } from '../../src/chanstate/channel-id.js';
import {
  ChannelStatus,
  ClosureType,
  FwdState,
  type AddRef,
  type ChannelCloseSummary,
  type FwdPkg,
  type Hex,
  type OpenChannel,
  type OutPoint,
  type PkgFilter,
  type SettleFailRef,
  type ShortChannelId,
} from '../../src/chanstate/types.js';
import { compareBytes } from '../../src/codec/bytes.js';
import type { ConformanceDb } from '../../src/testing/harness.js';
import {
  channelWithModel,
  detBytes,
  makeChannel,
  makeCloseSummary,
  makePendingChannel,
  modelOf,
  PaymentRound,
  type ChannelModel,
  type RoundSpec,
} from '../../src/testing/fixtures.js';

/** The kinds of operations the workload mixes. */
export const OP_KINDS = [
  'open',
  'markOpen',
  'append',
  'advance',
  'update',
  'setFwdFilter',
  'ackAddHtlcs',
  'ackSettleFails',
  'removeFwdPkgs',
  'close',
  'markFullyClosed',
  'purge',
] as const;
/** One of OP_KINDS. */
export type OpKind = (typeof OP_KINDS)[number];

/** Peers the channels are spread over, so several channels share a link node. */
const PEERS = 3;
/** The workload keeps between MIN_LIVE and MAX_LIVE channels that are not closed. */
const MIN_LIVE = 2;
const MAX_LIVE = 5;

/** A channel that is pending or open, as the store must hold it. */
export interface LiveChannel {
  readonly fixtureSeed: number;
  /** The record as stored, commitment state aside (pending, or open at its scid). */
  readonly base: OpenChannel;
  /** Commitment state after the last complete round; undefined while pending. */
  readonly model: ChannelModel | undefined;
  /** The round in flight from `model`: appended (step 1) or advanced (step 2); undefined between rounds. */
  readonly round: { readonly spec: RoundSpec; readonly step: 1 | 2 } | undefined;
  /** Forwarding packages as stored, with their filters. */
  readonly pkgs: readonly FwdPkg[];
  /** HTLC ids the remote offered us that no round of ours settled or failed yet. */
  readonly offeredToUs: readonly number[];
  /** HTLC ids we offered that the remote has not settled or failed yet. */
  readonly offeredByUs: readonly number[];
  readonly rounds: number;
}

/** A closed channel: its summary and the archived record. */
export interface ClosedChannel {
  readonly summary: ChannelCloseSummary;
  readonly historical: OpenChannel;
}

/** A link node as the model knows it (lastSeenMs is the store's clock, not modelled). */
export interface LinkNodeModel {
  readonly network: Network;
  readonly identityPub: Hex;
  readonly addresses: readonly string[];
}

/** A final HTLC outcome updateCommitment records. */
export interface FinalHtlcModel {
  readonly scid: ShortChannelId;
  readonly htlcIndex: number;
  readonly settled: boolean;
}

/**
 * What the store must hold after `ops` operations. Never mutated, and plain data (no class
 * instances), so it survives v8.serialize: the test hands the writer the state to resume
 * from instead of having it replay every earlier operation's fixture hashing.
 */
export interface WorkloadState {
  readonly ops: number;
  readonly nextFixtureSeed: number;
  /** Pending and open channels, in opening order. */
  readonly live: readonly LiveChannel[];
  readonly closed: readonly ClosedChannel[];
  /** By identity key. */
  readonly linkNodes: ReadonlyMap<Hex, LinkNodeModel>;
  /** By finalHtlcKey. */
  readonly finalHtlcs: ReadonlyMap<string, FinalHtlcModel>;
  /** Revocation log entries and forwarding packages closed channels had when closed. */
  readonly closedBulk: { readonly logEntries: number; readonly fwdPkgs: number };
}

/** One operation: what it is, and the store call that performs it. */
export interface WorkloadOp {
  readonly kind: OpKind;
  /** For messages, e.g. "append 7 round 3". */
  readonly label: string;
  run(db: ConformanceDb): Promise<void>;
}

/** Key of a final HTLC outcome in WorkloadState.finalHtlcs. */
export function finalHtlcKey(scid: ShortChannelId, htlcIndex: number): string {
  return `${scid}:${htlcIndex}`;
}

/**
 * A canonical text of a value: object keys sorted, undefined-valued keys dropped (as toEqual
 * ignores them), bigints and byte arrays spelled out, maps as sorted entries. Equal texts
 * mean toEqual-equal values; comparing texts is much faster than toEqual on states full of
 * 1366-byte onions. A Buffer and a Uint8Array with the same bytes have the same text.
 */
export function canonical(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, json: unknown) {
    // The holder's raw value: JSON.stringify has already applied toJSON (Buffer has one).
    const v = key === '' ? value : this[key];
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `0x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
    if (v instanceof Map) return { '<map>': [...v.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)) };
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) if ((v as Record<string, unknown>)[k] !== undefined) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return json;
  });
}

/** Channel points ordered as stores order them: txid bytes, then output index. */
export function compareChanPoints(a: OutPoint, b: OutPoint): number {
  return compareBytes(outPointKey(a), outPointKey(b));
}

/** PaymentRounds of rounds in flight, by round record (states are plain data, see Workload). */
const payments = new WeakMap<object, PaymentRound>();

/** The PaymentRound of the round `channel` has in flight. RangeError if none. */
export function paymentOf(channel: LiveChannel): PaymentRound {
  const { model, round } = channel;
  if (model === undefined || round === undefined) throw new RangeError(`expected a channel with a round in flight, got channel ${channel.fixtureSeed} without`);
  let payment = payments.get(round);
  if (payment === undefined) {
    payment = new PaymentRound(model, round.spec);
    payments.set(round, payment);
  }
  return payment;
}

/** The commitment state the store holds for `channel` right now, mid-round included. */
export function currentModel(channel: LiveChannel): ChannelModel | undefined {
  const { model, round } = channel;
  if (model === undefined || round === undefined) return model;
  const { plan } = paymentOf(channel);
  // Appended: only the chain tip (read separately) and lastWasRevoke changed.
  if (round.step === 1) return { ...model, lastWasRevoke: false };
  // Advanced: the tip became the remote commitment, the revoked one went to the log, our
  // signed-for updates wait for the remote's next commitment, our local one is unchanged.
  return {
    ...model,
    remote: plan.next.remote,
    revocation: plan.next.revocation,
    lastWasRevoke: false,
    unsignedAcked: plan.unsignedAckedAfterAdvance,
    remoteUnsignedLocal: [...model.remoteUnsignedLocal, ...plan.tip.logUpdates],
    revocationLog: plan.next.revocationLog,
  };
}

/** The record fetchChannel must return for `channel`. */
export function expectedRecord(channel: LiveChannel): OpenChannel {
  const model = currentModel(channel);
  return model === undefined ? channel.base : channelWithModel(channel.base, model);
}

/** A filter of `count` bits with the bits at `set` on (MSB first), built here, not by the stores' helper. */
function filterOf(count: number, set: readonly number[]): PkgFilter {
  const bits = new Uint8Array(Math.ceil(count / 8));
  for (const i of set) bits[i >> 3]! |= 0x80 >> (i & 7);
  return { count, bits };
}

function bitSet(filter: PkgFilter, index: number): boolean {
  return (filter.bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}

function withBits(filter: PkgFilter, indexes: readonly number[]): PkgFilter {
  const set: number[] = indexes.slice();
  for (let i = 0; i < filter.count; i++) if (bitSet(filter, i)) set.push(i);
  return filterOf(filter.count, set);
}

function full(filter: PkgFilter): boolean {
  for (let i = 0; i < filter.count; i++) if (!bitSet(filter, i)) return false;
  return true;
}

/** A package with its state recomputed from its filters (the contract's rule, written out again). */
function restate(pkg: FwdPkg): FwdPkg {
  const state =
    pkg.fwdFilter === undefined ? FwdState.LockedIn : full(pkg.ackFilter) && full(pkg.settleFailFilter) ? FwdState.Completed : FwdState.Processed;
  return { ...pkg, state };
}

/** Decisions of one operation, drawn from its bytes. */
class Dice {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  /** A number in 0..n-1. */
  int(n: number): number {
    if (this.offset + 2 > this.bytes.length) throw new RangeError(`expected at most ${this.bytes.length / 2} draws per operation, got draw ${this.offset / 2 + 1}`);
    const v = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!;
    this.offset += 2;
    return v % n;
  }
  chance(p: number): boolean {
    return this.int(10_000) < p * 10_000;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Up to `max` distinct elements of `xs`, in their order in `xs`. */
  some<T>(xs: readonly T[], max: number): T[] {
    const n = 1 + this.int(Math.min(max, xs.length));
    const chosen = new Set<number>();
    for (let tries = 0; chosen.size < n && tries < 4 * n; tries++) chosen.add(this.int(xs.length));
    return [...chosen].sort((a, b) => a - b).map((i) => xs[i]!);
  }
}

function networkOf(chainHash: Hex): Network {
  for (const [network, hash] of Object.entries(CHAIN_HASHES)) if (hash === chainHash) return network as Network;
  return 'regtest';
}

function sameOutPoint(a: OutPoint, b: OutPoint): boolean {
  return a.txid === b.txid && a.index === b.index;
}

function replaceLive(state: WorkloadState, channel: LiveChannel): LiveChannel[] {
  return state.live.map((c) => (c.fixtureSeed === channel.fixtureSeed ? channel : c));
}

function isOpen(c: LiveChannel): c is LiveChannel & { model: ChannelModel } {
  return c.model !== undefined;
}

/** Unacked settle/fail refs of the live open channels' packages. */
function unackedSettleFails(state: WorkloadState): SettleFailRef[] {
  const refs: SettleFailRef[] = [];
  for (const c of state.live.filter(isOpen))
    for (const p of c.pkgs) for (let i = 0; i < p.settleFailFilter.count; i++) if (!bitSet(p.settleFailFilter, i)) refs.push({ source: p.source, height: p.height, index: i });
  return refs;
}

function unackedAdds(channel: LiveChannel): AddRef[] {
  const refs: AddRef[] = [];
  for (const p of channel.pkgs) for (let i = 0; i < p.ackFilter.count; i++) if (!bitSet(p.ackFilter, i)) refs.push({ height: p.height, index: i });
  return refs;
}

/** `state` with the acks applied to the packages they name (adds of `addChannel` only). */
function applyAcks(state: WorkloadState, addChannel: LiveChannel | undefined, adds: readonly AddRef[], settleFails: readonly SettleFailRef[]): LiveChannel[] {
  return state.live.map((c) => {
    if (!isOpen(c)) return c;
    const pkgs = c.pkgs.map((p) => {
      const addIdx = addChannel?.fixtureSeed === c.fixtureSeed ? adds.filter((r) => r.height === p.height).map((r) => r.index) : [];
      const sfIdx = settleFails.filter((r) => r.source === p.source && r.height === p.height).map((r) => r.index);
      if (addIdx.length === 0 && sfIdx.length === 0) return p;
      return restate({ ...p, ackFilter: withBits(p.ackFilter, addIdx), settleFailFilter: withBits(p.settleFailFilter, sfIdx) });
    });
    return { ...c, pkgs };
  });
}

type Candidate = { readonly weight: number; build(): { op: WorkloadOp; next: WorkloadState } };

/** The state of an empty database. */
export const EMPTY_STATE: WorkloadState = {
  ops: 0,
  nextFixtureSeed: 1,
  live: [],
  closed: [],
  linkNodes: new Map(),
  finalHtlcs: new Map(),
  closedBulk: { logEntries: 0, fwdPkgs: 0 },
};

/**
 * The states and operations of one seed from `from` on (default: the empty database),
 * computed lazily and cached. A Workload resumed from stateAfter(n) of another Workload of
 * the same seed yields the same operations and states after n.
 */
export class Workload {
  private readonly base: number;
  private readonly states: WorkloadState[];
  private readonly ops: WorkloadOp[] = [];

  constructor(
    readonly seed: number,
    from: WorkloadState = EMPTY_STATE,
  ) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`expected a non-negative integer seed, got ${seed}`);
    this.base = from.ops;
    this.states = [from];
  }

  /** What the store holds after exactly `ops` operations (not before the state it was resumed from). */
  stateAfter(ops: number): WorkloadState {
    if (!Number.isInteger(ops) || ops < this.base) throw new RangeError(`expected an operation count ≥ ${this.base}, got ${ops}`);
    this.ensure(ops);
    return this.states[ops - this.base]!;
  }

  /** Operation number `k` (1-based): it turns stateAfter(k - 1) into stateAfter(k). */
  op(k: number): WorkloadOp {
    if (!Number.isInteger(k) || k <= this.base) throw new RangeError(`expected an operation number > ${this.base}, got ${k}`);
    this.ensure(k);
    return this.ops[k - 1 - this.base]!;
  }

  private ensure(ops: number): void {
    while (this.base + this.states.length <= ops) {
      const k = this.base + this.states.length;
      const { op, next } = this.plan(this.states.at(-1)!, k);
      this.ops.push(op);
      this.states.push(next);
    }
  }

  private plan(state: WorkloadState, k: number): { op: WorkloadOp; next: WorkloadState } {
    const dice = new Dice(detBytes(`crash/${this.seed}/${k}`, 64));
    const candidates = this.candidates(state, dice, k).filter((c) => c.weight > 0);
    let roll = dice.int(candidates.reduce((sum, c) => sum + c.weight, 0));
    for (const c of candidates) {
      if (roll < c.weight) {
        const built = c.build();
        return { op: built.op, next: { ...built.next, ops: k } };
      }
      roll -= c.weight;
    }
    throw new Error(`no operation candidate at op ${k}`); // unreachable: open is always possible below MIN_LIVE
  }

  private candidates(state: WorkloadState, dice: Dice, k: number): Candidate[] {
    const live = state.live;
    const open = live.filter(isOpen);
    const pending = live.filter((c) => !isOpen(c));
    const out: Candidate[] = [];
    out.push({ weight: live.length < MIN_LIVE ? 1000 : live.length < MAX_LIVE ? 4 : 0, build: () => openOp(state, dice) });
    if (pending.length > 0) out.push({ weight: 8, build: () => markOpenOp(state, dice.pick(pending)) });
    if (open.length > 0) out.push({ weight: 10 * open.length, build: () => roundStepOp(state, dice, dice.pick(open)) });
    const unfiltered = open.flatMap((c) => c.pkgs.filter((p) => p.fwdFilter === undefined).map((p) => ({ c, p })));
    if (unfiltered.length > 0) out.push({ weight: 4, build: () => setFwdFilterOp(state, dice, dice.pick(unfiltered)) });
    const withUnackedAdds = open.filter((c) => unackedAdds(c).length > 0);
    if (withUnackedAdds.length > 0) out.push({ weight: 4, build: () => ackAddsOp(state, dice, dice.pick(withUnackedAdds)) });
    const sf = unackedSettleFails(state);
    if (sf.length > 0) out.push({ weight: 8, build: () => ackSettleFailsOp(state, dice.some(sf, 3)) });
    const withCompleted = open.filter((c) => c.pkgs.some((p) => p.state === FwdState.Completed));
    if (withCompleted.length > 0) out.push({ weight: 4, build: () => removeFwdPkgsOp(state, dice, dice.pick(withCompleted)) });
    const closable = live.filter((c) => !isOpen(c) || c.rounds >= 2);
    if (live.length > MIN_LIVE && closable.length > 0) out.push({ weight: 4, build: () => closeOp(state, dice, dice.pick(closable), k) });
    const resolvable = state.closed.filter((c) => c.summary.isPending);
    if (resolvable.length > 0) out.push({ weight: 5, build: () => markFullyClosedOp(state, dice.pick(resolvable)) });
    if (state.closed.length > 0) out.push({ weight: 4, build: () => purgeOp(state, 2 + dice.int(3)) });
    return out;
  }
}

function openOp(state: WorkloadState, dice: Dice): { op: WorkloadOp; next: WorkloadState } {
  const fixtureSeed = state.nextFixtureSeed;
  const peer = 1 + dice.int(PEERS);
  const channel = makePendingChannel(fixtureSeed, {}, { peer });
  const address = dice.chance(0.2) ? undefined : `10.0.${peer}.${1 + dice.int(3)}:9735`;
  const linkNodes = new Map(state.linkNodes);
  const existing = linkNodes.get(channel.identityPub);
  if (existing === undefined) {
    linkNodes.set(channel.identityPub, { network: networkOf(channel.chainHash), identityPub: channel.identityPub, addresses: address === undefined ? [] : [address] });
  } else if (address !== undefined && !existing.addresses.includes(address)) {
    linkNodes.set(channel.identityPub, { ...existing, addresses: [...existing.addresses, address] });
  }
  const added: LiveChannel = { fixtureSeed, base: channel, model: undefined, round: undefined, pkgs: [], offeredToUs: [], offeredByUs: [], rounds: 0 };
  return {
    op: {
      kind: 'open',
      label: `open ${fixtureSeed} with peer ${peer}`,
      run: (db) => db.coordinator.syncPendingChannel(channel, address, channel.fundingBroadcastHeight),
    },
    next: { ...state, nextFixtureSeed: fixtureSeed + 1, live: [...state.live, added], linkNodes },
  };
}

function markOpenOp(state: WorkloadState, channel: LiveChannel): { op: WorkloadOp; next: WorkloadState } {
  const scid = makeChannel(channel.fixtureSeed).shortChannelId;
  const base: OpenChannel = { ...channel.base, isPending: false, shortChannelId: scid };
  const op = base.fundingOutpoint;
  return {
    op: { kind: 'markOpen', label: `markOpen ${channel.fixtureSeed}`, run: (db) => db.channelState.markOpen(op, scid) },
    next: { ...state, live: replaceLive(state, { ...channel, base, model: modelOf(base) }) },
  };
}

/** The next step of `channel`'s payment round, starting a new round between rounds. */
function roundStepOp(state: WorkloadState, dice: Dice, channel: LiveChannel & { model: ChannelModel }): { op: WorkloadOp; next: WorkloadState } {
  const name = `${channel.fixtureSeed} round ${channel.rounds + 1}`;
  const round = channel.round;
  if (round === undefined) {
    const toUs = [...channel.offeredToUs];
    const byUs = [...channel.offeredByUs];
    const take = (xs: number[], p: number) => (xs.length > 0 && dice.chance(p) ? [xs.shift()!] : []);
    const settle = take(toUs, 0.5);
    const fail = take(toUs, 0.3);
    const remoteSettles = take(byUs, 0.7);
    const remoteFails = take(byUs, 0.3);
    const htlcs = 1 + dice.int(4);
    const adds = unackedAdds(channel);
    const sfs = unackedSettleFails(state);
    const addAcks = adds.length > 0 && dice.chance(0.3) ? dice.some(adds, 2) : [];
    const settleFailAcks = sfs.length > 0 && dice.chance(0.3) ? dice.some(sfs, 2) : [];
    const spec: RoundSpec = {
      settle,
      fail,
      remoteSettles,
      remoteFails,
      ourAdds: dice.chance(0.7) ? 1 : 0,
      remoteAdds: dice.int(3),
      unsignedAcked: dice.int(2),
      htlcs,
      dust: Math.min(htlcs, dice.int(2)),
      ...(addAcks.length > 0 ? { addAcks } : {}),
      ...(settleFailAcks.length > 0 ? { settleFailAcks } : {}),
    };
    const started: LiveChannel = { ...channel, round: { spec, step: 1 }, offeredToUs: toUs, offeredByUs: byUs };
    const payment = paymentOf(started);
    const acked = applyAcks({ ...state, live: replaceLive(state, started) }, started, addAcks, settleFailAcks);
    return {
      op: { kind: 'append', label: `append ${name}`, run: (db) => payment.append(db.channelState) },
      next: { ...state, live: acked },
    };
  }
  const payment = paymentOf(channel);
  const next = payment.plan.next;
  if (round.step === 1) {
    const pkg = next.fwdPkgs.at(-1)!;
    const advancedRound = { ...round, step: 2 as const };
    payments.set(advancedRound, payment);
    const advanced: LiveChannel = { ...channel, round: advancedRound, pkgs: [...channel.pkgs, pkg] };
    return {
      op: { kind: 'advance', label: `advance ${name}`, run: (db) => payment.advance(db.channelState) },
      next: { ...state, live: replaceLive(state, advanced) },
    };
  }
  const before = channel.model;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  const done: LiveChannel = {
    ...channel,
    model: next,
    round: undefined,
    rounds: channel.rounds + 1,
    offeredToUs: [...channel.offeredToUs, ...range(before.theirHtlcIndex, next.theirHtlcIndex)],
    offeredByUs: [...channel.offeredByUs, ...range(before.ourHtlcIndex, next.ourHtlcIndex)],
  };
  const finalHtlcs = new Map(state.finalHtlcs);
  for (const [htlcIndex, settled] of payment.plan.settled) finalHtlcs.set(finalHtlcKey(before.scid, htlcIndex), { scid: before.scid, htlcIndex, settled });
  return {
    op: {
      kind: 'update',
      label: `update ${name}`,
      async run(db) {
        const settled = await payment.update(db.channelState);
        const want = payment.plan.settled;
        const same = settled.size === want.size && [...want].every(([id, s]) => settled.get(id) === s);
        if (!same) throw new Error(`updateCommitment of ${name} returned ${JSON.stringify([...settled])}, expected ${JSON.stringify([...want])}`);
      },
    },
    next: { ...state, live: replaceLive(state, done), finalHtlcs },
  };
}

function setFwdFilterOp(state: WorkloadState, dice: Dice, { c, p }: { c: LiveChannel; p: FwdPkg }): { op: WorkloadOp; next: WorkloadState } {
  const set: number[] = [];
  for (let i = 0; i < p.adds.length; i++) if (dice.chance(0.6)) set.push(i);
  const filter = filterOf(p.adds.length, set);
  const channel: LiveChannel = { ...c, pkgs: c.pkgs.map((x) => (x.height === p.height ? restate({ ...x, fwdFilter: filter }) : x)) };
  const op = c.base.fundingOutpoint;
  return {
    op: { kind: 'setFwdFilter', label: `setFwdFilter ${c.fixtureSeed}@${p.height}`, run: (db) => db.channelState.setFwdFilter(op, p.height, filter) },
    next: { ...state, live: replaceLive(state, channel) },
  };
}

function ackAddsOp(state: WorkloadState, dice: Dice, c: LiveChannel): { op: WorkloadOp; next: WorkloadState } {
  const refs = dice.some(unackedAdds(c), 3);
  const op = c.base.fundingOutpoint;
  return {
    op: { kind: 'ackAddHtlcs', label: `ackAddHtlcs ${c.fixtureSeed} ×${refs.length}`, run: (db) => db.channelState.ackAddHtlcs(op, refs) },
    next: { ...state, live: applyAcks(state, c, refs, []) },
  };
}

function ackSettleFailsOp(state: WorkloadState, refs: readonly SettleFailRef[]): { op: WorkloadOp; next: WorkloadState } {
  return {
    op: { kind: 'ackSettleFails', label: `ackSettleFails ×${refs.length}`, run: (db) => db.channelState.ackSettleFails(refs) },
    next: { ...state, live: applyAcks(state, undefined, [], refs) },
  };
}

function removeFwdPkgsOp(state: WorkloadState, dice: Dice, c: LiveChannel): { op: WorkloadOp; next: WorkloadState } {
  const completed = c.pkgs.filter((p) => p.state === FwdState.Completed).map((p) => p.height);
  const heights = dice.chance(0.5) ? completed : [dice.pick(completed)];
  const channel: LiveChannel = { ...c, pkgs: c.pkgs.filter((p) => !heights.includes(p.height)) };
  const op = c.base.fundingOutpoint;
  return {
    op: { kind: 'removeFwdPkgs', label: `removeFwdPkgs ${c.fixtureSeed} [${heights.join(',')}]`, run: (db) => db.channelState.removeFwdPkgs(op, heights) },
    next: { ...state, live: replaceLive(state, channel) },
  };
}

function closeOp(state: WorkloadState, dice: Dice, c: LiveChannel, k: number): { op: WorkloadOp; next: WorkloadState } {
  const record = expectedRecord(c);
  const model = currentModel(c);
  const pending = model === undefined;
  const closeType = pending ? ClosureType.FundingCanceled : dice.chance(0.5) ? ClosureType.Cooperative : ClosureType.LocalForce;
  const summary = makeCloseSummary(record, {
    closeHeight: 800_000 + k,
    closeType,
    isPending: true,
    ...(pending ? { closingTxid: '00'.repeat(32) } : {}),
  });
  const extra = dice.chance(0.5) ? ChannelStatus.LocalCloseInitiator : undefined;
  const historical: OpenChannel = { ...record, status: record.status | (extra ?? 0) };
  const op = c.base.fundingOutpoint;
  return {
    op: { kind: 'close', label: `close ${c.fixtureSeed}`, run: (db) => db.channelState.closeChannel(op, summary, extra) },
    next: {
      ...state,
      live: state.live.filter((x) => x.fixtureSeed !== c.fixtureSeed),
      closed: [...state.closed, { summary, historical }],
      closedBulk: {
        logEntries: state.closedBulk.logEntries + (model?.revocationLog.length ?? 0),
        fwdPkgs: state.closedBulk.fwdPkgs + c.pkgs.length,
      },
    },
  };
}

function markFullyClosedOp(state: WorkloadState, closed: ClosedChannel): { op: WorkloadOp; next: WorkloadState } {
  const { chanPoint, remotePub } = closed.summary;
  const linkNodes = new Map(state.linkNodes);
  // The coordinator's invariant: the link node goes with the peer's last channel that is not
  // fully closed (pending, open, or closed with a summary still pending).
  const keeps =
    state.live.some((c) => c.base.identityPub === remotePub) ||
    state.closed.some((c) => c.summary.remotePub === remotePub && c.summary.isPending && !sameOutPoint(c.summary.chanPoint, chanPoint));
  if (!keeps) linkNodes.delete(remotePub);
  return {
    op: { kind: 'markFullyClosed', label: `markChannelFullyClosed ${chanPoint.txid.slice(0, 8)}`, run: (db) => db.coordinator.markChannelFullyClosed(chanPoint) },
    next: {
      ...state,
      closed: state.closed.map((x) => (sameOutPoint(x.summary.chanPoint, chanPoint) ? { ...x, summary: { ...x.summary, isPending: false } } : x)),
      linkNodes,
    },
  };
}

function purgeOp(state: WorkloadState, batch: number): { op: WorkloadOp; next: WorkloadState } {
  return {
    op: {
      kind: 'purge',
      label: `purgeClosedChannels(${batch})`,
      async run(db) {
        const result = await db.channelState.purgeClosedChannels(batch);
        if (result.deleted > batch) throw new Error(`purgeClosedChannels(${batch}) deleted ${result.deleted} records`);
      },
    },
    next: state,
  };
}
