/**
 * SQL facet: forwarding packages (FwdPkgStore), plus the package writes and acks the
 * commitment facet runs inside its own transactions (advanceCommitChainTail adds a package,
 * appendRemoteCommitChain acks).
 *
 * Layout: `fwd_pkgs (source, height)` with the three filters as PkgFilter records, and
 * `fwd_pkg_updates (source, height, kind, seq)`. Packages are keyed by the source short
 * channel id (acks name them so); markOpen moves them when the scid changes. A package row
 * is locked (`FOR UPDATE` where the dialect has row locks) before its filters change.
 */
import { sql, type Insertable, type QueryResult } from 'kysely';
import { pkgFilterRecord } from '../chanstate/records.js';
import { ackAdd, ackSettleFail, assertRemovable, fwdFilterToSet, fwdPkgNotFound } from '../chanstate/rules.js';
import { fwdPkgState } from '../chanstate/pkg-filter.js';
import type { FwdPkgStore } from '../chanstate/store.js';
import type { AddRef, FwdPkg, FwdState, LogUpdate, PkgFilter, SettleFailRef, ShortChannelId } from '../chanstate/types.js';
import { findChannel, lockChannel, readTx, writeTx, type SqlStoreContext } from './chanstate-tx.js';
import { bytes, num, plain, u64Col, u64Of } from './columns.js';
import { prepare, PreparedInsert } from './prepared.js';
import { PkgUpdateKind, type Database } from './schema.js';
import type { SqlTx } from './transactions.js';

interface PkgFilters {
  readonly ackFilter: PkgFilter;
  readonly settleFailFilter: PkgFilter;
  readonly fwdFilter?: PkgFilter;
}

function filtersOfRow(row: { ack_filter: Uint8Array; settle_fail_filter: Uint8Array; fwd_filter: Uint8Array | null }): PkgFilters {
  const filters = { ackFilter: pkgFilterRecord.decode(plain(row.ack_filter)), settleFailFilter: pkgFilterRecord.decode(plain(row.settle_fail_filter)) };
  return row.fwd_filter === null ? filters : { ...filters, fwdFilter: pkgFilterRecord.decode(plain(row.fwd_filter)) };
}

/** A package row, replacing one at the same (source, height): a replayed revocation re-adds its package. */
const upsertFwdPkg = prepare(
  (db, source: bigint, height: number, state: number, ackFilter: Uint8Array, settleFailFilter: Uint8Array, fwdFilter: Uint8Array | null) =>
    db
      .insertInto('fwd_pkgs')
      .values({ source, height, state, ack_filter: ackFilter, settle_fail_filter: settleFailFilter, fwd_filter: fwdFilter })
      .onConflict((oc) =>
        oc.columns(['source', 'height']).doUpdateSet((eb) => ({
          state: eb.ref('excluded.state'),
          ack_filter: eb.ref('excluded.ack_filter'),
          settle_fail_filter: eb.ref('excluded.settle_fail_filter'),
          fwd_filter: eb.ref('excluded.fwd_filter'),
        })),
      ),
);
const deletePkgUpdates = prepare((db, source: bigint, height: number) => db.deleteFrom('fwd_pkg_updates').where('source', '=', source).where('height', '=', height));
const insertFwdPkgUpdates = new PreparedInsert<Insertable<Database['fwd_pkg_updates']>>(['source', 'height', 'kind', 'seq', 'log_index', 'message'], (db, rows) =>
  db.insertInto('fwd_pkg_updates').values(rows),
);

/**
 * Writes (or replaces) a package with its updates; its state follows from its filters.
 * Deferred (prepared.ts): no read, so on PostgreSQL it travels with the COMMIT.
 */
