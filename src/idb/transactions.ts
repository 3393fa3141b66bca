/**
 * One IndexedDB transaction per store method.
 *
 * Design: IndexedDB commits a transaction on its own as soon as no request is pending when
 * control returns to the event loop. A transaction body here is therefore an async function
 * that may await ONLY the requests of its own transaction (IdbTx): each request is a
 * promise resolved from its success event, and promise continuations run as microtasks
 * inside that event's dispatch, while the transaction is still active. Awaiting anything
 * else (a timer, crypto.subtle, fetch) would let the transaction commit halfway, so bodies
 * call only synchronous code besides IdbTx (the domain rules of chanstate/rules.ts are
 * synchronous for exactly this reason).
 *
 * Writes are issued without awaiting them (requests run in order, and a read after a write
 * in the same transaction sees it); a failed write aborts the whole transaction. A body
 * that throws aborts it too, so nothing of it is written. The returned promise settles only
 * when the transaction completes or aborts: for readwrite transactions, which run with
 * `durability: 'strict'`, a resolved promise means the browser has flushed the commit.
 *
 * Connection lifecycle: close() is idempotent and lets transactions already started finish
 * (IndexedDB semantics); every later call fails with STORE_CLOSED. A `versionchange` from
 * another tab (a newer chand upgrading the schema, or the database being deleted) closes
 * this connection the same way instead of blocking the other tab, and so does the browser
 * closing the connection on its own (storage cleared): later calls fail with STORE_CLOSED
 * saying why, and nothing half-written is ever left, because every call is one transaction.
 */
import { ChandError, ErrorCode } from '../errors.js';
import {
  promised,
  type IdbDatabaseLike,
  type IdbErrorLike,
  type IdbKey,
  type IdbKeyRangeLike,
  type IdbKeyRangeStatic,
  type IdbQueryable,
  type IdbTransactionLike,
} from './idb-api.js';

/** A query: one key or a key range. */
export type IdbQuery = IdbKey | IdbKeyRangeLike;

/** The requests a transaction body may make. Reads resolve from their success event. */
export interface IdbTx {
  /** Key range factories of the environment (for `under` and friends in stores.ts). */
  readonly ranges: IdbKeyRangeStatic;
  /** The value under `key`, or undefined. */
  get<T>(store: string, key: IdbQuery): Promise<T | undefined>;
  /** Values in key order, at most `count`. */
  getAll<T>(store: string, query?: IdbQuery, count?: number): Promise<T[]>;
  /** Keys in order, at most `count`. */
  getAllKeys(store: string, query?: IdbQuery, count?: number): Promise<IdbKey[]>;
  /** Keys and values in key order (two requests over the same snapshot). */
  entries<T>(store: string, query?: IdbQuery): Promise<Array<readonly [IdbKey, T]>>;
  /** How many entries match. */
  count(store: string, query?: IdbQuery): Promise<number>;
  /** The greatest key matching `query`, or undefined. */
  lastKey(store: string, query: IdbQuery): Promise<IdbKey | undefined>;
  /** Values whose index key matches, in index order. */
  indexGetAll<T>(store: string, index: string, query: IdbQuery): Promise<T[]>;
  /** The primary key of the first entry whose index key matches, or undefined. */
  indexGetKey(store: string, index: string, query: IdbQuery): Promise<IdbKey | undefined>;
  /** How many entries' index keys match. */
  indexCount(store: string, index: string, query: IdbQuery): Promise<number>;
  /** Sets `key` to `value` (not awaited: a failure aborts the transaction). */
  put(store: string, key: IdbKey, value: unknown): void;
  /** Deletes the key or range (missing keys are fine; not awaited). */
  delete(store: string, query: IdbQuery): void;
}

/** Transaction modes. */
export type IdbMode = 'readonly' | 'readwrite';

class RequestTx implements IdbTx {
  constructor(
    private readonly raw: IdbTransactionLike,
    readonly ranges: IdbKeyRangeStatic,
  ) {}

  private source(store: string, index?: string): IdbQueryable {
    const os = this.raw.objectStore(store);
    return index === undefined ? os : os.index(index);
  }

  async get<T>(store: string, key: IdbQuery): Promise<T | undefined> {
    return (await promised(this.source(store).get(key))) as T | undefined;
  }
  async getAll<T>(store: string, query?: IdbQuery, count?: number): Promise<T[]> {
    return (await promised(this.source(store).getAll(query ?? null, count))) as T[];
  }
  getAllKeys(store: string, query?: IdbQuery, count?: number): Promise<IdbKey[]> {
    return promised(this.source(store).getAllKeys(query ?? null, count));
  }
  async entries<T>(store: string, query?: IdbQuery): Promise<Array<readonly [IdbKey, T]>> {
    const [keys, values] = await Promise.all([this.getAllKeys(store, query), this.getAll<T>(store, query)]);
    return keys.map((key, i) => [key, values[i]!] as const);
  }
  count(store: string, query?: IdbQuery): Promise<number> {
    return promised(query === undefined ? this.source(store).count() : this.source(store).count(query));
  }
  async lastKey(store: string, query: IdbQuery): Promise<IdbKey | undefined> {
    const cursor = await promised(this.source(store).openKeyCursor(query, 'prev'));
    return cursor === null ? undefined : cursor.key;
  }
  async indexGetAll<T>(store: string, index: string, query: IdbQuery): Promise<T[]> {
    return (await promised(this.source(store, index).getAll(query))) as T[];
  }
  async indexGetKey(store: string, index: string, query: IdbQuery): Promise<IdbKey | undefined> {
    return (await promised(this.source(store, index).getKey(query))) ?? undefined;
  }
  indexCount(store: string, index: string, query: IdbQuery): Promise<number> {
    return promised(this.source(store, index).count(query));
  }
  put(store: string, key: IdbKey, value: unknown): void {
    this.raw.objectStore(store).put(value, key);
  }
  delete(store: string, query: IdbQuery): void {
    this.raw.objectStore(store).delete(query);
  }
}

