/**
 * Externally signed funding: an unsigned PSBT for the user's wallet, then verification of
 * what comes back.
 *
 * `createFundingPsbt` builds the funding transaction from the user's UTXOs (segwit only —
 * P2WPKH or P2TR — each with `witness_utxo`), so the txid is fixed before anyone signs and
 * the peer can sign our commitment (the refund) first. `verifySignedFunding` accepts either a
 * signed PSBT or a raw signed transaction and checks, in order: it parses; it has the same
 * outputs and the same txid as the unsigned PSBT; every input is finalized (a PSBT whose
 * inputs carry partial signatures is finalized here first); every input's signature is valid
 * for the prevout recorded in *our* unsigned PSBT under SIGHASH_ALL (or taproot DEFAULT), so a
 * wallet cannot sign away part of the transaction. Each failure is a BitcoinError with its
 * own code; malformed raw bytes are a DecodeError.
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { Transaction } from '@scure/btc-signer';
import { ErrorCode, isChandError } from '../errors.js';
import { assertBytes, bytesEqual } from './bytes.js';
import { SIGHASH_ALL, decodeWitnessSignature, verifyDigest } from './ecdsa.js';
import { BitcoinError } from './errors.js';
import { buildFundingTx } from './funding.js';
import type { FundingTx, FundingTxParams } from './funding.js';
import { classifyOutputScript, hash160, p2pkhScriptFromHash } from './script.js';
import { SIGHASH_DEFAULT, segwitV0Sighash, taprootKeySpendSighash } from './sighash.js';
import { decodeTx, encodeTx, txidOf } from './transaction.js';
import type { BitcoinTx, TxOutput } from './transaction.js';

const SCURE_OPTS = { allowUnknownOutputs: true, allowUnknownVersion: true } as const;

/** An unsigned funding PSBT (BIP 174, version 0) and the funding transaction it describes. */
export interface FundingPsbt {
  readonly psbt: Uint8Array;
  readonly funding: FundingTx;
}

/** The unsigned transaction and prevouts a PSBT describes. */
export interface PsbtSummary {
  readonly unsignedTx: BitcoinTx;
  readonly txid: string;
  /** `witness_utxo` of each input, in input order. */
  readonly prevouts: readonly TxOutput[];
}

/** What a signed funding transaction looks like once verified. */
export interface VerifiedFunding {
  readonly tx: BitcoinTx;
  /** The network serialization, ready to broadcast. */
  readonly raw: Uint8Array;
  readonly txid: string;
}

/** A signed funding transaction as a wallet returns it: a PSBT or a raw transaction. */
export type SignedFunding = { readonly psbt: Uint8Array } | { readonly tx: Uint8Array };

/**
 * Builds the funding transaction (see `buildFundingTx`) and wraps it in a PSBT with every
 * input's `witness_utxo` set. Throws BitcoinError(PSBT_INVALID) if a UTXO is not P2WPKH or
 * P2TR, and BitcoinError(INSUFFICIENT_FUNDS) if the UTXOs do not cover funding plus fee.
 */
export function createFundingPsbt(params: FundingTxParams): FundingPsbt {
  params.utxos.forEach((u, i) => {
    const type = u.script instanceof Uint8Array ? classifyOutputScript(u.script) : 'unknown';
    if (type !== 'p2wpkh' && type !== 'p2tr') {
      throw new BitcoinError(ErrorCode.PSBT_INVALID, `utxo ${i} is ${type}; external funding accepts only P2WPKH and P2TR outputs`);
    }
  });
  const funding = buildFundingTx(params);
  const tx = new Transaction({ ...SCURE_OPTS, version: funding.tx.version, lockTime: funding.tx.lockTime });
  funding.inputs.forEach((u, i) => {
    tx.addInput({
      txid: funding.tx.inputs[i]!.txid,
      index: u.index,
      sequence: funding.tx.inputs[i]!.sequence,
      witnessUtxo: { script: u.script, amount: u.value },
      ...(u.tapInternalKey !== undefined ? { tapInternalKey: u.tapInternalKey } : {}),
    });
  });
  for (const o of funding.tx.outputs) tx.addOutput({ script: o.script, amount: o.value });
  return { psbt: tx.toPSBT(0), funding };
}

