/**
 * BOLT 4 payload reader requirements (each violation is invalid_onion_payload naming the type
 * and offset), hop payload and failure message round trips, and decoders fed random bytes.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeTlvStream, type TlvRecord } from '../../src/codec/tlv.js';
import { DecodeError } from '../../src/errors.js';
import { OnionError } from '../../src/onion/errors.js';
import { decodeFailureMessage, encodeFailureMessage, FailureCode, failureName } from '../../src/onion/failure-messages.js';
import { decodeHopPayload, encodeHopPayload, HopPayloadType } from '../../src/onion/hop-payload.js';
import { onionSharedSecret } from '../../src/onion/keys.js';
import { constructOnion, peelOnion } from '../../src/onion/packet.js';

const rec = (type: bigint, value: number[] | Uint8Array): TlvRecord => ({ type, value: Uint8Array.from(value) });
const AMT = rec(2n, [0x27, 0x10]);
const CLTV = rec(4n, [0x03, 0xe8]);
const SCID = rec(6n, [0, 0, 0, 0, 0, 0, 0, 7]);

function rejection(records: TlvRecord[] | Uint8Array, final: boolean): { type: bigint; offset: number } {
  const bytes = records instanceof Uint8Array ? records : encodeTlvStream(records);
  try {
    decodeHopPayload(bytes, { final });
  } catch (err) {
    expect(err).toBeInstanceOf(OnionError);
    const e = err as OnionError;
    expect(e.code).toBe('ONION_PAYLOAD_INVALID');
    expect(e.failureCode).toBe(FailureCode.invalid_onion_payload);
    if (e.failure.name !== 'invalid_onion_payload') throw new Error('wrong failure');
    expect(decodeFailureMessage(e.failureMessage)).toEqual(e.failure);
    return { type: e.failure.type, offset: e.failure.offset };
  }
  throw new Error('payload was accepted');
}

describe('hop payload reader requirements', () => {
  it('a forwarding hop needs amt_to_forward, outgoing_cltv_value and short_channel_id', () => {
    expect(decodeHopPayload(encodeTlvStream([AMT, CLTV, SCID]), { final: false })).toEqual({
      kind: 'forward',
      amtToForwardMsat: 10000n,
      outgoingCltvValue: 1000,
      shortChannelId: 7n,
    });
    expect(rejection([CLTV, SCID], false)).toEqual({ type: 2n, offset: 0 });
    expect(rejection([AMT, SCID], false)).toEqual({ type: 4n, offset: 0 });
    expect(rejection([AMT, CLTV], false)).toEqual({ type: 6n, offset: 0 });
  });

  it('the final hop needs amt_to_forward and outgoing_cltv_value, and must not name a channel', () => {
    expect(decodeHopPayload(encodeTlvStream([AMT, CLTV]), { final: true })).toEqual({ kind: 'final', amtToForwardMsat: 10000n, outgoingCltvValue: 1000 });
    expect(rejection([CLTV], true)).toEqual({ type: 2n, offset: 0 });
    expect(rejection([AMT], true)).toEqual({ type: 4n, offset: 0 });
    // AMT (4 bytes) and CLTV (4 bytes) precede it.
    expect(rejection([AMT, CLTV, SCID], true)).toEqual({ type: 6n, offset: 8 });
  });

  it('a forwarding hop must not carry final-hop fields', () => {
    expect(rejection([AMT, CLTV, SCID, rec(8n, new Uint8Array(33))], false)).toEqual({ type: 8n, offset: 18 });
    expect(rejection([AMT, CLTV, SCID, rec(HopPayloadType.KEYSEND_PREIMAGE, new Uint8Array(32))], false).type).toBe(HopPayloadType.KEYSEND_PREIMAGE);
  });

  it('unknown even types (route blinding included) are refused, unknown odd ones kept', () => {
    expect(rejection([AMT, CLTV, rec(10n, [1, 2, 3])], true)).toEqual({ type: 10n, offset: 8 });
    expect(rejection([AMT, CLTV, rec(12n, new Uint8Array(33))], true)).toEqual({ type: 12n, offset: 8 });
    expect(rejection([AMT, CLTV, rec(65536n, [])], true)).toEqual({ type: 65536n, offset: 8 });
    const kept = decodeHopPayload(encodeTlvStream([AMT, CLTV, rec(65537n, [9])]), { final: true });
    expect(kept.customRecords).toEqual([rec(65537n, [9])]);
  });

  it('malformed values name their type and offset', () => {
    expect(rejection([rec(2n, [0, 1]), CLTV], true)).toEqual({ type: 2n, offset: 0 });
    expect(rejection([AMT, rec(4n, [1, 2, 3, 4, 5])], true)).toEqual({ type: 4n, offset: 4 });
    expect(rejection([AMT, CLTV, rec(6n, [1, 2, 3])], false)).toEqual({ type: 6n, offset: 8 });
    expect(rejection([AMT, CLTV, rec(8n, new Uint8Array(31))], true)).toEqual({ type: 8n, offset: 8 });
    expect(rejection([AMT, CLTV, rec(8n, [...new Uint8Array(32), 0, 1])], true)).toEqual({ type: 8n, offset: 8 });
    expect(rejection([AMT, CLTV, rec(HopPayloadType.KEYSEND_PREIMAGE, new Uint8Array(31))], true)).toEqual({ type: HopPayloadType.KEYSEND_PREIMAGE, offset: 8 });
  });

  it('a stream that is not TLV (truncated, out of order, duplicate) is refused as type 0', () => {
    expect(rejection(Uint8Array.from([2, 5, 1]), true)).toEqual({ type: 0n, offset: 0 });
    expect(rejection(Uint8Array.from([4, 1, 1, 2, 1, 1]), true)).toEqual({ type: 0n, offset: 0 });
    expect(rejection(Uint8Array.from([2, 1, 1, 2, 1, 1]), true)).toEqual({ type: 0n, offset: 0 });
  });

  it('final payloads round trip with payment_data, payment_metadata, keysend and custom records', () => {
    const payload = {
      kind: 'final' as const,
      amtToForwardMsat: 123_456n,
      outgoingCltvValue: 800_144,
      paymentData: { paymentSecret: new Uint8Array(32).fill(7), totalMsat: 1_000_000n },
      paymentMetadata: Uint8Array.from([1, 2, 3]),
      keysendPreimage: new Uint8Array(32).fill(9),
      customRecords: [rec(65539n, [4]), rec(7_000_000_001n, [5, 6])],
    };
    expect(decodeHopPayload(encodeHopPayload(payload), { final: true })).toEqual(payload);
  });

  it('encode refuses custom records that are even or shadow a known type', () => {
    const base = { kind: 'final' as const, amtToForwardMsat: 1n, outgoingCltvValue: 1 };
    expect(() => encodeHopPayload({ ...base, customRecords: [rec(65536n, [])] })).toThrow(RangeError);
    expect(() => encodeHopPayload({ ...base, customRecords: [rec(2n, [])] })).toThrow(RangeError);
    expect(() => encodeHopPayload({ ...base, keysendPreimage: new Uint8Array(31) })).toThrow(RangeError);
  });

  it('random bytes either decode or fail with ONION_PAYLOAD_INVALID, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, final) => {
        try {
          const p = decodeHopPayload(bytes, { final });
          expect(decodeHopPayload(encodeHopPayload(p), { final })).toEqual(p);
        } catch (err) {
          expect(err).toBeInstanceOf(OnionError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('failure messages', () => {
  it('every defined code has its spec name and flags', () => {
    expect(failureName(0x2002)).toBe('temporary_node_failure');
    expect(failureName(0x400f)).toBe('incorrect_or_unknown_payment_details');
    expect(FailureCode.invalid_onion_hmac).toBe(0xc005);
    expect(FailureCode.temporary_channel_failure).toBe(0x1007);
    expect(FailureCode.final_incorrect_htlc_amount).toBe(19);
    expect(failureName(0x1234)).toBeUndefined();
  });

  it('an unknown code keeps its data; extra bytes that are not TLV are ignored', () => {
    expect(decodeFailureMessage(Uint8Array.from([0x12, 0x34, 9, 9]))).toEqual({ name: 'unknown', code: 0x1234, data: Uint8Array.from([9, 9]) });
    expect(decodeFailureMessage(Uint8Array.from([0x20, 0x02, 0xff]))).toEqual({ name: 'temporary_node_failure' });
    expect(() => decodeFailureMessage(Uint8Array.from([0x40, 0x0f, 0, 0]))).toThrow(DecodeError);
  });

  it('random bytes decode to something that re-encodes, or fail with DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const m = decodeFailureMessage(bytes);
          expect(decodeFailureMessage(encodeFailureMessage(m))).toEqual(m);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('peelOnion key sources', () => {
  it('a shared-secret function peels like the private key; a wrong key is an HMAC mismatch', () => {
    const key = new Uint8Array(32).fill(0x21);
    const payload = encodeHopPayload({ kind: 'final', amtToForwardMsat: 5n, outgoingCltvValue: 6 });
    const ad = new Uint8Array(32).fill(1);
    const { packet } = constructOnion({ sessionKey: new Uint8Array(32).fill(0x33), hops: [{ pubkey: secp256k1.getPublicKey(key, true), payload }], associatedData: ad });
    const viaFn = peelOnion(packet, (ephemeral) => onionSharedSecret(key, ephemeral), ad);
    expect(viaFn).toEqual(peelOnion(packet, key, ad));
    expect(viaFn.final).toBe(true);
    expect(() => peelOnion(packet, new Uint8Array(32).fill(0x22), ad)).toThrow(expect.objectContaining({ code: 'ONION_HMAC_MISMATCH' }));
    expect(() => peelOnion(packet.subarray(1), key, ad)).toThrow(RangeError);
  });
});
