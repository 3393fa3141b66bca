/**
 * The KV implementation of the channel-state Store.
 *
 * Each method is one engine transaction (see keys.ts for the layout). Reads assemble
 * channels from their parts; writes touch only the keys that change, so the payment hot
 * path never rewrites the channel's info record.
 *
 * Close is a tombstone: closeChannel archives the channel and removes it from the open set
 * in one short transaction, and queues its bulk data (revocation log, commitments,
 * forwarding packages) for purgeClosedChannels, which deletes it in bounded batches.
 */
import { assertHex, assertOutPoint, channelIdOf, formatOutPoint, outPointFromKey } from '../chanstate/channel-id.js';
import { htlcResolution } from '../chanstate/log-update.js';
import { filterContains, fwdPkgState, withBit } from '../chanstate/pkg-filter.js';
import {
  archivedChannelRecord,
  closeSummaryRecord,
  commitDiffRecord,
  commitmentRecord,
  externalFundingRecord,
  forwardingPolicyRecord,
  fwdPkgRecord,
  openingStateRecord,
  remoteRevocationRecord,
  revocationLogRecord,
  shutdownInfoRecord,
  type ChannelInfo,
} from '../chanstate/records.js';
import { revocationLogEntryOf } from '../chanstate/revocation-log.js';
import type { ChannelStateStore, PurgeResult, StoreCounts } from '../chanstate/store.js';
import {
  ChannelStatus,
  ClosureType,
  type AddRef,
  type AdvanceTailArgs,
  type ChanCount,
  type ChannelCloseSummary,
  type ChannelCommitment,
  type ChannelOpeningState,
  type ChannelParty,
  type ChannelStatusBits,
  type CommitDiff,
  type ExternalFundingState,
  type FinalHtlcInfo,
  type ForwardingPolicy,
  type FwdPkg,
  type Hex,
  type LogUpdate,
  type OpenChannel,
  type OutPoint,
  type PkgFilter,
  type RemoteRevocationState,
  type RevocationLogEntry,
  type SettleFailRef,
  type ShortChannelId,
  type ShutdownInfo,
} from '../chanstate/types.js';
import { equalBytes, hexToBytes, bytesToHex } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import {
  allInfos,
  archive,
  assemble,
  channelsOfPeer,
  LOCAL,
  notFound,
  readChannel,
  readClosedSummary,
  readCommitment,
  readInfo,
  readUpdates,
  REMOTE,
  removeFromOpenSet,
  requireInfo,
  requireMutable,
  writeClosedSummary,
  writeInfo,
  writeUpdates,
} from './chanstate-tx.js';
import type { KvEngine, KvReadTx, KvWriteTx } from './engine.js';
import {
  CHANNEL_ID_INDEX,
  CLOSE_TX,
  CLOSED_SUMMARY,
  COMMIT_DIFF,
  COMMITMENT,
  DATA_LOSS_POINT,
  EXTERNAL_FUNDING,
  FINAL_HTLCS,
  FWD_PACKAGES,
  HISTORICAL,
  INITIAL_FWD_POLICY,
  LAST_WAS_REVOKE,
  OPENING_STATE,
  PER_CHANNEL_BUCKETS,
  PURGE_QUEUE,
  REMOTE_UNSIGNED_LOCAL_UPDATES,
  REVOCATION_LOG,
  REVOCATION_STATE,
  SHUTDOWN_INFO,
  UNSIGNED_ACKED_UPDATES,
  byteKey,
  key,
  keys,
  prefixRange,
  readU64Key,
  u64Key,
} from './keys.js';

/** Options of the KV channel-state store. */
export interface KvChannelStateOptions {
  /** Keep both balances in revocation log entries (needed by watchtowers). Default true. */
  readonly revocationLogBalances?: boolean;
  /** Record off-chain final HTLC outcomes (lookupFinalHtlc). Default true. */
  readonly storeFinalHtlcResolutions?: boolean;
}

const COMMIT_TX_KIND = byteKey(0);
const COOP_TX_KIND = byteKey(1);
const ZERO_TXID = '0'.repeat(64);

function closedNotFound(what: string): ChandError {
  return new ChandError(ErrorCode.CLOSED_CHANNEL_NOT_FOUND, `no closed channel ${what}`);
}

function decodeEntry(height: number, bytes: Uint8Array): RevocationLogEntry {
  const stored = revocationLogRecord.decode(bytes);
  return { ...stored, commitHeight: height, htlcs: stored.htlcs ?? [] };
}

function encodeEntry(entry: RevocationLogEntry): Uint8Array {
  const { commitHeight: _h, htlcs, ...rest } = entry;
  return revocationLogRecord.encode(htlcs.length === 0 ? rest : { ...rest, htlcs });
}

