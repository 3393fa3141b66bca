/**
 * The first commitments and the pending-channel record, built from both perspectives: the
 * initiator A (keys of seed 1) and the acceptor B (keys of seed 2) agree on the same values,
 * so A's remote commitment must be byte-identical to B's local one and vice versa, each
 * side's signature must verify on the other's copy, and the fully signed commitment must
 * spend the funding output under the script interpreter. Balances and fees follow BOLT 3
 * (the funder pays, push_msat goes to the acceptor, outputs below the owner's dust limit are
 * trimmed), the locktime/sequence carry commitment number 0 (BOLT 3 "Commitment Transaction"),
 * and the record passes the store's own validation and round-trips through a real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitmentFee } from '../../src/bitcoin/bolt3-fees.js';
import { fundingWitnessScript, toLocalWitnessScript } from '../../src/bitcoin/bolt3-scripts.js';
import {
  commitmentObscuringFactor,
  commitmentSighash,
  decodeObscuredCommitmentNumber,
  finalizeCommitment,
  verifyCommitmentSignature,
  type CommitmentTx,
} from '../../src/bitcoin/commitment.js';
import { KeyChain } from '../../src/bitcoin/key-chain.js';
import { deriveRevocationPublicKey, derivePublicKey } from '../../src/bitcoin/key-derivation.js';
import { p2wpkhScript, p2wshScript } from '../../src/bitcoin/script.js';
import { encodeTx, txidOf, type BitcoinTx, type OutPoint } from '../../src/bitcoin/transaction.js';
import { verifyInputWitness } from '../../src/chain/devnet/tx-validation.js';
import { openChannelDb } from '../../src/channeldb/open.js';
import { ChannelStatus, ChannelType, OUTPUT_INDEX_NONE, type ChannelConfig, type OpenChannel } from '../../src/chanstate/types.js';
import * as validate from '../../src/chanstate/validate.js';
import { bytesToHex, hexToBytes } from '../../src/codec/bytes.js';
import { MAX_ACCEPTED_HTLCS, OUR_DUST_LIMIT_SAT, reserveFor } from '../../src/funding/channel-params.js';
import {
  buildInitialCommitments,
  finalChannelId,
  initialBalances,
  pendingChannelRecord,
  type ChannelTerms,
  type InitialCommitments,
  type SideParams,
} from '../../src/funding/initial-channel.js';
import { CHAIN_HASHES } from '../../src/linknode/store.js';

const CAPACITY = 1_000_000n;
const FEERATE = 2500;
const FEE = commitmentFee(FEERATE, 0);

/** A node (seed of 32 bytes of `n`), its channel-0 keys and the side of the negotiation it sends. */
function party(n: number, limits: Omit<SideParams, 'fundingPubkey' | 'revocationBasepoint' | 'paymentBasepoint' | 'delayedPaymentBasepoint' | 'htlcBasepoint' | 'firstPerCommitmentPoint'>) {
  const chain = KeyChain.fromBip39Seed(new Uint8Array(32).fill(n), 'regtest');
  const keys = chain.channelKeys(0);
  const side: SideParams = {
    ...limits,
    fundingPubkey: keys.funding.pubkey,
    revocationBasepoint: keys.revocationBasepoint.pubkey,
    paymentBasepoint: keys.paymentBasepoint.pubkey,
    delayedPaymentBasepoint: keys.delayedPaymentBasepoint.pubkey,
    htlcBasepoint: keys.htlcBasepoint.pubkey,
    firstPerCommitmentPoint: bytesToHex(chain.shachainProducer(keys.shachainRoot).perCommitmentPoint(0n)),
  };
  return { chain, keys, side, nodeId: chain.nodeKey().pubkey };
}

// Every limit differs between the two sides, so a swapped field shows.
const A = party(1, {
  dustLimitSat: OUR_DUST_LIMIT_SAT,
  maxHtlcValueInFlightMsat: CAPACITY * 1000n,
  channelReserveSat: reserveFor(CAPACITY, OUR_DUST_LIMIT_SAT),
  htlcMinimumMsat: 1n,
  toSelfDelay: 144,
  maxAcceptedHtlcs: MAX_ACCEPTED_HTLCS,
});
const B = party(2, {
  dustLimitSat: 354n,
  maxHtlcValueInFlightMsat: 500_000_000n,
  channelReserveSat: 12_000n,
  htlcMinimumMsat: 1000n,
  toSelfDelay: 200,
  maxAcceptedHtlcs: 300,
});

