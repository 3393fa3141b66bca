// Damaged stored bytes are an error, never a crash and never wrong data.
// - SQLite: garbage written over the middle of a closed database file is DB_CORRUPT when it
//   is opened or read.
// - KV (memory, LMDB): with value checksums (checksummed-engine.ts) one flipped byte of any
//   stored value — here inside a payment hash — is DB_CORRUPT on read; the migration step
//   adds checksums to a database written without them, and the data reads back the same.
// - SQL column shapes: the length-checked readers refuse a 5-byte node_pub (DB_CORRUPT,
//   naming the column) instead of returning it as a 10-hex-digit key.
import { mkdtemp, open as openFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChannelDb, SQLITE_FILE } from '../../src/channeldb/open.js';
import { ChandError, ErrorCode } from '../../src/errors.js';
import { CHECKSUM_BYTES } from '../../src/kv/checksummed-engine.js';
import { downgradeKv } from '../kv/support/old-schema.js';
import type { KvEngine } from '../../src/kv/engine.js';
import { createKvChannelStateStore } from '../../src/kv/channel-state-store.js';
import { KvCoordinator } from '../../src/kv/coordinator.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { KV_MIGRATIONS, KV_SCHEMA_VERSION, migrateKv, readSchemaVersion } from '../../src/kv/migrations.js';
import { openLmdbEngine } from '../../src/kv/lmdb-engine.js';
import { boolOf, enumOf, hexOf, optHexOf } from '../../src/sql/columns.js';
import { chanPointOf, exclusionReason, expectCode, makeChannel, registerBackendUnavailable } from '../../src/testing/index.js';


/** Overwrites `length` bytes at `offset` of `file` with a fixed garbage pattern. */
async function scribble(file: string, offset: number, length: number): Promise<void> {
  const handle = await openFile(file, 'r+');
  try {
    const garbage = Buffer.alloc(length);
    for (let i = 0; i < length; i++) garbage[i] = (i * 131 + 7) & 0xff;
    await handle.write(garbage, 0, length, offset);
  } finally {
    await handle.close();
  }
}

