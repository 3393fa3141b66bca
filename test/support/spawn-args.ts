/**
 * The one place that decides how a test starts a child process running the repository's
 * TypeScript (the chand CLI, the peer CLI, test writers): `node <build>/src/cli/main.js ...`
 * from the run's compiled copy (see build.ts, global-setup.ts), or, with CHAND_TEST_TSX=1 or
 * outside a vitest run, `node --import <tsx> src/cli/main.ts ...` from source. Every path
 * returned is absolute, so the arguments work from any working directory.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_DIR_ENV, REPO_ROOT, TSX_ENV } from './build.js';

/** The chand CLI entry, in source form. */
export const CLI_MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');

/** tsx by absolute URL, so `--import` resolves it whatever the child's working directory. */
const TSX_URL = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The compiled build of this run, or undefined when children run through tsx. */
export function buildDir(): string | undefined {
  if (process.env[TSX_ENV] === '1') return undefined;
  const dir = process.env[BUILD_DIR_ENV];
  return dir === undefined || dir === '' ? undefined : dir;
}

/**
 * The file to import or run for the repository TypeScript file `file` (absolute, or relative
 * to the repository root): its compiled `.js` in this run's build, or `file` itself (absolute)
 * when running through tsx. Throws if the build lacks it (a file outside src/ and test/).
 */
export function runnable(file: string): string {
  const abs = isAbsolute(file) ? file : join(REPO_ROOT, file);
  const dir = buildDir();
  if (dir === undefined) return abs;
  const rel = relative(REPO_ROOT, abs);
  if (rel.startsWith('..') || !abs.endsWith('.ts')) throw new Error(`not a repository TypeScript file: ${abs}`);
  const built = join(dir, rel.split(sep).join('/').replace(/\.ts$/, '.js'));
  if (!existsSync(built)) throw new Error(`${built} is missing from the test build (${dir}); is ${rel} under src/ or test/?`);
  return built;
}

/**
 * `node` arguments that run `script` with `args`. A repository `.ts` file runs compiled (see
 * runnable()); any other script (e.g. a generated `.mjs` of plain JavaScript importing
 * runnable() paths) runs as it is. Through tsx, every script gets `--import <tsx>`.
 * `preload` are further `--import` modules (after tsx, before the script).
 */
export function nodeArgs(script: string, args: readonly string[] = [], preload: readonly string[] = []): string[] {
  const imports = preload.flatMap((m) => ['--import', m]);
  if (buildDir() === undefined) return ['--import', TSX_URL, ...imports, script, ...args];
  const abs = isAbsolute(script) ? script : join(REPO_ROOT, script);
  if (!relative(REPO_ROOT, abs).startsWith('..') && abs.endsWith('.ts')) return [...imports, runnable(abs), ...args];
  if (/\.[mc]?ts$/.test(abs)) throw new Error(`only repository files are compiled for the tests; write ${abs} as plain JavaScript (.mjs)`);
  return [...imports, abs, ...args];
}

/** `node` arguments that run the chand CLI with `args`: spawn(process.execPath, chandSpawnArgs(...)). */
export function chandSpawnArgs(...args: string[]): string[] {
  return nodeArgs(CLI_MAIN, args);
}

/** A shell command line (no arguments) that runs the chand CLI, for scripts/*.sh (CHAND_CMD). */
export function chandShellCommand(): string {
  return [process.execPath, ...chandSpawnArgs()].map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
