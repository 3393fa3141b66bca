/**
 * The devnet's Esplora API, field for field against electrs (Blockstream's Esplora backend)
 * and the Esplora API documentation: transaction JSON (prevout addresses, real coinbase
 * scriptSigs, the *_asm fields, inner redeem/witness scripts, witness omitted when empty),
 * block JSON (size, weight, mediantime, difficulty), the documented fee-estimate targets,
 * and 400 with electrs' short reasons for a malformed txid, hash, number or address.
 * EsploraClient reads the same JSON.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OP, compileScript, hash160, p2wshScript, scriptNum } from '../../src/bitcoin/script.js';
import { decodeTx, encodeTx } from '../../src/bitcoin/transaction.js';
import { bytesToHex } from '../../src/codec/bytes.js';
import type { ChainTransaction } from '../../src/chain/chain.js';
import { DevnetClient } from '../../src/chain/devnet-client.js';
import { devnetGenesis, REGTEST_GENESIS_HASH } from '../../src/chain/devnet/block.js';
import type { Devnet } from '../../src/chain/devnet/devnet.js';
import { esploraOutputType, opcodeName, scriptAsm, txJson } from '../../src/chain/devnet/esplora-json.js';
import { completeFeeEstimates, ESPLORA_FEE_TARGETS } from '../../src/chain/devnet/ledger.js';
import { decodeTransaction } from '../../src/chain/devnet/tx-validation.js';
import { REGTEST, scriptToAddress } from '../../src/chain/network.js';
import { devnetAt } from './support/devnet-at.js';
import { buildTx, testKey } from './support/tx-builder.js';

const HEADLINE_HEX = bytesToHex(new TextEncoder().encode('The Times 03/Jan/2009 Chancellor on brink of second bailout for banks'));
const GENESIS_PUBKEY =
  '04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f';
const GENESIS_TXID = '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('script asm (rust-bitcoin / electrs notation)', () => {
  it('disassembles the genesis coinbase scriptSig and output, P2WPKH, P2PKH and a BOLT 3 to_local script', () => {
    const genesis = decodeTransaction(devnetGenesis().transactions[0]!);
    expect(scriptAsm(genesis.inputs[0]!.scriptSig)).toBe(`OP_PUSHBYTES_4 ffff001d OP_PUSHBYTES_1 04 OP_PUSHBYTES_69 ${HEADLINE_HEX}`);
    expect(scriptAsm(genesis.outputs[0]!.script)).toBe(`OP_PUSHBYTES_65 ${GENESIS_PUBKEY} OP_CHECKSIG`);
    const key = testKey('asm');
    const program = bytesToHex(key.script.subarray(2));
    expect(scriptAsm(key.script)).toBe(`OP_0 OP_PUSHBYTES_20 ${program}`);
    const p2pkh = compileScript([OP.OP_DUP, OP.OP_HASH160, key.script.subarray(2), OP.OP_EQUALVERIFY, OP.OP_CHECKSIG]);
    expect(scriptAsm(p2pkh)).toBe(`OP_DUP OP_HASH160 OP_PUSHBYTES_20 ${program} OP_EQUALVERIFY OP_CHECKSIG`);
    const pub = bytesToHex(key.pub);
    const toLocal = compileScript([OP.OP_IF, key.pub, OP.OP_ELSE, scriptNum(144), OP.OP_CHECKSEQUENCEVERIFY, OP.OP_DROP, key.pub, OP.OP_ENDIF, OP.OP_CHECKSIG]);
    expect(scriptAsm(toLocal)).toBe(`OP_IF OP_PUSHBYTES_33 ${pub} OP_ELSE OP_PUSHBYTES_2 9000 OP_CSV OP_DROP OP_PUSHBYTES_33 ${pub} OP_ENDIF OP_CHECKSIG`);
  });

  it('shows numbers, PUSHDATA and scripts cut short as electrs does', () => {
    expect(scriptAsm(new Uint8Array(0))).toBe('');
    expect(scriptAsm(bytes(0x4f, 0x00, 0x51, 0x60, 0x61, 0xb1))).toBe('OP_PUSHNUM_NEG1 OP_0 OP_PUSHNUM_1 OP_PUSHNUM_16 OP_NOP OP_CLTV');
    expect(scriptAsm(bytes(0x4c, 0x02, 0xab, 0xcd, 0x4d, 0x01, 0x00, 0xef))).toBe('OP_PUSHDATA1 abcd OP_PUSHDATA2 ef');
    expect(scriptAsm(bytes(0x4c, 0x00))).toBe('OP_PUSHDATA1');
    expect(scriptAsm(bytes(0x05, 0x01, 0x02))).toBe('OP_PUSHBYTES_5 <push past end>');
    expect(scriptAsm(bytes(0x76, 0x4e, 0xff, 0xff, 0xff, 0xff, 0x00))).toBe('OP_DUP OP_PUSHDATA4 <push past end>');
    // A PUSHDATA whose length bytes are missing: the marker follows at once, as in rust-bitcoin.
    expect(scriptAsm(bytes(0x76, 0x4d, 0x01))).toBe('OP_DUP<unexpected end>');
  });

  it('names every opcode byte uniquely, with rust-bitcoin names', () => {
    const names = Array.from({ length: 256 }, (_, op) => opcodeName(op));
    expect(new Set(names).size).toBe(256);
    expect(names.every((n) => /^OP_[A-Z0-9_]+$/.test(n))).toBe(true);
    expect(names.slice(0x61, 0x6b)).toEqual(['OP_NOP', 'OP_VER', 'OP_IF', 'OP_NOTIF', 'OP_VERIF', 'OP_VERNOTIF', 'OP_ELSE', 'OP_ENDIF', 'OP_VERIFY', 'OP_RETURN']);
    expect([0x50, 0x7e, 0x89, 0x92, 0xa9, 0xab, 0xaf].map((op) => names[op])).toEqual([
      'OP_RESERVED',
      'OP_CAT',
      'OP_RESERVED1',
      'OP_0NOTEQUAL',
      'OP_HASH160',
      'OP_CODESEPARATOR',
      'OP_CHECKMULTISIGVERIFY',
    ]);
    expect(names.slice(0xb0, 0xbc)).toEqual([
      'OP_NOP1',
      'OP_CLTV',
      'OP_CSV',
      'OP_NOP4',
      'OP_NOP5',
      'OP_NOP6',
      'OP_NOP7',
      'OP_NOP8',
      'OP_NOP9',
      'OP_NOP10',
      'OP_CHECKSIGADD',
      'OP_RETURN_187',
    ]);
    expect([names[0x00], names[0x4b], names[0xfe], names[0xff]]).toEqual(['OP_PUSHBYTES_0', 'OP_PUSHBYTES_75', 'OP_RETURN_254', 'OP_INVALIDOPCODE']);
    expect(() => opcodeName(256)).toThrow(RangeError);
  });

  it('types outputs with electrs names', () => {
    const key = testKey('types');
    expect(esploraOutputType(new Uint8Array(0))).toBe('empty');
    expect(esploraOutputType(decodeTransaction(devnetGenesis().transactions[0]!).outputs[0]!.script)).toBe('p2pk');
    expect(esploraOutputType(compileScript([key.pub, OP.OP_CHECKSIG]))).toBe('p2pk');
    expect(esploraOutputType(key.script)).toBe('v0_p2wpkh');
    expect(esploraOutputType(p2wshScript(key.pub))).toBe('v0_p2wsh');
    expect(esploraOutputType(compileScript([OP.OP_HASH160, hash160(key.pub), OP.OP_EQUAL]))).toBe('p2sh');
    expect(esploraOutputType(compileScript([OP.OP_1, new Uint8Array(32)]))).toBe('v1_p2tr');
    expect(esploraOutputType(bytes(0x6a, 0x01, 0x00))).toBe('op_return');
    expect(esploraOutputType(bytes(0x50, 0x51))).toBe('provably_unspendable');
    expect(esploraOutputType(bytes(0x65))).toBe('provably_unspendable');
    expect(esploraOutputType(bytes(0x51))).toBe('unknown');
  });
});

describe('inner scripts of P2SH and P2WSH spends', () => {
  const key = testKey('inner');
  const witnessScript = compileScript([key.pub, OP.OP_CHECKSIG]);
  const sig = new Uint8Array(71).fill(0x30);

  /** txJson of a one-input transaction spending `prevoutScript` with this scriptSig and witness. */
  function inputJson(prevoutScript: Uint8Array, scriptSig: Uint8Array, witness: Uint8Array[]): Record<string, unknown> {
    const raw = encodeTx({
      version: 2,
      inputs: [{ txid: 'ab'.repeat(32), index: 1, scriptSig, sequence: 0xffff_fffe, witness }],
      outputs: [{ value: 1000n, script: key.script }],
      lockTime: 0,
    });
    const decoded = decodeTransaction(raw);
    const chainTx: ChainTransaction = {
      txid: decoded.txid,
      version: 2,
      locktime: 0,
      inputs: [{ txid: 'ab'.repeat(32), index: 1, sequence: 0xffff_fffe, witness, prevout: { script: prevoutScript, value: 2000n } }],
      outputs: [{ script: key.script, value: 1000n }],
      fee: 1000n,
      weight: decoded.weight,
      status: { confirmed: false },
    };
    return (txJson(chainTx, decoded, REGTEST) as { vin: Record<string, unknown>[] }).vin[0]!;
  }

  it('shows the witnessScript of a P2WSH spend', () => {
    const vin = inputJson(p2wshScript(witnessScript), new Uint8Array(0), [sig, witnessScript]);
    expect(vin['inner_witnessscript_asm']).toBe(`OP_PUSHBYTES_33 ${bytesToHex(key.pub)} OP_CHECKSIG`);
    expect(vin).not.toHaveProperty('inner_redeemscript_asm');
    expect(vin['scriptsig']).toBe('');
    expect(vin['scriptsig_asm']).toBe('');
  });

  it('shows both scripts of a P2SH-P2WSH spend, and only the redeemScript of a plain P2SH one', () => {
    const redeem = p2wshScript(witnessScript);
    const p2sh = compileScript([OP.OP_HASH160, hash160(redeem), OP.OP_EQUAL]);
    const nested = inputJson(p2sh, compileScript([redeem]), [sig, witnessScript]);
    expect(nested['inner_redeemscript_asm']).toBe(scriptAsm(redeem));
    expect(nested['inner_redeemscript_asm']).toMatch(/^OP_0 OP_PUSHBYTES_32 [0-9a-f]{64}$/);
    expect(nested['inner_witnessscript_asm']).toBe(scriptAsm(witnessScript));
    expect((nested['prevout'] as Record<string, unknown>)['scriptpubkey_type']).toBe('p2sh');
    expect((nested['prevout'] as Record<string, unknown>)['scriptpubkey_address']).toBe(scriptToAddress(p2sh, REGTEST));

    const multisig = compileScript([OP.OP_1, key.pub, OP.OP_1, OP.OP_CHECKMULTISIG]);
    const plain = inputJson(compileScript([OP.OP_HASH160, hash160(multisig), OP.OP_EQUAL]), compileScript([OP.OP_0, sig, multisig]), []);
    expect(plain['inner_redeemscript_asm']).toBe(`OP_PUSHNUM_1 OP_PUSHBYTES_33 ${bytesToHex(key.pub)} OP_PUSHNUM_1 OP_CHECKMULTISIG`);
    expect(plain).not.toHaveProperty('inner_witnessscript_asm');
    expect(plain).not.toHaveProperty('witness');
  });
});

