/**
 * An in-memory KvEngine for tests and ephemeral nodes.
 *
 * Keys are held as latin1 strings (one char per byte), whose ordering under JS string
 * comparison equals memcmp order on the bytes, in a sorted array beside a Map. A write
 * transaction applies its writes directly and keeps an undo log: if the closure throws,
 * the undo log restores the previous state, so a failed transaction leaves nothing behind.
 * Closures are synchronous, so no other transaction can observe the intermediate state.
 */
import { ChandError, ErrorCode } from '../errors.js';
import type { KvEngine, KvRange, KvReadTx, KvWriteTx } from './engine.js';

const toKey = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
const fromKey = (key: string): Uint8Array => new Uint8Array(Buffer.from(key, 'latin1'));

/** Index of the first element of sorted `keys` that is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class MemoryState {
  readonly values = new Map<string, Uint8Array>();
  readonly keys: string[] = [];

  get(key: Uint8Array): Uint8Array | undefined {
    return this.values.get(toKey(key));
  }

  range(range: KvRange): Array<readonly [Uint8Array, Uint8Array]> {
    const from = range.start === undefined ? 0 : lowerBound(this.keys, toKey(range.start));
    const to = range.end === undefined ? this.keys.length : lowerBound(this.keys, toKey(range.end));
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    const out: Array<readonly [Uint8Array, Uint8Array]> = [];
    if (range.reverse === true) {
      for (let i = to - 1; i >= from && out.length < limit; i--) out.push(this.entry(i));
    } else {
      for (let i = from; i < to && out.length < limit; i++) out.push(this.entry(i));
    }
    return out;
  }

  private entry(i: number): readonly [Uint8Array, Uint8Array] {
    const key = this.keys[i]!;
    return [fromKey(key), this.values.get(key)!];
  }

  /** Sets or deletes `key`, returning the previous value (for the undo log). */
  set(key: string, value: Uint8Array | undefined): Uint8Array | undefined {
    const previous = this.values.get(key);
    if (value === undefined) {
      if (previous !== undefined) {
        this.values.delete(key);
        this.keys.splice(lowerBound(this.keys, key), 1);
      }
    } else {
      if (previous === undefined) this.keys.splice(lowerBound(this.keys, key), 0, key);
      this.values.set(key, value);
    }
    return previous;
  }
}

/** Creates an empty in-memory engine. Not durable: everything is gone when the process exits. */
export function createMemoryEngine(): KvEngine {
  const state = new MemoryState();
  let closed = false;
  const assertOpen = (): void => {
    if (closed) throw new ChandError(ErrorCode.STORE_CLOSED, 'the memory engine is closed');
  };
  const readTx: KvReadTx = {
    get: (key) => state.get(key),
    range: (range) => state.range(range),
  };

  return {
    capabilities: { durable: false, persistent: false },
    async read(fn) {
      assertOpen();
      return fn(readTx);
    },
    async update(fn) {
      assertOpen();
      const undo: Array<[string, Uint8Array | undefined]> = [];
      const tx: KvWriteTx = {
        get: (key) => state.get(key),
        range: (range) => state.range(range),
        put(key, value) {
          // Copy: the caller may reuse its buffer after the transaction.
          const k = toKey(key);
          undo.push([k, state.set(k, value.slice())]);
        },
        delete(key) {
          const k = toKey(key);
          undo.push([k, state.set(k, undefined)]);
        },
      };
      try {
        return fn(tx);
      } catch (err) {
        for (let i = undo.length - 1; i >= 0; i--) {
          const [k, previous] = undo[i]!;
          state.set(k, previous);
        }
        throw err;
      }
    },
    async close() {
      closed = true;
    },
  };
}
