/**
 * What the CLI tests share: real `chand` processes (this checkout, see test/support/spawn-args.ts)
 * run against an RpcServer over the NodeApi test double, found through a real data
 * directory's rpc.json and rpc.token. Every child is bounded by a timeout and killed by PID.
 */
import { afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRpcToken, writeRpcEndpoint } from '../../../src/rpc/endpoint-files.js';
import { RpcServer } from '../../../src/rpc/server.js';
import { chandSpawnArgs } from '../../support/spawn-args.js';
import { FakeNode } from './fake-node.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
const children = new Set<ChildProcess>();
/** This process's environment without CHAND_DATADIR, so only what a test passes counts. */
const withoutDatadir = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CHAND_DATADIR'));

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `chand <args>` (with `stdin` as its input if given); resolves when it exits, SIGKILLs it by PID after 60 s. */
export function chand(args: readonly string[], env: NodeJS.ProcessEnv = {}, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, chandSpawnArgs(...args), {
      cwd: REPO_ROOT,
      env: { ...withoutDatadir, ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A FakeNode behind a real RpcServer, reachable through `datadir`. */
export interface FakeNodeServer {
  readonly work: string;
  readonly datadir: string;
  readonly api: FakeNode;
  readonly server: RpcServer;
  /** Kills leftover children by PID, stops the server, removes the directory. */
  stop(): Promise<void>;
}

/** Starts a fake node server before the file's tests and stops it after them; the fields are set once it runs. */
export function useFakeNodeServer(prefix: string): { server: FakeNodeServer; lastCall(): { method: string; params: unknown } } {
  const t = {} as { server: FakeNodeServer; lastCall(): { method: string; params: unknown } };
  t.lastCall = () => t.server.api.calls[t.server.api.calls.length - 1]!;
  beforeAll(async () => {
    t.server = await startFakeNodeServer(prefix);
  });
  afterAll(async () => {
    await t.server?.stop();
  });
  return t;
}

export async function startFakeNodeServer(prefix: string): Promise<FakeNodeServer> {
  const work = await mkdtemp(join(tmpdir(), prefix));
  const datadir = join(work, 'node');
  const token = await ensureRpcToken(datadir);
  const api = new FakeNode();
  const server = new RpcServer({ api, host: '127.0.0.1', port: 0, token });
  const { url } = await server.start();
  await writeRpcEndpoint(datadir, { url, pid: process.pid });
  return {
    work,
    datadir,
    api,
    server,
    stop: async () => {
      for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      await server.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}
