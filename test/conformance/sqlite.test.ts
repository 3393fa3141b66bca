import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChannelDb } from '../../src/channeldb/open.js';
import { openMigrationTarget } from '../../src/channeldb/migrate-open.js';
import { runBulkTransferConformance, runChannelStoreConformance, runPaymentStoreConformance } from '../../src/testing/index.js';

runChannelStoreConformance('sqlite', async () => {
  const path = await mkdtemp(join(tmpdir(), 'chand-conformance-'));
  const db = await openChannelDb({ backend: 'sqlite', path });
  return { db, cleanup: async () => (await db.close(), await rm(path, { recursive: true, force: true })) };
});

runBulkTransferConformance('sqlite', async () => {
  const path = await mkdtemp(join(tmpdir(), 'chand-bulk-'));
  const db = await openMigrationTarget({ backend: 'sqlite', path });
  return { db, cleanup: async () => (await db.close(), await rm(path, { recursive: true, force: true })) };
});

runPaymentStoreConformance(
  'sqlite',
  async () => {
    const path = await mkdtemp(join(tmpdir(), 'chand-payments-'));
    const opened: Array<{ close(): Promise<void> }> = [];
    const open = async () => {
      const db = await openChannelDb({ backend: 'sqlite', path });
      opened.push(db);
      return db;
    };
    return { db: await open(), reopen: open, cleanup: async () => (await Promise.all(opened.map((db) => db.close())), await rm(path, { recursive: true, force: true })) };
  },
  { durable: true },
);
