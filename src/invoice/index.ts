/**
 * BOLT 11 invoices: decode (with every reader check and signature verification or key
 * recovery), encode and sign, expiry. Pure: no Node module, no I/O, no clock.
 */
export { decodeInvoice, INVOICE_FEATURES, invoiceSigningPreimage, type DecodeInvoiceOptions } from './decode.js';
export { encodeInvoice, signInvoice, type InvoiceSignature, type InvoiceSigner } from './encode.js';
export { InvoiceError, type InvoiceErrorCode, type InvoiceFailure } from './errors.js';
export { INVOICE_PREFIXES } from './hrp.js';
export {
  DEFAULT_EXPIRY_SECS,
  DEFAULT_MIN_FINAL_CLTV_EXPIRY,
  invoiceExpiresAt,
  isExpired,
  type FallbackAddress,
  type Invoice,
  type InvoiceFields,
  type InvoiceTag,
  type RouteHint,
  type RouteHintHop,
  type UnknownTag,
} from './types.js';
