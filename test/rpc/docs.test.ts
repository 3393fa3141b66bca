/**
 * Keeps docs/rpc.md true: every method of the table has a `### name` section and every
 * section names a real method; each section's params table lists exactly the method's schema
 * fields; each documented result table lists exactly the fields the method returns (from the
 * NodeApi test double, whose results fill every optional field); and the error-code table
 * equals RPC_ERROR_CODES.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RPC_ERROR_CODES, JsonRpcCode } from '../../src/rpc/errors.js';
import { METHODS } from '../../src/rpc/methods.js';
import { ADDRESS, FakeNode, PEER_ID, PSBT_BASE64 } from './support/fake-node.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'rpc.md'), 'utf8');

/** The `### name` sections under `## Methods`, each with its text. */
function methodSections(): Map<string, string> {
  const methods = doc.slice(doc.indexOf('\n## Methods'));
  const sections = new Map<string, string>();
  for (const part of methods.split(/\n### /).slice(1)) {
    const name = part.slice(0, part.indexOf('\n')).trim();
    sections.set(name, part.split(/\n## /)[0]!);
  }
  return sections;
}

/** The backticked first cells of the table whose header row starts with `| <header> |`. */
function tableNames(section: string, header: string): string[] | undefined {
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${header} |`));
  if (start < 0) return undefined;
  const names: string[] = [];
  for (const line of lines.slice(start + 2)) {
    const m = /^\| `([a-z_]+)` \|/.exec(line);
    if (m === null) break;
    names.push(m[1]!);
  }
  return names;
}

/** Params that make each method succeed on the test double. */
const VALID_PARAMS: Record<string, Record<string, unknown>> = {
  connect_peer: { address: `${PEER_ID}@127.0.0.1:9736` },
  disconnect_peer: { peer_id: PEER_ID },
  open_channel: { peer_id: PEER_ID, funding_amount_sat: 1000 },
  open_channel_with_external_funding: {
    peer_id: PEER_ID,
    funding_amount_sat: 1000,
    funding_source: { address: ADDRESS },
    change_address: ADDRESS,
    fee_rate_sat_per_vb: 2,
  },
  submit_signed_funding_tx: { channel_id: 'ee'.repeat(32), psbt: PSBT_BASE64 },
  get_external_funding: { channel_id: 'ee'.repeat(32) },
  parse_invoice: { invoice: 'lnbcrt10u1pexample' },
  get_invoice: { payment_hash: 'aa'.repeat(32) },
  cancel_invoice: { payment_hash: 'aa'.repeat(32) },
  send_payment: { invoice: 'lnbcrt10u1pexample' },
  get_payment: { payment_hash: 'aa'.repeat(32) },
  shutdown_channel: { channel_id: 'ee'.repeat(32) },
};

describe('docs/rpc.md', () => {
  const sections = methodSections();

  it('documents every method, and only real ones, in table order', () => {
    expect([...sections.keys()]).toEqual(METHODS.map((m) => m.name));
  });

  it.each(METHODS.map((m) => [m.name, m] as const))('%s: the params table lists exactly the schema fields', (name, method) => {
    const section = sections.get(name)!;
    const documented = tableNames(section, 'param');
    const fields = Object.keys(method.params.fields);
    if (fields.length === 0) {
      expect(documented).toBeUndefined();
      expect(section).toMatch(/\nParams: none\./);
    } else {
      expect(documented).toEqual(fields);
      // The required column agrees with the schema.
      for (const field of fields) {
        const row = section.split('\n').find((l) => l.startsWith(`| \`${field}\` |`))!;
        expect(row.split('|')[3]!.trim(), `${name}.${field}`).toBe(method.params.fields[field]!.optional ? 'no' : 'yes');
      }
    }
    expect(section).toMatch(/```bash\ncurl -s -H "Authorization: Bearer \$\(cat ~\/\.chand\/rpc\.token\)"/);
    expect(section).toContain(`"method":"${name}"`);
  });

  it.each(METHODS.map((m) => [m.name, m] as const))('%s: a documented result table lists exactly the result fields', async (name, method) => {
    const section = sections.get(name)!;
    const documented = tableNames(section, 'field');
    const result = (await method.call(new FakeNode(), method.params.parse(VALID_PARAMS[name] ?? {}, ''))) as Record<string, unknown>;
    const keys = Object.keys(result);
    // `{"peers": [...]}`-style results document the fields of one element.
    const list = keys.length === 1 && Array.isArray(result[keys[0]!]) ? (result[keys[0]!] as Array<Record<string, unknown>>) : undefined;
    if (documented === undefined) {
      // A small result is shown inline: `{}` or `{"address": "bcrt1q..."}`.
      const inline = /\nResult: `(\{.*\})`/.exec(section);
      expect(inline, name).not.toBeNull();
      expect([...inline![1]!.matchAll(/"([a-z_]+)":/g)].map((m) => m[1])).toEqual(keys);
      return;
    }
    const actual = list === undefined ? keys : [...new Set(list.flatMap((row) => Object.keys(row)))].sort();
    expect(list === undefined ? documented : [...documented].sort()).toEqual(actual);
    if (list !== undefined) expect(section).toContain(`Result: \`{"${keys[0]}": [...]}\`, each:`);
  });

  it('lists exactly the JSON-RPC codes of RPC_ERROR_CODES (plus the parse error and the -32000 default)', () => {
    const rows = [...doc.matchAll(/^\| (-\d+) \| `([A-Z_]+)` \|/gm)].map((m) => [Number(m[1]), m[2]!] as const);
    const expected = Object.entries(RPC_ERROR_CODES).map(([code, n]) => [n, code] as const);
    expect(rows.filter(([n]) => n !== JsonRpcCode.PARSE_ERROR).sort((a, b) => b[0] - a[0])).toEqual([...expected].sort((a, b) => b[0] - a[0]));
    expect(rows).toContainEqual([JsonRpcCode.PARSE_ERROR, 'RPC_INVALID_REQUEST']);
    expect(doc).toMatch(/^\| -32000 \| any other \|/m);
  });

  it('RPC_ERROR_CODES gives every code its own number, in chand’s server-error range or JSON-RPC’s own', () => {
    const numbers = Object.values(RPC_ERROR_CODES);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) expect(n === undefined ? false : (n <= -32001 && n >= -32099) || (n <= -32600 && n >= -32603), String(n)).toBe(true);
  });
});
