/**
 * The record comparer: reads a channel database through its contracts and turns every
 * result (or error) into a comparable value, so two databases — two backends given the same
 * operations (test/sql/differential.test.ts), or the source and target of a migration
 * (channeldb/migrate.ts) — can be compared read by read.
 *
 * Results are compared as values: Maps become entry lists, a ChandError becomes its code, a
 * TypeError/RangeError its class name; anything else thrown propagates (a defect, not an
 * outcome). Imports contracts only and no test framework, so the migration uses it too.
 */
import { channelIdOf } from '../chanstate/channel-id.js';
import type { ChannelStateStore } from '../chanstate/store.js';
import type { Hex, OutPoint, ShortChannelId } from '../chanstate/types.js';
import { ChandError } from '../errors.js';
import type { LinkNode, LinkNodeStore } from '../linknode/store.js';

/** The outcome of one read: its value, or the code (or error class) it failed with. */
export type Outcome = { ok: unknown } | { error: string };

/** The stores the comparer reads. */
export interface ObservedStores {
  readonly channelState: ChannelStateStore;
  readonly linkNodes: LinkNodeStore;
}

/** A result in comparable form: Maps as entry lists (recursively inside arrays). */
export function comparable(value: unknown): unknown {
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [k, comparable(v)]);
  if (Array.isArray(value)) return value.map(comparable);
  return value;
}

/** Runs `fn` and returns its outcome: the comparable value, or the error's code or class. */
export async function attempt(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: comparable(await fn()) };
  } catch (err) {
    if (err instanceof ChandError) return { error: err.code };
    if (err instanceof TypeError || err instanceof RangeError) return { error: err.constructor.name };
    throw err;
  }
}

/** What observeChannel probes besides the channel point. */
export interface ChannelProbe {
  /** The peer whose channels fetchOpenChannels lists. */
  readonly peer: Hex;
  /** The short channel id whose final HTLC outcome 0 is looked up. */
  readonly finalHtlcScid: ShortChannelId;
}

/**
 * Every per-channel read of the contracts for the channel at `op` (open or closed): the
 * channel and both commitments, the chain tip, both update lists, the revocation state, the
 * revocation log (its tail, its first 1,000 entries, a window and one lookup), forwarding
 * packages, shutdown info, close transactions, the data-loss point, external funding, the
 * historical record, the close summary (by point and by id), the peer's channels and a final
 * HTLC outcome.
 */
export async function observeChannel(s: ObservedStores, op: OutPoint, probe: ChannelProbe): Promise<Outcome[]> {
  const cs = s.channelState;
  return [
    await attempt(() => cs.fetchChannel(op)),
    await attempt(() => cs.fetchChannelById(channelIdOf(op))),
    await attempt(() => cs.latestCommitments(op)),
    await attempt(() => cs.commitmentHeight(op)),
    await attempt(() => cs.remoteCommitChainTip(op)),
    await attempt(() => cs.unsignedAckedUpdates(op)),
    await attempt(() => cs.remoteUnsignedLocalUpdates(op)),
    await attempt(() => cs.remoteRevocationStore(op)),
    await attempt(() => cs.revocationLogTailHeight(op)),
    await attempt(() => cs.fetchRevocationLog(op, 0, 1_000)),
    await attempt(() => cs.fetchRevocationLog(op, 1, 2)),
    await attempt(() => cs.findPreviousState(op, 1)),
    await attempt(() => cs.loadFwdPkgs(op)),
    await attempt(() => cs.fetchShutdownInfo(op)),
    await attempt(() => cs.fetchBroadcastedCommitment(op)),
    await attempt(() => cs.fetchBroadcastedCooperative(op)),
    await attempt(() => cs.fetchDataLossCommitPoint(op)),
    await attempt(() => cs.fetchExternalFunding(op)),
    await attempt(() => cs.fetchHistoricalChannel(op)),
    await attempt(() => cs.fetchClosedChannel(op)),
    await attempt(() => cs.fetchClosedChannelById(channelIdOf(op))),
    await attempt(() => cs.fetchOpenChannels(probe.peer)),
    await attempt(() => cs.lookupFinalHtlc(probe.finalHtlcScid, 0)),
  ];
}

