/**
 * IndexedDB facet: the funding lifecycle, status bits, shutdown info and broadcast closing
 * transactions. Each method is one transaction that rewrites the channel's info record or
 * one entry beside it.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { shutdownInfoRecord } from '../chanstate/records.js';
import { broadcastStatus, packagesMove, statusChange, withScidAliasFeature } from '../chanstate/rules.js';
import type { ChannelCloseTxStore, ChannelLifecycleStore, ChannelShutdownStore, ChannelStatusStore } from '../chanstate/store.js';
import { ChannelStatus, type ChannelParty, type Hex, type OutPoint, type ShortChannelId, type ShutdownInfo } from '../chanstate/types.js';
import { ChandError, ErrorCode } from '../errors.js';
import { changeInfo, deleteFwdPkg, fwdPkgsOf, requireInfo, writeFwdPkg, writeInfo, type IdbStoreContext } from './chanstate-tx.js';
import { CHANNELS, CLOSE_TXS, DATA_LOSS_POINTS, EXTERNAL_FUNDING, FWD_PACKAGES, SHUTDOWN_INFO, opKey } from './stores.js';

/** close-txs kinds. */
const COMMIT_TX_KIND = 0;
const COOP_TX_KIND = 1;

type Facets = ChannelLifecycleStore & ChannelStatusStore & ChannelShutdownStore & ChannelCloseTxStore;

/** The lifecycle, status, shutdown and close-tx methods over `ctx.conn`. */
export function statusAndLifecycleFacet(ctx: IdbStoreContext): Facets {
  const { conn } = ctx;
  const status = async (op: OutPoint, change: (status: number) => number) => (await changeInfo(ctx, op, (info) => ({ ...info, status: change(info.status) }))).status;
  const markBroadcasted = async (op: OutPoint, closeTx: Uint8Array, closer: ChannelParty, kind: number, bit: number): Promise<void> => {
    await conn.run([CHANNELS, CLOSE_TXS], 'readwrite', async (tx) => {
      const info = await requireInfo(tx, op);
      writeInfo(tx, { ...info, status: broadcastStatus(info.status, bit, closer) });
      tx.put(CLOSE_TXS, [opKey(op), kind], closeTx.slice());
    });
  };
  const closeTxOf = (op: OutPoint, kind: number, what: string) =>
    conn.run([CHANNELS, CLOSE_TXS], 'readonly', async (tx) => {
      await requireInfo(tx, op);
      const bytes = await tx.get<Uint8Array>(CLOSE_TXS, [opKey(op), kind]);
      if (bytes === undefined) throw new ChandError(ErrorCode.NO_CLOSE_TX, `channel ${formatOutPoint(op)} has no broadcast ${what} transaction`);
      return bytes;
    });

  return {
    async markConfirmationHeight(chanPoint: OutPoint, height: number) {
      await changeInfo(ctx, chanPoint, (info) => ({ ...info, confirmationHeight: height }));
    },
    async markCloseConfirmationHeight(chanPoint: OutPoint, height: number | undefined) {
      await changeInfo(ctx, chanPoint, ({ closeConfirmationHeight: _old, ...info }) => (height === undefined ? info : { ...info, closeConfirmationHeight: height }));
    },
    async markOpen(chanPoint: OutPoint, shortChannelId: ShortChannelId) {
      await conn.run([CHANNELS, FWD_PACKAGES, EXTERNAL_FUNDING], 'readwrite', async (tx) => {
        const info = await requireInfo(tx, chanPoint);
        if (packagesMove(info.shortChannelId, shortChannelId)) {
          // Packages are keyed by scid: they follow the channel to its new one.
          for (const pkg of await fwdPkgsOf(tx, info.shortChannelId)) {
            deleteFwdPkg(tx, pkg.source, pkg.height);
            writeFwdPkg(tx, { ...pkg, source: shortChannelId });
          }
        }
        writeInfo(tx, { ...info, isPending: false, shortChannelId });
        // The external funding flow ends here: cleared in the same transaction.
        tx.delete(EXTERNAL_FUNDING, opKey(chanPoint));
      });
    },
    async markRealScid(chanPoint: OutPoint, realScid: ShortChannelId) {
      await changeInfo(ctx, chanPoint, (info) => ({ ...info, realScid }));
    },
    async markScidAliasNegotiated(chanPoint: OutPoint) {
      await changeInfo(ctx, chanPoint, (info) => ({ ...info, chanType: withScidAliasFeature(info.chanType) }));
    },

    applyChannelStatus: (chanPoint, bits) => status(chanPoint, statusChange.apply(bits)),
    clearChannelStatus: (chanPoint, bits) => status(chanPoint, statusChange.clear(bits)),
    markBorked: (chanPoint) => status(chanPoint, statusChange.borked),
    markDataLoss: (chanPoint: OutPoint, commitPoint: Hex) =>
      conn.run([CHANNELS, DATA_LOSS_POINTS], 'readwrite', async (tx) => {
        const info = await requireInfo(tx, chanPoint);
        const next = statusChange.dataLoss(info.status);
        writeInfo(tx, { ...info, status: next });
        tx.put(DATA_LOSS_POINTS, opKey(chanPoint), commitPoint);
        return next;
      }),
    fetchDataLossCommitPoint: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, DATA_LOSS_POINTS], 'readonly', async (tx) => {
        await requireInfo(tx, chanPoint);
        const point = await tx.get<Hex>(DATA_LOSS_POINTS, opKey(chanPoint));
        if (point === undefined) throw new ChandError(ErrorCode.NO_COMMIT_POINT, `channel ${formatOutPoint(chanPoint)} has no data-loss commit point`);
        return point;
      }),

    async storeShutdownInfo(chanPoint: OutPoint, info: ShutdownInfo) {
      await conn.run([CHANNELS, SHUTDOWN_INFO], 'readwrite', async (tx) => {
        await requireInfo(tx, chanPoint);
        tx.put(SHUTDOWN_INFO, opKey(chanPoint), shutdownInfoRecord.encode(info));
      });
    },
    fetchShutdownInfo: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, SHUTDOWN_INFO], 'readonly', async (tx) => {
        await requireInfo(tx, chanPoint);
        const bytes = await tx.get<Uint8Array>(SHUTDOWN_INFO, opKey(chanPoint));
        return bytes === undefined ? undefined : shutdownInfoRecord.decode(bytes);
      }),

    markCommitmentBroadcasted: (op, closeTx, closer) => markBroadcasted(op, closeTx, closer, COMMIT_TX_KIND, ChannelStatus.CommitBroadcasted),
    markCoopBroadcasted: (op, closeTx, closer) => markBroadcasted(op, closeTx, closer, COOP_TX_KIND, ChannelStatus.CoopBroadcasted),
    fetchBroadcastedCommitment: (op) => closeTxOf(op, COMMIT_TX_KIND, 'commitment'),
    fetchBroadcastedCooperative: (op) => closeTxOf(op, COOP_TX_KIND, 'cooperative close'),
  };
}
