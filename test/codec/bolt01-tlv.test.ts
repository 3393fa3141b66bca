/**
 * BOLT 1 Appendix B: Type-Length-Value test vectors, read from the spec text at test time.
 *
 * The spec's test namespaces `n1` and `n2` are implemented below as small decoders on top of
 * `decodeTlvStream` and the tu* helpers, the way real message decoders will be, so that
 * failures caused by record contents (wrong length, non-minimal tu64, bad point) are exercised
 * as well as stream-level ones.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import {
  ByteReader,
  bytesToHex,
  concatBytes,
  decodeTlvStream,
  decodeTu32,
  decodeTu64,
  encodeTlvStream,
  hexToBytes,
} from '../../src/codec/index.js';
import { readBolt01, section, subheadings } from './bolt01-spec.js';

// ---------------------------------------------------------------------------------------------
// The n1 and n2 test namespaces.

/** Decoded known fields, as strings in the spec's notation: `{ tlv1: { amount_msat: '1' } }`. */
type Fields = Record<string, Record<string, string>>;

interface RecordDef {
  readonly name: string;
  readonly decode: (value: Uint8Array) => Record<string, string>;
}

interface TestNamespace {
  readonly name: 'n1' | 'n2';
  readonly decode: (stream: Uint8Array) => Fields;
}

/** A namespace decoder: structure and "it's OK to be odd" from decodeTlvStream, contents from `defs`. */
function namespace(name: 'n1' | 'n2', defs: ReadonlyMap<bigint, RecordDef>): TestNamespace {
  return {
    name,
    decode(stream) {
      const out: Fields = {};
      for (const record of decodeTlvStream(stream, { isKnownType: (t) => defs.has(t) })) {
        const def = defs.get(record.type);
        if (def !== undefined) out[def.name] = def.decode(record.value);
      }
      return out;
    },
  };
}

/** Reads a fixed-layout record value, failing if it is too short or has bytes left over. */
function fixed(what: string, read: (r: ByteReader) => Record<string, string>): (value: Uint8Array) => Record<string, string> {
  return (value) => {
    const r = new ByteReader(value);
    const fields = read(r);
    r.expectDone(what);
    return fields;
  };
}

/** A compressed secp256k1 point, validated (on the curve, 0x02/0x03 prefix). */
function point(r: ByteReader, what: string): string {
  const bytes = r.bytes(33);
  try {
    secp256k1.Point.fromBytes(bytes);
  } catch (err) {
    throw new DecodeError(`${what} is not a valid point`, { cause: err });
  }
  return bytesToHex(bytes);
}

/** short_channel_id in BOLT 7's `block x tx x output` notation, as the spec's vectors write it. */
function scid(v: bigint): string {
  return `${v >> 40n}x${(v >> 16n) & 0xff_ffffn}x${v & 0xffffn}`;
}

const n1 = namespace(
  'n1',
  new Map<bigint, RecordDef>([
    [1n, { name: 'tlv1', decode: (v) => ({ amount_msat: decodeTu64(v).toString() }) }],
    [2n, { name: 'tlv2', decode: fixed('n1 tlv2', (r) => ({ scid: scid(r.u64()) })) }],
    [
      3n,
      {
        name: 'tlv3',
        decode: fixed('n1 tlv3', (r) => ({
          node_id: point(r, 'n1 tlv3 node_id'),
          amount_msat_1: r.u64().toString(),
          amount_msat_2: r.u64().toString(),
        })),
      },
    ],
    [254n, { name: 'tlv4', decode: fixed('n1 tlv4', (r) => ({ cltv_delta: r.u16().toString() })) }],
  ]),
);

const n2 = namespace(
  'n2',
  new Map<bigint, RecordDef>([
    [0n, { name: 'tlv1', decode: (v) => ({ amount_msat: decodeTu64(v).toString() }) }],
    [11n, { name: 'tlv2', decode: (v) => ({ cltv_expiry: decodeTu32(v).toString() }) }],
  ]),
);

