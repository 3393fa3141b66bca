/**
 * BOLT 1 messages: `init` (with the Appendix C message-extension vectors read from the spec),
 * `error`, `warning`, `ping`, `pong`; the unknown-type rules; and the TLV extension rules,
 * driven by the Appendix B stream vectors appended to a message that defines no TLVs.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/codec/bytes.js';
import { ChandError, DecodeError, ErrorCode, isChandError } from '../../src/errors.js';
import {
  ALL_CHANNELS,
  buildInit,
  chandInitFeatures,
  decodeMessage,
  encodeMessage,
  FeatureVector,
  initFeatures,
  pongFor,
  printableErrorData,
  WireError,
  type Init,
  type WireMessage,
} from '../../src/wire/index.js';
import { readBolt01, section } from '../codec/bolt01-spec.js';

const bolt01 = readBolt01();

/** Decodes and insists on a known message. */
function decodeKnown(bytes: Uint8Array): WireMessage {
  const d = decodeMessage(bytes);
  if (d.kind !== 'known') throw new Error(`expected a known message, got ${d.kind}`);
  return d.message;
}

/** Runs `fn` and returns the error it throws (failing the test if it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** `0x...` hex vectors of the bullet list after `intro` in Appendix C. */
function appendixC(intro: string): string[] {
  const text = section(bolt01, '## Appendix C: Message Extension');
  const start = text.indexOf(intro);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = text.slice(start + intro.length);
  const block = rest.slice(0, rest.search(/\n\s*\n(?!- )/) + 1 || undefined);
  return [...block.matchAll(/^- `0x([0-9a-f]+)`/gm)].map((m) => m[1]!);
}

/** The `Invalid stream`/`Valid stream` hex of every item between `from` and `to` in Appendix B. */
function appendixBStreams(kind: 'Invalid' | 'Valid', from: string, to?: string): string[] {
  const text = section(bolt01, '## Appendix B: Type-Length-Value Test Vectors');
  const start = text.indexOf(from);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = to === undefined ? text.length : text.indexOf(to, start);
  expect(end).toBeGreaterThan(start);
  const re = new RegExp(`^1\\. ${kind} stream: 0x([0-9a-f ]*)$`, 'gm');
  return [...text.slice(start, end).matchAll(re)].map((m) => m[1]!.replaceAll(' ', ''));
}

describe('init: BOLT 1 Appendix C message extension vectors', () => {
  const valid = appendixC('The following `init` messages are valid:');
  const invalid = appendixC('The following `init` messages are invalid:');

  it('found the vectors in the spec', () => {
    expect(valid).toEqual(['001000000000', '001000000000c9012acb0104']);
    expect(invalid.length).toBe(3);
  });

  it.each(valid)('accepts %s, keeping unknown odd records so it re-encodes byte for byte', (hex) => {
    const msg = decodeKnown(hexToBytes(hex));
    expect(msg.type).toBe('init');
    expect(bytesToHex(encodeMessage(msg))).toBe(hex);
  });

  it('exposes the two unknown odd records of the second valid vector', () => {
    const msg = decodeKnown(hexToBytes('001000000000c9012acb0104')) as Init;
    expect(msg.unknownTlvs?.map((r) => [r.type, bytesToHex(r.value)])).toEqual([
      [0xc9n, '2a'],
      [0xcbn, '04'],
    ]);
    expect(msg.globalFeatures.length).toBe(0);
    expect(msg.features.length).toBe(0);
  });

  it.each(invalid)('rejects %s with DecodeError', (hex) => {
    const err = thrown(() => decodeMessage(hexToBytes(hex)));
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe(ErrorCode.DECODE_FAILED);
  });
});

describe('init fields', () => {
  // Bitcoin mainnet genesis: display order, and the wire (internal) order BOLT 0 gives.
  const mainnetDisplay = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';
  const mainnetWire = '6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000';

  it('lays out gflen, globalfeatures, flen, features, then networks (1) and remote_addr (3)', () => {
    const msg: Init = {
      type: 'init',
      globalFeatures: hexToBytes('02'),
      features: hexToBytes('0a00'),
      networks: [mainnetDisplay],
      remoteAddr: hexToBytes('017f000001260f'),
    };
    const bytes = encodeMessage(msg);
    expect(bytesToHex(bytes)).toBe(
      '0010' + '0001' + '02' + '0002' + '0a00' + '0120' + mainnetWire + '0307' + '017f000001260f',
    );
    expect(decodeKnown(bytes)).toEqual(msg);
  });

  it('ORs global and local features into one vector', () => {
    const msg = decodeKnown(hexToBytes('0010' + '0001' + '02' + '0002' + '2000')) as Init;
    expect(initFeatures(msg).bits()).toEqual([1, 13]);
  });

  it('builds chand\'s init with every bit in features and empty globalfeatures', () => {
    const init = buildInit({ features: chandInitFeatures(), networks: [mainnetDisplay] });
    const bytes = encodeMessage(init);
    expect(bytesToHex(bytes)).toBe('0010' + '0000' + '0006' + '100000005101' + '0120' + mainnetWire);
    expect(initFeatures(decodeKnown(bytes) as Init).equals(chandInitFeatures())).toBe(true);
  });

  it('keeps several networks in order', () => {
    const testnet = '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943';
    const msg = decodeKnown(encodeMessage({ type: 'init', globalFeatures: new Uint8Array(0), features: new Uint8Array(0), networks: [testnet, mainnetDisplay] })) as Init;
    expect(msg.networks).toEqual([testnet, mainnetDisplay]);
  });

  it('rejects a networks record that is not a whole number of chain hashes', () => {
    expect(() => decodeMessage(hexToBytes('0010000000000103aabbcc'))).toThrow(DecodeError);
  });

  it('rejects feature lengths that run past the end', () => {
    expect(() => decodeMessage(hexToBytes('00100000000201'))).toThrow(DecodeError);
    expect(() => decodeMessage(hexToBytes('0010000201'))).toThrow(DecodeError);
    expect(() => decodeMessage(hexToBytes('001000'))).toThrow(DecodeError);
  });
});

