/**
 * The justice (penalty) transaction: after the peer broadcasts a commitment it has revoked,
 * we know its per-commitment secret, hence the revocation private key, and sweep at once:
 *
 * - its to_local output, and the output of any of its HTLC-success/-timeout transactions
 *   (same script): witness `<revocation_sig> 1 <script>`;
 * - its offered and received HTLC outputs: witness `<revocation_sig> <revocationpubkey> <script>`.
 *
 * In the parameters "local" means the owner of the revoked commitment, i.e. the peer, as in
 * the scripts. All inputs pay one output to our destination; the fee is taken from it at the
 * target feerate. Inputs signal RBF (sequence 0xFFFFFFFD) so the fee can be bumped.
 */
import { assertBigInt, assertBytes, assertInt, assertTxid } from './bytes.js';
import { MAX_FEERATE_PER_KW } from './bolt3-fees.js';
import { offeredHtlcWitnessScript, receivedHtlcWitnessScript, toLocalWitnessScript } from './bolt3-scripts.js';
import type { HtlcScriptKeys } from './bolt3-scripts.js';
import { SIGHASH_ALL, assertPublicKey, encodeWitnessSignature, signDigest, verifyDigest } from './ecdsa.js';
import { dustThreshold } from './script.js';
import { segwitV0Sighash } from './sighash.js';
import { MAX_MONEY_SAT, txidOf } from './transaction.js';
import type { BitcoinTx, OutPoint } from './transaction.js';
import { expectedTxWeight, witnessSize } from './weight.js';

/** A revoked output to sweep. */
export type JusticeInput =
  | {
      /** The revoked commitment's to_local, or the output of one of its HTLC transactions. */
      readonly kind: 'to_local';
      readonly outpoint: OutPoint;
      readonly amountSat: bigint;
      readonly revocationPubkey: Uint8Array;
      readonly localDelayedPubkey: Uint8Array;
      readonly toSelfDelay: number;
    }
  | {
      readonly kind: 'offered_htlc';
      readonly outpoint: OutPoint;
      readonly amountSat: bigint;
      readonly keys: HtlcScriptKeys;
      readonly paymentHash: Uint8Array;
    }
  | {
      readonly kind: 'received_htlc';
      readonly outpoint: OutPoint;
      readonly amountSat: bigint;
      readonly keys: HtlcScriptKeys;
      readonly paymentHash: Uint8Array;
      readonly cltvExpiry: number;
    };

/** Parameters of `buildJusticeTx`. */
export interface JusticeTxParams {
  readonly inputs: readonly JusticeInput[];
  readonly destinationScript: Uint8Array;
  readonly feeratePerKw: number;
}

/** One prepared input of a justice transaction. */
export interface PreparedJusticeInput {
  readonly input: JusticeInput;
  readonly witnessScript: Uint8Array;
  readonly revocationPubkey: Uint8Array;
}

/** An unsigned justice transaction. */
export interface JusticeTx {
  readonly tx: BitcoinTx;
  readonly txid: string;
  readonly inputs: readonly PreparedJusticeInput[];
  readonly feeSat: bigint;
  readonly expectedWeight: number;
}

