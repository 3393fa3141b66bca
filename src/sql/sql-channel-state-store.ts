/**
 * The SQL implementation of the channel-state Store (SQLite and PostgreSQL).
 *
 * Each method is one SQL transaction (transactions.ts) over the relational schema of
 * schema.ts. It behaves exactly like the KV store: same results, same error codes, same
 * orderings (channels and close summaries by channel point, packages by height); the
 * differential test runs both side by side. Validation at the public edge is the same as
 * KV's; values the KV record codecs would refuse are refused here too (columns.ts), and so
 * are amounts of 2^63 msat or more, which an INT8 column cannot hold (the one difference).
 *
 * Payment hot path: appendRemoteCommitChain writes the chain tip as a commitment in slot
 * `RemoteTip` with its HTLCs and updates; advanceCommitChainTail moves it into the `Remote`
 * slot with two UPDATEs (no re-encoding), appends one revocation-log row and adds the
 * forwarding package; updateCommitment replaces the local slot. Each locks the channel row
 * first (on PostgreSQL), so concurrent rounds on different channels never conflict.
 *
 * Close is a tombstone: closeChannel archives the commitments, writes the summary and
 * flags the row closed in one short transaction; purgeClosedChannels later deletes the
 * bulk rows in batches of at most `maxRecords` rows each.
 */
import { sql, type Insertable, type Updateable } from 'kysely';
import { assertHex, assertOutPoint, formatOutPoint } from '../chanstate/channel-id.js';
import { htlcResolution } from '../chanstate/log-update.js';
import { filterContains, fwdPkgState, withBit } from '../chanstate/pkg-filter.js';
import {
  commitmentRecord,
  forwardingPolicyRecord,
  openingStateRecord,
  pkgFilterRecord,
  remoteRevocationRecord,
  shutdownInfoRecord,
} from '../chanstate/records.js';
import { revocationLogEntryOf } from '../chanstate/revocation-log.js';
import type { ChannelStateStore, PurgeResult, StoreCounts } from '../chanstate/store.js';
import {
  ChannelStatus,
  ClosureType,
  FwdState,
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
  type OpeningStage,
  type OutPoint,
  type PkgFilter,
  type RemoteRevocationState,
  type RevocationLogEntry,
  type SettleFailRef,
  type ShortChannelId,
  type ShutdownInfo,
} from '../chanstate/types.js';
import { equalBytes, hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import {
  assertMutable,
  closedSummaries,
  closeSummaryColumns,
  countRows,
  deleteCommitment,
  deleteUpdateList,
  deleteUpdatesBefore,
  configRow,
  infoOfRow,
  insertCommitment,
  insertUpdates,
  loadChannels,
  markLastWasRevoke,
  moveCommitmentSlot,
  notFound,
  openAt,
  readChannel,
  readClosedSummary,
  readCommitment,
  readConfigPair,
  readExternalFunding,
  readRemoteAndTip,
  readRevocation,
  readUpdates,
  replaceCommitment,
  replaceUpdates,
  requireChannel,
  requireCommitment,
  writeRevocation,
  type ChannelFilter,
  type ChannelHandle,
} from './chanstate-tx.js';
import { amountCol, big, bool, bytes, bytesCol, flag, hex, hexCol, num, optBig, plain, u64Col, u64Of, uintCol } from './columns.js';
import { circuitKeyListRecord, htlcEntryListRecord } from './records.js';
import { prepare, PreparedInsert } from './prepared.js';
import { ConfigSide, Party, PkgUpdateKind, UpdateList, type ChannelsTable, type Database } from './schema.js';
import type { SqlBackend, SqlTx } from './transactions.js';

/** Options of the SQL channel-state store (the same as the KV store's). */
export interface SqlChannelStateOptions {
  /** Keep both balances in revocation log entries (needed by watchtowers). Default true. */
  readonly revocationLogBalances?: boolean;
  /** Record off-chain final HTLC outcomes (lookupFinalHtlc). Default true. */
  readonly storeFinalHtlcResolutions?: boolean;
}

const ZERO_TXID = '0'.repeat(64);
const SCID_ALIAS_FEATURE = 1 << 9;

function closedNotFound(what: string): ChandError {
  return new ChandError(ErrorCode.CLOSED_CHANNEL_NOT_FOUND, `no closed channel ${what}`);
}

function fwdPkgNotFound(op: OutPoint, height: number): ChandError {
  return new ChandError(ErrorCode.FWD_PKG_NOT_FOUND, `channel ${formatOutPoint(op)} has no forwarding package at height ${height}`);
}

/** The columns of a revocation log row for `entry`. */
export function revocationLogRow(channelId: number, entry: RevocationLogEntry) {
  return {
    channel_id: channelId,
    commit_height: uintCol(entry.commitHeight, 53, 'commitHeight'),
    our_output_index: uintCol(entry.ourOutputIndex, 53, 'ourOutputIndex'),
    their_output_index: uintCol(entry.theirOutputIndex, 53, 'theirOutputIndex'),
    commit_txid: hexCol(entry.commitTxid, 32),
    our_balance_msat: entry.ourBalanceMsat === undefined ? null : amountCol(entry.ourBalanceMsat, 'ourBalanceMsat'),
    their_balance_msat: entry.theirBalanceMsat === undefined ? null : amountCol(entry.theirBalanceMsat, 'theirBalanceMsat'),
    htlcs: entry.htlcs.length === 0 ? null : htlcEntryListRecord.encode({ htlcs: entry.htlcs }),
  };
}

function entryOfRow(row: {
  commit_height: bigint | number;
  our_output_index: bigint | number;
  their_output_index: bigint | number;
  commit_txid: Uint8Array;
  our_balance_msat: bigint | number | null;
  their_balance_msat: bigint | number | null;
  htlcs: Uint8Array | null;
}): RevocationLogEntry {
  const ours = optBig(row.our_balance_msat);
  const theirs = optBig(row.their_balance_msat);
  return {
    commitHeight: num(row.commit_height),
    ourOutputIndex: num(row.our_output_index),
    theirOutputIndex: num(row.their_output_index),
    commitTxid: hex(row.commit_txid),
    ...(ours === undefined ? {} : { ourBalanceMsat: ours }),
    ...(theirs === undefined ? {} : { theirBalanceMsat: theirs }),
    htlcs: row.htlcs === null ? [] : htlcEntryListRecord.decode(plain(row.htlcs)).htlcs,
  };
}

interface PkgFilters {
  readonly ackFilter: PkgFilter;
  readonly settleFailFilter: PkgFilter;
  readonly fwdFilter?: PkgFilter;
}

function filtersOfRow(row: { ack_filter: Uint8Array; settle_fail_filter: Uint8Array; fwd_filter: Uint8Array | null }): PkgFilters {
  const filters = { ackFilter: pkgFilterRecord.decode(plain(row.ack_filter)), settleFailFilter: pkgFilterRecord.decode(plain(row.settle_fail_filter)) };
  return row.fwd_filter === null ? filters : { ...filters, fwdFilter: pkgFilterRecord.decode(plain(row.fwd_filter)) };
}

/** A table holding closed channels' bulk rows: its owner column and the key a batch is cut along. */
interface PurgeTable {
  readonly table: 'revocation_log' | 'htlcs' | 'commitments' | 'log_updates' | 'revocation_secrets' | 'commit_diffs' | 'revocation_states' | 'external_fundings' | 'fwd_pkg_updates' | 'fwd_pkgs';
  /** channel_id: rows of the channel; source: forwarding packages of its short channel id. */
  readonly owner: 'channel_id' | 'source';
  /** The primary key after the owner, in index order. */
  readonly keys: readonly string[];
}

/** What the purge deletes, in order. */
const PURGE_TABLES: readonly PurgeTable[] = [
  { table: 'revocation_log', owner: 'channel_id', keys: ['commit_height'] },
  { table: 'htlcs', owner: 'channel_id', keys: ['party', 'seq'] },
  { table: 'commitments', owner: 'channel_id', keys: ['party'] },
  { table: 'log_updates', owner: 'channel_id', keys: ['kind', 'seq'] },
  { table: 'revocation_secrets', owner: 'channel_id', keys: ['seq'] },
  { table: 'commit_diffs', owner: 'channel_id', keys: [] },
  { table: 'revocation_states', owner: 'channel_id', keys: [] },
  { table: 'external_fundings', owner: 'channel_id', keys: [] },
  { table: 'fwd_pkg_updates', owner: 'source', keys: ['height', 'kind', 'seq'] },
  { table: 'fwd_pkgs', owner: 'source', keys: ['height'] },
];

/**
 * Deletes the first `limit` rows (by key) of `owner`'s rows in `t`, as a key range: find the
 * key of the last row of the batch, then delete up to it. The range keeps every step an
 * index range scan (a `key IN (subquery LIMIT n)` delete is planned as a scan of the whole
 * table by PostgreSQL).
 */
async function purgeBatch(tx: SqlTx, t: PurgeTable, owner: bigint | number, limit: number): Promise<number> {
  const table = sql.table(t.table);
  const byOwner = sql`${sql.ref(t.owner)} = ${owner}`;
  let last: Record<string, unknown> | undefined;
  if (t.keys.length > 0) {
    const keys = sql.join(t.keys.map((k) => sql.ref(k)));
    [last] = (await sql<Record<string, unknown>>`select ${keys} from ${table} where ${byOwner} order by ${keys} limit 1 offset ${limit - 1}`.execute(tx)).rows;
  }
  // Only the key columns in the row comparison: with the owner in it, SQLite no longer
  // uses the index range.
  const result =
    last === undefined
      ? await sql`delete from ${table} where ${byOwner}`.execute(tx)
      : await sql`delete from ${table} where ${byOwner} and (${sql.join(t.keys.map((k) => sql.ref(k)))}) <= (${sql.join(t.keys.map((k) => last[k]))})`.execute(tx);
  return Number(result.numAffectedRows ?? 0n);
}

// Prepared statements of the payment hot path (prepared.ts).
const upsertFinalHtlcs = new PreparedInsert<Insertable<Database['final_htlcs']>>(['short_channel_id', 'htlc_index', 'settled', 'offchain'], (db, rows) =>
  db
    .insertInto('final_htlcs')
    .values(rows)
    .onConflict((oc) => oc.columns(['short_channel_id', 'htlc_index']).doUpdateSet((eb) => ({ settled: eb.ref('excluded.settled'), offchain: eb.ref('excluded.offchain') }))),
);
const deleteCommitDiff = prepare((db, channelId: number) => db.deleteFrom('commit_diffs').where('channel_id', '=', channelId));
const insertCommitDiffIfNew = prepare((db, channelId: number, commitSig: Uint8Array, opened: Uint8Array, closed: Uint8Array) =>
  db
    .insertInto('commit_diffs')
    .values({ channel_id: channelId, commit_sig: commitSig, opened_circuit_keys: opened, closed_circuit_keys: closed })
    .onConflict((oc) => oc.column('channel_id').doNothing()),
);
/** A revocation log row; a repeated height replaces the entry (as a KV put does). */
const upsertRevocationLog = new PreparedInsert<Insertable<Database['revocation_log']>>(
  ['channel_id', 'commit_height', 'our_output_index', 'their_output_index', 'commit_txid', 'our_balance_msat', 'their_balance_msat', 'htlcs'],
  (db, rows) =>
    db
      .insertInto('revocation_log')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['channel_id', 'commit_height']).doUpdateSet((eb) => ({
          our_output_index: eb.ref('excluded.our_output_index'),
          their_output_index: eb.ref('excluded.their_output_index'),
          commit_txid: eb.ref('excluded.commit_txid'),
          our_balance_msat: eb.ref('excluded.our_balance_msat'),
          their_balance_msat: eb.ref('excluded.their_balance_msat'),
          htlcs: eb.ref('excluded.htlcs'),
        })),
      ),
);
const insertFwdPkgIfNew = prepare(
  (db, source: bigint, height: number, state: number, ackFilter: Uint8Array, settleFailFilter: Uint8Array, fwdFilter: Uint8Array | null) =>
    db
      .insertInto('fwd_pkgs')
      .values({ source, height, state, ack_filter: ackFilter, settle_fail_filter: settleFailFilter, fwd_filter: fwdFilter })
      .onConflict((oc) => oc.columns(['source', 'height']).doNothing()),
);
const insertFwdPkgUpdates = new PreparedInsert<Insertable<Database['fwd_pkg_updates']>>(['source', 'height', 'kind', 'seq', 'log_index', 'message'], (db, rows) =>
  db.insertInto('fwd_pkg_updates').values(rows),
);

