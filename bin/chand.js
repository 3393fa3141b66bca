#!/usr/bin/env node
// Entry point of the `chand` command: runs the compiled CLI in dist/ (no TypeScript at run
// time). A git checkout has no dist/ until it is built, so say how to build it rather than
// failing with a module-not-found stack trace.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(`chand: not built: ${fileURLToPath(main)} is missing; run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))}\n`);
  process.exit(1);
}
await import(main.href);
