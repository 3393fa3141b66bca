// What the SQL backends add beyond the conformance suite: exact u64 and amount round trips
// through INT8 columns, close as a short tombstone followed by a bounded purge, row
// checksums that turn one flipped stored byte into DB_CORRUPT, and a key-index allocator
// that never hands out one value twice, even to two processes at once.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { openPostgresBackend } from '../../src/sql/postgres.js';
import { ChannelStatus, type OpenChannel } from '../../src/chanstate/types.js';
import { migrateSql } from '../../src/sql/migrations.js';
import { createSqlChannelStateStore } from '../../src/sql/channel-state-store.js';
import { putRevokedState } from '../../src/sql/commitments.js';
import { SqlCoordinator } from '../../src/sql/coordinator.js';
import type { SqlBackend } from '../../src/sql/transactions.js';
import { addChannel, detHex, expectCode, makeChannel, makeCloseSummary, modelOf, PaymentRound, planRound, type ConformanceDb } from '../../src/testing/index.js';
import { sqlBackendKinds } from './support/backends.js';
import { SqlLinkNodeStore } from '../../src/sql/link-node-store.js';

const kinds = await sqlBackendKinds('SQL store specifics');

async function storesOf(backend: SqlBackend): Promise<ConformanceDb> {
  await migrateSql(backend);
  return { channelState: createSqlChannelStateStore(backend), linkNodes: new SqlLinkNodeStore(backend), coordinator: new SqlCoordinator(backend), close: () => backend.close() };
}

const MAX_U64 = (1n << 64n) - 1n;
const MAX_I64 = (1n << 63n) - 1n;

/** Writes `count` revoked states of `channel` in bulk, through the store's own revocation-log writer (putRevokedState). */
async function bulkRevocationLog(backend: SqlBackend, channel: OpenChannel, count: number): Promise<void> {
  const row = await backend.runTx('read', (tx) =>
    tx.selectFrom('channels').select('id').where('txid', '=', Buffer.from(channel.fundingOutpoint.txid, 'hex')).where('output_index', '=', channel.fundingOutpoint.index).executeTakeFirstOrThrow(),
  );
  const id = Number(row.id);
  for (let from = 1; from <= count; from += 500) {
    await backend.runTx('write', async (tx) => {
      for (let h = from; h < from + 500 && h <= count; h++) {
        await putRevokedState(tx, id, { commitHeight: h, ourOutputIndex: 0, theirOutputIndex: 1, commitTxid: detHex(`bulk/${h}`, 32), ourBalanceMsat: 1n, theirBalanceMsat: 2n, htlcs: [] });
      }
    });
  }
}

/** The id of `channel`'s row. */
async function rowIdOf(backend: SqlBackend, channel: OpenChannel): Promise<number> {
  const row = await backend.runTx('read', (tx) =>
    tx.selectFrom('channels').select('id').where('txid', '=', Buffer.from(channel.fundingOutpoint.txid, 'hex')).where('output_index', '=', channel.fundingOutpoint.index).executeTakeFirstOrThrow(),
  );
  return Number(row.id);
}

/** A copy of `bytes` with bit 0 of byte `at` flipped. */
function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at]! ^= 1;
  return copy;
}

