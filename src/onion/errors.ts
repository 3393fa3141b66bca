/**
 * The onion layer's typed error. Besides its stable `code`, an `OnionError` says what the
 * processing node must send back upstream: the BOLT 4 `failureCode` and the encoded
 * `failureMessage` (`failuremsg`). For a BADONION code (`invalid_onion_version`,
 * `invalid_onion_hmac`, `invalid_onion_key`) the node answers with `update_fail_malformed_htlc`
 * carrying `sha256OfOnion` and `failureCode`; for any other code it wraps `failureMessage` in a
 * failure onion (`createFailureOnion`) and sends `update_fail_htlc`. Neither field holds a secret.
 */
import { ChandError, type ErrorCode } from '../errors.js';
import { encodeFailureMessage, failureCodeOf, type FailureMessage } from './failure-messages.js';

/** An onion could not be processed; carries the failure to report upstream. */
export class OnionError extends ChandError {
  override readonly name = 'OnionError';
  /** The BOLT 4 `failure_code` to report. */
  readonly failureCode: number;
  /** The typed failure to report. */
  readonly failure: FailureMessage;
  /** `failure` encoded as a `failuremsg`. */
  readonly failureMessage: Uint8Array;
  /** SHA256 of the whole received onion, for BADONION failures; undefined otherwise. */
  readonly sha256OfOnion: Uint8Array | undefined;

  constructor(code: ErrorCode, message: string, failure: FailureMessage, options?: { cause?: unknown }) {
    super(code, message, options);
    this.failure = failure;
    this.failureCode = failureCodeOf(failure);
    this.failureMessage = encodeFailureMessage(failure);
    this.sha256OfOnion = 'sha256OfOnion' in failure ? failure.sha256OfOnion : undefined;
  }
}
