/**
 * Byte-level building blocks for every chand wire and storage codec.
 *
 * `ByteWriter` appends big-endian integers, BigSizes and raw bytes into one growable buffer
 * (doubling, so n appends cost O(n) copies in total) and hands out an exact-length copy at the
 * end; it sits on the database write path, so it never collects arrays of small chunks.
 * `ByteReader` is the strict counterpart: every read is bounds-checked and a short input throws
 * `DecodeError` naming what was being read and at which offset, leaving the reader's position
 * where it was before the failed read.
 */
import { bytesToHex as nobleBytesToHex, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js';
import { DecodeError } from '../errors.js';
import { bigSizeLength, decodeBigSize, MAX_U64, writeBigSize } from './bigsize.js';

const DEFAULT_CAPACITY = 64;

/** A short description of `v` for "expected X, got Y" messages. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** Throws unless `n` is an integer in [0, max]; `what` names the field in the message. */
function assertUint(n: number, max: number, what: string): void {
  if (typeof n !== 'number') throw new TypeError(`expected ${what} as number, got ${describe(n)}`);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new RangeError(`expected ${what} integer in [0, ${max}], got ${n}`);
  }
}

/** Throws TypeError unless `b` is a Uint8Array (Node's Buffer included). */
function assertBytes(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array)) throw new TypeError(`expected ${what} as Uint8Array, got ${describe(b)}`);
}

/**
 * Serializes values into a single growable buffer. All integers are big-endian, as everywhere
 * in BOLT. Each method validates its argument and throws TypeError/RangeError on misuse before
 * writing anything, so a failed call leaves the output unchanged. Methods return `this` for
 * chaining. Not thread-safe in any sense that matters for JS; do not share across builders.
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #length = 0;

  /** Creates an empty writer; `initialCapacity` is a sizing hint in bytes, not a limit. */
  constructor(initialCapacity = DEFAULT_CAPACITY) {
    assertUint(initialCapacity, Number.MAX_SAFE_INTEGER, 'initialCapacity');
    this.#buf = new Uint8Array(Math.max(initialCapacity, 1));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /**
   * Makes room for `n` more bytes and returns the offset at which to write them. It may replace
   * `#buf`/`#view`, so callers must call it before reading either (`this.#buf[this.#reserve(1)]`
   * would write into the old buffer: the object is evaluated before the index).
   */
  #reserve(n: number): number {
    const at = this.#length;
    const needed = at + n;
    if (needed > this.#buf.length) {
      let capacity = this.#buf.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.#buf.subarray(0, at));
      this.#buf = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = needed;
    return at;
  }

  /** Appends one byte. RangeError unless `n` is an integer in [0, 255]. */
  u8(n: number): this {
    assertUint(n, 0xff, 'u8');
    const at = this.#reserve(1);
    this.#buf[at] = n;
    return this;
  }

  /** Appends a 2-byte big-endian integer. RangeError unless `n` is in [0, 65535]. */
  u16(n: number): this {
    assertUint(n, 0xffff, 'u16');
    const at = this.#reserve(2);
    this.#view.setUint16(at, n);
    return this;
  }

  /** Appends a 4-byte big-endian integer. RangeError unless `n` is in [0, 2^32 - 1]. */
  u32(n: number): this {
    assertUint(n, 0xffff_ffff, 'u32');
    const at = this.#reserve(4);
    this.#view.setUint32(at, n);
    return this;
  }

  /** Appends an 8-byte big-endian integer. TypeError unless `n` is a bigint, RangeError unless in [0, 2^64 - 1]. */
  u64(n: bigint): this {
    if (typeof n !== 'bigint') throw new TypeError(`expected u64 as bigint, got ${describe(n)}`);
    if (n < 0n || n > MAX_U64) throw new RangeError(`expected u64 in [0, 2^64-1], got ${n}`);
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, n);
    return this;
  }

  /** Appends the minimal BigSize encoding of `n` (a bigint, or a non-negative safe-integer number). */
  bigSize(n: bigint | number): this {
    // bigSizeLength validates `n` before anything is reserved.
    const len = bigSizeLength(n);
    const at = this.#reserve(len);
    writeBigSize(this.#buf, at, n);
    return this;
  }

  /** Appends `b` verbatim, with no length prefix. The bytes are copied; `b` may be reused afterwards. */
  bytes(b: Uint8Array): this {
    assertBytes(b, 'bytes');
    const at = this.#reserve(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /** Appends `b` prefixed with its length as a BigSize, the shape `ByteReader.varBytes` reads. */
  varBytes(b: Uint8Array): this {
    assertBytes(b, 'varBytes');
    return this.bigSize(b.length).bytes(b);
  }

  /**
   * Returns a copy of everything written, exactly `length` bytes long. The writer is not reset:
   * later writes keep appending, and earlier results are unaffected by them.
   */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#length);
  }

  /**
   * A view of everything written so far, without copying. It shares the writer's buffer, so
   * it is valid only until the next write or reset: copy it (or `finish()`) to keep it.
   */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }

  /** Empties the writer, keeping its buffer for reuse. */
  reset(): this {
    this.#length = 0;
    return this;
  }
}

