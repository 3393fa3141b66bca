/**
 * chand's Lightning wire layer: BOLT 1/2 message values and codecs, and BOLT 9 feature bits.
 * Pure: no sockets, no I/O. `decodeMessage` throws only ChandError subclasses for any input
 * bytes (DecodeError for malformed, WireError for unknown even types); encoders throw
 * TypeError/RangeError for malformed values.
 */
export * from './types.js';
export * from './features.js';
export { ALL_CHANNELS, buildInit, initFeatures, MAX_PONG_BYTES, pongFor, printableErrorData } from './setup-messages.js';
export { ATTRIBUTION_DATA_SIZE, ONION_PACKET_SIZE } from './commitment-messages.js';
export {
  channelIdOfMessage,
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_SIZE,
  messageTypeOf,
  WireError,
} from './message-codec.js';
