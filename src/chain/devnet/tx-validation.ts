/**
 * Transaction validation for the devnet: the checks a Bitcoin node makes before accepting a
 * transaction into its mempool, limited to what chand's tests need.
 *
 * Split in two so that storage stays out of it: `checkTransactionShape` needs only the
 * transaction; `checkTransactionSpends` also needs the outputs it spends and the chain
 * context (next block height, median time past). The ledger looks those up (and rejects
 * missing, spent or double-spent inputs itself) and calls both.
 *
 * Rejection reasons use the tokens Bitcoin Core reports through Esplora
 * (`bad-txns-inputs-missingorspent`, `non-BIP68-final`, `mandatory-script-verify-flag-failed
 * (...)`, ...) so that code written against devnet recognizes the same conditions elsewhere;
 * the text in parentheses is chand's own.
 *
 * Transactions are parsed by the codec of src/bitcoin (`decodeTx`), and signatures are
 * checked against its BIP143 digests (`segwitV0Sighash`), so the devnet judges exactly the
 * bytes and digests the rest of chand produces.
 */
import { signatureFromDer, verifyDigest } from '../../bitcoin/ecdsa.js';
import { segwitV0Sighash } from '../../bitcoin/sighash.js';
import { MAX_MONEY_SAT, decodeTx, txWeight, txidOf, wtxidOf } from '../../bitcoin/transaction.js';
import type { BitcoinTx, OutPoint, TxOutput } from '../../bitcoin/transaction.js';
import {
  LOCKTIME_THRESHOLD,
  SEQUENCE_FINAL,
  SEQUENCE_LOCKTIME_DISABLE_FLAG,
  SEQUENCE_LOCKTIME_MASK,
  SEQUENCE_LOCKTIME_TYPE_FLAG,
  lockTimeSatisfied,
  sequenceSatisfied,
  verifyWitnessV0,
  type ScriptResult,
  type SignatureChecker,
} from './script-interpreter.js';

/** Transactions above this weight are refused (the standardness limit). */
export const MAX_STANDARD_TX_WEIGHT = 400_000;

/** A transaction decoded from its serialization `raw`, with its ids and weight. */
export interface DecodedTx extends BitcoinTx {
  readonly raw: Uint8Array;
  readonly txid: string;
  readonly wtxid: string;
  readonly weight: number;
}

/** Decodes a serialized transaction (segwit or legacy) with `decodeTx`. Throws DecodeError if malformed or followed by trailing bytes. */
export function decodeTransaction(raw: Uint8Array): DecodedTx {
  const tx = decodeTx(raw);
  return { ...tx, raw, txid: txidOf(tx), wtxid: wtxidOf(tx), weight: txWeight(tx) };
}

/** True if the input has the coinbase shape: a null outpoint. */
export function isNullOutpoint(input: OutPoint): boolean {
  return input.index === 0xffff_ffff && /^0{64}$/.test(input.txid);
}

/** Context-free checks. Returns a rejection reason, or undefined when the transaction is well-formed. */
export function checkTransactionShape(tx: DecodedTx): string | undefined {
  if (tx.inputs.length === 0) return 'bad-txns-vin-empty';
  if (tx.outputs.length === 0) return 'bad-txns-vout-empty';
  if (tx.version < 1 || tx.version > 3) return `version (transaction version ${tx.version} is not standard)`;
  if (tx.weight > MAX_STANDARD_TX_WEIGHT) return `tx-size (weight ${tx.weight} exceeds ${MAX_STANDARD_TX_WEIGHT})`;
  let total = 0n;
  for (const output of tx.outputs) {
    if (output.value > MAX_MONEY_SAT) return 'bad-txns-vout-toolarge';
    total += output.value;
    if (total > MAX_MONEY_SAT) return 'bad-txns-txouttotal-toolarge';
  }
  const seen = new Set<string>();
  for (const input of tx.inputs) {
    if (isNullOutpoint(input)) return 'bad-txns-prevout-null';
    const key = `${input.txid}:${input.index}`;
    if (seen.has(key)) return 'bad-txns-inputs-duplicate';
    seen.add(key);
  }
  return undefined;
}

/** The output an input spends, with where it was created. */
export interface SpentOutput {
  readonly value: bigint;
  readonly script: Uint8Array;
  /** Height of the block that created it, or undefined while its transaction is in the mempool. */
  readonly height: number | undefined;
}

/** The chain a transaction is checked against. */
export interface SpendContext {
  /** Height of the block that would include the transaction (tip + 1). */
  readonly nextHeight: number;
  /** Median time past of the block at `height` (median of it and its ten predecessors' times). */
  medianTimePast(height: number): number;
}

