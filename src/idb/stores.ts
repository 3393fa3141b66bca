/**
 * IndexedDB layout: one object store per kind of record, each an exported constant whose
 * comment shows its key and value. Keys are out of line. `<op>` is the channel point as the
 * hex of its 36-byte key form (txid bytes in display order, then the output index as u32
 * big-endian: channel-id.ts outPointKey), so string order is channel-point order; `<scid>`
 * is a short channel id as 16 hex digits; heights and indexes are numbers, so array keys
 * `[<op>, height]` sort by channel, then numerically.
 *
 * Values are the versioned TLV records of chanstate/records.ts as Uint8Array (the bytes the
 * KV backend stores), except where a store needs an index: then the value is a small object
 * holding the indexed fields beside the record bytes. Link nodes are plain objects (there
 * is no LinkNode record in records.ts; the object is the row, as in SQL).
 *
 * Per-channel stores (PER_CHANNEL_STORES) hold everything keyed under one channel point;
 * closing a channel removes it from the open set in one short transaction and leaves these
 * for the bounded purge (maintenance.ts).
 */
import { outPointFromKey, outPointKey } from '../chanstate/channel-id.js';
import type { Hex, OutPoint, ShortChannelId } from '../chanstate/types.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import type { IdbKey, IdbKeyRangeLike, IdbKeyRangeStatic } from './idb-api.js';

/** meta -> <name> -> value: `channel-key-index` -> the next channel key index to hand out (number). */
export const META = 'meta';
/** The META key of the channel key-index allocator. */
export const KEY_INDEX_COUNTER = 'channel-key-index';

/**
 * channels -> <op> -> ChannelRow { peer, info: ChannelInfo record }. Present iff the channel
 * is not closed. Index PEER_INDEX on `peer` (fetchOpenChannels, the link-node rule).
 */
export const CHANNELS = 'channels';
/** Index of CHANNELS on the peer's identity key. */
export const PEER_INDEX = 'peer';
/** commitments -> [<op>, party: 0 local, 1 remote] -> ChannelCommitment record. */
export const COMMITMENTS = 'commitments';
/** revocation-states -> <op> -> RemoteRevocationState record. */
export const REVOCATION_STATES = 'revocation-states';
/** commit-diffs -> <op> -> CommitDiff record (the remote chain tip), absent when none. */
export const COMMIT_DIFFS = 'commit-diffs';
/** unsigned-acked-updates -> <op> -> LogUpdateList record, absent when empty. */
export const UNSIGNED_ACKED_UPDATES = 'unsigned-acked-updates';
/** remote-unsigned-local-updates -> <op> -> LogUpdateList record, absent when empty. */
export const REMOTE_UNSIGNED_LOCAL_UPDATES = 'remote-unsigned-local-updates';
/** revocation-log -> [<op>, height] -> RevocationLogEntry record. */
export const REVOCATION_LOG = 'revocation-log';
/** last-was-revoke -> <op> -> 0 | 1. */
export const LAST_WAS_REVOKE = 'last-was-revoke';
/** external-funding -> <op> -> ExternalFundingState record, until markOpen or close. */
export const EXTERNAL_FUNDING = 'external-funding';
/** data-loss-points -> <op> -> the remote's 33-byte commitment point, hex. */
export const DATA_LOSS_POINTS = 'data-loss-points';
/** shutdown-info -> <op> -> ShutdownInfo record. */
export const SHUTDOWN_INFO = 'shutdown-info';
/** close-txs -> [<op>, kind: 0 commitment, 1 cooperative] -> raw transaction bytes. */
export const CLOSE_TXS = 'close-txs';

/**
 * channel-registry -> <op> -> RegistryRow { channelId, keyIndex, closed: 0 | 1 }: every
 * channel ever written, open or closed; never deleted. Unique indexes CHANNEL_ID_INDEX and
 * KEY_INDEX_INDEX: a channel id or a channel key index is never taken twice.
 */
export const CHANNEL_REGISTRY = 'channel-registry';
/** Unique index of CHANNEL_REGISTRY on the BOLT 2 channel id. */
export const CHANNEL_ID_INDEX = 'channel-id';
/** Unique index of CHANNEL_REGISTRY on the channel key index. */
export const KEY_INDEX_INDEX = 'key-index';

/** fwd-packages -> [<scid>, height] -> FwdPkg record. */
export const FWD_PACKAGES = 'fwd-packages';

/**
 * closed-summaries -> <op> -> ClosedRow { peer, pending: 0 | 1, summary: ChannelCloseSummary
 * record }. Index PEER_PENDING_INDEX on [peer, pending] (the link-node rule counts a
 * peer's pending closes).
 */
export const CLOSED_SUMMARIES = 'closed-summaries';
/** Index of CLOSED_SUMMARIES on [peer, pending]. */
export const PEER_PENDING_INDEX = 'peer-pending';
/** historical -> <op> -> ArchivedChannel record. */
export const HISTORICAL = 'historical';
/** purge-queue -> <op> -> <scid> of a closed channel whose bulk data is not purged yet. */
export const PURGE_QUEUE = 'purge-queue';

/** final-htlcs -> [<scid>, htlcIndex] -> number: bit 0 settled, bit 1 off chain. */
export const FINAL_HTLCS = 'final-htlcs';

/** opening-states -> <op> -> ChannelOpeningState record. */
export const OPENING_STATES = 'opening-states';
/** initial-forwarding-policies -> <channelId hex> -> ForwardingPolicy record. */
export const INITIAL_FWD_POLICIES = 'initial-forwarding-policies';

/** link-nodes -> <identityPub hex> -> LinkNode (plain object). */
export const LINK_NODES = 'link-nodes';