describe('fee estimates', () => {
  it('fill every documented Esplora target from the nearest lower one', () => {
    expect(ESPLORA_FEE_TARGETS).toEqual([...Array.from({ length: 25 }, (_, i) => i + 1), 144, 504, 1008]);
    const filled = completeFeeEstimates({ 2: 5, 10: 3, 50: 2 });
    expect(filled).toMatchObject({ 1: 5, 2: 5, 9: 5, 10: 3, 25: 3, 50: 2, 144: 2, 1008: 2 });
    expect(Object.keys(filled).map(Number).sort((a, b) => a - b)).toEqual([...ESPLORA_FEE_TARGETS.slice(0, 25), 50, 144, 504, 1008]);
    expect(() => completeFeeEstimates({})).toThrow(RangeError);
  });
});

describe('devnet Esplora JSON over HTTP', () => {
  let dir: string;
  let devnet: Devnet;
  let client: DevnetClient;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chand-esplora-'));
    devnet = await devnetAt(dir, { noSync: true, initialBlocks: 2 });
    await devnet.start();
    client = new DevnetClient({ baseUrl: devnet.url, network: REGTEST });
  });
  afterAll(async () => {
    await devnet?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function get(path: string): Promise<{ status: number; text: string; type: string | null }> {
    const response = await fetch(`${devnet.url}${path}`);
    return { status: response.status, text: await response.text(), type: response.headers.get('content-type') };
  }
  async function getJson(path: string): Promise<Record<string, unknown>> {
    const reply = await get(path);
    expect(reply.status, reply.text).toBe(200);
    return JSON.parse(reply.text) as Record<string, unknown>;
  }

  it('serves the genesis coinbase exactly as electrs does, field for field and in order', async () => {
    const expected = {
      txid: GENESIS_TXID,
      version: 1,
      locktime: 0,
      vin: [
        {
          txid: '00'.repeat(32),
          vout: 0xffff_ffff,
          prevout: null,
          scriptsig: `04ffff001d0104${'45'}${HEADLINE_HEX}`,
          scriptsig_asm: `OP_PUSHBYTES_4 ffff001d OP_PUSHBYTES_1 04 OP_PUSHBYTES_69 ${HEADLINE_HEX}`,
          is_coinbase: true,
          sequence: 0xffff_ffff,
        },
      ],
      vout: [
        {
          scriptpubkey: `41${GENESIS_PUBKEY}ac`,
          scriptpubkey_asm: `OP_PUSHBYTES_65 ${GENESIS_PUBKEY} OP_CHECKSIG`,
          scriptpubkey_type: 'p2pk',
          value: 5_000_000_000,
        },
      ],
      size: 204,
      weight: 816,
      fee: 0,
      status: { confirmed: true, block_height: 0, block_hash: REGTEST_GENESIS_HASH, block_time: 1_296_688_602 },
    };
    const reply = await get(`/tx/${GENESIS_TXID}`);
    expect(reply.type).toBe('application/json');
    expect(reply.text).toBe(JSON.stringify(expected));
  });

  it('serves the genesis block with size, weight, mediantime and difficulty, in electrs order', async () => {
    const reply = await get(`/block/${REGTEST_GENESIS_HASH}`);
    expect(reply.text).toBe(
      JSON.stringify({
        id: REGTEST_GENESIS_HASH,
        height: 0,
        version: 1,
        timestamp: 1_296_688_602,
        tx_count: 1,
        size: 285,
        weight: 1140,
        merkle_root: GENESIS_TXID,
        previousblockhash: null,
        mediantime: 1_296_688_602,
        nonce: 2,
        bits: 0x207f_ffff,
        difficulty: 4.6565423739069247e-10,
      }),
    );
  });

  it('reports the size and weight a mined block really has, and its median time past', async () => {
    const key = testKey('block size');
    await client.faucet(key.address, 40_000n);
    await client.faucet(key.address, 50_000n);
    const [hash] = await client.mine(1);
    const block = await getJson(`/block/${hash}`);
    const txids = JSON.parse((await get(`/block/${hash}/txids`)).text) as string[];
    expect(txids).toHaveLength(3);
    let size = 80 + 1;
    let weight = 4 * (80 + 1);
    for (const txid of txids) {
      const raw = Buffer.from((await get(`/tx/${txid}/hex`)).text, 'hex');
      const base = encodeTx(decodeTx(raw), { witness: false }).length;
      size += raw.length;
      weight += 3 * base + raw.length;
    }
    const height = block['height'] as number;
    const times: number[] = [];
    for (let h = Math.max(0, height - 10); h <= height; h++) {
      const blockHash = (await get(`/block-height/${h}`)).text;
      times.push((await getJson(`/block/${blockHash}`))['timestamp'] as number);
    }
    times.sort((a, b) => a - b);
    expect(block).toMatchObject({ id: hash, tx_count: 3, size, weight, mediantime: times[Math.floor(times.length / 2)], difficulty: 4.6565423739069247e-10 });
    expect(block['previousblockhash']).toBe((await get(`/block-height/${height - 1}`)).text);
    expect(Object.keys(block)).toEqual([
      'id',
      'height',
      'version',
      'timestamp',
      'tx_count',
      'size',
      'weight',
      'merkle_root',
      'previousblockhash',
      'mediantime',
      'nonce',
      'bits',
      'difficulty',
    ]);
  });

  it('shows a mined coinbase with its real scriptSig, witness reserved value and witness commitment', async () => {
    const hash = (await get('/block-height/1')).text;
    const [coinbaseTxid] = JSON.parse((await get(`/block/${hash}/txids`)).text) as string[];
    const tx = await getJson(`/tx/${coinbaseTxid}`);
    const raw = decodeTransaction(Buffer.from((await get(`/tx/${coinbaseTxid}/hex`)).text, 'hex'));
    const [vin] = tx['vin'] as Record<string, unknown>[];
    expect(vin).toEqual({
      txid: '00'.repeat(32),
      vout: 0xffff_ffff,
      prevout: null,
      scriptsig: bytesToHex(raw.inputs[0]!.scriptSig),
      scriptsig_asm: `OP_PUSHNUM_1 OP_PUSHBYTES_12 ${bytesToHex(new TextEncoder().encode('chand devnet'))}`,
      witness: ['00'.repeat(32)],
      is_coinbase: true,
      sequence: 0xffff_ffff,
    });
    expect(vin!['scriptsig']).not.toBe('');
    const vout = tx['vout'] as Record<string, unknown>[];
    expect(vout[0]).toMatchObject({ scriptpubkey_type: 'v0_p2wpkh', scriptpubkey_address: expect.stringMatching(/^bcrt1q/) });
    expect(vout[1]).toMatchObject({ scriptpubkey_type: 'op_return', value: 0, scriptpubkey_asm: expect.stringMatching(/^OP_RETURN OP_PUSHBYTES_36 aa21a9ed[0-9a-f]{64}$/) });
    expect(vout[1]).not.toHaveProperty('scriptpubkey_address');
  });

  it('shows the prevout of a spend with its address, and the spent witness; EsploraClient reads it all', async () => {
    const alice = testKey('prevout alice');
    const bob = testKey('prevout bob');
    const funding = await client.faucet(alice.address, 100_000n);
    await client.mine(1);
    const raw = buildTx({ inputs: [{ ...funding, value: 100_000n, key: alice }], outputs: [{ script: bob.script, value: 99_000n }] });
    const txid = await client.broadcast(raw);
    const tx = await getJson(`/tx/${txid}`);
    const decoded = decodeTransaction(raw);
    expect((tx['vin'] as unknown[])[0]).toEqual({
      txid: funding.txid,
      vout: funding.index,
      prevout: {
        scriptpubkey: bytesToHex(alice.script),
        scriptpubkey_asm: `OP_0 OP_PUSHBYTES_20 ${bytesToHex(alice.script.subarray(2))}`,
        scriptpubkey_type: 'v0_p2wpkh',
        scriptpubkey_address: alice.address,
        value: 100_000,
      },
      scriptsig: '',
      scriptsig_asm: '',
      witness: decoded.inputs[0]!.witness.map(bytesToHex),
      is_coinbase: false,
      sequence: 0xffff_fffd,
    });
    expect(tx).toMatchObject({ fee: 1000, size: raw.length, weight: decoded.weight, status: { confirmed: false } });
    expect(Object.keys(tx)).toEqual(['txid', 'version', 'locktime', 'vin', 'vout', 'size', 'weight', 'fee', 'status']);

    const read = await client.getTransaction(txid);
    expect(read).toMatchObject({ txid, fee: 1000n, weight: decoded.weight, status: { confirmed: false } });
    expect(read!.inputs[0]).toMatchObject({ txid: funding.txid, index: funding.index, prevout: { script: alice.script, value: 100_000n } });
    expect(read!.inputs[0]!.witness.map(bytesToHex)).toEqual(decoded.inputs[0]!.witness.map(bytesToHex));
    expect(read!.outputs).toEqual([{ script: bob.script, value: 99_000n, address: bob.address }]);
    const genesis = await client.getTransaction(GENESIS_TXID);
    expect(genesis!.inputs[0]).not.toHaveProperty('prevout');
    expect(genesis!.inputs[0]!.witness).toEqual([]);
    expect(genesis!.outputs[0]).not.toHaveProperty('address');
  });

  it('shows the witnessScript of a P2WSH spend as inner_witnessscript_asm', async () => {
    const owner = testKey('p2wsh owner');
    const witnessScript = compileScript([owner.pub, OP.OP_CHECKSIG]);
    const address = scriptToAddress(p2wshScript(witnessScript), REGTEST)!;
    const funding = await client.faucet(address, 60_000n);
    await client.mine(1);
    const raw = buildTx({
      inputs: [{ ...funding, value: 60_000n, witnessScript, witness: (sign) => [sign(owner)] }],
      outputs: [{ script: owner.script, value: 59_000n }],
    });
    const tx = await getJson(`/tx/${await client.broadcast(raw)}`);
    const [vin] = tx['vin'] as Record<string, unknown>[];
    expect(vin!['inner_witnessscript_asm']).toBe(`OP_PUSHBYTES_33 ${bytesToHex(owner.pub)} OP_CHECKSIG`);
    expect(vin!['prevout']).toMatchObject({ scriptpubkey_type: 'v0_p2wsh', scriptpubkey_address: address });
    expect(Object.keys(vin!)).toEqual(['txid', 'vout', 'prevout', 'scriptsig', 'scriptsig_asm', 'witness', 'is_coinbase', 'sequence', 'inner_witnessscript_asm']);
  });

  it('reports fee estimates for every documented target', async () => {
    const estimates = await getJson('/fee-estimates');
    expect(Object.keys(estimates).map(Number)).toEqual([...ESPLORA_FEE_TARGETS]);
    expect(Object.values(estimates).every((rate) => typeof rate === 'number' && rate >= 1)).toBe(true);
    const read = await client.getFeeEstimates();
    expect(Object.keys(read).map(Number)).toEqual([...ESPLORA_FEE_TARGETS]);
  });

  it('answers a malformed txid, hash, number or address with 400 and electrs short reason', async () => {
    const txid = GENESIS_TXID;
    const invalidHex = { status: 400, text: 'Invalid hex string' };
    for (const path of [
      '/tx/xyz',
      `/tx/${txid.slice(1)}`,
      `/tx/${txid}00`,
      `/tx/${'zz'.repeat(32)}/status`,
      '/tx/xyz/hex',
      '/tx/xyz/raw',
      '/tx/xyz/outspends',
      '/tx/xyz/outspend/0',
      '/block/xyz',
      `/block/${REGTEST_GENESIS_HASH.slice(2)}/header`,
      '/block/xyz/txids',
    ]) {
      expect({ path, ...(await get(path)) }).toMatchObject({ path, ...invalidHex, type: expect.stringMatching(/^text\/plain/) });
    }
    const invalidNumber = { status: 400, text: 'Invalid number' };
    for (const path of [
      `/tx/${txid}/outspend/abc`,
      `/tx/${txid}/outspend/-1`,
      `/tx/${txid}/outspend/4294967296`,
      `/tx/${txid}/outspend/1.5`,
      '/block-height/abc',
      '/block-height/-1',
      '/block-height/0x10',
      '/block-height/18446744073709551616',
    ]) {
      expect({ path, ...(await get(path)) }).toMatchObject({ path, ...invalidNumber });
    }
    // Well-formed but unknown stays 404 (or Esplora's "unspent"/"unconfirmed" answers).
    expect(await get('/block-height/4294967296')).toMatchObject({ status: 404, text: 'Block not found' });
    expect(await get('/block-height/18446744073709551615')).toMatchObject({ status: 404, text: 'Block not found' });
    expect(await get(`/tx/${'ab'.repeat(32)}`)).toMatchObject({ status: 404, text: 'Transaction not found' });
    expect(await get(`/block/${'ab'.repeat(32)}`)).toMatchObject({ status: 404, text: 'Block not found' });
    expect(await get(`/tx/${txid}/outspend/+0`)).toMatchObject({ status: 200, text: '{"spent":false}' });
    expect((await get(`/tx/${txid.toUpperCase()}`)).status).toBe(200);

    expect(await get('/address/not-an-address/utxo')).toMatchObject({ status: 400, text: 'Invalid Bitcoin address' });
    expect(await get('/address/%ZZ/utxo')).toMatchObject({ status: 400, text: 'Invalid Bitcoin address' });
    expect(await get('/address/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/utxo')).toMatchObject({ status: 400, text: 'Address on invalid network' });
    expect(await get(`/address/${testKey('valid').address}/utxo`)).toMatchObject({ status: 200, text: '[]' });
    expect(await get('/nope')).toMatchObject({ status: 404, text: 'endpoint does not exist "/nope"' });
  });
});
