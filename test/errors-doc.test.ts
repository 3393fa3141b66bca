// Keeps docs/errors.md true: every stable code is documented, and nothing undocumented ships.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';

it('documents every error code in docs/errors.md, and only real codes', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
  const codes = Object.values(ErrorCode);
  expect(codes.filter((c) => !documented.has(c))).toEqual([]);
  expect([...documented].filter((c) => !codes.includes(c as never))).toEqual([]);
});
