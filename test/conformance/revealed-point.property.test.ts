// advanceCommitChainTail checks a revealed secret against the stored per-commitment point
// with rules.revealedPoint, a faster computation of secret·G than noble's constant-time
// getPublicKey: it must give the same point for every secret, and refuse exactly the
// secrets getPublicKey refuses (wrong length, zero, not below the group order).
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { revealedPoint } from '../../src/chanstate/rules.js';

const N = secp256k1.Point.CURVE().n;
const be32 = (n: bigint) => Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));

/** getPublicKey's answer: the compressed point as hex, or 'refused'. */
function reference(secret: Uint8Array): string {
  try {
    return Buffer.from(secp256k1.getPublicKey(secret, true)).toString('hex');
  } catch {
    return 'refused';
  }
}

function fast(secret: Uint8Array): string {
  try {
    return Buffer.from(revealedPoint(secret)).toString('hex');
  } catch {
    return 'refused';
  }
}

describe('rules.revealedPoint = secp256k1.getPublicKey(secret, true)', () => {
  it('for random secrets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret) => {
        expect(fast(secret)).toBe(reference(secret));
      }),
      { numRuns: 300 },
    );
  });

  it('at the edges of the scalar range, and for wrong lengths', () => {
    const cases = [be32(0n), be32(1n), be32(2n), be32(N - 1n), be32(N), be32(N + 1n), be32((1n << 256n) - 1n), new Uint8Array(31), new Uint8Array(33).fill(1), new Uint8Array(0)];
    for (const secret of cases) expect(fast(secret)).toBe(reference(secret));
    expect(fast(be32(1n))).toBe(Buffer.from(secp256k1.Point.BASE.toBytes(true)).toString('hex'));
    expect(fast(be32(0n))).toBe('refused');
    expect(fast(be32(N))).toBe('refused');
  });
});
