// Crash safety on PostgreSQL: the writer is a client killed mid-transaction while the server
// lives on. See crash-harness.ts.
import pg from 'pg';
import { postgresForTests } from '../sql/support/postgres.js';
import { crashSuite, skippedCrashSuite, type CrashTarget } from './crash-harness.js';

/** How long the server may take to notice a killed client and end its session. */
const SETTLE_TRIES = 400;
const SETTLE_STEP_MS = 25;

const server = await postgresForTests('crash test');
if (server === undefined) skippedCrashSuite('postgres', 'excluded or no PostgreSQL server (see the warning above)');
else {
  const db = server;
  const target = async (): Promise<CrashTarget> => {
    const schema = await db.freshSchema();
    return {
      config: { backend: 'postgres', url: db.url, schema, maxConnections: 2 },
      // A killed client's COMMIT may still be on its way through the server: wait until its
      // sessions are gone, so what we read is final.
      async settle() {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          for (let i = 0; i < SETTLE_TRIES; i++) {
            const { rows } = await client.query<{ n: string }>(
              "select count(*) as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()",
            );
            if (Number(rows[0]!.n) === 0) return;
            await new Promise((r) => setTimeout(r, SETTLE_STEP_MS));
          }
          throw new Error(`the killed writer's sessions were still open after ${(SETTLE_TRIES * SETTLE_STEP_MS) / 1000} s`);
        } finally {
          await client.end();
        }
      },
      cleanup: () => db.dropSchema(schema),
    };
  };
  // Each commit is a round trip plus the server's fsync, so a writer gets through fewer ops
  // per ms than on SQLite: longer delays keep the run's op count (and op mix) comparable.
  crashSuite('postgres', target, { delayMs: [20, 600] });
}
