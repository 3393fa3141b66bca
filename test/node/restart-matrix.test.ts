/**
 * The restart matrix of a wallet-funded open, with real processes (devnet + two nodes) and
 * SIGKILL at exact protocol steps. A node started with CHAND_TEST_CRASH_AT=<point> SIGKILLs
 * itself at that point (src/node/node.ts), e.g. right after handing `funding_created` to the
 * kernel; the test then starts it again on the same data directory.
 *
 * In every case the open either reaches `open` on both sides after restart and reconnect, or
 * (kills before the funder holds `funding_signed`) leaves no pending channel on either side,
 * and a new open then works. After each case Alice's funds add up to the sat: wallet coins +
 * capacity of the channels she funded + the fees the chain reports for their funding
 * transactions = what the faucet paid her; Bob, who funded nothing, holds nothing on chain.
 *
 * The cases share one network and run in order; each starts from a settled state (every
 * channel open, nothing unconfirmed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestNetwork, waitFor, type TestNode } from '../support/test-network.js';

type Channel = Awaited<ReturnType<TestNode['channels']>>[number];

let net: TestNetwork;
let alice: TestNode;
let bob: TestNode;
const FUNDED = 20_000_000;
const CAPACITY = 1_000_000;

beforeAll(async () => {
  net = await TestNetwork.start({ nodes: ['alice', 'bob'] });
  alice = net.node('alice');
  bob = net.node('bob');
  await net.fund(alice, FUNDED);
  await alice.connect(bob);
}, 120_000);

afterAll(async () => {
  await net?.stop();
});

async function settled(node: TestNode): Promise<Channel[]> {
  return waitFor(`${node.name}: every channel open`, async () => {
    const list = await node.channels();
    return list.every((c) => c.state === 'open') ? list : undefined;
  }, 45_000);
}

/** Both sides list exactly the same set of channels, all open. */
async function bothSettled(): Promise<Channel[]> {
  return waitFor('both sides settled on the same channels', async () => {
    const [a, b] = [await settled(alice), await settled(bob)];
    const ids = (l: Channel[]): string => l.map((c) => c.channel_id).sort().join(',');
    return ids(a) === ids(b) ? a : undefined;
  }, 60_000);
}

async function expectFundsConserved(): Promise<void> {
  const channels = await bothSettled();
  let fees = 0;
  let capacity = 0;
  for (const c of channels) {
    const tx = await net.devnet.getTransaction(c.funding_txid as string);
    expect(tx?.status.confirmed, `funding ${c.funding_txid} confirmed`).toBe(true);
    fees += Number(tx!.fee);
    capacity += c.capacity_sat as number;
  }
  const wallet = await waitFor('alice wallet settled', async () => {
    const b = await alice.call<{ confirmed_sat: number; unconfirmed_sat: number; reserved_sat: number }>('wallet_balance');
    return b.unconfirmed_sat === 0 && b.reserved_sat === 0 ? b : undefined;
  });
  expect(wallet.confirmed_sat + capacity + fees).toBe(FUNDED);
  const bobWallet = await bob.call<{ confirmed_sat: number; unconfirmed_sat: number }>('wallet_balance');
  expect(bobWallet.confirmed_sat + bobWallet.unconfirmed_sat).toBe(0);
  for (const c of await bob.channels()) expect(c.local_balance_msat).toBe('0');
}

async function reconnect(): Promise<void> {
  await alice.connect(bob);
}

/** A fresh open that confirms and reaches open on both sides. */
async function openAndConfirm(): Promise<string> {
  const r = await alice.call<{ channel_id: string }>('open_channel', { peer_id: bob.nodeId, funding_amount_sat: CAPACITY });
  await net.devnet.mine(1);
  await waitFor('the new channel open on both sides', async () => {
    const [a, b] = [await alice.channels(), await bob.channels()];
    const open = (l: Channel[]): boolean => l.some((c) => c.channel_id === r.channel_id && c.state === 'open');
    return open(a) && open(b) ? true : undefined;
  }, 45_000);
  return r.channel_id;
}

async function crashDuringOpen(node: TestNode, point: string): Promise<{ result?: { channel_id: string }; error?: unknown }> {
  await node.restart({ env: { CHAND_TEST_CRASH_AT: point } });
  await reconnect();
  const outcome = await alice
    .call<{ channel_id: string }>('open_channel', { peer_id: bob.nodeId, funding_amount_sat: CAPACITY })
    .then((result) => ({ result }), (error: unknown) => ({ error }));
  const exit = await node.exited!;
  expect(exit.signal, `${node.name} died at ${point}`).toBe('SIGKILL');
  await node.start();
  await reconnect();
  return outcome;
}

