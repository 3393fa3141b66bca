/**
 * Channel-state domain types.
 *
 * Plain, immutable-by-convention values: no record holds a reference to a store, and no
 * store method mutates a value passed to it. Conventions:
 * - identifiers (txids, public keys, chain hashes, channel ids, payment hashes) are lowercase
 *   hex strings; txids in display (reversed) order, as block explorers show them;
 * - amounts are bigint, in millisatoshi (`...Msat`) or satoshi (`...Sat`);
 * - heights, indexes and counters are safe-integer numbers (BOLT commitment numbers are
 *   48-bit, HTLC ids fit in 53 bits in practice); a short channel id is a bigint (64 bits);
 * - bulk opaque data (transactions, signatures, scripts, wire messages) are Uint8Array.
 */
import type { KeyDescriptor, KeyLocator } from '../bitcoin/key-chain.js';
import type { ShachainEntry } from '../bitcoin/shachain.js';
import type { OutPoint } from '../bitcoin/transaction.js';

// One definition each, in src/bitcoin (the layer below): the funding outpoint of a channel
// is its "channel point", a key descriptor's locator is absent for the peer's keys, and a
// shachain entry is a received per-commitment secret at its 48-bit index.
export type { KeyDescriptor, KeyLocator, OutPoint, ShachainEntry };

/** Lowercase hex. Length is given where it matters (e.g. 64 chars for a txid, 66 for a pubkey). */
export type Hex = string;

/** BOLT 7 short channel id: block height (24 bits) | tx index (24 bits) | output index (16 bits). */
export type ShortChannelId = bigint;

/** Channel status bits (persisted; values are stable). `Default` (0) means no bit set. */
export const ChannelStatus = {
  Default: 0,
  Borked: 1 << 0,
  CommitBroadcasted: 1 << 1,
  LocalDataLoss: 1 << 2,
  Restored: 1 << 3,
  CoopBroadcasted: 1 << 4,
  LocalCloseInitiator: 1 << 5,
  RemoteCloseInitiator: 1 << 6,
} as const;
/** A combination of ChannelStatus bits. */
export type ChannelStatusBits = number;

/** Channel type bits (persisted; values are stable). */
export const ChannelType = {
  SingleFunder: 0,
  DualFunder: 1 << 0,
  SingleFunderTweakless: 1 << 1,
  NoFundingTx: 1 << 2,
  AnchorOutputs: 1 << 3,
  Frozen: 1 << 4,
  ZeroHtlcTxFee: 1 << 5,
  LeaseExpiration: 1 << 6,
  ZeroConf: 1 << 7,
  ScidAliasChan: 1 << 8,
  ScidAliasFeature: 1 << 9,
  SimpleTaprootFeature: 1 << 10,
  TapscriptRoot: 1 << 11,
  TaprootFinal: 1 << 12,
} as const;
/** A combination of ChannelType bits. */
export type ChannelTypeBits = number;

/** One side's channel parameters: limits, commitment parameters and base points. */
export interface ChannelConfig {
  readonly chanReserveSat: bigint;
  readonly maxPendingAmountMsat: bigint;
  readonly minHtlcMsat: bigint;
  readonly maxAcceptedHtlcs: number;
  readonly dustLimitSat: bigint;
  readonly csvDelay: number;
  readonly multiSigKey: KeyDescriptor;
  readonly revocationBasePoint: KeyDescriptor;
  readonly paymentBasePoint: KeyDescriptor;
  readonly delayBasePoint: KeyDescriptor;
  readonly htlcBasePoint: KeyDescriptor;
}

/** An HTLC on a commitment. */
export interface Htlc {
  /** The counterparty's signature for this HTLC's second-level transaction (empty if none). */
  readonly signature: Uint8Array;
  readonly paymentHash: Hex;
  readonly amountMsat: bigint;
  readonly refundTimeout: number;
  /** Output index in the commitment transaction; -1 when trimmed as dust. */
  readonly outputIndex: number;
  /** True if the HTLC was offered to us. */
  readonly incoming: boolean;
  /** The onion routing packet (1366 bytes in BOLT 4; opaque here). */
  readonly onionBlob: Uint8Array;
  readonly htlcIndex: number;
  readonly logIndex: number;
  /** Extra TLV data of the update_add_htlc (blinding point, custom records); opaque. */
  readonly extraData?: Uint8Array;
}

