/**
 * BOLT 4 hop payloads (`payload` TLV stream) for payments outside blinded routes, typed as
 * `HopPayload`: a `forward` hop (amount, CLTV, outgoing `short_channel_id`) or the `final` hop
 * (amount, CLTV, optional `payment_data`, `payment_metadata`, keysend preimage).
 *
 * The reader enforces BOLT 4's payload requirements and reports each violation as the
 * `invalid_onion_payload` failure with the offending TLV type and its byte offset in the
 * payload: a malformed stream, an unknown even type, a known type with a malformed value, a
 * required field missing for the hop kind, a field the hop kind must not carry. Route blinding
 * is not supported, so `encrypted_recipient_data`, `current_path_key` and `total_amount_msat`
 * are unknown even types here. Unknown odd types are kept in `customRecords` (in order) so the
 * final node can hand them to the application.
 */
import { assertBytes, bytesToBigInt } from '../bitcoin/bytes.js';
import { bigSizeLength, MAX_U64 } from '../codec/bigsize.js';
import { concatBytes } from '../codec/bytes.js';
import { decodeTlvStream, decodeTu32, decodeTu64, encodeTlvStream, encodeTu32, encodeTu64, type TlvRecord } from '../codec/tlv.js';
import { DecodeError, ErrorCode } from '../errors.js';
import { OnionError } from './errors.js';

/** TLV types of the hop payload (BOLT 4 `payload` stream). */
export const HopPayloadType = {
  AMT_TO_FORWARD: 2n,
  OUTGOING_CLTV_VALUE: 4n,
  SHORT_CHANNEL_ID: 6n,
  PAYMENT_DATA: 8n,
  PAYMENT_METADATA: 16n,
  /** The keysend preimage record, as deployed by lnd, Core Lightning and LDK (not in BOLT 4). */
  KEYSEND_PREIMAGE: 5482373484n,
} as const;

const T = HopPayloadType;
const KNOWN = new Set<bigint>(Object.values(HopPayloadType));

/** `payment_data`: the invoice's payment secret and the total the payer sends over all parts. */
export interface PaymentData {
  /** 32-byte `payment_secret` from the invoice. */
  readonly paymentSecret: Uint8Array;
  /** `total_msat`: the whole payment's amount (equal to the HTLC's amount without MPP). */
  readonly totalMsat: bigint;
}

interface HopPayloadFields {
  /** `amt_to_forward`, msat: what the next HTLC carries (for the final hop: what it receives). */
  readonly amtToForwardMsat: bigint;
  /** `outgoing_cltv_value`: the CLTV expiry of the next HTLC (for the final hop: the expected one). */
  readonly outgoingCltvValue: number;
  /** Unknown odd (custom) records, in increasing type order; absent when none. */
  readonly customRecords?: readonly TlvRecord[];
}

/** The payload of a hop that forwards the HTLC. */
export interface ForwardHopPayload extends HopPayloadFields {
  readonly kind: 'forward';
  /** The outgoing channel (u64 `short_channel_id`). */
  readonly shortChannelId: bigint;
}

/** The payload of the final hop. */
export interface FinalHopPayload extends HopPayloadFields {
  readonly kind: 'final';
  readonly paymentData?: PaymentData;
  readonly paymentMetadata?: Uint8Array;
  /** 32-byte keysend preimage (TLV 5482373484). */
  readonly keysendPreimage?: Uint8Array;
}

/** A typed hop payload. */
export type HopPayload = ForwardHopPayload | FinalHopPayload;

