/**
 * secret·G for a per-commitment secret the remote revealed (revoke_and_ack), as a function
 * the caller injects: the check that a revealed secret matches its stored point runs on every
 * payment round, and how fast it is depends on what the platform offers. This module is the
 * browser-safe default (noble, pure JS); the Node composition root injects libsecp256k1
 * (secret-point-wasm.ts). Every implementation refuses exactly the secrets assertPrivateKey
 * refuses, with its errors, and returns the same bytes.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToBigInt } from './bytes.js';
import { assertPrivateKey } from './ecdsa.js';

/**
 * The compressed (33-byte SEC1) point secret·G of a 32-byte secret revealed in the clear.
 * Throws TypeError/RangeError (assertPrivateKey's) unless the secret is 32 bytes in
 * [1, n-1]. Pure and synchronous, so the stores can call it inside their transactions. An
 * implementation need not be constant-time: it is only given secrets already public.
 */
export type SecretToPoint = (secret: Uint8Array) => Uint8Array;

/** The name a refused secret gets in its error message. */
const NAME = 'revealed per-commitment secret';

/**
 * Checks a secret the way every SecretToPoint must before it multiplies (assertPrivateKey,
 * named as here), so that another implementation refuses with the same errors.
 */
export function assertRevealedSecret(secret: unknown): asserts secret is Uint8Array {
  assertPrivateKey(NAME, secret);
}

/**
 * The default SecretToPoint, on noble: what `secp256k1.getPublicKey(secret, true)` returns.
 * It multiplies without constant-time blinding, which is safe here and about 1.7x cheaper
 * than getPublicKey: the secret is the remote's, given to us in the clear by
 * revoke_and_ack, so its timing reveals nothing to anyone.
 */
export const revealedPoint: SecretToPoint = (secret) => {
  assertRevealedSecret(secret);
  const { Point } = secp256k1;
  // SEC1 compressed form, written here rather than by toBytes, which re-checks that the point
  // is on the curve: k·G for 0 < k < n always is, and is never the point at infinity.
  const { x, y } = Point.BASE.multiplyUnsafe(bytesToBigInt(secret)).toAffine();
  const out = new Uint8Array(33);
  out[0] = (y & 1n) === 1n ? 0x03 : 0x02;
  out.set(Point.Fp.toBytes(x), 1);
  return out;
};
