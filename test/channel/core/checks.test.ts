/**
 * Every receiving-side check BOLT 2 "Normal Operation" lists gives `fail_channel` with its
 * code and returns the input state unchanged (the same object), and the same limit on our
 * side refuses the request (offer_refused / update_refused) without changing anything.
 * The channel: A funded 1,000,000 sat and pushed 300,000 sat to B; B requires A to keep
 * 12,000 sat, accepts at most 5 HTLCs and 500,000,000 msat in flight, minimum 1000 msat;
 * A requires B to keep 10,000 sat (support.ts).
 */
import { describe, expect, it } from 'vitest';
import type { SecretToPoint } from '../../../src/bitcoin/secret-point.js';
import { wasmRevealedPoint } from '../../../src/bitcoin/secret-point-wasm.js';
import { bytesToHex } from '../../../src/codec/bytes.js';
import { step, type CoreEffect, type CoreEvent, type CoreState } from '../../../src/channel/core/index.js';
import type { CommitmentSigned, RevokeAndAck, UpdateAddHtlc, WireMessage } from '../../../src/wire/types.js';
import { A, deliverAll, lockedInHtlc, ONION, offer, preimageOf, sent, syncedPair } from './support.js';

function expectFail(state: CoreState, message: WireMessage, code: string): void {
  const r = step(state, { kind: 'peer_message', message });
  expect(r.effects).toEqual([{ kind: 'fail_channel', code, reason: expect.any(String) }]);
  expect(r.state).toBe(state);
}

function expectRefused(state: CoreState, event: CoreEvent, kind: 'offer_refused' | 'update_refused' = 'offer_refused'): void {
  const r = step(state, event);
  expect(r.effects).toHaveLength(1);
  expect((r.effects[0] as CoreEffect).kind).toBe(kind);
  expect(r.state).toBe(state);
}

function addFrom(sender: CoreState, id: number, amountMsat: bigint, over: Partial<UpdateAddHtlc> = {}): UpdateAddHtlc {
  return { type: 'update_add_htlc', channelId: sender.channelId, id, amountMsat, paymentHash: preimageOf(1000 + id).paymentHash, cltvExpiry: 700_100, onionRoutingPacket: ONION, ...over };
}

/** Delivers adds from A to B one by one; returns B after the accepted ones. */
function acceptAll(b: CoreState, msgs: readonly WireMessage[]): CoreState {
  return deliverAll(b, msgs).state;
}

