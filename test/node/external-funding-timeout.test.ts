/**
 * Deadlines and aborts of externally funded opens, with real processes (devnet, Alice,
 * Bob; SIGKILL restarts): the deadline is an absolute time that survives restarts — a node
 * killed before it and started after aborts at start, one started before aborts at the
 * deadline; a timer never aborts a submitted flow (Fiber's bug, fiber-external-funding.md
 * §1.4); a submit after the deadline is refused and nothing is broadcast; the peer's `error`
 * ends an unsigned flow; every terminal path clears the stored flow state; and an aborted
 * open whose funding confirms anyway is recovered: Alice closes with her commitment and
 * sweeps to_local to her wallet after to_self_delay, every sat accounted for.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { base64 } from '@scure/base';
import { Transaction } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wallet } from '../../src/chain/wallet.js';
import { openChannelDb, SQLITE_FILE } from '../../src/channeldb/open.js';
import { TestNetwork, waitFor, type TestNode } from '../support/test-network.js';

interface Opened {
  channel_id: string;
  funding_txid: string;
  psbt: string;
  expires_at_ms: number;
}

let net: TestNetwork;
let alice: TestNode;
let bob: TestNode;
let signer: Wallet;
const CAPACITY = 400_000;
/** The channel that opened in the submitted-flow test (Alice holds all of it). */
let openedFunding: { txid: string; index: number } | undefined;
const TIMEOUT_SECS = 10;

beforeAll(async () => {
  net = await TestNetwork.start({ nodes: ['alice', 'bob'] });
  alice = net.node('alice');
  bob = net.node('bob');
  signer = await net.externalSigner(8, 1_000_000n);
  await alice.connect(bob);
}, 120_000);

afterAll(async () => {
  await net?.stop();
});

const used = new Set<string>();
async function openExternal(): Promise<Opened> {
  const coin = (await signer.listUtxos()).find((u) => u.status.confirmed && u.value === 1_000_000n && !used.has(`${u.txid}:${u.index}`))!;
  used.add(`${coin.txid}:${coin.index}`);
  return alice.call<Opened>('open_channel_with_external_funding', {
    peer_id: bob.nodeId,
    funding_amount_sat: CAPACITY,
    funding_source: { utxos: [{ txid: coin.txid, vout: coin.index }] },
    change_address: signer.address(0),
    fee_rate_sat_per_vb: 2,
    timeout_secs: TIMEOUT_SECS,
  });
}

function signedTx(psbt: string): Uint8Array {
  const tx = Transaction.fromPSBT(signer.signPsbt(base64.decode(psbt)).psbt);
  tx.finalize();
  return tx.extract();
}

async function state(channelId: string): Promise<{ state: string; reason?: string }> {
  return alice.call('get_external_funding', { channel_id: channelId });
}

