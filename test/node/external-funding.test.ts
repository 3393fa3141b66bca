/**
 * Externally signed (PSBT) funding with real processes: devnet, Alice (initiator) and Bob
 * (acceptor). The user's coins live in a BIP84 wallet in the test process (the "hardware
 * wallet", src/chain/wallet.ts), which signs the PSBT Alice returns. Restarts are SIGKILLs
 * (by PID, or by the CHAND_TEST_CRASH_AT hook at an exact step).
 *
 * Covered here: submit after an initiator or an acceptor restart; initiator restart after
 * submit before broadcast and after broadcast; acceptor restart after submit; both restarted
 * at once while confirming; idempotent and conflicting submits; tampered PSBTs rejected with
 * typed errors while the stored flow still completes; a signer that broadcasts the
 * transaction itself; a restart before funding_signed leaving nothing pending; and the
 * external funding state cleared when the channel opens.
 */
import { base64, hex } from '@scure/base';
import { Transaction } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressToScript, REGTEST } from '../../src/chain/network.js';
import { Wallet } from '../../src/chain/wallet.js';
import { openChannelDb } from '../../src/channeldb/open.js';
import { TestNetwork, waitFor, type TestNode } from '../support/test-network.js';

type Channel = Awaited<ReturnType<TestNode['channels']>>[number];
interface Opened {
  channel_id: string;
  funding_txid: string;
  psbt: string;
  expires_at_ms: number;
  temporary_channel_id: string;
}

let net: TestNetwork;
let alice: TestNode;
let bob: TestNode;
let signer: Wallet;
const CAPACITY = 500_000;

beforeAll(async () => {
  net = await TestNetwork.start({ nodes: ['alice', 'bob'] });
  alice = net.node('alice');
  bob = net.node('bob');
  signer = await net.externalSigner(20, 2_000_000n);
  await alice.connect(bob);
}, 120_000);

afterAll(async () => {
  await net?.stop();
});

/** One confirmed coin of the signer not used by an earlier open. */
const used = new Set<string>();
async function freshCoin(): Promise<{ txid: string; vout: number }> {
  const coins = (await signer.listUtxos()).filter((u) => u.status.confirmed && u.value === 2_000_000n && !used.has(`${u.txid}:${u.index}`));
  const coin = coins[0]!;
  used.add(`${coin.txid}:${coin.index}`);
  return { txid: coin.txid, vout: coin.index };
}

async function openExternal(extra: Record<string, unknown> = {}): Promise<Opened> {
  return alice.call<Opened>('open_channel_with_external_funding', {
    peer_id: bob.nodeId,
    funding_amount_sat: CAPACITY,
    funding_source: { utxos: [await freshCoin()] },
    change_address: signer.address(0),
    fee_rate_sat_per_vb: 2,
    ...extra,
  });
}

function sign(psbt: string): string {
  const signed = signer.signPsbt(base64.decode(psbt));
  expect(signed.signedInputs).toBe(1);
  return base64.encode(signed.psbt);
}

async function openOnBoth(channelId: string): Promise<[Channel, Channel]> {
  const [a, b] = await Promise.all(
    [alice, bob].map((n) => waitFor(`${n.name}: ${channelId.slice(0, 8)} open`, async () => (await n.channels()).find((c) => c.channel_id === channelId && c.state === 'open'), 45_000)),
  );
  expect(a!.capacity_sat).toBe(CAPACITY);
  expect(b!.capacity_sat).toBe(CAPACITY);
  expect(a!.local_balance_msat).toBe(String(CAPACITY * 1000));
  expect(b!.remote_balance_msat).toBe(String(CAPACITY * 1000));
  return [a!, b!];
}

async function reconnect(): Promise<void> {
  await alice.connect(bob);
}

async function fundingState(channelId: string): Promise<{ state: string; psbt?: string; expires_at_ms?: number }> {
  return alice.call('get_external_funding', { channel_id: channelId });
}

