/**
 * Transaction-scoped channel-state queries on a SQL transaction, and the context the
 * store's facets share.
 *
 * The SQL store runs each of its methods as one transaction made of these functions; the
 * SQL coordinator composes them with link-node queries in one transaction too. They read
 * and write only through the transaction handle and build no outside state, so a retried
 * transaction may run them again. They implement storage only: domain rules come from
 * chanstate/rules.ts, and arguments were validated at the public edge (checked-store.ts),
 * so nothing here re-validates them.
 *
 * Row mapping: see schema.ts for column conventions and columns.ts for the exact
 * conversions. Optional domain fields are absent (not `undefined`) when their column is
 * NULL, exactly as the record codecs decode them. Rows of commitments and htlcs carry a
 * checksum (checksums.ts), written here and verified on every read.
 */
import { revealedPoint, type SecretToPoint } from '../bitcoin/secret-point.js';
import type { ChannelStateOptions } from '../chanstate/store.js';
import { listedChannel, type ChannelPartDecoders, type EagerChannelFields } from '../chanstate/lazy-parts.js';
import { sql, type ExpressionBuilder, type Expression, type Insertable, type Selectable, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { channelIdOf, formatOutPoint } from '../chanstate/channel-id.js';
import type { ChannelInfo } from '../chanstate/records.js';
import { assertMutable, channelNotFound, counterAfter, keyIndexOf, keyIndexReused, missingCommitment, type PeerChannelCounts } from '../chanstate/rules.js';
import {
  type ChannelCloseSummary,
  type ChannelCommitment,
  type ChannelConfig,
  type ExternalFundingState,
  type Hex,
  type Htlc,
  type KeyDescriptor,
  type LogUpdate,
  type OpenChannel,
  type OutPoint,
  type RemoteRevocationState,
} from '../chanstate/types.js';
import { equalBytes, hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import { CRC_COLUMNS, crcOfValues, rowCrc, verifyRowCrc, type CrcTable } from './checksums.js';
import { CLOSE_TYPES, amountCol, big, boolOf, bytes, bytesCol, enumOf, flag, hex, hexCol, hexOf, i32Col, num, plain, u64Col, u64Of, uintCol } from './columns.js';
import { ConfigSide, KEY_INDEX_COUNTER, Party, type ChannelConfigsTable, type ChannelsTable, type CommitmentsTable, type Database, type HtlcsTable } from './schema.js';
import { prepare, PreparedInsert, runMany } from './prepared.js';
import type { SqlBackend, SqlCapabilities, SqlTx } from './transactions.js';

/** Options of the SQL channel-state store (the same as the KV store's). */
export type SqlChannelStateOptions = ChannelStateOptions;

/**
 * What every facet of the SQL channel-state store closes over: the backend and the
 * resolved options. Built once per store (createSqlChannelStateStore); holds no state.
 */
export interface SqlStoreContext {
  readonly backend: SqlBackend;
  readonly options: {
    /** Revocation log entries keep both balances. */
    readonly balances: boolean;
    /** Off-chain final HTLC outcomes are recorded. */
    readonly finalHtlcs: boolean;
    /** secret·G for the revealed-secret check (ChannelStateOptions.secretToPoint, resolved). */
    readonly secretToPoint: SecretToPoint;
  };
}

/** The context of a store over `backend` with `options` (defaults applied). */
export function sqlStoreContext(backend: SqlBackend, options: SqlChannelStateOptions = {}): SqlStoreContext {
  return {
    backend,
    options: {
      balances: options.revocationLogBalances ?? true,
      finalHtlcs: options.storeFinalHtlcResolutions ?? true,
      secretToPoint: options.secretToPoint ?? revealedPoint,
    },
  };
}

/** Runs `fn` in a read transaction of the context's backend. */
export function readTx<T>(ctx: SqlStoreContext, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
  return ctx.backend.runTx('read', fn);
}

/** Runs `fn` in a channel-scoped write transaction of the context's backend. */
export function writeTx<T>(ctx: SqlStoreContext, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
  return ctx.backend.runTx('write', fn);
}

/** The open channel at `op` for a write: locked (where the dialect locks rows). CHANNEL_NOT_FOUND if absent. */
export function lockChannel(ctx: SqlStoreContext, tx: SqlTx, op: OutPoint): Promise<ChannelHandle> {
  return requireChannel(tx, ctx.backend.capabilities, op, true);
}

/** The open channel at `op` for a read. CHANNEL_NOT_FOUND if absent. */
export function findChannel(ctx: SqlStoreContext, tx: SqlTx, op: OutPoint): Promise<ChannelHandle> {
  return requireChannel(tx, ctx.backend.capabilities, op, false);
}

/** A condition on the channels table. */
export type ChannelFilter = (eb: ExpressionBuilder<Database, 'channels'>) => Expression<SqlBool>;

/** The condition "this channel point, not closed". */
export function openAt(op: OutPoint): ChannelFilter {
  const txid = hexToBytes(op.txid);
  return (eb) => eb.and([eb('txid', '=', txid), eb('output_index', '=', op.index), eb('closed', '=', 0)]);
}

/** What the write paths need of a channel row. */
export interface ChannelHandle {
  readonly id: number;
  readonly status: number;
  readonly shortChannelId: bigint;
}

function handleOf(row: { id: bigint | number; status: bigint | number; short_channel_id: bigint | number }): ChannelHandle {
  return { id: num(row.id), status: num(row.status), shortChannelId: u64Of(row.short_channel_id) };
}

const channelHandle = ['id', 'status', 'short_channel_id'] as const;

/** The open channel at a channel point (txid bytes, index). */
const selectOpenChannel = prepare((db, txid: Uint8Array, index: number) =>
  db.selectFrom('channels').select(channelHandle).where('txid', '=', txid).where('output_index', '=', index).where('closed', '=', 0),
);
/** The same, locking the row (dialects with row locks only). */
const selectOpenChannelForUpdate = prepare((db, txid: Uint8Array, index: number) =>
  db.selectFrom('channels').select(channelHandle).where('txid', '=', txid).where('output_index', '=', index).where('closed', '=', 0).forUpdate(),
);
const setLastWasRevoke = prepare((db, value: number, txid: Uint8Array, index: number) =>
  db.updateTable('channels').set({ last_was_revoke: value }).where('txid', '=', txid).where('output_index', '=', index).where('closed', '=', 0).returning(channelHandle),
);

/**
 * The open (not closed) channel at `op`, locked against concurrent writers when `lock` and
 * the dialect has row locks. CHANNEL_NOT_FOUND if absent or closed.
 */
export async function requireChannel(tx: SqlTx, caps: SqlCapabilities, op: OutPoint, lock = true): Promise<ChannelHandle> {
  const statement = lock && caps.rowLocks ? selectOpenChannelForUpdate : selectOpenChannel;
  const row = await statement.first(tx, hexToBytes(op.txid), op.index);
  if (row === undefined) throw channelNotFound(op);
  return handleOf(row);
}

/**
 * Sets last_was_revoke on the open channel at `op` and returns it, locked (the UPDATE takes
 * the row lock), after checking it is mutable. One statement instead of a locking read
 * plus a write on the payment hot path; a refused channel rolls the whole transaction back.
 */
export async function markLastWasRevoke(tx: SqlTx, op: OutPoint, value: boolean): Promise<ChannelHandle> {
  const row = await setLastWasRevoke.first(tx, flag(value), hexToBytes(op.txid), op.index);
  if (row === undefined) throw channelNotFound(op);
  const channel = handleOf(row);
  assertMutable(channel.status, op);
  return channel;
}

/** The id of the channel at `op` whether open or closed, or undefined if never written. */
export async function channelIdAt(tx: SqlTx, op: OutPoint): Promise<number | undefined> {
  const row = await tx
    .selectFrom('channels')
    .select('id')
    .where('txid', '=', hexToBytes(op.txid))
    .where('output_index', '=', op.index)
    .executeTakeFirst();
  return row === undefined ? undefined : num(row.id);
}

// --- channel rows -----------------------------------------------------------------------

/** Splits an OpenChannel into its info (the channels row) and the parts stored apart. */
export function infoOf(channel: OpenChannel): ChannelInfo {
  const { localCommitment: _l, remoteCommitment: _r, remoteRevocation: _v, lastWasRevoke: _w, externalFunding: _e, ...info } = channel;
  return info;
}

function channelRow(info: ChannelInfo, lastWasRevoke: boolean): Insertable<ChannelsTable> {
  const op = info.fundingOutpoint;
  return {
    txid: hexCol(op.txid, 32),
    output_index: op.index,
    wire_channel_id: hexToBytes(channelIdOf(op)),
    node_pub: hexCol(info.identityPub, 33),
    chain_hash: hexCol(info.chainHash, 32),
    short_channel_id: u64Col(info.shortChannelId),
    real_scid: info.realScid === undefined ? null : u64Col(info.realScid),
    chan_type: info.chanType,
    is_pending: flag(info.isPending),
    is_initiator: flag(info.isInitiator),
    status: info.status,
    funding_broadcast_height: info.fundingBroadcastHeight,
    confirmation_height: info.confirmationHeight,
    close_confirmation_height: info.closeConfirmationHeight ?? null,
    num_confs_required: info.numConfsRequired,
    channel_flags: info.channelFlags,
    capacity_sat: amountCol(info.capacitySat, 'capacitySat'),
    total_msat_sent: amountCol(info.totalMsatSent, 'totalMsatSent'),
    total_msat_received: amountCol(info.totalMsatReceived, 'totalMsatReceived'),
    initial_local_balance_msat: amountCol(info.initialLocalBalanceMsat, 'initialLocalBalanceMsat'),
    initial_remote_balance_msat: amountCol(info.initialRemoteBalanceMsat, 'initialRemoteBalanceMsat'),
    revocation_key_family: info.revocationKeyLocator.family,
    revocation_key_index: info.revocationKeyLocator.index,
    thaw_height: info.thawHeight,
    funding_tx: info.fundingTx ?? null,
    local_shutdown_script: info.localShutdownScript ?? null,
    remote_shutdown_script: info.remoteShutdownScript ?? null,
    memo: info.memo ?? null,
    last_was_revoke: flag(lastWasRevoke),
    closed: 0,
    purge_pending: 0,
  };
}

// --- channel configs ------------------------------------------------------------------------

/** The key descriptors of a ChannelConfig and their columns. */
const CONFIG_KEYS = [
  ['multiSigKey', 'multisig_key', 'multisig_family', 'multisig_index'],
  ['revocationBasePoint', 'revocation_base_point', 'revocation_family', 'revocation_index'],
  ['paymentBasePoint', 'payment_base_point', 'payment_family', 'payment_index'],
  ['delayBasePoint', 'delay_base_point', 'delay_family', 'delay_index'],
  ['htlcBasePoint', 'htlc_base_point', 'htlc_family', 'htlc_index'],
] as const;

type ConfigRow = Selectable<ChannelConfigsTable>;

/** The channel_configs row of one side's config (range checks stay as a last line of defence; validation is at the edge). */
export function configRow(channelId: number, side: number, config: ChannelConfig): Insertable<ChannelConfigsTable> {
  const row: Record<string, unknown> = {
    channel_id: channelId,
    side,
    chan_reserve_sat: amountCol(config.chanReserveSat, 'chanReserveSat'),
    max_pending_amount_msat: amountCol(config.maxPendingAmountMsat, 'maxPendingAmountMsat'),
    min_htlc_msat: amountCol(config.minHtlcMsat, 'minHtlcMsat'),
    max_accepted_htlcs: uintCol(config.maxAcceptedHtlcs, 16, 'maxAcceptedHtlcs'),
    dust_limit_sat: amountCol(config.dustLimitSat, 'dustLimitSat'),
    csv_delay: uintCol(config.csvDelay, 16, 'csvDelay'),
  };
  for (const [name, key, family, index] of CONFIG_KEYS) {
    const descriptor = config[name];
    row[key] = hexCol(descriptor.pubkey, 33);
    row[family] = descriptor.locator === undefined ? null : uintCol(descriptor.locator.family, 32, 'locator.family');
    row[index] = descriptor.locator === undefined ? null : uintCol(descriptor.locator.index, 32, 'locator.index');
  }
  return row as unknown as Insertable<ChannelConfigsTable>;
}

/** The ChannelConfig of a channel_configs row. */
export function configOfRow(row: ConfigRow): ChannelConfig {
  const key = (pub: Uint8Array, family: bigint | number | null, index: bigint | number | null): KeyDescriptor =>
    family === null || index === null ? { pubkey: hexOf(pub, 33, 'channel_configs key') } : { pubkey: hexOf(pub, 33, 'channel_configs key'), locator: { family: num(family), index: num(index) } };
  return {
    chanReserveSat: big(row.chan_reserve_sat),
    maxPendingAmountMsat: big(row.max_pending_amount_msat),
    minHtlcMsat: big(row.min_htlc_msat),
    maxAcceptedHtlcs: num(row.max_accepted_htlcs),
    dustLimitSat: big(row.dust_limit_sat),
    csvDelay: num(row.csv_delay),
    multiSigKey: key(row.multisig_key, row.multisig_family, row.multisig_index),
    revocationBasePoint: key(row.revocation_base_point, row.revocation_family, row.revocation_index),
    paymentBasePoint: key(row.payment_base_point, row.payment_family, row.payment_index),
    delayBasePoint: key(row.delay_base_point, row.delay_family, row.delay_index),
    htlcBasePoint: key(row.htlc_base_point, row.htlc_family, row.htlc_index),
  };
}

/** Configs of the channels `ids` selects, by "channelId/side". */
async function readConfigs(tx: SqlTx, ids: readonly number[] | SelectQueryBuilder<Database, 'channels', { id: bigint | number }>, sides: readonly number[]): Promise<Map<string, ChannelConfig>> {
  if (Array.isArray(ids) && ids.length === 0) return new Map();
  const rows = await tx
    .selectFrom('channel_configs')
    .selectAll()
    .where('channel_id', 'in', ids as readonly number[])
    .where('side', 'in', sides)
    .execute();
  return new Map(rows.map((r) => [`${num(r.channel_id)}/${num(r.side)}`, configOfRow(r)]));
}

/** Both configs of channel `channelId`. DECODE_FAILED if one is missing. */
export async function readConfigPair(tx: SqlTx, channelId: number): Promise<{ local: ChannelConfig; remote: ChannelConfig }> {
  const configs = await readConfigs(tx, [channelId], [ConfigSide.Local, ConfigSide.Remote]);
  return { local: requireConfig(configs, channelId, ConfigSide.Local), remote: requireConfig(configs, channelId, ConfigSide.Remote) };
}

function requireConfig(configs: Map<string, ChannelConfig>, channelId: number, side: number): ChannelConfig {
  const config = configs.get(`${channelId}/${side}`);
  if (config === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, `channel row ${channelId} has no config for side ${side}`);
  return config;
}

/** The info of a channels row with its two configs. */
export function infoOfRow(row: Selectable<ChannelsTable>, configs: { local: ChannelConfig; remote: ChannelConfig }): ChannelInfo {
  return fieldsOfRow(row, configs) as ChannelInfo;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The info fields of a channels row, with the configs when given (in their place among the
 * fields) and without them otherwise (a listing's eager part). Optional fields are added
 * only when stored: one object per row, however many are present.
 */
function fieldsOfRow(row: Selectable<ChannelsTable>, configs?: { local: ChannelConfig; remote: ChannelConfig }): Omit<ChannelInfo, 'localConfig' | 'remoteConfig'> {
  const info: Writable<Omit<ChannelInfo, 'localConfig' | 'remoteConfig'>> = {
    chanType: num(row.chan_type),
    chainHash: hexOf(row.chain_hash, 32, 'channels.chain_hash'),
    fundingOutpoint: { txid: hexOf(row.txid, 32, 'channels.txid'), index: num(row.output_index) },
    shortChannelId: u64Of(row.short_channel_id),
    isPending: boolOf(row.is_pending, 'channels.is_pending'),
    isInitiator: boolOf(row.is_initiator, 'channels.is_initiator'),
    status: num(row.status),
    fundingBroadcastHeight: num(row.funding_broadcast_height),
    confirmationHeight: num(row.confirmation_height),
    numConfsRequired: num(row.num_confs_required),
    channelFlags: num(row.channel_flags),
    identityPub: hexOf(row.node_pub, 33, 'channels.node_pub'),
    capacitySat: big(row.capacity_sat),
    totalMsatSent: big(row.total_msat_sent),
    totalMsatReceived: big(row.total_msat_received),
    initialLocalBalanceMsat: big(row.initial_local_balance_msat),
    initialRemoteBalanceMsat: big(row.initial_remote_balance_msat),
    ...(configs === undefined ? undefined : { localConfig: configs.local, remoteConfig: configs.remote }),
    revocationKeyLocator: { family: num(row.revocation_key_family), index: num(row.revocation_key_index) },
    thawHeight: num(row.thaw_height),
  };
  if (row.real_scid !== null) info.realScid = u64Of(row.real_scid);
  if (row.close_confirmation_height !== null) info.closeConfirmationHeight = num(row.close_confirmation_height);
  if (row.funding_tx !== null) info.fundingTx = bytes(row.funding_tx);
  if (row.local_shutdown_script !== null) info.localShutdownScript = bytes(row.local_shutdown_script);
  if (row.remote_shutdown_script !== null) info.remoteShutdownScript = bytes(row.remote_shutdown_script);
  if (row.memo !== null) info.memo = bytes(row.memo);
  return info;
}

// --- commitments and HTLCs --------------------------------------------------------------

function commitmentColumns(channelId: number, party: number, c: ChannelCommitment): Omit<Insertable<CommitmentsTable>, 'crc'> {
  return {
    channel_id: channelId,
    party,
    commit_height: uintCol(c.commitHeight, 53, 'commitHeight'),
    local_log_index: uintCol(c.localLogIndex, 53, 'localLogIndex'),
    local_htlc_index: uintCol(c.localHtlcIndex, 53, 'localHtlcIndex'),
    remote_log_index: uintCol(c.remoteLogIndex, 53, 'remoteLogIndex'),
    remote_htlc_index: uintCol(c.remoteHtlcIndex, 53, 'remoteHtlcIndex'),
    local_balance_msat: amountCol(c.localBalanceMsat, 'localBalanceMsat'),
    remote_balance_msat: amountCol(c.remoteBalanceMsat, 'remoteBalanceMsat'),
    commit_fee_sat: amountCol(c.commitFeeSat, 'commitFeeSat'),
    fee_per_kw: amountCol(c.feePerKw, 'feePerKw'),
    commit_tx: bytesCol(c.commitTx, 'commitTx'),
    commit_sig: bytesCol(c.commitSig, 'commitSig'),
    custom_blob: c.customBlob === undefined ? null : bytesCol(c.customBlob, 'customBlob'),
    local_output_index: c.localOutputIndex ?? null,
    remote_output_index: c.remoteOutputIndex ?? null,
  };
}

/** A commitments row with its checksum. */
function commitmentRow(channelId: number, party: number, c: ChannelCommitment): Insertable<CommitmentsTable> {
  const row = commitmentColumns(channelId, party, c);
  return { ...row, crc: rowCrc('commitments', row) };
}

/** Every column of a commitments row: the slot, the checksummed columns, the checksum. */
const COMMITMENT_COLUMNS = ['party', ...CRC_COLUMNS.commitments, 'crc'] as const;

/** Inserts a commitment row, or replaces the one in the same slot. */
const upsertCommitment = new PreparedInsert<Insertable<CommitmentsTable>>(COMMITMENT_COLUMNS, (db, rows) =>
  db
    .insertInto('commitments')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['channel_id', 'party']).doUpdateSet((eb) => ({
        commit_height: eb.ref('excluded.commit_height'),
        local_log_index: eb.ref('excluded.local_log_index'),
        local_htlc_index: eb.ref('excluded.local_htlc_index'),
        remote_log_index: eb.ref('excluded.remote_log_index'),
        remote_htlc_index: eb.ref('excluded.remote_htlc_index'),
        local_balance_msat: eb.ref('excluded.local_balance_msat'),
        remote_balance_msat: eb.ref('excluded.remote_balance_msat'),
        commit_fee_sat: eb.ref('excluded.commit_fee_sat'),
        fee_per_kw: eb.ref('excluded.fee_per_kw'),
        commit_tx: eb.ref('excluded.commit_tx'),
        commit_sig: eb.ref('excluded.commit_sig'),
        custom_blob: eb.ref('excluded.custom_blob'),
        local_output_index: eb.ref('excluded.local_output_index'),
        remote_output_index: eb.ref('excluded.remote_output_index'),
        crc: eb.ref('excluded.crc'),
      })),
    ),
);

function htlcRows(channelId: number, party: number, htlcs: readonly Htlc[]): Insertable<HtlcsTable>[] {
  return htlcs.map((h, seq) => withCrc({
    channel_id: channelId,
    party,
    seq,
    htlc_index: uintCol(h.htlcIndex, 53, 'htlcIndex'),
    log_index: uintCol(h.logIndex, 53, 'logIndex'),
    payment_hash: hexCol(h.paymentHash, 32),
    amount_msat: amountCol(h.amountMsat, 'amountMsat'),
    refund_timeout: uintCol(h.refundTimeout, 32, 'refundTimeout'),
    output_index: i32Col(h.outputIndex, 'outputIndex'),
    incoming: flag(h.incoming),
    signature: bytesCol(h.signature, 'signature'),
    onion_blob: bytesCol(h.onionBlob, 'onionBlob'),
    extra_data: h.extraData === undefined ? null : bytesCol(h.extraData, 'extraData'),
  }));
}

function withCrc(row: Omit<Insertable<HtlcsTable>, 'crc'>): Insertable<HtlcsTable> {
  return { ...row, crc: rowCrc('htlcs', row) };
}

const HTLC_COLUMNS = ['party', ...CRC_COLUMNS.htlcs, 'crc'] as const;
const insertHtlcRows = new PreparedInsert<Insertable<HtlcsTable>>(HTLC_COLUMNS, (db, rows) => db.insertInto('htlcs').values(rows));
/**
 * Writes HTLC rows over the rows of the same slot and position, in place: an updated row
 * keeps its rowid, so SQLite rewrites the pages holding it and leaves the primary-key index
 * alone, where a delete and an insert would dirty both the old and the new pages of the
 * table and of the index (measured: fewer WAL pages per updateCommitment).
 */
const upsertHtlcRows = new PreparedInsert<Insertable<HtlcsTable>>(HTLC_COLUMNS, (db, rows) =>
  db
    .insertInto('htlcs')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['channel_id', 'party', 'seq']).doUpdateSet((eb) => ({
        htlc_index: eb.ref('excluded.htlc_index'),
        log_index: eb.ref('excluded.log_index'),
        payment_hash: eb.ref('excluded.payment_hash'),
        amount_msat: eb.ref('excluded.amount_msat'),
        refund_timeout: eb.ref('excluded.refund_timeout'),
        output_index: eb.ref('excluded.output_index'),
        incoming: eb.ref('excluded.incoming'),
        signature: eb.ref('excluded.signature'),
        onion_blob: eb.ref('excluded.onion_blob'),
        extra_data: eb.ref('excluded.extra_data'),
        crc: eb.ref('excluded.crc'),
      })),
    ),
);
/** The HTLC rows of a slot from position `seq` on (what is left after writing `seq` rows over it). */
const deleteHtlcsFrom = prepare((db, channelId: number, party: number, seq: number) =>
  db.deleteFrom('htlcs').where('channel_id', '=', channelId).where('party', '=', party).where('seq', '>=', seq),
);
const deleteHtlcs = prepare((db, channelId: number, party: number) => db.deleteFrom('htlcs').where('channel_id', '=', channelId).where('party', '=', party));
const deleteCommitmentRow = prepare((db, channelId: number, party: number) => db.deleteFrom('commitments').where('channel_id', '=', channelId).where('party', '=', party));
const selectCommitment = prepare((db, channelId: number, party: number) => db.selectFrom('commitments').selectAll().where('channel_id', '=', channelId).where('party', '=', party));
const selectHtlcs = prepare((db, channelId: number, party: number) =>
  db.selectFrom('htlcs').selectAll().where('channel_id', '=', channelId).where('party', '=', party).orderBy('seq'),
);
/** Moves a commitment and its HTLCs to another slot (the chain tip becoming the remote commitment). */
const moveCommitment = prepare((db, to: number, channelId: number, from: number) =>
  db.updateTable('commitments').set({ party: to }).where('channel_id', '=', channelId).where('party', '=', from),
);
const moveHtlcs = prepare((db, to: number, channelId: number, from: number) =>
  db.updateTable('htlcs').set({ party: to }).where('channel_id', '=', channelId).where('party', '=', from),
);

