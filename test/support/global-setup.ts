/**
 * Vitest global setup: builds the JavaScript that test child processes run (see build.ts),
 * once per run (and again before each rerun in watch mode), and hands its directory to the
 * workers in CHAND_TEST_BUILD_DIR. With CHAND_TEST_TSX=1 it builds nothing and children run
 * from source through tsx.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { BUILD_DIR_ENV, BUILD_ROOT, REPO_ROOT, TSX_ENV, buildInputs, pruneStaleBuilds } from './build.js';

/** Transpiles every build input into `outdir` (files of the same name are overwritten). */
async function transpile(outdir: string): Promise<void> {
  await build({
    entryPoints: buildInputs().map((f) => join(REPO_ROOT, f)),
    outdir,
    outbase: REPO_ROOT,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'BUILT'), `${new Date().toISOString()}\n`);
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  if (process.env[TSX_ENV] === '1') {
    delete process.env[BUILD_DIR_ENV];
    return undefined;
  }
  mkdirSync(BUILD_ROOT, { recursive: true });
  pruneStaleBuilds(12 * 3600_000);
  const outdir = mkdtempSync(join(BUILD_ROOT, `run-${process.pid}-`));
  try {
    await transpile(outdir);
  } catch (err) {
    rmSync(outdir, { recursive: true, force: true });
    throw err;
  }
  process.env[BUILD_DIR_ENV] = outdir;
  project.onTestsRerun(() => transpile(outdir));
  return () => rmSync(outdir, { recursive: true, force: true });
}
