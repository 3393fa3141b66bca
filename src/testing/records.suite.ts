/**
 * Conformance: the persisted record format every byte-storing backend shares
 * (`[version][minReaderVersion][TLV stream]`, BOLT 1 parity). Needs no backend.
 */
import { describe, expect, it } from 'vitest';
import { CHANSTATE_RECORDS, channelInfoRecord } from '../chanstate/records.js';
import { concatBytes, decodeTlvStream, encodeTlvStream } from '../codec/index.js';
import type { RecordSchema } from '../codec/record.js';
import { ErrorCode } from '../errors.js';
import { makeChannel, scidOf } from './fixtures.js';
import { channelInfoOf, recordSamples } from './record-samples.js';

const schemas = CHANSTATE_RECORDS as unknown as readonly RecordSchema<unknown>[];

/** Calls `fn` and returns the `code` of what it threw (or "no error"). */
function codeOf(fn: () => unknown): unknown {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return (err as { code?: unknown }).code ?? err;
  }
}

/** A one-byte-type TLV record with a one-byte value (types below 0xfd). */
function tlv(type: number, value = 0): Uint8Array {
  return Uint8Array.of(type, 1, value);
}

function envelope(version: number, minReader: number, body: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(version, minReader), body);
}

/** Registers the record-format tests. */
export function recordsSuite(): void {
  describe('record format', () => {
    const samples = recordSamples();

    it('every channel-state schema has a sample', () => {
      expect(schemas.map((s) => s.name).filter((name) => !(name in samples))).toEqual([]);
    });

    it('every schema round-trips its sample', () => {
      for (const schema of schemas) expect(schema.decode(schema.encode(samples[schema.name])), schema.name).toEqual(samples[schema.name]);
    });

    it('an unknown even field fails DECODE_FAILED; an unknown odd field is skipped', () => {
      for (const schema of schemas) {
        const sample = samples[schema.name];
        const body = schema.encodeBody(sample);
        const top = Math.max(...schema.fields.map((f) => f.type)) + 1;
        const [even, odd] = top % 2 === 0 ? [top, top + 1] : [top + 1, top];
        expect(codeOf(() => schema.decode(envelope(1, 1, concatBytes(body, tlv(even))))), schema.name).toBe(ErrorCode.DECODE_FAILED);
        expect(schema.decode(envelope(1, 1, concatBytes(body, tlv(odd)))), schema.name).toEqual(sample);
        expect(schema.decode(envelope(1, 1, concatBytes(body, tlv(odd), tlv(odd + 2, 7)))), schema.name).toEqual(sample);
      }
    });

    it('a missing required field fails DECODE_FAILED', () => {
      for (const schema of schemas) {
        const records = decodeTlvStream(schema.encodeBody(samples[schema.name]));
        for (const required of schema.fields.filter((f) => f.type % 2 === 0)) {
          const without = encodeTlvStream(records.filter((r) => r.type !== BigInt(required.type)));
          expect(codeOf(() => schema.decode(envelope(1, 1, without))), `${schema.name}.${required.name}`).toBe(ErrorCode.DECODE_FAILED);
        }
      }
    });

    it('a record needing a newer reader fails DECODE_FAILED; a newer record old readers may read, reads', () => {
      for (const schema of schemas) {
        const sample = samples[schema.name];
        const body = schema.encodeBody(sample);
        const reader = schema.versions.version;
        expect(codeOf(() => schema.decode(envelope(reader + 1, reader + 1, body))), schema.name).toBe(ErrorCode.DECODE_FAILED);
        expect(codeOf(() => schema.decode(envelope(reader, reader + 1, body))), schema.name).toBe(ErrorCode.DECODE_FAILED);
        expect(schema.decode(envelope(reader + 1, reader, body)), schema.name).toEqual(sample);
        expect(schema.decode(envelope(reader + 1, 0, concatBytes(body, tlv(201)))), schema.name).toEqual(sample);
      }
    });

    it('truncated records and records without an envelope fail DECODE_FAILED', () => {
      for (const schema of schemas) {
        const bytes = schema.encode(samples[schema.name]);
        expect(codeOf(() => schema.decode(bytes.subarray(0, bytes.length - 1))), schema.name).toBe(ErrorCode.DECODE_FAILED);
        expect(codeOf(() => schema.decode(bytes.subarray(0, 1))), schema.name).toBe(ErrorCode.DECODE_FAILED);
        expect(codeOf(() => schema.decode(new Uint8Array(0))), schema.name).toBe(ErrorCode.DECODE_FAILED);
      }
    });

    it('channel info written without the optional memo and realScid (an older writer) still reads', () => {
      const { memo: _memo, realScid: _realScid, ...older } = channelInfoOf(makeChannel(3));
      expect(older).not.toHaveProperty('memo');
      for (const [version, minReader] of [
        [1, 1],
        [0, 0],
      ] as const) {
        const decoded = channelInfoRecord.decode(envelope(version, minReader, channelInfoRecord.encodeBody(older)));
        expect(decoded).toEqual(older);
        expect(decoded.memo).toBeUndefined();
        expect(decoded.realScid).toBeUndefined();
      }
      // And the same channel written now, with both, keeps both.
      const current = { ...channelInfoOf(makeChannel(3)), realScid: scidOf(800_000, 1, 0) };
      expect(channelInfoRecord.decode(channelInfoRecord.encode(current))).toEqual(current);
    });
  });
}
