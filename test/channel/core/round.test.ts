/**
 * A full BOLT 2 payment between two cores on a real channel (A funded it, B got a push):
 * A offers and signs, B revokes and signs, A revokes — then both of A's commitments are the
 * byte-identical mirrors of B's — then B fulfills and the same two rounds move the amount
 * to the msat. The stored path: every persist effect runs through a real memory store, and
 * a core rebuilt from that store equals the live one. Also: the height-0 commitments the
 * core would build are exactly those the funding flow built (one construction, not two).
 */
import { describe, expect, it } from 'vitest';
import { commitmentFee } from '../../../src/bitcoin/bolt3-fees.js';
import { decodeTx } from '../../../src/bitcoin/transaction.js';
import { coreSummary, nextHtlcId, step, type CoreState } from '../../../src/channel/core/index.js';
import { buildViewTx, viewOf } from '../../../src/channel/core/commitment-view.js';
import { perCommitmentPoint } from '../../../src/bitcoin/key-derivation.js';
import { hexToBytes } from '../../../src/codec/bytes.js';
import { encodeTx } from '../../../src/bitcoin/transaction.js';
import { A, B, CAPACITY_SAT, FEERATE, PUSH_MSAT, channelPair, deliverAll, drain, loadCore, offer, preimageOf, run, sent, storedNode, syncedPair } from './support.js';

const AMOUNT = 42_424_242n; // msat, above both dust limits

function mirrored(a: CoreState, b: CoreState): void {
  expect(a.localCommit.commitTx).toEqual(b.remoteCommit.commitTx);
  expect(a.remoteCommit.commitTx).toEqual(b.localCommit.commitTx);
  expect(a.localCommit.localBalanceMsat).toBe(b.remoteCommit.remoteBalanceMsat);
  expect(a.localCommit.remoteBalanceMsat).toBe(b.remoteCommit.localBalanceMsat);
  expect(a.localCommit.commitHeight).toBe(b.remoteCommit.commitHeight);
  expect(a.remoteCommit.commitHeight).toBe(b.localCommit.commitHeight);
}

