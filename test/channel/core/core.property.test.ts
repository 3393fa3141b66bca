/**
 * THE property of the channel core: two cores on a real channel, each backed by a real
 * memory store that runs every persist effect as the actor will, survive any interleaving
 * of offers from either side, fulfills and fails of locked-in HTLCs, fee updates by the
 * funder, signing, message deliveries in either direction, disconnects (in-flight messages
 * lost, then channel_reestablish both ways) and restarts of either side (the core rebuilt
 * from its store). After draining to quiescence:
 * - no step ever failed the channel;
 * - A's local commitment is byte-identical to B's remote one and vice versa;
 * - every offered HTLC is exactly one of: still pending, fulfilled (and its payer saw the
 *   preimage), failed, or forgotten (never signed, dropped at a disconnect or restart);
 * - each commitment's balances plus HTLC amounts equal the capacity, and its outputs plus
 *   its fee equal the funding amount;
 * - each store's latestCommitments equal its core's commitments, and a core rebuilt from
 *   the store has the same commitments, revocation state and next HTLC id.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTx } from '../../../src/bitcoin/transaction.js';
import { htlcResolution } from '../../../src/chanstate/log-update.js';
import type { ChannelCommitment } from '../../../src/chanstate/types.js';
import { nextHtlcId } from '../../../src/channel/core/index.js';
import { A, B, CAPACITY_SAT, channelPair, deliver, disconnect, drain, loadCore, offer, preimageOf, reconnect, run, storedNode, type StoredNode } from './support.js';

type Side = 'A' | 'B';
type Action =
  | { t: 'offer'; side: Side; amount: bigint }
  | { t: 'resolve'; side: Side; pick: number; fulfill: boolean }
  | { t: 'fee'; rate: number }
  | { t: 'sign'; side: Side }
  | { t: 'deliver'; to: Side; count: number }
  | { t: 'settle' }
  | { t: 'disconnect' }
  | { t: 'restart'; side: Side };

const side = fc.constantFrom<Side>('A', 'B');
const action: fc.Arbitrary<Action> = fc.oneof(
  // Dust for both sides, dust for one only, ordinary, and large enough to hit the limits.
  { weight: 4, arbitrary: fc.record({ t: fc.constant('offer' as const), side, amount: fc.constantFrom(300_000n, 450_000n, 5_000_000n, 60_000_000n, 250_000_000n) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('resolve' as const), side, pick: fc.nat(7), fulfill: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('fee' as const), rate: fc.constantFrom(253, 1000, 2500, 6000) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('sign' as const), side }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('deliver' as const), to: side, count: fc.integer({ min: 1, max: 3 }) }) },
  // Lets HTLCs lock in, so that later actions can resolve them.
  { weight: 2, arbitrary: fc.constant({ t: 'settle' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'disconnect' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), side }) },
);

interface OfferRecord {
  readonly payer: Side;
  htlcId: number;
  readonly amount: bigint;
  forgotten: boolean;
}

class World {
  readonly offers = new Map<string, OfferRecord>();
  /** The payee's sticky decision per payment hash (a restart must not turn a fulfill into a fail). */
  readonly decisions = new Map<string, boolean>();
  counter = 0;
  constructor(
    public a: StoredNode,
    public b: StoredNode,
  ) {}

  node(s: Side): StoredNode {
    return s === 'A' ? this.a : this.b;
  }
  other(s: Side): StoredNode {
    return s === 'A' ? this.b : this.a;
  }

  async apply(act: Action): Promise<void> {
    const connected = this.a.core.synced && this.b.core.synced;
    switch (act.t) {
      case 'offer': {
        const n = ++this.counter;
        const node = this.node(act.side);
        const effects = await run(node, offer(n, act.amount));
        const offered = effects.find((e) => e.kind === 'offered');
        if (offered?.kind === 'offered') this.offers.set(offered.paymentHash, { payer: act.side, htlcId: offered.htlcId, amount: act.amount, forgotten: false });
        else expect(effects.map((e) => e.kind)).toEqual(['offer_refused']);
        return;
      }
      case 'resolve': {
        const node = this.node(act.side);
        // Locked-in incoming HTLCs: in the peer's current commitment (and so in ours).
        const incoming = node.core.remoteCommit.htlcs.filter((h) => h.incoming);
        if (incoming.length === 0) return;
        const h = incoming[act.pick % incoming.length]!;
        const fulfill = this.decisions.get(h.paymentHash) ?? act.fulfill;
        this.decisions.set(h.paymentHash, fulfill);
        const n = [...Array(this.counter + 1).keys()].find((i) => preimageOf(i).paymentHash === h.paymentHash);
        expect(n).toBeDefined();
        await run(
          node,
          fulfill
            ? { kind: 'fulfill_htlc', htlcId: h.htlcIndex, preimage: preimageOf(n!).preimage }
            : { kind: 'fail_htlc', htlcId: h.htlcIndex, reason: new Uint8Array(64).fill(n! & 0xff) },
        );
        return;
      }
      case 'fee':
        await run(this.a, { kind: 'update_fee', feeratePerKw: act.rate });
        return;
      case 'sign':
        await run(this.node(act.side), { kind: 'sign' });
        return;
      case 'deliver':
        if (connected) await deliver(this.other(act.to), this.node(act.to), act.count);
        return;
      case 'settle':
        if (connected) await drain(this.a, this.b);
        return;
      case 'disconnect':
        await disconnect(this.a, this.b);
        this.noteForgotten();
        await reconnect(this.a, this.b);
        return;
      case 'restart': {
        const node = this.node(act.side);
        // The process dies: the connection with it; the peer sees a disconnect.
        await disconnect(this.a, this.b);
        node.core = await loadCore(node);
        expect(node.core.synced).toBe(false);
        this.noteForgotten();
        await reconnect(this.a, this.b);
        return;
      }
    }
  }

  /** Offers the payer no longer knows of (never signed, dropped) count as forgotten. */
  noteForgotten(): void {
    for (const n of [this.a, this.b]) {
      for (const e of n.observed) if (e.kind === 'htlc_forgotten') this.offers.get(e.paymentHash)!.forgotten = true;
    }
    for (const [hash, o] of this.offers) {
      if (o.forgotten) continue;
      const payer = this.node(o.payer).core;
      const commits = [payer.localCommit, payer.remoteCommit, ...(payer.remoteTip ? [payer.remoteTip.commitment] : [])];
      const known = commits.some((c) => c.htlcs.some((h) => !h.incoming && h.paymentHash === hash)) || payer.ourLog.some((e) => e.update.type === 'update_add_htlc' && e.update.paymentHash === hash);
      const resolved = this.resolutions().has(hash);
      if (!known && !resolved) o.forgotten = true;
    }
  }

  /** Payment hash → settled?, from the payers' forwarding packages (the removals their revocations locked in). */
  resolutions(): Map<string, boolean> {
    const out = new Map<string, boolean>();
    for (const n of [this.a, this.b]) {
      for (const { args, before } of n.lockedIn) {
        for (const u of args.fwdPkg.settleFails) {
          const r = htlcResolution(u)!;
          const h = before.remoteCommit.htlcs.find((x) => !x.incoming && x.htlcIndex === r.htlcId)!;
          expect(h).toBeDefined();
          expect(out.has(h.paymentHash)).toBe(false); // resolved at most once
          out.set(h.paymentHash, r.settled);
        }
      }
    }
    return out;
  }
}

