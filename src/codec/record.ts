/**
 * Versioned records: `[version: u8][minReaderVersion: u8][TLV stream]`.
 *
 * A record schema is a table of fields, each a TLV type, a property name and a field codec.
 * BOLT 1's parity rule decides compatibility: even types are required (a reader that does
 * not know one must fail), odd types are optional (unknown ones are skipped). A new optional
 * field therefore needs no data migration, and a reader never silently drops a required
 * field it does not understand. A writer raises `minReaderVersion` only when old readers
 * would misread the record; such a record fails to decode with DECODE_FAILED.
 *
 * The field table is data, so the schema fingerprint (issue: SQL backends) can list every
 * persisted shape without running code.
 */
import { DecodeError } from '../errors.js';
import { ByteReader, ByteWriter, bytesToHex, hexToBytes } from './bytes.js';
import { decodeTlvStream, decodeTu64, encodeTu64 } from './tlv.js';

/** Encodes one value into the bytes of a TLV record value, and back. */
export interface FieldCodec<T> {
  /** A short name of the encoding, listed in field tables ("u16", "hex32", "list<htlc>"). */
  readonly kind: string;
  write(w: ByteWriter, value: T): void;
  /** Reads a value; the reader is positioned at the start of the TLV value. */
  read(r: ByteReader): T;
}

function fixed<T>(kind: string, write: (w: ByteWriter, v: T) => void, read: (r: ByteReader) => T): FieldCodec<T> {
  return { kind, write, read };
}

function assertSafeUint(value: number, bits: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || (bits < 53 && value >= 2 ** bits)) {
    throw new RangeError(`expected ${what} to be an unsigned ${bits}-bit integer, got ${value}`);
  }
}

/** Field codecs for the primitive shapes records are made of. */
export const field = {
  u8: fixed<number>('u8', (w, v) => (assertSafeUint(v, 8, 'u8'), w.u8(v)), (r) => r.u8()),
  u16: fixed<number>('u16', (w, v) => (assertSafeUint(v, 16, 'u16'), w.u16(v)), (r) => r.u16()),
  u32: fixed<number>('u32', (w, v) => (assertSafeUint(v, 32, 'u32'), w.u32(v)), (r) => r.u32()),
  /** A signed 32-bit integer (two's complement), e.g. an output index that may be -1. */
  i32: fixed<number>(
    'i32',
    (w, v) => {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`expected an i32, got ${v}`);
      w.u32(v >>> 0);
    },
    (r) => r.u32() | 0,
  ),
  /**
   * A safe-integer number written as a truncated u64 (minimal big-endian bytes, the same
   * bytes `encodeTu64` gives), without going through bigint: it is on every hot record.
   */
  tu53: fixed<number>(
    'tu64',
    (w, v) => {
      assertSafeUint(v, 53, 'tu64');
      let length = 0;
      for (let rest = v; rest > 0; rest = Math.floor(rest / 256)) length++;
      for (let i = length - 1; i >= 0; i--) w.u8(Math.floor(v / 256 ** i) % 256);
    },
    (r) => {
      const bytes = r.rest();
      if (bytes.length > 7) throw new DecodeError(`integer of ${bytes.length} bytes exceeds 2^53`);
      if (bytes.length > 0 && bytes[0] === 0) throw new DecodeError('truncated integer is not minimally encoded: leading zero byte');
      let value = 0;
      for (const byte of bytes) value = value * 256 + byte;
      if (value > Number.MAX_SAFE_INTEGER) throw new DecodeError(`integer ${value} exceeds 2^53`);
      return value;
    },
  ),
  /** A bigint amount written as a truncated u64. */
  amount: fixed<bigint>(
    'tu64',
    (w, v) => w.bytes(encodeTu64(v)),
    (r) => decodeTu64(r.rest()),
  ),
  /** A full 8-byte unsigned integer as bigint (e.g. a short channel id). */
  u64: fixed<bigint>('u64', (w, v) => w.u64(v), (r) => r.u64()),
  /** A 48-bit-or-wider index kept as bigint, written as a truncated u64. */
  tu64: fixed<bigint>('tu64', (w, v) => w.bytes(encodeTu64(v)), (r) => decodeTu64(r.rest())),
  bool: fixed<boolean>(
    'bool',
    (w, v) => w.u8(v ? 1 : 0),
    (r) => {
      const b = r.u8();
      if (b > 1) throw new DecodeError(`expected a boolean byte 0 or 1, got ${b}`);
      return b === 1;
    },
  ),
  /** Opaque bytes: the whole TLV value. */
  bytes: fixed<Uint8Array>('bytes', (w, v) => w.bytes(v), (r) => r.rest().slice()),
  /** Fixed-length bytes shown as lowercase hex (txids, keys, hashes). */
  hex(length: number): FieldCodec<string> {
    return fixed<string>(
      `hex${length}`,
      (w, v) => {
        const bytes = hexToBytes(v);
        if (bytes.length !== length) throw new RangeError(`expected ${length} bytes of hex, got ${bytes.length}`);
        w.bytes(bytes);
      },
      (r) => bytesToHex(r.bytes(length)),
    );
  },
  /** A nested record (TLV stream without envelope). */
  record<T>(schema: RecordSchema<T>): FieldCodec<T> {
    return fixed<T>(
      schema.name,
      (w, v) => schema.writeBody(w, v),
      (r) => schema.decodeBody(r.rest()),
    );
  },
  /** A list: BigSize count, then each element as BigSize length + bytes. */
  list<T>(inner: FieldCodec<T>): FieldCodec<readonly T[]> {
    return fixed<readonly T[]>(
      `list<${inner.kind}>`,
      (w, values) => {
        w.bigSize(values.length);
        const element = acquireScratch();
        try {
          for (const value of values) {
            inner.write(element.reset(), value);
            w.varBytes(element.view());
          }
        } finally {
          releaseScratch(element);
        }
      },
      (r) => {
        const count = r.bigSize();
        // Each element takes at least one byte, so a larger count is corrupt: refuse it
        // before allocating anything.
        if (count > BigInt(r.remaining)) throw new DecodeError(`list claims ${count} elements in ${r.remaining} bytes`);
        const out: T[] = [];
        for (let i = 0n; i < count; i++) {
          const element = new ByteReader(r.varBytes());
          out.push(inner.read(element));
          element.expectDone(`${inner.kind} list element`);
        }
        return out;
      },
    );
  },
} as const;

