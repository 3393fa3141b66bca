// A `node --import` hook for tests: records every module the process loads, so a test can
// check which database drivers a command pulled in. The list goes to the file named by
// CHAND_TRACK_LOADS, one URL or path a line: ESM resolutions from a module.register hook
// (which runs on the loader thread, hence a file rather than memory), and at exit every
// CommonJS module in require's cache (drivers load their internals with require).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.CHAND_TRACK_LOADS;
if (out === undefined || out === '') throw new TypeError('expected CHAND_TRACK_LOADS to name an output file, got nothing');

const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(${JSON.stringify(out)}, result.url + '\\n');
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const require = createRequire(import.meta.url);
process.on('exit', () => {
  const cached = Object.keys(require('node:module')._cache);
  appendFileSync(out, cached.map((path) => `${path}\n`).join(''));
});
