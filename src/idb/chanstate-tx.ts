/**
 * Transaction-scoped channel-state operations on an IndexedDB transaction.
 *
 * The IndexedDB store runs each of its methods as one transaction made of these functions;
 * the IndexedDB coordinator composes them with link-node operations in one transaction too.
 * They are async only because IndexedDB requests are: each awaits nothing but requests of
 * the transaction passed in (transactions.ts), and calls the synchronous domain rules of
 * chanstate/rules.ts in between.
 */
import type { SecretToPoint } from '../bitcoin/secret-point.js';
import { channelIdOf, formatOutPoint } from '../chanstate/channel-id.js';
import {
  archivedChannelRecord,
  channelInfoRecord,
  closeSummaryRecord,
  commitmentRecord,
  externalFundingRecord,
  fwdPkgRecord,
  logUpdateListRecord,
  remoteRevocationRecord,
  type ChannelInfo,
} from '../chanstate/records.js';
import { fwdPkgState } from '../chanstate/pkg-filter.js';
import {
  assertMutable,
  channelNotFound,
  counterAfter,
  keyIndexOf,
  keyIndexReused,
  missingCommitment,
  type PeerChannelCounts,
} from '../chanstate/rules.js';
import type {
  ChannelCloseSummary,
  ChannelCommitment,
  ExternalFundingState,
  FwdPkg,
  LogUpdate,
  OpenChannel,
  OutPoint,
  RemoteRevocationState,
  ShortChannelId,
} from '../chanstate/types.js';
import { ChandError, ErrorCode } from '../errors.js';
import {
  CHANNEL_ID_INDEX,
  CHANNEL_REGISTRY,
  CHANNELS,
  CLOSED_SUMMARIES,
  COMMITMENTS,
  EXTERNAL_FUNDING,
  FWD_PACKAGES,
  HISTORICAL,
  KEY_INDEX_COUNTER,
  KEY_INDEX_INDEX,
  LAST_WAS_REVOKE,
  META,
  PEER_INDEX,
  PEER_PENDING_INDEX,
  PURGE_QUEUE,
  REVOCATION_STATES,
  opKey,
  opOfKey,
  scidKey,
  under,
  type ChannelRow,
  type ClosedRow,
  type RegistryRow,
} from './stores.js';
import type { IdbConnection, IdbTx } from './transactions.js';

/** Commitment party tag of our local commitment in COMMITMENTS keys. */
export const LOCAL = 0;
/** Commitment party tag of the remote commitment in COMMITMENTS keys. */
export const REMOTE = 1;
/** A commitment party tag. */
export type Party = typeof LOCAL | typeof REMOTE;

/** The info record of an open (not closed) channel, or undefined. */
export async function readInfo(tx: IdbTx, op: OutPoint): Promise<ChannelInfo | undefined> {
  const row = await tx.get<ChannelRow>(CHANNELS, opKey(op));
  return row === undefined ? undefined : channelInfoRecord.decode(row.info);
}

/** The info record of an open channel; CHANNEL_NOT_FOUND if absent or closed. */
export async function requireInfo(tx: IdbTx, op: OutPoint): Promise<ChannelInfo> {
  const info = await readInfo(tx, op);
  if (info === undefined) throw channelNotFound(op);
  return info;
}

/** The fields of the info record the commitment hot path needs. */
export type MutableInfo = Pick<ChannelInfo, 'status' | 'shortChannelId'>;

/**
 * The status and short channel id of an open channel whose commitments may change: refuses
 * borked and restored channels. Decodes only those two fields, because it runs on every
 * step of every payment round.
 */
export async function requireMutable(tx: IdbTx, op: OutPoint): Promise<MutableInfo> {
  const row = await tx.get<ChannelRow>(CHANNELS, opKey(op));
  if (row === undefined) throw channelNotFound(op);
  const info = channelInfoRecord.decodeFields(row.info, ['status', 'shortChannelId']);
  assertMutable(info.status, op);
  return info;
}

/** The commitment in slot `party`; DECODE_FAILED if missing (a corrupt channel). */
export async function readCommitment(tx: IdbTx, op: OutPoint, party: Party): Promise<ChannelCommitment> {
  const bytes = await tx.get<Uint8Array>(COMMITMENTS, [opKey(op), party]);
  if (bytes === undefined) throw missingCommitment(op, party === LOCAL ? 'local' : 'remote');
  return commitmentRecord.decode(bytes);
}

