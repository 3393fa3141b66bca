/**
 * The bulk-transfer contract: every record a channel database holds, streamed out in pages
 * and written back in pages, for moving a node between backends (`chand db migrate`,
 * channeldb/migrate.ts).
 *
 * Why a second path next to the store contracts: the contracts cannot read or write every
 * record faithfully. A revocation log is only ever appended by advanceCommitChainTail,
 * which checks a secret the store no longer holds for old states; forwarding packages reach
 * their states only through acks; closed channels keep bulk data that no read returns until
 * the purge deletes it; opening states, forwarding policies and final HTLC outcomes cannot be
 * listed; the key-index allocator cannot be read without moving it. So each backend has one
 * more facet file (`bulk-transfer.ts`) that reads and writes these records as the domain
 * values of types.ts — never as bytes, so two backends with different layouts (or record
 * formats) exchange them — and the conformance suite (testing/bulk-transfer.suite.ts) checks
 * that what one backend exports another imports, and that the contracts then read the same.
 *
 * Order: sections in BULK_SECTIONS order; within a section, records ascending by the bytes of
 * their key (bulkKeyOf): channel points as outPointKey, short channel ids, add and payment
 * indexes as unsigned u64 big-endian. Every backend uses this order, so two exports can be
 * compared page by page.
 *
 * The one exception to "never as bytes": the revocation log, by far the largest section, can
 * also be exported and imported as the compact blocks it is stored in
 * (revocation-blocks.ts, BulkRevocationBlock), when the two backends store the same block
 * format and the target's block limit is at least the source's (blockCopyPossible). Each
 * block is then copied as its bytes, without decoding and re-encoding every state; the
 * migration's verification still compares the decoded states (the default export form).
 */
import { bytesToHex } from '../codec/bytes.js';
import type { LinkNode } from '../linknode/store.js';
import type { Invoice, Payment } from '../payments/types.js';
import { outPointKey } from './channel-id.js';
import type {
  ChannelCloseSummary,
  ChannelOpeningState,
  CommitDiff,
  FinalHtlcInfo,
  ForwardingPolicy,
  FwdPkg,
  Hex,
  LogUpdate,
  OpenChannel,
  OutPoint,
  RevocationLogEntry,
  ShortChannelId,
  ShutdownInfo,
} from './types.js';

/** A pending, open or waiting-close channel with everything stored beside it. */
export interface BulkChannel {
  readonly kind: 'channel';
  /** As fetchChannel returns it. */
  readonly channel: OpenChannel;
  /** As remoteCommitChainTip returns it (no acks), when there is a tip. */
  readonly remoteCommitTip?: CommitDiff;
  readonly unsignedAckedUpdates: readonly LogUpdate[];
  readonly remoteUnsignedLocalUpdates: readonly LogUpdate[];
  readonly dataLossCommitPoint?: Hex;
  readonly shutdownInfo?: ShutdownInfo;
  readonly commitmentCloseTx?: Uint8Array;
  readonly cooperativeCloseTx?: Uint8Array;
}

/** A closed channel: its summary, its archived record, and whether its bulk data awaits the purge. */
export interface BulkClosedChannel {
  readonly kind: 'closedChannel';
  readonly summary: ChannelCloseSummary;
  /** As fetchHistoricalChannel returns it. */
  readonly historical: OpenChannel;
  /** True while purgeClosedChannels still has revocation log entries or packages of it to delete. */
  readonly purgePending: boolean;
}

/** One revoked remote state of a channel (open, or closed and not yet purged). */
export interface BulkRevocationLogEntry {
  readonly kind: 'revocationLogEntry';
  readonly chanPoint: OutPoint;
  readonly entry: RevocationLogEntry;
}

/** One forwarding package, in whatever state it is (of an open channel or one awaiting the purge). */
export interface BulkFwdPkg {
  readonly kind: 'fwdPkg';
  readonly pkg: FwdPkg;
}

/** One final HTLC outcome. */
export interface BulkFinalHtlc {
  readonly kind: 'finalHtlc';
  readonly shortChannelId: ShortChannelId;
  readonly htlcIndex: number;
  readonly outcome: FinalHtlcInfo;
}

/** The funding manager's opening state of a channel (the channel need not exist). */
export interface BulkOpeningState {
  readonly kind: 'openingState';
  readonly chanPoint: OutPoint;
  readonly state: ChannelOpeningState;
}

/** An initial forwarding policy, by BOLT 2 channel id. */
export interface BulkForwardingPolicy {
  readonly kind: 'forwardingPolicy';
  readonly channelId: Hex;
  readonly policy: ForwardingPolicy;
}

/** A link node. */
export interface BulkLinkNode {
  readonly kind: 'linkNode';
  readonly node: LinkNode;
}

/** The key-index allocator: the next index it hands out. Always exactly one record. */
export interface BulkKeyIndex {
  readonly kind: 'keyIndex';
  readonly next: number;
}