// The writes below are deferred (prepared.ts): sent with the transaction's next statement.

/** Inserts the commitment of `party` with its HTLCs (the slot must be empty). */
export async function insertCommitment(tx: SqlTx, channelId: number, party: number, c: ChannelCommitment): Promise<void> {
  await upsertCommitment.defer(tx, [commitmentRow(channelId, party, c)]);
  await insertHtlcRows.defer(tx, htlcRows(channelId, party, c.htlcs));
}

/** Replaces the existing commitment of `party` and its HTLCs. */
export async function replaceCommitment(tx: SqlTx, channelId: number, party: number, c: ChannelCommitment): Promise<void> {
  const row = commitmentRow(channelId, party, c);
  const htlcs = htlcRows(channelId, party, c.htlcs);
  await upsertCommitment.defer(tx, [row]);
  await upsertHtlcRows.defer(tx, htlcs);
  await deleteHtlcsFrom.defer(tx, channelId, party, htlcs.length);
}

/** Deletes the commitment of `party` and its HTLCs (`htlcCount`, when the caller knows it, skips an empty delete). */
export async function deleteCommitment(tx: SqlTx, channelId: number, party: number, htlcCount?: number): Promise<void> {
  if (htlcCount !== 0) await deleteHtlcs.defer(tx, channelId, party);
  await deleteCommitmentRow.defer(tx, channelId, party);
}