/** Parses a PSBT into its unsigned transaction and prevouts. Throws BitcoinError(PSBT_INVALID) for anything malformed or lacking a `witness_utxo`. */
export function decodeFundingPsbt(psbt: Uint8Array): PsbtSummary {
  return summarize(parsePsbt(psbt, 'PSBT'), 'PSBT');
}

/**
 * Verifies a wallet's signed funding against our unsigned PSBT and returns the final
 * transaction. Throws BitcoinError with code PSBT_INVALID (unparsable PSBT), PSBT_OUTPUTS_MISMATCH,
 * PSBT_TXID_MISMATCH, PSBT_NOT_FINALIZED or SIGNATURE_INVALID; DecodeError for a malformed raw transaction.
 */
export function verifySignedFunding(unsignedPsbt: Uint8Array, signed: SignedFunding): VerifiedFunding {
  const expected = decodeFundingPsbt(unsignedPsbt);
  let finalTx: BitcoinTx;
  if ('psbt' in signed) {
    const scure = parsePsbt(signed.psbt, 'signed PSBT');
    const unsigned = unsignedTxOf(scure, 'signed PSBT');
    compareShape(expected, unsigned);
    finalTx = finalizedFromPsbt(scure, unsigned);
  } else {
    assertBytes('signed transaction', signed.tx);
    finalTx = decodeTx(signed.tx);
    compareShape(expected, finalTx);
    finalTx.inputs.forEach((input, i) => {
      if (input.witness.length === 0) throw notFinalized(`input ${i} has no witness`);
      if (input.scriptSig.length !== 0) throw notFinalized(`input ${i} has a scriptSig; segwit inputs must not`);
    });
  }
  finalTx.inputs.forEach((_, i) => verifyInput(finalTx, i, expected.prevouts));
  return { tx: finalTx, raw: encodeTx(finalTx), txid: txidOf(finalTx) };
}

function parsePsbt(bytes: Uint8Array, what: string): Transaction {
  assertBytes(what, bytes);
  try {
    return Transaction.fromPSBT(bytes, SCURE_OPTS);
  } catch (cause) {
    throw new BitcoinError(ErrorCode.PSBT_INVALID, `${what} could not be parsed`, { cause });
  }
}

function unsignedTxOf(scure: Transaction, what: string): BitcoinTx {
  try {
    return decodeTx(scure.unsignedTx);
  } catch (cause) {
    throw new BitcoinError(ErrorCode.PSBT_INVALID, `${what} holds an invalid unsigned transaction`, { cause });
  }
}

function summarize(scure: Transaction, what: string): PsbtSummary {
  const unsignedTx = unsignedTxOf(scure, what);
  const prevouts = unsignedTx.inputs.map((_, i): TxOutput => {
    const utxo = scure.getInput(i).witnessUtxo;
    if (utxo === undefined) throw new BitcoinError(ErrorCode.PSBT_INVALID, `${what} input ${i} has no witness_utxo`);
    return { value: utxo.amount, script: utxo.script };
  });
  return { unsignedTx, txid: txidOf(unsignedTx), prevouts };
}

/** Same outputs first (the part the user's money depends on), then same txid (inputs, version, locktime). */
function compareShape(expected: PsbtSummary, actual: BitcoinTx): void {
  const want = expected.unsignedTx.outputs;
  const sameOutputs =
    want.length === actual.outputs.length &&
    want.every((o, i) => o.value === actual.outputs[i]!.value && bytesEqual(o.script, actual.outputs[i]!.script));
  if (!sameOutputs) {
    throw new BitcoinError(ErrorCode.PSBT_OUTPUTS_MISMATCH, `signed transaction's outputs differ from the unsigned funding transaction's`);
  }
  const txid = txidOf(actual);
  if (txid !== expected.txid) {
    throw new BitcoinError(ErrorCode.PSBT_TXID_MISMATCH, `signed transaction has txid ${txid}, expected ${expected.txid}`);
  }
}

