/**
 * SQL facet: bulk export and import of every record (chanstate/bulk-transfer.ts), for moving
 * a node between backends.
 *
 * Export: each section is a keyset-paginated scan in bulk order (channel points by txid
 * bytes then output index, as every channel-point ORDER BY here; short channel ids in
 * *unsigned* order — they are stored as two's-complement INT8, so the non-negative half comes
 * first, then the negative half), each page one `read` transaction (on PostgreSQL
 * REPEATABLE READ READ ONLY). Rows are assembled with the same helpers the store's facets use
 * (loadChannels, closedSummaries, revokedStatesFrom, readLinkNode, invoiceOfRow, withAttempts,
 * ...); invoices by add_index, payments by payment_index (both unique). The revocation log's
 * blocks form (BulkRevocationBlock) hands out revocation_blocks rows and the open block of
 * revocation_states as their bytes, and stores them so (commitments.ts putRevocationBlocks).
 *
 * Import: one `exclusive` transaction per page, writing through the facets' own helpers
 * (insertChannel, insertCommitment, putFwdPkg, appendRevokedStates, putLinkNode, ...); a
 * closed channel is written as the tombstone a close leaves (closed = 1, purge_pending
 * kept). The import state lives in the table `chand_import_state` (one row), created by the
 * first page and dropped by clearImportState; it exists only while a migration into this
 * database is incomplete, and openChannelDb refuses the database while it does
 * (DB_MIGRATION_INCOMPLETE). Being transient, it is not part of the migrated schema.
 */
import { sql, type Insertable } from 'kysely';
import { outPointFromKey } from '../chanstate/channel-id.js';
import {
  blockPageOf,
  pageOf,
  type BulkCursor,
  type BulkExportOptions,
  type BulkPage,
  type BulkRecord,
  type BulkRevocationBlock,
  type BulkTransferStore,
  type RevocationBlockLayout,
} from '../chanstate/bulk-transfer.js';
import { blockSpan, type RevocationBlock } from '../chanstate/revocation-blocks.js';
import { commitmentRecord, remoteRevocationRecord } from '../chanstate/records.js';
import type { CommitDiff, FwdPkg, FwdState, LogUpdate, OpenChannel, OpeningStage, OutPoint, RevocationLogEntry } from '../chanstate/types.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import { pkgFilterRecord } from '../chanstate/records.js';
import {
  closedSummaries,
  closeSummaryColumns,
  configRow,
  infoOfRow,
  insertChannel,
  insertCommitment,
  insertUpdates,
  loadChannels,
  readCommitment,
  readConfigPair,
  readKeyIndexCounter,
  readUpdates,
  writeKeyIndexCounter,
} from './chanstate-tx.js';
import { amountCol, big, boolOf, bytes, flag, hexOf, num, plain, u64Col, u64Of } from './columns.js';
import {
  appendRevokedStates,
  putRevocationBlocks,
  readOpenRevocationBlock,
  revokedStatesFrom,
  sealedBlockAtOrBelow,
  sealedBlocksAfter,
  SQL_BLOCK_LIMIT,
} from './commitments.js';
import { insertInvoice, invoiceOfRow } from './invoices.js';
import { withAttempts, writePayment } from './payments.js';
import { putFwdPkg } from './fwd-pkgs.js';
import { putLinkNode, readLinkNode } from './link-node-store.js';
import { PreparedInsert } from './prepared.js';
import { circuitKeyListRecord } from './records.js';
import { ConfigSide, Party, PkgUpdateKind, UpdateList, type Database } from './schema.js';
import type { SqlBackend, SqlTx } from './transactions.js';

/** chand_import_state: the import state of an incomplete migration into this database (one row, id 1). */
export const IMPORT_STATE_TABLE = 'chand_import_state';

const insertFinalHtlcRows = new PreparedInsert<Insertable<Database['final_htlcs']>>(['short_channel_id', 'htlc_index', 'settled', 'offchain'], (db, rows) =>
  db.insertInto('final_htlcs').values(rows),
);

