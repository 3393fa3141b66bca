/**
 * `npm run bench:store`: the channel-state store on memory, LMDB, SQLite and PostgreSQL.
 *
 * Scenarios (sizes are flags; defaults are the issue's sizes, `--quick` shrinks them all):
 * - hot path: one payment round = appendRemoteCommitChain + advanceCommitChainTail +
 *   updateCommitment, with 0, 5 and 50 HTLCs on the commitments; rounds/s and p50/p99 round
 *   latency. It is compared with the engine's raw durable rate measured in the same run: a
 *   "raw round" is three serial single-write transactions of the same byte sizes as the
 *   three store calls (the store must make three durable commits per round, persist before
 *   send), so `vs raw` = store rounds/s ÷ raw rounds/s; and with its floor (store-floor.ts):
 *   the database operations the store made in the same rounds, replayed without chand's code
 *   on a copy of the starting state, so `store vs floor` is what chand's own code costs;
 * - 100 channels running rounds concurrently: total rounds/s;
 * - bytes on disk per revoked state (0 and 5 HTLCs) after 100,000 states;
 * - open + load 10,000 channels: time from open to fetchAllChannels() returning;
 * - closing a channel with 1,000,000 revoked states: close latency, then the bounded purge:
 *   longest batch, number of batches, total.
 * Revoked states for the last two are written with bulk inserts of exactly the rows (or KV
 * records) the store writes, not through the store API: a million serial durable rounds
 * would take hours. The output says so.
 *
 * Every engine runs with its durable settings (LMDB without noSync, SQLite WAL +
 * synchronous=FULL, PostgreSQL fsync + synchronous_commit). It prints markdown tables and
 * writes bench/results/store-<timestamp>.json.
 */
import BetterSqlite3 from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { open as openLmdb } from 'lmdb';
import pg from 'pg';
import { commitDiffRecord, commitmentRecord, fwdPkgRecord, logUpdateListRecord, remoteRevocationRecord, revocationLogRecord } from '../src/chanstate/records.js';
import type { ChannelStateStore } from '../src/chanstate/store.js';
import { ChannelStatus, type OpenChannel, type OutPoint, type RevocationLogEntry } from '../src/chanstate/types.js';
import type { Coordinator } from '../src/channelcoord/coordinator.js';
import { LMDB_FILE, openChannelDb, SQLITE_FILE, type ChannelDbConfig } from '../src/channeldb/open.js';
import { bytesToHex } from '../src/codec/bytes.js';
import type { KvEngine } from '../src/kv/engine.js';
import { createKvChannelStateStore } from '../src/kv/channel-state-store.js';
import { KvCoordinator } from '../src/kv/coordinator.js';
import { openLmdbEngine } from '../src/kv/lmdb-engine.js';
import { createMemoryEngine } from '../src/kv/memory-engine.js';
import { checksummedTx } from '../src/kv/checksummed-engine.js';
import { appendRevokedStates as appendKvRevokedStates } from '../src/kv/commitments.js';
import { migrateKv } from '../src/kv/migrations.js';
import { migrateSql } from '../src/sql/migrations.js';
import { openPostgresBackend } from '../src/sql/postgres.js';
import { createThrowawayDatabase, findPostgres, type PostgresServer, type ThrowawayDatabase } from '../tools/postgres-server.js';
import { createSqlChannelStateStore } from '../src/sql/channel-state-store.js';
import { appendRevokedStates as appendSqlRevokedStates } from '../src/sql/commitments.js';
import { SqlCoordinator } from '../src/sql/coordinator.js';
import { openSqliteBackend } from '../src/sql/sqlite.js';
import type { SqlBackend } from '../src/sql/transactions.js';
import { makeChannel, makeCloseSummary, modelOf, peerPub, planRound, scidOf, type RoundPlan } from '../src/testing/fixtures.js';
import { kvRecorder, postgresFloor, sqliteFloor, type Floor, type KvCopy, type ReplayedRound } from './store-floor.js';

// --- options --------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'memory,lmdb,sqlite,postgres' },
    rounds: { type: 'string' },
    'rounds-50': { type: 'string' },
    'concurrent-channels': { type: 'string' },
    'concurrent-rounds': { type: 'string' },
    states: { type: 'string' },
    channels: { type: 'string' },
    'close-states': { type: 'string' },
    'purge-batch': { type: 'string' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
    /** Comma-separated subset of hot,concurrent,bytes,close,load (default: all). */
    scenarios: { type: 'string', default: 'hot,concurrent,bytes,close,load' },
  },
});
const SCENARIOS = new Set(flags.scenarios!.split(',').map((s) => s.trim()));
for (const s of SCENARIOS) if (!['hot', 'concurrent', 'bytes', 'close', 'load'].includes(s)) throw new TypeError(`expected --scenarios from hot,concurrent,bytes,close,load, got ${s}`);
const quick = flags.quick === true;
const int = (value: string | undefined, full: number, small: number) => (value === undefined ? (quick ? small : full) : Number.parseInt(value, 10));
const SIZES = {
  rounds: int(flags.rounds, 1_000, 60),
  rounds50: int(flags['rounds-50'], 300, 30),
  concurrentChannels: int(flags['concurrent-channels'], 100, 10),
  concurrentRounds: int(flags['concurrent-rounds'], 10, 3),
  states: int(flags.states, 100_000, 2_000),
  channels: int(flags.channels, 10_000, 200),
  closeStates: int(flags['close-states'], 1_000_000, 5_000),
  purgeBatch: int(flags['purge-batch'], 2_000, 1_000),
};
const WARMUP = quick ? 5 : 20;
const HTLC_COUNTS = [0, 5, 50] as const;
/** The memory engine deletes from a sorted array (O(n) each): a million-key purge would take hours. */
const MEMORY_CLOSE_STATES_CAP = 100_000;

