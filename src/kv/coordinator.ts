/**
 * The KV coordinator: each operation is one engine transaction over channel-state and
 * link-node keys, so the check ("does the peer still have channels?") and the write can
 * never be split by a concurrent open.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { closedNotFound, newLinkNode, peerNeedsLinkNode, pendingChannelOf, restoredChannelOf, withAddresses } from '../chanstate/rules.js';
import type { ChannelShell, OpenChannel, OutPoint } from '../chanstate/types.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { allClosedSummaries, allInfos, channelKnown, peerChannelCounts, putNewChannel, readClosedSummary, writeClosedSummary } from './chanstate-tx.js';
import { checksummedEngine } from './checksummed-engine.js';
import type { KvEngine, KvWriteTx } from './engine.js';
import { allLinkNodes, deleteLinkNodeTx, putLinkNode, readLinkNode } from './link-node-store.js';

/** Creates the peer's link node if missing, and adds `addresses` to it. */
function ensureLinkNode(tx: KvWriteTx, channel: OpenChannel, addresses: readonly string[], nowMs: number): void {
  const existing = readLinkNode(tx, channel.identityPub);
  const next = existing === undefined ? newLinkNode(channel.identityPub, channel.chainHash, addresses, nowMs) : withAddresses(existing, addresses);
  if (next !== undefined) putLinkNode(tx, next);
}

/** Coordinator over a KvEngine shared by the KV channel-state and link-node stores. Arguments must already be validated. */
export class KvCoordinator implements Coordinator {
  private readonly engine: KvEngine;

  /** `engine` is the bare engine; values are read and written through its checksummed view. */
  constructor(
    engine: KvEngine,
    private readonly now: () => number = Date.now,
  ) {
    this.engine = checksummedEngine(engine);
  }

  async syncPendingChannel(channel: OpenChannel, address: string | undefined, pendingHeight: number): Promise<void> {
    const nowMs = this.now();
    const pending = pendingChannelOf(channel, pendingHeight);
    await this.engine.update((tx) => {
      putNewChannel(tx, pending);
      ensureLinkNode(tx, pending, address === undefined ? [] : [address], nowMs);
    });
  }

  async restoreChannelShells(shells: readonly ChannelShell[]): Promise<void> {
    const nowMs = this.now();
    await this.engine.update((tx) => {
      for (const shell of shells) {
        // Idempotent: a channel we already know (open or closed) is left as it is.
        if (channelKnown(tx, shell.channel.fundingOutpoint)) continue;
        const restored = restoredChannelOf(shell.channel);
        putNewChannel(tx, restored);
        ensureLinkNode(tx, restored, shell.nodeAddresses, nowMs);
      }
    });
  }

  async markChannelFullyClosed(chanPoint: OutPoint): Promise<void> {
    await this.engine.update((tx) => {
      const summary = readClosedSummary(tx, chanPoint);
      if (summary === undefined) throw closedNotFound(formatOutPoint(chanPoint));
      writeClosedSummary(tx, { ...summary, isPending: false });
      // Same transaction as the check, so a channel opened meanwhile keeps its link node.
      if (!peerNeedsLinkNode(peerChannelCounts(tx, summary.remotePub))) deleteLinkNodeTx(tx, summary.remotePub);
    });
  }

  pruneLinkNodes(): Promise<number> {
    return this.engine.update((tx) => {
      let deleted = 0;
      for (const node of allLinkNodes(tx)) {
        if (peerNeedsLinkNode(peerChannelCounts(tx, node.identityPub))) continue;
        deleteLinkNodeTx(tx, node.identityPub);
        deleted++;
      }
      return deleted;
    });
  }

  repairLinkNodes(): Promise<number> {
    const nowMs = this.now();
    return this.engine.update((tx) => {
      let created = 0;
      // Peers of channels not closed, then of closes still being resolved on chain.
      const peers = [
        ...allInfos(tx).map((i) => ({ pub: i.identityPub, chainHash: i.chainHash })),
        ...allClosedSummaries(tx)
          .filter((s) => s.isPending)
          .map((s) => ({ pub: s.remotePub, chainHash: s.chainHash })),
      ];
      for (const { pub, chainHash } of peers) {
        if (readLinkNode(tx, pub) !== undefined) continue;
        putLinkNode(tx, newLinkNode(pub, chainHash, [], nowMs));
        created++;
      }
      return created;
    });
  }
}
