/**
 * 5-bit word helpers for BOLT 11's data part: bytes <-> words (BIP 173 `convertbits`), the
 * zero-padded byte form that is signed, and big-endian unsigned integers in words.
 * Internal to src/invoice; words are plain numbers in [0, 31].
 */

/** `bytes` as 5-bit words, the last one padded with zero bits (BIP 173 convertbits with pad). */
export function bytesToWords(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >> bits) & 31);
    }
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}

/**
 * `words` as bytes the strict way (BIP 173 convertbits without pad): fewer than 5 bits may be
 * left over and they must be zero; undefined otherwise (a writer padded wrongly).
 */
export function wordsToBytes(words: readonly number[]): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((words.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const word of words) {
    acc = ((acc << 5) | word) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/** `words` as bytes with zero bits appended up to a byte boundary: the form BOLT 11 signs. */
export function wordsToPaddedBytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((words.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const word of words) {
    acc = ((acc << 5) | word) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  if (bits > 0) out[j] = (acc << (8 - bits)) & 0xff;
  return out;
}

/** The big-endian unsigned value of `words` (0 for none). */
export function wordsToUint(words: readonly number[]): bigint {
  let value = 0n;
  for (const word of words) value = (value << 5n) | BigInt(word);
  return value;
}

/** `value` as the fewest big-endian words (none for 0); `value` must be a non-negative integer. */
export function uintToWords(value: bigint | number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  while (v > 0n) {
    out.push(Number(v & 31n));
    v >>= 5n;
  }
  return out.reverse();
}

/** `value` as exactly `count` big-endian words (for the 35-bit timestamp). */
export function uintToFixedWords(value: number, count: number): number[] {
  const out = new Array<number>(count);
  let v = BigInt(value);
  for (let i = count - 1; i >= 0; i--) {
    out[i] = Number(v & 31n);
    v >>= 5n;
  }
  return out;
}