/** Thrown (as a defect) when a body outlived its transaction: it awaited something that is not an IDB request. */
const OUTLIVED = 'IndexedDB transaction committed before its body finished: the body awaited something other than one of its requests';

/** One open IndexedDB connection and the runner of its transactions. */
export class IdbConnection {
  private closedBecause: string | undefined;

  /**
   * `onClosed` runs once when the connection closes for any reason (close(), another tab's
   * versionchange, the browser): the composition root releases the tab lock there.
   */
  constructor(
    private readonly db: IdbDatabaseLike,
    private readonly ranges: IdbKeyRangeStatic,
    private readonly onClosed: () => void = () => {},
  ) {
    // Another tab wants a new version (a newer chand) or deletes the database: step aside
    // rather than block it; our later calls fail with STORE_CLOSED instead.
    db.onversionchange = (event) => {
      this.shutDown(
        event.newVersion === null
          ? 'the database was deleted by another tab'
          : `another tab is upgrading the database to schema version ${event.newVersion} (a newer chand); reload to use it`,
      );
    };
    db.onclose = () => {
      if (this.closedBecause !== undefined) return;
      this.closedBecause = 'the browser closed the database connection (storage cleared or lost)';
      this.onClosed();
    };
  }

  /** The schema version (IndexedDB version number) of the open database. */
  get version(): number {
    return this.db.version;
  }

  /** The database's name. */
  get name(): string {
    return this.db.name;
  }

  /** True once closed (by close(), another tab's versionchange, or the browser). */
  get closed(): boolean {
    return this.closedBecause !== undefined;
  }

  /**
   * Runs `body` in one transaction over `stores` and settles when that transaction has
   * completed (resolving with the body's result) or aborted (rejecting with the body's
   * error, or the storage fault that aborted it). See the module comment for what a body
   * may await.
   */
  run<T>(stores: readonly string[], mode: IdbMode, body: (tx: IdbTx) => Promise<T>): Promise<T> {
    if (this.closedBecause !== undefined) return Promise.reject(this.storeClosed());
    let raw: IdbTransactionLike;
    try {
      raw = this.db.transaction(stores, mode, mode === 'readwrite' ? { durability: 'strict' } : { durability: 'default' });
    } catch (err) {
      return Promise.reject(this.fault(err));
    }
    return new Promise<T>((resolve, reject) => {
      let outcome: { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown } | undefined;
      raw.oncomplete = () => {
        if (outcome === undefined) reject(new Error(OUTLIVED));
        else if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
      };
      raw.onabort = () => reject(outcome !== undefined && !outcome.ok ? outcome.error : this.fault(raw.error));
      body(new RequestTx(raw, this.ranges)).then(
        (value) => {
          outcome = { ok: true, value };
          // Commit now rather than when the event loop notices no request is pending.
          try {
            raw.commit?.();
          } catch {
            // Already committing (fire-and-forget writes still pending are kept): oncomplete reports it.
          }
        },
        (error: unknown) => {
          outcome = { ok: false, error };
          try {
            raw.abort();
          } catch {
            // The transaction already ended: aborted by the failed request itself (onabort
            // rejects with `error`), or committed early by a defective body (oncomplete
            // already rejected with OUTLIVED).
          }
        },
      );
    });
  }

  /** Closes the connection. Idempotent; transactions already started still finish. */
  close(): void {
    this.shutDown('the store was closed');
  }

  private shutDown(reason: string): void {
    if (this.closedBecause !== undefined) return;
    this.closedBecause = reason;
    this.db.close();
    this.onClosed();
  }

  private storeClosed(cause?: unknown): ChandError {
    return new ChandError(ErrorCode.STORE_CLOSED, `IndexedDB database ${this.db.name}: ${this.closedBecause ?? 'closed'}`, cause === undefined ? undefined : { cause });
  }

  /** Maps what IndexedDB reports to the contracts' errors; unexpected ones pass through. */
  private fault(err: unknown): unknown {
    const name = (err as IdbErrorLike | null)?.name;
    if (this.closedBecause !== undefined && (name === 'InvalidStateError' || name === 'AbortError')) return this.storeClosed(err);
    return idbFault(err, `IndexedDB database ${this.db.name}`);
  }
}

/**
 * Maps an IndexedDB failure to a ChandError: QuotaExceededError → DISK_FULL, UnknownError
 * (the browser's I/O failures) → DB_UNAVAILABLE, a VersionError → DB_REVERSION. Anything
 * else is returned unchanged (a defect, not a condition to handle).
 */
export function idbFault(err: unknown, where: string): unknown {
  const e = err as IdbErrorLike | null;
  switch (e?.name) {
    case 'QuotaExceededError':
      return new ChandError(ErrorCode.DISK_FULL, `${where}: the browser's storage quota is exhausted; nothing was committed`, { cause: err });
    case 'UnknownError':
      return new ChandError(ErrorCode.DB_UNAVAILABLE, `${where}: the browser failed to read or write IndexedDB (${e.message}); nothing was committed`, { cause: err });
    case 'VersionError':
      return new ChandError(ErrorCode.DB_REVERSION, `${where} was written by a newer chand; refusing to open it — upgrade chand`, { cause: err });
    default:
      return err;
  }
}
