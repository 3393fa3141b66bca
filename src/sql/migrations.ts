/**
 * SQL migrations: an append-only, numbered list, shared by SQLite and PostgreSQL.
 *
 * Each migration builds its DDL with Kysely's schema builder from the dialect's DDL types
 * (bytes = BLOB or BYTEA, auto ids, WITHOUT ROWID), so one definition yields correct types
 * on both. Migrations are frozen: never edit or reorder a shipped entry; they name tables by
 * string literals, not by the live constants of schema.ts, and a migration that needs a
 * codec keeps its own frozen copy.
 *
 * The root (migrateSql) applies every pending migration and records each in
 * `chand_migrations` in ONE transaction: a crash leaves the old version, never half of a
 * new one. The transaction is `exclusive` (transactions.ts): on PostgreSQL it first takes an
 * advisory lock and runs at READ COMMITTED, so a second process starting at the same time
 * waits, then sees the committed version and has nothing to do. A database newer than
 * this code is refused with DB_REVERSION. A dry run does everything and rolls back.
 */
import { sql, type ColumnDefinitionBuilder, type CreateTableBuilder } from 'kysely';
import { ChandError, ErrorCode } from '../errors.js';
import { blockStateCount, RevocationLogPacker } from '../chanstate/revocation-blocks.js';
import { decodeSqlLogHtlcsV0 } from '../chanstate/revocation-log-v0.js';
import type { RevocationLogEntry } from '../chanstate/types.js';
import { bytesToHex } from '../codec/bytes.js';
import { crcOfValues, type CrcValue } from './checksums.js';
import type { SqlBackend, SqlCapabilities, SqlTx } from './transactions.js';

/** One migration step. */
export interface SqlMigration {
  /** The schema version this step produces. */
  readonly version: number;
  readonly description: string;
  migrate(tx: SqlTx, ddl: DdlTypes): Promise<void>;
}

/** The dialect facts DDL needs (a subset of the capabilities). */
export type DdlTypes = Pick<SqlCapabilities, 'bytesType' | 'withoutRowId' | 'autoIdColumn'>;

