/**
 * IndexedDB facet: closed channels. Close is a tombstone (chanstate-tx.ts closeChannelTx):
 * one short transaction archives the channel and queues its bulk data for the bounded purge.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { ABANDON_STATUS, abandonSummary, assertCloseAllowed, channelNotFound, closedNotFound } from '../chanstate/rules.js';
import type { ClosedChannelStore } from '../chanstate/store.js';
import type { ChannelCloseSummary, ChannelStatusBits, Hex, OutPoint } from '../chanstate/types.js';
import {
  allClosedSummaries,
  closeChannelTx,
  LOCAL,
  readClosedSummary,
  readCommitment,
  readExternalFunding,
  readInfo,
  readRevocation,
  requireInfo,
  type IdbStoreContext,
} from './chanstate-tx.js';
import { CHANNEL_ID_INDEX, CHANNEL_REGISTRY, CLOSE_STORES, CLOSED_SUMMARIES, opOfKey } from './stores.js';

/** The closed-channel methods over `ctx.conn`. */
export function closedChannelsFacet(ctx: IdbStoreContext): ClosedChannelStore {
  const { conn } = ctx;
  return {
    fetchClosedChannels: (pendingOnly: boolean) =>
      conn.run([CLOSED_SUMMARIES], 'readonly', async (tx) => (await allClosedSummaries(tx)).filter((s) => !pendingOnly || s.isPending)),
    fetchClosedChannel: (chanPoint: OutPoint) =>
      conn.run([CLOSED_SUMMARIES], 'readonly', async (tx) => {
        const summary = await readClosedSummary(tx, chanPoint);
        if (summary === undefined) throw closedNotFound(formatOutPoint(chanPoint));
        return summary;
      }),
    fetchClosedChannelById: (channelId: Hex) =>
      conn.run([CHANNEL_REGISTRY, CLOSED_SUMMARIES], 'readonly', async (tx) => {
        const key = await tx.indexGetKey(CHANNEL_REGISTRY, CHANNEL_ID_INDEX, channelId);
        const summary = key === undefined ? undefined : await readClosedSummary(tx, opOfKey(key));
        if (summary === undefined) throw closedNotFound(`with id ${channelId}`);
        return summary;
      }),
    async closeChannel(chanPoint: OutPoint, summary: ChannelCloseSummary, extraStatus: ChannelStatusBits = 0) {
      await conn.run(CLOSE_STORES, 'readwrite', async (tx) => {
        const [info, external] = await Promise.all([requireInfo(tx, chanPoint), readExternalFunding(tx, chanPoint)]);
        assertCloseAllowed(chanPoint, summary, external);
        await closeChannelTx(tx, info, summary, extraStatus);
      });
    },
    async abandonChannel(chanPoint: OutPoint, bestHeight: number) {
      await conn.run(CLOSE_STORES, 'readwrite', async (tx) => {
        const info = await readInfo(tx, chanPoint);
        if (info === undefined) {
          // Abandoning twice is fine; abandoning an unknown channel is not.
          if ((await readClosedSummary(tx, chanPoint)) !== undefined) return;
          throw channelNotFound(chanPoint);
        }
        const [local, revocation] = await Promise.all([readCommitment(tx, chanPoint, LOCAL), readRevocation(tx, chanPoint)]);
        await closeChannelTx(tx, info, abandonSummary(info, local.localBalanceMsat, revocation, bestHeight), ABANDON_STATUS);
      });
    },
  };
}
