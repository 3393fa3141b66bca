/**
 * The cooperative closing transaction (BOLT 3 "Legacy Closing Transaction" and "Closing
 * Transaction").
 *
 * One input, the funding output; one output per side paying to the script from its
 * `shutdown`/`closing_complete`, in BIP 69 order. Balances are rounded down to whole
 * satoshis and the fee is taken from the side that pays it (the funder for closing_signed,
 * the closer for option_simple_close). An output below the dust limit is left out, as is an
 * output its owner chose to omit; an OP_RETURN output carries 0 sat (its balance goes to the
 * fee). Defaults are the legacy variant (sequence 0xFFFFFFFF, locktime 0); for
 * option_simple_close pass sequence 0xFFFFFFFD and the negotiated locktime.
 */
import { assertBigInt, assertBytes, assertInt, assertTxid, compareBytes } from './bytes.js';
import { fundingWitnessScript } from './bolt3-scripts.js';
import { assertPublicKey } from './ecdsa.js';
import { finalizeFundingInput, fundingInputSighash, signFundingInput, verifyFundingInputSignature } from './funding-input.js';
import type { FundingInputInfo } from './funding-input.js';
import { classifyOutputScript } from './script.js';
import { MAX_MONEY_SAT, txidOf } from './transaction.js';
import type { BitcoinTx, OutPoint, TxOutput } from './transaction.js';

/** Parameters of `buildClosingTx`. */
export interface ClosingTxParams extends FundingInputInfo {
  readonly fundingOutpoint: OutPoint;
  readonly localScript: Uint8Array;
  readonly remoteScript: Uint8Array;
  /** Final balances; with no HTLCs left they add up to the funding amount. */
  readonly localAmountMsat: bigint;
  readonly remoteAmountMsat: bigint;
  readonly feeSat: bigint;
  /** Who pays `feeSat`: the funder (legacy) or the closer (option_simple_close). */
  readonly feePayer: 'local' | 'remote';
  /** Outputs below this are left out (OP_RETURN outputs are never dust). */
  readonly dustLimitSat: bigint;
  readonly omitLocalOutput?: boolean;
  readonly omitRemoteOutput?: boolean;
  readonly lockTime?: number;
  readonly sequence?: number;
}

/** A built, unsigned closing transaction. */
export interface ClosingTx {
  readonly params: ClosingTxParams;
  readonly tx: BitcoinTx;
  readonly txid: string;
  /** -1 if left out. */
  readonly localOutputIndex: number;
  /** -1 if left out. */
  readonly remoteOutputIndex: number;
  /** The actual fee: funding amount minus outputs (at least `feeSat`). */
  readonly actualFeeSat: bigint;
  readonly fundingWitnessScript: Uint8Array;
}

/** Builds the unsigned closing transaction. Throws RangeError if the balances do not add up or the payer cannot cover the fee. */
export function buildClosingTx(params: ClosingTxParams): ClosingTx {
  validate(params);
  let local = params.localAmountMsat / 1000n;
  let remote = params.remoteAmountMsat / 1000n;
  if (params.feePayer === 'local') local -= params.feeSat;
  else remote -= params.feeSat;
  if (local < 0n || remote < 0n) {
    throw new RangeError(`expected the ${params.feePayer} balance to cover the fee ${params.feeSat} sat, got ${params.feePayer === 'local' ? local + params.feeSat : remote + params.feeSat} sat`);
  }
  const candidates: { side: 'local' | 'remote'; output: TxOutput }[] = [];
  const consider = (side: 'local' | 'remote', amount: bigint, script: Uint8Array, omit: boolean | undefined): void => {
    if (omit === true) return;
    const isOpReturn = classifyOutputScript(script) === 'op_return';
    if (!isOpReturn && amount < params.dustLimitSat) return;
    candidates.push({ side, output: { value: isOpReturn ? 0n : amount, script } });
  };
  consider('local', local, params.localScript, params.omitLocalOutput);
  consider('remote', remote, params.remoteScript, params.omitRemoteOutput);
  if (candidates.length === 0) throw new RangeError('expected at least one closing output, got none above the dust limit');
  candidates.sort((a, b) => (a.output.value !== b.output.value ? (a.output.value < b.output.value ? -1 : 1) : compareBytes(a.output.script, b.output.script)));

  const tx: BitcoinTx = {
    version: 2,
    inputs: [
      {
        txid: params.fundingOutpoint.txid,
        index: params.fundingOutpoint.index,
        scriptSig: new Uint8Array(0),
        sequence: params.sequence ?? 0xffff_ffff,
        witness: [],
      },
    ],
    outputs: candidates.map((c) => c.output),
    lockTime: params.lockTime ?? 0,
  };
  return {
    params,
    tx,
    txid: txidOf(tx),
    localOutputIndex: candidates.findIndex((c) => c.side === 'local'),
    remoteOutputIndex: candidates.findIndex((c) => c.side === 'remote'),
    actualFeeSat: params.fundingAmountSat - candidates.reduce((s, c) => s + c.output.value, 0n),
    fundingWitnessScript: fundingWitnessScript(params.localFundingPubkey, params.remoteFundingPubkey),
  };
}

