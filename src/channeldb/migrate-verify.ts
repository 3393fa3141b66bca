/**
 * Verification of a migrated database: the target must read back exactly like the source,
 * record by record, before the migration marks it usable (migrate.ts).
 *
 * One streaming pass over both exports, page by page with the same cursors, so memory stays
 * one page per side however large the databases:
 * - the pages themselves must be equal (every record, including those no contract reads:
 *   closed channels' data awaiting the purge, the allocator);
 * - for each channel (open or closed) every per-channel contract read must give the same
 *   outcome on both (the record comparer's observeChannel, shared with the differential
 *   test, which also reads the oldest 1,000 revoked states), and the newest 1,000 revoked
 *   states of an open channel and its tail are read through the contract on both (the pages
 *   already compare every state: reading all of them a second time would double the work);
 * - each final HTLC outcome, opening state and forwarding policy is looked up through the
 *   contract on both, and so is each invoice and payment (fetchInvoice, fetchPayment), each
 *   page of them listed through the contract too (listInvoices, listPayments: the add and
 *   payment indexes a node pages by);
 * - at the end, every global read (the record comparer's observeAll) over all link nodes.
 * The first difference fails with MIGRATION_VERIFY_FAILED naming where it is.
 */
import { BULK_SECTIONS, type BulkCursor, type BulkRecord, type BulkSection } from '../chanstate/bulk-transfer.js';
import { formatOutPoint } from '../chanstate/channel-id.js';
import type { OutPoint } from '../chanstate/types.js';
import { ChandError, ErrorCode } from '../errors.js';
import { CHAIN_HASHES } from '../linknode/store.js';
import { attempt, firstDifference, observeAll, observeChannel, type ObservedStores, type Outcome } from '../testing/record-comparer.js';
import type { MigrationEndpoint } from './migrate-open.js';

/** Records a page of `section` holds with batch size `batch` (a channel record weighs about a hundred revoked states). */
export function pageLimit(section: BulkSection, batch: number): number {
  return section === 'channel' || section === 'closedChannel' ? Math.max(1, Math.floor(batch / 100)) : batch;
}

/** What verification reports after each page. */
export interface VerifyProgress {
  readonly section: BulkSection;
  /** Records of the source export compared so far. */
  readonly records: number;
}

function mismatch(where: string, difference: string): ChandError {
  return new ChandError(
    ErrorCode.MIGRATION_VERIFY_FAILED,
    `the migrated database does not read back like the source: ${where}: ${difference}; the target stays marked incomplete — start over with an empty target`,
  );
}

/** Runs `read` on both ends (at once) and fails on the first difference. */
async function same<S extends ObservedStores>(source: S, target: S, where: string, read: (s: S) => Promise<Outcome | Outcome[]>): Promise<void> {
  const [expected, actual] = await Promise.all([read(source), read(target)]);
  const difference = firstDifference(expected, actual);
  if (difference !== undefined) throw mismatch(where, difference);
}

/**
 * The newest end of an open channel's revocation log through the contract on both ends: its
 * last 1,000 entries and the lookup of its tail (observeChannel reads the oldest end; the
 * bulk pages compare every entry in between).
 */
async function sameLogTail(source: ObservedStores, target: ObservedStores, op: OutPoint): Promise<void> {
  const tail = await source.channelState.revocationLogTailHeight(op);
  if (tail === undefined) return;
  const from = Math.max(0, tail - 999);
  await same(source, target, `revocation log of channel ${formatOutPoint(op)} from height ${from}`, (s) => attempt(() => s.channelState.fetchRevocationLog(op, from, 1_000)));
  await same(source, target, `revoked state ${tail} of channel ${formatOutPoint(op)}`, (s) => attempt(() => s.channelState.findPreviousState(op, tail)));
}

