/**
 * The external (PSBT) funding methods at the RPC edge: `open_channel_with_external_funding`,
 * `submit_signed_funding_tx` and `get_external_funding`, over a real RpcServer on
 * 127.0.0.1:0 and the NodeApi test double (support/fake-node.ts). Checks what validation lets
 * through and hands the node (the funding_source union, exactly one of psbt/tx, converted
 * values), what it refuses with -32602 naming the param (paths such as
 * `funding_source.utxos[1].txid`), and how the flow's error codes travel (JSON-RPC code,
 * data.code, and back into a ChandError through RpcClient).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChandError, ErrorCode, isChandError } from '../../src/errors.js';
import type { NodeApi } from '../../src/rpc/api.js';
import { RpcClient } from '../../src/rpc/client.js';
import { RPC_ERROR_CODES } from '../../src/rpc/errors.js';
import { RpcServer } from '../../src/rpc/server.js';
import { ADDRESS, EXTERNAL_FUNDING, FakeNode, OPENED_EXTERNAL, PEER_ID, PSBT_BASE64 } from './support/fake-node.js';
import { rawRequest, type RawResponse } from './support/http.js';

const TOKEN = 'e'.repeat(64);
const TXID_A = 'a1'.repeat(32);
const TXID_B = 'b2'.repeat(32);
const CHANNEL_ID = 'ee'.repeat(32);
const RAW_TX = `02000000${'00'.repeat(60)}`;

let api: FakeNode;
let server: RpcServer;
let url: string;

beforeAll(async () => {
  api = new FakeNode();
  server = new RpcServer({ api, host: '127.0.0.1', port: 0, token: TOKEN });
  ({ url } = await server.start());
});
afterAll(async () => {
  await server.stop();
});
afterEach(() => {
  api.calls.length = 0;
});

function call(method: string, params: unknown): Promise<RawResponse> {
  return rawRequest(url, { headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
}

/** Valid `open_channel_with_external_funding` params, with `over` merged in. */
function openParams(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    peer_id: PEER_ID,
    funding_amount_sat: 300_000,
    funding_source: { utxos: [{ txid: TXID_A, vout: 0 }] },
    change_address: ADDRESS,
    fee_rate_sat_per_vb: 2,
    ...over,
  };
}

