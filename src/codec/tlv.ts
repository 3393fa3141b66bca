/**
 * BOLT 1 Type-Length-Value streams and the truncated integers (tu16/tu32/tu64) used inside
 * their records.
 *
 * A stream is a sequence of records `bigsize type ++ bigsize length ++ value`, with types
 * strictly increasing. This module handles the stream layer only: it checks structure
 * (canonical BigSizes, no truncation, ordering) and, when told which types the caller knows,
 * the "it's OK to be odd" rule. Decoding a known record's value, and rejecting a value of the
 * wrong length or with non-minimal contents, is the caller's job, with the helpers below.
 */
import { DecodeError } from '../errors.js';
import { bigSizeLength, MAX_U64 } from './bigsize.js';
import { ByteReader, ByteWriter } from './bytes.js';

/** One TLV record: a 64-bit type and its raw value bytes. */
export interface TlvRecord {
  readonly type: bigint;
  readonly value: Uint8Array;
}

/**
 * Serializes `records` as a TLV stream. Assumes the records are already in canonical order:
 * throws RangeError unless types are strictly increasing (which also rules out duplicates),
 * TypeError for a non-bigint type or non-Uint8Array value, and RangeError for a type outside
 * [0, 2^64 - 1]. An empty list encodes to zero bytes.
 */
export function encodeTlvStream(records: readonly TlvRecord[]): Uint8Array {
  let size = 0;
  let previous: bigint | undefined;
  for (const [i, record] of records.entries()) {
    const { type, value } = record;
    if (typeof type !== 'bigint') throw new TypeError(`expected TLV record ${i} type as bigint, got ${typeof type}`);
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`expected TLV record ${i} value as Uint8Array, got ${typeof value}`);
    }
    if (previous !== undefined && type <= previous) {
      throw new RangeError(`expected TLV types strictly increasing, got type ${type} after ${previous} (record ${i})`);
    }
    previous = type;
    size += bigSizeLength(type) + bigSizeLength(value.length) + value.length;
  }
  // Sized up front so the writer never has to grow.
  const w = new ByteWriter(size);
  for (const { type, value } of records) w.bigSize(type).varBytes(value);
  return w.finish();
}

/** How `decodeTlvStream` should treat record types. */
export interface DecodeTlvOptions {
  /**
   * Whether the caller understands `type`. When given, an unknown even type fails the whole
   * stream with DecodeError ("it's OK to be odd"); unknown odd types are returned like any
   * other record, for the caller to skip or to keep (e.g. to re-serialize signed bytes).
   * When absent, every well-formed record is returned and none is rejected for its type.
   */
  readonly isKnownType?: (type: bigint) => boolean;
}

/**
 * Parses the whole of `buf` as a TLV stream and returns its records in order. Throws
 * DecodeError, naming the offset, if a type or length is truncated or not minimally encoded,
 * if a value runs past the end, if types are not strictly increasing (duplicates included), or
 * if `options.isKnownType` rejects an even type. Record values are views into `buf`, not
 * copies. An empty buffer is an empty stream. Values are not interpreted, so a known record
 * with bad contents (wrong length, non-minimal tu64) is left for the caller to reject.
 */
export function decodeTlvStream(buf: Uint8Array, options?: DecodeTlvOptions): TlvRecord[] {
  const isKnownType = options?.isKnownType;
  const r = new ByteReader(buf);
  const records: TlvRecord[] = [];
  let previous: bigint | undefined;
  while (!r.done()) {
    const start = r.offset;
    const type = r.bigSize();
    if (previous !== undefined && type <= previous) {
      const why = type === previous ? 'duplicate TLV type' : 'TLV types not strictly increasing';
      throw new DecodeError(`${why}: type ${type} at offset ${start} follows type ${previous}`);
    }
    previous = type;
    if (isKnownType !== undefined && type % 2n === 0n && !isKnownType(type)) {
      throw new DecodeError(`unknown even TLV type ${type} at offset ${start}`);
    }
    const value = r.varBytes();
    records.push({ type, value });
  }
  return records;
}

