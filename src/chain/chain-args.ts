/**
 * Argument checks of the `Chain` methods, shared by its implementations (EsploraClient,
 * DevnetLedger) so that both refuse the same misuse with the same error before doing any work.
 * Txids and block hashes follow the Chain convention: lowercase hex in display order.
 */

const HASH_RE = /^[0-9a-f]{64}$/;

/** True if `value` is a txid or block hash as 64 lowercase hex characters. */
export function isHash(value: unknown): value is string {
  return typeof value === 'string' && HASH_RE.test(value);
}

/** Throws TypeError unless `value` is a txid (or, naming it `what`, a block hash) as 64 lowercase hex characters. */
export function assertHash(value: string, what = 'txid'): void {
  if (!isHash(value)) throw new TypeError(`expected a ${what} as 64 lowercase hex characters, got ${JSON.stringify(value)}`);
}

/** Throws RangeError unless `n` is an integer in [0, 2^32-1], such as an output index or a block height. */
export function assertU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`expected ${what} as an integer in [0, 2^32-1], got ${n}`);
}
