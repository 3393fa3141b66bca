/**
 * A durable KvEngine on LMDB (the `lmdb` package).
 *
 * Values are our own serialized bytes (`encoding: 'binary'`), so the on-disk format never
 * depends on lmdb-js's msgpack encoding. Write transactions use lmdb-js's asynchronous
 * `transaction`, whose promise resolves only after the commit is flushed to disk; concurrent
 * transactions issued in one event turn are batched into one LMDB commit (one fdatasync),
 * each closure still atomic on its own. A closure that throws aborts its own child
 * transaction only, so a failed transaction never takes batched neighbours down with it.
 *
 * Faults: a commit that fails (lmdb-js rejects with "Commit failed" and the OS error in
 * `commitError`) becomes DISK_FULL for ENOSPC / MDB_MAP_FULL, DB_CORRUPT for a damaged
 * environment (MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, ...), DB_UNAVAILABLE for other
 * I/O errors, cause kept; the same mapping applies to reads. Nothing of a failed commit is
 * applied, and reads keep working. lmdb-js maps the file afresh as the data grows, so a
 * full disk, not the map size, is what a node meets.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
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
  /**
   * Open an existing environment read-only (a migration's source): nothing is ever written
   * to its data file, and `update` fails with a TypeError. Defaults to false.
   */
  readonly readOnly?: boolean;
}

type Db = RootDatabase<Buffer, Buffer>;

/** LMDB return codes (and their names in lmdb-js messages) meaning the environment is damaged. */
const CORRUPT_LMDB = /MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_INVALID|MDB_BAD_TXN|MDB_BAD_VALSIZE|MDB_VERSION_MISMATCH|-30796|-30797|-30793/;
/** errno 28 (ENOSPC) or MDB_MAP_FULL (-30792). */
const FULL_LMDB = /MDB_MAP_FULL|ENOSPC|no space left|-30792/i;

/** True for errors LMDB (or the OS under it) raised, as opposed to errors of a closure. */
function isEngineError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return 'commitError' in err || CORRUPT_LMDB.test(err.message) || FULL_LMDB.test(err.message) || /MDB_|EIO\b|I\/O error/.test(err.message);
}

/**
 * The typed error for a failed LMDB operation (see the module comment); `err` itself when
 * it is not a storage fault. Awaits lmdb-js's `commitError` to learn the OS error.
 */
async function typedLmdbError(err: unknown, where: string): Promise<unknown> {
  if (err instanceof ChandError || !(err instanceof Error)) return err;
  let detail: unknown = err;
  const commitError = (err as { commitError?: unknown }).commitError;
  if (commitError instanceof Promise) {
    try {
      await commitError;
    } catch (osError) {
      detail = osError;
    }
  }
  const message = detail instanceof Error ? detail.message : String(detail);
  const errno = (detail as { code?: unknown } | null)?.code;
  const cause = detail === err ? err : Object.assign(detail as object, { commitFailure: err });
  if (errno === 28 || errno === 'ENOSPC' || FULL_LMDB.test(message) || ((errno === 5 || /I\/O error|Input\/output error/i.test(message)) && nearlyFull(where))) {
    return new ChandError(ErrorCode.DISK_FULL, `the LMDB environment at ${where} is out of space; nothing of the transaction was written: ${message}`, { cause });
  }
  if (CORRUPT_LMDB.test(message)) return new ChandError(ErrorCode.DB_CORRUPT, `the LMDB environment at ${where} is damaged: ${message}`, { cause });
  if (isEngineError(err)) return new ChandError(ErrorCode.DB_UNAVAILABLE, `the LMDB environment at ${where} failed: ${message}`, { cause });
  return err;
}

/**
 * True if the filesystem holding `path` has (almost) no space left: lmdb-js reports some
 * writes that ran out of space (a page write through the map) as EIO, not ENOSPC.
 */
function nearlyFull(path: string): boolean {
  try {
    const stats = statfsSync(dirname(path));
    return stats.bavail * stats.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/** The synchronous part of typedLmdbError, for reads and puts (they never carry a commitError). */
function typedReadError(err: unknown, where: string): unknown {
  if (err instanceof ChandError || !(err instanceof Error) || !isEngineError(err)) return err;
  const code = CORRUPT_LMDB.test(err.message) ? ErrorCode.DB_CORRUPT : ErrorCode.DB_UNAVAILABLE;
  return new ChandError(code, `the LMDB environment at ${where} failed: ${err.message}`, { cause: err });
}

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
      ...(options.readOnly === true ? { readOnly: true } : {}),
    });
  } catch (err) {
    throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `cannot open LMDB environment at ${options.path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let closed = false;
  // After a failed commit lmdb-js keeps a batch promise that only the next commit settles,
  // and its close waits for it: close() then commits an empty transaction first.
  let commitFailed = false;
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
            let value: Buffer | undefined;
            try {
              value = db.get(asBuffer(key), { transaction } as never);
            } catch (err) {
              throw typedReadError(err, options.path);
            }
            // lmdb-js hands out a buffer of its own (getBinary copies): a view, not a second copy.
            return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
          },
          range: (range) => rangeOf(db, range, transaction),
        };
        return fn(tx);
      } catch (err) {
        throw typedReadError(err, options.path);
      } finally {
        transaction.done();
      }
    },
    async update(fn) {
      assertOpen();
      if (options.readOnly === true) throw new TypeError(`expected a writable LMDB engine, got the read-only one at ${options.path}`);
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
      }).catch(async (err: unknown) => {
        if (failure !== undefined) return;
        commitFailed = true;
        throw await typedLmdbError(err, options.path);
      });
      // lmdb-js starts the next event-turn batch from a setImmediate with a commit promise of
      // its own that nobody observes; when that commit fails (disk full) the rejection would
      // be unhandled and end the process. Observing it here (after lmdb's immediate, which
      // was queued first) keeps the failure to the callers' own promises.
      setImmediate(() => void db.committed.then(undefined, () => {}));
      inflight.add(committing);
      try {
        await committing;
      } finally {
        inflight.delete(committing);
      }
      // A put the engine refused (rather than the closure's own error) is a storage fault.
      if (failure !== undefined) throw typedReadError(failure.error, options.path);
      return result as never;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inflight]);
      if (commitFailed) await db.transaction(() => {}).catch(() => {});
      await db.close();
    },
  };
}
