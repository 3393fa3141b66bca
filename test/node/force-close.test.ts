/**
 * Force closes between two real node processes (devnet, SQLite), every transaction validated by
 * devnet's script interpreter and checked for standardness:
 * - Alice force closes (no HTLCs): her commitment is stored before the broadcast (a SIGKILL
 *   right after storing it: the restart rebroadcasts it), Bob sweeps his to_remote at once,
 *   Alice sweeps her to_local only after her to_self_delay; SIGKILLs between the steps lose
 *   nothing and double-spend nothing; both wallets end with their balances to the sat minus the
 *   fees actually paid; the channel is fully closed and purged; Bob's link node stays while a
 *   second channel with him is open and goes when that one closes too.
 */
import { describe, expect, it } from 'vitest';
import { openChannelDb } from '../../src/channeldb/open.js';
import { ErrorCode, isChandError } from '../../src/errors.js';
import { waitFor } from '../support/test-network.js';
import { chainTx, closedChannel, expectStandard, listedChannel, mineUntil, settledWalletSat, twoNodes } from './support/closing.js';
import { channelOf, openChannel, type Invoice, type Payment } from './support/payments.js';


const CAPACITY_SAT = 500_000;
const PAY_SAT = 70_000;

const t = twoNodes(['--close-depth', '2']);

/** What Alice's stopped database says about Bob's link node and her channels. */
async function aliceStore(): Promise<{ linkNode: boolean; openChannels: number; closedChannels: number; closedAwaitingPurge: number }> {
  await t.alice.kill();
  const db = await openChannelDb({ backend: 'sqlite', path: t.alice.datadir });
  try {
    const err = await db.linkNodes.fetchLinkNode(t.bob.nodeId).then(() => undefined, (e: unknown) => e);
    if (err !== undefined && !isChandError(err, ErrorCode.LINK_NODE_NOT_FOUND)) throw err;
    const counts = await db.channelState.counts();
    return { linkNode: err === undefined, openChannels: counts.openChannels, closedChannels: counts.closedChannels, closedAwaitingPurge: counts.closedAwaitingPurge };
  } finally {
    await db.close();
  }
}

