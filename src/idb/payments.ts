/**
 * The IndexedDB implementation of PaymentStore.
 *
 * Layout (stores.ts): `payments -> <paymentHash hex> -> Payment record` with all its attempts
 * (payments/records.ts), with `payment-index -> <paymentIndex> -> <paymentHash>` (list
 * order; the next index is the last key + 1) and `payments-in-flight -> <paymentIndex> ->
 * <paymentHash>`, present iff the payment is in flight, written in the same transaction as
 * the record. Storage only: arguments are validated at the public edge
 * (payments/checked-store.ts), transitions are payments/rules.ts's.
 */
import type { Hex } from '../chanstate/types.js';
import { paymentRecord } from '../payments/records.js';
import { failedAttempt, failedPayment, initiatedPayment, paymentNotFound, settledAttempt, withAttempt } from '../payments/rules.js';
import type { PaymentStore } from '../payments/store.js';
import type { ListQuery, NewPayment, Payment, PaymentAttempt } from '../payments/types.js';
import { lastIndex } from './invoices.js';
import { PAYMENT_INDEX, PAYMENT_STORES, PAYMENTS, PAYMENTS_IN_FLIGHT } from './stores.js';
import type { IdbConnection, IdbTx } from './transactions.js';

/** The payment of `paymentHash`, or undefined. */
export async function readPayment(tx: IdbTx, paymentHash: Hex): Promise<Payment | undefined> {
  const bytes = await tx.get<Uint8Array>(PAYMENTS, paymentHash);
  return bytes === undefined ? undefined : paymentRecord.decode(bytes);
}

/** Writes `payment` and its index entries (the in-flight one iff it is in flight). */
export function writePayment(tx: IdbTx, payment: Payment): void {
  tx.put(PAYMENTS, payment.paymentHash, paymentRecord.encode(payment));
  tx.put(PAYMENT_INDEX, payment.paymentIndex, payment.paymentHash);
  if (payment.status === 'in_flight') tx.put(PAYMENTS_IN_FLIGHT, payment.paymentIndex, payment.paymentHash);
  else tx.delete(PAYMENTS_IN_FLIGHT, payment.paymentIndex);
}

async function listed(tx: IdbTx, store: string, afterIndex: number, limit: number | undefined): Promise<Payment[]> {
  if (afterIndex >= Number.MAX_SAFE_INTEGER) return [];
  const hashes = await tx.getAll<string>(store, tx.ranges.bound(afterIndex, Number.MAX_SAFE_INTEGER, true), limit);
  const payments = await Promise.all(hashes.map((hash) => readPayment(tx, hash)));
  return payments.filter((p): p is Payment => p !== undefined);
}

/** Outgoing payments over an IdbConnection; each method is one transaction. Arguments must already be validated. */
export class IdbPaymentStore implements PaymentStore {
  constructor(private readonly conn: IdbConnection) {}

  private change(paymentHash: Hex, rule: (stored: Payment) => Payment): Promise<Payment> {
    return this.conn.run(PAYMENT_STORES, 'readwrite', async (tx) => {
      const stored = await readPayment(tx, paymentHash);
      if (stored === undefined) throw paymentNotFound(paymentHash);
      const next = rule(stored);
      if (next !== stored) writePayment(tx, next);
      return next;
    });
  }

  initPayment(payment: NewPayment): Promise<Payment> {
    return this.conn.run(PAYMENT_STORES, 'readwrite', async (tx) => {
      const stored = await readPayment(tx, payment.paymentHash);
      const next = initiatedPayment(stored, payment, (await lastIndex(tx, PAYMENT_INDEX)) + 1);
      writePayment(tx, next);
      return next;
    });
  }

  registerAttempt(paymentHash: Hex, attempt: PaymentAttempt): Promise<Payment> {
    return this.change(paymentHash, (stored) => withAttempt(stored, attempt));
  }

  settleAttempt(paymentHash: Hex, attemptId: number, preimage: Uint8Array, nowMs: number): Promise<Payment> {
    return this.change(paymentHash, (stored) => settledAttempt(stored, attemptId, preimage, nowMs));
  }

  failAttempt(paymentHash: Hex, attemptId: number, failure: string, nowMs: number): Promise<Payment> {
    return this.change(paymentHash, (stored) => failedAttempt(stored, attemptId, failure, nowMs));
  }

  failPayment(paymentHash: Hex, reason: string, nowMs: number): Promise<Payment> {
    return this.change(paymentHash, (stored) => failedPayment(stored, reason, nowMs));
  }

  fetchPayment(paymentHash: Hex): Promise<Payment> {
    return this.conn.run(PAYMENT_STORES, 'readonly', async (tx) => {
      const payment = await readPayment(tx, paymentHash);
      if (payment === undefined) throw paymentNotFound(paymentHash);
      return payment;
    });
  }

  listPayments(query: ListQuery): Promise<Payment[]> {
    return this.conn.run(PAYMENT_STORES, 'readonly', (tx) => listed(tx, PAYMENT_INDEX, query.afterIndex ?? 0, query.limit));
  }

  fetchInFlightPayments(): Promise<Payment[]> {
    return this.conn.run(PAYMENT_STORES, 'readonly', (tx) => listed(tx, PAYMENTS_IN_FLIGHT, 0, undefined));
  }
}
