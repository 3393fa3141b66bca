/**
 * BOLT 2 "Closing Initiation: shutdown": which `scriptpubkey` forms are accepted, with and
 * without option_shutdown_anysegwit and option_simple_close.
 */
import { describe, expect, it } from 'vitest';
import { shutdownScriptProblem } from '../../../src/channel/closing/shutdown-script.js';

const bytes = (n: number, fill = 0x11): number[] => Array.from({ length: n }, () => fill);
const script = (...parts: (number | number[])[]): Uint8Array => Uint8Array.from(parts.flat());

const OP_0 = 0x00;
const OP_1 = 0x51;
const OP_16 = 0x60;
const OP_RETURN = 0x6a;
const OP_PUSHDATA1 = 0x4c;

const plain = { anySegwit: false, simpleClose: false };
const anySegwit = { anySegwit: true, simpleClose: false };
const simpleClose = { anySegwit: false, simpleClose: true };
const both = { anySegwit: true, simpleClose: true };

// [name, script, accepted without features, with anysegwit, with simple_close]
const table: [string, Uint8Array, boolean, boolean, boolean][] = [
  ['P2WPKH: OP_0 20 <20 bytes>', script(OP_0, 20, bytes(20)), true, true, true],
  ['P2WSH: OP_0 32 <32 bytes>', script(OP_0, 32, bytes(32)), true, true, true],
  ['P2PKH (old nodes, backwards compatibility)', script(0x76, 0xa9, 20, bytes(20), 0x88, 0xac), true, true, true],
  ['P2SH (old nodes, backwards compatibility)', script(0xa9, 20, bytes(20), 0x87), true, true, true],
  ['P2TR: OP_1 32 <32 bytes>', script(OP_1, 32, bytes(32)), false, true, false],
  ['witness v1, 2-byte program', script(OP_1, 2, bytes(2)), false, true, false],
  ['witness v16, 40-byte program', script(OP_16, 40, bytes(40)), false, true, false],
  ['witness v1, 1-byte program (too short)', script(OP_1, 1, bytes(1)), false, false, false],
  ['witness v16, 41-byte program (too long)', script(OP_16, 41, bytes(41)), false, false, false],
  ['witness v1 with a trailing byte', script(OP_1, 32, bytes(32), 0x00), false, false, false],
  ['witness v1 with a truncated program', script(OP_1, 32, bytes(31)), false, false, false],
  ['OP_0 with a 21-byte program', script(OP_0, 21, bytes(21)), false, false, false],
  ['OP_0 with a 32-byte program and a trailing byte', script(OP_0, 32, bytes(32), 0x00), false, false, false],
  ['OP_RETURN 6 <6 bytes>', script(OP_RETURN, 6, bytes(6)), false, false, true],
  ['OP_RETURN 75 <75 bytes>', script(OP_RETURN, 75, bytes(75)), false, false, true],
  ['OP_RETURN OP_PUSHDATA1 76 <76 bytes>', script(OP_RETURN, OP_PUSHDATA1, 76, bytes(76)), false, false, true],
  ['OP_RETURN OP_PUSHDATA1 80 <80 bytes>', script(OP_RETURN, OP_PUSHDATA1, 80, bytes(80)), false, false, true],
  ['OP_RETURN 5 <5 bytes> (push too short)', script(OP_RETURN, 5, bytes(5)), false, false, false],
  ['OP_RETURN OP_PUSHDATA1 75 <75 bytes> (not minimal)', script(OP_RETURN, OP_PUSHDATA1, 75, bytes(75)), false, false, false],
  ['OP_RETURN OP_PUSHDATA1 81 <81 bytes> (too long)', script(OP_RETURN, OP_PUSHDATA1, 81, bytes(81)), false, false, false],
  ['OP_RETURN 6 <5 bytes> (truncated)', script(OP_RETURN, 6, bytes(5)), false, false, false],
  ['OP_RETURN 6 <6 bytes> + a second push', script(OP_RETURN, 6, bytes(6), 1, 0x01), false, false, false],
  ['bare OP_RETURN', script(OP_RETURN), false, false, false],
  ['empty script', script(), false, false, false],
  ['bare multisig', script(OP_1, 33, bytes(33, 0x02), OP_1, 0xae), false, false, false],
];

describe('shutdownScriptProblem', () => {
  it.each(table)('%s', (_name, s, plainOk, anySegwitOk, simpleCloseOk) => {
    expect(shutdownScriptProblem(s, plain) === undefined).toBe(plainOk);
    expect(shutdownScriptProblem(s, anySegwit) === undefined).toBe(anySegwitOk);
    expect(shutdownScriptProblem(s, simpleClose) === undefined).toBe(simpleCloseOk);
    expect(shutdownScriptProblem(s, both) === undefined).toBe(anySegwitOk || simpleCloseOk);
  });

  it('says which feature a refused form needs', () => {
    expect(shutdownScriptProblem(script(OP_1, 32, bytes(32)), plain)).toMatch(/option_shutdown_anysegwit/);
    expect(shutdownScriptProblem(script(OP_RETURN, 6, bytes(6)), plain)).toMatch(/option_simple_close/);
    expect(shutdownScriptProblem(script(OP_RETURN, 5, bytes(5)), simpleClose)).toMatch(/6 to 80 bytes/);
  });

  it('throws TypeError for a script that is not bytes', () => {
    expect(() => shutdownScriptProblem('0014' as unknown as Uint8Array, plain)).toThrow(TypeError);
  });
});
