/**
 * Sweeping our own delayed outputs after their CSV delay: the to_local output of our
 * commitment, and the output of our HTLC-success/-timeout transactions (same script).
 *
 * Each input takes the delayed path of `OP_IF <revocationpubkey> OP_ELSE <to_self_delay>
 * OP_CSV OP_DROP <local_delayedpubkey> OP_ENDIF OP_CHECKSIG`: nSequence = to_self_delay and
 * witness `<local_delayedsig> <> <script>`. The fee comes out of the single output at the
 * target feerate for the expected weight (73-byte signatures).
 */
import { assertBigInt, assertBytes, assertInt, assertTxid } from './bytes.js';
import { MAX_FEERATE_PER_KW } from './bolt3-fees.js';
import { toLocalWitnessScript } from './bolt3-scripts.js';
import { SIGHASH_ALL, assertPublicKey, encodeWitnessSignature, signDigest, verifyDigest } from './ecdsa.js';
import { dustThreshold } from './script.js';
import { segwitV0Sighash } from './sighash.js';
import { MAX_MONEY_SAT, txidOf } from './transaction.js';
import type { BitcoinTx, OutPoint } from './transaction.js';
import { expectedTxWeight, witnessSize } from './weight.js';

/** One delayed output of ours. */
export interface DelayedOutput {
  readonly outpoint: OutPoint;
  readonly amountSat: bigint;
  readonly revocationPubkey: Uint8Array;
  readonly localDelayedPubkey: Uint8Array;
  readonly toSelfDelay: number;
}

/** Parameters of `buildDelayedSweepTx`. */
export interface DelayedSweepParams {
  readonly outputs: readonly DelayedOutput[];
  readonly destinationScript: Uint8Array;
  readonly feeratePerKw: number;
  readonly lockTime?: number;
}

/** An unsigned sweep of delayed outputs. */
export interface DelayedSweepTx {
  readonly tx: BitcoinTx;
  readonly txid: string;
  readonly inputs: readonly (DelayedOutput & { readonly witnessScript: Uint8Array })[];
  readonly feeSat: bigint;
  readonly expectedWeight: number;
}

/** Expected witness size of the delayed path: `<sig> <> <script>`. */
function delayedWitnessSize(scriptLength: number): number {
  return witnessSize([73, 0, scriptLength]);
}

/** Builds the sweep. Throws RangeError if the outputs cannot pay the fee and leave a non-dust output. */
export function buildDelayedSweepTx(params: DelayedSweepParams): DelayedSweepTx {
  if (!Array.isArray(params.outputs) || params.outputs.length === 0) throw new RangeError('expected at least one delayed output, got none');
  assertBytes('destination script', params.destinationScript);
  assertInt('feerate_per_kw', params.feeratePerKw, 0, MAX_FEERATE_PER_KW);
  if (params.lockTime !== undefined) assertInt('lockTime', params.lockTime, 0, 0xffff_ffff);
  const inputs = params.outputs.map((o, i) => {
    assertTxid(`output ${i} txid`, o.outpoint.txid);
    assertInt(`output ${i} outpoint index`, o.outpoint.index, 0, 0xffff_ffff);
    assertBigInt(`output ${i} amount`, o.amountSat, 1n, MAX_MONEY_SAT);
    assertPublicKey(`output ${i} revocation pubkey`, o.revocationPubkey);
    assertPublicKey(`output ${i} local delayed pubkey`, o.localDelayedPubkey);
    // A CSV of 0 would be "no delay"; BOLT 2 bounds to_self_delay well below the 16-bit limit.
    assertInt(`output ${i} to_self_delay`, o.toSelfDelay, 1, 0xffff);
    return { ...o, witnessScript: toLocalWitnessScript(o.revocationPubkey, o.toSelfDelay, o.localDelayedPubkey) };
  });
  const total = inputs.reduce((s, i) => s + i.amountSat, 0n);
  const weight = expectedTxWeight(
    inputs.map((i) => ({ scriptSigSize: 0, witnessSize: delayedWitnessSize(i.witnessScript.length) })),
    [{ value: 0n, script: params.destinationScript }],
  );
  const fee = (BigInt(params.feeratePerKw) * BigInt(weight) + 999n) / 1000n;
  const value = total - fee;
  if (value < dustThreshold(params.destinationScript)) {
    throw new RangeError(`expected the delayed outputs (${total} sat) to cover the fee ${fee} sat and a non-dust output, got ${value} sat left`);
  }
  const tx: BitcoinTx = {
    version: 2, // CSV needs version 2
    inputs: inputs.map((i) => ({ txid: i.outpoint.txid, index: i.outpoint.index, scriptSig: new Uint8Array(0), sequence: i.toSelfDelay, witness: [] })),
    outputs: [{ value, script: params.destinationScript }],
    lockTime: params.lockTime ?? 0,
  };
  return { tx, txid: txidOf(tx), inputs, feeSat: fee, expectedWeight: weight };
}

/** The SIGHASH_ALL digest of sweep input `index`. */
export function delayedSweepSighash(sweep: DelayedSweepTx, index: number): Uint8Array {
  const input = sweep.inputs[index];
  if (input === undefined) throw new RangeError(`expected an input index below ${sweep.inputs.length}, got ${index}`);
  return segwitV0Sighash(sweep.tx, index, input.witnessScript, input.amountSat, SIGHASH_ALL);
}

/** Signs sweep input `index` with the local delayed private key of that output (64-byte compact). */
export function signDelayedSweepInput(sweep: DelayedSweepTx, index: number, localDelayedPrivateKey: Uint8Array): Uint8Array {
  return signDigest(delayedSweepSighash(sweep, index), localDelayedPrivateKey);
}

/** The sweep with every witness set; each signature is checked against its input's delayed key first (RangeError if invalid). */
export function finalizeDelayedSweep(sweep: DelayedSweepTx, signatures: readonly Uint8Array[]): BitcoinTx {
  if (signatures.length !== sweep.inputs.length) throw new RangeError(`expected ${sweep.inputs.length} signatures, got ${signatures.length}`);
  const inputs = sweep.tx.inputs.map((txIn, i) => {
    const input = sweep.inputs[i]!;
    const sig = signatures[i]!;
    if (!verifyDigest(sig, delayedSweepSighash(sweep, i), input.localDelayedPubkey)) {
      throw new RangeError(`expected a valid delayed-key signature for input ${i}, got one that does not verify`);
    }
    return { ...txIn, witness: [encodeWitnessSignature(sig), new Uint8Array(0), input.witnessScript] };
  });
  return { ...sweep.tx, inputs };
}
