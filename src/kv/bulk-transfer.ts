/**
 * KV facet: bulk export and import of every record (chanstate/bulk-transfer.ts), for moving
 * a node between backends.
 *
 * Export: each section is one bucket (keys.ts) scanned in key order from the cursor, whose
 * `after` is exactly the key after the bucket tag, so a page is one range read: link nodes,
 * channel infos (assembled with what lives beside them), close summaries (with the archive
 * and the purge queue), forwarding packages, final HTLCs, opening states, forwarding
 * policies, invoices and payments (through their add and payment index buckets, so in index
 * order), then the allocator. The revocation log (blocks of states, commitments.ts) is read
 * and written through its own reader and writer, channel by channel, so its layout stays the
 * commitment facet's business — except in the blocks form (BulkRevocationBlock), where the
 * stored blocks are handed out and stored as their bytes (`revocation-blocks ->
 * <chanPoint> <firstHeight>` sealed, `revocation-open-block -> <chanPoint>` open).
 *
 * Import: one engine transaction per page, writing through the same helpers the store's
 * facets use (putNewChannel, writeFwdPkg, the revocation-log record of commitments.ts, ...),
 * and the import state under `meta -> import-state` in the same transaction. While that key
 * exists openChannelDb refuses the database (DB_MIGRATION_INCOMPLETE).
 */
import { channelIdOf, formatOutPoint, outPointFromKey, outPointKey } from '../chanstate/channel-id.js';
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
import { blockSpan } from '../chanstate/revocation-blocks.js';
import { invoiceRecord, paymentRecord } from '../payments/records.js';
import {
  archivedChannelRecord,
  channelInfoRecord,
  channelOfArchive,
  closeSummaryRecord,
  commitDiffRecord,
  forwardingPolicyRecord,
  fwdPkgRecord,
  openingStateRecord,
  shutdownInfoRecord,
} from '../chanstate/records.js';
import { keyIndexOf } from '../chanstate/rules.js';
import type { OpenChannel, OutPoint, RevocationLogEntry } from '../chanstate/types.js';
import { bytesToHex, compareBytes, hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import {
  assemble,
  claimKeyIndex,
  infoOf,
  putNewChannel,
  readKeyIndexCounter,
  readUpdates,
  writeClosedSummary,
  writeFwdPkg,
  writeKeyIndexCounter,
  writeUpdates,
} from './chanstate-tx.js';
import { checksummedEngine } from './checksummed-engine.js';
import { appendRevokedStates, KV_BLOCK_LIMIT, revokedStatesFrom } from './commitments.js';
import { writeInvoice } from './invoices.js';
import { writePayment } from './payments.js';
import type { KvEngine, KvRange, KvReadTx, KvWriteTx } from './engine.js';
import {
  CHANNEL_ID_INDEX,
  CHANNEL_INFO,
  CLOSE_TX,
  CLOSED_SUMMARY,
  COMMIT_DIFF,
  DATA_LOSS_POINT,
  FINAL_HTLCS,
  FWD_PACKAGES,
  HISTORICAL,
  INITIAL_FWD_POLICY,
  INVOICE_ADD_INDEX,
  INVOICES,
  LINK_NODES,
  META,
  OPENING_STATE,
  OUTPOINT_INDEX,
  PAYMENT_INDEX,
  PAYMENTS,
  PURGE_QUEUE,
  REMOTE_UNSIGNED_LOCAL_UPDATES,
  REVOCATION_BLOCKS,
  REVOCATION_OPEN_BLOCK,
  SHUTDOWN_INFO,
  UNSIGNED_ACKED_UPDATES,
  byteKey,
  key,
  keys,
  prefixRange,
  readU64Key,
  u64Key,
} from './keys.js';
import { linkNodeRecord, putLinkNode } from './link-node-store.js';

/** meta -> import-state: the import state (utf8) of an incomplete migration into this database. */
export const IMPORT_STATE_KEY = key(META, new TextEncoder().encode('import-state'));

/** close-tx kinds (as status-and-lifecycle.ts writes them). */
const COMMIT_TX_KIND = byteKey(0);
const COOP_TX_KIND = byteKey(1);

/** The bucket each section is stored in (the revocation log, in blocks, is read apart: exportLog). */
const BUCKET_OF = {
  linkNode: LINK_NODES,
  channel: CHANNEL_INFO,
  closedChannel: CLOSED_SUMMARY,
  fwdPkg: FWD_PACKAGES,
  finalHtlc: FINAL_HTLCS,
  openingState: OPENING_STATE,
  forwardingPolicy: INITIAL_FWD_POLICY,
  // invoice-add-index -> <addIndex> -> <paymentHash>; payment-index -> <paymentIndex> -> <paymentHash>
  invoice: INVOICE_ADD_INDEX,
  payment: PAYMENT_INDEX,
} as const;

/** The layout of the KV revocation blocks (commitments.ts). */
export const KV_BLOCK_LAYOUT: RevocationBlockLayout = { format: 1, limit: KV_BLOCK_LIMIT };

/** The keys of `bucket` after `after` (hex of the key past the tag): every key of a bucket has the same length, so `after || 00` is the next one. */
function rangeAfter(bucket: number, after: string | undefined, limit: number): KvRange {
  const all = prefixRange(byteKey(bucket));
  const start = after === undefined ? all.start : key(bucket, hexToBytes(after), Uint8Array.of(0));
  return { start, end: all.end, limit };
}

/** A pending/open/waiting-close channel with everything beside it. */
function channelRecord(tx: KvReadTx, infoBytes: Uint8Array): BulkRecord {
  const channel = assemble(tx, channelInfoRecord.decode(infoBytes));
  const op = channel.fundingOutpoint;
  const tip = tx.get(keys.chan(COMMIT_DIFF, op));
  const lossPoint = tx.get(keys.chan(DATA_LOSS_POINT, op));
  const shutdown = tx.get(keys.chan(SHUTDOWN_INFO, op));
  const commitTx = tx.get(keys.chan(CLOSE_TX, op, COMMIT_TX_KIND));
  const coopTx = tx.get(keys.chan(CLOSE_TX, op, COOP_TX_KIND));
  return {
    kind: 'channel',
    channel,
    ...(tip === undefined ? {} : { remoteCommitTip: commitDiffRecord.decode(tip) }),
    unsignedAckedUpdates: readUpdates(tx, UNSIGNED_ACKED_UPDATES, op),
    remoteUnsignedLocalUpdates: readUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, op),
    ...(lossPoint === undefined ? {} : { dataLossCommitPoint: bytesToHex(lossPoint) }),
    ...(shutdown === undefined ? {} : { shutdownInfo: shutdownInfoRecord.decode(shutdown) }),
    ...(commitTx === undefined ? {} : { commitmentCloseTx: commitTx.slice() }),
    ...(coopTx === undefined ? {} : { cooperativeCloseTx: coopTx.slice() }),
  };
}

