/**
 * KV facet: the bounded purge of closed channels' bulk data, status counts, and the
 * channel key-index allocator (`meta -> channel-key-index`).
 */
import { outPointFromKey } from '../chanstate/channel-id.js';
import type { KeyIndexStore, MaintenanceStore, PurgeResult, StoreCounts } from '../chanstate/store.js';
import { isOpenChannel, isPendingChannel, isWaitingClose } from '../chanstate/rules.js';
import { allInfos, readKeyIndexCounter, writeKeyIndexCounter, type KvStoreContext } from './chanstate-tx.js';
import { blockStateCount } from '../chanstate/revocation-blocks.js';
import { CLOSED_SUMMARY, FWD_PACKAGES, PER_CHANNEL_BUCKETS, PURGE_QUEUE, REVOCATION_BLOCKS, REVOCATION_OPEN_BLOCK, byteKey, keys, prefixRange, readU64Key } from './keys.js';

/** The maintenance and key-index methods over `ctx.engine`. */
export function maintenanceFacet(ctx: KvStoreContext): MaintenanceStore & KeyIndexStore {
  const { engine } = ctx;
  return {
    purgeClosedChannels: (maxRecords: number) =>
      engine.update((tx): PurgeResult => {
        let deleted = 0;
        for (const [queueKey, scidBytes] of tx.range(prefixRange(byteKey(PURGE_QUEUE)))) {
          const op = outPointFromKey(queueKey.subarray(1));
          const scid = readU64Key(scidBytes, 0);
          const prefixes = PER_CHANNEL_BUCKETS.map((bucket) => keys.chan(bucket, op));
          // A pending channel never had forwarding packages (advanceCommitChainTail refuses scid 0).
          if (scid !== 0n) prefixes.push(keys.scid(FWD_PACKAGES, scid));
          for (const prefix of prefixes) {
            for (const [k] of tx.range({ ...prefixRange(prefix), limit: maxRecords - deleted })) {
              tx.delete(k);
              deleted++;
            }
            if (deleted >= maxRecords) return { deleted, done: false };
          }
          tx.delete(queueKey);
        }
        return { deleted, done: true };
      }),
    counts: () =>
      engine.read((tx): StoreCounts => {
        const infos = allInfos(tx);
        const count = (prefix: Uint8Array) => {
          let n = 0;
          for (const _ of tx.range(prefixRange(prefix))) n++;
          return n;
        };
        // Revoked states are kept in blocks: count the states, not the keys.
        let revokedStates = 0;
        for (const bucket of [REVOCATION_BLOCKS, REVOCATION_OPEN_BLOCK]) for (const [, v] of tx.range(prefixRange(byteKey(bucket)))) revokedStates += blockStateCount(v);
        return {
          openChannels: infos.filter(isOpenChannel).length,
          pendingChannels: infos.filter(isPendingChannel).length,
          waitingCloseChannels: infos.filter(isWaitingClose).length,
          closedChannels: count(byteKey(CLOSED_SUMMARY)),
          revocationLogEntries: revokedStates,
          fwdPkgs: count(byteKey(FWD_PACKAGES)),
          closedAwaitingPurge: count(byteKey(PURGE_QUEUE)),
        };
      }),
    nextChannelKeyIndex: () =>
      engine.update((tx) => {
        const index = readKeyIndexCounter(tx);
        writeKeyIndexCounter(tx, index + 1);
        return index;
      }),
  };
}
