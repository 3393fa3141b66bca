/**
 * The channel-state Store contract, split into facets.
 *
 * Modelled on lnd's `chanstate.Store` (docs/architecture.md maps every lnd method to its
 * chand name), with these rules:
 * - methods take identifiers (the channel point) and values, and return fresh values; no
 *   method mutates its arguments;
 * - each method is one atomic transaction of its backend: it persists everything or nothing;
 * - errors are ChandErrors with stable codes (CHANNEL_NOT_FOUND, ...); every method of a
 *   closed store fails with STORE_CLOSED.
 *
 * Consumers depend on the facets they need (`Pick`-style), never on the whole store.
 * Operations that must also change link nodes live in channelcoord's Coordinator.
 */
import type { SecretToPoint } from '../bitcoin/secret-point.js';
import type {
  AddRef,
  AdvanceTailArgs,
  ChanCount,
  ChannelCloseSummary,
  ChannelCommitment,
  ChannelOpeningState,
  ChannelParty,
  ChannelStatusBits,
  CommitDiff,
  ExternalFundingState,
  FinalHtlcInfo,
  ForwardingPolicy,
  FwdPkg,
  Hex,
  LogUpdate,
  OpenChannel,
  OutPoint,
  PkgFilter,
  RemoteRevocationState,
  RevocationLogEntry,
  SettleFailRef,
  ShortChannelId,
  ShutdownInfo,
} from './types.js';

/** Reads and scans of channels that are pending, open or waiting to close. */
export interface OpenChannelReads {
  /** Channels with peer `nodeId` (any state short of closed). Empty array if none. */
  fetchOpenChannels(nodeId: Hex): Promise<OpenChannel[]>;
  /** The channel at `chanPoint`. CHANNEL_NOT_FOUND if absent or closed. */
  fetchChannel(chanPoint: OutPoint): Promise<OpenChannel>;
  /** The channel with BOLT 2 channel id `channelId`. CHANNEL_NOT_FOUND if absent or closed. */
  fetchChannelById(channelId: Hex): Promise<OpenChannel>;
  /** Every pending, open and waiting-close channel, ordered by channel point. */
  fetchAllChannels(): Promise<OpenChannel[]>;
  /** Channels whose funding confirmed and that are not waiting to close. */
  fetchAllOpenChannels(): Promise<OpenChannel[]>;
  /** Channels whose funding has not confirmed yet. */
  fetchPendingChannels(): Promise<OpenChannel[]>;
  /** Channels with any status bit set (includes pending ones). */
  fetchWaitingCloseChannels(): Promise<OpenChannel[]>;
  /** Per peer on `chainHash`: whether it has an open or closed channel, and how many pending opens. */
  fetchPermAndTempPeers(chainHash: Hex): Promise<Map<Hex, ChanCount>>;
}

/** Full channel records archived at close. */
export interface HistoricalChannelReads {
  /** The channel as it was when closed. HISTORICAL_CHANNEL_NOT_FOUND if never closed. */
  fetchHistoricalChannel(chanPoint: OutPoint): Promise<OpenChannel>;
}

/** Funding lifecycle of a channel. */
export interface ChannelLifecycleStore {
  /** Records the height at which the funding transaction confirmed. */
  markConfirmationHeight(chanPoint: OutPoint, height: number): Promise<void>;
  /** Records (or, with undefined, clears after a reorg) the height at which the close confirmed. */
  markCloseConfirmationHeight(chanPoint: OutPoint, height: number | undefined): Promise<void>;
  /**
   * Marks the channel open at `shortChannelId` (no longer pending) and, in the same
   * transaction, clears any external funding state: the flow reached its terminal step.
   * Forwarding packages are keyed by the short channel id: if the channel already had a
   * different non-zero one (a zero-conf alias), its packages move to the new id (with their
   * `source`) in the same transaction, so no unresolved HTLC is orphaned.
   */
  markOpen(chanPoint: OutPoint, shortChannelId: ShortChannelId): Promise<void>;
  /** Records the confirmed scid of a zero-conf channel. */
  markRealScid(chanPoint: OutPoint, realScid: ShortChannelId): Promise<void>;
  /** Sets the ScidAliasFeature type bit. */
  markScidAliasNegotiated(chanPoint: OutPoint): Promise<void>;
}

