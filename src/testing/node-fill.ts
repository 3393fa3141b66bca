/**
 * Fills a channel database with a realistic node: channels in every state a node goes
 * through, payment rounds (so revocation logs, forwarding packages in every state, chain
 * tips, unsigned update lists and off-chain final HTLC outcomes come from the real store
 * calls), closed channels both purged and awaiting the purge, setup state, link nodes and a
 * moved key-index allocator, invoices in every state and outgoing payments in every status
 * with their attempts — and, for size, many revoked states written through the bulk
 * import path (a million serial durable rounds would take hours; each revoked state is
 * exactly the record advanceCommitChainTail would have written).
 *
 * Used by the migration tests and benchmark and by the bulk-transfer conformance suite.
 * Deterministic: the same options give the same database on every backend. Imports
 * contracts only.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { BulkImportStore, BulkRecord } from '../chanstate/bulk-transfer.js';
import { bytesToHex } from '../codec/bytes.js';
import type { PaymentStores } from '../payments/store.js';
import type { PaymentAttempt } from '../payments/types.js';
import { channelIdOf } from '../chanstate/channel-id.js';
import { newPkgFilter } from '../chanstate/pkg-filter.js';
import { ChannelStatus, ClosureType, OpeningStage, type OpenChannel, type OutPoint, type RevocationLogEntry, type ShortChannelId } from '../chanstate/types.js';
import type { ChannelStateStore } from '../chanstate/store.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import type { LinkNodeStore } from '../linknode/store.js';
import {
  detBytes,
  detHex,
  makeChannel,
  makeCloseSummary,
  makeExternallyFunded,
  makeLinkNode,
  modelOf,
  planRound,
  pubkeyOf,
  runRounds,
  scidOf,
  type ChannelModel,
  type RoundSpec,
} from './fixtures.js';

/** The stores a fill writes through. */
export interface FillableDb extends PaymentStores {
  readonly channelState: ChannelStateStore;
  readonly linkNodes: LinkNodeStore;
  readonly coordinator: Coordinator;
  readonly bulk: BulkImportStore;
}

/** Sizes of a fill. */
export interface FillOptions {
  /** Channels in all (every kind gets its share; at least one of each when this is ≥ CHANNEL_KINDS.length). */
  readonly channels: number;
  /** Revoked states written in bulk, over the big-log channels (90%) and the closed ones awaiting purge (10%). */
  readonly revokedStates: number;
  /** Payment rounds on each channel that runs rounds. Default 4 (so its packages end in every state). */
  readonly rounds?: number;
  /** Seed offset, so two fills of one database never collide. Default 0. */
  readonly seed?: number;
  /** Revoked states per bulk page. Default 10,000. */
  readonly batch?: number;
  /** Invoices, through the invoice store (every INVOICE_FILL_KINDS kind gets its share). Default INVOICE_FILL_KINDS.length. */
  readonly invoices?: number;
  /** Outgoing payments with their attempts, through the payment store (every PAYMENT_FILL_KINDS kind gets its share). Default PAYMENT_FILL_KINDS.length. */
  readonly payments?: number;
}

/** What the invoices of a fill go through, in the order they repeat. */
export const INVOICE_FILL_KINDS = ['open', 'accepted', 'settled', 'accepted-settled', 'canceled', 'keysend-settled', 'open-any-amount'] as const;

/** What the payments of a fill go through, in the order they repeat (each ends in the status its name starts with). */
export const PAYMENT_FILL_KINDS = [
  'in_flight-new',
  'in_flight-attempt',
  'in_flight-after-failure',
  'succeeded-after-failure',
  'failed',
  'succeeded-after-retry',
  'succeeded-keysend',
] as const;

