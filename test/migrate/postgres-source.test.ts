// PostgreSQL as the source of a migration: read in READ ONLY transactions under the
// single-writer lock (a node holding it is DB_LOCKED), never written, copied to LMDB.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateChannelDb } from '../../src/channeldb/migrate.js';
import { openChannelDb, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { ErrorCode } from '../../src/errors.js';
import { exclusionReason, registerBackendUnavailable } from '../../src/testing/index.js';
import { postgresForTests } from '../sql/support/postgres.js';
import { expectSameDatabases, fillDatabase, fingerprintOf, tempDir } from './support.js';

const lmdbExcluded = exclusionReason('lmdb');
if (lmdbExcluded !== undefined) registerBackendUnavailable('lmdb', 'PostgreSQL → LMDB migration', lmdbExcluded);
const pg = lmdbExcluded === undefined ? await postgresForTests('PostgreSQL → LMDB migration') : undefined;

describe.skipIf(pg === undefined)('chand db migrate from PostgreSQL', () => {
  it('copies a PostgreSQL node to LMDB without writing the source; a node holding the source is DB_LOCKED', async () => {
    const dir = await tempDir('pg-source');
    const source: ChannelDbConfig = { backend: 'postgres', url: pg!.url, schema: await pg!.freshSchema() };
    await fillDatabase(source, { channels: 16, revokedStates: 2_000, rounds: 2 });
    const before = await fingerprintOf(source);

    const node = await openChannelDb(source);
    try {
      await expect(migrateChannelDb({ from: source, to: { backend: 'lmdb', path: join(dir, 'locked') } })).rejects.toMatchObject({ code: ErrorCode.DB_LOCKED });
    } finally {
      await node.close();
    }

    const target: ChannelDbConfig = { backend: 'lmdb', path: join(dir, 'lmdb') };
    const report = await migrateChannelDb({ from: source, to: target, batchSize: 700 });
    expect(report.source.counts.revocationLogEntries).toBe(report.copied.revocationLogEntry);
    expect(await fingerprintOf(source)).toBe(before);
    expect(await expectSameDatabases(source, target)).toBe(report.verified);

    // A dry run into a schema that does not exist yet says it would be created, and creates nothing.
    const fresh: ChannelDbConfig = { backend: 'postgres', url: pg!.url, schema: `never_${Date.now()}` };
    expect((await migrateChannelDb({ from: target, to: fresh, dryRun: true })).target.state).toBe('new');
    await expect(migrateChannelDb({ from: fresh, to: { backend: 'sqlite', path: join(dir, 'none') } })).rejects.toMatchObject({ code: ErrorCode.DB_NOT_INITIALIZED });
  }, 180_000);
});
