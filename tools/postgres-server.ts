/**
 * Finding a PostgreSQL server for tests and benchmarks, and throwaway databases on it.
 *
 * Order: `CHAND_PG_URL` if set (a server URL; its database part is ignored), else the CI
 * server on postgres://postgres@127.0.0.1:5432; if that is unreachable, a throwaway cluster started from the local
 * PostgreSQL binaries (initdb + pg_ctl on a free port, trust auth, run as the `postgres`
 * user when we are root) — the recipe of toolchain.md §4. When none works, `findPostgres`
 * resolves to undefined with the reasons, and callers skip loudly.
 *
 * Test and benchmark support only; the node never starts a cluster.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { redactUrl } from '../src/sql/url.js';

/** A reachable server: URLs of its databases, and how to stop it (no-op unless we started it). */
export interface PostgresServer {
  /** Where it came from, for messages. */
  readonly source: string;
  /** The URL of database `name` on this server. */
  url(name: string): string;
  /** Stops a throwaway cluster and deletes its files; nothing for an existing server. */
  stop(): Promise<void>;
}

/** The result of findPostgres: a server, or why there is none. */
export type PostgresLookup = { server: PostgresServer; reasons?: undefined } | { server?: undefined; reasons: string[] };

const CI_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function reachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return `${redactUrl(url)}: ${(err as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  }
  const which = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = which.status === 0 ? which.stdout.trim() : '';
  return dir !== '' && existsSync(join(dir, 'initdb')) ? dir : undefined;
}

/**
 * A throwaway cluster this process started and controls: fault tests stop and restart its
 * server under a connected node. `stop` (from PostgresServer) shuts it down for good and
 * deletes its files.
 */
export interface ThrowawayCluster extends PostgresServer {
  /** The postmaster's PID while it runs (from postmaster.pid), for messages and checks. */
  serverPid(): number | undefined;
  /** `pg_ctl restart -m fast`: every connection is cut, the server is back when it resolves. */
  restart(): Promise<void>;
  /** Stops the server (`-m fast`) but keeps its files, so `start` brings the same data back. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port. */
  start(): Promise<void>;
}

/** Starts a throwaway cluster, or returns why it could not. */
export async function startThrowawayCluster(): Promise<ThrowawayCluster | string> {
  const bin = findBinDir();
  if (bin === undefined) return 'no PostgreSQL binaries (initdb) found';
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { encoding: 'utf8' }) : spawnSync(join(bin, cmd), args, { encoding: 'utf8' });
  const data = mkdtempSync(join(tmpdir(), 'chand-pg-'));
  const cleanup = () => rmSync(data, { recursive: true, force: true });
  if (asRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) return (cleanup(), 'running as root and no postgres user exists');
    chownSync(data, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const init = run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8']);
  if (init.status !== 0) return (cleanup(), `initdb failed: ${init.stderr.trim().split('\n').at(-1)}`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -k ${data}`;
    const ctl = (...args: string[]) => run('pg_ctl', ['-D', data, '-l', join(data, 'server.log'), '-w', '-t', '60', ...args]);
    const start = ctl('-o', serverOptions, 'start');
    if (start.status === 0) {
      const base = `postgres://postgres@127.0.0.1:${port}/postgres`;
      const must = (result: ReturnType<typeof ctl>, what: string) => {
        if (result.status !== 0) throw new Error(`pg_ctl ${what} failed: ${result.stderr.trim().split('\n').at(-1)}`);
      };
      return {
        source: `throwaway cluster on 127.0.0.1:${port}`,
        url: (name) => withDatabase(base, name),
        serverPid() {
          try {
            const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
            return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
          } catch {
            return undefined;
          }
        },
        async restart() {
          must(ctl('-m', 'fast', '-o', serverOptions, 'restart'), 'restart');
        },
        async halt() {
          must(ctl('-m', 'fast', 'stop'), 'stop');
        },
        async start() {
          must(ctl('-o', serverOptions, 'start'), 'start');
        },
        async stop() {
          run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
          cleanup();
        },
      };
    }
  }
  cleanup();
  return 'pg_ctl could not start a cluster on a free port';
}

/** Finds (or starts) a PostgreSQL server; see the module comment for the order. */
export async function findPostgres(): Promise<PostgresLookup> {
  const reasons: string[] = [];
  const configured = process.env['CHAND_PG_URL'];
  for (const base of [configured !== undefined && configured !== '' ? configured : CI_URL]) {
    const failure = await reachable(base);
    if (failure === undefined) return { server: { source: redactUrl(base), url: (name) => withDatabase(base, name), stop: async () => {} } };
    reasons.push(failure);
  }
  const started = await startThrowawayCluster();
  if (typeof started !== 'string') return { server: started };
  reasons.push(started);
  return { reasons };
}

/** A database created for one test file or benchmark run, dropped by `drop`. */
export interface ThrowawayDatabase {
  readonly url: string;
  readonly name: string;
  /** Creates an empty schema in this database and returns its name. */
  freshSchema(): Promise<string>;
  dropSchema(schema: string): Promise<void>;
  /** Drops the database (terminating leftover connections). */
  drop(): Promise<void>;
}

let counter = 0;

/** Creates database chand_test_<random> on `server`. */
export async function createThrowawayDatabase(server: PostgresServer, prefix = 'chand_test'): Promise<ThrowawayDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = async (url: string, statements: string[]) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(server.url('postgres'), [`create database ${name}`]);
  const url = server.url(name);
  return {
    url,
    name,
    async freshSchema() {
      const schema = `s${process.pid}_${++counter}`;
      await admin(url, [`create schema ${schema}`]);
      return schema;
    },
    dropSchema: (schema) => admin(url, [`drop schema if exists ${schema} cascade`]),
    drop: () => admin(server.url('postgres'), [`drop database if exists ${name} with (force)`]),
  };
}
