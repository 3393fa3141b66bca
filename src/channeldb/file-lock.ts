/**
 * A single-writer lock for a data directory.
 *
 * The lock is a file created with O_EXCL holding the owner's PID. A lock whose PID is no
 * longer alive (the owner was killed) is stale and taken over, so a crash never locks the
 * user out. Two live processes can never both hold it: the loser gets DB_LOCKED.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ChandError, ErrorCode } from '../errors.js';

/** Name of the lock file inside a data directory. */
export const LOCK_FILE = 'chand.lock';

/** A held lock; `release` is idempotent. */
export interface FileLock {
  readonly path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dir` (which must exist). DB_LOCKED if another live process holds it. */
export function acquireDirLock(dir: string, what: string): FileLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      try {
        owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {
        // Removed between our open and read: retry.
      }
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw new ChandError(ErrorCode.DB_LOCKED, `${what} at ${dir} is in use by process ${owner}`);
      }
      if (owner === process.pid) {
        throw new ChandError(ErrorCode.DB_LOCKED, `${what} at ${dir} is already open in this process`);
      }
      try {
        unlinkSync(path); // stale: its owner is gone
      } catch {
        // Someone else removed it first; the retry decides.
      }
    }
  }
  throw new ChandError(ErrorCode.DB_LOCKED, `${what} at ${dir} is being opened by another process`);
}
