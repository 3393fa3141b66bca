/**
 * classifySpend for every kind of funding spend, on real channel states built by the channel
 * core; and the data-loss case end to end (an unknown, newer remote state whose to_remote
 * still pays our static key), and a cooperative close through resolveClose.
 */
import { describe, expect, it } from 'vitest';
import { buildClosingTx, closingSighash, finalizeClosingTx } from '../../src/bitcoin/closing.js';
import { encodeObscuredCommitmentNumber } from '../../src/bitcoin/commitment.js';
import { hexToBytes } from '../../src/codec/bytes.js';
import type { BitcoinTx } from '../../src/bitcoin/transaction.js';
import { obscuringFactorOf } from '../../src/channel/core/commitment-view.js';
import { classifySpend } from '../../src/contractcourt/classify.js';
import { resolveClose } from '../../src/contractcourt/resolver.js';
import { A, B, FEERATE, FINAL_DEPTH, addHtlc, expectStandard, walletScript, deliver, depsFor, ledgerChannel, offer, record, resolveChecked, run, signedCommitment, broadcastCommitment } from './support.js';

/** A transaction spending `outpoint` with the given locktime and sequence, paying one output. */
function spendOf(outpoint: { txid: string; index: number }, lockTime: number, sequence: number): BitcoinTx {
  return {
    version: 2,
    inputs: [{ txid: outpoint.txid, index: outpoint.index, scriptSig: new Uint8Array(0), sequence, witness: [] }],
    outputs: [{ value: 900_000n, script: Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(9)) }],
    lockTime,
  };
}

describe('classifySpend', () => {
  it('names our current commitment local and the peer’s current one remote', async () => {
    const ch = await ledgerChannel();
    await addHtlc(ch, 'A', 1, 20_000_000n, 500);
    const a = await record(ch.a);
    const b = await record(ch.b);
    expect(classifySpend(a, signedCommitment(a, A))).toEqual({ kind: 'local', commitHeight: a.localCommitment.commitHeight });
    expect(classifySpend(a, signedCommitment(b, B))).toEqual({ kind: 'remote', commitHeight: a.remoteCommitment.commitHeight, pending: false });
    // And from the peer's side, the other way round.
    expect(classifySpend(b, signedCommitment(a, A)).kind).toBe('remote');
    expect(classifySpend(b, signedCommitment(b, B)).kind).toBe('local');
  });

  it('names the commitment we signed but the peer has not revoked for remote and pending (only when given)', async () => {
    const ch = await ledgerChannel();
    await run(ch.a, offer(1, 20_000_000n, 500));
    await run(ch.a, { kind: 'sign' });
    await deliver(ch.a, ch.b, ch.a.outbox.length);
    const a = await record(ch.a);
    const pending = (await ch.a.db.channelState.remoteCommitChainTip(ch.outpoint)).commitment;
    const tx = signedCommitment(await record(ch.b), B);
    expect(classifySpend(a, tx, pending)).toEqual({ kind: 'remote', commitHeight: 1, pending: true });
    // Without the pending commitment the number is above the peer's current: unknown.
    expect(classifySpend(a, tx)).toEqual({ kind: 'unknown', commitHeight: 1 });
  });

  it('names a revoked remote commitment a breach, and our own old commitment unknown', async () => {
    const ch = await ledgerChannel();
    const oldA = await record(ch.a);
    const oldB = await record(ch.b);
    await addHtlc(ch, 'A', 1, 20_000_000n, 500);
    const a = await record(ch.a);
    expect(a.remoteCommitment.commitHeight).toBeGreaterThan(0);
    expect(classifySpend(a, signedCommitment(oldB, B))).toEqual({ kind: 'breach', commitHeight: 0 });
    expect(classifySpend(a, signedCommitment(oldA, A))).toEqual({ kind: 'unknown', commitHeight: 0 });
    // Before the revocation (the old record), the same transaction was the current remote commitment.
    expect(classifySpend(oldA, signedCommitment(oldB, B)).kind).toBe('remote');
  });

  it('names a spend without the commitment-number markers cooperative', async () => {
    const ch = await ledgerChannel();
    const a = await record(ch.a);
    expect(classifySpend(a, spendOf(ch.outpoint, 0, 0xffff_ffff))).toEqual({ kind: 'cooperative' });
    const { lockTime, sequence } = encodeObscuredCommitmentNumber(7n, obscuringFactorOf(a));
    // Only one marker byte is not a commitment.
    expect(classifySpend(a, spendOf(ch.outpoint, lockTime, 0xffff_fffd))).toEqual({ kind: 'cooperative' });
    expect(classifySpend(a, spendOf(ch.outpoint, 0, sequence))).toEqual({ kind: 'cooperative' });
    // Both markers, a state we know nothing of: unknown, with its number.
    expect(classifySpend(a, spendOf(ch.outpoint, lockTime, sequence))).toEqual({ kind: 'unknown', commitHeight: 7 });
  });

  it('refuses a transaction that does not spend the funding outpoint, and a non-transaction', async () => {
    const ch = await ledgerChannel();
    const a = await record(ch.a);
    expect(() => classifySpend(a, spendOf({ txid: 'cd'.repeat(32), index: 0 }, 0, 0xffff_ffff))).toThrow(RangeError);
    expect(() => classifySpend(a, spendOf({ txid: ch.outpoint.txid, index: ch.outpoint.index + 1 }, 0, 0xffff_ffff))).toThrow(/funding outpoint/);
    expect(() => classifySpend(a, null as unknown as BitcoinTx)).toThrow(TypeError);
  });
});

