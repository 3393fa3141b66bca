// SQL migrations on both dialects: fresh databases reach the latest version, steps apply in
// one transaction (before → migrate → after), newer databases are refused, dry runs write
// nothing, two processes migrating at once take turns, and inspection shows what is pending.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openChannelDb, readMigrationStatus, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { ErrorCode } from '../../src/errors.js';
import { migrateSql, readSqlSchemaVersion, SQL_MIGRATIONS, SQL_SCHEMA_VERSION, type SqlMigration } from '../../src/sql/migrations.js';
import type { SqlBackend } from '../../src/sql/transactions.js';
import { expectCode } from '../../src/testing/index.js';
import { sqlBackendKinds } from './support/backends.js';

const kinds = await sqlBackendKinds('SQL migrations');

const version = (backend: SqlBackend) => backend.runTx('read', (tx) => readSqlSchemaVersion(tx, backend.capabilities));

/** A later migration for the tests: adds a column to link_nodes and fills it from existing rows. */
const addNickname: SqlMigration = {
  version: SQL_SCHEMA_VERSION + 1,
  description: 'test: link_nodes.nickname from the network',
  async migrate(tx) {
    await tx.schema.alterTable('link_nodes').addColumn('nickname', 'text').execute();
    await sql`update link_nodes set nickname = 'peer on ' || network`.execute(tx);
  },
};

/** A later migration that fails half way. */
const failing: SqlMigration = {
  version: SQL_SCHEMA_VERSION + 1,
  description: 'test: fails after a change',
  async migrate(tx) {
    await tx.schema.alterTable('link_nodes').addColumn('half_done', 'text').execute();
    throw new Error('migration step failed');
  },
};

function configOf(location: { path?: string; url?: string; schema?: string }, name: 'sqlite' | 'postgres'): ChannelDbConfig {
  return name === 'sqlite' ? { backend: 'sqlite', path: location.path! } : { backend: 'postgres', url: location.url!, schema: location.schema! };
}

describe.each(kinds.map((k) => [k.name, k] as const))('SQL migrations: %s', (name, kind) => {
  it('stamps a fresh database with every migration, once', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      expect(await version(backend)).toBe(0);
      const report = await migrateSql(backend);
      expect(report).toMatchObject({ from: 0, to: SQL_SCHEMA_VERSION, dryRun: false });
      expect(report.applied.map((m) => m.version)).toEqual(SQL_MIGRATIONS.map((m) => m.version));
      expect((await migrateSql(backend)).applied).toEqual([]);
      const rows = await backend.runTx('read', (tx) => tx.selectFrom('chand_migrations').select(['version', 'description']).orderBy('version').execute());
      expect(rows.map((r) => Number(r.version))).toEqual(SQL_MIGRATIONS.map((m) => m.version));
    } finally {
      await cleanup();
    }
  });

  it('applies a pending step to existing data: before → migrate → after', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      await migrateSql(backend);
      await backend.runTx('write', (tx) => tx.insertInto('link_nodes').values({ pubkey: new Uint8Array(33).fill(2), network: 'regtest', last_seen_ms: 1 }).execute());
      const report = await migrateSql(backend, { migrations: [...SQL_MIGRATIONS, addNickname] });
      expect(report.applied).toEqual([{ version: addNickname.version, description: addNickname.description }]);
      const after = await backend.runTx('read', (tx) => sql<{ nickname: string }>`select nickname from link_nodes`.execute(tx));
      expect(after.rows).toEqual([{ nickname: 'peer on regtest' }]);
      expect(await version(backend)).toBe(addNickname.version);
    } finally {
      await cleanup();
    }
  });

  it('a failing step rolls back every step of the run and keeps the old version', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      await expect(migrateSql(backend, { migrations: [...SQL_MIGRATIONS, failing] })).rejects.toThrow('migration step failed');
      expect(await version(backend)).toBe(0);
      expect(await backend.runTx('read', (tx) => backend.capabilities.tableExists(tx, 'channels'))).toBe(false);
    } finally {
      await cleanup();
    }
  });

  it('a dry run reports the plan and writes nothing', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      const report = await migrateSql(backend, { dryRun: true });
      expect(report).toMatchObject({ from: 0, to: SQL_SCHEMA_VERSION, dryRun: true });
      expect(await version(backend)).toBe(0);
      expect(await backend.runTx('read', (tx) => backend.capabilities.tableExists(tx, 'channels'))).toBe(false);
    } finally {
      await cleanup();
    }
  });

  it('refuses a database written by a newer chand (DB_REVERSION), through openChannelDb too', async () => {
    const { backend, cleanup, location } = await kind.open();
    try {
      await migrateSql(backend);
      await backend.runTx('write', (tx) =>
        tx.insertInto('chand_migrations').values({ version: SQL_SCHEMA_VERSION + 1, description: 'from the future', applied_at_ms: 0 }).execute(),
      );
      await expectCode(migrateSql(backend), ErrorCode.DB_REVERSION);
      await backend.close();
      await expectCode(openChannelDb(configOf(location, name)), ErrorCode.DB_REVERSION);
    } finally {
      await cleanup();
    }
  });

  it('inspection shows pending migrations without applying them; opening for inspection refuses', async () => {
    const { backend, cleanup, location } = await kind.open();
    try {
      await migrateSql(backend, { migrations: SQL_MIGRATIONS.slice(0, 1) });
      await backend.close();
      const config = configOf(location, name);
      const pending = await readMigrationStatus(config);
      expect(pending.current).toBe(SQL_MIGRATIONS[0]!.version);
      expect(pending.pending).toEqual(SQL_MIGRATIONS.slice(1).map(({ version: v, description }) => ({ version: v, description })));
      if (pending.pending.length > 0) await expectCode(openChannelDb(config, { create: false, migrate: false }), ErrorCode.DB_NOT_INITIALIZED);
      const db = await openChannelDb(config);
      expect(await db.migrationStatus()).toMatchObject({ current: SQL_SCHEMA_VERSION, latest: SQL_SCHEMA_VERSION, pending: [] });
      await db.close();
    } finally {
      await cleanup();
    }
  });

  it.runIf(name === 'postgres')('two processes migrating the same database at once take turns (advisory lock)', async () => {
    const first = await kind.open();
    try {
      const { location } = first;
      await first.backend.close();
      const config = configOf(location, name);
      // Separate pools, as two processes would have.
      const opened = await Promise.all([openChannelDb(config), openChannelDb(config), openChannelDb(config)]);
      expect(opened.map((db) => db.migration.applied.length).sort()).toEqual([0, 0, SQL_MIGRATIONS.length]);
      const status = await opened[0]!.migrationStatus();
      expect(status).toMatchObject({ current: SQL_SCHEMA_VERSION, pending: [] });
      await Promise.all(opened.map((db) => db.close()));
    } finally {
      await first.cleanup();
    }
  });
});

describe('SQLite data directory', () => {
  it.runIf(kinds.some((k) => k.name === 'sqlite'))('a second open of the same directory fails with DB_LOCKED; close releases it', async () => {
    const sqlite = kinds.find((k) => k.name === 'sqlite')!;
    const { backend, cleanup, location } = await sqlite.open();
    await backend.close();
    try {
      const db = await openChannelDb({ path: location.path! });
      expect(db.backend).toBe('sqlite');
      await expectCode(openChannelDb({ backend: 'sqlite', path: location.path! }), ErrorCode.DB_LOCKED);
      await db.close();
      const again = await openChannelDb({ backend: 'sqlite', path: location.path! });
      await again.close();
    } finally {
      await cleanup();
    }
  });
});
