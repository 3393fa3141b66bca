// What is specific to the IndexedDB backend, under fake-indexeddb: the schema list and
// DB_REVERSION, another connection's versionchange (STORE_CLOSED), and the transaction
// runner's all-or-nothing rule, including the defect it exists to catch (a body awaiting
// something that is not an IndexedDB request).
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { openBrowserChannelDb } from '../../src/channeldb/open-browser.js';
import { ErrorCode } from '../../src/errors.js';
import type { IdbDatabaseLike, IdbGlobals } from '../../src/idb/idb-api.js';
import { IDB_MIGRATIONS, IDB_SCHEMA_VERSION, openIdbDatabase } from '../../src/idb/migrations.js';
import { ALL_STORES, LINK_NODES, META } from '../../src/idb/stores.js';
import { htlcRefOf, makeAttempt, makeChannel, makeLinkNode, makeNewInvoice, makeNewPayment } from '../../src/testing/index.js';

const idb = { indexedDB, IDBKeyRange } as unknown as IdbGlobals;
let counter = 0;
const freshName = (what: string) => `${what}-${process.pid}-${counter++}`;

function rawOpen(name: string, version: number, upgrade: (db: IdbDatabaseLike) => void = () => {}): Promise<IdbDatabaseLike> {
  return new Promise((resolve, reject) => {
    const request = idb.indexedDB.open(name, version);
    request.onupgradeneeded = () => upgrade(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

describe('IndexedDB schema', () => {
  it('migration 1 creates every object store of stores.ts and stamps the version; reopening applies nothing', async () => {
    const name = freshName('schema');
    const { connection, migration } = await openIdbDatabase(idb, name);
    expect(migration).toEqual({ from: 0, to: IDB_SCHEMA_VERSION, applied: IDB_MIGRATIONS.map(({ version, description }) => ({ version, description })) });
    connection.close();
    const raw = await rawOpen(name, IDB_SCHEMA_VERSION);
    expect(ALL_STORES.filter((s) => !raw.objectStoreNames.contains(s))).toEqual([]);
    expect(raw.objectStoreNames.length).toBe(ALL_STORES.length);
    raw.close();
    const again = await openIdbDatabase(idb, name);
    expect(again.migration).toEqual({ from: IDB_SCHEMA_VERSION, to: IDB_SCHEMA_VERSION, applied: [] });
    again.connection.close();
  });

  it('a database written by a newer chand (a higher IndexedDB version) is refused with DB_REVERSION and left as it is', async () => {
    const name = freshName('newer');
    const raw = await rawOpen(name, IDB_SCHEMA_VERSION + 5, (db) => db.createObjectStore('from-the-future'));
    raw.close();
    await expect(openBrowserChannelDb({ name, idb, locks: false })).rejects.toMatchObject({ code: ErrorCode.DB_REVERSION, message: expect.stringContaining(`version ${IDB_SCHEMA_VERSION + 5}`) });
    const after = await rawOpen(name, IDB_SCHEMA_VERSION + 5);
    expect(after.objectStoreNames.contains('from-the-future')).toBe(true);
    after.close();
  });

  it('a failing migration step leaves the database at its old version, with nothing of the step', async () => {
    const name = freshName('failing');
    const failingStep = {
      version: IDB_SCHEMA_VERSION + 1,
      description: 'creates a store, then fails',
      upgrade(db: IdbDatabaseLike): void {
        db.createObjectStore('half');
        throw new RangeError('step failed');
      },
    };
    const failing = [...IDB_MIGRATIONS, failingStep];
    (await openIdbDatabase(idb, name)).connection.close();
    await expect(openIdbDatabase(idb, name, { migrations: failing })).rejects.toThrow('step failed');
    const raw = await rawOpen(name, IDB_SCHEMA_VERSION);
    expect(raw.version).toBe(IDB_SCHEMA_VERSION);
    expect(raw.objectStoreNames.contains('half')).toBe(false);
    raw.close();
  });
});

describe('IndexedDB migration 2: payment stores', () => {
  it('a schema-1 database keeps its link nodes and gets working invoice and payment stores', async () => {
    // A schema-1 database, with a record written by schema-1 code.
    const old = freshName('v1-data');
    const v1 = await openIdbDatabase(idb, old, { migrations: IDB_MIGRATIONS.slice(0, 1) });
    expect(v1.migration.to).toBe(1);
    const conn = v1.connection;
    await conn.run([LINK_NODES], 'readwrite', async (tx) => tx.put(LINK_NODES, makeLinkNode(3).identityPub, makeLinkNode(3)));
    conn.close();
    const db = await openBrowserChannelDb({ name: old, idb, locks: false });
    try {
      expect(db.migration).toEqual({ from: 1, to: IDB_SCHEMA_VERSION, applied: IDB_MIGRATIONS.filter((m) => m.version > 1).map(({ version, description }) => ({ version, description })) });
      expect(await db.linkNodes.fetchAllLinkNodes()).toEqual([makeLinkNode(3)]);
      const invoice = makeNewInvoice('idb-m2');
      expect((await db.invoices.addInvoice(invoice)).addIndex).toBe(1);
      expect((await db.invoices.settleInvoice(invoice.paymentHash, 1n, 1, htlcRefOf('idb-m2'))).settleIndex).toBe(1);
      const payment = makeNewPayment('idb-m2');
      await db.payments.initPayment(payment);
      await db.payments.registerAttempt(payment.paymentHash, makeAttempt('idb-m2', 1));
      expect((await db.payments.fetchInFlightPayments()).map((p) => p.paymentHash)).toEqual([payment.paymentHash]);
    } finally {
      await db.close();
    }
  });
});

describe('IndexedDB connection lifecycle', () => {
  it("another connection's upgrade (versionchange) closes this one instead of blocking it: later calls fail with STORE_CLOSED naming why", async () => {
    const name = freshName('versionchange');
    const db = await openBrowserChannelDb({ name, idb, locks: false });
    await db.linkNodes.createLinkNodes([makeLinkNode(1)]);
    const newer = await rawOpen(name, IDB_SCHEMA_VERSION + 1);
    newer.close();
    await expect(db.linkNodes.fetchAllLinkNodes()).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED, message: expect.stringContaining('upgrading') });
    await expect(db.channelState.fetchChannel(makeChannel(1).fundingOutpoint)).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED });
    await db.close();
  });

  it('the lock is released however the connection closes, so the same tab can open the database again', async () => {
    const name = freshName('lock');
    let held = 0;
    let released = 0;
    const locks = {
      request: async (_name: string, _options: unknown, callback: (lock: unknown) => unknown) => {
        if (held > released) return callback(null);
        held++;
        await callback({ name: _name });
        released++;
        return undefined;
      },
    };
    const first = await openBrowserChannelDb({ name, idb, locks });
    await expect(openBrowserChannelDb({ name, idb, locks })).rejects.toMatchObject({ code: ErrorCode.DB_LOCKED });
    await first.close();
    expect({ held, released }).toEqual({ held: 1, released: 1 });
    const second = await openBrowserChannelDb({ name, idb, locks });
    await second.close();
    expect({ held, released }).toEqual({ held: 2, released: 2 });
  });
});

