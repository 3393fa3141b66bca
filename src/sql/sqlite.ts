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
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from './schema.js';
import { DEFAULT_RETRY, SqlBackend, type RetryPolicy, type SqlCapabilities } from './transactions.js';

/** Options of openSqliteBackend. */
export interface SqliteOptions {
  /** The database file (created if missing), or ':memory:'. */
  readonly file: string;
  /** How long a statement waits for a lock held by another connection, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  readonly retry?: RetryPolicy;
}

/** SQLite's capabilities. */
export const SQLITE_CAPABILITIES: SqlCapabilities = {
  begin: { read: 'begin', write: 'begin immediate', exclusive: 'begin immediate' },
  rowLocks: false,
  concurrentWriters: false,
  bytesType: 'blob',
  withoutRowId: true,
  autoIdColumn: 'integer-primary-key',
  async tableExists(tx, name) {
    const { rows } = await sql<{ n: unknown }>`select 1 as n from sqlite_master where type = 'table' and name = ${name}`.execute(tx);
    return rows.length > 0;
  },
  isRetryable(err) {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
  },
};

/** Most distinct statements kept prepared (multi-row inserts vary with their row count). */
const STATEMENT_CACHE_SIZE = 1000;

/** Opens (creating if needed) a SQLite database file as a SqlBackend. */
export function openSqliteBackend(options: SqliteOptions): SqlBackend {
  const raw = new BetterSqlite3(options.file);
  try {
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    raw.defaultSafeIntegers(true);
  } catch (err) {
    raw.close();
    throw err;
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
  return new SqlBackend(db, SQLITE_CAPABILITIES, `SQLite ${options.file}`, () => db.destroy(), options.retry ?? DEFAULT_RETRY);
}
