/**
 * Conformance: the coordinator (ChannelLifecycle, LinkNodeMaintainer), which keeps "a link
 * node exists iff its peer has a channel that is not fully closed".
 */
import { describe, expect, it } from 'vitest';
import { channelIdOf } from '../chanstate/channel-id.js';
import { ChannelStatus, type ChannelShell } from '../chanstate/types.js';
import { ErrorCode } from '../errors.js';
import { CHAIN_HASHES } from '../linknode/store.js';
import { chanPointOf, makeChannel, makeCloseSummary, makeLinkNode, makePendingChannel, modelOf, PaymentRound, peerPub } from './fixtures.js';
import { addChannel, byChanPoint, expectCode, useDb, type SuiteContext } from './harness.js';

/** Registers the coordinator tests. */
export function coordinatorSuite({ factory }: SuiteContext): void {
  describe('coordinator', () => {
    const h = useDb(factory);

    it("syncPendingChannel writes the pending channel and creates the peer's link node on the channel's network", async () => {
      const channel = makePendingChannel(1, { chainHash: CHAIN_HASHES.testnet }, { peer: 3 });
      await h.db.coordinator.syncPendingChannel(channel, '198.51.100.3:9735', channel.fundingBroadcastHeight);
      expect(await h.db.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(channel);
      expect(await h.db.linkNodes.fetchLinkNode(peerPub(3))).toMatchObject({ identityPub: peerPub(3), network: 'testnet', addresses: ['198.51.100.3:9735'] });

      // A chain hash chand does not know (a devnet) maps to regtest; no address is fine.
      const devnet = makePendingChannel(2, { chainHash: 'ab'.repeat(32) }, { peer: 4 });
      await h.db.coordinator.syncPendingChannel(devnet, undefined, devnet.fundingBroadcastHeight);
      expect(await h.db.linkNodes.fetchLinkNode(peerPub(4))).toMatchObject({ network: 'regtest', addresses: [] });
    });

    it('syncPendingChannel keeps an existing link node of the peer', async () => {
      await h.db.linkNodes.createLinkNodes([makeLinkNode(3, { network: 'regtest', addresses: ['10.9.9.9:9735'] })]);
      const channel = makePendingChannel(1, {}, { peer: 3 });
      await h.db.coordinator.syncPendingChannel(channel, undefined, channel.fundingBroadcastHeight);
      const node = await h.db.linkNodes.fetchLinkNode(peerPub(3));
      expect(node.addresses).toContain('10.9.9.9:9735');
      expect(node.network).toBe('regtest');
    });

    it('syncPendingChannel fails CHANNEL_ALREADY_EXISTS for a taken channel point and then writes nothing', async () => {
      const channel = await addChannel(h.db, makePendingChannel(1, {}, { peer: 1 }));
      // Same channel point, different peer: neither the channel nor a link node for that peer appear.
      const clash = makePendingChannel(1, { capacitySat: 5n }, { peer: 2 });
      await expectCode(h.db.coordinator.syncPendingChannel(clash, '10.0.0.2:9735', clash.fundingBroadcastHeight), ErrorCode.CHANNEL_ALREADY_EXISTS);
      expect(await h.db.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(channel);
      await expectCode(h.db.linkNodes.fetchLinkNode(peerPub(2)), ErrorCode.LINK_NODE_NOT_FOUND);
      expect(await h.db.channelState.fetchOpenChannels(peerPub(2))).toEqual([]);
    });

    it('syncPendingChannel fails CHANNEL_ALREADY_EXISTS for another channel point with the same channel id', async () => {
      const first = await addChannel(h.db, makePendingChannel(1, { fundingOutpoint: { ...chanPointOf(1), index: 0 } }));
      // channel id = txid (internal order) XOR index: flipping bit 0 of the last internal
      // byte (the first display byte) and using index 1 gives the same id.
      const txid = first.fundingOutpoint.txid;
      const twinPoint = { txid: (parseInt(txid.slice(0, 2), 16) ^ 1).toString(16).padStart(2, '0') + txid.slice(2), index: 1 };
      expect(channelIdOf(twinPoint)).toBe(channelIdOf(first.fundingOutpoint));
      const twin = makePendingChannel(2, { fundingOutpoint: twinPoint });
      await expectCode(h.db.coordinator.syncPendingChannel(twin, undefined, twin.fundingBroadcastHeight), ErrorCode.CHANNEL_ALREADY_EXISTS);
      await expectCode(h.db.channelState.fetchChannel(twinPoint), ErrorCode.CHANNEL_NOT_FOUND);
      expect(await h.db.channelState.fetchChannelById(channelIdOf(twinPoint))).toEqual(first);
    });

    it('restoreChannelShells writes Restored channels with link nodes, is idempotent, and blocks commitment mutations', async () => {
      const a = makeChannel(1, {}, { peer: 5 });
      const b = makeChannel(2, {}, { peer: 6 });
      const shells: ChannelShell[] = [
        { channel: a, nodeAddresses: ['192.0.2.5:9735'] },
        { channel: b, nodeAddresses: ['192.0.2.6:9735', '192.0.2.66:9735'] },
      ];
      await h.db.coordinator.restoreChannelShells(shells);
      await h.db.coordinator.restoreChannelShells(shells);

      const restored = byChanPoint([a, b].map((c) => ({ ...c, status: c.status | ChannelStatus.Restored })));
      expect(await h.db.channelState.fetchAllChannels()).toEqual(restored);
      expect(await h.db.linkNodes.fetchLinkNode(peerPub(5))).toMatchObject({ network: 'regtest', addresses: ['192.0.2.5:9735'] });
      expect(await h.db.linkNodes.fetchLinkNode(peerPub(6))).toMatchObject({ addresses: ['192.0.2.6:9735', '192.0.2.66:9735'] });
      expect(await h.db.linkNodes.fetchAllLinkNodes()).toHaveLength(2);

      const round = new PaymentRound(modelOf(a));
      await expectCode(round.append(h.db.channelState), ErrorCode.CHANNEL_RESTORED);
      await expectCode(round.advance(h.db.channelState), ErrorCode.CHANNEL_RESTORED);
      await expectCode(round.update(h.db.channelState), ErrorCode.CHANNEL_RESTORED);
      await expectCode(h.db.channelState.remoteCommitChainTip(a.fundingOutpoint), ErrorCode.NO_PENDING_COMMIT);
      expect(await h.db.channelState.latestCommitments(a.fundingOutpoint)).toEqual({ local: a.localCommitment, remote: a.remoteCommitment });
    });

    it('restoreChannelShells skips channels that already exist, open or closed', async () => {
      const open = await addChannel(h.db, makeChannel(1));
      const closed = await addChannel(h.db, makeChannel(2));
      await h.db.channelState.closeChannel(closed.fundingOutpoint, makeCloseSummary(closed));
      const fresh = makeChannel(3);
      await h.db.coordinator.restoreChannelShells([
        { channel: open, nodeAddresses: [] },
        { channel: closed, nodeAddresses: [] },
        { channel: fresh, nodeAddresses: [] },
      ]);
      expect(await h.db.channelState.fetchChannel(open.fundingOutpoint)).toEqual(open);
      await expectCode(h.db.channelState.fetchChannel(closed.fundingOutpoint), ErrorCode.CHANNEL_NOT_FOUND);
      expect((await h.db.channelState.fetchChannel(fresh.fundingOutpoint)).status).toBe(ChannelStatus.Restored);
    });

    it('markChannelFullyClosed resolves the summary and deletes the link node only when the peer has no channel left', async () => {
      const a = await addChannel(h.db, makeChannel(1, {}, { peer: 9 }));
      const b = await addChannel(h.db, makePendingChannel(2, {}, { peer: 9 }));
      const s = h.db.channelState;
      await s.closeChannel(a.fundingOutpoint, makeCloseSummary(a, { isPending: true }));
      await h.db.coordinator.markChannelFullyClosed(a.fundingOutpoint);
      expect(await s.fetchClosedChannel(a.fundingOutpoint)).toEqual(makeCloseSummary(a, { isPending: false }));
      expect(await s.fetchClosedChannels(true)).toEqual([]);
      // The pending channel b still needs the peer.
      expect((await h.db.linkNodes.fetchLinkNode(peerPub(9))).identityPub).toBe(peerPub(9));

      await s.closeChannel(b.fundingOutpoint, makeCloseSummary(b, { isPending: true }));
      await h.db.coordinator.markChannelFullyClosed(b.fundingOutpoint);
      await expectCode(h.db.linkNodes.fetchLinkNode(peerPub(9)), ErrorCode.LINK_NODE_NOT_FOUND);
    });

    it('markChannelFullyClosed fails CLOSED_CHANNEL_NOT_FOUND for an open or unknown channel', async () => {
      const open = await addChannel(h.db, makeChannel(1));
      await expectCode(h.db.coordinator.markChannelFullyClosed(open.fundingOutpoint), ErrorCode.CLOSED_CHANNEL_NOT_FOUND);
      await expectCode(h.db.coordinator.markChannelFullyClosed(chanPointOf(99)), ErrorCode.CLOSED_CHANNEL_NOT_FOUND);
      expect(await h.db.linkNodes.fetchAllLinkNodes()).toHaveLength(1);
    });

    it('pruneLinkNodes deletes the link nodes of peers without channels and reports how many', async () => {
      await addChannel(h.db, makeChannel(1, {}, { peer: 1 }));
      await addChannel(h.db, makePendingChannel(2, {}, { peer: 2 }));
      await h.db.linkNodes.createLinkNodes([makeLinkNode(7), makeLinkNode(8)]);
      expect(await h.db.coordinator.pruneLinkNodes()).toBe(2);
      expect((await h.db.linkNodes.fetchAllLinkNodes()).map((n) => n.identityPub).sort()).toEqual([peerPub(1), peerPub(2)].sort());
      expect(await h.db.coordinator.pruneLinkNodes()).toBe(0);
    });

    it('repairLinkNodes recreates missing link nodes of peers with channels, on their network', async () => {
      await addChannel(h.db, makeChannel(1, { chainHash: CHAIN_HASHES.signet }, { peer: 1 }));
      await addChannel(h.db, makeChannel(2, {}, { peer: 2 }));
      await h.db.linkNodes.deleteLinkNode(peerPub(1));
      expect(await h.db.coordinator.repairLinkNodes()).toBe(1);
      expect(await h.db.linkNodes.fetchLinkNode(peerPub(1))).toMatchObject({ identityPub: peerPub(1), network: 'signet' });
      expect(await h.db.coordinator.repairLinkNodes()).toBe(0);
      expect(await h.db.linkNodes.fetchAllLinkNodes()).toHaveLength(2);
    });
  });
}
