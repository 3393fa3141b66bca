/**
 * The composition and migration root: opens a backend, runs its migrations and hands out
 * the three stores. Only this module (and node wiring) knows which backend is in use;
 * everything else receives contracts.
 *
 * Backends: `sqlite` (the default: an embedded file, durable), `lmdb` (embedded KV),
 * `postgres` (a server; several processes may open one database) and `memory` (tests).
 *
 * Data directory layout for file backends:
 *   <path>/chand.lock      single-writer lock (file-lock.ts)
 *   <path>/channel.sqlite  SQLite database (WAL mode adds channel.sqlite-wal and -shm)
 *   <path>/channel.lmdb    LMDB environment (data file; lmdb adds channel.lmdb-lock)
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChandError, ErrorCode } from '../errors.js';
import type { KvEngine } from '../kv/engine.js';
import { createKvChannelStateStore, type KvChannelStateOptions } from '../kv/channel-state-store.js';
import { KvCoordinator } from '../kv/coordinator.js';
import { KvLinkNodeStore } from '../kv/link-node-store.js';
import { createMemoryEngine } from '../kv/memory-engine.js';
import { KV_MIGRATIONS, migrateKv, migrationStatus, readSchemaVersion, type MigrationReport } from '../kv/migrations.js';
import { migrateSql, readSqlSchemaVersion, sqlMigrationStatus, SQL_MIGRATIONS, type SqlMigrationReport } from '../sql/migrations.js';
import { createSqlChannelStateStore } from '../sql/channel-state-store.js';
import { SqlCoordinator } from '../sql/coordinator.js';
import { SqlLinkNodeStore } from '../sql/link-node-store.js';
import type { SqlBackend } from '../sql/transactions.js';
import { createKvBulkTransfer } from '../kv/bulk-transfer.js';
import { readSqlImportState } from '../sql/bulk-transfer.js';
import { redactUrl } from '../sql/url.js';
import { KvInvoiceStore } from '../kv/invoices.js';
import { KvPaymentStore } from '../kv/payments.js';
import type { PaymentStores } from '../payments/store.js';
import { SqlInvoiceStore } from '../sql/invoices.js';
import { SqlPaymentStore } from '../sql/payments.js';
import { checkedPaymentStores, checkedStores, type ChannelStores } from './checked-stores.js';
import { acquireDirLock, type FileLock } from './file-lock.js';

export { checkedStores, type ChannelStores };

/** Which backend to open, and where. Without `backend`, a data directory opens SQLite. */
export type ChannelDbConfig =
  | { readonly backend: 'memory' }
  | {
      readonly backend: 'lmdb';
      /** Data directory (created if missing, unless `create: false`). */
      readonly path: string;
      /** Skip fsync: only for throwaway test data. */
      readonly noSync?: boolean;
    }
  | {
      readonly backend?: 'sqlite';
      /** Data directory (created if missing, unless `create: false`); the file is channel.sqlite. */
      readonly path: string;
    }
  | {
      readonly backend: 'postgres';
      /** Connection URL, e.g. postgres://user@127.0.0.1:5432/chand. Credentials never reach a message. */
      readonly url: string;
      /** Keep the tables in this PostgreSQL schema (created if missing). Default: the search_path's. */
      readonly schema?: string;
      /** Connection pool size. Default 10. */
      readonly maxConnections?: number;
    };

/** The backends openChannelDb knows. */
export type BackendName = 'memory' | 'lmdb' | 'sqlite' | 'postgres';

/** Options of openChannelDb. */
export interface OpenOptions extends KvChannelStateOptions {
  /** Run migrations in a transaction that is rolled back, then fail with DRY_RUN carrying the report. */
  readonly dryRun?: boolean;
  /** Create the data directory if missing (default true). With false, a missing one is DB_NOT_INITIALIZED. */
  readonly create?: boolean;
  /** Apply pending migrations (default true). With false, a database that needs them is DB_NOT_INITIALIZED. */
  readonly migrate?: boolean;
  /**
   * Open a database that is the target of an unfinished `chand db migrate` (only the
   * migration itself does). Without it such a database is DB_MIGRATION_INCOMPLETE.
   */
  readonly allowIncompleteMigration?: boolean;
}

