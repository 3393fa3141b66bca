/**
 * Payments between two real node processes on 127.0.0.1 (devnet, SQLite): Alice opens a
 * channel to Bob, pays Bob 1,000 BOLT 11 invoices, Bob pays back with keysend; both sides'
 * balances match to the msat, every invoice is settled exactly once, and get_payment shows a
 * preimage that hashes to the payment hash. Then the RPC edge refuses bad payment input with
 * typed errors and changes nothing, and a restart keeps every record.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { TestNetwork, waitFor, type TestNode } from '../support/test-network.js';
import { channelOf as channelOfId, errorOf, openChannel, pool, type Channel, type Invoice, type Payment } from './support/payments.js';

let net: TestNetwork;
let alice: TestNode;
let bob: TestNode;
let channelId = '';

const CAPACITY_SAT = 1_000_000;
const INVOICES = 1_000;
const INVOICE_MSAT = 50_000n;
const KEYSENDS = 20;
const KEYSEND_MSAT = 7_000n;
/** Payments in flight at once while paying the invoices (the node batches them into rounds). */
const CONCURRENCY = 16;

async function channelOf(node: TestNode): Promise<Channel> {
  return channelOfId(node, channelId);
}

beforeAll(async () => {
  net = await TestNetwork.start({ nodes: ['alice', 'bob'] });
  alice = net.node('alice');
  bob = net.node('bob');
  channelId = await openChannel(net, alice, bob, CAPACITY_SAT);
}, 180_000);

afterAll(async () => {
  await net?.stop();
});

