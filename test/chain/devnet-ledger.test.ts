/**
 * DevnetLedger in-process on a memory engine: the Chain suite, plus ledger specifics.
 */
import { describe, expect, it } from 'vitest';
import { DevnetLedger } from '../../src/chain/devnet/ledger.js';
import { devnetGenesis } from '../../src/chain/devnet/block.js';
import { isChandError, ErrorCode } from '../../src/errors.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { describeChainSuite } from './support/chain-suite.js';
import { testKey } from './support/tx-builder.js';

describeChainSuite('DevnetLedger (memory engine)', async () => {
  const engine = createMemoryEngine();
  const ledger = await DevnetLedger.open({ engine });
  return {
    harness: { chain: ledger, mine: (n, address) => ledger.mine(n, address), faucet: (a, v) => ledger.faucet(a, v) },
    close: () => engine.close(),
  };
});

describe('DevnetLedger', () => {
  it('starts a new chain at the devnet genesis with the configured number of faucet blocks', async () => {
    const ledger = await DevnetLedger.open({ engine: createMemoryEngine(), initialBlocks: 3 });
    expect(await ledger.getTip()).toMatchObject({ height: 3 });
    expect(await ledger.getBlockHash(0)).toBe(devnetGenesis().hash);
    const genesis = await ledger.getBlock(devnetGenesis().hash);
    expect(genesis).toMatchObject({ height: 0, txids: devnetGenesis().txids });
  });

  it('pays coinbases to the mine address: subsidy plus the fees of the block', async () => {
    const ledger = await DevnetLedger.open({ engine: createMemoryEngine(), initialBlocks: 1 });
    const miner = testKey('miner');
    const paid = testKey('paid');
    await ledger.faucet(paid.address, 10_000n);
    const [hash] = await ledger.mine(1, miner.address);
    const block = await ledger.getBlock(hash!);
    const coinbase = await ledger.getTransaction(block!.txids[0]!);
    const payment = await ledger.getTransaction(block!.txids[1]!);
    expect(coinbase?.outputs[0]?.value).toBe(5_000_000_000n + payment!.fee);
    expect(await ledger.getAddressUtxos(miner.address)).toHaveLength(1);
  });

  it('refuses faucet payments beyond its funds with INSUFFICIENT_FUNDS', async () => {
    const ledger = await DevnetLedger.open({ engine: createMemoryEngine(), initialBlocks: 1 });
    const err = await ledger.faucet(testKey('x').address, 6_000_000_000n).catch((e: unknown) => e);
    expect(isChandError(err, ErrorCode.INSUFFICIENT_FUNDS)).toBe(true);
  });

  it('rejects misuse with TypeError/RangeError', async () => {
    const ledger = await DevnetLedger.open({ engine: createMemoryEngine(), initialBlocks: 0 });
    await expect(ledger.mine(0)).rejects.toBeInstanceOf(RangeError);
    await expect(ledger.getTxStatus('nothex')).rejects.toBeInstanceOf(TypeError);
    await expect(ledger.faucet('not an address', 1n)).rejects.toBeInstanceOf(TypeError);
  });

  it('reopens an existing store without re-creating the chain', async () => {
    const engine = createMemoryEngine();
    const first = await DevnetLedger.open({ engine, initialBlocks: 2 });
    const tip = await first.getTip();
    const again = await DevnetLedger.open({ engine, initialBlocks: 7 });
    expect(await again.getTip()).toEqual(tip);
  });
});
