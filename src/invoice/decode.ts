/**
 * BOLT 11 reader: `decodeInvoice` checks every reader MUST of the spec and returns an `Invoice`
 * whose signature has been verified (against `n`) or used to recover the payee's key.
 *
 * Order of checks: bech32 form and checksum (no length limit), prefix and network, amount,
 * timestamp and tagged fields (see tagged-fields.ts for what is skipped and what fails), the
 * required fields, the signature, then the feature bits. Every refusal is an `InvoiceError`.
 * Pure: no I/O, no clock; expiry is the caller's question (`isExpired`).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bech32 } from '@scure/base';
import type { Network } from '../bitcoin/network.js';
import { assertNetwork } from '../bitcoin/network.js';
import { bytesToHex, concatBytes, hexToBytes } from '../codec/bytes.js';
import { ASSUMED_FEATURES, Feature, FEATURE_DEPENDENCIES, FEATURE_NAMES, featureName, FeatureVector } from '../wire/features.js';
import { InvoiceError } from './errors.js';
import { parseHrp } from './hrp.js';
import { type KnownTag, readField } from './tagged-fields.js';
import {
  DEFAULT_EXPIRY_SECS,
  DEFAULT_MIN_FINAL_CLTV_EXPIRY,
  type FallbackAddress,
  type Invoice,
  type InvoiceTag,
  type RouteHint,
  type UnknownTag,
} from './types.js';
import { wordsToBytes, wordsToPaddedBytes, wordsToUint } from './words.js';

/** Words of the timestamp (35 bits). */
export const TIMESTAMP_WORDS = 7;

/** Words of the signature: 64-byte r || s plus the recovery id byte, 520 bits. */
export const SIGNATURE_WORDS = 104;

/**
 * The features BOLT 9 presents in invoices (context `9`). An invoice requiring (even bit) any
 * other feature is refused: BOLT 11 "unknown even bits ... MUST fail the payment".
 */
export const INVOICE_FEATURES: readonly Feature[] = [
  Feature.varOnionOptin,
  Feature.paymentSecret,
  Feature.basicMpp,
  Feature.routeBlinding,
  Feature.attributionData,
  Feature.paymentMetadata,
];

const BECH32_CHARSET = /^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]*$/;

/** What `decodeInvoice` should also check. */
export interface DecodeInvoiceOptions {
  /**
   * The network the invoice must be for; INVOICE_NETWORK_MISMATCH otherwise. `testnet4`
   * accepts the `lntb` prefix it shares with testnet and reports `testnet4`.
   */
  readonly network?: Network;
  /** The description an `h` field must hash to (SHA-256 of its UTF-8), or a `d` must equal. */
  readonly description?: string;
}

/** The lowercase hrp and the 5-bit data words of a bech32 string, or InvoiceError. */
function readBech32(text: string): { hrp: string; words: number[] } {
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) throw new InvoiceError('BAD_BECH32', 'invoice mixes upper and lower case');
  const sep = lower.lastIndexOf('1');
  if (sep < 1) throw new InvoiceError('BAD_BECH32', 'invoice has no bech32 separator "1" after its prefix');
  const data = lower.slice(sep + 1);
  if (data.length < 6) throw new InvoiceError('BAD_BECH32', 'invoice is too short for a bech32 checksum');
  if (!BECH32_CHARSET.test(data)) throw new InvoiceError('BAD_BECH32', 'invoice data part has a character outside the bech32 alphabet');
  for (let i = 0; i < sep; i++) {
    const c = lower.charCodeAt(i);
    if (c < 33 || c > 126) throw new InvoiceError('BAD_BECH32', 'invoice prefix has a character outside US-ASCII 33..126');
  }
  const decoded = bech32.decodeUnsafe(lower, false);
  if (decoded === undefined) throw new InvoiceError('BAD_CHECKSUM', 'invoice bech32 checksum is invalid');
  return { hrp: decoded.prefix, words: decoded.words };
}

/** SHA-256 of what BOLT 11 signs: the hrp's UTF-8 bytes, then the data words (no signature) zero-padded to bytes. */
export function signingDigest(hrp: string, dataWords: readonly number[]): Uint8Array {
  return sha256(signingPreimage(hrp, dataWords));
}

/** The bytes BOLT 11 signs (before hashing): hrp UTF-8 || zero-padded data words. */
export function signingPreimage(hrp: string, dataWords: readonly number[]): Uint8Array {
  return concatBytes(new TextEncoder().encode(hrp), wordsToPaddedBytes(dataWords));
}

/**
 * The bytes an invoice string's signature covers (BOLT 11 appendix: "hex of data for
 * signing"), checksum verified but nothing else. InvoiceError for a malformed string.
 */
