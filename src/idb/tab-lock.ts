/**
 * The single-tab lock of an IndexedDB channel database, on the Web Locks API.
 *
 * Two tabs running a node over the same channels would each sign from their own view of
 * the state, which loses funds just like two processes sharing a data directory. So, as
 * the file backends do with chand.lock, the first tab holds an exclusive Web Lock named
 * after the database for as long as its database is open, and a second tab that opens it
 * fails at once with DB_LOCKED (it does not wait: a tab that waits silently looks hung).
 * The browser releases the lock when the holder closes the database, reloads, navigates
 * away or crashes, so a reloaded page can always take it again.
 *
 * Each store method stays one IndexedDB transaction regardless: even without the lock, two
 * connections could never interleave inside one method.
 */
import { ChandError, ErrorCode } from '../errors.js';

/** The part of the Web Locks LockManager (navigator.locks) the lock uses. */
export interface LockManagerLike {
  request(name: string, options: { mode?: 'exclusive' | 'shared'; ifAvailable?: boolean }, callback: (lock: unknown) => unknown): Promise<unknown>;
}

/** A held tab lock. */
export interface TabLock {
  /** Releases the lock. Idempotent. */
  release(): void;
  /** Settles once the browser has released the lock (after release()). */
  readonly released: Promise<void>;
}

/** The environment's Web Locks manager (navigator.locks), or undefined. */
export function environmentLocks(): LockManagerLike | undefined {
  return (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
}

/** The lock name of IndexedDB database `name`. */
export function tabLockName(name: string): string {
  return `chand-channel-db:${name}`;
}

/** Takes the exclusive lock of database `name` without waiting; DB_LOCKED if another tab (or connection) holds it. */
export async function acquireTabLock(locks: LockManagerLike, name: string): Promise<TabLock> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let settled!: Promise<unknown>;
  const granted = await new Promise<boolean>((resolve, reject) => {
    settled = locks.request(tabLockName(name), { mode: 'exclusive', ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      // Returning the pending promise keeps the lock until release().
      return lock === null ? undefined : held;
    });
    settled.catch(reject);
  });
  if (!granted) {
    throw new ChandError(ErrorCode.DB_LOCKED, `IndexedDB database ${name} is open in another tab (or window) of this browser; close it there first`);
  }
  return { release, released: settled.then(() => undefined) };
}
