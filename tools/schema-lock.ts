/**
 * `npm run schema:lock`: rewrites schema.lock.json from the code and freshly migrated
 * SQLite and PostgreSQL databases (a PostgreSQL server is found or started as in tests).
 * Refuses, and changes nothing, when a persisted shape changed but no migration or record
 * version did.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { differences, fingerprintOf, introspectSqlShape, unversionedChanges, type SchemaFingerprint } from './schema-fingerprint.js';
import { openPostgresBackend } from '../src/sql/postgres.js';
import { createThrowawayDatabase, findPostgres } from './postgres-server.js';
import { openSqliteBackend } from '../src/sql/sqlite.js';

const LOCK_PATH = join(import.meta.dirname, '..', 'schema.lock.json');

const dir = mkdtempSync(join(tmpdir(), 'chand-schema-lock-'));
const sqlite = openSqliteBackend({ file: join(dir, 'fingerprint.sqlite') });
const sqliteShape = await introspectSqlShape(sqlite, 'sqlite');
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

const lookup = await findPostgres();
if (lookup.server === undefined) {
  process.stderr.write(`schema:lock needs PostgreSQL for the postgres part of the lock: ${lookup.reasons.join('; ')}\n`);
  process.exit(1);
}
const database = await createThrowawayDatabase(lookup.server, 'chand_schema_lock');
let postgresShape;
try {
  const pg = await openPostgresBackend({ url: database.url });
  postgresShape = await introspectSqlShape(pg, 'postgres');
  await pg.close();
} finally {
  await database.drop();
  await lookup.server.stop();
}

const current = fingerprintOf({ sqlite: sqliteShape, postgres: postgresShape });
if (existsSync(LOCK_PATH)) {
  const locked = JSON.parse(readFileSync(LOCK_PATH, 'utf8')) as SchemaFingerprint;
  const problems = unversionedChanges(locked, current);
  if (problems.length > 0) {
    process.stderr.write(`schema.lock.json NOT updated:\n${problems.map((p) => `  - ${p}`).join('\n')}\nAdd a migration (src/sql/migrations.ts, src/kv/migrations.ts) or bump the record version first.\n`);
    process.exit(1);
  }
  const changed = differences(locked, current);
  process.stdout.write(changed.length === 0 ? 'schema.lock.json is up to date\n' : `schema.lock.json updated: ${changed.join(', ')}\n`);
} else {
  process.stdout.write('schema.lock.json written\n');
}
writeFileSync(LOCK_PATH, `${JSON.stringify(current, null, 2)}\n`);
