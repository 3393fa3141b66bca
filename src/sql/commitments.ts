/**
 * SQL facet: the commitment update protocol (CommitmentStore).
 *
 * Payment hot path: appendRemoteCommitChain writes the chain tip as a commitment in slot
 * `RemoteTip` with its HTLCs and updates; advanceCommitChainTail checks the revealed
 * secret, then moves the tip into the `Remote` slot with two UPDATEs (no re-encoding; the
 * row checksums leave the slot column out, so they stay valid), appends one revocation-log
 * row and adds the forwarding package; updateCommitment replaces the local slot. Each locks
 * the channel row first (on PostgreSQL), so concurrent rounds on different channels never
 * conflict. Statements that run every round are prepared (prepared.ts).
 */
import type { Insertable } from 'kysely';
import { revocationLogEntryOf } from '../chanstate/revocation-log.js';
import {
  advanceRevocation,
  assertHasScid,
  assertMutable,
  assertPkgSource,
  lockInUpdates,
  logEntryNotFound,
  missingCommitment,
  noPendingCommit,
  outputIndexesOf,
} from '../chanstate/rules.js';
import type { CommitmentStore } from '../chanstate/store.js';
import type { RevocationLogEntry } from '../chanstate/types.js';
import { CRC_COLUMNS, rowCrc, verifyRowCrc } from './checksums.js';
import {
  deleteCommitment,
  deleteUpdateList,
  deleteUpdatesBefore,
  findChannel,
  insertCommitment,
  insertUpdates,
  lockChannel,
  markLastWasRevoke,
  moveCommitmentSlot,
  readCommitment,
  readRemoteAndTip,
  readRevocation,
  readTx,
  readUpdates,
  replaceCommitment,
  replaceUpdates,
  requireCommitment,
  writeNextPoint,
  writeRevocation,
  writeTx,
  type SqlStoreContext,
} from './chanstate-tx.js';
import { amountCol, bytes, flag, hexCol, hexOf, num, optBig, plain, u64Col } from './columns.js';
import { ackAddsTx, ackSettleFailsTx, putFwdPkg } from './fwd-pkgs.js';
import { prepare, PreparedInsert } from './prepared.js';
import { circuitKeyListRecord, htlcEntryListRecord } from './records.js';
import { Party, UpdateList, type Database } from './schema.js';

/** A revocation_log row as written. */
export interface RevocationLogRow {
  readonly channel_id: number;
  readonly commit_height: number;
  readonly our_output_index: number;
  readonly their_output_index: number;
  readonly commit_txid: Uint8Array;
  readonly our_balance_msat: bigint | null;
  readonly their_balance_msat: bigint | null;
  readonly htlcs: Uint8Array | null;
  readonly crc: number;
}

/** The columns of a revocation log row for `entry`, with its checksum. */
export function revocationLogRow(channelId: number, entry: RevocationLogEntry): RevocationLogRow {
  const row = {
    channel_id: channelId,
    commit_height: entry.commitHeight,
    our_output_index: entry.ourOutputIndex,
    their_output_index: entry.theirOutputIndex,
    commit_txid: hexCol(entry.commitTxid, 32),
    our_balance_msat: entry.ourBalanceMsat === undefined ? null : amountCol(entry.ourBalanceMsat, 'ourBalanceMsat'),
    their_balance_msat: entry.theirBalanceMsat === undefined ? null : amountCol(entry.theirBalanceMsat, 'theirBalanceMsat'),
    htlcs: entry.htlcs.length === 0 ? null : htlcEntryListRecord.encode({ htlcs: entry.htlcs }),
  };
  return { ...row, crc: rowCrc('revocation_log', row) };
}

type LogRow = {
  channel_id: bigint | number;
  commit_height: bigint | number;
  our_output_index: bigint | number;
  their_output_index: bigint | number;
  commit_txid: Uint8Array;
  our_balance_msat: bigint | number | null;
  their_balance_msat: bigint | number | null;
  htlcs: Uint8Array | null;
  crc: bigint | number | null;
};