describe('update_add_htlc checks', () => {
  const { a, b } = syncedPair();

  it('amount 0', () => {
    expectFail(b, addFrom(a, 0, 0n), 'htlc-amount-zero');
    expectRefused(a, offer(1, 0n));
  });

  it("below the receiver's htlc_minimum_msat (1000): 999 fails, 1000 passes", () => {
    expectFail(b, addFrom(a, 0, 999n), 'htlc-below-minimum');
    expectRefused(a, offer(1, 999n));
    expect(step(b, { kind: 'peer_message', message: addFrom(a, 0, 1000n) }).effects).toEqual([]);
  });

  it('cltv_expiry >= 500000000', () => {
    expectFail(b, addFrom(a, 0, 5000n, { cltvExpiry: 500_000_000 }), 'htlc-cltv-too-large');
    expectRefused(a, offer(1, 5000n, 500_000_000));
    expect(step(b, { kind: 'peer_message', message: addFrom(a, 0, 5000n, { cltvExpiry: 499_999_999 }) }).effects).toEqual([]);
  });

  it('id not the next one (first must be 0, then 1, ...)', () => {
    expectFail(b, addFrom(a, 1, 5000n), 'htlc-id-mismatch');
    const b1 = acceptAll(b, [addFrom(a, 0, 5000n)]);
    expectFail(b1, addFrom(a, 0, 5000n), 'htlc-id-mismatch');
    expectFail(b1, addFrom(a, 2, 5000n), 'htlc-id-mismatch');
  });

  it("more than the receiver's max_accepted_htlcs (5)", () => {
    const b5 = acceptAll(b, [0, 1, 2, 3, 4].map((i) => addFrom(a, i, 5000n)));
    expectFail(b5, addFrom(a, 5, 5000n), 'too-many-htlcs');
    let s = a;
    for (let i = 0; i < 5; i++) s = step(s, offer(i, 5000n)).state;
    expectRefused(s, offer(9, 5000n));
  });

  it("total in flight above the receiver's max_htlc_value_in_flight_msat (500,000,000)", () => {
    const b2 = acceptAll(b, [addFrom(a, 0, 250_000_000n), addFrom(a, 1, 250_000_000n)]); // exactly at the limit
    expectFail(b2, addFrom(a, 2, 1000n), 'htlc-in-flight-too-large');
    let s = step(a, offer(1, 250_000_000n)).state;
    s = step(s, offer(2, 250_000_000n)).state;
    expectRefused(s, offer(3, 1000n));
  });

  it('the non-funder cannot afford it above its reserve: B has 300,000,000 msat and must keep 10,000 sat', () => {
    expectFail(a, addFrom(b, 0, 290_000_001n), 'htlc-unaffordable');
    expectRefused(b, offer(1, 290_000_001n));
    expect(step(a, { kind: 'peer_message', message: addFrom(b, 0, 290_000_000n) }).effects).toEqual([]);
    expect(step(b, offer(1, 290_000_000n)).effects.map((e) => e.kind)).toEqual(['offered', 'send']);
  });

  it('the funder pays the commitment fee: an add affordable without the fee fails with it', () => {
    // A raises the fee so that the fee of a commitment with one more HTLC output eats its balance.
    const fee = { type: 'update_fee' as const, channelId: a.channelId, feeratePerKw: 670_000 };
    const r = step(a, { kind: 'update_fee', feeratePerKw: 670_000 });
    expect(r.effects.map((e) => e.kind)).toEqual(['send']);
    const b1 = acceptAll(b, [fee]);
    // 700,000,000 - 210,000,000 msat leaves 490,000,000 msat: far above the 12,000,000 msat
    // reserve, but the fee at 670,000 sat/kw (724 weight units: the HTLC is trimmed at that
    // rate) is 485,080 sat, which leaves less than the reserve.
    expectFail(b1, addFrom(a, 0, 210_000_000n), 'htlc-unaffordable');
    expectRefused(r.state, offer(1, 210_000_000n));
    expect(step(b1, { kind: 'peer_message', message: addFrom(a, 0, 200_000_000n) }).effects).toEqual([]);
  });
});

