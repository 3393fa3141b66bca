/**
 * Property tests of the commitment builder over random balances, HTLC sets, feerates and dust
 * limits: money is conserved, trimming follows the BOLT 3 rule, outputs are in BIP 69 + CLTV
 * order, the HTLC index map is consistent, and the commitment number round-trips.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commitmentFee, isHtlcTrimmed } from '../../src/bitcoin/bolt3-fees.js';
import { compareBytes } from '../../src/bitcoin/bytes.js';
import { buildCommitmentTx, decodeObscuredCommitmentNumber } from '../../src/bitcoin/commitment.js';
import type { CommitmentHtlc } from '../../src/bitcoin/commitment.js';
import { buildHtlcTxs } from '../../src/bitcoin/htlc-tx.js';
import { p2wshScript } from '../../src/bitcoin/script.js';
import { decodeTx, encodeTx, txidOf } from '../../src/bitcoin/transaction.js';

const key = (n: number): Uint8Array => secp256k1.getPublicKey(new Uint8Array(32).fill(n), true);
const keys = {
  revocationPubkey: key(1),
  localDelayedPubkey: key(2),
  localHtlcPubkey: key(3),
  remoteHtlcPubkey: key(4),
  remotePaymentPubkey: key(5),
};

const htlcArb: fc.Arbitrary<CommitmentHtlc> = fc.record({
  direction: fc.constantFrom('offered' as const, 'received' as const),
  amountMsat: fc.bigInt({ min: 0n, max: 5_000_000_000n }),
  // A small pool of hashes and expiries so identical-script ties happen.
  paymentHash: fc.integer({ min: 0, max: 2 }).map((i) => new Uint8Array(32).fill(i)),
  cltvExpiry: fc.integer({ min: 500_000, max: 500_003 }),
});

describe('commitment builder properties', () => {
  it('conserves money, trims by the BOLT 3 rule, sorts by BIP 69 + CLTV and maps every HTLC', () => {
    fc.assert(
      fc.property(
        fc.array(htlcArb, { maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 20_000_000_000n }),
        fc.bigInt({ min: 0n, max: 20_000_000_000n }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.bigInt({ min: 354n, max: 5_000n }),
        fc.boolean(),
        fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
        (htlcs, toLocalMsat, toRemoteMsat, feeratePerKw, dustLimitSat, localIsFunder, commitmentNumber, obscuringFactor) => {
          const htlcTotal = htlcs.reduce((s, h) => s + h.amountMsat, 0n);
          // Pad the funding so it is a whole number of satoshis covering every balance.
          const sum = toLocalMsat + toRemoteMsat + htlcTotal;
          const pad = (1000n - (sum % 1000n)) % 1000n + 1000n;
          const fundingAmountSat = (sum + pad) / 1000n;
          const c = buildCommitmentTx({
            fundingOutpoint: { txid: 'ab'.repeat(32), index: 1 },
            fundingAmountSat,
            localFundingPubkey: key(6),
            remoteFundingPubkey: key(7),
            commitmentNumber,
            obscuringFactor,
            toLocalMsat: toLocalMsat + pad,
            toRemoteMsat,
            localIsFunder,
            feeratePerKw,
            dustLimitSat,
            toSelfDelay: 144,
            keys,
            htlcs,
          });
          const outSum = c.tx.outputs.reduce((s, o) => s + o.value, 0n);
          expect(outSum + c.feeSat).toBe(fundingAmountSat);
          expect(c.feeSat).toBeGreaterThanOrEqual(0n);

          const untrimmed = htlcs.filter((h) => !isHtlcTrimmed(h.direction, h.amountMsat, feeratePerKw, dustLimitSat));
          expect(c.baseFeeSat).toBe(commitmentFee(feeratePerKw, untrimmed.length));
          htlcs.forEach((h, i) => {
            const idx = c.htlcOutputIndexes[i]!;
            if (isHtlcTrimmed(h.direction, h.amountMsat, feeratePerKw, dustLimitSat)) expect(idx).toBe(-1);
            else {
              const out = c.outputs[idx]!;
              expect(out.kind === 'htlc' && out.htlcIndex === i).toBe(true);
              expect(out.value).toBe(h.amountMsat / 1000n);
              if (out.kind === 'htlc') expect(p2wshScript(out.witnessScript)).toEqual(out.script);
            }
          });
          expect(new Set(c.htlcOutputIndexes.filter((i) => i >= 0)).size).toBe(untrimmed.length);
          for (const o of c.tx.outputs) expect(o.value).toBeGreaterThanOrEqual(dustLimitSat);

          for (let i = 1; i < c.outputs.length; i++) {
            const a = c.outputs[i - 1]!;
            const b = c.outputs[i]!;
            const order = a.value !== b.value ? (a.value < b.value ? -1 : 1) : compareBytes(a.script, b.script);
            expect(order).toBeLessThanOrEqual(0);
            if (order === 0 && a.kind === 'htlc' && b.kind === 'htlc') {
              expect(htlcs[a.htlcIndex]!.cltvExpiry).toBeLessThanOrEqual(htlcs[b.htlcIndex]!.cltvExpiry);
            }
          }

          expect(decodeObscuredCommitmentNumber(c.tx, obscuringFactor)).toBe(commitmentNumber);
          expect(txidOf(decodeTx(encodeTx(c.tx)))).toBe(c.txid);
          const htlcTxs = buildHtlcTxs(c);
          expect(htlcTxs).toHaveLength(untrimmed.length);
          for (const t of htlcTxs) {
            expect(t.tx.inputs[0]!.txid).toBe(c.txid);
            expect(t.tx.outputs[0]!.value).toBeGreaterThanOrEqual(dustLimitSat);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
