/**
 * A plain-data Bitcoin transaction and its consensus serialization.
 *
 * `BitcoinTx` is an immutable value: builders return fresh ones, nothing mutates them. Txids
 * are lowercase hex in display (reversed) order, the way block explorers and RPCs show them;
 * the codec reverses them on the wire. `decodeTx` checks the format only, strictly: it
 * rejects truncated input, trailing bytes, a transaction without inputs, non-canonical
 * CompactSize integers and a segwit marker whose witnesses are all empty, always with a
 * `DecodeError` and never any other exception. Validity rules (amounts, scripts) are not its
 * business: whatever it decodes, `encodeTx` re-encodes byte for byte.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { DecodeError } from '../errors.js';
import { assertBigInt, assertBytes, assertInt, assertTxid } from './bytes.js';
import { hash256 } from './script.js';

/**
 * A reference to a transaction output: the one definition chand uses in every layer (a
 * channel's funding outpoint is its "channel point"). Wire formats that name the index
 * differently (Esplora's `vout`) are converted where they are parsed.
 */
export interface OutPoint {
  /** Transaction id, 64 lowercase hex chars, display (reversed) order. */
  readonly txid: string;
  /** Output index within that transaction (u32). */
  readonly index: number;
}

/** One transaction input. `witness` is empty for an unsigned or legacy input. */
export interface TxInput extends OutPoint {
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
  readonly witness: readonly Uint8Array[];
}

/** One transaction output: value in satoshis and its scriptPubKey. */
export interface TxOutput {
  readonly value: bigint;
  readonly script: Uint8Array;
}

/**
 * A spendable output: where it is and what it holds (the prevout an input spends). Coin
 * selection, the wallet, the devnet faucet and the funding builder all take this shape.
 */
export interface Coin extends OutPoint, TxOutput {}

/** A transaction as plain data. */
export interface BitcoinTx {
  readonly version: number;
  readonly inputs: readonly TxInput[];
  readonly outputs: readonly TxOutput[];
  readonly lockTime: number;
}

/** Largest amount a transaction output may carry (21 million BTC in satoshis). */
export const MAX_MONEY_SAT = 2_100_000_000_000_000n;

const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;

/** Options of `encodeTx`. */
export interface EncodeTxOptions {
  /** Include the segwit marker, flag and witnesses when any input has a witness (default true). */
  readonly witness?: boolean;
}

/**
 * Serializes `tx`. With `witness` (the default) and at least one non-empty witness, uses the
 * BIP144 segwit form; otherwise the legacy form (the one the txid hashes).
 */
export function encodeTx(tx: BitcoinTx, options: EncodeTxOptions = {}): Uint8Array {
  validateTx(tx);
  const withWitness = (options.witness ?? true) && tx.inputs.some((i) => i.witness.length > 0);
  const w = new ByteWriter();
  w.u32(tx.version >>> 0);
  if (withWitness) w.bytes(new Uint8Array([0x00, 0x01]));
  w.compactSize(tx.inputs.length);
  for (const input of tx.inputs) {
    w.bytes(txidToInternal(input.txid));
    w.u32(input.index);
    w.varBytes(input.scriptSig);
    w.u32(input.sequence);
  }
  w.compactSize(tx.outputs.length);
  for (const output of tx.outputs) {
    w.u64(output.value);
    w.varBytes(output.script);
  }
  if (withWitness) {
    for (const input of tx.inputs) {
      w.compactSize(input.witness.length);
      for (const item of input.witness) w.varBytes(item);
    }
  }
  w.u32(tx.lockTime);
  return w.finish();
}

/** Parses a serialized transaction (legacy or BIP144 segwit). Throws DecodeError on any malformation. */
export function decodeTx(raw: Uint8Array): BitcoinTx {
  assertBytes('raw transaction', raw);
  const r = new ByteReader(raw, 'transaction');
  const version = r.u32();
  let segwit = false;
  if (r.peek() === 0x00) {
    r.skip(1);
    const flag = r.u8();
    if (flag !== 0x01) throw new DecodeError(`transaction segwit flag must be 0x01, got 0x${flag.toString(16)}`);
    segwit = true;
  }
  const inputCount = r.compactSize();
  if (inputCount === 0) throw new DecodeError('transaction has no inputs');
  const ins: { txid: string; index: number; scriptSig: Uint8Array; sequence: number }[] = [];
  for (let i = 0; i < inputCount; i++) {
    const txid = txidFromInternal(r.take(32));
    const index = r.u32();
    const scriptSig = r.varBytes();
    const sequence = r.u32();
    ins.push({ txid, index, scriptSig, sequence });
  }
  const outputCount = r.compactSize();
  const outputs: TxOutput[] = [];
  for (let i = 0; i < outputCount; i++) {
    outputs.push({ value: r.u64(), script: r.varBytes() });
  }
  const witnesses: Uint8Array[][] = ins.map(() => []);
  if (segwit) {
    for (let i = 0; i < inputCount; i++) {
      const items = r.compactSize();
      for (let j = 0; j < items; j++) witnesses[i]!.push(r.varBytes());
    }
    // BIP144: a segwit serialization whose witnesses are all empty is invalid.
    if (witnesses.every((w) => w.length === 0)) throw new DecodeError('transaction has a segwit marker but no witness');
  }
  const lockTime = r.u32();
  r.end();
  return {
    version: version | 0,
    inputs: ins.map((input, i) => ({ ...input, witness: witnesses[i]! })),
    outputs,
    lockTime,
  };
}

