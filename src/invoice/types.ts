/**
 * The shape of a BOLT 11 invoice as chand sees it: what `decodeInvoice` returns and what
 * `encodeInvoice` takes. Byte strings are lowercase hex; amounts are millisatoshis as bigint;
 * times are UNIX seconds.
 *
 * Field order. BOLT 11 does not fix the order of tagged fields and the signature covers them,
 * so an exact round trip needs the order: a decoded invoice carries `fieldOrder`, one entry per
 * tagged field as written (`f` and `r` once per fallback / route hint, `?` for the next entry
 * of `unknownTags`). `encodeInvoice` writes that order when it is given, a canonical one when
 * it is not.
 */
import type { Network } from '../bitcoin/network.js';
import type { FeatureVector } from '../wire/features.js';

/** Expiry BOLT 11 implies when an invoice has no `x` field: one hour. */
export const DEFAULT_EXPIRY_SECS = 3600;

/** `min_final_cltv_expiry_delta` BOLT 11 implies when an invoice has no `c` field. */
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY = 18;

/**
 * An on-chain fallback address (`f`): `version` 0..16 is a segwit version with its witness
 * `program`; 17 is P2PKH and 18 is P2SH, `program` then being the 20-byte hash.
 */
export interface FallbackAddress {
  readonly version: number;
  readonly program: string;
}

/**
 * One hop of a private route (`r`): the node at the start of the channel, the channel, and the
 * channel's forwarding policy (as in BOLT 7's `channel_update`).
 */
export interface RouteHintHop {
  readonly pubkey: string;
  readonly shortChannelId: bigint;
  readonly feeBaseMsat: number;
  readonly feeProportionalMillionths: number;
  readonly cltvExpiryDelta: number;
}

/** One `r` field: the ordered hops from a public node to the payee. Never empty. */
export type RouteHint = readonly RouteHintHop[];

/**
 * A tagged field the decoder skipped, kept verbatim for round trips: a type chand does not know,
 * a `p`/`h`/`s`/`n` of the wrong length, an `f` of an unknown version, or a repeat of a field
 * that may appear once (the first one counts). `words` are the field's 5-bit values.
 */
export interface UnknownTag {
  readonly type: number;
  readonly words: readonly number[];
}

/** One entry of `fieldOrder`: a tagged field letter, or `?` for the next unknown tag. */
export type InvoiceTag = 'p' | 's' | 'd' | 'h' | 'n' | 'x' | 'c' | 'm' | 'f' | 'r' | '9' | '?';

/**
 * What `encodeInvoice` writes. Exactly one of `description` / `descriptionHash`. Optional
 * fields are written only when present (`payeeNodeId` as `n`, `expirySecs` as `x`,
 * `minFinalCltvExpiry` as `c`), unless `fieldOrder` is given: then it alone says which fields
 * are written and in which order, and `payeeNodeId`, `expirySecs`, `minFinalCltvExpiry` may be
 * present without being written (a decoded invoice carries their recovered or default values).
 * After changing the fields of a decoded invoice, drop its `fieldOrder` (or edit it to match):
 * an order that does not list exactly the fields present is a RangeError.
 */
export interface InvoiceFields {
  readonly network: Network;
  readonly amountMsat?: bigint;
  readonly timestamp: number;
  readonly paymentHash: string;
  readonly paymentSecret: string;
  readonly description?: string;
  readonly descriptionHash?: string;
  readonly payeeNodeId?: string;
  readonly expirySecs?: number;
  readonly minFinalCltvExpiry?: number;
  readonly fallbackAddresses?: readonly FallbackAddress[];
  readonly routeHints?: readonly RouteHint[];
  readonly features?: FeatureVector;
  readonly metadata?: string;
  readonly unknownTags?: readonly UnknownTag[];
  readonly fieldOrder?: readonly InvoiceTag[];
}

/**
 * A decoded, signature-checked invoice. `payeeNodeId` comes from `n` or, without one, from
 * public-key recovery; `expirySecs` and `minFinalCltvExpiry` hold BOLT 11's defaults when the
 * fields are absent. `amountMsat` absent means "any amount". Passing it back to
 * `encodeInvoice` with the same key reproduces the original string (lowercase, low-S).
 */
export interface Invoice extends InvoiceFields {
  readonly payeeNodeId: string;
  readonly expirySecs: number;
  readonly minFinalCltvExpiry: number;
  readonly fallbackAddresses: readonly FallbackAddress[];
  readonly routeHints: readonly RouteHint[];
  readonly features: FeatureVector;
  readonly unknownTags: readonly UnknownTag[];
  readonly fieldOrder: readonly InvoiceTag[];
}

/** The UNIX second after which the invoice should no longer be paid (timestamp + expiry). */
export function invoiceExpiresAt(invoice: Pick<Invoice, 'timestamp' | 'expirySecs'>): number {
  return invoice.timestamp + invoice.expirySecs;
}

/**
 * True once `timestamp + expiry` has passed at `nowSec` (strictly after it, as BOLT 11's
 * "after the timestamp plus expiry has passed"). TypeError unless `nowSec` is a finite number.
 */
export function isExpired(invoice: Pick<Invoice, 'timestamp' | 'expirySecs'>, nowSec: number): boolean {
  if (typeof nowSec !== 'number' || !Number.isFinite(nowSec)) throw new TypeError(`expected nowSec as finite number, got ${String(nowSec)}`);
  return nowSec > invoiceExpiresAt(invoice);
}