/** Moves the commitment in slot `from` (and its HTLCs) to the empty slot `to`. */
export async function moveCommitmentSlot(tx: SqlTx, channelId: number, from: number, to: number): Promise<void> {
  await moveCommitment.defer(tx, to, channelId, from);
  await moveHtlcs.defer(tx, to, channelId, from);
}

/** The open channel with id `(select ...)` of a channel point: lets reads name a channel before its id is known. */
function idAt(db: SqlTx, txid: Uint8Array, index: number) {
  return db.selectFrom('channels').select('id').where('txid', '=', txid).where('output_index', '=', index).where('closed', '=', 0);
}

/** The remote commitment and the chain tip of the open channel at a channel point (the advanceCommitChainTail read). */
export const selectRemoteAndTipAt = prepare((db, txid: Uint8Array, index: number) =>
  db.selectFrom('commitments').selectAll().where('channel_id', '=', idAt(db, txid, index)).where('party', 'in', [Party.Remote, Party.RemoteTip]),
);
/** The HTLC rows of slot `party` of the open channel at a channel point, in order. */
export const selectHtlcsAt = prepare((db, txid: Uint8Array, index: number, party: number) =>
  db.selectFrom('htlcs').selectAll().where('channel_id', '=', idAt(db, txid, index)).where('party', '=', party).orderBy('seq'),
);
/** The revocation state row (points and open log block) of the open channel at a channel point. */
export const selectRevocationAt = prepare((db, txid: Uint8Array, index: number) => db.selectFrom('revocation_states').selectAll().where('channel_id', '=', idAt(db, txid, index)));
/** The revealed secrets of the open channel at a channel point, in order. */
export const selectSecretsAt = prepare((db, txid: Uint8Array, index: number) =>
  db.selectFrom('revocation_secrets').selectAll().where('channel_id', '=', idAt(db, txid, index)).orderBy('seq'),
);
/** Update list `kind` of the open channel at a channel point. */
export const selectUpdatesAt = prepare((db, txid: Uint8Array, index: number, kind: number) =>
  db.selectFrom('log_updates').select(['log_index', 'message']).where('channel_id', '=', idAt(db, txid, index)).where('kind', '=', kind).orderBy('seq'),
);

