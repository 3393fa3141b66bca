/**
 * What the payment tests with real node processes share: the shapes they read from the RPC,
 * a channel opened and confirmed between two nodes, and small helpers.
 */
import { isChandError } from '../../../src/errors.js';
import { waitFor, type TestNetwork, type TestNode } from '../../support/test-network.js';

export interface Channel {
  channel_id: string;
  state: string;
  pending_reason?: string;
  short_channel_id?: string;
  local_balance_msat: string;
  remote_balance_msat: string;
  funding_txid: string;
  funding_output_index: number;
  peer_online: boolean;
}
export interface Payment {
  payment_hash: string;
  status: string;
  amount_msat: string;
  fee_msat: string;
  preimage?: string;
  failure_reason?: string;
  payment_index: number;
}
export interface Invoice {
  payment_hash: string;
  invoice: string;
  state: string;
  add_index: number;
  settle_index: number;
  amount_paid_msat?: string;
  preimage?: string;
  keysend: boolean;
}

/** `node`'s listing of channel `channelId` (throws if it does not list it). */
export async function channelOf(node: TestNode, channelId: string): Promise<Channel> {
  const c = ((await node.channels()) as unknown as Channel[]).find((x) => x.channel_id === channelId);
  if (c === undefined) throw new Error(`${node.name} does not list channel ${channelId}`);
  return c;
}

/** Funds `payer`, opens a channel of `capacitySat` to `payee`, mines it and waits until both list it open. */
export async function openChannel(net: TestNetwork, payer: TestNode, payee: TestNode, capacitySat: number): Promise<string> {
  await net.fund(payer, 3_000_000);
  await payer.connect(payee);
  const { channel_id: channelId } = await payer.call<{ channel_id: string }>('open_channel', { peer_id: payee.nodeId, funding_amount_sat: capacitySat });
  await waitFor(`${payee.name} stores the channel`, async () => ((await payee.channels()).some((c) => c.channel_id === channelId) ? true : undefined));
  await net.devnet.mine(1);
  for (const n of [payer, payee]) await waitFor(`${n.name} lists the channel open`, async () => ((await channelOf(n, channelId)).state === 'open' ? true : undefined));
  return channelId;
}

/** The typed error a call fails with (throws if it succeeds or fails with something else). */
export async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isChandError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** Runs `count` tasks with at most `limit` at once. */
export async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
