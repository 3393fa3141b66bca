/**
 * The SQL implementation of the channel-state Store (SQLite and PostgreSQL), composed of
 * one facet per file (the same files as src/kv/):
 *
 *   open-channel-reads.ts      OpenChannelReads, HistoricalChannelReads
 *   status-and-lifecycle.ts    ChannelLifecycleStore, ChannelStatusStore, ChannelShutdownStore, ChannelCloseTxStore
 *   commitments.ts             CommitmentStore
 *   fwd-pkgs.ts                FwdPkgStore
 *   closed-channels.ts         ClosedChannelStore
 *   setup-and-final-htlcs.ts   ChannelSetupStore, FinalHtlcStore
 *   external-funding.ts        ExternalFundingStore
 *   maintenance.ts             MaintenanceStore, KeyIndexStore
 *
 * Each method is one SQL transaction (transactions.ts) over the relational schema of
 * schema.ts, made of the transaction-scoped queries of chanstate-tx.ts. The backend
 * implements storage only: domain rules come from chanstate/rules.ts and argument
 * validation happens once at the public edge (openChannelDb wraps this store in
 * CheckedChannelStateStore). It behaves exactly like the KV store (same results, error codes
 * and orderings; the differential test runs both side by side), except that an INT8 column
 * cannot hold amounts of 2^63 msat or more (RangeError, columns.ts).
 *
 * Close is a tombstone: closeChannel archives the commitments, writes the summary and
 * flags the row closed in one short transaction; purgeClosedChannels later deletes the
 * bulk rows in batches of at most `maxRecords` rows each.
 */
import type { ChannelStateStore } from '../chanstate/store.js';
import { sqlStoreContext, type SqlChannelStateOptions } from './chanstate-tx.js';
import { closedChannelsFacet } from './closed-channels.js';
import { commitmentsFacet } from './commitments.js';
import { externalFundingFacet } from './external-funding.js';
import { fwdPkgsFacet } from './fwd-pkgs.js';
import { keyIndexFacet, maintenanceFacet } from './maintenance.js';
import { historicalChannelReadsFacet, openChannelReadsFacet } from './open-channel-reads.js';
import { finalHtlcsFacet, setupFacet } from './setup-and-final-htlcs.js';
import { closeTxFacet, lifecycleFacet, shutdownFacet, statusFacet } from './status-and-lifecycle.js';
import type { SqlBackend } from './transactions.js';

export type { SqlChannelStateOptions } from './chanstate-tx.js';

/**
 * The channel-state store over `backend` (migrated to the latest schema by the caller).
 * Holds no state of its own: stores over one backend may coexist. Does not validate
 * arguments; wrap it in CheckedChannelStateStore at a public edge.
 */
export function createSqlChannelStateStore(backend: SqlBackend, options?: SqlChannelStateOptions): ChannelStateStore {
  const ctx = sqlStoreContext(backend, options);
  return {
    ...openChannelReadsFacet(ctx),
    ...historicalChannelReadsFacet(ctx),
    ...lifecycleFacet(ctx),
    ...statusFacet(ctx),
    ...shutdownFacet(ctx),
    ...closeTxFacet(ctx),
    ...commitmentsFacet(ctx),
    ...fwdPkgsFacet(ctx),
    ...closedChannelsFacet(ctx),
    ...finalHtlcsFacet(ctx),
    ...setupFacet(ctx),
    ...externalFundingFacet(ctx),
    ...keyIndexFacet(ctx),
    ...maintenanceFacet(ctx),
  };
}
