/**
 * The KV implementation of the channel-state Store: the facets of this folder composed
 * over one KvEngine (every backend folder has the same facet files).
 *
 * Each method is one engine transaction (see keys.ts for the layout). Reads assemble
 * channels from their parts; writes touch only the keys that change, so the payment hot
 * path never rewrites the channel's info record. The domain rules come from
 * chanstate/rules.ts and arguments are validated at the public edge
 * (chanstate/checked-store.ts), so this folder implements storage only.
 *
 * Close is a tombstone: the close archives the channel and removes it from the open set in
 * one short transaction, and queues its bulk data (revocation log, commitments, forwarding
 * packages) for purgeClosedChannels, which deletes it in bounded batches.
 */
import { revealedPoint } from '../bitcoin/secret-point.js';
import type { ChannelStateOptions, ChannelStateStore } from '../chanstate/store.js';
import type { KvStoreContext } from './chanstate-tx.js';
import { checksummedEngine } from './checksummed-engine.js';
import { closedChannelsFacet } from './closed-channels.js';
import { commitmentsFacet } from './commitments.js';
import type { KvEngine } from './engine.js';
import { externalFundingFacet } from './external-funding.js';
import { fwdPkgsFacet } from './fwd-pkgs.js';
import { maintenanceFacet } from './maintenance.js';
import { openChannelReadsFacet } from './open-channel-reads.js';
import { setupAndFinalHtlcsFacet } from './setup-and-final-htlcs.js';
import { statusAndLifecycleFacet } from './status-and-lifecycle.js';

/** Options of the KV channel-state store. */
export type KvChannelStateOptions = ChannelStateOptions;

/**
 * The channel-state store over `engine` (migrated to the latest KV schema by the caller;
 * the store reads and writes through the checksummed view). Arguments must already be
 * validated (openChannelDb wraps it).
 */
export function createKvChannelStateStore(engine: KvEngine, options: KvChannelStateOptions = {}): ChannelStateStore {
  // Every value carries its checksum (checksummed-engine.ts, KV schema 3).
  const ctx: KvStoreContext = {
    engine: checksummedEngine(engine),
    balances: options.revocationLogBalances ?? true,
    finalHtlcs: options.storeFinalHtlcResolutions ?? true,
    secretToPoint: options.secretToPoint ?? revealedPoint,
  };
  return {
    ...openChannelReadsFacet(ctx),
    ...statusAndLifecycleFacet(ctx),
    ...commitmentsFacet(ctx),
    ...fwdPkgsFacet(ctx),
    ...closedChannelsFacet(ctx),
    ...setupAndFinalHtlcsFacet(ctx),
    ...externalFundingFacet(ctx),
    ...maintenanceFacet(ctx),
  };
}
