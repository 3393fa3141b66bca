/**
 * KV key layout. Every key starts with a one-byte bucket tag; the comment on each bucket
 * shows the rest of the key and the value. `<chanPoint>` is 36 bytes (txid bytes in display
 * order, then the output index as u32 big-endian), `<height>` and `<scid>` are u64
 * big-endian, so range scans return them in numeric order.
 *
 * Per-channel buckets (PER_CHANNEL_BUCKETS) hold everything keyed under one channel point;
 * closing a channel removes it from the open set in one short transaction and leaves these
 * for the bounded purge.
 */
import { outPointKey } from '../chanstate/channel-id.js';
import { hexToBytes } from '../codec/bytes.js';
import type { Hex, OutPoint, ShortChannelId } from '../chanstate/types.js';

/**
 * meta -> <name utf8> -> value: `schema-version` (u32 big-endian), `channel-key-index` (the
 * next channel key index to hand out, u32 big-endian).
 */
export const META = 0x00;

/** channel-info -> <chanPoint> -> ChannelInfo record. Present iff the channel is not closed. */
export const CHANNEL_INFO = 0x01;
/** commitment -> <chanPoint> <party: 0 local, 1 remote> -> ChannelCommitment record. */
export const COMMITMENT = 0x02;
/** revocation-state -> <chanPoint> -> RemoteRevocationState record. */
export const REVOCATION_STATE = 0x03;
/** commit-diff -> <chanPoint> -> CommitDiff record (the remote chain tip), absent when none. */
export const COMMIT_DIFF = 0x04;
/** unsigned-acked-updates -> <chanPoint> -> LogUpdateList record. */
export const UNSIGNED_ACKED_UPDATES = 0x05;
/** remote-unsigned-local-updates -> <chanPoint> -> LogUpdateList record. */
export const REMOTE_UNSIGNED_LOCAL_UPDATES = 0x06;
/**
 * revocation-log -> <chanPoint> <height> -> RevocationLogEntry record: the log before schema 4,
 * one record per revoked state. Migration 4 moves every entry into the blocks below; nothing
 * writes here since.
 */
export const REVOCATION_LOG = 0x07;
/** last-was-revoke -> <chanPoint> -> 1 byte (0/1). */
export const LAST_WAS_REVOKE = 0x08;
/** external-funding -> <chanPoint> -> ExternalFundingState record, until markOpen or close. */
export const EXTERNAL_FUNDING = 0x09;
/** data-loss-point -> <chanPoint> -> 33-byte commitment point. */
export const DATA_LOSS_POINT = 0x0a;
/** shutdown-info -> <chanPoint> -> ShutdownInfo record. */
export const SHUTDOWN_INFO = 0x0b;
/** close-tx -> <chanPoint> <kind: 0 commitment, 1 cooperative> -> raw transaction. */
export const CLOSE_TX = 0x0c;
/**
 * revocation-blocks -> <chanPoint> <first height u64> -> sealed revocation block
 * (chanstate/revocation-blocks.ts): the revoked states of the channel below its open block,
 * in blocks of consecutive heights.
 */
export const REVOCATION_BLOCKS = 0x0d;
/**
 * revocation-open-block -> <chanPoint> -> the channel's open revocation block (its newest
 * revoked states, appended to by every advanceCommitChainTail). Present iff the log is not empty.
 */
export const REVOCATION_OPEN_BLOCK = 0x0e;

/** outpoint-index -> <chanPoint> -> 1 byte: 0 open (or pending), 1 closed. Never deleted. */
export const OUTPOINT_INDEX = 0x10;
/** channel-id-index -> <channelId 32> -> <chanPoint>. Never deleted (closed lookups by id). */
export const CHANNEL_ID_INDEX = 0x11;
/** peer-channels -> <nodePub 33> <chanPoint> -> empty. Only channels not closed. */
export const PEER_CHANNELS = 0x12;

/** fwd-packages -> <scid> <height> -> FwdPkg record. */
export const FWD_PACKAGES = 0x20;

