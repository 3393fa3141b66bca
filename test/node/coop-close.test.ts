/**
 * Cooperative close between two real node processes (devnet, SQLite): shutdown_channel, the
 * BOLT 2 shutdown exchange, closing_signed fee negotiation, the closing transaction validated
 * and mined by devnet, and each side's wallet credited to the sat with its balance (the funder
 * minus the fee actually paid). Then a close with an HTLC in flight (the close waits for it),
 * and a close where both nodes are SIGKILLed in the middle of the negotiation.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/test-network.js';
import { chainTx, closedChannel, expectStandard, listedChannel, mineUntil, settledWalletSat, paymentOutcome, twoNodes } from './support/closing.js';
import { channelOf, errorOf, openChannel, type Invoice, type Payment } from './support/payments.js';


const CAPACITY_SAT = 400_000;

const t = twoNodes(['--close-depth', '1']);

/** Opens a channel Alice → Bob and pays Bob `paySat` so both sides have a balance. */
async function channelWithBalances(paySat: number): Promise<string> {
  const channelId = await openChannel(t.net, t.alice, t.bob, CAPACITY_SAT);
  const inv = await t.bob.call<Invoice>('new_invoice', { amount_msat: String(paySat * 1000), description: 'before the close' });
  const paid = await t.alice.call<Payment>('send_payment', { invoice: inv.invoice, timeout_secs: 60 });
  expect(paid.status, paid.failure_reason).toBe('succeeded');
  // The payment succeeds at the fulfill; the balances move once the commitment round completes.
  await waitFor('the balances settle', async () => ((await channelOf(t.alice, channelId)).remote_balance_msat === String(paySat * 1000) ? true : undefined));
  return channelId;
}

/** Waits until both nodes list the channel as closed and resolved; returns the closing txid. */
async function bothClosed(channelId: string): Promise<{ txid: string; settled: { alice: number; bob: number } }> {
  const closed = await mineUntil(t.net, 'both nodes record the close', async () => {
    const [a, b] = await Promise.all([closedChannel(t.alice, channelId), closedChannel(t.bob, channelId)]);
    return a !== undefined && b !== undefined ? { a, b } : undefined;
  }, 6);
  expect(closed.a.close_type).toBe('cooperative close');
  expect(closed.b.close_type).toBe('cooperative close');
  expect(closed.a.closing_txid).toBe(closed.b.closing_txid);
  expect(await listedChannel(t.alice, channelId)).toBeUndefined();
  expect(await listedChannel(t.bob, channelId)).toBeUndefined();
  return { txid: closed.a.closing_txid, settled: { alice: closed.a.settled_sat, bob: closed.b.settled_sat } };
}

/** Checks the closing transaction and each wallet's credit: Bob his balance, Alice hers minus the fee. */
async function expectPaidOut(closed: { txid: string; settled: { alice: number; bob: number } }, before: { alice: bigint; bob: bigint }, balances: { aliceMsat: bigint; bobMsat: bigint }): Promise<void> {
  const tx = await chainTx(t.net, closed.txid);
  expect(tx.status.confirmed).toBe(true);
  expectStandard(tx, 'closing transaction');
  const fee = tx.fee;
  expect(fee > 0n).toBe(true);
  const aliceGets = balances.aliceMsat / 1000n - fee;
  const bobGets = balances.bobMsat / 1000n;
  const byValue = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
  expect(tx.outputs.map((o) => o.value).sort(byValue)).toEqual([aliceGets, bobGets].sort(byValue));
  expect(closed.settled).toEqual({ alice: Number(aliceGets), bob: Number(bobGets) });
  expect(await settledWalletSat(t.alice, before.alice + aliceGets)).toBe(before.alice + aliceGets);
  expect(await settledWalletSat(t.bob, before.bob + bobGets)).toBe(before.bob + bobGets);
}

