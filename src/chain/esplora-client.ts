/**
 * `EsploraClient`: the Chain contract over an Esplora HTTP API (blockstream.info, mempool.space,
 * a self-hosted electrs, or `chand devnet`).
 *
 * Failure handling: every attempt has a timeout (CHAIN_TIMEOUT); a connection that cannot be
 * made is CHAIN_UNREACHABLE; an answer of the wrong shape or an unexpected status is
 * CHAIN_BAD_RESPONSE; a refused broadcast is TxRejectedError carrying the server's reason.
 * Idempotent reads (GET) are retried a bounded number of times, with doubling delays, after
 * a network error, a timeout, 429 or 5xx. Writes (POST) are never retried here: whether to
 * resubmit is the caller's decision. Credentials embedded in the base URL are sent as HTTP
 * Basic authorization and never appear in error messages.
 *
 * Esplora quirks absorbed here: `/tx/:txid/status` answers `{confirmed:false}` for a txid it
 * has never seen, so an unconfirmed answer is confirmed by fetching the transaction; an
 * unknown outpoint reports unspent.
 */
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { Chain, ChainTransaction, FeeEstimates, OutspendStatus, TxStatus, Utxo } from './chain.js';
import { assertHash, assertU32, isHash } from './chain-args.js';
import { TxRejectedError } from './chain-errors.js';
import { addressToScript, type BitcoinNetwork } from './network.js';

/** Options of EsploraClient. */
export interface EsploraClientOptions {
  /** API base URL, e.g. `http://127.0.0.1:18443` or `https://blockstream.info/api`. */
  readonly baseUrl: string;
  /** Per-attempt timeout in ms, covering connect, headers and body (default 10 000). */
  readonly timeoutMs?: number;
  /** Extra attempts for idempotent reads (default 2, so at most 3 requests). */
  readonly retries?: number;
  /** Delay before the first retry in ms, doubled for each further one (default 250). */
  readonly retryDelayMs?: number;
  /** When given, addresses are checked locally (TypeError for another network's address). */
  readonly network?: BitcoinNetwork;
  /** The fetch implementation (default: global fetch). */
  readonly fetch?: typeof fetch;
}

/** Status and body bytes of one HTTP exchange. */
export interface HttpResult {
  readonly status: number;
  readonly body: Uint8Array;
}

const decoder = new TextDecoder();

/** `url` with any user:password removed, for messages. */
function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href.replace(/\/$/, '');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The reason inside Esplora's `sendrawtransaction RPC error: {"code":..,"message":".."}`, or the whole text. */
export function parseRejectionReason(text: string): string {
  const at = text.indexOf('{');
  if (at >= 0) {
    try {
      const parsed = JSON.parse(text.slice(at)) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // Not the JSON-wrapped form: fall through to the raw text.
    }
  }
  return text.trim();
}

/** Chain over an Esplora HTTP API. Stateless apart from its options; safe for concurrent use. */
export class EsploraClient implements Chain {
  readonly #base: URL;
  readonly #display: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #network: BitcoinNetwork | undefined;
  readonly #fetch: typeof fetch;
  readonly #authorization: string | undefined;

