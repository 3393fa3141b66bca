// A full disk is DISK_FULL, never a crash and never a half-written transaction: writes fail
// typed while every committed write stays readable, on SQLite and LMDB. On a real full
// filesystem (a tiny tmpfs, when this machine lets us mount one) through openChannelDb, and
// on SQLite also with the file's page limit standing in for the disk.
import { rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openChannelDb, type ChannelDb, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { ErrorCode, isChandError } from '../../src/errors.js';
import { migrateSql } from '../../src/sql/migrations.js';
import { openSqliteBackend } from '../../src/sql/sqlite.js';
import { chanPointOf, exclusionReason, makePendingChannel, registerBackendUnavailable } from '../../src/testing/index.js';
import { mountTinyFs } from './support/tiny-fs.js';

/** Most channels a test writes before the disk must be full (about 3 KB each on a 512 KB disk). */
const MAX_WRITES = 2000;

/** Writes pending channels until one fails; returns how many committed and the failure. */
async function fillUp(db: ChannelDb): Promise<{ committed: number; failure: unknown }> {
  for (let seed = 1; seed <= MAX_WRITES; seed++) {
    try {
      await db.coordinator.syncPendingChannel(makePendingChannel(seed), undefined, 100);
    } catch (failure) {
      return { committed: seed - 1, failure };
    }
  }
  throw new Error(`${MAX_WRITES} channels fit on the tiny disk: it never filled up`);
}

for (const backend of ['sqlite', 'lmdb'] as const) {
  const title = `disk full on a tiny filesystem: ${backend}`;
  const excluded = exclusionReason(backend);
  if (excluded !== undefined) {
    describe(title, () => registerBackendUnavailable(backend, 'disk-full faults', excluded));
    continue;
  }
  describe(title, () => {
    it('writes fail with DISK_FULL; everything committed before stays readable; the store keeps serving reads', async (context) => {
      const fs = mountTinyFs(512 * 1024);
      if (typeof fs === 'string') {
        console.warn(`\n!!! ${title} SKIPPED: ${fs} !!!\n`);
        context.skip();
        return;
      }
      try {
        const config: ChannelDbConfig = backend === 'sqlite' ? { backend: 'sqlite', path: join(fs.dir, 'data') } : { backend: 'lmdb', path: join(fs.dir, 'data') };
        const db = await openChannelDb(config);
        try {
          const { committed, failure } = await fillUp(db);
          expect(isChandError(failure, ErrorCode.DISK_FULL), String((failure as Error)?.stack ?? failure)).toBe(true);
          expect(committed).toBeGreaterThan(0);
          // The failed channel is not there, half or whole; every committed one is, whole.
          const channels = await db.channelState.fetchAllChannels();
          expect(channels.length).toBe(committed);
          expect(await db.channelState.fetchChannel(chanPointOf(committed))).toMatchObject({ fundingOutpoint: chanPointOf(committed) });
          // Still full: another write fails the same way, and reads keep working after it.
          await expect(db.coordinator.syncPendingChannel(makePendingChannel(MAX_WRITES + 1), undefined, 100)).rejects.toMatchObject({ code: ErrorCode.DISK_FULL });
          expect((await db.channelState.fetchAllChannels()).length).toBe(committed);
        } finally {
          await db.close();
        }
        // What was committed survives a reopen.
        const again = await openChannelDb(config, { create: false, migrate: false });
        try {
          expect((await again.channelState.fetchAllChannels()).length).toBeGreaterThan(0);
        } finally {
          await again.close();
        }
      } finally {
        fs.unmount();
      }
    });
  });
}

const sqliteExcluded = exclusionReason('sqlite');
if (sqliteExcluded !== undefined) registerBackendUnavailable('sqlite', 'SQLite page limit', sqliteExcluded);
else {
  describe('disk full by page limit: sqlite', () => {
    it('a write past max_page_count fails with DISK_FULL (cause SQLITE_FULL) and rolls back; reads go on', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'chand-full-'));
      try {
        const file = join(dir, 'channel.sqlite');
        const setup = openSqliteBackend({ file });
        await migrateSql(setup);
        await setup.close();
        const backend = openSqliteBackend({ file, maxPageCount: 1 });
        const pagesNow = await backend.runTx('read', async (tx) => (await sql<{ n: bigint }>`select count(*) as n from pragma_page_count()`.execute(tx)).rows[0]!.n);
        await backend.close();
        const limited = openSqliteBackend({ file, maxPageCount: Number(pagesNow) + 2 });
        try {
          const rows = (from: number) => Array.from({ length: 20 }, (_, i) => ({ pubkey: new Uint8Array(33).fill((from + i) % 256), network: 'regtest', last_seen_ms: from + i }));
          let failure: unknown;
          let written = 0;
          for (let batch = 0; batch < 100 && failure === undefined; batch++) {
            try {
              await limited.runTx('write', async (tx) => {
                await tx.insertInto('link_nodes').values(rows(batch * 20)).execute();
              });
              written += 20;
            } catch (err) {
              failure = err;
            }
          }
          expect(failure).toMatchObject({ code: ErrorCode.DISK_FULL, cause: { code: 'SQLITE_FULL' } });
          const stored = await limited.runTx('read', (tx) => tx.selectFrom('link_nodes').select('pubkey').execute());
          expect(stored.length).toBe(written);
        } finally {
          await limited.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
