/**
 * EsploraClient: the Chain suite over real HTTP against `chand devnet` (LMDB in a temp dir),
 * then the transport behaviour against tiny local servers: unreachable, timeout, rejection
 * reasons passed through, retries for idempotent reads only, malformed answers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TxRejectedError } from '../../src/chain/chain-errors.js';
import { DevnetClient } from '../../src/chain/devnet-client.js';
import { devnetAt } from './support/devnet-at.js';
import { EsploraClient, parseRejectionReason } from '../../src/chain/esplora-client.js';
import { REGTEST } from '../../src/chain/network.js';
import { ChandError, ErrorCode, isChandError } from '../../src/errors.js';
import { describeChainSuite } from './support/chain-suite.js';

describeChainSuite('EsploraClient -> chand devnet over HTTP', async () => {
  const datadir = await mkdtemp(join(tmpdir(), 'chand-esplora-'));
  const devnet = await devnetAt(datadir, { noSync: true });
  await devnet.start();
  const client = new DevnetClient({ baseUrl: devnet.url, network: REGTEST });
  return {
    harness: { chain: client, mine: (n, address) => client.mine(n, address), faucet: (a, v) => client.faucet(a, v) },
    close: async () => {
      await devnet.stop();
      await rm(datadir, { recursive: true, force: true });
    },
  };
});

/** A local HTTP server whose behaviour the test scripts; counts requests per "METHOD path". */
async function scriptedServer(handler: (req: IncomingMessage, res: ServerResponse, count: number) => void) {
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    // Drain the body first, so a reply never races the client's upload.
    req.resume();
    req.on('end', () => handler(req, res, count));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('EsploraClient transport', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()!();
  });
  afterAll(async () => {
    while (closers.length > 0) await closers.pop()!();
  });

  it('reports CHAIN_UNREACHABLE for a closed port, after its retries', async () => {
    const server = await scriptedServer(() => {});
    const url = server.url;
    await server.close(); // the port is now closed
    const client = new EsploraClient({ baseUrl: url, retries: 1, retryDelayMs: 1 });
    const err = await caught(client.getTipHeight());
    expect(isChandError(err, ErrorCode.CHAIN_UNREACHABLE)).toBe(true);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('reports CHAIN_TIMEOUT when the server never answers', async () => {
    const server = await scriptedServer(() => {
      /* never respond */
    });
    closers.push(server.close);
    const client = new EsploraClient({ baseUrl: server.url, timeoutMs: 100, retries: 0 });
    const started = Date.now();
    const err = await caught(client.getTipHash());
    expect(isChandError(err, ErrorCode.CHAIN_TIMEOUT)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('passes the server reason of a refused broadcast through TxRejectedError', async () => {
    const server = await scriptedServer((_req, res) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('sendrawtransaction RPC error: {"code":-26,"message":"min relay fee not met, 100 < 141"}');
    });
    closers.push(server.close);
    const client = new EsploraClient({ baseUrl: server.url });
    const err = await caught(client.broadcast(Uint8Array.of(1, 2, 3)));
    expect(err).toBeInstanceOf(TxRejectedError);
    expect((err as TxRejectedError).code).toBe(ErrorCode.TX_REJECTED);
    expect((err as TxRejectedError).reason).toBe('min relay fee not met, 100 < 141');
  });

  it('retries idempotent reads after 5xx and stops at the bound', async () => {
    const server = await scriptedServer((_req, res, count) => {
      if (count <= 2) {
        res.writeHead(503).end('busy');
      } else {
        res.writeHead(200).end('812');
      }
    });
    closers.push(server.close);
    const client = new EsploraClient({ baseUrl: server.url, retries: 2, retryDelayMs: 1 });
    expect(await client.getTipHeight()).toBe(812);
    expect(server.counts.get('GET /blocks/tip/height')).toBe(3);

    const stubborn = await scriptedServer((_req, res) => res.writeHead(503).end('busy'));
    closers.push(stubborn.close);
    const bounded = new EsploraClient({ baseUrl: stubborn.url, retries: 2, retryDelayMs: 1 });
    const err = await caught(bounded.getTipHeight());
    expect(isChandError(err, ErrorCode.CHAIN_BAD_RESPONSE)).toBe(true);
    expect((err as Error).message).toMatch(/HTTP 503/);
    expect(stubborn.counts.get('GET /blocks/tip/height')).toBe(3);
  });

  it('never retries a broadcast', async () => {
    const server = await scriptedServer((_req, res) => res.writeHead(503).end('busy'));
    closers.push(server.close);
    const client = new EsploraClient({ baseUrl: server.url, retries: 5, retryDelayMs: 1 });
    const err = await caught(client.broadcast(Uint8Array.of(1)));
    expect(isChandError(err, ErrorCode.CHAIN_BAD_RESPONSE)).toBe(true);
    expect(server.counts.get('POST /tx')).toBe(1);
  });

  it('retries reads that time out, but a timed-out broadcast only once', async () => {
    const server = await scriptedServer((req, res, count) => {
      if (req.method === 'GET' && count >= 2) res.writeHead(200).end('ab'.repeat(32));
      // otherwise: never answer
    });
    closers.push(server.close);
    const client = new EsploraClient({ baseUrl: server.url, timeoutMs: 100, retries: 1, retryDelayMs: 1 });
    expect(await client.getTipHash()).toBe('ab'.repeat(32));
    expect(server.counts.get('GET /blocks/tip/hash')).toBe(2);
    const err = await caught(client.broadcast(Uint8Array.of(1)));
    expect(isChandError(err, ErrorCode.CHAIN_TIMEOUT)).toBe(true);
    expect(server.counts.get('POST /tx')).toBe(1);
  });

  it('reports malformed answers as CHAIN_BAD_RESPONSE', async () => {
    const server = await scriptedServer((req, res) => {
      if (req.url === '/blocks/tip/height') res.writeHead(200).end('not a number');
      else res.writeHead(200).end('{"confirmed": "maybe"');
    });
    closers.push(server.close);
    const client = new EsploraClient({ baseUrl: server.url, retries: 0 });
    expect(isChandError(await caught(client.getTipHeight()), ErrorCode.CHAIN_BAD_RESPONSE)).toBe(true);
    expect(isChandError(await caught(client.getTxStatus('ab'.repeat(32))), ErrorCode.CHAIN_BAD_RESPONSE)).toBe(true);
  });

  it('sends base URL credentials as Basic auth and keeps them out of error messages', async () => {
    const server = await scriptedServer((req, res) => {
      const expected = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
      if (req.headers.authorization === expected) res.writeHead(200).end('7');
      else res.writeHead(401).end('who are you?');
    });
    closers.push(server.close);
    const withCreds = server.url.replace('http://', 'http://alice:s3cret@');
    expect(await new EsploraClient({ baseUrl: withCreds }).getTipHeight()).toBe(7);

    const wrong = new EsploraClient({ baseUrl: server.url.replace('http://', 'http://alice:wrong@'), retries: 0 });
    const refused = (await caught(wrong.getTipHeight())) as ChandError;
    expect(refused.message).toMatch(/HTTP 401/);
    expect(refused.message).not.toMatch(/wrong|alice/);

    await server.close();
    const client = new EsploraClient({ baseUrl: withCreds, retries: 0 });
    const err = (await caught(client.getTipHeight())) as ChandError;
    expect(isChandError(err, ErrorCode.CHAIN_UNREACHABLE)).toBe(true);
    expect(err.message).not.toMatch(/s3cret|alice/);
    expect(client.baseUrl).not.toMatch(/s3cret/);
  });

  it('rejects misuse before any request', async () => {
    expect(() => new EsploraClient({ baseUrl: 'ftp://example' })).toThrow(TypeError);
    const client = new EsploraClient({ baseUrl: 'http://127.0.0.1:9', network: REGTEST });
    await expect(client.getTxStatus('XYZ')).rejects.toBeInstanceOf(TypeError);
    await expect(client.getAddressUtxos('tb1qnotanaddress')).rejects.toBeInstanceOf(TypeError);
  });
});

describe('parseRejectionReason', () => {
  it('extracts the message of the Esplora wrapping and keeps other texts whole', () => {
    expect(parseRejectionReason('sendrawtransaction RPC error: {"code":-25,"message":"bad-txns-inputs-missingorspent"}')).toBe(
      'bad-txns-inputs-missingorspent',
    );
    expect(parseRejectionReason('  dust\n')).toBe('dust');
    expect(parseRejectionReason('oops {not json')).toBe('oops {not json');
  });
});
