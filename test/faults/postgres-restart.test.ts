// A PostgreSQL server restarting or stopping under a connected node: the node process
// survives (no unhandled driver 'error' event), calls in flight fail with DB_UNAVAILABLE (or
// DB_COMMIT_UNKNOWN when COMMIT was cut), work resumes once the server is back, and every
// write the node saw committed is in the database afterwards — every write that failed with
// DB_UNAVAILABLE is not.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openChannelDb } from '../../src/channeldb/open.js';
import { createThrowawayDatabase, startThrowawayCluster, type ThrowawayCluster, type ThrowawayDatabase } from '../../tools/postgres-server.js';
import { chanPointOf, exclusionReason, expectCode, registerBackendUnavailable } from '../../src/testing/index.js';
import { ErrorCode } from '../../src/errors.js';
import { spawnJsonChild, type JsonChild } from './support/child.js';

const WHAT = 'PostgreSQL restart faults';
const WRITER = join(import.meta.dirname, 'support', 'pg-writer.ts');

/** A cluster of our own: the test must stop and restart it, which a shared server forbids. */
async function ownCluster(): Promise<ThrowawayCluster | string> {
  const excluded = exclusionReason('postgres');
  if (excluded !== undefined) return excluded;
  const started = await startThrowawayCluster();
  return typeof started === 'string' ? `no throwaway cluster: ${started}` : started;
}

const cluster = await ownCluster();
if (typeof cluster === 'string') registerBackendUnavailable('postgres', WHAT, cluster);
else {
  let database: ThrowawayDatabase | undefined;
  afterAll(async () => {
    await database?.drop().catch(() => {});
    await cluster.stop();
  });

  const committed = (lines: ReadonlyArray<Record<string, unknown>>) => lines.filter((l) => l['ok'] === true).length;
  const failed = (lines: ReadonlyArray<Record<string, unknown>>) => lines.filter((l) => l['code'] !== undefined || l['raw'] !== undefined).length;

  describe(WHAT, () => {
    it('the writer survives a restart and a stop; typed errors while the server is away; everything reported committed is stored', { timeout: 180_000 }, async () => {
      database = await createThrowawayDatabase(cluster);
      const schema = await database.freshSchema();
      let child: JsonChild | undefined;
      try {
        child = spawnJsonChild(WRITER, [database.url, schema]);
        const writer = child;
        await writer.waitUntil('the writer to open the database', (lines) => lines.some((l) => l['event'] === 'ready'), 30_000);
        await writer.waitUntil('5 commits before the restart', (lines) => committed(lines) >= 5, 30_000);

        await cluster.restart();
        const afterRestart = committed(writer.lines);
        await writer.waitUntil('5 commits after the restart', (lines) => committed(lines) >= afterRestart + 5, 30_000);

        const beforeStop = failed(writer.lines);
        await cluster.halt();
        // Steps keep coming every 20 ms; with the server gone they must fail, typed.
        await writer.waitUntil('3 failed steps while the server is stopped', (lines) => failed(lines) >= beforeStop + 3, 30_000);
        await cluster.start();
        const afterStart = committed(writer.lines);
        await writer.waitUntil('5 commits after the server is back', (lines) => committed(lines) >= afterStart + 5, 30_000);

        writer.process.stdin!.write('stop\n');
        const exit = await writer.exited(30_000);
        expect(exit, writer.stderr()).toEqual({ code: 0, signal: null });
        expect(writer.lines.at(-1)).toEqual({ event: 'closed' });

        const steps = writer.lines.filter((l) => typeof l['op'] === 'number');
        expect(writer.lines.filter((l) => l['raw'] !== undefined), 'untyped errors reached the caller').toEqual([]);
        // The slow reader's transactions were cut too, typed, and it read again afterwards.
        const slow = writer.lines.filter((l) => typeof l['slow'] === 'number');
        expect(slow.filter((l) => l['code'] !== undefined && l['code'] !== ErrorCode.DB_UNAVAILABLE)).toEqual([]);
        expect(slow.at(-1)?.['ok'] ?? slow.at(-2)?.['ok']).toBe(true);
        const codes = new Set(steps.flatMap((l) => (typeof l['code'] === 'string' ? [l['code']] : [])));
        expect([...codes].filter((c) => c !== ErrorCode.DB_UNAVAILABLE && c !== ErrorCode.DB_COMMIT_UNKNOWN), JSON.stringify(steps.filter((l) => l['code'] !== undefined))).toEqual([]);
        expect(codes.has(ErrorCode.DB_UNAVAILABLE)).toBe(true);

        // What the child saw committed is there; what failed before COMMIT is not.
        const db = await openChannelDb({ backend: 'postgres', url: database.url, schema }, { create: false, migrate: false });
        try {
          for (const step of steps) {
            const op = chanPointOf(step['op'] as number);
            if (step['ok'] === true) await db.channelState.fetchChannel(op);
            else if (step['code'] === ErrorCode.DB_UNAVAILABLE) await expectCode(db.channelState.fetchChannel(op), ErrorCode.CHANNEL_NOT_FOUND);
          }
        } finally {
          await db.close();
        }
      } finally {
        child?.kill();
      }
    });
  });
}
