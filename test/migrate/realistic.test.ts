// A realistic node (200 channels in every state, 100,000 revoked states, forwarding packages
// in every state, closed channels awaiting the purge, a few thousand invoices in every state
// and payments in every status with their attempts) moves from LMDB to SQLite and to
// PostgreSQL, and back from SQLite to LMDB: each target reads back exactly like its source
// (checked here independently of the migration's own verification), opens as a normal
// database afterwards, and the source is not written.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateChannelDb } from '../../src/channeldb/migrate.js';
import { openChannelDb, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { exclusionReason, registerBackendUnavailable, type FillResult } from '../../src/testing/index.js';
import { postgresForTests } from '../sql/support/postgres.js';
import { expectSameDatabases, fillDatabase, fingerprintOf, tempDir } from './support.js';

const CHANNELS = 200;
const REVOKED_STATES = 100_000;
const INVOICES = 3_000;
const PAYMENTS = 2_000;

const missing = ['lmdb', 'sqlite'].map((b) => [b, exclusionReason(b)] as const).filter(([, why]) => why !== undefined);
for (const [backend, why] of missing) registerBackendUnavailable(backend, 'realistic migration', why!);
const pg = missing.length === 0 ? await postgresForTests('realistic migration to PostgreSQL') : undefined;

describe.skipIf(missing.length > 0)('migrating a realistic node between backends', () => {
  let dir: string;
  let lmdb: ChannelDbConfig;
  let fill: FillResult;
  let sourcePrint: string;

  beforeAll(async () => {
    dir = await tempDir('realistic');
    lmdb = { backend: 'lmdb', path: join(dir, 'lmdb') };
    // noSync only while filling: the fill is test setup, the migrations below run durable.
    fill = await fillDatabase({ ...lmdb, noSync: true }, { channels: CHANNELS, revokedStates: REVOKED_STATES, invoices: INVOICES, payments: PAYMENTS });
    sourcePrint = await fingerprintOf(lmdb);
  }, 180_000);

  it('the fill is the node the issue asks for', async () => {
    const db = await openChannelDb(lmdb, { create: false, migrate: false });
    try {
      const counts = await db.channelState.counts();
      expect(counts.revocationLogEntries).toBe(fill.revokedStates);
      expect(fill.revokedStates).toBeGreaterThanOrEqual(REVOKED_STATES);
      expect(counts.openChannels + counts.pendingChannels + counts.waitingCloseChannels + counts.closedChannels).toBeGreaterThanOrEqual(CHANNELS);
      expect(counts.closedAwaitingPurge).toBeGreaterThan(0);
      expect(counts.closedChannels).toBeGreaterThan(counts.closedAwaitingPurge);
      const states = new Set<number>();
      for (const op of [...fill.byKind['open-rounds'], ...fill.byKind['zero-conf-alias']]) for (const pkg of await db.channelState.loadFwdPkgs(op)) states.add(pkg.state);
      expect([...states].sort()).toEqual([0, 1, 2]);
      expect(new Set((await db.invoices.listInvoices({ limit: 10_000 })).map((i) => i.state))).toEqual(new Set(['open', 'accepted', 'settled', 'canceled']));
      const payments = await db.payments.listPayments({ limit: 10_000 });
      expect(payments.length).toBe(PAYMENTS);
      expect(new Set(payments.map((p) => p.status))).toEqual(new Set(['in_flight', 'succeeded', 'failed']));
    } finally {
      await db.close();
    }
  });

  it('LMDB → SQLite: every record arrives, the target opens, the source is untouched', async () => {
    const sqlite: ChannelDbConfig = { backend: 'sqlite', path: join(dir, 'sqlite') };
    const report = await migrateChannelDb({ from: lmdb, to: sqlite });
    expect(report.copied.revocationLogEntry).toBe(fill.revokedStates);
    expect(report.revocationLogCopy).toBe('blocks');
    expect(report.copied.invoice).toBe(INVOICES);
    expect(report.copied.payment).toBe(PAYMENTS);
    expect(report.verified).toBe(Object.values(report.copied).reduce((a, b) => a + b, 0));
    expect(await fingerprintOf(lmdb)).toBe(sourcePrint);
    // Through the contracts here; the export pages are compared after the round trip below.
    expect(await expectSameDatabases(lmdb, sqlite, { pages: false })).toBe(report.verified);
    const opened = await openChannelDb(sqlite);
    expect((await opened.channelState.counts()).revocationLogEntries).toBe(fill.revokedStates);
    await opened.close();

    // … and back: SQLite → LMDB gives a database equal to the original LMDB one.
    const back: ChannelDbConfig = { backend: 'lmdb', path: join(dir, 'back') };
    const sqlitePrint = await fingerprintOf(sqlite);
    const backReport = await migrateChannelDb({ from: sqlite, to: back });
    // SQLite's blocks may exceed LMDB's block limit: copied state by state.
    expect(backReport.revocationLogCopy).toBe('entries');
    expect(await fingerprintOf(sqlite)).toBe(sqlitePrint);
    expect(await expectSameDatabases(lmdb, back)).toBe(report.verified);
  }, 300_000);

  it.skipIf(pg === undefined)('LMDB → PostgreSQL: every record arrives, the target opens, the source is untouched', async () => {
    const postgres: ChannelDbConfig = { backend: 'postgres', url: pg!.url, schema: await pg!.freshSchema() };
    const report = await migrateChannelDb({ from: lmdb, to: postgres });
    expect(report.copied.revocationLogEntry).toBe(fill.revokedStates);
    expect(report.copied.invoice).toBe(INVOICES);
    expect(report.copied.payment).toBe(PAYMENTS);
    expect(await fingerprintOf(lmdb)).toBe(sourcePrint);
    expect(await expectSameDatabases(lmdb, postgres, { pages: false })).toBe(report.verified);
    const opened = await openChannelDb(postgres);
    expect((await opened.channelState.fetchAllChannels()).length).toBeGreaterThan(0);
    await opened.close();
  }, 300_000);
});