/** Channel status bits. Each returns the status now stored. */
export interface ChannelStatusStore {
  /** ORs `status` into the stored status. */
  applyChannelStatus(chanPoint: OutPoint, status: ChannelStatusBits): Promise<ChannelStatusBits>;
  /** Clears the bits of `status` from the stored status. */
  clearChannelStatus(chanPoint: OutPoint, status: ChannelStatusBits): Promise<ChannelStatusBits>;
  /** Sets LocalDataLoss and stores the remote's commitment point for recovery. */
  markDataLoss(chanPoint: OutPoint, commitPoint: Hex): Promise<ChannelStatusBits>;
  /** The commitment point stored by markDataLoss. NO_COMMIT_POINT if none. */
  fetchDataLossCommitPoint(chanPoint: OutPoint): Promise<Hex>;
  /** Sets Borked: later commitment mutations fail with CHANNEL_BORKED. */
  markBorked(chanPoint: OutPoint): Promise<ChannelStatusBits>;
}

/** What we sent in shutdown. */
export interface ChannelShutdownStore {
  storeShutdownInfo(chanPoint: OutPoint, info: ShutdownInfo): Promise<void>;
  /** The stored shutdown info, or undefined. */
  fetchShutdownInfo(chanPoint: OutPoint): Promise<ShutdownInfo | undefined>;
}

/** Closing transactions we broadcast, kept to rebroadcast at start. */
export interface ChannelCloseTxStore {
  /** Stores our commitment tx and sets CommitBroadcasted plus the closer's initiator bit. */
  markCommitmentBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty): Promise<void>;
  /** Stores the cooperative close tx and sets CoopBroadcasted plus the closer's initiator bit. */
  markCoopBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty): Promise<void>;
  /** NO_CLOSE_TX if none was stored. */
  fetchBroadcastedCommitment(chanPoint: OutPoint): Promise<Uint8Array>;
  /** NO_CLOSE_TX if none was stored. */
  fetchBroadcastedCooperative(chanPoint: OutPoint): Promise<Uint8Array>;
}

/**
 * The commitment update protocol (BOLT 2). A payment round is, on our side:
 * appendRemoteCommitChain (before sending commitment_signed) → advanceCommitChainTail (on
 * their revoke_and_ack) → updateCommitment (before sending our revoke_and_ack).
 * Mutations fail with CHANNEL_BORKED on a borked channel and CHANNEL_RESTORED on a channel
 * restored from a backup shell.
 */
export interface CommitmentStore {
  /**
   * Replaces our local commitment after we revoke the previous one, stores the remote
   * updates we acked but have not signed for, and drops our updates the new commitment
   * locked in. Returns, for each HTLC whose settle or fail got locked in, htlcIndex → settled.
   */
  updateCommitment(
    chanPoint: OutPoint,
    newCommitment: ChannelCommitment,
    unsignedAckedUpdates: readonly LogUpdate[],
  ): Promise<Map<number, boolean>>;
  /**
   * Stores a remote commitment we signed (the chain tip) and, in the same transaction, acks
   * the adds and settle/fails listed in the diff.
   */
  appendRemoteCommitChain(chanPoint: OutPoint, diff: CommitDiff): Promise<void>;
  /** The remote commitment we signed but that is not yet revoked. NO_PENDING_COMMIT if none. */
  remoteCommitChainTip(chanPoint: OutPoint): Promise<CommitDiff>;
  /** Remote updates we acked but have not signed for. */
  unsignedAckedUpdates(chanPoint: OutPoint): Promise<LogUpdate[]>;
  /** Our updates the remote has not signed for. */
  remoteUnsignedLocalUpdates(chanPoint: OutPoint): Promise<LogUpdate[]>;
  /** Stores the remote's next per-commitment point (from channel_ready / revoke_and_ack). */
  insertNextRevocation(chanPoint: OutPoint, nextPoint: Hex): Promise<void>;
  /**
   * On revoke_and_ack: the tip becomes the remote commitment, the revoked one goes to the
   * revocation log (with the output indexes stored with it), the forwarding package is added
   * and the revocation state advanced, all in one transaction. NO_PENDING_COMMIT if there is
   * no tip. Before writing anything it checks the revealed secret: its point must be the
   * stored current point (REVOCATION_INVALID) and the shachain must accept it at the revoked
   * commitment's index (SHACHAIN_INVALID); then current point := next point, next point :=
   * `args.nextPoint`. Forwarding packages are keyed by the channel's short channel id
   * (confirmed or alias), so updates must not start before the channel has one
   * (CHANNEL_NO_SCID): BOLT 2 allows none before channel_ready, which carries the alias for
   * zero-conf. A package's `source` must equal the channel's short channel id (RangeError).
   */
  advanceCommitChainTail(chanPoint: OutPoint, args: AdvanceTailArgs): Promise<void>;
  /** Our local commitment height. */
  commitmentHeight(chanPoint: OutPoint): Promise<number>;
  /** Both current commitments. */
  latestCommitments(chanPoint: OutPoint): Promise<{ local: ChannelCommitment; remote: ChannelCommitment }>;
  /** The remote revocation state (revealed secrets, current and next point). */
  remoteRevocationStore(chanPoint: OutPoint): Promise<RemoteRevocationState>;
  /** Height of the newest revocation log entry, or undefined when the log is empty. */
  revocationLogTailHeight(chanPoint: OutPoint): Promise<number | undefined>;
  /** The revocation log entry of remote commitment `commitHeight`. LOG_ENTRY_NOT_FOUND if absent. */
  findPreviousState(chanPoint: OutPoint, commitHeight: number): Promise<RevocationLogEntry>;
  /** Up to `limit` revocation log entries from height `from` upwards, in height order. */
  fetchRevocationLog(chanPoint: OutPoint, from: number, limit: number): Promise<RevocationLogEntry[]>;
}

