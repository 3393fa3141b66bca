/**
 * HTLCs resolved on chain between two real node processes (devnet, SQLite). Bob is SIGKILLed
 * at the exact moment an HTLC from Alice is locked into both commitments (after he stored the
 * revocation that locks it in, before he answered it), so the HTLC is in flight when the
 * channel goes on chain:
 * - Bob stays down: as the HTLC nears its expiry Alice force closes on her own (BOLT 2's
 *   deadline for an unresponsive peer), her HTLC-timeout transaction takes the HTLC back after
 *   the expiry, its output is swept after her delay, the payment fails; Bob, started again,
 *   sweeps his to_remote and does not mark the invoice paid.
 * - Alice force closes at once and Bob comes back: Bob settles the invoice and claims the HTLC
 *   on Alice's commitment with the preimage; Alice learns the preimage from that spend and her
 *   payment succeeds.
 * - Bob comes back while Alice is away, cancels the invoice and force closes: Alice, started
 *   later, sweeps her to_remote at once and claims the HTLC back from his commitment after the
 *   expiry; her payment fails.
 * - Bob comes back while Alice is away and force closes himself: his HTLC-success transaction
 *   (the peer's signature from his commitment, the preimage from the invoice he settles on
 *   chain) takes the HTLC, its output is his after his delay; Alice, started later, learns the
 *   preimage from it and her payment succeeds.
 * Every transaction is validated by devnet and checked for standardness; each wallet ends with
 * what its outputs were worth minus the fees actually paid.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/test-network.js';
import { chainTx, closedChannel, expectStandard, listedChannel, mineUntil, settledWalletSat, confirmedSpender, descendants, freshConnection, paymentOutcome, revealedPreimage, twoNodes } from './support/closing.js';
import { channelOf, openChannel, type Invoice, type Payment } from './support/payments.js';


const CAPACITY_SAT = 400_000;
const HTLC_SAT = 40_000;

const t = twoNodes(['--close-depth', '1']);

/** Opens a channel, pays Bob 50,000 sat, then leaves an HTLC of HTLC_SAT locked in with Bob dead. */
async function htlcInFlightBobDown(): Promise<{ channelId: string; invoice: Invoice; aliceMsat: bigint; bobMsat: bigint; before: { alice: bigint; bob: bigint } }> {
  const channelId = await openChannel(t.net, t.alice, t.bob, CAPACITY_SAT);
  const first = await t.bob.call<Invoice>('new_invoice', { amount_msat: '50000000', description: 'first' });
  expect((await t.alice.call<Payment>('send_payment', { invoice: first.invoice, timeout_secs: 60 })).status).toBe('succeeded');
  await waitFor('balances settle', async () => ((await channelOf(t.alice, channelId)).remote_balance_msat === '50000000' ? true : undefined));
  const c = await channelOf(t.alice, channelId);
  const invoice = await t.bob.call<Invoice>('new_invoice', { amount_msat: String(HTLC_SAT * 1000), description: 'stuck', min_final_cltv_expiry_delta: 18 });
  const before = { alice: await settledWalletSat(t.alice), bob: await settledWalletSat(t.bob) };
  const restartedAt = Date.now();
  await t.bob.restart({ env: { CHAND_TEST_CRASH_AT: 'after-store:revocation' } });
  await t.bob.connect(t.alice);
  await freshConnection(t.alice, t.bob, restartedAt);
  // The channel is reestablished on it a moment later; an offer made before that (or on the old
  // connection, not yet seen dead) fails cleanly, so the payment is retried until Bob has it.
  await waitFor('Bob dies with the HTLC locked in', async () => {
    if (t.bob.pid === undefined) return true;
    const payment = await t.alice.call<Payment>('get_payment', { payment_hash: invoice.payment_hash }).catch(() => undefined);
    if (payment === undefined || payment.status === 'failed') await t.alice.call('send_payment', { invoice: invoice.invoice, no_wait: true }).catch(() => undefined);
    return undefined;
  }, 30_000, 500);
  expect((await t.alice.call<Payment>('get_payment', { payment_hash: invoice.payment_hash })).status).toBe('in_flight');
  return { channelId, invoice, aliceMsat: BigInt(c.local_balance_msat), bobMsat: BigInt(c.remote_balance_msat), before };
}


