/**
 * One SQL transaction per store method, with bounded retry.
 *
 * A SqlBackend wraps a Kysely instance and the capabilities of its dialect (sqlite.ts,
 * postgres.ts build them). Code outside a dialect file never asks which dialect it runs
 * on; it reads a capability instead.
 *
 * Transaction modes:
 * - `read`: a consistent snapshot for several SELECTs (PostgreSQL REPEATABLE READ READ ONLY;
 *   SQLite deferred BEGIN).
 * - `write`: a channel-scoped read-write transaction. On PostgreSQL it runs at READ
 *   COMMITTED and the store locks the rows it read-modify-writes first (the channel row,
 *   forwarding packages) with `FOR UPDATE` (capability `rowLocks`), so concurrent updates
 *   of different channels never conflict. On SQLite it is BEGIN IMMEDIATE: the single
 *   writer lock is taken at begin, so a busy database fails there, before any work.
 * - `exclusive`: checks that span rows no single lock covers (the coordinator's "does the
 *   peer still have channels?", link nodes, migrations) run one at a time: on PostgreSQL at
 *   READ COMMITTED after taking a transaction-scoped advisory lock (capability
 *   `exclusiveLock`; each statement then sees everything committed before the lock was
 *   granted), on SQLite under BEGIN IMMEDIATE, which already serializes every writer.
 *   (SERIALIZABLE isolation would also be correct, but aborts concurrent channel opens
 *   to one peer over shared index pages far more often than a lock makes them wait.)
 *
 * Retry: a transaction that fails with a serialization failure or deadlock (PostgreSQL
 * 40001/40P01) or SQLITE_BUSY is rolled back and its closure run again, at most
 * `maxAttempts` times, with jittered backoff; then DB_SERIALIZATION_RETRIES_EXHAUSTED
 * (cause kept). Closures must therefore read and write only through the transaction
 * handle and return their result: they build no outside state (STYLE.md, lnd #9229).
 *
 * Group commit (capability `groupCommit`, SQLite): write and exclusive transactions that
 * arrive while another is running, or in the same event-loop turn, are run one after the
 * other inside ONE database transaction and made durable by one commit. Each closure runs
 * inside its own SAVEPOINT: one that throws is rolled back to its savepoint and fails alone,
 * while the others go on; none resolves before the shared COMMIT has returned (durable), and
 * if that COMMIT fails, all of them fail with it. A closure still sees exactly the writes of
 * the closures before it, as if they had committed first: batching changes when commits
 * happen, never what a transaction reads or writes. Reads are not batched.
 *
 * Statement runners: a dialect may run the prepared statements of a transaction without
 * Kysely's per-query pipeline (SQLite: the better-sqlite3 statement directly), and may defer
 * statements whose result nobody reads (prepared.ts `defer`) to send them with the next
 * statement (PostgreSQL: one round trip for a whole batch of writes and the COMMIT).
 *
 * Faults: every driver error that leaves the runner is either a ChandError thrown by the
 * closure (passed through unchanged) or mapped here, with the driver error kept as `cause`,
 * through the dialect's `faultOf` capability: damaged files or pages → DB_CORRUPT, no space
 * → DISK_FULL, server gone or connection lost → DB_UNAVAILABLE — except a connection lost
 * while COMMIT was in flight, whose outcome nobody knows: DB_COMMIT_UNKNOWN (callers re-read
 * before retrying). Other driver errors (constraint violations the store did not expect,
 * SQL bugs) pass through raw: they are defects, not conditions to handle.
 */
import { CompiledQuery, sql, type Kysely, type QueryResult } from 'kysely';
import { ChandError, ErrorCode } from '../errors.js';
import type { Database } from './schema.js';

/** The Kysely handle a transaction closure receives (bound to the transaction's connection). */
export type SqlTx = Kysely<Database>;

/** Transaction modes; see the module comment. */
export type TxMode = 'read' | 'write' | 'exclusive';

/**
 * A storage fault a dialect recognises in a driver error: the stored bytes are damaged
 * (`corrupt`), the disk is full (`full`), or the database cannot be reached (`unavailable`).
 */
export type SqlFault = 'corrupt' | 'full' | 'unavailable';