const NAMESPACES = { n1, n2 } as const;

// ---------------------------------------------------------------------------------------------
// Parsing Appendix B.

/** Which namespaces a vector applies to, from the paragraph introducing it. */
type Scope = 'any' | 'either' | 'n1' | 'n2';

interface TlvVector {
  readonly section: string;
  readonly scope: Scope;
  readonly valid: boolean;
  readonly hex: string;
  readonly stream: Uint8Array;
  /** The spec's "Reason" (failures) or "Explanation"/"Values" (successes) text. */
  readonly note: string;
}

const appendixB = section(readBolt01(), '## Appendix B: Type-Length-Value Test Vectors');
const KNOWN_SECTIONS = ['TLV Decoding Failures', 'TLV Decoding Successes', 'TLV Stream Decoding Failure'];

function scopeOf(paragraph: string): Scope | undefined {
  if (/in any namespace/.test(paragraph)) return 'any';
  if (/in either namespace/.test(paragraph)) return 'either';
  if (/namespace `n1`|`n1` namespace/.test(paragraph)) return 'n1';
  if (/namespace `n2`|`n2` namespace/.test(paragraph)) return 'n2';
  return undefined;
}

function parseVectors(): TlvVector[] {
  const vectors: TlvVector[] = [];
  for (const name of KNOWN_SECTIONS) {
    let scope: Scope | undefined;
    for (const paragraph of section(appendixB, `### ${name}`).split(/\n\s*\n/)) {
      const text = paragraph.trim().replace(/\s+/g, ' ');
      if (/^(In addition, )?[Tt]he following/.test(text)) {
        scope = scopeOf(text);
        if (scope === undefined) throw new Error(`cannot tell the namespace of: ${text}`);
        continue;
      }
      const m = /^1\. (Valid|Invalid) stream: 0x([0-9a-f ]*) 2\. (?:Reason|Explanation|Values): (.*)$/.exec(text);
      if (m === null) continue;
      if (scope === undefined) throw new Error(`vector before any namespace paragraph: ${text}`);
      const hex = m[2]!.replace(/ /g, '');
      vectors.push({ section: name, scope, valid: m[1] === 'Valid', hex, stream: hexToBytes(hex), note: m[3]! });
    }
  }
  return vectors;
}

const vectors = parseVectors();
const pick = (sectionName: string, scope: Scope): TlvVector[] =>
  vectors.filter((v) => v.section === sectionName && v.scope === scope);

/** The namespaces a vector of `scope` must be checked in. */
function namespacesFor(scope: Scope): TestNamespace[] {
  return scope === 'any' || scope === 'either' ? [n1, n2] : [NAMESPACES[scope]];
}

/**
 * What our DecodeError message must say for each of the spec's reasons, so a vector fails for
 * the reason the spec gives and not by accident. First match wins.
 */
const REASONS: ReadonlyArray<readonly [RegExp, RegExp]> = [
  [/invalid ordering/, /TLV types not strictly increasing/],
  [/duplicate TLV type/, /duplicate TLV type/],
  [/unknown even (type|field)/, /unknown even TLV type/],
  [/not minimally encoded (type|length)/, /BigSize at offset \d+ is not canonical/],
  [/is not minimal/, /is not minimally encoded/],
  [/not a valid point/, /not a valid point/],
  [/greater than encoding length/, /too long|unexpected trailing bytes/],
  [/less than encoding length|truncated|missing (length|value)/, /truncated|unexpected end of input/],
];

function expectedMessage(reason: string): RegExp {
  const hit = REASONS.find(([r]) => r.test(reason));
  if (hit === undefined) throw new Error(`no expected message for the spec's reason "${reason}"`);
  return hit[1];
}

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return err as DecodeError;
  }
  throw new Error('expected a DecodeError, but decoding succeeded');
}

