// Differential test: random operation sequences run against the KV reference (memory
// engine) and the SQL backends (SQLite, and PostgreSQL when a server is available) must give
// identical results and identical error codes, step by step, and end in identical state.
// The reads and their comparable form are the record comparer's (src/testing/record-comparer.ts),
// which `chand db migrate` also verifies a migrated database with.
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { channelIdOf } from '../../src/chanstate/channel-id.js';
import type { ChannelStateStore } from '../../src/chanstate/store.js';
import { ChannelStatus, type ChannelCommitment, type ChannelConfig, type ClosureType, type OpenChannel, type OutPoint } from '../../src/chanstate/types.js';
import type { Coordinator } from '../../src/channelcoord/coordinator.js';
import { checkedStores } from '../../src/channeldb/open.js';
import { createKvChannelStateStore } from '../../src/kv/channel-state-store.js';
import { KvCoordinator } from '../../src/kv/coordinator.js';
import { KvLinkNodeStore } from '../../src/kv/link-node-store.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { migrateKv } from '../../src/kv/migrations.js';
import { CHAIN_HASHES, type LinkNodeStore } from '../../src/linknode/store.js';
import { migrateSql } from '../../src/sql/migrations.js';
import { openPostgresBackend } from '../../src/sql/postgres.js';
import { createSqlChannelStateStore } from '../../src/sql/channel-state-store.js';
import { SqlCoordinator } from '../../src/sql/coordinator.js';
import { SqlLinkNodeStore } from '../../src/sql/link-node-store.js';
import { openSqliteBackend } from '../../src/sql/sqlite.js';
import type { SqlBackend } from '../../src/sql/transactions.js';
import {
  detBytes,
  exclusionReason,
  makeChannel,
  makeCloseSummary,
  makeExternalFunding,
  makeLinkNode,
  modelOf,
  openChannelArb,
  peerPub,
  planRound,
  registerBackendUnavailable,
  type ChannelModel,
  type RoundSpec,
} from '../../src/testing/index.js';
import { attempt, observeAll, observeChannel, type Outcome } from '../../src/testing/record-comparer.js';
import { postgresForTests } from './support/postgres.js';

/** A store set under test. */
interface Stores {
  readonly name: string;
  readonly channelState: ChannelStateStore;
  readonly linkNodes: LinkNodeStore;
  readonly coordinator: Coordinator;
  close(): Promise<void>;
}

/** One clock for every backend: link nodes record "now" and must match. */
const NOW = () => 1_750_000_000_000;

async function kvStores(): Promise<Stores> {
  const engine = createMemoryEngine();
  await migrateKv(engine);
  return {
    name: 'kv-memory',
    ...checkedStores(createKvChannelStateStore(engine), new KvLinkNodeStore(engine), new KvCoordinator(engine, NOW)),
    close: () => engine.close(),
  };
}

async function sqlStores(name: string, backend: SqlBackend, cleanup: () => Promise<void>): Promise<Stores> {
  await migrateSql(backend);
  return {
    name,
    ...checkedStores(createSqlChannelStateStore(backend), new SqlLinkNodeStore(backend), new SqlCoordinator(backend, NOW)),
    close: async () => (await backend.close(), await cleanup()),
  };
}

const workDir = await mkdtemp(join(tmpdir(), 'chand-differential-'));
afterAll(() => rm(workDir, { recursive: true, force: true }));
let sqliteCount = 0;
const factories: Array<{ name: string; runs: number; make: () => Promise<Stores> }> = [];
const sqliteExcluded = exclusionReason('sqlite');
if (sqliteExcluded !== undefined) registerBackendUnavailable('sqlite', 'differential test', sqliteExcluded);
else {
  factories.push({
    name: 'sqlite',
    runs: 50,
    make: async () => {
      const file = join(workDir, `d${++sqliteCount}.sqlite`);
      return sqlStores('sqlite', openSqliteBackend({ file }), async () => {
        for (const suffix of ['', '-wal', '-shm']) await rm(`${file}${suffix}`, { force: true });
      });
    },
  });
}
const pg = await postgresForTests('differential test');
if (pg !== undefined) {
  factories.push({
    name: 'postgres',
    // Each sequence gets a fresh schema and every call is a network round trip: fewer runs.
    runs: 25,
    make: async () => {
      const schema = await pg.freshSchema();
      return sqlStores('postgres', await openPostgresBackend({ url: pg.url, schema, maxConnections: 2 }), async () => {});
    },
  });
}

