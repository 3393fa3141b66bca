/**
 * The Chain contract: what chand needs from a Bitcoin chain backend.
 *
 * Implementations: `EsploraClient` (any Esplora HTTP server, including `chand devnet`) and
 * `DevnetLedger` (the devnet chain itself, in-process). Both pass the shared suite in
 * test/chain/support/chain-suite.ts. This file holds types only and imports no implementation.
 *
 * Conventions: txids and block hashes are lowercase hex in display (reversed) byte order, as
 * block explorers show them; amounts are satoshis as bigint; raw transactions are bytes. A
 * lookup of something the chain does not know returns `undefined` rather than throwing;
 * failures to reach or understand the backend throw ChandError (CHAIN_UNREACHABLE,
 * CHAIN_TIMEOUT, CHAIN_BAD_RESPONSE) and a refused broadcast throws TxRejectedError.
 * Outpoints are the one `OutPoint` of src/bitcoin ({ txid, index }); a backend whose wire
 * format says `vout` converts at its edge.
 */
import type { OutPoint } from '../bitcoin/transaction.js';

/** Where a transaction stands. `confirmations` counts the block containing it as 1. */
export type TxStatus =
  | { readonly confirmed: false }
  | {
      readonly confirmed: true;
      readonly blockHeight: number;
      readonly blockHash: string;
      /** Block header time, UNIX seconds. */
      readonly blockTime: number;
      readonly confirmations: number;
    };

/** The spending state of one transaction output. */
export type OutspendStatus =
  | { readonly spent: false }
  | {
      readonly spent: true;
      /** The transaction spending the output, and which of its inputs does. */
      readonly txid: string;
      readonly vin: number;
      readonly status: TxStatus;
    };

/**
 * An unspent output paying an address, confirmed or still in the mempool, as the chain
 * reports it: outpoint, value and status (no script: the caller asked by address).
 */
export interface Utxo extends OutPoint {
  readonly value: bigint;
  readonly status: TxStatus;
}

/** The best block. */
export interface ChainTip {
  readonly height: number;
  readonly hash: string;
}

/** One input of a transaction as the chain reports it: the outpoint it spends, and how. */
export interface ChainTxInput extends OutPoint {
  readonly sequence: number;
  readonly witness: readonly Uint8Array[];
  /** The output being spent; absent for a coinbase input. */
  readonly prevout?: { readonly script: Uint8Array; readonly value: bigint };
}

/** One output of a transaction as the chain reports it. */
export interface ChainTxOutput {
  readonly script: Uint8Array;
  readonly value: bigint;
  /** The output's address on the chain's network, when it has one. */
  readonly address?: string;
}

/** A transaction with its chain context. */
export interface ChainTransaction {
  readonly txid: string;
  readonly version: number;
  readonly locktime: number;
  readonly inputs: readonly ChainTxInput[];
  readonly outputs: readonly ChainTxOutput[];
  /** Inputs minus outputs; 0 for a coinbase. */
  readonly fee: bigint;
  readonly weight: number;
  readonly status: TxStatus;
}

/**
 * Fee-rate estimates in sat/vB by confirmation target in blocks (e.g. `{1: 20, 6: 5}`).
 * Use `feeRateForTarget` to pick one.
 */
export type FeeEstimates = Readonly<Record<number, number>>;

/** Read and broadcast access to a Bitcoin chain. Every method is safe to call concurrently. */
export interface Chain {
  /**
   * Submits a signed transaction and returns its txid. Resolves once the backend accepted it
   * into its mempool (or already had it). Throws TxRejectedError with the backend's reason
   * when refused. Not retried automatically: the caller decides whether to resubmit.
   */
  broadcast(rawTx: Uint8Array): Promise<string>;
  /** The status of a transaction, or undefined if the backend knows no such transaction. */
  getTxStatus(txid: string): Promise<TxStatus | undefined>;
  /** A transaction with inputs, outputs, fee and status, or undefined if unknown. */
  getTransaction(txid: string): Promise<ChainTransaction | undefined>;
  /** The serialized transaction (with witnesses), or undefined if unknown. */
  getRawTransaction(txid: string): Promise<Uint8Array | undefined>;
  /**
   * Whether output `index` of `txid` is spent, and by what (mempool spends included).
   * An output the backend does not know reports `{ spent: false }`, as Esplora does.
   */
  getOutspend(txid: string, index: number): Promise<OutspendStatus>;
  /**
   * Unspent outputs paying `address`, mempool included (outputs spent in the mempool are
   * excluded). Order is unspecified. Throws TypeError for an address of another network.
   */
  getAddressUtxos(address: string): Promise<Utxo[]>;
  /** Height of the best block. */
  getTipHeight(): Promise<number>;
  /** Hash of the best block. */
  getTipHash(): Promise<string>;
  /** Hash of the best-chain block at `height`, or undefined above the tip. */
  getBlockHash(height: number): Promise<string | undefined>;
  /**
   * The txids of block `blockHash` in block order (position i is the transaction index a
   * BOLT 7 short channel id carries), or undefined if the block is unknown.
   */
  getBlockTxids(blockHash: string): Promise<string[] | undefined>;
  /** Current fee-rate estimates. */
  getFeeEstimates(): Promise<FeeEstimates>;
}