/** The txid of `tx` (double SHA-256 of its legacy serialization), in display order. */
export function txidOf(tx: BitcoinTx): string {
  return txidFromInternal(hash256(encodeTx(tx, { witness: false })));
}

/** The BIP141 wtxid of `tx` (double SHA-256 of its full serialization), in display order; the txid when it has no witness. */
export function wtxidOf(tx: BitcoinTx): string {
  return txidFromInternal(hash256(encodeTx(tx)));
}

/** The BIP141 weight of `tx` as serialized: 3 × stripped size + total size. */
export function txWeight(tx: BitcoinTx): number {
  return 3 * encodeTx(tx, { witness: false }).length + encodeTx(tx).length;
}

/** `tx` with the witness of input `index` replaced. Throws RangeError for a bad index. */
export function withWitness(tx: BitcoinTx, index: number, witness: readonly Uint8Array[]): BitcoinTx {
  assertInt('input index', index, 0, tx.inputs.length - 1);
  return { ...tx, inputs: tx.inputs.map((input, i) => (i === index ? { ...input, witness: [...witness] } : input)) };
}

/** A txid (or block hash) in display order as the 32 bytes that go on the wire (reversed). */
export function txidToInternal(txid: string): Uint8Array {
  assertTxid('txid', txid);
  return hexToBytes(txid.toLowerCase()).reverse();
}

/**
 * 32 wire-order txid bytes as display-order hex. Block hashes and merkle roots use the same
 * reversed display order, so this is also how to show them.
 */
export function txidFromInternal(bytes: Uint8Array): string {
  assertBytes('txid bytes', bytes, 32);
  return bytesToHex(Uint8Array.from(bytes).reverse());
}

function validateTx(tx: BitcoinTx): void {
  assertInt('transaction version', tx.version, -0x8000_0000, MAX_U32);
  assertInt('transaction lockTime', tx.lockTime, 0, MAX_U32);
  tx.inputs.forEach((input, i) => {
    assertTxid(`input ${i} txid`, input.txid);
    assertInt(`input ${i} output index`, input.index, 0, MAX_U32);
    assertInt(`input ${i} sequence`, input.sequence, 0, MAX_U32);
    assertBytes(`input ${i} scriptSig`, input.scriptSig);
    input.witness.forEach((item, j) => assertBytes(`input ${i} witness item ${j}`, item));
  });
  tx.outputs.forEach((output, i) => {
    // Any u64 encodes; MAX_MONEY is a validity rule the builders enforce, not a format rule.
    assertBigInt(`output ${i} value`, output.value, 0n, MAX_U64);
    assertBytes(`output ${i} script`, output.script);
  });
}

/** Appends little-endian integers, CompactSize lengths and byte strings. */
class ByteWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  bytes(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  u32(n: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n >>> 0, true);
    this.bytes(b);
  }

  u64(n: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n, true);
    this.bytes(b);
  }

  compactSize(n: number): void {
    if (n < 0xfd) this.bytes(new Uint8Array([n]));
    else if (n <= 0xffff) this.bytes(new Uint8Array([0xfd, n & 0xff, n >>> 8]));
    else if (n <= MAX_U32) {
      this.bytes(new Uint8Array([0xfe]));
      this.u32(n);
    } else {
      this.bytes(new Uint8Array([0xff]));
      this.u64(BigInt(n));
    }
  }

  varBytes(b: Uint8Array): void {
    this.compactSize(b.length);
    this.bytes(b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}

/** Reads what ByteWriter writes; every overrun is a DecodeError naming the position. */
class ByteReader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  /** The next byte without consuming it, or -1 at the end. */
  peek(): number {
    return this.pos < this.buf.length ? this.buf[this.pos]! : -1;
  }

  /** True when every byte has been read. */
  get done(): boolean {
    return this.pos === this.buf.length;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getUint32(0, true);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getBigUint64(0, true);
    this.pos += 8;
    return v;
  }

  /** A canonical (shortest-form) CompactSize that also fits in the remaining bytes. */
  compactSize(): number {
    const at = this.pos;
    const first = this.u8();
    let value: number;
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      this.need(2);
      value = this.buf[this.pos]! | (this.buf[this.pos + 1]! << 8);
      this.pos += 2;
      if (value < 0xfd) throw new DecodeError(`${this.what}: non-canonical CompactSize at byte ${at}`);
    } else if (first === 0xfe) {
      value = this.u32();
      if (value <= 0xffff) throw new DecodeError(`${this.what}: non-canonical CompactSize at byte ${at}`);
    } else {
      const big = this.u64();
      if (big <= BigInt(MAX_U32)) throw new DecodeError(`${this.what}: non-canonical CompactSize at byte ${at}`);
      throw new DecodeError(`${this.what}: CompactSize ${big} at byte ${at} is too large`);
    }
    // Every count or length is at least one byte per unit, so a value past the end is garbage.
    if (value > this.buf.length - this.pos) {
      throw new DecodeError(`${this.what}: CompactSize ${value} at byte ${at} exceeds the remaining ${this.buf.length - this.pos} bytes`);
    }
    return value;
  }

  varBytes(): Uint8Array {
    return this.take(this.compactSize());
  }

  /** Throws DecodeError if bytes remain. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new DecodeError(`${this.what} has ${this.buf.length - this.pos} trailing bytes`);
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new DecodeError(`${this.what} truncated at byte ${this.pos} (need ${n}, have ${this.buf.length - this.pos})`);
    }
  }
}
