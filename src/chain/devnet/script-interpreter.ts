/**
 * A small Bitcoin script interpreter for segwit v0 spends (P2WPKH and P2WSH), used by the
 * devnet to check the transactions submitted to it.
 *
 * Design: a script is first split into operations (a truncated push fails the whole script,
 * executed or not), then run on a stack machine with a condition stack for IF/ELSE/ENDIF.
 * It covers the data, stack, arithmetic, hashing, signature (CHECKSIG, CHECKMULTISIG m-of-n)
 * and timelock (CHECKLOCKTIMEVERIFY, CHECKSEQUENCEVERIFY) opcodes that P2WPKH and the BOLT 3
 * scripts (funding 2-of-2, to_local, to_remote, anchors, offered/received HTLCs, HTLC
 * outputs) use, plus their close relatives. Anything else (OP_CODESEPARATOR, upgradable NOPs,
 * disabled opcodes, unknown bytes) fails with a reason; nothing here throws on bad input.
 *
 * Besides consensus rules it applies the standardness rules a Bitcoin node enforces on
 * segwit v0 spends, so that a transaction the devnet accepts would also relay: strict DER
 * signatures with low S and a defined sighash type, compressed public keys, minimal pushes
 * and numbers, MINIMALIF, NULLFAIL and NULLDUMMY. A failure says whether the broken rule is
 * consensus (`policy: false`) or only standardness (`policy: true`).
 *
 * Signature digests and timelock comparisons depend on the spending transaction, so the
 * interpreter asks a `SignatureChecker` for them (see tx-validation.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ripemd160, sha1 } from '@noble/hashes/legacy.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { OP, ScriptNum } from '@scure/btc-signer';
import { bytesToBigInt } from '../../bitcoin/bytes.js';
import { isStrictDer } from '../../bitcoin/ecdsa.js';
import { hash160, hash256, p2pkhScriptFromHash } from '../../bitcoin/script.js';
import { equalBytes } from '../../codec/bytes.js';

/** What the interpreter needs from the transaction being validated. */
export interface SignatureChecker {
  /**
   * True if `der` (a strict-DER, low-S ECDSA signature, sighash byte removed) by `pubkey`
   * signs this input's BIP143 digest for `hashType` with `scriptCode`. Must not throw.
   */
  verifySignature(der: Uint8Array, hashType: number, pubkey: Uint8Array, scriptCode: Uint8Array): boolean;
  /** BIP65: true if the transaction's nLockTime and this input's nSequence satisfy `lockTime` (>= 0). */
  checkLockTime(lockTime: number): boolean;
  /** BIP112: true if this input's nSequence satisfies the relative lock `sequence` (>= 0, disable bit clear). */
  checkSequence(sequence: number): boolean;
}

/** The outcome of a script check. `policy` marks a standardness rule rather than a consensus one. */
export type ScriptResult = { readonly ok: true } | { readonly ok: false; readonly error: string; readonly policy: boolean };

/** Largest witness script, in bytes (consensus). */
export const MAX_SCRIPT_SIZE = 10_000;
/** Largest item pushed or held on the stack, in bytes (consensus). */
export const MAX_SCRIPT_ELEMENT_SIZE = 520;
/** Most non-push operations per script, counting each CHECKMULTISIG key (consensus). */
export const MAX_OPS_PER_SCRIPT = 201;
/** Most items on the main and alt stacks together (consensus). */
export const MAX_STACK_SIZE = 1000;
/** Most keys in one CHECKMULTISIG (consensus). */
export const MAX_PUBKEYS_PER_MULTISIG = 20;

/** nLockTime values (and CHECKLOCKTIMEVERIFY arguments) at or above this are UNIX times, below it block heights. */
export const LOCKTIME_THRESHOLD = 500_000_000;
/** An input sequence (or CHECKSEQUENCEVERIFY argument) with this bit set has no relative lock (BIP68, BIP112). */
export const SEQUENCE_LOCKTIME_DISABLE_FLAG = 0x8000_0000;
/** An input sequence with this bit set holds a time-based relative lock in units of 512 s. */
export const SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22;
/** The bits of an input sequence that hold the relative lock's value. */
export const SEQUENCE_LOCKTIME_MASK = 0xffff;
/** The input sequence that opts out of nLockTime (and of relative locks). */
export const SEQUENCE_FINAL = 0xffff_ffff;

const SECP256K1_HALF_ORDER = secp256k1.Point.CURVE().n >> 1n;

const SIGHASH_ANYONECANPAY = 0x80;

