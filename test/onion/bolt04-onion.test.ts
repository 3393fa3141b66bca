/**
 * BOLT 4 onion-test.json: constructing the onion from the listed session key, hops and
 * associated data gives the listed packet byte for byte, and each hop's private key peels it to
 * that hop's payload and a next packet the following hop can peel, down to the final hop.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/codec/bytes.js';
import { decodeBigSize } from '../../src/codec/bigsize.js';
import { constructOnion, peelOnion } from '../../src/onion/packet.js';
import { decodeHopPayload } from '../../src/onion/hop-payload.js';
import { routeKeys } from '../../src/onion/keys.js';
import { h, onionTest } from './support/bolt04-vectors.js';

const { generate, onion, decode } = onionTest;

/** The vector's payloads carry their BigSize length prefix; the API takes the TLV bytes. */
function tlvOf(prefixed: string): Uint8Array {
  const bytes = h(prefixed);
  const { value, size } = decodeBigSize(bytes);
  expect(Number(value)).toBe(bytes.length - size);
  return bytes.subarray(size);
}

const hops = generate.hops.map((hop) => ({ pubkey: h(hop.pubkey), payload: tlvOf(hop.payload) }));

describe('BOLT 4 onion-test.json', () => {
  it('the decode keys are the hops of the route', () => {
    expect(decode.map((k) => bytesToHex(secp256k1.getPublicKey(h(k), true)))).toEqual(generate.hops.map((hop) => hop.pubkey));
  });

  it('constructs the exact onion', () => {
    const { packet, sharedSecrets } = constructOnion({ sessionKey: h(generate.session_key), hops, associatedData: h(generate.associated_data) });
    expect(bytesToHex(packet)).toBe(onion);
    expect(sharedSecrets).toHaveLength(hops.length);
  });

  it('each hop peels its payload and the next onion; the last one is final', () => {
    const associatedData = h(generate.associated_data);
    const secrets = routeKeys(h(generate.session_key), hops.map((x) => x.pubkey));
    let packet = h(onion);
    for (const [i, key] of decode.entries()) {
      // Each packet a hop receives carries that hop's blinded ephemeral key.
      expect(bytesToHex(packet.subarray(1, 34))).toBe(bytesToHex(secrets[i]!.ephemeralPublicKey));
      const peeled = peelOnion(packet, h(key), associatedData);
      expect(bytesToHex(peeled.payload)).toBe(bytesToHex(hops[i]!.payload));
      expect(bytesToHex(peeled.sharedSecret)).toBe(bytesToHex(secrets[i]!.sharedSecret));
      const last = i === decode.length - 1;
      expect(peeled.final).toBe(last);
      if (!peeled.final) packet = peeled.nextPacket;
    }
  });

  it('the vector payloads decode as BOLT 4 hop payloads', () => {
    const decoded = hops.map((hop, i) => decodeHopPayload(hop.payload, { final: i === hops.length - 1 }));
    expect(decoded.map((p) => [p.kind, p.amtToForwardMsat, p.outgoingCltvValue])).toEqual([
      ['forward', 15000n, 1500],
      ['forward', 14000n, 1400],
      ['forward', 12500n, 1250],
      ['forward', 10000n, 1000],
      ['final', 10000n, 1000],
    ]);
    expect(decoded.slice(0, 4).map((p) => (p.kind === 'forward' ? p.shortChannelId : undefined))).toEqual([1n, 2n, 3n, 4n]);
    const final = decoded[4]!;
    expect(final.kind === 'final' && final.paymentData?.totalMsat).toBe(10000n);
    expect(final.customRecords?.map((r) => r.type)).toEqual([301n]);
    expect(decoded[1]!.customRecords?.map((r) => [r.type, r.value.length])).toEqual([[513n, 60]]);
  });
});
