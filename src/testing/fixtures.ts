/**
 * Deterministic builders of channel-state values for the conformance suite.
 *
 * Every value is derived from a seed by hashing labels, so a test that fails fails the same
 * way every run, and two seeds never collide (distinct funding outpoints, keys, txids).
 * Public keys are real compressed secp256k1 points; commitment and funding transactions
 * are valid serialized Bitcoin transactions (version 2, one input, N outputs), because
 * stores compute txids from them.
 *
 * Expected values (revocation log entries, txids, settled maps) are computed here from the
 * builders' own knowledge, never by calling the helpers the stores use, so a bug in a shared
 * helper still fails the suite.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { channelIdOf } from '../chanstate/channel-id.js';
import { UpdateMessageType } from '../chanstate/log-update.js';
import { newFwdPkg } from '../chanstate/pkg-filter.js';
import {
  ChannelStatus,
  ChannelType,
  ClosureType,
  OUTPUT_INDEX_NONE,
  type AddRef,
  type AdvanceTailArgs,
  type ChannelCloseSummary,
  type ChannelCommitment,
  type ChannelConfig,
  type CircuitKey,
  type CommitDiff,
  type ExternalFundingState,
  type FwdPkg,
  type Hex,
  type Htlc,
  type HtlcEntry,
  type LogUpdate,
  type OpenChannel,
  type OutPoint,
  type RemoteRevocationState,
  type RevocationLogEntry,
  type SettleFailRef,
  type ShortChannelId,
} from '../chanstate/types.js';
import type { CommitmentStore } from '../chanstate/store.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { CHAIN_HASHES, type LinkNode } from '../linknode/store.js';
import { commitmentIndex, shachainSecret, ShachainStore } from '../bitcoin/shachain.js';
import { createFundingPsbt } from '../bitcoin/psbt-funding.js';
import { p2wpkhScript } from '../bitcoin/script.js';
import { decodeTx, encodeTx, withWitness } from '../bitcoin/transaction.js';
import { Transaction } from '@scure/btc-signer';

const utf8 = new TextEncoder();

// --- deterministic bytes and keys -------------------------------------------------------

/** `length` pseudo-random bytes derived from `label` (SHA-256 in counter mode). */
export function detBytes(label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0, block = 0; offset < length; offset += 32, block++) {
    const digest = sha256(utf8.encode(`${label}#${block}`));
    out.set(digest.subarray(0, Math.min(32, length - offset)), offset);
  }
  return out;
}

/** `bytes` pseudo-random bytes derived from `label`, as lowercase hex. */
export function detHex(label: string, bytes: number): Hex {
  return bytesToHex(detBytes(label, bytes));
}

const pubkeys = new Map<string, Hex>();

/** A real compressed secp256k1 public key (33 bytes hex) whose secret key is derived from `label`. */
export function pubkeyOf(label: string): Hex {
  let pub = pubkeys.get(label);
  if (pub === undefined) {
    pub = bytesToHex(secp256k1.getPublicKey(detBytes(`secret-key/${label}`, 32), true));
    pubkeys.set(label, pub);
  }
  return pub;
}

/** The remote's shachain seed of channel `seed` (its per-commitment secrets derive from it). */
export function remoteShachainSeed(label: string): Uint8Array {
  return detBytes(`${label}/remote-shachain`, 32);
}

/** The remote's per-commitment secret of commitment `height` (BOLT 3 index 2^48-1-height). */
export function remoteSecret(label: string, height: number): Uint8Array {
  return shachainSecret(remoteShachainSeed(label), commitmentIndex(BigInt(height)));
}

const points = new Map<string, Hex>();

/** The remote's per-commitment point of commitment `height`. */
export function remotePoint(label: string, height: number): Hex {
  const k = `${label}#${height}`;
  let point = points.get(k);
  if (point === undefined) points.set(k, (point = bytesToHex(secp256k1.getPublicKey(remoteSecret(label, height), true))));
  return point;
}

/** The identity key of test peer number `peer`. */
export function peerPub(peer: number): Hex {
  return pubkeyOf(`peer/${peer}`);
}

/** A BOLT 7 short channel id from block height, transaction index and output index. */
export function scidOf(block: number, txIndex: number, output: number): ShortChannelId {
  return (BigInt(block) << 40n) | (BigInt(txIndex) << 16n) | BigInt(output);
}

// --- transactions -----------------------------------------------------------------------

