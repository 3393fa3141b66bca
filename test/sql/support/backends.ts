/**
 * Fresh SQL backends for the tests of test/sql: SQLite in a temporary file, and PostgreSQL
 * in a fresh schema of this file's database when a server is available (see postgres.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresBackend } from '../../../src/sql/postgres.js';
import { openSqliteBackend } from '../../../src/sql/sqlite.js';
import type { RetryPolicy, SqlBackend } from '../../../src/sql/transactions.js';
import { exclusionReason, registerBackendUnavailable } from '../../../src/testing/index.js';
import { postgresForTests } from './postgres.js';

/** A way to open fresh, empty backends of one dialect. */
export interface BackendKind {
  readonly name: 'sqlite' | 'postgres';
  /** A fresh, empty database; `cleanup` closes it and removes its files. */
  open(options?: { retry?: RetryPolicy; busyTimeoutMs?: number }): Promise<{ backend: SqlBackend; cleanup(): Promise<void>; location: { path?: string; url?: string; schema?: string } }>;
}

/**
 * The dialects available to this test file (PostgreSQL only with a server). Each one that
 * is excluded or unavailable gets a skipped test naming why (failing if required, see
 * registerBackendUnavailable), so the file never ends up with no tests at all.
 */
export async function sqlBackendKinds(what: string): Promise<BackendKind[]> {
  const kinds: BackendKind[] = [];
  const sqliteExcluded = exclusionReason('sqlite');
  if (sqliteExcluded !== undefined) registerBackendUnavailable('sqlite', what, sqliteExcluded);
  else {
    kinds.push({
      name: 'sqlite',
      async open(options = {}) {
        const path = await mkdtemp(join(tmpdir(), 'chand-sql-'));
        const backend = openSqliteBackend({ file: join(path, 'channel.sqlite'), ...options });
        return { backend, location: { path }, cleanup: async () => (await backend.close(), await rm(path, { recursive: true, force: true })) };
      },
    });
  }
  const pg = await postgresForTests(what);
  if (pg !== undefined) {
    kinds.push({
      name: 'postgres',
      async open(options = {}) {
        const schema = await pg.freshSchema();
        const backend = await openPostgresBackend({ url: pg.url, schema, maxConnections: 8, ...(options.retry === undefined ? {} : { retry: options.retry }) });
        return { backend, location: { url: pg.url, schema }, cleanup: () => backend.close() };
      },
    });
  }
  return kinds;
}
