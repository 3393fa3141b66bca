/**
 * Statements built with Kysely once and then run many times with new values.
 *
 * Building and compiling a Kysely query costs more CPU than SQLite spends executing a small
 * statement, and the payment hot path runs about thirty statements per round. A prepared
 * statement is built once per dialect with a placeholder object for each argument;
 * Kysely turns every placeholder into a bound parameter, so the compiled SQL is reused and
 * only the parameter list is rebuilt per call. (better-sqlite3 statements are themselves
 * cached by SQL text in sqlite.ts.)
 *
 * Their SQL starts with PREPARED_MARKER (a comment), which tells a driver that the text
 * will recur: the PostgreSQL pool then keeps it as a named server-side prepared statement
 * (parsed and planned once per connection).
 *
 * A builder may use its arguments only as values (comparisons, inserted or set values,
 * limits), never to choose the statement's shape; shapes that vary (the row count of a
 * multi-row insert, a dialect's row locks) get one prepared statement per shape.
 */
import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import { batchRunnerOf, DEFER_MARKER, directRunnerOf, type SqlTx } from './transactions.js';

const SLOT = Symbol('prepared-statement-slot');

/** The comment every prepared statement's SQL starts with. */
export const PREPARED_MARKER = '/* prepared */ ';

interface Slot {
  readonly [SLOT]: number;
}

function isSlot(value: unknown): value is Slot {
  return typeof value === 'object' && value !== null && SLOT in value;
}

interface Compiled {
  readonly query: CompiledQuery;
  /** The same query marked as deferred (transactions.ts DEFER_MARKER). */
  readonly deferred: CompiledQuery;
  /** For each compiled parameter: the argument it takes, or -1 for a constant. */
  readonly argumentOf: readonly number[];
}

/** One statement, compiled once per dialect (per Kysely adapter). */
export class PreparedStatement<A extends readonly unknown[], R> {
  private readonly compiled = new WeakMap<object, Compiled>();

  constructor(
    private readonly arity: number,
    private readonly build: (db: SqlTx, ...args: A) => Compilable<R>,
  ) {}

  private compile(tx: SqlTx): Compiled {
    const adapter = tx.getExecutor().adapter;
    let entry = this.compiled.get(adapter);
    if (entry === undefined) {
      const slots = Array.from({ length: this.arity }, (_, i): Slot => ({ [SLOT]: i }));
      const built = this.build(tx, ...(slots as unknown as A)).compile();
      const query: CompiledQuery = { ...built, sql: PREPARED_MARKER + built.sql };
      entry = { query, deferred: { ...query, sql: DEFER_MARKER + query.sql }, argumentOf: query.parameters.map((p) => (isSlot(p) ? p[SLOT] : -1)) };
      this.compiled.set(adapter, entry);
    }
    return entry;
  }

