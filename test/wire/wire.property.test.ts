/**
 * Property tests for the wire codecs: every message type round-trips (decode(encode(m)) equals
 * m, and re-encoding gives the same bytes), and arbitrary or mangled bytes fed to decodeMessage
 * give a value or a typed ChandError (DecodeError / WireError), never a RangeError, TypeError
 * or any other crash.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/codec/bytes.js';
import type { TlvRecord } from '../../src/codec/tlv.js';
import { ChandError } from '../../src/errors.js';
import {
  ATTRIBUTION_DATA_SIZE,
  decodeMessage,
  encodeMessage,
  GossipMessageType,
  MessageType,
  ONION_PACKET_SIZE,
  type WireMessage,
} from '../../src/wire/index.js';

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(bytesToHex);
const id32 = hex(32);
const point = hex(33);
const sig = fc.uint8Array({ minLength: 64, maxLength: 64 });
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const counter = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.maxSafeInteger().filter((n) => n >= 0));
const blob = (max = 80) => fc.uint8Array({ maxLength: max });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Unknown odd extension records with types no message defines (> 1000), canonical order. */
const unknownTlvs: fc.Arbitrary<TlvRecord[] | undefined> = opt(
  fc.uniqueArray(fc.bigInt({ min: 500n, max: 1n << 40n }).map((t) => t * 2n + 1n), { minLength: 1, maxLength: 3 }).chain((types) =>
    fc.tuple(...types.sort((a, b) => (a < b ? -1 : 1)).map((type) => blob(20).map((value) => ({ type, value })))),
  ),
);

/** A record arbitrary with the optional keys dropped when undefined (as decode produces them). */
function msg<T extends Record<string, unknown>>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<WireMessage> {
  return fc.record({ ...fields, unknownTlvs } as never).map((m) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) if (v !== undefined) out[k] = v;
    return out as unknown as WireMessage;
  });
}

const keys = { fundingPubkey: point, revocationBasepoint: point, paymentBasepoint: point, delayedPaymentBasepoint: point, htlcBasepoint: point, firstPerCommitmentPoint: point };
const simpleClose = {
  channelId: id32,
  closerScriptPubkey: blob(),
  closeeScriptPubkey: blob(),
  feeSat: u64,
  locktime: u32,
  closerOutputOnly: opt(sig),
  closeeOutputOnly: opt(sig),
  closerAndCloseeOutputs: opt(sig),
};
const fundingRef = opt(fc.record({ txid: id32, retransmitFlags: u8 }));

/** One arbitrary per message type name. */
const ARBITRARIES: Record<WireMessage['type'], fc.Arbitrary<WireMessage>> = {
  init: msg({ type: fc.constant('init'), globalFeatures: blob(4), features: blob(12), networks: opt(fc.array(id32, { maxLength: 3 })), remoteAddr: opt(blob(20)) }),
  error: msg({ type: fc.constant('error'), channelId: id32, data: blob() }),
  warning: msg({ type: fc.constant('warning'), channelId: id32, data: blob() }),
  ping: msg({ type: fc.constant('ping'), numPongBytes: u16, ignored: blob() }),
  pong: msg({ type: fc.constant('pong'), ignored: blob() }),
  open_channel: msg({
    type: fc.constant('open_channel'),
    chainHash: id32,
    temporaryChannelId: id32,
    fundingSat: u64,
    pushMsat: u64,
    dustLimitSat: u64,
    maxHtlcValueInFlightMsat: u64,
    channelReserveSat: u64,
    htlcMinimumMsat: u64,
    feeratePerKw: u32,
    toSelfDelay: u16,
    maxAcceptedHtlcs: u16,
    ...keys,
    channelFlags: u8,
    upfrontShutdownScript: opt(blob(34)),
    channelType: opt(blob(8)),
  }),
  accept_channel: msg({
    type: fc.constant('accept_channel'),
    temporaryChannelId: id32,
    dustLimitSat: u64,
    maxHtlcValueInFlightMsat: u64,
    channelReserveSat: u64,
    htlcMinimumMsat: u64,
    minimumDepth: u32,
    toSelfDelay: u16,
    maxAcceptedHtlcs: u16,
    ...keys,
    upfrontShutdownScript: opt(blob(34)),
    channelType: opt(blob(8)),
  }),
  funding_created: msg({ type: fc.constant('funding_created'), temporaryChannelId: id32, fundingTxid: id32, fundingOutputIndex: u16, signature: sig }),
  funding_signed: msg({ type: fc.constant('funding_signed'), channelId: id32, signature: sig }),
  channel_ready: msg({ type: fc.constant('channel_ready'), channelId: id32, secondPerCommitmentPoint: point, alias: opt(u64) }),
  shutdown: msg({ type: fc.constant('shutdown'), channelId: id32, scriptPubkey: blob(34) }),
  closing_signed: msg({
    type: fc.constant('closing_signed'),
    channelId: id32,
    feeSat: u64,
    signature: sig,
    feeRange: opt(fc.record({ minFeeSat: u64, maxFeeSat: u64 })),
  }),
  closing_complete: msg({ type: fc.constant('closing_complete'), ...simpleClose }),
  closing_sig: msg({ type: fc.constant('closing_sig'), ...simpleClose }),
  update_add_htlc: msg({
    type: fc.constant('update_add_htlc'),
    channelId: id32,
    id: counter,
    amountMsat: u64,
    paymentHash: id32,
    cltvExpiry: u32,
    onionRoutingPacket: fc.uint8Array({ minLength: ONION_PACKET_SIZE, maxLength: ONION_PACKET_SIZE }),
    pathKey: opt(point),
  }),
  update_fulfill_htlc: msg({
    type: fc.constant('update_fulfill_htlc'),
    channelId: id32,
    id: counter,
    paymentPreimage: bytes32,
    attributionData: opt(fc.uint8Array({ minLength: ATTRIBUTION_DATA_SIZE, maxLength: ATTRIBUTION_DATA_SIZE })),
  }),
  update_fail_htlc: msg({
    type: fc.constant('update_fail_htlc'),
    channelId: id32,
    id: counter,
    reason: blob(300),
    attributionData: opt(fc.uint8Array({ minLength: ATTRIBUTION_DATA_SIZE, maxLength: ATTRIBUTION_DATA_SIZE })),
  }),
  update_fail_malformed_htlc: msg({ type: fc.constant('update_fail_malformed_htlc'), channelId: id32, id: counter, sha256OfOnion: id32, failureCode: u16 }),
  commitment_signed: msg({ type: fc.constant('commitment_signed'), channelId: id32, signature: sig, htlcSignatures: fc.array(sig, { maxLength: 5 }), fundingTxid: opt(id32) }),
  revoke_and_ack: msg({ type: fc.constant('revoke_and_ack'), channelId: id32, perCommitmentSecret: bytes32, nextPerCommitmentPoint: point }),
  update_fee: msg({ type: fc.constant('update_fee'), channelId: id32, feeratePerKw: u32 }),
  channel_reestablish: msg({
    type: fc.constant('channel_reestablish'),
    channelId: id32,
    nextCommitmentNumber: counter,
    nextRevocationNumber: counter,
    yourLastPerCommitmentSecret: bytes32,
    myCurrentPerCommitmentPoint: point,
    nextFunding: fundingRef,
    myCurrentFundingLocked: fundingRef,
  }),
};

