/**
 * What the closing tests with real node processes share: wallet balances read to the sat,
 * the fee of a transaction as devnet validated it, bounded mining until a condition holds,
 * and the standardness check every transaction chand broadcast in these flows must pass.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, expect } from 'vitest';
import { bytesToHex } from '../../../src/codec/bytes.js';
import { dustThreshold } from '../../../src/bitcoin/script.js';
import type { ChainTransaction } from '../../../src/chain/chain.js';
import { TestNetwork, waitFor, type TestNode } from '../../support/test-network.js';
import type { Channel, Payment } from './payments.js';

/** One entry of list_closed_channels. */
export interface ClosedChannel {
  channel_id: string;
  close_type: string;
  closing_txid: string;
  settled_sat: number;
  time_locked_sat: number;
  fully_resolved: boolean;
}

/** Channel listing with its closing section. */
export type ClosingChannel = Channel & {
  closing?: {
    phase: string;
    htlcs_in_flight: number;
    closing_txid?: string;
    close_kind?: string;
    pending_outputs?: Array<{ outpoint: string; amount_sat: number; kind: string; waiting_for: string; blocks_left?: number; maturity_height?: number }>;
  };
};

/** devnet and two node processes, Alice and Bob, for one test file. */
export interface TwoNodes {
  net: TestNetwork;
  alice: TestNode;
  bob: TestNode;
}

/** Starts devnet, Alice and Bob (with `nodeArgs`) before the file's tests and stops every process after them. */
export function twoNodes(nodeArgs: readonly string[]): TwoNodes {
  const t = {} as TwoNodes;
  beforeAll(async () => {
    t.net = await TestNetwork.start({ nodes: ['alice', 'bob'], nodeArgs });
    t.alice = t.net.node('alice');
    t.bob = t.net.node('bob');
  }, 180_000);
  afterAll(async () => {
    await t.net?.stop();
  });
  return t;
}

/**
 * Waits until `from` lists `to` online on a connection made at or after `sinceMs` (a restarted
 * peer: until then `from` may still hold the old connection it has not seen die).
 */
export async function freshConnection(from: TestNode, to: TestNode, sinceMs: number): Promise<void> {
  await waitFor(`${from.name} sees ${to.name}'s new connection`, async () => {
    const { peers } = await from.call<{ peers: Array<{ peer_id: string; online_since_ms: number }> }>('list_peers');
    return peers.some((p) => p.peer_id === to.nodeId && p.online_since_ms >= sinceMs) ? true : undefined;
  });
}

/** The node's confirmed + unconfirmed wallet balance (reserved coins excluded), in sat. */
export async function walletSat(node: TestNode): Promise<bigint> {
  const b = await node.call<{ confirmed_sat: number; unconfirmed_sat: number }>('wallet_balance');
  return BigInt(b.confirmed_sat) + BigInt(b.unconfirmed_sat);
}

