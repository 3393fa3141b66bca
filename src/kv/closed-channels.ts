/**
 * KV facet: closed channels. Close is a tombstone (chanstate-tx.ts closeChannelTx): one
 * short transaction archives the channel and queues its bulk data for the bounded purge.
 */
import { formatOutPoint, outPointFromKey } from '../chanstate/channel-id.js';
import { ABANDON_STATUS, abandonSummary, assertCloseAllowed, channelNotFound, closedNotFound } from '../chanstate/rules.js';
import type { ClosedChannelStore } from '../chanstate/store.js';
import type { ChannelCloseSummary, ChannelStatusBits, Hex, OutPoint } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
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
  type KvStoreContext,
} from './chanstate-tx.js';
import { CHANNEL_ID_INDEX, key } from './keys.js';

/** The closed-channel methods over `ctx.engine`. */
export function closedChannelsFacet(ctx: KvStoreContext): ClosedChannelStore {
  const { engine } = ctx;
  return {
    fetchClosedChannels: (pendingOnly: boolean) => engine.read((tx) => allClosedSummaries(tx).filter((s) => !pendingOnly || s.isPending)),
    fetchClosedChannel: (chanPoint: OutPoint) =>
      engine.read((tx) => {
        const summary = readClosedSummary(tx, chanPoint);
        if (summary === undefined) throw closedNotFound(formatOutPoint(chanPoint));
        return summary;
      }),
    fetchClosedChannelById: (channelId: Hex) =>
      engine.read((tx) => {
        const opKey = tx.get(key(CHANNEL_ID_INDEX, hexToBytes(channelId)));
        const summary = opKey === undefined ? undefined : readClosedSummary(tx, outPointFromKey(opKey));
        if (summary === undefined) throw closedNotFound(`with id ${channelId}`);
        return summary;
      }),
    async closeChannel(chanPoint: OutPoint, summary: ChannelCloseSummary, extraStatus: ChannelStatusBits = 0) {
      await engine.update((tx) => {
        const info = requireInfo(tx, chanPoint);
        assertCloseAllowed(chanPoint, summary, readExternalFunding(tx, chanPoint));
        closeChannelTx(tx, info, summary, extraStatus);
      });
    },
    async abandonChannel(chanPoint: OutPoint, bestHeight: number) {
      await engine.update((tx) => {
        const info = readInfo(tx, chanPoint);
        if (info === undefined) {
          // Abandoning twice is fine; abandoning an unknown channel is not.
          if (readClosedSummary(tx, chanPoint) !== undefined) return;
          throw channelNotFound(chanPoint);
        }
        const summary = abandonSummary(info, readCommitment(tx, chanPoint, LOCAL).localBalanceMsat, readRevocation(tx, chanPoint), bestHeight);
        closeChannelTx(tx, info, summary, ABANDON_STATUS);
      });
    },
  };
}
