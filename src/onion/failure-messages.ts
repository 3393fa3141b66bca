/**
 * BOLT 4 "Failure Messages": the `failure_code` flags and codes, and the `failuremsg` bodies
 * (a u16 code, the code's data, then an optional TLV stream).
 *
 * A decoded message is a `FailureMessage`, discriminated by `name` (the spec's name for the
 * code); a code this module does not know decodes to `{ name: 'unknown', code, data }` so the
 * origin can still act on its flags. Decoding follows the origin's rule "MUST ignore any extra
 * bytes": bytes after a code's data are kept as TLV records when they parse as a stream and
 * ignored otherwise.
 */
import { ByteReader, ByteWriter } from '../codec/bytes.js';
import { decodeTlvStream, encodeTlvStream, type TlvRecord } from '../codec/tlv.js';
import { DecodeError } from '../errors.js';
import { assertBytes } from '../bitcoin/bytes.js';

/** The flag bits of the top byte of a `failure_code`. */
export const FailureFlag = {
  /** Unparsable onion encrypted by the sending peer (sent in `update_fail_malformed_htlc`). */
  BADONION: 0x8000,
  /** Permanent failure (otherwise transient). */
  PERM: 0x4000,
  /** Node failure (otherwise channel). */
  NODE: 0x2000,
  /** A channel forwarding parameter was violated. */
  UPDATE: 0x1000,
} as const;

const { BADONION, PERM, NODE, UPDATE } = FailureFlag;

/** Every `failure_code` BOLT 4 defines, by the spec's name. */
export const FailureCode = {
  temporary_node_failure: NODE | 2,
  permanent_node_failure: PERM | NODE | 2,
  required_node_feature_missing: PERM | NODE | 3,
  invalid_onion_version: BADONION | PERM | 4,
  invalid_onion_hmac: BADONION | PERM | 5,
  invalid_onion_key: BADONION | PERM | 6,
  temporary_channel_failure: UPDATE | 7,
  permanent_channel_failure: PERM | 8,
  required_channel_feature_missing: PERM | 9,
  unknown_next_peer: PERM | 10,
  amount_below_minimum: UPDATE | 11,
  fee_insufficient: UPDATE | 12,
  incorrect_cltv_expiry: UPDATE | 13,
  expiry_too_soon: UPDATE | 14,
  incorrect_or_unknown_payment_details: PERM | 15,
  final_incorrect_cltv_expiry: 18,
  final_incorrect_htlc_amount: 19,
  channel_disabled: UPDATE | 20,
  expiry_too_far: 21,
  invalid_onion_payload: PERM | 22,
  mpp_timeout: 23,
  invalid_onion_blinding: BADONION | PERM | 24,
} as const;

/** The spec name of a defined failure code. */
export type FailureName = keyof typeof FailureCode;

/** Codes whose data is `sha256_of_onion`. */
type OnionHashName = 'invalid_onion_version' | 'invalid_onion_hmac' | 'invalid_onion_key' | 'invalid_onion_blinding';
/** Codes whose data is only `u16 len ++ channel_update`. */
type ChannelUpdateName = 'temporary_channel_failure' | 'expiry_too_soon';
/** Codes whose data is `u64 htlc_msat ++ u16 len ++ channel_update`. */
type AmountUpdateName = 'amount_below_minimum' | 'fee_insufficient';
/** Codes that carry no data. */
type NoDataName =
  | 'temporary_node_failure'
  | 'permanent_node_failure'
  | 'required_node_feature_missing'
  | 'permanent_channel_failure'
  | 'required_channel_feature_missing'
  | 'unknown_next_peer'
  | 'expiry_too_far'
  | 'mpp_timeout';

/** Fields every failure message may carry: the TLV stream after its data. */
interface FailureTail {
  /** The optional TLV stream after the code's data, in type order. */
  readonly tlvs?: readonly TlvRecord[];
}

/**
 * A `failuremsg`, typed by code. `channelUpdate` holds the raw bytes of the embedded
 * `channel_update` (empty when the erring node sent none, as BOLT 4 now recommends).
 */
export type FailureMessage = FailureTail &
  (
    | { readonly name: NoDataName }
    | { readonly name: OnionHashName; readonly sha256OfOnion: Uint8Array }
    | { readonly name: ChannelUpdateName; readonly channelUpdate: Uint8Array }
    | { readonly name: AmountUpdateName; readonly htlcMsat: bigint; readonly channelUpdate: Uint8Array }
    | { readonly name: 'incorrect_cltv_expiry'; readonly cltvExpiry: number; readonly channelUpdate: Uint8Array }
    | { readonly name: 'incorrect_or_unknown_payment_details'; readonly htlcMsat: bigint; readonly height: number }
    | { readonly name: 'final_incorrect_cltv_expiry'; readonly cltvExpiry: number }
    | { readonly name: 'final_incorrect_htlc_amount'; readonly incomingHtlcAmtMsat: bigint }
    | { readonly name: 'channel_disabled'; readonly disabledFlags: number; readonly channelUpdate: Uint8Array }
    | { readonly name: 'invalid_onion_payload'; readonly type: bigint; readonly offset: number }
    | { readonly name: 'unknown'; readonly code: number; readonly data: Uint8Array }
  );

const NAME_OF = new Map<number, FailureName>(Object.entries(FailureCode).map(([name, code]) => [code, name as FailureName]));

/** The spec name of `code`, or undefined when BOLT 4 does not define it. */
export function failureName(code: number): FailureName | undefined {
  return NAME_OF.get(code);
}

/** The numeric `failure_code` of `message` (for `unknown`, the code it carries). */
export function failureCodeOf(message: FailureMessage): number {
  return message.name === 'unknown' ? message.code : FailureCode[message.name];
}

