/**
 * The KV implementation of InvoiceStore.
 *
 * Layout (keys.ts): `invoices -> <paymentHash 32> -> Invoice record` (payments/records.ts),
 * with two indexes written in the same transaction as the record:
 * `invoice-add-index -> <addIndex u64> -> <paymentHash>` (list order; the next add index is
 * the last key + 1) and `invoice-settle-index -> <settleIndex u64> -> <paymentHash>` (the
 * next settle index is the last key + 1, so settle indexes strictly increase across
 * invoices and none is handed out twice). Storage only: arguments are validated at the
 * public edge (payments/checked-store.ts), transitions are payments/rules.ts's.
 */
import { hexToBytes } from '../codec/bytes.js';
import type { Hex } from '../chanstate/types.js';
import { invoiceRecord } from '../payments/records.js';
import { acceptedInvoice, canceledInvoice, invoiceExists, invoiceNotFound, newInvoice, settleConsumesIndex, settledInvoice } from '../payments/rules.js';
import type { InvoiceStore } from '../payments/store.js';
import type { HtlcRef, Invoice, ListQuery, NewInvoice } from '../payments/types.js';
import { checksummedEngine } from './checksummed-engine.js';
import type { KvEngine, KvReadTx, KvWriteTx } from './engine.js';
import { byteKey, INVOICE_ADD_INDEX, INVOICE_SETTLE_INDEX, INVOICES, key, prefixRange, readU64Key, u64Key } from './keys.js';

/** The invoice of `paymentHash`, or undefined. */
export function readInvoice(tx: KvReadTx, paymentHash: Hex): Invoice | undefined {
  const bytes = tx.get(key(INVOICES, hexToBytes(paymentHash)));
  return bytes === undefined ? undefined : invoiceRecord.decode(bytes);
}

/** The highest index in `bucket` (an index keyed by u64), or 0 when it is empty. */
export function lastIndex(tx: KvReadTx, bucket: number): number {
  for (const [k] of tx.range({ ...prefixRange(byteKey(bucket)), reverse: true, limit: 1 })) return Number(readU64Key(k, 1));
  return 0;
}

function putInvoice(tx: KvWriteTx, invoice: Invoice): void {
  tx.put(key(INVOICES, hexToBytes(invoice.paymentHash)), invoiceRecord.encode(invoice));
}

/** Writes `invoice` with both index entries (the settle one once settled). For stores and bulk imports. */
export function writeInvoice(tx: KvWriteTx, invoice: Invoice): void {
  putInvoice(tx, invoice);
  const hash = hexToBytes(invoice.paymentHash);
  tx.put(key(INVOICE_ADD_INDEX, u64Key(invoice.addIndex)), hash);
  if (invoice.settleIndex > 0) tx.put(key(INVOICE_SETTLE_INDEX, u64Key(invoice.settleIndex)), hash);
}

function mustRead(tx: KvReadTx, paymentHash: Hex): Invoice {
  const invoice = readInvoice(tx, paymentHash);
  if (invoice === undefined) throw invoiceNotFound(paymentHash);
  return invoice;
}

/** Invoices over a KvEngine. Arguments must already be validated (openChannelDb wraps it). */
export class KvInvoiceStore implements InvoiceStore {
  private readonly engine: KvEngine;

  /** `engine` is the bare engine; values are read and written through its checksummed view. */
  constructor(engine: KvEngine) {
    this.engine = checksummedEngine(engine);
  }

  addInvoice(invoice: NewInvoice): Promise<Invoice> {
    return this.engine.update((tx) => {
      if (readInvoice(tx, invoice.paymentHash) !== undefined) throw invoiceExists(invoice.paymentHash);
      const stored = newInvoice(invoice, lastIndex(tx, INVOICE_ADD_INDEX) + 1);
      writeInvoice(tx, stored);
      return stored;
    });
  }

  fetchInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.engine.read((tx) => mustRead(tx, paymentHash));
  }

  listInvoices(query: ListQuery & { readonly state?: Invoice['state'] }): Promise<Invoice[]> {
    return this.engine.read((tx) => {
      const out: Invoice[] = [];
      const { end } = prefixRange(byteKey(INVOICE_ADD_INDEX));
      // Without a state filter the range limit bounds the scan; with one, the scan goes on
      // until `limit` matches are found (or the index ends).
      const range = { start: key(INVOICE_ADD_INDEX, u64Key((query.afterIndex ?? 0) + 1)), end, ...(query.state === undefined ? { limit: query.limit } : {}) };
      for (const [, hash] of tx.range(range)) {
        const bytes = tx.get(key(INVOICES, hash));
        if (bytes === undefined) continue;
        const invoice = invoiceRecord.decode(bytes);
        if (query.state !== undefined && invoice.state !== query.state) continue;
        out.push(invoice);
        if (out.length >= query.limit) break;
      }
      return out;
    });
  }

  acceptInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.engine.update((tx) => {
      const stored = mustRead(tx, paymentHash);
      const next = acceptedInvoice(stored);
      if (next !== stored) putInvoice(tx, next);
      return next;
    });
  }

  settleInvoice(paymentHash: Hex, amountPaidMsat: bigint, nowMs: number, by: HtlcRef): Promise<Invoice> {
    return this.engine.update((tx) => {
      const stored = mustRead(tx, paymentHash);
      const nextIndex = settleConsumesIndex(stored) ? lastIndex(tx, INVOICE_SETTLE_INDEX) + 1 : 0;
      const next = settledInvoice(stored, amountPaidMsat, nowMs, by, nextIndex);
      if (next !== stored) {
        putInvoice(tx, next);
        tx.put(key(INVOICE_SETTLE_INDEX, u64Key(next.settleIndex)), hexToBytes(paymentHash));
      }
      return next;
    });
  }

  cancelInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.engine.update((tx) => {
      const stored = mustRead(tx, paymentHash);
      const next = canceledInvoice(stored);
      if (next !== stored) putInvoice(tx, next);
      return next;
    });
  }
}