describe('channel core: one payment, both rounds', () => {
  it('the core builds the height-0 commitments exactly as the funding flow did', () => {
    const { a } = syncedPair();
    const local = buildViewTx(a.channel, viewOf(a.localCommit), 'local', 0, perCommitmentPoint(A.signer.perCommitmentSecret(0)));
    expect(encodeTx(local.tx)).toEqual(a.channel.localCommitment.commitTx);
    const remote = buildViewTx(a.channel, viewOf(a.remoteCommit), 'remote', 0, hexToBytes(a.channel.remoteRevocation.currentPoint!));
    expect(encodeTx(remote.tx)).toEqual(a.channel.remoteCommitment.commitTx);
  });

  it('A pays B: commitments mirror after each round, balances move by the amount to the msat', () => {
    let { a, b } = syncedPair();
    const startA = coreSummary(a);
    expect(startA.localBalanceMsat).toBe(CAPACITY_SAT * 1000n - PUSH_MSAT);

    // A offers and signs.
    expect(nextHtlcId(a)).toBe(0);
    let r = step(a, offer(1, AMOUNT));
    expect(r.effects.map((e) => e.kind)).toEqual(['offered', 'send']);
    a = r.state;
    expect(nextHtlcId(a)).toBe(1);
    const add = sent(r.effects);
    r = step(a, { kind: 'sign' });
    expect(r.effects.map((e) => e.kind)).toEqual(['persist_remote_commit', 'send']);
    a = r.state;
    expect(coreSummary(a).hasPendingRemoteCommit).toBe(true);
    expect(step(a, { kind: 'sign' }).effects).toEqual([]); // one outstanding commitment_signed at a time

    // B receives, revokes and signs.
    let d = deliverAll(b, [...add, ...sent(r.effects)]);
    expect(d.effects.map((e) => e.kind)).toEqual(['persist_local_commit', 'send']);
    b = d.state;
    const bRevoke = sent(d.effects);
    const bSign = step(b, { kind: 'sign' });
    b = bSign.state;
    // A takes the revocation (locks in nothing of B's) and B's signature, and revokes.
    d = deliverAll(a, [...bRevoke, ...sent(bSign.effects)]);
    expect(d.effects.map((e) => e.kind)).toEqual(['persist_revocation', 'persist_local_commit', 'send']);
    a = d.state;
    d = deliverAll(b, sent(d.effects));
    b = d.state;
    // B's revocation processing locked A's add in: its forwarding package names it.
    const pkg = d.effects.find((e) => e.kind === 'persist_revocation');
    expect(pkg?.kind === 'persist_revocation' && pkg.args.fwdPkg.adds.length).toBe(1);
    expect(pkg?.kind === 'persist_revocation' && pkg.args.fwdPkg.height).toBe(1);
    mirrored(a, b);
    expect(a.localCommit.htlcs).toHaveLength(1);
    expect(a.localCommit.htlcs[0]!.outputIndex).toBeGreaterThanOrEqual(0);
    expect(coreSummary(a).localBalanceMsat).toBe(startA.localBalanceMsat - AMOUNT);
    expect(coreSummary(b).remoteBalanceMsat).toBe(startA.localBalanceMsat - AMOUNT);
    expect(coreSummary(b).pendingHtlcs).toEqual([{ htlcId: 0, incoming: true, amountMsat: AMOUNT, paymentHash: preimageOf(1).paymentHash, cltvExpiry: 700_100 }]);
    // The fee pays for one HTLC output, plus the msat remainders the outputs round away.
    const c = a.localCommit;
    const roundedSat = c.localBalanceMsat / 1000n + c.remoteBalanceMsat / 1000n + AMOUNT / 1000n;
    expect(c.commitFeeSat).toBe(commitmentFee(FEERATE, 1) + CAPACITY_SAT - roundedSat);
    const outputs = decodeTx(a.localCommit.commitTx).outputs.reduce((s, o) => s + o.value, 0n);
    expect(outputs + a.localCommit.commitFeeSat).toBe(CAPACITY_SAT);

    // B fulfills: both rounds again, the other way.
    r = step(b, { kind: 'fulfill_htlc', htlcId: 0, preimage: preimageOf(1).preimage });
    b = r.state;
    d = deliverAll(a, sent(r.effects));
    expect(d.effects).toEqual([{ kind: 'preimage_received', htlcId: 0, paymentHash: preimageOf(1).paymentHash, preimage: preimageOf(1).preimage }]);
    a = d.state;
    for (let i = 0; i < 6; i++) {
      // Alternate signing and delivering until quiet.
      const sb = step(b, { kind: 'sign' });
      b = sb.state;
      const da = deliverAll(a, sent(sb.effects));
      a = da.state;
      const db = deliverAll(b, sent(da.effects));
      b = db.state;
      const sa = step(a, { kind: 'sign' });
      a = sa.state;
      const db2 = deliverAll(b, sent(sa.effects));
      b = db2.state;
      const da2 = deliverAll(a, sent(db2.effects));
      a = da2.state;
      const dbx = deliverAll(b, sent(da2.effects));
      b = dbx.state;
    }
    mirrored(a, b);
    expect(a.localCommit.htlcs).toEqual([]);
    expect(b.localCommit.htlcs).toEqual([]);
    expect(coreSummary(a).localBalanceMsat).toBe(startA.localBalanceMsat - AMOUNT);
    expect(coreSummary(b).localBalanceMsat).toBe(PUSH_MSAT + AMOUNT);
    expect(coreSummary(a).localBalanceMsat + coreSummary(a).remoteBalanceMsat).toBe(CAPACITY_SAT * 1000n);
    const end = a.localCommit;
    expect(end.commitFeeSat).toBe(commitmentFee(FEERATE, 0) + CAPACITY_SAT - end.localBalanceMsat / 1000n - end.remoteBalanceMsat / 1000n);
  });

  it('through real stores: every persist succeeds, and cores rebuilt from the stores equal the live ones', async () => {
    const { a: recA, b: recB } = channelPair();
    const a = await storedNode('A', recA, A);
    const b = await storedNode('B', recB, B);
    try {
      // Start-up: both reestablish.
      const { reconnect } = await import('./support.js');
      await reconnect(a, b);
      await run(a, offer(1, AMOUNT));
      await run(b, offer(2, 2_000_000n)); // B pays A too, concurrently
      await drain(a, b);
      await run(b, { kind: 'fulfill_htlc', htlcId: 0, preimage: preimageOf(1).preimage });
      await run(a, { kind: 'fail_htlc', htlcId: 0, reason: new Uint8Array(32) });
      await drain(a, b);
      mirrored(a.core, b.core);
      expect(a.core.localCommit.htlcs).toEqual([]);
      expect(a.core.localCommit.localBalanceMsat).toBe(CAPACITY_SAT * 1000n - PUSH_MSAT - AMOUNT);
      for (const n of [a, b]) {
        expect(await n.db.channelState.latestCommitments(n.outpoint)).toEqual({ local: n.core.localCommit, remote: n.core.remoteCommit });
        const again = await loadCore(n);
        expect(again.localCommit).toEqual(n.core.localCommit);
        expect(again.remoteCommit).toEqual(n.core.remoteCommit);
        expect(again.remoteRevocation).toEqual(n.core.remoteRevocation);
        expect(again.ourNextHtlcId).toBe(n.core.ourNextHtlcId);
      }
      expect(a.observed.filter((e) => e.kind === 'preimage_received')).toHaveLength(1);
    } finally {
      await a.db.close();
      await b.db.close();
    }
  });
});
