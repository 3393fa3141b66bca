/**
 * `ClosingManager`: the node's side of closing — from the moment a channel's funding output is
 * spent on chain until every output of ours is resolved and the channel is fully closed.
 *
 * It keeps no state of its own that matters across restarts: the funding outpoint of every
 * channel is watched, a spend (seen while running or at the first poll after a start) puts
 * the channel here, and each tick runs the contract court's stateless `resolveClose`, which
 * reads the chain, broadcasts whatever is due (sweeps, HTLC claims, justice) and reports what
 * is pending. Its report drives the records: preimages learned on chain settle our payments,
 * HTLC outcomes deep enough are recorded as final, and when everything is resolved the channel
 * is closed (summary), marked fully closed (the link node goes when nothing else is left) and
 * its bulk data purged in bounded batches.
 *
 * The channel stays in the open set while it resolves (status bits say who broadcast what), so
 * the revocation log, both commitments and the peer's secrets stay readable for the court.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { KeyChain } from '../bitcoin/key-chain.js';
import { decodeTx, type OutPoint } from '../bitcoin/transaction.js';
import type { Chain } from '../chain/chain.js';
import type { ChannelActor } from '../channel/channel-actor.js';
import type { ChannelLifecycle } from '../channelcoord/coordinator.js';
import type { ChannelStateStore } from '../chanstate/store.js';
import { ClosureType, type ChannelCommitment, type ChannelCloseSummary, type OpenChannel, type RevocationLogEntry } from '../chanstate/types.js';
import { bytesToHex } from '../codec/bytes.js';
import { channelIdOf } from '../chanstate/channel-id.js';
import { classifySpend, type CloseKind } from '../contractcourt/classify.js';
import { resolveClose, type ResolverDeps, type ResolverReport } from '../contractcourt/resolver.js';
import { ErrorCode, isChandError } from '../errors.js';
import type { InvoiceStore } from '../payments/store.js';
import type { LogFn } from '../channel/channel-actor.js';

/** What the manager needs from the node. */
export interface ClosingManagerDeps {
  readonly store: Pick<
    ChannelStateStore,
    'fetchChannel' | 'fetchShutdownInfo' | 'remoteCommitChainTip' | 'findPreviousState' | 'closeChannel' | 'putOnchainFinalHtlcOutcome' | 'purgeClosedChannels' | 'fetchBroadcastedCommitment' | 'fetchBroadcastedCooperative'
  >;
  readonly lifecycle: Pick<ChannelLifecycle, 'markChannelFullyClosed'>;
  readonly invoices: Pick<InvoiceStore, 'fetchInvoice'>;
  readonly chain: Pick<Chain, 'getTxStatus' | 'getTransaction' | 'getOutspend' | 'broadcast' | 'getRawTransaction'> & ResolverDeps['chain'];
  readonly keys: KeyChain;
  /** A wallet scriptpubkey for swept coins (one per channel is enough). */
  readonly sweepScript: () => Promise<Uint8Array>;
  /** Feerate for sweeps and justice, sat per 1000 weight. */
  readonly sweepFeerate: () => Promise<number>;
  /** The payer learned a preimage on chain / an HTLC of ours timed out on chain. */
  readonly onPreimage: (channelId: string, htlcId: number, preimage: Uint8Array) => Promise<void>;
  readonly onHtlcTimedOut: (channelId: string, htlcId: number) => Promise<void>;
  /** Decides the channel's locked-in incoming HTLCs no one answered (their invoices may settle, to be claimed on chain). */
  readonly decideIncoming: (channelId: string) => Promise<void>;
  /** The channel is fully closed: the node drops its actor. */
  readonly onFullyClosed: (channelId: string) => void;
  /** Confirmations at which a close and its sweeps count as final. */
  readonly finalDepth: number;
  readonly log: LogFn;
}

/** A channel being resolved on chain, with the court's last report. */
export interface ClosingEntry {
  readonly channelId: string;
  readonly chanPoint: OutPoint;
  readonly closeTxid: string;
  kind: CloseKind | undefined;
  report: ResolverReport | undefined;
  /** HTLC outcomes already recorded (by "incoming:htlcIndex"). */
  readonly recorded: Set<string>;
  /** Preimages already passed on (payment hash). */
  readonly learned: Set<string>;
  sweepScript: Uint8Array | undefined;
  lastError: string | undefined;
  /** The unanswered incoming HTLCs were decided (once per close). */
  incomingDecided: boolean;
}

/** See the module comment. */
export class ClosingManager {
  readonly #deps: ClosingManagerDeps;
  readonly #closing = new Map<string, ClosingEntry>();
  #purging = false;

  constructor(deps: ClosingManagerDeps) {
    this.#deps = deps;
  }

  /** The channel being resolved, if it is. */
  entry(channelId: string): ClosingEntry | undefined {
    return this.#closing.get(channelId);
  }