/** Builds the justice transaction. Throws RangeError if the inputs cannot pay the fee and leave a non-dust output. */
export function buildJusticeTx(params: JusticeTxParams): JusticeTx {
  if (!Array.isArray(params.inputs) || params.inputs.length === 0) throw new RangeError('expected at least one revoked output, got none');
  assertBytes('destination script', params.destinationScript);
  assertInt('feerate_per_kw', params.feeratePerKw, 0, MAX_FEERATE_PER_KW);
  const prepared = params.inputs.map((input, i): PreparedJusticeInput => {
    assertTxid(`input ${i} txid`, input.outpoint.txid);
    assertInt(`input ${i} outpoint index`, input.outpoint.index, 0, 0xffff_ffff);
    assertBigInt(`input ${i} amount`, input.amountSat, 1n, MAX_MONEY_SAT);
    switch (input.kind) {
      case 'to_local':
        assertPublicKey(`input ${i} revocation pubkey`, input.revocationPubkey);
        return {
          input,
          witnessScript: toLocalWitnessScript(input.revocationPubkey, input.toSelfDelay, input.localDelayedPubkey),
          revocationPubkey: input.revocationPubkey,
        };
      case 'offered_htlc':
        return { input, witnessScript: offeredHtlcWitnessScript(input.keys, input.paymentHash), revocationPubkey: input.keys.revocationPubkey };
      case 'received_htlc':
        return {
          input,
          witnessScript: receivedHtlcWitnessScript(input.keys, input.paymentHash, input.cltvExpiry),
          revocationPubkey: input.keys.revocationPubkey,
        };
      default:
        throw new TypeError(`expected input ${i} kind to_local, offered_htlc or received_htlc, got ${String((input as { kind: unknown }).kind)}`);
    }
  });
  const total = prepared.reduce((s, p) => s + p.input.amountSat, 0n);
  const weight = expectedTxWeight(
    prepared.map((p) => ({ scriptSigSize: 0, witnessSize: witnessSize([73, p.input.kind === 'to_local' ? 1 : 33, p.witnessScript.length]) })),
    [{ value: 0n, script: params.destinationScript }],
  );
  const fee = (BigInt(params.feeratePerKw) * BigInt(weight) + 999n) / 1000n;
  const value = total - fee;
  if (value < dustThreshold(params.destinationScript)) {
    throw new RangeError(`expected the revoked outputs (${total} sat) to cover the fee ${fee} sat and a non-dust output, got ${value} sat left`);
  }
  const tx: BitcoinTx = {
    version: 2,
    inputs: prepared.map((p) => ({ txid: p.input.outpoint.txid, index: p.input.outpoint.index, scriptSig: new Uint8Array(0), sequence: 0xffff_fffd, witness: [] })),
    outputs: [{ value, script: params.destinationScript }],
    lockTime: 0,
  };
  return { tx, txid: txidOf(tx), inputs: prepared, feeSat: fee, expectedWeight: weight };
}

/** The SIGHASH_ALL digest of justice input `index`. */
export function justiceSighash(justice: JusticeTx, index: number): Uint8Array {
  const p = justice.inputs[index];
  if (p === undefined) throw new RangeError(`expected an input index below ${justice.inputs.length}, got ${index}`);
  return segwitV0Sighash(justice.tx, index, p.witnessScript, p.input.amountSat, SIGHASH_ALL);
}

/** Signs justice input `index` with the revocation private key of that commitment (64-byte compact). */
export function signJusticeInput(justice: JusticeTx, index: number, revocationPrivateKey: Uint8Array): Uint8Array {
  return signDigest(justiceSighash(justice, index), revocationPrivateKey);
}

/** The justice transaction with every witness set; each signature is checked against its revocation pubkey first (RangeError if invalid). */
export function finalizeJusticeTx(justice: JusticeTx, signatures: readonly Uint8Array[]): BitcoinTx {
  if (signatures.length !== justice.inputs.length) throw new RangeError(`expected ${justice.inputs.length} signatures, got ${signatures.length}`);
  const inputs = justice.tx.inputs.map((txIn, i) => {
    const p = justice.inputs[i]!;
    const sig = signatures[i]!;
    if (!verifyDigest(sig, justiceSighash(justice, i), p.revocationPubkey)) {
      throw new RangeError(`expected a valid revocation signature for input ${i}, got one that does not verify`);
    }
    // MINIMALIF: the branch selector is exactly 0x01; the HTLC scripts branch on the pubkey's hash instead.
    const selector = p.input.kind === 'to_local' ? Uint8Array.of(1) : p.revocationPubkey;
    return { ...txIn, witness: [encodeWitnessSignature(sig), selector, p.witnessScript] };
  });
  return { ...justice.tx, inputs };
}
