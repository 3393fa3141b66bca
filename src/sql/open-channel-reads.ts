/**
 * SQL facet: reads and scans of open channels (OpenChannelReads) and of the full records
 * archived at close (HistoricalChannelReads).
 *
 * Each method is one `read` transaction. Scans assemble whole channels with a fixed number
 * of queries (loadChannels), in channel-point order.
 */
import { formatOutPoint } from '../chanstate/channel-id.js';
import { commitmentRecord, remoteRevocationRecord } from '../chanstate/records.js';
import { channelIdNotFound, countPermAndTempPeers } from '../chanstate/rules.js';
import type { HistoricalChannelReads, OpenChannelReads } from '../chanstate/store.js';
import { ChannelStatus, type OutPoint } from '../chanstate/types.js';
import { hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import { infoOfRow, loadChannels, readChannel, readConfigPair, readTx, type SqlStoreContext } from './chanstate-tx.js';
import { CLOSE_TYPES, boolOf, enumOf, hexOf, num, plain } from './columns.js';

/** The open-channel reads of the SQL store. */
export function openChannelReadsFacet(ctx: SqlStoreContext): OpenChannelReads {
  return {
    fetchOpenChannels(nodeId) {
      const pub = hexToBytes(nodeId);
      return readTx(ctx, (tx) => loadChannels(tx, (eb) => eb.and([eb('node_pub', '=', pub), eb('closed', '=', 0)])));
    },

    fetchChannel(chanPoint) {
      return readTx(ctx, (tx) => readChannel(tx, chanPoint));
    },

    fetchChannelById(channelId) {
      const id = hexToBytes(channelId);
      return readTx(ctx, async (tx) => {
        const [channel] = await loadChannels(tx, (eb) => eb.and([eb('wire_channel_id', '=', id), eb('closed', '=', 0)]));
        if (channel === undefined) throw channelIdNotFound(channelId);
        return channel;
      });
    },

    fetchAllChannels() {
      return readTx(ctx, (tx) => loadChannels(tx, (eb) => eb('closed', '=', 0)));
    },

    fetchAllOpenChannels() {
      return readTx(ctx, (tx) => loadChannels(tx, (eb) => eb.and([eb('closed', '=', 0), eb('is_pending', '=', 0), eb('status', '=', ChannelStatus.Default)])));
    },

    fetchPendingChannels() {
      return readTx(ctx, (tx) => loadChannels(tx, (eb) => eb.and([eb('closed', '=', 0), eb('is_pending', '=', 1)])));
    },

    fetchWaitingCloseChannels() {
      return readTx(ctx, (tx) => loadChannels(tx, (eb) => eb.and([eb('closed', '=', 0), eb('status', '!=', ChannelStatus.Default)])));
    },

    fetchPermAndTempPeers(chainHash) {
      const chain = hexToBytes(chainHash);
      return readTx(ctx, async (tx) => {
        const channels = await tx
          .selectFrom('channels')
          .select(['node_pub', 'is_pending'])
          .where('closed', '=', 0)
          .where('chain_hash', '=', chain)
          .orderBy('txid')
          .orderBy('output_index')
          .execute();
        const closed = await tx
          .selectFrom('closed_channels')
          .innerJoin('channels', 'channels.id', 'closed_channels.channel_id')
          .select(['closed_channels.remote_pub', 'closed_channels.close_type'])
          .where('closed_channels.chain_hash', '=', chain)
          .orderBy('channels.txid')
          .orderBy('channels.output_index')
          .execute();
        return countPermAndTempPeers(
          channels.map((r) => ({ peer: hexOf(r.node_pub, 33, 'channels.node_pub'), isPending: boolOf(r.is_pending, 'channels.is_pending') })),
          closed.map((r) => ({ peer: hexOf(r.remote_pub, 33, 'closed_channels.remote_pub'), closeType: enumOf(r.close_type, CLOSE_TYPES, 'closed_channels.close_type') })),
        );
      });
    },
  };
}

/** The historical-channel reads of the SQL store. */
export function historicalChannelReadsFacet(ctx: SqlStoreContext): HistoricalChannelReads {
  return {
    fetchHistoricalChannel(chanPoint: OutPoint) {
      const txid = hexToBytes(chanPoint.txid);
      return readTx(ctx, async (tx) => {
        const row = await tx
          .selectFrom('channels')
          .innerJoin('historical_channels', 'historical_channels.channel_id', 'channels.id')
          .selectAll('channels')
          .select([
            'historical_channels.local_commitment',
            'historical_channels.remote_commitment',
            'historical_channels.remote_revocation',
            'historical_channels.last_was_revoke as archived_last_was_revoke',
          ])
          .where('channels.txid', '=', txid)
          .where('channels.output_index', '=', chanPoint.index)
          .executeTakeFirst();
        if (row === undefined) {
          throw new ChandError(ErrorCode.HISTORICAL_CHANNEL_NOT_FOUND, `no historical record of channel ${formatOutPoint(chanPoint)}`);
        }
        return {
          ...infoOfRow(row, await readConfigPair(tx, num(row.id))),
          localCommitment: commitmentRecord.decode(plain(row.local_commitment)),
          remoteCommitment: commitmentRecord.decode(plain(row.remote_commitment)),
          remoteRevocation: remoteRevocationRecord.decode(plain(row.remote_revocation)),
          lastWasRevoke: boolOf(row.archived_last_was_revoke, 'historical_channels.last_was_revoke'),
        };
      });
    },
  };
}
