/**
 * Spend paths without spec vectors — cooperative close, the CSV-delayed sweep of our own
 * to_local, and the justice transaction against a revoked commitment — checked by running
 * each witness against its script with the devnet's script interpreter, through the input
 * check the devnet applies to every submitted transaction (`verifyInputWitness`). The
 * interpreter is first checked against the BOLT 3 Appendix C transactions.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { fundingScriptPubKey } from '../../src/bitcoin/bolt3-scripts.js';
import { buildClosingTx, finalizeClosingTx, signClosingTx } from '../../src/bitcoin/closing.js';
import { buildCommitmentTx, commitmentObscuringFactor, finalizeCommitment, signCommitment } from '../../src/bitcoin/commitment.js';
import type { CommitmentHtlc, CommitmentTx } from '../../src/bitcoin/commitment.js';
import { SIGHASH_ALL, encodeWitnessSignature, publicKeyFromPrivate, signDigest } from '../../src/bitcoin/ecdsa.js';
import { buildHtlcTxs, finalizeHtlcTx, signHtlcTx } from '../../src/bitcoin/htlc-tx.js';
import { buildJusticeTx, finalizeJusticeTx, signJusticeInput } from '../../src/bitcoin/justice.js';
import type { JusticeInput } from '../../src/bitcoin/justice.js';
import {
  deriveRevocationPrivateKey,
  deriveRevocationPublicKey,
  derivePrivateKey,
  derivePublicKey,
} from '../../src/bitcoin/key-derivation.js';
import { OP, compileScript, p2wpkhScript } from '../../src/bitcoin/script.js';
import { ShachainProducer, ShachainStore, commitmentIndex } from '../../src/bitcoin/shachain.js';
import { segwitV0Sighash } from '../../src/bitcoin/sighash.js';
import { buildDelayedSweepTx, finalizeDelayedSweep, signDelayedSweepInput } from '../../src/bitcoin/sweep.js';
import { decodeTx, txWeight, withWitness } from '../../src/bitcoin/transaction.js';
import type { BitcoinTx, TxOutput } from '../../src/bitcoin/transaction.js';
import { verifyInputWitness } from '../../src/chain/devnet/tx-validation.js';
import { commitmentVectors } from './support/bolt03-vectors.js';

const secret = (label: string): Uint8Array => sha256(utf8ToBytes(label));

/** One side's channel secrets and basepoints. */
function party(name: string) {
  const s = {
    funding: secret(`${name}/funding`),
    revocation: secret(`${name}/revocation`),
    payment: secret(`${name}/payment`),
    delayed: secret(`${name}/delayed`),
    htlc: secret(`${name}/htlc`),
  };
  return {
    secrets: s,
    funding: publicKeyFromPrivate(s.funding),
    revocationBasepoint: publicKeyFromPrivate(s.revocation),
    paymentBasepoint: publicKeyFromPrivate(s.payment),
    delayedBasepoint: publicKeyFromPrivate(s.delayed),
    htlcBasepoint: publicKeyFromPrivate(s.htlc),
    shachain: new ShachainProducer(secret(`${name}/shachain`)),
  };
}

const alice = party('alice'); // opener, owner of the commitments below
const bob = party('bob');
const fundingTxid = sha256(utf8ToBytes('funding')).reduce((h, b) => h + b.toString(16).padStart(2, '0'), '');
const fundingAmountSat = 1_000_000n;
const fundingPrevout: TxOutput = { value: fundingAmountSat, script: fundingScriptPubKey(alice.funding, bob.funding) };
const toSelfDelay = 144;
const preimages = [secret('preimage 0'), secret('preimage 1'), secret('preimage 2')];
const htlcs: CommitmentHtlc[] = [
  { direction: 'offered', amountMsat: 50_000_000n, paymentHash: sha256(preimages[0]!), cltvExpiry: 800_100 },
  { direction: 'received', amountMsat: 70_000_000n, paymentHash: sha256(preimages[1]!), cltvExpiry: 800_200 },
  { direction: 'received', amountMsat: 300_000n, paymentHash: sha256(preimages[2]!), cltvExpiry: 800_300 }, // trimmed
];

