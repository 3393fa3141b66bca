/**
 * Which storage backends a test run covers, and what happens to the ones it does not.
 *
 * `CHAND_BACKENDS` (comma-separated; unset or empty = all) narrows a run; `backendSelected`
 * reads it. `CHAND_REQUIRE_BACKENDS` (comma-separated; CI sets all four) names backends that
 * MUST run: a required backend that is excluded or unavailable (no PostgreSQL server) turns
 * into a failing test instead of a skip, so a green run really covered it. Test-only: it
 * imports vitest.
 */
import { it } from 'vitest';
import { backendSelected } from './suite.js';

const listOf = (env: string | undefined): string[] =>
  env === undefined ? [] : env.split(',').map((b) => b.trim().toLowerCase()).filter((b) => b !== '');

/** The backends `CHAND_REQUIRE_BACKENDS` names (lowercase; empty when unset). */
export function requiredBackends(env: string | undefined = process.env['CHAND_REQUIRE_BACKENDS']): string[] {
  return listOf(env);
}

/** Whether `CHAND_REQUIRE_BACKENDS` names `backend` (case-insensitive). */
export function backendRequired(backend: string, env: string | undefined = process.env['CHAND_REQUIRE_BACKENDS']): boolean {
  return requiredBackends(env).includes(backend.toLowerCase());
}

/** Why `backend` is excluded by `CHAND_BACKENDS`, or undefined when it is selected. */
export function exclusionReason(backend: string): string | undefined {
  return backendSelected(backend) ? undefined : `CHAND_BACKENDS=${process.env['CHAND_BACKENDS']} excludes it`;
}

/**
 * Registers what stands in for the tests `what` of `backend` when they cannot run for
 * `reason`: a skipped test whose title carries the reason (and a console line, so a narrowed
 * run never looks like a full one), or — when CHAND_REQUIRE_BACKENDS requires the backend —
 * a test that fails with the reason. Call it during collection (top level or in a describe);
 * it always registers a test, so a file whose backends are all excluded is never empty.
 */
export function registerBackendUnavailable(backend: string, what: string, reason: string): void {
  if (backendRequired(backend)) {
    it(`${what} on ${backend}: REQUIRED by CHAND_REQUIRE_BACKENDS but not run (${reason})`, () => {
      throw new Error(`${what} on ${backend} is required (CHAND_REQUIRE_BACKENDS=${process.env['CHAND_REQUIRE_BACKENDS']}) but cannot run: ${reason}`);
    });
    return;
  }
  console.warn(`\n!!! ${what} on ${backend} is SKIPPED: ${reason} !!!\n`);
  it.skip(`${what} on ${backend}: SKIPPED (${reason})`, () => {});
}
