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
 *
 * Faults: a server that stops or restarts makes every connection emit `'error'`. Each
 * pooled client gets a listener (an unhandled `'error'` event would kill the process), and a
 * client that broke is released to the pool with its error, so the pool discards it instead
 * of handing it out again; the next transaction connects afresh. The failed call sees
 * DB_UNAVAILABLE (DB_COMMIT_UNKNOWN if COMMIT was in flight) via `faultOf`.
 *
 * Single writer (`singleWriter`): one dedicated connection holds a session advisory lock on
 * (database, schema) for the backend's lifetime, so a second node opening the same tables
 * fails with DB_LOCKED. If that connection drops (server restart), the next transaction
 * reacquires the lock before running; if another process took it meanwhile, the backend is
 * fenced for good: every later call fails with DB_LOCKED. The loss is noticed when pg
 * reports the lock connection's end; a transaction already running when only that one
 * connection is cut (an administrator terminating it) still finishes. A server restart cuts
 * every connection at once, so no write of ours outlives the lock.
 */
import { createHash } from 'node:crypto';
import { CompiledQuery, Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { ChandError, ErrorCode } from '../errors.js';
import { PREPARED_MARKER } from './prepared.js';
import type { Database } from './schema.js';
import { redactUrl } from './url.js';
import { DEFAULT_RETRY, DEFER_MARKER, SqlBackend, type BatchRunner, type RetryPolicy, type SqlCapabilities, type SqlFault, type SqlTx } from './transactions.js';

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
  /**
   * Hold the single-writer advisory lock of (database, schema) while open (see the module
   * comment); DB_LOCKED if another process holds it. Default false (tests, tools).
   */
  readonly singleWriter?: boolean;
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
  // Writers run concurrently on their own connections; PostgreSQL commits each on its own.
  groupCommit: false,
  async tableExists(tx, name) {
    const { rows } = await sql<{ present: boolean }>`select to_regclass(${name}) is not null as present`.execute(tx);
    return rows[0]?.present === true;
  },
  isRetryable(err) {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
  },
  faultOf: postgresFaultOf,
};

/** Socket error codes meaning the server cannot be reached or the connection broke. */
const NETWORK_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** SQLSTATEs of a server going away or not taking connections: admin/crash shutdown, starting up, too many connections. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** pg's own messages for a connection that ended under it (these errors carry no code). */
const LOST_CONNECTION = /connection terminated|not queryable|connection timeout|timeout exceeded when trying to connect|terminating connection/i;

/**
 * The storage fault a pg error reports: SQLSTATE class 08 (connection exception), a
 * shutdown or startup state, a socket error or a connection pg saw end → unavailable;
 * 53100 disk_full → full; XX001/XX002 (data or index corrupted) → corrupt.
 */
export function postgresFaultOf(err: unknown): SqlFault | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || NETWORK_ERRNOS.has(code)) return 'unavailable';
    if (code === '53100') return 'full';
    if (code === 'XX001' || code === 'XX002') return 'corrupt';
    return undefined;
  }
  return err instanceof Error && LOST_CONNECTION.test(err.message) ? 'unavailable' : undefined;
}

/** The URL without user info, for messages (re-exported from url.ts, which needs no driver). */
export { redactUrl };

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** pg's type parsers, except INT8 (OID 20) as BigInt. Scoped to one pool. */
const poolTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 && format !== 'binary') return (value: string) => BigInt(value);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
};

/**
 * The type parsers of listing queries (batches read as arrays, transactions.ts BatchRunner):
 * INT8 values that are safe integers come back as numbers, the others as BigInt. A BigInt
 * per integer column is most of what a listing of thousands of channels allocates, and its
 * readers take either (columns.ts).
 */
const listingTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 && format !== 'binary') {
      return (value: string) => {
        const n = Number(value);
        return Number.isSafeInteger(n) ? n : BigInt(value);
      };
    }
    return poolTypes.getTypeParser(oid, format);
  },
};

/** Asked of a pooled client (never sent to the server), answers with the client's batch runner. */
const BATCH_RUNNER = '/* chand: batch runner */';