/** What a dialect can do, as flags and statements; the only place dialects differ. */
export interface SqlCapabilities {
  /** Statements opening a transaction of each mode. */
  readonly begin: Readonly<Record<TxMode, string>>;
  /** `SELECT ... FOR UPDATE` is supported (and needed: writers run concurrently). */
  readonly rowLocks: boolean;
  /** Writers run concurrently on several connections (false: one writer at a time). */
  readonly concurrentWriters: boolean;
  /**
   * A statement run first in every `exclusive` transaction so that such transactions (also
   * in other processes) take turns: an advisory lock. Undefined when `begin.exclusive`
   * already excludes every other writer.
   */
  readonly exclusiveLock?: string;
  /** DDL: the column type of byte strings. */
  readonly bytesType: 'blob' | 'bytea';
  /** DDL: the table option for clustered small-row tables, if the dialect has one. */
  readonly withoutRowId: boolean;
  /** DDL: how an auto-assigned integer primary key is declared. */
  readonly autoIdColumn: 'integer-primary-key' | 'identity';
  /** Concurrent write transactions share one durable commit (see the module comment). */
  readonly groupCommit: boolean;
  /** True if a table named `name` exists in the schema the connection works in. */
  tableExists(tx: SqlTx, name: string): Promise<boolean>;
  /** True if `err` is a transient conflict worth running the transaction again for. */
  isRetryable(err: unknown): boolean;
  /** The storage fault `err` reports, or undefined for any other error (see the module comment). */
  faultOf(err: unknown): SqlFault | undefined;
}

const FAULT_CODES: Readonly<Record<SqlFault, ErrorCode>> = {
  corrupt: ErrorCode.DB_CORRUPT,
  full: ErrorCode.DISK_FULL,
  unavailable: ErrorCode.DB_UNAVAILABLE,
};

const FAULT_WORDS: Readonly<Record<SqlFault, string>> = {
  corrupt: 'the database is corrupt',
  full: 'the disk is full',
  unavailable: 'the database is unavailable',
};

/**
 * `err` as the typed error callers see: ChandErrors unchanged, a storage fault as its
 * ChandError (cause kept; `duringCommit` turns a lost connection into DB_COMMIT_UNKNOWN),
 * anything else unchanged.
 */
export function typedSqlError(err: unknown, capabilities: SqlCapabilities, label: string, duringCommit = false): unknown {
  if (err instanceof ChandError) return err;
  const fault = capabilities.faultOf(err);
  if (fault === undefined) return err;
  const detail = err instanceof Error ? err.message : String(err);
  if (fault === 'unavailable' && duringCommit) {
    return new ChandError(ErrorCode.DB_COMMIT_UNKNOWN, `${label}: connection lost during COMMIT; the transaction may or may not have committed (re-read before retrying): ${detail}`, {
      cause: err,
    });
  }
  return new ChandError(FAULT_CODES[fault], `${label}: ${FAULT_WORDS[fault]}: ${detail}`, { cause: err });
}

/** Thrown inside `once` when COMMIT itself failed, so the retry loop knows the phase. */
class CommitFailure {
  constructor(readonly error: unknown) {}
}

/** Bounds of the retry loop. */
export interface RetryPolicy {
  /** Attempts in total, including the first. */
  readonly maxAttempts: number;
  /** Base of the exponential backoff, in ms (doubled per attempt, with jitter, capped at 100 ms). */
  readonly baseDelayMs: number;
}

/** Default retry bounds. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 12, baseDelayMs: 1 };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The comment a statement whose result nobody reads starts with (prepared.ts `defer`, and
 * every BEGIN): a dialect may hold it back and send it together with the next statement
 * (PostgreSQL); to the others it is just a comment.
 */
export const DEFER_MARKER = '/* deferred */ ';

/**
 * Runs one compiled statement on a transaction's connection, bypassing Kysely's pipeline;
 * with `arrays`, a query's rows come back as arrays of its selected columns, in order, and
 * an integer may come back as a number when it is a safe integer (a listing's rows: cheaper
 * than a BigInt each; readers take either, columns.ts).
 */
export type DirectRunner = (query: CompiledQuery, arrays?: boolean) => QueryResult<unknown>;

// The direct runner of each transaction's connection handle (SqlTx), for prepared.ts.
const directRunners = new WeakMap<SqlTx, DirectRunner>();

/** The direct runner of `tx`'s connection, if its dialect has one. */
export function directRunnerOf(tx: SqlTx): DirectRunner | undefined {
  return directRunners.get(tx);
}

/**
 * Runs several statements of a transaction, in order, in one round trip to the server;
 * fails with the first statement's error (those after it do not run). With `arrays`, rows
 * come back as arrays of the selected columns, in order, integers as numbers where safe (as
 * DirectRunner's).
 */
export type BatchRunner = (queries: readonly CompiledQuery[], arrays?: boolean) => Promise<QueryResult<unknown>[]>;

// The batch runner of each transaction's connection handle, for prepared.ts.
const batchRunners = new WeakMap<SqlTx, BatchRunner>();

