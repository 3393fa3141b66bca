/**
 * Conformance: the bulk-transfer facet (chanstate/bulk-transfer.ts) that `chand db migrate`
 * copies databases with. A backend runs it with a factory of fresh databases that also hand
 * out their bulk facet:
 *
 * ```ts
 * runBulkTransferConformance('sqlite', async () => {
 *   const db = await openMigrationTarget({ backend: 'sqlite', path: await freshDir() });
 *   return { db, cleanup: () => db.close() };
 * });
 * ```
 *
 * It fills one database with a realistic node through the contracts (node-fill.ts), copies
 * it page by page into a second one, and requires the copy to read back identically through
 * every contract read (the record comparer), to export the same pages, and to keep working
 * (a payment round, the purge, the allocator). Copies across backends are tested by the
 * migration tests, which run the same comparer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BULK_SECTIONS, bulkKeyOf, chanPointHex, type BulkCursor, type BulkExportStore, type BulkRecord, type BulkTransferStore } from '../chanstate/bulk-transfer.js';
import { ErrorCode } from '../errors.js';
import { CHAIN_HASHES } from '../linknode/store.js';
import { backendSelected } from './suite.js';
import { registerBackendUnavailable } from './backend-selection.js';
import { makeChannel, makeCloseSummary, makeLinkNode, modelOf, PaymentRound } from './fixtures.js';
import type { ConformanceDb } from './harness.js';
import { CHANNEL_KINDS, fillNode } from './node-fill.js';
import { attempt, firstDifference, observeAll, observeChannel } from './record-comparer.js';

/** A conformance database that also hands out its bulk-transfer facet. */
export interface BulkConformanceDb extends ConformanceDb {
  readonly bulk: BulkTransferStore;
}

/** Opens a fresh, empty database with its bulk facet; `cleanup` closes and removes it. */
export type BulkConformanceFactory = () => Promise<{ db: BulkConformanceDb; cleanup(): Promise<void> }>;

/** Every record of `store`, page by page with `limit`, in export order. */
export async function exportAll(store: BulkExportStore, limit: number): Promise<BulkRecord[]> {
  const out: BulkRecord[] = [];
  let cursor: BulkCursor | undefined = { section: BULK_SECTIONS[0]! };
  for (let pages = 0; cursor !== undefined; pages++) {
    if (pages > 1_000_000) throw new Error('export did not end');
    const page = await store.exportPage(cursor, limit);
    out.push(...page.records);
    cursor = page.next;
  }
  return out;
}

/** Copies every record of `from` into `to`, one page per import, storing `state` with each. */
export async function copyAll(from: BulkExportStore, to: BulkTransferStore, limit: number, state = 'conformance'): Promise<number> {
  let cursor: BulkCursor | undefined = { section: BULK_SECTIONS[0]! };
  let copied = 0;
  for (let pages = 0; cursor !== undefined; pages++) {
    if (pages > 1_000_000) throw new Error('export did not end');
    const page = await from.exportPage(cursor, limit);
    await to.importPage(page.records, state);
    copied += page.records.length;
    cursor = page.next;
  }
  return copied;
}

/**
 * Registers the bulk-transfer conformance tests for backend `name` (skipped, with the
 * reason, when CHAND_BACKENDS excludes it).
 */
