/**
 * The node seed and its file: 0600 mode, no overwrite, refusal of group/other-readable files,
 * passphrase encryption (scrypt + AES-256-GCM), and no mnemonic in any printed form or error.
 */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { NodeSeed, readSeedFile, writeSeedFile } from '../../src/bitcoin/node-seed.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chand-seed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (err) {
    return isChandError(err) ? err.code : `untyped: ${String(err)}`;
  }
}

async function messageOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    if (typeof p === 'function') p();
    else await p;
    return '';
  } catch (err) {
    return `${String(err)} ${JSON.stringify(err)} ${inspect(err)}`;
  }
}

describe('NodeSeed', () => {
  it('generates a valid 24-word mnemonic that round-trips', () => {
    const seed = NodeSeed.generate();
    const words = seed.revealMnemonic().split(' ');
    expect(words).toHaveLength(24);
    expect(NodeSeed.fromMnemonic(seed.revealMnemonic()).toBip39Seed()).toEqual(seed.toBip39Seed());
    expect(NodeSeed.generate().revealMnemonic()).not.toBe(seed.revealMnemonic());
  });

  it('normalizes spacing and case', () => {
    const seed = NodeSeed.generate();
    const messy = `  ${seed.revealMnemonic().toUpperCase().split(' ').join('   ')}\n`;
    expect(NodeSeed.fromMnemonic(messy).revealMnemonic()).toBe(seed.revealMnemonic());
  });

  it('refuses a bad mnemonic with RangeError, without echoing the words', async () => {
    const words = NodeSeed.generate().revealMnemonic().split(' ');
    words.splice(5, 1); // 23 words: never valid
    const bad = words.join(' ');
    expect(NodeSeed.isValidMnemonic(bad)).toBe(false);
    expect(() => NodeSeed.fromMnemonic(bad)).toThrow(RangeError);
    const text = await messageOf(() => NodeSeed.fromMnemonic(bad));
    for (let i = 0; i + 2 < words.length; i++) expect(text).not.toContain(words.slice(i, i + 3).join(' '));
    expect(() => NodeSeed.fromMnemonic('not a mnemonic at all')).toThrow(RangeError);
    expect(NodeSeed.isValidMnemonic(NodeSeed.generate().revealMnemonic())).toBe(true);
  });

  it('never prints the mnemonic', () => {
    const seed = NodeSeed.generate();
    const words = seed.revealMnemonic().split(' ');
    const printed = [String(seed), `${seed}`, JSON.stringify({ seed }), inspect(seed), inspect({ nested: { seed } })].join('\n');
    expect(printed).toContain('redacted');
    for (const w of words) expect(printed).not.toMatch(new RegExp(`\\b${w}\\b`));
  });
});

describe('seed file', () => {
  it('is written with mode 0600 and read back', async () => {
    const file = path.join(dir, 'plain.json');
    const seed = NodeSeed.generate();
    await writeSeedFile(file, seed);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readSeedFile(file)).revealMnemonic()).toBe(seed.revealMnemonic());
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('is never overwritten', async () => {
    const file = path.join(dir, 'once.json');
    const first = NodeSeed.generate();
    await writeSeedFile(file, first);
    expect(await codeOf(writeSeedFile(file, NodeSeed.generate()))).toBe('SEED_FILE_EXISTS');
    expect((await readSeedFile(file)).revealMnemonic()).toBe(first.revealMnemonic());
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('is refused when group or others can access it', async () => {
    const file = path.join(dir, 'loose.json');
    await writeSeedFile(file, NodeSeed.generate());
    for (const mode of [0o640, 0o604, 0o660, 0o644]) {
      await chmod(file, mode);
      const err = await messageOf(readSeedFile(file));
      expect(await codeOf(readSeedFile(file))).toBe('SEED_FILE_INSECURE');
      expect(err).toContain('chmod 600');
    }
    await chmod(file, 0o600);
    expect(await codeOf(readSeedFile(file))).toBe('none');
  });

  it('SEED_NOT_FOUND for a missing file', async () => {
    expect(await codeOf(readSeedFile(path.join(dir, 'missing.json')))).toBe('SEED_NOT_FOUND');
  });

  it('is encrypted with a passphrase: no plaintext on disk, wrong or missing passphrase refused', async () => {
    const file = path.join(dir, 'enc.json');
    const seed = NodeSeed.generate();
    await writeSeedFile(file, seed, { passphrase: 'correct horse' });
    const raw = await readFile(file, 'utf8');
    // Single words are no evidence (BIP 39 has words such as "salt" that a file format may
    // use as a key), so look for the phrase and any two consecutive words of it.
    const words = seed.revealMnemonic().split(' ');
    expect(raw).not.toContain(seed.revealMnemonic());
    for (let i = 1; i < words.length; i++) expect(raw).not.toContain(`${words[i - 1]} ${words[i]}`);
    expect((await readSeedFile(file, { passphrase: 'correct horse' })).revealMnemonic()).toBe(seed.revealMnemonic());
    expect(await codeOf(readSeedFile(file))).toBe('SEED_DECRYPT_FAILED');
    expect(await codeOf(readSeedFile(file, { passphrase: 'wrong horse' }))).toBe('SEED_DECRYPT_FAILED');
  });

  it('detects tampering with the ciphertext or the header', async () => {
    const file = path.join(dir, 'tamper.json');
    await writeSeedFile(file, NodeSeed.generate(), { passphrase: 'pw', scryptLogN: 10 });
    const doc = JSON.parse(await readFile(file, 'utf8')) as { ciphertext: string; kdf: { logN: number } };
    const flipped = { ...doc, ciphertext: (doc.ciphertext[0] === 'a' ? 'b' : 'a') + doc.ciphertext.slice(1) };
    await rm(file);
    await writeFile(file, JSON.stringify(flipped), { mode: 0o600 });
    expect(await codeOf(readSeedFile(file, { passphrase: 'pw' }))).toBe('SEED_DECRYPT_FAILED');
    const relabeled = { ...doc, kdf: { ...doc.kdf, logN: 11 } };
    await rm(file);
    await writeFile(file, JSON.stringify(relabeled), { mode: 0o600 });
    expect(await codeOf(readSeedFile(file, { passphrase: 'pw' }))).toBe('SEED_DECRYPT_FAILED');
  });

  it('SEED_FILE_INVALID for garbage, without quoting the file', async () => {
    const file = path.join(dir, 'garbage.json');
    const words = NodeSeed.generate().revealMnemonic();
    await writeFile(file, `${words} this is not json`, { mode: 0o600 });
    expect(await codeOf(readSeedFile(file))).toBe('SEED_FILE_INVALID');
    const text = await messageOf(readSeedFile(file));
    expect(text).not.toContain(words.split(' ').slice(0, 3).join(' '));
    const plainBad = path.join(dir, 'bad-mnemonic.json');
    await writeFile(plainBad, JSON.stringify({ kind: 'chand-node-seed', version: 1, encryption: 'none', mnemonic: 'abandon abandon abandon' }), { mode: 0o600 });
    expect(await codeOf(readSeedFile(plainBad))).toBe('SEED_FILE_INVALID');
    expect(await messageOf(readSeedFile(plainBad))).not.toContain('abandon abandon');
  });
});