/** The batch runner of `tx`'s connection, if its dialect has one. */
export function batchRunnerOf(tx: SqlTx): BatchRunner | undefined {
  return batchRunners.get(tx);
}

/**
 * What a dialect adds to the transaction runner: a direct runner for every connection, or a
 * way to find the batch runner of a connection (asked once per transaction).
 */
export interface StatementRunners {
  readonly direct?: DirectRunner;
  readonly batchOf?: (conn: SqlTx) => Promise<BatchRunner | undefined>;
}

/** Most closures one group commit takes (the rest wait for the next). */
const MAX_GROUP = 256;

/** A write transaction waiting for a group commit. */
interface GroupJob {
  readonly fn: (tx: SqlTx) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  attempt: number;
}

/**
 * An open SQL database: Kysely, capabilities and the transaction runner. Stores, the
 * coordinator and migrations share one backend; `close` waits for running transactions.
 */
export class SqlBackend {
  private closedFlag = false;
  private readonly running = new Set<Promise<unknown>>();
  /** Transactions retried since open (for benchmarks and diagnostics). */
  retries = 0;

  private readonly waiting: GroupJob[] = [];
  private grouping = false;
  private groupScheduled = false;

  constructor(
    readonly db: Kysely<Database>,
    readonly capabilities: SqlCapabilities,
    /** A short description for messages (never holds credentials). */
    readonly label: string,
    private readonly destroy: () => Promise<void>,
    readonly retry: RetryPolicy = DEFAULT_RETRY,
    /**
     * Run before every transaction; its rejection fails the call (a dialect checks here that
     * it still holds the single-writer lock, reacquiring it after a lost connection).
     */
    private readonly beforeTx?: () => Promise<void>,
    /** The dialect's statement runners (see the module comment), if it has any. */
    private readonly runners: StatementRunners = {},
  ) {}

  private get direct(): DirectRunner | undefined {
    return this.runners.direct;
  }

