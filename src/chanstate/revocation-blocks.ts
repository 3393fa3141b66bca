/**
 * The compact revocation log: revoked remote states stored in blocks of consecutive heights.
 *
 * Why blocks: a revoked state must keep its commitment txid (32 bytes) and, per HTLC, the
 * payment hash (32 bytes), timeout, output index, direction and amount. Stored one record per
 * state, every state also pays for its key, its record envelope and checksum, both balances
 * at full width, and every HTLC again — although an HTLC usually stays on several consecutive
 * commitments and balances move by one payment at a time. A block holds consecutive states of
 * one channel, up to a size limit the backend picks (so that its blocks fill its pages), and
 * stores:
 * - an HTLC dictionary: each distinct HTLC (hash, timeout, amount, direction, index) once;
 * - per state: a header (HTLC count and flags), the txid, both balances as deltas from the
 *   previous state of the block, and per HTLC a dictionary slot and its output index.
 * Output indexes that repeat the previous state's are a flag. So a state with no HTLCs takes
 * about 37 bytes, and an HTLC that stays from the previous state about 2.
 *
 * Open and sealed: a channel's newest block is its open block, kept by the backend under a
 * key of its own and rewritten as states are appended; it carries its first height and a
 * tail (the last state's height, indexes and balances), so appending never decodes the
 * earlier states. When the next state does not fit, the open block is sealed — stored once,
 * without first height and tail, under its first height — and a new open block starts. Sealed
 * blocks are only ever appended after each other, which keeps B-tree pages full.
 *
 * Exactness: a dictionary slot is used only for an HTLC whose every stored field is identical;
 * anything else gets a new slot. Nothing is inferred from protocol rules (an HTLC index could
 * in principle come back with other contents), so a block decodes to exactly the entries
 * written, whatever the sequence. A block is self-contained: reading a state reads one block.
 *
 * Layout: a versioned record (records.ts revocationBlockRecord, the codec's rules) with TLV
 * fields 0 count (tu53), 1 first height (tu53, open form only), 2 dictionary (bytes),
 * 4 states (bytes), 5 tail (bytes, open form only). Numbers inside are unsigned LEB128
 * varints; balance deltas are zigzag-encoded. Dictionary entry: flags (bit 0 incoming, bit 1
 * has an HTLC index), hash (32), timeout, amount, [index]. State: header = htlcCount * 16 +
 * flags (bit 0 our balance present, bit 1 their balance present, bit 2 output indexes as the
 * previous state's, bit 3 explicit height delta); [height delta]; [our index, their index];
 * txid (32); [our balance delta]; [their balance delta]; per HTLC: slot, output index. Without
 * bit 3 a state's height is the previous one's plus one (the first state's is the block's
 * first height). Tail: last height, our index, their index, flags (bit 0 our balance, bit 1
 * theirs), [our balance], [their balance].
 *
 * FROZEN as format 1: KV migration 4 and SQL migration 3 write it. A change of layout is a
 * new module (format 2) with a migration; this one stays as it is.
 */
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { DecodeError } from '../errors.js';
import { revocationBlockRecord } from './records.js';
import type { HtlcEntry, RevocationLogEntry } from './types.js';

const F_OUR_BALANCE = 1;
const F_THEIR_BALANCE = 2;
const F_SAME_INDEXES = 4;
const F_HEIGHT_DELTA = 8;
const D_INCOMING = 1;
const D_HAS_INDEX = 2;

const TWO_64 = 1n << 64n;

// --- varints ---------------------------------------------------------------------------

