/**
 * KV facet: reads and scans of channels not closed, and archived (historical) channels.
 * Reads assemble channels from their parts (chanstate-tx.ts).
 */
import { outPointFromKey } from '../chanstate/channel-id.js';
import { channelOfArchive } from '../chanstate/records.js';
import { channelIdNotFound, historicalNotFound, isOpenChannel, isPendingChannel, isWaitingClose, permAndTempPeersOn } from '../chanstate/rules.js';
import type { HistoricalChannelReads, OpenChannelReads } from '../chanstate/store.js';
import type { ChanCount, Hex, OpenChannel, OutPoint } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
import { allClosedSummaries, allInfos, assemble, channelsOfPeer, listChannels, readChannel, readInfo, type KvStoreContext } from './chanstate-tx.js';
import { CHANNEL_ID_INDEX, HISTORICAL, key, keys } from './keys.js';

/** The open-channel and historical reads over `ctx.engine`. */
export function openChannelReadsFacet(ctx: KvStoreContext): OpenChannelReads & HistoricalChannelReads {
  // Listings decode the bulky parts of each channel on first access (chanstate-tx.ts assembleForListing).
  const where = (filter: (c: { readonly isPending: boolean; readonly status: number }) => boolean): Promise<OpenChannel[]> => ctx.engine.read((tx) => listChannels(tx, filter));
  return {
    fetchOpenChannels: (nodeId: Hex) => ctx.engine.read((tx) => channelsOfPeer(tx, nodeId).map((op) => readChannel(tx, op))),
    fetchChannel: (chanPoint: OutPoint) => ctx.engine.read((tx) => readChannel(tx, chanPoint)),
    fetchChannelById: (channelId: Hex) =>
      ctx.engine.read((tx) => {
        const opKey = tx.get(key(CHANNEL_ID_INDEX, hexToBytes(channelId)));
        const info = opKey === undefined ? undefined : readInfo(tx, outPointFromKey(opKey));
        if (info === undefined) throw channelIdNotFound(channelId);
        return assemble(tx, info);
      }),
    fetchAllChannels: () => where(() => true),
    fetchAllOpenChannels: () => where(isOpenChannel),
    fetchPendingChannels: () => where(isPendingChannel),
    fetchWaitingCloseChannels: () => where(isWaitingClose),
    fetchPermAndTempPeers: (chainHash: Hex): Promise<Map<Hex, ChanCount>> =>
      ctx.engine.read((tx) =>
        permAndTempPeersOn(chainHash, allInfos(tx), allClosedSummaries(tx)),
      ),
    fetchHistoricalChannel: (chanPoint: OutPoint) =>
      ctx.engine.read((tx) => {
        const bytes = tx.get(keys.chan(HISTORICAL, chanPoint));
        if (bytes === undefined) throw historicalNotFound(chanPoint);
        return channelOfArchive(bytes);
      }),
  };
}
