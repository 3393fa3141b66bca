/**
 * BOLT 9 feature bits: the feature vector type, the named bits, the features chand advertises,
 * the checks a peer's `init` must pass, and channel types (BOLT 2 `channel_type`).
 *
 * A feature vector is a big-endian bit field: bit 0 is the least significant bit of the LAST
 * byte. Features come in pairs: the even bit means "required" (a peer that does not know it must
 * disconnect), the odd bit "optional". `Feature` names the even bit of each pair.
 */
import { bytesToHex } from '../codec/bytes.js';

/** Largest feature bit representable in a `u16`-length byte field (65535 bytes). */
const MAX_FEATURE_BIT = 65535 * 8 - 1;

/** Throws unless `bit` is a feature bit number. */
function assertBit(bit: number): void {
  if (typeof bit !== 'number') throw new TypeError(`expected feature bit as number, got ${typeof bit}`);
  if (!Number.isInteger(bit) || bit < 0 || bit > MAX_FEATURE_BIT) {
    throw new RangeError(`expected feature bit integer in [0, ${MAX_FEATURE_BIT}], got ${bit}`);
  }
}

/**
 * An immutable set of feature bits. Equal sets have equal `toBytes()` whatever the input's
 * padding: leading zero bytes are dropped on construction.
 */
export class FeatureVector {
  /** Big-endian, minimal (no leading zero byte). Never mutated after construction. */
  readonly #bytes: Uint8Array;

  private constructor(minimal: Uint8Array) {
    this.#bytes = minimal;
  }

  /** The empty feature vector. */
  static empty(): FeatureVector {
    return new FeatureVector(new Uint8Array(0));
  }

