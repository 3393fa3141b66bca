/**
 * Operations that must change channel state and link nodes atomically.
 *
 * Each is a check-then-write across both stores, so each is one backend transaction: a
 * separate check and write would race (lnd #10462: a link node pruned while a new channel
 * with the same peer was being opened). The invariant kept: a link node exists iff its peer
 * has at least one channel that is not fully closed.
 */
import type { ChannelShell, OpenChannel, OutPoint } from '../chanstate/types.js';

/** Channel lifecycle steps that also touch link nodes. */
export interface ChannelLifecycle {
  /**
   * Writes a new pending channel (with its external funding state, if any) and creates its
   * peer's link node if missing, with `address` ("host:port", optional) and the network of
   * the channel's chain. The channel is stored as pending (`isPending` true) with
   * `fundingBroadcastHeight = pendingHeight`, whatever the value says.
   * CHANNEL_ALREADY_EXISTS if the channel point or id is taken; CHANNEL_KEY_INDEX_REUSED if
   * another channel uses its key index (`revocationKeyLocator.index`). The key-index
   * allocator moves past the channel's index in the same transaction.
   */
  syncPendingChannel(channel: OpenChannel, address: string | undefined, pendingHeight: number): Promise<void>;
  /**
   * Writes channels recovered from backups, each marked Restored, with link nodes for their
   * peers. Idempotent: shells whose channel already exists are skipped.
   */
  restoreChannelShells(shells: readonly ChannelShell[]): Promise<void>;
  /**
   * Marks a closed channel fully resolved (summary no longer pending) and deletes its peer's
   * link node if the peer has no other channel that is not fully closed.
   * CLOSED_CHANNEL_NOT_FOUND if not closed.
   */
  markChannelFullyClosed(chanPoint: OutPoint): Promise<void>;
}

/**
 * Startup repair of the link-node invariant. A peer "has a channel" while any of its
 * channels is not fully closed: pending, open, waiting to close, or closed with a summary
 * that is still pending (a force close being resolved on chain needs the peer's record).
 */
export interface LinkNodeMaintainer {
  /** Deletes link nodes of peers with no channel that is not fully closed. Returns how many were deleted. */
  pruneLinkNodes(): Promise<number>;
  /**
   * Creates missing link nodes for peers that have channels (network taken from each
   * channel's chain hash). Returns how many were created.
   */
  repairLinkNodes(): Promise<number>;
}

/** The coordinator: both facets. */
export interface Coordinator extends ChannelLifecycle, LinkNodeMaintainer {}