describe('restart matrix of a wallet-funded open (SIGKILL at each step)', () => {
  it('Alice killed after sending open_channel: nothing pending on either side, a new open works', async () => {
    const { error } = await crashDuringOpen(alice, 'after-send:open_channel');
    expect(error).toBeDefined();
    await bothSettled();
    expect((await bob.channels()).filter((c) => c.state === 'negotiating')).toEqual([]);
    await openAndConfirm();
    await expectFundsConserved();
  });

  it('Alice killed after funding_created: Bob forgets the unfunded channel, a new open works', async () => {
    const before = (await bob.channels()).length;
    const { error } = await crashDuringOpen(alice, 'after-send:funding_created');
    expect(error).toBeDefined();
    // Bob stored the channel before funding_signed; Alice never did, and answers Bob's reestablish with error.
    await waitFor('bob forgets the unfunded channel', async () => ((await bob.channels()).length === before ? true : undefined), 45_000);
    expect(bob.output).toContain('"msg":"pending channel stored"');
    expect(bob.output).toContain('"msg":"forgot an unfunded channel"');
    await bothSettled();
    await openAndConfirm();
    await expectFundsConserved();
  });

  it('Alice killed after storing the pending channel, before broadcast: the restart broadcasts it and it opens', async () => {
    const { error } = await crashDuringOpen(alice, 'after-store:pending-channel');
    expect(error).toBeDefined();
    const pending = await waitFor('alice lists the stored pending channel', async () => (await alice.channels()).find((c) => c.state === 'pending_open'));
    await waitFor('the funding transaction reached the mempool', async () => ((await net.devnet.getTxStatus(pending.funding_txid as string)) !== undefined ? true : undefined));
    await net.devnet.mine(1);
    await bothSettled();
    await expectFundsConserved();
  });

  it('Alice killed after broadcasting the funding transaction: the channel opens after restart', async () => {
    const { error } = await crashDuringOpen(alice, 'after-broadcast:funding');
    expect(error).toBeDefined();
    const pending = await waitFor('alice lists the pending channel', async () => (await alice.channels()).find((c) => c.state === 'pending_open'));
    expect(await net.devnet.getTxStatus(pending.funding_txid as string)).toBeDefined();
    await net.devnet.mine(1);
    await bothSettled();
    await expectFundsConserved();
  });

  it('Bob killed after sending accept_channel: the open fails cleanly, coins are released, a new open works', async () => {
    const { error } = await crashDuringOpen(bob, 'after-send:accept_channel');
    expect(error).toMatchObject({ code: 'CHANNEL_OPEN_FAILED' });
    await bothSettled();
    const wallet = await alice.call<{ reserved_sat: number }>('wallet_balance');
    expect(wallet.reserved_sat).toBe(0);
    await openAndConfirm();
    await expectFundsConserved();
  });

  it('Bob killed after sending funding_signed: the channel opens on both sides (or, if Alice never got it, on neither)', async () => {
    const { result } = await crashDuringOpen(bob, 'after-send:funding_signed');
    await net.devnet.mine(1);
    const channels = await bothSettled();
    if (result !== undefined) expect(channels.map((c) => c.channel_id)).toContain(result.channel_id);
    await expectFundsConserved();
  });

  it('Bob killed while the funding confirms: the channel opens after his restart', async () => {
    const r = await alice.call<{ channel_id: string }>('open_channel', { peer_id: bob.nodeId, funding_amount_sat: CAPACITY });
    await waitFor('bob stored the channel', async () => ((await bob.channels()).some((c) => c.channel_id === r.channel_id) ? true : undefined));
    await bob.kill('SIGKILL');
    await net.devnet.mine(1);
    await waitFor('alice saw the confirmation', async () => {
      const c = (await alice.channels()).find((x) => x.channel_id === r.channel_id);
      return c !== undefined && c.state !== 'pending_open' ? true : undefined;
    });
    await bob.start();
    await reconnect();
    const channels = await bothSettled();
    expect(channels.map((c) => c.channel_id)).toContain(r.channel_id);
    await expectFundsConserved();
  });

  it('Bob forgets a channel whose funder vanished once 2016 blocks pass without its funding (BOLT 2)', async () => {
    const before = (await bob.channels()).length;
    await alice.restart({ env: { CHAND_TEST_CRASH_AT: 'after-send:funding_created' } });
    await reconnect();
    await alice.call('open_channel', { peer_id: bob.nodeId, funding_amount_sat: CAPACITY }).catch(() => undefined);
    expect((await alice.exited!).signal).toBe('SIGKILL');
    // Alice stays down, so no error tells Bob; only the chain's clock does.
    await waitFor('bob stored the unfunded channel', async () => ((await bob.channels()).length === before + 1 ? true : undefined));
    await net.devnet.mine(1000);
    await net.devnet.mine(1000);
    expect((await bob.channels()).length).toBe(before + 1);
    await net.devnet.mine(16);
    await waitFor('bob forgets it', async () => ((await bob.channels()).length === before ? true : undefined), 30_000);
    expect(bob.output).toContain('did not appear within 2016 blocks');
    await alice.start();
    await reconnect();
    await expectFundsConserved();
  });
});
