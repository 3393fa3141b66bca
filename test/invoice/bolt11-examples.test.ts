/**
 * BOLT 11 appendix ("Examples" and "Examples of Invalid Invoices"), read from the spec text:
 * every valid example decodes to the fields its breakdown lists, its signed bytes and digest are
 * the breakdown's, and re-signing the decoded invoice with the spec's private key gives back the
 * example string; every invalid example is refused with the code and reason it illustrates.
 * Each list is matched exactly against the spec's headings, so an added or renamed example fails.
 */
import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { Address, NETWORK, TEST_NETWORK } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { publicKeyFromPrivate } from '../../src/bitcoin/ecdsa.js';
import { bytesToHex, hexToBytes } from '../../src/codec/bytes.js';
import { ErrorCode } from '../../src/errors.js';
import {
  decodeInvoice,
  type FallbackAddress,
  type Invoice,
  type InvoiceFailure,
  InvoiceError,
  invoiceSigningPreimage,
  type RouteHint,
  signInvoice,
} from '../../src/invoice/index.js';
import { BOLT11_PATH, readExamples, specPrivateKeyHex } from './support/bolt11-examples.js';

const SPEC = readFileSync(BOLT11_PATH, 'utf8');
const KEY = hexToBytes(specPrivateKeyHex(SPEC));
const PAYEE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad';
const HASH = '0001020304050607080900010203040506070809000102030405060708090102';
const SECRET = '1111111111111111111111111111111111111111111111111111111111111111';
const TIMESTAMP = 1496314658;
const CAKE =
  'One piece of chocolate cake, one icecream cone, one pickle, one slice of swiss cheese, one slice of salami, one lollypop, one piece of cherry pie, one sausage, one cupcake, and one slice of watermelon';
const CAKE_HASH = '3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1';

/** The fallback an address of the spec stands for, derived by btc-signer (not by the code under test). */
function fallbackOf(address: string, network: typeof NETWORK): FallbackAddress {
  const a = Address(network).decode(address);
  switch (a.type) {
    case 'pkh':
      return { version: 17, program: bytesToHex(a.hash) };
    case 'sh':
      return { version: 18, program: bytesToHex(a.hash) };
    case 'wpkh':
    case 'wsh':
      return { version: 0, program: bytesToHex(a.hash) };
    case 'tr':
      return { version: 1, program: bytesToHex(a.pubkey) };
    default:
      throw new Error(`unexpected address type ${a.type}`);
  }
}

/** A short channel id from BOLT 7's `block x tx x output` form. */
function scid(text: string): bigint {
  const [block, tx, out] = text.split('x').map(BigInt);
  return (block! << 40n) | (tx! << 16n) | out!;
}

/** The fields a breakdown lists, in the shape `decodeInvoice` returns (features as their bits). */
interface Expected {
  readonly network?: Invoice['network'];
  readonly amountMsat?: bigint;
  readonly timestamp?: number;
  readonly paymentHash?: string;
  readonly description?: string;
  readonly descriptionHash?: string;
  readonly payeeNodeId?: string;
  readonly expirySecs?: number;
  readonly minFinalCltvExpiry?: number;
  readonly fallbackAddresses?: readonly FallbackAddress[];
  readonly routeHints?: readonly RouteHint[];
  readonly featureBits?: readonly number[];
  readonly metadata?: string;
  readonly unknownTags?: readonly { type: number; length: number }[];
  /** The string re-signing gives, when it is not the example itself (lowercased). */
  readonly reencodesTo?: string;
}

const RUSTY_HINT: RouteHint = [
  { pubkey: '029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255', shortChannelId: scid('66051x263430x1800'), feeBaseMsat: 1, feeProportionalMillionths: 20, cltvExpiryDelta: 3 },
  { pubkey: '039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255', shortChannelId: scid('197637x395016x2314'), feeBaseMsat: 2, feeProportionalMillionths: 30, cltvExpiryDelta: 4 },
];

