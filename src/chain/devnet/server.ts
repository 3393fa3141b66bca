/**
 * The devnet HTTP server: the Esplora API subset chand uses, served from a DevnetLedger, plus
 * devnet controls.
 *
 * Esplora routes: POST /tx; GET /tx/:txid, /tx/:txid/status, /tx/:txid/hex, /tx/:txid/raw,
 * /tx/:txid/outspend/:vout, /tx/:txid/outspends, /address/:address/utxo, /blocks/tip/height,
 * /blocks/tip/hash, /block-height/:height, /block/:hash, /block/:hash/header,
 * /block/:hash/txids, /mempool/txids, /fee-estimates. Shapes and status codes follow
 * Esplora (electrs), JSON field for field (see esplora-json.ts): plain-text errors; 400 for a
 * malformed txid or block hash (`Invalid hex string`), number (`Invalid number`) or address
 * (`Invalid Bitcoin address`, `Address on invalid network`); 404 for unknown transactions and
 * blocks, except /tx/:txid/status (`{"confirmed":false}`) and /tx/:txid/outspend
 * (`{"spent":false}`); refused broadcasts as
 * `400 sendrawtransaction RPC error: {"code":-26,"message":"<reason>"}`.
 *
 * Devnet controls (JSON in, JSON out): POST /devnet/mine {blocks?, address?} ->
 * {hashes, height}; POST /devnet/faucet {address, amount_sat} -> {txid, vout}; GET
 * /devnet/info -> {network, genesis_hash, height, tip_hash}.
 *
 * Robustness: request bodies are capped (413 beyond the cap), every handler's failure
 * becomes a 4xx with a reason (bad input) or a 500 (a bug or storage failure, reported to
 * `onError`); nothing a client sends can stop the server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesToHex, hexToBytes } from '../../codec/bytes.js';
import { isChandError, ErrorCode } from '../../errors.js';
import type { OutspendStatus } from '../chain.js';
import { TxRejectedError } from '../chain-errors.js';
import { addressToScript, NETWORKS } from '../network.js';
import { devnetGenesis } from './block.js';
import { blockJson, statusJson, txJson } from './esplora-json.js';
import type { DevnetLedger } from './ledger.js';
import { decodeTransaction } from './tx-validation.js';

/** Default cap on request bodies: room for a maximum-weight transaction in hex, and then some. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Past this many bytes an oversized body is no longer drained: the connection is closed. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/** Options of DevnetServer. */
export interface DevnetServerOptions {
  readonly ledger: DevnetLedger;
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: an ephemeral port, see `port` after start). */
  readonly port?: number;
  /** Largest accepted request body in bytes (default DEFAULT_MAX_BODY_BYTES). */
  readonly maxBodyBytes?: number;
  /** Told about unexpected failures (answered with 500). Defaults to ignoring them. */
  readonly onError?: (err: unknown) => void;
}

/** An HTTP failure with a status and a plain-text reason for the client. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (params: string[], req: IncomingMessage) => Promise<Reply>;
interface Reply {
  readonly status?: number;
  readonly body: string | Uint8Array | object;
}

/** A path segment; what it must be is checked by the handler, so that malformed input gets 400, not 404. */
const SEGMENT = '([^/]+)';
const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;

/** A txid or block hash from the path (64 hex digits, either case), lowercased; 400 `Invalid hex string` otherwise. */
function hashParam(raw: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(raw)) throw new HttpError(400, 'Invalid hex string');
  return raw.toLowerCase();
}

/**
 * An unsigned integer from the path, parsed as electrs does (optional `+`, decimal digits,
 * at most `max`); 400 `Invalid number` otherwise.
 */
function numberParam(raw: string, max: bigint): bigint {
  if (!/^\+?\d+$/.test(raw)) throw new HttpError(400, 'Invalid number');
  const value = BigInt(raw.replace(/^\+/, ''));
  if (value > max) throw new HttpError(400, 'Invalid number');
  return value;
}

/** Esplora's wrapping of a refused broadcast, with Bitcoin Core's RPC error codes. */
function rejectionText(reason: string): string {
  const code = reason.startsWith('TX decode failed') ? -22 : reason.startsWith('bad-txns-inputs-missingorspent') ? -25 : -26;
  return `sendrawtransaction RPC error: ${JSON.stringify({ code, message: reason })}`;
}

