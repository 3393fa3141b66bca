/**
 * BOLT 8 symmetric primitives and the encrypted message framing of an established session.
 *
 * - `encryptWithAd` / `decryptWithAd`: ChaCha20-Poly1305 (RFC 8439) with the Noise nonce
 *   encoding, 4 zero bytes then the 64-bit counter little-endian. node:crypto does the
 *   cipher: it is OpenSSL's, and on this path speed matters (every message costs two AEADs).
 * - `hkdf2`: HKDF-SHA256 with a zero-length info, split into two 32-byte keys.
 * - `FrameEncryptor` / `FrameDecryptor`: one direction of a session each. A frame is
 *   `encrypt(len as u16 BE) (18 bytes) || encrypt(message) (len + 16 bytes)`, each AEAD with
 *   an empty AD and the next nonce. After 1000 uses of a key (500 messages) the key rotates:
 *   `ck', k' = HKDF(ck, k)`, nonce back to 0. The two directions rotate independently.
 *
 * These objects are pure state (no I/O), so the Appendix A vectors drive them directly.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ErrorCode } from '../errors.js';
import { PeerError } from './errors.js';

/** Largest Lightning message BOLT 8 can carry, in bytes (the length prefix is a u16). */
export const MAX_MESSAGE_SIZE = 65_535;
/** Bytes of a Poly1305 tag. */
export const MAC_SIZE = 16;
/** Bytes of an encrypted length prefix: 2-byte length plus its MAC. */
export const LENGTH_HEADER_SIZE = 2 + MAC_SIZE;
/** A key is rotated once its nonce reaches this value (BOLT 8 "Lightning Message Key Rotation"). */
export const KEY_ROTATION_INTERVAL = 1000;

const EMPTY = new Uint8Array(0);

function nonceBytes(n: number): Buffer {
  // 32 zero bits, then the counter as a little-endian u64. Counters here stay far below 2^32
  // (rotation resets them at 1000; handshake nonces are 0 and 1), so the high word is zero.
  const iv = Buffer.alloc(12);
  iv.writeUInt32LE(n, 4);
  return iv;
}

/** ChaCha20-Poly1305 encryption of `plaintext` under `key` and Noise nonce `n`: ciphertext || 16-byte tag. */
export function encryptWithAd(key: Uint8Array, n: number, ad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonceBytes(n), { authTagLength: MAC_SIZE });
  if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length });
  const body = plaintext.length > 0 ? cipher.update(plaintext) : EMPTY;
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/**
 * ChaCha20-Poly1305 decryption of `ciphertext` (ending with its 16-byte tag); null if the tag
 * does not verify, so each caller names its own failure.
 */
export function decryptWithAd(key: Uint8Array, n: number, ad: Uint8Array, ciphertext: Uint8Array): Buffer | null {
  if (ciphertext.length < MAC_SIZE) return null;
  const split = ciphertext.length - MAC_SIZE;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonceBytes(n), { authTagLength: MAC_SIZE });
  if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: ciphertext.length - MAC_SIZE });
  decipher.setAuthTag(ciphertext.subarray(split));
  const body = split > 0 ? decipher.update(ciphertext.subarray(0, split)) : Buffer.alloc(0);
  try {
    decipher.final();
  } catch {
    // OpenSSL's only failure here is "unable to authenticate data": the tag is wrong.
    return null;
  }
  return body;
}

/** HKDF-SHA256(salt, ikm) with empty info, 64 bytes, as two 32-byte halves. */
export function hkdf2(salt: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdf(sha256, ikm, salt, EMPTY, 64);
  return [out.slice(0, 32), out.slice(32, 64)];
}

/** The key, chaining key and nonce of one direction; shared by the encryptor and decryptor. */
class CipherState {
  #key: Uint8Array;
  // The same key as a KeyObject: node:crypto then skips re-importing it on every AEAD.
  #keyObject: KeyObject;
  #ck: Uint8Array;
  #nonce = 0;
  readonly #iv = Buffer.alloc(12);

  constructor(key: Uint8Array, chainingKey: Uint8Array) {
    this.#key = Uint8Array.from(key);
    this.#keyObject = createSecretKey(this.#key);
    this.#ck = Uint8Array.from(chainingKey);
  }

