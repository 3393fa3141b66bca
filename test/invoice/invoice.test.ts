/**
 * The BOLT 11 reader and writer beyond the appendix: amounts and prefixes, every reader rule
 * (required fields, lengths, minimality, padding, duplicates, signatures, features), expiry,
 * and the writer's refusals. Invoices the writer will not produce are built word by word
 * (support/raw-invoice.ts) and signed with a real key.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/codec/bytes.js';
import { ErrorCode } from '../../src/errors.js';
import {
  decodeInvoice,
  encodeInvoice,
  type InvoiceFailure,
  type InvoiceFields,
  InvoiceError,
  invoiceExpiresAt,
  isExpired,
  signInvoice,
} from '../../src/invoice/index.js';
import { Feature, FeatureVector } from '../../src/wire/features.js';
import { bytesField, rawInvoice, type RawField, T, textField } from './support/raw-invoice.js';

const KEY = hexToBytes('e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734');
const OTHER_KEY = new Uint8Array(32).fill(7);
const PAYEE = bytesToHex(secp256k1.getPublicKey(KEY, true));
const OTHER = bytesToHex(secp256k1.getPublicKey(OTHER_KEY, true));
const HASH = 'aa'.repeat(32);
const SECRET = 'bb'.repeat(32);
const TS = 1_700_000_000;

const P = bytesField(T.p, HASH);
const S = bytesField(T.s, SECRET);
const D = textField(T.d, 'tea');
const FEATURES: RawField = { type: T['9'], words: [16, 8, 0] }; // bits 8 and 14

const BASE: InvoiceFields = { network: 'mainnet', timestamp: TS, paymentHash: HASH, paymentSecret: SECRET, description: 'tea' };

/** The InvoiceError `fn` throws (fails the test if it throws anything else or nothing). */
function refusal(fn: () => unknown): InvoiceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvoiceError) return err;
    throw err;
  }
  throw new Error('expected an InvoiceError, nothing was thrown');
}

/** Decoding `fields` signed by KEY under `hrp` fails with `reason`. */
function refusedRaw(fields: readonly RawField[], reason: InvoiceFailure, hrp = 'lnbc'): InvoiceError {
  const err = refusal(() => decodeInvoice(rawInvoice(hrp, TS, fields, KEY)));
  expect(err.reason).toBe(reason);
  return err;
}

