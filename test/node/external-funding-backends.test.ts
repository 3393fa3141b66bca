/**
 * The core external-funding restart cases on the other durable backends: both nodes keep
 * their channels in LMDB, then in PostgreSQL (a throwaway database per node). On each, an
 * externally funded open survives an initiator SIGKILL between signing and submit and an
 * acceptor SIGKILL after submit, and reaches open on both sides; the stored flow state is
 * gone afterwards.
 */
import { base64 } from '@scure/base';
import { afterAll, describe, expect, it } from 'vitest';
import { REGTEST } from '../../src/chain/network.js';
import { Wallet } from '../../src/chain/wallet.js';
import { openChannelDb, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { exclusionReason } from '../../src/testing/index.js';
import { createThrowawayDatabase, findPostgres, type ThrowawayDatabase } from '../../tools/postgres-server.js';
import { TestNetwork, waitFor, type TestNode } from '../support/test-network.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function coreCase(args: (name: string) => string[], dbOf: (node: TestNode) => ChannelDbConfig): Promise<void> {
  const net = await TestNetwork.start({ nodes: ['alice', 'bob'], nodeArgsFor: args });
  cleanups.push(() => net.stop());
  const [alice, bob] = [net.node('alice'), net.node('bob')];
  const signer = Wallet.fromMnemonic(Wallet.generateMnemonic(), { chain: net.devnet, network: REGTEST });
  const address = signer.nextReceiveAddress();
  await net.devnet.faucet(address, 1_000_000n);
  await net.devnet.mine(1);
  await alice.connect(bob);
  const opened = await alice.call<{ channel_id: string; psbt: string }>('open_channel_with_external_funding', {
    peer_id: bob.nodeId,
    funding_amount_sat: 600_000,
    funding_source: { address },
    change_address: address,
    fee_rate_sat_per_vb: 2,
  });
  const signed = base64.encode(signer.signPsbt(base64.decode(opened.psbt)).psbt);
  await alice.restart();
  await alice.connect(bob);
  await alice.call('submit_signed_funding_tx', { channel_id: opened.channel_id, psbt: signed });
  await bob.restart();
  await alice.connect(bob);
  await net.devnet.mine(1);
  for (const node of [alice, bob]) {
    await waitFor(`${node.name} open`, async () => ((await node.channels()).some((c) => c.channel_id === opened.channel_id && c.state === 'open') ? true : undefined), 45_000);
  }
  await alice.kill('SIGTERM');
  const db = await openChannelDb(dbOf(alice));
  try {
    expect(await db.channelState.fetchAllExternalFundings()).toEqual([]);
    expect((await db.channelState.fetchAllChannels()).map((c) => c.isPending)).toEqual([false]);
  } finally {
    await db.close();
  }
}

describe('external funding on LMDB and PostgreSQL', () => {
  it.skipIf(exclusionReason('lmdb') !== undefined)('LMDB: submit after an initiator restart, acceptor restart after submit, both open', async () => {
    await coreCase(
      () => ['--backend', 'lmdb'],
      (node) => ({ backend: 'lmdb', path: node.datadir }),
    );
  }, 240_000);

  it('PostgreSQL: submit after an initiator restart, acceptor restart after submit, both open', async (ctx) => {
    const excluded = exclusionReason('postgres');
    if (excluded !== undefined) return ctx.skip(`PostgreSQL excluded: ${excluded}`);
    const lookup = await findPostgres();
    if (lookup.server === undefined) {
      if ((process.env['CHAND_REQUIRE_BACKENDS'] ?? '').includes('postgres')) throw new Error(`PostgreSQL required but unavailable: ${lookup.reasons.join('; ')}`);
      return ctx.skip(`PostgreSQL SKIPPED: no server (${lookup.reasons.join('; ')})`);
    }
    const server = lookup.server;
    cleanups.push(() => server.stop());
    const dbs = new Map<string, ThrowawayDatabase>();
    for (const name of ['alice', 'bob']) {
      const d = await createThrowawayDatabase(server, `chand_node_${name}`);
      dbs.set(name, d);
      cleanups.push(() => d.drop());
    }
    await coreCase(
      (name) => ['--backend', 'postgres', '--db-url', dbs.get(name)!.url],
      (node) => ({ backend: 'postgres', url: dbs.get(node.name)!.url }),
    );
  }, 240_000);
});