/** Channel-state store over a KvEngine. */
export class KvChannelStateStore implements ChannelStateStore {
  private readonly engine: KvEngine;
  private readonly balances: boolean;
  private readonly finalHtlcs: boolean;

  constructor(engine: KvEngine, options: KvChannelStateOptions = {}) {
    this.engine = engine;
    this.balances = options.revocationLogBalances ?? true;
    this.finalHtlcs = options.storeFinalHtlcResolutions ?? true;
  }

  private read<T>(fn: (tx: KvReadTx) => T): Promise<T> {
    return this.engine.read(fn);
  }

  private update<T>(fn: (tx: KvWriteTx) => T): Promise<T> {
    return this.engine.update(fn);
  }

  /** Rewrites the info record of an open channel with `change` applied. */
  private changeInfo(op: OutPoint, change: (info: ChannelInfo) => ChannelInfo): Promise<ChannelInfo> {
    assertOutPoint(op);
    return this.update((tx) => {
      const next = change(requireInfo(tx, op));
      writeInfo(tx, next);
      return next;
    });
  }

  // --- open channel reads -------------------------------------------------------------

  fetchOpenChannels(nodeId: Hex): Promise<OpenChannel[]> {
    assertHex(nodeId, 33, 'nodeId');
    return this.read((tx) => channelsOfPeer(tx, nodeId).map((op) => readChannel(tx, op)));
  }

  fetchChannel(chanPoint: OutPoint): Promise<OpenChannel> {
    assertOutPoint(chanPoint);
    return this.read((tx) => readChannel(tx, chanPoint));
  }

  fetchChannelById(channelId: Hex): Promise<OpenChannel> {
    assertHex(channelId, 32, 'channelId');
    return this.read((tx) => {
      const opKey = tx.get(key(CHANNEL_ID_INDEX, hexToBytes(channelId)));
      const info = opKey === undefined ? undefined : readInfo(tx, outPointFromKey(opKey));
      if (info === undefined) throw new ChandError(ErrorCode.CHANNEL_NOT_FOUND, `channel with id ${channelId} not found`);
      return assemble(tx, info);
    });
  }

  private fetchWhere(filter: (info: ChannelInfo) => boolean): Promise<OpenChannel[]> {
    return this.read((tx) => allInfos(tx).filter(filter).map((info) => assemble(tx, info)));
  }

  fetchAllChannels(): Promise<OpenChannel[]> {
    return this.fetchWhere(() => true);
  }

  fetchAllOpenChannels(): Promise<OpenChannel[]> {
    return this.fetchWhere((info) => !info.isPending && info.status === ChannelStatus.Default);
  }

  fetchPendingChannels(): Promise<OpenChannel[]> {
    return this.fetchWhere((info) => info.isPending);
  }

  fetchWaitingCloseChannels(): Promise<OpenChannel[]> {
    return this.fetchWhere((info) => info.status !== ChannelStatus.Default);
  }

  fetchPermAndTempPeers(chainHash: Hex): Promise<Map<Hex, ChanCount>> {
    assertHex(chainHash, 32, 'chainHash');
    return this.read((tx) => {
      const counts = new Map<Hex, { hasOpenOrClosedChannel: boolean; pendingOpenCount: number }>();
      const entry = (peer: Hex) => {
        let c = counts.get(peer);
        if (c === undefined) counts.set(peer, (c = { hasOpenOrClosedChannel: false, pendingOpenCount: 0 }));
        return c;
      };
      for (const info of allInfos(tx)) {
        if (info.chainHash !== chainHash) continue;
        if (info.isPending) entry(info.identityPub).pendingOpenCount++;
        else entry(info.identityPub).hasOpenOrClosedChannel = true;
      }
      for (const summary of this.closedSummaries(tx)) {
        // A canceled or abandoned funding never made the peer a channel partner.
        if (summary.chainHash !== chainHash) continue;
        if (summary.closeType === ClosureType.FundingCanceled || summary.closeType === ClosureType.Abandoned) continue;
        entry(summary.remotePub).hasOpenOrClosedChannel = true;
      }
      return counts as Map<Hex, ChanCount>;
    });
  }

  // --- historical ---------------------------------------------------------------------

