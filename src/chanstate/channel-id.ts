/**
 * Identifiers derived from a channel point: the BOLT 2 channel id and the store key.
 */
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import type { Hex, OutPoint } from './types.js';

/** Checks an OutPoint at the public edge: 64 hex chars of txid and a u32 index. */
export function assertOutPoint(op: OutPoint): void {
  if (typeof op !== 'object' || op === null) throw new TypeError(`expected an OutPoint {txid, index}, got ${String(op)}`);
  if (typeof op.txid !== 'string' || !/^[0-9a-f]{64}$/.test(op.txid)) {
    throw new TypeError(`expected OutPoint.txid to be 64 lowercase hex chars, got ${JSON.stringify(op.txid)}`);
  }
  if (!Number.isInteger(op.index) || op.index < 0 || op.index > 0xffffffff) {
    throw new RangeError(`expected OutPoint.index to be a u32, got ${op.index}`);
  }
}

/** Checks a fixed-length lowercase hex identifier at the public edge. */
export function assertHex(value: Hex, bytes: number, what: string): void {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !/^[0-9a-f]*$/.test(value)) {
    throw new TypeError(`expected ${what} to be ${bytes * 2} lowercase hex chars, got ${JSON.stringify(value)}`);
  }
}

/** "txid:index", the form users see. */
export function formatOutPoint(op: OutPoint): string {
  return `${op.txid}:${op.index}`;
}

/** Parses "txid:index". TypeError on anything else. */
export function parseOutPoint(text: string): OutPoint {
  const match = /^([0-9a-f]{64}):(\d{1,10})$/.exec(text);
  if (match === null) throw new TypeError(`expected a channel point "txid:index", got ${JSON.stringify(text)}`);
  const op = { txid: match[1]!, index: Number(match[2]) };
  assertOutPoint(op);
  return op;
}

/**
 * The BOLT 2 channel id: the funding txid in internal byte order with the output index
 * XORed into its last two bytes.
 */
export function channelIdOf(op: OutPoint): Hex {
  const id = hexToBytes(op.txid).reverse();
  id[30] = id[30]! ^ ((op.index >> 8) & 0xff);
  id[31] = id[31]! ^ (op.index & 0xff);
  return bytesToHex(id);
}

/** The 36-byte key form of a channel point: txid bytes (display order) then u32 index, big-endian. */
export function outPointKey(op: OutPoint): Uint8Array {
  const key = new Uint8Array(36);
  key.set(hexToBytes(op.txid), 0);
  new DataView(key.buffer).setUint32(32, op.index);
  return key;
}

/** Inverse of outPointKey. */
export function outPointFromKey(key: Uint8Array): OutPoint {
  return { txid: bytesToHex(key.subarray(0, 32)), index: new DataView(key.buffer, key.byteOffset + 32, 4).getUint32(0) };
}