/** The commitment of stored rows (checksums verified). */
export function commitmentOfRows(row: CommitmentRow, htlcs: readonly Selectable<HtlcsTable>[]): ChannelCommitment {
  return commitmentOfRow(row, htlcs.map(htlcOfRow));
}

/** The statement opening the channel at a point for a write (locked where the dialect locks rows), for runMany. */
export function lockChannelStatement(ctx: SqlStoreContext) {
  return ctx.backend.capabilities.rowLocks ? selectOpenChannelForUpdate : selectOpenChannel;
}

/** The statement of markLastWasRevoke, for runMany. */
export const setLastWasRevokeStatement = (() => setLastWasRevoke)();

/** The ChannelHandle of a channel row (handleOf), checked mutable: CHANNEL_NOT_FOUND / BORKED / RESTORED. */
export function mutableHandle(row: { id: bigint | number; status: bigint | number; short_channel_id: bigint | number } | undefined, op: OutPoint): ChannelHandle {
  if (row === undefined) throw channelNotFound(op);
  const channel = handleOf(row);
  assertMutable(channel.status, op);
  return channel;
}

/** Where a row of a channel is, for corruption messages (no values: a corrupt row may hold anything). */
function rowName(row: { channel_id: bigint | number; party?: bigint | number; seq?: bigint | number }): string {
  return [row.channel_id, row.party, row.seq].filter((k) => k !== undefined).join('/');
}

function htlcOfRow(row: Selectable<HtlcsTable>): Htlc {
  verifyRowCrc('htlcs', row, rowName(row));
  const htlc: Htlc = {
    signature: bytes(row.signature),
    paymentHash: hexOf(row.payment_hash, 32, 'htlcs.payment_hash'),
    amountMsat: big(row.amount_msat),
    refundTimeout: num(row.refund_timeout),
    outputIndex: num(row.output_index),
    incoming: boolOf(row.incoming, 'htlcs.incoming'),
    onionBlob: bytes(row.onion_blob),
    htlcIndex: num(row.htlc_index),
    logIndex: num(row.log_index),
  };
  return row.extra_data === null ? htlc : { ...htlc, extraData: bytes(row.extra_data) };
}

type CommitmentRow = Selectable<Database['commitments']>;

function commitmentOfRow(row: CommitmentRow, htlcs: readonly Htlc[]): ChannelCommitment {
  verifyRowCrc('commitments', row, rowName(row));
  const c: ChannelCommitment = {
    commitHeight: num(row.commit_height),
    localLogIndex: num(row.local_log_index),
    localHtlcIndex: num(row.local_htlc_index),
    remoteLogIndex: num(row.remote_log_index),
    remoteHtlcIndex: num(row.remote_htlc_index),
    localBalanceMsat: big(row.local_balance_msat),
    remoteBalanceMsat: big(row.remote_balance_msat),
    commitFeeSat: big(row.commit_fee_sat),
    feePerKw: big(row.fee_per_kw),
    commitTx: bytes(row.commit_tx),
    commitSig: bytes(row.commit_sig),
    htlcs,
  };
  return {
    ...c,
    ...(row.custom_blob === null ? {} : { customBlob: bytes(row.custom_blob) }),
    ...(row.local_output_index === null ? {} : { localOutputIndex: num(row.local_output_index) }),
    ...(row.remote_output_index === null ? {} : { remoteOutputIndex: num(row.remote_output_index) }),
  };
}

/** The commitment of `party`, or undefined if that slot is empty. */
export async function readCommitment(tx: SqlTx, channelId: number, party: number): Promise<ChannelCommitment | undefined> {
  const row = await selectCommitment.first(tx, channelId, party);
  if (row === undefined) return undefined;
  const htlcs = await selectHtlcs.rows(tx, channelId, party);
  return commitmentOfRow(row, htlcs.map(htlcOfRow));
}

const selectRemoteAndTip = prepare((db, channelId: number) =>
  db.selectFrom('commitments').selectAll().where('channel_id', '=', channelId).where('party', 'in', [Party.Remote, Party.RemoteTip]),
);

/**
 * For advancing the tail, in one query: the remote log index of the chain tip (undefined
 * when there is no tip) and the remote commitment it replaces.
 */
export async function readRemoteAndTip(tx: SqlTx, channelId: number): Promise<{ tipRemoteLogIndex?: number; remote?: ChannelCommitment }> {
  const rows = await selectRemoteAndTip.rows(tx, channelId);
  const tip = rows.find((r) => num(r.party) === Party.RemoteTip);
  const remote = rows.find((r) => num(r.party) === Party.Remote);
  // The tip's HTLCs are not read here, but its row's own columns are checked.
  if (tip !== undefined) verifyRowCrc('commitments', tip, rowName(tip));
  return {
    ...(tip === undefined ? {} : { tipRemoteLogIndex: num(tip.remote_log_index) }),
    ...(remote === undefined ? {} : { remote: commitmentOfRow(remote, (await selectHtlcs.rows(tx, channelId, Party.Remote)).map(htlcOfRow)) }),
  };
}

