/**
 * The devnet script interpreter beyond BOLT 3: opcode semantics, limits, malformed scripts,
 * and a property test that arbitrary bytes never crash it.
 */
import fc from 'fast-check';
import { Script, type ScriptType } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import {
  castToBool,
  evaluateScript,
  isStrictDerSignature,
  verifyWitnessV0,
  type SignatureChecker,
} from '../../src/chain/devnet/script-interpreter.js';

const permissive: SignatureChecker = { verifySignature: () => true, checkLockTime: () => true, checkSequence: () => true };

function run(ops: ScriptType, stack: Uint8Array[] = []) {
  return evaluateScript(Script.encode(ops), stack, permissive);
}

function top(ops: ScriptType, stack: Uint8Array[] = []): Uint8Array {
  const result = run(ops, stack);
  if (!result.ok) throw new Error(`script failed: ${result.error}`);
  return result.stack[result.stack.length - 1]!;
}

describe('script evaluation', () => {
  it('computes with small numbers', () => {
    expect(top([2, 3, 'ADD', 5, 'NUMEQUAL'])).toEqual(Uint8Array.of(1));
    expect(top([7, '1ADD', 8, 'EQUAL'])).toEqual(Uint8Array.of(1));
    expect(top([1, 2, 'SUB'])).toEqual(Uint8Array.of(0x81)); // -1
    expect(top([3, 1, 5, 'WITHIN'])).toEqual(Uint8Array.of(1));
    expect(top([0, 'NOT'])).toEqual(Uint8Array.of(1));
  });

  it('takes the right IF/NOTIF/ELSE branches, nested', () => {
    expect(top([1, 'IF', 0, 'IF', 5, 'ELSE', 6, 'ENDIF', 'ELSE', 7, 'ENDIF'])).toEqual(Uint8Array.of(6));
    expect(top(['OP_0', 'NOTIF', 8, 'ENDIF'])).toEqual(Uint8Array.of(8));
  });

  it('rejects unbalanced conditionals', () => {
    expect(run([1, 'IF', 2])).toMatchObject({ ok: false, error: expect.stringMatching(/unbalanced/) });
    expect(run(['ENDIF'])).toMatchObject({ ok: false, error: expect.stringMatching(/unbalanced/) });
    expect(run(['ELSE'])).toMatchObject({ ok: false, error: expect.stringMatching(/unbalanced/) });
  });

  it('fails on stack underflow with a reason', () => {
    expect(run(['DROP'])).toMatchObject({ ok: false, error: expect.stringMatching(/needs 1 stack items/) });
    expect(run([1, 'SWAP'])).toMatchObject({ ok: false, error: expect.stringMatching(/needs/) });
  });

  it('fails on an unknown opcode only when executed, on a disabled one always', () => {
    const unknown = Uint8Array.of(0x51, 0xba); // OP_1 0xba
    expect(evaluateScript(unknown, [], permissive)).toMatchObject({ ok: false, error: expect.stringMatching(/unknown or unsupported opcode 0xba/) });
    const skipped = Uint8Array.of(0x00, 0x63, 0xba, 0x68, 0x51); // 0 IF <0xba> ENDIF 1
    expect(evaluateScript(skipped, [], permissive).ok).toBe(true);
    const disabled = Uint8Array.of(0x00, 0x63, 0x7e, 0x68, 0x51); // 0 IF CAT ENDIF 1
    expect(evaluateScript(disabled, [], permissive)).toMatchObject({ ok: false, error: expect.stringMatching(/disabled opcode 0x7e/) });
  });

  it('rejects truncated pushes, OP_RETURN, OP_CODESEPARATOR and upgradable NOPs', () => {
    expect(evaluateScript(Uint8Array.of(0x05, 1, 2), [], permissive)).toMatchObject({ ok: false, error: expect.stringMatching(/past the end/) });
    expect(evaluateScript(Uint8Array.of(0x4c), [], permissive)).toMatchObject({ ok: false, error: expect.stringMatching(/past the end/) });
    expect(run(['RETURN'])).toMatchObject({ ok: false, error: expect.stringMatching(/OP_RETURN/) });
    expect(run(['CODESEPARATOR'])).toMatchObject({ ok: false, error: expect.stringMatching(/CODESEPARATOR/) });
    expect(run(['NOP4'])).toMatchObject({ ok: false, policy: true });
  });

  it('requires minimal pushes and minimal numbers', () => {
    // PUSHDATA1 of one byte: should have been a direct push.
    expect(evaluateScript(Uint8Array.of(0x4c, 0x01, 0x42), [], permissive)).toMatchObject({ ok: false, policy: true });
    // 1-byte push of 5: should have been OP_5.
    expect(evaluateScript(Uint8Array.of(0x01, 0x05), [], permissive)).toMatchObject({ ok: false, policy: true });
    // [0x01, 0x00] is 1 with a redundant zero byte.
    expect(evaluateScript(Script.encode(['1ADD']), [Uint8Array.of(1, 0)], permissive)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/invalid script number/),
    });
  });

  it('enforces the 201-operation limit and the 520-byte element limit', () => {
    const many: ScriptType = [];
    for (let i = 0; i < 202; i++) many.push('NOP');
    expect(run(many)).toMatchObject({ ok: false, error: expect.stringMatching(/more than 201 operations/) });
    expect(run([new Uint8Array(521)])).toMatchObject({ ok: false, error: expect.stringMatching(/exceeds 520/) });
  });

  it('passes CHECKLOCKTIMEVERIFY/CHECKSEQUENCEVERIFY arguments to the checker and keeps them on the stack', () => {
    const seen: number[] = [];
    const checker: SignatureChecker = {
      verifySignature: () => true,
      checkLockTime: (n) => (seen.push(n), true),
      checkSequence: (n) => (seen.push(n), true),
    };
    const result = evaluateScript(Script.encode([500_000, 'CHECKLOCKTIMEVERIFY', 144, 'CHECKSEQUENCEVERIFY']), [], checker);
    expect(result.ok && result.stack.length).toBe(2);
    expect(seen).toEqual([500_000, 144]);
    expect(run([-1, 'CHECKLOCKTIMEVERIFY'])).toMatchObject({ ok: false, error: expect.stringMatching(/negative locktime/) });
  });

  it('treats negative zero as false', () => {
    expect(castToBool(Uint8Array.of(0x80))).toBe(false);
    expect(castToBool(Uint8Array.of(0, 0x80))).toBe(false);
    expect(castToBool(Uint8Array.of(0x80, 0))).toBe(true);
    expect(castToBool(new Uint8Array(0))).toBe(false);
  });
});

describe('strict DER (BIP66)', () => {
  it('accepts a minimal encoding and rejects padding and wrong lengths', () => {
    const good = Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x01);
    expect(isStrictDerSignature(good)).toBe(true);
    const paddedR = Uint8Array.of(0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01, 0x01);
    expect(isStrictDerSignature(paddedR)).toBe(false);
    const negativeS = Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x81, 0x01);
    expect(isStrictDerSignature(negativeS)).toBe(false);
    const badLength = Uint8Array.of(0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x01);
    expect(isStrictDerSignature(badLength)).toBe(false);
  });
});

describe('robustness', () => {
  it('never throws on arbitrary scripts and stacks: it returns ok or a reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), (script, stack) => {
        const result = evaluateScript(script, stack, permissive);
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(result.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary witnesses for P2WPKH and P2WSH outputs', () => {
    const rejectAll: SignatureChecker = { verifySignature: () => false, checkLockTime: () => false, checkSequence: () => false };
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 32, maxLength: 32 })),
        fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 5 }),
        (program, witness) => {
          const result = verifyWitnessV0(Uint8Array.of(0x00, program.length, ...program), witness, rejectAll);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
