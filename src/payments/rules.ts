/**
 * The domain rules of the payment contracts (store.ts), written once for every backend.
 *
 * A backend reads the record a rule needs inside its transaction, calls the rule, and
 * writes what it returns — or nothing, when the rule returns the stored record itself (an
 * idempotent repeat: `result === stored`). Rules are pure and synchronous (no I/O, no
 * clock, no randomness), so the KV backends call them inside their synchronous transaction
 * closures and the SQL backends inside async ones, and a retried transaction gets the same
 * answer. Errors are the contracts' ChandErrors; argument validation happened at the public
 * edge (checked-store.ts) before a backend saw the call.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, equalBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { Hex } from '../chanstate/types.js';
import type { HtlcRef, Invoice, NewInvoice, NewPayment, Payment, PaymentAttempt } from './types.js';

// --- invoices --------------------------------------------------------------------------------

/** INVOICE_NOT_FOUND for `paymentHash`. */
export function invoiceNotFound(paymentHash: Hex): ChandError {
  return new ChandError(ErrorCode.INVOICE_NOT_FOUND, `no invoice has payment hash ${paymentHash}`);
}

/** INVOICE_EXISTS for `paymentHash`. */
export function invoiceExists(paymentHash: Hex): ChandError {
  return new ChandError(ErrorCode.INVOICE_EXISTS, `an invoice with payment hash ${paymentHash} is already stored`);
}

/**
 * The stored form of a new invoice with add index `addIndex`: open, unsettled. Copies the
 * preimage, so the caller's array is never shared with the store. PREIMAGE_MISMATCH if the
 * preimage's SHA256 is not the payment hash.
 */
export function newInvoice(invoice: NewInvoice, addIndex: number): Invoice {
  // An invoice whose preimage does not open its hash could never be settled: refuse it
  // before anything is stored rather than fail the HTLC that pays it.
  if (bytesToHex(sha256(invoice.preimage)) !== invoice.paymentHash) {
    throw new ChandError(ErrorCode.PREIMAGE_MISMATCH, `the preimage of invoice ${invoice.paymentHash} does not hash to its payment hash`);
  }
  return {
    ...invoice,
    preimage: invoice.preimage.slice(),
    state: 'open',
    addIndex,
    settleIndex: 0,
    settledAtMs: 0,
    amountPaidMsat: 0n,
  };
}

/** open → accepted; the stored invoice itself when already accepted. INVOICE_NOT_OPEN when settled or canceled. */
export function acceptedInvoice(stored: Invoice): Invoice {
  if (stored.state === 'accepted') return stored;
  if (stored.state !== 'open') throw new ChandError(ErrorCode.INVOICE_NOT_OPEN, `invoice ${stored.paymentHash} is ${stored.state}; it cannot be accepted`);
  return { ...stored, state: 'accepted' };
}

function sameHtlc(a: HtlcRef | undefined, b: HtlcRef): boolean {
  return a !== undefined && a.channelId === b.channelId && a.htlcId === b.htlcId;
}

/**
 * open|accepted → settled by `by` with settle index `nextSettleIndex`. The stored invoice
 * itself when it is already settled by the same HTLC (a restarted node re-settles it; the
 * settle index is not consumed again). INVOICE_NOT_OPEN when settled by another HTLC or canceled.
 */
export function settledInvoice(stored: Invoice, amountPaidMsat: bigint, nowMs: number, by: HtlcRef, nextSettleIndex: number): Invoice {
  if (stored.state === 'settled') {
    if (sameHtlc(stored.settledBy, by)) return stored;
    throw new ChandError(ErrorCode.INVOICE_NOT_OPEN, `invoice ${stored.paymentHash} is already settled by another HTLC; an invoice is paid once`);
  }
  if (stored.state === 'canceled') throw new ChandError(ErrorCode.INVOICE_NOT_OPEN, `invoice ${stored.paymentHash} is canceled; it cannot be settled`);
  return { ...stored, state: 'settled', settleIndex: nextSettleIndex, settledAtMs: nowMs, amountPaidMsat, settledBy: { channelId: by.channelId, htlcId: by.htlcId } };
}

/** Whether settling `stored` (as settledInvoice would) consumes a settle index. */
export function settleConsumesIndex(stored: Invoice): boolean {
  return stored.state === 'open' || stored.state === 'accepted';
}

