/**
 * ECDSA over secp256k1 the way Bitcoin and BOLT 3 use it.
 *
 * Signatures are made over 32-byte digests (sighashes), so noble's prehash is always off.
 * Signing is deterministic (RFC 6979, no extra entropy) and always low-S, which is what the
 * BOLT 3 vectors were produced with. Lightning messages carry the 64-byte compact form;
 * witnesses carry strict DER plus a sighash byte (BIP 66).
 */
import { bytesToHex } from '../codec/bytes.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { DecodeError } from '../errors.js';
import { assertBytes, describe } from './bytes.js';

/** SIGHASH_ALL: the signature commits to every input and output. */
export const SIGHASH_ALL = 0x01;

/** The compressed (33-byte) public key of a 32-byte private key. Throws RangeError for an invalid key. */
export function publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  assertPrivateKey('private key', privateKey);
  return secp256k1.getPublicKey(privateKey, true);
}

/** Throws unless `value` is a 32-byte scalar in [1, n-1]. Never echoes the key. */
export function assertPrivateKey(name: string, value: unknown): asserts value is Uint8Array {
  assertBytes(name, value, 32);
  if (!secp256k1.utils.isValidSecretKey(value)) {
    throw new RangeError(`expected ${name} to be a secp256k1 scalar in [1, n-1], got an out-of-range value`);
  }
}

/** Throws unless `value` is a 33-byte compressed encoding of a point on secp256k1. */
export function assertPublicKey(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 33 || (value[0] !== 2 && value[0] !== 3)) {
    throw new RangeError(`expected ${name} to be a 33-byte compressed public key, got ${describe(value)}`);
  }
  // Checking the point means a modular square root; the same few keys (basepoints, funding
  // keys, derived commitment keys) are checked again and again, so valid ones are remembered.
  const key = bytesToHex(value);
  if (validKeys.has(key)) return;
  if (!secp256k1.utils.isValidPublicKey(value, true)) {
    throw new RangeError(`expected ${name} to be a point on secp256k1, got an invalid encoding`);
  }
  if (validKeys.size >= VALID_KEY_CACHE_SIZE) validKeys.delete(validKeys.values().next().value!);
  validKeys.add(key);
}

/** Compressed public keys already checked to be on the curve (public data; bounded). */
const VALID_KEY_CACHE_SIZE = 4096;
const validKeys = new Set<string>();

/** Signs a 32-byte digest: deterministic (RFC 6979), low-S, 64-byte compact `r || s`. */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Uint8Array {
  assertBytes('digest', digest, 32);
  assertPrivateKey('private key', privateKey);
  return secp256k1.sign(digest, privateKey, { prehash: false, lowS: true, extraEntropy: false });
}

/** True if `signature` (64-byte compact, low-S) signs `digest` for `publicKey`. False for any malformed input. */
export function verifyDigest(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || digest.length !== 32) return false;
  try {
    return secp256k1.verify(signature, digest, publicKey, { prehash: false, lowS: true });
  } catch {
    // Invalid public key or out-of-range r/s: not a valid signature.
    return false;
  }
}

/** The strict DER encoding of a 64-byte compact signature. */
export function signatureToDer(signature: Uint8Array): Uint8Array {
  assertBytes('compact signature', signature, 64);
  return secp256k1.Signature.fromBytes(signature, 'compact').toBytes('der');
}

/** The 64-byte compact form of a strict-DER signature. Throws DecodeError if it is not strict DER. */
export function signatureFromDer(der: Uint8Array): Uint8Array {
  assertBytes('DER signature', der);
  if (!isStrictDer(der)) throw new DecodeError(`signature is not strict DER (${der.length} bytes)`);
  try {
    return secp256k1.Signature.fromBytes(der, 'der').toBytes('compact');
  } catch (cause) {
    throw new DecodeError('signature r or s is out of range', { cause });
  }
}

/** A witness signature: strict DER followed by the sighash type byte. */
export function encodeWitnessSignature(signature: Uint8Array, sighashType: number = SIGHASH_ALL): Uint8Array {
  const der = signatureToDer(signature);
  const out = new Uint8Array(der.length + 1);
  out.set(der);
  out[der.length] = sighashType;
  return out;
}

/** Splits a witness signature into its compact form and sighash type. Throws DecodeError if malformed. */
export function decodeWitnessSignature(bytes: Uint8Array): { signature: Uint8Array; sighashType: number } {
  assertBytes('witness signature', bytes);
  if (bytes.length < 9) throw new DecodeError(`witness signature too short: ${bytes.length} bytes`);
  return { signature: signatureFromDer(bytes.subarray(0, -1)), sighashType: bytes[bytes.length - 1]! };
}

/**
 * True if `sig` (a DER signature without sighash byte) follows the BIP 66 encoding rules: a
 * SEQUENCE of two positive INTEGERs, each minimally encoded, with consistent lengths and
 * nothing after. Says nothing about whether r and s are in range.
 */
export function isStrictDer(sig: Uint8Array): boolean {
  if (sig.length < 8 || sig.length > 72) return false;
  if (sig[0] !== 0x30 || sig[1] !== sig.length - 2) return false;
  const lenR = sig[3]!;
  if (sig[2] !== 0x02 || lenR === 0 || 5 + lenR >= sig.length) return false;
  const lenS = sig[5 + lenR]!;
  if (sig[4 + lenR] !== 0x02 || lenS === 0 || lenR + lenS + 6 !== sig.length) return false;
  const integerOk = (start: number, len: number): boolean => {
    if (sig[start]! & 0x80) return false; // negative
    // A leading zero is allowed only to keep the next byte's top bit from reading as a sign.
    if (len > 1 && sig[start] === 0x00 && !(sig[start + 1]! & 0x80)) return false;
    return true;
  };
  return integerOk(4, lenR) && integerOk(6 + lenR, lenS);
}
