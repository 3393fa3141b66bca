/**
 * Devnet blocks: real 80-byte Bitcoin headers, merkle roots, segwit coinbases with a witness
 * commitment (BIP141), and regtest proof of work (target bits 0x207fffff: about every second
 * nonce qualifies, so grinding costs nothing).
 *
 * The devnet's genesis block is Bitcoin's regtest genesis block, byte for byte (the one
 * `bitcoind -regtest` starts from), so the devnet's chain hash (`devnetGenesis().hash`, the
 * value Lightning messages carry as `chain_hash`) is regtest's, and other Lightning
 * implementations configured for regtest accept it.
 */
import { OP, compileScript, hash256, scriptNum } from '../../bitcoin/script.js';
import { decodeTx, encodeTx, txWeight, txidFromInternal, txidToInternal } from '../../bitcoin/transaction.js';
import { computeTxid } from '../../bitcoin/txid.js';
import { concatBytes, hexToBytes } from '../../codec/bytes.js';

/** Size of a serialized block header. */
export const HEADER_SIZE = 80;
/** Compact target of regtest; every devnet block uses it. */
export const REGTEST_BITS = 0x207fffff;
/** Header version: BIP9 top bits, no deployments signalled. */
export const BLOCK_VERSION = 0x2000_0000;
/** Blocks between subsidy halvings on regtest. */
export const HALVING_INTERVAL = 150;
/** Subsidy of the first blocks: 50 BTC. */
export const INITIAL_SUBSIDY = 5_000_000_000n;
/** Hash (display order) of Bitcoin's regtest genesis block: the devnet's chain hash. */
export const REGTEST_GENESIS_HASH = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';
/** Header time of the regtest genesis block (2011-02-02T23:16:42Z). */
export const REGTEST_GENESIS_TIME = 1_296_688_602;
/** Header nonce of the regtest genesis block. */
export const REGTEST_GENESIS_NONCE = 2;
/** The highest target (difficulty 1), bits 0x1d00ffff: what `difficulty` is measured against. */
const DIFFICULTY_1_TARGET = 0xffffn << 208n;

const WITNESS_COMMITMENT_TAG = Uint8Array.of(0xaa, 0x21, 0xa9, 0xed);
const ZERO32 = new Uint8Array(32);
/** The all-zero hash in display order: the genesis block's parent, the coinbase's outpoint. */
const NULL_HASH = '00'.repeat(32);

/** The fields of a block header. Hashes are display-order hex. */
export interface BlockHeader {
  readonly version: number;
  readonly prevHash: string;
  readonly merkleRoot: string;
  /** UNIX seconds. */
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
}

/** Serializes a header to its 80 bytes. */
export function encodeHeader(header: BlockHeader): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setInt32(0, header.version, true);
  out.set(txidToInternal(header.prevHash), 4);
  out.set(txidToInternal(header.merkleRoot), 36);
  view.setUint32(68, header.time, true);
  view.setUint32(72, header.bits, true);
  view.setUint32(76, header.nonce, true);
  return out;
}