// --- operations -------------------------------------------------------------------------

const CHANNELS = 3;
/** Channels 0 and 1 share a peer, so "does the peer still have channels?" has both answers. */
const peerOf = (c: number) => (c === 2 ? 2 : 1);
const seedOf = (c: number) => 40 + c;

type Op =
  | { kind: 'sync'; c: number; pending: boolean; external: boolean; address: boolean }
  | { kind: 'syncRandom'; channel: OpenChannel }
  | { kind: 'restore'; cs: number[] }
  | { kind: 'markOpen'; c: number }
  | { kind: 'confirm'; c: number; height: number }
  | { kind: 'closeConf'; c: number; height: number | undefined }
  | { kind: 'realScid'; c: number }
  | { kind: 'alias'; c: number }
  | { kind: 'status'; c: number; apply: boolean; bits: number }
  | { kind: 'borked'; c: number }
  | { kind: 'dataLoss'; c: number }
  | { kind: 'shutdown'; c: number; local: boolean }
  | { kind: 'broadcast'; c: number; coop: boolean; local: boolean }
  | { kind: 'round'; c: number; spec: RoundSpec }
  | { kind: 'append'; c: number; spec: RoundSpec }
  | { kind: 'advance'; c: number }
  | { kind: 'update'; c: number }
  | { kind: 'nextRevocation'; c: number }
  | { kind: 'setFilter'; c: number; height: number; bits: number }
  | { kind: 'ackAdds'; c: number; height: number; index: number }
  | { kind: 'ackSettleFails'; c: number; height: number; index: number }
  | { kind: 'removePkgs'; c: number; heights: number[] }
  | { kind: 'close'; c: number; closeType: number; extra: number }
  | { kind: 'abandon'; c: number }
  | { kind: 'fullyClosed'; c: number }
  | { kind: 'purge'; batch: number }
  | { kind: 'linkCreate'; peer: number }
  | { kind: 'linkDelete'; peer: number }
  | { kind: 'linkAddress'; peer: number; n: number }
  | { kind: 'prune' }
  | { kind: 'repair' }
  | { kind: 'finalPut'; c: number; index: number; settled: boolean }
  | { kind: 'finalLookup'; c: number; index: number }
  | { kind: 'setup'; c: number; action: 'save' | 'get' | 'delete'; policy: boolean }
  | { kind: 'submit'; c: number; variant: number }
  | { kind: 'observe'; c: number };

const ch = fc.integer({ min: 0, max: CHANNELS - 1 });
const small = fc.integer({ min: 0, max: 3 });
const heightArb = fc.integer({ min: 1, max: 5 });

const roundSpecArb: fc.Arbitrary<RoundSpec> = fc.record(
  {
    settle: fc.uniqueArray(small, { maxLength: 2 }),
    fail: fc.uniqueArray(fc.integer({ min: 4, max: 6 }), { maxLength: 1 }),
    ourAdds: fc.integer({ min: 0, max: 2 }),
    remoteAdds: fc.integer({ min: 0, max: 3 }),
    remoteSettles: fc.uniqueArray(small, { maxLength: 2 }),
    unsignedAcked: fc.integer({ min: 0, max: 2 }),
    lockIn: fc.integer({ min: 0, max: 3 }),
    htlcs: fc.integer({ min: 0, max: 5 }),
    dust: fc.integer({ min: 0, max: 1 }),
    addAcks: fc.array(fc.record({ height: heightArb, index: fc.integer({ min: 0, max: 2 }) }), { maxLength: 2 }),
  },
  { requiredKeys: ['htlcs'] },
);