// Scratch writers for field values: encoding a record writes each field's value into one,
// then copies it behind its type and length. Reusing them (a stack, since records nest)
// keeps encoding free of per-field allocations on the database hot path.
const scratchPool: ByteWriter[] = [];

function acquireScratch(): ByteWriter {
  return scratchPool.pop()?.reset() ?? new ByteWriter(256);
}

function releaseScratch(w: ByteWriter): void {
  scratchPool.push(w);
}

/** One field of a record schema. Even `type` = required, odd = optional. */
export interface FieldSpec<T> {
  readonly type: number;
  readonly name: keyof T & string;
  // biome-ignore lint: the codec's value type depends on the property; checked by tests.
  readonly codec: FieldCodec<any>;
}

/** A row of a schema's field table (for fingerprints and docs). */
export interface FieldTableRow {
  readonly type: number;
  readonly name: string;
  readonly kind: string;
  readonly required: boolean;
}

/** Versions of a record schema. */
export interface RecordVersions {
  /** The version this code writes. */
  readonly version: number;
  /** The lowest reader version that can read what this code writes. */
  readonly minReaderVersion: number;
}

/** A record type: its field table, versions, and encode/decode. */
export class RecordSchema<T> {
  readonly name: string;
  readonly fields: readonly FieldSpec<T>[];
  readonly versions: RecordVersions;
  private readonly byType = new Map<number, FieldSpec<T>>();
  // Built once: a closure made per decode costs more than the decode of a small field.
  private readonly tlvOptions = {
    isKnownType: (t: bigint) => t <= BigInt(Number.MAX_SAFE_INTEGER) && this.byType.has(Number(t)),
  };

