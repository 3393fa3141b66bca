// KV migrations before → migrate → after. Migration 2 (the channel key-index allocator): a
// schema-1 database holding open and closed channels gets every key index claimed and the
// counter started past the highest, so no later channel can reuse one. Migration 4 (the
// compact revocation log): every per-state record moves into blocks.
import { describe, expect, it } from 'vitest';
import { checkedStores } from '../../src/channeldb/open.js';
import { ErrorCode } from '../../src/errors.js';
import { createKvChannelStateStore } from '../../src/kv/channel-state-store.js';
import { KvCoordinator } from '../../src/kv/coordinator.js';
import type { KvEngine } from '../../src/kv/engine.js';
import { CHANNEL_KEY_INDEXES, REVOCATION_BLOCKS, REVOCATION_LOG, REVOCATION_OPEN_BLOCK, byteKey, prefixRange } from '../../src/kv/keys.js';
import { checksummedTx } from '../../src/kv/checksummed-engine.js';
import { putRevokedState } from '../../src/kv/commitments.js';
import { KvLinkNodeStore } from '../../src/kv/link-node-store.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { KV_MIGRATIONS, KV_SCHEMA_VERSION, migrateKv, readSchemaVersion } from '../../src/kv/migrations.js';
import { downgradeKv } from './support/old-schema.js';
import { addChannel } from '../../src/testing/harness.js';
import { detHex, makeChannel, makeCloseSummary, makePendingChannel, modelOf } from '../../src/testing/fixtures.js';
import { htlcRefOf, makeAttempt, makeNewInvoice, makeNewPayment, PaymentRound } from '../../src/testing/index.js';
import { KvInvoiceStore } from '../../src/kv/invoices.js';
import { KvPaymentStore } from '../../src/kv/payments.js';
import { CheckedInvoiceStore, CheckedPaymentStore } from '../../src/payments/checked-store.js';

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

describe('KV migration 4: compact revocation log', () => {
  it('moves every revoked state into blocks exactly as the store writes them, readable as before', async () => {
    const engine = createMemoryEngine();
    await migrateKv(engine);
    const db = stores(engine);
    const channels = [await addChannel(db, makeChannel(21, {}, { htlcs: 2, dust: 1 })), await addChannel(db, makeChannel(22)), await addChannel(db, makeChannel(23))];
    let model = modelOf(channels[0]!);
    for (let i = 0; i < 3; i++) model = (await new PaymentRound(model, { remoteAdds: 1, htlcs: 3, dust: 0 }).run(db.channelState)).next;
    // Long logs (sealed blocks, more than one 1,000-key chunk of the migration), one of a closed channel awaiting the purge.
    for (const [c, count] of [[channels[1]!, 1_300], [channels[2]!, 260]] as const) {
      await engine.update((raw) => {
        const tx = checksummedTx(raw);
        for (let h = 5; h < 5 + count; h++) {
          const htlcs = h % 3 === 0 ? [] : [{ paymentHash: detHex(`m4/${Math.floor(h / 4)}`, 32), refundTimeout: 800_000 + Math.floor(h / 4), outputIndex: 2, incoming: h % 2 === 0, amountSat: 5_000n, htlcIndex: Math.floor(h / 4) }];
          putRevokedState(tx, c.fundingOutpoint, { commitHeight: h, ourOutputIndex: 0, theirOutputIndex: 1, commitTxid: detHex(`m4/${c.fundingOutpoint.txid}/${h}`, 32), ourBalanceMsat: BigInt(h) * 1_000n, htlcs });
        }
      });
    }
    await db.channelState.closeChannel(channels[2]!.fundingOutpoint, makeCloseSummary(channels[2]!));
    const expected = await Promise.all(channels.slice(0, 2).map((c) => db.channelState.fetchRevocationLog(c.fundingOutpoint, 0, 10_000)));
    const blocks = () => engine.read((tx) => [...tx.range(prefixRange(byteKey(REVOCATION_BLOCKS))), ...tx.range(prefixRange(byteKey(REVOCATION_OPEN_BLOCK)))].map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')]));
    const before = await blocks();
    expect(before.length).toBeGreaterThan(3);

    await downgradeKv(engine, 3);
    expect(await engine.read((tx) => [...tx.range(prefixRange(byteKey(REVOCATION_LOG)))].length)).toBe(3 + 1_300 + 260);
    expect(await blocks()).toEqual([]);
    expect(await migrateKv(engine)).toMatchObject({ from: 3, to: KV_SCHEMA_VERSION });

    // Byte for byte the blocks the store had written; the per-state records are gone.
    expect(await blocks()).toEqual(before);
    expect(await engine.read((tx) => [...tx.range(prefixRange(byteKey(REVOCATION_LOG)))].length)).toBe(0);
    for (const [i, c] of channels.slice(0, 2).entries()) expect(await db.channelState.fetchRevocationLog(c.fundingOutpoint, 0, 10_000)).toEqual(expected[i]);
    expect(await db.channelState.counts()).toMatchObject({ revocationLogEntries: 3 + 1_300 + 260 });
    const next = await new PaymentRound(model, { remoteAdds: 1, htlcs: 3, dust: 0 }).run(db.channelState);
    expect(await db.channelState.findPreviousState(channels[0]!.fundingOutpoint, next.plan.revokedHeight)).toEqual(next.plan.logEntry);
    while (!(await db.channelState.purgeClosedChannels(50)).done);
    expect(await db.channelState.counts()).toMatchObject({ revocationLogEntries: 3 + 1_300 + 1 });
    await db.close();
  });
});

describe('KV migration 5: payment stores', () => {
  it('a schema-4 database keeps its channels and gets working invoice and payment stores', async () => {
    const engine = createMemoryEngine();
    await migrateKv(engine);
    const db = stores(engine);
    const channel = await addChannel(db, makeChannel(5));
    const before = await db.channelState.fetchChannel(channel.fundingOutpoint);
    await downgradeKv(engine, 4);
    expect(await engine.read(readSchemaVersion)).toBe(4);
    const report = await migrateKv(engine);
    expect(report).toMatchObject({ from: 4, to: KV_SCHEMA_VERSION });
    expect(report.applied.map((m) => m.version)).toEqual([5]);
    expect(await db.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(before);
    const payments = { invoices: new CheckedInvoiceStore(new KvInvoiceStore(engine)), payments: new CheckedPaymentStore(new KvPaymentStore(engine)) };
    const invoice = makeNewInvoice('kv-m5');
    expect((await payments.invoices.addInvoice(invoice)).addIndex).toBe(1);
    expect((await payments.invoices.settleInvoice(invoice.paymentHash, 1n, 1, htlcRefOf('kv-m5'))).settleIndex).toBe(1);
    const payment = makeNewPayment('kv-m5');
    await payments.payments.initPayment(payment);
    await payments.payments.registerAttempt(payment.paymentHash, makeAttempt('kv-m5', 1));
    expect((await payments.payments.fetchInFlightPayments()).map((p) => p.paymentHash)).toEqual([payment.paymentHash]);
    await db.close();
  });

  it('a database written by this schema refuses an older chand (DB_REVERSION)', async () => {
    const engine = createMemoryEngine();
    await migrateKv(engine);
    await expect(migrateKv(engine, { migrations: KV_MIGRATIONS.filter((m) => m.version < 5) })).rejects.toMatchObject({ code: ErrorCode.DB_REVERSION });
    await engine.close();
  });
});