  /** Runs the statement in `tx` with `args` bound. */
  execute(tx: SqlTx, ...args: A): Promise<QueryResult<R>> {
    const { query, argumentOf } = this.compile(tx);
    const parameters = argumentOf.map((arg, i) => (arg < 0 ? query.parameters[i] : args[arg]));
    const direct = directRunnerOf(tx);
    if (direct !== undefined) {
      try {
        return Promise.resolve(direct({ ...query, parameters }) as QueryResult<R>);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return tx.executeQuery<R>({ ...query, parameters } as CompiledQuery<R>);
  }

  /**
   * Runs the statement in `tx` with `args` bound, for its effect only: the dialect may send it
   * later, together with the transaction's next statement or its COMMIT (one round trip for a
   * batch of writes on PostgreSQL). Its failure then surfaces there, and fails the
   * transaction as any failed statement does.
   */
  defer(tx: SqlTx, ...args: A): Promise<void> {
    const { query, deferred, argumentOf } = this.compile(tx);
    const parameters = argumentOf.map((arg, i) => (arg < 0 ? query.parameters[i] : args[arg]));
    const direct = directRunnerOf(tx);
    if (direct !== undefined) {
      try {
        direct({ ...query, parameters });
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return tx.executeQuery({ ...deferred, parameters }).then(() => undefined);
  }

  /** The statement with `args` bound, for runMany. */
  bind(tx: SqlTx, ...args: A): CompiledQuery<R> {
    const { query, argumentOf } = this.compile(tx);
    return { ...query, parameters: argumentOf.map((arg, i) => (arg < 0 ? query.parameters[i] : args[arg])) } as CompiledQuery<R>;
  }

  /** The rows it returns. */
  async rows(tx: SqlTx, ...args: A): Promise<R[]> {
    return (await this.execute(tx, ...args)).rows;
  }

  /** The first row it returns, or undefined. */
  async first(tx: SqlTx, ...args: A): Promise<R | undefined> {
    return (await this.execute(tx, ...args)).rows[0];
  }

  /** Rows inserted, updated or deleted. */
  async affected(tx: SqlTx, ...args: A): Promise<bigint> {
    return (await this.execute(tx, ...args)).numAffectedRows ?? 0n;
  }
}

/**
 * A prepared statement: `build(db, ...args)` is called once per dialect with placeholders
 * for `args` (its declared parameters after `db` give the count).
 */
export function prepare<A extends readonly unknown[], R>(build: (db: SqlTx, ...args: A) => Compilable<R>): PreparedStatement<A, R> {
  return new PreparedStatement(build.length - 1, build);
}

/**
 * Runs bound statements (PreparedStatement.bind, or any compiled query) in order and returns
 * their results: in one round trip where the dialect batches (PostgreSQL), one after the
 * other otherwise. The first failure rejects, and later statements do not run. With
 * `arrays`, rows are arrays of the selected columns in select-list order, and an integer
 * may be a number (where safe) or a bigint, depending on the dialect.
 */
export async function runMany(tx: SqlTx, queries: readonly CompiledQuery[], arrays = false): Promise<QueryResult<unknown>[]> {
  const direct = directRunnerOf(tx);
  if (direct !== undefined) return queries.map((q) => direct(q, arrays));
  const batch = batchRunnerOf(tx);
  if (batch !== undefined) return batch(queries, arrays);
  const out: QueryResult<unknown>[] = [];
  for (const q of queries) {
    const result = await tx.executeQuery(q);
    // Both drivers keep an object's keys in select-list order.
    out.push(arrays ? { ...result, rows: (result.rows as Record<string, unknown>[]).map((r) => Object.values(r)) } : result);
  }
  return out;
}

/** Rows per multi-row INSERT: far below both dialects' bound-parameter limits. */
export const INSERT_CHUNK = 500;

/**
 * A multi-row INSERT of `columns` into a table, prepared once per row count (chunked at
 * INSERT_CHUNK rows). `build(db, rows)` builds the insert for placeholder rows.
 */
export class PreparedInsert<Row extends Record<string, unknown>> {
  private readonly byCount = new Map<number, PreparedStatement<readonly unknown[], unknown>>();

  constructor(
    private readonly columns: readonly (keyof Row & string)[],
    private readonly build: (db: SqlTx, rows: Row[]) => Compilable<unknown>,
  ) {}

  private statement(count: number): PreparedStatement<readonly unknown[], unknown> {
    let statement = this.byCount.get(count);
    if (statement === undefined) {
      const width = this.columns.length;
      statement = new PreparedStatement<readonly unknown[], unknown>(count * width, (db, ...args) => {
        const rows = Array.from({ length: count }, (_, r) => Object.fromEntries(this.columns.map((c, i) => [c, args[r * width + i]])) as Row);
        return this.build(db, rows);
      });
      this.byCount.set(count, statement);
    }
    return statement;
  }

  /** Inserts `rows` (nothing for an empty list). */
  async execute(tx: SqlTx, rows: readonly Row[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const part = rows.slice(i, i + INSERT_CHUNK);
      const args: unknown[] = [];
      for (const row of part) for (const c of this.columns) args.push(row[c]);
      await this.statement(part.length).execute(tx, ...args);
    }
  }

  /** Inserts `rows` as deferred statements (PreparedStatement.defer). */
  async defer(tx: SqlTx, rows: readonly Row[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const part = rows.slice(i, i + INSERT_CHUNK);
      const args: unknown[] = [];
      for (const row of part) for (const c of this.columns) args.push(row[c]);
      await this.statement(part.length).defer(tx, ...args);
    }
  }
}
