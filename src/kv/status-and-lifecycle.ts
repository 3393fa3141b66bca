/**
 * KV facet: the funding lifecycle, status bits, shutdown info and broadcast closing
 * transactions. Each method is one engine transaction that rewrites the channel's info
 * record or one key beside it.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { shutdownInfoRecord } from '../chanstate/records.js';
import { broadcastStatus, packagesMove, statusChange, withScidAliasFeature } from '../chanstate/rules.js';
import type { ChannelCloseTxStore, ChannelLifecycleStore, ChannelShutdownStore, ChannelStatusStore } from '../chanstate/store.js';
import { ChannelStatus, type ChannelParty, type Hex, type OutPoint, type ShortChannelId, type ShutdownInfo } from '../chanstate/types.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import { changeInfo, fwdPkgsOf, requireInfo, writeFwdPkg, writeInfo, type KvStoreContext } from './chanstate-tx.js';
import { CLOSE_TX, DATA_LOSS_POINT, EXTERNAL_FUNDING, FWD_PACKAGES, SHUTDOWN_INFO, byteKey, keys, u64Key } from './keys.js';

/** close-tx kinds. */
const COMMIT_TX_KIND = byteKey(0);
const COOP_TX_KIND = byteKey(1);

type Facets = ChannelLifecycleStore & ChannelStatusStore & ChannelShutdownStore & ChannelCloseTxStore;

/** The lifecycle, status, shutdown and close-tx methods over `ctx.engine`. */
export function statusAndLifecycleFacet(ctx: KvStoreContext): Facets {
  const status = async (op: OutPoint, change: (status: number) => number) => (await changeInfo(ctx, op, (info) => ({ ...info, status: change(info.status) }))).status;
  const markBroadcasted = async (op: OutPoint, closeTx: Uint8Array, closer: ChannelParty, kind: Uint8Array, bit: number): Promise<void> => {
    await ctx.engine.update((tx) => {
      const info = requireInfo(tx, op);
      writeInfo(tx, { ...info, status: broadcastStatus(info.status, bit, closer) });
      tx.put(keys.chan(CLOSE_TX, op, kind), closeTx);
    });
  };
  const closeTxOf = (op: OutPoint, kind: Uint8Array, what: string) =>
    ctx.engine.read((tx) => {
      requireInfo(tx, op);
      const bytes = tx.get(keys.chan(CLOSE_TX, op, kind));
      if (bytes === undefined) throw new ChandError(ErrorCode.NO_CLOSE_TX, `channel ${formatOutPoint(op)} has no broadcast ${what} transaction`);
      return bytes.slice();
    });

  return {
    async markConfirmationHeight(chanPoint: OutPoint, height: number) {
      await changeInfo(ctx, chanPoint, (info) => ({ ...info, confirmationHeight: height }));
    },
    async markCloseConfirmationHeight(chanPoint: OutPoint, height: number | undefined) {
      await changeInfo(ctx, chanPoint, ({ closeConfirmationHeight: _old, ...info }) => (height === undefined ? info : { ...info, closeConfirmationHeight: height }));
    },
    async markOpen(chanPoint: OutPoint, shortChannelId: ShortChannelId) {
      await ctx.engine.update((tx) => {
        const info = requireInfo(tx, chanPoint);
        if (packagesMove(info.shortChannelId, shortChannelId)) {
          // Packages are keyed by scid: they follow the channel to its new one.
          for (const pkg of fwdPkgsOf(tx, info.shortChannelId)) {
            tx.delete(keys.scid(FWD_PACKAGES, pkg.source, u64Key(pkg.height)));
            writeFwdPkg(tx, { ...pkg, source: shortChannelId });
          }
        }
        writeInfo(tx, { ...info, isPending: false, shortChannelId });
        // The external funding flow ends here: cleared in the same transaction.
        tx.delete(keys.chan(EXTERNAL_FUNDING, chanPoint));
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
      ctx.engine.update((tx) => {
        const info = requireInfo(tx, chanPoint);
        const next = statusChange.dataLoss(info.status);
        writeInfo(tx, { ...info, status: next });
        tx.put(keys.chan(DATA_LOSS_POINT, chanPoint), hexToBytes(commitPoint));
        return next;
      }),
    fetchDataLossCommitPoint: (chanPoint: OutPoint) =>
      ctx.engine.read((tx) => {
        requireInfo(tx, chanPoint);
        const point = tx.get(keys.chan(DATA_LOSS_POINT, chanPoint));
        if (point === undefined) throw new ChandError(ErrorCode.NO_COMMIT_POINT, `channel ${formatOutPoint(chanPoint)} has no data-loss commit point`);
        return bytesToHex(point);
      }),

    async storeShutdownInfo(chanPoint: OutPoint, info: ShutdownInfo) {
      await ctx.engine.update((tx) => {
        requireInfo(tx, chanPoint);
        tx.put(keys.chan(SHUTDOWN_INFO, chanPoint), shutdownInfoRecord.encode(info));
      });
    },
    fetchShutdownInfo: (chanPoint: OutPoint) =>
      ctx.engine.read((tx) => {
        requireInfo(tx, chanPoint);
        const bytes = tx.get(keys.chan(SHUTDOWN_INFO, chanPoint));
        return bytes === undefined ? undefined : shutdownInfoRecord.decode(bytes);
      }),

    markCommitmentBroadcasted: (op, closeTx, closer) => markBroadcasted(op, closeTx, closer, COMMIT_TX_KIND, ChannelStatus.CommitBroadcasted),
    markCoopBroadcasted: (op, closeTx, closer) => markBroadcasted(op, closeTx, closer, COOP_TX_KIND, ChannelStatus.CoopBroadcasted),
    fetchBroadcastedCommitment: (op) => closeTxOf(op, COMMIT_TX_KIND, 'commitment'),
    fetchBroadcastedCooperative: (op) => closeTxOf(op, COOP_TX_KIND, 'cooperative close'),
  };
}
