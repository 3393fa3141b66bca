/**
 * The channel actor's cooperative close against a scripted peer: B's real actor on SQLite (the
 * fundee), A played by the test with its own ClosingNegotiation (the funder). Checks what goes
 * on the wire and what is stored before it: the shutdown answer (stored first), the closing
 * transaction stored with markCoopBroadcasted before B's last closing_signed, the shutdown
 * retransmitted after a restart, and the refusals (a shutdown script BOLT 2 does not allow, an
 * update_add_htlc after shutdown, a closing_signed whose signature does not verify).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeTx, txidOf } from '../../src/bitcoin/transaction.js';
import { ClosingNegotiation, feeRangeFor } from '../../src/channel/closing/negotiation.js';
import { ChannelStatus, type OpenChannel } from '../../src/chanstate/types.js';
import { hexToBytes } from '../../src/codec/bytes.js';
import type { ClosingSigned, Shutdown, WireMessage } from '../../src/wire/types.js';
import { A, B, channelPair, offer, run, storedNode, type StoredNode } from './core/support.js';
import { actorNode, connect, disposeActor, idle, restartActor, toActor, type ActorNode } from './support/actor-harness.js';

let node: ActorNode | undefined;
let peer: StoredNode | undefined;

afterEach(async () => {
  await disposeActor(node);
  await peer?.db.close();
  node = undefined;
  peer = undefined;
});

const A_SCRIPT = Uint8Array.of(0x00, 0x14, ...sha256(utf8ToBytes('A closes here')).subarray(0, 20)); // P2WPKH

async function setup(): Promise<{ node: ActorNode; peer: StoredNode; a: OpenChannel }> {
  const { a, b } = channelPair();
  peer = await storedNode('A', a, A);
  node = await actorNode(b, B);
  await connect(node, peer);
  node.outbox.length = 0;
  return { node, peer, a };
}

function shutdownOf(n: ActorNode, script: Uint8Array): Shutdown {
  return { type: 'shutdown', channelId: n.actor.channelId, scriptPubkey: script };
}

function sent<T extends WireMessage['type']>(n: ActorNode, type: T): Array<Extract<WireMessage, { type: T }>> {
  return n.outbox.filter((m): m is Extract<WireMessage, { type: T }> => m.type === type);
}

/** A's side of the negotiation (the funder), over the scripts both sides sent. */
function funderNegotiation(a: OpenChannel, bScript: Uint8Array): ClosingNegotiation {
  const base = {
    fundingOutpoint: a.fundingOutpoint,
    fundingAmountSat: a.capacitySat,
    localFundingPubkey: hexToBytes(a.localConfig.multiSigKey.pubkey),
    remoteFundingPubkey: hexToBytes(a.remoteConfig.multiSigKey.pubkey),
    weAreFunder: true,
    localScript: A_SCRIPT,
    remoteScript: bScript,
    localBalanceMsat: a.localCommitment.localBalanceMsat,
    remoteBalanceMsat: a.localCommitment.remoteBalanceMsat,
    localDustLimitSat: a.localConfig.dustLimitSat,
    remoteDustLimitSat: a.remoteConfig.dustLimitSat,
  };
  return new ClosingNegotiation({ ...base, ...feeRangeFor(base, { min: 253, target: 1000, max: 5000 }) }, (d) => A.chain.signDigest(A.keys.funding.locator, d));
}

