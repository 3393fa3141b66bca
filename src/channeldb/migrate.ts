/**
 * Moving a node's channel database from one backend to another (`chand db migrate`):
 * LMDB → SQLite, SQLite → PostgreSQL, and back.
 *
 * Overview
 *   Every record of every contract is copied through the backends' bulk-transfer facets
 *   (chanstate/bulk-transfer.ts), in pages, from a source opened read-only into an empty
 *   target; then the target is compared with the source record by record (migrate-verify.ts,
 *   through the contracts with the differential test's comparer) and only then marked
 *   usable. Both ends are locked for the whole run: a node holding either is DB_LOCKED.
 *   Invoices and payments travel with their add, settle and payment indexes, so the target
 *   allocates the next ones exactly where the source would have. When both ends store the
 *   revocation log in the same block layout (blockCopyPossible), its blocks are copied as
 *   their bytes — no state is decoded or re-encoded during the copy — and the verification
 *   compares the decoded states of both ends as for any other copy.
 *
 * Storage of the progress (in the target)
 *   Each page is imported together with the new import state — phase (copy, verify), the
 *   cursor of the next page, per-section counts and the source's identity — in ONE target
 *   transaction (BulkImportStore.importPage). While an import state is stored,
 *   openChannelDb refuses the target (DB_MIGRATION_INCOMPLETE); verification passing
 *   removes it.
 *
 * Recovery
 *   An interrupted run (SIGKILL, power loss, the target server gone) leaves the target at the
 *   last committed page. Running the same command again reads the state, checks that the
 *   source is the same one (MIGRATION_SOURCE_MISMATCH otherwise), and continues at the
 *   stored cursor: no record is written twice, none is skipped. A run killed during
 *   verification verifies again. Memory stays bounded by the batch size (the page being
 *   written and the next one being read), whatever the sizes.
 */
import { createHash } from 'node:crypto';
import { blockCopyPossible, BULK_SECTIONS, statesOf, type BulkCursor, type BulkSection, type RevocationBlockLayout } from '../chanstate/bulk-transfer.js';
import type { StoreCounts } from '../chanstate/store.js';
import { ChandError, ErrorCode, isChandError } from '../errors.js';
import { inspectMigrationTarget, openMigrationSource, openMigrationTarget, revocationBlockLayoutOf, type MigrationEndpoint } from './migrate-open.js';
import { pageLimit, verifyMigration } from './migrate-verify.js';
import { backendOf, locationOf, type BackendName, type ChannelDbConfig } from './open.js';

/** Options of migrateChannelDb. */
export interface MigrateOptions {
  readonly from: ChannelDbConfig;
  readonly to: ChannelDbConfig;
  /** Only say what would be done: the source is read, the target is not created or written. */
  readonly dryRun?: boolean;
  /** Records per page (revocation log entries, packages, ...; channels get a hundredth). Default 2,000. */
  readonly batchSize?: number;
  /** Called after every page copied or verified. */
  readonly onProgress?: (progress: MigrateProgress) => void;
  /** The clock for rates (ms). Default performance.now. */
  readonly now?: () => number;
}

/** One progress event: a page was copied (phase copy) or compared (phase verify). */
export interface MigrateProgress {
  readonly phase: 'copy' | 'verify';
  readonly section: BulkSection;
  /** Pages of this phase in this run. */
  readonly batch: number;
  /** Records done in this phase, over all runs (copy) or in this run (verify). */
  readonly records: number;
  /** Records expected in all, estimated from the source's counts. */
  readonly total: number;
  /** Records per second in this phase of this run. */
  readonly recordsPerSecond: number;
  /** Seconds left at that rate, when known. */
  readonly etaSeconds?: number;
  /** True if this run continues an interrupted one. */
  readonly resumed: boolean;
}

/** What a migration (or a dry run) found and did. */
export interface MigrateReport {
  readonly dryRun: boolean;
  readonly source: {
    readonly backend: BackendName;
    readonly location: string;
    readonly schemaVersion: number;
    readonly counts: StoreCounts;
    readonly linkNodes: number;
    readonly invoices: number;
    readonly payments: number;
  };
  readonly target: { readonly backend: BackendName; readonly location: string; readonly state: 'new' | 'empty' | 'resume' | 'needs-migrations' };
  /** Where a resumed run continued (undefined for a fresh one). */
  readonly resumedAt?: { readonly phase: 'copy' | 'verify'; readonly cursor?: BulkCursor };
  /** Records copied per section, over all runs (zero in a dry run); revoked states count one each, however copied. */
  readonly copied: Readonly<Record<BulkSection, number>>;
  /**
   * How the revocation log is (or would be) copied: `blocks`, the stored blocks as bytes (both
   * ends share the block layout, blockCopyPossible, and the batch is at least
   * BLOCK_COPY_MIN_BATCH), or `entries`, state by state.
   */
  readonly revocationLogCopy: RevocationLogCopy;
  /** Records compared by verification. */
  readonly verified: number;
  /** Wall time of this run's copy and verification. */
  readonly copySeconds: number;
  readonly verifySeconds: number;
}

