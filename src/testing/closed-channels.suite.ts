/**
 * Conformance: closing channels (ClosedChannelStore, HistoricalChannelReads) and the bounded
 * purge of their bulk data (MaintenanceStore).
 */
import { describe, expect, it } from 'vitest';
import { channelIdOf } from '../chanstate/channel-id.js';
import { ChannelStatus, ClosureType } from '../chanstate/types.js';
import { ErrorCode } from '../errors.js';
import { chanPointOf, channelWithModel, makeChannel, makeCloseSummary, makePendingChannel, modelOf, runRounds } from './fixtures.js';
import { addChannel, addChannels, expectCode, expectModel, useDb, type SuiteContext } from './harness.js';

/** Registers the closed-channel tests. */
export function closedChannelsSuite({ factory, options }: SuiteContext): void {
  describe('closed channels', () => {
    const h = useDb(factory);

    it('close stores the summary and the historical record and removes the channel from the open set', async () => {
      const channel = await addChannel(h.db, makeChannel(1, {}, { peer: 4 }));
      const other = await addChannel(h.db, makeChannel(2, {}, { peer: 4 }));
      const s = h.db.channelState;
      const op = channel.fundingOutpoint;
      const outcomes = await runRounds(s, modelOf(channel), [{ settle: [0], remoteAdds: 1 }, { fail: [2] }]);
      await s.applyChannelStatus(op, ChannelStatus.CoopBroadcasted);
      const summary = makeCloseSummary(channel, { closeHeight: 812_000 });

      await s.closeChannel(op, summary, ChannelStatus.LocalCloseInitiator);

      expect(await s.fetchClosedChannel(op)).toEqual(summary);
      expect(await s.fetchClosedChannelById(channelIdOf(op))).toEqual(summary);
      expect(await s.fetchHistoricalChannel(op)).toEqual({
        ...channelWithModel(channel, outcomes.at(-1)!.next),
        status: ChannelStatus.CoopBroadcasted | ChannelStatus.LocalCloseInitiator,
      });
      await expectCode(s.fetchChannel(op), ErrorCode.CHANNEL_NOT_FOUND);
      await expectCode(s.fetchChannelById(channelIdOf(op)), ErrorCode.CHANNEL_NOT_FOUND);
      await expectCode(s.latestCommitments(op), ErrorCode.CHANNEL_NOT_FOUND);
      expect(await s.fetchAllChannels()).toEqual([other]);
      expect(await s.fetchOpenChannels(channel.identityPub)).toEqual([other]);
      expect(await s.fetchWaitingCloseChannels()).toEqual([]);
      await expectCode(s.closeChannel(op, summary), ErrorCode.CHANNEL_NOT_FOUND);
    });

    it('unknown closed channels fail CLOSED_CHANNEL_NOT_FOUND', async () => {
      const open = await addChannel(h.db, makeChannel(1));
      await expectCode(h.db.channelState.fetchClosedChannel(open.fundingOutpoint), ErrorCode.CLOSED_CHANNEL_NOT_FOUND);
      await expectCode(h.db.channelState.fetchClosedChannelById(channelIdOf(open.fundingOutpoint)), ErrorCode.CLOSED_CHANNEL_NOT_FOUND);
      await expectCode(h.db.channelState.fetchClosedChannel(chanPointOf(99)), ErrorCode.CLOSED_CHANNEL_NOT_FOUND);
      await expectCode(h.db.channelState.fetchClosedChannelById(channelIdOf(chanPointOf(99))), ErrorCode.CLOSED_CHANNEL_NOT_FOUND);
    });

    it('fetchClosedChannels lists every summary, or only the pending ones', async () => {
      const channels = await addChannels(h.db, [makeChannel(1), makeChannel(2), makePendingChannel(3)]);
      const summaries = [
        makeCloseSummary(channels[0]!, { isPending: true, closeType: ClosureType.LocalForce, timeLockedBalanceSat: 5_000n }),
        makeCloseSummary(channels[1]!, { isPending: false, closeType: ClosureType.Cooperative }),
        makeCloseSummary(channels[2]!, { isPending: true, closeType: ClosureType.FundingCanceled, closingTxid: '00'.repeat(32), shortChannelId: 0n }),
      ];
      for (const summary of summaries) await h.db.channelState.closeChannel(summary.chanPoint, summary);
      const key = (x: { chanPoint: { txid: string; index: number } }) => `${x.chanPoint.txid}:${x.chanPoint.index}`;
      const sorted = <T extends { chanPoint: { txid: string; index: number } }>(xs: T[]) => [...xs].sort((x, y) => (key(x) < key(y) ? -1 : 1));
      expect(sorted(await h.db.channelState.fetchClosedChannels(false))).toEqual(sorted(summaries));
      expect(sorted(await h.db.channelState.fetchClosedChannels(true))).toEqual(sorted([summaries[0]!, summaries[2]!]));
    });

    it('a closed channel point cannot be synced again (CHANNEL_ALREADY_EXISTS), not even after the purge', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      await h.db.channelState.closeChannel(channel.fundingOutpoint, makeCloseSummary(channel));
      await expectCode(h.db.coordinator.syncPendingChannel(makePendingChannel(1), undefined, 1), ErrorCode.CHANNEL_ALREADY_EXISTS);
      while (!(await h.db.channelState.purgeClosedChannels(100)).done);
      await expectCode(h.db.coordinator.syncPendingChannel(makePendingChannel(1), undefined, 1), ErrorCode.CHANNEL_ALREADY_EXISTS);
      await expectCode(h.db.channelState.fetchChannel(channel.fundingOutpoint), ErrorCode.CHANNEL_NOT_FOUND);
    });

    it('purgeClosedChannels deletes a closed channel in small batches and leaves open channels untouched', async () => {
      const closing = await addChannel(h.db, makeChannel(1));
      const staying = await addChannel(h.db, makeChannel(2));
      const s = h.db.channelState;
      const closingRounds = await runRounds(s, modelOf(closing), [{ remoteAdds: 2 }, { remoteAdds: 1, settle: [0] }, { fail: [1] }, {}]);
      const stayingRounds = await runRounds(s, modelOf(staying), [{ remoteAdds: 1 }, { settle: [2] }]);
      const stayingModel = stayingRounds.at(-1)!.next;

      const before = await s.counts();
      expect(before).toEqual({
        openChannels: 2,
        pendingChannels: 0,
        waitingCloseChannels: 0,
        closedChannels: 0,
        revocationLogEntries: 6,
        fwdPkgs: 6,
        closedAwaitingPurge: 0,
      });
      const summary = makeCloseSummary(closing);
      await s.closeChannel(closing.fundingOutpoint, summary);
      // Close is a tombstone: the bulk data waits for the purge.
      expect(await s.counts()).toEqual({ ...before, openChannels: 1, closedChannels: 1, closedAwaitingPurge: 1 });

      let total = 0;
      let calls = 0;
      for (;;) {
        const result = await s.purgeClosedChannels(3);
        expect(result.deleted).toBeLessThanOrEqual(3);
        total += result.deleted;
        calls++;
        if (result.done) break;
        expect(calls).toBeLessThan(100);
      }
      expect(calls).toBeGreaterThan(1);
      expect(total).toBeGreaterThanOrEqual(4 + 4);
      expect(await s.counts()).toEqual({
        openChannels: 1,
        pendingChannels: 0,
        waitingCloseChannels: 0,
        closedChannels: 1,
        revocationLogEntries: 2,
        fwdPkgs: 2,
        closedAwaitingPurge: 0,
      });
      expect(await s.purgeClosedChannels(3)).toEqual({ deleted: 0, done: true });

      await expectModel(s, staying, stayingModel, options);
      expect(await s.fetchClosedChannel(closing.fundingOutpoint)).toEqual(summary);
      expect(await s.fetchHistoricalChannel(closing.fundingOutpoint)).toEqual(channelWithModel(closing, closingRounds.at(-1)!.next));
    });

    it('purgeClosedChannels on a store with nothing to purge is done at once', async () => {
      await addChannel(h.db, makeChannel(1));
      expect(await h.db.channelState.purgeClosedChannels(1)).toEqual({ deleted: 0, done: true });
    });

    it('abandonChannel closes as Abandoned with our balance; repeating it is a no-op; unknown channels fail', async () => {
      const channel = await addChannel(h.db, makePendingChannel(1));
      const s = h.db.channelState;
      const op = channel.fundingOutpoint;
      await s.abandonChannel(op, 812_345);
      const summary = await s.fetchClosedChannel(op);
      expect(summary).toMatchObject({
        chanPoint: op,
        closeType: ClosureType.Abandoned,
        closeHeight: 812_345,
        settledBalanceSat: channel.localCommitment.localBalanceMsat / 1000n,
        remotePub: channel.identityPub,
        capacitySat: channel.capacitySat,
        chainHash: channel.chainHash,
      });
      await expectCode(s.fetchChannel(op), ErrorCode.CHANNEL_NOT_FOUND);
      expect((await s.fetchHistoricalChannel(op)).fundingOutpoint).toEqual(op);

      await s.abandonChannel(op, 900_000);
      expect(await s.fetchClosedChannel(op)).toEqual(summary);
      expect(await s.fetchClosedChannels(false)).toHaveLength(1);
      await expectCode(s.abandonChannel(chanPointOf(99), 1), ErrorCode.CHANNEL_NOT_FOUND);
    });

    it('final HTLC outcomes survive the close and the purge', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      await h.db.channelState.putOnchainFinalHtlcOutcome(channel.shortChannelId, 7, true);
      await h.db.channelState.closeChannel(channel.fundingOutpoint, makeCloseSummary(channel));
      while (!(await h.db.channelState.purgeClosedChannels(1)).done);
      expect(await h.db.channelState.lookupFinalHtlc(channel.shortChannelId, 7)).toEqual({ settled: true, offchain: false });
    });
  });
}
