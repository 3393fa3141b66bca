/**
 * A small validator for JSON-RPC method params, so every method checks its input at the edge
 * in one way and the node receives the converted values of api.ts (lowercase hex ids, bigint
 * amounts).
 *
 * A `Schema<T>` turns a parsed JSON value into a `T` or throws InvalidParamsError naming the
 * param (`params.funding_amount_sat: expected an integer amount in sat >= 1, got "x"`). The
 * JSON conventions (docs/rpc.md, "Conventions"):
 * - `*_sat` amounts: a JSON integer or a decimal string; `*_msat` amounts: a safe JSON integer
 *   (up to 2^53 - 1) or a decimal string. Both become bigint.
 * - ids and other hex: any case in, lowercase out.
 * - an optional param may be absent or `null` (both mean "not given"); a required one may not.
 * - params are one JSON object (by name); a name the schema does not know is an error.
 */
import { hexToBytes } from '../codec/bytes.js';
import { isCompressedPublicKey } from '../peer/noise-handshake.js';
import { InvalidParamsError } from './errors.js';

/** Converts and checks one param value. */
export interface Schema<T> {
  /** What the value must be, as error messages and docs say it ("a boolean"). */
  readonly expected: string;
  /** True for `optional(...)`: the param may be absent (or null). */
  readonly optional: boolean;
  /** The converted value; throws InvalidParamsError for `field` (a path below `params`) otherwise. */
  parse(value: unknown, field: string): T;
}

/** The value type a schema produces. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** The fields of an object schema. */
export type Fields = { readonly [name: string]: Schema<unknown> };

type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K]['optional'] extends true ? never : K }[keyof F];
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K]['optional'] extends true ? K : never }[keyof F];
type Simplify<T> = { [K in keyof T]: T[K] };

/** The value of an object schema: required fields always present, optional ones only when given. */
export type ObjectValue<F extends Fields> = Simplify<
  { readonly [K in RequiredKeys<F>]: Infer<F[K]> } & { readonly [K in OptionalKeys<F>]?: Exclude<Infer<F[K]>, undefined> }
>;

/** An object schema; `fields` lists its params (docs/rpc.md is checked against it). */
export interface ObjectSchema<F extends Fields> extends Schema<ObjectValue<F>> {
  readonly fields: F;
}

/** Largest amount in sat that can exist (21 million BTC). */
export const MAX_SAT = 2_100_000_000_000_000n;
/** Largest amount in msat that can exist. */
export const MAX_MSAT = MAX_SAT * 1000n;

/** A short, safe rendering of a rejected value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function fail(field: string, expected: string, value: unknown): never {
  throw new InvalidParamsError(field, `expected ${expected}, got ${describeValue(value)}`);
}

function schema<T>(expected: string, parse: (value: unknown, field: string) => T): Schema<T> {
  return { expected, optional: false, parse };
}

/** `nBytes` bytes as 2·nBytes hex characters (either case); gives lowercase hex. */
export function hex(nBytes: number): Schema<string> {
  if (!Number.isInteger(nBytes) || nBytes < 1) throw new RangeError(`expected a positive byte count, got ${String(nBytes)}`);
  const expected = `${nBytes} bytes as ${nBytes * 2} hex characters`;
  const pattern = new RegExp(`^[0-9a-fA-F]{${nBytes * 2}}$`);
  return schema(expected, (value, field) => {
    if (typeof value !== 'string' || !pattern.test(value)) fail(field, expected, value);
    return value.toLowerCase();
  });
}

/** A node id: a compressed secp256k1 public key, 33 bytes as 66 hex characters; gives lowercase hex. */
export function pubkey(): Schema<string> {
  const expected = 'a compressed public key (66 hex characters)';
  return schema(expected, (value, field) => {
    if (typeof value !== 'string' || !/^[0-9a-fA-F]{66}$/.test(value)) fail(field, expected, value);
    const text = value.toLowerCase();
    if (!isCompressedPublicKey(hexToBytes(text))) throw new InvalidParamsError(field, `expected ${expected}, got ${describeValue(value)}, which is not a point on secp256k1`);
    return text;
  });
}

