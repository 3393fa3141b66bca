/**
 * Conformance: the invoice store (payments/store.ts InvoiceStore) — state transitions and
 * their errors, idempotent repeats, add and settle indexes, paging, exact round trips,
 * argument checks at the edge, durability across a reopen, and STORE_CLOSED after close.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import type { InvoiceStore } from '../payments/store.js';
import type { Invoice, NewInvoice } from '../payments/types.js';
import { expectCode } from './harness.js';
import { htlcRefOf, makeNewInvoice, MAX_MONEY_MSAT, preimageOf, usePaymentDb, type PaymentConformanceFactory } from './payments-harness.js';

/** What a freshly added invoice looks like. */
function openInvoice(invoice: NewInvoice, addIndex: number): Invoice {
  return { ...invoice, state: 'open', addIndex, settleIndex: 0, settledAtMs: 0, amountPaidMsat: 0n };
}

type Calls<T> = { readonly [K in keyof T]: (target: T) => Promise<unknown> };

const CLOSED_CALLS: Calls<InvoiceStore> = {
  addInvoice: (s) => s.addInvoice(makeNewInvoice('closed')),
  fetchInvoice: (s) => s.fetchInvoice(preimageOf('closed').paymentHash),
  listInvoices: (s) => s.listInvoices({ limit: 10 }),
  acceptInvoice: (s) => s.acceptInvoice(preimageOf('closed').paymentHash),
  settleInvoice: (s) => s.settleInvoice(preimageOf('closed').paymentHash, 1n, 1, htlcRefOf('closed')),
  cancelInvoice: (s) => s.cancelInvoice(preimageOf('closed').paymentHash),
};

