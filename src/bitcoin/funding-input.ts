/**
 * Signing and witnessing a spend of the 2-of-2 funding output, shared by the commitment and
 * closing transactions: both spend it as input 0 with SIGHASH_ALL.
 */
import { assertBytes } from './bytes.js';
import { fundingWitness, fundingWitnessScript } from './bolt3-scripts.js';
import { SIGHASH_ALL, assertPrivateKey, encodeWitnessSignature, signDigest, verifyDigest } from './ecdsa.js';
import { segwitV0Sighash } from './sighash.js';
import { withWitness } from './transaction.js';
import type { BitcoinTx } from './transaction.js';

/** The funding output a transaction spends as its input 0. */
export interface FundingInputInfo {
  readonly fundingAmountSat: bigint;
  readonly localFundingPubkey: Uint8Array;
  readonly remoteFundingPubkey: Uint8Array;
}

/** The SIGHASH_ALL digest of input 0 spending the funding output. */
export function fundingInputSighash(tx: BitcoinTx, funding: FundingInputInfo): Uint8Array {
  const script = fundingWitnessScript(funding.localFundingPubkey, funding.remoteFundingPubkey);
  return segwitV0Sighash(tx, 0, script, funding.fundingAmountSat, SIGHASH_ALL);
}

/** A 64-byte compact signature of input 0 with a funding private key. */
export function signFundingInput(tx: BitcoinTx, funding: FundingInputInfo, fundingPrivateKey: Uint8Array): Uint8Array {
  assertPrivateKey('funding private key', fundingPrivateKey);
  return signDigest(fundingInputSighash(tx, funding), fundingPrivateKey);
}

/** True if `signature` (64-byte compact) is `fundingPubkey`'s valid signature of input 0. */
export function verifyFundingInputSignature(tx: BitcoinTx, funding: FundingInputInfo, signature: Uint8Array, fundingPubkey: Uint8Array): boolean {
  assertBytes('signature', signature);
  return verifyDigest(signature, fundingInputSighash(tx, funding), fundingPubkey);
}

/** `tx` with the funding witness on input 0. Both signatures are checked first (RangeError naming the side that fails). */
export function finalizeFundingInput(tx: BitcoinTx, funding: FundingInputInfo, localSignature: Uint8Array, remoteSignature: Uint8Array): BitcoinTx {
  if (!verifyFundingInputSignature(tx, funding, localSignature, funding.localFundingPubkey)) {
    throw new RangeError('expected a valid local funding signature, got one that does not verify');
  }
  if (!verifyFundingInputSignature(tx, funding, remoteSignature, funding.remoteFundingPubkey)) {
    throw new RangeError('expected a valid remote funding signature, got one that does not verify');
  }
  const witness = fundingWitness(
    funding.localFundingPubkey,
    encodeWitnessSignature(localSignature),
    funding.remoteFundingPubkey,
    encodeWitnessSignature(remoteSignature),
  );
  return withWitness(tx, 0, witness);
}
