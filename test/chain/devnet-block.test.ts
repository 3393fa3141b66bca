/**
 * Devnet blocks: header encoding and hashing checked against Bitcoin's own genesis headers
 * (mainnet and regtest), merkle roots, targets, and the chain of blocks the ledger mines.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/codec/bytes.js';
import {
  blockSubsidy,
  decodeHeader,
  devnetGenesis,
  encodeHeader,
  headerHash,
  meetsTarget,
  merkleRoot,
  REGTEST_BITS,
  targetFromBits,
} from '../../src/chain/devnet/block.js';
import { DevnetLedger } from '../../src/chain/devnet/ledger.js';
import { decodeTransaction, isNullOutpoint } from '../../src/chain/devnet/tx-validation.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';

const ZERO_HASH = '00'.repeat(32);
const GENESIS_MERKLE_ROOT = '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b';

describe('block headers (Bitcoin genesis vectors)', () => {
  it('hashes the mainnet genesis header to its well-known hash', () => {
    const header = encodeHeader({ version: 1, prevHash: ZERO_HASH, merkleRoot: GENESIS_MERKLE_ROOT, time: 1231006505, bits: 0x1d00ffff, nonce: 2083236893 });
    expect(header).toHaveLength(80);
    expect(headerHash(header)).toBe('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
    expect(meetsTarget(header)).toBe(true);
    expect(decodeHeader(header)).toEqual({ version: 1, prevHash: ZERO_HASH, merkleRoot: GENESIS_MERKLE_ROOT, time: 1231006505, bits: 0x1d00ffff, nonce: 2083236893 });
  });

  it('hashes the regtest genesis header to its well-known hash', () => {
    const header = encodeHeader({ version: 1, prevHash: ZERO_HASH, merkleRoot: GENESIS_MERKLE_ROOT, time: 1296688602, bits: REGTEST_BITS, nonce: 2 });
    expect(headerHash(header)).toBe('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206');
  });

  it('expands compact targets', () => {
    expect(targetFromBits(0x1d00ffff)).toBe(0xffffn << 208n);
    expect(targetFromBits(REGTEST_BITS)).toBe(0x7fffffn << 232n);
  });
});

describe('merkle roots', () => {
  const a = bytesToHex(sha256(Uint8Array.of(1)));
  const b = bytesToHex(sha256(Uint8Array.of(2)));
  const c = bytesToHex(sha256(Uint8Array.of(3)));
  const pair = (x: string, y: string): string => {
    const internal = (h: string): Uint8Array => hexToBytes(h).reverse();
    return bytesToHex(sha256(sha256(concatBytes(internal(x), internal(y)))).reverse());
  };

  it('is the txid itself for one transaction, the pair hash for two', () => {
    expect(merkleRoot([a])).toBe(a);
    expect(merkleRoot([a, b])).toBe(pair(a, b));
  });

  it('repeats the last hash of an odd level', () => {
    expect(merkleRoot([a, b, c])).toBe(pair(pair(a, b), pair(c, c)));
  });
});

describe('the devnet chain', () => {
  it('has a fixed genesis block, identical on every devnet: Bitcoin regtest\'s', () => {
    const genesis = devnetGenesis();
    expect(decodeHeader(genesis.header)).toEqual({ version: 1, prevHash: ZERO_HASH, merkleRoot: genesis.txids[0], time: 1296688602, bits: REGTEST_BITS, nonce: 2 });
    expect(genesis.txids).toEqual([GENESIS_MERKLE_ROOT]);
    expect(genesis.hash).toBe('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206');
    expect(meetsTarget(genesis.header)).toBe(true);
  });

  it('mines linked, valid headers whose merkle roots commit to their transactions, with BIP34 coinbases', async () => {
    const ledger = await DevnetLedger.open({ engine: createMemoryEngine(), initialBlocks: 3 });
    let prev = devnetGenesis().hash;
    for (let height = 1; height <= 3; height++) {
      const hash = (await ledger.getBlockHash(height))!;
      const block = (await ledger.getBlock(hash))!;
      const header = decodeHeader(block.header);
      expect(header.prevHash).toBe(prev);
      expect(header.merkleRoot).toBe(merkleRoot(block.txids));
      expect(headerHash(block.header)).toBe(hash);
      expect(meetsTarget(block.header)).toBe(true);
      const coinbase = decodeTransaction((await ledger.getRawTransaction(block.txids[0]!))!);
      expect(isNullOutpoint(coinbase.inputs[0]!)).toBe(true);
      expect(coinbase.inputs[0]!.scriptSig[0]).toBe(0x50 + height); // OP_<height>
      expect(coinbase.outputs[0]!.value).toBe(blockSubsidy(height));
      prev = hash;
    }
  });

  it('halves the subsidy every 150 blocks, as regtest does', () => {
    expect(blockSubsidy(149)).toBe(5_000_000_000n);
    expect(blockSubsidy(150)).toBe(2_500_000_000n);
    expect(blockSubsidy(150 * 64)).toBe(0n);
  });
});