describe('open_channel_with_external_funding', () => {
  it('hands the node converted values for either funding source, and answers with the result as it is', async () => {
    const byUtxos = await call(
      'open_channel_with_external_funding',
      openParams({
        funding_amount_sat: '300000',
        funding_source: { utxos: [{ txid: TXID_A.toUpperCase(), vout: 1 }, { txid: TXID_B, vout: 4294967295 }] },
        timeout_secs: 3600,
        push_amount_msat: '1000',
      }),
    );
    expect(byUtxos.json).toEqual({ jsonrpc: '2.0', id: 1, result: OPENED_EXTERNAL });
    const byAddress = await call('open_channel_with_external_funding', openParams({ funding_source: { address: ADDRESS, utxos: null }, timeout_secs: null, fee_rate_sat_per_vb: 1.5 }));
    expect(byAddress.json.result).toEqual(OPENED_EXTERNAL);
    expect(api.calls).toEqual([
      {
        method: 'openChannelWithExternalFunding',
        params: {
          peer_id: PEER_ID,
          funding_amount_sat: 300_000n,
          funding_source: { utxos: [{ txid: TXID_A, vout: 1 }, { txid: TXID_B, vout: 4294967295 }] },
          change_address: ADDRESS,
          fee_rate_sat_per_vb: 2,
          timeout_secs: 3600,
          push_amount_msat: 1000n,
        },
      },
      {
        method: 'openChannelWithExternalFunding',
        params: { peer_id: PEER_ID, funding_amount_sat: 300_000n, funding_source: { address: ADDRESS }, change_address: ADDRESS, fee_rate_sat_per_vb: 1.5 },
      },
    ]);
    // The node gets exactly one alternative, not the null one.
    expect(Object.keys((api.calls[1]!.params as { funding_source: object }).funding_source)).toEqual(['address']);
  });

  it('accepts the bounds: 100 utxos, timeout_secs 10 and 604800', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => ({ txid: TXID_A, vout: i }));
    for (const over of [{ funding_source: { utxos: hundred } }, { timeout_secs: 10 }, { timeout_secs: 604_800 }]) {
      const res = await call('open_channel_with_external_funding', openParams(over));
      expect(res.json.result, JSON.stringify(res.json.error)).toEqual(OPENED_EXTERNAL);
    }
    expect(api.calls).toHaveLength(3);
  });

  const utxo = (txid: unknown, vout: unknown): Record<string, unknown> => ({ txid, vout });
  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['no funding_source', { funding_source: undefined }, 'funding_source', /^params\.funding_source: required: expected a JSON object with exactly one of "utxos", "address", got nothing$/],
    ['funding_source not an object', { funding_source: [utxo(TXID_A, 0)] }, 'funding_source', /^params\.funding_source: expected a JSON object with exactly one of "utxos", "address", got an array$/],
    ['neither alternative', { funding_source: {} }, 'funding_source', /^params\.funding_source: expected exactly one of utxos, address, got none$/],
    ['both null', { funding_source: { utxos: null, address: null } }, 'funding_source', /got none$/],
    ['both alternatives', { funding_source: { utxos: [utxo(TXID_A, 0)], address: ADDRESS } }, 'funding_source', /^params\.funding_source: expected exactly one of utxos, address, got utxos and address$/],
    ['an unknown alternative', { funding_source: { outpoints: [] } }, 'funding_source.outpoints', /^params\.funding_source: unknown param "outpoints" \(expected exactly one of: utxos, address\)$/],
    ['utxos empty', { funding_source: { utxos: [] } }, 'funding_source.utxos', /^params\.funding_source\.utxos: expected an array of 1 to 100 elements, each a JSON object, got 0 elements$/],
    ['utxos over 100', { funding_source: { utxos: Array.from({ length: 101 }, (_, i) => utxo(TXID_A, i)) } }, 'funding_source.utxos', /got 101 elements$/],
    ['utxos not an array', { funding_source: { utxos: utxo(TXID_A, 0) } }, 'funding_source.utxos', /expected an array of 1 to 100 elements.*got a object$/],
    ['a bad txid', { funding_source: { utxos: [utxo(TXID_A, 0), utxo('xyz', 1)] } }, 'funding_source.utxos[1].txid', /^params\.funding_source\.utxos\[1\]\.txid: expected 32 bytes as 64 hex characters, got "xyz"$/],
    ['a short txid', { funding_source: { utxos: [utxo(TXID_A.slice(2), 0)] } }, 'funding_source.utxos[0].txid', /64 hex characters/],
    ['vout negative', { funding_source: { utxos: [utxo(TXID_A, -1)] } }, 'funding_source.utxos[0].vout', /^params\.funding_source\.utxos\[0\]\.vout: expected an integer >= 0 and <= 4294967295, got -1$/],
    ['vout too big', { funding_source: { utxos: [utxo(TXID_A, 2 ** 32)] } }, 'funding_source.utxos[0].vout', /got 4294967296$/],
    ['vout a string', { funding_source: { utxos: [utxo(TXID_A, '0')] } }, 'funding_source.utxos[0].vout', /got "0"$/],
    ['vout missing', { funding_source: { utxos: [{ txid: TXID_A }] } }, 'funding_source.utxos[0].vout', /required/],
    ['a utxo with an unknown field', { funding_source: { utxos: [{ txid: TXID_A, vout: 0, value: 5 }] } }, 'funding_source.utxos[0].value', /^params\.funding_source\.utxos\[0\]: unknown param "value" \(known: txid, vout\)$/],
    ['a null utxo', { funding_source: { utxos: [null] } }, 'funding_source.utxos[0]', /^params\.funding_source\.utxos\[0\]: expected a JSON object, got null$/],
    ['a utxo twice', { funding_source: { utxos: [utxo(TXID_A, 0), utxo(TXID_B, 0), utxo(TXID_A.toUpperCase(), 0)] } }, 'funding_source.utxos[2]', /expected distinct outpoints, got a1a1.*:0 again \(also utxos\[0\]\)$/],
    ['address empty', { funding_source: { address: '' } }, 'funding_source.address', /^params\.funding_source\.address: expected a non-empty string/],
    ['address a number', { funding_source: { address: 5 } }, 'funding_source.address', /got 5$/],
    ['no change_address', { change_address: undefined }, 'change_address', /^params\.change_address: required/],
    ['change_address too long', { change_address: 'b'.repeat(101) }, 'change_address', /at most 100 characters/],
    ['no fee rate', { fee_rate_sat_per_vb: undefined }, 'fee_rate_sat_per_vb', /^params\.fee_rate_sat_per_vb: required: expected a number > 0 and <= 100000/],
    ['fee rate 0', { fee_rate_sat_per_vb: 0 }, 'fee_rate_sat_per_vb', /got 0$/],
    ['timeout_secs 9', { timeout_secs: 9 }, 'timeout_secs', /^params\.timeout_secs: expected an integer >= 10 and <= 604800, got 9$/],
    ['timeout_secs a week and a second', { timeout_secs: 604_801 }, 'timeout_secs', /got 604801$/],
    ['timeout_secs fractional', { timeout_secs: 10.5 }, 'timeout_secs', /got 10\.5$/],
    ['funding_amount_sat 0', { funding_amount_sat: 0 }, 'funding_amount_sat', /sat >= 1, got 0$/],
    ['the issue\u2019s unit-less names', { funding_amount: 1, fee_rate: 2 }, 'funding_amount', /^params: unknown params "funding_amount", "fee_rate" \(known: peer_id, funding_amount_sat, funding_source, change_address, fee_rate_sat_per_vb, timeout_secs, push_amount_msat\)$/],
  ];
  it.each(bad)('%s → -32602 naming the field', async (_what, over, field, message) => {
    const params = openParams(over);
    for (const [k, v] of Object.entries(over)) if (v === undefined) delete params[k];
    const res = await call('open_channel_with_external_funding', params);
    expect(res.json.error, res.text).toMatchObject({ code: -32602, data: { code: 'INVALID_PARAMS', field } });
    expect(res.json.error.message).toMatch(message);
    expect(api.calls).toEqual([]);
  });
});

