/**
 * The docs/devnet.md walk-through, run as real processes: `chand devnet` in the background,
 * then `chand signer` (the standalone test wallet) and `chand devnet` control commands
 * against it, then a restart.
 *
 * The processes run the CLI of this checkout (compiled for this test run, see
 * test/support/spawn-args.ts), rather than whatever dist/ was last built from.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAIN_HASHES } from '../../src/linknode/store.js';
import { writeOldDevnetStore } from './support/old-devnet.js';
import { testKey } from './support/tx-builder.js';
import { chandSpawnArgs } from '../support/spawn-args.js';

const run = promisify(execFile);
/** `node` arguments that run `chand <args>`. */
const cli = (...args: string[]): string[] => chandSpawnArgs(...args);

/** Starts `chand devnet` on an ephemeral port; resolves with the process and its API URL. */
async function startDevnet(datadir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, cli('devnet', '--port', '0', '--datadir', datadir), { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Esplora API at (http:\/\/\S+)/.exec(out);
      if (match !== null) resolveUrl(match[1]!);
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`chand devnet exited with ${code}: ${err}`)));
  });
  return { child, url };
}

/** Sends SIGINT and waits for the process to exit. */
async function stopDevnet(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGINT');
  await exited;
}

describe('chand devnet + chand signer (CLI walk-through)', () => {
  let dir: string;
  let devnet: { child: ChildProcess; url: string };
  let env: NodeJS.ProcessEnv;
  const chand = async (...args: string[]): Promise<string> => (await run(process.execPath, cli(...args), { env, cwd: dir })).stdout.trim();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chand-cli-'));
    devnet = await startDevnet(join(dir, 'chain'));
    env = { ...process.env, CHAND_ESPLORA_URL: devnet.url, CHAND_WALLET: join(dir, 'alice.json') };
  });
  afterAll(async () => {
    if (devnet !== undefined) await stopDevnet(devnet.child);
    await rm(dir, { recursive: true, force: true });
  });

  // Each command is a process compiling the CLI with tsx: allow for a busy machine.
  it('creates a wallet, funds it from the faucet, mines, sends, and survives a devnet restart', { timeout: 180_000 }, async () => {
    expect(await chand('signer', 'create')).toMatch(/created regtest wallet/);
    expect((await stat(join(dir, 'alice.json'))).mode & 0o777).toBe(0o600);
    // The mnemonic lives in the node-seed-format file beside it, which is never overwritten.
    expect((await stat(join(dir, 'alice.seed.json'))).mode & 0o777).toBe(0o600);
    const again = await run(process.execPath, cli('signer', 'create'), { env, cwd: dir }).catch((err: { code: number; stderr: string }) => err);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/WALLET_ALREADY_EXISTS/) });
    const address = await chand('signer', 'address');
    expect(address).toMatch(/^bcrt1q/);

    const faucet = JSON.parse(await chand('devnet', 'faucet', address, '1000000')) as { txid: string };
    expect(faucet.txid).toMatch(/^[0-9a-f]{64}$/);
    await chand('devnet', 'mine', '1');
    const sent = JSON.parse(await chand('signer', 'send', testKey('cli bob').address, '250000', '--fee-rate', '2')) as { txid: string; fee_sat: string };
    const mined = JSON.parse(await chand('devnet', 'mine')) as { height: number; hashes: string[] };
    const balance = JSON.parse(await chand('signer', 'balance')) as { confirmed_sat: string; unconfirmed_sat: string };
    expect(balance).toEqual({ confirmed_sat: String(1_000_000n - 250_000n - BigInt(sent.fee_sat)), unconfirmed_sat: '0' });

    await stopDevnet(devnet.child);
    devnet = await startDevnet(join(dir, 'chain'));
    env = { ...env, CHAND_ESPLORA_URL: devnet.url };
    const info = JSON.parse(await chand('devnet', 'info')) as { height: number; tipHash: string; genesisHash: string };
    expect(info).toMatchObject({ height: mined.height, tipHash: mined.hashes[0], genesisHash: CHAIN_HASHES.regtest });
  });

  it('refuses a data directory an older chand created (its own genesis) with DEVNET_GENESIS_MISMATCH naming the directory', async () => {
    const old = join(dir, 'old-devnet');
    await writeOldDevnetStore(old, testKey('cli old miner').script);
    const failure = await run(process.execPath, cli('devnet', '--port', '0', '--datadir', old), { env, cwd: dir, timeout: 60_000 }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure).toMatchObject({ code: 1 });
    const lines = (failure as { stderr: string }).stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^chand: DEVNET_GENESIS_MISMATCH: --datadir \S*old-devnet: .*Delete the devnet data directory/);
    expect(lines[0]).toContain(CHAIN_HASHES.regtest);
  });

  it('reports failures with a code and a non-zero exit status', async () => {
    const failure = await run(process.execPath, cli('signer', 'balance', '--wallet', join(dir, 'missing.json')), { env, cwd: dir }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toMatch(/WALLET_NOT_FOUND/);
  });
});
