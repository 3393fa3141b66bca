/**
 * The README's first command is `npm run -s walkthrough` (scripts/walkthrough.sh): devnet and
 * two nodes as real processes, fund, connect, open, confirm, list. This test runs that script
 * on free ports in a temporary directory and checks what a user would see: the channel open
 * on both sides with its capacity. It also keeps the README's by-hand block true: every
 * `chand ...` command there is a command the script runs, with the same flags.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemoScript } from './support/test-network.js';

const root = path.resolve(import.meta.dirname, '..');
let demo: string | undefined;

afterAll(async () => {
  if (demo !== undefined) await rm(demo, { recursive: true, force: true });
});

interface Shape {
  readonly command: string;
  readonly flags: readonly string[];
}

/** The `chand` invocations of shell text: command words and flag names ("chand channel open", ["--datadir"]). */
function invocations(text: string): Shape[] {
  return text
    .replace(/\$\(/g, '\n')
    .split('\n')
    .flatMap((line) => [...line.matchAll(/\bchand ((?:[a-z]+ ?){1,2})([^)&|;]*)/g)])
    .map((m) => ({ command: `chand ${m[1]!.trim()}`, flags: [...m[2]!.matchAll(/--[a-z-]+/g)].map((f) => f[0]) }));
}

describe('README walk-through', () => {
  it('lists only commands the walk-through script runs', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const script = await readFile(path.join(root, 'scripts/walkthrough.sh'), 'utf8');
    expect(readme).toContain('npm ci && npm run -s walkthrough');
    const block = readme.slice(readme.indexOf('## Running a node'));
    const byHand = block.slice(block.indexOf('```sh') + 5, block.indexOf('```', block.indexOf('```sh') + 5));
    const readmeCommands = invocations(byHand);
    const scriptCommands = invocations(script);
    expect(readmeCommands.length).toBeGreaterThanOrEqual(10);
    // Each README command runs in the script as the same command with at least its flags (the
    // script adds only ports, the Esplora URL and a faster chain poll).
    const missing = readmeCommands.filter((c) => !scriptCommands.some((s) => s.command === c.command && c.flags.every((f) => s.flags.includes(f))));
    expect(missing).toEqual([]);
  });

  it('runs: devnet + two nodes, fund, connect, open, confirm, and both list the channel open', async () => {
    demo = await mkdtemp(path.join(tmpdir(), 'chand-walk-'));
    const { code, out } = await runDemoScript('scripts/walkthrough.sh', path.join(demo, 'demo'), 240_000);
    expect({ code, tail: code === 0 ? '' : out.slice(-3000) }).toEqual({ code: 0, tail: '' });
    const listing = out.slice(out.indexOf('== the channel, as Alice and Bob list it'), out.indexOf('== Bob issues an invoice'));
    const rows = listing.split('\n').filter((l) => /^[0-9a-f]{64}\s/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^[0-9a-f]{64}\s+open\s+1000000\s/);
    expect(rows[0]!.split(/\s+/)[0]).toBe(rows[1]!.split(/\s+/)[0]);
    expect(out).toMatch(/confirmed_sat: 2000000/);
    // The payments: Alice's payment succeeded, Bob's invoice is settled, Bob's keysend succeeded,
    // and the balances moved by 50,000 - 1,000 sat on both sides.
    const payments = out.slice(out.indexOf('== Bob issues an invoice'), out.indexOf('== Bob pays 1,000 sat back'));
    expect(payments).toMatch(/^1\s+[0-9a-f]{64}\s+succeeded\s+50000000\s/m);
    expect(payments).toMatch(/^1\s+[0-9a-f]{64}\s+settled\s+50000000\s+50000000\s+walk-through coffee/m);
    const keysend = out.slice(out.indexOf('== Bob pays 1,000 sat back'), out.indexOf('== the balances after both payments'));
    expect(keysend).toMatch(/^status: succeeded$/m);
    expect(keysend).toMatch(/^keysend: true$/m);
    const after = out.slice(out.indexOf('== the balances after both payments'), out.indexOf('== Alice closes the channel')).split('\n').filter((l) => /^[0-9a-f]{64}\s/.test(l));
    expect(after).toHaveLength(2);
    // Alice (the funder) lists 1,000,000 - 49,000 sat locally before fees; Bob 49,000 sat.
    expect(after[0]).toMatch(/\s951000000\s+49000000\s/);
    expect(after[1]).toMatch(/\s49000000\s+951000000\s/);
    // The cooperative close: both list it closed; Bob's wallet holds exactly his 49,000 sat (the
    // funder pays the closing fee), Alice's her change plus 951,000 sat minus that fee.
    const close = out.slice(out.indexOf('== Alice closes the channel'), out.indexOf('== the wallets after the close'));
    expect(close).toMatch(/^[0-9a-f]{64}\s+cooperative close\s+1000000\s+\d+\s+\d+\s+[0-9a-f]{64}\s/m);
    const wallets = out.slice(out.indexOf('== the wallets after the close'));
    const confirmed = [...wallets.matchAll(/^confirmed_sat: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(confirmed).toHaveLength(2);
    expect(confirmed[1]).toBe(49_000);
    const settled = Number(/^[0-9a-f]{64}\s+cooperative close\s+1000000\s+(\d+)\s/m.exec(close)![1]);
    expect(settled).toBeGreaterThan(950_000);
    expect(settled).toBeLessThan(951_000);
  }, 300_000);
});
