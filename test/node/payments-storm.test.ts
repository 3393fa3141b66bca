/**
 * SIGKILL storm: while Alice streams payments to Bob, either node is SIGKILLed at random
 * moments (at least 100 kills in one run) and started again on the same data directory.
 * After the storm both nodes reconnect and every payment resolves; then:
 *   - the channel is still open on both sides, never failed (no force close, no error),
 *   - no invoice was paid twice and no payment both failed and paid: the set of Bob's
 *     settled invoices is exactly the set of Alice's succeeded payments,
 *   - every payment is settled (preimage known to Alice, hashing to the hash) or failed,
 *   - both sides' balances add up to the msat: what moved is the sum of the succeeded payments.
 * Randomness comes from a seeded generator (CHAND_STORM_SEED replays a run).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { TestNetwork, waitFor, type TestNode } from '../support/test-network.js';
import { seededRandom } from '../support/seeded-random.js';
import { channelOf as channelOfId, openChannel, type Channel, type Invoice, type Payment } from './support/payments.js';

const KILLS = Number(process.env['CHAND_STORM_KILLS'] ?? 100);
const SEED = Number(process.env['CHAND_STORM_SEED'] ?? Date.now() % 1_000_000);
const AMOUNT_MSAT = 50_000n;
const STORM_DEADLINE_MS = 12 * 60_000;

let net: TestNetwork;
let alice: TestNode;
let bob: TestNode;
let channelId = '';

async function channelOf(node: TestNode): Promise<Channel> {
  return channelOfId(node, channelId);
}

async function listAll<T extends { add_index?: number; payment_index?: number }>(node: TestNode, method: string, key: string): Promise<T[]> {
  const out: T[] = [];
  let after = 0;
  for (let page = 0; page < 100; page++) {
    const rows = ((await node.call<Record<string, T[]>>(method, { after_index: after, limit: 1000 }))[key] ?? []) as T[];
    if (rows.length === 0) break;
    out.push(...rows);
    const last = rows[rows.length - 1]!;
    after = (last.add_index ?? last.payment_index)!;
  }
  return out;
}

beforeAll(async () => {
  net = await TestNetwork.start({ nodes: ['alice', 'bob'] });
  alice = net.node('alice');
  bob = net.node('bob');
  channelId = await openChannel(net, alice, bob, 1_000_000);
}, 180_000);

afterAll(async () => {
  await net?.stop();
});

describe(`SIGKILL storm during payments (seed ${SEED})`, () => {
  it(`survives ${KILLS} random SIGKILLs of either node with nothing lost or paid twice`, async () => {
    const random = seededRandom(SEED);
    const initial = await channelOf(alice);
    const startAlice = BigInt(initial.local_balance_msat);
    const startBob = BigInt(initial.remote_balance_msat);
    let kills = 0;
    let stop = false;
    const started = Date.now();
    const errors = new Map<string, number>();

    // The payment stream: Bob issues an invoice, Alice pays it without waiting; errors while a
    // node is down are expected and counted.
    const stream = (async () => {
      while (!stop) {
        try {
          const inv = await bob.call<Invoice>('new_invoice', { amount_msat: AMOUNT_MSAT.toString() });
          await alice.call('send_payment', { invoice: inv.invoice, no_wait: true });
        } catch (err) {
          const code = isChandError(err) ? err.code : 'OTHER';
          errors.set(code, (errors.get(code) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();

    // The killer: a random node at a random moment, restarted at once.
    while (kills < KILLS) {
      if (Date.now() - started > STORM_DEADLINE_MS) throw new Error(`storm too slow: ${kills} kills in ${STORM_DEADLINE_MS} ms`);
      await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 900)));
      const victim = random() < 0.5 ? alice : bob;
      await victim.kill('SIGKILL');
      kills++;
      await victim.start();
    }
    stop = true;
    await stream;

    // Calm: both up, connected, every payment resolved.
    await alice.connect(bob);
    const payments = await waitFor(
      'every payment resolved',
      async () => {
        const all = await listAll<Payment>(alice, 'list_payments', 'payments');
        return all.every((p) => p.status !== 'in_flight') ? all : undefined;
      },
      180_000,
      500,
    );
    const succeeded = payments.filter((p) => p.status === 'succeeded');
    expect(succeeded.length, `errors while nodes were down: ${JSON.stringify(Object.fromEntries(errors))}`).toBeGreaterThan(0);
    for (const p of succeeded) expect(createHash('sha256').update(Buffer.from(p.preimage!, 'hex')).digest('hex')).toBe(p.payment_hash);

    const invoices = await listAll<Invoice>(bob, 'list_invoices', 'invoices');
    const settled = new Set(invoices.filter((i) => i.state === 'settled').map((i) => i.payment_hash));
    expect([...settled].sort()).toEqual(succeeded.map((p) => p.payment_hash).sort());

    const moved = succeeded.reduce((sum, p) => sum + BigInt(p.amount_msat), 0n);
    const [a, b] = await Promise.all([
      waitFor('alice balance settles', async () => {
        const c = await channelOf(alice);
        return BigInt(c.local_balance_msat) === startAlice - moved ? c : undefined;
      }, 60_000),
      waitFor('bob balance settles', async () => {
        const c = await channelOf(bob);
        return BigInt(c.local_balance_msat) === startBob + moved ? c : undefined;
      }, 60_000),
    ]);
    for (const c of [a, b]) {
      expect(c.state).toBe('open');
      expect(c.pending_reason).toBeUndefined();
    }
    expect(BigInt(a.remote_balance_msat)).toBe(startBob + moved);
    expect(BigInt(b.remote_balance_msat)).toBe(startAlice - moved);
    console.log(`storm seed ${SEED}: ${kills} kills, ${payments.length} payments (${succeeded.length} succeeded), RPC errors ${JSON.stringify(Object.fromEntries(errors))}`);
  }, 20 * 60_000);
});
