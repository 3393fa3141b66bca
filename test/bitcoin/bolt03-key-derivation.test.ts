/**
 * BOLT 3 Appendix E: key derivation test vectors, read from the spec.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  deriveRevocationPrivateKey,
  deriveRevocationPublicKey,
  derivePrivateKey,
  derivePublicKey,
  perCommitmentPoint,
} from '../../src/bitcoin/key-derivation.js';
import { publicKeyFromPrivate } from '../../src/bitcoin/ecdsa.js';
import { keyDerivationVector } from './support/bolt03-vectors.js';

const v = keyDerivationVector();

describe('BOLT 3 Appendix E: key derivation', () => {
  it('the listed points are the public keys of the listed secrets', () => {
    expect(bytesToHex(publicKeyFromPrivate(v.baseSecret))).toBe(bytesToHex(v.basePoint));
    expect(bytesToHex(perCommitmentPoint(v.perCommitmentSecret))).toBe(bytesToHex(v.perCommitmentPoint));
  });

  it('derivation of pubkey from basepoint and per_commitment_point', () => {
    expect(bytesToHex(derivePublicKey(v.basePoint, v.perCommitmentPoint))).toBe(bytesToHex(v.localPubkey));
  });

  it('derivation of private key from basepoint secret and per_commitment_secret', () => {
    const priv = derivePrivateKey(v.baseSecret, v.perCommitmentPoint);
    expect(bytesToHex(priv)).toBe(bytesToHex(v.localPrivkey));
    expect(bytesToHex(publicKeyFromPrivate(priv))).toBe(bytesToHex(v.localPubkey));
  });

  it('derivation of revocation pubkey from basepoint and per_commitment_point', () => {
    expect(bytesToHex(deriveRevocationPublicKey(v.basePoint, v.perCommitmentPoint))).toBe(bytesToHex(v.revocationPubkey));
  });

  it('derivation of revocation secret from basepoint_secret and per_commitment_secret', () => {
    const priv = deriveRevocationPrivateKey(v.baseSecret, v.perCommitmentSecret);
    expect(bytesToHex(priv)).toBe(bytesToHex(v.revocationPrivkey));
    expect(bytesToHex(publicKeyFromPrivate(priv))).toBe(bytesToHex(v.revocationPubkey));
  });

  it('rejects malformed keys with RangeError, without echoing them', () => {
    const bad = new Uint8Array(33).fill(7);
    expect(() => derivePublicKey(bad, v.perCommitmentPoint)).toThrow(RangeError);
    expect(() => derivePrivateKey(new Uint8Array(32), v.perCommitmentPoint)).toThrow(RangeError);
    const secret = new Uint8Array(31).fill(0xab);
    expect(() => derivePrivateKey(secret, v.perCommitmentPoint)).toThrow(/expected basepoint secret to be 32 bytes, got 31/);
    expect(() => derivePrivateKey(secret, v.perCommitmentPoint)).not.toThrow(/abab/);
  });
});
