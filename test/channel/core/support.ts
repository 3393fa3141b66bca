/**
 * Test support for the channel core: a real channel pair (the funder A of seed 1, the
 * acceptor B of seed 2, built like test/funding/initial-channel.test.ts), each side's core
 * signer from its KeyChain, and a harness that runs core effects the way the actor will:
 * persists through a real memory store (awaited, in order), sends into the peer's in-flight
 * queue.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { commitmentSighash } from '../../../src/bitcoin/commitment.js';
import { KeyChain, type ChannelKeySet } from '../../../src/bitcoin/key-chain.js';
import { fundingWitnessScript } from '../../../src/bitcoin/bolt3-scripts.js';
import { p2wpkhScript, p2wshScript } from '../../../src/bitcoin/script.js';
import { txidOf, type BitcoinTx, type OutPoint } from '../../../src/bitcoin/transaction.js';
import { openChannelDb, type ChannelDb } from '../../../src/channeldb/open.js';
import type { OpenChannel } from '../../../src/chanstate/types.js';
import { bytesToHex, hexToBytes } from '../../../src/codec/bytes.js';
import { ErrorCode } from '../../../src/errors.js';
import { buildInitialCommitments, pendingChannelRecord, type ChannelTerms, type SideParams } from '../../../src/funding/initial-channel.js';
import { CHAIN_HASHES } from '../../../src/linknode/store.js';
import { coreFromStore, nextReestablish, step, type CoreEffect, type CoreEvent, type CoreOptions, type CoreSigner, type CoreState, type StoredChannelView } from '../../../src/channel/core/index.js';
import type { WireMessage } from '../../../src/wire/types.js';

export const CAPACITY_SAT = 1_000_000n;
export const PUSH_MSAT = 300_000_000n; // 300,000 sat to B
export const FEERATE = 1000;
export const SCID = (700_000n << 40n) | (5n << 16n) | 1n;

type Limits = Omit<SideParams, 'fundingPubkey' | 'revocationBasepoint' | 'paymentBasepoint' | 'delayedPaymentBasepoint' | 'htlcBasepoint' | 'firstPerCommitmentPoint'>;

/** Limits of A (what A imposes on B) and of B (what B imposes on A): every one differs. */
export const LIMITS_A: Limits = {
  dustLimitSat: 546n,
  maxHtlcValueInFlightMsat: 600_000_000n,
  channelReserveSat: 10_000n,
  htlcMinimumMsat: 1n,
  toSelfDelay: 144,
  maxAcceptedHtlcs: 6,
};
export const LIMITS_B: Limits = {
  dustLimitSat: 354n,
  maxHtlcValueInFlightMsat: 500_000_000n,
  channelReserveSat: 12_000n,
  htlcMinimumMsat: 1000n,
  toSelfDelay: 200,
  maxAcceptedHtlcs: 5,
};

export interface Party {
  readonly chain: KeyChain;
  readonly keys: ChannelKeySet;
  readonly side: SideParams;
  readonly nodeId: string;
  readonly signer: CoreSigner;
}

function party(n: number, limits: Limits): Party {
  const chain = KeyChain.fromBip39Seed(new Uint8Array(32).fill(n), 'regtest');
  const keys = chain.channelKeys(0);
  const producer = chain.shachainProducer(keys.shachainRoot);
  const side: SideParams = {
    ...limits,
    fundingPubkey: keys.funding.pubkey,
    revocationBasepoint: keys.revocationBasepoint.pubkey,
    paymentBasepoint: keys.paymentBasepoint.pubkey,
    delayedPaymentBasepoint: keys.delayedPaymentBasepoint.pubkey,
    htlcBasepoint: keys.htlcBasepoint.pubkey,
    firstPerCommitmentPoint: bytesToHex(producer.perCommitmentPoint(0n)),
  };
  const signer: CoreSigner = {
    signFunding: (d) => chain.signDigest(keys.funding.locator, d),
    signHtlc: (point, d) => chain.signDigestTweaked(keys.htlcBasepoint.locator, point, d),
    perCommitmentSecret: (c) => producer.perCommitmentSecret(BigInt(c)),
  };
  return { chain, keys, side, nodeId: chain.nodeKey().pubkey, signer };
}

export const A = party(1, LIMITS_A);
export const B = party(2, LIMITS_B);

