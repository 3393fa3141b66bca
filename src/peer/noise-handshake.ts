/**
 * The BOLT 8 handshake, Noise_XK_secp256k1_ChaChaPoly_SHA256, as two pure state objects.
 *
 *     <- s            (the initiator knows the responder's node key beforehand)
 *     -> e, es        act one, 50 bytes
 *     <- e, ee        act two, 50 bytes
 *     -> s, se        act three, 66 bytes
 *
 * `InitiatorHandshake` and `ResponderHandshake` hold `ck` (chaining key), `h` (handshake
 * hash) and the temporary keys; each method runs one act and returns the bytes to send. The
 * ephemeral private key is injected (tests pass Appendix A's; `Connection` passes a fresh
 * random one), so nothing here reads a clock, an entropy source or a socket. Any failure
 * throws NoiseHandshakeError with the Appendix A name of the failure and leaves the object
 * failed: the connection must be dropped without sending anything more.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { type HandshakeFailure, NoiseHandshakeError } from './errors.js';
import { decryptWithAd, encryptWithAd, FrameDecryptor, FrameEncryptor, hkdf2, MAC_SIZE } from './noise-cipher.js';

/** The Noise protocol name BOLT 8 hashes into the initial state. */
export const PROTOCOL_NAME = 'Noise_XK_secp256k1_ChaChaPoly_SHA256';
/** The prologue BOLT 8 mixes in after the protocol name. */
export const PROLOGUE = 'lightning';
/** The only handshake version this implementation speaks. */
export const HANDSHAKE_VERSION = 0;
/** Bytes of act one and act two: version, compressed ephemeral key, MAC. */
export const ACT_ONE_SIZE = 1 + 33 + MAC_SIZE;
/** Bytes of act two. */
export const ACT_TWO_SIZE = ACT_ONE_SIZE;
/** Bytes of act three: version, encrypted static key with its MAC, final MAC. */
export const ACT_THREE_SIZE = 1 + 33 + MAC_SIZE + MAC_SIZE;

const EMPTY = new Uint8Array(0);
// h and ck after "Handshake State Initialization" steps 1–3; identical for every session.
const INITIAL_CK = sha256(utf8ToBytes(PROTOCOL_NAME));
const INITIAL_H = sha256(concatBytes(INITIAL_CK, utf8ToBytes(PROLOGUE)));

/** The result of a completed handshake: who the peer is and the two directions' ciphers. */
export interface HandshakeResult {
  /** The peer's static (node) public key, compressed, 33 bytes. */
  readonly remoteStaticKey: Uint8Array;
  /** Encrypts what we send. */
  readonly encryptor: FrameEncryptor;
  /** Decrypts what we receive. */
  readonly decryptor: FrameDecryptor;
}

/** What an initiator needs: our node key, the responder's node key and a fresh ephemeral key. */
export interface InitiatorOptions {
  /** Our static (node) private key, 32 bytes. */
  readonly localStaticKey: Uint8Array;
  /** The responder's static (node) public key, compressed, 33 bytes. */
  readonly remoteStaticKey: Uint8Array;
  /** The ephemeral private key for this session, 32 bytes; never reuse one. */
  readonly ephemeralKey: Uint8Array;
}

/** What a responder needs: our node key and a fresh ephemeral key. */
export interface ResponderOptions {
  /** Our static (node) private key, 32 bytes. */
  readonly localStaticKey: Uint8Array;
  /** The ephemeral private key for this session, 32 bytes; never reuse one. */
  readonly ephemeralKey: Uint8Array;
}

/** A fresh random ephemeral private key from the OS CSPRNG. */
export function generateEphemeralKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}

/** The compressed public key of a 32-byte private key. Throws TypeError for an invalid key. */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  checkPrivateKey('private key', privateKey);
  return secp256k1.getPublicKey(privateKey, true);
}

/** True if `key` is a valid 33-byte compressed secp256k1 public key. */
export function isCompressedPublicKey(key: unknown): key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 33 || (key[0] !== 2 && key[0] !== 3)) return false;
  try {
    secp256k1.Point.fromBytes(key);
    return true;
  } catch {
    return false;
  }
}

function checkPrivateKey(name: string, key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32 || !secp256k1.utils.isValidSecretKey(key)) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    throw new TypeError(`expected ${name} to be a valid 32-byte secp256k1 private key, got ${got}${key instanceof Uint8Array && key.length === 32 ? ' out of range' : ''}`);
  }
}