/**
 * Reads values from a byte array front to back, big-endian. Any read that needs more bytes
 * than remain throws DecodeError (with what was being read and the offset, counted from the
 * start of `buf`) and does not move the position. Returned byte arrays are views into `buf`,
 * not copies: copy them if `buf` will be mutated or reused.
 */
export class ByteReader {
  readonly #buf: Uint8Array;
  #dataView: DataView | undefined;
  #pos: number;

  /** Starts reading `buf` at `offset` (default 0). RangeError unless 0 <= offset <= buf.length. */
  constructor(buf: Uint8Array, offset = 0) {
    assertBytes(buf, 'buffer');
    assertUint(offset, buf.length, 'offset');
    this.#buf = buf;
    this.#pos = offset;
  }

  /** A DataView over the buffer, made on first use: most readers of small record fields never need one. */
  get #view(): DataView {
    return (this.#dataView ??= new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength));
  }

  /** Current position, counted from the start of the buffer. */
  get offset(): number {
    return this.#pos;
  }

  /** Number of unread bytes. */
  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  /** True when every byte has been read. */
  done(): boolean {
    return this.#pos === this.#buf.length;
  }

  /** Claims `n` bytes for a read of `what`; returns their start offset or throws DecodeError. */
  #take(n: number, what: string): number {
    const at = this.#pos;
    if (n > this.#buf.length - at) {
      throw new DecodeError(`${what} at offset ${at} truncated: need ${n} bytes, ${this.#buf.length - at} remain`);
    }
    this.#pos = at + n;
    return at;
  }

  /** Reads one byte. */
  u8(): number {
    return this.#buf[this.#take(1, 'u8')]!;
  }

  /** Reads a 2-byte big-endian integer. */
  u16(): number {
    return this.#view.getUint16(this.#take(2, 'u16'));
  }

  /** Reads a 4-byte big-endian integer. */
  u32(): number {
    return this.#view.getUint32(this.#take(4, 'u32'));
  }

  /** Reads an 8-byte big-endian integer. */
  u64(): bigint {
    return this.#view.getBigUint64(this.#take(8, 'u64'));
  }

  /** Reads a BigSize; DecodeError if truncated or not minimally encoded (see `decodeBigSize`). */
  bigSize(): bigint {
    const { value, size } = decodeBigSize(this.#buf, this.#pos);
    this.#pos += size;
    return value;
  }

  /** Returns a view of the next `n` bytes. RangeError if `n` is not a non-negative integer. */
  bytes(n: number): Uint8Array {
    assertUint(n, Number.MAX_SAFE_INTEGER, 'byte count');
    const at = this.#take(n, 'byte string');
    return this.#buf.subarray(at, at + n);
  }

  /** Reads a BigSize length and returns a view of that many following bytes. */
  varBytes(): Uint8Array {
    const start = this.#pos;
    const { value: length, size } = decodeBigSize(this.#buf, start);
    const available = this.#buf.length - start - size;
    // Compare as bigint: a hostile length may exceed 2^53.
    if (length > BigInt(available)) {
      throw new DecodeError(
        `length-prefixed bytes at offset ${start} truncated: length ${length}, ${available} bytes remain`,
      );
    }
    const from = start + size;
    this.#pos = from + Number(length);
    return this.#buf.subarray(from, this.#pos);
  }

  /** Returns a view of all unread bytes (possibly empty) and moves to the end. */
  rest(): Uint8Array {
    const at = this.#pos;
    this.#pos = this.#buf.length;
    return this.#buf.subarray(at);
  }

  /** Throws DecodeError naming `what` (e.g. "channel record") if any bytes are left unread. */
  expectDone(what: string): void {
    if (this.#pos !== this.#buf.length) {
      throw new DecodeError(`${what}: ${this.#buf.length - this.#pos} unexpected trailing bytes at offset ${this.#pos}`);
    }
  }
}

/** Concatenates `parts` into one new array; the inputs are not modified or retained. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) {
    assertBytes(p, 'concatBytes part');
    total += p.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** True if `a` and `b` hold the same bytes. Not constant-time: do not use it to compare secrets. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Orders byte arrays like C's memcmp, with a shorter array that is a prefix of a longer one
 * sorting first: negative if a < b, 0 if equal, positive if a > b. This is the key order of
 * LMDB, LevelDB and SQLite BLOBs.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Decodes a hex string (either case, no `0x` prefix, no separators) into bytes.
 * Throws TypeError on a non-string, an odd length, or a non-hex character.
 */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`expected hex string, got ${describe(hex)}`);
  try {
    return nobleHexToBytes(hex);
  } catch (err) {
    // noble reports malformed hex as RangeError; for chand it is argument misuse of type.
    if (err instanceof RangeError) throw new TypeError(err.message, { cause: err });
    throw err;
  }
}

/** Encodes bytes as a lowercase hex string with no prefix. */
export function bytesToHex(b: Uint8Array): string {
  assertBytes(b, 'bytes');
  return nobleBytesToHex(b);
}
