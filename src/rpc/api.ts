/**
 * What the RPC layer needs from a node: the contract between `src/rpc/` (JSON-RPC edge,
 * parameter validation, error mapping) and `src/node/` (which implements it). Types only.
 *
 * Values are already validated and converted when a method is called: ids are lowercase hex,
 * amounts are bigint. Results use the JSON conventions of docs/rpc.md directly (snake_case,
 * `*_sat` amounts as JSON numbers — they never exceed 21e14 —, `*_msat` as decimal strings,
 * times as `*_ms` UNIX milliseconds), so the RPC layer serializes them as they are.
 * A method throws a ChandError for a condition the caller can handle (its `code` goes into
 * the JSON-RPC error's `data.code`); anything else is an internal error.
 */

/** `node_info` result. */
export interface NodeInfoResult {
  readonly node_id: string;
  readonly network: string;
  /** Genesis block hash of the chain, display-order hex. */
  readonly chain_hash: string;
  readonly version: string;
  /** Where the peer server listens ("host:port"), empty when not listening. */
  readonly listen_addresses: readonly string[];
  readonly block_height: number;
  readonly peers: number;
  readonly pending_channels: number;
  readonly open_channels: number;
  /** Feature bits we send in `init`. */
  readonly features: readonly number[];
}

/** One online peer of `list_peers`. */
export interface PeerResult {
  readonly peer_id: string;
  readonly address: string;
  readonly inbound: boolean;
  readonly features: readonly number[];
  readonly online_since_ms: number;
}

/** Where a channel stands, as `list_channels` reports it. */
export type ChannelStateName =
  /** open_channel/accept_channel exchanged, funding not yet signed (in memory only). */
  | 'negotiating'
  /** Stored; funding transaction broadcast (or to be), waiting for confirmations. */
  | 'pending_open'
  /** Confirmed; waiting for channel_ready from the peer (or to send ours). */
  | 'awaiting_channel_ready'
  | 'open'
  | 'closing'
  | 'closed';

/** One channel of `list_channels`. */
export interface ChannelResult {
  readonly channel_id: string;
  readonly peer_id: string;
  readonly state: ChannelStateName;
  /** Human-readable reason when not open, e.g. "waiting for 2 more confirmations". */
  readonly pending_reason?: string;
  readonly is_initiator: boolean;
  readonly capacity_sat: number;
  readonly local_balance_msat: string;
  readonly remote_balance_msat: string;
  readonly funding_txid: string;
  readonly funding_output_index: number;
  readonly confirmations: number;
  readonly confirmations_required: number;
  /** "BLOCKxTXxOUTPUT", absent until confirmed. */
  readonly short_channel_id?: string;
  readonly peer_online: boolean;
  /** For externally funded opens until they are open: the flow's state and deadline. */
  readonly external_funding?: { readonly state: ExternalFundingStateName; readonly expires_at_ms?: number };
  /** While the channel closes: how far the close is and what each output of ours waits for. */
  readonly closing?: ClosingInfo;
}

/** A close in progress, as list_channels shows it. */
export interface ClosingInfo {
  /** shutting_down: shutdown sent or received, HTLCs resolving; negotiating: closing_signed exchange; closing_tx_broadcast: a closing transaction is out; resolving: on chain, outputs being swept. */
  readonly phase: 'shutting_down' | 'negotiating' | 'closing_tx_broadcast' | 'resolving';
  readonly closer?: 'local' | 'remote';
  /** HTLCs still on the commitments (a cooperative close waits for them). */
  readonly htlcs_in_flight: number;
  readonly last_fee_sat?: number;
  readonly closing_txid?: string;
  /** cooperative, local (our commitment), remote (theirs), breach (a revoked one of theirs), unknown. */
  readonly close_kind?: string;
  readonly close_confirmations?: number;
  readonly pending_outputs?: readonly PendingOutputResult[];
  readonly last_error?: string;
}

/** One output of a close still waiting for something. */
export interface PendingOutputResult {
  readonly outpoint: string;
  readonly amount_sat: number;
  readonly kind: string;
  readonly waiting_for: string;
  readonly maturity_height?: number;
  readonly blocks_left?: number;
  readonly payment_hash?: string;
}

/** Params of `shutdown_channel`, validated. */
export interface ShutdownChannelParams {
  readonly channel_id: string;
  /** Our output's address (default: a new wallet address). */
  readonly close_address?: string;
  /** Our output's scriptpubkey, hex (instead of close_address). */
  readonly close_script?: string;
  /** Target feerate of the closing transaction. */
  readonly fee_rate_sat_per_vb?: number;
  /** Broadcast our commitment now instead of negotiating. */
  readonly force?: boolean;
}

/** `shutdown_channel` result. */
export interface ShutdownChannelResult {
  readonly channel_id: string;
  /** shutting_down: cooperative close under way (list_channels follows it); force_closed: our commitment was broadcast. */
  readonly state: 'shutting_down' | 'force_closed';
  readonly closing_txid?: string;
  readonly close_script?: string;
}