// biome-ignore lint: Kysely's builders are generic over the table being built.
type AnyTable = CreateTableBuilder<any, any>;
type Col = (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;

const notNull: Col = (c) => c.notNull();

/** Version 1: the initial relational schema (see schema.ts for what each table holds). */
async function initialSchema(tx: SqlTx, ddl: DdlTypes): Promise<void> {
  const bytes = sql.raw(ddl.bytesType);
  const clustered = (t: AnyTable): AnyTable => (ddl.withoutRowId ? t.modifyEnd(sql`without rowid`) : t);
  const channelRef: Col = (c) => c.notNull().references('channels.id');
  const table = (name: string) => tx.schema.createTable(name) as AnyTable;

  let channels = table('channels');
  channels =
    ddl.autoIdColumn === 'integer-primary-key'
      ? channels.addColumn('id', 'integer', (c) => c.primaryKey())
      : channels.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity());
  await channels
    .addColumn('txid', bytes, notNull)
    .addColumn('output_index', 'bigint', notNull)
    .addColumn('wire_channel_id', bytes, notNull)
    .addColumn('node_pub', bytes, notNull)
    .addColumn('chain_hash', bytes, notNull)
    .addColumn('short_channel_id', 'bigint', notNull)
    .addColumn('real_scid', 'bigint')
    .addColumn('chan_type', 'bigint', notNull)
    .addColumn('is_pending', 'smallint', notNull)
    .addColumn('is_initiator', 'smallint', notNull)
    .addColumn('status', 'bigint', notNull)
    .addColumn('funding_broadcast_height', 'bigint', notNull)
    .addColumn('confirmation_height', 'bigint', notNull)
    .addColumn('close_confirmation_height', 'bigint')
    .addColumn('num_confs_required', 'integer', notNull)
    .addColumn('channel_flags', 'integer', notNull)
    .addColumn('capacity_sat', 'bigint', notNull)
    .addColumn('total_msat_sent', 'bigint', notNull)
    .addColumn('total_msat_received', 'bigint', notNull)
    .addColumn('initial_local_balance_msat', 'bigint', notNull)
    .addColumn('initial_remote_balance_msat', 'bigint', notNull)
    .addColumn('revocation_key_family', 'bigint', notNull)
    .addColumn('revocation_key_index', 'bigint', notNull)
    .addColumn('thaw_height', 'bigint', notNull)
    .addColumn('funding_tx', bytes)
    .addColumn('local_shutdown_script', bytes)
    .addColumn('remote_shutdown_script', bytes)
    .addColumn('memo', bytes)
    .addColumn('last_was_revoke', 'smallint', notNull)
    .addColumn('data_loss_commit_point', bytes)
    .addColumn('shutdown_delivery_script', bytes)
    .addColumn('shutdown_closer', 'smallint')
    .addColumn('commit_close_tx', bytes)
    .addColumn('coop_close_tx', bytes)
    .addColumn('closed', 'smallint', notNull)
    .addColumn('purge_pending', 'smallint', notNull)
    .addUniqueConstraint('channels_chan_point_key', ['txid', 'output_index'])
    .addUniqueConstraint('channels_wire_channel_id_key', ['wire_channel_id'])
    .execute();
  await tx.schema.createIndex('channels_node_pub_idx').on('channels').columns(['node_pub', 'closed']).execute();
  await tx.schema.createIndex('channels_purge_idx').on('channels').column('purge_pending').where(sql.ref('purge_pending'), '=', 1).execute();

  // Both sides' parameters (and the one a close summary names), as columns: the keys are
  // identifiers and the limits queryable, and loading thousands of channels decodes no blob.
  let configs = table('channel_configs')
    .addColumn('channel_id', 'bigint', channelRef)
    .addColumn('side', 'smallint', notNull)
    .addColumn('chan_reserve_sat', 'bigint', notNull)
    .addColumn('max_pending_amount_msat', 'bigint', notNull)
    .addColumn('min_htlc_msat', 'bigint', notNull)
    .addColumn('max_accepted_htlcs', 'integer', notNull)
    .addColumn('dust_limit_sat', 'bigint', notNull)
    .addColumn('csv_delay', 'integer', notNull);
  for (const [key, prefix] of [
    ['multisig_key', 'multisig'],
    ['revocation_base_point', 'revocation'],
    ['payment_base_point', 'payment'],
    ['delay_base_point', 'delay'],
    ['htlc_base_point', 'htlc'],
  ] as const) {
    configs = configs.addColumn(key, bytes, notNull).addColumn(`${prefix}_family`, 'bigint').addColumn(`${prefix}_index`, 'bigint');
  }
  await clustered(configs.addPrimaryKeyConstraint('channel_configs_pkey', ['channel_id', 'side'])).execute();

  await clustered(
    table('commitments')
      .addColumn('channel_id', 'bigint', channelRef)
      .addColumn('party', 'smallint', notNull)
      .addColumn('commit_height', 'bigint', notNull)
      .addColumn('local_log_index', 'bigint', notNull)
      .addColumn('local_htlc_index', 'bigint', notNull)
      .addColumn('remote_log_index', 'bigint', notNull)
      .addColumn('remote_htlc_index', 'bigint', notNull)
      .addColumn('local_balance_msat', 'bigint', notNull)
      .addColumn('remote_balance_msat', 'bigint', notNull)
      .addColumn('commit_fee_sat', 'bigint', notNull)
      .addColumn('fee_per_kw', 'bigint', notNull)
      .addColumn('commit_tx', bytes, notNull)
      .addColumn('commit_sig', bytes, notNull)
      .addColumn('custom_blob', bytes)
      .addPrimaryKeyConstraint('commitments_pkey', ['channel_id', 'party']),
  ).execute();

  // HTLC rows carry a 1366-byte onion: a plain (rowid) table keeps them out of the key b-tree.
  await table('htlcs')
    .addColumn('channel_id', 'bigint', channelRef)
    .addColumn('party', 'smallint', notNull)
    .addColumn('seq', 'integer', notNull)
    .addColumn('htlc_index', 'bigint', notNull)
    .addColumn('log_index', 'bigint', notNull)
    .addColumn('payment_hash', bytes, notNull)
    .addColumn('amount_msat', 'bigint', notNull)
    .addColumn('refund_timeout', 'bigint', notNull)
    .addColumn('output_index', 'integer', notNull)
    .addColumn('incoming', 'smallint', notNull)
    .addColumn('signature', bytes, notNull)
    .addColumn('onion_blob', bytes, notNull)
    .addColumn('extra_data', bytes)
    .addPrimaryKeyConstraint('htlcs_pkey', ['channel_id', 'party', 'seq'])
    .execute();

  await table('log_updates')
    .addColumn('channel_id', 'bigint', channelRef)
    .addColumn('kind', 'smallint', notNull)
    .addColumn('seq', 'integer', notNull)
    .addColumn('log_index', 'bigint', notNull)
    .addColumn('message', bytes, notNull)
    .addPrimaryKeyConstraint('log_updates_pkey', ['channel_id', 'kind', 'seq'])
    .execute();

  await table('commit_diffs')
    .addColumn('channel_id', 'bigint', (c) => c.primaryKey().references('channels.id'))
    .addColumn('commit_sig', bytes, notNull)
    .addColumn('opened_circuit_keys', bytes, notNull)
    .addColumn('closed_circuit_keys', bytes, notNull)
    .execute();

  await table('revocation_states')
    .addColumn('channel_id', 'bigint', (c) => c.primaryKey().references('channels.id'))
    .addColumn('current_point', bytes)
    .addColumn('next_point', bytes)
    .execute();

  // One row per revealed secret (at most 49 per channel): a revocation appends one row
  // instead of rewriting the whole store.
  await clustered(
    table('revocation_secrets')
      .addColumn('channel_id', 'bigint', channelRef)
      .addColumn('seq', 'integer', notNull)
      .addColumn('secret_index', 'bigint', notNull)
      .addColumn('secret', bytes, notNull)
      .addPrimaryKeyConstraint('revocation_secrets_pkey', ['channel_id', 'seq']),
  ).execute();

  // One small row per revoked state, clustered by (channel, height): the dominant table.
  await clustered(
    table('revocation_log')
      .addColumn('channel_id', 'bigint', channelRef)
      .addColumn('commit_height', 'bigint', notNull)
      .addColumn('our_output_index', 'bigint', notNull)
      .addColumn('their_output_index', 'bigint', notNull)
      .addColumn('commit_txid', bytes, notNull)
      .addColumn('our_balance_msat', 'bigint')
      .addColumn('their_balance_msat', 'bigint')
      .addColumn('htlcs', bytes)
      .addPrimaryKeyConstraint('revocation_log_pkey', ['channel_id', 'commit_height']),
  ).execute();

  // Keyed by the source short channel id (as lnd's packager): acks name packages by scid.
  await clustered(
    table('fwd_pkgs')
      .addColumn('source', 'bigint', notNull)
      .addColumn('height', 'bigint', notNull)
      .addColumn('state', 'smallint', notNull)
      .addColumn('ack_filter', bytes, notNull)
      .addColumn('settle_fail_filter', bytes, notNull)
      .addColumn('fwd_filter', bytes)
      .addPrimaryKeyConstraint('fwd_pkgs_pkey', ['source', 'height']),
  ).execute();

  await table('fwd_pkg_updates')
    .addColumn('source', 'bigint', notNull)
    .addColumn('height', 'bigint', notNull)
    .addColumn('kind', 'smallint', notNull)
    .addColumn('seq', 'integer', notNull)
    .addColumn('log_index', 'bigint', notNull)
    .addColumn('message', bytes, notNull)
    .addPrimaryKeyConstraint('fwd_pkg_updates_pkey', ['source', 'height', 'kind', 'seq'])
    .execute();

  await table('closed_channels')
    .addColumn('channel_id', 'bigint', (c) => c.primaryKey().references('channels.id'))
    .addColumn('short_channel_id', 'bigint', notNull)
    .addColumn('chain_hash', bytes, notNull)
    .addColumn('closing_txid', bytes, notNull)
    .addColumn('remote_pub', bytes, notNull)
    .addColumn('capacity_sat', 'bigint', notNull)
    .addColumn('close_height', 'bigint', notNull)
    .addColumn('settled_balance_sat', 'bigint', notNull)
    .addColumn('time_locked_balance_sat', 'bigint', notNull)
    .addColumn('close_type', 'smallint', notNull)
    .addColumn('is_pending', 'smallint', notNull)
    .addColumn('remote_current_revocation', bytes)
    .addColumn('remote_next_revocation', bytes)
    .addColumn('last_chan_sync_msg', bytes)
    .execute();

  await table('historical_channels')
    .addColumn('channel_id', 'bigint', (c) => c.primaryKey().references('channels.id'))
    .addColumn('local_commitment', bytes, notNull)
    .addColumn('remote_commitment', bytes, notNull)
    .addColumn('remote_revocation', bytes, notNull)
    .addColumn('last_was_revoke', 'smallint', notNull)
    .execute();

  await clustered(
    table('final_htlcs')
      .addColumn('short_channel_id', 'bigint', notNull)
      .addColumn('htlc_index', 'bigint', notNull)
      .addColumn('settled', 'smallint', notNull)
      .addColumn('offchain', 'smallint', notNull)
      .addPrimaryKeyConstraint('final_htlcs_pkey', ['short_channel_id', 'htlc_index']),
  ).execute();

  await table('opening_states')
    .addColumn('txid', bytes, notNull)
    .addColumn('output_index', 'bigint', notNull)
    .addColumn('stage', 'smallint', notNull)
    .addColumn('short_channel_id', 'bigint', notNull)
    .addPrimaryKeyConstraint('opening_states_pkey', ['txid', 'output_index'])
    .execute();

  await table('initial_forwarding_policies')
    .addColumn('wire_channel_id', bytes, (c) => c.primaryKey())
    .addColumn('min_htlc_msat', 'bigint', notNull)
    .addColumn('max_htlc_msat', 'bigint', notNull)
    .addColumn('base_fee_msat', 'bigint', notNull)
    .addColumn('fee_rate_ppm', 'bigint', notNull)
    .addColumn('time_lock_delta', 'integer', notNull)
    .execute();

  await table('external_fundings')
    .addColumn('channel_id', 'bigint', (c) => c.primaryKey().references('channels.id'))
    .addColumn('unsigned_psbt', bytes, notNull)
    .addColumn('deadline_ms', 'bigint', notNull)
    .addColumn('submitted', 'smallint', notNull)
    .addColumn('signed_tx', bytes)
    .execute();

  await table('link_nodes')
    .addColumn('pubkey', bytes, (c) => c.primaryKey())
    .addColumn('network', 'text', notNull)
    .addColumn('last_seen_ms', 'bigint', notNull)
    .execute();

  await table('link_node_addresses')
    .addColumn('pubkey', bytes, (c) => c.notNull().references('link_nodes.pubkey').onDelete('cascade'))
    .addColumn('seq', 'integer', notNull)
    .addColumn('address', 'text', notNull)
    .addPrimaryKeyConstraint('link_node_addresses_pkey', ['pubkey', 'seq'])
    .execute();
}

