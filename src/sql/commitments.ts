/**
 * SQL facet: the commitment update protocol (CommitmentStore).
 *
 * Payment hot path: appendRemoteCommitChain writes the chain tip as a commitment in slot
 * `RemoteTip` with its HTLCs and updates; advanceCommitChainTail checks the revealed
 * secret, then moves the tip into the `Remote` slot with two UPDATEs (no re-encoding; the
 * row checksums leave the slot column out, so they stay valid), stores the revoked state in
 * the channel's open revocation block and adds the forwarding package; updateCommitment
 * replaces the local slot. Every call reads what it needs in one batch of statements first
 * (runMany: one round trip on PostgreSQL, the channel row locked by the first; the append's
 * acks read their packages in it too), checks, then writes with deferred statements that
 * travel with the COMMIT: two round trips per call on PostgreSQL, however many rows change
 * (test/sql/round-trips.test.ts counts them). Statements are prepared (prepared.ts).
 *
 * Revocation log: blocks of revoked states (chanstate/revocation-blocks.ts). Each channel's
 * newest block is open, in revocation_states.open_log_block (read and written with the
 * points advanceCommitChainTail reads and writes anyway); sealed blocks are rows of
 * revocation_blocks. SQL_BLOCK_LIMIT sizes a sealed block so that its SQLite row fills one
 * overflow page (plus the minimum local part in its leaf page).
 */
import type { Insertable } from 'kysely';
import { revocationLogEntryOf } from '../chanstate/revocation-log.js';
import { appendToOpen, blockStateCount, decodeBlock, findInBlock, openBlockSummary, storeInOpen, storeInSealed, type RevocationBlock } from '../chanstate/revocation-blocks.js';
import {
  advanceRevocation,
  assertHasScid,
  assertPkgSource,
  lockInUpdates,
  logEntryNotFound,
  missingCommitment,
  noPendingCommit,
  outputIndexesOf,
} from '../chanstate/rules.js';
import type { CommitmentStore } from '../chanstate/store.js';
import type { OutPoint, RevocationLogEntry } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
import { DecodeError } from '../errors.js';
import { CRC_COLUMNS, rowCrc, verifyRowCrc } from './checksums.js';
import {
  commitmentOfRows,
  deleteCommitment,
  deleteUpdateList,
  deleteUpdatesBefore,
  findChannel,
  insertCommitment,
  insertUpdates,
  lockChannel,
  lockChannelStatement,
  moveCommitmentSlot,
  mutableHandle,
  openBlockOf,
  readCommitment,
  readRevocation,
  readTx,
  readUpdates,
  replaceCommitment,
  replaceUpdates,
  requireCommitment,
  revocationOf,
  selectHtlcsAt,
  selectRemoteAndTipAt,
  selectRevocationAt,
  selectSecretsAt,
  selectUpdatesAt,
  setLastWasRevokeStatement,
  updatesOfRows,
  writeNextPoint,
  writeRevocation,
  writeTx,
  type PointsRow,
  type SecretRow,
  type SqlStoreContext,
} from './chanstate-tx.js';
import { bytes, flag, num, plain, u64Col } from './columns.js';
import { diffAcks, putFwdPkg } from './fwd-pkgs.js';
import { prepare, PreparedInsert, runMany } from './prepared.js';
import { circuitKeyListRecord } from './records.js';
import { Party, UpdateList, type CommitmentsTable, type Database, type HtlcsTable } from './schema.js';
import type { SqlTx } from './transactions.js';
import type { Selectable } from 'kysely';

// --- the revocation log ----------------------------------------------------------------------

/**
 * Most bytes of a sealed revocation block: with its key columns and checksum a SQLite row
 * then takes exactly its minimum local part in the leaf page and one overflow page, so
 * blocks fill their pages.
 */
export const SQL_BLOCK_LIMIT = 4540;

const insertBlockRow = new PreparedInsert<Insertable<Database['revocation_blocks']>>([...CRC_COLUMNS.revocation_blocks, 'crc'], (db, rows) =>
  db
    .insertInto('revocation_blocks')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['channel_id', 'first_height']).doUpdateSet((eb) => ({ state_count: eb.ref('excluded.state_count'), block: eb.ref('excluded.block'), crc: eb.ref('excluded.crc') })),
    ),
);
const selectOpenBlock = prepare((db, channelId: number) =>
  db.selectFrom('revocation_states').select(['channel_id', 'open_log_block', 'open_log_block_crc']).where('channel_id', '=', channelId),
);
const updateOpenBlock = prepare((db, channelId: number, block: Uint8Array, crc: number) =>
  db.updateTable('revocation_states').set({ open_log_block: block, open_log_block_crc: crc }).where('channel_id', '=', channelId),
);
const selectSealedAtOrBelow = prepare((db, channelId: number, height: number) =>
  db.selectFrom('revocation_blocks').selectAll().where('channel_id', '=', channelId).where('first_height', '<=', height).orderBy('first_height', 'desc').limit(1),
);
const selectSealedFrom = prepare((db, channelId: number, height: number, limit: number) =>
  db.selectFrom('revocation_blocks').selectAll().where('channel_id', '=', channelId).where('first_height', '>', height).orderBy('first_height').limit(limit),
);