/** How the revocation log is copied (see MigrateReport.revocationLogCopy). */
export type RevocationLogCopy = 'blocks' | 'entries';

/** The import state stored in the target (JSON): see the module comment. */
interface ImportState {
  readonly format: 'chand-migrate/1';
  readonly source: SourceId;
  readonly phase: 'copy' | 'verify';
  readonly cursor: BulkCursor | null;
  readonly copied: Record<BulkSection, number>;
  /** Fixed by the first run (a cursor inside the log is a block boundary only in the blocks form); absent: entries. */
  readonly logCopy?: RevocationLogCopy;
}

/** What identifies a source across runs. */
interface SourceId {
  readonly backend: BackendName;
  readonly location: string;
  /**
   * sha256 of the source's counts, link-node count, allocator and every invoice and payment
   * (a node that ran on it changes one of them: a revoked state, a package, an invoice
   * accepted or settled, a payment attempt).
   */
  readonly fingerprint: string;
}

const DEFAULT_BATCH = 2_000;

/**
 * The smallest batch at which the revocation log is copied as blocks. A page holds the whole
 * blocks that fit in the batch (and at least one); a stored block holds at most a few hundred
 * states (a sealed state takes at least 33 bytes of a block of about 4 KB, and a block
 * only grows beyond that for states with many HTLCs, which take more bytes each), so from
 * this batch on every block fits and no page goes beyond the batch. Smaller batches copy the
 * log state by state.
 */
export const BLOCK_COPY_MIN_BATCH = 1_000;

const zeroCounts = (): Record<BulkSection, number> => Object.fromEntries(BULK_SECTIONS.map((s) => [s, 0])) as Record<BulkSection, number>;

function parseState(text: string, location: string): ImportState {
  let state: ImportState;
  try {
    state = JSON.parse(text) as ImportState;
  } catch (err) {
    throw new ChandError(ErrorCode.DB_CORRUPT, `the migration state stored in ${location} is not readable JSON`, { cause: err });
  }
  if (state.format !== 'chand-migrate/1') throw new ChandError(ErrorCode.MIGRATION_SOURCE_MISMATCH, `the database at ${location} holds a migration state this chand does not know (${String(state.format)})`);
  return state;
}

/** The source's identity and what the plan reports of it. */
async function describeSource(
  source: MigrationEndpoint,
): Promise<{ id: SourceId; counts: StoreCounts; linkNodes: number; invoices: number; payments: number; schemaVersion: number }> {
  const counts = await source.channelState.counts();
  let linkNodes = 0;
  for (let cursor: BulkCursor | undefined = { section: 'linkNode' }; cursor?.section === 'linkNode'; ) {
    const page = await source.bulk.exportPage(cursor, DEFAULT_BATCH);
    linkNodes += page.records.length;
    cursor = page.next;
  }
  const [keyIndex] = (await source.bulk.exportPage({ section: 'keyIndex' }, 1)).records;
  const hash = createHash('sha256').update(JSON.stringify({ counts, linkNodes, keyIndex }));
  // Invoices and payments change state in place (no count moves when one settles), so their
  // records themselves go into the fingerprint, streamed page by page.
  const records = { invoice: 0, payment: 0 };
  for (const section of ['invoice', 'payment'] as const) {
    for (let cursor: BulkCursor | undefined = { section }; cursor?.section === section; ) {
      const page = await source.bulk.exportPage(cursor, DEFAULT_BATCH);
      hash.update(JSON.stringify(page.records, jsonSafe));
      records[section] += page.records.length;
      cursor = page.next;
    }
  }
  const fingerprint = hash.digest('hex');
  return {
    id: { backend: source.backend, location: source.location, fingerprint },
    counts,
    linkNodes,
    invoices: records.invoice,
    payments: records.payment,
    schemaVersion: await source.schemaVersion(),
  };
}

/** JSON.stringify replacer for bigints and bytes (fingerprints only: never parsed back). */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Records the copy will write, estimated from the source's counts (pending and waiting-close channels overlap). */
function estimatedTotal(counts: StoreCounts, linkNodes: number, invoices: number, payments: number): number {
  return linkNodes + invoices + payments + counts.openChannels + counts.pendingChannels + counts.waitingCloseChannels + counts.closedChannels + counts.revocationLogEntries + counts.fwdPkgs + 1;
}

