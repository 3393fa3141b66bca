/**
 * The domain rules of the channel-state contracts, written once for every backend.
 *
 * A backend implements storage: it reads what a rule needs inside its transaction, calls
 * the rule, and writes what the rule returns. Rules are pure and synchronous (no I/O, no
 * clock, no randomness), so the KV backends can call them inside their synchronous
 * transaction closures and the SQL backends inside their async ones, and a retried
 * transaction gets the same answer. Errors are the contracts' ChandErrors.
 *
 * Argument validation is not here: it happens once at the public edge (validate.ts,
 * checked-store.ts) before a backend sees the call.
 */
import { verifySignedFunding } from '../bitcoin/psbt-funding.js';
import type { SecretToPoint } from '../bitcoin/secret-point.js';
import { commitmentIndex, ShachainStore } from '../bitcoin/shachain.js';
import { bytesToHex, equalBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { LinkNode } from '../linknode/store.js';
import { networkOfChainHash } from '../linknode/store.js';
import { formatOutPoint } from './channel-id.js';
import { htlcResolution } from './log-update.js';
import { filterContains, fwdPkgState, withBit } from './pkg-filter.js';
import {
  ChannelStatus,
  ChannelType,
  ClosureType,
  FwdState,
  OUTPUT_INDEX_NONE,
  type ChanCount,
  type ChannelCloseSummary,
  type ChannelCommitment,
  type ChannelConfig,
  type ChannelStatusBits,
  type ChannelTypeBits,
  type ExternalFundingState,
  type FwdPkg,
  type Hex,
  type LogUpdate,
  type OpenChannel,
  type OutPoint,
  type PkgFilter,
  type RemoteRevocationState,
  type ShortChannelId,
} from './types.js';

const ZERO_TXID = '0'.repeat(64);

// --- errors every backend raises the same way --------------------------------------------

/** CHANNEL_NOT_FOUND for `op`. */
export function channelNotFound(op: OutPoint): ChandError {
  return new ChandError(ErrorCode.CHANNEL_NOT_FOUND, `channel ${formatOutPoint(op)} not found`);
}

/** CHANNEL_NOT_FOUND for a BOLT 2 channel id. */
export function channelIdNotFound(channelId: Hex): ChandError {
  return new ChandError(ErrorCode.CHANNEL_NOT_FOUND, `channel with id ${channelId} not found`);
}

/** CLOSED_CHANNEL_NOT_FOUND for `what` (a formatted channel point or "with id ..."). */
export function closedNotFound(what: string): ChandError {
  return new ChandError(ErrorCode.CLOSED_CHANNEL_NOT_FOUND, `no closed channel ${what}`);
}

/** NO_PENDING_COMMIT for `op`. */
export function noPendingCommit(op: OutPoint): ChandError {
  return new ChandError(ErrorCode.NO_PENDING_COMMIT, `channel ${formatOutPoint(op)} has no pending remote commitment`);
}

/** DECODE_FAILED: a channel that should have a commitment in `slot` has none (a corrupt channel). */
export function missingCommitment(op: OutPoint, slot: 'local' | 'remote'): ChandError {
  return new ChandError(ErrorCode.DECODE_FAILED, `channel ${formatOutPoint(op)} has no ${slot} commitment`);
}

/** HISTORICAL_CHANNEL_NOT_FOUND: the channel was never closed. */
export function historicalNotFound(op: OutPoint): ChandError {
  return new ChandError(ErrorCode.HISTORICAL_CHANNEL_NOT_FOUND, `no historical record of channel ${formatOutPoint(op)}`);
}

/** FWD_PKG_NOT_FOUND. */
export function fwdPkgNotFound(op: OutPoint, height: number): ChandError {
  return new ChandError(ErrorCode.FWD_PKG_NOT_FOUND, `channel ${formatOutPoint(op)} has no forwarding package at height ${height}`);
}

/** EXTERNAL_FUNDING_NOT_FOUND. */
export function externalFundingNotFound(op: OutPoint): ChandError {
  return new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `channel ${formatOutPoint(op)} has no external funding state`);
}

/** LOG_ENTRY_NOT_FOUND. */
export function logEntryNotFound(op: OutPoint, height: number): ChandError {
  return new ChandError(ErrorCode.LOG_ENTRY_NOT_FOUND, `channel ${formatOutPoint(op)} has no revocation log entry at height ${height}`);
}

