/**
 * IndexedDB facet: external (PSBT) funding state of pending channels
 * (`external-funding -> <op>`), created with the channel by the coordinator and cleared by
 * markOpen and every close. Submit and cancel each decide and write in one transaction, so
 * a deadline timer racing a submit (two tabs, or a timer and a redirect back from the
 * wallet) is serialized by IndexedDB and the loser sees the winner's write.
 */
import { externalFundingRecord } from '../chanstate/records.js';
import { assertCancellable, decideSubmit, externalFundingNotFound, fundingCanceledSummary, isCancelledSummary } from '../chanstate/rules.js';
import type { ExternalFundingStore } from '../chanstate/store.js';
import type { OutPoint } from '../chanstate/types.js';
import { closeChannelTx, LOCAL, readClosedSummary, readCommitment, readExternalFunding, readInfo, readRevocation, requireInfo, type IdbStoreContext } from './chanstate-tx.js';
import { CHANNELS, CLOSE_STORES, EXTERNAL_FUNDING, opKey, opOfKey } from './stores.js';

/** The external-funding methods over `ctx.conn`. */
export function externalFundingFacet(ctx: IdbStoreContext): ExternalFundingStore {
  const { conn } = ctx;
  return {
    fetchExternalFunding: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, EXTERNAL_FUNDING], 'readonly', async (tx) => {
        const state = (await readInfo(tx, chanPoint)) === undefined ? undefined : await readExternalFunding(tx, chanPoint);
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        return state;
      }),
    fetchAllExternalFundings: () =>
      conn.run([EXTERNAL_FUNDING], 'readonly', async (tx) =>
        (await tx.entries<Uint8Array>(EXTERNAL_FUNDING)).map(([key, value]) => ({ chanPoint: opOfKey(key), state: externalFundingRecord.decode(value) })),
      ),
    submitExternalFunding: (chanPoint: OutPoint, signedTx: Uint8Array) =>
      conn.run([CHANNELS, EXTERNAL_FUNDING], 'readwrite', async (tx) => {
        await requireInfo(tx, chanPoint);
        const state = await readExternalFunding(tx, chanPoint);
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        // Synchronous (signature checks included), so it runs inside the transaction.
        const decision = decideSubmit(chanPoint, state, signedTx);
        if (decision.write) tx.put(EXTERNAL_FUNDING, opKey(chanPoint), externalFundingRecord.encode(decision.state));
        return decision.state;
      }),
    cancelExternalFunding: (chanPoint: OutPoint, nowMs: number, bestHeight: number) =>
      conn.run(CLOSE_STORES, 'readwrite', async (tx) => {
        const info = await readInfo(tx, chanPoint);
        if (info === undefined) {
          const earlier = await readClosedSummary(tx, chanPoint);
          if (isCancelledSummary(earlier)) return earlier;
          throw externalFundingNotFound(chanPoint);
        }
        const state = await readExternalFunding(tx, chanPoint);
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        assertCancellable(chanPoint, state, nowMs);
        const [local, revocation] = await Promise.all([readCommitment(tx, chanPoint, LOCAL), readRevocation(tx, chanPoint)]);
        const summary = fundingCanceledSummary(info, local.localBalanceMsat, revocation, bestHeight);
        await closeChannelTx(tx, info, summary, 0);
        return summary;
      }),
  };
}
