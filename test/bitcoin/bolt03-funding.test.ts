/**
 * BOLT 3 Appendix B: funding transaction test vectors, read from the spec. Our builder must
 * produce the spec's funding output, change and output order; signing its P2PKH input
 * (legacy sighash, via @scure/btc-signer) must give the spec's transaction byte for byte.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { fundingScriptPubKey, fundingWitnessScript, sortFundingPubkeys } from '../../src/bitcoin/bolt3-scripts.js';
import { publicKeyFromPrivate } from '../../src/bitcoin/ecdsa.js';
import { isChandError } from '../../src/errors.js';
import { buildFundingTx } from '../../src/bitcoin/funding.js';
import { expectedTxWeight } from '../../src/bitcoin/weight.js';
import { hash160, p2pkhScriptFromHash, p2wpkhScript, p2wshScript } from '../../src/bitcoin/script.js';
import { decodeTx, encodeTx } from '../../src/bitcoin/transaction.js';
import { computeTxid } from '../../src/bitcoin/txid.js';
import { fundingVector } from './support/bolt03-vectors.js';

const v = fundingVector();
const coinbasePubkey = publicKeyFromPrivate(v.coinbasePrivkey);
const coinbaseTx = decodeTx(v.coinbaseTx);

function build(overrides: Partial<Parameters<typeof buildFundingTx>[0]> = {}) {
  return buildFundingTx({
    utxos: [
      {
        txid: v.inputTxid,
        index: v.inputIndex,
        value: v.inputSat,
        script: coinbaseTx.outputs[v.inputIndex]!.script,
      },
    ],
    fundingAmountSat: v.fundingSat,
    localFundingPubkey: v.localFundingPubkey,
    remoteFundingPubkey: v.remoteFundingPubkey,
    changeScript: p2wpkhScript(coinbasePubkey),
    feeratePerKw: v.feeratePerKw,
    ...overrides,
  });
}

describe('BOLT 3 Appendix B: funding transaction', () => {
  it('the input is the coinbase output paying to the listed key', () => {
    expect(computeTxid(v.coinbaseTx)).toBe(v.inputTxid);
    expect(bytesToHex(coinbaseTx.outputs[v.inputIndex]!.script)).toBe(bytesToHex(p2pkhScriptFromHash(hash160(coinbasePubkey))));
    expect(coinbaseTx.outputs[v.inputIndex]!.value).toBe(v.inputSat);
  });

  it('funding witness script is 2-of-2 over the sorted funding pubkeys', () => {
    expect(bytesToHex(fundingWitnessScript(v.localFundingPubkey, v.remoteFundingPubkey))).toBe(bytesToHex(v.fundingWitnessScript));
    // Order of the arguments does not matter: the keys are sorted.
    expect(bytesToHex(fundingWitnessScript(v.remoteFundingPubkey, v.localFundingPubkey))).toBe(bytesToHex(v.fundingWitnessScript));
    const [first] = sortFundingPubkeys(v.remoteFundingPubkey, v.localFundingPubkey);
    expect(bytesToHex(first)).toBe(bytesToHex(v.localFundingPubkey)); // 02... sorts before 03...
  });

  it('funding transaction: change, fee, output order and signed bytes', () => {
    const funding = build();
    expect(funding.fundingOutputIndex).toBe(v.fundingOutputIndex);
    const change = funding.tx.outputs[funding.changeOutputIndex]!;
    expect(change.value).toBe(v.changeSat);
    expect(funding.feeSat).toBe(v.inputSat - v.fundingSat - v.changeSat);
    expect(bytesToHex(funding.tx.outputs[funding.fundingOutputIndex]!.script)).toBe(bytesToHex(p2wshScript(v.fundingWitnessScript)));

    // Sign the legacy P2PKH input; the spec's signature is deterministic (RFC 6979).
    const scure = Transaction.fromRaw(encodeTx(funding.tx), { allowUnknownOutputs: true });
    scure.updateInput(0, { nonWitnessUtxo: v.coinbaseTx });
    scure.signIdx(v.coinbasePrivkey, 0);
    scure.finalizeIdx(0);
    const signed = scure.extract();
    expect(bytesToHex(signed)).toBe(bytesToHex(v.fundingTx));
    expect(computeTxid(signed)).toBe(v.txid);
    // A legacy input's scriptSig is part of the txid, so the unsigned form has another txid:
    // the reason PSBT funding accepts segwit inputs only.
    expect(funding.txid).not.toBe(v.txid);
  });

  it('the expected weight matches the signed transaction within the signature-size slack', () => {
    const funding = build();
    const actual = 4 * v.fundingTx.length; // no witness
    expect(funding.expectedWeight).toBeGreaterThanOrEqual(actual);
    expect(funding.expectedWeight - actual).toBeLessThanOrEqual(4 * 2);
  });

  it('drops change below dust into the fee', () => {
    const weightNoChange = expectedTxWeight([{ scriptSigSize: 107, witnessSize: 0 }], [{ value: 0n, script: fundingScriptPubKey(v.localFundingPubkey, v.remoteFundingPubkey) }]);
    const feeNoChange = (BigInt(v.feeratePerKw) * BigInt(weightNoChange) + 999n) / 1000n;
    const funding = build({ fundingAmountSat: v.inputSat - feeNoChange - 100n });
    expect(funding.changeOutputIndex).toBe(-1);
    expect(funding.tx.outputs).toHaveLength(1);
    expect(funding.feeSat).toBe(feeNoChange + 100n);
  });

  it('refuses when the inputs cannot pay funding plus fee', () => {
    let caught: unknown;
    try {
      build({ fundingAmountSat: v.inputSat });
    } catch (err) {
      caught = err;
    }
    expect(isChandError(caught, 'INSUFFICIENT_FUNDS')).toBe(true);
  });
});