/** closed-summary -> <chanPoint> -> ChannelCloseSummary record. */
export const CLOSED_SUMMARY = 0x30;
/** historical -> <chanPoint> -> ArchivedChannel record. */
export const HISTORICAL = 0x31;
/** purge-queue -> <chanPoint> -> <scid u64> of a closed channel whose bulk data is not yet purged. */
export const PURGE_QUEUE = 0x32;

/** final-htlcs -> <scid> <htlcIndex u64> -> 1 byte: bit 0 settled, bit 1 offchain. */
export const FINAL_HTLCS = 0x40;

/** opening-state -> <chanPoint> -> ChannelOpeningState record. */
export const OPENING_STATE = 0x50;
/** initial-forwarding-policy -> <channelId 32> -> ForwardingPolicy record. */
export const INITIAL_FWD_POLICY = 0x51;

/** link-nodes -> <nodePub 33> -> LinkNode record. */
export const LINK_NODES = 0x60;

/**
 * channel-key-index -> <index u32> -> <chanPoint> of the channel using that key index.
 * Written with every new channel, never deleted (a closed channel's index stays taken).
 */
export const CHANNEL_KEY_INDEXES = 0x70;

/** invoices -> <paymentHash 32> -> Invoice record (payments/records.ts). Since schema 5. */
export const INVOICES = 0x80;
/** invoice-add-index -> <addIndex u64> -> <paymentHash 32>: invoices in add order. */
export const INVOICE_ADD_INDEX = 0x81;
/** invoice-settle-index -> <settleIndex u64> -> <paymentHash 32>: settled invoices in settle order. */
export const INVOICE_SETTLE_INDEX = 0x82;
/** payments -> <paymentHash 32> -> Payment record with its attempts (payments/records.ts). Since schema 5. */
export const PAYMENTS = 0x90;
/** payment-index -> <paymentIndex u64> -> <paymentHash 32>: payments in creation order. */
export const PAYMENT_INDEX = 0x91;
/** payments-in-flight -> <paymentIndex u64> -> <paymentHash 32>: present iff the payment is in flight. */
export const PAYMENTS_IN_FLIGHT = 0x92;

/** Buckets keyed first by channel point, purged after close. */
export const PER_CHANNEL_BUCKETS = [
  COMMITMENT,
  REVOCATION_STATE,
  COMMIT_DIFF,
  UNSIGNED_ACKED_UPDATES,
  REMOTE_UNSIGNED_LOCAL_UPDATES,
  REVOCATION_LOG,
  REVOCATION_BLOCKS,
  REVOCATION_OPEN_BLOCK,
  LAST_WAS_REVOKE,
  EXTERNAL_FUNDING,
  DATA_LOSS_POINT,
  SHUTDOWN_INFO,
  CLOSE_TX,
] as const;

/** Concatenates a bucket tag and key parts into one key. */
export function key(bucket: number, ...parts: Uint8Array[]): Uint8Array {
  let length = 1;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  out[0] = bucket;
  let pos = 1;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** 8-byte big-endian encoding of a non-negative integer. */
export function u64Key(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** Reads an 8-byte big-endian integer at `offset`. */
export function readU64Key(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0);
}

/** One byte. */
export function byteKey(b: number): Uint8Array {
  return Uint8Array.of(b);
}

/** The key range [prefix, prefix+1): every key starting with `prefix`. */
export function prefixRange(prefix: Uint8Array): { start: Uint8Array; end: Uint8Array } {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return { start: prefix, end: end.subarray(0, i + 1) };
    }
  }
  throw new RangeError('expected a prefix with a byte below 0xff, got all 0xff');
}

/** Key helpers for the common shapes. */
export const keys = {
  chan: (bucket: number, op: OutPoint, ...rest: Uint8Array[]): Uint8Array => key(bucket, outPointKey(op), ...rest),
  node: (bucket: number, pub: Hex, ...rest: Uint8Array[]): Uint8Array => key(bucket, hexToBytes(pub), ...rest),
  scid: (bucket: number, scid: ShortChannelId, ...rest: Uint8Array[]): Uint8Array => key(bucket, u64Key(scid), ...rest),
};

/** A u32 big-endian key part. */
export function u32Key(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** meta -> channel-key-index. */
export const KEY_INDEX_COUNTER = key(META, new TextEncoder().encode('channel-key-index'));
