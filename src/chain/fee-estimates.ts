/**
 * Picking a fee rate out of a backend's estimates.
 */
import type { FeeEstimates } from './chain.js';

/** Fee rate (sat/vB) used when a backend has no estimate at all, as on an idle regtest chain. */
export const FALLBACK_FEE_RATE = 1;

/**
 * The fee rate (sat/vB) for confirming within `targetBlocks`: the estimate of the largest
 * target not above it, else the smallest target's, else FALLBACK_FEE_RATE. Never below 1.
 */
export function feeRateForTarget(estimates: FeeEstimates, targetBlocks: number): number {
  if (!Number.isInteger(targetBlocks) || targetBlocks < 1) {
    throw new RangeError(`expected a target of at least 1 block, got ${targetBlocks}`);
  }
  const targets = Object.keys(estimates)
    .map(Number)
    .filter((t) => Number.isInteger(t) && t >= 1 && Number.isFinite(estimates[t]))
    .sort((a, b) => a - b);
  if (targets.length === 0) return FALLBACK_FEE_RATE;
  let chosen = targets[0]!;
  for (const t of targets) if (t <= targetBlocks) chosen = t;
  return Math.max(1, estimates[chosen]!);
}