  /** Registers the dialect's runners for the connection handle of a transaction. */
  private async attach(conn: SqlTx): Promise<void> {
    if (this.runners.direct !== undefined) directRunners.set(conn, this.runners.direct);
    if (this.runners.batchOf !== undefined) {
      const batch = await this.runners.batchOf(conn);
      if (batch !== undefined) batchRunners.set(conn, batch);
    }
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Runs `fn` in one transaction of `mode` and commits it; rolls back and rethrows if `fn`
   * throws. Retries transient conflicts (see the module comment). STORE_CLOSED after close.
   */
  runTx<T>(mode: TxMode, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    if (this.closedFlag) return Promise.reject(new ChandError(ErrorCode.STORE_CLOSED, `the ${this.label} database is closed`));
    const run = mode !== 'read' && this.capabilities.groupCommit ? this.grouped(fn) : this.attempts(mode, fn);
    this.running.add(run);
    const forget = () => this.running.delete(run);
    run.then(forget, forget);
    return run;
  }

  private async attempts<T>(mode: TxMode, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const { maxAttempts, baseDelayMs } = this.retry;
    if (this.beforeTx !== undefined) await this.beforeTx();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(mode, fn);
      } catch (caught) {
        const duringCommit = caught instanceof CommitFailure;
        const err = duringCommit ? caught.error : caught;
        if (!this.capabilities.isRetryable(err)) throw typedSqlError(err, this.capabilities, this.label, duringCommit);
        if (attempt >= maxAttempts) {
          throw new ChandError(
            ErrorCode.DB_SERIALIZATION_RETRIES_EXHAUSTED,
            `${this.label}: transaction still conflicting after ${attempt} attempts`,
            { cause: err },
          );
        }
        this.retries++;
        const cap = Math.min(100, baseDelayMs * 2 ** (attempt - 1));
        await sleep(cap / 2 + Math.random() * (cap / 2));
      }
    }
  }

  private once<T>(mode: TxMode, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await this.attach(conn);
      // Deferred: where the dialect defers, BEGIN travels with the transaction's first statement.
      await sql.raw(DEFER_MARKER + this.capabilities.begin[mode]).execute(conn);
      let result: T;
      try {
        if (mode === 'exclusive' && this.capabilities.exclusiveLock !== undefined) await sql.raw(this.capabilities.exclusiveLock).execute(conn);
        result = await fn(conn);
      } catch (err) {
        await rollbackQuietly(conn, err);
        throw err;
      }
      try {
        await sql.raw('commit').execute(conn);
      } catch (err) {
        // A failed COMMIT may leave the transaction open (SQLite busy): end it before the
        // connection is reused.
        await rollbackQuietly(conn, err);
        throw new CommitFailure(err);
      }
      return result;
    });
  }

  // --- group commit (see the module comment) -------------------------------------------

  private grouped<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ fn, resolve: resolve as (value: unknown) => void, reject, attempt: 1 });
      this.scheduleGroup();
    });
  }

  /** Starts a group after the current event-loop turn, so everything issued in it joins. */
  private scheduleGroup(): void {
    if (this.groupScheduled || this.grouping) return;
    this.groupScheduled = true;
    setImmediate(() => {
      this.groupScheduled = false;
      void this.runGroups();
    });
  }

  private async runGroups(): Promise<void> {
    this.grouping = true;
    try {
      while (this.waiting.length > 0) await this.runGroup(this.waiting.splice(0, MAX_GROUP));
    } finally {
      this.grouping = false;
      if (this.waiting.length > 0) this.scheduleGroup();
    }
  }

  /** Runs `jobs` in one transaction and settles each; never rejects. */
  private async runGroup(jobs: GroupJob[]): Promise<void> {
    const done: Array<{ job: GroupJob; value: unknown }> = [];
    const failed: Array<{ job: GroupJob; err: unknown }> = [];
    let batchError: { err: unknown; duringCommit: boolean } | undefined;
    try {
      if (this.beforeTx !== undefined) await this.beforeTx();
      await this.db.connection().execute(async (conn) => {
        const direct = this.direct;
        await this.attach(conn);
        const run = direct === undefined ? (text: string) => sql.raw(text).execute(conn) : async (text: string) => direct(CompiledQuery.raw(text));
        await run(this.capabilities.begin.write);
        // A lone closure needs no savepoint: its failure rolls the transaction back.
        const savepoints = jobs.length > 1;
        try {
          for (const job of jobs) {
            if (savepoints) await run('savepoint chand_job');
            try {
              const value = await job.fn(conn);
              if (savepoints) await run('release chand_job');
              done.push({ job, value });
            } catch (err) {
              if (!savepoints) throw err;
              await run('rollback to chand_job');
              await run('release chand_job');
              failed.push({ job, err });
            }
          }
        } catch (err) {
          await rollbackQuietly(conn, err);
          if (!savepoints) failed.push({ job: jobs[0]!, err });
          else batchError = { err, duringCommit: false };
          return;
        }
        try {
          await run('commit');
        } catch (err) {
          await rollbackQuietly(conn, err);
          batchError = { err, duringCommit: true };
        }
      });
    } catch (err) {
      batchError = { err, duringCommit: false };
    }
    if (batchError !== undefined) {
      // Nothing of the group was committed: every closure that had run fails (or retries) with it.
      for (const { job } of done) this.settleFailure(job, batchError.err, batchError.duringCommit);
      const ran = new Set([...done.map((d) => d.job), ...failed.map((f) => f.job)]);
      for (const job of jobs) if (!ran.has(job)) this.settleFailure(job, batchError.err, batchError.duringCommit);
    } else {
      for (const { job, value } of done) job.resolve(value);
    }
    for (const { job, err } of failed) this.settleFailure(job, err, false);
  }

  /** Fails `job` with `err` as a transaction of its own would, or runs it again when `err` is a transient conflict. */
  private settleFailure(job: GroupJob, err: unknown, duringCommit: boolean): void {
    if (!this.capabilities.isRetryable(err)) return job.reject(typedSqlError(err, this.capabilities, this.label, duringCommit));
    if (job.attempt >= this.retry.maxAttempts) {
      return job.reject(new ChandError(ErrorCode.DB_SERIALIZATION_RETRIES_EXHAUSTED, `${this.label}: transaction still conflicting after ${job.attempt} attempts`, { cause: err }));
    }
    this.retries++;
    const cap = Math.min(100, this.retry.baseDelayMs * 2 ** (job.attempt - 1));
    job.attempt++;
    setTimeout(() => {
      this.waiting.push(job);
      this.scheduleGroup();
    }, cap / 2 + Math.random() * (cap / 2));
  }

  /** Closes the database after running transactions settle. Idempotent. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    await Promise.allSettled([...this.running]);
    await this.destroy();
  }
}

/**
 * Rolls back after `cause`. A rollback failure is attached to the original error (which is
 * what the caller must see) rather than replacing it.
 */
async function rollbackQuietly(conn: SqlTx, cause: unknown): Promise<void> {
  try {
    await sql.raw('rollback').execute(conn);
  } catch (rollbackErr) {
    if (cause instanceof Error && !('rollbackError' in cause)) {
      Object.defineProperty(cause, 'rollbackError', { value: rollbackErr, enumerable: false });
    }
  }
}