/** Both parties' records of one open channel: A funded it, pushed PUSH_MSAT to B. */
export function channelPair(): { a: OpenChannel; b: OpenChannel; outpoint: OutPoint } {
  const fundingTx: BitcoinTx = {
    version: 2,
    inputs: [{ txid: 'ab'.repeat(32), index: 0, scriptSig: new Uint8Array(0), sequence: 0xffff_fffd, witness: [] }],
    outputs: [
      { value: 50_000n, script: p2wpkhScript(hexToBytes(A.side.paymentBasepoint)) },
      { value: CAPACITY_SAT, script: p2wshScript(fundingWitnessScript(hexToBytes(A.side.fundingPubkey), hexToBytes(B.side.fundingPubkey))) },
    ],
    lockTime: 0,
  };
  const outpoint: OutPoint = { txid: txidOf(fundingTx), index: 1 };
  return { ...channelPairAt(outpoint, { minimumDepth: 3, broadcastHeight: 699_990, confirmationHeight: 700_000 }), outpoint };
}

/** channelPair on a given funding outpoint (e.g. one really on a devnet ledger), with its heights. */
export function channelPairAt(
  outpoint: OutPoint,
  heights: { minimumDepth: number; broadcastHeight: number; confirmationHeight: number },
): { a: OpenChannel; b: OpenChannel } {
  const common = { chainHash: CHAIN_HASHES.regtest, capacitySat: CAPACITY_SAT, pushMsat: PUSH_MSAT, feeratePerKw: FEERATE, minimumDepth: heights.minimumDepth, channelFlags: 0 };
  const termsA: ChannelTerms = { ...common, isInitiator: true, peerId: B.nodeId, ours: A.side, theirs: B.side, keys: A.keys };
  const termsB: ChannelTerms = { ...common, isInitiator: false, peerId: A.nodeId, ours: B.side, theirs: A.side, keys: B.keys };
  const ca = buildInitialCommitments(termsA, outpoint);
  const cb = buildInitialCommitments(termsB, outpoint);
  const sigA = A.chain.signDigest(A.keys.funding.locator, commitmentSighash(ca.remote));
  const sigB = B.chain.signDigest(B.keys.funding.locator, commitmentSighash(cb.remote));
  const open = (rec: OpenChannel, peer: Party): OpenChannel => ({
    ...rec,
    isPending: false,
    shortChannelId: SCID,
    confirmationHeight: heights.confirmationHeight,
    remoteRevocation: { ...rec.remoteRevocation, nextPoint: bytesToHex(peer.chain.shachainProducer(peer.keys.shachainRoot).perCommitmentPoint(1n)) },
  });
  const a = pendingChannelRecord({ terms: termsA, fundingOutpoint: outpoint, commitments: ca, theirSignature: sigB, ourSignature: sigA, broadcastHeight: heights.broadcastHeight });
  const b = pendingChannelRecord({ terms: termsB, fundingOutpoint: outpoint, commitments: cb, theirSignature: sigA, ourSignature: sigB, broadcastHeight: heights.broadcastHeight });
  return { a: open(a, B), b: open(b, A) };
}

/** A fresh view of a channel record with nothing pending. */
export function freshView(channel: OpenChannel): StoredChannelView {
  return { channel, remoteTip: undefined, unsignedAckedUpdates: [], remoteUnsignedLocalUpdates: [] };
}

/** Both cores, reestablished with each other (no store); `options` go to both. */
export function syncedPair(options: CoreOptions = {}): { a: CoreState; b: CoreState } {
  const { a, b } = channelPair();
  let ca = coreFromStore(freshView(a), A.signer, options);
  let cb = coreFromStore(freshView(b), B.signer, options);
  const ra = nextReestablish(ca);
  const rb = nextReestablish(cb);
  ca = step(ca, { kind: 'peer_reestablish', message: rb }).state;
  cb = step(cb, { kind: 'peer_reestablish', message: ra }).state;
  return { a: ca, b: cb };
}

/** The deterministic preimage number `n`, and its payment hash. */
export function preimageOf(n: number): { preimage: Uint8Array; paymentHash: string } {
  const preimage = sha256(new TextEncoder().encode(`preimage ${n}`));
  return { preimage, paymentHash: bytesToHex(sha256(preimage)) };
}

