/**
 * BOLT 3 Appendix C: commitment and HTLC transaction test vectors (option_static_remotekey),
 * parsed from the spec text. Every case must reproduce the exact commitment transaction, both
 * commitment signatures, every HTLC transaction and both HTLC signatures.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  buildCommitmentTx,
  commitmentObscuringFactor,
  decodeObscuredCommitmentNumber,
  finalizeCommitment,
  signCommitment,
  verifyCommitmentSignature,
} from '../../src/bitcoin/commitment.js';
import type { CommitmentHtlc, CommitmentTxParams } from '../../src/bitcoin/commitment.js';
import { publicKeyFromPrivate, signatureFromDer, signatureToDer } from '../../src/bitcoin/ecdsa.js';
import { buildHtlcTxs, finalizeHtlcTx, signHtlcTx, verifyHtlcTxSignature } from '../../src/bitcoin/htlc-tx.js';
import { deriveRevocationPublicKey, derivePrivateKey, derivePublicKey, perCommitmentPoint } from '../../src/bitcoin/key-derivation.js';
import { decodeTx, encodeTx } from '../../src/bitcoin/transaction.js';
import { commitmentVectors } from './support/bolt03-vectors.js';
import type { CommitmentCase, VectorHtlc } from './support/bolt03-vectors.js';

const v = commitmentVectors();
const hex = bytesToHex;

// Keys, derived the BOLT 3 way from the secrets in the spec's INTERNAL block.
const pcp = perCommitmentPoint(v.localPerCommitmentSecret);
const localHtlcBasepoint = publicKeyFromPrivate(v.localPaymentBasepointSecret); // spec: same values for HTLC basepoints
const remoteHtlcBasepoint = publicKeyFromPrivate(v.remotePaymentBasepointSecret);
const keys = {
  revocationPubkey: deriveRevocationPublicKey(publicKeyFromPrivate(v.remoteRevocationBasepointSecret), pcp),
  localDelayedPubkey: derivePublicKey(publicKeyFromPrivate(v.localDelayedPaymentBasepointSecret), pcp),
  localHtlcPubkey: derivePublicKey(localHtlcBasepoint, pcp),
  remoteHtlcPubkey: derivePublicKey(remoteHtlcBasepoint, pcp),
  remotePaymentPubkey: v.remotePaymentBasepoint,
};
const localHtlcPrivkey = derivePrivateKey(v.localPaymentBasepointSecret, pcp);
const remoteHtlcPrivkey = derivePrivateKey(v.remotePaymentBasepointSecret, pcp);

/**
 * Which HTLCs a case commits to. The spec says the first case has none and HTLCs 5 and 6 only
 * appear in the "same amount and preimage" case (which lists all of its HTLCs as untrimmed);
 * every other case has HTLCs 0-4. The balance check below confirms the choice.
 */
function htlcsOf(c: CommitmentCase): VectorHtlc[] {
  if (c.name.includes('no HTLCs')) return [];
  if (c.listedHtlcIds.some((id) => id === 5 || id === 6)) return v.htlcs.filter((h) => c.listedHtlcIds.includes(h.id));
  return v.htlcs.filter((h) => h.id <= 4);
}

function paramsOf(c: CommitmentCase, htlcs: VectorHtlc[]): CommitmentTxParams {
  return {
    fundingOutpoint: { txid: v.fundingTxid, index: v.fundingOutputIndex },
    fundingAmountSat: v.fundingAmountSat,
    localFundingPubkey: v.localFundingPubkey,
    remoteFundingPubkey: v.remoteFundingPubkey,
    commitmentNumber: v.commitmentNumber,
    obscuringFactor: commitmentObscuringFactor(v.localPaymentBasepoint, v.remotePaymentBasepoint),
    toLocalMsat: c.toLocalMsat,
    toRemoteMsat: c.toRemoteMsat,
    localIsFunder: true,
    feeratePerKw: c.feeratePerKw,
    dustLimitSat: v.localDustLimitSat,
    toSelfDelay: v.localDelay,
    keys,
    htlcs: htlcs.map((h): CommitmentHtlc => ({
      direction: h.direction,
      amountMsat: h.amountMsat,
      paymentHash: sha256(h.preimage),
      cltvExpiry: h.expiry,
    })),
  };
}

describe('BOLT 3 Appendix C: common parameters', () => {
  it('derives the listed keys from the listed secrets', () => {
    expect(hex(pcp)).toBe(hex(v.localPerCommitmentPoint));
    expect(hex(publicKeyFromPrivate(v.localFundingPrivkey))).toBe(hex(v.localFundingPubkey));
    expect(hex(publicKeyFromPrivate(v.remoteFundingPrivkey))).toBe(hex(v.remoteFundingPubkey));
    expect(hex(localHtlcBasepoint)).toBe(hex(v.localHtlcBasepoint));
    expect(hex(remoteHtlcBasepoint)).toBe(hex(v.remoteHtlcBasepoint));
    expect(hex(keys.localHtlcPubkey)).toBe(hex(v.localHtlcPubkey));
    expect(hex(keys.remoteHtlcPubkey)).toBe(hex(v.remoteHtlcPubkey));
    expect(hex(keys.localDelayedPubkey)).toBe(hex(v.localDelayedPubkey));
    expect(hex(keys.revocationPubkey)).toBe(hex(v.localRevocationPubkey));
    expect(hex(localHtlcPrivkey)).toBe(hex(v.localPrivkey));
  });

  it('computes the obscuring factor of the comment and hides the commitment number in locktime and sequence', () => {
    const factor = commitmentObscuringFactor(v.localPaymentBasepoint, v.remotePaymentBasepoint);
    expect(factor).toBe(v.obscuredCommitmentNumberComment.factor);
    expect(v.obscuredCommitmentNumberComment.number).toBe(v.commitmentNumber);
    const first = v.cases[0]!;
    const built = buildCommitmentTx(paramsOf(first, htlcsOf(first)));
    expect(decodeObscuredCommitmentNumber(built.tx, factor)).toBe(v.commitmentNumber);
    expect(decodeObscuredCommitmentNumber(decodeTx(first.commitTx), factor)).toBe(v.commitmentNumber);
  });

  it('has the 16 named cases', () => {
    expect(v.cases).toHaveLength(16);
    expect(new Set(v.cases.map((c) => c.name)).size).toBe(16);
  });
});