/** Reads a non-negative integer field of a JSON body. */
function intField(body: Record<string, unknown>, name: string, fallback?: number): number {
  const value = body[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new HttpError(400, `"${name}" must be an integer`);
  return value;
}

/** Serves a DevnetLedger over HTTP. Lifecycle: start() then stop(); stop is idempotent. */
export class DevnetServer {
  readonly #ledger: DevnetLedger;
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #maxBodyBytes: number;
  readonly #onError: (err: unknown) => void;
  readonly #routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];
  #server: Server | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: DevnetServerOptions) {
    this.#ledger = options.ledger;
    this.#host = options.host ?? '127.0.0.1';
    this.#requestedPort = options.port ?? 0;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#onError = options.onError ?? (() => {});
    this.#defineRoutes();
  }

  /** Starts listening. Resolves once the port is bound; rejects if it cannot be (e.g. EADDRINUSE). */
  async start(): Promise<void> {
    if (this.#server !== undefined) throw new Error('devnet server already started');
    const server = createServer((req, res) => void this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#requestedPort, this.#host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** The bound port. Throws if not started. */
  get port(): number {
    if (this.#server === undefined) throw new Error('devnet server not started');
    return (this.#server.address() as AddressInfo).port;
  }

  /** Base URL of the API, e.g. http://127.0.0.1:18443. */
  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `http://${host}:${this.port}`;
  }

  /** Stops accepting connections and closes open ones. Idempotent; does not close the ledger's engine. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.#stopping;
  }

  #route(method: string, path: string, handler: Handler): void {
    this.#routes.push({ method, pattern: new RegExp(`^${path}$`), handler });
  }

  #defineRoutes(): void {
    const ledger = this.#ledger;
    const notFoundTx = (): never => {
      throw new HttpError(404, 'Transaction not found');
    };
    const notFoundBlock = (): never => {
      throw new HttpError(404, 'Block not found');
    };
    const txid = (params: string[]): string => hashParam(params[0]!);
    const network = ledger.network;
    /** The address in the path, or 400 with electrs' reason. */
    const addressParam = (raw: string): string => {
      let address: string;
      try {
        address = decodeURIComponent(raw);
      } catch {
        throw new HttpError(400, 'Invalid Bitcoin address');
      }
      try {
        addressToScript(address, network);
        return address;
      } catch {
        const elsewhere = Object.values(NETWORKS).some((other) => {
          try {
            addressToScript(address, other);
            return true;
          } catch {
            return false;
          }
        });
        throw new HttpError(400, elsewhere ? 'Address on invalid network' : 'Invalid Bitcoin address');
      }
    };
    const spendJson = (s: OutspendStatus): object =>
      s.spent ? { spent: true, txid: s.txid, vin: s.vin, status: statusJson(s.status) } : { spent: false };

    this.#route('POST', '/tx', async (_params, req) => {
      const text = (await this.#readBody(req)).trim();
      if (!/^([0-9a-fA-F]{2})+$/.test(text)) {
        throw new HttpError(400, rejectionText('TX decode failed (body is not a hex-encoded transaction)'));
      }
      return { body: await ledger.broadcast(hexToBytes(text)) };
    });
    this.#route('GET', `/tx/${SEGMENT}`, async (params) => {
      const [tx, raw] = await Promise.all([ledger.getTransaction(txid(params)), ledger.getRawTransaction(txid(params))]);
      if (tx === undefined || raw === undefined) return notFoundTx();
      return { body: txJson(tx, decodeTransaction(raw), network) };
    });
    this.#route('GET', `/tx/${SEGMENT}/status`, async (params) => {
      // As Esplora does, a txid nobody has seen reads as unconfirmed rather than 404.
      const status = await ledger.getTxStatus(txid(params));
      return { body: statusJson(status ?? { confirmed: false }) };
    });
    this.#route('GET', `/tx/${SEGMENT}/hex`, async (params) => {
      const raw = await ledger.getRawTransaction(txid(params));
      return { body: raw === undefined ? notFoundTx() : bytesToHex(raw) };
    });
    this.#route('GET', `/tx/${SEGMENT}/raw`, async (params) => {
      const raw = await ledger.getRawTransaction(txid(params));
      return { body: raw === undefined ? notFoundTx() : raw };
    });
    this.#route('GET', `/tx/${SEGMENT}/outspend/${SEGMENT}`, async (params) => {
      const hash = txid(params);
      const vout = Number(numberParam(params[1]!, BigInt(MAX_U32)));
      return { body: spendJson(await ledger.getOutspend(hash, vout)) };
    });
    this.#route('GET', `/tx/${SEGMENT}/outspends`, async (params) => {
      const tx = await ledger.getTransaction(txid(params));
      if (tx === undefined) return notFoundTx();
      const spends = await Promise.all(tx.outputs.map((_, vout) => ledger.getOutspend(tx.txid, vout)));
      return { body: spends.map(spendJson) };
    });
    this.#route('GET', `/address/${SEGMENT}/utxo`, async (params) => {
      const utxos = await ledger.getAddressUtxos(addressParam(params[0]!));
      return {
        body: utxos.map((u) => ({ txid: u.txid, vout: u.index, status: statusJson(u.status), value: Number(u.value) })),
      };
    });
    this.#route('GET', '/blocks/tip/height', async () => ({ body: String(await ledger.getTipHeight()) }));
    this.#route('GET', '/blocks/tip/hash', async () => ({ body: await ledger.getTipHash() }));
    this.#route('GET', `/block-height/${SEGMENT}`, async (params) => {
      // electrs parses a usize: a 64-bit height is a number, just not one of a block here.
      const height = numberParam(params[0]!, MAX_U64);
      if (height > BigInt(MAX_U32)) return notFoundBlock();
      const hash = await ledger.getBlockHash(Number(height));
      return { body: hash ?? notFoundBlock() };
    });
    this.#route('GET', `/block/${SEGMENT}`, async (params) => {
      const block = await ledger.getBlock(txid(params));
      return { body: block === undefined ? notFoundBlock() : blockJson(block) };
    });
    this.#route('GET', `/block/${SEGMENT}/header`, async (params) => {
      const block = await ledger.getBlock(txid(params));
      return { body: block === undefined ? notFoundBlock() : bytesToHex(block.header) };
    });
    this.#route('GET', `/block/${SEGMENT}/txids`, async (params) => {
      const block = await ledger.getBlock(txid(params));
      return { body: block === undefined ? notFoundBlock() : block.txids };
    });
    this.#route('GET', '/mempool/txids', async () => ({ body: await ledger.getMempoolTxids() }));
    this.#route('GET', '/fee-estimates', async () => ({ body: await ledger.getFeeEstimates() }));

    this.#route('GET', '/devnet/info', async () => {
      const tip = await ledger.getTip();
      return { body: { network: ledger.network.bech32, genesis_hash: devnetGenesis().hash, height: tip.height, tip_hash: tip.hash } };
    });
    this.#route('POST', '/devnet/mine', async (_params, req) => {
      const body = await this.#readJson(req);
      const blocks = intField(body, 'blocks', 1);
      const address = body['address'];
      if (address !== undefined && typeof address !== 'string') throw new HttpError(400, '"address" must be a string');
      const hashes = await ledger.mine(blocks, address);
      return { body: { hashes, height: await ledger.getTipHeight() } };
    });
    this.#route('POST', '/devnet/faucet', async (_params, req) => {
      const body = await this.#readJson(req);
      const address = body['address'];
      if (typeof address !== 'string') throw new HttpError(400, '"address" must be a string');
      const amount = intField(body, 'amount_sat');
      const paid = await ledger.faucet(address, BigInt(amount));
      // The HTTP API speaks Esplora's dialect: an output index is `vout` on the wire.
      return { body: { txid: paid.txid, vout: paid.index } };
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client that goes away mid-request must not take the server with it.
    req.on('error', () => {});
    res.on('error', () => {});
    let reply: Reply;
    try {
      reply = await this.#dispatch(req);
    } catch (err) {
      reply = this.#errorReply(err);
      // The body may not have been read; don't let the client block on its upload.
      if (!req.complete) res.setHeader('Connection', 'close');
    }
    this.#send(res, reply);
  }

  async #dispatch(req: IncomingMessage): Promise<Reply> {
    const path = new URL(req.url ?? '/', 'http://devnet').pathname.replace(/\/+$/, '') || '/';
    let methodMismatch = false;
    for (const route of this.#routes) {
      const match = route.pattern.exec(path);
      if (match === null) continue;
      if (route.method !== req.method) {
        methodMismatch = true;
        continue;
      }
      return route.handler(match.slice(1), req);
    }
    throw methodMismatch ? new HttpError(405, `Method ${req.method} not allowed on ${path}`) : new HttpError(404, `endpoint does not exist ${JSON.stringify(path)}`);
  }

  #errorReply(err: unknown): Reply {
    if (err instanceof HttpError) return { status: err.status, body: err.message };
    if (err instanceof TxRejectedError) return { status: 400, body: rejectionText(err.reason) };
    // Misuse of a ledger method through the API means the client sent bad input.
    if (err instanceof TypeError || err instanceof RangeError) return { status: 400, body: err.message };
    if (isChandError(err, ErrorCode.INSUFFICIENT_FUNDS)) return { status: 409, body: `faucet: ${err.message}` };
    this.#onError(err);
    return { status: 500, body: `internal error: ${(err as Error)?.message ?? String(err)}` };
  }

  #send(res: ServerResponse, reply: Reply): void {
    if (res.headersSent) return;
    const { body } = reply;
    let payload: string | Uint8Array;
    let type: string;
    if (typeof body === 'string') {
      payload = body;
      type = 'text/plain; charset=utf-8';
    } else if (body instanceof Uint8Array) {
      payload = body;
      type = 'application/octet-stream';
    } else {
      payload = JSON.stringify(body);
      type = 'application/json';
    }
    res.writeHead(reply.status ?? 200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(payload) });
    res.end(payload);
  }

  /**
   * Reads the request body as UTF-8 text, refusing more than the cap with 413. An oversized
   * body is still drained (up to DRAIN_LIMIT_BYTES) so that the client finishes its upload and
   * can read the refusal; beyond that the connection is cut.
   */
  async #readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > DRAIN_LIMIT_BYTES) {
        req.socket.destroy();
        break;
      }
      if (size <= this.#maxBodyBytes) chunks.push(chunk as Buffer);
    }
    if (size > this.#maxBodyBytes) throw new HttpError(413, `request body exceeds the limit of ${this.#maxBodyBytes} bytes`);
    return Buffer.concat(chunks).toString('utf8');
  }

  async #readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const text = await this.#readBody(req);
    if (text.trim() === '') return {};
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'request body is not valid JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'request body must be a JSON object');
    return value as Record<string, unknown>;
  }
}