describe('update_fulfill_htlc / update_fail_htlc / update_fail_malformed_htlc checks', () => {
  const { a, b } = syncedPair();
  const locked = lockedInHtlc(a, b, 1, 50_000_000n); // A's HTLC 0, locked in on both sides
  const fulfill = (id: number, preimage: Uint8Array) => ({ type: 'update_fulfill_htlc' as const, channelId: a.channelId, id, paymentPreimage: preimage });

  it('fulfill of an unknown id', () => {
    expectFail(a, fulfill(0, preimageOf(1).preimage), 'unknown-htlc-id');
    expectFail(locked.a, fulfill(1, preimageOf(1).preimage), 'unknown-htlc-id');
    expectRefused(locked.b, { kind: 'fulfill_htlc', htlcId: 1, preimage: preimageOf(1).preimage }, 'update_refused');
  });

  it('fulfill of an HTLC not committed yet (in the peer commitment A signed, not yet in A\'s own)', () => {
    let s = step(a, offer(1, 50_000_000n));
    const add = sent(s.effects);
    s = step(s.state, { kind: 'sign' });
    const atB = deliverAll(b, [...add, ...sent(s.effects)]).state; // B holds it in its commitment and revoked
    expect(atB.localCommit.htlcs).toHaveLength(1);
    expectRefused(atB, { kind: 'fulfill_htlc', htlcId: 0, preimage: preimageOf(1).preimage }, 'update_refused');
    expectFail(s.state, fulfill(0, preimageOf(1).preimage), 'htlc-not-committed');
  });

  it('sha256(payment_preimage) != payment_hash', () => {
    expectFail(locked.a, fulfill(0, preimageOf(2).preimage), 'bad-preimage');
    expectRefused(locked.b, { kind: 'fulfill_htlc', htlcId: 0, preimage: preimageOf(2).preimage }, 'update_refused');
    const ok = step(locked.a, { kind: 'peer_message', message: fulfill(0, preimageOf(1).preimage) });
    expect(ok.effects).toEqual([{ kind: 'preimage_received', htlcId: 0, paymentHash: preimageOf(1).paymentHash, preimage: preimageOf(1).preimage }]);
    // A second removal of the same HTLC.
    expectFail(ok.state, { type: 'update_fail_htlc', channelId: a.channelId, id: 0, reason: new Uint8Array(10) }, 'htlc-already-removed');
  });

  it('fail of an unknown id', () => {
    expectFail(locked.a, { type: 'update_fail_htlc', channelId: a.channelId, id: 3, reason: new Uint8Array(10) }, 'unknown-htlc-id');
    expectRefused(locked.b, { kind: 'fail_htlc', htlcId: 3, reason: new Uint8Array(10) }, 'update_refused');
  });

  it('update_fail_malformed_htlc without the BADONION bit', () => {
    const malformed = (failureCode: number) => ({ type: 'update_fail_malformed_htlc' as const, channelId: a.channelId, id: 0, sha256OfOnion: '11'.repeat(32), failureCode });
    expectFail(locked.a, malformed(0x4000 | 5), 'malformed-without-badonion');
    expect(step(locked.a, { kind: 'peer_message', message: malformed(0x8000 | 0x4000 | 5) }).effects).toEqual([]);
    expectRefused(locked.b, { kind: 'fail_malformed_htlc', htlcId: 0, sha256OfOnion: '11'.repeat(32), failureCode: 0x4000 | 5 }, 'update_refused');
    expectFail(locked.a, { ...malformed(0x8000 | 5), id: 9 }, 'unknown-htlc-id');
  });
});

describe('update_fee checks', () => {
  const { a, b } = syncedPair();
  const fee = (feeratePerKw: number) => ({ type: 'update_fee' as const, channelId: a.channelId, feeratePerKw });

  it('from the non-funder', () => {
    expectFail(a, fee(2000), 'fee-from-non-funder');
    expectRefused(b, { kind: 'update_fee', feeratePerKw: 2000 }, 'update_refused');
  });

  it('the funder cannot afford it', () => {
    expectFail(b, fee(0xffff_ffff), 'fee-unaffordable');
    expectRefused(a, { kind: 'update_fee', feeratePerKw: 0xffff_ffff }, 'update_refused');
    expect(step(b, { kind: 'peer_message', message: fee(5000) }).effects).toEqual([]);
  });

  it('below the relay floor (253 sat/kw)', () => {
    expectFail(b, fee(252), 'fee-too-low');
    expectRefused(a, { kind: 'update_fee', feeratePerKw: 252 }, 'update_refused');
  });
});

describe('commitment_signed checks', () => {
  const { a, b } = syncedPair();
  // A offers an HTLC above B's dust limit (so B's commitment has an HTLC output) and signs.
  const offered = step(a, offer(1, 50_000_000n));
  const signed = step(offered.state, { kind: 'sign' });
  const cs = sent(signed.effects).find((m): m is CommitmentSigned => m.type === 'commitment_signed')!;
  const bWithAdd = deliverAll(b, sent(offered.effects)).state;

  it('the genuine one is accepted (the control)', () => {
    expect(cs.htlcSignatures).toHaveLength(1);
    const r = step(bWithAdd, { kind: 'peer_message', message: cs });
    expect(r.effects.map((e) => e.kind)).toEqual(['persist_local_commit', 'send']);
  });

  it('bad signature', () => {
    const signature = cs.signature.slice();
    signature[10] = signature[10]! ^ 1;
    expectFail(bWithAdd, { ...cs, signature }, 'bad-commitment-signature');
  });

  it('wrong number of HTLC signatures', () => {
    expectFail(bWithAdd, { ...cs, htlcSignatures: [] }, 'wrong-htlc-signature-count');
    expectFail(bWithAdd, { ...cs, htlcSignatures: [cs.htlcSignatures[0]!, cs.htlcSignatures[0]!] }, 'wrong-htlc-signature-count');
  });

  it('bad HTLC signature', () => {
    expectFail(bWithAdd, { ...cs, htlcSignatures: [cs.signature] }, 'bad-htlc-signature');
  });

  it('no changes', () => {
    expectFail(b, cs, 'commitment-without-changes');
  });
});