/** Amounts the SQL backends refuse (>= 2^63) are folded below; everything else stays random. */
const MASK63 = (1n << 63n) - 1n;
function clampCommitment(c: ChannelCommitment): ChannelCommitment {
  return {
    ...c,
    localBalanceMsat: c.localBalanceMsat & MASK63,
    remoteBalanceMsat: c.remoteBalanceMsat & MASK63,
    commitFeeSat: c.commitFeeSat & MASK63,
    feePerKw: c.feePerKw & MASK63,
    htlcs: c.htlcs.map((h) => ({ ...h, amountMsat: h.amountMsat & MASK63 })),
  };
}
function clampConfig(c: ChannelConfig): ChannelConfig {
  return {
    ...c,
    chanReserveSat: c.chanReserveSat & MASK63,
    maxPendingAmountMsat: c.maxPendingAmountMsat & MASK63,
    minHtlcMsat: c.minHtlcMsat & MASK63,
    dustLimitSat: c.dustLimitSat & MASK63,
  };
}
const randomChannelArb = openChannelArb.map(
  (c): OpenChannel => ({
    ...c,
    localConfig: clampConfig(c.localConfig),
    remoteConfig: clampConfig(c.remoteConfig),
    capacitySat: c.capacitySat & MASK63,
    totalMsatSent: c.totalMsatSent & MASK63,
    totalMsatReceived: c.totalMsatReceived & MASK63,
    initialLocalBalanceMsat: c.initialLocalBalanceMsat & MASK63,
    initialRemoteBalanceMsat: c.initialRemoteBalanceMsat & MASK63,
    localCommitment: clampCommitment(c.localCommitment),
    remoteCommitment: clampCommitment(c.remoteCommitment),
  }),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sync' as const), c: ch, pending: fc.boolean(), external: fc.boolean(), address: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('syncRandom' as const), channel: randomChannelArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restore' as const), cs: fc.uniqueArray(ch, { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('markOpen' as const), c: ch }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('confirm' as const), c: ch, height: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('closeConf' as const), c: ch, height: fc.option(fc.integer({ min: 0, max: 900_000 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('realScid' as const), c: ch }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('alias' as const), c: ch }) },
  // Mostly bits that keep the channel mutable; Borked/Restored (bits 0 and 3) now and then.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('status' as const),
      c: ch,
      apply: fc.boolean(),
      bits: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 127 }).map((b) => b & ~0b1001) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 127 }) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('borked' as const), c: ch }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dataLoss' as const), c: ch }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shutdown' as const), c: ch, local: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('broadcast' as const), c: ch, coop: fc.boolean(), local: fc.boolean() }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('round' as const), c: ch, spec: roundSpecArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), c: ch, spec: roundSpecArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), c: ch }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), c: ch }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('nextRevocation' as const), c: ch }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('setFilter' as const), c: ch, height: heightArb, bits: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ackAdds' as const), c: ch, height: heightArb, index: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ackSettleFails' as const), c: ch, height: heightArb, index: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removePkgs' as const), c: ch, heights: fc.uniqueArray(heightArb, { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), c: ch, closeType: fc.integer({ min: 0, max: 5 }), extra: fc.constantFrom(0, ChannelStatus.LocalCloseInitiator) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abandon' as const), c: ch }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fullyClosed' as const), c: ch }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('purge' as const), batch: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('linkCreate' as const), peer: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('linkDelete' as const), peer: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('linkAddress' as const), peer: fc.integer({ min: 1, max: 3 }), n: small }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'prune' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'repair' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('finalPut' as const), c: ch, index: small, settled: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('finalLookup' as const), c: ch, index: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('setup' as const), c: ch, action: fc.constantFrom('save' as const, 'get' as const, 'delete' as const), policy: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('submit' as const), c: ch, variant: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('observe' as const), c: ch }) },
);

