/**
 * The relational schema of the SQL backends (SQLite and PostgreSQL): Kysely table types and
 * table-name constants.
 *
 * Layout. A channel is one row of `channels`, keyed by an integer surrogate `id` so that the
 * rows hanging off it (commitments, HTLCs, log updates, revocation blocks) stay small. Queryable
 * fields are columns; nested opaque values (package filters, circuit keys, revocation-log
 * HTLC entries) are bytes encoded with `codec/` record
 * schemas (see records.ts). Column types are dialect-neutral in TypeScript:
 * - integers are `Int` (`bigint | number`): PostgreSQL INT8 columns come back as bigint (the
 *   pool parses OID 20 as BigInt), SQLite columns as bigint (better-sqlite3 safe integers);
 *   columns.ts converts them to the domain's number or bigint, exactly;
 * - u32 and wider values are BIGINT (PostgreSQL INTEGER is signed 32-bit), u16 and smaller
 *   are INTEGER, booleans and small enums are SMALLINT 0/1/...;
 * - a short channel id is a u64 stored as its two's-complement INT8 (aliases exceed 2^63);
 * - amounts are INT8 and must be below 2^63 (RangeError otherwise);
 * - byte strings are BLOB / BYTEA; hex identifiers are stored as their bytes.
 *
 * Close is a tombstone: the channel row stays (closed = 1, purge_pending = 1) so its channel
 * point and id remain taken, and the rows of its bulk tables are purged later in bounded
 * batches. Migrations (migrations.ts) freeze the DDL; this file describes the latest shape.

Integrity: rows of the money-critical tables (commitments, htlcs, revocation_blocks,
revocation_states and its open block, revocation_secrets) carry a CRC32 checksum of their
other columns, verified on every read (checksums.ts).
 */
import type { ColumnType, Generated } from 'kysely';

/** An integer column: bigint from either driver when read, number or bigint when written. */
export type Int = ColumnType<bigint | number, bigint | number, bigint | number>;
/** A nullable integer column. */
export type NullableInt = ColumnType<bigint | number | null, bigint | number | null | undefined, bigint | number | null>;
/** A byte-string column (BLOB / BYTEA): Buffer when read, any Uint8Array when written. */
export type Bytes = ColumnType<Uint8Array, Uint8Array, Uint8Array>;
/** A nullable byte-string column. */
export type NullableBytes = ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;
/**
 * A row checksum (checksums.ts): nullable in the DDL, because migration 2 added it to tables
 * that already had rows, but always written, and NULL when read is DB_CORRUPT.
 */
export type Checksum = ColumnType<bigint | number | null, bigint | number, bigint | number>;

/** chand_migrations: one row per applied migration; the highest version is the schema version. */
export const MIGRATIONS_TABLE = 'chand_migrations';
/** channels -> id: one row per channel ever written (closed ones stay as tombstones). */
export const CHANNELS = 'channels';
/** channels.id -> channel_configs (side 0 local, 1 remote, 2 the close summary's local config). */
export const CHANNEL_CONFIGS = 'channel_configs';
/** channels.id -> commitments (party 0 local, 1 remote, 2 remote chain tip). */
export const COMMITMENTS = 'commitments';
/** channels.id -> commitments.party -> htlcs (seq = position in the commitment's list). */
export const HTLCS = 'htlcs';
/** channels.id -> log_updates (kind 0 unsigned acked, 1 remote unsigned local, 2 chain tip's updates). */
export const LOG_UPDATES = 'log_updates';
/** channels.id -> commit_diffs: the rest of the remote chain tip (its commitment is party 2). */
export const COMMIT_DIFFS = 'commit_diffs';
/** channels.id -> revocation_states: the remote's current and next per-commitment points. */
export const REVOCATION_STATES = 'revocation_states';
/** channels.id -> revocation_secrets (seq = position): the compact store of revealed remote secrets. */
export const REVOCATION_SECRETS = 'revocation_secrets';
/**
 * channels.id -> revocation_blocks -> first_height: the revoked remote states in sealed
 * blocks of consecutive heights (chanstate/revocation-blocks.ts); the newest states are in
 * the channel's open block, revocation_states.open_log_block.
 */
