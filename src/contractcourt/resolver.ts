/**
 * The stateless resolver of a closed channel (BOLT 5): every call looks at the chain, works
 * out where each output of ours stands, broadcasts whatever claim is due and not yet in the
 * chain or mempool, and reports what is left.
 *
 * Design: the contracts of the close (contracts.ts) are recomputed from the channel record
 * each call. Each is walked along the chain: an unspent output is claimed once its CSV/CLTV
 * allows (or reported waiting), a spent one is resolved when its spend is `finalDepth` deep,
 * and a spend into a second-level transaction (ours on our commitment, the peer's on a
 * revoked one) continues with that transaction's output. Nothing is stored, so a restart
 * resumes exactly; nothing conflicts, because a claim is only built for an output nobody
 * spends (chain or mempool), and claims are deterministic (RFC 6979), so a rebuilt claim is
 * the same transaction. A claim that left the mempool shows its output unspent again and is
 * rebroadcast.
 *
 * Revoked outputs that are unspent are taken together by one justice transaction; our
 * to_remote on a revoked commitment is swept by a separate transaction. Every claim waits
 * for the transaction holding its output to confirm.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual } from '../bitcoin/bytes.js';
import { buildJusticeTx, finalizeJusticeTx, justiceSighash } from '../bitcoin/justice.js';
import { encodeTx, txidOf, type BitcoinTx, type OutPoint } from '../bitcoin/transaction.js';
import type { Chain, ChainTransaction, TxStatus } from '../chain/chain.js';
import { TxRejectedError } from '../chain/chain-errors.js';
import type { ChannelCommitment, OpenChannel, RevocationLogEntry } from '../chanstate/types.js';
import { bytesToHex } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import { classifySpend, type CloseKind } from './classify.js';
import { closeContracts, type Contract, type CourtKeys, type HtlcRef, type OutputKind } from './contracts.js';

/** Default depth at which a resolution counts as final. */
export const DEFAULT_FINAL_DEPTH = 6;

/** What the resolver needs from the node. */
export interface ResolverDeps {
  readonly chain: Pick<Chain, 'getTxStatus' | 'getTransaction' | 'getOutspend' | 'broadcast'> & {
    getTip(): Promise<{ readonly height: number; readonly hash: string }>;
  };
  /** Our keys (a KeyChain: signDigest, signDigestTweaked, signDigestRevocation, shachainProducer). */
  readonly keys: CourtKeys;
  /** Where our coins go (a wallet script). */
  readonly sweepScript: Uint8Array;
  /** Feerate of our sweeps and justice transactions (HTLC transactions use the commitment's). */
  readonly feeratePerKw: number;
  /** Preimages we know (invoices we were paid, payments that succeeded); a wrong one is ignored. */
  preimageFor(paymentHash: string): Uint8Array | undefined;
  /** Depth at which a resolution counts as final (default 6; tests may use 1–3). */
  readonly finalDepth?: number;
}

/** One close to resolve. */
export interface ResolverInput {
  /** The channel record (still in the open set). */
  readonly channel: OpenChannel;
  /** The transaction that spent the funding output. */
  readonly closeTx: BitcoinTx;
  /** remoteCommitChainTip's commitment, if any. */
  readonly pendingRemote?: ChannelCommitment;
  /** findPreviousState(height) when classifySpend says breach (required then). */
  readonly revokedState?: RevocationLogEntry;
  /** Our `shutdown` scriptpubkey (fetchShutdownInfo), for what a cooperative close paid us; default the upfront script. */
  readonly deliveryScript?: Uint8Array;
}

/** Why an output is not resolved yet. */
export type WaitingFor = 'close_confirmation' | 'csv' | 'cltv' | 'preimage' | 'sweep_confirmation' | 'nothing_to_claim' | 'peer_claim';

/** An output of ours not yet resolved at final depth. */
export interface PendingOutput {
  readonly outpoint: OutPoint;
  readonly amountSat: bigint;
  /** HTLC kinds are from our side: `htlc_offered` is an HTLC we offered. */
  readonly kind: OutputKind;
  readonly paymentHash?: string;
  readonly htlcIndex?: number;
  readonly waitingFor: WaitingFor;
  /** Height of the first block that can hold the next step (absolute), when known. */
  readonly maturityHeight?: number;
  /** Blocks still to be mined before the next step can be broadcast. */
  readonly blocksLeft?: number;
  /** The transaction we are waiting on (our claim or the peer's spend), when there is one. */
  readonly spendTxid?: string;
  /** The chain's reason, when our claim was refused this call (it is retried next call). */
  readonly rejected?: string;
}

