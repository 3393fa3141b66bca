/**
 * Expected transaction weights for fee estimation before signatures exist: callers give the
 * size of what will unlock each input, and outputs as they will be.
 */
import type { TxOutput } from './transaction.js';

/** Sizes, in bytes, of what will unlock an input: its scriptSig and its serialized witness (item count included; 0 for none). */
export interface InputSatisfaction {
  readonly scriptSigSize: number;
  readonly witnessSize: number;
}

/** Serialized size of a witness whose items have these lengths (count prefix and length prefixes included). */
export function witnessSize(itemLengths: readonly number[]): number {
  return itemLengths.reduce((sum, len) => sum + compactSizeLength(len) + len, compactSizeLength(itemLengths.length));
}

/** Expected BIP 141 weight of a transaction with these input satisfactions and outputs. */
export function expectedTxWeight(inputs: readonly InputSatisfaction[], outputs: readonly TxOutput[]): number {
  let base = 4 + compactSizeLength(inputs.length) + compactSizeLength(outputs.length) + 4;
  for (const i of inputs) base += 36 + compactSizeLength(i.scriptSigSize) + i.scriptSigSize + 4;
  for (const o of outputs) base += 8 + compactSizeLength(o.script.length) + o.script.length;
  const segwit = inputs.some((i) => i.witnessSize > 0);
  // Marker and flag, then a witness per input; a legacy input's witness is the single byte 0x00.
  const witness = segwit ? 2 + inputs.reduce((sum, i) => sum + (i.witnessSize > 0 ? i.witnessSize : 1), 0) : 0;
  return 4 * base + witness;
}

/** Length of the CompactSize encoding of `n`. */
export function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffff_ffff ? 5 : 9;
}