/** Alice's commitment number `n`, with the keys derived from her per-commitment point. */
function aliceCommitment(n: bigint): { commitment: CommitmentTx; signed: BitcoinTx; pcp: Uint8Array } {
  const pcp = alice.shachain.perCommitmentPoint(n);
  const commitment = buildCommitmentTx({
    fundingOutpoint: { txid: fundingTxid, index: 0 },
    fundingAmountSat,
    localFundingPubkey: alice.funding,
    remoteFundingPubkey: bob.funding,
    commitmentNumber: n,
    obscuringFactor: commitmentObscuringFactor(alice.paymentBasepoint, bob.paymentBasepoint),
    toLocalMsat: 600_000_000n - 120_300_000n,
    toRemoteMsat: 400_000_000n,
    localIsFunder: true,
    feeratePerKw: 2500,
    dustLimitSat: 546n,
    toSelfDelay,
    keys: {
      revocationPubkey: deriveRevocationPublicKey(bob.revocationBasepoint, pcp),
      localDelayedPubkey: derivePublicKey(alice.delayedBasepoint, pcp),
      localHtlcPubkey: derivePublicKey(alice.htlcBasepoint, pcp),
      remoteHtlcPubkey: derivePublicKey(bob.htlcBasepoint, pcp),
      remotePaymentPubkey: bob.paymentBasepoint,
    },
    htlcs,
  });
  const signed = finalizeCommitment(commitment, signCommitment(commitment, alice.secrets.funding), signCommitment(commitment, bob.secrets.funding));
  return { commitment, signed, pcp };
}

function expectValid(tx: BitcoinTx, index: number, prevout: TxOutput): void {
  expect(verifyInputWitness(tx, index, prevout)).toEqual({ ok: true });
}

describe('devnet witness verification against BOLT 3 Appendix C', () => {
  const v = commitmentVectors();
  const prevout: TxOutput = { value: v.fundingAmountSat, script: fundingScriptPubKey(v.localFundingPubkey, v.remoteFundingPubkey) };
  it('accepts every commitment and HTLC transaction of the spec', () => {
    let htlcTxCount = 0;
    for (const c of v.cases) {
      const commit = decodeTx(c.commitTx);
      expectValid(commit, 0, prevout);
      for (const h of c.htlcTxs) {
        const htlcTx = decodeTx(h.tx);
        expectValid(htlcTx, 0, commit.outputs[htlcTx.inputs[0]!.index]!);
        htlcTxCount++;
      }
    }
    expect(htlcTxCount).toBeGreaterThan(20);
  });

  it('rejects a spec transaction whose signature or preimage was altered', () => {
    const c = v.cases[1]!;
    const commit = decodeTx(c.commitTx);
    const witness = commit.inputs[0]!.witness.map((w) => Uint8Array.from(w));
    witness[1]![8]! ^= 1;
    expect(verifyInputWitness(withWitness(commit, 0, witness), 0, prevout).ok).toBe(false);
    const success = decodeTx(c.htlcTxs.find((h) => h.kind === 'success')!.tx);
    const sw = success.inputs[0]!.witness.map((w) => Uint8Array.from(w));
    sw[3]![0]! ^= 1; // wrong preimage
    expect(verifyInputWitness(withWitness(success, 0, sw), 0, commit.outputs[success.inputs[0]!.index]!).ok).toBe(false);
  });
});

describe('cooperative close', () => {
  const base = {
    fundingOutpoint: { txid: fundingTxid, index: 0 },
    fundingAmountSat,
    localFundingPubkey: alice.funding,
    remoteFundingPubkey: bob.funding,
    localScript: p2wpkhScript(alice.paymentBasepoint),
    remoteScript: p2wpkhScript(bob.paymentBasepoint),
    feeSat: 700n,
    feePayer: 'local' as const,
    dustLimitSat: 546n,
  };

  it('pays both sides, fee from the payer, BIP 69 order, and its witness satisfies the 2-of-2', () => {
    const closing = buildClosingTx({ ...base, localAmountMsat: 600_000_500n, remoteAmountMsat: 399_999_500n });
    expect(closing.tx.outputs.map((o) => o.value)).toEqual([399_999n, 599_300n]);
    expect(closing.remoteOutputIndex).toBe(0);
    expect(closing.localOutputIndex).toBe(1);
    expect(closing.actualFeeSat).toBe(701n); // the fee plus the rounded-off millisatoshis
    expect(closing.tx.inputs[0]!.sequence).toBe(0xffffffff);
    const signed = finalizeClosingTx(closing, signClosingTx(closing, alice.secrets.funding), signClosingTx(closing, bob.secrets.funding));
    expectValid(signed, 0, fundingPrevout);
    expect(() => finalizeClosingTx(closing, signClosingTx(closing, bob.secrets.funding), signClosingTx(closing, bob.secrets.funding))).toThrow(RangeError);
  });

  it('drops dust and omitted outputs, zeroes OP_RETURN, supports the simple-close sequence and locktime', () => {
    const dust = buildClosingTx({ ...base, localAmountMsat: 999_600_000n, remoteAmountMsat: 400_000n });
    expect(dust.remoteOutputIndex).toBe(-1);
    expect(dust.tx.outputs).toHaveLength(1);
    const omitted = buildClosingTx({ ...base, localAmountMsat: 500_000_000n, remoteAmountMsat: 500_000_000n, feePayer: 'remote', omitRemoteOutput: true });
    expect(omitted.tx.outputs.map((o) => o.value)).toEqual([500_000n]);
    const opReturn = compileScript([OP.OP_RETURN, utf8ToBytes('bye')]);
    const simple = buildClosingTx({
      ...base,
      remoteScript: opReturn,
      localAmountMsat: 999_999_000n,
      remoteAmountMsat: 1_000n,
      sequence: 0xfffffffd,
      lockTime: 800_000,
    });
    expect(simple.tx.outputs[simple.remoteOutputIndex]!.value).toBe(0n);
    expect(simple.tx.inputs[0]!.sequence).toBe(0xfffffffd);
    expect(simple.tx.lockTime).toBe(800_000);
    expect(() => buildClosingTx({ ...base, localAmountMsat: 500_000n, remoteAmountMsat: 999_500_000n })).toThrow(/cover the fee/);
  });
});

