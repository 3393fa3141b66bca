/**
 * The message registry and the two entry points: `encodeMessage` (value -> `u16 type ++
 * payload ++ extension`) and `decodeMessage` (bytes -> value, applying BOLT 1's rules for
 * unknown types). One codec per message type number; adding a message is one registry line.
 */
import { ByteReader, ByteWriter } from '../codec/bytes.js';
import { ChandError, DecodeError, ErrorCode } from '../errors.js';
import {
  acceptChannelCodec,
  channelReadyCodec,
  closingCompleteCodec,
  closingSigCodec,
  closingSignedCodec,
  fundingCreatedCodec,
  fundingSignedCodec,
  openChannelCodec,
  shutdownCodec,
} from './channel-messages.js';
import type { MessageCodec } from './codec-spec.js';
import {
  channelReestablishCodec,
  commitmentSignedCodec,
  revokeAndAckCodec,
  updateAddHtlcCodec,
  updateFailHtlcCodec,
  updateFailMalformedHtlcCodec,
  updateFeeCodec,
  updateFulfillHtlcCodec,
} from './commitment-messages.js';
import { errorCodec, initCodec, pingCodec, pongCodec, warningCodec } from './setup-messages.js';
import { GossipMessageType, type DecodedMessage, type Hex, type WireMessage } from './types.js';

/** Largest Lightning message, type included: BOLT 8 frames carry a u16 length. */
export const MAX_MESSAGE_SIZE = 65535;

/** Raised for a message with an even type chand does not know (code WIRE_UNKNOWN_EVEN_MESSAGE). */
export class WireError extends ChandError {
  override readonly name = 'WireError';
  /** The message type number. */
  readonly messageType: number;

  constructor(messageType: number, message: string) {
    super(ErrorCode.WIRE_UNKNOWN_EVEN_MESSAGE, message);
    this.messageType = messageType;
  }
}

// Each codec is typed for its own message; the registry only hands it messages of that type.
const CODECS = [
  initCodec,
  errorCodec,
  warningCodec,
  pingCodec,
  pongCodec,
  openChannelCodec,
  acceptChannelCodec,
  fundingCreatedCodec,
  fundingSignedCodec,
  channelReadyCodec,
  shutdownCodec,
  closingSignedCodec,
  closingCompleteCodec,
  closingSigCodec,
  updateAddHtlcCodec,
  updateFulfillHtlcCodec,
  updateFailHtlcCodec,
  updateFailMalformedHtlcCodec,
  commitmentSignedCodec,
  revokeAndAckCodec,
  updateFeeCodec,
  channelReestablishCodec,
] as readonly MessageCodec[];

const BY_NUMBER: ReadonlyMap<number, MessageCodec> = new Map(CODECS.map((c) => [c.typeNumber, c]));
const BY_NAME: ReadonlyMap<string, MessageCodec> = new Map(CODECS.map((c) => [c.name, c]));
const GOSSIP_TYPES: ReadonlySet<number> = new Set(Object.values(GossipMessageType));

/** The BOLT type number of a message name, e.g. `messageTypeOf('init') === 16`. */
export function messageTypeOf(name: WireMessage['type']): number {
  const codec = BY_NAME.get(name);
  if (codec === undefined) throw new TypeError(`expected a wire message type name, got ${JSON.stringify(name)}`);
  return codec.typeNumber;
}

/**
 * Serializes `msg` as `u16 type ++ payload ++ extension` (the plaintext a BOLT 8 transport
 * encrypts). Throws TypeError/RangeError if a field is malformed (wrong hex length, a number
 * out of range, an even unknown TLV) or the result exceeds 65535 bytes.
 */
export function encodeMessage(msg: WireMessage): Uint8Array {
  const codec = BY_NAME.get((msg as { type?: unknown } | null)?.type as string);
  if (codec === undefined) {
    throw new TypeError(`expected a wire message with a known type, got ${JSON.stringify((msg as { type?: unknown } | null)?.type)}`);
  }
  const w = new ByteWriter(256);
  w.u16(codec.typeNumber);
  codec.write(w, msg as never);
  if (w.length > MAX_MESSAGE_SIZE) {
    throw new RangeError(`expected an encoded ${msg.type} of at most ${MAX_MESSAGE_SIZE} bytes, got ${w.length}`);
  }
  return w.finish();
}

/**
 * Decodes one whole message (type prefix included), following BOLT 1: an unknown odd type is
 * returned as `unknown-odd` (ignore it), a BOLT 7 gossip type as `gossip` (not decoded yet), an
 * unknown even type throws WireError (WIRE_UNKNOWN_EVEN_MESSAGE: close the connection). A known
 * message that is too short, has a malformed or non-canonical TLV extension, an unknown even
 * TLV record, or a known record of the wrong size throws DecodeError (DECODE_FAILED: close the
 * connection too). Never throws anything else for any input bytes; the result never aliases
 * `bytes`.
 */
export function decodeMessage(bytes: Uint8Array): DecodedMessage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`expected message bytes as Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 2) throw new DecodeError(`message of ${bytes.length} bytes has no 2-byte type`);
  const type = (bytes[0]! << 8) | bytes[1]!;
  const codec = BY_NUMBER.get(type);
  if (codec === undefined) {
    if (GOSSIP_TYPES.has(type)) return { kind: 'gossip', type, payload: bytes.slice(2) };
    if (type % 2 === 1) return { kind: 'unknown-odd', type };
    throw new WireError(type, `unknown even message type ${type}`);
  }
  const r = new ByteReader(bytes, 2);
  try {
    return { kind: 'known', message: codec.read(r) };
  } catch (err) {
    if (err instanceof DecodeError) throw new DecodeError(`${codec.name} (type ${type}): ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * The 32-byte channel id (or temporary channel id, for `open_channel`, `accept_channel` and
 * `funding_created`) a message is about, for routing it to a channel; undefined for
 * connection-level messages (`init`, `ping`, `pong`). For `error`/`warning` an all-zero id
 * means every channel with the peer.
 */
export function channelIdOfMessage(msg: WireMessage): Hex | undefined {
  switch (msg.type) {
    case 'init':
    case 'ping':
    case 'pong':
      return undefined;
    case 'open_channel':
    case 'accept_channel':
    case 'funding_created':
      return msg.temporaryChannelId;
    default:
      return msg.channelId;
  }
}