describe('HTLCs on chain', () => {
  it('an unresponsive peer: Alice force closes before the expiry, times the HTLC out on chain, the payment fails', async () => {
    const { channelId, invoice, aliceMsat, bobMsat, before } = await htlcInFlightBobDown();
    const { funding_txid: fundingTxid, funding_output_index: fundingIndex } = await channelOf(t.alice, channelId);

    // Alice force closes by herself once the HTLC is 10 blocks from its expiry (18 blocks away now).
    await t.net.devnet.mine(5);
    const commitmentSpend = await mineUntil(t.net, 'Alice force closes near the expiry', async () => {
      const s = await t.net.devnet.getOutspend(fundingTxid, fundingIndex);
      return s.spent ? s : undefined;
    }, 30);
    const commitment = await chainTx(t.net, commitmentSpend.txid);
    expectStandard(commitment, 'commitment');
    expect(commitment.outputs).toHaveLength(3); // to_local, to_remote, the HTLC
    const htlcIndex = commitment.outputs.findIndex((o) => o.value === BigInt(HTLC_SAT));
    const toRemoteIndex = commitment.outputs.findIndex((o) => o.value === bobMsat / 1000n);
    expect(htlcIndex).toBeGreaterThanOrEqual(0);
    expect(toRemoteIndex).toBeGreaterThanOrEqual(0);
    const aliceIndexes = commitment.outputs.map((_o, i) => i).filter((i) => i !== toRemoteIndex);
    expect(commitment.outputs[aliceIndexes.find((i) => i !== htlcIndex)!]!.value).toBe(aliceMsat / 1000n - BigInt(HTLC_SAT) - commitment.fee);

    // The HTLC-timeout goes out only at the expiry; list_channels says what each output waits for.
    await t.net.devnet.mine(1);
    const waiting = await waitFor('Alice lists the HTLC waiting for its expiry', async () => {
      const l = await listedChannel(t.alice, channelId);
      return l?.closing?.pending_outputs?.find((p) => p.kind === 'htlc_offered' && p.waiting_for === 'cltv');
    });
    expect(waiting.blocks_left! > 0).toBe(true);
    await t.net.devnet.mine(waiting.blocks_left! - 1);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await t.net.devnet.getOutspend(commitment.txid, htlcIndex)).spent, 'no HTLC-timeout before the expiry').toBe(false);
    const timeoutTx = await confirmedSpender(t.net, 'the HTLC-timeout transaction confirms', commitment.txid, htlcIndex, 20);
    expectStandard(timeoutTx, 'HTLC-timeout');
    expect(timeoutTx.locktime).toBeGreaterThan(0);

    // Its output, and to_local, are Alice's after her to_self_delay.
    await t.alice.restart(); // between the second-level transaction and its sweep
    await t.net.devnet.mine(140);
    const closed = await mineUntil(t.net, 'Alice records the close', () => closedChannel(t.alice, channelId), 12);
    expect(closed.close_type).toBe('force closed by us');
    const paid = await t.alice.call<Payment>('get_payment', { payment_hash: invoice.payment_hash });
    expect(paid.status).toBe('failed');

    const aliceTxs = await descendants(t.net, commitment.txid, aliceIndexes);
    for (const tx of aliceTxs) expectStandard(tx, `Alice's resolution ${tx.txid}`);
    const aliceOutputs = aliceIndexes.reduce((s, i) => s + commitment.outputs[i]!.value, 0n);
    const aliceFees = aliceTxs.reduce((s, tx) => s + tx.fee, 0n);
    expect(await settledWalletSat(t.alice, before.alice + aliceOutputs - aliceFees)).toBe(before.alice + aliceOutputs - aliceFees);

    // Bob comes back after the expiry: he sweeps his to_remote and does not take the invoice as paid.
    await t.bob.start();
    const bobClosed = await mineUntil(t.net, 'Bob records the close', () => closedChannel(t.bob, channelId), 6);
    expect(bobClosed.close_type).toBe('force closed by the peer');
    const bobTxs = await descendants(t.net, commitment.txid, [toRemoteIndex]);
    expect(bobTxs).toHaveLength(1);
    expectStandard(bobTxs[0]!, "Bob's to_remote sweep");
    expect(await settledWalletSat(t.bob, before.bob + bobMsat / 1000n - bobTxs[0]!.fee)).toBe(before.bob + bobMsat / 1000n - bobTxs[0]!.fee);
    expect((await t.bob.call<Invoice>('get_invoice', { payment_hash: invoice.payment_hash })).state).toBe('open');
  }, 420_000);

  it('Bob claims the HTLC on chain with the preimage; Alice learns it there and her payment succeeds', async () => {
    const { channelId, invoice, bobMsat, before } = await htlcInFlightBobDown();
    const { closing_txid: commitmentTxid } = await t.alice.call<{ closing_txid: string }>('shutdown_channel', { channel_id: channelId, force: true });
    await t.net.devnet.mine(1);
    await t.bob.start();
    const commitment = await chainTx(t.net, commitmentTxid);
    const htlcIndex = commitment.outputs.findIndex((o) => o.value === BigInt(HTLC_SAT));
    const toRemoteIndex = commitment.outputs.findIndex((o) => o.value === bobMsat / 1000n);
    const claimTx = await confirmedSpender(t.net, 'Bob claims the HTLC with the preimage', commitmentTxid, htlcIndex, 6);
    expectStandard(claimTx, "Bob's HTLC claim");
    const revealed = revealedPreimage(claimTx, invoice.payment_hash);
    expect(revealed, 'the claim reveals the preimage').toBeDefined();

    const paid = await paymentOutcome(t.alice, invoice.payment_hash, "Alice's payment succeeds from the on-chain preimage");
    expect(paid.status).toBe('succeeded');
    expect(paid.preimage).toBe(Buffer.from(revealed!).toString('hex'));
    const settled = await t.bob.call<Invoice>('get_invoice', { payment_hash: invoice.payment_hash });
    expect(settled.state).toBe('settled');
    expect(settled.preimage).toBe(paid.preimage);

    const bobClosed = await mineUntil(t.net, 'Bob records the close', () => closedChannel(t.bob, channelId), 6);
    expect(bobClosed.close_type).toBe('force closed by the peer');
    const bobTxs = await descendants(t.net, commitmentTxid, [toRemoteIndex, htlcIndex]);
    const bobFees = bobTxs.reduce((s, tx) => s + tx.fee, 0n);
    const bobGets = bobMsat / 1000n + BigInt(HTLC_SAT) - bobFees;
    expect(await settledWalletSat(t.bob, before.bob + bobGets)).toBe(before.bob + bobGets);

    // Alice's to_local comes back after her delay; the HTLC was Bob's.
    await t.net.devnet.mine(144);
    const aliceClosed = await mineUntil(t.net, 'Alice records the close', () => closedChannel(t.alice, channelId), 6);
    expect(aliceClosed.close_type).toBe('force closed by us');
    const aliceIndexes = commitment.outputs.map((_o, i) => i).filter((i) => i !== toRemoteIndex && i !== htlcIndex);
    const aliceTxs = await descendants(t.net, commitmentTxid, aliceIndexes);
    const aliceGets = aliceIndexes.reduce((s, i) => s + commitment.outputs[i]!.value, 0n) - aliceTxs.reduce((s, tx) => s + tx.fee, 0n);
    expect(await settledWalletSat(t.alice, before.alice + aliceGets)).toBe(before.alice + aliceGets);
  }, 420_000);

  it("Bob force closes without settling (the invoice was canceled): Alice claims her HTLC back on Bob's commitment after the expiry", async () => {
    const { channelId, invoice, aliceMsat, before } = await htlcInFlightBobDown();
    await t.alice.kill();
    await t.bob.start();
    await t.bob.call('cancel_invoice', { payment_hash: invoice.payment_hash });
    const { closing_txid: commitmentTxid } = await t.bob.call<{ closing_txid: string }>('shutdown_channel', { channel_id: channelId, force: true });
    const commitment = await mineUntil(t.net, "Bob's commitment confirms", async () => {
      const tx = await t.net.devnet.getTransaction(commitmentTxid);
      return tx?.status.confirmed === true ? tx : undefined;
    }, 2);
    const htlcIndex = commitment.outputs.findIndex((o) => o.value === BigInt(HTLC_SAT));
    const toRemoteIndex = commitment.outputs.findIndex((o) => o.value === aliceMsat / 1000n - BigInt(HTLC_SAT) - commitment.fee);
    expect(htlcIndex).toBeGreaterThanOrEqual(0);
    expect(toRemoteIndex).toBeGreaterThanOrEqual(0);

    // Alice comes back: to_remote at once; the HTLC (no preimage anywhere) only after its expiry,
    // claimed directly from Bob's commitment with nLockTime = the expiry.
    await t.alice.start();
    const waiting = await waitFor('Alice lists her HTLC waiting for its expiry', async () => {
      const l = await listedChannel(t.alice, channelId);
      return l?.closing?.pending_outputs?.find((p) => p.kind === 'htlc_offered' && p.waiting_for === 'cltv');
    });
    await t.net.devnet.mine(waiting.blocks_left! - 1);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await t.net.devnet.getOutspend(commitmentTxid, htlcIndex)).spent, 'no claim before the expiry').toBe(false);
    const claimTx = await confirmedSpender(t.net, "Alice's timeout claim confirms", commitmentTxid, htlcIndex, 6);
    expectStandard(claimTx, "Alice's HTLC timeout claim");
    expect(claimTx.locktime).toBeGreaterThan(0);
    expect(claimTx.outputs).toHaveLength(1);
    const paid = await paymentOutcome(t.alice, invoice.payment_hash, 'the payment fails once the HTLC is back');
    expect(paid.status).toBe('failed');
    const aliceClosed = await mineUntil(t.net, 'Alice records the close', () => closedChannel(t.alice, channelId), 6);
    expect(aliceClosed.close_type).toBe('force closed by the peer');
    const aliceTxs = await descendants(t.net, commitmentTxid, [toRemoteIndex, htlcIndex]);
    for (const tx of aliceTxs) expectStandard(tx, `Alice's resolution ${tx.txid}`);
    const aliceGets = commitment.outputs[toRemoteIndex]!.value + BigInt(HTLC_SAT) - aliceTxs.reduce((sum, tx) => sum + tx.fee, 0n);
    expect(await settledWalletSat(t.alice, before.alice + aliceGets)).toBe(before.alice + aliceGets);
    expect((await t.bob.call<Invoice>('get_invoice', { payment_hash: invoice.payment_hash })).state).toBe('canceled');

    // Bob's own to_local comes back after his delay.
    await t.net.devnet.mine(144);
    const bobClosed = await mineUntil(t.net, 'Bob records the close', () => closedChannel(t.bob, channelId), 6);
    expect(bobClosed.close_type).toBe('force closed by us');
  }, 420_000);

  it('Bob force closes holding the HTLC: HTLC-success with the preimage, swept after his delay; Alice learns the preimage', async () => {
    const { channelId, invoice, aliceMsat, bobMsat, before } = await htlcInFlightBobDown();
    await t.alice.kill(); // Alice is away: Bob cannot settle off chain
    await t.bob.start();
    const { closing_txid: commitmentTxid } = await t.bob.call<{ closing_txid: string }>('shutdown_channel', { channel_id: channelId, force: true });
    const commitment = await mineUntil(t.net, "Bob's commitment confirms", async () => {
      const tx = await t.net.devnet.getTransaction(commitmentTxid);
      return tx?.status.confirmed === true ? tx : undefined;
    }, 2);
    expectStandard(commitment, "Bob's commitment");
    const htlcIndex = commitment.outputs.findIndex((o) => o.value === BigInt(HTLC_SAT));
    const toRemoteIndex = commitment.outputs.findIndex((o) => o.value === aliceMsat / 1000n - BigInt(HTLC_SAT) - commitment.fee);
    expect(htlcIndex).toBeGreaterThanOrEqual(0);
    expect(toRemoteIndex).toBeGreaterThanOrEqual(0); // Alice funded: the commitment fee is hers
    const bobIndexes = commitment.outputs.map((_o, i) => i).filter((i) => i !== toRemoteIndex);
    expect(commitment.outputs[bobIndexes.find((i) => i !== htlcIndex)!]!.value).toBe(bobMsat / 1000n);

    // Bob settles the invoice on chain: the HTLC-success transaction reveals the preimage.
    const successTx = await confirmedSpender(t.net, 'the HTLC-success transaction confirms', commitmentTxid, htlcIndex, 4);
    expectStandard(successTx, 'HTLC-success');
    const revealed = revealedPreimage(successTx, invoice.payment_hash);
    expect(revealed, 'the HTLC-success transaction reveals the preimage').toBeDefined();
    expect((await t.bob.call<Invoice>('get_invoice', { payment_hash: invoice.payment_hash })).state).toBe('settled');

    // Alice comes back: her payment succeeds from the preimage on chain; she sweeps her to_remote.
    await t.alice.start();
    const paid = await paymentOutcome(t.alice, invoice.payment_hash, "Alice's payment succeeds from the on-chain preimage");
    expect(paid.status).toBe('succeeded');
    expect(paid.preimage).toBe(Buffer.from(revealed!).toString('hex'));
    const aliceClosed = await mineUntil(t.net, 'Alice records the close', () => closedChannel(t.alice, channelId), 6);
    expect(aliceClosed.close_type).toBe('force closed by the peer');

    // Bob's to_local and the HTLC-success output are his after his to_self_delay.
    await t.net.devnet.mine(140);
    const bobClosed = await mineUntil(t.net, 'Bob records the close', () => closedChannel(t.bob, channelId), 12);
    expect(bobClosed.close_type).toBe('force closed by us');
    const bobTxs = await descendants(t.net, commitmentTxid, bobIndexes);
    for (const tx of bobTxs) expectStandard(tx, `Bob's resolution ${tx.txid}`);
    const bobGets = bobIndexes.reduce((s, i) => s + commitment.outputs[i]!.value, 0n) - bobTxs.reduce((s, tx) => s + tx.fee, 0n);
    expect(await settledWalletSat(t.bob, before.bob + bobGets)).toBe(before.bob + bobGets);
    const aliceTxs = await descendants(t.net, commitmentTxid, [toRemoteIndex]);
    expect(aliceTxs).toHaveLength(1);
    const aliceGets = commitment.outputs[toRemoteIndex]!.value - aliceTxs[0]!.fee;
    expect(await settledWalletSat(t.alice, before.alice + aliceGets)).toBe(before.alice + aliceGets);
  }, 420_000);
});