export function runBulkTransferConformance(name: string, factory: BulkConformanceFactory): void {
  const title = `bulk transfer conformance: ${name}`;
  if (!backendSelected(name)) {
    describe(title, () => registerBackendUnavailable(name, 'bulk transfer conformance', `CHAND_BACKENDS=${process.env['CHAND_BACKENDS']} excludes it`));
    return;
  }
  describe(title, () => {
    let cleanups: Array<() => Promise<void>> = [];
    const fresh = async (): Promise<BulkConformanceDb> => {
      const opened = await factory();
      cleanups.push(opened.cleanup);
      return opened.db;
    };
    beforeEach(() => {
      cleanups = [];
    });
    afterEach(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('a realistic node copied page by page reads back identically through every contract read, and keeps working', async () => {
      const a = await fresh();
      const fill = await fillNode(a, { channels: CHANNEL_KINDS.length, revokedStates: 600, rounds: 4, batch: 250 });
      const b = await fresh();
      // Small pages: every section is cut several times, and the channel pages mid-way.
      const copied = await copyAll(a.bulk, b.bulk, 7);
      expect(await b.bulk.readImportState()).toBe('conformance');
      await b.bulk.clearImportState();

      const exported = await exportAll(a.bulk, 7);
      expect(copied).toBe(exported.length);
      expect(firstDifference(exported, await exportAll(b.bulk, 7))).toBeUndefined();
      // Page size does not change what an export holds.
      expect(firstDifference(exported, await exportAll(a.bulk, 1_000))).toBeUndefined();
      const kinds = new Set(exported.map((r) => r.kind));
      expect([...kinds].sort()).toEqual([...BULK_SECTIONS].sort());

      const peers = exported.flatMap((r) => (r.kind === 'linkNode' ? [r.node.identityPub] : []));
      const probe = { chainHash: CHAIN_HASHES.regtest, peers };
      expect(firstDifference(await observeAll(a, probe), await observeAll(b, probe))).toBeUndefined();
      const scids = new Map<string, bigint>();
      for (const r of exported) {
        if (r.kind === 'channel') scids.set(bulkKeyOf(r), r.channel.shortChannelId);
        if (r.kind === 'closedChannel') scids.set(bulkKeyOf(r), r.summary.shortChannelId);
      }
      for (const ops of Object.values(fill.byKind)) {
        for (const op of ops) {
          const channelProbe = { peer: peers[0]!, finalHtlcScid: scids.get(chanPointHex(op)) ?? 0n };
          const before = await observeChannel(a, op, channelProbe);
          expect(firstDifference(before, await observeChannel(b, op, channelProbe)), `channel ${op.txid}:${op.index}`).toBeUndefined();
        }
      }
      for (const r of exported) {
        if (r.kind === 'finalHtlc') {
          expect(await attempt(() => b.channelState.lookupFinalHtlc(r.shortChannelId, r.htlcIndex))).toEqual({ ok: r.outcome });
        } else if (r.kind === 'openingState') {
          expect(await attempt(() => b.channelState.getChannelOpeningState(r.chanPoint))).toEqual({ ok: r.state });
        } else if (r.kind === 'forwardingPolicy') {
          expect(await attempt(() => b.channelState.getInitialForwardingPolicy(r.channelId))).toEqual({ ok: r.policy });
        }
      }
      expect(fill.revokedStates).toBe(exported.filter((r) => r.kind === 'revocationLogEntry').length);

      // The copy is a working database: the allocator continues where the source's is, a
      // copied channel takes a payment round, and the purge empties the closed ones.
      expect(await b.channelState.nextChannelKeyIndex()).toBe(await a.channelState.nextChannelKeyIndex());
      const op = fill.byKind['open'][0]!;
      const channel = await b.channelState.fetchChannel(op);
      await new PaymentRound(modelOf(channel), { remoteAdds: 1 }).run(b.channelState);
      expect(await b.channelState.revocationLogTailHeight(op)).toBe(0);
      for (const db of [a, b]) for (let i = 0; i < 10_000 && !(await db.channelState.purgeClosedChannels(50)).done; i++);
      const [countsA, countsB] = [await a.channelState.counts(), await b.channelState.counts()];
      expect(countsB).toEqual({ ...countsA, revocationLogEntries: countsA.revocationLogEntries + 1, fwdPkgs: countsA.fwdPkgs + 1 });
      expect(countsB.closedAwaitingPurge).toBe(0);
    }, 120_000);

    it('pages follow bulk order: sections in order, keys strictly ascending, never crossing a section', async () => {
      const a = await fresh();
      await fillNode(a, { channels: CHANNEL_KINDS.length, revokedStates: 40, rounds: 2 });
      let cursor: BulkCursor | undefined = { section: BULK_SECTIONS[0]! };
      let last: { section: number; key: string } | undefined;
      for (let pages = 0; cursor !== undefined && pages < 10_000; pages++) {
        const page = await a.bulk.exportPage(cursor, 3);
        expect(page.records.length).toBeLessThanOrEqual(3);
        for (const record of page.records) {
          expect(record.kind).toBe(cursor.section);
          const position = { section: BULK_SECTIONS.indexOf(record.kind), key: bulkKeyOf(record) };
          if (last !== undefined) expect(position.section > last.section || (position.section === last.section && position.key > last.key), `${record.kind} ${position.key} after ${last.key}`).toBe(true);
          last = position;
        }
        cursor = page.next;
      }
      expect(cursor).toBeUndefined();
      expect(last?.section).toBe(BULK_SECTIONS.indexOf('keyIndex'));
    });

    it('importPage writes its records and the import state in one transaction: a failing page writes neither', async () => {
      const a = await fresh();
      expect(await a.bulk.readImportState()).toBeUndefined();
      const channel = makeChannel(1);
      const record: BulkRecord = { kind: 'channel', channel, unsignedAckedUpdates: [], remoteUnsignedLocalUpdates: [] };
      await a.bulk.importPage([{ kind: 'linkNode', node: makeLinkNode(1) }, record], 'first');
      expect(await a.bulk.readImportState()).toBe('first');
      expect(await a.channelState.fetchChannel(channel.fundingOutpoint)).toEqual(channel);

      // The second channel collides with the first: nothing of the page lands.
      await expect(a.bulk.importPage([{ kind: 'linkNode', node: makeLinkNode(2) }, record], 'second')).rejects.toMatchObject({ code: ErrorCode.CHANNEL_ALREADY_EXISTS });
      expect(await a.bulk.readImportState()).toBe('first');
      await expect(a.linkNodes.fetchLinkNode(makeLinkNode(2).identityPub)).rejects.toMatchObject({ code: ErrorCode.LINK_NODE_NOT_FOUND });

      // A closed channel reusing the key index of a stored one is refused too.
      const reuse = makeChannel(2, { revocationKeyLocator: channel.revocationKeyLocator });
      const closed: BulkRecord = { kind: 'closedChannel', summary: makeCloseSummary(reuse), historical: reuse, purgePending: false };
      await expect(a.bulk.importPage([closed], 'third')).rejects.toMatchObject({ code: ErrorCode.CHANNEL_KEY_INDEX_REUSED });
      expect(await a.bulk.readImportState()).toBe('first');

      await a.bulk.clearImportState();
      expect(await a.bulk.readImportState()).toBeUndefined();
      await a.bulk.clearImportState();
      expect(await a.bulk.readImportState()).toBeUndefined();
    });

    it('the allocator record only moves the allocator forward', async () => {
      const a = await fresh();
      for (let i = 0; i < 5; i++) await a.channelState.nextChannelKeyIndex();
      await a.bulk.importPage([{ kind: 'keyIndex', next: 3 }], 's');
      expect(await a.channelState.nextChannelKeyIndex()).toBe(5);
      await a.bulk.importPage([{ kind: 'keyIndex', next: 40 }], 's');
      expect(await a.channelState.nextChannelKeyIndex()).toBe(40);
      expect((await a.bulk.exportPage({ section: 'keyIndex' }, 10)).records).toEqual([{ kind: 'keyIndex', next: 41 }]);
    });
  });
}
