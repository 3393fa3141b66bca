import { openChannelDb } from '../../src/channeldb/open.js';
import { runChannelStoreConformance } from '../../src/testing/index.js';

runChannelStoreConformance('memory', async () => {
  const db = await openChannelDb({ backend: 'memory' });
  return { db, cleanup: () => db.close() };
});