/** Parses the spec's "Values" notation: "`tlv3` `node_id`=02.. `amount_msat_1`=1" → Fields. */
function parseValues(note: string): Fields {
  const out: Fields = {};
  let current: Record<string, string> | undefined;
  for (const m of note.matchAll(/`([^`]+)`(?:=(\S+))?/g)) {
    if (m[2] === undefined) {
      current = out[m[1]!] = {};
    } else {
      if (current === undefined) throw new Error(`field before record name in: ${note}`);
      current[m[1]!] = m[2];
    }
  }
  return out;
}

/** The TLV types in a structurally valid stream. */
const typesOf = (stream: Uint8Array): bigint[] => decodeTlvStream(stream).map((r) => r.type);

const label = (v: TlvVector): string => `0x${v.hex || ''} (${v.note})`;

// ---------------------------------------------------------------------------------------------

describe('BOLT 1 Appendix B: TLV test vectors are all found', () => {
  it('has exactly the sections this file covers (no "TLV Encoding" section in this spec version)', () => {
    expect(subheadings(appendixB)).toEqual(KNOWN_SECTIONS);
  });

  it('parses every vector line in Appendix B (57)', () => {
    const lines = appendixB.match(/^1\. (Valid|Invalid) stream:/gm)?.length ?? 0;
    expect(vectors.length).toBe(lines);
    expect(vectors.length).toBe(57);
  });

  it('groups the vectors as the spec does', () => {
    const counts = Object.fromEntries(
      KNOWN_SECTIONS.flatMap((s) =>
        (['any', 'either', 'n1', 'n2'] as const).map((scope) => [`${s} / ${scope}`, pick(s, scope).length]),
      ),
    );
    expect(counts).toEqual({
      'TLV Decoding Failures / any': 9,
      'TLV Decoding Failures / either': 4,
      'TLV Decoding Failures / n1': 20,
      'TLV Decoding Failures / n2': 0,
      'TLV Decoding Successes / any': 0,
      'TLV Decoding Successes / either': 7,
      'TLV Decoding Successes / n1': 12,
      'TLV Decoding Successes / n2': 0,
      'TLV Stream Decoding Failure / any': 0,
      'TLV Stream Decoding Failure / either': 0,
      'TLV Stream Decoding Failure / n1': 4,
      'TLV Stream Decoding Failure / n2': 1,
    });
    const failuresValid = vectors.filter((v) => v.section !== 'TLV Decoding Successes' && v.valid);
    const successesInvalid = vectors.filter((v) => v.section === 'TLV Decoding Successes' && !v.valid);
    expect([...failuresValid, ...successesInvalid]).toEqual([]);
  });
});

describe('BOLT 1 Appendix B: TLV Decoding Failures', () => {
  describe('in any namespace (malformed stream structure)', () => {
    for (const v of pick('TLV Decoding Failures', 'any')) {
      it(`rejects ${label(v)}`, () => {
        const want = expectedMessage(v.note);
        // Structure alone is enough to reject these: no namespace knowledge needed.
        expect(decodeError(() => decodeTlvStream(v.stream)).message).toMatch(want);
        for (const ns of namespacesFor(v.scope)) expect(decodeError(() => ns.decode(v.stream)).message).toMatch(want);
      });
    }
  });

  describe('in either namespace (unknown even types)', () => {
    for (const v of pick('TLV Decoding Failures', 'either')) {
      it(`rejects ${label(v)}`, () => {
        // Well-formed as a stream; it is the namespace's ignorance of an even type that fails it.
        expect(decodeTlvStream(v.stream)).toHaveLength(1);
        for (const ns of namespacesFor(v.scope)) {
          expect(decodeError(() => ns.decode(v.stream)).message).toMatch(expectedMessage(v.note));
        }
      });
    }
  });

  describe('in namespace n1 (bad record contents)', () => {
    for (const v of pick('TLV Decoding Failures', 'n1')) {
      it(`rejects ${label(v)}`, () => {
        expect(decodeTlvStream(v.stream)).toHaveLength(1);
        expect(decodeError(() => n1.decode(v.stream)).message).toMatch(expectedMessage(v.note));
      });
    }
  });
});

describe('BOLT 1 Appendix B: TLV Decoding Successes', () => {
  describe('in either namespace (ignored)', () => {
    for (const v of pick('TLV Decoding Successes', 'either')) {
      it(`accepts and ignores ${label(v)}`, () => {
        for (const ns of namespacesFor(v.scope)) expect(ns.decode(v.stream)).toEqual({});
        // Unknown odd records are still returned by the stream decoder, for callers that keep them.
        const records = decodeTlvStream(v.stream, { isKnownType: () => false });
        expect(records.every((r) => r.type % 2n === 1n)).toBe(true);
        expect(records.length).toBe(v.stream.length === 0 ? 0 : 1);
      });
    }
  });

  describe('in namespace n1 (with values)', () => {
    for (const v of pick('TLV Decoding Successes', 'n1')) {
      it(`decodes ${label(v)}`, () => {
        const expected = parseValues(v.note);
        expect(Object.keys(expected)).toHaveLength(1);
        expect(n1.decode(v.stream)).toEqual(expected);
      });
    }
  });

  it('re-encodes every valid stream to the same bytes (the encoding is canonical)', () => {
    const valid = pick('TLV Decoding Successes', 'either').concat(pick('TLV Decoding Successes', 'n1'));
    expect(valid).toHaveLength(19);
    for (const v of valid) expect(bytesToHex(encodeTlvStream(decodeTlvStream(v.stream)))).toBe(v.hex);
  });
});

describe('BOLT 1 Appendix B: TLV Stream Decoding Failure', () => {
  for (const v of [...pick('TLV Stream Decoding Failure', 'n1'), ...pick('TLV Stream Decoding Failure', 'n2')]) {
    it(`rejects in ${v.scope} ${label(v)}`, () => {
      const want = expectedMessage(v.note);
      expect(decodeError(() => NAMESPACES[v.scope as 'n1' | 'n2'].decode(v.stream)).message).toMatch(want);
      // Ordering is a stream rule: it fails without any namespace too.
      expect(decodeError(() => decodeTlvStream(v.stream)).message).toMatch(want);
    });
  }

  for (const ns of [n1, n2]) {
    const valid = vectors.filter(
      (v) => v.valid && (v.scope === 'either' || v.scope === 'any' || v.scope === ns.name),
    );
    const invalid = vectors.filter(
      (v) => !v.valid && (v.scope === 'either' || v.scope === 'any' || v.scope === ns.name),
    );

    it(`${ns.name}: appending any invalid stream to any valid stream fails`, () => {
      expect(valid.length * invalid.length).toBeGreaterThan(0);
      for (const a of valid) {
        for (const b of invalid) {
          const joined = concatBytes(a.stream, b.stream);
          expect(() => ns.decode(joined), `0x${a.hex} ++ 0x${b.hex}`).toThrow(DecodeError);
        }
      }
    });

    it(`${ns.name}: appending a higher-numbered valid stream to a lower-numbered one succeeds`, () => {
      let pairs = 0;
      for (const a of valid) {
        for (const b of valid) {
          const ta = typesOf(a.stream);
          const tb = typesOf(b.stream);
          if (ta.length === 0 || tb.length === 0 || ta[ta.length - 1]! >= tb[0]!) continue;
          pairs++;
          const joined = concatBytes(a.stream, b.stream);
          expect(ns.decode(joined), `0x${a.hex} ++ 0x${b.hex}`).toEqual({ ...ns.decode(a.stream), ...ns.decode(b.stream) });
        }
      }
      // Guards against the loop silently testing nothing.
      expect(pairs).toBeGreaterThan(ns.name === 'n1' ? 50 : 10);
    });
  }
});