async function sleepUntil(ms: number): Promise<void> {
  const wait = ms - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

/** The flow's state is gone from Alice's store, and Bob forgot the channel. */
async function expectCleared(channelId: string): Promise<void> {
  await waitFor('bob forgets the aborted channel', async () => ((await bob.channels()).some((c) => c.channel_id === channelId) ? undefined : true), 45_000);
  const closed = (await alice.call<{ channels: Array<{ channel_id: string; state: string; pending_reason?: string }> }>('list_channels', { include_closed: true })).channels.find((c) => c.channel_id === channelId);
  expect(closed).toMatchObject({ state: 'closed', pending_reason: 'funding canceled' });
  expect((await alice.channels()).some((c) => c.channel_id === channelId)).toBe(false);
}

async function storedFlows(node: TestNode): Promise<number> {
  await node.kill('SIGTERM');
  const db = await openChannelDb({ backend: 'sqlite', path: node.datadir });
  try {
    return (await db.channelState.fetchAllExternalFundings()).length;
  } finally {
    await db.close();
    await node.start();
    await alice.connect(bob);
  }
}

describe('external funding deadlines across restarts', () => {
  it('a node killed before its deadline and started after it aborts at start', async () => {
    const opened = await openExternal();
    await alice.kill('SIGKILL');
    await sleepUntil(opened.expires_at_ms + 500);
    await alice.start();
    await waitFor('aborted at start', async () => ((await state(opened.channel_id)).state === 'aborted' ? true : undefined), 15_000);
    await alice.connect(bob);
    await expectCleared(opened.channel_id);
    await expect(alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: base64.encode(signer.signPsbt(base64.decode(opened.psbt)).psbt) })).rejects.toMatchObject({ code: 'EXTERNAL_FUNDING_EXPIRED' });
    expect(await net.devnet.getTxStatus(opened.funding_txid)).toBeUndefined();
    expect(await storedFlows(alice)).toBe(0);
  });

  it('a node started again before its deadline aborts at the deadline, not before', async () => {
    const opened = await openExternal();
    await alice.restart();
    expect((await state(opened.channel_id)).state).toBe('awaiting_signature');
    expect(Date.now()).toBeLessThan(opened.expires_at_ms);
    await alice.connect(bob);
    await waitFor('aborted at the deadline', async () => ((await state(opened.channel_id)).state === 'aborted' ? true : undefined), 30_000);
    expect(Date.now()).toBeGreaterThanOrEqual(opened.expires_at_ms);
    await expectCleared(opened.channel_id);
  });

  it('a timer never aborts a submitted flow, before or after a restart past the deadline', async () => {
    const opened = await openExternal();
    await alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, tx: Buffer.from(signedTx(opened.psbt)).toString('hex') });
    await sleepUntil(opened.expires_at_ms + 1_000);
    expect(['submitted', 'broadcast']).toContain((await state(opened.channel_id)).state);
    await alice.restart();
    await sleepUntil(Date.now() + 1_500);
    expect(['submitted', 'broadcast']).toContain((await state(opened.channel_id)).state);
    await alice.connect(bob);
    await net.devnet.mine(1);
    await waitFor('the submitted channel opens on both sides', async () => {
      const lists = [await alice.channels(), await bob.channels()];
      return lists.every((l) => l.some((c) => c.channel_id === opened.channel_id && c.state === 'open')) ? true : undefined;
    }, 45_000);
    expect((await state(opened.channel_id)).state).toBe('open');
    const listed = (await alice.channels()).find((c) => c.channel_id === opened.channel_id) as unknown as { funding_output_index: number };
    openedFunding = { txid: opened.funding_txid, index: listed.funding_output_index };
  });

  it("the peer's error ends an unsigned flow and clears it", async () => {
    const opened = await openExternal();
    // Bob loses his channel database: he answers Alice's reestablish with an error.
    await bob.kill('SIGKILL');
    for (const f of [SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`]) await rm(path.join(bob.datadir, f), { force: true });
    await bob.start();
    await alice.connect(bob);
    await waitFor('alice aborts on the peer error', async () => ((await state(opened.channel_id)).state === 'aborted' ? true : undefined), 30_000);
    expect(alice.output).toContain('external funding aborted by the peer');
    expect((await alice.channels()).some((c) => c.channel_id === opened.channel_id)).toBe(false);
    expect(await storedFlows(alice)).toBe(0);
    // Bob's error also covers the channel that opened above (he lost it): BOLT 1 fails it, so
    // Alice broadcasts her commitment of it.
    if (openedFunding !== undefined) {
      const funding = openedFunding;
      await waitFor('alice force closes the open channel Bob lost', async () => ((await net.devnet.getOutspend(funding.txid, funding.index)).spent ? true : undefined), 30_000);
    }
  });

  it('an aborted open whose funding confirms anyway is closed with our commitment and swept back to the wallet', async () => {
    const opened = await openExternal();
    const raw = signedTx(opened.psbt);
    await waitFor('aborted at the deadline', async () => ((await state(opened.channel_id)).state === 'aborted' ? true : undefined), 30_000);
    // The user broadcasts the signed transaction after all.
    await net.devnet.broadcast(raw);
    await net.devnet.mine(1);
    const commitmentTxid = await waitFor('alice broadcasts her commitment', async () => {
      const spend = await net.devnet.getOutspend(opened.funding_txid, 0).then(async (s0) => (s0.spent ? s0 : net.devnet.getOutspend(opened.funding_txid, 1)));
      return spend.spent ? spend.txid : undefined;
    }, 30_000);
    await net.devnet.mine(1);
    const commitment = (await net.devnet.getTransaction(commitmentTxid))!;
    expect(commitment.status.confirmed).toBe(true);
    // to_self_delay is 144 blocks (Bob's policy); before that, nothing may be swept.
    await net.devnet.mine(142);
    await new Promise((r) => setTimeout(r, 1_000));
    for (let i = 0; i < commitment.outputs.length; i++) expect((await net.devnet.getOutspend(commitmentTxid, i)).spent).toBe(false);
    await net.devnet.mine(1);
    const sweepTxid = await waitFor('alice sweeps to_local', async () => {
      for (let i = 0; i < commitment.outputs.length; i++) {
        const s = await net.devnet.getOutspend(commitmentTxid, i);
        if (s.spent) return s.txid;
      }
      return undefined;
    }, 30_000);
    await net.devnet.mine(1);
    const sweep = (await net.devnet.getTransaction(sweepTxid))!;
    const balance = await waitFor('the swept coins in the wallet', async () => {
      const b = await alice.call<{ confirmed_sat: number }>('wallet_balance');
      return b.confirmed_sat > 0 ? b : undefined;
    });
    expect(sweep.outputs).toHaveLength(1);
    expect(sweep.outputs[0]!.value + commitment.fee + sweep.fee).toBe(BigInt(CAPACITY));
    // The wallet holds this sweep and the one of the channel force closed above (its to_local
    // matured in the same blocks): each is its channel's capacity minus the two fees.
    let expected = sweep.outputs[0]!.value;
    if (openedFunding !== undefined) {
      const spend = await net.devnet.getOutspend(openedFunding.txid, openedFunding.index);
      expect(spend.spent).toBe(true);
      const other = (await net.devnet.getTransaction(spend.spent ? spend.txid : ''))!;
      // Its commitment may have confirmed a block after this one: mine (at most 6 blocks) until its sweep confirms.
      let otherSweepTxid: string | undefined;
      for (let i = 0; i < 6 && otherSweepTxid === undefined; i++) {
        otherSweepTxid = await waitFor('the other channel swept', async () => {
          const o = await net.devnet.getOutspend(other.txid, 0).then(async (s0) => (s0.spent ? s0 : net.devnet.getOutspend(other.txid, 1)));
          return o.spent && o.status.confirmed ? o.txid : undefined;
        }, 5_000).catch(() => undefined);
        if (otherSweepTxid === undefined) await net.devnet.mine(1);
      }
      if (otherSweepTxid === undefined) throw new Error('the other channel was not swept within 6 blocks');
      const otherSweep = (await net.devnet.getTransaction(otherSweepTxid))!;
      expect(otherSweep.outputs[0]!.value + other.fee + otherSweep.fee).toBe(BigInt(CAPACITY));
      expected += otherSweep.outputs[0]!.value;
    }
    await waitFor('both sweeps in the wallet', async () => (BigInt((await alice.call<{ confirmed_sat: number }>('wallet_balance')).confirmed_sat) === expected ? true : undefined), 30_000);
    expect(BigInt(balance.confirmed_sat) <= expected).toBe(true);
    await waitFor('the aborted channel fully resolved', () => (alice.output.includes('recovered the coins of an aborted open') ? true : undefined), 30_000);
  });
});
