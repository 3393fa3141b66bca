/**
 * Wallet: BIP84 derivation (the BIP's own test vectors), PSBT signing of only the inputs it
 * owns, finalization, and funding errors. Chain access runs on an in-process devnet.
 */
import { Transaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../src/codec/bytes.js';
import { DevnetLedger } from '../../src/chain/devnet/ledger.js';
import { NETWORKS } from '../../src/chain/network.js';
import { Wallet } from '../../src/chain/wallet.js';
import { ErrorCode, isChandError } from '../../src/errors.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { testKey } from './support/tx-builder.js';

const BIP84_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

async function devnet(): Promise<DevnetLedger> {
  return DevnetLedger.open({ engine: createMemoryEngine(), initialBlocks: 1 });
}

describe('BIP84 test vectors', () => {
  it('derives the BIP84 mainnet addresses of the "abandon ... about" mnemonic', async () => {
    const wallet = Wallet.fromMnemonic(BIP84_MNEMONIC, { chain: await devnet(), network: NETWORKS.mainnet });
    expect(wallet.address(0)).toBe('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
    expect(wallet.address(1)).toBe('bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
    expect(wallet.address(0, true)).toBe('bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el');
  });
});

describe('Wallet', () => {
  it('hands out regtest addresses in order and counts them', async () => {
    const wallet = Wallet.fromMnemonic(BIP84_MNEMONIC, { chain: await devnet() });
    expect(wallet.nextReceiveAddress()).toMatch(/^bcrt1q/);
    expect(wallet.nextReceiveAddress()).toBe(wallet.address(1));
    expect(wallet.receiveCount).toBe(2);
  });

  it('refuses an invalid mnemonic without echoing it', () => {
    const attempt = (): unknown => Wallet.fromMnemonic('abandon abandon secret words here', { chain: undefined as never });
    expect(attempt).toThrow(TypeError);
    expect(attempt).not.toThrow(/secret/);
  });

  it('finds coins sent to addresses within the gap, even if not handed out here', async () => {
    const chain = await devnet();
    const wallet = Wallet.fromMnemonic(BIP84_MNEMONIC, { chain, gap: 3 });
    await chain.faucet(wallet.address(2), 5_000n);
    await chain.faucet(wallet.address(3), 7_000n);
    expect(await wallet.getBalance()).toEqual({ confirmed: 0n, unconfirmed: 5_000n });
  });

  it('signs only its own inputs of a PSBT built by someone else, and finalizes once all are signed', async () => {
    const chain = await devnet();
    const wallet = Wallet.fromMnemonic(Wallet.generateMnemonic(), { chain });
    const mine = await chain.faucet(wallet.nextReceiveAddress(), 60_000n);
    const stranger = testKey('psbt stranger');
    const theirs = await chain.faucet(stranger.address, 40_000n);
    await chain.mine(1);

    const tx = new Transaction({ version: 2 });
    tx.addInput({ txid: hexToBytes(mine.txid), index: mine.index, witnessUtxo: { script: (await chain.getTransaction(mine.txid))!.outputs[mine.index]!.script, amount: 60_000n } });
    tx.addInput({ txid: hexToBytes(theirs.txid), index: theirs.index, witnessUtxo: { script: stranger.script, amount: 40_000n } });
    tx.addOutput({ script: testKey('psbt dest').script, amount: 99_000n });

    const signed = wallet.signPsbt(tx.toPSBT());
    expect(signed.signedInputs).toBe(1);
    const err = (() => {
      try {
        Wallet.finalizePsbt(signed.psbt);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(isChandError(err, ErrorCode.PSBT_NOT_FINALIZED)).toBe(true);

    const both = Transaction.fromPSBT(signed.psbt);
    both.signIdx(stranger.priv, 1);
    const raw = Wallet.finalizePsbt(both.toPSBT());
    const txid = await chain.broadcast(raw);
    await chain.mine(1);
    expect(await chain.getTxStatus(txid)).toMatchObject({ confirmed: true });
  });

  it('reports PSBT_INVALID for bytes that are not a PSBT', async () => {
    const wallet = Wallet.fromMnemonic(BIP84_MNEMONIC, { chain: await devnet() });
    let err: unknown;
    try {
      wallet.signPsbt(Uint8Array.of(1, 2, 3));
    } catch (e) {
      err = e;
    }
    expect(isChandError(err, ErrorCode.PSBT_INVALID)).toBe(true);
  });

  it('sends with change back to itself, and refuses to overspend with INSUFFICIENT_FUNDS', async () => {
    const chain = await devnet();
    const wallet = Wallet.fromMnemonic(Wallet.generateMnemonic(), { chain });
    await chain.faucet(wallet.nextReceiveAddress(), 100_000n);
    await chain.mine(1);
    const sent = await wallet.send([{ address: testKey('pay').address, amountSat: 30_000n }]);
    expect(wallet.changeCount).toBe(1);
    expect(await wallet.getBalance()).toEqual({ confirmed: 0n, unconfirmed: 70_000n - sent.fee });
    await expect(wallet.send([{ address: testKey('pay').address, amountSat: 80_000n }])).rejects.toSatisfy((e: unknown) =>
      isChandError(e, ErrorCode.INSUFFICIENT_FUNDS),
    );
  });
});
