/**
 * Transaction-scoped channel-state operations on a KV transaction.
 *
 * The KV store runs each of its methods as one engine transaction made of these functions;
 * the KV coordinator composes them with link-node operations in one transaction too. They
 * read and write only through the transaction passed in and build no outside state, so an
 * engine may re-run them.
 */
import type { SecretToPoint } from '../bitcoin/secret-point.js';
import { channelIdOf, formatOutPoint, outPointFromKey, outPointKey } from '../chanstate/channel-id.js';
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
  type SummarySource,
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
import { hexToBytes } from '../codec/bytes.js';
import { listedChannel, type ChannelPartDecoders } from '../chanstate/lazy-parts.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { KvEngine, KvReadTx, KvWriteTx } from './engine.js';
import {
  CHANNEL_ID_INDEX,
  CHANNEL_INFO,
  CHANNEL_KEY_INDEXES,
  CLOSED_SUMMARY,
  COMMITMENT,
  EXTERNAL_FUNDING,
  FWD_PACKAGES,
  HISTORICAL,
  KEY_INDEX_COUNTER,
  LAST_WAS_REVOKE,
  OUTPOINT_INDEX,
  PEER_CHANNELS,
  PURGE_QUEUE,
  REVOCATION_STATE,
  byteKey,
  key,
  keys,
  prefixRange,
  u32Key,
  u64Key,
} from './keys.js';

/** Commitment party tags in COMMITMENT keys. */
export const LOCAL = byteKey(0);
export const REMOTE = byteKey(1);

/** Outpoint index values. */
const OUTPOINT_OPEN = Uint8Array.of(0);
const OUTPOINT_CLOSED = Uint8Array.of(1);

/** The info record of an open (not closed) channel, or undefined. */
export function readInfo(tx: KvReadTx, op: OutPoint): ChannelInfo | undefined {
  const bytes = tx.get(keys.chan(CHANNEL_INFO, op));
  return bytes === undefined ? undefined : channelInfoRecord.decode(bytes);
}

/** The info record of an open channel; CHANNEL_NOT_FOUND if absent or closed. */
export function requireInfo(tx: KvReadTx, op: OutPoint): ChannelInfo {
  const info = readInfo(tx, op);
  if (info === undefined) throw channelNotFound(op);
  return info;
}

/** The fields of the info record the commitment hot path needs. */
export type MutableInfo = Pick<ChannelInfo, 'status' | 'shortChannelId'>;

const STATUS_AND_SCID: ReadonlySet<string> = new Set(['status', 'shortChannelId']);

/**
 * The status and short channel id of an open channel whose commitments may change: refuses
 * borked and restored channels. Decodes only those two fields of the info record, because
 * it runs on every step of every payment round.
 */
export function requireMutable(tx: KvReadTx, op: OutPoint): MutableInfo {
  const bytes = tx.get(keys.chan(CHANNEL_INFO, op));
  if (bytes === undefined) throw channelNotFound(op);
  const info = channelInfoRecord.decode(bytes, STATUS_AND_SCID) as MutableInfo;
  assertMutable(info.status, op);
  return info;
}

/** The commitment in slot `party` (LOCAL or REMOTE); DECODE_FAILED if missing (a corrupt channel). */
export function readCommitment(tx: KvReadTx, op: OutPoint, party: Uint8Array): ChannelCommitment {
  const bytes = tx.get(keys.chan(COMMITMENT, op, party));
  if (bytes === undefined) throw missingCommitment(op, party[0] === 0 ? 'local' : 'remote');
  return commitmentRecord.decode(bytes);
}

/** The remote revocation state ({secrets: []} when none was stored). */
export function readRevocation(tx: KvReadTx, op: OutPoint): RemoteRevocationState {
  const bytes = tx.get(keys.chan(REVOCATION_STATE, op));
  return bytes === undefined ? { secrets: [] } : remoteRevocationRecord.decode(bytes);
}

/** The external funding state of a channel, or undefined. */
export function readExternalFunding(tx: KvReadTx, op: OutPoint): ExternalFundingState | undefined {
  const bytes = tx.get(keys.chan(EXTERNAL_FUNDING, op));
  return bytes === undefined ? undefined : externalFundingRecord.decode(bytes);
}

// --- forwarding packages ---------------------------------------------------------------

/** The package (source, height), or undefined. */
export function readFwdPkg(tx: KvReadTx, source: ShortChannelId, height: number): FwdPkg | undefined {
  const bytes = tx.get(keys.scid(FWD_PACKAGES, source, u64Key(height)));
  return bytes === undefined ? undefined : fwdPkgRecord.decode(bytes);
}