describe('IndexedDB transactions', () => {
  it('a body that throws after writing leaves nothing written (the transaction aborts)', async () => {
    const { connection } = await openIdbDatabase(idb, freshName('abort'));
    await expect(
      connection.run([META, LINK_NODES], 'readwrite', async (tx) => {
        tx.put(META, 'probe', 1);
        tx.put(LINK_NODES, 'probe', { x: 1 });
        await tx.get(META, 'probe');
        throw new RangeError('rule refused');
      }),
    ).rejects.toThrow('rule refused');
    expect(await connection.run([META, LINK_NODES], 'readonly', async (tx) => [await tx.get(META, 'probe'), await tx.get(LINK_NODES, 'probe')])).toEqual([undefined, undefined]);
    connection.close();
  });

  it('a body that awaits something other than its requests is caught: the call rejects instead of reporting success', async () => {
    const { connection } = await openIdbDatabase(idb, freshName('outlived'));
    await expect(
      connection.run([META], 'readwrite', async (tx) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        tx.put(META, 'late', 1);
      }),
    ).rejects.toThrow('committed before its body finished');
    expect(await connection.run([META], 'readonly', (tx) => tx.get(META, 'late'))).toBeUndefined();
    connection.close();
  });
});

describe('browser composition root', () => {
  it('reports the schema version and migration while open, and STORE_CLOSED for it after close (idempotent close)', async () => {
    const db = await openBrowserChannelDb({ name: freshName('root'), idb, locks: false });
    expect(db.backend).toBe('indexeddb');
    expect(db.migration.to).toBe(IDB_SCHEMA_VERSION);
    expect(await db.schemaVersion()).toBe(IDB_SCHEMA_VERSION);
    await db.close();
    await db.close();
    await expect(db.schemaVersion()).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED });
  });

  it('refuses misuse with TypeError: no name, another backend, no IndexedDB, no Web Locks without locks: false', async () => {
    await expect(openBrowserChannelDb({ name: '', idb, locks: false })).rejects.toThrow(TypeError);
    await expect(openBrowserChannelDb({ name: 'x', backend: 'sqlite' as never, idb, locks: false })).rejects.toThrow(TypeError);
    // Node has no indexedDB global (and Node 20 no navigator.locks).
    await expect(openBrowserChannelDb({ name: 'x', locks: false })).rejects.toThrow(/IndexedDB/);
    if ((globalThis as { navigator?: { locks?: unknown } }).navigator?.locks === undefined) {
      await expect(openBrowserChannelDb({ name: 'x', idb })).rejects.toThrow(/Web Locks/);
    }
  });
});
