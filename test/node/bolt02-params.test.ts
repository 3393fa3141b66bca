/**
 * BOLT 2 parameter checks over the wire, against real node processes. "Mallory" is a peer in
 * the test process (a PeerManager on 127.0.0.1 speaking BOLT 8) that sends what a buggy or
 * hostile implementation might:
 * - to Bob (acceptor): open_channel messages with one bad field each; Bob must answer each
 *   with an `error` for that temporary channel id naming the reason, and keep serving (a
 *   valid open_channel afterwards gets accept_channel);
 * - to Alice (initiator): an accept_channel with one bad field in answer to her open; her
 *   `open_channel` RPC must fail with CHANNEL_OPEN_FAILED naming the reason, Mallory must get
 *   an `error`, and nothing may stay reserved or stored.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyChain } from '../../src/bitcoin/key-chain.js';
import { bytesToHex } from '../../src/codec/bytes.js';
import { CHAIN_HASHES } from '../../src/linknode/store.js';
import { PeerManager } from '../../src/peer/peer-manager.js';
import type { PeerHandle } from '../../src/peer/types.js';
import { CHAND_CHANNEL_TYPE, encodeChannelType, Feature, FeatureVector } from '../../src/wire/features.js';
import type { AcceptChannel, OpenChannel, WireMessage } from '../../src/wire/types.js';
import { TestNetwork, waitFor, type TestNode } from '../support/test-network.js';

const CHAIN = CHAIN_HASHES.regtest;
let net: TestNetwork;
let alice: TestNode;
let bob: TestNode;
let mallory: PeerManager;
const inbox: Array<{ from: string; message: WireMessage }> = [];
let answerAccept: ((open: OpenChannel) => AcceptChannel) | undefined;
const keys = KeyChain.fromBip39Seed(new Uint8Array(32).fill(7), 'regtest');

beforeAll(async () => {
  net = await TestNetwork.start({ nodes: ['alice', 'bob'] });
  alice = net.node('alice');
  bob = net.node('bob');
  mallory = new PeerManager({
    nodeKey: randomBytes(32),
    chainHash: CHAIN,
    listen: { host: '127.0.0.1', port: 0 },
    channelHandler: {
      handle: async (peer: PeerHandle, message: WireMessage) => {
        inbox.push({ from: peer.nodeId, message });
        if (message.type === 'open_channel' && answerAccept !== undefined) await peer.send(answerAccept(message));
      },
    },
  });
  await mallory.start();
}, 120_000);

afterAll(async () => {
  await mallory?.stop();
  await net?.stop();
});

function basepoints(index: number) {
  const k = keys.channelKeys(index);
  return {
    fundingPubkey: k.funding.pubkey,
    revocationBasepoint: k.revocationBasepoint.pubkey,
    paymentBasepoint: k.paymentBasepoint.pubkey,
    delayedPaymentBasepoint: k.delayedPaymentBasepoint.pubkey,
    htlcBasepoint: k.htlcBasepoint.pubkey,
    firstPerCommitmentPoint: bytesToHex(keys.shachainProducer(k.shachainRoot).perCommitmentPoint(0n)),
  };
}

function validOpen(index: number): OpenChannel {
  return {
    type: 'open_channel',
    chainHash: CHAIN,
    temporaryChannelId: bytesToHex(randomBytes(32)),
    fundingSat: 500_000n,
    pushMsat: 0n,
    dustLimitSat: 546n,
    maxHtlcValueInFlightMsat: 500_000_000n,
    channelReserveSat: 5_000n,
    htlcMinimumMsat: 1n,
    feeratePerKw: 1000,
    toSelfDelay: 144,
    maxAcceptedHtlcs: 483,
    ...basepoints(index),
    channelFlags: 0,
    upfrontShutdownScript: new Uint8Array(0),
    channelType: encodeChannelType(CHAND_CHANNEL_TYPE),
  };
}

async function reply(from: string, id: string, type: 'error' | 'accept_channel'): Promise<WireMessage> {
  return waitFor(`${type} for ${id.slice(0, 8)}`, () => {
    const hit = inbox.find((m) => {
      if (m.from !== from || m.message.type !== type) return false;
      const ids = m.message as { temporaryChannelId?: string; channelId?: string };
      return ids.temporaryChannelId === id || ids.channelId === id;
    });
    return hit?.message;
  }, 15_000);
}

function text(m: WireMessage): string {
  return m.type === 'error' ? new TextDecoder().decode(m.data) : `(${m.type})`;
}

describe('Bob, as acceptor, refuses a bad open_channel with an error naming the reason', () => {
  const cases: Array<[string, (o: OpenChannel) => OpenChannel, RegExp]> = [
    ['another chain', (o) => ({ ...o, chainHash: CHAIN_HASHES.testnet }), /chain_hash/],
    ['no channel_type', (o) => ({ ...o, channelType: undefined } as unknown as OpenChannel), /channel_type/],
    ['anchors channel_type', (o) => ({ ...o, channelType: encodeChannelType({ anchors: true, scidAlias: false, zeroConf: false }) }), /channel_type/],
    ['funding below the minimum', (o) => ({ ...o, fundingSat: 1_000n, channelReserveSat: 546n }), /funding_satoshis/],
    ['funding of 2^24 sat', (o) => ({ ...o, fundingSat: 1n << 24n }), /funding_satoshis/],
    ['push above the funding', (o) => ({ ...o, pushMsat: 500_000_001n }), /push_msat/],
    ['to_self_delay of 5000 blocks', (o) => ({ ...o, toSelfDelay: 5000 }), /to_self_delay/],
    ['484 max_accepted_htlcs', (o) => ({ ...o, maxAcceptedHtlcs: 484 }), /max_accepted_htlcs/],
    ['feerate 100 per kw', (o) => ({ ...o, feeratePerKw: 100 }), /feerate_per_kw/],
    ['feerate 1,000,000 per kw', (o) => ({ ...o, feeratePerKw: 1_000_000 }), /feerate_per_kw/],
    ['dust limit above the reserve', (o) => ({ ...o, dustLimitSat: 6_000n }), /dust_limit_satoshis/],
    ['dust limit of 353 sat', (o) => ({ ...o, dustLimitSat: 353n }), /dust_limit_satoshis/],
    ['reserve of half the channel', (o) => ({ ...o, channelReserveSat: 250_000n }), /channel_reserve_satoshis/],
    ['invalid funding pubkey', (o) => ({ ...o, fundingPubkey: '02' + 'ff'.repeat(32) }), /funding_pubkey/],
  ];

  it.each(cases)('%s', async (_name, mutate, reason) => {
    await mallory.connect(`${bob.nodeId}@127.0.0.1:${bob.listenPort}`);
    const open = mutate(validOpen(1));
    await mallory.send(bob.nodeId, open);
    const answer = await reply(bob.nodeId, open.temporaryChannelId, 'error');
    expect(answer.type).toBe('error');
    expect(text(answer)).toMatch(reason);
  });

  it('keeps serving: a valid open_channel afterwards gets accept_channel, and nothing was stored', async () => {
    const open = validOpen(2);
    await mallory.send(bob.nodeId, open);
    const answer = await reply(bob.nodeId, open.temporaryChannelId, 'accept_channel');
    expect(answer.type).toBe('accept_channel');
    const accept = answer as AcceptChannel;
    expect(accept.minimumDepth).toBe(1);
    expect(accept.channelReserveSat).toBeGreaterThanOrEqual(open.dustLimitSat);
    expect(accept.dustLimitSat).toBeLessThanOrEqual(open.channelReserveSat);
    expect(Array.from(accept.channelType!)).toEqual(Array.from(open.channelType!));
    expect((await bob.channels()).filter((c) => c.state !== 'negotiating')).toEqual([]);
    const info = await bob.call<{ pending_channels: number }>('node_info');
    expect(info.pending_channels).toBe(0);
  });
});

describe('Alice, as initiator, refuses a bad accept_channel', () => {
  function validAccept(open: OpenChannel): AcceptChannel {
    return {
      type: 'accept_channel',
      temporaryChannelId: open.temporaryChannelId,
      dustLimitSat: 546n,
      maxHtlcValueInFlightMsat: open.fundingSat * 1000n,
      channelReserveSat: open.fundingSat / 100n,
      htlcMinimumMsat: 1n,
      minimumDepth: 3,
      toSelfDelay: 144,
      maxAcceptedHtlcs: 483,
      ...basepoints(3),
      upfrontShutdownScript: new Uint8Array(0),
      ...(open.channelType !== undefined ? { channelType: open.channelType } : {}),
    };
  }

  const cases: Array<[string, (a: AcceptChannel) => AcceptChannel, RegExp]> = [
    ['minimum_depth of 1000', (a) => ({ ...a, minimumDepth: 1000 }), /minimum_depth/],
    ['to_self_delay of 5000', (a) => ({ ...a, toSelfDelay: 5000 }), /to_self_delay/],
    ['reserve below our dust limit', (a) => ({ ...a, channelReserveSat: 100n }), /channel_reserve_satoshis/],
    ['dust limit above our reserve', (a) => ({ ...a, dustLimitSat: 20_000n, channelReserveSat: 20_000n }), /dust_limit_satoshis/],
    ['another channel_type', (a) => ({ ...a, channelType: encodeChannelType({ anchors: true, scidAlias: false, zeroConf: false }) }), /channel_type/],
    ['max_accepted_htlcs 484', (a) => ({ ...a, maxAcceptedHtlcs: 484 }), /max_accepted_htlcs/],
    ['invalid revocation basepoint', (a) => ({ ...a, revocationBasepoint: '03' + '00'.repeat(32) }), /revocation_basepoint/],
  ];

  it.each(cases)('%s', async (_name, mutate, reason) => {
    const addr = mallory.address()!;
    await alice.call('connect_peer', { address: `${mallory.nodeId}@127.0.0.1:${addr.port}` });
    answerAccept = (open) => mutate(validAccept(open));
    const err = await alice.call('open_channel', { peer_id: mallory.nodeId, funding_amount_sat: 500_000 }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'CHANNEL_OPEN_FAILED' });
    expect((err as Error).message).toMatch(reason);
    const open = [...inbox].reverse().find((m) => m.from === alice.nodeId && m.message.type === 'open_channel')!.message as OpenChannel;
    const answer = await reply(alice.nodeId, open.temporaryChannelId, 'error');
    expect(text(answer)).toMatch(reason);
    expect(Array.from(open.channelType!)).toEqual(Array.from(encodeChannelType(CHAND_CHANNEL_TYPE)));
    expect(open.upfrontShutdownScript?.length).toBe(0);
    const wallet = await alice.call<{ reserved_sat: number }>('wallet_balance');
    expect(wallet.reserved_sat).toBe(0);
    expect(await alice.channels()).toEqual([]);
  });

  it("proposes regtest's chain hash, a private channel and the static_remotekey channel type (bit 12 only)", () => {
    const open = inbox.find((m) => m.from === alice.nodeId && m.message.type === 'open_channel')!.message as OpenChannel;
    expect(open.chainHash).toBe('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206');
    expect(open.channelFlags).toBe(0);
    expect(FeatureVector.fromBytes(open.channelType!).bits()).toEqual([Feature.staticRemoteKey]);
  });
});
