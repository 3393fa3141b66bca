// Round trips to PostgreSQL per store call on the payment hot path, counted on the wire.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { OpenChannel } from '../../src/chanstate/types.js';
import { createSqlChannelStateStore } from '../../src/sql/channel-state-store.js';
import { SqlCoordinator } from '../../src/sql/coordinator.js';
import { migrateSql } from '../../src/sql/migrations.js';
import { makeChannel, modelOf, planRound, type RoundPlan } from '../../src/testing/index.js';
import { sqlBackendKinds } from './support/backends.js';

/**
 * Counts round trips of every pg connection in the process: a request (a simple Query or an
 * extended-protocol Sync, each answered by one ReadyForQuery) sent while no earlier request
 * of its connection is unanswered starts a round trip; requests sent while one is
 * outstanding (pipelined) travel in the same one.
 */
function countRoundTrips() {
  const proto = pg.Connection.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const outstanding = new WeakMap<object, number>();
  let trips = 0;
  let requests = 0;
  const originals = { query: proto.query!, sync: proto.sync!, emit: proto.emit! };
  const sent = (conn: object) => {
    const n = outstanding.get(conn) ?? 0;
    if (n === 0) trips++;
    requests++;
    outstanding.set(conn, n + 1);
  };
  proto.query = function (this: object, ...args: unknown[]) {
    sent(this);
    return originals.query.apply(this, args);
  };
  proto.sync = function (this: object, ...args: unknown[]) {
    sent(this);
    return originals.sync.apply(this, args);
  };
  proto.emit = function (this: object, event: unknown, ...args: unknown[]) {
    if (event === 'readyForQuery') outstanding.set(this, Math.max(0, (outstanding.get(this) ?? 0) - 1));
    return originals.emit.call(this, event, ...args);
  };
  return {
    async during(fn: () => Promise<unknown>): Promise<{ trips: number; requests: number }> {
      const [t, r] = [trips, requests];
      await fn();
      return { trips: trips - t, requests: requests - r };
    },
    restore() {
      Object.assign(proto, originals);
    },
  };
}

const kinds = (await sqlBackendKinds('PostgreSQL round trips')).filter((k) => k.name === 'postgres');

describe.each(kinds.map((k) => [k.name, k] as const))('round trips per store call: %s', (_name, kind) => {
  const counter = countRoundTrips();
  afterAll(() => counter.restore());

  // A call reads what it needs in one batch (with the deferred BEGIN), checks in JS, then
  // sends its writes with the COMMIT: two round trips. Fewer would need the checks (the
  // revealed secret's point, the channel's status bits, lock-in) inside the server.
  it.each([0, 5, 50])('every call of the payment hot path takes two round trips, with %i HTLCs and acks of earlier packages', async (htlcs) => {
    const { backend, cleanup } = await kind.open();
    try {
      await migrateSql(backend);
      const store = createSqlChannelStateStore(backend);
      // Balances kept positive for any HTLC count (as bench/store.ts does).
      const fixture = makeChannel(100 + htlcs, {}, { htlcs, dust: 0 });
      const balanced = (c: OpenChannel['localCommitment']) => ({ ...c, remoteBalanceMsat: 100_000_000n });
      const channel = { ...fixture, localCommitment: balanced(fixture.localCommitment), remoteCommitment: balanced(fixture.remoteCommitment) };
      await new SqlCoordinator(backend).syncPendingChannel({ ...channel, isPending: true, shortChannelId: 0n }, undefined, channel.fundingBroadcastHeight);
      await store.markOpen(channel.fundingOutpoint, channel.shortChannelId);
      let model = modelOf(channel);
      const op = channel.fundingOutpoint;
      const trips: Record<'append' | 'advance' | 'update', number[]> = { append: [], advance: [], update: [] };
      const rounds = 4;
      for (let round = 0; round < rounds; round++) {
        // From the second round on, the append acks two adds and a settle of the package
        // the previous round's revocation stored (the same package for both kinds), and an
        // add of a package that does not exist (skipped).
        const previous = model.remote.commitHeight;
        const acks =
          round === 0
            ? {}
            : {
                addAcks: [
                  { height: previous, index: 0 },
                  { height: previous, index: 1 },
                  { height: previous + 1_000, index: 0 },
                ],
                settleFailAcks: [{ source: channel.shortChannelId, height: previous, index: 0 }],
              };
        const plan: RoundPlan = planRound(model, { ourAdds: 1, remoteAdds: 2, remoteSettles: [0], htlcs, dust: 0, ...acks });
        trips.append.push((await counter.during(() => store.appendRemoteCommitChain(op, plan.diff))).trips);
        trips.advance.push((await counter.during(() => store.advanceCommitChainTail(op, plan.advance))).trips);
        trips.update.push((await counter.during(() => store.updateCommitment(op, plan.newLocal, plan.unsignedAckedArg))).trips);
        model = { ...plan.next, revocationLog: [], fwdPkgs: [], finalHtlcs: new Map() };
      }
      expect(trips).toEqual({ append: Array(rounds).fill(2), advance: Array(rounds).fill(2), update: Array(rounds).fill(2) });
      // The acks took effect: every package but the newest has its two adds and its settle acked.
      const pkgs = await store.loadFwdPkgs(op);
      expect(pkgs.map((p) => [p.height, [...p.ackFilter.bits], [...p.settleFailFilter.bits]])).toEqual(
        pkgs.map((p, i) => [p.height, i < pkgs.length - 1 ? [0xc0] : [0], i < pkgs.length - 1 ? [0x80] : [0]]),
      );
    } finally {
      await cleanup();
    }
  });

  it('the counter sees every round trip: a raw transaction of k statements takes k + 2', async () => {
    const { backend, cleanup } = await kind.open();
    try {
      await migrateSql(backend);
      const { trips } = await counter.during(() =>
        backend.db.transaction().execute(async (tx) => {
          await tx.selectFrom('link_nodes').selectAll().execute();
          await tx.selectFrom('channels').select('id').execute();
        }),
      );
      expect(trips).toBe(4);
    } finally {
      await cleanup();
    }
  });
});