// --- channels that may change --------------------------------------------------------------

/**
 * Refuses commitment changes of a borked channel (CHANNEL_BORKED) or one restored from a
 * backup shell (CHANNEL_RESTORED): their state must never be signed again.
 */
export function assertMutable(status: ChannelStatusBits, op: OutPoint): void {
  if ((status & ChannelStatus.Borked) !== 0) {
    throw new ChandError(ErrorCode.CHANNEL_BORKED, `channel ${formatOutPoint(op)} is borked: its commitments cannot change`);
  }
  if ((status & ChannelStatus.Restored) !== 0) {
    throw new ChandError(ErrorCode.CHANNEL_RESTORED, `channel ${formatOutPoint(op)} was restored from a backup: its commitments cannot change`);
  }
}

/** fetchAllOpenChannels' set: funding confirmed and no status bit (not waiting to close). */
export function isOpenChannel(c: { readonly isPending: boolean; readonly status: ChannelStatusBits }): boolean {
  return !c.isPending && c.status === ChannelStatus.Default;
}

/** fetchPendingChannels' set: funding not confirmed yet. */
export function isPendingChannel(c: { readonly isPending: boolean }): boolean {
  return c.isPending;
}

/** fetchWaitingCloseChannels' set: any status bit set (pending ones included). */
export function isWaitingClose(c: { readonly status: ChannelStatusBits }): boolean {
  return c.status !== ChannelStatus.Default;
}

/** The channel as syncPendingChannel stores it: pending, broadcast at `pendingHeight`. */
export function pendingChannelOf(channel: OpenChannel, pendingHeight: number): OpenChannel {
  return { ...channel, isPending: true, fundingBroadcastHeight: pendingHeight };
}

/** The channel as restoreChannelShells stores it: marked Restored. */
export function restoredChannelOf(channel: OpenChannel): OpenChannel {
  return { ...channel, status: channel.status | ChannelStatus.Restored };
}

/**
 * How each status method changes the stored status bits (every method returns the status
 * now stored): apply ORs bits in, clear removes them, borked and dataLoss set theirs.
 */
export const statusChange = {
  apply: (bits: ChannelStatusBits) => (old: ChannelStatusBits): ChannelStatusBits => old | bits,
  clear: (bits: ChannelStatusBits) => (old: ChannelStatusBits): ChannelStatusBits => old & ~bits,
  borked: (old: ChannelStatusBits): ChannelStatusBits => old | ChannelStatus.Borked,
  dataLoss: (old: ChannelStatusBits): ChannelStatusBits => old | ChannelStatus.LocalDataLoss,
} as const;

/** The channel type after markScidAliasNegotiated: the ScidAliasFeature bit set. */
export function withScidAliasFeature(chanType: ChannelTypeBits): ChannelTypeBits {
  return chanType | ChannelType.ScidAliasFeature;
}

/** The status after ORing in a broadcast close bit and the closer's initiator bit. */
export function broadcastStatus(status: ChannelStatusBits, bit: number, closer: 'local' | 'remote'): ChannelStatusBits {
  return status | bit | (closer === 'local' ? ChannelStatus.LocalCloseInitiator : ChannelStatus.RemoteCloseInitiator);
}

// --- commitments -----------------------------------------------------------------------------

/** What updateCommitment does with our pending updates once the new local commitment is signed. */
export interface LockIn {
  /** For each settle/fail the commitment locked in: htlcIndex → settled. */
  readonly finalized: Map<number, boolean>;
  /** Updates still not locked in (log index at or above the commitment's). */
  readonly remaining: LogUpdate[];
  /** How many updates were locked in (settles, fails and others). */
  readonly lockedIn: number;
}

/**
 * Splits our updates the remote has not signed for at the new local commitment's log
 * index: those below it are locked in (settles and fails reported, and recorded as final
 * outcomes), the rest wait for the next round.
 */