// --- engines --------------------------------------------------------------------------------

/** The stores of one open database, and what the bench needs beyond the contracts. */
interface Opened {
  readonly channelState: ChannelStateStore;
  readonly coordinator: Coordinator;
  /** One durable transaction writing `bytes` under a scratch key (the raw baseline). */
  rawCommit(bytes: Uint8Array): Promise<void>;
  /** Bytes the engine occupies now (undefined: not on disk). */
  diskBytes(): Promise<number | undefined>;
  /** Writes revocation log states [from, from + entries.length) of `op` in bulk. */
  bulkRevocationLog(op: OutPoint, entries: readonly RevocationLogEntry[]): Promise<void>;
  /** Transactions retried because of conflicts so far. */
  retries(): number;
  /** A floor (store-floor.ts) starting from the database as it is now; undefined where the engine has none. */
  readonly floor?: () => Promise<Floor>;
  close(): Promise<void>;
}

interface Engine {
  readonly name: 'memory' | 'lmdb' | 'sqlite' | 'postgres';
  readonly notes: string[];
  open(): Promise<Opened>;
  /** The config openChannelDb reopens it with (undefined: the engine does not persist). */
  readonly config?: ChannelDbConfig;
  dispose(): Promise<void>;
}

/** The KV key of the raw baseline's writes (outside every key prefix the store uses). */
const RAW_KEY = Uint8Array.of(0xfe, 0x01);

/** `openCopy` opens an empty engine like `engine`, for the hot path's floor. */
function kvOpened(engine: KvEngine, disk: () => Promise<number | undefined>, openCopy: () => Promise<KvCopy>): Opened {
  // The store runs on a recorder of the engine, so that a floor can record its transactions.
  const recorder = kvRecorder(engine);
  const channelState = createKvChannelStateStore(recorder.engine);
  return {
    channelState,
    coordinator: new KvCoordinator(recorder.engine),
    rawCommit: (bytes) => engine.update((tx) => tx.put(RAW_KEY, bytes)),
    diskBytes: disk,
    async bulkRevocationLog(op, entries) {
      // The KV store's own revocation-log writer (commitments.ts: the same blocks as states
      // appended one by one), checksummed as every stored value is.
      for (let i = 0; i < entries.length; i += 20_000) {
        const batch = entries.slice(i, i + 20_000);
        await engine.update((raw) => appendKvRevokedStates(checksummedTx(raw), op, batch));
      }
    },
    retries: () => 0,
    floor: async () => recorder.floor(await openCopy(), [RAW_KEY]),
    close: () => engine.close(),
  };
}

function memoryEngine(): Engine {
  return {
    name: 'memory',
    notes: ['memory: not durable (no disk); its "raw" rate is an in-memory transaction'],
    async open() {
      const engine = createMemoryEngine();
      await migrateKv(engine);
      return kvOpened(engine, async () => undefined, async () => ({ engine: createMemoryEngine(), dispose: async () => {} }));
    },
    dispose: async () => {},
  };
}

