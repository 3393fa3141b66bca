// The KvEngine contract, run against both engines: ordering, ranges, atomicity, isolation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { KvEngine } from '../../src/kv/engine.js';
import { openLmdbEngine } from '../../src/kv/lmdb-engine.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { compareBytes } from '../../src/codec/bytes.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const engines: Array<[string, () => Promise<{ engine: KvEngine; cleanup: () => Promise<void> }>]> = [
  ['memory', async () => ({ engine: createMemoryEngine(), cleanup: async () => {} })],
  [
    'lmdb',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'chand-kv-'));
      const engine = await openLmdbEngine({ path: join(dir, 'db.lmdb') });
      return { engine, cleanup: async () => (await engine.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  ],
];

describe.each(engines)('KvEngine: %s', (_name, open) => {
  let engine: KvEngine;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ engine, cleanup } = await open()));
  afterEach(async () => cleanup());

  it('returns entries in bytewise key order, forwards and in reverse, bounded and limited', async () => {
    await engine.update((tx) => ['b', 'a', 'd', 'c', 'ab', '\u00ff'].forEach((k) => tx.put(enc(k), enc(k.toUpperCase()))));
    const all = await engine.read((tx) => [...tx.range({})].map(([k]) => dec(k)));
    expect(all).toEqual(['a', 'ab', 'b', 'c', 'd', '\u00ff']);
    const mid = await engine.read((tx) => [...tx.range({ start: enc('ab'), end: enc('d') })].map(([k, v]) => `${dec(k)}=${dec(v)}`));
    expect(mid).toEqual(['ab=AB', 'b=B', 'c=C']);
    const rev = await engine.read((tx) => [...tx.range({ start: enc('ab'), end: enc('d'), reverse: true, limit: 2 })].map(([k]) => dec(k)));
    expect(rev).toEqual(['c', 'b']);
    expect(await engine.read((tx) => [...tx.range({ reverse: true, limit: 1 })].map(([k]) => dec(k)))).toEqual(['\u00ff']);
  });

  it('reads its own writes inside a transaction, and commits all of them together', async () => {
    const seen = await engine.update((tx) => {
      tx.put(enc('k1'), enc('v1'));
      tx.put(enc('k2'), enc('v2'));
      tx.delete(enc('k1'));
      return [tx.get(enc('k1')), dec(tx.get(enc('k2'))!), [...tx.range({})].length];
    });
    expect(seen).toEqual([undefined, 'v2', 1]);
    expect(await engine.read((tx) => tx.get(enc('k1')))).toBeUndefined();
    expect(dec((await engine.read((tx) => tx.get(enc('k2'))))!)).toBe('v2');
  });

  it('rolls back every write of a closure that throws, and rejects with its error', async () => {
    await engine.update((tx) => tx.put(enc('keep'), enc('1')));
    await expect(
      engine.update((tx) => {
        tx.put(enc('keep'), enc('2'));
        tx.put(enc('new'), enc('x'));
        tx.delete(enc('keep'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await engine.read((tx) => [...tx.range({})].map(([k, v]) => `${dec(k)}=${dec(v)}`))).toEqual(['keep=1']);
  });

  it('keeps concurrent transactions atomic: a failing one does not take its neighbours down', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        engine.update((tx) => {
          tx.put(enc(`n${String(i).padStart(2, '0')}`), enc(String(i)));
          if (i % 5 === 0) throw new Error(`fail ${i}`);
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(8);
    const keys = await engine.read((tx) => [...tx.range({})].map(([k]) => dec(k)));
    expect(keys).toHaveLength(32);
    expect(keys.some((k) => Number(k.slice(1)) % 5 === 0)).toBe(false);
  });

  it('serializes read-modify-write transactions (no lost updates)', async () => {
    await engine.update((tx) => tx.put(enc('counter'), enc('0')));
    await Promise.all(
      Array.from({ length: 50 }, () => engine.update((tx) => tx.put(enc('counter'), enc(String(Number(dec(tx.get(enc('counter'))!)) + 1))))),
    );
    expect(dec((await engine.read((tx) => tx.get(enc('counter'))))!)).toBe('50');
  });

  it('matches a sorted-map model for random puts, deletes and range scans', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 4 })), { maxLength: 40 }),
        fc.uint8Array({ minLength: 1, maxLength: 3 }),
        fc.uint8Array({ minLength: 1, maxLength: 3 }),
        async (ops, a, b) => {
          const model = new Map<string, Uint8Array>();
          const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
          await engine.update((tx) => {
            for (const [k] of tx.range({})) tx.delete(k);
            for (const [del, k, v] of ops) {
              if (del) (tx.delete(k), model.delete(hex(k)));
              else (tx.put(k, v), model.set(hex(k), v));
            }
          });
          const [start, end] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
          const got = await engine.read((tx) => [...tx.range({ start, end })].map(([k, v]) => [hex(k), hex(v)]));
          const want = [...model]
            .map(([k, v]) => [k, Buffer.from(v).toString('hex')] as [string, string])
            .filter(([k]) => compareBytes(Buffer.from(k, 'hex'), start) >= 0 && compareBytes(Buffer.from(k, 'hex'), end) < 0)
            .sort(([x], [y]) => compareBytes(Buffer.from(x, 'hex'), Buffer.from(y, 'hex')));
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('fails every call with STORE_CLOSED after close, and close is idempotent', async () => {
    await engine.close();
    await engine.close();
    await expect(engine.read((tx) => tx.get(enc('x')))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(engine.update((tx) => tx.put(enc('x'), enc('y')))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});

describe('KvEngine: lmdb persistence', () => {
  it('keeps committed data across close and reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chand-kv-'));
    try {
      const first = await openLmdbEngine({ path: join(dir, 'db.lmdb') });
      await first.update((tx) => tx.put(enc('persisted'), enc('yes')));
      await first.close();
      const second = await openLmdbEngine({ path: join(dir, 'db.lmdb') });
      expect(dec((await second.read((tx) => tx.get(enc('persisted'))))!)).toBe('yes');
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
