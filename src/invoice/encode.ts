/**
 * BOLT 11 writer: `encodeInvoice` validates the fields, lays out the tagged fields (in
 * `fieldOrder` when given, else canonically: p, s, d|h, n, x, c, m, f..., r..., 9, unknown
 * tags), signs SHA-256(hrp || data) through the caller's signer and returns the lowercase
 * bech32 string (no length limit). `signInvoice` does the same with a private key.
 *
 * The writer refuses (RangeError) anything its own reader would not read back to the same
 * fields: an unknown tag that would be read as a known field, a `fieldOrder` that does not
 * list exactly the fields present, features the reader refuses (an even bit outside
 * INVOICE_FEATURES, a missing dependency); and (InvoiceError) a signature that does not
 * recover to `payeeNodeId`.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32 } from '@scure/base';
import { assertBigInt, assertInt, describe } from '../bitcoin/bytes.js';
import { assertPrivateKey, assertPublicKey } from '../bitcoin/ecdsa.js';
import { assertNetwork } from '../bitcoin/network.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { MAX_U64 } from '../codec/bigsize.js';
import { FeatureVector } from '../wire/features.js';
import { checkInvoiceFeatures, SIGNATURE_WORDS, signingDigest, TIMESTAMP_WORDS } from './decode.js';
import { InvoiceError } from './errors.js';
import { formatHrp } from './hrp.js';
import {
  fallbackProgramFits,
  fallbackToWords,
  featuresToWords,
  type KnownTag,
  MAX_FIELD_WORDS,
  MAX_MIN_FINAL_CLTV,
  readField,
  routeHintToWords,
  TAG_TYPES,
} from './tagged-fields.js';
import type { InvoiceFields, InvoiceTag, RouteHint } from './types.js';
import { bytesToWords, uintToFixedWords, uintToWords } from './words.js';

/** What a signer returns for a 32-byte digest: compact `r || s` and the recovery id (0..3). */
export interface InvoiceSignature {
  readonly signature64: Uint8Array;
  readonly recovery: number;
}

/**
 * Signs the 32-byte digest BOLT 11 defines (recoverable ECDSA over secp256k1). Must return a
 * low-S signature when the invoice carries `n`; deterministic signers make encoding repeatable.
 */
export type InvoiceSigner = (digest: Uint8Array) => InvoiceSignature;

/** Largest timestamp: 35 bits. */
const MAX_TIMESTAMP = 2 ** 35 - 1;

/** Largest UTF-8 description / metadata a field can hold: 1023 words * 5 bits, in whole bytes. */
const MAX_FIELD_BYTES = Math.floor((MAX_FIELD_WORDS * 5) / 8);

/** Largest feature bit a `9` field can hold. */
const MAX_FEATURE_BIT = MAX_FIELD_WORDS * 5 - 1;

/** Largest number of hops in one `r` field. */
const MAX_ROUTE_HOPS = Math.floor(MAX_FIELD_BYTES / 51);

const LETTERS: readonly InvoiceTag[] = ['p', 's', 'd', 'h', 'n', 'x', 'c', 'm', 'f', 'r', '9', '?'];

/** Throws unless `value` is lowercase hex (of exactly `bytes` bytes when given, else at most `max`). */
function assertHex(name: string, value: unknown, bytes?: number, max = MAX_FIELD_BYTES): asserts value is string {
  if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(value)) throw new TypeError(`expected ${name} as lowercase hex, got ${describe(value)}`);
  const length = value.length / 2;
  if (bytes !== undefined && length !== bytes) throw new RangeError(`expected ${name} of ${bytes} bytes, got ${length}`);
  if (length > max) throw new RangeError(`expected ${name} of at most ${max} bytes, got ${length}`);
}

/** Throws unless `value` is an array. */
function assertArray(name: string, value: unknown): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`expected ${name} as array, got ${describe(value)}`);
}