/** Opcodes that fail a script even inside an unexecuted branch. */
const DISABLED = new Set<number>([
  0x7e, 0x7f, 0x80, 0x81, // CAT, SUBSTR, LEFT, RIGHT
  0x83, 0x84, 0x85, 0x86, // INVERT, AND, OR, XOR
  0x8d, 0x8e, // 2MUL, 2DIV
  0x95, 0x96, 0x97, 0x98, 0x99, // MUL, DIV, MOD, LSHIFT, RSHIFT
]);

/** One parsed operation: an opcode, with its data for pushes. */
interface Operation {
  readonly code: number;
  readonly data?: Uint8Array;
}

/** Internal: a failed rule, turned into a ScriptResult at the top. */
class ScriptFailure extends Error {
  constructor(
    message: string,
    readonly policy = false,
  ) {
    super(message);
  }
}

const TRUE = Uint8Array.of(1);
const FALSE = new Uint8Array(0);

function parse(script: Uint8Array): Operation[] {
  const ops: Operation[] = [];
  let pos = 0;
  while (pos < script.length) {
    const code = script[pos++]!;
    let len = -1;
    if (code >= 0x01 && code <= 0x4b) len = code;
    else if (code === OP.PUSHDATA1 || code === OP.PUSHDATA2 || code === OP.PUSHDATA4) {
      const size = code === OP.PUSHDATA1 ? 1 : code === OP.PUSHDATA2 ? 2 : 4;
      if (pos + size > script.length) throw new ScriptFailure('push length past the end of the script');
      len = 0;
      for (let i = size - 1; i >= 0; i--) len = len * 256 + script[pos + i]!;
      pos += size;
    }
    if (len < 0) {
      ops.push({ code });
      continue;
    }
    if (pos + len > script.length) throw new ScriptFailure('push data past the end of the script');
    ops.push({ code, data: script.subarray(pos, pos + len) });
    pos += len;
  }
  return ops;
}

/** True if a push uses the shortest form for its data (MINIMALDATA). */
function isMinimalPush(op: Operation): boolean {
  const data = op.data!;
  if (data.length === 0) return op.code === OP.OP_0;
  if (data.length === 1 && data[0]! >= 1 && data[0]! <= 16) return false; // should be OP_1..OP_16
  if (data.length === 1 && data[0] === 0x81) return false; // should be OP_1NEGATE
  if (data.length <= 75) return op.code === data.length;
  if (data.length <= 255) return op.code === OP.PUSHDATA1;
  if (data.length <= 65535) return op.code === OP.PUSHDATA2;
  return true;
}

/** Script truth: any non-zero byte, except a lone sign bit in the last byte ("negative zero"). */
export function castToBool(item: Uint8Array): boolean {
  for (let i = 0; i < item.length; i++) {
    if (item[i] !== 0) return !(i === item.length - 1 && item[i] === 0x80);
  }
  return false;
}

function toNum(item: Uint8Array, maxSize = 4): number {
  try {
    return Number(ScriptNum(maxSize, true).decode(item));
  } catch (err) {
    throw new ScriptFailure(`invalid script number: ${(err as Error).message}`);
  }
}

function fromNum(n: number | bigint): Uint8Array {
  return ScriptNum().encode(BigInt(n));
}

/**
 * BIP66 strict DER check of a witness signature `sig` (which ends with the sighash byte):
 * the DER part is one SEQUENCE of two positive, minimally encoded INTEGERs, nothing else.
 */
export function isStrictDerSignature(sig: Uint8Array): boolean {
  return sig.length > 0 && isStrictDer(sig.subarray(0, sig.length - 1));
}

/** The S value of a strict-DER signature. */
function derS(sig: Uint8Array): bigint {
  const lenR = sig[3]!;
  return bytesToBigInt(sig.subarray(6 + lenR, 6 + lenR + sig[5 + lenR]!));
}

/** Checks encoding rules of a signature about to be verified (an empty one is allowed: it just fails). */
function checkSignatureEncoding(sig: Uint8Array): void {
  if (sig.length === 0) return;
  if (!isStrictDerSignature(sig)) throw new ScriptFailure('signature is not strict DER');
  if (derS(sig) > SECP256K1_HALF_ORDER) throw new ScriptFailure('signature S value is high', true);
  const base = sig[sig.length - 1]! & ~SIGHASH_ANYONECANPAY;
  if (base < 1 || base > 3) throw new ScriptFailure(`undefined sighash type 0x${sig[sig.length - 1]!.toString(16)}`, true);
}

