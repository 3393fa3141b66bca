/**
 * BOLT 3 per-commitment key derivation ("Key Derivation", test vectors in Appendix E).
 *
 *   pubkey            = basepoint + SHA256(per_commitment_point || basepoint) * G
 *   privkey           = basepoint_secret + SHA256(per_commitment_point || basepoint)
 *   revocationpubkey  = revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point)
 *                     + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)
 *   revocationprivkey = revocation_basepoint_secret * SHA256(revocation_basepoint || per_commitment_point)
 *                     + per_commitment_secret * SHA256(per_commitment_point || revocation_basepoint)
 *
 * The first formula gives localpubkey, local/remote_htlcpubkey and local/remote_delayedpubkey
 * (with the matching basepoint). With option_static_remotekey, remotepubkey is the remote
 * payment_basepoint itself and needs no derivation.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { bigIntToBytes, bytesToBigInt } from './bytes.js';
import { bytesToHex } from '../codec/bytes.js';
import { assertPrivateKey, assertPublicKey } from './ecdsa.js';

const Point = secp256k1.Point;
const Fn = Point.Fn;

/**
 * Decompressed public points, by their compressed bytes: a channel derives every commitment's
 * keys from the same few basepoints, and decompressing one costs a modular square root.
 * Public data only; bounded.
 */
const POINT_CACHE_SIZE = 1024;
const pointCache = new Map<string, InstanceType<typeof Point>>();
function publicPoint(name: string, bytes: Uint8Array): InstanceType<typeof Point> {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 33 || (bytes[0] !== 2 && bytes[0] !== 3)) assertPublicKey(name, bytes);
  const key = bytesToHex(bytes);
  let point = pointCache.get(key);
  if (point === undefined) {
    try {
      point = Point.fromBytes(bytes);
    } catch {
      assertPublicKey(name, bytes); // throws the RangeError naming it
      throw new RangeError(`expected ${name} to be a point on secp256k1`);
    }
    if (pointCache.size >= POINT_CACHE_SIZE) pointCache.delete(pointCache.keys().next().value!);
    pointCache.set(key, point);
  }
  return point;
}

/** The per-commitment point of a 32-byte per-commitment secret (secret * G, compressed). */
export function perCommitmentPoint(perCommitmentSecret: Uint8Array): Uint8Array {
  assertPrivateKey('per-commitment secret', perCommitmentSecret);
  return Point.BASE.multiply(bytesToBigInt(perCommitmentSecret)).toBytes(true);
}

/** basepoint + SHA256(per_commitment_point || basepoint) * G. */
export function derivePublicKey(basepoint: Uint8Array, perCommitmentPoint: Uint8Array): Uint8Array {
  const base = publicPoint('basepoint', basepoint);
  publicPoint('per-commitment point', perCommitmentPoint);
  const tweak = scalarOf(sha256(concatBytes(perCommitmentPoint, basepoint)));
  // Every input is public (points and a hash of them): the faster variable-time multiply is safe.
  return base.add(Point.BASE.multiplyUnsafe(tweak)).toBytes(true);
}

/** basepoint_secret + SHA256(per_commitment_point || basepoint) mod n. */
export function derivePrivateKey(basepointSecret: Uint8Array, perCommitmentPoint: Uint8Array): Uint8Array {
  assertPrivateKey('basepoint secret', basepointSecret);
  assertPublicKey('per-commitment point', perCommitmentPoint);
  const basepoint = Point.BASE.multiply(bytesToBigInt(basepointSecret)).toBytes(true);
  const tweak = scalarOf(sha256(concatBytes(perCommitmentPoint, basepoint)));
  return scalarToBytes(Fn.add(bytesToBigInt(basepointSecret), tweak));
}

/** The revocation public key for `revocationBasepoint` (one side) and `perCommitmentPoint` (the other). */
export function deriveRevocationPublicKey(revocationBasepoint: Uint8Array, perCommitmentPoint: Uint8Array): Uint8Array {
  const base = publicPoint('revocation basepoint', revocationBasepoint);
  const point = publicPoint('per-commitment point', perCommitmentPoint);
  const baseTweak = scalarOf(sha256(concatBytes(revocationBasepoint, perCommitmentPoint)));
  const pointTweak = scalarOf(sha256(concatBytes(perCommitmentPoint, revocationBasepoint)));
  // Public inputs only (as in derivePublicKey): variable-time multiplies.
  const a = base.multiplyUnsafe(baseTweak);
  const b = point.multiplyUnsafe(pointTweak);
  return a.add(b).toBytes(true);
}

/**
 * The revocation private key, computable once the peer has revealed the per-commitment secret
 * of a commitment we hold the revocation basepoint secret for.
 */
export function deriveRevocationPrivateKey(revocationBasepointSecret: Uint8Array, perCommitmentSecret: Uint8Array): Uint8Array {
  assertPrivateKey('revocation basepoint secret', revocationBasepointSecret);
  assertPrivateKey('per-commitment secret', perCommitmentSecret);
  const revocationBasepoint = Point.BASE.multiply(bytesToBigInt(revocationBasepointSecret)).toBytes(true);
  const point = perCommitmentPoint(perCommitmentSecret);
  const baseTweak = scalarOf(sha256(concatBytes(revocationBasepoint, point)));
  const pointTweak = scalarOf(sha256(concatBytes(point, revocationBasepoint)));
  return scalarToBytes(
    Fn.add(Fn.mul(bytesToBigInt(revocationBasepointSecret), baseTweak), Fn.mul(bytesToBigInt(perCommitmentSecret), pointTweak)),
  );
}

/** A hash as a scalar. An output >= n (probability ~2^-128) is rejected, as libsecp256k1's tweak functions do. */
function scalarOf(hash: Uint8Array): bigint {
  const n = bytesToBigInt(hash);
  if (n >= Fn.ORDER) throw new RangeError('expected a tweak below the curve order, got an out-of-range hash');
  return n;
}

function scalarToBytes(k: bigint): Uint8Array {
  if (k === 0n) throw new RangeError('expected a non-zero derived private key, got zero');
  return bigIntToBytes(k, 32);
}