/** Registers the invoice-store suite; `durable` backends' factories return `reopen`. */
export function invoicesSuite(factory: PaymentConformanceFactory, durable: boolean): void {
  describe('invoices', () => {
    const h = usePaymentDb(factory, durable);
    const store = () => h.db.invoices;

    it('adds open invoices with add indexes 1, 2, 3 and returns them exactly, optional fields present or absent', async () => {
      const full = makeNewInvoice('a');
      const minimal = makeNewInvoice('b', {}, true);
      const huge = makeNewInvoice('c', { amountMsat: MAX_MONEY_MSAT, description: '', encoded: 'x'.repeat(2000) });
      expect(await store().addInvoice(full)).toEqual(openInvoice(full, 1));
      expect(await store().addInvoice(minimal)).toEqual(openInvoice(minimal, 2));
      expect(await store().addInvoice(huge)).toEqual(openInvoice(huge, 3));
      expect(await store().fetchInvoice(full.paymentHash)).toEqual(openInvoice(full, 1));
      const back = await store().fetchInvoice(minimal.paymentHash);
      expect(back).toEqual(openInvoice(minimal, 2));
      for (const absent of ['paymentSecret', 'amountMsat', 'description', 'descriptionHash', 'settledBy'] as const) expect(absent in back).toBe(false);
      expect((await store().fetchInvoice(huge.paymentHash)).amountMsat).toBe(MAX_MONEY_MSAT);
      expect((await store().fetchInvoice(huge.paymentHash)).description).toBe('');
    });

    it('refuses a second invoice with the same hash (INVOICE_EXISTS) and writes nothing', async () => {
      const first = makeNewInvoice('dup');
      await store().addInvoice(first);
      await expectCode(store().addInvoice({ ...first, description: 'other' }), ErrorCode.INVOICE_EXISTS);
      expect(await store().fetchInvoice(first.paymentHash)).toEqual(openInvoice(first, 1));
      // The failed add consumed no index.
      expect((await store().addInvoice(makeNewInvoice('next'))).addIndex).toBe(2);
    });

    it('refuses an invoice whose preimage does not hash to its payment hash (PREIMAGE_MISMATCH)', async () => {
      const bad = makeNewInvoice('bad', { preimage: preimageOf('other').preimage });
      await expectCode(store().addInvoice(bad), ErrorCode.PREIMAGE_MISMATCH);
      await expectCode(store().fetchInvoice(bad.paymentHash), ErrorCode.INVOICE_NOT_FOUND);
    });

    it('INVOICE_NOT_FOUND for every method on an unknown hash', async () => {
      const hash = preimageOf('missing').paymentHash;
      await expectCode(store().fetchInvoice(hash), ErrorCode.INVOICE_NOT_FOUND);
      await expectCode(store().acceptInvoice(hash), ErrorCode.INVOICE_NOT_FOUND);
      await expectCode(store().settleInvoice(hash, 1n, 1, htlcRefOf('x')), ErrorCode.INVOICE_NOT_FOUND);
      await expectCode(store().cancelInvoice(hash), ErrorCode.INVOICE_NOT_FOUND);
    });

    it('accept: open → accepted, idempotent; settled or canceled → INVOICE_NOT_OPEN', async () => {
      const inv = makeNewInvoice('acc');
      await store().addInvoice(inv);
      const accepted = await store().acceptInvoice(inv.paymentHash);
      expect(accepted).toEqual({ ...openInvoice(inv, 1), state: 'accepted' });
      expect(await store().acceptInvoice(inv.paymentHash)).toEqual(accepted);
      expect(await store().fetchInvoice(inv.paymentHash)).toEqual(accepted);

      await store().settleInvoice(inv.paymentHash, 123_456_789n, 1_700_000_001_000, htlcRefOf('acc', 3));
      await expectCode(store().acceptInvoice(inv.paymentHash), ErrorCode.INVOICE_NOT_OPEN);

      const other = makeNewInvoice('acc2');
      await store().addInvoice(other);
      await store().cancelInvoice(other.paymentHash);
      await expectCode(store().acceptInvoice(other.paymentHash), ErrorCode.INVOICE_NOT_OPEN);
      expect((await store().fetchInvoice(other.paymentHash)).state).toBe('canceled');
    });

    it('settle: open or accepted → settled with amount, time and HTLC; repeating with the same HTLC returns it unchanged', async () => {
      const a = makeNewInvoice('s1');
      const b = makeNewInvoice('s2');
      await store().addInvoice(a);
      await store().addInvoice(b);
      await store().acceptInvoice(b.paymentHash);
      const by = htlcRefOf('s1', 7);
      const settled = await store().settleInvoice(a.paymentHash, MAX_MONEY_MSAT, 1_700_000_002_000, by);
      expect(settled).toEqual({ ...openInvoice(a, 1), state: 'settled', settleIndex: 1, settledAtMs: 1_700_000_002_000, amountPaidMsat: MAX_MONEY_MSAT, settledBy: by });
      // A restarted node re-settles the same HTLC, maybe with another clock reading.
      expect(await store().settleInvoice(a.paymentHash, MAX_MONEY_MSAT, 1_700_000_009_000, by)).toEqual(settled);
      expect(await store().fetchInvoice(a.paymentHash)).toEqual(settled);
      const fromAccepted = await store().settleInvoice(b.paymentHash, 5n, 1_700_000_003_000, htlcRefOf('s2', 0));
      expect(fromAccepted).toMatchObject({ state: 'settled', settleIndex: 2, amountPaidMsat: 5n, settledBy: htlcRefOf('s2', 0) });
    });

    it('settle: another HTLC after settlement, or a canceled invoice → INVOICE_NOT_OPEN; nothing changes', async () => {
      const inv = makeNewInvoice('twice');
      await store().addInvoice(inv);
      const settled = await store().settleInvoice(inv.paymentHash, 10n, 5, htlcRefOf('twice', 1));
      await expectCode(store().settleInvoice(inv.paymentHash, 10n, 6, htlcRefOf('twice', 2)), ErrorCode.INVOICE_NOT_OPEN);
      await expectCode(store().settleInvoice(inv.paymentHash, 10n, 6, htlcRefOf('other-channel', 1)), ErrorCode.INVOICE_NOT_OPEN);
      expect(await store().fetchInvoice(inv.paymentHash)).toEqual(settled);

      const canceled = makeNewInvoice('canceled');
      await store().addInvoice(canceled);
      await store().cancelInvoice(canceled.paymentHash);
      await expectCode(store().settleInvoice(canceled.paymentHash, 10n, 6, htlcRefOf('canceled')), ErrorCode.INVOICE_NOT_OPEN);
      expect((await store().fetchInvoice(canceled.paymentHash)).settleIndex).toBe(0);
    });

    it('settle indexes strictly increase across invoices in settle order; a repeated settle consumes none', async () => {
      const invoices = ['i0', 'i1', 'i2', 'i3', 'i4'].map((l) => makeNewInvoice(l));
      for (const inv of invoices) await store().addInvoice(inv);
      const order = [3, 0, 4, 1];
      const indexes: number[] = [];
      for (const i of order) {
        const by = htlcRefOf(`i${i}`, i);
        indexes.push((await store().settleInvoice(invoices[i]!.paymentHash, 1n, 100 + i, by)).settleIndex);
        // The repeat returns the same index and does not consume the next one.
        expect((await store().settleInvoice(invoices[i]!.paymentHash, 1n, 200 + i, by)).settleIndex).toBe(indexes.at(-1));
      }
      expect(indexes).toEqual([1, 2, 3, 4]);
      expect((await store().fetchInvoice(invoices[2]!.paymentHash)).settleIndex).toBe(0);
      // A failed settle (canceled invoice) consumes none either.
      await store().cancelInvoice(invoices[2]!.paymentHash);
      await expectCode(store().settleInvoice(invoices[2]!.paymentHash, 1n, 1, htlcRefOf('i2')), ErrorCode.INVOICE_NOT_OPEN);
      const late = makeNewInvoice('late');
      await store().addInvoice(late);
      expect((await store().settleInvoice(late.paymentHash, 1n, 1, htlcRefOf('late'))).settleIndex).toBe(5);
    });

    it('concurrent adds and settles get distinct, gap-free indexes', async () => {
      const invoices = Array.from({ length: 6 }, (_, i) => makeNewInvoice(`cc${i}`));
      const added = await Promise.all(invoices.map((inv) => store().addInvoice(inv)));
      expect(added.map((i) => i.addIndex).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      const settled = await Promise.all(invoices.map((inv, i) => store().settleInvoice(inv.paymentHash, 1n, 1, htlcRefOf(`cc${i}`))));
      expect(settled.map((i) => i.settleIndex).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      // The same HTLC settling twice at once: one settle index, both calls see it.
      const twin = makeNewInvoice('cc-twin');
      await store().addInvoice(twin);
      const [a, b] = await Promise.all([0, 1].map(() => store().settleInvoice(twin.paymentHash, 1n, 1, htlcRefOf('cc-twin'))));
      expect(a!.settleIndex).toBe(7);
      expect(b).toEqual(a);
    });

    it('cancel: open or accepted → canceled, idempotent; settled → INVOICE_ALREADY_SETTLED', async () => {
      const open = makeNewInvoice('c-open');
      const accepted = makeNewInvoice('c-acc');
      const settled = makeNewInvoice('c-set');
      for (const inv of [open, accepted, settled]) await store().addInvoice(inv);
      await store().acceptInvoice(accepted.paymentHash);
      const settledRecord = await store().settleInvoice(settled.paymentHash, 1n, 1, htlcRefOf('c-set'));
      const canceled = await store().cancelInvoice(open.paymentHash);
      expect(canceled).toEqual({ ...openInvoice(open, 1), state: 'canceled' });
      expect(await store().cancelInvoice(open.paymentHash)).toEqual(canceled);
      expect((await store().cancelInvoice(accepted.paymentHash)).state).toBe('canceled');
      await expectCode(store().cancelInvoice(settled.paymentHash), ErrorCode.INVOICE_ALREADY_SETTLED);
      expect(await store().fetchInvoice(settled.paymentHash)).toEqual(settledRecord);
    });

    it('lists in add order, paging with afterIndex and limit, optionally by state', async () => {
      const invoices = Array.from({ length: 7 }, (_, i) => makeNewInvoice(`l${i}`));
      for (const inv of invoices) await store().addInvoice(inv);
      for (const i of [1, 3, 4]) await store().settleInvoice(invoices[i]!.paymentHash, 1n, 1, htlcRefOf(`l${i}`));
      await store().cancelInvoice(invoices[5]!.paymentHash);
      const hashes = (list: Invoice[]) => list.map((i) => i.paymentHash);
      const all = await store().listInvoices({ limit: 100 });
      expect(all.map((i) => i.addIndex)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(all).toEqual(await Promise.all(invoices.map((i) => store().fetchInvoice(i.paymentHash))));
      expect((await store().listInvoices({ limit: 3 })).map((i) => i.addIndex)).toEqual([1, 2, 3]);
      expect((await store().listInvoices({ afterIndex: 3, limit: 3 })).map((i) => i.addIndex)).toEqual([4, 5, 6]);
      expect((await store().listInvoices({ afterIndex: 6, limit: 3 })).map((i) => i.addIndex)).toEqual([7]);
      expect(await store().listInvoices({ afterIndex: 7, limit: 3 })).toEqual([]);
      expect(await store().listInvoices({ afterIndex: 1_000_000, limit: 3 })).toEqual([]);
      expect(hashes(await store().listInvoices({ state: 'settled', limit: 100 }))).toEqual([1, 3, 4].map((i) => invoices[i]!.paymentHash));
      expect(hashes(await store().listInvoices({ state: 'settled', limit: 2 }))).toEqual([1, 3].map((i) => invoices[i]!.paymentHash));
      expect(hashes(await store().listInvoices({ state: 'settled', afterIndex: 4, limit: 2 }))).toEqual([invoices[4]!.paymentHash]);
      expect(hashes(await store().listInvoices({ state: 'open', afterIndex: 1, limit: 2 }))).toEqual([2, 6].map((i) => invoices[i]!.paymentHash));
      expect(hashes(await store().listInvoices({ state: 'canceled', limit: 9 }))).toEqual([invoices[5]!.paymentHash]);
      expect(await store().listInvoices({ state: 'accepted', limit: 9 })).toEqual([]);
    });

    it('keeps no reference to arguments or results: mutating either changes nothing stored', async () => {
      const inv = makeNewInvoice('alias');
      const preimage = inv.preimage.slice();
      const added = await store().addInvoice(inv);
      inv.preimage.fill(0);
      added.preimage.fill(1);
      expect((await store().fetchInvoice(inv.paymentHash)).preimage).toEqual(preimage);
    });

    it('refuses malformed arguments with TypeError/RangeError before writing anything', async () => {
      const inv = makeNewInvoice('args');
      await expect(store().addInvoice({ ...inv, paymentHash: 'ABCD' })).rejects.toThrow(TypeError);
      await expect(store().addInvoice({ ...inv, preimage: new Uint8Array(31) })).rejects.toThrow(RangeError);
      await expect(store().addInvoice({ ...inv, amountMsat: -1n })).rejects.toThrow(RangeError);
      await expect(store().addInvoice({ ...inv, amountMsat: 1n << 63n })).rejects.toThrow(RangeError);
      await expect(store().addInvoice({ ...inv, createdAtMs: 1.5 })).rejects.toThrow(RangeError);
      await expect(store().addInvoice({ ...inv, keysend: 'no' as never })).rejects.toThrow(TypeError);
      await expect(store().addInvoice({ ...inv, description: 7 as never })).rejects.toThrow(TypeError);
      await expect(store().addInvoice({ ...inv, description: 'a\u0000b' })).rejects.toThrow(RangeError);
      await expect(store().addInvoice(null as never)).rejects.toThrow(TypeError);
      await expect(store().listInvoices({ limit: 0 })).rejects.toThrow(RangeError);
      await expect(store().listInvoices({ limit: 10_001 })).rejects.toThrow(RangeError);
      await expect(store().listInvoices({ limit: 1, afterIndex: -1 })).rejects.toThrow(RangeError);
      await expect(store().listInvoices({ limit: 1, state: 'paid' as never })).rejects.toThrow(RangeError);
      await expect(store().settleInvoice(inv.paymentHash, -5n, 1, htlcRefOf('args'))).rejects.toThrow(RangeError);
      await expect(store().settleInvoice(inv.paymentHash, 5n, 1, { channelId: 'zz', htlcId: 0 })).rejects.toThrow(TypeError);
      await expect(store().fetchInvoice(inv.paymentHash.slice(2))).rejects.toThrow(TypeError);
      expect(await store().listInvoices({ limit: 10 })).toEqual([]);
    });

    (durable ? it : it.skip)(durable ? 'keeps invoices, states and indexes across a reopen' : 'keeps invoices, states and indexes across a reopen — SKIPPED: this backend is not durable (nothing survives a reopen)', async () => {
      const a = makeNewInvoice('r1');
      const b = makeNewInvoice('r2', {}, true);
      await store().addInvoice(a);
      await store().addInvoice(b);
      const settled = await store().settleInvoice(a.paymentHash, MAX_MONEY_MSAT, 42, htlcRefOf('r1', 9));
      const accepted = await store().acceptInvoice(b.paymentHash);
      const db = await h.reopen();
      expect(await db.invoices.fetchInvoice(a.paymentHash)).toEqual(settled);
      expect(await db.invoices.listInvoices({ limit: 10 })).toEqual([settled, accepted]);
      // The counters continue where they were.
      const c = makeNewInvoice('r3');
      expect((await db.invoices.addInvoice(c)).addIndex).toBe(3);
      expect((await db.invoices.settleInvoice(c.paymentHash, 1n, 1, htlcRefOf('r3'))).settleIndex).toBe(2);
    });

    it('rejects every method with STORE_CLOSED after close', async () => {
      await h.db.close();
      for (const [name, call] of Object.entries(CLOSED_CALLS)) {
        await expect(call(h.db.invoices), name).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED });
      }
    });
  });
}