/** Contract reads for the records of one page. */
async function sameReads(source: MigrationEndpoint, target: MigrationEndpoint, records: readonly BulkRecord[], peers: Set<string>): Promise<void> {
  for (const r of records) {
    switch (r.kind) {
      case 'linkNode':
        peers.add(r.node.identityPub);
        break;
      case 'channel': {
        const op = r.channel.fundingOutpoint;
        peers.add(r.channel.identityPub);
        await same(source, target, `channel ${formatOutPoint(op)}`, (s) => observeChannel(s, op, { peer: r.channel.identityPub, finalHtlcScid: r.channel.shortChannelId }));
        await sameLogTail(source, target, op);
        break;
      }
      case 'closedChannel': {
        const op = r.summary.chanPoint;
        peers.add(r.summary.remotePub);
        await same(source, target, `closed channel ${formatOutPoint(op)}`, (s) => observeChannel(s, op, { peer: r.summary.remotePub, finalHtlcScid: r.summary.shortChannelId }));
        break;
      }
      case 'finalHtlc':
        await same(source, target, `final outcome of HTLC ${r.htlcIndex} of ${r.shortChannelId}`, (s) => attempt(() => s.channelState.lookupFinalHtlc(r.shortChannelId, r.htlcIndex)));
        break;
      case 'openingState':
        await same(source, target, `opening state of ${formatOutPoint(r.chanPoint)}`, (s) => attempt(() => s.channelState.getChannelOpeningState(r.chanPoint)));
        break;
      case 'forwardingPolicy':
        await same(source, target, `forwarding policy of ${r.channelId}`, (s) => attempt(() => s.channelState.getInitialForwardingPolicy(r.channelId)));
        break;
      case 'invoice':
        await same(source, target, `invoice ${r.invoice.paymentHash}`, (s) => attempt(() => s.invoices.fetchInvoice(r.invoice.paymentHash)));
        break;
      case 'payment':
        await same(source, target, `payment ${r.payment.paymentHash}`, (s) => attempt(() => s.payments.fetchPayment(r.payment.paymentHash)));
        break;
      default:
        // Revocation log entries and packages are read above (per channel) and in the pages.
        break;
    }
  }
}

/** A page of invoices or payments listed through the contract on both, from the page's first index on. */
async function sameLists(source: MigrationEndpoint, target: MigrationEndpoint, records: readonly BulkRecord[]): Promise<void> {
  const first = records[0];
  if (first?.kind === 'invoice') {
    const query = { afterIndex: first.invoice.addIndex - 1, limit: Math.min(records.length, 10_000) };
    await same(source, target, `invoices listed after add index ${query.afterIndex}`, (s) => attempt(() => s.invoices.listInvoices(query)));
  } else if (first?.kind === 'payment') {
    const query = { afterIndex: first.payment.paymentIndex - 1, limit: Math.min(records.length, 10_000) };
    await same(source, target, `payments listed after payment index ${query.afterIndex}`, (s) => attempt(() => s.payments.listPayments(query)));
  }
}

/**
 * Compares `target` with `source` as described in the module comment; resolves with the
 * number of records compared, or fails with MIGRATION_VERIFY_FAILED. Reads only.
 */
export async function verifyMigration(source: MigrationEndpoint, target: MigrationEndpoint, batch: number, onPage?: (progress: VerifyProgress) => void): Promise<number> {
  let cursor: BulkCursor | undefined = { section: BULK_SECTIONS[0]! };
  let records = 0;
  const peers = new Set<string>();
  for (let pages = 0; cursor !== undefined && pages < Number.MAX_SAFE_INTEGER; pages++) {
    const at: BulkCursor = cursor;
    const limit = pageLimit(at.section, batch);
    const [expected, actual] = await Promise.all([source.bulk.exportPage(at, limit), target.bulk.exportPage(at, limit)]);
    const difference = firstDifference(expected, actual);
    if (difference !== undefined) {
      const from = at.after === undefined ? 'from its start' : `after key ${at.after}`;
      throw mismatch(`${at.section} records ${from}`, difference);
    }
    await sameReads(source, target, expected.records, peers);
    await sameLists(source, target, expected.records);
    records += expected.records.length;
    onPage?.({ section: at.section, records });
    cursor = expected.next;
  }
  // Link nodes of every peer, and of every peer a channel names (a missing one must stay missing).
  const probe = { chainHash: CHAIN_HASHES.mainnet, peers: [...peers].sort() };
  await same(source, target, 'global reads', (s) => observeAll(s, probe));
  await same(source, target, 'in-flight payments', (s) => attempt(() => s.payments.fetchInFlightPayments()));
  for (const chainHash of Object.values(CHAIN_HASHES)) {
    await same(source, target, `peer counts on chain ${chainHash}`, (s) => attempt(() => s.channelState.fetchPermAndTempPeers(chainHash)));
  }
  return records;
}
