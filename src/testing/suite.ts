/**
 * The channel-store conformance suite: every backend of the chanstate, linknode and
 * channelcoord contracts runs it with a factory of fresh, isolated databases, then adds only
 * what is specific to it.
 *
 * ```ts
 * runChannelStoreConformance('memory', async () => {
 *   const db = await openChannelDb({ backend: 'memory' });
 *   return { db, cleanup: () => db.close() };
 * });
 * ```
 *
 * `CHAND_BACKENDS` (a comma-separated list, default: all) narrows which backends run; an
 * excluded backend's suite is registered as skipped, with a warning naming it, so a narrowed
 * run never looks like a full one.
 */
import { describe } from 'vitest';
import { closedChannelsSuite } from './closed-channels.suite.js';
import { commitmentsSuite } from './commitments.suite.js';
import { coordinatorSuite } from './coordinator.suite.js';
import { externalFundingSuite } from './external-funding.suite.js';
import { fwdPkgsSuite } from './fwd-pkgs.suite.js';
import { resolveOptions, type ConformanceFactory, type ConformanceOptions, type SuiteContext } from './harness.js';
import { registerBackendUnavailable } from './backend-selection.js';
import { linkNodesSuite } from './link-nodes.suite.js';
import { moneySafetySuite } from './money-safety.suite.js';
import { openChannelReadsSuite } from './open-channel-reads.suite.js';
import { recordsSuite } from './records.suite.js';
import { setupAndFinalHtlcsSuite } from './setup-and-final-htlcs.suite.js';
import { statusAndLifecycleSuite } from './status-and-lifecycle.suite.js';
import { storeClosedSuite } from './store-closed.suite.js';
import { invoicesSuite } from './invoices.suite.js';
import { paymentsSuite } from './payments.suite.js';
import type { PaymentConformanceFactory } from './payments-harness.js';

/**
 * Whether `CHAND_BACKENDS` (comma-separated, case-insensitive; unset or empty = all) includes
 * `backend`.
 */
export function backendSelected(backend: string, env: string | undefined = process.env['CHAND_BACKENDS']): boolean {
  if (env === undefined || env.trim() === '') return true;
  const wanted = env.split(',').map((b) => b.trim().toLowerCase());
  return wanted.includes(backend.toLowerCase());
}

/**
 * Registers the whole conformance suite for backend `name` under `describe(name)`. Each test
 * opens its own database with `factory` and cleans it up afterwards, whatever the outcome.
 */
export function runChannelStoreConformance(name: string, factory: ConformanceFactory, options: ConformanceOptions = {}): void {
  const title = `channel store conformance: ${name}`;
  if (!backendSelected(name)) {
    // A skipped test with the reason, or a failing one when CHAND_REQUIRE_BACKENDS names it.
    describe(title, () => registerBackendUnavailable(name, 'channel store conformance', `CHAND_BACKENDS=${process.env['CHAND_BACKENDS']} excludes it`));
    return;
  }
  describe(title, () => registerAll({ factory, options: resolveOptions(options) }));
}

function registerAll(context: SuiteContext): void {
  openChannelReadsSuite(context);
  statusAndLifecycleSuite(context);
  commitmentsSuite(context);
  fwdPkgsSuite(context);
  closedChannelsSuite(context);
  setupAndFinalHtlcsSuite(context);
  externalFundingSuite(context);
  linkNodesSuite(context);
  coordinatorSuite(context);
  moneySafetySuite(context);
  storeClosedSuite(context);
  recordsSuite();
}

/**
 * Registers the payment-store conformance suites (invoices.suite.ts, payments.suite.ts) for
 * backend `name` under `describe(name)`, narrowed by `CHAND_BACKENDS` like
 * runChannelStoreConformance. A `durable` backend's factory returns `reopen`, and the suites
 * then also check that everything survives reopening the database.
 */
export function runPaymentStoreConformance(name: string, factory: PaymentConformanceFactory, options: { readonly durable: boolean }): void {
  const title = `payment store conformance: ${name}`;
  if (!backendSelected(name)) {
    describe(title, () => registerBackendUnavailable(name, 'payment store conformance', `CHAND_BACKENDS=${process.env['CHAND_BACKENDS']} excludes it`));
    return;
  }
  describe(title, () => {
    invoicesSuite(factory, options.durable);
    paymentsSuite(factory, options.durable);
  });
}
