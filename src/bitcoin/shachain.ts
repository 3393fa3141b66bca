/**
 * Per-commitment secrets (BOLT 3 "Per-commitment Secret Requirements" and "Efficient
 * Per-commitment Secret Storage"; vectors in Appendix D).
 *
 * Producer: secret I is derived from a 32-byte seed by walking bits 47..0 of I; for each set
 * bit B, flip bit B of the running value and hash it. Indexes are 48-bit and count *down*:
 * commitment number n uses index 2^48 - 1 - n.
 *
 * Store (the receiver's side): a secret whose index ends in k zero bits can derive every
 * secret sharing its upper 48 - k bits, so keeping the latest secret per trailing-zero count
 * (49 buckets) is enough to recover every secret received so far. Each insert re-derives the
 * lower buckets from the new secret; a mismatch means the peer's secrets do not come from
 * one seed, and the insert is refused without changing the store.
 *
 * Persistence: `entries()` is plain data (at most 49 `{ index, secret }` pairs) and
 * `ShachainStore.fromEntries` validates and restores it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ErrorCode } from '../errors.js';
import { assertBigInt, assertBytes, bytesEqual } from './bytes.js';
import { BitcoinError } from './errors.js';
import { perCommitmentPoint } from './key-derivation.js';
import { Redacted } from './redacted.js';

/** The highest 48-bit index, used for commitment number 0. */
export const SHACHAIN_MAX_INDEX = (1n << 48n) - 1n;

const BUCKETS = 49;

/** The shachain index of commitment number `commitmentNumber` (2^48 - 1 - n). */
export function commitmentIndex(commitmentNumber: bigint): bigint {
  assertBigInt('commitment number', commitmentNumber, 0n, SHACHAIN_MAX_INDEX);
  return SHACHAIN_MAX_INDEX - commitmentNumber;
}

/** BOLT 3 generate_from_seed: the secret at 48-bit `index` of the chain rooted at `seed`. */
export function shachainSecret(seed: Uint8Array, index: bigint): Uint8Array {
  assertBytes('shachain seed', seed, 32);
  assertBigInt('shachain index', index, 0n, SHACHAIN_MAX_INDEX);
  return deriveSecret(seed, 48, index);
}

/**
 * Our side of the chain: hands out the per-commitment secret and point of each commitment.
 * The seed stays inside; string and JSON forms are redacted.
 */
export class ShachainProducer extends Redacted {
  readonly #seed: Uint8Array;

  /** `seed` is copied; it must be 32 unguessable bytes, unique to the channel. */
  constructor(seed: Uint8Array) {
    super();
    assertBytes('shachain seed', seed, 32);
    this.#seed = Uint8Array.from(seed);
  }

  /** The secret at a raw 48-bit index. */
  secretAt(index: bigint): Uint8Array {
    return shachainSecret(this.#seed, index);
  }

  /** The per-commitment secret of commitment number `commitmentNumber` (0 is the first commitment). */
  perCommitmentSecret(commitmentNumber: bigint): Uint8Array {
    return this.secretAt(commitmentIndex(commitmentNumber));
  }

  /** The per-commitment point of commitment number `commitmentNumber`. */
  perCommitmentPoint(commitmentNumber: bigint): Uint8Array {
    return perCommitmentPoint(this.perCommitmentSecret(commitmentNumber));
  }

}

/** One persisted bucket of a `ShachainStore`. */
export interface ShachainEntry {
  /** The 48-bit index the secret was received for. */
  readonly index: bigint;
  /** The 32-byte secret. */
  readonly secret: Uint8Array;
}

/**
 * The receiver's compact store of the peer's per-commitment secrets. Secrets must arrive in
 * protocol order: any first index, then each one exactly one below the previous. Re-inserting
 * an index already received (or derivable from a received secret) is a no-op if the secret
 * matches, so a retransmitted revoke_and_ack is harmless, and an error otherwise.
 */
export class ShachainStore {
  readonly #buckets: (ShachainEntry | undefined)[] = new Array<ShachainEntry | undefined>(BUCKETS).fill(undefined);
  #lowest: bigint | undefined;