/** Validates one route hint (TypeError/RangeError naming the hop). */
function assertRouteHint(name: string, hint: unknown): asserts hint is RouteHint {
  assertArray(name, hint);
  if (hint.length === 0 || hint.length > MAX_ROUTE_HOPS) throw new RangeError(`expected ${name} with 1..${MAX_ROUTE_HOPS} hops, got ${hint.length}`);
  hint.forEach((hop: unknown, i) => {
    const h = hop as Record<string, unknown>;
    if (typeof hop !== 'object' || hop === null) throw new TypeError(`expected ${name}[${i}] as object, got ${describe(hop)}`);
    assertHex(`${name}[${i}].pubkey`, h.pubkey, 33);
    assertPublicKey(`${name}[${i}].pubkey`, hexToBytes(h.pubkey));
    assertBigInt(`${name}[${i}].shortChannelId`, h.shortChannelId, 0n, MAX_U64);
    assertInt(`${name}[${i}].feeBaseMsat`, h.feeBaseMsat, 0, 0xffff_ffff);
    assertInt(`${name}[${i}].feeProportionalMillionths`, h.feeProportionalMillionths, 0, 0xffff_ffff);
    assertInt(`${name}[${i}].cltvExpiryDelta`, h.cltvExpiryDelta, 0, 0xffff);
  });
}

/** One tagged field ready to write. */
interface Entry {
  readonly tag: InvoiceTag;
  readonly type: number;
  readonly words: readonly number[];
}

/** The known-field entries of `fields`, by letter, in canonical order; validates each value. */
function knownEntries(fields: InvoiceFields): Map<KnownTag, Entry[]> {
  const out = new Map<KnownTag, Entry[]>();
  const add = (tag: KnownTag, words: readonly number[]): void => {
    if (words.length > MAX_FIELD_WORDS) throw new RangeError(`expected field ${tag} of at most ${MAX_FIELD_WORDS} words, got ${words.length}`);
    out.set(tag, [...(out.get(tag) ?? []), { tag, type: TAG_TYPES[tag], words }]);
  };
  assertHex('paymentHash', fields.paymentHash, 32);
  add('p', bytesToWords(hexToBytes(fields.paymentHash)));
  assertHex('paymentSecret', fields.paymentSecret, 32);
  add('s', bytesToWords(hexToBytes(fields.paymentSecret)));
  if ((fields.description === undefined) === (fields.descriptionHash === undefined)) {
    throw new RangeError(`expected exactly one of description and descriptionHash, got ${fields.description === undefined ? 'neither' : 'both'}`);
  }
  if (fields.description !== undefined) {
    if (typeof fields.description !== 'string') throw new TypeError(`expected description as string, got ${describe(fields.description)}`);
    if (/\p{Cs}/u.test(fields.description)) throw new RangeError('expected description as well-formed UTF-16, got a lone surrogate');
    const bytes = new TextEncoder().encode(fields.description);
    if (bytes.length > MAX_FIELD_BYTES) throw new RangeError(`expected description of at most ${MAX_FIELD_BYTES} UTF-8 bytes, got ${bytes.length}`);
    add('d', bytesToWords(bytes));
  } else {
    assertHex('descriptionHash', fields.descriptionHash, 32);
    add('h', bytesToWords(hexToBytes(fields.descriptionHash)));
  }
  if (fields.payeeNodeId !== undefined) {
    assertHex('payeeNodeId', fields.payeeNodeId, 33);
    assertPublicKey('payeeNodeId', hexToBytes(fields.payeeNodeId));
    add('n', bytesToWords(hexToBytes(fields.payeeNodeId)));
  }
  if (fields.expirySecs !== undefined) {
    assertInt('expirySecs', fields.expirySecs, 0, Number.MAX_SAFE_INTEGER);
    add('x', uintToWords(fields.expirySecs));
  }
  if (fields.minFinalCltvExpiry !== undefined) {
    assertInt('minFinalCltvExpiry', fields.minFinalCltvExpiry, 0, MAX_MIN_FINAL_CLTV);
    add('c', uintToWords(fields.minFinalCltvExpiry));
  }
  if (fields.metadata !== undefined) {
    assertHex('metadata', fields.metadata);
    add('m', bytesToWords(hexToBytes(fields.metadata)));
  }
  if (fields.fallbackAddresses !== undefined) {
    assertArray('fallbackAddresses', fields.fallbackAddresses);
    fields.fallbackAddresses.forEach((fallback, i) => {
      if (typeof fallback !== 'object' || fallback === null) throw new TypeError(`expected fallbackAddresses[${i}] as object, got ${describe(fallback)}`);
      assertInt(`fallbackAddresses[${i}].version`, fallback.version, 0, 18);
      assertHex(`fallbackAddresses[${i}].program`, fallback.program);
      if (!fallbackProgramFits(fallback.version, fallback.program.length / 2)) {
        throw new RangeError(`expected fallbackAddresses[${i}].program of a length valid for version ${fallback.version}, got ${fallback.program.length / 2} bytes`);
      }
      add('f', fallbackToWords(fallback));
    });
  }
  if (fields.routeHints !== undefined) {
    assertArray('routeHints', fields.routeHints);
    fields.routeHints.forEach((hint, i) => {
      assertRouteHint(`routeHints[${i}]`, hint);
      add('r', routeHintToWords(hint));
    });
  }
  if (fields.features !== undefined) {
    if (!(fields.features instanceof FeatureVector)) throw new TypeError(`expected features as FeatureVector, got ${describe(fields.features)}`);
    const bits = fields.features.bits();
    if (bits.length > 0 && bits[bits.length - 1]! > MAX_FEATURE_BIT) throw new RangeError(`expected feature bits up to ${MAX_FEATURE_BIT}, got ${bits[bits.length - 1]}`);
    try {
      checkInvoiceFeatures(fields.features);
    } catch (cause) {
      throw new RangeError(`expected features a reader accepts, got ${(cause as Error).message}`, { cause });
    }
    // An empty vector is omitted altogether (BOLT 11 "MUST omit the 9 field").
    if (bits.length > 0) add('9', featuresToWords(fields.features));
  }
  return out;
}

