/**
 * Builds BOLT 11 strings word by word, signed with a given key, without going through
 * src/invoice's encoder: the unit tests use it to write invoices the encoder refuses to write
 * (both `d` and `h`, non-minimal fields, bad padding, duplicate fields, ...) and check how the
 * decoder treats them.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bech32 } from '@scure/base';
import { hexToBytes } from '../../../src/codec/bytes.js';

/** One tagged field: its 5-bit type and data words. */
export interface RawField {
  readonly type: number;
  readonly words: readonly number[];
  /** A data_length to write instead of the real one (to build truncated fields). */
  readonly claimedLength?: number;
}

/** The letters' types, as BOLT 11 lists them. */
export const T = { p: 1, r: 3, '9': 5, x: 6, f: 9, d: 13, s: 16, n: 19, h: 23, c: 24, m: 27 } as const;

/** A field holding `bytes` (hex or bytes), padded with zero bits as a writer must. */
export function bytesField(type: number, bytes: string | Uint8Array): RawField {
  return { type, words: bech32.toWords(typeof bytes === 'string' ? hexToBytes(bytes) : bytes) };
}

/** A field holding UTF-8 `text`. */
export function textField(type: number, text: string): RawField {
  return bytesField(type, new TextEncoder().encode(text));
}

/** `value` as big-endian words, exactly `count` of them. */
export function fixedWords(value: number, count: number): number[] {
  const out: number[] = [];
  for (let i = count - 1; i >= 0; i--) out.push(Math.floor(value / 32 ** i) % 32);
  return out;
}

/** Words zero-padded to bytes (what BOLT 11 signs). */
function paddedBytes(words: readonly number[]): Uint8Array {
  let bits = '';
  for (const w of words) bits += w.toString(2).padStart(5, '0');
  while (bits.length % 8 !== 0) bits += '0';
  const out = new Uint8Array(bits.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(bits.slice(8 * i, 8 * i + 8), 2);
  return out;
}

/** How to sign: `recovery` overrides the id written, `highS` negates s (without touching the id). */
export interface RawSignOptions {
  readonly recovery?: number;
  readonly highS?: boolean;
  /** Words appended after the last field, before the signature (a truncated field header). */
  readonly trailingWords?: readonly number[];
}

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A bech32 invoice of `hrp`, `timestamp` and `fields`, signed with `key` (RFC 6979, low-S unless asked). */
export function rawInvoice(hrp: string, timestamp: number, fields: readonly RawField[], key: Uint8Array, options: RawSignOptions = {}): string {
  const data: number[] = fixedWords(timestamp, 7);
  for (const f of fields) {
    const length = f.claimedLength ?? f.words.length;
    data.push(f.type, length >> 5, length & 31, ...f.words);
  }
  data.push(...(options.trailingWords ?? []));
  const digest = sha256(new Uint8Array([...new TextEncoder().encode(hrp), ...paddedBytes(data)]));
  const rec = secp256k1.sign(digest, key, { prehash: false, lowS: true, format: 'recovered' });
  const sig = rec.slice(1);
  if (options.highS === true) {
    const s = N - BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
    sig.set(hexToBytes(s.toString(16).padStart(64, '0')), 32);
  }
  const recovery = options.recovery ?? rec[0]!;
  return bech32.encode(hrp, [...data, ...bech32.toWords(new Uint8Array([...sig, recovery]))], false);
}
