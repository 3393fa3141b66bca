/**
 * scripts/e2e/external-funding-restart.sh as a user runs it: devnet, Alice and Bob as real
 * processes, a `chand signer` wallet as the external signer, an externally funded open, the
 * PSBT signed, Alice SIGKILLed and started again before the submit, then submit, mine, and
 * both nodes list the channel open. This test runs the script on free ports in a temporary
 * directory and checks what it printed: the restart really happened (another PID), the
 * restarted Alice still had the open awaiting its signature, the submit was accepted, and
 * both lists show the same channel open with its capacity.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemoScript } from './support/test-network.js';

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
    const { code, out } = await runDemoScript('scripts/e2e/external-funding-restart.sh', path.join(work, 'demo'), 330_000);
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
