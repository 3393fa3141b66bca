/**
 * Reads the BOLT 8 Appendix A test vectors straight from the spec markdown in
 * /work/shared/specs/bolts, so the tests are tied to the spec text rather than to a copy.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from '@noble/hashes/utils.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Absolute path of the BOLT 8 markdown. */
export const BOLT8_PATH = path.resolve(repoRoot, '../shared/specs/bolts/08-transport.md');

/** One `input:` or `output:` line of a handshake case, in order; comments are dropped. */
export type Step =
  | { readonly kind: 'input' | 'output'; readonly bytes: Uint8Array }
  | { readonly kind: 'error'; readonly reason: string }
  | { readonly kind: 'keys'; readonly first: Uint8Array; readonly second: Uint8Array };

/** One named handshake case of Appendix A. */
export interface HandshakeCase {
  readonly name: string;
  readonly keys: Readonly<Record<string, Uint8Array>>;
  readonly steps: readonly Step[];
}

/** The message encryption case. */
export interface MessageCase {
  readonly ck: Uint8Array;
  readonly sk: Uint8Array;
  readonly rk: Uint8Array;
  readonly outputs: ReadonlyMap<number, Uint8Array>;
}

function hex(value: string): Uint8Array {
  return hexToBytes(value.trim().replace(/^0x/i, ''));
}

function section(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`BOLT 8 has no section ${heading}`);
  const next = text.slice(start + 1).search(/\n#{1,2} /);
  return next < 0 ? text.slice(start) : text.slice(start, start + 1 + next);
}

function parseCases(block: string): HandshakeCase[] {
  const cases: { name: string; keys: Record<string, Uint8Array>; steps: Step[] }[] = [];
  for (const raw of block.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('```')) continue;
    const m = /^([a-z.]+)\s*[:=]\s*(.*)$/.exec(line);
    if (m === null) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'name') {
      cases.push({ name: value, keys: {}, steps: [] });
      continue;
    }
    const current = cases.at(-1);
    if (current === undefined) continue;
    if (key === 'input' || key === 'output') {
      const err = /^ERROR \((\w+)/.exec(value);
      const pair = /^(\w+),(\w+)=(0x[0-9a-f]+),(0x[0-9a-f]+)$/.exec(value);
      if (err !== null) current.steps.push({ kind: 'error', reason: err[1]! });
      else if (pair !== null) current.steps.push({ kind: 'keys', first: hex(pair[3]!), second: hex(pair[4]!) });
      else current.steps.push({ kind: key, bytes: hex(value) });
    } else {
      current.keys[key] = hex(value);
    }
  }
  return cases;
}

let cached: string | undefined;
function specText(): string {
  cached ??= readFileSync(BOLT8_PATH, 'utf8');
  return cached;
}

/** The initiator cases of Appendix A ("transport-initiator ..."). */
export function initiatorCases(): HandshakeCase[] {
  return parseCases(section(specText(), 'Initiator Tests'));
}

/** The responder cases of Appendix A ("transport-responder ..."). */
export function responderCases(): HandshakeCase[] {
  return parseCases(section(specText(), 'Responder Tests'));
}

/** The "transport-message test" case: keys and the listed outputs by message number. */
export function messageCase(): MessageCase {
  const block = section(specText(), 'Message Encryption Tests');
  const field = (name: string) => {
    const m = new RegExp(`^\\s*${name}=(0x[0-9a-f]+)`, 'm').exec(block);
    if (m === null) throw new Error(`no ${name} in the message test`);
    return hex(m[1]!);
  };
  const outputs = new Map<number, Uint8Array>();
  for (const m of block.matchAll(/^\s*output (\d+): (0x[0-9a-f]+)/gm)) outputs.set(Number(m[1]), hex(m[2]!));
  return { ck: field('ck'), sk: field('sk'), rk: field('rk'), outputs };
}
