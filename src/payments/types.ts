/**
 * Payment records: invoices we issued (incoming payments) and payments we sent (outgoing).
 *
 * Same conventions as chanstate/types.ts: hex identifiers, bigint msat amounts, UNIX ms
 * times (`...Ms`), plain immutable values.
 */
import type { Hex } from '../chanstate/types.js';

/** Where an invoice stands. `accepted`: an HTLC paying it is locked in and held (hold invoices). */
export type InvoiceState = 'open' | 'accepted' | 'settled' | 'canceled';

/** What the node stores when it issues an invoice (or accepts a keysend payment). */
export interface NewInvoice {
  /** SHA256 of the preimage, 32 bytes hex. The invoice's key. */
  readonly paymentHash: Hex;
  /** 32 bytes. */
  readonly preimage: Uint8Array;
  /** BOLT 11 `s`, 32 bytes hex; absent for keysend. */
  readonly paymentSecret?: Hex;
  /** Absent for an invoice that accepts any amount. */
  readonly amountMsat?: bigint;
  readonly description?: string;
  /** BOLT 11 `h`, 32 bytes hex. */
  readonly descriptionHash?: Hex;
  readonly createdAtMs: number;
  /** Absolute: after this time a payment is refused. */
  readonly expiresAtMs: number;
  /** BOLT 11 `c`: the final CLTV delta the payer must leave us. */
  readonly minFinalCltvExpiryDelta: number;
  /** The BOLT 11 string; empty for keysend. */
  readonly encoded: string;
  /** True when created by an incoming keysend payment (no BOLT 11 invoice was issued). */
  readonly keysend: boolean;
}

/** A stored invoice. */
export interface Invoice extends NewInvoice {
  readonly state: InvoiceState;
  /** 1, 2, 3, ... in insertion order (list_invoices pages by it). */
  readonly addIndex: number;
  /** 1, 2, 3, ... in settle order; 0 until settled. */
  readonly settleIndex: number;
  /** 0 until settled. */
  readonly settledAtMs: number;
  /** What the settling HTLC paid; 0n until settled. */
  readonly amountPaidMsat: bigint;
  /** The HTLC that settled it; absent until settled. */
  readonly settledBy?: HtlcRef;
}

/** An incoming HTLC: the channel (hex channel id) and its HTLC id there. */
export interface HtlcRef {
  readonly channelId: Hex;
  readonly htlcId: number;
}

/** Where an outgoing payment or one of its attempts stands. */
export type PaymentStatus = 'in_flight' | 'succeeded' | 'failed';

/** One hop of a route, as given to send_payment or built for a direct channel. */
export interface RouteHop {
  /** The node this hop pays to (33 bytes hex). */
  readonly pubkey: Hex;
  /** The channel used to reach it (BOLT 7 scid). */
  readonly shortChannelId: bigint;
  /** What this hop forwards (or, for the last hop, receives). */
  readonly amountMsat: bigint;
  readonly cltvExpiry: number;
}

/** One HTLC sent for a payment. */
export interface PaymentAttempt {
  /** 1, 2, 3, ... within the payment. */
  readonly attemptId: number;
  /** The channel the HTLC was offered on (hex channel id) and its HTLC id there. */
  readonly channelId: Hex;
  readonly htlcId: number;
  /** What the HTLC carries, fees included. */
  readonly amountMsat: bigint;
  readonly route: readonly RouteHop[];
  /** The onion's session key (32 bytes): decrypts the failure onion. */
  readonly sessionKey: Uint8Array;
  readonly startedAtMs: number;
  readonly status: PaymentStatus;
  /** 0 while in flight. */
  readonly resolvedAtMs: number;
  /** Why it failed (decoded failure message or local reason). */
  readonly failure?: string;
}

/** What send_payment stores before the first HTLC leaves. */
export interface NewPayment {
  readonly paymentHash: Hex;
  /** What the recipient gets. */
  readonly amountMsat: bigint;
  readonly destination: Hex;
  /** The BOLT 11 string paid; empty for keysend. */
  readonly invoice: string;
  readonly keysend: boolean;
  readonly createdAtMs: number;
}

/** A stored outgoing payment. */
export interface Payment extends NewPayment {
  /** 1, 2, 3, ... in creation order (list_payments pages by it). */
  readonly paymentIndex: number;
  readonly status: PaymentStatus;
  readonly attempts: readonly PaymentAttempt[];
  /** Known once an attempt succeeded. */
  readonly preimage?: Uint8Array;
  /** Fees paid by the succeeded attempt (its amount minus `amountMsat`); 0n otherwise. */
  readonly feeMsat: bigint;
  /** Set when the payment failed for good. */
  readonly failureReason?: string;
  /** 0 until succeeded or failed. */
  readonly resolvedAtMs: number;
}

/** One page of a list. */
export interface ListQuery {
  /** Return records with index strictly above this one (0: from the start). */
  readonly afterIndex?: number;
  /** At most this many (1..10,000). */
  readonly limit: number;
}
