/**
 * Property tests of the onion layer over random routes of 1 to 20 hops:
 *  - construct → peel at every hop returns every hop's payload, and only the last is final;
 *  - one flipped bit anywhere in a packet (or in the associated data) makes the hop refuse it
 *    with the BOLT 4 failure for that part (version, key, HMAC);
 *  - a failure built by any hop and wrapped by every hop upstream is attributed to that hop
 *    and decodes to the message it sent; a flipped bit makes it unattributable.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { OnionError } from '../../src/onion/errors.js';
import { encodeFailureMessage, type FailureMessage } from '../../src/onion/failure-messages.js';
import { createFailureOnion, decryptFailureOnion, wrapFailureOnion } from '../../src/onion/failure-onion.js';
import { decodeHopPayload, encodeHopPayload, type HopPayload } from '../../src/onion/hop-payload.js';
import { constructOnion, HOP_PAYLOADS_SIZE, peelOnion } from '../../src/onion/packet.js';

const secretKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => secp256k1.utils.isValidSecretKey(k));
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** A hop payload small enough that 20 of them fit in one onion (at most 32 bytes each). */
function payloadFor(final: boolean): fc.Arbitrary<HopPayload> {
  const amount = fc.bigInt({ min: 0n, max: (1n << 40n) - 1n });
  const cltv = fc.integer({ min: 0, max: 0xff_ffff });
  const custom = fc.option(fc.uint8Array({ maxLength: 4 }).map((value) => [{ type: 65537n, value }]), { nil: undefined });
  if (!final) {
    return fc.record({ amt: amount, cltv, scid: u64, custom }).map(({ amt, cltv, scid, custom }) => ({
      kind: 'forward' as const,
      amtToForwardMsat: amt,
      outgoingCltvValue: cltv,
      shortChannelId: scid,
      ...(custom === undefined ? {} : { customRecords: custom }),
    }));
  }
  return fc.record({ amt: amount, cltv, custom }).map(({ amt, cltv, custom }) => ({
    kind: 'final' as const,
    amtToForwardMsat: amt,
    outgoingCltvValue: cltv,
    ...(custom === undefined ? {} : { customRecords: custom }),
  }));
}

interface Route {
  sessionKey: Uint8Array;
  keys: Uint8Array[];
  payloads: HopPayload[];
  associatedData: Uint8Array;
}

const route: fc.Arbitrary<Route> = fc.integer({ min: 1, max: 20 }).chain((n) =>
  fc.record({
    sessionKey: secretKey,
    keys: fc.array(secretKey, { minLength: n, maxLength: n }),
    payloads: fc.tuple(...Array.from({ length: n }, (_, i) => payloadFor(i === n - 1))),
    associatedData: bytes32,
  }),
);

