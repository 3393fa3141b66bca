/**
 * Connection over real TCP sockets on 127.0.0.1: handshake both roles, messages both ways,
 * handshake failures and timeout, and backpressure — a slow reader keeps the writer's queue
 * bounded, a fast writer keeps the reader's buffer bounded, and nothing is lost or reordered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isChandError } from '../../src/errors.js';
import { type Connection, openConnection } from '../../src/peer/connection.js';
import { NoiseHandshakeError } from '../../src/peer/errors.js';
import { publicKeyOf } from '../../src/peer/noise-handshake.js';
import { socketPair, type SocketPair, waitFor } from './support/sockets.js';

const alice = new Uint8Array(32).fill(0x11);
const bob = new Uint8Array(32).fill(0x21);
const pairs: SocketPair[] = [];
const conns: Connection[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) c.close();
  for (const p of pairs.splice(0)) await p.close();
});

async function connected(limits: { maxQueuedBytes?: number; maxInboundBytes?: number; maxWaitingSends?: number } = {}): Promise<[Connection, Connection]> {
  const pair = await socketPair();
  pairs.push(pair);
  const [a, b] = await Promise.all([
    openConnection({ socket: pair.client, localStaticKey: alice, remoteStaticKey: publicKeyOf(bob), ...limits }),
    openConnection({ socket: pair.server, localStaticKey: bob, ...limits }),
  ]);
  conns.push(a, b);
  return [a, b];
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('handshake over TCP', () => {
  it('authenticates both node ids and carries messages both ways in order', async () => {
    const [a, b] = await connected();
    expect(Buffer.from(a.remoteNodeId).toString('hex')).toBe(Buffer.from(publicKeyOf(bob)).toString('hex'));
    expect(Buffer.from(b.remoteNodeId).toString('hex')).toBe(Buffer.from(publicKeyOf(alice)).toString('hex'));
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 1200; i++) sends.push(a.send(Buffer.from(`msg ${i}`)));
    await Promise.all(sends);
    for (let i = 0; i < 1200; i++) expect((await b.receive())!.toString()).toBe(`msg ${i}`);
    await b.send(Buffer.from('back'));
    expect((await a.receive())!.toString()).toBe('back');
  });

  it('fails with ACT1_BAD_TAG at the responder when the initiator has the wrong node key for it', async () => {
    const pair = await socketPair();
    pairs.push(pair);
    const wrong = publicKeyOf(new Uint8Array(32).fill(0x33));
    const [ini, resp] = await Promise.allSettled([
      openConnection({ socket: pair.client, localStaticKey: alice, remoteStaticKey: wrong }),
      openConnection({ socket: pair.server, localStaticKey: bob }),
    ]);
    expect(resp.status).toBe('rejected');
    expect((resp as PromiseRejectedResult).reason).toBeInstanceOf(NoiseHandshakeError);
    expect(((resp as PromiseRejectedResult).reason as NoiseHandshakeError).reason).toBe('ACT1_BAD_TAG');
    // The responder dropped the connection without a word: the initiator's act two never came.
    expect(((ini as PromiseRejectedResult).reason as NoiseHandshakeError).reason).toBe('ACT2_READ_FAILED');
  });

  it('times out a peer that never answers', async () => {
    const pair = await socketPair();
    pairs.push(pair);
    const err = await rejection(openConnection({ socket: pair.client, localStaticKey: alice, remoteStaticKey: publicKeyOf(bob), handshakeTimeoutMs: 200 }));
    expect(isChandError(err, 'PEER_HANDSHAKE_TIMEOUT')).toBe(true);
    expect(pair.client.destroyed).toBe(true);
  });

  it('closes on a tampered frame and reports NOISE_DECRYPT_FAILED', async () => {
    const pair = await socketPair();
    pairs.push(pair);
    const [, b] = await Promise.all([
      openConnection({ socket: pair.client, localStaticKey: alice, remoteStaticKey: publicKeyOf(bob) }),
      openConnection({ socket: pair.server, localStaticKey: bob }),
    ]);
    conns.push(b);
    pair.client.write(Buffer.alloc(40, 0xab));
    const reason = await b.closed;
    expect(isChandError(reason, 'NOISE_DECRYPT_FAILED')).toBe(true);
    expect(await b.receive()).toBeNull();
    await expect(b.send(Buffer.from('x'))).rejects.toMatchObject({ code: 'PEER_CONNECTION_CLOSED' });
  });
});

describe('backpressure', () => {
  const MSG = Buffer.alloc(1024, 7);
  const FRAME = MSG.length + 34;

  it('a slow reader keeps the writer queue bounded; nothing is lost or reordered', async () => {
    const maxQueuedBytes = 64 * 1024;
    const maxInboundBytes = 64 * 1024;
    const [a, b] = await connected({ maxQueuedBytes, maxInboundBytes, maxWaitingSends: 64 });
    // The writer sends as fast as the connection lets it; the reader takes nothing yet.
    let sent = 0;
    let maxQueued = 0;
    let stalled = false;
    const writer = (async () => {
      for (; sent < 20_000; sent++) {
        const m = Buffer.from(MSG);
        m.writeUInt32BE(sent, 0);
        const p = a.send(m);
        maxQueued = Math.max(maxQueued, a.queuedBytes);
        if (a.needsDrain) await p;
      }
    })();
    // Bounded wait until the writer is stuck: TCP buffers are full and the reader paused.
    let last = -1;
    await waitFor(() => {
      const stuck = sent === last;
      last = sent;
      return stuck && sent > 0;
    }, 10_000, 'the writer to stall');
    stalled = sent < 20_000;
    expect(stalled).toBe(true);
    // Writer side: our batch plus the socket buffer never exceeded the cap by more than a frame.
    expect(maxQueued).toBeLessThanOrEqual(maxQueuedBytes + FRAME);
    // Reader side: decrypted-but-unread bytes are capped too (the socket was paused).
    expect(b.inboundBytes).toBeLessThanOrEqual(maxInboundBytes + FRAME);
    // Now the reader drains everything: every message arrives, in order.
    for (let i = 0; i < 20_000; i++) {
      const m = (await b.receive())!;
      expect(m.readUInt32BE(0)).toBe(i);
      if (i % 997 === 0) expect(b.inboundBytes).toBeLessThanOrEqual(maxInboundBytes + FRAME);
    }
    await writer;
    expect(maxQueued).toBeLessThanOrEqual(maxQueuedBytes + FRAME);
  });

  it('a writer that never waits is refused once too many sends wait, instead of buffering', async () => {
    const [a] = await connected({ maxQueuedBytes: 16 * 1024, maxWaitingSends: 32 });
    const results: Promise<unknown>[] = [];
    for (let i = 0; i < 5_000; i++) results.push(a.send(MSG).then(() => 'ok', (e: unknown) => e));
    expect(a.queuedBytes).toBeLessThanOrEqual(16 * 1024 + FRAME);
    const refused = (await Promise.race([Promise.all(results), new Promise((r) => setTimeout(() => r(null), 10_000))])) as unknown[] | null;
    expect(refused).not.toBeNull();
    const full = refused!.filter((r) => isChandError(r, 'PEER_SEND_QUEUE_FULL'));
    expect(full.length).toBeGreaterThan(0);
  });
});
