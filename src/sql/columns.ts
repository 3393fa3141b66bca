/**
 * Exact conversions between domain values and SQL column values, in both directions.
 *
 * Drivers return integers as bigint (PostgreSQL INT8 via the pool's type parser, SQLite via
 * better-sqlite3 safe integers) or number (PostgreSQL INT2/INT4); byte columns as Buffer.
 * Writers validate what the KV records' codecs would refuse (wrong hex length, integers out
 * of range) with the same RangeError/TypeError kinds, so both backend families accept and
 * refuse the same values.
 *
 * Readers with a `column` argument (`hexOf`, `bytesOf`, `boolOf`, `enumOf`, ...) also check
 * the stored shape — exact byte length, 0/1, a known enum value — and fail with DB_CORRUPT
 * naming `table.column`, so a damaged row is an error, never wrong data (a 5-byte node_pub
 * must not come back as a 10-hex-digit key).
 */
import { ClosureType as ClosureTypes, type ClosureType, type Hex } from '../chanstate/types.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { ChandError, DecodeError, ErrorCode } from '../errors.js';

const TWO_63 = 1n << 63n;
const TWO_64 = 1n << 64n;

/** A driver integer as a safe-integer number. DECODE_FAILED if it is not one. */
export function num(value: bigint | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new DecodeError(`stored integer ${String(value)} is not a safe integer`);
  return n;
}

/** A nullable driver integer as a number or undefined. */
export function optNum(value: bigint | number | null): number | undefined {
  return value === null ? undefined : num(value);
}

/** A driver integer as bigint. */
export function big(value: bigint | number): bigint {
  return typeof value === 'bigint' ? value : BigInt(value);
}

/** A nullable driver integer as bigint or undefined. */
export function optBig(value: bigint | number | null): bigint | undefined {
  return value === null ? undefined : big(value);
}

/** A 0/1 column as boolean. */
export function bool(value: bigint | number): boolean {
  return Number(value) !== 0;
}

/** A boolean as a 0/1 column value. */
export function flag(value: boolean): number {
  return value ? 1 : 0;
}

/**
 * A byte column as a plain Uint8Array. It views the driver's freshly allocated Buffer
 * without copying (loading thousands of channels moves tens of megabytes of onions), but is
 * a plain Uint8Array, as callers compare by type.
 */
export function bytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * A byte column as a plain Uint8Array view (no copy), for record decoders: a driver Buffer
 * would make the decoded byte fields Buffers too (Buffer#slice returns a Buffer).
 */
export function plain(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** A nullable byte column as Uint8Array or undefined. */
export function optBytes(value: Uint8Array | null): Uint8Array | undefined {
  return value === null ? undefined : bytes(value);
}

/** A byte column as lowercase hex. */
export function hex(value: Uint8Array): Hex {
  return bytesToHex(value);
}

/** A nullable byte column as hex or undefined. */
export function optHex(value: Uint8Array | null): Hex | undefined {
  return value === null ? undefined : bytesToHex(value);
}

/** Fixed-length hex as column bytes. RangeError on a wrong length (as the record codecs). */
export function hexCol(value: Hex, length: number): Uint8Array {
  const b = hexToBytes(value);
  if (b.length !== length) throw new RangeError(`expected ${length} bytes of hex, got ${b.length}`);
  return b;
}

/** Checks a byte-string value. */
export function bytesCol(value: Uint8Array, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`expected ${what} to be a Uint8Array, got ${typeof value}`);
  return value;
}

/** An unsigned integer of at most `bits` bits (53 = any safe integer) as a column value. */
export function uintCol(value: number, bits: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0 || (bits < 53 && value >= 2 ** bits)) {
    throw new RangeError(`expected ${what} to be an unsigned ${bits}-bit integer, got ${value}`);
  }
  return value;
}

/** A signed 32-bit integer (e.g. an HTLC output index, -1 for dust). */
export function i32Col(value: number, what: string): number {
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`expected ${what} to be an i32, got ${value}`);
  return value;
}

/**
 * An amount (or other u64 kept as bigint) as an INT8 column value. RangeError unless
 * 0 <= value < 2^63: real Lightning amounts are far below, and INT8 is signed.
 */
export function amountCol(value: bigint, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= TWO_63) {
    throw new RangeError(`expected ${what} to be a bigint in 0..2^63-1, got ${String(value)}`);
  }
  return value;
}

/**
 * A full u64 (a short channel id, a shachain index) as an INT8 column value: its
 * two's-complement reading, so values above 2^63 (scid aliases) round-trip exactly. Use
 * u64Of to read it back. Not for amounts, whose order SQL may compare (amountCol).
 */
export function u64Col(value: bigint, what = 'a short channel id'): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= TWO_64) {
    throw new RangeError(`expected ${what} in 0..2^64-1, got ${String(value)}`);
  }
  return BigInt.asIntN(64, value);
}

/** Inverse of u64Col. */
export function u64Of(value: bigint | number): bigint {
  return BigInt.asUintN(64, big(value));
}

/** DB_CORRUPT for a stored value of the wrong shape, naming its column. */
function badColumn(column: string, why: string): ChandError {
  return new ChandError(ErrorCode.DB_CORRUPT, `stored ${column} ${why}: the row is damaged`);
}

/** A fixed-length byte column as a plain Uint8Array view; DB_CORRUPT naming `column` on another length. */
export function bytesOf(value: Uint8Array, length: number, column: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw badColumn(column, `is ${value === null ? 'null' : typeof value}, not bytes`);
  if (value.length !== length) throw badColumn(column, `has ${value.length} bytes, expected ${length}`);
  return plain(value);
}

/** A fixed-length byte column (e.g. 33 for a public key, 32 for a hash) as lowercase hex; DB_CORRUPT naming `column` on another length. */
export function hexOf(value: Uint8Array, length: number, column: string): Hex {
  return bytesToHex(bytesOf(value, length, column));
}

/** A nullable fixed-length byte column as hex or undefined (see hexOf). */
export function optHexOf(value: Uint8Array | null, length: number, column: string): Hex | undefined {
  return value === null ? undefined : hexOf(value, length, column);
}

/** A 0/1 column as boolean; DB_CORRUPT naming `column` on any other value. */
export function boolOf(value: bigint | number, column: string): boolean {
  if (value === 0 || value === 0n) return false;
  if (value === 1 || value === 1n) return true;
  throw badColumn(column, `is ${String(value)}, expected 0 or 1`);
}

/** An integer enum column as one of `allowed`; DB_CORRUPT naming `column` on any other value. */
export function enumOf<T extends number>(value: bigint | number, allowed: readonly T[], column: string): T {
  const n = Number(value);
  if (!(allowed as readonly number[]).includes(n)) throw badColumn(column, `is ${String(value)}, expected one of ${allowed.join(', ')}`);
  return n as T;
}

/** An integer column as a number in `min..max` (e.g. a u16 output index); DB_CORRUPT naming `column` otherwise. */
export function intOf(value: bigint | number, min: number, max: number, column: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw badColumn(column, `is ${String(value)}, expected an integer in ${min}..${max}`);
  return n;
}

/** The stored ClosureType values, for enumOf on closed_channels.close_type. */
export const CLOSE_TYPES: readonly ClosureType[] = Object.values(ClosureTypes);