function checkPubkeyEncoding(pubkey: Uint8Array): void {
  if (pubkey.length !== 33 || (pubkey[0] !== 0x02 && pubkey[0] !== 0x03)) {
    throw new ScriptFailure('public key is not compressed', true);
  }
}

class Machine {
  readonly stack: Uint8Array[];
  private readonly alt: Uint8Array[] = [];
  private readonly cond: boolean[] = [];
  private opCount = 0;

  constructor(
    initial: Uint8Array[],
    private readonly checker: SignatureChecker,
  ) {
    this.stack = [...initial];
  }

  private need(n: number): void {
    if (this.stack.length < n) throw new ScriptFailure(`operation needs ${n} stack items, found ${this.stack.length}`);
  }

  /** Item `depth` from the top (1 = top). */
  private peek(depth = 1): Uint8Array {
    this.need(depth);
    return this.stack[this.stack.length - depth]!;
  }

  private pop(): Uint8Array {
    this.need(1);
    return this.stack.pop()!;
  }

  private push(item: Uint8Array): void {
    this.stack.push(item);
  }

  private popNum(): number {
    return toNum(this.pop());
  }

  private checkSig(sig: Uint8Array, pubkey: Uint8Array, scriptCode: Uint8Array): boolean {
    checkSignatureEncoding(sig);
    checkPubkeyEncoding(pubkey);
    if (sig.length === 0) return false;
    return this.checker.verifySignature(sig.subarray(0, sig.length - 1), sig[sig.length - 1]!, pubkey, scriptCode);
  }

  run(script: Uint8Array, scriptCode: Uint8Array): void {
    if (script.length > MAX_SCRIPT_SIZE) throw new ScriptFailure(`script of ${script.length} bytes exceeds ${MAX_SCRIPT_SIZE}`);
    for (const op of parse(script)) {
      const executing = this.cond.every(Boolean);
      if (op.data !== undefined && op.data.length > MAX_SCRIPT_ELEMENT_SIZE) {
        throw new ScriptFailure(`push of ${op.data.length} bytes exceeds ${MAX_SCRIPT_ELEMENT_SIZE}`);
      }
      if (op.code > OP.OP_16 && ++this.opCount > MAX_OPS_PER_SCRIPT) throw new ScriptFailure(`more than ${MAX_OPS_PER_SCRIPT} operations`);
      if (DISABLED.has(op.code)) throw new ScriptFailure(`disabled opcode 0x${op.code.toString(16)}`);
      if (op.code === OP.VERIF || op.code === OP.VERNOTIF) throw new ScriptFailure(`invalid opcode 0x${op.code.toString(16)}`);
      if (op.data !== undefined) {
        if (executing) {
          if (!isMinimalPush(op)) throw new ScriptFailure('push is not minimally encoded', true);
          this.push(op.data);
        }
      } else if (executing || (op.code >= OP.IF && op.code <= OP.ENDIF)) {
        this.step(op.code, executing, scriptCode);
      }
      if (this.stack.length + this.alt.length > MAX_STACK_SIZE) throw new ScriptFailure(`stack exceeds ${MAX_STACK_SIZE} items`);
    }
    if (this.cond.length > 0) throw new ScriptFailure('unbalanced conditional: missing OP_ENDIF');
  }

