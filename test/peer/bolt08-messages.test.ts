/**
 * BOLT 8 Appendix A, "Message Encryption Tests": the initiator sends "hello" 1001 times; the
 * frames at messages 0, 1, 500, 501, 1000 and 1001 must match the spec (two key rotations).
 * Also the framing rules a receiver depends on: a tampered frame is refused, the 65535-byte
 * limit holds, and both directions rotate independently.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { FrameDecryptor, FrameEncryptor, LENGTH_HEADER_SIZE, MAX_MESSAGE_SIZE } from '../../src/peer/noise-cipher.js';
import { messageCase } from './support/bolt08-vectors.js';

const HELLO = new TextEncoder().encode('hello');
const vector = messageCase();

function decryptFrame(d: FrameDecryptor, frame: Uint8Array): Buffer {
  const len = d.decryptLength(frame.subarray(0, LENGTH_HEADER_SIZE));
  expect(frame.length).toBe(LENGTH_HEADER_SIZE + len + 16);
  return d.decryptMessage(frame.subarray(LENGTH_HEADER_SIZE));
}

describe('BOLT 8 Appendix A: transport-message test', () => {
  it('lists outputs 0, 1, 500, 501, 1000 and 1001', () => {
    expect([...vector.outputs.keys()]).toEqual([0, 1, 500, 501, 1000, 1001]);
  });

  const frames: Buffer[] = [];
  const enc = new FrameEncryptor(vector.sk, vector.ck);
  for (let i = 0; i <= 1001; i++) frames.push(enc.encrypt(HELLO));

  for (const [n, expected] of vector.outputs) {
    it(`output ${n}`, () => expect(bytesToHex(frames[n]!)).toBe(bytesToHex(expected)));
  }

  it('the responder decrypts all 1002 messages with its rk (= initiator sk)', () => {
    const dec = new FrameDecryptor(vector.sk, vector.ck);
    for (const frame of frames) expect(decryptFrame(dec, frame).toString()).toBe("hello");
  });
});

describe('framing', () => {
  it('refuses a frame whose length MAC was tampered with, and stays failed', () => {
    const enc = new FrameEncryptor(vector.sk, vector.ck);
    const dec = new FrameDecryptor(vector.sk, vector.ck);
    const frame = enc.encrypt(HELLO);
    frame[17] = frame[17]! ^ 1;
    let caught: unknown;
    try {
      dec.decryptLength(frame.subarray(0, LENGTH_HEADER_SIZE));
    } catch (err) {
      caught = err;
    }
    expect(isChandError(caught, 'NOISE_DECRYPT_FAILED')).toBe(true);
    // The untampered next frame cannot be read either: the session is dead.
    const next = enc.encrypt(HELLO);
    expect(() => dec.decryptLength(next.subarray(0, LENGTH_HEADER_SIZE))).toThrow(/already failed/);
  });

  it('refuses a frame whose body was tampered with', () => {
    const enc = new FrameEncryptor(vector.sk, vector.ck);
    const dec = new FrameDecryptor(vector.sk, vector.ck);
    const frame = enc.encrypt(HELLO);
    frame[LENGTH_HEADER_SIZE] = frame[LENGTH_HEADER_SIZE]! ^ 0x80;
    expect(dec.decryptLength(frame.subarray(0, LENGTH_HEADER_SIZE))).toBe(5);
    expect(() => dec.decryptMessage(frame.subarray(LENGTH_HEADER_SIZE))).toThrow(expect.objectContaining({ code: 'NOISE_DECRYPT_FAILED' }));
  });

  it('carries a 65535-byte message and refuses 65536 bytes without consuming a nonce', () => {
    const enc = new FrameEncryptor(vector.sk, vector.ck);
    const dec = new FrameDecryptor(vector.sk, vector.ck);
    expect(() => enc.encrypt(new Uint8Array(MAX_MESSAGE_SIZE + 1))).toThrow(RangeError);
    const big = new Uint8Array(MAX_MESSAGE_SIZE).map((_, i) => i & 0xff);
    expect(decryptFrame(dec, enc.encrypt(big)).equals(big)).toBe(true);
    // An empty message is a valid frame too.
    expect(decryptFrame(dec, enc.encrypt(new Uint8Array(0))).length).toBe(0);
  });

  it('rotates each direction on its own count', () => {
    // Direction A sends 700 messages while B sends 3; each side's decryptor keeps step.
    const aToB = new FrameEncryptor(vector.sk, vector.ck);
    const bFromA = new FrameDecryptor(vector.sk, vector.ck);
    const bToA = new FrameEncryptor(vector.rk, vector.ck);
    const aFromB = new FrameDecryptor(vector.rk, vector.ck);
    for (let i = 0; i < 700; i++) {
      const msg = new Uint8Array([i & 0xff, i >> 8]);
      expect(decryptFrame(bFromA, aToB.encrypt(msg))).toEqual(Buffer.from(msg));
      if (i % 300 === 0) expect(decryptFrame(aFromB, bToA.encrypt(HELLO))).toEqual(Buffer.from(HELLO));
    }
    // B's 4th frame is still under its first key: equal to the reference's 4th.
    const reference = new FrameEncryptor(vector.rk, vector.ck);
    for (let i = 0; i < 3; i++) reference.encrypt(HELLO);
    expect(bytesToHex(bToA.encrypt(HELLO))).toBe(bytesToHex(reference.encrypt(HELLO)));
  });
});