// ECDH(k, rk) of BOLT 8: SHA-256 of the compressed shared point.
function ecdh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return sha256(secp256k1.getSharedSecret(privateKey, publicKey, true));
}

type State = 'act1' | 'act2' | 'act3' | 'done' | 'failed';

/** The symmetric half shared by both roles: `ck`, `h` and the failure bookkeeping. */
abstract class HandshakeBase {
  protected ck: Uint8Array = INITIAL_CK;
  protected h: Uint8Array;
  protected state: State = 'act1';
  protected readonly ls: Uint8Array;
  protected readonly e: Uint8Array;
  protected readonly ePub: Uint8Array;

  protected constructor(localStaticKey: Uint8Array, ephemeralKey: Uint8Array, responderStatic: Uint8Array) {
    this.ls = Uint8Array.from(localStaticKey);
    this.e = Uint8Array.from(ephemeralKey);
    this.ePub = secp256k1.getPublicKey(this.e, true);
    this.h = sha256(concatBytes(INITIAL_H, responderStatic));
  }

  protected mixHash(data: Uint8Array): void {
    this.h = sha256(concatBytes(this.h, data));
  }

  protected mixKey(ikm: Uint8Array): Uint8Array {
    const [ck, temp] = hkdf2(this.ck, ikm);
    this.ck = ck;
    return temp;
  }

  protected expect(state: State, method: string): void {
    if (this.state !== state) throw new TypeError(`expected ${method}() in state ${state}, got it in state ${this.state}`);
  }

  protected fail(reason: HandshakeFailure, message: string): never {
    this.state = 'failed';
    throw new NoiseHandshakeError(reason, message);
  }

  /** Parses act one or two: exact length, version 0, a valid key; returns the remote ephemeral key and MAC. */
  protected readEphemeralAct(act: 1 | 2, m: Uint8Array): { re: Uint8Array; c: Uint8Array } {
    if (!(m instanceof Uint8Array)) throw new TypeError(`expected act ${act} to be a Uint8Array, got ${typeof m}`);
    if (m.length !== ACT_ONE_SIZE) this.fail(`ACT${act}_READ_FAILED`, `expected ${ACT_ONE_SIZE} bytes, got ${m.length}`);
    if (m[0] !== HANDSHAKE_VERSION) this.fail(`ACT${act}_BAD_VERSION`, `unknown handshake version ${m[0]}`);
    const re = m.slice(1, 34);
    if (!isCompressedPublicKey(re)) this.fail(`ACT${act}_BAD_PUBKEY`, 'the ephemeral key is not a valid compressed public key');
    return { re, c: m.slice(34) };
  }

  /**
   * Builds act one or two: mixes in our ephemeral key, then the ECDH of our ephemeral key with
   * `remote`; returns the act and the temporary key it derived (act three reuses temp_k2).
   */
  protected writeEphemeralAct(remote: Uint8Array): { m: Uint8Array; temp: Uint8Array } {
    this.mixHash(this.ePub);
    const temp = this.mixKey(ecdh(this.e, remote));
    const c = encryptWithAd(temp, 0, this.h, EMPTY);
    this.mixHash(c);
    return { m: concatBytes(Uint8Array.of(HANDSHAKE_VERSION), this.ePub, c), temp };
  }
}

/**
 * The initiating side: `actOne()` gives the 50 bytes to send; `actTwo(bytes)` checks the
 * responder's act two and returns act three (66 bytes) with the session. One use only.
 */
export class InitiatorHandshake extends HandshakeBase {
  readonly #rs: Uint8Array;

  /** Validates the keys (TypeError if one is not a valid key); runs no act yet. */
  constructor(options: InitiatorOptions) {
    checkPrivateKey('the local static key', options.localStaticKey);
    checkPrivateKey('the ephemeral key', options.ephemeralKey);
    if (!isCompressedPublicKey(options.remoteStaticKey)) {
      throw new TypeError('expected the remote static key to be a valid 33-byte compressed public key');
    }
    super(options.localStaticKey, options.ephemeralKey, options.remoteStaticKey);
    this.#rs = Uint8Array.from(options.remoteStaticKey);
  }

