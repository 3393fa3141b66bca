/**
 * The legacy closing_signed negotiation (BOLT 2 "Legacy Closing Negotiation", BOLT 3 "Legacy
 * Closing Transaction"): two negotiators with real keys talk to each other, and every agreed
 * transaction is checked on its own — both signatures, the 2-of-2 witness run through the
 * devnet's script check, amounts recomputed here from the balances, fees inside both ranges,
 * no dust output.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { fundingScriptPubKey, sortFundingPubkeys } from '../../../src/bitcoin/bolt3-scripts.js';
import { buildClosingTx, signClosingTx } from '../../../src/bitcoin/closing.js';
import { decodeWitnessSignature, publicKeyFromPrivate, signDigest, verifyDigest } from '../../../src/bitcoin/ecdsa.js';
import { fundingInputSighash } from '../../../src/bitcoin/funding-input.js';
import { OP, compileScript, dustThreshold, hash160, p2pkhScriptFromHash, p2wpkhScript } from '../../../src/bitcoin/script.js';
import { decodeTx, txidOf } from '../../../src/bitcoin/transaction.js';
import type { BitcoinTx } from '../../../src/bitcoin/transaction.js';
import { verifyInputWitness } from '../../../src/chain/devnet/tx-validation.js';
import { ClosingNegotiation, closingTxWeight, feeRangeFor } from '../../../src/channel/closing/negotiation.js';
import type { ClosingTerms, FeeRange, IncomingClosingSigned, NegotiationStep, OutgoingClosingSigned } from '../../../src/channel/closing/negotiation.js';

const secret = (label: string): Uint8Array => sha256(utf8ToBytes(label));
const alicePriv = secret('closing/alice/funding');
const bobPriv = secret('closing/bob/funding');
const alice = { priv: alicePriv, pub: publicKeyFromPrivate(alicePriv), script: p2wpkhScript(publicKeyFromPrivate(secret('closing/alice/payout'))) };
const bob = { priv: bobPriv, pub: publicKeyFromPrivate(bobPriv), script: p2wpkhScript(publicKeyFromPrivate(secret('closing/bob/payout'))) };
const fundingTxid = Array.from(secret('closing/funding tx'), (b) => b.toString(16).padStart(2, '0')).join('');
const fundingOutpoint = { txid: fundingTxid, index: 1 };
const fundingAmountSat = 1_000_000n;
const fundingScript = fundingScriptPubKey(alice.pub, bob.pub);

/** The channel as both sides see it; Alice is the funder. */
interface Channel {
  aliceMsat: bigint;
  bobMsat: bigint;
  aliceDustSat: bigint;
  bobDustSat: bigint;
  aliceScript: Uint8Array;
  bobScript: Uint8Array;
}

const defaults: Channel = {
  aliceMsat: 700_000_123n,
  bobMsat: 299_999_877n,
  aliceDustSat: 546n,
  bobDustSat: 354n,
  aliceScript: alice.script,
  bobScript: bob.script,
};

function termsFor(side: 'alice' | 'bob', ch: Channel, range: FeeRange, feeSat: bigint): ClosingTerms {
  const a = side === 'alice';
  return {
    fundingOutpoint,
    fundingAmountSat,
    localFundingPubkey: a ? alice.pub : bob.pub,
    remoteFundingPubkey: a ? bob.pub : alice.pub,
    weAreFunder: a,
    localScript: a ? ch.aliceScript : ch.bobScript,
    remoteScript: a ? ch.bobScript : ch.aliceScript,
    localBalanceMsat: a ? ch.aliceMsat : ch.bobMsat,
    remoteBalanceMsat: a ? ch.bobMsat : ch.aliceMsat,
    localDustLimitSat: a ? ch.aliceDustSat : ch.bobDustSat,
    remoteDustLimitSat: a ? ch.bobDustSat : ch.aliceDustSat,
    ourFeeRange: range,
    ourFeeSat: feeSat,
  };
}

const range = (minFeeSat: bigint, maxFeeSat: bigint): FeeRange => ({ minFeeSat, maxFeeSat });
const signerOf = (priv: Uint8Array) => (digest: Uint8Array): Uint8Array => signDigest(digest, priv);

function pair(ch: Channel, aliceRange: FeeRange, aliceFee: bigint, bobRange: FeeRange, bobFee: bigint) {
  return {
    funder: new ClosingNegotiation(termsFor('alice', ch, aliceRange, aliceFee), signerOf(alice.priv)),
    fundee: new ClosingNegotiation(termsFor('bob', ch, bobRange, bobFee), signerOf(bob.priv)),
  };
}