describe('revoke_and_ack checks', () => {
  const { a, b } = syncedPair();
  const offered = step(a, offer(1, 50_000_000n));
  const signed = step(offered.state, { kind: 'sign' });
  const atB = deliverAll(b, sent([...offered.effects, ...signed.effects]));
  const revoke = sent(atB.effects).find((m): m is RevokeAndAck => m.type === 'revoke_and_ack')!;

  it('none expected (no commitment_signed outstanding)', () => {
    expectFail(a, revoke, 'unexpected-revoke-and-ack');
    expectFail(offered.state, revoke, 'unexpected-revoke-and-ack');
  });

  it('the secret does not match the previous point', () => {
    expect(step(signed.state, { kind: 'peer_message', message: revoke }).effects.map((e) => e.kind)).toEqual(['persist_revocation']);
    // A valid secret, but of another commitment.
    expectFail(signed.state, { ...revoke, perCommitmentSecret: A.signer.perCommitmentSecret(0) }, 'revocation-secret-mismatch');
    expectFail(signed.state, { ...revoke, perCommitmentSecret: new Uint8Array(32) }, 'bad-revocation-secret');
    expectFail(signed.state, { ...revoke, nextPerCommitmentPoint: '02' + '00'.repeat(32) }, 'bad-next-point');
  });

  it('the secret is checked with the injected secretToPoint (the node injects libsecp256k1): the same outcomes', () => {
    const checked: string[] = [];
    const secretToPoint: SecretToPoint = (secret) => (checked.push(bytesToHex(secret)), wasmRevealedPoint(secret));
    // Everything is deterministic: this pair's A signs the same commitment, and B's revoke fits it.
    const injected = step(step(syncedPair({ secretToPoint }).a, offer(1, 50_000_000n)).state, { kind: 'sign' }).state;
    const accepted = step(injected, { kind: 'peer_message', message: revoke });
    expect(accepted.effects).toEqual(step(signed.state, { kind: 'peer_message', message: revoke }).effects);
    expect(accepted.effects.map((e) => e.kind)).toEqual(['persist_revocation']);
    expectFail(injected, { ...revoke, perCommitmentSecret: A.signer.perCommitmentSecret(0) }, 'revocation-secret-mismatch');
    expectFail(injected, { ...revoke, perCommitmentSecret: new Uint8Array(32) }, 'bad-revocation-secret');
    expectFail(injected, { ...revoke, perCommitmentSecret: new Uint8Array(32).fill(0xff) }, 'bad-revocation-secret');
    expect(checked).toEqual([bytesToHex(revoke.perCommitmentSecret), bytesToHex(A.signer.perCommitmentSecret(0)), '00'.repeat(32), 'ff'.repeat(32)]);
  });
});

describe('messages out of place', () => {
  const { a, b } = syncedPair();

  it('a message for another channel, a non-update message, an update before reestablish', () => {
    expectFail(b, addFrom(a, 0, 5000n, { channelId: '00'.repeat(32) }), 'wrong-channel-id');
    expectFail(b, { type: 'ping', numPongBytes: 0, ignored: new Uint8Array(0) } as WireMessage, 'unexpected-message');
    const off = step(b, { kind: 'disconnected' }).state;
    expectFail(off, addFrom(a, 0, 5000n), 'message-before-reestablish');
    expectRefused(off, offer(1, 5000n));
  });
});
