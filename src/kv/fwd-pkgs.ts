/**
 * KV facet: forwarding packages, keyed `fwd-packages -> <scid> <height>` (keys.ts). The ack
 * helpers are shared with appendRemoteCommitChain, which acks in its own transaction.
 */
import { ackAdd, ackSettleFail, assertRemovable, fwdFilterToSet, fwdPkgNotFound } from '../chanstate/rules.js';
import type { FwdPkgStore } from '../chanstate/store.js';
import type { AddRef, OutPoint, PkgFilter, SettleFailRef, ShortChannelId } from '../chanstate/types.js';
import { fwdPkgsOf, readFwdPkg, requireInfo, writeFwdPkg, type KvStoreContext } from './chanstate-tx.js';
import type { KvWriteTx } from './engine.js';
import { FWD_PACKAGES, keys, u64Key } from './keys.js';

/** Sets ack bits of adds in packages of `source`; packages already removed are skipped (their adds were all acked). */
export function ackAddsTx(tx: KvWriteTx, source: ShortChannelId, refs: readonly AddRef[]): void {
  for (const ref of refs) {
    const pkg = readFwdPkg(tx, source, ref.height);
    const ackFilter = pkg === undefined ? undefined : ackAdd(pkg, ref.index);
    if (pkg !== undefined && ackFilter !== undefined) writeFwdPkg(tx, { ...pkg, ackFilter });
  }
}

/** Sets settle/fail ack bits in the packages the refs name; removed packages are skipped. */
export function ackSettleFailsTx(tx: KvWriteTx, refs: readonly SettleFailRef[]): void {
  for (const ref of refs) {
    const pkg = readFwdPkg(tx, ref.source, ref.height);
    const settleFailFilter = pkg === undefined ? undefined : ackSettleFail(pkg, ref.index);
    if (pkg !== undefined && settleFailFilter !== undefined) writeFwdPkg(tx, { ...pkg, settleFailFilter });
  }
}

/** The forwarding-package methods over `ctx.engine`. */
export function fwdPkgsFacet(ctx: KvStoreContext): FwdPkgStore {
  const { engine } = ctx;
  return {
    loadFwdPkgs: (chanPoint: OutPoint) => engine.read((tx) => fwdPkgsOf(tx, requireInfo(tx, chanPoint).shortChannelId)),
    async ackAddHtlcs(chanPoint: OutPoint, refs: readonly AddRef[]) {
      await engine.update((tx) => ackAddsTx(tx, requireInfo(tx, chanPoint).shortChannelId, refs));
    },
    async ackSettleFails(refs: readonly SettleFailRef[]) {
      await engine.update((tx) => ackSettleFailsTx(tx, refs));
    },
    async setFwdFilter(chanPoint: OutPoint, height: number, filter: PkgFilter) {
      await engine.update((tx) => {
        const pkg = readFwdPkg(tx, requireInfo(tx, chanPoint).shortChannelId, height);
        if (pkg === undefined) throw fwdPkgNotFound(chanPoint, height);
        const fwdFilter = fwdFilterToSet(pkg.fwdFilter, pkg.adds.length, filter);
        if (fwdFilter !== undefined) writeFwdPkg(tx, { ...pkg, fwdFilter });
      });
    },
    async removeFwdPkgs(chanPoint: OutPoint, heights: readonly number[]) {
      await engine.update((tx) => {
        const { shortChannelId } = requireInfo(tx, chanPoint);
        for (const height of heights) {
          const pkg = readFwdPkg(tx, shortChannelId, height);
          if (pkg === undefined) continue;
          assertRemovable(pkg, shortChannelId, height);
          tx.delete(keys.scid(FWD_PACKAGES, shortChannelId, u64Key(height)));
        }
      });
    },
  };
}