export function lockInUpdates(pending: readonly LogUpdate[], localLogIndex: number): LockIn {
  const finalized = new Map<number, boolean>();
  const remaining: LogUpdate[] = [];
  let lockedIn = 0;
  for (const update of pending) {
    if (update.logIndex >= localLogIndex) {
      remaining.push(update);
      continue;
    }
    lockedIn++;
    const resolution = htlcResolution(update);
    if (resolution !== undefined) finalized.set(resolution.htlcId, resolution.settled);
  }
  return { finalized, remaining, lockedIn };
}

/** Remote updates we acked stay unsigned-acked only until a remote commitment includes them. */
export function stillUnsignedAcked(acked: readonly LogUpdate[], remoteLogIndex: number): LogUpdate[] {
  return acked.filter((u) => u.logIndex >= remoteLogIndex);
}

/**
 * The output indexes of a remote commitment for its revocation log entry. A commitment
 * written before schema 2 may lack them (OUTPUT_INDEX_NONE then: the entry still has the
 * HTLC outputs, and a justice transaction finds the main outputs by script).
 */
export function outputIndexesOf(c: Pick<ChannelCommitment, 'localOutputIndex' | 'remoteOutputIndex'>): { ourOutputIndex: number; theirOutputIndex: number } {
  return { ourOutputIndex: c.localOutputIndex ?? OUTPUT_INDEX_NONE, theirOutputIndex: c.remoteOutputIndex ?? OUTPUT_INDEX_NONE };
}

/**
 * Refuses commitment updates with forwarding packages on a channel without a short
 * channel id: packages are keyed by it, and every pending channel has 0.
 */
export function assertHasScid(scid: ShortChannelId, op: OutPoint): void {
  if (scid === 0n) {
    throw new ChandError(ErrorCode.CHANNEL_NO_SCID, `channel ${formatOutPoint(op)} has no short channel id yet: no commitment updates before channel_ready`);
  }
}

/** RangeError unless the package's source is the channel's short channel id. */
export function assertPkgSource(pkg: FwdPkg, scid: ShortChannelId): void {
  if (pkg.source !== scid) throw new RangeError(`expected forwarding package source ${scid}, got ${pkg.source}`);
}

/**
 * The remote revocation state after the remote revealed `secret` for its current
 * commitment (height `revokedHeight`): checks that the secret's point is the stored
 * current point (REVOCATION_INVALID) and that the shachain accepts it (SHACHAIN_INVALID),
 * then shifts the points: current := next, next := `nextPoint`. Throws before anything is
 * written, so a bad revocation changes nothing. `secretToPoint` computes secret·G (the
 * store's injected one: every SecretToPoint gives the same answer and the same refusals).
 */
export function advanceRevocation(
  op: OutPoint,
  stored: RemoteRevocationState,
  revokedHeight: number,
  secret: Uint8Array,
  nextPoint: Hex,
  secretToPoint: SecretToPoint,
): RemoteRevocationState {
  if (stored.currentPoint === undefined) {
    throw new ChandError(ErrorCode.REVOCATION_INVALID, `channel ${formatOutPoint(op)} has no current remote commitment point to check a revocation against`);
  }
  if (stored.nextPoint === undefined) {
    throw new ChandError(ErrorCode.REVOCATION_INVALID, `channel ${formatOutPoint(op)} has no next remote commitment point: the remote cannot revoke before we know it`);
  }
  let point: Hex;
  try {
    point = bytesToHex(secretToPoint(secret));
  } catch (cause) {
    throw new ChandError(ErrorCode.REVOCATION_INVALID, `channel ${formatOutPoint(op)}: the revealed secret is not a valid secp256k1 scalar`, { cause });
  }
  if (point !== stored.currentPoint) {
    throw new ChandError(
      ErrorCode.REVOCATION_INVALID,
      `channel ${formatOutPoint(op)}: the revealed secret for remote commitment ${revokedHeight} does not match its per-commitment point`,
    );
  }
  // Throws SHACHAIN_INVALID (a BitcoinError, which is a ChandError) when the secret
  // contradicts earlier ones or comes out of order.
  const chain = ShachainStore.fromEntries(stored.secrets);
  chain.insert(commitmentIndex(BigInt(revokedHeight)), secret);
  return { secrets: chain.entries(), currentPoint: stored.nextPoint, nextPoint };
}

// --- forwarding packages ------------------------------------------------------------------

