/**
 * Transaction ids from raw bytes, without a full transaction model.
 *
 * The txid is the double SHA-256 of the legacy (non-witness) serialization, shown in
 * reversed byte order. Segwit transactions (marker 0x00, flag 0x01) are stripped of their
 * marker, flag and witnesses first.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DecodeError } from '../errors.js';

/** The txid of a serialized transaction, as lowercase hex in display (reversed) order. Throws DecodeError on malformed bytes. */
export function computeTxid(raw: Uint8Array): string {
  const legacy = stripWitness(raw);
  const hash = sha256(sha256(legacy));
  return bytesToHex(hash.reverse());
}

/** The legacy serialization of `raw` (raw itself when it has no witness). */
export function stripWitness(raw: Uint8Array): Uint8Array {
  let pos = 4;
  const need = (n: number): void => {
    if (pos + n > raw.length) throw new DecodeError(`transaction truncated at byte ${pos} (length ${raw.length})`);
  };
  const varint = (): number => {
    need(1);
    const first = raw[pos++]!;
    if (first < 0xfd) return first;
    const size = first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
    need(size);
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + raw[pos + i]!;
    pos += size;
    if (!Number.isSafeInteger(value)) throw new DecodeError('transaction varint too large');
    return value;
  };
  need(0);
  if (raw.length < 10) throw new DecodeError(`transaction too short: ${raw.length} bytes`);
  const segwit = raw[4] === 0 && raw[5] === 1;
  if (segwit) pos += 2;
  const bodyStart = pos;
  const inputs = varint();
  if (inputs === 0) throw new DecodeError('transaction has no inputs');
  for (let i = 0; i < inputs; i++) {
    need(36);
    pos += 36;
    const scriptLen = varint();
    need(scriptLen + 4);
    pos += scriptLen + 4;
  }
  const outputs = varint();
  for (let i = 0; i < outputs; i++) {
    need(8);
    pos += 8;
    const scriptLen = varint();
    need(scriptLen);
    pos += scriptLen;
  }
  const bodyEnd = pos;
  if (segwit) {
    for (let i = 0; i < inputs; i++) {
      const items = varint();
      for (let j = 0; j < items; j++) {
        const len = varint();
        need(len);
        pos += len;
      }
    }
  }
  need(4);
  pos += 4;
  if (pos !== raw.length) throw new DecodeError(`transaction has ${raw.length - pos} trailing bytes`);
  if (!segwit) return raw;
  const out = new Uint8Array(4 + (bodyEnd - bodyStart) + 4);
  out.set(raw.subarray(0, 4), 0);
  out.set(raw.subarray(bodyStart, bodyEnd), 4);
  out.set(raw.subarray(raw.length - 4), 4 + (bodyEnd - bodyStart));
  return out;
}
