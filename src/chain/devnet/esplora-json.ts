/**
 * The JSON shapes of the Esplora HTTP API, as electrs (Blockstream's Esplora backend) writes
 * them, for the devnet server: transactions (`GET /tx/:txid`), blocks (`GET /block/:hash`)
 * and statuses, field for field and in electrs' field order.
 *
 * Scripts appear as hex and as "asm": the disassembly electrs prints (rust-bitcoin's), where
 * a data push shows its opcode and then its bytes (`OP_0 OP_PUSHBYTES_20 <hex>`), small
 * numbers are `OP_PUSHNUM_n`, and CHECKLOCKTIMEVERIFY / CHECKSEQUENCEVERIFY are `OP_CLTV` /
 * `OP_CSV`. Output types use electrs' names (`v0_p2wpkh`, `p2pk`, `op_return`, ...).
 */
import { bytesToHex } from '../../codec/bytes.js';
import type { ChainTransaction, TxStatus } from '../chain.js';
import { esploraScriptType, scriptToAddress, type BitcoinNetwork } from '../network.js';
import { blockDifficulty, decodeHeader } from './block.js';
import type { DevnetBlock } from './ledger.js';
import { isNullOutpoint, type DecodedTx } from './tx-validation.js';

/** Names (without `OP_`) of opcodes 0x61 (NOP) to 0xaf (CHECKMULTISIGVERIFY), in order. */
const NAMES_0X61_TO_0XAF = (
  'NOP VER IF NOTIF VERIF VERNOTIF ELSE ENDIF VERIFY RETURN TOALTSTACK FROMALTSTACK 2DROP 2DUP 3DUP 2OVER 2ROT ' +
  '2SWAP IFDUP DEPTH DROP DUP NIP OVER PICK ROLL ROT SWAP TUCK CAT SUBSTR LEFT RIGHT SIZE INVERT AND OR XOR EQUAL ' +
  'EQUALVERIFY RESERVED1 RESERVED2 1ADD 1SUB 2MUL 2DIV NEGATE ABS NOT 0NOTEQUAL ADD SUB MUL DIV MOD LSHIFT RSHIFT ' +
  'BOOLAND BOOLOR NUMEQUAL NUMEQUALVERIFY NUMNOTEQUAL LESSTHAN GREATERTHAN LESSTHANOREQUAL GREATERTHANOREQUAL MIN ' +
  'MAX WITHIN RIPEMD160 SHA1 SHA256 HASH160 HASH256 CODESEPARATOR CHECKSIG CHECKSIGVERIFY CHECKMULTISIG ' +
  'CHECKMULTISIGVERIFY'
).split(' ');

/** The asm name of opcode byte `op` (0..255), e.g. `OP_PUSHBYTES_20`, `OP_CSV`, `OP_RETURN_200`. */
export function opcodeName(op: number): string {
  if (!Number.isInteger(op) || op < 0 || op > 0xff) throw new RangeError(`expected an opcode byte, got ${op}`);
  if (op <= 0x4b) return `OP_PUSHBYTES_${op}`;
  if (op === 0x4c) return 'OP_PUSHDATA1';
  if (op === 0x4d) return 'OP_PUSHDATA2';
  if (op === 0x4e) return 'OP_PUSHDATA4';
  if (op === 0x4f) return 'OP_PUSHNUM_NEG1';
  if (op === 0x50) return 'OP_RESERVED';
  if (op <= 0x60) return `OP_PUSHNUM_${op - 0x50}`;
  if (op <= 0xaf) return `OP_${NAMES_0X61_TO_0XAF[op - 0x61]}`;
  if (op === 0xb1) return 'OP_CLTV';
  if (op === 0xb2) return 'OP_CSV';
  if (op <= 0xb9) return `OP_NOP${op - 0xb0 + 1}`;
  if (op === 0xba) return 'OP_CHECKSIGADD';
  if (op === 0xff) return 'OP_INVALIDOPCODE';
  return `OP_RETURN_${op}`;
}

/**
 * The asm of a script, as electrs shows it. A push that runs past the end of the script
 * ends the text with `<push past end>`; a PUSHDATA whose length bytes are cut off, with
 * `<unexpected end>`.
 */
export function scriptAsm(script: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < script.length) {
    const op = script[i++]!;
    let length = op <= 0x4b ? op : 0;
    if (op >= 0x4c && op <= 0x4e) {
      const width = op === 0x4c ? 1 : op === 0x4d ? 2 : 4;
      if (script.length - i < width) {
        out += '<unexpected end>';
        break;
      }
      length = 0;
      for (let b = width - 1; b >= 0; b--) length = length * 256 + script[i + b]!;
      i += width;
    }
    if (out !== '') out += ' ';
    out += op === 0 ? 'OP_0' : opcodeName(op);
    if (length > 0) {
      if (length > script.length - i) {
        out += ' <push past end>';
        break;
      }
      out += ` ${bytesToHex(script.subarray(i, i + length))}`;
      i += length;
    }
  }
  return out;
}

/** True for the opcodes that make an output provably unspendable when they come first (as OP_RETURN, or illegal). */
function failsAtOnce(op: number): boolean {
  const returnLike = op === 0x50 || op === 0x62 || op === 0x6a || op === 0x89 || op === 0x8a || op >= 0xba;
  const illegal = op === 0x65 || op === 0x66 || (op >= 0x7e && op <= 0x81) || (op >= 0x83 && op <= 0x86) || op === 0x8d || op === 0x8e || (op >= 0x95 && op <= 0x99);
  return returnLike || illegal;
}

