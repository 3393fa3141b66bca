// The SQL transaction runner: all-or-nothing, bounded retry of real conflicts (PostgreSQL
// serialization failures, SQLite busy) with closures re-run from scratch, and closed stores.
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChandError, ErrorCode } from '../../src/errors.js';
import { migrateSql } from '../../src/sql/migrations.js';
import { SqlLinkNodeStore } from '../../src/sql/link-node-store.js';
import { expectCode, makeLinkNode } from '../../src/testing/index.js';
import { sqlBackendKinds } from './support/backends.js';

const kinds = await sqlBackendKinds('SQL transactions');
const FAST_RETRY = { maxAttempts: 4, baseDelayMs: 0 };

describe.each(kinds.map((k) => [k.name, k] as const))('SQL transactions: %s', (name, kind) => {
  it('a closure that throws leaves nothing behind', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      await migrateSql(backend);
      await expect(
        backend.runTx('write', async (tx) => {
          await tx.insertInto('link_nodes').values({ pubkey: new Uint8Array(33).fill(3), network: 'regtest', last_seen_ms: 1 }).execute();
          throw new RangeError('changed my mind');
        }),
      ).rejects.toThrow(RangeError);
      expect(await backend.runTx('read', (tx) => tx.selectFrom('link_nodes').selectAll().execute())).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('retries a retryable failure by running the closure again, a bounded number of times', async () => {
    const { backend, cleanup } = await kind.open({ retry: FAST_RETRY });
    try {
      const conflict = Object.assign(new Error('conflict'), { code: name === 'sqlite' ? 'SQLITE_BUSY' : '40001' });
      let calls = 0;
      const result = await backend.runTx('write', async () => {
        calls++;
        if (calls < 3) throw conflict;
        return 'done';
      });
      expect({ result, calls }).toEqual({ result: 'done', calls: 3 });

      calls = 0;
      const exhausted = backend.runTx('write', async () => {
        calls++;
        throw conflict;
      });
      await expectCode(exhausted, ErrorCode.DB_SERIALIZATION_RETRIES_EXHAUSTED);
      await exhausted.catch((err: ChandError) => expect(err.cause).toBe(conflict));
      expect(calls).toBe(FAST_RETRY.maxAttempts);

      // Anything else fails at once.
      calls = 0;
      await expect(backend.runTx('write', async () => (calls++, Promise.reject(new Error('bug'))))).rejects.toThrow('bug');
      expect(calls).toBe(1);
    } finally {
      await cleanup();
    }
  });

  it('every method of a closed store fails with STORE_CLOSED; close is idempotent', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      await migrateSql(backend);
      const store = new SqlLinkNodeStore(backend);
      await backend.close();
      await backend.close();
      await expectCode(store.fetchAllLinkNodes(), ErrorCode.STORE_CLOSED);
      await expectCode(store.createLinkNodes([makeLinkNode(1)]), ErrorCode.STORE_CLOSED);
    } finally {
      await cleanup();
    }
  });

  it('concurrent read-modify-writes of one link node lose no update', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      await migrateSql(backend);
      const store = new SqlLinkNodeStore(backend);
      const node = makeLinkNode(7, { addresses: [] });
      await store.createLinkNodes([node]);
      const addresses = Array.from({ length: 12 }, (_, i) => `10.9.0.${i}:9735`);
      await Promise.all(addresses.map((a, i) => store.addAddress(node.identityPub, a, 1_800_000_000_000 + i)));
      const after = await store.fetchLinkNode(node.identityPub);
      expect([...after.addresses].sort()).toEqual([...addresses].sort());
      expect(after.lastSeenMs).toBe(1_800_000_000_011);
    } finally {
      await cleanup();
    }
  });

  it.runIf(name === 'postgres')('a real deadlock (40P01) is rolled back and its closure run again', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      await migrateSql(backend);
      const [a, b] = [new Uint8Array(33).fill(2), new Uint8Array(33).fill(3)];
      await backend.runTx('write', (tx) =>
        tx.insertInto('link_nodes').values([{ pubkey: a, network: 'regtest', last_seen_ms: 0 }, { pubkey: b, network: 'regtest', last_seen_ms: 0 }]).execute(),
      );
      // Each transaction locks one row, waits until the other holds its row, then asks for
      // the other's: PostgreSQL aborts one of them as a deadlock. The barrier only holds the
      // first attempt; the re-run finds it open and completes.
      let holding = 0;
      let release!: () => void;
      const bothHold = new Promise<void>((resolve) => (release = resolve));
      const lockBoth = (first: Uint8Array, second: Uint8Array) =>
        backend.runTx('write', async (tx) => {
          await tx.updateTable('link_nodes').set({ last_seen_ms: 1 }).where('pubkey', '=', first).execute();
          if (++holding === 2) release();
          await bothHold;
          await tx.updateTable('link_nodes').set({ last_seen_ms: 2 }).where('pubkey', '=', second).execute();
          return 'done';
        });
      const before = backend.retries;
      expect(await Promise.all([lockBoth(a, b), lockBoth(b, a)])).toEqual(['done', 'done']);
      expect(backend.retries).toBe(before + 1);
    } finally {
      await cleanup();
    }
  }, 20_000);

  it.runIf(name === 'sqlite')('a write that finds the file locked by another connection waits, retries and succeeds', async () => {
    const { backend, cleanup, location } = await kind.open({ busyTimeoutMs: 10, retry: { maxAttempts: 12, baseDelayMs: 10 } });
    try {
      await migrateSql(backend);
      const other = new BetterSqlite3(join(location.path!, 'channel.sqlite'));
      other.exec('begin immediate');
      const release = setTimeout(() => other.exec('commit'), 150);
      const store = new SqlLinkNodeStore(backend);
      const before = backend.retries;
      await store.createLinkNodes([makeLinkNode(3)]);
      clearTimeout(release);
      other.close();
      expect(backend.retries).toBeGreaterThan(before);
      expect((await store.fetchAllLinkNodes()).map((n) => n.identityPub)).toEqual([makeLinkNode(3).identityPub]);
    } finally {
      await cleanup();
    }
  });
});
