/**
 * The closing commands of `chand` (chand channel close, chand channel closed) as a user runs
 * them: real `chand` processes against an RpcServer over the NodeApi test double, found through
 * a real data directory. Checks the params that reach the node, human and --json output, and
 * one-line failures for bad arguments before anything is sent.
 */
import { describe, expect, it } from 'vitest';
import { CLOSED, PEER_ID } from './support/fake-node.js';
import { chand, useFakeNodeServer } from './support/cli-runner.js';

const fake = useFakeNodeServer('chand-cli-close-');
const CHANNEL = 'ab'.repeat(32);
const lastCall = () => fake.lastCall();

describe('chand channel close and closed', { timeout: 120_000 }, () => {
  it('close sends shutdown_channel with the address, fee rate or force, and prints the result', async () => {
    const run = await chand(['channel', 'close', CHANNEL, '--address', 'bcrt1qexample', '--fee-rate', '2.5', '--datadir', fake.server.datadir]);
    expect(run.status, run.stderr).toBe(0);
    expect(lastCall()).toEqual({ method: 'shutdownChannel', params: { channel_id: CHANNEL, close_address: 'bcrt1qexample', fee_rate_sat_per_vb: 2.5 } });
    expect(run.stdout).toContain('state: shutting_down');
    const forced = await chand(['channel', 'close', CHANNEL, '--force', '--json', '--datadir', fake.server.datadir]);
    expect(forced.status, forced.stderr).toBe(0);
    expect(lastCall()).toEqual({ method: 'shutdownChannel', params: { channel_id: CHANNEL, force: true } });
    expect(JSON.parse(forced.stdout)).toMatchObject({ channel_id: CHANNEL, state: 'force_closed' });
  });

  it('closed lists the closed channels as a table, or JSON', async () => {
    const run = await chand(['channel', 'closed', '--peer', PEER_ID, '--datadir', fake.server.datadir]);
    expect(run.status, run.stderr).toBe(0);
    expect(lastCall()).toEqual({ method: 'listClosedChannels', params: { peer_id: PEER_ID } });
    expect(run.stdout.split('\n')[0]).toMatch(/^CHANNEL_ID\s+CLOSE_TYPE\s+CAPACITY_SAT\s+SETTLED_SAT\s+HEIGHT\s+CLOSING_TXID\s+PEER_ID$/);
    expect(run.stdout).toContain(CLOSED[0]!.closing_txid);
    const json = await chand(['channel', 'closed', '--json', '--datadir', fake.server.datadir]);
    expect(JSON.parse(json.stdout)).toEqual({ channels: CLOSED });
  });

  it('refuses bad arguments with one line, before or at the node', async () => {
    const calls = fake.server.api.calls.length;
    const badRate = await chand(['channel', 'close', CHANNEL, '--fee-rate', 'fast', '--datadir', fake.server.datadir]);
    expect(badRate.status).toBe(2);
    expect(badRate.stderr.trim().split('\n')).toHaveLength(1);
    expect(fake.server.api.calls.length).toBe(calls);
    const both = await chand(['channel', 'close', CHANNEL, '--force', '--fee-rate', '3', '--datadir', fake.server.datadir]);
    expect(both.status).not.toBe(0);
    expect(both.stderr).toContain('INVALID_PARAMS');
    expect(fake.server.api.calls.length).toBe(calls);
    const badId = await chand(['channel', 'close', 'nothex', '--datadir', fake.server.datadir]);
    expect(badId.stderr).toContain('channel_id');
    expect(fake.server.api.calls.length).toBe(calls);
  });
});