/** The entry of a revocation_log row, after checking its checksum (DB_CORRUPT). */
function entryOfRow(row: LogRow): RevocationLogEntry {
  verifyRowCrc('revocation_log', row, `${row.channel_id}/${row.commit_height}`);
  const ours = optBig(row.our_balance_msat);
  const theirs = optBig(row.their_balance_msat);
  return {
    commitHeight: num(row.commit_height),
    ourOutputIndex: num(row.our_output_index),
    theirOutputIndex: num(row.their_output_index),
    commitTxid: hexOf(row.commit_txid, 32, 'revocation_log.commit_txid'),
    ...(ours === undefined ? {} : { ourBalanceMsat: ours }),
    ...(theirs === undefined ? {} : { theirBalanceMsat: theirs }),
    htlcs: row.htlcs === null ? [] : htlcEntryListRecord.decode(plain(row.htlcs)).htlcs,
  };
}

// Prepared statements of the payment hot path (prepared.ts).
const upsertFinalHtlcs = new PreparedInsert<Insertable<Database['final_htlcs']>>(['short_channel_id', 'htlc_index', 'settled', 'offchain'], (db, rows) =>
  db
    .insertInto('final_htlcs')
    .values(rows)
    .onConflict((oc) => oc.columns(['short_channel_id', 'htlc_index']).doUpdateSet((eb) => ({ settled: eb.ref('excluded.settled'), offchain: eb.ref('excluded.offchain') }))),
);
const deleteCommitDiff = prepare((db, channelId: number) => db.deleteFrom('commit_diffs').where('channel_id', '=', channelId));
const insertCommitDiffIfNew = prepare((db, channelId: number, commitSig: Uint8Array, opened: Uint8Array, closed: Uint8Array) =>
  db
    .insertInto('commit_diffs')
    .values({ channel_id: channelId, commit_sig: commitSig, opened_circuit_keys: opened, closed_circuit_keys: closed })
    .onConflict((oc) => oc.column('channel_id').doNothing()),
);
/** A revocation log row; a repeated height replaces the entry (as a KV put does). */
const upsertRevocationLog = new PreparedInsert<Insertable<Database['revocation_log']>>(
  [...CRC_COLUMNS.revocation_log, 'crc'],
  (db, rows) =>
    db
      .insertInto('revocation_log')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['channel_id', 'commit_height']).doUpdateSet((eb) => ({
          our_output_index: eb.ref('excluded.our_output_index'),
          their_output_index: eb.ref('excluded.their_output_index'),
          commit_txid: eb.ref('excluded.commit_txid'),
          our_balance_msat: eb.ref('excluded.our_balance_msat'),
          their_balance_msat: eb.ref('excluded.their_balance_msat'),
          htlcs: eb.ref('excluded.htlcs'),
          crc: eb.ref('excluded.crc'),
        })),
      ),
);