/** A growable byte buffer with LEB128 varints (numbers and bigints). */
class Out {
  buf: Uint8Array;
  len = 0;
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** An unsigned safe integer. */
  uint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected an unsigned safe integer, got ${n}`);
    this.reserve(8);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }
  /** An unsigned bigint below 2^64. */
  big(n: bigint): void {
    if (n < 0n || n >= TWO_64) throw new RangeError(`expected a bigint in 0..2^64-1, got ${n}`);
    if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return this.uint(Number(n));
    this.reserve(10);
    while (n >= 0x80n) {
      this.buf[this.len++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.len++] = Number(n);
  }
  /** A signed bigint delta in (-2^64, 2^64), zigzag-encoded. */
  delta(d: bigint): void {
    const z = d >= 0n ? d << 1n : ((-d) << 1n) - 1n;
    if (z >= TWO_64 * 2n) throw new RangeError(`expected a delta below 2^64 in magnitude, got ${d}`);
    if (z <= BigInt(Number.MAX_SAFE_INTEGER)) return this.uint(Number(z));
    this.reserve(10);
    let n = z;
    while (n >= 0x80n) {
      this.buf[this.len++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.len++] = Number(n);
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** A reader over block bytes; every overrun or overlong number is a DecodeError. */
class In {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly what: string) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  u8(): number {
    if (this.pos >= this.buf.length) throw new DecodeError(`${this.what}: truncated at offset ${this.pos}`);
    return this.buf[this.pos++]!;
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new DecodeError(`${this.what}: ${n} bytes needed at offset ${this.pos}, ${this.buf.length - this.pos} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(n: number): void {
    this.take(n);
  }
  /** Skips a varint of at most `maxBytes` bytes without building its value. */
  skipVarint(maxBytes: number): void {
    for (let i = 0; (this.u8() & 0x80) !== 0; i++) if (i + 1 >= maxBytes) throw new DecodeError(`${this.what}: varint too long at offset ${this.pos}`);
  }
  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) throw new DecodeError(`${this.what}: integer beyond 2^53 at offset ${this.pos}`);
        if (b === 0 && i > 0) throw new DecodeError(`${this.what}: overlong varint at offset ${this.pos}`);
        return value;
      }
      scale *= 0x80;
      if (i >= 7) throw new DecodeError(`${this.what}: integer beyond 2^53 at offset ${this.pos}`);
    }
  }
  private bigRaw(maxBytes: number): bigint {
    let value = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      const b = this.u8();
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new DecodeError(`${this.what}: overlong varint at offset ${this.pos}`);
        return value;
      }
      shift += 7n;
      if (i + 1 >= maxBytes) throw new DecodeError(`${this.what}: varint too long at offset ${this.pos}`);
    }
  }
  big(): bigint {
    const v = this.bigRaw(10);
    if (v >= TWO_64) throw new DecodeError(`${this.what}: amount beyond 2^64 at offset ${this.pos}`);
    return v;
  }
  delta(): bigint {
    const z = this.bigRaw(10);
    if (z >= TWO_64 * 2n) throw new DecodeError(`${this.what}: delta beyond 2^64 at offset ${this.pos}`);
    return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
  }
}

// --- the dictionary ------------------------------------------------------------------------

/** A dictionary entry as stored; `hash` is a view into the block. */
interface Def {
  readonly hash: Uint8Array;
  readonly refundTimeout: number;
  readonly amountSat: bigint;
  readonly incoming: boolean;
  readonly htlcIndex: number | undefined;
}

function writeDef(out: Out, h: HtlcEntry, hash: Uint8Array): void {
  out.uint((h.incoming ? D_INCOMING : 0) | (h.htlcIndex === undefined ? 0 : D_HAS_INDEX));
  out.bytes(hash);
  out.uint(h.refundTimeout);
  out.big(h.amountSat);
  if (h.htlcIndex !== undefined) out.uint(h.htlcIndex);
}

function readDefs(bytes: Uint8Array): Def[] {
  const r = new In(bytes, 'RevocationBlock dictionary');
  const defs: Def[] = [];
  while (!r.done()) {
    const flags = r.uint();
    if (flags > 3) throw new DecodeError(`${r.what}: unknown HTLC flags ${flags}`);
    const hash = r.take(32);
    const refundTimeout = r.uint();
    const amountSat = r.big();
    defs.push({ hash, refundTimeout, amountSat, incoming: (flags & D_INCOMING) !== 0, htlcIndex: (flags & D_HAS_INDEX) !== 0 ? r.uint() : undefined });
  }
  return defs;
}

