/**
 * Property tests for the payment record codecs (src/payments/records.ts), as for the channel
 * records: generated invoices, payments (with attempts and routes) and their parts
 * round-trip exactly, optional fields absent or present; any bytes — random, or a valid
 * record mangled — decode or throw DecodeError (DECODE_FAILED), never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordSchema } from '../../src/codec/record.js';
import { ChandError, DecodeError, ErrorCode } from '../../src/errors.js';
import { htlcRefRecord, invoiceRecord, paymentAttemptRecord, paymentRecord, routeHopRecord, INVOICE_STATES, PAYMENT_STATUSES } from '../../src/payments/records.js';
import type { HtlcRef, Invoice, Payment, PaymentAttempt, RouteHop } from '../../src/payments/types.js';

const MAX_MSAT = 21_000_000n * 100_000_000n * 1000n;
const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
const pubkey = hex(32).map((h) => `02${h}`);
const msat = fc.bigInt({ min: 0n, max: MAX_MSAT });
const ms = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const index = fc.integer({ min: 0, max: 2 ** 40 });
// Text without U+0000 (refused on every backend: PostgreSQL text cannot hold it).
const text = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\u0000'));

const htlcRef: fc.Arbitrary<HtlcRef> = fc.record({ channelId: hex(32), htlcId: index });
const hop: fc.Arbitrary<RouteHop> = fc.record({
  pubkey,
  shortChannelId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  amountMsat: msat,
  cltvExpiry: fc.integer({ min: 0, max: 0xffff_ffff }),
});
const attempt: fc.Arbitrary<PaymentAttempt> = fc.record(
  {
    attemptId: fc.integer({ min: 1, max: 1000 }),
    channelId: hex(32),
    htlcId: index,
    amountMsat: msat,
    route: fc.array(hop, { maxLength: 20 }),
    sessionKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    startedAtMs: ms,
    status: fc.constantFrom(...PAYMENT_STATUSES),
    resolvedAtMs: ms,
    failure: text,
  },
  { requiredKeys: ['attemptId', 'channelId', 'htlcId', 'amountMsat', 'route', 'sessionKey', 'startedAtMs', 'status', 'resolvedAtMs'] },
);
const invoice: fc.Arbitrary<Invoice> = fc.record(
  {
    paymentHash: hex(32),
    preimage: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    paymentSecret: hex(32),
    createdAtMs: ms,
    amountMsat: msat,
    expiresAtMs: ms,
    description: text,
    minFinalCltvExpiryDelta: fc.integer({ min: 0, max: 2016 }),
    descriptionHash: hex(32),
    encoded: text,
    keysend: fc.boolean(),
    state: fc.constantFrom(...INVOICE_STATES),
    addIndex: index,
    settleIndex: index,
    settledAtMs: ms,
    amountPaidMsat: msat,
    settledBy: htlcRef,
  },
  {
    requiredKeys: ['paymentHash', 'preimage', 'createdAtMs', 'expiresAtMs', 'minFinalCltvExpiryDelta', 'encoded', 'keysend', 'state', 'addIndex', 'settleIndex', 'settledAtMs', 'amountPaidMsat'],
  },
);
const payment: fc.Arbitrary<Payment> = fc.record(
  {
    paymentHash: hex(32),
    amountMsat: msat,
    destination: pubkey,
    invoice: text,
    keysend: fc.boolean(),
    createdAtMs: ms,
    paymentIndex: index,
    status: fc.constantFrom(...PAYMENT_STATUSES),
    attempts: fc.array(attempt, { maxLength: 5 }),
    preimage: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    feeMsat: msat,
    failureReason: text,
    resolvedAtMs: ms,
  },
  { requiredKeys: ['paymentHash', 'amountMsat', 'destination', 'invoice', 'keysend', 'createdAtMs', 'paymentIndex', 'status', 'attempts', 'feeMsat', 'resolvedAtMs'] },
);

const CASES: ReadonlyArray<[string, RecordSchema<unknown>, fc.Arbitrary<unknown>]> = [
  ['HtlcRef', htlcRefRecord as RecordSchema<unknown>, htlcRef],
  ['RouteHop', routeHopRecord as RecordSchema<unknown>, hop],
  ['PaymentAttempt', paymentAttemptRecord as RecordSchema<unknown>, attempt],
  ['Invoice', invoiceRecord as RecordSchema<unknown>, invoice],
  ['Payment', paymentRecord as RecordSchema<unknown>, payment],
];

function decodeOrDecodeError(schema: RecordSchema<unknown>, bytes: Uint8Array): void {
  try {
    schema.decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as ChandError).code).toBe(ErrorCode.DECODE_FAILED);
  }
}

describe('payment record codecs', () => {
  it.each(CASES)('%s: generated values round-trip exactly', (_name, schema, arb) => {
    fc.assert(
      fc.property(arb, (value) => {
        expect(schema.decode(schema.encode(value))).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it.each(CASES)('%s: random and mangled bytes decode or throw DECODE_FAILED', (_name, schema, arb) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => decodeOrDecodeError(schema, bytes)),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(arb, fc.nat(), fc.integer({ min: 0, max: 255 }), (value, at, byte) => {
        const bytes = schema.encode(value);
        const mangled = Uint8Array.from(bytes);
        if (mangled.length > 0) mangled[at % mangled.length] = byte;
        decodeOrDecodeError(schema, mangled);
        decodeOrDecodeError(schema, bytes.subarray(0, at % (bytes.length + 1)));
      }),
      { numRuns: 300 },
    );
  });
});
