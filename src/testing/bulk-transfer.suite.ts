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
import { sha256 } from '@noble/hashes/sha2.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BULK_SECTIONS,
  bulkKeyOf,
  chanPointHex,
  statesOf,
  type BulkCursor,
  type BulkExportOptions,
  type BulkExportStore,
  type BulkRecord,
  type BulkTransferStore,
} from '../chanstate/bulk-transfer.js';
import { bytesToHex } from '../codec/bytes.js';
import type { PaymentStores } from '../payments/store.js';
import { ErrorCode } from '../errors.js';
import { CHAIN_HASHES } from '../linknode/store.js';
import { backendSelected } from './suite.js';
import { registerBackendUnavailable } from './backend-selection.js';
import { makeChannel, makeCloseSummary, makeLinkNode, modelOf, PaymentRound } from './fixtures.js';
import type { ConformanceDb } from './harness.js';
import { CHANNEL_KINDS, fillNode } from './node-fill.js';
import { attempt, firstDifference, observeAll, observeChannel } from './record-comparer.js';

/** A conformance database that also hands out its bulk-transfer facet (and its payment stores). */
export interface BulkConformanceDb extends ConformanceDb, PaymentStores {
  readonly bulk: BulkTransferStore;
}

/** Opens a fresh, empty database with its bulk facet; `cleanup` closes and removes it. */
export type BulkConformanceFactory = () => Promise<{ db: BulkConformanceDb; cleanup(): Promise<void> }>;

/** Every record of `store`, page by page with `limit`, in export order. */
export async function exportAll(store: BulkExportStore, limit: number, options?: BulkExportOptions): Promise<BulkRecord[]> {
  const out: BulkRecord[] = [];
  let cursor: BulkCursor | undefined = { section: BULK_SECTIONS[0]! };
  for (let pages = 0; cursor !== undefined; pages++) {
    if (pages > 1_000_000) throw new Error('export did not end');
    const page = await store.exportPage(cursor, limit, options);
    out.push(...page.records);
    cursor = page.next;
  }
  return out;
}

/**
 * Copies every record of `from` into `to`, one page per import, storing `state` with each;
 * returns the records copied (a revocation block counting for its states).
 */
export async function copyAll(from: BulkExportStore, to: BulkTransferStore, limit: number, state = 'conformance', options?: BulkExportOptions): Promise<number> {
  let cursor: BulkCursor | undefined = { section: BULK_SECTIONS[0]! };
  let copied = 0;
  for (let pages = 0; cursor !== undefined; pages++) {
    if (pages > 1_000_000) throw new Error('export did not end');
    const page = await from.exportPage(cursor, limit, options);
    await to.importPage(page.records, state);
    copied += statesOf(page.records);
    cursor = page.next;
  }
  return copied;
}

/** Every invoice and payment of `exported` reads the same from `a` and `b`, one by one and listed, and so do the in-flight payments. */
async function expectSamePaymentRecords(a: BulkConformanceDb, b: BulkConformanceDb, exported: readonly BulkRecord[]): Promise<void> {
  const invoices = exported.flatMap((r) => (r.kind === 'invoice' ? [r.invoice] : []));
  const payments = exported.flatMap((r) => (r.kind === 'payment' ? [r.payment] : []));
  expect(new Set(invoices.map((i) => i.state))).toEqual(new Set(['open', 'accepted', 'settled', 'canceled']));
  expect(new Set(payments.map((p) => p.status))).toEqual(new Set(['in_flight', 'succeeded', 'failed']));
  expect(payments.some((p) => p.attempts.length >= 2)).toBe(true);
  for (const invoice of invoices) expect(await b.invoices.fetchInvoice(invoice.paymentHash)).toEqual(invoice);
  for (const payment of payments) expect(await b.payments.fetchPayment(payment.paymentHash)).toEqual(payment);
  expect(await b.invoices.listInvoices({ limit: 10_000 })).toEqual(await a.invoices.listInvoices({ limit: 10_000 }));
  expect(await b.invoices.listInvoices({ limit: 10_000, state: 'settled' })).toEqual(await a.invoices.listInvoices({ limit: 10_000, state: 'settled' }));
  expect(await b.payments.listPayments({ limit: 10_000 })).toEqual(await a.payments.listPayments({ limit: 10_000 }));
  expect(await b.payments.fetchInFlightPayments()).toEqual(await a.payments.fetchInFlightPayments());
}