/** A whole amount as bigint from a JSON integer (safe only if `safeOnly`) or a decimal string. */
function amount(unit: 'sat' | 'msat', min: bigint, max: bigint, safeOnly: boolean): Schema<bigint> {
  if (min < 0n || max < min) throw new RangeError(`expected 0 <= min <= max, got min ${min}, max ${max}`);
  const expected = `an integer amount in ${unit} >= ${min}${max === (unit === 'sat' ? MAX_SAT : MAX_MSAT) ? '' : ` and <= ${max}`}`;
  return schema(expected, (value, field) => {
    let n: bigint;
    if (typeof value === 'number' && Number.isInteger(value)) {
      // JSON numbers beyond 2^53 have already lost digits in JSON.parse: ask for a string.
      if (safeOnly && !Number.isSafeInteger(value)) {
        throw new InvalidParamsError(field, `expected ${expected}, got ${describeValue(value)}, beyond 2^53 - 1: send it as a decimal string`);
      }
      n = BigInt(value);
    } else if (typeof value === 'string' && /^[0-9]{1,30}$/.test(value)) {
      n = BigInt(value);
    } else {
      fail(field, `${expected} (a JSON integer or a decimal string)`, value);
    }
    if (n < min || n > max) fail(field, expected, value);
    return n;
  });
}

/** An amount in sat (`*_sat` params): a JSON integer or a decimal string, in [min, max] (default [0, 21e14]); gives bigint. */
export function sat(options: { readonly min?: bigint; readonly max?: bigint } = {}): Schema<bigint> {
  return amount('sat', options.min ?? 0n, options.max ?? MAX_SAT, false);
}

/** An amount in msat (`*_msat` params): a safe JSON integer or a decimal string, in [min, max] (default [0, 21e17]); gives bigint. */
export function msat(options: { readonly min?: bigint; readonly max?: bigint } = {}): Schema<bigint> {
  return amount('msat', options.min ?? 0n, options.max ?? MAX_MSAT, true);
}

/** A safe JSON integer in [min, max] (defaults: the safe integer range). */
export function int(options: { readonly min?: number; readonly max?: number } = {}): Schema<number> {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const bounds = [options.min === undefined ? '' : `>= ${min}`, options.max === undefined ? '' : `<= ${max}`].filter((b) => b !== '').join(' and ');
  const expected = `an integer${bounds === '' ? '' : ` ${bounds}`}`;
  return schema(expected, (value, field) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(field, expected, value);
    return value;
  });
}

/** A finite JSON number greater than `gt` (if given) and at most `max` (if given), fractions allowed. */
export function number(options: { readonly gt?: number; readonly max?: number } = {}): Schema<number> {
  const bounds = [options.gt === undefined ? '' : `> ${options.gt}`, options.max === undefined ? '' : `<= ${options.max}`].filter((b) => b !== '').join(' and ');
  const expected = `a number${bounds === '' ? '' : ` ${bounds}`}`;
  return schema(expected, (value, field) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, expected, value);
    if ((options.gt !== undefined && value <= options.gt) || (options.max !== undefined && value > options.max)) fail(field, expected, value);
    return value;
  });
}

/** A JSON boolean. */
export function bool(): Schema<boolean> {
  return schema('a boolean', (value, field) => (typeof value === 'boolean' ? value : fail(field, 'a boolean', value)));
}

/** A JSON string of 1 to `maxLength` (default 1024) characters. */
export function string(options: { readonly maxLength?: number } = {}): Schema<string> {
  const maxLength = options.maxLength ?? 1024;
  const expected = `a non-empty string of at most ${maxLength} characters`;
  return schema(expected, (value, field) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) fail(field, expected, value);
    return value;
  });
}

/** One of the strings `values`. */
export function enumOf<T extends string>(values: readonly T[]): Schema<T> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return schema(expected, (value, field) => ((values as readonly unknown[]).includes(value) ? (value as T) : fail(field, expected, value)));
}

