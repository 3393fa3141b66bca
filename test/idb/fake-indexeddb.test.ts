// The channel-store conformance suite on the IndexedDB backend under fake-indexeddb (an
// in-memory IndexedDB for Node): fast feedback. The run that counts is the same suite in
// headless Chromium (chromium.test.ts).
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { openBrowserChannelDb } from '../../src/channeldb/open-browser.js';
import type { IdbGlobals } from '../../src/idb/idb-api.js';
import { runChannelStoreConformance, runPaymentStoreConformance } from '../../src/testing/index.js';

const idb = { indexedDB, IDBKeyRange } as unknown as IdbGlobals;
let counter = 0;

runChannelStoreConformance('indexeddb', async () => {
  const name = `conformance-${process.pid}-${counter++}`;
  // No Web Locks in Node; each test has its own database anyway.
  const db = await openBrowserChannelDb({ name, idb, locks: false });
  return {
    db,
    cleanup: async () => {
      await db.close();
      await new Promise<void>((resolve, reject) => {
        const request = indexedDB.deleteDatabase(name);
        request.onsuccess = () => resolve();
        request.onerror = () => reject(request.error);
      });
    },
  };
});

function deleteDatabase(name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

// fake-indexeddb keeps a database for the life of the process, so reopening one by name
// exercises what the suites' reopen tests check: everything is in the object stores.
runPaymentStoreConformance(
  'indexeddb',
  async () => {
    const name = `payments-${process.pid}-${counter++}`;
    const opened: Array<{ close(): Promise<void> }> = [];
    const open = async () => {
      const db = await openBrowserChannelDb({ name, idb, locks: false });
      opened.push(db);
      return db;
    };
    return { db: await open(), reopen: open, cleanup: async () => (await Promise.all(opened.map((db) => db.close())), await deleteDatabase(name)) };
  },
  { durable: true },
);