const anyMessage = fc.oneof(...Object.values(ARBITRARIES));

/** decodeMessage either returns or throws a ChandError; anything else fails the property. */
function decodesOrTypedError(bytes: Uint8Array): void {
  try {
    decodeMessage(bytes);
  } catch (err) {
    if (!(err instanceof ChandError)) throw new Error(`untyped ${String(err)} for ${bytesToHex(bytes).slice(0, 80)}`, { cause: err });
  }
}

describe('round trip: decode(encode(m)) equals m for every message type', () => {
  it('covers every type number in MessageType', () => {
    expect(Object.keys(ARBITRARIES).length).toBe(Object.keys(MessageType).length);
  });

  it.each(Object.keys(ARBITRARIES))('%s', (name) => {
    fc.assert(
      fc.property(ARBITRARIES[name as WireMessage['type']], (m) => {
        const bytes = encodeMessage(m);
        const d = decodeMessage(bytes);
        expect(d.kind).toBe('known');
        if (d.kind !== 'known') return;
        expect(d.message).toEqual(m);
        expect(bytesToHex(encodeMessage(d.message))).toBe(bytesToHex(bytes));
      }),
      { numRuns: 150 },
    );
  });
});

describe('decodeMessage on hostile input gives only typed errors', () => {
  const knownTypes = [...Object.values(MessageType), ...Object.values(GossipMessageType)];

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => decodesOrTypedError(b)), { numRuns: 3000 });
  });

  it('random bytes after each known type number', () => {
    for (const type of knownTypes) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
          const bytes = new Uint8Array(2 + b.length);
          bytes[0] = type >> 8;
          bytes[1] = type & 0xff;
          bytes.set(b, 2);
          decodesOrTypedError(bytes);
        }),
        { numRuns: 150 },
      );
    }
  });

  it('valid messages truncated, extended or with one byte flipped', () => {
    fc.assert(
      fc.property(anyMessage, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 12 }), u8, (m, pos, tail, flip) => {
        const bytes = encodeMessage(m);
        decodesOrTypedError(bytes.subarray(0, pos % bytes.length));
        const extended = new Uint8Array(bytes.length + tail.length);
        extended.set(bytes);
        extended.set(tail, bytes.length);
        decodesOrTypedError(extended);
        const flipped = bytes.slice();
        flipped[2 + (pos % Math.max(1, bytes.length - 2))]! ^= flip | 1;
        decodesOrTypedError(flipped);
      }),
      { numRuns: 1500 },
    );
  });

  it('a strict prefix of a message without extension never decodes to the same message', () => {
    // Fixed fields are mandatory (BOLT 1: insufficient length -> close): cutting inside them
    // must fail, cutting after them yields at most a shorter extension, never an invented field.
    fc.assert(
      fc.property(anyMessage, fc.nat(), (m, pos) => {
        const bytes = encodeMessage(m);
        const cut = bytes.subarray(0, pos % bytes.length);
        let decoded: ReturnType<typeof decodeMessage> | undefined;
        try {
          decoded = decodeMessage(cut);
        } catch (err) {
          expect(err).toBeInstanceOf(ChandError);
          return;
        }
        if (decoded.kind === 'known') expect(bytesToHex(encodeMessage(decoded.message))).toBe(bytesToHex(cut));
      }),
      { numRuns: 1000 },
    );
  });
});