function closedRecord(tx: KvReadTx, summaryBytes: Uint8Array): BulkRecord {
  const summary = closeSummaryRecord.decode(summaryBytes);
  const archived = tx.get(keys.chan(HISTORICAL, summary.chanPoint));
  if (archived === undefined) throw new ChandError(ErrorCode.DB_CORRUPT, `closed channel ${formatOutPoint(summary.chanPoint)} has no archived record`);
  return { kind: 'closedChannel', summary, historical: channelOfArchive(archived), purgePending: tx.get(keys.chan(PURGE_QUEUE, summary.chanPoint)) !== undefined };
}

/** The record stored under `k` (a key of the section's bucket) with value `v`. */
function recordOf(tx: KvReadTx, section: keyof typeof BUCKET_OF, k: Uint8Array, v: Uint8Array): BulkRecord {
  switch (section) {
    case 'linkNode':
      return { kind: 'linkNode', node: linkNodeRecord.decode(v) };
    case 'channel':
      return channelRecord(tx, v);
    case 'closedChannel':
      return closedRecord(tx, v);
    case 'fwdPkg':
      return { kind: 'fwdPkg', pkg: fwdPkgRecord.decode(v) };
    case 'finalHtlc':
      // final-htlcs -> <scid> <htlcIndex>: bit 0 settled, bit 1 offchain
      return { kind: 'finalHtlc', shortChannelId: readU64Key(k, 1), htlcIndex: Number(readU64Key(k, 9)), outcome: { settled: (v[0]! & 1) !== 0, offchain: (v[0]! & 2) !== 0 } };
    case 'openingState':
      return { kind: 'openingState', chanPoint: outPointFromKey(k.subarray(1, 37)), state: openingStateRecord.decode(v) };
    case 'forwardingPolicy':
      return { kind: 'forwardingPolicy', channelId: bytesToHex(k.subarray(1, 33)), policy: forwardingPolicyRecord.decode(v) };
    case 'invoice':
      return { kind: 'invoice', invoice: invoiceRecord.decode(indexed(tx, INVOICES, k, v)) };
    case 'payment':
      return { kind: 'payment', payment: paymentRecord.decode(indexed(tx, PAYMENTS, k, v)) };
  }
}

