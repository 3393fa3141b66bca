/**
 * BigSize: BOLT 1's variable-length unsigned 64-bit integer (Bitcoin's CompactSize, but
 * big-endian), used for TLV types and lengths.
 *
 *     uint8(x)               if x < 0xfd
 *     0xfd ++ be16(x)        if x < 0x10000
 *     0xfe ++ be32(x)        if x < 0x100000000
 *     0xff ++ be64(x)        otherwise
 *
 * Decoding is strict: an encoding that could have been shorter is rejected, as BOLT 1
 * requires, so every value has exactly one accepted byte form.
 *
 * This module is the primitive layer: it imports nothing from the rest of the codec so that
 * `bytes.ts` can build on it.
 */
import { DecodeError } from '../errors.js';

/** Largest value a BigSize (and a u64) can hold: 2^64 - 1. */
export const MAX_U64 = 0xffff_ffff_ffff_ffffn;

const TWO_POW_32 = 0x1_0000_0000;

/**
 * Checks a caller-supplied BigSize value. Throws TypeError for a non-number/bigint and
 * RangeError for anything outside [0, 2^64 - 1] (numbers must also be safe integers, so that
 * no precision was lost before the value reached us).
 */
function assertU64(n: bigint | number): void {
  if (typeof n === 'bigint') {
    if (n < 0n || n > MAX_U64) throw new RangeError(`expected BigSize value in [0, 2^64-1], got ${n}`);
    return;
  }
  if (typeof n !== 'number') throw new TypeError(`expected BigSize value as bigint or number, got ${typeof n}`);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`expected BigSize value to be a non-negative safe integer, got ${n}`);
  }
}

/**
 * Number of bytes the minimal BigSize encoding of `n` takes: 1, 3, 5 or 9.
 * Throws RangeError/TypeError if `n` is not an integer in [0, 2^64 - 1].
 */
export function bigSizeLength(n: bigint | number): number {
  assertU64(n);
  // Comparisons between bigint and number are exact in JS, so one code path serves both.
  if (n < 0xfd) return 1;
  if (n < 0x1_0000) return 3;
  if (n < TWO_POW_32) return 5;
  return 9;
}

/**
 * Writes the minimal BigSize encoding of `n` into `target` at `offset` and returns the offset
 * just past it. Assumes the caller reserved room (see {@link bigSizeLength}); throws RangeError
 * if it did not, or if `n` is out of range. This is the allocation-free path `ByteWriter` uses.
 */
export function writeBigSize(target: Uint8Array, offset: number, n: bigint | number): number {
  const len = bigSizeLength(n);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + len > target.length) {
    throw new RangeError(
      `expected room for ${len} BigSize bytes at offset ${offset}, got a buffer of ${target.length} bytes`,
    );
  }
  if (len === 1) {
    target[offset] = Number(n);
    return offset + 1;
  }
  if (len === 3) {
    const v = Number(n);
    target[offset] = 0xfd;
    target[offset + 1] = v >>> 8;
    target[offset + 2] = v & 0xff;
    return offset + 3;
  }
  if (len === 5) {
    target[offset] = 0xfe;
    putU32(target, offset + 1, Number(n));
    return offset + 5;
  }
  // 9 bytes: split into two 32-bit halves so both inputs stay on number arithmetic.
  let hi: number;
  let lo: number;
  if (typeof n === 'bigint') {
    hi = Number(n >> 32n);
    lo = Number(n & 0xffff_ffffn);
  } else {
    hi = Math.floor(n / TWO_POW_32);
    lo = n % TWO_POW_32;
  }
  target[offset] = 0xff;
  putU32(target, offset + 1, hi);
  putU32(target, offset + 5, lo);
  return offset + 9;
}

/** Big-endian u32 store; `v` is assumed to be an integer in [0, 2^32 - 1]. */
function putU32(target: Uint8Array, offset: number, v: number): void {
  target[offset] = v >>> 24;
  target[offset + 1] = (v >>> 16) & 0xff;
  target[offset + 2] = (v >>> 8) & 0xff;
  target[offset + 3] = v & 0xff;
}

/** Big-endian u32 load; the caller has checked that four bytes are present. */
function getU32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}

/**
 * The minimal BigSize encoding of `n` as a fresh array.
 * Throws RangeError/TypeError if `n` is not an integer in [0, 2^64 - 1].
 */
export function encodeBigSize(n: bigint | number): Uint8Array {
  const out = new Uint8Array(bigSizeLength(n));
  writeBigSize(out, 0, n);
  return out;
}

/**
 * Decodes one BigSize starting at `offset` in `buf`, returning its value and how many bytes it
 * took. Bytes after it are ignored. Throws DecodeError if the input ends first ("end of input"
 * when no byte is left at all, "truncated" when the prefix promises more bytes than remain) or
 * if the encoding is not canonical (a shorter form exists). Throws RangeError if `offset` is
 * not within [0, buf.length].
 */
export function decodeBigSize(buf: Uint8Array, offset = 0): { value: bigint; size: number } {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > buf.length) {
    throw new RangeError(`expected offset in [0, ${buf.length}], got ${offset}`);
  }
  if (offset === buf.length) {
    throw new DecodeError(`BigSize at offset ${offset}: unexpected end of input (0 bytes remain)`);
  }
  const first = buf[offset]!;
  if (first < 0xfd) return { value: BigInt(first), size: 1 };

  const width = first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
  const available = buf.length - offset - 1;
  if (available < width) {
    throw new DecodeError(
      `BigSize at offset ${offset} truncated: prefix 0x${first.toString(16)} needs ${width} more bytes, ${available} remain`,
    );
  }
  let value: bigint;
  let minimum: bigint;
  if (width === 2) {
    value = BigInt((buf[offset + 1]! << 8) | buf[offset + 2]!);
    minimum = 0xfdn;
  } else if (width === 4) {
    value = BigInt(getU32(buf, offset + 1));
    minimum = 0x1_0000n;
  } else {
    value = (BigInt(getU32(buf, offset + 1)) << 32n) | BigInt(getU32(buf, offset + 5));
    minimum = 0x1_0000_0000n;
  }
  if (value < minimum) {
    throw new DecodeError(
      `BigSize at offset ${offset} is not canonical: value ${value} encoded in ${width + 1} bytes`,
    );
  }
  return { value, size: width + 1 };
}