/** One entry of `list_closed_channels`. */
export interface ClosedChannelResult {
  readonly channel_id: string;
  readonly peer_id: string;
  readonly close_type: string;
  readonly closing_txid: string;
  readonly close_height: number;
  readonly capacity_sat: number;
  /** What came back to us without a delay, and with one. */
  readonly settled_sat: number;
  readonly time_locked_sat: number;
  readonly short_channel_id?: string;
  readonly fully_resolved: boolean;
}

/** Params of `open_channel`, validated. */
export interface OpenChannelParams {
  readonly peer_id: string;
  readonly funding_amount_sat: bigint;
  /** Given to the peer at open (default 0). */
  readonly push_amount_msat?: bigint;
  /** Fee rate of the funding transaction (default: the chain's 6-block estimate). */
  readonly fee_rate_sat_per_vb?: number;
}

/** `open_channel` result: returned once the funding transaction is stored and broadcast. */
export interface OpenChannelResult {
  readonly temporary_channel_id: string;
  readonly channel_id: string;
  readonly funding_txid: string;
  readonly funding_output_index: number;
}

/** `wallet_balance` result. */
export interface WalletBalanceResult {
  readonly confirmed_sat: number;
  readonly unconfirmed_sat: number;
  /** Coins held back for opens in progress. */
  readonly reserved_sat: number;
}

/** The node as the RPC methods see it. Every method may be called concurrently. */
export interface NodeApi extends ExternalFundingApi, PaymentsApi {
  nodeInfo(): Promise<NodeInfoResult>;
  /** Connects (or returns the existing connection); resolves when the peer is online. */
  connectPeer(params: { readonly peer_id: string; readonly address: string }): Promise<PeerResult>;
  /** PEER_NOT_CONNECTED if not online. */
  disconnectPeer(params: { readonly peer_id: string }): Promise<void>;
  listPeers(): Promise<readonly PeerResult[]>;
  openChannel(params: OpenChannelParams): Promise<OpenChannelResult>;
  listChannels(params: { readonly peer_id?: string; readonly include_closed?: boolean }): Promise<readonly ChannelResult[]>;
  /** CHANNEL_NOT_FOUND if no such channel; CHANNEL_NOT_ACTIVE if it cannot close this way now. */
  shutdownChannel(params: ShutdownChannelParams): Promise<ShutdownChannelResult>;
  listClosedChannels(params: { readonly peer_id?: string }): Promise<readonly ClosedChannelResult[]>;
  newAddress(): Promise<{ readonly address: string }>;
  walletBalance(): Promise<WalletBalanceResult>;
}

// ---- External (PSBT) funding: DESIGN.md "External funding (PSBT), restart-safe" ----------

/** Where the coins of an externally funded open come from. */
export type FundingSource =
  /** These outpoints (each P2WPKH or P2TR; their value and script are read from the chain). */
  | { readonly utxos: ReadonlyArray<{ readonly txid: string; readonly vout: number }> }
  /** Every confirmed coin of this address. */
  | { readonly address: string };

/** Params of `open_channel_with_external_funding`, validated. */
export interface OpenExternalParams {
  readonly peer_id: string;
  readonly funding_amount_sat: bigint;
  readonly funding_source: FundingSource;
  /** Where the change goes (required: chand does not own the coins). */
  readonly change_address: string;
  readonly fee_rate_sat_per_vb: number;
  /** Abort if not submitted within this (default: the node's --external-funding-timeout, 600 s). */
  readonly timeout_secs?: number;
  readonly push_amount_msat?: bigint;
}

/** `open_channel_with_external_funding` result: the peer has signed our refund; sign and submit `psbt`. */
export interface OpenExternalResult {
  readonly temporary_channel_id: string;
  readonly channel_id: string;
  readonly funding_txid: string;
  readonly funding_output_index: number;
  /** The unsigned funding PSBT, base64 (BIP 174, every input with witness_utxo). */
  readonly psbt: string;
  /** The deadline for submit_signed_funding_tx, UNIX ms. */
  readonly expires_at_ms: number;
}

/** Where an externally funded open stands. */
export type ExternalFundingStateName =
  | 'awaiting_signature'
  | 'submitted'
  | 'broadcast'
  | 'confirming'
  | 'open'
  | 'aborted';

/** `get_external_funding` result (and `submit_signed_funding_tx`'s). */
export interface ExternalFundingResult {
  readonly channel_id: string;
  readonly state: ExternalFundingStateName;
  readonly funding_txid: string;
  /** While awaiting_signature: the unsigned PSBT again (a reloaded app can ask for it). */
  readonly psbt?: string;
  readonly expires_at_ms?: number;
  /** While confirming: confirmations so far and required. */
  readonly confirmations?: number;
  readonly confirmations_required?: number;
  /** When aborted: why (e.g. "the deadline passed before a signed transaction was submitted"). */
  readonly reason?: string;
}

/** Params of `submit_signed_funding_tx`, validated: exactly one of `psbt` (base64) and `tx` (hex). */
export type SubmitFundingParams =
  | { readonly channel_id: string; readonly psbt: string; readonly tx?: undefined }
  | { readonly channel_id: string; readonly tx: string; readonly psbt?: undefined };

