/**
 * Row checksums of the money-critical tables: commitments, htlcs, revocation_blocks, and
 * the remote revocation state (revocation_states with its open block, revocation_secrets),
 * whose secrets, points and revoked states breach remedies and revocation checks depend on.
 *
 * Column shape checks cannot see one flipped byte inside a 32-byte payment hash or an
 * amount: the value is still well formed, just wrong. So each row of these tables carries a
 * `crc` column, a CRC32 over the row's other columns in a canonical encoding, written with
 * the row and verified on every read; a mismatch is DB_CORRUPT, never wrong data.
 *
 * Canonical encoding, per column in the table's CRC column order (CRC_COLUMNS): NULL is one
 * byte 0x00; an integer is 0x01 then its 64-bit two's complement, big-endian (so a number
 * written and the bigint a driver returns encode alike); bytes are 0x02, a u32 big-endian
 * length, the bytes. The slot column `party` is left out, because advanceCommitChainTail
 * moves the chain tip's rows into the remote slot by updating only that column; every
 * other column, keys included, is covered (a flipped channel id or height would attach a
 * row to the wrong channel or state).
 *
 * Cost: 4 bytes per row (a signed INT4; SQLite stores it in at most 4 bytes plus its type
 * byte), so 4 bytes per block of revoked states in revocation_blocks (about a hundred states),
 * plus 4 per revealed-secret row, of which a channel has at most 49. The encoding and the column orders are part of the
 * persisted format: changing either needs a migration that rewrites every checksum.
 */
import { crc32 } from 'node:zlib';
import { ChandError, ErrorCode } from '../errors.js';

/** A column value as a driver returns or takes it. */
export type CrcValue = bigint | number | Uint8Array | null | undefined;

/** The columns each checksummed table covers, in checksum order (frozen: see the module comment). */
export const CRC_COLUMNS = {
  commitments: [
    'channel_id',
    'commit_height',
    'local_log_index',
    'local_htlc_index',
    'remote_log_index',
    'remote_htlc_index',
    'local_balance_msat',
    'remote_balance_msat',
    'commit_fee_sat',
    'fee_per_kw',
    'commit_tx',
    'commit_sig',
    'custom_blob',
    'local_output_index',
    'remote_output_index',
  ],
  htlcs: [
    'channel_id',
    'seq',
    'htlc_index',
    'log_index',
    'payment_hash',
    'amount_msat',
    'refund_timeout',
    'output_index',
    'incoming',
    'signature',
    'onion_blob',
    'extra_data',
  ],
  revocation_blocks: ['channel_id', 'first_height', 'state_count', 'block'],
  revocation_states: ['channel_id', 'current_point', 'next_point'],
  /** The open block in revocation_states, checksummed apart (column open_log_block_crc), so that reading the points need not read the block. */
  revocation_open_blocks: ['channel_id', 'open_log_block'],
  revocation_secrets: ['channel_id', 'seq', 'secret_index', 'secret'],
} as const;

/** A table whose rows carry a checksum. */
export type CrcTable = keyof typeof CRC_COLUMNS;

// One reusable buffer: a row's canonical encoding is built in it and checksummed with one
// crc32 call (the CRC of a concatenation equals the chained CRC of its parts).
let scratch = new Uint8Array(1024);
let scratchView = new DataView(scratch.buffer);

function reserve(at: number, n: number): void {
  if (at + n <= scratch.length) return;
  const next = new Uint8Array(Math.max(scratch.length * 2, at + n));
  next.set(scratch.subarray(0, at));
  scratch = next;
  scratchView = new DataView(next.buffer);
}

const TWO_32 = 2 ** 32;
const SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Writes integer `value` at `at` as its 64-bit two's complement, big-endian. */
function writeInt64(at: number, value: bigint | number): void {
  // Safe integers (every column value but a u64 at or above 2^53) need no BigInt
  // arithmetic: the high word is floor(n / 2^32), the low word what remains.
  let n: number;
  if (typeof value === 'number') n = value;
  else if (value >= -SAFE_BIG && value <= SAFE_BIG) n = Number(value);
  else return scratchView.setBigInt64(at, BigInt.asIntN(64, value));
  const high = Math.floor(n / TWO_32);
  scratchView.setInt32(at, high);
  scratchView.setUint32(at + 4, n - high * TWO_32);
}

/**
 * The CRC32 of `values[from..to)` (default: all of them) in the canonical encoding, as a
 * signed 32-bit integer (the INT4 column value). TypeError for a value of another type (a
 * string, a boolean, an integer beyond 2^53 as a number): a caller bug.
 */
export function crcOfValues(values: readonly unknown[], from = 0, to = values.length): number {
  let at = 0;
  for (let i = from; i < to; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      reserve(at, 1);
      scratch[at++] = 0;
    } else if (typeof value === 'bigint' || typeof value === 'number') {
      if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new TypeError(`expected an integer column value, got ${value}`);
      reserve(at, 9);
      scratch[at] = 1;
      writeInt64(at + 1, value);
      at += 9;
    } else if (value instanceof Uint8Array) {
      reserve(at, 5 + value.length);
      scratch[at] = 2;
      scratchView.setUint32(at + 1, value.length);
      scratch.set(value, at + 5);
      at += 5 + value.length;
    } else {
      throw new TypeError(`expected an integer, bytes or null column value, got ${typeof value}`);
    }
  }
  return crc32(scratch.subarray(0, at)) | 0;
}

/** The checksum of a row of `table` (an object with at least the table's CRC columns). */
export function rowCrc(table: CrcTable, row: Readonly<Record<string, unknown>>): number {
  return crcOfValues(CRC_COLUMNS[table].map((c) => row[c] as CrcValue));
}

/**
 * DB_CORRUPT unless the stored checksum (column `crcColumn`, default `crc`) of a row of
 * `table` matches its other columns. `where` names the row in the message (no values: a
 * corrupt row may hold anything).
 */
export function verifyRowCrc(table: CrcTable, row: Readonly<Record<string, unknown>>, where: string, crcColumn = 'crc'): void {
  const stored = row[crcColumn];
  if (stored === null || stored === undefined) {
    throw new ChandError(ErrorCode.DB_CORRUPT, `stored data failed its integrity check: ${table} row ${where} has no checksum`);
  }
  if (Number(stored) !== rowCrc(table, row)) {
    throw new ChandError(ErrorCode.DB_CORRUPT, `stored data failed its integrity check: ${table} row ${where} does not match its checksum`);
  }
}
