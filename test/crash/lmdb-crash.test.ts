// Crash safety on LMDB: a child process applies commitment updates in a loop and reports
// each commit; it is killed with SIGKILL at random moments. After every kill the database
// must open and hold exactly the last reported state or the one after it, never a mix.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openChannelDb } from '../../src/channeldb/open.js';
import { isChandError } from '../../src/errors.js';
import type { ChannelStateStore } from '../../src/chanstate/store.js';
import { CHANNEL, CrashModel, type Snapshot } from './crash-model.js';

const KILLS = 24;
const repoRoot = join(import.meta.dirname, '..', '..');

async function snapshot(store: ChannelStateStore): Promise<Snapshot> {
  const op = CHANNEL.fundingOutpoint;
  const channel = await store.fetchChannel(op);
  let tip: Snapshot['tip'] = null;
  try {
    tip = await store.remoteCommitChainTip(op);
  } catch (err) {
    if (!isChandError(err, 'NO_PENDING_COMMIT')) throw err;
  }
  return {
    local: channel.localCommitment,
    remote: channel.remoteCommitment,
    tip,
    lastWasRevoke: channel.lastWasRevoke,
    tail: (await store.revocationLogTailHeight(op)) ?? null,
    revocation: channel.remoteRevocation,
    unsignedAcked: await store.unsignedAckedUpdates(op),
    remoteUnsignedLocal: await store.remoteUnsignedLocalUpdates(op),
    fwdPkgs: (await store.loadFwdPkgs(op)).length,
  };
}

/** Runs the writer from `start` ops, kills it after a random delay; returns the last reported op. */
function runAndKill(dir: string, start: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/crash/commit-writer.ts'), dir, String(start)], { cwd: repoRoot });
    let last = start;
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), delayMs);
        else if (line.startsWith('op ')) last = Number(line.slice(3));
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`writer exited by itself (code ${code}): ${stderr}`));
    });
  });
}

it(`survives ${KILLS} SIGKILLs at random moments with the last reported or the next state`, { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chand-crash-'));
  const model = new CrashModel();
  let verified = 0;
  const outcomes = { reported: 0, oneAhead: 0 };
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      const reported = await runAndKill(dir, verified, 20 + Math.floor(Math.random() * 280));
      const db = await openChannelDb({ backend: 'lmdb', path: dir });
      const got = await snapshot(db.channelState);
      await db.close();
      if (JSON.stringify(got, replacer) === JSON.stringify(model.expectedAfter(reported), replacer)) {
        expect(got).toEqual(model.expectedAfter(reported));
        verified = reported;
        outcomes.reported++;
      } else {
        // The only other acceptable state: the operation in flight at the kill committed.
        expect(got).toEqual(model.expectedAfter(reported + 1));
        verified = reported + 1;
        outcomes.oneAhead++;
      }
    }
    // The writer made progress across kills, so the kills landed mid-stream, not at start.
    expect(verified).toBeGreaterThan(KILLS);
    console.log(`crash test: ${KILLS} kills, ${verified} operations verified, ${outcomes.oneAhead} kills with the in-flight op committed`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
