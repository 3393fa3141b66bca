/**
 * A small segwit v0 P2WSH script interpreter for tests: enough of Bitcoin Script to run the
 * BOLT 3 scripts (funding 2-of-2, to_local, offered/received HTLC) against a witness, with
 * the policy rules those scripts are designed for (MINIMALIF, NULLDUMMY, NULLFAIL, clean
 * stack, strict DER, low-S) and real CLTV/CSV checks against the spending transaction.
 * It is not consensus-complete and lives in test/ on purpose.
 */
import { decodeWitnessSignature, verifyDigest } from '../../../src/bitcoin/ecdsa.js';
import { OP, hash160, p2wshScript } from '../../../src/bitcoin/script.js';
import { segwitV0Sighash } from '../../../src/bitcoin/sighash.js';
import type { BitcoinTx, TxOutput } from '../../../src/bitcoin/transaction.js';
import { bytesEqual } from '../../../src/bitcoin/bytes.js';

/** Outcome of running one input. */
export type VerifyResult = { ok: true } | { ok: false; error: string };

class ScriptFailure extends Error {}

function fail(why: string): never {
  throw new ScriptFailure(why);
}

function isTrue(item: Uint8Array): boolean {
  for (let i = 0; i < item.length; i++) {
    if (item[i] !== 0) return !(i === item.length - 1 && item[i] === 0x80); // negative zero is false
  }
  return false;
}

function decodeNum(item: Uint8Array, maxLen: number): number {
  if (item.length > maxLen) fail(`number of ${item.length} bytes exceeds ${maxLen}`);
  if (item.length === 0) return 0;
  // Minimal encoding: the top byte may only be 0x00/0x80 if the next byte needs its sign bit.
  const last = item[item.length - 1]!;
  if ((last & 0x7f) === 0 && (item.length === 1 || (item[item.length - 2]! & 0x80) === 0)) fail('non-minimal number');
  let n = 0;
  for (let i = item.length - 1; i >= 0; i--) n = n * 256 + (i === item.length - 1 ? item[i]! & 0x7f : item[i]!);
  return last & 0x80 ? -n : n;
}

function encodeBool(b: boolean): Uint8Array {
  return b ? Uint8Array.of(1) : new Uint8Array(0);
}

/** Runs input `index` of `tx`, which spends `prevout`, as a P2WSH spend. */
export function verifyP2wshInput(tx: BitcoinTx, index: number, prevout: TxOutput): VerifyResult {
  try {
    run(tx, index, prevout);
    return { ok: true };
  } catch (err) {
    if (err instanceof ScriptFailure) return { ok: false, error: err.message };
    throw err;
  }
}