/** A funding transaction paying CAPACITY to the 2-of-2 of both funding keys at output 1. */
function fundingTxFor(capacitySat: bigint): BitcoinTx {
  return {
    version: 2,
    inputs: [{ txid: 'ab'.repeat(32), index: 0, scriptSig: new Uint8Array(0), sequence: 0xffff_fffd, witness: [] }],
    outputs: [
      { value: 50_000n, script: p2wpkhScript(hexToBytes(A.side.paymentBasepoint)) },
      { value: capacitySat, script: p2wshScript(fundingWitnessScript(hexToBytes(A.side.fundingPubkey), hexToBytes(B.side.fundingPubkey))) },
    ],
    lockTime: 0,
  };
}

/** The same negotiated values, from A's side and from B's. */
function termsOf(pushMsat: bigint, capacitySat = CAPACITY): { a: ChannelTerms; b: ChannelTerms } {
  const common = { chainHash: CHAIN_HASHES.regtest, capacitySat, pushMsat, feeratePerKw: FEERATE, minimumDepth: 3, channelFlags: 0 };
  return {
    a: { ...common, isInitiator: true, peerId: B.nodeId, ours: A.side, theirs: B.side, keys: A.keys },
    b: { ...common, isInitiator: false, peerId: A.nodeId, ours: B.side, theirs: A.side, keys: B.keys },
  };
}

function both(pushMsat: bigint, capacitySat = CAPACITY) {
  const fundingTx = fundingTxFor(capacitySat);
  const outpoint: OutPoint = { txid: txidOf(fundingTx), index: 1 };
  const { a, b } = termsOf(pushMsat, capacitySat);
  return { fundingTx, outpoint, termsA: a, termsB: b, a: buildInitialCommitments(a, outpoint), b: buildInitialCommitments(b, outpoint) };
}

const hexTx = (c: CommitmentTx) => bytesToHex(encodeTx(c.tx));
const outputSum = (c: CommitmentTx) => c.tx.outputs.reduce((s, o) => s + o.value, 0n);
const sign = (p: typeof A, c: CommitmentTx) => p.chain.signDigest(p.keys.funding.locator, commitmentSighash(c));