type BlockRow = Selectable<Database['revocation_blocks']>;

/** The sealed block of a revocation_blocks row, after checking its checksum (DB_CORRUPT). */
function sealedOfRow(row: BlockRow): RevocationBlock {
  verifyRowCrc('revocation_blocks', row, `${row.channel_id}/${row.first_height}`);
  const block = { firstHeight: num(row.first_height), bytes: plain(row.block) };
  if (blockStateCount(block.bytes) !== num(row.state_count)) throw new DecodeError(`revocation_blocks row ${row.channel_id}/${row.first_height}: state count does not match its block`);
  return block;
}

/** Stores sealed blocks of channel `channelId` (deferred). */
async function putSealed(tx: SqlTx, channelId: number, blocks: readonly RevocationBlock[]): Promise<void> {
  if (blocks.length === 0) return;
  await insertBlockRow.defer(
    tx,
    blocks.map((b) => {
      const row = { channel_id: channelId, first_height: b.firstHeight, state_count: blockStateCount(b.bytes), block: b.bytes };
      return { ...row, crc: rowCrc('revocation_blocks', row) };
    }),
  );
}

/** The open revocation block of channel `channelId`, or undefined (checked). */
async function readOpenBlock(tx: SqlTx, channelId: number): Promise<Uint8Array | undefined> {
  return openBlockOf(await selectOpenBlock.first(tx, channelId));
}

/** Whether the open channel at a channel point has a sealed revocation block (one key column read). */
const selectAnySealedAt = prepare((db, txid: Uint8Array, index: number) =>
  db
    .selectFrom('revocation_blocks')
    .select('first_height')
    .where('channel_id', '=', db.selectFrom('channels').select('id').where('txid', '=', txid).where('output_index', '=', index).where('closed', '=', 0))
    .limit(1),
);

/**
 * Stores a revoked state of channel `channelId` whose open block is `open` (as read in this
 * transaction): the new open block to write (undefined when unchanged), with sealed blocks
 * written (deferred) on the way. A state of a sealed block's range is re-packed into it.
 * `hasSealed` (whether the channel has sealed blocks, when the caller read it) saves a read.
 */
async function storeRevokedState(
  tx: SqlTx,
  channelId: number,
  open: Uint8Array | undefined,
  entry: RevocationLogEntry,
  limit = SQL_BLOCK_LIMIT,
  hasSealed?: boolean,
): Promise<Uint8Array | undefined> {
  if (open === undefined && (hasSealed ?? (await selectSealedAtOrBelow.first(tx, channelId, Number.MAX_SAFE_INTEGER)) !== undefined)) {
    throw new DecodeError(`the revocation log of channel row ${channelId} has sealed blocks but no open block`);
  }
  const write = storeInOpen(open, entry, limit);
  if (write !== undefined) {
    await putSealed(tx, channelId, write.sealed);
    return write.open;
  }
  const at = await selectSealedAtOrBelow.first(tx, channelId, entry.commitHeight);
  await putSealed(tx, channelId, storeInSealed(at === undefined ? undefined : sealedOfRow(at), entry, limit));
  return undefined;
}

/**
 * Stores a revoked state of channel `channelId`, replacing a stored state of the same
 * height (bulk imports; advanceCommitChainTail writes the open block with the points).
 * `limit` (the block size) is for tests that want many blocks from few states.
 */
export async function putRevokedState(tx: SqlTx, channelId: number, entry: RevocationLogEntry, limit = SQL_BLOCK_LIMIT): Promise<void> {
  const open = await storeRevokedState(tx, channelId, await readOpenBlock(tx, channelId), entry, limit);
  if (open === undefined) return;
  const row = { channel_id: channelId, open_log_block: open };
  const crc = rowCrc('revocation_open_blocks', row);
  // The channel's revocation_states row exists from its insert on (insertChannel).
  if ((await updateOpenBlock.affected(tx, channelId, open, crc)) !== 1n) throw new DecodeError(`channel row ${channelId} has no revocation state row`);
}

