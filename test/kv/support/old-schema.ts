/**
 * Turns a KV database written by today's stores into the image an older schema left, so a
 * migration can be tested before → migrate → after with realistic data: below schema 5 there
 * are no payment-store buckets (invoices, payments); below schema 4 the
 * revocation log is one record per state (revocation-log -> <chanPoint> <height>); below
 * schema 3 the values carry no checksum; below schema 2 there is no channel key-index bucket
 * or counter.
 */
import { revocationLogRecord } from '../../../src/chanstate/records.js';
import { decodeBlock } from '../../../src/chanstate/revocation-blocks.js';
import type { KvEngine } from '../../../src/kv/engine.js';
import { CHECKSUM_BYTES, checksummedTx } from '../../../src/kv/checksummed-engine.js';
import {
  CHANNEL_KEY_INDEXES,
  INVOICE_ADD_INDEX,
  INVOICE_SETTLE_INDEX,
  INVOICES,
  KEY_INDEX_COUNTER,
  META,
  PAYMENT_INDEX,
  PAYMENTS,
  PAYMENTS_IN_FLIGHT, REVOCATION_BLOCKS, REVOCATION_LOG, REVOCATION_OPEN_BLOCK, byteKey, key, prefixRange, u64Key } from '../../../src/kv/keys.js';

const VERSION_KEY = key(META, new TextEncoder().encode('schema-version'));
/** The buckets migration 5 introduced. */
const PAYMENT_BUCKETS = [INVOICES, INVOICE_ADD_INDEX, INVOICE_SETTLE_INDEX, PAYMENTS, PAYMENT_INDEX, PAYMENTS_IN_FLIGHT];

export async function downgradeKv(engine: KvEngine, version: 1 | 2 | 3 | 4): Promise<void> {
  // Schema 4: no payment-store buckets (schema-4 code wrote none).
  await engine.update((tx) => {
    for (const bucket of PAYMENT_BUCKETS) for (const [k] of [...tx.range(prefixRange(byteKey(bucket)))]) tx.delete(k.slice());
  });
  if (version === 4) return stamp(engine, 4);
  // Schema 3: the blocks back into one record per state (values still checksummed).
  await engine.update((raw) => {
    const tx = checksummedTx(raw);
    const blocks = [...tx.range(prefixRange(byteKey(REVOCATION_BLOCKS))), ...tx.range(prefixRange(byteKey(REVOCATION_OPEN_BLOCK)))].map(([k, v]) => [k.slice(), v.slice()] as const);
    for (const [k, v] of blocks) {
      const chanPoint = k.subarray(1, 37);
      const keyHeight = k[0] === REVOCATION_BLOCKS ? Number(new DataView(k.buffer, k.byteOffset + 37, 8).getBigUint64(0)) : undefined;
      for (const { commitHeight, htlcs, ...rest } of decodeBlock(v, keyHeight)) {
        tx.put(key(REVOCATION_LOG, chanPoint, u64Key(commitHeight)), revocationLogRecord.encode(htlcs.length === 0 ? rest : { ...rest, htlcs }));
      }
      tx.delete(k);
    }
  });
  if (version === 3) return stamp(engine, 3);
  await engine.update((tx) => {
    const all = [...tx.range({})].map(([k, v]) => [k.slice(), v.slice()] as const);
    for (const [k, v] of all) {
      if (Buffer.compare(k, VERSION_KEY) === 0) continue;
      tx.put(k, v.subarray(0, v.length - CHECKSUM_BYTES));
    }
    if (version < 2) {
      for (const [k] of [...tx.range(prefixRange(byteKey(CHANNEL_KEY_INDEXES)))]) tx.delete(k.slice());
      tx.delete(KEY_INDEX_COUNTER);
    }
  });
  await stamp(engine, version);
}

async function stamp(engine: KvEngine, version: number): Promise<void> {
  await engine.update((tx) => {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, version);
    tx.put(VERSION_KEY, bytes);
  });
}
