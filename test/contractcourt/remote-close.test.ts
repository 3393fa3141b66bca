/**
 * The peer's force close on a DevnetLedger: our to_remote swept at once, the HTLCs claimed
 * directly from its commitment (ours after expiry, theirs with the preimage), and preimages
 * learned from the peer's own claims on chain.
 */
import { describe, expect, it } from 'vitest';
import { decodeTx } from '../../src/bitcoin/transaction.js';
import { classifySpend } from '../../src/contractcourt/classify.js';
import { A, B, FINAL_DEPTH, addHtlc, deliver, depsFor, offer, run, ledgerChannel, mineTo, preimageOf, record, resolveChecked, signedCommitment, broadcastCommitment } from './support.js';

describe('remote force close (their current commitment) with HTLCs both ways', () => {
  it('sweeps to_remote at once, claims their HTLC with the preimage, and ours after expiry', async () => {
    const ch = await ledgerChannel();
    const start = (await ch.ledger.getTip()).height;
    const ourExpiry = start + 25;
    await addHtlc(ch, 'A', 1, 50_000_000n, ourExpiry);
    await addHtlc(ch, 'B', 2, 40_000_000n, start + 300);
    const channel = await record(ch.a);
    const closeTx = signedCommitment(await record(ch.b), B);
    expect(classifySpend(channel, closeTx)).toEqual({ kind: 'remote', commitHeight: channel.remoteCommitment.commitHeight, pending: false });
    await broadcastCommitment(ch.ledger, closeTx);
    const deps = depsFor(A, ch.ledger, [2]);
    const input = { channel, closeTx };

    const r0 = await resolveChecked(deps, input, ch.ledger);
    expect(r0.broadcast).toEqual([]);
    expect(r0.pending.map((p) => p.waitingFor)).toEqual(['close_confirmation', 'close_confirmation', 'close_confirmation']);

    await ch.ledger.mine(1);
    const r1 = await resolveChecked(deps, input, ch.ledger);
    expect(r1.broadcast.map((b) => b.purpose).sort()).toEqual(['htlc_success_claim', 'to_remote_sweep']);
    const toRemote = r1.pending.find((p) => p.kind === 'to_remote')!;
    expect(toRemote.amountSat).toBe(closeTx.outputs[toRemote.outpoint.index]!.value);
    expect(r1.pending.find((p) => p.kind === 'htlc_offered')).toMatchObject({ waitingFor: 'cltv', maturityHeight: ourExpiry + 1 });
    const successClaim = decodeTx(r1.broadcast.find((b) => b.purpose === 'htlc_success_claim')!.raw);
    expect(successClaim.inputs[0]!.witness[1]).toEqual(preimageOf(2).preimage);

    await mineTo(ch.ledger, ourExpiry - 1);
    const r2 = await resolveChecked(deps, input, ch.ledger);
    expect(r2.broadcast).toEqual([]);
    expect(r2.pending.find((p) => p.kind === 'htlc_offered')).toMatchObject({ waitingFor: 'cltv', blocksLeft: 1 });
    await ch.ledger.mine(1);
    const r3 = await resolveChecked(deps, input, ch.ledger);
    expect(r3.broadcast.map((b) => b.purpose)).toEqual(['htlc_timeout_claim']);
    expect(decodeTx(r3.broadcast[0]!.raw).lockTime).toBe(ourExpiry);

    await ch.ledger.mine(FINAL_DEPTH);
    const final = await resolveChecked(deps, input, ch.ledger);
    expect(final.done).toBe(true);
    expect(final.pending).toEqual([]);
    expect([...final.htlcOutcomes].sort((x, y) => Number(x.incoming) - Number(y.incoming))).toEqual([
      { htlcIndex: 0, incoming: false, paymentHash: preimageOf(1).paymentHash, settled: false },
      { htlcIndex: 0, incoming: true, paymentHash: preimageOf(2).paymentHash, settled: true },
    ]);
    const claims = [...r1.broadcast, ...r3.broadcast].map((b) => decodeTx(b.raw).outputs[0]!.value);
    expect(final.settledSat).toBe(claims.reduce((s, v) => s + v, 0n));
  });

  it('sweeps to_remote of the pending commitment (signed by us, not yet revoked for) with the next point', async () => {
    const ch = await ledgerChannel();
    const start = (await ch.ledger.getTip()).height;
    // A signs a new commitment for B; B accepts it and revokes, but the revocation never reaches A.
    await run(ch.a, offer(3, 30_000_000n, start + 100));
    await run(ch.a, { kind: 'sign' });
    await deliver(ch.a, ch.b, ch.a.outbox.length);
    ch.b.outbox.length = 0;
    const channel = await record(ch.a);
    const pendingRemote = (await ch.a.db.channelState.remoteCommitChainTip(ch.outpoint)).commitment;
    const closeTx = signedCommitment(await record(ch.b), B);
    expect(classifySpend(channel, closeTx, pendingRemote)).toEqual({ kind: 'remote', commitHeight: pendingRemote.commitHeight, pending: true });
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(1);
    const deps = depsFor(A, ch.ledger);
    const r1 = await resolveChecked(deps, { channel, closeTx, pendingRemote }, ch.ledger);
    expect(r1.broadcast.map((b) => b.purpose)).toEqual(['to_remote_sweep']);
    // The HTLC we offered on it times out later.
    expect(r1.pending.find((p) => p.kind === 'htlc_offered')).toMatchObject({ waitingFor: 'cltv', maturityHeight: start + 101 });
  });
});

