// The layering rules of docs/architecture.md, checked from the imports: contracts import no
// backend or driver, backends import contracts and never each other, only the composition
// roots (channeldb/, cli/) pick an engine, and every backend folder has the same facet files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '..', 'src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports (static, dynamic and re-exports). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)].map((m) => m[1]!);
}

/** The src/ folder an import of `file` lands in, or the package name for a bare specifier. */
function targetOf(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec.startsWith('node:') ? 'node' : spec.split('/')[0]!.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
  return relative(src, join(file, '..', spec)).split(/[\\/]/)[0]!;
}

const DRIVERS = ['better-sqlite3', 'pg', 'lmdb', 'kysely'];
const FACET_FILES = [
  'channel-state-store.ts',
  'open-channel-reads.ts',
  'status-and-lifecycle.ts',
  'commitments.ts',
  'fwd-pkgs.ts',
  'closed-channels.ts',
  'setup-and-final-htlcs.ts',
  'external-funding.ts',
  'maintenance.ts',
  'link-node-store.ts',
  'coordinator.ts',
  'chanstate-tx.ts',
  'migrations.ts',
];

describe('architecture', () => {
  it('contracts (chanstate, linknode, channelcoord, payments) import no backend, composition root or driver', () => {
    for (const folder of ['chanstate', 'linknode', 'channelcoord', 'payments']) {
      for (const file of filesUnder(join(src, folder))) {
        const bad = importsOf(file).filter((spec) => ['kv', 'sql', 'idb', 'channeldb', ...DRIVERS].includes(targetOf(file, spec)));
        expect({ file: relative(src, file), bad }).toEqual({ file: relative(src, file), bad: [] });
      }
    }
  });

  it('backends never import each other', () => {
    for (const [folder, other] of [
      ['kv', 'sql'],
      ['sql', 'kv'],
      ['idb', 'kv'],
      ['idb', 'sql'],
      ['kv', 'idb'],
      ['sql', 'idb'],
    ] as const) {
      for (const file of filesUnder(join(src, folder))) {
        expect({ file: relative(src, file), imports: importsOf(file).filter((s) => targetOf(file, s) === other) }).toEqual({ file: relative(src, file), imports: [] });
      }
    }
  });

  it('outside the backends only the composition roots (channeldb, cli) import a backend module, except the KvEngine contract', () => {
    const roots = new Set(['kv', 'sql', 'idb', 'channeldb', 'cli', 'testing']);
    for (const file of filesUnder(src)) {
      const folder = relative(src, file).split(/[\\/]/)[0]!;
      if (roots.has(folder)) continue;
      const bad = importsOf(file).filter((spec) => {
        const target = targetOf(file, spec);
        return (target === 'sql' || target === 'idb' || (target === 'kv' && !spec.endsWith('/kv/engine.js')) || DRIVERS.includes(target));
      });
      expect({ file: relative(src, file), bad }).toEqual({ file: relative(src, file), bad: [] });
    }
  });

  it('the conformance suite (testing/) imports contracts only, so a third-party backend can run it', () => {
    for (const file of filesUnder(join(src, 'testing'))) {
      const bad = importsOf(file).filter((spec) => ['kv', 'sql', 'idb', 'channeldb', ...DRIVERS].includes(targetOf(file, spec)));
      expect({ file: relative(src, file), bad }).toEqual({ file: relative(src, file), bad: [] });
    }
  });

  it('runtime services take narrow store facets: only node/ (and the roots, backends, testing, cli) see the whole database', () => {
    // lnd PR #10950's "narrow consumers": the funding manager, channel actors, wallet, peers
    // and RPC name the facets they use (Pick<CommitmentStore, ...>), never the whole store.
    const allowed = new Set(['node', 'channeldb', 'kv', 'sql', 'idb', 'testing', 'cli', 'chanstate', 'linknode', 'channelcoord', 'payments']);
    const runtime = filesUnder(src).filter((file) => {
      const parts = relative(src, file).split(/[\\/]/);
      return parts.length > 1 && !allowed.has(parts[0]!);
    });
    expect(runtime.some((f) => relative(src, f).startsWith('funding'))).toBe(true);
    for (const file of runtime) {
      const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      const imports = importsOf(file).filter((spec) => targetOf(file, spec) === 'channeldb');
      const wholeTypes = [...text.matchAll(/\b(ChannelStateStore|ChannelDb|ChannelStores|Coordinator)\b/g)].map((m) => m[1]);
      expect({ file: relative(src, file), imports, wholeTypes }).toEqual({ file: relative(src, file), imports: [], wholeTypes: [] });
    }
  });

  it('every backend folder has the same facet files', () => {
    for (const folder of ['kv', 'sql', 'idb']) {
      const present = new Set(readdirSync(join(src, folder)));
      expect({ folder, missing: FACET_FILES.filter((f) => !present.has(f)) }).toEqual({ folder, missing: [] });
    }
  });
});
