/**
 * BOLT 1 setup and control messages: `init`, `error`, `warning`, `ping`, `pong`.
 */
import { ByteReader, ByteWriter, bytesToHex } from '../codec/bytes.js';
import { DecodeError } from '../errors.js';
import type { MessageCodec } from './codec-spec.js';
import { FeatureVector } from './features.js';
import {
  optional,
  readDisplayHash,
  readExtension,
  readHex,
  readU16Bytes,
  wireHashOf,
  writeExtension,
  writeHex,
  writeU16Bytes,
} from './fields.js';
import { MessageType, type ErrorMsg, type Init, type Ping, type Pong, type Warning } from './types.js';

const INIT_NETWORKS = 1n;
const INIT_REMOTE_ADDR = 3n;
const INIT_TLVS = [INIT_NETWORKS, INIT_REMOTE_ADDR] as const;

/** `init`: `u16 gflen, globalfeatures, u16 flen, features, init_tlvs`. */
export const initCodec: MessageCodec<'init'> = {
  typeNumber: MessageType.Init,
  name: 'init',
  write(w, m) {
    writeU16Bytes(w, m.globalFeatures, 'init globalFeatures');
    writeU16Bytes(w, m.features, 'init features');
    let networks: Uint8Array | undefined;
    if (m.networks !== undefined) {
      if (!Array.isArray(m.networks)) throw new TypeError(`expected init networks as an array, got ${typeof m.networks}`);
      const nw = new ByteWriter(32 * m.networks.length);
      for (const chain of m.networks) nw.bytes(wireHashOf(chain, 'init networks chain hash'));
      networks = nw.finish();
    }
    if (m.remoteAddr !== undefined && !(m.remoteAddr instanceof Uint8Array)) {
      throw new TypeError(`expected init remoteAddr as Uint8Array, got ${typeof m.remoteAddr}`);
    }
    writeExtension(
      w,
      INIT_TLVS,
      [
        networks === undefined ? undefined : { type: INIT_NETWORKS, value: networks },
        m.remoteAddr === undefined ? undefined : { type: INIT_REMOTE_ADDR, value: m.remoteAddr },
      ],
      m.unknownTlvs,
    );
  },
  read(r) {
    const globalFeatures = readU16Bytes(r);
    const features = readU16Bytes(r);
    const ext = readExtension(r, INIT_TLVS);
    let networks: string[] | undefined;
    const nv = ext.known.get(INIT_NETWORKS);
    if (nv !== undefined) {
      if (nv.length % 32 !== 0) throw new DecodeError(`init networks TLV has ${nv.length} bytes, not a multiple of 32`);
      const nr = new ByteReader(nv);
      networks = [];
      while (!nr.done()) networks.push(readDisplayHash(nr));
    }
    return {
      type: 'init',
      globalFeatures,
      features,
      ...optional('networks', networks),
      ...optional('remoteAddr', ext.known.get(INIT_REMOTE_ADDR)?.slice()),
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

/**
 * The logical feature set of an `init`: its global and local feature fields ORed together,
 * as BOLT 1 requires of the receiver.
 */
export function initFeatures(init: Init): FeatureVector {
  return FeatureVector.fromBytes(init.globalFeatures).or(FeatureVector.fromBytes(init.features));
}

/**
 * Builds the `init` chand sends: all feature bits in `features` (BOLT 1 says not to put bits
 * above 13 in `globalfeatures`, and every current node ORs the two), `globalfeatures` empty.
 */
export function buildInit(options: { features: FeatureVector; networks?: readonly string[]; remoteAddr?: Uint8Array }): Init {
  return {
    type: 'init',
    globalFeatures: new Uint8Array(0),
    features: options.features.toBytes(),
    ...optional('networks', options.networks),
    ...optional('remoteAddr', options.remoteAddr),
  };
}

/** Codec for `error` and `warning`, which share the layout `channel_id, u16 len, data`. */
function errorLike<N extends 'error' | 'warning'>(name: N, typeNumber: number): MessageCodec<N> {
  return {
    typeNumber,
    name,
    write(w, msg) {
      const m = msg as ErrorMsg | Warning;
      writeHex(w, m.channelId, 32, `${name} channelId`);
      writeU16Bytes(w, m.data, `${name} data`);
      writeExtension(w, [], [], m.unknownTlvs);
    },
    read(r) {
      const channelId = readHex(r, 32);
      const data = readU16Bytes(r);
      const ext = readExtension(r, []);
      const m: ErrorMsg | Warning = { type: name, channelId, data, ...optional('unknownTlvs', ext.unknownTlvs) };
      return m as never;
    },
  };
}

/** `error`: fails a channel (or all, with an all-zero channel id). */
export const errorCodec: MessageCodec<'error'> = errorLike('error', MessageType.Error);

/** `warning`: reports a problem without failing the channel. */
export const warningCodec: MessageCodec<'warning'> = errorLike('warning', MessageType.Warning);

/** `ping`: `u16 num_pong_bytes, u16 byteslen, ignored`. */
export const pingCodec: MessageCodec<'ping'> = {
  typeNumber: MessageType.Ping,
  name: 'ping',
  write(w, m) {
    w.u16(m.numPongBytes);
    writeU16Bytes(w, m.ignored, 'ping ignored');
    writeExtension(w, [], [], m.unknownTlvs);
  },
  read(r) {
    const numPongBytes = r.u16();
    const ignored = readU16Bytes(r);
    const ext = readExtension(r, []);
    return { type: 'ping', numPongBytes, ignored, ...optional('unknownTlvs', ext.unknownTlvs) };
  },
};

/** `pong`: `u16 byteslen, ignored`. */
export const pongCodec: MessageCodec<'pong'> = {
  typeNumber: MessageType.Pong,
  name: 'pong',
  write(w, m) {
    writeU16Bytes(w, m.ignored, 'pong ignored');
    writeExtension(w, [], [], m.unknownTlvs);
  },
  read(r) {
    const ignored = readU16Bytes(r);
    const ext = readExtension(r, []);
    return { type: 'pong', ignored, ...optional('unknownTlvs', ext.unknownTlvs) };
  },
};

/** Pings asking for this many pong bytes or more must be ignored (BOLT 1). */
export const MAX_PONG_BYTES = 65531;

/**
 * The `pong` that answers `ping` (BOLT 1): `numPongBytes` zero bytes, or undefined when
 * `numPongBytes` is 65532 or more, in which case the ping must be ignored.
 */
export function pongFor(ping: Ping): Pong | undefined {
  if (ping.numPongBytes > MAX_PONG_BYTES) return undefined;
  return { type: 'pong', ignored: new Uint8Array(ping.numPongBytes) };
}

/**
 * `data` of an `error`/`warning` as text if it is all printable ASCII (bytes 32-126), else
 * undefined: BOLT 1 says not to print other data verbatim. Print `bytesToHex(data)` instead.
 */
export function printableErrorData(data: Uint8Array): string | undefined {
  for (const b of data) if (b < 32 || b > 126) return undefined;
  // Printable ASCII is valid UTF-8, so decoding cannot substitute anything.
  return new TextDecoder().decode(data);
}

/** Hex of an all-zero channel id: in `error`/`warning` it means "all channels". */
export const ALL_CHANNELS: string = bytesToHex(new Uint8Array(32));
