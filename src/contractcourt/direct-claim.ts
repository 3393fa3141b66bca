/**
 * Single-input claims that src/bitcoin has no builder for: the sweep of a P2WPKH output
 * (our to_remote, option_static_remotekey), and the direct spends of the HTLC outputs of the
 * peer's commitment — after expiry for an HTLC we offered (witness `<sig> <>`, nLockTime =
 * cltv_expiry) and with the preimage for one it offered (witness `<sig> <preimage>`).
 *
 * Each pays one output to our destination; the fee comes out of it at the target feerate for
 * the expected weight (73-byte signatures), rounded up, as src/bitcoin/sweep.ts does. An
 * output that cannot pay the fee and leave a non-dust output is reported as 'dust'.
 */
import { assertBigInt, assertBytes, assertInt, assertTxid } from '../bitcoin/bytes.js';
import { MAX_FEERATE_PER_KW } from '../bitcoin/bolt3-fees.js';
import { SIGHASH_ALL, assertPublicKey, encodeWitnessSignature, verifyDigest } from '../bitcoin/ecdsa.js';
import { dustThreshold, hash160, p2pkhScriptFromHash } from '../bitcoin/script.js';
import { segwitV0Sighash } from '../bitcoin/sighash.js';
import { MAX_MONEY_SAT, encodeTx, txidOf, type BitcoinTx, type OutPoint } from '../bitcoin/transaction.js';
import { expectedTxWeight, witnessSize } from '../bitcoin/weight.js';

/** Input sequence of our claims: below 0xFFFFFFFE, so nLockTime is enforced and RBF is signalled. */
export const CLAIM_SEQUENCE = 0xffff_fffd;

/** A signed claim transaction, ready to broadcast. */
export interface SignedClaim {
  readonly raw: Uint8Array;
  readonly txid: string;
  readonly feeSat: bigint;
}

/** What a claim builder returns: the signed transaction, or 'dust' when the output cannot pay for its own spend. */
export type ClaimResult = SignedClaim | 'dust';

/** One output to spend on its own, and how its witness is made. */
export interface DirectClaimSpec {
  readonly outpoint: OutPoint;
  readonly amountSat: bigint;
  /** BIP 143 script code: the witness script (P2WSH) or the P2PKH form of the key hash (P2WPKH). */
  readonly scriptCode: Uint8Array;
  /** The public key the signature must verify against. */
  readonly signingPubkey: Uint8Array;
  readonly lockTime: number;
  /** Lengths of the witness items, the signature counted as 73 bytes (for the fee). */
  readonly expectedItemLengths: readonly number[];
  /** The witness, given the witness-encoded signature. */
  witness(signature: Uint8Array): Uint8Array[];
  /** Signs a BIP 143 digest (64-byte compact). */
  sign(digest: Uint8Array): Uint8Array;
}

/**
 * Builds, signs and checks the claim of `spec` to `destinationScript`. Returns 'dust' when the
 * output minus the fee is below the destination's dust threshold. Throws RangeError for bad
 * parameters or a signature that does not verify against `spec.signingPubkey`.
 */
export function buildDirectClaim(spec: DirectClaimSpec, destinationScript: Uint8Array, feeratePerKw: number): ClaimResult {
  assertTxid('claim outpoint txid', spec.outpoint.txid);
  assertInt('claim outpoint index', spec.outpoint.index, 0, 0xffff_ffff);
  assertBigInt('claim amount', spec.amountSat, 1n, MAX_MONEY_SAT);
  assertBytes('destination script', destinationScript);
  assertInt('feerate_per_kw', feeratePerKw, 0, MAX_FEERATE_PER_KW);
  assertInt('claim lockTime', spec.lockTime, 0, 0xffff_ffff);
  assertPublicKey('claim signing pubkey', spec.signingPubkey);
  const weight = expectedTxWeight([{ scriptSigSize: 0, witnessSize: witnessSize(spec.expectedItemLengths) }], [{ value: 0n, script: destinationScript }]);
  const feeSat = (BigInt(feeratePerKw) * BigInt(weight) + 999n) / 1000n;
  const value = spec.amountSat - feeSat;
  if (value < dustThreshold(destinationScript)) return 'dust';
  const unsigned: BitcoinTx = {
    version: 2,
    inputs: [{ txid: spec.outpoint.txid, index: spec.outpoint.index, scriptSig: new Uint8Array(0), sequence: CLAIM_SEQUENCE, witness: [] }],
    outputs: [{ value, script: destinationScript }],
    lockTime: spec.lockTime,
  };
  const digest = segwitV0Sighash(unsigned, 0, spec.scriptCode, spec.amountSat, SIGHASH_ALL);
  const signature = spec.sign(digest);
  if (!verifyDigest(signature, digest, spec.signingPubkey)) {
    throw new RangeError('expected a claim signature that verifies against its key, got one that does not');
  }
  const signed: BitcoinTx = { ...unsigned, inputs: [{ ...unsigned.inputs[0]!, witness: spec.witness(encodeWitnessSignature(signature)) }] };
  return { raw: encodeTx(signed), txid: txidOf(signed), feeSat };
}

/** The spec of a P2WPKH output paying `pubkey`: witness `<sig> <pubkey>`, no locktime. */
export function p2wpkhClaimSpec(outpoint: OutPoint, amountSat: bigint, pubkey: Uint8Array, sign: (digest: Uint8Array) => Uint8Array): DirectClaimSpec {
  assertPublicKey('P2WPKH pubkey', pubkey);
  return {
    outpoint,
    amountSat,
    scriptCode: p2pkhScriptFromHash(hash160(pubkey)),
    signingPubkey: pubkey,
    lockTime: 0,
    expectedItemLengths: [73, 33],
    witness: (sig) => [sig, Uint8Array.from(pubkey)],
    sign,
  };
}

/**
 * The spec of the timeout spend of an HTLC we offered, on the peer's commitment (its received
 * HTLC script): witness `<our_htlc_sig> <> <script>`, nLockTime = `cltvExpiry`.
 */
export function htlcTimeoutClaimSpec(
  outpoint: OutPoint,
  amountSat: bigint,
  witnessScript: Uint8Array,
  cltvExpiry: number,
  ourHtlcPubkey: Uint8Array,
  sign: (digest: Uint8Array) => Uint8Array,
): DirectClaimSpec {
  return {
    outpoint,
    amountSat,
    scriptCode: witnessScript,
    signingPubkey: ourHtlcPubkey,
    lockTime: cltvExpiry,
    expectedItemLengths: [73, 0, witnessScript.length],
    witness: (sig) => [sig, new Uint8Array(0), witnessScript],
    sign,
  };
}

/**
 * The spec of the preimage spend of an HTLC the peer offered, on the peer's commitment (its
 * offered HTLC script): witness `<our_htlc_sig> <preimage> <script>`, no locktime.
 */
export function htlcSuccessClaimSpec(
  outpoint: OutPoint,
  amountSat: bigint,
  witnessScript: Uint8Array,
  preimage: Uint8Array,
  ourHtlcPubkey: Uint8Array,
  sign: (digest: Uint8Array) => Uint8Array,
): DirectClaimSpec {
  assertBytes('payment preimage', preimage, 32);
  return {
    outpoint,
    amountSat,
    scriptCode: witnessScript,
    signingPubkey: ourHtlcPubkey,
    lockTime: 0,
    expectedItemLengths: [73, 32, witnessScript.length],
    witness: (sig) => [sig, Uint8Array.from(preimage), witnessScript],
    sign,
  };
}
