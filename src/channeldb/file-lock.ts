/**
 * A single-writer lock for a data directory. Two writers on one channel database would sign
 * conflicting states, so this lock must never be held by two live processes at once, and a
 * crashed owner must never lock the user out.
 *
 * Overview
 *   `<dir>/chand.lock` exists while a process holds the directory. Its content is one line,
 *   written in full before the file gets its name:
 *
 *     chand-lock 1 <pid> <start> <boot> <nonce>\n
 *
 *   `start` is the owner's start time (field 22 of /proc/<pid>/stat) and `boot` the kernel's
 *   boot id, so a PID reused by another process (after a reboot, or a container restart
 *   where chand is PID 1 again) is not mistaken for the owner; both are `-` where /proc is
 *   missing. `nonce` is random and names this one lock instance.
 *
 * Taking the lock
 *   The record is written to a unique temp file (`chand.lock.tmp-<pid>-<nonce>`), fsynced,
 *   then `link()`ed to `chand.lock`. link() fails with EEXIST if the name is taken and never
 *   exposes a half-written file, so a reader always sees a complete record or none (the old
 *   open(O_EXCL)-then-write scheme had a window where the file was empty and looked stale).
 *   A record that does not parse (a legacy chand in mid-write, or a damaged file) is treated
 *   as held and never stolen; the user removes it by hand.
 *
 * Taking over a stale lock (its owner is dead)
 *   Only the holder of the *right to replace* a given lock instance (nonce n) may change the
 *   file holding n; it replaces it with `rename(temp, chand.lock)`, atomically, after
 *   re-reading that `chand.lock` still holds n. The right is the claim file
 *   `chand.lock.claim-<n>.<g>` with the highest generation g, each created with link() (so
 *   exactly one process creates each name). Generation g+1 may only be created by a process
 *   that has seen generation g's holder dead (it crashed mid-takeover), so at most one live
 *   process holds the right to n at any time.
 *
 * Why it is race-free
 *   The file holding n changes only if (a) its owner releases it (the owner is dead, so no),
 *   (b) a creator link()s a new lock (the name is taken, so no), or (c) the right holder of n
 *   replaces it; right holders of other nonces re-read and see the file does not hold their
 *   nonce. Hence between the holder's re-read and its rename nothing else changes the file,
 *   and no process can remove a lock that was fresh when it looked: nonces never repeat, so a
 *   takeover decided on an old read fails its re-read. Claim files are deleted by the new
 *   owner once it holds the lock: every claim then names a nonce that is no longer in
 *   `chand.lock`, so deleting one can at worst let a late claimant win a right that its
 *   re-read then finds useless.
 *
 * Assumptions: one kernel's PID space (two containers sharing the directory with separate
 * PID namespaces would see each other as dead); a file system with hard links and atomic
 * rename (local disks: ext4, xfs, btrfs, APFS, tmpfs).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ChandError, ErrorCode } from '../errors.js';

/** Name of the lock file inside a data directory. */
export const LOCK_FILE = 'chand.lock';

/** A held lock; `release` is idempotent and removes the lock file only if it is still ours. */
export interface FileLock {
  readonly path: string;
  release(): void;
}

/** Who wrote a lock or claim record. `start`/`boot` are undefined where /proc is missing. */
interface LockOwner {
  readonly pid: number;
  readonly start: string | undefined;
  readonly boot: string | undefined;
  /** Identity of this lock instance (random; for a legacy PID-only file: pid and inode). */
  readonly nonce: string;
}

/** What a lock or claim path holds right now. */
type Seen = { readonly kind: 'missing' } | { readonly kind: 'unparsable'; readonly text: string } | { readonly kind: 'owner'; readonly owner: LockOwner };

