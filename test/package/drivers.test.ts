// Database drivers the user did not choose are never loaded: a SQLite user does not load pg
// or lmdb, an LMDB user does not load better-sqlite3 or pg. Real processes, each with a
// loader hook (track-loads.mjs) recording every module it loads, through the public entry
// (src/index.ts) and through the `chand` CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgs, runnable } from '../support/spawn-args.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '..', '..');
const DRIVERS = ['better-sqlite3', 'lmdb', 'pg'] as const;
type Driver = (typeof DRIVERS)[number];

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chand-drivers-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `args` under node (compiled, see test/support/spawn-args.ts) with the load tracker; returns the drivers it loaded. */
function driversLoadedBy(args: readonly string[]): Set<Driver> {
  const loads = join(dir, `loads-${Math.random().toString(16).slice(2)}.txt`);
  const run = spawnSync(process.execPath, nodeArgs(args[0]!, args.slice(1), ['./test/package/track-loads.mjs']), {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, CHAND_TRACK_LOADS: loads },
    timeout: 60_000,
  });
  expect(run.status, `${args.join(' ')} failed: ${run.stderr}`).toBe(0);
  const loaded = readFileSync(loads, 'utf8');
  return new Set(DRIVERS.filter((driver) => loaded.includes(`node_modules/${driver}/`)));
}

/** A script that opens a database through the package's public entry and closes it. */
function opener(config: object): string {
  const script = join(dir, 'open.mjs');
  writeFileSync(
    script,
    `import { openChannelDb } from ${JSON.stringify(runnable('src/index.ts'))};
     const db = await openChannelDb(${JSON.stringify(config)});
     console.log((await db.linkNodes.fetchAllLinkNodes()).length);
     await db.close();`,
  );
  return script;
}

describe('drivers loaded by openChannelDb', () => {
  it('SQLite loads better-sqlite3 and neither pg nor lmdb', () => {
    expect(driversLoadedBy([opener({ path: join(dir, 'db') })])).toEqual(new Set(['better-sqlite3']));
  }, 90_000);

  it('LMDB loads lmdb and neither better-sqlite3 nor pg', () => {
    expect(driversLoadedBy([opener({ backend: 'lmdb', path: join(dir, 'db') })])).toEqual(new Set(['lmdb']));
  }, 90_000);

  it('the memory backend loads no driver', () => {
    expect(driversLoadedBy([opener({ backend: 'memory' })])).toEqual(new Set());
  }, 90_000);
});

describe('drivers loaded by the chand CLI', () => {
  it('`db init` on SQLite loads only better-sqlite3', () => {
    expect(driversLoadedBy(['src/cli/main.ts', 'db', 'init', '--path', join(dir, 'db')])).toEqual(new Set(['better-sqlite3']));
  }, 90_000);

  it('`db init --backend lmdb` loads only lmdb', () => {
    expect(driversLoadedBy(['src/cli/main.ts', 'db', 'init', '--backend', 'lmdb', '--path', join(dir, 'db')])).toEqual(new Set(['lmdb']));
  }, 90_000);
});
