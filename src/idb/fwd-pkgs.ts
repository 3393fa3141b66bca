/**
 * IndexedDB facet: forwarding packages, keyed `fwd-packages -> [<scid>, height]`
 * (stores.ts). The ack helpers are shared with appendRemoteCommitChain, which acks in its
 * own transaction.
 */
import { ackAdd, ackSettleFail, assertRemovable, fwdFilterToSet, fwdPkgNotFound } from '../chanstate/rules.js';
import type { FwdPkgStore } from '../chanstate/store.js';
import type { AddRef, OutPoint, PkgFilter, SettleFailRef, ShortChannelId } from '../chanstate/types.js';
import { deleteFwdPkg, fwdPkgsOf, readFwdPkg, requireInfo, writeFwdPkg, type IdbStoreContext } from './chanstate-tx.js';
import { CHANNELS, FWD_PACKAGES } from './stores.js';
import type { IdbTx } from './transactions.js';

/** Sets ack bits of adds in packages of `source` (FWD_PACKAGES); packages already removed are skipped (their adds were all acked). */
export async function ackAddsTx(tx: IdbTx, source: ShortChannelId, refs: readonly AddRef[]): Promise<void> {
  // Sequential on purpose: two refs may name the same package, and each sees the other's write.
  for (const ref of refs) {
    const pkg = await readFwdPkg(tx, source, ref.height);
    const ackFilter = pkg === undefined ? undefined : ackAdd(pkg, ref.index);
    if (pkg !== undefined && ackFilter !== undefined) writeFwdPkg(tx, { ...pkg, ackFilter });
  }
}

/** Sets settle/fail ack bits in the packages the refs name (FWD_PACKAGES); removed packages are skipped. */
export async function ackSettleFailsTx(tx: IdbTx, refs: readonly SettleFailRef[]): Promise<void> {
  for (const ref of refs) {
    const pkg = await readFwdPkg(tx, ref.source, ref.height);
    const settleFailFilter = pkg === undefined ? undefined : ackSettleFail(pkg, ref.index);
    if (pkg !== undefined && settleFailFilter !== undefined) writeFwdPkg(tx, { ...pkg, settleFailFilter });
  }
}

/** The forwarding-package methods over `ctx.conn`. */
export function fwdPkgsFacet(ctx: IdbStoreContext): FwdPkgStore {
  const { conn } = ctx;
  return {
    loadFwdPkgs: (chanPoint: OutPoint) => conn.run([CHANNELS, FWD_PACKAGES], 'readonly', async (tx) => fwdPkgsOf(tx, (await requireInfo(tx, chanPoint)).shortChannelId)),
    async ackAddHtlcs(chanPoint: OutPoint, refs: readonly AddRef[]) {
      await conn.run([CHANNELS, FWD_PACKAGES], 'readwrite', async (tx) => ackAddsTx(tx, (await requireInfo(tx, chanPoint)).shortChannelId, refs));
    },
    async ackSettleFails(refs: readonly SettleFailRef[]) {
      await conn.run([FWD_PACKAGES], 'readwrite', (tx) => ackSettleFailsTx(tx, refs));
    },
    async setFwdFilter(chanPoint: OutPoint, height: number, filter: PkgFilter) {
      await conn.run([CHANNELS, FWD_PACKAGES], 'readwrite', async (tx) => {
        const pkg = await readFwdPkg(tx, (await requireInfo(tx, chanPoint)).shortChannelId, height);
        if (pkg === undefined) throw fwdPkgNotFound(chanPoint, height);
        const fwdFilter = fwdFilterToSet(pkg.fwdFilter, pkg.adds.length, filter);
        if (fwdFilter !== undefined) writeFwdPkg(tx, { ...pkg, fwdFilter });
      });
    },
    async removeFwdPkgs(chanPoint: OutPoint, heights: readonly number[]) {
      await conn.run([CHANNELS, FWD_PACKAGES], 'readwrite', async (tx) => {
        const { shortChannelId } = await requireInfo(tx, chanPoint);
        for (const height of heights) {
          const pkg = await readFwdPkg(tx, shortChannelId, height);
          if (pkg === undefined) continue;
          assertRemovable(pkg, shortChannelId, height);
          deleteFwdPkg(tx, shortChannelId, height);
        }
      });
    },
  };
}
