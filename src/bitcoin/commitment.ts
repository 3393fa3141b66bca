/**
 * BOLT 3 commitment transactions with option_static_remotekey (no anchors).
 *
 * Construction ("Commitment Transaction Construction"): trim HTLCs whose amount minus their
 * second-stage fee is below the owner's dust limit; take the base fee (724 + 172 per
 * untrimmed HTLC weight units) from the funder's balance; add offered and received HTLC
 * outputs, to_local (CSV-delayed, revocable) and to_remote (P2WPKH to the peer's
 * payment_basepoint) when at or above the dust limit; sort outputs by BIP 69 with the CLTV
 * tie-break. The commitment number is hidden in locktime and sequence, XORed with the lower
 * 48 bits of SHA256(opener payment_basepoint || accepter payment_basepoint).
 *
 * "local" is the owner of the commitment (who broadcasts it); to build the peer's commitment,
 * swap the roles in the parameters. The result maps every input HTLC to its output index
 * (-1 when trimmed), which the channel layer stores.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { assertBigInt, assertBytes, assertInt, assertTxid, bytesToBigInt, compareBytes } from './bytes.js';
import { assertPublicKey } from './ecdsa.js';
import { commitmentFee, isHtlcTrimmed, MAX_FEERATE_PER_KW } from './bolt3-fees.js';
import type { HtlcDirection } from './bolt3-fees.js';
import { fundingWitnessScript, offeredHtlcWitnessScript, receivedHtlcWitnessScript, toLocalWitnessScript } from './bolt3-scripts.js';
import { finalizeFundingInput, fundingInputSighash, signFundingInput, verifyFundingInputSignature } from './funding-input.js';
import { p2wpkhScript, p2wshScript } from './script.js';
import { MAX_MONEY_SAT, txidOf } from './transaction.js';
import type { BitcoinTx, OutPoint, TxOutput } from './transaction.js';

const MAX_COMMITMENT_NUMBER = (1n << 48n) - 1n;
const MAX_MSAT = MAX_MONEY_SAT * 1000n;

/** An HTLC as committed, seen from the commitment owner ("offered" = sent by the owner). */
export interface CommitmentHtlc {
  readonly direction: HtlcDirection;
  readonly amountMsat: bigint;
  readonly paymentHash: Uint8Array;
  readonly cltvExpiry: number;
}

/** The per-commitment keys of one commitment (derive them with key-derivation.ts). */
export interface CommitmentKeys {
  /** From the peer's revocation_basepoint and the owner's per_commitment_point. */
  readonly revocationPubkey: Uint8Array;
  /** From the owner's delayed_payment_basepoint. */
  readonly localDelayedPubkey: Uint8Array;
  /** From the owner's htlc_basepoint. */
  readonly localHtlcPubkey: Uint8Array;
  /** From the peer's htlc_basepoint. */
  readonly remoteHtlcPubkey: Uint8Array;
  /** The peer's payment_basepoint (option_static_remotekey: not tweaked). */
  readonly remotePaymentPubkey: Uint8Array;
}

/** Everything a commitment transaction is built from. Amounts are exact; nothing is read from a store. */
export interface CommitmentTxParams {
  readonly fundingOutpoint: OutPoint;
  readonly fundingAmountSat: bigint;
  readonly localFundingPubkey: Uint8Array;
  readonly remoteFundingPubkey: Uint8Array;
  /** 48-bit commitment number (0 for the first commitment). */
  readonly commitmentNumber: bigint;
  /** From `commitmentObscuringFactor` (opener's and accepter's payment_basepoints). */
  readonly obscuringFactor: bigint;
  readonly toLocalMsat: bigint;
  readonly toRemoteMsat: bigint;
  /** True if the owner of this commitment opened the channel and so pays the fee. */
  readonly localIsFunder: boolean;
  readonly feeratePerKw: number;
  /** The owner's dust_limit_satoshis. */
  readonly dustLimitSat: bigint;
  /** The to_self_delay the peer imposed on the owner. */
  readonly toSelfDelay: number;
  readonly keys: CommitmentKeys;
  readonly htlcs: readonly CommitmentHtlc[];
}

