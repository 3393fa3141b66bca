/**
 * The crash test, once for every backend: a writer process (crash-writer.ts) runs the mixed
 * workload of crash-workload.ts against a real database and is SIGKILLed at random moments
 * shortly after it opened the database. After every kill the test reopens the database with
 * openChannelDb and reads everything the workload touches; it must equal the model after
 * the last operation the writer reported, or after the one in flight, never anything else.
 * The next writer continues from the operation the database holds. At the end the test
 * drains the purge and checks the counts are exact.
 *
 * A backend file calls crashSuite with how to get a fresh database; a backend that
 * CHAND_BACKENDS excludes, or that is unavailable, registers a skipped test with a loud reason.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { expect, it } from 'vitest';
import { openChannelDb, type ChannelDb, type ChannelDbConfig } from '../../src/channeldb/open.js';
import type { ChannelCloseSummary, CommitDiff, FinalHtlcInfo, FwdPkg, LogUpdate, OpenChannel, RevocationLogEntry } from '../../src/chanstate/types.js';
import { isChandError } from '../../src/errors.js';
import { backendSelected } from '../../src/testing/index.js';
import {
  compareChanPoints,
  currentModel,
  expectedRecord,
  finalHtlcKey,
  canonical,
  OP_KINDS,
  paymentOf,
  Workload,
  type FinalHtlcModel,
  type LinkNodeModel,
  type OpKind,
  type WorkloadState,
} from './crash-workload.js';
import { toWriterArgs } from './writer-args.js';
import { nodeArgs } from '../support/spawn-args.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const WRITER = join(repoRoot, 'test/crash/crash-writer.ts');
/** A writer that neither gets ready nor dies within this long is killed and fails the test. */
const WRITER_DEADLINE_MS = 60_000;

/** A fresh database for one crash test. */
export interface CrashTarget {
  /** How the writer and the verifier open it (postgres: with a schema). */
  readonly config: ChannelDbConfig;
  /**
   * Resolves once the killed writer can no longer change the database (a server may still
   * be finishing the dead client's transaction). Absent for embedded backends: the kill
   * ends every write.
   */
  settle?(): Promise<void>;
  /** Removes the database; called whatever the outcome. */
  cleanup(): Promise<void>;
}

/** Options of crashSuite. */
export interface CrashSuiteOptions {
  /** How many kills at least (default 24). */
  readonly kills?: number;
  /**
   * Keep killing (up to twice `kills`) until the database went through this many ops
   * (default 150), so a slow machine still exercises every kind of op.
   */
  readonly minOps?: number;
  /** Kill delays after "ready" are drawn uniformly from this range, in ms (default 20..400). */
  readonly delayMs?: readonly [number, number];
}

/** Registers a skipped crash test for `backend`, saying loudly why. */
export function skippedCrashSuite(backend: string, reason: string): void {
  console.warn(`\n!!! crash test on ${backend} is SKIPPED: ${reason} !!!\n`);
  it.skip(`${backend}: crash test (SKIPPED: ${reason})`, () => {});
}

/**
 * Registers the crash test of `backend`: `target` gives a fresh database (called inside the
 * test). Skipped loudly when CHAND_BACKENDS excludes the backend. The workload seed is
 * CHAND_CRASH_SEED, or random (printed, and named in failures, to replay a run).
 */
