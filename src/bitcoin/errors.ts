/**
 * Typed errors of the bitcoin layer (keys, seeds, shachain, transactions, PSBT).
 *
 * Malformed bytes raise the shared `DecodeError` (code DECODE_FAILED). Everything else a
 * caller is expected to handle raises `BitcoinError` with one of the bitcoin codes below.
 * Messages never contain secrets: no mnemonic, seed, private key or per-commitment secret.
 */
import { ChandError, ErrorCode } from '../errors.js';

/** The subset of `ErrorCode` raised by `BitcoinError`. */
export type BitcoinErrorCode =
  | typeof ErrorCode.PSBT_INVALID
  | typeof ErrorCode.PSBT_TXID_MISMATCH
  | typeof ErrorCode.PSBT_OUTPUTS_MISMATCH
  | typeof ErrorCode.PSBT_NOT_FINALIZED
  | typeof ErrorCode.SIGNATURE_INVALID
  | typeof ErrorCode.INSUFFICIENT_FUNDS
  | typeof ErrorCode.SHACHAIN_INVALID
  | typeof ErrorCode.SEED_NOT_FOUND
  | typeof ErrorCode.SEED_FILE_EXISTS
  | typeof ErrorCode.SEED_FILE_INSECURE
  | typeof ErrorCode.SEED_FILE_INVALID
  | typeof ErrorCode.SEED_DECRYPT_FAILED;

/**
 * A bitcoin-layer condition the caller is expected to handle: a PSBT that does not match,
 * a bad signature, a shachain secret from the wrong seed, an unreadable or insecure seed file.
 */
export class BitcoinError extends ChandError {
  override readonly name = 'BitcoinError';
  declare readonly code: BitcoinErrorCode;

  constructor(code: BitcoinErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
