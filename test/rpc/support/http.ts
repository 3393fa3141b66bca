/**
 * Raw HTTP helpers for the RPC tests: one request with full control of headers and body, its
 * status, headers and body back. Every request is bounded by a timeout.
 */
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

/** What the server answered. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  readonly json: any;
  /** Whether the whole request body had been handed to the socket when the answer ended. */
  readonly bodySent: boolean;
}

/** Options of `rawRequest`. */
export interface RawRequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string | number>;
  /** The body; with `chunked` it is sent in 64 KiB chunks without Content-Length. */
  readonly body?: string | Buffer;
  readonly chunked?: boolean;
  readonly agent?: Agent;
  readonly timeoutMs?: number;
}

/** Sends one request to `url` (a server root) and resolves with the answer. Write errors after the answer (EPIPE) are ignored. */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const target = new URL(options.path ?? '/', url);
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
  const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
  if (body !== undefined && options.chunked !== true) headers['Content-Length'] = body.length;
  return new Promise((resolve, reject) => {
    let answered = false;
    let bodySent = false;
    const req = request(target, { method: options.method ?? 'POST', headers, ...(options.agent === undefined ? {} : { agent: options.agent }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        answered = true;
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, bodySent });
      });
      res.on('error', (err) => {
        if (!answered) reject(err);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`)), options.timeoutMs ?? 10_000);
    req.on('finish', () => (bodySent = true));
    req.on('error', (err) => {
      if (!answered) {
        clearTimeout(timer);
        reject(err);
      }
    });
    if (body === undefined) {
      req.end();
      return;
    }
    if (options.chunked !== true) {
      req.end(body);
      return;
    }
    let offset = 0;
    const pump = (): void => {
      while (offset < body.length) {
        const chunk = body.subarray(offset, offset + 64 * 1024);
        offset += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}