/** Writes the commitment in slot `party`. */
export function writeCommitment(tx: IdbTx, op: OutPoint, party: Party, commitment: ChannelCommitment): void {
  tx.put(COMMITMENTS, [opKey(op), party], commitmentRecord.encode(commitment));
}

/** The remote revocation state ({secrets: []} when none was stored). */
export async function readRevocation(tx: IdbTx, op: OutPoint): Promise<RemoteRevocationState> {
  const bytes = await tx.get<Uint8Array>(REVOCATION_STATES, opKey(op));
  return bytes === undefined ? { secrets: [] } : remoteRevocationRecord.decode(bytes);
}

/** Writes the remote revocation state. */
export function writeRevocation(tx: IdbTx, op: OutPoint, state: RemoteRevocationState): void {
  tx.put(REVOCATION_STATES, opKey(op), remoteRevocationRecord.encode(state));
}

/** The external funding state of a channel, or undefined. */
export async function readExternalFunding(tx: IdbTx, op: OutPoint): Promise<ExternalFundingState | undefined> {
  const bytes = await tx.get<Uint8Array>(EXTERNAL_FUNDING, opKey(op));
  return bytes === undefined ? undefined : externalFundingRecord.decode(bytes);
}

// --- forwarding packages ---------------------------------------------------------------

/** The package (source, height), or undefined. */
export async function readFwdPkg(tx: IdbTx, source: ShortChannelId, height: number): Promise<FwdPkg | undefined> {
  const bytes = await tx.get<Uint8Array>(FWD_PACKAGES, [scidKey(source), height]);
  return bytes === undefined ? undefined : fwdPkgRecord.decode(bytes);
}

/** Writes a package under its source and height, its state derived from its filters. */
export function writeFwdPkg(tx: IdbTx, pkg: FwdPkg): void {
  tx.put(FWD_PACKAGES, [scidKey(pkg.source), pkg.height], fwdPkgRecord.encode({ ...pkg, state: fwdPkgState(pkg) }));
}

/** Deletes the package (source, height); a missing one is fine. */
export function deleteFwdPkg(tx: IdbTx, source: ShortChannelId, height: number): void {
  tx.delete(FWD_PACKAGES, [scidKey(source), height]);
}

/** Every package of short channel id `source`, by height. */
export async function fwdPkgsOf(tx: IdbTx, source: ShortChannelId): Promise<FwdPkg[]> {
  return (await tx.getAll<Uint8Array>(FWD_PACKAGES, under(tx.ranges, scidKey(source)))).map((v) => fwdPkgRecord.decode(v));
}

// --- update lists ----------------------------------------------------------------------

/** The update list in `store` (UNSIGNED_ACKED_UPDATES or REMOTE_UNSIGNED_LOCAL_UPDATES); empty when absent. */
export async function readUpdates(tx: IdbTx, store: string, op: OutPoint): Promise<LogUpdate[]> {
  const bytes = await tx.get<Uint8Array>(store, opKey(op));
  return bytes === undefined ? [] : [...logUpdateListRecord.decode(bytes).updates];
}

/** Writes an update list; an empty one is deleted. */
export function writeUpdates(tx: IdbTx, store: string, op: OutPoint, updates: readonly LogUpdate[]): void {
  if (updates.length === 0) tx.delete(store, opKey(op));
  else tx.put(store, opKey(op), logUpdateListRecord.encode({ updates }));
}

// --- channels --------------------------------------------------------------------------

/** Writes the info record of an open channel. */
export function writeInfo(tx: IdbTx, info: ChannelInfo): void {
  const row: ChannelRow = { peer: info.identityPub, info: channelInfoRecord.encode(info) };
  tx.put(CHANNELS, opKey(info.fundingOutpoint), row);
}

/** Splits an OpenChannel into its info record and the parts stored in their own stores. */
export function infoOf(channel: OpenChannel): ChannelInfo {
  const { localCommitment: _l, remoteCommitment: _r, remoteRevocation: _v, lastWasRevoke: _w, externalFunding: _e, ...info } = channel;
  return info;
}

