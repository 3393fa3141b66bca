/**
 * SQL facet: closed channels (ClosedChannelStore), and the close itself, which
 * cancelExternalFunding shares.
 *
 * Close is a tombstone: one short transaction archives the commitments and revocation
 * state (historical_channels), writes the summary (closed_channels and its local config),
 * flags the channel row closed and purge-pending, and clears external funding state. The
 * bulk rows stay for purgeClosedChannels (maintenance.ts).
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { commitmentRecord, remoteRevocationRecord } from '../chanstate/records.js';
import { ABANDON_STATUS, abandonSummary, assertCloseAllowed, channelNotFound, closedNotFound } from '../chanstate/rules.js';
import type { ClosedChannelStore } from '../chanstate/store.js';
import type { ChannelCloseSummary, ChannelStatusBits, OutPoint } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
import {
  closedSummaries,
  closeSummaryColumns,
  configRow,
  infoOfRow,
  lockChannel,
  openAt,
  readClosedSummary,
  readConfigPair,
  readExternalFunding,
  readRevocation,
  readTx,
  requireCommitment,
  writeTx,
  type ChannelHandle,
  type SqlStoreContext,
} from './chanstate-tx.js';
import { num } from './columns.js';
import { ConfigSide, Party } from './schema.js';
import type { SqlTx } from './transactions.js';

/**
 * The close itself (closeChannel, abandonChannel, cancelExternalFunding): archive, summary,
 * closed flag with `extraStatus` ORed in, external funding cleared. `channel` is locked.
 */
export async function closeChannelTx(tx: SqlTx, chanPoint: OutPoint, channel: ChannelHandle, summary: ChannelCloseSummary, extraStatus: ChannelStatusBits): Promise<void> {
  const flags = await tx.selectFrom('channels').select('last_was_revoke').where('id', '=', channel.id).executeTakeFirstOrThrow();
  await tx
    .insertInto('historical_channels')
    .values({
      channel_id: channel.id,
      local_commitment: commitmentRecord.encode(await requireCommitment(tx, channel.id, Party.Local, chanPoint)),
      remote_commitment: commitmentRecord.encode(await requireCommitment(tx, channel.id, Party.Remote, chanPoint)),
      remote_revocation: remoteRevocationRecord.encode(await readRevocation(tx, channel.id)),
      last_was_revoke: flags.last_was_revoke,
    })
    .execute();
  await tx
    .insertInto('closed_channels')
    .values({ channel_id: channel.id, ...closeSummaryColumns(summary) })
    .execute();
  await tx.insertInto('channel_configs').values(configRow(channel.id, ConfigSide.CloseSummary, summary.localConfig)).execute();
  await tx
    .updateTable('channels')
    .set({ closed: 1, purge_pending: 1, status: channel.status | extraStatus })
    .where('id', '=', channel.id)
    .execute();
  await tx.deleteFrom('external_fundings').where('channel_id', '=', channel.id).execute();
}

/**
 * The open channel at `op` as the summary rules need it (rules.SummarySource), locked, or
 * undefined if it is not open.
 */
export async function lockSummarySource(ctx: SqlStoreContext, tx: SqlTx, op: OutPoint) {
  const row = await tx
    .selectFrom('channels')
    .selectAll()
    .where(openAt(op))
    .$if(ctx.backend.capabilities.rowLocks, (qb) => qb.forUpdate())
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const info = infoOfRow(row, await readConfigPair(tx, num(row.id)));
  const handle: ChannelHandle = { id: num(row.id), status: info.status, shortChannelId: info.shortChannelId };
  return { info, handle };
}

/** The closed channels of the SQL store. */
export function closedChannelsFacet(ctx: SqlStoreContext): ClosedChannelStore {
  return {
    fetchClosedChannels(pendingOnly) {
      return readTx(ctx, (tx) => closedSummaries(tx, pendingOnly ? (eb) => eb('closed_channels.is_pending', '=', 1) : undefined));
    },

    fetchClosedChannel(chanPoint) {
      return readTx(ctx, async (tx) => {
        const summary = await readClosedSummary(tx, chanPoint);
        if (summary === undefined) throw closedNotFound(formatOutPoint(chanPoint));
        return summary;
      });
    },

    fetchClosedChannelById(channelId) {
      const id = hexToBytes(channelId);
      return readTx(ctx, async (tx) => {
        const [summary] = await closedSummaries(tx, (eb) => eb('channels.wire_channel_id', '=', id));
        if (summary === undefined) throw closedNotFound(`with id ${channelId}`);
        return summary;
      });
    },

    async closeChannel(chanPoint, summary, extraStatus = 0) {
      await writeTx(ctx, async (tx) => {
        const channel = await lockChannel(ctx, tx, chanPoint);
        // Same transaction as the close, so a submit racing a cancel is either seen here or
        // waits for the row lock and then finds the channel closed.
        assertCloseAllowed(chanPoint, summary, await readExternalFunding(tx, channel.id));
        await closeChannelTx(tx, chanPoint, channel, summary, extraStatus);
      });
    },

    async abandonChannel(chanPoint, bestHeight) {
      await writeTx(ctx, async (tx) => {
        const source = await lockSummarySource(ctx, tx, chanPoint);
        if (source === undefined) {
          // Abandoning twice is fine; abandoning an unknown channel is not.
          if ((await readClosedSummary(tx, chanPoint)) !== undefined) return;
          throw channelNotFound(chanPoint);
        }
        const local = await requireCommitment(tx, source.handle.id, Party.Local, chanPoint);
        const summary = abandonSummary(source.info, local.localBalanceMsat, await readRevocation(tx, source.handle.id), bestHeight);
        await closeChannelTx(tx, chanPoint, source.handle, summary, ABANDON_STATUS);
      });
    },
  };
}
