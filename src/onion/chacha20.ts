/**
 * ChaCha20 (RFC 8439 §2.3–2.4), the stream cipher BOLT 4 uses as its pseudo-random generator.
 *
 * BOLT 4 only ever needs the key stream (a zero 96-bit nonce, block counter 0, XORed into a
 * zero message), but the block function takes a nonce and counter so the RFC's own test vectors
 * can check it. Written here because @noble/ciphers is not a dependency and node:crypto is not
 * available where this module must run (browsers); it is small and checked against RFC 8439.
 */
import { assertBytes } from '../bitcoin/bytes.js';

// "expand 32-byte k" as four little-endian words.
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;
const BLOCK = 64;

/** Little-endian u32 load; callers pass offsets inside the array. */
function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/**
 * Writes the 64-byte ChaCha20 block for `state` (16 words: constants, key, counter, nonce)
 * into `out` at `offset`: 20 rounds, then the input state added word by word, little-endian.
 */
function block(state: Uint32Array, out: Uint8Array, offset: number): void {
  let x0 = state[0]!, x1 = state[1]!, x2 = state[2]!, x3 = state[3]!;
  let x4 = state[4]!, x5 = state[5]!, x6 = state[6]!, x7 = state[7]!;
  let x8 = state[8]!, x9 = state[9]!, x10 = state[10]!, x11 = state[11]!;
  let x12 = state[12]!, x13 = state[13]!, x14 = state[14]!, x15 = state[15]!;
  for (let i = 0; i < 10; i++) {
    // Column round, then diagonal round (RFC 8439 §2.3.1); each line is one quarter round.
    x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16);
    x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
    x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24);
    x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);
    x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16);
    x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
    x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24);
    x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);
    x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16);
    x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
    x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24);
    x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);
    x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16);
    x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
    x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24);
    x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);

    x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16);
    x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
    x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24);
    x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);
    x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16);
    x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
    x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24);
    x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);
    x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16);
    x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
    x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24);
    x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);
    x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16);
    x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
    x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24);
    x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
  }
  const words = [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15];
  for (let i = 0; i < 16; i++) {
    const v = (words[i]! + state[i]!) >>> 0;
    const o = offset + 4 * i;
    out[o] = v & 0xff;
    out[o + 1] = (v >>> 8) & 0xff;
    out[o + 2] = (v >>> 16) & 0xff;
    out[o + 3] = v >>> 24;
  }
}

/**
 * XORs `data` with the ChaCha20 key stream for (`key`, `nonce`, starting block `counter`) and
 * returns the result as a new array (RFC 8439 §2.4: encryption and decryption are the same
 * operation). `data` is not modified. Throws TypeError/RangeError unless `key` is 32 bytes,
 * `nonce` 12 bytes and `counter` an integer in [0, 2^32 - 1] that does not wrap within `data`.
 */
export function chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, data: Uint8Array): Uint8Array {
  assertBytes('ChaCha20 key', key, 32);
  assertBytes('ChaCha20 nonce', nonce, 12);
  assertBytes('ChaCha20 data', data);
  const blocks = Math.ceil(data.length / BLOCK);
  if (!Number.isInteger(counter) || counter < 0 || counter + blocks > 0x1_0000_0000) {
    throw new RangeError(`expected ChaCha20 counter in [0, 2^32 - ${blocks}], got ${counter}`);
  }
  const state = new Uint32Array(16);
  state.set(SIGMA, 0);
  for (let i = 0; i < 8; i++) state[4 + i] = le32(key, 4 * i);
  for (let i = 0; i < 3; i++) state[13 + i] = le32(nonce, 4 * i);
  const stream = new Uint8Array(blocks * BLOCK);
  for (let b = 0; b < blocks; b++) {
    state[12] = counter + b;
    block(state, stream, b * BLOCK);
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ stream[i]!;
  return out;
}

const ZERO_NONCE = new Uint8Array(12);

/**
 * BOLT 4's pseudo-random byte stream: `length` bytes of ChaCha20 output under `key` with the
 * all-zero 96-bit nonce and block counter 0 (the encryption of `length` zero bytes).
 */
export function chacha20Stream(key: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`expected stream length >= 0, got ${length}`);
  return chacha20(key, ZERO_NONCE, 0, new Uint8Array(length));
}