/** Forwarding packages: updates locked in by a revocation, until the switch handled them. */
export interface FwdPkgStore {
  /** The channel's packages, by height. */
  loadFwdPkgs(chanPoint: OutPoint): Promise<FwdPkg[]>;
  /** Marks adds of this channel's packages as handled. */
  ackAddHtlcs(chanPoint: OutPoint, refs: readonly AddRef[]): Promise<void>;
  /** Marks settles/fails as handled, in packages of the channels named in the refs. */
  ackSettleFails(refs: readonly SettleFailRef[]): Promise<void>;
  /** Sets the forwarding filter of a package (once); the package becomes Processed. FWD_PKG_NOT_FOUND if absent. */
  setFwdFilter(chanPoint: OutPoint, height: number, filter: PkgFilter): Promise<void>;
  /** Removes completed packages. FWD_PKG_INCOMPLETE (nothing removed) if one is not completed. */
  removeFwdPkgs(chanPoint: OutPoint, heights: readonly number[]): Promise<void>;
}

/** Closed channels. */
export interface ClosedChannelStore {
  /** Close summaries; with `pendingOnly`, only those not fully resolved. */
  fetchClosedChannels(pendingOnly: boolean): Promise<ChannelCloseSummary[]>;
  /** CLOSED_CHANNEL_NOT_FOUND if absent. */
  fetchClosedChannel(chanPoint: OutPoint): Promise<ChannelCloseSummary>;
  /** CLOSED_CHANNEL_NOT_FOUND if absent. */
  fetchClosedChannelById(channelId: Hex): Promise<ChannelCloseSummary>;
  /**
   * Closes the channel in one short transaction: stores the summary, archives the full
   * record (with `extraStatus` ORed in) as historical, removes it from the open set and
   * clears any external funding state. Bulk data (revocation log, commitments, forwarding
   * packages) is left for purgeClosedChannels. CHANNEL_NOT_FOUND if not open.
   * A FundingCanceled close of a channel whose external funding was already submitted fails
   * with EXTERNAL_FUNDING_SUBMITTED (its funding may confirm: cancelling would lose it).
   */
  closeChannel(chanPoint: OutPoint, summary: ChannelCloseSummary, extraStatus?: ChannelStatusBits): Promise<void>;
  /**
   * Closes the channel as Abandoned with our local balance as settled balance. Repeating it
   * after success is a no-op. CHANNEL_NOT_FOUND if it was never known.
   */
  abandonChannel(chanPoint: OutPoint, bestHeight: number): Promise<void>;
}

/** Final HTLC outcomes, kept independently of the channel lifecycle. */
export interface FinalHtlcStore {
  /** HTLC_UNKNOWN if no outcome is recorded. */
  lookupFinalHtlc(channel: ShortChannelId, htlcIndex: number): Promise<FinalHtlcInfo>;
  putOnchainFinalHtlcOutcome(channel: ShortChannelId, htlcIndex: number, settled: boolean): Promise<void>;
}

/** Temporary state of the funding manager, deleted once the channel is fully up. */
export interface ChannelSetupStore {
  saveChannelOpeningState(chanPoint: OutPoint, state: ChannelOpeningState): Promise<void>;
  /** OPENING_STATE_NOT_FOUND if absent. */
  getChannelOpeningState(chanPoint: OutPoint): Promise<ChannelOpeningState>;
  deleteChannelOpeningState(chanPoint: OutPoint): Promise<void>;
  saveInitialForwardingPolicy(channelId: Hex, policy: ForwardingPolicy): Promise<void>;
  /** FORWARDING_POLICY_NOT_FOUND if absent. */
  getInitialForwardingPolicy(channelId: Hex): Promise<ForwardingPolicy>;
  deleteInitialForwardingPolicy(channelId: Hex): Promise<void>;
}

/**
 * External (PSBT) funding state of pending channels. It is created together with the
 * pending channel (Coordinator.syncPendingChannel) and cleared by markOpen and closeChannel.
 */
