// The single-writer directory lock against real processes: many racers for one stale lock
// (exactly one wins, round after round), partly written locks and live locks are never
// stolen, PID reuse is not mistaken for the owner, crashed claimants do not block takeover.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDirLock, LOCK_FILE } from '../../src/channeldb/file-lock.js';
import { nodeArgs, runnable } from '../support/spawn-args.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const lockModule = runnable('src/channeldb/file-lock.ts');
const hasProc = existsSync('/proc/self/stat') && existsSync('/proc/sys/kernel/random/boot_id');
if (!hasProc) console.warn('file-lock: /proc is missing: PID-reuse tests SKIPPED (they need Linux)');

let dir: string;
let children: ChildProcess[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chand-lock-'));
  children = [];
});
afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const lockPath = () => join(dir, LOCK_FILE);
const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
/** Start time of a process (field 22 of /proc/<pid>/stat), as the lock records it. */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}
/** A lock record in the on-disk format the module comment documents. */
function record(pid: number, start = '-', boot = hasProc ? bootId() : '-', nonce = randomBytes(16).toString('hex')): string {
  return `chand-lock 1 ${pid} ${start} ${boot} ${nonce}\n`;
}

/** The owner PID a lock file names. */
const ownerPid = (path: string) => /^(?:chand-lock 1 )?([0-9]+)/.exec(readFileSync(path, 'utf8'))?.[1];

function track(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

async function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

/** The PID of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = track(spawn(process.execPath, ['-e', '']));
  await waitExit(child);
  return child.pid!;
}

/** A live process that is not chand, with its start time. */
async function liveProcess(): Promise<{ pid: number; start: string }> {
  const child = track(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("UP")']));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('UP') && resolve());
    child.once('exit', () => reject(new Error('live process exited early')));
  });
  return { pid: child.pid!, start: hasProc ? startTimeOf(child.pid!) : '-' };
}

/** A chand-like process holding the lock of `dir` through the real module, until killed. */
async function holder(): Promise<ChildProcess> {
  const script = join(dir, '..', `${dir.split('/').pop()}-holder.mjs`);
  writeFileSync(
    script,
    `import { acquireDirLock } from ${JSON.stringify(lockModule)};
     acquireDirLock(process.argv[2], 'test'); console.log('HELD'); setInterval(() => {}, 1000);`,
  );
  const child = track(spawn(process.execPath, nodeArgs(script, [dir]), { cwd: repoRoot }));
  child.once('exit', () => rmSync(script, { force: true }));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('HELD') && resolve());
    child.once('exit', () => reject(new Error('holder exited early')));
  });
  return child;
}

function expectLocked(fn: () => unknown, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toMatchObject({ code: 'DB_LOCKED' });
  if (message !== undefined) expect((thrown as Error).message).toMatch(message);
}

