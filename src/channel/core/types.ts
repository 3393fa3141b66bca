/**
 * Types of the pure channel core (BOLT 2 normal operation): its state, the events it takes
 * and the effects it returns. See step.ts for the design.
 */
import type { SecretToPoint } from '../../bitcoin/secret-point.js';
import type {
  AddRef,
  AdvanceTailArgs,
  ChannelCommitment,
  CommitDiff,
  Hex,
  LogUpdate,
  OpenChannel,
  RemoteRevocationState,
  SettleFailRef,
} from '../../chanstate/types.js';
import type {
  ChannelReestablish,
  UpdateAddHtlc,
  UpdateFailHtlc,
  UpdateFailMalformedHtlc,
  UpdateFee,
  UpdateFulfillHtlc,
  WireMessage,
} from '../../wire/types.js';

/**
 * The keys the core signs with, injected so that the core stays pure. Every method is
 * deterministic (RFC 6979 signatures, shachain secrets): the same call gives the same bytes.
 */
export interface CoreSigner {
  /** Our funding key's signature of a digest (KeyChain.signDigest(localConfig.multiSigKey.locator, d)). */
  signFunding(digest: Uint8Array): Uint8Array;
  /** Our HTLC key tweaked by a per-commitment point (KeyChain.signDigestTweaked(htlcBasePoint.locator, point, d)). */
  signHtlc(perCommitmentPoint: Uint8Array, digest: Uint8Array): Uint8Array;
  /** Our per-commitment secret of commitment number n (KeyChain.shachainProducer(channel.revocationKeyLocator)). */
  perCommitmentSecret(n: number): Uint8Array;
}

/** The core's injected computations besides signing (coreFromStore). */
export interface CoreOptions {
  /**
   * secret·G of the per-commitment secret a revoke_and_ack reveals. Default: noble's
   * (secret-point.ts); the node injects libsecp256k1's. Every implementation gives the same
   * points and refuses the same secrets, so the choice never changes what the core does.
   */
  readonly secretToPoint?: SecretToPoint;
}

/** What the actor reads from the store at start (or after a restart) to rebuild the core. */
export interface StoredChannelView {
  /** fetchChannel: both commitments, remoteRevocation, lastWasRevoke. */
  readonly channel: OpenChannel;
  /** remoteCommitChainTip (NO_PENDING_COMMIT -> undefined). */
  readonly remoteTip: CommitDiff | undefined;
  readonly unsignedAckedUpdates: readonly LogUpdate[];
  readonly remoteUnsignedLocalUpdates: readonly LogUpdate[];
}

/** A BOLT 2 update message. */
export type UpdateMessage = UpdateAddHtlc | UpdateFulfillHtlc | UpdateFailHtlc | UpdateFailMalformedHtlc | UpdateFee;

/** One entry of an update log: the decoded update, its serialized form, and (ours only) forwarding references. */
export interface LogEntry {
  readonly logIndex: number;
  readonly update: UpdateMessage;
  /** The wire bytes (2-byte type + payload), as persisted in LogUpdate.message. */
  readonly bytes: Uint8Array;
  /** For our fulfill/fail of an incoming HTLC: its add in this channel's forwarding package. Not persisted. */
  readonly addRef?: AddRef;
  /** For our fulfill/fail: a settle/fail of another channel's package it answers. Not persisted. */
  readonly settleFailRef?: SettleFailRef;
}

/**
 * The core's state. Plain immutable data: `step` returns a new value and never mutates
 * its input, so a failed step simply returns the input.
 *
 * Log model (BOLT 2): an update of side X enters the other side's commitment when X signs
 * it, and X's own commitment once the other side revoked and then signed. Log indexes and
 * HTLC ids are per sender. `ourLog` keeps our updates not yet in our local commitment
 * (logIndex >= localCommit.localLogIndex); `theirLog` keeps their updates not yet in the
 * remote commitment (logIndex >= remoteCommit.remoteLogIndex).
 */
export interface CoreState {
  /** The channel's static parameters (its commitment fields are those at load; the live ones are below). */
  readonly channel: OpenChannel;
  readonly signer: CoreSigner;
  /** CoreOptions.secretToPoint, resolved. */
  readonly secretToPoint: SecretToPoint;
  readonly channelId: Hex;
  /** Our current local commitment (signed by the peer, previous one revoked). */
  readonly localCommit: ChannelCommitment;
  /** The peer's current commitment (we signed it, it revoked the previous one). */
  readonly remoteCommit: ChannelCommitment;
  /** The remote commitment we signed and the peer has not revoked for yet (at most one). */
  readonly remoteTip: CommitDiff | undefined;
  readonly remoteRevocation: RemoteRevocationState;
  /** True if our last message of the update flow was revoke_and_ack (retransmission order). */
  readonly lastWasRevoke: boolean;
  readonly ourLog: readonly LogEntry[];
  readonly theirLog: readonly LogEntry[];
  readonly ourNextLogIndex: number;
  readonly ourNextHtlcId: number;
  readonly theirNextLogIndex: number;
  readonly theirNextHtlcId: number;
  /**
   * False after a disconnect or restart, until the peer's channel_reestablish was processed.
   * While false, our updates above the last commitment we signed are queued, not sent: they
   * go out right after the reestablish (and its retransmissions).
   */
  readonly synced: boolean;
}

