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
export interface NodeApi {
  nodeInfo(): Promise<NodeInfoResult>;
  /** Connects (or returns the existing connection); resolves when the peer is online. */
  connectPeer(params: { readonly peer_id: string; readonly address: string }): Promise<PeerResult>;
  /** PEER_NOT_CONNECTED if not online. */
  disconnectPeer(params: { readonly peer_id: string }): Promise<void>;
  listPeers(): Promise<readonly PeerResult[]>;
  openChannel(params: OpenChannelParams): Promise<OpenChannelResult>;
  listChannels(params: { readonly peer_id?: string; readonly include_closed?: boolean }): Promise<readonly ChannelResult[]>;
  newAddress(): Promise<{ readonly address: string }>;
  walletBalance(): Promise<WalletBalanceResult>;
}
