/**
 * Conformance: funding-manager setup state (ChannelSetupStore) and final HTLC outcomes
 * (FinalHtlcStore).
 */
import { describe, expect, it } from 'vitest';
import { channelIdOf } from '../chanstate/channel-id.js';
import { OpeningStage, type ChannelOpeningState, type ForwardingPolicy } from '../chanstate/types.js';
import { ErrorCode } from '../errors.js';
import { chanPointOf, scidOf } from './fixtures.js';
import { expectCode, useDb, type SuiteContext } from './harness.js';

/** Registers the setup-state and final-HTLC tests. */
export function setupAndFinalHtlcsSuite({ factory }: SuiteContext): void {
  describe('channel setup state', () => {
    const h = useDb(factory);

    it('opening state: OPENING_STATE_NOT_FOUND until saved, replaced on save, gone after delete', async () => {
      const s = h.db.channelState;
      const op = chanPointOf(1);
      await expectCode(s.getChannelOpeningState(op), ErrorCode.OPENING_STATE_NOT_FOUND);
      const first: ChannelOpeningState = { stage: OpeningStage.MarkedOpen, shortChannelId: scidOf(812_000, 5, 1) };
      await s.saveChannelOpeningState(op, first);
      await s.saveChannelOpeningState(chanPointOf(2), { stage: OpeningStage.AddedToGraph, shortChannelId: 9n });
      expect(await s.getChannelOpeningState(op)).toEqual(first);
      const second: ChannelOpeningState = { stage: OpeningStage.ChannelReadySent, shortChannelId: scidOf(812_000, 5, 1) };
      await s.saveChannelOpeningState(op, second);
      expect(await s.getChannelOpeningState(op)).toEqual(second);
      await s.deleteChannelOpeningState(op);
      await expectCode(s.getChannelOpeningState(op), ErrorCode.OPENING_STATE_NOT_FOUND);
      await s.deleteChannelOpeningState(op);
      expect(await s.getChannelOpeningState(chanPointOf(2))).toEqual({ stage: OpeningStage.AddedToGraph, shortChannelId: 9n });
    });

    it('initial forwarding policy: FORWARDING_POLICY_NOT_FOUND until saved, replaced on save, gone after delete', async () => {
      const s = h.db.channelState;
      const id = channelIdOf(chanPointOf(1));
      const otherId = channelIdOf(chanPointOf(2));
      await expectCode(s.getInitialForwardingPolicy(id), ErrorCode.FORWARDING_POLICY_NOT_FOUND);
      const policy: ForwardingPolicy = { minHtlcMsat: 1_000n, maxHtlcMsat: 990_000_000n, baseFeeMsat: 1_000n, feeRatePpm: 100, timeLockDelta: 80 };
      await s.saveInitialForwardingPolicy(id, policy);
      await s.saveInitialForwardingPolicy(otherId, { ...policy, feeRatePpm: 1 });
      expect(await s.getInitialForwardingPolicy(id)).toEqual(policy);
      await s.saveInitialForwardingPolicy(id, { ...policy, baseFeeMsat: 0n });
      expect(await s.getInitialForwardingPolicy(id)).toEqual({ ...policy, baseFeeMsat: 0n });
      await s.deleteInitialForwardingPolicy(id);
      await expectCode(s.getInitialForwardingPolicy(id), ErrorCode.FORWARDING_POLICY_NOT_FOUND);
      await s.deleteInitialForwardingPolicy(id);
      expect(await s.getInitialForwardingPolicy(otherId)).toEqual({ ...policy, feeRatePpm: 1 });
    });
  });

  describe('final HTLC outcomes', () => {
    const h = useDb(factory);

    it('HTLC_UNKNOWN until recorded; on-chain outcomes read back per channel and index', async () => {
      const s = h.db.channelState;
      const scid = scidOf(812_000, 1, 0);
      const other = scidOf(812_000, 2, 0);
      await expectCode(s.lookupFinalHtlc(scid, 0), ErrorCode.HTLC_UNKNOWN);
      await s.putOnchainFinalHtlcOutcome(scid, 0, true);
      await s.putOnchainFinalHtlcOutcome(scid, 2 ** 40, false);
      await s.putOnchainFinalHtlcOutcome(other, 0, false);
      expect(await s.lookupFinalHtlc(scid, 0)).toEqual({ settled: true, offchain: false });
      expect(await s.lookupFinalHtlc(scid, 2 ** 40)).toEqual({ settled: false, offchain: false });
      expect(await s.lookupFinalHtlc(other, 0)).toEqual({ settled: false, offchain: false });
      await expectCode(s.lookupFinalHtlc(scid, 1), ErrorCode.HTLC_UNKNOWN);
      await expectCode(s.lookupFinalHtlc(scidOf(812_000, 3, 0), 0), ErrorCode.HTLC_UNKNOWN);
    });
  });
}
