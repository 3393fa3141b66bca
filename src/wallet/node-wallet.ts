/**
 * The node's on-chain wallet: BIP84 P2WPKH keys from the node seed (the same seed as the
 * node's channel keys, on a different BIP 43 purpose), coins read from the Chain, and coin
 * selection for channel funding that never picks a coin twice.
 *
 * What keeps a coin from being selected twice:
 * - while an open is negotiating, its coins are reserved in memory under the open's id and
 *   released if the open fails;
 * - once the pending channel is stored, its signed funding transaction is in the store, and
 *   the node re-reserves that transaction's inputs at start (`reserveInputsOf`) before any
 *   RPC is served, then rebroadcasts it; once broadcast, the chain itself reports the coins
 *   as spent (Esplora lists mempool spends as spent).
 * So after any restart, the reservations that matter are rebuilt from durable state; the ones
 * lost with the process belonged to opens that never reached the store and whose funding
 * transaction was never broadcast.
 *
 * The address counters (receive and change addresses handed out) live in
 * `<datadir>/wallet.json`, written atomically. Losing an update is harmless: the wallet scans
 * a lookahead gap past the counters.
 */
import { createFundingPsbt, type FundingPsbt } from '../bitcoin/psbt-funding.js';
import type { NodeSeed } from '../bitcoin/node-seed.js';
import { decodeTx, txidOf, type OutPoint } from '../bitcoin/transaction.js';
import { isChandError, ChandError, ErrorCode } from '../errors.js';
import type { Chain } from '../chain/chain.js';
import { addressToScript, type BitcoinNetwork } from '../chain/network.js';
import { Wallet, type WalletUtxo } from '../chain/wallet.js';
import { readJsonFile, replaceFileAtomic } from '../fs/durable-file.js';

/** File name of the wallet's counters in the data directory. */
export const WALLET_STATE_FILE = 'wallet.json';

interface WalletState {
  readonly version: 1;
  readonly receiveCount: number;
  readonly changeCount: number;
}

/** A wallet balance, in sat. */
export interface NodeWalletBalance {
  readonly confirmedSat: bigint;
  readonly unconfirmedSat: bigint;
  readonly reservedSat: bigint;
}

/** What fundChannel needs. */
export interface FundChannelRequest {
  /** Who the coins are reserved for (e.g. the temporary channel id). */
  readonly owner: string;
  readonly fundingAmountSat: bigint;
  readonly localFundingPubkey: Uint8Array;
  readonly remoteFundingPubkey: Uint8Array;
  readonly feeratePerKw: number;
}

/** A signed funding transaction and how it was built. */
export interface FundedChannel extends FundingPsbt {
  /** The signed transaction, network serialization. */
  readonly signedTx: Uint8Array;
}

function key(op: OutPoint): string {
  return `${op.txid}:${op.index}`;
}

