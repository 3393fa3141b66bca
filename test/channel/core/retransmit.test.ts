/**
 * BOLT 2 "Message Retransmission" in the core: after a disconnect each side retransmits
 * exactly what the other did not get (the same bytes: updates + commitment_signed of the
 * outstanding commitment, the last revoke_and_ack regenerated from the shachain), in the
 * order first sent; uncommitted updates are forgotten (our adds reported, our fulfills
 * queued again); a peer proving a newer state is data loss; inconsistent numbers fail.
 */
import { describe, expect, it } from 'vitest';
import { canSendUpdates, coreSummary, nextHtlcId, nextReestablish, step, type CoreState } from '../../../src/channel/core/index.js';
import { encodeMessage } from '../../../src/wire/message-codec.js';
import type { ChannelReestablish, WireMessage } from '../../../src/wire/types.js';
import { deliverAll, lockedInHtlc, offer, preimageOf, sent, settle, syncedPair } from './support.js';

/** Both sides disconnect, exchange channel_reestablish and process it; returns each side's effects. */
function reconnect(a: CoreState, b: CoreState) {
  a = step(a, { kind: 'disconnected' }).state;
  b = step(b, { kind: 'disconnected' }).state;
  expect(canSendUpdates(a)).toBe(false);
  const ra = nextReestablish(a);
  const rb = nextReestablish(b);
  const fa = step(a, { kind: 'peer_reestablish', message: rb });
  const fb = step(b, { kind: 'peer_reestablish', message: ra });
  return { a: fa.state, b: fb.state, ea: fa.effects, eb: fb.effects, ra, rb };
}

const bytesOf = (ms: readonly WireMessage[]) => ms.map((m) => encodeMessage(m));

function mirrored(a: CoreState, b: CoreState): void {
  expect(a.localCommit.commitTx).toEqual(b.remoteCommit.commitTx);
  expect(a.remoteCommit.commitTx).toEqual(b.localCommit.commitTx);
}