/** Writes a package under its source and height, its state derived from its filters. */
export function writeFwdPkg(tx: KvWriteTx, pkg: FwdPkg): void {
  tx.put(keys.scid(FWD_PACKAGES, pkg.source, u64Key(pkg.height)), fwdPkgRecord.encode({ ...pkg, state: fwdPkgState(pkg) }));
}

/** Every package of short channel id `source`, by height. */
export function fwdPkgsOf(tx: KvReadTx, source: ShortChannelId): FwdPkg[] {
  const out: FwdPkg[] = [];
  for (const [, v] of tx.range(prefixRange(keys.scid(FWD_PACKAGES, source)))) out.push(fwdPkgRecord.decode(v));
  return out;
}

export function readUpdates(tx: KvReadTx, bucket: number, op: OutPoint): LogUpdate[] {
  const bytes = tx.get(keys.chan(bucket, op));
  return bytes === undefined ? [] : [...logUpdateListRecord.decode(bytes).updates];
}

export function writeUpdates(tx: KvWriteTx, bucket: number, op: OutPoint, updates: readonly LogUpdate[]): void {
  if (updates.length === 0) tx.delete(keys.chan(bucket, op));
  else tx.put(keys.chan(bucket, op), logUpdateListRecord.encode({ updates }));
}

export function writeInfo(tx: KvWriteTx, info: ChannelInfo): void {
  tx.put(keys.chan(CHANNEL_INFO, info.fundingOutpoint), channelInfoRecord.encode(info));
}

/** Splits an OpenChannel into its info record and the parts stored under their own keys. */
export function infoOf(channel: OpenChannel): ChannelInfo {
  const { localCommitment: _l, remoteCommitment: _r, remoteRevocation: _v, lastWasRevoke: _w, externalFunding: _e, ...info } = channel;
  return info;
}

/** Assembles the full OpenChannel of an open channel. */
export function readChannel(tx: KvReadTx, op: OutPoint): OpenChannel {
  return assemble(tx, requireInfo(tx, op));
}

export function assemble(tx: KvReadTx, info: ChannelInfo): OpenChannel {
  const op = info.fundingOutpoint;
  const revocation = tx.get(keys.chan(REVOCATION_STATE, op));
  const lastWasRevoke = tx.get(keys.chan(LAST_WAS_REVOKE, op));
  const external = tx.get(keys.chan(EXTERNAL_FUNDING, op));
  const channel: OpenChannel = {
    ...info,
    localCommitment: readCommitment(tx, op, LOCAL),
    remoteCommitment: readCommitment(tx, op, REMOTE),
    remoteRevocation: revocation === undefined ? { secrets: [] } : remoteRevocationRecord.decode(revocation),
    lastWasRevoke: lastWasRevoke !== undefined && lastWasRevoke[0] === 1,
  };
  return external === undefined ? channel : { ...channel, externalFunding: externalFundingRecord.decode(external) };
}

const WITHOUT_CONFIGS: ReadonlySet<string> = new Set(channelInfoRecord.fields.map((f) => f.name).filter((n) => n !== 'localConfig' && n !== 'remoteConfig'));
const LOCAL_CONFIG: ReadonlySet<string> = new Set(['localConfig']);
const REMOTE_CONFIG: ReadonlySet<string> = new Set(['remoteConfig']);

/**
 * The channel of an info record for a listing (lazy-parts.ts): every part is read now, in
 * this transaction (checksums verified by the engine view), but configs, commitments, the
 * revocation state and external funding are decoded on first access.
 */
export function assembleForListing(tx: KvReadTx, infoBytes: Uint8Array, opKey?: Uint8Array): OpenChannel {
  const info = channelInfoRecord.decode(infoBytes, WITHOUT_CONFIGS) as Omit<ChannelInfo, 'localConfig' | 'remoteConfig'>;
  const op = info.fundingOutpoint;
  // The channel point's key bytes, from the scan when it has them (no hex conversion per part).
  const point = opKey ?? outPointKey(op);
  const local = tx.get(key(COMMITMENT, point, LOCAL));
  if (local === undefined) throw missingCommitment(op, 'local');
  const remote = tx.get(key(COMMITMENT, point, REMOTE));
  if (remote === undefined) throw missingCommitment(op, 'remote');
  const lastWasRevoke = tx.get(key(LAST_WAS_REVOKE, point));
  const source: ListedSource = { info: infoBytes, local, remote, revocation: tx.get(key(REVOCATION_STATE, point)), external: tx.get(key(EXTERNAL_FUNDING, point)) };
  return listedChannel({ ...info, lastWasRevoke: lastWasRevoke !== undefined && lastWasRevoke[0] === 1 }, source, LISTED_PARTS, source.external !== undefined);
}

