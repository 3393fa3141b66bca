/**
 * Argument checks and small byte helpers shared by the bitcoin modules.
 *
 * Checks throw the built-in TypeError/RangeError with an "expected X, got Y" message; they
 * describe the shape of a bad value (its type or length), never its content, so a misplaced
 * private key cannot leak into a log through an error message.
 */

/** Throws TypeError unless `value` is a Uint8Array (of `length` bytes when given). */
export function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`expected ${name} to be a Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`expected ${name} to be ${length} bytes, got ${value.length}`);
  }
}

/** Throws unless `value` is an integer in [min, max]. */
export function assertInt(name: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`expected ${name} to be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`expected ${name} in [${min}, ${max}], got ${value}`);
  }
}

/** Throws unless `value` is a bigint in [min, max]. */
export function assertBigInt(name: string, value: unknown, min: bigint, max: bigint): asserts value is bigint {
  if (typeof value !== 'bigint') {
    throw new TypeError(`expected ${name} to be a bigint, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`expected ${name} in [${min}, ${max}], got ${value}`);
  }
}

/** Throws unless `value` is a 64-character hex string (a txid in display order). */
export function assertTxid(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/i.test(value)) {
    throw new TypeError(`expected ${name} to be a 64-character hex txid, got ${describe(value)}`);
  }
}

/** A short description of a value's type and size, safe to put in an error message. */
export function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'string') return `string(${value.length})`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/**
 * True if the two byte arrays have the same length and content. Unlike codec's equalBytes it
 * runs in time independent of where they differ, because it compares secrets.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lexicographic (memcmp) comparison: the codec's, re-exported for the bitcoin modules. */
export { compareBytes } from '../codec/bytes.js';

/** Big-endian unsigned integer of `bytes`. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** `value` as `length` big-endian bytes. Throws RangeError if it does not fit. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n || value >= 1n << BigInt(8 * length)) {
    throw new RangeError(`expected a value that fits in ${length} bytes, got ${value}`);
  }
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