/**
 * One party's commitment: the state both sides signed at a height. Balances and log
 * indexes are from our point of view in both commitments (`local...` is always us).
 */
export interface ChannelCommitment {
  readonly commitHeight: number;
  readonly localLogIndex: number;
  readonly localHtlcIndex: number;
  readonly remoteLogIndex: number;
  readonly remoteHtlcIndex: number;
  readonly localBalanceMsat: bigint;
  readonly remoteBalanceMsat: bigint;
  readonly commitFeeSat: bigint;
  readonly feePerKw: bigint;
  /** The commitment transaction, serialized. */
  readonly commitTx: Uint8Array;
  /** The counterparty's signature on this commitment (ours for the remote one). */
  readonly commitSig: Uint8Array;
  readonly htlcs: readonly Htlc[];
  readonly customBlob?: Uint8Array;
  /**
   * Index in `commitTx` of the main output paying us (to_local on our commitment, to_remote
   * on theirs), OUTPUT_INDEX_NONE when it is trimmed. Required on every remote commitment
   * written (new channels, appendRemoteCommitChain): its revocation log entry needs it when
   * the commitment is revoked, possibly after a restart. Absent only in records written
   * before schema 2.
   */
  readonly localOutputIndex?: number;
  /** Index in `commitTx` of the main output paying the remote, OUTPUT_INDEX_NONE when trimmed. Same rules. */
  readonly remoteOutputIndex?: number;
}

/** An entry of the update log: a serialized BOLT 2 update message at a log index. */
export interface LogUpdate {
  readonly logIndex: number;
  /** The wire message: 2-byte type followed by its payload. */
  readonly message: Uint8Array;
}

/** An HTLC circuit: the incoming channel and HTLC id. */
export interface CircuitKey {
  readonly channel: ShortChannelId;
  readonly htlcId: number;
}

/** A reference to an add in a forwarding package of the channel being acked. */
export interface AddRef {
  readonly height: number;
  readonly index: number;
}

/** A reference to a settle or fail in a forwarding package of channel `source`. */
export interface SettleFailRef {
  readonly source: ShortChannelId;
  readonly height: number;
  readonly index: number;
}

/** A signed but not yet revoked remote commitment, with what is needed to retransmit it. */
export interface CommitDiff {
  readonly commitment: ChannelCommitment;
  readonly logUpdates: readonly LogUpdate[];
  /** The serialized commitment_signed message sent for this commitment. */
  readonly commitSig: Uint8Array;
  readonly openedCircuitKeys: readonly CircuitKey[];
  readonly closedCircuitKeys: readonly CircuitKey[];
  /**
   * Adds (of this channel's packages) to ack in the same transaction as the append.
   * Not persisted with the diff.
   */
  readonly addAcks?: readonly AddRef[];
  /** Settles/fails (of any channel's packages) to ack in the same transaction. Not persisted. */
  readonly settleFailAcks?: readonly SettleFailRef[];
}

/** A bit vector of `count` bits, most significant bit first. See pkg-filter.ts. */
export interface PkgFilter {
  readonly count: number;
  readonly bits: Uint8Array;
}

/** Progress of a forwarding package. */
export const FwdState = {
  /** Locked in; adds not yet processed by the switch. */
  LockedIn: 0,
  /** The forwarding filter is set: adds were processed. */
  Processed: 1,
  /** Every add and settle/fail has been acked; the package may be removed. */
  Completed: 2,
} as const;
/** One of the FwdState values. */
export type FwdState = (typeof FwdState)[keyof typeof FwdState];

