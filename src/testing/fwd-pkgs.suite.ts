/**
 * Conformance: forwarding packages (FwdPkgStore), through every state to removal, across
 * two channels, including acks carried by appendRemoteCommitChain.
 */
import { describe, expect, it } from 'vitest';
import { newPkgFilter, withBit } from '../chanstate/pkg-filter.js';
import { ChannelStatus, FwdState, type FwdPkg, type PkgFilter } from '../chanstate/types.js';
import { ErrorCode } from '../errors.js';
import { makeChannel, modelOf, PaymentRound } from './fixtures.js';
import { addChannels, expectCode, useDb, type SuiteContext } from './harness.js';

/** A filter of `count` bits with the bits at `set` on, built bit by bit (MSB first). */
function filter(count: number, set: readonly number[]): PkgFilter {
  const bits = new Uint8Array(Math.ceil(count / 8));
  for (const i of set) bits[i >> 3]! |= 0x80 >> (i & 7);
  return { count, bits };
}

/** Registers the forwarding package tests. */
export function fwdPkgsSuite({ factory }: SuiteContext): void {
  describe('forwarding packages', () => {
    const h = useDb(factory);

    /** Two open channels A and B; one round on each: A locks in 3 adds + 2 settle/fails, B 2 adds + 1 settle. */
    async function twoChannels() {
      const [a, b] = await addChannels(h.db, [makeChannel(1), makeChannel(2)]);
      const ra = await new PaymentRound(modelOf(a!), { remoteAdds: 3, remoteSettles: [0], remoteFails: [2] }).run(h.db.channelState);
      const rb = await new PaymentRound(modelOf(b!), { remoteAdds: 2, remoteSettles: [1] }).run(h.db.channelState);
      return { a: a!, b: b!, ra, rb, pkgA: ra.plan.advance.fwdPkg, pkgB: rb.plan.advance.fwdPkg };
    }

    it('a package goes LockedIn → Processed → Completed → removed, with acks landing across channels', async () => {
      const { a, b, rb, pkgA, pkgB } = await twoChannels();
      const s = h.db.channelState;
      const A = a.fundingOutpoint;
      const B = b.fundingOutpoint;
      expect(pkgA.height).toBe(1);
      expect(await s.loadFwdPkgs(A)).toEqual([{ ...pkgA, state: FwdState.LockedIn }]);
      expect(pkgA.fwdFilter).toBeUndefined();

      // The switch decided to forward adds 0 and 2.
      await s.setFwdFilter(A, 1, filter(3, [0, 2]));
      let expectedA: FwdPkg = { ...pkgA, state: FwdState.Processed, fwdFilter: filter(3, [0, 2]) };
      expect(await s.loadFwdPkgs(A)).toEqual([expectedA]);

      // A replayed setFwdFilter keeps the first filter.
      await s.setFwdFilter(A, 1, filter(3, [1]));
      expect(await s.loadFwdPkgs(A)).toEqual([expectedA]);

      await s.ackAddHtlcs(A, [
        { height: 1, index: 0 },
        { height: 1, index: 1 },
      ]);
      expectedA = { ...expectedA, ackFilter: filter(3, [0, 1]) };
      expect(await s.loadFwdPkgs(A)).toEqual([expectedA]);
      await expectCode(s.removeFwdPkgs(A, [1]), ErrorCode.FWD_PKG_INCOMPLETE);
      expect(await s.loadFwdPkgs(A)).toEqual([expectedA]);

      // B signs a commitment carrying A's first settle back, and acks one of its own adds,
      // in the same transaction as the append.
      const round2B = new PaymentRound(rb.next, {
        settle: [0],
        addAcks: [{ height: pkgB.height, index: 1 }],
        settleFailAcks: [{ source: a.shortChannelId, height: 1, index: 0 }],
      });
      await round2B.append(s);
      expectedA = { ...expectedA, settleFailFilter: filter(2, [0]) };
      expect(await s.loadFwdPkgs(A)).toEqual([expectedA]);
      expect(await s.loadFwdPkgs(B)).toEqual([{ ...pkgB, ackFilter: filter(2, [1]) }]);

      // The last settle/fail and the last add: Completed.
      await s.ackSettleFails([{ source: a.shortChannelId, height: 1, index: 1 }]);
      await s.ackAddHtlcs(A, [{ height: 1, index: 2 }]);
      expectedA = { ...expectedA, state: FwdState.Completed, ackFilter: filter(3, [0, 1, 2]), settleFailFilter: filter(2, [0, 1]) };
      expect(await s.loadFwdPkgs(A)).toEqual([expectedA]);

      await s.removeFwdPkgs(A, [1]);
      expect(await s.loadFwdPkgs(A)).toEqual([]);
      // B's package only carries B's own ack.
      expect(await s.loadFwdPkgs(B)).toEqual([{ ...pkgB, ackFilter: filter(2, [1]) }]);
    });

    it('acks are idempotent and only touch the package they name', async () => {
      const { a, b, pkgA, pkgB } = await twoChannels();
      const s = h.db.channelState;
      await s.ackAddHtlcs(a.fundingOutpoint, [{ height: 1, index: 1 }]);
      await s.ackAddHtlcs(a.fundingOutpoint, [{ height: 1, index: 1 }]);
      await s.ackSettleFails([
        { source: b.shortChannelId, height: 1, index: 0 },
        { source: b.shortChannelId, height: 1, index: 0 },
      ]);
      expect(await s.loadFwdPkgs(a.fundingOutpoint)).toEqual([{ ...pkgA, ackFilter: filter(3, [1]) }]);
      expect(await s.loadFwdPkgs(b.fundingOutpoint)).toEqual([{ ...pkgB, settleFailFilter: filter(1, [0]) }]);
    });

    it('a package completes only once its forwarding filter is set, even when everything is acked', async () => {
      const { a, pkgA } = await twoChannels();
      const s = h.db.channelState;
      const A = a.fundingOutpoint;
      await s.ackAddHtlcs(A, [0, 1, 2].map((index) => ({ height: 1, index })));
      await s.ackSettleFails([0, 1].map((index) => ({ source: a.shortChannelId, height: 1, index })));
      const acked = { ...pkgA, ackFilter: filter(3, [0, 1, 2]), settleFailFilter: filter(2, [0, 1]) };
      expect(await s.loadFwdPkgs(A)).toEqual([{ ...acked, state: FwdState.LockedIn }]);
      await expectCode(s.removeFwdPkgs(A, [1]), ErrorCode.FWD_PKG_INCOMPLETE);
      await s.setFwdFilter(A, 1, newPkgFilter(3));
      expect(await s.loadFwdPkgs(A)).toEqual([{ ...acked, state: FwdState.Completed, fwdFilter: filter(3, []) }]);
    });

    it('an empty package completes when its filter is set; removing with an incomplete one removes nothing', async () => {
      const [a] = await addChannels(h.db, [makeChannel(1)]);
      const s = h.db.channelState;
      const A = a!.fundingOutpoint;
      const r1 = await new PaymentRound(modelOf(a!), { remoteAdds: 1 }).run(s);
      const r2 = await new PaymentRound(r1.next, { settle: [0] }).run(s);
      const [p1, p2] = [r1.plan.advance.fwdPkg, r2.plan.advance.fwdPkg];
      expect(p2.adds).toEqual([]);
      expect(p2.settleFails).toEqual([]);
      await s.setFwdFilter(A, p2.height, newPkgFilter(0));
      const completed2 = { ...p2, state: FwdState.Completed, fwdFilter: filter(0, []) };
      expect(await s.loadFwdPkgs(A)).toEqual([p1, completed2]);

      await expectCode(s.removeFwdPkgs(A, [p2.height, p1.height]), ErrorCode.FWD_PKG_INCOMPLETE);
      expect(await s.loadFwdPkgs(A)).toEqual([p1, completed2]);
      await s.removeFwdPkgs(A, [p2.height]);
      expect(await s.loadFwdPkgs(A)).toEqual([p1]);
    });

    it('setFwdFilter on a missing package fails FWD_PKG_NOT_FOUND', async () => {
      const { a } = await twoChannels();
      await expectCode(h.db.channelState.setFwdFilter(a.fundingOutpoint, 99, newPkgFilter(0)), ErrorCode.FWD_PKG_NOT_FOUND);
      await expectCode(h.db.channelState.setFwdFilter(a.fundingOutpoint, 0, newPkgFilter(0)), ErrorCode.FWD_PKG_NOT_FOUND);
    });

    it('a rejected appendRemoteCommitChain acks nothing', async () => {
      const { a, b, rb, pkgA, pkgB } = await twoChannels();
      const s = h.db.channelState;
      await s.applyChannelStatus(b.fundingOutpoint, ChannelStatus.Borked);
      const round = new PaymentRound(rb.next, {
        addAcks: [{ height: 1, index: 0 }],
        settleFailAcks: [{ source: a.shortChannelId, height: 1, index: 1 }],
      });
      await expectCode(round.append(s), ErrorCode.CHANNEL_BORKED);
      expect(await s.loadFwdPkgs(a.fundingOutpoint)).toEqual([pkgA]);
      expect(await s.loadFwdPkgs(b.fundingOutpoint)).toEqual([pkgB]);
    });

    it('withBit-built filters and hand-built filters agree (fixture sanity)', () => {
      expect(withBit(withBit(newPkgFilter(10), 0), 9)).toEqual(filter(10, [0, 9]));
    });
  });
}