describe('racing processes', () => {
  const RACERS = 16;
  type Outcome = { round: number; pid: number; won: boolean; code?: string };

  it(`gives the lock to exactly one of ${RACERS} processes started together, round after round`, async () => {
    const sync = join(dir, 'sync');
    const data = join(dir, 'data');
    mkdirSync(sync);
    mkdirSync(data);
    // What the lock file holds when each round starts. A winner is SIGKILLed after its round,
    // so 'killed' is a real stale lock left by a crashed owner.
    const rounds = ['none', 'killed', 'killed', 'partial', 'legacy', 'killed', 'killed'] as const;
    const script = join(dir, 'racer.mjs');
    writeFileSync(
      script,
      `import { existsSync, writeSync } from 'node:fs';
       import { join } from 'node:path';
       import { acquireDirLock } from ${JSON.stringify(lockModule)};
       const [data, sync, count] = process.argv.slice(2);
       const nap = new Int32Array(new SharedArrayBuffer(4));
       writeSync(1, 'READY\\n');
       for (let round = 0; round < Number(count); round++) {
         const go = join(sync, 'go-' + round);
         const deadline = Date.now() + 120000;
         // All racers wait for the same file, so they start within a millisecond of each other.
         while (!existsSync(go)) { if (Date.now() > deadline) process.exit(3); Atomics.wait(nap, 0, 0, 1); }
         try {
           acquireDirLock(data, 'race');
           writeSync(1, JSON.stringify({ round, pid: process.pid, won: true }) + '\\n');
           setInterval(() => {}, 1000); // hold until killed
           break;
         } catch (err) {
           writeSync(1, JSON.stringify({ round, pid: process.pid, won: false, code: err.code ?? String(err) }) + '\\n');
         }
       }`,
    );
    const outcomes: Outcome[] = [];
    let ready = 0;
    const racers = Array.from({ length: RACERS }, () => {
      const child = track(spawn(process.execPath, nodeArgs(script, [data, sync, String(rounds.length)]), { cwd: repoRoot }));
      let buffered = '';
      child.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line === 'READY') ready++;
          else outcomes.push(JSON.parse(line) as Outcome);
        }
      });
      return child;
    });
    /** Waits (bounded) until `done()` holds, polling every 20 ms. */
    const until = async (what: string, done: () => boolean) => {
      for (let i = 0; i < 6000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      if (!done()) throw new Error(`timed out waiting for ${what}`);
    };
    await until('racers to start', () => ready === RACERS);

    let alive = [...racers];
    for (const [round, kind] of rounds.entries()) {
      let before: string | undefined;
      if (kind === 'partial') writeFileSync(join(data, LOCK_FILE), (before = `chand-lock 1 ${await deadPid()} `));
      if (kind === 'legacy') writeFileSync(join(data, LOCK_FILE), `${await deadPid()}\n`);
      writeFileSync(join(sync, `go-${round}`), '');
      await until(`round ${round}`, () => outcomes.filter((o) => o.round === round).length === alive.length);
      const results = outcomes.filter((o) => o.round === round);
      const winners = results.filter((o) => o.won);
      if (kind === 'partial') {
        expect(winners, `round ${round}: a partly written lock was stolen`).toEqual([]);
        expect(readFileSync(join(data, LOCK_FILE), 'utf8')).toBe(before);
        expect(results.every((o) => o.code === 'DB_LOCKED')).toBe(true);
        continue; // the next round overwrites it
      }
      expect(winners.map((w) => w.pid), `round ${round} (${kind}) winners`).toHaveLength(1);
      expect(results.filter((o) => !o.won).every((o) => o.code === 'DB_LOCKED')).toBe(true);
      const winner = winners[0]!;
      // The lock on disk names the one winner.
      expect(ownerPid(join(data, LOCK_FILE))).toBe(String(winner.pid));
      const child = alive.find((c) => c.pid === winner.pid)!;
      process.kill(winner.pid, 'SIGKILL'); // crash while holding: the next round's stale lock
      await waitExit(child);
      alive = alive.filter((c) => c !== child);
    }
    for (const child of alive) await waitExit(child);
    expect(alive.every((c) => c.exitCode === 0)).toBe(true);
    // Takeovers leave no claim files behind, and no temp files of live processes remain.
    expect(readdirSync(data).filter((n) => n !== LOCK_FILE && !n.startsWith(`${LOCK_FILE}.tmp-`))).toEqual([]);
  }, 240_000);
});

