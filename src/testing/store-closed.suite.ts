/**
 * Conformance: after close(), every method of every contract rejects with STORE_CLOSED.
 *
 * The tables are typed as complete maps over each contract's methods, so adding a method to
 * a contract without adding it here is a compile error.
 */
import { describe, expect, it } from 'vitest';
import { channelIdOf } from '../chanstate/channel-id.js';
import { newPkgFilter } from '../chanstate/pkg-filter.js';
import type { ChannelStateStore } from '../chanstate/store.js';
import { ChannelStatus, OpeningStage } from '../chanstate/types.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { ErrorCode } from '../errors.js';
import { CHAIN_HASHES, type LinkNodeStore } from '../linknode/store.js';
import { makeChannel, makeCloseSummary, makeLinkNode, makePendingChannel, makeTx, modelOf, PaymentRound, peerPub, pubkeyOf } from './fixtures.js';
import { addChannel, useDb, type ConformanceDb, type SuiteContext } from './harness.js';

type Calls<T> = { readonly [K in keyof T]: (target: T) => Promise<unknown> };

const channel = makeChannel(1);
const op = channel.fundingOutpoint;
const round = new PaymentRound(modelOf(channel), { remoteAdds: 1, settle: [0] });

const CHANNEL_STATE_CALLS: Calls<ChannelStateStore> = {
  fetchOpenChannels: (s) => s.fetchOpenChannels(channel.identityPub),
  fetchChannel: (s) => s.fetchChannel(op),
  fetchChannelById: (s) => s.fetchChannelById(channelIdOf(op)),
  fetchAllChannels: (s) => s.fetchAllChannels(),
  fetchAllOpenChannels: (s) => s.fetchAllOpenChannels(),
  fetchPendingChannels: (s) => s.fetchPendingChannels(),
  fetchWaitingCloseChannels: (s) => s.fetchWaitingCloseChannels(),
  fetchPermAndTempPeers: (s) => s.fetchPermAndTempPeers(CHAIN_HASHES.regtest),
  fetchHistoricalChannel: (s) => s.fetchHistoricalChannel(op),
  markConfirmationHeight: (s) => s.markConfirmationHeight(op, 1),
  markCloseConfirmationHeight: (s) => s.markCloseConfirmationHeight(op, 2),
  markOpen: (s) => s.markOpen(op, channel.shortChannelId),
  markRealScid: (s) => s.markRealScid(op, channel.shortChannelId),
  markScidAliasNegotiated: (s) => s.markScidAliasNegotiated(op),
  applyChannelStatus: (s) => s.applyChannelStatus(op, ChannelStatus.CommitBroadcasted),
  clearChannelStatus: (s) => s.clearChannelStatus(op, ChannelStatus.CommitBroadcasted),
  markDataLoss: (s) => s.markDataLoss(op, pubkeyOf('closed-store-point')),
  fetchDataLossCommitPoint: (s) => s.fetchDataLossCommitPoint(op),
  markBorked: (s) => s.markBorked(op),
  storeShutdownInfo: (s) => s.storeShutdownInfo(op, { deliveryScript: Uint8Array.of(0x51), closer: 'local' }),
  fetchShutdownInfo: (s) => s.fetchShutdownInfo(op),
  markCommitmentBroadcasted: (s) => s.markCommitmentBroadcasted(op, makeTx('closed-store', 1), 'local'),
  markCoopBroadcasted: (s) => s.markCoopBroadcasted(op, makeTx('closed-store', 1), 'remote'),
  fetchBroadcastedCommitment: (s) => s.fetchBroadcastedCommitment(op),
  fetchBroadcastedCooperative: (s) => s.fetchBroadcastedCooperative(op),
  updateCommitment: (s) => round.update(s),
  appendRemoteCommitChain: (s) => round.append(s),
  remoteCommitChainTip: (s) => s.remoteCommitChainTip(op),
  unsignedAckedUpdates: (s) => s.unsignedAckedUpdates(op),
  remoteUnsignedLocalUpdates: (s) => s.remoteUnsignedLocalUpdates(op),
  insertNextRevocation: (s) => s.insertNextRevocation(op, pubkeyOf('closed-store-next')),
  advanceCommitChainTail: (s) => round.advance(s),
  commitmentHeight: (s) => s.commitmentHeight(op),
  latestCommitments: (s) => s.latestCommitments(op),
  remoteRevocationStore: (s) => s.remoteRevocationStore(op),
  revocationLogTailHeight: (s) => s.revocationLogTailHeight(op),
  findPreviousState: (s) => s.findPreviousState(op, 0),
  fetchRevocationLog: (s) => s.fetchRevocationLog(op, 0, 10),
  loadFwdPkgs: (s) => s.loadFwdPkgs(op),
  ackAddHtlcs: (s) => s.ackAddHtlcs(op, [{ height: 1, index: 0 }]),
  ackSettleFails: (s) => s.ackSettleFails([{ source: channel.shortChannelId, height: 1, index: 0 }]),
  setFwdFilter: (s) => s.setFwdFilter(op, 1, newPkgFilter(1)),
  removeFwdPkgs: (s) => s.removeFwdPkgs(op, [1]),
  fetchClosedChannels: (s) => s.fetchClosedChannels(false),
  fetchClosedChannel: (s) => s.fetchClosedChannel(op),
  fetchClosedChannelById: (s) => s.fetchClosedChannelById(channelIdOf(op)),
  closeChannel: (s) => s.closeChannel(op, makeCloseSummary(channel)),
  abandonChannel: (s) => s.abandonChannel(op, 800_000),
  lookupFinalHtlc: (s) => s.lookupFinalHtlc(channel.shortChannelId, 0),
  putOnchainFinalHtlcOutcome: (s) => s.putOnchainFinalHtlcOutcome(channel.shortChannelId, 0, true),
  saveChannelOpeningState: (s) => s.saveChannelOpeningState(op, { stage: OpeningStage.MarkedOpen, shortChannelId: channel.shortChannelId }),
  getChannelOpeningState: (s) => s.getChannelOpeningState(op),
  deleteChannelOpeningState: (s) => s.deleteChannelOpeningState(op),
  saveInitialForwardingPolicy: (s) =>
    s.saveInitialForwardingPolicy(channelIdOf(op), { minHtlcMsat: 1n, maxHtlcMsat: 2n, baseFeeMsat: 3n, feeRatePpm: 4, timeLockDelta: 5 }),
  getInitialForwardingPolicy: (s) => s.getInitialForwardingPolicy(channelIdOf(op)),
  deleteInitialForwardingPolicy: (s) => s.deleteInitialForwardingPolicy(channelIdOf(op)),
  fetchExternalFunding: (s) => s.fetchExternalFunding(op),
  fetchAllExternalFundings: (s) => s.fetchAllExternalFundings(),
  submitExternalFunding: (s) => s.submitExternalFunding(op, makeTx('closed-store-signed', 2)),
  cancelExternalFunding: (s) => s.cancelExternalFunding(op, 2_000_000_000_000, 800_000),
  nextChannelKeyIndex: (s) => s.nextChannelKeyIndex(),
  purgeClosedChannels: (s) => s.purgeClosedChannels(10),
  counts: (s) => s.counts(),
};

