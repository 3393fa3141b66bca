/**
 * A durable KvEngine on LMDB (the `lmdb` package).
 *
 * Values are our own serialized bytes (`encoding: 'binary'`), so the on-disk format never
 * depends on lmdb-js's msgpack encoding. Write transactions use lmdb-js's asynchronous
 * `transaction`, whose promise resolves only after the commit is flushed to disk; concurrent
 * transactions issued in one event turn are batched into one LMDB commit (one fdatasync),
 * each closure still atomic on its own. A closure that throws aborts its own child
 * transaction only, so a failed transaction never takes batched neighbours down with it.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { ChandError, ErrorCode } from '../errors.js';
import type { KvEngine, KvRange, KvReadTx, KvWriteTx } from './engine.js';

/** Options of `openLmdbEngine`. */
export interface LmdbEngineOptions {
  /** Directory of the LMDB environment; created if missing. */
  readonly path: string;
  /**
   * Skip fsync on commit. Only for throwaway test data: a crash may lose or corrupt it.
   * Defaults to false (durable).
   */
  readonly noSync?: boolean;
}

type Db = RootDatabase<Buffer, Buffer>;

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function rangeOf(db: Database<Buffer, Buffer>, range: KvRange, transaction?: unknown): Iterable<readonly [Uint8Array, Uint8Array]> {
  // lmdb-js iterates a reverse range from `start` downwards, so the bounds swap.
  const options: Record<string, unknown> =
    range.reverse === true
      ? { reverse: true, start: range.end, end: range.start, exclusiveStart: true, inclusiveEnd: true }
      : { start: range.start, end: range.end };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  if (range.limit !== undefined) options['limit'] = range.limit;
  if (transaction !== undefined) options['transaction'] = transaction;
  const entries = db.getRange(options as never);
  return {
    *[Symbol.iterator]() {
      for (const { key, value } of entries) yield [new Uint8Array(key), new Uint8Array(value)] as const;
    },
  };
}

/** Opens (creating if needed) an LMDB environment at `options.path` as a KvEngine. */
export async function openLmdbEngine(options: LmdbEngineOptions): Promise<KvEngine> {
  let db: Db;
  try {
    db = open<Buffer, Buffer>({
      path: options.path,
      keyEncoding: 'binary',
      encoding: 'binary',
      compression: false,
      noSync: options.noSync ?? false,
    });
  } catch (err) {
    throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `cannot open LMDB environment at ${options.path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let closed = false;
  // Write transactions issued but not yet committed: close() lets them finish first, so a
  // write in flight at close either commits or was never started (STORE_CLOSED).
  const inflight = new Set<Promise<unknown>>();
  const assertOpen = (): void => {
    if (closed) throw new ChandError(ErrorCode.STORE_CLOSED, `the LMDB engine at ${options.path} is closed`);
  };

  return {
    capabilities: { durable: options.noSync !== true, persistent: true },
    async read(fn) {
      assertOpen();
      const transaction = db.useReadTransaction();
      try {
        const tx: KvReadTx = {
          get: (key) => {
            const value = db.get(asBuffer(key), { transaction } as never);
            return value === undefined ? undefined : new Uint8Array(value);
          },
          range: (range) => rangeOf(db, range, transaction),
        };
        return fn(tx);
      } finally {
        transaction.done();
      }
    },
    async update(fn) {
      assertOpen();
      let result: unknown;
      let failure: { error: unknown } | undefined;
      const committing = db.childTransaction(() => {
        const tx: KvWriteTx = {
          get: (key) => {
            const value = db.get(asBuffer(key));
            return value === undefined ? undefined : new Uint8Array(value);
          },
          range: (range) => rangeOf(db, range),
          put: (key, value) => {
            db.putSync(asBuffer(key), asBuffer(value));
          },
          delete: (key) => {
            db.removeSync(asBuffer(key));
          },
        };
        try {
          result = fn(tx);
        } catch (error) {
          failure = { error };
          throw error;
        }
      }).catch((err: unknown) => {
        if (failure === undefined) throw err;
      });
      inflight.add(committing);
      try {
        await committing;
      } finally {
        inflight.delete(committing);
      }
      if (failure !== undefined) throw failure.error;
      return result as never;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inflight]);
      await db.close();
    },
  };
}
