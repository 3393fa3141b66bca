/**
 * End to end, with real processes on 127.0.0.1: devnet and two `chand node start` processes.
 * Alice funds her wallet from the devnet faucet, connects to Bob, opens a 1,000,000 sat
 * channel, the chain confirms it, and both list it open with the same capacity and mirrored
 * balances; every sat of Alice's is accounted for (wallet + channel + the fee the chain
 * reports). Then the RPC edge is probed with bad requests against the real node, and Alice is
 * stopped with SIGTERM (Ctrl-C) and started again: same node id, same channel, reestablished.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRpcEndpoint } from '../../src/rpc/endpoint-files.js';
import { TestNetwork, waitFor, type TestNode } from '../support/test-network.js';

let net: TestNetwork;
let alice: TestNode;
let bob: TestNode;

beforeAll(async () => {
  net = await TestNetwork.start({ nodes: ['alice', 'bob'] });
  alice = net.node('alice');
  bob = net.node('bob');
}, 120_000);

afterAll(async () => {
  await net?.stop();
});

describe('wallet-funded channel open between two node processes', () => {
  const FUNDED = 5_000_000;
  const CAPACITY = 1_000_000;
  let channelId = '';
  let fundingTxid = '';

  it('opens a 1,000,000 sat channel that both sides list as open', async () => {
    await net.fund(alice, FUNDED);
    await alice.connect(bob);
    const opened = await alice.call<{ channel_id: string; funding_txid: string; temporary_channel_id: string }>('open_channel', {
      peer_id: bob.nodeId,
      funding_amount_sat: CAPACITY,
    });
    channelId = opened.channel_id;
    fundingTxid = opened.funding_txid;
    expect(opened.temporary_channel_id).not.toBe(opened.channel_id);
    const pending = (await alice.channels()).find((c) => c.channel_id === channelId);
    expect(pending?.state).toBe('pending_open');
    await waitFor('bob stores the pending channel', async () => ((await bob.channels()).some((c) => c.channel_id === channelId) ? true : undefined));

    await net.devnet.mine(1);
    const [a, b] = await Promise.all(
      [alice, bob].map((n) => waitFor(`${n.name} lists the channel open`, async () => (await n.channels()).find((c) => c.channel_id === channelId && c.state === 'open'))),
    );
    expect(a!.capacity_sat).toBe(CAPACITY);
    expect(b!.capacity_sat).toBe(CAPACITY);
    expect(a!.local_balance_msat).toBe(String(CAPACITY * 1000));
    expect(a!.remote_balance_msat).toBe('0');
    expect(b!.local_balance_msat).toBe('0');
    expect(b!.remote_balance_msat).toBe(String(CAPACITY * 1000));
    expect(a!.is_initiator).toBe(true);
    expect(b!.is_initiator).toBe(false);
    expect(a!.funding_txid).toBe(fundingTxid);
    expect(b!.short_channel_id).toBe(a!.short_channel_id);
    expect(a!.peer_id).toBe(bob.nodeId);
    expect(b!.peer_id).toBe(alice.nodeId);
  });

  it('accounts for every sat: wallet + channel + funding fee = what the faucet paid', async () => {
    const tx = await net.devnet.getTransaction(fundingTxid);
    expect(tx?.status.confirmed).toBe(true);
    const fee = Number(tx!.fee);
    expect(fee).toBeGreaterThan(0);
    const balance = await waitFor('alice change confirmed', async () => {
      const b = await alice.call<{ confirmed_sat: number; unconfirmed_sat: number; reserved_sat: number }>('wallet_balance');
      return b.unconfirmed_sat === 0 ? b : undefined;
    });
    expect(balance.reserved_sat).toBe(0);
    expect(balance.confirmed_sat + CAPACITY + fee).toBe(FUNDED);
    const bobWallet = await bob.call<{ confirmed_sat: number; unconfirmed_sat: number }>('wallet_balance');
    expect(bobWallet.confirmed_sat + bobWallet.unconfirmed_sat).toBe(0);
  });

  it('never selects a coin twice: two concurrent opens fund from different coins and both confirm', async () => {
    // Two more coins; the largest coin (the change of the first open) can fund only one open.
    for (let i = 0; i < 2; i++) {
      const { address } = await alice.call<{ address: string }>('new_address');
      await net.devnet.faucet(address, 1_500_000n);
    }
    await net.devnet.mine(1);
    await waitFor('alice sees the two new coins', async () => ((await alice.call<{ confirmed_sat: number }>('wallet_balance')).confirmed_sat > 6_000_000 ? true : undefined));
    const first = await Promise.all([
      alice.call<{ channel_id: string; funding_txid: string }>('open_channel', { peer_id: bob.nodeId, funding_amount_sat: 300_000 }),
      alice.call<{ channel_id: string; funding_txid: string }>('open_channel', { peer_id: bob.nodeId, funding_amount_sat: 400_000 }),
    ]);
    const [t1, t2] = await Promise.all(first.map((r) => net.devnet.getTransaction(r.funding_txid)));
    const spent = (t: typeof t1): string[] => t!.inputs.map((i) => `${i.txid}:${i.index}`);
    expect(spent(t1).filter((o) => spent(t2).includes(o))).toEqual([]);
    await net.devnet.mine(1);
    for (const r of first) {
      await waitFor('both concurrent channels open on both sides', async () => {
        const lists = [await alice.channels(), await bob.channels()];
        return lists.every((l) => l.some((c) => c.channel_id === r.channel_id && c.state === 'open')) ? true : undefined;
      });
    }
    // Two more channels: the 1,000,000 one and these; the wallet paid capacity + fees exactly.
    const fees = (await Promise.all([fundingTxid, ...first.map((r) => r.funding_txid)].map((t) => net.devnet.getTransaction(t)))).reduce((sum, t) => sum + Number(t!.fee), 0);
    const balance = await waitFor('alice wallet settled', async () => {
      const b = await alice.call<{ confirmed_sat: number; unconfirmed_sat: number; reserved_sat: number }>('wallet_balance');
      return b.unconfirmed_sat === 0 && b.reserved_sat === 0 ? b : undefined;
    });
    expect(balance.confirmed_sat + CAPACITY + 300_000 + 400_000 + fees).toBe(FUNDED + 3_000_000);
  });

  it('answers bad RPC requests with JSON-RPC errors and keeps serving', async () => {
    const url = alice.rpc;
    await expect(url.call('open_channel', { peer_id: bob.nodeId, funding_amount_sat: 'lots' })).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(url.call('open_channel', { peer_id: 'xyz', funding_amount_sat: 100_000 })).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(url.call('no_such_method', {})).rejects.toMatchObject({ code: 'RPC_METHOD_NOT_FOUND' });
    await expect(url.call('open_channel', { peer_id: '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798', funding_amount_sat: 100_000 })).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' });
    await expect(url.call('open_channel', { peer_id: bob.nodeId, funding_amount_sat: 1_000_000_000 })).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    const endpoint = await readRpcEndpoint(alice.datadir);
    const res = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-wrong-token' }, body: '{"jsonrpc":"2.0","id":1,"method":"node_info"}' });
    expect(res.status).toBe(401);
    const info = await alice.call<{ node_id: string; open_channels: number }>('node_info');
    expect(info.open_channels).toBe(3);
  });

  it('stops on SIGTERM and starts again with the same node id and channel, reestablished', async () => {
    const nodeId = alice.nodeId;
    await alice.kill('SIGTERM');
    const exit = await alice.exited!;
    expect(exit.code).toBe(0);
    await alice.start();
    expect(alice.nodeId).toBe(nodeId);
    const ch = await waitFor('alice lists the channel open after restart', async () => (await alice.channels()).find((c) => c.channel_id === channelId && c.state === 'open' && c.peer_online === true));
    expect(ch.capacity_sat).toBe(CAPACITY);
    await waitFor('bob reestablished the channel', () => (bob.output.includes('"msg":"channel reestablished"') ? true : undefined));
    expect(alice.output).not.toMatch(/"level":"error"/);
  });
});
