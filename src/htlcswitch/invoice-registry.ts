/**
 * The payee side: issuing BOLT 11 invoices and deciding what to do with an HTLC that ends at
 * this node (BOLT 4 "Payload for the Last Node" and "Returning Errors").
 *
 * An HTLC is settled only after its invoice is durably marked settled by that HTLC (the
 * store's settleInvoice is idempotent for the same HTLC, so a restart that processes the same
 * locked-in HTLC again fulfills it again, and refuses any other HTLC for a paid invoice).
 * Every refusal is `incorrect_or_unknown_payment_details` (or the final-CLTV/amount codes BOLT
 * 4 names), so a prober learns nothing about which check failed.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../codec/bytes.js';
import { ChandError, ErrorCode, isChandError } from '../errors.js';
import { DEFAULT_EXPIRY_SECS, DEFAULT_MIN_FINAL_CLTV_EXPIRY, decodeInvoice, encodeInvoice, type InvoiceSigner } from '../invoice/index.js';
import type { Network } from '../bitcoin/network.js';
import type { FinalHopPayload, FailureMessage } from '../onion/index.js';
import type { InvoiceStore } from '../payments/store.js';
import type { HtlcRef, Invoice } from '../payments/types.js';
import { FeatureVector } from '../wire/features.js';

/** Largest invoice amount accepted: the whole bitcoin supply. */
export const MAX_INVOICE_MSAT = 21_000_000n * 100_000_000n * 1000n;
/** BOLT 4: a payee may accept up to twice the invoice amount (overpayment as obfuscation). */
const MAX_OVERPAY_FACTOR = 2n;

/** What `new_invoice` asks for. */
export interface NewInvoiceRequest {
  readonly amountMsat?: bigint;
  readonly description?: string;
  readonly descriptionHash?: string;
  readonly expirySecs?: number;
  readonly minFinalCltvExpiryDelta?: number;
}

/** An HTLC that ends here, with its peeled final payload. */
export interface FinalHtlc {
  readonly ref: HtlcRef;
  readonly paymentHash: string;
  readonly amountMsat: bigint;
  readonly cltvExpiry: number;
  readonly payload: FinalHopPayload;
}

/** The decision on a final HTLC: fulfill with the preimage, or fail with a BOLT 4 failure. */
export type FinalDecision =
  | { readonly kind: 'settle'; readonly preimage: Uint8Array; readonly invoice: Invoice }
  | { readonly kind: 'fail'; readonly failure: FailureMessage; readonly reason: string };

export interface InvoiceRegistryDeps {
  readonly store: InvoiceStore;
  readonly network: Network;
  /** Signs BOLT 11 digests with the node key (recoverable, low-S). */
  readonly sign: InvoiceSigner;
  readonly nodeId: string;
  readonly now: () => number;
  readonly randomBytes: (n: number) => Uint8Array;
}

/** The invoice features chand sets: var_onion_optin and payment_secret required (BOLT 11, BOLT 9). */
function invoiceFeatures(): FeatureVector {
  // Even bits are the compulsory ones: 8 = var_onion_optin, 14 = payment_secret.
  return FeatureVector.fromBits([8, 14]);
}

export class InvoiceRegistry {
  readonly #deps: InvoiceRegistryDeps;

  constructor(deps: InvoiceRegistryDeps) {
    this.#deps = deps;
  }

