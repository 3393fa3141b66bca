/**
 * PeerManager across real processes: two `peer-cli` processes on 127.0.0.1 connect over
 * BOLT 8, exchange init, run 10,000 pings, and reconnect with backoff after one is SIGKILLed
 * and restarted. Then misbehaving peers (driven from this test process over real sockets) are
 * disconnected as BOLT 1 says — garbage, an unknown even message, incompatible features, the
 * wrong chain, silence — while the node keeps serving its honest peer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyChain } from '../../src/bitcoin/key-chain.js';
import { NodeSeed, writeSeedFile } from '../../src/bitcoin/node-seed.js';
import { bytesToHex, hexToBytes } from '../../src/codec/bytes.js';
import { type Connection, openConnection } from '../../src/peer/connection.js';
import { publicKeyOf } from '../../src/peer/noise-handshake.js';
import { chandInitFeatures, type FeatureVector } from '../../src/wire/features.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message-codec.js';
import { buildInit } from '../../src/wire/setup-messages.js';
import type { WireMessage } from '../../src/wire/types.js';
import { type CliEvent, freePort, PeerProcess } from './support/peer-process.js';
import { dial } from './support/sockets.js';

const KEY_A = '11'.repeat(32);
const KEY_B = '21'.repeat(32);
// Genesis hashes (display order): regtest is peer-cli's default chain.
const REGTEST_CHAIN_HASH = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';
const MAINNET_CHAIN_HASH = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';

afterEach(async () => {
  await PeerProcess.stopAll();
});

const isOnline = (nodeId: string) => (e: CliEvent) => e.event === 'online' && e.nodeId === nodeId;

describe('two peer processes', () => {
  it('connect, exchange init, ping 10,000 times, and reconnect with backoff after a SIGKILL', async () => {
    const portB = await freePort();
    const bArgs = ['--key-hex', KEY_B, '--listen', `127.0.0.1:${portB}`];
    let b = await PeerProcess.start(bArgs);
    const a = await PeerProcess.start([
      '--key-hex', KEY_A, '--listen', '127.0.0.1:0',
      '--connect', `${b.nodeId}@127.0.0.1:${portB}`,
      '--backoff-initial-ms', '100', '--backoff-max-ms', '800',
    ]);
    const onlineAtA = await a.waitFor(isOnline(b.nodeId), { what: 'A sees B online' });
    const onlineAtB = await b.waitFor(isOnline(a.nodeId), { what: 'B sees A online' });
    expect(onlineAtA.inbound).toBe(false);
    expect(onlineAtB.inbound).toBe(true);
    // Both sent chand's init features; each saw the other's.
    expect(onlineAtA.features).toEqual(chandInitFeatures().bits());

    let from = a.events.length;
    a.command(`ping ${b.nodeId} 10000 64`);
    const stats = await a.waitFor((e) => e.event === 'ping-stats', { from, timeoutMs: 40_000, what: '10,000 pings' });
    expect(stats).toMatchObject({ count: 10000, ok: 10000, failed: 0 });

    // SIGKILL B: A notices, keeps redialling with growing, capped delays while B is down.
    from = a.events.length;
    await b.kill('SIGKILL');
    await a.waitFor((e) => e.event === 'offline' && e.nodeId === b.nodeId, { from, what: 'A sees B offline' });
    await a.waitFor((e) => e.event === 'reconnect-scheduled' && (e.attempt as number) >= 3, { from, what: 'three redials' });
    const refused = a.events.slice(from).filter((e) => e.event === 'rejected' && e.code === 'PEER_CONNECT_FAILED');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    const delays = a.events.slice(from).filter((e) => e.event === 'reconnect-scheduled').map((e) => e.delayMs as number);
    for (const d of delays) expect(d).toBeLessThanOrEqual(800);

    // Restart B on the same port: A gets back to it by itself.
    from = a.events.length;
    b = await PeerProcess.start(bArgs);
    await a.waitFor(isOnline(b.nodeId), { from, timeoutMs: 20_000, what: 'A reconnected to B' });
    await b.waitFor(isOnline(a.nodeId), { what: 'restarted B sees A' });
    from = a.events.length;
    a.command(`ping ${b.nodeId} 100 16`);
    expect(await a.waitFor((e) => e.event === 'ping-stats', { from, what: 'pings after restart' })).toMatchObject({ ok: 100, failed: 0 });

    // A graceful stop ends with "stopped" and exit code 0.
    a.command('stop');
    await a.waitFor((e) => e.event === 'stopped', { what: 'A stopped' });
    expect(await a.exited).toBe(0);
  });
});

describe('peer-cli node key', () => {
  it('comes from the node seed file: the node id is the KeyChain node key of the seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chand-peer-'));
    try {
      const seed = NodeSeed.generate();
      const file = join(dir, 'seed.json');
      await writeSeedFile(file, seed);
      const p = await PeerProcess.start(['--seed-file', file, '--network', 'regtest', '--listen', '127.0.0.1:0']);
      expect(p.nodeId).toBe(KeyChain.fromSeed(seed, 'regtest').nodeKey().pubkey);
      // The key itself is never printed.
      const secret = bytesToHex(KeyChain.fromSeed(seed, 'regtest').privateKey(KeyChain.fromSeed(seed, 'regtest').nodeKey().locator));
      expect(JSON.stringify(p.events)).not.toContain(secret);
      await p.kill('SIGTERM');
      expect(p.events.at(-1)).toEqual({ event: 'stopped' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// --- misbehaving peers, driven from this process -------------------------------------------


interface FakePeer {
  readonly conn: Connection;
  readonly socket: Socket;
  readonly nodeId: string;
}

async function fakePeer(port: number, nodeId: string, seedByte: number): Promise<FakePeer> {
  const key = new Uint8Array(32).fill(seedByte);
  const socket = await dial(port);
  const conn = await openConnection({ socket, localStaticKey: key, remoteStaticKey: hexToBytes(nodeId) });
  return { conn, socket, nodeId: bytesToHex(publicKeyOf(key)) };
}

async function next(conn: Connection, timeoutMs = 10_000): Promise<WireMessage | 'closed'> {
  const m = await Promise.race([conn.receive(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs))]);
  if (m === 'timeout') throw new Error(`no message within ${timeoutMs} ms`);
  if (m === null) return 'closed';
  const d = decodeMessage(m);
  if (d.kind !== 'known') throw new Error(`unexpected ${d.kind} message`);
  return d.message;
}

function init(features: FeatureVector, networks: string[] = [REGTEST_CHAIN_HASH]): Uint8Array {
  return encodeMessage(buildInit({ features, networks }));
}

async function closedWithin(conn: Connection, timeoutMs = 10_000): Promise<void> {
  const r = await Promise.race([conn.closed.then(() => 'closed'), new Promise((res) => setTimeout(() => res('timeout'), timeoutMs))]);
  expect(r).toBe('closed');
}

describe('misbehaving peers', () => {
  it('are dropped as BOLT 1 says while the node keeps serving its honest peer', async () => {
    // B requires anchors (bit 22); its honest peer A does too.
    const b = await PeerProcess.start(['--key-hex', KEY_B, '--listen', '127.0.0.1:0', '--feature', '22', '--ping-interval-ms', '400', '--ping-timeout-ms', '2500']);
    const a = await PeerProcess.start(['--key-hex', KEY_A, '--no-listen', '--feature', '22', '--connect', `${b.nodeId}@127.0.0.1:${b.port}`]);
    await b.waitFor(isOnline(a.nodeId), { what: 'B sees A online' });
    const good = chandInitFeatures().with(23);
    const event = (match: (e: CliEvent) => boolean, from: number, what: string) => b.waitFor(match, { from, what });

    // 1. Garbage instead of a handshake: refused, nothing answered.
    let from = b.events.length;
    const raw = await dial(b.port);
    raw.write(Buffer.alloc(50, 0xff));
    await new Promise<void>((resolve) => raw.once('close', () => resolve()));
    expect(await event((e) => e.event === 'rejected' && e.inbound === true, from, 'garbage handshake refused')).toMatchObject({ code: 'NOISE_HANDSHAKE_FAILED' });

    // 2. Garbage after a good handshake and init: the MAC fails, that connection ends.
    from = b.events.length;
    const p2 = await fakePeer(b.port, b.nodeId, 0x42);
    await p2.conn.send(init(good));
    expect(await next(p2.conn)).toMatchObject({ type: 'init' });
    await event(isOnline(p2.nodeId), from, 'fake peer 2 online');
    p2.socket.write(Buffer.alloc(64, 0x5a));
    expect(await event((e) => e.event === 'offline' && e.nodeId === p2.nodeId, from, 'garbage peer dropped')).toMatchObject({ code: 'NOISE_DECRYPT_FAILED' });
    await closedWithin(p2.conn);

    // 3. Unknown odd message: ignored. Unknown even message: `error` (all channels), then closed.
    from = b.events.length;
    const p3 = await fakePeer(b.port, b.nodeId, 0x43);
    await p3.conn.send(init(good));
    expect(await next(p3.conn)).toMatchObject({ type: 'init' });
    await p3.conn.send(Uint8Array.of(0x00, 0x65, 1, 2, 3)); // type 101
    await p3.conn.send(encodeMessage({ type: 'ping', numPongBytes: 3, ignored: new Uint8Array(0) }));
    let m = await next(p3.conn);
    while (typeof m !== 'string' && m.type === 'ping') m = await next(p3.conn); // B's own liveness pings
    expect(m).toMatchObject({ type: 'pong' });
    expect([...(m as { ignored: Uint8Array }).ignored]).toEqual([0, 0, 0]);
    await p3.conn.send(Uint8Array.of(0x00, 0x64, 1, 2, 3)); // type 100
    m = await next(p3.conn);
    while (typeof m !== 'string' && (m.type === 'ping' || m.type === 'pong')) m = await next(p3.conn);
    expect(m).toMatchObject({ type: 'error', channelId: '00'.repeat(32) });
    expect(Buffer.from((m as { data: Uint8Array }).data).toString()).toMatch(/unknown even message type 100/);
    await closedWithin(p3.conn);
    expect(await event((e) => e.event === 'offline' && e.nodeId === p3.nodeId, from, 'unknown-even peer dropped')).toMatchObject({ code: 'PEER_PROTOCOL_VIOLATION' });

    // 4. init requiring a feature B does not know (bit 100): `warning`, then closed.
    // 5. init lacking a feature B requires (anchors, bit 22): `warning`, then closed.
    // 6. init on another chain: `warning`, then closed.
    const cases: { features: FeatureVector; networks?: string[]; code: string; reason: RegExp }[] = [
      { features: good.with(100), code: 'PEER_FEATURES_INCOMPATIBLE', reason: /bit 100/ },
      { features: chandInitFeatures(), code: 'PEER_FEATURES_INCOMPATIBLE', reason: /require feature bit 22/ },
      { features: good, networks: [MAINNET_CHAIN_HASH], code: 'PEER_CHAIN_MISMATCH', reason: /chain/ },
    ];
    let seed = 0x50;
    for (const c of cases) {
      from = b.events.length;
      const p = await fakePeer(b.port, b.nodeId, seed++);
      await p.conn.send(init(c.features, c.networks));
      expect(await next(p.conn)).toMatchObject({ type: 'init' });
      const w = await next(p.conn);
      expect(w).toMatchObject({ type: 'warning', channelId: '00'.repeat(32) });
      expect(Buffer.from((w as { data: Uint8Array }).data).toString()).toMatch(c.reason);
      await closedWithin(p.conn);
      const rejected = await event((e) => e.event === 'rejected' && e.nodeId === p.nodeId, from, `${c.code} peer refused`);
      expect(rejected.code).toBe(c.code);
    }

    // 7. A second connection from the same node replaces the first.
    from = b.events.length;
    const first = await fakePeer(b.port, b.nodeId, 0x60);
    await first.conn.send(init(good));
    await event(isOnline(first.nodeId), from, 'first connection online');
    const second = await fakePeer(b.port, b.nodeId, 0x60);
    await second.conn.send(init(good));
    await event((e) => e.event === 'offline' && e.nodeId === first.nodeId && e.code === 'PEER_REPLACED', from, 'first replaced');
    await closedWithin(first.conn);
    await event((e) => isOnline(first.nodeId)(e) && b.events.indexOf(e) > b.events.findIndex((x) => x.code === 'PEER_REPLACED'), from, 'second online');
    expect(second.conn.isClosed).toBe(false);

    // 8. A peer that answers nothing is dropped after the liveness timeout (2.5 s here).
    from = b.events.length;
    expect(await event((e) => e.event === 'offline' && e.nodeId === first.nodeId, from, 'silent peer dropped')).toMatchObject({ code: 'PEER_PING_TIMEOUT' });

    // Through all of it B kept its honest peer: A never went offline and still gets pongs.
    expect(b.events.some((e) => e.event === 'offline' && e.nodeId === a.nodeId)).toBe(false);
    from = b.events.length;
    b.command(`ping ${a.nodeId} 200 32`);
    expect(await b.waitFor((e) => e.event === 'ping-stats', { from, what: 'B pings A' })).toMatchObject({ ok: 200, failed: 0 });
    for (const c of [second.conn]) c.close();
  });
});
