/**
 * KV migrations: an append-only, numbered list. Never edit or reorder a shipped entry; a
 * migration that needs a codec keeps its own frozen copy of it (never imports the live
 * record schemas, which will move on).
 *
 * The root (migrateKv) reads the schema version from `meta -> schema-version`, refuses a
 * database newer than this code (DB_REVERSION), and applies every pending migration and
 * the new version in ONE transaction: a crash leaves the old version, never half of a new one.
 */
import { ChandError, ErrorCode } from '../errors.js';
import type { KvEngine, KvReadTx, KvWriteTx } from './engine.js';
import { decodeTlvStream } from '../codec/tlv.js';
import { addValueChecksums, checksummedTx } from './checksummed-engine.js';
import { RevocationLogPacker } from '../chanstate/revocation-blocks.js';
import { decodeKvLogEntryV0 } from '../chanstate/revocation-log-v0.js';
import { equalBytes } from '../codec/bytes.js';
import { META, key, prefixRange } from './keys.js';

/** One migration step. */
export interface KvMigration {
  /** The schema version this step produces. */
  readonly version: number;
  readonly description: string;
  migrate(tx: KvWriteTx): void;
}

/** The migration list. Append only. */
export const KV_MIGRATIONS: readonly KvMigration[] = [
  {
    version: 1,
    description: 'initial layout: channel state, link nodes, forwarding packages, closed channels (keys.ts)',
    // The layout needs no buckets created ahead of time; the step only stamps the version.
    migrate: () => {},
  },
  {
    version: 2,
    description:
      'channel key-index allocator: index every channel\'s key index (open and closed) and start the counter past the highest; commitments may carry main output indexes (optional fields, no rewrite)',
    migrate: indexChannelKeyIndexes,
  },
  {
    version: 3,
    description: 'value checksums: CRC32 of key||value appended to every value but the schema version (checksummed-engine.ts)',
    // Later migrations that read or write values go through checksummedTx(tx).
    migrate: addValueChecksums,
  },
  {
    version: 4,
    description:
      'compact revocation log: the per-state revocation-log records of every channel (open, or closed and not yet purged) move into blocks of states ' +
      '(chanstate/revocation-blocks.ts format 1): sealed blocks under revocation-blocks, the newest under revocation-open-block',
    migrate: (tx) => compactRevocationLogs(checksummedTx(tx)),
  },
  {
    version: 5,
    description:
      'payment stores: invoices (by payment hash, with add and settle indexes) and outgoing payments with their attempts ' +
      '(by payment hash, with the payment index and the in-flight index); keys.ts 0x80-0x82, 0x90-0x92',
    // New buckets need nothing created ahead of time and no existing value changes; the
    // step stamps the version so an older chand (which would not know the buckets, and
    // would not carry them through `chand db migrate`) refuses the database.
    migrate: () => {},
  },
];

// --- migration 4 (frozen: its own bucket tags and block size; format 1 of the blocks) -----

const M4_LOG = 0x07;
const M4_BLOCKS = 0x0d;
const M4_OPEN_BLOCK = 0x0e;
/** The block size the store used when this migration was written (commitments.ts KV_BLOCK_LIMIT then). */
const M4_BLOCK_LIMIT = 4060;

function compactRevocationLogs(tx: KvWriteTx): void {
  const CHUNK = 1000;
  let channel: Uint8Array | undefined;
  let packer: RevocationLogPacker | undefined;
  const u64 = (n: number) => {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(n));
    return out;
  };
  const finish = () => {
    const open = packer?.finish();
    if (channel !== undefined && open !== undefined) tx.put(key(M4_OPEN_BLOCK, channel), open);
  };
  // In key order (channel point, then height), in chunks collected before they are
  // rewritten, as addValueChecksums does: memory stays bounded on a large log.
  for (;;) {
    const chunk: Array<readonly [Uint8Array, Uint8Array]> = [];
    for (const [k, v] of tx.range({ ...prefixRange(Uint8Array.of(M4_LOG)), limit: CHUNK })) chunk.push([k.slice(), v.slice()]);
    for (const [k, v] of chunk) {
      // revocation-log -> <chanPoint 36> <height u64>
      const point = k.subarray(1, 37);
      if (channel === undefined || !equalBytes(channel, point)) {
        finish();
        channel = point.slice();
        packer = new RevocationLogPacker(M4_BLOCK_LIMIT);
      }
      const height = Number(new DataView(k.buffer, k.byteOffset + 37, 8).getBigUint64(0));
      for (const block of packer!.add(decodeKvLogEntryV0(height, v))) tx.put(key(M4_BLOCKS, channel, u64(block.firstHeight)), block.bytes);
      tx.delete(k);
    }
    if (chunk.length < CHUNK) break;
  }
  finish();
}

// --- migration 2 (frozen: reads schema-1 records at the TLV level, independent of records.ts) ---

