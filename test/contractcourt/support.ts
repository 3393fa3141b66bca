/**
 * Test support for the contract court: a real channel pair (A funds, B accepts, as in
 * test/channel/core/support.ts) whose funding output is a real faucet payment on an
 * in-process DevnetLedger, both sides running the real channel core on memory stores, and
 * the checks every broadcast transaction must pass (standard: no dust output, fee at least
 * the feerate times its weight).
 */
import { expect } from 'vitest';
import { fundingScriptPubKey } from '../../src/bitcoin/bolt3-scripts.js';
import { KeyChain } from '../../src/bitcoin/key-chain.js';
import { dustThreshold, p2wpkhScript } from '../../src/bitcoin/script.js';
import { decodeTx, encodeTx, txidOf, type BitcoinTx, type OutPoint } from '../../src/bitcoin/transaction.js';
import { TxRejectedError } from '../../src/chain/chain-errors.js';
import { DevnetLedger } from '../../src/chain/devnet/ledger.js';
import { REGTEST, scriptToAddress } from '../../src/chain/network.js';
import { signedLocalCommitment } from '../../src/channel/unilateral-close.js';
import type { OpenChannel } from '../../src/chanstate/types.js';
import { hexToBytes } from '../../src/codec/bytes.js';
import { resolveClose, type ResolverDeps, type ResolverInput, type ResolverReport } from '../../src/contractcourt/resolver.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { A, B, CAPACITY_SAT, FEERATE, PUSH_MSAT, channelPairAt, deliver, drain, offer, preimageOf, reconnect, run, storedNode, type Party, type StoredNode } from '../channel/core/support.js';

export { A, B, CAPACITY_SAT, FEERATE, PUSH_MSAT, deliver, drain, offer, preimageOf, run, type StoredNode };

/** Feerate of sweeps and justice transactions in these tests (the commitments use FEERATE). */
export const SWEEP_FEERATE = 2000;
/** Final depth used by the tests. */
export const FINAL_DEPTH = 3;

/** A channel pair funded on `ledger`, both nodes reestablished. */
export interface LedgerChannel {
  readonly ledger: DevnetLedger;
  readonly outpoint: OutPoint;
  readonly a: StoredNode;
  readonly b: StoredNode;
}

/** A new devnet chain with faucet coins. */
export async function openLedger(): Promise<DevnetLedger> {
  return DevnetLedger.open({ engine: createMemoryEngine(), initialBlocks: 3 });
}

/** Both records of a channel on `outpoint`, funded at height 1 (test/channel/core/support.ts `channelPairAt`). */
function pairOnLedger(outpoint: OutPoint): { a: OpenChannel; b: OpenChannel } {
  return channelPairAt(outpoint, { minimumDepth: 1, broadcastHeight: 1, confirmationHeight: 1 });
}

/** Pays the channel's 2-of-2 from the faucet, confirms it, and opens both nodes on memory stores. */
export async function ledgerChannel(): Promise<LedgerChannel> {
  const ledger = await openLedger();
  const script = fundingScriptPubKey(hexToBytes(A.side.fundingPubkey), hexToBytes(B.side.fundingPubkey));
  const outpoint = await ledger.faucet(scriptToAddress(script, REGTEST)!, CAPACITY_SAT);
  await ledger.mine(1);
  const pair = pairOnLedger(outpoint);
  const a = await storedNode('A', pair.a, A);
  const b = await storedNode('B', pair.b, B);
  await reconnect(a, b);
  return { ledger, outpoint, a, b };
}