const RECORD_TAG = 'chand-lock';
const RECORD_VERSION = '1';
const TMP_PREFIX = `${LOCK_FILE}.tmp-`;
const CLAIM_PREFIX = `${LOCK_FILE}.claim-`;
/** Rounds of look → take over before giving up with DB_LOCKED (a round only repeats on contention). */
const MAX_ROUNDS = 20;
/** Claim generations tried for one stale lock; each one beyond the first needs a crashed claimant. */
const MAX_GENERATIONS = 8;
/** Pause between rounds while another process is mid-takeover (a takeover takes microseconds). */
const CONTENTION_PAUSE_MS = 5;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The kernel's boot id, or undefined off Linux. */
function bootId(): string | undefined {
  return readOrUndefined('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

/** State and start time of a process from /proc/<pid>/stat, or undefined if unreadable. */
function procStat(pid: number): { state: string; start: string } | undefined {
  const text = readOrUndefined(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19]; // field 22, counted from field 3
  return state === undefined || start === undefined ? undefined : { state, start };
}

function selfOwner(): LockOwner {
  return { pid: process.pid, start: procStat(process.pid)?.start, boot: bootId(), nonce: randomBytes(16).toString('hex') };
}

function formatRecord(owner: LockOwner): string {
  return `${RECORD_TAG} ${RECORD_VERSION} ${owner.pid} ${owner.start ?? '-'} ${owner.boot ?? '-'} ${owner.nonce}\n`;
}

/** Parses a record; a legacy chand's `<pid>\n` is accepted (its nonce is made from pid and inode). */
function parseRecord(text: string, ino: number): LockOwner | undefined {
  // A record without its final newline was not written in full.
  if (!text.endsWith('\n')) return undefined;
  const line = text.slice(0, -1);
  if (/^[1-9][0-9]{0,9}$/.test(line)) return { pid: Number(line), start: undefined, boot: undefined, nonce: `legacy-${line}-${ino}` };
  const parts = line.split(' ');
  if (parts.length !== 6 || parts[0] !== RECORD_TAG || parts[1] !== RECORD_VERSION) return undefined;
  const [, , pid, start, boot, nonce] = parts as [string, string, string, string, string, string];
  if (!/^[1-9][0-9]{0,9}$/.test(pid) || !/^[0-9a-f]{32}$/.test(nonce) || start === '' || boot === '') return undefined;
  return { pid: Number(pid), start: start === '-' ? undefined : start, boot: boot === '-' ? undefined : boot, nonce };
}

function look(path: string): Seen {
  let text: string;
  let ino: number;
  try {
    // Stat and read may see two different files if it is replaced in between; only legacy
    // records use the inode, and a mismatch then just fails the takeover's re-read.
    ino = statSync(path).ino;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  const owner = parseRecord(text, ino);
  return owner === undefined ? { kind: 'unparsable', text } : { kind: 'owner', owner };
}

/**
 * Whether `owner` is this process, another live process, or gone. A process that exists but
 * is a zombie, or whose start time or boot differs from the record (PID reuse), is gone.
 */
function judge(owner: LockOwner, self: LockOwner): 'self' | 'live' | 'dead' {
  if (owner.boot !== undefined && self.boot !== undefined && owner.boot !== self.boot) return 'dead';
  if (owner.pid === self.pid) {
    return owner.start === undefined || self.start === undefined || owner.start === self.start ? 'self' : 'dead';
  }
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    if (errno(err) !== 'EPERM') return 'dead';
  }
  const stat = procStat(owner.pid);
  // Unreadable /proc (not Linux, or hidepid): kill() said it exists, so it is live.
  if (stat === undefined) return 'live';
  if (stat.state === 'Z' || stat.state === 'X') return 'dead';
  return owner.start === undefined || owner.start === stat.start ? 'live' : 'dead';
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function writeTemp(path: string, record: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, record);
    // Durable before it gets its name: after a power loss the lock is whole or absent.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Tries to win the right to replace the stale lock instance `nonce`: creates the first free
 * claim generation whose predecessors' holders are all dead. Returns the claim path, or
 * undefined if a live process holds the right (or the generations ran out).
 */
function claimRight(dir: string, nonce: string, temp: string, self: LockOwner): string | undefined {
  for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
    const claim = join(dir, `${CLAIM_PREFIX}${nonce}.${generation}`);
    if (tryLink(temp, claim)) return claim;
    const seen = look(claim);
    // Deleted by a new owner's cleanup: the lock changed, so the caller's re-look decides.
    if (seen.kind === 'missing') return undefined;
    if (seen.kind === 'unparsable' || judge(seen.owner, self) !== 'dead') return undefined;
    // Its holder crashed mid-takeover: the next generation is up for grabs.
  }
  return undefined;
}

/** Removes claim files and temp files of dead processes; run by the owner just after taking the lock. */
function cleanUp(dir: string, self: LockOwner): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(CLAIM_PREFIX)) {
      unlinkIfPresent(join(dir, name));
    } else if (name.startsWith(TMP_PREFIX)) {
      const pid = Number.parseInt(name.slice(TMP_PREFIX.length), 10);
      // A live process's temp file is about to be linked: leave it.
      if (Number.isInteger(pid) && pid !== self.pid && judge({ pid, start: undefined, boot: undefined, nonce: '' }, self) === 'dead') {
        unlinkIfPresent(join(dir, name));
      }
    }
  }
}

