/**
 * BOLT 4 key material: the per-hop shared secrets (ECDH), the keys derived from them (rho, mu,
 * um, pad, ammag, ammagext) and the blinded ephemeral key chain the origin walks to reach every
 * hop ("Shared Secret", "Key Generation", "Blinding Ephemeral Onion Keys").
 *
 * Everything here is pure and synchronous; private keys and shared secrets are only ever
 * inputs and outputs, never part of an error message.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, bigIntToBytes, bytesToBigInt } from '../bitcoin/bytes.js';
import { assertPrivateKey, assertPublicKey } from '../bitcoin/ecdsa.js';
import { concatBytes } from '../codec/bytes.js';

const Point = secp256k1.Point;
const Fn = Point.Fn;
const encoder = new TextEncoder();

/** The key types of BOLT 4 "Key Generation" (and `ammag`/`ammagext` of "Returning Errors"). */
export type OnionKeyType = 'rho' | 'mu' | 'um' | 'pad' | 'ammag' | 'ammagext';

const KEY_TYPES: Readonly<Record<OnionKeyType, Uint8Array>> = {
  rho: encoder.encode('rho'),
  mu: encoder.encode('mu'),
  um: encoder.encode('um'),
  pad: encoder.encode('pad'),
  ammag: encoder.encode('ammag'),
  ammagext: encoder.encode('ammagext'),
};

/**
 * HMAC-SHA256 keyed with the ASCII key type (no terminating zero byte) over the 32-byte
 * `secret`: the key of that type for one hop. Throws RangeError unless `secret` is 32 bytes.
 */
export function generateKey(keyType: OnionKeyType, secret: Uint8Array): Uint8Array {
  const label = KEY_TYPES[keyType];
  if (label === undefined) throw new RangeError(`expected an onion key type (rho, mu, um, pad, ammag, ammagext), got ${String(keyType)}`);
  assertBytes('onion secret', secret, 32);
  return hmac(sha256, label, secret);
}

/**
 * The BOLT 4 shared secret of a private key and a public key: SHA256 of the compressed point
 * `privateKey * publicKey` (libsecp256k1's default ECDH). Throws RangeError for a private key
 * outside [1, n-1] or a public key that is not a valid compressed point.
 */
export function onionSharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertPrivateKey('onion private key', privateKey);
  assertPublicKey('onion public key', publicKey);
  return sha256(secp256k1.getSharedSecret(privateKey, publicKey, true));
}

/** SHA256(ephemeral public key || shared secret), the factor the next hop's key is blinded by. */
export function blindingFactor(ephemeralPublicKey: Uint8Array, sharedSecret: Uint8Array): Uint8Array {
  assertBytes('ephemeral public key', ephemeralPublicKey, 33);
  assertBytes('shared secret', sharedSecret, 32);
  return sha256(concatBytes(ephemeralPublicKey, sharedSecret));
}

/**
 * The next hop's ephemeral public key: `ephemeralPublicKey * SHA256(ephemeralPublicKey ||
 * sharedSecret)`, as a forwarding node computes it. Throws RangeError for an invalid point; the
 * blinding factor is a hash, so a zero or out-of-range scalar is (cryptographically) impossible
 * and is also reported as RangeError.
 */
export function blindEphemeralKey(ephemeralPublicKey: Uint8Array, sharedSecret: Uint8Array): Uint8Array {
  assertPublicKey('ephemeral public key', ephemeralPublicKey);
  const factor = scalarOf(blindingFactor(ephemeralPublicKey, sharedSecret));
  return Point.fromBytes(ephemeralPublicKey).multiply(factor).toBytes(true);
}

/** A 32-byte hash read as a non-zero scalar below n (RangeError otherwise). */
function scalarOf(hash: Uint8Array): bigint {
  const k = bytesToBigInt(hash);
  if (k === 0n || k >= Fn.ORDER) throw new RangeError('expected a blinding factor in [1, n-1], got an out-of-range hash');
  return k;
}

/** One hop's keys as the origin derives them while walking the route. */
export interface HopKeys {
  /** The ephemeral public key this hop receives in the onion (compressed, 33 bytes). */
  readonly ephemeralPublicKey: Uint8Array;
  /** The 32-byte shared secret this hop and the origin both derive. */
  readonly sharedSecret: Uint8Array;
}

/**
 * Walks the blinded ephemeral key chain from `sessionKey` over `hopPublicKeys` (in route order)
 * and returns each hop's ephemeral public key and shared secret. Throws RangeError for an
 * invalid session key or hop key; an empty route gives an empty list.
 */
export function routeKeys(sessionKey: Uint8Array, hopPublicKeys: readonly Uint8Array[]): HopKeys[] {
  assertPrivateKey('session key', sessionKey);
  let ephemeralPrivate = bytesToBigInt(sessionKey);
  const out: HopKeys[] = [];
  for (const [i, pubkey] of hopPublicKeys.entries()) {
    assertPublicKey(`hop ${i} public key`, pubkey);
    const priv = bigIntToBytes(ephemeralPrivate, 32);
    const ephemeralPublicKey = secp256k1.getPublicKey(priv, true);
    const sharedSecret = sha256(secp256k1.getSharedSecret(priv, pubkey, true));
    out.push({ ephemeralPublicKey, sharedSecret });
    ephemeralPrivate = Fn.mul(ephemeralPrivate, scalarOf(blindingFactor(ephemeralPublicKey, sharedSecret)));
  }
  return out;
}
