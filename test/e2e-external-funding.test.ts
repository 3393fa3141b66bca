/**
 * scripts/e2e/external-funding-restart.sh as a user runs it: devnet, Alice and Bob as real
 * processes, a `chand signer` wallet as the external signer, an externally funded open, the
 * PSBT signed, Alice SIGKILLed and started again before the submit, then submit, mine, and
 * both nodes list the channel open. This test runs the script on free ports in a temporary
 * directory and checks what it printed: the restart really happened (another PID), the
 * restarted Alice still had the open awaiting its signature, the submit was accepted, and
 * both lists show the same channel open with its capacity.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './support/test-network.js';

const root = path.resolve(import.meta.dirname, '..');
let work: string | undefined;

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** The text of the step whose heading starts with `heading`, up to the next step. */
function stepText(out: string, heading: string): string {
  const start = out.indexOf(`\n== ${heading}`);
  if (start < 0) return '';
  const end = out.indexOf('\n== ', start + 1);
  return out.slice(start, end < 0 ? undefined : end);
}

describe('scripts/e2e/external-funding-restart.sh', () => {
  it('opens an externally funded channel, survives a SIGKILL of the initiator between signing and submit, and both sides reach open', async () => {
    work = await mkdtemp(path.join(tmpdir(), 'chand-ext-fund-'));
    const ports = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
    const child = spawn('bash', ['scripts/e2e/external-funding-restart.sh'], {
      cwd: root,
      env: {
        ...process.env,
        CHAND_DEMO_DIR: path.join(work, 'demo'),
        DEVNET_PORT: String(ports[0]),
        ALICE_PORT: String(ports[1]),
        ALICE_RPC: String(ports[2]),
        BOB_PORT: String(ports[3]),
        BOB_RPC: String(ports[4]),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    // SIGTERM runs the script's trap, which stops every process it started by PID.
    const timer = setTimeout(() => child.kill('SIGTERM'), 330_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    expect({ code, tail: code === 0 ? '' : out.slice(-4000) }).toEqual({ code: 0, tail: '' });

    const channelId = /^channel_id: ([0-9a-f]{64})$/m.exec(stepText(out, 'Alice opens'))?.[1];
    expect(channelId, out).toBeDefined();
    expect(stepText(out, 'Alice opens')).toMatch(/^psbt: cHNidP8[A-Za-z0-9+/=]+$/m);
    expect(stepText(out, 'the signer signs')).toMatch(/^signed [1-9]\d* inputs?; wrote /m);

    // The restart happened: Alice came back under another PID, still awaiting the signature.
    const pids = [...out.matchAll(/^alice: pid (\d+)$/gm)].map((m) => m[1]);
    expect(pids).toHaveLength(2);
    expect(pids[0]).not.toBe(pids[1]);
    const restart = stepText(out, 'kill Alice with SIGKILL');
    expect(restart).toContain(`(pid ${pids[0]})`);
    expect(restart).toMatch(new RegExp(`^channel_id: ${channelId}$`, 'm'));
    expect(restart).toMatch(/^state: awaiting_signature$/m);
    expect(restart).toMatch(/^expires_at_ms: \d+$/m);
    expect(stepText(out, 'submit the signed PSBT')).toMatch(/^state: (submitted|broadcast|confirming|open)$/m);

    const listing = stepText(out, 'the channel, as Alice and Bob list it');
    const rows = listing.split('\n').filter((l) => /^[0-9a-f]{64}\s/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(new RegExp(`^${channelId}\\s+open\\s+1000000\\s`));
    expect(out).toContain(`external funding across a restart: channel ${channelId} is open on both nodes`);
  }, 360_000);
});
