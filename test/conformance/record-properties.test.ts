/**
 * Property tests for every channel-state record schema: generated values round-trip, and
 * any bytes — random, or a valid record mangled — either decode or throw DecodeError
 * (a ChandError with code DECODE_FAILED), never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHANSTATE_RECORDS } from '../../src/chanstate/records.js';
import type { RecordSchema } from '../../src/codec/record.js';
import { ChandError, DecodeError, ErrorCode } from '../../src/errors.js';
import { RECORD_ARBITRARIES } from '../../src/testing/arbitraries.js';

const schemas = CHANSTATE_RECORDS as unknown as readonly RecordSchema<unknown>[];

/** Decodes `bytes`; anything thrown must be a DecodeError with code DECODE_FAILED. */
function decodeOrDecodeError(schema: RecordSchema<unknown>, bytes: Uint8Array): void {
  try {
    schema.decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(ChandError);
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as ChandError).code).toBe(ErrorCode.DECODE_FAILED);
  }
}

/** A byte mutation: overwrite, insert or delete at a position (taken modulo the length). */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
);

function mutate(bytes: Uint8Array, mutations: ReadonlyArray<{ kind: 'set' | 'insert' | 'delete'; at: number; byte: number }>): Uint8Array {
  const out = [...bytes];
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + (m.kind === 'insert' ? 1 : 0));
    if (m.kind === 'set' && out.length > 0) out[Math.min(at, out.length - 1)] = m.byte;
    else if (m.kind === 'insert') out.splice(at, 0, m.byte);
    else if (m.kind === 'delete' && out.length > 0) out.splice(Math.min(at, out.length - 1), 1);
  }
  return Uint8Array.from(out);
}

describe('chanstate record properties', () => {
  it('has an arbitrary for every schema in CHANSTATE_RECORDS', () => {
    expect(schemas.map((s) => s.name).filter((name) => RECORD_ARBITRARIES[name] === undefined)).toEqual([]);
  });

  for (const schema of schemas) {
    const arb = RECORD_ARBITRARIES[schema.name];
    if (arb === undefined) continue;

    describe(schema.name, () => {
      it('round-trips generated values', () => {
        fc.assert(
          fc.property(arb, (value) => {
            expect(schema.decode(schema.encode(value))).toEqual(value);
          }),
          { numRuns: 150 },
        );
      });

      it('decodes random bytes or throws DecodeError', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (bytes, enveloped) => {
            // With a valid envelope, random bytes reach the TLV and field decoders.
            decodeOrDecodeError(schema, enveloped ? Uint8Array.of(1, 1, ...bytes) : bytes);
          }),
          { numRuns: 300 },
        );
      });

      it('decodes mangled valid records or throws DecodeError', () => {
        fc.assert(
          fc.property(arb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (value, mutations) => {
            decodeOrDecodeError(schema, mutate(schema.encode(value), mutations));
          }),
          { numRuns: 150 },
        );
      });
    });
  }
});
