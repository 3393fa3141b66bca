/**
 * A KvEngine wrapper that checksums every stored value, so a flipped byte on disk is an
 * error (DB_CORRUPT) instead of wrong data.
 *
 * Layout: each value is stored as `<value> <crc32 u32 big-endian>`, the CRC32 (zlib's,
 * ISO-HDLC polynomial) of `key || value`. Covering the key too catches a value that ended up
 * under the wrong key (a damaged page pointer), not only flipped value bytes. Every `get`
 * and every entry a `range` yields is verified before the caller sees it; the caller gets
 * the value without its checksum. Cost: 4 bytes per stored value — 4 B per revoked state
 * (one revocation-log value each), and one CRC over a few hundred bytes per read.
 *
 * Exemption: `meta -> schema-version` stays raw, because the migration root reads it from
 * the bare engine before it knows whether checksums exist yet (they arrive with a migration).
 *
 * Migration: `addValueChecksums` rewrites every value of an unchecksummed database once; it
 * runs in the migration transaction on the bare engine. Later migrations that read or write
 * values go through `checksummedTx(tx)` so they see and write the checksummed layout.
 */
import { crc32 } from 'node:zlib';
import { ChandError, ErrorCode } from '../errors.js';
import type { KvEngine, KvRange, KvReadTx, KvWriteTx } from './engine.js';
import { META, key } from './keys.js';

/** Bytes a checksum adds to each stored value. */
export const CHECKSUM_BYTES = 4;

/** The one key stored without a checksum (see the module comment). */
const RAW_KEY = key(META, new TextEncoder().encode('schema-version'));

function isRaw(k: Uint8Array): boolean {
  return Buffer.compare(k, RAW_KEY) === 0;
}

function checksumOf(k: Uint8Array, value: Uint8Array): number {
  return crc32(value, crc32(k));
}

/** `value` with its checksum appended (the stored form). */
export function sealValue(k: Uint8Array, value: Uint8Array): Uint8Array {
  if (isRaw(k)) return value;
  const out = new Uint8Array(value.length + CHECKSUM_BYTES);
  out.set(value, 0);
  new DataView(out.buffer).setUint32(value.length, checksumOf(k, value));
  return out;
}

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** The value inside a stored form; DB_CORRUPT naming the key if the checksum does not match. */
export function openValue(k: Uint8Array, stored: Uint8Array): Uint8Array {
  if (isRaw(k)) return stored;
  if (stored.length < CHECKSUM_BYTES) {
    throw new ChandError(ErrorCode.DB_CORRUPT, `stored value of key ${hexOf(k)} has ${stored.length} bytes, less than its ${CHECKSUM_BYTES}-byte checksum`);
  }
  const end = stored.length - CHECKSUM_BYTES;
  const value = stored.subarray(0, end);
  const expected = new DataView(stored.buffer, stored.byteOffset, stored.byteLength).getUint32(end);
  if (checksumOf(k, value) !== expected) {
    throw new ChandError(ErrorCode.DB_CORRUPT, `stored value of key ${hexOf(k)} fails its checksum: the database is damaged`);
  }
  return value;
}

function checkedRead(tx: KvReadTx): KvReadTx {
  return {
    get(k) {
      const stored = tx.get(k);
      return stored === undefined ? undefined : openValue(k, stored);
    },
    range(range: KvRange) {
      const entries = tx.range(range);
      return {
        *[Symbol.iterator]() {
          for (const [k, stored] of entries) yield [k, openValue(k, stored)] as const;
        },
      };
    },
  };
}

/** A view of a bare transaction in the checksummed layout (for migrations after addValueChecksums). */
export function checksummedTx(tx: KvWriteTx): KvWriteTx {
  const read = checkedRead(tx);
  return {
    ...read,
    put: (k, value) => tx.put(k, sealValue(k, value)),
    delete: (k) => tx.delete(k),
  };
}

/**
 * Wraps `engine` (whose values are already checksummed: run addValueChecksums first) so
 * every value is sealed on put and verified on read. Capabilities and close are the
 * engine's own.
 */
export function checksummedEngine(engine: KvEngine): KvEngine {
  return {
    capabilities: engine.capabilities,
    read: (fn) => engine.read((tx) => fn(checkedRead(tx))),
    update: (fn) => engine.update((tx) => fn(checksummedTx(tx))),
    close: () => engine.close(),
  };
}

/**
 * Migration step: appends the checksum to every value of a database that has none (all
 * keys except `meta -> schema-version`). Not idempotent — run it exactly once, as the
 * numbered migration that introduces checksums, inside the migration transaction.
 */
export function addValueChecksums(tx: KvWriteTx): void {
  // In key-ordered chunks, each collected before it is rewritten (writing under an open
  // range iterator is undefined on some engines), so memory stays bounded on a large log.
  const CHUNK = 1000;
  let start: Uint8Array | undefined;
  for (;;) {
    const chunk: Array<readonly [Uint8Array, Uint8Array]> = [];
    for (const [k, value] of tx.range(start === undefined ? { limit: CHUNK } : { start, limit: CHUNK })) chunk.push([k.slice(), value.slice()]);
    for (const [k, value] of chunk) if (!isRaw(k)) tx.put(k, sealValue(k, value));
    if (chunk.length < CHUNK) return;
    // The smallest key after the last one: the last key with a zero byte appended.
    const last = chunk[chunk.length - 1]![0];
    start = new Uint8Array(last.length + 1);
    start.set(last, 0);
  }
}