/** Whether absolute locktime `tx.lockTime` lets the transaction into block `height` whose previous MTP is `mtp`. */
export function isFinal(tx: BitcoinTx, height: number, mtp: number): boolean {
  if (tx.lockTime === 0) return true;
  const limit = tx.lockTime < LOCKTIME_THRESHOLD ? height : mtp;
  if (tx.lockTime < limit) return true;
  // A locktime in the future is still ignored when every input opted out with a final sequence.
  return tx.inputs.every((input) => input.sequence === SEQUENCE_FINAL);
}

/** Whether every BIP68 relative lock of the inputs is satisfied in block `ctx.nextHeight`. */
export function relativeLocksSatisfied(tx: BitcoinTx, spent: readonly SpentOutput[], ctx: SpendContext): boolean {
  if (tx.version < 2) return true;
  const tipMtp = ctx.medianTimePast(ctx.nextHeight - 1);
  for (let i = 0; i < tx.inputs.length; i++) {
    const sequence = tx.inputs[i]!.sequence;
    if ((sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG) !== 0) continue;
    // An output still in the mempool counts as created in the next block.
    const coinHeight = spent[i]!.height ?? ctx.nextHeight;
    const amount = sequence & SEQUENCE_LOCKTIME_MASK;
    if ((sequence & SEQUENCE_LOCKTIME_TYPE_FLAG) !== 0) {
      const coinTime = ctx.medianTimePast(Math.max(coinHeight - 1, 0));
      if (coinTime + amount * 512 - 1 >= tipMtp) return false;
    } else if (coinHeight + amount - 1 >= ctx.nextHeight) {
      return false;
    }
  }
  return true;
}

/** The SignatureChecker of input `index` of `tx`, spending an output worth `amount`. */
export function inputChecker(tx: BitcoinTx, index: number, amount: bigint): SignatureChecker {
  const sequence = tx.inputs[index]!.sequence;
  return {
    verifySignature(der, hashType, pubkey, scriptCode) {
      try {
        return verifyDigest(signatureFromDer(der), segwitV0Sighash(tx, index, scriptCode, amount, hashType), pubkey);
      } catch {
        // A DER signature whose r or s is out of range simply does not verify (verifyDigest
        // already answers false for a key off the curve).
        return false;
      }
    },
    checkLockTime: (required) => lockTimeSatisfied(required, tx.lockTime, sequence),
    checkSequence: (required) => sequenceSatisfied(required, tx.version, sequence),
  };
}

/**
 * Checks the script of input `index` of `tx`, which spends `spent`: the scriptSig must be
 * empty and the witness must satisfy the segwit v0 output script (`verifyWitnessV0`), with
 * signatures and timelocks checked against `tx`. `spent.value` enters only the signature
 * digests: whether amounts balance, and the other inputs, are `checkTransactionSpends`'s business.
 */
export function verifyInputWitness(tx: BitcoinTx, index: number, spent: TxOutput): ScriptResult {
  const input = tx.inputs[index];
  if (input === undefined) throw new RangeError(`expected an input index below ${tx.inputs.length}, got ${index}`);
  if (input.scriptSig.length !== 0) return { ok: false, error: 'a witness spend needs an empty scriptSig', policy: false };
  return verifyWitnessV0(spent.script, input.witness, inputChecker(tx, index, spent.value));
}

/** Result of `checkTransactionSpends`. */
export type SpendCheck = { readonly ok: true; readonly fee: bigint } | { readonly ok: false; readonly reason: string };

/**
 * Checks a well-shaped transaction against the outputs it spends (`spent[i]` for input i):
 * absolute and relative timelocks, amounts (no value created) and every input's witness.
 */
export function checkTransactionSpends(tx: DecodedTx, spent: readonly SpentOutput[], ctx: SpendContext): SpendCheck {
  if (spent.length !== tx.inputs.length) {
    throw new RangeError(`expected ${tx.inputs.length} spent outputs, got ${spent.length}`);
  }
  const reject = (reason: string): SpendCheck => ({ ok: false, reason });
  if (!isFinal(tx, ctx.nextHeight, ctx.medianTimePast(ctx.nextHeight - 1))) {
    return reject(`non-final (locktime ${tx.lockTime} not reached by block ${ctx.nextHeight})`);
  }
  let valueIn = 0n;
  for (const output of spent) valueIn += output.value;
  let valueOut = 0n;
  for (const output of tx.outputs) valueOut += output.value;
  if (valueIn < valueOut) return reject(`bad-txns-in-belowout, value in (${valueIn}) < value out (${valueOut})`);
  if (!relativeLocksSatisfied(tx, spent, ctx)) return reject('non-BIP68-final (a relative timelock has not expired)');

  for (let i = 0; i < tx.inputs.length; i++) {
    const result = verifyInputWitness(tx, i, spent[i]!);
    if (!result.ok) {
      const prefix = result.policy ? 'non-mandatory-script-verify-flag' : 'mandatory-script-verify-flag-failed';
      return reject(`${prefix} (input ${i}: ${result.error})`);
    }
  }
  return { ok: true, fee: valueIn - valueOut };
}
