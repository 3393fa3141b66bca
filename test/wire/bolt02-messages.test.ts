/**
 * BOLT 2 messages against hand-built byte layouts: each test writes the message the way the
 * spec lists its fields (type, then each field at its size, then TLVs), decodes it, checks every
 * field, and re-encodes it to the same bytes. BOLT 2 has no byte vectors of its own.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/codec/bytes.js';
import { DecodeError } from '../../src/errors.js';
import {
  ATTRIBUTION_DATA_SIZE,
  CHAND_CHANNEL_TYPE,
  channelIdOfMessage,
  decodeChannelType,
  decodeMessage,
  encodeChannelType,
  encodeMessage,
  messageTypeOf,
  MessageType,
  ONION_PACKET_SIZE,
  type WireMessage,
} from '../../src/wire/index.js';

/** Concatenated hex parts as bytes. */
const h = (...parts: string[]): Uint8Array => hexToBytes(parts.join(''));
const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const u32 = (n: number): string => n.toString(16).padStart(8, '0');
const u64 = (n: bigint): string => n.toString(16).padStart(16, '0');
/** A 33-byte "point" (not on the curve: the codec checks sizes only). */
const pt = (b: string): string => '02' + b.repeat(32);
const sig = (b: string): Uint8Array => hexToBytes(b.repeat(64));
const reverseHex = (hex: string): string => bytesToHex(hexToBytes(hex).reverse());

const CHAN = '11'.repeat(32);
const TEMP = '22'.repeat(32);
// The regtest genesis, display order (as chand stores chain hashes) and on the wire.
const REGTEST = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';
const TXID = '0123456789abcdef'.repeat(4);

/** Decodes, insists on a known message, and checks it re-encodes to `bytes`. */
function roundTrip(bytes: Uint8Array): WireMessage {
  const d = decodeMessage(bytes);
  if (d.kind !== 'known') throw new Error(`expected a known message, got ${d.kind}`);
  expect(bytesToHex(encodeMessage(d.message))).toBe(bytesToHex(bytes));
  return d.message;
}

describe('open_channel (32)', () => {
  const fixed = [
    '0020',
    reverseHex(REGTEST),
    TEMP,
    u64(1_000_000n), // funding_satoshis
    u64(5_000n), // push_msat
    u64(546n), // dust_limit_satoshis
    u64(990_000_000n), // max_htlc_value_in_flight_msat
    u64(10_000n), // channel_reserve_satoshis
    u64(1n), // htlc_minimum_msat
    u32(253), // feerate_per_kw
    u16(144), // to_self_delay
    u16(483), // max_accepted_htlcs
    pt('a1'),
    pt('a2'),
    pt('a3'),
    pt('a4'),
    pt('a5'),
    pt('a6'),
    '01', // channel_flags: announce_channel
  ];

  it('has 319 bytes of fixed fields after the type', () => {
    expect(h(...fixed).length).toBe(2 + 319);
  });

  it('decodes every field in spec order, with upfront_shutdown_script (0) and channel_type (1)', () => {
    const script = '0014' + 'cd'.repeat(20);
    const bytes = h(...fixed, '00', '16', script, '01', '02', '1000');
    const m = roundTrip(bytes);
    expect(m).toEqual({
      type: 'open_channel',
      chainHash: REGTEST,
      temporaryChannelId: TEMP,
      fundingSat: 1_000_000n,
      pushMsat: 5_000n,
      dustLimitSat: 546n,
      maxHtlcValueInFlightMsat: 990_000_000n,
      channelReserveSat: 10_000n,
      htlcMinimumMsat: 1n,
      feeratePerKw: 253,
      toSelfDelay: 144,
      maxAcceptedHtlcs: 483,
      fundingPubkey: pt('a1'),
      revocationBasepoint: pt('a2'),
      paymentBasepoint: pt('a3'),
      delayedPaymentBasepoint: pt('a4'),
      htlcBasepoint: pt('a5'),
      firstPerCommitmentPoint: pt('a6'),
      channelFlags: 1,
      upfrontShutdownScript: hexToBytes(script),
      channelType: hexToBytes('1000'),
    });
    if (m.type === 'open_channel') expect(decodeChannelType(m.channelType!)).toEqual(CHAND_CHANNEL_TYPE);
    expect(channelIdOfMessage(m)).toBe(TEMP);
  });

  it('keeps a zero-length upfront_shutdown_script ("0x0000") distinct from an absent one', () => {
    const m = roundTrip(h(...fixed, '0000', '0102', bytesToHex(encodeChannelType(CHAND_CHANNEL_TYPE))));
    expect(m.type === 'open_channel' && m.upfrontShutdownScript).toEqual(new Uint8Array(0));
    const bare = roundTrip(h(...fixed));
    expect(bare.type === 'open_channel' && 'upfrontShutdownScript' in bare).toBe(false);
  });

  it('rejects a message one byte short of its fixed fields', () => {
    const bytes = h(...fixed);
    expect(() => decodeMessage(bytes.subarray(0, bytes.length - 1))).toThrow(DecodeError);
  });

  it('rejects TLVs out of order and unknown even TLVs', () => {
    expect(() => decodeMessage(h(...fixed, '01021000', '0000'))).toThrow(DecodeError);
    expect(() => decodeMessage(h(...fixed, '0200'))).toThrow(DecodeError);
  });
});

