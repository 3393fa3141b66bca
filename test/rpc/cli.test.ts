/**
 * The node-client commands of `chand` (src/cli/node-client-commands.ts) as a user runs them:
 * real `chand` processes (this checkout, see test/support/spawn-args.ts) against an RpcServer started here over the
 * NodeApi test double (support/fake-node.ts), found through a real data directory's rpc.json
 * and rpc.token. Checks --json output (exactly the result), human output (key: value lines,
 * aligned tables), what reaches the node, and the one-line failures with exit code 1 —
 * NODE_NOT_RUNNING when no node is there. Every child is bounded by a timeout and killed by PID.
 */
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChandError, ErrorCode } from '../../src/errors.js';
import { ensureRpcToken, RPC_ENDPOINT_FILE, RPC_TOKEN_FILE, writeRpcEndpoint } from '../../src/rpc/endpoint-files.js';
import { RpcServer } from '../../src/rpc/server.js';
import { p2wpkh, Transaction } from '@scure/btc-signer';
import { addressToScript, REGTEST } from '../../src/chain/network.js';
import { ADDRESS, BALANCE, CHANNELS, EXTERNAL_FUNDING, FakeNode, NODE_INFO, OPENED, OPENED_EXTERNAL, PEER, PEER_ID, PSBT_BASE64 } from './support/fake-node.js';
import { chand, startFakeNodeServer, type FakeNodeServer, type Run } from './support/cli-runner.js';

