/**
 * BOLT 3 fee rules (no option_anchors): expected weights, fees at a `feerate_per_kw`, and
 * which HTLCs are trimmed to dust. Every division rounds down, as the spec requires.
 */
import { assertBigInt, assertInt } from './bytes.js';

/** Expected weight of a commitment transaction with no HTLC outputs. */
export const COMMITMENT_BASE_WEIGHT = 724;
/** Expected weight each untrimmed HTLC output adds to a commitment transaction. */
export const COMMITMENT_HTLC_OUTPUT_WEIGHT = 172;
/** Expected weight of an HTLC-timeout transaction. */
export const HTLC_TIMEOUT_WEIGHT = 663;
/** Expected weight of an HTLC-success transaction. */
export const HTLC_SUCCESS_WEIGHT = 703;

/** Largest feerate accepted (u32, as in update_fee). */
export const MAX_FEERATE_PER_KW = 0xffff_ffff;

/** Which way an HTLC goes, seen from the commitment owner. */
export type HtlcDirection = 'offered' | 'received';

/** floor(feeratePerKw * weight / 1000) in satoshis. */
export function feeForWeight(feeratePerKw: number, weight: number): bigint {
  assertInt('feerate_per_kw', feeratePerKw, 0, MAX_FEERATE_PER_KW);
  assertInt('weight', weight, 0, Number.MAX_SAFE_INTEGER);
  return (BigInt(feeratePerKw) * BigInt(weight)) / 1000n;
}

/** The base commitment fee: feerate × (724 + 172 × untrimmed HTLC outputs) / 1000. */
export function commitmentFee(feeratePerKw: number, untrimmedHtlcs: number): bigint {
  assertInt('untrimmed HTLC count', untrimmedHtlcs, 0, 966);
  return feeForWeight(feeratePerKw, COMMITMENT_BASE_WEIGHT + COMMITMENT_HTLC_OUTPUT_WEIGHT * untrimmedHtlcs);
}

/** The fee of the second-stage transaction for an HTLC: HTLC-timeout for offered, HTLC-success for received. */
export function htlcTxFee(direction: HtlcDirection, feeratePerKw: number): bigint {
  return feeForWeight(feeratePerKw, direction === 'offered' ? HTLC_TIMEOUT_WEIGHT : HTLC_SUCCESS_WEIGHT);
}

/** True if the HTLC gets no output: its whole-satoshi amount minus its second-stage fee is below the dust limit. */
export function isHtlcTrimmed(direction: HtlcDirection, amountMsat: bigint, feeratePerKw: number, dustLimitSat: bigint): boolean {
  assertBigInt('HTLC amount_msat', amountMsat, 0n, 21_000_000n * 100_000_000n * 1000n);
  assertBigInt('dust limit', dustLimitSat, 0n, 21_000_000n * 100_000_000n);
  return amountMsat / 1000n < dustLimitSat + htlcTxFee(direction, feeratePerKw);
}
