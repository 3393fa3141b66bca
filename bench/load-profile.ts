/**
 * `tsx bench/load-profile.ts --backend sqlite --channels 10000 [--profile out.cpuprofile]`:
 * fills a database with `channels` open channels (as bench/store.ts's load test does: every
 * tenth with 2 HTLCs per commitment), then times openChannelDb and fetchAllChannels apart,
 * in a fresh open, for running under the V8 profiler (`--profile`: that phase only). Prints
 * the times; no assertions. `--dir` keeps (and reuses) a filled SQLite/LMDB directory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openChannelDb, type ChannelDb, type ChannelDbConfig } from '../src/channeldb/open.js';
import type { OpenChannel } from '../src/chanstate/types.js';
import { bytesToHex } from '../src/codec/bytes.js';
import { makeChannel, peerPub, scidOf } from '../src/testing/fixtures.js';
import { createThrowawayDatabase, findPostgres } from '../tools/postgres-server.js';

const { values: flags } = parseArgs({
  options: {
    backend: { type: 'string', default: 'sqlite' },
    channels: { type: 'string', default: '10000' },
    dir: { type: 'string' },
    profile: { type: 'string' },
    repeat: { type: 'string', default: '3' },
  },
});
const count = Number.parseInt(flags.channels!, 10);
const repeat = Number.parseInt(flags.repeat!, 10);
if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`expected --channels to be a positive count, got ${flags.channels}`);
if (!Number.isSafeInteger(repeat) || repeat < 1 || repeat > 20) throw new RangeError(`expected --repeat in 1..20, got ${flags.repeat}`);

const post = (session: Session, method: string) =>
  new Promise<unknown>((resolve, reject) => session.post(method, (err, result) => (err === null ? resolve(result) : reject(err))));

const keep = flags.dir !== undefined;
const dir = flags.dir ?? mkdtempSync(join(tmpdir(), 'chand-load-'));
const filled = keep && existsSync(join(dir, 'filled'));
mkdirSync(dir, { recursive: true });
let dropDatabase: (() => Promise<void>) | undefined;
let config: ChannelDbConfig;
switch (flags.backend) {
  case 'lmdb':
  case 'sqlite':
    config = { backend: flags.backend, path: dir };
    break;
  case 'postgres': {
    const { server, reasons } = await findPostgres();
    if (server === undefined) throw new Error(`PostgreSQL unavailable: ${reasons.join('; ')}`);
    const database = await createThrowawayDatabase(server, 'chand_load');
    dropDatabase = async () => (await database.drop(), await server.stop());
    config = { backend: 'postgres', url: database.url, maxConnections: 20 };
    break;
  }
  default:
    throw new TypeError(`expected --backend lmdb, sqlite or postgres, got ${flags.backend}`);
}

function channelsOf(n: number): OpenChannel[] {
  const balanced = (c: OpenChannel): OpenChannel => ({
    ...c,
    localCommitment: { ...c.localCommitment, remoteBalanceMsat: 100_000_000n },
    remoteCommitment: { ...c.remoteCommitment, remoteBalanceMsat: 100_000_000n },
  });
  const idle = balanced(makeChannel(4_000, {}, { htlcs: 0, dust: 0, peer: 4_000 }));
  const busy = balanced(makeChannel(4_001, {}, { htlcs: 2, dust: 0, peer: 4_001 }));
  const peers = Array.from({ length: 200 }, (_, i) => peerPub(4_000 + i));
  return Array.from({ length: n }, (_, i) => ({
    ...(i % 10 === 0 ? busy : idle),
    fundingOutpoint: { txid: bytesToHex(randomBytes(32)), index: i % 4 },
    revocationKeyLocator: { family: 5, index: 100_000 + i },
    identityPub: peers[i % peers.length]!,
    shortChannelId: scidOf(700_000 + Math.floor(i / 1_000), i % 1_000, i % 4),
  }));
}

async function fill(db: ChannelDb, channels: readonly OpenChannel[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < channels.length) {
        const channel = channels[next++]!;
        await db.coordinator.syncPendingChannel({ ...channel, isPending: true, shortChannelId: 0n }, undefined, channel.fundingBroadcastHeight);
        await db.channelState.markOpen(channel.fundingOutpoint, channel.shortChannelId);
      }
    }),
  );
}

try {
  if (!filled) {
    const db = await openChannelDb(config);
    await fill(db, channelsOf(count));
    await db.close();
    if (keep) writeFileSync(join(dir, 'filled'), '');
  }
  for (let r = 0; r < repeat; r++) {
    const session = flags.profile !== undefined && r === repeat - 1 ? new Session() : undefined;
    if (session !== undefined) {
      session.connect();
      await post(session, 'Profiler.enable');
      await post(session, 'Profiler.start');
    }
    const t0 = performance.now();
    const db = await openChannelDb(config);
    const t1 = performance.now();
    const loaded = await db.channelState.fetchAllChannels();
    const t2 = performance.now();
    if (session !== undefined) {
      const { profile } = (await post(session, 'Profiler.stop')) as { profile: unknown };
      writeFileSync(flags.profile!, JSON.stringify(profile));
      session.disconnect();
    }
    await db.close();
    process.stdout.write(`${flags.backend}: open ${(t1 - t0).toFixed(0)} ms, fetchAllChannels ${(t2 - t1).toFixed(0)} ms (${loaded.length} channels), total ${(t2 - t0).toFixed(0)} ms\n`);
  }
} finally {
  await dropDatabase?.();
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
