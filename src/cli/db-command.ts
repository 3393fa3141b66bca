/**
 * `chand db ...`: create, inspect, dump and move a channel database.
 *
 * Every subcommand takes the data directory by flag. Inspection commands never create or
 * migrate a database: a missing one is reported (DB_NOT_INITIALIZED) instead of made.
 * `chand db migrate` copies a database to another backend (channeldb/migrate.ts).
 */
import type { Command } from 'commander';
import { formatOutPoint } from '../chanstate/channel-id.js';
import { ChannelStatus, type OpenChannel } from '../chanstate/types.js';
import { migrateChannelDb, type MigrateReport } from '../channeldb/migrate.js';
import { progressReporter } from '../channeldb/migrate-progress.js';
import { locationOf, openChannelDb, readMigrationStatus, type ChannelDb, type ChannelDbConfig } from '../channeldb/open.js';
import { bytesToHex } from '../codec/bytes.js';
import { ErrorCode, isChandError } from '../errors.js';

interface DbFlags {
  readonly path: string;
  readonly backend: string;
  readonly url?: string;
  readonly schema?: string;
}

/** Maps values to JSON: bigint → decimal string, bytes → hex, Map → object. */
export function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJson(v)]));
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value;
}

function configOf(flags: DbFlags): ChannelDbConfig {
  switch (flags.backend) {
    case 'sqlite':
      return { backend: 'sqlite', path: flags.path };
    case 'lmdb':
      return { backend: 'lmdb', path: flags.path };
    case 'postgres': {
      const url = flags.url ?? process.env['CHAND_DB_URL'];
      if (url === undefined || url === '') throw new RangeError('expected --url <postgres://...> (or CHAND_DB_URL) with --backend postgres, got none');
      return { backend: 'postgres', url, ...(flags.schema === undefined ? {} : { schema: flags.schema }) };
    }
    default:
      throw new RangeError(`expected --backend sqlite, lmdb or postgres, got ${flags.backend}`);
  }
}

