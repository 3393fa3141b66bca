/**
 * BOLT 4 "Returning Errors", legacy (HMAC-attributed) format: the failure onion built by the
 * erring node, obfuscated again by every hop on the way back, and decrypted by the origin,
 * which learns which hop produced it.
 *
 * Return packet before obfuscation:
 *   hmac (32) ++ u16 failure_len ++ failuremsg ++ u16 pad_len ++ pad (zeros)
 * where hmac = HMAC-SHA256(um, everything after it) and failure_len + pad_len >= 256 (exactly
 * 256 whenever the message fits, so every short failure has the same size). Each node,
 * erring one included, XORs the packet with its `ammag` stream. The origin peels those layers
 * in route order and stops at the first hop whose `um` HMAC matches. The optional
 * `attribution_data` of newer nodes is not produced or checked here.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, bytesEqual } from '../bitcoin/bytes.js';
import { ByteWriter } from '../codec/bytes.js';
import { DecodeError, ErrorCode, ChandError } from '../errors.js';
import { chacha20Stream } from './chacha20.js';
import { decodeFailureMessage, type FailureMessage } from './failure-messages.js';
import { generateKey } from './keys.js';

/** Default and minimum failure_len + pad_len (BOLT 4: at least 256, and should equal 256). */
export const FAILURE_PADDED_LENGTH = 256;
/**
 * How many layers the origin always peels: BOLT 4 asks to keep decrypting (with constant keys
 * past the route's end) until 27 rounds, the longest TLV route, so timing does not reveal the
 * failing hop's position.
 */
export const FAILURE_DECRYPT_ROUNDS = 27;

const HMAC_SIZE = 32;
const DUMMY_SECRET = new Uint8Array(32);

/** XOR of `packet` with the `ammag` stream of `sharedSecret`, as a new array. */
function obfuscate(sharedSecret: Uint8Array, packet: Uint8Array): Uint8Array {
  const out = chacha20Stream(generateKey('ammag', sharedSecret), packet.length);
  for (let i = 0; i < out.length; i++) out[i]! ^= packet[i]!;
  return out;
}

/**
 * The erring node's return packet for `failureMessage` (an encoded `failuremsg`, see
 * `encodeFailureMessage`), authenticated with its `um` key and obfuscated with its `ammag` key,
 * both from `sharedSecret` (the one `peelOnion` returned for the HTLC). Zero padding brings
 * message + padding to `options.paddedLength` bytes (default 256, the size BOLT 4 asks for; the
 * spec's own trace uses 1024); a longer message gets no padding. This is the `reason` of the
 * `update_fail_htlc` it sends upstream. Throws RangeError unless `sharedSecret` is 32 bytes,
 * the message at most 65535 bytes and `paddedLength` an integer in [256, 65535].
 */
export function createFailureOnion(sharedSecret: Uint8Array, failureMessage: Uint8Array, options?: { readonly paddedLength?: number }): Uint8Array {
  assertBytes('shared secret', sharedSecret, 32);
  assertBytes('failure message', failureMessage);
  if (failureMessage.length > 0xffff) throw new RangeError(`expected a failure message of at most 65535 bytes, got ${failureMessage.length}`);
  const padded = options?.paddedLength ?? FAILURE_PADDED_LENGTH;
  if (!Number.isInteger(padded) || padded < FAILURE_PADDED_LENGTH || padded > 0xffff) {
    throw new RangeError(`expected paddedLength in [${FAILURE_PADDED_LENGTH}, 65535], got ${padded}`);
  }
  const padLength = Math.max(0, padded - failureMessage.length);
  const body = new ByteWriter(4 + failureMessage.length + padLength)
    .u16(failureMessage.length)
    .bytes(failureMessage)
    .u16(padLength)
    .bytes(new Uint8Array(padLength))
    .finish();
  const packet = new Uint8Array(HMAC_SIZE + body.length);
  packet.set(hmac(sha256, generateKey('um', sharedSecret), body), 0);
  packet.set(body, HMAC_SIZE);
  return obfuscate(sharedSecret, packet);
}

/**
 * What an intermediate hop does to a failure onion coming back from downstream: one more
 * `ammag` layer with its own `sharedSecret`. Returns a new array; throws RangeError unless
 * `sharedSecret` is 32 bytes.
 */
export function wrapFailureOnion(sharedSecret: Uint8Array, packet: Uint8Array): Uint8Array {
  assertBytes('shared secret', sharedSecret, 32);
  assertBytes('failure onion', packet);
  return obfuscate(sharedSecret, packet);
}

/** A failure onion the origin decrypted and attributed. */
export interface DecryptedFailure {
  /** Index in the route (0 = first hop) of the node that built the failure. */
  readonly hopIndex: number;
  /** The raw `failuremsg`. */
  readonly message: Uint8Array;
  /** `message` decoded, or undefined when it does not parse (the hop is still attributed). */
  readonly failure: FailureMessage | undefined;
}

/**
 * Decrypts a failure onion at the origin with the route's `sharedSecrets` (in route order, as
 * `constructOnion` returned them) and attributes it to the first hop whose `um` HMAC matches.
 * Always runs at least 27 rounds (dummy ones with a constant key past the route) whatever hop
 * matched. Throws ChandError ONION_FAILURE_UNDECRYPTABLE if no hop matches or the matched
 * packet's length fields are inconsistent; RangeError for a secret that is not 32 bytes.
 */
export function decryptFailureOnion(sharedSecrets: readonly Uint8Array[], packet: Uint8Array): DecryptedFailure {
  assertBytes('failure onion', packet);
  for (const [i, s] of sharedSecrets.entries()) assertBytes(`shared secret ${i}`, s, 32);
  const rounds = Math.max(FAILURE_DECRYPT_ROUNDS, sharedSecrets.length);
  let current = packet;
  let found: { hopIndex: number; body: Uint8Array } | undefined;
  for (let i = 0; i < rounds; i++) {
    const secret = i < sharedSecrets.length ? sharedSecrets[i]! : DUMMY_SECRET;
    current = obfuscate(secret, current);
    if (current.length < HMAC_SIZE) continue;
    const body = current.subarray(HMAC_SIZE);
    const matches = bytesEqual(hmac(sha256, generateKey('um', secret), body), current.subarray(0, HMAC_SIZE));
    if (found === undefined && i < sharedSecrets.length && matches) found = { hopIndex: i, body: body.slice() };
  }
  if (found === undefined) {
    throw new ChandError(ErrorCode.ONION_FAILURE_UNDECRYPTABLE, `failure onion of ${packet.length} bytes matches no hop of the ${sharedSecrets.length}-hop route`);
  }
  const { body, hopIndex } = found;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const messageLength = body.length >= 2 ? view.getUint16(0) : -1;
  if (messageLength < 0 || 2 + messageLength + 2 > body.length) {
    throw new ChandError(ErrorCode.ONION_FAILURE_UNDECRYPTABLE, `failure onion from hop ${hopIndex} has an inconsistent failure_len`);
  }
  const padLength = view.getUint16(2 + messageLength);
  if (2 + messageLength + 2 + padLength !== body.length) {
    throw new ChandError(ErrorCode.ONION_FAILURE_UNDECRYPTABLE, `failure onion from hop ${hopIndex} has an inconsistent pad_len`);
  }
  const message = body.slice(2, 2 + messageLength);
  let failure: FailureMessage | undefined;
  try {
    failure = decodeFailureMessage(message);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    failure = undefined;
  }
  return { hopIndex, message, failure };
}
