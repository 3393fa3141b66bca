/**
 * The SQL coordinator: each operation is one `exclusive` transaction over channel and
 * link-node tables (transactions.ts), so the check ("does the peer still have channels?")
 * and the write can never be split by a concurrent open: opens, closes-to-completion,
 * prunes and repairs, and link-node writes, run one at a time. Channel-scoped writers never
 * insert channels or touch link nodes, so they need not wait for these.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { ChannelStatus, type ChannelShell, type OpenChannel, type OutPoint } from '../chanstate/types.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { ChandError, ErrorCode } from '../errors.js';
import { networkOfChainHash } from '../linknode/store.js';
import { channelIdAt, insertChannel, peerHasChannels, readClosedSummary, setSummaryPending } from './chanstate-tx.js';
import { hex, hexCol } from './columns.js';
import { allLinkNodes, deleteLinkNodeTx, putLinkNode, readLinkNode } from './sql-link-node-store.js';
import type { SqlBackend, SqlTx } from './transactions.js';

/** Creates the peer's link node if missing, and adds `addresses` to it. */
async function ensureLinkNode(tx: SqlTx, channel: OpenChannel, addresses: readonly string[], nowMs: number): Promise<void> {
  const existing = await readLinkNode(tx, channel.identityPub);
  if (existing === undefined) {
    await putLinkNode(tx, { network: networkOfChainHash(channel.chainHash), identityPub: channel.identityPub, lastSeenMs: nowMs, addresses: [...new Set(addresses)] });
    return;
  }
  const missing = addresses.filter((a) => !existing.addresses.includes(a));
  if (missing.length > 0) await putLinkNode(tx, { ...existing, addresses: [...existing.addresses, ...missing] });
}

/** Coordinator over the SqlBackend shared by the SQL channel-state and link-node stores. */
export class SqlCoordinator implements Coordinator {
  constructor(
    private readonly backend: SqlBackend,
    private readonly now: () => number = Date.now,
  ) {}

  async syncPendingChannel(channel: OpenChannel, address: string | undefined, pendingHeight: number): Promise<void> {
    const nowMs = this.now();
    const pending: OpenChannel = { ...channel, isPending: true, fundingBroadcastHeight: pendingHeight };
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
        const restored: OpenChannel = { ...shell.channel, status: shell.channel.status | ChannelStatus.Restored };
        await insertChannel(tx, restored);
        await ensureLinkNode(tx, restored, shell.nodeAddresses, nowMs);
      }
    });
  }

  async markChannelFullyClosed(chanPoint: OutPoint): Promise<void> {
    await this.backend.runTx('exclusive', async (tx) => {
      const summary = await readClosedSummary(tx, chanPoint);
      const channelId = summary === undefined ? undefined : await channelIdAt(tx, chanPoint);
      if (summary === undefined || channelId === undefined) {
        throw new ChandError(ErrorCode.CLOSED_CHANNEL_NOT_FOUND, `no closed channel ${formatOutPoint(chanPoint)}`);
      }
      await setSummaryPending(tx, channelId, false);
      // Same transaction as the check, so a channel opened meanwhile keeps its link node.
      if (!(await peerHasChannels(tx, hexCol(summary.remotePub, 33)))) await deleteLinkNodeTx(tx, summary.remotePub);
    });
  }

  pruneLinkNodes(): Promise<number> {
    return this.backend.runTx('exclusive', async (tx) => {
      let deleted = 0;
      for (const node of await allLinkNodes(tx)) {
        if (await peerHasChannels(tx, hexCol(node.identityPub, 33))) continue;
        await deleteLinkNodeTx(tx, node.identityPub);
        deleted++;
      }
      return deleted;
    });
  }

  repairLinkNodes(): Promise<number> {
    const nowMs = this.now();
    return this.backend.runTx('exclusive', async (tx) => {
      const peers = await tx
        .selectFrom('channels')
        .select(['node_pub', 'chain_hash'])
        .where('closed', '=', 0)
        .orderBy('txid')
        .orderBy('output_index')
        .execute();
      let created = 0;
      for (const row of peers) {
        const identityPub = hex(row.node_pub);
        if ((await readLinkNode(tx, identityPub)) !== undefined) continue;
        await putLinkNode(tx, { network: networkOfChainHash(hex(row.chain_hash)), identityPub, lastSeenMs: nowMs, addresses: [] });
        created++;
      }
      return created;
    });
  }
}
