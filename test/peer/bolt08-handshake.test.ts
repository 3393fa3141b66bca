/**
 * BOLT 8 Appendix A: the initiator and responder handshake vectors, read from the spec, every
 * listed failure included (short read, bad version, bad key, bad MAC in each act).
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { NoiseHandshakeError } from '../../src/peer/errors.js';
import { FrameDecryptor, FrameEncryptor } from '../../src/peer/noise-cipher.js';
import { type HandshakeResult, InitiatorHandshake, publicKeyOf, ResponderHandshake } from '../../src/peer/noise-handshake.js';
import { type HandshakeCase, initiatorCases, messageCase, responderCases, type Step } from './support/bolt08-vectors.js';

const HELLO = new TextEncoder().encode('hello');
const { ck } = messageCase();

function expectFailure(run: () => unknown, reason: string): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(NoiseHandshakeError);
  expect(isChandError(caught, 'NOISE_HANDSHAKE_FAILED')).toBe(true);
  expect((caught as NoiseHandshakeError).reason).toBe(reason);
}

/**
 * The session keys are not exposed; a session is checked by what it does: its encryptor
 * produces the same frames as one built from the vector's sending key and the final ck, and
 * its decryptor opens frames sealed with the vector's receiving key — past a key rotation.
 */
function expectSessionKeys(result: HandshakeResult, sk: Uint8Array, rk: Uint8Array): void {
  const reference = new FrameEncryptor(sk, ck);
  const peer = new FrameEncryptor(rk, ck);
  const refDecryptor = new FrameDecryptor(sk, ck);
  for (let i = 0; i < 502; i++) {
    const frame = result.encryptor.encrypt(HELLO);
    expect(bytesToHex(frame)).toBe(bytesToHex(reference.encrypt(HELLO)));
    refDecryptor.decryptLength(frame.subarray(0, 18));
    expect(refDecryptor.decryptMessage(frame.subarray(18))).toEqual(Buffer.from(HELLO));
    const incoming = peer.encrypt(HELLO);
    expect(result.decryptor.decryptLength(incoming.subarray(0, 18))).toBe(5);
    expect(result.decryptor.decryptMessage(incoming.subarray(18))).toEqual(Buffer.from(HELLO));
  }
}

function bytesOf(step: Step | undefined, kind: 'input' | 'output'): Uint8Array {
  if (step === undefined || step.kind !== kind) throw new Error(`expected an ${kind} step, got ${step?.kind}`);
  return step.bytes;
}

function runInitiator(c: HandshakeCase): void {
  const [out1, in2, out3, keys] = c.steps;
  expect(bytesToHex(publicKeyOf(c.keys['ls.priv']!))).toBe(bytesToHex(c.keys['ls.pub']!));
  expect(bytesToHex(publicKeyOf(c.keys['e.priv']!))).toBe(bytesToHex(c.keys['e.pub']!));
  const hs = new InitiatorHandshake({ localStaticKey: c.keys['ls.priv']!, remoteStaticKey: c.keys['rs.pub']!, ephemeralKey: c.keys['e.priv']! });
  expect(bytesToHex(hs.actOne())).toBe(bytesToHex(bytesOf(out1, 'output')));
  const act2 = bytesOf(in2, 'input');
  if (out3?.kind === 'error') {
    expectFailure(() => hs.actTwo(act2), out3.reason);
    // A failed handshake stays failed.
    expect(() => hs.actTwo(act2)).toThrow(TypeError);
    return;
  }
  const { actThree, result } = hs.actTwo(act2);
  expect(bytesToHex(actThree)).toBe(bytesToHex(bytesOf(out3, 'output')));
  if (keys?.kind !== 'keys') throw new Error('expected the sk,rk output');
  expect(bytesToHex(result.remoteStaticKey)).toBe(bytesToHex(c.keys['rs.pub']!));
  expectSessionKeys(result, keys.first, keys.second);
}

