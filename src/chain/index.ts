/**
 * Chain access: the Chain contract and its implementations (Esplora client, devnet ledger),
 * the chain watcher and the test wallet.
 */
export type {
  Chain,
  ChainTip,
  ChainTransaction,
  ChainTxInput,
  ChainTxOutput,
  FeeEstimates,
  OutspendStatus,
  TxStatus,
  Utxo,
} from './chain.js';
export { TxRejectedError } from './chain-errors.js';
export { fundTransaction, estimateVsize, type FundedTransaction, type Payment } from './coin-selection.js';
export { DevnetClient, type DevnetInfo } from './devnet-client.js';
export { EsploraClient, parseRejectionReason, type EsploraClientOptions } from './esplora-client.js';
export { FALLBACK_FEE_RATE, feeRateForTarget } from './fee-estimates.js';
export { addressToScript, esploraScriptType, NETWORKS, REGTEST, scriptToAddress, type BitcoinNetwork } from './network.js';
export {
  ChainWatcher,
  type ChainWatcherEvents,
  type ChainWatcherOptions,
  type ConfirmationEvent,
  type DeepEvent,
  type SpendEvent,
} from './watcher.js';
export { Wallet, type WalletBalance, type WalletOptions, type WalletPayment, type WalletUtxo } from './wallet.js';
export { devnetGenesis } from './devnet/block.js';
export { DevnetLedger, type DevnetLedgerOptions } from './devnet/ledger.js';
// Devnet (LMDB) and DevnetServer (node:http) are imported from ./devnet/ directly, so that
// importing chain access does not load a native storage engine or an HTTP server.
