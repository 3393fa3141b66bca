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
import { META, key } from './keys.js';

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
];

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