describe('channel actor: cooperative close', () => {
  it('answers shutdown (stored first), then stores the agreed closing tx before its last closing_signed', async () => {
    const { node, a } = await setup();
    await toActor(node, shutdownOf(node, A_SCRIPT));
    const [reply] = sent(node, 'shutdown');
    expect(reply).toBeDefined();
    const stored = await node.db.channelState.fetchShutdownInfo(node.outpoint);
    expect(stored).toEqual({ deliveryScript: reply!.scriptPubkey, closer: 'remote' });
    expect(node.actor.canOffer()).toBe(false);
    expect(node.actor.canUpdate()).toBe(true); // HTLCs could still be resolved
    expect(node.actor.snapshot().close?.phase).toBe('negotiating');

    const funder = funderNegotiation(a, reply!.scriptPubkey);
    const first = funder.start();
    if (first.action !== 'send') throw new Error(`expected the funder to send, got ${first.action}`);
    node.outbox.length = 0;
    await toActor(node, { type: 'closing_signed', channelId: node.actor.channelId, ...first.message });
    const [answer] = sent(node, 'closing_signed');
    expect(answer?.feeSat).toBe(first.message.feeSat);
    // The closing transaction B agreed to is stored, with the CoopBroadcasted bit, before the answer went out.
    const raw = await node.db.channelState.fetchBroadcastedCooperative(node.outpoint);
    const channel = await node.db.channelState.fetchChannel(node.outpoint);
    expect(channel.status & ChannelStatus.CoopBroadcasted).toBe(ChannelStatus.CoopBroadcasted);
    expect(channel.status & ChannelStatus.RemoteCloseInitiator).toBe(ChannelStatus.RemoteCloseInitiator);
    const done = funder.onClosingSigned(answer as ClosingSigned);
    if (done.action !== 'done') throw new Error(`expected the funder to be done, got ${done.action}`);
    expect(txidOf(decodeTx(raw))).toBe(done.txid);
    expect(raw).toEqual(done.closingTx);
    expect(node.actor.snapshot().close?.phase).toBe('closing_tx_broadcast');
    expect(node.actor.canUpdate()).toBe(false);
    // A retransmitted closing_signed after the end changes nothing and sends nothing.
    node.outbox.length = 0;
    await toActor(node, { type: 'closing_signed', channelId: node.actor.channelId, ...first.message });
    expect(node.outbox).toEqual([]);
  });

  it('retransmits its stored shutdown after a restart and reconnection', async () => {
    const { node, peer } = await setup();
    await node.actor.shutdown({});
    await idle(node.actor);
    const [first] = sent(node, 'shutdown');
    expect(first).toBeDefined();
    expect(await node.db.channelState.fetchShutdownInfo(node.outpoint)).toEqual({ deliveryScript: first!.scriptPubkey, closer: 'local' });
    await restartActor(node);
    await run(peer, { kind: 'disconnected' });
    await connect(node, peer);
    const [again] = sent(node, 'shutdown');
    expect(again?.scriptPubkey).toEqual(first!.scriptPubkey);
  });

  it('refuses a shutdown script BOLT 2 does not allow with a warning, and changes nothing', async () => {
    const { node } = await setup();
    await toActor(node, shutdownOf(node, Uint8Array.of(0x51, 0x01, 0x02))); // not a standard output script
    expect(node.outbox.map((m) => m.type)).toEqual(['warning']);
    expect(await node.db.channelState.fetchShutdownInfo(node.outpoint)).toBeUndefined();
    expect(node.actor.canOffer()).toBe(true);
  });

  it('fails the channel on an update_add_htlc after the peer’s shutdown', async () => {
    const { node, peer } = await setup();
    await toActor(node, shutdownOf(node, A_SCRIPT));
    await run(peer, offer(3, 10_000_000n));
    const add = peer.outbox.find((m) => m.type === 'update_add_htlc')!;
    node.outbox.length = 0;
    await toActor(node, add);
    expect(node.outbox.map((m) => m.type)).toEqual(['error']);
    expect(node.failures).toHaveLength(1);
    expect(node.failures[0]!.reason).toMatch(/update_add_htlc after shutdown/);
    expect((await node.db.channelState.fetchChannel(node.outpoint)).status & ChannelStatus.Borked).toBe(ChannelStatus.Borked);
  });

  it('as the funder: sends the first closing_signed once both shutdowns are out, and fails the channel if it goes unanswered', async () => {
    const { a, b } = channelPair();
    peer = await storedNode('B', b, B);
    node = await actorNode(a, A);
    await connect(node, peer);
    node.outbox.length = 0;
    await node.actor.shutdown({});
    await idle(node.actor);
    expect(node.outbox.map((m) => m.type)).toEqual(['shutdown']);
    await toActor(node, shutdownOf(node, A_SCRIPT)); // B's answer (any allowed script)
    const [offer0] = sent(node, 'closing_signed');
    expect(offer0?.feeRange).toBeDefined();
    expect(offer0!.feeRange!.minFeeSat <= offer0!.feeSat && offer0!.feeSat <= offer0!.feeRange!.maxFeeSat).toBe(true);
    // No answer: after the negotiation timeout the channel is failed (BOLT 2 MUST), for the node to force close.
    const deadline = Date.now() + 5_000;
    while (node.failures.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(node.failures.map((f) => f.reason)).toEqual([expect.stringMatching(/no closing_signed answer within/)]);
    expect(node.outbox.at(-1)?.type).toBe('error');
  });

  it('a closing_signed whose signature does not verify ends the negotiation with a warning', async () => {
    const { node, a } = await setup();
    await toActor(node, shutdownOf(node, A_SCRIPT));
    const [reply] = sent(node, 'shutdown');
    const first = funderNegotiation(a, reply!.scriptPubkey).start();
    if (first.action !== 'send') throw new Error('expected send');
    const signature = first.message.signature.slice();
    signature[5] = signature[5]! ^ 1;
    node.outbox.length = 0;
    await toActor(node, { type: 'closing_signed', channelId: node.actor.channelId, ...first.message, signature });
    expect(node.outbox.map((m) => m.type)).toEqual(['warning']);
    await expect(node.db.channelState.fetchBroadcastedCooperative(node.outpoint)).rejects.toMatchObject({ code: 'NO_CLOSE_TX' });
    expect(node.actor.snapshot().close?.phase).toBe('shutting_down'); // negotiation over; a reconnection starts it again
  });
});
