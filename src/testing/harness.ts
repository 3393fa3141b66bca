/**
 * Plumbing shared by the conformance suites: the factory a backend provides, a fresh
 * isolated database per test, and assertions that compare a store with a ChannelModel.
 *
 * Nothing here knows a backend. A backend states what it supports through
 * ConformanceOptions (capability flags), never through its name.
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { outPointKey } from '../chanstate/channel-id.js';
import type { ChannelStateStore } from '../chanstate/store.js';
import type { OpenChannel, OutPoint, RevocationLogEntry } from '../chanstate/types.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { compareBytes } from '../codec/bytes.js';
import type { ErrorCode } from '../errors.js';
import type { LinkNodeStore } from '../linknode/store.js';
import { channelWithModel, type ChannelModel } from './fixtures.js';

/** The part of an open channel database the suite uses (channeldb's ChannelDb has this shape). */
export interface ConformanceDb {
  readonly channelState: ChannelStateStore;
  readonly linkNodes: LinkNodeStore;
  readonly coordinator: Coordinator;
  /** Idempotent; afterwards every store method rejects with STORE_CLOSED. */
  close(): Promise<void>;
}

/**
 * Opens a fresh, empty, isolated database. `cleanup` closes it (if the test did not) and
 * removes whatever it left behind (files, schemas).
 */
export type ConformanceFactory = () => Promise<{ db: ConformanceDb; cleanup(): Promise<void> }>;

/** What a backend supports where the contracts leave a choice. */
export interface ConformanceOptions {
  /** Revocation log entries keep both balances. Default true. */
  readonly revocationLogBalances?: boolean;
  /** updateCommitment records off-chain final HTLC outcomes (lookupFinalHtlc). Default true. */
  readonly storesOffchainFinalHtlcs?: boolean;
}

/** ConformanceOptions with defaults applied. */
export type ResolvedOptions = Required<ConformanceOptions>;

/** Applies the defaults of ConformanceOptions. */
export function resolveOptions(options: ConformanceOptions = {}): ResolvedOptions {
  return {
    revocationLogBalances: options.revocationLogBalances ?? true,
    storesOffchainFinalHtlcs: options.storesOffchainFinalHtlcs ?? true,
  };
}

/** What every facet suite receives. */
export interface SuiteContext {
  readonly factory: ConformanceFactory;
  readonly options: ResolvedOptions;
}

/** Access to the current test's database, and to extra fresh ones. */
export interface DbHandle {
  /** The database of the running test. */
  readonly db: ConformanceDb;
  /** Another fresh database, cleaned up after the test like the first. */
  another(): Promise<ConformanceDb>;
}

/**
 * Registers beforeEach/afterEach hooks in the calling describe block: each test gets a
 * fresh database from `factory`, cleaned up after the test whatever its outcome.
 */
export function useDb(factory: ConformanceFactory): DbHandle {
  let current: ConformanceDb | undefined;
  let cleanups: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    const opened = await factory();
    current = opened.db;
    cleanups = [opened.cleanup];
  });
  afterEach(async () => {
    const pending = cleanups;
    cleanups = [];
    current = undefined;
    for (const cleanup of pending) await cleanup();
  });
  return {
    get db(): ConformanceDb {
      if (current === undefined) throw new Error('no conformance database: use it inside a test');
      return current;
    },
    async another(): Promise<ConformanceDb> {
      const opened = await factory();
      cleanups.push(opened.cleanup);
      return opened.db;
    },
  };
}

/**
 * Writes `channel` the way a node does: syncPendingChannel (pending, at its funding
 * broadcast height), then markOpen at its short channel id unless it is still pending.
 * Afterwards fetchChannel returns `channel` exactly.
 */
export async function addChannel(db: ConformanceDb, channel: OpenChannel, address?: string): Promise<OpenChannel> {
  const pending: OpenChannel = { ...channel, isPending: true, shortChannelId: channel.isPending ? channel.shortChannelId : 0n };
  await db.coordinator.syncPendingChannel(pending, address, channel.fundingBroadcastHeight);
  if (!channel.isPending) await db.channelState.markOpen(channel.fundingOutpoint, channel.shortChannelId);
  return channel;
}

/** addChannel for each channel, in order. */
export async function addChannels(db: ConformanceDb, channels: readonly OpenChannel[]): Promise<OpenChannel[]> {
  for (const channel of channels) await addChannel(db, channel);
  return [...channels];
}

/** Orders channel points as stores do: txid bytes, then output index. */
export function compareOutPoints(a: OutPoint, b: OutPoint): number {
  return compareBytes(outPointKey(a), outPointKey(b));
}

/** `channels` sorted by channel point. */
export function byChanPoint<T extends { fundingOutpoint: OutPoint }>(channels: readonly T[]): T[] {
  return [...channels].sort((a, b) => compareOutPoints(a.fundingOutpoint, b.fundingOutpoint));
}

/** Asserts that `promise` rejects with a ChandError of `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

/** The log entry as a backend with `options` stores it. */
export function storedLogEntry(entry: RevocationLogEntry, options: ResolvedOptions): RevocationLogEntry {
  if (options.revocationLogBalances) return entry;
  const { ourBalanceMsat: _ours, theirBalanceMsat: _theirs, ...rest } = entry;
  return rest;
}

/**
 * Asserts that the store holds exactly the commitment state of `model` for the channel
 * `base`: the channel record, both commitments, revocation state, both unsigned update
 * lists, the whole revocation log and (unless `fwdPkgs` is false) the forwarding packages.
 */
export async function expectModel(
  store: ChannelStateStore,
  base: OpenChannel,
  model: ChannelModel,
  options: ResolvedOptions,
  check: { fwdPkgs?: boolean } = {},
): Promise<void> {
  const op = model.chanPoint;
  expect(await store.fetchChannel(op)).toEqual(channelWithModel(base, model));
  expect(await store.latestCommitments(op)).toEqual({ local: model.local, remote: model.remote });
  expect(await store.commitmentHeight(op)).toBe(model.local.commitHeight);
  expect(await store.remoteRevocationStore(op)).toEqual(model.revocation);
  expect(await store.unsignedAckedUpdates(op)).toEqual(model.unsignedAcked);
  expect(await store.remoteUnsignedLocalUpdates(op)).toEqual(model.remoteUnsignedLocal);
  expect(await store.revocationLogTailHeight(op)).toBe(model.revocationLog.at(-1)?.commitHeight);
  expect(await store.fetchRevocationLog(op, 0, 1_000_000)).toEqual(model.revocationLog.map((e) => storedLogEntry(e, options)));
  if (check.fwdPkgs !== false) expect(await store.loadFwdPkgs(op)).toEqual(model.fwdPkgs);
}