/** Exit 1 and exactly one stderr line `chand: CODE: ...`, nothing on stdout, no stack. */
function expectOneLineFailure(run: Run, code: string): string {
  expect(run.status, run.stderr).toBe(1);
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^chand: ${code}: \\S`));
  expect(run.stdout).toBe('');
  return lines[0]!;
}

let fake: FakeNodeServer;
let work: string;
let datadir: string;
let api: FakeNode;

beforeAll(async () => {
  fake = await startFakeNodeServer('chand-rpc-cli-');
  ({ work, datadir, api } = fake);
});

afterAll(async () => {
  await fake?.stop();
});

describe('chand node-client commands', { timeout: 180_000 }, () => {
  it('info --json prints the node_info result exactly; info prints key: value lines', async () => {
    const json = await chand(['info', '--json', '--datadir', datadir]);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(NODE_INFO);
    // --datadir from the environment
    const human = await chand(['info'], { CHAND_DATADIR: datadir });
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout.split('\n')).toEqual([
      `node_id: ${NODE_INFO.node_id}`,
      'network: regtest',
      `chain_hash: ${NODE_INFO.chain_hash}`,
      'version: 0.1.0',
      'listen_addresses: 127.0.0.1:9735',
      'block_height: 101',
      'peers: 1',
      'pending_channels: 1',
      'open_channels: 1',
      'features: 1, 5, 7',
      '',
    ]);
  });

  it('--datadir defaults to $CHAND_DATADIR, else ~/.chand', async () => {
    const home = join(work, 'home');
    await mkdir(join(home, '.chand'), { recursive: true });
    await copyFile(join(datadir, RPC_TOKEN_FILE), join(home, '.chand', RPC_TOKEN_FILE));
    await copyFile(join(datadir, RPC_ENDPOINT_FILE), join(home, '.chand', RPC_ENDPOINT_FILE));
    const viaHome = await chand(['wallet', 'address'], { HOME: home });
    expect(viaHome.status, viaHome.stderr).toBe(0);
    expect(viaHome.stdout).toBe(`${ADDRESS}\n`);
    // The flag wins over the environment, which wins over ~/.chand.
    const flagWins = await chand(['wallet', 'address', '--datadir', join(work, 'nothing-here')], { HOME: home, CHAND_DATADIR: datadir });
    expect(expectOneLineFailure(flagWins, 'NODE_NOT_RUNNING')).toContain('nothing-here');
    const envWins = await chand(['wallet', 'address'], { HOME: join(work, 'no-home'), CHAND_DATADIR: datadir });
    expect(envWins.stdout).toBe(`${ADDRESS}\n`);
  });

  it('peer connect / list / disconnect send the right params and print tables', async () => {
    api.calls.length = 0;
    const connect = await chand(['peer', 'connect', `${PEER_ID.toUpperCase()}@127.0.0.1:9736`, '--json', '--datadir', datadir]);
    expect(connect.status, connect.stderr).toBe(0);
    expect(JSON.parse(connect.stdout)).toEqual({ ...PEER, address: '127.0.0.1:9736' });
    const list = await chand(['peer', 'list', '--datadir', datadir]);
    expect(list.status, list.stderr).toBe(0);
    const [header, row, end] = list.stdout.split('\n');
    expect(header).toMatch(/^PEER_ID {61}ADDRESS {9}DIRECTION {2}ONLINE_SINCE$/);
    expect(row).toBe(`${PEER_ID}  127.0.0.1:9736  outbound   2023-11-14T22:13:20.000Z`);
    expect(end).toBe('');
    const disconnect = await chand(['peer', 'disconnect', PEER_ID, '--datadir', datadir]);
    expect(disconnect.stdout).toBe(`disconnected ${PEER_ID}\n`);
    expect(api.calls).toEqual([
      { method: 'connectPeer', params: { peer_id: PEER_ID, address: '127.0.0.1:9736' } },
      { method: 'listPeers', params: undefined },
      { method: 'disconnectPeer', params: { peer_id: PEER_ID } },
    ]);
  });

  it('channel open passes amounts as given and prints the result; bad input comes back as INVALID_PARAMS', async () => {
    api.calls.length = 0;
    const open = await chand(['channel', 'open', PEER_ID, '500000', '--push-msat', '9007199254740993', '--fee-rate', '2.5', '--datadir', datadir]);
    expect(open.status, open.stderr).toBe(0);
    expect(open.stdout).toBe(
      [`temporary_channel_id: ${OPENED.temporary_channel_id}`, `channel_id: ${OPENED.channel_id}`, `funding_txid: ${OPENED.funding_txid}`, 'funding_output_index: 0', ''].join('\n'),
    );
    expect(api.calls).toEqual([
      { method: 'openChannel', params: { peer_id: PEER_ID, funding_amount_sat: 500_000n, push_amount_msat: 9_007_199_254_740_993n, fee_rate_sat_per_vb: 2.5 } },
    ]);
    const bad = expectOneLineFailure(await chand(['channel', 'open', PEER_ID, 'lots', '--datadir', datadir]), 'INVALID_PARAMS');
    expect(bad).toMatch(/params\.funding_amount_sat: expected an integer amount in sat >= 1 .*got "lots"/);
    const feeRate = await chand(['channel', 'open', PEER_ID, '1000', '--fee-rate', 'fast', '--datadir', datadir]);
    expect(feeRate.status).toBe(2);
    expect(feeRate.stderr).toMatch(/^chand: INVALID_INPUT: expected --fee-rate as a positive number of sat\/vB, got "fast"\n$/);
    expect(api.calls).toHaveLength(1);
  });

  it('channel list prints an aligned table (numbers right-aligned) or --json; --peer and --include-closed reach the node', async () => {
    api.calls.length = 0;
    const human = await chand(['channel', 'list', '--peer', PEER_ID, '--include-closed', '--datadir', datadir]);
    expect(human.status, human.stderr).toBe(0);
    const lines = human.stdout.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^CHANNEL_ID {56}STATE {9}CAPACITY_SAT  LOCAL_MSAT  REMOTE_MSAT  CONF  PEER_ID {61}NOTE$/);
    expect(lines[1]).toBe(`${'aa'.repeat(32)}  open                500000   499000000      1000000   6/3  ${PEER_ID}`);
    expect(lines[2]).toBe(`${'cc'.repeat(32)}  pending_open         20000           0     20000000   1/3  ${PEER_ID}  waiting for 2 more confirmations`);
    expect(lines[3]).toBe(`${'ee'.repeat(32)}  pending_open        300000   300000000            0   0/3  ${PEER_ID}  waiting for the signed funding transaction`);
    const json = await chand(['channel', 'list', '--json', '--datadir', datadir]);
    expect(JSON.parse(json.stdout)).toEqual({ channels: CHANNELS });
    expect(api.calls.map((c) => c.params)).toEqual([{ peer_id: PEER_ID, include_closed: true }, {}]);
  });

  it('channel open --external sends the funding source as given, prints the PSBT and writes it 0600 with --psbt-out', async () => {
    api.calls.length = 0;
    const psbtOut = join(work, 'funding.psbt');
    await writeFile(psbtOut, 'old content', { mode: 0o644 });
    const txidA = 'a1'.repeat(32);
    const open = await chand([
      'channel', 'open', PEER_ID, '300000', '--external',
      '--utxo', `${txidA}:0`, '--utxo', `${txidA.toUpperCase()}:4294967295`,
      '--change-address', ADDRESS, '--fee-rate', '2', '--timeout-secs', '3600', '--push-msat', '1000',
      '--psbt-out', psbtOut, '--datadir', datadir,
    ]);
    expect(open.status, open.stderr).toBe(0);
    expect(open.stdout).toBe(
      [
        `temporary_channel_id: ${OPENED_EXTERNAL.temporary_channel_id}`,
        `channel_id: ${OPENED_EXTERNAL.channel_id}`,
        `funding_txid: ${OPENED_EXTERNAL.funding_txid}`,
        'funding_output_index: 0',
        `psbt: ${PSBT_BASE64}`,
        `expires_at_ms: ${OPENED_EXTERNAL.expires_at_ms}`,
        `psbt_file: ${psbtOut}`,
        '',
      ].join('\n'),
    );
    expect(await readFile(psbtOut, 'utf8')).toBe(`${PSBT_BASE64}\n`);
    expect((await stat(psbtOut)).mode & 0o777).toBe(0o600);
    const json = await chand(['channel', 'open', PEER_ID, '300000', '--external', '--from-address', ADDRESS, '--change-address', ADDRESS, '--fee-rate', '1.5', '--json', '--datadir', datadir]);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(OPENED_EXTERNAL);
    expect(api.calls).toEqual([
      {
        method: 'openChannelWithExternalFunding',
        params: {
          peer_id: PEER_ID,
          funding_amount_sat: 300_000n,
          funding_source: { utxos: [{ txid: txidA, vout: 0 }, { txid: txidA, vout: 4294967295 }] },
          change_address: ADDRESS,
          fee_rate_sat_per_vb: 2,
          timeout_secs: 3600,
          push_amount_msat: 1000n,
        },
      },
      { method: 'openChannelWithExternalFunding', params: { peer_id: PEER_ID, funding_amount_sat: 300_000n, funding_source: { address: ADDRESS }, change_address: ADDRESS, fee_rate_sat_per_vb: 1.5 } },
    ]);
  });

  it('channel open: flag combinations that are no open fail before calling the node (exit 2); missing params come back from the node', async () => {
    api.calls.length = 0;
    const invalid = async (args: string[], message: RegExp): Promise<void> => {
      const run = await chand(['channel', 'open', PEER_ID, '300000', ...args, '--datadir', datadir]);
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    };
    await invalid(['--external', '--change-address', ADDRESS, '--fee-rate', '2'], /^chand: INVALID_INPUT: expected either --utxo TXID:VOUT \(repeatable\) or --from-address ADDR with --external, got neither\n$/);
    await invalid(['--external', '--utxo', `${'a1'.repeat(32)}:0`, '--from-address', ADDRESS], /got both\n$/);
    await invalid(['--external', '--utxo', 'a1a1'], /^chand: INVALID_INPUT: expected --utxo as TXID:VOUT, got "a1a1"\n$/);
    await invalid(['--external', '--utxo', `${'a1'.repeat(32)}:-1`], /expected --utxo as TXID:VOUT/);
    await invalid(['--external', '--from-address', ADDRESS, '--timeout-secs', '10m'], /expected --timeout-secs as a whole number of seconds, got "10m"/);
    await invalid(['--from-address', ADDRESS, '--psbt-out', join(work, 'never.psbt')], /^chand: INVALID_INPUT: expected --external with --from-address, --psbt-out, got a wallet-funded open\n$/);
    expect(api.calls).toEqual([]);
    const noChange = await chand(['channel', 'open', PEER_ID, '300000', '--external', '--from-address', ADDRESS, '--fee-rate', '2', '--datadir', datadir]);
    expect(expectOneLineFailure(noChange, 'INVALID_PARAMS')).toMatch(/params\.change_address: required/);
    const badTxid = await chand(['channel', 'open', PEER_ID, '300000', '--external', '--utxo', `${'a1'.repeat(32)}:0`, '--utxo', 'xyz:1', '--change-address', ADDRESS, '--fee-rate', '2', '--datadir', datadir]);
    expect(expectOneLineFailure(badTxid, 'INVALID_PARAMS')).toMatch(/params\.funding_source\.utxos\[1\]\.txid: expected 32 bytes as 64 hex characters, got "xyz"/);
    expect(api.calls).toEqual([]);
  });

  it('channel submit-psbt reads a base64 PSBT, a binary PSBT, a hex transaction or stdin; channel funding shows the flow', async () => {
    api.calls.length = 0;
    const channelId = 'ee'.repeat(32);
    const base64File = join(work, 'signed.psbt');
    const wrapped = `${PSBT_BASE64.slice(0, 8)}\n${PSBT_BASE64.slice(8)}\n`; // line-wrapped base64 is fine
    await writeFile(base64File, wrapped);
    const binaryFile = join(work, 'signed.bin');
    await writeFile(binaryFile, Buffer.from(PSBT_BASE64, 'base64'));
    const txFile = join(work, 'signed.hex');
    const rawTx = `02000000${'00'.repeat(40)}`;
    await writeFile(txFile, `${rawTx.toUpperCase()}\n`);
    const expected = [
      `channel_id: ${channelId}`,
      `state: ${EXTERNAL_FUNDING.state}`,
      `funding_txid: ${EXTERNAL_FUNDING.funding_txid}`,
      `psbt: ${PSBT_BASE64}`,
      `expires_at_ms: ${EXTERNAL_FUNDING.expires_at_ms}`,
      'confirmations: 1',
      'confirmations_required: 3',
      `reason: ${EXTERNAL_FUNDING.reason}`,
      '',
    ].join('\n');
    for (const file of [base64File, binaryFile, txFile]) {
      const run = await chand(['channel', 'submit-psbt', channelId.toUpperCase(), file, '--datadir', datadir]);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toBe(expected);
    }
    const viaStdin = await chand(['channel', 'submit-psbt', channelId, '-', '--json', '--datadir', datadir], {}, `${PSBT_BASE64}\n`);
    expect(viaStdin.status, viaStdin.stderr).toBe(0);
    expect(JSON.parse(viaStdin.stdout)).toEqual({ ...EXTERNAL_FUNDING, channel_id: channelId });
    const funding = await chand(['channel', 'funding', channelId, '--datadir', datadir]);
    expect(funding.stdout).toBe(expected);
    expect(api.calls).toEqual([
      { method: 'submitSignedFundingTx', params: { channel_id: channelId, psbt: PSBT_BASE64 } },
      { method: 'submitSignedFundingTx', params: { channel_id: channelId, psbt: PSBT_BASE64 } },
      { method: 'submitSignedFundingTx', params: { channel_id: channelId, tx: rawTx } },
      { method: 'submitSignedFundingTx', params: { channel_id: channelId, psbt: PSBT_BASE64 } },
      { method: 'getExternalFunding', params: { channel_id: channelId } },
    ]);
    api.calls.length = 0;
    const garbage = join(work, 'garbage.txt');
    await writeFile(garbage, 'not a psbt at all');
    const bad = await chand(['channel', 'submit-psbt', channelId, garbage, '--datadir', datadir]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(`chand: INVALID_INPUT: expected ${garbage} to hold a base64 PSBT, a binary PSBT or a hex transaction, got "notapsbtatall"\n`);
    const empty = await chand(['channel', 'submit-psbt', channelId, '-', '--datadir', datadir], {}, '');
    expect(empty.stderr).toMatch(/^chand: INVALID_INPUT: expected a PSBT in stdin, got an empty input\n$/);
    api.failWith('submitSignedFundingTx', () => new ChandError(ErrorCode.EXTERNAL_FUNDING_EXPIRED, 'the deadline passed'));
    try {
      expect(expectOneLineFailure(await chand(['channel', 'submit-psbt', channelId, base64File, '--datadir', datadir]), 'EXTERNAL_FUNDING_EXPIRED')).toBe('chand: EXTERNAL_FUNDING_EXPIRED: the deadline passed');
    } finally {
      api.succeed('submitSignedFundingTx');
    }
    expect(api.calls).toHaveLength(1);
  });

  it('a PSBT file → chand signer sign-psbt FILE --out FILE → channel submit-psbt FILE compose (stdin and inline base64 too)', async () => {
    api.calls.length = 0;
    // A signer wallet and an unsigned PSBT spending a coin of its first address (sign-psbt needs no chain).
    const walletFile = join(work, 'signer.json');
    expect((await chand(['signer', 'create', '--wallet', walletFile])).status).toBe(0);
    const signerAddress = (await chand(['signer', 'address', '--wallet', walletFile])).stdout.trim();
    expect(signerAddress).toMatch(/^bcrt1q/);
    const unsigned = new Transaction();
    unsigned.addInput({ txid: new Uint8Array(32).fill(7), index: 1, witnessUtxo: { script: addressToScript(signerAddress, REGTEST), amount: 500_000n } });
    unsigned.addOutput({ script: p2wpkh(new Uint8Array(33).fill(2)).script, amount: 400_000n });
    const unsignedFile = join(work, 'to-sign.psbt');
    await writeFile(unsignedFile, `${Buffer.from(unsigned.toPSBT()).toString('base64')}\n`);
    const signedFile = join(work, 'to-submit.psbt');
    const sign = await chand(['signer', 'sign-psbt', unsignedFile, '--out', signedFile, '--wallet', walletFile]);
    expect(sign.status, sign.stderr).toBe(0);
    expect(sign.stdout).toBe(`signed 1 input; wrote ${signedFile}\n`);
    expect((await stat(signedFile)).mode & 0o777).toBe(0o600);
    const signedBase64 = (await readFile(signedFile, 'utf8')).trim();
    expect(Transaction.fromPSBT(Buffer.from(signedBase64, 'base64')).getInput(0).partialSig).toHaveLength(1);
    // The same from stdin, printed: the same signature (RFC 6979), and inline base64 too.
    const viaStdin = await chand(['signer', 'sign-psbt', '-', '--wallet', walletFile], {}, await readFile(unsignedFile, 'utf8'));
    expect(viaStdin.stdout.trim()).toBe(signedBase64);
    const inline = await chand(['signer', 'sign-psbt', Buffer.from(unsigned.toPSBT()).toString('base64'), '--wallet', walletFile]);
    expect(inline.stdout.trim()).toBe(signedBase64);
    const both = await chand(['signer', 'sign-psbt', unsignedFile, '--out', signedFile, '--broadcast', '--wallet', walletFile]);
    expect(both.stderr).toBe('chand: INVALID_INPUT: expected one of --out and --broadcast, got both\n');
    const submit = await chand(['channel', 'submit-psbt', OPENED_EXTERNAL.channel_id, signedFile, '--datadir', datadir]);
    expect(submit.status, submit.stderr).toBe(0);
    expect(api.calls).toEqual([{ method: 'submitSignedFundingTx', params: { channel_id: OPENED_EXTERNAL.channel_id, psbt: signedBase64 } }]);
  });

  it('wallet address and balance', async () => {
    const address = await chand(['wallet', 'address', '--datadir', datadir]);
    expect(address.stdout).toBe(`${ADDRESS}\n`);
    const balance = await chand(['wallet', 'balance', '--datadir', datadir]);
    expect(balance.stdout).toBe(`confirmed_sat: ${BALANCE.confirmed_sat}\nunconfirmed_sat: ${BALANCE.unconfirmed_sat}\nreserved_sat: ${BALANCE.reserved_sat}\n`);
    expect(JSON.parse((await chand(['wallet', 'balance', '--json', '--datadir', datadir])).stdout)).toEqual(BALANCE);
  });

  it('a node error is one line with its code and exit 1', async () => {
    api.failWith('disconnectPeer', () => new ChandError(ErrorCode.PEER_NOT_CONNECTED, `peer ${PEER_ID} is not connected`));
    const line = expectOneLineFailure(await chand(['peer', 'disconnect', PEER_ID, '--datadir', datadir]), 'PEER_NOT_CONNECTED');
    expect(line).toBe(`chand: PEER_NOT_CONNECTED: peer ${PEER_ID} is not connected`);
  });

  it('no node for the datadir: one line NODE_NOT_RUNNING and exit 1 (no files, or a stale endpoint)', async () => {
    const empty = join(work, 'empty');
    const line = expectOneLineFailure(await chand(['info', '--datadir', empty]), 'NODE_NOT_RUNNING');
    expect(line).toBe(`chand: NODE_NOT_RUNNING: no chand node is running for datadir ${empty} (start one with: chand node start --datadir ${empty})`);
    const stale = join(work, 'stale');
    const token = await ensureRpcToken(stale);
    const gone = new RpcServer({ api: new FakeNode(), host: '127.0.0.1', port: 0, token });
    const { url } = await gone.start();
    await gone.stop();
    await writeRpcEndpoint(stale, { url, pid: process.pid });
    expect(expectOneLineFailure(await chand(['channel', 'list', '--datadir', stale]), 'NODE_NOT_RUNNING')).toContain(`datadir ${stale}`);
  });

  it('`chand signer` is the standalone test wallet; `chand wallet` is the node client', async () => {
    const signer = await chand(['signer', '--help']);
    expect(signer.stdout.replace(/\s+/g, ' ')).toContain('a standalone BIP84 wallet that plays the external signer (PSBT) and faucet spender in tests');
    for (const sub of ['create', 'address', 'balance', 'utxos', 'send', 'sign-psbt']) expect(signer.stdout).toMatch(new RegExp(`\\n  ${sub}\\b`));
    const wallet = await chand(['wallet', '--help']);
    expect(wallet.stdout).toMatch(/\n {2}address\b/);
    expect(wallet.stdout).toMatch(/\n {2}balance\b/);
    expect(wallet.stdout).not.toMatch(/sign-psbt/);
  });
});