function runResponder(c: HandshakeCase): void {
  const [in1, out2, in3, out4] = c.steps;
  const hs = new ResponderHandshake({ localStaticKey: c.keys['ls.priv']!, ephemeralKey: c.keys['e.priv']! });
  const act1 = bytesOf(in1, 'input');
  if (out2?.kind === 'error') {
    expectFailure(() => hs.actOne(act1), out2.reason);
    expect(() => hs.actOne(act1)).toThrow(TypeError);
    return;
  }
  expect(bytesToHex(hs.actOne(act1))).toBe(bytesToHex(bytesOf(out2, 'output')));
  const act3 = bytesOf(in3, 'input');
  if (out4?.kind === 'error') {
    expectFailure(() => hs.actThree(act3), out4.reason);
    return;
  }
  if (out4?.kind !== 'keys') throw new Error('expected the rk,sk output');
  const result = hs.actThree(act3);
  // The initiator of Appendix A has ls.priv 0x11..11.
  expect(bytesToHex(result.remoteStaticKey)).toBe('034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa');
  // "rk,sk": the responder sends with its sk, receives with its rk.
  expectSessionKeys(result, out4.second, out4.first);
}

describe('BOLT 8 Appendix A: initiator tests', () => {
  const cases = initiatorCases();
  it('has the five initiator cases', () => {
    expect(cases.map((c) => c.name)).toEqual([
      'transport-initiator successful handshake',
      'transport-initiator act2 short read test',
      'transport-initiator act2 bad version test',
      'transport-initiator act2 bad key serialization test',
      'transport-initiator act2 bad MAC test',
    ]);
  });
  for (const c of cases) it(c.name, () => runInitiator(c));
});

describe('BOLT 8 Appendix A: responder tests', () => {
  const cases = responderCases();
  it('has the ten responder cases', () => {
    expect(cases.map((c) => c.name)).toEqual([
      'transport-responder successful handshake',
      'transport-responder act1 short read test',
      'transport-responder act1 bad version test',
      'transport-responder act1 bad key serialization test',
      'transport-responder act1 bad MAC test',
      'transport-responder act3 bad version test',
      'transport-responder act3 short read test',
      'transport-responder act3 bad MAC for ciphertext test',
      'transport-responder act3 bad rs test',
      'transport-responder act3 bad MAC test',
    ]);
  });
  for (const c of cases) it(c.name, () => runResponder(c));
});

describe('handshake misuse', () => {
  const [ok] = initiatorCases();
  const keys = ok!.keys;
  it('rejects a remote static key that is not a compressed point', () => {
    const bad = Uint8Array.from(keys['rs.pub']!);
    bad[0] = 4;
    expect(() => new InitiatorHandshake({ localStaticKey: keys['ls.priv']!, remoteStaticKey: bad, ephemeralKey: keys['e.priv']! })).toThrow(TypeError);
  });
  it('rejects a zero private key', () => {
    expect(() => new ResponderHandshake({ localStaticKey: new Uint8Array(32), ephemeralKey: keys['e.priv']! })).toThrow(TypeError);
  });
  it('runs the acts only in order', () => {
    const hs = new InitiatorHandshake({ localStaticKey: keys['ls.priv']!, remoteStaticKey: keys['rs.pub']!, ephemeralKey: keys['e.priv']! });
    expect(() => hs.actTwo(new Uint8Array(50))).toThrow(TypeError);
    hs.actOne();
    expect(() => hs.actOne()).toThrow(TypeError);
  });
  it('completes between a fresh initiator and responder, both directions', () => {
    const responderKey = new Uint8Array(32).fill(0x21);
    const init = new InitiatorHandshake({ localStaticKey: new Uint8Array(32).fill(7), remoteStaticKey: publicKeyOf(responderKey), ephemeralKey: new Uint8Array(32).fill(8) });
    const resp = new ResponderHandshake({ localStaticKey: responderKey, ephemeralKey: new Uint8Array(32).fill(9) });
    const act2 = resp.actOne(init.actOne());
    const { actThree, result: a } = init.actTwo(act2);
    const b = resp.actThree(actThree);
    expect(bytesToHex(b.remoteStaticKey)).toBe(bytesToHex(publicKeyOf(new Uint8Array(32).fill(7))));
    const frame = a.encryptor.encrypt(HELLO);
    expect(b.decryptor.decryptLength(frame.subarray(0, 18))).toBe(5);
    expect(b.decryptor.decryptMessage(frame.subarray(18))).toEqual(Buffer.from(HELLO));
    const back = b.encryptor.encrypt(HELLO);
    expect(a.decryptor.decryptLength(back.subarray(0, 18))).toBe(5);
  });
});