describe('force close', () => {
  it('Alice broadcasts her commitment; Bob is paid at once, Alice after her delay; restarts at each step lose nothing', async () => {
    // A second channel with the same peer keeps its link node until it closes too.
    const otherId = await openChannel(t.net, t.alice, t.bob, 100_000);
    const channelId = await openChannel(t.net, t.alice, t.bob, CAPACITY_SAT);
    const inv = await t.bob.call<Invoice>('new_invoice', { amount_msat: String(PAY_SAT * 1000), description: 'before the force close' });
    expect((await t.alice.call<Payment>('send_payment', { invoice: inv.invoice, timeout_secs: 60 })).status).toBe('succeeded');
    await waitFor('balances settle', async () => ((await channelOf(t.alice, channelId)).remote_balance_msat === String(PAY_SAT * 1000) ? true : undefined));
    const c = await channelOf(t.alice, channelId);
    const aliceMsat = BigInt(c.local_balance_msat);
    const bobMsat = BigInt(c.remote_balance_msat);
    const before = { alice: await settledWalletSat(t.alice), bob: await settledWalletSat(t.bob) };

    // Alice dies right after storing her commitment, before broadcasting it.
    await t.alice.restart({ env: { CHAND_TEST_CRASH_AT: 'after-store:commitment-broadcast' } });
    await t.alice.call('shutdown_channel', { channel_id: channelId, force: true }).catch(() => undefined);
    await waitFor('Alice crashed at the point', async () => (t.alice.pid === undefined ? true : undefined));
    expect((await t.net.devnet.getOutspend(c.funding_txid, c.funding_output_index)).spent).toBe(false);
    await t.alice.start();
    const spend = await waitFor('the stored commitment is rebroadcast at start', async () => {
      const s = await t.net.devnet.getOutspend(c.funding_txid, c.funding_output_index);
      return s.spent ? s : undefined;
    });
    const commitment = await chainTx(t.net, spend.txid);
    expectStandard(commitment, 'commitment transaction');
    expect((await listedChannel(t.alice, channelId))?.state).toBe('closing');

    // The commitment pays Bob his balance and Alice hers minus the commitment fee (she funded).
    const values = commitment.outputs.map((o) => o.value);
    const toRemote = bobMsat / 1000n;
    const toLocal = aliceMsat / 1000n - commitment.fee;
    expect(values.sort((a, b) => (a < b ? -1 : 1))).toEqual([toRemote, toLocal].sort((a, b) => (a < b ? -1 : 1)));
    const toLocalIndex = commitment.outputs.findIndex((o) => o.value === toLocal);
    const toRemoteIndex = commitment.outputs.findIndex((o) => o.value === toRemote);

    // Bob (remote side) sweeps to_remote as soon as the commitment confirms; SIGKILLed once meanwhile.
    await t.net.devnet.mine(1);
    await t.bob.restart();
    const bobSweep = await mineUntil(t.net, 'Bob sweeps his to_remote', async () => {
      const s = await t.net.devnet.getOutspend(spend.txid, toRemoteIndex);
      return s.spent ? s : undefined;
    }, 3);
    const bobSweepTx = await chainTx(t.net, bobSweep.txid);
    expectStandard(bobSweepTx, "Bob's to_remote sweep");

    // Alice waits for her to_self_delay: list_channels says what for, and nothing is swept early.
    const pending = await waitFor('Alice lists the to_local waiting for its CSV delay', async () => {
      const l = await listedChannel(t.alice, channelId);
      return l?.closing?.pending_outputs?.find((p) => p.kind === 'to_local' && p.waiting_for === 'csv');
    });
    expect(pending.blocks_left! > 100).toBe(true);
    await t.net.devnet.mine(pending.blocks_left! - 2);
    await t.alice.restart(); // a restart just before the delay ends
    await new Promise((r) => setTimeout(r, 1500));
    expect((await t.net.devnet.getOutspend(spend.txid, toLocalIndex)).spent).toBe(false);
    const aliceSweep = await mineUntil(t.net, 'Alice sweeps her to_local after the delay', async () => {
      const s = await t.net.devnet.getOutspend(spend.txid, toLocalIndex);
      return s.spent ? s : undefined;
    }, 6);
    await t.alice.restart(); // between the sweep's broadcast and its confirmation: no second sweep
    const aliceSweepTx = await chainTx(t.net, aliceSweep.txid);
    expectStandard(aliceSweepTx, "Alice's to_local sweep");
    expect(aliceSweepTx.inputs[0]!.sequence).toBe(144);

    const closed = await mineUntil(t.net, 'both record the close', async () => {
      const [a, b] = await Promise.all([closedChannel(t.alice, channelId), closedChannel(t.bob, channelId)]);
      return a !== undefined && b !== undefined ? { a, b } : undefined;
    }, 6);
    expect(closed.a.close_type).toBe('force closed by us');
    expect(closed.b.close_type).toBe('force closed by the peer');
    expect(await t.net.devnet.getOutspend(spend.txid, toLocalIndex)).toMatchObject({ spent: true, txid: aliceSweep.txid });

    const aliceGets = toLocal - aliceSweepTx.fee;
    const bobGets = toRemote - bobSweepTx.fee;
    expect(await settledWalletSat(t.alice, before.alice + aliceGets)).toBe(before.alice + aliceGets);
    expect(await settledWalletSat(t.bob, before.bob + bobGets)).toBe(before.bob + bobGets);

    // The peer still has the other channel: its link node stays; the closed channel's bulk data
    // is purged (read from Alice's database with the node stopped).
    await new Promise((r) => setTimeout(r, 1500)); // a tick after the close runs the purge
    expect(await aliceStore()).toEqual({ linkNode: true, openChannels: 1, closedChannels: 1, closedAwaitingPurge: 0 });
    await t.alice.start();

    // Closing the other channel too removes the link node.
    await t.alice.connect(t.bob);
    await waitFor('the other channel is reestablished', async () => ((await channelOf(t.alice, otherId)).peer_online ? true : undefined));
    await t.alice.call('shutdown_channel', { channel_id: otherId });
    await mineUntil(t.net, 'the other channel closes', () => closedChannel(t.alice, otherId), 6);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await aliceStore()).toEqual({ linkNode: false, openChannels: 0, closedChannels: 2, closedAwaitingPurge: 0 });
    await t.alice.start();
  }, 420_000);
});