/** The value of a CHANNELS entry. */
export interface ChannelRow {
  readonly peer: Hex;
  readonly info: Uint8Array;
}

/** The value of a CHANNEL_REGISTRY entry. */
export interface RegistryRow {
  readonly channelId: Hex;
  readonly keyIndex: number;
  readonly closed: 0 | 1;
}

/** The value of a CLOSED_SUMMARIES entry. */
export interface ClosedRow {
  readonly peer: Hex;
  readonly pending: 0 | 1;
  readonly summary: Uint8Array;
}

/** invoices -> <paymentHash hex> -> Invoice record (payments/records.ts). Since schema 2. */
export const INVOICES = 'invoices';
/** invoice-add-index -> <addIndex number> -> <paymentHash hex>: invoices in add order. */
export const INVOICE_ADD_INDEX = 'invoice-add-index';
/** invoice-settle-index -> <settleIndex number> -> <paymentHash hex>: settled invoices in settle order. */
export const INVOICE_SETTLE_INDEX = 'invoice-settle-index';
/** payments -> <paymentHash hex> -> Payment record with its attempts (payments/records.ts). Since schema 2. */
export const PAYMENTS = 'payments';
/** payment-index -> <paymentIndex number> -> <paymentHash hex>: payments in creation order. */
export const PAYMENT_INDEX = 'payment-index';
/** payments-in-flight -> <paymentIndex number> -> <paymentHash hex>: present iff the payment is in flight. */
export const PAYMENTS_IN_FLIGHT = 'payments-in-flight';
/** The stores of the invoice store. */
export const INVOICE_STORES = [INVOICES, INVOICE_ADD_INDEX, INVOICE_SETTLE_INDEX] as const;
/** The stores of the payment store. */
export const PAYMENT_STORES = [PAYMENTS, PAYMENT_INDEX, PAYMENTS_IN_FLIGHT] as const;

/** Per-channel stores purged after close, and whether their keys are `<op>` or `[<op>, n]`. */
export const PER_CHANNEL_STORES: ReadonlyArray<{ readonly store: string; readonly keyed: 'op' | 'op-and-number' }> = [
  { store: COMMITMENTS, keyed: 'op-and-number' },
  { store: REVOCATION_STATES, keyed: 'op' },
  { store: COMMIT_DIFFS, keyed: 'op' },
  { store: UNSIGNED_ACKED_UPDATES, keyed: 'op' },
  { store: REMOTE_UNSIGNED_LOCAL_UPDATES, keyed: 'op' },
  { store: REVOCATION_LOG, keyed: 'op-and-number' },
  { store: LAST_WAS_REVOKE, keyed: 'op' },
  { store: EXTERNAL_FUNDING, keyed: 'op' },
  { store: DATA_LOSS_POINTS, keyed: 'op' },
  { store: SHUTDOWN_INFO, keyed: 'op' },
  { store: CLOSE_TXS, keyed: 'op-and-number' },
];

/** Every object store of the current schema (migrations.ts creates them). */
export const ALL_STORES = [
  META,
  CHANNELS,
  ...PER_CHANNEL_STORES.map((s) => s.store),
  CHANNEL_REGISTRY,
  FWD_PACKAGES,
  CLOSED_SUMMARIES,
  HISTORICAL,
  PURGE_QUEUE,
  FINAL_HTLCS,
  OPENING_STATES,
  INITIAL_FWD_POLICIES,
  LINK_NODES,
  ...INVOICE_STORES,
  ...PAYMENT_STORES,
] as const;

/** The stores a whole channel lives in while it is not closed (read to assemble it). */
export const CHANNEL_PART_STORES = [CHANNELS, COMMITMENTS, REVOCATION_STATES, LAST_WAS_REVOKE, EXTERNAL_FUNDING] as const;

/** The stores putNewChannel writes (and reads to refuse a taken point, id or key index). */
export const NEW_CHANNEL_STORES = [...CHANNEL_PART_STORES, CHANNEL_REGISTRY, META] as const;

/** The stores a close writes or reads (closeChannelTx). */
export const CLOSE_STORES = [...CHANNEL_PART_STORES, CHANNEL_REGISTRY, CLOSED_SUMMARIES, HISTORICAL, PURGE_QUEUE] as const;

/** The `<op>` key of a channel point. */
export function opKey(op: OutPoint): string {
  return bytesToHex(outPointKey(op));
}

/** Inverse of opKey. */
export function opOfKey(key: IdbKey): OutPoint {
  if (typeof key !== 'string') throw new TypeError(`expected a channel-point key string, got ${typeof key}`);
  return outPointFromKey(hexToBytes(key));
}

/** The `<scid>` key part of a short channel id. */
export function scidKey(scid: ShortChannelId): string {
  return scid.toString(16).padStart(16, '0');
}

/** Inverse of scidKey. */
export function scidOfKey(key: IdbKey): ShortChannelId {
  if (typeof key !== 'string') throw new TypeError(`expected a short-channel-id key string, got ${typeof key}`);
  return BigInt(`0x${key}`);
}

/** Every array key `[first, ...]` whose first element is `first` (arrays sort after numbers and strings). */
export function under(ranges: IdbKeyRangeStatic, first: IdbKey): IdbKeyRangeLike {
  return ranges.bound([first], [first, []]);
}

/** Array keys `[first, n]` with `from <= n` (and `n < to` when given). */
export function numbersUnder(ranges: IdbKeyRangeStatic, first: IdbKey, from: number, to?: number): IdbKeyRangeLike {
  return to === undefined ? ranges.bound([first, from], [first, []]) : ranges.bound([first, from], [first, to], false, true);
}
