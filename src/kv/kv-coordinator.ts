/**
 * The KV coordinator: each operation is one engine transaction over channel-state and
 * link-node keys, so the check ("does the peer still have channels?") and the write can
 * never be split by a concurrent open.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { ChannelStatus, type ChannelShell, type OpenChannel, type OutPoint } from '../chanstate/types.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { ChandError, ErrorCode } from '../errors.js';
import { networkOfChainHash } from '../linknode/store.js';
import { allInfos, channelKnown, channelsOfPeer, putNewChannel, readClosedSummary, writeClosedSummary } from './chanstate-tx.js';
import type { KvEngine, KvWriteTx } from './engine.js';
import { allLinkNodes, deleteLinkNodeTx, putLinkNode, readLinkNode } from './kv-link-node-store.js';

/** Creates the peer's link node if missing, and adds `addresses` to it. */
function ensureLinkNode(tx: KvWriteTx, channel: OpenChannel, addresses: readonly string[], nowMs: number): boolean {
  const existing = readLinkNode(tx, channel.identityPub);
  if (existing === undefined) {
    putLinkNode(tx, { network: networkOfChainHash(channel.chainHash), identityPub: channel.identityPub, lastSeenMs: nowMs, addresses: [...new Set(addresses)] });
    return true;
  }
  const missing = addresses.filter((a) => !existing.addresses.includes(a));
  if (missing.length > 0) putLinkNode(tx, { ...existing, addresses: [...existing.addresses, ...missing] });
  return false;
}

/** Coordinator over a KvEngine shared by the KV channel-state and link-node stores. */
export class KvCoordinator implements Coordinator {
  constructor(
    private readonly engine: KvEngine,
    private readonly now: () => number = Date.now,
  ) {}

  async syncPendingChannel(channel: OpenChannel, address: string | undefined, pendingHeight: number): Promise<void> {
    const nowMs = this.now();
    const pending: OpenChannel = { ...channel, isPending: true, fundingBroadcastHeight: pendingHeight };
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
        const restored: OpenChannel = { ...shell.channel, status: shell.channel.status | ChannelStatus.Restored };
        putNewChannel(tx, restored);
        ensureLinkNode(tx, restored, shell.nodeAddresses, nowMs);
      }
    });
  }

  async markChannelFullyClosed(chanPoint: OutPoint): Promise<void> {
    await this.engine.update((tx) => {
      const summary = readClosedSummary(tx, chanPoint);
      if (summary === undefined) throw new ChandError(ErrorCode.CLOSED_CHANNEL_NOT_FOUND, `no closed channel ${formatOutPoint(chanPoint)}`);
      writeClosedSummary(tx, { ...summary, isPending: false });
      // Same transaction as the check, so a channel opened meanwhile keeps its link node.
      if (channelsOfPeer(tx, summary.remotePub).length === 0) deleteLinkNodeTx(tx, summary.remotePub);
    });
  }

  pruneLinkNodes(): Promise<number> {
    return this.engine.update((tx) => {
      let deleted = 0;
      for (const node of allLinkNodes(tx)) {
        if (channelsOfPeer(tx, node.identityPub).length > 0) continue;
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
      for (const info of allInfos(tx)) {
        if (readLinkNode(tx, info.identityPub) !== undefined) continue;
        putLinkNode(tx, { network: networkOfChainHash(info.chainHash), identityPub: info.identityPub, lastSeenMs: nowMs, addresses: [] });
        created++;
      }
      return created;
    });
  }
}
