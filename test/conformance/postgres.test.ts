import { describe, it } from 'vitest';
import { openChannelDb } from '../../src/channeldb/open.js';
import { openMigrationTarget } from '../../src/channeldb/migrate-open.js';
import { runBulkTransferConformance, runChannelStoreConformance, runPaymentStoreConformance } from '../../src/testing/index.js';
import { postgresForTests } from '../sql/support/postgres.js';

// One database for this file (dropped after it), one fresh schema per test.
const pg = await postgresForTests('channel store conformance');
if (pg === undefined) describe.skip('channel store conformance: postgres', () => it('needs a PostgreSQL server', () => {}));
else
  runChannelStoreConformance('postgres', async () => {
    const schema = await pg.freshSchema();
    const db = await openChannelDb({ backend: 'postgres', url: pg.url, schema, maxConnections: 4 });
    // The schema goes with the database after the file; dropping each one would only cost time.
    return { db, cleanup: () => db.close() };
  });

if (pg !== undefined) {
  runBulkTransferConformance('postgres', async () => {
    const db = await openMigrationTarget({ backend: 'postgres', url: pg.url, schema: await pg.freshSchema(), maxConnections: 4 });
    return { db, cleanup: () => db.close() };
  });
}

if (pg !== undefined) {
  runPaymentStoreConformance(
    'postgres',
    async () => {
      const schema = await pg.freshSchema();
      const opened: Array<{ close(): Promise<void> }> = [];
      const open = async () => {
        const db = await openChannelDb({ backend: 'postgres', url: pg.url, schema, maxConnections: 4 });
        opened.push(db);
        return db;
      };
      return { db: await open(), reopen: open, cleanup: async () => void (await Promise.all(opened.map((db) => db.close()))) };
    },
    { durable: true },
  );
}
