/**
 * The SQL implementation of InvoiceStore (SQLite and PostgreSQL).
 *
 * Layout (schema.ts): one row of `invoices` per invoice, keyed by payment hash, every field
 * a column; `add_index` is unique (list order) and `settle_index` unique once set (NULL
 * before), each allocated as the column's maximum + 1 inside the writing transaction.
 * Writes run `exclusive` (transactions.ts): allocating the next index is a check across
 * rows no row lock covers, so two writers take turns (also across processes). Storage only:
 * arguments are validated at the public edge (payments/checked-store.ts), transitions are
 * payments/rules.ts's.
 */
import type { Hex } from '../chanstate/types.js';
import { INVOICE_STATES } from '../payments/records.js';
import { acceptedInvoice, canceledInvoice, invoiceExists, invoiceNotFound, newInvoice, settleConsumesIndex, settledInvoice } from '../payments/rules.js';
import type { InvoiceStore } from '../payments/store.js';
import type { HtlcRef, Invoice, InvoiceState, ListQuery, NewInvoice } from '../payments/types.js';
import { amountCol, big, boolOf, bytesOf, enumOf, flag, hexCol, hexOf, num, optHexOf } from './columns.js';
import type { InvoicesTable } from './schema.js';
import type { SqlBackend, SqlTx } from './transactions.js';
import type { Selectable } from 'kysely';

const STATE_CODES = INVOICE_STATES.map((_, i) => i);

function stateCode(state: InvoiceState): number {
  return INVOICE_STATES.indexOf(state);
}

/** An invoices row as the domain value; DB_CORRUPT naming the column for a damaged one. */
export function invoiceOfRow(row: Selectable<InvoicesTable>): Invoice {
  const settledBy =
    row.settled_channel_id === null || row.settled_htlc_id === null
      ? undefined
      : { channelId: hexOf(row.settled_channel_id, 32, 'invoices.settled_channel_id'), htlcId: num(row.settled_htlc_id) };
  const paymentSecret = optHexOf(row.payment_secret, 32, 'invoices.payment_secret');
  const descriptionHash = optHexOf(row.description_hash, 32, 'invoices.description_hash');
  return {
    paymentHash: hexOf(row.payment_hash, 32, 'invoices.payment_hash'),
    preimage: bytesOf(row.preimage, 32, 'invoices.preimage').slice(),
    ...(paymentSecret === undefined ? {} : { paymentSecret }),
    ...(row.amount_msat === null ? {} : { amountMsat: big(row.amount_msat) }),
    ...(row.description === null ? {} : { description: row.description }),
    ...(descriptionHash === undefined ? {} : { descriptionHash }),
    createdAtMs: num(row.created_at_ms),
    expiresAtMs: num(row.expires_at_ms),
    minFinalCltvExpiryDelta: num(row.min_final_cltv_expiry_delta),
    encoded: row.encoded,
    keysend: boolOf(row.keysend, 'invoices.keysend'),
    state: INVOICE_STATES[enumOf(row.state, STATE_CODES, 'invoices.state')]!,
    addIndex: num(row.add_index),
    settleIndex: row.settle_index === null ? 0 : num(row.settle_index),
    settledAtMs: num(row.settled_at_ms),
    amountPaidMsat: big(row.amount_paid_msat),
    ...(settledBy === undefined ? {} : { settledBy }),
  };
}

/** The columns an invoice's state changes touch. */
function stateColumns(invoice: Invoice) {
  return {
    state: stateCode(invoice.state),
    settle_index: invoice.settleIndex === 0 ? null : invoice.settleIndex,
    settled_at_ms: invoice.settledAtMs,
    amount_paid_msat: amountCol(invoice.amountPaidMsat, 'amountPaidMsat'),
    settled_channel_id: invoice.settledBy === undefined ? null : hexCol(invoice.settledBy.channelId, 32),
    settled_htlc_id: invoice.settledBy === undefined ? null : invoice.settledBy.htlcId,
  };
}