/** Channel-state store over a SqlBackend. */
export class SqlChannelStateStore implements ChannelStateStore {
  private readonly balances: boolean;
  private readonly finalHtlcs: boolean;

  constructor(
    private readonly backend: SqlBackend,
    options: SqlChannelStateOptions = {},
  ) {
    this.balances = options.revocationLogBalances ?? true;
    this.finalHtlcs = options.storeFinalHtlcResolutions ?? true;
  }

  private read<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.backend.runTx('read', fn);
  }

  private write<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.backend.runTx('write', fn);
  }

  /** The channel at `op` for a write: locked (where the dialect locks rows). */
  private lockChannel(tx: SqlTx, op: OutPoint): Promise<ChannelHandle> {
    return requireChannel(tx, this.backend.capabilities, op, true);
  }

  /** The channel at `op` for a read. */
  private findChannel(tx: SqlTx, op: OutPoint): Promise<ChannelHandle> {
    return requireChannel(tx, this.backend.capabilities, op, false);
  }

  // --- open channel reads -------------------------------------------------------------

  fetchOpenChannels(nodeId: Hex): Promise<OpenChannel[]> {
    assertHex(nodeId, 33, 'nodeId');
    const pub = hexToBytes(nodeId);
    return this.read((tx) => loadChannels(tx, (eb) => eb.and([eb('node_pub', '=', pub), eb('closed', '=', 0)])));
  }

  fetchChannel(chanPoint: OutPoint): Promise<OpenChannel> {
    assertOutPoint(chanPoint);
    return this.read((tx) => readChannel(tx, chanPoint));
  }

  fetchChannelById(channelId: Hex): Promise<OpenChannel> {
    assertHex(channelId, 32, 'channelId');
    const id = hexToBytes(channelId);
    return this.read(async (tx) => {
      const [channel] = await loadChannels(tx, (eb) => eb.and([eb('wire_channel_id', '=', id), eb('closed', '=', 0)]));
      if (channel === undefined) throw new ChandError(ErrorCode.CHANNEL_NOT_FOUND, `channel with id ${channelId} not found`);
      return channel;
    });
  }

  fetchAllChannels(): Promise<OpenChannel[]> {
    return this.read((tx) => loadChannels(tx, (eb) => eb('closed', '=', 0)));
  }

  fetchAllOpenChannels(): Promise<OpenChannel[]> {
    return this.read((tx) => loadChannels(tx, (eb) => eb.and([eb('closed', '=', 0), eb('is_pending', '=', 0), eb('status', '=', ChannelStatus.Default)])));
  }

  fetchPendingChannels(): Promise<OpenChannel[]> {
    return this.read((tx) => loadChannels(tx, (eb) => eb.and([eb('closed', '=', 0), eb('is_pending', '=', 1)])));
  }

  fetchWaitingCloseChannels(): Promise<OpenChannel[]> {
    return this.read((tx) => loadChannels(tx, (eb) => eb.and([eb('closed', '=', 0), eb('status', '!=', ChannelStatus.Default)])));
  }

  fetchPermAndTempPeers(chainHash: Hex): Promise<Map<Hex, ChanCount>> {
    assertHex(chainHash, 32, 'chainHash');
    const chain = hexToBytes(chainHash);
    return this.read(async (tx) => {
      const counts = new Map<Hex, { hasOpenOrClosedChannel: boolean; pendingOpenCount: number }>();
      const entry = (peer: Hex) => {
        let c = counts.get(peer);
        if (c === undefined) counts.set(peer, (c = { hasOpenOrClosedChannel: false, pendingOpenCount: 0 }));
        return c;
      };
      const channels = await tx
        .selectFrom('channels')
        .select(['node_pub', 'is_pending'])
        .where('closed', '=', 0)
        .where('chain_hash', '=', chain)
        .orderBy('txid')
        .orderBy('output_index')
        .execute();
      for (const row of channels) {
        if (bool(row.is_pending)) entry(hex(row.node_pub)).pendingOpenCount++;
        else entry(hex(row.node_pub)).hasOpenOrClosedChannel = true;
      }
      // A canceled or abandoned funding never made the peer a channel partner.
      const closed = await tx
        .selectFrom('closed_channels')
        .innerJoin('channels', 'channels.id', 'closed_channels.channel_id')
        .select('closed_channels.remote_pub')
        .where('closed_channels.chain_hash', '=', chain)
        .where('closed_channels.close_type', 'not in', [ClosureType.FundingCanceled, ClosureType.Abandoned])
        .orderBy('channels.txid')
        .orderBy('channels.output_index')
        .execute();
      for (const row of closed) entry(hex(row.remote_pub)).hasOpenOrClosedChannel = true;
      return counts as Map<Hex, ChanCount>;
    });
  }

  // --- historical ---------------------------------------------------------------------

  fetchHistoricalChannel(chanPoint: OutPoint): Promise<OpenChannel> {
    assertOutPoint(chanPoint);
    const txid = hexToBytes(chanPoint.txid);
    return this.read(async (tx) => {
      const row = await tx
        .selectFrom('channels')
        .innerJoin('historical_channels', 'historical_channels.channel_id', 'channels.id')
        .selectAll('channels')
        .select([
          'historical_channels.local_commitment',
          'historical_channels.remote_commitment',
          'historical_channels.remote_revocation',
          'historical_channels.last_was_revoke as archived_last_was_revoke',
        ])
        .where('channels.txid', '=', txid)
        .where('channels.output_index', '=', chanPoint.index)
        .executeTakeFirst();
      if (row === undefined) {
        throw new ChandError(ErrorCode.HISTORICAL_CHANNEL_NOT_FOUND, `no historical record of channel ${formatOutPoint(chanPoint)}`);
      }
      return {
        ...infoOfRow(row, await readConfigPair(tx, num(row.id))),
        localCommitment: commitmentRecord.decode(plain(row.local_commitment)),
        remoteCommitment: commitmentRecord.decode(plain(row.remote_commitment)),
        remoteRevocation: remoteRevocationRecord.decode(plain(row.remote_revocation)),
        lastWasRevoke: bool(row.archived_last_was_revoke),
      };
    });
  }

  // --- lifecycle ----------------------------------------------------------------------

  /** Sets columns of the open channel at `op` in one statement. CHANNEL_NOT_FOUND if none. */
  private async setColumns(tx: SqlTx, op: OutPoint, values: Updateable<ChannelsTable>): Promise<number> {
    const row = await tx.updateTable('channels').set(values).where(openAt(op)).returning('id').executeTakeFirst();
    if (row === undefined) throw notFound(op);
    return num(row.id);
  }

  async markConfirmationHeight(chanPoint: OutPoint, height: number): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write((tx) => this.setColumns(tx, chanPoint, { confirmation_height: uintCol(height, 32, 'confirmationHeight') }));
  }

  async markCloseConfirmationHeight(chanPoint: OutPoint, height: number | undefined): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write((tx) =>
      this.setColumns(tx, chanPoint, { close_confirmation_height: height === undefined ? null : uintCol(height, 32, 'closeConfirmationHeight') }),
    );
  }

  async markOpen(chanPoint: OutPoint, shortChannelId: ShortChannelId): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      const id = await this.setColumns(tx, chanPoint, { is_pending: 0, short_channel_id: u64Col(shortChannelId) });
      // The external funding flow ends here: cleared in the same transaction.
      await tx.deleteFrom('external_fundings').where('channel_id', '=', id).execute();
    });
  }

  async markRealScid(chanPoint: OutPoint, realScid: ShortChannelId): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write((tx) => this.setColumns(tx, chanPoint, { real_scid: u64Col(realScid) }));
  }

  async markScidAliasNegotiated(chanPoint: OutPoint): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      const row = await this.lockedRow(tx, chanPoint);
      await tx
        .updateTable('channels')
        .set({ chan_type: uintCol(num(row.chan_type) | SCID_ALIAS_FEATURE, 53, 'chanType') })
        .where('id', '=', row.id)
        .execute();
    });
  }

  /** Reads (and locks) the type and status of the open channel at `op`. */
  private async lockedRow(tx: SqlTx, op: OutPoint): Promise<{ id: bigint | number; chan_type: bigint | number; status: bigint | number }> {
    const row = await tx
      .selectFrom('channels')
      .select(['id', 'chan_type', 'status'])
      .where(openAt(op))
      .$if(this.backend.capabilities.rowLocks, (qb) => qb.forUpdate())
      .executeTakeFirst();
    if (row === undefined) throw notFound(op);
    return row;
  }

  // --- status -------------------------------------------------------------------------

  /** Replaces the status with `change(old)` (plus `extra` columns) and returns it. */
  private changeStatus(op: OutPoint, change: (status: number) => number, extra: Updateable<ChannelsTable> = {}): Promise<ChannelStatusBits> {
    return this.write(async (tx) => {
      const row = await this.lockedRow(tx, op);
      const status = uintCol(change(num(row.status)), 53, 'status');
      await tx
        .updateTable('channels')
        .set({ ...extra, status })
        .where('id', '=', row.id)
        .execute();
      return status;
    });
  }

  async applyChannelStatus(chanPoint: OutPoint, status: ChannelStatusBits): Promise<ChannelStatusBits> {
    assertOutPoint(chanPoint);
    return this.changeStatus(chanPoint, (old) => old | status);
  }

  async clearChannelStatus(chanPoint: OutPoint, status: ChannelStatusBits): Promise<ChannelStatusBits> {
    assertOutPoint(chanPoint);
    return this.changeStatus(chanPoint, (old) => old & ~status);
  }

  markDataLoss(chanPoint: OutPoint, commitPoint: Hex): Promise<ChannelStatusBits> {
    assertOutPoint(chanPoint);
    assertHex(commitPoint, 33, 'commitPoint');
    return this.changeStatus(chanPoint, (old) => old | ChannelStatus.LocalDataLoss, { data_loss_commit_point: hexToBytes(commitPoint) });
  }

  fetchDataLossCommitPoint(chanPoint: OutPoint): Promise<Hex> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const row = await tx.selectFrom('channels').select('data_loss_commit_point').where(openAt(chanPoint)).executeTakeFirst();
      if (row === undefined) throw notFound(chanPoint);
      if (row.data_loss_commit_point === null) {
        throw new ChandError(ErrorCode.NO_COMMIT_POINT, `channel ${formatOutPoint(chanPoint)} has no data-loss commit point`);
      }
      return hex(row.data_loss_commit_point);
    });
  }

  markBorked(chanPoint: OutPoint): Promise<ChannelStatusBits> {
    return this.applyChannelStatus(chanPoint, ChannelStatus.Borked);
  }

  // --- shutdown -----------------------------------------------------------------------

  async storeShutdownInfo(chanPoint: OutPoint, info: ShutdownInfo): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      shutdownInfoRecord.encode(info);
      await this.setColumns(tx, chanPoint, { shutdown_delivery_script: info.deliveryScript, shutdown_closer: info.closer === 'local' ? 0 : 1 });
    });
  }

  fetchShutdownInfo(chanPoint: OutPoint): Promise<ShutdownInfo | undefined> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const row = await tx.selectFrom('channels').select(['shutdown_delivery_script', 'shutdown_closer']).where(openAt(chanPoint)).executeTakeFirst();
      if (row === undefined) throw notFound(chanPoint);
      if (row.shutdown_delivery_script === null || row.shutdown_closer === null) return undefined;
      return { deliveryScript: bytes(row.shutdown_delivery_script), closer: num(row.shutdown_closer) === 0 ? 'local' : 'remote' };
    });
  }

  // --- close transactions -------------------------------------------------------------

  private async markBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty, column: 'commit_close_tx' | 'coop_close_tx', bit: number): Promise<void> {
    assertOutPoint(chanPoint);
    if (!(closeTx instanceof Uint8Array) || closeTx.length === 0) throw new TypeError('expected a non-empty close transaction');
    const initiator = closer === 'local' ? ChannelStatus.LocalCloseInitiator : ChannelStatus.RemoteCloseInitiator;
    await this.changeStatus(chanPoint, (old) => old | bit | initiator, column === 'commit_close_tx' ? { commit_close_tx: closeTx } : { coop_close_tx: closeTx });
  }

  markCommitmentBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty): Promise<void> {
    return this.markBroadcasted(chanPoint, closeTx, closer, 'commit_close_tx', ChannelStatus.CommitBroadcasted);
  }

  markCoopBroadcasted(chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty): Promise<void> {
    return this.markBroadcasted(chanPoint, closeTx, closer, 'coop_close_tx', ChannelStatus.CoopBroadcasted);
  }

  private fetchCloseTx(chanPoint: OutPoint, column: 'commit_close_tx' | 'coop_close_tx', what: string): Promise<Uint8Array> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const row = await tx.selectFrom('channels').select(column).where(openAt(chanPoint)).executeTakeFirst();
      if (row === undefined) throw notFound(chanPoint);
      const value = (row as Record<string, Uint8Array | null>)[column] ?? null;
      if (value === null) throw new ChandError(ErrorCode.NO_CLOSE_TX, `channel ${formatOutPoint(chanPoint)} has no broadcast ${what} transaction`);
      return bytes(value);
    });
  }

  fetchBroadcastedCommitment(chanPoint: OutPoint): Promise<Uint8Array> {
    return this.fetchCloseTx(chanPoint, 'commit_close_tx', 'commitment');
  }

  fetchBroadcastedCooperative(chanPoint: OutPoint): Promise<Uint8Array> {
    return this.fetchCloseTx(chanPoint, 'coop_close_tx', 'cooperative close');
  }

  // --- commitments --------------------------------------------------------------------

  updateCommitment(chanPoint: OutPoint, newCommitment: ChannelCommitment, unsignedAckedUpdates: readonly LogUpdate[]): Promise<Map<number, boolean>> {
    assertOutPoint(chanPoint);
    return this.write(async (tx) => {
      const channel = await markLastWasRevoke(tx, chanPoint, true);
      await replaceCommitment(tx, channel.id, Party.Local, newCommitment);
      await replaceUpdates(tx, channel.id, UpdateList.UnsignedAcked, unsignedAckedUpdates);

      // Our settles/fails below the new local log index are now locked in: report them
      // (and record their final outcome); the rest wait for the next round.
      const finalized = new Map<number, boolean>();
      let lockedIn = 0;
      for (const update of await readUpdates(tx, channel.id, UpdateList.RemoteUnsignedLocal)) {
        if (update.logIndex >= newCommitment.localLogIndex) continue;
        lockedIn++;
        const resolution = htlcResolution(update);
        if (resolution === undefined) continue;
        finalized.set(resolution.htlcId, resolution.settled);
      }
      if (lockedIn > 0) await deleteUpdatesBefore(tx, channel.id, UpdateList.RemoteUnsignedLocal, newCommitment.localLogIndex);
      if (this.finalHtlcs && finalized.size > 0) {
        const scid = u64Col(channel.shortChannelId);
        await upsertFinalHtlcs.execute(
          tx,
          [...finalized].map(([htlcIndex, settled]) => ({ short_channel_id: scid, htlc_index: htlcIndex, settled: flag(settled), offchain: 1 })),
        );
      }
      return finalized;
    });
  }

  async appendRemoteCommitChain(chanPoint: OutPoint, diff: CommitDiff): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      const channel = await markLastWasRevoke(tx, chanPoint, false);
      if (diff.addAcks !== undefined && diff.addAcks.length > 0) await this.ackAdds(tx, channel.shortChannelId, diff.addAcks);
      if (diff.settleFailAcks !== undefined && diff.settleFailAcks.length > 0) await this.ackSettleFailsTx(tx, diff.settleFailAcks);
      const opened = circuitKeyListRecord.encode({ keys: diff.openedCircuitKeys });
      const closed = circuitKeyListRecord.encode({ keys: diff.closedCircuitKeys });
      const commitSig = bytesCol(diff.commitSig, 'commitSig');
      if ((await insertCommitDiffIfNew.affected(tx, channel.id, commitSig, opened, closed)) !== 1n) {
        // A tip exists (a re-signed commitment after reconnecting): it is replaced whole.
        await deleteCommitment(tx, channel.id, Party.RemoteTip);
        await deleteUpdateList(tx, channel.id, UpdateList.RemoteTip);
        await tx.updateTable('commit_diffs').set({ commit_sig: commitSig, opened_circuit_keys: opened, closed_circuit_keys: closed }).where('channel_id', '=', channel.id).execute();
      }
      await insertCommitment(tx, channel.id, Party.RemoteTip, diff.commitment);
      if (diff.logUpdates.length > 0) await insertUpdates(tx, channel.id, UpdateList.RemoteTip, diff.logUpdates);
    });
  }

  remoteCommitChainTip(chanPoint: OutPoint): Promise<CommitDiff> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const channel = await this.findChannel(tx, chanPoint);
      const row = await tx.selectFrom('commit_diffs').selectAll().where('channel_id', '=', channel.id).executeTakeFirst();
      const commitment = row === undefined ? undefined : await readCommitment(tx, channel.id, Party.RemoteTip);
      if (row === undefined || commitment === undefined) {
        throw new ChandError(ErrorCode.NO_PENDING_COMMIT, `channel ${formatOutPoint(chanPoint)} has no pending remote commitment`);
      }
      return {
        commitment,
        logUpdates: await readUpdates(tx, channel.id, UpdateList.RemoteTip),
        commitSig: bytes(row.commit_sig),
        openedCircuitKeys: circuitKeyListRecord.decode(plain(row.opened_circuit_keys)).keys,
        closedCircuitKeys: circuitKeyListRecord.decode(plain(row.closed_circuit_keys)).keys,
      };
    });
  }

  unsignedAckedUpdates(chanPoint: OutPoint): Promise<LogUpdate[]> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => readUpdates(tx, (await this.findChannel(tx, chanPoint)).id, UpdateList.UnsignedAcked));
  }

  remoteUnsignedLocalUpdates(chanPoint: OutPoint): Promise<LogUpdate[]> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => readUpdates(tx, (await this.findChannel(tx, chanPoint)).id, UpdateList.RemoteUnsignedLocal));
  }

  async insertNextRevocation(chanPoint: OutPoint, nextPoint: Hex): Promise<void> {
    assertOutPoint(chanPoint);
    assertHex(nextPoint, 33, 'nextPoint');
    await this.write(async (tx) => {
      const channel = await this.lockChannel(tx, chanPoint);
      await tx.updateTable('revocation_states').set({ next_point: hexToBytes(nextPoint) }).where('channel_id', '=', channel.id).execute();
    });
  }

  async advanceCommitChainTail(chanPoint: OutPoint, args: AdvanceTailArgs): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      const channel = await this.lockChannel(tx, chanPoint);
      assertMutable(channel, chanPoint);
      const { tipRemoteLogIndex, remote: revoked } = await readRemoteAndTip(tx, channel.id);
      if (tipRemoteLogIndex === undefined) {
        throw new ChandError(ErrorCode.NO_PENDING_COMMIT, `channel ${formatOutPoint(chanPoint)} has no pending remote commitment to advance to`);
      }
      if (revoked === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, `channel ${formatOutPoint(chanPoint)} has no remote commitment`);
      await upsertRevocationLog.execute(tx, [revocationLogRow(channel.id, revocationLogEntryOf(revoked, args.ourOutputIndex, args.theirOutputIndex, this.balances))]);

      // The tip becomes the remote commitment: move its slot, no re-encoding.
      await deleteCommitment(tx, channel.id, Party.Remote, revoked.htlcs.length);
      await moveCommitmentSlot(tx, channel.id, Party.RemoteTip, Party.Remote);
      await deleteCommitDiff.execute(tx, channel.id);
      await deleteUpdateList(tx, channel.id, UpdateList.RemoteTip);
      await writeRevocation(tx, channel.id, args.revocation);
      if (args.fwdPkg.source !== channel.shortChannelId) {
        throw new RangeError(`expected forwarding package source ${channel.shortChannelId}, got ${args.fwdPkg.source}`);
      }
      await this.putFwdPkg(tx, args.fwdPkg);

      // Remote updates we acked stay unsigned-acked only until the new remote commitment
      // includes them.
      await deleteUpdatesBefore(tx, channel.id, UpdateList.UnsignedAcked, tipRemoteLogIndex);
      await replaceUpdates(tx, channel.id, UpdateList.RemoteUnsignedLocal, args.remoteUnsignedLocalUpdates);
    });
  }

  commitmentHeight(chanPoint: OutPoint): Promise<number> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const channel = await this.findChannel(tx, chanPoint);
      const row = await tx.selectFrom('commitments').select('commit_height').where('channel_id', '=', channel.id).where('party', '=', Party.Local).executeTakeFirst();
      if (row === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, `channel ${formatOutPoint(chanPoint)} has no local commitment`);
      return num(row.commit_height);
    });
  }

  latestCommitments(chanPoint: OutPoint): Promise<{ local: ChannelCommitment; remote: ChannelCommitment }> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const channel = await this.findChannel(tx, chanPoint);
      return {
        local: await requireCommitment(tx, channel.id, Party.Local, chanPoint),
        remote: await requireCommitment(tx, channel.id, Party.Remote, chanPoint),
      };
    });
  }

  remoteRevocationStore(chanPoint: OutPoint): Promise<RemoteRevocationState> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => readRevocation(tx, (await this.findChannel(tx, chanPoint)).id));
  }

  revocationLogTailHeight(chanPoint: OutPoint): Promise<number | undefined> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const channel = await this.findChannel(tx, chanPoint);
      const row = await tx
        .selectFrom('revocation_log')
        .select('commit_height')
        .where('channel_id', '=', channel.id)
        .orderBy('commit_height', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : num(row.commit_height);
    });
  }

  findPreviousState(chanPoint: OutPoint, commitHeight: number): Promise<RevocationLogEntry> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const channel = await this.findChannel(tx, chanPoint);
      const row = await tx
        .selectFrom('revocation_log')
        .selectAll()
        .where('channel_id', '=', channel.id)
        .where('commit_height', '=', commitHeight)
        .executeTakeFirst();
      if (row === undefined) {
        throw new ChandError(ErrorCode.LOG_ENTRY_NOT_FOUND, `channel ${formatOutPoint(chanPoint)} has no revocation log entry at height ${commitHeight}`);
      }
      return entryOfRow(row);
    });
  }

  fetchRevocationLog(chanPoint: OutPoint, from: number, limit: number): Promise<RevocationLogEntry[]> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const channel = await this.findChannel(tx, chanPoint);
      const rows = await tx
        .selectFrom('revocation_log')
        .selectAll()
        .where('channel_id', '=', channel.id)
        .where('commit_height', '>=', from)
        .orderBy('commit_height')
        .limit(limit)
        .execute();
      return rows.map(entryOfRow);
    });
  }

  // --- forwarding packages ------------------------------------------------------------

  /** Writes (or replaces) a package with its updates; its state follows from its filters. */
  private async putFwdPkg(tx: SqlTx, pkg: FwdPkg): Promise<void> {
    const source = u64Col(pkg.source);
    const height = uintCol(pkg.height, 53, 'height');
    const values = {
      state: fwdPkgState(pkg),
      ack_filter: pkgFilterRecord.encode(pkg.ackFilter),
      settle_fail_filter: pkgFilterRecord.encode(pkg.settleFailFilter),
      fwd_filter: pkg.fwdFilter === undefined ? null : pkgFilterRecord.encode(pkg.fwdFilter),
    };
    const updates = [
      ...pkg.adds.map((u, seq) => ({ kind: PkgUpdateKind.Add, seq, u })),
      ...pkg.settleFails.map((u, seq) => ({ kind: PkgUpdateKind.SettleFail, seq, u })),
    ].map(({ kind, seq, u }) => ({ source, height, kind, seq, log_index: uintCol(u.logIndex, 53, 'logIndex'), message: bytesCol(u.message, 'message') }));
    const inserted = await insertFwdPkgIfNew.affected(tx, source, height, values.state, values.ack_filter, values.settle_fail_filter, values.fwd_filter);
    if (inserted !== 1n) {
      // A package at this height already exists (a replayed revocation): replace it.
      await tx.updateTable('fwd_pkgs').set(values).where('source', '=', source).where('height', '=', height).execute();
      await tx.deleteFrom('fwd_pkg_updates').where('source', '=', source).where('height', '=', height).execute();
    }
    await insertFwdPkgUpdates.execute(tx, updates);
  }

  /** The filters of package (source, height), locked for update; undefined if absent. */
  private async pkgFilters(tx: SqlTx, source: bigint, height: number): Promise<PkgFilters | undefined> {
    const row = await tx
      .selectFrom('fwd_pkgs')
      .select(['ack_filter', 'settle_fail_filter', 'fwd_filter'])
      .where('source', '=', source)
      .where('height', '=', height)
      .$if(this.backend.capabilities.rowLocks, (qb) => qb.forUpdate())
      .executeTakeFirst();
    return row === undefined ? undefined : filtersOfRow(row);
  }

  private async savePkgFilters(tx: SqlTx, source: bigint, height: number, filters: PkgFilters): Promise<void> {
    await tx
      .updateTable('fwd_pkgs')
      .set({
        state: fwdPkgState(filters),
        ack_filter: pkgFilterRecord.encode(filters.ackFilter),
        settle_fail_filter: pkgFilterRecord.encode(filters.settleFailFilter),
        fwd_filter: filters.fwdFilter === undefined ? null : pkgFilterRecord.encode(filters.fwdFilter),
      })
      .where('source', '=', source)
      .where('height', '=', height)
      .execute();
  }

  /** Sets ack bits; packages already removed are skipped (their adds were all acked). */
  private async ackAdds(tx: SqlTx, source: ShortChannelId, refs: readonly AddRef[]): Promise<void> {
    const src = u64Col(source);
    for (const ref of refs) {
      const filters = await this.pkgFilters(tx, src, ref.height);
      if (filters === undefined || filterContains(filters.ackFilter, ref.index)) continue;
      await this.savePkgFilters(tx, src, ref.height, { ...filters, ackFilter: withBit(filters.ackFilter, ref.index) });
    }
  }

  private async ackSettleFailsTx(tx: SqlTx, refs: readonly SettleFailRef[]): Promise<void> {
    for (const ref of refs) {
      const src = u64Col(ref.source);
      const filters = await this.pkgFilters(tx, src, ref.height);
      if (filters === undefined || filterContains(filters.settleFailFilter, ref.index)) continue;
      await this.savePkgFilters(tx, src, ref.height, { ...filters, settleFailFilter: withBit(filters.settleFailFilter, ref.index) });
    }
  }

  loadFwdPkgs(chanPoint: OutPoint): Promise<FwdPkg[]> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const channel = await this.findChannel(tx, chanPoint);
      const source = u64Col(channel.shortChannelId);
      const pkgs = await tx.selectFrom('fwd_pkgs').selectAll().where('source', '=', source).orderBy('height').execute();
      if (pkgs.length === 0) return [];
      const updates = await tx
        .selectFrom('fwd_pkg_updates')
        .select(['height', 'kind', 'log_index', 'message'])
        .where('source', '=', source)
        .orderBy('height')
        .orderBy('kind')
        .orderBy('seq')
        .execute();
      const byHeight = new Map<number, { adds: LogUpdate[]; settleFails: LogUpdate[] }>();
      for (const u of updates) {
        const height = num(u.height);
        let lists = byHeight.get(height);
        if (lists === undefined) byHeight.set(height, (lists = { adds: [], settleFails: [] }));
        (num(u.kind) === PkgUpdateKind.Add ? lists.adds : lists.settleFails).push({ logIndex: num(u.log_index), message: bytes(u.message) });
      }
      return pkgs.map((row) => {
        const height = num(row.height);
        const lists = byHeight.get(height) ?? { adds: [], settleFails: [] };
        return {
          source: u64Of(row.source),
          height,
          state: num(row.state) as FwdState,
          adds: lists.adds,
          settleFails: lists.settleFails,
          ...filtersOfRow(row),
        };
      });
    });
  }

  async ackAddHtlcs(chanPoint: OutPoint, refs: readonly AddRef[]): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => this.ackAdds(tx, (await this.lockChannel(tx, chanPoint)).shortChannelId, refs));
  }

  async ackSettleFails(refs: readonly SettleFailRef[]): Promise<void> {
    await this.write((tx) => this.ackSettleFailsTx(tx, refs));
  }

  async setFwdFilter(chanPoint: OutPoint, height: number, filter: PkgFilter): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      const source = u64Col((await this.lockChannel(tx, chanPoint)).shortChannelId);
      const filters = await this.pkgFilters(tx, source, height);
      if (filters === undefined) throw fwdPkgNotFound(chanPoint, height);
      const adds = await tx
        .selectFrom('fwd_pkg_updates')
        .select(sql<bigint | number>`count(*)`.as('n'))
        .where('source', '=', source)
        .where('height', '=', height)
        .where('kind', '=', PkgUpdateKind.Add)
        .executeTakeFirstOrThrow();
      if (filter.count !== num(adds.n)) throw new RangeError(`expected a filter of ${num(adds.n)} bits, got ${filter.count}`);
      // The first filter wins: a replayed setFwdFilter after a restart must not change
      // which adds get forwarded.
      if (filters.fwdFilter !== undefined) return;
      await this.savePkgFilters(tx, source, height, { ...filters, fwdFilter: filter });
    });
  }

  async removeFwdPkgs(chanPoint: OutPoint, heights: readonly number[]): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      const channel = await this.lockChannel(tx, chanPoint);
      const source = u64Col(channel.shortChannelId);
      for (const height of heights) {
        const filters = await this.pkgFilters(tx, source, height);
        if (filters === undefined) continue;
        if (fwdPkgState(filters) !== FwdState.Completed) {
          throw new ChandError(ErrorCode.FWD_PKG_INCOMPLETE, `forwarding package ${channel.shortChannelId}/${height} is not completed`);
        }
        await tx.deleteFrom('fwd_pkg_updates').where('source', '=', source).where('height', '=', height).execute();
        await tx.deleteFrom('fwd_pkgs').where('source', '=', source).where('height', '=', height).execute();
      }
    });
  }

  // --- closed channels ----------------------------------------------------------------

  fetchClosedChannels(pendingOnly: boolean): Promise<ChannelCloseSummary[]> {
    return this.read((tx) => closedSummaries(tx, pendingOnly ? (eb) => eb('closed_channels.is_pending', '=', 1) : undefined));
  }

  fetchClosedChannel(chanPoint: OutPoint): Promise<ChannelCloseSummary> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const summary = await readClosedSummary(tx, chanPoint);
      if (summary === undefined) throw closedNotFound(formatOutPoint(chanPoint));
      return summary;
    });
  }

  fetchClosedChannelById(channelId: Hex): Promise<ChannelCloseSummary> {
    assertHex(channelId, 32, 'channelId');
    const id = hexToBytes(channelId);
    return this.read(async (tx) => {
      const [summary] = await closedSummaries(tx, (eb) => eb('channels.wire_channel_id', '=', id));
      if (summary === undefined) throw closedNotFound(`with id ${channelId}`);
      return summary;
    });
  }

  /** The close itself, shared by closeChannel and abandonChannel; `channel` is locked. */
  private async closeTx(tx: SqlTx, chanPoint: OutPoint, channel: ChannelHandle, summary: ChannelCloseSummary, extraStatus: ChannelStatusBits): Promise<void> {
    const summaryColumns = closeSummaryColumns(summary);
    const flags = await tx.selectFrom('channels').select('last_was_revoke').where('id', '=', channel.id).executeTakeFirstOrThrow();
    await tx
      .insertInto('historical_channels')
      .values({
        channel_id: channel.id,
        local_commitment: commitmentRecord.encode(await requireCommitment(tx, channel.id, Party.Local, chanPoint)),
        remote_commitment: commitmentRecord.encode(await requireCommitment(tx, channel.id, Party.Remote, chanPoint)),
        remote_revocation: remoteRevocationRecord.encode(await readRevocation(tx, channel.id)),
        last_was_revoke: flags.last_was_revoke,
      })
      .execute();
    await tx.insertInto('closed_channels').values({ channel_id: channel.id, ...summaryColumns }).execute();
    await tx.insertInto('channel_configs').values(configRow(channel.id, ConfigSide.CloseSummary, summary.localConfig)).execute();
    await tx
      .updateTable('channels')
      .set({ closed: 1, purge_pending: 1, status: uintCol(channel.status | extraStatus, 53, 'status') })
      .where('id', '=', channel.id)
      .execute();
    await tx.deleteFrom('external_fundings').where('channel_id', '=', channel.id).execute();
  }

  async closeChannel(chanPoint: OutPoint, summary: ChannelCloseSummary, extraStatus: ChannelStatusBits = 0): Promise<void> {
    assertOutPoint(chanPoint);
    if (summary.chanPoint.txid !== chanPoint.txid || summary.chanPoint.index !== chanPoint.index) {
      throw new RangeError(`expected the summary of ${formatOutPoint(chanPoint)}, got one of ${formatOutPoint(summary.chanPoint)}`);
    }
    await this.write(async (tx) => this.closeTx(tx, chanPoint, await this.lockChannel(tx, chanPoint), summary, extraStatus));
  }

  async abandonChannel(chanPoint: OutPoint, bestHeight: number): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      const row = await tx
        .selectFrom('channels')
        .selectAll()
        .where(openAt(chanPoint))
        .$if(this.backend.capabilities.rowLocks, (qb) => qb.forUpdate())
        .executeTakeFirst();
      if (row === undefined) {
        // Abandoning twice is fine; abandoning an unknown channel is not.
        if ((await readClosedSummary(tx, chanPoint)) !== undefined) return;
        throw notFound(chanPoint);
      }
      const info = infoOfRow(row, await readConfigPair(tx, num(row.id)));
      const channel: ChannelHandle = { id: num(row.id), status: info.status, shortChannelId: info.shortChannelId };
      const local = await requireCommitment(tx, channel.id, Party.Local, chanPoint);
      const revocation = await readRevocation(tx, channel.id);
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
      await this.closeTx(tx, chanPoint, channel, summary, ChannelStatus.LocalCloseInitiator);
    });
  }

  // --- final HTLCs --------------------------------------------------------------------

  lookupFinalHtlc(channel: ShortChannelId, htlcIndex: number): Promise<FinalHtlcInfo> {
    return this.read(async (tx) => {
      const row = await tx
        .selectFrom('final_htlcs')
        .select(['settled', 'offchain'])
        .where('short_channel_id', '=', u64Col(channel))
        .where('htlc_index', '=', htlcIndex)
        .executeTakeFirst();
      if (row === undefined) throw new ChandError(ErrorCode.HTLC_UNKNOWN, `no final outcome for HTLC ${htlcIndex} of channel ${channel}`);
      return { settled: bool(row.settled), offchain: bool(row.offchain) };
    });
  }

  async putOnchainFinalHtlcOutcome(channel: ShortChannelId, htlcIndex: number, settled: boolean): Promise<void> {
    await this.write(async (tx) => {
      const values = { settled: flag(settled), offchain: 0 };
      await tx
        .insertInto('final_htlcs')
        .values({ short_channel_id: u64Col(channel), htlc_index: uintCol(htlcIndex, 53, 'htlcIndex'), ...values })
        .onConflict((oc) => oc.columns(['short_channel_id', 'htlc_index']).doUpdateSet(values))
        .execute();
    });
  }

  // --- setup state --------------------------------------------------------------------

  async saveChannelOpeningState(chanPoint: OutPoint, state: ChannelOpeningState): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      openingStateRecord.encode(state);
      const values = { stage: state.stage, short_channel_id: u64Col(state.shortChannelId) };
      await tx
        .insertInto('opening_states')
        .values({ txid: hexToBytes(chanPoint.txid), output_index: chanPoint.index, ...values })
        .onConflict((oc) => oc.columns(['txid', 'output_index']).doUpdateSet(values))
        .execute();
    });
  }

  getChannelOpeningState(chanPoint: OutPoint): Promise<ChannelOpeningState> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const row = await tx
        .selectFrom('opening_states')
        .select(['stage', 'short_channel_id'])
        .where('txid', '=', hexToBytes(chanPoint.txid))
        .where('output_index', '=', chanPoint.index)
        .executeTakeFirst();
      if (row === undefined) throw new ChandError(ErrorCode.OPENING_STATE_NOT_FOUND, `no opening state for channel ${formatOutPoint(chanPoint)}`);
      return { stage: num(row.stage) as OpeningStage, shortChannelId: u64Of(row.short_channel_id) };
    });
  }

  async deleteChannelOpeningState(chanPoint: OutPoint): Promise<void> {
    assertOutPoint(chanPoint);
    await this.write(async (tx) => {
      await tx.deleteFrom('opening_states').where('txid', '=', hexToBytes(chanPoint.txid)).where('output_index', '=', chanPoint.index).execute();
    });
  }

  async saveInitialForwardingPolicy(channelId: Hex, policy: ForwardingPolicy): Promise<void> {
    assertHex(channelId, 32, 'channelId');
    await this.write(async (tx) => {
      forwardingPolicyRecord.encode(policy);
      const values = {
        min_htlc_msat: amountCol(policy.minHtlcMsat, 'minHtlcMsat'),
        max_htlc_msat: amountCol(policy.maxHtlcMsat, 'maxHtlcMsat'),
        base_fee_msat: amountCol(policy.baseFeeMsat, 'baseFeeMsat'),
        fee_rate_ppm: policy.feeRatePpm,
        time_lock_delta: policy.timeLockDelta,
      };
      await tx
        .insertInto('initial_forwarding_policies')
        .values({ wire_channel_id: hexToBytes(channelId), ...values })
        .onConflict((oc) => oc.column('wire_channel_id').doUpdateSet(values))
        .execute();
    });
  }

  getInitialForwardingPolicy(channelId: Hex): Promise<ForwardingPolicy> {
    assertHex(channelId, 32, 'channelId');
    return this.read(async (tx) => {
      const row = await tx.selectFrom('initial_forwarding_policies').selectAll().where('wire_channel_id', '=', hexToBytes(channelId)).executeTakeFirst();
      if (row === undefined) throw new ChandError(ErrorCode.FORWARDING_POLICY_NOT_FOUND, `no initial forwarding policy for channel ${channelId}`);
      return {
        minHtlcMsat: big(row.min_htlc_msat),
        maxHtlcMsat: big(row.max_htlc_msat),
        baseFeeMsat: big(row.base_fee_msat),
        feeRatePpm: num(row.fee_rate_ppm),
        timeLockDelta: num(row.time_lock_delta),
      };
    });
  }

  async deleteInitialForwardingPolicy(channelId: Hex): Promise<void> {
    assertHex(channelId, 32, 'channelId');
    await this.write(async (tx) => {
      await tx.deleteFrom('initial_forwarding_policies').where('wire_channel_id', '=', hexToBytes(channelId)).execute();
    });
  }

  // --- external funding ---------------------------------------------------------------

  fetchExternalFunding(chanPoint: OutPoint): Promise<ExternalFundingState> {
    assertOutPoint(chanPoint);
    return this.read(async (tx) => {
      const row = await tx.selectFrom('channels').select('id').where(openAt(chanPoint)).executeTakeFirst();
      const state = row === undefined ? undefined : await readExternalFunding(tx, num(row.id));
      if (state === undefined) throw new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `channel ${formatOutPoint(chanPoint)} has no external funding state`);
      return state;
    });
  }

  fetchAllExternalFundings(): Promise<Array<{ chanPoint: OutPoint; state: ExternalFundingState }>> {
    return this.read(async (tx) => {
      const rows = await tx
        .selectFrom('external_fundings')
        .innerJoin('channels', 'channels.id', 'external_fundings.channel_id')
        .selectAll('external_fundings')
        .select(['channels.txid', 'channels.output_index'])
        .orderBy('channels.txid')
        .orderBy('channels.output_index')
        .execute();
      return rows.map((row) => {
        const state: ExternalFundingState = { unsignedPsbt: bytes(row.unsigned_psbt), deadlineMs: num(row.deadline_ms), submitted: bool(row.submitted) };
        return {
          chanPoint: { txid: hex(row.txid), index: num(row.output_index) },
          state: row.signed_tx === null ? state : { ...state, signedTx: bytes(row.signed_tx) },
        };
      });
    });
  }

  submitExternalFunding(chanPoint: OutPoint, signedTx: Uint8Array): Promise<ExternalFundingState> {
    assertOutPoint(chanPoint);
    if (!(signedTx instanceof Uint8Array) || signedTx.length === 0) throw new TypeError('expected a non-empty signed transaction');
    return this.write(async (tx) => {
      const channel = await this.lockChannel(tx, chanPoint);
      const state = await readExternalFunding(tx, channel.id);
      if (state === undefined) throw new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `channel ${formatOutPoint(chanPoint)} has no external funding state`);
      if (state.submitted) {
        if (state.signedTx !== undefined && equalBytes(state.signedTx, signedTx)) return state;
        throw new ChandError(ErrorCode.EXTERNAL_FUNDING_CONFLICT, `channel ${formatOutPoint(chanPoint)} already has a different signed funding transaction`);
      }
      const next: ExternalFundingState = { ...state, submitted: true, signedTx: signedTx.slice() };
      await tx.updateTable('external_fundings').set({ submitted: 1, signed_tx: next.signedTx ?? null }).where('channel_id', '=', channel.id).execute();
      return next;
    });
  }

  // --- maintenance --------------------------------------------------------------------

  purgeClosedChannels(maxRecords: number): Promise<PurgeResult> {
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new RangeError(`expected a positive batch size, got ${maxRecords}`);
    return this.write(async (tx) => {
      let deleted = 0;
      const queue = await tx
        .selectFrom('channels')
        .select(['id', 'short_channel_id'])
        .where('purge_pending', '=', 1)
        .orderBy('txid')
        .orderBy('output_index')
        .execute();
      for (const row of queue) {
        const id = num(row.id);
        const source = big(row.short_channel_id);
        for (const t of PURGE_TABLES) {
          // A pending channel never had forwarding packages; scid 0 is shared by them all.
          if (t.owner === 'source' && source === 0n) continue;
          deleted += await purgeBatch(tx, t, t.owner === 'source' ? source : id, maxRecords - deleted);
          if (deleted >= maxRecords) return { deleted, done: false };
        }
        await tx.updateTable('channels').set({ purge_pending: 0 }).where('id', '=', id).execute();
      }
      return { deleted, done: true };
    });
  }

  counts(): Promise<StoreCounts> {
    return this.read(async (tx) => {
      const count = async (where: ChannelFilter) =>
        num((await tx.selectFrom('channels').select(sql<bigint | number>`count(*)`.as('n')).where(where).executeTakeFirstOrThrow()).n);
      return {
        openChannels: await count((eb) => eb.and([eb('closed', '=', 0), eb('is_pending', '=', 0), eb('status', '=', ChannelStatus.Default)])),
        pendingChannels: await count((eb) => eb.and([eb('closed', '=', 0), eb('is_pending', '=', 1)])),
        waitingCloseChannels: await count((eb) => eb.and([eb('closed', '=', 0), eb('status', '!=', ChannelStatus.Default)])),
        closedChannels: await countRows(tx, 'closed_channels'),
        revocationLogEntries: await countRows(tx, 'revocation_log'),
        fwdPkgs: await countRows(tx, 'fwd_pkgs'),
        closedAwaitingPurge: await count((eb) => eb('purge_pending', '=', 1)),
      };
    });
  }
}