/** The layout of the SQL revocation blocks (commitments.ts). */
export const SQL_BLOCK_LAYOUT: RevocationBlockLayout = { format: 1, limit: SQL_BLOCK_LIMIT };

/** Bytes of a cursor key (hex) and its parts. */
const keyBytes = (after: string) => hexToBytes(after);
const u64At = (b: Uint8Array, offset: number): bigint => new DataView(b.buffer, b.byteOffset + offset, 8).getBigUint64(0);
/** The channel point at the start of a cursor key. */
const opAt = (b: Uint8Array): OutPoint => outPointFromKey(b.subarray(0, 36));
/** The row condition "(txid, output_index) after `op`". */
const afterChanPoint = (op: OutPoint | undefined, txidCol = 'txid', indexCol = 'output_index') =>
  op === undefined ? sql<boolean>`1 = 1` : sql<boolean>`(${sql.ref(txidCol)}, ${sql.ref(indexCol)}) > (${hexToBytes(op.txid)}, ${op.index})`;

/**
 * Rows of a table keyed (scid, second) in unsigned scid order after (scid, second): the
 * non-negative INT8 half first, then the negative half. `query(where, limit)` runs one half.
 */
async function unsignedScidPage<R>(
  after: string | undefined,
  limit: number,
  scidCol: string,
  secondCol: string,
  query: (where: ReturnType<typeof sql<boolean>>, limit: number) => Promise<R[]>,
): Promise<R[]> {
  const s = sql.ref(scidCol);
  const k = sql.ref(secondCol);
  let cursor: { scid: bigint; second: bigint } | undefined;
  if (after !== undefined) {
    const b = keyBytes(after);
    cursor = { scid: u64Col(u64At(b, 0)), second: u64At(b, 8) };
  }
  const out: R[] = [];
  if (cursor === undefined || cursor.scid >= 0n) {
    const where = cursor === undefined ? sql<boolean>`${s} >= 0` : sql<boolean>`${s} >= 0 and (${s}, ${k}) > (${cursor.scid}, ${cursor.second})`;
    out.push(...(await query(where, limit)));
  }
  if (out.length < limit) {
    const where = cursor === undefined || cursor.scid >= 0n ? sql<boolean>`${s} < 0` : sql<boolean>`${s} < 0 and (${s}, ${k}) > (${cursor.scid}, ${cursor.second})`;
    out.push(...(await query(where, limit - out.length)));
  }
  return out;
}

/** The remote chain tip of channel row `id`, or undefined. */
async function readTip(tx: SqlTx, id: number): Promise<CommitDiff | undefined> {
  const row = await tx.selectFrom('commit_diffs').selectAll().where('channel_id', '=', id).executeTakeFirst();
  if (row === undefined) return undefined;
  const commitment = await readCommitment(tx, id, Party.RemoteTip);
  if (commitment === undefined) throw new ChandError(ErrorCode.DB_CORRUPT, `channel row ${id} has a commit diff but no chain-tip commitment`);
  return {
    commitment,
    logUpdates: await readUpdates(tx, id, UpdateList.RemoteTip),
    commitSig: bytes(row.commit_sig),
    openedCircuitKeys: circuitKeyListRecord.decode(plain(row.opened_circuit_keys)).keys,
    closedCircuitKeys: circuitKeyListRecord.decode(plain(row.closed_circuit_keys)).keys,
  };
}