/** The commitment of `party`; DECODE_FAILED if the slot is empty (a corrupt channel). */
export async function requireCommitment(tx: SqlTx, channelId: number, party: number, op: OutPoint): Promise<ChannelCommitment> {
  const c = await readCommitment(tx, channelId, party);
  if (c === undefined) throw missingCommitment(op, party === Party.Local ? 'local' : 'remote');
  return c;
}

// --- log updates --------------------------------------------------------------------------

const selectUpdates = prepare((db, channelId: number, kind: number) =>
  db.selectFrom('log_updates').select(['log_index', 'message']).where('channel_id', '=', channelId).where('kind', '=', kind).orderBy('seq'),
);
const deleteUpdates = prepare((db, channelId: number, kind: number) => db.deleteFrom('log_updates').where('channel_id', '=', channelId).where('kind', '=', kind));
const deleteUpdatesBelow = prepare((db, channelId: number, kind: number, logIndex: number) =>
  db.deleteFrom('log_updates').where('channel_id', '=', channelId).where('kind', '=', kind).where('log_index', '<', logIndex),
);
const UPDATE_COLUMNS = ['channel_id', 'kind', 'seq', 'log_index', 'message'] as const;
const insertUpdateRows = new PreparedInsert<Insertable<Database['log_updates']>>(UPDATE_COLUMNS, (db, rows) => db.insertInto('log_updates').values(rows));
/** Writes update rows over the rows of the same list and position, in place (as upsertHtlcRows). */
const upsertUpdateRows = new PreparedInsert<Insertable<Database['log_updates']>>(UPDATE_COLUMNS, (db, rows) =>
  db
    .insertInto('log_updates')
    .values(rows)
    .onConflict((oc) => oc.columns(['channel_id', 'kind', 'seq']).doUpdateSet((eb) => ({ log_index: eb.ref('excluded.log_index'), message: eb.ref('excluded.message') }))),
);
/** The rows of update list `kind` from position `seq` on. */
const deleteUpdatesFrom = prepare((db, channelId: number, kind: number, seq: number) =>
  db.deleteFrom('log_updates').where('channel_id', '=', channelId).where('kind', '=', kind).where('seq', '>=', seq),
);

/** The update list `kind` of a channel, in stored order. */
export async function readUpdates(tx: SqlTx, channelId: number, kind: number): Promise<LogUpdate[]> {
  return updatesOfRows(await selectUpdates.rows(tx, channelId, kind));
}

/** The log updates of update rows. */
export function updatesOfRows(rows: ReadonlyArray<{ log_index: bigint | number; message: Uint8Array }>): LogUpdate[] {
  return rows.map((r) => ({ logIndex: num(r.log_index), message: bytes(r.message) }));
}

/** Inserts update list `kind` (the list must be empty). Deferred. */
export async function insertUpdates(tx: SqlTx, channelId: number, kind: number, updates: readonly LogUpdate[]): Promise<void> {
  await insertUpdateRows.defer(tx, updateRows(channelId, kind, updates));
}

function updateRows(channelId: number, kind: number, updates: readonly LogUpdate[]): Insertable<Database['log_updates']>[] {
  return updates.map((u, seq) => ({
    channel_id: channelId,
    kind,
    seq,
    log_index: uintCol(u.logIndex, 53, 'logIndex'),
    message: bytesCol(u.message, 'message'),
  }));
}

/** Replaces update list `kind`: rows written over in place, the rest of the old list deleted. Deferred. */
export async function replaceUpdates(tx: SqlTx, channelId: number, kind: number, updates: readonly LogUpdate[]): Promise<void> {
  await upsertUpdateRows.defer(tx, updateRows(channelId, kind, updates));
  await deleteUpdatesFrom.defer(tx, channelId, kind, updates.length);
}

/** Deletes the updates of list `kind` with a log index below `logIndex`. Deferred. */
export async function deleteUpdatesBefore(tx: SqlTx, channelId: number, kind: number, logIndex: number): Promise<void> {
  await deleteUpdatesBelow.defer(tx, channelId, kind, logIndex);
}

/** Deletes update list `kind`. Deferred. */
export async function deleteUpdateList(tx: SqlTx, channelId: number, kind: number): Promise<void> {
  await deleteUpdates.defer(tx, channelId, kind);
}

// --- revocation state -----------------------------------------------------------------------

function pointColumns(r: RemoteRevocationState) {
  return {
    current_point: r.currentPoint === undefined ? null : hexCol(r.currentPoint, 33),
    next_point: r.nextPoint === undefined ? null : hexCol(r.nextPoint, 33),
  };
}

/** A stored revealed-secret row. */
export type SecretRow = Selectable<Database['revocation_secrets']>;
/** A stored revocation_states row. */
export type PointsRow = Selectable<Database['revocation_states']>;

/** The revocation state of its rows, after checking their checksums (DB_CORRUPT). The open log block is not read. */
export function revocationOf(points: Pick<PointsRow, 'channel_id' | 'current_point' | 'next_point' | 'crc'> | undefined, secrets: readonly SecretRow[]): RemoteRevocationState {
  if (points !== undefined) verifyRowCrc('revocation_states', points, rowName(points));
  for (const r of secrets) verifyRowCrc('revocation_secrets', r, rowName(r));
  const state: RemoteRevocationState = { secrets: secrets.map((r) => ({ index: u64Of(r.secret_index), secret: bytes(r.secret) })) };
  if (points === undefined) return state;
  return {
    ...state,
    ...(points.current_point === null ? {} : { currentPoint: hexOf(points.current_point, 33, 'revocation_states.current_point') }),
    ...(points.next_point === null ? {} : { nextPoint: hexOf(points.next_point, 33, 'revocation_states.next_point') }),
  };
}

/** The open revocation log block of a revocation_states row (undefined if none), after checking its checksum. */
export function openBlockOf(row: Pick<PointsRow, 'channel_id' | 'open_log_block' | 'open_log_block_crc'> | undefined): Uint8Array | undefined {
  if (row === undefined || (row.open_log_block === null && row.open_log_block_crc === null)) return undefined;
  verifyRowCrc('revocation_open_blocks', row, `${row.channel_id}`, 'open_log_block_crc');
  if (row.open_log_block === null) throw new ChandError(ErrorCode.DB_CORRUPT, `stored data failed its integrity check: revocation_states row ${row.channel_id} has an open block checksum but no block`);
  return plain(row.open_log_block);
}

const POINT_COLUMNS = ['channel_id', 'current_point', 'next_point', 'crc'] as const;
const selectPoints = prepare((db, channelId: number) => db.selectFrom('revocation_states').select(POINT_COLUMNS).where('channel_id', '=', channelId));
const selectSecrets = prepare((db, channelId: number) => db.selectFrom('revocation_secrets').selectAll().where('channel_id', '=', channelId).orderBy('seq'));
const upsertPoints = new PreparedInsert<Insertable<Database['revocation_states']>>([...CRC_COLUMNS.revocation_states, 'crc'], (db, rows) =>
  db
    .insertInto('revocation_states')
    .values(rows)
    .onConflict((oc) =>
      oc.column('channel_id').doUpdateSet((eb) => ({ current_point: eb.ref('excluded.current_point'), next_point: eb.ref('excluded.next_point'), crc: eb.ref('excluded.crc') })),
    ),
);
/** The points and the open log block together (advanceCommitChainTail changes both). */
const upsertPointsAndBlock = new PreparedInsert<Insertable<Database['revocation_states']>>(
  [...CRC_COLUMNS.revocation_states, 'crc', 'open_log_block', 'open_log_block_crc'],
  (db, rows) =>
    db
      .insertInto('revocation_states')
      .values(rows)
      .onConflict((oc) =>
        oc.column('channel_id').doUpdateSet((eb) => ({
          current_point: eb.ref('excluded.current_point'),
          next_point: eb.ref('excluded.next_point'),
          crc: eb.ref('excluded.crc'),
          open_log_block: eb.ref('excluded.open_log_block'),
          open_log_block_crc: eb.ref('excluded.open_log_block_crc'),
        })),
      ),
);
const deleteSecretsFrom = prepare((db, channelId: number, seq: number) => db.deleteFrom('revocation_secrets').where('channel_id', '=', channelId).where('seq', '>=', seq));
const insertSecretRows = new PreparedInsert<Insertable<Database['revocation_secrets']>>([...CRC_COLUMNS.revocation_secrets, 'crc'], (db, rows) =>
  db.insertInto('revocation_secrets').values(rows),
);