const LINK_NODE_CALLS: Calls<LinkNodeStore> = {
  createLinkNodes: (s) => s.createLinkNodes([makeLinkNode(2)]),
  fetchLinkNode: (s) => s.fetchLinkNode(channel.identityPub),
  fetchAllLinkNodes: (s) => s.fetchAllLinkNodes(),
  deleteLinkNode: (s) => s.deleteLinkNode(channel.identityPub),
  findMissingLinkNodes: (s) => s.findMissingLinkNodes([peerPub(2)]),
  addrsForNode: (s) => s.addrsForNode(channel.identityPub),
  addAddress: (s) => s.addAddress(channel.identityPub, '10.1.1.1:9735', 1_700_000_000_000),
};

const COORDINATOR_CALLS: Calls<Coordinator> = {
  syncPendingChannel: (c) => c.syncPendingChannel(makePendingChannel(2), '10.1.1.2:9735', 1),
  restoreChannelShells: (c) => c.restoreChannelShells([{ channel: makeChannel(3), nodeAddresses: [] }]),
  markChannelFullyClosed: (c) => c.markChannelFullyClosed(op),
  pruneLinkNodes: (c) => c.pruneLinkNodes(),
  repairLinkNodes: (c) => c.repairLinkNodes(),
};

/** Registers the closed-store tests: one per method of each contract. */
export function storeClosedSuite({ factory }: SuiteContext): void {
  describe('closed store', () => {
    const h = useDb(factory);

    /** A database with one open channel (so every argument is valid), then closed. */
    async function closedDb(): Promise<ConformanceDb> {
      await addChannel(h.db, channel);
      await h.db.close();
      return h.db;
    }

    it('close() is idempotent', async () => {
      await h.db.close();
      await h.db.close();
      await expect(h.db.channelState.fetchAllChannels()).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED });
    });

    it('close() lets writes already issued finish, or fails them with STORE_CLOSED, never with an untyped error', async () => {
      const channels = [makeChannel(11), makeChannel(12), makeChannel(13)];
      for (const c of channels) await addChannel(h.db, c);
      const inflight = channels.flatMap((c) => [
        new PaymentRound(modelOf(c), { settle: [0] }).append(h.db.channelState),
        h.db.channelState.markConfirmationHeight(c.fundingOutpoint, 5),
        h.db.linkNodes.addAddress(c.identityPub, '10.2.2.2:9735', 1_700_000_000_000),
        h.db.channelState.fetchAllChannels(),
      ]);
      await h.db.close();
      const results = await Promise.allSettled(inflight);
      const untyped = results.flatMap((r) => {
        if (r.status === 'fulfilled') return [];
        const err = r.reason as { code?: unknown; message?: unknown };
        return err.code === ErrorCode.STORE_CLOSED ? [] : [`${String(err.code)}: ${String(err.message)}`];
      });
      expect(untyped).toEqual([]);
    });

    it.each(Object.entries(CHANNEL_STATE_CALLS))('channelState.%s fails STORE_CLOSED', async (_name, call) => {
      const db = await closedDb();
      await expect(call(db.channelState)).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED });
    });

    it.each(Object.entries(LINK_NODE_CALLS))('linkNodes.%s fails STORE_CLOSED', async (_name, call) => {
      const db = await closedDb();
      await expect(call(db.linkNodes)).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED });
    });

    it.each(Object.entries(COORDINATOR_CALLS))('coordinator.%s fails STORE_CLOSED', async (_name, call) => {
      const db = await closedDb();
      await expect(call(db.coordinator)).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED });
    });
  });
}