describe('submit_signed_funding_tx', () => {
  it('takes exactly one of psbt (base64, as it is) and tx (hex, lowercased)', async () => {
    const byPsbt = await call('submit_signed_funding_tx', { channel_id: CHANNEL_ID.toUpperCase(), psbt: PSBT_BASE64 });
    expect(byPsbt.json.result).toEqual({ ...EXTERNAL_FUNDING, channel_id: CHANNEL_ID });
    const byTx = await call('submit_signed_funding_tx', { channel_id: CHANNEL_ID, tx: RAW_TX.toUpperCase(), psbt: null });
    expect(byTx.json.result).toEqual({ ...EXTERNAL_FUNDING, channel_id: CHANNEL_ID });
    expect(api.calls).toEqual([
      { method: 'submitSignedFundingTx', params: { channel_id: CHANNEL_ID, psbt: PSBT_BASE64 } },
      { method: 'submitSignedFundingTx', params: { channel_id: CHANNEL_ID, tx: RAW_TX } },
    ]);
    // Not `tx: undefined` next to psbt: the node sees one alternative.
    expect(Object.keys(api.calls[0]!.params as object)).toEqual(['channel_id', 'psbt']);
  });

  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['neither', { channel_id: CHANNEL_ID }, '', /^params: expected exactly one of psbt, tx, got none$/],
    ['both null', { channel_id: CHANNEL_ID, psbt: null, tx: null }, '', /got none$/],
    ['both', { channel_id: CHANNEL_ID, psbt: PSBT_BASE64, tx: RAW_TX }, '', /^params: expected exactly one of psbt, tx, got psbt and tx$/],
    ['psbt not base64', { channel_id: CHANNEL_ID, psbt: 'cHNidP8 BAHE=' }, 'psbt', /^params\.psbt: expected base64 \(standard alphabet, padded, at most 1000000 characters\), got "cHNidP8 BAHE="$/],
    ['psbt url-safe base64', { channel_id: CHANNEL_ID, psbt: 'cHNidP8-_w==' }, 'psbt', /expected base64/],
    ['psbt unpadded', { channel_id: CHANNEL_ID, psbt: 'cHNidP8BAHE' }, 'psbt', /expected base64/],
    ['psbt with padding inside', { channel_id: CHANNEL_ID, psbt: 'cH==idP8' }, 'psbt', /expected base64/],
    ['psbt empty', { channel_id: CHANNEL_ID, psbt: '' }, 'psbt', /expected base64/],
    ['psbt as bytes', { channel_id: CHANNEL_ID, psbt: [1, 2] }, 'psbt', /got an array$/],
    ['tx odd length', { channel_id: CHANNEL_ID, tx: 'abc' }, 'tx', /^params\.tx: expected hex bytes \(an even number of hex characters, at most 800000\), got "abc"$/],
    ['tx not hex', { channel_id: CHANNEL_ID, tx: 'zz' }, 'tx', /expected hex bytes/],
    ['tx base64 by mistake', { channel_id: CHANNEL_ID, tx: PSBT_BASE64 }, 'tx', /expected hex bytes/],
    ['no channel_id', { psbt: PSBT_BASE64 }, 'channel_id', /^params\.channel_id: required: expected 32 bytes as 64 hex characters/],
    ['a temporary id typo', { channel_id: CHANNEL_ID.slice(1), psbt: PSBT_BASE64 }, 'channel_id', /got "e/],
    ['an unknown field', { channel_id: CHANNEL_ID, psbt: PSBT_BASE64, broadcast: true }, 'broadcast', /unknown param "broadcast" \(known: channel_id, psbt, tx\)/],
  ];
  it.each(bad)('%s → -32602', async (_what, params, field, message) => {
    const res = await call('submit_signed_funding_tx', params);
    expect(res.json.error, res.text).toMatchObject({ code: -32602, data: { code: 'INVALID_PARAMS', field } });
    expect(res.json.error.message).toMatch(message);
    expect(api.calls).toEqual([]);
  });
});