/** Flags of `chand db migrate`: each end named by backend and path or URL. */
interface MigrateFlags {
  readonly fromBackend: string;
  readonly fromPath?: string;
  readonly fromUrl?: string;
  readonly fromSchema?: string;
  readonly toBackend: string;
  readonly toPath?: string;
  readonly toUrl?: string;
  readonly toSchema?: string;
  readonly batch: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

/** The config of one end of a migration (`side` names its flags in messages). */
function endConfig(side: 'from' | 'to', backend: string, path: string | undefined, url: string | undefined, schema: string | undefined): ChannelDbConfig {
  switch (backend) {
    case 'sqlite':
    case 'lmdb':
      if (path === undefined || path === '') throw new RangeError(`expected --${side}-path <dir> with --${side}-backend ${backend}, got none`);
      return { backend, path };
    case 'postgres':
      if (url === undefined || url === '') throw new RangeError(`expected --${side}-url <postgres://...> with --${side}-backend postgres, got none`);
      return { backend: 'postgres', url, ...(schema === undefined ? {} : { schema }) };
    default:
      throw new RangeError(`expected --${side}-backend sqlite, lmdb or postgres, got ${backend}`);
  }
}

/** The human summary of a migration or dry run. */
function migrateSummary(report: MigrateReport): string[] {
  const { source, target } = report;
  const from = `${source.backend} ${source.location}`;
  const to = `${target.backend} ${target.location}`;
  const c = source.counts;
  const lines = [
    `source ${from} (schema ${source.schemaVersion}): ${c.openChannels} open, ${c.pendingChannels} pending, ${c.waitingCloseChannels} waiting-close, ${c.closedChannels} closed (${c.closedAwaitingPurge} awaiting purge) channels, ${c.revocationLogEntries} revoked states, ${c.fwdPkgs} forwarding packages, ${source.linkNodes} link nodes, ${source.invoices} invoices, ${source.payments} payments`,
  ];
  const total = Object.values(report.copied).reduce((a, b) => a + b, 0);
  if (report.dryRun) {
    const what = { new: 'would be created', empty: 'exists and is empty', resume: 'holds this migration unfinished: it would resume', 'needs-migrations': 'exists and would be migrated to the latest schema first' }[target.state];
    lines.push(`target ${to}: ${what}`);
    if (report.resumedAt !== undefined) lines.push(`  resume: phase ${report.resumedAt.phase}${report.resumedAt.cursor === undefined ? '' : `, section ${report.resumedAt.cursor.section}`} (${total} records already copied)`);
    lines.push(`revocation log: would be copied ${report.revocationLogCopy === 'blocks' ? 'as its stored blocks (same block layout at both ends)' : 'state by state'}`);
    lines.push('dry run: would copy every record in batches, verify the target record by record, then mark it usable; nothing was written');
    return lines;
  }
  lines.push(`${report.resumedAt === undefined ? 'migrated' : 'resumed and migrated'} ${from} → ${to}: ${total} records copied (${report.copySeconds.toFixed(1)} s), ${report.verified} verified (${report.verifySeconds.toFixed(1)} s)`);
  for (const [section, n] of Object.entries(report.copied)) if (n > 0) lines.push(`  ${section.padEnd(20)} ${n}`);
  lines.push(`the target is ready: open it with --backend ${target.backend} ${target.backend === 'postgres' ? '--url ...' : `--path ${target.location}`}; the source was not changed`);
  return lines;
}

async function withDb<T>(flags: DbFlags, fn: (db: ChannelDb) => Promise<T>): Promise<T> {
  const db = await openChannelDb(configOf(flags), { create: false, migrate: false });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The promise's value, or undefined when it fails with exactly `code` (other errors propagate). */
async function unlessCode<T>(promise: Promise<T>, code: ErrorCode): Promise<T | undefined> {
  try {
    return await promise;
  } catch (err) {
    if (isChandError(err, code)) return undefined;
    throw err;
  }
}

function stateOf(channel: OpenChannel): string {
  if (channel.status !== ChannelStatus.Default) return 'waiting-close';
  return channel.isPending ? 'pending' : 'open';
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Renders rows as an aligned text table. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Adds `chand db` and its subcommands to `program`. */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('create, inspect and export a channel database');
  const common = (cmd: Command) =>
    cmd
      .requiredOption('--path <dir>', 'data directory of the channel database (sqlite, lmdb)', './chand-data')
      .option('--backend <name>', 'storage backend: sqlite, lmdb or postgres', 'sqlite')
      .option('--url <url>', 'PostgreSQL connection URL for --backend postgres (or env CHAND_DB_URL)')
      .option('--schema <name>', 'PostgreSQL schema holding the tables (default: the search_path\'s)');

  common(db.command('init').description('create the database (or migrate an existing one) and print its schema version'))
    .option('--dry-run', 'show what would be migrated without writing anything')
    .action(async (flags: DbFlags & { dryRun?: boolean }) => {
      const opened = await openChannelDb(configOf(flags), { dryRun: flags.dryRun === true });
      const m = opened.migration;
      await opened.close();
      const where = locationOf(configOf(flags));
      print(m.applied.length === 0 ? `database at ${where} is up to date (schema ${m.to})` : `database at ${where} migrated: schema ${m.from} → ${m.to}`);
      for (const step of m.applied) print(`  applied ${step.version}: ${step.description}`);
    });

  common(db.command('status').description('backend, schema version and record counts'))
    .option('--json', 'print JSON')
    .action(async (flags: DbFlags & { json?: boolean }) => {
      await withDb(flags, async (opened) => {
        const [version, counts, links] = await Promise.all([opened.schemaVersion(), opened.channelState.counts(), opened.linkNodes.fetchAllLinkNodes()]);
        const status = { backend: opened.backend, location: locationOf(configOf(flags)), schemaVersion: version, ...counts, linkNodes: links.length };
        if (flags.json === true) return print(JSON.stringify(status, null, 2));
        print(table(['field', 'value'], Object.entries(status).map(([k, v]) => [k, String(v)])));
      });
    });

  common(db.command('migrate-status').description('applied and pending migrations'))
    .option('--json', 'print JSON')
    .action(async (flags: DbFlags & { json?: boolean }) => {
      // Read without migrating: a database that needs migrations is exactly what this shows.
      const status = await readMigrationStatus(configOf(flags));
      if (flags.json === true) return print(JSON.stringify(status, null, 2));
      print(`schema ${status.current} of ${status.latest}`);
      print(
        table(
          ['version', 'state', 'description'],
          [...status.applied.map((m) => [String(m.version), 'applied', m.description]), ...status.pending.map((m) => [String(m.version), 'pending', m.description])],
        ),
      );
    });

  common(db.command('channels').description('list pending, open and closing channels'))
    .option('--json', 'print JSON')
    .action(async (flags: DbFlags & { json?: boolean }) => {
      await withDb(flags, async (opened) => {
        const channels = await opened.channelState.fetchAllChannels();
        const rows = channels.map((c) => ({
          channelPoint: formatOutPoint(c.fundingOutpoint),
          peer: c.identityPub,
          state: stateOf(c),
          capacitySat: c.capacitySat.toString(),
          localBalanceSat: (c.localCommitment.localBalanceMsat / 1000n).toString(),
          commitHeight: String(c.localCommitment.commitHeight),
        }));
        if (flags.json === true) return print(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return print('no channels');
        print(table(Object.keys(rows[0]!), rows.map((r) => Object.values(r))));
      });
    });

  db.command('migrate')
    .description('copy the channel database to another backend in resumable batches, verify it record by record, then mark it usable')
    .requiredOption('--from-backend <name>', 'backend of the source: lmdb, sqlite or postgres')
    .option('--from-path <dir>', 'data directory of the source (lmdb, sqlite)')
    .option('--from-url <url>', 'PostgreSQL connection URL of the source')
    .option('--from-schema <name>', 'PostgreSQL schema of the source')
    .requiredOption('--to-backend <name>', 'backend of the target: lmdb, sqlite or postgres')
    .option('--to-path <dir>', 'data directory of the target (created if missing)')
    .option('--to-url <url>', 'PostgreSQL connection URL of the target')
    .option('--to-schema <name>', 'PostgreSQL schema of the target (created if missing)')
    .option('--batch <n>', 'records per batch (channels: a hundredth)', '2000')
    .option('--dry-run', 'print what would be done; write nothing')
    .option('--json', 'print the final report as JSON')
    .action(async (flags: MigrateFlags) => {
      const batchSize = Number(flags.batch);
      if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`expected --batch to be a positive integer, got ${flags.batch}`);
      const from = endConfig('from', flags.fromBackend, flags.fromPath, flags.fromUrl, flags.fromSchema);
      const to = endConfig('to', flags.toBackend, flags.toPath, flags.toUrl, flags.toSchema);
      // A bar on a terminal; otherwise one JSON line per batch on stdout.
      const progress = progressReporter({ isTty: process.stderr.isTTY === true, terminal: process.stderr, lines: process.stdout });
      let report: MigrateReport;
      try {
        report = await migrateChannelDb({ from, to, batchSize, dryRun: flags.dryRun === true, onProgress: progress.onProgress });
      } finally {
        progress.end();
      }
      if (flags.json === true) return print(JSON.stringify({ event: 'done', ...(toJson(report) as object) }));
      for (const line of migrateSummary(report)) print(line);
    });

  common(db.command('export').description('dump the whole database as JSON on stdout'))
    .requiredOption('--json', 'JSON output (the only format)')
    .action(async (flags: DbFlags) => {
      await withDb(flags, async (opened) => {
        const s = opened.channelState;
        const channels = await s.fetchAllChannels();
        const closed = await s.fetchClosedChannels(false);
        const dump = {
          format: 'chand-db-export',
          schemaVersion: await opened.schemaVersion(),
          channels: await Promise.all(
            channels.map(async (channel) => ({
              channel,
              pendingRemoteCommit: await unlessCode(s.remoteCommitChainTip(channel.fundingOutpoint), ErrorCode.NO_PENDING_COMMIT),
              unsignedAckedUpdates: await s.unsignedAckedUpdates(channel.fundingOutpoint),
              remoteUnsignedLocalUpdates: await s.remoteUnsignedLocalUpdates(channel.fundingOutpoint),
              revocationLog: await s.fetchRevocationLog(channel.fundingOutpoint, 0, Number.MAX_SAFE_INTEGER),
              fwdPkgs: await s.loadFwdPkgs(channel.fundingOutpoint),
            })),
          ),
          closedChannels: await Promise.all(
            closed.map(async (summary) => ({ summary, historical: await unlessCode(s.fetchHistoricalChannel(summary.chanPoint), ErrorCode.HISTORICAL_CHANNEL_NOT_FOUND) })),
          ),
          linkNodes: await opened.linkNodes.fetchAllLinkNodes(),
        };
        print(JSON.stringify(toJson(dump), null, 2));
      });
    });
}
