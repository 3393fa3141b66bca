// Crash safety on SQLite (WAL, synchronous=FULL), the default backend: see crash-harness.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashSuite } from './crash-harness.js';

crashSuite('sqlite', async () => {
  const path = await mkdtemp(join(tmpdir(), 'chand-crash-sqlite-'));
  return { config: { backend: 'sqlite', path }, cleanup: () => rm(path, { recursive: true, force: true }) };
});