/** A package with bit `index` of its ack filter set, or undefined if already set (idempotent). */
export function ackAdd(pkg: Pick<FwdPkg, 'ackFilter'>, index: number): PkgFilter | undefined {
  return filterContains(pkg.ackFilter, index) ? undefined : withBit(pkg.ackFilter, index);
}

/** A package with bit `index` of its settle/fail filter set, or undefined if already set. */
export function ackSettleFail(pkg: Pick<FwdPkg, 'settleFailFilter'>, index: number): PkgFilter | undefined {
  return filterContains(pkg.settleFailFilter, index) ? undefined : withBit(pkg.settleFailFilter, index);
}

/**
 * The forwarding filter to store, or undefined to keep the stored one: the first filter
 * wins, so a setFwdFilter replayed after a restart cannot change which adds get forwarded.
 * RangeError if the filter does not have one bit per add.
 */
export function fwdFilterToSet(stored: PkgFilter | undefined, addCount: number, filter: PkgFilter): PkgFilter | undefined {
  if (filter.count !== addCount) throw new RangeError(`expected a filter of ${addCount} bits, got ${filter.count}`);
  return stored === undefined ? filter : undefined;
}

/** FWD_PKG_INCOMPLETE unless the package (by its filters) is completed. */
export function assertRemovable(pkg: Pick<FwdPkg, 'ackFilter' | 'settleFailFilter' | 'fwdFilter'>, source: ShortChannelId, height: number): void {
  if (fwdPkgState(pkg) !== FwdState.Completed) {
    throw new ChandError(ErrorCode.FWD_PKG_INCOMPLETE, `forwarding package ${source}/${height} is not completed`);
  }
}

/**
 * Whether markOpen must move the channel's forwarding packages: it had a non-zero short
 * channel id (an alias) and gets a different one.
 */
export function packagesMove(oldScid: ShortChannelId, newScid: ShortChannelId): boolean {
  return oldScid !== 0n && oldScid !== newScid;
}

// --- closes ---------------------------------------------------------------------------------

/** What a summary built by the store needs of the channel. */
export interface SummarySource {
  readonly fundingOutpoint: OutPoint;
  readonly shortChannelId: ShortChannelId;
  readonly chainHash: Hex;
  readonly identityPub: Hex;
  readonly capacitySat: bigint;
  readonly localConfig: ChannelConfig;
}

function storeBuiltSummary(
  channel: SummarySource,
  localBalanceMsat: bigint,
  revocation: RemoteRevocationState,
  bestHeight: number,
  closeType: ClosureType,
  isPending: boolean,
): ChannelCloseSummary {
  return {
    chanPoint: channel.fundingOutpoint,
    shortChannelId: channel.shortChannelId,
    chainHash: channel.chainHash,
    closingTxid: ZERO_TXID,
    remotePub: channel.identityPub,
    capacitySat: channel.capacitySat,
    closeHeight: bestHeight,
    settledBalanceSat: localBalanceMsat / 1000n,
    timeLockedBalanceSat: 0n,
    closeType,
    isPending,
    localConfig: channel.localConfig,
    ...(revocation.currentPoint === undefined ? {} : { remoteCurrentRevocation: revocation.currentPoint }),
    ...(revocation.nextPoint === undefined ? {} : { remoteNextRevocation: revocation.nextPoint }),
  };
}

/** The summary abandonChannel writes: Abandoned, our local balance as settled balance, resolved. */
export function abandonSummary(channel: SummarySource, localBalanceMsat: bigint, revocation: RemoteRevocationState, bestHeight: number): ChannelCloseSummary {
  return storeBuiltSummary(channel, localBalanceMsat, revocation, bestHeight, ClosureType.Abandoned, false);
}

/** The extra status bits abandonChannel archives the channel with. */
export const ABANDON_STATUS = ChannelStatus.LocalCloseInitiator;

/**
 * The summary cancelExternalFunding writes: FundingCanceled, still pending so the funding
 * outpoint stays watched (the user may broadcast the signed transaction anyway).
 */
export function fundingCanceledSummary(channel: SummarySource, localBalanceMsat: bigint, revocation: RemoteRevocationState, bestHeight: number): ChannelCloseSummary {
  return storeBuiltSummary(channel, localBalanceMsat, revocation, bestHeight, ClosureType.FundingCanceled, true);
}

