/**
 * Bitcoin Script assembly: the opcodes BOLT 3 needs, minimal data pushes, script numbers,
 * and the standard output scripts (P2WSH, P2WPKH, P2PKH, P2TR) chand creates or recognises.
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, assertInt } from './bytes.js';

/** The opcodes used by chand's scripts. */
export const OP = {
  OP_0: 0x00,
  OP_PUSHDATA1: 0x4c,
  OP_PUSHDATA2: 0x4d,
  OP_1NEGATE: 0x4f,
  OP_1: 0x51,
  OP_2: 0x52,
  OP_16: 0x60,
  OP_NOTIF: 0x64,
  OP_IF: 0x63,
  OP_ELSE: 0x67,
  OP_ENDIF: 0x68,
  OP_VERIFY: 0x69,
  OP_RETURN: 0x6a,
  OP_IFDUP: 0x73,
  OP_DROP: 0x75,
  OP_DUP: 0x76,
  OP_SWAP: 0x7c,
  OP_SIZE: 0x82,
  OP_EQUAL: 0x87,
  OP_EQUALVERIFY: 0x88,
  OP_HASH160: 0xa9,
  OP_CHECKSIG: 0xac,
  OP_CHECKSIGVERIFY: 0xad,
  OP_CHECKMULTISIG: 0xae,
  OP_CHECKLOCKTIMEVERIFY: 0xb1,
  OP_CHECKSEQUENCEVERIFY: 0xb2,
} as const;

/** One element of a script under construction: an opcode number or bytes to push. */
export type ScriptChunk = number | Uint8Array;

/**
 * Concatenates opcodes and data pushes into a script. Byte chunks become minimal pushes
 * (direct push up to 75 bytes, then PUSHDATA1/2). Number chunks are emitted as raw opcodes;
 * use `scriptNum` to push an integer.
 */
export function compileScript(chunks: readonly ScriptChunk[]): Uint8Array {
  const parts: number[] = [];
  for (const chunk of chunks) {
    if (typeof chunk === 'number') {
      assertInt('opcode', chunk, 0, 0xff);
      parts.push(chunk);
      continue;
    }
    const n = chunk.length;
    if (n < OP.OP_PUSHDATA1) parts.push(n);
    else if (n <= 0xff) parts.push(OP.OP_PUSHDATA1, n);
    else if (n <= 0xffff) parts.push(OP.OP_PUSHDATA2, n & 0xff, n >>> 8);
    else throw new RangeError(`expected a push of at most 65535 bytes, got ${n}`);
    for (const b of chunk) parts.push(b);
  }
  return Uint8Array.from(parts);
}

/**
 * The minimal push of integer `n` as a script chunk: OP_0, OP_1..OP_16, OP_1NEGATE, or the
 * CScriptNum little-endian sign-magnitude encoding (e.g. 144 -> push 0x9000).
 */
export function scriptNum(n: number): ScriptChunk {
  assertInt('script number', n, -0x7fff_ffff, 0xff_ffff_ffff);
  if (n === 0) return OP.OP_0;
  if (n === -1) return OP.OP_1NEGATE;
  if (n >= 1 && n <= 16) return OP.OP_1 + n - 1;
  const negative = n < 0;
  let abs = Math.abs(n);
  const bytes: number[] = [];
  while (abs > 0) {
    bytes.push(abs & 0xff);
    abs = Math.floor(abs / 256);
  }
  const last = bytes.length - 1;
  if (bytes[last]! & 0x80) bytes.push(negative ? 0x80 : 0x00);
  else if (negative) bytes[last] = bytes[last]! | 0x80;
  return Uint8Array.from(bytes);
}

/** RIPEMD160(SHA256(data)). */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(sha256(data));
}

/** SHA256(SHA256(data)): the hash of txids, wtxids, block headers and merkle nodes (internal byte order). */
export function hash256(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** The P2WSH scriptPubKey (`OP_0 <sha256(witnessScript)>`) of a witness script. */
export function p2wshScript(witnessScript: Uint8Array): Uint8Array {
  assertBytes('witness script', witnessScript);
  return compileScript([OP.OP_0, sha256(witnessScript)]);
}

/** The P2WPKH scriptPubKey (`OP_0 <hash160(pubkey)>`) of a 33-byte compressed public key. */
export function p2wpkhScript(pubkey: Uint8Array): Uint8Array {
  assertBytes('public key', pubkey, 33);
  return compileScript([OP.OP_0, hash160(pubkey)]);
}

/** The P2PKH scriptPubKey of a 20-byte public key hash (also the BIP143 scriptCode of P2WPKH). */
export function p2pkhScriptFromHash(pubkeyHash: Uint8Array): Uint8Array {
  assertBytes('public key hash', pubkeyHash, 20);
  return compileScript([OP.OP_DUP, OP.OP_HASH160, pubkeyHash, OP.OP_EQUALVERIFY, OP.OP_CHECKSIG]);
}

/** The kinds of scriptPubKey that `classifyOutputScript` recognises. */
export type OutputScriptType = 'p2wpkh' | 'p2wsh' | 'p2tr' | 'p2pkh' | 'p2sh' | 'op_return' | 'unknown';

/** The standard type of a scriptPubKey, judged by its exact byte pattern. */
export function classifyOutputScript(script: Uint8Array): OutputScriptType {
  const n = script.length;
  if (n === 22 && script[0] === OP.OP_0 && script[1] === 20) return 'p2wpkh';
  if (n === 34 && script[0] === OP.OP_0 && script[1] === 32) return 'p2wsh';
  if (n === 34 && script[0] === OP.OP_1 && script[1] === 32) return 'p2tr';
  if (n === 25 && script[0] === OP.OP_DUP && script[1] === OP.OP_HASH160 && script[2] === 20 && script[23] === OP.OP_EQUALVERIFY && script[24] === OP.OP_CHECKSIG) {
    return 'p2pkh';
  }
  if (n === 23 && script[0] === OP.OP_HASH160 && script[1] === 20 && script[22] === OP.OP_EQUAL) return 'p2sh';
  if (n >= 1 && script[0] === OP.OP_RETURN) return 'op_return';
  return 'unknown';
}

/** Bitcoin Core's dust threshold for an output with this scriptPubKey (BOLT 3 "Dust Limits"). */
export function dustThreshold(script: Uint8Array): bigint {
  switch (classifyOutputScript(script)) {
    case 'p2pkh':
      return 546n;
    case 'p2sh':
      return 540n;
    case 'p2wpkh':
      return 294n;
    case 'p2wsh':
      return 330n;
    case 'op_return':
      return 0n;
    case 'p2tr':
    case 'unknown':
      return 354n;
  }
}
