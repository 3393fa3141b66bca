/**
 * resolveClose is stateless: repeated calls, and calls with fresh deps (as after a restart,
 * even with another feerate), report the same pending set and never broadcast a transaction
 * conflicting with an earlier one; a claim that vanished from the mempool is rebroadcast.
 */
import { describe, expect, it } from 'vitest';
import { decodeTx, encodeTx, txidOf } from '../../src/bitcoin/transaction.js';
import { resolveClose, type ResolverDeps, type ResolverInput } from '../../src/contractcourt/resolver.js';
import { A, B, FINAL_DEPTH, RecordingChain, broadcastCommitment, SWEEP_FEERATE, addHtlc, depsFor, ledgerChannel, mineTo, pendingKeys, record, resolveChecked, restartedKeys, signedCommitment } from './support.js';

describe('idempotency and restart safety', () => {
  it('repeated and restarted calls agree, never conflict, and rebroadcast what went missing', async () => {
    const ch = await ledgerChannel();
    const chain = new RecordingChain(ch.ledger);
    const start = (await ch.ledger.getTip()).height;
    const expiry = start + 15;
    await addHtlc(ch, 'A', 1, 50_000_000n, expiry);
    await addHtlc(ch, 'B', 2, 40_000_000n, start + 300);
    const channel = await record(ch.a);
    const closeTx = signedCommitment(channel, A);
    const input: ResolverInput = { channel, closeTx };
    const deps = depsFor(A, chain, [2]);
    // After a restart: keys re-derived from the seed, a new preimage lookup, another feerate.
    const restarted = (): ResolverDeps => ({ ...depsFor(A, chain, [2], SWEEP_FEERATE * 3), keys: restartedKeys(1) });

    /** Runs the resolver three times (same deps, same deps, restarted) and checks they agree. */
    const settle = async (): Promise<Awaited<ReturnType<typeof resolveClose>>> => {
      const first = await resolveChecked(deps, input, ch.ledger);
      const second = await resolveChecked(deps, input, ch.ledger);
      const third = await resolveChecked(restarted(), input, ch.ledger);
      expect(second.broadcast).toEqual([]);
      expect(third.broadcast).toEqual([]);
      expect(pendingKeys(second)).toEqual(pendingKeys(first));
      expect(pendingKeys(third)).toEqual(pendingKeys(first));
      expect(third.done).toBe(second.done);
      return first;
    };

    // The close itself gets lost once: the next call puts it back.
    chain.drop = 1;
    const lost = await resolveClose(deps, input);
    expect(lost.broadcast.map((b) => b.purpose)).toEqual(['close']);
    expect(await ch.ledger.getTxStatus(txidOf(closeTx))).toBeUndefined();
    const back = await settle();
    expect(back.broadcast.map((b) => b.purpose)).toEqual(['close']);
    expect(await ch.ledger.getTxStatus(txidOf(closeTx))).toEqual({ confirmed: false });
    await ch.ledger.mine(1);

    // The HTLC-success goes missing from the mempool (dropped): rebroadcast, same transaction.
    chain.drop = 1;
    const dropped = await resolveClose(deps, input);
    expect(dropped.broadcast.map((b) => b.purpose)).toEqual(['htlc_success']);
    const successTxid = dropped.broadcast[0]!.txid;
    expect(await ch.ledger.getTxStatus(successTxid)).toBeUndefined();
    const rebroadcast = await settle();
    expect(rebroadcast.broadcast.map((b) => [b.purpose, b.txid])).toEqual([['htlc_success', successTxid]]);
    expect(await ch.ledger.getTxStatus(successTxid)).toEqual({ confirmed: false });

    // Step through the whole resolution, checking agreement at every stage (bounded).
    const delay = channel.localConfig.csvDelay;
    const closeHeight = (await ch.ledger.getTxStatus(txidOf(closeTx)).then((s) => (s?.confirmed ? s.blockHeight : 0)));
    const stages = [expiry - 1, expiry, expiry + 1, closeHeight + delay - 2, closeHeight + delay - 1, closeHeight + delay + 1, expiry + delay + 1, expiry + delay + 2 + FINAL_DEPTH];
    let last;
    for (const height of stages) {
      await mineTo(ch.ledger, height);
      last = await settle();
    }
    expect(last!.done).toBe(true);

    // No two different transactions ever spent the same outpoint.
    const spenders = new Map<string, Set<string>>();
    for (const raw of chain.broadcasts) {
      const tx = decodeTx(raw);
      for (const i of tx.inputs) {
        const key = `${i.txid}:${i.index}`;
        spenders.set(key, (spenders.get(key) ?? new Set()).add(txidOf(tx)));
      }
    }
    expect([...spenders.values()].every((s) => s.size === 1)).toBe(true);
    // Every claim was broadcast: commitment, HTLC-success, HTLC-timeout, three sweeps.
    expect(new Set(chain.broadcasts.map((raw) => txidOf(decodeTx(raw)))).size).toBe(6);
    expect(encodeTx(closeTx)).toEqual(chain.broadcasts[0]);
  });

  it('reports an output too small to pay for its sweep as nothing_to_claim, and finishes without it', async () => {
    const ch = await ledgerChannel();
    const channel = await record(ch.a);
    const closeTx = signedCommitment(channel, A);
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(1);
    // A feerate at which the to_local sweep would cost more than the output holds.
    const deps = depsFor(A, ch.ledger, [], 2_000_000);
    const r = await resolveChecked(deps, { channel, closeTx }, ch.ledger);
    expect(r.pending).toEqual([expect.objectContaining({ kind: 'to_local', waitingFor: 'nothing_to_claim' })]);
    expect(r.broadcast).toEqual([]);
    expect(r.done).toBe(false);
    await ch.ledger.mine(FINAL_DEPTH);
    const final = await resolveChecked(deps, { channel, closeTx }, ch.ledger);
    expect(final.done).toBe(true);
    expect(final.timeLockedSat).toBe(0n);
    expect(final.settledSat).toBe(0n);
  });

  it('reports a refused claim on its output and retries it on the next call', async () => {
    const ch = await ledgerChannel();
    const chain = new RecordingChain(ch.ledger);
    const channel = await record(ch.a);
    const closeTx = signedCommitment(await record(ch.b), B);
    await broadcastCommitment(ch.ledger, closeTx);
    await ch.ledger.mine(1);
    const deps = depsFor(A, chain);
    chain.reject = 1;
    const refused = await resolveClose(deps, { channel, closeTx });
    expect(refused.broadcast).toEqual([]);
    expect(refused.pending).toEqual([expect.objectContaining({ kind: 'to_remote', waitingFor: 'sweep_confirmation', rejected: 'test-refusal (refused by the test chain)' })]);
    const retried = await resolveChecked(deps, { channel, closeTx }, ch.ledger);
    expect(retried.broadcast.map((b) => [b.purpose, b.txid])).toEqual([['to_remote_sweep', refused.pending[0]!.spendTxid]]);
    expect(retried.pending[0]!.rejected).toBeUndefined();
  });
});
