/**
 * Conformance: external (PSBT) funding state (ExternalFundingStore), stored with the pending
 * channel in one coordinator transaction and cleared by markOpen and by the close.
 */
import { describe, expect, it } from 'vitest';
import { ClosureType, type OutPoint } from '../chanstate/types.js';
import { ErrorCode } from '../errors.js';
import { CHAIN_HASHES } from '../linknode/store.js';
import { chanPointOf, makeChannel, makeCloseSummary, makeExternalFunding, makeExternallyFunded, makePendingChannel, makeTx, peerPub, scidOf } from './fixtures.js';
import { addChannel, compareOutPoints, expectCode, useDb, type SuiteContext } from './harness.js';

/** Registers the external funding tests. */
export function externalFundingSuite({ factory }: SuiteContext): void {
  describe('external funding', () => {
    const h = useDb(factory);

    /** A pending, externally funded channel with peer 7 on mainnet, synced with an address. */
    async function externallyFunded(seed: number) {
      const { channel } = makeExternallyFunded(seed, { chainHash: CHAIN_HASHES.mainnet }, { peer: 7 });
      await h.db.coordinator.syncPendingChannel(channel, '203.0.113.7:9735', channel.fundingBroadcastHeight);
      return channel;
    }

    it('is stored with the pending channel and its link node by syncPendingChannel', async () => {
      const channel = await externallyFunded(1);
      const op = channel.fundingOutpoint;
      expect(await h.db.channelState.fetchExternalFunding(op)).toEqual(makeExternalFunding(1));
      expect(await h.db.channelState.fetchChannel(op)).toEqual(channel);
      const node = await h.db.linkNodes.fetchLinkNode(peerPub(7));
      expect(node).toMatchObject({ identityPub: peerPub(7), network: 'mainnet', addresses: ['203.0.113.7:9735'] });
    });

    it('fetchAllExternalFundings lists every channel with state, and nothing else', async () => {
      const a = await externallyFunded(1);
      const b = await externallyFunded(2);
      await addChannel(h.db, makePendingChannel(3));
      await addChannel(h.db, makeChannel(4));
      const all = await h.db.channelState.fetchAllExternalFundings();
      const sorted = [...all].sort((x, y) => compareOutPoints(x.chanPoint, y.chanPoint));
      const expected = [
        { chanPoint: a.fundingOutpoint, state: makeExternalFunding(1) },
        { chanPoint: b.fundingOutpoint, state: makeExternalFunding(2) },
      ].sort((x, y) => compareOutPoints(x.chanPoint, y.chanPoint));
      expect(sorted).toEqual(expected);
    });

    it('a channel without external funding fails EXTERNAL_FUNDING_NOT_FOUND on fetch and submit', async () => {
      const plain = await addChannel(h.db, makePendingChannel(1));
      await expectCode(h.db.channelState.fetchExternalFunding(plain.fundingOutpoint), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
      await expectCode(h.db.channelState.submitExternalFunding(plain.fundingOutpoint, makeTx('signed', 2)), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
      await expectCode(h.db.channelState.fetchExternalFunding(chanPointOf(99)), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
      expect(await h.db.channelState.fetchAllExternalFundings()).toEqual([]);
    });

    it('submit records the signed tx; the same tx again returns the same state; another tx fails EXTERNAL_FUNDING_CONFLICT', async () => {
      const channel = await externallyFunded(1);
      const op = channel.fundingOutpoint;
      const signed = makeExternallyFunded(1).signedTx;
      const submitted = { ...makeExternalFunding(1), submitted: true, signedTx: signed };

      expect(await h.db.channelState.submitExternalFunding(op, signed)).toEqual(submitted);
      expect(await h.db.channelState.fetchExternalFunding(op)).toEqual(submitted);
      expect((await h.db.channelState.fetchChannel(op)).externalFunding).toEqual(submitted);

      expect(await h.db.channelState.submitExternalFunding(op, signed.slice())).toEqual(submitted);
      await expectCode(h.db.channelState.submitExternalFunding(op, makeExternallyFunded(1).badlySignedTx), ErrorCode.EXTERNAL_FUNDING_CONFLICT);
      await expectCode(h.db.channelState.submitExternalFunding(op, makeTx('signed-funding/other', 2)), ErrorCode.EXTERNAL_FUNDING_CONFLICT);
      expect(await h.db.channelState.fetchExternalFunding(op)).toEqual(submitted);
      expect(await h.db.channelState.fetchAllExternalFundings()).toEqual([{ chanPoint: op, state: submitted }]);
    });

    it('markOpen clears it in the same step', async () => {
      const channel = await externallyFunded(1);
      const other = await externallyFunded(2);
      const op = channel.fundingOutpoint;
      await h.db.channelState.submitExternalFunding(op, makeExternallyFunded(1).signedTx);
      await h.db.channelState.markOpen(op, scidOf(812_000, 4, op.index));
      await expectCode(h.db.channelState.fetchExternalFunding(op), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
      expect((await h.db.channelState.fetchChannel(op)).externalFunding).toBeUndefined();
      expect(await h.db.channelState.fetchAllExternalFundings()).toEqual([{ chanPoint: other.fundingOutpoint, state: makeExternalFunding(2) }]);
    });

    it('closeChannel clears it (funding canceled at the deadline)', async () => {
      const channel = await externallyFunded(1);
      const op: OutPoint = channel.fundingOutpoint;
      await h.db.channelState.closeChannel(op, makeCloseSummary(channel, { closeType: ClosureType.FundingCanceled, closingTxid: '00'.repeat(32) }));
      await expectCode(h.db.channelState.fetchExternalFunding(op), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
      expect(await h.db.channelState.fetchAllExternalFundings()).toEqual([]);
      await expectCode(h.db.channelState.submitExternalFunding(op, makeTx('late', 2)), ErrorCode.CHANNEL_NOT_FOUND);
    });

    it('a failed syncPendingChannel stores no external funding state', async () => {
      const plain = await addChannel(h.db, makePendingChannel(1));
      await expectCode(
        h.db.coordinator.syncPendingChannel({ ...plain, externalFunding: makeExternalFunding(1) }, undefined, plain.fundingBroadcastHeight),
        ErrorCode.CHANNEL_ALREADY_EXISTS,
      );
      await expectCode(h.db.channelState.fetchExternalFunding(plain.fundingOutpoint), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
      expect(await h.db.channelState.fetchAllExternalFundings()).toEqual([]);
    });
  });
}