/** An invoice as fetchInvoice returns it (add and settle indexes kept as they are). */
export interface BulkInvoice {
  readonly kind: 'invoice';
  readonly invoice: Invoice;
}

/** An outgoing payment with all its attempts, as fetchPayment returns it (payment index kept). */
export interface BulkPayment {
  readonly kind: 'payment';
  readonly payment: Payment;
}

/**
 * One stored block of a channel's revocation log, as its bytes (revocation-blocks.ts format
 * 1): a sealed block, or the channel's open block (its newest, always exported last). Only
 * in pages of section revocationLogEntry exported with `revocationBlocks` (see
 * BulkExportOptions); its key is the channel point and its LAST height, so a cursor after it
 * continues with the channel's next state, as after the entry of that height.
 */
export interface BulkRevocationBlock {
  readonly kind: 'revocationBlock';
  readonly chanPoint: OutPoint;
  readonly firstHeight: number;
  readonly lastHeight: number;
  /** Revoked states the block holds. */
  readonly count: number;
  /** True for the open form (the channel's open block), false for a sealed block. */
  readonly open: boolean;
  readonly bytes: Uint8Array;
}

/** Any record of a bulk export. */
export type BulkRecord =
  | BulkLinkNode
  | BulkChannel
  | BulkClosedChannel
  | BulkRevocationLogEntry
  | BulkRevocationBlock
  | BulkFwdPkg
  | BulkFinalHtlc
  | BulkOpeningState
  | BulkForwardingPolicy
  | BulkInvoice
  | BulkPayment
  | BulkKeyIndex;

/** A section of the export: the records of one kind (revocation blocks belong to section revocationLogEntry). */
export type BulkSection = Exclude<BulkRecord['kind'], 'revocationBlock'>;

/**
 * The sections in export (and import) order. Link nodes and channels come before the
 * records hanging off channels, so a backend whose rows reference channel rows finds them.
 */
export const BULK_SECTIONS: readonly BulkSection[] = [
  'linkNode',
  'channel',
  'closedChannel',
  'revocationLogEntry',
  'fwdPkg',
  'finalHtlc',
  'openingState',
  'forwardingPolicy',
  'invoice',
  'payment',
  'keyIndex',
];

/**
 * Where an export stands: the section, and the key (bulkKeyOf, hex) of the last record
 * already returned; without `after`, the section from its start. JSON-safe, so it can be
 * persisted as is.
 */
export interface BulkCursor {
  readonly section: BulkSection;
  readonly after?: string;
}

/** One page of an export: records of one section, and where the next page starts (undefined: the export is complete). */
export interface BulkPage {
  readonly records: BulkRecord[];
  readonly next: BulkCursor | undefined;
}

/**
 * How a backend stores its revocation log: the block format (revocation-blocks.ts; 1 is the
 * only one) and the size limit at which it seals a block.
 */
export interface RevocationBlockLayout {
  readonly format: number;
  readonly limit: number;
}

/**
 * Whether blocks exported by a backend with layout `from` may be imported as they are by one
 * with layout `to`: the same format, and no source block above the target's limit (a target
 * could have written each block itself; a bigger one would only cost it pages).
 */
export function blockCopyPossible(from: RevocationBlockLayout, to: RevocationBlockLayout): boolean {
  return from.format === to.format && from.limit <= to.limit;
}

/** Options of BulkExportStore.exportPage. */
export interface BulkExportOptions {
  /**
   * In section revocationLogEntry, return whole stored blocks (BulkRevocationBlock) instead of
   * decoded states, `limit` then counting states: a page holds the whole blocks that fit in
   * `limit` states, and at least one (so only a block of more than `limit` states makes a
   * page go beyond it). The cursor must be at a block boundary: the section's start, or a key returned by
   * a blocks page (RangeError for one inside a block). Ignored in other sections.
   */
  readonly revocationBlocks?: boolean;
}

/** Reading every record of a store, in pages. */
export interface BulkExportStore {
  /** The layout of this backend's revocation blocks. */
  readonly revocationBlockLayout: RevocationBlockLayout;
  /**
   * Up to `limit` records of `cursor.section` after `cursor.after`, in key order. A page
   * never crosses sections: when the section is exhausted, `next` names the following
   * section (or is undefined after the last one). Each page is one read transaction; pages
   * are consistent with each other only while nobody writes the store (the migration holds
   * its lock). Never loads more than one page in memory.
   */
  exportPage(cursor: BulkCursor, limit: number, options?: BulkExportOptions): Promise<BulkPage>;
}

/**
 * Writing records into an empty store, in pages, with a persisted import state.
 *
 * The import state is an opaque string (the migration's cursor and phase) stored inside the
 * target itself; while one is stored, the database is an incomplete migration target and
 * openChannelDb refuses it (DB_MIGRATION_INCOMPLETE).
 */