/** The SIGHASH_ALL digest of the closing transaction. */
export function closingSighash(closing: ClosingTx): Uint8Array {
  return fundingInputSighash(closing.tx, closing.params);
}

/** Signs the closing transaction with a funding private key (64-byte compact, as in closing_signed / closing_sig). */
export function signClosingTx(closing: ClosingTx, fundingPrivateKey: Uint8Array): Uint8Array {
  return signFundingInput(closing.tx, closing.params, fundingPrivateKey);
}

/** True if `signature` is `fundingPubkey`'s valid signature of the closing transaction. */
export function verifyClosingSignature(closing: ClosingTx, signature: Uint8Array, fundingPubkey: Uint8Array): boolean {
  return verifyFundingInputSignature(closing.tx, closing.params, signature, fundingPubkey);
}

/** The closing transaction with its funding witness; both signatures are checked first (RangeError if invalid). */
export function finalizeClosingTx(closing: ClosingTx, localSignature: Uint8Array, remoteSignature: Uint8Array): BitcoinTx {
  return finalizeFundingInput(closing.tx, closing.params, localSignature, remoteSignature);
}

function validate(p: ClosingTxParams): void {
  assertTxid('funding txid', p.fundingOutpoint.txid);
  assertInt('funding output index', p.fundingOutpoint.index, 0, 0xffff_ffff);
  assertBigInt('funding amount', p.fundingAmountSat, 1n, MAX_MONEY_SAT);
  assertPublicKey('local funding pubkey', p.localFundingPubkey);
  assertPublicKey('remote funding pubkey', p.remoteFundingPubkey);
  assertBytes('local script', p.localScript);
  assertBytes('remote script', p.remoteScript);
  assertBigInt('local amount', p.localAmountMsat, 0n, MAX_MONEY_SAT * 1000n);
  assertBigInt('remote amount', p.remoteAmountMsat, 0n, MAX_MONEY_SAT * 1000n);
  assertBigInt('fee', p.feeSat, 0n, MAX_MONEY_SAT);
  if (p.feePayer !== 'local' && p.feePayer !== 'remote') throw new TypeError(`expected feePayer 'local' or 'remote', got ${String(p.feePayer)}`);
  assertBigInt('dust limit', p.dustLimitSat, 0n, MAX_MONEY_SAT);
  if (p.lockTime !== undefined) assertInt('lockTime', p.lockTime, 0, 0xffff_ffff);
  if (p.sequence !== undefined) assertInt('sequence', p.sequence, 0, 0xffff_ffff);
  const total = p.localAmountMsat + p.remoteAmountMsat;
  if (total !== p.fundingAmountSat * 1000n) {
    throw new RangeError(`expected balances to add up to the funding amount ${p.fundingAmountSat * 1000n} msat, got ${total} msat`);
  }
}
