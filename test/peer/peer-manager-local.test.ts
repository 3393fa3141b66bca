/**
 * PeerManager in one process, over real sockets on 127.0.0.1: channel-message routing, the
 * simultaneous-connection tie-break, limits (init timeout, inbound cap), and stop().
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/codec/bytes.js';
import { type Connection, openConnection } from '../../src/peer/connection.js';
import { publicKeyOf } from '../../src/peer/noise-handshake.js';
import { PeerManager, type PeerManagerOptions } from '../../src/peer/peer-manager.js';
import type { PeerEvent, PeerHandle } from '../../src/peer/types.js';
import { chandInitFeatures } from '../../src/wire/features.js';
import { encodeMessage } from '../../src/wire/message-codec.js';
import { buildInit } from '../../src/wire/setup-messages.js';
import type { WireMessage } from '../../src/wire/types.js';
import { dial, waitFor } from './support/sockets.js';

const CHAIN = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';
const managers: PeerManager[] = [];
const conns: Connection[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) c.close();
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});

async function manager(seed: number, options: Partial<PeerManagerOptions> = {}): Promise<{ m: PeerManager; events: PeerEvent[]; port: number }> {
  const m = new PeerManager({ nodeKey: new Uint8Array(32).fill(seed), chainHash: CHAIN, listen: { host: '127.0.0.1', port: 0 }, ...options });
  managers.push(m);
  const events: PeerEvent[] = [];
  m.on((e) => events.push(e));
  await m.start();
  return { m, events, port: m.address()!.port };
}


async function fake(port: number, remote: string, seed: number): Promise<Connection> {
  const conn = await openConnection({ socket: await dial(port), localStaticKey: new Uint8Array(32).fill(seed), remoteStaticKey: hexToBytes(remote) });
  conns.push(conn);
  return conn;
}

describe('PeerManager', () => {
  it('routes channel messages by channel id to the handler, in order, and ignores unknown odd and gossip', async () => {
    const seen: { peer: string; message: WireMessage }[] = [];
    const handler = { handle: (peer: PeerHandle, message: WireMessage) => void seen.push({ peer: peer.nodeId, message }) };
    const { m, port, events } = await manager(0x21, { channelHandler: handler });
    const conn = await fake(port, m.nodeId, 0x31);
    const fakeId = bytesToHex(publicKeyOf(new Uint8Array(32).fill(0x31)));
    await conn.send(encodeMessage(buildInit({ features: chandInitFeatures(), networks: [CHAIN] })));
    const c1 = 'aa'.repeat(32);
    const c2 = 'bb'.repeat(32);
    await conn.send(encodeMessage({ type: 'update_fee', channelId: c1, feeratePerKw: 253 }));
    await conn.send(Uint8Array.of(0x01, 0x03, 0xff)); // gossip channel_update (258), not decoded yet
    await conn.send(Uint8Array.of(0x7f, 0xff)); // unknown odd
    await conn.send(encodeMessage({ type: 'shutdown', channelId: c2, scriptPubkey: Uint8Array.of(0x00, 0x14, ...new Uint8Array(20)) }));
    await conn.send(encodeMessage({ type: 'error', channelId: c1, data: new TextEncoder().encode('channel broke') }));
    await waitFor(() => seen.length === 3, 5_000, 'three routed messages');
    expect(seen.map((s) => [s.peer, s.message.type, (s.message as { channelId: string }).channelId])).toEqual([
      [fakeId, 'update_fee', c1],
      [fakeId, 'shutdown', c2],
      [fakeId, 'error', c1],
    ]);
    expect(events).toContainEqual({ type: 'peer-error', nodeId: fakeId, channelId: c1, data: 'channel broke' });
    expect(m.peer(fakeId)).toBeDefined();
  });

  it('a failing handler does not end the connection; the failure is reported', async () => {
    const handler = {
      handle: () => {
        throw new Error('handler bug');
      },
    };
    const { m, port, events } = await manager(0x22, { channelHandler: handler });
    const conn = await fake(port, m.nodeId, 0x32);
    await conn.send(encodeMessage(buildInit({ features: chandInitFeatures() })));
    await conn.send(encodeMessage({ type: 'update_fee', channelId: 'cc'.repeat(32), feeratePerKw: 300 }));
    await waitFor(() => events.some((e) => e.type === 'handler-failed'), 5_000, 'handler-failed');
    expect(events.find((e) => e.type === 'handler-failed')).toMatchObject({ messageType: 'update_fee', reason: 'handler bug' });
    expect(conn.isClosed).toBe(false);
  });

  it('two nodes dialling each other at once keep one shared connection', async () => {
    const a = await manager(0x23);
    const b = await manager(0x24);
    await Promise.all([
      a.m.connect(`${b.m.nodeId}@127.0.0.1:${b.port}`, { persistent: true }),
      b.m.connect(`${a.m.nodeId}@127.0.0.1:${a.port}`, { persistent: true }),
    ]);
    await waitFor(() => a.m.peers().length === 1 && b.m.peers().length === 1, 5_000, 'both online');
    // Past the tie-break window, nothing flapped: still one session each, the same TCP connection.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(a.m.peers()).toHaveLength(1);
    expect(b.m.peers()).toHaveLength(1);
    expect(a.m.peers()[0]!.inbound).toBe(!b.m.peers()[0]!.inbound);
    const replaced = [...a.events, ...b.events].filter((e) => e.type === 'offline');
    expect(replaced.every((e) => e.type === 'offline' && e.code === 'PEER_REPLACED')).toBe(true);
  });

  it('drops a peer that never sends init, and refuses inbound connections over the cap', async () => {
    const { m, port, events } = await manager(0x25, { limits: { initTimeoutMs: 300, maxInboundConnections: 1 } });
    const silent = await fake(port, m.nodeId, 0x35);
    const refused = await dial(port);
    await new Promise<void>((resolve) => refused.once('close', () => resolve()));
    expect(events).toContainEqual(expect.objectContaining({ type: 'rejected', inbound: true, reason: 'more than 1 inbound connections' }));
    await silent.closed;
    await waitFor(() => events.some((e) => e.type === 'rejected' && e.code === 'PEER_INIT_TIMEOUT'), 5_000, 'init timeout');
  });

  it('stop() is graceful and idempotent; a stopped manager refuses work', async () => {
    const a = await manager(0x26);
    const b = await manager(0x27);
    await a.m.connect(`${b.m.nodeId}@127.0.0.1:${b.port}`);
    await waitFor(() => b.m.peers().length === 1, 5_000, 'b sees a');
    await Promise.all([a.m.stop(), a.m.stop()]);
    await a.m.stop();
    expect(a.m.peers()).toEqual([]);
    await waitFor(() => b.m.peers().length === 0, 5_000, 'b sees a leave');
    expect(b.events.find((e) => e.type === 'offline')).toMatchObject({ nodeId: a.m.nodeId, code: 'PEER_CONNECTION_CLOSED' });
    await expect(a.m.connect(`${b.m.nodeId}@127.0.0.1:${b.port}`)).rejects.toMatchObject({ code: 'PEER_MANAGER_STOPPED' });
    await expect(a.m.start()).rejects.toMatchObject({ code: 'PEER_MANAGER_STOPPED' });
    await expect(b.m.send(a.m.nodeId, { type: 'ping', numPongBytes: 0, ignored: new Uint8Array(0) })).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' });
  });

  it('dials a persistent peer at the addresses its address book gives', async () => {
    const b = await manager(0x29);
    const asked: string[] = [];
    const addressBook = {
      addrsForNode: async (nodeId: string) => {
        asked.push(nodeId);
        return { known: true, addresses: ['not an address', `127.0.0.1:${b.port}`] };
      },
    };
    const a = await manager(0x2a, { addressBook, backoff: { initialMs: 20, maxMs: 100 } });
    a.m.setPersistent(b.m.nodeId, true);
    await waitFor(() => a.m.peer(b.m.nodeId) !== undefined, 10_000, 'a dialled b from its address book');
    expect(asked).toContain(b.m.nodeId);
  });

  it('survives random messages from peers: each peer is kept or dropped with a typed reason', async () => {
    const { m, port, events } = await manager(0x2b);
    const known = [1, 16, 17, 18, 19, 32, 33, 34, 35, 36, 38, 39, 128, 130, 131, 132, 133, 134, 135, 136, 258];
    const messageArb = fc.oneof(
      fc.tuple(fc.constantFrom(...known), fc.uint8Array({ maxLength: 300 })).map(([t, body]) => Uint8Array.of(t >> 8, t & 0xff, ...body)),
      fc.uint8Array({ maxLength: 64 }),
    );
    let seed = 0;
    await fc.assert(
      fc.asyncProperty(messageArb, async (bytes) => {
        const conn = await fake(port, m.nodeId, 0x70 + (seed++ % 64));
        await conn.send(encodeMessage(buildInit({ features: chandInitFeatures() })));
        await conn.send(bytes);
        // A ping after it: answered if the peer was kept, or the connection is closed.
        await conn.send(encodeMessage({ type: 'ping', numPongBytes: 1, ignored: new Uint8Array(0) })).catch(() => undefined);
        for (;;) {
          const reply = await Promise.race([conn.receive(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000))]);
          if (reply === 'timeout') throw new Error('neither a pong nor a close within 5 s');
          if (reply === null || (reply[0] === 0 && reply[1] === 19)) break;
        }
        conn.close();
      }),
      { numRuns: 25 },
    );
    // Every drop had a stable code, and the manager still serves a well-behaved peer.
    for (const e of events) if (e.type === 'offline' || e.type === 'rejected') expect(e.code, JSON.stringify(e)).toMatch(/^[A-Z_]+$/);
    const honest = await fake(port, m.nodeId, 0x2c);
    await honest.send(encodeMessage(buildInit({ features: chandInitFeatures() })));
    await waitFor(() => m.peer(bytesToHex(publicKeyOf(new Uint8Array(32).fill(0x2c)))) !== undefined, 5_000, 'honest peer online');
  });

  it('start() rejects when the address is taken, opens nothing, and can be retried', async () => {
    const { port } = await manager(0x2d);
    const m = new PeerManager({ nodeKey: new Uint8Array(32).fill(0x2e), chainHash: CHAIN, listen: { host: '127.0.0.1', port } });
    managers.push(m);
    await expect(m.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(m.address()).toBeUndefined();
    await managers.shift()!.stop(); // free the port
    await m.start();
    expect(m.address()).toEqual({ host: '127.0.0.1', port });
  });

  it('rejects bad addresses with PEER_ADDRESS_INVALID', async () => {
    const { m } = await manager(0x28);
    await expect(m.connect('nope')).rejects.toMatchObject({ code: 'PEER_ADDRESS_INVALID' });
    await expect(m.connect(`${'02'.padEnd(66, '0')}@127.0.0.1:1`)).rejects.toMatchObject({ code: 'PEER_ADDRESS_INVALID' });
    await expect(m.connect(`${m.nodeId}@127.0.0.1:1`)).rejects.toMatchObject({ code: 'PEER_ADDRESS_INVALID' });
  });
});
