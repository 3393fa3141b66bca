/**
 * The IndexedDB implementation of InvoiceStore.
 *
 * Layout (stores.ts): `invoices -> <paymentHash hex> -> Invoice record` (payments/records.ts,
 * the bytes the KV backend stores), with `invoice-add-index -> <addIndex> -> <paymentHash>`
 * (list order; the next add index is the last key + 1) and `invoice-settle-index ->
 * <settleIndex> -> <paymentHash>` (settle order; the next settle index is the last key + 1),
 * written in the same transaction as the record. Storage only: arguments are validated at
 * the public edge (payments/checked-store.ts), transitions are payments/rules.ts's
 * (synchronous, as an IndexedDB transaction body requires).
 */
import type { Hex } from '../chanstate/types.js';
import { invoiceRecord } from '../payments/records.js';
import { acceptedInvoice, canceledInvoice, invoiceExists, invoiceNotFound, newInvoice, settleConsumesIndex, settledInvoice } from '../payments/rules.js';
import type { InvoiceStore } from '../payments/store.js';
import type { HtlcRef, Invoice, ListQuery, NewInvoice } from '../payments/types.js';
import { INVOICE_ADD_INDEX, INVOICE_SETTLE_INDEX, INVOICE_STORES, INVOICES } from './stores.js';
import type { IdbConnection, IdbTx } from './transactions.js';

/** The invoice of `paymentHash`, or undefined. */
export async function readInvoice(tx: IdbTx, paymentHash: Hex): Promise<Invoice | undefined> {
  const bytes = await tx.get<Uint8Array>(INVOICES, paymentHash);
  return bytes === undefined ? undefined : invoiceRecord.decode(bytes);
}

/** The highest numeric key of `store`, or 0 when it is empty. */
export async function lastIndex(tx: IdbTx, store: string): Promise<number> {
  const key = await tx.lastKey(store, tx.ranges.bound(0, Number.MAX_SAFE_INTEGER));
  return key === undefined ? 0 : Number(key);
}

/** Writes `invoice` with both index entries (the settle one once settled). */
export function writeInvoice(tx: IdbTx, invoice: Invoice): void {
  tx.put(INVOICES, invoice.paymentHash, invoiceRecord.encode(invoice));
  tx.put(INVOICE_ADD_INDEX, invoice.addIndex, invoice.paymentHash);
  if (invoice.settleIndex > 0) tx.put(INVOICE_SETTLE_INDEX, invoice.settleIndex, invoice.paymentHash);
}

async function mustRead(tx: IdbTx, paymentHash: Hex): Promise<Invoice> {
  const invoice = await readInvoice(tx, paymentHash);
  if (invoice === undefined) throw invoiceNotFound(paymentHash);
  return invoice;
}

/** Invoices over an IdbConnection; each method is one transaction. Arguments must already be validated. */
export class IdbInvoiceStore implements InvoiceStore {
  constructor(private readonly conn: IdbConnection) {}

  private change(paymentHash: Hex, rule: (stored: Invoice, tx: IdbTx) => Promise<Invoice>): Promise<Invoice> {
    return this.conn.run(INVOICE_STORES, 'readwrite', async (tx) => {
      const stored = await mustRead(tx, paymentHash);
      const next = await rule(stored, tx);
      if (next !== stored) writeInvoice(tx, next);
      return next;
    });
  }

  addInvoice(invoice: NewInvoice): Promise<Invoice> {
    return this.conn.run(INVOICE_STORES, 'readwrite', async (tx) => {
      if ((await tx.count(INVOICES, invoice.paymentHash)) > 0) throw invoiceExists(invoice.paymentHash);
      const stored = newInvoice(invoice, (await lastIndex(tx, INVOICE_ADD_INDEX)) + 1);
      writeInvoice(tx, stored);
      return stored;
    });
  }

  fetchInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.conn.run(INVOICE_STORES, 'readonly', (tx) => mustRead(tx, paymentHash));
  }

  listInvoices(query: ListQuery & { readonly state?: Invoice['state'] }): Promise<Invoice[]> {
    return this.conn.run(INVOICE_STORES, 'readonly', async (tx) => {
      if ((query.afterIndex ?? 0) >= Number.MAX_SAFE_INTEGER) return [];
      const after = tx.ranges.bound(query.afterIndex ?? 0, Number.MAX_SAFE_INTEGER, true);
      // Without a state filter the request's count bounds the read; with one, the index is
      // read on until `limit` matches are found.
      const hashes = await tx.getAll<string>(INVOICE_ADD_INDEX, after, query.state === undefined ? query.limit : undefined);
      const out: Invoice[] = [];
      for (const invoice of await Promise.all(hashes.map((hash) => readInvoice(tx, hash)))) {
        if (invoice === undefined || (query.state !== undefined && invoice.state !== query.state)) continue;
        out.push(invoice);
        if (out.length >= query.limit) break;
      }
      return out;
    });
  }

  acceptInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.change(paymentHash, async (stored) => acceptedInvoice(stored));
  }

  settleInvoice(paymentHash: Hex, amountPaidMsat: bigint, nowMs: number, by: HtlcRef): Promise<Invoice> {
    return this.change(paymentHash, async (stored, tx) => {
      const nextIndex = settleConsumesIndex(stored) ? (await lastIndex(tx, INVOICE_SETTLE_INDEX)) + 1 : 0;
      return settledInvoice(stored, amountPaidMsat, nowMs, by, nextIndex);
    });
  }

  cancelInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.change(paymentHash, async (stored) => canceledInvoice(stored));
  }
}
