/**
 * Test support for the channel actor: one side (the acceptor B of test/channel/core/support.ts)
 * is a real ChannelActor over a real SQLite store; the other side (the funder A) is a pure
 * core on its own memory store, played by the test. Nothing is mocked on the actor's path
 * except the network (its `send` dep fills `outbox`) and the chain (unused by an open
 * channel: every method rejects, so an unexpected use shows in `logs`).
 *
 * The wiring: the test moves the actor's `outbox` into the peer core (`run` of core/support.ts,
 * which throws if the peer core would fail the channel) and the peer's outbox into
 * `actor.deliver`. `idle` waits until the actor's mailbox is empty, including the
 * commitment_signed the actor schedules with setImmediate after an update.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelActor, type ChannelActorDeps, type ChannelHtlcEvents } from '../../../src/channel/channel-actor.js';
import { nextReestablish } from '../../../src/channel/core/index.js';
import { openChannelDb, type ChannelDb } from '../../../src/channeldb/open.js';
import type { ChannelCommitment, CommitDiff, FwdPkg, LogUpdate, OpenChannel } from '../../../src/chanstate/types.js';
import { isChandError, ErrorCode } from '../../../src/errors.js';
import type { WireMessage } from '../../../src/wire/types.js';
import { run, type Party, type StoredNode } from '../core/support.js';

/** What the actor reported through its ChannelHtlcEvents, in order. */
export interface HtlcEventLog {
  readonly fwdPkgs: FwdPkg[];
  synced: number;
  readonly preimages: Array<{ channelId: string; htlcId: number; preimage: Uint8Array }>;
  readonly forgotten: Array<{ channelId: string; htlcId: number }>;
}

/** The actor side: its data directory, store, actor, and what it did. */
export interface ActorNode {
  readonly path: string;
  readonly party: Party;
  readonly outpoint: OpenChannel['fundingOutpoint'];
  db: ChannelDb;
  actor: ChannelActor;
  /** Messages the actor sent and the test has not delivered yet, in order. */
  readonly outbox: WireMessage[];
  /** Every message the actor ever sent (across restarts). */
  readonly sentLog: WireMessage[];
  readonly htlcs: HtlcEventLog;
  readonly logs: Array<{ level: string; msg: string; fields: Record<string, unknown> | undefined }>;
  /** Messages the actor sent that a pure core does not take (channel_ready), dropped on delivery. */
  readonly dropped: WireMessage[];
  /** Channel failures the actor reported (the node would force close on each). */
  readonly failures: Array<{ channelId: string; reason: string }>;
}

const unusedChain = (): Promise<never> => Promise.reject(new Error('the chain is not used by an open channel in this test'));

function depsOf(node: Omit<ActorNode, 'actor'>): ChannelActorDeps {
  const htlcs: ChannelHtlcEvents = {
    onFwdPkg: async (_link, pkg) => void node.htlcs.fwdPkgs.push(pkg),
    onSynced: async () => void node.htlcs.synced++,
    onPreimage: async (channelId, htlcId, preimage) => void node.htlcs.preimages.push({ channelId, htlcId, preimage: preimage.slice() }),
    onForgotten: async (channelId, htlcId) => void node.htlcs.forgotten.push({ channelId, htlcId }),
  };
  return {
    store: node.db.channelState,
    lifecycle: node.db.coordinator,
    keys: node.party.chain,
    htlcs,
    chain: { getBlockTxids: unusedChain, getTxStatus: unusedChain, getTipHeight: unusedChain, getRawTransaction: unusedChain, broadcast: unusedChain },
    now: () => Date.now(),
    onAborted: () => {
      throw new Error('an open channel was aborted');
    },
    send: async (_peerId, message) => {
      node.outbox.push(message);
      node.sentLog.push(message);
    },
    log: (level, msg, fields) => void node.logs.push({ level, msg, fields }),
    onForgotten: () => {
      throw new Error('an open channel was forgotten');
    },
    crashPoint: () => {},
    closing: {
      deliveryScript: async () => Uint8Array.of(0x00, 0x14, ...sha256(utf8ToBytes(`${node.path}/close`)).subarray(0, 20)), // P2WPKH
      feerates: async () => ({ min: 253, target: 1000, max: 5000 }),
      peerFeatures: () => ({ anySegwit: false, simpleClose: false, upfrontShutdown: false }),
      onChannelFailed: (channelId, reason) => void node.failures.push({ channelId, reason }),
      // Short, so a test sees an unanswered closing_signed fail the channel.
      negotiationTimeoutMs: 500,
    },
  };
}

