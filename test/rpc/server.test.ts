/**
 * The RPC edge's unit test: a real RpcServer on 127.0.0.1:0 over a hand-written in-memory
 * NodeApi (support/fake-node.ts), driven by raw HTTP requests and by RpcClient. It checks the
 * transport (auth, body limit, paths, notifications, stop), JSON-RPC framing, parameter
 * validation and conversion, and error mapping. The real node behind NodeApi is tested end to
 * end by the node's own tests.
 */
import { createServer } from 'node:http';
import { Agent } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TxRejectedError } from '../../src/chain/chain-errors.js';
import { ChandError, ErrorCode, isChandError } from '../../src/errors.js';
import { PeerError } from '../../src/peer/errors.js';
import { RpcClient } from '../../src/rpc/client.js';
import { RPC_ERROR_CODES, RpcCallError } from '../../src/rpc/errors.js';
import { defineMethod, METHODS } from '../../src/rpc/methods.js';
import { object } from '../../src/rpc/params.js';
import { isLoopbackHost, RpcServer, type RpcLogLevel } from '../../src/rpc/server.js';
import { BALANCE, CHANNELS, FakeNode, NODE_INFO, PEER_ID, nodeId } from './support/fake-node.js';
import { rawRequest, type RawResponse } from './support/http.js';

const TOKEN = 'f'.repeat(64);
const AUTH = { Authorization: `Bearer ${TOKEN}` };

interface Harness {
  readonly api: FakeNode;
  readonly server: RpcServer;
  readonly url: string;
  readonly logs: Array<{ level: RpcLogLevel; msg: string; fields: Readonly<Record<string, unknown>> }>;
}

const started: RpcServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function startServer(extra: Partial<ConstructorParameters<typeof RpcServer>[0]> = {}): Promise<Harness> {
  const api = new FakeNode();
  const logs: Harness['logs'] = [];
  const server = new RpcServer({ api, host: '127.0.0.1', port: 0, token: TOKEN, log: (level, msg, fields) => logs.push({ level, msg, fields }), ...extra });
  started.push(server);
  const { url } = await server.start();
  return { api, server, url, logs };
}

