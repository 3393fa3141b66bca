/**
 * The channel actor's BOLT 2 update path, driven for real: the acceptor B is a ChannelActor
 * over a SQLite store; the funder A is a pure core on its own memory store, played by the
 * test (support/actor-harness.ts). The channel is the one of test/channel/core/support.ts:
 * A funded 1,000,000 sat and pushed 300,000 sat to B; B imposes on A htlc_minimum_msat 1000
 * and max_htlc_value_in_flight_msat 500,000,000.
 *
 * What is proven:
 * - payments both ways through offerHtlc / resolveHtlc settle, and what the actor stored
 *   (latestCommitments) is the exact mirror of the peer core's commitments;
 * - each bad peer input makes the actor send `error` for the channel, leaves the stored
 *   channel unchanged (every commitment read the store offers, compared before/after),
 *   refuses later updates (offerHtlc: CHANNEL_NOT_ACTIVE; peer updates: `error`), and
 *   snapshot().failedReason names the BOLT 2 rule;
 * - a restart (new actor on the same SQLite directory) with an HTLC in flight resumes
 *   through channel_reestablish and the HTLC settles.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { perCommitmentPoint } from '../../src/bitcoin/key-derivation.js';
import { bytesToHex } from '../../src/codec/bytes.js';
import { ErrorCode } from '../../src/errors.js';
import { encodeMessage } from '../../src/wire/message-codec.js';
import { ChannelStatus, type ChannelCommitment } from '../../src/chanstate/types.js';
import type { OfferRequest } from '../../src/htlcswitch/link.js';
import type { CommitmentSigned, RevokeAndAck, UpdateAddHtlc, WireMessage } from '../../src/wire/types.js';
import { nextReestablish, type CoreState } from '../../src/channel/core/index.js';
import { A, B, CAPACITY_SAT, ONION, PUSH_MSAT, channelPair, offer, preimageOf, run, storedNode, type StoredNode } from './core/support.js';
import {
  actorNode,
  actorToPeer,
  connect,
  disposeActor,
  idle,
  peerToActor,
  pump,
  restartActor,
  storedState,
  toActor,
  type ActorNode,
} from './support/actor-harness.js';

const AMOUNT = 42_424_242n; // msat, above both dust limits

let node: ActorNode | undefined;
let peer: StoredNode | undefined;

afterEach(async () => {
  await disposeActor(node);
  await peer?.db.close();
  node = undefined;
  peer = undefined;
});

/** A fresh channel: B's actor on SQLite, A's core on memory, reestablished with each other. */
async function setup(): Promise<{ node: ActorNode; peer: StoredNode }> {
  const { a, b } = channelPair();
  peer = await storedNode('A', a, A);
  node = await actorNode(b, B);
  await connect(node, peer);
  expect(node.actor.canUpdate()).toBe(true);
  // Both commitment numbers are still 1: the actor retransmitted channel_ready (BOLT 2).
  expect(node.dropped.map((m) => m.type)).toEqual(['channel_ready']);
  expect(node.outbox).toEqual([]);
  return { node, peer };
}

function request(n: number, amountMsat: bigint): OfferRequest {
  return { amountMsat, paymentHash: preimageOf(n).paymentHash, cltvExpiry: 700_100, onion: ONION };
}

/** The actor's stored commitments are the byte-identical mirrors of the peer core's. */
async function expectMirrored(n: ActorNode, p: CoreState): Promise<{ local: ChannelCommitment; remote: ChannelCommitment }> {
  const stored = await n.db.channelState.latestCommitments(n.outpoint);
  expect(stored.local.commitTx).toEqual(p.remoteCommit.commitTx);
  expect(stored.remote.commitTx).toEqual(p.localCommit.commitTx);
  expect(stored.local.commitHeight).toBe(p.remoteCommit.commitHeight);
  expect(stored.remote.commitHeight).toBe(p.localCommit.commitHeight);
  expect(stored.local.localBalanceMsat).toBe(p.remoteCommit.remoteBalanceMsat);
  expect(stored.local.remoteBalanceMsat).toBe(p.remoteCommit.localBalanceMsat);
  expect(stored.local.htlcs.map((h) => [h.htlcIndex, !h.incoming, h.amountMsat, h.paymentHash])).toEqual(
    p.remoteCommit.htlcs.map((h) => [h.htlcIndex, h.incoming, h.amountMsat, h.paymentHash]),
  );
  // And the actor's live state is what it stored.
  const core = n.actor.snapshot().core!;
  expect(core.localBalanceMsat).toBe(stored.local.localBalanceMsat);
  expect(core.localCommitHeight).toBe(stored.local.commitHeight);
  expect(core.remoteCommitHeight).toBe(stored.remote.commitHeight);
  return stored;
}