/** The record an index entry `k -> v` (a payment hash) points to in `bucket`; DB_CORRUPT if it is missing. */
function indexed(tx: KvReadTx, bucket: number, k: Uint8Array, v: Uint8Array): Uint8Array {
  const bytes = tx.get(key(bucket, v));
  if (bytes === undefined) throw new ChandError(ErrorCode.DB_CORRUPT, `index entry ${bytesToHex(k)} points to payment hash ${bytesToHex(v)}, which is not stored`);
  return bytes;
}

/**
 * Stored revocation blocks after `after` (chanPoint || the last height of a block already
 * returned), whole, as many as fit in `limit` states (at least one): per channel with a log (those with an
 * open block), its sealed blocks in height order, then its open block. `full` when the
 * limit was reached.
 */
function exportLogBlocks(tx: KvReadTx, after: string | undefined, limit: number): { records: BulkRevocationBlock[]; full: boolean } {
  const out: BulkRevocationBlock[] = [];
  let states = 0;
  const all = prefixRange(byteKey(REVOCATION_OPEN_BLOCK));
  let start = all.start;
  let first: { key: Uint8Array; height: number } | undefined;
  if (after !== undefined) {
    const bytes = hexToBytes(after);
    first = { key: bytes.subarray(0, 36), height: Number(readU64Key(bytes, 36)) };
    start = key(REVOCATION_OPEN_BLOCK, first.key);
  }
  for (const [k, openBytes] of tx.range({ start, end: all.end })) {
    const op = outPointFromKey(k.subarray(1));
    const prefix = keys.chan(REVOCATION_BLOCKS, op);
    const from = first !== undefined && compareBytes(first.key, k.subarray(1)) === 0 ? first.height : -1;
    const open = blockSpan(openBytes);
    if (from >= 0) assertBlockBoundary(tx, op, prefix, from, open);
    const sealedStart = from < 0 ? prefix : key(REVOCATION_BLOCKS, outPointKey(op), u64Key(from + 1));
    for (const [bk, bytes] of tx.range({ start: sealedStart, end: prefixRange(prefix).end })) {
      const span = blockSpan(bytes, Number(readU64Key(bk, prefix.length)));
      // A page never goes beyond `limit` states, unless its first block alone does.
      if (out.length > 0 && states + span.count > limit) return { records: out, full: true };
      out.push({ kind: 'revocationBlock', chanPoint: op, ...span, open: false, bytes: bytes.slice() });
      if ((states += span.count) >= limit) return { records: out, full: true };
    }
    if (open.firstHeight > from) {
      if (out.length > 0 && states + open.count > limit) return { records: out, full: true };
      out.push({ kind: 'revocationBlock', chanPoint: op, ...open, open: true, bytes: openBytes.slice() });
      if ((states += open.count) >= limit) return { records: out, full: true };
    }
  }
  return { records: out, full: false };
}

/** RangeError unless height `from` of `op` is the last state of a stored block (a blocks-page cursor). */
function assertBlockBoundary(tx: KvReadTx, op: OutPoint, prefix: Uint8Array, from: number, open: { firstHeight: number; lastHeight: number }): void {
  let lastHeight: number | undefined;
  if (open.firstHeight <= from) lastHeight = open.lastHeight;
  else {
    for (const [bk, bytes] of tx.range({ start: prefix, end: key(REVOCATION_BLOCKS, outPointKey(op), u64Key(from + 1)), reverse: true, limit: 1 })) {
      lastHeight = blockSpan(bytes, Number(readU64Key(bk, prefix.length))).lastHeight;
    }
  }
  if (lastHeight !== from) throw new RangeError(`expected a cursor at the end of a revocation block of ${formatOutPoint(op)}, got height ${from}`);
}