function held(path: string, self: LockOwner): FileLock {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      const seen = look(path);
      // Not ours any more (removed by hand, or taken over after a misjudged death): leave it.
      if (seen.kind === 'owner' && seen.owner.nonce === self.nonce) unlinkIfPresent(path);
    },
  };
}

/**
 * Takes the single-writer lock of `dir` (which must exist); `what` names the database in
 * messages. Fails with DB_LOCKED if another live process holds it, if this process already
 * holds it, if its lock file is unparsable (never stolen: remove it by hand once no chand
 * runs), or if other processes keep contending for it. A lock whose owner is dead is taken
 * over; of any number of processes racing for it, exactly one wins. Synchronous; may pause
 * a few milliseconds while another process is mid-takeover.
 */
export function acquireDirLock(dir: string, what: string): FileLock {
  if (typeof dir !== 'string' || dir === '') throw new TypeError(`expected a directory path, got ${JSON.stringify(dir)}`);
  const path = join(dir, LOCK_FILE);
  const self = selfOwner();
  const temp = join(dir, `${TMP_PREFIX}${self.pid}-${self.nonce}`);
  writeTemp(temp, formatRecord(self));
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (round > 0) pause(CONTENTION_PAUSE_MS);
      if (tryLink(temp, path)) {
        cleanUp(dir, self);
        return held(path, self);
      }
      const seen = look(path);
      if (seen.kind === 'missing') continue; // released between our link and our look
      if (seen.kind === 'unparsable') {
        throw new ChandError(
          ErrorCode.DB_LOCKED,
          `${what} at ${dir} has an incomplete or unreadable lock file ${path}; if no chand process uses it, remove that file`,
        );
      }
      const verdict = judge(seen.owner, self);
      if (verdict === 'self') throw new ChandError(ErrorCode.DB_LOCKED, `${what} at ${dir} is already open in this process`);
      if (verdict === 'live') throw new ChandError(ErrorCode.DB_LOCKED, `${what} at ${dir} is in use by process ${seen.owner.pid}`);
      const stale = seen.owner.nonce;
      const claim = claimRight(dir, stale, temp, self);
      if (claim === undefined) continue; // another process is taking it over; look again
      const now = look(path);
      if (now.kind === 'owner' && now.owner.nonce === stale) {
        // We hold the only right to replace `stale`, and nothing else can change it (see the
        // module comment): the atomic rename swaps our complete record in.
        renameSync(temp, path);
        cleanUp(dir, self);
        return held(path, self);
      }
      // The lock changed since we looked: our claim is moot. Start over.
      unlinkIfPresent(claim);
    }
  } finally {
    unlinkIfPresent(temp);
  }
  throw new ChandError(ErrorCode.DB_LOCKED, `${what} at ${dir} is being opened by another process`);
}