  constructor(options: EsploraClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch (err) {
      throw new TypeError('expected baseUrl as an absolute http(s) URL', { cause: err });
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`expected baseUrl as an http(s) URL, got protocol ${base.protocol}`);
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    // fetch refuses URLs with credentials: send them as HTTP Basic auth instead.
    if (base.username !== '' || base.password !== '') {
      const user = decodeURIComponent(base.username);
      const password = decodeURIComponent(base.password);
      this.#authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    this.#base = new URL(redact(base) + '/');
    this.#display = redact(base);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 2;
    this.#retryDelayMs = options.retryDelayMs ?? 250;
    this.#network = options.network;
    this.#fetch = options.fetch ?? fetch;
    if (!(this.#timeoutMs > 0)) throw new RangeError(`expected timeoutMs > 0, got ${this.#timeoutMs}`);
    if (!Number.isInteger(this.#retries) || this.#retries < 0) throw new RangeError(`expected retries >= 0, got ${this.#retries}`);
  }

  /** The base URL without credentials. */
  get baseUrl(): string {
    return this.#display;
  }

  // ---- transport ----

  /**
   * One HTTP exchange, retried for GET. Returns any status the server gives once retries are
   * spent (callers decide what each status means); throws CHAIN_UNREACHABLE / CHAIN_TIMEOUT.
   */
  protected async request(method: 'GET' | 'POST', path: string, body?: string): Promise<HttpResult> {
    const url = new URL(path, this.#base);
    const where = `${method} ${this.#display}/${path}`;
    const attempts = method === 'GET' ? this.#retries + 1 : 1;
    let lastError: ChandError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(this.#retryDelayMs * 2 ** (attempt - 1));
      try {
        const headers: Record<string, string> = {};
        if (body !== undefined) headers['Content-Type'] = 'text/plain';
        if (this.#authorization !== undefined) headers['Authorization'] = this.#authorization;
        const response = await this.#fetch(url, {
          method,
          headers,
          signal: AbortSignal.timeout(this.#timeoutMs),
          ...(body === undefined ? {} : { body }),
        });
        const bytes = new Uint8Array(await response.arrayBuffer());
        const retryable = response.status === 429 || response.status >= 500;
        if (retryable && attempt + 1 < attempts) {
          lastError = new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `${where}: HTTP ${response.status}`);
          continue;
        }
        return { status: response.status, body: bytes };
      } catch (err) {
        lastError = this.#transportError(err, where);
      }
    }
    throw lastError!;
  }

  #transportError(err: unknown, where: string): ChandError {
    const name = (err as { name?: string } | undefined)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new ChandError(ErrorCode.CHAIN_TIMEOUT, `${where}: no answer within ${this.#timeoutMs} ms`, { cause: err });
    }
    const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    const detail = cause?.code ?? cause?.message ?? (err as Error | undefined)?.message ?? String(err);
    return new ChandError(ErrorCode.CHAIN_UNREACHABLE, `${where}: ${detail}`, { cause: err });
  }

  /** GET expecting 200 (or 404 => undefined when `allowMissing`); returns the body as text. */
  protected async getText(path: string, allowMissing = false): Promise<string | undefined> {
    const result = await this.request('GET', path);
    if (allowMissing && result.status === 404) return undefined;
    if (result.status !== 200) throw this.unexpected('GET', path, result);
    return decoder.decode(result.body);
  }

  /** GET expecting a JSON body (or 404 => undefined when `allowMissing`). */
  protected async getJson(path: string, allowMissing = false): Promise<unknown> {
    const text = await this.getText(path, allowMissing);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `GET ${this.#display}/${path}: body is not JSON`, { cause: err });
    }
  }

  /**
   * POSTs a JSON body (never retried) and returns the status with the parsed JSON answer, or
   * with the answer's text when it is not JSON (error replies are plain text).
   */
  protected async postJson(path: string, body: unknown): Promise<{ status: number; json?: unknown; text: string }> {
    const result = await this.request('POST', path, JSON.stringify(body));
    const text = decoder.decode(result.body);
    try {
      return { status: result.status, json: JSON.parse(text), text };
    } catch {
      return { status: result.status, text };
    }
  }

  /** CHAIN_BAD_RESPONSE for an answer with an unexpected status, quoting the start of its text. */
  protected unexpected(method: string, path: string, result: HttpResult): ChandError {
    const text = decoder.decode(result.body.subarray(0, 300)).trim();
    return new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `${method} ${this.#display}/${path}: HTTP ${result.status}${text ? `: ${text}` : ''}`);
  }

