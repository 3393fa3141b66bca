import { openChannelDb } from '../../src/channeldb/open.js';
import { openMigrationTarget } from '../../src/channeldb/migrate-open.js';
import { runBulkTransferConformance, runChannelStoreConformance, runPaymentStoreConformance } from '../../src/testing/index.js';

runChannelStoreConformance('memory', async () => {
  const db = await openChannelDb({ backend: 'memory' });
  return { db, cleanup: () => db.close() };
});

runBulkTransferConformance('memory', async () => {
  const db = await openMigrationTarget({ backend: 'memory' });
  return { db, cleanup: () => db.close() };
});

runPaymentStoreConformance(
  'memory',
  async () => {
    const db = await openChannelDb({ backend: 'memory' });
    return { db, cleanup: () => db.close() };
  },
  { durable: false },
);