describe('error and warning', () => {
  const chan = 'aa'.repeat(32);

  it('lays out channel_id, u16 len, data for error (17) and warning (1)', () => {
    const data = new TextEncoder().encode('hello');
    expect(bytesToHex(encodeMessage({ type: 'error', channelId: chan, data }))).toBe('0011' + chan + '0005' + '68656c6c6f');
    expect(bytesToHex(encodeMessage({ type: 'warning', channelId: ALL_CHANNELS, data }))).toBe(
      '0001' + '00'.repeat(32) + '0005' + '68656c6c6f',
    );
    expect(decodeKnown(hexToBytes('0011' + chan + '0005' + '68656c6c6f'))).toEqual({ type: 'error', channelId: chan, data });
    expect(decodeKnown(hexToBytes('0001' + chan + '0000'))).toEqual({ type: 'warning', channelId: chan, data: new Uint8Array(0) });
  });

  it('rejects data shorter than its length', () => {
    expect(() => decodeMessage(hexToBytes('0011' + chan + '0005' + '6869'))).toThrow(DecodeError);
    expect(() => decodeMessage(hexToBytes('0011' + chan.slice(0, 40)))).toThrow(DecodeError);
  });

  it('prints data only when it is printable ASCII', () => {
    expect(printableErrorData(new TextEncoder().encode('funding tx too small ~!'))).toBe('funding tx too small ~!');
    expect(printableErrorData(hexToBytes('41420a'))).toBeUndefined();
    expect(printableErrorData(hexToBytes('417f'))).toBeUndefined();
  });
});

describe('ping and pong', () => {
  it('lays out num_pong_bytes, byteslen, ignored', () => {
    const ping = { type: 'ping' as const, numPongBytes: 65531, ignored: new Uint8Array(3) };
    expect(bytesToHex(encodeMessage(ping))).toBe('0012' + 'fffb' + '0003' + '000000');
    expect(decodeKnown(hexToBytes('0012fffb0003000000'))).toEqual(ping);
    expect(bytesToHex(encodeMessage({ type: 'pong', ignored: new Uint8Array(2) }))).toBe('0013' + '0002' + '0000');
    expect(decodeKnown(hexToBytes('001300020000'))).toEqual({ type: 'pong', ignored: new Uint8Array(2) });
  });

  it('answers a ping with num_pong_bytes zeros, and ignores one asking for 65532 or more', () => {
    expect(pongFor({ type: 'ping', numPongBytes: 4, ignored: new Uint8Array(9) })).toEqual({ type: 'pong', ignored: new Uint8Array(4) });
    expect(pongFor({ type: 'ping', numPongBytes: 65531, ignored: new Uint8Array(0) })?.ignored.length).toBe(65531);
    expect(pongFor({ type: 'ping', numPongBytes: 65532, ignored: new Uint8Array(0) })).toBeUndefined();
    expect(pongFor({ type: 'ping', numPongBytes: 65535, ignored: new Uint8Array(0) })).toBeUndefined();
  });

  it('rejects a ping whose ignored bytes are truncated', () => {
    expect(() => decodeMessage(hexToBytes('00120004000400'))).toThrow(DecodeError);
    expect(() => decodeMessage(hexToBytes('001200'))).toThrow(DecodeError);
  });

  it('refuses to encode more than 65535 bytes', () => {
    expect(() => encodeMessage({ type: 'pong', ignored: new Uint8Array(65534) })).toThrow(RangeError);
    expect(encodeMessage({ type: 'pong', ignored: new Uint8Array(65531) }).length).toBe(65535);
    expect(() => encodeMessage({ type: 'ping', numPongBytes: 65536, ignored: new Uint8Array(0) })).toThrow(RangeError);
  });
});

