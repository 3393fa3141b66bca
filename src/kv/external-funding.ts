/**
 * KV facet: external (PSBT) funding state of pending channels
 * (`external-funding -> <chanPoint>`), created with the channel by the coordinator and
 * cleared by markOpen and every close.
 */
import { outPointFromKey } from '../chanstate/channel-id.js';
import { externalFundingRecord } from '../chanstate/records.js';
import { assertCancellable, decideSubmit, externalFundingNotFound, fundingCanceledSummary, isCancelledSummary } from '../chanstate/rules.js';
import type { ExternalFundingStore } from '../chanstate/store.js';
import type { ExternalFundingState, OutPoint } from '../chanstate/types.js';
import { closeChannelTx, LOCAL, readClosedSummary, readCommitment, readExternalFunding, readInfo, readRevocation, requireInfo, type KvStoreContext } from './chanstate-tx.js';
import { EXTERNAL_FUNDING, byteKey, keys, prefixRange } from './keys.js';

/** The external-funding methods over `ctx.engine`. */
export function externalFundingFacet(ctx: KvStoreContext): ExternalFundingStore {
  const { engine } = ctx;
  return {
    fetchExternalFunding: (chanPoint: OutPoint) =>
      engine.read((tx) => {
        const state = readInfo(tx, chanPoint) === undefined ? undefined : readExternalFunding(tx, chanPoint);
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        return state;
      }),
    fetchAllExternalFundings: () =>
      engine.read((tx) => {
        const out: Array<{ chanPoint: OutPoint; state: ExternalFundingState }> = [];
        for (const [k, v] of tx.range(prefixRange(byteKey(EXTERNAL_FUNDING)))) out.push({ chanPoint: outPointFromKey(k.subarray(1)), state: externalFundingRecord.decode(v) });
        return out;
      }),
    submitExternalFunding: (chanPoint: OutPoint, signedTx: Uint8Array) =>
      engine.update((tx) => {
        requireInfo(tx, chanPoint);
        const state = readExternalFunding(tx, chanPoint);
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        const decision = decideSubmit(chanPoint, state, signedTx);
        if (decision.write) tx.put(keys.chan(EXTERNAL_FUNDING, chanPoint), externalFundingRecord.encode(decision.state));
        return decision.state;
      }),
    cancelExternalFunding: (chanPoint: OutPoint, nowMs: number, bestHeight: number) =>
      engine.update((tx) => {
        const info = readInfo(tx, chanPoint);
        if (info === undefined) {
          const earlier = readClosedSummary(tx, chanPoint);
          if (isCancelledSummary(earlier)) return earlier;
          throw externalFundingNotFound(chanPoint);
        }
        const state = readExternalFunding(tx, chanPoint);
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        assertCancellable(chanPoint, state, nowMs);
        const summary = fundingCanceledSummary(info, readCommitment(tx, chanPoint, LOCAL).localBalanceMsat, readRevocation(tx, chanPoint), bestHeight);
        closeChannelTx(tx, info, summary, 0);
        return summary;
      }),
  };
}