/** One output of a built commitment transaction, in transaction order. */
export type CommitmentOutput =
  | { readonly kind: 'to_local'; readonly value: bigint; readonly script: Uint8Array; readonly witnessScript: Uint8Array }
  | { readonly kind: 'to_remote'; readonly value: bigint; readonly script: Uint8Array }
  | {
      readonly kind: 'htlc';
      readonly value: bigint;
      readonly script: Uint8Array;
      readonly witnessScript: Uint8Array;
      /** Index of the HTLC in `params.htlcs`. */
      readonly htlcIndex: number;
    };

/** A built, unsigned commitment transaction and what its signers and watchers need. */
export interface CommitmentTx {
  readonly params: CommitmentTxParams;
  readonly tx: BitcoinTx;
  readonly txid: string;
  readonly outputs: readonly CommitmentOutput[];
  /** For each entry of `params.htlcs`, its output index, or -1 if trimmed. */
  readonly htlcOutputIndexes: readonly number[];
  readonly toLocalOutputIndex: number;
  readonly toRemoteOutputIndex: number;
  /** The base fee charged to the funder (before trimmed amounts are added). */
  readonly baseFeeSat: bigint;
  /** The actual fee: funding amount minus all outputs. */
  readonly feeSat: bigint;
  readonly fundingWitnessScript: Uint8Array;
}

/** The lower 48 bits of SHA256(opener payment_basepoint || accepter payment_basepoint). */
export function commitmentObscuringFactor(openerPaymentBasepoint: Uint8Array, accepterPaymentBasepoint: Uint8Array): bigint {
  assertPublicKey('opener payment basepoint', openerPaymentBasepoint);
  assertPublicKey('accepter payment basepoint', accepterPaymentBasepoint);
  return bytesToBigInt(sha256(concatBytes(openerPaymentBasepoint, accepterPaymentBasepoint)).subarray(26));
}

/** Locktime (0x20 << 24 | lower 24 bits) and input sequence (0x80 << 24 | upper 24 bits) carrying the obscured number. */
export function encodeObscuredCommitmentNumber(commitmentNumber: bigint, obscuringFactor: bigint): { lockTime: number; sequence: number } {
  assertBigInt('commitment number', commitmentNumber, 0n, MAX_COMMITMENT_NUMBER);
  assertBigInt('obscuring factor', obscuringFactor, 0n, MAX_COMMITMENT_NUMBER);
  const obscured = commitmentNumber ^ obscuringFactor;
  return {
    lockTime: (0x20 * 2 ** 24 + Number(obscured & 0xffffffn)) >>> 0,
    sequence: (0x80 * 2 ** 24 + Number(obscured >> 24n)) >>> 0,
  };
}

/**
 * The commitment number a broadcast commitment carries, or undefined if the transaction does
 * not look like a commitment (wrong marker bits or not one input).
 */
export function decodeObscuredCommitmentNumber(tx: BitcoinTx, obscuringFactor: bigint): bigint | undefined {
  assertBigInt('obscuring factor', obscuringFactor, 0n, MAX_COMMITMENT_NUMBER);
  const input = tx.inputs[0];
  if (tx.inputs.length !== 1 || input === undefined) return undefined;
  if (tx.lockTime >>> 24 !== 0x20 || input.sequence >>> 24 !== 0x80) return undefined;
  const obscured = (BigInt(input.sequence & 0xffffff) << 24n) | BigInt(tx.lockTime & 0xffffff);
  return obscured ^ obscuringFactor;
}

