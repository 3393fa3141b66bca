/**
 * IndexedDB facet: the bounded purge of closed channels' bulk data, status counts, and the
 * channel key-index allocator (`meta -> channel-key-index`).
 */
import type { KeyIndexStore, MaintenanceStore, PurgeResult, StoreCounts } from '../chanstate/store.js';
import { isOpenChannel, isPendingChannel, isWaitingClose } from '../chanstate/rules.js';
import { allInfos, readKeyIndexCounter, writeKeyIndexCounter, type IdbStoreContext } from './chanstate-tx.js';
import type { IdbKey } from './idb-api.js';
import {
  CHANNELS,
  CLOSED_SUMMARIES,
  FWD_PACKAGES,
  META,
  PER_CHANNEL_STORES,
  PURGE_QUEUE,
  REVOCATION_LOG,
  scidKey,
  under,
} from './stores.js';
import type { IdbQuery } from './transactions.js';

/** A pending channel never had forwarding packages (advanceCommitChainTail refuses scid 0). */
const NO_SCID = scidKey(0n);

/** The maintenance and key-index methods over `ctx.conn`. */
export function maintenanceFacet(ctx: IdbStoreContext): MaintenanceStore & KeyIndexStore {
  const { conn } = ctx;
  return {
    purgeClosedChannels: (maxRecords: number) =>
      conn.run([PURGE_QUEUE, ...PER_CHANNEL_STORES.map((s) => s.store), FWD_PACKAGES], 'readwrite', async (tx): Promise<PurgeResult> => {
        let deleted = 0;
        for (const [op, scid] of await tx.entries<string>(PURGE_QUEUE)) {
          const targets: Array<{ store: string; query: IdbQuery }> = PER_CHANNEL_STORES.map((s) => ({ store: s.store, query: s.keyed === 'op' ? op : under(tx.ranges, op) }));
          if (scid !== NO_SCID) targets.push({ store: FWD_PACKAGES, query: under(tx.ranges, scid) });
          for (const { store, query } of targets) {
            // maxRecords - deleted > 0 here: a count of 0 would mean "no limit" to IndexedDB (and it takes at most 2^32 - 1).
            const keys: IdbKey[] = await tx.getAllKeys(store, query, Math.min(maxRecords - deleted, 0xffff_ffff));
            for (const key of keys) tx.delete(store, key);
            deleted += keys.length;
            if (deleted >= maxRecords) return { deleted, done: false };
          }
          tx.delete(PURGE_QUEUE, op);
        }
        return { deleted, done: true };
      }),
    counts: () =>
      conn.run([CHANNELS, CLOSED_SUMMARIES, REVOCATION_LOG, FWD_PACKAGES, PURGE_QUEUE], 'readonly', async (tx): Promise<StoreCounts> => {
        const [infos, closedChannels, revocationLogEntries, fwdPkgs, closedAwaitingPurge] = await Promise.all([
          allInfos(tx),
          tx.count(CLOSED_SUMMARIES),
          tx.count(REVOCATION_LOG),
          tx.count(FWD_PACKAGES),
          tx.count(PURGE_QUEUE),
        ]);
        return {
          openChannels: infos.filter(isOpenChannel).length,
          pendingChannels: infos.filter(isPendingChannel).length,
          waitingCloseChannels: infos.filter(isWaitingClose).length,
          closedChannels,
          revocationLogEntries,
          fwdPkgs,
          closedAwaitingPurge,
        };
      }),
    nextChannelKeyIndex: () =>
      conn.run([META], 'readwrite', async (tx) => {
        const index = await readKeyIndexCounter(tx);
        writeKeyIndexCounter(tx, index + 1);
        return index;
      }),
  };
}
