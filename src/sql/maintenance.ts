/**
 * SQL facet: housekeeping (MaintenanceStore) and the channel key-index allocator
 * (KeyIndexStore).
 *
 * Purge: closed channels are tombstones with `purge_pending = 1`; each purge call deletes
 * at most `maxRecords` of their bulk rows, table by table, as key ranges (index range scans
 * on both dialects), and clears the flag once a channel has nothing left.
 *
 * Allocator: the `chand_counters` row 'channel_key_index' holds the next unused index. It
 * is read and moved in an `exclusive` transaction, the same mode as the coordinator's
 * channel inserts that move it past their own index, so no two callers, in this process or
 * another, ever get the same value.
 */
import { sql } from 'kysely';
import type { KeyIndexStore, MaintenanceStore } from '../chanstate/store.js';
import { ChannelStatus } from '../chanstate/types.js';
import { blockStateCount } from '../chanstate/revocation-blocks.js';
import { countRows, openBlockOf, readKeyIndexCounter, readTx, writeKeyIndexCounter, writeTx, type ChannelFilter, type SqlStoreContext } from './chanstate-tx.js';
import { big, num } from './columns.js';
import type { SqlTx } from './transactions.js';

/** A table holding closed channels' bulk rows: its owner column and the key a batch is cut along. */
interface PurgeTable {
  readonly table: 'revocation_blocks' | 'htlcs' | 'commitments' | 'log_updates' | 'revocation_secrets' | 'commit_diffs' | 'revocation_states' | 'external_fundings' | 'fwd_pkg_updates' | 'fwd_pkgs';
  /** channel_id: rows of the channel; source: forwarding packages of its short channel id. */
  readonly owner: 'channel_id' | 'source';
  /** The primary key after the owner, in index order. */
  readonly keys: readonly string[];
}

/** What the purge deletes, in order. */
const PURGE_TABLES: readonly PurgeTable[] = [
  { table: 'revocation_blocks', owner: 'channel_id', keys: ['first_height'] },
  { table: 'htlcs', owner: 'channel_id', keys: ['party', 'seq'] },
  { table: 'commitments', owner: 'channel_id', keys: ['party'] },
  { table: 'log_updates', owner: 'channel_id', keys: ['kind', 'seq'] },
  { table: 'revocation_secrets', owner: 'channel_id', keys: ['seq'] },
  { table: 'commit_diffs', owner: 'channel_id', keys: [] },
  { table: 'revocation_states', owner: 'channel_id', keys: [] },
  { table: 'external_fundings', owner: 'channel_id', keys: [] },
  { table: 'fwd_pkg_updates', owner: 'source', keys: ['height', 'kind', 'seq'] },
  { table: 'fwd_pkgs', owner: 'source', keys: ['height'] },
];

/**
 * Deletes the first `limit` rows (by key) of `owner`'s rows in `t`, as a key range: find the
 * key of the last row of the batch, then delete up to it. The range keeps every step an
 * index range scan (a `key IN (subquery LIMIT n)` delete is planned as a scan of the whole
 * table by PostgreSQL).
 */
async function purgeBatch(tx: SqlTx, t: PurgeTable, owner: bigint | number, limit: number): Promise<number> {
  const table = sql.table(t.table);
  const byOwner = sql`${sql.ref(t.owner)} = ${owner}`;
  let last: Record<string, unknown> | undefined;
  if (t.keys.length > 0) {
    const keys = sql.join(t.keys.map((k) => sql.ref(k)));
    [last] = (await sql<Record<string, unknown>>`select ${keys} from ${table} where ${byOwner} order by ${keys} limit 1 offset ${limit - 1}`.execute(tx)).rows;
  }
  // Only the key columns in the row comparison: with the owner in it, SQLite no longer
  // uses the index range.
  const result =
    last === undefined
      ? await sql`delete from ${table} where ${byOwner}`.execute(tx)
      : await sql`delete from ${table} where ${byOwner} and (${sql.join(t.keys.map((k) => sql.ref(k)))}) <= (${sql.join(t.keys.map((k) => last[k]))})`.execute(tx);
  return Number(result.numAffectedRows ?? 0n);
}

/** Revoked states stored: those of the sealed blocks (a column) and of the open blocks (in the blocks). */
async function revokedStateCount(tx: SqlTx): Promise<number> {
  const sealed = await tx.selectFrom('revocation_blocks').select(sql<bigint | number | null>`sum(state_count)`.as('n')).executeTakeFirstOrThrow();
  let count = sealed.n === null ? 0 : num(sealed.n);
  const open = await tx.selectFrom('revocation_states').select(['channel_id', 'open_log_block', 'open_log_block_crc']).where('open_log_block', 'is not', null).execute();
  for (const row of open) count += blockStateCount(openBlockOf(row)!);
  return count;
}

/** The housekeeping of the SQL store. */
export function maintenanceFacet(ctx: SqlStoreContext): MaintenanceStore {
  return {
    purgeClosedChannels(maxRecords) {
      return writeTx(ctx, async (tx) => {
        let deleted = 0;
        const queue = await tx
          .selectFrom('channels')
          .select(['id', 'short_channel_id'])
          .where('purge_pending', '=', 1)
          .orderBy('txid')
          .orderBy('output_index')
          .execute();
        for (const row of queue) {
          const id = num(row.id);
          const source = big(row.short_channel_id);
          for (const t of PURGE_TABLES) {
            // A pending channel never had forwarding packages; scid 0 is shared by them all.
            if (t.owner === 'source' && source === 0n) continue;
            deleted += await purgeBatch(tx, t, t.owner === 'source' ? source : id, maxRecords - deleted);
            if (deleted >= maxRecords) return { deleted, done: false };
          }
          await tx.updateTable('channels').set({ purge_pending: 0 }).where('id', '=', id).execute();
        }
        return { deleted, done: true };
      });
    },

    counts() {
      return readTx(ctx, async (tx) => {
        const count = async (where: ChannelFilter) =>
          num((await tx.selectFrom('channels').select(sql<bigint | number>`count(*)`.as('n')).where(where).executeTakeFirstOrThrow()).n);
        return {
          openChannels: await count((eb) => eb.and([eb('closed', '=', 0), eb('is_pending', '=', 0), eb('status', '=', ChannelStatus.Default)])),
          pendingChannels: await count((eb) => eb.and([eb('closed', '=', 0), eb('is_pending', '=', 1)])),
          waitingCloseChannels: await count((eb) => eb.and([eb('closed', '=', 0), eb('status', '!=', ChannelStatus.Default)])),
          closedChannels: await countRows(tx, 'closed_channels'),
          revocationLogEntries: await revokedStateCount(tx),
          fwdPkgs: await countRows(tx, 'fwd_pkgs'),
          closedAwaitingPurge: await count((eb) => eb('purge_pending', '=', 1)),
        };
      });
    },
  };
}

/** The channel key-index allocator of the SQL store. */
export function keyIndexFacet(ctx: SqlStoreContext): KeyIndexStore {
  return {
    nextChannelKeyIndex() {
      return ctx.backend.runTx('exclusive', async (tx) => {
        const index = await readKeyIndexCounter(tx);
        await writeKeyIndexCounter(tx, index + 1);
        return index;
      });
    },
  };
}