  private step(code: number, executing: boolean, scriptCode: Uint8Array): void {
    if (code >= OP.OP_1 && code <= OP.OP_16) return this.push(fromNum(code - OP.OP_1 + 1));
    switch (code) {
      case OP.OP_0:
        return this.push(FALSE);
      case OP['1NEGATE']:
        return this.push(fromNum(-1));
      case OP.NOP:
        return;

      // Control flow.
      case OP.IF:
      case OP.NOTIF: {
        let value = false;
        if (executing) {
          const top = this.pop();
          if (top.length > 1 || (top.length === 1 && top[0] !== 1)) {
            throw new ScriptFailure('OP_IF/OP_NOTIF argument must be empty or 1 (MINIMALIF)', true);
          }
          value = castToBool(top) === (code === OP.IF);
        }
        this.cond.push(value);
        return;
      }
      case OP.ELSE:
        if (this.cond.length === 0) throw new ScriptFailure('unbalanced conditional: OP_ELSE without OP_IF');
        this.cond.push(!this.cond.pop()!);
        return;
      case OP.ENDIF:
        if (this.cond.length === 0) throw new ScriptFailure('unbalanced conditional: OP_ENDIF without OP_IF');
        this.cond.pop();
        return;
      case OP.VERIFY:
        if (!castToBool(this.pop())) throw new ScriptFailure('OP_VERIFY failed');
        return;
      case OP.RETURN:
        throw new ScriptFailure('OP_RETURN executed');

      // Stack.
      case OP.TOALTSTACK:
        this.alt.push(this.pop());
        return;
      case OP.FROMALTSTACK:
        if (this.alt.length === 0) throw new ScriptFailure('OP_FROMALTSTACK on an empty alt stack');
        return this.push(this.alt.pop()!);
      case OP['2DROP']:
        this.need(2);
        this.stack.length -= 2;
        return;
      case OP['2DUP']: {
        const a = this.peek(2);
        const b = this.peek(1);
        this.push(a);
        return this.push(b);
      }
      case OP.IFDUP: {
        const top = this.peek();
        if (castToBool(top)) this.push(top);
        return;
      }
      case OP.DEPTH:
        return this.push(fromNum(this.stack.length));
      case OP.DROP:
        this.pop();
        return;
      case OP.DUP:
        return this.push(this.peek());
      case OP.NIP: {
        this.need(2);
        this.stack.splice(this.stack.length - 2, 1);
        return;
      }
      case OP.OVER:
        return this.push(this.peek(2));
      case OP.ROT: {
        this.need(3);
        const [third] = this.stack.splice(this.stack.length - 3, 1);
        return this.push(third!);
      }
      case OP.SWAP: {
        const b = this.pop();
        const a = this.pop();
        this.push(b);
        return this.push(a);
      }
      case OP.TUCK: {
        const b = this.pop();
        const a = this.pop();
        this.push(b);
        this.push(a);
        return this.push(b);
      }
      case OP.SIZE:
        return this.push(fromNum(this.peek().length));

      // Comparison.
      case OP.EQUAL:
      case OP.EQUALVERIFY: {
        const equal = equalBytes(this.pop(), this.pop());
        if (code === OP.EQUALVERIFY) {
          if (!equal) throw new ScriptFailure('OP_EQUALVERIFY failed');
          return;
        }
        return this.push(equal ? TRUE : FALSE);
      }

      // Arithmetic on 4-byte numbers.
      case OP['1ADD']:
        return this.push(fromNum(this.popNum() + 1));
      case OP['1SUB']:
        return this.push(fromNum(this.popNum() - 1));
      case OP.NEGATE:
        return this.push(fromNum(-this.popNum()));
      case OP.ABS:
        return this.push(fromNum(Math.abs(this.popNum())));
      case OP.NOT:
        return this.push(this.popNum() === 0 ? TRUE : FALSE);
      case OP['0NOTEQUAL']:
        return this.push(this.popNum() !== 0 ? TRUE : FALSE);
      case OP.ADD:
      case OP.SUB:
      case OP.BOOLAND:
      case OP.BOOLOR:
      case OP.NUMEQUAL:
      case OP.NUMEQUALVERIFY:
      case OP.NUMNOTEQUAL:
      case OP.LESSTHAN:
      case OP.GREATERTHAN:
      case OP.LESSTHANOREQUAL:
      case OP.GREATERTHANOREQUAL:
      case OP.MIN:
      case OP.MAX:
        return this.binaryNum(code);
      case OP.WITHIN: {
        const max = this.popNum();
        const min = this.popNum();
        const x = this.popNum();
        return this.push(min <= x && x < max ? TRUE : FALSE);
      }

      // Hashing.
      case OP.RIPEMD160:
        return this.push(ripemd160(this.pop()));
      case OP.SHA1:
        return this.push(sha1(this.pop()));
      case OP.SHA256:
        return this.push(sha256(this.pop()));
      case OP.HASH160:
        return this.push(hash160(this.pop()));
      case OP.HASH256:
        return this.push(hash256(this.pop()));

      // Signatures.
      case OP.CHECKSIG:
      case OP.CHECKSIGVERIFY: {
        const pubkey = this.pop();
        const sig = this.pop();
        const valid = this.checkSig(sig, pubkey, scriptCode);
        // NULLFAIL: a signature that does not verify must be empty; a wrong signature is never just "false".
        if (!valid && sig.length > 0) throw new ScriptFailure('signature verification failed (a failing signature must be empty)');
        if (code === OP.CHECKSIGVERIFY) {
          if (!valid) throw new ScriptFailure('OP_CHECKSIGVERIFY failed');
          return;
        }
        return this.push(valid ? TRUE : FALSE);
      }
      case OP.CHECKMULTISIG:
      case OP.CHECKMULTISIGVERIFY: {
        const valid = this.checkMultisig(scriptCode);
        if (code === OP.CHECKMULTISIGVERIFY) {
          if (!valid) throw new ScriptFailure('OP_CHECKMULTISIGVERIFY failed');
          return;
        }
        return this.push(valid ? TRUE : FALSE);
      }

      // Timelocks: the argument stays on the stack.
      case OP.CHECKLOCKTIMEVERIFY: {
        const lockTime = toNum(this.peek(), 5);
        if (lockTime < 0) throw new ScriptFailure('negative locktime');
        if (!this.checker.checkLockTime(lockTime)) throw new ScriptFailure('locktime requirement not satisfied (CLTV)');
        return;
      }
      case OP.CHECKSEQUENCEVERIFY: {
        const sequence = toNum(this.peek(), 5);
        if (sequence < 0) throw new ScriptFailure('negative relative locktime');
        if ((sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG) !== 0) return; // disabled: behaves as a NOP
        if (!this.checker.checkSequence(sequence)) throw new ScriptFailure('relative locktime requirement not satisfied (CSV)');
        return;
      }
      case OP.NOP1:
      case OP.NOP4:
      case OP.NOP5:
      case OP.NOP6:
      case OP.NOP7:
      case OP.NOP8:
      case OP.NOP9:
      case OP.NOP10:
        throw new ScriptFailure(`upgradable NOP 0x${code.toString(16)} is reserved`, true);
      case OP.CODESEPARATOR:
        throw new ScriptFailure('OP_CODESEPARATOR is not supported by the devnet interpreter');
      default:
        throw new ScriptFailure(`unknown or unsupported opcode 0x${code.toString(16)}`);
    }
  }

