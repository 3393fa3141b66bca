/**
 * The devnet ledger: a regtest-like chain kept on a KvEngine, implementing `Chain` in-process.
 * `DevnetServer` serves it over the Esplora HTTP API.
 *
 * Overview: blocks, the confirmed UTXO set (indexed by script), spends, transactions and the
 * mempool are all stored (layout in ledger-layout.ts); nothing is cached in memory, so a
 * restart on the same engine resumes exactly where it stopped. Every change is one engine
 * transaction: accepting a transaction (validate against the stored UTXO set and mempool,
 * then record it), mining (move the whole mempool into new blocks, coinbase first), and the
 * faucet (build, sign and accept a payment from the devnet's own key). Concurrent requests
 * are therefore serialized by the engine, and a failed validation leaves nothing behind.
 *
 * First open: writes Bitcoin's regtest genesis block (its 50 BTC output stays out of the
 * UTXO set, as on Bitcoin), creates the faucet's secret key (kept in the store, never
 * returned or logged) and mines `initialBlocks` blocks to it, so faucet payments spend real
 * coinbase outputs. Later opens check that the stored chain starts at that genesis: a store
 * created by an older chand, whose devnet had a genesis of its own, is refused with
 * DEVNET_GENESIS_MISMATCH and left untouched.
 *
 * Simplifications, deliberate for a test chain: coinbase outputs are spendable at once (no
 * 100-block maturity); there is no minimum relay fee, dust or package limit; blocks take the
 * whole mempool; the chain never reorganizes.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { publicKeyFromPrivate } from '../../bitcoin/ecdsa.js';
import { classifyOutputScript, p2wpkhScript } from '../../bitcoin/script.js';
import type { Coin, OutPoint, TxInput } from '../../bitcoin/transaction.js';
import type { KvEngine, KvReadTx, KvWriteTx } from '../../kv/engine.js';
import { bytesToHex, equalBytes, hexToBytes } from '../../codec/bytes.js';
import { ChandError, ErrorCode } from '../../errors.js';
import type {
  Chain,
  ChainTransaction,
  ChainTip,
  FeeEstimates,
  OutspendStatus,
  TxStatus,
  Utxo,
} from '../chain.js';
import { assertHash, assertU32 } from '../chain-args.js';
import { TxRejectedError } from '../chain-errors.js';
import { fundTransaction } from '../coin-selection.js';
import { addressToScript, REGTEST, scriptToAddress, type BitcoinNetwork } from '../network.js';
import { assembleBlock, blockSizeAndWeight, blockSubsidy, decodeHeader, devnetGenesis, type Block } from './block.js';
import {
  blockHeightKey,
  blockKey,
  decodeBlockRecord,
  decodeSpender,
  decodeTip,
  decodeTxRecord,
  decodeUtxoRecord,
  encodeBlockRecord,
  encodeSpender,
  encodeTip,
  encodeTxRecord,
  encodeUtxoRecord,
  LAYOUT_VERSION,
  mempoolKey,
  MEMPOOL_HEIGHT,
  META_FAUCET_KEY,
  META_LAYOUT,
  META_NEXT_SEQ,
  META_TIP,
  metaKey,
  outpointFromKey,
  outpointKey,
  prefixEnd,
  PREFIX_MEMPOOL,
  PREFIX_MEMPOOL_SPENT,
  PREFIX_SPENT,
  PREFIX_UTXO,
  scriptUtxoKey,
  txKey,
  type BlockRecord,
  type TxRecord,
} from './ledger-layout.js';
import {
  checkTransactionShape,
  checkTransactionSpends,
  decodeTransaction,
  type DecodedTx,
  type SpentOutput,
} from './tx-validation.js';

/** Blocks mined to the faucet on first open, unless configured otherwise. */
export const DEFAULT_INITIAL_BLOCKS = 5;
/** Most blocks one `mine` call may create. */
export const MAX_BLOCKS_PER_MINE = 1000;
/** Fee rate of faucet payments, sat/vB. */
export const FAUCET_FEE_RATE = 2;
/** The confirmation targets Esplora's `/fee-estimates` reports: 1 to 25, 144, 504 and 1008 blocks. */
export const ESPLORA_FEE_TARGETS: readonly number[] = Object.freeze([...Array.from({ length: 25 }, (_, i) => i + 1), 144, 504, 1008]);
/** Fee estimates the devnet reports unless configured otherwise (sat/vB by target); every Esplora target is present. */
export const DEFAULT_FEE_ESTIMATES: FeeEstimates = completeFeeEstimates({ 1: 2, 3: 1.5, 6: 1 });