interface Conversation {
  /** Every closing_signed, in order, with its sender. */
  messages: { from: 'funder' | 'fundee'; message: OutgoingClosingSigned }[];
  funderEnd?: NegotiationStep;
  fundeeEnd?: NegotiationStep;
}

const MAX_MESSAGES = 64;

/**
 * Runs a negotiation from the funder's start() to the end of both sides (or a failure),
 * delivering each message to the other side; `stripFeeRange` plays a peer without fee_range
 * support on the wire. Bounded to MAX_MESSAGES messages.
 */
function converse(funder: ClosingNegotiation, fundee: ClosingNegotiation, stripFeeRange = false): Conversation {
  const conv: Conversation = { messages: [] };
  let step = funder.start();
  let from: 'funder' | 'fundee' = 'funder';
  for (let i = 0; i < MAX_MESSAGES; i++) {
    if (step.action === 'fail' || step.action === 'done') {
      if (from === 'funder') conv.funderEnd = step;
      else conv.fundeeEnd = step;
      return conv;
    }
    conv.messages.push({ from, message: step.message });
    if (step.action === 'send_and_done') {
      if (from === 'funder') conv.funderEnd = step;
      else conv.fundeeEnd = step;
    }
    const wire: IncomingClosingSigned = stripFeeRange ? { feeSat: step.message.feeSat, signature: step.message.signature } : step.message;
    const receiver = from === 'funder' ? fundee : funder;
    const next = receiver.onClosingSigned(wire);
    from = from === 'funder' ? 'fundee' : 'funder';
    if (step.action === 'send_and_done') {
      // The side that finished sent its last message: the receiver's answer ends the exchange.
      if (from === 'funder') conv.funderEnd = next;
      else conv.fundeeEnd = next;
      return conv;
    }
    step = next;
  }
  throw new Error(`negotiation did not end within ${MAX_MESSAGES} messages`);
}