function run(tx: BitcoinTx, index: number, prevout: TxOutput): void {
  const input = tx.inputs[index] ?? fail('no such input');
  if (input.scriptSig.length !== 0) fail('scriptSig must be empty');
  const witness = input.witness;
  if (witness.length === 0) fail('empty witness');
  const script = witness[witness.length - 1]!;
  if (!bytesEqual(p2wshScript(script), prevout.script)) fail('witness script does not hash to the spent output');
  const stack: Uint8Array[] = witness.slice(0, -1).map((w) => Uint8Array.from(w));
  for (const item of stack) if (item.length > 520) fail('stack item too large');

  const pop = (): Uint8Array => stack.pop() ?? fail('stack underflow');
  const top = (): Uint8Array => stack[stack.length - 1] ?? fail('stack underflow');

  const checkSig = (sigItem: Uint8Array, pubkey: Uint8Array): boolean => {
    if (sigItem.length === 0) return false;
    let decoded;
    try {
      decoded = decodeWitnessSignature(sigItem);
    } catch {
      fail('signature is not strict DER');
    }
    if (pubkey.length !== 33 || (pubkey[0] !== 2 && pubkey[0] !== 3)) fail('public key is not compressed');
    const digest = segwitV0Sighash(tx, index, script, prevout.value, decoded.sighashType);
    return verifyDigest(decoded.signature, digest, pubkey);
  };

  // Execution-state stack of IF branches: true = executing.
  const branches: boolean[] = [];
  const executing = (): boolean => branches.every((b) => b);
  let pc = 0;
  while (pc < script.length) {
    const op = script[pc++]!;
    // Data pushes.
    if (op >= 0x01 && op <= 0x4b) {
      if (pc + op > script.length) fail('push past end of script');
      if (executing()) stack.push(script.slice(pc, pc + op));
      pc += op;
      continue;
    }
    if (op === OP.OP_PUSHDATA1 || op === OP.OP_PUSHDATA2) {
      const size = op === OP.OP_PUSHDATA1 ? 1 : 2;
      if (pc + size > script.length) fail('push length past end of script');
      const len = size === 1 ? script[pc]! : script[pc]! | (script[pc + 1]! << 8);
      pc += size;
      if (pc + len > script.length) fail('push past end of script');
      if (executing()) stack.push(script.slice(pc, pc + len));
      pc += len;
      continue;
    }
    // Flow control runs even in non-executing branches.
    if (op === OP.OP_IF || op === OP.OP_NOTIF) {
      let value = false;
      if (executing()) {
        const cond = pop();
        // MINIMALIF (a segwit v0 policy BOLT 3 relies on): exactly empty or 0x01.
        if (cond.length > 1 || (cond.length === 1 && cond[0] !== 1)) fail('MINIMALIF: IF argument must be empty or 0x01');
        value = cond.length === 1;
        if (op === OP.OP_NOTIF) value = !value;
      }
      branches.push(value);
      continue;
    }
    if (op === OP.OP_ELSE) {
      if (branches.length === 0) fail('ELSE without IF');
      branches[branches.length - 1] = !branches[branches.length - 1];
      continue;
    }
    if (op === OP.OP_ENDIF) {
      if (branches.length === 0) fail('ENDIF without IF');
      branches.pop();
      continue;
    }
    if (!executing()) continue;

    if (op === OP.OP_0) stack.push(new Uint8Array(0));
    else if (op === OP.OP_1NEGATE) stack.push(Uint8Array.of(0x81));
    else if (op >= OP.OP_1 && op <= OP.OP_16) stack.push(Uint8Array.of(op - OP.OP_1 + 1));
    else if (op === OP.OP_VERIFY) {
      if (!isTrue(pop())) fail('VERIFY failed');
    } else if (op === OP.OP_IFDUP) {
      if (isTrue(top())) stack.push(Uint8Array.from(top()));
    } else if (op === OP.OP_DROP) pop();
    else if (op === OP.OP_DUP) stack.push(Uint8Array.from(top()));
    else if (op === OP.OP_SWAP) {
      const a = pop();
      const b = pop();
      stack.push(a, b);
    } else if (op === OP.OP_SIZE) {
      const n = top().length;
      stack.push(n === 0 ? new Uint8Array(0) : n < 0x80 ? Uint8Array.of(n) : Uint8Array.of(n & 0xff, n >> 8));
    } else if (op === OP.OP_EQUAL || op === OP.OP_EQUALVERIFY) {
      const eq = bytesEqual(pop(), pop());
      if (op === OP.OP_EQUALVERIFY) {
        if (!eq) fail('EQUALVERIFY failed');
      } else stack.push(encodeBool(eq));
    } else if (op === OP.OP_HASH160) stack.push(hash160(pop()));
    else if (op === OP.OP_CHECKSIG || op === OP.OP_CHECKSIGVERIFY) {
      const pubkey = pop();
      const sig = pop();
      const ok = checkSig(sig, pubkey);
      if (!ok && sig.length > 0) fail('NULLFAIL: a failing signature must be empty');
      if (op === OP.OP_CHECKSIGVERIFY) {
        if (!ok) fail('CHECKSIGVERIFY failed');
      } else stack.push(encodeBool(ok));
    } else if (op === OP.OP_CHECKMULTISIG) {
      const n = decodeNum(pop(), 4);
      if (n < 0 || n > 20) fail('bad pubkey count');
      const pubkeys = Array.from({ length: n }, pop).reverse();
      const m = decodeNum(pop(), 4);
      if (m < 0 || m > n) fail('bad signature count');
      const sigs = Array.from({ length: m }, pop).reverse();
      if (pop().length !== 0) fail('NULLDUMMY: dummy element must be empty');
      // Signatures must match keys in order.
      let k = 0;
      let ok = true;
      for (const sig of sigs) {
        while (k < pubkeys.length && !checkSig(sig, pubkeys[k]!)) k++;
        if (k === pubkeys.length) {
          ok = false;
          break;
        }
        k++;
      }
      if (!ok && sigs.some((s) => s.length > 0)) fail('NULLFAIL: failing CHECKMULTISIG with non-empty signatures');
      stack.push(encodeBool(ok));
    } else if (op === OP.OP_CHECKLOCKTIMEVERIFY) {
      const n = decodeNum(top(), 5);
      if (n < 0) fail('negative locktime');
      const threshold = 500_000_000;
      if ((n < threshold) !== (tx.lockTime < threshold)) fail('locktime type mismatch');
      if (n > tx.lockTime) fail(`CLTV: locktime ${tx.lockTime} below ${n}`);
      if (input.sequence === 0xffff_ffff) fail('CLTV: input is final');
    } else if (op === OP.OP_CHECKSEQUENCEVERIFY) {
      const n = decodeNum(top(), 5);
      if (n < 0) fail('negative sequence');
      if ((n & 0x8000_0000) === 0) {
        if (tx.version < 2) fail('CSV: version below 2');
        const seq = input.sequence;
        if (seq & 0x8000_0000) fail('CSV: input disables relative locktime');
        if ((n & 0x0040_0000) !== (seq & 0x0040_0000)) fail('CSV: type mismatch');
        if ((n & 0xffff) > (seq & 0xffff)) fail(`CSV: sequence ${seq & 0xffff} below ${n & 0xffff}`);
      }
    } else fail(`unsupported opcode 0x${op.toString(16)}`);
    if (stack.length > 1000) fail('stack too large');
  }
  if (branches.length !== 0) fail('unbalanced IF');
  if (stack.length !== 1) fail(`clean stack: ${stack.length} items left`);
  if (!isTrue(stack[0]!)) fail('script evaluated to false');
}