/** The kinds of channel a fill creates, in the order they repeat. */
export const CHANNEL_KINDS = [
  'pending',
  'pending-external',
  'open',
  'open-rounds',
  'big-log',
  'commit-broadcast',
  'coop-broadcast',
  'borked',
  'data-loss',
  'restored',
  'zero-conf-alias',
  'closed-awaiting-purge',
  'closed-purged',
  'fully-closed',
  'abandoned',
  'funding-canceled',
] as const;
/** One of CHANNEL_KINDS. */
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** What a fill wrote. */
export interface FillResult {
  /** Channel points by kind. */
  readonly byKind: Readonly<Record<ChannelKind, readonly OutPoint[]>>;
  /** Revoked states in the database (bulk ones plus those the rounds wrote). */
  readonly revokedStates: number;
  /** Payment rounds run through the store. */
  readonly rounds: number;
  /** Invoices and payments written. */
  readonly invoices: number;
  readonly payments: number;
}

/** A zero-conf alias: above 2^63, so it is negative as a signed INT8 (SQL) — the unsigned ordering case. */
const ALIAS_BASE = (1n << 63n) + 0x1000n;

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** 32 pseudo-random bytes as hex from (label hash, a, b): mulberry32 steps, no hashing (a fill makes millions). */
function fastHex32(labelHash: number, a: number, b: number): string {
  let state = (labelHash ^ Math.imul(a + 1, 0x9e3779b9) ^ Math.imul(b + 1, 0x85ebca6b)) >>> 0;
  let out = '';
  for (let i = 0; i < 8; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    out += HEX_BYTE[t >>> 24]! + HEX_BYTE[(t >>> 16) & 0xff]! + HEX_BYTE[(t >>> 8) & 0xff]! + HEX_BYTE[t & 0xff]!;
  }
  return out;
}