export const REVOCATION_BLOCKS = 'revocation_blocks';
/** fwd_pkgs -> (source scid, height): forwarding packages with their filters. */
export const FWD_PKGS = 'fwd_pkgs';
/** fwd_pkgs -> fwd_pkg_updates (kind 0 add, 1 settle/fail; seq = position). */
export const FWD_PKG_UPDATES = 'fwd_pkg_updates';
/** channels.id -> closed_channels: the close summary. */
export const CLOSED_CHANNELS = 'closed_channels';
/** channels.id -> historical_channels: commitments and revocation state as archived at close. */
export const HISTORICAL_CHANNELS = 'historical_channels';
/** final_htlcs -> (scid, htlc_index): final outcomes, independent of channel lifecycle. */
export const FINAL_HTLCS = 'final_htlcs';
/** opening_states -> (txid, output_index): funding-manager progress (channel need not exist). */
export const OPENING_STATES = 'opening_states';
/** initial_forwarding_policies -> wire_channel_id (BOLT 2 channel id). */
export const INITIAL_FORWARDING_POLICIES = 'initial_forwarding_policies';
/** channels.id -> external_fundings: PSBT funding state until markOpen or close. */
export const EXTERNAL_FUNDINGS = 'external_fundings';
/** chand_counters -> name: persisted allocators ('channel_key_index': the next channel key index). */
export const COUNTERS = 'chand_counters';
/** The chand_counters row of the channel key-index allocator. */
export const KEY_INDEX_COUNTER = 'channel_key_index';
/** link_nodes -> pubkey. */
export const LINK_NODES = 'link_nodes';
/** link_nodes.pubkey -> link_node_addresses (seq = position). */
export const LINK_NODE_ADDRESSES = 'link_node_addresses';

/**
 * invoices -> payment_hash: invoices we issued; add_index unique (list order), settle_index
 * unique once settled (NULL before), an index on (state, add_index) for filtered lists.
 */
export const INVOICES = 'invoices';
/**
 * payments -> payment_hash: outgoing payments; payment_index unique (list order), a partial
 * index on payment_index of the in-flight ones (status 0) for the start-up hydrate.
 */
export const PAYMENTS = 'payments';
/** payments.payment_hash -> payment_attempts -> attempt_id: the HTLCs sent for a payment. */
export const PAYMENT_ATTEMPTS = 'payment_attempts';

/** channel_configs.side values. */
export const ConfigSide = { Local: 0, Remote: 1, CloseSummary: 2 } as const;
/** commitments.party values. */
export const Party = { Local: 0, Remote: 1, RemoteTip: 2 } as const;
/** log_updates.kind values. */
export const UpdateList = { UnsignedAcked: 0, RemoteUnsignedLocal: 1, RemoteTip: 2 } as const;
/** fwd_pkg_updates.kind values. */
export const PkgUpdateKind = { Add: 0, SettleFail: 1 } as const;

/** A row of chand_migrations. */
export interface MigrationsTable {
  version: Int;
  description: string;
  applied_at_ms: Int;
}

/** A row of channels (see the module comment for the column conventions). */
export interface ChannelsTable {
  id: Generated<bigint | number>;
  /** Funding txid bytes in display order (so ORDER BY txid, output_index = channel-point order). */
  txid: Bytes;
  output_index: Int;
  /** BOLT 2 channel id (32 bytes), unique. */
  wire_channel_id: Bytes;
  node_pub: Bytes;
  chain_hash: Bytes;
  short_channel_id: Int;
  real_scid: NullableInt;
  chan_type: Int;
  is_pending: Int;
  is_initiator: Int;
  status: Int;
  funding_broadcast_height: Int;
  confirmation_height: Int;
  close_confirmation_height: NullableInt;
  num_confs_required: Int;
  channel_flags: Int;
  capacity_sat: Int;
  total_msat_sent: Int;
  total_msat_received: Int;
  initial_local_balance_msat: Int;
  initial_remote_balance_msat: Int;
  revocation_key_family: Int;
  revocation_key_index: Int;
  thaw_height: Int;
  funding_tx: NullableBytes;
  local_shutdown_script: NullableBytes;
  remote_shutdown_script: NullableBytes;
  memo: NullableBytes;
  last_was_revoke: Int;
  data_loss_commit_point: NullableBytes;
  shutdown_delivery_script: NullableBytes;
  /** 0 local, 1 remote; null when no shutdown info is stored. */
  shutdown_closer: NullableInt;
  commit_close_tx: NullableBytes;
  coop_close_tx: NullableBytes;
  /** 1 once closed: the row is then the historical record of the channel. */
  closed: Int;
  /** 1 while a closed channel still has bulk rows for purgeClosedChannels. */
  purge_pending: Int;
}

/** One side's channel parameters; a key's family/index are NULL when it has no locator. */
export interface ChannelConfigsTable {
  channel_id: Int;
  side: Int;
  chan_reserve_sat: Int;
  max_pending_amount_msat: Int;
  min_htlc_msat: Int;
  max_accepted_htlcs: Int;
  dust_limit_sat: Int;
  csv_delay: Int;
  multisig_key: Bytes;
  multisig_family: NullableInt;
  multisig_index: NullableInt;
  revocation_base_point: Bytes;
  revocation_family: NullableInt;
  revocation_index: NullableInt;
  payment_base_point: Bytes;
  payment_family: NullableInt;
  payment_index: NullableInt;
  delay_base_point: Bytes;
  delay_family: NullableInt;
  delay_index: NullableInt;
  htlc_base_point: Bytes;
  htlc_family: NullableInt;
  htlc_index: NullableInt;
}

