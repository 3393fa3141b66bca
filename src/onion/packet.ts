/**
 * BOLT 4 Sphinx onion packets: construction at the origin ("Packet Construction", "Filler
 * Generation") and peeling at each hop ("Onion Decryption").
 *
 * Layout of the 1366-byte `onion_packet`: version (1, always 0) ++ ephemeral public key (33)
 * ++ hop_payloads (1300) ++ HMAC (32). Each hop's slot inside hop_payloads is
 * `bigsize length ++ payload ++ 32-byte HMAC of the next hop`; an all-zero next HMAC marks the
 * final hop. Construction works backwards from the last hop: shift the slot in, XOR with the
 * hop's rho stream, (first iteration only) overwrite the tail with the filler, then HMAC with
 * the hop's mu key over hop_payloads ++ associated data (the payment hash).
 *
 * Peeling checks, in this order, the version byte, the ephemeral key and the HMAC (constant
 * time), then the length framing of this hop's payload; each failure is an `OnionError` with
 * the failure BOLT 4 assigns. Replay protection ("if hmac has previously been received") needs
 * state and belongs to the caller (the switch), which can key on the returned packet HMAC.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, bytesEqual } from '../bitcoin/bytes.js';
import { assertPrivateKey } from '../bitcoin/ecdsa.js';
import { bigSizeLength, decodeBigSize, writeBigSize } from '../codec/bigsize.js';
import { concatBytes } from '../codec/bytes.js';
import { DecodeError, ErrorCode } from '../errors.js';
import { ONION_PACKET_SIZE } from '../wire/commitment-messages.js';
import { chacha20Stream } from './chacha20.js';
import { OnionError } from './errors.js';
import { blindEphemeralKey, generateKey, onionSharedSecret, routeKeys } from './keys.js';

/** Size of `hop_payloads` in a payment onion. */
export const HOP_PAYLOADS_SIZE = 1300;
/** Size of an onion HMAC. */
export const HMAC_SIZE = 32;
/** The only onion version BOLT 4 defines. */
export const ONION_VERSION = 0;

const KEY_OFFSET = 1;
const PAYLOADS_OFFSET = 1 + 33;
const HMAC_OFFSET = PAYLOADS_OFFSET + HOP_PAYLOADS_SIZE;
const ZERO_HMAC = new Uint8Array(HMAC_SIZE);

/** One hop of a route as the origin sees it. */
export interface OnionHop {
  /** The hop's node id (33-byte compressed public key). */
  readonly pubkey: Uint8Array;
  /** The hop's payload TLV bytes (see `encodeHopPayload`), without the length prefix. */
  readonly payload: Uint8Array;
}

/** What `constructOnion` needs. */
export interface ConstructOnionParams {
  /** 32-byte random session key (the first ephemeral private key); never reuse one. */
  readonly sessionKey: Uint8Array;
  /** The route, first hop first, 1 to 20+ hops as long as every slot fits in 1300 bytes. */
  readonly hops: readonly OnionHop[];
  /** Data every HMAC commits to: the payment hash for payment onions. */
  readonly associatedData: Uint8Array;
}

/** A constructed onion. */
export interface ConstructedOnion {
  /** The 1366-byte `onion_routing_packet` for the first hop. */
  readonly packet: Uint8Array;
  /** Each hop's shared secret, in route order: what the origin needs to read a failure onion. */
  readonly sharedSecrets: Uint8Array[];
}

/** Bytes one hop's slot takes in hop_payloads: length prefix, payload, HMAC. */
function slotSize(payload: Uint8Array): number {
  return bigSizeLength(payload.length) + payload.length + HMAC_SIZE;
}

function xorInto(target: Uint8Array, stream: Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i]! ^= stream[i]!;
}

/**
 * The filler: the bytes the first `n - 1` hops shift in (as zeros, XORed with their rho
 * streams), pre-computed so the last hop's HMAC covers them. Its length is the sum of the
 * first `n - 1` slots.
 */
function generateFiller(slotSizes: readonly number[], sharedSecrets: readonly Uint8Array[]): Uint8Array {
  const fillerSize = slotSizes.slice(0, -1).reduce((a, b) => a + b, 0);
  const filler = new Uint8Array(fillerSize);
  let filled = 0;
  for (let i = 0; i < slotSizes.length - 1; i++) {
    // Hop i XORs a stream over hop_payloads ++ zeros and drops its slot from the front, so what
    // hangs past 1300 bytes after it is (filler so far ++ its slot's worth of zeros) XORed with
    // its stream from offset 1300 - (bytes the earlier hops shifted in).
    const before = filled;
    filled += slotSizes[i]!;
    const stream = chacha20Stream(generateKey('rho', sharedSecrets[i]!), HOP_PAYLOADS_SIZE + slotSizes[i]!);
    const offset = HOP_PAYLOADS_SIZE - before;
    for (let j = 0; j < filled; j++) filler[j]! ^= stream[offset + j]!;
  }
  return filler;
}

