// advanceCommitChainTail (every store) and the channel core's revoke_and_ack check compute
// secret·G of a revealed per-commitment secret with an injected SecretToPoint: noble's
// revealedPoint by default (browser), libsecp256k1's wasmRevealedPoint where Node composes
// the stores and the node. Both must give secp256k1.getPublicKey's point for every secret and
// refuse exactly the secrets it refuses, with the same errors, so that which one a store was
// given never changes what it accepts or what its caller sees.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { revealedPoint, type SecretToPoint } from '../../src/bitcoin/secret-point.js';
import { wasmRevealedPoint } from '../../src/bitcoin/secret-point-wasm.js';
import { advanceRevocation } from '../../src/chanstate/rules.js';
import type { RemoteRevocationState } from '../../src/chanstate/types.js';
import { ErrorCode } from '../../src/errors.js';

const N = secp256k1.Point.CURVE().n;
const be32 = (n: bigint) => Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** getPublicKey's answer: the compressed point as hex, or 'refused'. */
function reference(secret: Uint8Array): string {
  try {
    return hex(secp256k1.getPublicKey(secret, true));
  } catch {
    return 'refused';
  }
}

/** What `f` does with `secret`: the point as hex, or the error it throws (class and message). */
function outcome(f: SecretToPoint, secret: unknown): string {
  try {
    return hex(f(secret as Uint8Array));
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
}

/** The outcome of both implementations, which must agree, compared with getPublicKey's. */
function expectSame(secret: Uint8Array): string {
  const noble = outcome(revealedPoint, secret);
  expect(outcome(wasmRevealedPoint, secret)).toBe(noble);
  expect(/^0[23][0-9a-f]{64}$/.test(noble) ? noble : 'refused').toBe(reference(secret));
  return noble;
}

describe('SecretToPoint: noble revealedPoint = libsecp256k1 wasmRevealedPoint = secp256k1.getPublicKey(secret, true)', () => {
  it('for random secrets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret) => {
        expectSame(secret);
      }),
      { numRuns: 300 },
    );
  });

  it('for random scalars near both ends of the range, and random lengths', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1000n }), fc.boolean(), (k, high) => {
        expectSame(be32(high ? N - 1n - k + 500n : k));
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (secret) => {
        expectSame(secret);
      }),
      { numRuns: 100 },
    );
  });

  it('at the edges of the scalar range, and for wrong lengths and types', () => {
    const G = hex(secp256k1.Point.BASE.toBytes(true));
    const cases = [be32(0n), be32(1n), be32(2n), be32(N - 1n), be32(N), be32(N + 1n), be32((1n << 256n) - 1n), new Uint8Array(31), new Uint8Array(33).fill(1), new Uint8Array(0)];
    for (const secret of cases) expectSame(secret);
    expect(expectSame(be32(1n))).toBe(G);
    // (n-1)·G = -G: G's x, the other parity (G's y is even).
    expect(expectSame(be32(N - 1n))).toBe(`03${G.slice(2)}`);
    for (const refused of [be32(0n), be32(N), be32(N + 1n), be32((1n << 256n) - 1n)]) expect(expectSame(refused)).toMatch(/^RangeError: /);
    expect(expectSame(new Uint8Array(31))).toMatch(/^RangeError: expected revealed per-commitment secret to be 32 bytes, got 31/);
    for (const notBytes of [undefined, 'ab'.repeat(32), Array.from(be32(1n))]) {
      expect(outcome(wasmRevealedPoint, notBytes)).toBe(outcome(revealedPoint, notBytes));
      expect(outcome(revealedPoint, notBytes)).toMatch(/^TypeError: /);
    }
  });

  it('advanceRevocation accepts and refuses the same secrets with either, with the same REVOCATION_INVALID', () => {
    const op = { txid: 'ab'.repeat(32), index: 1 };
    const nextPoint = hex(secp256k1.getPublicKey(be32(7n), true));
    const run = (f: SecretToPoint, stored: RemoteRevocationState, secret: Uint8Array) => {
      try {
        return advanceRevocation(op, stored, 0, secret, nextPoint, f);
      } catch (err) {
        const e = err as Error & { code?: string; cause?: Error };
        return { code: e.code, message: e.message, cause: e.cause === undefined ? undefined : `${e.cause.constructor.name}: ${e.cause.message}` };
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), (secret, matching) => {
        const point = reference(secret);
        const currentPoint = matching && point !== 'refused' ? point : nextPoint;
        const stored: RemoteRevocationState = { secrets: [], currentPoint, nextPoint };
        const noble = run(revealedPoint, stored, secret);
        expect(run(wasmRevealedPoint, stored, secret)).toEqual(noble);
        if (currentPoint === point) expect(noble).toEqual({ secrets: expect.any(Array), currentPoint: nextPoint, nextPoint });
        else expect(noble).toMatchObject({ code: ErrorCode.REVOCATION_INVALID });
      }),
      { numRuns: 100 },
    );
    const stored: RemoteRevocationState = { secrets: [], currentPoint: nextPoint, nextPoint };
    for (const bad of [be32(0n), be32(N), be32((1n << 256n) - 1n)]) {
      const refused = run(wasmRevealedPoint, stored, bad);
      expect(refused).toEqual(run(revealedPoint, stored, bad));
      expect(refused).toMatchObject({ code: ErrorCode.REVOCATION_INVALID, message: expect.stringContaining('not a valid secp256k1 scalar'), cause: expect.stringMatching(/^RangeError: /) });
    }
  });
});
