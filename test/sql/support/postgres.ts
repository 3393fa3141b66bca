/**
 * PostgreSQL for a test file: a server (CI's 127.0.0.1:5432, or a throwaway cluster) and a
 * fresh database dropped after the file. Undefined when PostgreSQL is excluded by
 * CHAND_BACKENDS or unavailable: then it has registered a skipped test naming the reason (a
 * failing one if CHAND_REQUIRE_BACKENDS requires postgres), and the caller registers nothing
 * for PostgreSQL.
 */
import { afterAll } from 'vitest';
import { createThrowawayDatabase, findPostgres, type ThrowawayDatabase } from '../../../tools/postgres-server.js';
import { exclusionReason, registerBackendUnavailable } from '../../../src/testing/index.js';

export async function postgresForTests(what: string): Promise<ThrowawayDatabase | undefined> {
  const excluded = exclusionReason('postgres');
  if (excluded !== undefined) {
    registerBackendUnavailable('postgres', what, excluded);
    return undefined;
  }
  const lookup = await findPostgres();
  if (lookup.server === undefined) {
    registerBackendUnavailable('postgres', what, `no server reachable and no cluster could be started: ${lookup.reasons.join('; ')}`);
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