describe('buildInitialCommitments from both perspectives', () => {
  const PUSH = 100_000_000n; // 100,000 sat to the acceptor
  const { a, b, fundingTx, outpoint } = both(PUSH);

  it("A's remote commitment is byte-identical to B's local one, and A's local to B's remote", () => {
    expect(hexTx(a.remote)).toBe(hexTx(b.local));
    expect(hexTx(a.local)).toBe(hexTx(b.remote));
    expect(a.remote.txid).toBe(b.local.txid);
    expect(a.local.txid).not.toBe(a.remote.txid);
    for (const c of [a.local, a.remote]) {
      expect(c.tx.inputs).toHaveLength(1);
      expect(c.tx.inputs[0]).toMatchObject({ txid: outpoint.txid, index: outpoint.index });
    }
  });

  it("a signature made with A's funding key over A's remote commitment verifies on B's local copy (and each other way)", () => {
    const sigA = sign(A, a.remote);
    expect(verifyCommitmentSignature(b.local, sigA, hexToBytes(A.side.fundingPubkey))).toBe(true);
    // Negative controls: the wrong key, and the wrong commitment.
    expect(verifyCommitmentSignature(b.local, sigA, hexToBytes(B.side.fundingPubkey))).toBe(false);
    expect(verifyCommitmentSignature(b.remote, sigA, hexToBytes(A.side.fundingPubkey))).toBe(false);
    const sigB = sign(B, b.remote);
    expect(verifyCommitmentSignature(a.local, sigB, hexToBytes(B.side.fundingPubkey))).toBe(true);
  });

  it('each fully signed commitment spends the funding output under the script interpreter', () => {
    const fundingOutput = fundingTx.outputs[outpoint.index]!;
    const bLocalSigned = finalizeCommitment(b.local, sign(B, b.local), sign(A, a.remote));
    expect(verifyInputWitness(bLocalSigned, 0, fundingOutput)).toEqual({ ok: true });
    const aLocalSigned = finalizeCommitment(a.local, sign(A, a.local), sign(B, b.remote));
    expect(verifyInputWitness(aLocalSigned, 0, fundingOutput)).toEqual({ ok: true });
    // Against a different amount the same witness fails (BIP 143 commits to the value).
    expect(verifyInputWitness(aLocalSigned, 0, { ...fundingOutput, value: fundingOutput.value + 1n }).ok).toBe(false);
  });

  it('the funder pays the BOLT 3 fee; push_msat goes to the acceptor', () => {
    expect(FEE).toBe(1810n); // 724 * 2500 / 1000
    // A's commitment: to_local is A's (funder) balance minus the fee, to_remote B's pushed amount.
    expect(a.local.outputs.find((o) => o.kind === 'to_local')?.value).toBe(CAPACITY - PUSH / 1000n - FEE);
    expect(a.local.outputs.find((o) => o.kind === 'to_remote')?.value).toBe(PUSH / 1000n);
    // B's commitment: to_local is B's pushed amount, untouched by the fee.
    expect(b.local.outputs.find((o) => o.kind === 'to_local')?.value).toBe(PUSH / 1000n);
    expect(b.local.outputs.find((o) => o.kind === 'to_remote')?.value).toBe(CAPACITY - PUSH / 1000n - FEE);
    for (const c of [a.local, a.remote]) {
      expect(c.feeSat).toBe(FEE);
      expect(c.baseFeeSat).toBe(FEE);
      expect(outputSum(c) + c.feeSat).toBe(CAPACITY);
    }
    const { a: termsA, b: termsB } = termsOf(PUSH);
    expect(initialBalances(termsA)).toEqual({ localMsat: CAPACITY * 1000n - PUSH, remoteMsat: PUSH });
    expect(initialBalances(termsB)).toEqual({ localMsat: PUSH, remoteMsat: CAPACITY * 1000n - PUSH });
  });

  it('uses each owner\'s keys and the delay the other side imposed (BOLT 3 to_local and to_remote scripts)', () => {
    const pointA = hexToBytes(A.side.firstPerCommitmentPoint);
    const toLocal = a.local.outputs.find((o) => o.kind === 'to_local');
    expect(toLocal?.kind).toBe('to_local');
    const expected = toLocalWitnessScript(
      deriveRevocationPublicKey(hexToBytes(B.side.revocationBasepoint), pointA),
      B.side.toSelfDelay, // B imposes 200 blocks on A's outputs
      derivePublicKey(hexToBytes(A.side.delayedPaymentBasepoint), pointA),
    );
    expect(toLocal?.kind === 'to_local' && bytesToHex(toLocal.witnessScript)).toBe(bytesToHex(expected));
    // option_static_remotekey: B is paid to its untweaked payment_basepoint.
    expect(bytesToHex(a.local.outputs.find((o) => o.kind === 'to_remote')!.script)).toBe(bytesToHex(p2wpkhScript(hexToBytes(B.side.paymentBasepoint))));
    expect(a.local.params.dustLimitSat).toBe(A.side.dustLimitSat);
    expect(b.local.params.dustLimitSat).toBe(B.side.dustLimitSat);
    expect(b.local.params.toSelfDelay).toBe(A.side.toSelfDelay);
  });

  it("carries the obscured commitment number 0 in locktime and sequence (opener's basepoint first)", () => {
    const factor = commitmentObscuringFactor(hexToBytes(A.side.paymentBasepoint), hexToBytes(B.side.paymentBasepoint));
    const swapped = commitmentObscuringFactor(hexToBytes(B.side.paymentBasepoint), hexToBytes(A.side.paymentBasepoint));
    expect(factor).not.toBe(swapped);
    for (const c of [a.local, a.remote, b.local, b.remote]) {
      expect(c.tx.lockTime >>> 24).toBe(0x20);
      expect(c.tx.inputs[0]!.sequence >>> 24).toBe(0x80);
      expect(decodeObscuredCommitmentNumber(c.tx, factor)).toBe(0n);
      expect(decodeObscuredCommitmentNumber(c.tx, swapped)).not.toBe(0n);
    }
  });

  it('without a push, the acceptor has no output on either commitment', () => {
    const none = both(0n);
    expect(hexTx(none.a.remote)).toBe(hexTx(none.b.local));
    for (const c of [none.a.local, none.b.local]) {
      expect(c.outputs).toHaveLength(1);
      expect(c.outputs[0]!.value).toBe(CAPACITY - FEE);
    }
    expect(none.a.local.toRemoteOutputIndex).toBe(-1);
    expect(none.b.local.toLocalOutputIndex).toBe(-1);
  });

  it('a push below both dust limits is trimmed: one output on each commitment, the push goes to fees', () => {
    const tiny = both(300_000n); // 300 sat < 354 (B's dust) < 546 (A's dust)
    expect(hexTx(tiny.a.remote)).toBe(hexTx(tiny.b.local));
    for (const c of [tiny.a.local, tiny.b.local]) {
      expect(c.outputs).toHaveLength(1);
      expect(c.tx.outputs).toHaveLength(1);
      expect(c.feeSat).toBe(FEE + 300n);
      expect(outputSum(c)).toBe(CAPACITY - 300n - FEE);
    }
    expect(tiny.a.local.toRemoteOutputIndex).toBe(-1);
    expect(tiny.b.local.toLocalOutputIndex).toBe(-1);
  });

  it("each commitment trims by its owner's dust limit: 500 sat is dust for A (546), not for B (354)", () => {
    const mid = both(500_000n);
    expect(mid.a.local.outputs).toHaveLength(1);
    expect(mid.b.local.outputs).toHaveLength(2);
    expect(mid.b.local.outputs.find((o) => o.kind === 'to_local')?.value).toBe(500n);
    expect(hexTx(mid.a.remote)).toBe(hexTx(mid.b.local));
  });

  it('throws RangeError for a push above the capacity', () => {
    const { a: termsA } = termsOf(CAPACITY * 1000n + 1n);
    expect(() => buildInitialCommitments(termsA, outpoint)).toThrow(RangeError);
  });
});

