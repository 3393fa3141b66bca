/**
 * Typed errors of the peer layer (BOLT 8 transport, connections, the peer manager).
 *
 * Every condition a caller or a disconnect listener is expected to tell apart has its own
 * code (docs/errors.md, "Peer transport"). Messages never contain key material: a handshake
 * failure says which act failed and how, never the keys or the bytes it was given.
 */
import { ChandError, ErrorCode } from '../errors.js';

/** The subset of `ErrorCode` raised by `PeerError`. */
export type PeerErrorCode =
  | typeof ErrorCode.NOISE_HANDSHAKE_FAILED
  | typeof ErrorCode.NOISE_DECRYPT_FAILED
  | typeof ErrorCode.PEER_HANDSHAKE_TIMEOUT
  | typeof ErrorCode.PEER_INIT_TIMEOUT
  | typeof ErrorCode.PEER_CONNECTION_CLOSED
  | typeof ErrorCode.PEER_CONNECT_FAILED
  | typeof ErrorCode.PEER_SEND_QUEUE_FULL
  | typeof ErrorCode.PEER_ADDRESS_INVALID
  | typeof ErrorCode.PEER_FEATURES_INCOMPATIBLE
  | typeof ErrorCode.PEER_CHAIN_MISMATCH
  | typeof ErrorCode.PEER_PROTOCOL_VIOLATION
  | typeof ErrorCode.PEER_PING_TIMEOUT
  | typeof ErrorCode.PEER_REPLACED
  | typeof ErrorCode.PEER_NOT_CONNECTED
  | typeof ErrorCode.PEER_MANAGER_STOPPED;

/** A peer-layer condition: a failed handshake, a closed connection, a peer that broke BOLT 1. */
export class PeerError extends ChandError {
  override readonly name: string = 'PeerError';
  declare readonly code: PeerErrorCode;

  constructor(code: PeerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Why a BOLT 8 handshake failed, named as in BOLT 8 Appendix A: the act (1, 2 or 3) and the
 * failure (a short read, an unknown version byte, a public key that is not a valid compressed
 * secp256k1 point, a MAC that does not verify — for act 3 the MAC of the encrypted static key
 * is `BAD_CIPHERTEXT` and the final one `BAD_TAG`).
 */
export type HandshakeFailure =
  | 'ACT1_READ_FAILED'
  | 'ACT1_BAD_VERSION'
  | 'ACT1_BAD_PUBKEY'
  | 'ACT1_BAD_TAG'
  | 'ACT2_READ_FAILED'
  | 'ACT2_BAD_VERSION'
  | 'ACT2_BAD_PUBKEY'
  | 'ACT2_BAD_TAG'
  | 'ACT3_READ_FAILED'
  | 'ACT3_BAD_VERSION'
  | 'ACT3_BAD_CIPHERTEXT'
  | 'ACT3_BAD_PUBKEY'
  | 'ACT3_BAD_TAG';

/** A BOLT 8 handshake act was rejected (code NOISE_HANDSHAKE_FAILED); `reason` says which and why. */
export class NoiseHandshakeError extends PeerError {
  override readonly name = 'NoiseHandshakeError';
  readonly reason: HandshakeFailure;

  constructor(reason: HandshakeFailure, message: string) {
    super(ErrorCode.NOISE_HANDSHAKE_FAILED, `noise handshake failed (${reason}): ${message}`);
    this.reason = reason;
  }
}
