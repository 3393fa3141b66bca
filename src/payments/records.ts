/**
 * Persisted record schemas of the payment stores: invoices and outgoing payments as stored
 * by the backends that keep records as bytes (the KV backends), and the route of an attempt
 * (a nested list the SQL backends keep as one byte column).
 *
 * Same rules as chanstate/records.ts: BOLT 1 parity (even = required, odd = optional),
 * never renumber or reuse a type, add optional (odd) fields or bump the record version with
 * a migration. The schema fingerprint (schema.lock.json) lists every table below.
 */
import { enumCodec, utf8 } from '../chanstate/records.js';
import { field, RecordSchema } from '../codec/record.js';
import type { HtlcRef, Invoice, InvoiceState, Payment, PaymentAttempt, PaymentStatus, RouteHop } from './types.js';

const hex32 = field.hex(32);
const hex33 = field.hex(33);

/** Stored invoice states, by code (the array index): never reorder, only append. */
export const INVOICE_STATES: readonly InvoiceState[] = ['open', 'accepted', 'settled', 'canceled'];
/** Stored payment and attempt statuses, by code (the array index): never reorder, only append. */
export const PAYMENT_STATUSES: readonly PaymentStatus[] = ['in_flight', 'succeeded', 'failed'];

const invoiceStateCodec = enumCodec<InvoiceState>('InvoiceState', INVOICE_STATES);
const paymentStatusCodec = enumCodec<PaymentStatus>('PaymentStatus', PAYMENT_STATUSES);

/** The HTLC that settled an invoice. */
export const htlcRefRecord = new RecordSchema<HtlcRef>('HtlcRef', [
  { type: 0, name: 'channelId', codec: hex32 },
  { type: 2, name: 'htlcId', codec: field.tu53 },
]);

/** A stored invoice (KV value of `invoices -> <paymentHash>`). */
export const invoiceRecord = new RecordSchema<Invoice>('Invoice', [
  { type: 0, name: 'paymentHash', codec: hex32 },
  { type: 2, name: 'preimage', codec: field.bytes },
  { type: 3, name: 'paymentSecret', codec: hex32 },
  { type: 4, name: 'createdAtMs', codec: field.tu53 },
  { type: 5, name: 'amountMsat', codec: field.amount },
  { type: 6, name: 'expiresAtMs', codec: field.tu53 },
  { type: 7, name: 'description', codec: utf8 },
  { type: 8, name: 'minFinalCltvExpiryDelta', codec: field.tu53 },
  { type: 9, name: 'descriptionHash', codec: hex32 },
  { type: 10, name: 'encoded', codec: utf8 },
  { type: 12, name: 'keysend', codec: field.bool },
  { type: 14, name: 'state', codec: invoiceStateCodec },
  { type: 16, name: 'addIndex', codec: field.tu53 },
  { type: 18, name: 'settleIndex', codec: field.tu53 },
  { type: 20, name: 'settledAtMs', codec: field.tu53 },
  { type: 22, name: 'amountPaidMsat', codec: field.amount },
  { type: 23, name: 'settledBy', codec: field.record(htlcRefRecord) },
]);

/** One hop of an attempt's route. */
export const routeHopRecord = new RecordSchema<RouteHop>('RouteHop', [
  { type: 0, name: 'pubkey', codec: hex33 },
  { type: 2, name: 'shortChannelId', codec: field.u64 },
  { type: 4, name: 'amountMsat', codec: field.amount },
  { type: 6, name: 'cltvExpiry', codec: field.u32 },
]);

/** A whole route as one value (the SQL `payment_attempts.route` column). */
export const routeRecord = new RecordSchema<{ hops: readonly RouteHop[] }>('Route', [{ type: 0, name: 'hops', codec: field.list(field.record(routeHopRecord)) }]);

/** One attempt of a payment (nested in the Payment record). */
export const paymentAttemptRecord = new RecordSchema<PaymentAttempt>('PaymentAttempt', [
  { type: 0, name: 'attemptId', codec: field.tu53 },
  { type: 2, name: 'channelId', codec: hex32 },
  { type: 4, name: 'htlcId', codec: field.tu53 },
  { type: 6, name: 'amountMsat', codec: field.amount },
  { type: 8, name: 'route', codec: field.list(field.record(routeHopRecord)) },
  { type: 10, name: 'sessionKey', codec: field.bytes },
  { type: 12, name: 'startedAtMs', codec: field.tu53 },
  { type: 14, name: 'status', codec: paymentStatusCodec },
  { type: 16, name: 'resolvedAtMs', codec: field.tu53 },
  { type: 17, name: 'failure', codec: utf8 },
]);

/** A stored outgoing payment with its attempts (KV value of `payments -> <paymentHash>`). */
export const paymentRecord = new RecordSchema<Payment>('Payment', [
  { type: 0, name: 'paymentHash', codec: hex32 },
  { type: 2, name: 'amountMsat', codec: field.amount },
  { type: 4, name: 'destination', codec: hex33 },
  { type: 6, name: 'invoice', codec: utf8 },
  { type: 8, name: 'keysend', codec: field.bool },
  { type: 10, name: 'createdAtMs', codec: field.tu53 },
  { type: 12, name: 'paymentIndex', codec: field.tu53 },
  { type: 14, name: 'status', codec: paymentStatusCodec },
  { type: 16, name: 'attempts', codec: field.list(field.record(paymentAttemptRecord)) },
  { type: 17, name: 'preimage', codec: field.bytes },
  { type: 18, name: 'feeMsat', codec: field.amount },
  { type: 19, name: 'failureReason', codec: utf8 },
  { type: 20, name: 'resolvedAtMs', codec: field.tu53 },
]);

/** Every persisted payment record schema (for the schema fingerprint). */
export const PAYMENT_RECORDS: readonly RecordSchema<never>[] = [
  htlcRefRecord,
  invoiceRecord,
  routeHopRecord,
  routeRecord,
  paymentAttemptRecord,
  paymentRecord,
] as unknown as readonly RecordSchema<never>[];