export async function putFwdPkg(tx: SqlTx, pkg: FwdPkg): Promise<void> {
  const source = u64Col(pkg.source);
  const height = pkg.height;
  const updates = [
    ...pkg.adds.map((u, seq) => ({ kind: PkgUpdateKind.Add, seq, u })),
    ...pkg.settleFails.map((u, seq) => ({ kind: PkgUpdateKind.SettleFail, seq, u })),
  ].map(({ kind, seq, u }) => ({ source, height, kind, seq, log_index: u.logIndex, message: u.message }));
  await upsertFwdPkg.defer(
    tx,
    source,
    height,
    fwdPkgState(pkg),
    pkgFilterRecord.encode(pkg.ackFilter),
    pkgFilterRecord.encode(pkg.settleFailFilter),
    pkg.fwdFilter === undefined ? null : pkgFilterRecord.encode(pkg.fwdFilter),
  );
  // A replaced package's updates go first (none, as a rule: the delete then finds nothing).
  await deletePkgUpdates.defer(tx, source, height);
  await insertFwdPkgUpdates.defer(tx, updates);
}

/** The filters of package (source, height), locked for update; undefined if absent. */
async function pkgFilters(ctx: SqlStoreContext, tx: SqlTx, source: bigint, height: number): Promise<PkgFilters | undefined> {
  const row = await tx
    .selectFrom('fwd_pkgs')
    .select(['ack_filter', 'settle_fail_filter', 'fwd_filter'])
    .where('source', '=', source)
    .where('height', '=', height)
    .$if(ctx.backend.capabilities.rowLocks, (qb) => qb.forUpdate())
    .executeTakeFirst();
  return row === undefined ? undefined : filtersOfRow(row);
}

async function savePkgFilters(tx: SqlTx, source: bigint, height: number, filters: PkgFilters): Promise<void> {
  await tx
    .updateTable('fwd_pkgs')
    .set({
      state: fwdPkgState(filters),
      ack_filter: pkgFilterRecord.encode(filters.ackFilter),
      settle_fail_filter: pkgFilterRecord.encode(filters.settleFailFilter),
      fwd_filter: filters.fwdFilter === undefined ? null : pkgFilterRecord.encode(filters.fwdFilter),
    })
    .where('source', '=', source)
    .where('height', '=', height)
    .execute();
}

const PKG_FILTER_COLUMNS = ['source', 'height', 'ack_filter', 'settle_fail_filter', 'fwd_filter'] as const;
/** Package (source, height)'s filters, locked (dialects with row locks) or not. */
const selectPkgFilters = prepare((db, source: bigint, height: number) =>
  db.selectFrom('fwd_pkgs').select(PKG_FILTER_COLUMNS).where('source', '=', source).where('height', '=', height),
);
const selectPkgFiltersForUpdate = prepare((db, source: bigint, height: number) =>
  db.selectFrom('fwd_pkgs').select(PKG_FILTER_COLUMNS).where('source', '=', source).where('height', '=', height).forUpdate(),
);
/** The same for a package of the open channel at a channel point (its scid read in the statement). */
function channelScidAt(db: SqlTx, txid: Uint8Array, index: number) {
  return db.selectFrom('channels').select('short_channel_id').where('txid', '=', txid).where('output_index', '=', index).where('closed', '=', 0);
}
const selectChannelPkgFilters = prepare((db, txid: Uint8Array, index: number, height: number) =>
  db.selectFrom('fwd_pkgs').select(PKG_FILTER_COLUMNS).where('source', '=', channelScidAt(db, txid, index)).where('height', '=', height),
);
const selectChannelPkgFiltersForUpdate = prepare((db, txid: Uint8Array, index: number, height: number) =>
  db.selectFrom('fwd_pkgs').select(PKG_FILTER_COLUMNS).where('source', '=', channelScidAt(db, txid, index)).where('height', '=', height).forUpdate(),
);
const updatePkgFilters = prepare(
  (db, state: number, ackFilter: Uint8Array, settleFailFilter: Uint8Array, fwdFilter: Uint8Array | null, source: bigint, height: number) =>
    db
      .updateTable('fwd_pkgs')
      .set({ state, ack_filter: ackFilter, settle_fail_filter: settleFailFilter, fwd_filter: fwdFilter })
      .where('source', '=', source)
      .where('height', '=', height),
);

