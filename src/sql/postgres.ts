/**
 * The PostgreSQL dialect: a `pg` pool under Kysely's PostgresDialect.
 *
 * INT8 columns are parsed as BigInt by the pool's own type set (never pg's global one), so
 * u64 values round-trip exactly and other pg users in the process are unaffected. An
 * optional schema confines every table to one PostgreSQL schema (search_path), which lets
 * tests and tenants share a database.
 *
 * Isolation: channel-scoped writes run READ COMMITTED and lock the rows they
 * read-modify-write (`rowLocks`); cross-row checks (coordinator, link nodes, migrations)
 * run READ COMMITTED under a transaction-scoped advisory lock; reads use one REPEATABLE
 * READ snapshot.
 */
import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { ChandError, ErrorCode } from '../errors.js';
import { PREPARED_MARKER } from './prepared.js';
import type { Database } from './schema.js';
import { DEFAULT_RETRY, SqlBackend, type RetryPolicy, type SqlCapabilities } from './transactions.js';

/** Options of openPostgresBackend. */
export interface PostgresOptions {
  /** Connection URL, e.g. postgres://user@host:5432/db. Credentials never reach a message. */
  readonly url: string;
  /** Keep every table in this schema (created if missing, unless `createSchema` is false). Lowercase identifier. */
  readonly schema?: string;
  /** Create `schema` if missing (default true); false for read-only inspection. */
  readonly createSchema?: boolean;
  /** Pool size. Default 10. */
  readonly maxConnections?: number;
  readonly retry?: RetryPolicy;
}

/** SQLSTATEs of transient conflicts: serialization_failure, deadlock_detected. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/** PostgreSQL's capabilities. */
export const POSTGRES_CAPABILITIES: SqlCapabilities = {
  begin: {
    read: 'begin isolation level repeatable read read only',
    write: 'begin isolation level read committed',
    exclusive: 'begin isolation level read committed',
  },
  rowLocks: true,
  concurrentWriters: true,
  // One lock per schema: databases (and schemas) of other nodes never wait for it.
  exclusiveLock: "select pg_advisory_xact_lock(hashtext('chand_exclusive'), hashtext(current_schema()))",
  bytesType: 'bytea',
  withoutRowId: false,
  autoIdColumn: 'identity',
  async tableExists(tx, name) {
    const { rows } = await sql<{ present: boolean }>`select to_regclass(${name}) is not null as present`.execute(tx);
    return rows[0]?.present === true;
  },
  isRetryable(err) {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
  },
};

/** The URL without user info, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres://<unparsable url>';
  }
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** pg's type parsers, except INT8 (OID 20) as BigInt. Scoped to one pool. */
const poolTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 && format !== 'binary') return (value: string) => BigInt(value);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
};

/**
 * The pool as Kysely sees it, with one difference: statements marked as prepared
 * (prepared.ts) run as named server-side prepared statements, so each connection parses and
 * plans them once. Names derive from the SQL text, so the same text always has the same
 * name and different texts never share one.
 */
function namingPool(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (name === undefined) names.set(text, (name = `chand_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`));
    return name;
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      return {
        query: ((text: string, values: unknown[]) =>
          text.startsWith(PREPARED_MARKER) ? client.query({ name: nameOf(text), text, values }) : client.query(text, values)) as unknown as PostgresPoolClient['query'],
        release: () => client.release(),
      };
    },
    end: () => pool.end(),
  };
}

/**
 * Opens a pool to the server at `options.url` as a SqlBackend, creating `options.schema` if
 * given. DB_NOT_INITIALIZED if the server cannot be reached.
 */
export async function openPostgresBackend(options: PostgresOptions): Promise<SqlBackend> {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new TypeError(`expected a lowercase schema identifier, got ${JSON.stringify(options.schema)}`);
  }
  const where = redactUrl(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    types: poolTypes as never,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  // An idle client that breaks (server restart) is dropped by the pool; the next query
  // reports the failure to its caller. Without a listener the event would kill the process.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    try {
      if (options.schema !== undefined && options.createSchema !== false) await client.query(`create schema if not exists ${options.schema}`);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, `cannot use PostgreSQL at ${where}: ${(err as Error).message}`, { cause: err });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: namingPool(pool) }) });
  const label = `PostgreSQL ${where}${options.schema === undefined ? '' : ` (schema ${options.schema})`}`;
  return new SqlBackend(db, POSTGRES_CAPABILITIES, label, () => db.destroy(), options.retry ?? DEFAULT_RETRY);
}
