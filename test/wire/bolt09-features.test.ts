/**
 * BOLT 9 feature bits: the feature vector's byte layout, the named bits / ASSUMED set /
 * dependencies checked against the table in the spec text itself, chand's init features,
 * the peer-compatibility rules of BOLT 1 and 9, and BOLT 2 channel types.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/codec/bytes.js';
import {
  ASSUMED_FEATURES,
  CHAND_CHANNEL_TYPE,
  chandInitFeatures,
  checkPeerFeatures,
  decodeChannelType,
  encodeChannelType,
  Feature,
  FEATURE_DEPENDENCIES,
  FEATURE_NAMES,
  featureName,
  FeatureVector,
} from '../../src/wire/index.js';

const BOLT09_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/specs/bolts/09-features.md');

interface SpecRow {
  even: number;
  name: string;
  assumed: boolean;
  dependencies: string[];
}

/** The rows of BOLT 9's feature table: `| 0/1 | `name` | description | context | deps | link |`. */
function specTable(): SpecRow[] {
  const rows: SpecRow[] = [];
  for (const line of readFileSync(BOLT09_PATH, 'utf8').split('\n')) {
    const m = /^\|\s*(\d+)\/(\d+)\s*\|\s*`([a-z_]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|/.exec(line);
    if (m === null) continue;
    rows.push({
      even: Number(m[1]),
      name: m[3]!,
      assumed: m[4]!.trim() === 'ASSUMED',
      dependencies: [...m[6]!.matchAll(/`([a-z_]+)`/g)].map((d) => d[1]!),
    });
  }
  return rows;
}

describe('FeatureVector byte layout (BOLT 1/9: bit 0 is the lowest bit of the last byte)', () => {
  it('maps bits to big-endian bytes', () => {
    expect(bytesToHex(FeatureVector.fromBits([0]).toBytes())).toBe('01');
    expect(bytesToHex(FeatureVector.fromBits([9]).toBytes())).toBe('0200');
    expect(bytesToHex(FeatureVector.fromBits([0, 9, 15]).toBytes())).toBe('8201');
    expect(bytesToHex(FeatureVector.fromBits([17]).toBytes())).toBe('020000');
    expect(FeatureVector.fromBytes(hexToBytes('0200')).bits()).toEqual([9]);
    expect(FeatureVector.fromBytes(hexToBytes('8201')).bits()).toEqual([0, 9, 15]);
  });

  it('drops zero padding, so equal sets encode equally', () => {
    const padded = FeatureVector.fromBytes(hexToBytes('00000201'));
    expect(bytesToHex(padded.toBytes())).toBe('0201');
    expect(padded.equals(FeatureVector.fromBits([0, 9]))).toBe(true);
    expect(FeatureVector.fromBytes(hexToBytes('0000')).isEmpty()).toBe(true);
    expect(FeatureVector.empty().toBytes().length).toBe(0);
  });

  it('is immutable: with/without return new vectors and leave the original alone', () => {
    const a = FeatureVector.fromBits([1]);
    const b = a.with(20);
    const c = b.without(20);
    expect(a.bits()).toEqual([1]);
    expect(b.bits()).toEqual([1, 20]);
    expect(bytesToHex(c.toBytes())).toBe('02');
    const out = a.toBytes();
    out[0] = 0xff;
    expect(a.bits()).toEqual([1]);
  });

  it('answers has / offers / requires per pair', () => {
    const v = FeatureVector.fromBits([13, 16]);
    expect(v.has(13)).toBe(true);
    expect(v.has(12)).toBe(false);
    expect(v.offers(Feature.staticRemoteKey)).toBe(true);
    expect(v.requires(Feature.staticRemoteKey)).toBe(false);
    expect(v.offers(Feature.basicMpp)).toBe(true);
    expect(v.requires(Feature.basicMpp)).toBe(true);
    expect(v.offers(Feature.anchors)).toBe(false);
    expect(v.has(10_000)).toBe(false);
  });

  it('ORs vectors of different lengths', () => {
    const v = FeatureVector.fromBytes(hexToBytes('02')).or(FeatureVector.fromBytes(hexToBytes('200000')));
    expect(v.bits()).toEqual([1, 21]);
  });

  it('rejects bad bit numbers as misuse', () => {
    expect(() => FeatureVector.empty().with(-1)).toThrow(RangeError);
    expect(() => FeatureVector.empty().with(1.5)).toThrow(RangeError);
    expect(() => FeatureVector.empty().has('3' as unknown as number)).toThrow(TypeError);
    expect(() => FeatureVector.fromBytes('01' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('named bits match the BOLT 9 table', () => {
  const table = specTable();

  it('reads a plausible table from the spec', () => {
    expect(table.length).toBeGreaterThanOrEqual(20);
  });

  it('names every feature in the table with its even bit', () => {
    const ours = new Map(Object.entries(FEATURE_NAMES).map(([bit, name]) => [name, Number(bit)]));
    for (const row of table) expect(ours.get(row.name), row.name).toBe(row.even);
    expect(ours.size).toBe(table.length);
    expect(new Set(Object.values(Feature)).size).toBe(table.length);
    for (const bit of Object.values(Feature)) expect(FEATURE_NAMES[bit]).toBeDefined();
  });

  it('treats exactly the ASSUMED rows as assumed', () => {
    const assumed = table.filter((r) => r.assumed).map((r) => r.even);
    expect([...ASSUMED_FEATURES].sort((a, b) => a - b)).toEqual(assumed.sort((a, b) => a - b));
  });

  it('has exactly the dependencies of the Dependencies column', () => {
    const byName = new Map(table.map((r) => [r.name, r.even]));
    const expected = table
      .filter((r) => r.dependencies.length > 0)
      .map((r) => [r.even, r.dependencies.map((d) => byName.get(d))] as const);
    expect([...FEATURE_DEPENDENCIES.entries()].map(([k, v]) => [k, [...v]])).toEqual(expected.map(([k, v]) => [k, [...v]]));
  });

  it('names bits of either parity and unassigned bits', () => {
    expect(featureName(13)).toBe('option_static_remotekey');
    expect(featureName(12)).toBe('option_static_remotekey');
    expect(featureName(2)).toBe('unknown feature');
  });
});

describe('chandInitFeatures', () => {
  it('requires exactly the ASSUMED features', () => {
    const f = chandInitFeatures();
    expect(f.bits()).toEqual([0, 8, 12, 14, 44]);
    // bits 0, 8, 12, 14 in the low bytes, 44 in the sixth byte from the end.
    expect(bytesToHex(f.toBytes())).toBe('100000005101');
  });

  it('is compatible with itself and with a peer that sets the same features as optional', () => {
    expect(checkPeerFeatures(chandInitFeatures(), chandInitFeatures())).toEqual({ ok: true });
    expect(checkPeerFeatures(chandInitFeatures(), FeatureVector.fromBits([1, 9, 13, 15, 45]))).toEqual({ ok: true });
  });
});

describe('checkPeerFeatures (BOLT 1 init rules, BOLT 9 dependencies)', () => {
  const ours = chandInitFeatures();

  it('accepts a peer setting nothing: the ASSUMED features are implied', () => {
    expect(checkPeerFeatures(ours, FeatureVector.empty())).toEqual({ ok: true });
  });

  it('ignores unknown odd bits', () => {
    expect(checkPeerFeatures(ours, FeatureVector.fromBits([101, 255]))).toEqual({ ok: true });
  });

  it('refuses unknown even bits', () => {
    const res = checkPeerFeatures(ours, FeatureVector.fromBits([100]));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.reason).toContain('bit 100');
  });

  it('refuses a required known feature we do not offer, accepts it when optional or when we offer it', () => {
    const res = checkPeerFeatures(ours, FeatureVector.fromBits([Feature.dualFund]));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.reason).toContain('option_dual_fund');
    expect(checkPeerFeatures(ours, FeatureVector.fromBits([Feature.dualFund | 1]))).toEqual({ ok: true });
    expect(checkPeerFeatures(ours.with(Feature.scidAlias | 1), FeatureVector.fromBits([Feature.scidAlias]))).toEqual({ ok: true });
  });

  it('treats both bits of a pair as required', () => {
    expect(checkPeerFeatures(ours, FeatureVector.fromBits([28, 29])).ok).toBe(false);
  });

  it('refuses a feature whose dependency is missing', () => {
    const zc = checkPeerFeatures(ours, FeatureVector.fromBits([Feature.zeroConf | 1]));
    expect(zc.ok).toBe(false);
    if (!zc.ok) expect(zc.reason).toContain('option_scid_alias');
    expect(checkPeerFeatures(ours, FeatureVector.fromBits([Feature.zeroConf | 1, Feature.scidAlias | 1]))).toEqual({ ok: true });
    expect(checkPeerFeatures(ours, FeatureVector.fromBits([Feature.simpleClose | 1])).ok).toBe(false);
    expect(checkPeerFeatures(ours, FeatureVector.fromBits([Feature.simpleClose | 1, Feature.shutdownAnySegwit | 1]))).toEqual({
      ok: true,
    });
  });

  it('counts an ASSUMED dependency as present', () => {
    // basic_mpp depends on payment_secret, which is ASSUMED.
    expect(checkPeerFeatures(ours, FeatureVector.fromBits([Feature.basicMpp | 1]))).toEqual({ ok: true });
  });

  it('accepts a typical modern init (lnd-like feature set)', () => {
    const lndLike = FeatureVector.fromBits([0, 5, 7, 8, 11, 12, 14, 17, 19, 23, 27, 31, 45, 47, 51, 55, 61]);
    expect(checkPeerFeatures(ours, lndLike)).toEqual({ ok: true });
  });
});

describe('channel types (BOLT 2 defined channel types)', () => {
  it("encodes chand's own type as option_static_remotekey alone, in the smallest bitmap", () => {
    expect(bytesToHex(encodeChannelType(CHAND_CHANNEL_TYPE))).toBe('1000');
    expect(bytesToHex(encodeChannelType({ anchors: false, scidAlias: true, zeroConf: false }))).toBe('400000001000');
    expect(bytesToHex(encodeChannelType({ anchors: true, scidAlias: false, zeroConf: false }))).toBe('401000');
  });

  it('round-trips every defined type', () => {
    for (const anchors of [false, true]) {
      for (const scidAlias of [false, true]) {
        for (const zeroConf of [false, true]) {
          const t = { anchors, scidAlias, zeroConf };
          expect(decodeChannelType(encodeChannelType(t))).toEqual(t);
        }
      }
    }
  });

  it('returns undefined for bits that are not a defined type', () => {
    expect(decodeChannelType(new Uint8Array(0))).toBeUndefined();
    expect(decodeChannelType(FeatureVector.fromBits([Feature.anchors]).toBytes())).toBeUndefined();
    expect(decodeChannelType(FeatureVector.fromBits([12, 14]).toBytes())).toBeUndefined();
    expect(decodeChannelType(FeatureVector.fromBits([13]).toBytes())).toBeUndefined();
  });

  it('tolerates zero padding when decoding', () => {
    expect(decodeChannelType(hexToBytes('001000'))).toEqual(CHAND_CHANNEL_TYPE);
  });

  it('rejects a malformed type value as misuse', () => {
    expect(() => encodeChannelType({ anchors: 1 } as unknown as typeof CHAND_CHANNEL_TYPE)).toThrow(TypeError);
  });
});
