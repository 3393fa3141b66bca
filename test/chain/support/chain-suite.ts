/**
 * The Chain conformance suite, run against every Chain on a devnet: the in-process
 * DevnetLedger and the EsploraClient talking HTTP to `chand devnet`. A Chain test file calls
 * `describeChainSuite` with a factory and adds only what is specific to its backend.
 *
 * Besides the read API it covers the devnet's validation as seen through `broadcast`:
 * double spends, bad signatures, wrong scripts, early CSV spends, value creation, future
 * locktimes and malformed bytes are each refused with their reason.
 */
import { Script } from '@scure/btc-signer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { p2wshScript } from '../../../src/bitcoin/script.js';
import { decodeTx, type OutPoint } from '../../../src/bitcoin/transaction.js';
import { computeTxid } from '../../../src/bitcoin/txid.js';
import type { Chain } from '../../../src/chain/chain.js';
import { TxRejectedError } from '../../../src/chain/chain-errors.js';
import { devnetGenesis } from '../../../src/chain/devnet/block.js';
import { feeRateForTarget } from '../../../src/chain/fee-estimates.js';
import { isChandError, ErrorCode } from '../../../src/errors.js';
import { buildTx, testKey, type TestKey } from './tx-builder.js';

/** What the suite needs: a Chain plus the devnet controls behind it. */
export interface ChainHarness {
  readonly chain: Chain;
  mine(blocks: number, address?: string): Promise<string[]>;
  faucet(address: string, amountSat: bigint): Promise<OutPoint>;
}

/** Creates a fresh harness (its own devnet) and how to dispose of it. */
export type ChainHarnessFactory = () => Promise<{ harness: ChainHarness; close(): Promise<void> }>;

/** Expects `promise` to reject with TxRejectedError whose reason matches `reason`. */
export async function expectRejected(promise: Promise<unknown>, reason: RegExp): Promise<TxRejectedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TxRejectedError);
  expect(isChandError(err, ErrorCode.TX_REJECTED)).toBe(true);
  expect((err as TxRejectedError).reason).toMatch(reason);
  return err as TxRejectedError;
}

