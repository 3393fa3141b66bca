/**
 * The devnet starts from Bitcoin's regtest genesis block, so its chain hash is the one
 * `bitcoind -regtest` (and every Lightning implementation on regtest) uses, and the one the
 * peer layer sends (CHAIN_HASHES.regtest). A data directory an older chand created with a
 * genesis of its own is refused, untouched, with DEVNET_GENESIS_MISMATCH.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeTxid } from '../../src/bitcoin/txid.js';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/codec/bytes.js';
import { DevnetClient } from '../../src/chain/devnet-client.js';
import {
  decodeHeader,
  devnetGenesis,
  genesisCoinbase,
  headerHash,
  meetsTarget,
  REGTEST_GENESIS_HASH,
} from '../../src/chain/devnet/block.js';
import { blockKey, decodeBlockRecord, decodeTip, LAYOUT_VERSION, META_LAYOUT, META_TIP, metaKey } from '../../src/chain/devnet/ledger-layout.js';
import { DevnetLedger } from '../../src/chain/devnet/ledger.js';
import { decodeTransaction } from '../../src/chain/devnet/tx-validation.js';
import { ErrorCode, isChandError } from '../../src/errors.js';
import { openLmdbEngine } from '../../src/kv/lmdb-engine.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { CHAIN_HASHES } from '../../src/linknode/store.js';
import { devnetAt } from './support/devnet-at.js';
import { writeOldDevnetStore } from './support/old-devnet.js';
import { buildTx, testKey } from './support/tx-builder.js';

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chand-genesis-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

/** little-endian u32 as 4 bytes. */
const le32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
};

describe('the regtest genesis block', () => {
  // The header of Bitcoin's regtest genesis, field by field (BIP-less consensus data).
  const merkleRootDisplay = '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b';
  const headerBytes = concatBytes(
    le32(1),
    new Uint8Array(32),
    hexToBytes(merkleRootDisplay).reverse(),
    le32(1_296_688_602),
    le32(0x207f_ffff),
    le32(2),
  );

  it('hashes, from its 80 header bytes, to CHAIN_HASHES.regtest: the hash chand sends as chain_hash', () => {
    expect(headerBytes).toHaveLength(80);
    const hash = bytesToHex(sha256(sha256(headerBytes)).reverse());
    expect(hash).toBe('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206');
    expect(CHAIN_HASHES.regtest).toBe(hash);
    expect(REGTEST_GENESIS_HASH).toBe(hash);
  });

  it('is the devnet genesis, byte for byte, with the coinbase its merkle root commits to', () => {
    const genesis = devnetGenesis();
    expect(genesis.hash).toBe(CHAIN_HASHES.regtest);
    expect(bytesToHex(genesis.header)).toBe(bytesToHex(headerBytes));
    expect(headerHash(genesis.header)).toBe(genesis.hash);
    expect(meetsTarget(genesis.header)).toBe(true);
    expect(genesis.txids).toEqual([merkleRootDisplay]);
    expect(computeTxid(genesisCoinbase())).toBe(merkleRootDisplay);
    const coinbase = decodeTransaction(genesis.transactions[0]!);
    expect(coinbase.raw).toHaveLength(204);
    expect(new TextDecoder().decode(coinbase.inputs[0]!.scriptSig.subarray(8))).toBe(
      'The Times 03/Jan/2009 Chancellor on brink of second bailout for banks',
    );
    expect(coinbase.outputs).toHaveLength(1);
    expect(coinbase.outputs[0]!.value).toBe(5_000_000_000n);
    // P2PK: <65-byte uncompressed key> OP_CHECKSIG.
    expect(coinbase.outputs[0]!.script).toHaveLength(67);
    expect(bytesToHex(coinbase.outputs[0]!.script.subarray(0, 5))).toBe('4104678afd');
  });

  it('keeps the genesis output out of the UTXO set: spending it is refused as missing', async () => {
    const ledger = await DevnetLedger.open({ engine: createMemoryEngine(), initialBlocks: 1 });
    const key = testKey('genesis spender');
    const raw = buildTx({
      inputs: [{ txid: devnetGenesis().txids[0]!, index: 0, value: 5_000_000_000n, key }],
      outputs: [{ script: key.script, value: 4_999_990_000n }],
    });
    await expect(ledger.broadcast(raw)).rejects.toMatchObject({ reason: expect.stringMatching(/^bad-txns-inputs-missingorspent/) });
    expect(await ledger.getOutspend(devnetGenesis().txids[0]!, 0)).toEqual({ spent: false });
  });

  it('is block 0 of a fresh devnet over HTTP, and every block chains from it with regtest proof of work', async () => {
    const devnet = await devnetAt(await tempDir(), { noSync: true, initialBlocks: 3 });
    await devnet.start();
    try {
      const heightZero = await fetch(`${devnet.url}/block-height/0`);
      expect(heightZero.status).toBe(200);
      expect(await heightZero.text()).toBe(CHAIN_HASHES.regtest);
      const client = new DevnetClient({ baseUrl: devnet.url });
      expect((await client.info()).genesisHash).toBe(CHAIN_HASHES.regtest);
      const header0 = await (await fetch(`${devnet.url}/block/${CHAIN_HASHES.regtest}/header`)).text();
      expect(header0).toBe(bytesToHex(headerBytes));

      let prev = CHAIN_HASHES.regtest;
      for (let height = 1; height <= 3; height++) {
        const hash = (await client.getBlockHash(height))!;
        const header = hexToBytes(await (await fetch(`${devnet.url}/block/${hash}/header`)).text());
        expect(decodeHeader(header).prevHash).toBe(prev);
        expect(decodeHeader(header).bits).toBe(0x207f_ffff);
        expect(headerHash(header)).toBe(hash);
        expect(meetsTarget(header)).toBe(true);
        prev = hash;
      }
    } finally {
      await devnet.stop();
    }
  });
});