function lmdbEngine(): Engine {
  const dir = mkdtempSync(join(tmpdir(), 'chand-bench-lmdb-'));
  return {
    name: 'lmdb',
    notes: [],
    config: { backend: 'lmdb', path: dir },
    async open() {
      const engine = await openLmdbEngine({ path: join(dir, LMDB_FILE) });
      await migrateKv(engine);
      // A read-only handle on the same environment, for page statistics: pages the main
      // tree uses (branch + leaf + overflow) × page size. File size would count free pages.
      const stats = openLmdb({ path: join(dir, LMDB_FILE), readOnly: true });
      // The floor's copy: a second environment opened as the first is (durable).
      const openCopy = async (): Promise<KvCopy> => {
        const copyDir = mkdtempSync(join(tmpdir(), 'chand-bench-lmdb-floor-'));
        return { engine: await openLmdbEngine({ path: join(copyDir, LMDB_FILE) }), dispose: async () => rmSync(copyDir, { recursive: true, force: true }) };
      };
      const opened = kvOpened(
        engine,
        async () => {
          const { root } = stats.getStats() as { root: { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number } };
          return (root.treeBranchPageCount + root.treeLeafPageCount + root.overflowPages) * root.pageSize;
        },
        openCopy,
      );
      return { ...opened, close: async () => (await stats.close(), await opened.close()) };
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function sqlOpened(backend: SqlBackend, extra: Pick<Opened, 'rawCommit' | 'diskBytes' | 'bulkRevocationLog' | 'floor'> & { close(): Promise<void> }): Opened {
  return {
    channelState: createSqlChannelStateStore(backend),
    coordinator: new SqlCoordinator(backend),
    ...extra,
    retries: () => backend.retries,
    close: async () => (await backend.close(), await extra.close()),
  };
}

/** Writes revoked states in bulk through the SQL store's own revocation-log writer (the blocks appending them one by one gives). */
async function sqlBulkRevocationLog(backend: SqlBackend, op: OutPoint, entries: readonly RevocationLogEntry[]): Promise<void> {
  const id = await channelRowId(backend, op);
  for (let i = 0; i < entries.length; i += 20_000) {
    const batch = entries.slice(i, i + 20_000);
    await backend.runTx('write', (tx) => appendSqlRevokedStates(tx, id, batch));
  }
}

async function channelRowId(backend: SqlBackend, op: OutPoint): Promise<number> {
  const row = await backend.runTx('read', (tx) =>
    tx.selectFrom('channels').select('id').where('txid', '=', Buffer.from(op.txid, 'hex')).where('output_index', '=', op.index).executeTakeFirstOrThrow(),
  );
  return Number(row.id);
}

function sqliteEngine(): Engine {
  const dir = mkdtempSync(join(tmpdir(), 'chand-bench-sqlite-'));
  const file = join(dir, SQLITE_FILE);
  return {
    name: 'sqlite',
    notes: [],
    config: { backend: 'sqlite', path: dir },
    async open() {
      const backend = openSqliteBackend({ file });
      await migrateSql(backend);
      // A second connection for the raw baseline and bulk loads, with the same pragmas.
      const raw = new BetterSqlite3(file);
      raw.pragma('journal_mode = WAL');
      raw.pragma('synchronous = FULL');
      raw.pragma('busy_timeout = 5000');
      raw.exec('create table if not exists bench_raw (k integer primary key, v blob not null)');
      const put = raw.prepare('insert or replace into bench_raw (k, v) values (1, ?)');
      const begin = raw.prepare('begin immediate');
      const commit = raw.prepare('commit');
      return sqlOpened(backend, {
        async rawCommit(bytes) {
          begin.run();
          put.run(bytes);
          commit.run();
        },
        async diskBytes() {
          raw.pragma('wal_checkpoint(TRUNCATE)');
          const pages = Number(raw.pragma('page_count', { simple: true })) - Number(raw.pragma('freelist_count', { simple: true }));
          return pages * Number(raw.pragma('page_size', { simple: true }));
        },
        bulkRevocationLog: (op, entries) => sqlBulkRevocationLog(backend, op, entries),
        floor: () => sqliteFloor(raw, ['bench_raw']),
        close: async () => void raw.close(),
      });
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresEngine(server: PostgresServer, database: ThrowawayDatabase): Engine {
  let twin: ThrowawayDatabase | undefined;
  return {
    name: 'postgres',
    notes: [`postgres: ${server.source}, database ${database.name}, pool of 20 connections`],
    config: { backend: 'postgres', url: database.url, maxConnections: 20 },
    async open() {
      const backend = await openPostgresBackend({ url: database.url, maxConnections: 20 });
      await migrateSql(backend);
      const client = new pg.Client({ connectionString: database.url });
      // Dropping the database after a failed run ends this connection: that must not end the process before the failure is reported.
      client.on('error', () => {});
      await client.connect();
      await client.query('create table if not exists bench_raw (k integer primary key, v bytea not null)');
      // The floor's twin database (store-floor.ts): on the same server, migrated as the store's.
      twin = await createThrowawayDatabase(server, 'chand_bench_floor');
      const twinBackend = await openPostgresBackend({ url: twin.url, maxConnections: 1 });
      try {
        await migrateSql(twinBackend);
      } finally {
        await twinBackend.close();
      }
      const replica = new pg.Client({ connectionString: twin.url });
      replica.on('error', () => {}); // as `client`'s
      await replica.connect();
      return sqlOpened(backend, {
        async rawCommit(bytes) {
          await client.query('begin');
          await client.query('insert into bench_raw (k, v) values (1, $1) on conflict (k) do update set v = excluded.v', [bytes]);
          await client.query('commit');
        },
        async diskBytes() {
          // The revoked states: sealed blocks, and the open blocks beside the points.
          const { rows } = await client.query<{ n: string }>("select (pg_total_relation_size('revocation_blocks') + pg_total_relation_size('revocation_states'))::text as n");
          return Number(rows[0]!.n);
        },
        bulkRevocationLog: (op, entries) => sqlBulkRevocationLog(backend, op, entries),
        floor: () => postgresFloor(client, replica, ['bench_raw']),
        close: async () => (await replica.end(), await client.end()),
      });
    },
    async dispose() {
      await twin?.drop();
      await database.drop();
      await server.stop();
    },
  };
}

// --- helpers --------------------------------------------------------------------------------

const now = () => performance.now();

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** A fixture channel with `htlcs` HTLCs on its commitments (balances kept positive for any count). */
function benchChannel(seed: number, htlcs: number, peer = seed): OpenChannel {
  const channel = makeChannel(seed, {}, { htlcs, dust: 0, peer });
  const balanced = (c: OpenChannel['localCommitment']) => ({ ...c, remoteBalanceMsat: 100_000_000n });
  return { ...channel, localCommitment: balanced(channel.localCommitment), remoteCommitment: balanced(channel.remoteCommitment) };
}

/** Opens `channel` the way a node does: pending, then open. */
async function addChannel(db: Opened, channel: OpenChannel): Promise<void> {
  await db.coordinator.syncPendingChannel({ ...channel, isPending: true, shortChannelId: 0n }, undefined, channel.fundingBroadcastHeight);
  await db.channelState.markOpen(channel.fundingOutpoint, channel.shortChannelId);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Round plans for a channel. The revealed secrets come from the remote's shachain (the
 * fixtures derive them), and the store keeps them in a BOLT 3 compact store of at most 49
 * buckets, as a node does.
 */
function* roundPlans(channel: OpenChannel, htlcs: number): Generator<RoundPlan> {
  let model = modelOf(channel);
  for (;;) {
    const plan = planRound(model, { ourAdds: 1, remoteAdds: 1, htlcs, dust: 0 });
    yield plan;
    model = { ...plan.next, revocationLog: [], fwdPkgs: [], finalHtlcs: new Map() };
  }
}

/** The bytes each of the three calls of a round writes, as KV records (the raw baseline's payloads). */
function roundBytes(plan: RoundPlan): [number, number, number] {
  const { commitHeight: _h, htlcs, ...entry } = plan.logEntry;
  return [
    commitDiffRecord.encode(plan.tip).length,
    revocationLogRecord.encode(htlcs.length === 0 ? entry : { ...entry, htlcs }).length +
      commitmentRecord.encode(plan.tip.commitment).length +
      remoteRevocationRecord.encode(plan.next.revocation).length +
      fwdPkgRecord.encode(plan.advance.fwdPkg).length +
      logUpdateListRecord.encode({ updates: plan.advance.remoteUnsignedLocalUpdates }).length,
    commitmentRecord.encode(plan.newLocal).length + logUpdateListRecord.encode({ updates: plan.unsignedAckedArg }).length,
  ];
}

/** The payment hash of HTLC number `id` of the revoked-state sequences (deterministic: the same HTLC in every state it is on). */
function benchHash(id: number): string {
  return createHash('sha256').update(`bench-htlc/${id}`).digest('hex');
}

/**
 * Revoked states [from, from + count). With `htlcs` > 0, each state carries `htlcs` HTLCs:
 * `stay` — state h has HTLCs h .. h + htlcs - 1, so each stays on `htlcs` consecutive states (one HTLC added and one resolved per
 * state, as on a busy channel); `fresh` — every
 * state has `htlcs` HTLCs of its own (none repeats: nothing to deduplicate, the worst case).
 */
function revokedStates(from: number, count: number, htlcs: number, mode: 'stay' | 'fresh' = 'stay'): RevocationLogEntry[] {
  const out: RevocationLogEntry[] = [];
  for (let h = from; h < from + count; h++) {
    out.push({
      commitHeight: h,
      ourOutputIndex: 0,
      theirOutputIndex: 1,
      commitTxid: bytesToHex(randomBytes(32)),
      ourBalanceMsat: 4_000_000_000n + BigInt(h % 100_000) * 1_000n,
      theirBalanceMsat: 6_000_000_000n - BigInt(h % 100_000) * 1_000n,
      htlcs: Array.from({ length: htlcs }, (_, i) => {
        const id = mode === 'stay' ? h + i : h * htlcs + i;
        return {
          paymentHash: mode === 'stay' ? benchHash(id) : bytesToHex(randomBytes(32)),
          refundTimeout: 850_000 + (id % 1_000),
          outputIndex: 2 + i,
          incoming: id % 2 === 0,
          amountSat: 50_000n + BigInt(id % 7) * 1_000n,
          htlcIndex: id,
        };
      }),
    });
  }
  return out;
}

// --- scenarios ------------------------------------------------------------------------------

interface HotPathResult {
  readonly htlcs: number;
  readonly rounds: number;
  readonly roundsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly bytesPerCall: [number, number, number];
  readonly rawTxPerSec: number;
  readonly rawRoundsPerSec: number;
  readonly vsRaw: number;
  /** The floor (store-floor.ts): the same rounds' database operations replayed without chand's code. Absent where the engine has no floor. */
  readonly floorRoundsPerSec?: number;
  readonly floorP50Ms?: number;
  /** Database operations per round: statements (SQLite), queries as sent (PostgreSQL; one may carry several deferred statements), reads and writes (KV). */
  readonly floorOpsPerRound?: number;
  /** Floor rounds/s ÷ raw rounds/s. */
  readonly floorVsRaw?: number;
  /** Store rounds/s ÷ floor rounds/s. */
  readonly storeVsFloor?: number;
}

/** Store, raw and floor rounds alternate in this many slices, so that load changing during the run weighs on all alike. */
const SLICES = 10;

async function hotPath(db: Opened, htlcs: number, rounds: number, seed: number): Promise<HotPathResult> {
  const channel = benchChannel(seed, htlcs);
  const op = channel.fundingOutpoint;
  const plans = roundPlans(channel, htlcs);
  const latencies: number[] = [];
  const floorRounds: ReplayedRound[] = [];
  let bytes: [number, number, number] | undefined;
  // The floor starts from the database as it is now, before the channel is added: it
  // replays the setup and the warm-up rounds untimed (as the store ran them, warming its own
  // connection alike), then each slice's measured rounds, timed, after that slice's raw rounds.
  const floor = await db.floor?.();
  try {
    const storeRound = async (measure: boolean) => {
      const plan = plans.next().value as RoundPlan;
      bytes ??= roundBytes(plan);
      const t0 = now();
      await db.channelState.appendRemoteCommitChain(op, plan.diff);
      await db.channelState.advanceCommitChainTail(op, plan.advance);
      await db.channelState.updateCommitment(op, plan.newLocal, plan.unsignedAckedArg);
      if (measure) latencies.push(now() - t0);
      floor?.roundEnd();
    };
    floor?.record();
    await addChannel(db, channel);
    floor?.roundEnd();
    for (let i = 0; i < WARMUP; i++) await storeRound(false);
    floor?.stopRecording();
    // The raw baseline: the same three durable commits with the same byte counts.
    const payloads = bytes!.map((n) => randomBytes(n));
    const rawRounds = Math.max(50, Math.min(rounds, 1_000));
    for (let i = 0; i < WARMUP; i++) for (const p of payloads) await db.rawCommit(p);
    await floor?.replay();
    let rawSeconds = 0;
    for (let slice = 0; slice < SLICES; slice++) {
      floor?.record();
      for (let i = Math.floor((slice * rounds) / SLICES); i < Math.floor(((slice + 1) * rounds) / SLICES); i++) await storeRound(true);
      floor?.stopRecording();
      const t0 = now();
      for (let i = Math.floor((slice * rawRounds) / SLICES); i < Math.floor(((slice + 1) * rawRounds) / SLICES); i++) for (const p of payloads) await db.rawCommit(p);
      rawSeconds += (now() - t0) / 1000;
      if (floor !== undefined) floorRounds.push(...(await floor.replay()));
    }
    // The floor measured the store's own writes only if its copy now holds what the store's database does.
    await floor?.verify();
    const total = latencies.reduce((a, b) => a + b, 0) / 1000;
    latencies.sort((a, b) => a - b);
    const roundsPerSec = latencies.length / total;
    const rawRoundsPerSec = rawRounds / rawSeconds;
    const result: HotPathResult = {
      htlcs,
      rounds: latencies.length,
      roundsPerSec,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      bytesPerCall: bytes!,
      rawTxPerSec: (rawRounds * 3) / rawSeconds,
      rawRoundsPerSec,
      vsRaw: roundsPerSec / rawRoundsPerSec,
    };
    if (floor === undefined) return result;
    if (floorRounds.length !== latencies.length) throw new Error(`floor: replayed ${floorRounds.length} rounds, the store ran ${latencies.length}`);
    const floorLatencies = floorRounds.map((r) => r.ms).sort((a, b) => a - b);
    const floorRoundsPerSec = floorLatencies.length / (floorLatencies.reduce((a, b) => a + b, 0) / 1000);
    return {
      ...result,
      floorRoundsPerSec,
      floorP50Ms: percentile(floorLatencies, 50),
      floorOpsPerRound: floorRounds.reduce((n, r) => n + r.ops, 0) / floorRounds.length,
      floorVsRaw: floorRoundsPerSec / rawRoundsPerSec,
      storeVsFloor: roundsPerSec / floorRoundsPerSec,
    };
  } finally {
    await floor?.close();
  }
}

async function concurrentChannels(db: Opened, channels: number, rounds: number): Promise<{ roundsPerSec: number; retries: number }> {
  const setups = Array.from({ length: channels }, (_, i) => benchChannel(2_000 + i, 5, 2_000 + (i % 20)));
  await pool(setups, 16, (channel) => addChannel(db, channel));
  const work = setups.map((channel) => {
    const plans = roundPlans(channel, 5);
    return { op: channel.fundingOutpoint, plans: Array.from({ length: rounds }, () => plans.next().value as RoundPlan) };
  });
  const retriesBefore = db.retries();
  const t0 = now();
  await Promise.all(
    work.map(async ({ op, plans }) => {
      for (const plan of plans) {
        await db.channelState.appendRemoteCommitChain(op, plan.diff);
        await db.channelState.advanceCommitChainTail(op, plan.advance);
        await db.channelState.updateCommitment(op, plan.newLocal, plan.unsignedAckedArg);
      }
    }),
  );
  return { roundsPerSec: (channels * rounds) / ((now() - t0) / 1000), retries: db.retries() - retriesBefore };
}

async function bytesPerState(db: Opened, states: number): Promise<{ htlcs0?: number; htlcs5?: number; htlcs5Fresh?: number }> {
  const out: { htlcs0?: number; htlcs5?: number; htlcs5Fresh?: number } = {};
  for (const [htlcs, mode, key, seed] of [[0, 'stay', 'htlcs0', 3_001], [5, 'stay', 'htlcs5', 3_002], [5, 'fresh', 'htlcs5Fresh', 3_003]] as const) {
    const channel = benchChannel(seed, 0);
    await addChannel(db, channel);
    const before = await db.diskBytes();
    if (before === undefined) return {};
    for (let from = 1; from <= states; from += 50_000) {
      await db.bulkRevocationLog(channel.fundingOutpoint, revokedStates(from, Math.min(50_000, states - from + 1), htlcs, mode));
    }
    out[key] = ((await db.diskBytes())! - before) / states;
  }
  return out;
}

/**
 * Channels for the load test, derived from two templates so that building 10,000 costs no
 * key derivation: every tenth channel has 2 HTLCs in flight on each commitment, the others
 * none (an idle channel's usual state).
 */
function loadChannelsOf(count: number): OpenChannel[] {
  const idle = benchChannel(4_000, 0);
  const busy = benchChannel(4_001, 2);
  const peers = Array.from({ length: 200 }, (_, i) => peerPub(4_000 + i));
  return Array.from({ length: count }, (_, i) => ({
    ...(i % 10 === 0 ? busy : idle),
    fundingOutpoint: { txid: bytesToHex(randomBytes(32)), index: i % 4 },
    // Every channel its own key index: the stores refuse a reused one.
    revocationKeyLocator: { family: 5, index: 100_000 + i },
    identityPub: peers[i % peers.length]!,
    shortChannelId: scidOf(700_000 + Math.floor(i / 1_000), i % 1_000, i % 4),
  }));
}

async function loadChannels(engine: Engine, db: Opened, count: number): Promise<{ readyMs: number; loaded: number }> {
  await pool(loadChannelsOf(count), 32, (channel) => addChannel(db, channel));
  if (engine.config === undefined) {
    const t0 = now();
    const loaded = (await db.channelState.fetchAllChannels()).length;
    return { readyMs: now() - t0, loaded };
  }
  await db.close();
  const t0 = now();
  const reopened = await openChannelDb(engine.config);
  const loaded = (await reopened.channelState.fetchAllChannels()).length;
  const readyMs = now() - t0;
  await reopened.close();
  return { readyMs, loaded };
}

async function closeLargeChannel(db: Opened, states: number, batch: number): Promise<{ states: number; closeMs: number; maxBatchMs: number; batches: number; purgeSeconds: number }> {
  const channel = benchChannel(5_000, 2);
  await addChannel(db, channel);
  for (let from = 1; from <= states; from += 50_000) {
    await db.bulkRevocationLog(channel.fundingOutpoint, revokedStates(from, Math.min(50_000, states - from + 1), 0));
  }
  // Drain earlier scenarios' closed channels first, so the purge below is this channel's.
  while (!(await db.channelState.purgeClosedChannels(batch)).done);
  const t0 = now();
  await db.channelState.closeChannel(channel.fundingOutpoint, makeCloseSummary(channel), ChannelStatus.LocalCloseInitiator);
  const closeMs = now() - t0;
  let maxBatchMs = 0;
  let batches = 0;
  const p0 = now();
  for (;;) {
    const b0 = now();
    const result = await db.channelState.purgeClosedChannels(batch);
    maxBatchMs = Math.max(maxBatchMs, now() - b0);
    batches++;
    if (result.done) break;
  }
  return { states, closeMs, maxBatchMs, batches, purgeSeconds: (now() - p0) / 1000 };
}

// --- run ------------------------------------------------------------------------------------

interface EngineResult {
  readonly engine: string;
  readonly hotPath: HotPathResult[];
  readonly concurrent?: { roundsPerSec: number; retries: number };
  readonly bytesPerState?: { htlcs0?: number; htlcs5?: number; htlcs5Fresh?: number };
  readonly load?: { readyMs: number; loaded: number };
  readonly close?: Awaited<ReturnType<typeof closeLargeChannel>>;
  readonly seconds: number;
}

const wanted = new Set(flags.backends!.split(',').map((b) => b.trim()));
const engines: Engine[] = [];
const notes: string[] = [
  'this machine acknowledges fsync unusually fast (about 0.1-0.3 ms, toolchain.md §2): durable commit rates are 5-20x those of ordinary SSDs, so per-commit CPU weighs far more in "vs raw" here than it would there',
  'vs raw = store rounds/s ÷ raw rounds/s; a raw round is three serial durable single-write transactions of the byte sizes the three calls write',
  `revoked states for bytes/state and the close test are written in bulk through the store's own revocation-log writer (the blocks appending them one by one gives), not through advanceCommitChainTail`,
  'bytes/revoked state: with 5 HTLCs, each HTLC stays on 5 consecutive states (one added and one resolved per state); "5 new HTLCs every state" has none repeat (nothing to deduplicate)',
  `vs raw: store, raw and floor rounds alternate in ${SLICES} slices; × 1 channel = the concurrent rate ÷ the one-channel 5-HTLC rate of the same run`,
  'load test: every tenth channel has 2 HTLCs on each commitment, the rest none; time = openChannelDb + fetchAllChannels in a fresh open',
  "floor = the store's own database operations for the same rounds, replayed by a loop without chand's code, from a copy of the same starting state (bench/store-floor.ts); floor vs raw = floor rounds/s ÷ raw rounds/s (the cost of the rows, tables and indexes the schema writes), store vs floor = store rounds/s ÷ floor rounds/s (the cost of chand's code); each run checks that the replay left the copy holding exactly what the store's database holds",
  `floor: SQLite replays every statement of the store's connection (BEGIN, COMMIT and savepoints included) with the same arguments on a page-for-page backup opened with the store connection's pragmas; LMDB and memory replay every engine transaction of the store, one engine transaction each, on a second engine of the same kind and options holding a copy of every key/value; PostgreSQL replays every query the store's pool sent, as sent (named prepared statements, simple queries carrying deferred statements), on one connection to a twin database on the same server (migrated alike, every earlier floor replayed on it, checked equal to the store's before and after; the pool has 20 connections, the replay one); the store's rounds are timed while they are recorded (arguments copied as they run), the floor's warm-up replays the channel's setup and the store's ${WARMUP} warm-up rounds untimed`,
];
if (wanted.has('memory')) engines.push(memoryEngine());
if (wanted.has('lmdb')) engines.push(lmdbEngine());
if (wanted.has('sqlite')) engines.push(sqliteEngine());
if (wanted.has('postgres')) {
  const lookup = await findPostgres();
  if (lookup.server === undefined) {
    const message = `PostgreSQL SKIPPED: ${lookup.reasons.join('; ')}`;
    log(`\n!!! ${message} !!!\n`);
    notes.push(message);
  } else {
    engines.push(postgresEngine(lookup.server, await createThrowawayDatabase(lookup.server, 'chand_bench')));
  }
}

const results: EngineResult[] = [];
const started = now();
const disposed = new Set<Engine>();
const dispose = async (engine: Engine) => {
  if (disposed.has(engine)) return;
  disposed.add(engine);
  await engine.dispose();
};
// A failed engine must not leave files (or a server's database) behind, its own or the others'.
process.on('exit', () => {
  if (disposed.size < engines.length) log('bench: stopped early; temporary data of unfinished engines may remain');
});
try {
for (const engine of engines) {
  const e0 = now();
  log(`== ${engine.name}`);
  try {
    const db = await engine.open();
    const hot: HotPathResult[] = [];
    if (SCENARIOS.has('hot')) {
      for (const [j, htlcs] of HTLC_COUNTS.entries()) {
        const r = await hotPath(db, htlcs, htlcs === 50 ? SIZES.rounds50 : SIZES.rounds, 1_000 + j);
        log(`  hot path ${htlcs} HTLCs: ${r.roundsPerSec.toFixed(0)} rounds/s (raw ${r.rawRoundsPerSec.toFixed(0)}), p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`);
        hot.push(r);
      }
    }
    let concurrent: EngineResult['concurrent'];
    if (SCENARIOS.has('concurrent')) {
      concurrent = await concurrentChannels(db, SIZES.concurrentChannels, SIZES.concurrentRounds);
      log(`  ${SIZES.concurrentChannels} channels concurrently: ${concurrent.roundsPerSec.toFixed(0)} rounds/s (${concurrent.retries} retries)`);
    }
    let bytes: EngineResult['bytesPerState'];
    if (SCENARIOS.has('bytes')) {
      bytes = await bytesPerState(db, SIZES.states);
      log(`  bytes/state: ${JSON.stringify(bytes)}`);
    }
    let close: EngineResult['close'];
    if (SCENARIOS.has('close')) {
      const closeStates = engine.name === 'memory' ? Math.min(SIZES.closeStates, MEMORY_CLOSE_STATES_CAP) : SIZES.closeStates;
      if (closeStates < SIZES.closeStates) engine.notes.push(`memory: the close test uses ${closeStates.toLocaleString('en')} states (its purge deletes from a sorted array, O(n) per key)`);
      close = await closeLargeChannel(db, closeStates, SIZES.purgeBatch);
      log(`  close ${closeStates} states: ${close.closeMs.toFixed(1)} ms, longest purge batch ${close.maxBatchMs.toFixed(1)} ms (${close.batches} batches, ${close.purgeSeconds.toFixed(1)} s)`);
    }
    let load: EngineResult['load'];
    if (SCENARIOS.has('load')) {
      load = await loadChannels(engine, db, SIZES.channels);
      log(`  load ${load.loaded} channels: ${load.readyMs.toFixed(0)} ms`);
    }
    if (engine.config === undefined || !SCENARIOS.has('load')) await db.close();
    notes.push(...engine.notes);
    results.push({ engine: engine.name, hotPath: hot, ...(concurrent && { concurrent }), ...(bytes && { bytesPerState: bytes }), ...(load && { load }), ...(close && { close }), seconds: (now() - e0) / 1000 });
  } finally {
    await dispose(engine);
  }
}
} finally {
  for (const engine of engines) await dispose(engine);
}

// --- report ---------------------------------------------------------------------------------

const f0 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en', { maximumFractionDigits: 0 }));
const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
const f2 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(2));
const pct = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : `${(n * 100).toFixed(0)}%`);

const lines: string[] = [];
lines.push(`### Store benchmark (${quick ? 'quick run, reduced sizes' : 'full sizes'}), ${new Date().toISOString().slice(0, 19)}Z`, '');
lines.push('Payment hot path (appendRemoteCommitChain + advanceCommitChainTail + updateCommitment), serial rounds on one channel:', '');
lines.push('| engine | HTLCs | rounds/s | p50 ms | p99 ms | raw tx/s | raw rounds/s | vs raw | floor rounds/s | floor vs raw | store vs floor |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  for (const h of r.hotPath) {
    lines.push(`| ${r.engine} | ${h.htlcs} | ${f0(h.roundsPerSec)} | ${f2(h.p50Ms)} | ${f2(h.p99Ms)} | ${f0(h.rawTxPerSec)} | ${f0(h.rawRoundsPerSec)} | ${pct(h.vsRaw)} | ${f0(h.floorRoundsPerSec)} | ${pct(h.floorVsRaw)} | ${pct(h.storeVsFloor)} |`);
  }
}
lines.push('');
lines.push(
  `| engine | ${SIZES.concurrentChannels} channels concurrently, rounds/s | × 1 channel (5 HTLCs) | bytes/revoked state, 0 HTLCs | bytes/revoked state, 5 HTLCs | per HTLC | 5 new HTLCs every state, per HTLC | open + load ${SIZES.channels.toLocaleString('en')} channels, ms | close, ms (states) | longest purge batch, ms (batch ${SIZES.purgeBatch.toLocaleString('en')}) | purge batches / total s |`,
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
);
for (const r of results) {
  const b0 = r.bytesPerState?.htlcs0;
  const b5 = r.bytesPerState?.htlcs5;
  const b5f = r.bytesPerState?.htlcs5Fresh;
  const perHtlc = b0 === undefined || b5 === undefined ? undefined : (b5 - b0) / 5;
  const perFreshHtlc = b0 === undefined || b5f === undefined ? undefined : (b5f - b0) / 5;
  const single = r.hotPath.find((h) => h.htlcs === 5)?.roundsPerSec;
  const times = r.concurrent === undefined || single === undefined ? undefined : r.concurrent.roundsPerSec / single;
  lines.push(
    `| ${r.engine} | ${f0(r.concurrent?.roundsPerSec)} | ${times === undefined ? '—' : `${times.toFixed(1)}×`} | ${f1(b0)} | ${f1(b5)} | ${f1(perHtlc)} | ${f1(perFreshHtlc)} | ${f0(r.load?.readyMs)} | ${f1(r.close?.closeMs)} (${r.close?.states.toLocaleString('en') ?? '—'}) | ${f1(r.close?.maxBatchMs)} | ${r.close?.batches ?? '—'} / ${f1(r.close?.purgeSeconds)} |`,
  );
}
lines.push('', ...[...new Set(notes)].map((n) => `- ${n}`), `- total run time ${f1((now() - started) / 1000)} s`);
const table = lines.join('\n');
process.stdout.write(`${table}\n`);

mkdirSync(flags.out!, { recursive: true });
const file = join(flags.out!, `store-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ quick, sizes: SIZES, results, notes: [...new Set(notes)], node: process.version, table }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
);
log(`wrote ${file}`);

// The migration row (bench/migrate-bench.ts): revoked states moved LMDB → SQLite per second,
// beside SQLite's raw bulk-insert rate for the same bytes; its own table and JSON.
if (wanted.has('lmdb') && wanted.has('sqlite') && SCENARIOS.size === 5) {
  const { runMigrateBench } = await import('./migrate-bench.js');
  await runMigrateBench({ quick, out: flags.out!, log });
}
