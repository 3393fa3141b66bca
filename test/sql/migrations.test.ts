// SQL migrations on both dialects: fresh databases reach the latest version, steps apply in
// one transaction (before → migrate → after), newer databases are refused, dry runs write
// nothing, two processes migrating at once take turns, and inspection shows what is pending.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openChannelDb, readMigrationStatus, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { ErrorCode } from '../../src/errors.js';
import { openPostgresBackend } from '../../src/sql/postgres.js';
import { migrateSql, readSqlSchemaVersion, SQL_MIGRATIONS, SQL_SCHEMA_VERSION, type SqlMigration } from '../../src/sql/migrations.js';
import type { SqlBackend } from '../../src/sql/transactions.js';
import { createSqlChannelStateStore } from '../../src/sql/channel-state-store.js';
import { SqlCoordinator } from '../../src/sql/coordinator.js';
import { SqlLinkNodeStore } from '../../src/sql/link-node-store.js';
import { addChannel, expectCode, makeChannel, makeCloseSummary, modelOf, PaymentRound, type ConformanceDb } from '../../src/testing/index.js';
import { OUTPUT_INDEX_NONE, type ChannelCommitment, type OpenChannel } from '../../src/chanstate/types.js';
import { sqlBackendKinds } from './support/backends.js';
import { undoCompactLog, undoPaymentStores } from './support/old-schema.js';
import { putRevokedState } from '../../src/sql/commitments.js';
import { detHex, htlcRefOf, makeAttempt, makeNewInvoice, makeNewPayment } from '../../src/testing/index.js';
import type { RevocationLogEntry } from '../../src/chanstate/types.js';

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

/** The SQL stores over `backend` (at the latest schema). */
function storesOf(backend: SqlBackend): ConformanceDb {
  return { channelState: createSqlChannelStateStore(backend), linkNodes: new SqlLinkNodeStore(backend), coordinator: new SqlCoordinator(backend), close: () => backend.close() };
}

/**
 * The before → migrate → after helper: brings a database to schema `from` holding the data
 * `fill` writes, runs the migrations after `from`, and hands the migrated database to
 * `check`. `fill` writes through the latest stores; the columns and tables later migrations
 * added are then dropped (`undo`, newest first), leaving exactly the rows schema `from`
 * code would have written, since those migrations only added columns and tables.
 */
async function migratedFrom(
  backend: SqlBackend,
  from: number,
  fill: (db: ConformanceDb) => Promise<void>,
  undo: (tx: Parameters<Parameters<SqlBackend['runTx']>[1]>[0]) => Promise<void>,
): Promise<void> {
  await migrateSql(backend);
  await fill(storesOf(backend));
  await backend.runTx('exclusive', async (tx) => {
    await undo(tx);
    await tx.deleteFrom('chand_migrations').where('version', '>', from).execute();
  });
  expect(await version(backend)).toBe(from);
  const report = await migrateSql(backend);
  expect(report.applied.map((m) => m.version)).toEqual(SQL_MIGRATIONS.filter((m) => m.version > from).map((m) => m.version));
}