/** Builds the unsigned commitment transaction. Throws RangeError/TypeError for inconsistent parameters (balances that do not add up to the funding amount, bad keys). */
export function buildCommitmentTx(params: CommitmentTxParams): CommitmentTx {
  validateParams(params);
  const { keys, feeratePerKw, dustLimitSat } = params;

  // A zero-satoshi output is never created, even with a zero dust limit.
  const trimmed = params.htlcs.map((h) => h.amountMsat < 1000n || isHtlcTrimmed(h.direction, h.amountMsat, feeratePerKw, dustLimitSat));
  const untrimmedCount = trimmed.filter((t) => !t).length;
  const baseFeeSat = commitmentFee(feeratePerKw, untrimmedCount);

  let toLocalSat = params.toLocalMsat / 1000n;
  let toRemoteSat = params.toRemoteMsat / 1000n;
  // The funder pays the base fee; a balance that cannot cover it is spent entirely on fees.
  if (params.localIsFunder) toLocalSat = toLocalSat > baseFeeSat ? toLocalSat - baseFeeSat : 0n;
  else toRemoteSat = toRemoteSat > baseFeeSat ? toRemoteSat - baseFeeSat : 0n;

  interface Pending {
    output: CommitmentOutput;
    cltv: number;
  }
  const pending: Pending[] = [];
  params.htlcs.forEach((htlc, htlcIndex) => {
    if (trimmed[htlcIndex]) return;
    const witnessScript =
      htlc.direction === 'offered' ? offeredHtlcWitnessScript(keys, htlc.paymentHash) : receivedHtlcWitnessScript(keys, htlc.paymentHash, htlc.cltvExpiry);
    pending.push({
      output: { kind: 'htlc', value: htlc.amountMsat / 1000n, script: p2wshScript(witnessScript), witnessScript, htlcIndex },
      cltv: htlc.cltvExpiry,
    });
  });
  if (toLocalSat > 0n && toLocalSat >= dustLimitSat) {
    const witnessScript = toLocalWitnessScript(keys.revocationPubkey, params.toSelfDelay, keys.localDelayedPubkey);
    pending.push({ output: { kind: 'to_local', value: toLocalSat, script: p2wshScript(witnessScript), witnessScript }, cltv: 0 });
  }
  if (toRemoteSat > 0n && toRemoteSat >= dustLimitSat) {
    pending.push({ output: { kind: 'to_remote', value: toRemoteSat, script: p2wpkhScript(keys.remotePaymentPubkey) }, cltv: 0 });
  }

  // BIP 69 (value, then script bytes) with the BOLT 3 CLTV tie-break; Array.prototype.sort is
  // stable, so identical HTLCs keep their input order.
  pending.sort((a, b) => {
    if (a.output.value !== b.output.value) return a.output.value < b.output.value ? -1 : 1;
    const byScript = compareBytes(a.output.script, b.output.script);
    return byScript !== 0 ? byScript : a.cltv - b.cltv;
  });
  const outputs = pending.map((p) => p.output);

  const { lockTime, sequence } = encodeObscuredCommitmentNumber(params.commitmentNumber, params.obscuringFactor);
  const tx: BitcoinTx = {
    version: 2,
    inputs: [{ txid: params.fundingOutpoint.txid, index: params.fundingOutpoint.index, scriptSig: new Uint8Array(0), sequence, witness: [] }],
    outputs: outputs.map((o): TxOutput => ({ value: o.value, script: o.script })),
    lockTime,
  };

  const htlcOutputIndexes = params.htlcs.map(() => -1);
  outputs.forEach((o, i) => {
    if (o.kind === 'htlc') htlcOutputIndexes[o.htlcIndex] = i;
  });
  const totalOut = outputs.reduce((sum, o) => sum + o.value, 0n);
  return {
    params,
    tx,
    txid: txidOf(tx),
    outputs,
    htlcOutputIndexes,
    toLocalOutputIndex: outputs.findIndex((o) => o.kind === 'to_local'),
    toRemoteOutputIndex: outputs.findIndex((o) => o.kind === 'to_remote'),
    baseFeeSat,
    feeSat: params.fundingAmountSat - totalOut,
    fundingWitnessScript: fundingWitnessScript(params.localFundingPubkey, params.remoteFundingPubkey),
  };
}