/** The revocation_states row of `points` for channel `channelId`, with its checksum. */
function pointsRow(channelId: number, points: { current_point: Uint8Array | null; next_point: Uint8Array | null }): Insertable<Database['revocation_states']> {
  const row = { channel_id: channelId, ...points };
  return { ...row, crc: rowCrc('revocation_states', row) };
}

/**
 * Stores the remote's next per-commitment point, keeping the current one (a checked read
 * of the stored row first: its checksum covers both points).
 */
export async function writeNextPoint(tx: SqlTx, channelId: number, nextPoint: Hex): Promise<void> {
  const stored = await selectPoints.first(tx, channelId);
  if (stored !== undefined) verifyRowCrc('revocation_states', stored, rowName(stored));
  await upsertPoints.defer(tx, [pointsRow(channelId, { current_point: stored?.current_point ?? null, next_point: hexCol(nextPoint, 33) })]);
}

/** The remote revocation state ({secrets: []} if none was stored). */
export async function readRevocation(tx: SqlTx, channelId: number): Promise<RemoteRevocationState> {
  return revocationOf(await selectPoints.first(tx, channelId), await selectSecrets.rows(tx, channelId));
}

/**
 * Writes the remote revocation state (deferred) and, when given, the channel's open log
 * block. Secrets are diffed against `stored` (the rows as read in this transaction; read
 * here when not given): the common prefix stays, the rest is replaced, so the usual
 * revocation (one secret appended) writes one row.
 */
export async function writeRevocation(tx: SqlTx, channelId: number, state: RemoteRevocationState, stored?: readonly SecretRow[], openBlock?: Uint8Array): Promise<void> {
  const points = pointsRow(channelId, pointColumns(state));
  if (openBlock === undefined) await upsertPoints.defer(tx, [points]);
  else {
    const block = { channel_id: channelId, open_log_block: openBlock };
    await upsertPointsAndBlock.defer(tx, [{ ...points, ...block, open_log_block_crc: rowCrc('revocation_open_blocks', block) }]);
  }
  const before = stored ?? (await selectSecrets.rows(tx, channelId));
  const secrets = state.secrets;
  let keep = 0;
  while (
    keep < before.length &&
    keep < secrets.length &&
    big(before[keep]!.secret_index) === u64Col(secrets[keep]!.index, 'a shachain index') &&
    equalBytes(before[keep]!.secret, secrets[keep]!.secret)
  ) {
    keep++;
  }
  if (keep < before.length) await deleteSecretsFrom.defer(tx, channelId, keep);
  // Rows (and their checksums) only for the secrets that change.
  const rows = secrets.slice(keep).map((e, i) => {
    const row = { channel_id: channelId, seq: keep + i, secret_index: u64Col(e.index, 'a shachain index'), secret: bytesCol(e.secret, 'secret') };
    return { ...row, crc: rowCrc('revocation_secrets', row) };
  });
  await insertSecretRows.defer(tx, rows);
}

// --- external funding -----------------------------------------------------------------------

function externalFundingOfRow(row: { unsigned_psbt: Uint8Array; deadline_ms: bigint | number; submitted: bigint | number; signed_tx: Uint8Array | null }): ExternalFundingState {
  const state: ExternalFundingState = { unsignedPsbt: bytes(row.unsigned_psbt), deadlineMs: num(row.deadline_ms), submitted: boolOf(row.submitted, 'external_fundings.submitted') };
  return row.signed_tx === null ? state : { ...state, signedTx: bytes(row.signed_tx) };
}

/** The external_fundings columns of `state`. */
export function externalFundingColumns(state: ExternalFundingState) {
  return {
    unsigned_psbt: state.unsignedPsbt,
    deadline_ms: state.deadlineMs,
    submitted: flag(state.submitted),
    signed_tx: state.signedTx ?? null,
  };
}

/** The external funding state of a channel, or undefined. */
export async function readExternalFunding(tx: SqlTx, channelId: number): Promise<ExternalFundingState | undefined> {
  const row = await tx.selectFrom('external_fundings').selectAll().where('channel_id', '=', channelId).executeTakeFirst();
  return row === undefined ? undefined : externalFundingOfRow(row);
}

// --- whole channels -------------------------------------------------------------------------

// Columns the listing reads, in the order its rows come back as arrays. The short channel
// ids come last, in halves (SPLIT_SCIDS).
const LIST_CHANNEL_COLUMNS = [
  'id',
  'chan_type',
  'chain_hash',
  'txid',
  'output_index',
  'is_pending',
  'is_initiator',
  'status',
  'funding_broadcast_height',
  'confirmation_height',
  'num_confs_required',
  'channel_flags',
  'node_pub',
  'capacity_sat',
  'total_msat_sent',
  'total_msat_received',
  'initial_local_balance_msat',
  'initial_remote_balance_msat',
  'revocation_key_family',
  'revocation_key_index',
  'thaw_height',
  'close_confirmation_height',
  'funding_tx',
  'local_shutdown_script',
  'remote_shutdown_script',
  'memo',
  'last_was_revoke',
] as const;
/**
 * The two short channel id columns of the listing, each as its high (arithmetic shift) and
 * low 32 bits: every real scid is above 2^53 (the block height sits in the top 24 bits), and
 * halves stay small integers a driver returns without a BigInt each (sqlite.ts listingRows).
 */
const SPLIT_SCIDS = [
  sql<number>`short_channel_id >> 32`.as('scid_high'),
  sql<number>`short_channel_id & 4294967295`.as('scid_low'),
  sql<number | null>`real_scid >> 32`.as('real_scid_high'),
  sql<number | null>`real_scid & 4294967295`.as('real_scid_low'),
];

/** The stored INT8 value of an id read in halves (SPLIT_SCIDS). */
function joinHalves(high: unknown, low: unknown): bigint {
  return (BigInt(high as bigint | number) << 32n) | BigInt(low as bigint | number);
}

const LIST_COMMITMENT_COLUMNS = ['party', ...CRC_COLUMNS.commitments, 'crc'] as const;
const LIST_HTLC_COLUMNS = ['party', ...CRC_COLUMNS.htlcs, 'crc'] as const;
const LIST_POINT_COLUMNS = [...CRC_COLUMNS.revocation_states, 'crc'] as const;
const LIST_SECRET_COLUMNS = [...CRC_COLUMNS.revocation_secrets, 'crc'] as const;
const LIST_EXTERNAL_COLUMNS = ['channel_id', 'unsigned_psbt', 'deadline_ms', 'submitted', 'signed_tx'] as const;
const LIST_CONFIG_COLUMNS = [
  'channel_id',
  'side',
  'chan_reserve_sat',
  'max_pending_amount_msat',
  'min_htlc_msat',
  'max_accepted_htlcs',
  'dust_limit_sat',
  'csv_delay',
  ...CONFIG_KEYS.flatMap(([, key, family, index]) => [key, family, index]),
] as const;

/** The object of an array row of `columns`. */
function objectOf<R>(columns: readonly string[], values: readonly unknown[]): R {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) out[columns[i]!] = values[i];
  return out as R;
}

/** DB_CORRUPT unless an array row's checksum (its last value) matches the values from `from` to before it. */
function verifyArrayCrc(table: CrcTable, values: readonly unknown[], from: number, where: () => string): void {
  const stored = values[values.length - 1];
  if (stored === null || stored === undefined) throw new ChandError(ErrorCode.DB_CORRUPT, `stored data failed its integrity check: ${table} row ${where()} has no checksum`);
  if (Number(stored) !== crcOfValues(values, from, values.length - 1)) {
    throw new ChandError(ErrorCode.DB_CORRUPT, `stored data failed its integrity check: ${table} row ${where()} does not match its checksum`);
  }
}

