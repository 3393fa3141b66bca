// A connection cut under a transaction: before COMMIT the call fails DB_UNAVAILABLE and
// nothing was written; during COMMIT it fails DB_COMMIT_UNKNOWN (the caller must re-read).
// Either way the broken connection is not reused: the next call works on a fresh one.
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { migrateSql } from '../../src/sql/migrations.js';
import { openPostgresBackend } from '../../src/sql/postgres.js';
import type { SqlTx } from '../../src/sql/transactions.js';
import { postgresForTests } from '../sql/support/postgres.js';

const WHAT = 'PostgreSQL connection loss';
const database = await postgresForTests(WHAT);

async function terminate(url: string, pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query('select pg_terminate_backend($1)', [pid]);
    // Wait (bounded) until the server has really ended it.
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query('select 1 from pg_stat_activity where pid = $1', [pid]);
      if (rows.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`backend ${pid} still alive`);
  } finally {
    await admin.end();
  }
}

const insertNode = (tx: SqlTx, byte: number) => tx.insertInto('link_nodes').values({ pubkey: new Uint8Array(33).fill(byte), network: 'regtest', last_seen_ms: byte }).execute();
const pidOf = async (tx: SqlTx) => Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid);

if (database !== undefined) {
  describe(WHAT, () => {
    it('cut before COMMIT: DB_UNAVAILABLE, nothing written; cut during COMMIT: DB_COMMIT_UNKNOWN; the next call reconnects', async () => {
      const schema = await database.freshSchema();
      const backend = await openPostgresBackend({ url: database.url, schema, maxConnections: 1 });
      try {
        await migrateSql(backend);
        const before = backend.runTx('write', async (tx) => {
          await insertNode(tx, 1);
          await terminate(database.url, await pidOf(tx));
          await insertNode(tx, 2);
        });
        await expect(before).rejects.toMatchObject({ code: ErrorCode.DB_UNAVAILABLE });

        const during = backend.runTx('write', async (tx) => {
          await insertNode(tx, 3);
          // The last statement succeeded; the connection dies before COMMIT is sent.
          await terminate(database.url, await pidOf(tx));
        });
        await expect(during).rejects.toMatchObject({ code: ErrorCode.DB_COMMIT_UNKNOWN });

        // One pooled connection only: this works only if the broken one was discarded.
        const stored = await backend.runTx('read', (tx) => tx.selectFrom('link_nodes').select('last_seen_ms').execute());
        // Here the server rolled both back (the session ended first); a caller of the second
        // could not know that, which is the point of DB_COMMIT_UNKNOWN.
        expect(stored).toEqual([]);
        await backend.runTx('write', (tx) => insertNode(tx, 4));
        expect((await backend.runTx('read', (tx) => tx.selectFrom('link_nodes').select('last_seen_ms').execute())).map((r) => Number(r.last_seen_ms))).toEqual([4]);
      } finally {
        await backend.close();
      }
    });
  });
}