/** Applied and pending migrations of a database. */
export interface MigrationStatus {
  readonly current: number;
  readonly latest: number;
  readonly applied: ReadonlyArray<{ version: number; description: string }>;
  readonly pending: ReadonlyArray<{ version: number; description: string }>;
}

/** An open channel database: the three channel stores and the two payment stores over one backend. */
export interface ChannelDb extends ChannelStores, PaymentStores {
  readonly backend: BackendName;
  /** What the last open migrated (from = to when nothing was pending). */
  readonly migration: MigrationReport;
  schemaVersion(): Promise<number>;
  migrationStatus(): Promise<MigrationStatus>;
  /** Closes the backend and releases the directory lock. Idempotent. */
  close(): Promise<void>;
}

/** Thrown by a dry run: nothing was written; `report` says what would have been applied. */
export class DryRunResult extends ChandError {
  override readonly name = 'DryRunResult';
  constructor(readonly report: MigrationReport) {
    super(ErrorCode.DRY_RUN, `dry run: would migrate schema ${report.from} → ${report.to} (${report.applied.length} step(s)); nothing was written`);
  }
}

/** Name of the LMDB data file inside a data directory. */
export const LMDB_FILE = 'channel.lmdb';
/** Name of the SQLite database file inside a data directory. */
export const SQLITE_FILE = 'channel.sqlite';

/** The backend a config selects (SQLite when none is named). */
export function backendOf(config: ChannelDbConfig): BackendName {
  return config.backend ?? 'sqlite';
}

/** Where a config points, for messages: the data directory, or the server URL without credentials. */
export function locationOf(config: ChannelDbConfig): string {
  if (config.backend === 'memory') return 'memory';
  if (config.backend === 'postgres') return redactUrl(config.url) + (config.schema === undefined ? '' : ` (schema ${config.schema})`);
  return config.path;
}

/**
 * Makes sure the data directory exists (or, with `create: false`, that it holds `file`),
 * then takes its single-writer lock.
 */
export function prepareDataDir(path: string, file: string, what: string, options: OpenOptions): FileLock {
  if (typeof path !== 'string' || path === '') throw new TypeError(`expected a data directory path for the ${what} backend`);
  if (!existsSync(path)) {
    if (options.create === false) throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `no chand database at ${path} (run \`chand db init\`)`);
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } else if (!statSync(path).isDirectory()) {
    throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `${path} is not a directory; expected a chand data directory`);
  } else if (options.create === false && !readdirSync(path).includes(file)) {
    throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `no chand ${what} database in ${path} (run \`chand db init\`)`);
  }
  return acquireDirLock(path, 'the channel database');
}

