/**
 * Breach → justice between two real node processes (devnet, SQLite). The test plays a
 * cheating Bob: it copies Bob's signed commitment out of his store (stopping him to read it,
 * signing it with his seed's funding key as his node would), lets the channel move on so that
 * commitment is revoked, then broadcasts the old one to devnet. Alice's justice transaction
 * must take every output of it — Bob's to_local and Alice's own to_remote — before Bob's delay;
 * Bob ends with nothing from the channel. Then again with Alice SIGKILLed before the breach and
 * started after it (still within the delay).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyChain } from '../../src/bitcoin/key-chain.js';
import { readSeedFile } from '../../src/bitcoin/node-seed.js';
import { encodeTx, decodeTx } from '../../src/bitcoin/transaction.js';
import { signedLocalCommitment } from '../../src/channel/unilateral-close.js';
import { openChannelDb } from '../../src/channeldb/open.js';
import { channelIdOf } from '../../src/chanstate/channel-id.js';
import { waitFor } from '../support/test-network.js';
import { chainTx, closedChannel, expectStandard, mineUntil, settledWalletSat, freshConnection, twoNodes } from './support/closing.js';
import { channelOf, openChannel, type Invoice, type Payment } from './support/payments.js';


const CAPACITY_SAT = 300_000;

const t = twoNodes(['--close-depth', '2']);

async function pay(sat: number, channelId: string, expectedBobSat: number): Promise<void> {
  const inv = await t.bob.call<Invoice>('new_invoice', { amount_msat: String(sat * 1000), description: 'breach test' });
  // Right after Bob's restart the channel may not be reestablished yet (CHANNEL_NOT_ACTIVE): retried.
  const paid = await waitFor('the payment succeeds', async () => {
    const p = await t.alice.call<Payment>('send_payment', { invoice: inv.invoice, timeout_secs: 60 });
    return p.status === 'succeeded' ? p : undefined;
  });
  expect(paid.status).toBe('succeeded');
  await waitFor('balances settle', async () => ((await channelOf(t.alice, channelId)).remote_balance_msat === String(expectedBobSat * 1000) ? true : undefined));
}

/** Bob's current commitment, signed by both sides, as his node would broadcast it (read with Bob stopped). */
async function stealBobsCommitment(channelId: string): Promise<{ raw: Uint8Array; txid: string; height: number }> {
  // The payer's success comes with the fulfill; Bob's own commitment follows one round later.
  await new Promise((r) => setTimeout(r, 1_500));
  await t.bob.kill();
  const db = await openChannelDb({ backend: 'sqlite', path: t.bob.datadir });
  try {
    const channel = (await db.channelState.fetchAllChannels()).find((c) => channelIdOf(c.fundingOutpoint) === channelId);
    if (channel === undefined) throw new Error('Bob has no open channel with Alice');
    expect(channel.localCommitment.htlcs, 'the stolen state has no HTLC in flight').toEqual([]);
    const keys = KeyChain.fromSeed(await readSeedFile(join(t.bob.datadir, 'seed.json')), 'regtest');
    const { raw, txid } = signedLocalCommitment(channel, keys);
    return { raw: encodeTx(decodeTx(raw)), txid, height: channel.localCommitment.commitHeight };
  } finally {
    await db.close();
    const restartedAt = Date.now();
    await t.bob.start();
    await t.bob.connect(t.alice);
    await freshConnection(t.alice, t.bob, restartedAt);
  }
}

