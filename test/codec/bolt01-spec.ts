/**
 * Access to the BOLT 1 spec text for the vector tests, so vectors are read from the spec itself
 * rather than retyped. Assumes the shared spec checkout sits next to the repository at
 * `../shared/specs/bolts/01-messaging.md`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Absolute path of the BOLT 1 markdown file. */
export const BOLT01_PATH = path.resolve(repoRoot, '../shared/specs/bolts/01-messaging.md');

/** The full BOLT 1 text. Throws if the file is missing, which fails the importing test file. */
export function readBolt01(): string {
  return readFileSync(BOLT01_PATH, 'utf8');
}

/**
 * The text of the section whose heading line is exactly `heading` (e.g. "## Appendix A: ..."),
 * up to the next heading of the same or a higher level. Throws if the heading is absent, so a
 * renamed section fails loudly instead of yielding zero vectors.
 */
export function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`heading not found in BOLT 1: ${heading}`);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => {
    if (i <= start) return false;
    const m = /^(#+) /.exec(l);
    return m !== null && m[1]!.length <= level;
  });
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The level-3 headings ("### ...") inside `text`, in order, without the hashes. */
export function subheadings(text: string): string[] {
  return [...text.matchAll(/^### (.+)$/gm)].map((m) => m[1]!.trim());
}
