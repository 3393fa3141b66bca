/**
 * Property tests of the BOLT 11 codec: random valid invoices survive sign → decode → re-sign
 * unchanged; random mutations of valid strings (characters, and data words under a recomputed
 * checksum so the field parser and signature checks see them) only ever raise ChandError, and
 * whatever still decodes re-encodes, with its own signature, to exactly the same string.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32 } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/codec/bytes.js';
import { ChandError } from '../../src/errors.js';
import { decodeInvoice, encodeInvoice, type FallbackAddress, type InvoiceFields, type RouteHintHop, signInvoice, type UnknownTag } from '../../src/invoice/index.js';
import { NETWORK_NAMES } from '../../src/bitcoin/network.js';
import { FeatureVector } from '../../src/wire/features.js';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const KNOWN_TYPES = new Set([1, 3, 5, 6, 9, 13, 16, 19, 23, 24, 27]);

const hex = (min: number, max = min) => fc.uint8Array({ minLength: min, maxLength: max }).map(bytesToHex);
const privateKey = fc.bigInt({ min: 1n, max: N - 1n }).map((k) => Uint8Array.from(Buffer.from(k.toString(16).padStart(64, '0'), 'hex')));
const pubkey = privateKey.map((k) => bytesToHex(secp256k1.getPublicKey(k, true)));

const fallback: fc.Arbitrary<FallbackAddress> = fc.oneof(
  fc.record({ version: fc.constant(0), program: fc.oneof(hex(20), hex(32)) }),
  fc.record({ version: fc.integer({ min: 1, max: 16 }), program: hex(2, 40) }),
  fc.record({ version: fc.constantFrom(17, 18), program: hex(20) }),
);

const hop: fc.Arbitrary<RouteHintHop> = fc.record({
  pubkey,
  shortChannelId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  feeBaseMsat: fc.integer({ min: 0, max: 0xffff_ffff }),
  feeProportionalMillionths: fc.integer({ min: 0, max: 0xffff_ffff }),
  cltvExpiryDelta: fc.integer({ min: 0, max: 0xffff }),
});

/**
 * Feature bits a reader accepts: those of an invoice (either bit) and other odd ones, except
 * 51 and 61 (option_zeroconf, option_simple_close), which need a dependency.
 */
const featureBits = fc.array(
  fc.oneof(fc.constantFrom(8, 9, 14, 15, 16, 17, 24, 25, 36, 37, 48, 49), fc.integer({ min: 0, max: 600 }).map((b) => b * 2 + 1).filter((b) => b !== 51 && b !== 61)),
  { maxLength: 8 },
);

/** Tags of types chand does not read (so they round-trip wherever they are placed). */
const unknownTag: fc.Arbitrary<UnknownTag> = fc.record({
  type: fc.integer({ min: 0, max: 31 }).filter((t) => !KNOWN_TYPES.has(t)),
  words: fc.array(fc.integer({ min: 0, max: 31 }), { maxLength: 40 }),
});

/** A description of at most 639 UTF-8 bytes. */
const description = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => new TextEncoder().encode(s).length <= 639);

interface Case {
  readonly key: Uint8Array;
  readonly withNodeId: boolean;
  readonly fields: InvoiceFields;
}