function finalizedFromPsbt(scure: Transaction, unsigned: BitcoinTx): BitcoinTx {
  const inputs = unsigned.inputs.map((input, i) => {
    let psbtInput = scure.getInput(i);
    if (psbtInput.finalScriptWitness === undefined) {
      if (psbtInput.partialSig === undefined && psbtInput.tapKeySig === undefined) throw notFinalized(`input ${i} is not signed`);
      try {
        scure.finalizeIdx(i);
      } catch (cause) {
        throw notFinalized(`input ${i} could not be finalized`, cause);
      }
      psbtInput = scure.getInput(i);
    }
    const witness = psbtInput.finalScriptWitness;
    if (witness === undefined || witness.length === 0) throw notFinalized(`input ${i} has no final witness`);
    if (psbtInput.finalScriptSig !== undefined && psbtInput.finalScriptSig.length > 0) {
      throw notFinalized(`input ${i} has a final scriptSig; segwit inputs must not`);
    }
    return { ...input, witness: witness.map((w) => Uint8Array.from(w)) };
  });
  return { ...unsigned, inputs };
}

function verifyInput(tx: BitcoinTx, index: number, prevouts: readonly TxOutput[]): void {
  const prevout = prevouts[index]!;
  const witness = tx.inputs[index]!.witness;
  const type = classifyOutputScript(prevout.script);
  const bad = (why: string): BitcoinError => new BitcoinError(ErrorCode.SIGNATURE_INVALID, `input ${index}: ${why}`);
  if (type === 'p2wpkh') {
    if (witness.length !== 2) throw bad(`P2WPKH witness must have 2 items, got ${witness.length}`);
    const [sigItem, pubkey] = witness as [Uint8Array, Uint8Array];
    const program = prevout.script.subarray(2);
    if (pubkey.length !== 33 || !bytesEqual(hash160(pubkey), program)) throw bad('public key does not match the spent output');
    let decoded: { signature: Uint8Array; sighashType: number };
    try {
      decoded = decodeWitnessSignature(sigItem);
    } catch (cause) {
      if (!isChandError(cause)) throw cause;
      throw new BitcoinError(ErrorCode.SIGNATURE_INVALID, `input ${index}: malformed signature`, { cause });
    }
    if (decoded.sighashType !== SIGHASH_ALL) throw bad(`sighash type 0x${decoded.sighashType.toString(16)}, SIGHASH_ALL required`);
    const digest = segwitV0Sighash(tx, index, p2pkhScriptFromHash(program), prevout.value, SIGHASH_ALL);
    if (!verifyDigest(decoded.signature, digest, pubkey)) throw bad('signature does not verify');
    return;
  }
  if (type === 'p2tr') {
    if (witness.length !== 1) throw bad(`only taproot key-path spends without annex are accepted, got ${witness.length} witness items`);
    const sig = witness[0]!;
    let sighashType: number;
    if (sig.length === 64) sighashType = SIGHASH_DEFAULT;
    else if (sig.length === 65 && sig[64] === SIGHASH_ALL) sighashType = SIGHASH_ALL;
    else throw bad(`taproot signature must be 64 bytes or 65 with SIGHASH_ALL, got ${sig.length} bytes`);
    const digest = taprootKeySpendSighash(tx, index, prevouts, sighashType);
    let ok = false;
    try {
      ok = schnorr.verify(sig.subarray(0, 64), digest, prevout.script.subarray(2));
    } catch {
      ok = false; // an output key that is not on the curve cannot have a valid signature
    }
    if (!ok) throw bad('signature does not verify');
    return;
  }
  throw new BitcoinError(ErrorCode.PSBT_INVALID, `input ${index} spends a ${type} output; only P2WPKH and P2TR are accepted`);
}

function notFinalized(message: string, cause?: unknown): BitcoinError {
  return new BitcoinError(ErrorCode.PSBT_NOT_FINALIZED, message, cause === undefined ? undefined : { cause });
}
