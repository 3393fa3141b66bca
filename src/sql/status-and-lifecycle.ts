/**
 * SQL facet: the funding lifecycle (ChannelLifecycleStore), status bits
 * (ChannelStatusStore), shutdown info (ChannelShutdownStore) and broadcast close
 * transactions (ChannelCloseTxStore), all columns of the `channels` row.
 *
 * Each write is one `write` transaction that locks the channel row before a
 * read-modify-write; single-column updates are one UPDATE.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { broadcastStatus, channelNotFound, packagesMove, statusChange, withScidAliasFeature } from '../chanstate/rules.js';
import type { ChannelCloseTxStore, ChannelLifecycleStore, ChannelShutdownStore, ChannelStatusStore } from '../chanstate/store.js';
import { ChannelStatus, type ChannelParty, type ChannelStatusBits, type OutPoint } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import { lockChannel, openAt, readTx, writeTx, type SqlStoreContext } from './chanstate-tx.js';
import { bytes, hexOf, num, u64Col, uintCol } from './columns.js';
import type { ChannelsTable } from './schema.js';
import type { SqlTx } from './transactions.js';
import type { Updateable } from 'kysely';

/** Sets columns of the open channel at `op` in one statement. CHANNEL_NOT_FOUND if none. */
async function setColumns(tx: SqlTx, op: OutPoint, values: Updateable<ChannelsTable>): Promise<number> {
  const row = await tx.updateTable('channels').set(values).where(openAt(op)).returning('id').executeTakeFirst();
  if (row === undefined) throw channelNotFound(op);
  return num(row.id);
}

/** Reads (and locks) the type and status of the open channel at `op`. */
async function lockedRow(ctx: SqlStoreContext, tx: SqlTx, op: OutPoint): Promise<{ id: bigint | number; chan_type: bigint | number; status: bigint | number }> {
  const row = await tx
    .selectFrom('channels')
    .select(['id', 'chan_type', 'status'])
    .where(openAt(op))
    .$if(ctx.backend.capabilities.rowLocks, (qb) => qb.forUpdate())
    .executeTakeFirst();
  if (row === undefined) throw channelNotFound(op);
  return row;
}

/** Replaces the status with `change(old)` (plus `extra` columns) and returns it. */
function changeStatus(ctx: SqlStoreContext, op: OutPoint, change: (status: number) => number, extra: Updateable<ChannelsTable> = {}): Promise<ChannelStatusBits> {
  return writeTx(ctx, async (tx) => {
    const row = await lockedRow(ctx, tx, op);
    const status = uintCol(change(num(row.status)), 53, 'status');
    await tx
      .updateTable('channels')
      .set({ ...extra, status })
      .where('id', '=', row.id)
      .execute();
    return status;
  });
}

/** The funding lifecycle of the SQL store. */
export function lifecycleFacet(ctx: SqlStoreContext): ChannelLifecycleStore {
  return {
    async markConfirmationHeight(chanPoint, height) {
      await writeTx(ctx, (tx) => setColumns(tx, chanPoint, { confirmation_height: height }));
    },

    async markCloseConfirmationHeight(chanPoint, height) {
      await writeTx(ctx, (tx) => setColumns(tx, chanPoint, { close_confirmation_height: height ?? null }));
    },

    async markOpen(chanPoint, shortChannelId) {
      await writeTx(ctx, async (tx) => {
        const channel = await lockChannel(ctx, tx, chanPoint);
        const scid = u64Col(shortChannelId);
        await tx.updateTable('channels').set({ is_pending: 0, short_channel_id: scid }).where('id', '=', channel.id).execute();
        if (packagesMove(channel.shortChannelId, shortChannelId)) {
          // Packages are keyed by scid: moved in the same transaction, so none is left
          // under the alias with unresolved HTLCs.
          const old = u64Col(channel.shortChannelId);
          await tx.updateTable('fwd_pkg_updates').set({ source: scid }).where('source', '=', old).execute();
          await tx.updateTable('fwd_pkgs').set({ source: scid }).where('source', '=', old).execute();
        }
        // The external funding flow ends here: cleared in the same transaction.
        await tx.deleteFrom('external_fundings').where('channel_id', '=', channel.id).execute();
      });
    },

    async markRealScid(chanPoint, realScid) {
      await writeTx(ctx, (tx) => setColumns(tx, chanPoint, { real_scid: u64Col(realScid) }));
    },

    async markScidAliasNegotiated(chanPoint) {
      await writeTx(ctx, async (tx) => {
        const row = await lockedRow(ctx, tx, chanPoint);
        await tx
          .updateTable('channels')
          .set({ chan_type: withScidAliasFeature(num(row.chan_type)) })
          .where('id', '=', row.id)
          .execute();
      });
    },
  };
}