describe('accept_channel (33)', () => {
  const fixed = [
    '0021',
    TEMP,
    u64(354n),
    u64(500_000_000n),
    u64(20_000n),
    u64(1_000n),
    u32(3), // minimum_depth
    u16(720),
    u16(30),
    pt('b1'),
    pt('b2'),
    pt('b3'),
    pt('b4'),
    pt('b5'),
    pt('b6'),
  ];

  it('has 270 bytes of fixed fields and decodes them in spec order', () => {
    expect(h(...fixed).length).toBe(2 + 270);
    const m = roundTrip(h(...fixed, '0000', '0106400000001000'));
    expect(m).toEqual({
      type: 'accept_channel',
      temporaryChannelId: TEMP,
      dustLimitSat: 354n,
      maxHtlcValueInFlightMsat: 500_000_000n,
      channelReserveSat: 20_000n,
      htlcMinimumMsat: 1_000n,
      minimumDepth: 3,
      toSelfDelay: 720,
      maxAcceptedHtlcs: 30,
      fundingPubkey: pt('b1'),
      revocationBasepoint: pt('b2'),
      paymentBasepoint: pt('b3'),
      delayedPaymentBasepoint: pt('b4'),
      htlcBasepoint: pt('b5'),
      firstPerCommitmentPoint: pt('b6'),
      upfrontShutdownScript: new Uint8Array(0),
      channelType: hexToBytes('400000001000'),
    });
    if (m.type === 'accept_channel') expect(decodeChannelType(m.channelType!)).toEqual({ anchors: false, scidAlias: true, zeroConf: false });
  });
});

describe('funding_created (34) and funding_signed (35)', () => {
  it('writes funding_txid in wire (reversed) order and output index as u16', () => {
    const bytes = h('0022', TEMP, reverseHex(TXID), u16(1), 'ab'.repeat(64));
    const m = roundTrip(bytes);
    expect(m).toEqual({ type: 'funding_created', temporaryChannelId: TEMP, fundingTxid: TXID, fundingOutputIndex: 1, signature: sig('ab') });
    expect(channelIdOfMessage(m)).toBe(TEMP);
  });

  it('lays out funding_signed as channel_id, signature', () => {
    const m = roundTrip(h('0023', CHAN, 'cd'.repeat(64)));
    expect(m).toEqual({ type: 'funding_signed', channelId: CHAN, signature: sig('cd') });
    expect(() => decodeMessage(h('0023', CHAN, 'cd'.repeat(63)))).toThrow(DecodeError);
  });
});

describe('channel_ready (36)', () => {
  it('decodes the short_channel_id alias TLV (1, 8 bytes)', () => {
    const m = roundTrip(h('0024', CHAN, pt('c1'), '01', '08', u64(0x0001_2300_0004_0001n)));
    expect(m).toEqual({ type: 'channel_ready', channelId: CHAN, secondPerCommitmentPoint: pt('c1'), alias: 0x0001_2300_0004_0001n });
    expect(roundTrip(h('0024', CHAN, pt('c1')))).toEqual({ type: 'channel_ready', channelId: CHAN, secondPerCommitmentPoint: pt('c1') });
  });

  it('rejects an alias of the wrong size', () => {
    expect(() => decodeMessage(h('0024', CHAN, pt('c1'), '0107', '00'.repeat(7)))).toThrow(DecodeError);
  });
});