/**
 * Checks the shape of a truncated unsigned integer occupying all of `b`: at most `maxBytes`
 * long and, BOLT 1's minimality rule, no leading zero byte (zero is the empty array).
 */
function checkTruncated(b: Uint8Array, maxBytes: number, name: string): void {
  if (!(b instanceof Uint8Array)) throw new TypeError(`expected ${name} bytes as Uint8Array, got ${typeof b}`);
  if (b.length > maxBytes) throw new DecodeError(`${name} too long: ${b.length} bytes, at most ${maxBytes} allowed`);
  if (b.length > 0 && b[0] === 0) {
    throw new DecodeError(`${name} is not minimally encoded: leading zero byte at offset 0 of ${b.length} bytes`);
  }
}

/** Decodes a truncated integer of at most 4 bytes, so the result is exact as a number. */
function decodeTruncated(b: Uint8Array, maxBytes: 2 | 4, name: string): number {
  checkTruncated(b, maxBytes, name);
  let v = 0;
  for (const byte of b) v = v * 256 + byte;
  return v;
}

/** Encodes an integer already checked to be in [0, 2^32 - 1] as minimal big-endian bytes. */
function encodeTruncated(n: number): Uint8Array {
  const len = n === 0 ? 0 : n < 0x100 ? 1 : n < 0x1_0000 ? 2 : n < 0x100_0000 ? 3 : 4;
  const out = new Uint8Array(len);
  for (let i = len - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

/** Throws TypeError/RangeError unless `n` is an integer in [0, max]. */
function assertTruncatedArg(n: number, max: number, name: string): void {
  if (typeof n !== 'number') throw new TypeError(`expected ${name} value as number, got ${typeof n}`);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`expected ${name} value in [0, ${max}], got ${n}`);
}

/**
 * Encodes `n` as a BOLT 1 `tu64`: big-endian with leading zero bytes dropped (0 → empty).
 * TypeError unless `n` is a bigint; RangeError unless it is in [0, 2^64 - 1].
 */
export function encodeTu64(n: bigint): Uint8Array {
  if (typeof n !== 'bigint') throw new TypeError(`expected tu64 value as bigint, got ${typeof n}`);
  if (n < 0n || n > MAX_U64) throw new RangeError(`expected tu64 value in [0, 2^64-1], got ${n}`);
  let len = 0;
  for (let v = n; v > 0n; v >>= 8n) len++;
  const out = new Uint8Array(len);
  for (let i = len - 1, v = n; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/**
 * Decodes a BOLT 1 `tu64` occupying all of `b` (a whole TLV value, typically). DecodeError if
 * `b` is longer than 8 bytes or starts with a zero byte (not minimal).
 */
export function decodeTu64(b: Uint8Array): bigint {
  checkTruncated(b, 8, 'tu64');
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

/** Encodes `n` as a BOLT 1 `tu32` (minimal big-endian, 0 → empty). RangeError unless `n` is in [0, 2^32 - 1]. */
export function encodeTu32(n: number): Uint8Array {
  assertTruncatedArg(n, 0xffff_ffff, 'tu32');
  return encodeTruncated(n);
}

/** Decodes a BOLT 1 `tu32` occupying all of `b`. DecodeError if longer than 4 bytes or not minimal. */
export function decodeTu32(b: Uint8Array): number {
  return decodeTruncated(b, 4, 'tu32');
}

/** Encodes `n` as a BOLT 1 `tu16` (minimal big-endian, 0 → empty). RangeError unless `n` is in [0, 65535]. */
export function encodeTu16(n: number): Uint8Array {
  assertTruncatedArg(n, 0xffff, 'tu16');
  return encodeTruncated(n);
}

/** Decodes a BOLT 1 `tu16` occupying all of `b`. DecodeError if longer than 2 bytes or not minimal. */
export function decodeTu16(b: Uint8Array): number {
  return decodeTruncated(b, 2, 'tu16');
}