function addFrom(p: CoreState, id: number, amountMsat: bigint): UpdateAddHtlc {
  return { type: 'update_add_htlc', channelId: p.channelId, id, amountMsat, paymentHash: preimageOf(100 + id).paymentHash, cltvExpiry: 700_100, onionRoutingPacket: ONION };
}

describe('channel actor: a payment round through the actor', () => {
  it('B pays A with offerHtlc, A pays B and B fulfills with resolveHtlc; the store mirrors the peer after each', async () => {
    const { node, peer } = await setup();
    const startLocal = PUSH_MSAT;

    // B offers: the add and, once the mailbox is idle, one commitment_signed, stored before it left.
    const seen: number[] = [];
    const id = await node.actor.offerHtlc(request(1, AMOUNT), async (htlcId) => void seen.push(htlcId));
    expect([id, seen]).toEqual([0, [0]]);
    await idle(node.actor);
    expect(node.outbox.map((m) => m.type)).toEqual(['update_add_htlc', 'commitment_signed']);
    const tip = (await storedState(node)).remoteTip;
    expect(tip !== 'none' && tip.commitment.htlcs.map((h) => h.htlcIndex)).toEqual([0]);
    expect(tip !== 'none' && tip.commitSig).toEqual(encodeMessage(node.outbox[1]!)); // the stored commitment_signed is the one sent
    await pump(node, peer);
    let stored = await expectMirrored(node, peer.core);
    expect(stored.local.htlcs).toHaveLength(1);
    expect(stored.local.localBalanceMsat).toBe(startLocal - AMOUNT);
    expect(node.actor.hasOutgoingHtlc(0, preimageOf(1).paymentHash)).toBe(true);
    // The peer's revocation locked its add in on the peer's side.
    expect(peer.lockedIn.flatMap((l) => l.args.fwdPkg.adds)).toHaveLength(1);

    // A fulfills: the actor reports the preimage, and the amount is A's.
    await run(peer, { kind: 'fulfill_htlc', htlcId: 0, preimage: preimageOf(1).preimage });
    await pump(node, peer);
    expect(node.htlcs.preimages).toEqual([{ channelId: node.actor.channelId, htlcId: 0, preimage: preimageOf(1).preimage }]);
    stored = await expectMirrored(node, peer.core);
    expect(stored.local.htlcs).toEqual([]);
    expect(stored.local.localBalanceMsat).toBe(startLocal - AMOUNT);
    expect(stored.local.remoteBalanceMsat).toBe(CAPACITY_SAT * 1000n - PUSH_MSAT + AMOUNT);
    // The revocation that locked A's fulfill in gave the actor a package with that settle.
    expect(node.htlcs.fwdPkgs.flatMap((p) => p.settleFails)).toHaveLength(1);

    // A pays B: the actor gets a package with the add, and fulfills it by its reference.
    const AMOUNT2 = 7_000_000n;
    await run(peer, offer(2, AMOUNT2));
    await pump(node, peer);
    const pkg = node.htlcs.fwdPkgs.find((p) => p.adds.length > 0);
    expect(pkg?.adds).toHaveLength(1);
    await node.actor.resolveHtlc(0, { kind: 'fulfill', preimage: preimageOf(2).preimage }, { height: pkg!.height, index: 0 });
    await idle(node.actor);
    await pump(node, peer);
    expect(peer.observed.filter((e) => e.kind === 'preimage_received')).toEqual([
      { kind: 'preimage_received', htlcId: 0, paymentHash: preimageOf(2).paymentHash, preimage: preimageOf(2).preimage },
    ]);
    stored = await expectMirrored(node, peer.core);
    expect(stored.local.htlcs).toEqual([]);
    expect(stored.local.localBalanceMsat).toBe(startLocal - AMOUNT + AMOUNT2);
    expect(stored.local.localBalanceMsat + stored.local.remoteBalanceMsat).toBe(CAPACITY_SAT * 1000n);
    expect(node.actor.snapshot().failedReason).toBeUndefined();
    expect(node.htlcs.forgotten).toEqual([]);
    expect(node.logs.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
  });
});

interface BadInput {
  readonly name: string;
  /** Brings the channel to where the bad message arrives; returns that message. */
  readonly prepare: (node: ActorNode, peer: StoredNode) => Promise<WireMessage>;
  readonly code: string;
  /** What failedReason must say besides the code. */
  readonly says: RegExp;
  /** The stored channel has a signed, unrevoked remote commitment when the bad message arrives. */
  readonly withRemoteTip?: boolean;
}

const badInputs: BadInput[] = [
  {
    name: 'update_add_htlc above max_htlc_value_in_flight_msat (a second add brings the total to 500,000,001 msat)',
    prepare: async (node, peer) => {
      await toActor(node, addFrom(peer.core, 0, 250_000_000n)); // accepted: exactly half the limit
      return addFrom(peer.core, 1, 250_000_001n);
    },
    code: 'htlc-in-flight-too-large',
    says: /500000001 msat, above max_htlc_value_in_flight_msat 500000000/,
  },
  {
    name: 'update_add_htlc below htlc_minimum_msat (999 < 1000)',
    prepare: async (_node, peer) => addFrom(peer.core, 0, 999n),
    code: 'htlc-below-minimum',
    says: /999 is below htlc_minimum_msat 1000/,
  },
  {
    name: 'update_add_htlc with a wrong id (a replay of the locked-in HTLC 0)',
    prepare: async (node, peer) => {
      await run(peer, offer(5, 5_000_000n));
      const add = peer.outbox[0] as UpdateAddHtlc;
      await pump(node, peer);
      expect((await node.db.channelState.latestCommitments(node.outpoint)).local.htlcs).toHaveLength(1);
      return add;
    },
    code: 'htlc-id-mismatch',
    says: /id 0, expected 1/,
  },
  {
    name: 'commitment_signed with a bad signature',
    prepare: async (node, peer) => {
      await run(peer, offer(6, 50_000_000n));
      await peerToActor(node, peer);
      await run(peer, { kind: 'sign' });
      const cs = peer.outbox.shift() as CommitmentSigned;
      expect(cs.type).toBe('commitment_signed');
      const signature = cs.signature.slice();
      signature[10] = signature[10]! ^ 1;
      return { ...cs, signature };
    },
    code: 'bad-commitment-signature',
    says: /does not sign our commitment 1/,
  },
  {
    name: 'revoke_and_ack with a wrong secret (a valid secret of another commitment)',
    prepare: async (node, peer) => {
      await node.actor.offerHtlc(request(7, AMOUNT), async () => {});
      await idle(node.actor);
      await actorToPeer(node, peer);
      const revoke = peer.outbox.shift() as RevokeAndAck;
      expect(revoke.type).toBe('revoke_and_ack');
      return { ...revoke, perCommitmentSecret: A.signer.perCommitmentSecret(1) };
    },
    code: 'revocation-secret-mismatch',
    says: /does not generate the point of commitment 0/,
    withRemoteTip: true,
  },
  {
    name: 'revoke_and_ack with a garbage secret (not a secret key)',
    prepare: async (node, peer) => {
      await node.actor.offerHtlc(request(8, AMOUNT), async () => {});
      await idle(node.actor);
      await actorToPeer(node, peer);
      const revoke = peer.outbox.shift() as RevokeAndAck;
      return { ...revoke, perCommitmentSecret: new Uint8Array(32) };
    },
    code: 'bad-revocation-secret',
    says: /not a valid secret key/,
    withRemoteTip: true,
  },
  {
    name: 'revoke_and_ack out of order, none expected (a repeat of one already taken)',
    prepare: async (node, peer) => {
      await node.actor.offerHtlc(request(9, AMOUNT), async () => {});
      await idle(node.actor);
      await actorToPeer(node, peer);
      const revoke = peer.outbox[0] as RevokeAndAck;
      expect(revoke.type).toBe('revoke_and_ack');
      await pump(node, peer);
      expect((await storedState(node)).remoteTip).toBe('none');
      return revoke;
    },
    code: 'unexpected-revoke-and-ack',
    says: /without an outstanding commitment_signed/,
  },
  {
    name: 'revoke_and_ack on a fresh channel (nothing was ever signed)',
    prepare: async (_node, peer) => ({
      type: 'revoke_and_ack',
      channelId: peer.core.channelId,
      perCommitmentSecret: A.signer.perCommitmentSecret(0),
      nextPerCommitmentPoint: bytesToHex(perCommitmentPoint(A.signer.perCommitmentSecret(2))),
    }),
    code: 'unexpected-revoke-and-ack',
    says: /without an outstanding commitment_signed/,
  },
];

describe('channel actor: bad peer input fails the channel without touching the store', () => {
  it.each(badInputs)('$name', async ({ prepare, code, says, withRemoteTip }) => {
    const { node, peer } = await setup();
    const message = await prepare(node, peer);
    expect(node.outbox).toEqual([]);
    expect(node.actor.snapshot().failedReason).toBeUndefined();
    const before = await storedState(node);
    expect(before.remoteTip !== 'none').toBe(withRemoteTip === true);
    const liveBefore = node.actor.snapshot().core;
    const sentBefore = node.sentLog.length;

    await toActor(node, message);

    // One `error` for this channel, whose text is the reason failedReason gives after its code.
    const failedReason = node.actor.snapshot().failedReason;
    expect(failedReason).toMatch(new RegExp(`^${code}: `));
    expect(failedReason).toMatch(says);
    const sent = node.sentLog.slice(sentBefore);
    expect(sent.map((m) => m.type)).toEqual(['error']);
    const error = sent[0] as Extract<WireMessage, { type: 'error' }>;
    expect(error.channelId).toBe(node.actor.channelId);
    expect(new TextDecoder().decode(error.data)).toBe(failedReason!.slice(code.length + 2));
    // Nothing stored moved but the Borked status bit (the failure outlives a restart), nor the live commitment state.
    const failedState = { ...before, channel: { ...before.channel, status: before.channel.status | ChannelStatus.Borked } };
    expect(await storedState(node)).toStrictEqual(failedState);
    expect(node.actor.snapshot().core).toStrictEqual(liveBefore);

    // No more updates: our offers are refused before any side effect...
    expect(node.actor.canUpdate()).toBe(false);
    const beforeOffer: number[] = [];
    await expect(node.actor.offerHtlc(request(50, AMOUNT), async (htlcId) => void beforeOffer.push(htlcId))).rejects.toMatchObject({
      code: ErrorCode.CHANNEL_NOT_ACTIVE,
      message: expect.stringContaining(code),
    });
    expect(beforeOffer).toEqual([]);
    // ...and the peer's updates get an `error`, even a well-formed one, and change nothing.
    node.outbox.length = 0;
    await toActor(node, addFrom(peer.core, peer.core.ourNextHtlcId, 5_000n));
    expect(node.outbox.map((m) => m.type)).toEqual(['error']);
    expect(new TextDecoder().decode((node.outbox[0] as Extract<WireMessage, { type: 'error' }>).data)).toContain(failedReason!);
    expect(await storedState(node)).toStrictEqual(failedState);
    expect(node.actor.snapshot().failedReason).toBe(failedReason);

    // A reconnection does not revive it: the actor answers the peer's reestablish with `error`.
    node.outbox.length = 0;
    await node.actor.peerOffline();
    peer.outbox = [];
    await run(peer, { kind: 'disconnected' });
    await node.actor.peerOnline();
    expect(node.outbox.map((m) => m.type)).toEqual(['channel_reestablish']);
    await toActor(node, nextReestablish(peer.core));
    expect(node.outbox.map((m) => m.type)).toEqual(['channel_reestablish', 'error']);
    expect(node.actor.canUpdate()).toBe(false);
    expect(await storedState(node)).toStrictEqual(failedState);

    // Nor does a restart: the stored Borked bit keeps it failed.
    await restartActor(node);
    expect(node.actor.snapshot().failedReason).toMatch(/borked/);
    await node.actor.peerOnline();
    await expect(node.actor.offerHtlc(request(51, AMOUNT), async () => {})).rejects.toMatchObject({ code: ErrorCode.CHANNEL_NOT_ACTIVE });
    expect(await storedState(node)).toStrictEqual(failedState);
  });
});

describe('channel actor: restart with an HTLC in flight', () => {
  it('crash after B signed and A revoked and signed (both lost): the new actor reestablishes, gets the retransmissions, and the HTLC settles', async () => {
    const { node, peer } = await setup();
    await node.actor.offerHtlc(request(1, AMOUNT), async () => {});
    await idle(node.actor);
    await actorToPeer(node, peer); // A takes the add and B's signature, revokes
    await run(peer, { kind: 'sign' }); // and signs B's next commitment
    expect(peer.outbox.map((m) => m.type)).toEqual(['revoke_and_ack', 'commitment_signed']);

    // B's node dies before any of it arrives; the connection is gone.
    await restartActor(node);
    peer.outbox = [];
    await run(peer, { kind: 'disconnected' });
    expect(node.actor.canUpdate()).toBe(false);
    expect(node.actor.hasOutgoingHtlc(0, preimageOf(1).paymentHash)).toBe(true); // in the remote commitment B signed
    await expect(node.actor.offerHtlc(request(2, AMOUNT), async () => {})).rejects.toMatchObject({ code: ErrorCode.CHANNEL_NOT_ACTIVE });

    await connect(node, peer);
    expect(node.actor.canUpdate()).toBe(true);
    // A retransmits its revoke_and_ack and commitment_signed (BOLT 2 "Message Retransmission").
    expect(peer.outbox.map((m) => m.type)).toEqual(['revoke_and_ack', 'commitment_signed']);
    await pump(node, peer);
    let stored = await expectMirrored(node, peer.core);
    expect(stored.local.htlcs.map((h) => [h.htlcIndex, h.incoming, h.amountMsat])).toEqual([[0, false, AMOUNT]]);
    expect(node.htlcs.forgotten).toEqual([]);

    await run(peer, { kind: 'fulfill_htlc', htlcId: 0, preimage: preimageOf(1).preimage });
    await pump(node, peer);
    expect(node.htlcs.preimages).toEqual([{ channelId: node.actor.channelId, htlcId: 0, preimage: preimageOf(1).preimage }]);
    stored = await expectMirrored(node, peer.core);
    expect(stored.local.htlcs).toEqual([]);
    expect(stored.local.localBalanceMsat).toBe(PUSH_MSAT - AMOUNT);
    expect(node.actor.snapshot().failedReason).toBeUndefined();
    // The next offer takes the next id: nothing was reused across the restart.
    expect(await node.actor.offerHtlc(request(3, 1_000_000n), async () => {})).toBe(1);
  });

  it('crash with an incoming HTLC locked in: after the restart B fulfills it and A gets the preimage', async () => {
    const { node, peer } = await setup();
    await run(peer, offer(4, AMOUNT));
    await pump(node, peer);
    const pkg = node.htlcs.fwdPkgs.find((p) => p.adds.length > 0)!;
    expect(pkg.adds).toHaveLength(1);

    await restartActor(node);
    peer.outbox = [];
    await run(peer, { kind: 'disconnected' });
    await connect(node, peer);
    await pump(node, peer);
    expect(node.actor.canUpdate()).toBe(true);
    expect(node.htlcs.synced).toBeGreaterThanOrEqual(2); // once per reestablish

    await node.actor.resolveHtlc(0, { kind: 'fulfill', preimage: preimageOf(4).preimage }, { height: pkg.height, index: 0 });
    await idle(node.actor);
    await pump(node, peer);
    expect(peer.observed.filter((e) => e.kind === 'preimage_received').map((e) => e.kind === 'preimage_received' && e.htlcId)).toEqual([0]);
    const stored = await expectMirrored(node, peer.core);
    expect(stored.local.htlcs).toEqual([]);
    expect(stored.local.localBalanceMsat).toBe(PUSH_MSAT + AMOUNT);
  });
});