/** The unknown-tag entries of `fields`, validated as 5-bit fields. */
function unknownEntries(fields: InvoiceFields): Entry[] {
  if (fields.unknownTags === undefined) return [];
  assertArray('unknownTags', fields.unknownTags);
  return fields.unknownTags.map((tag, i) => {
    if (typeof tag !== 'object' || tag === null) throw new TypeError(`expected unknownTags[${i}] as object, got ${describe(tag)}`);
    assertInt(`unknownTags[${i}].type`, tag.type, 0, 31);
    assertArray(`unknownTags[${i}].words`, tag.words);
    if (tag.words.length > MAX_FIELD_WORDS) throw new RangeError(`expected unknownTags[${i}] of at most ${MAX_FIELD_WORDS} words, got ${tag.words.length}`);
    tag.words.forEach((w, j) => assertInt(`unknownTags[${i}].words[${j}]`, w, 0, 31));
    return { tag: '?', type: tag.type, words: [...tag.words] };
  });
}

/** Entries in the order they are written: `fieldOrder` if given (checked), else canonical. */
function orderedEntries(fields: InvoiceFields): Entry[] {
  const known = knownEntries(fields);
  const unknown = unknownEntries(fields);
  if (fields.fieldOrder === undefined) {
    const canonical: KnownTag[] = ['p', 's', 'd', 'h', 'n', 'x', 'c', 'm', 'f', 'r', '9'];
    return [...canonical.flatMap((tag) => known.get(tag) ?? []), ...unknown];
  }
  assertArray('fieldOrder', fields.fieldOrder);
  const queues = new Map<InvoiceTag, Entry[]>([...known].map(([tag, entries]) => [tag, [...entries]]));
  queues.set('?', [...unknown]);
  const out: Entry[] = [];
  for (const [i, tag] of fields.fieldOrder.entries()) {
    if (!LETTERS.includes(tag)) throw new TypeError(`expected fieldOrder[${i}] as one of ${LETTERS.join(' ')}, got ${describe(tag)}`);
    const entry = queues.get(tag)?.shift();
    if (entry === undefined) throw new RangeError(`expected fieldOrder to list only fields present, got an extra "${tag}" at ${i}`);
    out.push(entry);
  }
  for (const [tag, rest] of queues) {
    // n, x and c may be carried without being written (recovered key, defaults).
    if (rest.length > 0 && tag !== 'n' && tag !== 'x' && tag !== 'c') {
      throw new RangeError(`expected fieldOrder to list every field present, got ${rest.length} "${tag}" missing`);
    }
  }
  return out;
}