/** The SIGHASH_ALL digest both parties sign for the commitment's funding input. */
export function commitmentSighash(commitment: CommitmentTx): Uint8Array {
  return fundingInputSighash(commitment.tx, commitment.params);
}

/** Signs the commitment with a funding private key: 64-byte compact signature (as in commitment_signed). */
export function signCommitment(commitment: CommitmentTx, fundingPrivateKey: Uint8Array): Uint8Array {
  return signFundingInput(commitment.tx, commitment.params, fundingPrivateKey);
}

/** True if `signature` (64-byte compact) is `fundingPubkey`'s valid signature of the commitment. */
export function verifyCommitmentSignature(commitment: CommitmentTx, signature: Uint8Array, fundingPubkey: Uint8Array): boolean {
  return verifyFundingInputSignature(commitment.tx, commitment.params, signature, fundingPubkey);
}

/** The commitment with its funding witness, ready to broadcast. Signatures are 64-byte compact; each is checked first (RangeError if invalid). */
export function finalizeCommitment(commitment: CommitmentTx, localSignature: Uint8Array, remoteSignature: Uint8Array): BitcoinTx {
  return finalizeFundingInput(commitment.tx, commitment.params, localSignature, remoteSignature);
}

function validateParams(p: CommitmentTxParams): void {
  assertTxid('funding txid', p.fundingOutpoint.txid);
  assertInt('funding output index', p.fundingOutpoint.index, 0, 0xffff_ffff);
  assertBigInt('funding amount', p.fundingAmountSat, 1n, MAX_MONEY_SAT);
  assertPublicKey('local funding pubkey', p.localFundingPubkey);
  assertPublicKey('remote funding pubkey', p.remoteFundingPubkey);
  assertBigInt('commitment number', p.commitmentNumber, 0n, MAX_COMMITMENT_NUMBER);
  assertBigInt('obscuring factor', p.obscuringFactor, 0n, MAX_COMMITMENT_NUMBER);
  assertBigInt('to_local_msat', p.toLocalMsat, 0n, MAX_MSAT);
  assertBigInt('to_remote_msat', p.toRemoteMsat, 0n, MAX_MSAT);
  if (typeof p.localIsFunder !== 'boolean') throw new TypeError('expected localIsFunder to be a boolean');
  assertInt('feerate_per_kw', p.feeratePerKw, 0, MAX_FEERATE_PER_KW);
  assertBigInt('dust limit', p.dustLimitSat, 0n, MAX_MONEY_SAT);
  assertInt('to_self_delay', p.toSelfDelay, 0, 0xffff);
  for (const [name, key] of Object.entries(p.keys)) assertPublicKey(name, key);
  let htlcTotal = 0n;
  p.htlcs.forEach((h, i) => {
    if (h.direction !== 'offered' && h.direction !== 'received') {
      throw new TypeError(`expected htlc ${i} direction 'offered' or 'received', got ${String(h.direction)}`);
    }
    assertBigInt(`htlc ${i} amount_msat`, h.amountMsat, 0n, MAX_MSAT);
    assertBytes(`htlc ${i} payment hash`, h.paymentHash, 32);
    assertInt(`htlc ${i} cltv_expiry`, h.cltvExpiry, 0, 0xffff_ffff);
    htlcTotal += h.amountMsat;
  });
  const total = p.toLocalMsat + p.toRemoteMsat + htlcTotal;
  if (total !== p.fundingAmountSat * 1000n) {
    throw new RangeError(`expected balances and HTLCs to add up to the funding amount ${p.fundingAmountSat * 1000n} msat, got ${total} msat`);
  }
}