/** MIGRATION_TARGET_NOT_EMPTY unless every section of the target is empty (the allocator aside). */
async function assertEmpty(target: MigrationEndpoint): Promise<void> {
  for (const section of BULK_SECTIONS) {
    if (section === 'keyIndex') continue;
    const page = await target.bulk.exportPage({ section }, 1);
    if (page.records.length > 0) {
      throw new ChandError(ErrorCode.MIGRATION_TARGET_NOT_EMPTY, `the migration target ${target.location} already holds records (${section}); nothing was written — migrate into an empty database`);
    }
  }
}

function assertSameSource(state: ImportState, id: SourceId, target: string): void {
  if (state.source.backend !== id.backend || state.source.location !== id.location) {
    throw new ChandError(
      ErrorCode.MIGRATION_SOURCE_MISMATCH,
      `${target} holds an unfinished migration from ${state.source.backend} ${state.source.location}, not from ${id.backend} ${id.location}; resume it with that source, or migrate into an empty database`,
    );
  }
  if (state.source.fingerprint !== id.fingerprint) {
    throw new ChandError(
      ErrorCode.MIGRATION_SOURCE_MISMATCH,
      `the source ${id.location} changed since the migration into ${target} started (a node ran on it?); the copy would mix two states — migrate into an empty database`,
    );
  }
}

function sameDatabase(a: ChannelDbConfig, b: ChannelDbConfig): boolean {
  return backendOf(a) === backendOf(b) && locationOf(a) === locationOf(b) && backendOf(a) !== 'memory';
}

/**
 * Copies the channel database `from` into `to` (created if missing, and empty unless it
 * holds this very migration unfinished), verifies it, and marks it usable; resumes an
 * interrupted run. See the module comment. Errors: DB_LOCKED if a node holds either end;
 * MIGRATION_TARGET_NOT_EMPTY, MIGRATION_SOURCE_MISMATCH, MIGRATION_VERIFY_FAILED; the
 * source's DB_NOT_INITIALIZED / DB_REVERSION; storage faults of either end (a rerun resumes).
 */
