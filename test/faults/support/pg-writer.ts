/**
 * Child process of postgres-restart.test.ts: opens a channel database on PostgreSQL and
 * writes one new pending channel (coordinator.syncPendingChannel) per step, reporting each
 * step as a JSON line on stdout: `{"op":seed,"ok":true}` once committed, `{"op":seed,"code":C}`
 * for a typed error, `{"op":seed,"raw":message}` for anything untyped (a defect the test
 * fails on). Stops after the current step when stdin says `stop`, or on its own after
 * MAX_OPS steps or MAX_MS, then closes the database and reports `{"event":"closed"}`.
 *
 * Beside it, a slow reader holds a read transaction open across a pause between two
 * statements (`{"slow":n,...}` lines), so a server going away finds a connection checked out
 * and idle: the case where pg emits an 'error' event that only chand can listen to.
 *
 * Usage: node --import tsx test/faults/support/pg-writer.ts <url> <schema>
 */
import { createInterface } from 'node:readline';
import { openChannelDb } from '../../../src/channeldb/open.js';
import { sql } from 'kysely';
import { isChandError } from '../../../src/errors.js';
import { openPostgresBackend } from '../../../src/sql/postgres.js';
import { makePendingChannel } from '../../../src/testing/fixtures.js';

const MAX_OPS = 4000;
const MAX_MS = 120_000;
/** Pause between steps: enough steps to span each fault, few enough to keep the log small. */
const STEP_MS = 20;

const [url, schema] = process.argv.slice(2);
if (url === undefined || schema === undefined) throw new RangeError('expected <url> <schema>, got too few arguments');

const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
let stopping = false;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stop') stopping = true;
});

const db = await openChannelDb({ backend: 'postgres', url, schema, maxConnections: 2 });
const reader = await openPostgresBackend({ url, schema, maxConnections: 1 });
report({ event: 'ready', pid: process.pid });
const started = Date.now();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const slowReads = (async () => {
  for (let n = 1; !stopping && Date.now() - started < MAX_MS; n++) {
    try {
      await reader.runTx('read', async (tx) => {
        await sql`select 1`.execute(tx);
        await pause(300);
        await sql`select 1`.execute(tx);
      });
      report({ slow: n, ok: true });
    } catch (err) {
      report(isChandError(err) ? { slow: n, code: err.code } : { slow: n, raw: String((err as Error)?.stack ?? err) });
      await pause(STEP_MS);
    }
  }
})();

for (let seed = 1; seed <= MAX_OPS && !stopping && Date.now() - started < MAX_MS; seed++) {
  try {
    await db.coordinator.syncPendingChannel(makePendingChannel(seed), '127.0.0.1:9735', 100);
    report({ op: seed, ok: true });
  } catch (err) {
    report(isChandError(err) ? { op: seed, code: err.code, message: err.message } : { op: seed, raw: String((err as Error)?.stack ?? err) });
  }
  await new Promise((resolve) => setTimeout(resolve, STEP_MS));
}
stopping = true;
await slowReads;
await reader.close();
await db.close();
report({ event: 'closed' });
process.exit(0);
