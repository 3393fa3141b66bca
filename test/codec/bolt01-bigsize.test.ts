/**
 * BOLT 1 Appendix A: BigSize test vectors, read from the spec's JSON blocks at test time.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import {
  bigSizeLength,
  ByteReader,
  ByteWriter,
  bytesToHex,
  decodeBigSize,
  encodeBigSize,
  hexToBytes,
} from '../../src/codec/index.js';
import { readBolt01, section } from './bolt01-spec.js';

interface BigSizeVector {
  readonly name: string;
  readonly value: bigint;
  readonly bytes: string;
  readonly exp_error?: string;
}

const appendixA = section(readBolt01(), '## Appendix A: BigSize Test Vectors');

/** Every ```json block of `text`, parsed with `value` kept exact (2^64 - 1 does not fit a double). */
function jsonVectors(text: string): BigSizeVector[] {
  const blocks = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) => {
    const quoted = block.replace(/("value"\s*:\s*)(\d+)/g, '$1"$2"');
    const raw = JSON.parse(quoted) as Array<{ name: string; value: string; bytes: string; exp_error?: string }>;
    return raw.map((v) => ({ ...v, value: BigInt(v.value) }));
  });
}

/** Counts vectors by their `"name"` keys in the raw text, independently of the JSON parsing. */
function countNames(text: string): number {
  return text.match(/"name"\s*:/g)?.length ?? 0;
}

const decodingText = section(appendixA, '### BigSize Decoding Tests');
const encodingText = section(appendixA, '### BigSize Encoding Tests');
const decodingVectors = jsonVectors(decodingText);
const encodingVectors = jsonVectors(encodingText);

/**
 * The spec's error strings are Go's; ours differ in wording but keep the same three cases apart:
 * a non-minimal encoding, a prefix promising more bytes than remain, and no byte at all.
 */
const EXPECTED_MESSAGE: Record<string, RegExp> = {
  'decoded bigsize is not canonical': /is not canonical/,
  'unexpected EOF': /truncated: prefix 0x[0-9a-f]{2} needs \d+ more bytes/,
  EOF: /unexpected end of input \(0 bytes remain\)/,
};

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return err as DecodeError;
  }
  throw new Error('expected a DecodeError, but decoding succeeded');
}

describe('BOLT 1 Appendix A: BigSize decoding tests', () => {
  it('finds every vector in the spec (18)', () => {
    expect(decodingVectors.length).toBe(countNames(decodingText));
    expect(decodingVectors.length).toBe(18);
    expect(decodingVectors.filter((v) => v.exp_error !== undefined).length).toBe(10);
  });

  for (const v of decodingVectors) {
    const bytes = hexToBytes(v.bytes);
    if (v.exp_error === undefined) {
      it(`decodes "${v.name}" (${v.bytes}) to ${v.value}`, () => {
        expect(decodeBigSize(bytes)).toEqual({ value: v.value, size: bytes.length });
        const r = new ByteReader(bytes);
        expect(r.bigSize()).toBe(v.value);
        expect(r.done()).toBe(true);
      });
    } else {
      const pattern = EXPECTED_MESSAGE[v.exp_error];
      it(`rejects "${v.name}" (${v.bytes || 'empty'}): ${v.exp_error}`, () => {
        expect(pattern, `no mapping for spec error "${v.exp_error}"`).toBeDefined();
        const err = decodeError(() => decodeBigSize(bytes));
        expect(err.code).toBe('DECODE_FAILED');
        expect(err.message).toMatch(pattern!);
        expect(err.message).toMatch(/at offset 0/);
        // The same bytes at a later offset: the error names that offset.
        const shifted = decodeError(() => decodeBigSize(hexToBytes(`abab${v.bytes}`), 2));
        expect(shifted.message).toMatch(/at offset 2/);
        // ByteReader reports the failure and keeps its position.
        const r = new ByteReader(bytes);
        expect(decodeError(() => r.bigSize()).message).toMatch(pattern!);
        expect(r.offset).toBe(0);
      });
    }
  }
});

describe('BOLT 1 Appendix A: BigSize encoding tests', () => {
  it('finds every vector in the spec (8)', () => {
    expect(encodingVectors.length).toBe(countNames(encodingText));
    expect(encodingVectors.length).toBe(8);
  });

  for (const v of encodingVectors) {
    it(`encodes "${v.name}" ${v.value} as ${v.bytes}`, () => {
      expect(bytesToHex(encodeBigSize(v.value))).toBe(v.bytes);
      expect(bigSizeLength(v.value)).toBe(v.bytes.length / 2);
      expect(bytesToHex(new ByteWriter(1).u8(0xaa).bigSize(v.value).finish())).toBe(`aa${v.bytes}`);
      if (v.value <= BigInt(Number.MAX_SAFE_INTEGER)) {
        const n = Number(v.value);
        expect(bytesToHex(encodeBigSize(n))).toBe(v.bytes);
        expect(bigSizeLength(n)).toBe(v.bytes.length / 2);
      }
    });
  }

  it('rejects values outside [0, 2^64-1] and unsafe numbers with RangeError', () => {
    expect(() => encodeBigSize(-1n)).toThrow(RangeError);
    expect(() => encodeBigSize(2n ** 64n)).toThrow(/expected BigSize value in \[0, 2\^64-1\], got 18446744073709551616/);
    expect(() => encodeBigSize(-1)).toThrow(RangeError);
    expect(() => encodeBigSize(1.5)).toThrow(RangeError);
    expect(() => encodeBigSize(2 ** 53)).toThrow(/non-negative safe integer, got 9007199254740992/);
    expect(() => encodeBigSize('1' as unknown as number)).toThrow(TypeError);
  });
});