/** What a listing reads of a channel besides its info fields (assembleForListing). */
interface ListedSource {
  readonly info: Uint8Array;
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
  readonly revocation: Uint8Array | undefined;
  readonly external: Uint8Array | undefined;
}

const LISTED_PARTS: ChannelPartDecoders<ListedSource> = {
  localConfig: (s) => channelInfoRecord.decode(s.info, LOCAL_CONFIG).localConfig,
  remoteConfig: (s) => channelInfoRecord.decode(s.info, REMOTE_CONFIG).remoteConfig,
  localCommitment: (s) => commitmentRecord.decode(s.local),
  remoteCommitment: (s) => commitmentRecord.decode(s.remote),
  remoteRevocation: (s) => (s.revocation === undefined ? { secrets: [] } : remoteRevocationRecord.decode(s.revocation)),
  externalFunding: (s) => externalFundingRecord.decode(s.external!),
};

/** Every open channel matching `filter` (on its status fields), for a listing (assembleForListing), in channel-point order. */
export function listChannels(tx: KvReadTx, filter: (c: { readonly isPending: boolean; readonly status: number }) => boolean): OpenChannel[] {
  const out: OpenChannel[] = [];
  // channel-info -> <chanPoint>: the key after its tag is the channel point's key.
  for (const [k, value] of tx.range(prefixRange(byteKey(CHANNEL_INFO)))) {
    const channel = assembleForListing(tx, value, k.subarray(1));
    if (filter(channel)) out.push(channel);
  }
  return out;
}

/** The info record's fields the store builds close summaries from. */
export function summarySourceOf(info: ChannelInfo): SummarySource {
  return info;
}

/** Every open channel's info, in channel-point order. */
export function allInfos(tx: KvReadTx): ChannelInfo[] {
  const out: ChannelInfo[] = [];
  for (const [, value] of tx.range(prefixRange(byteKey(CHANNEL_INFO)))) out.push(channelInfoRecord.decode(value));
  return out;
}

/** The channel points of the peer's channels that are not closed. */
export function channelsOfPeer(tx: KvReadTx, nodeId: string): OutPoint[] {
  const prefix = keys.node(PEER_CHANNELS, nodeId);
  const out: OutPoint[] = [];
  for (const [k] of tx.range(prefixRange(prefix))) out.push(outPointFromKey(k.subarray(prefix.length)));
  return out;
}

/**
 * Writes a brand-new channel with every part of it. CHANNEL_ALREADY_EXISTS if its channel
 * point (open or closed) or channel id is already known.
 */
export function putNewChannel(tx: KvWriteTx, channel: OpenChannel): void {
  const op = channel.fundingOutpoint;
  const channelId = channelIdOf(op);
  if (tx.get(keys.chan(OUTPOINT_INDEX, op)) !== undefined || tx.get(key(CHANNEL_ID_INDEX, hexToBytes(channelId))) !== undefined) {
    throw new ChandError(ErrorCode.CHANNEL_ALREADY_EXISTS, `channel ${formatOutPoint(op)} already exists`);
  }
  claimKeyIndex(tx, op, keyIndexOf(channel));
  writeInfo(tx, infoOf(channel));
  tx.put(keys.chan(COMMITMENT, op, LOCAL), commitmentRecord.encode(channel.localCommitment));
  tx.put(keys.chan(COMMITMENT, op, REMOTE), commitmentRecord.encode(channel.remoteCommitment));
  tx.put(keys.chan(REVOCATION_STATE, op), remoteRevocationRecord.encode(channel.remoteRevocation));
  tx.put(keys.chan(LAST_WAS_REVOKE, op), Uint8Array.of(channel.lastWasRevoke ? 1 : 0));
  if (channel.externalFunding !== undefined) tx.put(keys.chan(EXTERNAL_FUNDING, op), externalFundingRecord.encode(channel.externalFunding));
  tx.put(keys.chan(OUTPOINT_INDEX, op), OUTPOINT_OPEN);
  tx.put(key(CHANNEL_ID_INDEX, hexToBytes(channelId)), outPointKey(op));
  tx.put(keys.node(PEER_CHANNELS, channel.identityPub, outPointKey(op)), new Uint8Array(0));
}

/**
 * Takes channel key index `index` for the channel at `op` and moves the allocator past it.
 * CHANNEL_KEY_INDEX_REUSED if another channel (open or closed) has it.
 */
export function claimKeyIndex(tx: KvWriteTx, op: OutPoint, index: number): void {
  const k = key(CHANNEL_KEY_INDEXES, u32Key(index));
  const owner = tx.get(k);
  if (owner !== undefined) throw keyIndexReused(op, index, outPointFromKey(owner));
  tx.put(k, outPointKey(op));
  writeKeyIndexCounter(tx, counterAfter(readKeyIndexCounter(tx), index));
}