  /**
   * The key and IV for the next AEAD; advances the nonce and rotates the key once it reaches
   * 1000, as BOLT 8 says. The returned IV is only valid until the next call.
   */
  next(): { key: KeyObject; iv: Buffer } {
    const key = this.#keyObject;
    // One IV buffer per direction: node:crypto copies it when the cipher is created, and
    // every use is synchronous, so it is safe to rewrite it for the next call.
    this.#iv.writeUInt32LE(this.#nonce, 4);
    this.#nonce += 1;
    if (this.#nonce === KEY_ROTATION_INTERVAL) {
      const [ck, k] = hkdf2(this.#ck, this.#key);
      this.#ck = ck;
      this.#key = k;
      this.#keyObject = createSecretKey(k);
      this.#nonce = 0;
    }
    return { key, iv: this.#iv };
  }
}

/**
 * Encrypts the outgoing messages of one session. Not thread-safe in the JS sense: frames must
 * reach the wire in the order `encrypt` produced them, because each consumes two nonces.
 */
export class FrameEncryptor {
  readonly #state: CipherState;
  // The 2-byte length plaintext, reused: the cipher reads it synchronously.
  readonly #len = Buffer.alloc(2);

  /** An encryptor starting at nonce 0 with sending key `sk` and sending chaining key `sck`. */
  constructor(sk: Uint8Array, sck: Uint8Array) {
    this.#state = new CipherState(sk, sck);
  }

  /**
   * The wire frame of `message`: 18-byte encrypted length, then the encrypted message and its
   * MAC. Throws RangeError for a message longer than 65535 bytes (nothing is consumed then).
   */
  encrypt(message: Uint8Array): Buffer {
    if (!(message instanceof Uint8Array)) throw new TypeError(`expected the message to be a Uint8Array, got ${typeof message}`);
    if (message.length > MAX_MESSAGE_SIZE) {
      throw new RangeError(`expected a message of at most ${MAX_MESSAGE_SIZE} bytes, got ${message.length}`);
    }
    const frame = Buffer.allocUnsafe(LENGTH_HEADER_SIZE + message.length + MAC_SIZE);
    this.#len.writeUInt16BE(message.length, 0);
    this.#seal(this.#len, frame, 0);
    this.#seal(message, frame, LENGTH_HEADER_SIZE);
    return frame;
  }

  #seal(plaintext: Uint8Array, out: Buffer, offset: number): void {
    const { key, iv } = this.#state.next();
    const cipher = createCipheriv('chacha20-poly1305', key, iv, { authTagLength: MAC_SIZE });
    let at = offset;
    if (plaintext.length > 0) at += cipher.update(plaintext).copy(out, at);
    cipher.final();
    cipher.getAuthTag().copy(out, at);
  }
}

/**
 * Decrypts the incoming messages of one session, in two steps because the body length is only
 * known once the header is decrypted: `decryptLength(18 bytes)`, then
 * `decryptMessage(length + 16 bytes)`. A MAC failure throws PeerError NOISE_DECRYPT_FAILED and
 * leaves the decryptor unusable (the session must be closed: the nonces are out of step).
 */
export class FrameDecryptor {
  readonly #state: CipherState;
  #failed = false;
  #expectBody = false;

  /** A decryptor starting at nonce 0 with receiving key `rk` and receiving chaining key `rck`. */
  constructor(rk: Uint8Array, rck: Uint8Array) {
    this.#state = new CipherState(rk, rck);
  }

  /** The length of the next message, from its 18-byte encrypted header. */
  decryptLength(header: Uint8Array): number {
    this.#check(false);
    if (header.length !== LENGTH_HEADER_SIZE) {
      throw new RangeError(`expected a ${LENGTH_HEADER_SIZE}-byte length header, got ${header.length} bytes`);
    }
    const plain = this.#open(header, 'length');
    this.#expectBody = true;
    return (plain[0]! << 8) | plain[1]!;
  }

  /** The plaintext of the message whose length `decryptLength` returned, from its length + 16 bytes. */
  decryptMessage(body: Uint8Array): Buffer {
    this.#check(true);
    if (body.length < MAC_SIZE) throw new RangeError(`expected at least ${MAC_SIZE} bytes of message body, got ${body.length}`);
    const plain = this.#open(body, 'message');
    this.#expectBody = false;
    return plain;
  }

  #check(body: boolean): void {
    if (this.#failed) throw new PeerError(ErrorCode.NOISE_DECRYPT_FAILED, 'the session already failed to decrypt a message');
    if (this.#expectBody !== body) {
      throw new TypeError(`expected ${this.#expectBody ? 'decryptMessage' : 'decryptLength'} next, got ${body ? 'decryptMessage' : 'decryptLength'}`);
    }
  }

  #open(sealed: Uint8Array, what: string): Buffer {
    const { key, iv } = this.#state.next();
    const split = sealed.length - MAC_SIZE;
    const decipher = createDecipheriv('chacha20-poly1305', key, iv, { authTagLength: MAC_SIZE });
    decipher.setAuthTag(sealed.subarray(split));
    const plain = split > 0 ? decipher.update(sealed.subarray(0, split)) : Buffer.alloc(0);
    try {
      decipher.final();
    } catch {
      this.#failed = true;
      throw new PeerError(ErrorCode.NOISE_DECRYPT_FAILED, `the MAC of the encrypted ${what} does not verify`);
    }
    return plain;
  }
}
