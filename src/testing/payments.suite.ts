/**
 * Conformance: the outgoing-payment store (payments/store.ts PaymentStore) — never paying a
 * hash twice, attempts and their repeat-safe outcomes, the preimage check, failing a
 * payment only when no attempt is in flight, the in-flight set, paging, exact round trips,
 * argument checks at the edge, durability across a reopen, and STORE_CLOSED after close.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import type { PaymentStore } from '../payments/store.js';
import type { NewPayment, Payment, PaymentAttempt } from '../payments/types.js';
import { expectCode } from './harness.js';
import { makeAttempt, makeNewPayment, makeRoute, MAX_MONEY_MSAT, preimageOf, usePaymentDb, type PaymentConformanceFactory } from './payments-harness.js';

/** What a freshly initiated payment looks like. */
function newPayment(p: NewPayment, paymentIndex: number, attempts: readonly PaymentAttempt[] = []): Payment {
  return { ...p, paymentIndex, status: 'in_flight', attempts, feeMsat: 0n, resolvedAtMs: 0 };
}

type Calls<T> = { readonly [K in keyof T]: (target: T) => Promise<unknown> };

const closedHash = preimageOf('closed').paymentHash;
const CLOSED_CALLS: Calls<PaymentStore> = {
  initPayment: (s) => s.initPayment(makeNewPayment('closed')),
  registerAttempt: (s) => s.registerAttempt(closedHash, makeAttempt('closed', 1)),
  settleAttempt: (s) => s.settleAttempt(closedHash, 1, preimageOf('closed').preimage, 1),
  failAttempt: (s) => s.failAttempt(closedHash, 1, 'x', 1),
  failPayment: (s) => s.failPayment(closedHash, 'x', 1),
  fetchPayment: (s) => s.fetchPayment(closedHash),
  listPayments: (s) => s.listPayments({ limit: 1 }),
  fetchInFlightPayments: (s) => s.fetchInFlightPayments(),
};