  #bad(path: string, what: string): ChandError {
    return new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `GET ${this.#display}/${path}: ${what}`);
  }

  // ---- decoding of Esplora shapes ----

  #status(raw: unknown, tipHeight: number | undefined, path: string): TxStatus {
    const s = raw as { confirmed?: unknown; block_height?: unknown; block_hash?: unknown; block_time?: unknown } | null;
    if (typeof s !== 'object' || s === null || typeof s.confirmed !== 'boolean') throw this.#bad(path, 'malformed status');
    if (!s.confirmed) return { confirmed: false };
    if (typeof s.block_height !== 'number' || typeof s.block_hash !== 'string' || typeof s.block_time !== 'number') {
      throw this.#bad(path, 'malformed confirmed status');
    }
    return {
      confirmed: true,
      blockHeight: s.block_height,
      blockHash: s.block_hash,
      blockTime: s.block_time,
      // A block found between our two requests can make the tip look older than the status.
      confirmations: Math.max(1, (tipHeight ?? s.block_height) - s.block_height + 1),
    };
  }

  #sats(value: unknown, path: string): bigint {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw this.#bad(path, `malformed amount ${String(value)}`);
    return BigInt(value);
  }

  // ---- Chain ----

  async broadcast(rawTx: Uint8Array): Promise<string> {
    if (!(rawTx instanceof Uint8Array)) throw new TypeError(`expected raw transaction as Uint8Array, got ${typeof rawTx}`);
    const result = await this.request('POST', 'tx', bytesToHex(rawTx));
    const text = decoder.decode(result.body).trim();
    if (result.status === 200) {
      if (!isHash(text)) throw new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `POST ${this.#display}/tx: answer is not a txid`);
      return text;
    }
    if (result.status === 400) throw new TxRejectedError(parseRejectionReason(text));
    throw this.unexpected('POST', 'tx', result);
  }

  async getTxStatus(txid: string): Promise<TxStatus | undefined> {
    assertHash(txid);
    const path = `tx/${txid}/status`;
    const raw = await this.getJson(path, true);
    if (raw === undefined) return undefined;
    const unconfirmed = this.#status(raw, undefined, path);
    if (!unconfirmed.confirmed) {
      // Esplora says "unconfirmed" for unknown txids too: check that the transaction exists.
      const hex = await this.getText(`tx/${txid}/hex`, true);
      return hex === undefined ? undefined : unconfirmed;
    }
    return this.#status(raw, await this.getTipHeight(), path);
  }

  async getTransaction(txid: string): Promise<ChainTransaction | undefined> {
    assertHash(txid);
    const path = `tx/${txid}`;
    const raw = (await this.getJson(path, true)) as Record<string, unknown> | undefined;
    if (raw === undefined) return undefined;
    if (
      typeof raw !== 'object' ||
      raw === null ||
      raw['txid'] !== txid ||
      typeof raw['version'] !== 'number' ||
      typeof raw['locktime'] !== 'number' ||
      typeof raw['weight'] !== 'number' ||
      !Array.isArray(raw['vin']) ||
      !Array.isArray(raw['vout'])
    ) {
      throw this.#bad(path, 'malformed transaction');
    }
    const statusRaw = raw['status'] as { confirmed?: boolean } | undefined;
    const tip = statusRaw?.confirmed === true ? await this.getTipHeight() : undefined;
    try {
      return {
        txid,
        version: raw['version'],
        locktime: raw['locktime'],
        inputs: (raw['vin'] as Record<string, unknown>[]).map((vin) => {
          const prevout = vin['prevout'] as { scriptpubkey: string; value: number } | null | undefined;
          return {
            txid: vin['txid'] as string,
            // Esplora's `vout` of an input is the index of the output it spends.
            index: vin['vout'] as number,
            sequence: vin['sequence'] as number,
            witness: ((vin['witness'] as string[] | undefined) ?? []).map(hexToBytes),
            ...(prevout == null || vin['is_coinbase'] === true
              ? {}
              : { prevout: { script: hexToBytes(prevout.scriptpubkey), value: this.#sats(prevout.value, path) } }),
          };
        }),
        outputs: (raw['vout'] as Record<string, unknown>[]).map((vout) => ({
          script: hexToBytes(vout['scriptpubkey'] as string),
          value: this.#sats(vout['value'], path),
          ...(typeof vout['scriptpubkey_address'] === 'string' ? { address: vout['scriptpubkey_address'] } : {}),
        })),
        fee: this.#sats(raw['fee'] ?? 0, path),
        weight: raw['weight'],
        status: this.#status(statusRaw, tip, path),
      };
    } catch (err) {
      if (err instanceof ChandError) throw err;
      throw new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `GET ${this.#display}/${path}: malformed transaction`, { cause: err });
    }
  }

  async getRawTransaction(txid: string): Promise<Uint8Array | undefined> {
    assertHash(txid);
    const path = `tx/${txid}/hex`;
    const hex = await this.getText(path, true);
    if (hex === undefined) return undefined;
    try {
      return hexToBytes(hex.trim());
    } catch (err) {
      throw new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `GET ${this.#display}/${path}: body is not hex`, { cause: err });
    }
  }

  async getOutspend(txid: string, index: number): Promise<OutspendStatus> {
    assertHash(txid);
    assertU32(index, 'output index');
    const path = `tx/${txid}/outspend/${index}`;
    const raw = (await this.getJson(path)) as { spent?: unknown; txid?: unknown; vin?: unknown; status?: unknown } | null;
    if (typeof raw !== 'object' || raw === null || typeof raw.spent !== 'boolean') throw this.#bad(path, 'malformed outspend');
    if (!raw.spent) return { spent: false };
    if (typeof raw.txid !== 'string' || typeof raw.vin !== 'number') throw this.#bad(path, 'malformed outspend');
    const confirmed = (raw.status as { confirmed?: boolean } | undefined)?.confirmed === true;
    const status = this.#status(raw.status, confirmed ? await this.getTipHeight() : undefined, path);
    return { spent: true, txid: raw.txid, vin: raw.vin, status };
  }

  async getAddressUtxos(address: string): Promise<Utxo[]> {
    if (this.#network !== undefined) addressToScript(address, this.#network);
    else if (typeof address !== 'string' || address === '') throw new TypeError(`expected an address, got ${JSON.stringify(address)}`);
    const path = `address/${encodeURIComponent(address)}/utxo`;
    const raw = await this.getJson(path);
    if (!Array.isArray(raw)) throw this.#bad(path, 'expected an array of UTXOs');
    const anyConfirmed = raw.some((u) => (u as { status?: { confirmed?: boolean } })?.status?.confirmed === true);
    const tip = anyConfirmed ? await this.getTipHeight() : undefined;
    return raw.map((u) => {
      const entry = u as { txid?: unknown; vout?: unknown; value?: unknown; status?: unknown };
      if (typeof entry.txid !== 'string' || typeof entry.vout !== 'number') throw this.#bad(path, 'malformed UTXO');
      return { txid: entry.txid, index: entry.vout, value: this.#sats(entry.value, path), status: this.#status(entry.status, tip, path) };
    });
  }

  async getTipHeight(): Promise<number> {
    const text = (await this.getText('blocks/tip/height'))!.trim();
    if (!/^\d+$/.test(text)) throw this.#bad('blocks/tip/height', 'not a height');
    return Number(text);
  }

  async getTipHash(): Promise<string> {
    const text = (await this.getText('blocks/tip/hash'))!.trim();
    if (!isHash(text)) throw this.#bad('blocks/tip/hash', 'not a block hash');
    return text;
  }

  async getBlockHash(height: number): Promise<string | undefined> {
    assertU32(height, 'height');
    const path = `block-height/${height}`;
    const text = await this.getText(path, true);
    if (text === undefined) return undefined;
    if (!isHash(text.trim())) throw this.#bad(path, 'not a block hash');
    return text.trim();
  }

  async getBlockTxids(blockHash: string): Promise<string[] | undefined> {
    assertHash(blockHash, 'block hash');
    const path = `block/${blockHash}/txids`;
    const raw = await this.getJson(path, true);
    if (raw === undefined) return undefined;
    if (!Array.isArray(raw) || !raw.every(isHash)) throw this.#bad(path, 'expected an array of txids');
    return raw as string[];
  }

  async getFeeEstimates(): Promise<FeeEstimates> {
    const raw = await this.getJson('fee-estimates');
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw this.#bad('fee-estimates', 'expected an object');
    const estimates: Record<number, number> = {};
    for (const [target, rate] of Object.entries(raw)) {
      const blocks = Number(target);
      if (Number.isInteger(blocks) && blocks > 0 && typeof rate === 'number' && Number.isFinite(rate) && rate >= 0) estimates[blocks] = rate;
    }
    return estimates;
  }
}
