/**
 * The hot path's floor (bench/store.ts): the database operations the store makes during a
 * set of rounds, recorded while the store runs them and replayed by a plain loop, without
 * any of chand's code, on a copy of the database taken before those rounds. Floor rounds/s
 * is what the store's schema costs on that engine; the gap between it and the store's own
 * rate is chand's JavaScript (validation, encoding, checksums, key checks).
 *
 * - SQLite: every better-sqlite3 statement the store's connection runs (Statement.prototype
 *   run/all/get wrapped while recording; BEGIN, COMMIT and savepoints are statements there
 *   too), with copies of its arguments, replayed on a page-for-page backup of the file
 *   opened with the store connection's own pragmas, each distinct statement prepared once.
 * - KV engines (LMDB, memory): every transaction the store runs on its engine (the store is
 *   handed a recording proxy of the engine), with its reads and writes, each replayed as
 *   one transaction on a second engine of the same kind that holds a copy of every
 *   key/value of the first.
 * - PostgreSQL: every query the clients of the store's pool send (pg.Client.prototype.query
 *   wrapped while recording: named prepared statements, and the simple queries that carry
 *   deferred statements with values inlined, as they were sent), replayed on one client of
 *   a second database on the same server. That database is not a copy but a twin: migrated
 *   as the store's was, it has had every earlier floor replayed on it, and a floor checks
 *   first that it holds what the store's database holds.
 *
 * `verify` throws unless the copy ends up holding exactly what the store's database holds
 * (the raw baseline's scratch data aside), so the floor cannot silently measure other work.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { KvEngine, KvRange, KvReadTx, KvWriteTx } from '../src/kv/engine.js';

/** Records one set of store rounds and replays them on a copy of the starting state. */
export interface Floor {
  /** Records every database operation the store makes from now until stopRecording. */
  record(): void;
  /** Ends the round being recorded (replay times each round apart). */
  roundEnd(): void;
  /** Stops recording; what was recorded waits for `replay`. Idempotent. */
  stopRecording(): void;
  /** Replays, in order, the rounds recorded since the last replay; resolves to each round's time and operation count. */
  replay(): Promise<ReplayedRound[]>;
  /** Throws unless the copy holds exactly what the store's database holds now (the raw baseline's scratch data aside). */
  verify(): Promise<void>;
  /** Stops recording and releases the copy (removed; the PostgreSQL twin outlives the floor). Idempotent. */
  close(): Promise<void>;
}

/** One replayed round. */
export interface ReplayedRound {
  readonly ms: number;
  /** Database operations: statements (SQLite), queries as sent (PostgreSQL), reads and writes (KV). */
  readonly ops: number;
}

const now = () => performance.now();

/** Throws unless every round was ended before a replay (a half-recorded round would be replayed short). */
function wholeRounds(pending: readonly unknown[]): void {
  if (pending.length > 0) throw new Error(`floor: ${pending.length} operations recorded after the last roundEnd; replay takes whole rounds only`);
}

/**
 * The calls recorded for a floor, grouped in rounds: `install` starts capturing (its
 * wrappers `push` each call), `uninstall` restores what it wrapped.
 */
class RoundLog<T> {
  recording = false;
  private pending: T[] = [];
  private readonly rounds: T[][] = [];

  constructor(
    private readonly install: () => void,
    private readonly uninstall: () => void,
  ) {}

  push(call: T): void {
    this.pending.push(call);
  }

  record(): void {
    if (this.recording) return;
    this.recording = true;
    this.install();
  }

  roundEnd(): void {
    this.rounds.push(this.pending);
    this.pending = [];
  }

  stopRecording(): void {
    if (!this.recording) return;
    this.recording = false;
    this.uninstall();
  }

  /** The Floor methods that control recording. */
  controls(): Pick<Floor, 'record' | 'roundEnd' | 'stopRecording'> {
    return { record: () => this.record(), roundEnd: () => this.roundEnd(), stopRecording: () => this.stopRecording() };
  }

  /**
   * The whole rounds recorded since the last call. Refuses while recording, and when
   * `faults` says that the recording could not capture the `what` faithfully.
   */
  take(faults: readonly string[], what: string): T[][] {
    if (this.recording) throw new Error('floor: stop recording before replaying');
    if (faults.length > 0) throw new Error(`floor: cannot replay the store's ${what}: ${[...new Set(faults)].join('; ')}`);
    wholeRounds(this.pending);
    return this.rounds.splice(0);
  }
}