describe('amounts and prefixes', () => {
  it('writes the shortest amount and reads it back', () => {
    const cases: [bigint, string][] = [
      [1n, 'lnbc10p1'],
      [99n, 'lnbc990p1'],
      [100n, 'lnbc1n1'],
      [101n, 'lnbc1010p1'],
      [1_000n, 'lnbc10n1'],
      [250_000_000n, 'lnbc2500u1'],
      [2_500_000_000n, 'lnbc25m1'],
      [100_000_000_000n, 'lnbc11'],
      [110_000_000_000n, 'lnbc1100m1'],
      [0xffff_ffff_ffff_ffffn, 'lnbc184467440737095516150p1'],
    ];
    for (const [amountMsat, start] of cases) {
      const text = signInvoice({ ...BASE, amountMsat }, KEY);
      expect(text.startsWith(start)).toBe(true);
      expect(decodeInvoice(text).amountMsat).toBe(amountMsat);
    }
    expect(decodeInvoice(signInvoice(BASE, KEY))).not.toHaveProperty('amountMsat');
  });

  it('reads non-shortest multipliers, as found in the wild', () => {
    expect(decodeInvoice(rawInvoice('lnbc2500000n', TS, [P, S, D, FEATURES], KEY)).amountMsat).toBe(250_000_000n);
  });

  it('refuses leading zeros, zero, unknown multipliers and amounts above 2^64-1 msat', () => {
    const bad: [string, InvoiceFailure][] = [
      ['lnbc025m', 'BAD_AMOUNT'],
      ['lnbc0', 'BAD_AMOUNT'],
      ['lnbc0p', 'BAD_AMOUNT'],
      ['lnbc1k', 'BAD_AMOUNT'],
      ['lnbc1mm', 'BAD_AMOUNT'],
      ['lnbc184467440737095516160p', 'BAD_AMOUNT'],
      ['lnbc1844674407370955162m', 'BAD_AMOUNT'],
      ['lnbc'.padEnd(60, '9'), 'BAD_AMOUNT'],
      ['lnbc11p', 'SUB_MSAT_AMOUNT'],
      ['lnxy10m', 'UNKNOWN_PREFIX'],
      ['lnbcx10m', 'UNKNOWN_PREFIX'],
      ['bc', 'UNKNOWN_PREFIX'],
    ];
    for (const [hrp, reason] of bad) {
      const err = refusedRaw([P, S, D, FEATURES], reason, hrp);
      expect(err.code).toBe(ErrorCode.INVOICE_INVALID);
    }
  });

  it('maps every prefix to its network and back', () => {
    const cases = [
      ['mainnet', 'lnbc1'],
      ['testnet', 'lntb1'],
      ['signet', 'lntbs1'],
      ['regtest', 'lnbcrt1'],
    ] as const;
    for (const [network, start] of cases) {
      const text = signInvoice({ ...BASE, network }, KEY);
      expect(text.startsWith(start)).toBe(true);
      expect(decodeInvoice(text).network).toBe(network);
      expect(decodeInvoice(text, { network }).network).toBe(network);
      expect(decodeInvoice(signInvoice({ ...BASE, network, amountMsat: 10n }, KEY)).network).toBe(network);
    }
    const testnet4 = signInvoice({ ...BASE, network: 'testnet4' }, KEY);
    expect(testnet4.startsWith('lntb1')).toBe(true);
    expect(decodeInvoice(testnet4, { network: 'testnet4' }).network).toBe('testnet4');
  });

  it('refuses an invoice for another network than expected (INVOICE_NETWORK_MISMATCH)', () => {
    const text = signInvoice({ ...BASE, network: 'signet' }, KEY);
    const err = refusal(() => decodeInvoice(text, { network: 'testnet' }));
    expect({ code: err.code, reason: err.reason }).toEqual({ code: ErrorCode.INVOICE_NETWORK_MISMATCH, reason: 'NETWORK_MISMATCH' });
    expect(err.message).toBe('invoice is for signet, expected testnet');
    expect(() => decodeInvoice(signInvoice(BASE, KEY), { network: 'regtest' })).toThrow(expect.objectContaining({ code: ErrorCode.INVOICE_NETWORK_MISMATCH }));
    expect(() => decodeInvoice(text, { network: 'moon' as never })).toThrow(TypeError);
  });

  it('accepts upper case and a lightning: URI prefix', () => {
    const text = signInvoice(BASE, KEY);
    expect(decodeInvoice(text.toUpperCase())).toEqual(decodeInvoice(text));
    expect(decodeInvoice(`lightning:${text}`).paymentHash).toBe(HASH);
    expect(decodeInvoice(`LIGHTNING:${text.toUpperCase()}`).paymentHash).toBe(HASH);
  });
});