const VALID = readExamples(SPEC, 'valid');
const INVALID = readExamples(SPEC, 'invalid');
const DONATION = VALID.find((e) => e.title.startsWith('Please make a donation'))!.invoice;

/** Expected fields per valid example, keyed by the exact spec heading. */
const EXPECTED: Readonly<Record<string, Expected>> = {
  'Please make a donation of any amount using payment_hash 0001020304050607080900010203040506070809000102030405060708090102 to me @03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad': {
    description: 'Please consider supporting this project',
  },
  'Please send $3 for a cup of coffee to the same peer, within one minute': { amountMsat: 250_000_000n, description: '1 cup coffee', expirySecs: 60 },
  'Please send 0.0025 BTC for a cup of nonsense (ナンセンス 1杯) to the same peer, within one minute': {
    amountMsat: 250_000_000n,
    description: 'ナンセンス 1杯',
    expirySecs: 60,
  },
  'Now send $24 for an entire list of things (hashed)': { amountMsat: 2_000_000_000n, descriptionHash: CAKE_HASH },
  'The same, on testnet, with a fallback address mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP': {
    network: 'testnet',
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
    fallbackAddresses: [fallbackOf('mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP', TEST_NETWORK)],
  },
  'On mainnet, with fallback address 1RustyRX2oai4EYYDpQGWvEL62BBGqN9T with extra routing info to go via nodes 029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255 then 039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255':
    { amountMsat: 2_000_000_000n, descriptionHash: CAKE_HASH, fallbackAddresses: [fallbackOf('1RustyRX2oai4EYYDpQGWvEL62BBGqN9T', NETWORK)], routeHints: [RUSTY_HINT] },
  'On mainnet, with fallback (P2SH) address 3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX': {
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
    fallbackAddresses: [fallbackOf('3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX', NETWORK)],
  },
  'On mainnet, with fallback (P2WPKH) address bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4': {
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
    fallbackAddresses: [fallbackOf('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', NETWORK)],
  },
  'On mainnet, with fallback (P2WSH) address bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3': {
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
    fallbackAddresses: [fallbackOf('bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3', NETWORK)],
  },
  'On mainnet, with fallback (P2TR) address bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm': {
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
    fallbackAddresses: [fallbackOf('bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm', NETWORK)],
  },
  'Please send 0.00967878534 BTC for a list of items within one week, amount in pico-BTC': {
    amountMsat: 967_878_534n,
    timestamp: 1572468703,
    paymentHash: '462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f',
    description:
      'Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, "Back In My Day" Sticker x 2, "I Got Lightning Working" Sticker x 2 and 1 more items',
    expirySecs: 604800,
    minFinalCltvExpiry: 10,
    routeHints: [
      [{ pubkey: '03d06758583bb5154774a6eb221b1276c9e82d65bbaceca806d90e20c108f4b1c7', shortChannelId: scid('589390x3312x1'), feeBaseMsat: 1000, feeProportionalMillionths: 2500, cltvExpiryDelta: 40 }],
    ],
  },
  'Please send $30 for coffee beans to the same peer, which supports features 8, 14 and 99, using secret 0x1111111111111111111111111111111111111111111111111111111111111111': {
    amountMsat: 2_500_000_000n,
    description: 'coffee beans',
    featureBits: [8, 14, 99],
  },
  'Same, but all upper case.': { amountMsat: 2_500_000_000n, description: 'coffee beans', featureBits: [8, 14, 99] },
  'Same, but including fields which must be ignored.': {
    amountMsat: 2_500_000_000n,
    description: 'coffee beans',
    featureBits: [8, 14, 99],
    // letter `2` (type 10, unknown), f version 19, then p, p, h, h, s, s, n, n of the wrong lengths, in order.
    unknownTags: [
      { type: 10, length: 3 },
      { type: 9, length: 33 },
      { type: 1, length: 51 },
      { type: 1, length: 53 },
      { type: 23, length: 51 },
      { type: 23, length: 53 },
      { type: 16, length: 51 },
      { type: 16, length: 53 },
      { type: 19, length: 52 },
      { type: 19, length: 54 },
    ],
  },
  'Please send 0.01 BTC with payment metadata 0x01fafaf0': {
    amountMsat: 1_000_000_000n,
    description: 'payment metadata inside',
    metadata: '01fafaf0',
    featureBits: [8, 14, 48],
  },
  // The example negates s (to n - s) without flipping the recovery id (1; the consistent one is
  // 0), so recovery yields another key than the signer's. BOLT 11 asks readers to accept it and
  // recover; chand recovers with the id the invoice carries, as libsecp256k1 does. Re-signed (low-S)
  // with the spec key, the same fields give the donation example.
  'Public-key recovery with high-S signature': {
    description: 'Please consider supporting this project',
    payeeNodeId: '02d0139ce7427d6dfffd26a326c18be754ef1e64672b42694ba5b23ef6e6e7803d',
    reencodesTo: DONATION,
  },
};