  /** Creates, signs and stores a new open invoice. */
  async newInvoice(req: NewInvoiceRequest): Promise<Invoice> {
    const preimage = this.#deps.randomBytes(32);
    const paymentHash = bytesToHex(sha256(preimage));
    const paymentSecret = bytesToHex(this.#deps.randomBytes(32));
    const nowMs = this.#deps.now();
    const timestamp = Math.floor(nowMs / 1000);
    const expirySecs = req.expirySecs ?? DEFAULT_EXPIRY_SECS;
    const minFinalCltvExpiryDelta = req.minFinalCltvExpiryDelta ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY;
    const encoded = encodeInvoice(
      {
        network: this.#deps.network,
        ...(req.amountMsat !== undefined ? { amountMsat: req.amountMsat } : {}),
        timestamp,
        paymentHash,
        paymentSecret,
        // BOLT 11: exactly one of d or h; an empty description when neither was given.
        ...(req.descriptionHash !== undefined ? { descriptionHash: req.descriptionHash } : { description: req.description ?? '' }),
        payeeNodeId: this.#deps.nodeId,
        expirySecs,
        minFinalCltvExpiry: minFinalCltvExpiryDelta,
        features: invoiceFeatures(),
      },
      this.#deps.sign,
    );
    return this.#deps.store.addInvoice({
      paymentHash,
      preimage,
      paymentSecret,
      ...(req.amountMsat !== undefined ? { amountMsat: req.amountMsat } : {}),
      ...(req.description !== undefined ? { description: req.description } : {}),
      ...(req.descriptionHash !== undefined ? { descriptionHash: req.descriptionHash } : {}),
      createdAtMs: timestamp * 1000,
      expiresAtMs: (timestamp + expirySecs) * 1000,
      minFinalCltvExpiryDelta,
      encoded,
      keysend: false,
    });
  }

  /** The stored invoice of `paymentHash` (INVOICE_NOT_FOUND). */
  fetch(paymentHash: string): Promise<Invoice> {
    return this.#deps.store.fetchInvoice(paymentHash);
  }

  /**
   * Decides a final HTLC and, for a settle, marks the invoice settled by it (durably) before
   * returning. `height` is the chain tip. Never throws for a payer's mistake: it answers with
   * a failure; store errors propagate (the HTLC stays unprocessed and is retried).
   */
  async decide(htlc: FinalHtlc, height: number): Promise<FinalDecision> {
    const unknown = (reason: string): FinalDecision => ({
      kind: 'fail',
      failure: { name: 'incorrect_or_unknown_payment_details', htlcMsat: htlc.amountMsat, height },
      reason,
    });
    const p = htlc.payload;
    // BOLT 4: the final node checks outgoing_cltv_value and amt_to_forward against the HTLC.
    if (p.outgoingCltvValue > htlc.cltvExpiry) {
      return { kind: 'fail', failure: { name: 'final_incorrect_cltv_expiry', cltvExpiry: htlc.cltvExpiry }, reason: 'cltv_expiry is below the onion\'s outgoing_cltv_value' };
    }
    if (p.amtToForwardMsat > htlc.amountMsat) {
      return { kind: 'fail', failure: { name: 'final_incorrect_htlc_amount', incomingHtlcAmtMsat: htlc.amountMsat }, reason: 'the HTLC carries less than the onion\'s amt_to_forward' };
    }

    let invoice: Invoice;
    if (p.keysendPreimage !== undefined) {
      const preimage = p.keysendPreimage;
      if (bytesToHex(sha256(preimage)) !== htlc.paymentHash) return unknown('the keysend preimage does not hash to the payment hash');
      invoice = await this.#keysendInvoice(htlc, preimage);
    } else {
      try {
        invoice = await this.#deps.store.fetchInvoice(htlc.paymentHash);
      } catch (err) {
        if (isChandError(err, ErrorCode.INVOICE_NOT_FOUND)) return unknown('no invoice has this payment hash');
        throw err;
      }
      if (invoice.keysend) return unknown('a keysend payment hash paid again without its preimage');
      if (p.paymentData === undefined) return unknown('the onion has no payment_secret');
      if (bytesToHex(p.paymentData.paymentSecret) !== invoice.paymentSecret) return unknown('payment_secret does not match the invoice');
      // chand does not accept multi-part payments yet: the HTLC must carry the whole amount.
      if (p.paymentData.totalMsat > htlc.amountMsat) return unknown('a multi-part payment (total_msat above the HTLC amount), which chand does not accept yet');
    }
    if (invoice.settledBy !== undefined && (invoice.settledBy.channelId !== htlc.ref.channelId || invoice.settledBy.htlcId !== htlc.ref.htlcId)) {
      return unknown('the invoice is already paid');
    }
    if (invoice.state === 'canceled') return unknown('the invoice is canceled');
    if (invoice.state !== 'settled') {
      if (this.#deps.now() > invoice.expiresAtMs) return unknown('the invoice expired');
      if (invoice.amountMsat !== undefined) {
        if (htlc.amountMsat < invoice.amountMsat) return unknown(`the HTLC pays ${htlc.amountMsat} msat, below the invoice's ${invoice.amountMsat}`);
        if (htlc.amountMsat > invoice.amountMsat * MAX_OVERPAY_FACTOR) return unknown('the HTLC pays more than twice the invoice amount');
      }
      if (htlc.cltvExpiry < height + invoice.minFinalCltvExpiryDelta) return unknown(`cltv_expiry ${htlc.cltvExpiry} is too close to the tip ${height} (min_final_cltv_expiry_delta ${invoice.minFinalCltvExpiryDelta})`);
    }
    try {
      const settled = await this.#deps.store.settleInvoice(htlc.paymentHash, htlc.amountMsat, this.#deps.now(), htlc.ref);
      return { kind: 'settle', preimage: settled.preimage, invoice: settled };
    } catch (err) {
      if (isChandError(err, ErrorCode.INVOICE_NOT_OPEN)) return unknown('the invoice is no longer open');
      throw err;
    }
  }

  /** The invoice record of a keysend payment: created on first sight, found again after a restart. */
  async #keysendInvoice(htlc: FinalHtlc, preimage: Uint8Array): Promise<Invoice> {
    const nowMs = this.#deps.now();
    try {
      return await this.#deps.store.addInvoice({
        paymentHash: htlc.paymentHash,
        preimage,
        amountMsat: htlc.payload.amtToForwardMsat,
        createdAtMs: nowMs,
        expiresAtMs: nowMs + DEFAULT_EXPIRY_SECS * 1000,
        minFinalCltvExpiryDelta: 0,
        encoded: '',
        keysend: true,
      });
    } catch (err) {
      if (isChandError(err, ErrorCode.INVOICE_EXISTS)) return this.#deps.store.fetchInvoice(htlc.paymentHash);
      throw err;
    }
  }
}

/** Checks a BOLT 11 string for paying: decodes it for `network`, refuses an expired one. */
export function invoiceForPayment(text: string, network: Network, nowMs: number) {
  const invoice = decodeInvoice(text, { network });
  if (nowMs > (invoice.timestamp + invoice.expirySecs) * 1000) {
    throw new ChandError(ErrorCode.INVOICE_EXPIRED, `the invoice expired at ${new Date((invoice.timestamp + invoice.expirySecs) * 1000).toISOString()}`);
  }
  return invoice;
}
