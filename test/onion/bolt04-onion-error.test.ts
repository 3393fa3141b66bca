/**
 * BOLT 4 failure onions against the spec: onion-error-test.json (each hop's shared secret and
 * ammag key, the erring node's um key and payload, the packet the origin receives) and the
 * "Returning Errors" trace of 04-onion-routing.md's Test Vector section (the encoded
 * failuremsg, the raw packet, and every hop's stream and obfuscated packet). In both, the origin
 * attributes the failure to hops[4].
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/codec/bytes.js';
import { chacha20Stream } from '../../src/onion/chacha20.js';
import { encodeFailureMessage } from '../../src/onion/failure-messages.js';
import { createFailureOnion, decryptFailureOnion, wrapFailureOnion } from '../../src/onion/failure-onion.js';
import { generateKey, routeKeys } from '../../src/onion/keys.js';
import { errorTrace, h, onionErrorTest } from './support/bolt04-vectors.js';

const { generate, errorpacket } = onionErrorTest;
const sharedSecrets = routeKeys(h(generate.session_key), generate.hops.map((x) => h(x.pubkey))).map((k) => k.sharedSecret);
const ERRING = 4;

describe('BOLT 4 onion-error-test.json', () => {
  it('derives every hop shared secret and ammag key, and the erring node um key', () => {
    expect(sharedSecrets.map(bytesToHex)).toEqual(generate.hops.map((x) => x.hop_shared_secret));
    expect(sharedSecrets.map((s) => bytesToHex(generateKey('ammag', s)))).toEqual(generate.hops.map((x) => x.ammag_key));
    expect(bytesToHex(generateKey('um', sharedSecrets[ERRING]!))).toBe(generate.hops[ERRING]!.um_key);
  });

  it('the erring node pads the failure to 256 bytes: the listed payload behind its um HMAC', () => {
    const created = createFailureOnion(sharedSecrets[ERRING]!, h(generate.failure_message));
    // XOR is its own inverse: one more ammag layer of the same secret gives the raw packet back.
    const raw = wrapFailureOnion(sharedSecrets[ERRING]!, created);
    expect(bytesToHex(raw.subarray(32))).toBe(generate.hops[ERRING]!.payload);
    expect(raw.length).toBe(32 + 2 + 2 + 2 + 254);
  });

  it('wrapping back through hops 3..0 gives the listed error packet, which the origin attributes to hops[4]', () => {
    let packet = createFailureOnion(sharedSecrets[ERRING]!, h(generate.failure_message));
    for (let i = ERRING - 1; i >= 0; i--) packet = wrapFailureOnion(sharedSecrets[i]!, packet);
    expect(bytesToHex(packet)).toBe(errorpacket);
    const decrypted = decryptFailureOnion(sharedSecrets, h(errorpacket));
    expect(decrypted.hopIndex).toBe(ERRING);
    expect(bytesToHex(decrypted.message)).toBe(generate.failure_message);
    expect(decrypted.failure).toEqual({ name: 'temporary_node_failure' });
  });
});

describe('BOLT 4 Test Vector: Returning Errors (04-onion-routing.md trace)', () => {
  const trace = errorTrace();
  const tlvValue = new Uint8Array(300).fill(128);

  const message = encodeFailureMessage({
    name: 'incorrect_or_unknown_payment_details',
    htlcMsat: 100n,
    height: 800000,
    tlvs: [{ type: 34001n, value: tlvValue }],
  });
  // The trace pads failure_len + pad_len to 1024 (BOLT 4 asks for at least 256).
  const paddedLength = 1024;

  it('encodes incorrect_or_unknown_payment_details (htlc_msat 100, height 800000, TLV 34001) exactly', () => {
    // The trace's encoded_failure_message is the failuremsg followed by u16 pad_len and the pad.
    const padLength = paddedLength - message.length;
    expect(bytesToHex(message) + padLength.toString(16).padStart(4, '0') + '00'.repeat(padLength)).toBe(trace.encodedFailureMessage);
    expect(message.length).toBe(320);
  });

  it('builds the raw packet with node 4 um key, then each hop stream and packet match', () => {
    expect(trace.sharedSecret).toBe(bytesToHex(sharedSecrets[ERRING]!));
    expect(bytesToHex(generateKey('um', sharedSecrets[ERRING]!))).toBe(trace.umKey);
    let packet = createFailureOnion(sharedSecrets[ERRING]!, message, { paddedLength });
    const raw = wrapFailureOnion(sharedSecrets[ERRING]!, packet);
    expect(bytesToHex(raw)).toBe(trace.rawErrorPacket);
    expect(bytesToHex(raw.subarray(32))).toBe(trace.payload);

    expect(trace.steps).toHaveLength(5);
    for (const [n, step] of trace.steps.entries()) {
      const hop = ERRING - n;
      expect(step.sharedSecret).toBe(bytesToHex(sharedSecrets[hop]!));
      expect(step.ammagKey).toBe(bytesToHex(generateKey('ammag', sharedSecrets[hop]!)));
      expect(bytesToHex(chacha20Stream(h(step.ammagKey), raw.length))).toBe(step.stream);
      if (n > 0) packet = wrapFailureOnion(sharedSecrets[hop]!, packet);
      expect(bytesToHex(packet)).toBe(step.errorPacket);
    }
  });

  it('the origin attributes the final packet to node 4 and decodes the failure', () => {
    const last = h(trace.steps.at(-1)!.errorPacket);
    const decrypted = decryptFailureOnion(sharedSecrets, last);
    expect(decrypted.hopIndex).toBe(ERRING);
    expect(decrypted.failure).toEqual({
      name: 'incorrect_or_unknown_payment_details',
      htlcMsat: 100n,
      height: 800000,
      tlvs: [{ type: 34001n, value: tlvValue }],
    });
  });
});
