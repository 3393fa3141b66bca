/**
 * The invoice and payment commands of `chand` (chand invoice new|get|cancel|list|parse, chand
 * pay, chand payment get|list) as a user runs them: real `chand` processes against an
 * RpcServer over the NodeApi test double, found through a real data directory. Checks what
 * reaches the node (params converted as the RPC expects: msat as decimal strings, keysend),
 * --json and human output, and one-line failures for bad arguments.
 */
import { describe, expect, it } from 'vitest';
import { INVOICE, PAYMENT, PEER_ID } from './support/fake-node.js';
import { chand, useFakeNodeServer } from './support/cli-runner.js';

const fake = useFakeNodeServer('chand-cli-pay-');
const lastCall = () => fake.lastCall();

describe('chand invoice, pay and payment commands', { timeout: 180_000 }, () => {
  it('invoice new sends the amount in msat and the options, and prints the invoice and its hash', async () => {
    const run = await chand(['invoice', 'new', '1000000', '--description', 'coffee', '--expiry-secs', '600', '--datadir', fake.server.datadir]);
    expect(run.status, run.stderr).toBe(0);
    expect(lastCall()).toEqual({ method: 'newInvoice', params: { amount_msat: 1_000_000n, description: 'coffee', expiry_secs: 600 } });
    expect(run.stdout).toBe(`${INVOICE.invoice}\npayment_hash: ${INVOICE.payment_hash}\n`);
    const json = await chand(['invoice', 'new', '--json', '--datadir', fake.server.datadir]);
    expect(JSON.parse(json.stdout)).toEqual(INVOICE);
    expect(lastCall()).toEqual({ method: 'newInvoice', params: {} });
  });

  it('invoice get, cancel, list and parse reach their methods', async () => {
    const hash = 'ab'.repeat(32);
    expect((await chand(['invoice', 'get', hash, '--datadir', fake.server.datadir])).stdout).toContain(`payment_hash: ${hash}`);
    expect(lastCall()).toEqual({ method: 'getInvoice', params: { payment_hash: hash } });
    expect((await chand(['invoice', 'cancel', hash, '--datadir', fake.server.datadir])).stdout).toContain('state: canceled');
    const list = await chand(['invoice', 'list', '--state', 'settled', '--after', '5', '--limit', '10', '--datadir', fake.server.datadir]);
    expect(list.status, list.stderr).toBe(0);
    expect(lastCall()).toEqual({ method: 'listInvoices', params: { state: 'settled', after_index: 5, limit: 10 } });
    expect(list.stdout.split('\n')[0]).toMatch(/^INDEX\s+PAYMENT_HASH\s+STATE\s+AMOUNT_MSAT\s+PAID_MSAT\s+DESCRIPTION$/);
    expect(list.stdout).toContain(INVOICE.payment_hash);
    const parsed = await chand(['invoice', 'parse', 'lnbcrt1xyz', '--json', '--datadir', fake.server.datadir]);
    expect(JSON.parse(parsed.stdout).payee).toBe(PEER_ID);
    expect(lastCall()).toEqual({ method: 'parseInvoice', params: { invoice: 'lnbcrt1xyz' } });
  });

  it('pay sends the invoice (with --amount-msat, --no-wait, --timeout-secs); pay --keysend sends target and amount', async () => {
    const run = await chand(['pay', 'lnbcrt1xyz', '--amount-msat', '5000', '--no-wait', '--timeout-secs', '30', '--datadir', fake.server.datadir]);
    expect(run.status, run.stderr).toBe(0);
    expect(lastCall()).toEqual({ method: 'sendPayment', params: { invoice: 'lnbcrt1xyz', amount_msat: 5000n, no_wait: true, timeout_secs: 30 } });
    expect(run.stdout).toContain(`payment_hash: ${PAYMENT.payment_hash}`);
    expect(run.stdout).toContain('attempts: 1');
    const keysend = await chand(['pay', '--keysend', PEER_ID, '7000', '--datadir', fake.server.datadir]);
    expect(keysend.status, keysend.stderr).toBe(0);
    expect(lastCall()).toEqual({ method: 'sendPayment', params: { keysend: true, target_pubkey: PEER_ID, amount_msat: 7000n } });
  });

  it('payment get and list reach their methods', async () => {
    const hash = 'cd'.repeat(32);
    const got = await chand(['payment', 'get', hash, '--json', '--datadir', fake.server.datadir]);
    expect(JSON.parse(got.stdout)).toEqual({ ...PAYMENT, payment_hash: hash });
    const list = await chand(['payment', 'list', '--limit', '3', '--datadir', fake.server.datadir]);
    expect(lastCall()).toEqual({ method: 'listPayments', params: { limit: 3 } });
    expect(list.stdout.split('\n')[0]).toMatch(/^INDEX\s+PAYMENT_HASH\s+STATUS\s+AMOUNT_MSAT\s+FEE_MSAT\s+DESTINATION\s+NOTE$/);
  });

  it('refuses bad arguments with one INVALID_INPUT line and exit 2, before calling the node', async () => {
    const before = fake.server.api.calls.length;
    const keysendNoAmount = await chand(['pay', '--keysend', PEER_ID, '--datadir', fake.server.datadir]);
    expect(keysendNoAmount.status).toBe(2);
    expect(keysendNoAmount.stderr).toMatch(/^chand: INVALID_INPUT: .*amount in msat.*\n$/);
    const badAmount = await chand(['invoice', 'new', '12.5', '--datadir', fake.server.datadir]);
    expect(badAmount.status).toBe(2);
    expect(badAmount.stderr).toMatch(/^chand: INVALID_INPUT: .*whole number of msat.*\n$/);
    expect(fake.server.api.calls.length).toBe(before);
  });
});
