/**
 * The public edge of the payment stores: validates every argument once and hands the call
 * to a backend, which implements storage and nothing else (as chanstate/checked-store.ts).
 *
 * openChannelDb and openBrowserChannelDb wrap every backend in these, so all backends accept
 * and refuse exactly the same inputs, with the same TypeError/RangeError ("expected X, got
 * Y", naming the field), before any transaction starts. Rules that need stored state
 * (rules.ts) run inside the backends' transactions.
 */
import * as v from '../chanstate/validate.js';
import { checked, object, show } from '../chanstate/validate.js';
import type { Hex } from '../chanstate/types.js';
import { INVOICE_STATES } from './records.js';
import type { InvoiceStore, PaymentStore } from './store.js';
import type { HtlcRef, Invoice, ListQuery, NewInvoice, NewPayment, Payment, PaymentAttempt, RouteHop } from './types.js';

/** The most records one list call returns. */
export const MAX_LIST_LIMIT = 10_000;

/** A string without U+0000 (which PostgreSQL text cannot hold, so no backend takes it). */
function string(value: unknown, what: string): void {
  if (typeof value !== 'string') throw new TypeError(`expected ${what} to be a string, got ${show(value)}`);
  if (value.includes('\u0000')) throw new RangeError(`expected ${what} to be a string without U+0000, got one with it`);
}

function optional<T>(value: T | undefined, check: (v: T) => void): void {
  if (value !== undefined) check(value);
}

/** A list page: limit 1..MAX_LIST_LIMIT, afterIndex a safe non-negative integer. */
export function listQuery(q: ListQuery, what = 'query'): void {
  object(q, what);
  if (typeof q.limit !== 'number' || !Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > MAX_LIST_LIMIT) {
    throw new RangeError(`expected ${what}.limit to be an integer in 1..${MAX_LIST_LIMIT}, got ${show(q.limit)}`);
  }
  optional(q.afterIndex, (i) => v.uint(i, 53, `${what}.afterIndex`));
}

/** A new invoice: 32-byte hash and preimage, optional secret/amount/description fields. */
export function newInvoice(i: NewInvoice, what = 'invoice'): void {
  object(i, what);
  v.hex(i.paymentHash, 32, `${what}.paymentHash`);
  v.bytes(i.preimage, `${what}.preimage`, 32, 32);
  optional(i.paymentSecret, (s) => v.hex(s, 32, `${what}.paymentSecret`));
  optional(i.amountMsat, (a) => v.amount(a, `${what}.amountMsat`));
  optional(i.description, (d) => string(d, `${what}.description`));
  optional(i.descriptionHash, (h) => v.hex(h, 32, `${what}.descriptionHash`));
  v.timeMs(i.createdAtMs, `${what}.createdAtMs`);
  v.timeMs(i.expiresAtMs, `${what}.expiresAtMs`);
  v.uint(i.minFinalCltvExpiryDelta, 32, `${what}.minFinalCltvExpiryDelta`);
  string(i.encoded, `${what}.encoded`);
  v.bool(i.keysend, `${what}.keysend`);
}

/** An incoming HTLC reference: 32-byte channel id and an HTLC id. */
export function htlcRef(r: HtlcRef, what = 'by'): void {
  object(r, what);
  v.hex(r.channelId, 32, `${what}.channelId`);
  v.uint(r.htlcId, 53, `${what}.htlcId`);
}

/** One hop of a route. */
export function routeHop(h: RouteHop, what: string): void {
  object(h, what);
  v.hex(h.pubkey, 33, `${what}.pubkey`);
  v.u64(h.shortChannelId, `${what}.shortChannelId`);
  v.amount(h.amountMsat, `${what}.amountMsat`);
  v.uint(h.cltvExpiry, 32, `${what}.cltvExpiry`);
}

/** A new attempt as registerAttempt takes it: in flight, unresolved, a non-empty route. */
export function newAttempt(a: PaymentAttempt, what = 'attempt'): void {
  object(a, what);
  if (typeof a.attemptId !== 'number' || !Number.isSafeInteger(a.attemptId) || a.attemptId < 1) {
    throw new RangeError(`expected ${what}.attemptId to be a positive integer, got ${show(a.attemptId)}`);
  }
  v.hex(a.channelId, 32, `${what}.channelId`);
  v.uint(a.htlcId, 53, `${what}.htlcId`);
  v.amount(a.amountMsat, `${what}.amountMsat`);
  if (!Array.isArray(a.route)) throw new TypeError(`expected ${what}.route to be an array, got ${show(a.route)}`);
  if (a.route.length === 0) throw new RangeError(`expected ${what}.route to have at least one hop, got none`);
  a.route.forEach((h, i) => routeHop(h, `${what}.route[${i}]`));
  v.bytes(a.sessionKey, `${what}.sessionKey`, 32, 32);
  v.timeMs(a.startedAtMs, `${what}.startedAtMs`);
  if (a.status !== 'in_flight') throw new RangeError(`expected ${what}.status to be "in_flight" (a new attempt), got ${show(a.status)}`);
  if (a.resolvedAtMs !== 0) throw new RangeError(`expected ${what}.resolvedAtMs to be 0 (a new attempt), got ${show(a.resolvedAtMs)}`);
  if (a.failure !== undefined) throw new TypeError(`expected ${what}.failure to be absent (a new attempt), got ${show(a.failure)}`);
}