/**
 * Stores revoked states of channel `channelId`, each above every stored one, in height order
 * (a bulk import, bulk-transfer.ts): the open block is read and written once for all of them.
 * RangeError for a height not above the last stored one.
 */
export async function appendRevokedStates(tx: SqlTx, channelId: number, entries: readonly RevocationLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const open = await readOpenBlock(tx, channelId);
  if (open === undefined && (await selectSealedAtOrBelow.first(tx, channelId, Number.MAX_SAFE_INTEGER)) !== undefined) {
    throw new DecodeError(`the revocation log of channel row ${channelId} has sealed blocks but no open block`);
  }
  const write = appendToOpen(open, entries, SQL_BLOCK_LIMIT);
  await putSealed(tx, channelId, write.sealed);
  const crc = rowCrc('revocation_open_blocks', { channel_id: channelId, open_log_block: write.open });
  if ((await updateOpenBlock.affected(tx, channelId, write.open, crc)) !== 1n) throw new DecodeError(`channel row ${channelId} has no revocation state row`);
}

/** The revoked state of channel `channelId` at `height`, or undefined. */
export async function findRevokedState(tx: SqlTx, channelId: number, height: number): Promise<RevocationLogEntry | undefined> {
  const open = await readOpenBlock(tx, channelId);
  if (open !== undefined && height >= openBlockSummary(open).firstHeight) return findInBlock(open, height);
  const at = await selectSealedAtOrBelow.first(tx, channelId, height);
  if (at === undefined) return undefined;
  const block = sealedOfRow(at);
  return findInBlock(block.bytes, height, block.firstHeight);
}

/** The revoked states of channel `channelId` from height `from` on, in height order, at most `limit`. */
export async function revokedStatesFrom(tx: SqlTx, channelId: number, from: number, limit: number): Promise<RevocationLogEntry[]> {
  const out: RevocationLogEntry[] = [];
  const take = (entries: readonly RevocationLogEntry[]) => {
    for (const e of entries) if (e.commitHeight >= from && out.length < limit) out.push(e);
  };
  const first = await selectSealedAtOrBelow.first(tx, channelId, from);
  if (first !== undefined) {
    const block = sealedOfRow(first);
    take(decodeBlock(block.bytes, block.firstHeight));
  }
  // Blocks hold many states each: a page of rows is plenty for any limit a caller reads.
  for (let after = from; out.length < limit; ) {
    const rows = await selectSealedFrom.rows(tx, channelId, after, 64);
    for (const row of rows) {
      const block = sealedOfRow(row);
      take(decodeBlock(block.bytes, block.firstHeight));
      after = block.firstHeight;
    }
    if (rows.length < 64) break;
  }
  const open = await readOpenBlock(tx, channelId);
  if (open !== undefined && out.length < limit) take(decodeBlock(open));
  return out;
}

// --- whole blocks, for bulk copies between backends of the same layout (bulk-transfer.ts) ---

/** Sealed blocks of channel `channelId` with a first height above `height`, in height order, at most `limit` (checksums checked). */
export async function sealedBlocksAfter(tx: SqlTx, channelId: number, height: number, limit: number): Promise<RevocationBlock[]> {
  return (await selectSealedFrom.rows(tx, channelId, height, limit)).map(sealedOfRow);
}

/** The sealed block of channel `channelId` with the greatest first height at or below `height`, or undefined (checked). */
export async function sealedBlockAtOrBelow(tx: SqlTx, channelId: number, height: number): Promise<RevocationBlock | undefined> {
  const row = await selectSealedAtOrBelow.first(tx, channelId, height);
  return row === undefined ? undefined : sealedOfRow(row);
}

/** The open revocation block of channel `channelId`, or undefined when its log is empty (checked). */
export function readOpenRevocationBlock(tx: SqlTx, channelId: number): Promise<Uint8Array | undefined> {
  return readOpenBlock(tx, channelId);
}

/**
 * Stores blocks of channel `channelId` as they are: `sealed` under their first heights, then
 * `open` (if given) as its open block. The caller (a bulk import) hands them in order, none
 * after the open block, in a layout this backend reads (revocation-blocks.ts format 1).
 */
export async function putRevocationBlocks(tx: SqlTx, channelId: number, sealed: readonly RevocationBlock[], open: Uint8Array | undefined): Promise<void> {
  await putSealed(tx, channelId, sealed);
  if (open === undefined) return;
  const crc = rowCrc('revocation_open_blocks', { channel_id: channelId, open_log_block: open });
  if ((await updateOpenBlock.affected(tx, channelId, open, crc)) !== 1n) throw new DecodeError(`channel row ${channelId} has no revocation state row`);
}

