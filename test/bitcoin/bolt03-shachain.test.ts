/**
 * BOLT 3 Appendix D: per-commitment secret generation and storage test vectors, read from
 * the spec, plus the persistence round trip the channel store relies on.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { SHACHAIN_MAX_INDEX, ShachainProducer, ShachainStore, commitmentIndex, shachainSecret } from '../../src/bitcoin/shachain.js';
import { perCommitmentPoint } from '../../src/bitcoin/key-derivation.js';
import { shachainVectors } from './support/bolt03-vectors.js';

const { generation, storage } = shachainVectors();

describe('BOLT 3 Appendix D: generation tests', () => {
  it('has the five generation cases', () => expect(generation).toHaveLength(5));
  for (const c of generation) {
    it(c.name, () => {
      expect(bytesToHex(shachainSecret(c.seed, c.index))).toBe(bytesToHex(c.output));
      expect(bytesToHex(new ShachainProducer(c.seed).secretAt(c.index))).toBe(bytesToHex(c.output));
    });
  }
});

describe('BOLT 3 Appendix D: storage tests', () => {
  it('has the nine storage cases', () => expect(storage).toHaveLength(9));
  for (const c of storage) {
    it(c.name, () => {
      const store = new ShachainStore();
      for (const step of c.steps) {
        const before = store.entries();
        let error: unknown;
        try {
          store.insert(step.index, step.secret);
        } catch (err) {
          error = err;
        }
        if (step.ok) {
          expect(error).toBeUndefined();
          expect(bytesToHex(store.get(step.index)!)).toBe(bytesToHex(step.secret));
        } else {
          expect(isChandError(error, 'SHACHAIN_INVALID')).toBe(true);
          // A refused insert leaves the store as it was.
          expect(store.entries()).toEqual(before);
          return;
        }
      }
      // The correct sequence: every received secret is still derivable, also after a restore.
      const restored = ShachainStore.fromEntries(store.entries());
      for (const step of c.steps) expect(bytesToHex(restored.get(step.index)!)).toBe(bytesToHex(step.secret));
    });
  }
});

describe('shachain producer and store', () => {
  const seed = new Uint8Array(32).fill(0x42);
  const producer = new ShachainProducer(seed);

  it('commitment number n uses index 2^48 - 1 - n', () => {
    expect(commitmentIndex(0n)).toBe(SHACHAIN_MAX_INDEX);
    expect(bytesToHex(producer.perCommitmentSecret(3n))).toBe(bytesToHex(shachainSecret(seed, SHACHAIN_MAX_INDEX - 3n)));
    expect(bytesToHex(producer.perCommitmentPoint(3n))).toBe(bytesToHex(perCommitmentPoint(producer.perCommitmentSecret(3n))));
  });

  it('a store fed our secrets returns them by commitment number, and nothing not yet revealed', () => {
    const store = new ShachainStore();
    for (let n = 0n; n < 20n; n++) store.insert(commitmentIndex(n), producer.perCommitmentSecret(n));
    expect(store.nextIndex).toBe(commitmentIndex(20n));
    for (let n = 0n; n < 20n; n++) expect(bytesToHex(store.perCommitmentSecret(n)!)).toBe(bytesToHex(producer.perCommitmentSecret(n)));
    expect(store.perCommitmentSecret(20n)).toBeUndefined();
    expect(store.entries().length).toBeLessThanOrEqual(49);
  });

  it('refuses an index out of order, and accepts a repeated one only with the same secret', () => {
    const store = new ShachainStore();
    store.insert(SHACHAIN_MAX_INDEX, producer.secretAt(SHACHAIN_MAX_INDEX));
    expect(() => store.insert(SHACHAIN_MAX_INDEX - 2n, producer.secretAt(SHACHAIN_MAX_INDEX - 2n))).toThrow(/expected shachain index/);
    expect(() => store.insert(SHACHAIN_MAX_INDEX, producer.secretAt(SHACHAIN_MAX_INDEX))).not.toThrow();
    expect(() => store.insert(SHACHAIN_MAX_INDEX, new Uint8Array(32))).toThrow(/differs/);
    const lower = new ShachainStore();
    lower.insert(1001n, producer.secretAt(1001n));
    expect(() => lower.insert(1002n, producer.secretAt(1002n))).toThrow(/expected shachain index 1000/);
  });

  it('fromEntries rejects entries no insert sequence can produce', () => {
    const store = new ShachainStore();
    for (let i = 0n; i < 6n; i++) store.insert(SHACHAIN_MAX_INDEX - i, producer.secretAt(SHACHAIN_MAX_INDEX - i));
    const entries = store.entries();
    // Indexes ...fa (bucket 1) and ...fb (bucket 0) remain, and ...fa derives ...fb.
    const lowest = entries[entries.length - 1]!;
    expect(lowest.index).toBe(SHACHAIN_MAX_INDEX - 5n);
    const tampered = entries.map((e) => (e === lowest ? { ...e, secret: new Uint8Array(32).fill(1) } : e));
    expect(() => ShachainStore.fromEntries(tampered)).toThrow(/does not derive/);
    const duplicated = [...entries, entries[0]!];
    expect(() => ShachainStore.fromEntries(duplicated)).toThrow(/bucket/);
    const shifted = entries.map((e, i) => (i === 0 ? { ...e, index: e.index - 2n } : e));
    expect(() => ShachainStore.fromEntries(shifted)).toThrow();
  });

  it('never shows the seed', () => {
    const text = `${String(producer)} ${JSON.stringify({ producer })} ${inspect(producer)}`;
    expect(text).not.toContain('42424242');
    expect(text).toContain('redacted');
  });
});