describe('sweeping our own to_local after its CSV delay', () => {
  const { commitment, pcp } = aliceCommitment(7n);
  const toLocal = commitment.tx.outputs[commitment.toLocalOutputIndex]!;
  const delayedPriv = derivePrivateKey(alice.secrets.delayed, pcp);
  const output = {
    outpoint: { txid: commitment.txid, index: commitment.toLocalOutputIndex },
    amountSat: toLocal.value,
    revocationPubkey: commitment.params.keys.revocationPubkey,
    localDelayedPubkey: commitment.params.keys.localDelayedPubkey,
    toSelfDelay,
  };

  it('spends through the delayed branch with nSequence = to_self_delay, at the target feerate', () => {
    const sweep = buildDelayedSweepTx({ outputs: [output], destinationScript: p2wpkhScript(alice.paymentBasepoint), feeratePerKw: 1000 });
    expect(sweep.tx.inputs[0]!.sequence).toBe(toSelfDelay);
    const signed = finalizeDelayedSweep(sweep, [signDelayedSweepInput(sweep, 0, delayedPriv)]);
    expectValid(signed, 0, toLocal);
    expect(sweep.expectedWeight).toBeGreaterThanOrEqual(txWeight(signed));
    expect(sweep.feeSat * 1000n).toBeGreaterThanOrEqual(1000n * BigInt(txWeight(signed)));
  });

  it('the script refuses the same spend one block early', () => {
    const sweep = buildDelayedSweepTx({ outputs: [output], destinationScript: p2wpkhScript(alice.paymentBasepoint), feeratePerKw: 1000 });
    const early: BitcoinTx = { ...sweep.tx, inputs: [{ ...sweep.tx.inputs[0]!, sequence: toSelfDelay - 1 }] };
    const digest = segwitV0Sighash(early, 0, sweep.inputs[0]!.witnessScript, toLocal.value, SIGHASH_ALL);
    const witness = [encodeWitnessSignature(signDigest(digest, delayedPriv)), new Uint8Array(0), sweep.inputs[0]!.witnessScript];
    const result = verifyInputWitness(withWitness(early, 0, witness), 0, toLocal);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(/CSV/);
  });

  it('refuses a signature from the wrong key', () => {
    const sweep = buildDelayedSweepTx({ outputs: [output], destinationScript: p2wpkhScript(alice.paymentBasepoint), feeratePerKw: 1000 });
    expect(() => finalizeDelayedSweep(sweep, [signDelayedSweepInput(sweep, 0, alice.secrets.delayed)])).toThrow(RangeError);
  });
});

