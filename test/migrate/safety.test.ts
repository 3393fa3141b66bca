// The guard rails of `chand db migrate` (the library function behind it): it refuses a
// source or target a node holds (DB_LOCKED), a target that already holds records, a resumed
// run from another or a changed source, and a target that does not read back like the
// source; an interrupted target cannot be opened by a node until a rerun finishes it; a dry
// run writes nothing; pages are bounded by the batch size.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateChannelDb, type MigrateProgress } from '../../src/channeldb/migrate.js';
import { openMigrationTarget } from '../../src/channeldb/migrate-open.js';
import { openChannelDb, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { ErrorCode } from '../../src/errors.js';
import { exclusionReason, makeLinkNode, registerBackendUnavailable, type FillResult } from '../../src/testing/index.js';
import { expectSameDatabases, fillDatabase, fingerprintOf, tempDir } from './support.js';

/** Thrown from onProgress to stop a run at a chosen page, as a crash would. */
class Stop extends Error {}

const excluded = ['lmdb', 'sqlite'].map((b) => [b, exclusionReason(b)] as const).filter(([, why]) => why !== undefined);
for (const [backend, why] of excluded) registerBackendUnavailable(backend, 'migration safety tests', why!);

describe.skipIf(excluded.length > 0)('chand db migrate: safety', () => {
  let dir: string;
  let source: ChannelDbConfig;
  let fill: FillResult;
  let sourcePrint: string;
  let n = 0;
  const freshTarget = (backend: 'sqlite' | 'lmdb' = 'sqlite'): ChannelDbConfig => ({ backend, path: join(dir, `target-${++n}`) });

  beforeAll(async () => {
    dir = await tempDir('safety');
    source = { backend: 'lmdb', path: join(dir, 'source') };
    fill = await fillDatabase({ ...source, noSync: true }, { channels: 32, revokedStates: 3_000 });
    sourcePrint = await fingerprintOf(source);
  }, 120_000);

  it('copies in pages of at most the batch size, and the result reads back like the source', async () => {
    const target = freshTarget();
    const events: MigrateProgress[] = [];
    const report = await migrateChannelDb({ from: source, to: target, batchSize: 400, onProgress: (p) => events.push(p) });
    const copy = events.filter((e) => e.phase === 'copy');
    expect(copy.length).toBeGreaterThan(3_000 / 400);
    for (let i = 1; i < copy.length; i++) expect(copy[i]!.records - copy[i - 1]!.records).toBeLessThanOrEqual(400);
    expect(events.some((e) => e.phase === 'verify')).toBe(true);
    expect(report.copied.revocationLogEntry).toBe(fill.revokedStates);
    await expectSameDatabases(source, target);
    expect(await fingerprintOf(source)).toBe(sourcePrint);
  });

  it('an interrupted target is refused by openChannelDb (DB_MIGRATION_INCOMPLETE) until a rerun resumes and finishes it', async () => {
    const target = freshTarget('lmdb');
    let pages = 0;
    // Stops after the `page`th page of revoked states.
    const stopAt = (page: number) => (p: MigrateProgress) => {
      if (p.phase === 'copy' && p.section === 'revocationLogEntry' && ++pages === page) throw new Stop();
    };
    await expect(migrateChannelDb({ from: source, to: target, batchSize: 300, onProgress: stopAt(4) })).rejects.toBeInstanceOf(Stop);
    await expect(openChannelDb(target)).rejects.toMatchObject({ code: ErrorCode.DB_MIGRATION_INCOMPLETE });
    // An unfinished target is no migration source either.
    await expect(migrateChannelDb({ from: target, to: freshTarget() })).rejects.toMatchObject({ code: ErrorCode.DB_MIGRATION_INCOMPLETE });

    // The dry run sees where it stands, and writes nothing.
    const targetPrint = await fingerprintOf(target);
    const plan = await migrateChannelDb({ from: source, to: target, dryRun: true });
    expect(plan.target.state).toBe('resume');
    expect(Object.values(plan.copied).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(await fingerprintOf(target)).toBe(targetPrint);

    pages = 0;
    const resumed: MigrateProgress[] = [];
    const report = await migrateChannelDb({ from: source, to: target, batchSize: 300, onProgress: (p) => resumed.push(p) });
    expect(report.resumedAt?.phase).toBe('copy');
    expect(resumed[0]!.resumed).toBe(true);
    // It went on from the stored cursor: the first page of the rerun adds to what was there.
    expect(resumed[0]!.records).toBeGreaterThan(300 * 3);
    expect(report.copied.revocationLogEntry).toBe(fill.revokedStates);
    await expectSameDatabases(source, target);
    const opened = await openChannelDb(target);
    await opened.close();
  });

  it('a target that does not read back like the source fails MIGRATION_VERIFY_FAILED and stays refused', async () => {
    const target = freshTarget();
    await expect(
      migrateChannelDb({
        from: source,
        to: target,
        onProgress: (p) => {
          if (p.phase === 'verify') throw new Stop();
        },
      }),
    ).rejects.toBeInstanceOf(Stop);
    // Damage the copy behind the migration's back, then resume: verification runs again.
    const db = await openMigrationTarget(target);
    const [node] = await db.linkNodes.fetchAllLinkNodes();
    await db.linkNodes.createLinkNodes([{ ...node!, lastSeenMs: node!.lastSeenMs + 1 }]);
    await db.close();
    await expect(migrateChannelDb({ from: source, to: target })).rejects.toMatchObject({ code: ErrorCode.MIGRATION_VERIFY_FAILED, message: expect.stringContaining('lastSeenMs') });
    await expect(openChannelDb(target)).rejects.toMatchObject({ code: ErrorCode.DB_MIGRATION_INCOMPLETE });
  });

  it('refuses a source or a target a node holds (DB_LOCKED), writing nothing', async () => {
    const target = freshTarget();
    const node = await openChannelDb(source, { create: false, migrate: false });
    try {
      await expect(migrateChannelDb({ from: source, to: target })).rejects.toMatchObject({ code: ErrorCode.DB_LOCKED });
    } finally {
      await node.close();
    }
    const onTarget = await openChannelDb(target);
    try {
      await expect(migrateChannelDb({ from: source, to: target })).rejects.toMatchObject({ code: ErrorCode.DB_LOCKED });
    } finally {
      await onTarget.close();
    }
    expect(await fingerprintOf(source)).toBe(sourcePrint);
  });

  it('refuses a target that already holds records (MIGRATION_TARGET_NOT_EMPTY), writing nothing', async () => {
    const target = freshTarget();
    const db = await openChannelDb(target);
    await db.linkNodes.createLinkNodes([makeLinkNode(900)]);
    await db.close();
    const before = await fingerprintOf(target);
    await expect(migrateChannelDb({ from: source, to: target })).rejects.toMatchObject({ code: ErrorCode.MIGRATION_TARGET_NOT_EMPTY });
    await expect(migrateChannelDb({ from: source, to: target, dryRun: true })).rejects.toMatchObject({ code: ErrorCode.MIGRATION_TARGET_NOT_EMPTY });
    expect(await fingerprintOf(target)).toBe(before);
    // A finished migration target is not empty either: running the command again refuses.
    const done = freshTarget();
    await migrateChannelDb({ from: source, to: done });
    await expect(migrateChannelDb({ from: source, to: done })).rejects.toMatchObject({ code: ErrorCode.MIGRATION_TARGET_NOT_EMPTY });
  });

  it('refuses to resume from another source, or from a source that changed since (MIGRATION_SOURCE_MISMATCH)', async () => {
    const target = freshTarget();
    const stop = (p: MigrateProgress) => {
      if (p.phase === 'copy' && p.section === 'revocationLogEntry') throw new Stop();
    };
    await expect(migrateChannelDb({ from: source, to: target, batchSize: 500, onProgress: stop })).rejects.toBeInstanceOf(Stop);
    const other: ChannelDbConfig = { backend: 'sqlite', path: join(dir, 'other-source') };
    await fillDatabase(other, { channels: 16, revokedStates: 10, seed: 7 });
    await expect(migrateChannelDb({ from: other, to: target })).rejects.toMatchObject({ code: ErrorCode.MIGRATION_SOURCE_MISMATCH });

    // The same source, but a node ran on it in between.
    const changing: ChannelDbConfig = { backend: 'sqlite', path: join(dir, 'changing-source') };
    await fillDatabase(changing, { channels: 16, revokedStates: 600, seed: 9 });
    const target2 = freshTarget();
    await expect(migrateChannelDb({ from: changing, to: target2, batchSize: 100, onProgress: stop })).rejects.toBeInstanceOf(Stop);
    const node = await openChannelDb(changing);
    await node.channelState.nextChannelKeyIndex();
    await node.close();
    await expect(migrateChannelDb({ from: changing, to: target2 })).rejects.toMatchObject({ code: ErrorCode.MIGRATION_SOURCE_MISMATCH });
  });

  it('a dry run on a new target says so, and creates nothing', async () => {
    const target = freshTarget();
    const plan = await migrateChannelDb({ from: source, to: target, dryRun: true });
    expect(plan).toMatchObject({ dryRun: true, target: { backend: 'sqlite', state: 'new' }, source: { backend: 'lmdb', counts: { revocationLogEntries: fill.revokedStates } } });
    await expect(openChannelDb(target, { create: false })).rejects.toMatchObject({ code: ErrorCode.DB_NOT_INITIALIZED });
    expect(await fingerprintOf(source)).toBe(sourcePrint);
  });

  it('refuses the same database as source and target', async () => {
    await expect(migrateChannelDb({ from: source, to: { ...source } })).rejects.toBeInstanceOf(RangeError);
  });
});
