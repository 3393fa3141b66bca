/**
 * Signature hashes, computed by @scure/btc-signer over chand's plain `BitcoinTx`.
 *
 * The transaction is handed to btc-signer in its stripped serialization; btc-signer's own
 * output-script checks are relaxed because commitment transactions carry scripts it does not
 * know, and the digest does not depend on them.
 */
import { Transaction } from '@scure/btc-signer';
import { assertBigInt, assertBytes, assertInt } from './bytes.js';
import { SIGHASH_ALL } from './ecdsa.js';
import { MAX_MONEY_SAT, encodeTx } from './transaction.js';
import type { BitcoinTx, TxOutput } from './transaction.js';

/** Taproot SIGHASH_DEFAULT (0x00): like ALL, with a 64-byte signature. */
export const SIGHASH_DEFAULT = 0x00;

const SUPPORTED_V0 = new Set([0x01, 0x02, 0x03, 0x81, 0x82, 0x83]);

/**
 * The BIP 143 digest for input `inputIndex` of `tx` spending an output worth `amountSat` whose
 * script code is `scriptCode` (the witness script for P2WSH; the P2PKH script for P2WPKH).
 */
export function segwitV0Sighash(
  tx: BitcoinTx,
  inputIndex: number,
  scriptCode: Uint8Array,
  amountSat: bigint,
  sighashType: number = SIGHASH_ALL,
): Uint8Array {
  assertInt('input index', inputIndex, 0, tx.inputs.length - 1);
  assertBytes('script code', scriptCode);
  assertBigInt('amount', amountSat, 0n, MAX_MONEY_SAT);
  if (!SUPPORTED_V0.has(sighashType)) throw new RangeError(`expected a segwit v0 sighash type, got ${sighashType}`);
  return toScure(tx).preimageWitnessV0(inputIndex, scriptCode, sighashType, amountSat);
}

/**
 * The BIP 341 key-path digest for input `inputIndex` of `tx`; `prevouts` are the outputs every
 * input spends, in input order (taproot signatures commit to all of them).
 */
export function taprootKeySpendSighash(
  tx: BitcoinTx,
  inputIndex: number,
  prevouts: readonly TxOutput[],
  sighashType: number = SIGHASH_DEFAULT,
): Uint8Array {
  assertInt('input index', inputIndex, 0, tx.inputs.length - 1);
  if (prevouts.length !== tx.inputs.length) {
    throw new RangeError(`expected ${tx.inputs.length} prevouts, got ${prevouts.length}`);
  }
  if (sighashType !== SIGHASH_DEFAULT && !SUPPORTED_V0.has(sighashType)) {
    throw new RangeError(`expected a taproot sighash type, got ${sighashType}`);
  }
  return toScure(tx).preimageWitnessV1(
    inputIndex,
    prevouts.map((p) => p.script),
    sighashType,
    prevouts.map((p) => p.value),
  );
}

function toScure(tx: BitcoinTx): Transaction {
  return Transaction.fromRaw(encodeTx(tx, { witness: false }), {
    allowUnknownOutputs: true,
    allowUnknownInputs: true,
    allowUnknownVersion: true,
    disableScriptCheck: true,
  });
}
