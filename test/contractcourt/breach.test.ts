/**
 * The peer broadcasts a revoked commitment with HTLCs: one justice transaction takes its
 * to_local and every HTLC output (and the output of a second-level transaction the peer
 * managed to confirm), our to_remote is swept separately, and the ledger accepts it all.
 */
import { describe, expect, it } from 'vitest';
import { decodeTx, txidOf, type BitcoinTx } from '../../src/bitcoin/transaction.js';
import type { OpenChannel } from '../../src/chanstate/types.js';
import { classifySpend } from '../../src/contractcourt/classify.js';
import { resolveClose } from '../../src/contractcourt/resolver.js';
import { A, B, FINAL_DEPTH, addHtlc, depsFor, ledgerChannel, preimageOf, record, resolveChecked, signedCommitment, type LedgerChannel, broadcastCommitment } from './support.js';

/** A channel with HTLCs both ways at B's commitment `k`, then one more state so that `k` is revoked. */
async function breachSetup(): Promise<{ ch: LedgerChannel; stale: OpenChannel; revokedTx: BitcoinTx; start: number }> {
  const ch = await ledgerChannel();
  const start = (await ch.ledger.getTip()).height;
  await addHtlc(ch, 'A', 1, 50_000_000n, start + 500);
  await addHtlc(ch, 'B', 2, 40_000_000n, start + 20);
  const stale = await record(ch.b);
  await addHtlc(ch, 'A', 3, 20_000_000n, start + 600);
  return { ch, stale, revokedTx: signedCommitment(stale, B), start };
}