async function exportChannels(tx: SqlTx, after: string | undefined, limit: number): Promise<BulkRecord[]> {
  const rows = await tx
    .selectFrom('channels')
    .select(['id', 'txid', 'output_index', 'data_loss_commit_point', 'shutdown_delivery_script', 'shutdown_closer', 'commit_close_tx', 'coop_close_tx'])
    .where('closed', '=', 0)
    .where(afterChanPoint(after === undefined ? undefined : opAt(keyBytes(after))))
    .orderBy('txid')
    .orderBy('output_index')
    .limit(limit)
    .execute();
  if (rows.length === 0) return [];
  const channels = await loadChannels(tx, (eb) => eb('id', 'in', rows.map((r) => r.id)));
  const out: BulkRecord[] = [];
  for (const [i, row] of rows.entries()) {
    const channel = channels[i]!;
    const id = num(row.id);
    const tip = await readTip(tx, id);
    out.push({
      kind: 'channel',
      channel,
      ...(tip === undefined ? {} : { remoteCommitTip: tip }),
      unsignedAckedUpdates: await readUpdates(tx, id, UpdateList.UnsignedAcked),
      remoteUnsignedLocalUpdates: await readUpdates(tx, id, UpdateList.RemoteUnsignedLocal),
      ...(row.data_loss_commit_point === null ? {} : { dataLossCommitPoint: hexOf(row.data_loss_commit_point, 33, 'channels.data_loss_commit_point') }),
      ...(row.shutdown_delivery_script === null || row.shutdown_closer === null
        ? {}
        : { shutdownInfo: { deliveryScript: bytes(row.shutdown_delivery_script), closer: num(row.shutdown_closer) === 0 ? ('local' as const) : ('remote' as const) } }),
      ...(row.commit_close_tx === null ? {} : { commitmentCloseTx: bytes(row.commit_close_tx) }),
      ...(row.coop_close_tx === null ? {} : { cooperativeCloseTx: bytes(row.coop_close_tx) }),
    });
  }
  return out;
}

async function exportClosed(tx: SqlTx, after: string | undefined, limit: number): Promise<BulkRecord[]> {
  const rows = await tx
    .selectFrom('channels')
    .innerJoin('historical_channels', 'historical_channels.channel_id', 'channels.id')
    .selectAll('channels')
    .select([
      'historical_channels.local_commitment',
      'historical_channels.remote_commitment',
      'historical_channels.remote_revocation',
      'historical_channels.last_was_revoke as archived_last_was_revoke',
    ])
    .where('channels.closed', '=', 1)
    .where(afterChanPoint(after === undefined ? undefined : opAt(keyBytes(after)), 'channels.txid', 'channels.output_index'))
    .orderBy('channels.txid')
    .orderBy('channels.output_index')
    .limit(limit)
    .execute();
  if (rows.length === 0) return [];
  const summaries = await closedSummaries(tx, (eb) => eb('channels.id', 'in', rows.map((r) => r.id)));
  if (summaries.length !== rows.length) throw new ChandError(ErrorCode.DB_CORRUPT, 'a closed channel row has no close summary');
  const out: BulkRecord[] = [];
  for (const [i, row] of rows.entries()) {
    const historical: OpenChannel = {
      ...infoOfRow(row, await readConfigPair(tx, num(row.id))),
      localCommitment: commitmentRecord.decode(plain(row.local_commitment)),
      remoteCommitment: commitmentRecord.decode(plain(row.remote_commitment)),
      remoteRevocation: remoteRevocationRecord.decode(plain(row.remote_revocation)),
      lastWasRevoke: boolOf(row.archived_last_was_revoke, 'historical_channels.last_was_revoke'),
    };
    out.push({ kind: 'closedChannel', summary: summaries[i]!, historical, purgePending: boolOf(row.purge_pending, 'channels.purge_pending') });
  }
  return out;
}

/** The next channel row (open or closed) after `op` that has revocation log rows. */
async function nextLogChannel(tx: SqlTx, op: OutPoint | undefined): Promise<{ id: number; op: OutPoint } | undefined> {
  const row = await tx
    .selectFrom('channels')
    .select(['id', 'txid', 'output_index'])
    .where(afterChanPoint(op))
    // Every channel with a revocation log has an open block (commitments.ts).
    .where((eb) => eb.exists(eb.selectFrom('revocation_states').select('channel_id').whereRef('revocation_states.channel_id', '=', 'channels.id').where('open_log_block', 'is not', null)))
    .orderBy('txid')
    .orderBy('output_index')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : { id: num(row.id), op: { txid: hexOf(row.txid, 32, 'channels.txid'), index: num(row.output_index) } };
}

