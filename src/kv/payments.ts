/**
 * The KV implementation of PaymentStore.
 *
 * Layout (keys.ts): `payments -> <paymentHash 32> -> Payment record` holding the payment and
 * all its attempts (payments/records.ts), with two indexes written in the same transaction:
 * `payment-index -> <paymentIndex u64> -> <paymentHash>` (list order; the next index is the
 * last key + 1) and `payments-in-flight -> <paymentIndex u64> -> <paymentHash>`, present iff
 * the payment is in flight, so hydrating at start reads only in-flight payments. Storage
 * only: arguments are validated at the public edge (payments/checked-store.ts), transitions
 * are payments/rules.ts's.
 */
import { hexToBytes } from '../codec/bytes.js';
import type { Hex } from '../chanstate/types.js';
import { paymentRecord } from '../payments/records.js';
import { failedAttempt, failedPayment, initiatedPayment, paymentNotFound, settledAttempt, withAttempt } from '../payments/rules.js';
import type { PaymentStore } from '../payments/store.js';
import type { ListQuery, NewPayment, Payment, PaymentAttempt } from '../payments/types.js';
import { checksummedEngine } from './checksummed-engine.js';
import type { KvEngine, KvReadTx, KvWriteTx } from './engine.js';
import { lastIndex } from './invoices.js';
import { byteKey, key, PAYMENT_INDEX, PAYMENTS, PAYMENTS_IN_FLIGHT, prefixRange, u64Key } from './keys.js';

/** The payment of `paymentHash`, or undefined. */
export function readPayment(tx: KvReadTx, paymentHash: Hex): Payment | undefined {
  const bytes = tx.get(key(PAYMENTS, hexToBytes(paymentHash)));
  return bytes === undefined ? undefined : paymentRecord.decode(bytes);
}

/** Writes `payment` and its index entries (the in-flight one iff it is in flight). For stores and bulk imports. */
export function writePayment(tx: KvWriteTx, payment: Payment): void {
  const hash = hexToBytes(payment.paymentHash);
  tx.put(key(PAYMENTS, hash), paymentRecord.encode(payment));
  tx.put(key(PAYMENT_INDEX, u64Key(payment.paymentIndex)), hash);
  const flight = key(PAYMENTS_IN_FLIGHT, u64Key(payment.paymentIndex));
  if (payment.status === 'in_flight') tx.put(flight, hash);
  else tx.delete(flight);
}

function mustRead(tx: KvReadTx, paymentHash: Hex): Payment {
  const payment = readPayment(tx, paymentHash);
  if (payment === undefined) throw paymentNotFound(paymentHash);
  return payment;
}

/** The payments an index bucket lists, in index order, from `afterIndex` + 1, at most `limit`. */
function listed(tx: KvReadTx, bucket: number, afterIndex: number, limit: number | undefined): Payment[] {
  const { end } = prefixRange(byteKey(bucket));
  const out: Payment[] = [];
  for (const [, hash] of tx.range({ start: key(bucket, u64Key(afterIndex + 1)), end, ...(limit === undefined ? {} : { limit }) })) {
    const bytes = tx.get(key(PAYMENTS, hash));
    if (bytes !== undefined) out.push(paymentRecord.decode(bytes));
  }
  return out;
}

/** Outgoing payments over a KvEngine. Arguments must already be validated (openChannelDb wraps it). */
export class KvPaymentStore implements PaymentStore {
  private readonly engine: KvEngine;

  /** `engine` is the bare engine; values are read and written through its checksummed view. */
  constructor(engine: KvEngine) {
    this.engine = checksummedEngine(engine);
  }

  /** Reads the payment, applies `rule`, and writes the result unless the rule returned the stored record. */
  private change(paymentHash: Hex, rule: (stored: Payment) => Payment): Promise<Payment> {
    return this.engine.update((tx) => {
      const stored = mustRead(tx, paymentHash);
      const next = rule(stored);
      if (next !== stored) writePayment(tx, next);
      return next;
    });
  }

  initPayment(payment: NewPayment): Promise<Payment> {
    return this.engine.update((tx) => {
      const next = initiatedPayment(readPayment(tx, payment.paymentHash), payment, lastIndex(tx, PAYMENT_INDEX) + 1);
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
    return this.engine.read((tx) => mustRead(tx, paymentHash));
  }

  listPayments(query: ListQuery): Promise<Payment[]> {
    return this.engine.read((tx) => listed(tx, PAYMENT_INDEX, query.afterIndex ?? 0, query.limit));
  }

  fetchInFlightPayments(): Promise<Payment[]> {
    return this.engine.read((tx) => listed(tx, PAYMENTS_IN_FLIGHT, 0, undefined));
  }
}
