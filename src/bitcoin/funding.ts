/**
 * The funding transaction: given UTXOs, a 2-of-2 P2WSH funding output, a change output and a
 * fee at a target feerate (BOLT 3 "Funding Transaction Output", vectors in Appendix B).
 *
 * Every given UTXO is spent (no coin selection). The fee is computed from the *expected*
 * weight (maximum-size signatures, as BOLT 3 does), rounded up so the feerate is never below
 * the target. Change below its dust threshold is dropped and goes to the fee. Inputs and
 * outputs are in BIP 69 order, so both peers derive the same transaction and txid.
 */
import { ErrorCode } from '../errors.js';
import { assertBigInt, assertBytes, assertInt, assertTxid, compareBytes } from './bytes.js';
import { fundingScriptPubKey, fundingWitnessScript } from './bolt3-scripts.js';
import { MAX_FEERATE_PER_KW } from './bolt3-fees.js';
import { BitcoinError } from './errors.js';
import { classifyOutputScript, dustThreshold } from './script.js';
import { MAX_MONEY_SAT, txidOf } from './transaction.js';
import type { BitcoinTx, Coin, TxOutput } from './transaction.js';
import { expectedTxWeight } from './weight.js';
import type { InputSatisfaction } from './weight.js';

/** A coin to spend in a funding transaction (`value` in satoshis, `script` its scriptPubKey), with optional spending hints. */
export interface FundingUtxo extends Coin {
  /** Input sequence (default 0xffffffff). */
  readonly sequence?: number;
  /** Unlocking size for script types `estimateInputSatisfaction` does not know. */
  readonly satisfaction?: InputSatisfaction;
  /** Taproot internal key (32 bytes), passed to PSBT signers for P2TR inputs. */
  readonly tapInternalKey?: Uint8Array;
}

/** Parameters of `buildFundingTx`. */
export interface FundingTxParams {
  readonly utxos: readonly FundingUtxo[];
  readonly fundingAmountSat: bigint;
  readonly localFundingPubkey: Uint8Array;
  readonly remoteFundingPubkey: Uint8Array;
  readonly changeScript: Uint8Array;
  readonly feeratePerKw: number;
  /** Change below this is dropped (default: Bitcoin Core's dust threshold for the change script). */
  readonly changeDustLimitSat?: bigint;
  readonly lockTime?: number;
}

/** A built, unsigned funding transaction. */
export interface FundingTx {
  readonly tx: BitcoinTx;
  readonly txid: string;
  /** The UTXOs in input order (BIP 69). */
  readonly inputs: readonly FundingUtxo[];
  readonly fundingOutputIndex: number;
  /** -1 when the change was below dust and went to the fee. */
  readonly changeOutputIndex: number;
  readonly feeSat: bigint;
  /** The expected weight the fee was computed for. */
  readonly expectedWeight: number;
  readonly fundingWitnessScript: Uint8Array;
}

/**
 * Worst-case unlocking sizes of the standard single-key script types: P2WPKH (73-byte
 * signature + 33-byte key), P2TR key path (64-byte signature + sighash byte), P2PKH (the
 * 107-byte scriptSig BOLT 3 Appendix B assumes). Undefined for other types.
 */
export function estimateInputSatisfaction(scriptPubKey: Uint8Array): InputSatisfaction | undefined {
  switch (classifyOutputScript(scriptPubKey)) {
    case 'p2wpkh':
      return { scriptSigSize: 0, witnessSize: 1 + 1 + 73 + 1 + 33 };
    case 'p2tr':
      return { scriptSigSize: 0, witnessSize: 1 + 1 + 65 };
    case 'p2pkh':
      return { scriptSigSize: 107, witnessSize: 0 };
    default:
      return undefined;
  }
}

/**
 * Builds the funding transaction. Throws BitcoinError(INSUFFICIENT_FUNDS) if the UTXOs cannot
 * pay the funding amount and the fee; RangeError/TypeError for malformed parameters.
 */
