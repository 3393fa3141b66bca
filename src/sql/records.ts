/**
 * Record schemas of the nested opaque values the SQL backends keep in byte columns, where
 * the shared channel-state records (chanstate/records.ts) have no list of their own.
 *
 * They reuse the shared element records, so one codec per value shape exists. Like every
 * persisted record they are listed in the schema fingerprint (schema.lock.json).
 */
import { circuitKeyRecord, htlcEntryRecord } from '../chanstate/records.js';
import type { CircuitKey, HtlcEntry } from '../chanstate/types.js';
import { field, RecordSchema } from '../codec/record.js';

/** revocation_log.htlcs: the non-dust HTLCs of a revoked remote commitment. */
export const htlcEntryListRecord = new RecordSchema<{ htlcs: readonly HtlcEntry[] }>('HtlcEntryList', [
  { type: 0, name: 'htlcs', codec: field.list(field.record(htlcEntryRecord)) },
]);

/** commit_diffs.opened_circuit_keys / closed_circuit_keys. */
export const circuitKeyListRecord = new RecordSchema<{ keys: readonly CircuitKey[] }>('CircuitKeyList', [
  { type: 0, name: 'keys', codec: field.list(field.record(circuitKeyRecord)) },
]);

/** Every SQL-only record schema, for the fingerprint. */
export const SQL_RECORDS: readonly RecordSchema<never>[] = [htlcEntryListRecord, circuitKeyListRecord] as unknown as RecordSchema<never>[];
