/**
 * Conformance: the commitment update protocol (CommitmentStore) driven through full payment
 * rounds: appendRemoteCommitChain → advanceCommitChainTail → updateCommitment.
 */
import { describe, expect, it } from 'vitest';
import { computeTxid } from '../bitcoin/txid.js';
import { OUTPUT_INDEX_NONE, type OpenChannel } from '../chanstate/types.js';
import { ErrorCode } from '../errors.js';
import {
  channelWithModel,
  legacyTxid,
  makeChannel,
  makeLogUpdate,
  modelOf,
  PaymentRound,
  pubkeyOf,
  runRounds,
  type ChannelModel,
  type RoundSpec,
} from './fixtures.js';
import { addChannel, addChannels, expectCode, expectModel, storedLogEntry, useDb, type SuiteContext } from './harness.js';

/** Six rounds that between them exercise every branch of the protocol. */
const ROUNDS: readonly RoundSpec[] = [
  { settle: [0], remoteAdds: 2, htlcs: 3, dust: 1 },
  { settle: [2], fail: [4], ourAdds: 1, lockIn: 1, unsignedAcked: 2, htlcs: 5, dust: 2 },
  { failMalformed: [6], remoteAdds: 1, remoteSettles: [1], coverAcked: 1, htlcs: 0, dust: 0 },
  { remoteFails: [3], unsignedAcked: 1, htlcs: 4, dust: 0, ourOutputIndex: OUTPUT_INDEX_NONE },
  { settle: [8, 10], lockIn: 0, htlcs: 2, dust: 2, theirOutputIndex: OUTPUT_INDEX_NONE },
  { fail: [12], remoteAdds: 3, htlcs: 6, dust: 3 },
];