/** What schema 1 stored of a commitment: no output indexes. */
function withoutOutputIndexes(c: ChannelCommitment): ChannelCommitment {
  const { localOutputIndex: _l, remoteOutputIndex: _r, ...rest } = c;
  return rest;
}

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

  it('migration 2 on a schema-1 database with channels: key-index counter past every used index, checksums for old rows, output indexes NULL', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      const channels: OpenChannel[] = [];
      let revoked: Awaited<ReturnType<PaymentRound['run']>> | undefined;
      await migratedFrom(
        backend,
        1,
        async (db) => {
          // Key indexes are the seeds: 7, 41 (closed later) and 12.
          for (const seed of [7, 41, 12]) channels.push(await addChannel(db, makeChannel(seed, {}, { htlcs: 2, dust: 1 })));
          revoked = await new PaymentRound(modelOf(channels[0]!), { remoteAdds: 1, htlcs: 2, dust: 0 }).run(db.channelState);
          await db.channelState.closeChannel(channels[1]!.fundingOutpoint, makeCloseSummary(channels[1]!));
        },
        async (tx) => {
          await undoPaymentStores(tx);
          await undoCompactLog(tx, backend.capabilities);
          await tx.schema.dropIndex('channels_revocation_key_index_key').execute();
          await tx.schema.dropTable('chand_counters').execute();
          for (const column of ['crc', 'remote_output_index', 'local_output_index']) await tx.schema.alterTable('commitments').dropColumn(column).execute();
          for (const table of ['htlcs', 'revocation_log', 'revocation_states', 'revocation_secrets']) await tx.schema.alterTable(table).dropColumn('crc').execute();
        },
      );
      const db = storesOf(backend);
      // The allocator starts past the largest index in use (41), never at one already taken.
      expect(await db.channelState.nextChannelKeyIndex()).toBe(42);
      expect(await db.channelState.nextChannelKeyIndex()).toBe(43);
      // Old rows read back (their checksums were computed by the migration), without output indexes.
      const first = await db.channelState.fetchChannel(channels[0]!.fundingOutpoint);
      expect(first.localCommitment).toEqual(withoutOutputIndexes(revoked!.plan.newLocal));
      expect(first.remoteCommitment).toEqual(withoutOutputIndexes(revoked!.plan.diff.commitment));
      expect(await db.channelState.findPreviousState(channels[0]!.fundingOutpoint, revoked!.plan.revokedHeight)).toEqual(revoked!.plan.logEntry);
      const third = await db.channelState.fetchChannel(channels[2]!.fundingOutpoint);
      expect(third).toEqual({ ...channels[2]!, localCommitment: withoutOutputIndexes(channels[2]!.localCommitment), remoteCommitment: withoutOutputIndexes(channels[2]!.remoteCommitment) });
      // Revoking a remote commitment written before schema 2 logs OUTPUT_INDEX_NONE for its main outputs.
      await new PaymentRound(modelOf(first), { remoteAdds: 1, htlcs: 2, dust: 0 }).run(db.channelState);
      expect(await db.channelState.findPreviousState(first.fundingOutpoint, first.remoteCommitment.commitHeight)).toMatchObject({
        ourOutputIndex: OUTPUT_INDEX_NONE,
        theirOutputIndex: OUTPUT_INDEX_NONE,
      });
      // The unique key index now backs the store's check: a channel reusing index 12 is refused, typed.
      await expectCode(db.coordinator.syncPendingChannel(makeChannel(99, { revocationKeyLocator: { family: 5, index: 12 } }), undefined, 1), ErrorCode.CHANNEL_KEY_INDEX_REUSED);
    } finally {
      await cleanup();
    }
  });

  it('migration 3 on a schema-2 database: every revoked state moves into blocks exactly as the store writes them, readable as before', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      const channels: OpenChannel[] = [];
      const expected = new Map<string, RevocationLogEntry[]>();
      let blocksBefore: unknown[] = [];
      let openBefore: unknown[] = [];
      const snapshot = () =>
        backend.runTx('read', async (tx) => ({
          sealed: (await sql`select channel_id, first_height, state_count, block, crc from revocation_blocks order by channel_id, first_height`.execute(tx)).rows,
          open: (await sql`select channel_id, open_log_block, open_log_block_crc from revocation_states order by channel_id`.execute(tx)).rows,
        }));
      await migratedFrom(
        backend,
        2,
        async (db) => {
          for (const seed of [21, 22, 23]) channels.push(await addChannel(db, makeChannel(seed, {}, { htlcs: 2, dust: 1 })));
          // Payment rounds on one channel (HTLCs in its states), and long bulk logs on two (sealed blocks, more than one keyset batch).
          let model = modelOf(channels[0]!);
          for (let i = 0; i < 3; i++) model = (await new PaymentRound(model, { remoteAdds: 1, htlcs: 3, dust: 0 }).run(db.channelState)).next;
          for (const [c, count] of [[channels[1]!, 700], [channels[2]!, 260]] as const) {
            const id = await backend.runTx('read', async (tx) => Number((await tx.selectFrom('channels').select('id').where('txid', '=', Buffer.from(c.fundingOutpoint.txid, 'hex')).executeTakeFirstOrThrow()).id));
            await backend.runTx('write', async (tx) => {
              for (let h = 5; h < 5 + count; h++) {
                const htlcs = h % 3 === 0 ? [] : [{ paymentHash: detHex(`m3/${Math.floor(h / 4)}`, 32), refundTimeout: 800_000 + Math.floor(h / 4), outputIndex: 2, incoming: h % 2 === 0, amountSat: 5_000n, htlcIndex: Math.floor(h / 4) }];
                await putRevokedState(tx, id, { commitHeight: h, ourOutputIndex: 0, theirOutputIndex: 1, commitTxid: detHex(`m3/${c.fundingOutpoint.txid}/${h}`, 32), ourBalanceMsat: BigInt(h) * 1_000n, theirBalanceMsat: 9n ** 12n - BigInt(h), htlcs });
              }
            });
          }
          // A closed channel's log waits for the purge: it moves too.
          await db.channelState.closeChannel(channels[2]!.fundingOutpoint, makeCloseSummary(channels[2]!));
          for (const c of channels.slice(0, 2)) expected.set(c.fundingOutpoint.txid, await db.channelState.fetchRevocationLog(c.fundingOutpoint, 0, 10_000));
          ({ sealed: blocksBefore, open: openBefore } = await snapshot());
          expect(blocksBefore.length).toBeGreaterThan(2);
        },
        async (tx) => {
          await undoPaymentStores(tx);
          await undoCompactLog(tx, backend.capabilities);
          const rows = await sql<{ n: bigint | number }>`select count(*) as n from revocation_log`.execute(tx);
          expect(Number(rows.rows[0]!.n)).toBe(3 + 700 + 260);
        },
      );
      // The migration wrote byte for byte the blocks the store had written.
      expect(await snapshot()).toEqual({ sealed: blocksBefore, open: openBefore });
      expect(await backend.runTx('read', (tx) => backend.capabilities.tableExists(tx, 'revocation_log'))).toBe(false);
      const db = storesOf(backend);
      for (const c of channels.slice(0, 2)) expect(await db.channelState.fetchRevocationLog(c.fundingOutpoint, 0, 10_000)).toEqual(expected.get(c.fundingOutpoint.txid));
      expect(await db.channelState.counts()).toMatchObject({ revocationLogEntries: 3 + 700 + 260 });
      // And the log goes on where it stopped.
      const model = modelOf(await db.channelState.fetchChannel(channels[0]!.fundingOutpoint));
      const next = await new PaymentRound(model, { remoteAdds: 1, htlcs: 3, dust: 0 }).run(db.channelState);
      expect(await db.channelState.findPreviousState(channels[0]!.fundingOutpoint, next.plan.revokedHeight)).toEqual(next.plan.logEntry);
      while (!(await db.channelState.purgeClosedChannels(50)).done);
      expect(await db.channelState.counts()).toMatchObject({ revocationLogEntries: 3 + 700 + 1 });
    } finally {
      await cleanup();
    }
  });

  it('migration 4 on a schema-3 database: channel data untouched, the payment tables created and usable, through openChannelDb too', async () => {
    const { backend, location, cleanup } = await kind.open();
    try {
      let channel: OpenChannel | undefined;
      let before: OpenChannel | undefined;
      await migratedFrom(
        backend,
        3,
        async (db) => {
          channel = await addChannel(db, makeChannel(31, {}, { htlcs: 2, dust: 1 }));
          await new PaymentRound(modelOf(channel), { remoteAdds: 1, htlcs: 2, dust: 0 }).run(db.channelState);
          before = await db.channelState.fetchChannel(channel.fundingOutpoint);
        },
        async (tx) => {
          await undoPaymentStores(tx);
          for (const table of ['invoices', 'payments', 'payment_attempts']) expect(await backend.capabilities.tableExists(tx, table)).toBe(false);
        },
      );
      for (const table of ['invoices', 'payments', 'payment_attempts']) expect(await backend.runTx('read', (tx) => backend.capabilities.tableExists(tx, table))).toBe(true);
      await backend.close();
      // The migrated database opens as a whole; its channel reads back and the new stores work.
      const db = await openChannelDb(configOf(location, name));
      try {
        expect(db.migration.from).toBe(SQL_SCHEMA_VERSION);
        expect(await db.channelState.fetchChannel(channel!.fundingOutpoint)).toEqual(before);
        const invoice = makeNewInvoice('migrated');
        expect((await db.invoices.addInvoice(invoice)).addIndex).toBe(1);
        expect((await db.invoices.settleInvoice(invoice.paymentHash, 5n, 1, htlcRefOf('migrated'))).settleIndex).toBe(1);
        const payment = makeNewPayment('migrated');
        await db.payments.initPayment(payment);
        await db.payments.registerAttempt(payment.paymentHash, makeAttempt('migrated', 1));
        expect((await db.payments.fetchInFlightPayments()).map((p) => p.attempts.length)).toEqual([1]);
      } finally {
        await db.close();
      }
    } finally {
      await cleanup();
    }
  });

  it.runIf(name === 'postgres')('two processes migrating the same database at once take turns (advisory lock)', async () => {
    const first = await kind.open();
    // Separate pools, as separate processes have. (Through openChannelDb the second would
    // now get DB_LOCKED from the single-writer lock; migrateSql must be safe without it.)
    const others = await Promise.all([1, 2].map(() => openPostgresBackend({ url: first.location.url!, schema: first.location.schema!, maxConnections: 2 })));
    try {
      const reports = await Promise.all([first.backend, ...others].map((backend) => migrateSql(backend)));
      expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 0, SQL_MIGRATIONS.length]);
      expect(await version(others[0]!)).toBe(SQL_SCHEMA_VERSION);
    } finally {
      await Promise.all(others.map((backend) => backend.close()));
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
