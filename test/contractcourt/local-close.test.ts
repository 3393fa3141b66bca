/**
 * Our own force close on a DevnetLedger (real scripts, CSV and CLTV): to_local after the
 * delay, HTLC-timeout after expiry, HTLC-success with a known preimage, and the sweeps of
 * the second-level outputs after the delay.
 */
import { describe, expect, it } from 'vitest';
import { toLocalWitnessScript } from '../../src/bitcoin/bolt3-scripts.js';
import { expectedTxWeight, witnessSize } from '../../src/bitcoin/weight.js';
import { decodeTx } from '../../src/bitcoin/transaction.js';
import { TxRejectedError } from '../../src/chain/chain-errors.js';
import { toLocalSweep } from '../../src/channel/unilateral-close.js';
import { classifySpend } from '../../src/contractcourt/classify.js';
import {
  A,
  FINAL_DEPTH,
  SWEEP_FEERATE,
  addHtlc,
  deliver,
  depsFor,
  offer,
  run,
  ledgerChannel,
  mineTo,
  preimageOf,
  record,
  resolveChecked,
  signedCommitment,
  walletScript,
  broadcastCommitment,
} from './support.js';

describe('local force close without HTLCs', () => {
  it('sweeps to_local only once to_self_delay has passed, to the sat, and is done at final depth', async () => {
    const ch = await ledgerChannel();
    const channel = await record(ch.a);
    const closeTx = signedCommitment(channel, A);
    const deps = depsFor(A, ch.ledger);
    const input = { channel, closeTx };
    expect(classifySpend(channel, closeTx)).toEqual({ kind: 'local', commitHeight: 0 });

    // The resolver puts the commitment on chain itself when the chain does not know it.
    const r0 = await resolveChecked(deps, input, ch.ledger);
    expect(r0.broadcast.map((b) => b.purpose)).toEqual(['close']);
    expect(r0.pending.map((p) => p.waitingFor)).toEqual(['close_confirmation']);
    expect(r0.done).toBe(false);

    await ch.ledger.mine(1);
    const r1 = await resolveChecked(deps, input, ch.ledger);
    const delay = channel.localConfig.csvDelay;
    expect(r1.closeConfirmations).toBe(1);
    expect(r1.broadcast).toEqual([]);
    const closeHeight = r1.closeHeight!;
    const toLocal = r1.pending[0]!;
    expect(toLocal).toMatchObject({ kind: 'to_local', waitingFor: 'csv', maturityHeight: closeHeight + delay, blocksLeft: delay - 1 });
    expect(toLocal.amountSat).toBe(closeTx.outputs[toLocal.outpoint.index]!.value);
    expect(r1.timeLockedSat).toBe(toLocal.amountSat);

    // One block early: the resolver waits, and the ledger refuses the same sweep.
    await mineTo(ch.ledger, closeHeight + delay - 2);
    const early = await resolveChecked(deps, input, ch.ledger);
    expect(early.broadcast).toEqual([]);
    expect(early.pending[0]).toMatchObject({ waitingFor: 'csv', blocksLeft: 1 });
    const sweep = toLocalSweep(channel, A.chain, walletScript(A), SWEEP_FEERATE)!;
    await expect(ch.ledger.broadcast(sweep.raw)).rejects.toThrow(TxRejectedError);
    await expect(ch.ledger.broadcast(sweep.raw)).rejects.toThrow(/non-BIP68-final/);

    await ch.ledger.mine(1);
    const r2 = await resolveChecked(deps, input, ch.ledger);
    expect(r2.broadcast.map((b) => b.purpose)).toEqual(['to_local_sweep']);
    expect(r2.broadcast[0]!.txid).toBe(sweep.txid);
    expect(r2.pending).toEqual([expect.objectContaining({ kind: 'to_local', waitingFor: 'sweep_confirmation', spendTxid: sweep.txid })]);
    // The fee is the sweep feerate times the expected weight (73-byte signature), rounded up.
    const script = toLocalWitnessScript(new Uint8Array(33).fill(2), delay, new Uint8Array(33).fill(2));
    const weight = expectedTxWeight([{ scriptSigSize: 0, witnessSize: witnessSize([73, 0, script.length]) }], [{ value: 0n, script: walletScript(A) }]);
    const fee = (BigInt(SWEEP_FEERATE) * BigInt(weight) + 999n) / 1000n;
    const swept = decodeTx(r2.broadcast[0]!.raw);
    expect(swept.outputs).toHaveLength(1);
    expect(swept.outputs[0]!.value).toBe(toLocal.amountSat - fee);
    expect((await ch.ledger.getTransaction(sweep.txid))!.fee).toBe(fee);

    await ch.ledger.mine(FINAL_DEPTH - 1);
    const notYet = await resolveChecked(deps, input, ch.ledger);
    expect(notYet.done).toBe(false);
    expect(notYet.broadcast).toEqual([]);
    await ch.ledger.mine(1);
    const final = await resolveChecked(deps, input, ch.ledger);
    expect(final.done).toBe(true);
    expect(final.pending).toEqual([]);
    expect(final.settledSat).toBe(toLocal.amountSat - fee);
    expect(final.timeLockedSat).toBe(0n);
  });
});