  fetchHistoricalChannel(chanPoint: OutPoint): Promise<OpenChannel> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      const bytes = tx.get(keys.chan(HISTORICAL, chanPoint));
      if (bytes === undefined) {
        throw new ChandError(ErrorCode.HISTORICAL_CHANNEL_NOT_FOUND, `no historical record of channel ${formatOutPoint(chanPoint)}`);
      }
      const archived = archivedChannelRecord.decode(bytes);
      return {
        ...archived.info,
        localCommitment: archived.localCommitment,
        remoteCommitment: archived.remoteCommitment,
        remoteRevocation: archived.remoteRevocation,
        lastWasRevoke: archived.lastWasRevoke,
      };
    });
  }

  // --- lifecycle ----------------------------------------------------------------------

  async markConfirmationHeight(chanPoint: OutPoint, height: number): Promise<void> {
    await this.changeInfo(chanPoint, (info) => ({ ...info, confirmationHeight: height }));
  }

  async markCloseConfirmationHeight(chanPoint: OutPoint, height: number | undefined): Promise<void> {
    await this.changeInfo(chanPoint, ({ closeConfirmationHeight: _old, ...info }) =>
      height === undefined ? info : { ...info, closeConfirmationHeight: height },
    );
  }

  async markOpen(chanPoint: OutPoint, shortChannelId: ShortChannelId): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => {
      const info = requireInfo(tx, chanPoint);
      writeInfo(tx, { ...info, isPending: false, shortChannelId });
      // The external funding flow ends here: cleared in the same transaction.
      tx.delete(keys.chan(EXTERNAL_FUNDING, chanPoint));
    });
  }

  async markRealScid(chanPoint: OutPoint, realScid: ShortChannelId): Promise<void> {
    await this.changeInfo(chanPoint, (info) => ({ ...info, realScid }));
  }

  async markScidAliasNegotiated(chanPoint: OutPoint): Promise<void> {
    await this.changeInfo(chanPoint, (info) => ({ ...info, chanType: info.chanType | (1 << 9) }));
  }

  // --- status -------------------------------------------------------------------------

  async applyChannelStatus(chanPoint: OutPoint, status: ChannelStatusBits): Promise<ChannelStatusBits> {
    return (await this.changeInfo(chanPoint, (info) => ({ ...info, status: info.status | status }))).status;
  }

  async clearChannelStatus(chanPoint: OutPoint, status: ChannelStatusBits): Promise<ChannelStatusBits> {
    return (await this.changeInfo(chanPoint, (info) => ({ ...info, status: info.status & ~status }))).status;
  }

  async markDataLoss(chanPoint: OutPoint, commitPoint: Hex): Promise<ChannelStatusBits> {
    assertOutPoint(chanPoint);
    assertHex(commitPoint, 33, 'commitPoint');
    return this.update((tx) => {
      const info = requireInfo(tx, chanPoint);
      const status = info.status | ChannelStatus.LocalDataLoss;
      writeInfo(tx, { ...info, status });
      tx.put(keys.chan(DATA_LOSS_POINT, chanPoint), hexToBytes(commitPoint));
      return status;
    });
  }

  fetchDataLossCommitPoint(chanPoint: OutPoint): Promise<Hex> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      requireInfo(tx, chanPoint);
      const point = tx.get(keys.chan(DATA_LOSS_POINT, chanPoint));
      if (point === undefined) throw new ChandError(ErrorCode.NO_COMMIT_POINT, `channel ${formatOutPoint(chanPoint)} has no data-loss commit point`);
      return bytesToHex(point);
    });
  }

  markBorked(chanPoint: OutPoint): Promise<ChannelStatusBits> {
    return this.applyChannelStatus(chanPoint, ChannelStatus.Borked);
  }

  // --- shutdown -----------------------------------------------------------------------

  async storeShutdownInfo(chanPoint: OutPoint, info: ShutdownInfo): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => {
      requireInfo(tx, chanPoint);
      tx.put(keys.chan(SHUTDOWN_INFO, chanPoint), shutdownInfoRecord.encode(info));
    });
  }

  fetchShutdownInfo(chanPoint: OutPoint): Promise<ShutdownInfo | undefined> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      requireInfo(tx, chanPoint);
      const bytes = tx.get(keys.chan(SHUTDOWN_INFO, chanPoint));
      return bytes === undefined ? undefined : shutdownInfoRecord.decode(bytes);
    });
  }

  // --- close transactions -------------------------------------------------------------

  private async markBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty, kind: Uint8Array, bit: number): Promise<void> {
    assertOutPoint(chanPoint);
    if (!(closeTx instanceof Uint8Array) || closeTx.length === 0) throw new TypeError('expected a non-empty close transaction');
    await this.update((tx) => {
      const info = requireInfo(tx, chanPoint);
      const initiator = closer === 'local' ? ChannelStatus.LocalCloseInitiator : ChannelStatus.RemoteCloseInitiator;
      writeInfo(tx, { ...info, status: info.status | bit | initiator });
      tx.put(keys.chan(CLOSE_TX, chanPoint, kind), closeTx);
    });
  }

  markCommitmentBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty): Promise<void> {
    return this.markBroadcasted(chanPoint, closeTx, closer, COMMIT_TX_KIND, ChannelStatus.CommitBroadcasted);
  }

  markCoopBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty): Promise<void> {
    return this.markBroadcasted(chanPoint, closeTx, closer, COOP_TX_KIND, ChannelStatus.CoopBroadcasted);
  }

  private fetchCloseTx(chanPoint: OutPoint, kind: Uint8Array, what: string): Promise<Uint8Array> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      requireInfo(tx, chanPoint);
      const bytes = tx.get(keys.chan(CLOSE_TX, chanPoint, kind));
      if (bytes === undefined) throw new ChandError(ErrorCode.NO_CLOSE_TX, `channel ${formatOutPoint(chanPoint)} has no broadcast ${what} transaction`);
      return bytes.slice();
    });
  }

  fetchBroadcastedCommitment(chanPoint: OutPoint): Promise<Uint8Array> {
    return this.fetchCloseTx(chanPoint, COMMIT_TX_KIND, 'commitment');
  }

  fetchBroadcastedCooperative(chanPoint: OutPoint): Promise<Uint8Array> {
    return this.fetchCloseTx(chanPoint, COOP_TX_KIND, 'cooperative close');
  }

  // --- commitments --------------------------------------------------------------------

  updateCommitment(chanPoint: OutPoint, newCommitment: ChannelCommitment, unsignedAckedUpdates: readonly LogUpdate[]): Promise<Map<number, boolean>> {
    assertOutPoint(chanPoint);
    return this.update((tx) => {
      const info = requireMutable(tx, chanPoint);
      tx.put(keys.chan(COMMITMENT, chanPoint, LOCAL), commitmentRecord.encode(newCommitment));
      writeUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint, unsignedAckedUpdates);
      tx.put(keys.chan(LAST_WAS_REVOKE, chanPoint), Uint8Array.of(1));

      // Our settles/fails below the new local log index are now locked in: report them
      // (and record their final outcome), keep the rest for the next round.
      const finalized = new Map<number, boolean>();
      const remaining: LogUpdate[] = [];
      for (const update of readUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint)) {
        if (update.logIndex >= newCommitment.localLogIndex) {
          remaining.push(update);
          continue;
        }
        const resolution = htlcResolution(update);
        if (resolution === undefined) continue;
        finalized.set(resolution.htlcId, resolution.settled);
        if (this.finalHtlcs) {
          tx.put(keys.scid(FINAL_HTLCS, info.shortChannelId, u64Key(resolution.htlcId)), Uint8Array.of((resolution.settled ? 1 : 0) | 2));
        }
      }
      writeUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint, remaining);
      return finalized;
    });
  }

  async appendRemoteCommitChain(chanPoint: OutPoint, diff: CommitDiff): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => {
      const info = requireMutable(tx, chanPoint);
      if (diff.addAcks !== undefined && diff.addAcks.length > 0) this.ackAdds(tx, info.shortChannelId, diff.addAcks);
      if (diff.settleFailAcks !== undefined && diff.settleFailAcks.length > 0) this.ackSettleFailsTx(tx, diff.settleFailAcks);
      tx.put(keys.chan(LAST_WAS_REVOKE, chanPoint), Uint8Array.of(0));
      const { addAcks: _a, settleFailAcks: _s, ...stored } = diff;
      tx.put(keys.chan(COMMIT_DIFF, chanPoint), commitDiffRecord.encode(stored));
    });
  }

  remoteCommitChainTip(chanPoint: OutPoint): Promise<CommitDiff> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      requireInfo(tx, chanPoint);
      const bytes = tx.get(keys.chan(COMMIT_DIFF, chanPoint));
      if (bytes === undefined) throw new ChandError(ErrorCode.NO_PENDING_COMMIT, `channel ${formatOutPoint(chanPoint)} has no pending remote commitment`);
      return commitDiffRecord.decode(bytes);
    });
  }

  unsignedAckedUpdates(chanPoint: OutPoint): Promise<LogUpdate[]> {
    assertOutPoint(chanPoint);
    return this.read((tx) => (requireInfo(tx, chanPoint), readUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint)));
  }

  remoteUnsignedLocalUpdates(chanPoint: OutPoint): Promise<LogUpdate[]> {
    assertOutPoint(chanPoint);
    return this.read((tx) => (requireInfo(tx, chanPoint), readUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint)));
  }

  async insertNextRevocation(chanPoint: OutPoint, nextPoint: Hex): Promise<void> {
    assertOutPoint(chanPoint);
    assertHex(nextPoint, 33, 'nextPoint');
    await this.update((tx) => {
      requireInfo(tx, chanPoint);
      const current = this.revocationState(tx, chanPoint);
      tx.put(keys.chan(REVOCATION_STATE, chanPoint), remoteRevocationRecord.encode({ ...current, nextPoint }));
    });
  }

  async advanceCommitChainTail(chanPoint: OutPoint, args: AdvanceTailArgs): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => {
      const info = requireMutable(tx, chanPoint);
      const tipBytes = tx.get(keys.chan(COMMIT_DIFF, chanPoint));
      if (tipBytes === undefined) throw new ChandError(ErrorCode.NO_PENDING_COMMIT, `channel ${formatOutPoint(chanPoint)} has no pending remote commitment to advance to`);
      const tip = commitDiffRecord.decode(tipBytes);
      const revoked = readCommitment(tx, chanPoint, REMOTE);

      const entry = revocationLogEntryOf(revoked, args.ourOutputIndex, args.theirOutputIndex, this.balances);
      tx.put(keys.chan(REVOCATION_LOG, chanPoint, u64Key(revoked.commitHeight)), encodeEntry(entry));
      tx.put(keys.chan(COMMITMENT, chanPoint, REMOTE), commitmentRecord.encode(tip.commitment));
      tx.delete(keys.chan(COMMIT_DIFF, chanPoint));
      tx.put(keys.chan(REVOCATION_STATE, chanPoint), remoteRevocationRecord.encode(args.revocation));
      this.putFwdPkg(tx, info, args.fwdPkg);

      // Remote updates we acked stay unsigned-acked only until the new remote commitment
      // includes them.
      const acked = readUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint).filter((u) => u.logIndex >= tip.commitment.remoteLogIndex);
      writeUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint, acked);
      writeUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint, args.remoteUnsignedLocalUpdates);
    });
  }

  commitmentHeight(chanPoint: OutPoint): Promise<number> {
    assertOutPoint(chanPoint);
    return this.read((tx) => (requireInfo(tx, chanPoint), readCommitment(tx, chanPoint, LOCAL).commitHeight));
  }

  latestCommitments(chanPoint: OutPoint): Promise<{ local: ChannelCommitment; remote: ChannelCommitment }> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      requireInfo(tx, chanPoint);
      return { local: readCommitment(tx, chanPoint, LOCAL), remote: readCommitment(tx, chanPoint, REMOTE) };
    });
  }

  private revocationState(tx: KvReadTx, op: OutPoint): RemoteRevocationState {
    const bytes = tx.get(keys.chan(REVOCATION_STATE, op));
    return bytes === undefined ? { secrets: [] } : remoteRevocationRecord.decode(bytes);
  }

  remoteRevocationStore(chanPoint: OutPoint): Promise<RemoteRevocationState> {
    assertOutPoint(chanPoint);
    return this.read((tx) => (requireInfo(tx, chanPoint), this.revocationState(tx, chanPoint)));
  }

  revocationLogTailHeight(chanPoint: OutPoint): Promise<number | undefined> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      requireInfo(tx, chanPoint);
      const prefix = keys.chan(REVOCATION_LOG, chanPoint);
      for (const [k] of tx.range({ ...prefixRange(prefix), reverse: true, limit: 1 })) return Number(readU64Key(k, prefix.length));
      return undefined;
    });
  }

  findPreviousState(chanPoint: OutPoint, commitHeight: number): Promise<RevocationLogEntry> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      requireInfo(tx, chanPoint);
      const bytes = tx.get(keys.chan(REVOCATION_LOG, chanPoint, u64Key(commitHeight)));
      if (bytes === undefined) {
        throw new ChandError(ErrorCode.LOG_ENTRY_NOT_FOUND, `channel ${formatOutPoint(chanPoint)} has no revocation log entry at height ${commitHeight}`);
      }
      return decodeEntry(commitHeight, bytes);
    });
  }

  fetchRevocationLog(chanPoint: OutPoint, from: number, limit: number): Promise<RevocationLogEntry[]> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      requireInfo(tx, chanPoint);
      const prefix = keys.chan(REVOCATION_LOG, chanPoint);
      const out: RevocationLogEntry[] = [];
      for (const [k, v] of tx.range({ start: keys.chan(REVOCATION_LOG, chanPoint, u64Key(from)), end: prefixRange(prefix).end, limit })) {
        out.push(decodeEntry(Number(readU64Key(k, prefix.length)), v));
      }
      return out;
    });
  }

  // --- forwarding packages ------------------------------------------------------------

  private putFwdPkg(tx: KvWriteTx, info: Pick<ChannelInfo, 'shortChannelId'>, pkg: FwdPkg): void {
    if (pkg.source !== info.shortChannelId) {
      throw new RangeError(`expected forwarding package source ${info.shortChannelId}, got ${pkg.source}`);
    }
    tx.put(keys.scid(FWD_PACKAGES, pkg.source, u64Key(pkg.height)), fwdPkgRecord.encode({ ...pkg, state: fwdPkgState(pkg) }));
  }

  private getFwdPkg(tx: KvReadTx, source: ShortChannelId, height: number): FwdPkg | undefined {
    const bytes = tx.get(keys.scid(FWD_PACKAGES, source, u64Key(height)));
    return bytes === undefined ? undefined : fwdPkgRecord.decode(bytes);
  }

  private saveFwdPkg(tx: KvWriteTx, pkg: FwdPkg): void {
    tx.put(keys.scid(FWD_PACKAGES, pkg.source, u64Key(pkg.height)), fwdPkgRecord.encode({ ...pkg, state: fwdPkgState(pkg) }));
  }

  loadFwdPkgs(chanPoint: OutPoint): Promise<FwdPkg[]> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      const info = requireInfo(tx, chanPoint);
      const out: FwdPkg[] = [];
      for (const [, v] of tx.range(prefixRange(keys.scid(FWD_PACKAGES, info.shortChannelId)))) out.push(fwdPkgRecord.decode(v));
      return out;
    });
  }

  /** Sets ack bits; packages already removed are skipped (their adds were all acked). */
  private ackAdds(tx: KvWriteTx, source: ShortChannelId, refs: readonly AddRef[]): void {
    for (const ref of refs) {
      const pkg = this.getFwdPkg(tx, source, ref.height);
      if (pkg === undefined || filterContains(pkg.ackFilter, ref.index)) continue;
      this.saveFwdPkg(tx, { ...pkg, ackFilter: withBit(pkg.ackFilter, ref.index) });
    }
  }

  private ackSettleFailsTx(tx: KvWriteTx, refs: readonly SettleFailRef[]): void {
    for (const ref of refs) {
      const pkg = this.getFwdPkg(tx, ref.source, ref.height);
      if (pkg === undefined || filterContains(pkg.settleFailFilter, ref.index)) continue;
      this.saveFwdPkg(tx, { ...pkg, settleFailFilter: withBit(pkg.settleFailFilter, ref.index) });
    }
  }

  async ackAddHtlcs(chanPoint: OutPoint, refs: readonly AddRef[]): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => this.ackAdds(tx, requireInfo(tx, chanPoint).shortChannelId, refs));
  }

  async ackSettleFails(refs: readonly SettleFailRef[]): Promise<void> {
    await this.update((tx) => this.ackSettleFailsTx(tx, refs));
  }

  async setFwdFilter(chanPoint: OutPoint, height: number, filter: PkgFilter): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => {
      const info = requireInfo(tx, chanPoint);
      const pkg = this.getFwdPkg(tx, info.shortChannelId, height);
      if (pkg === undefined) {
        throw new ChandError(ErrorCode.FWD_PKG_NOT_FOUND, `channel ${formatOutPoint(chanPoint)} has no forwarding package at height ${height}`);
      }
      if (filter.count !== pkg.adds.length) throw new RangeError(`expected a filter of ${pkg.adds.length} bits, got ${filter.count}`);
      // The first filter wins: a replayed setFwdFilter after a restart must not change
      // which adds get forwarded.
      if (pkg.fwdFilter !== undefined) return;
      this.saveFwdPkg(tx, { ...pkg, fwdFilter: filter });
    });
  }

  async removeFwdPkgs(chanPoint: OutPoint, heights: readonly number[]): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => {
      const info = requireInfo(tx, chanPoint);
      for (const height of heights) {
        const pkg = this.getFwdPkg(tx, info.shortChannelId, height);
        if (pkg === undefined) continue;
        if (fwdPkgState(pkg) !== 2) {
          throw new ChandError(ErrorCode.FWD_PKG_INCOMPLETE, `forwarding package ${info.shortChannelId}/${height} is not completed`);
        }
        tx.delete(keys.scid(FWD_PACKAGES, info.shortChannelId, u64Key(height)));
      }
    });
  }

  // --- closed channels ----------------------------------------------------------------

  private closedSummaries(tx: KvReadTx): ChannelCloseSummary[] {
    const out: ChannelCloseSummary[] = [];
    // Decode the scanned values directly: no second lookup per summary.
    for (const [, value] of tx.range(prefixRange(byteKey(CLOSED_SUMMARY)))) out.push(closeSummaryRecord.decode(value));
    return out;
  }

  fetchClosedChannels(pendingOnly: boolean): Promise<ChannelCloseSummary[]> {
    return this.read((tx) => this.closedSummaries(tx).filter((s) => !pendingOnly || s.isPending));
  }

  fetchClosedChannel(chanPoint: OutPoint): Promise<ChannelCloseSummary> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      const summary = readClosedSummary(tx, chanPoint);
      if (summary === undefined) throw closedNotFound(formatOutPoint(chanPoint));
      return summary;
    });
  }

  fetchClosedChannelById(channelId: Hex): Promise<ChannelCloseSummary> {
    assertHex(channelId, 32, 'channelId');
    return this.read((tx) => {
      const opKey = tx.get(key(CHANNEL_ID_INDEX, hexToBytes(channelId)));
      const summary = opKey === undefined ? undefined : readClosedSummary(tx, outPointFromKey(opKey));
      if (summary === undefined) throw closedNotFound(`with id ${channelId}`);
      return summary;
    });
  }

  /** The close itself, shared by closeChannel and abandonChannel. */
  private closeTx(tx: KvWriteTx, info: ChannelInfo, summary: ChannelCloseSummary, extraStatus: ChannelStatusBits): void {
    const op = info.fundingOutpoint;
    tx.put(keys.chan(HISTORICAL, op), archive(tx, { ...info, status: info.status | extraStatus }));
    writeClosedSummary(tx, summary);
    removeFromOpenSet(tx, info);
    tx.put(keys.chan(PURGE_QUEUE, op), u64Key(info.shortChannelId));
  }

  async closeChannel(chanPoint: OutPoint, summary: ChannelCloseSummary, extraStatus: ChannelStatusBits = 0): Promise<void> {
    assertOutPoint(chanPoint);
    if (summary.chanPoint.txid !== chanPoint.txid || summary.chanPoint.index !== chanPoint.index) {
      throw new RangeError(`expected the summary of ${formatOutPoint(chanPoint)}, got one of ${formatOutPoint(summary.chanPoint)}`);
    }
    await this.update((tx) => this.closeTx(tx, requireInfo(tx, chanPoint), summary, extraStatus));
  }

  async abandonChannel(chanPoint: OutPoint, bestHeight: number): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => {
      const info = readInfo(tx, chanPoint);
      if (info === undefined) {
        // Abandoning twice is fine; abandoning an unknown channel is not.
        if (readClosedSummary(tx, chanPoint) !== undefined) return;
        throw notFound(chanPoint);
      }
      const local = readCommitment(tx, chanPoint, LOCAL);
      const revocation = this.revocationState(tx, chanPoint);
      const summary: ChannelCloseSummary = {
        chanPoint,
        shortChannelId: info.shortChannelId,
        chainHash: info.chainHash,
        closingTxid: ZERO_TXID,
        remotePub: info.identityPub,
        capacitySat: info.capacitySat,
        closeHeight: bestHeight,
        settledBalanceSat: local.localBalanceMsat / 1000n,
        timeLockedBalanceSat: 0n,
        closeType: ClosureType.Abandoned,
        isPending: false,
        localConfig: info.localConfig,
        ...(revocation.currentPoint === undefined ? {} : { remoteCurrentRevocation: revocation.currentPoint }),
        ...(revocation.nextPoint === undefined ? {} : { remoteNextRevocation: revocation.nextPoint }),
      };
      this.closeTx(tx, info, summary, ChannelStatus.LocalCloseInitiator);
    });
  }

  // --- final HTLCs --------------------------------------------------------------------

  lookupFinalHtlc(channel: ShortChannelId, htlcIndex: number): Promise<FinalHtlcInfo> {
    return this.read((tx) => {
      const byte = tx.get(keys.scid(FINAL_HTLCS, channel, u64Key(htlcIndex)));
      if (byte === undefined) throw new ChandError(ErrorCode.HTLC_UNKNOWN, `no final outcome for HTLC ${htlcIndex} of channel ${channel}`);
      return { settled: (byte[0]! & 1) !== 0, offchain: (byte[0]! & 2) !== 0 };
    });
  }

  async putOnchainFinalHtlcOutcome(channel: ShortChannelId, htlcIndex: number, settled: boolean): Promise<void> {
    await this.update((tx) => tx.put(keys.scid(FINAL_HTLCS, channel, u64Key(htlcIndex)), Uint8Array.of(settled ? 1 : 0)));
  }

  // --- setup state --------------------------------------------------------------------

  async saveChannelOpeningState(chanPoint: OutPoint, state: ChannelOpeningState): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => tx.put(keys.chan(OPENING_STATE, chanPoint), openingStateRecord.encode(state)));
  }

  getChannelOpeningState(chanPoint: OutPoint): Promise<ChannelOpeningState> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      const bytes = tx.get(keys.chan(OPENING_STATE, chanPoint));
      if (bytes === undefined) throw new ChandError(ErrorCode.OPENING_STATE_NOT_FOUND, `no opening state for channel ${formatOutPoint(chanPoint)}`);
      return openingStateRecord.decode(bytes);
    });
  }

  async deleteChannelOpeningState(chanPoint: OutPoint): Promise<void> {
    assertOutPoint(chanPoint);
    await this.update((tx) => tx.delete(keys.chan(OPENING_STATE, chanPoint)));
  }

  async saveInitialForwardingPolicy(channelId: Hex, policy: ForwardingPolicy): Promise<void> {
    assertHex(channelId, 32, 'channelId');
    await this.update((tx) => tx.put(key(INITIAL_FWD_POLICY, hexToBytes(channelId)), forwardingPolicyRecord.encode(policy)));
  }

  getInitialForwardingPolicy(channelId: Hex): Promise<ForwardingPolicy> {
    assertHex(channelId, 32, 'channelId');
    return this.read((tx) => {
      const bytes = tx.get(key(INITIAL_FWD_POLICY, hexToBytes(channelId)));
      if (bytes === undefined) throw new ChandError(ErrorCode.FORWARDING_POLICY_NOT_FOUND, `no initial forwarding policy for channel ${channelId}`);
      return forwardingPolicyRecord.decode(bytes);
    });
  }

  async deleteInitialForwardingPolicy(channelId: Hex): Promise<void> {
    assertHex(channelId, 32, 'channelId');
    await this.update((tx) => tx.delete(key(INITIAL_FWD_POLICY, hexToBytes(channelId))));
  }

  // --- external funding ---------------------------------------------------------------

  fetchExternalFunding(chanPoint: OutPoint): Promise<ExternalFundingState> {
    assertOutPoint(chanPoint);
    return this.read((tx) => {
      const bytes = readInfo(tx, chanPoint) === undefined ? undefined : tx.get(keys.chan(EXTERNAL_FUNDING, chanPoint));
      if (bytes === undefined) throw new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `channel ${formatOutPoint(chanPoint)} has no external funding state`);
      return externalFundingRecord.decode(bytes);
    });
  }

  fetchAllExternalFundings(): Promise<Array<{ chanPoint: OutPoint; state: ExternalFundingState }>> {
    return this.read((tx) => {
      const out: Array<{ chanPoint: OutPoint; state: ExternalFundingState }> = [];
      for (const [k, v] of tx.range(prefixRange(byteKey(EXTERNAL_FUNDING)))) {
        out.push({ chanPoint: outPointFromKey(k.subarray(1)), state: externalFundingRecord.decode(v) });
      }
      return out;
    });
  }

  submitExternalFunding(chanPoint: OutPoint, signedTx: Uint8Array): Promise<ExternalFundingState> {
    assertOutPoint(chanPoint);
    if (!(signedTx instanceof Uint8Array) || signedTx.length === 0) throw new TypeError('expected a non-empty signed transaction');
    return this.update((tx) => {
      requireInfo(tx, chanPoint);
      const bytes = tx.get(keys.chan(EXTERNAL_FUNDING, chanPoint));
      if (bytes === undefined) throw new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `channel ${formatOutPoint(chanPoint)} has no external funding state`);
      const state = externalFundingRecord.decode(bytes);
      if (state.submitted) {
        if (state.signedTx !== undefined && equalBytes(state.signedTx, signedTx)) return state;
        throw new ChandError(ErrorCode.EXTERNAL_FUNDING_CONFLICT, `channel ${formatOutPoint(chanPoint)} already has a different signed funding transaction`);
      }
      const next: ExternalFundingState = { ...state, submitted: true, signedTx: signedTx.slice() };
      tx.put(keys.chan(EXTERNAL_FUNDING, chanPoint), externalFundingRecord.encode(next));
      return next;
    });
  }

  // --- maintenance --------------------------------------------------------------------

  purgeClosedChannels(maxRecords: number): Promise<PurgeResult> {
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new RangeError(`expected a positive batch size, got ${maxRecords}`);
    return this.update((tx) => {
      let deleted = 0;
      for (const [queueKey, scidBytes] of tx.range(prefixRange(byteKey(PURGE_QUEUE)))) {
        const op = outPointFromKey(queueKey.subarray(1));
        const scid = readU64Key(scidBytes, 0);
        const prefixes = PER_CHANNEL_BUCKETS.map((bucket) => keys.chan(bucket, op));
        // A pending channel never had forwarding packages; scid 0 is shared by them all.
        if (scid !== 0n) prefixes.push(keys.scid(FWD_PACKAGES, scid));
        for (const prefix of prefixes) {
          for (const [k] of tx.range({ ...prefixRange(prefix), limit: maxRecords - deleted })) {
            tx.delete(k);
            deleted++;
          }
          if (deleted >= maxRecords) return { deleted, done: false };
        }
        tx.delete(queueKey);
      }
      return { deleted, done: true };
    });
  }

  counts(): Promise<StoreCounts> {
    return this.read((tx) => {
      const infos = allInfos(tx);
      const count = (prefix: Uint8Array) => {
        let n = 0;
        for (const _ of tx.range(prefixRange(prefix))) n++;
        return n;
      };
      return {
        openChannels: infos.filter((i) => !i.isPending && i.status === ChannelStatus.Default).length,
        pendingChannels: infos.filter((i) => i.isPending).length,
        waitingCloseChannels: infos.filter((i) => i.status !== ChannelStatus.Default).length,
        closedChannels: count(byteKey(CLOSED_SUMMARY)),
        revocationLogEntries: count(byteKey(REVOCATION_LOG)),
        fwdPkgs: count(byteKey(FWD_PACKAGES)),
        closedAwaitingPurge: count(byteKey(PURGE_QUEUE)),
      };
    });
  }
}

export { channelIdOf };