// --- SQLite ---------------------------------------------------------------------------------

type Method = 'run' | 'all' | 'get';
const METHODS = ['run', 'all', 'get'] as const;

/** One statement the store ran: its text, how it was called, copies of its arguments, its result mode. */
interface SqlCall {
  readonly source: string;
  readonly method: Method;
  readonly args: unknown[];
  readonly raw: boolean;
  readonly safeIntegers: boolean;
}

type StatementProto = Record<Method | 'iterate', (...args: unknown[]) => unknown> & {
  raw(toggle?: boolean): unknown;
  safeIntegers(toggle?: boolean): unknown;
};
type DatabaseProto = { exec(source: string): unknown };
type Wrapped = StatementProto & { readonly source: string; readonly reader: boolean; readonly database: BetterSqlite3.Database };

/**
 * Connection settings the floor's connection takes from the store's (the file-level ones,
 * page_size and auto_vacuum, come with the copy and are only checked).
 */
const CONNECTION_PRAGMAS = ['journal_mode', 'synchronous', 'foreign_keys', 'busy_timeout', 'cache_size', 'wal_autocheckpoint', 'mmap_size', 'temp_store', 'locking_mode', 'cache_spill', 'secure_delete', 'automatic_index', 'recursive_triggers', 'cell_size_check', 'journal_size_limit', 'trusted_schema'] as const;
const FILE_PRAGMAS = ['page_size', 'auto_vacuum'] as const;

/** A deep copy of a statement argument (arrays, named-parameter objects, byte buffers; the rest are immutable). */
function copyArg(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(copyArg);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyArg(v)]));
  return value;
}

/** Every row of `table`, each as a comparable string, sorted (WITHOUT ROWID tables have no rowid to order by). */
function tableRows(db: BetterSqlite3.Database, table: string): string[] {
  const rows = db.prepare(`select * from "${table.replaceAll('"', '""')}"`).raw(true).safeIntegers(true).all() as unknown[][];
  const cell = (v: unknown) => (v instanceof Uint8Array ? `x${Buffer.from(v).toString('hex')}` : typeof v === 'bigint' ? `i${v}` : JSON.stringify(v));
  return rows.map((row) => row.map(cell).join(',')).sort();
}

function tableNames(db: BetterSqlite3.Database, scratchTables: readonly string[]): string[] {
  const names = db.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all() as string[];
  return names.filter((name) => !scratchTables.includes(name));
}

/**
 * The floor of a SQLite store. `raw` is the bench's own connection to the store's file (it
 * takes the copy and reads the store's rows for `verify`; its statements are never
 * recorded); `scratchTables` are the raw baseline's tables, left out of `verify`. The store's
 * connection is the one other connection that runs statements while recording (a third
 * fails the replay).
 */