/**
 * Version 2 (issue 16, storage hardening):
 * - commitments.local_output_index / remote_output_index: the main output indexes stored
 *   with every commitment, so revoking a remote commitment after a restart needs nothing
 *   rebuilt. Old rows keep NULL (their log entries then say OUTPUT_INDEX_NONE).
 * - a `crc` row checksum on commitments, htlcs, revocation_log, revocation_states and
 *   revocation_secrets (checksums.ts), computed here for every existing row, so
 *   corruption of stored money data reads as DB_CORRUPT.
 * - chand_counters with the channel key-index allocator, started past every key index
 *   already used (open or closed channels), so no index is handed out twice.
 * - a unique index on channels.revocation_key_index: the backstop of the store's
 *   CHANNEL_KEY_INDEX_REUSED check.
 * Frozen: the checksum column orders below are this migration's own copy.
 */
async function hardening(tx: SqlTx): Promise<void> {
  for (const column of ['local_output_index', 'remote_output_index', 'crc']) {
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await tx.schema.alterTable('commitments').addColumn(column, 'integer').execute();
  }
  for (const table of ['htlcs', 'revocation_log', 'revocation_states', 'revocation_secrets']) {
    await tx.schema.alterTable(table).addColumn('crc', 'integer').execute();
  }

  const tables: ReadonlyArray<{ table: string; keys: readonly string[]; covered: readonly string[] }> = [
    {
      table: 'commitments',
      keys: ['channel_id', 'party'],
      covered: [
        'channel_id',
        'commit_height',
        'local_log_index',
        'local_htlc_index',
        'remote_log_index',
        'remote_htlc_index',
        'local_balance_msat',
        'remote_balance_msat',
        'commit_fee_sat',
        'fee_per_kw',
        'commit_tx',
        'commit_sig',
        'custom_blob',
        'local_output_index',
        'remote_output_index',
      ],
    },
    {
      table: 'htlcs',
      keys: ['channel_id', 'party', 'seq'],
      covered: ['channel_id', 'seq', 'htlc_index', 'log_index', 'payment_hash', 'amount_msat', 'refund_timeout', 'output_index', 'incoming', 'signature', 'onion_blob', 'extra_data'],
    },
    {
      table: 'revocation_log',
      keys: ['channel_id', 'commit_height'],
      covered: ['channel_id', 'commit_height', 'our_output_index', 'their_output_index', 'commit_txid', 'our_balance_msat', 'their_balance_msat', 'htlcs'],
    },
    { table: 'revocation_states', keys: ['channel_id'], covered: ['channel_id', 'current_point', 'next_point'] },
    { table: 'revocation_secrets', keys: ['channel_id', 'seq'], covered: ['channel_id', 'seq', 'secret_index', 'secret'] },
  ];
  for (const { table, keys, covered } of tables) {
    const keyList = sql.join(keys.map((k) => sql.ref(k)));
    // Keyset batches: bounded memory however many revoked states the database holds.
    let last: Record<string, unknown> | undefined;
    for (;;) {
      const after = last === undefined ? sql`` : sql`where (${keyList}) > (${sql.join(keys.map((k) => last![k]))})`;
      const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)} ${after} order by ${keyList} limit 500`.execute(tx)).rows;
      for (const row of rows) {
        const crc = crcOfValues(covered.map((c) => row[c] as CrcValue));
        await sql`update ${sql.table(table)} set crc = ${crc} where ${sql.join(
          keys.map((k) => sql`${sql.ref(k)} = ${row[k]}`),
          sql` and `,
        )}`.execute(tx);
      }
      if (rows.length < 500) break;
      last = rows[rows.length - 1];
    }
  }

  await tx.schema
    .createTable('chand_counters')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', notNull)
    .execute();
  await sql`insert into chand_counters (name, value) select 'channel_key_index', coalesce(max(revocation_key_index) + 1, 0) from channels`.execute(tx);
  await tx.schema.createIndex('channels_revocation_key_index_key').unique().on('channels').column('revocation_key_index').execute();
}

/**
 * Version 3 (issue 12, store performance): the compact revocation log.
 * - revocation_blocks: the revoked states of each channel in sealed blocks of consecutive
 *   heights (chanstate/revocation-blocks.ts format 1), keyed by their first height, with
 *   their state count and a row checksum;
 * - revocation_states.open_log_block: each channel's open (newest) block, with its own
 *   checksum open_log_block_crc (the points' checksum stays as it was);
 * - every revocation_log row moves into them (its checksum verified first: DB_CORRUPT rather
 *   than carrying damage over), and revocation_log is dropped.
 * Frozen: the column lists, the checksums' column orders and the block size are this
 * migration's own copies.
 */
async function compactRevocationLog(tx: SqlTx, ddl: DdlTypes): Promise<void> {
  const bytes = sql.raw(ddl.bytesType);
  const clustered = (t: AnyTable): AnyTable => (ddl.withoutRowId ? t.modifyEnd(sql`without rowid`) : t);
  await clustered(
    (tx.schema.createTable('revocation_blocks') as AnyTable)
      .addColumn('channel_id', 'bigint', (c) => c.notNull().references('channels.id'))
      .addColumn('first_height', 'bigint', notNull)
      .addColumn('state_count', 'integer', notNull)
      .addColumn('block', bytes, notNull)
      .addColumn('crc', 'integer')
      .addPrimaryKeyConstraint('revocation_blocks_pkey', ['channel_id', 'first_height']),
  ).execute();
  await tx.schema.alterTable('revocation_states').addColumn('open_log_block', bytes).execute();
  await tx.schema.alterTable('revocation_states').addColumn('open_log_block_crc', 'integer').execute();

  // The SQL block size when this migration was written (commitments.ts SQL_BLOCK_LIMIT then).
  const BLOCK_LIMIT = 4540;
  const LOG_COLUMNS = ['channel_id', 'commit_height', 'our_output_index', 'their_output_index', 'commit_txid', 'our_balance_msat', 'their_balance_msat', 'htlcs'];
  let channel: number | undefined;
  let packer: RevocationLogPacker | undefined;
  const finish = async () => {
    const open = packer?.finish();
    if (channel === undefined || open === undefined) return;
    const crc = crcOfValues([channel, open]);
    const updated = await sql`update revocation_states set open_log_block = ${open}, open_log_block_crc = ${crc} where channel_id = ${channel}`.execute(tx);
    if (Number(updated.numAffectedRows ?? 0n) === 0) {
      await sql`insert into revocation_states (channel_id, current_point, next_point, crc, open_log_block, open_log_block_crc) values (${channel}, null, null, ${crcOfValues([channel, null, null])}, ${open}, ${crc})`.execute(tx);
    }
  };
  // Keyset batches in (channel, height) order: bounded memory however long the logs are.
  let last: { channel: unknown; height: unknown } | undefined;
  for (;;) {
    const after = last === undefined ? sql`` : sql`where (channel_id, commit_height) > (${last.channel}, ${last.height})`;
    const rows = (await sql<Record<string, unknown>>`select * from revocation_log ${after} order by channel_id, commit_height limit 500`.execute(tx)).rows;
    for (const row of rows) {
      if (row['crc'] === null || row['crc'] === undefined || Number(row['crc']) !== crcOfValues(LOG_COLUMNS.map((c) => row[c] as CrcValue))) {
        throw new ChandError(ErrorCode.DB_CORRUPT, `migration 3: revocation_log row ${row['channel_id']}/${row['commit_height']} does not match its checksum`);
      }
      const id = Number(row['channel_id']);
      if (id !== channel) {
        await finish();
        channel = id;
        packer = new RevocationLogPacker(BLOCK_LIMIT);
      }
      const ours = row['our_balance_msat'];
      const theirs = row['their_balance_msat'];
      const txid = row['commit_txid'] as Uint8Array;
      const entry: RevocationLogEntry = {
        commitHeight: Number(row['commit_height']),
        ourOutputIndex: Number(row['our_output_index']),
        theirOutputIndex: Number(row['their_output_index']),
        commitTxid: bytesToHex(txid),
        ...(ours === null ? {} : { ourBalanceMsat: BigInt(ours as bigint) }),
        ...(theirs === null ? {} : { theirBalanceMsat: BigInt(theirs as bigint) }),
        htlcs: decodeSqlLogHtlcsV0(row['htlcs'] as Uint8Array | null),
      };
      for (const block of packer!.add(entry)) {
        const crc = crcOfValues([id, block.firstHeight, blockStateCount(block.bytes), block.bytes]);
        await sql`insert into revocation_blocks (channel_id, first_height, state_count, block, crc) values (${id}, ${block.firstHeight}, ${blockStateCount(block.bytes)}, ${block.bytes}, ${crc})`.execute(tx);
      }
    }
    if (rows.length < 500) break;
    last = { channel: rows[rows.length - 1]!['channel_id'], height: rows[rows.length - 1]!['commit_height'] };
  }
  await finish();
  await tx.schema.dropTable('revocation_log').execute();
}

/**
 * Version 4 (payment stores): invoices, payments and payment_attempts (schema.ts). Amounts
 * and indexes are BIGINT like the channel tables; identifiers are their bytes; an
 * attempt's route is one byte column (a payments/records.ts Route record). New tables only:
 * no existing row changes.
 */
async function paymentStores(tx: SqlTx, ddl: DdlTypes): Promise<void> {
  const bytes = sql.raw(ddl.bytesType);
  const clustered = (t: AnyTable): AnyTable => (ddl.withoutRowId ? t.modifyEnd(sql`without rowid`) : t);
  const table = (name: string) => tx.schema.createTable(name) as AnyTable;

  await table('invoices')
    .addColumn('payment_hash', bytes, (c) => c.primaryKey())
    .addColumn('add_index', 'bigint', notNull)
    .addColumn('settle_index', 'bigint')
    .addColumn('state', 'smallint', notNull)
    .addColumn('preimage', bytes, notNull)
    .addColumn('payment_secret', bytes)
    .addColumn('amount_msat', 'bigint')
    .addColumn('description', 'text')
    .addColumn('description_hash', bytes)
    .addColumn('created_at_ms', 'bigint', notNull)
    .addColumn('expires_at_ms', 'bigint', notNull)
    .addColumn('min_final_cltv_expiry_delta', 'bigint', notNull)
    .addColumn('encoded', 'text', notNull)
    .addColumn('keysend', 'smallint', notNull)
    .addColumn('settled_at_ms', 'bigint', notNull)
    .addColumn('amount_paid_msat', 'bigint', notNull)
    .addColumn('settled_channel_id', bytes)
    .addColumn('settled_htlc_id', 'bigint')
    .addUniqueConstraint('invoices_add_index_key', ['add_index'])
    .addUniqueConstraint('invoices_settle_index_key', ['settle_index'])
    .execute();
  await tx.schema.createIndex('invoices_state_idx').on('invoices').columns(['state', 'add_index']).execute();

  await table('payments')
    .addColumn('payment_hash', bytes, (c) => c.primaryKey())
    .addColumn('payment_index', 'bigint', notNull)
    .addColumn('amount_msat', 'bigint', notNull)
    .addColumn('destination', bytes, notNull)
    .addColumn('invoice', 'text', notNull)
    .addColumn('keysend', 'smallint', notNull)
    .addColumn('created_at_ms', 'bigint', notNull)
    .addColumn('status', 'smallint', notNull)
    .addColumn('preimage', bytes)
    .addColumn('fee_msat', 'bigint', notNull)
    .addColumn('failure_reason', 'text')
    .addColumn('resolved_at_ms', 'bigint', notNull)
    .addUniqueConstraint('payments_payment_index_key', ['payment_index'])
    .execute();
  // Only in-flight payments (status 0) are indexed: the start-up hydrate reads them without a scan.
  await tx.schema.createIndex('payments_in_flight_idx').on('payments').column('payment_index').where(sql.ref('status'), '=', 0).execute();

  await clustered(
    table('payment_attempts')
      .addColumn('payment_hash', bytes, (c) => c.notNull().references('payments.payment_hash'))
      .addColumn('attempt_id', 'bigint', notNull)
      .addColumn('channel_id', bytes, notNull)
      .addColumn('htlc_id', 'bigint', notNull)
      .addColumn('amount_msat', 'bigint', notNull)
      .addColumn('route', bytes, notNull)
      .addColumn('session_key', bytes, notNull)
      .addColumn('started_at_ms', 'bigint', notNull)
      .addColumn('status', 'smallint', notNull)
      .addColumn('resolved_at_ms', 'bigint', notNull)
      .addColumn('failure', 'text')
      .addPrimaryKeyConstraint('payment_attempts_pkey', ['payment_hash', 'attempt_id']),
  ).execute();
}

/** The migration list. Append only. */
export const SQL_MIGRATIONS: readonly SqlMigration[] = [
  {
    version: 1,
    description:
      'initial relational schema: channels, channel configs, commitments, htlcs, log updates, commit diffs, revocation state and secrets, revocation log, ' +
      'forwarding packages, closed/historical channels, final htlcs, setup and external funding state, link nodes',
    migrate: initialSchema,
  },
  {
    version: 2,
    description:
      'storage hardening: commitment output indexes, row checksums on commitments, htlcs, revocation log and revocation state, ' +
      'the persisted channel key-index counter, unique channel key indexes',
    migrate: hardening,
  },
  {
    version: 3,
    description:
      'compact revocation log: revoked states move from revocation_log (dropped) into blocks of states: sealed ones in revocation_blocks, ' +
      'the newest in revocation_states.open_log_block',
    migrate: compactRevocationLog,
  },
  {
    version: 4,
    description: 'payment stores: invoices (add and settle indexes), outgoing payments (payment index, in-flight index) and their attempts',
    migrate: paymentStores,
  },
];

/** The schema version this code writes. */
export const SQL_SCHEMA_VERSION = SQL_MIGRATIONS[SQL_MIGRATIONS.length - 1]!.version;

/** What a migration run did (or, in a dry run, would do). */
export interface SqlMigrationReport {
  readonly from: number;
  readonly to: number;
  readonly applied: ReadonlyArray<{ version: number; description: string }>;
  readonly dryRun: boolean;
}

/** Applied and pending migrations. */
export interface SqlMigrationStatus {
  readonly current: number;
  readonly latest: number;
  readonly applied: ReadonlyArray<{ version: number; description: string }>;
  readonly pending: ReadonlyArray<{ version: number; description: string }>;
}

/** The stored schema version: the highest applied migration, 0 for an empty database. */
export async function readSqlSchemaVersion(tx: SqlTx, capabilities: Pick<SqlCapabilities, 'tableExists'>): Promise<number> {
  if (!(await capabilities.tableExists(tx, 'chand_migrations'))) return 0;
  const row = await tx.selectFrom('chand_migrations').select((eb) => eb.fn.max('version').as('version')).executeTakeFirst();
  return row?.version === null || row?.version === undefined ? 0 : Number(row.version);
}

/** Migration status of a database at schema `current`. */
export function sqlMigrationStatus(current: number, migrations: readonly SqlMigration[] = SQL_MIGRATIONS): SqlMigrationStatus {
  return {
    current,
    latest: migrations[migrations.length - 1]!.version,
    applied: migrations.filter((m) => m.version <= current).map(({ version, description }) => ({ version, description })),
    pending: migrations.filter((m) => m.version > current).map(({ version, description }) => ({ version, description })),
  };
}

class DryRunAbort extends Error {
  constructor(readonly report: SqlMigrationReport) {
    super('dry run');
  }
}

/**
 * Brings the database to the latest schema version in one transaction. DB_REVERSION if it
 * is newer than this code. With `dryRun`, everything runs and is then rolled back.
 */
export async function migrateSql(
  backend: SqlBackend,
  options: { dryRun?: boolean; migrations?: readonly SqlMigration[]; nowMs?: number } = {},
): Promise<SqlMigrationReport> {
  const migrations = options.migrations ?? SQL_MIGRATIONS;
  const latest = migrations[migrations.length - 1]!.version;
  const caps = backend.capabilities;
  const appliedAtMs = options.nowMs ?? Date.now();
  try {
    return await backend.runTx('exclusive', async (tx) => {
      await tx.schema
        .createTable('chand_migrations')
        .ifNotExists()
        .addColumn('version', 'bigint', (c) => c.primaryKey())
        .addColumn('description', 'text', notNull)
        .addColumn('applied_at_ms', 'bigint', notNull)
        .execute();
      const from = await readSqlSchemaVersion(tx, caps);
      if (from > latest) {
        throw new ChandError(
          ErrorCode.DB_REVERSION,
          `database schema version ${from} is newer than this chand (${latest}); refusing to open it — upgrade chand`,
        );
      }
      const pending = migrations.filter((m) => m.version > from);
      for (const m of pending) {
        await m.migrate(tx, caps);
        await tx.insertInto('chand_migrations').values({ version: m.version, description: m.description, applied_at_ms: appliedAtMs }).execute();
      }
      const report: SqlMigrationReport = {
        from,
        to: latest,
        applied: pending.map(({ version, description }) => ({ version, description })),
        dryRun: options.dryRun === true,
      };
      if (options.dryRun === true) throw new DryRunAbort(report);
      return report;
    });
  } catch (err) {
    if (err instanceof DryRunAbort) return err.report;
    throw err;
  }
}