export function crashSuite(backend: 'lmdb' | 'sqlite' | 'postgres', target: () => Promise<CrashTarget>, options: CrashSuiteOptions = {}): void {
  if (!backendSelected(backend)) {
    skippedCrashSuite(backend, `CHAND_BACKENDS=${process.env['CHAND_BACKENDS']} excludes it`);
    return;
  }
  const kills = options.kills ?? 24;
  const minOps = options.minOps ?? 150;
  const [minDelay, maxDelay] = options.delayMs ?? [20, 400];
  const envSeed = process.env['CHAND_CRASH_SEED'];
  const seed = envSeed !== undefined && envSeed !== '' ? Number(envSeed) : Math.floor(Math.random() * 1_000_000);
  it(`${backend}: ${kills}+ SIGKILLs of a mixed workload leave the last reported or the next state (seed ${seed})`, { timeout: 420_000 }, async () => {
    const began = Date.now();
    const t = await target();
    const stateDir = await mkdtemp(join(tmpdir(), 'chand-crash-state-'));
    const workload = new Workload(seed);
    const purge: PurgeBounds = { logEntries: 0, fwdPkgs: 0, closedLogEntries: 0, closedFwdPkgs: 0 };
    let verified = 0;
    let oneAhead = 0;
    let kill = 0;
    const timing: Timing = { readyMs: 0, verifyMs: 0 };
    try {
      for (; kill < kills || (verified < minOps && kill < 2 * kills); kill++) {
        const delay = minDelay + Math.floor(Math.random() * (maxDelay - minDelay));
        let stateFile: string | undefined;
        if (verified > 0) {
          stateFile = join(stateDir, `after-${verified}.v8`);
          await writeFile(stateFile, serialize(workload.stateAfter(verified)));
        }
        const args = toWriterArgs({ seed, start: verified, config: t.config, ...(stateFile === undefined ? {} : { stateFile }) });
        const reported = await runAndKill(args, verified, delay, timing);
        if (stateFile !== undefined) await rm(stateFile);
        const verifyStart = Date.now();
        expect(reported, `kill ${kill}: the writer reported ${reported} but the database already held ${verified}`).toBeGreaterThanOrEqual(verified);
        await t.settle?.();
        const db = await openChannelDb(t.config);
        try {
          const keys = finalHtlcKeys(workload.stateAfter(reported + 1));
          const got = await readSnapshot(db, keys);
          if (matches(got, expectedSnapshot(workload.stateAfter(reported), keys))) {
            verified = reported;
          } else {
            // The only other acceptable state: the operation in flight at the kill committed.
            const want = expectedSnapshot(workload.stateAfter(reported + 1), keys);
            if (!matches(got, want)) {
              const vsReported = differences(printable(got), printable(expectedSnapshot(workload.stateAfter(reported), keys)));
              const last = reported === 0 ? 'the empty database' : workload.op(reported).label;
              expect(
                printable(got),
                `seed ${seed}, kill ${kill}: neither the state after op ${reported} (${last}; differs at ${vsReported.join(', ')}) ` +
                  `nor after op ${reported + 1} (${workload.op(reported + 1).label}; diff below)`,
              ).toEqual(printable(want));
            }
            verified = reported + 1;
            oneAhead++;
          }
          await checkPurgeBounds(db, workload.stateAfter(verified), purge);
        } finally {
          await db.close();
        }
        timing.verifyMs += Date.now() - verifyStart;
      }

      // Drain the purge: afterwards the counts are exact and nothing live was touched.
      const db = await openChannelDb(t.config);
      try {
        const state = workload.stateAfter(verified);
        let calls = 0;
        while (!(await db.channelState.purgeClosedChannels(50)).done) expect(++calls, 'purge never finishes').toBeLessThan(10_000);
        const keys = finalHtlcKeys(state);
        const got = await readSnapshot(db, keys);
        const want = expectedSnapshot(state, keys);
        if (!matches(got, want)) expect(printable(got), `seed ${seed}: the drained store differs from the model after op ${verified}`).toEqual(printable(want));
        const counts = await db.channelState.counts();
        expect({ revocationLogEntries: counts.revocationLogEntries, fwdPkgs: counts.fwdPkgs, closedAwaitingPurge: counts.closedAwaitingPurge }).toEqual({
          ...liveBulk(state),
          closedAwaitingPurge: 0,
        });
      } finally {
        await db.close();
      }

      // The kills landed mid-stream, and the ops the database went through mixed every kind.
      const kinds = tally(workload, verified);
      expect(verified).toBeGreaterThan(kill);
      expect(OP_KINDS.filter((k) => kinds[k] === 0), `seed ${seed}: op kinds never committed in ${verified} ops`).toEqual([]);
      const state = workload.stateAfter(verified);
      console.log(
        `crash test ${backend} (seed ${seed}): ${kill} kills in ${((Date.now() - began) / 1000).toFixed(1)} s, ${verified} ops verified, ` +
          `${oneAhead} kills with the in-flight op committed; at the end ${state.live.length} live and ${state.closed.length} closed channels; ` +
          `per kill: writer start ${(timing.readyMs / kill).toFixed(0)} ms, verify ${(timing.verifyMs / kill).toFixed(0)} ms\n` +
          OP_KINDS.map((k) => `  ${k.padEnd(16)} ${String(kinds[k]).padStart(5)}`).join('\n'),
      );
    } finally {
      await rm(stateDir, { recursive: true, force: true });
      await t.cleanup();
    }
  });
}

