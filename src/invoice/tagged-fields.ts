/**
 * BOLT 11 tagged fields: reading one field into its typed value (or deciding to skip it), and
 * writing typed values back as 5-bit words. Internal to src/invoice.
 *
 * Reading follows the reader MUSTs: a `p`, `h`, `s` or `n` of the wrong length is skipped (as
 * the appendix's "fields which must be ignored" example requires), as is an `f` of an unknown
 * version, a type chand does not know, and a repeat of a field that may appear once (the first
 * counts: "SHOULD use the first `p` field"). A `d` next to an `h` fails; a non-minimal `x`,
 * `c` or `9` fails ("SHOULD treat the invoice as invalid"). Skipped fields are kept verbatim by
 * the decoder. The same function tells the encoder whether an unknown tag it is asked to write
 * would really be skipped by a reader, so what chand writes decodes back to what it was given.
 */
import { assertPublicKey } from '../bitcoin/ecdsa.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { FeatureVector } from '../wire/features.js';
import { InvoiceError } from './errors.js';
import type { FallbackAddress, InvoiceTag, RouteHint, RouteHintHop } from './types.js';
import { bytesToWords, wordsToBytes, wordsToUint } from './words.js';

/** A tagged field letter other than the unknown-tag placeholder `?`. */
export type KnownTag = Exclude<InvoiceTag, '?'>;

/** The 5-bit type of each tagged field BOLT 11 defines. */
export const TAG_TYPES: Readonly<Record<KnownTag, number>> = Object.freeze({
  p: 1,
  r: 3,
  '9': 5,
  x: 6,
  f: 9,
  d: 13,
  s: 16,
  n: 19,
  h: 23,
  c: 24,
  m: 27,
});

const TAG_OF_TYPE: ReadonlyMap<number, KnownTag> = new Map(Object.entries(TAG_TYPES).map(([tag, type]) => [type, tag as KnownTag]));

/** Largest `data_length`: 10 bits. */
export const MAX_FIELD_WORDS = 1023;

/** The data length (in words) of the fixed-length fields. */
const FIXED_WORDS: Partial<Record<KnownTag, number>> = { p: 52, h: 52, s: 52, n: 53 };

/** Bytes of one route hint hop: pubkey 33, scid 8, fee base 4, fee proportional 4, cltv delta 2. */
export const ROUTE_HOP_BYTES = 51;

/** Largest `c` chand reads (a CLTV delta is a u32 in onions). */
export const MAX_MIN_FINAL_CLTV = 0xffff_ffff;

/** A field as read: its typed value, or `skip` (kept as an unknown tag). */
export type ReadField =
  | { readonly tag: 'p' | 's' | 'h' | 'n' | 'm'; readonly hex: string }
  | { readonly tag: 'd'; readonly text: string }
  | { readonly tag: 'x' | 'c'; readonly value: number }
  | { readonly tag: 'f'; readonly fallback: FallbackAddress }
  | { readonly tag: 'r'; readonly hint: RouteHint }
  | { readonly tag: '9'; readonly features: FeatureVector }
  | { readonly tag: 'skip' };

const SKIP: ReadField = Object.freeze({ tag: 'skip' });

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `words` as bytes (strict padding), or BAD_FIELD naming `tag`. */
function fieldBytes(tag: KnownTag, words: readonly number[]): Uint8Array {
  const bytes = wordsToBytes(words);
  if (bytes === undefined) throw new InvoiceError('BAD_FIELD', `field ${tag} has non-zero or excess padding bits`);
  return bytes;
}

/** True if `bytes` is a compressed secp256k1 point. */
function isPoint(bytes: Uint8Array): boolean {
  try {
    assertPublicKey('key', bytes);
    return true;
  } catch {
    // Not a point: the caller decides what that means for the field.
    return false;
  }
}

/** Throws NON_MINIMAL_FIELD if `words` start with a zero word. */
function assertMinimal(tag: KnownTag, words: readonly number[]): void {
  if (words.length > 0 && words[0] === 0) throw new InvoiceError('NON_MINIMAL_FIELD', `field ${tag} starts with a zero word (non-minimal data_length ${words.length})`);
}

/** Whether the segwit / P2PKH / P2SH `program` length fits `version` (BIP 141, BOLT 11 `f`). */
export function fallbackProgramFits(version: number, length: number): boolean {
  if (version === 17 || version === 18) return length === 20;
  if (version === 0) return length === 20 || length === 32;
  return length >= 2 && length <= 40;
}

/**
 * Reads one tagged field of `type` with data `words`, given the single-valued fields already
 * accepted (`seen`). Returns the typed value or `skip`; throws InvoiceError for a field that
 * makes the whole invoice invalid.
 */
