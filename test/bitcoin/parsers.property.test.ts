/**
 * Property tests of the transaction codec and the PSBT/transaction/signature parsers:
 * encode → decode is the identity, and random or mutated bytes only ever raise ChandError
 * (DecodeError or BitcoinError), never an untyped exception.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChandError } from '../../src/errors.js';
import { decodeWitnessSignature, signatureFromDer } from '../../src/bitcoin/ecdsa.js';
import { createFundingPsbt, decodeFundingPsbt, verifySignedFunding } from '../../src/bitcoin/psbt-funding.js';
import { p2wpkhScript } from '../../src/bitcoin/script.js';
import { decodeTx, encodeTx, txidOf } from '../../src/bitcoin/transaction.js';
import type { BitcoinTx } from '../../src/bitcoin/transaction.js';
import { computeTxid, stripWitness } from '../../src/bitcoin/txid.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

const txArb: fc.Arbitrary<BitcoinTx> = fc.record({
    version: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
    inputs: fc.array(
      fc.record({ txid: hex32, index: u32, scriptSig: bytes(120), sequence: u32, witness: fc.array(bytes(80), { maxLength: 4 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    outputs: fc.array(fc.record({ value: fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }), script: bytes(60) }), { maxLength: 4 }),
    lockTime: u32,
  });

/** Runs `fn`; fails the property if it throws anything other than a ChandError. */
function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ChandError)) throw new Error(`untyped error: ${String(err)}`, { cause: err });
  }
}

const aliceKey = new Uint8Array(32).fill(0x11);
const alicePub = secp256k1.getPublicKey(aliceKey, true);
const { psbt: unsignedPsbt } = createFundingPsbt({
  utxos: [{ txid: 'aa'.repeat(32), index: 1, value: 600_000n, script: p2wpkhScript(alicePub) }],
  fundingAmountSat: 100_000n,
  localFundingPubkey: secp256k1.getPublicKey(new Uint8Array(32).fill(3), true),
  remoteFundingPubkey: secp256k1.getPublicKey(new Uint8Array(32).fill(4), true),
  changeScript: p2wpkhScript(alicePub),
  feeratePerKw: 253,
});

/** A byte array with some bytes overwritten, some dropped or inserted: exercises the deep parser paths. */
function mutated(base: Uint8Array) {
  return fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 6 })
    .map((edits) => {
      let out = Array.from(base);
      for (const [pos, value, kind] of edits) {
        const at = out.length === 0 ? 0 : pos % out.length;
        if (kind === 0) out[at] = value;
        else if (kind === 1) out.splice(at, 1);
        else out.splice(at, 0, value);
      }
      return Uint8Array.from(out);
    });
}

describe('transaction codec properties', () => {
  it('decode(encode(tx)) gives tx back, and the txid ignores witnesses', () => {
    fc.assert(
      fc.property(txArb, (tx) => {
        const raw = encodeTx(tx);
        const back = decodeTx(raw);
        // With only empty witnesses encodeTx uses the legacy form (BIP 144 forbids the other).
        const hasWitness = tx.inputs.some((i) => i.witness.length > 0);
        expect(back).toEqual(hasWitness ? tx : { ...tx, inputs: tx.inputs.map((i) => ({ ...i, witness: [] })) });
        expect(computeTxid(raw)).toBe(txidOf(tx));
        expect(stripWitness(raw)).toEqual(encodeTx(tx, { witness: false }));
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes give DecodeError only', () => {
    fc.assert(
      fc.property(bytes(300), (raw) => {
        onlyTyped(() => decodeTx(raw));
        onlyTyped(() => computeTxid(raw));
        onlyTyped(() => stripWitness(raw));
      }),
      { numRuns: 500 },
    );
  });

  it('mutated valid transactions give DecodeError only, or decode to something that re-encodes identically', () => {
    fc.assert(
      fc.property(txArb.chain((tx) => mutated(encodeTx(tx))), (raw) => {
        onlyTyped(() => stripWitness(raw));
        let decoded: BitcoinTx | undefined;
        onlyTyped(() => {
          decoded = decodeTx(raw);
        });
        // Whatever decodes re-encodes to the same bytes (the format is canonical).
        if (decoded !== undefined) expect(encodeTx(decoded)).toEqual(raw);
      }),
      { numRuns: 300 },
    );
  });
});

describe('PSBT and signature parser properties', () => {
  it('random bytes as a PSBT give typed errors only', () => {
    const magic = Uint8Array.from([0x70, 0x73, 0x62, 0x74, 0xff]);
    fc.assert(
      fc.property(bytes(300), fc.boolean(), (body, withMagic) => {
        const candidate = withMagic ? Uint8Array.from([...magic, ...body]) : body;
        onlyTyped(() => decodeFundingPsbt(candidate));
        onlyTyped(() => verifySignedFunding(unsignedPsbt, { psbt: candidate }));
        onlyTyped(() => verifySignedFunding(unsignedPsbt, { tx: candidate }));
        onlyTyped(() => verifySignedFunding(candidate, { psbt: unsignedPsbt }));
      }),
      { numRuns: 400 },
    );
  });

  it('mutated valid PSBTs give typed errors only', () => {
    fc.assert(
      fc.property(mutated(unsignedPsbt), (candidate) => {
        onlyTyped(() => decodeFundingPsbt(candidate));
        onlyTyped(() => verifySignedFunding(unsignedPsbt, { psbt: candidate }));
      }),
      { numRuns: 400 },
    );
  });

  it('random bytes as signatures give DecodeError only', () => {
    fc.assert(
      fc.property(bytes(80), (sig) => {
        onlyTyped(() => signatureFromDer(sig));
        onlyTyped(() => decodeWitnessSignature(sig));
      }),
      { numRuns: 500 },
    );
  });
});