describe('message types (BOLT 1 "it\'s ok to be odd")', () => {
  it('ignores unknown odd types', () => {
    expect(decodeMessage(hexToBytes('8001'))).toEqual({ kind: 'unknown-odd', type: 0x8001 });
    expect(decodeMessage(hexToBytes('0003deadbeef'))).toEqual({ kind: 'unknown-odd', type: 3 });
    // peer_storage (7) is odd and not decoded by chand.
    expect(decodeMessage(hexToBytes('00070000'))).toEqual({ kind: 'unknown-odd', type: 7 });
  });

  it('fails unknown even types with WireError WIRE_UNKNOWN_EVEN_MESSAGE', () => {
    for (const hex of ['8000', '0002' + 'aa'.repeat(33), 'fffe00']) {
      const err = thrown(() => decodeMessage(hexToBytes(hex)));
      expect(err).toBeInstanceOf(WireError);
      expect(isChandError(err, ErrorCode.WIRE_UNKNOWN_EVEN_MESSAGE)).toBe(true);
    }
    expect((thrown(() => decodeMessage(hexToBytes('8000'))) as WireError).messageType).toBe(0x8000);
  });

  it('passes BOLT 7 gossip (even channel_update included) through undecoded instead of failing', () => {
    const d = decodeMessage(hexToBytes('0102' + 'abcd'));
    expect(d).toEqual({ kind: 'gossip', type: 258, payload: hexToBytes('abcd') });
  });

  it('rejects input too short to hold a type', () => {
    expect(() => decodeMessage(new Uint8Array(0))).toThrow(DecodeError);
    expect(() => decodeMessage(hexToBytes('00'))).toThrow(DecodeError);
  });

  it('rejects a non-Uint8Array as misuse', () => {
    expect(() => decodeMessage('0010' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => encodeMessage({ type: 'nope' } as unknown as WireMessage)).toThrow(TypeError);
  });
});

describe('TLV extension after the known fields (BOLT 1 Appendix B streams appended to a pong)', () => {
  // pong defines no TLVs, so in its extension every record is unknown: the structural failures
  // and the unknown-even failures of Appendix B must fail the message, its ignorable streams
  // must decode, and all of the stream-level failures must fail.
  const pong = hexToBytes('0013' + '0000');
  const structural = appendixBStreams('Invalid', 'The following TLV streams in any namespace', 'The following TLV streams in namespace `n1`');
  const ignored = appendixBStreams('Valid', 'The following TLV streams in either namespace should correctly decode', 'The following TLV streams in `n1` namespace');
  const streamFailures = appendixBStreams('Invalid', '### TLV Stream Decoding Failure');

  it('found the vectors in the spec', () => {
    expect(structural.length).toBe(13);
    expect(ignored.length).toBe(7);
    expect(streamFailures.length).toBe(5);
  });

  it('fails every invalid stream with DecodeError', () => {
    for (const hex of [...structural, ...streamFailures]) {
      const err = thrown(() => decodeMessage(concatBytes(pong, hexToBytes(hex))));
      expect(err, hex).toBeInstanceOf(DecodeError);
    }
  });

  it('accepts every ignorable stream and re-encodes it unchanged', () => {
    for (const hex of ignored) {
      const bytes = concatBytes(pong, hexToBytes(hex));
      const msg = decodeKnown(bytes);
      expect(msg.type).toBe('pong');
      expect(bytesToHex(encodeMessage(msg)), hex).toBe(bytesToHex(bytes));
    }
  });

  it('refuses to send an even unknown record or a type the message defines', () => {
    expect(() => encodeMessage({ type: 'pong', ignored: new Uint8Array(0), unknownTlvs: [{ type: 2n, value: new Uint8Array(0) }] })).toThrow(RangeError);
    expect(() =>
      encodeMessage({ type: 'init', globalFeatures: new Uint8Array(0), features: new Uint8Array(0), unknownTlvs: [{ type: 1n, value: new Uint8Array(0) }] }),
    ).toThrow(RangeError);
  });

  it('sorts unknown records among known ones when encoding', () => {
    const msg: Init = {
      type: 'init',
      globalFeatures: new Uint8Array(0),
      features: new Uint8Array(0),
      remoteAddr: hexToBytes('01'),
      unknownTlvs: [{ type: 5n, value: new Uint8Array(0) }, { type: 0x10001n, value: hexToBytes('ff') }],
    };
    const hex = bytesToHex(encodeMessage(msg));
    expect(hex).toBe('001000000000' + '030101' + '0500' + 'fe0001000101ff');
    expect(decodeKnown(hexToBytes(hex))).toEqual(msg);
  });

  it('reports malformed known messages as ChandError, never a plain Error', () => {
    const err = thrown(() => decodeMessage(hexToBytes('0013ffff')));
    expect(err).toBeInstanceOf(ChandError);
    expect((err as Error).message).toContain('pong');
  });
});

describe('FeatureVector from a decoded init', () => {
  it('reads the features of an init built from bits', () => {
    const init = buildInit({ features: FeatureVector.fromBits([9, 15, 45]) });
    expect(initFeatures(decodeKnown(encodeMessage(init)) as Init).bits()).toEqual([9, 15, 45]);
  });
});