/** Broadcasts the revoked commitment and checks Alice's justice transaction takes all of it. */
async function expectPunished(channelId: string, stolen: { raw: Uint8Array; txid: string }, before: { alice: bigint; bob: bigint }, aliceDown: boolean): Promise<void> {
  const fundingTxid = (await channelOf(t.alice, channelId)).funding_txid;
  if (aliceDown) await t.alice.kill();
  expect(await t.net.devnet.broadcast(stolen.raw)).toBe(stolen.txid);
  await t.net.devnet.mine(1);
  const revoked = await chainTx(t.net, stolen.txid);
  expect(revoked.inputs[0]!.txid).toBe(fundingTxid);
  if (aliceDown) {
    await t.net.devnet.mine(3); // Alice is down for a few blocks, well within Bob's delay
    await t.alice.start();
  }
  // Bob's to_local is locked for Alice's to_self_delay on his commitment (144); Alice takes it at
  // once with the revocation key (the justice transaction) and sweeps her own to_remote.
  const spenders = await mineUntil(t.net, "Alice's justice and sweep confirm", async () => {
    const spends = await Promise.all(revoked.outputs.map((_o, i) => t.net.devnet.getOutspend(stolen.txid, i)));
    if (!spends.every((s) => s.spent && s.status.confirmed)) return undefined;
    return [...new Set(spends.map((s) => (s.spent ? s.txid : '')))];
  }, 6).catch((err: Error) => {
    throw new Error(`${err.message}\nAlice's log:\n${t.alice.output.slice(-4000)}`);
  });
  const txs = await Promise.all(spenders.map((txid) => chainTx(t.net, txid)));
  let fees = 0n;
  for (const tx of txs) {
    expectStandard(tx, `resolution ${tx.txid}`);
    expect(tx.outputs).toHaveLength(1);
    fees += tx.fee;
  }
  const total = revoked.outputs.reduce((s, o) => s + o.value, 0n);
  // Bob's to_local went into a transaction whose input uses the revocation path (witness `<sig> 1 <script>`).
  const justice = txs.find((tx) => tx.inputs.some((i) => i.witness.length === 3 && i.witness[1]!.length === 1 && i.witness[1]![0] === 1));
  expect(revoked.outputs).toHaveLength(2); // Bob's to_local and Alice's to_remote
  const shape = txs.map((tx) => `${tx.txid}: ${tx.inputs.map((i) => `${i.txid}:${i.index} [${i.witness.map((w) => w.length).join(',')}]`).join(' ')}`).join('\n');
  expect(justice, `a justice transaction spends through the revocation branch; spenders:\n${shape}\nAlice's log:\n${t.alice.output.slice(-3000)}`).toBeDefined();

  const closed = await mineUntil(t.net, 'Alice records the punished breach', () => closedChannel(t.alice, channelId), 6);
  expect(closed.close_type).toBe('breach punished');
  // Alice has the whole channel, minus the two fees of the revoked commitment and her justice.
  expect(await settledWalletSat(t.alice, before.alice + total - fees)).toBe(before.alice + total - fees);
  expect(await settledWalletSat(t.bob)).toBe(before.bob);
}

describe('breach', () => {
  it("Bob broadcasts a revoked commitment: Alice's justice transaction takes every output", async () => {
    const channelId = await openChannel(t.net, t.alice, t.bob, CAPACITY_SAT);
    await pay(100_000, channelId, 100_000);
    const stolen = await stealBobsCommitment(channelId); // Bob holds 100,000 sat in it
    await waitFor('reestablished', async () => ((await channelOf(t.alice, channelId)).state === 'open' ? true : undefined));
    await pay(60_000, channelId, 160_000); // ...which this payment revokes (Bob's balance grows: he would not gain)
    await pay(20_000, channelId, 180_000);
    const before = { alice: await settledWalletSat(t.alice), bob: await settledWalletSat(t.bob) };
    await expectPunished(channelId, stolen, before, false);
  }, 300_000);

  it('Alice was down when Bob broadcast it: she punishes it at start, within the delay', async () => {
    const channelId = await openChannel(t.net, t.alice, t.bob, CAPACITY_SAT);
    await pay(150_000, channelId, 150_000);
    const stolen = await stealBobsCommitment(channelId);
    await waitFor('reestablished', async () => ((await channelOf(t.alice, channelId)).state === 'open' ? true : undefined));
    await pay(10_000, channelId, 160_000);
    const before = { alice: await settledWalletSat(t.alice), bob: await settledWalletSat(t.bob) };
    await expectPunished(channelId, stolen, before, true);
  }, 300_000);
});
