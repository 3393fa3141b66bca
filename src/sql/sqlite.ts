/**
 * The SQLite dialect: better-sqlite3 under Kysely's SqliteDialect.
 *
 * Durability and safety pragmas: WAL journal with synchronous=FULL (every commit is fsynced
 * before it returns), foreign keys enforced, a busy timeout so a briefly locked file waits
 * instead of failing. Integers are read as bigint (safe integers) so u64 values never lose
 * precision. Write transactions begin IMMEDIATE: the writer lock is taken at begin, so a
 * busy database fails there (and is retried) rather than half way through.
 *
 * better-sqlite3 is synchronous and Kysely's SqliteDialect serializes every transaction on
 * its single connection; statements are prepared once and cached by SQL text.
 *
 * Opening checks the file first: it is created only when absent; an existing file must
 * start with SQLite's 16-byte magic and be a whole number of pages at least as long as its
 * header says, so an empty or truncated file is refused (DB_CORRUPT) instead of being
 * silently taken for a fresh, empty database.
 */
import BetterSqlite3 from 'better-sqlite3';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { ChandError, ErrorCode } from '../errors.js';
import type { Database } from './schema.js';
import { DEFAULT_RETRY, SqlBackend, typedSqlError, type DirectRunner, type RetryPolicy, type SqlCapabilities, type SqlFault } from './transactions.js';

/** Options of openSqliteBackend. */
export interface SqliteOptions {
  /** The database file (created if missing), or ':memory:'. */
  readonly file: string;
  /** How long a statement waits for a lock held by another connection, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  readonly retry?: RetryPolicy;
  /** Most pages the file may grow to (PRAGMA max_page_count): a write beyond fails DISK_FULL. Tests use it to stand in for a full disk. */
  readonly maxPageCount?: number;
  /** Open an existing file read-only (a migration's source): SQLite refuses every write. Default false. */
  readonly readOnly?: boolean;
}

/** SQLite's capabilities. */
export const SQLITE_CAPABILITIES: SqlCapabilities = {
  begin: { read: 'begin', write: 'begin immediate', exclusive: 'begin immediate' },
  rowLocks: false,
  concurrentWriters: false,
  bytesType: 'blob',
  withoutRowId: true,
  groupCommit: true,
  autoIdColumn: 'integer-primary-key',
  async tableExists(tx, name) {
    const { rows } = await sql<{ n: unknown }>`select 1 as n from sqlite_master where type = 'table' and name = ${name}`.execute(tx);
    return rows.length > 0;
  },
  isRetryable(err) {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
  },
  faultOf: sqliteFaultOf,
};

/**
 * The storage fault a better-sqlite3 error reports, by its (extended) result code:
 * SQLITE_CORRUPT* / SQLITE_NOTADB → corrupt; SQLITE_FULL (and an I/O error the OS reported
 * as "no space") → full; other I/O errors and a file that cannot be opened → unavailable.
 */
export function sqliteFaultOf(err: unknown): SqlFault | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'corrupt';
  if (code === 'SQLITE_FULL') return 'full';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) {
    // Some writes report a full disk as an I/O error (the WAL index, a truncate).
    return /no space|disk is full|ENOSPC/i.test((err as Error).message ?? '') ? 'full' : 'unavailable';
  }
  return undefined;
}

/** SQLite's file magic: the first 16 bytes of every database file. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** Length of the database header (page 1 starts with it). */
const HEADER_LENGTH = 100;

/** True if `file`-wal exists with at least one frame past its 32-byte header. */
function walHasFrames(file: string): boolean {
  try {
    return statSync(`${file}-wal`).size > 32;
  } catch {
    return false;
  }
}

/**
 * Refuses an existing file that cannot be a whole SQLite database (DB_CORRUPT): too short
 * for a header, wrong magic, an invalid page size, a length that is not a whole number of
 * pages, or shorter than the page count its header vouches for. An absent file passes (it
 * is created).
 */