/** An event for the core: a local request, or something from the peer. */
export type CoreEvent =
  // local requests (from the node)
  | { readonly kind: 'offer_htlc'; readonly amountMsat: bigint; readonly paymentHash: Hex; readonly cltvExpiry: number; readonly onion: Uint8Array }
  | { readonly kind: 'fulfill_htlc'; readonly htlcId: number; readonly preimage: Uint8Array; readonly addRef?: AddRef; readonly settleFailRef?: SettleFailRef }
  | { readonly kind: 'fail_htlc'; readonly htlcId: number; readonly reason: Uint8Array; readonly addRef?: AddRef; readonly settleFailRef?: SettleFailRef }
  | {
      readonly kind: 'fail_malformed_htlc';
      readonly htlcId: number;
      readonly sha256OfOnion: Hex;
      readonly failureCode: number;
      readonly addRef?: AddRef;
      readonly settleFailRef?: SettleFailRef;
    }
  | { readonly kind: 'update_fee'; readonly feeratePerKw: number }
  | { readonly kind: 'sign' }
  // from the peer
  | { readonly kind: 'peer_message'; readonly message: WireMessage }
  | { readonly kind: 'disconnected' }
  | { readonly kind: 'peer_reestablish'; readonly message: ChannelReestablish };

/**
 * What the actor must do, in order. It awaits each persist before executing the next
 * effect, so "persist, then send" is the order of the list.
 */
export type CoreEffect =
  /** appendRemoteCommitChain (before the commitment_signed that follows). */
  | { readonly kind: 'persist_remote_commit'; readonly diff: CommitDiff }
  /** advanceCommitChainTail; args.fwdPkg is what the revocation locked in. */
  | { readonly kind: 'persist_revocation'; readonly args: AdvanceTailArgs }
  /** updateCommitment (before the revoke_and_ack that follows). */
  | { readonly kind: 'persist_local_commit'; readonly commitment: ChannelCommitment; readonly unsignedAckedUpdates: readonly LogUpdate[] }
  | { readonly kind: 'send'; readonly message: WireMessage }
  /** Our add was queued (the answer to offer_htlc). */
  | { readonly kind: 'offered'; readonly htlcId: number; readonly paymentHash: Hex }
  /** offer_htlc broke a limit or cannot be sent now; nothing changed. */
  | { readonly kind: 'offer_refused'; readonly reason: string }
  /** fulfill_htlc / fail_htlc / fail_malformed_htlc / update_fee was refused; nothing changed. */
  | { readonly kind: 'update_refused'; readonly request: CoreEvent['kind']; readonly htlcId?: number; readonly reason: string }
  /** The peer fulfilled our HTLC with a valid preimage (reported as soon as received). */
  | { readonly kind: 'preimage_received'; readonly htlcId: number; readonly paymentHash: Hex; readonly preimage: Uint8Array }
  /** Our add, never signed, was dropped at a disconnect: safe to retry. */
  | { readonly kind: 'htlc_forgotten'; readonly htlcId: number; readonly paymentHash: Hex }
  /** BOLT 2 asks us to retransmit channel_ready (the actor owns that message). */
  | { readonly kind: 'resend_channel_ready' }
  /**
   * The peer broke BOLT 2 (or proved we lost data: code 'we-lost-data'): the actor sends
   * `error` and stops the channel. The state is not advanced.
   */
  | { readonly kind: 'fail_channel'; readonly code: string; readonly reason: string };

/** The result of one step. */
export interface CoreResult {
  readonly state: CoreState;
  readonly effects: readonly CoreEffect[];
}

/** One HTLC as coreSummary reports it. */
export interface HtlcSummary {
  readonly htlcId: number;
  /** True if offered to us. */
  readonly incoming: boolean;
  readonly amountMsat: bigint;
  readonly paymentHash: Hex;
  readonly cltvExpiry: number;
}

/** The channel as list_channels and tests see it, from our local commitment. */
export interface CoreSummary {
  /** Our balance on our local commitment, before the commitment fee (what ChannelCommitment stores). */
  readonly localBalanceMsat: bigint;
  readonly remoteBalanceMsat: bigint;
  /** The fee of our local commitment transaction (funding amount minus its outputs). */
  readonly commitFeeSat: bigint;
  readonly feePerKw: number;
  readonly pendingHtlcs: readonly HtlcSummary[];
  readonly localCommitHeight: number;
  readonly remoteCommitHeight: number;
  readonly hasPendingRemoteCommit: boolean;
  /** Our updates not yet in our local commitment, and theirs not yet in the remote one. */
  readonly pendingLocalUpdates: number;
  readonly pendingRemoteUpdates: number;
  readonly synced: boolean;
}
