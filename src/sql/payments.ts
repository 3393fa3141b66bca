/**
 * The SQL implementation of PaymentStore (SQLite and PostgreSQL).
 *
 * Layout (schema.ts): one row of `payments` per payment, keyed by payment hash, and one row
 * of `payment_attempts` per attempt (payment_hash, attempt_id); an attempt's route is one
 * byte column (payments/records.ts Route). `payment_index` is unique (list order, allocated
 * as its maximum + 1) and a partial index covers the in-flight payments, so the start-up
 * hydrate reads only those. Writes run `exclusive` (transactions.ts), like the invoice
 * store's. Storage only: arguments are validated at the public edge
 * (payments/checked-store.ts), transitions are payments/rules.ts's.
 */
import { sql, type Selectable } from 'kysely';
import type { Hex } from '../chanstate/types.js';
import { PAYMENT_STATUSES, routeRecord } from '../payments/records.js';
import { failedAttempt, failedPayment, initiatedPayment, paymentNotFound, settledAttempt, withAttempt } from '../payments/rules.js';
import type { PaymentStore } from '../payments/store.js';
import type { ListQuery, NewPayment, Payment, PaymentAttempt, PaymentStatus } from '../payments/types.js';
import { amountCol, big, boolOf, bytesOf, enumOf, flag, hexCol, hexOf, num, plain } from './columns.js';
import type { PaymentAttemptsTable, PaymentsTable } from './schema.js';
import type { SqlBackend, SqlTx } from './transactions.js';

const STATUS_CODES = PAYMENT_STATUSES.map((_, i) => i);
const IN_FLIGHT = PAYMENT_STATUSES.indexOf('in_flight');

function statusCode(status: PaymentStatus): number {
  return PAYMENT_STATUSES.indexOf(status);
}

function statusOf(value: bigint | number, column: string): PaymentStatus {
  return PAYMENT_STATUSES[enumOf(value, STATUS_CODES, column)]!;
}

function attemptOfRow(row: Selectable<PaymentAttemptsTable>): PaymentAttempt {
  return {
    attemptId: num(row.attempt_id),
    channelId: hexOf(row.channel_id, 32, 'payment_attempts.channel_id'),
    htlcId: num(row.htlc_id),
    amountMsat: big(row.amount_msat),
    route: routeRecord.decode(plain(row.route)).hops,
    sessionKey: bytesOf(row.session_key, 32, 'payment_attempts.session_key').slice(),
    startedAtMs: num(row.started_at_ms),
    status: statusOf(row.status, 'payment_attempts.status'),
    resolvedAtMs: num(row.resolved_at_ms),
    ...(row.failure === null ? {} : { failure: row.failure }),
  };
}

function paymentOfRow(row: Selectable<PaymentsTable>, attempts: readonly PaymentAttempt[]): Payment {
  return {
    paymentHash: hexOf(row.payment_hash, 32, 'payments.payment_hash'),
    amountMsat: big(row.amount_msat),
    destination: hexOf(row.destination, 33, 'payments.destination'),
    invoice: row.invoice,
    keysend: boolOf(row.keysend, 'payments.keysend'),
    createdAtMs: num(row.created_at_ms),
    paymentIndex: num(row.payment_index),
    status: statusOf(row.status, 'payments.status'),
    attempts,
    ...(row.preimage === null ? {} : { preimage: bytesOf(row.preimage, 32, 'payments.preimage').slice() }),
    feeMsat: big(row.fee_msat),
    ...(row.failure_reason === null ? {} : { failureReason: row.failure_reason }),
    resolvedAtMs: num(row.resolved_at_ms),
  };
}

/** Payment rows with their attempts, in the rows' order (for the store and bulk exports). */
export async function withAttempts(tx: SqlTx, rows: readonly Selectable<PaymentsTable>[]): Promise<Payment[]> {
  if (rows.length === 0) return [];
  const attempts = await tx
    .selectFrom('payment_attempts')
    .selectAll()
    .where(
      'payment_hash',
      'in',
      rows.map((r) => r.payment_hash),
    )
    .orderBy('payment_hash')
    .orderBy('attempt_id')
    .execute();
  const byHash = new Map<string, PaymentAttempt[]>();
  for (const row of attempts) {
    const hash = hexOf(row.payment_hash, 32, 'payment_attempts.payment_hash');
    let list = byHash.get(hash);
    if (list === undefined) byHash.set(hash, (list = []));
    list.push(attemptOfRow(row));
  }
  return rows.map((row) => paymentOfRow(row, byHash.get(hexOf(row.payment_hash, 32, 'payments.payment_hash')) ?? []));
}

/** The payment of `paymentHash`, or undefined. */
export async function readPayment(tx: SqlTx, paymentHash: Hex): Promise<Payment | undefined> {
  const row = await tx.selectFrom('payments').selectAll().where('payment_hash', '=', hexCol(paymentHash, 32)).executeTakeFirst();
  return row === undefined ? undefined : (await withAttempts(tx, [row]))[0];
}

