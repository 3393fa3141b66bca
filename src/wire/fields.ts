/**
 * Field-level helpers shared by the message codecs: fixed-size hex and byte fields, u16-length
 * byte strings, safe-integer u64 counters, and the TLV extension that may follow a message's
 * fixed fields. Writers throw TypeError/RangeError on caller misuse; readers throw DecodeError
 * on malformed input (via ByteReader and the TLV stream decoder).
 */
import { ByteReader, ByteWriter, bytesToHex, hexToBytes } from '../codec/bytes.js';
import { decodeTlvStream, encodeTlvStream, type TlvRecord } from '../codec/tlv.js';
import { DecodeError } from '../errors.js';

const HEX_RE = /^[0-9a-f]*$/;

/** Bytes of a lowercase-hex field of exactly `size` bytes; TypeError/RangeError naming `what` otherwise. */
function hexField(hex: string, size: number, what: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`expected ${what} as hex string, got ${typeof hex}`);
  if (hex.length !== size * 2) throw new RangeError(`expected ${what} of ${size * 2} hex chars, got ${hex.length}`);
  if (!HEX_RE.test(hex)) throw new TypeError(`expected ${what} as lowercase hex, got ${JSON.stringify(hex.slice(0, 16))}...`);
  return hexToBytes(hex);
}

/** Writes a `size`-byte field given as lowercase hex, in the same byte order. */
export function writeHex(w: ByteWriter, hex: string, size: number, what: string): void {
  w.bytes(hexField(hex, size, what));
}

/** Reads a `size`-byte field as lowercase hex. */
export function readHex(r: ByteReader, size: number): string {
  return bytesToHex(r.bytes(size));
}

/**
 * Writes a 32-byte hash given in display order (txids, chain hashes) in the wire's internal
 * order, i.e. byte-reversed.
 */
export function writeDisplayHash(w: ByteWriter, hex: string, what: string): void {
  w.bytes(hexField(hex, 32, what).reverse());
}

/** Reads a 32-byte wire hash and returns it as display-order (byte-reversed) hex. */
export function readDisplayHash(r: ByteReader): string {
  return bytesToHex(r.bytes(32).slice().reverse());
}

/** Display-order hex of a 32-byte wire hash held in `value` (a TLV value already length-checked). */
export function displayHashOf(value: Uint8Array): string {
  return bytesToHex(value.slice().reverse());
}

/** Wire bytes of a display-order 32-byte hash. */
export function wireHashOf(hex: string, what: string): Uint8Array {
  return hexField(hex, 32, what).reverse();
}

/** Bytes of a point given as 66 hex chars (length and charset only; the curve is not checked). */
export function pointBytes(hex: string, what: string): Uint8Array {
  return hexField(hex, 33, what);
}

/** Writes `b`, which must be exactly `size` bytes (a signature, secret, onion...). */
export function writeFixed(w: ByteWriter, b: Uint8Array, size: number, what: string): void {
  assertFixed(b, size, what);
  w.bytes(b);
}

/** Throws TypeError/RangeError unless `b` is a Uint8Array of exactly `size` bytes. */
export function assertFixed(b: Uint8Array, size: number, what: string): void {
  if (!(b instanceof Uint8Array)) throw new TypeError(`expected ${what} as Uint8Array, got ${typeof b}`);
  if (b.length !== size) throw new RangeError(`expected ${what} of ${size} bytes, got ${b.length}`);
}

/** Reads `size` bytes as a fresh copy (decoded messages never alias the input buffer). */
export function readCopy(r: ByteReader, size: number): Uint8Array {
  return r.bytes(size).slice();
}

/** Writes `u16 len ++ bytes`; RangeError if `b` is longer than 65535 bytes. */
export function writeU16Bytes(w: ByteWriter, b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array)) throw new TypeError(`expected ${what} as Uint8Array, got ${typeof b}`);
  if (b.length > 0xffff) throw new RangeError(`expected ${what} of at most 65535 bytes, got ${b.length}`);
  w.u16(b.length).bytes(b);
}

