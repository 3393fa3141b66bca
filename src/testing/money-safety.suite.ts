/**
 * Conformance: the contracts' money-safety checks. Each test is a way a careless store
 * would let the runtime lose funds: cancelling a submitted funding, storing an unverified
 * funding transaction, accepting a wrong revocation secret, losing the output indexes of a
 * pending remote commitment, orphaning forwarding packages on an scid change, pruning the
 * peer of a channel still being resolved on chain, reusing a channel key index.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { describe, expect, it } from 'vitest';
import { ChannelStatus, ClosureType, FwdState, OUTPUT_INDEX_NONE } from '../chanstate/types.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { ErrorCode } from '../errors.js';
import {
  chanPointOf,
  detBytes,
  makeChannel,
  makeCloseSummary,
  makeExternallyFunded,
  makeLinkNode,
  makePendingChannel,
  makeTx,
  modelOf,
  PaymentRound,
  peerPub,
  pubkeyOf,
  remoteSecret,
  revocationLabelOf,
  scidOf,
} from './fixtures.js';
import { addChannel, expectCode, expectModel, storedLogEntry, useDb, type SuiteContext } from './harness.js';

const DEADLINE_PASSED = 2_000_000_000_000;

/** Registers the money-safety tests. */
export function moneySafetySuite({ factory, options }: SuiteContext): void {
  describe('money-safety checks', () => {
    const h = useDb(factory);

    describe('external funding', () => {
      async function funded(seed: number) {
        const made = makeExternallyFunded(seed);
        await h.db.coordinator.syncPendingChannel(made.channel, undefined, made.channel.fundingBroadcastHeight);
        return made;
      }

      it('submit accepts only the verified signed transaction of the channel point; nothing is stored otherwise', async () => {
        const { channel, signedTx, badlySignedTx } = await funded(1);
        const op = channel.fundingOutpoint;
        const other = makeExternallyFunded(2);
        await expectCode(h.db.channelState.submitExternalFunding(op, badlySignedTx), ErrorCode.SIGNATURE_INVALID);
        await expectCode(h.db.channelState.submitExternalFunding(op, other.signedTx), ErrorCode.PSBT_OUTPUTS_MISMATCH);
        await expectCode(h.db.channelState.submitExternalFunding(op, makeTx('not-the-funding', 2)), ErrorCode.PSBT_OUTPUTS_MISMATCH);
        await expectCode(h.db.channelState.submitExternalFunding(op, Uint8Array.of(1, 2, 3)), ErrorCode.DECODE_FAILED);
        expect(await h.db.channelState.fetchExternalFunding(op)).toEqual(channel.externalFunding);
        expect(await h.db.channelState.submitExternalFunding(op, signedTx)).toEqual({ ...channel.externalFunding, submitted: true, signedTx });
      });

      it('a PSBT whose txid is not the channel point is refused (PSBT_TXID_MISMATCH)', async () => {
        const made = makeExternallyFunded(3);
        // The same funding flow stored under another channel point: its transaction cannot fund it.
        const wrongPoint = { ...made.channel, fundingOutpoint: chanPointOf(3) };
        await h.db.coordinator.syncPendingChannel(wrongPoint, undefined, 1);
        await expectCode(h.db.channelState.submitExternalFunding(chanPointOf(3), made.signedTx), ErrorCode.PSBT_TXID_MISMATCH);
      });

      it('cancelExternalFunding refuses before the deadline and after a submit, and cancels atomically otherwise', async () => {
        const { channel, signedTx } = await funded(1);
        const op = channel.fundingOutpoint;
        const deadline = channel.externalFunding!.deadlineMs;
        await expectCode(h.db.channelState.cancelExternalFunding(op, deadline - 1, 800_000), ErrorCode.EXTERNAL_FUNDING_NOT_EXPIRED);
        expect(await h.db.channelState.fetchChannel(op)).toEqual(channel);

        const summary = await h.db.channelState.cancelExternalFunding(op, deadline, 800_000);
        expect(summary).toMatchObject({ chanPoint: op, closeType: ClosureType.FundingCanceled, isPending: true, closeHeight: 800_000, remotePub: channel.identityPub });
        expect(await h.db.channelState.fetchClosedChannel(op)).toEqual(summary);
        await expectCode(h.db.channelState.fetchChannel(op), ErrorCode.CHANNEL_NOT_FOUND);
        await expectCode(h.db.channelState.fetchExternalFunding(op), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
        // Repeating it returns the same result; a late submit finds no open channel.
        expect(await h.db.channelState.cancelExternalFunding(op, deadline + 5, 800_001)).toEqual(summary);
        await expectCode(h.db.channelState.submitExternalFunding(op, signedTx), ErrorCode.CHANNEL_NOT_FOUND);
      });

      it('a deadline timer racing a submit never cancels a submitted funding (cancel and FundingCanceled close both refuse)', async () => {
        const { channel, signedTx } = await funded(1);
        const op = channel.fundingOutpoint;
        await h.db.channelState.submitExternalFunding(op, signedTx);
        await expectCode(h.db.channelState.cancelExternalFunding(op, DEADLINE_PASSED, 800_000), ErrorCode.EXTERNAL_FUNDING_SUBMITTED);
        await expectCode(
          h.db.channelState.closeChannel(op, makeCloseSummary(channel, { closeType: ClosureType.FundingCanceled, closingTxid: '00'.repeat(32) })),
          ErrorCode.EXTERNAL_FUNDING_SUBMITTED,
        );
        expect((await h.db.channelState.fetchChannel(op)).externalFunding).toMatchObject({ submitted: true });

        // Concurrently: whichever runs first wins, and a cancel never follows a submit.
        const second = await funded(2);
        const op2 = second.channel.fundingOutpoint;
        const [submit, cancel] = await Promise.allSettled([
          h.db.channelState.submitExternalFunding(op2, second.signedTx),
          h.db.channelState.cancelExternalFunding(op2, DEADLINE_PASSED, 800_000),
        ]);
        if (submit.status === 'fulfilled') {
          expect(cancel).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.EXTERNAL_FUNDING_SUBMITTED } });
          expect((await h.db.channelState.fetchChannel(op2)).externalFunding?.submitted).toBe(true);
        } else {
          expect(submit.reason).toMatchObject({ code: ErrorCode.CHANNEL_NOT_FOUND });
          expect(cancel.status).toBe('fulfilled');
        }
      });

      it('cancelExternalFunding of a channel without external funding is EXTERNAL_FUNDING_NOT_FOUND', async () => {
        const plain = await addChannel(h.db, makePendingChannel(1));
        await expectCode(h.db.channelState.cancelExternalFunding(plain.fundingOutpoint, DEADLINE_PASSED, 1), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
        await expectCode(h.db.channelState.cancelExternalFunding(chanPointOf(77), DEADLINE_PASSED, 1), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
        await h.db.channelState.closeChannel(plain.fundingOutpoint, makeCloseSummary(plain));
        await expectCode(h.db.channelState.cancelExternalFunding(plain.fundingOutpoint, DEADLINE_PASSED, 1), ErrorCode.EXTERNAL_FUNDING_NOT_FOUND);
      });
    });

    describe('revocations', () => {
      it('a revealed secret that is not behind the current point is refused and changes nothing', async () => {
        const channel = await addChannel(h.db, makeChannel(1));
        const op = channel.fundingOutpoint;
        const round = new PaymentRound(modelOf(channel), { settle: [0], remoteAdds: 1 });
        await round.append(h.db.channelState);
        const wrong = { ...round.plan.advance, revocationSecret: detBytes('not-the-secret', 32) };
        await expectCode(h.db.channelState.advanceCommitChainTail(op, wrong), ErrorCode.REVOCATION_INVALID);
        // The secret of the *next* commitment is a real secret of the chain, but the wrong one.
        const next = { ...round.plan.advance, revocationSecret: remoteSecret(revocationLabelOf(op), 1) };
        await expectCode(h.db.channelState.advanceCommitChainTail(op, next), ErrorCode.REVOCATION_INVALID);
        expect(await h.db.channelState.remoteCommitChainTip(op)).toEqual(round.plan.tip);
        expect(await h.db.channelState.remoteRevocationStore(op)).toEqual(channel.remoteRevocation);
        expect(await h.db.channelState.revocationLogTailHeight(op)).toBeUndefined();
        expect(await h.db.channelState.loadFwdPkgs(op)).toEqual([]);
        await round.advance(h.db.channelState);
        expect(await h.db.channelState.remoteRevocationStore(op)).toEqual(round.plan.next.revocation);
      });

      it('a revealed secret that is no secp256k1 scalar (0, the group order, 2^256-1) is REVOCATION_INVALID and changes nothing', async () => {
        const channel = await addChannel(h.db, makeChannel(1));
        const op = channel.fundingOutpoint;
        const round = new PaymentRound(modelOf(channel), { remoteAdds: 1 });
        await round.append(h.db.channelState);
        const n = secp256k1.Point.CURVE().n;
        for (const scalar of [0n, n, (1n << 256n) - 1n]) {
          const revocationSecret = hexToBytes(scalar.toString(16).padStart(64, '0'));
          await expectCode(h.db.channelState.advanceCommitChainTail(op, { ...round.plan.advance, revocationSecret }), ErrorCode.REVOCATION_INVALID);
        }
        expect(await h.db.channelState.remoteCommitChainTip(op)).toEqual(round.plan.tip);
        expect(await h.db.channelState.remoteRevocationStore(op)).toEqual(channel.remoteRevocation);
        await round.advance(h.db.channelState);
        expect(await h.db.channelState.remoteRevocationStore(op)).toEqual(round.plan.next.revocation);
      });

      it('a secret whose point matches but that contradicts earlier secrets is refused by the shachain', async () => {
        // The remote's point for commitment 1 belongs to a secret outside its chain: revoking
        // commitment 0 works, revoking commitment 1 must derive secret 0 and cannot.
        const rogue = detBytes('rogue-secret', 32);
        const base = makeChannel(1);
        const channel = await addChannel(h.db, {
          ...base,
          remoteRevocation: { ...base.remoteRevocation, nextPoint: bytesToHex(secp256k1.getPublicKey(rogue, true)) },
        });
        const op = channel.fundingOutpoint;
        const r1 = await new PaymentRound(modelOf(channel)).run(h.db.channelState);
        const r2 = new PaymentRound(r1.next);
        await r2.append(h.db.channelState);
        await expectCode(h.db.channelState.advanceCommitChainTail(op, { ...r2.plan.advance, revocationSecret: rogue }), ErrorCode.SHACHAIN_INVALID);
        expect(await h.db.channelState.remoteRevocationStore(op)).toEqual(r1.next.revocation);
        expect(await h.db.channelState.revocationLogTailHeight(op)).toBe(0);
      });

      it('a channel without a current point cannot be revoked (REVOCATION_INVALID)', async () => {
        const base = makeChannel(1);
        const channel = await addChannel(h.db, { ...base, remoteRevocation: { secrets: [] } });
        const round = new PaymentRound(modelOf(channel));
        await round.append(h.db.channelState);
        await expectCode(round.advance(h.db.channelState), ErrorCode.REVOCATION_INVALID);
      });
    });

    describe('output indexes of remote commitments', () => {
      it('are stored with the pending remote commitment and used when it is revoked', async () => {
        const channel = await addChannel(h.db, makeChannel(1));
        const op = channel.fundingOutpoint;
        const r1 = new PaymentRound(modelOf(channel), { ourOutputIndex: 5, theirOutputIndex: OUTPUT_INDEX_NONE });
        await r1.append(h.db.channelState);
        expect((await h.db.channelState.remoteCommitChainTip(op)).commitment).toMatchObject({ localOutputIndex: 5, remoteOutputIndex: OUTPUT_INDEX_NONE });
        await r1.advance(h.db.channelState);
        await r1.update(h.db.channelState);
        // Revoking the commitment appended in round 1 uses the indexes stored with it.
        const r2 = await new PaymentRound(r1.plan.next).run(h.db.channelState);
        const entry = await h.db.channelState.findPreviousState(op, 1);
        expect(entry).toMatchObject({ ourOutputIndex: 5, theirOutputIndex: OUTPUT_INDEX_NONE });
        expect(entry).toEqual(storedLogEntry(r2.plan.logEntry, options));
      });

      it('a remote commitment without them is refused at the edge (TypeError), on append and on a new channel', async () => {
        const channel = await addChannel(h.db, makeChannel(1));
        const round = new PaymentRound(modelOf(channel));
        const { localOutputIndex: _l, remoteOutputIndex: _r, ...bare } = round.plan.diff.commitment;
        await expect(h.db.channelState.appendRemoteCommitChain(channel.fundingOutpoint, { ...round.plan.diff, commitment: bare })).rejects.toThrow(TypeError);
        const fresh = makePendingChannel(2);
        const { localOutputIndex: _a, remoteOutputIndex: _b, ...bareRemote } = fresh.remoteCommitment;
        await expect(h.db.coordinator.syncPendingChannel({ ...fresh, remoteCommitment: bareRemote }, undefined, 1)).rejects.toThrow(TypeError);
      });
    });

    describe('forwarding packages and short channel ids', () => {
      it('markOpen with a new scid moves the packages of the alias, nothing is orphaned', async () => {
        const alias = 0xf0_0000_0000_0001n;
        const zeroConf = await addChannel(h.db, makeChannel(1, { shortChannelId: alias, isPending: true, confirmationHeight: 0 }));
        const op = zeroConf.fundingOutpoint;
        const r1 = await new PaymentRound(modelOf(zeroConf), { remoteAdds: 2, remoteSettles: [1] }).run(h.db.channelState);
        const real = scidOf(820_000, 7, op.index);
        await h.db.channelState.markOpen(op, real);
        const pkgs = await h.db.channelState.loadFwdPkgs(op);
        expect(pkgs).toEqual(r1.next.fwdPkgs.map((p) => ({ ...p, source: real })));
        // The moved package is still processed and completed through the new scid.
        await h.db.channelState.setFwdFilter(op, pkgs[0]!.height, { count: 2, bits: Uint8Array.of(0xc0) });
        await h.db.channelState.ackAddHtlcs(op, [{ height: pkgs[0]!.height, index: 0 }, { height: pkgs[0]!.height, index: 1 }]);
        await h.db.channelState.ackSettleFails([{ source: real, height: pkgs[0]!.height, index: 0 }]);
        expect((await h.db.channelState.loadFwdPkgs(op))[0]!.state).toBe(FwdState.Completed);
        // Rounds continue under the new scid.
        const model = { ...r1.next, scid: real, fwdPkgs: (await h.db.channelState.loadFwdPkgs(op)) };
        const r2 = await new PaymentRound(model, { remoteAdds: 1 }).run(h.db.channelState);
        expect((await h.db.channelState.loadFwdPkgs(op)).map((p) => p.source)).toEqual([real, real]);
        await expectModel(h.db.channelState, { ...zeroConf, isPending: false, shortChannelId: real }, r2.next, options, { fwdPkgs: false });
      });

      it('a channel without a short channel id cannot advance its tail (CHANNEL_NO_SCID), so pending channels never share packages', async () => {
        const pending = await addChannel(h.db, makePendingChannel(1));
        const round = new PaymentRound(modelOf(pending));
        await round.append(h.db.channelState);
        await expectCode(round.advance(h.db.channelState), ErrorCode.CHANNEL_NO_SCID);
        expect(await h.db.channelState.remoteCommitChainTip(pending.fundingOutpoint)).toEqual(round.plan.tip);
      });
    });

    describe('link nodes of channels being resolved on chain', () => {
      it('pruneLinkNodes keeps the peer of a closed channel whose summary is pending, markChannelFullyClosed then removes it', async () => {
        const channel = await addChannel(h.db, makeChannel(1, {}, { peer: 5 }), '198.51.100.5:9735');
        const op = channel.fundingOutpoint;
        await h.db.channelState.closeChannel(op, makeCloseSummary(channel, { closeType: ClosureType.LocalForce, isPending: true }));
        expect(await h.db.coordinator.pruneLinkNodes()).toBe(0);
        expect(await h.db.linkNodes.fetchLinkNode(peerPub(5))).toMatchObject({ addresses: ['198.51.100.5:9735'] });
        await h.db.coordinator.markChannelFullyClosed(op);
        await expectCode(h.db.linkNodes.fetchLinkNode(peerPub(5)), ErrorCode.LINK_NODE_NOT_FOUND);
      });

      it('markChannelFullyClosed keeps the peer while another of its closes is still pending', async () => {
        const a = await addChannel(h.db, makeChannel(1, {}, { peer: 5 }));
        const b = await addChannel(h.db, makeChannel(2, {}, { peer: 5 }));
        await h.db.channelState.closeChannel(a.fundingOutpoint, makeCloseSummary(a, { closeType: ClosureType.RemoteForce }));
        await h.db.channelState.closeChannel(b.fundingOutpoint, makeCloseSummary(b, { closeType: ClosureType.Breach }));
        await h.db.coordinator.markChannelFullyClosed(a.fundingOutpoint);
        expect(await h.db.linkNodes.fetchLinkNode(peerPub(5))).toMatchObject({ identityPub: peerPub(5) });
        await h.db.coordinator.markChannelFullyClosed(b.fundingOutpoint);
        await expectCode(h.db.linkNodes.fetchLinkNode(peerPub(5)), ErrorCode.LINK_NODE_NOT_FOUND);
      });

      it('repairLinkNodes recreates the link node of a peer whose close is still being resolved', async () => {
        const channel = await addChannel(h.db, makeChannel(1, {}, { peer: 6 }));
        await h.db.channelState.closeChannel(channel.fundingOutpoint, makeCloseSummary(channel, { closeType: ClosureType.LocalForce, isPending: true }));
        await h.db.linkNodes.deleteLinkNode(peerPub(6));
        expect(await h.db.coordinator.repairLinkNodes()).toBe(1);
        expect(await h.db.linkNodes.fetchLinkNode(peerPub(6))).toMatchObject({ identityPub: peerPub(6), network: 'regtest' });
      });

      it('pruneLinkNodes still removes peers whose channels are all fully closed', async () => {
        await h.db.linkNodes.createLinkNodes([makeLinkNode(9)]);
        const channel = await addChannel(h.db, makeChannel(1, {}, { peer: 3 }));
        await h.db.channelState.closeChannel(channel.fundingOutpoint, makeCloseSummary(channel, { isPending: false }));
        expect(await h.db.coordinator.pruneLinkNodes()).toBe(2);
        expect(await h.db.linkNodes.fetchAllLinkNodes()).toEqual([]);
      });
    });

    describe('channel key indexes', () => {
      it('nextChannelKeyIndex never hands out an index twice, also concurrently', async () => {
        const first = await Promise.all(Array.from({ length: 8 }, () => h.db.channelState.nextChannelKeyIndex()));
        const second = await h.db.channelState.nextChannelKeyIndex();
        expect(new Set([...first, second]).size).toBe(9);
        expect(second).toBeGreaterThan(Math.max(...first));
      });

      it('a new channel moves the allocator past its index, and one reusing an index is refused with nothing written', async () => {
        const channel = await addChannel(h.db, makeChannel(1, { revocationKeyLocator: { family: 5, index: 40 } }), '198.51.100.1:9735');
        expect(await h.db.channelState.nextChannelKeyIndex()).toBeGreaterThanOrEqual(41);
        await h.db.channelState.closeChannel(channel.fundingOutpoint, makeCloseSummary(channel, { isPending: false }));
        // Closed channels keep their index: reusing it would reuse their revocation secrets.
        const reuse = makePendingChannel(2, { revocationKeyLocator: { family: 5, index: 40 } }, { peer: 8 });
        await expectCode(h.db.coordinator.syncPendingChannel(reuse, '198.51.100.8:9735', 1), ErrorCode.CHANNEL_KEY_INDEX_REUSED);
        await expectCode(h.db.channelState.fetchChannel(reuse.fundingOutpoint), ErrorCode.CHANNEL_NOT_FOUND);
        await expectCode(h.db.linkNodes.fetchLinkNode(peerPub(8)), ErrorCode.LINK_NODE_NOT_FOUND);
      });

      it('restoreChannelShells moves the allocator past the restored indexes', async () => {
        const shell = makeChannel(3, { revocationKeyLocator: { family: 5, index: 1_000 } });
        await h.db.coordinator.restoreChannelShells([{ channel: shell, nodeAddresses: [] }]);
        expect((await h.db.channelState.fetchChannel(shell.fundingOutpoint)).status & ChannelStatus.Restored).toBe(ChannelStatus.Restored);
        expect(await h.db.channelState.nextChannelKeyIndex()).toBeGreaterThanOrEqual(1_001);
      });
    });

    describe('one validation for every backend', () => {
      it('refuses out-of-range values the same way everywhere (RangeError), writing nothing', async () => {
        await expect(h.db.channelState.putOnchainFinalHtlcOutcome(1n << 64n, 1, true)).rejects.toThrow(RangeError);
        await expect(h.db.channelState.putOnchainFinalHtlcOutcome(-1n, 1, true)).rejects.toThrow(RangeError);
        await expect(h.db.channelState.putOnchainFinalHtlcOutcome(5n, -1, true)).rejects.toThrow(RangeError);
        const huge = makePendingChannel(1, { capacitySat: 1n << 63n });
        await expect(h.db.coordinator.syncPendingChannel(huge, undefined, 1)).rejects.toThrow(RangeError);
        await expectCode(h.db.channelState.fetchChannel(huge.fundingOutpoint), ErrorCode.CHANNEL_NOT_FOUND);
        await expect(h.db.channelState.markDataLoss(chanPointOf(1), pubkeyOf('x').slice(2))).rejects.toThrow(TypeError);
      });
    });
  });
}
