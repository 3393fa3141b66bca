/**
 * Property tests of the shachain receiver store: every run of secrets from one seed in
 * protocol order (any starting index, each one below the previous) is accepted, survives a
 * persist/restore at any point, and every secret stays derivable; a single wrong secret is
 * refused exactly at the first insert that can detect it, and never earlier.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { SHACHAIN_MAX_INDEX, ShachainStore, shachainSecret } from '../../src/bitcoin/shachain.js';

function trailingZeros(index: bigint): number {
  for (let b = 0; b < 48; b++) if ((index >> BigInt(b)) & 1n) return b;
  return 48;
}

/** True if the secret at `parent` can derive the one at `child` (same bits above parent's trailing zeros). */
function derives(parent: bigint, child: bigint): boolean {
  if (parent === child) return false;
  const shift = BigInt(trailingZeros(parent));
  return child >> shift === parent >> shift;
}

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const startArb = fc.oneof(
  fc.bigInt({ min: SHACHAIN_MAX_INDEX - 5000n, max: SHACHAIN_MAX_INDEX }),
  fc.bigInt({ min: 0n, max: SHACHAIN_MAX_INDEX }),
  // Just above a boundary with many trailing zeros, so high buckets are exercised.
  fc.tuple(fc.integer({ min: 8, max: 47 }), fc.integer({ min: 0, max: 200 })).map(([k, off]) => (1n << BigInt(k)) + BigInt(off)),
);

describe('ShachainStore properties', () => {
  it('accepts any protocol-order run from one seed, across restores, and derives every secret', () => {
    fc.assert(
      fc.property(seedArb, startArb, fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 299 }), (seed, start, wanted, restoreAt) => {
        const count = Number(start + 1n < BigInt(wanted) ? start + 1n : BigInt(wanted));
        let store = new ShachainStore();
        const indexes: bigint[] = [];
        for (let i = 0; i < count; i++) {
          const index = start - BigInt(i);
          store.insert(index, shachainSecret(seed, index));
          indexes.push(index);
          expect(store.entries().length).toBeLessThanOrEqual(49);
          if (i === restoreAt) store = ShachainStore.fromEntries(store.entries());
        }
        for (const index of indexes) expect(store.get(index)).toEqual(shachainSecret(seed, index));
        const below = start - BigInt(count);
        if (below >= 0n) expect(store.get(below)).toBeUndefined();
        expect(ShachainStore.fromEntries(store.entries()).entries()).toEqual(store.entries());
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a wrong secret at the first insert able to detect it, leaving the store unchanged', () => {
    let refusals = 0;
    fc.assert(
      fc.property(
        seedArb,
        startArb,
        fc.integer({ min: 2, max: 300 }),
        fc.nat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 299 }),
        (seed, start, wanted, corruptPick, wrongSecret, restoreAt) => {
          const count = Number(start + 1n < BigInt(wanted) ? start + 1n : BigInt(wanted));
          if (count < 2) return;
          const indexes = Array.from({ length: count }, (_, i) => start - BigInt(i));
          const corrupt = corruptPick % count;
          const bad = indexes[corrupt]!;
          // Expected refusal: at the corrupt insert if it derives an earlier secret, otherwise
          // at the first later insert that derives the corrupt one; or never within this run.
          let expected = -1;
          if (indexes.slice(0, corrupt).some((i) => derives(bad, i))) expected = corrupt;
          else expected = indexes.findIndex((i, pos) => pos > corrupt && derives(i, bad));

          let store = new ShachainStore();
          let refusedAt = -1;
          for (let pos = 0; pos < count; pos++) {
            const index = indexes[pos]!;
            const secret = pos === corrupt ? wrongSecret : shachainSecret(seed, index);
            const before = store.entries();
            try {
              store.insert(index, secret);
            } catch (err) {
              expect(isChandError(err, 'SHACHAIN_INVALID')).toBe(true);
              expect(store.entries()).toEqual(before);
              refusedAt = pos;
              break;
            }
            if (pos === restoreAt) store = ShachainStore.fromEntries(store.entries());
          }
          expect(refusedAt).toBe(expected);
          if (refusedAt >= 0) refusals++;
        },
      ),
      { numRuns: 150 },
    );
    // Most runs must actually reach a refusal, or the property says little.
    expect(refusals).toBeGreaterThan(75);
  });

  it('refuses every out-of-order index', () => {
    fc.assert(
      fc.property(seedArb, fc.bigInt({ min: 10n, max: SHACHAIN_MAX_INDEX }), fc.bigInt({ min: 0n, max: SHACHAIN_MAX_INDEX }), (seed, start, next) => {
        fc.pre(next !== start - 1n && next < start);
        const store = new ShachainStore();
        store.insert(start, shachainSecret(seed, start));
        expect(() => store.insert(next, shachainSecret(seed, next))).toThrow(/expected shachain index/);
      }),
      { numRuns: 100 },
    );
  });
});