/** POSTs one JSON-RPC request object (or raw text) with the right token. */
function rpc(url: string, body: unknown, headers: Record<string, string> = AUTH): Promise<RawResponse> {
  return rawRequest(url, { headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

function call(url: string, method: string, params?: unknown, id: unknown = 1): Promise<RawResponse> {
  return rpc(url, params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
}

/** Asserts a JSON-RPC error answer with HTTP `status`, JSON-RPC `code` and `data.code`; returns the error. */
function expectError(res: RawResponse, status: number, code: number, dataCode: string): { code: number; message: string; data: Record<string, unknown> } {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.json).toMatchObject({ jsonrpc: '2.0', error: { code, data: { code: dataCode } } });
  expect(res.json).not.toHaveProperty('result');
  return res.json.error;
}

describe('RpcServer', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startServer();
  });
  afterEach(() => {
    h.api.calls.length = 0;
  });

  it('answers a call with the result and the request id (number or string)', async () => {
    const res = await call(h.url, 'node_info', undefined, 7);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json).toEqual({ jsonrpc: '2.0', id: 7, result: NODE_INFO });
    expect((await call(h.url, 'wallet_balance', {}, 'abc')).json).toEqual({ jsonrpc: '2.0', id: 'abc', result: BALANCE });
    expect((await call(h.url, 'new_address', undefined, null)).json).toMatchObject({ id: null, result: { address: expect.any(String) } });
    expect(h.api.calls.map((c) => c.method)).toEqual(['nodeInfo', 'walletBalance', 'newAddress']);
  });

  it('wraps list and void results as documented', async () => {
    expect((await call(h.url, 'list_peers')).json.result).toEqual({ peers: [expect.objectContaining({ peer_id: PEER_ID })] });
    expect((await call(h.url, 'list_channels')).json.result.channels).toEqual(CHANNELS);
    expect((await call(h.url, 'disconnect_peer', { peer_id: PEER_ID })).json.result).toEqual({});
  });

  describe('authentication', () => {
    it('refuses a request without a token: HTTP 401, -32001 RPC_UNAUTHORIZED, and the node is not called', async () => {
      const res = await rpc(h.url, { jsonrpc: '2.0', id: 1, method: 'node_info' }, {});
      const error = expectError(res, 401, -32001, 'RPC_UNAUTHORIZED');
      expect(error.message).toMatch(/missing Authorization/);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(h.api.calls).toEqual([]);
    });

    it('refuses a wrong token, a prefix of the token, a longer one and another scheme the same way', async () => {
      for (const header of [`Bearer ${'e'.repeat(64)}`, `Bearer ${TOKEN.slice(0, 63)}`, `Bearer ${TOKEN}0`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
        const res = await rpc(h.url, { jsonrpc: '2.0', id: 1, method: 'node_info' }, { Authorization: header });
        expectError(res, 401, -32001, 'RPC_UNAUTHORIZED');
      }
      expect(h.api.calls).toEqual([]);
      // The scheme is case-insensitive (RFC 7235).
      expect((await rpc(h.url, { jsonrpc: '2.0', id: 1, method: 'node_info' }, { Authorization: `bearer ${TOKEN}` })).status).toBe(200);
    });

    it('checks the token before it parses the body', async () => {
      const res = await rpc(h.url, '{not json', { Authorization: 'Bearer nope' });
      expectError(res, 401, -32001, 'RPC_UNAUTHORIZED');
    });

    it('logs refusals without the token', async () => {
      const before = h.logs.length;
      await rpc(h.url, { jsonrpc: '2.0', id: 1, method: 'node_info' }, { Authorization: `Bearer ${TOKEN.slice(0, 40)}` });
      const lines = h.logs.slice(before);
      expect(lines.some((l) => l.level === 'warn' && /token/.test(l.msg))).toBe(true);
      expect(JSON.stringify(lines)).not.toContain(TOKEN.slice(0, 40));
    });
  });

  describe('body limit', () => {
    it('answers 413 RPC_BODY_TOO_LARGE for a declared oversized body and keeps serving', async () => {
      const res = await rawRequest(h.url, { headers: AUTH, body: Buffer.alloc(1024 * 1024 + 1, 0x20) });
      expectError(res, 413, -32002, 'RPC_BODY_TOO_LARGE');
      expect(res.headers['connection']).toBe('close');
      expect((await call(h.url, 'node_info')).json.result).toEqual(NODE_INFO);
    });

    it('answers 413 for a chunked body as soon as it crosses the limit (20 MiB sent, not read) and keeps serving', async () => {
      const res = await rawRequest(h.url, { headers: AUTH, body: Buffer.alloc(20 * 1024 * 1024, 0x20), chunked: true, timeoutMs: 30_000 });
      expectError(res, 413, -32002, 'RPC_BODY_TOO_LARGE');
      // The server stopped reading: 20 MiB cannot all fit in the sockets' buffers.
      expect(res.bodySent).toBe(false);
      expect((await call(h.url, 'node_info')).json.result).toEqual(NODE_INFO);
    });

    it('a client that disconnects mid-body is no error, and the server keeps serving', async () => {
      const own = await startServer();
      const { port } = new URL(own.url);
      const socket = connect({ host: '127.0.0.1', port: Number(port) });
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      // Headers and the start of a 1000-byte body, then a clean close (FIN): the server reads both, then the end.
      await new Promise<void>((resolve) => socket.write(`POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":`, () => resolve()));
      socket.end();
      const deadline = Date.now() + 10_000;
      while (!own.logs.some((l) => l.msg === 'rpc client disconnected mid-request') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(own.logs.map((l) => l.msg)).toContain('rpc client disconnected mid-request');
      expect(own.logs.filter((l) => l.level === 'error')).toEqual([]);
      expect((await call(own.url, 'node_info')).json.result).toEqual(NODE_INFO);
    });

    it('reads a body of exactly maxBodyBytes and refuses one byte more', async () => {
      const small = await startServer({ maxBodyBytes: 200 });
      const json = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node_info' });
      expect((await rpc(small.url, json.padEnd(200, ' '))).json.result).toEqual(NODE_INFO);
      expectError(await rpc(small.url, json.padEnd(201, ' ')), 413, -32002, 'RPC_BODY_TOO_LARGE');
      expectError(await rawRequest(small.url, { headers: AUTH, body: json.padEnd(201, ' '), chunked: true }), 413, -32002, 'RPC_BODY_TOO_LARGE');
      expect((await rpc(small.url, json)).json.result).toEqual(NODE_INFO);
    });
  });

  describe('framing', () => {
    it('answers a parse error with -32700 and id null', async () => {
      for (const body of ['{"jsonrpc":', '', 'nul', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]) {
        const res = await rawRequest(h.url, { headers: AUTH, body });
        const error = expectError(res, 200, -32700, 'RPC_INVALID_REQUEST');
        expect(error.message).toMatch(/^parse error/);
        expect(res.json.id).toBeNull();
      }
    });

    it('answers an invalid request with -32600, keeping a valid id', async () => {
      const cases: Array<[unknown, unknown]> = [
        [{ id: 1, method: 'node_info' }, 1],
        [{ jsonrpc: '1.0', id: 2, method: 'node_info' }, 2],
        [{ jsonrpc: '2.0', id: 3, method: 42 }, 3],
        [{ jsonrpc: '2.0', id: 4, method: 'node_info', params: 'x' }, 4],
        [{ jsonrpc: '2.0', id: 5, method: 'node_info', extra: true }, 5],
        [{ jsonrpc: '2.0', id: { a: 1 }, method: 'node_info' }, null],
        [42, null],
        ['"just a string"', null],
      ];
      for (const [body, id] of cases) {
        const res = await rpc(h.url, typeof body === 'string' ? body : JSON.stringify(body));
        expectError(res, 200, -32600, 'RPC_INVALID_REQUEST');
        expect(res.json.id).toEqual(id);
      }
      expect(h.api.calls).toEqual([]);
    });

    it('refuses batches with -32600', async () => {
      const res = await rpc(h.url, [{ jsonrpc: '2.0', id: 1, method: 'node_info' }]);
      expect(expectError(res, 200, -32600, 'RPC_INVALID_REQUEST').message).toMatch(/batch/);
      expect(h.api.calls).toEqual([]);
    });

    it('answers an unknown method with -32601 naming it', async () => {
      const error = expectError(await call(h.url, 'open_chanel', {}), 200, -32601, 'RPC_METHOD_NOT_FOUND');
      expect(error.message).toContain('"open_chanel"');
    });

    it('runs a notification and answers 204 with no body, even when it fails', async () => {
      const res = await rpc(h.url, { jsonrpc: '2.0', method: 'new_address' });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(h.api.calls.map((c) => c.method)).toEqual(['newAddress']);
      for (const body of [{ jsonrpc: '2.0', method: 'no_such_method' }, { jsonrpc: '2.0', method: 'open_channel', params: { peer_id: 'x' } }]) {
        const failed = await rpc(h.url, body);
        expect(failed.status).toBe(204);
        expect(failed.text).toBe('');
      }
      expect(h.api.calls).toHaveLength(1);
    });

    it('answers 404 for another path and 405 for another verb, with a JSON-RPC error', async () => {
      const notFound = await rawRequest(h.url, { path: '/rpc', headers: AUTH, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node_info' }) });
      expectError(notFound, 404, -32600, 'RPC_INVALID_REQUEST');
      const get = await rawRequest(h.url, { method: 'GET', headers: AUTH });
      expectError(get, 405, -32600, 'RPC_INVALID_REQUEST');
      expect(get.headers['allow']).toBe('POST');
      expect(h.api.calls).toEqual([]);
    });
  });

  describe('params', () => {
    const peer = PEER_ID;
    const badParams: Array<[string, unknown, string, RegExp]> = [
      ['open_channel', { peer_id: peer, funding_amount_sat: 'x' }, 'funding_amount_sat', /^params\.funding_amount_sat: expected an integer amount in sat >= 1 .*got "x"$/],
      ['open_channel', { peer_id: peer, funding_amount_sat: 0 }, 'funding_amount_sat', /expected an integer amount in sat >= 1, got 0/],
      ['open_channel', { peer_id: peer, funding_amount_sat: 1.5 }, 'funding_amount_sat', /got 1\.5/],
      ['open_channel', { peer_id: peer, funding_amount_sat: '-5' }, 'funding_amount_sat', /got "-5"/],
      ['open_channel', { peer_id: peer, funding_amount_sat: '2100000000000001' }, 'funding_amount_sat', /sat >= 1, got "2100000000000001"/],
      ['open_channel', { peer_id: peer, funding_amount_sat: 1000, push_amount_msat: 2 ** 53 }, 'push_amount_msat', /beyond 2\^53 - 1: send it as a decimal string/],
      ['open_channel', { peer_id: peer, funding_amount_sat: 1000, push_amount_msat: true }, 'push_amount_msat', /msat >= 0 .*got true/],
      ['open_channel', { peer_id: peer, funding_amount_sat: 1000, fee_rate_sat_per_vb: 0 }, 'fee_rate_sat_per_vb', /expected a number > 0 and <= 100000, got 0/],
      ['open_channel', { peer_id: peer, funding_amount_sat: 1000, fee_rate_sat_per_vb: '2' }, 'fee_rate_sat_per_vb', /got "2"/],
      ['open_channel', { funding_amount_sat: 1000 }, 'peer_id', /^params\.peer_id: required: expected a compressed public key/],
      ['open_channel', { peer_id: null, funding_amount_sat: 1000 }, 'peer_id', /required/],
      ['open_channel', { peer_id: 'zz'.repeat(33), funding_amount_sat: 1000 }, 'peer_id', /expected a compressed public key \(66 hex characters\), got "zzzz/],
      ['open_channel', { peer_id: `04${'11'.repeat(32)}`, funding_amount_sat: 1000 }, 'peer_id', /got "04/],
      ['open_channel', { peer_id: `02${'ff'.repeat(32)}`, funding_amount_sat: 1000 }, 'peer_id', /not a point on secp256k1/],
      ['open_channel', { peer_id: peer, funding_amount_sat: 1000, funding_amount: 1000, foo: 1 }, 'funding_amount', /^params: unknown params "funding_amount", "foo" \(known: peer_id, funding_amount_sat, push_amount_msat, fee_rate_sat_per_vb\)$/],
      ['list_channels', { include_closed: 'yes' }, 'include_closed', /^params\.include_closed: expected a boolean, got "yes"$/],
      ['list_channels', { peer_id: 12 }, 'peer_id', /got 12/],
      ['node_info', { verbose: true }, 'verbose', /unknown param "verbose" \(this method takes no params\)/],
      ['disconnect_peer', {}, 'peer_id', /required/],
      ['connect_peer', {}, 'address', /^params\.address: required: expected a non-empty string/],
      ['connect_peer', { address: '127.0.0.1:9736' }, 'address', /give peer_id/],
      ['connect_peer', { address: `${peer}@127.0.0.1:99999` }, 'address', /port/],
      ['connect_peer', { address: `02${'05'.repeat(32)}@127.0.0.1:9736` }, 'address', /not a valid compressed public key/],
      ['connect_peer', { peer_id: peer, address: 'no-port' }, 'address', /expected "<host>:<port>"/],
      ['connect_peer', { peer_id: nodeId(3), address: `${peer}@127.0.0.1:9736` }, 'peer_id', /expected the node id of address/],
    ];
    it.each(badParams)('%s %j → -32602 naming %s', async (method, params, field, message) => {
      const error = expectError(await call(h.url, method, params), 200, -32602, 'INVALID_PARAMS');
      expect(error.message).toMatch(message);
      expect(error.data).toEqual({ code: 'INVALID_PARAMS', field });
      expect(h.api.calls).toEqual([]);
    });

    it('refuses by-position params with -32602', async () => {
      const error = expectError(await call(h.url, 'open_channel', [PEER_ID, 1000]), 200, -32602, 'INVALID_PARAMS');
      expect(error.message).toMatch(/by-position params are not supported/);
    });

    it('hands the node converted values: lowercase ids, bigint amounts, absent or null optionals left out', async () => {
      await call(h.url, 'open_channel', { peer_id: PEER_ID.toUpperCase(), funding_amount_sat: '500000', push_amount_msat: '9007199254740993', fee_rate_sat_per_vb: 2.5 });
      await call(h.url, 'open_channel', { peer_id: PEER_ID, funding_amount_sat: 500_000, push_amount_msat: 1000, fee_rate_sat_per_vb: null });
      await call(h.url, 'list_channels', { peer_id: null, include_closed: true });
      expect(h.api.calls).toEqual([
        { method: 'openChannel', params: { peer_id: PEER_ID, funding_amount_sat: 500_000n, push_amount_msat: 9_007_199_254_740_993n, fee_rate_sat_per_vb: 2.5 } },
        { method: 'openChannel', params: { peer_id: PEER_ID, funding_amount_sat: 500_000n, push_amount_msat: 1000n } },
        { method: 'listChannels', params: { include_closed: true } },
      ]);
      expect(Object.keys(h.api.calls[1]!.params as object)).not.toContain('fee_rate_sat_per_vb');
    });

    it('connect_peer takes node_id@host:port or peer_id + host:port, and gives the node both', async () => {
      const upper = PEER_ID.toUpperCase();
      const results = [
        await call(h.url, 'connect_peer', { address: `${upper}@127.0.0.1:9736` }),
        await call(h.url, 'connect_peer', { peer_id: upper, address: 'localhost:9737' }),
        await call(h.url, 'connect_peer', { peer_id: PEER_ID, address: `${PEER_ID}@[::1]:9738` }),
        await call(h.url, 'connect_peer', { address: `${PEER_ID}@example.org` }),
      ];
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(h.api.calls.map((c) => c.params)).toEqual([
        { peer_id: PEER_ID, address: '127.0.0.1:9736' },
        { peer_id: PEER_ID, address: 'localhost:9737' },
        { peer_id: PEER_ID, address: '[::1]:9738' },
        { peer_id: PEER_ID, address: 'example.org:9735' },
      ]);
      expect(results[0]!.json.result).toMatchObject({ peer_id: PEER_ID, address: '127.0.0.1:9736' });
    });
  });

  describe('errors from the node', () => {
    it('maps a ChandError through the one table, with data.code and its plain fields', async () => {
      h.api.failWith('openChannel', () => new ChandError(ErrorCode.INSUFFICIENT_FUNDS, 'need 1200 sat more'));
      const error = expectError(await call(h.url, 'open_channel', { peer_id: PEER_ID, funding_amount_sat: 1000 }), 200, -32050, 'INSUFFICIENT_FUNDS');
      expect(error).toEqual({ code: -32050, message: 'need 1200 sat more', data: { code: 'INSUFFICIENT_FUNDS' } });
      expect(RPC_ERROR_CODES.INSUFFICIENT_FUNDS).toBe(-32050);

      h.api.failWith('walletBalance', () => new TxRejectedError('bad-txns-inputs-missingorspent', { cause: new Error('inner detail') }));
      const rejected = expectError(await call(h.url, 'wallet_balance'), 200, -32056, 'TX_REJECTED');
      expect(rejected.data).toEqual({ code: 'TX_REJECTED', reason: 'bad-txns-inputs-missingorspent' });

      h.api.failWith('disconnectPeer', () => new PeerError(ErrorCode.PEER_NOT_CONNECTED, 'not connected'));
      expectError(await call(h.url, 'disconnect_peer', { peer_id: PEER_ID }), 200, -32010, 'PEER_NOT_CONNECTED');
    });

    it('sends a ChandError without a table entry as -32000 with its code', async () => {
      expect(RPC_ERROR_CODES.SEED_NOT_FOUND).toBeUndefined();
      h.api.failWith('newAddress', () => new ChandError(ErrorCode.SEED_NOT_FOUND, 'no seed'));
      expectError(await call(h.url, 'new_address'), 200, -32000, 'SEED_NOT_FOUND');
    });

    it('never copies secret-looking or non-primitive fields of an error into data', async () => {
      class Leaky extends ChandError {
        readonly secretKey = 'deadbeef';
        readonly nested = { a: 1 };
        readonly messageType = 33;
        constructor() {
          super(ErrorCode.CHANNEL_NOT_FOUND, 'leaky');
        }
      }
      h.api.failWith('nodeInfo', () => new Leaky());
      const error = expectError(await call(h.url, 'node_info'), 200, -32030, 'CHANNEL_NOT_FOUND');
      expect(error.data).toEqual({ code: 'CHANNEL_NOT_FOUND', message_type: 33 });
    });

    it('answers any other exception with -32603 "internal error", logs it with its stack, and sends no detail', async () => {
      const own = await startServer();
      own.api.failWith('listPeers', () => new Error('boom at /home/user/secret-path'));
      const res = await call(own.url, 'list_peers');
      const error = expectError(res, 200, -32603, 'RPC_INTERNAL_ERROR');
      expect(error).toEqual({ code: -32603, message: 'internal error', data: { code: 'RPC_INTERNAL_ERROR' } });
      expect(res.text).not.toContain('boom');
      const logged = own.logs.find((l) => l.level === 'error');
      expect(logged?.fields).toMatchObject({ method: 'list_peers', error: expect.stringMatching(/boom[\s\S]*\n\s+at /) });
      // A non-Error throw and a result that is not JSON (a bigint) are internal errors too.
      own.api.failWith('nodeInfo', () => 'a string');
      expectError(await call(own.url, 'node_info'), 200, -32603, 'RPC_INTERNAL_ERROR');
      const bigintMethod = defineMethod({ name: 'bad_result', summary: 'returns a bigint', params: object({}), call: async () => ({ amount_msat: 5n }) });
      const custom = await startServer({ methods: [...METHODS, bigintMethod] });
      expectError(await call(custom.url, 'bad_result'), 200, -32603, 'RPC_INTERNAL_ERROR');
      expect((await call(custom.url, 'node_info')).json.result).toEqual(NODE_INFO);
    });
  });

  it('never logs params, results or the token', async () => {
    const own = await startServer();
    const marker = '987654321';
    await call(own.url, 'open_channel', { peer_id: PEER_ID, funding_amount_sat: marker });
    await call(own.url, 'open_channel', { peer_id: PEER_ID, funding_amount_sat: `x${marker}` });
    await call(own.url, 'node_info');
    const text = JSON.stringify(own.logs);
    expect(own.logs.length).toBeGreaterThan(2);
    for (const secret of [marker, PEER_ID, TOKEN, NODE_INFO.chain_hash]) expect(text).not.toContain(secret);
  });
});

describe('RpcServer binding', () => {
  it('is refused on a non-loopback address (RPC_BIND_REFUSED) unless allowRemote', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.org', '[::]', '::ffff:10.0.0.1']) {
      let thrown: unknown;
      try {
        new RpcServer({ api: new FakeNode(), host, port: 0, token: TOKEN });
      } catch (err) {
        thrown = err;
      }
      expect(isChandError(thrown, ErrorCode.RPC_BIND_REFUSED), `${host}: ${String(thrown)}`).toBe(true);
    }
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '128.0.0.1', '::', '::2', 'localhost.example.org', '1.127.0.0']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('listens on 0.0.0.0 with allowRemote, and serves over loopback', async () => {
    const server = new RpcServer({ api: new FakeNode(), host: '0.0.0.0', port: 0, token: TOKEN, allowRemote: true });
    started.push(server);
    const { url } = await server.start();
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/);
    const port = new URL(url).port;
    expect((await call(`http://127.0.0.1:${port}/`, 'node_info')).json.result).toEqual(NODE_INFO);
  });

  it('listens on ::1 and reports a bracketed URL', async () => {
    const server = new RpcServer({ api: new FakeNode(), host: '::1', port: 0, token: TOKEN });
    started.push(server);
    let url: string;
    try {
      ({ url } = await server.start());
    } catch (err) {
      // A machine without IPv6 loopback cannot run this case.
      if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') return;
      throw err;
    }
    expect(url).toMatch(/^http:\/\/\[::1\]:\d+\/$/);
    expect((await call(url, 'node_info')).json.result).toEqual(NODE_INFO);
  });

  it('refuses malformed options with TypeError/RangeError', () => {
    const api = new FakeNode();
    expect(() => new RpcServer({ api, host: '127.0.0.1', port: 0, token: 'short' })).toThrow(RangeError);
    expect(() => new RpcServer({ api, host: '127.0.0.1', port: 70000, token: TOKEN })).toThrow(RangeError);
    expect(() => new RpcServer({ api, host: '', port: 0, token: TOKEN })).toThrow(TypeError);
    expect(() => new RpcServer({ api, host: '127.0.0.1', port: 0, token: TOKEN, maxBodyBytes: 0 })).toThrow(RangeError);
  });

  it('start fails when the port is taken', async () => {
    const first = await startServer();
    const port = Number(new URL(first.url).port);
    const second = new RpcServer({ api: new FakeNode(), host: '127.0.0.1', port, token: TOKEN });
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await second.stop();
  });
});

describe('RpcServer.stop', () => {
  it('is idempotent, closes idle keep-alive sockets, and refuses connections afterwards', async () => {
    const h = await startServer({ stopGraceMs: 600_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await rawRequest(h.url, { headers: AUTH, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node_info' }), agent });
    expect(first.status).toBe(200);
    const idle = Object.values(agent.freeSockets).flat();
    expect(idle).toHaveLength(1);
    const closed = new Promise<void>((resolve) => idle[0]!.once('close', () => resolve()));
    const a = h.server.stop();
    const b = h.server.stop();
    expect(a).toBe(b);
    await a; // resolves only once every socket is closed (the grace period is 10 minutes)
    await closed;
    await h.server.stop();
    await expect(rawRequest(h.url, { headers: AUTH, body: '{}' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(h.server.start()).rejects.toThrow(/stopped/);
    agent.destroy();
  });

  it('lets a request in flight finish before it resolves', async () => {
    const h = await startServer({ stopGraceMs: 600_000 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    h.api.nodeInfo = async () => {
      entered();
      await gate;
      return NODE_INFO;
    };
    const pending = call(h.url, 'node_info');
    await inside;
    let stopped = false;
    const stopping = h.server.stop().then(() => (stopped = true));
    // The call is still inside the node: stop must not have completed.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    expect((await pending).json.result).toEqual(NODE_INFO);
    await stopping;
    expect(stopped).toBe(true);
  });

  it('stop before start resolves', async () => {
    const server = new RpcServer({ api: new FakeNode(), host: '127.0.0.1', port: 0, token: TOKEN });
    await server.stop();
    await expect(server.start()).rejects.toThrow(/stopped/);
  });
});

describe('RpcClient', () => {
  let h: Harness;
  let client: RpcClient;
  beforeAll(async () => {
    h = await startServer();
    client = new RpcClient({ url: h.url, token: TOKEN });
  });

  it('returns results', async () => {
    expect(await client.call('node_info')).toEqual(NODE_INFO);
    expect(await client.call('list_channels', { include_closed: false })).toMatchObject({ channels: expect.any(Array) });
  });

  it('turns a JSON-RPC error into a ChandError with data.code, keeping the JSON-RPC code, message and data', async () => {
    const err = await client.call('open_channel', { peer_id: PEER_ID, funding_amount_sat: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcCallError);
    expect(isChandError(err, ErrorCode.INVALID_PARAMS)).toBe(true);
    expect(err).toMatchObject({ rpcCode: -32602, message: expect.stringMatching(/^params\.funding_amount_sat: /), data: { code: 'INVALID_PARAMS', field: 'funding_amount_sat' } });
    expect(await client.call('nope').catch((e: unknown) => e)).toMatchObject({ code: 'RPC_METHOD_NOT_FOUND', rpcCode: -32601 });
    h.api.failWith('walletBalance', () => new ChandError(ErrorCode.CHAIN_UNREACHABLE, 'esplora is down'));
    expect(await client.call('wallet_balance').catch((e: unknown) => e)).toMatchObject({ code: 'CHAIN_UNREACHABLE', rpcCode: -32060, message: 'esplora is down' });
  });

  it('a wrong token is RPC_UNAUTHORIZED', async () => {
    const wrong = new RpcClient({ url: h.url, token: 'e'.repeat(64) });
    expect(await wrong.call('node_info').catch((e: unknown) => e)).toMatchObject({ code: 'RPC_UNAUTHORIZED', rpcCode: -32001 });
  });

  it('a refused connection is NODE_NOT_RUNNING', async () => {
    const gone = await startServer();
    await gone.server.stop();
    const err = await new RpcClient({ url: gone.url, token: TOKEN }).call('node_info').catch((e: unknown) => e);
    expect(isChandError(err, ErrorCode.NODE_NOT_RUNNING)).toBe(true);
    expect((err as Error).message).toContain(gone.url);
    const custom = await new RpcClient({ url: gone.url, token: TOKEN, notRunningMessage: 'no node for X' }).call('node_info').catch((e: unknown) => e);
    expect(custom).toMatchObject({ code: 'NODE_NOT_RUNNING', message: 'no node for X' });
  });

  it('an error code it does not know is RPC_ERROR; a non-JSON-RPC answer is RPC_ERROR; no answer in time is RPC_TIMEOUT', async () => {
    let mode: 'future' | 'html' | 'silent' = 'future';
    const fake = createServer((req, res) => {
      req.resume();
      if (mode === 'future') res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32099, message: 'from the future', data: { code: 'SOME_FUTURE_CODE' } } }));
      else if (mode === 'html') res.writeHead(502).end('<html>bad gateway</html>');
      // 'silent': never answer; the client's timeout ends it.
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://user:pw@127.0.0.1:${(fake.address() as AddressInfo).port}/`;
      const c = new RpcClient({ url, token: TOKEN, timeoutMs: 300 });
      expect(await c.call('x').catch((e: unknown) => e)).toMatchObject({ code: 'RPC_ERROR', rpcCode: -32099, message: 'from the future', data: { code: 'SOME_FUTURE_CODE' } });
      mode = 'html';
      const html = await c.call('x').catch((e: unknown) => e);
      expect(html).toMatchObject({ code: 'RPC_ERROR', message: expect.stringMatching(/HTTP 502/) });
      expect((html as Error).message).not.toContain('pw');
      mode = 'silent';
      const timeout = await c.call('x').catch((e: unknown) => e);
      expect(timeout).toMatchObject({ code: 'RPC_TIMEOUT' });
      expect((timeout as Error).message).not.toContain('pw');
    } finally {
      fake.closeAllConnections();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });

  it('refuses a malformed URL or token', () => {
    expect(() => new RpcClient({ url: 'not a url', token: TOKEN })).toThrow(TypeError);
    expect(() => new RpcClient({ url: 'ftp://127.0.0.1/', token: TOKEN })).toThrow(TypeError);
    expect(() => new RpcClient({ url: 'http://127.0.0.1/', token: '' })).toThrow(TypeError);
  });
});