describe('channel core retransmission', () => {
  it('right after opening both ask for channel_ready again, and nothing else', () => {
    const { a, b } = syncedPair();
    const r = reconnect(a, b);
    expect(r.ea).toEqual([{ kind: 'resend_channel_ready' }]);
    expect(r.eb).toEqual([{ kind: 'resend_channel_ready' }]);
    const after = settle(...(Object.values(lockedInHtlc(a, b, 1, 5_000_000n)) as [CoreState, CoreState]));
    const again = reconnect(after.a, after.b);
    expect(again.ea).toEqual([]);
    expect(again.eb).toEqual([]);
  });

  it('a lost commitment_signed: the updates and the signature are resent byte for byte, then the round completes', () => {
    let { a, b } = syncedPair();
    const o = step(a, offer(1, 20_000_000n));
    const s = step(o.state, { kind: 'sign' });
    const original = [...sent(o.effects), ...sent(s.effects)];
    // B received the add only; the commitment_signed was lost with the connection.
    b = deliverAll(b, sent(o.effects)).state;
    const r = reconnect(s.state, b);
    expect(r.ra.nextCommitmentNumber).toBe(1);
    expect(r.rb.nextCommitmentNumber).toBe(1); // B never got commitment 1
    expect(r.ea.filter((e) => e.kind === 'send').map((e) => e.kind === 'send' && encodeMessage(e.message))).toEqual(bytesOf(original));
    expect(r.eb.filter((e) => e.kind === 'send')).toEqual([]);
    const d = deliverAll(r.b, sent(r.ea));
    const done = settle(deliverAll(r.a, sent(d.effects)).state, d.state);
    mirrored(done.a, done.b);
    expect(done.b.localCommit.htlcs).toHaveLength(1);
  });

  it('a lost revoke_and_ack is regenerated identical from the shachain', () => {
    let { a, b } = syncedPair();
    const o = step(a, offer(1, 20_000_000n));
    const s = step(o.state, { kind: 'sign' });
    a = s.state;
    const atB = deliverAll(b, sent([...o.effects, ...s.effects]));
    const revoke = sent(atB.effects);
    expect(revoke.map((m) => m.type)).toEqual(['revoke_and_ack']);
    const r = reconnect(a, atB.state);
    expect(r.ra.nextRevocationNumber).toBe(0); // A still waits for B's revocation of commitment 0
    expect(r.eb.filter((e) => e.kind === 'send').map((e) => e.kind === 'send' && encodeMessage(e.message))).toEqual(bytesOf(revoke));
    expect(r.ea.filter((e) => e.kind === 'send')).toEqual([]); // B got A's commitment_signed
    const d = deliverAll(r.a, sent(r.eb));
    expect(coreSummary(d.state).hasPendingRemoteCommit).toBe(false);
    const done = settle(d.state, r.b);
    mirrored(done.a, done.b);
  });

  it('both lost: resent in the original order (revoke_and_ack then commitment_signed)', () => {
    let { a, b } = syncedPair();
    const o = step(a, offer(1, 20_000_000n));
    const s = step(o.state, { kind: 'sign' });
    a = s.state;
    const atB = deliverAll(b, sent([...o.effects, ...s.effects]));
    const bSign = step(atB.state, { kind: 'sign' }); // B signs A's add back
    expect(bSign.state.lastWasRevoke).toBe(false);
    const original = [...sent(atB.effects), ...sent(bSign.effects)];
    expect(original.map((m) => m.type)).toEqual(['revoke_and_ack', 'commitment_signed']);
    const r = reconnect(a, bSign.state);
    expect(sent(r.eb).map((m) => encodeMessage(m))).toEqual(bytesOf(original));
    const da = deliverAll(r.a, sent(r.eb));
    const done = settle(da.state, deliverAll(r.b, sent(da.effects)).state);
    mirrored(done.a, done.b);
  });

  it('both lost: resent in the original order (commitment_signed then revoke_and_ack)', () => {
    let { a, b } = syncedPair();
    // B has an update of its own and signs it first; then A's commitment_signed arrives and B revokes.
    const lock = lockedInHtlc(a, b, 1, 20_000_000n);
    a = lock.a;
    b = lock.b;
    const bf = step(b, { kind: 'fulfill_htlc', htlcId: 0, preimage: preimageOf(1).preimage });
    const bs = step(bf.state, { kind: 'sign' });
    const ao = step(a, offer(2, 7_000_000n));
    const as = step(ao.state, { kind: 'sign' });
    // B gets A's add and signature (but A gets nothing of B's).
    const atB = deliverAll(bs.state, sent([...ao.effects, ...as.effects]));
    expect(atB.state.lastWasRevoke).toBe(true);
    const r = reconnect(as.state, atB.state);
    // B's fulfill was never acknowledged by a commitment A received: it goes with B's commitment_signed.
    expect(sent(r.eb).map((m) => m.type)).toEqual(['update_fulfill_htlc', 'commitment_signed', 'revoke_and_ack']);
    expect(sent(r.eb).slice(0, 2).map((m) => encodeMessage(m))).toEqual(bytesOf([...sent(bf.effects), ...sent(bs.effects)]));
    expect(encodeMessage(sent(r.eb)[2]!)).toEqual(encodeMessage(sent(atB.effects)[0]!));
    const da = deliverAll(r.a, sent(r.eb));
    expect(da.effects.some((e) => e.kind === 'preimage_received')).toBe(true);
    const done = settle(da.state, deliverAll(r.b, sent(da.effects)).state);
    mirrored(done.a, done.b);
    expect(done.a.localCommit.htlcs.map((h) => h.paymentHash)).toEqual([preimageOf(2).paymentHash]);
  });

  it('uncommitted updates are forgotten: our add reported (its id reused), our fulfill queued again and sent after the reestablish', () => {
    const lock = lockedInHtlc(...(Object.values(syncedPair()) as [CoreState, CoreState]), 1, 20_000_000n);
    const ao = step(lock.a, offer(2, 3_000_000n)); // never signed
    expect(nextHtlcId(ao.state)).toBe(2);
    const bf = step(lock.b, { kind: 'fulfill_htlc', htlcId: 0, preimage: preimageOf(1).preimage }); // never signed
    const da = step(ao.state, { kind: 'disconnected' });
    expect(da.effects).toEqual([{ kind: 'htlc_forgotten', htlcId: 1, paymentHash: preimageOf(2).paymentHash }]);
    expect(nextHtlcId(da.state)).toBe(1);
    const db = step(bf.state, { kind: 'disconnected' });
    expect(db.effects).toEqual([]);
    const fa = step(da.state, { kind: 'peer_reestablish', message: nextReestablish(db.state) });
    const fb = step(db.state, { kind: 'peer_reestablish', message: nextReestablish(da.state) });
    expect(sent(fa.effects)).toEqual([]);
    expect(sent(fb.effects).map((m) => m.type)).toEqual(['update_fulfill_htlc']);
    const got = deliverAll(fa.state, sent(fb.effects));
    const done = settle(got.state, fb.state);
    mirrored(done.a, done.b);
    expect(done.a.localCommit.htlcs).toEqual([]);
  });

  it('a peer proving a newer state is data loss: fail with we-lost-data, state unchanged', () => {
    const { a, b } = syncedPair();
    const old = step(a, { kind: 'disconnected' }).state; // A's state before the payments
    const later = settle(...(Object.values(lockedInHtlc(a, b, 1, 20_000_000n)) as [CoreState, CoreState]));
    const bOff = step(later.b, { kind: 'disconnected' }).state;
    const proof = nextReestablish(bOff);
    expect(proof.nextRevocationNumber).toBeGreaterThan(old.localCommit.commitHeight);
    const r = step(old, { kind: 'peer_reestablish', message: proof });
    expect(r.effects).toEqual([{ kind: 'fail_channel', code: 'we-lost-data', reason: expect.any(String) }]);
    expect(r.state).toBe(old);
  });

  it('inconsistent numbers or secrets fail the channel', () => {
    // Three payments: both commitments at height 3 or more, so every number below is valid.
    let locked = syncedPair();
    for (let i = 1; i <= 3; i++) locked = lockedInHtlc(locked.a, locked.b, i, 20_000_000n);
    expect(locked.a.localCommit.commitHeight).toBeGreaterThanOrEqual(3);
    const a = step(locked.a, { kind: 'disconnected' }).state;
    const b = step(locked.b, { kind: 'disconnected' }).state;
    const good = nextReestablish(b);
    const cases: Array<[Partial<ChannelReestablish>, string]> = [
      [{ nextCommitmentNumber: 0 }, 'bad-commitment-number'],
      [{ nextCommitmentNumber: good.nextCommitmentNumber + 3 }, 'bad-commitment-number'],
      [{ nextCommitmentNumber: good.nextCommitmentNumber - 1 }, 'bad-commitment-number'],
      [{ nextRevocationNumber: good.nextRevocationNumber + 2 }, 'bad-revocation-number'],
      [{ nextRevocationNumber: good.nextRevocationNumber - 2, yourLastPerCommitmentSecret: a.signer.perCommitmentSecret(good.nextRevocationNumber - 3) }, 'bad-revocation-number'],
      [{ yourLastPerCommitmentSecret: new Uint8Array(32).fill(9) }, 'bad-last-secret'],
    ];
    for (const [change, code] of cases) {
      const r = step(a, { kind: 'peer_reestablish', message: { ...good, ...change } });
      expect(r.effects, code).toEqual([{ kind: 'fail_channel', code, reason: expect.any(String) }]);
      expect(r.state).toBe(a);
    }
    const ok = step(a, { kind: 'peer_reestablish', message: good });
    expect(ok.effects).toEqual([]);
    expect(canSendUpdates(ok.state)).toBe(true);
    // A second reestablish on the same connection.
    expect(step(ok.state, { kind: 'peer_reestablish', message: good }).effects[0]).toMatchObject({ kind: 'fail_channel', code: 'unexpected-reestablish' });
  });
});