/** The agreed transaction of a finished side. */
function finished(step: NegotiationStep | undefined): { tx: BitcoinTx; raw: Uint8Array; txid: string; feeSat: bigint } {
  if (step === undefined || (step.action !== 'done' && step.action !== 'send_and_done')) {
    throw new Error(`expected a finished negotiation, got ${JSON.stringify(step, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  }
  return { tx: decodeTx(step.closingTx), raw: step.closingTx, txid: step.txid, feeSat: step.feeSat };
}

/**
 * Checks an agreed closing transaction from first principles: both signatures against the
 * BIP 143 digest, the witness through the devnet interpreter, the amounts recomputed from the
 * balances (funder pays the fee, msat rounded down, dust left out), the fee inside both ranges.
 */
function expectSoundClose(ch: Channel, both: Conversation, aliceRange: FeeRange, bobRange: FeeRange): bigint {
  const a = finished(both.funderEnd);
  const b = finished(both.fundeeEnd);
  expect(b.raw).toEqual(a.raw);
  expect(b.txid).toBe(a.txid);
  expect(b.feeSat).toBe(a.feeSat);
  const { tx, feeSat } = a;
  expect(txidOf(tx)).toBe(a.txid);
  expect(tx.version).toBe(2);
  expect(tx.lockTime).toBe(0);
  expect(tx.inputs).toHaveLength(1);
  expect(tx.inputs[0]).toMatchObject({ txid: fundingTxid, index: 1, sequence: 0xffffffff });

  // The witness satisfies the funding script, and each signature verifies on its own.
  expect(verifyInputWitness(tx, 0, { value: fundingAmountSat, script: fundingScript })).toEqual({ ok: true });
  const witness = tx.inputs[0]!.witness;
  expect(witness).toHaveLength(4);
  const unsigned: BitcoinTx = { ...tx, inputs: [{ ...tx.inputs[0]!, witness: [] }] };
  const digest = fundingInputSighash(unsigned, { fundingAmountSat, localFundingPubkey: alice.pub, remoteFundingPubkey: bob.pub });
  const [first, second] = sortFundingPubkeys(alice.pub, bob.pub);
  expect(verifyDigest(decodeWitnessSignature(witness[1]!).signature, digest, first)).toBe(true);
  expect(verifyDigest(decodeWitnessSignature(witness[2]!).signature, digest, second)).toBe(true);

  // Amounts: the funder pays the fee; outputs below either dust limit are left out.
  const expected = [
    { value: ch.aliceMsat / 1000n - feeSat, script: ch.aliceScript },
    { value: ch.bobMsat / 1000n, script: ch.bobScript },
  ].filter((o) => o.value >= ch.aliceDustSat && o.value >= ch.bobDustSat && o.value >= dustThreshold(o.script));
  expect(tx.outputs.map((o) => o.value).sort()).toEqual(expected.map((o) => o.value).sort());
  for (const o of tx.outputs) {
    expect(expected.some((e) => e.value === o.value && Buffer.from(e.script).equals(Buffer.from(o.script)))).toBe(true);
    expect(o.value >= ch.aliceDustSat && o.value >= ch.bobDustSat && o.value >= dustThreshold(o.script)).toBe(true);
  }
  const outputsSat = tx.outputs.reduce((s, o) => s + o.value, 0n);
  const droppedSat = (ch.aliceMsat / 1000n - feeSat) + ch.bobMsat / 1000n - expected.reduce((s, o) => s + o.value, 0n);
  const roundedOffSat = fundingAmountSat - ch.aliceMsat / 1000n - ch.bobMsat / 1000n;
  expect(outputsSat + feeSat + droppedSat + roundedOffSat).toBe(fundingAmountSat);

  // The fee lies inside both sides' ranges.
  expect(feeSat >= aliceRange.minFeeSat && feeSat <= aliceRange.maxFeeSat).toBe(true);
  expect(feeSat >= bobRange.minFeeSat && feeSat <= bobRange.maxFeeSat).toBe(true);
  return feeSat;
}

describe('closing_signed with fee_range', () => {
  it('ends in two messages when the funder fee lies in the fundee range', () => {
    const aliceRange = range(200n, 2_000n);
    const bobRange = range(100n, 1_500n);
    const { funder, fundee } = pair(defaults, aliceRange, 700n, bobRange, 300n);
    const conv = converse(funder, fundee);
    expect(conv.messages.map((m) => [m.from, m.message.feeSat])).toEqual([
      ['funder', 700n],
      ['fundee', 700n],
    ]);
    expect(conv.fundeeEnd?.action).toBe('send_and_done');
    expect(conv.funderEnd?.action).toBe('done');
    expect(expectSoundClose(defaults, conv, aliceRange, bobRange)).toBe(700n);
    expect(funder.lastSentFeeSat).toBe(700n);
    expect(fundee.lastSentFeeSat).toBe(700n);
  });

  it('ends in three messages when the fundee moves the fee into the overlap', () => {
    const aliceRange = range(200n, 2_000n);
    const bobRange = range(900n, 1_500n);
    const { funder, fundee } = pair(defaults, aliceRange, 400n, bobRange, 1_200n);
    const conv = converse(funder, fundee);
    expect(conv.messages.map((m) => [m.from, m.message.feeSat])).toEqual([
      ['funder', 400n],
      ['fundee', 1_200n],
      ['funder', 1_200n],
    ]);
    // The fundee "SHOULD set max_fee_satoshis to at least the max_fee_satoshis received".
    expect(conv.messages[1]!.message.feeRange).toEqual(range(900n, 2_000n));
    expect(conv.funderEnd?.action).toBe('send_and_done');
    expect(conv.fundeeEnd?.action).toBe('done');
    expect(expectSoundClose(defaults, conv, aliceRange, bobRange)).toBe(1_200n);
  });

  it('clamps the fundee preference into the overlap', () => {
    const aliceRange = range(200n, 1_000n);
    const bobRange = range(800n, 5_000n);
    const { funder, fundee } = pair(defaults, aliceRange, 300n, bobRange, 3_000n);
    const conv = converse(funder, fundee);
    expect(conv.messages.map((m) => m.message.feeSat)).toEqual([300n, 1_000n, 1_000n]);
    expect(expectSoundClose(defaults, conv, aliceRange, bobRange)).toBe(1_000n);
  });

  it('fails with a warning when the ranges do not overlap', () => {
    const { funder, fundee } = pair(defaults, range(200n, 800n), 500n, range(900n, 1_500n), 1_000n);
    const conv = converse(funder, fundee);
    // The fundee widens its max to the funder's, so only the minimum can leave no overlap.
    expect(conv.messages).toHaveLength(1);
    expect(conv.fundeeEnd).toMatchObject({ action: 'fail', warning: true });
    expect((conv.fundeeEnd as { reason: string }).reason).toMatch(/no overlap/);
    // The negotiation is over: another message is refused.
    expect(fundee.onClosingSigned(conv.messages[0]!.message)).toMatchObject({ action: 'fail' });
  });

  it('the funder fails the channel if the fundee fee is outside the overlap', () => {
    const ch = defaults;
    const funder = new ClosingNegotiation(termsFor('alice', ch, range(200n, 1_000n), 500n), signerOf(alice.priv));
    funder.start();
    const reply = signedByBob(ch, 1_100n);
    expect(funder.onClosingSigned({ feeSat: 1_100n, signature: reply, feeRange: range(100n, 2_000n) })).toMatchObject({ action: 'fail', warning: false });
  });

  it('the fundee fails the channel if the funder answers with another fee', () => {
    const ch = defaults;
    const fundee = new ClosingNegotiation(termsFor('bob', ch, range(900n, 1_500n), 1_200n), signerOf(bob.priv));
    const first = fundee.onClosingSigned({ feeSat: 400n, signature: signedByAlice(ch, 400n), feeRange: range(200n, 2_000n) });
    expect(first).toMatchObject({ action: 'send', message: { feeSat: 1_200n } });
    const other = fundee.onClosingSigned({ feeSat: 1_300n, signature: signedByAlice(ch, 1_300n), feeRange: range(200n, 2_000n) });
    expect(other).toMatchObject({ action: 'fail', warning: false });
  });
});

describe('closing_signed without fee_range (legacy "strictly between")', () => {
  it('converges in a bounded number of steps, each proposal strictly between the last two', () => {
    const aliceRange = range(100n, 1_000n);
    const bobRange = range(990n, 3_000n);
    const { funder, fundee } = pair(defaults, aliceRange, 100n, bobRange, 1_500n);
    const conv = converse(funder, fundee, true);
    const fees = conv.messages.map((m) => m.message.feeSat);
    expect(fees.length).toBeGreaterThan(4);
    expect(fees.length).toBeLessThan(20);
    // From the third message on, each fee is strictly between the two before it.
    for (let i = 2; i < fees.length - 1; i++) {
      const [lo, hi] = fees[i - 2]! < fees[i - 1]! ? [fees[i - 2]!, fees[i - 1]!] : [fees[i - 1]!, fees[i - 2]!];
      expect(fees[i]! > lo && fees[i]! < hi).toBe(true);
    }
    expect(fees[fees.length - 1]).toBe(fees[fees.length - 2]);
    expectSoundClose(defaults, conv, aliceRange, bobRange);
  });

  it('accepts a fee inside our range at once', () => {
    const aliceRange = range(100n, 1_000n);
    const bobRange = range(300n, 3_000n);
    const { funder, fundee } = pair(defaults, aliceRange, 500n, bobRange, 1_500n);
    const conv = converse(funder, fundee, true);
    expect(conv.messages.map((m) => m.message.feeSat)).toEqual([500n, 500n]);
    expectSoundClose(defaults, conv, aliceRange, bobRange);
  });

  it('fails in a bounded number of steps when the ranges do not overlap', () => {
    const { funder, fundee } = pair(defaults, range(100n, 1_000n), 100n, range(1_001n, 3_000n), 3_000n);
    const conv = converse(funder, fundee, true);
    const end = conv.funderEnd ?? conv.fundeeEnd;
    expect(end).toMatchObject({ action: 'fail', warning: true });
    expect(conv.messages.length).toBeLessThan(40);
  });

  it('refuses a fee that is not strictly between the last two', () => {
    const ch = defaults;
    const started = (): ClosingNegotiation => {
      const funder = new ClosingNegotiation(termsFor('alice', ch, range(100n, 1_500n), 100n), signerOf(alice.priv));
      expect(funder.start()).toMatchObject({ action: 'send', message: { feeSat: 100n } });
      // Halfway from 100 toward Bob's 2000.
      expect(funder.onClosingSigned({ feeSat: 2_000n, signature: signedByBob(ch, 2_000n) })).toMatchObject({ action: 'send', message: { feeSat: 1_050n } });
      return funder;
    };
    // Bob must now go strictly between 1050 and 2000: 1800 is, 2500 and 2000 are not.
    expect(started().onClosingSigned({ feeSat: 1_800n, signature: signedByBob(ch, 1_800n) })).toMatchObject({ action: 'send', message: { feeSat: 1_425n } });
    expect(started().onClosingSigned({ feeSat: 2_500n, signature: signedByBob(ch, 2_500n) })).toMatchObject({ action: 'fail', warning: true });
    expect(started().onClosingSigned({ feeSat: 2_000n, signature: signedByBob(ch, 2_000n) })).toMatchObject({ action: 'fail', warning: true });
  });
});

describe('a sweep of fee preferences (deterministic, bounded)', () => {
  /** A small linear congruential generator, so the sweep is the same on every run. */
  function lcg(seed: number): (below: number) => bigint {
    let state = seed >>> 0;
    return (below) => {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      return BigInt(state % below);
    };
  }
  const randomRange = (next: (below: number) => bigint): { r: FeeRange; pref: bigint } => {
    const min = 100n + next(3_000);
    const max = min + next(3_000);
    return { r: range(min, max), pref: min + next(Number(max - min) + 1) };
  };

  for (const legacy of [false, true]) {
    it(`${legacy ? 'without' : 'with'} fee_range: agrees exactly when the ranges allow it`, () => {
      const next = lcg(legacy ? 7 : 3);
      let agreed = 0;
      let failed = 0;
      for (let i = 0; i < 40; i++) {
        const a = randomRange(next);
        const b = randomRange(next);
        const { funder, fundee } = pair(defaults, a.r, a.pref, b.r, b.pref);
        const conv = converse(funder, fundee, legacy);
        // With fee_range the fundee widens its maximum to the funder's, so only its minimum
        // can leave no overlap; without, both ends count.
        const overlaps = b.r.minFeeSat <= a.r.maxFeeSat && (!legacy || a.r.minFeeSat <= b.r.maxFeeSat);
        const bobAccepts = legacy ? b.r : range(b.r.minFeeSat, maxBig(b.r.maxFeeSat, a.r.maxFeeSat));
        if (overlaps) {
          expectSoundClose(defaults, conv, a.r, bobAccepts);
          agreed++;
        } else {
          expect(conv.funderEnd?.action === 'fail' || conv.fundeeEnd?.action === 'fail').toBe(true);
          failed++;
        }
      }
      // The sweep exercised both outcomes.
      expect(agreed).toBeGreaterThan(0);
      expect(failed).toBeGreaterThan(0);
    });
  }
});

const maxBig = (x: bigint, y: bigint): bigint => (x > y ? x : y);

describe('dust outputs', () => {
  it('leaves out the fundee output below dust, and both sides agree on that variant', () => {
    const ch: Channel = { ...defaults, aliceMsat: 999_500_000n, bobMsat: 500_000n, aliceDustSat: 546n, bobDustSat: 354n };
    const aliceRange = range(200n, 2_000n);
    const bobRange = range(100n, 1_500n);
    const { funder, fundee } = pair(ch, aliceRange, 700n, bobRange, 300n);
    const conv = converse(funder, fundee);
    expectSoundClose(ch, conv, aliceRange, bobRange);
    const { tx } = finished(conv.funderEnd);
    expect(tx.outputs).toHaveLength(1);
    expect(tx.outputs[0]!.script).toEqual(ch.aliceScript);
  });

  it('accepts a strict peer signature on its own dust-limit variant, which omits our output', () => {
    // Alice (the funder, dust limit 546) signs the BOLT 3 tx with her own dust limit only:
    // Bob's 500 sat is below it, so she leaves his output out.
    const ch: Channel = { ...defaults, aliceMsat: 999_500_000n, bobMsat: 500_000n, aliceDustSat: 546n, bobDustSat: 354n };
    const fundee = new ClosingNegotiation(termsFor('bob', ch, range(100n, 1_500n), 300n), signerOf(bob.priv));
    const omitted = aliceVariant(ch, 700n, ch.aliceDustSat);
    expect(omitted.remoteOutputIndex).toBe(-1);
    const step = fundee.onClosingSigned({ feeSat: 700n, signature: signClosingTx(omitted, alice.priv), feeRange: range(200n, 2_000n) });
    expect(step.action).toBe('send_and_done');
    if (step.action !== 'send_and_done') return;
    expect(step.txid).toBe(omitted.txid);
    const tx = decodeTx(step.closingTx);
    expect(verifyInputWitness(tx, 0, { value: fundingAmountSat, script: fundingScript })).toEqual({ ok: true });
  });

  it('uses the larger dust limit, and refuses a peer variant with an output below our dust limit', () => {
    // Bob's dust limit (546) is above Alice's (354) and his 500 sat lie between them.
    const ch: Channel = { ...defaults, aliceMsat: 999_500_000n, bobMsat: 500_000n, aliceDustSat: 354n, bobDustSat: 546n };
    const aliceRange = range(200n, 2_000n);
    const bobRange = range(100n, 1_500n);
    const { funder, fundee } = pair(ch, aliceRange, 700n, bobRange, 300n);
    const conv = converse(funder, fundee);
    expectSoundClose(ch, conv, aliceRange, bobRange);
    expect(finished(conv.fundeeEnd).tx.outputs).toHaveLength(1);
    // A strict Alice signs with her own dust limit and keeps Bob's 500 sat: Bob MUST NOT sign
    // an output below his own dust limit, so the channel fails.
    const strict = signClosingTx(aliceVariant(ch, 700n, ch.aliceDustSat), alice.priv);
    const step = new ClosingNegotiation(termsFor('bob', ch, bobRange, 300n), signerOf(bob.priv)).onClosingSigned({ feeSat: 700n, signature: strict, feeRange: aliceRange });
    expect(step).toMatchObject({ action: 'fail', warning: false, reason: expect.stringMatching(/below our dust limit of 546/) });
  });

  it('accepts a peer signature on the variant without its own output', () => {
    const ch = defaults;
    const fundee = new ClosingNegotiation(termsFor('bob', ch, range(100n, 1_500n), 300n), signerOf(bob.priv));
    const ownOutputLeftOut = buildClosingTx({ ...aliceParams(ch, 700n, ch.aliceDustSat), omitLocalOutput: true });
    const step = fundee.onClosingSigned({ feeSat: 700n, signature: signClosingTx(ownOutputLeftOut, alice.priv), feeRange: range(200n, 2_000n) });
    expect(step).toMatchObject({ action: 'send_and_done', txid: ownOutputLeftOut.txid });
  });

  it('refuses a signature on a variant that leaves out our output above dust', () => {
    const ch = defaults;
    const fundee = new ClosingNegotiation(termsFor('bob', ch, range(100n, 1_500n), 300n), signerOf(bob.priv));
    const stealing = buildClosingTx({ ...aliceParams(ch, 700n, ch.aliceDustSat), omitRemoteOutput: true });
    const step = fundee.onClosingSigned({ feeSat: 700n, signature: signClosingTx(stealing, alice.priv), feeRange: range(200n, 2_000n) });
    expect(step).toMatchObject({ action: 'fail', warning: true });
  });

  it('fails the channel when an output is below the dust threshold of its script', () => {
    // Bob pays to P2PKH (546 sat threshold) but has 400 sat, above both dust limits (354).
    const p2pkh = p2pkhScriptFromHash(hash160(bob.pub));
    const ch: Channel = { ...defaults, aliceMsat: 999_600_000n, bobMsat: 400_000n, aliceDustSat: 354n, bobDustSat: 354n, bobScript: p2pkh };
    const { funder, fundee } = pair(ch, range(200n, 2_000n), 700n, range(100n, 1_500n), 300n);
    // The funder cannot propose a transaction its peer MUST fail the channel over.
    expect(funder.start()).toMatchObject({ action: 'fail', warning: false, reason: expect.stringMatching(/dust threshold/) });
    // A peer that signs it anyway gets the channel failed.
    const signed = signClosingTx(aliceVariant(ch, 700n, ch.aliceDustSat), alice.priv);
    expect(fundee.onClosingSigned({ feeSat: 700n, signature: signed, feeRange: range(200n, 2_000n) })).toMatchObject({
      action: 'fail',
      warning: false,
      reason: expect.stringMatching(/dust threshold/),
    });
  });

  it('the fundee leaves out its own output below the dust threshold of its script', () => {
    // Same channel seen from Bob proposing first in a legacy exchange: his own 400 sat P2PKH
    // output is left out (BOLT 3: "MAY eliminate its own output") and Alice accepts that variant.
    const p2pkh = p2pkhScriptFromHash(hash160(bob.pub));
    const ch: Channel = { ...defaults, aliceMsat: 999_600_000n, bobMsat: 400_000n, aliceDustSat: 354n, bobDustSat: 354n, bobScript: p2pkh };
    const funder = new ClosingNegotiation(termsFor('alice', ch, range(200n, 2_000n), 700n), signerOf(alice.priv));
    const fundee = new ClosingNegotiation(termsFor('bob', ch, range(200n, 1_500n), 300n), signerOf(bob.priv));
    const strictAlice = signClosingTx(buildClosingTx({ ...aliceParams(ch, 100n, ch.aliceDustSat), omitRemoteOutput: true }), alice.priv);
    // Alice's legacy 100 sat (signed without Bob's output) is below Bob's range: he proposes 300.
    const proposal = fundee.onClosingSigned({ feeSat: 100n, signature: strictAlice });
    expect(proposal).toMatchObject({ action: 'send', message: { feeSat: 300n } });
    if (proposal.action !== 'send') return;
    const end = funder.onClosingSigned(proposal.message);
    expect(end).toMatchObject({ action: 'send_and_done', feeSat: 300n });
    if (end.action !== 'send_and_done') return;
    const tx = decodeTx(end.closingTx);
    expect(tx.outputs.map((o) => o.value)).toEqual([999_600n - 300n]);
    expect(verifyInputWitness(tx, 0, { value: fundingAmountSat, script: fundingScript })).toEqual({ ok: true });
    expect(fundee.onClosingSigned(end.message)).toMatchObject({ action: 'done', txid: end.txid });
  });

  it('carries an OP_RETURN output at 0 sat (never dust)', () => {
    const opReturn = compileScript([OP.OP_RETURN, utf8ToBytes('goodbye')]);
    const ch: Channel = { ...defaults, bobScript: opReturn };
    const { funder, fundee } = pair(ch, range(200n, 2_000n), 700n, range(100n, 1_500n), 300n);
    const conv = converse(funder, fundee);
    const { tx } = finished(conv.funderEnd);
    expect(finished(conv.fundeeEnd).raw).toEqual(finished(conv.funderEnd).raw);
    expect(tx.outputs.find((o) => o.script[0] === OP.OP_RETURN)?.value).toBe(0n);
    expect(verifyInputWitness(tx, 0, { value: fundingAmountSat, script: fundingScript })).toEqual({ ok: true });
  });
});

describe('bad closing_signed', () => {
  const ch = defaults;
  const fundee = (): ClosingNegotiation => new ClosingNegotiation(termsFor('bob', ch, range(100n, 1_500n), 300n), signerOf(bob.priv));

  it('fails on a signature that does not verify', () => {
    const good = signedByAlice(ch, 700n);
    const forged = good.slice();
    forged[40] = forged[40]! ^ 1;
    expect(fundee().onClosingSigned({ feeSat: 700n, signature: forged, feeRange: range(200n, 2_000n) })).toMatchObject({ action: 'fail', warning: true });
    // A signature for another fee, or by the wrong key, does not verify either.
    expect(fundee().onClosingSigned({ feeSat: 701n, signature: good, feeRange: range(200n, 2_000n) })).toMatchObject({ action: 'fail' });
    const byBob = signClosingTx(aliceVariant(ch, 700n, ch.aliceDustSat), bob.priv);
    expect(fundee().onClosingSigned({ feeSat: 700n, signature: byBob, feeRange: range(200n, 2_000n) })).toMatchObject({ action: 'fail' });
    expect(fundee().onClosingSigned({ feeSat: 700n, signature: good.subarray(0, 63), feeRange: range(200n, 2_000n) })).toMatchObject({ action: 'fail' });
  });

  it('fails on a high-S signature (LOW-S rule)', () => {
    const good = signedByAlice(ch, 700n);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt('0x' + Buffer.from(good.subarray(32)).toString('hex'));
    const highS = Uint8Array.from([...good.subarray(0, 32), ...Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    expect(fundee().onClosingSigned({ feeSat: 700n, signature: highS, feeRange: range(200n, 2_000n) })).toMatchObject({ action: 'fail' });
  });

  it('fails on a fee above the funder balance', () => {
    const fee = ch.aliceMsat / 1000n + 1n;
    expect(fundee().onClosingSigned({ feeSat: fee, signature: new Uint8Array(64), feeRange: range(0n, fee) })).toMatchObject({ action: 'fail', warning: false });
  });

  it('fails on a fee above the sender own max_fee_satoshis', () => {
    const step = fundee().onClosingSigned({ feeSat: 700n, signature: signedByAlice(ch, 700n), feeRange: range(200n, 600n) });
    expect(step).toMatchObject({ action: 'fail', warning: false });
    expect((step as { reason: string }).reason).toMatch(/own fee_range/);
  });

  it('fails on a fee_range with min above max', () => {
    const step = fundee().onClosingSigned({ feeSat: 700n, signature: signedByAlice(ch, 700n), feeRange: range(800n, 600n) });
    expect(step).toMatchObject({ action: 'fail', warning: false });
    expect((step as { reason: string }).reason).toMatch(/empty/);
  });

  it('throws TypeError for values of the wrong type', () => {
    expect(() => fundee().onClosingSigned({ feeSat: 700 as unknown as bigint, signature: new Uint8Array(64) })).toThrow(TypeError);
  });
});

describe('terms and misuse', () => {
  it('start() is for the funder, once', () => {
    const { funder, fundee } = pair(defaults, range(200n, 2_000n), 700n, range(100n, 1_500n), 300n);
    expect(() => fundee.start()).toThrow(RangeError);
    funder.start();
    expect(() => funder.start()).toThrow(RangeError);
  });

  it('refuses a preferred fee outside the range, a range above the funder balance and balances that do not add up', () => {
    expect(() => new ClosingNegotiation(termsFor('alice', defaults, range(200n, 2_000n), 2_001n), signerOf(alice.priv))).toThrow(RangeError);
    expect(() => new ClosingNegotiation(termsFor('alice', defaults, range(200n, 800_000n), 700n), signerOf(alice.priv))).toThrow(RangeError);
    expect(() => new ClosingNegotiation(termsFor('alice', { ...defaults, bobMsat: 1n }, range(200n, 2_000n), 700n), signerOf(alice.priv))).toThrow(RangeError);
  });

  it('refuses a signer that does not sign with our funding key', () => {
    const wrong = new ClosingNegotiation(termsFor('alice', defaults, range(200n, 2_000n), 700n), signerOf(bob.priv));
    expect(() => wrong.start()).toThrow(/signer/);
  });
});

describe('feeRangeFor', () => {
  const channel = (() => {
    const { ourFeeRange: _r, ourFeeSat: _f, ...rest } = termsFor('alice', defaults, range(0n, 0n), 0n);
    return rest;
  })();

  it('is feerate times the expected closing weight, rounded down', () => {
    // Two P2WPKH outputs: base 4+1+1+4 + 41 (input) + 2×31 (outputs) = 113 bytes → 452 WU,
    // plus marker/flag 2 and the witness 1 + 1 + (1+73)×2 + (1+71) = 222: 676 WU.
    expect(closingTxWeight(alice.script, bob.script, alice.pub, bob.pub)).toBe(676);
    expect(feeRangeFor(channel, { min: 253, target: 1_000, max: 5_000 })).toEqual({
      ourFeeRange: range(171n, 3_380n),
      ourFeeSat: 676n,
    });
  });

  it('caps every fee at the funder balance', () => {
    const poor = (() => {
      const { ourFeeRange: _r, ourFeeSat: _f, ...rest } = termsFor('bob', { ...defaults, aliceMsat: 2_000_000n, bobMsat: 998_000_000n }, range(0n, 0n), 0n);
      return rest;
    })();
    expect(feeRangeFor(poor, { min: 1_000, target: 3_000, max: 10_000 })).toEqual({ ourFeeRange: range(676n, 2_000n), ourFeeSat: 2_000n });
  });

  it('refuses feerates out of order or out of range', () => {
    expect(() => feeRangeFor(channel, { min: 2_000, target: 1_000, max: 5_000 })).toThrow(RangeError);
    expect(() => feeRangeFor(channel, { min: -1, target: 1_000, max: 5_000 })).toThrow(RangeError);
    expect(() => feeRangeFor(channel, { min: 1, target: 1.5, max: 5_000 })).toThrow(TypeError);
  });
});

/** The parameters of Alice's (the funder's) closing tx at `feeSat`, built with `dustLimitSat`. */
function aliceParams(ch: Channel, feeSat: bigint, dustLimitSat: bigint) {
  return {
    fundingOutpoint,
    fundingAmountSat,
    localFundingPubkey: alice.pub,
    remoteFundingPubkey: bob.pub,
    localScript: ch.aliceScript,
    remoteScript: ch.bobScript,
    localAmountMsat: ch.aliceMsat,
    remoteAmountMsat: ch.bobMsat,
    feeSat,
    feePayer: 'local' as const,
    dustLimitSat,
  };
}

function aliceVariant(ch: Channel, feeSat: bigint, dustLimitSat: bigint) {
  return buildClosingTx(aliceParams(ch, feeSat, dustLimitSat));
}

/** Alice's signature of the standard variant at `feeSat` (her dust limit). */
function signedByAlice(ch: Channel, feeSat: bigint): Uint8Array {
  return signClosingTx(aliceVariant(ch, feeSat, ch.aliceDustSat), alice.priv);
}

/** Bob's signature of the standard variant at `feeSat` (his dust limit; Alice pays). */
function signedByBob(ch: Channel, feeSat: bigint): Uint8Array {
  const params = aliceParams(ch, feeSat, ch.bobDustSat);
  return signClosingTx(
    buildClosingTx({
      ...params,
      localFundingPubkey: bob.pub,
      remoteFundingPubkey: alice.pub,
      localScript: ch.bobScript,
      remoteScript: ch.aliceScript,
      localAmountMsat: ch.bobMsat,
      remoteAmountMsat: ch.aliceMsat,
      feePayer: 'remote',
    }),
    bob.priv,
  );
}