/** The commitment protocol of the SQL store. */
export function commitmentsFacet(ctx: SqlStoreContext): CommitmentStore {
  return {
    updateCommitment(chanPoint, newCommitment, unsignedAckedUpdates) {
      return writeTx(ctx, async (tx) => {
        const channel = await markLastWasRevoke(tx, chanPoint, true);
        await replaceCommitment(tx, channel.id, Party.Local, newCommitment);
        await replaceUpdates(tx, channel.id, UpdateList.UnsignedAcked, unsignedAckedUpdates);
        const lockIn = lockInUpdates(await readUpdates(tx, channel.id, UpdateList.RemoteUnsignedLocal), newCommitment.localLogIndex);
        // The locked-in updates are exactly those below the new local log index.
        if (lockIn.lockedIn > 0) await deleteUpdatesBefore(tx, channel.id, UpdateList.RemoteUnsignedLocal, newCommitment.localLogIndex);
        if (ctx.options.finalHtlcs && lockIn.finalized.size > 0) {
          const scid = u64Col(channel.shortChannelId);
          await upsertFinalHtlcs.execute(
            tx,
            [...lockIn.finalized].map(([htlcIndex, settled]) => ({ short_channel_id: scid, htlc_index: htlcIndex, settled: flag(settled), offchain: 1 })),
          );
        }
        return lockIn.finalized;
      });
    },

    async appendRemoteCommitChain(chanPoint, diff) {
      await writeTx(ctx, async (tx) => {
        const channel = await markLastWasRevoke(tx, chanPoint, false);
        if (diff.addAcks !== undefined && diff.addAcks.length > 0) await ackAddsTx(ctx, tx, channel.shortChannelId, diff.addAcks);
        if (diff.settleFailAcks !== undefined && diff.settleFailAcks.length > 0) await ackSettleFailsTx(ctx, tx, diff.settleFailAcks);
        const opened = circuitKeyListRecord.encode({ keys: diff.openedCircuitKeys });
        const closed = circuitKeyListRecord.encode({ keys: diff.closedCircuitKeys });
        if ((await insertCommitDiffIfNew.affected(tx, channel.id, diff.commitSig, opened, closed)) !== 1n) {
          // A tip exists (a re-signed commitment after reconnecting): it is replaced whole.
          await deleteCommitment(tx, channel.id, Party.RemoteTip);
          await deleteUpdateList(tx, channel.id, UpdateList.RemoteTip);
          await tx
            .updateTable('commit_diffs')
            .set({ commit_sig: diff.commitSig, opened_circuit_keys: opened, closed_circuit_keys: closed })
            .where('channel_id', '=', channel.id)
            .execute();
        }
        await insertCommitment(tx, channel.id, Party.RemoteTip, diff.commitment);
        if (diff.logUpdates.length > 0) await insertUpdates(tx, channel.id, UpdateList.RemoteTip, diff.logUpdates);
      });
    },

    remoteCommitChainTip(chanPoint) {
      return readTx(ctx, async (tx) => {
        const channel = await findChannel(ctx, tx, chanPoint);
        const row = await tx.selectFrom('commit_diffs').selectAll().where('channel_id', '=', channel.id).executeTakeFirst();
        const commitment = row === undefined ? undefined : await readCommitment(tx, channel.id, Party.RemoteTip);
        if (row === undefined || commitment === undefined) throw noPendingCommit(chanPoint);
        return {
          commitment,
          logUpdates: await readUpdates(tx, channel.id, UpdateList.RemoteTip),
          commitSig: bytes(row.commit_sig),
          openedCircuitKeys: circuitKeyListRecord.decode(plain(row.opened_circuit_keys)).keys,
          closedCircuitKeys: circuitKeyListRecord.decode(plain(row.closed_circuit_keys)).keys,
        };
      });
    },

    unsignedAckedUpdates(chanPoint) {
      return readTx(ctx, async (tx) => readUpdates(tx, (await findChannel(ctx, tx, chanPoint)).id, UpdateList.UnsignedAcked));
    },

    remoteUnsignedLocalUpdates(chanPoint) {
      return readTx(ctx, async (tx) => readUpdates(tx, (await findChannel(ctx, tx, chanPoint)).id, UpdateList.RemoteUnsignedLocal));
    },

    async insertNextRevocation(chanPoint, nextPoint) {
      await writeTx(ctx, async (tx) => {
        const channel = await lockChannel(ctx, tx, chanPoint);
        await writeNextPoint(tx, channel.id, nextPoint);
      });
    },

    async advanceCommitChainTail(chanPoint, args) {
      await writeTx(ctx, async (tx) => {
        const channel = await lockChannel(ctx, tx, chanPoint);
        assertMutable(channel.status, chanPoint);
        assertHasScid(channel.shortChannelId, chanPoint);
        assertPkgSource(args.fwdPkg, channel.shortChannelId);
        const { tipRemoteLogIndex, remote: revoked } = await readRemoteAndTip(tx, channel.id);
        if (tipRemoteLogIndex === undefined) throw noPendingCommit(chanPoint);
        if (revoked === undefined) throw missingCommitment(chanPoint, 'remote');
        // Every check before the first write: a bad revocation changes nothing.
        const revocation = advanceRevocation(chanPoint, await readRevocation(tx, channel.id), revoked.commitHeight, args.revocationSecret, args.nextPoint);

        const { ourOutputIndex, theirOutputIndex } = outputIndexesOf(revoked);
        await upsertRevocationLog.execute(tx, [revocationLogRow(channel.id, revocationLogEntryOf(revoked, ourOutputIndex, theirOutputIndex, ctx.options.balances))]);
        // The tip becomes the remote commitment: move its slot, no re-encoding.
        await deleteCommitment(tx, channel.id, Party.Remote, revoked.htlcs.length);
        await moveCommitmentSlot(tx, channel.id, Party.RemoteTip, Party.Remote);
        await deleteCommitDiff.execute(tx, channel.id);
        await deleteUpdateList(tx, channel.id, UpdateList.RemoteTip);
        await writeRevocation(tx, channel.id, revocation);
        await putFwdPkg(tx, args.fwdPkg);
        // Remote updates we acked stay unsigned-acked only until the new remote commitment
        // includes them (rules.stillUnsignedAcked, as one DELETE).
        await deleteUpdatesBefore(tx, channel.id, UpdateList.UnsignedAcked, tipRemoteLogIndex);
        await replaceUpdates(tx, channel.id, UpdateList.RemoteUnsignedLocal, args.remoteUnsignedLocalUpdates);
      });
    },

    commitmentHeight(chanPoint) {
      return readTx(ctx, async (tx) => (await requireCommitment(tx, (await findChannel(ctx, tx, chanPoint)).id, Party.Local, chanPoint)).commitHeight);
    },

    latestCommitments(chanPoint) {
      return readTx(ctx, async (tx) => {
        const channel = await findChannel(ctx, tx, chanPoint);
        return {
          local: await requireCommitment(tx, channel.id, Party.Local, chanPoint),
          remote: await requireCommitment(tx, channel.id, Party.Remote, chanPoint),
        };
      });
    },

    remoteRevocationStore(chanPoint) {
      return readTx(ctx, async (tx) => readRevocation(tx, (await findChannel(ctx, tx, chanPoint)).id));
    },

    revocationLogTailHeight(chanPoint) {
      return readTx(ctx, async (tx) => {
        const channel = await findChannel(ctx, tx, chanPoint);
        // The whole row, so its checksum is checked too.
        const row = await tx.selectFrom('revocation_log').selectAll().where('channel_id', '=', channel.id).orderBy('commit_height', 'desc').limit(1).executeTakeFirst();
        return row === undefined ? undefined : entryOfRow(row).commitHeight;
      });
    },

    findPreviousState(chanPoint, commitHeight) {
      return readTx(ctx, async (tx) => {
        const channel = await findChannel(ctx, tx, chanPoint);
        const row = await tx
          .selectFrom('revocation_log')
          .selectAll()
          .where('channel_id', '=', channel.id)
          .where('commit_height', '=', commitHeight)
          .executeTakeFirst();
        if (row === undefined) throw logEntryNotFound(chanPoint, commitHeight);
        return entryOfRow(row);
      });
    },

    fetchRevocationLog(chanPoint, from, limit) {
      return readTx(ctx, async (tx) => {
        const channel = await findChannel(ctx, tx, chanPoint);
        const rows = await tx
          .selectFrom('revocation_log')
          .selectAll()
          .where('channel_id', '=', channel.id)
          .where('commit_height', '>=', from)
          .orderBy('commit_height')
          .limit(limit)
          .execute();
        return rows.map(entryOfRow);
      });
    },
  };
}