/** A transaction this call broadcast or re-broadcast. */
export interface BroadcastTx {
  readonly txid: string;
  readonly raw: Uint8Array;
  /** 'close', 'to_local_sweep', 'to_remote_sweep', 'htlc_timeout', 'htlc_success', 'htlc_timeout_claim', 'htlc_success_claim', 'second_level_sweep', 'justice'. */
  readonly purpose: string;
}

/** The outcome of one resolveClose call. */
export interface ResolverReport {
  readonly kind: CloseKind;
  readonly closeConfirmations: number;
  readonly closeHeight?: number;
  readonly broadcast: readonly BroadcastTx[];
  readonly pending: readonly PendingOutput[];
  /** Preimages found in spends of HTLC outputs (the peer's, or our own). */
  readonly learnedPreimages: readonly { readonly paymentHash: string; readonly preimage: Uint8Array }[];
  /**
   * Final on-chain outcomes, each once its deciding spend is `finalDepth` deep; HTLCs without an
   * output (trimmed or dangling) fail once the close is that deep (on a breach: once done). Every
   * call reports all outcomes known so far (callers skip those already recorded).
   */
  readonly htlcOutcomes: readonly { readonly htlcIndex: number; readonly incoming: boolean; readonly paymentHash: string; readonly settled: boolean }[];
  /** What reached `sweepScript` (or, for a cooperative close, our shutdown script) at final depth. */
  readonly settledSat: bigint;
  /** What is still ours to claim: pending outputs except nothing_to_claim and peer_claim. */
  readonly timeLockedSat: bigint;
  /** Every output of ours resolved at finalDepth (or not worth claiming), and the close itself that deep. */
  readonly done: boolean;
}


/** Mutable accumulator of one call. */
interface Step {
  readonly deps: ResolverDeps;
  readonly finalDepth: number;
  readonly tip: number;
  readonly broadcast: BroadcastTx[];
  readonly pending: PendingOutput[];
  readonly learned: Map<string, Uint8Array>;
  readonly outcomes: ResolverReport['htlcOutcomes'][number][];
  settledSat: bigint;
  /** Our final claims already counted in settledSat (a justice transaction spends several outputs). */
  readonly counted: Set<string>;
  /** Unspent revoked outputs, for the justice transaction. */
  readonly revoked: Contract[];
}

/**
 * Resolves one close a step further (see the file comment). Idempotent: calling it again with
 * the same chain broadcasts nothing new, and never a transaction conflicting with one in the
 * chain or mempool. Throws RangeError/TypeError for inconsistent input (a transaction not
 * spending the funding output, a missing revokedState on a breach, a stored commitment that
 * does not rebuild to the close), and the chain's errors (ChandError) when it cannot be read.
 * A claim the chain refuses is reported on its output (`rejected`), not thrown.
 */
export async function resolveClose(deps: ResolverDeps, input: ResolverInput): Promise<ResolverReport> {
  const finalDepth = deps.finalDepth ?? DEFAULT_FINAL_DEPTH;
  if (!Number.isSafeInteger(finalDepth) || finalDepth < 1) throw new RangeError(`expected finalDepth as a positive integer, got ${String(finalDepth)}`);
  if (!Number.isSafeInteger(deps.feeratePerKw) || deps.feeratePerKw < 0) throw new RangeError(`expected feeratePerKw as a non-negative integer, got ${String(deps.feeratePerKw)}`);
  if (!(deps.sweepScript instanceof Uint8Array) || deps.sweepScript.length === 0) throw new TypeError('expected sweepScript as a non-empty Uint8Array');
  const { channel, closeTx } = input;
  const kind = classifySpend(channel, closeTx, input.pendingRemote);
  const { contracts, offChain } = closeContracts(
    { channel, keys: deps.keys, sweepScript: deps.sweepScript, feeratePerKw: deps.feeratePerKw, preimageFor: (h) => deps.preimageFor(h) },
    kind,
    closeTx,
    input.pendingRemote,
    input.revokedState,
  );
  const tip = (await deps.chain.getTip()).height;
  const step: Step = { deps, finalDepth, tip, broadcast: [], pending: [], learned: new Map(), outcomes: [], settledSat: 0n, counted: new Set(), revoked: [] };

  const closeTxid = txidOf(closeTx);
  let status = await deps.chain.getTxStatus(closeTxid);
  if (status === undefined) {
    // Not in the chain or mempool (never seen, or evicted): put it back.
    const raw = encodeTx(closeTx);
    await deps.chain.broadcast(raw);
    step.broadcast.push({ txid: closeTxid, raw, purpose: 'close' });
    status = { confirmed: false };
  }
  if (!status.confirmed) {
    for (const c of contracts) step.pending.push(pendingOf(c, 'close_confirmation'));
    return finish(step, kind, 0, undefined);
  }

  for (const c of contracts) await walk(step, c, status.blockHeight);
  await claimRevoked(step);
  if (status.confirmations >= finalDepth && kind.kind === 'cooperative') step.settledSat += coopSettled(input.deliveryScript ?? channel.localShutdownScript, closeTx);
  const report = finish(step, kind, status.confirmations, status.blockHeight);
  // HTLCs without an output fail once the close is deep (BOLT 5: dust and dangling HTLCs). On a
  // breach only once all is done, so that a preimage the cheater reveals first is not missed:
  // an HTLC we offered whose preimage showed up is left to learnedPreimages, never failed.
  const ready = kind.kind === 'breach' ? report.done : status.confirmations >= finalDepth;
  if (!ready) return report;
  const learned = new Set(report.learnedPreimages.map((l) => l.paymentHash));
  for (const h of offChain) if (h.incoming || !learned.has(h.paymentHash)) addOutcome(step, h, false);
  return { ...report, htlcOutcomes: step.outcomes };
}

