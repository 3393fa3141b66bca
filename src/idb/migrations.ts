/**
 * IndexedDB schema migrations: an append-only, numbered list, applied in `onupgradeneeded`.
 * Never edit or reorder a shipped entry; a step that needs a codec keeps its own frozen copy.
 *
 * The IndexedDB version number IS the schema version. Opening asks for the latest version
 * this code knows; the browser runs every pending step inside the one versionchange
 * transaction (a crash or a failing step leaves the old version, never half of a new one).
 * A database whose version is newer than this code is refused with DB_REVERSION (the
 * browser's VersionError), never downgraded.
 */
import { ChandError, ErrorCode } from '../errors.js';
import { promised, type IdbDatabaseLike, type IdbGlobals, type IdbTransactionLike } from './idb-api.js';
import { IdbConnection, idbFault } from './transactions.js';

/** One schema step. `upgrade` runs inside the versionchange transaction and must be synchronous (requests it makes run in that transaction). */
export interface IdbMigration {
  /** The schema (IndexedDB) version this step produces. */
  readonly version: number;
  readonly description: string;
  upgrade(db: IdbDatabaseLike, tx: IdbTransactionLike): void;
}

/** The migration list. Append only. */
export const IDB_MIGRATIONS: readonly IdbMigration[] = [
  {
    version: 1,
    description: 'initial layout: channel state, link nodes, forwarding packages, closed channels, channel key-index allocator (stores.ts)',
    upgrade: createV1,
  },
  {
    version: 2,
    description: 'payment stores: invoices with add and settle indexes, outgoing payments with the payment index and the in-flight index (stores.ts)',
    upgrade: createV2,
  },
];

/** Version 2: the payment-store object stores (frozen names). */
function createV2(db: IdbDatabaseLike): void {
  for (const name of ['invoices', 'invoice-add-index', 'invoice-settle-index', 'payments', 'payment-index', 'payments-in-flight']) db.createObjectStore(name);
}

// --- migration 1 (frozen: store names written out, not imported from stores.ts) ---------

function createV1(db: IdbDatabaseLike): void {
  for (const name of [
    'meta',
    'commitments',
    'revocation-states',
    'commit-diffs',
    'unsigned-acked-updates',
    'remote-unsigned-local-updates',
    'revocation-log',
    'last-was-revoke',
    'external-funding',
    'data-loss-points',
    'shutdown-info',
    'close-txs',
    'fwd-packages',
    'historical',
    'purge-queue',
    'final-htlcs',
    'opening-states',
    'initial-forwarding-policies',
    'link-nodes',
  ]) {
    db.createObjectStore(name);
  }
  db.createObjectStore('channels').createIndex('peer', 'peer');
  const registry = db.createObjectStore('channel-registry');
  registry.createIndex('channel-id', 'channelId', { unique: true });
  registry.createIndex('key-index', 'keyIndex', { unique: true });
  db.createObjectStore('closed-summaries').createIndex('peer-pending', ['peer', 'pending']);
}

/** The schema version this code writes. */
export const IDB_SCHEMA_VERSION = IDB_MIGRATIONS[IDB_MIGRATIONS.length - 1]!.version;

/** What opening migrated (from = to when nothing was pending). */
export interface IdbMigrationReport {
  readonly from: number;
  readonly to: number;
  readonly applied: ReadonlyArray<{ version: number; description: string }>;
}

/**
 * The stored version of database `name`, without upgrading it. Only for a database known
 * to exist: opening a missing one without a version creates it, empty, at version 1.
 */
async function readIdbVersion(globals: IdbGlobals, name: string): Promise<number> {
  const db = await promised(globals.indexedDB.open(name));
  const version = db.version;
  db.close();
  return version;
}

/**
 * Opens database `name` at the latest schema version, applying pending migrations;
 * `onClosed` runs once when the connection later closes, for whatever reason.
 * DB_REVERSION if it was written by a newer chand. While another tab holds an older
 * version open, the upgrade waits: every chand connection closes itself on versionchange
 * (transactions.ts), so the wait ends as soon as that tab's running transactions finish.
 */
export async function openIdbDatabase(
  globals: IdbGlobals,
  name: string,
  options: { readonly migrations?: readonly IdbMigration[]; readonly onClosed?: () => void } = {},
): Promise<{ connection: IdbConnection; migration: IdbMigrationReport }> {
  const migrations = options.migrations ?? IDB_MIGRATIONS;
  const latest = migrations[migrations.length - 1]!.version;
  let report: IdbMigrationReport | undefined;
  let stepFailure: unknown;
  const request = globals.indexedDB.open(name, latest);
  request.onupgradeneeded = (event) => {
    const pending = migrations.filter((m) => m.version > event.oldVersion);
    const tx = request.transaction!;
    try {
      for (const m of pending) m.upgrade(request.result, tx);
    } catch (err) {
      stepFailure = err;
      tx.abort();
      return;
    }
    report = { from: event.oldVersion, to: latest, applied: pending.map(({ version, description }) => ({ version, description })) };
  };
  let db: IdbDatabaseLike;
  try {
    db = await promised(request);
  } catch (err) {
    if (stepFailure !== undefined) throw stepFailure;
    if ((err as { name?: string } | null)?.name === 'VersionError') {
      const stored = await readIdbVersion(globals, name);
      throw new ChandError(
        ErrorCode.DB_REVERSION,
        `IndexedDB database ${name} has schema version ${stored}, newer than this chand (${latest}); refusing to open it — upgrade chand`,
        { cause: err },
      );
    }
    throw idbFault(err, `IndexedDB database ${name}`);
  }
  return { connection: new IdbConnection(db, globals.IDBKeyRange, options.onClosed), migration: report ?? { from: db.version, to: db.version, applied: [] } };
}