/** Commands whose row count Kysely reports as affected rows. */
const AFFECTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** `value` as an SQL literal of the simple query protocol (the types the stores bind). */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`expected a finite number to bind, got ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Uint8Array) return `'\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}'::bytea`;
  // standard_conforming_strings (the default since PostgreSQL 9.1): only quotes are special.
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  throw new TypeError(`expected a number, bigint, boolean, string or bytes to bind, got ${typeof value}`);
}

/** `text` with its $n placeholders replaced by the literals of `values`. */
function inlined(text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_m, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= values.length) throw new RangeError(`expected a value for placeholder $${n}, got ${values.length} values`);
    return literal(values[i]);
  });
}

/**
 * The pool as Kysely sees it, with two differences:
 * - statements marked as prepared (prepared.ts) run as named server-side prepared
 *   statements, so each connection parses and plans them once. Names derive from the SQL
 *   text, so the same text always has the same name and different texts never share one;
 * - a client's batch runner (transactions.ts BatchRunner) sends several statements, values
 *   inlined as literals, in ONE simple query, and returns each one's result;
 * - statements marked as deferred (transactions.ts DEFER_MARKER: BEGIN, and writes whose
 *   result nobody reads) are held back and sent, values inlined as literals, in ONE simple
 *   query together with the next statement — typically the COMMIT — so a transaction's
 *   writes cost one round trip, not one each. PostgreSQL runs the statements of such a
 *   query in order and stops at the first error, which the caller of that next statement
 *   gets.
 */
function namingPool(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (name === undefined) names.set(text, (name = `chand_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`));
    return name;
  };
  // Clients whose connection broke, with the error: released with it, so the pool drops them.
  const broken = new WeakMap<pg.PoolClient, Error>();
  const listening = new WeakSet<pg.PoolClient>();
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      if (!listening.has(client)) {
        listening.add(client);
        // While checked out the pool does not listen; without this an 'error' event
        // (server shutdown) would be unhandled and end the process. The query in flight
        // fails on its own and reports the fault to its caller.
        client.on('error', (err) => broken.set(client, err));
      }
      let deferred: string[] = [];
      const send = async (statements: string[], arrays = false): Promise<pg.QueryResult[]> => {
        try {
          const text = statements.join(';\n');
          const results = (await (arrays ? client.query({ text, rowMode: 'array', types: listingTypes as never }) : client.query(text))) as unknown as pg.QueryResult | pg.QueryResult[];
          return Array.isArray(results) ? results : [results];
        } catch (err) {
          if (postgresFaultOf(err) === 'unavailable') broken.set(client, err as Error);
          throw err;
        }
      };
      // This client's batch runner (transactions.ts), handed to the backend by BATCH_RUNNER.
      const batch: BatchRunner = async (queries, arrays = false) => {
        const held = deferred.length;
        const statements = [...deferred, ...queries.map((q) => inlined(q.sql, q.parameters))];
        deferred = [];
        const results = await send(statements, arrays);
        return results.slice(held).map((r) => ({ rows: r.rows ?? [], ...(AFFECTING.has(r.command) ? { numAffectedRows: BigInt(r.rowCount ?? 0) } : {}) }));
      };
      const query = async (text: string, values: unknown[]) => {
        if (text === BATCH_RUNNER) return { command: 'SELECT', rowCount: 1, rows: [batch] };
        if (text.startsWith(DEFER_MARKER)) {
          deferred.push(inlined(text, values));
          return { command: 'DEFERRED', rowCount: 0, rows: [] };
        }
        // A rollback drops what was held back (a BEGIN never sent makes it a harmless no-op).
        if (deferred.length > 0 && /^\s*rollback\s*$/i.test(text)) deferred = [];
        try {
          if (deferred.length > 0) {
            const statements = [...deferred, inlined(text, values)];
            deferred = [];
            const results = await send(statements);
            return results[results.length - 1];
          }
          return await (text.startsWith(PREPARED_MARKER) ? client.query({ name: nameOf(text), text, values }) : client.query(text, values));
        } catch (err) {
          if (postgresFaultOf(err) === 'unavailable') broken.set(client, err as Error);
          throw err;
        }
      };
      return {
        query: query as unknown as PostgresPoolClient['query'],
        release: () => {
          deferred = [];
          client.release(broken.get(client));
        },
      };
    },
    end: () => pool.end(),
  };
}

/** The single-writer lock key: one per (database, schema); databases scope advisory locks. */
const WRITER_LOCK = "select pg_try_advisory_lock(hashtext('chand_writer'), hashtext(current_schema())) as locked";

/**
 * Holds the single-writer session lock on a dedicated connection; `ensure` (run before every
 * transaction) is free while the lock is held and reacquires it after the connection dropped.
 */
class WriterLock {
  private client: pg.Client | undefined;
  private reacquiring: Promise<void> | undefined;
  private fenced: ChandError | undefined;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly label: string,
  ) {}

  /** Takes the lock: DB_LOCKED if another session holds it, DB_UNAVAILABLE if the server cannot be reached. */
  async acquire(): Promise<void> {
    const client = new pg.Client(this.config);
    // Registered before connecting: a drop at any time must not become an unhandled event.
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>(WRITER_LOCK);
      if (rows[0]?.locked !== true) {
        throw new ChandError(ErrorCode.DB_LOCKED, `${this.label} is open in another chand process (its single-writer lock is held)`);
      }
    } catch (err) {
      await client.end().catch(() => {});
      if (err instanceof ChandError) throw err;
      throw new ChandError(ErrorCode.DB_UNAVAILABLE, `${this.label}: cannot take the single-writer lock: ${(err as Error).message}`, { cause: err });
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
  }

  /** Resolves when the lock is held; see the class comment. */
  ensure(): Promise<void> {
    if (this.fenced !== undefined) return Promise.reject(this.fenced);
    if (this.client !== undefined || this.closed) return Promise.resolve();
    this.reacquiring ??= this.acquire()
      .catch((err: unknown) => {
        // Someone else holds it now: they may have written since, so we never write again.
        if (err instanceof ChandError && err.code === ErrorCode.DB_LOCKED) this.fenced = err;
        throw err;
      })
      .finally(() => (this.reacquiring = undefined));
    return this.reacquiring;
  }

  /** Releases the lock (ending its session releases it). Idempotent. */
  async release(): Promise<void> {
    this.closed = true;
    await this.reacquiring?.catch(() => {});
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

/**
 * Opens a pool to the server at `options.url` as a SqlBackend, creating `options.schema` if
 * given. DB_UNAVAILABLE if the server cannot be reached; DB_NOT_INITIALIZED if it refuses
 * the connection otherwise (no such database, role or schema); with `singleWriter`,
 * DB_LOCKED if another process has the tables open.
 */
export async function openPostgresBackend(options: PostgresOptions): Promise<SqlBackend> {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new TypeError(`expected a lowercase schema identifier, got ${JSON.stringify(options.schema)}`);
  }
  const where = redactUrl(options.url);
  const connection = {
    connectionString: options.url,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  };
  const pool = new pg.Pool({ ...connection, max: options.maxConnections ?? 10, types: poolTypes as never });
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
    const code = postgresFaultOf(err) === 'unavailable' ? ErrorCode.DB_UNAVAILABLE : ErrorCode.DB_NOT_INITIALIZED;
    throw new ChandError(code, `cannot use PostgreSQL at ${where}: ${(err as Error).message}`, { cause: err });
  }
  const label = `PostgreSQL ${where}${options.schema === undefined ? '' : ` (schema ${options.schema})`}`;
  let writer: WriterLock | undefined;
  if (options.singleWriter === true) {
    writer = new WriterLock(connection, label);
    try {
      await writer.acquire();
    } catch (err) {
      await pool.end();
      throw err;
    }
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: namingPool(pool) }) });
  const destroy = async () => {
    await db.destroy();
    await writer?.release();
  };
  const batchOf = async (conn: SqlTx) => (await conn.executeQuery<BatchRunner>(CompiledQuery.raw(BATCH_RUNNER))).rows[0];
  return new SqlBackend(db, POSTGRES_CAPABILITIES, label, destroy, options.retry ?? DEFAULT_RETRY, writer === undefined ? undefined : () => writer.ensure(), { batchOf });
}