/** Expected refusal per invalid example, keyed by the exact spec heading. */
const REFUSED: Readonly<Record<string, { code: string; reason: InvoiceFailure; message: RegExp }>> = {
  'Same, but adding invalid unknown feature 100': { code: ErrorCode.INVOICE_FEATURES_UNSUPPORTED, reason: 'UNKNOWN_REQUIRED_FEATURE', message: /feature bit 100\b/ },
  'Bech32 checksum is invalid.': { code: ErrorCode.INVOICE_INVALID, reason: 'BAD_CHECKSUM', message: /checksum/ },
  'Malformed bech32 string (no 1)': { code: ErrorCode.INVOICE_INVALID, reason: 'BAD_BECH32', message: /separator/ },
  'Malformed bech32 string (mixed case)': { code: ErrorCode.INVOICE_INVALID, reason: 'BAD_BECH32', message: /mixes upper and lower case/ },
  'Signature is not recoverable.': { code: ErrorCode.INVOICE_SIGNATURE_INVALID, reason: 'UNRECOVERABLE', message: /recovered/ },
  'String is too short.': { code: ErrorCode.INVOICE_INVALID, reason: 'TOO_SHORT', message: /too short/ },
  'Invalid multiplier': { code: ErrorCode.INVOICE_INVALID, reason: 'BAD_AMOUNT', message: /2500x.*multiplier/ },
  'Invalid sub-millisatoshi precision.': { code: ErrorCode.INVOICE_INVALID, reason: 'SUB_MSAT_AMOUNT', message: /2500000001p/ },
  'Missing required `s` field.': { code: ErrorCode.INVOICE_INVALID, reason: 'MISSING_PAYMENT_SECRET', message: /payment secret/ },
  "Non canonical signature (high-S) with 'n' field defined": { code: ErrorCode.INVOICE_SIGNATURE_INVALID, reason: 'HIGH_S', message: /high-S/ },
};

/** A breakdown's "hex of data for signing" and "hex of SHA256 of the preimage", when it has them. */
function signatureBreakdown(breakdown: string): { preimage: string; digest: string } | undefined {
  const preimage = /`([0-9a-f]+)` hex of data for signing/.exec(breakdown)?.[1];
  const digest = /`([0-9a-f]{64})` hex of SHA256 of the preimage/.exec(breakdown)?.[1];
  return preimage === undefined || digest === undefined ? undefined : { preimage, digest };
}

