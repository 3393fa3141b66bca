/**
 * External funding through a PSBT: build it, have two independent wallets sign their own
 * inputs (one P2WPKH, one P2TR) with @scure/btc-signer, combine, and verify; then every way a
 * returned PSBT or transaction can be wrong, each with its own error code.
 */
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { PSBTCombine, SigHash, Transaction, p2tr } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import { fundingScriptPubKey } from '../../src/bitcoin/bolt3-scripts.js';
import type { FundingTxParams } from '../../src/bitcoin/funding.js';
import { createFundingPsbt, decodeFundingPsbt, verifySignedFunding } from '../../src/bitcoin/psbt-funding.js';
import { p2pkhScriptFromHash, p2wpkhScript } from '../../src/bitcoin/script.js';
import { decodeTx, encodeTx, txWeight, withWitness } from '../../src/bitcoin/transaction.js';
import { computeTxid } from '../../src/bitcoin/txid.js';

const aliceKey = new Uint8Array(32).fill(0x11); // P2WPKH wallet
const bobKey = new Uint8Array(32).fill(0x22); // P2TR wallet
const alicePub = secp256k1.getPublicKey(aliceKey, true);
const bobXOnly = schnorr.getPublicKey(bobKey);
const bobScript = p2tr(bobXOnly).script;
const localFunding = secp256k1.getPublicKey(new Uint8Array(32).fill(0x33), true);
const remoteFunding = secp256k1.getPublicKey(new Uint8Array(32).fill(0x44), true);

const params: FundingTxParams = {
  utxos: [
    { txid: 'aa'.repeat(32), index: 1, value: 600_000n, script: p2wpkhScript(alicePub) },
    { txid: '0b'.repeat(32), index: 0, value: 700_000n, script: bobScript, tapInternalKey: bobXOnly },
  ],
  fundingAmountSat: 1_000_000n,
  localFundingPubkey: localFunding,
  remoteFundingPubkey: remoteFunding,
  changeScript: p2wpkhScript(alicePub),
  feeratePerKw: 2500,
};

function signAs(psbt: Uint8Array, key: Uint8Array, index: number, sighash?: number): Uint8Array {
  const tx = Transaction.fromPSBT(psbt, { allowUnknownOutputs: true });
  if (sighash !== undefined) tx.updateInput(index, { sighashType: sighash });
  tx.signIdx(key, index, sighash === undefined ? undefined : [sighash]);
  return tx.toPSBT(0);
}

function fullySigned(psbt: Uint8Array): { psbt: Uint8Array; raw: Uint8Array } {
  const { funding } = createFundingPsbt(params);
  const aliceIdx = funding.inputs.findIndex((u) => u.txid === 'aa'.repeat(32));
  const signedA = signAs(psbt, aliceKey, aliceIdx);
  const signedB = signAs(psbt, bobKey, 1 - aliceIdx);
  const combined = Transaction.fromPSBT(PSBTCombine([signedA, signedB]), { allowUnknownOutputs: true });
  combined.finalize();
  return { psbt: combined.toPSBT(0), raw: combined.extract() };
}

function codeOf(fn: () => unknown): ErrorCode | 'none' | 'untyped' {
  try {
    fn();
    return 'none';
  } catch (err) {
    return isChandError(err) ? err.code : 'untyped';
  }
}

