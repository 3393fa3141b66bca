import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // At least two files at a time (vitest's default is cores - 1, so one on a 2-core machine):
    // many files spend most of their time waiting on child processes, and a second worker
    // uses the idle core.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Compiles src/ once per run for the child processes tests start (test/support/build.ts).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