/** Esplora's `scriptpubkey_type`: empty, op_return, p2pk, p2pkh, p2sh, v0_p2wpkh, v0_p2wsh, v1_p2tr, provably_unspendable or unknown. */
export function esploraOutputType(script: Uint8Array): string {
  if (script.length === 0) return 'empty';
  if (script[0] === 0x6a) return 'op_return';
  const n = script.length;
  if ((n === 67 && script[0] === 0x41 && script[66] === 0xac) || (n === 35 && script[0] === 0x21 && script[34] === 0xac)) return 'p2pk';
  const standard = esploraScriptType(script);
  if (standard !== 'unknown') return standard;
  return failsAtOnce(script[0]!) ? 'provably_unspendable' : 'unknown';
}

/** An output as Esplora shows it in `vout[]` and in `vin[].prevout`. */
export function txOutJson(script: Uint8Array, value: bigint, network: BitcoinNetwork): object {
  const address = scriptToAddress(script, network);
  return {
    scriptpubkey: bytesToHex(script),
    scriptpubkey_asm: scriptAsm(script),
    scriptpubkey_type: esploraOutputType(script),
    ...(address === undefined ? {} : { scriptpubkey_address: address }),
    value: Number(value),
  };
}

/** The data of the last operation of `script` if it is a push, else undefined (also for a script that does not parse). */
function lastPush(script: Uint8Array): Uint8Array | undefined {
  let last: Uint8Array | undefined;
  let i = 0;
  while (i < script.length) {
    const op = script[i++]!;
    if (op > 0x4e) {
      last = undefined;
      continue;
    }
    let length = op;
    if (op >= 0x4c) {
      const width = op === 0x4c ? 1 : op === 0x4d ? 2 : 4;
      if (script.length - i < width) return undefined;
      length = 0;
      for (let b = width - 1; b >= 0; b--) length = length * 256 + script[i + b]!;
      i += width;
    }
    if (length > script.length - i) return undefined;
    last = script.subarray(i, i + length);
    i += length;
  }
  return last;
}

/**
 * The scripts an input reveals: the redeemScript of a P2SH spend (the last push of its
 * scriptSig) and the witnessScript of a P2WSH or P2SH-P2WSH spend (its last witness item).
 */
function innerScripts(prevoutScript: Uint8Array, scriptSig: Uint8Array, witness: readonly Uint8Array[]): { redeem?: Uint8Array; witness?: Uint8Array } {
  const redeem = esploraScriptType(prevoutScript) === 'p2sh' ? lastPush(scriptSig) : undefined;
  const wrapsWsh = esploraScriptType(prevoutScript) === 'v0_p2wsh' || (redeem !== undefined && esploraScriptType(redeem) === 'v0_p2wsh');
  const witnessScript = wrapsWsh ? witness[witness.length - 1] : undefined;
  return { ...(redeem === undefined ? {} : { redeem }), ...(witnessScript === undefined ? {} : { witness: witnessScript }) };
}

/** A confirmation status as Esplora shows it (`{confirmed:false}` while unconfirmed). */
export function statusJson(status: TxStatus): object {
  return status.confirmed
    ? { confirmed: true, block_height: status.blockHeight, block_hash: status.blockHash, block_time: status.blockTime }
    : { confirmed: false };
}

/**
 * A transaction as `GET /tx/:txid` shows it. `tx` brings the chain context (prevouts, fee,
 * status); `decoded` the bytes (scriptSigs, size).
 */
export function txJson(tx: ChainTransaction, decoded: DecodedTx, network: BitcoinNetwork): object {
  return {
    txid: tx.txid,
    version: tx.version,
    locktime: tx.locktime,
    vin: decoded.inputs.map((input, i) => {
      const prevout = tx.inputs[i]?.prevout;
      const inner = prevout === undefined ? {} : innerScripts(prevout.script, input.scriptSig, input.witness);
      return {
        txid: input.txid,
        vout: input.index,
        prevout: prevout === undefined ? null : txOutJson(prevout.script, prevout.value, network),
        scriptsig: bytesToHex(input.scriptSig),
        scriptsig_asm: scriptAsm(input.scriptSig),
        ...(input.witness.length === 0 ? {} : { witness: input.witness.map(bytesToHex) }),
        is_coinbase: isNullOutpoint(input),
        sequence: input.sequence,
        ...(inner.redeem === undefined ? {} : { inner_redeemscript_asm: scriptAsm(inner.redeem) }),
        ...(inner.witness === undefined ? {} : { inner_witnessscript_asm: scriptAsm(inner.witness) }),
      };
    }),
    vout: decoded.outputs.map((output) => txOutJson(output.script, output.value, network)),
    size: decoded.raw.length,
    weight: tx.weight,
    fee: Number(tx.fee),
    status: statusJson(tx.status),
  };
}

/** A block as `GET /block/:hash` shows it; `previousblockhash` is null for the genesis block. */
export function blockJson(block: DevnetBlock): object {
  const header = decodeHeader(block.header);
  return {
    id: block.hash,
    height: block.height,
    version: header.version >>> 0,
    timestamp: header.time,
    tx_count: block.txids.length,
    size: block.size,
    weight: block.weight,
    merkle_root: header.merkleRoot,
    previousblockhash: /^0{64}$/.test(header.prevHash) ? null : header.prevHash,
    mediantime: block.medianTime,
    nonce: header.nonce,
    bits: header.bits,
    difficulty: blockDifficulty(header.bits),
  };
}