/** Registers the payment-store suite; `durable` backends' factories return `reopen`. */
export function paymentsSuite(factory: PaymentConformanceFactory, durable: boolean): void {
  describe('payments', () => {
    const h = usePaymentDb(factory, durable);
    const store = () => h.db.payments;

    it('initPayment stores an in-flight payment without attempts, indexes 1, 2, ...; fetch returns it exactly', async () => {
      const a = makeNewPayment('a');
      const b = makeNewPayment('b', { amountMsat: MAX_MONEY_MSAT, invoice: '', keysend: true });
      expect(await store().initPayment(a)).toEqual(newPayment(a, 1));
      expect(await store().initPayment(b)).toEqual(newPayment(b, 2));
      expect(await store().fetchPayment(a.paymentHash)).toEqual(newPayment(a, 1));
      const back = await store().fetchPayment(b.paymentHash);
      expect(back).toEqual(newPayment(b, 2));
      for (const absent of ['preimage', 'failureReason'] as const) expect(absent in back).toBe(false);
      await expectCode(store().fetchPayment(preimageOf('none').paymentHash), ErrorCode.PAYMENT_NOT_FOUND);
    });

    it('never pays twice: PAYMENT_IN_FLIGHT while in flight, PAYMENT_ALREADY_SUCCEEDED once succeeded', async () => {
      const p = makeNewPayment('twice');
      const { preimage } = preimageOf('twice');
      await store().initPayment(p);
      await expectCode(store().initPayment(p), ErrorCode.PAYMENT_IN_FLIGHT);
      await expectCode(store().initPayment({ ...p, amountMsat: 1n }), ErrorCode.PAYMENT_IN_FLIGHT);
      await store().registerAttempt(p.paymentHash, makeAttempt('twice', 1));
      const succeeded = await store().settleAttempt(p.paymentHash, 1, preimage, 1_700_000_200_000);
      await expectCode(store().initPayment(p), ErrorCode.PAYMENT_ALREADY_SUCCEEDED);
      expect(await store().fetchPayment(p.paymentHash)).toEqual(succeeded);
      expect((await store().listPayments({ limit: 10 })).length).toBe(1);
    });

    it('never pays twice under concurrency: of simultaneous initPayment calls for one hash exactly one succeeds', async () => {
      const p = makeNewPayment('race');
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => store().initPayment(p)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ErrorCode.PAYMENT_IN_FLIGHT });
      expect(await store().listPayments({ limit: 10 })).toEqual([newPayment(p, 1)]);
    });

    it('a failed payment may be retried: it starts over in flight, keeping its index and its attempts', async () => {
      const other = makeNewPayment('first');
      const p = makeNewPayment('retry');
      await store().initPayment(other);
      await store().initPayment(p);
      await store().registerAttempt(p.paymentHash, makeAttempt('retry', 1));
      const failedAttempt = await store().failAttempt(p.paymentHash, 1, 'temporary_channel_failure', 1_700_000_200_000);
      const failed = await store().failPayment(p.paymentHash, 'no route', 1_700_000_200_001);
      expect(failed).toEqual({ ...failedAttempt, status: 'failed', failureReason: 'no route', resolvedAtMs: 1_700_000_200_001 });
      const again = { ...p, amountMsat: 60_000_000n, createdAtMs: 1_700_000_300_000, invoice: 'lnbcrt600u1retry' };
      const retried = await store().initPayment(again);
      expect(retried).toEqual(newPayment(again, 2, failedAttempt.attempts));
      expect('failureReason' in retried).toBe(false);
      expect(await store().fetchPayment(p.paymentHash)).toEqual(retried);
      // Attempt ids go on from the kept ones.
      await expect(store().registerAttempt(p.paymentHash, makeAttempt('retry', 1, { htlcId: 99 }))).rejects.toThrow(RangeError);
      const withSecond = await store().registerAttempt(p.paymentHash, makeAttempt('retry', 2));
      expect(withSecond.attempts.map((a) => [a.attemptId, a.status])).toEqual([
        [1, 'failed'],
        [2, 'in_flight'],
      ]);
      expect((await store().listPayments({ limit: 10 })).map((x) => x.paymentIndex)).toEqual([1, 2]);
    });

    it('registerAttempt adds in-flight attempts in id order; repeating one is a no-op; a wrong id is a RangeError', async () => {
      const p = makeNewPayment('att');
      await store().initPayment(p);
      const first = makeAttempt('att', 1);
      const one = await store().registerAttempt(p.paymentHash, first);
      expect(one).toEqual(newPayment(p, 1, [first]));
      expect(await store().registerAttempt(p.paymentHash, first)).toEqual(one);
      await expect(store().registerAttempt(p.paymentHash, makeAttempt('att', 3))).rejects.toThrow(RangeError);
      await expect(store().registerAttempt(p.paymentHash, makeAttempt('att', 1, { htlcId: 12345 }))).rejects.toThrow(RangeError);
      await store().failAttempt(p.paymentHash, 1, 'fail', 5);
      const second = makeAttempt('att', 2, {}, 5);
      const two = await store().registerAttempt(p.paymentHash, second);
      expect(two.attempts).toEqual([{ ...first, status: 'failed', resolvedAtMs: 5, failure: 'fail' }, second]);
      // The repeat of an attempt that has since resolved still returns the payment unchanged.
      expect(await store().registerAttempt(p.paymentHash, first)).toEqual(two);
      expect(await store().fetchPayment(p.paymentHash)).toEqual(two);
      await expectCode(store().registerAttempt(preimageOf('nope').paymentHash, makeAttempt('nope', 1)), ErrorCode.PAYMENT_NOT_FOUND);
    });

    it('registerAttempt on a resolved payment → PAYMENT_NOT_IN_FLIGHT', async () => {
      const ok = makeNewPayment('ok');
      const bad = makeNewPayment('bad');
      await store().initPayment(ok);
      await store().initPayment(bad);
      await store().registerAttempt(ok.paymentHash, makeAttempt('ok', 1));
      await store().settleAttempt(ok.paymentHash, 1, preimageOf('ok').preimage, 9);
      await expectCode(store().registerAttempt(ok.paymentHash, makeAttempt('ok', 2)), ErrorCode.PAYMENT_NOT_IN_FLIGHT);
      await store().failPayment(bad.paymentHash, 'gave up', 9);
      await expectCode(store().registerAttempt(bad.paymentHash, makeAttempt('bad', 1)), ErrorCode.PAYMENT_NOT_IN_FLIGHT);
      expect((await store().fetchPayment(bad.paymentHash)).attempts).toEqual([]);
    });

    it('settleAttempt checks the preimage (PREIMAGE_MISMATCH), then marks attempt and payment succeeded with the fee; repeat-safe', async () => {
      const p = makeNewPayment('pay');
      const { preimage } = preimageOf('pay');
      await store().initPayment(p);
      const attempt = makeAttempt('pay', 1);
      const inFlight = await store().registerAttempt(p.paymentHash, attempt);
      await expectCode(store().settleAttempt(p.paymentHash, 1, preimageOf('wrong').preimage, 10), ErrorCode.PREIMAGE_MISMATCH);
      expect(await store().fetchPayment(p.paymentHash)).toEqual(inFlight);
      await expect(store().settleAttempt(p.paymentHash, 2, preimage, 10)).rejects.toThrow(RangeError);
      const succeeded = await store().settleAttempt(p.paymentHash, 1, preimage, 1_700_000_400_000);
      expect(succeeded).toEqual({
        ...inFlight,
        status: 'succeeded',
        preimage,
        feeMsat: attempt.amountMsat - p.amountMsat,
        resolvedAtMs: 1_700_000_400_000,
        attempts: [{ ...attempt, status: 'succeeded', resolvedAtMs: 1_700_000_400_000 }],
      });
      expect(succeeded.feeMsat).toBe(2000n);
      expect(await store().settleAttempt(p.paymentHash, 1, preimage, 1_700_000_500_000)).toEqual(succeeded);
      expect(await store().fetchPayment(p.paymentHash)).toEqual(succeeded);
      await expectCode(store().settleAttempt(preimageOf('nope').paymentHash, 1, preimageOf('nope').preimage, 1), ErrorCode.PAYMENT_NOT_FOUND);
    });

    it('failAttempt marks the attempt failed and keeps the payment in flight; repeat-safe; a resolved attempt cannot flip', async () => {
      const p = makeNewPayment('fa');
      await store().initPayment(p);
      await store().registerAttempt(p.paymentHash, makeAttempt('fa', 1));
      const failed = await store().failAttempt(p.paymentHash, 1, 'incorrect_or_unknown_payment_details', 77);
      expect(failed.status).toBe('in_flight');
      expect(failed.attempts[0]).toMatchObject({ status: 'failed', resolvedAtMs: 77, failure: 'incorrect_or_unknown_payment_details' });
      expect(await store().failAttempt(p.paymentHash, 1, 'another reason', 78)).toEqual(failed);
      await expectCode(store().settleAttempt(p.paymentHash, 1, preimageOf('fa').preimage, 79), ErrorCode.PAYMENT_ATTEMPT_RESOLVED);
      await expect(store().failAttempt(p.paymentHash, 2, 'x', 1)).rejects.toThrow(RangeError);
      await store().registerAttempt(p.paymentHash, makeAttempt('fa', 2));
      await store().settleAttempt(p.paymentHash, 2, preimageOf('fa').preimage, 80);
      await expectCode(store().failAttempt(p.paymentHash, 2, 'late', 81), ErrorCode.PAYMENT_ATTEMPT_RESOLVED);
      expect((await store().fetchPayment(p.paymentHash)).status).toBe('succeeded');
    });

    it('failPayment is refused while an attempt is in flight, then fails the payment; idempotent; not after success', async () => {
      const p = makeNewPayment('fp');
      await store().initPayment(p);
      await store().registerAttempt(p.paymentHash, makeAttempt('fp', 1));
      await store().registerAttempt(p.paymentHash, makeAttempt('fp', 2));
      await store().failAttempt(p.paymentHash, 1, 'x', 1);
      await expectCode(store().failPayment(p.paymentHash, 'timeout', 2), ErrorCode.PAYMENT_ATTEMPT_IN_FLIGHT);
      expect((await store().fetchPayment(p.paymentHash)).status).toBe('in_flight');
      await store().failAttempt(p.paymentHash, 2, 'y', 3);
      const failed = await store().failPayment(p.paymentHash, 'timeout', 4);
      expect(failed).toMatchObject({ status: 'failed', failureReason: 'timeout', resolvedAtMs: 4, feeMsat: 0n });
      expect(await store().failPayment(p.paymentHash, 'other', 5)).toEqual(failed);
      await expectCode(store().failPayment(preimageOf('missing').paymentHash, 'x', 1), ErrorCode.PAYMENT_NOT_FOUND);

      const s = makeNewPayment('fp-ok');
      await store().initPayment(s);
      await store().registerAttempt(s.paymentHash, makeAttempt('fp-ok', 1));
      await store().settleAttempt(s.paymentHash, 1, preimageOf('fp-ok').preimage, 6);
      await expectCode(store().failPayment(s.paymentHash, 'x', 7), ErrorCode.PAYMENT_ALREADY_SUCCEEDED);
    });

    it('fetchInFlightPayments returns exactly the in-flight payments, in payment-index order', async () => {
      const labels = ['f0', 'f1', 'f2', 'f3'];
      for (const l of labels) await store().initPayment(makeNewPayment(l));
      const hash = (l: string) => preimageOf(l).paymentHash;
      await store().registerAttempt(hash('f1'), makeAttempt('f1', 1));
      await store().settleAttempt(hash('f1'), 1, preimageOf('f1').preimage, 1);
      await store().failPayment(hash('f2'), 'no route', 1);
      await store().registerAttempt(hash('f3'), makeAttempt('f3', 1));
      const inFlight = await store().fetchInFlightPayments();
      expect(inFlight.map((p) => p.paymentHash)).toEqual([hash('f0'), hash('f3')]);
      expect(inFlight[1]).toEqual(await store().fetchPayment(hash('f3')));
      await store().initPayment(makeNewPayment('f2'));
      expect((await store().fetchInFlightPayments()).map((p) => p.paymentIndex)).toEqual([1, 3, 4]);
    });

    it('lists in payment-index order with afterIndex and limit, attempts included', async () => {
      for (let i = 0; i < 6; i++) await store().initPayment(makeNewPayment(`p${i}`));
      await store().registerAttempt(preimageOf('p2').paymentHash, makeAttempt('p2', 1));
      const all = await store().listPayments({ limit: 100 });
      expect(all.map((p) => p.paymentIndex)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(all[2]!.attempts).toHaveLength(1);
      expect(all).toEqual(await Promise.all(all.map((p) => store().fetchPayment(p.paymentHash))));
      expect((await store().listPayments({ limit: 2 })).map((p) => p.paymentIndex)).toEqual([1, 2]);
      expect((await store().listPayments({ afterIndex: 2, limit: 3 })).map((p) => p.paymentIndex)).toEqual([3, 4, 5]);
      expect((await store().listPayments({ afterIndex: 5, limit: 3 })).map((p) => p.paymentIndex)).toEqual([6]);
      expect(await store().listPayments({ afterIndex: 6, limit: 3 })).toEqual([]);
    });

    it('round-trips values exactly: maximal amounts, full u64 scids, long routes, arbitrary text', async () => {
      const p = makeNewPayment('exact', { amountMsat: MAX_MONEY_MSAT - 1n });
      await store().initPayment(p);
      const route = makeRoute('exact', 20, MAX_MONEY_MSAT - 1n).map((hop, i) => (i === 0 ? { ...hop, shortChannelId: (1n << 64n) - 1n, cltvExpiry: 2 ** 32 - 1 } : hop));
      const attempt = makeAttempt('exact', 1, { amountMsat: MAX_MONEY_MSAT, route, htlcId: Number.MAX_SAFE_INTEGER });
      await store().registerAttempt(p.paymentHash, attempt);
      await store().failAttempt(p.paymentHash, 1, 'fehler: ✗ 失败 \t"\' end', Number.MAX_SAFE_INTEGER);
      const back = await store().fetchPayment(p.paymentHash);
      expect(back.attempts).toEqual([{ ...attempt, status: 'failed', resolvedAtMs: Number.MAX_SAFE_INTEGER, failure: 'fehler: ✗ 失败 \t"\' end' }]);
      await store().registerAttempt(p.paymentHash, makeAttempt('exact', 2, { amountMsat: MAX_MONEY_MSAT, route }));
      const done = await store().settleAttempt(p.paymentHash, 2, preimageOf('exact').preimage, 3);
      expect(done.feeMsat).toBe(1n);
      expect(await store().fetchPayment(p.paymentHash)).toEqual(done);
    });

    it('keeps no reference to arguments or results: mutating either changes nothing stored', async () => {
      const p = makeNewPayment('alias');
      await store().initPayment(p);
      const attempt = makeAttempt('alias', 1);
      const key = attempt.sessionKey.slice();
      const registered = await store().registerAttempt(p.paymentHash, attempt);
      attempt.sessionKey.fill(0);
      registered.attempts[0]!.sessionKey.fill(1);
      const preimage = preimageOf('alias').preimage;
      const settled = await store().settleAttempt(p.paymentHash, 1, preimage, 1);
      preimage.fill(0);
      settled.preimage!.fill(2);
      const back = await store().fetchPayment(p.paymentHash);
      expect(back.attempts[0]!.sessionKey).toEqual(key);
      expect(back.preimage).toEqual(preimageOf('alias').preimage);
    });

    it('refuses malformed arguments with TypeError/RangeError before writing anything', async () => {
      const p = makeNewPayment('args');
      const a = makeAttempt('args', 1);
      await expect(store().initPayment({ ...p, destination: p.destination.slice(2) })).rejects.toThrow(TypeError);
      await expect(store().initPayment({ ...p, amountMsat: 5 as never })).rejects.toThrow(RangeError);
      await expect(store().initPayment({ ...p, invoice: undefined as never })).rejects.toThrow(TypeError);
      expect(await store().listPayments({ limit: 10 })).toEqual([]);
      await store().initPayment(p);
      await expect(store().registerAttempt(p.paymentHash, { ...a, attemptId: 0 })).rejects.toThrow(RangeError);
      await expect(store().registerAttempt(p.paymentHash, { ...a, route: [] })).rejects.toThrow(RangeError);
      await expect(store().registerAttempt(p.paymentHash, { ...a, route: [{ ...a.route[0]!, shortChannelId: 1n << 64n }] })).rejects.toThrow(RangeError);
      await expect(store().registerAttempt(p.paymentHash, { ...a, sessionKey: new Uint8Array(33) })).rejects.toThrow(RangeError);
      await expect(store().registerAttempt(p.paymentHash, { ...a, status: 'succeeded' })).rejects.toThrow(RangeError);
      await expect(store().registerAttempt(p.paymentHash, { ...a, resolvedAtMs: 5 })).rejects.toThrow(RangeError);
      await expect(store().settleAttempt(p.paymentHash, 1, new Uint8Array(31), 1)).rejects.toThrow(RangeError);
      await expect(store().failAttempt(p.paymentHash, 1.5, 'x', 1)).rejects.toThrow(RangeError);
      await expect(store().failPayment(p.paymentHash, 3 as never, 1)).rejects.toThrow(TypeError);
      await expect(store().failAttempt(p.paymentHash, 1, 'nul \u0000 inside', 1)).rejects.toThrow(RangeError);
      await expect(store().listPayments({ limit: 0 })).rejects.toThrow(RangeError);
      expect((await store().fetchPayment(p.paymentHash)).attempts).toEqual([]);
    });

    (durable ? it : it.skip)(durable ? 'keeps payments, attempts, outcomes and the in-flight set across a reopen' : 'keeps payments, attempts, outcomes and the in-flight set across a reopen — SKIPPED: this backend is not durable (nothing survives a reopen)', async () => {
      const a = makeNewPayment('ra');
      const b = makeNewPayment('rb');
      await store().initPayment(a);
      await store().initPayment(b);
      await store().registerAttempt(a.paymentHash, makeAttempt('ra', 1, {}, 4));
      const settled = await store().settleAttempt(a.paymentHash, 1, preimageOf('ra').preimage, 11);
      await store().registerAttempt(b.paymentHash, makeAttempt('rb', 1));
      await store().failAttempt(b.paymentHash, 1, 'x', 12);
      const inFlight = await store().registerAttempt(b.paymentHash, makeAttempt('rb', 2));
      const db = await h.reopen();
      expect(await db.payments.fetchPayment(a.paymentHash)).toEqual(settled);
      expect(await db.payments.fetchInFlightPayments()).toEqual([inFlight]);
      expect(await db.payments.listPayments({ limit: 10 })).toEqual([settled, inFlight]);
      await expectCode(db.payments.initPayment(a), ErrorCode.PAYMENT_ALREADY_SUCCEEDED);
      expect((await db.payments.initPayment(makeNewPayment('rc'))).paymentIndex).toBe(3);
    });

    it('rejects every method with STORE_CLOSED after close', async () => {
      await h.db.close();
      for (const [name, call] of Object.entries(CLOSED_CALLS)) {
        await expect(call(h.db.payments), name).rejects.toMatchObject({ code: ErrorCode.STORE_CLOSED });
      }
    });
  });
}
