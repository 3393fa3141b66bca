/**
 * `chand node start` as a user runs it, on real processes: a data directory whose channel
 * database was created by an older schema version is migrated before the node serves; an
 * empty data directory gets a seed (mode 0600), an RPC token (0600) and the SQLite database;
 * a second node on the same directory is refused (DB_LOCKED) while the first keeps serving;
 * and mainnet needs an explicit flag.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_FILE } from '../../src/channeldb/open.js';
import { migrateSql, SQL_MIGRATIONS, SQL_SCHEMA_VERSION } from '../../src/sql/migrations.js';
import { openSqliteBackend } from '../../src/sql/sqlite.js';
import { freePort, TestNetwork, TestNode } from '../support/test-network.js';
import { chandSpawnArgs } from '../support/spawn-args.js';

let net: TestNetwork;
let carol: TestNode;
const repoRoot = path.resolve(import.meta.dirname, '../..');

beforeAll(async () => {
  // Carol's datadir starts with a schema-1 database, as an older chand left it.
  net = await TestNetwork.start({ nodes: [] });
  carol = new TestNode(net, 'carol', path.join(net.root, 'carol'), await freePort(), await freePort(), []);
  await mkdir(carol.datadir, { recursive: true, mode: 0o700 });
  const backend = openSqliteBackend({ file: path.join(carol.datadir, SQLITE_FILE) });
  await migrateSql(backend, { migrations: SQL_MIGRATIONS.slice(0, 1) });
  await backend.close();
  await carol.start();
}, 120_000);

afterAll(async () => {
  await carol?.kill('SIGKILL');
  await net?.stop();
});

describe('chand node start', () => {
  it('migrates an older channel database before serving', async () => {
    expect(SQL_SCHEMA_VERSION).toBeGreaterThan(1);
    expect(carol.output).toMatch(new RegExp(`"msg":"migrated the channel database","from":1,"to":${SQL_SCHEMA_VERSION}`));
    const info = await carol.call<{ node_id: string; network: string }>('node_info');
    expect(info.network).toBe('regtest');
  });

  it('creates the seed and the RPC token with mode 0600 on first start', async () => {
    for (const file of ['seed.json', 'rpc.token', 'rpc.json']) {
      const mode = (await stat(path.join(carol.datadir, file))).mode & 0o777;
      expect({ file, mode: mode.toString(8) }).toEqual({ file, mode: '600' });
    }
    expect(carol.output).toContain('"msg":"created a new node seed"');
    expect(carol.output).not.toMatch(/mnemonic|"seed":/i);
  });

  it('refuses a second node on the same data directory, and the first keeps serving', () => {
    const second = spawnSync(process.execPath, chandSpawnArgs('node', 'start', '--datadir', carol.datadir, '--esplora', net.devnetUrl, '--listen', 'off', '--rpc', '127.0.0.1:0'), {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/chand: DB_LOCKED: /);
    return expect(carol.call('node_info')).resolves.toMatchObject({ node_id: carol.nodeId });
  });

  it('refuses mainnet without --allow-mainnet, with one clear line', () => {
    const r = spawnSync(process.execPath, chandSpawnArgs('node', 'start', '--datadir', path.join(net.root, 'main'), '--network', 'mainnet'), {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^chand: MAINNET_NOT_ENABLED: mainnet needs --allow-mainnet/);
  });
});
