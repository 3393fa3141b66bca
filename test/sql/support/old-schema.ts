/**
 * Turns the revocation log of a SQL database written by today's stores back into the
 * schema-2 layout (one `revocation_log` row per revoked state, with its checksum), so that
 * migration 3 can be tested before → migrate → after with realistic data. The rows are
 * those schema-2 code wrote: the columns of migration 1, the checksum of migration 2 over
 * them, and the HTLCs as an HtlcEntryList record.
 */
import { sql } from 'kysely';
import { decodeBlock } from '../../../src/chanstate/revocation-blocks.js';
import type { RevocationLogEntry } from '../../../src/chanstate/types.js';
import { crcOfValues } from '../../../src/sql/checksums.js';
import type { DdlTypes } from '../../../src/sql/migrations.js';
import { htlcEntryListRecord } from '../../../src/sql/records.js';
import type { SqlTx } from '../../../src/sql/transactions.js';

/** Every revoked state in the blocks, by channel row id, in height order. */
async function blockEntries(tx: SqlTx): Promise<Array<{ channelId: number; entry: RevocationLogEntry }>> {
  const out: Array<{ channelId: number; entry: RevocationLogEntry }> = [];
  const sealed = (await sql<{ channel_id: bigint; first_height: bigint; block: Uint8Array }>`select channel_id, first_height, block from revocation_blocks order by channel_id, first_height`.execute(tx)).rows;
  const open = (await sql<{ channel_id: bigint; open_log_block: Uint8Array }>`select channel_id, open_log_block from revocation_states where open_log_block is not null order by channel_id`.execute(tx)).rows;
  for (const row of sealed) for (const entry of decodeBlock(new Uint8Array(row.block), Number(row.first_height))) out.push({ channelId: Number(row.channel_id), entry });
  for (const row of open) for (const entry of decodeBlock(new Uint8Array(row.open_log_block))) out.push({ channelId: Number(row.channel_id), entry });
  return out.sort((a, b) => a.channelId - b.channelId || a.entry.commitHeight - b.entry.commitHeight);
}

/** Undoes migration 3 inside `tx` (the caller then removes its chand_migrations row). */
export async function undoCompactLog(tx: SqlTx, ddl: DdlTypes): Promise<void> {
  const entries = await blockEntries(tx);
  const bytes = sql.raw(ddl.bytesType);
  await sql`create table revocation_log (
      channel_id bigint not null references channels (id),
      commit_height bigint not null,
      our_output_index bigint not null,
      their_output_index bigint not null,
      commit_txid ${bytes} not null,
      our_balance_msat bigint,
      their_balance_msat bigint,
      htlcs ${bytes},
      crc integer,
      constraint revocation_log_pkey primary key (channel_id, commit_height)
    ) ${ddl.withoutRowId ? sql`without rowid` : sql``}`.execute(tx);
  for (const { channelId, entry } of entries) {
    const values = [
      channelId,
      entry.commitHeight,
      entry.ourOutputIndex,
      entry.theirOutputIndex,
      Buffer.from(entry.commitTxid, 'hex'),
      entry.ourBalanceMsat ?? null,
      entry.theirBalanceMsat ?? null,
      entry.htlcs.length === 0 ? null : htlcEntryListRecord.encode({ htlcs: entry.htlcs }),
    ] as const;
    await sql`insert into revocation_log (channel_id, commit_height, our_output_index, their_output_index, commit_txid, our_balance_msat, their_balance_msat, htlcs, crc)
      values (${sql.join([...values, crcOfValues(values)])})`.execute(tx);
  }
  await tx.schema.dropTable('revocation_blocks').execute();
  await tx.schema.alterTable('revocation_states').dropColumn('open_log_block_crc').execute();
  await tx.schema.alterTable('revocation_states').dropColumn('open_log_block').execute();
}

/**
 * Undoes migration 4 inside `tx` (the caller then removes its chand_migrations row): the
 * payment-store tables go, children first. Schema-3 code wrote no rows there.
 */
export async function undoPaymentStores(tx: SqlTx): Promise<void> {
  for (const table of ['payment_attempts', 'payments', 'invoices']) await tx.schema.dropTable(table).execute();
}
