/**
 * SQL facet: external (PSBT) funding state of pending channels (ExternalFundingStore).
 *
 * Layout: `external_fundings (channel_id)`, written with the pending channel by the
 * coordinator and deleted by markOpen and every close. Submit and cancel lock the channel
 * row first, so on PostgreSQL a submit racing a deadline cancel is serialized by the row
 * lock (on SQLite every writer is): the loser sees the winner's outcome.
 */
import { externalFundingNotFound, assertCancellable, decideSubmit, fundingCanceledSummary, isCancelledSummary } from '../chanstate/rules.js';
import type { ExternalFundingStore } from '../chanstate/store.js';
import type { ExternalFundingState } from '../chanstate/types.js';
import { lockChannel, openAt, readClosedSummary, readExternalFunding, readRevocation, readTx, requireCommitment, writeTx, type SqlStoreContext } from './chanstate-tx.js';
import { closeChannelTx, lockSummarySource } from './closed-channels.js';
import { boolOf, bytes, hexOf, num } from './columns.js';
import { Party } from './schema.js';

/** The external funding state of the SQL store. */
export function externalFundingFacet(ctx: SqlStoreContext): ExternalFundingStore {
  return {
    fetchExternalFunding(chanPoint) {
      return readTx(ctx, async (tx) => {
        const row = await tx.selectFrom('channels').select('id').where(openAt(chanPoint)).executeTakeFirst();
        const state = row === undefined ? undefined : await readExternalFunding(tx, num(row.id));
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        return state;
      });
    },

    fetchAllExternalFundings() {
      return readTx(ctx, async (tx) => {
        const rows = await tx
          .selectFrom('external_fundings')
          .innerJoin('channels', 'channels.id', 'external_fundings.channel_id')
          .selectAll('external_fundings')
          .select(['channels.txid', 'channels.output_index'])
          .orderBy('channels.txid')
          .orderBy('channels.output_index')
          .execute();
        return rows.map((row) => {
          const state: ExternalFundingState = { unsignedPsbt: bytes(row.unsigned_psbt), deadlineMs: num(row.deadline_ms), submitted: boolOf(row.submitted, 'external_fundings.submitted') };
          return {
            chanPoint: { txid: hexOf(row.txid, 32, 'channels.txid'), index: num(row.output_index) },
            state: row.signed_tx === null ? state : { ...state, signedTx: bytes(row.signed_tx) },
          };
        });
      });
    },

    submitExternalFunding(chanPoint, signedTx) {
      return writeTx(ctx, async (tx) => {
        const channel = await lockChannel(ctx, tx, chanPoint);
        const state = await readExternalFunding(tx, channel.id);
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        const decision = decideSubmit(chanPoint, state, signedTx);
        if (decision.write) {
          await tx
            .updateTable('external_fundings')
            .set({ submitted: 1, signed_tx: decision.state.signedTx ?? null })
            .where('channel_id', '=', channel.id)
            .execute();
        }
        return decision.state;
      });
    },

    cancelExternalFunding(chanPoint, nowMs, bestHeight) {
      return writeTx(ctx, async (tx) => {
        const source = await lockSummarySource(ctx, tx, chanPoint);
        if (source === undefined) {
          // Not open: a repeated cancel returns its earlier result; anything else has no flow.
          const summary = await readClosedSummary(tx, chanPoint);
          if (isCancelledSummary(summary)) return summary;
          throw externalFundingNotFound(chanPoint);
        }
        const state = await readExternalFunding(tx, source.handle.id);
        if (state === undefined) throw externalFundingNotFound(chanPoint);
        assertCancellable(chanPoint, state, nowMs);
        const local = await requireCommitment(tx, source.handle.id, Party.Local, chanPoint);
        const summary = fundingCanceledSummary(source.info, local.localBalanceMsat, await readRevocation(tx, source.handle.id), bestHeight);
        await closeChannelTx(tx, chanPoint, source.handle, summary, 0);
        return summary;
      });
    },
  };
}