describe('closing messages', () => {
  const p2wpkh = '0014' + 'ee'.repeat(20);

  it('shutdown (38): channel_id, u16 len, scriptpubkey', () => {
    expect(roundTrip(h('0026', CHAN, u16(22), p2wpkh))).toEqual({ type: 'shutdown', channelId: CHAN, scriptPubkey: hexToBytes(p2wpkh) });
  });

  it('closing_signed (39): fee_satoshis, signature, fee_range TLV (1: two u64)', () => {
    const m = roundTrip(h('0027', CHAN, u64(1_500n), 'aa'.repeat(64), '0110', u64(1_000n), u64(2_000n)));
    expect(m).toEqual({ type: 'closing_signed', channelId: CHAN, feeSat: 1_500n, signature: sig('aa'), feeRange: { minFeeSat: 1_000n, maxFeeSat: 2_000n } });
    expect(() => decodeMessage(h('0027', CHAN, u64(1_500n), 'aa'.repeat(64), '0108', u64(1_000n)))).toThrow(DecodeError);
  });

  it('closing_complete (40): two scripts, fee, locktime, then signature TLVs 1/2/3', () => {
    const closee = '5120' + 'dd'.repeat(32);
    const bytes = h('0028', CHAN, u16(22), p2wpkh, u16(34), closee, u64(300n), u32(800_000), '0140', 'a1'.repeat(64), '0340', 'a3'.repeat(64));
    expect(roundTrip(bytes)).toEqual({
      type: 'closing_complete',
      channelId: CHAN,
      closerScriptPubkey: hexToBytes(p2wpkh),
      closeeScriptPubkey: hexToBytes(closee),
      feeSat: 300n,
      locktime: 800_000,
      closerOutputOnly: sig('a1'),
      closerAndCloseeOutputs: sig('a3'),
    });
  });

  it('closing_sig (41): same layout, one signature', () => {
    const bytes = h('0029', CHAN, u16(0), u16(1), '6a', u64(0n), u32(0), '0240', 'b2'.repeat(64));
    expect(roundTrip(bytes)).toEqual({
      type: 'closing_sig',
      channelId: CHAN,
      closerScriptPubkey: new Uint8Array(0),
      closeeScriptPubkey: hexToBytes('6a'),
      feeSat: 0n,
      locktime: 0,
      closeeOutputOnly: sig('b2'),
    });
    expect(() => decodeMessage(h('0029', CHAN, u16(0), u16(1), '6a', u64(0n), u32(0), '023f', 'b2'.repeat(63)))).toThrow(DecodeError);
  });
});

describe('HTLC updates', () => {
  const onion = '00' + '03'.repeat(33) + '44'.repeat(1300) + '55'.repeat(32);
  const hash = '66'.repeat(32);

  it('update_add_htlc (128): id, amount, hash, cltv, 1366-byte onion, blinded_path TLV (0)', () => {
    expect(onion.length / 2).toBe(ONION_PACKET_SIZE);
    const m = roundTrip(h('0080', CHAN, u64(7n), u64(100_000n), hash, u32(800_144), onion, '0021', pt('d1')));
    expect(m).toEqual({
      type: 'update_add_htlc',
      channelId: CHAN,
      id: 7,
      amountMsat: 100_000n,
      paymentHash: hash,
      cltvExpiry: 800_144,
      onionRoutingPacket: hexToBytes(onion),
      pathKey: pt('d1'),
    });
  });

  it('update_add_htlc rejects a short onion and a too-large id', () => {
    expect(() => decodeMessage(h('0080', CHAN, u64(7n), u64(1n), hash, u32(1), onion.slice(2)))).toThrow(DecodeError);
    expect(() => decodeMessage(h('0080', CHAN, u64(1n << 53n), u64(1n), hash, u32(1), onion))).toThrow(DecodeError);
  });

  it('update_fulfill_htlc (130): id, preimage, attribution_data TLV (1, 920 bytes)', () => {
    const attribution = '77'.repeat(ATTRIBUTION_DATA_SIZE);
    const m = roundTrip(h('0082', CHAN, u64(3n), '88'.repeat(32), '01fd0398', attribution));
    expect(m).toEqual({ type: 'update_fulfill_htlc', channelId: CHAN, id: 3, paymentPreimage: hexToBytes('88'.repeat(32)), attributionData: hexToBytes(attribution) });
    expect(() => decodeMessage(h('0082', CHAN, u64(3n), '88'.repeat(32), '0101', '00'))).toThrow(DecodeError);
  });

  it('update_fail_htlc (131): id, u16 len, reason', () => {
    expect(roundTrip(h('0083', CHAN, u64(4n), u16(3), 'abcdef'))).toEqual({ type: 'update_fail_htlc', channelId: CHAN, id: 4, reason: hexToBytes('abcdef') });
  });

  it('update_fail_malformed_htlc (135): id, sha256_of_onion, failure_code', () => {
    expect(roundTrip(h('0087', CHAN, u64(5n), hash, u16(0xc005)))).toEqual({
      type: 'update_fail_malformed_htlc',
      channelId: CHAN,
      id: 5,
      sha256OfOnion: hash,
      failureCode: 0xc005,
    });
  });
});