  /** Restores a store from `entries()` output. Throws BitcoinError(SHACHAIN_INVALID) if the entries are not a state `insert` can produce. */
  static fromEntries(entries: readonly ShachainEntry[]): ShachainStore {
    if (!Array.isArray(entries)) throw new TypeError('expected an array of shachain entries');
    if (entries.length > BUCKETS) throw invalid(`expected at most ${BUCKETS} shachain entries, got ${entries.length}`);
    const store = new ShachainStore();
    if (entries.length === 0) return store;
    for (const e of entries) {
      assertBigInt('shachain entry index', e.index, 0n, SHACHAIN_MAX_INDEX);
      assertBytes('shachain entry secret', e.secret, 32);
    }
    const lowest = entries.reduce((m, e) => (e.index < m ? e.index : m), SHACHAIN_MAX_INDEX);
    for (const e of entries) {
      const b = bucketOf(e.index);
      if (store.#buckets[b] !== undefined) throw invalid(`two shachain entries share bucket ${b}`);
      // After descending inserts down to `lowest`, bucket b holds the smallest index >= lowest
      // whose lowest set bit is b; anything else is not a state insert() can reach.
      if (e.index !== canonicalBucketIndex(lowest, b)) {
        throw invalid(`shachain entry ${e.index} cannot be in bucket ${b} when the lowest index is ${lowest}`);
      }
      store.#buckets[b] = { index: e.index, secret: Uint8Array.from(e.secret) };
    }
    for (let high = 0; high < BUCKETS; high++) {
      const h = store.#buckets[high];
      if (h === undefined) continue;
      for (let low = 0; low < high; low++) {
        const l = store.#buckets[low];
        if (l === undefined || !covers(h.index, high, l.index)) continue;
        if (!bytesEqual(deriveSecret(h.secret, high, l.index), l.secret)) {
          throw invalid(`shachain entry ${l.index} does not derive from entry ${h.index}`);
        }
      }
    }
    store.#lowest = lowest;
    return store;
  }

  /** The index the next insert must use, or undefined if empty (any index) or complete (index 0 received). */
  get nextIndex(): bigint | undefined {
    return this.#lowest === undefined || this.#lowest === 0n ? undefined : this.#lowest - 1n;
  }

  /** The lowest index received so far, or undefined if empty. */
  get lowestIndex(): bigint | undefined {
    return this.#lowest;
  }

  /**
   * Stores the secret for `index`. Throws BitcoinError(SHACHAIN_INVALID), leaving the store
   * unchanged, if the index is out of order or the secret contradicts earlier ones.
   */
  insert(index: bigint, secret: Uint8Array): void {
    assertBigInt('shachain index', index, 0n, SHACHAIN_MAX_INDEX);
    assertBytes('shachain secret', secret, 32);
    if (this.#lowest !== undefined) {
      if (index >= this.#lowest) {
        const known = this.get(index);
        if (known === undefined) throw invalid(`expected shachain index ${this.#lowest - 1n}, got ${index} (above the first index received)`);
        if (bytesEqual(known, secret)) return;
        throw invalid(`secret for already received index ${index} differs from the stored one`);
      }
      if (index !== this.#lowest - 1n) throw invalid(`expected shachain index ${this.#lowest - 1n}, got ${index}`);
    }
    const bucket = bucketOf(index);
    for (let b = 0; b < bucket; b++) {
      const known = this.#buckets[b];
      if (known === undefined) continue;
      if (!bytesEqual(deriveSecret(secret, bucket, known.index), known.secret)) {
        throw invalid(`secret for index ${index} does not derive the secret for index ${known.index}`);
      }
    }
    this.#buckets[bucket] = { index, secret: Uint8Array.from(secret) };
    this.#lowest = index;
  }

  /** The secret for a received `index`, or undefined if it has not been received. */
  get(index: bigint): Uint8Array | undefined {
    assertBigInt('shachain index', index, 0n, SHACHAIN_MAX_INDEX);
    for (let b = 0; b < BUCKETS; b++) {
      const entry = this.#buckets[b];
      if (entry !== undefined && covers(entry.index, b, index)) return deriveSecret(entry.secret, b, index);
    }
    return undefined;
  }

  /** The secret of commitment number `commitmentNumber`, or undefined if not yet revealed. */
  perCommitmentSecret(commitmentNumber: bigint): Uint8Array | undefined {
    return this.get(commitmentIndex(commitmentNumber));
  }

  /** The stored buckets as plain data (fresh copies), highest index first; at most 49. */
  entries(): ShachainEntry[] {
    return this.#buckets
      .filter((e): e is ShachainEntry => e !== undefined)
      .map((e) => ({ index: e.index, secret: Uint8Array.from(e.secret) }))
      .sort((a, b) => (a.index > b.index ? -1 : a.index < b.index ? 1 : 0));
  }
}

/** BOLT 3 derive_secret: from `base` (whose index agrees with `index` above bit `bits`), the secret at `index`. */
function deriveSecret(base: Uint8Array, bits: number, index: bigint): Uint8Array {
  let p = Uint8Array.from(base);
  for (let b = bits - 1; b >= 0; b--) {
    if ((index >> BigInt(b)) & 1n) {
      p[b >> 3]! ^= 1 << (b & 7);
      p = sha256(p);
    }
  }
  return p;
}

/** Number of trailing zero bits of a 48-bit index; 48 for index 0 (the seed's own bucket). */
function bucketOf(index: bigint): number {
  for (let b = 0; b < 48; b++) if ((index >> BigInt(b)) & 1n) return b;
  return 48;
}

/** True if the entry at `entryIndex` in bucket `bucket` can derive `index`. */
function covers(entryIndex: bigint, bucket: number, index: bigint): boolean {
  const mask = SHACHAIN_MAX_INDEX ^ ((1n << BigInt(bucket)) - 1n);
  return (index & mask) === entryIndex;
}

/** The smallest index >= `lowest` whose trailing-zero count is exactly `bucket`. */
function canonicalBucketIndex(lowest: bigint, bucket: number): bigint {
  if (bucket === 48) return 0n;
  const step = 1n << BigInt(bucket + 1);
  const offset = 1n << BigInt(bucket);
  const k = (lowest - offset + step - 1n) / step; // ceil((lowest - offset) / step), lowest - offset may be negative
  const x = (k < 0n ? 0n : k) * step + offset;
  return x;
}

function invalid(message: string): BitcoinError {
  return new BitcoinError(ErrorCode.SHACHAIN_INVALID, message);
}
