/**
 * The public edge of the channel-state store: validates every argument once (validate.ts)
 * and hands the call to a backend, which implements storage and nothing else
 * (abstract-level's public `get()` → backend `_get()` split).
 *
 * openChannelDb wraps every backend in it, so all backends accept and refuse exactly the
 * same inputs, with the same TypeError/RangeError, before any transaction starts. Domain
 * rules that need stored state (rules.ts) run inside the backends' transactions.
 */
import { formatOutPoint } from './channel-id.js';
import type { ChannelStateStore, PurgeResult, StoreCounts } from './store.js';
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
import * as v from './validate.js';
import { checked } from './validate.js';


/** A ChannelStateStore that validates arguments, then delegates to `backend`. */
export class CheckedChannelStateStore implements ChannelStateStore {
  constructor(private readonly backend: ChannelStateStore) {}

  fetchOpenChannels(nodeId: Hex): Promise<OpenChannel[]> {
    return checked(() => v.hex(nodeId, 33, 'nodeId'), () => this.backend.fetchOpenChannels(nodeId));
  }
  fetchChannel(chanPoint: OutPoint): Promise<OpenChannel> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.fetchChannel(chanPoint));
  }
  fetchChannelById(channelId: Hex): Promise<OpenChannel> {
    return checked(() => v.hex(channelId, 32, 'channelId'), () => this.backend.fetchChannelById(channelId));
  }
  fetchAllChannels(): Promise<OpenChannel[]> {
    return this.backend.fetchAllChannels();
  }
  fetchAllOpenChannels(): Promise<OpenChannel[]> {
    return this.backend.fetchAllOpenChannels();
  }
  fetchPendingChannels(): Promise<OpenChannel[]> {
    return this.backend.fetchPendingChannels();
  }
  fetchWaitingCloseChannels(): Promise<OpenChannel[]> {
    return this.backend.fetchWaitingCloseChannels();
  }
  fetchPermAndTempPeers(chainHash: Hex): Promise<Map<Hex, ChanCount>> {
    return checked(() => v.hex(chainHash, 32, 'chainHash'), () => this.backend.fetchPermAndTempPeers(chainHash));
  }
  fetchHistoricalChannel(chanPoint: OutPoint): Promise<OpenChannel> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.fetchHistoricalChannel(chanPoint));
  }

  markConfirmationHeight(chanPoint: OutPoint, height: number): Promise<void> {
    return checked(
      () => (v.outPoint(chanPoint), v.uint(height, 32, 'height')),
      () => this.backend.markConfirmationHeight(chanPoint, height),
    );
  }
  markCloseConfirmationHeight(chanPoint: OutPoint, height: number | undefined): Promise<void> {
    return checked(
      () => (v.outPoint(chanPoint), height === undefined || v.uint(height, 32, 'height')),
      () => this.backend.markCloseConfirmationHeight(chanPoint, height),
    );
  }
  markOpen(chanPoint: OutPoint, shortChannelId: ShortChannelId): Promise<void> {
    return checked(
      () => (v.outPoint(chanPoint), v.u64(shortChannelId, 'shortChannelId')),
      () => this.backend.markOpen(chanPoint, shortChannelId),
    );
  }
  markRealScid(chanPoint: OutPoint, realScid: ShortChannelId): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.u64(realScid, 'realScid')), () => this.backend.markRealScid(chanPoint, realScid));
  }
  markScidAliasNegotiated(chanPoint: OutPoint): Promise<void> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.markScidAliasNegotiated(chanPoint));
  }

  applyChannelStatus(chanPoint: OutPoint, status: ChannelStatusBits): Promise<ChannelStatusBits> {
    return checked(() => (v.outPoint(chanPoint), v.uint(status, 32, 'status')), () => this.backend.applyChannelStatus(chanPoint, status));
  }
  clearChannelStatus(chanPoint: OutPoint, status: ChannelStatusBits): Promise<ChannelStatusBits> {
    return checked(() => (v.outPoint(chanPoint), v.uint(status, 32, 'status')), () => this.backend.clearChannelStatus(chanPoint, status));
  }
  markDataLoss(chanPoint: OutPoint, commitPoint: Hex): Promise<ChannelStatusBits> {
    return checked(() => (v.outPoint(chanPoint), v.hex(commitPoint, 33, 'commitPoint')), () => this.backend.markDataLoss(chanPoint, commitPoint));
  }
  fetchDataLossCommitPoint(chanPoint: OutPoint): Promise<Hex> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.fetchDataLossCommitPoint(chanPoint));
  }
  markBorked(chanPoint: OutPoint): Promise<ChannelStatusBits> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.markBorked(chanPoint));
  }

  storeShutdownInfo(chanPoint: OutPoint, info: ShutdownInfo): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.shutdownInfo(info)), () => this.backend.storeShutdownInfo(chanPoint, info));
  }
  fetchShutdownInfo(chanPoint: OutPoint): Promise<ShutdownInfo | undefined> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.fetchShutdownInfo(chanPoint));
  }

  markCommitmentBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty): Promise<void> {
    return checked(
      () => (v.outPoint(chanPoint), v.bytes(closeTx, 'closeTx', 1), v.party(closer, 'closer')),
      () => this.backend.markCommitmentBroadcasted(chanPoint, closeTx, closer),
    );
  }
  markCoopBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty): Promise<void> {
    return checked(
      () => (v.outPoint(chanPoint), v.bytes(closeTx, 'closeTx', 1), v.party(closer, 'closer')),
      () => this.backend.markCoopBroadcasted(chanPoint, closeTx, closer),
    );
  }
  fetchBroadcastedCommitment(chanPoint: OutPoint): Promise<Uint8Array> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.fetchBroadcastedCommitment(chanPoint));
  }
  fetchBroadcastedCooperative(chanPoint: OutPoint): Promise<Uint8Array> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.fetchBroadcastedCooperative(chanPoint));
  }

  updateCommitment(chanPoint: OutPoint, newCommitment: ChannelCommitment, unsignedAckedUpdates: readonly LogUpdate[]): Promise<Map<number, boolean>> {
    return checked(
      () => (v.outPoint(chanPoint), v.commitment(newCommitment, 'newCommitment', false), v.logUpdates(unsignedAckedUpdates, 'unsignedAckedUpdates')),
      () => this.backend.updateCommitment(chanPoint, newCommitment, unsignedAckedUpdates),
    );
  }
  appendRemoteCommitChain(chanPoint: OutPoint, diff: CommitDiff): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.commitDiff(diff)), () => this.backend.appendRemoteCommitChain(chanPoint, diff));
  }
  remoteCommitChainTip(chanPoint: OutPoint): Promise<CommitDiff> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.remoteCommitChainTip(chanPoint));
  }
  unsignedAckedUpdates(chanPoint: OutPoint): Promise<LogUpdate[]> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.unsignedAckedUpdates(chanPoint));
  }
  remoteUnsignedLocalUpdates(chanPoint: OutPoint): Promise<LogUpdate[]> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.remoteUnsignedLocalUpdates(chanPoint));
  }
  insertNextRevocation(chanPoint: OutPoint, nextPoint: Hex): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.hex(nextPoint, 33, 'nextPoint')), () => this.backend.insertNextRevocation(chanPoint, nextPoint));
  }
  advanceCommitChainTail(chanPoint: OutPoint, args: AdvanceTailArgs): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.advanceArgs(args)), () => this.backend.advanceCommitChainTail(chanPoint, args));
  }
  commitmentHeight(chanPoint: OutPoint): Promise<number> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.commitmentHeight(chanPoint));
  }
  latestCommitments(chanPoint: OutPoint): Promise<{ local: ChannelCommitment; remote: ChannelCommitment }> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.latestCommitments(chanPoint));
  }
  remoteRevocationStore(chanPoint: OutPoint): Promise<RemoteRevocationState> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.remoteRevocationStore(chanPoint));
  }
  revocationLogTailHeight(chanPoint: OutPoint): Promise<number | undefined> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.revocationLogTailHeight(chanPoint));
  }
  findPreviousState(chanPoint: OutPoint, commitHeight: number): Promise<RevocationLogEntry> {
    return checked(
      () => (v.outPoint(chanPoint), v.uint(commitHeight, 48, 'commitHeight')),
      () => this.backend.findPreviousState(chanPoint, commitHeight),
    );
  }
  fetchRevocationLog(chanPoint: OutPoint, from: number, limit: number): Promise<RevocationLogEntry[]> {
    return checked(
      () => (v.outPoint(chanPoint), v.uint(from, 48, 'from'), v.uint(limit, 53, 'limit')),
      () => this.backend.fetchRevocationLog(chanPoint, from, limit),
    );
  }

  loadFwdPkgs(chanPoint: OutPoint): Promise<FwdPkg[]> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.loadFwdPkgs(chanPoint));
  }
  ackAddHtlcs(chanPoint: OutPoint, refs: readonly AddRef[]): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.addRefs(refs)), () => this.backend.ackAddHtlcs(chanPoint, refs));
  }
  ackSettleFails(refs: readonly SettleFailRef[]): Promise<void> {
    return checked(() => v.settleFailRefs(refs), () => this.backend.ackSettleFails(refs));
  }
  setFwdFilter(chanPoint: OutPoint, height: number, filter: PkgFilter): Promise<void> {
    return checked(
      () => (v.outPoint(chanPoint), v.uint(height, 53, 'height'), v.pkgFilter(filter, 'filter')),
      () => this.backend.setFwdFilter(chanPoint, height, filter),
    );
  }
  removeFwdPkgs(chanPoint: OutPoint, heights: readonly number[]): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.heights(heights)), () => this.backend.removeFwdPkgs(chanPoint, heights));
  }

  fetchClosedChannels(pendingOnly: boolean): Promise<ChannelCloseSummary[]> {
    return checked(() => v.bool(pendingOnly, 'pendingOnly'), () => this.backend.fetchClosedChannels(pendingOnly));
  }
  fetchClosedChannel(chanPoint: OutPoint): Promise<ChannelCloseSummary> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.fetchClosedChannel(chanPoint));
  }
  fetchClosedChannelById(channelId: Hex): Promise<ChannelCloseSummary> {
    return checked(() => v.hex(channelId, 32, 'channelId'), () => this.backend.fetchClosedChannelById(channelId));
  }
  closeChannel(chanPoint: OutPoint, summary: ChannelCloseSummary, extraStatus: ChannelStatusBits = 0): Promise<void> {
    return checked(
      () => {
        v.outPoint(chanPoint);
        v.closeSummary(summary);
        v.uint(extraStatus, 32, 'extraStatus');
        if (summary.chanPoint.txid !== chanPoint.txid || summary.chanPoint.index !== chanPoint.index) {
          throw new RangeError(`expected the summary of ${formatOutPoint(chanPoint)}, got one of ${formatOutPoint(summary.chanPoint)}`);
        }
      },
      () => this.backend.closeChannel(chanPoint, summary, extraStatus),
    );
  }
  abandonChannel(chanPoint: OutPoint, bestHeight: number): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.uint(bestHeight, 32, 'bestHeight')), () => this.backend.abandonChannel(chanPoint, bestHeight));
  }

  lookupFinalHtlc(channel: ShortChannelId, htlcIndex: number): Promise<FinalHtlcInfo> {
    return checked(() => (v.u64(channel, 'channel'), v.uint(htlcIndex, 53, 'htlcIndex')), () => this.backend.lookupFinalHtlc(channel, htlcIndex));
  }
  putOnchainFinalHtlcOutcome(channel: ShortChannelId, htlcIndex: number, settled: boolean): Promise<void> {
    return checked(
      () => (v.u64(channel, 'channel'), v.uint(htlcIndex, 53, 'htlcIndex'), v.bool(settled, 'settled')),
      () => this.backend.putOnchainFinalHtlcOutcome(channel, htlcIndex, settled),
    );
  }

  saveChannelOpeningState(chanPoint: OutPoint, state: ChannelOpeningState): Promise<void> {
    return checked(() => (v.outPoint(chanPoint), v.openingState(state)), () => this.backend.saveChannelOpeningState(chanPoint, state));
  }
  getChannelOpeningState(chanPoint: OutPoint): Promise<ChannelOpeningState> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.getChannelOpeningState(chanPoint));
  }
  deleteChannelOpeningState(chanPoint: OutPoint): Promise<void> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.deleteChannelOpeningState(chanPoint));
  }
  saveInitialForwardingPolicy(channelId: Hex, policy: ForwardingPolicy): Promise<void> {
    return checked(() => (v.hex(channelId, 32, 'channelId'), v.forwardingPolicy(policy)), () => this.backend.saveInitialForwardingPolicy(channelId, policy));
  }
  getInitialForwardingPolicy(channelId: Hex): Promise<ForwardingPolicy> {
    return checked(() => v.hex(channelId, 32, 'channelId'), () => this.backend.getInitialForwardingPolicy(channelId));
  }
  deleteInitialForwardingPolicy(channelId: Hex): Promise<void> {
    return checked(() => v.hex(channelId, 32, 'channelId'), () => this.backend.deleteInitialForwardingPolicy(channelId));
  }

  fetchExternalFunding(chanPoint: OutPoint): Promise<ExternalFundingState> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.fetchExternalFunding(chanPoint));
  }
  fetchAllExternalFundings(): Promise<Array<{ chanPoint: OutPoint; state: ExternalFundingState }>> {
    return this.backend.fetchAllExternalFundings();
  }
  submitExternalFunding(chanPoint: OutPoint, signedTx: Uint8Array): Promise<ExternalFundingState> {
    return checked(() => (v.outPoint(chanPoint), v.bytes(signedTx, 'signedTx', 1)), () => this.backend.submitExternalFunding(chanPoint, signedTx));
  }
  cancelExternalFunding(chanPoint: OutPoint, nowMs: number, bestHeight: number): Promise<ChannelCloseSummary> {
    return checked(
      () => (v.outPoint(chanPoint), v.timeMs(nowMs, 'nowMs'), v.uint(bestHeight, 32, 'bestHeight')),
      () => this.backend.cancelExternalFunding(chanPoint, nowMs, bestHeight),
    );
  }

  nextChannelKeyIndex(): Promise<number> {
    return this.backend.nextChannelKeyIndex();
  }

  purgeClosedChannels(maxRecords: number): Promise<PurgeResult> {
    return checked(() => v.batchSize(maxRecords), () => this.backend.purgeClosedChannels(maxRecords));
  }
  counts(): Promise<StoreCounts> {
    return this.backend.counts();
  }
}