/** Parses 80 header bytes. RangeError on another length. */
export function decodeHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length !== HEADER_SIZE) throw new RangeError(`expected ${HEADER_SIZE} header bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    version: view.getInt32(0, true),
    prevHash: txidFromInternal(bytes.subarray(4, 36)),
    merkleRoot: txidFromInternal(bytes.subarray(36, 68)),
    time: view.getUint32(68, true),
    bits: view.getUint32(72, true),
    nonce: view.getUint32(76, true),
  };
}

/** The block hash (display-order hex) of a serialized header. */
export function headerHash(header: Uint8Array): string {
  return txidFromInternal(hash256(header));
}

/** The merkle root (display-order hex) of txids given in display order; odd levels repeat their last hash. */
export function merkleRoot(txids: readonly string[]): string {
  if (txids.length === 0) throw new RangeError('expected at least one txid, got none');
  let level = txids.map(txidToInternal);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(hash256(concatBytes(level[i]!, level[i + 1] ?? level[i]!)));
    }
    level = next;
  }
  return txidFromInternal(level[0]!);
}

/** The 256-bit target a compact `bits` value encodes. */
export function targetFromBits(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007f_ffff);
  return exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
}

/** True if the header's hash meets the target of its `bits`. */
export function meetsTarget(header: Uint8Array): boolean {
  const bits = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(72, true);
  return BigInt(`0x${headerHash(header)}`) <= targetFromBits(bits);
}

/** Finds a nonce that meets the header's target and returns the header with it, plus its hash. */
export function grindHeader(header: Omit<BlockHeader, 'nonce'>): { header: Uint8Array; hash: string } {
  for (let nonce = 0; nonce <= 0xffff_ffff; nonce++) {
    const bytes = encodeHeader({ ...header, nonce });
    if (meetsTarget(bytes)) return { header: bytes, hash: headerHash(bytes) };
  }
  throw new RangeError('no nonce meets the target; use the regtest target');
}

/**
 * The "difficulty" of a compact target, as Bitcoin Core's `getblock` and Esplora report it:
 * the difficulty-1 target divided by this one (regtest's 0x207fffff gives 4.66e-10).
 */
export function blockDifficulty(bits: number): number {
  return Number(DIFFICULTY_1_TARGET) / Number(targetFromBits(bits));
}

/** Serialized size and weight (BIP141) of a block with these transactions, coinbase first. */
export function blockSizeAndWeight(transactions: readonly Uint8Array[]): { size: number; weight: number } {
  const countBytes = compactSizeLength(transactions.length);
  let size = HEADER_SIZE + countBytes;
  // Header and transaction count carry no witness: four weight units per byte.
  let weight = 4 * size;
  for (const raw of transactions) {
    size += raw.length;
    weight += txWeight(decodeTx(raw));
  }
  return { size, weight };
}

function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffff_ffff ? 5 : 9;
}

/** Block subsidy at `height` under regtest's halving schedule. */
export function blockSubsidy(height: number): bigint {
  const halvings = Math.floor(height / HALVING_INTERVAL);
  return halvings >= 64 ? 0n : INITIAL_SUBSIDY >> BigInt(halvings);
}

/**
 * The coinbase of block `height`: pays `value` to `script` and, when `wtxids` (display-order
 * wtxids of the block's other transactions) is given, commits to their witnesses (BIP141).
 */
export function buildCoinbase(height: number, script: Uint8Array, value: bigint, wtxids?: readonly string[]): Uint8Array {
  // BIP34: the scriptSig starts with the height; the tag pads it past the 2-byte minimum.
  const scriptSig = compileScript([scriptNum(height), new TextEncoder().encode('chand devnet')]);
  const outputs = [{ value, script }];
  if (wtxids !== undefined) {
    // The coinbase's own wtxid counts as zero in the witness merkle tree.
    const witnessRoot = txidToInternal(merkleRoot([NULL_HASH, ...wtxids]));
    const commitment = hash256(concatBytes(witnessRoot, ZERO32));
    outputs.push({ value: 0n, script: compileScript([OP.OP_RETURN, concatBytes(WITNESS_COMMITMENT_TAG, commitment)]) });
  }
  return encodeTx({
    version: 2,
    // The witness reserved value (32 zero bytes) makes it a segwit serialization when it commits.
    inputs: [{ txid: NULL_HASH, index: 0xffff_ffff, scriptSig, sequence: 0xffff_ffff, witness: wtxids !== undefined ? [ZERO32] : [] }],
    outputs,
    lockTime: 0,
  });
}

/** A block ready to store: header bytes, hash and transactions (coinbase first). */
export interface Block {
  readonly height: number;
  readonly hash: string;
  readonly header: Uint8Array;
  /** Raw transactions, coinbase first. */
  readonly transactions: readonly Uint8Array[];
  readonly txids: readonly string[];
}

/** Assembles and grinds a block on top of `prevHash`. `transactions` exclude the coinbase. */
export function assembleBlock(options: {
  readonly height: number;
  readonly prevHash: string;
  readonly time: number;
  readonly coinbaseScript: Uint8Array;
  readonly coinbaseValue: bigint;
  readonly transactions: readonly { readonly raw: Uint8Array; readonly txid: string; readonly wtxid: string }[];
}): Block {
  const coinbase = buildCoinbase(
    options.height,
    options.coinbaseScript,
    options.coinbaseValue,
    options.transactions.map((tx) => tx.wtxid),
  );
  const txids = [computeTxid(coinbase), ...options.transactions.map((tx) => tx.txid)];
  const { header, hash } = grindHeader({
    version: BLOCK_VERSION,
    prevHash: options.prevHash,
    merkleRoot: merkleRoot(txids),
    time: options.time,
    bits: REGTEST_BITS,
  });
  return { height: options.height, hash, header, transactions: [coinbase, ...options.transactions.map((tx) => tx.raw)], txids };
}

let genesis: Block | undefined;

/** The headline the genesis coinbase quotes (The Times, 3 January 2009). */
const GENESIS_HEADLINE = 'The Times 03/Jan/2009 Chancellor on brink of second bailout for banks';
/** The uncompressed public key the genesis output pays (P2PK); that output can never be spent. */
const GENESIS_PUBKEY =
  '04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f';

/**
 * The genesis coinbase shared by mainnet, testnet and regtest: version 1, one input whose
 * scriptSig pushes the mainnet bits (0x1d00ffff), the number 4 and the headline, one 50 BTC
 * output paying the genesis key. Bitcoin never added its output to the UTXO set.
 */
export function genesisCoinbase(): Uint8Array {
  const scriptSig = compileScript([Uint8Array.of(0xff, 0xff, 0x00, 0x1d), Uint8Array.of(0x04), new TextEncoder().encode(GENESIS_HEADLINE)]);
  return encodeTx({
    version: 1,
    inputs: [{ txid: NULL_HASH, index: 0xffff_ffff, scriptSig, sequence: 0xffff_ffff, witness: [] }],
    outputs: [{ value: INITIAL_SUBSIDY, script: compileScript([hexToBytes(GENESIS_PUBKEY), OP.OP_CHECKSIG]) }],
    lockTime: 0,
  });
}

/**
 * The devnet genesis block: Bitcoin's regtest genesis (hash REGTEST_GENESIS_HASH). Its header
 * is the regtest one (version 1, time 1296688602, bits 0x207fffff, nonce 2); it is not mined.
 */
export function devnetGenesis(): Block {
  if (genesis === undefined) {
    const coinbase = genesisCoinbase();
    const txid = computeTxid(coinbase);
    const header = encodeHeader({
      version: 1,
      prevHash: NULL_HASH,
      merkleRoot: merkleRoot([txid]),
      time: REGTEST_GENESIS_TIME,
      bits: REGTEST_BITS,
      nonce: REGTEST_GENESIS_NONCE,
    });
    const hash = headerHash(header);
    // The constants above are consensus data: a different hash is a bug here, not a state to serve.
    if (hash !== REGTEST_GENESIS_HASH) throw new Error(`devnet genesis hashes to ${hash}, expected ${REGTEST_GENESIS_HASH}`);
    genesis = { height: 0, hash, header, transactions: [coinbase], txids: [txid] };
  }
  return genesis;
}
