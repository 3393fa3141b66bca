/**
 * `ChainWatcher`: polls a Chain for the transactions and outpoints chand cares about and
 * reports what changed.
 *
 * Events:
 * - `confirmations` — a watched transaction's confirmation count or block changed, or it
 *   appeared in (or vanished from) the mempool (0 when it is unconfirmed or unknown, `status`
 *   undefined when unknown; a count that goes down means the block was reorganized away).
 * - `deep` — a watched transaction reached its depth (default 6). Emitted once; the
 *   transaction is then no longer watched, since a block that deep is treated as final.
 * - `spent` — a watched outpoint is spent (mempool or chain), or its spender changed.
 *   Outpoints stay watched until unwatched.
 * - `error` — a poll failed. Polling continues with exponential backoff (interval doubled per
 *   consecutive failure, capped), back to the normal interval after a success. Without an
 *   `error` listener failures are only reflected in the backoff.
 *
 * Each poll reads the items one by one and stops at the first failure, so a backend outage
 * costs one request per poll. Outpoints cost one request each, and a node watches one per
 * channel: when the chain can tell its tip (`getTipHash`), they are read only when the tip
 * changed, when one was newly watched, or every `outpointRefreshMs` (default 12 intervals) for
 * spends still in the mempool. Listeners run synchronously inside the poll; one that throws
 * counts as a failed poll and is reported on `error`.
 */
import { EventEmitter } from 'node:events';
import type { OutPoint } from '../bitcoin/transaction.js';
import type { Chain, TxStatus } from './chain.js';

/** A change in a watched transaction's confirmations. */
export interface ConfirmationEvent {
  readonly txid: string;
  readonly confirmations: number;
  /** undefined when the chain does not know the transaction (never broadcast, or evicted). */
  readonly status: TxStatus | undefined;
}

/** A watched transaction reached its configured depth. */
export interface DeepEvent {
  readonly txid: string;
  readonly confirmations: number;
  readonly blockHeight: number;
  readonly blockHash: string;
}

/** A watched outpoint (`txid`, `index`) was spent. */
export interface SpendEvent extends OutPoint {
  /** The spending transaction and input. */
  readonly spendingTxid: string;
  readonly vin: number;
  readonly status: TxStatus;
}

/** Event map of ChainWatcher. */
export interface ChainWatcherEvents {
  confirmations: [ConfirmationEvent];
  deep: [DeepEvent];
  spent: [SpendEvent];
  error: [Error];
}

/** Options of ChainWatcher. */
export interface ChainWatcherOptions {
  readonly chain: Pick<Chain, 'getTxStatus' | 'getOutspend'> & Partial<Pick<Chain, 'getTipHash'>>;
  /** With a chain that has getTipHash: the longest time between outpoint reads while the tip stays, ms (default 12 poll intervals). */
  readonly outpointRefreshMs?: number;
  /** Time between polls when all is well, ms (default 10 000). */
  readonly pollIntervalMs?: number;
  /** Upper bound of the backoff after failures, ms (default 300 000). */
  readonly maxBackoffMs?: number;
  /** Confirmations for `deep` when watchTransaction gives none (default 6). */
  readonly defaultDepth?: number;
}

interface TxWatch {
  readonly depth: number;
  confirmations: number | undefined;
  blockHash: string | undefined;
  /** Whether the chain knew the transaction at the last poll (mempool or block). */
  known: boolean | undefined;
}

interface OutpointWatch extends OutPoint {
  spender: string | undefined;
}

/** Polls a Chain and emits confirmations, spends and depth. Lifecycle: start() / stop(). */
export class ChainWatcher extends EventEmitter<ChainWatcherEvents> {
  readonly #chain: Pick<Chain, 'getTxStatus' | 'getOutspend'> & Partial<Pick<Chain, 'getTipHash'>>;
  readonly #outpointRefreshMs: number;
  /** The tip at the last complete outpoint read, when, and whether an outpoint was added since. */
  #outpointsReadAt: { tip: string | undefined; ms: number; generation: number } = { tip: undefined, ms: 0, generation: -1 };
  /** Bumped by every newly watched outpoint. */
  #outpointGeneration = 0;
  readonly #interval: number;
  readonly #maxBackoff: number;
  readonly #defaultDepth: number;
  readonly #txs = new Map<string, TxWatch>();
  readonly #outpoints = new Map<string, OutpointWatch>();
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #failures = 0;