/** Inserts `invoice` as a new row. For the store and bulk imports. */
export async function insertInvoice(tx: SqlTx, invoice: Invoice): Promise<void> {
  await tx
    .insertInto('invoices')
    .values({
      payment_hash: hexCol(invoice.paymentHash, 32),
      add_index: invoice.addIndex,
      preimage: invoice.preimage,
      payment_secret: invoice.paymentSecret === undefined ? null : hexCol(invoice.paymentSecret, 32),
      amount_msat: invoice.amountMsat === undefined ? null : amountCol(invoice.amountMsat, 'amountMsat'),
      description: invoice.description ?? null,
      description_hash: invoice.descriptionHash === undefined ? null : hexCol(invoice.descriptionHash, 32),
      created_at_ms: invoice.createdAtMs,
      expires_at_ms: invoice.expiresAtMs,
      min_final_cltv_expiry_delta: invoice.minFinalCltvExpiryDelta,
      encoded: invoice.encoded,
      keysend: flag(invoice.keysend),
      ...stateColumns(invoice),
    })
    .execute();
}

/** The invoice of `paymentHash`, or undefined. */
export async function readInvoice(tx: SqlTx, paymentHash: Hex): Promise<Invoice | undefined> {
  const row = await tx.selectFrom('invoices').selectAll().where('payment_hash', '=', hexCol(paymentHash, 32)).executeTakeFirst();
  return row === undefined ? undefined : invoiceOfRow(row);
}

async function mustRead(tx: SqlTx, paymentHash: Hex): Promise<Invoice> {
  const invoice = await readInvoice(tx, paymentHash);
  if (invoice === undefined) throw invoiceNotFound(paymentHash);
  return invoice;
}

async function maxOf(tx: SqlTx, column: 'add_index' | 'settle_index'): Promise<number> {
  const row = await tx.selectFrom('invoices').select((eb) => eb.fn.max(column).as('top')).executeTakeFirst();
  return row?.top === null || row?.top === undefined ? 0 : num(row.top as bigint | number);
}

/** Invoices over a SqlBackend. Holds no state: any number may share one backend. */
export class SqlInvoiceStore implements InvoiceStore {
  constructor(private readonly backend: SqlBackend) {}

  /** Reads the invoice, applies `rule`, and writes its state unless the rule returned the stored record. */
  private change(paymentHash: Hex, rule: (stored: Invoice, tx: SqlTx) => Promise<Invoice>): Promise<Invoice> {
    return this.backend.runTx('exclusive', async (tx) => {
      const stored = await mustRead(tx, paymentHash);
      const next = await rule(stored, tx);
      if (next !== stored) await tx.updateTable('invoices').set(stateColumns(next)).where('payment_hash', '=', hexCol(paymentHash, 32)).execute();
      return next;
    });
  }

  addInvoice(invoice: NewInvoice): Promise<Invoice> {
    return this.backend.runTx('exclusive', async (tx) => {
      if ((await readInvoice(tx, invoice.paymentHash)) !== undefined) throw invoiceExists(invoice.paymentHash);
      const stored = newInvoice(invoice, (await maxOf(tx, 'add_index')) + 1);
      await insertInvoice(tx, stored);
      return stored;
    });
  }

  fetchInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.backend.runTx('read', (tx) => mustRead(tx, paymentHash));
  }

  listInvoices(query: ListQuery & { readonly state?: Invoice['state'] }): Promise<Invoice[]> {
    return this.backend.runTx('read', async (tx) => {
      const rows = await tx
        .selectFrom('invoices')
        .selectAll()
        .where('add_index', '>', query.afterIndex ?? 0)
        .$if(query.state !== undefined, (qb) => qb.where('state', '=', stateCode(query.state!)))
        .orderBy('add_index')
        .limit(query.limit)
        .execute();
      return rows.map(invoiceOfRow);
    });
  }

  acceptInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.change(paymentHash, async (stored) => acceptedInvoice(stored));
  }

  settleInvoice(paymentHash: Hex, amountPaidMsat: bigint, nowMs: number, by: HtlcRef): Promise<Invoice> {
    return this.change(paymentHash, async (stored, tx) => {
      const nextIndex = settleConsumesIndex(stored) ? (await maxOf(tx, 'settle_index')) + 1 : 0;
      return settledInvoice(stored, amountPaidMsat, nowMs, by, nextIndex);
    });
  }

  cancelInvoice(paymentHash: Hex): Promise<Invoice> {
    return this.change(paymentHash, async (stored) => canceledInvoice(stored));
  }
}