  private binaryNum(code: number): void {
    const b = this.popNum();
    const a = this.popNum();
    let result: number | boolean;
    switch (code) {
      case OP.ADD: result = a + b; break;
      case OP.SUB: result = a - b; break;
      case OP.BOOLAND: result = a !== 0 && b !== 0; break;
      case OP.BOOLOR: result = a !== 0 || b !== 0; break;
      case OP.NUMEQUAL:
      case OP.NUMEQUALVERIFY: result = a === b; break;
      case OP.NUMNOTEQUAL: result = a !== b; break;
      case OP.LESSTHAN: result = a < b; break;
      case OP.GREATERTHAN: result = a > b; break;
      case OP.LESSTHANOREQUAL: result = a <= b; break;
      case OP.GREATERTHANOREQUAL: result = a >= b; break;
      case OP.MIN: result = Math.min(a, b); break;
      default: result = Math.max(a, b); break;
    }
    if (code === OP.NUMEQUALVERIFY) {
      if (result !== true) throw new ScriptFailure('OP_NUMEQUALVERIFY failed');
      return;
    }
    this.push(typeof result === 'boolean' ? (result ? TRUE : FALSE) : fromNum(result));
  }

  /**
   * m-of-n CHECKMULTISIG. Signatures must appear in the same order as their keys; both lists
   * are walked from the top of the stack down, and every key tried is checked for encoding.
   */
  private checkMultisig(scriptCode: Uint8Array): boolean {
    const keyCount = this.popNum();
    if (keyCount < 0 || keyCount > MAX_PUBKEYS_PER_MULTISIG) throw new ScriptFailure(`multisig key count ${keyCount} out of range`);
    this.opCount += keyCount;
    if (this.opCount > MAX_OPS_PER_SCRIPT) throw new ScriptFailure(`more than ${MAX_OPS_PER_SCRIPT} operations`);
    const keys: Uint8Array[] = [];
    for (let i = 0; i < keyCount; i++) keys.push(this.pop());
    const sigCount = this.popNum();
    if (sigCount < 0 || sigCount > keyCount) throw new ScriptFailure(`multisig signature count ${sigCount} out of range`);
    const sigs: Uint8Array[] = [];
    for (let i = 0; i < sigCount; i++) sigs.push(this.pop());
    // The extra item CHECKMULTISIG consumes must be empty (NULLDUMMY, BIP147).
    if (this.pop().length !== 0) throw new ScriptFailure('CHECKMULTISIG dummy element must be empty (NULLDUMMY)');

    let k = 0;
    let s = 0;
    let valid = true;
    while (s < sigs.length) {
      if (sigs.length - s > keys.length - k) {
        valid = false;
        break;
      }
      if (this.checkSig(sigs[s]!, keys[k]!, scriptCode)) s++;
      k++;
    }
    if (!valid && sigs.some((sig) => sig.length > 0)) {
      throw new ScriptFailure('multisig signature verification failed (failing signatures must be empty)');
    }
    return valid;
  }
}