/** Follows contract `c`, held by a transaction confirmed at `heldAt`, along its spends. */
async function walk(step: Step, c: Contract, heldAt: number): Promise<void> {
  const { chain } = step.deps;
  const outspend = await chain.getOutspend(c.outpoint.txid, c.outpoint.index);
  if (!outspend.spent) {
    if (c.justice !== undefined) step.revoked.push(c);
    else await claim(step, c, heldAt);
    return;
  }
  const spend = await chain.getTransaction(outspend.txid);
  if (spend === undefined) throw new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `the chain reports ${c.outpoint.txid}:${c.outpoint.index} spent by ${outspend.txid} but does not know that transaction`);
  if (c.htlc !== undefined) learnPreimages(step, c.htlc, spend, outspend.vin);
  const followed = c.follow?.(spend, outspend.vin);
  const ours = followed?.ours ?? isOurSweep(step, spend);
  const deep = isDeep(step, spend.status);
  if (c.htlc !== undefined && c.kind !== 'revoked' && c.kind !== 'htlc_second_level' && deep) {
    // Our claim of an HTLC we received settles it; our timeout of one we offered fails it (and conversely for the peer's spends).
    addOutcome(step, c.htlc, c.htlc.incoming === ours);
  }
  if (followed !== undefined && spend.status.confirmed) {
    await walk(step, followed.child, spend.status.blockHeight);
    return;
  }
  if (followed === undefined && deep) {
    if (ours && !step.counted.has(spend.txid)) {
      step.counted.add(spend.txid);
      step.settledSat += paidTo(spend, step.deps.sweepScript);
    }
    return;
  }
  step.pending.push({ ...pendingOf(c, ours ? 'sweep_confirmation' : 'peer_claim'), spendTxid: spend.txid });
}

/** Claims unspent contract `c` if its locks allow, else reports what it waits for. */
async function claim(step: Step, c: Contract, heldAt: number): Promise<void> {
  const plan = c.claim!();
  if (plan === 'preimage') {
    step.pending.push(pendingOf(c, 'preimage'));
    return;
  }
  if (plan === 'dust') {
    step.pending.push(pendingOf(c, 'nothing_to_claim'));
    return;
  }
  const maturity = c.csv !== undefined ? heldAt + c.csv : c.lockTime !== undefined ? c.lockTime + 1 : undefined;
  if (maturity !== undefined && step.tip + 1 < maturity) {
    step.pending.push({ ...pendingOf(c, c.csv !== undefined ? 'csv' : 'cltv'), maturityHeight: maturity, blocksLeft: maturity - step.tip - 1 });
    return;
  }
  await send(step, [c], plan.txid, plan.raw, purposeOf(c));
}

/** One justice transaction for every unspent revoked output. */
async function claimRevoked(step: Step): Promise<void> {
  if (step.revoked.length === 0) return;
  let justice;
  try {
    justice = buildJusticeTx({ inputs: step.revoked.map((c) => c.justice!.input), destinationScript: step.deps.sweepScript, feeratePerKw: step.deps.feeratePerKw });
  } catch (err) {
    // The inputs were built from the channel and checked against the close: a RangeError is the fee/dust check.
    if (!(err instanceof RangeError)) throw err;
    for (const c of step.revoked) step.pending.push(pendingOf(c, 'nothing_to_claim'));
    return;
  }
  const signatures = step.revoked.map((c, i) => c.justice!.sign(justiceSighash(justice, i)));
  const signed = finalizeJusticeTx(justice, signatures);
  await send(step, step.revoked, txidOf(signed), encodeTx(signed), 'justice');
}

