/**
 * BOLT 2 "Message Retransmission": the `channel_reestablish` a node sends, and what it decides
 * on the one it receives. Both sides use real shachain producers (from real key chains) for
 * their own secrets and a ShachainStore holding exactly the secrets the peer has revealed, so
 * a consistent pair of views at any heights must come out in sync in both directions, a peer
 * that proves a newer state must be reported as our data loss, and every inconsistency fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyChain } from '../../src/bitcoin/key-chain.js';
import { commitmentIndex, ShachainStore, type ShachainProducer } from '../../src/bitcoin/shachain.js';
import { bytesToHex } from '../../src/codec/bytes.js';
import { decideReestablish, reestablishMessage, type ReestablishView } from '../../src/channel/reestablish.js';
import type { ChannelReestablish } from '../../src/wire/types.js';

const CHANNEL_ID = 'c4'.repeat(32);

function producerOf(n: number): ShachainProducer {
  const chain = KeyChain.fromBip39Seed(new Uint8Array(32).fill(n), 'regtest');
  return chain.shachainProducer(chain.channelKeys(0).shachainRoot);
}
const PRODUCER_A = producerOf(1);
const PRODUCER_B = producerOf(2);

/** A receiver's store holding the peer's secrets of commitments 0..count-1, inserted in protocol order. */
function revealed(peer: ShachainProducer, count: number): ShachainStore {
  const store = new ShachainStore();
  for (let n = 0; n < count; n++) store.insert(commitmentIndex(BigInt(n)), peer.perCommitmentSecret(BigInt(n)));
  return store;
}

/** One side's view: its own producer, the secrets the peer revealed, its two commitment numbers. */
function viewOf(self: ShachainProducer, theirs: ShachainStore, localCommitHeight: number, remoteCommitHeight: number): ReestablishView {
  return {
    channelId: CHANNEL_ID,
    localCommitHeight,
    remoteCommitHeight,
    ourSecret: (n) => self.perCommitmentSecret(BigInt(n)),
    theirSecret: (n) => theirs.perCommitmentSecret(BigInt(n)),
  };
}

/**
 * Both views of a channel at rest: A's commitment number `a` (B signed it, A revoked all
 * below it), B's commitment number `b`. A holds B's secrets 0..b-1, B holds A's 0..a-1.
 */
function pair(a: number, b: number): { viewA: ReestablishView; viewB: ReestablishView } {
  return {
    viewA: viewOf(PRODUCER_A, revealed(PRODUCER_B, b), a, b),
    viewB: viewOf(PRODUCER_B, revealed(PRODUCER_A, a), b, a),
  };
}

describe('reestablishMessage', () => {
  it('at height 0: next_commitment_number 1, next_revocation_number 0, zero secret, the point of commitment 0', () => {
    const { viewA } = pair(0, 0);
    const msg = reestablishMessage(viewA);
    expect(msg).toMatchObject({ type: 'channel_reestablish', channelId: CHANNEL_ID, nextCommitmentNumber: 1, nextRevocationNumber: 0 });
    expect(msg.yourLastPerCommitmentSecret).toEqual(new Uint8Array(32));
    expect(msg.myCurrentPerCommitmentPoint).toBe(bytesToHex(PRODUCER_A.perCommitmentPoint(0n)));
  });

  it("later: the numbers follow both commitments, the secret is the peer's last revealed one, the point our current commitment's", () => {
    const { viewA } = pair(7, 4);
    const msg = reestablishMessage(viewA);
    expect(msg.nextCommitmentNumber).toBe(8);
    expect(msg.nextRevocationNumber).toBe(4);
    expect(bytesToHex(msg.yourLastPerCommitmentSecret)).toBe(bytesToHex(PRODUCER_B.perCommitmentSecret(3n)));
    expect(msg.myCurrentPerCommitmentPoint).toBe(bytesToHex(PRODUCER_A.perCommitmentPoint(7n)));
    expect(msg.myCurrentPerCommitmentPoint).not.toBe(bytesToHex(PRODUCER_A.perCommitmentPoint(8n)));
  });

  it('throws RangeError when the peer\'s last secret is not stored', () => {
    // The peer's commitment is number 3 but only its secrets 0 and 1 were stored.
    const view = viewOf(PRODUCER_A, revealed(PRODUCER_B, 2), 3, 3);
    expect(() => reestablishMessage(view)).toThrow(RangeError);
  });
});