describe('BOLT 11 appendix: examples', () => {
  it('reads every example of the spec and has an expectation for exactly those', () => {
    expect(VALID.map((e) => e.title).sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(INVALID.map((e) => e.title).sort()).toEqual(Object.keys(REFUSED).sort());
    expect(publicKeyFromPrivate(KEY)).toEqual(hexToBytes(PAYEE));
  });

  for (const example of VALID) {
    it(`decodes, checks and re-encodes: ${example.title}`, () => {
      const want = EXPECTED[example.title]!;
      const invoice = decodeInvoice(example.invoice);
      const { features, unknownTags, fieldOrder, ...rest } = invoice;
      expect(rest).toEqual({
        network: want.network ?? 'mainnet',
        ...(want.amountMsat === undefined ? {} : { amountMsat: want.amountMsat }),
        timestamp: want.timestamp ?? TIMESTAMP,
        paymentHash: want.paymentHash ?? HASH,
        paymentSecret: SECRET,
        ...(want.description === undefined ? {} : { description: want.description }),
        ...(want.descriptionHash === undefined ? {} : { descriptionHash: want.descriptionHash }),
        payeeNodeId: want.payeeNodeId ?? PAYEE,
        expirySecs: want.expirySecs ?? 3600,
        minFinalCltvExpiry: want.minFinalCltvExpiry ?? 18,
        fallbackAddresses: want.fallbackAddresses ?? [],
        routeHints: want.routeHints ?? [],
        ...(want.metadata === undefined ? {} : { metadata: want.metadata }),
      });
      expect(features.bits()).toEqual(want.featureBits ?? [8, 14]);
      expect(unknownTags.map((t) => ({ type: t.type, length: t.words.length }))).toEqual(want.unknownTags ?? []);
      // The ignored fields are zeros except the f field's version word (19).
      expect(unknownTags.every((t) => t.words.every((w, i) => w === (t.type === 9 && i === 0 ? 19 : 0)))).toBe(true);
      expect(fieldOrder.filter((t) => t === '?')).toHaveLength(unknownTags.length);

      const breakdown = signatureBreakdown(example.breakdown);
      if (breakdown !== undefined) {
        const preimage = invoiceSigningPreimage(example.invoice);
        expect(bytesToHex(preimage)).toBe(breakdown.preimage);
        expect(bytesToHex(sha256(preimage))).toBe(breakdown.digest);
      }

      if (want.reencodesTo === undefined) {
        expect(signInvoice(invoice, KEY)).toBe(example.invoice.toLowerCase());
      } else {
        // The recovered key is not the spec key's, so re-sign the same fields without it.
        expect(() => signInvoice(invoice, KEY)).toThrow(/signer's key is not payeeNodeId/);
        const { payeeNodeId: _recovered, ...fields } = invoice;
        expect(signInvoice(fields, KEY)).toBe(want.reencodesTo);
      }
    });
  }

  it('holds the high-S example to its description: the s of the donation example, negated', () => {
    const high = VALID.find((e) => e.title === 'Public-key recovery with high-S signature')!;
    const signatures = [DONATION, high.invoice].map((text) => /`([0-9a-f]{128})` hex of signature data/.exec(VALID.find((e) => e.invoice === text)!.breakdown)![1]!);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    expect(signatures[0]!.slice(0, 64)).toBe(signatures[1]!.slice(0, 64));
    expect(BigInt(`0x${signatures[0]!.slice(64)}`) + BigInt(`0x${signatures[1]!.slice(64)}`)).toBe(n);
  });

  it('checks a description against the h field (the spec gives the hashed text)', () => {
    const hashed = VALID.find((e) => e.title === 'Now send $24 for an entire list of things (hashed)')!.invoice;
    expect(bytesToHex(sha256(new TextEncoder().encode(CAKE)))).toBe(CAKE_HASH);
    expect(decodeInvoice(hashed, { description: CAKE }).descriptionHash).toBe(CAKE_HASH);
    expect(() => decodeInvoice(hashed, { description: `${CAKE}.` })).toThrow(expect.objectContaining({ reason: 'DESCRIPTION_HASH_MISMATCH' }));
  });
});

describe('BOLT 11 appendix: examples of invalid invoices', () => {
  for (const example of INVALID) {
    it(`refuses: ${example.title}`, () => {
      const want = REFUSED[example.title]!;
      let caught: unknown;
      try {
        decodeInvoice(example.invoice);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InvoiceError);
      const err = caught as InvoiceError;
      expect({ code: err.code, reason: err.reason }).toEqual({ code: want.code, reason: want.reason });
      expect(err.message).toMatch(want.message);
    });
  }
});