export function describeChainSuite(name: string, factory: ChainHarnessFactory): void {
  describe(`Chain conformance: ${name}`, () => {
    let h: ChainHarness;
    let close: () => Promise<void>;
    let n = 0;
    /** A fresh key per test, so tests do not see each other's coins. */
    const freshKey = (): TestKey => testKey(`${name} ${n++}`);

    /** Funds a fresh key with a confirmed output of `amount`. */
    async function funded(amount = 100_000n): Promise<{ key: TestKey; txid: string; index: number; value: bigint }> {
      const key = freshKey();
      const { txid, index } = await h.faucet(key.address, amount);
      await h.mine(1);
      return { key, txid, index, value: amount };
    }

    beforeAll(async () => {
      const made = await factory();
      h = made.harness;
      close = made.close;
    });
    afterAll(async () => {
      await close?.();
    });

    it('reports a tip whose hash is the block at its height, on top of the devnet genesis', async () => {
      const height = await h.chain.getTipHeight();
      expect(height).toBeGreaterThanOrEqual(1);
      expect(await h.chain.getBlockHash(height)).toBe(await h.chain.getTipHash());
      expect(await h.chain.getBlockHash(0)).toBe(devnetGenesis().hash);
      expect(await h.chain.getBlockHash(height + 1)).toBeUndefined();
    });

    it('shows a faucet payment as an unconfirmed UTXO, then confirmed with growing confirmations', async () => {
      const key = freshKey();
      const { txid, index } = await h.faucet(key.address, 50_000n);
      expect(await h.chain.getAddressUtxos(key.address)).toEqual([{ txid, index, value: 50_000n, status: { confirmed: false } }]);
      expect(await h.chain.getTxStatus(txid)).toEqual({ confirmed: false });

      const [blockHash] = await h.mine(1);
      const status = await h.chain.getTxStatus(txid);
      expect(status).toMatchObject({ confirmed: true, blockHash, confirmations: 1 });
      const [utxo] = await h.chain.getAddressUtxos(key.address);
      expect(utxo).toMatchObject({ txid, index, value: 50_000n, status: { confirmed: true, blockHash, confirmations: 1 } });

      await h.mine(2);
      expect(await h.chain.getTxStatus(txid)).toMatchObject({ confirmed: true, blockHash, confirmations: 3 });
    });

    it('returns the transaction with inputs, outputs, fee and raw bytes that hash to its txid', async () => {
      const key = freshKey();
      const { txid } = await h.faucet(key.address, 12_345n);
      const tx = await h.chain.getTransaction(txid);
      expect(tx?.txid).toBe(txid);
      expect(tx?.outputs[0]).toMatchObject({ value: 12_345n, address: key.address });
      expect(tx?.outputs[0]?.script).toEqual(key.script);
      expect(tx?.fee).toBeGreaterThan(0n);
      expect(tx?.inputs[0]?.prevout?.value).toBeGreaterThan(12_345n);
      expect(tx?.status).toEqual({ confirmed: false });
      const raw = await h.chain.getRawTransaction(txid);
      expect(computeTxid(raw!)).toBe(txid);
      // Each input names the outpoint it spends as { txid, index }, the same as the raw bytes say.
      const spent = decodeTx(raw!).inputs.map((input) => ({ txid: input.txid, index: input.index }));
      expect(tx?.inputs.map((input) => ({ txid: input.txid, index: input.index }))).toEqual(spent);
    });

    it('answers undefined / unspent for a txid it never saw', async () => {
      const unknown = 'ab'.repeat(32);
      expect(await h.chain.getTxStatus(unknown)).toBeUndefined();
      expect(await h.chain.getTransaction(unknown)).toBeUndefined();
      expect(await h.chain.getRawTransaction(unknown)).toBeUndefined();
      expect(await h.chain.getOutspend(unknown, 0)).toEqual({ spent: false });
    });

    it('reports who spends an output, in the mempool and then in a block', async () => {
      const coin = await funded();
      expect(await h.chain.getOutspend(coin.txid, coin.index)).toEqual({ spent: false });
      const dest = freshKey();
      const raw = buildTx({
        inputs: [{ ...coin, key: coin.key }],
        outputs: [{ script: dest.script, value: coin.value - 500n }],
      });
      const spendTxid = await h.chain.broadcast(raw);
      expect(spendTxid).toBe(computeTxid(raw));
      expect(await h.chain.getOutspend(coin.txid, coin.index)).toEqual({ spent: true, txid: spendTxid, vin: 0, status: { confirmed: false } });
      expect(await h.chain.getAddressUtxos(coin.key.address)).toEqual([]);
      const [blockHash] = await h.mine(1);
      expect(await h.chain.getOutspend(coin.txid, coin.index)).toMatchObject({
        spent: true,
        txid: spendTxid,
        vin: 0,
        status: { confirmed: true, blockHash, confirmations: 1 },
      });
      expect((await h.chain.getTransaction(spendTxid))?.fee).toBe(500n);
    });

    it('accepts a resubmitted transaction and returns the same txid', async () => {
      const coin = await funded();
      const raw = buildTx({ inputs: [{ ...coin, key: coin.key }], outputs: [{ script: freshKey().script, value: coin.value - 300n }] });
      const txid = await h.chain.broadcast(raw);
      expect(await h.chain.broadcast(raw)).toBe(txid);
    });

    it('accepts chains of unconfirmed transactions and mines them in order', async () => {
      const key = freshKey();
      const first = await h.faucet(key.address, 40_000n);
      const second = freshKey();
      const child = buildTx({
        inputs: [{ txid: first.txid, index: first.index, value: 40_000n, key }],
        outputs: [{ script: second.script, value: 39_000n }],
      });
      const childTxid = await h.chain.broadcast(child);
      await h.mine(1);
      expect(await h.chain.getTxStatus(childTxid)).toMatchObject({ confirmed: true, confirmations: 1 });
      expect(await h.chain.getAddressUtxos(second.address)).toMatchObject([{ txid: childTxid, value: 39_000n }]);
    });

    it('gives fee estimates usable by feeRateForTarget', async () => {
      const estimates = await h.chain.getFeeEstimates();
      expect(Object.keys(estimates).length).toBeGreaterThan(0);
      expect(feeRateForTarget(estimates, 6)).toBeGreaterThanOrEqual(1);
    });

    it('refuses an address of another network with TypeError', async () => {
      await expect(h.chain.getAddressUtxos('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu')).rejects.toBeInstanceOf(TypeError);
    });

    describe('rejections, each with its reason', () => {
      it('a double spend in the mempool, then of a confirmed spend', async () => {
        const coin = await funded();
        const pay = (to: TestKey, fee: bigint): Uint8Array =>
          buildTx({ inputs: [{ ...coin, key: coin.key }], outputs: [{ script: to.script, value: coin.value - fee }] });
        await h.chain.broadcast(pay(freshKey(), 200n));
        await expectRejected(h.chain.broadcast(pay(freshKey(), 400n)), /^txn-mempool-conflict/);
        await h.mine(1);
        await expectRejected(h.chain.broadcast(pay(freshKey(), 600n)), /^bad-txns-inputs-missingorspent/);
      });

      it('one of two double spends submitted concurrently', async () => {
        const coin = await funded();
        const spends = [1, 2, 3].map((i) =>
          buildTx({ inputs: [{ ...coin, key: coin.key }], outputs: [{ script: freshKey().script, value: coin.value - 100n * BigInt(i) }] }),
        );
        const results = await Promise.allSettled(spends.map((raw) => h.chain.broadcast(raw)));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') expect((r.reason as TxRejectedError).reason).toMatch(/^txn-mempool-conflict/);
        }
      });

      it('an input that does not exist', async () => {
        const key = freshKey();
        const raw = buildTx({ inputs: [{ txid: 'cd'.repeat(32), index: 0, value: 1000n, key }], outputs: [{ script: key.script, value: 500n }] });
        await expectRejected(h.chain.broadcast(raw), /^bad-txns-inputs-missingorspent/);
      });

      it('a signature by the wrong key', async () => {
        const coin = await funded();
        const thief = freshKey();
        // Witness <thief sig> <owner pubkey>: the key hash matches, the signature does not.
        const raw = buildTx({
          inputs: [{ txid: coin.txid, index: coin.index, value: coin.value, key: { ...coin.key, priv: thief.priv } }],
          outputs: [{ script: thief.script, value: coin.value - 300n }],
        });
        await expectRejected(h.chain.broadcast(raw), /^mandatory-script-verify-flag-failed \(input 0: signature verification failed/);
      });

      it('a witness script that is not the one the output commits to', async () => {
        const owner = freshKey();
        const committed = Script.encode([owner.pub, 'CHECKSIG']);
        const source = await funded(80_000n);
        const lockTx = buildTx({ inputs: [{ ...source, key: source.key }], outputs: [{ script: p2wshScript(committed), value: 79_000n }] });
        const lockTxid = await h.chain.broadcast(lockTx);
        await h.mine(1);
        const other = Script.encode([freshKey().pub, 'CHECKSIG']);
        const raw = buildTx({
          inputs: [{ txid: lockTxid, index: 0, value: 79_000n, witnessScript: other, witness: (sign) => [sign(owner)] }],
          outputs: [{ script: owner.script, value: 78_000n }],
        });
        await expectRejected(h.chain.broadcast(raw), /witness script does not match the P2WSH program/);
      });

      it('a CSV-locked output spent early, accepted once the delay has passed', async () => {
        const owner = freshKey();
        const delay = 3;
        const csvScript = Script.encode([delay, 'CHECKSEQUENCEVERIFY', 'DROP', owner.pub, 'CHECKSIG']);
        const source = await funded(80_000n);
        const lockTxid = await h.chain.broadcast(
          buildTx({ inputs: [{ ...source, key: source.key }], outputs: [{ script: p2wshScript(csvScript), value: 79_000n }] }),
        );
        await h.mine(1); // confirmed at height H; spendable in block H + 3
        const spend = buildTx({
          inputs: [{ txid: lockTxid, index: 0, value: 79_000n, sequence: delay, witnessScript: csvScript, witness: (sign) => [sign(owner)] }],
          outputs: [{ script: owner.script, value: 78_000n }],
        });
        await expectRejected(h.chain.broadcast(spend), /^non-BIP68-final/);
        await h.mine(1);
        await expectRejected(h.chain.broadcast(spend), /^non-BIP68-final/);
        await h.mine(1);
        expect(await h.chain.broadcast(spend)).toBe(computeTxid(spend));
      });

      it('a CSV script spent with too small an nSequence', async () => {
        const owner = freshKey();
        const csvScript = Script.encode([5, 'CHECKSEQUENCEVERIFY', 'DROP', owner.pub, 'CHECKSIG']);
        const source = await funded(80_000n);
        const lockTxid = await h.chain.broadcast(
          buildTx({ inputs: [{ ...source, key: source.key }], outputs: [{ script: p2wshScript(csvScript), value: 79_000n }] }),
        );
        await h.mine(6);
        const spend = buildTx({
          inputs: [{ txid: lockTxid, index: 0, value: 79_000n, sequence: 4, witnessScript: csvScript, witness: (sign) => [sign(owner)] }],
          outputs: [{ script: owner.script, value: 78_000n }],
        });
        await expectRejected(h.chain.broadcast(spend), /relative locktime requirement not satisfied/);
      });

      it('outputs worth more than the inputs (creating value)', async () => {
        const coin = await funded();
        const raw = buildTx({ inputs: [{ ...coin, key: coin.key }], outputs: [{ script: coin.key.script, value: coin.value + 1n }] });
        await expectRejected(h.chain.broadcast(raw), /^bad-txns-in-belowout/);
      });

      it('an absolute locktime in the future', async () => {
        const coin = await funded();
        const tip = await h.chain.getTipHeight();
        const raw = buildTx({
          lockTime: tip + 5,
          inputs: [{ ...coin, key: coin.key, sequence: 0xffff_fffe }],
          outputs: [{ script: coin.key.script, value: coin.value - 300n }],
        });
        await expectRejected(h.chain.broadcast(raw), /^non-final/);
      });

      it('bytes that are not a transaction', async () => {
        await expectRejected(h.chain.broadcast(Uint8Array.of(1, 2, 3)), /TX decode failed/);
      });
    });
  });
}