/** Reads `u16 len ++ bytes` as a fresh copy. */
export function readU16Bytes(r: ByteReader): Uint8Array {
  return readCopy(r, r.u16());
}

/** Writes a u64 counter held as a number; RangeError unless it is a non-negative safe integer. */
export function writeCounter(w: ByteWriter, n: number, what: string): void {
  if (typeof n !== 'number') throw new TypeError(`expected ${what} as number, got ${typeof n}`);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected ${what} as a non-negative safe integer, got ${n}`);
  w.u64(BigInt(n));
}

/** Reads a u64 counter (HTLC id, commitment number); DecodeError if it exceeds 2^53 - 1. */
export function readCounter(r: ByteReader, what: string): number {
  const at = r.offset;
  const v = r.u64();
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`${what} at offset ${at} is ${v}, above 2^53 - 1`);
  return Number(v);
}

/** DecodeError unless a known TLV record's value has exactly `size` bytes (BOLT 1). */
export function expectTlvLength(value: Uint8Array, size: number, what: string): void {
  if (value.length !== size) throw new DecodeError(`${what} TLV has ${value.length} bytes, expected ${size}`);
}

/** The extension of a decoded message: known records by type, unknown odd ones as received. */
export interface Extension {
  readonly known: ReadonlyMap<bigint, Uint8Array>;
  readonly unknownTlvs: TlvRecord[] | undefined;
}

/**
 * Reads everything left in `r` as the message's TLV extension (BOLT 1): an empty rest is no
 * extension; otherwise the stream must be canonical, and an unknown even type fails it
 * (DecodeError). Known record values are views into the input (callers copy what they keep);
 * unknown odd records are copied.
 */
export function readExtension(r: ByteReader, knownTypes: readonly bigint[]): Extension {
  const records = decodeTlvStream(r.rest(), { isKnownType: (t) => knownTypes.includes(t) });
  const known = new Map<bigint, Uint8Array>();
  let unknownTlvs: TlvRecord[] | undefined;
  for (const { type, value } of records) {
    if (knownTypes.includes(type)) known.set(type, value);
    else (unknownTlvs ??= []).push({ type, value: value.slice() });
  }
  return { known, unknownTlvs };
}

/**
 * Writes a message's TLV extension: the known records (undefined entries skipped) merged in
 * type order with the caller's `unknownTlvs`. RangeError if an unknown record is even (BOLT 1
 * forbids sending those unnegotiated) or uses a type the message defines.
 */
export function writeExtension(
  w: ByteWriter,
  knownTypes: readonly bigint[],
  known: ReadonlyArray<TlvRecord | undefined>,
  unknownTlvs: readonly TlvRecord[] | undefined,
): void {
  const all: TlvRecord[] = [];
  for (const rec of known) if (rec !== undefined) all.push(rec);
  if (unknownTlvs !== undefined) {
    if (!Array.isArray(unknownTlvs)) throw new TypeError(`expected unknownTlvs as an array, got ${typeof unknownTlvs}`);
    for (const rec of unknownTlvs) {
      if (typeof rec?.type !== 'bigint') throw new TypeError(`expected unknown TLV type as bigint, got ${typeof rec?.type}`);
      if (rec.type % 2n === 0n) throw new RangeError(`expected only odd unknown TLV types, got ${rec.type}`);
      if (knownTypes.includes(rec.type)) {
        throw new RangeError(`expected unknownTlvs to avoid the message's own TLV types, got ${rec.type}`);
      }
      all.push(rec);
    }
    all.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }
  if (all.length > 0) w.bytes(encodeTlvStream(all));
}

/** `{ [key]: value }` when value is defined, `{}` otherwise: builds optional fields under exactOptionalPropertyTypes. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