  /**
   * Reads a feature field as it appears on the wire (any length, leading zeros allowed). The
   * bytes are copied. TypeError unless `bytes` is a Uint8Array.
   */
  static fromBytes(bytes: Uint8Array): FeatureVector {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`expected feature bytes as Uint8Array, got ${typeof bytes}`);
    let start = 0;
    while (start < bytes.length && bytes[start] === 0) start++;
    return new FeatureVector(bytes.slice(start));
  }

  /** The vector with exactly `bits` set (duplicates are fine). RangeError for a bad bit number. */
  static fromBits(bits: Iterable<number>): FeatureVector {
    let v = FeatureVector.empty();
    for (const bit of bits) v = v.with(bit);
    return v;
  }

  /** The minimal big-endian encoding (empty when no bit is set), a fresh copy. */
  toBytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /** True if exactly this bit is set. */
  has(bit: number): boolean {
    assertBit(bit);
    const index = this.#bytes.length - 1 - (bit >> 3);
    return index >= 0 && (this.#bytes[index]! & (1 << (bit & 7))) !== 0;
  }

  /** True if either bit of `feature`'s pair is set (the feature is offered). */
  offers(feature: number): boolean {
    return this.has(feature & ~1) || this.has(feature | 1);
  }

  /** True if the even (required) bit of `feature`'s pair is set. */
  requires(feature: number): boolean {
    return this.has(feature & ~1);
  }

  /** A copy with `bit` set (unchanged if already set). */
  with(bit: number): FeatureVector {
    assertBit(bit);
    if (this.has(bit)) return this;
    const length = Math.max(this.#bytes.length, (bit >> 3) + 1);
    const out = new Uint8Array(length);
    out.set(this.#bytes, length - this.#bytes.length);
    out[length - 1 - (bit >> 3)]! |= 1 << (bit & 7);
    return new FeatureVector(out);
  }

  /** A copy with `bit` cleared (unchanged if not set). */
  without(bit: number): FeatureVector {
    assertBit(bit);
    if (!this.has(bit)) return this;
    const out = this.#bytes.slice();
    out[out.length - 1 - (bit >> 3)]! &= ~(1 << (bit & 7));
    return FeatureVector.fromBytes(out);
  }

  /** The union of both vectors (BOLT 1 ORs `init`'s global and local feature fields). */
  or(other: FeatureVector): FeatureVector {
    const a = this.#bytes;
    const b = other.#bytes;
    const length = Math.max(a.length, b.length);
    const out = new Uint8Array(length);
    out.set(a, length - a.length);
    for (let i = 0; i < b.length; i++) out[length - b.length + i]! |= b[i]!;
    return new FeatureVector(out);
  }

  /** Set bits in increasing order. */
  bits(): number[] {
    const out: number[] = [];
    const n = this.#bytes.length;
    for (let i = n - 1; i >= 0; i--) {
      const byte = this.#bytes[i]!;
      if (byte === 0) continue;
      for (let j = 0; j < 8; j++) if (byte & (1 << j)) out.push((n - 1 - i) * 8 + j);
    }
    return out;
  }

  /** True if no bit is set. */
  isEmpty(): boolean {
    return this.#bytes.length === 0;
  }

  /** True if both vectors have the same bits set. */
  equals(other: FeatureVector): boolean {
    return bytesToHex(this.#bytes) === bytesToHex(other.#bytes);
  }

  /** Human-readable bit list, e.g. `FeatureVector(0,9,13)`. */
  toString(): string {
    return `FeatureVector(${this.bits().join(',')})`;
  }
}

/**
 * The even (required) bit of every feature pair in BOLT 9's table; the optional bit is one
 * higher. Use with `FeatureVector.offers/requires`, or `| 1` for the optional bit.
 */
export const Feature = {
  dataLossProtect: 0,
  upfrontShutdownScript: 4,
  gossipQueries: 6,
  varOnionOptin: 8,
  gossipQueriesEx: 10,
  staticRemoteKey: 12,
  paymentSecret: 14,
  basicMpp: 16,
  largeChannels: 18,
  anchors: 22,
  routeBlinding: 24,
  shutdownAnySegwit: 26,
  dualFund: 28,
  quiesce: 34,
  attributionData: 36,
  onionMessages: 38,
  provideStorage: 42,
  channelType: 44,
  scidAlias: 46,
  paymentMetadata: 48,
  zeroConf: 50,
  simpleClose: 60,
  splice: 62,
} as const;

/** One of the even bits in {@link Feature}. */
export type Feature = (typeof Feature)[keyof typeof Feature];

/** The spec's name of each feature, keyed by its even bit, for messages and logs. */
export const FEATURE_NAMES: Readonly<Record<Feature, string>> = {
  0: 'option_data_loss_protect',
  4: 'option_upfront_shutdown_script',
  6: 'gossip_queries',
  8: 'var_onion_optin',
  10: 'gossip_queries_ex',
  12: 'option_static_remotekey',
  14: 'payment_secret',
  16: 'basic_mpp',
  18: 'option_support_large_channel',
  22: 'option_anchors',
  24: 'option_route_blinding',
  26: 'option_shutdown_anysegwit',
  28: 'option_dual_fund',
  34: 'option_quiesce',
  36: 'option_attribution_data',
  38: 'option_onion_messages',
  42: 'option_provide_storage',
  44: 'option_channel_type',
  46: 'option_scid_alias',
  48: 'option_payment_metadata',
  50: 'option_zeroconf',
  60: 'option_simple_close',
  62: 'option_splice',
};

/**
 * Features BOLT 9 marks ASSUMED: every current node supports them, so chand always sets them
 * (as required) and treats them as present in a peer even if its `init` omits them.
 */
export const ASSUMED_FEATURES: readonly Feature[] = [
  Feature.dataLossProtect,
  Feature.varOnionOptin,
  Feature.staticRemoteKey,
  Feature.paymentSecret,
  Feature.channelType,
];

/** BOLT 9's Dependencies column: a vector offering the key must also offer every listed feature. */
export const FEATURE_DEPENDENCIES: ReadonlyMap<Feature, readonly Feature[]> = new Map<Feature, readonly Feature[]>([
  [Feature.basicMpp, [Feature.paymentSecret]],
  [Feature.zeroConf, [Feature.scidAlias]],
  [Feature.simpleClose, [Feature.shutdownAnySegwit]],
]);

/** The spec name of the feature owning `bit`, or `unknown feature` for a bit BOLT 9 does not assign. */
export function featureName(bit: number): string {
  return (FEATURE_NAMES as Record<number, string | undefined>)[bit & ~1] ?? 'unknown feature';
}

/**
 * The feature vector chand sends in `init`: the ASSUMED features, as required bits. Anything
 * else chand comes to support is added by the layer that implements it (`.with(bit)`), so a
 * bit is never advertised before the code honouring it exists.
 */
export function chandInitFeatures(): FeatureVector {
  return FeatureVector.fromBits(ASSUMED_FEATURES);
}

/**
 * Whether a peer's combined `init` features (see `initFeatures`) are compatible with ours,
 * per BOLT 1 and BOLT 9: every required (even) bit the peer sets must be a feature we offer
 * (ASSUMED features count as offered), and every feature the peer offers must have its
 * dependencies offered too (ASSUMED dependencies count as present). Pure; does not look at
 * odd bits we do not know, which BOLT 1 says to ignore.
 */
export function checkPeerFeatures(
  ours: FeatureVector,
  theirs: FeatureVector,
): { ok: true } | { ok: false; reason: string } {
  const assumed = new Set<number>(ASSUMED_FEATURES);
  for (const bit of theirs.bits()) {
    if (bit % 2 !== 0) continue;
    if (assumed.has(bit) || ours.offers(bit)) continue;
    const name = featureName(bit);
    const why = name === 'unknown feature' ? 'an unknown feature' : `${name}, which we do not support`;
    return { ok: false, reason: `peer requires feature bit ${bit} (${why})` };
  }
  for (const [feature, deps] of FEATURE_DEPENDENCIES) {
    if (!theirs.offers(feature)) continue;
    for (const dep of deps) {
      if (assumed.has(dep) || theirs.offers(dep)) continue;
      const offered = `${FEATURE_NAMES[feature]} (bit ${feature}/${feature + 1})`;
      return { ok: false, reason: `peer offers ${offered} without its dependency ${FEATURE_NAMES[dep]} (bit ${dep}/${dep + 1})` };
    }
  }
  return { ok: true };
}

// ---- channel types (BOLT 2 "Defined Channel Types") -----------------------------------------

/**
 * A channel type BOLT 2 defines: a basic type (`option_static_remotekey`, or `option_anchors`
 * with `option_static_remotekey`) plus the optional variations `option_scid_alias` and
 * `option_zeroconf`.
 */
export interface ChannelType {
  readonly anchors: boolean;
  readonly scidAlias: boolean;
  readonly zeroConf: boolean;
}

/** chand's own channel type: plain `option_static_remotekey` (bit 12). */
export const CHAND_CHANNEL_TYPE: ChannelType = { anchors: false, scidAlias: false, zeroConf: false };

/**
 * The `channel_type` TLV value for `type`: the even bits of its features, in the smallest
 * bitmap (BOLT 2 requires it). TypeError unless the three flags are booleans.
 */
export function encodeChannelType(type: ChannelType): Uint8Array {
  for (const key of ['anchors', 'scidAlias', 'zeroConf'] as const) {
    if (typeof type?.[key] !== 'boolean') throw new TypeError(`expected channel type ${key} as boolean, got ${typeof type?.[key]}`);
  }
  const bits: number[] = [Feature.staticRemoteKey];
  if (type.anchors) bits.push(Feature.anchors);
  if (type.scidAlias) bits.push(Feature.scidAlias);
  if (type.zeroConf) bits.push(Feature.zeroConf);
  return FeatureVector.fromBits(bits).toBytes();
}

/**
 * Interprets a `channel_type` TLV value. Returns undefined when the bits are not one of the
 * types BOLT 2 defines (the receiver then fails the channel: "the channel_type is not
 * suitable"). Leading zero bytes are tolerated, since they change no bit.
 */
export function decodeChannelType(bytes: Uint8Array): ChannelType | undefined {
  const v = FeatureVector.fromBytes(bytes);
  const allowed = new Set<number>([Feature.staticRemoteKey, Feature.anchors, Feature.scidAlias, Feature.zeroConf]);
  for (const bit of v.bits()) if (!allowed.has(bit)) return undefined;
  if (!v.has(Feature.staticRemoteKey)) return undefined;
  return { anchors: v.has(Feature.anchors), scidAlias: v.has(Feature.scidAlias), zeroConf: v.has(Feature.zeroConf) };
}

