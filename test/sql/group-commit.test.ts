// SQLite group commit (transactions.ts, capability groupCommit): concurrent write
// transactions share one durable COMMIT, each in its own savepoint; none resolves before that
// COMMIT returned; one that fails leaves nothing and fails alone; a lone call commits at once;
// and a SIGKILL at any moment loses no call that resolved.
import BetterSqlite3 from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateSql } from '../../src/sql/migrations.js';
import { SqlLinkNodeStore } from '../../src/sql/link-node-store.js';
import type { SqlBackend } from '../../src/sql/transactions.js';
import { makeLinkNode } from '../../src/testing/index.js';
import { nodeArgs } from '../support/spawn-args.js';
import { sqlBackendKinds } from './support/backends.js';

/**
 * Counts the statements better-sqlite3 runs, by kind (every statement of the process, in
 * order: `events`), by wrapping Statement#run (COMMIT, SAVEPOINT, ... are not readers).
 */
function countStatements() {
  const probe = new BetterSqlite3(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as { run: (...args: unknown[]) => unknown };
  probe.close();
  const original = proto.run;
  const events: string[] = [];
  proto.run = function (this: { source: string }, ...args: unknown[]) {
    const kind = /^\s*(commit|savepoint|release|rollback|begin)\b/i.exec(this.source)?.[1]?.toLowerCase();
    const result = original.apply(this, args);
    // Recorded after the statement returned: for COMMIT, after the fsync.
    if (kind !== undefined) events.push(kind);
    return result;
  };
  return {
    events,
    count: (kind: string) => events.filter((e) => e === kind).length,
    reset: () => void events.splice(0),
    restore: () => void (proto.run = original),
  };
}

const kinds = (await sqlBackendKinds('SQLite group commit')).filter((k) => k.name === 'sqlite');

describe.each(kinds.map((k) => [k.name, k] as const))('group commit: %s', (_name, kind) => {
  const statements = countStatements();
  afterAll(() => statements.restore());

  async function fresh(): Promise<{ backend: SqlBackend; file: string; cleanup(): Promise<void> }> {
    const { backend, cleanup, location } = await kind.open();
    await migrateSql(backend);
    statements.reset();
    return { backend, file: join(location.path!, 'channel.sqlite'), cleanup };
  }

  /** The link-node keys another connection sees in `file`: what is committed. */
  function committedKeys(file: string): string[] {
    const other = new BetterSqlite3(file, { readonly: true });
    try {
      return (other.prepare('select pubkey from link_nodes order by pubkey').all() as Array<{ pubkey: Buffer }>).map((r) => r.pubkey.toString('hex'));
    } finally {
      other.close();
    }
  }

  it('two concurrent store calls commit in one transaction, and resolve only after it', async () => {
    const { backend, file, cleanup } = await fresh();
    try {
      const store = new SqlLinkNodeStore(backend);
      const [a, b] = [makeLinkNode(1), makeLinkNode(2)];
      const seen: Record<string, string[]> = {};
      const call = (node: typeof a, name: string) =>
        store.createLinkNodes([node]).then(() => {
          statements.events.push(`resolved ${name}`);
          // Resolved means committed: another connection sees the row.
          seen[name] = committedKeys(file);
        });
      await Promise.all([call(a, 'a'), call(b, 'b')]);
      expect(statements.count('commit')).toBe(1);
      expect(statements.count('savepoint')).toBe(2);
      expect(statements.events.indexOf('commit')).toBeLessThan(statements.events.indexOf('resolved a'));
      expect(statements.events.indexOf('commit')).toBeLessThan(statements.events.indexOf('resolved b'));
      const both = [a, b].map((n) => n.identityPub).sort();
      expect(seen).toEqual({ a: both, b: both });
    } finally {
      await cleanup();
    }
  });

  it('a hundred calls issued together share one commit, and a later closure sees the writes of earlier ones', async () => {
    const { backend, file, cleanup } = await fresh();
    try {
      const store = new SqlLinkNodeStore(backend);
      const nodes = Array.from({ length: 100 }, (_, i) => makeLinkNode(10 + i));
      await Promise.all(nodes.map((n) => store.createLinkNodes([n])));
      // All are issued in one event-loop turn: one group (at most 256 closures per group).
      expect(statements.count('commit')).toBe(1);
      expect(committedKeys(file)).toEqual(nodes.map((n) => n.identityPub).sort());
      // Within a group each closure sees what the closures before it wrote.
      const counts = await Promise.all(
        [0, 1, 2].map((i) =>
          backend.runTx('write', async (tx) => {
            await tx.insertInto('link_nodes').values({ pubkey: new Uint8Array(33).fill(0x40 + i), network: 'regtest', last_seen_ms: 0 }).execute();
            return (await tx.selectFrom('link_nodes').select('pubkey').execute()).length;
          }),
        ),
      );
      expect(counts).toEqual([101, 102, 103]);
    } finally {
      await cleanup();
    }
  });

  it('a call that fails rolls back to its savepoint only: the other commits, in the same transaction', async () => {
    const { backend, file, cleanup } = await fresh();
    try {
      const insert = (fill: number, fail: boolean) =>
        backend.runTx('write', async (tx) => {
          await tx.insertInto('link_nodes').values({ pubkey: new Uint8Array(33).fill(fill), network: 'regtest', last_seen_ms: fill }).execute();
          if (fail) throw new RangeError(`refusing ${fill}`);
          return fill;
        });
      const results = await Promise.allSettled([insert(0x21, false), insert(0x22, true), insert(0x23, false)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
      expect(statements.count('commit')).toBe(1);
      expect(statements.count('rollback')).toBe(1); // ROLLBACK TO the failed call's savepoint
      expect(committedKeys(file)).toEqual(['21'.repeat(33), '23'.repeat(33)]);
      // A lone failing call rolls back the whole (its own) transaction and commits nothing.
      statements.reset();
      await expect(insert(0x24, true)).rejects.toThrow('refusing 36');
      expect(statements.count('commit')).toBe(0);
      expect(committedKeys(file)).toEqual(['21'.repeat(33), '23'.repeat(33)]);
    } finally {
      await cleanup();
    }
  });

  it('a lone call commits at once: no savepoint, one commit per call when nothing else is queued', async () => {
    const { backend, cleanup } = await fresh();
    try {
      const store = new SqlLinkNodeStore(backend);
      for (let i = 0; i < 5; i++) await store.createLinkNodes([makeLinkNode(200 + i)]);
      expect(statements.count('commit')).toBe(5);
      expect(statements.count('savepoint')).toBe(0);
      expect(statements.count('begin')).toBe(5);
    } finally {
      await cleanup();
    }
  });

  it('SIGKILLs during concurrent grouped calls lose no call that resolved and keep no call that failed', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chand-group-crash-'));
    const file = join(dir, 'channel.sqlite');
    try {
      const resolved = new Set<string>();
      const failed = new Set<string>();
      let kills = 0;
      for (let run = 1; run <= 8; run++) {
        const delayMs = 40 + Math.floor(Math.random() * 250);
        const child = spawn(process.execPath, nodeArgs(join(import.meta.dirname, 'support', 'group-commit-writer.ts'), [file, String(run)]), {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
        // Wait for "ready" (bounded), then kill after the delay.
        const deadline = Date.now() + 60_000;
        while (!out.includes('ready\n') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
        expect(out, `writer ${run} never got ready: ${err}`).toContain('ready\n');
        await new Promise((r) => setTimeout(r, delayMs));
        child.kill('SIGKILL');
        const { signal } = await exited;
        expect(signal, `writer ${run} ended before its kill: ${err}`).toBe('SIGKILL');
        kills++;
        for (const line of out.split('\n')) {
          const [what, key] = line.split(' ');
          if (what === 'ok') resolved.add(key!);
          if (what === 'failed') failed.add(key!);
        }
        const keys = new Set(committedKeys(file));
        const lost = [...resolved].filter((k) => !keys.has(k));
        const kept = [...failed].filter((k) => keys.has(k));
        expect({ run, lost, kept }).toEqual({ run, lost: [], kept: [] });
      }
      expect(kills).toBe(8);
      // The runs did write (many waves of eight calls each), and failures happened too.
      expect(resolved.size).toBeGreaterThan(50);
      expect(failed.size).toBeGreaterThan(5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