async function exportRevocationLog(tx: SqlTx, after: string | undefined, limit: number): Promise<BulkRecord[]> {
  const out: BulkRecord[] = [];
  let channel: { id: number; op: OutPoint } | undefined;
  let from = 0;
  if (after === undefined) channel = await nextLogChannel(tx, undefined);
  else {
    const b = keyBytes(after);
    const op = opAt(b);
    const row = await tx.selectFrom('channels').select('id').where('txid', '=', hexToBytes(op.txid)).where('output_index', '=', op.index).executeTakeFirst();
    channel = row === undefined ? await nextLogChannel(tx, op) : { id: num(row.id), op };
    if (row !== undefined) from = Number(u64At(b, 36)) + 1;
  }
  while (channel !== undefined && out.length < limit) {
    for (const entry of await revokedStatesFrom(tx, channel.id, from, limit - out.length)) out.push({ kind: 'revocationLogEntry', chanPoint: channel.op, entry });
    if (out.length >= limit) break;
    channel = await nextLogChannel(tx, channel.op);
    from = 0;
  }
  return out;
}

/**
 * Stored revocation blocks after `after` (chanPoint || the last height of a block already
 * returned), whole, as many as fit in `limit` states (at least one): per channel with a log, its sealed
 * rows in height order, then its open block. `full` when the limit was reached.
 */
async function exportLogBlocks(tx: SqlTx, after: string | undefined, limit: number): Promise<{ records: BulkRevocationBlock[]; full: boolean }> {
  const out: BulkRevocationBlock[] = [];
  let states = 0;
  let channel: { id: number; op: OutPoint } | undefined;
  let from = -1;
  if (after === undefined) channel = await nextLogChannel(tx, undefined);
  else {
    const b = keyBytes(after);
    const op = opAt(b);
    const row = await tx.selectFrom('channels').select('id').where('txid', '=', hexToBytes(op.txid)).where('output_index', '=', op.index).executeTakeFirst();
    channel = row === undefined ? await nextLogChannel(tx, op) : { id: num(row.id), op };
    if (row !== undefined) from = Number(u64At(b, 36));
  }
  while (channel !== undefined) {
    const openBytes = await readOpenRevocationBlock(tx, channel.id);
    if (openBytes === undefined) throw new ChandError(ErrorCode.DB_CORRUPT, `channel row ${channel.id} has revocation blocks but no open block`);
    const open = blockSpan(openBytes);
    if (from >= 0) {
      let last: number | undefined;
      if (open.firstHeight <= from) last = open.lastHeight;
      else {
        const at = await sealedBlockAtOrBelow(tx, channel.id, from);
        last = at === undefined ? undefined : blockSpan(at.bytes, at.firstHeight).lastHeight;
      }
      if (last !== from) throw new RangeError(`expected a cursor at the end of a revocation block of ${channel.op.txid}:${channel.op.index}, got height ${from}`);
    }
    for (let height = from; ; ) {
      const blocks = await sealedBlocksAfter(tx, channel.id, height, 64);
      for (const block of blocks) {
        const span = blockSpan(block.bytes, block.firstHeight);
        // A page never goes beyond `limit` states, unless its first block alone does.
        if (out.length > 0 && states + span.count > limit) return { records: out, full: true };
        out.push({ kind: 'revocationBlock', chanPoint: channel.op, ...span, open: false, bytes: block.bytes });
        if ((states += span.count) >= limit) return { records: out, full: true };
        height = block.firstHeight;
      }
      if (blocks.length < 64) break;
    }
    if (open.firstHeight > from) {
      if (out.length > 0 && states + open.count > limit) return { records: out, full: true };
      out.push({ kind: 'revocationBlock', chanPoint: channel.op, ...open, open: true, bytes: openBytes });
      if ((states += open.count) >= limit) return { records: out, full: true };
    }
    channel = await nextLogChannel(tx, channel.op);
    from = -1;
  }
  return { records: out, full: false };
}