export function buildFundingTx(params: FundingTxParams): FundingTx {
  validate(params);
  const inputs = [...params.utxos].sort((a, b) => (a.txid !== b.txid ? (a.txid.toLowerCase() < b.txid.toLowerCase() ? -1 : 1) : a.index - b.index));
  const satisfactions = inputs.map((u, i) => {
    const s = u.satisfaction ?? estimateInputSatisfaction(u.script);
    if (s === undefined) throw new RangeError(`expected a satisfaction size for input ${i}: its script type is not a standard single-key type`);
    return s;
  });
  const fundingScript = fundingScriptPubKey(params.localFundingPubkey, params.remoteFundingPubkey);
  const totalIn = inputs.reduce((sum, u) => sum + u.value, 0n);
  const fundingOut: TxOutput = { value: params.fundingAmountSat, script: fundingScript };

  const feeFor = (outputs: TxOutput[]): { fee: bigint; weight: number } => {
    const weight = expectedTxWeight(satisfactions, outputs);
    return { fee: (BigInt(params.feeratePerKw) * BigInt(weight) + 999n) / 1000n, weight };
  };
  const changeDust = params.changeDustLimitSat ?? dustThreshold(params.changeScript);
  const withChange = feeFor([fundingOut, { value: 0n, script: params.changeScript }]);
  const change = totalIn - params.fundingAmountSat - withChange.fee;
  let outputs: TxOutput[];
  let fee: bigint;
  let weight: number;
  if (change >= changeDust && change > 0n) {
    outputs = [fundingOut, { value: change, script: params.changeScript }];
    ({ fee, weight } = withChange);
  } else {
    const noChange = feeFor([fundingOut]);
    if (totalIn < params.fundingAmountSat + noChange.fee) {
      throw new BitcoinError(
        ErrorCode.INSUFFICIENT_FUNDS,
        `inputs total ${totalIn} sat, need ${params.fundingAmountSat + noChange.fee} sat (funding ${params.fundingAmountSat} + fee ${noChange.fee})`,
      );
    }
    outputs = [fundingOut];
    weight = noChange.weight;
    fee = totalIn - params.fundingAmountSat;
  }
  outputs.sort((a, b) => (a.value !== b.value ? (a.value < b.value ? -1 : 1) : compareBytes(a.script, b.script)));

  const tx: BitcoinTx = {
    version: 2,
    inputs: inputs.map((u) => ({ txid: u.txid.toLowerCase(), index: u.index, scriptSig: new Uint8Array(0), sequence: u.sequence ?? 0xffff_ffff, witness: [] })),
    outputs,
    lockTime: params.lockTime ?? 0,
  };
  const fundingOutputIndex = outputs.findIndex((o) => o.script === fundingScript);
  return {
    tx,
    txid: txidOf(tx),
    inputs,
    fundingOutputIndex,
    changeOutputIndex: outputs.length === 2 ? 1 - fundingOutputIndex : -1,
    feeSat: fee,
    expectedWeight: weight,
    fundingWitnessScript: fundingWitnessScript(params.localFundingPubkey, params.remoteFundingPubkey),
  };
}

function validate(p: FundingTxParams): void {
  if (!Array.isArray(p.utxos) || p.utxos.length === 0) throw new RangeError('expected at least one UTXO, got none');
  const seen = new Set<string>();
  p.utxos.forEach((u, i) => {
    assertTxid(`utxo ${i} txid`, u.txid);
    assertInt(`utxo ${i} output index`, u.index, 0, 0xffff_ffff);
    assertBigInt(`utxo ${i} value`, u.value, 0n, MAX_MONEY_SAT);
    assertBytes(`utxo ${i} script`, u.script);
    if (u.sequence !== undefined) assertInt(`utxo ${i} sequence`, u.sequence, 0, 0xffff_ffff);
    if (u.tapInternalKey !== undefined) assertBytes(`utxo ${i} tapInternalKey`, u.tapInternalKey, 32);
    if (u.satisfaction !== undefined) {
      assertInt(`utxo ${i} scriptSig size`, u.satisfaction.scriptSigSize, 0, 10_000);
      assertInt(`utxo ${i} witness size`, u.satisfaction.witnessSize, 0, 400_000);
    }
    const key = `${u.txid.toLowerCase()}:${u.index}`;
    if (seen.has(key)) throw new RangeError(`expected distinct UTXOs, got ${key} twice`);
    seen.add(key);
  });
  assertBigInt('funding amount', p.fundingAmountSat, 1n, MAX_MONEY_SAT);
  assertBytes('change script', p.changeScript);
  assertInt('feerate_per_kw', p.feeratePerKw, 0, MAX_FEERATE_PER_KW);
  if (p.changeDustLimitSat !== undefined) assertBigInt('change dust limit', p.changeDustLimitSat, 0n, MAX_MONEY_SAT);
  if (p.lockTime !== undefined) assertInt('lockTime', p.lockTime, 0, 0xffff_ffff);
}