describe('unknown close after data loss', () => {
  it('sweeps the to_remote of a newer remote state: it pays our static key', async () => {
    const ch = await ledgerChannel();
    const stale = await record(ch.a); // what a restored backup would hold
    await addHtlc(ch, 'A', 1, 20_000_000n, 500);
    await addHtlc(ch, 'B', 2, 10_000_000n, 500);
    const closeTx = signedCommitment(await record(ch.b), B);
    const kind = classifySpend(stale, closeTx);
    expect(kind).toEqual({ kind: 'unknown', commitHeight: (await record(ch.a)).remoteCommitment.commitHeight });
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(1);
    const r = await resolveChecked(depsFor(A, ch.ledger), { channel: stale, closeTx }, ch.ledger);
    expect(r.broadcast.map((b) => b.purpose)).toEqual(['to_remote_sweep']);
    expect(r.pending).toEqual([expect.objectContaining({ kind: 'to_remote', waitingFor: 'sweep_confirmation' })]);
  });

  it('refuses a breach whose revocation log entry is for another transaction', async () => {
    const ch = await ledgerChannel();
    const oldB = await record(ch.b);
    await addHtlc(ch, 'A', 1, 20_000_000n, 500);
    await addHtlc(ch, 'A', 2, 20_000_000n, 500);
    const a = await record(ch.a);
    const closeTx = signedCommitment(oldB, B);
    const wrong = await ch.a.db.channelState.findPreviousState(ch.outpoint, 1);
    await expect(resolveClose(depsFor(A, ch.ledger), { channel: a, closeTx, revokedState: wrong })).rejects.toThrow(RangeError);
  });
});

describe('cooperative close', () => {
  it('has nothing to sweep; done, with our shutdown output as settled, once the closing transaction is deep', async () => {
    const ch = await ledgerChannel();
    const channel = await record(ch.a);
    const ourScript = walletScript(A);
    const closing = buildClosingTx({
      fundingOutpoint: ch.outpoint,
      fundingAmountSat: channel.capacitySat,
      localFundingPubkey: hexToBytes(channel.localConfig.multiSigKey.pubkey),
      remoteFundingPubkey: hexToBytes(channel.remoteConfig.multiSigKey.pubkey),
      localScript: ourScript,
      remoteScript: walletScript(B),
      localAmountMsat: channel.localCommitment.localBalanceMsat,
      remoteAmountMsat: channel.localCommitment.remoteBalanceMsat,
      feeSat: 1000n,
      feePayer: 'local',
      dustLimitSat: channel.localConfig.dustLimitSat,
    });
    const signed = finalizeClosingTx(
      closing,
      A.chain.signDigest(A.keys.funding.locator, closingSighash(closing)),
      B.chain.signDigest(B.keys.funding.locator, closingSighash(closing)),
    );
    const withShutdown = { ...channel, localShutdownScript: ourScript };
    expect(classifySpend(withShutdown, signed)).toEqual({ kind: 'cooperative' });
    const deps = depsFor(A, ch.ledger);
    const r0 = await resolveClose(deps, { channel: withShutdown, closeTx: signed });
    expect(r0.broadcast.map((b) => b.purpose)).toEqual(['close']);
    await expectStandard(ch.ledger, closing.txid, FEERATE);
    await ch.ledger.mine(FINAL_DEPTH - 1);
    const shallow = await resolveChecked(deps, { channel: withShutdown, closeTx: signed }, ch.ledger);
    expect(shallow).toMatchObject({ done: false, pending: [], broadcast: [], settledSat: 0n, closeConfirmations: FINAL_DEPTH - 1 });
    await ch.ledger.mine(1);
    const deep = await resolveChecked(deps, { channel: withShutdown, closeTx: signed }, ch.ledger);
    expect(deep).toMatchObject({ done: true, pending: [], broadcast: [], htlcOutcomes: [] });
    expect(deep.settledSat).toBe(signed.outputs[closing.localOutputIndex]!.value);
    expect(deep.settledSat).toBe(channel.localCommitment.localBalanceMsat / 1000n - 1000n);
  });
});