async function exportFwdPkgs(tx: SqlTx, after: string | undefined, limit: number): Promise<BulkRecord[]> {
  const rows = await unsignedScidPage(after, limit, 'source', 'height', (where, n) =>
    tx.selectFrom('fwd_pkgs').selectAll().where(where).orderBy('source').orderBy('height').limit(n).execute(),
  );
  if (rows.length === 0) return [];
  // The updates of the page's packages: one range query per source.
  const lists = new Map<string, { adds: LogUpdate[]; settleFails: LogUpdate[] }>();
  const bySource = new Map<bigint, number[]>();
  for (const row of rows) {
    const source = big(row.source);
    const heights = bySource.get(source) ?? [];
    heights.push(num(row.height));
    bySource.set(source, heights);
  }
  for (const [source, heights] of bySource) {
    const updates = await tx
      .selectFrom('fwd_pkg_updates')
      .select(['height', 'kind', 'log_index', 'message'])
      .where('source', '=', source)
      .where('height', '>=', Math.min(...heights))
      .where('height', '<=', Math.max(...heights))
      .orderBy('height')
      .orderBy('kind')
      .orderBy('seq')
      .execute();
    for (const u of updates) {
      const k = `${source}/${num(u.height)}`;
      let list = lists.get(k);
      if (list === undefined) lists.set(k, (list = { adds: [], settleFails: [] }));
      (num(u.kind) === PkgUpdateKind.Add ? list.adds : list.settleFails).push({ logIndex: num(u.log_index), message: bytes(u.message) });
    }
  }
  return rows.map((row): BulkRecord => {
    const list = lists.get(`${big(row.source)}/${num(row.height)}`) ?? { adds: [], settleFails: [] };
    const pkg: FwdPkg = {
      source: u64Of(row.source),
      height: num(row.height),
      state: num(row.state) as FwdState,
      adds: list.adds,
      settleFails: list.settleFails,
      ackFilter: pkgFilterRecord.decode(plain(row.ack_filter)),
      settleFailFilter: pkgFilterRecord.decode(plain(row.settle_fail_filter)),
      ...(row.fwd_filter === null ? {} : { fwdFilter: pkgFilterRecord.decode(plain(row.fwd_filter)) }),
    };
    return { kind: 'fwdPkg', pkg };
  });
}

