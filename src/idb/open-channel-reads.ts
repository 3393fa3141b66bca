/**
 * IndexedDB facet: reads and scans of channels not closed, and archived (historical)
 * channels. Each method is one readonly transaction; reads assemble channels from their
 * parts (chanstate-tx.ts).
 */
import { channelOfArchive, type ChannelInfo } from '../chanstate/records.js';
import { channelIdNotFound, historicalNotFound, isOpenChannel, isPendingChannel, isWaitingClose, permAndTempPeersOn } from '../chanstate/rules.js';
import type { HistoricalChannelReads, OpenChannelReads } from '../chanstate/store.js';
import type { ChanCount, Hex, OpenChannel, OutPoint } from '../chanstate/types.js';
import { allClosedSummaries, allInfos, assemble, infosOfPeer, readChannel, readInfo, type IdbStoreContext } from './chanstate-tx.js';
import { CHANNEL_ID_INDEX, CHANNEL_PART_STORES, CHANNEL_REGISTRY, CHANNELS, CLOSED_SUMMARIES, HISTORICAL, opKey, opOfKey } from './stores.js';

/** The open-channel and historical reads over `ctx.conn`. */
export function openChannelReadsFacet(ctx: IdbStoreContext): OpenChannelReads & HistoricalChannelReads {
  const { conn } = ctx;
  const where = (filter: (info: ChannelInfo) => boolean): Promise<OpenChannel[]> =>
    conn.run(CHANNEL_PART_STORES, 'readonly', async (tx) => Promise.all((await allInfos(tx)).filter(filter).map((info) => assemble(tx, info))));
  return {
    fetchOpenChannels: (nodeId: Hex) =>
      conn.run(CHANNEL_PART_STORES, 'readonly', async (tx) => Promise.all((await infosOfPeer(tx, nodeId)).map((info) => assemble(tx, info)))),
    fetchChannel: (chanPoint: OutPoint) => conn.run(CHANNEL_PART_STORES, 'readonly', (tx) => readChannel(tx, chanPoint)),
    fetchChannelById: (channelId: Hex) =>
      conn.run([...CHANNEL_PART_STORES, CHANNEL_REGISTRY], 'readonly', async (tx) => {
        const key = await tx.indexGetKey(CHANNEL_REGISTRY, CHANNEL_ID_INDEX, channelId);
        const info = key === undefined ? undefined : await readInfo(tx, opOfKey(key));
        if (info === undefined) throw channelIdNotFound(channelId);
        return assemble(tx, info);
      }),
    fetchAllChannels: () => where(() => true),
    fetchAllOpenChannels: () => where(isOpenChannel),
    fetchPendingChannels: () => where(isPendingChannel),
    fetchWaitingCloseChannels: () => where(isWaitingClose),
    fetchPermAndTempPeers: (chainHash: Hex): Promise<Map<Hex, ChanCount>> =>
      conn.run([CHANNELS, CLOSED_SUMMARIES], 'readonly', async (tx) => {
        const [infos, summaries] = await Promise.all([allInfos(tx), allClosedSummaries(tx)]);
        return permAndTempPeersOn(chainHash, infos, summaries);
      }),
    fetchHistoricalChannel: (chanPoint: OutPoint) =>
      conn.run([HISTORICAL], 'readonly', async (tx) => {
        const bytes = await tx.get<Uint8Array>(HISTORICAL, opKey(chanPoint));
        if (bytes === undefined) throw historicalNotFound(chanPoint);
        return channelOfArchive(bytes);
      }),
  };
}
