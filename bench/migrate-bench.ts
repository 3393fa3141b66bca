/**
 * The migration row of `npm run bench:store`: revoked states moved per second by
 * `chand db migrate` from LMDB to SQLite, beside SQLite's raw bulk-insert rate for the same
 * bytes, measured in the same run.
 *
 * - Source: an LMDB node from fillNode (one channel of every kind, payment rounds, and
 *   `states` revoked states written in bulk, 0-3 HTLCs each), durable settings.
 * - Migration: migrateChannelDb with its default batch, durable target (WAL +
 *   synchronous=FULL): copy seconds (every record) and verify seconds (the record-by-record
 *   comparison); revoked states/s = states ÷ copy seconds.
 * - Raw: the rows the migrated target stores for the revocation log (whatever its table
 *   looks like), read back and inserted with better-sqlite3 prepared statements into an
 *   empty table of the same DDL in a fresh file with the same pragmas, one transaction per
 *   batch of the same size: no chand code. vs raw = migrated states/s ÷ raw states/s.
 *
 * Prints a markdown table and writes bench/results/migrate-<timestamp>.json.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateChannelDb } from '../src/channeldb/migrate.js';
import { openMigrationTarget } from '../src/channeldb/migrate-open.js';
import { SQLITE_FILE } from '../src/channeldb/open.js';
import { CHANNEL_KINDS, fillNode } from '../src/testing/node-fill.js';

/** Options of the migration benchmark. */
export interface MigrateBenchOptions {
  /** Revoked states in the source (default 100,000; 10,000 with `quick`). */
  readonly states?: number;
  readonly quick?: boolean;
  /** Directory for the JSON result. */
  readonly out: string;
  /** Progress lines (stderr). */
  readonly log?: (line: string) => void;
}

/** What one run measured. */
export interface MigrateBenchResult {
  readonly states: number;
  readonly records: number;
  readonly batch: number;
  readonly fillSeconds: number;
  readonly copySeconds: number;
  readonly verifySeconds: number;
  readonly statesPerSecond: number;
  /** Revoked states per second counting only the time of the revocation-log pages. */
  readonly logStatesPerSecond: number;
  /** Process CPU seconds over copy and verify. */
  readonly cpuSeconds: number;
  readonly rawStatesPerSecond: number;
  readonly rawRows: number;
  readonly rawBytes: number;
  readonly vsRaw: number;
  readonly table: string;
}

const BATCH = 2_000;

/** The raw baseline: the target's revocation-log rows re-inserted by better-sqlite3 alone. */
function rawInsertRate(targetFile: string, scratchFile: string, states: number): { statesPerSecond: number; rows: number; bytes: number } {
  const source = new BetterSqlite3(targetFile, { readonly: true });
  source.defaultSafeIntegers(true);
  // The revocation log's table(s): revocation_log (one row per state) or its block form.
  const logTables = "type = 'table' and (name like 'revocation\\_log%' escape '\\' or name like 'revocation\\_block%' escape '\\')";
  const ddl = source.prepare(`select sql from sqlite_master where ${logTables} and sql is not null`).all() as Array<{ sql: string }>;
  const tables = (source.prepare(`select name from sqlite_master where ${logTables}`).all() as Array<{ name: string }>).map((t) => t.name);
  const raw = new BetterSqlite3(scratchFile);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  raw.defaultSafeIntegers(true);
  for (const { sql } of ddl) raw.exec(sql.replace(/references\s+"?\w+"?\s*\([^)]*\)/gi, ''));
  let rows = 0;
  let bytes = 0;
  let seconds = 0;
  for (const table of tables) {
    const all = source.prepare(`select * from "${table}"`).raw(true).all() as unknown[][];
    if (all.length === 0) continue;
    const width = all[0]!.length;
    const insert = raw.prepare(`insert into "${table}" values (${Array.from({ length: width }, () => '?').join(', ')})`);
    const write = raw.transaction((batch: unknown[][]) => {
      for (const row of batch) insert.run(...row);
    });
    for (const row of all) for (const v of row) bytes += v instanceof Uint8Array ? v.length : 8;
    const t0 = performance.now();
    for (let i = 0; i < all.length; i += BATCH) write(all.slice(i, i + BATCH));
    seconds += (performance.now() - t0) / 1000;
    rows += all.length;
  }
  source.close();
  raw.close();
  return { statesPerSecond: states / seconds, rows, bytes };
}