describe('a data directory from an older chand (its own genesis)', () => {
  it('is refused with DEVNET_GENESIS_MISMATCH saying what to do, and left exactly as it was', async () => {
    const datadir = await tempDir();
    const old = await writeOldDevnetStore(datadir, testKey('old miner').script);
    expect(old.genesisHash).not.toBe(CHAIN_HASHES.regtest);

    const devnet = await devnetAt(datadir);
    const err = await devnet.start().catch((e: unknown) => e);
    expect(isChandError(err, ErrorCode.DEVNET_GENESIS_MISMATCH)).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain(old.genesisHash);
    expect(message).toContain(CHAIN_HASHES.regtest);
    expect(message).toMatch(/Delete the devnet data directory/);
    expect(message).toMatch(/--datadir/);

    // The refusal wrote nothing, and released the store (it opens again at once).
    const engine = await openLmdbEngine({ path: join(datadir, 'chain') });
    try {
      await engine.read((tx) => {
        expect([...tx.get(metaKey(META_LAYOUT))!]).toEqual([1]);
        expect(decodeTip(tx.get(metaKey(META_TIP))!)).toEqual(old.tip);
        expect(decodeBlockRecord(tx.get(blockKey(0))!).hash).toBe(old.genesisHash);
      });
    } finally {
      await engine.close();
    }
  });

  it('is refused the same way by the ledger on any engine; a store of a newer layout is DB_REVERSION', async () => {
    const engine = createMemoryEngine();
    await DevnetLedger.open({ engine, initialBlocks: 1 });
    // The current layout version with a foreign genesis is refused too: the check is the genesis itself.
    const stored = (await engine.read((tx) => tx.get(blockKey(0))))!;
    // Byte 1 is the first byte of the record's block hash (after the record version).
    await engine.update((tx) => tx.put(blockKey(0), stored.map((b, i) => (i === 1 ? b ^ 0xff : b))));
    expect(decodeBlockRecord((await engine.read((tx) => tx.get(blockKey(0))))!).hash).not.toBe(CHAIN_HASHES.regtest);
    const mismatch = await DevnetLedger.open({ engine }).catch((e: unknown) => e);
    expect(isChandError(mismatch, ErrorCode.DEVNET_GENESIS_MISMATCH)).toBe(true);

    const newer = createMemoryEngine();
    await DevnetLedger.open({ engine: newer, initialBlocks: 0 });
    await newer.update((tx) => tx.put(metaKey(META_LAYOUT), Uint8Array.of(LAYOUT_VERSION + 1)));
    const reversion = await DevnetLedger.open({ engine: newer }).catch((e: unknown) => e);
    expect(isChandError(reversion, ErrorCode.DB_REVERSION)).toBe(true);
  });
});