/**
 * Runs `script` on `stack` (bottom first) and returns the final stack, or a failure.
 * `scriptCode` is what signatures commit to (the witness script for P2WSH). For tests and
 * for callers composing their own checks; `verifyWitnessV0` is the full input check.
 */
export function evaluateScript(
  script: Uint8Array,
  stack: readonly Uint8Array[],
  checker: SignatureChecker,
  scriptCode: Uint8Array = script,
): { ok: true; stack: Uint8Array[] } | { ok: false; error: string; policy: boolean } {
  const machine = new Machine([...stack], checker);
  try {
    machine.run(script, scriptCode);
    return { ok: true, stack: machine.stack };
  } catch (err) {
    if (err instanceof ScriptFailure) return { ok: false, error: err.message, policy: err.policy };
    throw err;
  }
}

/**
 * Checks one input spending a segwit v0 output: the witness must satisfy `scriptPubKey`
 * (P2WPKH or P2WSH) and leave exactly one true item. Other output types fail with a reason
 * (the devnet validates segwit v0 spends only).
 */
export function verifyWitnessV0(scriptPubKey: Uint8Array, witness: readonly Uint8Array[], checker: SignatureChecker): ScriptResult {
  const fail = (error: string, policy = false): ScriptResult => ({ ok: false, error, policy });
  if (scriptPubKey.length < 4 || scriptPubKey[0] !== OP.OP_0 || scriptPubKey[1] !== scriptPubKey.length - 2) {
    return fail('the devnet only validates spends of segwit v0 (P2WPKH, P2WSH) outputs');
  }
  const program = scriptPubKey.subarray(2);
  let script: Uint8Array;
  let stack: Uint8Array[];
  if (program.length === 20) {
    if (witness.length !== 2) return fail(`P2WPKH witness must have 2 items, has ${witness.length}`);
    // P2WPKH executes and signs the P2PKH script of its key hash (BIP143).
    script = p2pkhScriptFromHash(program);
    stack = [...witness];
  } else if (program.length === 32) {
    if (witness.length === 0) return fail('P2WSH witness is empty');
    script = witness[witness.length - 1]!;
    if (!equalBytes(sha256(script), program)) return fail('witness script does not match the P2WSH program hash');
    stack = witness.slice(0, -1);
  } else {
    return fail(`segwit v0 program of ${program.length} bytes is neither P2WPKH nor P2WSH`);
  }
  for (const item of stack) {
    if (item.length > MAX_SCRIPT_ELEMENT_SIZE) return fail(`witness item of ${item.length} bytes exceeds ${MAX_SCRIPT_ELEMENT_SIZE}`);
  }
  const result = evaluateScript(script, stack, checker, script);
  if (!result.ok) return result;
  if (result.stack.length !== 1) return fail(`script left ${result.stack.length} items on the stack, expected exactly 1 (CLEANSTACK)`);
  if (!castToBool(result.stack[0]!)) return fail('script evaluated to false');
  return { ok: true };
}

/** BIP65 comparison of a CHECKLOCKTIMEVERIFY argument with the transaction's nLockTime and the input's nSequence. */
export function lockTimeSatisfied(required: number, txLockTime: number, inputSequence: number): boolean {
  const sameKind = (required < LOCKTIME_THRESHOLD) === (txLockTime < LOCKTIME_THRESHOLD);
  if (!sameKind || required > txLockTime) return false;
  // A final input sequence would disable nLockTime itself and so bypass the check.
  return inputSequence !== SEQUENCE_FINAL;
}

/** BIP112 comparison of a CHECKSEQUENCEVERIFY argument with the input's nSequence. */
export function sequenceSatisfied(required: number, txVersion: number, inputSequence: number): boolean {
  if (txVersion < 2) return false;
  if ((inputSequence & SEQUENCE_LOCKTIME_DISABLE_FLAG) !== 0) return false;
  const mask = SEQUENCE_LOCKTIME_TYPE_FLAG | SEQUENCE_LOCKTIME_MASK;
  const have = inputSequence & mask;
  const want = required & mask;
  if ((have < SEQUENCE_LOCKTIME_TYPE_FLAG) !== (want < SEQUENCE_LOCKTIME_TYPE_FLAG)) return false;
  return want <= have;
}
