/**
 * BOLT 2 normal-operation messages: HTLC updates, `commitment_signed`, `revoke_and_ack`,
 * `update_fee`, and `channel_reestablish`. Field order and sizes follow BOLT 2 exactly.
 */
import { ByteWriter, bytesToHex } from '../codec/bytes.js';
import type { TlvRecord } from '../codec/tlv.js';
import type { MessageCodec } from './codec-spec.js';
import {
  assertFixed,
  displayHashOf,
  expectTlvLength,
  optional,
  pointBytes,
  readCopy,
  readCounter,
  readExtension,
  readHex,
  readU16Bytes,
  wireHashOf,
  writeCounter,
  writeExtension,
  writeFixed,
  writeHex,
  writeU16Bytes,
} from './fields.js';
import { MessageType } from './types.js';

const SIG = 64;
/** BOLT 4 onion packet: version (1) + ephemeral key (33) + hop payloads (1300) + HMAC (32). */
export const ONION_PACKET_SIZE = 1366;
/** `attribution_data`: 20 u32 hold times + 210 four-byte truncated HMACs. */
export const ATTRIBUTION_DATA_SIZE = 20 * 4 + 210 * 4;

const BLINDED_PATH = 0n;

/** `update_add_htlc` (128): TLV 0 `blinded_path` (`path_key` point). */
export const updateAddHtlcCodec: MessageCodec<'update_add_htlc'> = {
  typeNumber: MessageType.UpdateAddHtlc,
  name: 'update_add_htlc',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'update_add_htlc channelId');
    writeCounter(w, m.id, 'update_add_htlc id');
    w.u64(m.amountMsat);
    writeHex(w, m.paymentHash, 32, 'update_add_htlc paymentHash');
    w.u32(m.cltvExpiry);
    writeFixed(w, m.onionRoutingPacket, ONION_PACKET_SIZE, 'update_add_htlc onionRoutingPacket');
    const blinded =
      m.pathKey === undefined ? undefined : { type: BLINDED_PATH, value: pointBytes(m.pathKey, 'update_add_htlc pathKey') };
    writeExtension(w, [BLINDED_PATH], [blinded], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const id = readCounter(r, 'update_add_htlc id');
    const amountMsat = r.u64();
    const paymentHash = readHex(r, 32);
    const cltvExpiry = r.u32();
    const onionRoutingPacket = readCopy(r, ONION_PACKET_SIZE);
    const ext = readExtension(r, [BLINDED_PATH]);
    const pk = ext.known.get(BLINDED_PATH);
    if (pk !== undefined) expectTlvLength(pk, 33, 'update_add_htlc blinded_path');
    return {
      type: 'update_add_htlc',
      channelId,
      id,
      amountMsat,
      paymentHash,
      cltvExpiry,
      onionRoutingPacket,
      ...optional('pathKey', pk === undefined ? undefined : bytesToHex(pk)),
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

const ATTRIBUTION_DATA = 1n;

/** The `attribution_data` record for `data`, or undefined when absent. */
function attributionRecord(data: Uint8Array | undefined, what: string): TlvRecord | undefined {
  if (data === undefined) return undefined;
  assertFixed(data, ATTRIBUTION_DATA_SIZE, what);
  return { type: ATTRIBUTION_DATA, value: data };
}

/** The copied `attribution_data` value, length-checked, or undefined when absent. */
function attributionOf(value: Uint8Array | undefined, what: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  expectTlvLength(value, ATTRIBUTION_DATA_SIZE, what);
  return value.slice();
}

/** `update_fulfill_htlc` (130): TLV 1 `attribution_data`. */
export const updateFulfillHtlcCodec: MessageCodec<'update_fulfill_htlc'> = {
  typeNumber: MessageType.UpdateFulfillHtlc,
  name: 'update_fulfill_htlc',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'update_fulfill_htlc channelId');
    writeCounter(w, m.id, 'update_fulfill_htlc id');
    writeFixed(w, m.paymentPreimage, 32, 'update_fulfill_htlc paymentPreimage');
    writeExtension(w, [ATTRIBUTION_DATA], [attributionRecord(m.attributionData, 'update_fulfill_htlc attributionData')], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const id = readCounter(r, 'update_fulfill_htlc id');
    const paymentPreimage = readCopy(r, 32);
    const ext = readExtension(r, [ATTRIBUTION_DATA]);
    return {
      type: 'update_fulfill_htlc',
      channelId,
      id,
      paymentPreimage,
      ...optional('attributionData', attributionOf(ext.known.get(ATTRIBUTION_DATA), 'update_fulfill_htlc attribution_data')),
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

/** `update_fail_htlc` (131): TLV 1 `attribution_data`. */
export const updateFailHtlcCodec: MessageCodec<'update_fail_htlc'> = {
  typeNumber: MessageType.UpdateFailHtlc,
  name: 'update_fail_htlc',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'update_fail_htlc channelId');
    writeCounter(w, m.id, 'update_fail_htlc id');
    writeU16Bytes(w, m.reason, 'update_fail_htlc reason');
    writeExtension(w, [ATTRIBUTION_DATA], [attributionRecord(m.attributionData, 'update_fail_htlc attributionData')], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const id = readCounter(r, 'update_fail_htlc id');
    const reason = readU16Bytes(r);
    const ext = readExtension(r, [ATTRIBUTION_DATA]);
    return {
      type: 'update_fail_htlc',
      channelId,
      id,
      reason,
      ...optional('attributionData', attributionOf(ext.known.get(ATTRIBUTION_DATA), 'update_fail_htlc attribution_data')),
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

/** `update_fail_malformed_htlc` (135): no TLVs defined. */
export const updateFailMalformedHtlcCodec: MessageCodec<'update_fail_malformed_htlc'> = {
  typeNumber: MessageType.UpdateFailMalformedHtlc,
  name: 'update_fail_malformed_htlc',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'update_fail_malformed_htlc channelId');
    writeCounter(w, m.id, 'update_fail_malformed_htlc id');
    writeHex(w, m.sha256OfOnion, 32, 'update_fail_malformed_htlc sha256OfOnion');
    w.u16(m.failureCode);
    writeExtension(w, [], [], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const id = readCounter(r, 'update_fail_malformed_htlc id');
    const sha256OfOnion = readHex(r, 32);
    const failureCode = r.u16();
    const ext = readExtension(r, []);
    return {
      type: 'update_fail_malformed_htlc',
      channelId,
      id,
      sha256OfOnion,
      failureCode,
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

const FUNDING_TXID = 1n;

/** `commitment_signed` (132): `u16 num_htlcs` signatures; TLV 1 `funding_txid`. */
export const commitmentSignedCodec: MessageCodec<'commitment_signed'> = {
  typeNumber: MessageType.CommitmentSigned,
  name: 'commitment_signed',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'commitment_signed channelId');
    writeFixed(w, m.signature, SIG, 'commitment_signed signature');
    if (!Array.isArray(m.htlcSignatures)) {
      throw new TypeError(`expected commitment_signed htlcSignatures as an array, got ${typeof m.htlcSignatures}`);
    }
    if (m.htlcSignatures.length > 0xffff) {
      throw new RangeError(`expected at most 65535 commitment_signed htlcSignatures, got ${m.htlcSignatures.length}`);
    }
    w.u16(m.htlcSignatures.length);
    for (const [i, sig] of m.htlcSignatures.entries()) writeFixed(w, sig, SIG, `commitment_signed htlcSignatures[${i}]`);
    const txid =
      m.fundingTxid === undefined ? undefined : { type: FUNDING_TXID, value: wireHashOf(m.fundingTxid, 'commitment_signed fundingTxid') };
    writeExtension(w, [FUNDING_TXID], [txid], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const signature = readCopy(r, SIG);
    const count = r.u16();
    const htlcSignatures: Uint8Array[] = [];
    for (let i = 0; i < count; i++) htlcSignatures.push(readCopy(r, SIG));
    const ext = readExtension(r, [FUNDING_TXID]);
    const tv = ext.known.get(FUNDING_TXID);
    if (tv !== undefined) expectTlvLength(tv, 32, 'commitment_signed funding_txid');
    return {
      type: 'commitment_signed',
      channelId,
      signature,
      htlcSignatures,
      ...optional('fundingTxid', tv === undefined ? undefined : displayHashOf(tv)),
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

/** `revoke_and_ack` (133): no TLVs defined. */
export const revokeAndAckCodec: MessageCodec<'revoke_and_ack'> = {
  typeNumber: MessageType.RevokeAndAck,
  name: 'revoke_and_ack',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'revoke_and_ack channelId');
    writeFixed(w, m.perCommitmentSecret, 32, 'revoke_and_ack perCommitmentSecret');
    w.bytes(pointBytes(m.nextPerCommitmentPoint, 'revoke_and_ack nextPerCommitmentPoint'));
    writeExtension(w, [], [], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const perCommitmentSecret = readCopy(r, 32);
    const nextPerCommitmentPoint = readHex(r, 33);
    const ext = readExtension(r, []);
    return {
      type: 'revoke_and_ack',
      channelId,
      perCommitmentSecret,
      nextPerCommitmentPoint,
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

/** `update_fee` (134): no TLVs defined. */
export const updateFeeCodec: MessageCodec<'update_fee'> = {
  typeNumber: MessageType.UpdateFee,
  name: 'update_fee',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'update_fee channelId');
    w.u32(m.feeratePerKw);
    writeExtension(w, [], [], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const feeratePerKw = r.u32();
    const ext = readExtension(r, []);
    return { type: 'update_fee', channelId, feeratePerKw, ...optional('unknownTlvs', ext.unknownTlvs) };
  },
};

const NEXT_FUNDING = 1n;
const MY_CURRENT_FUNDING_LOCKED = 5n;
const REESTABLISH_TLVS = [NEXT_FUNDING, MY_CURRENT_FUNDING_LOCKED] as const;

/** The 33-byte `txid ++ retransmit_flags` value of the two reestablish TLVs. */
function fundingRecord(
  type: bigint,
  v: { readonly txid: string; readonly retransmitFlags: number } | undefined,
  what: string,
): TlvRecord | undefined {
  if (v === undefined) return undefined;
  const w = new ByteWriter(33);
  w.bytes(wireHashOf(v.txid, `${what} txid`)).u8(v.retransmitFlags);
  return { type, value: w.finish() };
}

/** Parses a `txid ++ retransmit_flags` TLV value (33 bytes), or undefined when absent. */
function fundingOf(value: Uint8Array | undefined, what: string): { txid: string; retransmitFlags: number } | undefined {
  if (value === undefined) return undefined;
  expectTlvLength(value, 33, what);
  return { txid: displayHashOf(value.subarray(0, 32)), retransmitFlags: value[32]! };
}

/** `channel_reestablish` (136): TLV 1 `next_funding`, TLV 5 `my_current_funding_locked`. */
export const channelReestablishCodec: MessageCodec<'channel_reestablish'> = {
  typeNumber: MessageType.ChannelReestablish,
  name: 'channel_reestablish',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'channel_reestablish channelId');
    writeCounter(w, m.nextCommitmentNumber, 'channel_reestablish nextCommitmentNumber');
    writeCounter(w, m.nextRevocationNumber, 'channel_reestablish nextRevocationNumber');
    writeFixed(w, m.yourLastPerCommitmentSecret, 32, 'channel_reestablish yourLastPerCommitmentSecret');
    w.bytes(pointBytes(m.myCurrentPerCommitmentPoint, 'channel_reestablish myCurrentPerCommitmentPoint'));
    writeExtension(
      w,
      REESTABLISH_TLVS,
      [
        fundingRecord(NEXT_FUNDING, m.nextFunding, 'channel_reestablish nextFunding'),
        fundingRecord(MY_CURRENT_FUNDING_LOCKED, m.myCurrentFundingLocked, 'channel_reestablish myCurrentFundingLocked'),
      ],
      m.unknownTlvs,
    );
  },
  read(r) {
    const channelId = readHex(r, 32);
    const nextCommitmentNumber = readCounter(r, 'channel_reestablish next_commitment_number');
    const nextRevocationNumber = readCounter(r, 'channel_reestablish next_revocation_number');
    const yourLastPerCommitmentSecret = readCopy(r, 32);
    const myCurrentPerCommitmentPoint = readHex(r, 33);
    const ext = readExtension(r, REESTABLISH_TLVS);
    return {
      type: 'channel_reestablish',
      channelId,
      nextCommitmentNumber,
      nextRevocationNumber,
      yourLastPerCommitmentSecret,
      myCurrentPerCommitmentPoint,
      ...optional('nextFunding', fundingOf(ext.known.get(NEXT_FUNDING), 'channel_reestablish next_funding')),
      ...optional(
        'myCurrentFundingLocked',
        fundingOf(ext.known.get(MY_CURRENT_FUNDING_LOCKED), 'channel_reestablish my_current_funding_locked'),
      ),
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};