/** Whether `code` has every bit of `flag` set (e.g. `hasFailureFlag(code, FailureFlag.PERM)`). */
export function hasFailureFlag(code: number, flag: number): boolean {
  return (code & flag) === flag;
}

function writeUpdate(w: ByteWriter, update: Uint8Array): void {
  assertBytes('channelUpdate', update);
  if (update.length > 0xffff) throw new RangeError(`expected channelUpdate of at most 65535 bytes, got ${update.length}`);
  w.u16(update.length).bytes(update);
}

function assertU32(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`expected ${name} in [0, 2^32-1], got ${n}`);
}

/**
 * Serializes `message` as a `failuremsg`: u16 code, the code's data, then `tlvs` if any.
 * Throws TypeError/RangeError for a field of the wrong type or range (a 32-byte
 * `sha256OfOnion`, u32 heights and expiries, u64 amounts, a u16 `offset`, a `code` of an
 * unknown message in [0, 65535]).
 */
export function encodeFailureMessage(message: FailureMessage): Uint8Array {
  const code = failureCodeOf(message);
  if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw new RangeError(`expected failure code in [0, 65535], got ${code}`);
  const w = new ByteWriter(64);
  w.u16(code);
  switch (message.name) {
    case 'invalid_onion_version':
    case 'invalid_onion_hmac':
    case 'invalid_onion_key':
    case 'invalid_onion_blinding':
      assertBytes('sha256OfOnion', message.sha256OfOnion, 32);
      w.bytes(message.sha256OfOnion);
      break;
    case 'temporary_channel_failure':
    case 'expiry_too_soon':
      writeUpdate(w, message.channelUpdate);
      break;
    case 'amount_below_minimum':
    case 'fee_insufficient':
      w.u64(message.htlcMsat);
      writeUpdate(w, message.channelUpdate);
      break;
    case 'incorrect_cltv_expiry':
      assertU32('cltvExpiry', message.cltvExpiry);
      w.u32(message.cltvExpiry);
      writeUpdate(w, message.channelUpdate);
      break;
    case 'incorrect_or_unknown_payment_details':
      assertU32('height', message.height);
      w.u64(message.htlcMsat).u32(message.height);
      break;
    case 'final_incorrect_cltv_expiry':
      assertU32('cltvExpiry', message.cltvExpiry);
      w.u32(message.cltvExpiry);
      break;
    case 'final_incorrect_htlc_amount':
      w.u64(message.incomingHtlcAmtMsat);
      break;
    case 'channel_disabled':
      w.u16(message.disabledFlags);
      writeUpdate(w, message.channelUpdate);
      break;
    case 'invalid_onion_payload':
      w.bigSize(message.type).u16(message.offset);
      break;
    case 'unknown':
      assertBytes('data', message.data);
      w.bytes(message.data);
      break;
    default:
      // The no-data codes.
      break;
  }
  if (message.tlvs !== undefined && message.tlvs.length > 0) w.bytes(encodeTlvStream(message.tlvs));
  return w.finish();
}

/**
 * Parses a `failuremsg`. Throws DecodeError if it is shorter than two bytes or than the data
 * its code requires; bytes after the data become `tlvs` when they form a valid TLV stream and
 * are ignored otherwise (BOLT 4: the origin MUST ignore extra bytes). Returned byte fields are
 * copies. An undefined code gives `{ name: 'unknown', code, data }` with everything after it.
 */
export function decodeFailureMessage(bytes: Uint8Array): FailureMessage {
  assertBytes('failure message', bytes);
  const r = new ByteReader(bytes);
  const code = r.u16();
  const name = failureName(code);
  const update = (): Uint8Array => r.bytes(r.u16()).slice();
  let message: FailureMessage;
  switch (name) {
    case undefined:
      return { name: 'unknown', code, data: r.rest().slice() };
    case 'invalid_onion_version':
    case 'invalid_onion_hmac':
    case 'invalid_onion_key':
    case 'invalid_onion_blinding':
      message = { name, sha256OfOnion: r.bytes(32).slice() };
      break;
    case 'temporary_channel_failure':
    case 'expiry_too_soon':
      message = { name, channelUpdate: update() };
      break;
    case 'amount_below_minimum':
    case 'fee_insufficient': {
      const htlcMsat = r.u64();
      message = { name, htlcMsat, channelUpdate: update() };
      break;
    }
    case 'incorrect_cltv_expiry': {
      const cltvExpiry = r.u32();
      message = { name, cltvExpiry, channelUpdate: update() };
      break;
    }
    case 'incorrect_or_unknown_payment_details': {
      const htlcMsat = r.u64();
      message = { name, htlcMsat, height: r.u32() };
      break;
    }
    case 'final_incorrect_cltv_expiry':
      message = { name, cltvExpiry: r.u32() };
      break;
    case 'final_incorrect_htlc_amount':
      message = { name, incomingHtlcAmtMsat: r.u64() };
      break;
    case 'channel_disabled': {
      const disabledFlags = r.u16();
      message = { name, disabledFlags, channelUpdate: update() };
      break;
    }
    case 'invalid_onion_payload': {
      const type = r.bigSize();
      message = { name, type, offset: r.u16() };
      break;
    }
    default:
      message = { name };
  }
  const rest = r.rest();
  if (rest.length === 0) return message;
  let tlvs: TlvRecord[];
  try {
    tlvs = decodeTlvStream(rest).map(({ type, value }) => ({ type, value: value.slice() }));
  } catch (err) {
    if (err instanceof DecodeError) return message;
    throw err;
  }
  return { ...message, tlvs };
}