/**
 * Builds the payment onion for `hops` (BOLT 4 "Packet Construction"), deterministic in
 * `sessionKey`. Throws TypeError/RangeError for an invalid session key or hop key, an empty
 * route, a payload shorter than 2 bytes, or payloads whose slots exceed 1300 bytes together.
 */
export function constructOnion(params: ConstructOnionParams): ConstructedOnion {
  const { sessionKey, hops, associatedData } = params;
  assertPrivateKey('session key', sessionKey);
  assertBytes('associated data', associatedData);
  if (!Array.isArray(hops) || hops.length === 0) throw new RangeError(`expected at least one hop, got ${Array.isArray(hops) ? 0 : typeof hops}`);
  for (const [i, hop] of hops.entries()) {
    assertBytes(`hop ${i} payload`, hop.payload);
    if (hop.payload.length < 2) throw new RangeError(`expected hop ${i} payload of at least 2 bytes, got ${hop.payload.length}`);
  }
  const sizes = hops.map((h) => slotSize(h.payload));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > HOP_PAYLOADS_SIZE) throw new RangeError(`expected hop payloads to fit in ${HOP_PAYLOADS_SIZE} bytes, got ${total}`);

  const keys = routeKeys(sessionKey, hops.map((h) => h.pubkey));
  const sharedSecrets = keys.map((k) => k.sharedSecret);
  const filler = generateFiller(sizes, sharedSecrets);

  // The starting mix header is pseudo-random (from the pad key), not zeros, so an unused tail
  // reveals nothing about the route length.
  const payloads = chacha20Stream(generateKey('pad', sessionKey), HOP_PAYLOADS_SIZE);
  let nextHmac: Uint8Array = ZERO_HMAC;
  for (let i = hops.length - 1; i >= 0; i--) {
    const payload = hops[i]!.payload;
    const shift = sizes[i]!;
    payloads.copyWithin(shift, 0, HOP_PAYLOADS_SIZE - shift);
    let at = writeBigSize(payloads, 0, payload.length);
    payloads.set(payload, at);
    at += payload.length;
    payloads.set(nextHmac, at);
    xorInto(payloads, chacha20Stream(generateKey('rho', sharedSecrets[i]!), HOP_PAYLOADS_SIZE));
    if (i === hops.length - 1) payloads.set(filler, HOP_PAYLOADS_SIZE - filler.length);
    nextHmac = hmac(sha256, generateKey('mu', sharedSecrets[i]!), concatBytes(payloads, associatedData));
  }
  const packet = new Uint8Array(ONION_PACKET_SIZE);
  packet[0] = ONION_VERSION;
  packet.set(keys[0]!.ephemeralPublicKey, KEY_OFFSET);
  packet.set(payloads, PAYLOADS_OFFSET);
  packet.set(nextHmac, HMAC_OFFSET);
  return { packet, sharedSecrets };
}

/**
 * How the processing node derives its shared secret: its 32-byte node private key, or a
 * function from the packet's ephemeral public key to the 32-byte shared secret (for keys held
 * elsewhere, e.g. a signer).
 */
export type OnionKeySource = Uint8Array | ((ephemeralPublicKey: Uint8Array) => Uint8Array);

/** A peeled onion. */
export type PeeledOnion = {
  /** This hop's payload TLV bytes (decode with `decodeHopPayload`). */
  readonly payload: Uint8Array;
  /** The shared secret with the origin: keep it to build or wrap a failure onion. */
  readonly sharedSecret: Uint8Array;
  /** The packet's HMAC, the key for replay detection. */
  readonly packetHmac: Uint8Array;
} & ({ readonly final: true } | { readonly final: false; readonly nextPacket: Uint8Array });

function badOnion(code: 'ONION_INVALID' | 'ONION_HMAC_MISMATCH', name: 'invalid_onion_version' | 'invalid_onion_key' | 'invalid_onion_hmac', packet: Uint8Array, why: string): OnionError {
  return new OnionError(ErrorCode[code], `cannot process onion: ${why}`, { name, sha256OfOnion: sha256(packet) });
}