/**
 * Stores `channel` (open, with the peer's second point) in a new SQLite data directory the
 * way the funding flow leaves it: pending channel + link node in one coordinator
 * transaction, then confirmation height, markOpen with its scid, the peer's next point; no
 * opening state. Returns the opened database and its directory.
 */
export async function storeOpenChannel(channel: OpenChannel): Promise<{ path: string; db: ChannelDb }> {
  const path = mkdtempSync(join(tmpdir(), 'chand-actor-'));
  const db = await openChannelDb({ backend: 'sqlite', path });
  const { remoteRevocation } = channel;
  const pending: OpenChannel = { ...channel, isPending: true, shortChannelId: 0n, confirmationHeight: 0, remoteRevocation: { secrets: [], currentPoint: remoteRevocation.currentPoint! } };
  await db.coordinator.syncPendingChannel(pending, undefined, pending.fundingBroadcastHeight);
  await db.channelState.markConfirmationHeight(channel.fundingOutpoint, channel.confirmationHeight);
  await db.channelState.markOpen(channel.fundingOutpoint, channel.shortChannelId);
  await db.channelState.insertNextRevocation(channel.fundingOutpoint, remoteRevocation.nextPoint!);
  return { path, db };
}

/** A started actor (peer offline) over a new SQLite store holding `channel`. */
export async function actorNode(channel: OpenChannel, party: Party): Promise<ActorNode> {
  const { path, db } = await storeOpenChannel(channel);
  const base = {
    path,
    party,
    outpoint: channel.fundingOutpoint,
    db,
    outbox: [],
    sentLog: [],
    htlcs: { fwdPkgs: [], synced: 0, preimages: [], forgotten: [] },
    logs: [],
    dropped: [],
    failures: [],
  };
  // The actor is set right below; depsOf reads only the other fields.
  const node = base as unknown as ActorNode;
  node.actor = await startActor(node);
  return node;
}

async function startActor(node: Omit<ActorNode, 'actor'>): Promise<ChannelActor> {
  const stored = await node.db.channelState.fetchChannel(node.outpoint);
  const actor = new ChannelActor(depsOf(node), stored, { online: false, createdOnLiveConnection: false });
  await actor.start();
  return actor;
}

/**
 * A restart of the actor's node: the actor stops, the database closes (releasing its lock),
 * undelivered messages are lost, then the same directory is opened again and a new actor
 * starts on it (peer offline).
 */
export async function restartActor(node: ActorNode): Promise<void> {
  await node.actor.stop();
  await node.db.close();
  node.outbox.length = 0;
  node.db = await openChannelDb({ backend: 'sqlite', path: node.path });
  node.actor = await startActor(node);
}

/** Closes the database and removes its directory. Idempotent. */
export async function disposeActor(node: ActorNode | undefined): Promise<void> {
  if (node === undefined) return;
  await node.actor.stop();
  await node.db.close();
  rmSync(node.path, { recursive: true, force: true });
}

/** Waits until the actor's mailbox is empty, including a commitment_signed it scheduled. */
export async function idle(actor: ChannelActor): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    // An open channel ignores a funding timeout check: a mailbox barrier without effects.
    await actor.checkFundingTimeout(0);
  }
}

