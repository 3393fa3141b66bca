/**
 * Storage layout of the devnet ledger on a KvEngine: key prefixes and record codecs.
 *
 * Every key starts with a one-byte prefix. Txids and block hashes in keys are 32 bytes in
 * display order (the hex the API shows, decoded), so a key reads like the URL that asks for
 * it. Integers are big-endian, so heights and sequence numbers sort numerically.
 *
 *   META          0x00 -> name (ascii)                       -> see META_* names
 *   BLOCK         0x01 -> height u32                         -> BlockRecord
 *   BLOCK_HEIGHT  0x02 -> block hash                         -> height u32
 *   TX            0x03 -> txid                               -> TxRecord (confirmed and mempool)
 *   UTXO          0x04 -> txid -> index u32                  -> UtxoRecord (confirmed, unspent by blocks)
 *   SCRIPT_UTXO   0x05 -> sha256(script) -> txid -> index u32 -> empty (index of UTXO by script)
 *   SPENT         0x06 -> txid -> index u32                  -> spender txid || vin u32 (spent in a block)
 *   MEMPOOL       0x07 -> sequence u64                       -> txid (arrival order: parents first)
 *   MEMPOOL_SPENT 0x08 -> txid -> index u32                  -> spender txid || vin u32 (spent in the mempool)
 *
 * Records start with a version byte (currently 1); a reader meeting another version fails
 * with DecodeError. The layout as a whole has a version under META 'layout'.
 */
import type { OutPoint } from '../../bitcoin/transaction.js';
import { ByteReader, ByteWriter, bytesToHex, concatBytes, hexToBytes } from '../../codec/bytes.js';
import { DecodeError } from '../../errors.js';

/** Key prefixes; the nesting under each is in the file comment. */
export const PREFIX_META = 0x00;
export const PREFIX_BLOCK = 0x01;
export const PREFIX_BLOCK_HEIGHT = 0x02;
export const PREFIX_TX = 0x03;
export const PREFIX_UTXO = 0x04;
export const PREFIX_SCRIPT_UTXO = 0x05;
export const PREFIX_SPENT = 0x06;
export const PREFIX_MEMPOOL = 0x07;
export const PREFIX_MEMPOOL_SPENT = 0x08;

/** META names: 'layout' -> u8 layout version; 'tip' -> height u32 || hash; 'faucet-key' -> 32-byte secret; 'next-seq' -> u64. */
export const META_LAYOUT = 'layout';
export const META_TIP = 'tip';
export const META_FAUCET_KEY = 'faucet-key';
export const META_NEXT_SEQ = 'next-seq';

/**
 * Version of the key layout this code reads and writes. 1: the chain started at a genesis
 * block of the devnet's own; 2: the same keys and records, with the chain starting at
 * Bitcoin's regtest genesis (a layout-1 store is refused with DEVNET_GENESIS_MISMATCH).
 */
export const LAYOUT_VERSION = 2;
/** TxRecord height of a transaction still in the mempool. */
export const MEMPOOL_HEIGHT = 0xffff_ffff;

const RECORD_VERSION = 1;

const u32 = (n: number): Uint8Array => new ByteWriter(4).u32(n).finish();
const u64 = (n: bigint): Uint8Array => new ByteWriter(8).u64(n).finish();

/** Key of a META entry. */
export const metaKey = (name: string): Uint8Array => concatBytes(Uint8Array.of(PREFIX_META), new TextEncoder().encode(name));
/** Key of the block at `height`. */
export const blockKey = (height: number): Uint8Array => concatBytes(Uint8Array.of(PREFIX_BLOCK), u32(height));
/** Key of the height index entry of a block hash. */
export const blockHeightKey = (hash: string): Uint8Array => concatBytes(Uint8Array.of(PREFIX_BLOCK_HEIGHT), hexToBytes(hash));
/** Key of a transaction record. */
export const txKey = (txid: string): Uint8Array => concatBytes(Uint8Array.of(PREFIX_TX), hexToBytes(txid));
/** Key of an outpoint under one of the outpoint-keyed prefixes (UTXO, SPENT, MEMPOOL_SPENT). */
export const outpointKey = (prefix: number, outpoint: OutPoint): Uint8Array =>
  concatBytes(Uint8Array.of(prefix), hexToBytes(outpoint.txid), u32(outpoint.index));
/** Key of a script-index entry; with no outpoint, the prefix of all entries of that script hash. */
export const scriptUtxoKey = (scriptHash: Uint8Array, outpoint?: OutPoint): Uint8Array =>
  outpoint === undefined
    ? concatBytes(Uint8Array.of(PREFIX_SCRIPT_UTXO), scriptHash)
    : concatBytes(Uint8Array.of(PREFIX_SCRIPT_UTXO), scriptHash, hexToBytes(outpoint.txid), u32(outpoint.index));
/** Key of a mempool entry. */
export const mempoolKey = (seq: bigint): Uint8Array => concatBytes(Uint8Array.of(PREFIX_MEMPOOL), u64(seq));

/** The exclusive end of a range covering every key that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError('expected a prefix with a byte below 0xff, got all 0xff');
}

/** The outpoint at the end of an outpoint-keyed key (UTXO, SPENT, MEMPOOL_SPENT, SCRIPT_UTXO). */
export function outpointFromKey(key: Uint8Array): OutPoint {
  const reader = new ByteReader(key, key.length - 36);
  return { txid: bytesToHex(reader.bytes(32)), index: reader.u32() };
}