/** See the module comment. */
export class NodeWallet {
  readonly #wallet: Wallet;
  readonly #network: BitcoinNetwork;
  readonly #statePath: string;
  /** outpoint key → owner */
  readonly #reserved = new Map<string, { owner: string; value: bigint | undefined }>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(wallet: Wallet, network: BitcoinNetwork, statePath: string) {
    this.#wallet = wallet;
    this.#network = network;
    this.#statePath = statePath;
  }

  /** Opens the wallet of `seed` with the counters stored at `statePath` (created on first use). */
  static async open(options: { seed: NodeSeed; passphrase?: string; chain: Chain; network: BitcoinNetwork; statePath: string }): Promise<NodeWallet> {
    const raw = await readJsonFile(options.statePath);
    let state: WalletState = { version: 1, receiveCount: 0, changeCount: 0 };
    if (raw !== undefined) {
      const s = raw as Partial<WalletState>;
      if (s.version !== 1 || !Number.isSafeInteger(s.receiveCount) || !Number.isSafeInteger(s.changeCount)) {
        throw new ChandError(ErrorCode.DECODE_FAILED, `wallet state file ${options.statePath} is not a version 1 chand wallet state`);
      }
      state = s as WalletState;
    }
    const wallet = Wallet.fromSeed(options.seed, {
      chain: options.chain,
      network: options.network,
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      receiveCount: state.receiveCount,
      changeCount: state.changeCount,
    });
    return new NodeWallet(wallet, options.network, options.statePath);
  }

  /** Runs `fn` after every earlier call has finished (address counters and selection are serialized). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #saveCounters(): Promise<void> {
    const state: WalletState = { version: 1, receiveCount: this.#wallet.receiveCount, changeCount: this.#wallet.changeCount };
    await replaceFileAtomic(this.#statePath, `${JSON.stringify(state)}\n`);
  }

  /** Hands out a new receive address; the counter is durable before the address is returned. */
  newAddress(): Promise<string> {
    return this.#serial(async () => {
      const address = this.#wallet.nextReceiveAddress();
      await this.#saveCounters();
      return address;
    });
  }

  /** Confirmed and unconfirmed coins (mempool spends excluded) and what is reserved for opens. */
  async balance(): Promise<NodeWalletBalance> {
    let confirmedSat = 0n;
    let unconfirmedSat = 0n;
    let reservedSat = 0n;
    for (const utxo of await this.#wallet.listUtxos()) {
      if (this.#reserved.has(key(utxo))) reservedSat += utxo.value;
      else if (utxo.status.confirmed) confirmedSat += utxo.value;
      else unconfirmedSat += utxo.value;
    }
    return { confirmedSat, unconfirmedSat, reservedSat };
  }

  /** Reserves the inputs of a stored funding transaction under `owner` (hydrate step at start). */
  reserveInputsOf(rawTx: Uint8Array, owner: string): void {
    for (const input of decodeTx(rawTx).inputs) this.#reserved.set(key(input), { owner, value: undefined });
  }

  /** Releases every coin reserved under `owner`. Unknown owners are ignored. */
  release(owner: string): void {
    for (const [k, r] of this.#reserved) if (r.owner === owner) this.#reserved.delete(k);
  }

  /**
   * Selects confirmed, unreserved coins (largest first) for a channel funding output of
   * `fundingAmountSat`, builds the BIP 69 funding transaction with change to a new change
   * address, signs it and reserves its coins under `owner`. ChandError INSUFFICIENT_FUNDS
   * (with what is available) if the coins cannot pay amount plus fee.
   */
  fundChannel(request: FundChannelRequest): Promise<FundedChannel> {
    return this.#serial(async () => {
      const candidates = (await this.#wallet.listUtxos())
        .filter((u) => u.status.confirmed && !this.#reserved.has(key(u)))
        .sort((a, b) => (a.value === b.value ? 0 : a.value > b.value ? -1 : 1));
      const changeAddress = this.#wallet.address(this.#wallet.changeCount, true);
      const changeScript = addressToScript(changeAddress, this.#network);
      const chosen: WalletUtxo[] = [];
      let built: FundingPsbt | undefined;
      let lastError: unknown;
      for (const utxo of candidates) {
        chosen.push(utxo);
        try {
          built = createFundingPsbt({
            utxos: chosen.map((u) => ({ txid: u.txid, index: u.index, value: u.value, script: addressToScript(u.address, this.#network) })),
            fundingAmountSat: request.fundingAmountSat,
            localFundingPubkey: request.localFundingPubkey,
            remoteFundingPubkey: request.remoteFundingPubkey,
            changeScript,
            feeratePerKw: request.feeratePerKw,
          });
          break;
        } catch (err) {
          if (!isChandError(err, ErrorCode.INSUFFICIENT_FUNDS)) throw err;
          lastError = err;
        }
      }
      if (built === undefined) {
        const available = candidates.reduce((sum, u) => sum + u.value, 0n);
        throw new ChandError(
          ErrorCode.INSUFFICIENT_FUNDS,
          `the wallet has ${available} sat in confirmed, unreserved coins; a ${request.fundingAmountSat} sat channel needs more (amount plus fee)`,
          lastError === undefined ? {} : { cause: lastError },
        );
      }
      if (built.funding.changeOutputIndex >= 0) {
        this.#wallet.nextChangeAddress();
        await this.#saveCounters();
      }
      const signed = this.#wallet.signPsbt(built.psbt);
      if (signed.signedInputs !== built.funding.inputs.length) {
        throw new ChandError(ErrorCode.PSBT_NOT_FINALIZED, `signed ${signed.signedInputs} of ${built.funding.inputs.length} funding inputs`);
      }
      const signedTx = Wallet.finalizePsbt(signed.psbt);
      // The peer signs our commitment against this txid: it must not change with signing.
      if (txidOf(decodeTx(signedTx)) !== built.funding.txid) throw new ChandError(ErrorCode.PSBT_TXID_MISMATCH, 'the signed funding transaction has another txid');
      for (const u of chosen) this.#reserved.set(key(u), { owner: request.owner, value: u.value });
      return { ...built, signedTx };
    });
  }
}
