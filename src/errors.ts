/**
 * chand's typed errors.
 *
 * Every condition a caller is expected to handle carries a stable `code` (documented in
 * docs/errors.md; codes never change meaning, messages may). Argument misuse throws the
 * built-in `TypeError`/`RangeError` instead ("expected X, got Y"). The original error, when
 * there is one, is kept as `cause`.
 */

/** Stable error codes. Adding a code is fine; renaming or reusing one is a breaking change. */
export const ErrorCode = {
  // chanstate
  CHANNEL_NOT_FOUND: 'CHANNEL_NOT_FOUND',
  CHANNEL_ALREADY_EXISTS: 'CHANNEL_ALREADY_EXISTS',
  CHANNEL_BORKED: 'CHANNEL_BORKED',
  CHANNEL_RESTORED: 'CHANNEL_RESTORED',
  NO_PENDING_COMMIT: 'NO_PENDING_COMMIT',
  NO_COMMIT_POINT: 'NO_COMMIT_POINT',
  NO_CLOSE_TX: 'NO_CLOSE_TX',
  LOG_ENTRY_NOT_FOUND: 'LOG_ENTRY_NOT_FOUND',
  CLOSED_CHANNEL_NOT_FOUND: 'CLOSED_CHANNEL_NOT_FOUND',
  HISTORICAL_CHANNEL_NOT_FOUND: 'HISTORICAL_CHANNEL_NOT_FOUND',
  FWD_PKG_NOT_FOUND: 'FWD_PKG_NOT_FOUND',
  FWD_PKG_INCOMPLETE: 'FWD_PKG_INCOMPLETE',
  HTLC_UNKNOWN: 'HTLC_UNKNOWN',
  OPENING_STATE_NOT_FOUND: 'OPENING_STATE_NOT_FOUND',
  FORWARDING_POLICY_NOT_FOUND: 'FORWARDING_POLICY_NOT_FOUND',
  EXTERNAL_FUNDING_NOT_FOUND: 'EXTERNAL_FUNDING_NOT_FOUND',
  EXTERNAL_FUNDING_CONFLICT: 'EXTERNAL_FUNDING_CONFLICT',
  EXTERNAL_FUNDING_SUBMITTED: 'EXTERNAL_FUNDING_SUBMITTED',
  EXTERNAL_FUNDING_NOT_EXPIRED: 'EXTERNAL_FUNDING_NOT_EXPIRED',
  REVOCATION_INVALID: 'REVOCATION_INVALID',
  CHANNEL_NO_SCID: 'CHANNEL_NO_SCID',
  CHANNEL_KEY_INDEX_REUSED: 'CHANNEL_KEY_INDEX_REUSED',
  // linknode
  LINK_NODE_NOT_FOUND: 'LINK_NODE_NOT_FOUND',
  // storage root
  DB_REVERSION: 'DB_REVERSION',
  DB_LOCKED: 'DB_LOCKED',
  DB_NOT_INITIALIZED: 'DB_NOT_INITIALIZED',
  DRY_RUN: 'DRY_RUN',
  STORE_CLOSED: 'STORE_CLOSED',
  DB_SERIALIZATION_RETRIES_EXHAUSTED: 'DB_SERIALIZATION_RETRIES_EXHAUSTED',
  DB_UNAVAILABLE: 'DB_UNAVAILABLE',
  DB_COMMIT_UNKNOWN: 'DB_COMMIT_UNKNOWN',
  DB_CORRUPT: 'DB_CORRUPT',
  DISK_FULL: 'DISK_FULL',
  // codecs
  DECODE_FAILED: 'DECODE_FAILED',
  // bitcoin (src/bitcoin)
  PSBT_INVALID: 'PSBT_INVALID',
  PSBT_TXID_MISMATCH: 'PSBT_TXID_MISMATCH',
  PSBT_OUTPUTS_MISMATCH: 'PSBT_OUTPUTS_MISMATCH',
  PSBT_NOT_FINALIZED: 'PSBT_NOT_FINALIZED',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  SHACHAIN_INVALID: 'SHACHAIN_INVALID',
  SEED_NOT_FOUND: 'SEED_NOT_FOUND',
  SEED_FILE_EXISTS: 'SEED_FILE_EXISTS',
  SEED_FILE_INSECURE: 'SEED_FILE_INSECURE',
  SEED_FILE_INVALID: 'SEED_FILE_INVALID',
  SEED_DECRYPT_FAILED: 'SEED_DECRYPT_FAILED',
  // chain access (src/chain)
  CHAIN_UNREACHABLE: 'CHAIN_UNREACHABLE',
  CHAIN_TIMEOUT: 'CHAIN_TIMEOUT',
  CHAIN_BAD_RESPONSE: 'CHAIN_BAD_RESPONSE',
  TX_REJECTED: 'TX_REJECTED',
  WALLET_NOT_FOUND: 'WALLET_NOT_FOUND',
  WALLET_ALREADY_EXISTS: 'WALLET_ALREADY_EXISTS',
  // peer transport (src/peer)
  NOISE_HANDSHAKE_FAILED: 'NOISE_HANDSHAKE_FAILED',
  NOISE_DECRYPT_FAILED: 'NOISE_DECRYPT_FAILED',
  PEER_HANDSHAKE_TIMEOUT: 'PEER_HANDSHAKE_TIMEOUT',
  PEER_INIT_TIMEOUT: 'PEER_INIT_TIMEOUT',
  PEER_CONNECTION_CLOSED: 'PEER_CONNECTION_CLOSED',
  PEER_CONNECT_FAILED: 'PEER_CONNECT_FAILED',
  PEER_SEND_QUEUE_FULL: 'PEER_SEND_QUEUE_FULL',
  PEER_ADDRESS_INVALID: 'PEER_ADDRESS_INVALID',
  PEER_FEATURES_INCOMPATIBLE: 'PEER_FEATURES_INCOMPATIBLE',
  PEER_CHAIN_MISMATCH: 'PEER_CHAIN_MISMATCH',
  PEER_PROTOCOL_VIOLATION: 'PEER_PROTOCOL_VIOLATION',
  PEER_PING_TIMEOUT: 'PEER_PING_TIMEOUT',
  PEER_REPLACED: 'PEER_REPLACED',
  PEER_NOT_CONNECTED: 'PEER_NOT_CONNECTED',
  PEER_MANAGER_STOPPED: 'PEER_MANAGER_STOPPED',
  // wire protocol (src/wire)
  WIRE_UNKNOWN_EVEN_MESSAGE: 'WIRE_UNKNOWN_EVEN_MESSAGE',
} as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every chand error that carries a stable code. */
export class ChandError extends Error {
  override readonly name: string = 'ChandError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Bytes could not be decoded: truncated, non-canonical, unknown required field, newer record. */
export class DecodeError extends ChandError {
  override readonly name = 'DecodeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.DECODE_FAILED, message, options);
  }
}

/** True if `err` is a ChandError with the given code. */
export function isChandError(err: unknown, code?: ErrorCode): err is ChandError {
  return err instanceof ChandError && (code === undefined || err.code === code);
}
