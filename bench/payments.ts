/**
 * `npm run bench:payments`: payments between two real node processes on 127.0.0.1 (devnet
 * chain, one channel), per backend (SQLite, the default, then LMDB and PostgreSQL).
 *
 * For each backend:
 * - sequential payments: one `send_payment` at a time (the invoices are created first, so
 *   only paying is timed): payments/s and p50/p99 latency (RPC call to the outcome);
 * - 8 and 64 payments in flight: payments/s (updates batch into shared commitment rounds);
 * - CPU per payment on each side (user + system time of each process over the phase);
 * - beside them, the engine's raw durable-commit rate measured in the same run (serial
 *   single-row transactions with the node's durability settings), and from it the physical
 *   limit of sequential payments: raw commits/s ÷ the serial durable commits one payment
 *   needs. That count (SERIAL_COMMITS) follows the code path of a direct payment:
 *     payer: initPayment, registerAttempt, appendRemoteCommitChain      → commitment_signed
 *     payee: updateCommitment → revoke_and_ack, appendRemoteCommitChain → commitment_signed
 *     payer: advanceCommitChainTail, updateCommitment                   → revoke_and_ack
 *     payee: advanceCommitChainTail, setFwdFilter, settleInvoice, appendRemoteCommitChain → fulfill + commitment_signed
 *     payer: settleAttempt (the preimage: send_payment returns here)
 *   = 13 serial commits until the payer knows the preimage; the settle round that follows
 *   (payer updateCommitment + append, payee advance + updateCommitment, payer advance +
 *   ackSettleFails = 6) overlaps with the next payment's first round only partly, so the
 *   limit is given for both counts (13 and 19).
 * Prints markdown tables and writes bench/results/payments-<timestamp>.json.
 * Flags: --quick (fewer payments), --backends sqlite,lmdb,postgres, --payments N.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { open as openLmdb } from 'lmdb';
import pg from 'pg';
import { createThrowawayDatabase, findPostgres, type ThrowawayDatabase } from '../tools/postgres-server.js';
import { TestNetwork, waitFor, type TestNode } from '../test/support/test-network.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'sqlite,lmdb,postgres' },
    payments: { type: 'string' },
  },
});
const PAYMENTS = Number(flags.payments ?? (flags.quick ? 100 : 400));
const CONCURRENT_PAYMENTS = PAYMENTS * 2;
const SERIAL_COMMITS_TO_PREIMAGE = 13;
const SERIAL_COMMITS_FULL = 19;
const RAW_COMMITS = flags.quick ? 500 : 2000;
const AMOUNT_MSAT = '10000';
const CLOCK_TICKS = 100; // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** User + system CPU of a process in ms, from /proc. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] = utime, fields[12] = stime (the 14th and 15th of the whole line)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < count) await task(next++);
  }));
}

// --- raw durable commit rates (same settings as the node's backends) --------------------------

async function rawRate(backend: string, pgDb?: ThrowawayDatabase): Promise<number> {
  const bytes = new Uint8Array(600).fill(7); // about one commitment record
  const dir = mkdtempSync(join(tmpdir(), 'chand-bench-raw-'));
  try {
    if (backend === 'sqlite') {
      const db = new BetterSqlite3(join(dir, 'raw.sqlite'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec('create table raw (k integer primary key, v blob not null)');
      const put = db.prepare('insert or replace into raw (k, v) values (?, ?)');
      const start = performance.now();
      for (let i = 0; i < RAW_COMMITS; i++) db.transaction(() => put.run(i % 64, bytes))();
      const rate = RAW_COMMITS / ((performance.now() - start) / 1000);
      db.close();
      return rate;
    }
    if (backend === 'lmdb') {
      const db = openLmdb({ path: join(dir, 'raw.lmdb'), noSync: false });
      const start = performance.now();
      for (let i = 0; i < RAW_COMMITS; i++) await db.put(i % 64, bytes);
      const rate = RAW_COMMITS / ((performance.now() - start) / 1000);
      await db.close();
      return rate;
    }
    const client = new pg.Client({ connectionString: pgDb!.url });
    await client.connect();
    await client.query('create table if not exists raw (k integer primary key, v bytea not null)');
    const start = performance.now();
    for (let i = 0; i < RAW_COMMITS; i++) {
      await client.query('begin');
      await client.query('insert into raw (k, v) values ($1, $2) on conflict (k) do update set v = excluded.v', [i % 64, bytes]);
      await client.query('commit');
    }
    const rate = RAW_COMMITS / ((performance.now() - start) / 1000);
    await client.end();
    return rate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- one backend ------------------------------------------------------------------------------

interface PhaseResult {
  readonly phase: string;
  readonly payments: number;
  readonly paymentsPerSec: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly cpuMsPerPaymentPayer: number;
  readonly cpuMsPerPaymentPayee: number;
}

interface BackendResult {
  readonly backend: string;
  readonly rawCommitsPerSec: number;
  readonly limitToPreimage: number;
  readonly limitFull: number;
  readonly phases: PhaseResult[];
}

async function invoices(bob: TestNode, n: number): Promise<string[]> {
  const out: string[] = [];
  await pool(n, 8, async () => {
    out.push((await bob.call<{ invoice: string }>('new_invoice', { amount_msat: AMOUNT_MSAT })).invoice);
  });
  return out;
}

async function phase(name: string, alice: TestNode, bob: TestNode, count: number, inFlight: number): Promise<PhaseResult> {
  const toPay = await invoices(bob, count);
  const latencies: number[] = [];
  const cpu0 = [cpuMs(alice.pid!), cpuMs(bob.pid!)];
  const start = performance.now();
  await pool(count, inFlight, async (i) => {
    const t = performance.now();
    const paid = await alice.call<{ status: string; failure_reason?: string }>('send_payment', { invoice: toPay[i], timeout_secs: 300 });
    if (paid.status !== 'succeeded') throw new Error(`payment ${i} ${paid.status}: ${paid.failure_reason ?? ''}`);
    latencies.push(performance.now() - t);
  });
  const seconds = (performance.now() - start) / 1000;
  const cpu1 = [cpuMs(alice.pid!), cpuMs(bob.pid!)];
  latencies.sort((a, b) => a - b);
  return {
    phase: name,
    payments: count,
    paymentsPerSec: count / seconds,
    ...(inFlight === 1 ? { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) } : {}),
    cpuMsPerPaymentPayer: (cpu1[0]! - cpu0[0]!) / count,
    cpuMsPerPaymentPayee: (cpu1[1]! - cpu0[1]!) / count,
  };
}

async function runBackend(backend: string): Promise<BackendResult | string> {
  let dbs: ThrowawayDatabase[] = [];
  let stopServer = async (): Promise<void> => {};
  // A slow chain poll: the channel is open after the first blocks, and polling would add its CPU to every phase.
  const common = ['--backend', backend, '--chain-poll-ms', '5000'];
  const args: Record<string, string[]> = { alice: [...common], bob: [...common] };
  if (backend === 'postgres') {
    const lookup = await findPostgres();
    if (lookup.server === undefined) return `PostgreSQL SKIPPED: ${lookup.reasons.join('; ')}`;
    const server = lookup.server;
    stopServer = () => server.stop();
    dbs = [await createThrowawayDatabase(server, 'chand_bench_pay'), await createThrowawayDatabase(server, 'chand_bench_pay')];
    args['alice']!.push('--db-url', dbs[0]!.url);
    args['bob']!.push('--db-url', dbs[1]!.url);
  }
  const raw = await rawRate(backend, dbs[0]);
  const net = await TestNetwork.start({ nodes: ['alice', 'bob'], nodeArgsFor: (name) => args[name]! });
  try {
    const alice = net.node('alice');
    const bob = net.node('bob');
    await net.fund(alice, 3_000_000);
    await alice.connect(bob);
    const { channel_id: channelId } = await alice.call<{ channel_id: string }>('open_channel', { peer_id: bob.nodeId, funding_amount_sat: 2_000_000 });
    await waitFor('bob stores the channel', async () => ((await bob.channels()).some((c) => c.channel_id === channelId) ? true : undefined));
    await net.devnet.mine(1);
    for (const n of [alice, bob]) {
      await waitFor(`${n.name} channel open`, async () => ((await n.channels()).find((c) => c.channel_id === channelId)?.state === 'open' ? true : undefined), 60_000);
    }
    await phase('warm-up', alice, bob, 20, 1);
    const phases = [
      await phase('sequential', alice, bob, PAYMENTS, 1),
      await phase('8 in flight', alice, bob, CONCURRENT_PAYMENTS, 8),
      await phase('64 in flight', alice, bob, CONCURRENT_PAYMENTS, 64),
    ];
    return {
      backend,
      rawCommitsPerSec: raw,
      limitToPreimage: raw / SERIAL_COMMITS_TO_PREIMAGE,
      limitFull: raw / SERIAL_COMMITS_FULL,
      phases,
    };
  } finally {
    await net.stop();
    for (const db of dbs) await db.drop().catch(() => undefined);
    await stopServer();
  }
}

// --- main -------------------------------------------------------------------------------------

const results: BackendResult[] = [];
const notes: string[] = [];
const startedAt = new Date().toISOString();
for (const backend of flags.backends.split(',').map((b) => b.trim()).filter((b) => b !== '')) {
  log(`running ${backend}...`);
  const r = await runBackend(backend);
  if (typeof r === 'string') {
    log(`\n!!! ${r} !!!\n`);
    notes.push(r);
  } else {
    results.push(r);
  }
}

log(`\n## Payments between two node processes (${startedAt}, ${PAYMENTS} sequential, ${CONCURRENT_PAYMENTS} per concurrent phase)\n`);
log('| backend | phase | payments/s | p50 ms | p99 ms | CPU ms/payment payer | CPU ms/payment payee | raw commits/s | limit (13 / 19 commits) | sequential vs limit (13 / 19) |');
log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  for (const p of r.phases) {
    const seq = p.phase === 'sequential';
    log(
      `| ${r.backend} | ${p.phase} | ${p.paymentsPerSec.toFixed(1)} | ${p.p50Ms?.toFixed(1) ?? ''} | ${p.p99Ms?.toFixed(1) ?? ''} | ${p.cpuMsPerPaymentPayer.toFixed(2)} | ${p.cpuMsPerPaymentPayee.toFixed(2)} | ${r.rawCommitsPerSec.toFixed(0)} | ${r.limitToPreimage.toFixed(0)} / ${r.limitFull.toFixed(0)} | ${
        seq ? `${((100 * p.paymentsPerSec) / r.limitToPreimage).toFixed(0)}% / ${((100 * p.paymentsPerSec) / r.limitFull).toFixed(0)}%` : ''
      } |`,
    );
  }
}
for (const n of notes) log(`\n${n}`);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
const file = join(import.meta.dirname, 'results', `payments-${startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ startedAt, payments: PAYMENTS, concurrentPayments: CONCURRENT_PAYMENTS, serialCommits: { toPreimage: SERIAL_COMMITS_TO_PREIMAGE, full: SERIAL_COMMITS_FULL }, results, notes }, null, 2));
log(`\nwrote ${file}`);