describe('reader rules', () => {
  it('requires p and s, and exactly one of d and h', () => {
    expect(refusedRaw([S, D, FEATURES], 'MISSING_PAYMENT_HASH').code).toBe(ErrorCode.INVOICE_INVALID);
    refusedRaw([P, D, FEATURES], 'MISSING_PAYMENT_SECRET');
    refusedRaw([P, S, FEATURES], 'MISSING_DESCRIPTION');
    refusedRaw([P, S, D, bytesField(T.h, HASH), FEATURES], 'BOTH_DESCRIPTIONS');
    refusedRaw([P, S, bytesField(T.h, HASH), D], 'BOTH_DESCRIPTIONS');
  });

  it('uses the first of repeated fields and keeps the others, in order, for the round trip', () => {
    const p2 = bytesField(T.p, 'cc'.repeat(32));
    const d2 = textField(T.d, 'coffee');
    const x1 = { type: T.x, words: [1, 28] };
    const x2 = { type: T.x, words: [2] };
    const text = rawInvoice('lnbc', TS, [P, S, p2, D, x1, d2, x2, FEATURES], KEY);
    const invoice = decodeInvoice(text);
    expect(invoice.paymentHash).toBe(HASH);
    expect(invoice.description).toBe('tea');
    expect(invoice.expirySecs).toBe(60);
    expect(invoice.unknownTags).toEqual([p2, d2, x2]);
    expect(invoice.fieldOrder).toEqual(['p', 's', '?', 'd', 'x', '?', '?', '9']);
    expect(signInvoice(invoice, KEY)).toBe(text);
  });

  it('skips p, h, s and n fields of the wrong length, and f fields of unknown versions', () => {
    const short = { type: T.p, words: new Array(51).fill(0) };
    const nShort = { type: T.n, words: new Array(52).fill(0) };
    const f31 = { type: T.f, words: [31, 1, 2, 3] };
    const text = rawInvoice('lnbc', TS, [short, P, S, D, nShort, f31], KEY);
    const invoice = decodeInvoice(text);
    expect(invoice.paymentHash).toBe(HASH);
    expect(invoice.payeeNodeId).toBe(PAYEE);
    expect(invoice.fallbackAddresses).toEqual([]);
    expect(invoice.unknownTags).toEqual([short, nShort, f31]);
    expect(signInvoice(invoice, KEY)).toBe(text);
    // A p of the wrong length does not stand in for a missing one.
    refusedRaw([short, S, D], 'MISSING_PAYMENT_HASH');
  });

  it('reads x and c (zero-length means 0) and refuses them non-minimal', () => {
    const invoice = decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, { type: T.x, words: [] }, { type: T.c, words: [1, 8] }], KEY));
    expect(invoice.expirySecs).toBe(0);
    expect(invoice.minFinalCltvExpiry).toBe(40);
    const err = refusedRaw([P, S, D, { type: T.x, words: [0, 1, 28] }], 'NON_MINIMAL_FIELD');
    expect(err.message).toMatch(/field x/);
    refusedRaw([P, S, D, { type: T.c, words: [0, 9] }], 'NON_MINIMAL_FIELD');
    refusedRaw([P, S, D, { type: T['9'], words: [0, 16, 8, 0] }], 'NON_MINIMAL_FIELD');
    refusedRaw([P, S, D, { type: T['9'], words: [] }], 'NON_MINIMAL_FIELD');
    refusedRaw([P, S, D, { type: T.c, words: [4, 0, 0, 0, 0, 0, 0] }], 'BAD_FIELD'); // 2^32
    refusedRaw([P, S, D, { type: T.x, words: [1, ...new Array(11).fill(0)] }], 'BAD_FIELD'); // 2^55
  });

  it('refuses malformed field contents', () => {
    refusedRaw([P, S, bytesField(T.d, new Uint8Array([0xff, 0xfe]))], 'BAD_FIELD');
    const paddedP = { type: T.p, words: [...P.words.slice(0, 51), 1] }; // a non-zero padding bit
    expect(refusedRaw([paddedP, S, D], 'BAD_FIELD').message).toMatch(/field p .*padding/);
    refusedRaw([P, S, D, { type: T.m, words: [1, 2, 3] }], 'BAD_FIELD'); // 15 bits: excess padding
    refusedRaw([P, S, D, bytesField(T.r, new Uint8Array(50))], 'BAD_FIELD');
    refusedRaw([P, S, D, bytesField(T.r, new Uint8Array(51))], 'BAD_FIELD'); // pubkey 00..00
    refusedRaw([P, S, D, bytesField(T.n, `04${'11'.repeat(32)}`)], 'BAD_FIELD');
    refusedRaw([P, S, D, { type: T.f, words: [] }], 'BAD_FIELD');
    refusedRaw([P, S, D, { type: T.f, words: [0, ...bytesField(0, new Uint8Array(25)).words] }], 'BAD_FIELD');
    refusedRaw([P, S, D, { type: T.f, words: [17, ...bytesField(0, new Uint8Array(19)).words] }], 'BAD_FIELD');
    refusedRaw([P, S, D, { type: T.f, words: [1, ...bytesField(0, new Uint8Array(41)).words] }], 'BAD_FIELD');
  });

  it('refuses truncated fields and strings too short for a signature', () => {
    const claimsMore = refusal(() => decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, { type: 2, words: [1, 2], claimedLength: 3 }], KEY)));
    expect(claimsMore.reason).toBe('TRUNCATED_FIELD');
    expect(claimsMore.message).toMatch(/claims 3 words, 2 remain/);
    for (const trailing of [[2], [2, 0]]) {
      expect(refusal(() => decodeInvoice(rawInvoice('lnbc', TS, [P, S, D], KEY, { trailingWords: trailing }))).reason).toBe('TRUNCATED_FIELD');
    }
    // Checksum-valid, but fewer words than a timestamp and a signature.
    const tooShort = bech32.encode('lnbc', new Array(110).fill(0), false);
    expect(refusal(() => decodeInvoice(tooShort)).reason).toBe('TOO_SHORT');
    expect(decodeInvoice(rawInvoice('lnbc', TS, [P, S, D], KEY)).paymentHash).toBe(HASH);
  });

  it('verifies against n when present, low-S only; recovers otherwise, either S', () => {
    const n = bytesField(T.n, PAYEE);
    expect(decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, n], KEY)).payeeNodeId).toBe(PAYEE);
    expect(decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, n], KEY)).fieldOrder).toEqual(['p', 's', 'd', 'n']);
    const wrongKey = refusal(() => decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, bytesField(T.n, OTHER)], KEY)));
    expect({ code: wrongKey.code, reason: wrongKey.reason }).toEqual({ code: ErrorCode.INVOICE_SIGNATURE_INVALID, reason: 'BAD_SIGNATURE' });
    expect(refusal(() => decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, n], KEY, { highS: true }))).reason).toBe('HIGH_S');
    // Without n a high-S signature is accepted; with the matching flipped id it recovers the signer.
    const plain = rawInvoice('lnbc', TS, [P, S, D], KEY);
    const recId = decodeBech32Recovery(plain);
    expect(decodeInvoice(rawInvoice('lnbc', TS, [P, S, D], KEY, { highS: true, recovery: recId ^ 1 })).payeeNodeId).toBe(PAYEE);
    expect(decodeInvoice(rawInvoice('lnbc', TS, [P, S, D], KEY, { recovery: recId ^ 1 })).payeeNodeId).not.toBe(PAYEE);
    for (const recovery of [4, 31, 255]) {
      expect(refusal(() => decodeInvoice(rawInvoice('lnbc', TS, [P, S, D], KEY, { recovery }))).reason).toBe('BAD_RECOVERY_ID');
    }
  });

  it('refuses unknown even feature bits, ignores unknown odd ones, and checks dependencies', () => {
    const bitsField = (bits: number[]): RawField => {
      const count = Math.floor(Math.max(...bits) / 5) + 1;
      const words = new Array<number>(count).fill(0);
      for (const b of bits) words[count - 1 - Math.floor(b / 5)]! |= 1 << (b % 5);
      return { type: T['9'], words };
    };
    const ok = decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, bitsField([8, 14, 16, 49, 101, 1001])], KEY));
    expect(ok.features.bits()).toEqual([8, 14, 16, 49, 101, 1001]);
    const err = refusal(() => decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, bitsField([8, 14, 100])], KEY)));
    expect({ code: err.code, reason: err.reason }).toEqual({ code: ErrorCode.INVOICE_FEATURES_UNSUPPORTED, reason: 'UNKNOWN_REQUIRED_FEATURE' });
    expect(err.message).toMatch(/bit 100/);
    // option_static_remotekey (12) is a channel feature, not one of an invoice's.
    expect(refusal(() => decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, bitsField([12])], KEY))).reason).toBe('UNKNOWN_REQUIRED_FEATURE');
    // option_zeroconf (offered, odd) needs option_scid_alias.
    expect(refusal(() => decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, bitsField([51])], KEY))).reason).toBe('MISSING_FEATURE_DEPENDENCY');
    expect(decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, bitsField([47, 51])], KEY)).features.bits()).toEqual([47, 51]);
    // basic_mpp needs payment_secret, which BOLT 9 assumes: accepted even without bit 14/15.
    expect(decodeInvoice(rawInvoice('lnbc', TS, [P, S, D, bitsField([17])], KEY)).features.offers(Feature.basicMpp)).toBe(true);
  });

  it('checks an expected description against d as well as h', () => {
    const text = signInvoice(BASE, KEY);
    expect(decodeInvoice(text, { description: 'tea' }).description).toBe('tea');
    expect(refusal(() => decodeInvoice(text, { description: 'Tea' })).reason).toBe('DESCRIPTION_HASH_MISMATCH');
  });

  it('throws TypeError for a non-string', () => {
    expect(() => decodeInvoice(42 as never)).toThrow(TypeError);
    expect(() => decodeInvoice(signInvoice(BASE, KEY), { description: 1 as never })).toThrow(TypeError);
  });
});