/**
 * `estimates` with every ESPLORA_FEE_TARGETS target filled in: a missing target takes the rate
 * of the largest given target below it, else of the smallest given one. Given targets that
 * are not Esplora's are kept. RangeError when `estimates` gives no valid rate at all.
 */
export function completeFeeEstimates(estimates: FeeEstimates): FeeEstimates {
  const given = Object.entries(estimates)
    .map(([target, rate]) => [Number(target), rate] as const)
    .filter(([target, rate]) => Number.isInteger(target) && target >= 1 && typeof rate === 'number' && Number.isFinite(rate) && rate >= 0)
    .sort((a, b) => a[0] - b[0]);
  if (given.length === 0) throw new RangeError(`expected fee estimates with at least one target, got ${JSON.stringify(estimates)}`);
  const out: Record<number, number> = Object.fromEntries(given);
  for (const target of ESPLORA_FEE_TARGETS) {
    if (out[target] !== undefined) continue;
    let rate = given[0]![1];
    for (const [t, r] of given) if (t <= target) rate = r;
    out[target] = rate;
  }
  return Object.freeze(out);
}

/** Options of `DevnetLedger.open`. */
export interface DevnetLedgerOptions {
  /** Where the chain lives. The ledger never closes it: the opener owns it. */
  readonly engine: KvEngine;
  /** Address parameters (default REGTEST). */
  readonly network?: BitcoinNetwork;
  /** Blocks mined to the faucet when the store is new (default 5). */
  readonly initialBlocks?: number;
  /** What `getFeeEstimates` reports (default DEFAULT_FEE_ESTIMATES), completed to every Esplora target (completeFeeEstimates). */
  readonly feeEstimates?: FeeEstimates;
  /** Clock in UNIX milliseconds, for block times (default Date.now). */
  readonly now?: () => number;
}

/** A block as `getBlock` reports it. */
export interface DevnetBlock {
  readonly height: number;
  readonly hash: string;
  readonly header: Uint8Array;
  readonly txids: readonly string[];
  /** Serialized size of the whole block, bytes. */
  readonly size: number;
  /** Block weight (BIP141). */
  readonly weight: number;
  /** Median time past: the median header time of this block and up to ten before it, UNIX seconds. */
  readonly medianTime: number;
}

/** An unspent output found by script. `height` is undefined while its transaction is in the mempool. */
interface ScriptCoin extends OutPoint {
  readonly value: bigint;
  readonly height: number | undefined;
}

/** The devnet chain state on a KvEngine. See the file comment. */
export class DevnetLedger implements Chain {
  readonly network: BitcoinNetwork;
  readonly #engine: KvEngine;
  readonly #feeEstimates: FeeEstimates;
  readonly #now: () => number;

  private constructor(engine: KvEngine, network: BitcoinNetwork, feeEstimates: FeeEstimates, now: () => number) {
    this.#engine = engine;
    this.network = network;
    this.#feeEstimates = feeEstimates;
    this.#now = now;
  }