/** FNV-1a of a label. */
function labelHashOf(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A revoked state of channel `label` at `height` with `htlcs` non-dust HTLCs: the compact
 * record advanceCommitChainTail writes, with balances. As on a busy channel, an HTLC stays
 * on several consecutive states (slot i changes every few heights) and balances move a
 * little per state. Cheap to build.
 */
export function revokedStateOf(label: string, height: number, htlcs: number): RevocationLogEntry {
  const labelHash = labelHashOf(label);
  return {
    commitHeight: height,
    ourOutputIndex: 0,
    theirOutputIndex: 1,
    commitTxid: fastHex32(labelHash, height, 0xffff),
    ourBalanceMsat: 500_000_000n - BigInt(height) * 1_000n,
    theirBalanceMsat: 400_000_000n + BigInt(height) * 1_000n,
    htlcs: Array.from({ length: htlcs }, (_, i) => {
      const generation = Math.floor((height + 3 * i) / 5);
      return {
        paymentHash: fastHex32(labelHash, generation, i),
        refundTimeout: 800_000 + (generation % 1000),
        outputIndex: 2 + i,
        incoming: (generation + i) % 2 === 0,
        amountSat: 10_000n + BigInt(generation % 100),
        htlcIndex: generation * 4 + i,
      };
    }),
  };
}

/** HTLCs of the revoked state at `height`: 0-3, as a busy channel's states vary. */
export const htlcsAt = (height: number): number => height % 4;

const specOf = (round: number): RoundSpec => ({ remoteAdds: 2, remoteSettles: round === 0 ? [] : [0], settle: [0], unsignedAcked: round % 2, htlcs: 2 + (round % 2), dust: 1 });

/**
 * Fills `db` (fresh and empty) as described in the module comment; returns what it wrote.
 * Every write but the bulk revoked states goes through the contracts.
 */
export async function fillNode(db: FillableDb, options: FillOptions): Promise<FillResult> {
  const s = db.channelState;
  const seed0 = 10_000 + (options.seed ?? 0);
  const roundsEach = options.rounds ?? 4;
  const batch = options.batch ?? 10_000;
  const byKind = Object.fromEntries(CHANNEL_KINDS.map((k) => [k, [] as OutPoint[]])) as Record<ChannelKind, OutPoint[]>;
  const channels: Array<{ kind: ChannelKind; channel: OpenChannel }> = [];
  for (let i = 0; i < options.channels; i++) {
    const kind = CHANNEL_KINDS[i % CHANNEL_KINDS.length]!;
    const seed = seed0 + i;
    const peer = 1 + (i % 37);
    let channel: OpenChannel;
    if (kind === 'pending-external' || kind === 'funding-canceled') channel = makeExternallyFunded(seed, {}, { peer, htlcs: 0, dust: 0 }).channel;
    else if (kind === 'pending') channel = makeChannel(seed, { isPending: true, shortChannelId: 0n, confirmationHeight: 0 }, { peer, htlcs: 0, dust: 0 });
    else if (kind === 'zero-conf-alias') channel = makeChannel(seed, { shortChannelId: ALIAS_BASE + BigInt(i) }, { peer, htlcs: 2, dust: 1 });
    else channel = makeChannel(seed, {}, { peer, htlcs: 2, dust: 1 });
    channels.push({ kind, channel });
    byKind[kind].push(channel.fundingOutpoint);
  }

  // 1. Channels, as a node writes them.
  for (const [i, { kind, channel }] of channels.entries()) {
    const address = `10.1.${Math.floor(i / 250) % 250}.${i % 250}:9735`;
    if (kind === 'restored') {
      await db.coordinator.restoreChannelShells([{ channel, nodeAddresses: [address] }]);
      continue;
    }
    // A zero-conf channel carries its alias from the start (BOLT 2 channel_ready).
    await db.coordinator.syncPendingChannel({ ...channel, isPending: true, shortChannelId: kind === 'zero-conf-alias' ? channel.shortChannelId : 0n }, address, channel.fundingBroadcastHeight);
    if (!channel.isPending) await s.markOpen(channel.fundingOutpoint, channel.shortChannelId);
  }

  // 2. Payment rounds: revocation logs, forwarding packages, final HTLC outcomes.
  let rounds = 0;
  let revoked = 0;
  const models = new Map<string, ChannelModel>();
  for (const { kind, channel } of channels) {
    if (kind !== 'open-rounds' && kind !== 'zero-conf-alias' && kind !== 'closed-awaiting-purge' && kind !== 'commit-broadcast') continue;
    const outcomes = await runRounds(s, modelOf(channel), Array.from({ length: roundsEach }, (_, r) => specOf(r)));
    rounds += outcomes.length;
    revoked += outcomes.length;
    models.set(channelIdOf(channel.fundingOutpoint), outcomes.at(-1)?.next ?? modelOf(channel));
  }
  // Packages in every state on the round channels: height 1 Completed and removed (when
  // there are 3 rounds), 2 Completed, 3 Processed, later ones LockedIn; and a chain tip.
  for (const { kind, channel } of channels) {
    if (kind !== 'open-rounds' && kind !== 'zero-conf-alias') continue;
    const op = channel.fundingOutpoint;
    const pkgs = await s.loadFwdPkgs(op);
    for (const pkg of pkgs.slice(0, 2)) {
      await s.setFwdFilter(op, pkg.height, newPkgFilter(pkg.adds.length));
      await s.ackAddHtlcs(op, pkg.adds.map((_, index) => ({ height: pkg.height, index })));
      await s.ackSettleFails(pkg.settleFails.map((_, index) => ({ source: pkg.source, height: pkg.height, index })));
    }
    if (pkgs.length >= 3) {
      await s.removeFwdPkgs(op, [pkgs[0]!.height]);
      await s.setFwdFilter(op, pkgs[2]!.height, { count: pkgs[2]!.adds.length, bits: new Uint8Array(Math.ceil(pkgs[2]!.adds.length / 8)).fill(0x80) });
    }
    // A commitment signed but not yet revoked: the chain tip (the retransmission state).
    await s.appendRemoteCommitChain(op, planRound(models.get(channelIdOf(op))!, { ourAdds: 1, htlcs: 3 }).diff);
  }

  // 3. Bulk revoked states: 90% over the big-log channels, 10% over those closed later.
  const bigLog = byKind['big-log'];
  const awaiting = byKind['closed-awaiting-purge'];
  const targets: Array<{ op: OutPoint; count: number; from: number }> = [];
  const share = (ops: readonly OutPoint[], total: number, from: number) => {
    ops.forEach((op, j) => targets.push({ op, count: Math.floor(total / ops.length) + (j < total % ops.length ? 1 : 0), from }));
  };
  const bulkTotal = options.revokedStates;
  if (awaiting.length === 0) share(bigLog, bulkTotal, 0);
  else if (bigLog.length === 0) share(awaiting, bulkTotal, roundsEach);
  else {
    const toClosed = Math.floor(bulkTotal / 10);
    share(bigLog, bulkTotal - toClosed, 0);
    share(awaiting, toClosed, roundsEach);
  }
  let page: BulkRecord[] = [];
  const flush = async () => {
    if (page.length === 0) return;
    await db.bulk.importPage(page, 'fill');
    page = [];
  };
  for (const { op, count, from } of targets) {
    const label = `${op.txid}:${op.index}`;
    for (let h = from; h < from + count; h++) {
      page.push({ kind: 'revocationLogEntry', chanPoint: op, entry: revokedStateOf(label, h, htlcsAt(h)) });
      if (page.length >= batch) await flush();
    }
    revoked += count;
  }
  await flush();
  await db.bulk.clearImportState();

  // 4. Status changes of open channels.
  for (const { kind, channel } of channels) {
    const op = channel.fundingOutpoint;
    if (kind === 'commit-broadcast') {
      await s.storeShutdownInfo(op, { deliveryScript: detBytes(`${op.txid}/delivery`, 22), closer: 'local' });
      await s.markCommitmentBroadcasted(op, detBytes(`${op.txid}/commit-tx`, 200), 'local');
    } else if (kind === 'coop-broadcast') {
      await s.storeShutdownInfo(op, { deliveryScript: detBytes(`${op.txid}/delivery`, 34), closer: 'remote' });
      await s.markCoopBroadcasted(op, detBytes(`${op.txid}/coop-tx`, 180), 'remote');
      await s.markCloseConfirmationHeight(op, 810_000);
    } else if (kind === 'borked') await s.markBorked(op);
    else if (kind === 'data-loss') await s.markDataLoss(op, channel.remoteRevocation.currentPoint!);
    else if (kind === 'zero-conf-alias') {
      await s.markRealScid(op, scidOf(900_000, 7, op.index));
      await s.markScidAliasNegotiated(op);
    }
  }

  // 5. Closes: the purged ones first (the purge empties the whole queue), then the rest.
  for (const { kind, channel } of channels) if (kind === 'closed-purged') await s.closeChannel(channel.fundingOutpoint, makeCloseSummary(channel, { closeType: ClosureType.LocalForce }), ChannelStatus.LocalCloseInitiator);
  for (let i = 0; i < 100_000 && !(await s.purgeClosedChannels(5_000)).done; i++);
  for (const { kind, channel } of channels) {
    const op = channel.fundingOutpoint;
    if (kind === 'closed-awaiting-purge') await s.closeChannel(op, makeCloseSummary(channel, { closeType: ClosureType.RemoteForce, timeLockedBalanceSat: 1_000n }));
    else if (kind === 'fully-closed') {
      await s.closeChannel(op, makeCloseSummary(channel));
      await db.coordinator.markChannelFullyClosed(op);
    } else if (kind === 'abandoned') await s.abandonChannel(op, 805_000);
    else if (kind === 'funding-canceled') await s.cancelExternalFunding(op, channel.externalFunding!.deadlineMs + 1, 805_001);
  }

  // 6. Final HTLC outcomes on chain (the rounds recorded off-chain ones), setup state.
  let n = 0;
  for (const { kind, channel } of channels) {
    const op = channel.fundingOutpoint;
    const scid: ShortChannelId = channel.shortChannelId === 0n ? scidOf(700_001, n, 0) : channel.shortChannelId;
    await s.putOnchainFinalHtlcOutcome(scid, 100 + n, n % 2 === 0);
    if (kind === 'open' || kind === 'zero-conf-alias' || kind === 'pending') {
      await s.saveChannelOpeningState(op, { stage: n % 3 === 0 ? OpeningStage.MarkedOpen : OpeningStage.ChannelReadySent, shortChannelId: scid });
      await s.saveInitialForwardingPolicy(channelIdOf(op), { minHtlcMsat: 1_000n, maxHtlcMsat: 990_000_000n, baseFeeMsat: 1_000n + BigInt(n), feeRatePpm: 1 + n, timeLockDelta: 80 });
    }
    n++;
  }
  // An opening state and a policy whose channel does not exist (the funding manager may leave them).
  await s.saveChannelOpeningState({ txid: detHex(`fill/${seed0}/orphan`, 32), index: 3 }, { stage: OpeningStage.AddedToGraph, shortChannelId: ALIAS_BASE - 1n });
  await s.saveInitialForwardingPolicy(detHex(`fill/${seed0}/orphan-policy`, 32), { minHtlcMsat: 1n, maxHtlcMsat: 2n, baseFeeMsat: 3n, feeRatePpm: 4, timeLockDelta: 5 });

  // 7. Link nodes beyond those the channels created, and a moved allocator.
  await db.linkNodes.createLinkNodes([makeLinkNode(500 + (options.seed ?? 0), { addresses: ['203.0.113.9:9735', '[2001:db8::1]:9735'] })]);
  await db.linkNodes.addAddress(makeLinkNode(1).identityPub, '198.51.100.1:9735', 1_760_000_000_000).catch(() => undefined);
  for (let i = 0; i < 3; i++) await s.nextChannelKeyIndex();

  // 8. Invoices and payments.
  const invoices = options.invoices ?? INVOICE_FILL_KINDS.length;
  const payments = options.payments ?? PAYMENT_FILL_KINDS.length;
  await fillInvoices(db, invoices, seed0);
  await fillPayments(db, payments, seed0);

  return { byKind, revokedStates: revoked, rounds, invoices, payments };
}

/** A preimage and its payment hash, deterministic in `label`. */
function preimageFor(label: string): { preimage: Uint8Array; paymentHash: string } {
  const preimage = detBytes(`fill-preimage/${label}`, 32);
  return { preimage, paymentHash: bytesToHex(sha256(preimage)) };
}

const T0 = 1_760_000_000_000;

/**
 * `count` invoices of every INVOICE_FILL_KINDS kind. Settles run in reverse add order, so
 * settle indexes differ from add indexes (a copy that renumbered either would show).
 */
async function fillInvoices(db: FillableDb, count: number, seed: number): Promise<void> {
  const toSettle: Array<{ hash: string; i: number }> = [];
  for (let i = 0; i < count; i++) {
    const kind = INVOICE_FILL_KINDS[i % INVOICE_FILL_KINDS.length]!;
    const label = `${seed}/invoice/${i}`;
    const { preimage, paymentHash } = preimageFor(label);
    const keysend = kind === 'keysend-settled';
    await db.invoices.addInvoice({
      paymentHash,
      preimage,
      ...(keysend ? {} : { paymentSecret: detHex(`${label}/secret`, 32) }),
      ...(kind === 'open-any-amount' || keysend ? {} : { amountMsat: 1_000_000n + BigInt(i) }),
      ...(i % 3 === 0 ? { description: `order #${i} ☕` } : i % 3 === 1 ? { descriptionHash: detHex(`${label}/dhash`, 32) } : {}),
      createdAtMs: T0 + i,
      expiresAtMs: T0 + 3_600_000 + i,
      minFinalCltvExpiryDelta: 18 + (i % 100),
      encoded: keysend ? '' : `lnbcrt${i}fill${'q'.repeat(i % 40)}`,
      keysend,
    });
    if (kind === 'accepted' || kind === 'accepted-settled') await db.invoices.acceptInvoice(paymentHash);
    if (kind === 'canceled') await db.invoices.cancelInvoice(paymentHash);
    if (kind === 'settled' || kind === 'accepted-settled' || kind === 'keysend-settled') toSettle.push({ hash: paymentHash, i });
  }
  for (const { hash, i } of toSettle.reverse()) {
    await db.invoices.settleInvoice(hash, 1_000_000n + BigInt(i) + 7n, T0 + 10_000 + i, { channelId: detHex(`${seed}/in-chan/${i % 5}`, 32), htlcId: i });
  }
}

/** Attempt `attemptId` of payment `label`: a route of 1-3 hops ending at `destination` with `amountMsat`. */
function attemptOf(label: string, attemptId: number, destination: string, amountMsat: bigint, i: number): PaymentAttempt {
  const hops = 1 + ((i + attemptId) % 3);
  const route = Array.from({ length: hops }, (_, h) => ({
    pubkey: h === hops - 1 ? destination : pubkeyOf(`${label}/hop/${attemptId}/${h}`),
    shortChannelId: scidOf(800_000 + h, i % 1000, attemptId),
    amountMsat: amountMsat + BigInt((hops - 1 - h) * 1_000),
    cltvExpiry: 900_000 + (hops - h) * 40,
  }));
  return {
    attemptId,
    channelId: detHex(`${label}/out-chan`, 32),
    htlcId: i * 4 + attemptId,
    amountMsat: route[0]!.amountMsat,
    route,
    sessionKey: detBytes(`${label}/session/${attemptId}`, 32),
    startedAtMs: T0 + 20_000 + i * 10 + attemptId,
    status: 'in_flight',
    resolvedAtMs: 0,
  };
}

/** `count` outgoing payments of every PAYMENT_FILL_KINDS kind, with their attempts. */
async function fillPayments(db: FillableDb, count: number, seed: number): Promise<void> {
  const p = db.payments;
  for (let i = 0; i < count; i++) {
    const kind = PAYMENT_FILL_KINDS[i % PAYMENT_FILL_KINDS.length]!;
    const label = `${seed}/payment/${i}`;
    const { preimage, paymentHash } = preimageFor(label);
    const destination = pubkeyOf(`${label}/dest`);
    const amountMsat = 2_000_000n + BigInt(i);
    const keysend = kind === 'succeeded-keysend';
    await p.initPayment({ paymentHash, amountMsat, destination, invoice: keysend ? '' : `lnbcrt${i}pay`, keysend, createdAtMs: T0 + 20_000 + i * 10 });
    const at = (n: number) => T0 + 30_000 + i * 10 + n;
    const attempt = (id: number) => p.registerAttempt(paymentHash, attemptOf(label, id, destination, amountMsat, i));
    switch (kind) {
      case 'in_flight-new':
        break;
      case 'in_flight-attempt':
        await attempt(1);
        break;
      case 'in_flight-after-failure':
        await attempt(1);
        await p.failAttempt(paymentHash, 1, 'temporary_channel_failure', at(1));
        await attempt(2);
        break;
      case 'succeeded-after-failure':
        await attempt(1);
        await p.failAttempt(paymentHash, 1, 'fee_insufficient', at(1));
        await attempt(2);
        await p.settleAttempt(paymentHash, 2, preimage, at(2));
        break;
      case 'failed':
        await attempt(1);
        await p.failAttempt(paymentHash, 1, 'incorrect_or_unknown_payment_details', at(1));
        await p.failPayment(paymentHash, 'no route left', at(2));
        break;
      case 'succeeded-after-retry':
        // Failed for good, then paid again: the retry keeps the payment index and the attempts.
        await attempt(1);
        await p.failAttempt(paymentHash, 1, 'expiry_too_soon', at(1));
        await p.failPayment(paymentHash, 'timeout', at(2));
        await p.initPayment({ paymentHash, amountMsat, destination, invoice: `lnbcrt${i}pay`, keysend: false, createdAtMs: at(3) });
        await attempt(2);
        await p.settleAttempt(paymentHash, 2, preimage, at(4));
        break;
      case 'succeeded-keysend':
        await attempt(1);
        await p.settleAttempt(paymentHash, 1, preimage, at(1));
        break;
    }
  }
}
