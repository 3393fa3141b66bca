/**
 * Transaction-scoped channel-state operations on a KV transaction.
 *
 * The KV store runs each of its methods as one engine transaction made of these functions;
 * the KV coordinator composes them with link-node operations in one transaction too. They
 * read and write only through the transaction passed in and build no outside state, so an
 * engine may re-run them.
 */
import { channelIdOf, formatOutPoint, outPointFromKey, outPointKey } from '../chanstate/channel-id.js';
import {
  archivedChannelRecord,
  channelInfoRecord,
  closeSummaryRecord,
  commitmentRecord,
  externalFundingRecord,
  logUpdateListRecord,
  remoteRevocationRecord,
  type ChannelInfo,
} from '../chanstate/records.js';
import { ChannelStatus, type ChannelCloseSummary, type ChannelCommitment, type LogUpdate, type OpenChannel, type OutPoint } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { KvReadTx, KvWriteTx } from './engine.js';
import {
  CHANNEL_ID_INDEX,
  CHANNEL_INFO,
  CLOSED_SUMMARY,
  COMMITMENT,
  EXTERNAL_FUNDING,
  LAST_WAS_REVOKE,
  OUTPOINT_INDEX,
  PEER_CHANNELS,
  REVOCATION_STATE,
  byteKey,
  key,
  keys,
  prefixRange,
} from './keys.js';

/** Commitment party tags in COMMITMENT keys. */
export const LOCAL = byteKey(0);
export const REMOTE = byteKey(1);

/** Outpoint index values. */
const OUTPOINT_OPEN = Uint8Array.of(0);
const OUTPOINT_CLOSED = Uint8Array.of(1);

export function notFound(op: OutPoint): ChandError {
  return new ChandError(ErrorCode.CHANNEL_NOT_FOUND, `channel ${formatOutPoint(op)} not found`);
}

/** The info record of an open (not closed) channel, or undefined. */
export function readInfo(tx: KvReadTx, op: OutPoint): ChannelInfo | undefined {
  const bytes = tx.get(keys.chan(CHANNEL_INFO, op));
  return bytes === undefined ? undefined : channelInfoRecord.decode(bytes);
}

/** The info record of an open channel; CHANNEL_NOT_FOUND if absent or closed. */
export function requireInfo(tx: KvReadTx, op: OutPoint): ChannelInfo {
  const info = readInfo(tx, op);
  if (info === undefined) throw notFound(op);
  return info;
}

/** The fields of the info record the commitment hot path needs. */
export type MutableInfo = Pick<ChannelInfo, 'status' | 'shortChannelId'>;

/**
 * The status and short channel id of an open channel whose commitments may change: refuses
 * borked and restored channels. Decodes only those two fields of the info record, because
 * it runs on every step of every payment round.
 */
export function requireMutable(tx: KvReadTx, op: OutPoint): MutableInfo {
  const bytes = tx.get(keys.chan(CHANNEL_INFO, op));
  if (bytes === undefined) throw notFound(op);
  const info = channelInfoRecord.decodeFields(bytes, ['status', 'shortChannelId']);
  if ((info.status & ChannelStatus.Borked) !== 0) {
    throw new ChandError(ErrorCode.CHANNEL_BORKED, `channel ${formatOutPoint(op)} is borked: its commitments cannot change`);
  }
  if ((info.status & ChannelStatus.Restored) !== 0) {
    throw new ChandError(ErrorCode.CHANNEL_RESTORED, `channel ${formatOutPoint(op)} was restored from a backup: its commitments cannot change`);
  }
  return info;
}

export function readCommitment(tx: KvReadTx, op: OutPoint, party: Uint8Array): ChannelCommitment {
  const bytes = tx.get(keys.chan(COMMITMENT, op, party));
  if (bytes === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, `channel ${formatOutPoint(op)} has no ${party[0] === 0 ? 'local' : 'remote'} commitment`);
  return commitmentRecord.decode(bytes);
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