/** A new payment. */
export function newPayment(p: NewPayment, what = 'payment'): void {
  object(p, what);
  v.hex(p.paymentHash, 32, `${what}.paymentHash`);
  v.amount(p.amountMsat, `${what}.amountMsat`);
  v.hex(p.destination, 33, `${what}.destination`);
  string(p.invoice, `${what}.invoice`);
  v.bool(p.keysend, `${what}.keysend`);
  v.timeMs(p.createdAtMs, `${what}.createdAtMs`);
}

function attemptId(id: number): void {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new RangeError(`expected attemptId to be a positive integer, got ${show(id)}`);
}

/** An InvoiceStore that validates arguments, then delegates to `backend`. */
export class CheckedInvoiceStore implements InvoiceStore {
  constructor(private readonly backend: InvoiceStore) {}

  addInvoice(invoice: NewInvoice): Promise<Invoice> {
    return checked(() => newInvoice(invoice), () => this.backend.addInvoice(invoice));
  }
  fetchInvoice(paymentHash: Hex): Promise<Invoice> {
    return checked(() => v.hex(paymentHash, 32, 'paymentHash'), () => this.backend.fetchInvoice(paymentHash));
  }
  listInvoices(query: ListQuery & { readonly state?: Invoice['state'] }): Promise<Invoice[]> {
    return checked(
      () => {
        listQuery(query);
        if (query.state !== undefined && !INVOICE_STATES.includes(query.state)) {
          throw new RangeError(`expected query.state to be one of ${INVOICE_STATES.join('|')}, got ${show(query.state)}`);
        }
      },
      () => this.backend.listInvoices(query),
    );
  }
  acceptInvoice(paymentHash: Hex): Promise<Invoice> {
    return checked(() => v.hex(paymentHash, 32, 'paymentHash'), () => this.backend.acceptInvoice(paymentHash));
  }
  settleInvoice(paymentHash: Hex, amountPaidMsat: bigint, nowMs: number, by: HtlcRef): Promise<Invoice> {
    return checked(
      () => (v.hex(paymentHash, 32, 'paymentHash'), v.amount(amountPaidMsat, 'amountPaidMsat'), v.timeMs(nowMs, 'nowMs'), htlcRef(by)),
      () => this.backend.settleInvoice(paymentHash, amountPaidMsat, nowMs, by),
    );
  }
  cancelInvoice(paymentHash: Hex): Promise<Invoice> {
    return checked(() => v.hex(paymentHash, 32, 'paymentHash'), () => this.backend.cancelInvoice(paymentHash));
  }
}

/** A PaymentStore that validates arguments, then delegates to `backend`. */
export class CheckedPaymentStore implements PaymentStore {
  constructor(private readonly backend: PaymentStore) {}

  initPayment(payment: NewPayment): Promise<Payment> {
    return checked(() => newPayment(payment), () => this.backend.initPayment(payment));
  }
  registerAttempt(paymentHash: Hex, attempt: PaymentAttempt): Promise<Payment> {
    return checked(() => (v.hex(paymentHash, 32, 'paymentHash'), newAttempt(attempt)), () => this.backend.registerAttempt(paymentHash, attempt));
  }
  settleAttempt(paymentHash: Hex, id: number, preimage: Uint8Array, nowMs: number): Promise<Payment> {
    return checked(
      () => (v.hex(paymentHash, 32, 'paymentHash'), attemptId(id), v.bytes(preimage, 'preimage', 32, 32), v.timeMs(nowMs, 'nowMs')),
      () => this.backend.settleAttempt(paymentHash, id, preimage, nowMs),
    );
  }
  failAttempt(paymentHash: Hex, id: number, failure: string, nowMs: number): Promise<Payment> {
    return checked(
      () => (v.hex(paymentHash, 32, 'paymentHash'), attemptId(id), string(failure, 'failure'), v.timeMs(nowMs, 'nowMs')),
      () => this.backend.failAttempt(paymentHash, id, failure, nowMs),
    );
  }
  failPayment(paymentHash: Hex, reason: string, nowMs: number): Promise<Payment> {
    return checked(
      () => (v.hex(paymentHash, 32, 'paymentHash'), string(reason, 'reason'), v.timeMs(nowMs, 'nowMs')),
      () => this.backend.failPayment(paymentHash, reason, nowMs),
    );
  }
  fetchPayment(paymentHash: Hex): Promise<Payment> {
    return checked(() => v.hex(paymentHash, 32, 'paymentHash'), () => this.backend.fetchPayment(paymentHash));
  }
  listPayments(query: ListQuery): Promise<Payment[]> {
    return checked(() => listQuery(query), () => this.backend.listPayments(query));
  }
  fetchInFlightPayments(): Promise<Payment[]> {
    return this.backend.fetchInFlightPayments();
  }
}