describe('what is never stolen', () => {
  it('refuses a lock file whose record is not written in full, and leaves it as it was', async () => {
    const dead = await deadPid();
    for (const partial of ['', `${dead}`, `chand-lock 1 ${dead} `, record(dead).slice(0, -1), 'garbage\n']) {
      writeFileSync(lockPath(), partial);
      expectLocked(() => acquireDirLock(dir, 'the db'), /incomplete or unreadable lock file/);
      expect(readFileSync(lockPath(), 'utf8')).toBe(partial);
    }
  });

  it('refuses a lock held by a live process, then takes it over once that process is killed', async () => {
    const child = await holder();
    const before = readFileSync(lockPath(), 'utf8');
    expect(ownerPid(lockPath())).toBe(String(child.pid));
    expectLocked(() => acquireDirLock(dir, 'the db'), new RegExp(`in use by process ${child.pid}`));
    expect(readFileSync(lockPath(), 'utf8')).toBe(before);
    process.kill(child.pid!, 'SIGKILL');
    await waitExit(child);
    const lock = acquireDirLock(dir, 'the db');
    expect(ownerPid(lockPath())).toBe(String(process.pid));
    lock.release();
  }, 60_000);

  it.skipIf(!hasProc)('refuses a live owner whose recorded start time matches', async () => {
    const live = await liveProcess();
    writeFileSync(lockPath(), record(live.pid, live.start));
    expectLocked(() => acquireDirLock(dir, 'the db'), /in use by process/);
  });

  it('refuses a second open in the same process', () => {
    const lock = acquireDirLock(dir, 'the db');
    expectLocked(() => acquireDirLock(dir, 'the db'), /already open in this process/);
    lock.release();
  });

  it.skipIf(!hasProc)('does not let a live claimant be overtaken while it takes over a stale lock', async () => {
    const live = await liveProcess();
    const nonce = randomBytes(16).toString('hex');
    const stale = record(await deadPid(), '-', bootId(), nonce);
    writeFileSync(lockPath(), stale);
    writeFileSync(join(dir, `${LOCK_FILE}.claim-${nonce}.0`), record(live.pid, live.start));
    expectLocked(() => acquireDirLock(dir, 'the db'), /being opened by another process/);
    expect(readFileSync(lockPath(), 'utf8')).toBe(stale);
  });
});

describe('stale locks', () => {
  it('takes over a lock whose owner is dead, in the current and the legacy format', async () => {
    for (const stale of [record(await deadPid()), `${await deadPid()}\n`]) {
      writeFileSync(lockPath(), stale);
      const lock = acquireDirLock(dir, 'the db');
      expect(ownerPid(lockPath())).toBe(String(process.pid));
      lock.release();
    }
  });

  it.skipIf(!hasProc)('treats a reused PID as dead: another start time, another boot, or this PID from an earlier run', async () => {
    const live = await liveProcess();
    const otherStart = String(Number(live.start) + 1);
    const ownStart = startTimeOf(process.pid);
    for (const stale of [
      record(live.pid, otherStart),
      record(live.pid, live.start, '00000000-0000-0000-0000-000000000000'),
      record(process.pid, String(Number(ownStart) - 1)), // a container restart: chand is PID 1 again
    ]) {
      writeFileSync(lockPath(), stale);
      const lock = acquireDirLock(dir, 'the db');
      expect(readFileSync(lockPath(), 'utf8')).toContain(` ${process.pid} ${ownStart} `);
      lock.release();
    }
  });

  it('takes over past claimants that crashed mid-takeover, and removes their claim files', async () => {
    const nonce = randomBytes(16).toString('hex');
    writeFileSync(lockPath(), record(await deadPid(), '-', hasProc ? bootId() : '-', nonce));
    writeFileSync(join(dir, `${LOCK_FILE}.claim-${nonce}.0`), record(await deadPid()));
    writeFileSync(join(dir, `${LOCK_FILE}.claim-${nonce}.1`), record(await deadPid()));
    writeFileSync(join(dir, `${LOCK_FILE}.tmp-${await deadPid()}-${nonce}`), record(1));
    const lock = acquireDirLock(dir, 'the db');
    expect(ownerPid(lockPath())).toBe(String(process.pid));
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    lock.release();
  });
});

describe('release', () => {
  it('removes the lock file, is idempotent, and lets the directory be locked again', () => {
    const first = acquireDirLock(dir, 'the db');
    expect(existsSync(lockPath())).toBe(true);
    first.release();
    first.release();
    expect(readdirSync(dir)).toEqual([]);
    const second = acquireDirLock(dir, 'the db');
    expect(ownerPid(lockPath())).toBe(String(process.pid));
    second.release();
    expect(existsSync(lockPath())).toBe(false);
  });

  it('does not remove a lock file that is no longer its own', async () => {
    const lock = acquireDirLock(dir, 'the db');
    const replaced = record(await deadPid());
    writeFileSync(lockPath(), replaced); // e.g. removed by hand and re-created by another chand
    lock.release();
    expect(readFileSync(lockPath(), 'utf8')).toBe(replaced);
  });
});