/** Where a run's time went, summed over kills. */
interface Timing {
  /** From spawning a writer to its "ready". */
  readyMs: number;
  /** Reopening and comparing after a kill. */
  verifyMs: number;
}

/** How many of each op kind ops 1..n are. */
function tally(workload: Workload, n: number): Record<OpKind, number> {
  const kinds = Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<OpKind, number>;
  for (let k = 1; k <= n; k++) kinds[workload.op(k).kind]++;
  return kinds;
}

/**
 * Runs the writer with `args`, SIGKILLs it `delayMs` after it printed "ready", waits for it
 * to exit, and returns the last operation it reported (`start` if none).
 */
function runAndKill(args: readonly string[], start: number, delayMs: number, timing: Timing): Promise<number> {
  return new Promise((resolve, reject) => {
    const spawned = Date.now();
    const child = spawn(process.execPath, nodeArgs(WRITER, args), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let last = start;
    let buffered = '';
    let stderr = '';
    let killer: NodeJS.Timeout | undefined;
    let overdue = false;
    const deadline = setTimeout(() => {
      overdue = true;
      child.kill('SIGKILL');
    }, WRITER_DEADLINE_MS);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') {
          timing.readyMs += Date.now() - spawned;
          killer = setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
        else if (line.startsWith('op ')) last = Number(line.slice(3));
      }
    });
    child.on('error', reject);
    // 'close', not 'exit': lines the writer printed just before the kill may still be in the
    // pipe when it exits, and a missed report would look like a commit nobody reported.
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (killer !== undefined) clearTimeout(killer);
      if (overdue) reject(new Error(`writer still running after ${WRITER_DEADLINE_MS / 1000} s (ready: ${killer !== undefined}); killed: ${stderr}`));
      else if (signal === 'SIGKILL' && killer !== undefined) resolve(last);
      else reject(new Error(`writer ended without our kill (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

/** What one channel that is not closed looks like through the store's reads. */
interface ChannelSnapshot {
  readonly record: OpenChannel;
  readonly tip: CommitDiff | null;
  readonly unsignedAcked: readonly LogUpdate[];
  readonly remoteUnsignedLocal: readonly LogUpdate[];
  readonly tail: number | null;
  readonly revocationLog: readonly RevocationLogEntry[];
  readonly fwdPkgs: readonly FwdPkg[];
}

/** Everything the workload changes, as read back from a store (link nodes without lastSeenMs). */
interface StoreSnapshot {
  readonly channels: readonly ChannelSnapshot[];
  readonly closed: readonly ChannelCloseSummary[];
  readonly historical: readonly OpenChannel[];
  readonly linkNodes: readonly LinkNodeModel[];
  readonly finalHtlcs: ReadonlyArray<{ readonly key: string; readonly outcome: FinalHtlcInfo | null }>;
  readonly counts: { readonly openChannels: number; readonly pendingChannels: number; readonly waitingCloseChannels: number; readonly closedChannels: number };
}

/** The final HTLC outcomes worth reading in `state`: those recorded, and those the rounds in flight will record. */
function finalHtlcKeys(state: WorkloadState): FinalHtlcModel[] {
  const keys = new Map(state.finalHtlcs);
  for (const c of state.live) {
    if (c.round === undefined || c.model === undefined) continue;
    for (const [htlcIndex, settled] of paymentOf(c).plan.settled) keys.set(finalHtlcKey(c.model.scid, htlcIndex), { scid: c.model.scid, htlcIndex, settled });
  }
  return [...keys.values()];
}

const byKey = <T extends { chanPoint: ChannelCloseSummary['chanPoint'] }>(xs: readonly T[]) => [...xs].sort((a, b) => compareChanPoints(a.chanPoint, b.chanPoint));

async function readSnapshot(db: ChannelDb, finalKeys: readonly FinalHtlcModel[]): Promise<StoreSnapshot> {
  const s = db.channelState;
  const channels: ChannelSnapshot[] = [];
  for (const record of await s.fetchAllChannels()) {
    const op = record.fundingOutpoint;
    let tip: CommitDiff | null = null;
    try {
      tip = await s.remoteCommitChainTip(op);
    } catch (err) {
      if (!isChandError(err, 'NO_PENDING_COMMIT')) throw err;
    }
    channels.push({
      record,
      tip,
      unsignedAcked: await s.unsignedAckedUpdates(op),
      remoteUnsignedLocal: await s.remoteUnsignedLocalUpdates(op),
      tail: (await s.revocationLogTailHeight(op)) ?? null,
      revocationLog: await s.fetchRevocationLog(op, 0, 1_000_000),
      fwdPkgs: await s.loadFwdPkgs(op),
    });
  }
  const closed = byKey(await s.fetchClosedChannels(false));
  const historical: OpenChannel[] = [];
  for (const summary of closed) historical.push(await s.fetchHistoricalChannel(summary.chanPoint));
  const finalHtlcs: Array<{ key: string; outcome: FinalHtlcInfo | null }> = [];
  for (const f of finalKeys) {
    let outcome: FinalHtlcInfo | null = null;
    try {
      outcome = await s.lookupFinalHtlc(f.scid, f.htlcIndex);
    } catch (err) {
      if (!isChandError(err, 'HTLC_UNKNOWN')) throw err;
    }
    finalHtlcs.push({ key: finalHtlcKey(f.scid, f.htlcIndex), outcome });
  }
  const { openChannels, pendingChannels, waitingCloseChannels, closedChannels } = await s.counts();
  return {
    channels,
    closed,
    historical,
    linkNodes: (await db.linkNodes.fetchAllLinkNodes()).map(({ network, identityPub, addresses }) => ({ network, identityPub, addresses })),
    finalHtlcs,
    counts: { openChannels, pendingChannels, waitingCloseChannels, closedChannels },
  };
}

function expectedSnapshot(state: WorkloadState, finalKeys: readonly FinalHtlcModel[]): StoreSnapshot {
  const live = [...state.live].sort((a, b) => compareChanPoints(a.base.fundingOutpoint, b.base.fundingOutpoint));
  const closed = byKey(state.closed.map((c) => ({ ...c, chanPoint: c.summary.chanPoint })));
  return {
    channels: live.map((c) => {
      const model = currentModel(c);
      return {
        record: expectedRecord(c),
        tip: c.round?.step === 1 ? paymentOf(c).plan.tip : null,
        unsignedAcked: model?.unsignedAcked ?? [],
        remoteUnsignedLocal: model?.remoteUnsignedLocal ?? [],
        tail: model?.revocationLog.at(-1)?.commitHeight ?? null,
        revocationLog: model?.revocationLog ?? [],
        fwdPkgs: c.pkgs,
      };
    }),
    closed: closed.map((c) => c.summary),
    historical: closed.map((c) => c.historical),
    linkNodes: [...state.linkNodes.values()].sort((a, b) => (a.identityPub < b.identityPub ? -1 : a.identityPub > b.identityPub ? 1 : 0)),
    finalHtlcs: finalKeys.map((f) => {
      const recorded = state.finalHtlcs.get(finalHtlcKey(f.scid, f.htlcIndex));
      return { key: finalHtlcKey(f.scid, f.htlcIndex), outcome: recorded === undefined ? null : { settled: recorded.settled, offchain: true } };
    }),
    counts: {
      openChannels: state.live.filter((c) => c.model !== undefined).length,
      pendingChannels: state.live.filter((c) => c.model === undefined).length,
      waitingCloseChannels: 0,
      closedChannels: state.closed.length,
    },
  };
}

/** The canonical form as plain JSON (bytes as hex), for readable diffs; toEqual on the raw values is slow and prints bytes one per line. */
function printable(snapshot: StoreSnapshot): unknown {
  return JSON.parse(canonical(snapshot));
}

/** Paths (at most `limit`) where two printable values differ, for failure messages. */
function differences(got: unknown, want: unknown, path = '', out: string[] = [], limit = 8): string[] {
  if (out.length >= limit) return out;
  if (typeof got !== 'object' || typeof want !== 'object' || got === null || want === null) {
    if (got !== want) out.push(`${path || '.'} (got ${JSON.stringify(got)?.slice(0, 40)}, want ${JSON.stringify(want)?.slice(0, 40)})`);
    return out;
  }
  const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
  for (const k of keys) differences((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${path}.${k}`, out, limit);
  return out;
}

/** Deep equality as toEqual sees it (see canonical), without failing the test. */
function matches(got: StoreSnapshot, want: StoreSnapshot): boolean {
  return canonical(got) === canonical(want);
}

/** Revocation log entries and forwarding packages of the channels that are not closed. */
function liveBulk(state: WorkloadState): { revocationLogEntries: number; fwdPkgs: number } {
  let revocationLogEntries = 0;
  let fwdPkgs = 0;
  for (const c of state.live) {
    revocationLogEntries += currentModel(c)?.revocationLog.length ?? 0;
    fwdPkgs += c.pkgs.length;
  }
  return { revocationLogEntries, fwdPkgs };
}

/** What the last check saw of closed channels' bulk data: left over, and closed in total. */
interface PurgeBounds {
  logEntries: number;
  fwdPkgs: number;
  closedLogEntries: number;
  closedFwdPkgs: number;
}

/**
 * The purge is not modelled record by record (its batches are the backend's choice), so the
 * closed channels' leftover bulk data is bounded instead: never negative (live data was not
 * purged), never more than closes added since the last check (a purge is never undone).
 */
async function checkPurgeBounds(db: ChannelDb, state: WorkloadState, bounds: PurgeBounds): Promise<void> {
  const counts = await db.channelState.counts();
  const live = liveBulk(state);
  const logLeft = counts.revocationLogEntries - live.revocationLogEntries;
  const pkgsLeft = counts.fwdPkgs - live.fwdPkgs;
  expect(logLeft).toBeGreaterThanOrEqual(0);
  expect(pkgsLeft).toBeGreaterThanOrEqual(0);
  expect(logLeft).toBeLessThanOrEqual(bounds.logEntries + state.closedBulk.logEntries - bounds.closedLogEntries);
  expect(pkgsLeft).toBeLessThanOrEqual(bounds.fwdPkgs + state.closedBulk.fwdPkgs - bounds.closedFwdPkgs);
  expect(counts.closedAwaitingPurge).toBeLessThanOrEqual(state.closed.length);
  bounds.logEntries = logLeft;
  bounds.fwdPkgs = pkgsLeft;
  bounds.closedLogEntries = state.closedBulk.logEntries;
  bounds.closedFwdPkgs = state.closedBulk.fwdPkgs;
}