export async function sqliteFloor(raw: BetterSqlite3.Database, scratchTables: readonly string[]): Promise<Floor> {
  const dir = mkdtempSync(join(tmpdir(), 'chand-bench-floor-'));
  const file = join(dir, 'floor.sqlite');
  // SQLite's online backup copies the database page for page: the copy has the store file's
  // B-tree layout (VACUUM INTO would rebuild it packed), so a write dirties the same pages.
  await raw.backup(file);

  const statementProto = Object.getPrototypeOf(raw.prepare('select 1')) as StatementProto;
  const databaseProto = Object.getPrototypeOf(raw) as DatabaseProto;
  const original = {
    run: statementProto.run,
    all: statementProto.all,
    get: statementProto.get,
    iterate: statementProto.iterate,
    raw: statementProto.raw,
    safeIntegers: statementProto.safeIntegers,
    exec: databaseProto.exec,
  };
  let store: BetterSqlite3.Database | undefined;
  let copy: BetterSqlite3.Database | undefined;
  // What the recording could not capture faithfully: the replay refuses to run then.
  const faults: string[] = [];
  // Result modes the store set on its statements while recording (raw arrays, BigInts).
  const modes = new WeakMap<object, { raw?: boolean; safeIntegers?: boolean }>();

  /** True for the store's connection; notes a fault for any third one. */
  const isStore = (database: BetterSqlite3.Database): boolean => {
    if (database === raw || database === copy) return false;
    store ??= database;
    if (database !== store) {
      faults.push('statements from a third connection (neither the store\'s first one nor the bench\'s)');
      return false;
    }
    return true;
  };

  const install = () => {
    for (const method of METHODS) {
      statementProto[method] = function (this: Wrapped, ...args: unknown[]) {
        if (!isStore(this.database)) return original[method].apply(this, args);
        const mode = modes.get(this);
        const call: SqlCall = { source: this.source, method, args: args.map(copyArg), raw: mode?.raw ?? false, safeIntegers: mode?.safeIntegers ?? true };
        try {
          return original[method].apply(this, args);
        } catch (err) {
          faults.push(`a statement failed while recording (${(err as Error).message})`);
          throw err;
        } finally {
          log.push(call);
        }
      };
    }
    statementProto.iterate = function (this: Wrapped, ...args: unknown[]) {
      if (isStore(this.database)) faults.push('the store iterated a statement (the floor replays run/all/get only)');
      return original.iterate.apply(this, args);
    };
    // better-sqlite3 takes a missing toggle as true: the arguments pass on as they came.
    statementProto.raw = function (this: Wrapped, ...args: [toggle?: boolean]) {
      if (isStore(this.database)) modes.set(this, { ...modes.get(this), raw: args.length === 0 || args[0] === true });
      return original.raw.apply(this, args);
    };
    statementProto.safeIntegers = function (this: Wrapped, ...args: [toggle?: boolean]) {
      if (isStore(this.database)) modes.set(this, { ...modes.get(this), safeIntegers: args.length === 0 || args[0] === true });
      return original.safeIntegers.apply(this, args);
    };
    databaseProto.exec = function (this: BetterSqlite3.Database, source: string) {
      if (isStore(this)) faults.push('the store ran Database.exec (not a statement the floor records)');
      return original.exec.call(this, source);
    };
  };
  const uninstall = () => {
    for (const method of METHODS) statementProto[method] = original[method];
    statementProto.iterate = original.iterate;
    statementProto.raw = original.raw;
    statementProto.safeIntegers = original.safeIntegers;
    databaseProto.exec = original.exec;
  };

  /** Opens the copy with the store connection's settings, and checks that they took. */
  const openCopy = (from: BetterSqlite3.Database): BetterSqlite3.Database => {
    const db = new BetterSqlite3(file);
    // As sqlite.ts opens the store's connection: reads return BigInts (not a pragma).
    db.defaultSafeIntegers(true);
    const value = (on: BetterSqlite3.Database, name: string) => String(on.pragma(name, { simple: true }));
    for (const name of CONNECTION_PRAGMAS) db.pragma(`${name} = ${value(from, name)}`);
    for (const name of [...CONNECTION_PRAGMAS, ...FILE_PRAGMAS]) {
      if (value(db, name) !== value(from, name)) throw new Error(`floor: the copy's ${name} is ${value(db, name)}, the store's ${value(from, name)}`);
    }
    return db;
  };

  // Statements of the copy, prepared once per text and result mode.
  const prepared = new Map<string, Wrapped>();
  const statementOf = (db: BetterSqlite3.Database, call: SqlCall): Wrapped => {
    const key = `${call.raw ? 'r' : '-'}${call.safeIntegers ? 's' : '-'}${call.source}`;
    let statement = prepared.get(key);
    if (statement === undefined) {
      statement = db.prepare(call.source) as unknown as Wrapped;
      if (statement.reader) statement.raw(call.raw);
      statement.safeIntegers(call.safeIntegers);
      prepared.set(key, statement);
    }
    return statement;
  };

  const log = new RoundLog<SqlCall>(install, uninstall);
  const stopRecording = () => log.stopRecording();

  return {
    ...log.controls(),
    async replay() {
      const rounds = log.take(faults, 'statements');
      if (store === undefined) throw new Error('floor: the store ran no statement while recording');
      copy ??= openCopy(store);
      const db = copy;
      const plan = rounds.map((round) => round.map((call) => ({ statement: statementOf(db, call), method: call.method, args: call.args })));
      const replayed: ReplayedRound[] = [];
      for (const round of plan) {
        const t0 = now();
        for (const { statement, method, args } of round) statement[method](...args);
        replayed.push({ ms: now() - t0, ops: round.length });
      }
      return replayed;
    },
    async verify() {
      if (copy === undefined) throw new Error('floor: nothing was replayed');
      const tables = tableNames(raw, scratchTables);
      const copyTables = tableNames(copy, scratchTables);
      if (tables.join() !== copyTables.join()) throw new Error(`floor: the copy has tables ${copyTables.join()}, the store's database ${tables.join()}`);
      for (const table of tables) {
        const expected = tableRows(raw, table);
        const actual = tableRows(copy, table);
        if (expected.length !== actual.length || expected.some((row, i) => row !== actual[i])) {
          throw new Error(`floor: after the replay, table ${table} of the copy (${actual.length} rows) differs from the store's (${expected.length} rows)`);
        }
      }
    },
    async close() {
      stopRecording();
      copy?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --- KV engines -----------------------------------------------------------------------------

type KvOp =
  | { readonly kind: 'get'; readonly key: Uint8Array }
  | { readonly kind: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly kind: 'delete'; readonly key: Uint8Array }
  /** A range scan and how many times the store pulled its iterator (entries taken, plus one if it ran to the end). */
  | { readonly kind: 'range'; readonly range: KvRange; pulls: number };

/** One transaction the store ran. */
interface KvTxRecord {
  readonly write: boolean;
  readonly ops: KvOp[];
}

const copyRange = (range: KvRange): KvRange => ({
  ...range,
  ...(range.start !== undefined && { start: range.start.slice() }),
  ...(range.end !== undefined && { end: range.end.slice() }),
});

function recordingReads(tx: KvReadTx, ops: KvOp[]): KvReadTx {
  return {
    get(key) {
      ops.push({ kind: 'get', key: key.slice() });
      return tx.get(key);
    },
    range(range) {
      const scan = tx.range(range);
      return {
        *[Symbol.iterator]() {
          const op: KvOp = { kind: 'range', range: copyRange(range), pulls: 0 };
          ops.push(op);
          for (const entry of scan) {
            op.pulls++;
            yield entry;
          }
          op.pulls++;
        },
      };
    },
  };
}

function recordingWrites(tx: KvWriteTx, ops: KvOp[]): KvWriteTx {
  return {
    ...recordingReads(tx, ops),
    put(key, value) {
      ops.push({ kind: 'put', key: key.slice(), value: value.slice() });
      tx.put(key, value);
    },
    delete(key) {
      ops.push({ kind: 'delete', key: key.slice() });
      tx.delete(key);
    },
  };
}

/** Runs the recorded operations of one transaction on `tx` (a plain loop: results are dropped). */
function applyOps(tx: KvReadTx | KvWriteTx, ops: readonly KvOp[]): void {
  for (const op of ops) {
    switch (op.kind) {
      case 'get':
        tx.get(op.key);
        break;
      case 'range': {
        const iterator = tx.range(op.range)[Symbol.iterator]();
        for (let i = 0; i < op.pulls; i++) iterator.next();
        iterator.return?.();
        break;
      }
      case 'put':
        (tx as KvWriteTx).put(op.key, op.value);
        break;
      case 'delete':
        (tx as KvWriteTx).delete(op.key);
        break;
    }
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** Every key/value of `engine` but the scratch keys, as hex pairs in key order. */
async function contents(engine: KvEngine, scratchKeys: ReadonlySet<string>): Promise<string[]> {
  return engine.read((tx) => {
    const out: string[] = [];
    for (const [key, value] of tx.range({})) if (!scratchKeys.has(hex(key))) out.push(`${hex(key)}=${hex(value)}`);
    return out;
  });
}

/** An empty engine for a floor's copy, and what removes it once closed. */
export interface KvCopy {
  readonly engine: KvEngine;
  dispose(): Promise<void>;
}

/** A KvEngine that records the transactions run on it while a floor records (see kvRecorder). */
export interface KvRecorder {
  /** The engine to hand the store: `inner`, recording while a floor records. */
  readonly engine: KvEngine;
  /**
   * A floor over the engine. `copy` is an empty engine of the same kind and options, which
   * gets a copy of every key/value now (the floor closes it, then calls its `dispose`);
   * `scratchKeys` (the raw baseline's) are left out of `verify`.
   */
  floor(copy: KvCopy, scratchKeys: readonly Uint8Array[]): Promise<Floor>;
}

/** Wraps `inner` so that a floor can record what the store does on it. Not recording, calls pass straight through. */
export function kvRecorder(inner: KvEngine): KvRecorder {
  let sink: { txs: KvTxRecord[]; faults: string[]; inflight: number } | undefined;
  /** Runs one transaction of the store through `run`, whose closure records into a fresh list (`fresh()`) each time the engine runs it. */
  const recorded = async <T>(write: boolean, run: (fresh: () => KvOp[]) => Promise<T>): Promise<T> => {
    const target = sink!;
    let ops: KvOp[] = [];
    if (++target.inflight > 1) target.faults.push('transactions overlapped (an engine may batch them into one commit; the replay runs them one by one)');
    try {
      // An engine may run a closure more than once: only the last run's operations count.
      const result = await run(() => (ops = []));
      target.txs.push({ write, ops });
      return result;
    } catch (err) {
      target.faults.push(`a transaction failed while recording (${(err as Error).message})`);
      throw err;
    } finally {
      target.inflight--;
    }
  };
  const engine: KvEngine = {
    capabilities: inner.capabilities,
    read(fn) {
      if (sink === undefined) return inner.read(fn);
      return recorded(false, (fresh) => inner.read((tx) => fn(recordingReads(tx, fresh()))));
    },
    update(fn) {
      if (sink === undefined) return inner.update(fn);
      return recorded(true, (fresh) => inner.update((tx) => fn(recordingWrites(tx, fresh()))));
    },
    close: () => inner.close(),
  };

  async function floor({ engine: copy, dispose }: KvCopy, scratchKeys: readonly Uint8Array[]): Promise<Floor> {
    const scratch = new Set(scratchKeys.map(hex));
    try {
      const entries = await inner.read((tx) => Array.from(tx.range({}), ([key, value]) => [key.slice(), value.slice()] as const));
      await copy.update((tx) => {
        for (const [key, value] of entries) tx.put(key, value);
      });
    } catch (err) {
      await copy.close();
      await dispose();
      throw err;
    }
    const state = { txs: [] as KvTxRecord[], faults: [] as string[], inflight: 0 };
    const rounds: KvTxRecord[][] = [];
    let closed = false;
    const stopRecording = () => {
      if (sink === state) sink = undefined;
    };
    return {
      record() {
        if (sink !== undefined && sink !== state) throw new Error('floor: another floor is recording this engine');
        sink = state;
      },
      roundEnd() {
        rounds.push(state.txs);
        state.txs = [];
      },
      stopRecording,
      async replay() {
        if (sink === state) throw new Error('floor: stop recording before replaying');
        if (state.faults.length > 0) throw new Error(`floor: cannot replay the store's transactions: ${[...new Set(state.faults)].join('; ')}`);
        wholeRounds(state.txs);
        const replayed: ReplayedRound[] = [];
        for (const round of rounds.splice(0)) {
          const t0 = now();
          for (const { write, ops } of round) {
            if (write) await copy.update((tx) => applyOps(tx, ops));
            else await copy.read((tx) => applyOps(tx, ops));
          }
          replayed.push({ ms: now() - t0, ops: round.reduce((n, tx) => n + tx.ops.length, 0) });
        }
        return replayed;
      },
      async verify() {
        const expected = await contents(inner, scratch);
        const actual = await contents(copy, scratch);
        const at = expected.findIndex((entry, i) => entry !== actual[i]);
        if (at >= 0 || expected.length !== actual.length) {
          throw new Error(`floor: after the replay the copy holds ${actual.length} key/values, the store's engine ${expected.length}; first difference at entry ${at >= 0 ? at : Math.min(expected.length, actual.length)}`);
        }
      },
      async close() {
        stopRecording();
        if (closed) return;
        closed = true;
        await copy.close();
        await dispose();
      },
    };
  }
  return { engine, floor };
}

// --- PostgreSQL -----------------------------------------------------------------------------

/** One query a client of the store's pool sent, as pg's query config (values copied). */
interface PgCall {
  readonly text: string;
  readonly name?: string;
  readonly values?: unknown;
  readonly rowMode?: string;
}

type QueryConfig = { text: string; name?: string; values?: unknown; rowMode?: string };

/**
 * Columns the twin may hold otherwise than the store's database: when each migration ran
 * (the hot path never writes that table).
 */
const TWIN_COLUMNS_APART: Readonly<Record<string, readonly string[]>> = { chand_migrations: ['applied_at_ms'] };

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Every row of every table (and every sequence's position) of the current schema but `scratchTables`, comparable across databases. */
async function pgContents(client: pg.Client, scratchTables: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const { rows: columns } = await client.query<{ t: string; c: string }>(
    "select table_name as t, column_name as c from information_schema.columns where table_schema = current_schema() and table_name in (select tablename from pg_tables where schemaname = current_schema()) order by table_name, ordinal_position",
  );
  const tables = new Map<string, string[]>();
  for (const { t, c } of columns) if (!scratchTables.includes(t) && !TWIN_COLUMNS_APART[t]?.includes(c)) tables.set(t, [...(tables.get(t) ?? []), c]);
  for (const [name, cols] of tables) {
    // A row's text form: bytea as hex, integers exactly; sorted here (the table order is free).
    const { rows } = await client.query<{ r: string }>(`select row(${cols.map(quoted).join(', ')})::text as r from ${quoted(name)}`);
    out.set(name, rows.map((row) => row.r).sort());
  }
  const { rows: sequences } = await client.query<{ r: string }>("select sequencename || '=' || coalesce(last_value::text, '-') as r from pg_sequences where schemaname = current_schema() order by 1");
  out.set('(sequences)', sequences.map((row) => row.r));
  return out;
}

/** Throws unless `replica` holds what `store` does (`when` says at which point, for the message). */
async function samePgContents(store: pg.Client, replica: pg.Client, scratchTables: readonly string[], when: string): Promise<void> {
  const expected = await pgContents(store, scratchTables);
  const actual = await pgContents(replica, scratchTables);
  const names = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const name of names) {
    const a = actual.get(name);
    const e = expected.get(name);
    if (a === undefined || e === undefined || a.length !== e.length || a.some((row, i) => row !== e[i])) {
      throw new Error(`floor: ${when}, ${name} of the replica (${a?.length ?? 'no'} rows) differs from the store's (${e?.length ?? 'no'} rows)`);
    }
  }
}

/**
 * The floor of a PostgreSQL store. `bench` is the bench's own client of the store's database
 * (never recorded; it reads the store's rows for the checks); `replica` a client of the twin
 * database (see the module comment), which must hold what the store's database holds now
 * (checked: throws if not); `scratchTables` are the raw baseline's, left out of the checks.
 * Every other pg client that queries while recording is taken for one of the store's pool.
 */
export async function postgresFloor(bench: pg.Client, replica: pg.Client, scratchTables: readonly string[]): Promise<Floor> {
  await samePgContents(bench, replica, scratchTables, 'before the floor');
  const proto = pg.Client.prototype as unknown as { query(...args: unknown[]): unknown };
  const original = proto.query;
  const faults: string[] = [];
  let inflight = 0;

  const install = () => {
    proto.query = function (this: pg.Client, ...args: unknown[]) {
      if (this === bench || this === replica) return original.apply(this, args);
      const [first, second] = args;
      if (args.some((arg) => typeof arg === 'function')) faults.push('a query with a callback');
      const config: QueryConfig = typeof first === 'string' ? { text: first, values: second } : { ...(first as QueryConfig), values: (first as QueryConfig).values ?? second };
      log.push({
        text: config.text,
        ...(config.name !== undefined && { name: config.name }),
        ...(config.values !== undefined && { values: copyArg(config.values) }),
        ...(config.rowMode !== undefined && { rowMode: config.rowMode }),
      });
      // Queries of one store call run one after another; overlapping ones would replay in another order.
      if (++inflight > 1) faults.push('queries overlapped (the replay sends them one by one)');
      const result = original.apply(this, args) as Promise<unknown>;
      if (typeof result?.then !== 'function') {
        inflight--;
        faults.push('a query that returned no promise (a submittable)');
        return result;
      }
      // Observed for the record only: the caller gets the result, or the rejection, as before.
      result.then(
        () => void inflight--,
        (err: unknown) => {
          inflight--;
          faults.push(`a query failed while recording (${(err as Error).message})`);
        },
      );
      return result;
    };
  };
  const log = new RoundLog<PgCall>(install, () => void (proto.query = original));
  const stopRecording = () => log.stopRecording();

  return {
    ...log.controls(),
    async replay() {
      if (inflight > 0) throw new Error('floor: a recorded query is still running');
      const rounds = log.take(faults, 'queries');
      const replayed: ReplayedRound[] = [];
      for (const round of rounds) {
        const t0 = now();
        for (const call of round) await replica.query(call as never);
        replayed.push({ ms: now() - t0, ops: round.length });
      }
      return replayed;
    },
    verify: () => samePgContents(bench, replica, scratchTables, 'after the replay'),
    async close() {
      stopRecording();
    },
  };
}
