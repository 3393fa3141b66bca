/**
 * IndexedDB facet: the funding manager's setup state and final HTLC outcomes
 * (`final-htlcs -> [<scid>, htlcIndex]`: bit 0 settled, bit 1 off chain).
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { forwardingPolicyRecord, openingStateRecord } from '../chanstate/records.js';
import type { ChannelSetupStore, FinalHtlcStore } from '../chanstate/store.js';
import type { ChannelOpeningState, ForwardingPolicy, Hex, OutPoint, ShortChannelId } from '../chanstate/types.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { IdbStoreContext } from './chanstate-tx.js';
import { FINAL_HTLCS, INITIAL_FWD_POLICIES, OPENING_STATES, opKey, scidKey } from './stores.js';

/** The setup-state and final-HTLC methods over `ctx.conn`. */
export function setupAndFinalHtlcsFacet(ctx: IdbStoreContext): ChannelSetupStore & FinalHtlcStore {
  const { conn } = ctx;
  return {
    lookupFinalHtlc: (channel: ShortChannelId, htlcIndex: number) =>
      conn.run([FINAL_HTLCS], 'readonly', async (tx) => {
        const bits = await tx.get<number>(FINAL_HTLCS, [scidKey(channel), htlcIndex]);
        if (bits === undefined) throw new ChandError(ErrorCode.HTLC_UNKNOWN, `no final outcome for HTLC ${htlcIndex} of channel ${channel}`);
        return { settled: (bits & 1) !== 0, offchain: (bits & 2) !== 0 };
      }),
    async putOnchainFinalHtlcOutcome(channel: ShortChannelId, htlcIndex: number, settled: boolean) {
      await conn.run([FINAL_HTLCS], 'readwrite', async (tx) => tx.put(FINAL_HTLCS, [scidKey(channel), htlcIndex], settled ? 1 : 0));
    },

    async saveChannelOpeningState(chanPoint: OutPoint, state: ChannelOpeningState) {
      await conn.run([OPENING_STATES], 'readwrite', async (tx) => tx.put(OPENING_STATES, opKey(chanPoint), openingStateRecord.encode(state)));
    },
    getChannelOpeningState: (chanPoint: OutPoint) =>
      conn.run([OPENING_STATES], 'readonly', async (tx) => {
        const bytes = await tx.get<Uint8Array>(OPENING_STATES, opKey(chanPoint));
        if (bytes === undefined) throw new ChandError(ErrorCode.OPENING_STATE_NOT_FOUND, `no opening state for channel ${formatOutPoint(chanPoint)}`);
        return openingStateRecord.decode(bytes);
      }),
    async deleteChannelOpeningState(chanPoint: OutPoint) {
      await conn.run([OPENING_STATES], 'readwrite', async (tx) => tx.delete(OPENING_STATES, opKey(chanPoint)));
    },
    async saveInitialForwardingPolicy(channelId: Hex, policy: ForwardingPolicy) {
      await conn.run([INITIAL_FWD_POLICIES], 'readwrite', async (tx) => tx.put(INITIAL_FWD_POLICIES, channelId, forwardingPolicyRecord.encode(policy)));
    },
    getInitialForwardingPolicy: (channelId: Hex) =>
      conn.run([INITIAL_FWD_POLICIES], 'readonly', async (tx) => {
        const bytes = await tx.get<Uint8Array>(INITIAL_FWD_POLICIES, channelId);
        if (bytes === undefined) throw new ChandError(ErrorCode.FORWARDING_POLICY_NOT_FOUND, `no initial forwarding policy for channel ${channelId}`);
        return forwardingPolicyRecord.decode(bytes);
      }),
    async deleteInitialForwardingPolicy(channelId: Hex) {
      await conn.run([INITIAL_FWD_POLICIES], 'readwrite', async (tx) => tx.delete(INITIAL_FWD_POLICIES, channelId));
    },
  };
}
