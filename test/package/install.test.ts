// The package as a user gets it: `npm run build`, `npm pack`, install the tarball into a
// fresh project, then import its public surface and run its `chand` binary, with no
// TypeScript toolchain (tsx) in the installed runtime tree.
//
// The install is offline and reproducible: the fresh project gets a lock file made from
// this repository's (chand from the tarball, plus every non-dev package exactly as locked),
// so `npm ci --offline` takes every dependency from the npm cache that the repository's own
// `npm ci` filled. Install scripts are skipped (better-sqlite3 would otherwise try to
// download a prebuilt binary, then compile for minutes); the native addon the repository
// already built is copied in instead. lmdb needs no script: its binary ships in a package.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '..', '..');
const npmWorks = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;
if (!npmWorks) console.warn('\n*** package install test SKIPPED: `npm` is not on PATH, so the package cannot be built, packed or installed ***\n');

let work: string;
let project: string;

function run(command: string, args: readonly string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, NO_COLOR: '1' } });
  if (result.error !== undefined) throw result.error;
  return result;
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  expect(result.status, `${what} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe.skipIf(!npmWorks)('installing the packed package', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'chand-install-'));
    project = join(work, 'project');
    mkdirSync(project);
    ok(run('npm', ['run', 'build'], repoRoot), 'npm run build');
    // The build just ran; --ignore-scripts keeps `prepare` from running it again.
    const packed = JSON.parse(ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], repoRoot), 'npm pack')) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const tarball = join(work, packed[0]!.filename);
    const shipped = packed[0]!.files.map((f) => f.path);
    writeFileSync(join(work, 'shipped.json'), JSON.stringify(shipped));

    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
    const repoLock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const spec = `file:${tarball}`;
    const packages: Record<string, unknown> = {
      '': { name: 'consumer', version: '0.0.0', dependencies: { chand: spec } },
      'node_modules/chand': { version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
    };
    for (const [path, entry] of Object.entries(repoLock.packages)) if (path !== '' && entry.dev !== true) packages[path] = entry;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '0.0.0', private: true, type: 'module', dependencies: { chand: spec } }));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '0.0.0', lockfileVersion: 3, requires: true, packages }));
    ok(run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project), 'npm ci of the tarball');

    const addon = join('build', 'Release', 'better_sqlite3.node');
    mkdirSync(join(project, 'node_modules', 'better-sqlite3', 'build', 'Release'), { recursive: true });
    copyFileSync(join(repoRoot, 'node_modules', 'better-sqlite3', addon), join(project, 'node_modules', 'better-sqlite3', addon));
  }, 240_000);
  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  const chand = (...args: string[]) => run(process.execPath, [join(project, 'node_modules', 'chand', 'bin', 'chand.js'), ...args], project, 60_000);

  it('ships the build, the binary and the README, not the sources, tests or benchmarks', () => {
    const shipped = JSON.parse(readFileSync(join(work, 'shipped.json'), 'utf8')) as string[];
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js', 'dist/cli/main.js', 'bin/chand.js', 'README.md', 'package.json']) {
      expect(shipped).toContain(file);
    }
    expect(shipped.filter((f) => /^(src|test|bench)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('exports the public surface from `chand`, and not the backends', () => {
    const keys = ok(run(process.execPath, ['-e', "import('chand').then((m) => console.log(Object.keys(m).sort().join(',')))"], project), 'import chand')
      .trim()
      .split(',');
    for (const name of ['openChannelDb', 'readMigrationStatus', 'ChandError', 'ErrorCode', 'isChandError', 'DecodeError', 'ChannelStatus', 'ClosureType', 'FwdState', 'OUTPUT_INDEX_NONE', 'channelIdOf', 'formatOutPoint', 'parseOutPoint', 'CHAIN_HASHES', 'networkOfChainHash']) {
      expect(keys).toContain(name);
    }
    expect(keys.filter((k) => /Sqlite|Postgres|Lmdb|^Kv|^Sql/.test(k))).toEqual([]);
  });

  it('runs `chand` from the install: refuses a missing database, then initializes one and shows its status', () => {
    const help = chand('--help');
    expect(ok(help, 'chand --help')).toContain('db');
    const missing = chand('db', 'status', '--path', join(work, 'nodb'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^chand: DB_NOT_INITIALIZED: /);
    ok(chand('db', 'init', '--path', join(work, 'db')), 'chand db init');
    expect(ok(chand('db', 'status', '--path', join(work, 'db')), 'chand db status')).toMatch(/sqlite/i);
  });

  it('has no tsx in the installed runtime tree', () => {
    const tree = run('npm', ['ls', 'tsx', '--omit=dev', '--all'], project);
    expect(tree.stdout).not.toMatch(/tsx@/);
    expect(existsSync(join(project, 'node_modules', 'tsx'))).toBe(false);
  });

  it("runs the repository's own bin/chand.js from dist/ after the build", () => {
    const status = run(process.execPath, [join(repoRoot, 'bin', 'chand.js'), 'db', 'status', '--path', join(work, 'repo-nodb')], repoRoot, 60_000);
    expect(status.stderr).toMatch(/^chand: DB_NOT_INITIALIZED: /);
  });
});

describe('the chand binary without a build', () => {
  it('says to run `npm run build` and exits 1 when dist/ is missing', () => {
    const checkout = mkdtempSync(join(tmpdir(), 'chand-nobuild-'));
    try {
      cpSync(join(repoRoot, 'bin'), join(checkout, 'bin'), { recursive: true });
      writeFileSync(join(checkout, 'package.json'), JSON.stringify({ name: 'chand', type: 'module' }));
      const result = spawnSync(process.execPath, [join(checkout, 'bin', 'chand.js'), '--help'], { encoding: 'utf8', timeout: 30_000 });
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^chand: not built: .*dist\/cli\/main\.js is missing; run `npm run build`/);
    } finally {
      rmSync(checkout, { recursive: true, force: true });
    }
  });
});