describe('cooperative close', () => {
  it('of an idle channel: shutdown, fee negotiation, closing tx mined, wallets credited to the sat', async () => {
    const channelId = await channelWithBalances(60_000);
    const c = await channelOf(t.alice, channelId);
    const balances = { aliceMsat: BigInt(c.local_balance_msat), bobMsat: BigInt(c.remote_balance_msat) };
    const before = { alice: await settledWalletSat(t.alice), bob: await settledWalletSat(t.bob) };

    const started = await t.alice.call<{ state: string; close_script: string }>('shutdown_channel', { channel_id: channelId });
    expect(started.state).toBe('shutting_down');
    expect(started.close_script).toMatch(/^0014[0-9a-f]{40}$/);
    // New payments are refused at once on both sides.
    const inv = await t.bob.call<Invoice>('new_invoice', { amount_msat: '1000', description: 'too late' });
    expect((await errorOf(t.alice.call('send_payment', { invoice: inv.invoice }))).code).toBe('CHANNEL_NOT_ACTIVE');

    const broadcast = await waitFor('closing tx broadcast', async () => {
      const l = await listedChannel(t.alice, channelId);
      return l?.closing?.closing_txid;
    });
    expect((await listedChannel(t.bob, channelId))?.state).toBe('closing');
    const closed = await bothClosed(channelId);
    expect(closed.txid).toBe(broadcast);
    await expectPaidOut(closed, before, balances);
  }, 240_000);

  it('with an HTLC in flight: the close waits for it, then pays the new balances', async () => {
    const channelId = await channelWithBalances(30_000);
    const before = { alice: await settledWalletSat(t.alice), bob: await settledWalletSat(t.bob) };
    // Bob is paused (SIGSTOP) so the HTLC stays in flight while Alice asks to close.
    const inv = await t.bob.call<Invoice>('new_invoice', { amount_msat: '25000000', description: 'in flight' });
    process.kill(t.bob.pid!, 'SIGSTOP');
    let resumed = false;
    try {
      const sent = await t.alice.call<Payment>('send_payment', { invoice: inv.invoice, no_wait: true });
      expect(sent.status).toBe('in_flight');
      await t.alice.call('shutdown_channel', { channel_id: channelId });
      const waiting = await waitFor('Alice shows the close waiting for the HTLC', async () => {
        const l = await listedChannel(t.alice, channelId);
        return l?.closing?.phase === 'shutting_down' && l.closing.htlcs_in_flight === 1 ? l : undefined;
      });
      expect(waiting.state).toBe('closing');
      process.kill(t.bob.pid!, 'SIGCONT');
      resumed = true;
    } finally {
      if (!resumed) process.kill(t.bob.pid!, 'SIGCONT');
    }
    const paid = await paymentOutcome(t.alice, inv.payment_hash, 'the in-flight payment settles');
    expect(paid.status, paid.failure_reason).toBe('succeeded');
    await waitFor('the balances settle', async () => ((await channelOf(t.alice, channelId)).remote_balance_msat === '55000000' ? true : undefined));
    const c = await channelOf(t.alice, channelId);
    const balances = { aliceMsat: BigInt(c.local_balance_msat), bobMsat: BigInt(c.remote_balance_msat) };
    expect(balances.bobMsat).toBe(55_000_000n);
    await expectPaidOut(await bothClosed(channelId), before, balances);
  }, 240_000);

  it('both nodes SIGKILLed in the middle of the negotiation still close', async () => {
    const channelId = await channelWithBalances(45_000);
    const c = await channelOf(t.alice, channelId);
    const balances = { aliceMsat: BigInt(c.local_balance_msat), bobMsat: BigInt(c.remote_balance_msat) };
    const before = { alice: await settledWalletSat(t.alice), bob: await settledWalletSat(t.bob) };
    // Alice dies right after sending her first closing_signed; Bob right after storing the agreed
    // closing transaction, before he broadcast it or answered.
    await t.alice.restart({ env: { CHAND_TEST_CRASH_AT: 'after-send:closing_signed' } });
    await t.bob.restart({ env: { CHAND_TEST_CRASH_AT: 'after-store:coop-close' } });
    await t.alice.connect(t.bob);
    await waitFor('Alice reconnected and the channel is reestablished', async () => ((await channelOf(t.alice, channelId)).state === 'open' ? true : undefined));
    await t.alice.call('shutdown_channel', { channel_id: channelId }).catch(() => undefined); // the call may race her crash
    await waitFor('both crash at their points', async () => (t.alice.pid === undefined && t.bob.pid === undefined ? true : undefined), 60_000);
    // Nothing spent the funding output yet: Bob stored the closing transaction but died before broadcasting it.
    expect((await t.net.devnet.getOutspend(c.funding_txid, c.funding_output_index)).spent).toBe(false);

    await Promise.all([t.alice.start(), t.bob.start()]);
    await expectPaidOut(await bothClosed(channelId), before, balances);
  }, 300_000);
});