async function exportSection(tx: SqlTx, cursor: BulkCursor, limit: number): Promise<BulkRecord[]> {
  const { after } = cursor;
  switch (cursor.section) {
    case 'linkNode': {
      const rows = await tx
        .selectFrom('link_nodes')
        .select('pubkey')
        .$if(after !== undefined, (qb) => qb.where('pubkey', '>', hexToBytes(after!)))
        .orderBy('pubkey')
        .limit(limit)
        .execute();
      const out: BulkRecord[] = [];
      for (const row of rows) {
        const node = await readLinkNode(tx, bytesToHex(row.pubkey));
        if (node !== undefined) out.push({ kind: 'linkNode', node });
      }
      return out;
    }
    case 'channel':
      return exportChannels(tx, after, limit);
    case 'closedChannel':
      return exportClosed(tx, after, limit);
    case 'revocationLogEntry':
      return exportRevocationLog(tx, after, limit);
    case 'fwdPkg':
      return exportFwdPkgs(tx, after, limit);
    case 'finalHtlc': {
      const rows = await unsignedScidPage(after, limit, 'short_channel_id', 'htlc_index', (where, n) =>
        tx.selectFrom('final_htlcs').selectAll().where(where).orderBy('short_channel_id').orderBy('htlc_index').limit(n).execute(),
      );
      return rows.map((r) => ({
        kind: 'finalHtlc',
        shortChannelId: u64Of(r.short_channel_id),
        htlcIndex: num(r.htlc_index),
        outcome: { settled: boolOf(r.settled, 'final_htlcs.settled'), offchain: boolOf(r.offchain, 'final_htlcs.offchain') },
      }));
    }
    case 'openingState': {
      const rows = await tx
        .selectFrom('opening_states')
        .selectAll()
        .where(afterChanPoint(after === undefined ? undefined : opAt(keyBytes(after))))
        .orderBy('txid')
        .orderBy('output_index')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        kind: 'openingState',
        chanPoint: { txid: hexOf(r.txid, 32, 'opening_states.txid'), index: num(r.output_index) },
        state: { stage: num(r.stage) as OpeningStage, shortChannelId: u64Of(r.short_channel_id) },
      }));
    }
    case 'forwardingPolicy': {
      const rows = await tx
        .selectFrom('initial_forwarding_policies')
        .selectAll()
        .$if(after !== undefined, (qb) => qb.where('wire_channel_id', '>', hexToBytes(after!)))
        .orderBy('wire_channel_id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        kind: 'forwardingPolicy',
        channelId: hexOf(r.wire_channel_id, 32, 'initial_forwarding_policies.wire_channel_id'),
        policy: { minHtlcMsat: big(r.min_htlc_msat), maxHtlcMsat: big(r.max_htlc_msat), baseFeeMsat: big(r.base_fee_msat), feeRatePpm: num(r.fee_rate_ppm), timeLockDelta: num(r.time_lock_delta) },
      }));
    }
    case 'invoice': {
      const rows = await tx
        .selectFrom('invoices')
        .selectAll()
        .$if(after !== undefined, (qb) => qb.where('add_index', '>', Number(u64At(keyBytes(after!), 0))))
        .orderBy('add_index')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ kind: 'invoice', invoice: invoiceOfRow(row) }));
    }
    case 'payment': {
      const rows = await tx
        .selectFrom('payments')
        .selectAll()
        .$if(after !== undefined, (qb) => qb.where('payment_index', '>', Number(u64At(keyBytes(after!), 0))))
        .orderBy('payment_index')
        .limit(limit)
        .execute();
      return (await withAttempts(tx, rows)).map((payment) => ({ kind: 'payment', payment }));
    }
    case 'keyIndex':
      return [{ kind: 'keyIndex', next: await readKeyIndexCounter(tx) }];
  }
}

/** Writes a channel record's parts stored beside the channel row `id`. */
async function importChannelExtras(tx: SqlTx, id: number, record: Extract<BulkRecord, { kind: 'channel' }>): Promise<void> {
  const tip = record.remoteCommitTip;
  if (tip !== undefined) {
    await tx
      .insertInto('commit_diffs')
      .values({
        channel_id: id,
        commit_sig: tip.commitSig,
        opened_circuit_keys: circuitKeyListRecord.encode({ keys: tip.openedCircuitKeys }),
        closed_circuit_keys: circuitKeyListRecord.encode({ keys: tip.closedCircuitKeys }),
      })
      .execute();
    await insertCommitment(tx, id, Party.RemoteTip, tip.commitment);
    await insertUpdates(tx, id, UpdateList.RemoteTip, tip.logUpdates);
  }
  await insertUpdates(tx, id, UpdateList.UnsignedAcked, record.unsignedAckedUpdates);
  await insertUpdates(tx, id, UpdateList.RemoteUnsignedLocal, record.remoteUnsignedLocalUpdates);
  const columns = {
    ...(record.dataLossCommitPoint === undefined ? {} : { data_loss_commit_point: hexToBytes(record.dataLossCommitPoint) }),
    ...(record.shutdownInfo === undefined ? {} : { shutdown_delivery_script: record.shutdownInfo.deliveryScript, shutdown_closer: record.shutdownInfo.closer === 'local' ? 0 : 1 }),
    ...(record.commitmentCloseTx === undefined ? {} : { commit_close_tx: record.commitmentCloseTx }),
    ...(record.cooperativeCloseTx === undefined ? {} : { coop_close_tx: record.cooperativeCloseTx }),
  };
  if (Object.keys(columns).length > 0) await tx.updateTable('channels').set(columns).where('id', '=', id).execute();
}