/** Checks that a reader would read every entry back as written; RangeError otherwise. */
function assertReadsBack(entries: readonly Entry[]): void {
  const seen = new Set<KnownTag>();
  entries.forEach((entry, i) => {
    let read;
    try {
      read = readField(entry.type, entry.words, seen);
    } catch (cause) {
      throw new RangeError(`expected tagged field ${i} (type ${entry.type}) to be readable, got ${(cause as Error).message}`, { cause });
    }
    const expected = entry.tag === '?' ? 'skip' : entry.tag;
    if (read.tag !== expected) {
      throw new RangeError(`expected tagged field ${i} (type ${entry.type}) to read back as ${entry.tag === '?' ? 'an unknown tag' : entry.tag}, got ${read.tag === 'skip' ? 'skipped' : read.tag}`);
    }
    if (read.tag !== 'skip' && read.tag !== 'f' && read.tag !== 'r') seen.add(read.tag);
  });
}

/**
 * Encodes `fields` as a BOLT 11 invoice signed by `sign`. TypeError/RangeError ("expected X,
 * got Y") for fields that are malformed or would not decode back to themselves; InvoiceError
 * INVOICE_SIGNATURE_INVALID if the signer's signature is malformed, does not recover to
 * `payeeNodeId`, or is high-S while `n` is written. Deterministic for a deterministic signer.
 */
export function encodeInvoice(fields: InvoiceFields, sign: InvoiceSigner): string {
  if (typeof fields !== 'object' || fields === null) throw new TypeError(`expected invoice fields as object, got ${describe(fields)}`);
  if (typeof sign !== 'function') throw new TypeError(`expected sign as function, got ${describe(sign)}`);
  assertNetwork(fields.network);
  if (fields.amountMsat !== undefined) assertBigInt('amountMsat', fields.amountMsat, 1n, MAX_U64);
  assertInt('timestamp', fields.timestamp, 0, MAX_TIMESTAMP);
  const entries = orderedEntries(fields);
  assertReadsBack(entries);

  const data: number[] = uintToFixedWords(fields.timestamp, TIMESTAMP_WORDS);
  for (const entry of entries) data.push(entry.type, entry.words.length >> 5, entry.words.length & 31, ...entry.words);
  const hrp = formatHrp(fields.network, fields.amountMsat);
  const digest = signingDigest(hrp, data);

  const { signature64, recovery } = sign(digest);
  if (!(signature64 instanceof Uint8Array) || signature64.length !== 64) {
    throw new InvoiceError('BAD_SIGNATURE', `signer returned ${describe(signature64)}, expected a 64-byte compact signature`);
  }
  if (!Number.isInteger(recovery) || recovery < 0 || recovery > 3) throw new InvoiceError('BAD_RECOVERY_ID', `signer returned recovery id ${String(recovery)}, expected 0..3`);
  let recovered: string;
  let highS: boolean;
  try {
    const sig = secp256k1.Signature.fromBytes(signature64, 'compact').addRecoveryBit(recovery);
    highS = sig.hasHighS();
    recovered = bytesToHex(sig.recoverPublicKey(digest).toBytes(true));
  } catch (cause) {
    throw new InvoiceError('UNRECOVERABLE', 'signer returned a signature no public key can be recovered from', { cause });
  }
  if (fields.payeeNodeId !== undefined && recovered !== fields.payeeNodeId) {
    throw new InvoiceError('BAD_SIGNATURE', "signer's key is not payeeNodeId");
  }
  if (highS && entries.some((e) => e.tag === 'n')) throw new InvoiceError('HIGH_S', 'signer returned a high-S signature for an invoice with an n field');

  const sigWords = bytesToWords(Uint8Array.of(...signature64, recovery));
  if (sigWords.length !== SIGNATURE_WORDS) throw new Error('unreachable: a 65-byte signature is 104 words');
  return bech32.encode(hrp, [...data, ...sigWords], false);
}

/**
 * `encodeInvoice` with a private key: deterministic (RFC 6979), low-S, so a decoded invoice
 * re-signed with its key gives back its string. RangeError for an invalid key; the key never
 * appears in a message.
 */
export function signInvoice(fields: InvoiceFields, privateKey: Uint8Array): string {
  assertPrivateKey('private key', privateKey);
  return encodeInvoice(fields, (digest) => {
    const recovered = secp256k1.sign(digest, privateKey, { prehash: false, lowS: true, extraEntropy: false, format: 'recovered' });
    return { signature64: recovered.subarray(1), recovery: recovered[0]! };
  });
}
