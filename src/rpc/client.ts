/**
 * A JSON-RPC 2.0 client for chand's RPC server, used by the CLI and by tests.
 *
 * Each call is one HTTP POST with the bearer token. A JSON-RPC error becomes an RpcCallError
 * (a ChandError): its `code` is the error's `data.code` when this build knows it (so
 * `isChandError(err, ErrorCode.CHANNEL_NOT_FOUND)` works across the wire), else RPC_ERROR;
 * the JSON-RPC code, message and data are kept. A refused connection is NODE_NOT_RUNNING, no
 * answer within `timeoutMs` RPC_TIMEOUT (the call may still take effect on the node).
 * Messages never contain the token or credentials of the URL.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ChandError, ErrorCode } from '../errors.js';
import { readRpcEndpoint, readRpcToken, notRunningMessage } from './endpoint-files.js';
import { isErrorCode, RpcCallError } from './errors.js';

/** Default time a call may take: opens and connects wait on a peer. */
export const DEFAULT_CALL_TIMEOUT_MS = 120_000;
/** Largest response the client reads (a long channel list is far below it). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Options of `RpcClient`. */
export interface RpcClientOptions {
  /** The server's URL, e.g. `http://127.0.0.1:8227/`. */
  readonly url: string;
  /** The bearer token (the content of `<datadir>/rpc.token`). */
  readonly token: string;
  /** Give up on a call after this long (default 120 s). */
  readonly timeoutMs?: number | undefined;
  /** The message of NODE_NOT_RUNNING when the connection is refused (default: names the URL). */
  readonly notRunningMessage?: string | undefined;
}

/** `url` without user info, query or fragment, for messages. */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** A client of one chand node's RPC server. Holds no connection between calls beyond Node's keep-alive pool. */
export class RpcClient {
  readonly #url: URL;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #notRunningMessage: string;
  #nextId = 1;

  constructor(options: RpcClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError(`expected options.url to be an http(s) URL, got ${JSON.stringify(String(options.url)).slice(0, 200)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`expected an http: or https: URL, got ${url.protocol}`);
    if (typeof options.token !== 'string' || options.token === '') throw new TypeError('expected options.token to be a non-empty string');
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`expected options.timeoutMs > 0, got ${String(timeoutMs)}`);
    this.#url = url;
    this.#token = options.token;
    this.#timeoutMs = timeoutMs;
    this.#notRunningMessage = options.notRunningMessage ?? `no chand node answers at ${displayUrl(url)} (connection refused)`;
  }

  /**
   * A client for the node of `datadir`, from its endpoint and token files. Throws
   * NODE_NOT_RUNNING when either file is missing (RPC_TOKEN_INSECURE for an exposed token).
   */
  static async forDatadir(datadir: string, options: { readonly timeoutMs?: number } = {}): Promise<RpcClient> {
    const endpoint = await readRpcEndpoint(datadir);
    const token = await readRpcToken(datadir);
    return new RpcClient({ url: endpoint.url, token, notRunningMessage: notRunningMessage(datadir), ...options });
  }

  /** The server URL without credentials. */
  get url(): string {
    return displayUrl(this.#url);
  }

  /**
   * Calls `method` with by-name `params` (omitted when undefined) and resolves with its result.
   * Rejects with RpcCallError for a JSON-RPC error, ChandError NODE_NOT_RUNNING, RPC_TIMEOUT or
   * RPC_ERROR (anything that is not a JSON-RPC answer) otherwise.
   */
  async call<T = unknown>(method: string, params?: Readonly<Record<string, unknown>>): Promise<T> {
    if (typeof method !== 'string' || method === '') throw new TypeError('expected a method name');
    const id = this.#nextId++;
    const body = JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    const { status, text } = await this.#post(body);
    let response: unknown;
    try {
      response = JSON.parse(text);
    } catch {
      throw new ChandError(ErrorCode.RPC_ERROR, `${this.url} answered HTTP ${status} with a body that is not JSON`);
    }
    if (typeof response !== 'object' || response === null) throw new ChandError(ErrorCode.RPC_ERROR, `${this.url} answered HTTP ${status} with no JSON-RPC response`);
    const r = response as { id?: unknown; result?: unknown; error?: unknown };
    if (r.error !== undefined) throw errorOfResponse(r.error, status);
    if (r.id !== id || !('result' in r)) throw new ChandError(ErrorCode.RPC_ERROR, `${this.url} answered HTTP ${status} with a response that is not for request ${id}`);
    return r.result as T;
  }

  #post(body: string): Promise<{ status: number; text: string }> {
    const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const req = send(
        this.#url,
        {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${this.#token}`,
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) fail(new ChandError(ErrorCode.RPC_ERROR, `${this.url} sent a response larger than ${MAX_RESPONSE_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (err) => fail(new ChandError(ErrorCode.RPC_ERROR, `reading the answer of ${this.url} failed: ${err.message}`, { cause: err })));
        },
      );
      const timer = setTimeout(() => fail(new ChandError(ErrorCode.RPC_TIMEOUT, `${this.url} did not answer within ${this.#timeoutMs} ms; the call may still take effect`)), this.#timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') fail(new ChandError(ErrorCode.NODE_NOT_RUNNING, this.#notRunningMessage, { cause: err }));
        else fail(new ChandError(ErrorCode.RPC_ERROR, `calling ${this.url} failed: ${err.code ?? err.message}`, { cause: err }));
      });
      req.end(body);
    });
  }
}

/** The RpcCallError for a response's `error` member. */
function errorOfResponse(error: unknown, status: number): ChandError {
  if (typeof error !== 'object' || error === null) return new ChandError(ErrorCode.RPC_ERROR, `the node answered HTTP ${status} with a malformed JSON-RPC error`);
  const e = error as { code?: unknown; message?: unknown; data?: unknown };
  const rpcCode = typeof e.code === 'number' ? e.code : 0;
  const message = typeof e.message === 'string' ? e.message : `JSON-RPC error ${rpcCode}`;
  const dataCode = typeof e.data === 'object' && e.data !== null ? (e.data as { code?: unknown }).code : undefined;
  return new RpcCallError(isErrorCode(dataCode) ? dataCode : ErrorCode.RPC_ERROR, rpcCode, message, e.data);
}
