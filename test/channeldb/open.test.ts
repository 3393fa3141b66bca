// The composition root: migrations, DB_REVERSION, dry runs, and the single-writer lock
// across real processes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openChannelDb, LMDB_FILE } from '../../src/channeldb/open.js';
import { LOCK_FILE } from '../../src/channeldb/file-lock.js';
import { openLmdbEngine } from '../../src/kv/lmdb-engine.js';
import { createMemoryEngine } from '../../src/kv/memory-engine.js';
import { KV_SCHEMA_VERSION, migrateKv, readSchemaVersion, type KvMigration } from '../../src/kv/migrations.js';
import { META, key } from '../../src/kv/keys.js';
import { nodeArgs, runnable } from '../support/spawn-args.js';

const repoRoot = join(import.meta.dirname, '..', '..');
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chand-open-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Applies `migrations` to a database seeded by `before`, and returns what `after` reads. */
async function applyMigration<T>(
  migrations: readonly KvMigration[],
  before: (tx: import('../../src/kv/engine.js').KvWriteTx) => void,
  after: (tx: import('../../src/kv/engine.js').KvReadTx) => T,
): Promise<T> {
  const engine = createMemoryEngine();
  await migrateKv(engine, { migrations: migrations.slice(0, 1) });
  await engine.update(before);
  await migrateKv(engine, { migrations });
  const out = await engine.read(after);
  await engine.close();
  return out;
}

describe('KV migrations', () => {
  it('stamps a fresh database with the latest schema version', async () => {
    const db = await openChannelDb({ backend: 'lmdb', path: dir });
    expect(db.migration).toMatchObject({ from: 0, to: KV_SCHEMA_VERSION });
    expect(await db.schemaVersion()).toBe(KV_SCHEMA_VERSION);
    expect((await db.migrationStatus()).pending).toEqual([]);
    await db.close();
    const again = await openChannelDb({ backend: 'lmdb', path: dir });
    expect(again.migration.applied).toEqual([]);
    await again.close();
  });

  it('applies pending steps in order, in one transaction, before → migrate → after', async () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const steps: KvMigration[] = [
      { version: 1, description: 'base', migrate: () => {} },
      { version: 2, description: 'rename a', migrate: (tx) => (tx.put(enc('b'), tx.get(enc('a'))!), tx.delete(enc('a'))) },
      { version: 3, description: 'append to b', migrate: (tx) => tx.put(enc('b'), enc(new TextDecoder().decode(tx.get(enc('b'))!) + '!')) },
    ];
    const result = await applyMigration(
      steps,
      (tx) => tx.put(enc('a'), enc('value')),
      (tx) => ({ a: tx.get(enc('a')), b: new TextDecoder().decode(tx.get(enc('b'))!), version: readSchemaVersion(tx) }),
    );
    expect(result).toEqual({ a: undefined, b: 'value!', version: 3 });
  });

  it('leaves the old version when a step fails (nothing half-applied)', async () => {
    const engine = createMemoryEngine();
    const enc = (s: string) => new TextEncoder().encode(s);
    await migrateKv(engine, { migrations: [{ version: 1, description: 'base', migrate: () => {} }] });
    const failing: KvMigration[] = [
      { version: 1, description: 'base', migrate: () => {} },
      { version: 2, description: 'writes', migrate: (tx) => tx.put(enc('x'), enc('1')) },
      { version: 3, description: 'fails', migrate: () => { throw new Error('step 3 failed'); } },
    ];
    await expect(migrateKv(engine, { migrations: failing })).rejects.toThrow('step 3 failed');
    expect(await engine.read((tx) => [readSchemaVersion(tx), tx.get(enc('x'))])).toEqual([1, undefined]);
  });

  it('refuses a database written by a newer chand with DB_REVERSION', async () => {
    const engine = await openLmdbEngine({ path: join(dir, LMDB_FILE) });
    await engine.update((tx) => tx.put(key(META, new TextEncoder().encode('schema-version')), Uint8Array.of(0, 0, 0, 99)));
    await engine.close();
    await expect(openChannelDb({ backend: 'lmdb', path: dir })).rejects.toMatchObject({ code: 'DB_REVERSION' });
    // The refusal released the lock: the directory can be opened by a fixed chand later.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('dry run reports the plan and writes nothing', async () => {
    await expect(openChannelDb({ backend: 'lmdb', path: dir }, { dryRun: true })).rejects.toMatchObject({
      code: 'DRY_RUN',
      report: { from: 0, to: KV_SCHEMA_VERSION, dryRun: true },
    });
    const engine = await openLmdbEngine({ path: join(dir, LMDB_FILE) });
    expect(await engine.read(readSchemaVersion)).toBe(0);
    await engine.close();
  });

  it('does not create a database when asked only to inspect one', async () => {
    await expect(openChannelDb({ backend: 'lmdb', path: join(dir, 'missing') }, { create: false })).rejects.toMatchObject({ code: 'DB_NOT_INITIALIZED' });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});

describe('single-writer lock', () => {
  it('gives a second process DB_LOCKED while the first holds the database, and lets it in afterwards', async () => {
    const db = await openChannelDb({ backend: 'lmdb', path: dir });
    await db.coordinator.repairLinkNodes();
    const script = `import { openChannelDb } from ${JSON.stringify(runnable('src/channeldb/open.ts'))};
      try { const db = await openChannelDb({ backend: 'lmdb', path: process.argv[2] }); console.log('OPENED'); await db.close(); }
      catch (e) { console.log(e.code ?? e.message); }`;
    const scriptPath = join(dir, 'second.mjs');
    writeFileSync(scriptPath, script);
    const run = () => spawnSync(process.execPath, nodeArgs(scriptPath, [dir]), { cwd: repoRoot, encoding: 'utf8' });
    expect(run().stdout.trim()).toBe('DB_LOCKED');
    await db.close();
    expect(run().stdout.trim()).toBe('OPENED');
  });

  it('takes over the lock of a process that was killed', async () => {
    const script = `import { openChannelDb } from ${JSON.stringify(runnable('src/channeldb/open.ts'))};
      await openChannelDb({ backend: 'lmdb', path: process.argv[2] }); console.log('HOLDING'); setInterval(() => {}, 1000);`;
    const scriptPath = join(dir, 'holder.mjs');
    writeFileSync(scriptPath, script);
    const child = spawn(process.execPath, nodeArgs(scriptPath, [dir]), { cwd: repoRoot });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('HOLDING') && resolve());
      child.on('exit', () => reject(new Error('holder exited early')));
    });
    await expect(openChannelDb({ backend: 'lmdb', path: dir })).rejects.toMatchObject({ code: 'DB_LOCKED' });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const db = await openChannelDb({ backend: 'lmdb', path: dir });
    expect(await db.schemaVersion()).toBe(KV_SCHEMA_VERSION);
    await db.close();
  });
});
