/**
 * KV facet: the funding manager's setup state and final HTLC outcomes
 * (`final-htlcs -> <scid> <htlcIndex>`: bit 0 settled, bit 1 off chain).
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { forwardingPolicyRecord, openingStateRecord } from '../chanstate/records.js';
import type { ChannelSetupStore, FinalHtlcStore } from '../chanstate/store.js';
import type { ChannelOpeningState, ForwardingPolicy, Hex, OutPoint, ShortChannelId } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { KvStoreContext } from './chanstate-tx.js';
import { FINAL_HTLCS, INITIAL_FWD_POLICY, OPENING_STATE, key, keys, u64Key } from './keys.js';

/** The setup-state and final-HTLC methods over `ctx.engine`. */
export function setupAndFinalHtlcsFacet(ctx: KvStoreContext): ChannelSetupStore & FinalHtlcStore {
  const { engine } = ctx;
  return {
    lookupFinalHtlc: (channel: ShortChannelId, htlcIndex: number) =>
      engine.read((tx) => {
        const byte = tx.get(keys.scid(FINAL_HTLCS, channel, u64Key(htlcIndex)));
        if (byte === undefined) throw new ChandError(ErrorCode.HTLC_UNKNOWN, `no final outcome for HTLC ${htlcIndex} of channel ${channel}`);
        return { settled: (byte[0]! & 1) !== 0, offchain: (byte[0]! & 2) !== 0 };
      }),
    async putOnchainFinalHtlcOutcome(channel: ShortChannelId, htlcIndex: number, settled: boolean) {
      await engine.update((tx) => tx.put(keys.scid(FINAL_HTLCS, channel, u64Key(htlcIndex)), Uint8Array.of(settled ? 1 : 0)));
    },

    async saveChannelOpeningState(chanPoint: OutPoint, state: ChannelOpeningState) {
      await engine.update((tx) => tx.put(keys.chan(OPENING_STATE, chanPoint), openingStateRecord.encode(state)));
    },
    getChannelOpeningState: (chanPoint: OutPoint) =>
      engine.read((tx) => {
        const bytes = tx.get(keys.chan(OPENING_STATE, chanPoint));
        if (bytes === undefined) throw new ChandError(ErrorCode.OPENING_STATE_NOT_FOUND, `no opening state for channel ${formatOutPoint(chanPoint)}`);
        return openingStateRecord.decode(bytes);
      }),
    async deleteChannelOpeningState(chanPoint: OutPoint) {
      await engine.update((tx) => tx.delete(keys.chan(OPENING_STATE, chanPoint)));
    },
    async saveInitialForwardingPolicy(channelId: Hex, policy: ForwardingPolicy) {
      await engine.update((tx) => tx.put(key(INITIAL_FWD_POLICY, hexToBytes(channelId)), forwardingPolicyRecord.encode(policy)));
    },
    getInitialForwardingPolicy: (channelId: Hex) =>
      engine.read((tx) => {
        const bytes = tx.get(key(INITIAL_FWD_POLICY, hexToBytes(channelId)));
        if (bytes === undefined) throw new ChandError(ErrorCode.FORWARDING_POLICY_NOT_FOUND, `no initial forwarding policy for channel ${channelId}`);
        return forwardingPolicyRecord.decode(bytes);
      }),
    async deleteInitialForwardingPolicy(channelId: Hex) {
      await engine.update((tx) => tx.delete(key(INITIAL_FWD_POLICY, hexToBytes(channelId))));
    },
  };
}