  /** Every channel being resolved. */
  entries(): ClosingEntry[] {
    return [...this.#closing.values()];
  }

  /** The funding output of `actor`'s channel was spent by `spendingTxid`: resolve it from now on. */
  async fundingSpent(actor: ChannelActor, spendingTxid: string): Promise<void> {
    const existing = this.#closing.get(actor.channelId);
    if (existing?.closeTxid === spendingTxid) return;
    await actor.fundingSpent(spendingTxid);
    const chanPoint = actor.snapshot().channel.fundingOutpoint;
    this.#closing.set(actor.channelId, {
      channelId: actor.channelId,
      chanPoint,
      closeTxid: spendingTxid,
      kind: undefined,
      report: undefined,
      recorded: new Set(),
      learned: new Set(),
      sweepScript: existing?.sweepScript,
      lastError: undefined,
      incomingDecided: false,
    });
    this.#deps.log('info', 'channel closing on chain', { channel_id: actor.channelId, closing_txid: spendingTxid });
  }

  /**
   * Rebroadcasts the closing transaction we stored (our commitment or the cooperative close)
   * of a channel whose funding output is not spent yet: a restart must not leave it unsent.
   */
  async rebroadcastStored(channel: OpenChannel, kind: 'cooperative' | 'commitment'): Promise<void> {
    const op = channel.fundingOutpoint;
    let raw: Uint8Array;
    try {
      raw = kind === 'cooperative' ? await this.#deps.store.fetchBroadcastedCooperative(op) : await this.#deps.store.fetchBroadcastedCommitment(op);
    } catch (err) {
      if (isChandError(err, ErrorCode.NO_CLOSE_TX)) return;
      throw err;
    }
    try {
      const txid = await this.#deps.chain.broadcast(raw);
      this.#deps.log('info', 'rebroadcast a stored closing transaction', { funding_txid: op.txid, txid, kind });
    } catch (err) {
      this.#deps.log('warn', 'rebroadcast of a stored closing transaction failed', { funding_txid: op.txid, kind, error: (err as Error).message });
    }
  }

  /** One resolution pass over every closing channel, then a bounded purge. Errors are logged per channel and retried next tick. */
  async tick(): Promise<void> {
    for (const entry of [...this.#closing.values()]) {
      try {
        await this.#resolve(entry);
        entry.lastError = undefined;
      } catch (err) {
        entry.lastError = (err as Error).message;
        this.#deps.log('warn', 'close resolution step failed; retried', { channel_id: entry.channelId, error: (err as Error).message, code: (err as { code?: unknown }).code });
      }
    }
    await this.#purge();
  }

  async #resolve(entry: ClosingEntry): Promise<void> {
    const deps = this.#deps;
    const op = entry.chanPoint;
    const channel = await deps.store.fetchChannel(op);
    const raw = await deps.chain.getRawTransaction(entry.closeTxid);
    if (raw === undefined) return; // evicted or not yet visible to this backend: the watcher reports the next spend
    const closeTx = decodeTx(raw);
    let pendingRemote: ChannelCommitment | undefined;
    try {
      pendingRemote = (await deps.store.remoteCommitChainTip(op)).commitment;
    } catch (err) {
      if (!isChandError(err, ErrorCode.NO_PENDING_COMMIT)) throw err;
    }
    const kind = classifySpend(channel, closeTx, pendingRemote);
    if (entry.kind === undefined) {
      const level = kind.kind === 'breach' || kind.kind === 'unknown' ? 'error' : 'info';
      deps.log(level, kind.kind === 'breach' ? 'the peer broadcast a revoked commitment: punishing it' : 'closing transaction identified', { channel_id: entry.channelId, kind: kind.kind, txid: entry.closeTxid });
    }
    entry.kind = kind;
    let revokedState: RevocationLogEntry | undefined;
    if (kind.kind === 'breach') revokedState = await deps.store.findPreviousState(op, kind.commitHeight);
    entry.sweepScript ??= await deps.sweepScript();
    if (!entry.incomingDecided) {
      await deps.decideIncoming(entry.channelId);
      entry.incomingDecided = true;
    }
    const preimages = await this.#knownPreimages(channel, pendingRemote);
    const deliveryScript = kind.kind === 'cooperative' ? (await deps.store.fetchShutdownInfo(op))?.deliveryScript : undefined;
    const report = await resolveClose(
      {
        chain: deps.chain,
        keys: deps.keys,
        sweepScript: entry.sweepScript,
        feeratePerKw: await deps.sweepFeerate(),
        preimageFor: (hash) => preimages.get(hash),
        finalDepth: deps.finalDepth,
      },
      {
        channel,
        closeTx,
        ...(pendingRemote === undefined ? {} : { pendingRemote }),
        ...(revokedState === undefined ? {} : { revokedState }),
        ...(deliveryScript === undefined ? {} : { deliveryScript }),
      },
    );
    entry.report = report;
    for (const b of report.broadcast) deps.log('info', 'broadcast a resolution transaction', { channel_id: entry.channelId, txid: b.txid, purpose: b.purpose });
    await this.#applyReport(entry, channel, report);
    if (report.done) await this.#finish(entry, channel, kind, report);
  }

  /** Preimages of incoming HTLCs on the close whose invoice we settled (the payee side). */
  async #knownPreimages(channel: OpenChannel, pendingRemote: ChannelCommitment | undefined): Promise<Map<string, Uint8Array>> {
    const hashes = new Set<string>();
    for (const c of [channel.localCommitment, channel.remoteCommitment, ...(pendingRemote === undefined ? [] : [pendingRemote])]) {
      for (const h of c.htlcs) if (h.incoming) hashes.add(h.paymentHash);
    }
    const out = new Map<string, Uint8Array>();
    for (const hash of hashes) {
      try {
        const invoice = await this.#deps.invoices.fetchInvoice(hash);
        // Only the HTLC that settled the invoice is claimed with its preimage.
        const byThisChannel = invoice.settledBy?.channelId === channelIdOf(channel.fundingOutpoint);
        if (invoice.state === 'settled' && byThisChannel) out.set(hash, invoice.preimage);
      } catch (err) {
        if (!isChandError(err, ErrorCode.INVOICE_NOT_FOUND)) throw err;
      }
    }
    return out;
  }

  async #applyReport(entry: ClosingEntry, channel: OpenChannel, report: ResolverReport): Promise<void> {
    const outgoing = [channel.localCommitment, channel.remoteCommitment].flatMap((c) => c.htlcs.filter((h) => !h.incoming));
    for (const { paymentHash, preimage } of report.learnedPreimages) {
      if (entry.learned.has(paymentHash) || bytesToHex(sha256(preimage)) !== paymentHash) continue;
      for (const id of new Set(outgoing.filter((h) => h.paymentHash === paymentHash).map((h) => h.htlcIndex))) {
        await this.#deps.onPreimage(entry.channelId, id, preimage);
      }
      entry.learned.add(paymentHash);
      this.#deps.log('info', 'learned a preimage on chain', { channel_id: entry.channelId, payment_hash: paymentHash });
    }
    for (const o of report.htlcOutcomes) {
      const key = `${o.incoming}:${o.htlcIndex}`;
      if (entry.recorded.has(key)) continue;
      await this.#deps.store.putOnchainFinalHtlcOutcome(channel.shortChannelId, o.htlcIndex, o.settled);
      if (!o.incoming && !o.settled) await this.#deps.onHtlcTimedOut(entry.channelId, o.htlcIndex);
      entry.recorded.add(key);
    }
  }

  async #finish(entry: ClosingEntry, channel: OpenChannel, kind: CloseKind, report: ResolverReport): Promise<void> {
    const closeType =
      kind.kind === 'cooperative' ? ClosureType.Cooperative : kind.kind === 'local' ? ClosureType.LocalForce : kind.kind === 'breach' ? ClosureType.Breach : ClosureType.RemoteForce;
    const summary: ChannelCloseSummary = {
      chanPoint: channel.fundingOutpoint,
      shortChannelId: channel.shortChannelId,
      chainHash: channel.chainHash,
      closingTxid: entry.closeTxid,
      remotePub: channel.identityPub,
      capacitySat: channel.capacitySat,
      closeHeight: report.closeHeight ?? 0,
      settledBalanceSat: report.settledSat,
      timeLockedBalanceSat: report.timeLockedSat,
      closeType,
      isPending: true,
      localConfig: channel.localConfig,
      ...(channel.remoteRevocation.currentPoint === undefined ? {} : { remoteCurrentRevocation: channel.remoteRevocation.currentPoint }),
      ...(channel.remoteRevocation.nextPoint === undefined ? {} : { remoteNextRevocation: channel.remoteRevocation.nextPoint }),
    };
    await this.#deps.store.closeChannel(channel.fundingOutpoint, summary);
    await this.#deps.lifecycle.markChannelFullyClosed(channel.fundingOutpoint);
    this.#closing.delete(entry.channelId);
    this.#deps.log('info', 'channel fully closed', { channel_id: entry.channelId, close_type: kind.kind, closing_txid: entry.closeTxid, settled_sat: String(report.settledSat) });
    this.#deps.onFullyClosed(entry.channelId);
  }

  /** Deletes closed channels' bulk data, a bounded batch per call, until none is left. */
  async #purge(): Promise<void> {
    if (this.#purging) return;
    this.#purging = true;
    try {
      for (let i = 0; i < 20; i++) {
        const r = await this.#deps.store.purgeClosedChannels(500);
        if (r.done) break;
      }
    } finally {
      this.#purging = false;
    }
  }
}