describe('round trips of every field', () => {
  it('writes and reads all fields canonically', () => {
    const fields: InvoiceFields = {
      network: 'regtest',
      amountMsat: 123_456_789n,
      timestamp: 2 ** 35 - 1,
      paymentHash: HASH,
      paymentSecret: SECRET,
      descriptionHash: 'dd'.repeat(32),
      payeeNodeId: PAYEE,
      expirySecs: Number.MAX_SAFE_INTEGER,
      minFinalCltvExpiry: 0xffff_ffff,
      metadata: '',
      fallbackAddresses: [
        { version: 0, program: '11'.repeat(20) },
        { version: 0, program: '22'.repeat(32) },
        { version: 1, program: '33'.repeat(32) },
        { version: 16, program: '44'.repeat(2) },
        { version: 17, program: '55'.repeat(20) },
        { version: 18, program: '66'.repeat(20) },
      ],
      routeHints: [
        [{ pubkey: OTHER, shortChannelId: 0xffff_ffff_ffff_ffffn, feeBaseMsat: 0xffff_ffff, feeProportionalMillionths: 0, cltvExpiryDelta: 0xffff }],
        Array.from({ length: 12 }, (_, i) => ({ pubkey: PAYEE, shortChannelId: BigInt(i), feeBaseMsat: i, feeProportionalMillionths: i * 2, cltvExpiryDelta: i * 3 })),
      ],
      features: FeatureVector.fromBits([9, 15, 17, 49, 5113]),
      unknownTags: [{ type: 0, words: [] }, { type: 31, words: new Array(1023).fill(31) }],
    };
    const text = signInvoice(fields, KEY);
    const { features, ...rest } = decodeInvoice(text, { network: 'regtest' });
    expect(rest).toEqual({ ...fields, features: undefined, fieldOrder: ['p', 's', 'h', 'n', 'x', 'c', 'm', 'f', 'f', 'f', 'f', 'f', 'f', 'r', 'r', '9', '?', '?'] });
    expect(features.bits()).toEqual([9, 15, 17, 49, 5113]);
  });
});