describe('justice transaction against a revoked commitment', () => {
  const revokedNumber = 4n;
  const { commitment, signed, pcp } = aliceCommitment(revokedNumber);

  // Bob has received Alice's secrets for commitments 0..5 (commitment 4 is revoked).
  const store = new ShachainStore();
  for (let n = 0n; n <= 5n; n++) store.insert(commitmentIndex(n), alice.shachain.perCommitmentSecret(n));
  const revealed = store.perCommitmentSecret(revokedNumber)!;
  const revocationPriv = deriveRevocationPrivateKey(bob.secrets.revocation, revealed);
  const keys = commitment.params.keys;

  const justiceInputs: JusticeInput[] = commitment.outputs.flatMap((o, index): JusticeInput[] => {
    const outpoint = { txid: commitment.txid, index };
    if (o.kind === 'to_local') {
      return [{ kind: 'to_local', outpoint, amountSat: o.value, revocationPubkey: keys.revocationPubkey, localDelayedPubkey: keys.localDelayedPubkey, toSelfDelay }];
    }
    if (o.kind !== 'htlc') return [];
    const h = htlcs[o.htlcIndex]!;
    return h.direction === 'offered'
      ? [{ kind: 'offered_htlc', outpoint, amountSat: o.value, keys, paymentHash: h.paymentHash }]
      : [{ kind: 'received_htlc', outpoint, amountSat: o.value, keys, paymentHash: h.paymentHash, cltvExpiry: h.cltvExpiry }];
  });

  it('the revoked commitment itself is valid (it did get broadcast)', () => {
    expectValid(signed, 0, fundingPrevout);
    expect(justiceInputs.map((i) => i.kind).sort()).toEqual(['offered_htlc', 'received_htlc', 'to_local']);
  });

  it('sweeps to_local and both HTLC outputs with the revocation key; every witness satisfies its script', () => {
    const justice = buildJusticeTx({ inputs: justiceInputs, destinationScript: p2wpkhScript(bob.paymentBasepoint), feeratePerKw: 5000 });
    const sigs = justice.inputs.map((_, i) => signJusticeInput(justice, i, revocationPriv));
    const tx = finalizeJusticeTx(justice, sigs);
    tx.inputs.forEach((input, i) => expectValid(tx, i, commitment.tx.outputs[input.index]!));
    expect(justice.expectedWeight).toBeGreaterThanOrEqual(txWeight(tx));
    const total = justiceInputs.reduce((s, i) => s + i.amountSat, 0n);
    expect(tx.outputs[0]!.value).toBe(total - justice.feeSat);
  });

  it('also sweeps the output of a revoked HTLC-timeout transaction', () => {
    const htlcTx = buildHtlcTxs(commitment).find((t) => t.kind === 'timeout')!;
    const localHtlcPriv = derivePrivateKey(alice.secrets.htlc, pcp);
    const remoteHtlcPriv = derivePrivateKey(bob.secrets.htlc, pcp);
    const timeout = finalizeHtlcTx(htlcTx, { local: signHtlcTx(htlcTx, localHtlcPriv), remote: signHtlcTx(htlcTx, remoteHtlcPriv) });
    expectValid(timeout, 0, commitment.tx.outputs[htlcTx.commitmentOutputIndex]!);

    const justice = buildJusticeTx({
      inputs: [
        {
          kind: 'to_local',
          outpoint: { txid: htlcTx.txid, index: 0 },
          amountSat: timeout.outputs[0]!.value,
          revocationPubkey: keys.revocationPubkey,
          localDelayedPubkey: keys.localDelayedPubkey,
          toSelfDelay,
        },
      ],
      destinationScript: p2wpkhScript(bob.paymentBasepoint),
      feeratePerKw: 253,
    });
    const tx = finalizeJusticeTx(justice, [signJusticeInput(justice, 0, revocationPriv)]);
    expectValid(tx, 0, timeout.outputs[0]!);
  });

  it('cannot be signed before the secret is revealed: a guess of the key fails', () => {
    const justice = buildJusticeTx({ inputs: justiceInputs, destinationScript: p2wpkhScript(bob.paymentBasepoint), feeratePerKw: 5000 });
    const notYetRevoked = alice.shachain.perCommitmentSecret(revokedNumber + 2n);
    expect(store.perCommitmentSecret(revokedNumber + 2n)).toBeUndefined();
    const wrongKey = deriveRevocationPrivateKey(bob.secrets.revocation, notYetRevoked);
    const sigs = justice.inputs.map((_, i) => signJusticeInput(justice, i, wrongKey));
    expect(() => finalizeJusticeTx(justice, sigs)).toThrow(RangeError);
    // And a witness carrying such a signature does not satisfy the script.
    const forced = withWitness(justice.tx, 0, [encodeWitnessSignature(sigs[0]!), Uint8Array.of(1), justice.inputs[0]!.witnessScript]);
    expect(verifyInputWitness(forced, 0, commitment.tx.outputs[justice.tx.inputs[0]!.index]!).ok).toBe(false);
  });
});