/** Runs the migration benchmark (see the module comment), prints its table and writes its JSON. */
export async function runMigrateBench(options: MigrateBenchOptions): Promise<MigrateBenchResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const states = options.states ?? (options.quick === true ? 10_000 : 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'chand-bench-migrate-'));
  try {
    log(`== migration: LMDB → SQLite, ${states.toLocaleString('en')} revoked states`);
    const source = { backend: 'lmdb' as const, path: join(dir, 'lmdb') };
    const f0 = performance.now();
    // The source's fill is setup: no fsync (the migration below runs durable on both ends).
    const filled = await openMigrationTarget({ ...source, noSync: true });
    const fill = await fillNode(filled, { channels: CHANNEL_KINDS.length, revokedStates: states });
    await filled.close();
    const fillSeconds = (performance.now() - f0) / 1000;
    log(`  fill: ${fill.revokedStates.toLocaleString('en')} revoked states in ${fillSeconds.toFixed(1)} s`);

    const target = { backend: 'sqlite' as const, path: join(dir, 'sqlite') };
    // Time spent on pages of revoked states alone, from the progress events.
    let last = performance.now();
    let logSeconds = 0;
    const cpu0 = process.cpuUsage();
    const report = await migrateChannelDb({
      from: source,
      to: target,
      batchSize: BATCH,
      onProgress: (p) => {
        const now = performance.now();
        if (p.phase === 'copy' && p.section === 'revocationLogEntry') logSeconds += (now - last) / 1000;
        last = now;
      },
    });
    const cpu = process.cpuUsage(cpu0);
    const records = Object.values(report.copied).reduce((a, b) => a + b, 0);
    const statesPerSecond = fill.revokedStates / report.copySeconds;
    const logStatesPerSecond = fill.revokedStates / logSeconds;
    log(`  migrate: copy ${report.copySeconds.toFixed(2)} s (${statesPerSecond.toFixed(0)} revoked states/s; the revocation-log pages alone ${logStatesPerSecond.toFixed(0)}/s), verify ${report.verifySeconds.toFixed(2)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);

    const raw = rawInsertRate(join(target.path, SQLITE_FILE), join(dir, 'raw.sqlite'), fill.revokedStates);
    log(`  raw SQLite insert of the same ${raw.rows.toLocaleString('en')} rows (${(raw.bytes / 1e6).toFixed(1)} MB): ${raw.statesPerSecond.toFixed(0)} revoked states/s`);

    const vsRaw = statesPerSecond / raw.statesPerSecond;
    const f0n = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 0 });
    const table = [
      `### Migration benchmark (${options.quick === true ? 'quick run' : 'full size'}), ${new Date().toISOString().slice(0, 19)}Z`,
      '',
      '| migration | revoked states | records | batch | copy s | verify s | revoked states/s (whole copy) | revocation-log pages alone, states/s | raw SQLite insert of the same bytes, states/s | vs raw |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| LMDB → SQLite | ${f0n(fill.revokedStates)} | ${f0n(records)} | ${f0n(BATCH)} | ${report.copySeconds.toFixed(2)} | ${report.verifySeconds.toFixed(2)} | ${f0n(statesPerSecond)} | ${f0n(logStatesPerSecond)} | ${f0n(raw.statesPerSecond)} | ${(vsRaw * 100).toFixed(1)}% |`,
      '',
      `- revoked states carry 0-3 HTLCs (a quarter each, each HTLC staying on about five consecutive states); copy time covers every record (${fill.revokedStates.toLocaleString('en')} revoked states of ${records.toLocaleString('en')}), target durable (WAL, synchronous=FULL); process CPU over copy and verify ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
      `- raw = the target's revocation-log rows (${raw.rows.toLocaleString('en')} rows, ${(raw.bytes / 1e6).toFixed(1)} MB: the compact log stores blocks of states) re-inserted by better-sqlite3 prepared statements in transactions of the same batch size (no chand code, no decoding or encoding)`,
      '- target: at least 100,000 revoked states/s (lnd\'s migrations: about 14,000 records/s)',
    ].join('\n');
    process.stdout.write(`${table}\n`);
    const result: MigrateBenchResult = {
      logStatesPerSecond,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      states: fill.revokedStates,
      records,
      batch: BATCH,
      fillSeconds,
      copySeconds: report.copySeconds,
      verifySeconds: report.verifySeconds,
      statesPerSecond,
      rawStatesPerSecond: raw.statesPerSecond,
      rawRows: raw.rows,
      rawBytes: raw.bytes,
      vsRaw,
      table,
    };
    mkdirSync(options.out, { recursive: true });
    const file = join(options.out, `migrate-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify({ quick: options.quick === true, node: process.version, ...result }, null, 2)}\n`);
    log(`wrote ${file}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run on its own: `npx tsx bench/migrate-bench.ts [--quick]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  await runMigrateBench({ quick: process.argv.includes('--quick'), out: join(import.meta.dirname, 'results') });
}