describe.each(kinds.map((k) => [k.name, k] as const))('SQL store specifics: %s', (name, kind) => {
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
      // The closing channel's log: its sealed blocks and the row holding its open block.
      const closingId = await rowIdOf(backend, closing);
      const logRecords = await backend.runTx('read', async (tx) => Number((await tx.selectFrom('revocation_blocks').select((eb) => eb.fn.countAll().as('n')).where('channel_id', '=', closingId).executeTakeFirstOrThrow()).n) + 1);
      expect(logRecords).toBeGreaterThan(2);

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
      // The log is stored in blocks of states: every block record went (and counts below: all 3,000 states).
      expect(total).toBeGreaterThanOrEqual(logRecords);
      expect(await db.channelState.counts()).toMatchObject({ revocationLogEntries: 40, closedChannels: 1, closedAwaitingPurge: 0 });
      expect(await db.channelState.fetchRevocationLog(staying.fundingOutpoint, 0, 100)).toHaveLength(40);
      expect(await db.channelState.fetchHistoricalChannel(closing.fundingOutpoint)).toMatchObject({ fundingOutpoint: closing.fundingOutpoint });
      expect(await db.channelState.purgeClosedChannels(250)).toEqual({ deleted: 0, done: true });
    } finally {
      await cleanup();
    }
  });

  it('one flipped byte in a stored payment hash, amount, revoked txid, secret or point is DB_CORRUPT on read, never wrong data', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      const db = await storesOf(backend);
      const channel = await addChannel(db, makeChannel(94, {}, { htlcs: 2, dust: 0 }));
      const bystander = await addChannel(db, makeChannel(95, {}, { htlcs: 2, dust: 0 }));
      const round = await new PaymentRound(modelOf(channel), { remoteAdds: 1, htlcs: 2, dust: 0 }).run(db.channelState);
      const op = channel.fundingOutpoint;
      const id = await rowIdOf(backend, channel);
      // Before: everything reads back, through the moved tip too (the checksum leaves the slot column out).
      expect((await db.channelState.fetchChannel(op)).remoteCommitment).toEqual(round.plan.diff.commitment);

      const htlc = await backend.runTx('read', (tx) => tx.selectFrom('htlcs').select(['party', 'seq', 'payment_hash']).where('channel_id', '=', id).orderBy('party').orderBy('seq').executeTakeFirstOrThrow());
      await backend.runTx('write', (tx) =>
        tx.updateTable('htlcs').set({ payment_hash: flipped(htlc.payment_hash, 17) }).where('channel_id', '=', id).where('party', '=', htlc.party).where('seq', '=', htlc.seq).execute(),
      );
      await expectCode(db.channelState.fetchChannel(op), ErrorCode.DB_CORRUPT);
      await expectCode(db.channelState.latestCommitments(op), ErrorCode.DB_CORRUPT);
      await expectCode(db.channelState.fetchAllChannels(), ErrorCode.DB_CORRUPT);
      // Writes that read the damaged commitment fail too, and change nothing.
      await expectCode(db.channelState.closeChannel(op, makeCloseSummary(channel)), ErrorCode.DB_CORRUPT);
      await backend.runTx('write', (tx) =>
        tx.updateTable('htlcs').set({ payment_hash: htlc.payment_hash }).where('channel_id', '=', id).where('party', '=', htlc.party).where('seq', '=', htlc.seq).execute(),
      );
      expect((await db.channelState.fetchChannel(op)).remoteCommitment).toEqual(round.plan.diff.commitment);

      const commitment = await backend.runTx('read', (tx) => tx.selectFrom('commitments').select(['party', 'local_balance_msat']).where('channel_id', '=', id).where('party', '=', 0).executeTakeFirstOrThrow());
      await backend.runTx('write', (tx) =>
        tx.updateTable('commitments').set({ local_balance_msat: BigInt(commitment.local_balance_msat) ^ 1n }).where('channel_id', '=', id).where('party', '=', 0).execute(),
      );
      await expectCode(db.channelState.commitmentHeight(op), ErrorCode.DB_CORRUPT);
      await expectCode(db.channelState.fetchChannel(op), ErrorCode.DB_CORRUPT);
      await backend.runTx('write', (tx) => tx.updateTable('commitments').set({ local_balance_msat: commitment.local_balance_msat }).where('channel_id', '=', id).where('party', '=', 0).execute());

      // The revoked state is in the channel's open revocation block: flip a byte of its txid.
      const height = round.plan.revokedHeight;
      const log = await backend.runTx('read', (tx) => tx.selectFrom('revocation_states').select('open_log_block').where('channel_id', '=', id).executeTakeFirstOrThrow());
      const txidAt = Buffer.from(log.open_log_block!).indexOf(Buffer.from(round.plan.logEntry.commitTxid, 'hex'));
      expect(txidAt).toBeGreaterThan(0);
      await backend.runTx('write', (tx) => tx.updateTable('revocation_states').set({ open_log_block: flipped(log.open_log_block!, txidAt + 31) }).where('channel_id', '=', id).execute());
      await expectCode(db.channelState.findPreviousState(op, height), ErrorCode.DB_CORRUPT);
      await expectCode(db.channelState.fetchRevocationLog(op, 0, 10), ErrorCode.DB_CORRUPT);
      await expectCode(db.channelState.revocationLogTailHeight(op), ErrorCode.DB_CORRUPT);
      await backend.runTx('write', (tx) => tx.updateTable('revocation_states').set({ open_log_block: log.open_log_block }).where('channel_id', '=', id).execute());
      expect(await db.channelState.findPreviousState(op, height)).toEqual(round.plan.logEntry);

      // A revealed remote secret (what a breach remedy needs) and the points revocations are checked against.
      const secret = await backend.runTx('read', (tx) => tx.selectFrom('revocation_secrets').select(['seq', 'secret']).where('channel_id', '=', id).orderBy('seq').executeTakeFirstOrThrow());
      await backend.runTx('write', (tx) => tx.updateTable('revocation_secrets').set({ secret: flipped(secret.secret, 0) }).where('channel_id', '=', id).where('seq', '=', secret.seq).execute());
      await expectCode(db.channelState.remoteRevocationStore(op), ErrorCode.DB_CORRUPT);
      await backend.runTx('write', (tx) => tx.updateTable('revocation_secrets').set({ secret: secret.secret }).where('channel_id', '=', id).where('seq', '=', secret.seq).execute());
      const points = await backend.runTx('read', (tx) => tx.selectFrom('revocation_states').select('next_point').where('channel_id', '=', id).executeTakeFirstOrThrow());
      await backend.runTx('write', (tx) => tx.updateTable('revocation_states').set({ next_point: flipped(points.next_point!, 32) }).where('channel_id', '=', id).execute());
      await expectCode(db.channelState.remoteRevocationStore(op), ErrorCode.DB_CORRUPT);
      await expectCode(db.channelState.insertNextRevocation(op, channel.remoteRevocation.nextPoint!), ErrorCode.DB_CORRUPT);
      // Another channel's rows are untouched and still read.
      expect(await db.channelState.fetchChannel(bystander.fundingOutpoint)).toEqual(bystander);
    } finally {
      await cleanup();
    }
  });

  it('one flipped byte in a sealed revocation block is DB_CORRUPT for the states it holds; other blocks still read', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      const db = await storesOf(backend);
      const channel = await addChannel(db, makeChannel(97, {}, { htlcs: 2, dust: 0 }));
      await bulkRevocationLog(backend, channel, 400);
      const id = await rowIdOf(backend, channel);
      const blocks = await backend.runTx('read', (tx) => tx.selectFrom('revocation_blocks').select(['first_height', 'block']).where('channel_id', '=', id).orderBy('first_height').execute());
      expect(blocks.length).toBeGreaterThan(1);
      const [first, second] = blocks;
      const height = Number(first!.first_height) + 1;
      const expected = await db.channelState.findPreviousState(channel.fundingOutpoint, height);
      expect(expected).toMatchObject({ commitHeight: height, commitTxid: detHex(`bulk/${height}`, 32) });
      await backend.runTx('write', (tx) => tx.updateTable('revocation_blocks').set({ block: flipped(first!.block, first!.block.length - 7) }).where('channel_id', '=', id).where('first_height', '=', first!.first_height).execute());
      await expectCode(db.channelState.findPreviousState(channel.fundingOutpoint, height), ErrorCode.DB_CORRUPT);
      await expectCode(db.channelState.fetchRevocationLog(channel.fundingOutpoint, 0, 10), ErrorCode.DB_CORRUPT);
      expect(await db.channelState.findPreviousState(channel.fundingOutpoint, Number(second!.first_height))).toMatchObject({ commitHeight: Number(second!.first_height) });
      await backend.runTx('write', (tx) => tx.updateTable('revocation_blocks').set({ block: first!.block }).where('channel_id', '=', id).where('first_height', '=', first!.first_height).execute());
      expect(await db.channelState.findPreviousState(channel.fundingOutpoint, height)).toEqual(expected);
    } finally {
      await cleanup();
    }
  });

  it('nextChannelKeyIndex: concurrent callers in two processes never get the same index, and new channels move it past theirs', async () => {
    const { backend, cleanup, location } = await kind.open();
    // On PostgreSQL a second, independent connection pool on the same database, as a second
    // process has. SQLite has one process per database (the data-directory lock), and a
    // second synchronous connection in this process would block the event loop waiting for
    // the first: there, a second store over the same backend.
    const other = name === 'postgres' ? await openPostgresBackend({ url: location.url!, schema: location.schema!, maxConnections: 8 }) : undefined;
    try {
      const db = await storesOf(backend);
      const second = createSqlChannelStateStore(other ?? backend);
      const calls = 24;
      const got = await Promise.all(Array.from({ length: calls }, (_, i) => (i % 2 === 0 ? db.channelState : second).nextChannelKeyIndex()));
      expect(new Set(got).size).toBe(calls);
      expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: calls }, (_, i) => i));
      // A channel whose key index is beyond the counter moves it; one reusing an index is refused, typed.
      await addChannel(db, makeChannel(500));
      expect(await second.nextChannelKeyIndex()).toBe(501);
      await expectCode(db.coordinator.syncPendingChannel(makeChannel(96, { revocationKeyLocator: { family: 5, index: 500 } }), undefined, 1), ErrorCode.CHANNEL_KEY_INDEX_REUSED);
      expect(await db.channelState.nextChannelKeyIndex()).toBe(502);
    } finally {
      await other?.close();
      await cleanup();
    }
  });
});