describe('BOLT 3 Appendix C: commitment and HTLC transactions', () => {
  for (const c of v.cases) {
    it(c.name, () => {
      const htlcs = htlcsOf(c);
      // Every case must account for the whole funding amount.
      const htlcTotal = htlcs.reduce((s, h) => s + h.amountMsat, 0n);
      expect(c.toLocalMsat + c.toRemoteMsat + htlcTotal).toBe(v.fundingAmountSat * 1000n);

      const commitment = buildCommitmentTx(paramsOf(c, htlcs));
      if (c.baseFeeSat !== undefined) expect(commitment.baseFeeSat).toBe(c.baseFeeSat);
      if (c.actualFeeSat !== undefined) expect(commitment.feeSat).toBe(c.actualFeeSat);
      expect(commitment.outputs.filter((o) => o.kind === 'htlc')).toHaveLength(c.numHtlcs);
      expect(commitment.outputs.filter((o) => o.kind === 'htlc').map((o) => htlcs[o.htlcIndex]!.id).sort()).toEqual(
        [...c.listedHtlcIds].sort(),
      );

      const localSig = signCommitment(commitment, v.localFundingPrivkey);
      const remoteSig = signCommitment(commitment, v.remoteFundingPrivkey);
      expect(hex(signatureToDer(localSig))).toBe(hex(c.localSignature));
      expect(hex(signatureToDer(remoteSig))).toBe(hex(c.remoteSignature));
      expect(verifyCommitmentSignature(commitment, signatureFromDer(c.remoteSignature), v.remoteFundingPubkey)).toBe(true);
      expect(verifyCommitmentSignature(commitment, remoteSig, v.localFundingPubkey)).toBe(false);

      const signed = finalizeCommitment(commitment, localSig, remoteSig);
      expect(hex(encodeTx(signed))).toBe(hex(c.commitTx));

      const htlcTxs = buildHtlcTxs(commitment);
      expect(htlcTxs).toHaveLength(c.htlcTxs.length);
      c.htlcTxs.forEach((expected, i) => {
        const htlcTx = htlcTxs[i]!;
        const vectorHtlc = htlcs[htlcTx.htlcIndex]!;
        expect(htlcTx.commitmentOutputIndex).toBe(expected.outputIndex);
        expect(commitment.htlcOutputIndexes[htlcTx.htlcIndex]).toBe(expected.outputIndex);
        expect(htlcTx.kind).toBe(expected.kind);
        expect(vectorHtlc.id).toBe(expected.htlcId);

        const local = signHtlcTx(htlcTx, localHtlcPrivkey);
        const remote = signHtlcTx(htlcTx, remoteHtlcPrivkey);
        expect(hex(signatureToDer(local))).toBe(hex(expected.localSignature));
        expect(hex(signatureToDer(remote))).toBe(hex(expected.remoteSignature));
        expect(verifyHtlcTxSignature(htlcTx, remote, keys.remoteHtlcPubkey)).toBe(true);

        const final = finalizeHtlcTx(htlcTx, { local, remote }, htlcTx.kind === 'success' ? vectorHtlc.preimage : undefined);
        expect(hex(encodeTx(final))).toBe(hex(expected.tx));
      });

      // Trimmed HTLCs map to -1, untrimmed ones to a distinct output index.
      const mapped = commitment.htlcOutputIndexes.filter((i) => i >= 0);
      expect(new Set(mapped).size).toBe(mapped.length);
      expect(mapped).toHaveLength(c.numHtlcs);
    });
  }
});

describe('commitment builder misuse', () => {
  const c = v.cases[1]!;
  it('rejects balances that do not add up to the funding amount', () => {
    const params = { ...paramsOf(c, htlcsOf(c)), toLocalMsat: c.toLocalMsat + 1n };
    expect(() => buildCommitmentTx(params)).toThrow(RangeError);
  });

  it('refuses to finalize with a signature that does not verify', () => {
    const commitment = buildCommitmentTx(paramsOf(c, htlcsOf(c)));
    const localSig = signCommitment(commitment, v.localFundingPrivkey);
    expect(() => finalizeCommitment(commitment, localSig, localSig)).toThrow(/remote funding signature/);
  });

  it('refuses an HTLC-success witness with a wrong preimage', () => {
    const commitment = buildCommitmentTx(paramsOf(c, htlcsOf(c)));
    const success = buildHtlcTxs(commitment).find((t) => t.kind === 'success')!;
    const sigs = { local: signHtlcTx(success, localHtlcPrivkey), remote: signHtlcTx(success, remoteHtlcPrivkey) };
    expect(() => finalizeHtlcTx(success, sigs, new Uint8Array(32).fill(9))).toThrow(RangeError);
    expect(() => finalizeHtlcTx(success, sigs)).toThrow(RangeError);
  });
});