/** Stores one revocation block as its bytes (BulkImportStore.importPage). */
function importBlock(tx: KvWriteTx, record: BulkRevocationBlock): void {
  const openKey = keys.chan(REVOCATION_OPEN_BLOCK, record.chanPoint);
  if (tx.get(openKey) !== undefined) {
    throw new RangeError(`expected the revocation blocks of ${formatOutPoint(record.chanPoint)} in order with the open block last, got block ${record.firstHeight} after the open block`);
  }
  tx.put(record.open ? openKey : keys.chan(REVOCATION_BLOCKS, record.chanPoint, u64Key(record.firstHeight)), record.bytes);
}

/**
 * Up to `limit` revoked states after `after` (chanPoint || height) — of every channel with a
 * log, open or closed and awaiting the purge: exactly the channels with an open block — read
 * through the log's own reader (commitments.ts revokedStatesFrom).
 */
function exportLog(tx: KvReadTx, after: string | undefined, limit: number): BulkRecord[] {
  const out: BulkRecord[] = [];
  const all = prefixRange(byteKey(REVOCATION_OPEN_BLOCK));
  let start = all.start;
  let first: { key: Uint8Array; from: number } | undefined;
  if (after !== undefined) {
    const bytes = hexToBytes(after);
    const opKey = bytes.subarray(0, 36);
    start = key(REVOCATION_OPEN_BLOCK, opKey);
    first = { key: opKey, from: Number(readU64Key(bytes, 36)) + 1 };
  }
  // revocation-open-block -> <chanPoint>: one key per channel with a log.
  for (const [k] of tx.range({ start, end: all.end })) {
    const op = outPointFromKey(k.subarray(1));
    const from = first !== undefined && compareBytes(first.key, k.subarray(1)) === 0 ? first.from : 0;
    for (const entry of revokedStatesFrom(tx, op, from, limit - out.length)) out.push({ kind: 'revocationLogEntry', chanPoint: op, entry });
    if (out.length >= limit) break;
  }
  return out;
}

/** CHANNEL_ALREADY_EXISTS if the channel point or channel id of `channel` is known (open or closed). */
function assertUnknown(tx: KvReadTx, channel: OpenChannel): void {
  const op = channel.fundingOutpoint;
  if (tx.get(keys.chan(OUTPOINT_INDEX, op)) !== undefined || tx.get(key(CHANNEL_ID_INDEX, hexToBytes(channelIdOf(op)))) !== undefined) {
    throw new ChandError(ErrorCode.CHANNEL_ALREADY_EXISTS, `channel ${formatOutPoint(op)} already exists`);
  }
}