export const ONION = new Uint8Array(1366).fill(7);

/** An offer_htlc event for preimage `n`. */
export function offer(n: number, amountMsat: bigint, cltvExpiry = 700_100): CoreEvent {
  return { kind: 'offer_htlc', amountMsat, paymentHash: preimageOf(n).paymentHash, cltvExpiry, onion: ONION };
}

/** The messages a step sends, in order. */
export function sent(effects: readonly CoreEffect[]): WireMessage[] {
  return effects.flatMap((e) => (e.kind === 'send' ? [e.message] : []));
}

/** Feeds messages to a core, asserting none fails the channel; returns the new state and all effects. */
export function deliverAll(state: CoreState, messages: readonly WireMessage[]): { state: CoreState; effects: CoreEffect[] } {
  const effects: CoreEffect[] = [];
  for (const message of messages) {
    const r = step(state, { kind: 'peer_message', message });
    const failed = r.effects.find((e) => e.kind === 'fail_channel');
    if (failed !== undefined) throw new Error(`unexpected fail_channel on ${message.type}: ${JSON.stringify(failed)}`);
    state = r.state;
    effects.push(...r.effects);
  }
  return { state, effects };
}

// --- a node backed by a real store -------------------------------------------------------------

/** One side of the property test: its core, its store, and what it observed. */
export interface StoredNode {
  readonly name: 'A' | 'B';
  readonly party: Party;
  readonly db: ChannelDb;
  readonly outpoint: OutPoint;
  core: CoreState;
  /** Messages in flight to the other side, in order. */
  outbox: WireMessage[];
  /** Everything the node's effects reported (not persists/sends). */
  readonly observed: CoreEffect[];
  /** Forwarding packages its revocations produced, with the pre-step remote commitment (to name HTLCs). */
  readonly lockedIn: Array<{ args: Extract<CoreEffect, { kind: 'persist_revocation' }>['args']; before: CoreState }>;
}

/** Opens a memory store holding `channel` open, with the peer's second point, as the funding flow leaves it. */
export async function storedNode(name: 'A' | 'B', channel: OpenChannel, p: Party): Promise<StoredNode> {
  const db = await openChannelDb({ backend: 'memory' });
  const { remoteRevocation } = channel;
  const pending: OpenChannel = { ...channel, isPending: true, shortChannelId: 0n, confirmationHeight: 0, remoteRevocation: { secrets: [], currentPoint: remoteRevocation.currentPoint! } };
  await db.coordinator.syncPendingChannel(pending, name === 'A' ? '127.0.0.1:9736' : undefined, pending.fundingBroadcastHeight);
  await db.channelState.markConfirmationHeight(channel.fundingOutpoint, channel.confirmationHeight);
  await db.channelState.markOpen(channel.fundingOutpoint, channel.shortChannelId);
  await db.channelState.insertNextRevocation(channel.fundingOutpoint, remoteRevocation.nextPoint!);
  const node: StoredNode = { name, party: p, db, outpoint: channel.fundingOutpoint, core: undefined as never, outbox: [], observed: [], lockedIn: [] };
  node.core = await loadCore(node);
  return node;
}

/** What the actor reads at start: the store view of the channel. */
export async function storeView(node: Pick<StoredNode, 'db' | 'outpoint'>): Promise<StoredChannelView> {
  const s = node.db.channelState;
  let remoteTip;
  try {
    remoteTip = await s.remoteCommitChainTip(node.outpoint);
  } catch (err) {
    if ((err as { code?: string }).code !== ErrorCode.NO_PENDING_COMMIT) throw err;
  }
  return {
    channel: await s.fetchChannel(node.outpoint),
    remoteTip,
    unsignedAckedUpdates: await s.unsignedAckedUpdates(node.outpoint),
    remoteUnsignedLocalUpdates: await s.remoteUnsignedLocalUpdates(node.outpoint),
  };
}

/** A core rebuilt from the node's store (a restart). */
export async function loadCore(node: StoredNode): Promise<CoreState> {
  return coreFromStore(await storeView(node), node.party.signer);
}

/**
 * Runs one event on a stored node and executes its effects as the actor will: each persist
 * awaited through the real store before the next effect; sends queued for the peer. A
 * fail_channel throws (the property test forbids it).
 */
