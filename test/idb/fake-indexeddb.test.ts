// The channel-store conformance suite on the IndexedDB backend under fake-indexeddb (an
// in-memory IndexedDB for Node): fast feedback. The run that counts is the same suite in
// headless Chromium (chromium.test.ts).
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { openBrowserChannelDb } from '../../src/channeldb/open-browser.js';
import type { IdbGlobals } from '../../src/idb/idb-api.js';
import { runChannelStoreConformance } from '../../src/testing/index.js';

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