/**
 * The acks of a CommitDiff in two steps, so that their reads join the caller's batch
 * (runMany) and their writes are deferred: on PostgreSQL they cost no round trip of their
 * own, however many packages they touch. `queries` read (and lock) every package the refs
 * name: add refs name packages of the channel at `txid:index` (its scid is read in the
 * statement), settle/fail refs their own sources. `write(results, scid)` takes those
 * queries' results and the channel's scid and applies the acks exactly as ackAddsTx then
 * ackSettleFailsTx would (in order, each seeing the bits set before it; removed packages
 * skipped; a package named twice read once), writing each changed package once.
 */
export function diffAcks(ctx: SqlStoreContext, tx: SqlTx, txid: Uint8Array, index: number, addRefs: readonly AddRef[], settleFailRefs: readonly SettleFailRef[]) {
  const locked = ctx.backend.capabilities.rowLocks;
  const queries = [
    ...addRefs.map((r) => (locked ? selectChannelPkgFiltersForUpdate : selectChannelPkgFilters).bind(tx, txid, index, r.height)),
    ...settleFailRefs.map((r) => (locked ? selectPkgFiltersForUpdate : selectPkgFilters).bind(tx, u64Col(r.source), r.height)),
  ];
  const write = async (results: readonly QueryResult<unknown>[], scid: ShortChannelId): Promise<void> => {
    const source = u64Col(scid);
    const pkgs = new Map<string, { source: bigint; height: number; filters: PkgFilters; changed: boolean }>();
    // Ref i's package: absent (removed) or its latest filters.
    const pkgOf = (i: number, src: bigint, height: number) => {
      const key = `${src}/${height}`;
      let pkg = pkgs.get(key);
      const row = results[i]!.rows[0] as Parameters<typeof filtersOfRow>[0] | undefined;
      if (pkg === undefined && row !== undefined) pkgs.set(key, (pkg = { source: src, height, filters: filtersOfRow(row), changed: false }));
      return pkg;
    };
    addRefs.forEach((ref, i) => {
      const pkg = pkgOf(i, source, ref.height);
      const ackFilter = pkg === undefined ? undefined : ackAdd(pkg.filters, ref.index);
      if (pkg === undefined || ackFilter === undefined) return;
      pkg.filters = { ...pkg.filters, ackFilter };
      pkg.changed = true;
    });
    settleFailRefs.forEach((ref, j) => {
      const pkg = pkgOf(addRefs.length + j, u64Col(ref.source), ref.height);
      const settleFailFilter = pkg === undefined ? undefined : ackSettleFail(pkg.filters, ref.index);
      if (pkg === undefined || settleFailFilter === undefined) return;
      pkg.filters = { ...pkg.filters, settleFailFilter };
      pkg.changed = true;
    });
    for (const pkg of pkgs.values()) {
      if (!pkg.changed) continue;
      const f = pkg.filters;
      await updatePkgFilters.defer(
        tx,
        fwdPkgState(f),
        pkgFilterRecord.encode(f.ackFilter),
        pkgFilterRecord.encode(f.settleFailFilter),
        f.fwdFilter === undefined ? null : pkgFilterRecord.encode(f.fwdFilter),
        pkg.source,
        pkg.height,
      );
    }
  };
  return { queries, write };
}

/** Sets ack bits of `source`'s packages; packages already removed are skipped (their adds were all acked). */
export async function ackAddsTx(ctx: SqlStoreContext, tx: SqlTx, source: ShortChannelId, refs: readonly AddRef[]): Promise<void> {
  const src = u64Col(source);
  for (const ref of refs) {
    const filters = await pkgFilters(ctx, tx, src, ref.height);
    const ackFilter = filters === undefined ? undefined : ackAdd(filters, ref.index);
    if (filters === undefined || ackFilter === undefined) continue;
    await savePkgFilters(tx, src, ref.height, { ...filters, ackFilter });
  }
}

