// `chand db ...` as a user runs it, on broken input: every failure is ONE line
// `chand: CODE: message` with a non-zero exit and no stack trace (unless --debug); a path
// that is a file, an empty or truncated channel.sqlite, or a damaged one are refused with a
// code (the file is left as it was, never re-created empty); and every inspection command
// refuses a database written by a newer chand (DB_REVERSION) instead of reading it.
import BetterSqlite3 from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtemp, open as openFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LMDB_FILE, SQLITE_FILE } from '../../src/channeldb/open.js';
import { openLmdbEngine } from '../../src/kv/lmdb-engine.js';
import { META, key } from '../../src/kv/keys.js';
import { KV_SCHEMA_VERSION } from '../../src/kv/migrations.js';
import { SQL_SCHEMA_VERSION } from '../../src/sql/migrations.js';
import { exclusionReason, registerBackendUnavailable } from '../../src/testing/index.js';
import { REPO_ROOT } from './support/child.js';
import { chandSpawnArgs } from '../support/spawn-args.js';

const INSPECTION: ReadonlyArray<readonly string[]> = [['status'], ['export', '--json'], ['channels'], ['migrate-status']];

/** Runs `chand db <args>` from source; bounded by a timeout. */
function chand(...args: string[]) {
  const run = spawnSync(process.execPath, chandSpawnArgs('db', ...args), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The failure contract: exit non-zero, exactly one stderr line `chand: CODE: ...`, no stack frames. */
function expectOneLineError(run: ReturnType<typeof chand>, code: string): void {
  expect(run.status, run.stderr).not.toBe(0);
  expect(run.status).not.toBeNull();
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^chand: ${code}: \\S`));
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

const work = await mkdtemp(join(tmpdir(), 'chand-cli-faults-'));
afterAll(() => rm(work, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(work, `d${++dirs}`);

const sqliteExcluded = exclusionReason('sqlite');
if (sqliteExcluded !== undefined) registerBackendUnavailable('sqlite', 'chand db error reporting', sqliteExcluded);
else {
  describe('chand db error reporting: sqlite', { timeout: 180_000 }, () => {
    it('a --path that is a file: one line DB_NOT_INITIALIZED for status and export; --debug adds the stack', async () => {
      const file = join(work, 'not-a-dir');
      await writeFile(file, 'hello');
      expectOneLineError(chand('status', '--path', file), 'DB_NOT_INITIALIZED');
      expectOneLineError(chand('export', '--json', '--path', file), 'DB_NOT_INITIALIZED');
      const debug = chand('status', '--path', file, '--debug');
      expect(debug.status).toBe(1);
      expect(debug.stderr.split('\n')[0]).toMatch(/^chand: DB_NOT_INITIALIZED: /);
      expect(debug.stderr).toMatch(/^\s+at /m);
    });

    it('an empty channel.sqlite is refused (DB_CORRUPT) by init and by inspection, and stays empty', async () => {
      const dir = freshDir();
      expect(chand('init', '--path', dir).status).toBe(0);
      await rm(join(dir, SQLITE_FILE));
      await writeFile(join(dir, SQLITE_FILE), '');
      for (const command of [['init'], ...INSPECTION]) expectOneLineError(chand(...command, '--path', dir), 'DB_CORRUPT');
      expect((await stat(join(dir, SQLITE_FILE))).size).toBe(0);
    });

    it('a truncated channel.sqlite is refused (DB_CORRUPT) and left as it was', async () => {
      const dir = freshDir();
      expect(chand('init', '--path', dir).status).toBe(0);
      const { size } = await stat(join(dir, SQLITE_FILE));
      expect(size).toBeGreaterThan(8192);
      await truncate(join(dir, SQLITE_FILE), size - 1000);
      expectOneLineError(chand('status', '--path', dir), 'DB_CORRUPT');
      expectOneLineError(chand('init', '--path', dir), 'DB_CORRUPT');
      expect((await stat(join(dir, SQLITE_FILE))).size).toBe(size - 1000);
    });

    it('a damaged database (garbage pages) is one line DB_CORRUPT, not a driver stack trace', async () => {
      const dir = freshDir();
      expect(chand('init', '--path', dir).status).toBe(0);
      const file = join(dir, SQLITE_FILE);
      const { size } = await stat(file);
      const handle = await openFile(file, 'r+');
      await handle.write(Buffer.alloc(size - 4096, 0x5a), 0, size - 4096, 4096);
      await handle.close();
      for (const command of INSPECTION.slice(0, 3)) expectOneLineError(chand(...command, '--path', dir), 'DB_CORRUPT');
    });

    it('every inspection command refuses a database of a newer schema version with DB_REVERSION', async () => {
      const dir = freshDir();
      expect(chand('init', '--path', dir).status).toBe(0);
      const raw = new BetterSqlite3(join(dir, SQLITE_FILE));
      raw.prepare('insert into chand_migrations (version, description, applied_at_ms) values (?, ?, 0)').run(SQL_SCHEMA_VERSION + 1, 'from the future');
      raw.close();
      for (const command of INSPECTION) expectOneLineError(chand(...command, '--path', dir), 'DB_REVERSION');
    });
  });
}

const lmdbExcluded = exclusionReason('lmdb');
if (lmdbExcluded !== undefined) registerBackendUnavailable('lmdb', 'chand db error reporting', lmdbExcluded);
else {
  describe('chand db error reporting: lmdb', { timeout: 180_000 }, () => {
    it('every inspection command refuses a database of a newer schema version with DB_REVERSION', async () => {
      const dir = freshDir();
      expect(chand('init', '--path', dir, '--backend', 'lmdb').status).toBe(0);
      const engine = await openLmdbEngine({ path: join(dir, LMDB_FILE) });
      const version = new Uint8Array(4);
      new DataView(version.buffer).setUint32(0, KV_SCHEMA_VERSION + 1);
      await engine.update((tx) => tx.put(key(META, new TextEncoder().encode('schema-version')), version));
      await engine.close();
      for (const command of INSPECTION) expectOneLineError(chand(...command, '--path', dir, '--backend', 'lmdb'), 'DB_REVERSION');
    });
  });
}

