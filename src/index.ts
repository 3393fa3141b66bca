/**
 * chand's public surface (the package's `"."` export): open a channel database and use it
 * through backend-neutral contracts.
 *
 * What is here is what a user builds on: `openChannelDb` and its types, the store and
 * coordinator contracts with the runtime values their records use, and the typed errors.
 * The backends' classes are not exported: which backend runs is a `ChannelDbConfig`
 * choice, and a backend's driver is loaded only when that backend is opened.
 */

// Opening a database.
export {
  DryRunResult,
  openChannelDb,
  readMigrationStatus,
  type BackendName,
  type ChannelDb,
  type ChannelDbConfig,
  type MigrationStatus,
  type OpenOptions,
} from './channeldb/open.js';

// Moving a database to another backend (`chand db migrate`).
export { migrateChannelDb, type MigrateOptions, type MigrateProgress, type MigrateReport } from './channeldb/migrate.js';

// The contracts: channel state, peers, and the operations that span both.
export type * from './chanstate/store.js';
export type * from './chanstate/types.js';
export type * from './linknode/store.js';
export type * from './channelcoord/coordinator.js';
/** The type of ChannelStateOptions.secretToPoint (openChannelDb's default is libsecp256k1's). */
export type { SecretToPoint } from './bitcoin/secret-point.js';

// Runtime values the contracts' records use.
export { ChannelStatus, ChannelType, ClosureType, FwdState, OpeningStage, OUTPUT_INDEX_NONE } from './chanstate/types.js';
export { channelIdOf, formatOutPoint, parseOutPoint } from './chanstate/channel-id.js';
export { CHAIN_HASHES, networkOfChainHash } from './linknode/store.js';

// Errors: stable codes for conditions callers handle.
export { ChandError, DecodeError, ErrorCode, isChandError } from './errors.js';
