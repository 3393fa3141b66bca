/**
 * Plumbing of the payment-store conformance suites (invoices.suite.ts, payments.suite.ts):
 * the factory a backend provides, a fresh isolated database per test, and the fixtures.
 *
 * A durable backend's factory also returns `reopen`, which opens the same database again
 * (after the test closed the first handle), so the suites check that what was written
 * survives; a backend without it (memory) skips those tests, with the reason in the title.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { afterEach, beforeEach } from 'vitest';
import { bytesToHex } from '../codec/bytes.js';
import type { InvoiceStore, PaymentStore } from '../payments/store.js';
import type { NewInvoice, NewPayment, PaymentAttempt, RouteHop } from '../payments/types.js';
import { detBytes, detHex, pubkeyOf } from './fixtures.js';

/** The part of an open database the payment suites use (channeldb's ChannelDb has this shape). */
export interface PaymentConformanceDb {
  readonly invoices: InvoiceStore;
  readonly payments: PaymentStore;
  /** Idempotent; afterwards every store method rejects with STORE_CLOSED. */
  close(): Promise<void>;
}

/** A fresh, empty, isolated database; `reopen` (durable backends) opens the same one again; `cleanup` removes it. */
export type PaymentConformanceFactory = () => Promise<{
  db: PaymentConformanceDb;
  reopen?: () => Promise<PaymentConformanceDb>;
  cleanup(): Promise<void>;
}>;

/** Access to the current test's database. */
export interface PaymentDbHandle {
  readonly db: PaymentConformanceDb;
  /** Whether the backend can reopen a database (durable). */
  readonly canReopen: boolean;
  /** Closes the current handle and opens the same database again; later `db` is the new one. */
  reopen(): Promise<PaymentConformanceDb>;
}

/**
 * Registers beforeEach/afterEach hooks in the calling describe block: each test gets a
 * fresh database from `factory`, cleaned up after the test whatever its outcome.
 */
export function usePaymentDb(factory: PaymentConformanceFactory, canReopen: boolean): PaymentDbHandle {
  let current: PaymentConformanceDb | undefined;
  let reopener: (() => Promise<PaymentConformanceDb>) | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const opened = await factory();
    current = opened.db;
    reopener = opened.reopen;
    cleanup = opened.cleanup;
  });
  afterEach(async () => {
    const pending = cleanup;
    const open = current;
    current = undefined;
    cleanup = undefined;
    await open?.close();
    await pending?.();
  });
  return {
    canReopen,
    get db(): PaymentConformanceDb {
      if (current === undefined) throw new Error('no conformance database: use it inside a test');
      return current;
    },
    async reopen(): Promise<PaymentConformanceDb> {
      if (current === undefined || reopener === undefined) throw new Error('this backend cannot reopen a database');
      await current.close();
      current = await reopener();
      return current;
    },
  };
}

/** 21 million BTC in msat: the largest amount Bitcoin can hold. */
export const MAX_MONEY_MSAT = 21_000_000n * 100_000_000n * 1000n;

/** The preimage of fixture `label` (32 bytes) and its payment hash. */
export function preimageOf(label: string): { preimage: Uint8Array; paymentHash: string } {
  const preimage = detBytes(`preimage/${label}`, 32);
  return { preimage, paymentHash: bytesToHex(sha256(preimage)) };
}

/** A BOLT 11-style invoice to store: every optional field set unless `minimal`. */
export function makeNewInvoice(label: string, overrides: Partial<NewInvoice> = {}, minimal = false): NewInvoice {
  const { preimage, paymentHash } = preimageOf(label);
  const base: NewInvoice = minimal
    ? { paymentHash, preimage, createdAtMs: 1_700_000_000_000, expiresAtMs: 1_700_000_003_600, minFinalCltvExpiryDelta: 18, encoded: '', keysend: true }
    : {
        paymentHash,
        preimage,
        paymentSecret: detHex(`secret/${label}`, 32),
        amountMsat: 123_456_789n,
        description: `coffee ☕ for ${label}`,
        descriptionHash: detHex(`dhash/${label}`, 32),
        createdAtMs: 1_700_000_000_000,
        expiresAtMs: 1_700_000_003_600,
        minFinalCltvExpiryDelta: 144,
        encoded: `lnbcrt1${label}${'q'.repeat(300)}`,
        keysend: false,
      };
  return { ...base, ...overrides };
}

/** An HTLC reference for settling. */
export function htlcRefOf(label: string, htlcId = 0): { channelId: string; htlcId: number } {
  return { channelId: detHex(`chan/${label}`, 32), htlcId };
}

/** A new outgoing payment to `label`'s hash. */
export function makeNewPayment(label: string, overrides: Partial<NewPayment> = {}): NewPayment {
  return {
    paymentHash: preimageOf(label).paymentHash,
    amountMsat: 50_000_000n,
    destination: pubkeyOf(`dest/${label}`),
    invoice: `lnbcrt500u1${label}`,
    keysend: false,
    createdAtMs: 1_700_000_100_000,
    ...overrides,
  };
}

/** A route of `hops` hops paying `amountMsat` to the last one. */
export function makeRoute(label: string, hops: number, amountMsat: bigint): RouteHop[] {
  return Array.from({ length: hops }, (_, i) => ({
    pubkey: pubkeyOf(`hop/${label}/${i}`),
    shortChannelId: (BigInt(800_000 + i) << 40n) | (BigInt(i + 1) << 16n) | BigInt(i),
    amountMsat: amountMsat + BigInt((hops - 1 - i) * 1000),
    cltvExpiry: 800_000 + (hops - i) * 40,
  }));
}

/** A new in-flight attempt `attemptId` of `label`'s payment over a route of `hops` hops. */
export function makeAttempt(label: string, attemptId: number, overrides: Partial<PaymentAttempt> = {}, hops = 3): PaymentAttempt {
  const route = makeRoute(`${label}/${attemptId}`, hops, 50_000_000n);
  return {
    attemptId,
    channelId: detHex(`out-chan/${label}`, 32),
    htlcId: attemptId * 10,
    amountMsat: route[0]!.amountMsat,
    route,
    sessionKey: detBytes(`session/${label}/${attemptId}`, 32),
    startedAtMs: 1_700_000_100_000 + attemptId,
    status: 'in_flight',
    resolvedAtMs: 0,
    ...overrides,
  };
}