export function invoiceSigningPreimage(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`expected invoice as string, got ${typeof text}`);
  const { hrp, words } = readBech32(text);
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) throw new InvoiceError('TOO_SHORT', 'invoice is too short for a timestamp and a signature');
  return signingPreimage(hrp, words.slice(0, words.length - SIGNATURE_WORDS));
}

/** Accumulates the fields of an invoice as they are read. */
interface FieldState {
  readonly seen: Set<KnownTag>;
  readonly order: InvoiceTag[];
  readonly unknownTags: UnknownTag[];
  readonly fallbacks: FallbackAddress[];
  readonly hints: RouteHint[];
  readonly hex: Partial<Record<'p' | 's' | 'h' | 'n' | 'm', string>>;
  description?: string;
  expirySecs?: number;
  minFinalCltv?: number;
  features?: FeatureVector;
}

/** Reads the tagged fields in `words` into `state`. TRUNCATED_FIELD if a field runs past the end. */
function readFields(words: readonly number[], state: FieldState): void {
  let at = 0;
  while (at < words.length) {
    if (at + 3 > words.length) throw new InvoiceError('TRUNCATED_FIELD', `tagged field at word ${TIMESTAMP_WORDS + at} has a truncated header`);
    const type = words[at]!;
    const length = words[at + 1]! * 32 + words[at + 2]!;
    const start = at + 3;
    if (start + length > words.length) {
      throw new InvoiceError('TRUNCATED_FIELD', `tagged field of type ${type} at word ${TIMESTAMP_WORDS + at} claims ${length} words, ${words.length - start} remain`);
    }
    const data = words.slice(start, start + length);
    at = start + length;
    const field = readField(type, data, state.seen);
    switch (field.tag) {
      case 'skip':
        state.unknownTags.push({ type, words: data });
        state.order.push('?');
        continue;
      case 'p':
      case 's':
      case 'h':
      case 'n':
      case 'm':
        state.hex[field.tag] = field.hex;
        break;
      case 'd':
        state.description = field.text;
        break;
      case 'x':
        state.expirySecs = field.value;
        break;
      case 'c':
        state.minFinalCltv = field.value;
        break;
      case '9':
        state.features = field.features;
        break;
      case 'f':
        state.fallbacks.push(field.fallback);
        break;
      case 'r':
        state.hints.push(field.hint);
        break;
    }
    if (field.tag !== 'f' && field.tag !== 'r') state.seen.add(field.tag);
    state.order.push(field.tag);
  }
}

/** The payee key: `n` verified (low-S only), or recovered (either S). InvoiceError otherwise. */
function checkSignature(sigBytes: Uint8Array, digest: Uint8Array, nodeId: string | undefined): string {
  const recovery = sigBytes[64]!;
  if (recovery > 3) throw new InvoiceError('BAD_RECOVERY_ID', `signature recovery id is ${recovery}, expected 0..3`);
  let sig;
  try {
    sig = secp256k1.Signature.fromBytes(sigBytes.subarray(0, 64), 'compact').addRecoveryBit(recovery);
  } catch (cause) {
    throw new InvoiceError('BAD_SIGNATURE', 'signature r or s is out of range', { cause });
  }
  if (nodeId !== undefined) {
    if (sig.hasHighS()) throw new InvoiceError('HIGH_S', 'signature is high-S while the invoice has an n field (BOLT 11 requires low-S then)');
    let ok = false;
    try {
      ok = secp256k1.verify(sigBytes.subarray(0, 64), digest, hexToBytes(nodeId), { prehash: false, lowS: true });
    } catch {
      // A malformed key or signature is simply not a valid signature.
      ok = false;
    }
    if (!ok) throw new InvoiceError('BAD_SIGNATURE', 'signature does not verify against the n field');
    return nodeId;
  }
  try {
    return bytesToHex(sig.recoverPublicKey(digest).toBytes(true));
  } catch (cause) {
    throw new InvoiceError('UNRECOVERABLE', 'no public key can be recovered from the signature', { cause });
  }
}

/**
 * Throws InvoiceError UNKNOWN_REQUIRED_FEATURE (INVOICE_FEATURES_UNSUPPORTED) for an even bit
 * outside INVOICE_FEATURES, MISSING_FEATURE_DEPENDENCY if an offered feature misses a BOLT 9
 * dependency (ASSUMED features count as present). Unknown odd bits are ignored.
 */
