/**
 * `tsx bench/hot-path-profile.ts --backend sqlite --htlcs 5 --rounds 2000`: the payment hot
 * path alone (appendRemoteCommitChain + advanceCommitChainTail + updateCommitment on one
 * channel, serial rounds), opened the way a node opens it (openChannelDb, durable settings
 * unless `--no-sync` on LMDB). Round plans are made before the timed loop; `--profile FILE`
 * writes a V8 CPU profile of the timed loop only (read it with bench/read-cpuprofile.ts);
 * `--statements` (SQLite) sums the time of every SQL statement and COMMIT;
 * `--secret-to-point noble` checks revealed secrets with noble instead of openChannelDb's
 * libsecp256k1 (an A/B of the injected SecretToPoint in one tree). Prints rounds/s
 * and the process CPU time per round; no assertions.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { revealedPoint } from '../src/bitcoin/secret-point.js';
import { openChannelDb, type ChannelDbConfig } from '../src/channeldb/open.js';
import type { OpenChannel } from '../src/chanstate/types.js';
import { createThrowawayDatabase, findPostgres } from '../tools/postgres-server.js';
import { makeChannel, modelOf, planRound, type RoundPlan } from '../src/testing/fixtures.js';

const { values: flags } = parseArgs({
  options: {
    backend: { type: 'string', default: 'sqlite' },
    htlcs: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '1000' },
    /** SQLite only: time every better-sqlite3 statement run, summed by SQL text. */
    statements: { type: 'boolean', default: false },
    /** LMDB only: skip fsync, so the rounds measure CPU (not durable: a profiling aid). */
    'no-sync': { type: 'boolean', default: false },
    /** Write a V8 CPU profile of the timed rounds only (node:inspector) to this file. */
    profile: { type: 'string' },
    /** secret·G of the revealed-secret check: openChannelDb's (libsecp256k1, the default) or noble's. */
    'secret-to-point': { type: 'string', default: 'libsecp256k1' },
  },
});
const htlcs = Number.parseInt(flags.htlcs!, 10);
const rounds = Number.parseInt(flags.rounds!, 10);
if (!Number.isSafeInteger(htlcs) || htlcs < 0) throw new RangeError(`expected --htlcs to be a count, got ${flags.htlcs}`);
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new RangeError(`expected --rounds to be a positive count, got ${flags.rounds}`);
if (flags['secret-to-point'] !== 'libsecp256k1' && flags['secret-to-point'] !== 'noble') {
  throw new TypeError(`expected --secret-to-point libsecp256k1 or noble, got ${flags['secret-to-point']}`);
}

const post = (session: Session, method: string) =>
  new Promise<unknown>((resolve, reject) => session.post(method, (err, result) => (err === null ? resolve(result) : reject(err))));

const dir = mkdtempSync(join(tmpdir(), 'chand-hot-path-'));
let dropDatabase: (() => Promise<void>) | undefined;
let config: ChannelDbConfig;
switch (flags.backend) {
  case 'lmdb':
  case 'sqlite':
    config = flags.backend === 'lmdb' && flags['no-sync'] === true ? { backend: 'lmdb', path: dir, noSync: true } : { backend: flags.backend, path: dir };
    break;
  case 'postgres': {
    const { server, reasons } = await findPostgres();
    if (server === undefined) throw new Error(`PostgreSQL unavailable: ${reasons.join('; ')}`);
    const database = await createThrowawayDatabase(server, 'chand_profile');
    dropDatabase = async () => (await database.drop(), await server.stop());
    config = { backend: 'postgres', url: database.url, maxConnections: 4 };
    break;
  }
  default:
    throw new TypeError(`expected --backend lmdb, sqlite or postgres, got ${flags.backend}`);
}

const base = makeChannel(1, {}, { htlcs, dust: 0, peer: 1 });
const balanced = (c: OpenChannel['localCommitment']) => ({ ...c, remoteBalanceMsat: 100_000_000n });
const channel: OpenChannel = { ...base, localCommitment: balanced(base.localCommitment), remoteCommitment: balanced(base.remoteCommitment) };
const plans: RoundPlan[] = [];
let model = modelOf(channel);
for (let i = 0; i < rounds; i++) {
  const plan = planRound(model, { ourAdds: 1, remoteAdds: 1, htlcs, dust: 0 });
  plans.push(plan);
  model = { ...plan.next, revocationLog: [], fwdPkgs: [], finalHtlcs: new Map() };
}

/** Time spent in better-sqlite3 statement runs, by SQL text (with --statements). */
const statementTimes = new Map<string, { calls: number; ms: number }>();
const commitTimes: number[] = [];
if (flags.statements === true) {
  const probe = new BetterSqlite3(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<'run' | 'all' | 'get', (...args: unknown[]) => unknown> & { source: string };
  probe.close();
  for (const name of ['run', 'all', 'get'] as const) {
    const original = proto[name];
    proto[name] = function (this: { source: string }, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        const entry = statementTimes.get(this.source) ?? { calls: 0, ms: 0 };
        entry.calls++;
        const ms = performance.now() - t0;
        entry.ms += ms;
        if (this.source === 'commit') commitTimes.push(ms);
        statementTimes.set(this.source, entry);
      }
    };
  }
}

const db = await openChannelDb(config, flags['secret-to-point'] === 'noble' ? { secretToPoint: revealedPoint } : {});
try {
  await db.coordinator.syncPendingChannel({ ...channel, isPending: true, shortChannelId: 0n }, undefined, channel.fundingBroadcastHeight);
  await db.channelState.markOpen(channel.fundingOutpoint, channel.shortChannelId);
  const op = channel.fundingOutpoint;
  const session = flags.profile === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.start');
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const plan of plans) {
    await db.channelState.appendRemoteCommitChain(op, plan.diff);
    await db.channelState.advanceCommitChainTail(op, plan.advance);
    await db.channelState.updateCommitment(op, plan.newLocal, plan.unsignedAckedArg);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (session !== undefined) {
    const { profile } = (await post(session, 'Profiler.stop')) as { profile: unknown };
    writeFileSync(flags.profile!, JSON.stringify(profile));
    session.disconnect();
  }
  process.stdout.write(`${flags.backend} ${htlcs} HTLCs, ${flags['secret-to-point']} secret·G: ${rounds} rounds in ${seconds.toFixed(2)} s, ${(rounds / seconds).toFixed(0)} rounds/s, CPU ${((cpu.user + cpu.system) / 1000 / rounds).toFixed(3)} ms/round\n`);
  if (commitTimes.length > 0) {
    const sorted = [...commitTimes].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(3);
    process.stdout.write(`commit ms: p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} max ${at(1)} mean ${(sorted.reduce((a, b) => a + b, 0) / sorted.length).toFixed(3)}\n`);
  }
  for (const [text, { calls, ms }] of [...statementTimes].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) {
    process.stdout.write(`${(ms / rounds).toFixed(3).padStart(7)} ms/round ${String(calls).padStart(7)} calls  ${text.replace(/\s+/g, ' ').slice(0, 150)}\n`);
  }
} finally {
  await db.close();
  await dropDatabase?.();
  rmSync(dir, { recursive: true, force: true });
}
