/**
 * The IndexedDB coordinator: each operation is one IndexedDB transaction over the
 * channel-state and link-node stores it touches, so the check ("does the peer still have
 * channels?") and the write can never be split by a concurrent open, in this tab or another.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { closedNotFound, newLinkNode, peerNeedsLinkNode, pendingChannelOf, restoredChannelOf, withAddresses } from '../chanstate/rules.js';
import type { ChannelShell, OpenChannel, OutPoint } from '../chanstate/types.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { allClosedSummaries, allInfos, channelKnown, peerChannelCounts, putNewChannel, readClosedSummary, writeClosedSummary } from './chanstate-tx.js';
import { allLinkNodes, deleteLinkNodeTx, putLinkNode, readLinkNode } from './link-node-store.js';
import { CHANNELS, CLOSED_SUMMARIES, LINK_NODES, NEW_CHANNEL_STORES } from './stores.js';
import type { IdbConnection, IdbTx } from './transactions.js';

/** Creates the peer's link node if missing, and adds `addresses` to it. */
async function ensureLinkNode(tx: IdbTx, channel: OpenChannel, addresses: readonly string[], nowMs: number): Promise<void> {
  const existing = await readLinkNode(tx, channel.identityPub);
  const next = existing === undefined ? newLinkNode(channel.identityPub, channel.chainHash, addresses, nowMs) : withAddresses(existing, addresses);
  if (next !== undefined) putLinkNode(tx, next);
}

/** Coordinator over an IdbConnection shared by the IndexedDB channel-state and link-node stores. Arguments must already be validated. */
export class IdbCoordinator implements Coordinator {
  constructor(
    private readonly conn: IdbConnection,
    private readonly now: () => number = Date.now,
  ) {}

  async syncPendingChannel(channel: OpenChannel, address: string | undefined, pendingHeight: number): Promise<void> {
    const nowMs = this.now();
    const pending = pendingChannelOf(channel, pendingHeight);
    await this.conn.run([...NEW_CHANNEL_STORES, LINK_NODES], 'readwrite', async (tx) => {
      await putNewChannel(tx, pending);
      await ensureLinkNode(tx, pending, address === undefined ? [] : [address], nowMs);
    });
  }

  async restoreChannelShells(shells: readonly ChannelShell[]): Promise<void> {
    const nowMs = this.now();
    await this.conn.run([...NEW_CHANNEL_STORES, LINK_NODES], 'readwrite', async (tx) => {
      for (const shell of shells) {
        // Idempotent: a channel we already know (open or closed) is left as it is.
        if (await channelKnown(tx, shell.channel.fundingOutpoint)) continue;
        const restored = restoredChannelOf(shell.channel);
        await putNewChannel(tx, restored);
        await ensureLinkNode(tx, restored, shell.nodeAddresses, nowMs);
      }
    });
  }

  async markChannelFullyClosed(chanPoint: OutPoint): Promise<void> {
    await this.conn.run([CHANNELS, CLOSED_SUMMARIES, LINK_NODES], 'readwrite', async (tx) => {
      const summary = await readClosedSummary(tx, chanPoint);
      if (summary === undefined) throw closedNotFound(formatOutPoint(chanPoint));
      writeClosedSummary(tx, { ...summary, isPending: false });
      // Same transaction as the check (which sees the write above), so a channel opened
      // meanwhile keeps its link node.
      if (!peerNeedsLinkNode(await peerChannelCounts(tx, summary.remotePub))) deleteLinkNodeTx(tx, summary.remotePub);
    });
  }

  pruneLinkNodes(): Promise<number> {
    return this.conn.run([CHANNELS, CLOSED_SUMMARIES, LINK_NODES], 'readwrite', async (tx) => {
      let deleted = 0;
      for (const node of await allLinkNodes(tx)) {
        if (peerNeedsLinkNode(await peerChannelCounts(tx, node.identityPub))) continue;
        deleteLinkNodeTx(tx, node.identityPub);
        deleted++;
      }
      return deleted;
    });
  }

  repairLinkNodes(): Promise<number> {
    const nowMs = this.now();
    return this.conn.run([CHANNELS, CLOSED_SUMMARIES, LINK_NODES], 'readwrite', async (tx) => {
      let created = 0;
      const [infos, summaries] = await Promise.all([allInfos(tx), allClosedSummaries(tx)]);
      // Peers of channels not closed, then of closes still being resolved on chain.
      const peers = [
        ...infos.map((i) => ({ pub: i.identityPub, chainHash: i.chainHash })),
        ...summaries.filter((s) => s.isPending).map((s) => ({ pub: s.remotePub, chainHash: s.chainHash })),
      ];
      for (const { pub, chainHash } of peers) {
        // Sequential: a peer with two channels is created once (the second read sees the first write).
        if ((await readLinkNode(tx, pub)) !== undefined) continue;
        putLinkNode(tx, newLinkNode(pub, chainHash, [], nowMs));
        created++;
      }
      return created;
    });
  }
}