/** A sequence: the three channels synced first (some pending, some externally funded), then random operations. */
const sequenceArb = fc
  .tuple(
    fc.tuple(...Array.from({ length: CHANNELS }, (_, c) => fc.record({ kind: fc.constant('sync' as const), c: fc.constant(c), pending: fc.boolean(), external: fc.boolean(), address: fc.boolean() }))),
    fc.array(opArb, { minLength: 8, maxLength: 45 }),
  )
  .map(([syncs, ops]): Op[] => [...syncs, ...ops]);

// --- the driver -------------------------------------------------------------------------

/**
 * Inputs derived from the operation sequence only (never from results), so every backend
 * receives exactly the same calls.
 */
class Driver {
  private readonly models = new Map<number, ChannelModel>();
  private readonly plans = new Map<number, ReturnType<typeof planRound>>();

  channel(c: number, pending: boolean, external: boolean): OpenChannel {
    const base = makeChannel(seedOf(c), {}, { peer: peerOf(c), htlcs: 1, dust: 0 });
    const channel: OpenChannel = pending ? { ...base, isPending: true, shortChannelId: 0n, confirmationHeight: 0 } : base;
    return external ? { ...channel, externalFunding: makeExternalFunding(seedOf(c)) } : channel;
  }

  synced(c: number, channel: OpenChannel): void {
    if (!this.models.has(c)) this.models.set(c, modelOf(channel));
  }

  model(c: number): ChannelModel {
    return this.models.get(c) ?? modelOf(this.channel(c, false, false));
  }

  append(c: number, spec: RoundSpec) {
    const plan = planRound(this.model(c), spec);
    this.plans.set(c, plan);
    return plan;
  }

  plan(c: number) {
    return this.plans.get(c) ?? planRound(this.model(c), { htlcs: 1 });
  }

  updated(c: number): void {
    const plan = this.plans.get(c);
    if (plan === undefined) return;
    this.models.set(c, plan.next);
    this.plans.delete(c);
  }

  /** The number of adds of package `height` of channel c, as the driver planned it (0 if unknown). */
  addsOf(c: number, height: number): number {
    return this.model(c).fwdPkgs.find((p) => p.height === height)?.adds.length ?? this.plans.get(c)?.advance.fwdPkg.adds.length ?? 0;
  }
}

function opOf(c: number): OutPoint {
  return makeChannel(seedOf(c), {}, { peer: peerOf(c), htlcs: 1, dust: 0 }).fundingOutpoint;
}

