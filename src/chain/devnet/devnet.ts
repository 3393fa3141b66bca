/**
 * `Devnet`: the devnet as a service — a DevnetLedger persisted in LMDB under a data
 * directory, served over HTTP by a DevnetServer. What `chand devnet` runs.
 *
 * Data directory layout: `<datadir>/chain/` is the LMDB environment holding the whole chain
 * (see ledger-layout.ts). Starting again on the same directory resumes the same chain.
 */
import type { KvEngine } from '../../kv/engine.js';
import type { FeeEstimates } from '../chain.js';
import { DevnetLedger } from './ledger.js';
import { DevnetServer } from './server.js';

/** Options of Devnet. */
export interface DevnetOptions {
  /**
   * The store holding the chain, opened by the caller (a composition root: the CLI opens
   * LMDB in `<datadir>/chain`); the devnet owns it from here and closes it on stop.
   */
  readonly engine: KvEngine;
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: ephemeral). */
  readonly port?: number;
  /** Blocks mined to the faucet when the chain is new (default 5). */
  readonly initialBlocks?: number;
  readonly feeEstimates?: FeeEstimates;
  /** Told about unexpected server-side failures. */
  readonly onError?: (err: unknown) => void;
}

/** A running devnet. start() opens storage and listens; stop() is graceful and idempotent. */
export class Devnet {
  readonly #options: DevnetOptions;
  #engine: KvEngine | undefined;
  #ledger: DevnetLedger | undefined;
  #server: DevnetServer | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: DevnetOptions) {
    if (typeof options.engine !== 'object' || options.engine === null) throw new TypeError('expected a KvEngine for the devnet chain');
    this.#options = options;
  }

  /** Opens (or creates) the chain and starts serving it. Fails with DB_LOCKED-style errors if the store cannot be opened. */
  async start(): Promise<void> {
    if (this.#engine !== undefined) throw new Error('devnet already started');
    const o = this.#options;
    const engine = o.engine;
    this.#engine = engine;
    try {
      this.#ledger = await DevnetLedger.open({
        engine,
        ...(o.initialBlocks === undefined ? {} : { initialBlocks: o.initialBlocks }),
        ...(o.feeEstimates === undefined ? {} : { feeEstimates: o.feeEstimates }),
      });
      this.#server = new DevnetServer({
        ledger: this.#ledger,
        ...(o.host === undefined ? {} : { host: o.host }),
        ...(o.port === undefined ? {} : { port: o.port }),
        ...(o.onError === undefined ? {} : { onError: o.onError }),
      });
      await this.#server.start();
    } catch (err) {
      await engine.close();
      throw err;
    }
  }

  /** The ledger, for in-process use. Throws if not started. */
  get ledger(): DevnetLedger {
    if (this.#ledger === undefined) throw new Error('devnet not started');
    return this.#ledger;
  }

  /** Base URL of the Esplora API. Throws if not started. */
  get url(): string {
    if (this.#server === undefined) throw new Error('devnet not started');
    return this.#server.url;
  }

  /** Stops the server, then closes the store. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#server?.stop();
      await this.#engine?.close();
    })();
    return this.#stopping;
  }
}