describe('PSBT funding round trip', () => {
  const { psbt, funding } = createFundingPsbt(params);

  it('builds a PSBT whose txid is fixed before signing, with witness_utxo on every input', () => {
    const summary = decodeFundingPsbt(psbt);
    expect(summary.txid).toBe(funding.txid);
    expect(summary.prevouts.map((p) => p.value)).toEqual(funding.inputs.map((u) => u.value));
    // BIP 69 input order: 0b.. before aa..
    expect(funding.tx.inputs.map((i) => i.txid)).toEqual(['0b'.repeat(32), 'aa'.repeat(32)]);
    expect(bytesToHex(funding.tx.outputs[funding.fundingOutputIndex]!.script)).toBe(bytesToHex(fundingScriptPubKey(localFunding, remoteFunding)));
    const change = funding.tx.outputs[funding.changeOutputIndex]!.value;
    expect(change + params.fundingAmountSat + funding.feeSat).toBe(1_300_000n);
  });

  it('two independent signers, combined: verifies as a PSBT and as a raw transaction', () => {
    const signed = fullySigned(psbt);
    const fromPsbt = verifySignedFunding(psbt, { psbt: signed.psbt });
    const fromTx = verifySignedFunding(psbt, { tx: signed.raw });
    expect(fromPsbt.txid).toBe(funding.txid);
    expect(fromTx.txid).toBe(funding.txid);
    expect(bytesToHex(fromPsbt.raw)).toBe(bytesToHex(signed.raw));
    expect(computeTxid(fromTx.raw)).toBe(funding.txid);
    // The fee meets the target feerate for the real weight.
    const weight = txWeight(fromTx.tx);
    expect(funding.feeSat * 1000n).toBeGreaterThanOrEqual(BigInt(params.feeratePerKw) * BigInt(weight));
  });

  it('finalizes a signed but unfinalized PSBT itself', () => {
    const aliceIdx = funding.inputs.findIndex((u) => u.txid === 'aa'.repeat(32));
    const combined = PSBTCombine([signAs(psbt, aliceKey, aliceIdx), signAs(psbt, bobKey, 1 - aliceIdx)]);
    expect(verifySignedFunding(psbt, { psbt: combined }).txid).toBe(funding.txid);
  });

  it('PSBT_NOT_FINALIZED when an input is unsigned', () => {
    const aliceIdx = funding.inputs.findIndex((u) => u.txid === 'aa'.repeat(32));
    const onlyAlice = signAs(psbt, aliceKey, aliceIdx);
    expect(codeOf(() => verifySignedFunding(psbt, { psbt: onlyAlice }))).toBe('PSBT_NOT_FINALIZED');
    const raw = decodeTx(fullySigned(psbt).raw);
    const stripped = withWitness(raw, 1 - aliceIdx, []);
    expect(codeOf(() => verifySignedFunding(psbt, { tx: encodeTx(stripped) }))).toBe('PSBT_NOT_FINALIZED');
  });

  it('PSBT_OUTPUTS_MISMATCH when the wallet changed an output', () => {
    const raw = decodeTx(fullySigned(psbt).raw);
    const outputs = raw.outputs.map((o, i) => (i === funding.changeOutputIndex ? { ...o, value: o.value - 1000n } : o));
    expect(codeOf(() => verifySignedFunding(psbt, { tx: encodeTx({ ...raw, outputs }) }))).toBe('PSBT_OUTPUTS_MISMATCH');
    const tx = Transaction.fromPSBT(psbt, { allowUnknownOutputs: true });
    tx.addOutput({ script: p2wpkhScript(alicePub), amount: 1000n });
    expect(codeOf(() => verifySignedFunding(psbt, { psbt: tx.toPSBT(0) }))).toBe('PSBT_OUTPUTS_MISMATCH');
  });

  it('PSBT_TXID_MISMATCH when inputs, sequence or locktime changed', () => {
    const raw = decodeTx(fullySigned(psbt).raw);
    expect(codeOf(() => verifySignedFunding(psbt, { tx: encodeTx({ ...raw, lockTime: 1 }) }))).toBe('PSBT_TXID_MISMATCH');
    const inputs = raw.inputs.map((input, i) => (i === 0 ? { ...input, sequence: 0xfffffffd } : input));
    expect(codeOf(() => verifySignedFunding(psbt, { tx: encodeTx({ ...raw, inputs }) }))).toBe('PSBT_TXID_MISMATCH');
  });

  it('SIGNATURE_INVALID for a forged, misplaced or partial-coverage signature', () => {
    const raw = decodeTx(fullySigned(psbt).raw);
    const aliceIdx = funding.inputs.findIndex((u) => u.txid === 'aa'.repeat(32));
    // Flip a bit inside r of Alice's DER signature: still DER, no longer valid.
    const [sig, pub] = raw.inputs[aliceIdx]!.witness as [Uint8Array, Uint8Array];
    const forged = Uint8Array.from(sig);
    forged[10]! ^= 0x01;
    expect(codeOf(() => verifySignedFunding(psbt, { tx: encodeTx(withWitness(raw, aliceIdx, [forged, pub])) }))).toBe('SIGNATURE_INVALID');
    // Right signature, wrong key.
    const otherPub = secp256k1.getPublicKey(new Uint8Array(32).fill(0x55), true);
    expect(codeOf(() => verifySignedFunding(psbt, { tx: encodeTx(withWitness(raw, aliceIdx, [sig, otherPub])) }))).toBe('SIGNATURE_INVALID');
    // Taproot signature bit flip.
    const bobSig = Uint8Array.from(raw.inputs[1 - aliceIdx]!.witness[0]!);
    bobSig[5]! ^= 0x80;
    expect(codeOf(() => verifySignedFunding(psbt, { tx: encodeTx(withWitness(raw, 1 - aliceIdx, [bobSig])) }))).toBe('SIGNATURE_INVALID');
    // A SIGHASH_NONE signature would let anyone redirect the outputs.
    const none = Transaction.fromPSBT(signAs(signAs(psbt, aliceKey, aliceIdx, SigHash.NONE), bobKey, 1 - aliceIdx), { allowUnknownOutputs: true });
    none.finalize();
    expect(codeOf(() => verifySignedFunding(psbt, { tx: none.extract() }))).toBe('SIGNATURE_INVALID');
  });

  it('PSBT_INVALID for unparsable PSBTs and for non-segwit UTXOs; DecodeError for a broken raw tx', () => {
    expect(codeOf(() => verifySignedFunding(psbt, { psbt: new Uint8Array([0x70, 0x73, 0x62, 0x74, 0xff, 0x00]) }))).toBe('PSBT_INVALID');
    expect(codeOf(() => verifySignedFunding(new Uint8Array(10), { tx: fullySigned(psbt).raw }))).toBe('PSBT_INVALID');
    expect(codeOf(() => verifySignedFunding(psbt, { tx: fullySigned(psbt).raw.subarray(0, 50) }))).toBe('DECODE_FAILED');
    const legacy = { ...params, utxos: [{ ...params.utxos[0]!, script: p2pkhScriptFromHash(new Uint8Array(20)) }] };
    expect(codeOf(() => createFundingPsbt(legacy))).toBe('PSBT_INVALID');
  });

  it('INSUFFICIENT_FUNDS when the UTXOs cannot cover funding plus fee', () => {
    expect(codeOf(() => createFundingPsbt({ ...params, fundingAmountSat: 1_300_000n }))).toBe('INSUFFICIENT_FUNDS');
  });
});