export function checkSqliteFile(file: string): void {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new ChandError(ErrorCode.DB_CORRUPT, `${file} is not a regular file, so not a SQLite database`);
    size = stat.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const refuse = (why: string) =>
    new ChandError(ErrorCode.DB_CORRUPT, `${file} is not a usable SQLite database (${why}); refusing to open it rather than start an empty one over it — restore it from a backup or move it away`);
  if (size < HEADER_LENGTH) throw refuse(size === 0 ? 'the file is empty' : `the file has only ${size} bytes`);
  const header = Buffer.alloc(HEADER_LENGTH);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, HEADER_LENGTH, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.subarray(0, 16).equals(SQLITE_MAGIC)) throw refuse('wrong file header');
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw refuse(`invalid page size ${raw}`);
  if (size % pageSize !== 0) throw refuse(`${size} bytes is not a whole number of ${pageSize}-byte pages: truncated`);
  // The in-header page count is valid only when its "version valid for" equals the change
  // counter (SQLite file format §1.3.7), and only says how long the file must be when no
  // WAL is left: a checkpoint cut short (disk full) may have written page 1 while the other
  // pages still live in the WAL, which SQLite replays.
  const pages = header.readUInt32BE(28);
  if (!walHasFrames(file) && header.readUInt32BE(92) === header.readUInt32BE(24) && pages > 0 && size < pages * pageSize) {
    throw refuse(`${size} bytes, but the header counts ${pages} pages of ${pageSize} bytes: truncated`);
  }
}

/** True if every number in `rows` is a safe integer (or not an integer column at all). */
function allSafe(rows: readonly unknown[][]): boolean {
  for (const row of rows) for (const v of row) if (typeof v === 'number' && !Number.isSafeInteger(v)) return false;
  return true;
}

/**
 * The rows of a listing query as arrays of column values (arrays cost the driver far less
 * than objects; listings read thousands of rows), integers as numbers: a BigInt per integer
 * column is most of what a listing of thousands of channels allocates. The schema has no
 * REAL columns, so a number that is not a safe integer can only be an int64 at or beyond
 * 2^53 that lost precision (every smaller one converts exactly): then the query runs again
 * with integers as BigInts, which callers take as well (columns.ts).
 */
function listingRows(statement: BetterSqlite3.Statement, parameters: unknown[]): unknown[][] {
  statement.raw(true);
  try {
    statement.safeIntegers(false);
    try {
      const rows = statement.all(parameters) as unknown[][];
      if (allSafe(rows)) return rows;
    } finally {
      statement.safeIntegers(true);
    }
    return statement.all(parameters) as unknown[][];
  } finally {
    statement.raw(false);
  }
}

/** Most distinct statements kept prepared (multi-row inserts vary with their row count). */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * Opens (creating it if absent) a SQLite database file as a SqlBackend. DB_CORRUPT if the
 * file exists but is not a whole SQLite database (checkSqliteFile) or its first page is
 * damaged; DB_UNAVAILABLE if it cannot be opened.
 */
export function openSqliteBackend(options: SqliteOptions): SqlBackend {
  const label = `SQLite ${options.file}`;
  if (options.file !== ':memory:') checkSqliteFile(options.file);
  let raw: BetterSqlite3.Database;
  try {
    raw = options.readOnly === true ? new BetterSqlite3(options.file, { readonly: true, fileMustExist: true }) : new BetterSqlite3(options.file);
  } catch (err) {
    throw typedSqlError(err, SQLITE_CAPABILITIES, label);
  }
  try {
    // A read-only connection cannot change the journal mode (the file is WAL already).
    if (options.readOnly !== true) raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    raw.defaultSafeIntegers(true);
    if (options.maxPageCount !== undefined) raw.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxPageCount))}`);
  } catch (err) {
    raw.close();
    throw typedSqlError(err, SQLITE_CAPABILITIES, label);
  }
  const statements = new Map<string, BetterSqlite3.Statement>();
  // Kysely prepares every query; preparing is most of SQLite's cost for small statements.
  const database = {
    prepare(text: string): BetterSqlite3.Statement {
      let statement = statements.get(text);
      if (statement === undefined) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
        statement = raw.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
    close(): void {
      statements.clear();
      raw.close();
    },
  };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  // Prepared statements of the stores run straight on better-sqlite3 (as Kysely's SQLite
  // driver would run them, without its per-query pipeline): the payment hot path runs about
  // thirty statements per round, each cheaper than Kysely's dispatch of it.
  const direct: DirectRunner = (query, arrays = false) => {
    const statement = database.prepare(query.sql);
    const parameters = query.parameters as unknown[];
    if (statement.reader) {
      if (!arrays) return { rows: statement.all(parameters) };
      return { rows: listingRows(statement, parameters) };
    }
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  };
  return new SqlBackend(db, SQLITE_CAPABILITIES, label, () => db.destroy(), options.retry ?? DEFAULT_RETRY, undefined, { direct });
}
