/**
 * chand's JSON-RPC 2.0 server over HTTP (node:http).
 *
 * Design:
 * - One endpoint: `POST /`. Other paths are 404, other verbs 405, both with a JSON-RPC error
 *   body. Requests need `Authorization: Bearer <token>`; the header is checked (in constant
 *   time) before a byte of the body is read, so an unauthenticated client cannot make the
 *   server buffer or parse anything.
 * - The body is read up to `maxBodyBytes`: a larger Content-Length is refused at once, a
 *   chunked body as soon as it crosses the limit (HTTP 413); the rest is not buffered and the
 *   connection is closed after the answer.
 * - JSON-RPC-level outcomes (parse errors, unknown methods, bad params, method errors) are
 *   HTTP 200 with a JSON-RPC error body; only transport-level refusals use HTTP status codes
 *   (401, 404, 405, 413). A notification (no `id`) is run and answered with 204 and no body.
 *   Batches (a JSON array) are refused with -32600.
 * - Errors: a ChandError from the node maps through the one table of ./errors.ts; anything
 *   else is -32603 "internal error", logged with its stack, which never reaches the client.
 * - The log never receives params, results or the token: only method names, ids, outcomes.
 * - Binding a non-loopback address needs `allowRemote` (the token travels in clear HTTP).
 * - `stop()` stops accepting, lets requests in flight finish (up to `stopGraceMs`), closes
 *   keep-alive sockets, and is idempotent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { ChandError, ErrorCode, isChandError } from '../errors.js';
import type { NodeApi } from './api.js';
import { JsonRpcCode, rpcCodeOf, rpcErrorOf, type JsonRpcErrorObject } from './errors.js';
import { METHODS, methodTable, type RpcMethod } from './methods.js';

/** Default largest request body: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default time `stop()` gives requests in flight before it closes their sockets. */
export const DEFAULT_STOP_GRACE_MS = 5_000;
/** Shortest token the server accepts (ensureRpcToken makes 64 hex characters). */
export const MIN_TOKEN_LENGTH = 16;

/** Severity of a log line. */
export type RpcLogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Where the server logs. Fields never hold params, results or secrets. */
export type RpcLogger = (level: RpcLogLevel, msg: string, fields: Readonly<Record<string, unknown>>) => void;

/** Options of `RpcServer`. */
export interface RpcServerOptions {
  /** The node behind the methods. */
  readonly api: NodeApi;
  /** Address to listen on: a loopback address (127.0.0.0/8, ::1, localhost) unless `allowRemote`. */
  readonly host: string;
  /** TCP port; 0 picks a free one (`start()` says which). */
  readonly port: number;
  /** The bearer token clients must send (at least 16 characters). */
  readonly token: string;
  /** Allow a non-loopback `host` (default false). */
  readonly allowRemote?: boolean | undefined;
  /** Largest accepted request body in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number | undefined;
  /** How long `stop()` waits for requests in flight (default 5 s). */
  readonly stopGraceMs?: number | undefined;
  /** Log sink (default: none). */
  readonly log?: RpcLogger | undefined;
  /** The method table (default METHODS); tests and later issues may extend it. */
  readonly methods?: readonly RpcMethod[] | undefined;
}

/** A JSON-RPC response body. */
type ResponseBody =
  | { readonly jsonrpc: '2.0'; readonly id: string | number | null; readonly result: unknown }
  | { readonly jsonrpc: '2.0'; readonly id: string | number | null; readonly error: JsonRpcErrorObject };

/** True for 127.0.0.0/8, ::1 (also as IPv4-mapped ::ffff:127.x.y.z) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/** An error the server itself raises; its number comes from the one table (a parse error passes -32700). */
function protocolError(code: ErrorCode, message: string, jsonRpcCode: number = rpcCodeOf(code)): JsonRpcErrorObject {
  return { code: jsonRpcCode, message, data: { code } };
}

/** sha256 of a string, so tokens of any length compare in constant time. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** JSON-RPC 2.0 over HTTP for a NodeApi. See the module comment. */
export class RpcServer {
  readonly #api: NodeApi;
  readonly #host: string;
  readonly #port: number;
  readonly #tokenDigest: Buffer;
  readonly #maxBodyBytes: number;
  readonly #stopGraceMs: number;
  readonly #log: RpcLogger;
  readonly #methods: ReadonlyMap<string, RpcMethod>;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #started: Promise<{ url: string }> | undefined;
  #stopped: Promise<void> | undefined;

