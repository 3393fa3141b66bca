// Row checksums (src/sql/checksums.ts): the canonical encoding is part of the persisted
// format, so the CRC of any row must equal the CRC32 of the encoding as the module comment
// defines it — NULL 0x00; an integer 0x01 and its 64-bit two's complement, big-endian (a
// number and the equal bigint alike); bytes 0x02, u32 length, the bytes.
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crcOfValues, type CrcValue } from '../../src/sql/checksums.js';

/** The canonical encoding written out directly from its definition. */
function reference(values: readonly CrcValue[]): number {
  const parts: Uint8Array[] = [];
  for (const v of values) {
    if (v === null || v === undefined) parts.push(Uint8Array.of(0));
    else if (v instanceof Uint8Array) {
      const head = new Uint8Array(5);
      head[0] = 2;
      new DataView(head.buffer).setUint32(1, v.length);
      parts.push(head, v);
    } else {
      const out = new Uint8Array(9);
      out[0] = 1;
      new DataView(out.buffer).setBigInt64(1, BigInt.asIntN(64, BigInt(v)));
      parts.push(out);
    }
  }
  return crc32(Buffer.concat(parts)) | 0;
}

const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n });
const edges = fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, -(2 ** 32), 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER);
const value: fc.Arbitrary<CrcValue> = fc.oneof(
  int64,
  fc.maxSafeInteger(),
  edges,
  edges.map((n) => BigInt(n)),
  fc.constantFrom(2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, -(2n ** 63n)),
  fc.uint8Array({ maxLength: 80 }),
  fc.constant(null),
);

describe('row checksums', () => {
  it('equal the CRC32 of the canonical encoding for any mix of integers, bytes and NULLs', () => {
    fc.assert(fc.property(fc.array(value, { maxLength: 16 }), (values) => {
        expect(crcOfValues(values)).toBe(reference(values));
      }), { numRuns: 2_000 });
  });

  it('a number and the equal bigint give the same checksum', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => {
        expect(crcOfValues([n])).toBe(crcOfValues([BigInt(n)]));
      }),
    );
  });

  it('a range of values checksums as that slice alone', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 12 }), fc.nat(12), fc.nat(12), (values, a, b) => {
        const from = Math.min(a, b, values.length);
        const to = Math.min(Math.max(a, b), values.length);
        expect(crcOfValues(values, from, to)).toBe(reference(values.slice(from, to)));
      }),
    );
  });

  it('refuses a number that is not a safe integer and a value of another type', () => {
    expect(() => crcOfValues([2 ** 53])).toThrow(TypeError);
    expect(() => crcOfValues([1.5])).toThrow(TypeError);
    expect(() => crcOfValues(['1'])).toThrow(TypeError);
  });
});
