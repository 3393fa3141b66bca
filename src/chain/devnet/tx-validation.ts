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
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { RawTx, Transaction } from '@scure/btc-signer';
import { bytesToHex } from '../../codec/bytes.js';
import { DecodeError } from '../../errors.js';
import { computeTxid, stripWitness } from '../../bitcoin/txid.js';
import { lockTimeSatisfied, sequenceSatisfied, verifyWitnessV0, type SignatureChecker } from './script-interpreter.js';

/** Transactions above this weight are refused (the standardness limit). */
export const MAX_STANDARD_TX_WEIGHT = 400_000;
/** 21 million BTC in satoshis. */
export const MAX_MONEY = 2_100_000_000_000_000n;
/** nLockTime values at or above this are UNIX times, below it block heights. */
export const LOCKTIME_THRESHOLD = 500_000_000;
/** An input sequence with this bit set opts out of relative locks (BIP68). */
export const SEQUENCE_LOCKTIME_DISABLE_FLAG = 0x8000_0000;
/** An input sequence with this bit set holds a time-based relative lock in units of 512 s. */
export const SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22;
const SEQUENCE_LOCKTIME_MASK = 0xffff;
const SEQUENCE_FINAL = 0xffff_ffff;

/** One input of a decoded transaction; `txid` is in display order. */
export interface TxInput {
  readonly txid: string;
  readonly vout: number;
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
  readonly witness: readonly Uint8Array[];
}

/** One output of a decoded transaction. */
export interface TxOutput {
  readonly value: bigint;
  readonly script: Uint8Array;
}

/** A transaction decoded from its serialization, with its ids and size. */
export interface DecodedTx {
  readonly raw: Uint8Array;
  readonly txid: string;
  readonly wtxid: string;
  readonly version: number;
  readonly lockTime: number;
  readonly inputs: readonly TxInput[];
  readonly outputs: readonly TxOutput[];
  readonly weight: number;
}

/** Decodes a serialized transaction (segwit or legacy). Throws DecodeError if malformed or followed by trailing bytes. */
export function decodeTransaction(raw: Uint8Array): DecodedTx {
  let decoded;
  try {
    decoded = RawTx.decode(raw);
  } catch (err) {
    throw new DecodeError(`malformed transaction: ${(err as Error).message}`, { cause: err });
  }
  const txid = computeTxid(raw);
  const witnesses = decoded.witnesses ?? [];
  return {
    raw,
    txid,
    wtxid: bytesToHex(sha256(sha256(raw)).reverse()),
    version: decoded.version,
    lockTime: decoded.lockTime,
    inputs: decoded.inputs.map((input, i) => ({
      txid: bytesToHex(input.txid),
      vout: input.index,
      scriptSig: input.finalScriptSig,
      sequence: input.sequence,
      witness: witnesses[i] ?? [],
    })),
    outputs: decoded.outputs.map((output) => ({ value: output.amount, script: output.script })),
    weight: stripWitness(raw).length * 3 + raw.length,
  };
}

/** True if the input has the coinbase shape: a null outpoint. */
export function isNullOutpoint(input: Pick<TxInput, 'txid' | 'vout'>): boolean {
  return input.vout === 0xffff_ffff && /^0{64}$/.test(input.txid);
}

/** Context-free checks. Returns a rejection reason, or undefined when the transaction is well-formed. */
export function checkTransactionShape(tx: DecodedTx): string | undefined {
  if (tx.inputs.length === 0) return 'bad-txns-vin-empty';
  if (tx.outputs.length === 0) return 'bad-txns-vout-empty';
  if (tx.version < 1 || tx.version > 3) return `version (transaction version ${tx.version} is not standard)`;
  if (tx.weight > MAX_STANDARD_TX_WEIGHT) return `tx-size (weight ${tx.weight} exceeds ${MAX_STANDARD_TX_WEIGHT})`;
  let total = 0n;
  for (const output of tx.outputs) {
    if (output.value > MAX_MONEY) return 'bad-txns-vout-toolarge';
    total += output.value;
    if (total > MAX_MONEY) return 'bad-txns-txouttotal-toolarge';
  }
  const seen = new Set<string>();
  for (const input of tx.inputs) {
    if (isNullOutpoint(input)) return 'bad-txns-prevout-null';
    const key = `${input.txid}:${input.vout}`;
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
export function isFinal(tx: DecodedTx, height: number, mtp: number): boolean {
  if (tx.lockTime === 0) return true;
  const limit = tx.lockTime < LOCKTIME_THRESHOLD ? height : mtp;
  if (tx.lockTime < limit) return true;
  // A locktime in the future is still ignored when every input opted out with a final sequence.
  return tx.inputs.every((input) => input.sequence === SEQUENCE_FINAL);
}

/** Whether every BIP68 relative lock of the inputs is satisfied in block `ctx.nextHeight`. */
export function relativeLocksSatisfied(tx: DecodedTx, spent: readonly SpentOutput[], ctx: SpendContext): boolean {
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

/** A permissive btc-signer view of `raw`, used only to compute BIP143 digests. */
function sighashView(raw: Uint8Array): Transaction {
  return Transaction.fromRaw(raw, {
    allowUnknownOutputs: true,
    allowUnknownInputs: true,
    allowUnknownVersion: true,
    disableScriptCheck: true,
  });
}

/** The SignatureChecker of input `index` of `tx`, spending an output worth `amount`. */
export function inputChecker(tx: DecodedTx, view: Transaction, index: number, amount: bigint): SignatureChecker {
  const sequence = tx.inputs[index]!.sequence;
  return {
    verifySignature(der, hashType, pubkey, scriptCode) {
      try {
        const digest = view.preimageWitnessV0(index, scriptCode, hashType, amount);
        return secp256k1.verify(der, digest, pubkey, { prehash: false, format: 'der', lowS: false });
      } catch {
        // A key off the curve or an unparsable signature simply does not verify.
        return false;
      }
    },
    checkLockTime: (required) => lockTimeSatisfied(required, tx.lockTime, sequence),
    checkSequence: (required) => sequenceSatisfied(required, tx.version, sequence),
  };
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

  let view: Transaction;
  try {
    view = sighashView(tx.raw);
  } catch (err) {
    return reject(`TX decode failed (${(err as Error).message})`);
  }
  for (let i = 0; i < tx.inputs.length; i++) {
    const input = tx.inputs[i]!;
    if (input.scriptSig.length !== 0) {
      return reject(`mandatory-script-verify-flag-failed (input ${i}: a witness spend needs an empty scriptSig)`);
    }
    const result = verifyWitnessV0(spent[i]!.script, input.witness, inputChecker(tx, view, i, spent[i]!.value));
    if (!result.ok) {
      const prefix = result.policy ? 'non-mandatory-script-verify-flag' : 'mandatory-script-verify-flag-failed';
      return reject(`${prefix} (input ${i}: ${result.error})`);
    }
  }
  return { ok: true, fee: valueIn - valueOut };
}
