// The page side of the Chromium tests (bundled by bundle.ts with `vitest` aliased to
// vitest-shim.ts): the conformance suite on the real browser's IndexedDB, and the steps of
// the reload, kill and tab tests, exposed on globalThis.chandIdb for page.evaluate.
import { openBrowserChannelDb, type BrowserChannelDb } from '../../../src/channeldb/open-browser.js';
import type { ChannelStateStore } from '../../../src/chanstate/store.js';
import type { OpenChannel, OutPoint } from '../../../src/chanstate/types.js';
import { environmentIdb } from '../../../src/idb/idb-api.js';
import { IDB_SCHEMA_VERSION } from '../../../src/idb/migrations.js';
import { addChannel, makeChannel, makeExternallyFunded, modelOf, PaymentRound, runChannelStoreConformance, runPaymentStoreConformance, type ChannelModel } from '../../../src/testing/index.js';
import { expect, runRegistered, type TestResult } from './vitest-shim.js';

const idb = environmentIdb()!;

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = idb.indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** Values as comparable text: bigints, bytes and maps spelled out. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `0x${Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    if (v instanceof Map) return { map: [...v.entries()] };
    return v;
  });
}

/** Whether `actual` deep-equals `expected` as toEqual sees it (key order does not matter); logs the diff otherwise. */
function same(actual: unknown, expected: unknown): boolean {
  try {
    expect(actual).toEqual(expected);
    return true;
  } catch (err) {
    console.error(String(err));
    return false;
  }
}

function codeOf(err: unknown): string {
  return (err as { code?: string }).code ?? String(err);
}

// --- the conformance suite -------------------------------------------------------------------

let counter = 0;

async function conformance(): Promise<TestResult[]> {
  const run = `${Date.now()}`;
  runChannelStoreConformance('indexeddb (chromium)', async () => {
    const name = `conformance-${run}-${counter++}`;
    // The real thing: the environment's IndexedDB and Web Locks.
    const db = await openBrowserChannelDb({ name });
    return { db, cleanup: async () => (await db.close(), await deleteDatabase(name)) };
  });
  runPaymentStoreConformance(
    'indexeddb (chromium)',
    async () => {
      const name = `payments-${run}-${counter++}`;
      const opened: BrowserChannelDb[] = [];
      const open = async () => {
        const db = await openBrowserChannelDb({ name });
        opened.push(db);
        return db;
      };
      return { db: await open(), reopen: open, cleanup: async () => (await Promise.all(opened.map((db) => db.close())), await deleteDatabase(name)) };
    },
    { durable: true },
  );
  return runRegistered();
}

// --- reload and kill: a pending channel with external funding state ----------------------------

const external = makeExternallyFunded(7);
const PEER_ADDRESS = '203.0.113.7:9735';

async function writeExternal(name: string): Promise<void> {
  const db = await openBrowserChannelDb({ name });
  try {
    await db.coordinator.syncPendingChannel(external.channel, PEER_ADDRESS, external.channel.fundingBroadcastHeight);
  } finally {
    await db.close();
  }
}

/** Reads the channel back, compares it with what was written, then continues the flow (submit). */
async function readExternal(name: string): Promise<{ channel: boolean; state: boolean; all: number; linkNode: boolean; submitted: boolean }> {
  const db = await openBrowserChannelDb({ name });
  try {
    const op = external.channel.fundingOutpoint;
    const channel = same(await db.channelState.fetchChannel(op), external.channel);
    const state = same(await db.channelState.fetchExternalFunding(op), external.channel.externalFunding);
    const all = (await db.channelState.fetchAllExternalFundings()).length;
    const linkNode = (await db.linkNodes.addrsForNode(external.channel.identityPub)).addresses.includes(PEER_ADDRESS);
    const submitted = (await db.channelState.submitExternalFunding(op, external.signedTx)).submitted;
    return { channel, state, all, linkNode, submitted };
  } finally {
    await db.close();
  }
}

// --- a burst of commitment updates, interrupted by closing the page --------------------------

const burstChannel = makeChannel(11);

type Step = (s: ChannelStateStore) => Promise<unknown>;

/** The burst: `rounds` payment rounds of three store calls each, every call one transaction. */
function burstSteps(rounds: number): Step[] {
  const steps: Step[] = [];
  let model: ChannelModel = modelOf(burstChannel);
  for (let r = 0; r < rounds; r++) {
    const round = new PaymentRound(model, { remoteAdds: 1 });
    steps.push((s) => round.append(s), (s) => round.advance(s), (s) => round.update(s));
    model = round.plan.next;
  }
  return steps;
}

/** Everything the burst changes, as text. */
async function snapshot(s: ChannelStateStore, op: OutPoint): Promise<string> {
  const tip = await s.remoteCommitChainTip(op).catch((err: unknown) => {
    if (codeOf(err) === 'NO_PENDING_COMMIT') return null;
    throw err;
  });
  return canonical({
    channel: await s.fetchChannel(op),
    tip,
    acked: await s.unsignedAckedUpdates(op),
    unsignedLocal: await s.remoteUnsignedLocalUpdates(op),
    log: await s.fetchRevocationLog(op, 0, 1_000_000),
    pkgs: await s.loadFwdPkgs(op),
  });
}

const progress = { done: 0, error: '' };

async function prepareBurst(name: string): Promise<void> {
  const db = await openBrowserChannelDb({ name });
  try {
    await addChannel(db, burstChannel);
  } finally {
    await db.close();
  }
}

/** Runs the burst without returning: the Node side watches `burstProgress` and closes the page. */
function startBurst(name: string, rounds: number): void {
  void (async () => {
    const db = await openBrowserChannelDb({ name });
    for (const step of burstSteps(rounds)) {
      await step(db.channelState);
      progress.done++;
    }
  })().catch((err: unknown) => {
    progress.error = String(err);
  });
}

function burstProgress(): { done: number; error: string } {
  return { ...progress };
}

/**
 * Which prefix of the burst the database holds: replays the burst on a fresh reference
 * database and returns the k whose state after k steps equals the stored one, or -1 if no
 * prefix matches (a torn update).
 */
async function findPrefix(name: string, rounds: number): Promise<{ k: number; total: number }> {
  const op = burstChannel.fundingOutpoint;
  const db = await openBrowserChannelDb({ name });
  let stored: string;
  try {
    stored = await snapshot(db.channelState, op);
  } finally {
    await db.close();
  }
  const refName = `${name}-reference`;
  const ref = await openBrowserChannelDb({ name: refName });
  const steps = burstSteps(rounds);
  try {
    await addChannel(ref, burstChannel);
    for (let k = 0; k <= steps.length; k++) {
      if ((await snapshot(ref.channelState, op)) === stored) return { k, total: steps.length };
      if (k < steps.length) await steps[k]!(ref.channelState);
    }
    return { k: -1, total: steps.length };
  } finally {
    await ref.close();
    await deleteDatabase(refName);
  }
}

// --- tabs and versions -----------------------------------------------------------------------

let held: BrowserChannelDb | undefined;

async function openAndHold(name: string): Promise<string> {
  try {
    held = await openBrowserChannelDb({ name });
    await held.linkNodes.fetchAllLinkNodes();
    return 'ok';
  } catch (err) {
    return codeOf(err);
  }
}

async function heldCall(): Promise<string> {
  try {
    await held!.linkNodes.fetchAllLinkNodes();
    return 'ok';
  } catch (err) {
    return codeOf(err);
  }
}

async function closeHeld(): Promise<void> {
  await held?.close();
  held = undefined;
}

/** Opens the database at a version newer than this chand's, as a newer chand in another tab would. */
function upgradeRaw(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = idb.indexedDB.open(name, IDB_SCHEMA_VERSION + 1);
    request.onupgradeneeded = () => request.result.createObjectStore('from-a-newer-chand');
    request.onsuccess = () => {
      const version = request.result.version;
      request.result.close();
      resolve(version);
    };
    request.onerror = () => reject(request.error);
  });
}

const api = {
  conformance,
  writeExternal,
  readExternal,
  prepareBurst,
  startBurst,
  burstProgress,
  findPrefix,
  openAndHold,
  heldCall,
  closeHeld,
  upgradeRaw,
  ready: true,
  externalChannel: (): OpenChannel => external.channel,
};

/** What the Node side calls through page.evaluate. */
export type ChandIdbPageApi = typeof api;

(globalThis as { chandIdb?: ChandIdbPageApi }).chandIdb = api;
