/**
 * Turns a KV database written by today's stores into the image an older schema left, so a
 * migration can be tested before → migrate → after with realistic data: below schema 3 the
 * values carry no checksum; below schema 2 there is no channel key-index bucket or counter.
 */
import type { KvEngine } from '../../../src/kv/engine.js';
import { CHECKSUM_BYTES } from '../../../src/kv/checksummed-engine.js';
import { CHANNEL_KEY_INDEXES, KEY_INDEX_COUNTER, META, byteKey, key, prefixRange } from '../../../src/kv/keys.js';

const VERSION_KEY = key(META, new TextEncoder().encode('schema-version'));

export async function downgradeKv(engine: KvEngine, version: 1 | 2): Promise<void> {
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
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, version);
    tx.put(VERSION_KEY, bytes);
  });
}
