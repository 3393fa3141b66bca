// `chand db migrate` carries invoices (every state) and outgoing payments (every status, with
// their attempts): LMDB → SQLite → PostgreSQL → LMDB, each copy reading back like the
// original (bulk pages and contract reads), and each copy allocating exactly where the
// source would: a new invoice gets the next add index, settling one the next settle index,
// a new payment the next payment index; stored indexes are unchanged. A source whose invoice
// changed state after an interrupted run is refused on resume (its fingerprint moved).
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateChannelDb, type MigrateProgress } from '../../src/channeldb/migrate.js';
import { openChannelDb, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { bytesToHex } from '../../src/codec/bytes.js';
import { ErrorCode } from '../../src/errors.js';
import type { Invoice, Payment } from '../../src/payments/types.js';
import { exclusionReason, registerBackendUnavailable, type FillResult } from '../../src/testing/index.js';
import { postgresForTests } from '../sql/support/postgres.js';
import { expectSameDatabases, fillDatabase, fingerprintOf, tempDir } from './support.js';

const INVOICES = 140;
const PAYMENTS = 70;

const excluded = ['lmdb', 'sqlite'].map((b) => [b, exclusionReason(b)] as const).filter(([, why]) => why !== undefined);
for (const [backend, why] of excluded) registerBackendUnavailable(backend, 'migration of payment records', why!);
const pg = excluded.length === 0 ? await postgresForTests('migration of payment records to PostgreSQL') : undefined;

/** Thrown from onProgress to stop a run, as a crash would. */
class Stop extends Error {}

/** Every invoice and payment of a database, through the contracts. */
async function recordsOf(config: ChannelDbConfig): Promise<{ invoices: Invoice[]; payments: Payment[]; inFlight: Payment[] }> {
  const db = await openChannelDb(config, { create: false });
  try {
    return { invoices: await db.invoices.listInvoices({ limit: 10_000 }), payments: await db.payments.listPayments({ limit: 10_000 }), inFlight: await db.payments.fetchInFlightPayments() };
  } finally {
    await db.close();
  }
}

/** What a node does next on `config`: a new invoice settled, a new payment; the indexes they got. */
async function nextIndexes(config: ChannelDbConfig): Promise<{ addIndex: number; settleIndex: number; paymentIndex: number }> {
  const db = await openChannelDb(config, { create: false });
  try {
    const preimage = new Uint8Array(32).fill(0x42);
    const paymentHash = bytesToHex(sha256(preimage));
    const added = await db.invoices.addInvoice({ paymentHash, preimage, amountMsat: 5_000n, createdAtMs: 1, expiresAtMs: 2, minFinalCltvExpiryDelta: 18, encoded: 'lnbcrt-next', keysend: false });
    const settled = await db.invoices.settleInvoice(paymentHash, 5_000n, 3, { channelId: '22'.repeat(32), htlcId: 9 });
    const paid = await db.payments.initPayment({ paymentHash, amountMsat: 1_000n, destination: '02' + '33'.repeat(32), invoice: '', keysend: true, createdAtMs: 4 });
    return { addIndex: added.addIndex, settleIndex: settled.settleIndex, paymentIndex: paid.paymentIndex };
  } finally {
    await db.close();
  }
}

describe.skipIf(excluded.length > 0)('chand db migrate: invoices and payments', () => {
  let dir: string;
  let lmdb: ChannelDbConfig;
  let fill: FillResult;
  let original: Awaited<ReturnType<typeof recordsOf>>;

  beforeAll(async () => {
    dir = await tempDir('payments');
    lmdb = { backend: 'lmdb', path: join(dir, 'lmdb') };
    fill = await fillDatabase({ ...lmdb, noSync: true }, { channels: 16, revokedStates: 2_000, rounds: 2, invoices: INVOICES, payments: PAYMENTS });
    original = await recordsOf(lmdb);
  }, 120_000);

  it('the source holds invoices in every state and payments in every status, with attempts', () => {
    expect(original.invoices.length).toBe(INVOICES);
    expect(new Set(original.invoices.map((i) => i.state))).toEqual(new Set(['open', 'accepted', 'settled', 'canceled']));
    // Settled in reverse add order: settle indexes are not the add order.
    const settled = original.invoices.filter((i) => i.state === 'settled');
    expect(settled.map((i) => i.settleIndex).sort((a, b) => a - b)).toEqual(settled.map((_, k) => k + 1));
    expect(settled[0]!.settleIndex).toBe(settled.length);
    expect(original.payments.length).toBe(PAYMENTS);
    expect(new Set(original.payments.map((p) => p.status))).toEqual(new Set(['in_flight', 'succeeded', 'failed']));
    expect(new Set(original.payments.flatMap((p) => p.attempts.map((a) => a.status)))).toEqual(new Set(['in_flight', 'succeeded', 'failed']));
    expect(original.inFlight.length).toBeGreaterThan(0);
    expect(fill.invoices).toBe(INVOICES);
  });

  it('LMDB → SQLite → PostgreSQL → LMDB: every copy reads back like the original and allocates where it would', async () => {
    const chain: ChannelDbConfig[] = [lmdb, { backend: 'sqlite', path: join(dir, 'sqlite') }];
    if (pg !== undefined) chain.push({ backend: 'postgres', url: pg.url, schema: await pg.freshSchema() });
    chain.push({ backend: 'lmdb', path: join(dir, 'back') });
    for (let i = 1; i < chain.length; i++) {
      const [from, to] = [chain[i - 1]!, chain[i]!];
      const print = await fingerprintOf(from);
      const report = await migrateChannelDb({ from, to });
      expect(report.copied.invoice).toBe(INVOICES);
      expect(report.copied.payment).toBe(PAYMENTS);
      expect(report.source.invoices).toBe(INVOICES);
      expect(report.source.payments).toBe(PAYMENTS);
      expect(report.copied.revocationLogEntry).toBe(fill.revokedStates);
      expect(await fingerprintOf(from)).toBe(print);
      expect(await expectSameDatabases(lmdb, to)).toBe(report.verified);
      expect(await recordsOf(to)).toEqual(original);
    }
    // What a node does next gives the same indexes on the original and on every copy.
    const expected = { addIndex: INVOICES + 1, settleIndex: original.invoices.filter((i) => i.state === 'settled').length + 1, paymentIndex: PAYMENTS + 1 };
    for (const config of chain) expect(await nextIndexes(config), `${config.backend}`).toEqual(expected);
  }, 300_000);

  it('a run resumed after the source changed an invoice is refused (MIGRATION_SOURCE_MISMATCH)', async () => {
    const source: ChannelDbConfig = { backend: 'lmdb', path: join(dir, 'changing') };
    await fillDatabase({ ...source, noSync: true }, { channels: 16, revokedStates: 500, rounds: 1, invoices: 14, payments: 7 });
    const target: ChannelDbConfig = { backend: 'sqlite', path: join(dir, 'changing-target') };
    const stop = (p: MigrateProgress) => {
      if (p.phase === 'copy' && p.section === 'closedChannel') throw new Stop();
    };
    await expect(migrateChannelDb({ from: source, to: target, onProgress: stop })).rejects.toBeInstanceOf(Stop);
    // A node ran on the source meanwhile and canceled an open invoice: no count moved.
    const db = await openChannelDb(source);
    const open = (await db.invoices.listInvoices({ limit: 100, state: 'open' }))[0]!;
    await db.invoices.cancelInvoice(open.paymentHash);
    await db.close();
    await expect(migrateChannelDb({ from: source, to: target })).rejects.toMatchObject({ code: ErrorCode.MIGRATION_SOURCE_MISMATCH });
  }, 120_000);
});
