/**
 * Conformance: funding lifecycle, status bits, shutdown info and broadcast close
 * transactions (ChannelLifecycleStore, ChannelStatusStore, ChannelShutdownStore,
 * ChannelCloseTxStore), and CHANNEL_NOT_FOUND from every per-channel method.
 */
import { describe, expect, it } from 'vitest';
import type { ChannelStateStore } from '../chanstate/store.js';
import { ChannelStatus, ChannelType, type ShutdownInfo } from '../chanstate/types.js';
import { newPkgFilter } from '../chanstate/pkg-filter.js';
import { ErrorCode } from '../errors.js';
import {
  chanPointOf,
  detBytes,
  makeChannel,
  makeCloseSummary,
  makePendingChannel,
  makeTx,
  modelOf,
  PaymentRound,
  pubkeyOf,
  scidOf,
} from './fixtures.js';
import { addChannel, expectCode, useDb, type SuiteContext } from './harness.js';

/** Registers the lifecycle and status tests. */
export function statusAndLifecycleSuite({ factory }: SuiteContext): void {
  describe('lifecycle and status', () => {
    const h = useDb(factory);

    it('markConfirmationHeight and markCloseConfirmationHeight set, and undefined clears, the heights', async () => {
      const channel = await addChannel(h.db, makePendingChannel(1));
      const op = channel.fundingOutpoint;
      await h.db.channelState.markConfirmationHeight(op, 812_345);
      expect((await h.db.channelState.fetchChannel(op)).confirmationHeight).toBe(812_345);

      await h.db.channelState.markCloseConfirmationHeight(op, 900_001);
      expect(await h.db.channelState.fetchChannel(op)).toEqual({ ...channel, confirmationHeight: 812_345, closeConfirmationHeight: 900_001 });
      await h.db.channelState.markCloseConfirmationHeight(op, undefined);
      const after = await h.db.channelState.fetchChannel(op);
      expect(after.closeConfirmationHeight).toBeUndefined();
      expect(after).toEqual({ ...channel, confirmationHeight: 812_345 });
    });

    it('markOpen moves a pending channel to the open set at its short channel id', async () => {
      const channel = await addChannel(h.db, makePendingChannel(1));
      const scid = scidOf(812_000, 17, channel.fundingOutpoint.index);
      await h.db.channelState.markOpen(channel.fundingOutpoint, scid);
      const open = { ...channel, isPending: false, shortChannelId: scid };
      expect(await h.db.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(open);
      expect(await h.db.channelState.fetchPendingChannels()).toEqual([]);
      expect(await h.db.channelState.fetchAllOpenChannels()).toEqual([open]);
    });

    it('markRealScid records the confirmed scid; markScidAliasNegotiated sets only the ScidAliasFeature bit', async () => {
      const alias = scidOf(16_000_000, 0, 1);
      const channel = await addChannel(h.db, makeChannel(1, { shortChannelId: alias, chanType: ChannelType.ZeroConf | ChannelType.AnchorOutputs }));
      const op = channel.fundingOutpoint;
      await h.db.channelState.markRealScid(op, scidOf(812_000, 3, 0));
      await h.db.channelState.markScidAliasNegotiated(op);
      await h.db.channelState.markScidAliasNegotiated(op);
      expect(await h.db.channelState.fetchChannel(op)).toEqual({
        ...channel,
        realScid: scidOf(812_000, 3, 0),
        chanType: ChannelType.ZeroConf | ChannelType.AnchorOutputs | ChannelType.ScidAliasFeature,
      });
    });

    it('applyChannelStatus ORs bits in and clearChannelStatus clears only the given bits; both return the stored status', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const op = channel.fundingOutpoint;
      expect(await h.db.channelState.applyChannelStatus(op, ChannelStatus.CommitBroadcasted)).toBe(ChannelStatus.CommitBroadcasted);
      expect(await h.db.channelState.applyChannelStatus(op, ChannelStatus.LocalCloseInitiator)).toBe(
        ChannelStatus.CommitBroadcasted | ChannelStatus.LocalCloseInitiator,
      );
      expect(await h.db.channelState.clearChannelStatus(op, ChannelStatus.CommitBroadcasted | ChannelStatus.CoopBroadcasted)).toBe(
        ChannelStatus.LocalCloseInitiator,
      );
      expect((await h.db.channelState.fetchChannel(op)).status).toBe(ChannelStatus.LocalCloseInitiator);
      expect(await h.db.channelState.clearChannelStatus(op, ChannelStatus.LocalCloseInitiator)).toBe(ChannelStatus.Default);
      expect(await h.db.channelState.fetchAllOpenChannels()).toEqual([channel]);
    });

    it('markDataLoss sets LocalDataLoss and stores the commit point; NO_COMMIT_POINT before', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const op = channel.fundingOutpoint;
      await expectCode(h.db.channelState.fetchDataLossCommitPoint(op), ErrorCode.NO_COMMIT_POINT);
      const point = pubkeyOf('data-loss-point');
      expect(await h.db.channelState.markDataLoss(op, point)).toBe(ChannelStatus.LocalDataLoss);
      expect(await h.db.channelState.fetchDataLossCommitPoint(op)).toBe(point);
      expect((await h.db.channelState.fetchChannel(op)).status).toBe(ChannelStatus.LocalDataLoss);
      expect(await h.db.channelState.fetchWaitingCloseChannels()).toHaveLength(1);
    });

    it('markBorked: every commitment mutation then fails CHANNEL_BORKED and changes nothing', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const op = channel.fundingOutpoint;
      const round = new PaymentRound(modelOf(channel), { settle: [0], remoteAdds: 1 });
      await round.append(h.db.channelState);
      expect(await h.db.channelState.markBorked(op)).toBe(ChannelStatus.Borked);

      await expectCode(round.append(h.db.channelState), ErrorCode.CHANNEL_BORKED);
      await expectCode(round.advance(h.db.channelState), ErrorCode.CHANNEL_BORKED);
      await expectCode(round.update(h.db.channelState), ErrorCode.CHANNEL_BORKED);
      expect(await h.db.channelState.latestCommitments(op)).toEqual({ local: channel.localCommitment, remote: channel.remoteCommitment });
      expect(await h.db.channelState.remoteCommitChainTip(op)).toEqual(round.plan.tip);
      expect(await h.db.channelState.fetchRevocationLog(op, 0, 10)).toEqual([]);
      expect(await h.db.channelState.loadFwdPkgs(op)).toEqual([]);
      expect((await h.db.channelState.fetchChannel(op)).status).toBe(ChannelStatus.Borked);
    });

    it('shutdown info is undefined until stored, then read back; storing again replaces it', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const op = channel.fundingOutpoint;
      expect(await h.db.channelState.fetchShutdownInfo(op)).toBeUndefined();
      const first: ShutdownInfo = { deliveryScript: Uint8Array.of(0x00, 0x14, ...detBytes('delivery', 20)), closer: 'local' };
      await h.db.channelState.storeShutdownInfo(op, first);
      expect(await h.db.channelState.fetchShutdownInfo(op)).toEqual(first);
      const second: ShutdownInfo = { deliveryScript: Uint8Array.of(0x51, 0x20, ...detBytes('delivery-2', 32)), closer: 'remote' };
      await h.db.channelState.storeShutdownInfo(op, second);
      expect(await h.db.channelState.fetchShutdownInfo(op)).toEqual(second);
    });

    it('broadcast close transactions: NO_CLOSE_TX until marked, then stored with the status and initiator bits', async () => {
      const a = await addChannel(h.db, makeChannel(1));
      const b = await addChannel(h.db, makeChannel(2));
      await expectCode(h.db.channelState.fetchBroadcastedCommitment(a.fundingOutpoint), ErrorCode.NO_CLOSE_TX);
      await expectCode(h.db.channelState.fetchBroadcastedCooperative(a.fundingOutpoint), ErrorCode.NO_CLOSE_TX);

      const commitTx = makeTx('force-close', 3);
      await h.db.channelState.markCommitmentBroadcasted(a.fundingOutpoint, commitTx, 'local');
      expect(await h.db.channelState.fetchBroadcastedCommitment(a.fundingOutpoint)).toEqual(commitTx);
      await expectCode(h.db.channelState.fetchBroadcastedCooperative(a.fundingOutpoint), ErrorCode.NO_CLOSE_TX);
      expect((await h.db.channelState.fetchChannel(a.fundingOutpoint)).status).toBe(ChannelStatus.CommitBroadcasted | ChannelStatus.LocalCloseInitiator);

      const coopTx = makeTx('coop-close', 2);
      await h.db.channelState.markCoopBroadcasted(b.fundingOutpoint, coopTx, 'remote');
      expect(await h.db.channelState.fetchBroadcastedCooperative(b.fundingOutpoint)).toEqual(coopTx);
      await expectCode(h.db.channelState.fetchBroadcastedCommitment(b.fundingOutpoint), ErrorCode.NO_CLOSE_TX);
      expect((await h.db.channelState.fetchChannel(b.fundingOutpoint)).status).toBe(ChannelStatus.CoopBroadcasted | ChannelStatus.RemoteCloseInitiator);
    });

    it('every per-channel method fails CHANNEL_NOT_FOUND for an unknown channel', async () => {
      const known = await addChannel(h.db, makeChannel(1));
      const op = chanPointOf(99);
      const ghost = makeChannel(99);
      const round = new PaymentRound(modelOf(ghost));
      const calls: Array<[string, (s: ChannelStateStore) => Promise<unknown>]> = [
        ['fetchChannel', (s) => s.fetchChannel(op)],
        ['markConfirmationHeight', (s) => s.markConfirmationHeight(op, 1)],
        ['markCloseConfirmationHeight', (s) => s.markCloseConfirmationHeight(op, 1)],
        ['markOpen', (s) => s.markOpen(op, 5n)],
        ['markRealScid', (s) => s.markRealScid(op, 5n)],
        ['markScidAliasNegotiated', (s) => s.markScidAliasNegotiated(op)],
        ['applyChannelStatus', (s) => s.applyChannelStatus(op, ChannelStatus.Borked)],
        ['clearChannelStatus', (s) => s.clearChannelStatus(op, ChannelStatus.Borked)],
        ['markDataLoss', (s) => s.markDataLoss(op, pubkeyOf('x'))],
        ['fetchDataLossCommitPoint', (s) => s.fetchDataLossCommitPoint(op)],
        ['markBorked', (s) => s.markBorked(op)],
        ['storeShutdownInfo', (s) => s.storeShutdownInfo(op, { deliveryScript: Uint8Array.of(0x51), closer: 'local' })],
        ['fetchShutdownInfo', (s) => s.fetchShutdownInfo(op)],
        ['markCommitmentBroadcasted', (s) => s.markCommitmentBroadcasted(op, makeTx('x', 1), 'local')],
        ['markCoopBroadcasted', (s) => s.markCoopBroadcasted(op, makeTx('x', 1), 'remote')],
        ['fetchBroadcastedCommitment', (s) => s.fetchBroadcastedCommitment(op)],
        ['fetchBroadcastedCooperative', (s) => s.fetchBroadcastedCooperative(op)],
        ['updateCommitment', (s) => round.update(s)],
        ['appendRemoteCommitChain', (s) => round.append(s)],
        ['remoteCommitChainTip', (s) => s.remoteCommitChainTip(op)],
        ['unsignedAckedUpdates', (s) => s.unsignedAckedUpdates(op)],
        ['remoteUnsignedLocalUpdates', (s) => s.remoteUnsignedLocalUpdates(op)],
        ['insertNextRevocation', (s) => s.insertNextRevocation(op, pubkeyOf('x'))],
        ['advanceCommitChainTail', (s) => round.advance(s)],
        ['commitmentHeight', (s) => s.commitmentHeight(op)],
        ['latestCommitments', (s) => s.latestCommitments(op)],
        ['remoteRevocationStore', (s) => s.remoteRevocationStore(op)],
        ['revocationLogTailHeight', (s) => s.revocationLogTailHeight(op)],
        ['findPreviousState', (s) => s.findPreviousState(op, 0)],
        ['fetchRevocationLog', (s) => s.fetchRevocationLog(op, 0, 10)],
        ['loadFwdPkgs', (s) => s.loadFwdPkgs(op)],
        ['ackAddHtlcs', (s) => s.ackAddHtlcs(op, [{ height: 1, index: 0 }])],
        ['setFwdFilter', (s) => s.setFwdFilter(op, 1, newPkgFilter(0))],
        ['removeFwdPkgs', (s) => s.removeFwdPkgs(op, [1])],
        ['closeChannel', (s) => s.closeChannel(op, makeCloseSummary(ghost))],
        ['abandonChannel', (s) => s.abandonChannel(op, 800_000)],
      ];
      const wrong: string[] = [];
      for (const [name, call] of calls) {
        try {
          await call(h.db.channelState);
          wrong.push(`${name} resolved`);
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          if (code !== ErrorCode.CHANNEL_NOT_FOUND) wrong.push(`${name} failed with ${String(code ?? err)}`);
        }
      }
      expect(wrong).toEqual([]);
      // The known channel is untouched by all of that.
      expect(await h.db.channelState.fetchAllChannels()).toEqual([known]);
    });
  });
}