/** Broadcasts a claim of `claimed`; a refusal is reported on those outputs (the next call retries). */
async function send(step: Step, claimed: readonly Contract[], txid: string, raw: Uint8Array, purpose: string): Promise<void> {
  let rejected: string | undefined;
  try {
    await step.deps.chain.broadcast(raw);
    step.broadcast.push({ txid, raw, purpose });
  } catch (err) {
    if (!(err instanceof TxRejectedError)) throw err;
    rejected = err.reason;
  }
  for (const c of claimed) step.pending.push({ ...pendingOf(c, 'sweep_confirmation'), spendTxid: txid, ...(rejected === undefined ? {} : { rejected }) });
}

/** The `purpose` of the claim of contract `c` (see BroadcastTx). */
function purposeOf(c: Contract): string {
  switch (c.kind) {
    case 'to_local':
      return 'to_local_sweep';
    case 'to_remote':
      return 'to_remote_sweep';
    case 'htlc_second_level':
      return 'second_level_sweep';
    case 'revoked':
      return 'justice';
    case 'htlc_offered':
    case 'htlc_received': {
      // On our commitment an HTLC is claimed by its second-level transaction (it has `follow`); on theirs, directly.
      const base = c.kind === 'htlc_offered' ? 'htlc_timeout' : 'htlc_success';
      return c.follow === undefined ? `${base}_claim` : base;
    }
  }
}

function learnPreimages(step: Step, htlc: HtlcRef, spend: ChainTransaction, vin: number): void {
  for (const item of spend.inputs[vin]?.witness ?? []) {
    if (item.length === 32 && bytesToHex(sha256(item)) === htlc.paymentHash) step.learned.set(htlc.paymentHash, Uint8Array.from(item));
  }
}

function addOutcome(step: Step, htlc: HtlcRef, settled: boolean): void {
  if (htlc.htlcIndex === undefined) return;
  step.outcomes.push({ htlcIndex: htlc.htlcIndex, incoming: htlc.incoming, paymentHash: htlc.paymentHash, settled });
}

function isDeep(step: Step, status: TxStatus): boolean {
  return status.confirmed && status.confirmations >= step.finalDepth;
}

/** Our claims pay every output to the sweep script. */
function isOurSweep(step: Step, spend: ChainTransaction): boolean {
  return spend.outputs.length > 0 && spend.outputs.every((o) => bytesEqual(o.script, step.deps.sweepScript));
}

function paidTo(spend: ChainTransaction, script: Uint8Array): bigint {
  return spend.outputs.reduce((sum, o) => (bytesEqual(o.script, script) ? sum + o.value : sum), 0n);
}

function coopSettled(script: Uint8Array | undefined, closeTx: BitcoinTx): bigint {
  if (script === undefined) return 0n;
  return closeTx.outputs.reduce((sum, o) => (bytesEqual(o.script, script) ? sum + o.value : sum), 0n);
}

function pendingOf(c: Contract, waitingFor: WaitingFor): PendingOutput {
  return {
    outpoint: c.outpoint,
    amountSat: c.amountSat,
    kind: c.kind,
    ...(c.htlc === undefined ? {} : { paymentHash: c.htlc.paymentHash }),
    ...(c.htlc?.htlcIndex === undefined ? {} : { htlcIndex: c.htlc.htlcIndex }),
    waitingFor,
  };
}

function finish(step: Step, kind: CloseKind, closeConfirmations: number, closeHeight: number | undefined): ResolverReport {
  const open = step.pending.filter((p) => p.waitingFor !== 'nothing_to_claim');
  return {
    kind,
    closeConfirmations,
    ...(closeHeight === undefined ? {} : { closeHeight }),
    broadcast: step.broadcast,
    pending: step.pending,
    learnedPreimages: [...step.learned].map(([paymentHash, preimage]) => ({ paymentHash, preimage })),
    htlcOutcomes: step.outcomes,
    settledSat: step.settledSat,
    timeLockedSat: open.filter((p) => p.waitingFor !== 'peer_claim').reduce((sum, p) => sum + p.amountSat, 0n),
    done: closeConfirmations >= step.finalDepth && open.length === 0,
  };
}