/** What a listing read of one channel besides its row, kept for its parts' first access. */
interface ListedRows {
  readonly configs: Map<number, readonly unknown[]>;
  readonly local: readonly unknown[];
  readonly remote: readonly unknown[];
  readonly htlcs: ReadonlyArray<readonly unknown[]>;
  readonly points: readonly unknown[] | undefined;
  readonly secrets: ReadonlyArray<readonly unknown[]>;
  readonly external: readonly unknown[] | undefined;
  readonly id: number;
}

function configOfListed(s: ListedRows, side: number): ChannelConfig {
  const row = s.configs.get(side);
  if (row === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, `channel row ${s.id} has no config for side ${side}`);
  return configOfRow(objectOf(LIST_CONFIG_COLUMNS, row));
}

function commitmentOfListed(s: ListedRows, party: number): ChannelCommitment {
  const row = party === Party.Local ? s.local : s.remote;
  const htlcs = s.htlcs.filter((h) => num(h[0] as bigint) === party).map((h) => htlcOfRow(objectOf(LIST_HTLC_COLUMNS, h)));
  return commitmentOfRow(objectOf(LIST_COMMITMENT_COLUMNS, row), htlcs);
}

const LISTED_PARTS: ChannelPartDecoders<ListedRows> = {
  localConfig: (s) => configOfListed(s, ConfigSide.Local),
  remoteConfig: (s) => configOfListed(s, ConfigSide.Remote),
  localCommitment: (s) => commitmentOfListed(s, Party.Local),
  remoteCommitment: (s) => commitmentOfListed(s, Party.Remote),
  remoteRevocation: (s) =>
    revocationOf(
      s.points === undefined ? undefined : objectOf(LIST_POINT_COLUMNS, s.points),
      s.secrets.map((r) => objectOf<SecretRow>(LIST_SECRET_COLUMNS, r)),
    ),
  externalFunding: (s) => externalFundingOfRow(objectOf(LIST_EXTERNAL_COLUMNS, s.external!)),
};

/** `map`'s list under `id`, created if missing. */
function listOf<T>(map: Map<number, T[]>, id: number): T[] {
  let list = map.get(id);
  if (list === undefined) map.set(id, (list = []));
  return list;
}

/**
 * Every channel matching `filter`, in channel-point order. A fixed number of queries
 * whatever the count (no query per channel), so loading thousands at start is bounded by
 * row volume; rows are read as arrays, and every checksum is verified now (DB_CORRUPT), but
 * configs, commitments, HTLCs, revocation state and external funding become objects only
 * when a caller first touches them (chanstate/lazy-parts.ts).
 */
export async function loadChannels(tx: SqlTx, filter: ChannelFilter): Promise<OpenChannel[]> {
  const ids = tx.selectFrom('channels').select('id').where(filter);
  // One batch (one round trip on PostgreSQL), rows as arrays of the listed columns.
  const [rows, commitments, htlcs, points, secrets, externals, configs] = (
    await runMany(
      tx,
      [
        tx.selectFrom('channels').select(LIST_CHANNEL_COLUMNS).select(SPLIT_SCIDS).where(filter).orderBy('txid').orderBy('output_index'),
        tx.selectFrom('commitments').select(LIST_COMMITMENT_COLUMNS).where('channel_id', 'in', ids).where('party', '<', Party.RemoteTip),
        tx.selectFrom('htlcs').select(LIST_HTLC_COLUMNS).where('channel_id', 'in', ids).where('party', '<', Party.RemoteTip).orderBy('channel_id').orderBy('party').orderBy('seq'),
        tx.selectFrom('revocation_states').select(LIST_POINT_COLUMNS).where('channel_id', 'in', ids),
        tx.selectFrom('revocation_secrets').select(LIST_SECRET_COLUMNS).where('channel_id', 'in', ids).orderBy('channel_id').orderBy('seq'),
        tx.selectFrom('external_fundings').select(LIST_EXTERNAL_COLUMNS).where('channel_id', 'in', ids),
        tx.selectFrom('channel_configs').select(LIST_CONFIG_COLUMNS).where('channel_id', 'in', ids).where('side', 'in', [ConfigSide.Local, ConfigSide.Remote]),
      ].map((q) => q.compile()),
      true,
    )
  ).map((r) => r.rows as unknown[][]) as [unknown[][], unknown[][], unknown[][], unknown[][], unknown[][], unknown[][], unknown[][]];
  if (rows.length === 0) return [];

  // Checksums first, for every row: damage is found by the listing, not by a later access.
  const name = (r: readonly unknown[], keys: number) => () => r.slice(0, keys).join('/');
  const commitmentsById = new Map<number, Array<readonly unknown[]>>();
  for (const r of commitments) {
    verifyArrayCrc('commitments', r, 1, () => `${r[1]}/${r[0]}`);
    listOf(commitmentsById, num(r[1] as bigint)).push(r);
  }
  const htlcsById = new Map<number, Array<readonly unknown[]>>();
  for (const r of htlcs) {
    verifyArrayCrc('htlcs', r, 1, () => `${r[1]}/${r[0]}/${r[2]}`);
    listOf(htlcsById, num(r[1] as bigint)).push(r);
  }
  const pointsById = new Map<number, readonly unknown[]>();
  for (const r of points) {
    verifyArrayCrc('revocation_states', r, 0, name(r, 1));
    pointsById.set(num(r[0] as bigint), r);
  }
  const secretsById = new Map<number, Array<readonly unknown[]>>();
  for (const r of secrets) {
    verifyArrayCrc('revocation_secrets', r, 0, name(r, 2));
    listOf(secretsById, num(r[0] as bigint)).push(r);
  }
  const externalById = new Map(externals.map((r) => [num(r[0] as bigint), r]));
  const configsById = new Map<number, Map<number, readonly unknown[]>>();
  for (const r of configs) {
    const id = num(r[0] as bigint);
    let byside = configsById.get(id);
    if (byside === undefined) configsById.set(id, (byside = new Map()));
    byside.set(num(r[1] as bigint), r);
  }

  return rows.map((values) => {
    const row = objectOf<Selectable<ChannelsTable>>(LIST_CHANNEL_COLUMNS, values);
    const at = LIST_CHANNEL_COLUMNS.length;
    row.short_channel_id = joinHalves(values[at], values[at + 1]);
    row.real_scid = values[at + 2] === null ? null : joinHalves(values[at + 2], values[at + 3]);
    const id = num(row.id);
    const info = fieldsOfRow(row) as Writable<EagerChannelFields>;
    info.lastWasRevoke = boolOf(row.last_was_revoke, 'channels.last_was_revoke');
    const slots = commitmentsById.get(id) ?? [];
    const slot = (party: number) => {
      const c = slots.find((r) => num(r[0] as bigint) === party);
      if (c === undefined) throw missingCommitment(info.fundingOutpoint, party === Party.Local ? 'local' : 'remote');
      return c;
    };
    const external = externalById.get(id);
    const listed: ListedRows = {
      id,
      configs: configsById.get(id) ?? new Map(),
      local: slot(Party.Local),
      remote: slot(Party.Remote),
      htlcs: htlcsById.get(id) ?? [],
      points: pointsById.get(id),
      secrets: secretsById.get(id) ?? [],
      external,
    };
    return listedChannel(info, listed, LISTED_PARTS, external !== undefined);
  });
}

/** The open channel at `op`, assembled. CHANNEL_NOT_FOUND if absent or closed. */
export async function readChannel(tx: SqlTx, op: OutPoint): Promise<OpenChannel> {
  const [channel] = await loadChannels(tx, openAt(op));
  if (channel === undefined) throw channelNotFound(op);
  return channel;
}

/**
 * Writes a brand-new channel with every part of it, and moves the key-index allocator past
 * its key index. CHANNEL_ALREADY_EXISTS if its channel point (open or closed) or channel id
 * is already known; CHANNEL_KEY_INDEX_REUSED if another channel (open or closed) uses its
 * key index. Runs in an `exclusive` transaction (the coordinator's), so no concurrent
 * insert can slip between the checks and the write.
 */
