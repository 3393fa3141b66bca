// KV migration 2 (the channel key-index allocator), before → migrate → after: a schema-1
// database holding open and closed channels gets every key index claimed and the counter
// started past the highest, so no later channel can reuse one.
import { describe, expect, it } from 'vitest';
import { checkedStores } from '../../src/channeldb/open.js';
import { ErrorCode } from '../../src/errors.js';
import { createKvChannelStateStore } from '../../src/kv/channel-state-store.js';
import { KvCoordinator } from '../../src/kv/coordinator.js';
import type { KvEngine } from '../../src/kv/engine.js';
import { CHANNEL_KEY_INDEXES, byteKey, prefixRange } from '../../src/kv/keys.js';
import { KvLinkNodeStore } from '../../src/kv/link-node-store.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { KV_MIGRATIONS, KV_SCHEMA_VERSION, migrateKv, readSchemaVersion } from '../../src/kv/migrations.js';
import { downgradeKv } from './support/old-schema.js';
import { addChannel } from '../../src/testing/harness.js';
import { makeChannel, makeCloseSummary, makePendingChannel } from '../../src/testing/fixtures.js';

function stores(engine: KvEngine) {
  return { ...checkedStores(createKvChannelStateStore(engine), new KvLinkNodeStore(engine), new KvCoordinator(engine)), close: () => engine.close() };
}

/** A database as schema 1 left it: channels written, but no key-index bucket, counter or checksums. */
async function schema1Database(): Promise<KvEngine> {
  const engine = createMemoryEngine();
  await migrateKv(engine);
  const db = stores(engine);
  await addChannel(db, makeChannel(1, { revocationKeyLocator: { family: 5, index: 12 } }));
  const closed = await addChannel(db, makeChannel(2, { revocationKeyLocator: { family: 5, index: 30 } }));
  await db.channelState.closeChannel(closed.fundingOutpoint, makeCloseSummary(closed, { isPending: false }));
  await addChannel(db, makePendingChannel(3, { revocationKeyLocator: { family: 5, index: 7 } }));
  await downgradeKv(engine, 1);
  return engine;
}

describe('KV migration 2: channel key-index allocator', () => {
  it('claims the key index of every open, pending and closed channel and starts the counter past the highest', async () => {
    const engine = await schema1Database();
    expect(await engine.read(readSchemaVersion)).toBe(1);
    const report = await migrateKv(engine);
    expect(report).toMatchObject({ from: 1, to: KV_SCHEMA_VERSION });
    const claimed = await engine.read((tx) => [...tx.range(prefixRange(byteKey(CHANNEL_KEY_INDEXES)))].map(([k]) => new DataView(k.buffer, k.byteOffset + 1, 4).getUint32(0)));
    expect(claimed).toEqual([7, 12, 30]);
    const db = stores(engine);
    expect(await db.channelState.nextChannelKeyIndex()).toBe(31);
    // The closed channel's index stays taken.
    await expect(db.coordinator.syncPendingChannel(makePendingChannel(4, { revocationKeyLocator: { family: 5, index: 30 } }), undefined, 1)).rejects.toMatchObject({
      code: ErrorCode.CHANNEL_KEY_INDEX_REUSED,
    });
    await db.close();
  });

  it('starts an empty database at 0', async () => {
    const engine = createMemoryEngine();
    await migrateKv(engine, { migrations: KV_MIGRATIONS.slice(0, 1) });
    await migrateKv(engine);
    const db = stores(engine);
    expect(await db.channelState.nextChannelKeyIndex()).toBe(0);
    expect(await db.channelState.nextChannelKeyIndex()).toBe(1);
    await db.close();
  });
});
