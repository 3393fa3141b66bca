/**
 * The slice of the IndexedDB API this backend uses, typed structurally.
 *
 * chand compiles without the DOM lib (it is a Node project first), so the backend names
 * the few members it calls here instead. A browser's `indexedDB`/`IDBKeyRange` and
 * fake-indexeddb's exports both satisfy these shapes; they are passed in (IdbGlobals), never
 * read from globals inside the backend.
 */

/** A valid IndexedDB key as this backend builds them: strings, numbers and arrays of keys. */
export type IdbKey = string | number | IdbKey[];

/** An IDBKeyRange instance (opaque to the backend). */
export interface IdbKeyRangeLike {
  readonly lower: unknown;
  readonly upper: unknown;
}

/** The IDBKeyRange constructor's static factories. */
export interface IdbKeyRangeStatic {
  only(value: IdbKey): IdbKeyRangeLike;
  bound(lower: IdbKey, upper: IdbKey, lowerOpen?: boolean, upperOpen?: boolean): IdbKeyRangeLike;
}

/** What a request or transaction reports as its error (a DOMException in browsers). */
export interface IdbErrorLike {
  readonly name: string;
  readonly message: string;
}

/** An IDBRequest. */
export interface IdbRequestLike<T> {
  readonly result: T;
  readonly error: IdbErrorLike | null;
  onsuccess: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** An IDBOpenDBRequest. */
export interface IdbOpenRequestLike extends IdbRequestLike<IdbDatabaseLike> {
  readonly transaction: IdbTransactionLike | null;
  onupgradeneeded: ((event: { readonly oldVersion: number; readonly newVersion: number | null }) => void) | null;
  onblocked: ((event: unknown) => void) | null;
}

/** An IDBCursor (key cursors only). */
export interface IdbCursorLike {
  readonly key: IdbKey;
  readonly primaryKey: IdbKey;
}

/** What object stores and indexes can both answer. */
export interface IdbQueryable {
  get(query: IdbKey | IdbKeyRangeLike): IdbRequestLike<unknown>;
  getKey(query: IdbKey | IdbKeyRangeLike): IdbRequestLike<IdbKey | undefined>;
  getAll(query?: IdbKey | IdbKeyRangeLike | null, count?: number): IdbRequestLike<unknown[]>;
  getAllKeys(query?: IdbKey | IdbKeyRangeLike | null, count?: number): IdbRequestLike<IdbKey[]>;
  count(query?: IdbKey | IdbKeyRangeLike): IdbRequestLike<number>;
  openKeyCursor(query?: IdbKey | IdbKeyRangeLike | null, direction?: 'next' | 'prev'): IdbRequestLike<IdbCursorLike | null>;
}

/** An IDBIndex. */
export type IdbIndexLike = IdbQueryable;

/** An IDBObjectStore. */
export interface IdbObjectStoreLike extends IdbQueryable {
  put(value: unknown, key?: IdbKey): IdbRequestLike<IdbKey>;
  delete(query: IdbKey | IdbKeyRangeLike): IdbRequestLike<undefined>;
  index(name: string): IdbIndexLike;
  createIndex(name: string, keyPath: string | string[], options?: { unique?: boolean }): IdbIndexLike;
}

/** An IDBTransaction. */
export interface IdbTransactionLike {
  readonly error: IdbErrorLike | null;
  objectStore(name: string): IdbObjectStoreLike;
  abort(): void;
  /** Absent in old browsers; the transaction then commits when no request is pending. */
  commit?(): void;
  oncomplete: ((event: unknown) => void) | null;
  onabort: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** An IDBDatabase connection. */
export interface IdbDatabaseLike {
  readonly name: string;
  readonly version: number;
  readonly objectStoreNames: { contains(name: string): boolean; readonly length: number };
  transaction(names: string | readonly string[], mode: 'readonly' | 'readwrite', options?: { durability?: 'default' | 'strict' | 'relaxed' }): IdbTransactionLike;
  createObjectStore(name: string, options?: { keyPath?: string | null; autoIncrement?: boolean }): IdbObjectStoreLike;
  close(): void;
  onversionchange: ((event: { readonly oldVersion: number; readonly newVersion: number | null }) => void) | null;
  onclose: ((event: unknown) => void) | null;
}

/** An IDBFactory (`indexedDB`). */
export interface IdbFactoryLike {
  open(name: string, version?: number): IdbOpenRequestLike;
  deleteDatabase(name: string): IdbOpenRequestLike;
}

/** The two globals the backend needs, passed in: a browser's, or fake-indexeddb's in Node. */
export interface IdbGlobals {
  readonly indexedDB: IdbFactoryLike;
  readonly IDBKeyRange: IdbKeyRangeStatic;
}

/** The IndexedDB globals of the running environment, or undefined when there are none. */
export function environmentIdb(): IdbGlobals | undefined {
  const g = globalThis as { indexedDB?: IdbFactoryLike; IDBKeyRange?: IdbKeyRangeStatic };
  return g.indexedDB === undefined || g.IDBKeyRange === undefined ? undefined : { indexedDB: g.indexedDB, IDBKeyRange: g.IDBKeyRange };
}

/** Resolves with the request's result on its success event, rejects with its error. */
export function promised<T>(request: IdbRequestLike<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
