/**
 * The KvEngine contract: an ordered byte-key/byte-value store with atomic transactions.
 *
 * Design: a transaction is a *synchronous* closure. `update` runs it against a private view,
 * and either every write in it becomes durable together or none does. Closures may be
 * re-run by an engine (for example after a conflict), so they must not change anything
 * outside the transaction (no pushes to outer arrays, no timers, no I/O): compute inside,
 * return the result. Keys are compared bytewise (memcmp order); range scans are ordered.
 *
 * Engines: `memory` (tests, ephemeral) and `lmdb` (durable, one fdatasync per commit);
 * `checksummedEngine` (checksummed-engine.ts) wraps either to verify every stored value.
 *
 * Faults: an engine reports storage failures as ChandErrors, never raw driver errors — no
 * space (DISK_FULL; nothing of the transaction is applied, reads go on), damaged data
 * (DB_CORRUPT), other I/O failures (DB_UNAVAILABLE) — with the driver's error as `cause`.
 * Errors a closure throws reach the caller unchanged.
 */

/** Bounds of an ordered range scan. `start` is inclusive, `end` exclusive. */
export interface KvRange {
  readonly start?: Uint8Array;
  readonly end?: Uint8Array;
  readonly reverse?: boolean;
  readonly limit?: number;
}

/** A consistent, read-only view of the store for the duration of one transaction. */
export interface KvReadTx {
  /** The value under `key`, or undefined when absent. The returned bytes must not be mutated. */
  get(key: Uint8Array): Uint8Array | undefined;
  /** Entries whose key lies in the range, in key order (or reverse order). */
  range(range: KvRange): Iterable<readonly [key: Uint8Array, value: Uint8Array]>;
}

/** A read-write transaction: reads see this transaction's own earlier writes. */
export interface KvWriteTx extends KvReadTx {
  /** Sets `key` to `value`, replacing any previous value. */
  put(key: Uint8Array, value: Uint8Array): void;
  /** Removes `key`; a missing key is not an error. */
  delete(key: Uint8Array): void;
}

/** Capabilities an engine declares, so callers never ask "which engine is this?". */
export interface KvEngineCapabilities {
  /** Commits survive a process crash and power loss once `update` resolves. */
  readonly durable: boolean;
  /** Data is shared with other processes through a path on disk. */
  readonly persistent: boolean;
}

/** An ordered, transactional key-value engine. */
export interface KvEngine {
  readonly capabilities: KvEngineCapabilities;
  /** Runs `fn` against a consistent snapshot and returns its result. */
  read<T>(fn: (tx: KvReadTx) => T): Promise<T>;
  /**
   * Runs `fn` in a read-write transaction and commits it atomically. Resolves after the
   * commit is durable (for durable engines); rejects with `fn`'s error, committing nothing.
   */
  update<T>(fn: (tx: KvWriteTx) => T): Promise<T>;
  /** Releases the engine. Idempotent. Later calls fail with STORE_CLOSED. */
  close(): Promise<void>;
}
