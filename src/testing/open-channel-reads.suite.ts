/**
 * Conformance: open-channel reads and scans (OpenChannelReads, HistoricalChannelReads).
 */
import { describe, expect, it } from 'vitest';
import { channelIdOf } from '../chanstate/channel-id.js';
import { ChannelStatus, ClosureType } from '../chanstate/types.js';
import { ErrorCode } from '../errors.js';
import { CHAIN_HASHES } from '../linknode/store.js';
import { chanPointOf, makeChannel, makeCloseSummary, makePendingChannel, peerPub } from './fixtures.js';
import { addChannel, addChannels, byChanPoint, expectCode, useDb, type SuiteContext } from './harness.js';

/** Registers the open-channel read tests. */
export function openChannelReadsSuite({ factory }: SuiteContext): void {
  describe('open channel reads', () => {
    const h = useDb(factory);

    it('returns an open channel exactly as written, by channel point and by channel id', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      await addChannel(h.db, makeChannel(2));
      expect(await h.db.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(channel);
      expect(await h.db.channelState.fetchChannelById(channelIdOf(channel.fundingOutpoint))).toEqual(channel);
    });

    it('returns a pending channel as pending, with its external funding absent', async () => {
      const channel = await addChannel(h.db, makePendingChannel(3));
      const read = await h.db.channelState.fetchChannel(channel.fundingOutpoint);
      expect(read).toEqual(channel);
      expect(read.isPending).toBe(true);
      expect(read.externalFunding).toBeUndefined();
    });

    it('fails CHANNEL_NOT_FOUND for an unknown channel point or channel id', async () => {
      await addChannel(h.db, makeChannel(1));
      await expectCode(h.db.channelState.fetchChannel(chanPointOf(99)), ErrorCode.CHANNEL_NOT_FOUND);
      await expectCode(h.db.channelState.fetchChannel({ ...chanPointOf(1), index: chanPointOf(1).index + 1 }), ErrorCode.CHANNEL_NOT_FOUND);
      await expectCode(h.db.channelState.fetchChannelById(channelIdOf(chanPointOf(99))), ErrorCode.CHANNEL_NOT_FOUND);
    });

    it('fetchHistoricalChannel fails HISTORICAL_CHANNEL_NOT_FOUND for an open or unknown channel', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      await expectCode(h.db.channelState.fetchHistoricalChannel(channel.fundingOutpoint), ErrorCode.HISTORICAL_CHANNEL_NOT_FOUND);
      await expectCode(h.db.channelState.fetchHistoricalChannel(chanPointOf(99)), ErrorCode.HISTORICAL_CHANNEL_NOT_FOUND);
    });

    it("fetchOpenChannels returns exactly the peer's channels, and [] for a peer without any", async () => {
      const a = makeChannel(1, {}, { peer: 7 });
      const b = makePendingChannel(2, {}, { peer: 7 });
      const other = makeChannel(3, {}, { peer: 8 });
      await addChannels(h.db, [a, b, other]);
      expect(byChanPoint(await h.db.channelState.fetchOpenChannels(peerPub(7)))).toEqual(byChanPoint([a, b]));
      expect(await h.db.channelState.fetchOpenChannels(peerPub(8))).toEqual([other]);
      expect(await h.db.channelState.fetchOpenChannels(peerPub(9))).toEqual([]);
    });

    it('fetchAllChannels returns pending, open and waiting-close channels ordered by channel point', async () => {
      const channels = [makeChannel(1), makePendingChannel(2), makeChannel(3), makeChannel(4), makeChannel(5)];
      await addChannels(h.db, channels);
      await h.db.channelState.applyChannelStatus(chanPointOf(3), ChannelStatus.CommitBroadcasted);
      await h.db.channelState.closeChannel(chanPointOf(5), makeCloseSummary(channels[4]!));
      const expected = byChanPoint([channels[0]!, channels[1]!, { ...channels[2]!, status: ChannelStatus.CommitBroadcasted }, channels[3]!]);
      expect(await h.db.channelState.fetchAllChannels()).toEqual(expected);
    });

    it('fetchAllOpenChannels, fetchPendingChannels and fetchWaitingCloseChannels filter by state', async () => {
      const open = makeChannel(1);
      const pending = makePendingChannel(2);
      const closing = makeChannel(3);
      const pendingClosing = makePendingChannel(4);
      await addChannels(h.db, [open, pending, closing, pendingClosing]);
      await h.db.channelState.markCommitmentBroadcasted(closing.fundingOutpoint, Uint8Array.of(1, 2, 3), 'local');
      await h.db.channelState.applyChannelStatus(pendingClosing.fundingOutpoint, ChannelStatus.Borked);
      const closingNow = { ...closing, status: ChannelStatus.CommitBroadcasted | ChannelStatus.LocalCloseInitiator };
      const pendingClosingNow = { ...pendingClosing, status: ChannelStatus.Borked };

      expect(await h.db.channelState.fetchAllOpenChannels()).toEqual([open]);
      expect(await h.db.channelState.fetchPendingChannels()).toEqual(byChanPoint([pending, pendingClosingNow]));
      expect(await h.db.channelState.fetchWaitingCloseChannels()).toEqual(byChanPoint([closingNow, pendingClosingNow]));
    });

    it('every scan is empty on an empty store', async () => {
      expect(await h.db.channelState.fetchAllChannels()).toEqual([]);
      expect(await h.db.channelState.fetchAllOpenChannels()).toEqual([]);
      expect(await h.db.channelState.fetchPendingChannels()).toEqual([]);
      expect(await h.db.channelState.fetchWaitingCloseChannels()).toEqual([]);
      expect(await h.db.channelState.fetchPermAndTempPeers(CHAIN_HASHES.regtest)).toEqual(new Map());
    });

    it('fetchPermAndTempPeers counts open/closed channels and pending opens per peer of one chain', async () => {
      const openOnly = makeChannel(1, {}, { peer: 1 });
      const pendingA = makePendingChannel(2, {}, { peer: 2 });
      const pendingB = makePendingChannel(3, {}, { peer: 2 });
      const closed = makeChannel(4, {}, { peer: 3 });
      const mixedOpen = makeChannel(5, {}, { peer: 5 });
      const mixedPending = makePendingChannel(6, {}, { peer: 5 });
      const mainnet = makeChannel(7, { chainHash: CHAIN_HASHES.mainnet }, { peer: 4 });
      await addChannels(h.db, [openOnly, pendingA, pendingB, closed, mixedOpen, mixedPending, mainnet]);
      await h.db.channelState.closeChannel(closed.fundingOutpoint, makeCloseSummary(closed, { closeType: ClosureType.Cooperative }));

      const peers = await h.db.channelState.fetchPermAndTempPeers(CHAIN_HASHES.regtest);
      expect(peers).toEqual(
        new Map([
          [peerPub(1), { hasOpenOrClosedChannel: true, pendingOpenCount: 0 }],
          [peerPub(2), { hasOpenOrClosedChannel: false, pendingOpenCount: 2 }],
          [peerPub(3), { hasOpenOrClosedChannel: true, pendingOpenCount: 0 }],
          [peerPub(5), { hasOpenOrClosedChannel: true, pendingOpenCount: 1 }],
        ]),
      );
      expect(await h.db.channelState.fetchPermAndTempPeers(CHAIN_HASHES.mainnet)).toEqual(
        new Map([[peerPub(4), { hasOpenOrClosedChannel: true, pendingOpenCount: 0 }]]),
      );
    });

    it('returns fresh values: changing a returned channel does not change the store', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const read = await h.db.channelState.fetchChannel(channel.fundingOutpoint);
      read.localCommitment.commitTx.fill(0xee);
      (read.localCommitment.htlcs as unknown[]).pop();
      (read as { capacitySat: bigint }).capacitySat = 1n;
      expect(await h.db.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(channel);
    });

    it('does not keep references to the values written', async () => {
      const channel = makeChannel(1);
      const written = structuredClone(channel);
      await addChannel(h.db, written);
      written.localCommitment.commitTx.fill(0xee);
      written.remoteCommitment.htlcs[0]!.onionBlob.fill(0);
      expect(await h.db.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(channel);
    });
  });
}
