/**
 * Shared pieces of the migration tests: temporary data directories, filling a source,
 * fingerprints that show a source was not written, and an independent comparison of two
 * databases through the contracts (the record comparer over every channel, and the bulk
 * exports side by side).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, expect } from 'vitest';
import { BULK_SECTIONS, type BulkCursor, type BulkRecord } from '../../src/chanstate/bulk-transfer.js';
import { openMigrationSource, openMigrationTarget, type MigrationEndpoint } from '../../src/channeldb/migrate-open.js';
import { LMDB_FILE, SQLITE_FILE, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { CHAIN_HASHES } from '../../src/linknode/store.js';
import { fillNode, firstDifference, observeAll, observeChannel, type FillOptions, type FillResult } from '../../src/testing/index.js';

/** A fresh temporary directory, removed after the test file. */
export async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `chand-migrate-${label}-`));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Creates the database `config` names and fills it (fillNode); the database is closed afterwards. */
export async function fillDatabase(config: ChannelDbConfig, options: FillOptions): Promise<FillResult> {
  // The migration target opener hands out the bulk facet the fill writes revoked states with.
  const db = await openMigrationTarget(config);
  try {
    return await fillNode(db, options);
  } finally {
    await db.close();
  }
}

/**
 * What a database holds on disk (or on the server), to show that a migration source was
 * not written: the data files of LMDB (channel.lmdb) and SQLite (channel.sqlite and its WAL,
 * an absent WAL counting as an empty one), or an md5 of every table of a PostgreSQL schema.
 * Lock files and SQLite's shared-memory index are not data and are left out.
 */
export async function fingerprintOf(config: ChannelDbConfig): Promise<string> {
  const hash = createHash('sha256');
  if (config.backend === 'lmdb') hash.update(readFileSync(join(config.path, LMDB_FILE)));
  else if (config.backend === 'postgres') {
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    try {
      const schema = config.schema ?? 'public';
      const { rows: tables } = await client.query<{ name: string }>('select table_name as name from information_schema.tables where table_schema = $1 order by table_name', [schema]);
      for (const { name } of tables) {
        const { rows } = await client.query<{ digest: string | null }>(`select md5(string_agg(t::text, '|' order by t::text)) as digest from "${schema}"."${name}" t`);
        hash.update(`${name}=${rows[0]?.digest ?? ''};`);
      }
    } finally {
      await client.end();
    }
  } else if (config.backend !== 'memory') {
    hash.update(readFileSync(join(config.path, SQLITE_FILE)));
    const wal = join(config.path, `${SQLITE_FILE}-wal`);
    if (existsSync(wal)) hash.update(readFileSync(wal));
  }
  return hash.digest('hex');
}

/** Every record of an endpoint's bulk export, in pages of `limit`. */
async function* records(db: MigrationEndpoint, limit: number): AsyncGenerator<BulkRecord[]> {
  for (let cursor: BulkCursor | undefined = { section: BULK_SECTIONS[0]! }; cursor !== undefined; ) {
    const page = await db.bulk.exportPage(cursor, limit);
    yield page.records;
    cursor = page.next;
  }
}

/** Every invoice (or payment) of `db` through listInvoices (listPayments), page by page. */
export async function listAll(db: MigrationEndpoint, what: 'invoices' | 'payments'): Promise<unknown[]> {
  const out: Array<{ addIndex?: number; paymentIndex?: number }> = [];
  for (let after = 0, pages = 0; pages < 10_000; pages++) {
    const page = what === 'invoices' ? await db.invoices.listInvoices({ afterIndex: after, limit: 1_000 }) : await db.payments.listPayments({ afterIndex: after, limit: 1_000 });
    out.push(...page);
    if (page.length < 1_000) return out;
    const last = page.at(-1)!;
    after = 'addIndex' in last ? last.addIndex : last.paymentIndex;
  }
  throw new Error(`${what} did not end`);
}

/**
 * Asserts that databases `a` and `b` hold the same records: every global and per-channel
 * contract read of the record comparer (for every channel point the exports name), the whole
 * revocation log of `logChannels` channels through fetchRevocationLog, and (unless `pages`
 * is false) the bulk exports page by page. Opens both read-only; returns the number of
 * records the exports hold.
 */
export async function expectSameDatabases(a: ChannelDbConfig, b: ChannelDbConfig, options: { pages?: boolean; logChannels?: number } = {}): Promise<number> {
  const [left, right] = [await openMigrationSource(a), await openMigrationSource(b)];
  try {
    let compared = 0;
    const peers = new Set<string>();
    const channels: Array<{ op: { txid: string; index: number }; peer: string; scid: bigint }> = [];
    const rightPages = options.pages === false ? undefined : records(right, 5_000);
    for await (const page of records(left, 5_000)) {
      if (rightPages !== undefined) {
        const other = (await rightPages.next()).value as BulkRecord[] | undefined;
        expect(firstDifference(page, other)).toBeUndefined();
      }
      compared += page.length;
      for (const r of page) {
        if (r.kind === 'linkNode') peers.add(r.node.identityPub);
        if (r.kind === 'channel') channels.push({ op: r.channel.fundingOutpoint, peer: r.channel.identityPub, scid: r.channel.shortChannelId });
        if (r.kind === 'closedChannel') channels.push({ op: r.summary.chanPoint, peer: r.summary.remotePub, scid: r.summary.shortChannelId });
      }
    }
    if (rightPages !== undefined) expect((await rightPages.next()).done).toBe(true);
    const probe = { chainHash: CHAIN_HASHES.regtest, peers: [...peers].sort() };
    expect(firstDifference(await observeAll(left, probe), await observeAll(right, probe))).toBeUndefined();
    // Invoices and payments through their contracts: listed in index order, and the in-flight ones.
    expect(firstDifference(await listAll(left, 'invoices'), await listAll(right, 'invoices'))).toBeUndefined();
    expect(firstDifference(await listAll(left, 'payments'), await listAll(right, 'payments'))).toBeUndefined();
    expect(firstDifference(await left.payments.fetchInFlightPayments(), await right.payments.fetchInFlightPayments())).toBeUndefined();
    for (const { op, peer, scid } of channels) {
      const channelProbe = { peer, finalHtlcScid: scid };
      expect(firstDifference(await observeChannel(left, op, channelProbe), await observeChannel(right, op, channelProbe)), `channel ${op.txid}:${op.index}`).toBeUndefined();
    }
    // Whole revocation logs through the contract, for the channels with the longest ones.
    const tails = await Promise.all(channels.map(async ({ op }) => ({ op, tail: (await left.channelState.revocationLogTailHeight(op).catch(() => undefined)) ?? -1 })));
    for (const { op } of tails.sort((x, y) => y.tail - x.tail).slice(0, options.logChannels ?? 2)) {
      const logOf = async (db: MigrationEndpoint) => {
        const out = [];
        for (let from = 0, pages = 0; pages < 10_000; pages++) {
          const page = await db.channelState.fetchRevocationLog(op, from, 5_000);
          out.push(...page);
          if (page.length < 5_000) return out;
          from = page.at(-1)!.commitHeight + 1;
        }
        throw new Error('revocation log did not end');
      };
      const log = await logOf(left);
      expect(log.length).toBeGreaterThan(0);
      expect(firstDifference(log, await logOf(right))).toBeUndefined();
    }
    return compared;
  } finally {
    await left.close();
    await right.close();
  }
}