// ---- the pending-channel record ----

interface Records {
  readonly outpoint: OutPoint;
  readonly fundingTx: BitcoinTx;
  readonly a: OpenChannel;
  readonly b: OpenChannel;
  readonly commitments: { readonly a: InitialCommitments; readonly b: InitialCommitments };
}

function records(pushMsat: bigint, broadcastHeight = 101): Records {
  const x = both(pushMsat);
  const sigAofBLocal = sign(A, x.a.remote);
  const sigBofALocal = sign(B, x.b.remote);
  const a = pendingChannelRecord({
    terms: x.termsA,
    fundingOutpoint: x.outpoint,
    commitments: x.a,
    theirSignature: sigBofALocal,
    ourSignature: sigAofBLocal,
    fundingTx: encodeTx(x.fundingTx),
    broadcastHeight,
  });
  const b = pendingChannelRecord({
    terms: x.termsB,
    fundingOutpoint: x.outpoint,
    commitments: x.b,
    theirSignature: sigAofBLocal,
    ourSignature: sigBofALocal,
    broadcastHeight,
  });
  return { outpoint: x.outpoint, fundingTx: x.fundingTx, a, b, commitments: { a: x.a, b: x.b } };
}

/** A config without our own key locators, to compare with the peer's view of it. */
function publicView(c: ChannelConfig) {
  const pub = (k: { pubkey: string }) => k.pubkey;
  return {
    chanReserveSat: c.chanReserveSat,
    maxPendingAmountMsat: c.maxPendingAmountMsat,
    minHtlcMsat: c.minHtlcMsat,
    maxAcceptedHtlcs: c.maxAcceptedHtlcs,
    dustLimitSat: c.dustLimitSat,
    csvDelay: c.csvDelay,
    keys: [c.multiSigKey, c.revocationBasePoint, c.paymentBasePoint, c.delayBasePoint, c.htlcBasePoint].map(pub),
  };
}