/** Assembles the full OpenChannel of an open channel; CHANNEL_NOT_FOUND if absent or closed. */
export async function readChannel(tx: IdbTx, op: OutPoint): Promise<OpenChannel> {
  return assemble(tx, await requireInfo(tx, op));
}

/** The OpenChannel of `info`, with its parts read from their stores (CHANNEL_PART_STORES). */
export async function assemble(tx: IdbTx, info: ChannelInfo): Promise<OpenChannel> {
  const op = info.fundingOutpoint;
  const key = opKey(op);
  const [local, remote, remoteRevocation, lastWasRevoke, external] = await Promise.all([
    readCommitment(tx, op, LOCAL),
    readCommitment(tx, op, REMOTE),
    readRevocation(tx, op),
    tx.get<number>(LAST_WAS_REVOKE, key),
    readExternalFunding(tx, op),
  ]);
  const channel: OpenChannel = { ...info, localCommitment: local, remoteCommitment: remote, remoteRevocation, lastWasRevoke: lastWasRevoke === 1 };
  return external === undefined ? channel : { ...channel, externalFunding: external };
}

/** Every open channel's info, in channel-point order. */
export async function allInfos(tx: IdbTx): Promise<ChannelInfo[]> {
  return (await tx.getAll<ChannelRow>(CHANNELS)).map((row) => channelInfoRecord.decode(row.info));
}

/** The infos of the peer's channels that are not closed, in channel-point order. */
export async function infosOfPeer(tx: IdbTx, nodeId: string): Promise<ChannelInfo[]> {
  return (await tx.indexGetAll<ChannelRow>(CHANNELS, PEER_INDEX, nodeId)).map((row) => channelInfoRecord.decode(row.info));
}

/**
 * Writes a brand-new channel with every part of it (NEW_CHANNEL_STORES). CHANNEL_ALREADY_EXISTS
 * if its channel point (open or closed) or channel id is already known;
 * CHANNEL_KEY_INDEX_REUSED if another channel has its key index.
 */
export async function putNewChannel(tx: IdbTx, channel: OpenChannel): Promise<void> {
  const op = channel.fundingOutpoint;
  const key = opKey(op);
  const channelId = channelIdOf(op);
  const index = keyIndexOf(channel);
  const [known, idOwner, indexOwner, counter] = await Promise.all([
    tx.get<RegistryRow>(CHANNEL_REGISTRY, key),
    tx.indexGetKey(CHANNEL_REGISTRY, CHANNEL_ID_INDEX, channelId),
    tx.indexGetKey(CHANNEL_REGISTRY, KEY_INDEX_INDEX, index),
    readKeyIndexCounter(tx),
  ]);
  if (known !== undefined || idOwner !== undefined) {
    throw new ChandError(ErrorCode.CHANNEL_ALREADY_EXISTS, `channel ${formatOutPoint(op)} already exists`);
  }
  if (indexOwner !== undefined) throw keyIndexReused(op, index, opOfKey(indexOwner));
  const registry: RegistryRow = { channelId, keyIndex: index, closed: 0 };
  tx.put(CHANNEL_REGISTRY, key, registry);
  writeKeyIndexCounter(tx, counterAfter(counter, index));
  writeInfo(tx, infoOf(channel));
  writeCommitment(tx, op, LOCAL, channel.localCommitment);
  writeCommitment(tx, op, REMOTE, channel.remoteCommitment);
  writeRevocation(tx, op, channel.remoteRevocation);
  tx.put(LAST_WAS_REVOKE, key, channel.lastWasRevoke ? 1 : 0);
  if (channel.externalFunding !== undefined) tx.put(EXTERNAL_FUNDING, key, externalFundingRecord.encode(channel.externalFunding));
}

/** The next channel key index to hand out (0 on a new database). */
export async function readKeyIndexCounter(tx: IdbTx): Promise<number> {
  return (await tx.get<number>(META, KEY_INDEX_COUNTER)) ?? 0;
}

/** Stores the next channel key index to hand out. */
export function writeKeyIndexCounter(tx: IdbTx, next: number): void {
  tx.put(META, KEY_INDEX_COUNTER, next);
}