/** The updates a remote revocation locked in, kept until every one of them is handled. */
export interface FwdPkg {
  readonly source: ShortChannelId;
  readonly height: number;
  readonly state: FwdState;
  readonly adds: readonly LogUpdate[];
  readonly settleFails: readonly LogUpdate[];
  /** Which adds the switch should forward; absent until set. */
  readonly fwdFilter?: PkgFilter;
  readonly ackFilter: PkgFilter;
  readonly settleFailFilter: PkgFilter;
}

/** How a channel was closed (persisted; values are stable). */
export const ClosureType = {
  Cooperative: 0,
  LocalForce: 1,
  Breach: 2,
  FundingCanceled: 3,
  RemoteForce: 4,
  Abandoned: 5,
} as const;
/** One of the ClosureType values. */
export type ClosureType = (typeof ClosureType)[keyof typeof ClosureType];

/** What remains known of a closed channel. */
export interface ChannelCloseSummary {
  readonly chanPoint: OutPoint;
  readonly shortChannelId: ShortChannelId;
  readonly chainHash: Hex;
  /** The closing transaction's id; all zeros when none (e.g. funding canceled). */
  readonly closingTxid: Hex;
  readonly remotePub: Hex;
  readonly capacitySat: bigint;
  readonly closeHeight: number;
  readonly settledBalanceSat: bigint;
  readonly timeLockedBalanceSat: bigint;
  readonly closeType: ClosureType;
  /** True until every output of the close is resolved on chain. */
  readonly isPending: boolean;
  readonly remoteCurrentRevocation?: Hex;
  readonly remoteNextRevocation?: Hex;
  readonly localConfig: ChannelConfig;
  /** The last channel_reestablish we would send, for data-loss recovery. */
  readonly lastChanSyncMsg?: Uint8Array;
}

/** Who initiated something. */
export type ChannelParty = 'local' | 'remote';

/** What we sent in `shutdown`, so a restart resends the same thing. */
export interface ShutdownInfo {
  readonly deliveryScript: Uint8Array;
  readonly closer: ChannelParty;
}

/** The final outcome of an HTLC. */
export interface FinalHtlcInfo {
  readonly settled: boolean;
  /** True if it was resolved off chain. */
  readonly offchain: boolean;
}

/** An HTLC of a revoked remote commitment, as kept in the revocation log (dust is skipped). */
export interface HtlcEntry {
  readonly paymentHash: Hex;
  readonly refundTimeout: number;
  readonly outputIndex: number;
  readonly incoming: boolean;
  readonly amountSat: bigint;
  readonly htlcIndex?: number;
}

/** Marker for "no such output" in a revocation log entry. */
export const OUTPUT_INDEX_NONE = 0xffff;

/** The compact record of one revoked remote commitment: enough to punish its broadcast. */
export interface RevocationLogEntry {
  readonly commitHeight: number;
  readonly ourOutputIndex: number;
  readonly theirOutputIndex: number;
  readonly commitTxid: Hex;
  readonly ourBalanceMsat?: bigint;
  readonly theirBalanceMsat?: bigint;
  readonly htlcs: readonly HtlcEntry[];
}

/** What we know of the remote's revocations. */
export interface RemoteRevocationState {
  /** The compact store of revealed remote secrets (at most 49 entries). */
  readonly secrets: readonly ShachainEntry[];
  /** The remote's per-commitment point of its current commitment. */
  readonly currentPoint?: Hex;
  /** The remote's per-commitment point for its next commitment. */
  readonly nextPoint?: Hex;
}

/**
 * An externally funded open waiting for the user's signature (DESIGN.md "External funding").
 * Cleared in the same transaction as markOpen or the close.
 */
export interface ExternalFundingState {
  /** The unsigned funding PSBT; its txid is already fixed (segwit inputs only). */
  readonly unsignedPsbt: Uint8Array;
  /** Abort the open if not submitted by then (UNIX ms). */
  readonly deadlineMs: number;
  readonly submitted: boolean;
  /** The signed funding transaction, once submitted. */
  readonly signedTx?: Uint8Array;
}