describe('expiry', () => {
  it('is timestamp + expiry, expired strictly after it', () => {
    const invoice = decodeInvoice(signInvoice({ ...BASE, expirySecs: 60 }, KEY));
    expect(invoiceExpiresAt(invoice)).toBe(TS + 60);
    expect(isExpired(invoice, TS + 60)).toBe(false);
    expect(isExpired(invoice, TS + 61)).toBe(true);
    expect(isExpired(decodeInvoice(signInvoice(BASE, KEY)), TS + 3600)).toBe(false);
    expect(isExpired(decodeInvoice(signInvoice(BASE, KEY)), TS + 3601)).toBe(true);
    expect(() => isExpired(invoice, Number.NaN)).toThrow(TypeError);
  });
});

describe('writer refusals', () => {
  it('refuses malformed fields with TypeError / RangeError', () => {
    expect(() => signInvoice({ ...BASE, descriptionHash: HASH }, KEY)).toThrow(/exactly one of description and descriptionHash, got both/);
    const { description: _d, ...neither } = BASE;
    expect(() => signInvoice(neither, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, paymentHash: 'AA'.repeat(32) }, KEY)).toThrow(TypeError);
    expect(() => signInvoice({ ...BASE, paymentHash: 'aa'.repeat(31) }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, amountMsat: 0n }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, amountMsat: 1 as never }, KEY)).toThrow(TypeError);
    expect(() => signInvoice({ ...BASE, timestamp: 2 ** 35 }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, description: 'x'.repeat(640) }, KEY)).toThrow(RangeError);
    expect(signInvoice({ ...BASE, description: 'x'.repeat(639) }, KEY)).toMatch(/^lnbc1/);
    expect(() => signInvoice({ ...BASE, description: '\ud800' }, KEY)).toThrow(/lone surrogate/);
    expect(() => signInvoice({ ...BASE, payeeNodeId: `04${'11'.repeat(32)}` }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, fallbackAddresses: [{ version: 19, program: '11'.repeat(20) }] }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, fallbackAddresses: [{ version: 0, program: '11'.repeat(21) }] }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, routeHints: [[]] }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, routeHints: [[{ pubkey: PAYEE, shortChannelId: 1n, feeBaseMsat: 2 ** 32, feeProportionalMillionths: 0, cltvExpiryDelta: 0 }]] }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, features: FeatureVector.fromBits([5115]) }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, features: [8] as never }, KEY)).toThrow(TypeError);
    expect(() => signInvoice({ ...BASE, features: FeatureVector.fromBits([100]) }, KEY)).toThrow(/feature bit 100/);
    expect(() => signInvoice({ ...BASE, features: FeatureVector.fromBits([51]) }, KEY)).toThrow(/option_zeroconf without its dependency/);
    expect(() => signInvoice({ ...BASE, unknownTags: [{ type: 32, words: [] }] }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, unknownTags: [{ type: 2, words: [32] }] }, KEY)).toThrow(RangeError);
    expect(() => signInvoice(BASE, new Uint8Array(32))).toThrow(RangeError);
    expect(() => encodeInvoice(BASE, 'sign' as never)).toThrow(TypeError);
  });

  it('refuses unknown tags and orders that would not read back as given', () => {
    // A second p after the first is skipped by readers: fine. Before it, it would be the p.
    const extraP = { type: T.p, words: bytesField(T.p, 'cc'.repeat(32)).words };
    expect(decodeInvoice(signInvoice({ ...BASE, unknownTags: [extraP] }, KEY)).unknownTags).toEqual([extraP]);
    expect(() => signInvoice({ ...BASE, unknownTags: [extraP], fieldOrder: ['?', 'p', 's', 'd'] }, KEY)).toThrow(/read back as an unknown tag, got p/);
    expect(() => signInvoice({ ...BASE, unknownTags: [{ type: T.x, words: [0, 1] }] }, KEY)).toThrow(/readable/);
    expect(() => signInvoice({ ...BASE, unknownTags: [{ type: T.h, words: bytesField(T.h, HASH).words }] }, KEY)).toThrow(RangeError);
    expect(() => signInvoice({ ...BASE, fieldOrder: ['p', 's'] }, KEY)).toThrow(/every field present/);
    expect(() => signInvoice({ ...BASE, fieldOrder: ['p', 's', 'd', 'x'] }, KEY)).toThrow(/only fields present/);
    expect(() => signInvoice({ ...BASE, fieldOrder: ['p', 's', 'd', 'z' as never] }, KEY)).toThrow(TypeError);
    // x, c and n may be carried without being written.
    const text = signInvoice({ ...BASE, expirySecs: 3600, minFinalCltvExpiry: 18, payeeNodeId: PAYEE, fieldOrder: ['d', 's', 'p'] }, KEY);
    expect(decodeInvoice(text).fieldOrder).toEqual(['d', 's', 'p']);
  });

  it('refuses a signer whose signature does not fit the invoice (INVOICE_SIGNATURE_INVALID)', () => {
    const signWith = (key: Uint8Array, highS = false) => (digest: Uint8Array) => {
      const sig = secp256k1.sign(digest, key, { prehash: false, lowS: true, format: 'recovered' });
      const s = secp256k1.Signature.fromBytes(sig.subarray(1), 'compact');
      const out = highS ? new secp256k1.Signature(s.r, secp256k1.Point.CURVE().n - s.s) : s;
      return { signature64: out.toBytes('compact'), recovery: highS ? sig[0]! ^ 1 : sig[0]! };
    };
    const wrong = refusal(() => encodeInvoice({ ...BASE, payeeNodeId: PAYEE }, signWith(OTHER_KEY)));
    expect({ code: wrong.code, reason: wrong.reason }).toEqual({ code: ErrorCode.INVOICE_SIGNATURE_INVALID, reason: 'BAD_SIGNATURE' });
    expect(refusal(() => encodeInvoice({ ...BASE, payeeNodeId: PAYEE }, signWith(KEY, true))).reason).toBe('HIGH_S');
    // Without n a high-S signature is legal (readers recover either S) and recovers the signer.
    expect(decodeInvoice(encodeInvoice(BASE, signWith(KEY, true))).payeeNodeId).toBe(PAYEE);
    expect(refusal(() => encodeInvoice(BASE, () => ({ signature64: new Uint8Array(64), recovery: 0 }))).reason).toBe('UNRECOVERABLE');
    expect(refusal(() => encodeInvoice(BASE, () => ({ signature64: new Uint8Array(63), recovery: 0 }))).reason).toBe('BAD_SIGNATURE');
    expect(refusal(() => encodeInvoice(BASE, (d) => ({ ...signWith(KEY)(d), recovery: 4 }))).reason).toBe('BAD_RECOVERY_ID');
  });
});

/** The recovery id of an invoice string (its last signature byte). */
function decodeBech32Recovery(text: string): number {
  const data = text.slice(text.lastIndexOf('1') + 1, -6);
  const alphabet = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  const words = [...data].map((c) => alphabet.indexOf(c)).slice(-104);
  // 104 words = 520 bits; the recovery id is the last 8 bits: words 102 (low 3 bits) and 103.
  return ((words[102]! & 7) << 5) | words[103]!;
}