const M2_CHANNEL_INFO = 0x01;
const M2_HISTORICAL = 0x31;
const M2_KEY_INDEXES = 0x70;
const M2_COUNTER = key(META, new TextEncoder().encode('channel-key-index'));

/** The TLV value of `type` in a record body (schema 1: a TLV stream), or undefined. */
function m2Field(body: Uint8Array, type: bigint): Uint8Array | undefined {
  return decodeTlvStream(body).find((r) => r.type === type)?.value;
}

/** revocationKeyLocator.index (ChannelInfo type 38 → KeyLocator type 2, u32) of a schema-1 ChannelInfo body. */
function m2KeyIndex(infoBody: Uint8Array): number {
  const locator = m2Field(infoBody, 38n);
  const index = locator === undefined ? undefined : m2Field(locator, 2n);
  if (index === undefined || index.length !== 4) throw new ChandError(ErrorCode.DECODE_FAILED, 'migration 2: a channel record has no revocation key locator');
  return new DataView(index.buffer, index.byteOffset, 4).getUint32(0);
}

function indexChannelKeyIndexes(tx: KvWriteTx): void {
  let next = 0;
  const claim = (chanPoint: Uint8Array, index: number) => {
    const k = new Uint8Array(5);
    k[0] = M2_KEY_INDEXES;
    new DataView(k.buffer).setUint32(1, index);
    tx.put(k, chanPoint.slice());
    next = Math.max(next, index + 1);
  };
  for (const [k, v] of tx.range(prefixRange(Uint8Array.of(M2_CHANNEL_INFO)))) claim(k.subarray(1), m2KeyIndex(v.subarray(2)));
  for (const [k, v] of tx.range(prefixRange(Uint8Array.of(M2_HISTORICAL)))) {
    const info = m2Field(v.subarray(2), 0n);
    if (info === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, 'migration 2: an archived channel has no info');
    claim(k.subarray(1), m2KeyIndex(info));
  }
  const counter = new Uint8Array(4);
  new DataView(counter.buffer).setUint32(0, next);
  tx.put(M2_COUNTER, counter);
}

/** The schema version this code writes. */
export const KV_SCHEMA_VERSION = KV_MIGRATIONS[KV_MIGRATIONS.length - 1]!.version;

const VERSION_KEY = key(META, new TextEncoder().encode('schema-version'));

/** The stored schema version; 0 for an empty database. */
export function readSchemaVersion(tx: KvReadTx): number {
  const bytes = tx.get(VERSION_KEY);
  if (bytes === undefined) return 0;
  if (bytes.length !== 4) throw new ChandError(ErrorCode.DECODE_FAILED, `schema version record has ${bytes.length} bytes, expected 4`);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
}

function writeSchemaVersion(tx: KvWriteTx, version: number): void {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, version);
  tx.put(VERSION_KEY, bytes);
}

/** What a migration run did (or, in a dry run, would do). */
export interface MigrationReport {
  readonly from: number;
  readonly to: number;
  readonly applied: ReadonlyArray<{ version: number; description: string }>;
  readonly dryRun: boolean;
}

/** Migration status: the stored version, the latest, and what is pending. */
export function migrationStatus(current: number, migrations: readonly KvMigration[] = KV_MIGRATIONS) {
  return {
    current,
    latest: migrations[migrations.length - 1]!.version,
    applied: migrations.filter((m) => m.version <= current).map(({ version, description }) => ({ version, description })),
    pending: migrations.filter((m) => m.version > current).map(({ version, description }) => ({ version, description })),
  };
}

class DryRunAbort extends Error {}

/**
 * Brings the database to the latest schema version. DB_REVERSION if it is newer than this
 * code. With `dryRun`, everything runs inside the transaction, which is then rolled back.
 */
export async function migrateKv(
  engine: KvEngine,
  options: { dryRun?: boolean; migrations?: readonly KvMigration[] } = {},
): Promise<MigrationReport> {
  const migrations = options.migrations ?? KV_MIGRATIONS;
  const latest = migrations[migrations.length - 1]!.version;
  let report: MigrationReport | undefined;
  try {
    await engine.update((tx) => {
      const from = readSchemaVersion(tx);
      if (from > latest) {
        throw new ChandError(
          ErrorCode.DB_REVERSION,
          `database schema version ${from} is newer than this chand (${latest}); refusing to open it — upgrade chand`,
        );
      }
      const pending = migrations.filter((m) => m.version > from);
      for (const m of pending) m.migrate(tx);
      if (pending.length > 0) writeSchemaVersion(tx, latest);
      report = { from, to: latest, applied: pending.map(({ version, description }) => ({ version, description })), dryRun: options.dryRun === true };
      if (options.dryRun === true) throw new DryRunAbort();
    });
  } catch (err) {
    if (!(err instanceof DryRunAbort)) throw err;
  }
  return report!;
}
