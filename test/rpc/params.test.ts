/**
 * The param validator (src/rpc/params.ts) on its own: each schema's accepted forms and
 * conversions, its messages, and a property that any JSON value either parses or fails with
 * InvalidParamsError (never another exception).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParamsError } from '../../src/rpc/errors.js';
import { METHODS } from '../../src/rpc/methods.js';
import { array, base64, bool, hex, hexBytes, int, MAX_MSAT, MAX_SAT, msat, number, object, oneOf, optional, pubkey, requireExactlyOne, sat, string } from '../../src/rpc/params.js';
import { FakeNode, PEER_ID } from './support/fake-node.js';

/** The InvalidParamsError `fn` throws. */
function failure(fn: () => unknown): InvalidParamsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidParamsError) return err;
    throw err;
  }
  throw new Error('expected an InvalidParamsError, got none');
}

describe('params', () => {
  it('hex(n): exactly 2n hex characters, either case, lowercase out', () => {
    expect(hex(2).parse('aBcD', 'x')).toBe('abcd');
    for (const bad of ['abc', 'abcde', 'zzzz', 1234, null, ['ab', 'cd']]) expect(failure(() => hex(2).parse(bad, 'x')).message).toMatch(/^params\.x: expected 2 bytes as 4 hex characters, got /);
    expect(() => hex(0)).toThrow(RangeError);
  });

  it('pubkey(): a compressed point on secp256k1', () => {
    expect(pubkey().parse(PEER_ID.toUpperCase(), 'peer_id')).toBe(PEER_ID);
    expect(failure(() => pubkey().parse(`03${'ff'.repeat(32)}`, 'peer_id')).message).toMatch(/not a point on secp256k1/);
    expect(failure(() => pubkey().parse(`04${PEER_ID.slice(2)}`, 'peer_id')).field).toBe('peer_id');
  });

  it('sat(): a JSON integer or a decimal string in range, as bigint', () => {
    expect(sat().parse(0, 'a_sat')).toBe(0n);
    expect(sat().parse('2100000000000000', 'a_sat')).toBe(MAX_SAT);
    expect(sat({ min: 1n }).parse(1, 'a_sat')).toBe(1n);
    expect(failure(() => sat().parse('2100000000000001', 'a_sat')).message).toBe('params.a_sat: expected an integer amount in sat >= 0, got "2100000000000001"');
    expect(failure(() => sat({ min: 10n, max: 20n }).parse(21, 'a_sat')).message).toBe('params.a_sat: expected an integer amount in sat >= 10 and <= 20, got 21');
    for (const bad of ['1.0', '1e3', ' 1', '+1', '-1', '', '0x10', 1.5, -1, Number.NaN, true, {}]) expect(failure(() => sat().parse(bad, 'a_sat')).field, String(bad)).toBe('a_sat');
  });

  it('msat(): a safe JSON integer or a decimal string, as bigint', () => {
    expect(msat().parse(Number.MAX_SAFE_INTEGER, 'm')).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(msat().parse('18446744073709551', 'm')).toBe(18_446_744_073_709_551n);
    expect(msat().parse(MAX_MSAT.toString(), 'm')).toBe(MAX_MSAT);
    expect(failure(() => msat().parse(Number.MAX_SAFE_INTEGER + 1, 'm')).message).toMatch(/send it as a decimal string/);
    expect(failure(() => msat().parse((MAX_MSAT + 1n).toString(), 'm')).field).toBe('m');
  });

  it('int(), number(), bool(), string()', () => {
    expect(int({ min: 1, max: 3 }).parse(3, 'n')).toBe(3);
    expect(failure(() => int({ min: 1, max: 3 }).parse(4, 'n')).message).toBe('params.n: expected an integer >= 1 and <= 3, got 4');
    expect(failure(() => int().parse(1.5, 'n')).message).toBe('params.n: expected an integer, got 1.5');
    expect(number({ gt: 0 }).parse(0.25, 'f')).toBe(0.25);
    for (const bad of [0, -1, Number.POSITIVE_INFINITY, '1']) expect(failure(() => number({ gt: 0, max: 10 }).parse(bad, 'f')).message).toMatch(/^params\.f: expected a number > 0 and <= 10, got /);
    expect(bool().parse(false, 'b')).toBe(false);
    expect(failure(() => bool().parse(0, 'b')).message).toBe('params.b: expected a boolean, got 0');
    expect(string({ maxLength: 3 }).parse('abc', 's')).toBe('abc');
    expect(failure(() => string({ maxLength: 3 }).parse('abcd', 's')).field).toBe('s');
    expect(failure(() => string().parse('', 's')).field).toBe('s');
  });

  it('object(): required, optional (absent or null), unknown, nested paths, fresh result', () => {
    const schema = object({ a: sat(), b: optional(bool()), inner: optional(object({ c: hex(1) })) });
    const input = { a: '5', b: null, inner: { c: 'FF' } };
    const value = schema.parse(input, '');
    expect(value).toEqual({ a: 5n, inner: { c: 'ff' } });
    expect(Object.keys(value)).toEqual(['a', 'inner']);
    expect(input).toEqual({ a: '5', b: null, inner: { c: 'FF' } });
    expect(failure(() => schema.parse({}, '')).message).toBe('params.a: required: expected an integer amount in sat >= 0, got nothing');
    expect(failure(() => schema.parse({ a: 1, inner: { c: 'zz' } }, '')).field).toBe('inner.c');
    const unknownNested = failure(() => schema.parse({ a: 1, inner: { c: 'aa', d: 1 } }, ''));
    expect(unknownNested).toMatchObject({ field: 'inner.d', message: 'params.inner: unknown param "d" (known: c)' });
    expect(failure(() => schema.parse({ a: 1, inner: 'x' }, '')).message).toBe('params.inner: expected a JSON object, got "x"');
    // Absent params are {} at the top level only.
    expect(object({ x: optional(bool()) }).parse(undefined, '')).toEqual({});
    expect(failure(() => object({}).parse('x', '')).message).toBe('params: expected a JSON object, got "x"');
  });

  it('array(): length bounds, element paths, fresh result', () => {
    const schema = array(object({ n: int({ min: 0 }) }), { minLength: 1, maxLength: 2 });
    const input = [{ n: 1 }, { n: 2 }];
    const value = schema.parse(input, 'list');
    expect(value).toEqual([{ n: 1 }, { n: 2 }]);
    expect(value).not.toBe(input);
    expect(failure(() => schema.parse([], 'list')).message).toBe('params.list: expected an array of 1 to 2 elements, each a JSON object, got 0 elements');
    expect(failure(() => schema.parse([{ n: 1 }, { n: 2 }, { n: 3 }], 'list')).message).toMatch(/got 3 elements$/);
    expect(failure(() => schema.parse([{ n: 1 }, { n: -1 }], 'list')).field).toBe('list[1].n');
    expect(failure(() => schema.parse([{ n: 1 }, undefined], 'list')).field).toBe('list[1]');
    expect(failure(() => schema.parse({ 0: { n: 1 } }, 'list')).message).toMatch(/^params\.list: expected an array of 1 to 2 elements/);
    expect(array(int(), { minLength: 3, maxLength: 3 }).expected).toBe('an array of 3 elements, each an integer');
    expect(() => array(int(), { minLength: 2, maxLength: 1 })).toThrow(RangeError);
  });

  it('oneOf(): exactly one alternative, unknown fields refused, the value holds only the one given', () => {
    const schema = oneOf({ a: hex(1), b: bool() });
    expect(schema.parse({ a: 'FF' }, 'src')).toEqual({ a: 'ff' });
    const value = schema.parse({ a: null, b: true }, 'src');
    expect(value).toEqual({ b: true });
    expect(Object.keys(value)).toEqual(['b']);
    expect(failure(() => schema.parse({}, 'src')).message).toBe('params.src: expected exactly one of a, b, got none');
    expect(failure(() => schema.parse({ a: 'ff', b: true }, 'src')).message).toBe('params.src: expected exactly one of a, b, got a and b');
    expect(failure(() => schema.parse({ a: 'zz' }, 'src')).field).toBe('src.a');
    expect(failure(() => schema.parse({ c: 1 }, 'src'))).toMatchObject({ field: 'src.c', message: 'params.src: unknown param "c" (expected exactly one of: a, b)' });
    expect(failure(() => schema.parse('a', 'src')).message).toBe('params.src: expected a JSON object with exactly one of "a", "b", got "a"');
    expect(() => oneOf({ a: bool() })).toThrow(RangeError);
  });

  it('base64(): standard, padded, bounded; the string comes back as it is', () => {
    for (const good of ['cHNidP8=', 'cHNidP8B', 'cHNidP8BAA==', 'ab+/']) expect(base64().parse(good, 'psbt')).toBe(good);
    for (const bad of ['', 'cHNidP8', 'cHNidP8-', 'cHNi dP8=', 'cH=idP8=', 'c===', '====', 'cHNidP8=\n', 42]) {
      expect(failure(() => base64().parse(bad, 'psbt')).message, JSON.stringify(bad)).toMatch(/^params\.psbt: expected base64 \(standard alphabet, padded, at most 1000000 characters\), got /);
    }
    expect(failure(() => base64({ maxLength: 8 }).parse('cHNidP8BAA==', 'psbt')).field).toBe('psbt');
    // Whatever Node's encoder produces is accepted.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        expect(base64().parse(text, 'p')).toBe(text);
      }),
    );
  });

  it('hexBytes(): even-length hex, bounded, lowercase out', () => {
    expect(hexBytes().parse('02AbCd', 'tx')).toBe('02abcd');
    for (const bad of ['', 'abc', 'zz', '0x00', 12]) expect(failure(() => hexBytes().parse(bad, 'tx')).message).toMatch(/^params\.tx: expected hex bytes \(an even number of hex characters, at most 800000\), got /);
    expect(failure(() => hexBytes({ maxBytes: 2 }).parse('aabbcc', 'tx')).field).toBe('tx');
    expect(hexBytes({ maxBytes: 2 }).parse('aabb', 'tx')).toBe('aabb');
  });

  it('requireExactlyOne(): one present name passes, none or several name the object', () => {
    expect(() => requireExactlyOne({ psbt: 'x' }, ['psbt', 'tx'])).not.toThrow();
    expect(() => requireExactlyOne({ tx: 'x', other: 1 }, ['psbt', 'tx'])).not.toThrow();
    expect(failure(() => requireExactlyOne({}, ['psbt', 'tx']))).toMatchObject({ field: '', message: 'params: expected exactly one of psbt, tx, got none' });
    expect(failure(() => requireExactlyOne({ psbt: 'x', tx: 'y' }, ['psbt', 'tx'], 'inner')).message).toBe('params.inner: expected exactly one of psbt, tx, got psbt and tx');
  });

  it('every method of the table, given any JSON params, calls the node or fails with InvalidParamsError', async () => {
    const names = fc.constantFrom(
      'peer_id',
      'address',
      'funding_amount_sat',
      'push_amount_msat',
      'fee_rate_sat_per_vb',
      'include_closed',
      'funding_source',
      'change_address',
      'timeout_secs',
      'channel_id',
      'psbt',
      'tx',
      'x',
    );
    const txid = fc.constantFrom('aa'.repeat(32), 'AB'.repeat(32), 'zz');
    const utxo = fc.record({ txid, vout: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(2 ** 32)) }, { requiredKeys: [] });
    const fundingSource = fc.oneof(
      fc.record({ utxos: fc.array(utxo, { maxLength: 3 }), address: fc.constant('bcrt1qexample') }, { requiredKeys: [] }),
      fc.record({ utxos: fc.array(utxo, { minLength: 1, maxLength: 3 }) }),
    );
    const values = fc.oneof(
      fc.jsonValue(),
      fc.constant(PEER_ID),
      fc.constant(`${PEER_ID}@127.0.0.1:9736`),
      fc.constant('127.0.0.1:9736'),
      fc.constant('1000'),
      fc.constant('ee'.repeat(32)),
      fc.constant('cHNidP8BAA=='),
      fc.constant(600),
      fc.constant(2),
      fundingSource,
    );
    const anyParams = fc.oneof(fc.jsonValue(), fc.dictionary(names, values));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), anyParams, async (method, params) => {
        const api = new FakeNode();
        try {
          await method.call(api, method.params.parse(params, ''));
          expect(api.calls).toHaveLength(1);
        } catch (err) {
          if (!(err instanceof InvalidParamsError)) throw err;
          expect(err.message.startsWith('params')).toBe(true);
          expect(api.calls).toEqual([]);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('sat and msat read every in-range decimal string back exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_MSAT }), (n) => {
        expect(msat().parse(n.toString(), 'm')).toBe(n);
        if (n <= MAX_SAT) expect(sat().parse(n.toString(), 's')).toBe(n);
        if (n <= BigInt(Number.MAX_SAFE_INTEGER)) expect(msat().parse(Number(n), 'm')).toBe(n);
      }),
    );
  });
});