const invoiceCase: fc.Arbitrary<Case> = fc
  .record(
    {
      key: privateKey,
      withNodeId: fc.boolean(),
      network: fc.constantFrom(...NETWORK_NAMES),
      amountMsat: fc.oneof(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.constantFrom(100n, 1000n, 100_000_000_000n)),
      timestamp: fc.integer({ min: 0, max: 2 ** 35 - 1 }),
      paymentHash: hex(32),
      paymentSecret: hex(32),
      desc: fc.oneof(description.map((d) => ({ description: d })), hex(32).map((h) => ({ descriptionHash: h }))),
      expirySecs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      minFinalCltvExpiry: fc.integer({ min: 0, max: 0xffff_ffff }),
      metadata: hex(0, 64),
      fallbackAddresses: fc.array(fallback, { maxLength: 3 }),
      routeHints: fc.array(fc.array(hop, { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
      features: featureBits,
      unknownTags: fc.array(unknownTag, { maxLength: 3 }),
    },
    { requiredKeys: ['key', 'withNodeId', 'network', 'timestamp', 'paymentHash', 'paymentSecret', 'desc'] },
  )
  .map(({ key, withNodeId, desc, features, ...rest }) => {
    const fields: InvoiceFields = {
      ...rest,
      ...desc,
      ...(features === undefined ? {} : { features: FeatureVector.fromBits(features) }),
      ...(withNodeId ? { payeeNodeId: bytesToHex(secp256k1.getPublicKey(key, true)) } : {}),
    };
    return { key, withNodeId, fields };
  });

/** The signature words of an invoice string, as a signer returning them. */
function originalSigner(text: string) {
  const words = bech32.decode(text.toLowerCase() as `${string}1${string}`, false).words;
  const bytes = bech32.fromWords(words.slice(-104));
  return () => ({ signature64: bytes.slice(0, 64), recovery: bytes[64]! });
}

/** Decodes `text`; fails unless it throws a ChandError or decodes to an invoice that re-encodes to `text`. */
function decodesOrRefusesTyped(text: string): 'decoded' | 'refused' {
  let invoice;
  try {
    invoice = decodeInvoice(text);
  } catch (err) {
    if (err instanceof ChandError) return 'refused';
    throw new Error(`untyped error for ${text}: ${String(err)}`, { cause: err });
  }
  expect(encodeInvoice(invoice, originalSigner(text))).toBe(text.toLowerCase());
  return 'decoded';
}

describe('BOLT 11 codec properties', () => {
  it('sign → decode gives the fields back (defaults filled in), and re-signing gives the same string', () => {
    fc.assert(
      fc.property(invoiceCase, ({ key, fields }) => {
        const text = signInvoice(fields, key);
        const invoice = decodeInvoice(text, { network: fields.network });
        const { features, fieldOrder, ...rest } = invoice;
        expect(rest).toEqual({
          ...fields,
          features: undefined,
          payeeNodeId: bytesToHex(secp256k1.getPublicKey(key, true)),
          expirySecs: fields.expirySecs ?? 3600,
          minFinalCltvExpiry: fields.minFinalCltvExpiry ?? 18,
          fallbackAddresses: fields.fallbackAddresses ?? [],
          routeHints: fields.routeHints ?? [],
          unknownTags: fields.unknownTags ?? [],
        });
        expect(features.bits()).toEqual(fields.features?.bits() ?? []);
        expect(fieldOrder.filter((t) => t === 'f')).toHaveLength(fields.fallbackAddresses?.length ?? 0);
        expect(signInvoice(invoice, key)).toBe(text);
        expect(decodeInvoice(text.toUpperCase(), { network: fields.network })).toEqual(invoice);
      }),
      { numRuns: 150 },
    );
  });

  it('character mutations only raise ChandError, or decode to something that re-encodes exactly', () => {
    const mutation = fc.record({
      kind: fc.constantFrom('replace', 'insert', 'delete', 'truncate', 'swapcase'),
      at: fc.nat(),
      char: fc.constantFrom(...'qpzry9x8gf2tvdw0s3jn54khce6mua7l1QPZ!é '.split('')),
    });
    fc.assert(
      fc.property(invoiceCase, fc.array(mutation, { minLength: 1, maxLength: 3 }), ({ key, fields }, mutations) => {
        let text = signInvoice(fields, key);
        for (const m of mutations) {
          const at = m.at % (text.length + 1);
          if (m.kind === 'replace') text = text.slice(0, at) + m.char + text.slice(at + 1);
          if (m.kind === 'insert') text = text.slice(0, at) + m.char + text.slice(at);
          if (m.kind === 'delete') text = text.slice(0, at) + text.slice(at + 1);
          if (m.kind === 'truncate') text = text.slice(0, at);
          if (m.kind === 'swapcase') text = text === text.toUpperCase() ? text.toLowerCase() : text.toUpperCase();
        }
        decodesOrRefusesTyped(text);
      }),
      { numRuns: 300 },
    );
  });

  it('data-word mutations under a valid checksum only raise ChandError, or decode to something that re-encodes exactly', () => {
    const outcomes = { decoded: 0, refused: 0 };
    const edit = fc.record({ kind: fc.constantFrom('set', 'insert', 'delete'), at: fc.nat(), word: fc.integer({ min: 0, max: 31 }) });
    fc.assert(
      fc.property(invoiceCase, fc.array(edit, { minLength: 1, maxLength: 4 }), ({ key, fields }, edits) => {
        const text = signInvoice(fields, key);
        const { prefix, words } = bech32.decode(text as `${string}1${string}`, false);
        const data = [...words];
        for (const e of edits) {
          const at = e.at % (data.length + 1);
          if (e.kind === 'set') data[Math.min(at, data.length - 1)] = e.word;
          if (e.kind === 'insert') data.splice(at, 0, e.word);
          if (e.kind === 'delete') data.splice(at, 1);
        }
        outcomes[decodesOrRefusesTyped(bech32.encode(prefix, data, false))]++;
      }),
      { numRuns: 300 },
    );
    // Both branches must have been exercised, or the property proved nothing about one of them.
    expect(outcomes.decoded).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
