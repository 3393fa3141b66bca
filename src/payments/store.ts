/**
 * The payment contracts: an invoice store (incoming) and a payment store (outgoing).
 *
 * Same rules as the channel store (DESIGN.md "The storage contracts"): every mutation is one
 * durable transaction; a method fails with a typed ChandError for a condition a caller must
 * handle and with TypeError/RangeError for misuse; every backend passes the suites in
 * src/testing/invoices.suite.ts and src/testing/payments.suite.ts.
 */
import type { Hex } from '../chanstate/types.js';
import type { HtlcRef, Invoice, ListQuery, NewInvoice, NewPayment, Payment, PaymentAttempt } from './types.js';

export interface InvoiceStore {
  /**
   * Stores a new open invoice. INVOICE_EXISTS if its payment hash is already stored;
   * PREIMAGE_MISMATCH if the preimage's SHA256 is not the payment hash (it could never settle).
   */
  addInvoice(invoice: NewInvoice): Promise<Invoice>;
  /** INVOICE_NOT_FOUND if absent. */
  fetchInvoice(paymentHash: Hex): Promise<Invoice>;
  /** In add order (addIndex above `afterIndex`, at most `limit`). `state` filters: the page then holds up to `limit` invoices in that state. */
  listInvoices(query: ListQuery & { readonly state?: Invoice['state'] }): Promise<Invoice[]>;
  /**
   * open → accepted (an HTLC paying it is locked in and held). Idempotent on accepted.
   * INVOICE_NOT_OPEN when settled or canceled.
   */
  acceptInvoice(paymentHash: Hex): Promise<Invoice>;
  /**
   * open|accepted → settled by HTLC `by`, with the next settle index, in one transaction.
   * Settling a settled invoice with the same `by` returns it unchanged (idempotent: a
   * restarted node re-settles the same HTLC); with another HTLC, INVOICE_NOT_OPEN (an
   * invoice is paid once). INVOICE_NOT_OPEN when canceled.
   */
  settleInvoice(paymentHash: Hex, amountPaidMsat: bigint, nowMs: number, by: HtlcRef): Promise<Invoice>;
  /** open|accepted → canceled; idempotent on canceled. INVOICE_ALREADY_SETTLED when settled. */
  cancelInvoice(paymentHash: Hex): Promise<Invoice>;
}

export interface PaymentStore {
  /**
   * Stores a new in-flight payment with no attempt. A failed payment with this hash is
   * replaced (a retry starts over, keeping its payment index and its attempts).
   * PAYMENT_IN_FLIGHT if one is in flight, PAYMENT_ALREADY_SUCCEEDED if it succeeded (never
   * pay twice).
   */
  initPayment(payment: NewPayment): Promise<Payment>;
  /**
   * Adds an in-flight attempt; must be durable before its HTLC is signed for. PAYMENT_NOT_FOUND,
   * PAYMENT_NOT_IN_FLIGHT; RangeError if the attempt id is not the next one. Registering an
   * attempt already stored with the same contents returns the payment unchanged (a repeat
   * after a restart), whatever happened to the attempt since.
   */
  registerAttempt(paymentHash: Hex, attempt: PaymentAttempt): Promise<Payment>;
  /**
   * The attempt succeeded: the payment becomes succeeded with `preimage` (its SHA256 must be
   * the payment hash: PREIMAGE_MISMATCH). Idempotent for the same attempt.
   * PAYMENT_ATTEMPT_RESOLVED if the attempt had failed; RangeError for an unknown attempt id.
   * `feeMsat` is the attempt's amount above the payment's (0n if it is not above).
   */
  settleAttempt(paymentHash: Hex, attemptId: number, preimage: Uint8Array, nowMs: number): Promise<Payment>;
  /**
   * The attempt failed; the payment stays in flight (the caller retries or calls failPayment).
   * Idempotent (a repeat keeps the first failure). PAYMENT_ATTEMPT_RESOLVED if the attempt had
   * succeeded; RangeError for an unknown attempt id.
   */
  failAttempt(paymentHash: Hex, attemptId: number, failure: string, nowMs: number): Promise<Payment>;
  /**
   * No further attempt will be made: the payment becomes failed. PAYMENT_ATTEMPT_IN_FLIGHT if
   * an attempt is still in flight (its HTLC may still settle). Idempotent on failed.
   * PAYMENT_ALREADY_SUCCEEDED if it succeeded.
   */
  failPayment(paymentHash: Hex, reason: string, nowMs: number): Promise<Payment>;
  /** PAYMENT_NOT_FOUND if absent. */
  fetchPayment(paymentHash: Hex): Promise<Payment>;
  /** In payment-index order. */
  listPayments(query: ListQuery): Promise<Payment[]>;
  /** Every payment still in flight (hydrated at start), in payment-index order; read from an index, not a scan. */
  fetchInFlightPayments(): Promise<Payment[]>;
}

/** Both payment contracts. */
export interface PaymentStores {
  readonly invoices: InvoiceStore;
  readonly payments: PaymentStore;
}
