/**
 * The two files through which a running node and its clients (the CLI, tests) find each other
 * in a data directory:
 *
 *   <datadir>/rpc.token  the bearer token: 32 random bytes as 64 lowercase hex characters and
 *                        a newline. Mode 0600; created once and kept across restarts (so a
 *                        client configured with it keeps working); a file that group or others
 *                        may access is refused (RPC_TOKEN_INSECURE), as the seed file is.
 *   <datadir>/rpc.json   where the running node listens: `{"url": "...", "pid": N}`. Written
 *                        by the node once its RPC server listens (temporary file, fsync,
 *                        rename: never seen half-written), removed at stop. After a crash it
 *                        stays behind; a client then gets a refused connection, which is also
 *                        NODE_NOT_RUNNING.
 *
 * A missing data directory, endpoint or token file is NODE_NOT_RUNNING, with a message that
 * says how to start a node.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ChandError, DecodeError, ErrorCode } from '../errors.js';
import { replaceFileAtomic, syncDir, writeTempFile } from '../fs/durable-file.js';

/** File name of the bearer token inside a data directory. */
export const RPC_TOKEN_FILE = 'rpc.token';
/** File name of the endpoint record inside a data directory. */
export const RPC_ENDPOINT_FILE = 'rpc.json';

/** Where a running node's RPC server listens. */
export interface RpcEndpoint {
  /** The server URL, e.g. `http://127.0.0.1:8227/`. */
  readonly url: string;
  /** Process id of the node. */
  readonly pid: number;
}

/** The NODE_NOT_RUNNING message for `datadir`. */
export function notRunningMessage(datadir: string): string {
  return `no chand node is running for datadir ${datadir} (start one with: chand node start --datadir ${datadir})`;
}

function notRunning(datadir: string): ChandError {
  return new ChandError(ErrorCode.NODE_NOT_RUNNING, notRunningMessage(datadir));
}

function checkDatadir(datadir: unknown): asserts datadir is string {
  if (typeof datadir !== 'string' || datadir === '') throw new TypeError(`expected a data directory path, got ${JSON.stringify(datadir)}`);
}

const TOKEN_PATTERN = /^[0-9a-f]{64}\n?$/;

/**
 * The node's RPC token, created if missing: `<datadir>/rpc.token`, mode 0600, 32 random bytes
 * as 64 hex characters. Creates the data directory (mode 0700) if needed. Never replaces an
 * existing token; when two processes race, both get the one that won. Throws
 * RPC_TOKEN_INSECURE for an existing file that group or others may access, DECODE_FAILED for
 * one that does not hold a token.
 */
export async function ensureRpcToken(datadir: string): Promise<string> {
  checkDatadir(datadir);
  await mkdir(datadir, { recursive: true, mode: 0o700 });
  const file = path.join(datadir, RPC_TOKEN_FILE);
  const existing = await readTokenFile(file);
  if (existing !== undefined) return existing;
  const tmp = await writeTempFile(file, `${randomBytes(32).toString('hex')}\n`);
  try {
    // link() fails if the target exists: an atomic create-if-absent of a complete file.
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  await syncDir(datadir);
  const token = await readTokenFile(file);
  if (token === undefined) throw new Error(`${file} vanished right after it was created`);
  return token;
}

/**
 * The token of the node of `datadir`. Throws NODE_NOT_RUNNING when there is none (no node was
 * ever started there), RPC_TOKEN_INSECURE or DECODE_FAILED as ensureRpcToken does.
 */
export async function readRpcToken(datadir: string): Promise<string> {
  checkDatadir(datadir);
  const token = await readTokenFile(path.join(datadir, RPC_TOKEN_FILE));
  if (token === undefined) throw notRunning(datadir);
  return token;
}

/** The token in `file`, or undefined if there is no such file. */
async function readTokenFile(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  let content: string;
  try {
    // Check the opened file itself, so a swap between check and read cannot fool us.
    const st = await handle.stat();
    if (!st.isFile()) throw new ChandError(ErrorCode.RPC_TOKEN_INSECURE, `RPC token file ${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new ChandError(
        ErrorCode.RPC_TOKEN_INSECURE,
        `RPC token file ${file} has mode ${(st.mode & 0o777).toString(8)}, which lets group or others read it; run chmod 600 on it`,
      );
    }
    content = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  // No content in the message: it would be (part of) a token.
  if (!TOKEN_PATTERN.test(content)) throw new DecodeError(`RPC token file ${file} does not hold 64 lowercase hex characters; delete it and restart the node to make a new one`);
  return content.slice(0, 64);
}

/**
 * Records where the node of `datadir` listens (`<datadir>/rpc.json`, mode 0600), replacing any
 * previous record atomically (temporary file, fsync, rename, directory fsync).
 */
export async function writeRpcEndpoint(datadir: string, endpoint: RpcEndpoint): Promise<void> {
  checkDatadir(datadir);
  if (typeof endpoint?.url !== 'string' || !/^https?:\/\//.test(endpoint.url)) throw new TypeError(`expected endpoint.url to be an http(s) URL, got ${JSON.stringify(endpoint?.url)}`);
  if (!Number.isSafeInteger(endpoint.pid) || endpoint.pid <= 0) throw new RangeError(`expected endpoint.pid to be a positive integer, got ${String(endpoint.pid)}`);
  const file = path.join(datadir, RPC_ENDPOINT_FILE);
  await replaceFileAtomic(file, `${JSON.stringify({ url: endpoint.url, pid: endpoint.pid })}\n`);
}

/**
 * Where the node of `datadir` listens. Throws NODE_NOT_RUNNING when the data directory or the
 * endpoint file is missing, DECODE_FAILED when the file is not an endpoint record. Does not
 * check that the node is alive (a client finds out on its first call).
 */
export async function readRpcEndpoint(datadir: string): Promise<RpcEndpoint> {
  checkDatadir(datadir);
  const file = path.join(datadir, RPC_ENDPOINT_FILE);
  let text: string;
  try {
    const handle = await open(file, 'r');
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notRunning(datadir);
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new DecodeError(`RPC endpoint file ${file} is not valid JSON`, { cause: err });
  }
  const { url, pid } = (typeof doc === 'object' && doc !== null ? doc : {}) as { url?: unknown; pid?: unknown };
  if (typeof url !== 'string' || !/^https?:\/\//.test(url) || typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new DecodeError(`RPC endpoint file ${file} is not a chand endpoint record ({"url": "http://...", "pid": N})`);
  }
  return { url, pid };
}

/** Removes the endpoint file of `datadir`; nothing happens when there is none (idempotent). */
export async function removeRpcEndpoint(datadir: string): Promise<void> {
  checkDatadir(datadir);
  await rm(path.join(datadir, RPC_ENDPOINT_FILE), { force: true });
}