describe('payments between two node processes', () => {
  let initial: { alice: bigint; bob: bigint };

  it(`Alice pays Bob ${INVOICES} invoices; each is settled exactly once and proven by its preimage`, async () => {
    const a = await channelOf(alice);
    initial = { alice: BigInt(a.local_balance_msat), bob: BigInt(a.remote_balance_msat) };
    const hashes: string[] = [];
    await pool(INVOICES, CONCURRENCY, async (i) => {
      const inv = await bob.call<Invoice>('new_invoice', { amount_msat: INVOICE_MSAT.toString(), description: `invoice ${i}` });
      const paid = await alice.call<Payment>('send_payment', { invoice: inv.invoice, timeout_secs: 120 });
      expect(paid.status, paid.failure_reason).toBe('succeeded');
      expect(createHash('sha256').update(Buffer.from(paid.preimage!, 'hex')).digest('hex')).toBe(inv.payment_hash);
      hashes.push(inv.payment_hash);
    });
    expect(new Set(hashes).size).toBe(INVOICES);

    // Bob's invoices: all settled, each once (distinct settle indexes 1..N), with the amount.
    const settled: Invoice[] = [];
    let after = 0;
    for (;;) {
      const page = (await bob.call<{ invoices: Array<Invoice & { add_index: number }> }>('list_invoices', { after_index: after, limit: 400 })).invoices;
      if (page.length === 0) break;
      settled.push(...page);
      after = page[page.length - 1]!.add_index;
    }
    expect(settled).toHaveLength(INVOICES);
    expect(settled.every((i) => i.state === 'settled' && i.amount_paid_msat === INVOICE_MSAT.toString())).toBe(true);
    expect(new Set(settled.map((i) => i.settle_index)).size).toBe(INVOICES);
    expect(Math.min(...settled.map((i) => i.settle_index))).toBe(1);
    expect(Math.max(...settled.map((i) => i.settle_index))).toBe(INVOICES);

    // get_payment on Alice's side shows the same preimage Bob holds.
    const sample = settled[INVOICES - 1]!;
    const payment = await alice.call<Payment>('get_payment', { payment_hash: sample.payment_hash });
    expect(payment.status).toBe('succeeded');
    expect(payment.preimage).toBe(sample.preimage);

    const moved = INVOICE_MSAT * BigInt(INVOICES);
    const [ca, cb] = await Promise.all([waitFor('alice balance', async () => {
      const c = await channelOf(alice);
      return BigInt(c.remote_balance_msat) === initial.bob + moved ? c : undefined;
    }), waitFor('bob balance', async () => {
      const c = await channelOf(bob);
      return BigInt(c.local_balance_msat) === initial.bob + moved ? c : undefined;
    })]);
    expect(BigInt(ca.local_balance_msat)).toBe(initial.alice - moved);
    expect(BigInt(cb.remote_balance_msat)).toBe(initial.alice - moved);
  }, 600_000);

  it(`Bob pays Alice back ${KEYSENDS} times by keysend; balances match on both sides to the msat`, async () => {
    for (let i = 0; i < KEYSENDS; i++) {
      const paid = await bob.call<Payment>('send_payment', { keysend: true, target_pubkey: alice.nodeId, amount_msat: KEYSEND_MSAT.toString() });
      expect(paid.status, paid.failure_reason).toBe('succeeded');
      const received = await alice.call<Invoice>('get_invoice', { payment_hash: paid.payment_hash });
      expect(received).toMatchObject({ state: 'settled', keysend: true, amount_paid_msat: KEYSEND_MSAT.toString(), preimage: paid.preimage });
    }
    const moved = INVOICE_MSAT * BigInt(INVOICES) - KEYSEND_MSAT * BigInt(KEYSENDS);
    const ca = await waitFor('alice balance after keysends', async () => {
      const c = await channelOf(alice);
      return BigInt(c.local_balance_msat) === initial.alice - moved ? c : undefined;
    });
    const cb = await waitFor('bob balance after keysends', async () => {
      const c = await channelOf(bob);
      return BigInt(c.local_balance_msat) === initial.bob + moved ? c : undefined;
    });
    expect(BigInt(ca.remote_balance_msat)).toBe(initial.bob + moved);
    expect(BigInt(cb.remote_balance_msat)).toBe(initial.alice - moved);
  }, 120_000);

  it('refuses bad payment input with typed errors and changes nothing', async () => {
    const before = await channelOf(alice);
    expect(await errorOf(alice.call('send_payment', { invoice: 'lnbcrt1notaninvoice' }))).toMatchObject({ code: 'INVOICE_INVALID' });
    expect(await errorOf(alice.call('parse_invoice', { invoice: 'hello' }))).toMatchObject({ code: 'INVOICE_INVALID' });

    const expiring = await bob.call<Invoice>('new_invoice', { amount_msat: '5000', expiry_secs: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    expect(await errorOf(alice.call('send_payment', { invoice: expiring.invoice }))).toMatchObject({ code: 'INVOICE_EXPIRED' });

    const fixed = await bob.call<Invoice>('new_invoice', { amount_msat: '5000' });
    expect(await errorOf(alice.call('send_payment', { invoice: fixed.invoice, amount_msat: '6000' }))).toMatchObject({ code: 'INVOICE_AMOUNT_MISMATCH' });
    const anyAmount = await bob.call<Invoice>('new_invoice', {});
    expect(await errorOf(alice.call('send_payment', { invoice: anyAmount.invoice }))).toMatchObject({ code: 'INVOICE_AMOUNT_MISMATCH' });
    expect(await errorOf(alice.call('get_payment', { payment_hash: '00'.repeat(32) }))).toMatchObject({ code: 'PAYMENT_NOT_FOUND' });
    expect(await errorOf(bob.call('get_invoice', { payment_hash: '00'.repeat(32) }))).toMatchObject({ code: 'INVOICE_NOT_FOUND' });
    expect(await errorOf(alice.call('send_payment', { keysend: true, target_pubkey: alice.nodeId, amount_msat: '1000' }))).toMatchObject({ code: 'NO_ROUTE' });
    expect(await errorOf(alice.call('send_payment', { keysend: true, target_pubkey: bob.nodeId, amount_msat: String(CAPACITY_SAT * 1000) }))).toMatchObject({ code: 'NO_ROUTE' });
    expect(await errorOf(alice.call('send_payment', { target_pubkey: bob.nodeId, amount_msat: '1000' }))).toMatchObject({ code: 'INVALID_PARAMS' });

    // A paid invoice is never paid twice.
    const once = await bob.call<Invoice>('new_invoice', { amount_msat: '3000' });
    expect((await alice.call<Payment>('send_payment', { invoice: once.invoice })).status).toBe('succeeded');
    expect(await errorOf(alice.call('send_payment', { invoice: once.invoice }))).toMatchObject({ code: 'PAYMENT_ALREADY_SUCCEEDED' });

    // A canceled invoice is refused by the payee: the payment fails, the money stays.
    const canceled = await bob.call<Invoice>('new_invoice', { amount_msat: '4000' });
    expect((await bob.call<Invoice>('cancel_invoice', { payment_hash: canceled.payment_hash })).state).toBe('canceled');
    const failed = await errorOf(alice.call('send_payment', { invoice: canceled.invoice }));
    expect(failed.code).toBe('PAYMENT_FAILED');
    expect(failed.message).toMatch(/incorrect_or_unknown_payment_details/);
    expect((await alice.call<Payment>('get_payment', { payment_hash: canceled.payment_hash })).status).toBe('failed');

    const after = await waitFor('balances settle', async () => {
      const c = await channelOf(alice);
      return BigInt(c.local_balance_msat) === BigInt(before.local_balance_msat) - 3000n ? c : undefined;
    });
    expect(BigInt(after.remote_balance_msat)).toBe(BigInt(before.remote_balance_msat) + 3000n);
  }, 120_000);

  it('pays along a given route: a one-hop route to Bob settles; a two-hop route through Bob fails at Bob (he does not forward) and is attributed to him', async () => {
    const before = await channelOf(alice);
    const scid = ((await alice.channels()) as unknown as Array<{ channel_id: string; short_channel_id: string }>).find((c) => c.channel_id === channelId)!.short_channel_id;
    const inv = await bob.call<Invoice>('new_invoice', { amount_msat: '2000' });
    const direct = await alice.call<Payment>('send_payment', { invoice: inv.invoice, route: [{ pubkey: bob.nodeId, short_channel_id: scid }] });
    expect(direct.status).toBe('succeeded');
    expect(direct.fee_msat).toBe('0');

    // Carol exists only as a key: Bob, who does not forward, fails the HTLC at his hop with
    // unknown_next_peer, and Alice decrypts the failure onion and attributes it to hop 0.
    const carol = '02' + createHash('sha256').update('carol').digest('hex');
    const { secp256k1 } = await import('@noble/curves/secp256k1.js');
    const carolKey = Buffer.from(secp256k1.getPublicKey(Buffer.from(carol.slice(2), 'hex'), true)).toString('hex');
    const failed = await errorOf(
      alice.call('send_payment', {
        keysend: true,
        target_pubkey: carolKey,
        amount_msat: '5000',
        route: [
          { pubkey: bob.nodeId, short_channel_id: scid, fee_msat: '1000', cltv_expiry_delta: 40 },
          { pubkey: carolKey, short_channel_id: '1x2x3' },
        ],
      }),
    );
    expect(failed.code).toBe('PAYMENT_FAILED');
    expect(failed.message).toContain(`unknown_next_peer from hop 0 (${bob.nodeId})`);
    const after = await waitFor('balances after the route payments', async () => {
      const c = await channelOf(alice);
      return BigInt(c.local_balance_msat) === BigInt(before.local_balance_msat) - 2000n ? c : undefined;
    });
    expect(BigInt(after.remote_balance_msat)).toBe(BigInt(before.remote_balance_msat) + 2000n);
    expect(await errorOf(alice.call('send_payment', { keysend: true, target_pubkey: carolKey, amount_msat: '5000', route: [{ pubkey: bob.nodeId, short_channel_id: '9x9x9' }, { pubkey: carolKey, short_channel_id: '1x2x3' }] }))).toMatchObject({ code: 'NO_ROUTE' });
    expect(await errorOf(alice.call('send_payment', { keysend: true, target_pubkey: carolKey, amount_msat: '5000', route: [{ pubkey: bob.nodeId, short_channel_id: 'nope' }] }))).toMatchObject({ code: 'INVALID_PARAMS' });
  }, 120_000);

  it('keeps invoices, payments and balances across a restart of both nodes, and pays again after it', async () => {
    const [a0, b0] = [await channelOf(alice), await channelOf(bob)];
    await Promise.all([alice.restart(), bob.restart()]);
    await alice.connect(bob);
    for (const n of [alice, bob]) {
      await waitFor(`${n.name} channel reestablished`, async () => {
        const c = await channelOf(n);
        return c.state === 'open' ? true : undefined;
      });
    }
    expect((await channelOf(alice)).local_balance_msat).toBe(a0.local_balance_msat);
    expect((await channelOf(bob)).local_balance_msat).toBe(b0.local_balance_msat);
    const count = (await bob.call<{ invoices: Invoice[] }>('list_invoices', { state: 'settled', limit: 10_000 })).invoices.length;
    expect(count).toBe(INVOICES + 2);
    const keysends = (await alice.call<{ invoices: Invoice[] }>('list_invoices', { state: 'settled', limit: 10_000 })).invoices;
    expect(keysends.filter((i) => i.keysend)).toHaveLength(KEYSENDS);
    const inv = await bob.call<Invoice>('new_invoice', { amount_msat: '1234' });
    const paid = await waitFor('a payment after the restart', async () => {
      try {
        return await alice.call<Payment>('send_payment', { invoice: inv.invoice });
      } catch (err) {
        if (isChandError(err) && err.code === 'CHANNEL_NOT_ACTIVE') return undefined;
        throw err;
      }
    });
    expect(paid.status).toBe('succeeded');
  }, 180_000);
});