  constructor(options: ChainWatcherOptions) {
    super();
    this.#chain = options.chain;
    this.#interval = options.pollIntervalMs ?? 10_000;
    this.#maxBackoff = options.maxBackoffMs ?? 300_000;
    this.#defaultDepth = options.defaultDepth ?? 6;
    this.#outpointRefreshMs = options.outpointRefreshMs ?? this.#interval * 12;
    if (!(this.#interval > 0)) throw new RangeError(`expected pollIntervalMs > 0, got ${this.#interval}`);
    if (!(this.#maxBackoff >= this.#interval)) throw new RangeError(`expected maxBackoffMs >= pollIntervalMs, got ${this.#maxBackoff}`);
    if (!Number.isInteger(this.#defaultDepth) || this.#defaultDepth < 1) throw new RangeError(`expected defaultDepth >= 1, got ${this.#defaultDepth}`);
  }

  /** Number of consecutive failed polls (0 after a success). */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** Delay before the next poll: the interval, doubled per consecutive failure, capped. */
  get nextDelayMs(): number {
    return Math.min(this.#maxBackoff, this.#interval * 2 ** Math.min(this.#failures, 30));
  }

  /** Watches `txid` until it has `depth` confirmations. Watching again keeps its state and updates the depth. */
  watchTransaction(txid: string, options: { depth?: number } = {}): void {
    const depth = options.depth ?? this.#defaultDepth;
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`expected depth >= 1, got ${depth}`);
    const existing = this.#txs.get(txid);
    this.#txs.set(txid, { depth, confirmations: existing?.confirmations, blockHash: existing?.blockHash, known: existing?.known });
  }

  /** Stops watching `txid`. Unknown txids are ignored. */
  unwatchTransaction(txid: string): void {
    this.#txs.delete(txid);
  }

  /** Watches output `index` of `txid` for spends. Idempotent. */
  watchOutpoint(txid: string, index: number): void {
    const key = `${txid}:${index}`;
    if (!this.#outpoints.has(key)) {
      this.#outpoints.set(key, { txid, index, spender: undefined });
      this.#outpointGeneration++;
    }
  }

  /** Stops watching an outpoint. Unknown outpoints are ignored. */
  unwatchOutpoint(txid: string, index: number): void {
    this.#outpoints.delete(`${txid}:${index}`);
  }

  /** Starts polling: a first poll at once, then every interval (longer after failures). Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops polling and waits for a poll in progress to finish. Idempotent. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  /**
   * Runs one poll now (also while stopped) and resolves when it is done. Failures are counted
   * for backoff and reported on `error`, never thrown.
   */
  async pollNow(): Promise<void> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    this.#inFlight = this.#poll().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.pollNow().then(() => {
        // A stop() followed by start() during the poll has already armed a new timer.
        if (this.#running && this.#timer === undefined) this.#schedule(this.nextDelayMs);
      });
    }, delay);
  }

  async #poll(): Promise<void> {
    try {
      for (const [txid, watch] of [...this.#txs]) {
        const status = await this.#chain.getTxStatus(txid);
        // Unwatched while we were waiting: report nothing more about it.
        if (this.#txs.get(txid) !== watch) continue;
        this.#updateTx(txid, watch, status);
      }
      const getTipHash = this.#chain.getTipHash?.bind(this.#chain);
      const tip = getTipHash === undefined || this.#outpoints.size === 0 ? undefined : await getTipHash();
      const last = this.#outpointsReadAt;
      const generation = this.#outpointGeneration;
      const due = getTipHash === undefined || last.generation !== generation || tip !== last.tip || Date.now() - last.ms >= this.#outpointRefreshMs;
      for (const [key, watch] of due ? [...this.#outpoints] : []) {
        const spend = await this.#chain.getOutspend(watch.txid, watch.index);
        if (this.#outpoints.get(key) !== watch) continue;
        if (!spend.spent) {
          watch.spender = undefined;
          continue;
        }
        if (watch.spender === spend.txid) continue;
        watch.spender = spend.txid;
        this.emit('spent', { txid: watch.txid, index: watch.index, spendingTxid: spend.txid, vin: spend.vin, status: spend.status });
      }
      if (due) this.#outpointsReadAt = { tip, ms: Date.now(), generation };
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
    }
  }

  #updateTx(txid: string, watch: TxWatch, status: TxStatus | undefined): void {
    const confirmations = status?.confirmed === true ? status.confirmations : 0;
    const blockHash = status?.confirmed === true ? status.blockHash : undefined;
    const known = status !== undefined;
    if (confirmations !== watch.confirmations || blockHash !== watch.blockHash || known !== watch.known) {
      watch.confirmations = confirmations;
      watch.blockHash = blockHash;
      watch.known = known;
      this.emit('confirmations', { txid, confirmations, status });
    }
    if (status?.confirmed === true && confirmations >= watch.depth) {
      this.#txs.delete(txid);
      this.emit('deep', { txid, confirmations, blockHeight: status.blockHeight, blockHash: status.blockHash });
    }
  }
}