  /** Act one: `e, es`. */
  actOne(): Uint8Array {
    this.expect('act1', 'actOne');
    const { m } = this.writeEphemeralAct(this.#rs);
    this.state = 'act2';
    return m;
  }

  /** Reads act two (`e, ee`), then writes act three (`s, se`) and derives the session keys. */
  actTwo(m: Uint8Array): { actThree: Uint8Array; result: HandshakeResult } {
    this.expect('act2', 'actTwo');
    const { re, c } = this.readEphemeralAct(2, m);
    this.mixHash(re);
    const tempK2 = this.mixKey(ecdh(this.e, re));
    if (decryptWithAd(tempK2, 0, this.h, c) === null) this.fail('ACT2_BAD_TAG', 'the MAC of act two does not verify');
    this.mixHash(c);

    const c3 = encryptWithAd(tempK2, 1, this.h, secp256k1.getPublicKey(this.ls, true));
    this.mixHash(c3);
    const tempK3 = this.mixKey(ecdh(this.ls, re));
    const t = encryptWithAd(tempK3, 0, this.h, EMPTY);
    const [sk, rk] = hkdf2(this.ck, EMPTY);
    this.state = 'done';
    return {
      actThree: concatBytes(Uint8Array.of(HANDSHAKE_VERSION), c3, t),
      result: {
        remoteStaticKey: Uint8Array.from(this.#rs),
        encryptor: new FrameEncryptor(sk, this.ck),
        decryptor: new FrameDecryptor(rk, this.ck),
      },
    };
  }
}

/**
 * The responding side: `actOne(bytes)` checks the initiator's act one and returns act two;
 * `actThree(bytes)` checks act three and returns the session, including the initiator's
 * node key (learnt only now). One use only.
 */
export class ResponderHandshake extends HandshakeBase {
  #tempK2: Uint8Array = EMPTY;

  /** Validates the keys (TypeError if one is not a valid key); runs no act yet. */
  constructor(options: ResponderOptions) {
    checkPrivateKey('the local static key', options.localStaticKey);
    checkPrivateKey('the ephemeral key', options.ephemeralKey);
    super(options.localStaticKey, options.ephemeralKey, secp256k1.getPublicKey(options.localStaticKey, true));
  }

  /** Reads act one (`e, es`) and writes act two (`e, ee`). */
  actOne(m: Uint8Array): Uint8Array {
    this.expect('act1', 'actOne');
    const { re, c } = this.readEphemeralAct(1, m);
    this.mixHash(re);
    const tempK1 = this.mixKey(ecdh(this.ls, re));
    // A bad MAC here means the initiator does not know our node key.
    if (decryptWithAd(tempK1, 0, this.h, c) === null) this.fail('ACT1_BAD_TAG', 'the MAC of act one does not verify');
    this.mixHash(c);
    const { m: act2, temp } = this.writeEphemeralAct(re);
    this.#tempK2 = temp;
    this.state = 'act3';
    return act2;
  }

  /** Reads act three (`s, se`): recovers and checks the initiator's node key, derives the session. */
  actThree(m: Uint8Array): HandshakeResult {
    this.expect('act3', 'actThree');
    if (!(m instanceof Uint8Array)) throw new TypeError(`expected act 3 to be a Uint8Array, got ${typeof m}`);
    if (m.length !== ACT_THREE_SIZE) this.fail('ACT3_READ_FAILED', `expected ${ACT_THREE_SIZE} bytes, got ${m.length}`);
    if (m[0] !== HANDSHAKE_VERSION) this.fail('ACT3_BAD_VERSION', `unknown handshake version ${m[0]}`);
    const c = m.slice(1, 50);
    const t = m.slice(50);
    const rs = decryptWithAd(this.#tempK2, 1, this.h, c);
    if (rs === null) this.fail('ACT3_BAD_CIPHERTEXT', 'the MAC of the encrypted static key does not verify');
    const remoteStatic = new Uint8Array(rs);
    if (!isCompressedPublicKey(remoteStatic)) this.fail('ACT3_BAD_PUBKEY', 'the static key is not a valid compressed public key');
    this.mixHash(c);
    const tempK3 = this.mixKey(ecdh(this.e, remoteStatic));
    if (decryptWithAd(tempK3, 0, this.h, t) === null) this.fail('ACT3_BAD_TAG', 'the final MAC of act three does not verify');
    const [rk, sk] = hkdf2(this.ck, EMPTY);
    this.state = 'done';
    return {
      remoteStaticKey: remoteStatic,
      encryptor: new FrameEncryptor(sk, this.ck),
      decryptor: new FrameDecryptor(rk, this.ck),
    };
  }
}
