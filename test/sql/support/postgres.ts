/**
 * PostgreSQL for a test file: a server (CI's 127.0.0.1:5432, or a throwaway cluster) and a
 * fresh database dropped after the file. Undefined, with a loud warning, when PostgreSQL is
 * excluded by CHAND_BACKENDS or unavailable; the caller registers its tests as skipped.
 */
import { afterAll } from 'vitest';
import { createThrowawayDatabase, findPostgres, type ThrowawayDatabase } from '../../../src/sql/postgres-server.js';
import { backendSelected } from '../../../src/testing/index.js';

export async function postgresForTests(what: string): Promise<ThrowawayDatabase | undefined> {
  if (!backendSelected('postgres')) {
    console.warn(`\n!!! CHAND_BACKENDS=${process.env['CHAND_BACKENDS']} excludes postgres: ${what} on PostgreSQL is SKIPPED !!!\n`);
    return undefined;
  }
  const lookup = await findPostgres();
  if (lookup.server === undefined) {
    console.warn(`\n!!! PostgreSQL SKIPPED (${what}): no server reachable and no cluster could be started: ${lookup.reasons.join('; ')} !!!\n`);
    return undefined;
  }
  const server = lookup.server;
  const database = await createThrowawayDatabase(server);
  afterAll(async () => {
    await database.drop();
    await server.stop();
  });
  return database;
}