  /**
   * Validates the options; does not listen yet. Throws ChandError RPC_BIND_REFUSED for a
   * non-loopback host without `allowRemote`, TypeError/RangeError for malformed options.
   */
  constructor(options: RpcServerOptions) {
    const { api, host, port, token } = options;
    if (api === null || typeof api !== 'object') throw new TypeError(`expected options.api to be a NodeApi, got ${api === null ? 'null' : typeof api}`);
    if (typeof host !== 'string' || host.trim() === '') throw new TypeError(`expected options.host to be a host name or address, got ${JSON.stringify(host)}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`expected options.port in [0, 65535], got ${String(port)}`);
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH) {
      throw new RangeError(`expected options.token to be a string of at least ${MIN_TOKEN_LENGTH} characters, got ${typeof token === 'string' ? `${token.length} characters` : typeof token}`);
    }
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) throw new RangeError(`expected options.maxBodyBytes to be a positive integer, got ${String(maxBodyBytes)}`);
    const stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    if (!Number.isFinite(stopGraceMs) || stopGraceMs < 0) throw new RangeError(`expected options.stopGraceMs >= 0, got ${String(stopGraceMs)}`);
    if (options.allowRemote !== true && !isLoopbackHost(host)) {
      throw new ChandError(
        ErrorCode.RPC_BIND_REFUSED,
        `refusing to serve RPC on ${host}, which is not a loopback address (127.0.0.0/8, ::1, localhost): the bearer token would travel in clear over the network; allow it explicitly (allowRemote) only behind a TLS proxy or a trusted network`,
      );
    }
    this.#api = api;
    this.#host = host.trim().replace(/^\[(.*)\]$/, '$1');
    this.#port = port;
    this.#tokenDigest = digest(token);
    this.#maxBodyBytes = maxBodyBytes;
    this.#stopGraceMs = stopGraceMs;
    this.#log = options.log ?? (() => {});
    this.#methods = methodTable(options.methods ?? METHODS);
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // `Expect: 100-continue` (curl sends it for large bodies): tell the client to send the body
    // only when it would be read, so a refused one is never sent at all.
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (this.#authorized(req.headers.authorization) && !this.#declaredTooLarge(req)) res.writeContinue();
      this.#handle(req, res);
    });
    // A malformed HTTP request line/header: answer 400 and drop the socket; the server goes on.
    this.#server.on('clientError', (_err, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Starts listening; resolves with the URL clients use (e.g. `http://127.0.0.1:8227/`). Calling it again returns the same promise. */
  start(): Promise<{ url: string }> {
    if (this.#stopped !== undefined) return Promise.reject(new Error('expected a server that was not stopped, got a stopped RpcServer'));
    this.#started ??= new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', onError);
        const address = this.#server.address() as AddressInfo;
        const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
        const url = `http://${host}:${address.port}/`;
        this.#log('info', 'rpc server listening', { url });
        resolve({ url });
      });
    });
    return this.#started;
  }

  /**
   * Stops: refuses new connections, lets requests in flight finish for up to `stopGraceMs`,
   * then closes every socket. Idempotent (every call returns the same promise); safe before
   * `start()`.
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      if (this.#started !== undefined) await this.#started.catch(() => undefined);
      if (!this.#server.listening) return;
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeIdleConnections();
      const grace = setTimeout(() => {
        for (const socket of this.#sockets) socket.destroy();
      }, this.#stopGraceMs);
      grace.unref();
      await closed;
      clearTimeout(grace);
      this.#log('info', 'rpc server stopped', {});
    })();
    return this.#stopped;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#serve(req, res).catch((err: unknown) => {
      if (req.destroyed && !req.complete) {
        // The client went away while sending its request: nothing to answer.
        this.#log('debug', 'rpc client disconnected mid-request', {});
        return;
      }
      // Only a bug in this file gets here; answer if we still can and keep serving.
      this.#log('error', 'rpc request failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      if (!res.headersSent) this.#send(res, 500, { jsonrpc: '2.0', id: null, error: protocolError(ErrorCode.RPC_INTERNAL_ERROR, 'internal error') });
      else res.destroy();
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/') {
      this.#refuse(req, res, 404, protocolError(ErrorCode.RPC_INVALID_REQUEST, `no such path ${JSON.stringify(path)}: JSON-RPC is served at POST /`));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      this.#refuse(req, res, 405, protocolError(ErrorCode.RPC_INVALID_REQUEST, `expected method POST, got ${req.method ?? 'none'}`));
      return;
    }
    if (!this.#authorized(req.headers.authorization)) {
      this.#log('warn', 'rpc request refused: missing or wrong token', { remote: req.socket.remoteAddress });
      res.setHeader('WWW-Authenticate', 'Bearer');
      const message = req.headers.authorization === undefined ? 'missing Authorization: Bearer <token> header' : 'wrong token';
      this.#refuse(req, res, 401, protocolError(ErrorCode.RPC_UNAUTHORIZED, `unauthorized: ${message}`));
      return;
    }
    const body = await this.#readBody(req);
    if (body === undefined) {
      this.#log('warn', 'rpc request refused: body too large', { limit: this.#maxBodyBytes });
      this.#refuse(req, res, 413, protocolError(ErrorCode.RPC_BODY_TOO_LARGE, `request body exceeds ${this.#maxBodyBytes} bytes`));
      return;
    }
    const answer = await this.#answer(body);
    if (answer === undefined) {
      if (this.#stopped !== undefined) res.setHeader('Connection', 'close');
      res.writeHead(204).end();
      return;
    }
    this.#send(res, 200, answer);
  }

  #authorized(header: string | undefined): boolean {
    const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    // Compare digests: equal lengths always, so the comparison takes the same time whatever was sent.
    return m !== null && timingSafeEqual(digest(m[1]!), this.#tokenDigest);
  }

  #declaredTooLarge(req: IncomingMessage): boolean {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    return Number.isFinite(declared) && declared > this.#maxBodyBytes;
  }

  /** The body, or undefined once it exceeds the limit (then reading stops; nothing more is kept). */
  #readBody(req: IncomingMessage): Promise<Buffer | undefined> {
    if (this.#declaredTooLarge(req)) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > this.#maxBodyBytes) {
          cleanup();
          chunks.length = 0;
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(Buffer.concat(chunks));
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      // The connection closed before the body ended (without an 'error' on every Node version).
      const onClose = (): void => onError(new Error('the client closed the connection before the request body ended'));
      const cleanup = (): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
    });
  }

  /** The response to one request body, or undefined for a notification. */
  async #answer(body: Buffer): Promise<ResponseBody | undefined> {
    let request: unknown;
    try {
      request = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      return { jsonrpc: '2.0', id: null, error: protocolError(ErrorCode.RPC_INVALID_REQUEST, 'parse error: the body is not valid UTF-8 JSON', JsonRpcCode.PARSE_ERROR) };
    }
    const invalid = (message: string, id: string | number | null = null): ResponseBody => ({
      jsonrpc: '2.0',
      id,
      error: protocolError(ErrorCode.RPC_INVALID_REQUEST, `invalid request: ${message}`),
    });
    if (Array.isArray(request)) return invalid('batch requests are not supported; send one request object per HTTP request');
    if (typeof request !== 'object' || request === null) return invalid('expected a JSON-RPC 2.0 request object');
    const r = request as Record<string, unknown>;
    const rawId = r['id'];
    const idValid = rawId === undefined || rawId === null || typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId));
    const id = idValid && rawId !== undefined ? (rawId as string | number | null) : null;
    if (!idValid) return invalid('expected id to be a string, a number or null');
    if (r['jsonrpc'] !== '2.0') return invalid('expected jsonrpc "2.0"', id);
    if (typeof r['method'] !== 'string') return invalid('expected method to be a string', id);
    const unknownMembers = Object.keys(r).filter((k) => !['jsonrpc', 'id', 'method', 'params'].includes(k));
    if (unknownMembers.length > 0) return invalid(`unknown member(s) ${unknownMembers.map((k) => JSON.stringify(k)).join(', ')}`, id);
    const params = r['params'];
    if (params !== undefined && (typeof params !== 'object' || params === null)) return invalid('expected params to be an object (or absent)', id);

    const method = r['method'];
    const notification = rawId === undefined;
    const outcome = await this.#call(method, params);
    if (notification) return undefined;
    if ('error' in outcome) return { jsonrpc: '2.0', id, error: outcome.error };
    return { jsonrpc: '2.0', id, result: outcome.result };
  }

  /** Runs one method; never throws. */
  async #call(name: string, params: unknown): Promise<{ result: unknown } | { error: JsonRpcErrorObject }> {
    const method = this.#methods.get(name);
    if (method === undefined) {
      this.#log('debug', 'rpc unknown method', { method: name.slice(0, 64) });
      return { error: protocolError(ErrorCode.RPC_METHOD_NOT_FOUND, `method not found: ${JSON.stringify(name.slice(0, 64))}`) };
    }
    try {
      const result = await method.call(this.#api, method.params.parse(params, ''));
      // Serialize here, so a result that is not JSON (a bigint, a cycle) is an internal error, not a dropped socket.
      const json = JSON.stringify(result === undefined ? null : result);
      this.#log('debug', 'rpc call', { method: name, outcome: 'ok' });
      return { result: JSON.parse(json) as unknown };
    } catch (err) {
      if (isChandError(err)) {
        this.#log('debug', 'rpc call', { method: name, outcome: err.code });
        return { error: rpcErrorOf(err) };
      }
      this.#log('error', 'rpc call failed unexpectedly', { method: name, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      return { error: protocolError(ErrorCode.RPC_INTERNAL_ERROR, 'internal error') };
    }
  }

  /**
   * Answers a refusal without reading (more of) the body, and closes the connection after it:
   * the unread body must not be parsed as a next request.
   */
  #refuse(req: IncomingMessage, res: ServerResponse, status: number, error: JsonRpcErrorObject): void {
    res.setHeader('Connection', 'close');
    this.#send(res, status, { jsonrpc: '2.0', id: null, error });
    // Give the client a moment to read the answer before the socket goes (a reset can discard it), bounded.
    res.once('finish', () => {
      const linger = setTimeout(() => req.socket.destroy(), 1_000);
      linger.unref();
      req.socket.once('close', () => clearTimeout(linger));
    });
  }

  #send(res: ServerResponse, status: number, body: ResponseBody): void {
    // A connection whose request began before stop() must not stay open for the next one.
    if (this.#stopped !== undefined) res.setHeader('Connection', 'close');
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
}