describe('externally funded open', () => {
  it('returns the PSBT only after the peer signed our refund; awaiting_signature survives a reload', async () => {
    const opened = await openExternal();
    expect(opened.channel_id).not.toBe(opened.temporary_channel_id);
    expect(opened.expires_at_ms).toBeGreaterThan(Date.now());
    const tx = Transaction.fromPSBT(base64.decode(opened.psbt));
    expect(tx.id).toBe(opened.funding_txid);
    for (let i = 0; i < tx.inputsLength; i++) expect(tx.getInput(i).witnessUtxo).toBeDefined();
    // Bob stored the channel before sending funding_signed; Alice before returning.
    expect((await bob.channels()).some((c) => c.channel_id === opened.channel_id && c.state === 'pending_open')).toBe(true);
    const state = await fundingState(opened.channel_id);
    expect(state).toMatchObject({ state: 'awaiting_signature', psbt: opened.psbt, expires_at_ms: opened.expires_at_ms });
    const listed = (await alice.channels()).find((c) => c.channel_id === opened.channel_id)!;
    expect(listed.external_funding).toEqual({ state: 'awaiting_signature', expires_at_ms: opened.expires_at_ms });
    const result = await alice.call<{ state: string }>('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: sign(opened.psbt) });
    expect(['submitted', 'broadcast']).toContain(result.state);
    await net.devnet.mine(1);
    await openOnBoth(opened.channel_id);
    expect((await fundingState(opened.channel_id)).state).toBe('open');
  });

  it('submit after an initiator restart (SIGKILL between signing and submit)', async () => {
    const opened = await openExternal();
    const signed = sign(opened.psbt);
    await alice.restart();
    expect(await fundingState(opened.channel_id)).toMatchObject({ state: 'awaiting_signature', psbt: opened.psbt, expires_at_ms: opened.expires_at_ms });
    await reconnect();
    await alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: signed });
    await net.devnet.mine(1);
    await openOnBoth(opened.channel_id);
  });

  it('submit after an acceptor restart', async () => {
    const opened = await openExternal();
    await bob.restart();
    await reconnect();
    await alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: sign(opened.psbt) });
    await net.devnet.mine(1);
    await openOnBoth(opened.channel_id);
  });

  it('initiator killed after storing the submit, before broadcast: the signed tx is rebroadcast at start', async () => {
    const opened = await openExternal();
    const signed = sign(opened.psbt);
    await alice.restart({ env: { CHAND_TEST_CRASH_AT: 'after-store:submitted-funding' } });
    await reconnect();
    await expect(alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: signed })).rejects.toBeDefined();
    expect((await alice.exited!).signal).toBe('SIGKILL');
    expect(await net.devnet.getTxStatus(opened.funding_txid)).toBeUndefined();
    await alice.start();
    await waitFor('the rebroadcast funding in the mempool', async () => ((await net.devnet.getTxStatus(opened.funding_txid)) !== undefined ? true : undefined));
    await reconnect();
    await net.devnet.mine(1);
    await openOnBoth(opened.channel_id);
  });

  it('initiator killed after broadcast, before confirmation; acceptor killed after submit; both killed while confirming', async () => {
    const a = await openExternal();
    await alice.call('submit_signed_funding_tx', { channel_id: a.channel_id, psbt: sign(a.psbt) });
    await alice.restart();
    const b = await (async () => {
      await reconnect();
      return openExternal();
    })();
    await alice.call('submit_signed_funding_tx', { channel_id: b.channel_id, psbt: sign(b.psbt) });
    await bob.restart();
    await reconnect();
    const c = await openExternal();
    await alice.call('submit_signed_funding_tx', { channel_id: c.channel_id, psbt: sign(c.psbt) });
    await Promise.all([alice.kill('SIGKILL'), bob.kill('SIGKILL')]);
    await net.devnet.mine(1);
    await Promise.all([alice.start(), bob.start()]);
    await reconnect();
    for (const o of [a, b, c]) await openOnBoth(o.channel_id);
  });

  it('submit is idempotent; a different transaction, tampered PSBTs and wrong channels get typed errors and change nothing', async () => {
    const opened = await openExternal();
    const good = sign(opened.psbt);
    // Tampered: another output amount (the txid changes), a missing signature, a signature by the wrong key.
    const changed = Transaction.fromPSBT(base64.decode(good));
    const tampered = Transaction.fromPSBT(base64.decode(opened.psbt));
    tampered.updateOutput(0, { amount: changed.getOutput(0).amount! - 1n });
    await expect(alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: base64.encode(tampered.toPSBT()) })).rejects.toMatchObject({ code: expect.stringMatching(/^PSBT_(OUTPUTS|TXID)_MISMATCH$/) });
    await expect(alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: opened.psbt })).rejects.toMatchObject({ code: 'PSBT_NOT_FINALIZED' });
    const other = Wallet.fromMnemonic(Wallet.generateMnemonic(), { chain: net.devnet, network: REGTEST });
    const wrongKey = Transaction.fromPSBT(base64.decode(opened.psbt));
    const input = wrongKey.getInput(0);
    const otherAddress = other.address(0);
    // Sign as if the coin were the other wallet's: re-point its witness_utxo, sign, restore the real prevout.
    const fake = Transaction.fromPSBT(base64.decode(opened.psbt));
    fake.updateInput(0, { witnessUtxo: { amount: input.witnessUtxo!.amount, script: addressToScript(otherAddress, REGTEST) } }, true);
    const fakeSigned = Transaction.fromPSBT(other.signPsbt(fake.toPSBT()).psbt);
    fakeSigned.finalize();
    const wrongRaw = fakeSigned.extract();
    await expect(alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, tx: hex.encode(wrongRaw) })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await expect(alice.call('submit_signed_funding_tx', { channel_id: 'ab'.repeat(32), psbt: good })).rejects.toMatchObject({ code: 'EXTERNAL_FUNDING_NOT_FOUND' });
    expect((await fundingState(opened.channel_id)).state).toBe('awaiting_signature');
    // The stored flow still completes; the same submit twice gives the same answer.
    const first = await alice.call<{ state: string; funding_txid: string }>('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: good });
    const again = await alice.call<{ state: string; funding_txid: string }>('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: good });
    expect(again.funding_txid).toBe(first.funding_txid);
    expect(['submitted', 'broadcast']).toContain(again.state);
    const finalTx = Transaction.fromPSBT(base64.decode(good));
    finalTx.finalize();
    await alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, tx: hex.encode(finalTx.extract()) });
    // After submission, a different transaction is a conflict.
    await expect(alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, tx: hex.encode(wrongRaw) })).rejects.toMatchObject({ code: expect.stringMatching(/^(EXTERNAL_FUNDING_CONFLICT|SIGNATURE_INVALID)$/) });
    await net.devnet.mine(1);
    await openOnBoth(opened.channel_id);
  });

  it('a signer that broadcasts the transaction itself is detected and the flow continues', async () => {
    const opened = await openExternal();
    const tx = Transaction.fromPSBT(base64.decode(sign(opened.psbt)));
    tx.finalize();
    await net.devnet.broadcast(tx.extract());
    await waitFor('alice adopts the broadcast funding', async () => ((await fundingState(opened.channel_id)).state !== 'awaiting_signature' ? true : undefined));
    expect(alice.output).toContain('treated as submitted');
    await net.devnet.mine(1);
    await openOnBoth(opened.channel_id);
  });

  it('a restart before funding_signed leaves nothing pending on either side, and the same call works again', async () => {
    for (const [node, point] of [
      [alice, 'after-send:funding_created'],
      [bob, 'after-send:accept_channel'],
      [alice, 'after-send:open_channel'],
    ] as const) {
      const before = { a: (await alice.channels()).length, b: (await bob.channels()).length };
      await node.restart({ env: { CHAND_TEST_CRASH_AT: point } });
      await reconnect();
      await expect(openExternal()).rejects.toBeDefined();
      expect((await node.exited!).signal).toBe('SIGKILL');
      await node.start();
      await reconnect();
      await waitFor(`nothing left pending after ${node.name} ${point}`, async () => {
        const [a, b] = [await alice.channels(), await bob.channels()];
        return a.length === before.a && b.length === before.b && [...a, ...b].every((c) => c.state === 'open') ? true : undefined;
      }, 45_000);
    }
    const opened = await openExternal();
    await alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: sign(opened.psbt) });
    await net.devnet.mine(1);
    await openOnBoth(opened.channel_id);
  });

  it('clears the external funding state when the channels open (read back from the database)', async () => {
    await alice.kill('SIGTERM');
    const db = await openChannelDb({ backend: 'sqlite', path: alice.datadir });
    try {
      expect(await db.channelState.fetchAllExternalFundings()).toEqual([]);
      expect((await db.channelState.fetchAllChannels()).every((c) => !c.isPending && c.externalFunding === undefined)).toBe(true);
    } finally {
      await db.close();
    }
    await alice.start();
  });
});