/** `from` offers an HTLC for preimage `n` to the other side and both sign until quiescent. */
export async function addHtlc(ch: LedgerChannel, from: 'A' | 'B', n: number, amountMsat: bigint, cltvExpiry: number): Promise<void> {
  const node = from === 'A' ? ch.a : ch.b;
  const effects = await run(node, offer(n, amountMsat, cltvExpiry));
  if (!effects.some((e) => e.kind === 'offered')) throw new Error(`offer refused: ${JSON.stringify(effects, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  await drain(ch.a, ch.b);
}

/** A node's stored channel record. */
export async function record(node: StoredNode): Promise<OpenChannel> {
  return node.db.channelState.fetchChannel(node.outpoint);
}

/** The node's current local commitment, signed by both sides. */
export function signedCommitment(channel: OpenChannel, party: Party): BitcoinTx {
  return decodeTx(signedLocalCommitment(channel, party.chain).raw);
}

/** A wallet script of a party (its node key, as P2WPKH): where its sweeps go. */
export function walletScript(party: Party): Uint8Array {
  return p2wpkhScript(hexToBytes(party.chain.nodeKey().pubkey));
}

/** A chain wrapper that records every transaction handed to broadcast, and can drop ("lose") the next ones. */
export class RecordingChain {
  readonly broadcasts: Uint8Array[] = [];
  /** Number of upcoming broadcasts to accept without forwarding (as if evicted at once). */
  drop = 0;
  /** Number of upcoming broadcasts to refuse with TxRejectedError. */
  reject = 0;
  constructor(readonly ledger: DevnetLedger) {}
  getTip = () => this.ledger.getTip();
  getTxStatus = (txid: string) => this.ledger.getTxStatus(txid);
  getTransaction = (txid: string) => this.ledger.getTransaction(txid);
  getOutspend = (txid: string, index: number) => this.ledger.getOutspend(txid, index);
  broadcast = async (raw: Uint8Array): Promise<string> => {
    this.broadcasts.push(raw);
    if (this.reject > 0) {
      this.reject--;
      throw new TxRejectedError('test-refusal (refused by the test chain)');
    }
    if (this.drop > 0) {
      this.drop--;
      return decodeTxid(raw);
    }
    return this.ledger.broadcast(raw);
  };
}

function decodeTxid(raw: Uint8Array): string {
  return txidOf(decodeTx(raw));
}

/** Resolver deps for `party` on `chain`, knowing the preimages of `known` (preimageOf numbers). */
export function depsFor(party: Party, chain: ResolverDeps['chain'], known: readonly number[] = [], feeratePerKw = SWEEP_FEERATE): ResolverDeps {
  const preimages = new Map(known.map((n) => [preimageOf(n).paymentHash, preimageOf(n).preimage]));
  return { chain, keys: party.chain, sweepScript: walletScript(party), feeratePerKw, preimageFor: (h) => preimages.get(h), finalDepth: FINAL_DEPTH };
}

/** The same party's keys re-derived from its seed, as after a restart. */
export function restartedKeys(seedByte: number): KeyChain {
  return KeyChain.fromBip39Seed(new Uint8Array(32).fill(seedByte), 'regtest');
}

/** Purposes of the transactions whose fee comes from the commitment feerate. */
const COMMITMENT_FEERATE_PURPOSES = new Set(['close', 'htlc_timeout', 'htlc_success']);

/**
 * Runs resolveClose, then checks every transaction it broadcast is in the ledger and standard:
 * every output at or above its dust threshold, and fee >= feerate × weight / 1000 (the commitment
 * feerate for the commitment and second-level HTLC transactions, the sweep feerate otherwise).
 */
export async function resolveChecked(deps: ResolverDeps, input: ResolverInput, ledger: DevnetLedger): Promise<ResolverReport> {
  const report = await resolveClose(deps, input);
  for (const b of report.broadcast) await expectStandard(ledger, b.txid, COMMITMENT_FEERATE_PURPOSES.has(b.purpose) ? FEERATE : deps.feeratePerKw);
  return report;
}

/** Asserts that `txid` is known to the ledger, has no dust output and pays at least `feeratePerKw`. */
export async function expectStandard(ledger: DevnetLedger, txid: string, feeratePerKw: number): Promise<void> {
  const tx = await ledger.getTransaction(txid);
  expect(tx, `transaction ${txid} is in the ledger`).toBeDefined();
  for (const o of tx!.outputs) expect(o.value >= dustThreshold(o.script), `output of ${txid} above dust`).toBe(true);
  expect(tx!.fee * 1000n >= BigInt(feeratePerKw) * BigInt(tx!.weight), `fee ${tx!.fee} of ${txid} (weight ${tx!.weight}) pays ${feeratePerKw} sat/kw`).toBe(true);
}

/** Broadcasts a commitment (the peer's or ours, outside the resolver) and checks it is standard at the commitment feerate. */
export async function broadcastCommitment(ledger: DevnetLedger, tx: BitcoinTx): Promise<void> {
  await ledger.broadcast(encodeTx(tx));
  await expectStandard(ledger, txidOf(tx), FEERATE);
}

/** Mines until the tip is `height` (no-op if already there). */
export async function mineTo(ledger: DevnetLedger, height: number): Promise<void> {
  const tip = (await ledger.getTip()).height;
  if (height > tip) await ledger.mine(height - tip);
}

/** The pending entries of a report, keyed for comparison (order-independent). */
export function pendingKeys(report: ResolverReport): string[] {
  return report.pending.map((p) => `${p.outpoint.txid}:${p.outpoint.index}:${p.kind}:${p.waitingFor}:${p.spendTxid ?? ''}`).sort();
}
