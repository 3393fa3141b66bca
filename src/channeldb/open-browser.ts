/**
 * The browser composition root: opens the IndexedDB backend, runs its migrations and hands
 * out the three stores behind the public edge that validates every argument once. It
 * imports no Node module (no fs, net or native driver; test/idb/browser-bundle.test.ts
 * checks the bundle), so a browser build can start from it; the Node root is open.ts.
 *
 * Tabs: the first tab that opens a database holds its single-tab lock (idb/tab-lock.ts);
 * another tab gets DB_LOCKED. A newer chand upgrading the schema from another tab makes
 * this connection close itself (later calls fail with STORE_CLOSED) instead of blocking
 * the upgrade; a database written by a newer chand is refused with DB_REVERSION.
 */
import { createIdbChannelStateStore, type IdbChannelStateOptions } from '../idb/channel-state-store.js';
import { IdbCoordinator } from '../idb/coordinator.js';
import { environmentIdb, type IdbGlobals } from '../idb/idb-api.js';
import { IdbLinkNodeStore } from '../idb/link-node-store.js';
import { openIdbDatabase, type IdbMigrationReport } from '../idb/migrations.js';
import { META } from '../idb/stores.js';
import { acquireTabLock, environmentLocks, type LockManagerLike, type TabLock } from '../idb/tab-lock.js';
import { IdbInvoiceStore } from '../idb/invoices.js';
import { IdbPaymentStore } from '../idb/payments.js';
import type { PaymentStores } from '../payments/store.js';
import { checkedPaymentStores, checkedStores, type ChannelStores } from './checked-stores.js';

/** Which IndexedDB database to open, and with what. */
export interface BrowserChannelDbConfig extends IdbChannelStateOptions {
  readonly backend?: 'indexeddb';
  /** The IndexedDB database name (one per node). */
  readonly name: string;
  /** indexedDB and IDBKeyRange to use. Default: the environment's (fake-indexeddb's in Node tests). */
  readonly idb?: IdbGlobals;
  /**
   * The Web Locks manager for the single-tab lock. Default: navigator.locks. `false` opens
   * without the lock (only where there is no second tab, e.g. a Node test).
   */
  readonly locks?: LockManagerLike | false;
}

/** An open browser channel database: the three channel stores and the two payment stores over one IndexedDB connection. */
export interface BrowserChannelDb extends ChannelStores, PaymentStores {
  readonly backend: 'indexeddb';
  readonly name: string;
  /** What this open migrated (from = to when nothing was pending). */
  readonly migration: IdbMigrationReport;
  /** The schema version (the IndexedDB version number). */
  schemaVersion(): Promise<number>;
  /** Closes the connection and releases the tab lock. Idempotent; later calls fail with STORE_CLOSED. */
  close(): Promise<void>;
}

/**
 * Opens the IndexedDB channel database `name`: tab lock, migrations, stores. DB_LOCKED if
 * another tab has it open; DB_REVERSION if it was written by a newer chand. TypeError when
 * the environment has no IndexedDB, or no Web Locks and `locks` is not given.
 */
export async function openBrowserChannelDb(config: BrowserChannelDbConfig): Promise<BrowserChannelDb> {
  if (typeof config?.name !== 'string' || config.name === '') throw new TypeError(`expected an IndexedDB database name, got ${JSON.stringify(config?.name)}`);
  if (config.backend !== undefined && config.backend !== 'indexeddb') throw new TypeError(`expected backend indexeddb, got ${String(config.backend)}`);
  const idb = config.idb ?? environmentIdb();
  if (idb === undefined) throw new TypeError('expected an environment with IndexedDB (indexedDB and IDBKeyRange), got none');
  const locks = config.locks === undefined ? environmentLocks() : config.locks;
  if (locks === undefined) throw new TypeError('expected Web Locks (navigator.locks) for the single-tab lock, got none; pass locks: false only where no second tab can exist');

  const lock: TabLock | undefined = locks === false ? undefined : await acquireTabLock(locks, config.name);
  let opened: Awaited<ReturnType<typeof openIdbDatabase>>;
  try {
    // The lock goes with the connection: released however it closes (close(), or another
    // tab's versionchange), so a newer chand can take over.
    opened = await openIdbDatabase(idb, config.name, lock === undefined ? {} : { onClosed: () => lock.release() });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const { connection, migration } = opened;
  return {
    backend: 'indexeddb',
    name: config.name,
    ...checkedStores(createIdbChannelStateStore(connection, config), new IdbLinkNodeStore(connection), new IdbCoordinator(connection)),
    ...checkedPaymentStores(new IdbInvoiceStore(connection), new IdbPaymentStore(connection)),
    migration,
    // Through a (request-free) transaction, so a closed database fails with STORE_CLOSED like every call.
    schemaVersion: () => connection.run([META], 'readonly', async () => connection.version),
    async close() {
      connection.close();
      // Reopening right after close() must find the lock free.
      await lock?.released;
    },
  };
}