/** The height of the newest revoked state of channel `channelId`, or undefined when its log is empty. */
export async function revokedTailHeight(tx: SqlTx, channelId: number): Promise<number | undefined> {
  const open = await readOpenBlock(tx, channelId);
  return open === undefined ? undefined : openBlockSummary(open).lastHeight;
}

// --- prepared statements of the hot path -----------------------------------------------------

const upsertFinalHtlcs = new PreparedInsert<Insertable<Database['final_htlcs']>>(['short_channel_id', 'htlc_index', 'settled', 'offchain'], (db, rows) =>
  db
    .insertInto('final_htlcs')
    .values(rows)
    .onConflict((oc) => oc.columns(['short_channel_id', 'htlc_index']).doUpdateSet((eb) => ({ settled: eb.ref('excluded.settled'), offchain: eb.ref('excluded.offchain') }))),
);
const deleteCommitDiff = prepare((db, channelId: number) => db.deleteFrom('commit_diffs').where('channel_id', '=', channelId));
/** The rest of the chain tip; a tip re-signed after reconnecting replaces the earlier one. */
const upsertCommitDiff = prepare((db, channelId: number, commitSig: Uint8Array, opened: Uint8Array, closed: Uint8Array) =>
  db
    .insertInto('commit_diffs')
    .values({ channel_id: channelId, commit_sig: commitSig, opened_circuit_keys: opened, closed_circuit_keys: closed })
    .onConflict((oc) =>
      oc.column('channel_id').doUpdateSet((eb) => ({
        commit_sig: eb.ref('excluded.commit_sig'),
        opened_circuit_keys: eb.ref('excluded.opened_circuit_keys'),
        closed_circuit_keys: eb.ref('excluded.closed_circuit_keys'),
      })),
    ),
);