describe('decideReestablish', () => {
  it('in sync at height 0: channel_ready is resent exactly when we sent it', () => {
    const { viewA, viewB } = pair(0, 0);
    expect(decideReestablish(viewA, reestablishMessage(viewB), true)).toEqual({ kind: 'in-sync', resendChannelReady: true });
    expect(decideReestablish(viewA, reestablishMessage(viewB), false)).toEqual({ kind: 'in-sync', resendChannelReady: false });
  });

  it('in sync past height 0: channel_ready is never resent', () => {
    const { viewA, viewB } = pair(1, 1);
    expect(decideReestablish(viewA, reestablishMessage(viewB), true)).toEqual({ kind: 'in-sync', resendChannelReady: false });
    // Only the peer's commitment moved: its next_commitment_number is 2, so no resend either.
    const onlyB = pair(0, 1);
    expect(decideReestablish(onlyB.viewA, reestablishMessage(onlyB.viewB), true)).toEqual({ kind: 'in-sync', resendChannelReady: false });
  });

  it('a peer that proves a newer state (next_revocation_number ahead, our right secret) means we lost data', () => {
    // The real channel is at (5, 5); A restored a backup at (2, 2).
    const real = pair(5, 5);
    const stale = viewOf(PRODUCER_A, revealed(PRODUCER_B, 2), 2, 2);
    const fromB = reestablishMessage(real.viewB);
    expect(fromB.nextRevocationNumber).toBe(5);
    const decision = decideReestablish(stale, fromB, true);
    expect(decision.kind).toBe('we-lost-data');
    // Just one ahead is also data loss.
    const oneAhead = viewOf(PRODUCER_A, revealed(PRODUCER_B, 4), 4, 4);
    expect(decideReestablish(oneAhead, fromB, true).kind).toBe('we-lost-data');
  });

  it('a peer ahead of us with a wrong secret is failed, not believed', () => {
    const real = pair(5, 5);
    const stale = viewOf(PRODUCER_A, revealed(PRODUCER_B, 2), 2, 2);
    const fromB = reestablishMessage(real.viewB);
    for (const secret of [PRODUCER_A.perCommitmentSecret(3n), PRODUCER_B.perCommitmentSecret(4n), new Uint8Array(32), new Uint8Array(32).fill(7)]) {
      const decision = decideReestablish(stale, { ...fromB, yourLastPerCommitmentSecret: secret }, true);
      expect(decision.kind).toBe('fail');
      expect(decision.kind === 'fail' && decision.reason).toMatch(/next_revocation_number/);
    }
  });

  it('a non-zero secret with next_revocation_number 0 is failed', () => {
    const { viewA, viewB } = pair(0, 0);
    const msg: ChannelReestablish = { ...reestablishMessage(viewB), yourLastPerCommitmentSecret: PRODUCER_A.perCommitmentSecret(0n) };
    const decision = decideReestablish(viewA, msg, true);
    expect(decision.kind).toBe('fail');
    expect(decision.kind === 'fail' && decision.reason).toMatch(/your_last_per_commitment_secret/);
  });

  it('a wrong secret at the expected next_revocation_number is failed', () => {
    const { viewA, viewB } = pair(3, 3);
    const msg = reestablishMessage(viewB);
    expect(decideReestablish(viewA, msg, true).kind).toBe('in-sync');
    const decision = decideReestablish(viewA, { ...msg, yourLastPerCommitmentSecret: PRODUCER_A.perCommitmentSecret(1n) }, true);
    expect(decision.kind).toBe('fail');
    expect(decision.kind === 'fail' && decision.reason).toMatch(/your_last_per_commitment_secret/);
  });

  it('a peer that missed our last revoke_and_ack needs a retransmission: failed with a reason', () => {
    // A revoked commitment 2 (its local is 3) but B never received it: B holds A's secrets 0..1.
    const viewA = viewOf(PRODUCER_A, revealed(PRODUCER_B, 3), 3, 3);
    const viewB = viewOf(PRODUCER_B, revealed(PRODUCER_A, 2), 3, 2);
    const msg = reestablishMessage(viewB);
    expect(msg.nextRevocationNumber).toBe(2);
    const decision = decideReestablish(viewA, msg, true);
    expect(decision.kind).toBe('fail');
    expect(decision.kind === 'fail' && decision.reason).toMatch(/revoke_and_ack/);
  });

  it('a peer that missed our last commitment_signed needs a retransmission: failed with a reason', () => {
    // A signed B's commitment 3 (A's remote is 3) but B's local is still 2.
    const viewA = viewOf(PRODUCER_A, revealed(PRODUCER_B, 2), 2, 3);
    const viewB = viewOf(PRODUCER_B, revealed(PRODUCER_A, 2), 2, 2);
    const msg = reestablishMessage(viewB);
    expect(msg.nextCommitmentNumber).toBe(3);
    const decision = decideReestablish(viewA, msg, true);
    expect(decision.kind).toBe('fail');
    expect(decision.kind === 'fail' && decision.reason).toMatch(/commitment_signed/);
  });

  it('a next_commitment_number beyond what we signed is failed', () => {
    const { viewA, viewB } = pair(2, 2);
    const decision = decideReestablish(viewA, { ...reestablishMessage(viewB), nextCommitmentNumber: 4 }, true);
    expect(decision.kind).toBe('fail');
    expect(decision.kind === 'fail' && decision.reason).toMatch(/next_commitment_number/);
  });

  it('next_commitment_number 0 is failed (BOLT 2: MUST immediately fail the channel)', () => {
    const { viewA, viewB } = pair(0, 0);
    expect(decideReestablish(viewA, { ...reestablishMessage(viewB), nextCommitmentNumber: 0 }, true).kind).toBe('fail');
  });
});