/** Runs `op` against `s` and returns everything it returned (and, for observe, read). */
async function apply(s: Stores, op: Op, d: Driver): Promise<Outcome | Outcome[]> {
  const cs = s.channelState;
  switch (op.kind) {
    case 'sync': {
      const channel = d.channel(op.c, op.pending, op.external);
      return attempt(() => s.coordinator.syncPendingChannel(channel, op.address ? `10.1.0.${op.c}:9735` : undefined, channel.fundingBroadcastHeight));
    }
    case 'syncRandom':
      return [
        await attempt(() => s.coordinator.syncPendingChannel(op.channel, undefined, op.channel.fundingBroadcastHeight)),
        await attempt(() => cs.fetchChannel(op.channel.fundingOutpoint)),
        await attempt(() => cs.fetchChannelById(channelIdOf(op.channel.fundingOutpoint))),
      ];
    case 'restore':
      return attempt(() => s.coordinator.restoreChannelShells(op.cs.map((c) => ({ channel: d.channel(c, false, false), nodeAddresses: [`10.2.0.${c}:9735`, `10.2.0.${c}:9735`] }))));
    case 'markOpen':
      return attempt(() => cs.markOpen(opOf(op.c), d.model(op.c).scid === 0n ? d.channel(op.c, false, false).shortChannelId : d.model(op.c).scid));
    case 'confirm':
      return attempt(() => cs.markConfirmationHeight(opOf(op.c), op.height));
    case 'closeConf':
      return attempt(() => cs.markCloseConfirmationHeight(opOf(op.c), op.height));
    case 'realScid':
      return attempt(() => cs.markRealScid(opOf(op.c), (1n << 63n) + BigInt(op.c)));
    case 'alias':
      return attempt(() => cs.markScidAliasNegotiated(opOf(op.c)));
    case 'status':
      return attempt(() => (op.apply ? cs.applyChannelStatus(opOf(op.c), op.bits) : cs.clearChannelStatus(opOf(op.c), op.bits)));
    case 'borked':
      return attempt(() => cs.markBorked(opOf(op.c)));
    case 'dataLoss':
      return attempt(() => cs.markDataLoss(opOf(op.c), peerPub(9)));
    case 'shutdown':
      return attempt(() => cs.storeShutdownInfo(opOf(op.c), { deliveryScript: detBytes(`shutdown/${op.c}`, 22), closer: op.local ? 'local' : 'remote' }));
    case 'broadcast': {
      const tx = detBytes(`close-tx/${op.c}/${op.coop}`, 120);
      return attempt(() => (op.coop ? cs.markCoopBroadcasted : cs.markCommitmentBroadcasted).call(cs, opOf(op.c), tx, op.local ? 'local' : 'remote'));
    }
    case 'round': {
      // A whole payment round; the driver moves on after it whatever the outcomes.
      const plan = d.append(op.c, op.spec);
      const outcomes = [
        await attempt(() => cs.appendRemoteCommitChain(opOf(op.c), plan.diff)),
        await attempt(() => cs.advanceCommitChainTail(opOf(op.c), plan.advance)),
        await attempt(() => cs.updateCommitment(opOf(op.c), plan.newLocal, plan.unsignedAckedArg)),
      ];
      d.updated(op.c);
      return outcomes;
    }
    case 'append': {
      const plan = d.append(op.c, op.spec);
      return attempt(() => cs.appendRemoteCommitChain(opOf(op.c), plan.diff));
    }
    case 'advance':
      return attempt(() => cs.advanceCommitChainTail(opOf(op.c), d.plan(op.c).advance));
    case 'update': {
      const plan = d.plan(op.c);
      return attempt(() => cs.updateCommitment(opOf(op.c), plan.newLocal, plan.unsignedAckedArg));
    }
    case 'nextRevocation':
      return attempt(() => cs.insertNextRevocation(opOf(op.c), peerPub(10 + op.c)));
    case 'setFilter': {
      const count = d.addsOf(op.c, op.height);
      const bits = new Uint8Array(Math.ceil(count / 8)).fill(op.bits);
      return attempt(() => cs.setFwdFilter(opOf(op.c), op.height, { count, bits }));
    }
    case 'ackAdds':
      return attempt(() => cs.ackAddHtlcs(opOf(op.c), [{ height: op.height, index: op.index }]));
    case 'ackSettleFails':
      return attempt(() => cs.ackSettleFails([{ source: d.model(op.c).scid, height: op.height, index: op.index }]));
    case 'removePkgs':
      return attempt(() => cs.removeFwdPkgs(opOf(op.c), op.heights));
    case 'close': {
      const summary = makeCloseSummary(d.channel(op.c, false, false), { closeType: op.closeType as ClosureType });
      return attempt(() => cs.closeChannel(opOf(op.c), summary, op.extra));
    }
    case 'abandon':
      return attempt(() => cs.abandonChannel(opOf(op.c), 800_100));
    case 'fullyClosed':
      return attempt(() => s.coordinator.markChannelFullyClosed(opOf(op.c)));
    case 'purge':
      return attempt(async () => {
        // Batches differ by backend (rows vs keys); only the end state must match.
        for (let i = 0; i < 10_000; i++) if ((await cs.purgeClosedChannels(op.batch)).done) return 'done';
        return 'not done';
      });
    case 'linkCreate':
      return attempt(() => s.linkNodes.createLinkNodes([makeLinkNode(op.peer)]));
    case 'linkDelete':
      return attempt(() => s.linkNodes.deleteLinkNode(peerPub(op.peer)));
    case 'linkAddress':
      return attempt(() => s.linkNodes.addAddress(peerPub(op.peer), `10.3.0.${op.n}:9735`, 1_760_000_000_000 + op.n));
    case 'prune':
      return attempt(() => s.coordinator.pruneLinkNodes());
    case 'repair':
      return attempt(() => s.coordinator.repairLinkNodes());
    case 'finalPut':
      return attempt(() => cs.putOnchainFinalHtlcOutcome(d.model(op.c).scid, op.index, op.settled));
    case 'finalLookup':
      return attempt(() => cs.lookupFinalHtlc(d.model(op.c).scid, op.index));
    case 'setup': {
      const op2 = opOf(op.c);
      const id = channelIdOf(op2);
      if (op.policy) {
        const policy = { minHtlcMsat: 1_000n, maxHtlcMsat: 990_000_000n + BigInt(op.c), baseFeeMsat: 1_000n, feeRatePpm: 1 + op.c, timeLockDelta: 80 };
        if (op.action === 'save') return attempt(() => cs.saveInitialForwardingPolicy(id, policy));
        if (op.action === 'get') return attempt(() => cs.getInitialForwardingPolicy(id));
        return attempt(() => cs.deleteInitialForwardingPolicy(id));
      }
      if (op.action === 'save') return attempt(() => cs.saveChannelOpeningState(op2, { stage: 1, shortChannelId: (1n << 64n) - 1n - BigInt(op.c) }));
      if (op.action === 'get') return attempt(() => cs.getChannelOpeningState(op2));
      return attempt(() => cs.deleteChannelOpeningState(op2));
    }
    case 'submit':
      return attempt(() => cs.submitExternalFunding(opOf(op.c), detBytes(`signed/${op.c}/${op.variant}`, 150)));
    case 'observe':
      return observeChannel(s, opOf(op.c), channelProbe(d.model(op.c)));
  }
}