  /**
   * Opens the ledger on `options.engine`, creating the chain (genesis, faucet key, initial
   * blocks) when the store is empty. Throws ChandError DB_REVERSION if the store holds a
   * newer layout than this code reads, and DEVNET_GENESIS_MISMATCH (changing nothing) if its
   * chain does not start at Bitcoin's regtest genesis, as the chains of older chands do not.
   */
  static async open(options: DevnetLedgerOptions): Promise<DevnetLedger> {
    const initialBlocks = options.initialBlocks ?? DEFAULT_INITIAL_BLOCKS;
    if (!Number.isInteger(initialBlocks) || initialBlocks < 0 || initialBlocks > MAX_BLOCKS_PER_MINE) {
      throw new RangeError(`expected initialBlocks in [0, ${MAX_BLOCKS_PER_MINE}], got ${initialBlocks}`);
    }
    const ledger = new DevnetLedger(
      options.engine,
      options.network ?? REGTEST,
      options.feeEstimates === undefined ? DEFAULT_FEE_ESTIMATES : completeFeeEstimates(options.feeEstimates),
      options.now ?? Date.now,
    );
    // Drawn outside the transaction: closures must not depend on fresh randomness if re-run.
    const candidateKey = secp256k1.utils.randomSecretKey();
    const nowSeconds = Math.floor(ledger.#now() / 1000);
    await options.engine.update((tx) => {
      const layout = tx.get(metaKey(META_LAYOUT));
      if (layout !== undefined) {
        if (layout[0]! > LAYOUT_VERSION) {
          throw new ChandError(ErrorCode.DB_REVERSION, `devnet store has layout version ${layout[0]}, this chand reads ${LAYOUT_VERSION}`);
        }
        const stored = ledger.#block(tx, 0)?.hash;
        if (layout[0] !== LAYOUT_VERSION || stored !== devnetGenesis().hash) {
          throw new ChandError(
            ErrorCode.DEVNET_GENESIS_MISMATCH,
            `devnet store (layout ${layout[0]}) holds a chain whose genesis block is ${stored ?? 'missing'}, not Bitcoin regtest's ` +
              `${devnetGenesis().hash}: it was created by an older chand. Nothing was changed. Delete the devnet data directory ` +
              '(its chain and faucet are test data) or start chand devnet with a new --datadir.',
          );
        }
        return;
      }
      tx.put(metaKey(META_LAYOUT), Uint8Array.of(LAYOUT_VERSION));
      tx.put(metaKey(META_FAUCET_KEY), candidateKey);
      tx.put(metaKey(META_NEXT_SEQ), new Uint8Array(8));
      ledger.#storeBlock(tx, devnetGenesis(), new Map());
      const faucetScript = ledger.#faucetScript(tx);
      for (let i = 0; i < initialBlocks; i++) ledger.#mineOne(tx, faucetScript, nowSeconds);
    });
    return ledger;
  }

  // ---- Chain ----

  /** Validates and accepts `rawTx` into the mempool. Resubmitting a known transaction returns its txid. */
  async broadcast(rawTx: Uint8Array): Promise<string> {
    if (!(rawTx instanceof Uint8Array)) throw new TypeError(`expected raw transaction as Uint8Array, got ${typeof rawTx}`);
    let decoded: DecodedTx;
    try {
      decoded = decodeTransaction(rawTx);
    } catch (err) {
      throw new TxRejectedError(`TX decode failed (${(err as Error).message})`, { cause: err });
    }
    const shapeError = checkTransactionShape(decoded);
    if (shapeError !== undefined) throw new TxRejectedError(shapeError);
    return this.#engine.update((tx) => this.#accept(tx, decoded));
  }

  async getTxStatus(txid: string): Promise<TxStatus | undefined> {
    assertHash(txid);
    return this.#engine.read((tx) => {
      const record = this.#txRecord(tx, txid);
      return record === undefined ? undefined : this.#status(tx, record.height);
    });
  }

  async getTransaction(txid: string): Promise<ChainTransaction | undefined> {
    assertHash(txid);
    return this.#engine.read((tx) => {
      const record = this.#txRecord(tx, txid);
      if (record === undefined) return undefined;
      const decoded = decodeTransaction(record.raw);
      return {
        txid,
        version: decoded.version,
        locktime: decoded.lockTime,
        inputs: decoded.inputs.map((input, i) => {
          const prevout = record.prevouts[i];
          return {
            txid: input.txid,
            index: input.index,
            sequence: input.sequence,
            witness: input.witness,
            ...(prevout === undefined ? {} : { prevout: { script: prevout.script, value: prevout.value } }),
          };
        }),
        outputs: decoded.outputs.map((output) => {
          const address = scriptToAddress(output.script, this.network);
          return { script: output.script, value: output.value, ...(address === undefined ? {} : { address }) };
        }),
        fee: record.fee,
        weight: decoded.weight,
        status: this.#status(tx, record.height),
      };
    });
  }

  async getRawTransaction(txid: string): Promise<Uint8Array | undefined> {
    assertHash(txid);
    return this.#engine.read((tx) => this.#txRecord(tx, txid)?.raw);
  }

  async getOutspend(txid: string, index: number): Promise<OutspendStatus> {
    assertHash(txid);
    assertU32(index, 'output index');
    return this.#engine.read((tx) => {
      const outpoint = { txid, index };
      const spender = tx.get(outpointKey(PREFIX_SPENT, outpoint)) ?? tx.get(outpointKey(PREFIX_MEMPOOL_SPENT, outpoint));
      if (spender === undefined) return { spent: false };
      const { txid: spendingTxid, vin } = decodeSpender(spender);
      const record = this.#txRecord(tx, spendingTxid);
      if (record === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, `devnet store is inconsistent: spender ${spendingTxid} missing`);
      return { spent: true, txid: spendingTxid, vin, status: this.#status(tx, record.height) };
    });
  }

  async getAddressUtxos(address: string): Promise<Utxo[]> {
    const script = addressToScript(address, this.network);
    return this.#engine.read((tx) =>
      this.#coinsOf(tx, script).map((coin) => ({
        txid: coin.txid,
        index: coin.index,
        value: coin.value,
        status: this.#status(tx, coin.height ?? MEMPOOL_HEIGHT),
      })),
    );
  }

  async getTipHeight(): Promise<number> {
    return this.#engine.read((tx) => this.#tip(tx).height);
  }

  async getTipHash(): Promise<string> {
    return this.#engine.read((tx) => this.#tip(tx).hash);
  }

  async getBlockHash(height: number): Promise<string | undefined> {
    assertU32(height, 'height');
    return this.#engine.read((tx) => this.#block(tx, height)?.hash);
  }

  async getFeeEstimates(): Promise<FeeEstimates> {
    return this.#feeEstimates;
  }

  // ---- devnet extras ----

  /** The best block's height and hash, read together. */
  async getTip(): Promise<ChainTip> {
    return this.#engine.read((tx) => this.#tip(tx));
  }

  /** The txids of a block in block order (coinbase first), or undefined if the block is unknown. */
  async getBlockTxids(blockHash: string): Promise<string[] | undefined> {
    assertHash(blockHash, 'block hash');
    return this.#engine.read((tx) => {
      const heightBytes = tx.get(blockHeightKey(blockHash));
      if (heightBytes === undefined) return undefined;
      return this.#block(tx, new DataView(heightBytes.buffer, heightBytes.byteOffset, 4).getUint32(0))!.txids.slice();
    });
  }

  /** A block by hash with its size, weight and median time past, or undefined if unknown. */
  async getBlock(hash: string): Promise<DevnetBlock | undefined> {
    assertHash(hash, 'block hash');
    return this.#engine.read((tx) => {
      const heightBytes = tx.get(blockHeightKey(hash));
      if (heightBytes === undefined) return undefined;
      const height = new DataView(heightBytes.buffer, heightBytes.byteOffset, 4).getUint32(0);
      const block = this.#block(tx, height)!;
      const { size, weight } = blockSizeAndWeight(block.txids.map((txid) => this.#txRecord(tx, txid)!.raw));
      return { height, hash: block.hash, header: block.header, txids: block.txids, size, weight, medianTime: this.#medianTimePast(tx, height) };
    });
  }

  /** Txids in the mempool, in arrival order. */
  async getMempoolTxids(): Promise<string[]> {
    return this.#engine.read((tx) =>
      [...tx.range({ start: Uint8Array.of(PREFIX_MEMPOOL), end: Uint8Array.of(PREFIX_MEMPOOL + 1) })].map(([, txid]) => bytesToHex(txid)),
    );
  }

  /**
   * Mines `blocks` blocks (1..MAX_BLOCKS_PER_MINE), the first taking the whole mempool, and
   * returns their hashes. Coinbases pay `address`, or the faucet when omitted. Atomic.
   */
  async mine(blocks: number, address?: string): Promise<string[]> {
    if (!Number.isInteger(blocks) || blocks < 1 || blocks > MAX_BLOCKS_PER_MINE) {
      throw new RangeError(`expected blocks as an integer in [1, ${MAX_BLOCKS_PER_MINE}], got ${blocks}`);
    }
    const script = address === undefined ? undefined : addressToScript(address, this.network);
    const nowSeconds = Math.floor(this.#now() / 1000);
    return this.#engine.update((tx) => {
      const payTo = script ?? this.#faucetScript(tx);
      const hashes: string[] = [];
      for (let i = 0; i < blocks; i++) hashes.push(this.#mineOne(tx, payTo, nowSeconds).hash);
      return hashes;
    });
  }

  /**
   * Pays `amountSat` to `address` from the faucet's coins with a real signed transaction,
   * accepted into the mempool (mine to confirm it). Returns its txid; the payment is output 0.
   * Throws ChandError INSUFFICIENT_FUNDS when the faucet is short (mine blocks to it).
   */
  async faucet(address: string, amountSat: bigint): Promise<OutPoint> {
    const script = addressToScript(address, this.network);
    if (typeof amountSat !== 'bigint' || amountSat <= 0n) throw new RangeError(`expected a positive bigint amount, got ${amountSat}`);
    return this.#engine.update((tx) => {
      const key = tx.get(metaKey(META_FAUCET_KEY))!;
      const faucetScript = this.#faucetScript(tx);
      const coins: Coin[] = this.#coinsOf(tx, faucetScript).map((c) => ({ ...c, script: faucetScript }));
      const funded = fundTransaction({
        coins,
        outputs: [{ script, value: amountSat }],
        feeRate: FAUCET_FEE_RATE,
        changeScript: faucetScript,
      });
      funded.tx.sign(key);
      funded.tx.finalize();
      const decoded = decodeTransaction(funded.tx.extract());
      return { txid: this.#accept(tx, decoded), index: 0 };
    });
  }

  // ---- internals (synchronous, inside one engine transaction) ----

  #tip(tx: KvReadTx): ChainTip {
    const bytes = tx.get(metaKey(META_TIP));
    if (bytes === undefined) throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, 'devnet store has no tip');
    return decodeTip(bytes);
  }

  #block(tx: KvReadTx, height: number): BlockRecord | undefined {
    const bytes = tx.get(blockKey(height));
    return bytes === undefined ? undefined : decodeBlockRecord(bytes);
  }

  #txRecord(tx: KvReadTx, txid: string): TxRecord | undefined {
    const bytes = tx.get(txKey(txid));
    return bytes === undefined ? undefined : decodeTxRecord(bytes);
  }

  #faucetScript(tx: KvReadTx): Uint8Array {
    const key = tx.get(metaKey(META_FAUCET_KEY));
    if (key === undefined) throw new ChandError(ErrorCode.DB_NOT_INITIALIZED, 'devnet store has no faucet key');
    return p2wpkhScript(publicKeyFromPrivate(key));
  }

  /** Median of the header times of the block at `height` and up to ten before it. */
  #medianTimePast(tx: KvReadTx, height: number): number {
    const times: number[] = [];
    for (let h = Math.max(0, height - 10); h <= height; h++) {
      const block = this.#block(tx, h);
      if (block !== undefined) times.push(decodeHeader(block.header).time);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)] ?? 0;
  }

  #status(tx: KvReadTx, height: number): TxStatus {
    if (height === MEMPOOL_HEIGHT) return { confirmed: false };
    const block = this.#block(tx, height);
    if (block === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, `devnet store is inconsistent: block ${height} missing`);
    return {
      confirmed: true,
      blockHeight: height,
      blockHash: block.hash,
      blockTime: decodeHeader(block.header).time,
      confirmations: this.#tip(tx).height - height + 1,
    };
  }

  /** Unspent outputs paying `script`: confirmed ones not spent in the mempool, then mempool ones. */
  #coinsOf(tx: KvReadTx, script: Uint8Array): ScriptCoin[] {
    const coins: ScriptCoin[] = [];
    const prefix = scriptUtxoKey(sha256(script));
    for (const [key] of tx.range({ start: prefix, end: prefixEnd(prefix) })) {
      const outpoint = outpointFromKey(key);
      if (tx.get(outpointKey(PREFIX_MEMPOOL_SPENT, outpoint)) !== undefined) continue;
      const utxo = decodeUtxoRecord(tx.get(outpointKey(PREFIX_UTXO, outpoint))!);
      coins.push({ ...outpoint, value: utxo.value, height: utxo.height });
    }
    for (const [, txidBytes] of tx.range({ start: Uint8Array.of(PREFIX_MEMPOOL), end: Uint8Array.of(PREFIX_MEMPOOL + 1) })) {
      const txid = bytesToHex(txidBytes);
      const outputs = decodeTransaction(this.#txRecord(tx, txid)!.raw).outputs;
      outputs.forEach((output, index) => {
        if (!equalBytes(output.script, script)) return;
        if (tx.get(outpointKey(PREFIX_MEMPOOL_SPENT, { txid, index })) !== undefined) return;
        coins.push({ txid, index, value: output.value, height: undefined });
      });
    }
    return coins;
  }

  /** The output input `i` spends, or a rejection. */
  #resolveInput(tx: KvReadTx, input: TxInput, i: number): SpentOutput {
    const spender = tx.get(outpointKey(PREFIX_MEMPOOL_SPENT, input));
    if (spender !== undefined) {
      throw new TxRejectedError(
        `txn-mempool-conflict (input ${i} spends ${input.txid}:${input.index}, already spent by mempool transaction ${decodeSpender(spender).txid})`,
      );
    }
    const utxo = tx.get(outpointKey(PREFIX_UTXO, input));
    if (utxo !== undefined) {
      const record = decodeUtxoRecord(utxo);
      return { value: record.value, script: record.script, height: record.height };
    }
    const parent = this.#txRecord(tx, input.txid);
    if (parent !== undefined && parent.height === MEMPOOL_HEIGHT) {
      const output = decodeTransaction(parent.raw).outputs[input.index];
      if (output !== undefined) return { value: output.value, script: output.script, height: undefined };
    }
    throw new TxRejectedError(
      `bad-txns-inputs-missingorspent (input ${i} spends ${input.txid}:${input.index}, which does not exist or is already spent)`,
    );
  }

  /** Validates `decoded` against the store and records it in the mempool; returns its txid. Throws TxRejectedError. */
  #accept(tx: KvWriteTx, decoded: DecodedTx): string {
    // Already known (mempool or chain): accepting it again changes nothing.
    if (tx.get(txKey(decoded.txid)) !== undefined) return decoded.txid;
    const spent = decoded.inputs.map((input, i) => this.#resolveInput(tx, input, i));
    const tip = this.#tip(tx);
    const check = checkTransactionSpends(decoded, spent, {
      nextHeight: tip.height + 1,
      medianTimePast: (height) => this.#medianTimePast(tx, height),
    });
    if (!check.ok) throw new TxRejectedError(check.reason);

    const seqBytes = tx.get(metaKey(META_NEXT_SEQ))!;
    const seq = new DataView(seqBytes.buffer, seqBytes.byteOffset, 8).getBigUint64(0);
    tx.put(
      txKey(decoded.txid),
      encodeTxRecord({
        height: MEMPOOL_HEIGHT,
        seq,
        fee: check.fee,
        prevouts: spent.map((s) => ({ value: s.value, script: s.script })),
        raw: decoded.raw,
      }),
    );
    tx.put(mempoolKey(seq), hexToBytes(decoded.txid));
    decoded.inputs.forEach((input, vin) => {
      tx.put(outpointKey(PREFIX_MEMPOOL_SPENT, input), encodeSpender({ txid: decoded.txid, vin }));
    });
    const next = new Uint8Array(8);
    new DataView(next.buffer).setBigUint64(0, seq + 1n);
    tx.put(metaKey(META_NEXT_SEQ), next);
    return decoded.txid;
  }

  /** Mines one block on the tip with the whole mempool, paying the coinbase to `script`. */
  #mineOne(tx: KvWriteTx, script: Uint8Array, nowSeconds: number): Block {
    const tip = this.#tip(tx);
    const height = tip.height + 1;
    // Materialized before any write: iterating a range while writing is not portable across engines.
    const entries = [...tx.range({ start: Uint8Array.of(PREFIX_MEMPOOL), end: Uint8Array.of(PREFIX_MEMPOOL + 1) })];
    const records = new Map<string, TxRecord>();
    const transactions: DecodedTx[] = [];
    let fees = 0n;
    for (const [, txidBytes] of entries) {
      const txid = bytesToHex(txidBytes);
      const record = this.#txRecord(tx, txid)!;
      records.set(txid, record);
      transactions.push(decodeTransaction(record.raw));
      fees += record.fee;
    }
    const block = assembleBlock({
      height,
      prevHash: tip.hash,
      // Header times must exceed the median time past; on a fast devnet that may run ahead of the clock.
      time: Math.max(nowSeconds, this.#medianTimePast(tx, tip.height) + 1),
      coinbaseScript: script,
      coinbaseValue: blockSubsidy(height) + fees,
      transactions,
    });
    this.#storeBlock(tx, block, records);
    for (const [key] of entries) tx.delete(key);
    return block;
  }

  /** Writes `block` as the new tip: block record, transactions, spends and outputs. `records` holds its mempool transactions. */
  #storeBlock(tx: KvWriteTx, block: Block, records: ReadonlyMap<string, TxRecord>): void {
    tx.put(blockKey(block.height), encodeBlockRecord({ hash: block.hash, header: block.header, txids: block.txids }));
    const heightBytes = new Uint8Array(4);
    new DataView(heightBytes.buffer).setUint32(0, block.height);
    tx.put(blockHeightKey(block.hash), heightBytes);
    block.transactions.forEach((raw, index) => {
      const txid = block.txids[index]!;
      const decoded = decodeTransaction(raw);
      const record = records.get(txid) ?? { height: block.height, seq: 0n, fee: 0n, prevouts: [], raw };
      tx.put(txKey(txid), encodeTxRecord({ ...record, height: block.height }));
      if (index > 0) {
        decoded.inputs.forEach((input, vin) => {
          const utxoKey = outpointKey(PREFIX_UTXO, input);
          const utxo = decodeUtxoRecord(tx.get(utxoKey)!);
          tx.delete(utxoKey);
          tx.delete(scriptUtxoKey(sha256(utxo.script), input));
          tx.delete(outpointKey(PREFIX_MEMPOOL_SPENT, input));
          tx.put(outpointKey(PREFIX_SPENT, input), encodeSpender({ txid, vin }));
        });
      }
      // The genesis output is unspendable: Bitcoin never added it to the UTXO set.
      if (block.height === 0) return;
      decoded.outputs.forEach((output, outputIndex) => {
        if (classifyOutputScript(output.script) === 'op_return') return;
        const outpoint = { txid, index: outputIndex };
        tx.put(outpointKey(PREFIX_UTXO, outpoint), encodeUtxoRecord({ value: output.value, height: block.height, script: output.script }));
        tx.put(scriptUtxoKey(sha256(output.script), outpoint), new Uint8Array(0));
      });
    });
    tx.put(metaKey(META_TIP), encodeTip(block.height, block.hash));
  }
}