/** A row of commitments: one party's commitment of a channel. */
export interface CommitmentsTable {
  channel_id: Int;
  party: Int;
  commit_height: Int;
  local_log_index: Int;
  local_htlc_index: Int;
  remote_log_index: Int;
  remote_htlc_index: Int;
  local_balance_msat: Int;
  remote_balance_msat: Int;
  commit_fee_sat: Int;
  fee_per_kw: Int;
  commit_tx: Bytes;
  commit_sig: Bytes;
  custom_blob: NullableBytes;
  /** The commitment's main output indexes (OUTPUT_INDEX_NONE when trimmed); NULL in rows written before schema 2. */
  local_output_index: NullableInt;
  remote_output_index: NullableInt;
  /** Row checksum (checksums.ts). */
  crc: Checksum;
}

/** A row of htlcs: one HTLC of a commitment, at position `seq`. */
export interface HtlcsTable {
  channel_id: Int;
  party: Int;
  seq: Int;
  htlc_index: Int;
  log_index: Int;
  payment_hash: Bytes;
  amount_msat: Int;
  refund_timeout: Int;
  output_index: Int;
  incoming: Int;
  signature: Bytes;
  onion_blob: Bytes;
  extra_data: NullableBytes;
  /** Row checksum (checksums.ts). */
  crc: Checksum;
}

/** A row of log_updates: one update of a list, at position `seq`. */
export interface LogUpdatesTable {
  channel_id: Int;
  kind: Int;
  seq: Int;
  log_index: Int;
  message: Bytes;
}

/** A row of commit_diffs: what the chain tip needs besides its commitment. */
export interface CommitDiffsTable {
  channel_id: Int;
  /** The serialized commitment_signed message. */
  commit_sig: Bytes;
  /** CircuitKeyList record. */
  opened_circuit_keys: Bytes;
  /** CircuitKeyList record. */
  closed_circuit_keys: Bytes;
}

/** A row of revocation_states. */
export interface RevocationStatesTable {
  channel_id: Int;
  current_point: NullableBytes;
  next_point: NullableBytes;
  /** Row checksum of the points (checksums.ts). */
  crc: Checksum;
  /** The channel's open revocation block (chanstate/revocation-blocks.ts); null while its log is empty. */
  open_log_block: NullableBytes;
  /** Checksum of the open block (checksums.ts, `revocation_open_blocks`); null with it. */
  open_log_block_crc: NullableInt;
}

/** A row of revocation_secrets: one bucket of the compact shachain store. */
export interface RevocationSecretsTable {
  channel_id: Int;
  seq: Int;
  /** The secret's 48-bit commitment index (a u64, two's complement as INT8). */
  secret_index: Int;
  secret: Bytes;
  /** Row checksum (checksums.ts). */
  crc: Checksum;
}

/** A row of revocation_blocks: a sealed block of revoked states. */
export interface RevocationBlocksTable {
  channel_id: Int;
  /** Height of the block's first state. */
  first_height: Int;
  /** How many states the block holds. */
  state_count: Int;
  /** RevocationBlock record, sealed form (chanstate/revocation-blocks.ts). */
  block: Bytes;
  /** Row checksum (checksums.ts). */
  crc: Checksum;
}

/** A row of fwd_pkgs: one forwarding package. */
export interface FwdPkgsTable {
  source: Int;
  height: Int;
  state: Int;
  /** PkgFilter record. */
  ack_filter: Bytes;
  /** PkgFilter record. */
  settle_fail_filter: Bytes;
  /** PkgFilter record; null until setFwdFilter. */
  fwd_filter: NullableBytes;
}

/** A row of fwd_pkg_updates: one add or settle/fail of a package, at position `seq`. */
export interface FwdPkgUpdatesTable {
  source: Int;
  height: Int;
  kind: Int;
  seq: Int;
  log_index: Int;
  message: Bytes;
}

/** A row of closed_channels: a close summary (its channel point is the channel row's). */
export interface ClosedChannelsTable {
  channel_id: Int;
  short_channel_id: Int;
  chain_hash: Bytes;
  closing_txid: Bytes;
  remote_pub: Bytes;
  capacity_sat: Int;
  close_height: Int;
  settled_balance_sat: Int;
  time_locked_balance_sat: Int;
  close_type: Int;
  is_pending: Int;
  remote_current_revocation: NullableBytes;
  remote_next_revocation: NullableBytes;
  last_chan_sync_msg: NullableBytes;
}