describe('breach', () => {
  it('one call broadcasts a justice transaction taking every revoked output; done after final depth', async () => {
    const { ch, revokedTx } = await breachSetup();
    const channel = await record(ch.a);
    const kind = classifySpend(channel, revokedTx);
    expect(kind.kind).toBe('breach');
    const height = (kind as { commitHeight: number }).commitHeight;
    expect(height).toBeLessThan(channel.remoteCommitment.commitHeight);
    const revokedState = await ch.a.db.channelState.findPreviousState(ch.outpoint, height);
    await broadcastCommitment(ch.ledger, revokedTx);
    await ch.ledger.mine(1);
    const deps = depsFor(A, ch.ledger);
    const input = { channel, closeTx: revokedTx, revokedState };
    await expect(resolveClose(deps, { channel, closeTx: revokedTx })).rejects.toThrow(TypeError);

    const r1 = await resolveChecked(deps, input, ch.ledger);
    expect(r1.broadcast.map((b) => b.purpose).sort()).toEqual(['justice', 'to_remote_sweep']);
    const justice = decodeTx(r1.broadcast.find((b) => b.purpose === 'justice')!.raw);
    // to_local and both HTLC outputs, in one transaction.
    expect(justice.inputs).toHaveLength(3);
    expect(revokedTx.outputs).toHaveLength(4);
    for (let i = 0; i < revokedTx.outputs.length; i++) {
      const spent = await ch.ledger.getOutspend(txidOf(revokedTx), i);
      expect(spent.spent, `output ${i} of the revoked commitment is spent`).toBe(true);
    }
    const justiceValue = justice.outputs[0]!.value;
    const total = revokedTx.outputs.reduce((s, o) => s + o.value, 0n);
    const toRemote = revokedTx.outputs[revokedState.ourOutputIndex]!.value;
    expect(justiceValue).toBeLessThan(total - toRemote);
    expect(r1.pending.every((p) => p.waitingFor === 'sweep_confirmation')).toBe(true);
    expect(r1.pending.filter((p) => p.kind === 'revoked')).toHaveLength(3);

    const again = await resolveChecked(deps, input, ch.ledger);
    expect(again.broadcast).toEqual([]);

    await ch.ledger.mine(FINAL_DEPTH);
    const final = await resolveChecked(deps, input, ch.ledger);
    expect(final.done).toBe(true);
    expect(final.pending).toEqual([]);
    const sweep = decodeTx(r1.broadcast.find((b) => b.purpose === 'to_remote_sweep')!.raw);
    expect(final.settledSat).toBe(justiceValue + sweep.outputs[0]!.value);
    expect(justice.outputs[0]!.value + sweep.outputs[0]!.value).toBeLessThan(total);
    // The live HTLCs (not the revoked state's) can only fail: reported once everything is done.
    expect(again.htlcOutcomes).toEqual([]);
    expect(sortOutcomes(final.htlcOutcomes)).toEqual([
      { htlcIndex: 0, incoming: false, paymentHash: preimageOf(1).paymentHash, settled: false },
      { htlcIndex: 1, incoming: false, paymentHash: preimageOf(3).paymentHash, settled: false },
      { htlcIndex: 0, incoming: true, paymentHash: preimageOf(2).paymentHash, settled: false },
    ]);
  });

  it("sweeps the output of the peer's second-level transaction of the revoked state with the revocation key", async () => {
    const { ch, stale, revokedTx } = await breachSetup();
    // The cheater runs its (stale) resolver: it thinks this is its current commitment, and
    // claims our HTLC 1 with the preimage through its HTLC-success transaction.
    const cheater = await resolveChecked(depsFor(B, ch.ledger, [1]), { channel: stale, closeTx: revokedTx }, ch.ledger);
    expect(cheater.broadcast.map((b) => b.purpose)).toEqual(['close']);
    await ch.ledger.mine(1);
    const second = await resolveChecked(depsFor(B, ch.ledger, [1]), { channel: stale, closeTx: revokedTx }, ch.ledger);
    const success = second.broadcast.find((b) => b.purpose === 'htlc_success')!;
    expect(success).toBeDefined();
    await ch.ledger.mine(1);

    const channel = await record(ch.a);
    const kind = classifySpend(channel, revokedTx) as { kind: 'breach'; commitHeight: number };
    const revokedState = await ch.a.db.channelState.findPreviousState(ch.outpoint, kind.commitHeight);
    const deps = depsFor(A, ch.ledger);
    const input = { channel, closeTx: revokedTx, revokedState };
    const r1 = await resolveChecked(deps, input, ch.ledger);
    expect(r1.learnedPreimages).toEqual([{ paymentHash: preimageOf(1).paymentHash, preimage: preimageOf(1).preimage }]);
    const justice = decodeTx(r1.broadcast.find((b) => b.purpose === 'justice')!.raw);
    // to_local, HTLC 2's output, and the second-level output of HTLC 1.
    expect(justice.inputs).toHaveLength(3);
    expect(justice.inputs.some((i) => i.txid === success.txid && i.index === 0)).toBe(true);
    // The revocation branch of the to_local script: <sig> 1 <script>.
    const secondLevelInput = justice.inputs.find((i) => i.txid === success.txid)!;
    expect(secondLevelInput.witness[1]).toEqual(Uint8Array.of(1));
    expect(r1.pending.find((p) => p.outpoint.txid === success.txid)).toMatchObject({ kind: 'revoked', waitingFor: 'sweep_confirmation', paymentHash: preimageOf(1).paymentHash });

    await ch.ledger.mine(FINAL_DEPTH);
    const final = await resolveChecked(deps, input, ch.ledger);
    expect(final.done).toBe(true);
    // The cheater's own sweep of that output can never come: it is spent.
    expect((await ch.ledger.getOutspend(success.txid, 0)).spent).toBe(true);
    // HTLC 1's preimage was revealed by the cheater: left to learnedPreimages, not failed.
    expect(sortOutcomes(final.htlcOutcomes)).toEqual([
      { htlcIndex: 1, incoming: false, paymentHash: preimageOf(3).paymentHash, settled: false },
      { htlcIndex: 0, incoming: true, paymentHash: preimageOf(2).paymentHash, settled: false },
    ]);
    expect(final.learnedPreimages.map((l) => l.paymentHash)).toEqual([preimageOf(1).paymentHash]);
    const toRemoteSweep = decodeTx(r1.broadcast.find((b) => b.purpose === 'to_remote_sweep')!.raw);
    expect(final.settledSat).toBe(justice.outputs[0]!.value + toRemoteSweep.outputs[0]!.value);
  });
});

function sortOutcomes<T extends { incoming: boolean; htlcIndex: number }>(outcomes: readonly T[]): T[] {
  return [...outcomes].sort((x, y) => Number(x.incoming) - Number(y.incoming) || x.htlcIndex - y.htlcIndex);
}