/**
 * Bytes as hex characters (either case, an even number, 1 to `maxBytes` bytes; default 400 000,
 * the largest standard transaction); gives lowercase hex. For raw transactions (`tx`).
 */
export function hexBytes(options: { readonly maxBytes?: number } = {}): Schema<string> {
  const maxBytes = options.maxBytes ?? 400_000;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`expected maxBytes >= 1, got ${String(maxBytes)}`);
  const expected = `hex bytes (an even number of hex characters, at most ${maxBytes * 2})`;
  return schema(expected, (value, field) => {
    if (typeof value !== 'string' || value.length === 0 || value.length % 2 !== 0 || value.length > maxBytes * 2 || !/^[0-9a-fA-F]+$/.test(value)) fail(field, expected, value);
    return value.toLowerCase();
  });
}

/**
 * Standard base64 (RFC 4648 §4: `A-Z a-z 0-9 + /`, padded with `=` to a multiple of 4
 * characters, no whitespace), at most `maxLength` characters (default 1 000 000, below the
 * RPC body limit); gives the string as it is. For PSBTs (`psbt`). Only the encoding is
 * checked here; whether the bytes are a PSBT is the node's business (PSBT_INVALID).
 */
export function base64(options: { readonly maxLength?: number } = {}): Schema<string> {
  const maxLength = options.maxLength ?? 1_000_000;
  if (!Number.isSafeInteger(maxLength) || maxLength < 4) throw new RangeError(`expected maxLength >= 4, got ${String(maxLength)}`);
  const expected = `base64 (standard alphabet, padded, at most ${maxLength} characters)`;
  return schema(expected, (value, field) => {
    if (typeof value !== 'string' || value.length === 0 || value.length % 4 !== 0 || value.length > maxLength) fail(field, expected, value);
    if (!/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(value)) fail(field, expected, value);
    return value;
  });
}

/**
 * A JSON array of `minLength` to `maxLength` elements (defaults 1 and 100), each checked by
 * `element`; an element's errors name it `field[i]` (`funding_source.utxos[1].txid`). Gives
 * a fresh array.
 */
export function array<T>(element: Schema<T>, options: { readonly minLength?: number; readonly maxLength?: number } = {}): Schema<T[]> {
  const minLength = options.minLength ?? 1;
  const maxLength = options.maxLength ?? 100;
  if (!Number.isSafeInteger(minLength) || minLength < 0 || !Number.isSafeInteger(maxLength) || maxLength < minLength) {
    throw new RangeError(`expected 0 <= minLength <= maxLength, got minLength ${String(minLength)}, maxLength ${String(maxLength)}`);
  }
  const count = minLength === maxLength ? `${minLength}` : `${minLength} to ${maxLength}`;
  const expected = `an array of ${count} elements, each ${element.expected}`;
  return schema(expected, (value, field) => {
    if (!Array.isArray(value)) fail(field, expected, value);
    if (value.length < minLength || value.length > maxLength) {
      throw new InvalidParamsError(field, `expected ${expected}, got ${value.length} element${value.length === 1 ? '' : 's'}`);
    }
    return value.map((item: unknown, i) => {
      if (item === undefined || item === null) throw new InvalidParamsError(`${field}[${i}]`, `expected ${element.expected}, got ${describeValue(item)}`);
      return element.parse(item, `${field}[${i}]`);
    });
  });
}

/** The value of a `oneOf` schema: an object holding exactly one of the fields. */
export type OneOfValue<F extends Fields> = { [K in keyof F]: Simplify<{ readonly [P in K]: Infer<F[K]> }> }[keyof F];

/**
 * A JSON object holding exactly one of these fields (a tagged union without a tag:
 * `{"utxos": [...]}` or `{"address": "..."}`), and no unknown ones. The error for none or
 * several names the object and lists the alternatives; a bad value names its own path. Gives
 * a fresh object with that one converted field.
 */