export async function run(node: StoredNode, event: CoreEvent): Promise<readonly CoreEffect[]> {
  const before = node.core;
  const result = step(before, event);
  const cs = node.db.channelState;
  for (const e of result.effects) {
    switch (e.kind) {
      case 'persist_remote_commit':
        await cs.appendRemoteCommitChain(node.outpoint, e.diff);
        break;
      case 'persist_revocation':
        await cs.advanceCommitChainTail(node.outpoint, e.args);
        node.lockedIn.push({ args: e.args, before });
        break;
      case 'persist_local_commit':
        await cs.updateCommitment(node.outpoint, e.commitment, e.unsignedAckedUpdates);
        break;
      case 'send':
        node.outbox.push(e.message);
        break;
      case 'fail_channel':
        throw new Error(`${node.name}: fail_channel ${e.code}: ${e.reason} (event ${event.kind}${event.kind === 'peer_message' ? ` ${event.message.type}` : ''})`);
      default:
        node.observed.push(e);
    }
  }
  node.core = result.state;
  return result.effects;
}

/** Delivers up to `count` in-flight messages from `from` to `to`. */
export async function deliver(from: StoredNode, to: StoredNode, count = 1): Promise<void> {
  for (let i = 0; i < count && from.outbox.length > 0; i++) await run(to, { kind: 'peer_message', message: from.outbox.shift()! });
}

/** The connection drops: in-flight messages are lost, both cores learn of it. */
export async function disconnect(a: StoredNode, b: StoredNode): Promise<void> {
  a.outbox = [];
  b.outbox = [];
  if (a.core.synced) await run(a, { kind: 'disconnected' });
  if (b.core.synced) await run(b, { kind: 'disconnected' });
}

/** The reconnect dance: both send channel_reestablish, both process the other's. */
export async function reconnect(a: StoredNode, b: StoredNode): Promise<void> {
  const ra = nextReestablish(a.core);
  const rb = nextReestablish(b.core);
  await run(a, { kind: 'peer_reestablish', message: rb });
  await run(b, { kind: 'peer_reestablish', message: ra });
}

/** Delivers and signs until nothing is in flight and neither side has anything to sign (bounded). */
export async function drain(a: StoredNode, b: StoredNode): Promise<void> {
  for (let round = 0; round < 100; round++) {
    while (a.outbox.length > 0 || b.outbox.length > 0) {
      await deliver(a, b, a.outbox.length);
      await deliver(b, a, b.outbox.length);
    }
    const sa = await run(a, { kind: 'sign' });
    const sb = await run(b, { kind: 'sign' });
    if (sa.length === 0 && sb.length === 0 && a.outbox.length === 0 && b.outbox.length === 0) return;
  }
  throw new Error('the channel did not reach quiescence in 100 rounds');
}

/** Pure cores: delivers and signs both ways until nothing moves (bounded). Throws on fail_channel. */
export function settle(a: CoreState, b: CoreState): { a: CoreState; b: CoreState } {
  let toB: WireMessage[] = [];
  let toA: WireMessage[] = [];
  for (let round = 0; round < 50; round++) {
    const sa = step(a, { kind: 'sign' });
    a = sa.state;
    toB.push(...sent(sa.effects));
    const sb = step(b, { kind: 'sign' });
    b = sb.state;
    toA.push(...sent(sb.effects));
    if (toA.length === 0 && toB.length === 0) return { a, b };
    while (toA.length > 0 || toB.length > 0) {
      const db = deliverAll(b, toB);
      toB = [];
      b = db.state;
      toA.push(...sent(db.effects));
      const da = deliverAll(a, toA);
      toA = [];
      a = da.state;
      toB.push(...sent(da.effects));
    }
  }
  throw new Error('no quiescence in 50 rounds');
}

/** A offers `amountMsat` (preimage `n`) and both settle: the HTLC is locked in on both sides. */
export function lockedInHtlc(a: CoreState, b: CoreState, n: number, amountMsat: bigint): { a: CoreState; b: CoreState } {
  const r = step(a, offer(n, amountMsat));
  if (!r.effects.some((e) => e.kind === 'offered')) throw new Error(`offer refused: ${JSON.stringify(r.effects)}`);
  const d = deliverAll(b, sent(r.effects));
  return settle(r.state, d.state);
}