describe('pendingChannelRecord', () => {
  const PUSH = 100_000_000n;
  const r = records(PUSH);

  it("passes the store's own validation, for both sides, with and without dust-trimmed outputs", () => {
    for (const rec of [r.a, r.b, records(0n).a, records(0n).b, records(300_000n).a, records(300_000n).b]) {
      expect(() => validate.openChannel(rec)).not.toThrow();
    }
  });

  it('is a pending, tweakless single-funder channel with the negotiated values', () => {
    expect(r.a).toMatchObject({
      chanType: ChannelType.SingleFunderTweakless,
      chainHash: CHAIN_HASHES.regtest,
      fundingOutpoint: r.outpoint,
      shortChannelId: 0n,
      isPending: true,
      isInitiator: true,
      status: ChannelStatus.Default,
      fundingBroadcastHeight: 101,
      numConfsRequired: 3,
      identityPub: B.nodeId,
      capacitySat: CAPACITY,
      initialLocalBalanceMsat: CAPACITY * 1000n - PUSH,
      initialRemoteBalanceMsat: PUSH,
      revocationKeyLocator: A.keys.shachainRoot,
      remoteRevocation: { secrets: [], currentPoint: B.side.firstPerCommitmentPoint },
    });
    expect(r.b).toMatchObject({ isInitiator: false, identityPub: A.nodeId, initialLocalBalanceMsat: PUSH, initialRemoteBalanceMsat: CAPACITY * 1000n - PUSH });
    expect(r.b.fundingTx).toBeUndefined();
    expect(bytesToHex(r.a.fundingTx!)).toBe(bytesToHex(encodeTx(r.fundingTx)));
    expect(finalChannelId(r.outpoint)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("localConfig holds our keys and the constraints the peer imposed on us; it mirrors the peer's remoteConfig", () => {
    expect(r.a.localConfig).toMatchObject({
      chanReserveSat: B.side.channelReserveSat,
      maxPendingAmountMsat: B.side.maxHtlcValueInFlightMsat,
      minHtlcMsat: B.side.htlcMinimumMsat,
      maxAcceptedHtlcs: B.side.maxAcceptedHtlcs,
      dustLimitSat: A.side.dustLimitSat,
      csvDelay: B.side.toSelfDelay,
      multiSigKey: A.keys.funding,
    });
    expect(r.a.localConfig.multiSigKey.locator).toEqual(A.keys.funding.locator);
    expect(r.a.remoteConfig.multiSigKey).toEqual({ pubkey: B.side.fundingPubkey });
    expect(publicView(r.a.localConfig)).toEqual(publicView(r.b.remoteConfig));
    expect(publicView(r.a.remoteConfig)).toEqual(publicView(r.b.localConfig));
  });

  it('stores the commitments each side holds: the same bytes, mirrored balances and output indexes, valid signatures', () => {
    expect(bytesToHex(r.a.localCommitment.commitTx)).toBe(bytesToHex(r.b.remoteCommitment.commitTx));
    expect(bytesToHex(r.a.remoteCommitment.commitTx)).toBe(bytesToHex(r.b.localCommitment.commitTx));
    for (const [mine, theirs] of [
      [r.a.localCommitment, r.b.remoteCommitment],
      [r.a.remoteCommitment, r.b.localCommitment],
    ] as const) {
      expect(mine.localBalanceMsat).toBe(theirs.remoteBalanceMsat);
      expect(mine.remoteBalanceMsat).toBe(theirs.localBalanceMsat);
      expect(mine.localOutputIndex).toBe(theirs.remoteOutputIndex);
      expect(mine.remoteOutputIndex).toBe(theirs.localOutputIndex);
      expect(mine.commitFeeSat).toBe(FEE);
      expect(mine.feePerKw).toBe(BigInt(FEERATE));
      expect(mine.commitHeight).toBe(0);
    }
    // On A's own commitment the output paying A is to_local.
    expect(r.a.localCommitment.localOutputIndex).toBe(r.commitments.a.local.toLocalOutputIndex);
    expect(r.a.remoteCommitment.localOutputIndex).toBe(r.commitments.a.remote.toRemoteOutputIndex);
    // The peer's signature of our commitment is kept with it, and it verifies.
    expect(verifyCommitmentSignature(r.commitments.a.local, r.a.localCommitment.commitSig, hexToBytes(B.side.fundingPubkey))).toBe(true);
    expect(verifyCommitmentSignature(r.commitments.b.local, r.b.localCommitment.commitSig, hexToBytes(A.side.fundingPubkey))).toBe(true);
  });

  it('records a trimmed output as OUTPUT_INDEX_NONE', () => {
    const tiny = records(300_000n);
    expect(tiny.a.localCommitment.remoteOutputIndex).toBe(OUTPUT_INDEX_NONE);
    expect(tiny.a.localCommitment.localOutputIndex).toBe(0);
    expect(tiny.b.localCommitment.localOutputIndex).toBe(OUTPUT_INDEX_NONE);
    expect(tiny.b.localCommitment.remoteOutputIndex).toBe(0);
  });

  describe('through a real SQLite store', () => {
    let dirs: string[] = [];
    beforeEach(() => (dirs = [mkdtempSync(join(tmpdir(), 'chand-initial-a-')), mkdtempSync(join(tmpdir(), 'chand-initial-b-'))]));
    afterEach(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

    it('coordinator.syncPendingChannel stores each side\'s record and fetchChannel reads it back equal', async () => {
      for (const [i, rec, address] of [
        [0, r.a, '127.0.0.1:9736'],
        [1, r.b, undefined],
      ] as const) {
        const db = await openChannelDb({ backend: 'sqlite', path: dirs[i]! });
        try {
          await db.coordinator.syncPendingChannel(rec, address, rec.fundingBroadcastHeight);
          expect(await db.channelState.fetchChannel(r.outpoint)).toEqual(rec);
          const link = await db.linkNodes.fetchLinkNode(rec.identityPub);
          expect(link.identityPub).toBe(rec.identityPub);
          expect(link.network).toBe('regtest');
          if (address !== undefined) expect(link.addresses).toContain(address);
        } finally {
          await db.close();
        }
        // And after reopening the file.
        const again = await openChannelDb({ backend: 'sqlite', path: dirs[i]! });
        try {
          expect(await again.channelState.fetchChannel(r.outpoint)).toEqual(rec);
        } finally {
          await again.close();
        }
      }
    });
  });
});