export function oneOf<F extends Fields>(fields: F): Schema<OneOfValue<F>> & { readonly fields: F } {
  const names = Object.keys(fields);
  if (names.length < 2) throw new RangeError(`expected at least two alternatives, got ${names.length}`);
  const expected = `a JSON object with exactly one of ${names.map((n) => `"${n}"`).join(', ')}`;
  return {
    expected,
    optional: false,
    fields,
    parse(value: unknown, field: string): OneOfValue<F> {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, expected, value);
      const input = value as Record<string, unknown>;
      const prefix = field === '' ? '' : `${field}.`;
      const unknown = Object.keys(input).filter((k) => !Object.hasOwn(fields, k));
      if (unknown.length > 0) {
        const list = unknown.map((k) => JSON.stringify(k)).join(', ');
        throw new InvalidParamsError(`${prefix}${unknown[0]!}`, `unknown param${unknown.length > 1 ? 's' : ''} ${list} (expected exactly one of: ${names.join(', ')})`, field);
      }
      const given = names.filter((n) => input[n] !== undefined && input[n] !== null);
      if (given.length !== 1) {
        throw new InvalidParamsError(field, `expected exactly one of ${names.join(', ')}, got ${given.length === 0 ? 'none' : given.join(' and ')}`);
      }
      const name = given[0]!;
      return { [name]: fields[name]!.parse(input[name], `${prefix}${name}`) } as OneOfValue<F>;
    },
  };
}

/**
 * Throws InvalidParamsError unless exactly one of `names` is present (not undefined) in the
 * already parsed `value` — for top-level alternatives such as `psbt` | `tx`, whose fields stay
 * ordinary optional params of the method's object schema. `where` is the object's path ("" for
 * the params themselves).
 */
export function requireExactlyOne(value: Readonly<Record<string, unknown>>, names: readonly string[], where = ''): void {
  const given = names.filter((n) => value[n] !== undefined);
  if (given.length === 1) return;
  throw new InvalidParamsError(where, `expected exactly one of ${names.join(', ')}, got ${given.length === 0 ? 'none' : given.join(' and ')}`);
}

/** The same schema, but the param may be absent or null (then the field is left out of the result). */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> & { readonly optional: true } {
  return {
    expected: inner.expected,
    optional: true,
    parse: (value, field) => (value === undefined || value === null ? undefined : inner.parse(value, field)),
  };
}

/**
 * A JSON object with exactly these fields: every required one present, no unknown ones (the
 * error names them all). At the top level (`field` = "") an absent params value counts as `{}`.
 * Gives a fresh object holding the converted values, with absent optional fields left out.
 */
export function object<F extends Fields>(fields: F): ObjectSchema<F> {
  const names = Object.keys(fields);
  return {
    expected: 'a JSON object',
    optional: false,
    fields,
    parse(value: unknown, field: string): ObjectValue<F> {
      if (value === undefined && field === '') value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        if (field === '' && Array.isArray(value)) throw new InvalidParamsError('', 'expected a JSON object of named params, got an array (by-position params are not supported)');
        fail(field, 'a JSON object', value);
      }
      const input = value as Record<string, unknown>;
      const prefix = field === '' ? '' : `${field}.`;
      const unknown = Object.keys(input).filter((k) => !Object.hasOwn(fields, k));
      if (unknown.length > 0) {
        const list = unknown.map((k) => JSON.stringify(k)).join(', ');
        const known = names.length === 0 ? 'this method takes no params' : `known: ${names.join(', ')}`;
        throw new InvalidParamsError(`${prefix}${unknown[0]!}`, `unknown param${unknown.length > 1 ? 's' : ''} ${list} (${known})`, field);
      }
      const out: Record<string, unknown> = {};
      for (const name of names) {
        const sub = fields[name]!;
        const raw = input[name];
        if (!sub.optional && (raw === undefined || raw === null)) {
          throw new InvalidParamsError(`${prefix}${name}`, `required: expected ${sub.expected}, got ${describeValue(raw)}`);
        }
        const parsed = sub.parse(raw, `${prefix}${name}`);
        if (parsed !== undefined) out[name] = parsed;
      }
      return out as ObjectValue<F>;
    },
  };
}
