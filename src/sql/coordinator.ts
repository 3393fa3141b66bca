/**
 * The SQL coordinator: each operation is one `exclusive` transaction over channel and
 * link-node tables (transactions.ts), so the check ("does the peer still have a channel
 * that is not fully closed?") and the write can never be split by a concurrent open:
 * opens, closes-to-completion, prunes and repairs, and link-node writes, run one at a time.
 * Channel-scoped writers never insert channels or touch link nodes, so they need not wait
 * for these. Channel inserts also move the key-index allocator (chanstate-tx.ts
 * insertChannel), in the same mode as nextChannelKeyIndex. Storage only: arguments are
 * validated at the public edge (CheckedCoordinator), the rules are rules.ts's.
 */
import { closedNotFound, newLinkNode, peerNeedsLinkNode, pendingChannelOf, restoredChannelOf, withAddresses } from '../chanstate/rules.js';
import { formatOutPoint } from '../chanstate/channel-id.js';
import type { ChannelShell, OpenChannel, OutPoint } from '../chanstate/types.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { channelIdAt, insertChannel, peerChannelCounts, readClosedSummary, setSummaryPending } from './chanstate-tx.js';
import { hexCol, hexOf } from './columns.js';
import { allLinkNodes, deleteLinkNodeTx, putLinkNode, readLinkNode } from './link-node-store.js';
import type { SqlBackend, SqlTx } from './transactions.js';

/** Creates the peer's link node if missing, and adds `addresses` to it. */
async function ensureLinkNode(tx: SqlTx, channel: OpenChannel, addresses: readonly string[], nowMs: number): Promise<void> {
  const existing = await readLinkNode(tx, channel.identityPub);
  const next = existing === undefined ? newLinkNode(channel.identityPub, channel.chainHash, addresses, nowMs) : withAddresses(existing, addresses);
  if (next !== undefined) await putLinkNode(tx, next);
}

/** Deletes the link node of `identityPub` unless its peer still needs it; true if deleted. */
async function pruneIfUnneeded(tx: SqlTx, identityPub: string): Promise<boolean> {
  if (peerNeedsLinkNode(await peerChannelCounts(tx, hexCol(identityPub, 33)))) return false;
  await deleteLinkNodeTx(tx, identityPub);
  return true;
}

/** Coordinator over the SqlBackend shared by the SQL channel-state and link-node stores. */
export class SqlCoordinator implements Coordinator {
  constructor(
    private readonly backend: SqlBackend,
    private readonly now: () => number = Date.now,
  ) {}

  async syncPendingChannel(channel: OpenChannel, address: string | undefined, pendingHeight: number): Promise<void> {
    const nowMs = this.now();
    const pending = pendingChannelOf(channel, pendingHeight);
    await this.backend.runTx('exclusive', async (tx) => {
      await insertChannel(tx, pending);
      await ensureLinkNode(tx, pending, address === undefined ? [] : [address], nowMs);
    });
  }

  async restoreChannelShells(shells: readonly ChannelShell[]): Promise<void> {
    const nowMs = this.now();
    await this.backend.runTx('exclusive', async (tx) => {
      for (const shell of shells) {
        // Idempotent: a channel we already know (open or closed) is left as it is.
        if ((await channelIdAt(tx, shell.channel.fundingOutpoint)) !== undefined) continue;
        const restored = restoredChannelOf(shell.channel);
        await insertChannel(tx, restored);
        await ensureLinkNode(tx, restored, shell.nodeAddresses, nowMs);
      }
    });
  }

  async markChannelFullyClosed(chanPoint: OutPoint): Promise<void> {
    await this.backend.runTx('exclusive', async (tx) => {
      const summary = await readClosedSummary(tx, chanPoint);
      const channelId = summary === undefined ? undefined : await channelIdAt(tx, chanPoint);
      if (summary === undefined || channelId === undefined) throw closedNotFound(formatOutPoint(chanPoint));
      // Not pending any more before counting, so this channel no longer keeps the node;
      // same transaction as the check, so a channel opened meanwhile keeps it.
      await setSummaryPending(tx, channelId, false);
      await pruneIfUnneeded(tx, summary.remotePub);
    });
  }

  pruneLinkNodes(): Promise<number> {
    return this.backend.runTx('exclusive', async (tx) => {
      let deleted = 0;
      for (const node of await allLinkNodes(tx)) if (await pruneIfUnneeded(tx, node.identityPub)) deleted++;
      return deleted;
    });
  }

  repairLinkNodes(): Promise<number> {
    const nowMs = this.now();
    return this.backend.runTx('exclusive', async (tx) => {
      const open = await tx
        .selectFrom('channels')
        .select(['node_pub', 'chain_hash'])
        .where('closed', '=', 0)
        .orderBy('txid')
        .orderBy('output_index')
        .execute();
      // Closes still being resolved on chain keep their peer too.
      const resolving = await tx
        .selectFrom('closed_channels')
        .innerJoin('channels', 'channels.id', 'closed_channels.channel_id')
        .select(['closed_channels.remote_pub as node_pub', 'closed_channels.chain_hash as chain_hash'])
        .where('closed_channels.is_pending', '=', 1)
        .orderBy('channels.txid')
        .orderBy('channels.output_index')
        .execute();
      let created = 0;
      for (const row of [...open, ...resolving]) {
        const identityPub = hexOf(row.node_pub, 33, 'channels.node_pub');
        if ((await readLinkNode(tx, identityPub)) !== undefined) continue;
        await putLinkNode(tx, newLinkNode(identityPub, hexOf(row.chain_hash, 32, 'channels.chain_hash'), [], nowMs));
        created++;
      }
      return created;
    });
  }
}
