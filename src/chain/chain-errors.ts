/**
 * Errors of chain access. Conditions a caller handles carry a stable code from `ErrorCode`:
 * CHAIN_UNREACHABLE (no connection), CHAIN_TIMEOUT (no answer in time), CHAIN_BAD_RESPONSE
 * (an answer that is not what the API promises) and TX_REJECTED (a broadcast refused, with
 * the backend's reason).
 */
import { ChandError, ErrorCode } from '../errors.js';

/** A transaction the chain refused. `reason` is the backend's own text, e.g. "bad-txns-inputs-missingorspent". */
export class TxRejectedError extends ChandError {
  override readonly name = 'TxRejectedError';
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(ErrorCode.TX_REJECTED, `transaction rejected: ${reason}`, options);
    this.reason = reason;
  }
}
