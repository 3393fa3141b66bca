/**
 * Row checksums of the money-critical tables: commitments, htlcs, revocation_log, and the
 * remote revocation state (revocation_states, revocation_secrets), whose secrets and points
 * breach remedies and revocation checks depend on.
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
 * byte), so 4 bytes per revoked state in revocation_log (plus 4 per revealed-secret row, of
which a channel has at most 49). The encoding and the column orders are part of the
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
  revocation_log: ['channel_id', 'commit_height', 'our_output_index', 'their_output_index', 'commit_txid', 'our_balance_msat', 'their_balance_msat', 'htlcs'],
  revocation_states: ['channel_id', 'current_point', 'next_point'],
  revocation_secrets: ['channel_id', 'seq', 'secret_index', 'secret'],
} as const;

/** A table whose rows carry a checksum. */
export type CrcTable = keyof typeof CRC_COLUMNS;

const NULL_TAG = Uint8Array.of(0);

/**
 * The CRC32 of `values` in the canonical encoding, as a signed 32-bit integer (the INT4
 * column value). TypeError for a value of another type (a string, a boolean): a caller bug.
 */
export function crcOfValues(values: readonly CrcValue[]): number {
  let crc = 0;
  const head = new Uint8Array(9);
  const view = new DataView(head.buffer);
  for (const value of values) {
    if (value === null || value === undefined) {
      crc = crc32(NULL_TAG, crc);
    } else if (typeof value === 'bigint' || typeof value === 'number') {
      if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new TypeError(`expected an integer column value, got ${value}`);
      head[0] = 1;
      view.setBigInt64(1, BigInt.asIntN(64, BigInt(value)));
      crc = crc32(head, crc);
    } else if (value instanceof Uint8Array) {
      head[0] = 2;
      view.setUint32(1, value.length);
      crc = crc32(head.subarray(0, 5), crc);
      crc = crc32(value, crc);
    } else {
      throw new TypeError(`expected an integer, bytes or null column value, got ${typeof value}`);
    }
  }
  return crc | 0;
}

/** The checksum of a row of `table` (an object with at least the table's CRC columns). */
export function rowCrc(table: CrcTable, row: Readonly<Record<string, unknown>>): number {
  return crcOfValues(CRC_COLUMNS[table].map((c) => row[c] as CrcValue));
}

/**
 * DB_CORRUPT unless the stored `crc` of a row of `table` matches its other columns. `where`
 * names the row in the message (no values: a corrupt row may hold anything).
 */
export function verifyRowCrc(table: CrcTable, row: Readonly<Record<string, unknown>>, where: string): void {
  const stored = row['crc'];
  if (stored === null || stored === undefined) {
    throw new ChandError(ErrorCode.DB_CORRUPT, `stored data failed its integrity check: ${table} row ${where} has no checksum`);
  }
  if (Number(stored) !== rowCrc(table, row)) {
    throw new ChandError(ErrorCode.DB_CORRUPT, `stored data failed its integrity check: ${table} row ${where} does not match its checksum`);
  }
}