export interface BulkImportStore {
  /** The layout of this backend's revocation blocks (what revocationBlock records must match: blockCopyPossible). */
  readonly revocationBlockLayout: RevocationBlockLayout;
  /**
   * Writes `records` and stores `state` as the import state, in ONE transaction: a crash
   * leaves both or neither, so a resumed import never writes a record twice. Records are
   * written as given (the source's own values, already through its rules), after earlier
   * sections' records (a revocation log entry after its channel). CHANNEL_ALREADY_EXISTS
   * or CHANNEL_KEY_INDEX_REUSED if a channel collides with one already stored. `keyIndex`
   * moves the allocator to `next` unless it is already further. Invoices and payments keep
   * their indexes (add, settle, payment), so the next ones allocated continue after the
   * source's; the target holds none before (the migration requires an empty one). A `revocationBlock` is stored as its
   * bytes, a channel's blocks in key order with its open block last (RangeError for a
   * block after the channel's open block); its layout must be one blockCopyPossible
   * accepts — the caller checks, the bytes are not decoded here.
   */
  importPage(records: readonly BulkRecord[], state: string): Promise<void>;
  /** The stored import state, or undefined when none is stored. */
  readImportState(): Promise<string | undefined>;
  /** Removes the import state: the database opens normally again. Idempotent. */
  clearImportState(): Promise<void>;
}

/** Both directions. */
export interface BulkTransferStore extends BulkExportStore, BulkImportStore {}

/** `n` (a u64) as 16 hex digits, big-endian: byte order equals numeric order. */
export function u64Hex(n: bigint | number): string {
  const value = BigInt(n);
  if (value < 0n || value >= 1n << 64n) throw new RangeError(`expected a u64, got ${value}`);
  return value.toString(16).padStart(16, '0');
}

/** The key of a channel point in bulk order: outPointKey as hex. */
export function chanPointHex(op: OutPoint): string {
  return bytesToHex(outPointKey(op));
}

/**
 * The key that orders `record` within its section, as lowercase hex of its bytes (see the
 * module comment); '' for the single keyIndex record. Cursors carry it as `after`.
 */
export function bulkKeyOf(record: BulkRecord): string {
  switch (record.kind) {
    case 'linkNode':
      return record.node.identityPub;
    case 'channel':
      return chanPointHex(record.channel.fundingOutpoint);
    case 'closedChannel':
      return chanPointHex(record.summary.chanPoint);
    case 'revocationLogEntry':
      return chanPointHex(record.chanPoint) + u64Hex(record.entry.commitHeight);
    case 'revocationBlock':
      return chanPointHex(record.chanPoint) + u64Hex(record.lastHeight);
    case 'fwdPkg':
      return u64Hex(record.pkg.source) + u64Hex(record.pkg.height);
    case 'finalHtlc':
      return u64Hex(record.shortChannelId) + u64Hex(record.htlcIndex);
    case 'openingState':
      return chanPointHex(record.chanPoint);
    case 'forwardingPolicy':
      return record.channelId;
    case 'invoice':
      return u64Hex(record.invoice.addIndex);
    case 'payment':
      return u64Hex(record.payment.paymentIndex);
    case 'keyIndex':
      return '';
  }
}

/**
 * The page of revocation blocks a backend returns: `full` when no further block fit in the
 * limit (the section continues after the last block), otherwise the section is done.
 */
export function blockPageOf(cursor: BulkCursor, records: BulkRevocationBlock[], full: boolean): BulkPage {
  if (full && records.length > 0) return { records, next: { section: cursor.section, after: bulkKeyOf(records[records.length - 1]!) } };
  const section = sectionAfter(cursor.section);
  return { records, next: section === undefined ? undefined : { section } };
}

/** States a page holds: its records, a revocation block counting for its states. */
export function statesOf(records: readonly BulkRecord[]): number {
  let n = 0;
  for (const r of records) n += r.kind === 'revocationBlock' ? r.count : 1;
  return n;
}

/** The section after `section`, or undefined after the last. */
export function sectionAfter(section: BulkSection): BulkSection | undefined {
  return BULK_SECTIONS[BULK_SECTIONS.indexOf(section) + 1];
}

/**
 * The page a backend returns for `records` read from `cursor.section` with `limit`: a full
 * page continues the section after its last key, a short one moves to the next section, and
 * the keyIndex section (one record) ends the export.
 */
export function pageOf(cursor: BulkCursor, records: BulkRecord[], limit: number): BulkPage {
  if (cursor.section === 'keyIndex') return { records, next: undefined };
  if (records.length >= limit && records.length > 0) return { records, next: { section: cursor.section, after: bulkKeyOf(records[records.length - 1]!) } };
  const section = sectionAfter(cursor.section);
  return { records, next: section === undefined ? undefined : { section } };
}