/** Writes a closed channel as the tombstone closeChannelTx (closed-channels.ts) leaves. */
async function importClosed(tx: SqlTx, record: Extract<BulkRecord, { kind: 'closedChannel' }>): Promise<void> {
  const { historical, summary } = record;
  // The row, its configs, commitments and revocation state, as for an open channel (the
  // same collision checks); then it becomes the tombstone.
  const id = await insertChannel(tx, historical);
  await tx
    .updateTable('channels')
    .set({ closed: 1, purge_pending: flag(record.purgePending) })
    .where('id', '=', id)
    .execute();
  if (!record.purgePending) {
    // A purged channel has no bulk rows left.
    for (const table of ['htlcs', 'commitments', 'revocation_secrets', 'revocation_blocks', 'revocation_states'] as const) await tx.deleteFrom(table).where('channel_id', '=', id).execute();
  }
  await tx
    .insertInto('historical_channels')
    .values({
      channel_id: id,
      local_commitment: commitmentRecord.encode(historical.localCommitment),
      remote_commitment: commitmentRecord.encode(historical.remoteCommitment),
      remote_revocation: remoteRevocationRecord.encode(historical.remoteRevocation),
      last_was_revoke: flag(historical.lastWasRevoke),
    })
    .execute();
  await tx
    .insertInto('closed_channels')
    .values({ channel_id: id, ...closeSummaryColumns(summary) })
    .execute();
  await tx.insertInto('channel_configs').values(configRow(id, ConfigSide.CloseSummary, summary.localConfig)).execute();
}

/** Writes one page of records (see BulkImportStore.importPage). */
async function importRecords(tx: SqlTx, records: readonly BulkRecord[]): Promise<void> {
  const channelIds = new Map<string, number>();
  const idOf = async (op: OutPoint): Promise<number> => {
    const k = `${op.txid}:${op.index}`;
    let id = channelIds.get(k);
    if (id === undefined) {
      const row = await tx.selectFrom('channels').select('id').where('txid', '=', hexToBytes(op.txid)).where('output_index', '=', op.index).executeTakeFirst();
      if (row === undefined) throw new ChandError(ErrorCode.CHANNEL_NOT_FOUND, `revocation log entry of unknown channel ${op.txid}:${op.index}`);
      channelIds.set(k, (id = num(row.id)));
    }
    return id;
  };
  const finalRows: Insertable<Database['final_htlcs']>[] = [];
  // Consecutive revoked states of one channel go to the log's writer together
  // (commitments.ts appendRevokedStates: the open block is read and written once).
  let run: { id: number; entries: RevocationLogEntry[] } | undefined;
  // Consecutive blocks of one channel are stored together (one multi-row insert).
  let blocks: { id: number; op: OutPoint; sealed: RevocationBlock[]; open: Uint8Array | undefined } | undefined;
  const flushRun = async () => {
    if (run !== undefined) await appendRevokedStates(tx, run.id, run.entries);
    run = undefined;
    if (blocks !== undefined) await putRevocationBlocks(tx, blocks.id, blocks.sealed, blocks.open);
    blocks = undefined;
  };
  const outOfOrder = (op: OutPoint, firstHeight: number) =>
    new RangeError(`expected the revocation blocks of ${op.txid}:${op.index} in order with the open block last, got block ${firstHeight} after the open block`);
  for (const record of records) {
    if (record.kind !== 'revocationLogEntry' && record.kind !== 'revocationBlock') await flushRun();
    switch (record.kind) {
      case 'linkNode':
        await putLinkNode(tx, record.node);
        break;
      case 'channel':
        await importChannelExtras(tx, await insertChannel(tx, record.channel), record);
        break;
      case 'closedChannel':
        await importClosed(tx, record);
        break;
      case 'revocationLogEntry': {
        const id = await idOf(record.chanPoint);
        if (blocks !== undefined || (run !== undefined && run.id !== id)) await flushRun();
        run ??= { id, entries: [] };
        run.entries.push(record.entry);
        break;
      }
      case 'revocationBlock': {
        const id = await idOf(record.chanPoint);
        if (run !== undefined || (blocks !== undefined && blocks.id !== id)) await flushRun();
        if (blocks === undefined) {
          if ((await readOpenRevocationBlock(tx, id)) !== undefined) throw outOfOrder(record.chanPoint, record.firstHeight);
          blocks = { id, op: record.chanPoint, sealed: [], open: undefined };
        }
        if (blocks.open !== undefined) throw outOfOrder(record.chanPoint, record.firstHeight);
        if (record.open) blocks.open = record.bytes;
        else blocks.sealed.push({ firstHeight: record.firstHeight, bytes: record.bytes });
        break;
      }
      case 'invoice':
        await insertInvoice(tx, record.invoice);
        break;
      case 'payment':
        await writePayment(tx, record.payment, undefined);
        break;
      case 'fwdPkg':
        await putFwdPkg(tx, record.pkg);
        break;
      case 'finalHtlc':
        finalRows.push({ short_channel_id: u64Col(record.shortChannelId), htlc_index: record.htlcIndex, settled: flag(record.outcome.settled), offchain: flag(record.outcome.offchain) });
        break;
      case 'openingState':
        await tx
          .insertInto('opening_states')
          .values({ txid: hexToBytes(record.chanPoint.txid), output_index: record.chanPoint.index, stage: record.state.stage, short_channel_id: u64Col(record.state.shortChannelId) })
          .execute();
        break;
      case 'forwardingPolicy': {
        const p = record.policy;
        await tx
          .insertInto('initial_forwarding_policies')
          .values({
            wire_channel_id: hexToBytes(record.channelId),
            min_htlc_msat: amountCol(p.minHtlcMsat, 'minHtlcMsat'),
            max_htlc_msat: amountCol(p.maxHtlcMsat, 'maxHtlcMsat'),
            base_fee_msat: amountCol(p.baseFeeMsat, 'baseFeeMsat'),
            fee_rate_ppm: p.feeRatePpm,
            time_lock_delta: p.timeLockDelta,
          })
          .execute();
        break;
      }
      case 'keyIndex': {
        const counter = await readKeyIndexCounter(tx);
        if (record.next > counter) await writeKeyIndexCounter(tx, record.next);
        break;
      }
    }
  }
  await flushRun();
  await insertFinalHtlcRows.execute(tx, finalRows);
}

