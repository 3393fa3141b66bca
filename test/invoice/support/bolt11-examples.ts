/**
 * The examples of BOLT 11's appendix, read from the spec text itself (not retyped). Assumes
 * the shared spec checkout next to the repository at `../shared/specs/bolts/11-payment-encoding.md`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Absolute path of the BOLT 11 markdown file. */
export const BOLT11_PATH = path.resolve(repoRoot, '../shared/specs/bolts/11-payment-encoding.md');

/** One appendix example: its heading (without the `> ###` marks), its invoice string, its breakdown text. */
export interface Bolt11Example {
  readonly title: string;
  readonly invoice: string;
  readonly breakdown: string;
}

/** The private key every appendix example is signed with, as the spec states it. */
export function specPrivateKeyHex(text: string): string {
  const m = /signed with `priv_key`=`([0-9a-f]{64})`/.exec(text);
  if (m === null) throw new Error('priv_key sentence not found in BOLT 11');
  return m[1]!;
}

/**
 * The examples of one appendix part: `valid` is "# Examples" up to "# Examples of Invalid
 * Invoices", `invalid` the rest up to "# Authors". Throws if a heading is missing or an example
 * has no invoice line, so a changed spec fails loudly rather than yielding fewer examples.
 */
export function readExamples(text: string, part: 'valid' | 'invalid'): Bolt11Example[] {
  const lines = text.split('\n');
  const at = (heading: string): number => {
    const i = lines.findIndex((l) => l.trim() === heading);
    if (i < 0) throw new Error(`heading not found in BOLT 11: ${heading}`);
    return i;
  };
  const validStart = at('# Examples');
  const invalidStart = at('# Examples of Invalid Invoices');
  const end = at('# Authors');
  const body = part === 'valid' ? lines.slice(validStart + 1, invalidStart) : lines.slice(invalidStart + 1, end);
  const out: Bolt11Example[] = [];
  for (let i = 0; i < body.length; i++) {
    const heading = /^>\s*#+\s*(.+)$/.exec(body[i]!);
    if (heading === null) continue;
    let j = i + 1;
    let invoice: string | undefined;
    for (; j < body.length; j++) {
      const line = body[j]!.replace(/^>\s?/, '').trim();
      if (line === '') continue;
      if (!/^[A-Za-z0-9]+$/.test(line)) throw new Error(`example "${heading[1]}" has no invoice line`);
      invoice = line;
      break;
    }
    let k = j + 1;
    while (k < body.length && !/^>\s*#/.test(body[k]!)) k++;
    out.push({ title: heading[1]!.trim(), invoice: invoice!, breakdown: body.slice(j + 1, k).join('\n') });
    i = k - 1;
  }
  return out;
}