function build(r: Route) {
  const hops = r.keys.map((k, i) => ({ pubkey: secp256k1.getPublicKey(k, true), payload: encodeHopPayload(r.payloads[i]!) }));
  return { hops, ...constructOnion({ sessionKey: r.sessionKey, hops, associatedData: r.associatedData }) };
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('onion properties', () => {
  it('construct → peel through random 1–20 hop routes returns every payload', () => {
    fc.assert(
      fc.property(route, (r) => {
        const { hops, packet, sharedSecrets } = build(r);
        expect(hops.reduce((a, h) => a + 1 + h.payload.length + 32, 0)).toBeLessThanOrEqual(HOP_PAYLOADS_SIZE);
        let current = packet;
        for (const [i, key] of r.keys.entries()) {
          const peeled = peelOnion(current, key, r.associatedData);
          const final = i === r.keys.length - 1;
          expect(peeled.final).toBe(final);
          expect(peeled.sharedSecret).toEqual(sharedSecrets[i]);
          expect(decodeHopPayload(peeled.payload, { final })).toEqual(r.payloads[i]);
          if (!peeled.final) current = peeled.nextPacket;
        }
      }),
      { numRuns: 15 },
    );
  });

  it('a flipped bit anywhere in the packet or the associated data is refused by the HMAC (or version/key check)', () => {
    const bitCount = 1366 * 8 + 32 * 8;
    // Several bits per route: building a 20-hop onion costs far more than one peel attempt.
    const bits = fc.array(fc.integer({ min: 0, max: bitCount - 1 }), { minLength: 1, maxLength: 16 });
    fc.assert(
      fc.property(route, bits, fc.integer({ min: 1, max: 33 }), (r, positions, keyByte) => {
        const { packet } = build(r);
        // Always include the version byte and one ephemeral key byte.
        for (const bit of [...positions, 0, keyByte * 8]) {
          const tampered = packet.slice();
          const ad = r.associatedData.slice();
          const inPacket = bit < 1366 * 8;
          if (inPacket) tampered[bit >> 3]! ^= 1 << (bit & 7);
          else ad[(bit - 1366 * 8) >> 3]! ^= 1 << (bit & 7);
          const err = caught(() => peelOnion(tampered, r.keys[0]!, ad));
          expect(err).toBeInstanceOf(OnionError);
          const e = err as OnionError;
          const byte = inPacket ? bit >> 3 : -1;
          if (byte === 0) {
            expect([e.code, e.failure.name]).toEqual(['ONION_INVALID', 'invalid_onion_version']);
          } else if (byte >= 1 && byte < 34) {
            // A changed key is either no point at all or a point giving a different shared secret.
            expect([['ONION_INVALID', 'invalid_onion_key'], ['ONION_HMAC_MISMATCH', 'invalid_onion_hmac']]).toContainEqual([e.code, e.failure.name]);
          } else {
            expect([e.code, e.failure.name]).toEqual(['ONION_HMAC_MISMATCH', 'invalid_onion_hmac']);
          }
          // BADONION failures carry the hash of the onion as received.
          expect(e.sha256OfOnion).toEqual(sha256(tampered));
          expect(e.failureCode & 0x8000).toBe(0x8000);
        }
      }),
      { numRuns: 10 },
    );
  });

  const failureMessage: fc.Arbitrary<FailureMessage> = fc.oneof(
    fc.constant<FailureMessage>({ name: 'temporary_node_failure' }),
    fc.constant<FailureMessage>({ name: 'unknown_next_peer' }),
    fc.constant<FailureMessage>({ name: 'mpp_timeout' }),
    fc.uint8Array({ maxLength: 300 }).map<FailureMessage>((channelUpdate) => ({ name: 'temporary_channel_failure', channelUpdate })),
    fc.uint8Array({ maxLength: 40 }).map<FailureMessage>((channelUpdate) => ({ name: 'expiry_too_soon', channelUpdate })),
    fc.record({ htlcMsat: u64, height: u32 }).map<FailureMessage>((f) => ({ name: 'incorrect_or_unknown_payment_details', ...f })),
    u32.map<FailureMessage>((cltvExpiry) => ({ name: 'final_incorrect_cltv_expiry', cltvExpiry })),
    u64.map<FailureMessage>((incomingHtlcAmtMsat) => ({ name: 'final_incorrect_htlc_amount', incomingHtlcAmtMsat })),
    fc.record({ type: u64, offset: fc.integer({ min: 0, max: 0xffff }) }).map<FailureMessage>((f) => ({ name: 'invalid_onion_payload', ...f })),
    fc.record({ htlcMsat: u64, channelUpdate: fc.uint8Array({ maxLength: 20 }) }).map<FailureMessage>((f) => ({ name: 'fee_insufficient', ...f })),
  );

  it('a failure from any hop, wrapped by every hop upstream, is attributed to that hop', () => {
    fc.assert(
      fc.property(route, fc.nat(), failureMessage, (r, pick, failure) => {
        const { packet, sharedSecrets } = build(r);
        // Each hop's own view of the shared secret, from peeling.
        const hopSecrets: Uint8Array[] = [];
        let current = packet;
        for (const key of r.keys) {
          const peeled = peelOnion(current, key, r.associatedData);
          hopSecrets.push(peeled.sharedSecret);
          if (!peeled.final) current = peeled.nextPacket;
        }
        const erring = pick % r.keys.length;
        let reply = createFailureOnion(hopSecrets[erring]!, encodeFailureMessage(failure));
        for (let i = erring - 1; i >= 0; i--) reply = wrapFailureOnion(hopSecrets[i]!, reply);
        const decrypted = decryptFailureOnion(sharedSecrets, reply);
        expect(decrypted.hopIndex).toBe(erring);
        expect(decrypted.failure).toEqual(failure);

        const flipped = reply.slice();
        flipped[pick % flipped.length]! ^= 1 << (pick % 8);
        expect(isChandError(caught(() => decryptFailureOnion(sharedSecrets, flipped)), 'ONION_FAILURE_UNDECRYPTABLE')).toBe(true);
      }),
      { numRuns: 15 },
    );
  });
});