export function readField(type: number, words: readonly number[], seen: ReadonlySet<KnownTag>): ReadField {
  const tag = TAG_OF_TYPE.get(type);
  if (tag === undefined) return SKIP;
  const fixed = FIXED_WORDS[tag];
  if (fixed !== undefined && words.length !== fixed) return SKIP;
  if (tag !== 'f' && tag !== 'r' && seen.has(tag)) return SKIP;
  if ((tag === 'd' && seen.has('h')) || (tag === 'h' && seen.has('d'))) {
    throw new InvoiceError('BOTH_DESCRIPTIONS', 'invoice has both a description (d) and a description hash (h)');
  }
  switch (tag) {
    case 'p':
    case 's':
    case 'h':
    case 'm':
      return { tag, hex: bytesToHex(fieldBytes(tag, words)) };
    case 'n': {
      const key = fieldBytes(tag, words);
      if (!isPoint(key)) throw new InvoiceError('BAD_FIELD', 'field n is not a valid compressed public key');
      return { tag, hex: bytesToHex(key) };
    }
    case 'd': {
      const bytes = fieldBytes(tag, words);
      try {
        return { tag, text: UTF8.decode(bytes) };
      } catch (cause) {
        throw new InvoiceError('BAD_FIELD', 'field d is not valid UTF-8', { cause });
      }
    }
    case 'x':
    case 'c': {
      assertMinimal(tag, words);
      const value = wordsToUint(words);
      const max = tag === 'x' ? BigInt(Number.MAX_SAFE_INTEGER) : BigInt(MAX_MIN_FINAL_CLTV);
      if (value > max) throw new InvoiceError('BAD_FIELD', `field ${tag} is above ${max}`);
      return { tag, value: Number(value) };
    }
    case '9': {
      if (words.length === 0) throw new InvoiceError('NON_MINIMAL_FIELD', 'field 9 is empty (an invoice without features omits it)');
      assertMinimal(tag, words);
      return { tag, features: featuresFromWords(words) };
    }
    case 'f': {
      if (words.length === 0) throw new InvoiceError('BAD_FIELD', 'field f has no version');
      const version = words[0]!;
      if (version > 18) return SKIP;
      const program = fieldBytes(tag, words.slice(1));
      if (!fallbackProgramFits(version, program.length)) {
        throw new InvoiceError('BAD_FIELD', `field f version ${version} has a ${program.length}-byte program`);
      }
      return { tag, fallback: { version, program: bytesToHex(program) } };
    }
    case 'r':
      return { tag, hint: readRouteHint(fieldBytes(tag, words)) };
  }
}

/** The hops of one `r` field's bytes. BAD_FIELD unless whole hops with valid public keys. */
function readRouteHint(bytes: Uint8Array): RouteHint {
  if (bytes.length === 0 || bytes.length % ROUTE_HOP_BYTES !== 0) {
    throw new InvoiceError('BAD_FIELD', `field r has ${bytes.length} bytes, not a whole number of ${ROUTE_HOP_BYTES}-byte hops`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hops: RouteHintHop[] = [];
  for (let at = 0; at < bytes.length; at += ROUTE_HOP_BYTES) {
    const pubkey = bytes.subarray(at, at + 33);
    if (!isPoint(pubkey)) throw new InvoiceError('BAD_FIELD', `field r hop ${hops.length} has an invalid public key`);
    hops.push({
      pubkey: bytesToHex(pubkey),
      shortChannelId: view.getBigUint64(at + 33),
      feeBaseMsat: view.getUint32(at + 41),
      feeProportionalMillionths: view.getUint32(at + 45),
      cltvExpiryDelta: view.getUint16(at + 49),
    });
  }
  return hops;
}

/** The feature vector of a `9` field: bit 0 is the low bit of the last word. */
function featuresFromWords(words: readonly number[]): FeatureVector {
  const bitCount = words.length * 5;
  const bytes = new Uint8Array(Math.ceil(bitCount / 8));
  for (let i = 0; i < words.length; i++) {
    const word = words[words.length - 1 - i]!;
    for (let j = 0; j < 5; j++) {
      if ((word >> j) & 1) {
        const bit = i * 5 + j;
        bytes[bytes.length - 1 - (bit >> 3)]! |= 1 << (bit & 7);
      }
    }
  }
  return FeatureVector.fromBytes(bytes);
}

/** The fewest words holding `features` (none for an empty vector). */
export function featuresToWords(features: FeatureVector): number[] {
  const bits = features.bits();
  if (bits.length === 0) return [];
  const count = Math.floor(bits[bits.length - 1]! / 5) + 1;
  const words = new Array<number>(count).fill(0);
  for (const bit of bits) words[count - 1 - Math.floor(bit / 5)]! |= 1 << (bit % 5);
  return words;
}

/** The data words of one route hint (hops already validated by the caller). */
export function routeHintToWords(hint: RouteHint): number[] {
  const bytes = new Uint8Array(hint.length * ROUTE_HOP_BYTES);
  const view = new DataView(bytes.buffer);
  hint.forEach((hop, i) => {
    const at = i * ROUTE_HOP_BYTES;
    bytes.set(hexToBytes(hop.pubkey), at);
    view.setBigUint64(at + 33, hop.shortChannelId);
    view.setUint32(at + 41, hop.feeBaseMsat);
    view.setUint32(at + 45, hop.feeProportionalMillionths);
    view.setUint16(at + 49, hop.cltvExpiryDelta);
  });
  return bytesToWords(bytes);
}

/** The data words of one fallback address: version word, then the program. */
export function fallbackToWords(fallback: FallbackAddress): number[] {
  return [fallback.version, ...bytesToWords(hexToBytes(fallback.program))];
}
