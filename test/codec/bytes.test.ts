/**
 * ByteWriter / ByteReader / TLV behaviour callers depend on that the spec vectors and property
 * tests do not pin down: misuse errors, offsets in messages, views with a non-zero byteOffset.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import {
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
  encodeTlvStream,
  encodeTu16,
  encodeTu32,
  encodeTu64,
  equalBytes,
  hexToBytes,
} from '../../src/codec/index.js';

describe('ByteWriter', () => {
  it('writes big-endian integers, BigSizes and bytes back to back', () => {
    const out = new ByteWriter(1)
      .u8(0x01)
      .u16(0x0203)
      .u32(0x04050607)
      .u64(0x08090a0b0c0d0e0fn)
      .bigSize(0xfd)
      .bytes(hexToBytes('aabb'))
      .varBytes(hexToBytes('cc'))
      .finish();
    expect(bytesToHex(out)).toBe('010203040506070809' + '0a0b0c0d0e0f' + 'fd00fd' + 'aabb' + '01cc');
  });

  it('finish() returns an exact-length copy and the writer keeps appending', () => {
    const w = new ByteWriter(64).u16(1);
    const first = w.finish();
    expect(first.length).toBe(2);
    expect(first.buffer.byteLength).toBe(2);
    w.u8(9);
    expect(bytesToHex(first)).toBe('0001');
    expect(bytesToHex(w.finish())).toBe('000109');
  });

  it('copies bytes() input, so later changes to the input do not leak in', () => {
    const src = hexToBytes('0102');
    const w = new ByteWriter().bytes(src);
    src[0] = 0xff;
    expect(bytesToHex(w.finish())).toBe('0102');
  });

  it('rejects out-of-range and wrongly typed values with "expected X, got Y", writing nothing', () => {
    const w = new ByteWriter();
    expect(() => w.u8(256)).toThrow(new RangeError('expected u8 integer in [0, 255], got 256'));
    expect(() => w.u8(-1)).toThrow(RangeError);
    expect(() => w.u16(65536)).toThrow(/expected u16 integer in \[0, 65535\], got 65536/);
    expect(() => w.u32(1.5)).toThrow(/expected u32 integer in \[0, 4294967295\], got 1.5/);
    expect(() => w.u32(2 ** 32)).toThrow(RangeError);
    expect(() => w.u64(-1n)).toThrow(/expected u64 in \[0, 2\^64-1\], got -1/);
    expect(() => w.u64(2n ** 64n)).toThrow(RangeError);
    expect(() => w.u64(1 as unknown as bigint)).toThrow(new TypeError('expected u64 as bigint, got number'));
    expect(() => w.bigSize(-1)).toThrow(RangeError);
    expect(() => w.bigSize(2n ** 64n)).toThrow(RangeError);
    expect(() => w.bytes('ab' as unknown as Uint8Array)).toThrow(/expected bytes as Uint8Array, got string/);
    expect(() => w.varBytes([1] as unknown as Uint8Array)).toThrow(/expected varBytes as Uint8Array, got Array/);
    expect(w.length).toBe(0);
  });
});

describe('ByteReader', () => {
  it('reads correctly from a view with a non-zero byteOffset (e.g. a pooled Buffer)', () => {
    const backing = hexToBytes('ffff' + '0102' + '03040506' + '0708090a0b0c0d0e' + 'fe00010000' + 'ffff');
    const view = backing.subarray(2, backing.length - 2);
    const r = new ByteReader(view);
    expect(r.u16()).toBe(0x0102);
    expect(r.u32()).toBe(0x03040506);
    expect(r.u64()).toBe(0x0708090a0b0c0d0en);
    expect(r.bigSize()).toBe(0x10000n);
    expect(r.done()).toBe(true);
    const buf = Buffer.concat([Buffer.from('zz'), Buffer.from('0203', 'hex')]).subarray(2);
    expect(new ByteReader(buf).u16()).toBe(0x0203);
  });

  it('starts at the given offset and reports positions from the buffer start', () => {
    const r = new ByteReader(hexToBytes('00000102'), 2);
    expect(r.offset).toBe(2);
    expect(r.remaining).toBe(2);
    expect(() => r.u32()).toThrow(new DecodeError('u32 at offset 2 truncated: need 4 bytes, 2 remain'));
    expect(r.u16()).toBe(0x0102);
    expect(() => new ByteReader(new Uint8Array(2), 3)).toThrow(RangeError);
    expect(() => new ByteReader(new Uint8Array(2), -1)).toThrow(RangeError);
  });

  it('returns views, not copies, from bytes(), varBytes() and rest()', () => {
    const buf = hexToBytes('aa02bbccdd');
    const r = new ByteReader(buf);
    const a = r.bytes(1);
    const b = r.varBytes();
    const c = r.rest();
    expect([bytesToHex(a), bytesToHex(b), bytesToHex(c)]).toEqual(['aa', 'bbcc', 'dd']);
    expect(b.buffer).toBe(buf.buffer);
    expect(r.done()).toBe(true);
    expect(r.rest().length).toBe(0);
  });

  it('fails varBytes whose length exceeds the input, even beyond 2^53, without moving', () => {
    const r = new ByteReader(hexToBytes('ff0020000000000001aa'));
    expect(() => r.varBytes()).toThrow(
      new DecodeError('length-prefixed bytes at offset 0 truncated: length 9007199254740993, 1 bytes remain'),
    );
    expect(r.offset).toBe(0);
  });

  it('expectDone names the record and the offset of the leftover bytes', () => {
    const r = new ByteReader(hexToBytes('000102'));
    r.u8();
    expect(() => r.expectDone('channel record')).toThrow(
      new DecodeError('channel record: 2 unexpected trailing bytes at offset 1'),
    );
    r.bytes(2);
    expect(() => r.expectDone('channel record')).not.toThrow();
  });

  it('rejects a negative or fractional byte count as misuse, not as bad input', () => {
    const r = new ByteReader(new Uint8Array(4));
    expect(() => r.bytes(-1)).toThrow(RangeError);
    expect(() => r.bytes(0.5)).toThrow(RangeError);
    expect(() => r.bytes(5)).toThrow(DecodeError);
  });
});

describe('byte helpers', () => {
  it('hexToBytes throws TypeError on odd length, non-hex characters and non-strings', () => {
    expect(() => hexToBytes('abc')).toThrow(TypeError);
    expect(() => hexToBytes('zz')).toThrow(TypeError);
    expect(() => hexToBytes('0x00')).toThrow(TypeError);
    expect(() => hexToBytes(7 as unknown as string)).toThrow(new TypeError('expected hex string, got number'));
    expect(bytesToHex(hexToBytes('ABcd'))).toBe('abcd');
  });

  it('compareBytes is memcmp order with shorter prefixes first', () => {
    expect(compareBytes(hexToBytes('01'), hexToBytes('0100'))).toBeLessThan(0);
    expect(compareBytes(hexToBytes('02'), hexToBytes('0100'))).toBeGreaterThan(0);
    expect(compareBytes(hexToBytes('ff'), hexToBytes('ff'))).toBe(0);
    expect(equalBytes(hexToBytes('0102'), hexToBytes('0102'))).toBe(true);
    expect(equalBytes(hexToBytes('0102'), hexToBytes('01'))).toBe(false);
    expect(bytesToHex(concatBytes())).toBe('');
    expect(bytesToHex(concatBytes(hexToBytes('01'), new Uint8Array(0), hexToBytes('0203')))).toBe('010203');
  });
});

describe('BigSize and TLV error messages', () => {
  it('decodeBigSize names the offset and rejects an offset outside the buffer as misuse', () => {
    expect(() => decodeBigSize(hexToBytes('00fd00'), 1)).toThrow(/BigSize at offset 1 truncated/);
    expect(() => decodeBigSize(new Uint8Array(1), 2)).toThrow(RangeError);
  });

  it('decodeTlvStream names the offending type and offset', () => {
    expect(() => decodeTlvStream(hexToBytes('0100' + '0100'))).toThrow(
      new DecodeError('duplicate TLV type: type 1 at offset 2 follows type 1'),
    );
    expect(() => decodeTlvStream(hexToBytes('0300' + '0100'))).toThrow(
      new DecodeError('TLV types not strictly increasing: type 1 at offset 2 follows type 3'),
    );
    expect(() => decodeTlvStream(hexToBytes('0100' + '0400'), { isKnownType: (t) => t === 1n })).toThrow(
      new DecodeError('unknown even TLV type 4 at offset 2'),
    );
    // Known even types and unknown odd ones pass.
    expect(decodeTlvStream(hexToBytes('0400' + '0500'), { isKnownType: (t) => t === 4n })).toHaveLength(2);
  });

  it('encodeTlvStream rejects misuse with TypeError/RangeError', () => {
    const v = new Uint8Array(0);
    expect(() => encodeTlvStream([{ type: 2n, value: v }, { type: 2n, value: v }])).toThrow(
      new RangeError('expected TLV types strictly increasing, got type 2 after 2 (record 1)'),
    );
    expect(() => encodeTlvStream([{ type: -1n, value: v }])).toThrow(RangeError);
    expect(() => encodeTlvStream([{ type: 1 as unknown as bigint, value: v }])).toThrow(TypeError);
    expect(() => encodeTlvStream([{ type: 1n, value: 'x' as unknown as Uint8Array }])).toThrow(TypeError);
    expect(encodeTlvStream([]).length).toBe(0);
  });

  it('truncated integers: zero is empty; misuse and over-long input are rejected', () => {
    expect(encodeTu64(0n).length).toBe(0);
    expect(decodeTu64(new Uint8Array(0))).toBe(0n);
    expect(bytesToHex(encodeTu64(2n ** 64n - 1n))).toBe('ffffffffffffffff');
    expect(() => encodeTu64(2n ** 64n)).toThrow(RangeError);
    expect(() => encodeTu64(1 as unknown as bigint)).toThrow(TypeError);
    expect(() => encodeTu32(2 ** 32)).toThrow(new RangeError('expected tu32 value in [0, 4294967295], got 4294967296'));
    expect(() => encodeTu16(-1)).toThrow(RangeError);
    expect(() => decodeTu16(hexToBytes('010000'))).toThrow(new DecodeError('tu16 too long: 3 bytes, at most 2 allowed'));
    expect(() => decodeTu32(hexToBytes('0001'))).toThrow(
      new DecodeError('tu32 is not minimally encoded: leading zero byte at offset 0 of 2 bytes'),
    );
    expect(decodeTu32(hexToBytes('ffffffff'))).toBe(0xffffffff);
  });
});