/** Little-endian writer for the few transaction fields the fixtures need. */
class TxWriter {
  private readonly bytes: number[] = [];
  u32(n: number): this {
    for (let i = 0; i < 4; i++) this.bytes.push((n >>> (8 * i)) & 0xff);
    return this;
  }
  u64(n: bigint): this {
    for (let i = 0n; i < 8n; i++) this.bytes.push(Number((n >> (8n * i)) & 0xffn));
    return this;
  }
  /** CompactSize for values below 0xfd, which is all the fixtures use. */
  count(n: number): this {
    if (n >= 0xfd) throw new RangeError(`expected fewer than 253 items, got ${n}`);
    this.bytes.push(n);
    return this;
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/**
 * A valid legacy-serialized transaction: version 2, one input spending an output derived
 * from `label`, `outputCount` P2WSH outputs, and `lockTime`. Distinct labels give distinct
 * txids.
 */
export function makeTx(label: string, outputCount: number, lockTime = 0): Uint8Array {
  const w = new TxWriter().u32(2).count(1);
  w.raw(detBytes(`${label}/prevout`, 32)).u32(0).count(0).u32(0xfffffffd);
  w.count(outputCount);
  for (let i = 0; i < outputCount; i++) {
    w.u64(10_000n + BigInt(i) * 1_000n);
    w.count(34).raw(Uint8Array.of(0x00, 0x20)).raw(detBytes(`${label}/out/${i}`, 32));
  }
  return w.u32(lockTime).finish();
}

/** The txid (display order) of a transaction without witnesses: double SHA-256, reversed. */
export function legacyTxid(raw: Uint8Array): Hex {
  return bytesToHex(sha256(sha256(raw)).reverse());
}

// --- HTLCs, commitments, log updates ----------------------------------------------------

/** Options of makeHtlc. */
export interface HtlcOptions {
  readonly incoming?: boolean;
  readonly htlcIndex?: number;
  readonly logIndex?: number;
  readonly amountMsat?: bigint;
  /** Output index in the commitment; -1 for a dust HTLC. Default 2. */
  readonly outputIndex?: number;
  readonly extraData?: Uint8Array;
}

/** An HTLC with seed-derived hash, signature and onion. */
export function makeHtlc(seed: string, options: HtlcOptions = {}): Htlc {
  const htlc: Htlc = {
    signature: detBytes(`${seed}/htlc-sig`, 71),
    paymentHash: detHex(`${seed}/payment-hash`, 32),
    // A sub-satoshi remainder, so the revocation log's msat → sat truncation is visible.
    amountMsat: options.amountMsat ?? 25_000_123n,
    refundTimeout: 800_144,
    outputIndex: options.outputIndex ?? 2,
    incoming: options.incoming ?? true,
    onionBlob: detBytes(`${seed}/onion`, 1366),
    htlcIndex: options.htlcIndex ?? 0,
    logIndex: options.logIndex ?? 0,
  };
  return options.extraData === undefined ? htlc : { ...htlc, extraData: options.extraData };
}

/** Options of makeCommitment. */
export interface CommitmentOptions {
  /** Distinguishes channels and sides: different seeds give different transactions. */
  readonly seed?: string;
  /** How many of the HTLCs are dust (the last ones; output index -1). Default 0. */
  readonly dust?: number;
  readonly localLogIndex?: number;
  readonly localHtlcIndex?: number;
  readonly remoteLogIndex?: number;
  readonly remoteHtlcIndex?: number;
  readonly localBalanceMsat?: bigint;
  readonly remoteBalanceMsat?: bigint;
  readonly customBlob?: Uint8Array;
  /** Main output indexes (default 0 for ours, 1 for theirs: the fixture transaction's first two outputs). */
  readonly localOutputIndex?: number;
  readonly remoteOutputIndex?: number;
}

/**
 * A commitment at `height` with `htlcCount` HTLCs (alternately incoming and outgoing; the
 * last `dust` of them trimmed as dust) and a valid commitment transaction with two balance
 * outputs plus one output per non-dust HTLC.
 */
export function makeCommitment(height: number, htlcCount: number, options: CommitmentOptions = {}): ChannelCommitment {
  const seed = options.seed ?? 'commitment';
  const dust = Math.min(options.dust ?? 0, htlcCount);
  const htlcs: Htlc[] = [];
  for (let i = 0; i < htlcCount; i++) {
    const isDust = i >= htlcCount - dust;
    htlcs.push(
      makeHtlc(`${seed}/${height}/htlc/${i}`, {
        incoming: i % 2 === 0,
        htlcIndex: height * 10 + i,
        logIndex: height * 10 + i,
        amountMsat: isDust ? 354_000n + BigInt(i) : 25_000_123n + BigInt(i) * 1_000_000n,
        outputIndex: isDust ? -1 : 2 + i,
        ...(i === 0 ? { extraData: detBytes(`${seed}/${height}/extra`, 40) } : {}),
      }),
    );
  }
  const commitment: ChannelCommitment = {
    commitHeight: height,
    localLogIndex: options.localLogIndex ?? height * 10,
    localHtlcIndex: options.localHtlcIndex ?? height * 10,
    remoteLogIndex: options.remoteLogIndex ?? height * 10,
    remoteHtlcIndex: options.remoteHtlcIndex ?? height * 10,
    localBalanceMsat: options.localBalanceMsat ?? 600_000_000n - BigInt(height) * 1_001n,
    remoteBalanceMsat: options.remoteBalanceMsat ?? 390_000_000n + BigInt(height) * 999n,
    commitFeeSat: 2_830n + BigInt(height),
    feePerKw: 2_500n,
    commitTx: makeTx(`${seed}/commit-tx/${height}`, 2 + htlcCount - dust, 0x20000000 + height),
    commitSig: detBytes(`${seed}/commit-sig/${height}`, 64),
    htlcs,
    localOutputIndex: options.localOutputIndex ?? 0,
    remoteOutputIndex: options.remoteOutputIndex ?? 1,
  };
  return options.customBlob === undefined ? commitment : { ...commitment, customBlob: options.customBlob };
}

/** Kinds of update messages makeLogUpdate builds. */
export type LogUpdateKind = 'add' | 'settle' | 'fail' | 'fail-malformed';

const KIND_TYPES: Record<LogUpdateKind, number> = {
  add: UpdateMessageType.UpdateAddHtlc,
  settle: UpdateMessageType.UpdateFulfillHtlc,
  fail: UpdateMessageType.UpdateFailHtlc,
  'fail-malformed': UpdateMessageType.UpdateFailMalformedHtlc,
};

/**
 * A well-formed BOLT 2 update message at `logIndex` for HTLC `htlcId` of channel
 * `channelId`: update_add_htlc (with a 1366-byte onion), update_fulfill_htlc,
 * update_fail_htlc or update_fail_malformed_htlc.
 */
export function makeLogUpdate(kind: LogUpdateKind, logIndex: number, htlcId: number, channelId: Hex = '00'.repeat(32)): LogUpdate {
  const head = new Uint8Array(42);
  const view = new DataView(head.buffer);
  view.setUint16(0, KIND_TYPES[kind]);
  head.set(hexToBytes(channelId), 2);
  view.setBigUint64(34, BigInt(htlcId));
  const label = `${channelId}/${kind}/${htlcId}`;
  let body: Uint8Array;
  switch (kind) {
    case 'add': {
      body = new Uint8Array(8 + 32 + 4 + 1366);
      const b = new DataView(body.buffer);
      b.setBigUint64(0, 10_000_000n + BigInt(htlcId));
      body.set(detBytes(`${label}/hash`, 32), 8);
      b.setUint32(40, 800_000 + htlcId);
      body.set(detBytes(`${label}/onion`, 1366), 44);
      break;
    }
    case 'settle':
      body = detBytes(`${label}/preimage`, 32);
      break;
    case 'fail': {
      const reason = detBytes(`${label}/reason`, 64);
      body = new Uint8Array(2 + reason.length);
      new DataView(body.buffer).setUint16(0, reason.length);
      body.set(reason, 2);
      break;
    }
    case 'fail-malformed':
      body = new Uint8Array(34);
      body.set(detBytes(`${label}/onion-hash`, 32), 0);
      new DataView(body.buffer).setUint16(32, 0xc005);
      break;
  }
  const message = new Uint8Array(head.length + body.length);
  message.set(head, 0);
  message.set(body, head.length);
  return { logIndex, message };
}

// --- channels ---------------------------------------------------------------------------

/** A channel config whose keys are derived from `seed`; with `ours`, keys carry locators. */
export function makeChannelConfig(seed: string, ours: boolean): ChannelConfig {
  const key = (name: string, family: number) => {
    const pubkey = pubkeyOf(`${seed}/${name}`);
    return ours ? { pubkey, locator: { family, index: 7 } } : { pubkey };
  };
  return {
    chanReserveSat: 10_000n,
    maxPendingAmountMsat: 990_000_000n,
    minHtlcMsat: 1_000n,
    maxAcceptedHtlcs: 483,
    dustLimitSat: 354n,
    csvDelay: 144,
    multiSigKey: key('multisig', 0),
    revocationBasePoint: key('revocation', 1),
    paymentBasePoint: key('payment', 3),
    delayBasePoint: key('delay', 4),
    htlcBasePoint: key('htlc', 2),
  };
}

/** Options of makeChannel. */
export interface ChannelOptions {
  /** The peer's number (peerPub); channels with the same peer share an identity key. Default: the seed. */
  readonly peer?: number;
  /** HTLCs on each initial commitment. Default 3. */
  readonly htlcs?: number;
  /** How many of them are dust. Default 1. */
  readonly dust?: number;
}

/**
 * The label the remote's shachain of the channel at `op` derives from: one chain per
 * channel point, so models built from any channel (whatever its seed) can revoke.
 */
export function revocationLabelOf(op: OutPoint): string {
  return `chain/${op.txid}:${op.index}`;
}

/** The funding outpoint of channel `seed`. */
export function chanPointOf(seed: number): OutPoint {
  return { txid: detHex(`funding/${seed}`, 32), index: seed % 4 };
}

/**
 * A complete, valid open channel (confirmed, non-zero short channel id, no status bit) with
 * both commitments at height 0, every optional field a fresh channel may have set, and a
 * distinct funding outpoint per seed. `overrides` replace fields last.
 */
export function makeChannel(seed: number, overrides: Partial<OpenChannel> = {}, options: ChannelOptions = {}): OpenChannel {
  const peer = options.peer ?? seed;
  const htlcs = options.htlcs ?? 3;
  const dust = options.dust ?? 1;
  // The remote's per-commitment points derive from the channel point it ends up with.
  const chanPoint = overrides.fundingOutpoint ?? chanPointOf(seed);
  const isInitiator = seed % 2 === 0;
  const commitment = (side: string) =>
    makeCommitment(0, htlcs, {
      seed: `chan/${seed}/${side}`,
      dust,
      localLogIndex: htlcs,
      localHtlcIndex: htlcs,
      remoteLogIndex: htlcs,
      remoteHtlcIndex: htlcs,
      localBalanceMsat: 600_000_000n,
      remoteBalanceMsat: 400_000_000n - 25_000_000n * BigInt(htlcs),
    });
  const base: OpenChannel = {
    chanType: ChannelType.SingleFunderTweakless | ChannelType.AnchorOutputs | ChannelType.ZeroHtlcTxFee,
    chainHash: CHAIN_HASHES.regtest,
    fundingOutpoint: chanPoint,
    shortChannelId: scidOf(700_000 + seed, 1 + (seed % 1000), chanPoint.index),
    isPending: false,
    isInitiator,
    status: ChannelStatus.Default,
    fundingBroadcastHeight: 699_990 + seed,
    confirmationHeight: 700_000 + seed,
    numConfsRequired: 3,
    channelFlags: 1,
    identityPub: peerPub(peer),
    capacitySat: 1_000_000n,
    totalMsatSent: 0n,
    totalMsatReceived: 0n,
    initialLocalBalanceMsat: 600_000_000n,
    initialRemoteBalanceMsat: 400_000_000n,
    localConfig: makeChannelConfig(`chan/${seed}/local-config`, true),
    remoteConfig: makeChannelConfig(`chan/${seed}/remote-config`, false),
    localCommitment: commitment('local'),
    remoteCommitment: commitment('remote'),
    remoteRevocation: {
      secrets: [],
      currentPoint: remotePoint(revocationLabelOf(chanPoint), 0),
      nextPoint: remotePoint(revocationLabelOf(chanPoint), 1),
    },
    revocationKeyLocator: { family: 5, index: seed },
    localShutdownScript: Uint8Array.of(0x00, 0x14, ...detBytes(`chan/${seed}/shutdown`, 20)),
    thawHeight: 0,
    lastWasRevoke: false,
    memo: utf8.encode(`conformance channel ${seed}`),
  };
  const withFunding: OpenChannel = isInitiator ? { ...base, fundingTx: makeTx(`chan/${seed}/funding`, 2) } : base;
  return { ...withFunding, ...overrides };
}

/** makeChannel, still pending: unconfirmed, short channel id 0. */
export function makePendingChannel(seed: number, overrides: Partial<OpenChannel> = {}, options: ChannelOptions = {}): OpenChannel {
  return makeChannel(seed, { isPending: true, shortChannelId: 0n, confirmationHeight: 0, ...overrides }, options);
}

/** A pending, externally funded channel with what a wallet returns for it. */
export interface ExternallyFunded {
  /** The pending channel, its channel point the PSBT's funding output, with its external funding state. */
  readonly channel: OpenChannel;
  /** The unsigned PSBT's transaction, signed by the wallet: what submitExternalFunding accepts. */
  readonly signedTx: Uint8Array;
  /** The same transaction signed by a wrong key: well-formed, but its signature does not verify. */
  readonly badlySignedTx: Uint8Array;
}

const externallyFunded = new Map<string, ExternallyFunded>();

/**
 * Channel `seed` funded externally: a real unsigned funding PSBT (one P2WPKH input of a
 * test wallet, the 2-of-2 funding output of the channel's multisig keys, change), the
 * channel point its funding output, and the transaction signed by the wallet.
 */
export function makeExternallyFunded(seed: number, overrides: Partial<OpenChannel> = {}, options: ChannelOptions = {}): ExternallyFunded {
  const cacheKey = `${seed}/${options.peer ?? seed}`;
  let made = externallyFunded.get(cacheKey);
  if (made === undefined) {
    const walletKey = detBytes(`external/${seed}/wallet-key`, 32);
    const walletScript = p2wpkhScript(secp256k1.getPublicKey(walletKey, true));
    const base = makePendingChannel(seed, {}, options);
    const { psbt, funding } = createFundingPsbt({
      utxos: [{ txid: detHex(`external/${seed}/utxo`, 32), index: 1, value: 3_000_000n, script: walletScript }],
      fundingAmountSat: base.capacitySat,
      localFundingPubkey: hexToBytes(base.localConfig.multiSigKey.pubkey),
      remoteFundingPubkey: hexToBytes(base.remoteConfig.multiSigKey.pubkey),
      changeScript: walletScript,
      feeratePerKw: 2_500,
    });
    const sign = (key: Uint8Array) => {
      const tx = Transaction.fromPSBT(psbt, { allowUnknownOutputs: true });
      tx.signIdx(key, 0);
      tx.finalize();
      return tx.extract();
    };
    const chanPoint = { txid: funding.txid, index: funding.fundingOutputIndex };
    const external: ExternalFundingState = { unsignedPsbt: psbt, deadlineMs: 1_900_000_000_000 + seed, submitted: false };
    const channel = makePendingChannel(seed, { fundingOutpoint: chanPoint, externalFunding: external }, options);
    const signedTx = sign(walletKey);
    made = { channel, signedTx, badlySignedTx: withCorruptSignature(signedTx) };
    externallyFunded.set(cacheKey, made);
  }
  return { ...made, channel: { ...made.channel, ...overrides } };
}

/**
 * `signed` with one bit of its signature's r value flipped: still a well-formed DER
 * signature by the right key's witness, but it does not verify.
 */
function withCorruptSignature(signed: Uint8Array): Uint8Array {
  const tx = decodeTx(signed);
  const [sig, pub] = tx.inputs[0]!.witness as [Uint8Array, Uint8Array];
  const bad = sig.slice();
  bad[10] = bad[10]! ^ 0x01; // inside r (DER: 30 len 02 rlen r...)
  return encodeTx(withWitness(tx, 0, [bad, pub]));
}

/** The external funding state of makeExternallyFunded(seed). */
export function makeExternalFunding(seed: number): ExternalFundingState {
  return makeExternallyFunded(seed).channel.externalFunding!;
}

/** A close summary of `channel` (cooperative, pending); `overrides` replace fields last. */
export function makeCloseSummary(channel: OpenChannel, overrides: Partial<ChannelCloseSummary> = {}): ChannelCloseSummary {
  const summary: ChannelCloseSummary = {
    chanPoint: channel.fundingOutpoint,
    shortChannelId: channel.shortChannelId,
    chainHash: channel.chainHash,
    closingTxid: legacyTxid(makeTx(`close/${channel.fundingOutpoint.txid}`, 2)),
    remotePub: channel.identityPub,
    capacitySat: channel.capacitySat,
    closeHeight: 800_000,
    settledBalanceSat: channel.localCommitment.localBalanceMsat / 1000n,
    timeLockedBalanceSat: 0n,
    closeType: ClosureType.Cooperative,
    isPending: true,
    localConfig: channel.localConfig,
    lastChanSyncMsg: detBytes(`close/${channel.fundingOutpoint.txid}/reestablish`, 90),
    ...(channel.remoteRevocation.currentPoint === undefined ? {} : { remoteCurrentRevocation: channel.remoteRevocation.currentPoint }),
    ...(channel.remoteRevocation.nextPoint === undefined ? {} : { remoteNextRevocation: channel.remoteRevocation.nextPoint }),
  };
  return { ...summary, ...overrides };
}

/** A link node for peer number `peer` on regtest with one address. */
export function makeLinkNode(peer: number, overrides: Partial<LinkNode> = {}): LinkNode {
  return {
    network: 'regtest',
    identityPub: peerPub(peer),
    lastSeenMs: 1_700_000_000_000 + peer,
    addresses: [`10.0.${Math.floor(peer / 250) % 250}.${(peer % 250) + 1}:9735`],
    ...overrides,
  };
}

// --- the commitment lifecycle -----------------------------------------------------------

/**
 * What the store should hold for one channel's commitment state. The PaymentRound driver
 * computes the next model from the previous one; it is never mutated.
 */
export interface ChannelModel {
  readonly chanPoint: OutPoint;
  readonly channelId: Hex;
  readonly scid: ShortChannelId;
  /** Label prefix for everything the rounds derive. */
  readonly seed: string;
  readonly local: ChannelCommitment;
  readonly remote: ChannelCommitment;
  readonly revocation: RemoteRevocationState;
  readonly lastWasRevoke: boolean;
  /** Next log index of our updates, and of theirs. */
  readonly ourLogIndex: number;
  readonly theirLogIndex: number;
  /** Next HTLC id we offer, and they offer. */
  readonly ourHtlcIndex: number;
  readonly theirHtlcIndex: number;
  /** Stored remoteUnsignedLocalUpdates. */
  readonly remoteUnsignedLocal: readonly LogUpdate[];
  /** Stored unsignedAckedUpdates. */
  readonly unsignedAcked: readonly LogUpdate[];
  /** Every revocation log entry written so far, by height (balances included). */
  readonly revocationLog: readonly RevocationLogEntry[];
  /** Every forwarding package written so far, as written (LockedIn). */
  readonly fwdPkgs: readonly FwdPkg[];
  /** Final outcomes of our settles/fails locked in so far: htlcId → settled. */
  readonly finalHtlcs: ReadonlyMap<number, boolean>;
}

/** The model of a channel as just written. */
export function modelOf(channel: OpenChannel): ChannelModel {
  const { localCommitment: l, remoteCommitment: r } = channel;
  return {
    chanPoint: channel.fundingOutpoint,
    channelId: channelIdOf(channel.fundingOutpoint),
    scid: channel.shortChannelId,
    seed: `round/${channel.fundingOutpoint.txid.slice(0, 16)}:${channel.fundingOutpoint.index}`,
    local: l,
    remote: r,
    revocation: channel.remoteRevocation,
    lastWasRevoke: channel.lastWasRevoke,
    ourLogIndex: Math.max(l.localLogIndex, r.localLogIndex),
    theirLogIndex: Math.max(l.remoteLogIndex, r.remoteLogIndex),
    ourHtlcIndex: Math.max(l.localHtlcIndex, r.localHtlcIndex),
    theirHtlcIndex: Math.max(l.remoteHtlcIndex, r.remoteHtlcIndex),
    remoteUnsignedLocal: [],
    unsignedAcked: [],
    revocationLog: [],
    fwdPkgs: [],
    finalHtlcs: new Map(),
  };
}

/** The channel `base` with the commitment state of `model`, as fetchChannel should return it. */
export function channelWithModel(base: OpenChannel, model: ChannelModel): OpenChannel {
  return {
    ...base,
    localCommitment: model.local,
    remoteCommitment: model.remote,
    remoteRevocation: model.revocation,
    lastWasRevoke: model.lastWasRevoke,
  };
}

/** What one payment round does. Every field is optional; the default is a round with one settle. */
export interface RoundSpec {
  /** Ids of HTLCs offered to us that we settle (our update_fulfill_htlc). */
  readonly settle?: readonly number[];
  /** Ids of HTLCs offered to us that we fail (update_fail_htlc). */
  readonly fail?: readonly number[];
  /** Ids we fail as malformed (update_fail_malformed_htlc). */
  readonly failMalformed?: readonly number[];
  /** Adds we offer (never in the settled map). */
  readonly ourAdds?: number;
  /** Adds the remote offers, locked in by its revocation: the forwarding package's adds. */
  readonly remoteAdds?: number;
  /** Ids of HTLCs we offered that the remote settles: the package's settle/fails. */
  readonly remoteSettles?: readonly number[];
  /** Ids of HTLCs we offered that the remote fails. */
  readonly remoteFails?: readonly number[];
  /** How many of our pending updates (oldest first) the new local commitment locks in. Default all. */
  readonly lockIn?: number;
  /** How many previously acked-but-unsigned remote updates the new remote commitment covers. Default all. */
  readonly coverAcked?: number;
  /** Remote adds we ack but have not signed for, passed to updateCommitment. Default 0. */
  readonly unsignedAcked?: number;
  /** HTLCs on both new commitments, of which `dust` are dust. Default 3 and 1. */
  readonly htlcs?: number;
  readonly dust?: number;
  /** Main output indexes of the new remote commitment (used when a later round revokes it). Default 0 and 1. */
  readonly ourOutputIndex?: number;
  readonly theirOutputIndex?: number;
  /** Acks passed inside the CommitDiff of appendRemoteCommitChain. */
  readonly addAcks?: readonly AddRef[];
  readonly settleFailAcks?: readonly SettleFailRef[];
}

/** The calls of one round and what the store must return afterwards. */
export interface RoundPlan {
  /** Passed to appendRemoteCommitChain. */
  readonly diff: CommitDiff;
  /** What remoteCommitChainTip returns after the append: the diff without its acks. */
  readonly tip: CommitDiff;
  /** Passed to advanceCommitChainTail. */
  readonly advance: AdvanceTailArgs;
  /** Passed to updateCommitment. */
  readonly newLocal: ChannelCommitment;
  readonly unsignedAckedArg: readonly LogUpdate[];
  /** Height of the remote commitment this round revokes. */
  readonly revokedHeight: number;
  /** Its revocation log entry (with balances). */
  readonly logEntry: RevocationLogEntry;
  /** unsignedAckedUpdates right after advanceCommitChainTail (pruned by the new remote log index). */
  readonly unsignedAckedAfterAdvance: readonly LogUpdate[];
  /** What updateCommitment must return. */
  readonly settled: ReadonlyMap<number, boolean>;
  /** The model after the round. */
  readonly next: ChannelModel;
}

/** Outcome of a round that ran against a store. */
export interface RoundOutcome {
  readonly plan: RoundPlan;
  /** The map updateCommitment returned. */
  readonly settled: Map<number, boolean>;
  readonly next: ChannelModel;
}

/**
 * The revocation log entry a store must write when it revokes `commitment` (balances
 * included), with the output indexes stored with that commitment.
 */
export function expectedLogEntry(commitment: ChannelCommitment): RevocationLogEntry {
  const ourOutputIndex = commitment.localOutputIndex ?? OUTPUT_INDEX_NONE;
  const theirOutputIndex = commitment.remoteOutputIndex ?? OUTPUT_INDEX_NONE;
  const htlcs: HtlcEntry[] = [];
  for (const h of commitment.htlcs) {
    if (h.outputIndex < 0) continue; // dust: no output to punish
    htlcs.push({
      paymentHash: h.paymentHash,
      refundTimeout: h.refundTimeout,
      outputIndex: h.outputIndex,
      incoming: h.incoming,
      amountSat: h.amountMsat / 1000n,
      htlcIndex: h.htlcIndex,
    });
  }
  return {
    commitHeight: commitment.commitHeight,
    ourOutputIndex,
    theirOutputIndex,
    commitTxid: legacyTxid(commitment.commitTx),
    ourBalanceMsat: commitment.localBalanceMsat,
    theirBalanceMsat: commitment.remoteBalanceMsat,
    htlcs,
  };
}

/** The index of the first element of `updates` not locked in, or `fallback` when all are. */
function cutPoint(updates: readonly LogUpdate[], count: number | undefined, fallback: number): number {
  const n = count ?? updates.length;
  return n >= updates.length ? fallback : updates[n]!.logIndex;
}

/**
 * Plans one round of the commitment lifecycle from `model` (pure: no store involved):
 * appendRemoteCommitChain(diff) → advanceCommitChainTail(advance) →
 * updateCommitment(newLocal, unsignedAckedArg).
 */
export function planRound(model: ChannelModel, spec: RoundSpec = { settle: [0] }): RoundPlan {
  const round = model.remote.commitHeight + 1;
  const label = `${model.seed}/${round}`;
  let ourLog = model.ourLogIndex;
  let theirLog = model.theirLogIndex;
  let ourHtlc = model.ourHtlcIndex;
  let theirHtlc = model.theirHtlcIndex;

  // Our updates of this round, signed for in the remote commitment we append.
  const ours: Array<{ update: LogUpdate; resolves: boolean }> = [];
  for (const id of spec.settle ?? []) ours.push({ update: makeLogUpdate('settle', ourLog++, id, model.channelId), resolves: true });
  for (const id of spec.fail ?? []) ours.push({ update: makeLogUpdate('fail', ourLog++, id, model.channelId), resolves: true });
  for (const id of spec.failMalformed ?? []) ours.push({ update: makeLogUpdate('fail-malformed', ourLog++, id, model.channelId), resolves: true });
  for (let i = 0; i < (spec.ourAdds ?? 0); i++) ours.push({ update: makeLogUpdate('add', ourLog++, ourHtlc++, model.channelId), resolves: false });

  // The remote's updates, locked in by its revocation: the forwarding package.
  const adds: LogUpdate[] = [];
  for (let i = 0; i < (spec.remoteAdds ?? 0); i++) adds.push(makeLogUpdate('add', theirLog++, theirHtlc++, model.channelId));
  const settleFails: LogUpdate[] = [];
  for (const id of spec.remoteSettles ?? []) settleFails.push(makeLogUpdate('settle', theirLog++, id, model.channelId));
  for (const id of spec.remoteFails ?? []) settleFails.push(makeLogUpdate('fail', theirLog++, id, model.channelId));

  const htlcs = spec.htlcs ?? 3;
  const dust = spec.dust ?? 1;
  const newRemote = makeCommitment(round, htlcs, {
    seed: `${label}/remote`,
    dust,
    localOutputIndex: spec.ourOutputIndex ?? 0,
    remoteOutputIndex: spec.theirOutputIndex ?? 1,
    localLogIndex: ourLog,
    localHtlcIndex: ourHtlc,
    remoteLogIndex: cutPoint(model.unsignedAcked, spec.coverAcked, theirLog),
    remoteHtlcIndex: theirHtlc,
  });

  const openedCircuitKeys: CircuitKey[] = ours.filter((o) => !o.resolves).map((_, i) => ({ channel: model.scid, htlcId: model.ourHtlcIndex + i }));
  const closedCircuitKeys: CircuitKey[] = ours
    .filter((o) => o.resolves)
    .map((o) => ({ channel: 0x1234_5600_0001n, htlcId: htlcIdOfMessage(o.update.message) }));
  const tip: CommitDiff = {
    commitment: newRemote,
    logUpdates: ours.map((o) => o.update),
    commitSig: Uint8Array.of(0x00, 0x84, ...hexToBytes(model.channelId), ...detBytes(`${label}/commit-signed`, 66)),
    openedCircuitKeys,
    closedCircuitKeys,
  };
  const diff: CommitDiff = {
    ...tip,
    ...(spec.addAcks === undefined ? {} : { addAcks: spec.addAcks }),
    ...(spec.settleFailAcks === undefined ? {} : { settleFailAcks: spec.settleFailAcks }),
  };

  // Their revoke_and_ack: the secret of the revoked commitment and a new next point. The
  // expected compact secret store comes from ShachainStore, which the BOLT 3 vectors test.
  const revokedHeight = model.remote.commitHeight;
  const chainLabel = revocationLabelOf(model.chanPoint);
  const revocationSecret = remoteSecret(chainLabel, revokedHeight);
  const nextPoint = remotePoint(chainLabel, revokedHeight + 2);
  const chain = ShachainStore.fromEntries(model.revocation.secrets);
  chain.insert(commitmentIndex(BigInt(revokedHeight)), revocationSecret);
  const revocation: RemoteRevocationState = {
    secrets: chain.entries(),
    ...(model.revocation.nextPoint === undefined ? {} : { currentPoint: model.revocation.nextPoint }),
    nextPoint,
  };
  const pending = [...model.remoteUnsignedLocal, ...ours.map((o) => o.update)];
  const fwdPkg = newFwdPkg(model.scid, round, adds, settleFails);
  const advance: AdvanceTailArgs = { revocationSecret, nextPoint, fwdPkg, remoteUnsignedLocalUpdates: pending };
  const unsignedAckedAfterAdvance = model.unsignedAcked.filter((u) => u.logIndex >= newRemote.remoteLogIndex);

  // Their commitment_signed for our new local commitment, then our revoke_and_ack.
  const lockPoint = cutPoint(pending, spec.lockIn, ourLog);
  const newLocal = makeCommitment(model.local.commitHeight + 1, htlcs, {
    seed: `${label}/local`,
    dust,
    localLogIndex: lockPoint,
    localHtlcIndex: ourHtlc,
    remoteLogIndex: theirLog,
    remoteHtlcIndex: theirHtlc,
  });
  const unsignedAckedArg: LogUpdate[] = [];
  for (let i = 0; i < (spec.unsignedAcked ?? 0); i++) unsignedAckedArg.push(makeLogUpdate('add', theirLog++, theirHtlc++, model.channelId));

  // Our settles and fails the new local commitment locks in; adds are never reported.
  const settled = new Map<number, boolean>();
  for (const update of pending) {
    const outcome = settledOfMessage(update.message);
    if (update.logIndex < lockPoint && outcome !== undefined) settled.set(htlcIdOfMessage(update.message), outcome);
  }

  const next: ChannelModel = {
    ...model,
    local: newLocal,
    remote: newRemote,
    revocation,
    lastWasRevoke: true,
    ourLogIndex: ourLog,
    theirLogIndex: theirLog,
    ourHtlcIndex: ourHtlc,
    theirHtlcIndex: theirHtlc,
    remoteUnsignedLocal: pending.filter((u) => u.logIndex >= lockPoint),
    unsignedAcked: unsignedAckedArg,
    revocationLog: [...model.revocationLog, expectedLogEntry(model.remote)],
    fwdPkgs: [...model.fwdPkgs, fwdPkg],
    finalHtlcs: new Map([...model.finalHtlcs, ...settled]),
  };
  return {
    diff,
    tip,
    advance,
    newLocal,
    unsignedAckedArg,
    revokedHeight,
    logEntry: expectedLogEntry(model.remote),
    unsignedAckedAfterAdvance,
    settled,
    next,
  };
}

/** The message type of a fixture update, mapped to settled (fulfill), failed, or undefined. */
function settledOfMessage(message: Uint8Array): boolean | undefined {
  const type = (message[0]! << 8) | message[1]!;
  if (type === UpdateMessageType.UpdateFulfillHtlc) return true;
  if (type === UpdateMessageType.UpdateFailHtlc || type === UpdateMessageType.UpdateFailMalformedHtlc) return false;
  return undefined;
}

function htlcIdOfMessage(message: Uint8Array): number {
  return Number(new DataView(message.buffer, message.byteOffset).getBigUint64(34));
}

/**
 * One round of the commitment lifecycle against a store: append the remote commitment we
 * sign, advance the tail on the remote's revocation, then update our local commitment.
 * `plan` says what each call passes and what the store must hold afterwards.
 */
export class PaymentRound {
  readonly plan: RoundPlan;

  constructor(
    readonly model: ChannelModel,
    spec?: RoundSpec,
  ) {
    this.plan = planRound(model, spec);
  }

  /** Step 1: appendRemoteCommitChain (before sending commitment_signed). */
  append(store: Pick<CommitmentStore, 'appendRemoteCommitChain'>): Promise<void> {
    return store.appendRemoteCommitChain(this.model.chanPoint, this.plan.diff);
  }

  /** Step 2: advanceCommitChainTail (on the remote's revoke_and_ack). */
  advance(store: Pick<CommitmentStore, 'advanceCommitChainTail'>): Promise<void> {
    return store.advanceCommitChainTail(this.model.chanPoint, this.plan.advance);
  }

  /** Step 3: updateCommitment (before sending our revoke_and_ack). */
  update(store: Pick<CommitmentStore, 'updateCommitment'>): Promise<Map<number, boolean>> {
    return store.updateCommitment(this.model.chanPoint, this.plan.newLocal, this.plan.unsignedAckedArg);
  }

  /** All three steps in order. */
  async run(store: Pick<CommitmentStore, 'appendRemoteCommitChain' | 'advanceCommitChainTail' | 'updateCommitment'>): Promise<RoundOutcome> {
    await this.append(store);
    await this.advance(store);
    const settled = await this.update(store);
    return { plan: this.plan, settled, next: this.plan.next };
  }
}

/** Runs `specs` as consecutive rounds from `model`; returns the outcomes in order. */
export async function runRounds(
  store: Pick<CommitmentStore, 'appendRemoteCommitChain' | 'advanceCommitChainTail' | 'updateCommitment'>,
  model: ChannelModel,
  specs: readonly RoundSpec[],
): Promise<RoundOutcome[]> {
  const out: RoundOutcome[] = [];
  let current = model;
  for (const spec of specs) {
    const outcome = await new PaymentRound(current, spec).run(store);
    out.push(outcome);
    current = outcome.next;
  }
  return out;
}
