/**
 * BOLT 3 second-stage HTLC transactions (no option_anchors).
 *
 * Each untrimmed HTLC output of a commitment is spent by one transaction: HTLC-timeout for an
 * offered HTLC (locktime = cltv_expiry) and HTLC-success for a received one (locktime 0,
 * needs the preimage). Both pay the HTLC amount minus their fee into the same revocable,
 * CSV-delayed script as to_local, and both need the peer's signature, which it sends in
 * commitment_signed in commitment output order — the order `buildHtlcTxs` returns.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, assertBytes } from './bytes.js';
import { htlcTxFee } from './bolt3-fees.js';
import { toLocalWitnessScript } from './bolt3-scripts.js';
import type { CommitmentHtlc, CommitmentTx } from './commitment.js';
import { SIGHASH_ALL, assertPrivateKey, encodeWitnessSignature, signDigest, verifyDigest } from './ecdsa.js';
import { p2wshScript } from './script.js';
import { segwitV0Sighash } from './sighash.js';
import { txidOf, withWitness } from './transaction.js';
import type { BitcoinTx } from './transaction.js';

/** One unsigned HTLC-success or HTLC-timeout transaction. */
export interface HtlcTx {
  readonly kind: 'success' | 'timeout';
  /** Index of the HTLC in the commitment's `params.htlcs`. */
  readonly htlcIndex: number;
  readonly htlc: CommitmentHtlc;
  /** The commitment output it spends. */
  readonly commitmentOutputIndex: number;
  readonly tx: BitcoinTx;
  readonly txid: string;
  /** Value of the spent HTLC output (the sighash commits to it). */
  readonly inputAmountSat: bigint;
  /** Witness script of the spent HTLC output. */
  readonly inputWitnessScript: Uint8Array;
  /** Witness script of this transaction's single output (to_local form). */
  readonly outputWitnessScript: Uint8Array;
}

/** The HTLC transactions of every untrimmed HTLC of `commitment`, in commitment output order. */
export function buildHtlcTxs(commitment: CommitmentTx): HtlcTx[] {
  const { params } = commitment;
  const outputWitnessScript = toLocalWitnessScript(params.keys.revocationPubkey, params.toSelfDelay, params.keys.localDelayedPubkey);
  const outputScript = p2wshScript(outputWitnessScript);
  const result: HtlcTx[] = [];
  commitment.outputs.forEach((output, commitmentOutputIndex) => {
    if (output.kind !== 'htlc') return;
    const htlc = params.htlcs[output.htlcIndex]!;
    const kind = htlc.direction === 'offered' ? 'timeout' : 'success';
    const tx: BitcoinTx = {
      version: 2,
      inputs: [{ txid: commitment.txid, index: commitmentOutputIndex, scriptSig: new Uint8Array(0), sequence: 0, witness: [] }],
      outputs: [{ value: output.value - htlcTxFee(htlc.direction, params.feeratePerKw), script: outputScript }],
      lockTime: kind === 'timeout' ? htlc.cltvExpiry : 0,
    };
    result.push({
      kind,
      htlcIndex: output.htlcIndex,
      htlc,
      commitmentOutputIndex,
      tx,
      txid: txidOf(tx),
      inputAmountSat: output.value,
      inputWitnessScript: output.witnessScript,
      outputWitnessScript,
    });
  });
  return result;
}

/** The SIGHASH_ALL digest both parties sign for an HTLC transaction. */
export function htlcTxSighash(htlcTx: HtlcTx): Uint8Array {
  return segwitV0Sighash(htlcTx.tx, 0, htlcTx.inputWitnessScript, htlcTx.inputAmountSat, SIGHASH_ALL);
}

/** Signs an HTLC transaction with an HTLC private key (the local or remote htlc key derived for this commitment). */
export function signHtlcTx(htlcTx: HtlcTx, htlcPrivateKey: Uint8Array): Uint8Array {
  assertPrivateKey('htlc private key', htlcPrivateKey);
  return signDigest(htlcTxSighash(htlcTx), htlcPrivateKey);
}

/** True if `signature` (64-byte compact) is `htlcPubkey`'s valid signature of the HTLC transaction. */
export function verifyHtlcTxSignature(htlcTx: HtlcTx, signature: Uint8Array, htlcPubkey: Uint8Array): boolean {
  assertBytes('signature', signature);
  return verifyDigest(signature, htlcTxSighash(htlcTx), htlcPubkey);
}

/**
 * The HTLC transaction with its witness: `0 <remotesig> <localsig> <preimage> <script>` for
 * success, `0 <remotesig> <localsig> <> <script>` for timeout. Signatures are 64-byte compact.
 * Throws RangeError if a preimage is missing, unexpected, or does not hash to the payment hash.
 */
export function finalizeHtlcTx(
  htlcTx: HtlcTx,
  signatures: { readonly local: Uint8Array; readonly remote: Uint8Array },
  paymentPreimage?: Uint8Array,
): BitcoinTx {
  let last: Uint8Array;
  if (htlcTx.kind === 'success') {
    if (paymentPreimage === undefined) throw new RangeError('expected a payment preimage for an HTLC-success transaction, got none');
    assertBytes('payment preimage', paymentPreimage, 32);
    if (!bytesEqual(sha256(paymentPreimage), htlcTx.htlc.paymentHash)) {
      throw new RangeError('expected the preimage of the HTLC payment hash, got a different value');
    }
    last = paymentPreimage;
  } else {
    if (paymentPreimage !== undefined) throw new RangeError('expected no preimage for an HTLC-timeout transaction, got one');
    last = new Uint8Array(0);
  }
  return withWitness(htlcTx.tx, 0, [
    new Uint8Array(0),
    encodeWitnessSignature(signatures.remote),
    encodeWitnessSignature(signatures.local),
    last,
    htlcTx.inputWitnessScript,
  ]);
}
