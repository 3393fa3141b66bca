/**
 * A devnet data directory as an older chand left it: layout version 1, whose chain starts at
 * the devnet's own genesis block (50 BTC to an OP_RETURN, time 2025-01-01, ground on the
 * regtest target) rather than at Bitcoin's regtest genesis. Written key by key with the
 * ledger's own layout codecs, the way that chand's ledger wrote it, plus one block on top
 * paying a coinbase to `payTo`, so that the store has a tip above genesis and a UTXO.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { join } from 'node:path';
import { OP, compileScript } from '../../../src/bitcoin/script.js';
import { computeTxid } from '../../../src/bitcoin/txid.js';
import {
  INITIAL_SUBSIDY,
  assembleBlock,
  buildCoinbase,
  grindHeader,
  merkleRoot,
  REGTEST_BITS,
  type Block,
} from '../../../src/chain/devnet/block.js';
import {
  blockHeightKey,
  blockKey,
  encodeBlockRecord,
  encodeTip,
  encodeTxRecord,
  encodeUtxoRecord,
  META_FAUCET_KEY,
  META_LAYOUT,
  META_NEXT_SEQ,
  META_TIP,
  metaKey,
  outpointKey,
  PREFIX_UTXO,
  scriptUtxoKey,
  txKey,
} from '../../../src/chain/devnet/ledger-layout.js';
import type { KvWriteTx } from '../../../src/kv/engine.js';
import { openLmdbEngine } from '../../../src/kv/lmdb-engine.js';

/** Header time of the old devnet genesis (2025-01-01T00:00:00Z). */
const OLD_GENESIS_TIME = 1_735_689_600;

/** The genesis block of the older devnets. */
export function oldDevnetGenesis(): Block {
  const coinbase = buildCoinbase(0, compileScript([OP.OP_RETURN, new TextEncoder().encode('chand devnet genesis')]), INITIAL_SUBSIDY);
  const txid = computeTxid(coinbase);
  const { header, hash } = grindHeader({
    version: 1,
    prevHash: '00'.repeat(32),
    merkleRoot: merkleRoot([txid]),
    time: OLD_GENESIS_TIME,
    bits: REGTEST_BITS,
  });
  return { height: 0, hash, header, transactions: [coinbase], txids: [txid] };
}

function putBlock(tx: KvWriteTx, block: Block): void {
  tx.put(blockKey(block.height), encodeBlockRecord({ hash: block.hash, header: block.header, txids: block.txids }));
  const height = new Uint8Array(4);
  new DataView(height.buffer).setUint32(0, block.height);
  tx.put(blockHeightKey(block.hash), height);
  const coinbase = block.transactions[0]!;
  tx.put(txKey(block.txids[0]!), encodeTxRecord({ height: block.height, seq: 0n, fee: 0n, prevouts: [], raw: coinbase }));
  tx.put(metaKey(META_TIP), encodeTip(block.height, block.hash));
}

/** What `writeOldDevnetStore` wrote. */
export interface OldDevnetStore {
  readonly genesisHash: string;
  readonly tip: { readonly height: number; readonly hash: string };
}

/** Writes a layout-1 devnet chain (old genesis + one block paying `payTo`) into `<datadir>/chain`. */
export async function writeOldDevnetStore(datadir: string, payTo: Uint8Array): Promise<OldDevnetStore> {
  const genesis = oldDevnetGenesis();
  const block = assembleBlock({
    height: 1,
    prevHash: genesis.hash,
    time: OLD_GENESIS_TIME + 600,
    coinbaseScript: payTo,
    coinbaseValue: INITIAL_SUBSIDY,
    transactions: [],
  });
  const engine = await openLmdbEngine({ path: join(datadir, 'chain') });
  try {
    await engine.update((tx) => {
      tx.put(metaKey(META_LAYOUT), Uint8Array.of(1));
      tx.put(metaKey(META_FAUCET_KEY), sha256(new TextEncoder().encode('old devnet faucet')));
      tx.put(metaKey(META_NEXT_SEQ), new Uint8Array(8));
      putBlock(tx, genesis);
      putBlock(tx, block);
      const outpoint = { txid: block.txids[0]!, index: 0 };
      tx.put(outpointKey(PREFIX_UTXO, outpoint), encodeUtxoRecord({ value: INITIAL_SUBSIDY, height: 1, script: payTo }));
      tx.put(scriptUtxoKey(sha256(payTo), outpoint), new Uint8Array(0));
    });
  } finally {
    await engine.close();
  }
  return { genesisHash: genesis.hash, tip: { height: 1, hash: block.hash } };
}
