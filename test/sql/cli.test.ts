// `chand db` on the SQL backends, as a user runs it: SQLite is the default backend, and
// migrate-status lists applied and pending migrations.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SQL_MIGRATIONS } from '../../src/sql/migrations.js';
import { exclusionReason, registerBackendUnavailable } from '../../src/testing/index.js';
import { chandSpawnArgs } from '../support/spawn-args.js';

const repoRoot = join(import.meta.dirname, '..', '..');
// The CLI of this checkout (test/support/spawn-args.ts), not dist/: test/package/install.test.ts
// rebuilds dist/ (and runs bin/chand.js from it) while other files run.
const chand = (...args: string[]) => spawnSync(process.execPath, chandSpawnArgs('db', ...args), { cwd: repoRoot, encoding: 'utf8' });

const sqliteExcluded = exclusionReason('sqlite');
if (sqliteExcluded !== undefined) registerBackendUnavailable('sqlite', 'chand db', sqliteExcluded);
else describe('chand db on SQLite (the default backend)', () => {
  it('init creates a SQLite database; migrate-status and status read it without migrating', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chand-cli-'));
    try {
      const path = join(dir, 'data');
      const missing = chand('migrate-status', '--path', path);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('DB_NOT_INITIALIZED');

      const init = chand('init', '--path', path);
      expect(init.status, init.stderr).toBe(0);
      expect(init.stdout).toContain(`schema 0 → ${SQL_MIGRATIONS.length}`);

      const status = chand('migrate-status', '--path', path, '--json');
      expect(status.status, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ current: SQL_MIGRATIONS.length, pending: [], applied: SQL_MIGRATIONS.map(({ version, description }) => ({ version, description })) });

      const counts = chand('status', '--path', path, '--json');
      expect(JSON.parse(counts.stdout)).toMatchObject({ backend: 'sqlite', schemaVersion: SQL_MIGRATIONS.length, openChannels: 0, linkNodes: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
