/**
 * The composition and migration root: opens a backend, runs its migrations and hands out
 * the three stores. Only this module (and node wiring) knows which backend is in use;
 * everything else receives contracts.
 *
 * Data directory layout for file backends:
 *   <path>/chand.lock      single-writer lock (file-lock.ts)
 *   <path>/channel.lmdb    LMDB environment (data file; lmdb adds channel.lmdb-lock)
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelStateStore } from '../chanstate/store.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { KvEngine } from '../kv/engine.js';
import { KvChannelStateStore, type KvChannelStateOptions } from '../kv/kv-channel-state-store.js';
import { KvCoordinator } from '../kv/kv-coordinator.js';
import { KvLinkNodeStore } from '../kv/kv-link-node-store.js';
import { openLmdbEngine } from '../kv/lmdb-engine.js';
import { createMemoryEngine } from '../kv/memory-engine.js';
import { KV_MIGRATIONS, migrateKv, migrationStatus, readSchemaVersion, type MigrationReport } from '../kv/migrations.js';
import type { LinkNodeStore } from '../linknode/store.js';
import { acquireDirLock, type FileLock } from './file-lock.js';

/** Which backend to open, and where. */
export type ChannelDbConfig =
  | { readonly backend: 'memory' }
  | {
      readonly backend: 'lmdb';
      /** Data directory (created if missing, unless `create: false`). */
      readonly path: string;
      /** Skip fsync: only for throwaway test data. */
      readonly noSync?: boolean;
    };

/** Options of openChannelDb. */
export interface OpenOptions extends KvChannelStateOptions {
  /** Run migrations in a transaction that is rolled back, then fail with DRY_RUN carrying the report. */
  readonly dryRun?: boolean;
  /** Create the data directory if missing (default true). With false, a missing one is DB_NOT_INITIALIZED. */
  readonly create?: boolean;
  /** Apply pending migrations (default true). With false, a database that needs them is DB_NOT_INITIALIZED. */
  readonly migrate?: boolean;
}

/** Applied and pending migrations of a database. */
export interface MigrationStatus {
  readonly current: number;
  readonly latest: number;
  readonly applied: ReadonlyArray<{ version: number; description: string }>;
  readonly pending: ReadonlyArray<{ version: number; description: string }>;
}

/** An open channel database: the three stores over one backend. */
export interface ChannelDb {
  readonly backend: ChannelDbConfig['backend'];
  readonly channelState: ChannelStateStore;
  readonly linkNodes: LinkNodeStore;
  readonly coordinator: Coordinator;
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

async function openEngine(config: ChannelDbConfig, options: OpenOptions): Promise<{ engine: KvEngine; lock?: FileLock }> {
  if (config.backend === 'memory') return { engine: createMemoryEngine() };
  if (config.backend !== 'lmdb') throw new TypeError(`expected backend memory or lmdb, got ${String((config as { backend: unknown }).backend)}`);
  if (typeof config.path !== 'string' || config.path === '') throw new TypeError('expected a data directory path for the lmdb backend');
  if (!existsSync(config.path)) {
    if (options.create === false) throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `no chand database at ${config.path} (run \`chand db init\`)`);
    mkdirSync(config.path, { recursive: true, mode: 0o700 });
  } else if (options.create === false && !readdirSync(config.path).includes(LMDB_FILE)) {
    throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `no chand LMDB database in ${config.path} (run \`chand db init\`)`);
  }
  const lock = acquireDirLock(config.path, 'the channel database');
  try {
    const engine = await openLmdbEngine({ path: join(config.path, LMDB_FILE), ...(config.noSync === undefined ? {} : { noSync: config.noSync }) });
    return { engine, lock };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * Opens the channel database: backend, lock, migrations, stores. DB_LOCKED if another
 * process has it open; DB_REVERSION if it was written by a newer chand.
 */
export async function openChannelDb(config: ChannelDbConfig, options: OpenOptions = {}): Promise<ChannelDb> {
  const { engine, lock } = await openEngine(config, options);
  let migration: MigrationReport;
  try {
    if (options.migrate === false) {
      const current = await engine.read(readSchemaVersion);
      const status = migrationStatus(current);
      if (status.pending.length > 0 && current !== 0) {
        throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `database needs ${status.pending.length} migration(s) (schema ${current} → ${status.latest})`);
      }
      migration = { from: current, to: current, applied: [], dryRun: false };
    } else {
      migration = await migrateKv(engine, { dryRun: options.dryRun === true });
    }
    if (options.dryRun === true) throw new DryRunResult(migration);
  } catch (err) {
    await engine.close();
    lock?.release();
    throw err;
  }
  let closed = false;
  return {
    backend: config.backend,
    channelState: new KvChannelStateStore(engine, options),
    linkNodes: new KvLinkNodeStore(engine),
    coordinator: new KvCoordinator(engine),
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
