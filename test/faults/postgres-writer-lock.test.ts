// PostgreSQL single writer: while a node has a database (schema) open, a second node opening
// it fails with DB_LOCKED; close releases it; a lock connection that drops is taken again
// before the next write, and if another node took it meanwhile the first is fenced for good.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openChannelDb } from '../../src/channeldb/open.js';
import { ErrorCode } from '../../src/errors.js';
import { expectCode, makeLinkNode, makePendingChannel } from '../../src/testing/index.js';
import { postgresForTests } from '../sql/support/postgres.js';

const WHAT = 'PostgreSQL single-writer lock';
const database = await postgresForTests(WHAT);

/** Terminates the session holding the writer lock of `schema`; resolves to how many it ended. */
async function dropLockConnection(url: string, schema: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ ended: boolean }>(
      `select pg_terminate_backend(l.pid) as ended from pg_locks l
        where l.locktype = 'advisory' and l.granted and l.objsubid = 2
          and l.database = (select oid from pg_database where datname = current_database())
          and l.classid::text::bigint = (hashtext('chand_writer')::bigint & 4294967295)
          and l.objid::text::bigint = (hashtext($1)::bigint & 4294967295)`,
      [schema],
    );
    return rows.filter((r) => r.ended).length;
  } finally {
    await admin.end();
  }
}

if (database !== undefined) {
  describe(WHAT, () => {
    it('a second open of the same database and schema fails with DB_LOCKED; another schema opens; close releases', async () => {
      const schema = await database.freshSchema();
      const other = await database.freshSchema();
      const first = await openChannelDb({ backend: 'postgres', url: database.url, schema, maxConnections: 2 });
      try {
        await expectCode(openChannelDb({ backend: 'postgres', url: database.url, schema, maxConnections: 2 }), ErrorCode.DB_LOCKED);
        // Inspection of an open database is refused too, as for a SQLite data directory.
        await expectCode(openChannelDb({ backend: 'postgres', url: database.url, schema }, { create: false, migrate: false }), ErrorCode.DB_LOCKED);
        const elsewhere = await openChannelDb({ backend: 'postgres', url: database.url, schema: other, maxConnections: 2 });
        await elsewhere.close();
        await first.coordinator.syncPendingChannel(makePendingChannel(1), undefined, 100);
      } finally {
        await first.close();
      }
      const second = await openChannelDb({ backend: 'postgres', url: database.url, schema, maxConnections: 2 });
      try {
        expect((await second.channelState.fetchAllChannels()).length).toBe(1);
      } finally {
        await second.close();
      }
    });

    it('a dropped lock connection is reacquired before the next write; if another node took it, the first is fenced (DB_LOCKED)', async () => {
      const schema = await database.freshSchema();
      const first = await openChannelDb({ backend: 'postgres', url: database.url, schema, maxConnections: 2 });
      let second: Awaited<ReturnType<typeof openChannelDb>> | undefined;
      try {
        expect(await dropLockConnection(database.url, schema)).toBe(1);
        // Nobody else wanted it: the next write takes the lock again and goes through.
        await first.linkNodes.createLinkNodes([makeLinkNode(1)]);
        await expectCode(openChannelDb({ backend: 'postgres', url: database.url, schema, maxConnections: 2 }), ErrorCode.DB_LOCKED);

        expect(await dropLockConnection(database.url, schema)).toBe(1);
        second = await openChannelDb({ backend: 'postgres', url: database.url, schema, maxConnections: 2 });
        await second.linkNodes.createLinkNodes([makeLinkNode(2)]);
        await expectCode(first.linkNodes.createLinkNodes([makeLinkNode(3)]), ErrorCode.DB_LOCKED);
        // Fenced for good, even after the other node leaves: it may have changed anything.
        await second.close();
        second = undefined;
        await expectCode(first.linkNodes.fetchAllLinkNodes(), ErrorCode.DB_LOCKED);
      } finally {
        await second?.close();
        await first.close();
      }
    });
  });
}