export async function insertChannel(tx: SqlTx, channel: OpenChannel): Promise<number> {
  const info = infoOf(channel);
  const op = info.fundingOutpoint;
  const values = channelRow(info, channel.lastWasRevoke);
  const taken = await tx
    .selectFrom('channels')
    .select('id')
    .where((eb) => eb.or([eb.and([eb('txid', '=', values.txid), eb('output_index', '=', op.index)]), eb('wire_channel_id', '=', values.wire_channel_id)]))
    .executeTakeFirst();
  if (taken !== undefined) throw new ChandError(ErrorCode.CHANNEL_ALREADY_EXISTS, `channel ${formatOutPoint(op)} already exists`);
  const keyIndex = keyIndexOf(channel);
  const owner = await tx.selectFrom('channels').select(['txid', 'output_index']).where('revocation_key_index', '=', keyIndex).executeTakeFirst();
  if (owner !== undefined) throw keyIndexReused(op, keyIndex, { txid: hex(owner.txid), index: num(owner.output_index) });
  await moveKeyIndexCounter(tx, keyIndex);
  const inserted = await tx.insertInto('channels').values(values).returning('id').executeTakeFirstOrThrow();
  const id = num(inserted.id);
  await tx.insertInto('channel_configs').values([configRow(id, ConfigSide.Local, info.localConfig), configRow(id, ConfigSide.Remote, info.remoteConfig)]).execute();
  await insertCommitment(tx, id, Party.Local, channel.localCommitment);
  await insertCommitment(tx, id, Party.Remote, channel.remoteCommitment);
  await writeRevocation(tx, id, channel.remoteRevocation);
  if (channel.externalFunding !== undefined) {
    await tx.insertInto('external_fundings').values({ channel_id: id, ...externalFundingColumns(channel.externalFunding) }).execute();
  }
  return id;
}

// --- closed channels ------------------------------------------------------------------------

/** The closed_channels columns of a close summary. */
export function closeSummaryColumns(summary: ChannelCloseSummary) {
  return {
    short_channel_id: u64Col(summary.shortChannelId),
    chain_hash: hexCol(summary.chainHash, 32),
    closing_txid: hexCol(summary.closingTxid, 32),
    remote_pub: hexCol(summary.remotePub, 33),
    capacity_sat: amountCol(summary.capacitySat, 'capacitySat'),
    close_height: summary.closeHeight,
    settled_balance_sat: amountCol(summary.settledBalanceSat, 'settledBalanceSat'),
    time_locked_balance_sat: amountCol(summary.timeLockedBalanceSat, 'timeLockedBalanceSat'),
    close_type: summary.closeType,
    is_pending: flag(summary.isPending),
    remote_current_revocation: summary.remoteCurrentRevocation === undefined ? null : hexCol(summary.remoteCurrentRevocation, 33),
    remote_next_revocation: summary.remoteNextRevocation === undefined ? null : hexCol(summary.remoteNextRevocation, 33),
    last_chan_sync_msg: summary.lastChanSyncMsg ?? null,
  };
}

/** A closed_channels row joined with its channel point. */
export interface ClosedRow extends Selectable<Database['closed_channels']> {
  readonly txid: Uint8Array;
  readonly output_index: bigint | number;
}

/** The summary of a closed_channels row. */
export function summaryOfRow(row: ClosedRow, localConfig: ChannelConfig): ChannelCloseSummary {
  const summary: ChannelCloseSummary = {
    chanPoint: { txid: hexOf(row.txid, 32, 'channels.txid'), index: num(row.output_index) },
    shortChannelId: u64Of(row.short_channel_id),
    chainHash: hexOf(row.chain_hash, 32, 'closed_channels.chain_hash'),
    closingTxid: hexOf(row.closing_txid, 32, 'closed_channels.closing_txid'),
    remotePub: hexOf(row.remote_pub, 33, 'closed_channels.remote_pub'),
    capacitySat: big(row.capacity_sat),
    closeHeight: num(row.close_height),
    settledBalanceSat: big(row.settled_balance_sat),
    timeLockedBalanceSat: big(row.time_locked_balance_sat),
    closeType: enumOf(row.close_type, CLOSE_TYPES, 'closed_channels.close_type'),
    isPending: boolOf(row.is_pending, 'closed_channels.is_pending'),
    localConfig,
  };
  return {
    ...summary,
    ...(row.remote_current_revocation === null ? {} : { remoteCurrentRevocation: hexOf(row.remote_current_revocation, 33, 'closed_channels.remote_current_revocation') }),
    ...(row.remote_next_revocation === null ? {} : { remoteNextRevocation: hexOf(row.remote_next_revocation, 33, 'closed_channels.remote_next_revocation') }),
    ...(row.last_chan_sync_msg === null ? {} : { lastChanSyncMsg: bytes(row.last_chan_sync_msg) }),
  };
}

/** Close summaries matching `filter` on the closed_channels/channels join, in channel-point order. */
export async function closedSummaries(
  tx: SqlTx,
  filter?: (eb: ExpressionBuilder<Database, 'closed_channels' | 'channels'>) => Expression<SqlBool>,
  lock = false,
): Promise<ChannelCloseSummary[]> {
  const rows = await tx
    .selectFrom('closed_channels')
    .innerJoin('channels', 'channels.id', 'closed_channels.channel_id')
    .selectAll('closed_channels')
    .select(['channels.txid', 'channels.output_index'])
    .$if(filter !== undefined, (qb) => qb.where(filter!))
    .$if(lock, (qb) => qb.forUpdate())
    .orderBy('channels.txid')
    .orderBy('channels.output_index')
    .execute();
  const configs = await readConfigs(
    tx,
    rows.map((r) => num(r.channel_id)),
    [ConfigSide.CloseSummary],
  );
  return rows.map((r) => summaryOfRow(r, requireConfig(configs, num(r.channel_id), ConfigSide.CloseSummary)));
}

/** The close summary of `op`, or undefined. */
export async function readClosedSummary(tx: SqlTx, op: OutPoint, lock = false): Promise<ChannelCloseSummary | undefined> {
  const txid = hexToBytes(op.txid);
  const [summary] = await closedSummaries(tx, (eb) => eb.and([eb('channels.txid', '=', txid), eb('channels.output_index', '=', op.index)]), lock);
  return summary;
}

/** Sets is_pending of the close summary of channel `channelId`. */
export async function setSummaryPending(tx: SqlTx, channelId: number, isPending: boolean): Promise<void> {
  await tx.updateTable('closed_channels').set({ is_pending: flag(isPending) }).where('channel_id', '=', channelId).execute();
}

/**
 * What peer `nodePub` has that keeps its link node (rules.peerNeedsLinkNode): channels not
 * closed, and closed ones whose summary is still pending.
 */
export async function peerChannelCounts(tx: SqlTx, nodePub: Uint8Array): Promise<PeerChannelCounts> {
  const notClosed = await tx
    .selectFrom('channels')
    .select(sql<bigint | number>`count(*)`.as('n'))
    .where('node_pub', '=', nodePub)
    .where('closed', '=', 0)
    .executeTakeFirstOrThrow();
  const pendingCloses = await tx
    .selectFrom('closed_channels')
    .select(sql<bigint | number>`count(*)`.as('n'))
    .where('remote_pub', '=', nodePub)
    .where('is_pending', '=', 1)
    .executeTakeFirstOrThrow();
  return { notClosed: num(notClosed.n), pendingCloses: num(pendingCloses.n) };
}

// --- the channel key-index allocator --------------------------------------------------------

/** The allocator's stored value. DB_CORRUPT if its row is missing (migration 2 creates it). */
export async function readKeyIndexCounter(tx: SqlTx): Promise<number> {
  const row = await tx.selectFrom('chand_counters').select('value').where('name', '=', KEY_INDEX_COUNTER).executeTakeFirst();
  if (row === undefined) throw new ChandError(ErrorCode.DB_CORRUPT, `stored data failed its integrity check: the ${KEY_INDEX_COUNTER} counter is missing`);
  return num(row.value);
}

/** Stores the allocator's value. */
export async function writeKeyIndexCounter(tx: SqlTx, value: number): Promise<void> {
  await tx.updateTable('chand_counters').set({ value }).where('name', '=', KEY_INDEX_COUNTER).execute();
}

/** Moves the allocator past key index `index` (rules.counterAfter); never backwards. */
async function moveKeyIndexCounter(tx: SqlTx, index: number): Promise<void> {
  const counter = await readKeyIndexCounter(tx);
  const next = counterAfter(counter, index);
  if (next !== counter) await writeKeyIndexCounter(tx, next);
}

/** Counts of a table's rows, as a number. */
export async function countRows(tx: SqlTx, table: keyof Database): Promise<number> {
  const row = await tx.selectFrom(table).select(sql<bigint | number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return num(row.n);
}