/**
 * Refuses a close that would lose money: a FundingCanceled close of a channel whose
 * external funding was submitted (its funding transaction may confirm).
 */
export function assertCloseAllowed(op: OutPoint, summary: ChannelCloseSummary, external: ExternalFundingState | undefined): void {
  if (summary.closeType === ClosureType.FundingCanceled && external?.submitted === true) {
    throw new ChandError(ErrorCode.EXTERNAL_FUNDING_SUBMITTED, `channel ${formatOutPoint(op)}: its external funding was submitted and may confirm; it cannot be cancelled`);
  }
}

/**
 * Checks that an externally funded open may be aborted now: not submitted
 * (EXTERNAL_FUNDING_SUBMITTED) and past its deadline (EXTERNAL_FUNDING_NOT_EXPIRED).
 */
export function assertCancellable(op: OutPoint, state: ExternalFundingState, nowMs: number): void {
  if (state.submitted) {
    throw new ChandError(ErrorCode.EXTERNAL_FUNDING_SUBMITTED, `channel ${formatOutPoint(op)}: its external funding was submitted and may confirm; it cannot be cancelled`);
  }
  if (nowMs < state.deadlineMs) {
    throw new ChandError(
      ErrorCode.EXTERNAL_FUNDING_NOT_EXPIRED,
      `channel ${formatOutPoint(op)}: the external funding deadline ${new Date(state.deadlineMs).toISOString()} has not passed`,
    );
  }
}

/** True if a repeated cancelExternalFunding finds its own earlier result. */
export function isCancelledSummary(summary: ChannelCloseSummary | undefined): summary is ChannelCloseSummary {
  return summary?.closeType === ClosureType.FundingCanceled;
}

// --- external funding ---------------------------------------------------------------------

/** What submitExternalFunding does: nothing (an identical repeat) or store `state`. */
export interface SubmitDecision {
  readonly state: ExternalFundingState;
  readonly write: boolean;
}

/**
 * Decides a submit against the stored state. A repeat of the same transaction returns
 * the stored state (idempotent); a different one after submission is
 * EXTERNAL_FUNDING_CONFLICT. A first submit is verified against the unsigned PSBT (same
 * txid and outputs, every input validly signed) and the channel point, and stored as the
 * canonical serialization of the verified transaction.
 */
export function decideSubmit(op: OutPoint, state: ExternalFundingState, signedTx: Uint8Array): SubmitDecision {
  if (state.submitted) {
    if (state.signedTx !== undefined && equalBytes(state.signedTx, signedTx)) return { state, write: false };
    throw new ChandError(ErrorCode.EXTERNAL_FUNDING_CONFLICT, `channel ${formatOutPoint(op)} already has a different signed funding transaction`);
  }
  const verified = verifySignedFunding(state.unsignedPsbt, { tx: signedTx });
  if (verified.txid !== op.txid) {
    throw new ChandError(ErrorCode.PSBT_TXID_MISMATCH, `channel ${formatOutPoint(op)}: the signed funding transaction ${verified.txid} is not the channel's funding transaction`);
  }
  if (op.index >= verified.tx.outputs.length) {
    throw new ChandError(ErrorCode.PSBT_OUTPUTS_MISMATCH, `channel ${formatOutPoint(op)}: the funding transaction has no output ${op.index}`);
  }
  return { state: { ...state, submitted: true, signedTx: signedTx.slice() }, write: true };
}

// --- peers and link nodes ------------------------------------------------------------------

/** A channel as fetchPermAndTempPeers counts it. */
export interface PeerChannelRow {
  readonly peer: Hex;
  readonly isPending: boolean;
}

/** A close summary as fetchPermAndTempPeers counts it. */
export interface PeerClosedRow {
  readonly peer: Hex;
  readonly closeType: ClosureType;
}

/**
 * Per peer: whether it has an open or closed channel, and how many pending opens. A
 * canceled or abandoned funding never made the peer a channel partner, so those closes do
 * not count.
 */
