/**
 * Opening the two ends of a migration between backends (migrate.ts): the source read-only,
 * the target writable, each with its stores (behind the checked edge) and its bulk-transfer
 * facet (chanstate/bulk-transfer.ts).
 *
 * Both take the backend's single-writer lock, so neither can be open in a node meanwhile
 * (DB_LOCKED): the data directory lock for LMDB and SQLite, the session advisory lock for
 * PostgreSQL. The source is opened so that nothing can write it: LMDB `readOnly`, SQLite
 * `readonly`, PostgreSQL reads in READ ONLY transactions (every `read` transaction is) and
 * its schema never created; its schema must already be the latest (a read-only source cannot
 * be migrated). The target is created and migrated like openChannelDb does, and may be an
 * unfinished migration target (that is what a resumed run opens).
 */
import { join } from 'node:path';
import type { BulkTransferStore, RevocationBlockLayout } from '../chanstate/bulk-transfer.js';
import { ChandError, ErrorCode } from '../errors.js';
import { createKvBulkTransfer, KV_BLOCK_LAYOUT } from '../kv/bulk-transfer.js';
import { createKvChannelStateStore } from '../kv/channel-state-store.js';
import { KvCoordinator } from '../kv/coordinator.js';
import type { KvEngine } from '../kv/engine.js';
import { KvLinkNodeStore } from '../kv/link-node-store.js';
import { createMemoryEngine } from '../kv/memory-engine.js';
import { migrateKv, migrationStatus, readSchemaVersion } from '../kv/migrations.js';
import { createSqlBulkTransfer, SQL_BLOCK_LAYOUT } from '../sql/bulk-transfer.js';
import { createSqlChannelStateStore } from '../sql/channel-state-store.js';
import { SqlCoordinator } from '../sql/coordinator.js';
import { SqlLinkNodeStore } from '../sql/link-node-store.js';
import { migrateSql, readSqlSchemaVersion, sqlMigrationStatus } from '../sql/migrations.js';
import type { SqlBackend } from '../sql/transactions.js';
import { KvInvoiceStore } from '../kv/invoices.js';
import { KvPaymentStore } from '../kv/payments.js';
import type { PaymentStores } from '../payments/store.js';
import { SqlInvoiceStore } from '../sql/invoices.js';
import { SqlPaymentStore } from '../sql/payments.js';
import { checkedPaymentStores, checkedStores, type ChannelStores } from './checked-stores.js';
import type { FileLock } from './file-lock.js';
import { backendOf, LMDB_FILE, locationOf, prepareDataDir, SQLITE_FILE, type BackendName, type ChannelDbConfig } from './open.js';

/** One end of a migration: the stores (channel and payment ones), the bulk facet, and what identifies it. */
export interface MigrationEndpoint extends ChannelStores, PaymentStores {
  readonly backend: BackendName;
  /** Where it is, for messages (no credentials). */
  readonly location: string;
  readonly bulk: BulkTransferStore;
  schemaVersion(): Promise<number>;
  /** Closes the backend and releases its lock. Idempotent. */
  close(): Promise<void>;
}

/**
 * Which end: the source is read-only and must be at the latest schema; the target is created
 * and migrated; `inspect` opens a target read-only for a dry run (it must exist and be at the
 * latest schema, or the dry run reports that it would be created or migrated).
 */
type Role = 'source' | 'target' | 'inspect';

/** DB_NOT_INITIALIZED / DB_REVERSION unless a source's schema is exactly the latest. */
function requireLatest(status: { current: number; latest: number; pending: readonly unknown[] }, location: string): void {
  if (status.current > status.latest) {
    throw new ChandError(ErrorCode.DB_REVERSION, `the database at ${location} has schema ${status.current}, newer than this chand (${status.latest}); upgrade chand`);
  }
  if (status.current === 0) throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `no chand database at ${location}`);
  if (status.pending.length > 0) {
    throw new ChandError(
      ErrorCode.DB_NOT_INITIALIZED,
      `the database at ${location} needs ${status.pending.length} migration(s) (schema ${status.current} → ${status.latest}) and a migration source is opened read-only; run \`chand db init\` on it first`,
    );
  }
}

/**
 * DB_NOT_INITIALIZED unless PostgreSQL schema `schema` exists: a source (or a dry run's
 * target) is never created, and without its schema the single-writer lock, keyed by the
 * current schema, could not even be named.
 */
