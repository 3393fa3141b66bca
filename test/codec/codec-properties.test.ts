/**
 * Property tests for the codec primitives: every encoder round-trips through its decoder, the
 * decoders accept only canonical encodings, and arbitrary or mangled input makes a decoder
 * either succeed or throw DecodeError, never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import {
  bigSizeLength,
  ByteReader,
  ByteWriter,
  bytesToHex,
  compareBytes,
  concatBytes,
  decodeBigSize,
  decodeTlvStream,
  decodeTu16,
  decodeTu32,
  decodeTu64,
  encodeBigSize,
  encodeTlvStream,
  encodeTu16,
  encodeTu32,
  encodeTu64,
  equalBytes,
  hexToBytes,
  MAX_U64,
  type TlvRecord,
} from '../../src/codec/index.js';

const RUNS = 2_000;
const run = { numRuns: RUNS };

/** Values at and around every BigSize width boundary. */
const BOUNDARIES = [0n, 1n, 0xfcn, 0xfdn, 0xfen, 0xffn, 0xffffn, 0x1_0000n, 0xffff_ffffn, 0x1_0000_0000n, MAX_U64 - 1n, MAX_U64];

/** u64 values spread over all four BigSize widths, boundaries included. */
const u64 = fc.oneof(
  fc.constantFrom(...BOUNDARIES),
  fc.bigInt({ min: 0n, max: 0xffn }),
  fc.bigInt({ min: 0n, max: 0xffffn }),
  fc.bigInt({ min: 0n, max: 0xffff_ffffn }),
  fc.bigInt({ min: 0n, max: MAX_U64 }),
);

/** Lengths past 0xfd so that record lengths also take the 3-byte BigSize form. */
const value = fc.uint8Array({ maxLength: 300 });

/** Canonical record lists: unique types, strictly increasing. */
const records = fc
  .array(fc.record({ type: u64, value }), { maxLength: 8 })
  .map((rs) => {
    const byType = new Map<bigint, TlvRecord>();
    for (const r of rs) byType.set(r.type, r);
    return [...byType.values()].sort((a, b) => (a.type < b.type ? -1 : 1));
  });

const asHex = (rs: readonly TlvRecord[]): Array<{ type: bigint; value: string }> =>
  rs.map((r) => ({ type: r.type, value: bytesToHex(r.value) }));

/** Runs `fn`; returns its result, or undefined if it threw DecodeError. Any other error escapes. */
function decodeOrDecodeError<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}

/** Big-endian bytes of `v` in exactly `width` bytes. */
function be(v: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

describe('BigSize properties', () => {
  it('decode(encode(n)) = n, taking bigSizeLength(n) bytes, whatever follows', () => {
    fc.assert(
      fc.property(u64, fc.uint8Array({ maxLength: 10 }), (n, tail) => {
        const enc = encodeBigSize(n);
        expect(enc.length).toBe(bigSizeLength(n));
        expect(decodeBigSize(concatBytes(enc, tail))).toEqual({ value: n, size: enc.length });
      }),
      run,
    );
  });

  it('encodes a safe-integer number exactly like the same bigint', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(bytesToHex(encodeBigSize(n))).toBe(bytesToHex(encodeBigSize(BigInt(n))));
        expect(bytesToHex(new ByteWriter(1).bigSize(n).finish())).toBe(bytesToHex(encodeBigSize(n)));
      }),
      run,
    );
  });

  it('rejects every wider-than-minimal encoding as not canonical', () => {
    fc.assert(
      fc.property(u64, (n) => {
        const minimal = bigSizeLength(n);
        for (const [prefix, width] of [[0xfd, 2], [0xfe, 4], [0xff, 8]] as const) {
          if (1 + width <= minimal) continue;
          const wide = concatBytes(Uint8Array.of(prefix), be(n, width));
          expect(() => decodeBigSize(wide)).toThrow(/is not canonical/);
        }
      }),
      run,
    );
  });

  it('order of encodings follows order of values within a width (big-endian)', () => {
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        fc.pre(bigSizeLength(a) === bigSizeLength(b));
        expect(Math.sign(compareBytes(encodeBigSize(a), encodeBigSize(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
      run,
    );
  });
});

describe('truncated integer properties', () => {
  const minimalLength = (n: bigint): number => {
    let len = 0;
    for (let v = n; v > 0n; v >>= 8n) len++;
    return len;
  };

  it('tu64 round-trips with no leading zero byte', () => {
    fc.assert(
      fc.property(u64, (n) => {
        const enc = encodeTu64(n);
        expect(enc.length).toBe(minimalLength(n));
        if (enc.length > 0) expect(enc[0]).not.toBe(0);
        expect(decodeTu64(enc)).toBe(n);
        expect(() => decodeTu64(concatBytes(Uint8Array.of(0), enc))).toThrow(DecodeError);
      }),
      run,
    );
  });

  it('tu32 round-trips and matches tu64 on the same value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 0xffff_ffffn }), (big) => {
        const n = Number(big);
        const enc = encodeTu32(n);
        expect(bytesToHex(enc)).toBe(bytesToHex(encodeTu64(big)));
        expect(decodeTu32(enc)).toBe(n);
        expect(() => decodeTu32(concatBytes(Uint8Array.of(0), enc))).toThrow(DecodeError);
      }),
      run,
    );
  });

  it('tu16 round-trips and matches tu64 on the same value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (n) => {
        const enc = encodeTu16(n);
        expect(bytesToHex(enc)).toBe(bytesToHex(encodeTu64(BigInt(n))));
        expect(decodeTu16(enc)).toBe(n);
        expect(() => decodeTu16(concatBytes(Uint8Array.of(0), enc))).toThrow(DecodeError);
      }),
      run,
    );
  });
});