/** Delivers one message to the actor and waits until it (and any signing it scheduled) was handled. */
export async function toActor(node: ActorNode, message: WireMessage): Promise<void> {
  await node.actor.deliver(message);
  await idle(node.actor);
}

/** Delivers the actor's outbox to the peer core (which throws if it would fail the channel). */
export async function actorToPeer(node: ActorNode, peer: StoredNode): Promise<void> {
  while (node.outbox.length > 0) {
    const message = node.outbox.shift()!;
    if (message.type === 'channel_ready') {
      // The peer's actor would take this retransmission; the pure core does not handle it.
      node.dropped.push(message);
      continue;
    }
    if (message.type === 'error' || message.type === 'warning') throw new Error(`the actor sent ${message.type}: ${new TextDecoder().decode(message.data)}`);
    await run(peer, { kind: 'peer_message', message });
  }
}

/** Delivers the peer core's outbox to the actor. */
export async function peerToActor(node: ActorNode, peer: StoredNode): Promise<void> {
  while (peer.outbox.length > 0) await toActor(node, peer.outbox.shift()!);
}

/**
 * The connection comes up: the actor sends channel_reestablish (peerOnline), the peer core
 * takes it and sends its own, the actor takes that. Retransmissions of either side stay in
 * the outboxes (but channel_ready, which goes to `dropped`).
 */
export async function connect(node: ActorNode, peer: StoredNode): Promise<void> {
  await node.actor.peerOnline();
  const ours = node.outbox.shift();
  if (ours?.type !== 'channel_reestablish') throw new Error(`expected the actor to send channel_reestablish first, got ${ours?.type}`);
  const theirs = nextReestablish(peer.core);
  await run(peer, { kind: 'peer_reestablish', message: ours });
  await toActor(node, theirs);
  // BOLT 2 retransmits channel_ready while both commitment numbers are 1; the pure peer core
  // does not take it (its actor would), so it is set aside here.
  for (let i = node.outbox.length - 1; i >= 0; i--) if (node.outbox[i]!.type === 'channel_ready') node.dropped.push(...node.outbox.splice(i, 1));
}

/** Delivers both ways and lets the peer core sign, until nothing is in flight and nothing is left to sign (bounded). */
export async function pump(node: ActorNode, peer: StoredNode): Promise<void> {
  for (let round = 0; round < 50; round++) {
    await actorToPeer(node, peer);
    await peerToActor(node, peer);
    await run(peer, { kind: 'sign' });
    await idle(node.actor);
    if (node.outbox.length === 0 && peer.outbox.length === 0) return;
  }
  throw new Error('the actor and the peer did not reach quiescence in 50 rounds');
}

/** Everything the store holds of the channel's commitment state (what a failed channel must leave alone). */
export interface StoredChannelState {
  readonly channel: OpenChannel;
  readonly commitments: { local: ChannelCommitment; remote: ChannelCommitment };
  readonly remoteTip: CommitDiff | 'none';
  readonly unsignedAckedUpdates: readonly LogUpdate[];
  readonly remoteUnsignedLocalUpdates: readonly LogUpdate[];
}

/** Reads the stored channel state of the actor's node, fresh from the database. */
export async function storedState(node: ActorNode): Promise<StoredChannelState> {
  const s = node.db.channelState;
  let remoteTip: CommitDiff | 'none' = 'none';
  try {
    remoteTip = await s.remoteCommitChainTip(node.outpoint);
  } catch (err) {
    if (!isChandError(err, ErrorCode.NO_PENDING_COMMIT)) throw err;
  }
  return {
    channel: await s.fetchChannel(node.outpoint),
    commitments: await s.latestCommitments(node.outpoint),
    remoteTip,
    unsignedAckedUpdates: await s.unsignedAckedUpdates(node.outpoint),
    remoteUnsignedLocalUpdates: await s.remoteUnsignedLocalUpdates(node.outpoint),
  };
}