/** What observeAll probes. */
export interface GlobalProbe {
  /** The chain fetchPermAndTempPeers counts on. */
  readonly chainHash: Hex;
  /** Peers whose link nodes are looked up (findMissingLinkNodes, addrsForNode). */
  readonly peers: readonly Hex[];
}

/**
 * Every global read: the channel scans, per-peer counts, closed channels (all and pending),
 * external fundings, counts, link nodes (all, missing among `probe.peers`, and the
 * addresses of each of them).
 */
export async function observeAll(s: ObservedStores, probe: GlobalProbe): Promise<Outcome[]> {
  const cs = s.channelState;
  const out = [
    await attempt(() => cs.fetchAllChannels()),
    await attempt(() => cs.fetchAllOpenChannels()),
    await attempt(() => cs.fetchPendingChannels()),
    await attempt(() => cs.fetchWaitingCloseChannels()),
    await attempt(() => cs.fetchPermAndTempPeers(probe.chainHash)),
    await attempt(() => cs.fetchClosedChannels(false)),
    await attempt(() => cs.fetchClosedChannels(true)),
    await attempt(() => cs.fetchAllExternalFundings()),
    await attempt(() => cs.counts()),
    await attempt(() => s.linkNodes.fetchAllLinkNodes()),
    await attempt(() => s.linkNodes.findMissingLinkNodes(probe.peers)),
  ];
  for (const peer of probe.peers) out.push(await attempt(() => s.linkNodes.addrsForNode(peer)));
  out.push(await attempt(async () => (await s.linkNodes.fetchAllLinkNodes()).map((n: LinkNode) => n.identityPub)));
  return out;
}

/**
 * Where `actual` first differs from `expected`, as a path with both values, or undefined
 * when they are equal. Equality is structural and exact: bigints by value, byte arrays by
 * content, arrays element by element, objects key by key (a key whose value is undefined
 * counts as absent, as optional fields are).
 */
export function firstDifference(expected: unknown, actual: unknown, path = '$'): string | undefined {
  const d = differenceOf(expected, actual);
  return d === undefined ? undefined : path + d;
}

const unequal = (expected: unknown, actual: unknown): string => `: expected ${describe(expected)}, got ${describe(actual)}`;

/** firstDifference's walk: the relative path and message of the first difference (built only once one is found). */
function differenceOf(expected: unknown, actual: unknown): string | undefined {
  if (expected === actual) return undefined;
  if (typeof expected !== 'object' || typeof actual !== 'object' || expected === null || actual === null) return Object.is(expected, actual) ? undefined : unequal(expected, actual);
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return unequal(expected, actual);
    if (expected.length !== actual.length) return `: expected ${expected.length} elements, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = differenceOf(expected[i], actual[i]);
      if (d !== undefined) return `[${i}]${d}`;
    }
    return undefined;
  }
  if (ArrayBuffer.isView(expected) || ArrayBuffer.isView(actual)) {
    if (!(expected instanceof Uint8Array) || !(actual instanceof Uint8Array) || expected.length !== actual.length) return unequal(expected, actual);
    for (let i = 0; i < expected.length; i++) if (expected[i] !== actual[i]) return `${unequal(expected, actual)} (byte ${i} differs)`;
    return undefined;
  }
  if (Array.isArray(actual)) return unequal(expected, actual);
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  // Expected's keys in order, then any key only actual has — looked for only when the key
  // counts say there may be one (this runs over every record of a migration).
  const keys = Object.keys(e);
  let absent = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = e[k];
    if (v === undefined) absent = true;
    const d = differenceOf(v, a[k]);
    if (d !== undefined) return `.${k}${d}`;
  }
  const other = Object.keys(a);
  if (absent || other.length !== keys.length) {
    for (const k of other) if (!(k in e) && a[k] !== undefined) return `.${k}: expected nothing, got ${describe(a[k])}`;
  }
  return undefined;
}

/** A short rendering of a value for difference messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v));
  return text === undefined ? String(value) : text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
