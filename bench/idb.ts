/**
 * `tsx bench/idb.ts [--rounds N] [--out DIR]`: the IndexedDB backend in headless Chromium
 * (the payment hot path: rounds/s and p50/p99 round latency, with 0 and 5 HTLCs) beside the
 * browser's raw durable IndexedDB rate measured in the same run (three single-put strict
 * transactions per "raw round"). Prints a markdown table and writes
 * bench/results/idb-<timestamp>.json. Needs /usr/bin/chromium (.ci/install-chromium).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPageBundle } from '../test/idb/browser/bundle.js';
import { chromiumUnavailable, launchChromium, servePage } from '../test/idb/browser/chromium-harness.js';
import type { BenchRow } from './idb-page.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '300' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
  },
});
const rounds = Number(flags.rounds);
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new RangeError(`expected --rounds to be a positive integer, got ${flags.rounds}`);
const unavailable = chromiumUnavailable();
if (unavailable !== undefined) {
  console.error(`bench/idb: ${unavailable}`);
  process.exit(1);
}

const server = await servePage(await buildPageBundle(join(import.meta.dirname, 'idb-page.ts')));
const profile = mkdtempSync(join(tmpdir(), 'chand-bench-idb-'));
const browser = await launchChromium(profile);
let rows: BenchRow[];
let version: string;
try {
  version = browser.browser.version();
  const page = await browser.context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => (globalThis as { chandIdbBench?: { ready: boolean } }).chandIdbBench?.ready === true, undefined, { timeout: 30_000 });
  rows = (await page.evaluate((n) => (globalThis as unknown as { chandIdbBench: { bench(n: number): Promise<unknown> } }).chandIdbBench.bench(n), rounds)) as BenchRow[];
} finally {
  await browser.stop();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}

const f = (n: number, digits = 1) => n.toFixed(digits);
console.log(`\nIndexedDB in headless Chromium ${version} (strict durability), ${rounds} rounds per row\n`);
console.log('| scenario | rounds/s | p50 ms | p99 ms | vs raw |');
console.log('|---|---|---|---|---|');
for (let i = 0; i < rows.length; i++) {
  const r = rows[i]!;
  const raw = i % 2 === 0 ? rows[i + 1] : undefined;
  console.log(`| ${r.scenario} | ${f(r.roundsPerSec)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${raw === undefined ? '' : f(r.roundsPerSec / raw.roundsPerSec, 2)} |`);
}
mkdirSync(flags.out!, { recursive: true });
const file = join(flags.out!, `idb-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ browser: version, rounds, rows }, null, 2));
console.log(`\nwrote ${file}`);