export interface ExternalFundingStore {
  /** The state of one channel. EXTERNAL_FUNDING_NOT_FOUND if none. */
  fetchExternalFunding(chanPoint: OutPoint): Promise<ExternalFundingState>;
  /** Every channel with external funding state, for the hydrate step at start. */
  fetchAllExternalFundings(): Promise<Array<{ chanPoint: OutPoint; state: ExternalFundingState }>>;
  /**
   * Records the signed funding transaction (submitted = true), after verifying it against
   * the stored unsigned PSBT: same txid, which must also be the channel point's
   * (PSBT_TXID_MISMATCH), same outputs (PSBT_OUTPUTS_MISMATCH), every input signed with a
   * valid signature (PSBT_NOT_FINALIZED, SIGNATURE_INVALID); bytes that are no transaction
   * give DECODE_FAILED. Idempotent: submitting the same transaction again returns the stored
   * state; a different one after submission fails with EXTERNAL_FUNDING_CONFLICT.
   */
  submitExternalFunding(chanPoint: OutPoint, signedTx: Uint8Array): Promise<ExternalFundingState>;
  /**
   * Aborts an externally funded open whose deadline passed, atomically: in one transaction
   * it checks that the flow was not submitted (EXTERNAL_FUNDING_SUBMITTED) and that
   * `nowMs >= deadlineMs` (EXTERNAL_FUNDING_NOT_EXPIRED), then closes the channel as
   * FundingCanceled (summary pending, so the funding outpoint stays watched: the user may
   * still broadcast the signed transaction) and clears the state. A deadline timer racing a
   * submit therefore never cancels a channel whose funding can confirm. Returns the summary;
   * repeating it after success returns the same summary. EXTERNAL_FUNDING_NOT_FOUND if the
   * channel has no external funding state and was not cancelled before.
   */
  cancelExternalFunding(chanPoint: OutPoint, nowMs: number, bestHeight: number): Promise<ChannelCloseSummary>;
}

/**
 * The allocator of channel key indexes (KeyChain.channelKeys(index)). Reusing an index
 * reuses per-commitment secrets and keys across channels, which loses funds, so the
 * counter is persisted and monotonic: never handed out twice, across restarts and
 * backend migrations. New channels (syncPendingChannel, restoreChannelShells) move it past
 * their own `revocationKeyLocator.index`, and a new channel whose index another channel
 * already uses is refused (CHANNEL_KEY_INDEX_REUSED).
 */
export interface KeyIndexStore {
  /** The next unused channel key index; every call returns a new, larger one. */
  nextChannelKeyIndex(): Promise<number>;
}

/**
 * Counts of what a store holds, for status displays. Revocation log entries and forwarding
 * packages of closed channels are counted until purgeClosedChannels removes them.
 */
export interface StoreCounts {
  readonly openChannels: number;
  readonly pendingChannels: number;
  readonly waitingCloseChannels: number;
  readonly closedChannels: number;
  readonly revocationLogEntries: number;
  readonly fwdPkgs: number;
  readonly closedAwaitingPurge: number;
}

/** Result of one purge call. */
export interface PurgeResult {
  /** Records deleted by this call. */
  readonly deleted: number;
  /** True when no closed channel has bulk data left. */
  readonly done: boolean;
}

/** Housekeeping: bounded background purge of closed channels' bulk data, and counts. */
export interface MaintenanceStore {
  /**
   * Deletes at most `maxRecords` records of closed channels' bulk data (revocation log,
   * commitments, forwarding packages) in one short transaction. Call until `done`.
   */
  purgeClosedChannels(maxRecords: number): Promise<PurgeResult>;
  counts(): Promise<StoreCounts>;
}

/** The choices a channel-state store leaves to its owner; every backend takes the same. */
export interface ChannelStateOptions {
  /** Keep both balances in revocation log entries (needed by watchtowers). Default true. */
  readonly revocationLogBalances?: boolean;
  /** Record off-chain final HTLC outcomes (lookupFinalHtlc). Default true. */
  readonly storeFinalHtlcResolutions?: boolean;
  /**
   * secret·G for the revealed-secret check of advanceCommitChainTail. Default: noble's
   * (pure JS, runs anywhere); openChannelDb passes libsecp256k1's (WebAssembly, Node).
   * Every implementation gives the same points and refuses the same secrets.
   */
  readonly secretToPoint?: SecretToPoint;
}

/** The whole channel-state store. Prefer a narrower facet in consumers. */
export interface ChannelStateStore
  extends OpenChannelReads,
    HistoricalChannelReads,
    ChannelLifecycleStore,
    ChannelStatusStore,
    ChannelShutdownStore,
    ChannelCloseTxStore,
    CommitmentStore,
    FwdPkgStore,
    ClosedChannelStore,
    FinalHtlcStore,
    ChannelSetupStore,
    ExternalFundingStore,
    KeyIndexStore,
    MaintenanceStore {}
