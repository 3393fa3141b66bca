/**
 * Forwarding package filters: fixed-size bit vectors, most significant bit first, and the
 * state of a package derived from them.
 */
import { FwdState, type FwdPkg, type LogUpdate, type PkgFilter, type ShortChannelId } from './types.js';

/** An all-zero filter of `count` bits. */
export function newPkgFilter(count: number): PkgFilter {
  if (!Number.isInteger(count) || count < 0 || count > 0xffff) throw new RangeError(`expected a filter size in 0..65535, got ${count}`);
  return { count, bits: new Uint8Array(Math.ceil(count / 8)) };
}

/** A copy of `filter` with bit `index` set. RangeError if out of range. */
export function withBit(filter: PkgFilter, index: number): PkgFilter {
  if (!Number.isInteger(index) || index < 0 || index >= filter.count) {
    throw new RangeError(`expected a filter index in 0..${filter.count - 1}, got ${index}`);
  }
  const bits = filter.bits.slice();
  bits[index >> 3] = bits[index >> 3]! | (0x80 >> (index & 7));
  return { count: filter.count, bits };
}

/** True if bit `index` is set. */
export function filterContains(filter: PkgFilter, index: number): boolean {
  if (index < 0 || index >= filter.count) return false;
  return (filter.bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}

/** True if every bit is set (an empty filter is full). */
export function filterIsFull(filter: PkgFilter): boolean {
  for (let i = 0; i < filter.count; i++) if (!filterContains(filter, i)) return false;
  return true;
}

/** A new forwarding package in state LockedIn with empty filters. */
export function newFwdPkg(source: ShortChannelId, height: number, adds: readonly LogUpdate[], settleFails: readonly LogUpdate[]): FwdPkg {
  return {
    source,
    height,
    state: FwdState.LockedIn,
    adds,
    settleFails,
    ackFilter: newPkgFilter(adds.length),
    settleFailFilter: newPkgFilter(settleFails.length),
  };
}

/**
 * The state a package is in given its filters: Completed once every add and settle/fail
 * is acked, Processed once its forwarding filter is set, LockedIn before.
 */
export function fwdPkgState(pkg: Pick<FwdPkg, 'ackFilter' | 'settleFailFilter' | 'fwdFilter'>): FwdState {
  if (pkg.fwdFilter !== undefined && filterIsFull(pkg.ackFilter) && filterIsFull(pkg.settleFailFilter)) return FwdState.Completed;
  return pkg.fwdFilter === undefined ? FwdState.LockedIn : FwdState.Processed;
}
