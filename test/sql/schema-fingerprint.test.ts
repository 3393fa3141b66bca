// The committed schema fingerprint (schema.lock.json) must match what the code persists:
// every record's field table and the SQL schema both dialects report after migrating.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { differences, fingerprintOf, introspectSqlShape, recordShapes, unversionedChanges, type SchemaFingerprint } from '../../tools/schema-fingerprint.js';
import { openPostgresBackend } from '../../src/sql/postgres.js';
import { openSqliteBackend } from '../../src/sql/sqlite.js';
import { postgresForTests } from './support/postgres.js';

const pg = await postgresForTests('schema fingerprint');
const locked = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'schema.lock.json'), 'utf8')) as SchemaFingerprint;

/** The failure message: what changed, and what to do about it. */
function advice(part: string, changed: readonly string[], current: SchemaFingerprint): string {
  const problems = unversionedChanges(locked, current);
  return [
    `The persisted ${part} no longer matches schema.lock.json (${changed.join(', ')}).`,
    problems.length > 0
      ? `This changes a persisted shape WITHOUT a new migration:\n  - ${problems.join('\n  - ')}\n` +
        'Add a numbered migration (src/sql/migrations.ts for SQL tables, src/kv/migrations.ts for KV records) or bump the record version, ' +
        'then run `npm run schema:lock` and commit schema.lock.json with the change.'
      : 'A migration or version bump covers it: run `npm run schema:lock` and commit the regenerated schema.lock.json.',
  ].join('\n');
}

describe('schema fingerprint (schema.lock.json)', () => {
  it('records: every persisted record schema has the field table in the lock', () => {
    const current = fingerprintOf({});
    const changed = [...differences(locked.records, current.records, 'records'), ...differences(locked.migrations, current.migrations, 'migrations')];
    expect(changed, advice('records', changed, { ...current, sql: locked.sql })).toEqual([]);
  });

  it('SQLite: the migrated schema matches the lock', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chand-fingerprint-'));
    try {
      const backend = openSqliteBackend({ file: join(dir, 'fp.sqlite') });
      const shape = await introspectSqlShape(backend, 'sqlite');
      await backend.close();
      const changed = differences(locked.sql.sqlite, shape, 'sql.sqlite');
      expect(changed, advice('SQLite schema', changed, fingerprintOf({ ...locked.sql, sqlite: shape }))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(pg === undefined)('PostgreSQL: the migrated schema matches the lock', async () => {
    const schema = await pg!.freshSchema();
    const backend = await openPostgresBackend({ url: pg!.url, schema });
    const shape = await introspectSqlShape(backend, 'postgres');
    await backend.close();
    const changed = differences(locked.sql.postgres, shape, 'sql.postgres');
    expect(changed, advice('PostgreSQL schema', changed, fingerprintOf({ ...locked.sql, postgres: shape }))).toEqual([]);
  });

  it('a changed shape without a new migration is refused; with one it is accepted', () => {
    const sqlite = locked.sql.sqlite!;
    const withColumn: SchemaFingerprint = {
      ...locked,
      sql: { ...locked.sql, sqlite: { ...sqlite, channels: { ...sqlite['channels']!, columns: [...sqlite['channels']!.columns, 'extra integer'] } } },
    };
    expect(unversionedChanges(locked, withColumn)).toEqual([expect.stringContaining('sql.sqlite.channels.columns')]);
    expect(unversionedChanges(locked, { ...withColumn, migrations: { ...locked.migrations, sql: locked.migrations.sql + 1 } })).toEqual([]);

    const records = recordShapes();
    const revocation = records['RevocationLogEntry']!;
    const withField = { ...locked, records: { ...records, RevocationLogEntry: { ...revocation, fields: [...revocation.fields, '11 note bytes optional'] } } };
    expect(unversionedChanges(locked, withField)).toEqual([expect.stringContaining('record RevocationLogEntry')]);
    const bumped = { ...withField, records: { ...withField.records, RevocationLogEntry: { ...withField.records.RevocationLogEntry, version: revocation.version + 1 } } };
    expect(unversionedChanges(locked, bumped)).toEqual([]);
  });
});
