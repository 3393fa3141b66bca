/**
 * Typed errors of the invoice layer (BOLT 11).
 *
 * Every refusal of `decodeInvoice` is an `InvoiceError`: its `code` is one of the four stable
 * invoice codes (docs/errors.md, "Invoices") and its `reason` names the exact rule that failed,
 * so a caller (and the BOLT 11 appendix tests) can tell a bad checksum from a missing payment
 * secret without parsing the message.
 */
import { ChandError, ErrorCode } from '../errors.js';

/** The subset of `ErrorCode` raised by `InvoiceError`. */
export type InvoiceErrorCode =
  | typeof ErrorCode.INVOICE_INVALID
  | typeof ErrorCode.INVOICE_NETWORK_MISMATCH
  | typeof ErrorCode.INVOICE_SIGNATURE_INVALID
  | typeof ErrorCode.INVOICE_FEATURES_UNSUPPORTED;

/**
 * Why an invoice was refused. Structure: `BAD_BECH32` (not bech32 at all: no separator,
 * mixed case, a character outside the alphabet), `BAD_CHECKSUM`, `UNKNOWN_PREFIX`,
 * `BAD_AMOUNT` (non-digit, leading zero, zero, unknown multiplier, above 2^64-1 msat),
 * `SUB_MSAT_AMOUNT` (`p` amount not ending in 0), `TOO_SHORT` (no room for timestamp and
 * signature), `TRUNCATED_FIELD`, `BAD_FIELD` (padding, UTF-8, public key, fallback or route
 * layout, value out of range), `NON_MINIMAL_FIELD` (`x`, `c` or `9` starting with a zero
 * word, or an empty `9`), `MISSING_PAYMENT_HASH`, `MISSING_PAYMENT_SECRET`,
 * `MISSING_DESCRIPTION`, `BOTH_DESCRIPTIONS`, `DESCRIPTION_HASH_MISMATCH`,
 * `MISSING_FEATURE_DEPENDENCY`. Others: `NETWORK_MISMATCH`, `UNKNOWN_REQUIRED_FEATURE`,
 * and the signature failures `BAD_RECOVERY_ID`, `UNRECOVERABLE`, `HIGH_S`, `BAD_SIGNATURE`.
 */
export type InvoiceFailure =
  | 'BAD_BECH32'
  | 'BAD_CHECKSUM'
  | 'UNKNOWN_PREFIX'
  | 'BAD_AMOUNT'
  | 'SUB_MSAT_AMOUNT'
  | 'TOO_SHORT'
  | 'TRUNCATED_FIELD'
  | 'BAD_FIELD'
  | 'NON_MINIMAL_FIELD'
  | 'MISSING_PAYMENT_HASH'
  | 'MISSING_PAYMENT_SECRET'
  | 'MISSING_DESCRIPTION'
  | 'BOTH_DESCRIPTIONS'
  | 'DESCRIPTION_HASH_MISMATCH'
  | 'MISSING_FEATURE_DEPENDENCY'
  | 'NETWORK_MISMATCH'
  | 'UNKNOWN_REQUIRED_FEATURE'
  | 'BAD_RECOVERY_ID'
  | 'UNRECOVERABLE'
  | 'HIGH_S'
  | 'BAD_SIGNATURE';

/** The code each failure is raised with. */
const CODE_OF: Readonly<Record<InvoiceFailure, InvoiceErrorCode>> = {
  BAD_BECH32: ErrorCode.INVOICE_INVALID,
  BAD_CHECKSUM: ErrorCode.INVOICE_INVALID,
  UNKNOWN_PREFIX: ErrorCode.INVOICE_INVALID,
  BAD_AMOUNT: ErrorCode.INVOICE_INVALID,
  SUB_MSAT_AMOUNT: ErrorCode.INVOICE_INVALID,
  TOO_SHORT: ErrorCode.INVOICE_INVALID,
  TRUNCATED_FIELD: ErrorCode.INVOICE_INVALID,
  BAD_FIELD: ErrorCode.INVOICE_INVALID,
  NON_MINIMAL_FIELD: ErrorCode.INVOICE_INVALID,
  MISSING_PAYMENT_HASH: ErrorCode.INVOICE_INVALID,
  MISSING_PAYMENT_SECRET: ErrorCode.INVOICE_INVALID,
  MISSING_DESCRIPTION: ErrorCode.INVOICE_INVALID,
  BOTH_DESCRIPTIONS: ErrorCode.INVOICE_INVALID,
  DESCRIPTION_HASH_MISMATCH: ErrorCode.INVOICE_INVALID,
  MISSING_FEATURE_DEPENDENCY: ErrorCode.INVOICE_INVALID,
  NETWORK_MISMATCH: ErrorCode.INVOICE_NETWORK_MISMATCH,
  UNKNOWN_REQUIRED_FEATURE: ErrorCode.INVOICE_FEATURES_UNSUPPORTED,
  BAD_RECOVERY_ID: ErrorCode.INVOICE_SIGNATURE_INVALID,
  UNRECOVERABLE: ErrorCode.INVOICE_SIGNATURE_INVALID,
  HIGH_S: ErrorCode.INVOICE_SIGNATURE_INVALID,
  BAD_SIGNATURE: ErrorCode.INVOICE_SIGNATURE_INVALID,
};

/** A BOLT 11 invoice was refused; `reason` says which rule failed, the message says where. */
export class InvoiceError extends ChandError {
  override readonly name: string = 'InvoiceError';
  declare readonly code: InvoiceErrorCode;
  readonly reason: InvoiceFailure;

  constructor(reason: InvoiceFailure, message: string, options?: { cause?: unknown }) {
    super(CODE_OF[reason], message, options);
    this.reason = reason;
  }
}