/** The copy allocates the next add, settle and payment indexes exactly where the source does. */
async function expectIndexesContinue(a: BulkConformanceDb, b: BulkConformanceDb): Promise<void> {
  const preimage = new Uint8Array(32).fill(0x5a);
  const paymentHash = bytesToHex(sha256(preimage));
  const invoice = { paymentHash, preimage, createdAtMs: 1, expiresAtMs: 2, minFinalCltvExpiryDelta: 18, encoded: '', keysend: true };
  const payment = { paymentHash, amountMsat: 1_000n, destination: makeLinkNode(9).identityPub, invoice: '', keysend: true, createdAtMs: 3 };
  const results = [];
  for (const db of [a, b]) {
    const added = await db.invoices.addInvoice(invoice);
    const settled = await db.invoices.settleInvoice(paymentHash, 1_000n, 4, { channelId: '11'.repeat(32), htlcId: 1 });
    const paid = await db.payments.initPayment(payment);
    results.push({ addIndex: added.addIndex, settleIndex: settled.settleIndex, paymentIndex: paid.paymentIndex });
  }
  const [fromA, fromB] = results;
  expect(fromA!.addIndex).toBeGreaterThan(1);
  expect(fromA!.settleIndex).toBeGreaterThan(1);
  expect(fromA!.paymentIndex).toBeGreaterThan(1);
  expect(fromB).toEqual(fromA);
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
      await expectSamePaymentRecords(a, b, exported);

      // The copy is a working database: the allocator continues where the source's is, a
      // copied channel takes a payment round, and the purge empties the closed ones.
      expect(await b.channelState.nextChannelKeyIndex()).toBe(await a.channelState.nextChannelKeyIndex());
      await expectIndexesContinue(a, b);
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
          const position = { section: BULK_SECTIONS.indexOf(cursor.section), key: bulkKeyOf(record) };
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

    it('the revocation log copied as its stored blocks reads back state for state, and keeps growing', async () => {
      const a = await fresh();
      const fill = await fillNode(a, { channels: CHANNEL_KINDS.length, revokedStates: 3_000, rounds: 2, batch: 1_000 });
      const b = await fresh();
      const blocks = { revocationBlocks: true };
      // Pages of 100 states: many pages, each ending after a whole block, some mid-channel.
      const copied = await copyAll(a.bulk, b.bulk, 100, 'blocks', blocks);
      await b.bulk.clearImportState();
      const exported = await exportAll(a.bulk, 500);
      expect(copied).toBe(exported.length);
      // The decoded export (what the migration verifies) is the same on both.
      expect(firstDifference(exported, await exportAll(b.bulk, 500))).toBeUndefined();
      expect(exported.filter((r) => r.kind === 'revocationLogEntry').length).toBe(fill.revokedStates);
      // The blocks form holds every state once, as sealed blocks and one open block per channel with a log, in key order.
      const aBlocks = (await exportAll(a.bulk, 100, blocks)).filter((r) => r.kind === 'revocationBlock');
      expect(aBlocks.reduce((n, r) => n + r.count, 0)).toBe(fill.revokedStates);
      expect(aBlocks.some((r) => !r.open)).toBe(true);
      const opens = aBlocks.filter((r) => r.open).map((r) => chanPointHex(r.chanPoint));
      expect(new Set(opens).size).toBe(opens.length);
      for (let i = 1; i < aBlocks.length; i++) expect(bulkKeyOf(aBlocks[i]!) > bulkKeyOf(aBlocks[i - 1]!)).toBe(true);
      expect(firstDifference(aBlocks, (await exportAll(b.bulk, 100, blocks)).filter((r) => r.kind === 'revocationBlock'))).toBeUndefined();
      // Contract reads of the biggest log: a state in a sealed block, the tail, and a new state appended after the copy.
      const op = fill.byKind['big-log'][0]!;
      const tail = await a.channelState.revocationLogTailHeight(op);
      expect(tail).toBeGreaterThan(100);
      expect(await b.channelState.revocationLogTailHeight(op)).toBe(tail);
      expect(await b.channelState.findPreviousState(op, 5)).toEqual(await a.channelState.findPreviousState(op, 5));
      expect(await b.channelState.fetchRevocationLog(op, 0, 10_000)).toEqual(await a.channelState.fetchRevocationLog(op, 0, 10_000));
      const open = fill.byKind['open'][0]!;
      const channel = await b.channelState.fetchChannel(open);
      await new PaymentRound(modelOf(channel), { remoteAdds: 1 }).run(b.channelState);
      expect(await b.channelState.revocationLogTailHeight(open)).toBe(0);
    }, 120_000);

    it('a blocks export refuses a cursor inside a block, and an import refuses a block after the open one', async () => {
      const a = await fresh();
      const fill = await fillNode(a, { channels: CHANNEL_KINDS.length, revokedStates: 2_000, rounds: 1 });
      const op = fill.byKind['big-log'][0]!;
      const blocks = (await exportAll(a.bulk, 10_000, { revocationBlocks: true })).filter((r) => r.kind === 'revocationBlock' && chanPointHex(r.chanPoint) === chanPointHex(op));
      const sealed = blocks.find((r) => r.kind === 'revocationBlock' && !r.open && r.count > 1);
      expect(sealed).toBeDefined();
      if (sealed?.kind !== 'revocationBlock') return;
      const inside = { section: 'revocationLogEntry' as const, after: chanPointHex(op) + (sealed.lastHeight - 1).toString(16).padStart(16, '0') };
      await expect(a.bulk.exportPage(inside, 10, { revocationBlocks: true })).rejects.toBeInstanceOf(RangeError);
      // The entries form accepts that cursor and goes on from the next state.
      const page = await a.bulk.exportPage(inside, 1);
      expect(page.records[0]).toMatchObject({ kind: 'revocationLogEntry', entry: { commitHeight: sealed.lastHeight } });

      const b = await fresh();
      const channel = await a.channelState.fetchChannel(op);
      await b.bulk.importPage([{ kind: 'channel', channel, unsignedAckedUpdates: [], remoteUnsignedLocalUpdates: [] }], 's');
      const openBlock = blocks.at(-1)!;
      expect(openBlock).toMatchObject({ open: true });
      await b.bulk.importPage([openBlock], 'open');
      await expect(b.bulk.importPage([sealed], 'late')).rejects.toBeInstanceOf(RangeError);
      expect(await b.bulk.readImportState()).toBe('open');
    }, 120_000);

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