/** open|accepted → canceled; the stored invoice itself when already canceled. INVOICE_ALREADY_SETTLED when settled. */
export function canceledInvoice(stored: Invoice): Invoice {
  if (stored.state === 'canceled') return stored;
  if (stored.state === 'settled') throw new ChandError(ErrorCode.INVOICE_ALREADY_SETTLED, `invoice ${stored.paymentHash} was paid; it cannot be canceled`);
  return { ...stored, state: 'canceled' };
}

// --- payments --------------------------------------------------------------------------------

/** PAYMENT_NOT_FOUND for `paymentHash`. */
export function paymentNotFound(paymentHash: Hex): ChandError {
  return new ChandError(ErrorCode.PAYMENT_NOT_FOUND, `no outgoing payment has payment hash ${paymentHash}`);
}

/**
 * What initPayment stores: a new in-flight payment with index `nextIndex`, or — when a
 * failed payment with this hash is stored — the retry, which keeps that payment's index and
 * attempts and starts over as in flight. PAYMENT_IN_FLIGHT / PAYMENT_ALREADY_SUCCEEDED
 * otherwise: a hash is never paid twice.
 */
export function initiatedPayment(stored: Payment | undefined, payment: NewPayment, nextIndex: number): Payment {
  const base = {
    paymentHash: payment.paymentHash,
    amountMsat: payment.amountMsat,
    destination: payment.destination,
    invoice: payment.invoice,
    keysend: payment.keysend,
    createdAtMs: payment.createdAtMs,
    status: 'in_flight' as const,
    feeMsat: 0n,
    resolvedAtMs: 0,
  };
  if (stored === undefined) return { ...base, paymentIndex: nextIndex, attempts: [] };
  if (stored.status === 'in_flight') {
    throw new ChandError(ErrorCode.PAYMENT_IN_FLIGHT, `a payment of hash ${payment.paymentHash} is already in flight; wait for it instead of paying again`);
  }
  if (stored.status === 'succeeded') {
    throw new ChandError(ErrorCode.PAYMENT_ALREADY_SUCCEEDED, `payment hash ${payment.paymentHash} was already paid; chand never pays a hash twice`);
  }
  return { ...base, paymentIndex: stored.paymentIndex, attempts: stored.attempts };
}

/** Whether two attempts are the same registration (everything the caller gave but the outcome). */
function sameRegistration(a: PaymentAttempt, b: PaymentAttempt): boolean {
  return (
    a.attemptId === b.attemptId &&
    a.channelId === b.channelId &&
    a.htlcId === b.htlcId &&
    a.amountMsat === b.amountMsat &&
    a.startedAtMs === b.startedAtMs &&
    equalBytes(a.sessionKey, b.sessionKey) &&
    a.route.length === b.route.length &&
    a.route.every(
      (hop, i) =>
        hop.pubkey === b.route[i]!.pubkey &&
        hop.shortChannelId === b.route[i]!.shortChannelId &&
        hop.amountMsat === b.route[i]!.amountMsat &&
        hop.cltvExpiry === b.route[i]!.cltvExpiry,
    )
  );
}

/**
 * The payment with `attempt` added (in flight). The stored payment itself when the same
 * attempt is already registered (a repeat after a restart), whatever has happened to it
 * since. PAYMENT_NOT_IN_FLIGHT when the payment is resolved; RangeError when the attempt id
 * is not the next one (or reuses an id with different contents).
 */
export function withAttempt(stored: Payment, attempt: PaymentAttempt): Payment {
  const existing = stored.attempts.find((a) => a.attemptId === attempt.attemptId);
  if (existing !== undefined && sameRegistration(existing, attempt)) return stored;
  if (stored.status !== 'in_flight') {
    throw new ChandError(ErrorCode.PAYMENT_NOT_IN_FLIGHT, `payment ${stored.paymentHash} is ${stored.status}; no attempt can be added to it`);
  }
  const next = stored.attempts.length + 1;
  if (attempt.attemptId !== next) {
    throw new RangeError(`expected attempt id ${next} (the next one of payment ${stored.paymentHash}), got ${attempt.attemptId}${existing === undefined ? '' : ' (already used by another attempt)'}`);
  }
  const added: PaymentAttempt = {
    attemptId: attempt.attemptId,
    channelId: attempt.channelId,
    htlcId: attempt.htlcId,
    amountMsat: attempt.amountMsat,
    route: attempt.route.map((hop) => ({ pubkey: hop.pubkey, shortChannelId: hop.shortChannelId, amountMsat: hop.amountMsat, cltvExpiry: hop.cltvExpiry })),
    sessionKey: attempt.sessionKey.slice(),
    startedAtMs: attempt.startedAtMs,
    status: 'in_flight',
    resolvedAtMs: 0,
  };
  return { ...stored, attempts: [...stored.attempts, added] };
}