/** The first six bytes of a hash as a number: a cheap map key, confirmed by a full compare. */
function fingerprint(hash: Uint8Array): number {
  return hash[0]! * 2 ** 40 + hash[1]! * 2 ** 32 + hash[2]! * 2 ** 24 + ((hash[3]! << 16) | (hash[4]! << 8) | hash[5]!);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The slots of a block's dictionary, found by every stored field but the output index. */
class DefIndex {
  private readonly byPrint = new Map<number, number[]>();
  readonly defs: Def[];

  constructor(defs: Def[]) {
    this.defs = defs;
    defs.forEach((d, slot) => this.register(d, slot));
  }

  private register(d: Def, slot: number): void {
    const k = fingerprint(d.hash);
    const list = this.byPrint.get(k);
    if (list === undefined) this.byPrint.set(k, [slot]);
    else list.push(slot);
  }

  /** The slot of an identical HTLC, or undefined. */
  find(h: HtlcEntry, hash: Uint8Array): number | undefined {
    const list = this.byPrint.get(fingerprint(hash));
    if (list === undefined) return undefined;
    for (const slot of list) {
      const d = this.defs[slot]!;
      if (d.refundTimeout === h.refundTimeout && d.amountSat === h.amountSat && d.incoming === h.incoming && d.htlcIndex === h.htlcIndex && sameBytes(d.hash, hash)) return slot;
    }
    return undefined;
  }

  add(d: Def): number {
    const slot = this.defs.length;
    this.defs.push(d);
    this.register(d, slot);
    return slot;
  }
}

// --- records ------------------------------------------------------------------------------

/** What encoding the next state depends on: the last state's height, indexes and balances. */
interface Tail {
  readonly lastHeight: number;
  readonly ourIndex: number;
  readonly theirIndex: number;
  readonly ourBalance: bigint | undefined;
  readonly theirBalance: bigint | undefined;
}

/** The fields of a block record (firstHeight and tail only in the open form). */
interface Parts {
  readonly count: number;
  readonly firstHeight: number | undefined;
  readonly defs: Uint8Array;
  readonly states: Uint8Array;
  readonly tail: Uint8Array | undefined;
}

function partsOf(bytes: Uint8Array): Parts {
  const { count, firstHeight, htlcs, states, tail } = revocationBlockRecord.decode(bytes);
  if (count === 0) throw new DecodeError('RevocationBlock: a block without states');
  return { count, firstHeight, defs: htlcs, states, tail };
}

function writeTail(out: Out, t: Tail): void {
  out.uint(t.lastHeight);
  out.uint(t.ourIndex);
  out.uint(t.theirIndex);
  out.uint((t.ourBalance === undefined ? 0 : 1) | (t.theirBalance === undefined ? 0 : 2));
  if (t.ourBalance !== undefined) out.big(t.ourBalance);
  if (t.theirBalance !== undefined) out.big(t.theirBalance);
}

function readTail(bytes: Uint8Array): Tail {
  const r = new In(bytes, 'RevocationBlock tail');
  const lastHeight = r.uint();
  const ourIndex = r.uint();
  const theirIndex = r.uint();
  const flags = r.uint();
  if (flags > 3) throw new DecodeError(`${r.what}: unknown flags ${flags}`);
  const ourBalance = (flags & 1) !== 0 ? r.big() : undefined;
  const theirBalance = (flags & 2) !== 0 ? r.big() : undefined;
  if (!r.done()) throw new DecodeError(`${r.what}: trailing bytes`);
  return { lastHeight, ourIndex, theirIndex, ourBalance, theirBalance };
}

function tu53Length(n: number): number {
  let length = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) length++;
  return length;
}