/** A row of historical_channels: what closeChannel archived besides the frozen channel row. */
export interface HistoricalChannelsTable {
  channel_id: Int;
  /** ChannelCommitment record. */
  local_commitment: Bytes;
  /** ChannelCommitment record. */
  remote_commitment: Bytes;
  /** RemoteRevocationState record. */
  remote_revocation: Bytes;
  last_was_revoke: Int;
}

/** A row of final_htlcs. */
export interface FinalHtlcsTable {
  short_channel_id: Int;
  htlc_index: Int;
  settled: Int;
  offchain: Int;
}

/** A row of opening_states. */
export interface OpeningStatesTable {
  txid: Bytes;
  output_index: Int;
  stage: Int;
  short_channel_id: Int;
}

/** A row of initial_forwarding_policies. */
export interface InitialForwardingPoliciesTable {
  wire_channel_id: Bytes;
  min_htlc_msat: Int;
  max_htlc_msat: Int;
  base_fee_msat: Int;
  fee_rate_ppm: Int;
  time_lock_delta: Int;
}

/** A row of external_fundings. */
export interface ExternalFundingsTable {
  channel_id: Int;
  unsigned_psbt: Bytes;
  deadline_ms: Int;
  submitted: Int;
  signed_tx: NullableBytes;
}

/** A row of link_nodes. */
export interface LinkNodesTable {
  pubkey: Bytes;
  network: string;
  last_seen_ms: Int;
}

/** A row of link_node_addresses: one address, at position `seq`. */
export interface LinkNodeAddressesTable {
  pubkey: Bytes;
  seq: Int;
  address: string;
}

/** A row of chand_counters: one persisted, monotonic counter. */
export interface CountersTable {
  name: string;
  value: Int;
}

/** A row of invoices (state: payments/records.ts INVOICE_STATES code). */
export interface InvoicesTable {
  payment_hash: Bytes;
  add_index: Int;
  settle_index: NullableInt;
  state: Int;
  preimage: Bytes;
  payment_secret: NullableBytes;
  amount_msat: NullableInt;
  description: string | null;
  description_hash: NullableBytes;
  created_at_ms: Int;
  expires_at_ms: Int;
  min_final_cltv_expiry_delta: Int;
  encoded: string;
  keysend: Int;
  settled_at_ms: Int;
  amount_paid_msat: Int;
  settled_channel_id: NullableBytes;
  settled_htlc_id: NullableInt;
}

/** A row of payments (status: payments/records.ts PAYMENT_STATUSES code). */
export interface PaymentsTable {
  payment_hash: Bytes;
  payment_index: Int;
  amount_msat: Int;
  destination: Bytes;
  invoice: string;
  keysend: Int;
  created_at_ms: Int;
  status: Int;
  preimage: NullableBytes;
  fee_msat: Int;
  failure_reason: string | null;
  resolved_at_ms: Int;
}

/** A row of payment_attempts (route: a payments/records.ts Route record). */
export interface PaymentAttemptsTable {
  payment_hash: Bytes;
  attempt_id: Int;
  channel_id: Bytes;
  htlc_id: Int;
  amount_msat: Int;
  route: Bytes;
  session_key: Bytes;
  started_at_ms: Int;
  status: Int;
  resolved_at_ms: Int;
  failure: string | null;
}

/** The Kysely database type of the latest schema. */
export interface Database {
  chand_migrations: MigrationsTable;
  channels: ChannelsTable;
  channel_configs: ChannelConfigsTable;
  commitments: CommitmentsTable;
  htlcs: HtlcsTable;
  log_updates: LogUpdatesTable;
  commit_diffs: CommitDiffsTable;
  revocation_states: RevocationStatesTable;
  revocation_secrets: RevocationSecretsTable;
  revocation_blocks: RevocationBlocksTable;
  fwd_pkgs: FwdPkgsTable;
  fwd_pkg_updates: FwdPkgUpdatesTable;
  closed_channels: ClosedChannelsTable;
  historical_channels: HistoricalChannelsTable;
  final_htlcs: FinalHtlcsTable;
  opening_states: OpeningStatesTable;
  initial_forwarding_policies: InitialForwardingPoliciesTable;
  external_fundings: ExternalFundingsTable;
  link_nodes: LinkNodesTable;
  link_node_addresses: LinkNodeAddressesTable;
  chand_counters: CountersTable;
  invoices: InvoicesTable;
  payments: PaymentsTable;
  payment_attempts: PaymentAttemptsTable;
}