function readVersion(reader: ByteReader, what: string): void {
  const version = reader.u8();
  if (version !== RECORD_VERSION) throw new DecodeError(`${what} record has version ${version}, this chand reads ${RECORD_VERSION}`);
}

/** A stored block: its hash, header and txids (coinbase first). */
export interface BlockRecord {
  readonly hash: string;
  readonly header: Uint8Array;
  readonly txids: readonly string[];
}

/** Serializes a BlockRecord. */
export function encodeBlockRecord(record: BlockRecord): Uint8Array {
  const w = new ByteWriter(120 + 32 * record.txids.length).u8(RECORD_VERSION).bytes(hexToBytes(record.hash)).bytes(record.header);
  w.u32(record.txids.length);
  for (const txid of record.txids) w.bytes(hexToBytes(txid));
  return w.finish();
}

/** Parses a BlockRecord; DecodeError if malformed or of another version. */
export function decodeBlockRecord(bytes: Uint8Array): BlockRecord {
  const r = new ByteReader(bytes);
  readVersion(r, 'block');
  const hash = bytesToHex(r.bytes(32));
  const header = r.bytes(80).slice();
  const count = r.u32();
  const txids: string[] = [];
  for (let i = 0; i < count; i++) txids.push(bytesToHex(r.bytes(32)));
  r.expectDone('block record');
  return { hash, header, txids };
}

/** A stored transaction: where it is, what it spent, and its bytes. */
export interface TxRecord {
  /** Block height, or MEMPOOL_HEIGHT. */
  readonly height: number;
  /** Mempool arrival sequence (kept after mining; orders nothing then). */
  readonly seq: bigint;
  readonly fee: bigint;
  /** The outputs its inputs spend, in input order; empty for a coinbase. */
  readonly prevouts: readonly { readonly value: bigint; readonly script: Uint8Array }[];
  readonly raw: Uint8Array;
}

/** Serializes a TxRecord. */
export function encodeTxRecord(record: TxRecord): Uint8Array {
  const w = new ByteWriter(64 + record.raw.length).u8(RECORD_VERSION).u32(record.height).u64(record.seq).u64(record.fee);
  w.u32(record.prevouts.length);
  for (const prevout of record.prevouts) w.u64(prevout.value).varBytes(prevout.script);
  return w.varBytes(record.raw).finish();
}

/** Parses a TxRecord; DecodeError if malformed or of another version. */
export function decodeTxRecord(bytes: Uint8Array): TxRecord {
  const r = new ByteReader(bytes);
  readVersion(r, 'transaction');
  const height = r.u32();
  const seq = r.u64();
  const fee = r.u64();
  const count = r.u32();
  const prevouts: { value: bigint; script: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) prevouts.push({ value: r.u64(), script: r.varBytes().slice() });
  const raw = r.varBytes().slice();
  r.expectDone('transaction record');
  return { height, seq, fee, prevouts, raw };
}

/**
 * The stored value of a confirmed unspent output; its outpoint is the UTXO key. A storage
 * encoding, not a domain type: the ledger turns it into a `Utxo` or a `Coin` when it reads.
 */
export interface UtxoRecord {
  readonly value: bigint;
  readonly height: number;
  readonly script: Uint8Array;
}

/** Serializes a UtxoRecord. */
export function encodeUtxoRecord(record: UtxoRecord): Uint8Array {
  return new ByteWriter(16 + record.script.length).u8(RECORD_VERSION).u64(record.value).u32(record.height).varBytes(record.script).finish();
}

/** Parses a UtxoRecord; DecodeError if malformed or of another version. */
export function decodeUtxoRecord(bytes: Uint8Array): UtxoRecord {
  const r = new ByteReader(bytes);
  readVersion(r, 'utxo');
  const record = { value: r.u64(), height: r.u32(), script: r.varBytes().slice() };
  r.expectDone('utxo record');
  return record;
}

/** Who spends an outpoint: the spending txid and input index. */
export interface SpenderRecord {
  readonly txid: string;
  readonly vin: number;
}

/** Serializes a SpenderRecord: txid (32) || vin u32. */
export function encodeSpender(record: SpenderRecord): Uint8Array {
  return new ByteWriter(36).bytes(hexToBytes(record.txid)).u32(record.vin).finish();
}

/** Parses a SpenderRecord; DecodeError if malformed. */
export function decodeSpender(bytes: Uint8Array): SpenderRecord {
  const r = new ByteReader(bytes);
  const record = { txid: bytesToHex(r.bytes(32)), vin: r.u32() };
  r.expectDone('spender record');
  return record;
}

/** Serializes the tip: height u32 || hash (32). */
export function encodeTip(height: number, hash: string): Uint8Array {
  return new ByteWriter(36).u32(height).bytes(hexToBytes(hash)).finish();
}

/** Parses the tip; DecodeError if malformed. */
export function decodeTip(bytes: Uint8Array): { height: number; hash: string } {
  const r = new ByteReader(bytes);
  const tip = { height: r.u32(), hash: bytesToHex(r.bytes(32)) };
  r.expectDone('tip record');
  return tip;
}
