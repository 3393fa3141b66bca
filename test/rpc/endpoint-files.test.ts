/**
 * `<datadir>/rpc.token` and `<datadir>/rpc.json` on a real file system: modes, atomic
 * replacement, refusals (an exposed or malformed token), and NODE_NOT_RUNNING when nothing is
 * there. Also RpcClient.forDatadir, which reads both.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, isChandError } from '../../src/errors.js';
import { RpcClient } from '../../src/rpc/client.js';
import {
  ensureRpcToken,
  readRpcEndpoint,
  readRpcToken,
  removeRpcEndpoint,
  RPC_ENDPOINT_FILE,
  RPC_TOKEN_FILE,
  writeRpcEndpoint,
} from '../../src/rpc/endpoint-files.js';
import { RpcServer } from '../../src/rpc/server.js';
import { FakeNode, NODE_INFO } from './support/fake-node.js';

const work = await mkdtemp(join(tmpdir(), 'chand-rpc-files-'));
afterAll(() => rm(work, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(work, `d${++dirs}`);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, got a result');
    },
    (err: unknown) => err,
  );
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('rpc.token', () => {
  it('is created once with mode 0600 and 64 hex characters (and the datadir with 0700), then kept', async () => {
    const dir = join(freshDir(), 'nested');
    const token = await ensureRpcToken(dir);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(await modeOf(join(dir, RPC_TOKEN_FILE))).toBe(0o600);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await readFile(join(dir, RPC_TOKEN_FILE), 'utf8')).toBe(`${token}\n`);
    expect(await ensureRpcToken(dir)).toBe(token);
    expect(await readRpcToken(dir)).toBe(token);
    expect(await readdir(dir)).toEqual([RPC_TOKEN_FILE]);
    expect(await ensureRpcToken(freshDir())).not.toBe(token);
  });

  it('concurrent creators all get the one token that won', async () => {
    const dir = freshDir();
    const tokens = await Promise.all(Array.from({ length: 8 }, () => ensureRpcToken(dir)));
    expect(new Set(tokens).size).toBe(1);
    expect(await readRpcToken(dir)).toBe(tokens[0]);
    expect(await readdir(dir)).toEqual([RPC_TOKEN_FILE]);
  });

  it('refuses a token file that group or others may read (RPC_TOKEN_INSECURE), without printing it', async () => {
    const dir = freshDir();
    const token = await ensureRpcToken(dir);
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(join(dir, RPC_TOKEN_FILE), mode);
      for (const err of [await rejection(ensureRpcToken(dir)), await rejection(readRpcToken(dir))]) {
        expect(isChandError(err, ErrorCode.RPC_TOKEN_INSECURE), String(err)).toBe(true);
        expect((err as Error).message).toContain(mode.toString(8));
        expect((err as Error).message).not.toContain(token);
      }
    }
    await chmod(join(dir, RPC_TOKEN_FILE), 0o600);
    expect(await readRpcToken(dir)).toBe(token);
  });

  it('refuses a directory in place of the token file, and a file that holds no token (DECODE_FAILED)', async () => {
    const dir = freshDir();
    await mkdir(join(dir, RPC_TOKEN_FILE), { recursive: true });
    expect(await rejection(readRpcToken(dir))).toMatchObject({ code: ErrorCode.RPC_TOKEN_INSECURE });
    const other = freshDir();
    await mkdir(other);
    await writeFile(join(other, RPC_TOKEN_FILE), 'hunter2-not-a-token\n', { mode: 0o600 });
    const err = await rejection(ensureRpcToken(other));
    expect(err).toMatchObject({ code: ErrorCode.DECODE_FAILED });
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('a missing token or datadir is NODE_NOT_RUNNING naming the datadir and how to start a node', async () => {
    const dir = freshDir();
    const err = await rejection(readRpcToken(dir));
    expect(isChandError(err, ErrorCode.NODE_NOT_RUNNING)).toBe(true);
    expect((err as Error).message).toBe(`no chand node is running for datadir ${dir} (start one with: chand node start --datadir ${dir})`);
  });
});

describe('rpc.json', () => {
  it('round-trips with mode 0600, replaces atomically (no temporary file left), and is removed idempotently', async () => {
    const dir = freshDir();
    await mkdir(dir);
    await writeRpcEndpoint(dir, { url: 'http://127.0.0.1:8227/', pid: 4242 });
    expect(await modeOf(join(dir, RPC_ENDPOINT_FILE))).toBe(0o600);
    expect(await readRpcEndpoint(dir)).toEqual({ url: 'http://127.0.0.1:8227/', pid: 4242 });
    await writeRpcEndpoint(dir, { url: 'http://[::1]:9000/', pid: 7 });
    expect(await readRpcEndpoint(dir)).toEqual({ url: 'http://[::1]:9000/', pid: 7 });
    expect(await readdir(dir)).toEqual([RPC_ENDPOINT_FILE]);
    await removeRpcEndpoint(dir);
    await removeRpcEndpoint(dir);
    expect(await rejection(readRpcEndpoint(dir))).toMatchObject({ code: ErrorCode.NODE_NOT_RUNNING });
  });

  it('a missing datadir is NODE_NOT_RUNNING; a malformed record DECODE_FAILED; bad arguments TypeError/RangeError', async () => {
    expect(await rejection(readRpcEndpoint(join(freshDir(), 'x')))).toMatchObject({ code: ErrorCode.NODE_NOT_RUNNING });
    const dir = freshDir();
    await mkdir(dir);
    for (const content of ['{', '{"url": "ftp://x", "pid": 1}', '{"url": "http://127.0.0.1:1/", "pid": -1}', '[]']) {
      await writeFile(join(dir, RPC_ENDPOINT_FILE), content);
      expect(await rejection(readRpcEndpoint(dir)), content).toMatchObject({ code: ErrorCode.DECODE_FAILED });
    }
    await expect(writeRpcEndpoint(dir, { url: 'nope', pid: 1 })).rejects.toThrow(TypeError);
    await expect(writeRpcEndpoint(dir, { url: 'http://127.0.0.1:1/', pid: 0 })).rejects.toThrow(RangeError);
    await expect(readRpcEndpoint('')).rejects.toThrow(TypeError);
  });
});

describe('RpcClient.forDatadir', () => {
  it('finds a running server through the two files, and says NODE_NOT_RUNNING with the datadir once it is gone', async () => {
    const dir = freshDir();
    const token = await ensureRpcToken(dir);
    const server = new RpcServer({ api: new FakeNode(), host: '127.0.0.1', port: 0, token });
    const { url } = await server.start();
    try {
      await writeRpcEndpoint(dir, { url, pid: process.pid });
      const client = await RpcClient.forDatadir(dir);
      expect(client.url).toBe(url);
      expect(await client.call('node_info')).toEqual(NODE_INFO);
    } finally {
      await server.stop();
    }
    // The endpoint file stays behind, as after a crash: the refused connection is NODE_NOT_RUNNING too.
    const stale = await rejection((await RpcClient.forDatadir(dir)).call('node_info'));
    expect(stale).toMatchObject({ code: ErrorCode.NODE_NOT_RUNNING, message: expect.stringContaining(`datadir ${dir}`) });
    await removeRpcEndpoint(dir);
    expect(await rejection(RpcClient.forDatadir(dir))).toMatchObject({ code: ErrorCode.NODE_NOT_RUNNING });
  });
});
