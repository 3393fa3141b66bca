// src/invoice must run in browsers: no module it reaches (transitively, through relative
// imports) imports a Node built-in or uses Node's Buffer global.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const src = join(import.meta.dirname, '..', '..', 'src');

it('src/invoice reaches no Node built-in and no Buffer', () => {
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)) {
      if (spec!.startsWith('node:') || ['fs', 'path', 'crypto', 'buffer', 'os'].includes(spec!)) bad.push(`${relative(src, file)} imports ${spec}`);
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
    }
    if (/\bBuffer\b/.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''))) bad.push(`${relative(src, file)} uses Buffer`);
  };
  visit(join(src, 'invoice', 'index.ts'));
  expect(seen.size).toBeGreaterThan(5);
  expect(bad).toEqual([]);
});