/** True if the channel point was ever written (open or closed). */
export async function channelKnown(tx: IdbTx, op: OutPoint): Promise<boolean> {
  return (await tx.get<RegistryRow>(CHANNEL_REGISTRY, opKey(op))) !== undefined;
}

// --- closes ----------------------------------------------------------------------------

/** The close summary of `op`, or undefined. */
export async function readClosedSummary(tx: IdbTx, op: OutPoint): Promise<ChannelCloseSummary | undefined> {
  const row = await tx.get<ClosedRow>(CLOSED_SUMMARIES, opKey(op));
  return row === undefined ? undefined : closeSummaryRecord.decode(row.summary);
}

/** Writes a close summary with the fields its index needs. */
export function writeClosedSummary(tx: IdbTx, summary: ChannelCloseSummary): void {
  const row: ClosedRow = { peer: summary.remotePub, pending: summary.isPending ? 1 : 0, summary: closeSummaryRecord.encode(summary) };
  tx.put(CLOSED_SUMMARIES, opKey(summary.chanPoint), row);
}

/** Every close summary, in channel-point order. */
export async function allClosedSummaries(tx: IdbTx): Promise<ChannelCloseSummary[]> {
  return (await tx.getAll<ClosedRow>(CLOSED_SUMMARIES)).map((row) => closeSummaryRecord.decode(row.summary));
}

/**
 * The close itself (CLOSE_STORES), shared by closeChannel, abandonChannel and
 * cancelExternalFunding: archives the channel (with `extraStatus`), writes the summary,
 * removes it from the open set (and its external funding state), marks it closed in the
 * registry and queues its bulk data for the purge.
 */
export async function closeChannelTx(tx: IdbTx, info: ChannelInfo, summary: ChannelCloseSummary, extraStatus: number): Promise<void> {
  const op = info.fundingOutpoint;
  const key = opKey(op);
  const channel = await assemble(tx, info);
  tx.put(
    HISTORICAL,
    key,
    archivedChannelRecord.encode({
      info: { ...info, status: info.status | extraStatus },
      localCommitment: channel.localCommitment,
      remoteCommitment: channel.remoteCommitment,
      remoteRevocation: channel.remoteRevocation,
      lastWasRevoke: channel.lastWasRevoke,
    }),
  );
  writeClosedSummary(tx, summary);
  tx.delete(CHANNELS, key);
  tx.delete(EXTERNAL_FUNDING, key);
  const registry: RegistryRow = { channelId: channelIdOf(op), keyIndex: keyIndexOf(info), closed: 1 };
  tx.put(CHANNEL_REGISTRY, key, registry);
  tx.put(PURGE_QUEUE, key, scidKey(info.shortChannelId));
}

/** What the link-node rule needs to know of a peer (rules.ts peerNeedsLinkNode), from the two indexes. */
export async function peerChannelCounts(tx: IdbTx, nodeId: string): Promise<PeerChannelCounts> {
  const [notClosed, pendingCloses] = await Promise.all([
    tx.indexCount(CHANNELS, PEER_INDEX, nodeId),
    tx.indexCount(CLOSED_SUMMARIES, PEER_PENDING_INDEX, [nodeId, 1]),
  ]);
  return { notClosed, pendingCloses };
}

/** What every IndexedDB facet of the channel-state store works with. */
export interface IdbStoreContext {
  readonly conn: IdbConnection;
  /** Keep both balances in revocation log entries. */
  readonly balances: boolean;
  /** Record off-chain final HTLC outcomes. */
  readonly finalHtlcs: boolean;
  /** secret·G for the revealed-secret check (ChannelStateOptions.secretToPoint, resolved). */
  readonly secretToPoint: SecretToPoint;
}

/** Rewrites the info record of the open channel at `op` with `change` applied (one transaction over CHANNELS); returns it. */
export function changeInfo(ctx: IdbStoreContext, op: OutPoint, change: (info: ChannelInfo) => ChannelInfo): Promise<ChannelInfo> {
  return ctx.conn.run([CHANNELS], 'readwrite', async (tx) => {
    const next = change(await requireInfo(tx, op));
    writeInfo(tx, next);
    return next;
  });
}