function attemptOf(stored: Payment, attemptId: number): PaymentAttempt {
  const attempt = stored.attempts.find((a) => a.attemptId === attemptId);
  if (attempt === undefined) throw new RangeError(`expected the id of a registered attempt of payment ${stored.paymentHash} (1..${stored.attempts.length}), got ${attemptId}`);
  return attempt;
}

function replaced(stored: Payment, attempt: PaymentAttempt): readonly PaymentAttempt[] {
  return stored.attempts.map((a) => (a.attemptId === attempt.attemptId ? attempt : a));
}

/**
 * Attempt `attemptId` succeeded with `preimage`: the attempt and the payment become
 * succeeded (the payment's fee: the attempt's amount above the payment's, never below 0).
 * The stored payment itself when that attempt already succeeded. PREIMAGE_MISMATCH if the
 * preimage's SHA256 is not the payment hash; PAYMENT_ATTEMPT_RESOLVED if the attempt failed;
 * RangeError for an unknown attempt id. A payment already succeeded by another attempt keeps
 * its preimage and fee.
 */
export function settledAttempt(stored: Payment, attemptId: number, preimage: Uint8Array, nowMs: number): Payment {
  if (bytesToHex(sha256(preimage)) !== stored.paymentHash) {
    throw new ChandError(ErrorCode.PREIMAGE_MISMATCH, `the preimage does not hash to payment hash ${stored.paymentHash}`);
  }
  const attempt = attemptOf(stored, attemptId);
  if (attempt.status === 'succeeded') return stored;
  if (attempt.status === 'failed') {
    throw new ChandError(ErrorCode.PAYMENT_ATTEMPT_RESOLVED, `attempt ${attemptId} of payment ${stored.paymentHash} already failed; it cannot succeed`);
  }
  const attempts = replaced(stored, { ...attempt, status: 'succeeded', resolvedAtMs: nowMs });
  if (stored.status === 'succeeded') return { ...stored, attempts };
  const fee = attempt.amountMsat - stored.amountMsat;
  const { failureReason: _reason, ...rest } = stored;
  return { ...rest, attempts, status: 'succeeded', preimage: preimage.slice(), feeMsat: fee > 0n ? fee : 0n, resolvedAtMs: nowMs };
}

/**
 * Attempt `attemptId` failed with `failure`; the payment's status does not change. The
 * stored payment itself when that attempt already failed. PAYMENT_ATTEMPT_RESOLVED if it
 * succeeded; RangeError for an unknown attempt id.
 */
export function failedAttempt(stored: Payment, attemptId: number, failure: string, nowMs: number): Payment {
  const attempt = attemptOf(stored, attemptId);
  if (attempt.status === 'failed') return stored;
  if (attempt.status === 'succeeded') {
    throw new ChandError(ErrorCode.PAYMENT_ATTEMPT_RESOLVED, `attempt ${attemptId} of payment ${stored.paymentHash} already succeeded; it cannot fail`);
  }
  return { ...stored, attempts: replaced(stored, { ...attempt, status: 'failed', resolvedAtMs: nowMs, failure }) };
}

/**
 * The payment fails for good with `reason`. The stored payment itself when already failed.
 * PAYMENT_ALREADY_SUCCEEDED if it succeeded; PAYMENT_ATTEMPT_IN_FLIGHT while an attempt is in
 * flight (its HTLC may still settle).
 */
export function failedPayment(stored: Payment, reason: string, nowMs: number): Payment {
  if (stored.status === 'failed') return stored;
  if (stored.status === 'succeeded') throw new ChandError(ErrorCode.PAYMENT_ALREADY_SUCCEEDED, `payment ${stored.paymentHash} succeeded; it cannot fail`);
  const inFlight = stored.attempts.find((a) => a.status === 'in_flight');
  if (inFlight !== undefined) {
    throw new ChandError(ErrorCode.PAYMENT_ATTEMPT_IN_FLIGHT, `attempt ${inFlight.attemptId} of payment ${stored.paymentHash} is still in flight; fail or settle it first`);
  }
  return { ...stored, status: 'failed', failureReason: reason, resolvedAtMs: nowMs };
}