function conserved(c: ChannelCommitment): void {
  const htlcs = c.htlcs.reduce((s, h) => s + h.amountMsat, 0n);
  expect(c.localBalanceMsat + c.remoteBalanceMsat + htlcs).toBe(CAPACITY_SAT * 1000n);
  const outputs = decodeTx(c.commitTx).outputs.reduce((s, o) => s + o.value, 0n);
  expect(outputs + c.commitFeeSat).toBe(CAPACITY_SAT);
  expect(c.localBalanceMsat >= 0n && c.remoteBalanceMsat >= 0n).toBe(true);
}

async function scenario(actions: readonly Action[]): Promise<void> {
  const { a: recA, b: recB } = channelPair();
  const world = new World(await storedNode('A', recA, A), await storedNode('B', recB, B));
  try {
    await reconnect(world.a, world.b);
    for (const act of actions) await world.apply(act);
    await drain(world.a, world.b);
    world.noteForgotten();
    const { a, b } = world;

    expect(a.core.remoteTip).toBeUndefined();
    expect(b.core.remoteTip).toBeUndefined();
    expect(a.core.localCommit.commitTx).toEqual(b.core.remoteCommit.commitTx);
    expect(a.core.remoteCommit.commitTx).toEqual(b.core.localCommit.commitTx);
    for (const c of [a.core.localCommit, a.core.remoteCommit, b.core.localCommit, b.core.remoteCommit]) conserved(c);

    const resolutions = world.resolutions();
    const preimagesSeen = new Set([...a.observed, ...b.observed].flatMap((e) => (e.kind === 'preimage_received' ? [e.paymentHash] : [])));
    for (const [hash, o] of world.offers) {
      const pending = world.node(o.payer).core.localCommit.htlcs.some((h) => !h.incoming && h.paymentHash === hash);
      const outcomes = [pending, resolutions.has(hash), o.forgotten].filter(Boolean).length;
      expect(outcomes, `HTLC ${hash.slice(0, 8)} of ${o.payer}`).toBe(1);
      if (resolutions.get(hash) === true) expect(preimagesSeen.has(hash)).toBe(true);
      if (resolutions.has(hash)) expect(resolutions.get(hash)).toBe(world.decisions.get(hash));
    }

    for (const n of [a, b]) {
      expect(await n.db.channelState.latestCommitments(n.outpoint)).toEqual({ local: n.core.localCommit, remote: n.core.remoteCommit });
      const again = await loadCore(n);
      expect(again.localCommit).toEqual(n.core.localCommit);
      expect(again.remoteCommit).toEqual(n.core.remoteCommit);
      expect(again.remoteRevocation).toEqual(n.core.remoteRevocation);
      expect(nextHtlcId(again)).toBe(nextHtlcId(n.core));
    }
  } finally {
    await world.a.db.close();
    await world.b.db.close();
  }
}

describe('channel core: two cores with real stores under random interleavings', () => {
  it('stay in sync, lose nothing and never fail the channel', async () => {
    await fc.assert(fc.asyncProperty(fc.array(action, { minLength: 25, maxLength: 70 }), scenario), { numRuns: 25 });
  });
});