describe('TLV stream properties', () => {
  it('decode(encode(records)) = records', () => {
    fc.assert(
      fc.property(records, (rs) => {
        expect(asHex(decodeTlvStream(encodeTlvStream(rs)))).toEqual(asHex(rs));
      }),
      run,
    );
  });

  it('encoding refuses records that are not strictly increasing', () => {
    fc.assert(
      fc.property(
        records.filter((rs) => rs.length >= 2),
        fc.nat(),
        fc.boolean(),
        (rs, k, duplicate) => {
          const i = k % (rs.length - 1);
          const bad = [...rs];
          // Either repeat a type or swap two neighbours: both break strict ordering.
          if (duplicate) bad[i + 1] = { type: rs[i]!.type, value: rs[i + 1]!.value };
          else [bad[i], bad[i + 1]] = [rs[i + 1]!, rs[i]!];
          expect(() => encodeTlvStream(bad)).toThrow(/expected TLV types strictly increasing/);
        },
      ),
      run,
    );
  });

  it('isKnownType rejects exactly the streams with an unknown even type', () => {
    fc.assert(
      fc.property(records, fc.func(fc.boolean()), (rs, known) => {
        const isKnownType = (t: bigint): boolean => known(t.toString());
        const shouldFail = rs.some((r) => r.type % 2n === 0n && !isKnownType(r.type));
        const stream = encodeTlvStream(rs);
        if (shouldFail) expect(() => decodeTlvStream(stream, { isKnownType })).toThrow(/unknown even TLV type/);
        else expect(asHex(decodeTlvStream(stream, { isKnownType }))).toEqual(asHex(rs));
      }),
      run,
    );
  });
});

type Op =
  | { readonly k: 'u8' | 'u16' | 'u32'; readonly v: number }
  | { readonly k: 'u64' | 'bigSize'; readonly v: bigint }
  | { readonly k: 'bytes' | 'varBytes'; readonly v: Uint8Array };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('u8' as const), v: fc.integer({ min: 0, max: 0xff }) }),
  fc.record({ k: fc.constant('u16' as const), v: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ k: fc.constant('u32' as const), v: fc.bigInt({ min: 0n, max: 0xffff_ffffn }).map(Number) }),
  fc.record({ k: fc.constant('u64' as const), v: u64 }),
  fc.record({ k: fc.constant('bigSize' as const), v: u64 }),
  fc.record({ k: fc.constant('bytes' as const), v: value }),
  fc.record({ k: fc.constant('varBytes' as const), v: value }),
);

describe('ByteWriter / ByteReader properties', () => {
  it('reads back what was written, in order, to the last byte', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 20 }), fc.integer({ min: 0, max: 64 }), (ops, capacity) => {
        // A tiny initial capacity makes the writer grow during most runs.
        const w = new ByteWriter(capacity);
        for (const o of ops) {
          switch (o.k) {
            case 'u8': case 'u16': case 'u32': w[o.k](o.v); break;
            case 'u64': case 'bigSize': w[o.k](o.v); break;
            case 'bytes': case 'varBytes': w[o.k](o.v); break;
          }
        }
        const out = w.finish();
        expect(out.length).toBe(w.length);
        const r = new ByteReader(out);
        for (const o of ops) {
          switch (o.k) {
            case 'u8': case 'u16': case 'u32': case 'u64': case 'bigSize': expect(r[o.k]()).toBe(o.v); break;
            case 'bytes': expect(bytesToHex(r.bytes(o.v.length))).toBe(bytesToHex(o.v)); break;
            case 'varBytes': expect(bytesToHex(r.varBytes())).toBe(bytesToHex(o.v)); break;
          }
        }
        expect(r.done()).toBe(true);
        r.expectDone('ops');
      }),
      run,
    );
  });

  it('compareBytes orders like Buffer.compare; equalBytes agrees with it; hex round-trips', () => {
    const short = fc.uint8Array({ maxLength: 6, max: 3 }); // small alphabet → many shared prefixes
    fc.assert(
      fc.property(short, short, (a, b) => {
        const cmp = Math.sign(compareBytes(a, b));
        expect(cmp).toBe(Buffer.compare(a, b));
        expect(equalBytes(a, b)).toBe(cmp === 0);
        expect(hexToBytes(bytesToHex(a))).toEqual(a);
        expect(hexToBytes(bytesToHex(a).toUpperCase())).toEqual(a);
      }),
      run,
    );
  });
});