function u64Bytes(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

function assertMsat(name: string, n: unknown): asserts n is bigint {
  if (typeof n !== 'bigint') throw new TypeError(`expected ${name} as bigint, got ${typeof n}`);
  if (n < 0n || n > MAX_U64) throw new RangeError(`expected ${name} in [0, 2^64-1], got ${n}`);
}

/**
 * Serializes `payload` as the TLV stream of a hop payload (without the BigSize length prefix
 * the onion adds). Throws TypeError/RangeError for an out-of-range field, a `paymentSecret`
 * or `keysendPreimage` that is not 32 bytes, or a custom record whose type is even or one of
 * the known types. Custom records are merged into type order.
 */
export function encodeHopPayload(payload: HopPayload): Uint8Array {
  if (payload.kind !== 'forward' && payload.kind !== 'final') {
    throw new TypeError(`expected hop payload kind 'forward' or 'final', got ${String((payload as { kind?: unknown }).kind)}`);
  }
  assertMsat('amtToForwardMsat', payload.amtToForwardMsat);
  const records: TlvRecord[] = [
    { type: T.AMT_TO_FORWARD, value: encodeTu64(payload.amtToForwardMsat) },
    { type: T.OUTGOING_CLTV_VALUE, value: encodeTu32(payload.outgoingCltvValue) },
  ];
  if (payload.kind === 'forward') {
    assertMsat('shortChannelId', payload.shortChannelId);
    records.push({ type: T.SHORT_CHANNEL_ID, value: u64Bytes(payload.shortChannelId) });
  } else {
    if (payload.paymentData !== undefined) {
      assertBytes('paymentSecret', payload.paymentData.paymentSecret, 32);
      assertMsat('totalMsat', payload.paymentData.totalMsat);
      records.push({ type: T.PAYMENT_DATA, value: concatBytes(payload.paymentData.paymentSecret, encodeTu64(payload.paymentData.totalMsat)) });
    }
    if (payload.paymentMetadata !== undefined) {
      assertBytes('paymentMetadata', payload.paymentMetadata);
      records.push({ type: T.PAYMENT_METADATA, value: payload.paymentMetadata });
    }
    if (payload.keysendPreimage !== undefined) {
      assertBytes('keysendPreimage', payload.keysendPreimage, 32);
      records.push({ type: T.KEYSEND_PREIMAGE, value: payload.keysendPreimage });
    }
  }
  for (const [i, record] of (payload.customRecords ?? []).entries()) {
    if (typeof record.type !== 'bigint' || record.type % 2n === 0n || KNOWN.has(record.type)) {
      throw new RangeError(`expected custom record ${i} to have an odd type outside the known hop payload types, got ${String(record.type)}`);
    }
    records.push(record);
  }
  records.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return encodeTlvStream(records);
}

/** Whether a hop payload is read as the final hop's (all-zero next HMAC) or a forwarding one. */
export interface DecodeHopPayloadOptions {
  readonly final: boolean;
}

/** The `invalid_onion_payload` failure for `type` at `offset`, as an OnionError. */
function invalidPayload(type: bigint, offset: number, why: string, cause?: unknown): OnionError {
  return new OnionError(
    ErrorCode.ONION_PAYLOAD_INVALID,
    `invalid onion payload: ${why} (type ${type}, offset ${offset})`,
    // The failure's offset is a u16; onion payloads are far shorter, a standalone decode may not be.
    { name: 'invalid_onion_payload', type, offset: Math.min(offset, 0xffff) },
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Parses a hop payload (the TLV bytes, without the length prefix) and checks it against BOLT 4's
 * reader requirements for a final or forwarding hop (`options.final`, which `peelOnion` reports).
 * Throws `OnionError` with code ONION_PAYLOAD_INVALID and the `invalid_onion_payload` failure
 * naming the offending type and byte offset (type 0, offset 0 when the stream itself is
 * malformed; offset 0 for a missing type). Returned byte fields are copies.
 */
export function decodeHopPayload(bytes: Uint8Array, options: DecodeHopPayloadOptions): HopPayload {
  assertBytes('hop payload', bytes);
  let records: TlvRecord[];
  try {
    records = decodeTlvStream(bytes);
  } catch (err) {
    if (err instanceof DecodeError) throw invalidPayload(0n, 0, 'not a valid TLV stream', err);
    throw err;
  }
  const final = options.final;
  const found = new Map<bigint, { value: Uint8Array; offset: number }>();
  const customRecords: TlvRecord[] = [];
  let offset = 0;
  for (const { type, value } of records) {
    const at = offset;
    offset += bigSizeLength(type) + bigSizeLength(value.length) + value.length;
    const allowed = KNOWN.has(type) && (final ? type !== T.SHORT_CHANNEL_ID : type === T.AMT_TO_FORWARD || type === T.OUTGOING_CLTV_VALUE || type === T.SHORT_CHANNEL_ID);
    if (allowed) found.set(type, { value, offset: at });
    else if (KNOWN.has(type)) throw invalidPayload(type, at, `a ${final ? 'final' : 'forwarding'} hop must not carry this field`);
    else if (type % 2n === 0n) throw invalidPayload(type, at, 'unknown even type');
    else customRecords.push({ type, value: value.slice() });
  }
  const field = <V>(type: bigint, parse: (v: Uint8Array) => V): V | undefined => {
    const rec = found.get(type);
    if (rec === undefined) return undefined;
    try {
      return parse(rec.value);
    } catch (err) {
      if (err instanceof DecodeError || err instanceof RangeError) throw invalidPayload(type, rec.offset, 'malformed value', err);
      throw err;
    }
  };
  const required = <V>(type: bigint, parse: (v: Uint8Array) => V): V => {
    const v = field(type, parse);
    if (v === undefined) throw invalidPayload(type, 0, 'required field missing');
    return v;
  };
  const fixed = (size: number) => (v: Uint8Array): Uint8Array => {
    if (v.length !== size) throw new DecodeError(`expected ${size} bytes, got ${v.length}`);
    return v.slice();
  };
  const amtToForwardMsat = required(T.AMT_TO_FORWARD, decodeTu64);
  const outgoingCltvValue = required(T.OUTGOING_CLTV_VALUE, decodeTu32);
  const custom = customRecords.length > 0 ? { customRecords } : {};
  if (!final) {
    const shortChannelId = required(T.SHORT_CHANNEL_ID, (v) => bytesToBigInt(fixed(8)(v)));
    return { kind: 'forward', amtToForwardMsat, outgoingCltvValue, shortChannelId, ...custom };
  }
  const paymentData = field(T.PAYMENT_DATA, (v) => {
    if (v.length < 32) throw new DecodeError(`payment_data needs a 32-byte payment_secret, got ${v.length} bytes`);
    return { paymentSecret: v.slice(0, 32), totalMsat: decodeTu64(v.subarray(32)) };
  });
  const paymentMetadata = field(T.PAYMENT_METADATA, (v) => v.slice());
  const keysendPreimage = field(T.KEYSEND_PREIMAGE, fixed(32));
  return {
    kind: 'final',
    amtToForwardMsat,
    outgoingCltvValue,
    ...(paymentData === undefined ? {} : { paymentData }),
    ...(paymentMetadata === undefined ? {} : { paymentMetadata }),
    ...(keysendPreimage === undefined ? {} : { keysendPreimage }),
    ...custom,
  };
}