function paymentColumns(p: Payment) {
  return {
    payment_index: p.paymentIndex,
    amount_msat: amountCol(p.amountMsat, 'amountMsat'),
    destination: hexCol(p.destination, 33),
    invoice: p.invoice,
    keysend: flag(p.keysend),
    created_at_ms: p.createdAtMs,
    status: statusCode(p.status),
    preimage: p.preimage ?? null,
    fee_msat: amountCol(p.feeMsat, 'feeMsat'),
    failure_reason: p.failureReason ?? null,
    resolved_at_ms: p.resolvedAtMs,
  };
}

function outcomeColumns(a: PaymentAttempt) {
  return { status: statusCode(a.status), resolved_at_ms: a.resolvedAtMs, failure: a.failure ?? null };
}

async function insertAttempt(tx: SqlTx, paymentHash: Uint8Array, a: PaymentAttempt): Promise<void> {
  await tx
    .insertInto('payment_attempts')
    .values({
      payment_hash: paymentHash,
      attempt_id: a.attemptId,
      channel_id: hexCol(a.channelId, 32),
      htlc_id: a.htlcId,
      amount_msat: amountCol(a.amountMsat, 'attempt.amountMsat'),
      route: routeRecord.encode({ hops: a.route }),
      session_key: a.sessionKey,
      started_at_ms: a.startedAtMs,
      ...outcomeColumns(a),
    })
    .execute();
}

/**
 * Writes `next` over `stored` (undefined: a new payment): the payment row, new attempts
 * inserted, attempts whose outcome changed updated. For the store and bulk imports.
 */
export async function writePayment(tx: SqlTx, next: Payment, stored: Payment | undefined): Promise<void> {
  const hash = hexCol(next.paymentHash, 32);
  const columns = paymentColumns(next);
  if (stored === undefined) await tx.insertInto('payments').values({ payment_hash: hash, ...columns }).execute();
  else await tx.updateTable('payments').set(columns).where('payment_hash', '=', hash).execute();
  for (const attempt of next.attempts) {
    const before = stored?.attempts.find((a) => a.attemptId === attempt.attemptId);
    if (before === undefined) await insertAttempt(tx, hash, attempt);
    else if (before.status !== attempt.status || before.resolvedAtMs !== attempt.resolvedAtMs || before.failure !== attempt.failure) {
      await tx.updateTable('payment_attempts').set(outcomeColumns(attempt)).where('payment_hash', '=', hash).where('attempt_id', '=', attempt.attemptId).execute();
    }
  }
}

/** Outgoing payments over a SqlBackend. Holds no state: any number may share one backend. */
export class SqlPaymentStore implements PaymentStore {
  constructor(private readonly backend: SqlBackend) {}

  /** Reads the payment, applies `rule`, and writes the result unless the rule returned the stored record. */
  private change(paymentHash: Hex, rule: (stored: Payment) => Payment): Promise<Payment> {
    return this.backend.runTx('exclusive', async (tx) => {
      const stored = await readPayment(tx, paymentHash);
      if (stored === undefined) throw paymentNotFound(paymentHash);
      const next = rule(stored);
      if (next !== stored) await writePayment(tx, next, stored);
      return next;
    });
  }

  initPayment(payment: NewPayment): Promise<Payment> {
    return this.backend.runTx('exclusive', async (tx) => {
      const stored = await readPayment(tx, payment.paymentHash);
      const top = await tx.selectFrom('payments').select((eb) => eb.fn.max('payment_index').as('top')).executeTakeFirst();
      const nextIndex = (top?.top === null || top?.top === undefined ? 0 : num(top.top as bigint | number)) + 1;
      const next = initiatedPayment(stored, payment, nextIndex);
      await writePayment(tx, next, stored);
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
    return this.backend.runTx('read', async (tx) => {
      const payment = await readPayment(tx, paymentHash);
      if (payment === undefined) throw paymentNotFound(paymentHash);
      return payment;
    });
  }

  listPayments(query: ListQuery): Promise<Payment[]> {
    return this.backend.runTx('read', async (tx) =>
      withAttempts(tx, await tx.selectFrom('payments').selectAll().where('payment_index', '>', query.afterIndex ?? 0).orderBy('payment_index').limit(query.limit).execute()),
    );
  }

  fetchInFlightPayments(): Promise<Payment[]> {
    return this.backend.runTx('read', async (tx) =>
      // A literal, not a bound parameter: only then can SQLite's planner use the partial index.
      withAttempts(tx, await tx.selectFrom('payments').selectAll().where('status', '=', sql.lit(IN_FLIGHT)).orderBy('payment_index').execute()),
    );
  }
}