/** The external-funding methods of the node (added to NodeApi). */
export interface ExternalFundingApi {
  openChannelWithExternalFunding(params: OpenExternalParams): Promise<OpenExternalResult>;
  /** Idempotent for the same transaction; EXTERNAL_FUNDING_CONFLICT for another, EXTERNAL_FUNDING_EXPIRED past the deadline. */
  submitSignedFundingTx(params: SubmitFundingParams): Promise<ExternalFundingResult>;
  getExternalFunding(params: { readonly channel_id: string }): Promise<ExternalFundingResult>;
}

// ---- Invoices and payments ------------------------------------------------------------

/** Params of `new_invoice`, validated. */
export interface NewInvoiceParams {
  readonly amount_msat?: bigint;
  readonly description?: string;
  readonly description_hash?: string;
  readonly expiry_secs?: number;
  readonly min_final_cltv_expiry_delta?: number;
}

/** An invoice as RPC shows it. */
export interface InvoiceResult {
  readonly payment_hash: string;
  /** The BOLT 11 string; empty for a keysend payment received. */
  readonly invoice: string;
  readonly state: 'open' | 'accepted' | 'settled' | 'canceled';
  /** Absent for an any-amount invoice. */
  readonly amount_msat?: string;
  readonly description?: string;
  readonly description_hash?: string;
  readonly created_at_ms: number;
  readonly expires_at_ms: number;
  readonly keysend: boolean;
  readonly add_index: number;
  /** 0 until settled. */
  readonly settle_index: number;
  /** Once settled. */
  readonly settled_at_ms?: number;
  readonly amount_paid_msat?: string;
  /** The preimage, once settled (the proof of payment the payer also holds). */
  readonly preimage?: string;
}

/** A decoded BOLT 11 invoice (`parse_invoice`). */
export interface ParsedInvoiceResult {
  readonly network: string;
  readonly payment_hash: string;
  readonly payment_secret: string;
  readonly payee: string;
  readonly amount_msat?: string;
  readonly description?: string;
  readonly description_hash?: string;
  readonly created_at_ms: number;
  readonly expires_at_ms: number;
  readonly expired: boolean;
  readonly min_final_cltv_expiry_delta: number;
  readonly features: readonly number[];
  readonly route_hints: number;
}

/** Params of `send_payment`, validated: an invoice, or a keysend to a node. */
export interface SendPaymentParams {
  readonly invoice?: string;
  readonly target_pubkey?: string;
  readonly amount_msat?: bigint;
  readonly keysend?: boolean;
  /** Return as soon as the HTLC is offered instead of waiting for the outcome. */
  readonly no_wait?: boolean;
  /** How long to wait for the outcome (default 60 s); the payment goes on after that. */
  readonly timeout_secs?: number;
  /** The hops to the destination (the first a direct peer); each hop's fee and CLTV delta is what it charges to forward onwards. */
  readonly route?: ReadonlyArray<{ readonly pubkey: string; readonly short_channel_id: bigint; readonly fee_msat: bigint; readonly cltv_expiry_delta: number }>;
}

/** One HTLC of a payment. */
export interface PaymentAttemptResult {
  readonly attempt_id: number;
  readonly channel_id: string;
  readonly htlc_id: number;
  readonly amount_msat: string;
  readonly status: 'in_flight' | 'succeeded' | 'failed';
  readonly started_at_ms: number;
  readonly resolved_at_ms?: number;
  readonly failure?: string;
}

/** An outgoing payment as RPC shows it. */
export interface PaymentResult {
  readonly payment_hash: string;
  readonly status: 'in_flight' | 'succeeded' | 'failed';
  readonly amount_msat: string;
  readonly fee_msat: string;
  readonly destination: string;
  readonly invoice?: string;
  readonly keysend: boolean;
  readonly created_at_ms: number;
  readonly payment_index: number;
  readonly resolved_at_ms?: number;
  /** Once succeeded: the proof of payment. */
  readonly preimage?: string;
  readonly failure_reason?: string;
  readonly attempts: readonly PaymentAttemptResult[];
}

export interface PaymentsApi {
  newInvoice(params: NewInvoiceParams): Promise<InvoiceResult>;
  /** INVOICE_INVALID and friends for a bad string. */
  parseInvoice(params: { readonly invoice: string }): Promise<ParsedInvoiceResult>;
  getInvoice(params: { readonly payment_hash: string }): Promise<InvoiceResult>;
  cancelInvoice(params: { readonly payment_hash: string }): Promise<InvoiceResult>;
  listInvoices(params: { readonly after_index?: number; readonly limit?: number; readonly state?: InvoiceResult['state'] }): Promise<readonly InvoiceResult[]>;
  sendPayment(params: SendPaymentParams): Promise<PaymentResult>;
  getPayment(params: { readonly payment_hash: string }): Promise<PaymentResult>;
  listPayments(params: { readonly after_index?: number; readonly limit?: number }): Promise<readonly PaymentResult[]>;
}