/** The status bits of the SQL store. */
export function statusFacet(ctx: SqlStoreContext): ChannelStatusStore {
  return {
    applyChannelStatus(chanPoint, status) {
      return changeStatus(ctx, chanPoint, statusChange.apply(status));
    },

    clearChannelStatus(chanPoint, status) {
      return changeStatus(ctx, chanPoint, statusChange.clear(status));
    },

    markDataLoss(chanPoint, commitPoint) {
      return changeStatus(ctx, chanPoint, statusChange.dataLoss, { data_loss_commit_point: hexToBytes(commitPoint) });
    },

    fetchDataLossCommitPoint(chanPoint) {
      return readTx(ctx, async (tx) => {
        const row = await tx.selectFrom('channels').select('data_loss_commit_point').where(openAt(chanPoint)).executeTakeFirst();
        if (row === undefined) throw channelNotFound(chanPoint);
        if (row.data_loss_commit_point === null) {
          throw new ChandError(ErrorCode.NO_COMMIT_POINT, `channel ${formatOutPoint(chanPoint)} has no data-loss commit point`);
        }
        return hexOf(row.data_loss_commit_point, 33, 'channels.data_loss_commit_point');
      });
    },

    markBorked(chanPoint) {
      return changeStatus(ctx, chanPoint, statusChange.borked);
    },
  };
}

/** The shutdown info of the SQL store. */
export function shutdownFacet(ctx: SqlStoreContext): ChannelShutdownStore {
  return {
    async storeShutdownInfo(chanPoint, info) {
      await writeTx(ctx, (tx) => setColumns(tx, chanPoint, { shutdown_delivery_script: info.deliveryScript, shutdown_closer: info.closer === 'local' ? 0 : 1 }));
    },

    fetchShutdownInfo(chanPoint) {
      return readTx(ctx, async (tx) => {
        const row = await tx.selectFrom('channels').select(['shutdown_delivery_script', 'shutdown_closer']).where(openAt(chanPoint)).executeTakeFirst();
        if (row === undefined) throw channelNotFound(chanPoint);
        if (row.shutdown_delivery_script === null || row.shutdown_closer === null) return undefined;
        return { deliveryScript: bytes(row.shutdown_delivery_script), closer: num(row.shutdown_closer) === 0 ? 'local' : 'remote' };
      });
    },
  };
}

type CloseTxColumn = 'commit_close_tx' | 'coop_close_tx';

/** The broadcast close transactions of the SQL store. */
export function closeTxFacet(ctx: SqlStoreContext): ChannelCloseTxStore {
  const mark = async (chanPoint: OutPoint, closeTx: Uint8Array, closer: ChannelParty, column: CloseTxColumn, bit: number) => {
    await changeStatus(ctx, chanPoint, (old) => broadcastStatus(old, bit, closer), column === 'commit_close_tx' ? { commit_close_tx: closeTx } : { coop_close_tx: closeTx });
  };
  const fetch = (chanPoint: OutPoint, column: CloseTxColumn, what: string) =>
    readTx(ctx, async (tx) => {
      const row = await tx.selectFrom('channels').select(column).where(openAt(chanPoint)).executeTakeFirst();
      if (row === undefined) throw channelNotFound(chanPoint);
      const value = (row as Record<string, Uint8Array | null>)[column] ?? null;
      if (value === null) throw new ChandError(ErrorCode.NO_CLOSE_TX, `channel ${formatOutPoint(chanPoint)} has no broadcast ${what} transaction`);
      return bytes(value);
    });
  return {
    markCommitmentBroadcasted: (chanPoint, closeTx, closer) => mark(chanPoint, closeTx, closer, 'commit_close_tx', ChannelStatus.CommitBroadcasted),
    markCoopBroadcasted: (chanPoint, closeTx, closer) => mark(chanPoint, closeTx, closer, 'coop_close_tx', ChannelStatus.CoopBroadcasted),
    fetchBroadcastedCommitment: (chanPoint) => fetch(chanPoint, 'commit_close_tx', 'commitment'),
    fetchBroadcastedCooperative: (chanPoint) => fetch(chanPoint, 'coop_close_tx', 'cooperative close'),
  };
}