/** The next channel key index to hand out (0 on a new database). */
export function readKeyIndexCounter(tx: KvReadTx): number {
  const bytes = tx.get(KEY_INDEX_COUNTER);
  return bytes === undefined ? 0 : new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
}

export function writeKeyIndexCounter(tx: KvWriteTx, next: number): void {
  tx.put(KEY_INDEX_COUNTER, u32Key(next));
}

/** True if the channel point was ever written (open or closed). */
export function channelKnown(tx: KvReadTx, op: OutPoint): boolean {
  return tx.get(keys.chan(OUTPOINT_INDEX, op)) !== undefined;
}

/** Flips the outpoint index to closed and removes the channel from the open set. */
export function removeFromOpenSet(tx: KvWriteTx, info: ChannelInfo): void {
  const op = info.fundingOutpoint;
  tx.delete(keys.chan(CHANNEL_INFO, op));
  tx.delete(keys.node(PEER_CHANNELS, info.identityPub, outPointKey(op)));
  tx.delete(keys.chan(EXTERNAL_FUNDING, op));
  tx.put(keys.chan(OUTPOINT_INDEX, op), OUTPOINT_CLOSED);
}

/** The archived form of an open channel (for the historical bucket). */
export function archive(tx: KvReadTx, info: ChannelInfo): Uint8Array {
  const channel = assemble(tx, info);
  return archivedChannelRecord.encode({
    info,
    localCommitment: channel.localCommitment,
    remoteCommitment: channel.remoteCommitment,
    remoteRevocation: channel.remoteRevocation,
    lastWasRevoke: channel.lastWasRevoke,
  });
}

export function readClosedSummary(tx: KvReadTx, op: OutPoint): ChannelCloseSummary | undefined {
  const bytes = tx.get(keys.chan(CLOSED_SUMMARY, op));
  return bytes === undefined ? undefined : closeSummaryRecord.decode(bytes);
}

export function writeClosedSummary(tx: KvWriteTx, summary: ChannelCloseSummary): void {
  tx.put(keys.chan(CLOSED_SUMMARY, summary.chanPoint), closeSummaryRecord.encode(summary));
}

/** Every close summary, in channel-point order (decoded from the scan, no second lookup). */
export function allClosedSummaries(tx: KvReadTx): ChannelCloseSummary[] {
  const out: ChannelCloseSummary[] = [];
  for (const [, value] of tx.range(prefixRange(byteKey(CLOSED_SUMMARY)))) out.push(closeSummaryRecord.decode(value));
  return out;
}

/**
 * The close itself, shared by closeChannel, abandonChannel and cancelExternalFunding:
 * archives the channel (with `extraStatus`), writes the summary, removes it from the open
 * set and queues its bulk data for the purge.
 */
export function closeChannelTx(tx: KvWriteTx, info: ChannelInfo, summary: ChannelCloseSummary, extraStatus: number): void {
  const op = info.fundingOutpoint;
  tx.put(keys.chan(HISTORICAL, op), archive(tx, { ...info, status: info.status | extraStatus }));
  writeClosedSummary(tx, summary);
  removeFromOpenSet(tx, info);
  tx.put(keys.chan(PURGE_QUEUE, op), u64Key(info.shortChannelId));
}

/** What the link-node rule needs to know of a peer (rules.ts peerNeedsLinkNode). */
export function peerChannelCounts(tx: KvReadTx, nodeId: string): PeerChannelCounts {
  let pendingCloses = 0;
  for (const summary of allClosedSummaries(tx)) if (summary.isPending && summary.remotePub === nodeId) pendingCloses++;
  return { notClosed: channelsOfPeer(tx, nodeId).length, pendingCloses };
}


/** What every KV facet of the channel-state store works with. */
export interface KvStoreContext {
  readonly engine: KvEngine;
  /** Keep both balances in revocation log entries. */
  readonly balances: boolean;
  /** Record off-chain final HTLC outcomes. */
  readonly finalHtlcs: boolean;
  /** secret·G for the revealed-secret check (ChannelStateOptions.secretToPoint, resolved). */
  readonly secretToPoint: SecretToPoint;
}

/** Rewrites the info record of the open channel at `op` with `change` applied; returns it. */
export function changeInfo(ctx: KvStoreContext, op: OutPoint, change: (info: ChannelInfo) => ChannelInfo): Promise<ChannelInfo> {
  return ctx.engine.update((tx) => {
    const next = change(requireInfo(tx, op));
    writeInfo(tx, next);
    return next;
  });
}