/** A channel that is pending, open or waiting to close, with both commitments. */
export interface OpenChannel {
  readonly chanType: ChannelTypeBits;
  readonly chainHash: Hex;
  readonly fundingOutpoint: OutPoint;
  /** The short channel id (an alias for zero-conf channels until confirmed). 0n while pending. */
  readonly shortChannelId: ShortChannelId;
  /** The confirmed short channel id of a zero-conf channel. */
  readonly realScid?: ShortChannelId;
  readonly isPending: boolean;
  readonly isInitiator: boolean;
  readonly status: ChannelStatusBits;
  readonly fundingBroadcastHeight: number;
  readonly confirmationHeight: number;
  readonly closeConfirmationHeight?: number;
  readonly numConfsRequired: number;
  readonly channelFlags: number;
  readonly identityPub: Hex;
  readonly capacitySat: bigint;
  readonly totalMsatSent: bigint;
  readonly totalMsatReceived: bigint;
  readonly initialLocalBalanceMsat: bigint;
  readonly initialRemoteBalanceMsat: bigint;
  readonly localConfig: ChannelConfig;
  readonly remoteConfig: ChannelConfig;
  readonly localCommitment: ChannelCommitment;
  readonly remoteCommitment: ChannelCommitment;
  readonly remoteRevocation: RemoteRevocationState;
  /** Locator of the root of our per-commitment secret producer (the secret is derived, never stored). */
  readonly revocationKeyLocator: KeyLocator;
  /** The funding transaction, when we funded it from our own wallet. */
  readonly fundingTx?: Uint8Array;
  readonly localShutdownScript?: Uint8Array;
  readonly remoteShutdownScript?: Uint8Array;
  readonly thawHeight: number;
  /** True if our last message in the update flow was revoke_and_ack (for retransmission order). */
  readonly lastWasRevoke: boolean;
  readonly memo?: Uint8Array;
  readonly externalFunding?: ExternalFundingState;
}

/** The minimal state to recover a channel from a static backup. */
export interface ChannelShell {
  readonly channel: OpenChannel;
  /** Peer addresses, "host:port". */
  readonly nodeAddresses: readonly string[];
}

/** Funding-manager progress after funding confirmed (typed; lnd stores opaque bytes). */
export const OpeningStage = {
  MarkedOpen: 0,
  ChannelReadySent: 1,
  AddedToGraph: 2,
} as const;
/** One of the OpeningStage values. */
export type OpeningStage = (typeof OpeningStage)[keyof typeof OpeningStage];

/** Where the funding flow of a channel stands, and the scid it uses. */
export interface ChannelOpeningState {
  readonly stage: OpeningStage;
  readonly shortChannelId: ShortChannelId;
}

/** The forwarding policy a new channel starts with, until announced. */
export interface ForwardingPolicy {
  readonly minHtlcMsat: bigint;
  readonly maxHtlcMsat: bigint;
  readonly baseFeeMsat: bigint;
  readonly feeRatePpm: number;
  readonly timeLockDelta: number;
}

/** Per-peer channel counts used for access control. */
export interface ChanCount {
  readonly hasOpenOrClosedChannel: boolean;
  readonly pendingOpenCount: number;
}

/**
 * Arguments of advanceCommitChainTail: what a received revoke_and_ack carries and locks in.
 * The store derives the new revocation state itself, after checking the secret: it must be
 * the one behind the stored current point, and the shachain must accept it.
 */
export interface AdvanceTailArgs {
  /** `per_commitment_secret` of revoke_and_ack: the secret of the remote commitment being revoked (32 bytes). */
  readonly revocationSecret: Uint8Array;
  /** `next_per_commitment_point` of revoke_and_ack (33-byte compressed point, hex). */
  readonly nextPoint: Hex;
  /** The forwarding package of updates this revocation locked in. */
  readonly fwdPkg: FwdPkg;
  /** Our updates the remote has not signed for yet (replaces the stored list). */
  readonly remoteUnsignedLocalUpdates: readonly LogUpdate[];
}