describe('commitment_signed (132), revoke_and_ack (133), update_fee (134)', () => {
  it('commitment_signed: signature, u16 num_htlcs, that many signatures, funding_txid TLV (1)', () => {
    const m = roundTrip(h('0084', CHAN, 'c0'.repeat(64), u16(2), 'c1'.repeat(64), 'c2'.repeat(64), '0120', reverseHex(TXID)));
    expect(m).toEqual({ type: 'commitment_signed', channelId: CHAN, signature: sig('c0'), htlcSignatures: [sig('c1'), sig('c2')], fundingTxid: TXID });
  });

  it('commitment_signed rejects num_htlcs larger than the signatures present', () => {
    expect(() => decodeMessage(h('0084', CHAN, 'c0'.repeat(64), u16(2), 'c1'.repeat(64)))).toThrow(DecodeError);
  });

  it('revoke_and_ack: per_commitment_secret, next_per_commitment_point', () => {
    expect(roundTrip(h('0085', CHAN, '99'.repeat(32), pt('e1')))).toEqual({
      type: 'revoke_and_ack',
      channelId: CHAN,
      perCommitmentSecret: hexToBytes('99'.repeat(32)),
      nextPerCommitmentPoint: pt('e1'),
    });
  });

  it('update_fee: feerate_per_kw u32', () => {
    expect(roundTrip(h('0086', CHAN, u32(2_500)))).toEqual({ type: 'update_fee', channelId: CHAN, feeratePerKw: 2_500 });
  });
});

describe('channel_reestablish (136)', () => {
  it('decodes counters, secret, point and the next_funding (1) / my_current_funding_locked (5) TLVs', () => {
    const other = 'fedcba9876543210'.repeat(4);
    const m = roundTrip(h('0088', CHAN, u64(43n), u64(42n), '5a'.repeat(32), pt('f1'), '0121', reverseHex(TXID), '01', '0521', reverseHex(other), '00'));
    expect(m).toEqual({
      type: 'channel_reestablish',
      channelId: CHAN,
      nextCommitmentNumber: 43,
      nextRevocationNumber: 42,
      yourLastPerCommitmentSecret: hexToBytes('5a'.repeat(32)),
      myCurrentPerCommitmentPoint: pt('f1'),
      nextFunding: { txid: TXID, retransmitFlags: 1 },
      myCurrentFundingLocked: { txid: other, retransmitFlags: 0 },
    });
    expect(channelIdOfMessage(m)).toBe(CHAN);
  });

  it('rejects a next_funding TLV of the wrong size', () => {
    expect(() => decodeMessage(h('0088', CHAN, u64(1n), u64(0n), '00'.repeat(32), pt('f1'), '0120', reverseHex(TXID)))).toThrow(DecodeError);
  });
});

describe('registry and encoding misuse', () => {
  it('maps names to the spec type numbers', () => {
    expect(messageTypeOf('update_add_htlc')).toBe(128);
    expect(messageTypeOf('closing_sig')).toBe(MessageType.ClosingSig);
    expect(Object.values(MessageType).length).toBe(22);
  });

  it('has no channel id for connection-level messages', () => {
    expect(channelIdOfMessage({ type: 'ping', numPongBytes: 0, ignored: new Uint8Array(0) })).toBeUndefined();
    expect(channelIdOfMessage({ type: 'error', channelId: CHAN, data: new Uint8Array(0) })).toBe(CHAN);
  });

  it('throws RangeError/TypeError for malformed values, never writes them', () => {
    const base = { type: 'update_fee' as const, channelId: CHAN, feeratePerKw: 1 };
    expect(() => encodeMessage({ ...base, channelId: 'aa' })).toThrow(RangeError);
    expect(() => encodeMessage({ ...base, channelId: 'AA'.repeat(32) })).toThrow(TypeError);
    expect(() => encodeMessage({ ...base, feeratePerKw: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeMessage({ type: 'funding_signed', channelId: CHAN, signature: new Uint8Array(63) })).toThrow(RangeError);
    expect(() =>
      encodeMessage({ type: 'revoke_and_ack', channelId: CHAN, perCommitmentSecret: new Uint8Array(32), nextPerCommitmentPoint: pt('e1').slice(2) }),
    ).toThrow(RangeError);
    expect(() => encodeMessage({ type: 'update_fail_htlc', channelId: CHAN, id: -1, reason: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => encodeMessage({ type: 'update_fail_htlc', channelId: CHAN, id: 1, reason: new Uint8Array(65535) })).toThrow(RangeError);
  });
});
