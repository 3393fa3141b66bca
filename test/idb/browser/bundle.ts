// Node-side bundling for the browser tests, with esbuild: the page bundle of the Chromium
// tests (conformance suite + backend, `vitest` aliased to vitest-shim.ts) and the check that
// the browser composition root pulls in no Node module.
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';

const here = import.meta.dirname;
const root = join(here, '..', '..', '..');

/** Bundles `entry` (default: the test page, page-entry.ts) for the browser; returns the ES module's text. */
export async function buildPageBundle(entry: string = join(here, 'page-entry.ts')): Promise<string> {
  const aliasVitest: Plugin = {
    name: 'alias-vitest',
    setup(b) {
      b.onResolve({ filter: /^vitest$/ }, () => ({ path: join(here, 'vitest-shim.ts') }));
    },
  };
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    plugins: [aliasVitest],
    // The suite reads CHAND_BACKENDS from process.env; a page has no process.
    banner: { js: 'var process = globalThis.process ?? { env: {} };' },
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/**
 * Node builtins, native drivers and Node-only packages a browser bundle must never contain.
 * tiny-secp256k1 (libsecp256k1 in WebAssembly) is one of the last: only the Node roots
 * inject it (its browser build would need a bundler that loads .wasm files).
 */
const NODE_ONLY = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'better-sqlite3', 'pg', 'lmdb', 'kysely', 'tiny-secp256k1']);

/**
 * Bundles `entry` (relative to the repository) for the browser and reports every Node-only
 * import it reached (kept external so the build itself does not fail first), and the
 * node_modules packages it bundled.
 */
export async function browserImportsOf(entry: string): Promise<{ nodeOnly: string[]; packages: string[]; bytes: number }> {
  const nodeOnly = new Set<string>();
  const record: Plugin = {
    name: 'record-node-only',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.split('/').slice(0, args.path.startsWith('@') ? 2 : 1).join('/');
        if (NODE_ONLY.has(args.path) || NODE_ONLY.has(bare)) {
          nodeOnly.add(args.path);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    plugins: [record],
    logLevel: 'silent',
  });
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    if (m !== null) packages.add(m[1]!);
  }
  return { nodeOnly: [...nodeOnly].sort(), packages: [...packages].sort(), bytes: result.outputFiles[0]!.contents.length };
}