describe('get_external_funding', () => {
  it('passes the channel id lowercased and answers with the flow', async () => {
    const res = await call('get_external_funding', { channel_id: CHANNEL_ID.toUpperCase() });
    expect(res.json.result).toEqual({ ...EXTERNAL_FUNDING, channel_id: CHANNEL_ID });
    expect(api.calls).toEqual([{ method: 'getExternalFunding', params: { channel_id: CHANNEL_ID } }]);
    const bad = await call('get_external_funding', { channel_id: 7 });
    expect(bad.json.error).toMatchObject({ code: -32602, data: { field: 'channel_id' } });
    expect(api.calls).toHaveLength(1);
  });
});

describe('the flow’s errors', () => {
  const cases: Array<[keyof NodeApi, string, Record<string, unknown>, ErrorCode, number]> = [
    ['submitSignedFundingTx', 'submit_signed_funding_tx', { channel_id: CHANNEL_ID, psbt: PSBT_BASE64 }, ErrorCode.EXTERNAL_FUNDING_EXPIRED, -32040],
    ['submitSignedFundingTx', 'submit_signed_funding_tx', { channel_id: CHANNEL_ID, tx: RAW_TX }, ErrorCode.EXTERNAL_FUNDING_CONFLICT, -32036],
    ['submitSignedFundingTx', 'submit_signed_funding_tx', { channel_id: CHANNEL_ID, psbt: PSBT_BASE64 }, ErrorCode.PSBT_INVALID, -32051],
    ['submitSignedFundingTx', 'submit_signed_funding_tx', { channel_id: CHANNEL_ID, psbt: PSBT_BASE64 }, ErrorCode.PSBT_TXID_MISMATCH, -32052],
    ['submitSignedFundingTx', 'submit_signed_funding_tx', { channel_id: CHANNEL_ID, psbt: PSBT_BASE64 }, ErrorCode.PSBT_OUTPUTS_MISMATCH, -32053],
    ['submitSignedFundingTx', 'submit_signed_funding_tx', { channel_id: CHANNEL_ID, psbt: PSBT_BASE64 }, ErrorCode.PSBT_NOT_FINALIZED, -32054],
    ['submitSignedFundingTx', 'submit_signed_funding_tx', { channel_id: CHANNEL_ID, tx: RAW_TX }, ErrorCode.SIGNATURE_INVALID, -32055],
    ['getExternalFunding', 'get_external_funding', { channel_id: CHANNEL_ID }, ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, -32035],
    ['openChannelWithExternalFunding', 'open_channel_with_external_funding', openParams(), ErrorCode.CHANNEL_OPEN_FAILED, -32041],
    ['openChannelWithExternalFunding', 'open_channel_with_external_funding', openParams(), ErrorCode.INSUFFICIENT_FUNDS, -32050],
  ];
  it.each(cases)('%s failing with %s… travels as its code', async (apiMethod, method, params, code, rpcCode) => {
    const own = new FakeNode();
    own.failWith(apiMethod, () => new ChandError(code, `failed: ${code}`));
    const ownServer = new RpcServer({ api: own, host: '127.0.0.1', port: 0, token: TOKEN });
    const started = await ownServer.start();
    try {
      expect(RPC_ERROR_CODES[code]).toBe(rpcCode);
      const client = new RpcClient({ url: started.url, token: TOKEN });
      const err = await client.call(method, params).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isChandError(err, code), String(err)).toBe(true);
      expect(err).toMatchObject({ rpcCode, message: `failed: ${code}`, data: { code } });
      expect(own.calls).toHaveLength(1);
    } finally {
      await ownServer.stop();
    }
  });
});