async function openEngine(config: ChannelDbConfig & { backend: 'memory' | 'lmdb' }, options: OpenOptions): Promise<{ engine: KvEngine; lock?: FileLock }> {
  if (config.backend === 'memory') return { engine: createMemoryEngine() };
  const lock = prepareDataDir(config.path, LMDB_FILE, 'LMDB', options);
  try {
    // Loaded here, not at the top: only an LMDB user loads the lmdb driver.
    const { openLmdbEngine } = await import('../kv/lmdb-engine.js');
    const engine = await openLmdbEngine({ path: join(config.path, LMDB_FILE), ...(config.noSync === undefined ? {} : { noSync: config.noSync }) });
    return { engine, lock };
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openSqlBackend(config: ChannelDbConfig & { backend?: 'sqlite' | 'postgres' }, options: OpenOptions): Promise<{ backend: SqlBackend; lock?: FileLock }> {
  if (config.backend === 'postgres') {
    if (typeof config.url !== 'string' || config.url === '') throw new TypeError('expected a connection URL for the postgres backend');
    // Loaded here, not at the top: only a PostgreSQL user loads pg.
    const { openPostgresBackend } = await import('../sql/postgres.js');
    const backend = await openPostgresBackend({
      url: config.url,
      ...(config.schema === undefined ? {} : { schema: config.schema }),
      ...(config.maxConnections === undefined ? {} : { maxConnections: config.maxConnections }),
      createSchema: options.create !== false,
      // Two nodes writing one database would corrupt each other's channels: DB_LOCKED.
      singleWriter: true,
    });
    return { backend };
  }
  // Loaded before the lock is taken (a failed load leaves nothing to release), and only here:
  // only a SQLite user loads better-sqlite3.
  const { openSqliteBackend } = await import('../sql/sqlite.js');
  const lock = prepareDataDir(config.path, SQLITE_FILE, 'SQLite', options);
  try {
    return { backend: openSqliteBackend({ file: join(config.path, SQLITE_FILE) }), lock };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * DB_REVERSION if the stored schema is newer than this code: inspection must not read
 * records whose meaning a newer chand may have changed, just as opening refuses them.
 */
function refuseNewer(current: number, latest: number): void {
  if (current > latest) {
    throw new ChandError(ErrorCode.DB_REVERSION, `database schema version ${current} is newer than this chand (${latest}); refusing to read it — upgrade chand`);
  }
}

/**
 * DB_MIGRATION_INCOMPLETE if the database holds the import state of an unfinished
 * migration (channeldb/migrate.ts): its records are not all copied or not yet verified, so
 * a node must not run on it.
 */
function refuseIncompleteMigration(importState: string | undefined, config: ChannelDbConfig): void {
  if (importState === undefined) return;
  throw new ChandError(
    ErrorCode.DB_MIGRATION_INCOMPLETE,
    `the database at ${locationOf(config)} is the target of an unfinished \`chand db migrate\`; run the same migrate command again to finish it before opening the database`,
  );
}

/** openChannelDb for the SQL backends: migrations under the SQL root, then the SQL stores. */
async function openSqlChannelDb(config: ChannelDbConfig & { backend?: 'sqlite' | 'postgres' }, options: OpenOptions): Promise<ChannelDb> {
  const { backend, lock } = await openSqlBackend(config, options);
  const readVersion = () => backend.runTx('read', (tx) => readSqlSchemaVersion(tx, backend.capabilities));
  let migration: SqlMigrationReport;
  try {
    if (options.migrate === false) {
      const current = await readVersion();
      const status = sqlMigrationStatus(current);
      refuseNewer(current, status.latest);
      if (current === 0 || status.pending.length > 0) {
        throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `database needs ${status.pending.length} migration(s) (schema ${current} → ${status.latest}); run \`chand db init\``);
      }
      migration = { from: current, to: current, applied: [], dryRun: false };
    } else {
      migration = await migrateSql(backend, { dryRun: options.dryRun === true });
    }
    if (options.dryRun === true) throw new DryRunResult(migration);
    if (options.allowIncompleteMigration !== true) refuseIncompleteMigration(await readSqlImportState(backend), config);
  } catch (err) {
    await backend.close();
    lock?.release();
    throw err;
  }
  let closed = false;
  return {
    backend: backendOf(config),
    ...checkedStores(createSqlChannelStateStore(backend, options), new SqlLinkNodeStore(backend), new SqlCoordinator(backend)),
    ...checkedPaymentStores(new SqlInvoiceStore(backend), new SqlPaymentStore(backend)),
    migration,
    schemaVersion: readVersion,
    migrationStatus: async () => sqlMigrationStatus(await readVersion(), SQL_MIGRATIONS),
    async close() {
      if (closed) return;
      closed = true;
      await backend.close();
      lock?.release();
    },
  };
}

/**
 * The applied and pending migrations of an existing database, without migrating or opening
 * stores (so a database that needs migrations can still be inspected). DB_NOT_INITIALIZED
 * if there is no database; DB_LOCKED if another process has its data directory.
 */
export async function readMigrationStatus(config: ChannelDbConfig): Promise<MigrationStatus> {
  const backend = backendOf(config);
  if (backend === 'sqlite' || backend === 'postgres') {
    const { backend: sql, lock } = await openSqlBackend(config as ChannelDbConfig & { backend?: 'sqlite' | 'postgres' }, { create: false });
    try {
      const status = sqlMigrationStatus(await sql.runTx('read', (tx) => readSqlSchemaVersion(tx, sql.capabilities)));
      refuseNewer(status.current, status.latest);
      return status;
    } finally {
      await sql.close();
      lock?.release();
    }
  }
  const { engine, lock } = await openEngine(config as ChannelDbConfig & { backend: 'memory' | 'lmdb' }, { create: false });
  try {
    const status = migrationStatus(await engine.read(readSchemaVersion), KV_MIGRATIONS);
    refuseNewer(status.current, status.latest);
    return status;
  } finally {
    await engine.close();
    lock?.release();
  }
}

/** `options` with libsecp256k1's secret·G (about 3x noble's) unless the caller chose one. */
async function withNodeSecretToPoint(options: OpenOptions): Promise<OpenOptions> {
  if (options.secretToPoint !== undefined) return options;
  // Loaded here, not at the top: only opening stores compiles the WebAssembly module.
  const { wasmRevealedPoint } = await import('../bitcoin/secret-point-wasm.js');
  return { ...options, secretToPoint: wasmRevealedPoint };
}

/**
 * Opens the channel database: backend, lock, migrations, stores. DB_LOCKED if another
 * process has it open; DB_REVERSION if it was written by a newer chand;
 * DB_MIGRATION_INCOMPLETE if it is the target of an unfinished `chand db migrate`.
 */
export async function openChannelDb(config: ChannelDbConfig, given: OpenOptions = {}): Promise<ChannelDb> {
  const options = await withNodeSecretToPoint(given);
  const backend = backendOf(config);
  if (backend === 'sqlite' || backend === 'postgres') return openSqlChannelDb(config as ChannelDbConfig & { backend?: 'sqlite' | 'postgres' }, options);
  if (backend !== 'memory' && backend !== 'lmdb') throw new TypeError(`expected backend sqlite, lmdb, postgres or memory, got ${String(backend)}`);
  const { engine, lock } = await openEngine(config as ChannelDbConfig & { backend: 'memory' | 'lmdb' }, options);
  let migration: MigrationReport;
  try {
    if (options.migrate === false) {
      const current = await engine.read(readSchemaVersion);
      const status = migrationStatus(current);
      refuseNewer(current, status.latest);
      if (status.pending.length > 0 && current !== 0) {
        throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `database needs ${status.pending.length} migration(s) (schema ${current} → ${status.latest})`);
      }
      migration = { from: current, to: current, applied: [], dryRun: false };
    } else {
      migration = await migrateKv(engine, { dryRun: options.dryRun === true });
    }
    if (options.dryRun === true) throw new DryRunResult(migration);
    if (options.allowIncompleteMigration !== true) refuseIncompleteMigration(await createKvBulkTransfer(engine).readImportState(), config);
  } catch (err) {
    await engine.close();
    lock?.release();
    throw err;
  }
  let closed = false;
  return {
    backend,
    ...checkedStores(createKvChannelStateStore(engine, options), new KvLinkNodeStore(engine), new KvCoordinator(engine)),
    ...checkedPaymentStores(new KvInvoiceStore(engine), new KvPaymentStore(engine)),
    migration,
    schemaVersion: () => engine.read(readSchemaVersion),
    migrationStatus: async () => migrationStatus(await engine.read(readSchemaVersion), KV_MIGRATIONS),
    async close() {
      if (closed) return;
      closed = true;
      await engine.close();
      lock?.release();
    },
  };
}