async function requireSchema(url: string, schema: string, location: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query('select 1 from information_schema.schemata where schema_name = $1', [schema]);
    if (rows.length === 0) throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `no chand database at ${location}: the schema does not exist`);
  } catch (err) {
    if (err instanceof ChandError) throw err;
    throw new ChandError(ErrorCode.DB_UNAVAILABLE, `cannot reach PostgreSQL at ${location}: ${(err as Error).message}`, { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}

function endpoint(
  config: ChannelDbConfig,
  stores: ChannelStores & PaymentStores,
  bulk: BulkTransferStore,
  schemaVersion: () => Promise<number>,
  release: () => Promise<void>,
): MigrationEndpoint {
  let closed = false;
  return {
    backend: backendOf(config),
    location: locationOf(config),
    ...stores,
    bulk,
    schemaVersion,
    async close() {
      if (closed) return;
      closed = true;
      await release();
    },
  };
}

async function openKv(config: ChannelDbConfig & { backend: 'memory' | 'lmdb' }, role: Role): Promise<MigrationEndpoint> {
  let engine: KvEngine;
  let lock: FileLock | undefined;
  if (config.backend === 'memory') {
    if (role !== 'target') throw new TypeError('expected a persistent migration source (lmdb, sqlite or postgres), got memory');
    engine = createMemoryEngine();
  } else {
    lock = prepareDataDir(config.path, LMDB_FILE, 'LMDB', { create: role === 'target' });
    try {
      // Loaded here, not at the top: only an LMDB user loads the lmdb driver.
      const { openLmdbEngine } = await import('../kv/lmdb-engine.js');
      engine = await openLmdbEngine({ path: join(config.path, LMDB_FILE), readOnly: role !== 'target', noSync: role === 'target' && config.noSync === true });
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  const release = async () => {
    await engine.close();
    lock?.release();
  };
  try {
    if (role === 'target') await migrateKv(engine);
    else requireLatest(migrationStatus(await engine.read(readSchemaVersion)), locationOf(config));
  } catch (err) {
    await release();
    throw err;
  }
  const stores = {
    ...checkedStores(createKvChannelStateStore(engine), new KvLinkNodeStore(engine), new KvCoordinator(engine)),
    ...checkedPaymentStores(new KvInvoiceStore(engine), new KvPaymentStore(engine)),
  };
  return endpoint(config, stores, createKvBulkTransfer(engine), () => engine.read(readSchemaVersion), release);
}

async function openSql(config: ChannelDbConfig & { backend?: 'sqlite' | 'postgres' }, role: Role): Promise<MigrationEndpoint> {
  let backend: SqlBackend;
  let lock: FileLock | undefined;
  if (config.backend === 'postgres') {
    if (typeof config.url !== 'string' || config.url === '') throw new TypeError('expected a connection URL for the postgres backend');
    if (role !== 'target' && config.schema !== undefined) await requireSchema(config.url, config.schema, locationOf(config));
    const { openPostgresBackend } = await import('../sql/postgres.js');
    backend = await openPostgresBackend({
      url: config.url,
      ...(config.schema === undefined ? {} : { schema: config.schema }),
      ...(config.maxConnections === undefined ? {} : { maxConnections: config.maxConnections }),
      createSchema: role === 'target',
      // A node on either end while we copy would change what we copy (or copy into): DB_LOCKED.
      singleWriter: true,
    });
  } else {
    const { openSqliteBackend } = await import('../sql/sqlite.js');
    lock = prepareDataDir(config.path, SQLITE_FILE, 'SQLite', { create: role === 'target' });
    try {
      backend = openSqliteBackend({ file: join(config.path, SQLITE_FILE), readOnly: role !== 'target' });
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  const release = async () => {
    await backend.close();
    lock?.release();
  };
  const readVersion = () => backend.runTx('read', (tx) => readSqlSchemaVersion(tx, backend.capabilities));
  try {
    if (role === 'target') await migrateSql(backend);
    else requireLatest(sqlMigrationStatus(await readVersion()), locationOf(config));
  } catch (err) {
    await release();
    throw err;
  }
  const stores = {
    ...checkedStores(createSqlChannelStateStore(backend), new SqlLinkNodeStore(backend), new SqlCoordinator(backend)),
    ...checkedPaymentStores(new SqlInvoiceStore(backend), new SqlPaymentStore(backend)),
  };
  return endpoint(config, stores, createSqlBulkTransfer(backend), readVersion, release);
}

function open(config: ChannelDbConfig, role: Role): Promise<MigrationEndpoint> {
  const backend = backendOf(config);
  if (backend === 'memory' || backend === 'lmdb') return openKv(config as ChannelDbConfig & { backend: 'memory' | 'lmdb' }, role);
  if (backend === 'sqlite' || backend === 'postgres') return openSql(config as ChannelDbConfig & { backend?: 'sqlite' | 'postgres' }, role);
  throw new TypeError(`expected backend sqlite, lmdb or postgres, got ${String(backend)}`);
}

/** The revocation block layout the backend of `config` stores (as its bulk facet reports it), without opening anything: for dry runs. */
export function revocationBlockLayoutOf(config: ChannelDbConfig): RevocationBlockLayout {
  const backend = backendOf(config);
  return backend === 'memory' || backend === 'lmdb' ? KV_BLOCK_LAYOUT : SQL_BLOCK_LAYOUT;
}

/**
 * Opens a migration source read-only (see the module comment). DB_LOCKED if a node has it
 * open; DB_NOT_INITIALIZED if there is no database or it needs migrations; DB_REVERSION if
 * it is newer than this chand; DB_MIGRATION_INCOMPLETE if it is itself an unfinished
 * migration target.
 */
export async function openMigrationSource(config: ChannelDbConfig): Promise<MigrationEndpoint> {
  const source = await open(config, 'source');
  try {
    if ((await source.bulk.readImportState()) !== undefined) {
      throw new ChandError(ErrorCode.DB_MIGRATION_INCOMPLETE, `the database at ${source.location} is the target of an unfinished migration; it cannot be a source`);
    }
  } catch (err) {
    await source.close();
    throw err;
  }
  return source;
}

/**
 * Opens (creating and migrating it if needed) a migration target, which may hold the import
 * state of an unfinished migration. DB_LOCKED if a node has it open. A `memory` target is a
 * fresh, empty in-process database (for tests).
 */
export function openMigrationTarget(config: ChannelDbConfig): Promise<MigrationEndpoint> {
  return open(config, 'target');
}

/**
 * Opens an existing migration target read-only, for a dry run: like a source, except that
 * an unfinished migration target is what it may well be. DB_NOT_INITIALIZED if there is no
 * database at the latest schema there.
 */
export function inspectMigrationTarget(config: ChannelDbConfig): Promise<MigrationEndpoint> {
  return open(config, 'inspect');
}