/** The confirmed wallet balance once it stops moving for a few polls (bounded). */
export async function settledWalletSat(node: TestNode, expected?: bigint): Promise<bigint> {
  let last = -1n;
  let stable = 0;
  return waitFor(`${node.name} wallet balance settles${expected === undefined ? '' : ` at ${expected}`}`, async () => {
    const b = await node.call<{ confirmed_sat: number; unconfirmed_sat: number }>('wallet_balance');
    const now = BigInt(b.confirmed_sat);
    stable = now === last ? stable + 1 : 0;
    last = now;
    if (b.unconfirmed_sat !== 0) return undefined;
    if (expected !== undefined) return now === expected ? now : undefined;
    return stable >= 3 ? now : undefined;
  }, 60_000, 300).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${last} sat${expected === undefined ? '' : ` (${last - expected} off)`}`);
  });
}

/** The transaction as devnet holds it (throws if unknown). */
export async function chainTx(net: TestNetwork, txid: string): Promise<ChainTransaction> {
  const tx = await net.devnet.getTransaction(txid);
  if (tx === undefined) throw new Error(`devnet does not know ${txid}`);
  return tx;
}

/** Every transaction spending the given outputs of `txid`, directly or further down, until unspent outputs (bounded). */
export async function descendants(net: TestNetwork, txid: string, indexes: readonly number[]): Promise<ChainTransaction[]> {
  const out = new Map<string, ChainTransaction>();
  const queue = indexes.map((index) => ({ txid, index }));
  for (let guard = 0; queue.length > 0 && guard < 100; guard++) {
    const next = queue.shift()!;
    const spend = await net.devnet.getOutspend(next.txid, next.index);
    if (!spend.spent || out.has(spend.txid)) continue;
    const child = await chainTx(net, spend.txid);
    out.set(spend.txid, child);
    child.outputs.forEach((_o, i) => queue.push({ txid: spend.txid, index: i }));
  }
  return [...out.values()];
}

/** Mines one block at a time until `check` passes (at most `maxBlocks`), waiting for the nodes between blocks. */
export async function mineUntil<T>(net: TestNetwork, what: string, check: () => Promise<T | undefined>, maxBlocks: number): Promise<T> {
  for (let i = 0; i <= maxBlocks; i++) {
    const deadline = Date.now() + 2_500;
    while (Date.now() < deadline) {
      const v = await check();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 150));
    }
    if (i < maxBlocks) await net.devnet.mine(1);
  }
  throw new Error(`${what}: not reached within ${maxBlocks} blocks`);
}

/** The transaction that spends output `index` of `txid`, once confirmed (mining at most `maxBlocks`). */
export async function confirmedSpender(net: TestNetwork, what: string, txid: string, index: number, maxBlocks: number): Promise<ChainTransaction> {
  const spend = await mineUntil(net, what, async () => {
    const s = await net.devnet.getOutspend(txid, index);
    return s.spent && s.status.confirmed ? s : undefined;
  }, maxBlocks);
  return chainTx(net, spend.txid);
}

/** The witness item of `tx`'s first input that hashes to `paymentHash` (the preimage it reveals), if any. */
export function revealedPreimage(tx: ChainTransaction, paymentHash: string): Uint8Array | undefined {
  return tx.inputs[0]?.witness.find((w) => bytesToHex(sha256(w)) === paymentHash);
}

/** The payment's end state once it is no longer in flight (bounded wait). */
export async function paymentOutcome(node: TestNode, paymentHash: string, what: string): Promise<Payment> {
  return waitFor(what, async () => {
    const p = await node.call<Payment>('get_payment', { payment_hash: paymentHash });
    return p.status !== 'in_flight' ? p : undefined;
  }, 60_000);
}

/** `node`'s listing of a channel, or undefined once it is no longer listed as pending/open/closing. */
export async function listedChannel(node: TestNode, channelId: string): Promise<ClosingChannel | undefined> {
  return ((await node.channels()) as unknown as ClosingChannel[]).find((c) => c.channel_id === channelId);
}

/** `node`'s closed record of a channel, once fully resolved. */
export async function closedChannel(node: TestNode, channelId: string): Promise<ClosedChannel | undefined> {
  const list = (await node.call<{ channels: ClosedChannel[] }>('list_closed_channels')).channels;
  const c = list.find((x) => x.channel_id === channelId);
  return c?.fully_resolved === true ? c : undefined;
}

/**
 * The standardness rules a relay node applies that matter here: no output below its dust
 * threshold and a fee of at least `minSatPerKw` per 1000 weight (253, the BOLT floor, unless
 * asked otherwise). Fails the test for a non-standard transaction.
 */
export function expectStandard(tx: ChainTransaction, what: string, minSatPerKw = 253): void {
  for (const [i, out] of tx.outputs.entries()) {
    expect(out.value >= dustThreshold(out.script), `${what}: output ${i} of ${out.value} sat is below its dust threshold`).toBe(true);
  }
  const floor = (BigInt(minSatPerKw) * BigInt(tx.weight)) / 1000n;
  expect(tx.fee >= floor, `${what}: fee ${tx.fee} sat below ${minSatPerKw} sat/kw × ${tx.weight} WU = ${floor}`).toBe(true);
}