/** The ephemeral key of a packet, as a valid point, or an invalid_onion_key OnionError. */
function ephemeralKeyOf(packet: Uint8Array): Uint8Array {
  const key = packet.slice(KEY_OFFSET, PAYLOADS_OFFSET);
  let valid = false;
  try {
    valid = (key[0] === 2 || key[0] === 3) && secp256k1.utils.isValidPublicKey(key, true);
  } catch {
    valid = false;
  }
  if (!valid) throw badOnion('ONION_INVALID', 'invalid_onion_key', packet, 'the ephemeral key is not a valid public key');
  return key;
}

/**
 * Peels one layer of `packet` (BOLT 4 "Onion Decryption") with the processing node's key and
 * the HTLC's payment hash as `associatedData`. Returns this hop's payload and either the next
 * hop's 1366-byte packet or `final: true` (all-zero next HMAC).
 *
 * Throws RangeError unless `packet` is 1366 bytes (the wire codec guarantees that), and
 * `OnionError` for what BOLT 4 says to fail: ONION_INVALID with `invalid_onion_version` (version
 * byte not 0) or `invalid_onion_key` (ephemeral key not a valid point), ONION_HMAC_MISMATCH with
 * `invalid_onion_hmac`, all three with `sha256OfOnion`; ONION_PAYLOAD_INVALID with
 * `invalid_onion_payload` when the authenticated payload's length framing is malformed or
 * shorter than 2 bytes (the HMAC held, so the caller can answer with a failure onion, using
 * `onionSharedSecret`).
 */
export function peelOnion(packet: Uint8Array, key: OnionKeySource, associatedData: Uint8Array): PeeledOnion {
  assertBytes('onion packet', packet, ONION_PACKET_SIZE);
  assertBytes('associated data', associatedData);
  if (packet[0] !== ONION_VERSION) throw badOnion('ONION_INVALID', 'invalid_onion_version', packet, `unknown version ${packet[0]}`);
  const ephemeralKey = ephemeralKeyOf(packet);
  const sharedSecret = typeof key === 'function' ? key(ephemeralKey) : onionSharedSecret(key, ephemeralKey);
  assertBytes('shared secret', sharedSecret, 32);

  const payloads = packet.subarray(PAYLOADS_OFFSET, HMAC_OFFSET);
  const packetHmac = packet.slice(HMAC_OFFSET);
  const expected = hmac(sha256, generateKey('mu', sharedSecret), concatBytes(payloads, associatedData));
  if (!bytesEqual(expected, packetHmac)) throw badOnion('ONION_HMAC_MISMATCH', 'invalid_onion_hmac', packet, 'HMAC mismatch');

  // hop_payloads ++ 1300 zero bytes, XORed with a 2600-byte rho stream.
  const unwrapped = chacha20Stream(generateKey('rho', sharedSecret), 2 * HOP_PAYLOADS_SIZE);
  xorInto(unwrapped.subarray(0, HOP_PAYLOADS_SIZE), payloads);
  let length: number;
  let prefix: number;
  try {
    const decoded = decodeBigSize(unwrapped, 0);
    if (decoded.value < 2n || decoded.value > BigInt(HOP_PAYLOADS_SIZE)) throw new DecodeError(`payload length ${decoded.value} outside [2, ${HOP_PAYLOADS_SIZE}]`);
    length = Number(decoded.value);
    prefix = decoded.size;
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new OnionError(ErrorCode.ONION_PAYLOAD_INVALID, `invalid onion payload: ${err.message}`, { name: 'invalid_onion_payload', type: 0n, offset: 0 }, { cause: err });
  }
  const end = prefix + length;
  if (end + HMAC_SIZE > HOP_PAYLOADS_SIZE) {
    throw new OnionError(ErrorCode.ONION_PAYLOAD_INVALID, `invalid onion payload: length ${length} leaves no room for the next HMAC`, { name: 'invalid_onion_payload', type: 0n, offset: 0 });
  }
  const payload = unwrapped.slice(prefix, end);
  const nextHmac = unwrapped.subarray(end, end + HMAC_SIZE);
  if (bytesEqual(nextHmac, ZERO_HMAC)) return { payload, sharedSecret, packetHmac, final: true };

  const nextPacket = new Uint8Array(ONION_PACKET_SIZE);
  nextPacket[0] = ONION_VERSION;
  nextPacket.set(blindEphemeralKey(ephemeralKey, sharedSecret), KEY_OFFSET);
  nextPacket.set(unwrapped.subarray(end + HMAC_SIZE, end + HMAC_SIZE + HOP_PAYLOADS_SIZE), PAYLOADS_OFFSET);
  nextPacket.set(nextHmac, HMAC_OFFSET);
  return { payload, sharedSecret, packetHmac, final: false, nextPacket };
}
