/**
 * RFC 8439 ChaCha20: the block function (§2.3.2), encryption (§2.4.2) and the all-zero key
 * stream of Appendix A.1 test vector #1 (BOLT 4's exact use: zero nonce, counter 0), plus a
 * cross-check of random inputs against OpenSSL's chacha20 through node:crypto.
 */
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/codec/bytes.js';
import { chacha20, chacha20Stream } from '../../src/onion/chacha20.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const SUNSCREEN = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);

describe('RFC 8439 ChaCha20', () => {
  it('§2.3.2 block function', () => {
    const block = chacha20(KEY, hexToBytes('000000090000004a00000000'), 1, new Uint8Array(64));
    expect(bytesToHex(block)).toBe(
      '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e',
    );
  });

  it('§2.4.2 encryption, and the same call decrypts', () => {
    const nonce = hexToBytes('000000000000004a00000000');
    const ct = chacha20(KEY, nonce, 1, SUNSCREEN);
    expect(bytesToHex(ct)).toBe(
      '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d',
    );
    expect(chacha20(KEY, nonce, 1, ct)).toEqual(SUNSCREEN);
  });

  it('A.1 test vector #1: zero key, zero nonce, counter 0 (the BOLT 4 stream)', () => {
    expect(bytesToHex(chacha20Stream(new Uint8Array(32), 64))).toBe(
      '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586',
    );
  });

  it('matches OpenSSL for random keys, nonces, counters and lengths', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.uint8Array({ maxLength: 700 }),
        (key, nonce, counter, data) => {
          const iv = new Uint8Array(16);
          new DataView(iv.buffer).setUint32(0, counter, true);
          iv.set(nonce, 4);
          const cipher = createCipheriv('chacha20', key, iv);
          const expected = new Uint8Array([...cipher.update(data), ...cipher.final()]);
          expect(bytesToHex(chacha20(key, nonce, counter, data))).toBe(bytesToHex(expected));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects misuse', () => {
    expect(() => chacha20(new Uint8Array(31), new Uint8Array(12), 0, new Uint8Array(1))).toThrow(RangeError);
    expect(() => chacha20(KEY, new Uint8Array(8), 0, new Uint8Array(1))).toThrow(RangeError);
    expect(() => chacha20(KEY, new Uint8Array(12), 0xffff_ffff, new Uint8Array(65))).toThrow(RangeError);
    expect(() => chacha20Stream(KEY, -1)).toThrow(RangeError);
  });
});