/** The commitment protocol of the SQL store. */
export function commitmentsFacet(ctx: SqlStoreContext): CommitmentStore {
  return {
    updateCommitment(chanPoint, newCommitment, unsignedAckedUpdates) {
      return writeTx(ctx, async (tx) => {
        const txid = hexToBytes(chanPoint.txid);
        // One batch: mark (and lock) the channel, read our updates the remote has not signed.
        const [marked, pendingRows] = await runMany(tx, [
          setLastWasRevokeStatement.bind(tx, flag(true), txid, chanPoint.index),
          selectUpdatesAt.bind(tx, txid, chanPoint.index, UpdateList.RemoteUnsignedLocal),
        ]);
        const channel = mutableHandle(marked!.rows[0] as Parameters<typeof mutableHandle>[0], chanPoint);
        await replaceCommitment(tx, channel.id, Party.Local, newCommitment);
        await replaceUpdates(tx, channel.id, UpdateList.UnsignedAcked, unsignedAckedUpdates);
        const lockIn = lockInUpdates(updatesOfRows(pendingRows!.rows as Array<{ log_index: bigint; message: Uint8Array }>), newCommitment.localLogIndex);
        // The locked-in updates are exactly those below the new local log index.
        if (lockIn.lockedIn > 0) await deleteUpdatesBefore(tx, channel.id, UpdateList.RemoteUnsignedLocal, newCommitment.localLogIndex);
        if (ctx.options.finalHtlcs && lockIn.finalized.size > 0) {
          const scid = u64Col(channel.shortChannelId);
          await upsertFinalHtlcs.defer(
            tx,
            [...lockIn.finalized].map(([htlcIndex, settled]) => ({ short_channel_id: scid, htlc_index: htlcIndex, settled: flag(settled), offchain: 1 })),
          );
        }
        return lockIn.finalized;
      });
    },

    async appendRemoteCommitChain(chanPoint, diff) {
      await writeTx(ctx, async (tx) => {
        const txid = hexToBytes(chanPoint.txid);
        // One batch: mark (and lock) the channel, then read (and lock) the packages the acks name.
        const acks = diffAcks(ctx, tx, txid, chanPoint.index, diff.addAcks ?? [], diff.settleFailAcks ?? []);
        const [marked, ...pkgRows] = await runMany(tx, [setLastWasRevokeStatement.bind(tx, flag(false), txid, chanPoint.index), ...acks.queries]);
        const channel = mutableHandle(marked!.rows[0] as Parameters<typeof mutableHandle>[0], chanPoint);
        await acks.write(pkgRows, channel.shortChannelId);
        const opened = circuitKeyListRecord.encode({ keys: diff.openedCircuitKeys });
        const closed = circuitKeyListRecord.encode({ keys: diff.closedCircuitKeys });
        // A tip may exist (a re-signed commitment after reconnecting): it is replaced whole.
        // Deleting unconditionally costs nothing when there is none, and needs no read.
        await deleteCommitment(tx, channel.id, Party.RemoteTip);
        await deleteUpdateList(tx, channel.id, UpdateList.RemoteTip);
        await upsertCommitDiff.defer(tx, channel.id, diff.commitSig, opened, closed);
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
        const txid = hexToBytes(chanPoint.txid);
        const op: OutPoint = chanPoint;
        // One batch of reads, the first locking the channel row where the dialect locks rows.
        const [channelRows, commitmentRows, htlcRows, pointRows, secretRows, sealedRows] = await runMany(tx, [
          lockChannelStatement(ctx).bind(tx, txid, op.index),
          selectRemoteAndTipAt.bind(tx, txid, op.index),
          selectHtlcsAt.bind(tx, txid, op.index, Party.Remote),
          selectRevocationAt.bind(tx, txid, op.index),
          selectSecretsAt.bind(tx, txid, op.index),
          selectAnySealedAt.bind(tx, txid, op.index),
        ]);
        const channel = mutableHandle(channelRows!.rows[0] as Parameters<typeof mutableHandle>[0], chanPoint);
        assertHasScid(channel.shortChannelId, chanPoint);
        assertPkgSource(args.fwdPkg, channel.shortChannelId);
        const commitments = commitmentRows!.rows as Selectable<CommitmentsTable>[];
        const tip = commitments.find((r) => num(r.party) === Party.RemoteTip);
        const remote = commitments.find((r) => num(r.party) === Party.Remote);
        if (tip === undefined) throw noPendingCommit(chanPoint);
        if (remote === undefined) throw missingCommitment(chanPoint, 'remote');
        // The tip's HTLCs are not read here, but its row's own columns are checked.
        verifyRowCrc('commitments', tip, `${tip.channel_id}/${tip.party}`);
        const remoteHtlcs = htlcRows!.rows as Selectable<HtlcsTable>[];
        const revoked = commitmentOfRows(remote, remoteHtlcs);
        const points = pointRows!.rows[0] as PointsRow | undefined;
        const secrets = secretRows!.rows as SecretRow[];
        // Every check before the first write: a bad revocation changes nothing.
        const revocation = advanceRevocation(chanPoint, revocationOf(points, secrets), revoked.commitHeight, args.revocationSecret, args.nextPoint, ctx.options.secretToPoint);

        const { ourOutputIndex, theirOutputIndex } = outputIndexesOf(revoked);
        const entry = revocationLogEntryOf(revoked, ourOutputIndex, theirOutputIndex, ctx.options.balances);
        const open = await storeRevokedState(tx, channel.id, openBlockOf(points), entry, SQL_BLOCK_LIMIT, sealedRows!.rows.length > 0);
        // The tip becomes the remote commitment: move its slot, no re-encoding.
        await deleteCommitment(tx, channel.id, Party.Remote, remoteHtlcs.length);
        await moveCommitmentSlot(tx, channel.id, Party.RemoteTip, Party.Remote);
        await deleteCommitDiff.defer(tx, channel.id);
        await deleteUpdateList(tx, channel.id, UpdateList.RemoteTip);
        await writeRevocation(tx, channel.id, revocation, secrets, open);
        await putFwdPkg(tx, args.fwdPkg);
        // Remote updates we acked stay unsigned-acked only until the new remote commitment
        // includes them (rules.stillUnsignedAcked, as one DELETE).
        await deleteUpdatesBefore(tx, channel.id, UpdateList.UnsignedAcked, num(tip.remote_log_index));
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
      return readTx(ctx, async (tx) => revokedTailHeight(tx, (await findChannel(ctx, tx, chanPoint)).id));
    },

    findPreviousState(chanPoint, commitHeight) {
      return readTx(ctx, async (tx) => {
        const entry = await findRevokedState(tx, (await findChannel(ctx, tx, chanPoint)).id, commitHeight);
        if (entry === undefined) throw logEntryNotFound(chanPoint, commitHeight);
        return entry;
      });
    },

    fetchRevocationLog(chanPoint, from, limit) {
      return readTx(ctx, async (tx) => revokedStatesFrom(tx, (await findChannel(ctx, tx, chanPoint)).id, from, limit));
    },
  };
}