  constructor(name: string, fields: readonly FieldSpec<T>[], versions: RecordVersions = { version: 1, minReaderVersion: 1 }) {
    let last = -1;
    for (const spec of fields) {
      if (spec.type <= last) throw new RangeError(`expected increasing field types in ${name}, got ${spec.type} after ${last}`);
      last = spec.type;
      this.byType.set(spec.type, spec);
    }
    this.name = name;
    this.fields = fields;
    this.versions = versions;
  }

  /** The field table: type, name, encoding, required. */
  fieldTable(): FieldTableRow[] {
    return this.fields.map((f) => ({ type: f.type, name: f.name, kind: f.codec.kind, required: f.type % 2 === 0 }));
  }

  /** Encodes `value` as a TLV stream. Throws TypeError if a required field is missing. */
  encodeBody(value: T): Uint8Array {
    const w = new ByteWriter(256);
    this.writeBody(w, value);
    return w.finish();
  }

  /**
   * Appends `value`'s TLV stream to `w`. Fields are written in the table's (increasing) type
   * order, so the stream is canonical by construction.
   */
  writeBody(w: ByteWriter, value: T): void {
    const scratch = acquireScratch();
    try {
      for (const spec of this.fields) {
        const v = (value as Record<string, unknown>)[spec.name];
        if (v === undefined) {
          if (spec.type % 2 === 0) throw new TypeError(`expected ${this.name}.${spec.name} to be set, got undefined`);
          continue;
        }
        spec.codec.write(scratch.reset(), v);
        w.bigSize(spec.type).varBytes(scratch.view());
      }
    } finally {
      releaseScratch(scratch);
    }
  }

  /**
   * Decodes a TLV stream. DECODE_FAILED on malformed bytes, a missing required field or an
   * unknown even type. With `only`, fields not named are skipped (not decoded, not required).
   */
  decodeBody(bytes: Uint8Array, only?: ReadonlySet<string>): T {
    const records = decodeTlvStream(bytes, this.tlvOptions);
    const out: Record<string, unknown> = {};
    for (const record of records) {
      const spec = this.byType.get(Number(record.type));
      if (spec === undefined) continue; // unknown odd type: optional, skipped
      if (only !== undefined && !only.has(spec.name)) continue;
      const r = new ByteReader(record.value);
      try {
        out[spec.name] = spec.codec.read(r);
        r.expectDone(`${this.name}.${spec.name}`);
      } catch (err) {
        if (err instanceof DecodeError) throw new DecodeError(`${this.name}.${spec.name}: ${err.message}`, { cause: err });
        throw err;
      }
    }
    for (const spec of this.fields) {
      if (only !== undefined && !only.has(spec.name)) continue;
      if (spec.type % 2 === 0 && !(spec.name in out)) throw new DecodeError(`${this.name}: required field ${spec.name} (type ${spec.type}) is missing`);
    }
    return out as T;
  }

  /** Encodes `value` with the envelope `[version][minReaderVersion][TLV stream]`. */
  encode(value: T): Uint8Array {
    const w = new ByteWriter(256);
    w.u8(this.versions.version).u8(this.versions.minReaderVersion);
    this.writeBody(w, value);
    return w.finish();
  }

  /**
   * Decodes only the named fields of an enveloped record (for hot paths that need one or
   * two fields of a large record). The stream is still fully validated; required fields
   * outside `names` are not checked for presence.
   */
  decodeFields<K extends keyof T & string>(bytes: Uint8Array, names: readonly K[]): Pick<T, K> {
    const full = this.decode(bytes, new Set<string>(names));
    return full as Pick<T, K>;
  }

  /**
   * Decodes an enveloped record. DECODE_FAILED if it needs a newer reader or is malformed.
   * With `only`, just those fields are decoded (see decodeFields).
   */
  decode(bytes: Uint8Array, only?: ReadonlySet<string>): T {
    if (bytes.length < 2) throw new DecodeError(`${this.name}: record of ${bytes.length} bytes has no envelope`);
    const minReader = bytes[1]!;
    if (minReader > this.versions.version) {
      throw new DecodeError(
        `${this.name}: record version ${bytes[0]} needs reader version ${minReader}, this chand reads up to ${this.versions.version}`,
      );
    }
    return this.decodeBody(bytes.subarray(2), only);
  }
}