describe("round trip: one side's message fed to the other's decision", () => {
  const expectInSync = (a: number, b: number, channelReadySent: boolean) => {
    const { viewA, viewB } = pair(a, b);
    const atStart = a === 0 && b === 0 && channelReadySent;
    expect(decideReestablish(viewB, reestablishMessage(viewA), channelReadySent), `B decides at (${a}, ${b})`).toEqual({ kind: 'in-sync', resendChannelReady: atStart });
    expect(decideReestablish(viewA, reestablishMessage(viewB), channelReadySent), `A decides at (${a}, ${b})`).toEqual({ kind: 'in-sync', resendChannelReady: atStart });
  };

  it('is in sync for consistent views at several heights', () => {
    for (const [a, b] of [
      [0, 0],
      [1, 1],
      [2, 5],
      [5, 2],
      [47, 48],
      [100, 100],
    ] as const) {
      expectInSync(a, b, true);
      expectInSync(a, b, false);
    }
  });

  it('is in sync for random consistent heights (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 120 }), fc.boolean(), (a, b, sent) => expectInSync(a, b, sent)),
      { numRuns: 40 },
    );
  });

  it('any single changed number in a consistent message is not in sync (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.constantFrom('nextCommitmentNumber', 'nextRevocationNumber'),
        fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
        (a, b, field, delta) => {
          const { viewA, viewB } = pair(a, b);
          const msg = reestablishMessage(viewB);
          const changed = msg[field] + delta;
          fc.pre(changed >= 0);
          expect(decideReestablish(viewA, { ...msg, [field]: changed }, true).kind).not.toBe('in-sync');
        },
      ),
      { numRuns: 60 },
    );
  });
});