/** The bulk-transfer facet over `backend` (migrated to the latest SQL schema). */
export function createSqlBulkTransfer(backend: SqlBackend): BulkTransferStore {
  const table = sql.table(IMPORT_STATE_TABLE);
  const readState = async (tx: SqlTx): Promise<string | undefined> => {
    if (!(await backend.capabilities.tableExists(tx, IMPORT_STATE_TABLE))) return undefined;
    const { rows } = await sql<{ state: string }>`select state from ${table} where id = 1`.execute(tx);
    return rows[0]?.state;
  };
  return {
    revocationBlockLayout: SQL_BLOCK_LAYOUT,
    exportPage: (cursor: BulkCursor, limit: number, options?: BulkExportOptions): Promise<BulkPage> =>
      backend.runTx('read', async (tx) => {
        if (cursor.section === 'revocationLogEntry' && options?.revocationBlocks === true) {
          const { records, full } = await exportLogBlocks(tx, cursor.after, limit);
          return blockPageOf(cursor, records, full);
        }
        return pageOf(cursor, await exportSection(tx, cursor, limit), limit);
      }),
    async importPage(records: readonly BulkRecord[], state: string) {
      await backend.runTx('exclusive', async (tx) => {
        await sql`create table if not exists ${table} (id integer primary key, state text not null)`.execute(tx);
        await importRecords(tx, records);
        await sql`delete from ${table}`.execute(tx);
        await sql`insert into ${table} (id, state) values (1, ${state})`.execute(tx);
      });
    },
    readImportState: () => backend.runTx('read', readState),
    async clearImportState() {
      await backend.runTx('exclusive', async (tx) => {
        await sql`drop table if exists ${table}`.execute(tx);
      });
    },
  };
}

/** The import state of the database `backend` opens, or undefined (for openChannelDb's refusal). */
export function readSqlImportState(backend: SqlBackend): Promise<string | undefined> {
  return createSqlBulkTransfer(backend).readImportState();
}