/** The encoded length of a sealed block with parts of these sizes (encodeBlock's layout). */
function sealedSize(count: number, defs: number, states: number): number {
  const field = (n: number) => 1 + (n < 0xfd ? 1 : n <= 0xffff ? 3 : 5) + n;
  return 2 + field(tu53Length(count)) + field(defs) + field(states);
}

function encodeBlock(count: number, defs: Uint8Array, states: Uint8Array, open?: { firstHeight: number; tail: Tail }): Uint8Array {
  if (open === undefined) return revocationBlockRecord.encode({ count, htlcs: defs, states });
  const tail = new Out(32);
  writeTail(tail, open.tail);
  return revocationBlockRecord.encode({ count, firstHeight: open.firstHeight, htlcs: defs, states, tail: tail.view() });
}

// --- appending: a block being filled --------------------------------------------------------

/**
 * A block being filled. Appending needs only the tail and the dictionary, never the earlier
 * states: their bytes are carried over as they are.
 */
class Filling {
  private constructor(
    private firstHeight: number,
    private count: number,
    private tail: Tail | undefined,
    private readonly index: DefIndex,
    private readonly defs: Out,
    private readonly states: Out,
  ) {}

  static empty(): Filling {
    return new Filling(0, 0, undefined, new DefIndex([]), new Out(), new Out());
  }

  /** Continues an open block (its record in the open form). */
  static of(open: Uint8Array): Filling {
    const parts = openParts(open);
    return Filling.ofParts(parts, readTail(parts.tail));
  }

