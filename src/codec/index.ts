/**
 * chand's codec primitives: byte reader/writer, BigSize, TLV streams and truncated integers
 * (BOLT 1). Every decoder throws `DecodeError` (code DECODE_FAILED) on malformed input; every
 * encoder throws TypeError/RangeError on caller misuse.
 */
export * from './bigsize.js';
export * from './bytes.js';
export * from './tlv.js';