/** Sets settle/fail ack bits in the packages the refs name; removed packages are skipped. */
export async function ackSettleFailsTx(ctx: SqlStoreContext, tx: SqlTx, refs: readonly SettleFailRef[]): Promise<void> {
  for (const ref of refs) {
    const src = u64Col(ref.source);
    const filters = await pkgFilters(ctx, tx, src, ref.height);
    const settleFailFilter = filters === undefined ? undefined : ackSettleFail(filters, ref.index);
    if (filters === undefined || settleFailFilter === undefined) continue;
    await savePkgFilters(tx, src, ref.height, { ...filters, settleFailFilter });
  }
}

/** The forwarding packages of the SQL store. */
export function fwdPkgsFacet(ctx: SqlStoreContext): FwdPkgStore {
  return {
    loadFwdPkgs(chanPoint) {
      return readTx(ctx, async (tx) => {
        const channel = await findChannel(ctx, tx, chanPoint);
        const source = u64Col(channel.shortChannelId);
        const pkgs = await tx.selectFrom('fwd_pkgs').selectAll().where('source', '=', source).orderBy('height').execute();
        if (pkgs.length === 0) return [];
        const updates = await tx
          .selectFrom('fwd_pkg_updates')
          .select(['height', 'kind', 'log_index', 'message'])
          .where('source', '=', source)
          .orderBy('height')
          .orderBy('kind')
          .orderBy('seq')
          .execute();
        const byHeight = new Map<number, { adds: LogUpdate[]; settleFails: LogUpdate[] }>();
        for (const u of updates) {
          const height = num(u.height);
          let lists = byHeight.get(height);
          if (lists === undefined) byHeight.set(height, (lists = { adds: [], settleFails: [] }));
          (num(u.kind) === PkgUpdateKind.Add ? lists.adds : lists.settleFails).push({ logIndex: num(u.log_index), message: bytes(u.message) });
        }
        return pkgs.map((row): FwdPkg => {
          const height = num(row.height);
          const lists = byHeight.get(height) ?? { adds: [], settleFails: [] };
          return {
            source: u64Of(row.source),
            height,
            state: num(row.state) as FwdState,
            adds: lists.adds,
            settleFails: lists.settleFails,
            ...filtersOfRow(row),
          };
        });
      });
    },

    async ackAddHtlcs(chanPoint, refs) {
      await writeTx(ctx, async (tx) => ackAddsTx(ctx, tx, (await lockChannel(ctx, tx, chanPoint)).shortChannelId, refs));
    },

    async ackSettleFails(refs) {
      await writeTx(ctx, (tx) => ackSettleFailsTx(ctx, tx, refs));
    },

    async setFwdFilter(chanPoint, height, filter) {
      await writeTx(ctx, async (tx) => {
        const source = u64Col((await lockChannel(ctx, tx, chanPoint)).shortChannelId);
        const filters = await pkgFilters(ctx, tx, source, height);
        if (filters === undefined) throw fwdPkgNotFound(chanPoint, height);
        const adds = await tx
          .selectFrom('fwd_pkg_updates')
          .select(sql<bigint | number>`count(*)`.as('n'))
          .where('source', '=', source)
          .where('height', '=', height)
          .where('kind', '=', PkgUpdateKind.Add)
          .executeTakeFirstOrThrow();
        const fwdFilter = fwdFilterToSet(filters.fwdFilter, num(adds.n), filter);
        if (fwdFilter !== undefined) await savePkgFilters(tx, source, height, { ...filters, fwdFilter });
      });
    },

    async removeFwdPkgs(chanPoint, heights) {
      await writeTx(ctx, async (tx) => {
        const channel = await lockChannel(ctx, tx, chanPoint);
        const source = u64Col(channel.shortChannelId);
        for (const height of heights) {
          const filters = await pkgFilters(ctx, tx, source, height);
          if (filters === undefined) continue;
          assertRemovable(filters, channel.shortChannelId, height);
          await tx.deleteFrom('fwd_pkg_updates').where('source', '=', source).where('height', '=', height).execute();
          await tx.deleteFrom('fwd_pkgs').where('source', '=', source).where('height', '=', height).execute();
        }
      });
    },
  };
}
