// Crash safety on LMDB (durable commits): see crash-harness.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashSuite } from './crash-harness.js';

crashSuite('lmdb', async () => {
  const path = await mkdtemp(join(tmpdir(), 'chand-crash-lmdb-'));
  return { config: { backend: 'lmdb', path }, cleanup: () => rm(path, { recursive: true, force: true }) };
});