/** Writes one record (see BulkImportStore.importPage). */
function importRecord(tx: KvWriteTx, record: BulkRecord): void {
  switch (record.kind) {
    case 'linkNode':
      return putLinkNode(tx, record.node);
    case 'channel': {
      const op = record.channel.fundingOutpoint;
      putNewChannel(tx, record.channel);
      if (record.remoteCommitTip !== undefined) tx.put(keys.chan(COMMIT_DIFF, op), commitDiffRecord.encode(record.remoteCommitTip));
      writeUpdates(tx, UNSIGNED_ACKED_UPDATES, op, record.unsignedAckedUpdates);
      writeUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, op, record.remoteUnsignedLocalUpdates);
      if (record.dataLossCommitPoint !== undefined) tx.put(keys.chan(DATA_LOSS_POINT, op), hexToBytes(record.dataLossCommitPoint));
      if (record.shutdownInfo !== undefined) tx.put(keys.chan(SHUTDOWN_INFO, op), shutdownInfoRecord.encode(record.shutdownInfo));
      if (record.commitmentCloseTx !== undefined) tx.put(keys.chan(CLOSE_TX, op, COMMIT_TX_KIND), record.commitmentCloseTx);
      if (record.cooperativeCloseTx !== undefined) tx.put(keys.chan(CLOSE_TX, op, COOP_TX_KIND), record.cooperativeCloseTx);
      return;
    }
    case 'closedChannel': {
      const { historical, summary } = record;
      const op = summary.chanPoint;
      assertUnknown(tx, historical);
      // A closed channel's key index stays taken (chanstate-tx.ts claimKeyIndex).
      claimKeyIndex(tx, op, keyIndexOf(historical));
      tx.put(
        keys.chan(HISTORICAL, op),
        archivedChannelRecord.encode({
          info: infoOf(historical),
          localCommitment: historical.localCommitment,
          remoteCommitment: historical.remoteCommitment,
          remoteRevocation: historical.remoteRevocation,
          lastWasRevoke: historical.lastWasRevoke,
        }),
      );
      writeClosedSummary(tx, summary);
      tx.put(keys.chan(OUTPOINT_INDEX, op), Uint8Array.of(1));
      tx.put(key(CHANNEL_ID_INDEX, hexToBytes(channelIdOf(op))), outPointKey(op));
      if (record.purgePending) tx.put(keys.chan(PURGE_QUEUE, op), u64Key(historical.shortChannelId));
      return;
    }
    case 'revocationLogEntry':
      // Grouped per channel by importRecords (appendRevokedStates).
      return appendRevokedStates(tx, record.chanPoint, [record.entry]);
    case 'revocationBlock':
      return importBlock(tx, record);
    case 'fwdPkg':
      return writeFwdPkg(tx, record.pkg);
    case 'finalHtlc':
      return tx.put(keys.scid(FINAL_HTLCS, record.shortChannelId, u64Key(record.htlcIndex)), Uint8Array.of((record.outcome.settled ? 1 : 0) | (record.outcome.offchain ? 2 : 0)));
    case 'openingState':
      return tx.put(keys.chan(OPENING_STATE, record.chanPoint), openingStateRecord.encode(record.state));
    case 'forwardingPolicy':
      return tx.put(key(INITIAL_FWD_POLICY, hexToBytes(record.channelId)), forwardingPolicyRecord.encode(record.policy));
    case 'invoice':
      return writeInvoice(tx, record.invoice);
    case 'payment':
      return writePayment(tx, record.payment);
    case 'keyIndex':
      return writeKeyIndexCounter(tx, Math.max(readKeyIndexCounter(tx), record.next));
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * The bulk-transfer facet over `engine` (the bare engine, migrated to the latest KV schema;
 * values go through its checksummed view, like every other facet's).
 */
export function createKvBulkTransfer(bare: KvEngine): BulkTransferStore {
  const engine = checksummedEngine(bare);
  return {
    revocationBlockLayout: KV_BLOCK_LAYOUT,
    exportPage: (cursor: BulkCursor, limit: number, options?: BulkExportOptions): Promise<BulkPage> =>
      engine.read((tx) => {
        if (cursor.section === 'keyIndex') return pageOf(cursor, [{ kind: 'keyIndex', next: readKeyIndexCounter(tx) }], limit);
        const section = cursor.section;
        if (section === 'revocationLogEntry' && options?.revocationBlocks === true) {
          const { records, full } = exportLogBlocks(tx, cursor.after, limit);
          return blockPageOf(cursor, records, full);
        }
        if (section === 'revocationLogEntry') return pageOf(cursor, exportLog(tx, cursor.after, limit), limit);
        const records: BulkRecord[] = [];
        for (const [k, v] of tx.range(rangeAfter(BUCKET_OF[section], cursor.after, limit))) records.push(recordOf(tx, section, k, v));
        return pageOf(cursor, records, limit);
      }),
    async importPage(records: readonly BulkRecord[], state: string) {
      await engine.update((tx) => {
        // Consecutive revoked states of one channel go to the log's writer together
        // (commitments.ts appendRevokedStates): its open block is read and written once.
        for (let i = 0; i < records.length; ) {
          const record = records[i]!;
          if (record.kind !== 'revocationLogEntry') {
            importRecord(tx, record);
            i++;
            continue;
          }
          const run: RevocationLogEntry[] = [];
          const op = record.chanPoint;
          for (; i < records.length; i++) {
            const r = records[i]!;
            if (r.kind !== 'revocationLogEntry' || r.chanPoint.txid !== op.txid || r.chanPoint.index !== op.index) break;
            run.push(r.entry);
          }
          appendRevokedStates(tx, op, run);
        }
        tx.put(IMPORT_STATE_KEY, utf8.encode(state));
      });
    },
    readImportState: () =>
      engine.read((tx) => {
        const bytes = tx.get(IMPORT_STATE_KEY);
        return bytes === undefined ? undefined : fromUtf8.decode(bytes);
      }),
    async clearImportState() {
      await engine.update((tx) => tx.delete(IMPORT_STATE_KEY));
    },
  };
}