describe('decoders on arbitrary input: success or DecodeError, nothing else', () => {
  const junk = fc.uint8Array({ maxLength: 48 });
  // Bytes biased towards BigSize prefixes and small values, so more inputs get past the first byte.
  const tlvish = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 2, 0xfd, 0xfe, 0xff)), {
    maxLength: 48,
  }).map((a) => Uint8Array.from(a));

  it('decodeBigSize: a success re-encodes to the bytes it consumed', () => {
    fc.assert(
      fc.property(fc.oneof(junk, tlvish), (buf) => {
        const got = decodeOrDecodeError(() => decodeBigSize(buf));
        if (got !== undefined) expect(bytesToHex(encodeBigSize(got.value))).toBe(bytesToHex(buf.subarray(0, got.size)));
      }),
      run,
    );
  });

  it('decodeTlvStream: a success re-encodes to exactly the input', () => {
    fc.assert(
      fc.property(fc.oneof(junk, tlvish), fc.option(fc.func(fc.boolean()), { nil: undefined }), (buf, known) => {
        const options = known === undefined ? undefined : { isKnownType: (t: bigint) => known(t.toString()) };
        const got = decodeOrDecodeError(() => decodeTlvStream(buf, options));
        if (got !== undefined) expect(bytesToHex(encodeTlvStream(got))).toBe(bytesToHex(buf));
      }),
      run,
    );
  });

  it('decodeTlvStream on damaged valid streams (truncated, byte changed, byte inserted)', () => {
    fc.assert(
      fc.property(records, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('cut', 'set', 'insert'), (rs, k, byte, how) => {
        const good = encodeTlvStream(rs);
        const at = good.length === 0 ? 0 : k % good.length;
        const bad =
          how === 'cut'
            ? good.subarray(0, at)
            : how === 'set'
              ? good.map((b, i) => (i === at ? byte : b))
              : concatBytes(good.subarray(0, at), Uint8Array.of(byte), good.subarray(at));
        const got = decodeOrDecodeError(() => decodeTlvStream(bad));
        if (got !== undefined) expect(bytesToHex(encodeTlvStream(got))).toBe(bytesToHex(bad));
      }),
      run,
    );
  });

  it('tu16 / tu32 / tu64 decoders: a success re-encodes to exactly the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10 }), (b) => {
        const t64 = decodeOrDecodeError(() => decodeTu64(b));
        if (t64 !== undefined) expect(bytesToHex(encodeTu64(t64))).toBe(bytesToHex(b));
        const t32 = decodeOrDecodeError(() => decodeTu32(b));
        if (t32 !== undefined) expect(bytesToHex(encodeTu32(t32))).toBe(bytesToHex(b));
        const t16 = decodeOrDecodeError(() => decodeTu16(b));
        if (t16 !== undefined) expect(bytesToHex(encodeTu16(t16))).toBe(bytesToHex(b));
        // All three agree on what is valid within their widths.
        expect(t64 === undefined).toBe(b.length > 8 || b[0] === 0);
        expect(t32 === undefined).toBe(b.length > 4 || b[0] === 0);
        expect(t16 === undefined).toBe(b.length > 2 || b[0] === 0);
      }),
      run,
    );
  });

  it('ByteReader reads on arbitrary bytes fail only with DecodeError and never move on failure', () => {
    const reads = ['u8', 'u16', 'u32', 'u64', 'bigSize', 'varBytes', 'bytes'] as const;
    fc.assert(
      fc.property(junk, fc.array(fc.tuple(fc.constantFrom(...reads), fc.nat({ max: 12 })), { maxLength: 12 }), (buf, plan) => {
        const r = new ByteReader(buf);
        for (const [read, n] of plan) {
          const before = r.offset;
          const ok = decodeOrDecodeError(() => (read === 'bytes' ? r.bytes(n) : r[read]()));
          if (ok === undefined) expect(r.offset).toBe(before);
          expect(r.offset + r.remaining).toBe(buf.length);
        }
      }),
      run,
    );
  });
});