describe('local force close with an offered and a received HTLC', () => {
  it('times out the offered HTLC after expiry, claims the received one with its preimage, sweeps both after the delay', async () => {
    const ch = await ledgerChannel();
    const start = (await ch.ledger.getTip()).height;
    const offeredExpiry = start + 30;
    await addHtlc(ch, 'A', 1, 50_000_000n, offeredExpiry);
    await addHtlc(ch, 'B', 2, 40_000_000n, start + 400);
    const channel = await record(ch.a);
    expect(channel.localCommitment.htlcs).toHaveLength(2);
    const closeTx = signedCommitment(channel, A);
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(1);
    const deps = depsFor(A, ch.ledger, [2]);
    const input = { channel, closeTx };
    const delay = channel.localConfig.csvDelay;

    const r1 = await resolveChecked(deps, input, ch.ledger);
    const closeHeight = r1.closeHeight!;
    expect(r1.broadcast.map((b) => b.purpose)).toEqual(['htlc_success']);
    const byKind = (r: typeof r1, kind: string) => r.pending.find((p) => p.kind === kind);
    expect(byKind(r1, 'htlc_offered')).toMatchObject({ waitingFor: 'cltv', maturityHeight: offeredExpiry + 1, paymentHash: preimageOf(1).paymentHash });
    expect(byKind(r1, 'htlc_received')).toMatchObject({ waitingFor: 'sweep_confirmation', spendTxid: r1.broadcast[0]!.txid });
    expect(byKind(r1, 'to_local')).toMatchObject({ waitingFor: 'csv', maturityHeight: closeHeight + delay });
    // The success transaction reveals the preimage (our own): reported once it spends the output.
    await ch.ledger.mine(1);
    const successHeight = closeHeight + 1;

    // The HTLC-timeout is not valid before the expiry height: the resolver waits for it.
    await mineTo(ch.ledger, offeredExpiry - 1);
    const r2 = await resolveChecked(deps, input, ch.ledger);
    expect(r2.broadcast).toEqual([]);
    expect(byKind(r2, 'htlc_offered')).toMatchObject({ waitingFor: 'cltv', blocksLeft: 1 });
    expect(byKind(r2, 'htlc_second_level')).toMatchObject({ waitingFor: 'csv', maturityHeight: successHeight + delay, paymentHash: preimageOf(2).paymentHash });
    expect(r2.learnedPreimages).toEqual([{ paymentHash: preimageOf(2).paymentHash, preimage: preimageOf(2).preimage }]);

    await ch.ledger.mine(1);
    const r3 = await resolveChecked(deps, input, ch.ledger);
    expect(r3.broadcast.map((b) => b.purpose)).toEqual(['htlc_timeout']);
    const timeoutTx = decodeTx(r3.broadcast[0]!.raw);
    expect(timeoutTx.lockTime).toBe(offeredExpiry);
    await ch.ledger.mine(1);
    const timeoutHeight = offeredExpiry + 1;

    // to_local and the success output mature first, then the timeout output.
    await mineTo(ch.ledger, closeHeight + delay - 1);
    const r4 = await resolveChecked(deps, input, ch.ledger);
    expect(r4.broadcast.map((b) => b.purpose)).toEqual(['to_local_sweep']);
    await mineTo(ch.ledger, successHeight + delay - 1);
    const r5 = await resolveChecked(deps, input, ch.ledger);
    expect(r5.broadcast.map((b) => b.purpose)).toEqual(['second_level_sweep']);
    await mineTo(ch.ledger, timeoutHeight + delay - 2);
    const r6 = await resolveChecked(deps, input, ch.ledger);
    expect(r6.broadcast).toEqual([]);
    expect(r6.pending.filter((p) => p.waitingFor === 'csv')).toEqual([
      expect.objectContaining({ kind: 'htlc_second_level', paymentHash: preimageOf(1).paymentHash, blocksLeft: 1 }),
    ]);
    await ch.ledger.mine(1);
    const r7 = await resolveChecked(deps, input, ch.ledger);
    expect(r7.broadcast.map((b) => b.purpose)).toEqual(['second_level_sweep']);
    expect(r7.done).toBe(false);

    await ch.ledger.mine(FINAL_DEPTH);
    const final = await resolveChecked(deps, input, ch.ledger);
    expect(final.done).toBe(true);
    expect(final.pending).toEqual([]);
    expect([...final.htlcOutcomes].sort((x, y) => x.htlcIndex - y.htlcIndex || Number(x.incoming) - Number(y.incoming))).toEqual([
      { htlcIndex: 0, incoming: false, paymentHash: preimageOf(1).paymentHash, settled: false },
      { htlcIndex: 0, incoming: true, paymentHash: preimageOf(2).paymentHash, settled: true },
    ]);
    // Everything but fees reached the wallet: three sweeps, each paying the sweep script.
    const sweeps = [r4, r5, r7].map((r) => decodeTx(r.broadcast[0]!.raw));
    expect(final.settledSat).toBe(sweeps.reduce((s, t) => s + t.outputs[0]!.value, 0n));
    expect(sweeps.every((t) => t.outputs.length === 1)).toBe(true);
  });
});

