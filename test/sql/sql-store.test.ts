// What the SQL backends add beyond the conformance suite: exact u64 and amount round trips
// through INT8 columns, and close as a short tombstone followed by a bounded purge.
import { describe, expect, it } from 'vitest';
import { ChannelStatus, type OpenChannel } from '../../src/chanstate/types.js';
import { migrateSql } from '../../src/sql/migrations.js';
import { revocationLogRow, SqlChannelStateStore } from '../../src/sql/sql-channel-state-store.js';
import { SqlCoordinator } from '../../src/sql/sql-coordinator.js';
import type { SqlBackend } from '../../src/sql/transactions.js';
import { addChannel, detHex, makeChannel, makeCloseSummary, modelOf, planRound, type ConformanceDb } from '../../src/testing/index.js';
import { sqlBackendKinds } from './support/backends.js';
import { SqlLinkNodeStore } from '../../src/sql/sql-link-node-store.js';

const kinds = await sqlBackendKinds('SQL store specifics');

async function storesOf(backend: SqlBackend): Promise<ConformanceDb & { channelState: SqlChannelStateStore }> {
  await migrateSql(backend);
  return { channelState: new SqlChannelStateStore(backend), linkNodes: new SqlLinkNodeStore(backend), coordinator: new SqlCoordinator(backend), close: () => backend.close() };
}

const MAX_U64 = (1n << 64n) - 1n;
const MAX_I64 = (1n << 63n) - 1n;

/** Writes `count` revoked states of `channel` as bulk rows (the rows the store itself writes). */
async function bulkRevocationLog(backend: SqlBackend, channel: OpenChannel, count: number): Promise<void> {
  const row = await backend.runTx('read', (tx) =>
    tx.selectFrom('channels').select('id').where('txid', '=', Buffer.from(channel.fundingOutpoint.txid, 'hex')).where('output_index', '=', channel.fundingOutpoint.index).executeTakeFirstOrThrow(),
  );
  const id = Number(row.id);
  for (let from = 1; from <= count; from += 500) {
    const rows = Array.from({ length: Math.min(500, count - from + 1) }, (_, i) =>
      revocationLogRow(id, { commitHeight: from + i, ourOutputIndex: 0, theirOutputIndex: 1, commitTxid: detHex(`bulk/${from + i}`, 32), ourBalanceMsat: 1n, theirBalanceMsat: 2n, htlcs: [] }),
    );
    await backend.runTx('write', (tx) => tx.insertInto('revocation_log').values(rows).execute());
  }
}

describe.each(kinds.map((k) => [k.name, k] as const))('SQL store specifics: %s', (_name, kind) => {
  it('u64 short channel ids above 2^63 and amounts up to 2^63-1 round-trip exactly; larger amounts are refused', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      const db = await storesOf(backend);
      const alias = MAX_U64 - 5n;
      const channel = makeChannel(90, { shortChannelId: alias, capacitySat: MAX_I64, totalMsatSent: MAX_I64 - 1n }, { htlcs: 1, dust: 0 });
      await addChannel(db, channel);
      expect(await db.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(channel);
      await db.channelState.markRealScid(channel.fundingOutpoint, MAX_U64);
      expect((await db.channelState.fetchChannel(channel.fundingOutpoint)).realScid).toBe(MAX_U64);

      // A payment round on the alias: its forwarding package is keyed by the u64 scid.
      const plan = planRound(modelOf(channel), { remoteAdds: 2, htlcs: 2, dust: 0 });
      await db.channelState.appendRemoteCommitChain(channel.fundingOutpoint, plan.diff);
      await db.channelState.advanceCommitChainTail(channel.fundingOutpoint, plan.advance);
      expect(await db.channelState.loadFwdPkgs(channel.fundingOutpoint)).toEqual([plan.advance.fwdPkg]);
      await db.channelState.ackAddHtlcs(channel.fundingOutpoint, [{ height: plan.advance.fwdPkg.height, index: 1 }]);
      const [pkg] = await db.channelState.loadFwdPkgs(channel.fundingOutpoint);
      expect(pkg!.ackFilter).toEqual({ count: 2, bits: Uint8Array.of(0x40) });
      await db.channelState.putOnchainFinalHtlcOutcome(MAX_U64, Number.MAX_SAFE_INTEGER, true);
      expect(await db.channelState.lookupFinalHtlc(MAX_U64, Number.MAX_SAFE_INTEGER)).toEqual({ settled: true, offchain: false });

      const tooBig = makeChannel(91, { capacitySat: MAX_I64 + 1n });
      await expect(db.coordinator.syncPendingChannel(tooBig, undefined, 1)).rejects.toThrow(RangeError);
      await expect(db.channelState.fetchChannel(tooBig.fundingOutpoint)).rejects.toMatchObject({ code: 'CHANNEL_NOT_FOUND' });
    } finally {
      await cleanup();
    }
  });

  it('closing leaves the revocation log for the purge, which deletes it in bounded batches', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      const db = await storesOf(backend);
      const closing = makeChannel(92, {}, { htlcs: 2, dust: 0 });
      const staying = makeChannel(93, {}, { htlcs: 2, dust: 0 });
      await addChannel(db, closing);
      await addChannel(db, staying);
      await bulkRevocationLog(backend, closing, 3_000);
      await bulkRevocationLog(backend, staying, 40);

      await db.channelState.closeChannel(closing.fundingOutpoint, makeCloseSummary(closing), ChannelStatus.LocalCloseInitiator);
      // The close itself deleted nothing in bulk.
      expect(await db.channelState.counts()).toMatchObject({ revocationLogEntries: 3_040, closedChannels: 1, closedAwaitingPurge: 1 });

      let total = 0;
      for (let calls = 0; ; calls++) {
        expect(calls).toBeLessThan(100);
        const { deleted, done } = await db.channelState.purgeClosedChannels(250);
        expect(deleted).toBeLessThanOrEqual(250);
        total += deleted;
        if (done) break;
      }
      expect(total).toBeGreaterThanOrEqual(3_000);
      expect(await db.channelState.counts()).toMatchObject({ revocationLogEntries: 40, closedChannels: 1, closedAwaitingPurge: 0 });
      expect(await db.channelState.fetchRevocationLog(staying.fundingOutpoint, 0, 100)).toHaveLength(40);
      expect(await db.channelState.fetchHistoricalChannel(closing.fundingOutpoint)).toMatchObject({ fundingOutpoint: closing.fundingOutpoint });
      expect(await db.channelState.purgeClosedChannels(250)).toEqual({ deleted: 0, done: true });
    } finally {
      await cleanup();
    }
  });
});
