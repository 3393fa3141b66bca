/**
 * The page side of `bench/idb.ts` (bundled for Chromium): the payment hot path on the
 * IndexedDB channel-state store, beside the browser's raw durable rate in the same run.
 *
 * A round is appendRemoteCommitChain + advanceCommitChainTail + updateCommitment (three
 * strict-durability transactions, persist before send). The "raw round" is three serial
 * single-put readwrite transactions (strict durability) of the same byte sizes as the
 * three store calls' main records, on a bare object store: `vs raw` = store ÷ raw.
 */
import { openBrowserChannelDb } from '../src/channeldb/open-browser.js';
import { commitDiffRecord, commitmentRecord, fwdPkgRecord } from '../src/chanstate/records.js';
import { environmentIdb } from '../src/idb/idb-api.js';
import { addChannel, makeChannel, modelOf, PaymentRound, type ChannelModel, type RoundSpec } from '../src/testing/index.js';

const idb = environmentIdb()!;

/** One scenario's result. */
export interface BenchRow {
  readonly scenario: string;
  readonly rounds: number;
  readonly roundsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function row(scenario: string, latencies: number[], totalMs: number): BenchRow {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { scenario, rounds: latencies.length, roundsPerSec: (latencies.length * 1000) / totalMs, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = idb.indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** `rounds` payment rounds with `htlcs` HTLCs on the commitments; plans are computed before timing. */
async function hotPath(htlcs: number, rounds: number): Promise<{ store: BenchRow; raw: BenchRow }> {
  const name = `bench-hot-${htlcs}-${Date.now()}`;
  const db = await openBrowserChannelDb({ name });
  const channel = await addChannel(db, makeChannel(1));
  const spec: RoundSpec = { remoteAdds: 1, htlcs, dust: htlcs === 0 ? 0 : 1 };
  const plans: PaymentRound[] = [];
  let model: ChannelModel = modelOf(channel);
  for (let i = 0; i < rounds; i++) {
    const round = new PaymentRound(model, spec);
    plans.push(round);
    model = round.plan.next;
  }
  const latencies: number[] = [];
  const started = performance.now();
  for (const round of plans) {
    const t = performance.now();
    await round.run(db.channelState);
    latencies.push(performance.now() - t);
  }
  const store = row(`IndexedDB store, ${htlcs} HTLCs`, latencies, performance.now() - started);
  await db.close();
  await deleteDatabase(name);

  // Raw: the same three record sizes, one put per strict transaction.
  const sample = plans[0]!.plan;
  const sizes = [commitDiffRecord.encode(sample.diff).length, commitmentRecord.encode(sample.diff.commitment).length + fwdPkgRecord.encode(sample.advance.fwdPkg).length, commitmentRecord.encode(sample.newLocal).length];
  const raw = await rawRounds(`raw IndexedDB (3 single-put transactions), ${htlcs} HTLCs`, sizes, rounds);
  return { store, raw };
}

async function rawRounds(scenario: string, sizes: readonly number[], rounds: number): Promise<BenchRow> {
  const name = `bench-raw-${Date.now()}`;
  const db = await new Promise<{ transaction(s: string, m: 'readwrite', o: object): { objectStore(s: string): { put(v: unknown, k: number): unknown }; oncomplete: (() => void) | null; onabort: (() => void) | null; error: unknown }; close(): void }>((resolve, reject) => {
    const request = idb.indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('raw');
    request.onsuccess = () => resolve(request.result as never);
    request.onerror = () => reject(request.error);
  });
  const values = sizes.map((n) => crypto.getRandomValues(new Uint8Array(n)));
  const put = (key: number, value: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      const tx = db.transaction('raw', 'readwrite', { durability: 'strict' });
      tx.objectStore('raw').put(value, key);
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
    });
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    for (let j = 0; j < values.length; j++) await put(i * values.length + j, values[j]!);
    latencies.push(performance.now() - t);
  }
  const result = row(scenario, latencies, performance.now() - started);
  db.close();
  await deleteDatabase(name);
  return result;
}

async function bench(rounds: number): Promise<BenchRow[]> {
  const out: BenchRow[] = [];
  for (const htlcs of [0, 5]) {
    const { store, raw } = await hotPath(htlcs, rounds);
    out.push(store, raw);
  }
  return out;
}

(globalThis as { chandIdbBench?: unknown }).chandIdbBench = { bench, ready: true };
