// `chand db migrate` as a user runs it (the CLI from source, through tsx): the dry run says
// what it would do and writes nothing; a run prints one JSON progress line per batch when
// stdout is not a terminal, then its summary; errors are one `chand: CODE: message` line; a
// node's `chand db status` refuses an unfinished target. The terminal bar is checked on the
// reporter itself (a test has no terminal).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { progressBar, progressReporter } from '../../src/channeldb/migrate-progress.js';
import type { ChannelDbConfig } from '../../src/channeldb/open.js';
import { exclusionReason, registerBackendUnavailable } from '../../src/testing/index.js';
import { fillDatabase, fingerprintOf, tempDir } from './support.js';
import { chandSpawnArgs } from '../support/spawn-args.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const chand = (...args: string[]) => spawnSync(process.execPath, chandSpawnArgs('db', ...args), { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });

describe('the migration progress reporter', () => {
  const event = { phase: 'copy' as const, section: 'revocationLogEntry' as const, batch: 3, records: 45_000, total: 100_000, recordsPerSecond: 20_000, etaSeconds: 2.75, resumed: false };

  it('draws one bar on a terminal: percentage, records, rate, ETA, section', () => {
    expect(progressBar(event)).toBe('copy   [#############...............]  45%  45,000/100,000 records  20,000/s  ETA 00:03  revocationLogEntry');
    let terminal = '';
    let lines = '';
    let clock = 0;
    const reporter = progressReporter({ isTty: true, terminal: { write: (t: string) => (terminal += t) }, lines: { write: (t: string) => (lines += t) }, now: () => clock });
    reporter.onProgress(event);
    clock += 10;
    reporter.onProgress({ ...event, records: 46_000 }); // within 100 ms: kept for later
    clock += 200;
    reporter.onProgress({ ...event, phase: 'verify', records: 1_000 });
    reporter.end();
    expect(lines).toBe('');
    expect(terminal.split('\r').filter((l) => l !== '')).toHaveLength(3);
    expect(terminal).toContain('46,000/100,000');
    expect(terminal.endsWith('\n')).toBe(true);
  });

  it('writes one JSON line per event otherwise', () => {
    let lines = '';
    const reporter = progressReporter({ isTty: false, terminal: { write: () => {} }, lines: { write: (t: string) => (lines += t) } });
    reporter.onProgress(event);
    reporter.onProgress({ ...event, records: 46_000 });
    reporter.end();
    const parsed = lines.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toEqual([
      { event: 'progress', ...event, etaSeconds: 2.8 },
      { event: 'progress', ...event, records: 46_000, etaSeconds: 2.8 },
    ]);
  });
});

const excluded = ['lmdb', 'sqlite'].map((b) => [b, exclusionReason(b)] as const).filter(([, why]) => why !== undefined);
for (const [backend, why] of excluded) registerBackendUnavailable(backend, 'chand db migrate CLI', why!);

describe.skipIf(excluded.length > 0)('chand db migrate', () => {
  let dir: string;
  let source: ChannelDbConfig & { path: string };
  beforeAll(async () => {
    dir = await tempDir('cli');
    source = { backend: 'lmdb', path: join(dir, 'source') };
    await fillDatabase({ ...source, noSync: true }, { channels: 16, revokedStates: 2_500 });
  }, 120_000);

  it('--dry-run prints the plan and writes nothing', async () => {
    const before = await fingerprintOf(source);
    const target = join(dir, 'dry');
    const run = chand('migrate', '--from-backend', 'lmdb', '--from-path', source.path, '--to-backend', 'sqlite', '--to-path', target, '--dry-run');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('revoked states');
    expect(run.stdout).toContain('would be created');
    expect(run.stdout).toContain('nothing was written');
    expect(existsSync(target)).toBe(false);
    expect(await fingerprintOf(source)).toBe(before);
  });

  it('migrates with one JSON line per batch, then the summary; the target then opens; a second run refuses', () => {
    const target = join(dir, 'sqlite');
    const run = chand('migrate', '--from-backend', 'lmdb', '--from-path', source.path, '--to-backend', 'sqlite', '--to-path', target, '--batch', '500');
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const progress = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; phase: string; records: number });
    expect(progress.filter((p) => p.phase === 'copy').length).toBeGreaterThanOrEqual(2_500 / 500);
    expect(progress.every((p) => p.event === 'progress')).toBe(true);
    expect(progress.some((p) => p.phase === 'verify')).toBe(true);
    expect(lines.at(-1)).toContain('the target is ready');
    expect(run.stdout).toMatch(/revocationLogEntry\s+2\d{3}/);

    const status = chand('status', '--backend', 'sqlite', '--path', target, '--json');
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ backend: 'sqlite' });

    const again = chand('migrate', '--from-backend', 'lmdb', '--from-path', source.path, '--to-backend', 'sqlite', '--to-path', target);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^chand: MIGRATION_TARGET_NOT_EMPTY: /);
  });

  it('a bad flag is INVALID_INPUT (exit 2); a node cannot open an unfinished target (DB_MIGRATION_INCOMPLETE)', async () => {
    const missing = chand('migrate', '--from-backend', 'lmdb', '--from-path', source.path, '--to-backend', 'sqlite');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^chand: INVALID_INPUT: expected --to-path/);

    // An unfinished target: the bulk import state is there until the migration verifies.
    const target: ChannelDbConfig = { backend: 'sqlite', path: join(dir, 'unfinished') };
    const { openMigrationTarget } = await import('../../src/channeldb/migrate-open.js');
    const db = await openMigrationTarget(target);
    await db.bulk.importPage([], '{"format":"chand-migrate/1"}');
    await db.close();
    const status = chand('status', '--backend', 'sqlite', '--path', target.path);
    expect(status.status).toBe(1);
    expect(status.stderr).toMatch(/^chand: DB_MIGRATION_INCOMPLETE: /);
  });
});
