// The compact revocation log (chanstate/revocation-blocks.ts) against the plain one it
// replaced: for random sequences of revoked states — HTLCs drawn from a small pool so that
// they repeat across states, balances and HTLC indexes present or not, heights with gaps,
// repeats (a repeat replaces the state) and states written below the open block — every
// read returns exactly what the plain per-state log (one revocationLogRecord per height,
// as KV schema 1-3 stored it) returns: each height, ranges from any height with any limit,
// and the tail. Run through the KV backend (memory engine) and the SQL one (SQLite), with
// small block sizes so that sequences span many blocks.
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { revocationLogRecord } from '../../src/chanstate/records.js';
import type { HtlcEntry, OutPoint, RevocationLogEntry } from '../../src/chanstate/types.js';
import { checksummedEngine } from '../../src/kv/checksummed-engine.js';
import { findRevokedState, KV_BLOCK_LIMIT, putRevokedState, revokedStatesFrom, revokedTailHeight } from '../../src/kv/commitments.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { migrateKv } from '../../src/kv/migrations.js';
import * as sqlLog from '../../src/sql/commitments.js';
import { openSqliteBackend } from '../../src/sql/sqlite.js';
import { migrateSql } from '../../src/sql/migrations.js';
import { createSqlChannelStateStore } from '../../src/sql/channel-state-store.js';
import { SqlCoordinator } from '../../src/sql/coordinator.js';
import { SqlLinkNodeStore } from '../../src/sql/link-node-store.js';
import { addChannel, detHex, makeChannel } from '../../src/testing/index.js';


/** The plain log: one record per height, a put replacing the state. */
class PlainLog {
  private readonly records = new Map<number, Uint8Array>();

  put(entry: RevocationLogEntry): void {
    const { commitHeight, htlcs, ...rest } = entry;
    this.records.set(commitHeight, revocationLogRecord.encode(htlcs.length === 0 ? rest : { ...rest, htlcs }));
  }

  private entry(height: number): RevocationLogEntry {
    const stored = revocationLogRecord.decode(this.records.get(height)!);
    return { ...stored, commitHeight: height, htlcs: stored.htlcs ?? [] };
  }

  find(height: number): RevocationLogEntry | undefined {
    return this.records.has(height) ? this.entry(height) : undefined;
  }

  from(from: number, limit: number): RevocationLogEntry[] {
    return [...this.records.keys()].filter((h) => h >= from).sort((a, b) => a - b).slice(0, limit).map((h) => this.entry(h));
  }

  tail(): number | undefined {
    return this.records.size === 0 ? undefined : Math.max(...this.records.keys());
  }

  heights(): number[] {
    return [...this.records.keys()];
  }
}

// --- random sequences ------------------------------------------------------------------------

// Near-twins first: the same HTLC but for one field each (timeout, index, no index,
// direction, amount, hash), which a dictionary must never mix up; then some others.
const twin = { paymentHash: detHex('pool/a', 32), refundTimeout: 800_000, outputIndex: 0, incoming: true, amountSat: 1_000n, htlcIndex: 0 };
const htlcPool: HtlcEntry[] = [
  twin,
  { ...twin, refundTimeout: 800_001 },
  { ...twin, htlcIndex: 1 },
  (({ htlcIndex: _i, ...rest }) => rest)(twin),
  { ...twin, incoming: false },
  { ...twin, amountSat: 2_000n },
  { ...twin, paymentHash: detHex('pool/b', 32) },
  ...Array.from({ length: 6 }, (_, i) => ({
    paymentHash: detHex(`pool/${i % 4}`, 32),
    refundTimeout: 800_000 + (i % 3),
    outputIndex: 0,
    incoming: i % 2 === 0,
    amountSat: 10n ** BigInt(i),
    ...(i % 3 === 2 ? {} : { htlcIndex: 2 ** 40 + i }),
  })),
];

const entryArb = (height: number) =>
  fc.record({
    our: fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { nil: undefined }),
    their: fc.option(fc.oneof(fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { nil: undefined }),
    ours: fc.constantFrom(0, 1, 0xffff, 7),
    theirs: fc.constantFrom(1, 0, 0xffff),
    txid: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    htlcs: fc.array(fc.record({ at: fc.nat({ max: htlcPool.length - 1 }), outputIndex: fc.nat({ max: 600 }) }), { maxLength: 6 }),
  }).map(({ our, their, ours, theirs, txid, htlcs }): RevocationLogEntry => ({
    commitHeight: height,
    ourOutputIndex: ours,
    theirOutputIndex: theirs,
    commitTxid: Buffer.from(txid).toString('hex'),
    ...(our === undefined ? {} : { ourBalanceMsat: our }),
    ...(their === undefined ? {} : { theirBalanceMsat: their }),
    htlcs: htlcs.map(({ at, outputIndex }) => ({ ...htlcPool[at]!, outputIndex })),
  }));