describe('the peer claims an HTLC on chain with the preimage', () => {
  it('on our commitment: the peer spends our offered HTLC output directly and we learn the preimage', async () => {
    const ch = await ledgerChannel();
    const start = (await ch.ledger.getTip()).height;
    await addHtlc(ch, 'A', 1, 50_000_000n, start + 200);
    const channelA = await record(ch.a);
    const channelB = await record(ch.b);
    const closeTx = signedCommitment(channelA, A);
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(1);
    const depsA = depsFor(A, ch.ledger);
    const before = await resolveChecked(depsA, { channel: channelA, closeTx }, ch.ledger);
    expect(before.learnedPreimages).toEqual([]);
    expect(before.pending.find((p) => p.kind === 'htlc_offered')).toMatchObject({ waitingFor: 'cltv' });

    // B sees a remote close (our commitment is its remote one) and claims with the preimage.
    expect(classifySpend(channelB, closeTx).kind).toBe('remote');
    const rb = await resolveChecked(depsFor(B, ch.ledger, [1]), { channel: channelB, closeTx }, ch.ledger);
    const claim = rb.broadcast.find((b) => b.purpose === 'htlc_success_claim');
    expect(claim).toBeDefined();

    const seen = await resolveChecked(depsA, { channel: channelA, closeTx }, ch.ledger);
    expect(seen.learnedPreimages).toEqual([{ paymentHash: preimageOf(1).paymentHash, preimage: preimageOf(1).preimage }]);
    expect(seen.pending.find((p) => p.kind === 'htlc_offered')).toMatchObject({ waitingFor: 'peer_claim', spendTxid: claim!.txid });
    expect(seen.htlcOutcomes).toEqual([]);

    await ch.ledger.mine(FINAL_DEPTH);
    const final = await resolveChecked(depsA, { channel: channelA, closeTx }, ch.ledger);
    expect(final.htlcOutcomes).toEqual([{ htlcIndex: 0, incoming: false, paymentHash: preimageOf(1).paymentHash, settled: true }]);
    expect(final.pending.some((p) => p.kind === 'htlc_offered')).toBe(false);
  });

  it("on their commitment: the peer's HTLC-success transaction reveals the preimage of our offered HTLC", async () => {
    const ch = await ledgerChannel();
    const start = (await ch.ledger.getTip()).height;
    await addHtlc(ch, 'A', 1, 50_000_000n, start + 200);
    const channelA = await record(ch.a);
    const channelB = await record(ch.b);
    const closeTx = signedCommitment(channelB, B);
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(1);
    // B resolves its own (local) close: HTLC-success with the preimage.
    const rb = await resolveChecked(depsFor(B, ch.ledger, [1]), { channel: channelB, closeTx }, ch.ledger);
    expect(rb.broadcast.map((b) => b.purpose)).toContain('htlc_success');
    const ra = await resolveChecked(depsFor(A, ch.ledger), { channel: channelA, closeTx }, ch.ledger);
    expect(ra.learnedPreimages).toEqual([{ paymentHash: preimageOf(1).paymentHash, preimage: preimageOf(1).preimage }]);
    expect(ra.pending.find((p) => p.kind === 'htlc_offered')).toMatchObject({ waitingFor: 'peer_claim' });
  });

  it('records an HTLC offered to us that the peer timed out (we never had the preimage) as failed', async () => {
    const ch = await ledgerChannel();
    const start = (await ch.ledger.getTip()).height;
    const expiry = start + 10;
    await addHtlc(ch, 'B', 2, 40_000_000n, expiry);
    const channelA = await record(ch.a);
    const channelB = await record(ch.b);
    const closeTx = signedCommitment(channelB, B);
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(1);
    const depsA = depsFor(A, ch.ledger);
    const r1 = await resolveChecked(depsA, { channel: channelA, closeTx }, ch.ledger);
    expect(r1.pending.find((p) => p.kind === 'htlc_received')).toMatchObject({ waitingFor: 'preimage' });
    // B's own resolver times its HTLC out through HTLC-timeout once the expiry is reached.
    const depsB = depsFor(B, ch.ledger);
    await mineTo(ch.ledger, expiry);
    const rb = await resolveChecked(depsB, { channel: channelB, closeTx }, ch.ledger);
    expect(rb.broadcast.map((b) => b.purpose)).toEqual(['htlc_timeout']);
    await ch.ledger.mine(FINAL_DEPTH);
    const final = await resolveChecked(depsA, { channel: channelA, closeTx }, ch.ledger);
    expect(final.htlcOutcomes).toEqual([{ htlcIndex: 0, incoming: true, paymentHash: preimageOf(2).paymentHash, settled: false }]);
    expect(final.learnedPreimages).toEqual([]);
    expect(final.pending.some((p) => p.kind === 'htlc_received')).toBe(false);
  });
});
