/**
 * The IndexedDB implementation of the channel-state Store: the facets of this folder
 * composed over one IdbConnection (every backend folder has the same facet files).
 *
 * Each method is one IndexedDB transaction over the object stores it touches (stores.ts
 * has the layout), readwrite ones with strict durability. Reads assemble channels from
 * their parts; writes touch only the entries that change, so the payment hot path never
 * rewrites the channel's info record. The domain rules come from chanstate/rules.ts and
 * arguments are validated at the public edge (chanstate/checked-store.ts), so this folder
 * implements storage only.
 *
 * Close is a tombstone: the close archives the channel and removes it from the open set in
 * one short transaction, and queues its bulk data (revocation log, commitments, forwarding
 * packages) for purgeClosedChannels, which deletes it in bounded batches.
 */
import { revealedPoint } from '../bitcoin/secret-point.js';
import type { ChannelStateOptions, ChannelStateStore } from '../chanstate/store.js';
import type { IdbStoreContext } from './chanstate-tx.js';
import { closedChannelsFacet } from './closed-channels.js';
import { commitmentsFacet } from './commitments.js';
import { externalFundingFacet } from './external-funding.js';
import { fwdPkgsFacet } from './fwd-pkgs.js';
import { maintenanceFacet } from './maintenance.js';
import { openChannelReadsFacet } from './open-channel-reads.js';
import { setupAndFinalHtlcsFacet } from './setup-and-final-htlcs.js';
import { statusAndLifecycleFacet } from './status-and-lifecycle.js';
import type { IdbConnection } from './transactions.js';

/** Options of the IndexedDB channel-state store. */
export type IdbChannelStateOptions = ChannelStateOptions;

/** The channel-state store over `conn`. Arguments must already be validated (openBrowserChannelDb wraps it). */
export function createIdbChannelStateStore(conn: IdbConnection, options: IdbChannelStateOptions = {}): ChannelStateStore {
  const ctx: IdbStoreContext = {
    conn,
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