/** Heights: mostly the next one, sometimes a gap, a repeat of a stored one, or one below. */
const stepArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'next' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('gap' as const), by: fc.integer({ min: 2, max: 500 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('repeat' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('below' as const), pick: fc.nat() }) },
);

const sequenceArb = fc.record({
  steps: fc.array(fc.tuple(stepArb, fc.nat()), { minLength: 1, maxLength: 160 }),
  limit: fc.constantFrom(64, 200, 700, KV_BLOCK_LIMIT),
  start: fc.nat({ max: 1_000_000 }),
});

/** The heights of a sequence and the entries written at them, deterministic given the seeds. */
function planOf(seq: { steps: Array<[{ kind: 'next' | 'gap' | 'repeat' | 'below'; by?: number; pick?: number }, number]>; start: number }): number[] {
  const heights: number[] = [];
  let next = seq.start;
  for (const [step] of seq.steps) {
    if (step.kind === 'next') heights.push(next++);
    else if (step.kind === 'gap') (next += step.by!), heights.push(next++);
    else if (step.kind === 'repeat' && heights.length > 0) heights.push(heights[step.pick! % heights.length]!);
    else if (step.kind === 'below') {
      // A height between stored ones (or below them all), not stored yet.
      const low = Math.max(0, seq.start - 50);
      const candidate = low + (step.pick! % (next - low + 1));
      heights.push(candidate);
    } else heights.push(next++);
  }
  return heights;
}

function entriesOf(heights: number[], seed: number): RevocationLogEntry[] {
  return heights.map((h, i) => fc.sample(entryArb(h), { numRuns: 1, seed: seed + i })[0]!);
}

/** Reads compared: every height written and a few around, ranges from them, the tail. */
function probes(plain: PlainLog): { heights: number[]; ranges: Array<[number, number]> } {
  const stored = plain.heights();
  const heights = [...new Set([...stored, ...stored.map((h) => h + 1), ...stored.map((h) => Math.max(0, h - 1)), 0])];
  const ranges: Array<[number, number]> = [[0, 1_000_000], ...stored.slice(0, 12).map((h, i): [number, number] => [h, 1 + ((i * 7) % 40)])];
  return { heights, ranges };
}

const op: OutPoint = { txid: detHex('property/op', 32), index: 3 };

describe('compact revocation log = plain revocation log (property)', () => {
  it('KV backend: every read of random state sequences matches the plain log', async () => {
    await fc.assert(
      fc.asyncProperty(sequenceArb, fc.nat(), async (seq, seed) => {
        const bare = createMemoryEngine();
        await migrateKv(bare);
        const engine = checksummedEngine(bare);
        const plain = new PlainLog();
        for (const entry of entriesOf(planOf(seq), seed)) {
          plain.put(entry);
          await engine.update((tx) => putRevokedState(tx, op, entry, seq.limit));
        }
        const { heights, ranges } = probes(plain);
        await engine.read((tx) => {
          for (const h of heights) expect(findRevokedState(tx, op, h)).toEqual(plain.find(h));
          for (const [from, limit] of ranges) expect(revokedStatesFrom(tx, op, from, limit)).toEqual(plain.from(from, limit));
          expect(revokedTailHeight(tx, op)).toEqual(plain.tail());
        });
        await engine.close();
      }),
      { numRuns: 60 },
    );
  });

  it('SQL backend (SQLite): every read of random state sequences matches the plain log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chand-revlog-property-'));
    try {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(sequenceArb, fc.nat(), async (seq, seed) => {
          const backend = openSqliteBackend({ file: join(dir, `p${n++}.sqlite`) });
          await migrateSql(backend);
          const db = { channelState: createSqlChannelStateStore(backend), linkNodes: new SqlLinkNodeStore(backend), coordinator: new SqlCoordinator(backend), close: () => backend.close() };
          const channel = await addChannel(db, makeChannel(7));
          const id = await backend.runTx('read', async (tx) => Number((await tx.selectFrom('channels').select('id').where('txid', '=', Buffer.from(channel.fundingOutpoint.txid, 'hex')).executeTakeFirstOrThrow()).id));
          const plain = new PlainLog();
          for (const entry of entriesOf(planOf(seq), seed)) {
            plain.put(entry);
            await backend.runTx('write', (tx) => sqlLog.putRevokedState(tx, id, entry, seq.limit));
          }
          const { heights, ranges } = probes(plain);
          await backend.runTx('read', async (tx) => {
            for (const h of heights) expect(await sqlLog.findRevokedState(tx, id, h)).toEqual(plain.find(h));
            for (const [from, limit] of ranges) expect(await sqlLog.revokedStatesFrom(tx, id, from, limit)).toEqual(plain.from(from, limit));
            expect(await sqlLog.revokedTailHeight(tx, id)).toEqual(plain.tail());
          });
          // The store's own reads agree too.
          expect(await db.channelState.fetchRevocationLog(channel.fundingOutpoint, 0, 1_000_000)).toEqual(plain.from(0, 1_000_000));
          await db.close();
        }),
        { numRuns: 25 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
