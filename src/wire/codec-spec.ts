/**
 * The shape of one message's codec, as the registry in `message-codec.ts` holds it. Each
 * codec reads and writes the payload after the 2-byte type, its TLV extension included.
 */
import type { ByteReader, ByteWriter } from '../codec/bytes.js';
import type { WireMessage } from './types.js';

/** Codec of the message whose `type` is `N`. */
export interface MessageCodec<N extends WireMessage['type'] = WireMessage['type']> {
  /** The BOLT message type number. */
  readonly typeNumber: number;
  /** The message's `type` name. */
  readonly name: N;
  /** Writes the payload (fields, then extension); TypeError/RangeError on a malformed value. */
  write(w: ByteWriter, msg: Extract<WireMessage, { type: N }>): void;
  /** Reads the payload to the end of `r`; DecodeError on malformed bytes. */
  read(r: ByteReader): Extract<WireMessage, { type: N }>;
}
