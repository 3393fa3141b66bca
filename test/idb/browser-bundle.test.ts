// The browser composition root bundles for the browser without any Node module: no
// builtin (fs, net, path, crypto, ...) and no native or server driver.
import { describe, expect, it } from 'vitest';
import { browserImportsOf } from './browser/bundle.js';

describe('browser bundle', () => {
  it('src/channeldb/open-browser.ts pulls in no Node builtin and no native/server driver', async () => {
    const { nodeOnly, packages, bytes } = await browserImportsOf('src/channeldb/open-browser.ts');
    expect(nodeOnly).toEqual([]);
    // What it does bundle: the pure-JS crypto and Bitcoin libraries the domain rules use.
    expect(packages.filter((p) => !p.startsWith('@noble/') && !p.startsWith('@scure/') && p !== 'micro-packed')).toEqual([]);
    expect(bytes).toBeGreaterThan(10_000);
  });

  it('the check sees a Node import when there is one (the Node root, src/channeldb/open.ts)', async () => {
    const { nodeOnly } = await browserImportsOf('src/channeldb/open.ts');
    expect(nodeOnly).toEqual(expect.arrayContaining(['node:fs', 'node:path', 'tiny-secp256k1']));
  });
});