  /** Continues an open block already decoded. */
  static ofParts(parts: OpenParts, tail: Tail): Filling {
    const defs = new Out(parts.defs.length + 128);
    defs.bytes(parts.defs);
    const states = new Out(parts.states.length + 128);
    states.bytes(parts.states);
    // The dictionary's hash views point into our own copy, whose bytes stay as they are.
    return new Filling(parts.firstHeight, parts.count, tail, new DefIndex(readDefs(defs.view())), defs, states);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Appends `entry` if the block is empty or, sealed, stays within `limit` bytes — or within
   * four times what restarting would cost (the dictionary a new block needs for this state),
   * so that states with many HTLCs still share one. Returns false (and changes nothing)
   * otherwise. RangeError if the height is not above the last one.
   */
  tryAppend(entry: RevocationLogEntry, limit: number): boolean {
    const t = this.tail;
    const first = t === undefined;
    const heightDelta = first ? 0 : entry.commitHeight - t.lastHeight;
    if (!first && heightDelta < 1) throw new RangeError(`expected a height above ${t.lastHeight}, got ${entry.commitHeight}`);
    const sameIndexes = !first && entry.ourOutputIndex === t.ourIndex && entry.theirOutputIndex === t.theirIndex;
    const flags =
      (entry.ourBalanceMsat === undefined ? 0 : F_OUR_BALANCE) |
      (entry.theirBalanceMsat === undefined ? 0 : F_THEIR_BALANCE) |
      (sameIndexes ? F_SAME_INDEXES : 0) |
      (first || heightDelta === 1 ? 0 : F_HEIGHT_DELTA);
    const state = new Out(48 + entry.htlcs.length * 4);
    state.uint(entry.htlcs.length * 16 + flags);
    if ((flags & F_HEIGHT_DELTA) !== 0) state.uint(heightDelta);
    if (!sameIndexes) {
      state.uint(entry.ourOutputIndex);
      state.uint(entry.theirOutputIndex);
    }
    const txid = hexToBytes(entry.commitTxid);
    if (txid.length !== 32) throw new RangeError(`expected a 32-byte commitment txid, got ${txid.length} bytes`);
    state.bytes(txid);
    if (entry.ourBalanceMsat !== undefined) state.delta(entry.ourBalanceMsat - (t?.ourBalance ?? 0n));
    if (entry.theirBalanceMsat !== undefined) state.delta(entry.theirBalanceMsat - (t?.theirBalance ?? 0n));
    // HTLCs: a slot of the dictionary, or a new entry (kept aside until the state is taken).
    const added: Def[] = [];
    const newDefs = new Out(64);
    let restartCost = 0;
    for (const h of entry.htlcs) {
      const hash = hexToBytes(h.paymentHash);
      if (hash.length !== 32) throw new RangeError(`expected a 32-byte payment hash, got ${hash.length} bytes`);
      let slot = this.index.find(h, hash);
      for (let a = 0; slot === undefined && a < added.length; a++) if (sameDef(added[a]!, h, hash)) slot = this.index.defs.length + a;
      if (slot === undefined) {
        slot = this.index.defs.length + added.length;
        added.push({ hash, refundTimeout: h.refundTimeout, amountSat: h.amountSat, incoming: h.incoming, htlcIndex: h.htlcIndex });
        writeDef(newDefs, h, hash);
      }
      restartCost += 45;
      state.uint(slot);
      state.uint(h.outputIndex);
    }
    if (!first && sealedSize(this.count + 1, this.defs.len + newDefs.len, this.states.len + state.len) > Math.max(limit, 4 * restartCost)) return false;
    if (first) this.firstHeight = entry.commitHeight;
    for (const d of added) this.index.add(d);
    this.defs.bytes(newDefs.view());
    this.states.bytes(state.view());
    this.count++;
    this.tail = { lastHeight: entry.commitHeight, ourIndex: entry.ourOutputIndex, theirIndex: entry.theirOutputIndex, ourBalance: entry.ourBalanceMsat, theirBalance: entry.theirBalanceMsat };
    return true;
  }

  /** The block in its sealed form (as kept under its first height). */
  sealed(): RevocationBlock {
    if (this.count === 0) throw new RangeError('expected a block with states, got an empty one');
    return { firstHeight: this.firstHeight, bytes: encodeBlock(this.count, this.defs.view(), this.states.view()) };
  }

  /** The block in its open form (first height and tail included, for appending). */
  open(): Uint8Array {
    if (this.tail === undefined) throw new RangeError('expected a block with states, got an empty one');
    return encodeBlock(this.count, this.defs.view(), this.states.view(), { firstHeight: this.firstHeight, tail: this.tail });
  }
}

function sameDef(d: Def, h: HtlcEntry, hash: Uint8Array): boolean {
  return d.refundTimeout === h.refundTimeout && d.amountSat === h.amountSat && d.incoming === h.incoming && d.htlcIndex === h.htlcIndex && sameBytes(d.hash, hash);
}

// --- reading --------------------------------------------------------------------------------

/**
 * Walks the states of a block in order, building each entry for `sink` until it returns
 * false. A complete walk also checks the recorded count and, in the open form, the tail.
 * DecodeError if anything is malformed.
 */
function walk(parts: Parts, firstHeight: number, sink: (entry: RevocationLogEntry) => boolean | void): void {
  const defs = readDefs(parts.defs);
  const hexes: Array<string | undefined> = [];
  const r = new In(parts.states, 'RevocationBlock states');
  let height = firstHeight - 1;
  let ourIndex = -1;
  let theirIndex = -1;
  let ourBalance: bigint | undefined;
  let theirBalance: bigint | undefined;
  for (let i = 0; i < parts.count; i++) {
    const header = r.uint();
    const flags = header & 0xf;
    const htlcCount = Math.floor(header / 16);
    if ((flags & F_HEIGHT_DELTA) !== 0) {
      const delta = r.uint();
      if (i === 0 || delta < 1) throw new DecodeError('RevocationBlock: heights out of order');
      height += delta;
    } else height += 1;
    if ((flags & F_SAME_INDEXES) !== 0) {
      if (i === 0) throw new DecodeError('RevocationBlock: the first state repeats output indexes');
    } else {
      ourIndex = r.uint();
      theirIndex = r.uint();
    }
    const txid = r.take(32);
    ourBalance = (flags & F_OUR_BALANCE) !== 0 ? (ourBalance ?? 0n) + r.delta() : undefined;
    theirBalance = (flags & F_THEIR_BALANCE) !== 0 ? (theirBalance ?? 0n) + r.delta() : undefined;
    if ((ourBalance !== undefined && (ourBalance < 0n || ourBalance >= TWO_64)) || (theirBalance !== undefined && (theirBalance < 0n || theirBalance >= TWO_64))) {
      throw new DecodeError('RevocationBlock: a balance out of range');
    }
    const htlcs: HtlcEntry[] = [];
    for (let j = 0; j < htlcCount; j++) {
      const slot = r.uint();
      const outputIndex = r.uint();
      const d = defs[slot];
      if (d === undefined) throw new DecodeError(`RevocationBlock: HTLC slot ${slot} of ${defs.length}`);
      const paymentHash = (hexes[slot] ??= bytesToHex(d.hash));
      htlcs.push(
        d.htlcIndex === undefined
          ? { paymentHash, refundTimeout: d.refundTimeout, outputIndex, incoming: d.incoming, amountSat: d.amountSat }
          : { paymentHash, refundTimeout: d.refundTimeout, outputIndex, incoming: d.incoming, amountSat: d.amountSat, htlcIndex: d.htlcIndex },
      );
    }
    const entry: RevocationLogEntry = {
      commitHeight: height,
      ourOutputIndex: ourIndex,
      theirOutputIndex: theirIndex,
      commitTxid: bytesToHex(txid),
      ...(ourBalance === undefined ? {} : { ourBalanceMsat: ourBalance }),
      ...(theirBalance === undefined ? {} : { theirBalanceMsat: theirBalance }),
      htlcs,
    };
    if (sink(entry) === false) return;
  }
  if (!r.done()) throw new DecodeError(`RevocationBlock: ${parts.states.length - r.pos} bytes after the last state`);
  if (parts.tail !== undefined) {
    const tail = readTail(parts.tail);
    if (height !== tail.lastHeight || tail.ourIndex !== ourIndex || tail.theirIndex !== theirIndex || tail.ourBalance !== ourBalance || tail.theirBalance !== theirBalance) {
      throw new DecodeError('RevocationBlock: the recorded tail does not match the last state');
    }
  }
}

/** The parts of a block and its first height: the record's own (open form) or the key's. */
function located(bytes: Uint8Array, keyHeight: number | undefined): { parts: Parts; firstHeight: number } {
  const parts = partsOf(bytes);
  if (parts.firstHeight !== undefined && keyHeight !== undefined && parts.firstHeight !== keyHeight) {
    throw new DecodeError(`RevocationBlock: stored under height ${keyHeight} but starts at ${parts.firstHeight}`);
  }
  const firstHeight = parts.firstHeight ?? keyHeight;
  if (firstHeight === undefined) throw new DecodeError('RevocationBlock: a sealed block read without its key');
  return { parts, firstHeight };
}

// --- the public operations ---------------------------------------------------------------

/** A sealed block: the height of its first state (its key) and its record bytes. */
export interface RevocationBlock {
  readonly firstHeight: number;
  readonly bytes: Uint8Array;
}

/** The parts of a block in the open form (first height and tail present). */
type OpenParts = Parts & { readonly firstHeight: number; readonly tail: Uint8Array };

function openParts(open: Uint8Array): OpenParts {
  const parts = partsOf(open);
  if (parts.firstHeight === undefined || parts.tail === undefined) throw new DecodeError('RevocationBlock: an open block without its first height or tail');
  return parts as OpenParts;
}

/** First height, state count and last height of an open block, without decoding its states. */
export function openBlockSummary(open: Uint8Array): { firstHeight: number; count: number; lastHeight: number } {
  const parts = openParts(open);
  return { firstHeight: parts.firstHeight, count: parts.count, lastHeight: readTail(parts.tail).lastHeight };
}

/**
 * First height, state count and last height of a block (either form; a sealed one with the
 * height it is stored under), reading its state headers only: no entry, hash or balance is
 * built. For bulk copies of whole blocks (bulk-transfer.ts BulkRevocationBlock). DecodeError
 * if the block is malformed in what it reads.
 */
export function blockSpan(bytes: Uint8Array, keyHeight?: number): { firstHeight: number; count: number; lastHeight: number } {
  const { parts, firstHeight } = located(bytes, keyHeight);
  if (parts.tail !== undefined) return { firstHeight, count: parts.count, lastHeight: readTail(parts.tail).lastHeight };
  const r = new In(parts.states, 'RevocationBlock states');
  let height = firstHeight - 1;
  for (let i = 0; i < parts.count; i++) {
    const header = r.uint();
    const flags = header & 0xf;
    const htlcCount = Math.floor(header / 16);
    if ((flags & F_HEIGHT_DELTA) !== 0) {
      const delta = r.uint();
      if (i === 0 || delta < 1) throw new DecodeError('RevocationBlock: heights out of order');
      height += delta;
    } else height += 1;
    if ((flags & F_SAME_INDEXES) === 0) {
      r.skipVarint(8);
      r.skipVarint(8);
    }
    r.skip(32);
    if ((flags & F_OUR_BALANCE) !== 0) r.skipVarint(10);
    if ((flags & F_THEIR_BALANCE) !== 0) r.skipVarint(10);
    for (let j = 0; j < htlcCount; j++) {
      r.skipVarint(8);
      r.skipVarint(8);
    }
  }
  if (!r.done()) throw new DecodeError(`RevocationBlock: ${parts.states.length - r.pos} bytes after the last state`);
  return { firstHeight, count: parts.count, lastHeight: height };
}

/** The number of states in a block (either form). */
export function blockStateCount(bytes: Uint8Array): number {
  return partsOf(bytes).count;
}

/**
 * Every state of a block, in height order: a sealed block with the height it is stored
 * under, an open block without. DecodeError if the block is malformed.
 */
export function decodeBlock(bytes: Uint8Array, keyHeight?: number): RevocationLogEntry[] {
  const { parts, firstHeight } = located(bytes, keyHeight);
  const out: RevocationLogEntry[] = [];
  walk(parts, firstHeight, (e) => void out.push(e));
  return out;
}

/** The state at `height` in a block (as decodeBlock), or undefined. */
export function findInBlock(bytes: Uint8Array, height: number, keyHeight?: number): RevocationLogEntry | undefined {
  const { parts, firstHeight } = located(bytes, keyHeight);
  let found: RevocationLogEntry | undefined;
  walk(parts, firstHeight, (e) => {
    if (e.commitHeight === height) found = e;
    return e.commitHeight < height;
  });
  return found;
}

/**
 * Packs entries (in increasing height order, no repeats) into sealed blocks greedily (see
 * Filling.tryAppend for when a block is full); a state larger than `limit` gets a block of
 * its own. RangeError for heights out of order.
 */
export function packSealed(entries: Iterable<RevocationLogEntry>, limit: number): RevocationBlock[] {
  const { sealed, last } = pack(entries, limit);
  if (last.size > 0) sealed.push(last.sealed());
  return sealed;
}

function pack(entries: Iterable<RevocationLogEntry>, limit: number, start = Filling.empty()): { sealed: RevocationBlock[]; last: Filling } {
  const sealed: RevocationBlock[] = [];
  let block = start;
  for (const entry of entries) {
    if (!block.tryAppend(entry, limit)) {
      sealed.push(block.sealed());
      block = Filling.empty();
      block.tryAppend(entry, limit);
    }
  }
  return { sealed, last: block };
}

/** What storing a state at or after the open block writes: the open block, and blocks sealed on the way. */
export interface OpenBlockWrite {
  /** The open block now (its open form). */
  readonly open: Uint8Array;
  /** Blocks to store under their first heights, below the open block's. */
  readonly sealed: readonly RevocationBlock[];
}

/**
 * Stores `entry` in the open block (undefined when the log is empty). The usual case — a
 * height above the last one — appends to it, or seals it and starts the next one when it is
 * full. A height inside it (a repeat replaces that state, as a put does) re-packs it.
 * Undefined, and nothing to write, if the height is below the open block's first height:
 * such a state belongs to a sealed block (see storeInSealed). The open block is decoded
 * once, and its earlier states are never decoded when appending.
 */
export function storeInOpen(open: Uint8Array | undefined, entry: RevocationLogEntry, limit: number): OpenBlockWrite | undefined {
  if (open === undefined) {
    const block = Filling.empty();
    block.tryAppend(entry, limit);
    return { open: block.open(), sealed: [] };
  }
  const parts = openParts(open);
  const tail = readTail(parts.tail);
  if (entry.commitHeight < parts.firstHeight) return undefined;
  if (entry.commitHeight > tail.lastHeight) {
    const block = Filling.ofParts(parts, tail);
    if (block.tryAppend(entry, limit)) return { open: block.open(), sealed: [] };
    const next = Filling.empty();
    next.tryAppend(entry, limit);
    return { open: next.open(), sealed: [block.sealed()] };
  }
  const { sealed, last } = pack(upsert(decodeBlock(open), entry), limit);
  return { open: last.open(), sealed };
}

/**
 * storeInOpen for many states at once, each above the last one stored, in height order (a
 * bulk import, chanstate/bulk-transfer.ts): the open block is read once and the states are
 * appended one after the other, sealing blocks on the way — the same blocks as storing them
 * one by one. RangeError if a height is not above the previous one, or if there is nothing
 * to store into an empty log.
 */
export function appendToOpen(open: Uint8Array | undefined, entries: readonly RevocationLogEntry[], limit: number): OpenBlockWrite {
  if (entries.length === 0) {
    if (open === undefined) throw new RangeError('expected states to append to an empty revocation log, got none');
    return { open, sealed: [] };
  }
  const { sealed, last } = pack(entries, limit, open === undefined ? Filling.empty() : Filling.of(open));
  return { open: last.open(), sealed };
}

/**
 * The sealed blocks that store `entry`, a state below the open block: `at` is the sealed
 * block with the greatest first height at or below the entry's height (undefined if none).
 * Its states and the entry are re-packed; the first block keeps `at`'s key (or, without
 * `at`, the entry's height), and the others fall between it and the next block.
 */
export function storeInSealed(at: RevocationBlock | undefined, entry: RevocationLogEntry, limit: number): RevocationBlock[] {
  return packSealed(at === undefined ? [entry] : upsert(decodeBlock(at.bytes, at.firstHeight), entry), limit);
}

function upsert(entries: RevocationLogEntry[], entry: RevocationLogEntry): RevocationLogEntry[] {
  const out = entries.filter((e) => e.commitHeight !== entry.commitHeight);
  out.push(entry);
  out.sort((a, b) => a.commitHeight - b.commitHeight);
  return out;
}

/**
 * Packs one channel's whole log, given in increasing height order, into exactly the blocks
 * the store would hold after appending the states one by one: sealed blocks as they fill
 * (returned by `add`), then the open block (`finish`). For migrations and bulk loads.
 */
export class RevocationLogPacker {
  private block = Filling.empty();

  constructor(private readonly limit: number) {}

  /** Adds the next state; returns the block it sealed, if any. RangeError unless its height is above the last. */
  add(entry: RevocationLogEntry): RevocationBlock[] {
    if (this.block.tryAppend(entry, this.limit)) return [];
    const sealed = this.block.sealed();
    this.block = Filling.empty();
    this.block.tryAppend(entry, this.limit);
    return [sealed];
  }

  /** The open block (undefined when nothing was added). */
  finish(): Uint8Array | undefined {
    return this.block.size === 0 ? undefined : this.block.open();
  }
}
