/**
 * `chand devnet` as a service over real HTTP on 127.0.0.1: the wallet walk-through (faucet,
 * mine, UTXO seen, spend with the wallet, confirmation seen), restart on the same data
 * directory, and a server that answers bad input with reasons instead of falling over.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevnetClient } from '../../src/chain/devnet-client.js';
import { devnetGenesis } from '../../src/chain/devnet/block.js';
import type { Devnet } from '../../src/chain/devnet/devnet.js';
import { devnetAt } from './support/devnet-at.js';
import { REGTEST } from '../../src/chain/network.js';
import { Wallet } from '../../src/chain/wallet.js';
import { testKey } from './support/tx-builder.js';

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chand-devnet-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

describe('devnet walk-through: faucet -> mine -> UTXO -> wallet spend -> confirmation', () => {
  let devnet: Devnet;
  let client: DevnetClient;
  beforeAll(async () => {
    devnet = await devnetAt(await tempDir(), { noSync: true });
    await devnet.start();
    client = new DevnetClient({ baseUrl: devnet.url, network: REGTEST });
  });
  afterAll(async () => {
    await devnet.stop();
  });

  it('funds a wallet, sees the coin, spends it and sees the spend confirm', async () => {
    const alice = Wallet.fromMnemonic(Wallet.generateMnemonic(), { chain: client });
    const bob = testKey('walkthrough bob');
    const aliceAddress = alice.nextReceiveAddress();

    const funding = await client.faucet(aliceAddress, 1_000_000n);
    await client.mine(1);
    const utxos = await alice.listUtxos();
    expect(utxos).toMatchObject([{ txid: funding.txid, index: funding.index, value: 1_000_000n, address: aliceAddress }]);
    expect(await alice.getBalance()).toEqual({ confirmed: 1_000_000n, unconfirmed: 0n });

    const sent = await alice.send([{ address: bob.address, amountSat: 250_000n }], { feeRate: 2 });
    expect(await client.getTxStatus(sent.txid)).toEqual({ confirmed: false });
    expect(await client.getOutspend(funding.txid, funding.index)).toMatchObject({ spent: true, txid: sent.txid });

    const [blockHash] = await client.mine(1);
    expect(await client.getTxStatus(sent.txid)).toMatchObject({ confirmed: true, blockHash, confirmations: 1 });
    expect(await client.getAddressUtxos(bob.address)).toMatchObject([{ txid: sent.txid, value: 250_000n }]);
    expect(await alice.getBalance()).toEqual({ confirmed: 1_000_000n - 250_000n - sent.fee, unconfirmed: 0n });
    expect(sent.fee).toBeGreaterThan(0n);
  });

  it('reports the devnet chain hash (its genesis) and tip on /devnet/info', async () => {
    const info = await client.info();
    expect(info).toMatchObject({ network: 'bcrt', genesisHash: devnetGenesis().hash });
    expect(info.tipHash).toBe(await client.getTipHash());
  });
});

describe('devnet restart', () => {
  it('keeps blocks, UTXOs and mempool across a stop and start on the same data directory', async () => {
    const datadir = await tempDir();
    const key = testKey('restart');
    const first = await devnetAt(datadir);
    await first.start();
    const before = new DevnetClient({ baseUrl: first.url });
    const confirmed = await before.faucet(key.address, 70_000n);
    await before.mine(3);
    const pending = await before.faucet(key.address, 30_000n);
    const tip = { height: await before.getTipHeight(), hash: await before.getTipHash() };
    const utxos = await before.getAddressUtxos(key.address);
    expect(utxos).toHaveLength(2);
    await first.stop();
    await first.stop(); // idempotent

    const second = await devnetAt(datadir);
    await second.start();
    try {
      const after = new DevnetClient({ baseUrl: second.url });
      expect(await after.getTipHeight()).toBe(tip.height);
      expect(await after.getTipHash()).toBe(tip.hash);
      expect(await after.getAddressUtxos(key.address)).toEqual(utxos);
      expect(await after.getTxStatus(confirmed.txid)).toMatchObject({ confirmed: true, confirmations: 3 });
      expect(await after.getTxStatus(pending.txid)).toEqual({ confirmed: false });
      // The restored mempool is mined like any other.
      const [hash] = await after.mine(1);
      expect(await after.getTxStatus(pending.txid)).toMatchObject({ confirmed: true, blockHash: hash });
    } finally {
      await second.stop();
    }
  });
});

describe('devnet server input handling', () => {
  let devnet: Devnet;
  beforeAll(async () => {
    devnet = await devnetAt(await tempDir(), { noSync: true, initialBlocks: 1 });
    await devnet.start();
  });
  afterAll(async () => {
    await devnet.stop();
  });

  async function call(method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`${devnet.url}${path}`, { method, ...(body === undefined ? {} : { body }) });
    return { status: response.status, text: await response.text() };
  }

  it('refuses malformed transaction hex with an Esplora-style reason', async () => {
    const reply = await call('POST', '/tx', 'zz-not-hex');
    expect(reply.status).toBe(400);
    expect(reply.text).toMatch(/^sendrawtransaction RPC error: \{"code":-22,"message":"TX decode failed/);
    const garbage = await call('POST', '/tx', '00'.repeat(40));
    expect(garbage.status).toBe(400);
    expect(garbage.text).toMatch(/TX decode failed/);
  });

  it('refuses a body over the size cap with 413 and keeps serving', async () => {
    const huge = 'ab'.repeat(1_500_000); // 3 MB of hex, over the 2 MiB cap
    const reply = await call('POST', '/tx', huge);
    expect(reply.status).toBe(413);
    expect(reply.text).toMatch(/exceeds the limit/);
    expect((await call('GET', '/blocks/tip/height')).status).toBe(200);
  });

  it('answers bad control requests with 400 and a reason', async () => {
    expect(await call('POST', '/devnet/mine', '{not json')).toMatchObject({ status: 400, text: 'request body is not valid JSON' });
    expect(await call('POST', '/devnet/mine', '{"blocks": 0}')).toMatchObject({ status: 400 });
    expect(await call('POST', '/devnet/mine', '{"blocks": "many"}')).toMatchObject({ status: 400, text: '"blocks" must be an integer' });
    expect(await call('POST', '/devnet/faucet', '{"address": "nope", "amount_sat": 5}')).toMatchObject({ status: 400 });
    expect(await call('POST', '/devnet/faucet', `{"address": "${testKey('x').address}", "amount_sat": -5}`)).toMatchObject({ status: 400 });
    expect(await call('POST', '/devnet/faucet', '[]')).toMatchObject({ status: 400, text: 'request body must be a JSON object' });
  });

  it('answers unknown routes with 404, wrong methods with 405, unknown things with Esplora texts', async () => {
    expect(await call('GET', '/nope')).toMatchObject({ status: 404 });
    expect(await call('GET', '/tx')).toMatchObject({ status: 405 });
    expect(await call('GET', `/tx/${'ab'.repeat(32)}`)).toEqual({ status: 404, text: 'Transaction not found' });
    expect(await call('GET', `/tx/${'ab'.repeat(32)}/status`)).toEqual({ status: 200, text: '{"confirmed":false}' });
    expect(await call('GET', '/block-height/99999')).toEqual({ status: 404, text: 'Block not found' });
    expect(await call('GET', '/address/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/utxo')).toMatchObject({ status: 400 });
  });

  it('serves block headers and Esplora transaction JSON', async () => {
    const hash = (await call('GET', '/block-height/0')).text;
    expect(hash).toBe(devnetGenesis().hash);
    expect((await call('GET', `/block/${hash}/header`)).text).toHaveLength(160);
    const block = JSON.parse((await call('GET', `/block/${hash}`)).text) as { height: number; tx_count: number };
    expect(block).toMatchObject({ height: 0, tx_count: 1 });
    const txid = devnetGenesis().txids[0]!;
    const tx = JSON.parse((await call('GET', `/tx/${txid}`)).text) as { vin: { is_coinbase: boolean }[]; status: { block_height: number } };
    expect(tx.vin[0]?.is_coinbase).toBe(true);
    expect(tx.status.block_height).toBe(0);
  });

  it('survives a client that disconnects mid-body', async () => {
    const url = new URL(devnet.url);
    await new Promise<void>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: '/tx', method: 'POST', headers: { 'Content-Length': '1000' } });
      req.on('error', () => resolve());
      req.write('abcd');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 20);
    });
    expect((await call('GET', '/blocks/tip/height')).status).toBe(200);
  });
});