/** Registers the commitment tests. */
export function commitmentsSuite({ factory, options }: SuiteContext): void {
  describe('commitments', () => {
    const h = useDb(factory);

    it('a fresh channel has no chain tip, an empty revocation log and empty update lists', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const op = channel.fundingOutpoint;
      const s = h.db.channelState;
      await expectCode(s.remoteCommitChainTip(op), ErrorCode.NO_PENDING_COMMIT);
      await expectCode(new PaymentRound(modelOf(channel)).advance(s), ErrorCode.NO_PENDING_COMMIT);
      await expectCode(s.findPreviousState(op, 0), ErrorCode.LOG_ENTRY_NOT_FOUND);
      expect(await s.revocationLogTailHeight(op)).toBeUndefined();
      expect(await s.fetchRevocationLog(op, 0, 100)).toEqual([]);
      expect(await s.commitmentHeight(op)).toBe(0);
      expect(await s.latestCommitments(op)).toEqual({ local: channel.localCommitment, remote: channel.remoteCommitment });
      expect(await s.remoteRevocationStore(op)).toEqual(channel.remoteRevocation);
      expect(await s.unsignedAckedUpdates(op)).toEqual([]);
      expect(await s.remoteUnsignedLocalUpdates(op)).toEqual([]);
      // The failed advance wrote nothing.
      expect(await s.loadFwdPkgs(op)).toEqual([]);
      expect(await s.fetchChannel(op)).toEqual(channel);
    });

    it('appendRemoteCommitChain stores the tip without its acks, a second append replaces it, and lastWasRevoke turns false', async () => {
      const channel = await addChannel(h.db, makeChannel(1, { lastWasRevoke: true }));
      const op = channel.fundingOutpoint;
      const first = new PaymentRound(modelOf(channel), { settle: [0], addAcks: [{ height: 9, index: 0 }] });
      await first.append(h.db.channelState);
      const tip = await h.db.channelState.remoteCommitChainTip(op);
      expect(tip).toEqual(first.plan.tip);
      expect(tip).not.toHaveProperty('addAcks');
      expect((await h.db.channelState.fetchChannel(op)).lastWasRevoke).toBe(false);

      const second = new PaymentRound(modelOf(channel), { fail: [2], ourAdds: 2, htlcs: 1, dust: 0 });
      await second.append(h.db.channelState);
      expect(await h.db.channelState.remoteCommitChainTip(op)).toEqual(second.plan.tip);
      // Appending is not a revocation: the remote commitment and the log are unchanged.
      expect(await h.db.channelState.latestCommitments(op)).toEqual({ local: channel.localCommitment, remote: channel.remoteCommitment });
      expect(await h.db.channelState.revocationLogTailHeight(op)).toBeUndefined();
    });

    it('several payment rounds read back exactly, step by step', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      await addChannel(h.db, makeChannel(2));
      const s = h.db.channelState;
      const op = channel.fundingOutpoint;
      let model: ChannelModel = modelOf(channel);
      for (const spec of ROUNDS) {
        const round = new PaymentRound(model, spec);
        const { plan } = round;

        await round.append(s);
        expect(await s.remoteCommitChainTip(op)).toEqual(plan.tip);

        await round.advance(s);
        await expectCode(s.remoteCommitChainTip(op), ErrorCode.NO_PENDING_COMMIT);
        expect(await s.latestCommitments(op)).toEqual({ local: model.local, remote: plan.tip.commitment });
        expect(await s.unsignedAckedUpdates(op)).toEqual(plan.unsignedAckedAfterAdvance);
        expect(await s.remoteUnsignedLocalUpdates(op)).toEqual(plan.advance.remoteUnsignedLocalUpdates);
        expect(await s.remoteRevocationStore(op)).toEqual(plan.next.revocation);

        const entry = await s.findPreviousState(op, plan.revokedHeight);
        expect(entry).toEqual(storedLogEntry(plan.logEntry, options));
        expect(entry.commitTxid).toBe(computeTxid(model.remote.commitTx));
        expect(entry.commitTxid).toBe(legacyTxid(model.remote.commitTx));
        const nonDust = model.remote.htlcs.filter((htlc) => htlc.outputIndex >= 0);
        expect(entry.htlcs.map((e) => e.paymentHash)).toEqual(nonDust.map((htlc) => htlc.paymentHash));
        expect(await s.revocationLogTailHeight(op)).toBe(plan.revokedHeight);

        const settled = await round.update(s);
        expect(settled).toBeInstanceOf(Map);
        expect([...settled].sort(([a], [b]) => a - b)).toEqual([...plan.settled].sort(([a], [b]) => a - b));
        model = plan.next;
        await expectModel(s, channel, model, options);
        expect((await s.fetchChannel(op)).lastWasRevoke).toBe(true);
      }
      for (const expected of model.revocationLog) {
        expect(await s.findPreviousState(op, expected.commitHeight)).toEqual(storedLogEntry(expected, options));
      }
      await expectCode(s.findPreviousState(op, ROUNDS.length), ErrorCode.LOG_ENTRY_NOT_FOUND);
      expect(await s.commitmentHeight(op)).toBe(ROUNDS.length);
    });

    it('the revocation log skips dust HTLCs and keeps amounts in whole satoshis', async () => {
      const channel = await addChannel(h.db, makeChannel(1, {}, { htlcs: 4, dust: 3 }));
      await new PaymentRound(modelOf(channel)).run(h.db.channelState);
      const entry = await h.db.channelState.findPreviousState(channel.fundingOutpoint, 0);
      const kept = channel.remoteCommitment.htlcs[0]!;
      expect(entry.htlcs).toEqual([
        {
          paymentHash: kept.paymentHash,
          refundTimeout: kept.refundTimeout,
          outputIndex: kept.outputIndex,
          incoming: kept.incoming,
          amountSat: kept.amountMsat / 1000n,
          htlcIndex: kept.htlcIndex,
        },
      ]);
      expect(entry.htlcs[0]!.amountSat * 1000n).not.toBe(kept.amountMsat);
    });

    it('fetchRevocationLog pages through the log in height order', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const outcomes = await runRounds(h.db.channelState, modelOf(channel), Array.from({ length: 7 }, (_, i) => ({ settle: [i], htlcs: i % 3, dust: i % 2 })));
      const all = outcomes.at(-1)!.next.revocationLog.map((e) => storedLogEntry(e, options));
      const op = channel.fundingOutpoint;
      const s = h.db.channelState;
      const pages = [await s.fetchRevocationLog(op, 0, 3), await s.fetchRevocationLog(op, 3, 3), await s.fetchRevocationLog(op, 6, 3)];
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(all);
      expect(await s.fetchRevocationLog(op, 4, 2)).toEqual(all.slice(4, 6));
      expect(await s.fetchRevocationLog(op, 2, 1)).toEqual([all[2]]);
      expect(await s.fetchRevocationLog(op, 7, 10)).toEqual([]);
      expect(await s.fetchRevocationLog(op, 0, 0)).toEqual([]);
      expect(await s.revocationLogTailHeight(op)).toBe(6);
    });

    it('updateCommitment returns exactly the settles and fails it locks in, and keeps the rest', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const s = h.db.channelState;
      const op = channel.fundingOutpoint;
      // Our updates: settle 1, settle 3, fail 2, malformed 4, one add; only the first two lock in.
      const r1 = await new PaymentRound(modelOf(channel), { settle: [1, 3], fail: [2], failMalformed: [4], ourAdds: 1, lockIn: 2 }).run(s);
      expect(r1.settled).toEqual(
        new Map([
          [1, true],
          [3, true],
        ]),
      );
      const pending1 = await s.remoteUnsignedLocalUpdates(op);
      expect(pending1.map((u) => u.message[1])).toEqual([131, 135, 128]);

      // Next round adds settle 5 and locks in two more: fail 2 and malformed 4.
      const r2 = await new PaymentRound(r1.next, { settle: [5], lockIn: 2 }).run(s);
      expect(r2.settled).toEqual(
        new Map([
          [2, false],
          [4, false],
        ]),
      );
      expect((await s.remoteUnsignedLocalUpdates(op)).map((u) => u.message[1])).toEqual([128, 130]);

      // Then everything: the add is dropped without being reported, settle 5 is reported.
      const r3 = await new PaymentRound(r2.next, { remoteAdds: 1 }).run(s);
      expect(r3.settled).toEqual(new Map([[5, true]]));
      expect(await s.remoteUnsignedLocalUpdates(op)).toEqual([]);

      // A round that locks in nothing returns an empty map.
      const r4 = await new PaymentRound(r3.next, { settle: [7], lockIn: 0 }).run(s);
      expect(r4.settled).toEqual(new Map());
      await expectModel(s, channel, r4.next, options);
    });

    it('unsignedAckedUpdates are replaced by updateCommitment and pruned by the next remote commitment', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const s = h.db.channelState;
      const op = channel.fundingOutpoint;
      const r1 = await new PaymentRound(modelOf(channel), { unsignedAcked: 3 }).run(s);
      const acked = await s.unsignedAckedUpdates(op);
      expect(acked).toHaveLength(3);
      expect(acked).toEqual(r1.plan.unsignedAckedArg);

      // The next remote commitment covers only the first of the three.
      const round2 = new PaymentRound(r1.next, { coverAcked: 1, unsignedAcked: 1 });
      await round2.append(s);
      await round2.advance(s);
      expect(await s.unsignedAckedUpdates(op)).toEqual(acked.slice(1));
      await round2.update(s);
      expect(await s.unsignedAckedUpdates(op)).toEqual(round2.plan.unsignedAckedArg);

      // An empty list clears them.
      const r3 = await new PaymentRound(round2.plan.next, {}).run(s);
      expect(await s.unsignedAckedUpdates(op)).toEqual([]);
      await expectModel(s, channel, r3.next, options);
    });

    it('advanceCommitChainTail replaces remoteUnsignedLocalUpdates instead of appending to them', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const s = h.db.channelState;
      const op = channel.fundingOutpoint;
      const r1 = await new PaymentRound(modelOf(channel), { settle: [1, 3], lockIn: 0 }).run(s);
      expect(await s.remoteUnsignedLocalUpdates(op)).toHaveLength(2);

      const round2 = new PaymentRound(r1.next, { settle: [5] });
      await round2.append(s);
      const only = [makeLogUpdate('settle', round2.plan.newLocal.localLogIndex - 1, 9, r1.next.channelId)];
      await s.advanceCommitChainTail(op, { ...round2.plan.advance, remoteUnsignedLocalUpdates: only });
      expect(await s.remoteUnsignedLocalUpdates(op)).toEqual(only);
      // A second advance has no tip to advance to, and changes nothing.
      await expectCode(round2.advance(s), ErrorCode.NO_PENDING_COMMIT);
      expect(await s.remoteUnsignedLocalUpdates(op)).toEqual(only);
      // Only what is stored can be locked in: htlc 9, not 1, 3 or 5.
      expect(await round2.update(s)).toEqual(new Map([[9, true]]));
      expect(await s.remoteUnsignedLocalUpdates(op)).toEqual([]);
    });

    it('insertNextRevocation replaces only the next point', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const r1 = await new PaymentRound(modelOf(channel)).run(h.db.channelState);
      const point = pubkeyOf('inserted-next-point');
      await h.db.channelState.insertNextRevocation(channel.fundingOutpoint, point);
      const expected = { ...r1.next.revocation, nextPoint: point };
      expect(await h.db.channelState.remoteRevocationStore(channel.fundingOutpoint)).toEqual(expected);
      expect((await h.db.channelState.fetchChannel(channel.fundingOutpoint)).remoteRevocation).toEqual(expected);
    });

    it('the store does not mutate the values passed to it', async () => {
      const channel = await addChannel(h.db, makeChannel(1));
      const round = new PaymentRound(modelOf(channel), { settle: [0], remoteAdds: 2, unsignedAcked: 1, addAcks: [], settleFailAcks: [] });
      const before = structuredClone(round.plan);
      await round.run(h.db.channelState);
      expect(round.plan).toEqual(before);
    });

    if (options.storesOffchainFinalHtlcs) {
      it('records the final outcome of every settle and fail updateCommitment locks in, as off chain', async () => {
        const channel = await addChannel(h.db, makeChannel(1));
        const r1 = await new PaymentRound(modelOf(channel), { settle: [1], fail: [2], failMalformed: [3], lockIn: 2 }).run(h.db.channelState);
        const scid = channel.shortChannelId;
        expect(await h.db.channelState.lookupFinalHtlc(scid, 1)).toEqual({ settled: true, offchain: true });
        expect(await h.db.channelState.lookupFinalHtlc(scid, 2)).toEqual({ settled: false, offchain: true });
        await expectCode(h.db.channelState.lookupFinalHtlc(scid, 3), ErrorCode.HTLC_UNKNOWN);
        await new PaymentRound(r1.next, {}).run(h.db.channelState);
        expect(await h.db.channelState.lookupFinalHtlc(scid, 3)).toEqual({ settled: false, offchain: true });
      });
    }

    it('20 concurrent payment rounds on 5 channels end exactly as if run serially', async () => {
      const channels: OpenChannel[] = Array.from({ length: 5 }, (_, i) => makeChannel(10 + i, {}, { peer: 1 + (i % 2) }));
      const specsOf = (c: number): RoundSpec[] =>
        Array.from({ length: 4 }, (_, r) => ({
          settle: [c * 100 + r],
          fail: r % 2 === 0 ? [c * 100 + 50 + r] : [],
          remoteAdds: (c + r) % 3,
          unsignedAcked: r % 2,
          ...(r === 1 ? { lockIn: 0 } : {}),
          htlcs: (c + r) % 4,
          dust: r % 2,
        }));

      await addChannels(h.db, channels);
      const concurrent = await Promise.all(channels.map((c, i) => runRounds(h.db.channelState, modelOf(c), specsOf(i))));

      const serialDb = await h.another();
      await addChannels(serialDb, channels);
      const serial: ChannelModel[] = [];
      for (const [i, c] of channels.entries()) serial.push((await runRounds(serialDb.channelState, modelOf(c), specsOf(i))).at(-1)!.next);

      for (const [i, c] of channels.entries()) {
        const outcomes = concurrent[i]!;
        for (const o of outcomes) expect(o.settled).toEqual(o.plan.settled);
        const model = outcomes.at(-1)!.next;
        await expectModel(h.db.channelState, c, model, options);
        expect(await h.db.channelState.fetchChannel(c.fundingOutpoint)).toEqual(channelWithModel(c, serial[i]!));
        expect(await h.db.channelState.fetchRevocationLog(c.fundingOutpoint, 0, 100)).toEqual(
          await serialDb.channelState.fetchRevocationLog(c.fundingOutpoint, 0, 100),
        );
        expect(await h.db.channelState.loadFwdPkgs(c.fundingOutpoint)).toEqual(await serialDb.channelState.loadFwdPkgs(c.fundingOutpoint));
      }
      expect(await h.db.channelState.fetchAllChannels()).toEqual(await serialDb.channelState.fetchAllChannels());
      expect(await h.db.channelState.counts()).toEqual(await serialDb.channelState.counts());
    });
  });
}