/** The comparer's probes of this test: peer 1's channels, final HTLC 0 of the channel's scid, peers 1-3. */
const channelProbe = (model: ChannelModel) => ({ peer: peerPub(1), finalHtlcScid: model.scid });
const globalProbe = { chainHash: CHAIN_HASHES.regtest, peers: [peerPub(1), peerPub(2), peerPub(3)] };

/** Runs one sequence on the reference and on `other`, comparing after every step. */
async function compareSequence(ops: readonly Op[], makeOther: () => Promise<Stores>): Promise<void> {
  const reference = await kvStores();
  const other = await makeOther();
  const refDriver = new Driver();
  const otherDriver = new Driver();
  try {
    for (const [step, op] of ops.entries()) {
      for (const driver of [refDriver, otherDriver]) {
        if (op.kind === 'sync') driver.synced(op.c, driver.channel(op.c, op.pending, op.external));
      }
      const expected = await apply(reference, op, refDriver);
      const actual = await apply(other, op, otherDriver);
      if (op.kind === 'update') (refDriver.updated(op.c), otherDriver.updated(op.c));
      expect(actual, `${other.name} step ${step}: ${JSON.stringify(op, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`).toEqual(expected);
    }
    expect(await observeAll(other, globalProbe), `${other.name}: final state`).toEqual(await observeAll(reference, globalProbe));
    for (let c = 0; c < CHANNELS; c++) {
      expect(await observeChannel(other, opOf(c), channelProbe(refDriver.model(c))), `${other.name}: final state of channel ${c}`).toEqual(
        await observeChannel(reference, opOf(c), channelProbe(refDriver.model(c))),
      );
    }
  } finally {
    await reference.close();
    await other.close();
  }
}

describe('KV and SQL backends give identical results for the same operations', () => {
  if (factories.length === 0) {
    it.skip('no SQL backend selected', () => {});
    return;
  }
  for (const { name, runs, make } of factories) {
    it(`random sequences: kv-memory vs ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(sequenceArb, (ops) => compareSequence(ops, make)),
        { numRuns: Number(process.env['CHAND_DIFFERENTIAL_RUNS'] ?? runs) },
      );
    }, 180_000);
  }
});