describe('local force close with HTLCs that have no output', () => {
  it('fails a trimmed HTLC and a dangling one (only on the remote commitment) once the close is deep', async () => {
    const ch = await ledgerChannel();
    // Below A's dust limit plus the HTLC-timeout fee: trimmed on A's commitment.
    await addHtlc(ch, 'A', 1, 700_000n, 1000);
    // A offers another, B takes it into its commitment and revokes, but B's signature for A never arrives.
    await run(ch.a, offer(2, 30_000_000n, 1000));
    await run(ch.a, { kind: 'sign' });
    await deliver(ch.a, ch.b, ch.a.outbox.length);
    const raa = ch.b.outbox.findIndex((m) => m.type === 'revoke_and_ack');
    expect(raa).toBe(0);
    await deliver(ch.b, ch.a, 1);
    const channel = await record(ch.a);
    expect(channel.localCommitment.htlcs.map((h) => [h.htlcIndex, h.outputIndex])).toEqual([[0, -1]]);
    expect(channel.remoteCommitment.htlcs.map((h) => h.htlcIndex)).toEqual([0, 1]);
    const closeTx = signedCommitment(channel, A);
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(FINAL_DEPTH - 1);
    const deps = depsFor(A, ch.ledger);
    const shallow = await resolveChecked(deps, { channel, closeTx }, ch.ledger);
    expect(shallow.htlcOutcomes).toEqual([]);
    await ch.ledger.mine(1);
    const deep = await resolveChecked(deps, { channel, closeTx }, ch.ledger);
    expect(deep.htlcOutcomes).toEqual([
      { htlcIndex: 0, incoming: false, paymentHash: preimageOf(1).paymentHash, settled: false },
      { htlcIndex: 1, incoming: false, paymentHash: preimageOf(2).paymentHash, settled: false },
    ]);
    expect(deep.pending.map((p) => p.kind)).toEqual(['to_local']);
  });
});
