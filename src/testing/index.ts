/**
 * chand/testing: the channel-store conformance suite and its fixtures, for every backend
 * (and third-party ones). Test-only: it imports vitest.
 */
export * from './fixtures.js';
export * from './harness.js';
export * from './record-samples.js';
export * from './arbitraries.js';
export * from './record-comparer.js';
export * from './node-fill.js';
export { copyAll, exportAll, runBulkTransferConformance, type BulkConformanceDb, type BulkConformanceFactory } from './bulk-transfer.suite.js';
export { backendSelected, runChannelStoreConformance, runPaymentStoreConformance } from './suite.js';
export * from './payments-harness.js';
export { invoicesSuite } from './invoices.suite.js';
export { paymentsSuite } from './payments.suite.js';
export { backendRequired, exclusionReason, registerBackendUnavailable, requiredBackends } from './backend-selection.js';
export { openChannelReadsSuite } from './open-channel-reads.suite.js';
export { statusAndLifecycleSuite } from './status-and-lifecycle.suite.js';
export { commitmentsSuite } from './commitments.suite.js';
export { fwdPkgsSuite } from './fwd-pkgs.suite.js';
export { closedChannelsSuite } from './closed-channels.suite.js';
export { setupAndFinalHtlcsSuite } from './setup-and-final-htlcs.suite.js';
export { externalFundingSuite } from './external-funding.suite.js';
export { linkNodesSuite } from './link-nodes.suite.js';
export { coordinatorSuite } from './coordinator.suite.js';
export { recordsSuite } from './records.suite.js';
export { storeClosedSuite } from './store-closed.suite.js';
