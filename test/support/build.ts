/**
 * The compiled copy of the repository's TypeScript that test child processes run. Starting a
 * process through tsx costs ~1.3 s of CPU (loading tsx and transpiling on the fly); compiled
 * JavaScript starts in ~0.2 s, and the suite starts hundreds of processes. The vitest global
 * setup (global-setup.ts) transpiles src/ and the non-test files of test/ once per run, with
 * esbuild (what tsx itself uses, so the code that runs is the same), into its own directory
 * `dist-test/run-<pid>-<time>/` (inside the repository, so that packages resolve from
 * node_modules/), mirroring the repository layout: `src/cli/main.ts` ->
 * `<dir>/src/cli/main.js`. Each run has its own directory, so that runs at the same time never
 * see each other's half-written files; teardown removes it, and a later setup removes
 * directories left by runs that were killed (see pruneStaleBuilds).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Where the per-run build directories go (git-ignored). */
export const BUILD_ROOT = join(REPO_ROOT, 'dist-test');

/** The environment variable through which the global setup hands the build directory to the test workers. */
export const BUILD_DIR_ENV = 'CHAND_TEST_BUILD_DIR';

/** Set to 1 to run every child process from source through tsx instead (no build). */
export const TSX_ENV = 'CHAND_TEST_TSX';

/** The TypeScript files a child process may run, repository-relative: src/ and test/ except test files. */
export function buildInputs(): string[] {
  const files: string[] = [];
  for (const top of ['src', 'test']) {
    for (const entry of readdirSync(join(REPO_ROOT, top), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts') || entry.name.endsWith('.test.ts')) continue;
      files.push(relative(REPO_ROOT, join(entry.parentPath, entry.name)).split(sep).join('/'));
    }
  }
  return files.sort();
}

/** Whether process `pid` is alive (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes build directories left by runs that ended without their teardown: those whose
 * vitest process (the PID in the name, `run-<pid>-...`) is gone, and any older than
 * `maxAgeMs` whose name carries no PID.
 */
export function pruneStaleBuilds(maxAgeMs: number, now = Date.now()): void {
  let entries: string[];
  try {
    entries = readdirSync(BUILD_ROOT);
  } catch {
    return;
  }
  for (const name of entries) {
    if (!name.startsWith('run-')) continue;
    const dir = join(BUILD_ROOT, name);
    const pid = Number(/^run-(\d+)-/.exec(name)?.[1]);
    try {
      const stale = Number.isSafeInteger(pid) && pid > 0 ? pid !== process.pid && !alive(pid) : now - statSync(dir).mtimeMs > maxAgeMs;
      if (stale) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Removed by another run meanwhile.
    }
  }
}