export async function migrateChannelDb(options: MigrateOptions): Promise<MigrateReport> {
  const batch = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`expected a batch size of at least 1, got ${batch}`);
  if (sameDatabase(options.from, options.to)) throw new RangeError(`expected different source and target databases, got ${locationOf(options.from)} for both`);
  const now = options.now ?? (() => performance.now());

  const source = await openMigrationSource(options.from);
  try {
    const described = await describeSource(source);
    const sourceReport = {
      backend: source.backend,
      location: source.location,
      schemaVersion: described.schemaVersion,
      counts: described.counts,
      linkNodes: described.linkNodes,
      invoices: described.invoices,
      payments: described.payments,
    };
    const total = estimatedTotal(described.counts, described.linkNodes, described.invoices, described.payments);
    if (options.dryRun === true) return await dryRun(options.to, sourceReport, described.id, source.bulk.revocationBlockLayout, batch);

    const target = await openMigrationTarget(options.to);
    try {
      const stored = await target.bulk.readImportState();
      let state: ImportState;
      let resumed = false;
      const layoutsMatch = blockCopyPossible(source.bulk.revocationBlockLayout, target.bulk.revocationBlockLayout);
      if (stored === undefined) {
        await assertEmpty(target);
        state = {
          format: 'chand-migrate/1',
          source: described.id,
          phase: 'copy',
          cursor: { section: BULK_SECTIONS[0]! },
          copied: zeroCounts(),
          logCopy: layoutsMatch && pageLimit('revocationLogEntry', batch) >= BLOCK_COPY_MIN_BATCH ? 'blocks' : 'entries',
        };
      } else {
        state = parseState(stored, target.location);
        assertSameSource(state, described.id, target.location);
        // A resumed run keeps the first run's form (whatever its batch): a cursor inside the log is a block boundary only for blocks.
        if (state.logCopy === 'blocks' && !layoutsMatch) {
          throw new ChandError(
            ErrorCode.MIGRATION_SOURCE_MISMATCH,
            `the unfinished migration into ${target.location} copies revocation blocks as they are, which this chand's block layouts no longer allow; migrate into an empty database`,
          );
        }
        resumed = true;
      }
      const logCopy: RevocationLogCopy = state.logCopy ?? 'entries';
      const readOptions = { revocationBlocks: logCopy === 'blocks' };
      const resumedAt = resumed ? { phase: state.phase, ...(state.cursor === null ? {} : { cursor: state.cursor }) } : undefined;

      // Copy: one page per target transaction, the state committed with it. The next page
      // is read while this one is written (a server at either end waits on the network).
      const copyStart = now();
      let copiedThisRun = 0;
      const read = (cursor: BulkCursor) => {
        const page = source.bulk.exportPage(cursor, pageLimit(cursor.section, batch), readOptions);
        page.catch(() => {}); // observed below; a copy stopped early must not leave it unhandled
        return page;
      };
      let reading = state.phase === 'copy' && state.cursor !== null ? read(state.cursor) : undefined;
      for (let pages = 1; state.phase === 'copy' && state.cursor !== null && reading !== undefined; pages++) {
        const cursor = state.cursor;
        const page = await reading;
        reading = page.next === undefined ? undefined : read(page.next);
        const next: ImportState = {
          ...state,
          phase: page.next === undefined ? 'verify' : 'copy',
          cursor: page.next ?? null,
          copied: { ...state.copied, [cursor.section]: state.copied[cursor.section] + statesOf(page.records) },
        };
        await target.bulk.importPage(page.records, JSON.stringify(next));
        state = next;
        copiedThisRun += statesOf(page.records);
        const done = Object.values(state.copied).reduce((a, b) => a + b, 0);
        options.onProgress?.(progressOf('copy', cursor.section, pages, done, Math.max(total, done), copiedThisRun, now() - copyStart, resumed));
      }
      const copySeconds = (now() - copyStart) / 1000;

      // Verify, then mark usable.
      const verifyStart = now();
      let verifyPages = 0;
      const verifyTotal = Object.values(state.copied).reduce((a, b) => a + b, 0);
      const verified = await verifyMigration(source, target, batch, (p) =>
        options.onProgress?.(progressOf('verify', p.section, ++verifyPages, p.records, Math.max(verifyTotal, p.records), p.records, now() - verifyStart, resumed)),
      );
      await target.bulk.clearImportState();
      return {
        dryRun: false,
        source: sourceReport,
        target: { backend: target.backend, location: target.location, state: resumed ? 'resume' : 'empty' },
        ...(resumedAt === undefined ? {} : { resumedAt }),
        copied: state.copied,
        revocationLogCopy: logCopy,
        verified,
        copySeconds,
        verifySeconds: (now() - verifyStart) / 1000,
      };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

function progressOf(phase: 'copy' | 'verify', section: BulkSection, batch: number, records: number, total: number, doneThisRun: number, elapsedMs: number, resumed: boolean): MigrateProgress {
  const recordsPerSecond = elapsedMs > 0 ? (doneThisRun * 1000) / elapsedMs : 0;
  const left = Math.max(0, total - records);
  return { phase, section, batch, records, total, recordsPerSecond, ...(recordsPerSecond > 0 ? { etaSeconds: left / recordsPerSecond } : {}), resumed };
}

/** The dry run's view of the target: read-only, never created. */
async function dryRun(to: ChannelDbConfig, source: MigrateReport['source'], id: SourceId, sourceLayout: RevocationBlockLayout, batch: number): Promise<MigrateReport> {
  // The target's layout is its backend's, whether or not the database exists yet.
  const targetLayout = revocationBlockLayoutOf(to);
  const report = (state: MigrateReport['target']['state'], extra: Partial<MigrateReport> = {}): MigrateReport => ({
    dryRun: true,
    source,
    target: { backend: backendOf(to), location: locationOf(to), state },
    copied: zeroCounts(),
    revocationLogCopy: blockCopyPossible(sourceLayout, targetLayout) && pageLimit('revocationLogEntry', batch) >= BLOCK_COPY_MIN_BATCH ? 'blocks' : 'entries',
    verified: 0,
    copySeconds: 0,
    verifySeconds: 0,
    ...extra,
  });
  let target: MigrationEndpoint;
  try {
    target = await inspectMigrationTarget(to);
  } catch (err) {
    if (!isChandError(err, ErrorCode.DB_NOT_INITIALIZED)) throw err;
    return report(/needs \d+ migration/.test(err.message) ? 'needs-migrations' : 'new');
  }
  try {
    const stored = await target.bulk.readImportState();
    if (stored === undefined) {
      await assertEmpty(target);
      return report('empty');
    }
    const state = parseState(stored, target.location);
    assertSameSource(state, id, target.location);
    return report('resume', { resumedAt: { phase: state.phase, ...(state.cursor === null ? {} : { cursor: state.cursor }) }, copied: state.copied, revocationLogCopy: state.logCopy ?? 'entries' });
  } finally {
    await target.close();
  }
}
