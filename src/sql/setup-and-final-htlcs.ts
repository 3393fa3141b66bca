/**
 * SQL facet: the funding manager's temporary setup state (ChannelSetupStore) and final HTLC
 * outcomes (FinalHtlcStore), tables independent of the channel lifecycle.
 *
 * Layout: `opening_states (txid, output_index)`, `initial_forwarding_policies
 * (wire_channel_id)`, `final_htlcs (short_channel_id, htlc_index)`; saves are upserts.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import type { ChannelSetupStore, FinalHtlcStore } from '../chanstate/store.js';
import type { OpeningStage } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import { readTx, writeTx, type SqlStoreContext } from './chanstate-tx.js';
import { amountCol, big, boolOf, flag, num, u64Col, u64Of } from './columns.js';

/** The channel setup state of the SQL store. */
export function setupFacet(ctx: SqlStoreContext): ChannelSetupStore {
  return {
    async saveChannelOpeningState(chanPoint, state) {
      await writeTx(ctx, async (tx) => {
        const values = { stage: state.stage, short_channel_id: u64Col(state.shortChannelId) };
        await tx
          .insertInto('opening_states')
          .values({ txid: hexToBytes(chanPoint.txid), output_index: chanPoint.index, ...values })
          .onConflict((oc) => oc.columns(['txid', 'output_index']).doUpdateSet(values))
          .execute();
      });
    },

    getChannelOpeningState(chanPoint) {
      return readTx(ctx, async (tx) => {
        const row = await tx
          .selectFrom('opening_states')
          .select(['stage', 'short_channel_id'])
          .where('txid', '=', hexToBytes(chanPoint.txid))
          .where('output_index', '=', chanPoint.index)
          .executeTakeFirst();
        if (row === undefined) throw new ChandError(ErrorCode.OPENING_STATE_NOT_FOUND, `no opening state for channel ${formatOutPoint(chanPoint)}`);
        return { stage: num(row.stage) as OpeningStage, shortChannelId: u64Of(row.short_channel_id) };
      });
    },

    async deleteChannelOpeningState(chanPoint) {
      await writeTx(ctx, async (tx) => {
        await tx.deleteFrom('opening_states').where('txid', '=', hexToBytes(chanPoint.txid)).where('output_index', '=', chanPoint.index).execute();
      });
    },

    async saveInitialForwardingPolicy(channelId, policy) {
      await writeTx(ctx, async (tx) => {
        const values = {
          // INT8 holds amounts below 2^63 only (the one difference from KV; columns.ts).
          min_htlc_msat: amountCol(policy.minHtlcMsat, 'minHtlcMsat'),
          max_htlc_msat: amountCol(policy.maxHtlcMsat, 'maxHtlcMsat'),
          base_fee_msat: amountCol(policy.baseFeeMsat, 'baseFeeMsat'),
          fee_rate_ppm: policy.feeRatePpm,
          time_lock_delta: policy.timeLockDelta,
        };
        await tx
          .insertInto('initial_forwarding_policies')
          .values({ wire_channel_id: hexToBytes(channelId), ...values })
          .onConflict((oc) => oc.column('wire_channel_id').doUpdateSet(values))
          .execute();
      });
    },

    getInitialForwardingPolicy(channelId) {
      return readTx(ctx, async (tx) => {
        const row = await tx.selectFrom('initial_forwarding_policies').selectAll().where('wire_channel_id', '=', hexToBytes(channelId)).executeTakeFirst();
        if (row === undefined) throw new ChandError(ErrorCode.FORWARDING_POLICY_NOT_FOUND, `no initial forwarding policy for channel ${channelId}`);
        return {
          minHtlcMsat: big(row.min_htlc_msat),
          maxHtlcMsat: big(row.max_htlc_msat),
          baseFeeMsat: big(row.base_fee_msat),
          feeRatePpm: num(row.fee_rate_ppm),
          timeLockDelta: num(row.time_lock_delta),
        };
      });
    },

    async deleteInitialForwardingPolicy(channelId) {
      await writeTx(ctx, async (tx) => {
        await tx.deleteFrom('initial_forwarding_policies').where('wire_channel_id', '=', hexToBytes(channelId)).execute();
      });
    },
  };
}

/** The final HTLC outcomes of the SQL store. */
export function finalHtlcsFacet(ctx: SqlStoreContext): FinalHtlcStore {
  return {
    lookupFinalHtlc(channel, htlcIndex) {
      return readTx(ctx, async (tx) => {
        const row = await tx
          .selectFrom('final_htlcs')
          .select(['settled', 'offchain'])
          .where('short_channel_id', '=', u64Col(channel))
          .where('htlc_index', '=', htlcIndex)
          .executeTakeFirst();
        if (row === undefined) throw new ChandError(ErrorCode.HTLC_UNKNOWN, `no final outcome for HTLC ${htlcIndex} of channel ${channel}`);
        return { settled: boolOf(row.settled, 'final_htlcs.settled'), offchain: boolOf(row.offchain, 'final_htlcs.offchain') };
      });
    },

    async putOnchainFinalHtlcOutcome(channel, htlcIndex, settled) {
      await writeTx(ctx, async (tx) => {
        const values = { settled: flag(settled), offchain: 0 };
        await tx
          .insertInto('final_htlcs')
          .values({ short_channel_id: u64Col(channel), htlc_index: htlcIndex, ...values })
          .onConflict((oc) => oc.columns(['short_channel_id', 'htlc_index']).doUpdateSet(values))
          .execute();
      });
    },
  };
}