const sqliteExcluded = exclusionReason('sqlite');
if (sqliteExcluded !== undefined) registerBackendUnavailable('sqlite', 'SQLite corruption', sqliteExcluded);
else {
  describe('SQLite file corruption', () => {
    it('garbage over the middle of the file is DB_CORRUPT on open or on read, never a crash', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'chand-corrupt-'));
      try {
        const db = await openChannelDb({ backend: 'sqlite', path: dir });
        for (let seed = 1; seed <= 20; seed++) await db.coordinator.syncPendingChannel(makeChannel(seed, { isPending: true, shortChannelId: 0n, confirmationHeight: 0 }), undefined, 100);
        await db.close();
        const file = join(dir, SQLITE_FILE);
        const { size } = await stat(file);
        // Keep page 1 (header and schema) and the last page; damage everything between.
        await scribble(file, 4096, size - 2 * 4096);
        let outcome: unknown;
        try {
          const reopened = await openChannelDb({ backend: 'sqlite', path: dir }, { create: false, migrate: false });
          try {
            outcome = await reopened.channelState.fetchAllChannels();
          } catch (err) {
            outcome = err;
          } finally {
            await reopened.close();
          }
        } catch (err) {
          outcome = err;
        }
        expect(outcome).toBeInstanceOf(ChandError);
        expect(outcome).toMatchObject({ code: ErrorCode.DB_CORRUPT });
        expect((outcome as ChandError).cause).toMatchObject({ code: expect.stringMatching(/^SQLITE_(CORRUPT|NOTADB)/) });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}

/** Engines to run the checksum tests on: a memory engine, and LMDB in a fresh directory. */
const engines: Array<{ name: 'memory' | 'lmdb'; open(): Promise<{ engine: KvEngine; cleanup(): Promise<void> }> }> = [];
for (const name of ['memory', 'lmdb'] as const) {
  const excluded = exclusionReason(name);
  if (excluded !== undefined) {
    registerBackendUnavailable(name, 'KV value checksums', excluded);
    continue;
  }
  engines.push({
    name,
    async open() {
      if (name === 'memory') return { engine: createMemoryEngine(), cleanup: async () => {} };
      const dir = await mkdtemp(join(tmpdir(), 'chand-checksum-'));
      const engine = await openLmdbEngine({ path: join(dir, 'channel.lmdb'), noSync: true });
      return { engine, cleanup: async () => (await engine.close(), await rm(dir, { recursive: true, force: true })) };
    },
  });
}

describe.each(engines.map((e) => [e.name, e] as const))('KV value checksums: %s', (_name, kind) => {
  it('one flipped byte inside a stored payment hash is DB_CORRUPT, not a different hash', async () => {
    const { engine: raw, cleanup } = await kind.open();
    try {
      await migrateKv(raw);
      // The stores read and write through the checksummed view of the bare engine.
      const store = createKvChannelStateStore(raw);
      const channel = makeChannel(3);
      await new KvCoordinator(raw).syncPendingChannel({ ...channel, isPending: true, shortChannelId: 0n, confirmationHeight: 0 }, undefined, 100);
      const stored = await store.fetchChannel(chanPointOf(3));
      const hash = stored.localCommitment.htlcs[0]!.paymentHash;
      // Find the raw value holding that payment hash and flip one of its bits.
      const needle = Buffer.from(hash, 'hex');
      const hit = await raw.read((tx) => {
        for (const [key, value] of tx.range({})) {
          const at = Buffer.from(value).indexOf(needle);
          if (at >= 0) return { key: key.slice(), value: value.slice(), at };
        }
        return undefined;
      });
      expect(hit, 'the payment hash is stored somewhere').toBeDefined();
      const damaged = hit!.value.slice();
      damaged[hit!.at + 5]! ^= 0x01;
      await raw.update((tx) => tx.put(hit!.key, damaged));
      await expectCode(store.fetchChannel(chanPointOf(3)), ErrorCode.DB_CORRUPT);
      await expectCode(store.fetchAllChannels(), ErrorCode.DB_CORRUPT);
      // Put back, it reads as before: the check refuses damage, not data.
      await raw.update((tx) => tx.put(hit!.key, hit!.value));
      expect((await store.fetchChannel(chanPointOf(3))).localCommitment.htlcs[0]!.paymentHash).toBe(hash);
    } finally {
      await cleanup();
    }
  });

  it('the migration step adds a 4-byte checksum to every value of an old database; the data reads back the same', async () => {
    const { engine: raw, cleanup } = await kind.open();
    try {
      // Before: a database as schema 2 left it, without checksums (written by today's
      // stores, then stripped of them).
      await migrateKv(raw);
      await new KvCoordinator(raw).syncPendingChannel({ ...makeChannel(5), isPending: true, shortChannelId: 0n, confirmationHeight: 0 }, undefined, 100);
      const before = await createKvChannelStateStore(raw).fetchChannel(chanPointOf(5));
      await downgradeKv(raw, 2);
      const sizes = await raw.read((tx) => new Map([...tx.range({})].map(([k, v]) => [Buffer.from(k).toString('hex'), v.length])));
      // Migrate.
      const report = await migrateKv(raw);
      expect(report.applied.map((m) => m.version)).toEqual(KV_MIGRATIONS.filter((m) => m.version > 2).map((m) => m.version));
      // After: every value but the schema version grew by exactly the checksum; reads match.
      const grown = await raw.read((tx) => [...tx.range({})].filter(([k, v]) => v.length !== sizes.get(Buffer.from(k).toString('hex'))! + CHECKSUM_BYTES).length);
      expect(grown).toBe(1);
      expect(await raw.read(readSchemaVersion)).toBe(KV_SCHEMA_VERSION);
      expect(await createKvChannelStateStore(raw).fetchChannel(chanPointOf(5))).toEqual(before);
    } finally {
      await cleanup();
    }
  });
});

describe('SQL column shape checks (columns.ts)', () => {
  it('a 5-byte node_pub is DB_CORRUPT naming channels.node_pub, not a 10-hex-digit key', () => {
    const bad = Uint8Array.of(2, 1, 2, 3, 4);
    expect(() => hexOf(bad, 33, 'channels.node_pub')).toThrow(expect.objectContaining({ code: ErrorCode.DB_CORRUPT, message: expect.stringContaining('channels.node_pub') }));
    const good = new Uint8Array(33).fill(2);
    expect(hexOf(good, 33, 'channels.node_pub')).toBe('02'.repeat(33));
    expect(optHexOf(null, 33, 'x.y')).toBeUndefined();
    expect(() => optHexOf(new Uint8Array(32), 33, 'channels.current_point')).toThrow(expect.objectContaining({ code: ErrorCode.DB_CORRUPT }));
  });

  it('booleans must be 0 or 1, enums one of their values', () => {
    expect(boolOf(0n, 'channels.is_pending')).toBe(false);
    expect(boolOf(1, 'channels.is_pending')).toBe(true);
    expect(() => boolOf(2n, 'channels.is_pending')).toThrow(expect.objectContaining({ code: ErrorCode.DB_CORRUPT, message: expect.stringContaining('channels.is_pending') }));
    expect(enumOf(1n, [0, 1, 2] as const, 'closed_channels.close_type')).toBe(1);
    expect(() => enumOf(9, [0, 1, 2] as const, 'closed_channels.close_type')).toThrow(expect.objectContaining({ code: ErrorCode.DB_CORRUPT }));
  });
});

describe('SQLite: a malformed stored column read through the store', () => {
  it('a channel whose node_pub column holds 5 bytes fails DB_CORRUPT, not a 10-hex-digit key', async () => {
    const path = await mkdtemp(join(tmpdir(), 'chand-shape-'));
    try {
      const db = await openChannelDb({ backend: 'sqlite', path });
      const channel = makeChannel(8);
      await db.coordinator.syncPendingChannel({ ...channel, isPending: true, shortChannelId: 0n, confirmationHeight: 0 }, undefined, 100);
      await db.close();
      const { default: BetterSqlite3 } = await import('better-sqlite3');
      const raw = new BetterSqlite3(join(path, SQLITE_FILE));
      raw.prepare('update channels set node_pub = ?').run(Buffer.from([1, 2, 3, 4, 5]));
      raw.close();
      const again = await openChannelDb({ backend: 'sqlite', path });
      try {
        await expect(again.channelState.fetchChannel(chanPointOf(8))).rejects.toMatchObject({ code: ErrorCode.DB_CORRUPT, message: expect.stringContaining('channels.node_pub') });
        await expectCode(again.channelState.fetchAllChannels(), ErrorCode.DB_CORRUPT);
      } finally {
        await again.close();
      }
    } finally {
      await rm(path, { recursive: true, force: true });
    }
  });
});