export function checkInvoiceFeatures(features: FeatureVector): void {
  const known = new Set<number>(INVOICE_FEATURES);
  for (const bit of features.bits()) {
    if (bit % 2 === 0 && !known.has(bit)) {
      throw new InvoiceError('UNKNOWN_REQUIRED_FEATURE', `invoice requires feature bit ${bit} (${featureName(bit)}), unknown to chand in invoices`);
    }
  }
  const assumed = new Set<number>(ASSUMED_FEATURES);
  for (const [feature, deps] of FEATURE_DEPENDENCIES) {
    if (!features.offers(feature)) continue;
    for (const dep of deps) {
      if (!assumed.has(dep) && !features.offers(dep)) {
        throw new InvoiceError('MISSING_FEATURE_DEPENDENCY', `invoice offers ${FEATURE_NAMES[feature]} without its dependency ${FEATURE_NAMES[dep]}`);
      }
    }
  }
}

/**
 * Decodes and checks a BOLT 11 invoice (either case; a `lightning:` prefix is dropped). Returns
 * a fresh `Invoice`; throws `InvoiceError` (a ChandError: INVOICE_INVALID,
 * INVOICE_NETWORK_MISMATCH, INVOICE_SIGNATURE_INVALID or INVOICE_FEATURES_UNSUPPORTED, with a
 * `reason`) for anything BOLT 11 says to refuse, TypeError if `text` is not a string. Does not
 * look at the clock.
 */
export function decodeInvoice(text: string, options: DecodeInvoiceOptions = {}): Invoice {
  if (typeof text !== 'string') throw new TypeError(`expected invoice as string, got ${typeof text}`);
  if (options.network !== undefined) assertNetwork(options.network);
  if (options.description !== undefined && typeof options.description !== 'string') {
    throw new TypeError(`expected description as string, got ${typeof options.description}`);
  }
  const body = /^lightning:/i.test(text) ? text.slice('lightning:'.length) : text;
  const { hrp, words } = readBech32(body);
  const parsed = parseHrp(hrp);
  let network: Network = parsed.network;
  if (options.network !== undefined) {
    if (options.network === 'testnet4' && network === 'testnet') network = 'testnet4';
    if (network !== options.network) throw new InvoiceError('NETWORK_MISMATCH', `invoice is for ${network}, expected ${options.network}`);
  }
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) throw new InvoiceError('TOO_SHORT', 'invoice is too short for a timestamp and a signature');
  const dataWords = words.slice(0, words.length - SIGNATURE_WORDS);
  const timestamp = Number(wordsToUint(dataWords.slice(0, TIMESTAMP_WORDS)));

  const state: FieldState = { seen: new Set(), order: [], unknownTags: [], fallbacks: [], hints: [], hex: {} };
  readFields(dataWords.slice(TIMESTAMP_WORDS), state);
  const { p: paymentHash, s: paymentSecret, h: descriptionHash, n: nodeId, m: metadata } = state.hex;
  if (paymentHash === undefined) throw new InvoiceError('MISSING_PAYMENT_HASH', 'invoice has no valid payment hash (p)');
  if (paymentSecret === undefined) throw new InvoiceError('MISSING_PAYMENT_SECRET', 'invoice has no valid payment secret (s)');
  if (state.description === undefined && descriptionHash === undefined) {
    throw new InvoiceError('MISSING_DESCRIPTION', 'invoice has neither a description (d) nor a description hash (h)');
  }
  if (options.description !== undefined) {
    const matches =
      descriptionHash !== undefined
        ? bytesToHex(sha256(new TextEncoder().encode(options.description))) === descriptionHash
        : options.description === state.description;
    if (!matches) throw new InvoiceError('DESCRIPTION_HASH_MISMATCH', 'invoice description (or description hash) does not match the expected description');
  }

  const sigBytes = wordsToBytes(words.slice(words.length - SIGNATURE_WORDS))!;
  const payeeNodeId = checkSignature(sigBytes, signingDigest(hrp, dataWords), nodeId);
  const features = state.features ?? FeatureVector.empty();
  checkInvoiceFeatures(features);

  return {
    network,
    ...(parsed.amountMsat === undefined ? {} : { amountMsat: parsed.amountMsat }),
    timestamp,
    paymentHash,
    paymentSecret,
    ...(state.description === undefined ? {} : { description: state.description }),
    ...(descriptionHash === undefined ? {} : { descriptionHash }),
    payeeNodeId,
    expirySecs: state.expirySecs ?? DEFAULT_EXPIRY_SECS,
    minFinalCltvExpiry: state.minFinalCltv ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY,
    fallbackAddresses: state.fallbacks,
    routeHints: state.hints,
    features,
    ...(metadata === undefined ? {} : { metadata }),
    unknownTags: state.unknownTags,
    fieldOrder: state.order,
  };
}