export function countPermAndTempPeers(channels: Iterable<PeerChannelRow>, closed: Iterable<PeerClosedRow>): Map<Hex, ChanCount> {
  const counts = new Map<Hex, { hasOpenOrClosedChannel: boolean; pendingOpenCount: number }>();
  const entry = (peer: Hex) => {
    let c = counts.get(peer);
    if (c === undefined) counts.set(peer, (c = { hasOpenOrClosedChannel: false, pendingOpenCount: 0 }));
    return c;
  };
  for (const row of channels) {
    if (row.isPending) entry(row.peer).pendingOpenCount++;
    else entry(row.peer).hasOpenOrClosedChannel = true;
  }
  for (const row of closed) {
    if (row.closeType === ClosureType.FundingCanceled || row.closeType === ClosureType.Abandoned) continue;
    entry(row.peer).hasOpenOrClosedChannel = true;
  }
  return counts as Map<Hex, ChanCount>;
}

/**
 * countPermAndTempPeers over whole channel infos and close summaries, keeping those of
 * `chainHash`: for backends that scan records rather than filter in a query.
 */
export function permAndTempPeersOn(
  chainHash: Hex,
  channels: Iterable<{ readonly chainHash: Hex; readonly identityPub: Hex; readonly isPending: boolean }>,
  closed: Iterable<{ readonly chainHash: Hex; readonly remotePub: Hex; readonly closeType: ClosureType }>,
): Map<Hex, ChanCount> {
  const rows: PeerChannelRow[] = [];
  for (const c of channels) if (c.chainHash === chainHash) rows.push({ peer: c.identityPub, isPending: c.isPending });
  const closes: PeerClosedRow[] = [];
  for (const s of closed) if (s.chainHash === chainHash) closes.push({ peer: s.remotePub, closeType: s.closeType });
  return countPermAndTempPeers(rows, closes);
}

/** What a backend knows of a peer's channels when deciding whether its link node stays. */
export interface PeerChannelCounts {
  /** Channels not closed (pending, open, waiting to close). */
  readonly notClosed: number;
  /** Closed channels whose summary is still pending (being resolved on chain). */
  readonly pendingCloses: number;
}

/** "A link node exists iff its peer has a channel that is not fully closed." */
export function peerNeedsLinkNode(counts: PeerChannelCounts): boolean {
  return counts.notClosed > 0 || counts.pendingCloses > 0;
}

/** The link node a new channel's peer gets when it has none. */
export function newLinkNode(identityPub: Hex, chainHash: Hex, addresses: readonly string[], nowMs: number): LinkNode {
  return { network: networkOfChainHash(chainHash), identityPub, lastSeenMs: nowMs, addresses: [...new Set(addresses)] };
}

/**
 * The link node after learning `addresses` (kept in order, new ones appended, no
 * duplicates), or undefined when nothing changes (no write needed).
 */
export function withAddresses(node: LinkNode, addresses: readonly string[]): LinkNode | undefined {
  const missing = [...new Set(addresses)].filter((a) => !node.addresses.includes(a));
  return missing.length === 0 ? undefined : { ...node, addresses: [...node.addresses, ...missing] };
}

/** The link node after seeing the peer at `address` at `seenAtMs` (lastSeen never goes back). */
export function seenAt(node: LinkNode, address: string, seenAtMs: number): LinkNode {
  return {
    ...node,
    lastSeenMs: Math.max(node.lastSeenMs, seenAtMs),
    addresses: node.addresses.includes(address) ? node.addresses : [...node.addresses, address],
  };
}

/** A link node as createLinkNodes stores it: addresses without duplicates. */
export function normalizedLinkNode(node: LinkNode): LinkNode {
  return { ...node, addresses: [...new Set(node.addresses)] };
}

// --- channel key indexes ------------------------------------------------------------------

/** The channel key index a channel uses (its shachain root and every basepoint share it). */
export function keyIndexOf(channel: Pick<OpenChannel, 'revocationKeyLocator'>): number {
  return channel.revocationKeyLocator.index;
}

/** CHANNEL_KEY_INDEX_REUSED: `op` would reuse the key index of `owner`. */
export function keyIndexReused(op: OutPoint, index: number, owner: OutPoint): ChandError {
  return new ChandError(
    ErrorCode.CHANNEL_KEY_INDEX_REUSED,
    `channel ${formatOutPoint(op)} would reuse channel key index ${index} of channel ${formatOutPoint(owner)}`,
  );
}

/** The allocator's next value after a channel with key index `index` was written. */
export function counterAfter(counter: number, index: number): number {
  return Math.max(counter, index + 1);
}
