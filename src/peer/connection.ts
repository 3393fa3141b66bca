/**
 * One BOLT 8 session over a node:net socket: the handshake (with a timeout), then encrypted
 * messages both ways, with backpressure both ways and no unbounded buffer anywhere.
 *
 * Design:
 * - Reading. Socket chunks go into a small byte queue; whole frames are decrypted into the
 *   inbound message queue, which the consumer drains with `receive()` or `for await`. When
 *   the inbound queue holds `maxInboundBytes` or more, parsing stops and the socket is paused,
 *   so TCP flow control pushes back on the peer; it resumes once the consumer has taken the
 *   queue below half. Undecoded bytes are then at most one socket chunk plus one frame.
 * - Writing. `send()` encrypts at once (frames must leave in nonce order) into a batch that
 *   is written with one `socket.write()` per event-loop turn. It resolves when that write's
 *   callback fires, i.e. the bytes were handed to the kernel. While the socket reports
 *   backpressure (`write()` returned false, no 'drain' yet) nothing more is written; batched
 *   plus socket-buffered bytes are capped by `maxQueuedBytes`, and senders beyond that cap
 *   wait in FIFO order. At most `maxWaitingSends` may wait; past that `send()` rejects with
 *   PEER_SEND_QUEUE_FULL instead of holding more memory.
 * - Closing. `close()` is idempotent: it destroys the socket, rejects waiting sends and
 *   ends the inbound stream after the messages already queued. `closed` resolves with the
 *   reason (undefined for a local close without one), never rejects.
 */
import type { Socket } from 'node:net';
import { ErrorCode } from '../errors.js';
import { NoiseHandshakeError, PeerError } from './errors.js';
import { LENGTH_HEADER_SIZE, MAC_SIZE, MAX_MESSAGE_SIZE, type FrameDecryptor, type FrameEncryptor } from './noise-cipher.js';
import {
  ACT_ONE_SIZE,
  ACT_THREE_SIZE,
  ACT_TWO_SIZE,
  generateEphemeralKey,
  type HandshakeResult,
  InitiatorHandshake,
  isCompressedPublicKey,
  ResponderHandshake,
} from './noise-handshake.js';

/** Default time the whole handshake may take. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default cap on encrypted bytes waiting to be written (ours plus the socket's buffer). */
export const DEFAULT_MAX_QUEUED_BYTES = 1 << 20;
/** Default cap on decrypted bytes waiting for the consumer before the socket is paused. */
export const DEFAULT_MAX_INBOUND_BYTES = 1 << 20;
/** Default cap on `send()` calls waiting for queue room. */
export const DEFAULT_MAX_WAITING_SENDS = 1024;
/** How long a closed connection waits for the peer's FIN before destroying the socket. */
export const LINGER_MS = 1_000;

/** How to run the handshake and bound the buffers of one connection. */
export interface ConnectionOptions {
  /** A connected socket; the connection owns it from now on (and destroys it on failure). */
  readonly socket: Socket;
  /** Our node private key, 32 bytes. */
  readonly localStaticKey: Uint8Array;
  /** Set to the peer's node key (33 bytes) to initiate; leave out to respond. */
  readonly remoteStaticKey?: Uint8Array;
  /** The handshake's ephemeral key; a fresh random one when left out (only tests inject one). */
  readonly ephemeralKey?: Uint8Array;
  /** Time the whole handshake may take (DEFAULT_HANDSHAKE_TIMEOUT_MS). */
  readonly handshakeTimeoutMs?: number;
  /** Cap on encrypted bytes waiting to be written (DEFAULT_MAX_QUEUED_BYTES). */
  readonly maxQueuedBytes?: number;
  /** Decrypted bytes waiting for the consumer at which reading pauses (DEFAULT_MAX_INBOUND_BYTES). */
  readonly maxInboundBytes?: number;
  /** Cap on `send()` calls waiting for queue room (DEFAULT_MAX_WAITING_SENDS). */
  readonly maxWaitingSends?: number;
  /** Largest message accepted from the peer (at most 65535); a larger one closes the connection. */
  readonly maxMessageSize?: number;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`expected ${name} to be a positive integer, got ${String(value)}`);
  return value;
}

/** A FIFO of socket chunks that hands out exact byte counts without copying when it can. */
class ByteQueue {
  #chunks: Buffer[] = [];
  #head = 0; // offset into #chunks[0]
  length = 0;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `n` bytes (n <= length), removed from the queue. */
  take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length - this.#head >= n) {
      out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      if (this.#head === first.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const chunk = this.#chunks[0]!;
        const copied = chunk.copy(out, at, this.#head, Math.min(chunk.length, this.#head + n - at));
        at += copied;
        this.#head += copied;
        if (this.#head === chunk.length) {
          this.#chunks.shift();
          this.#head = 0;
        }
      }
    }
    this.length -= n;
    return out;
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.length = 0;
  }
}

interface Waiter {
  readonly message: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface Batch {
  frames: Buffer[];
  bytes: number;
  callbacks: { resolve: () => void; reject: (err: Error) => void }[];
}

/**
 * An established BOLT 8 session. Create one with `openConnection`; read with `receive()` or
 * `for await (const msg of connection)`; write with `send()`; end with `close()`.
 */
export class Connection {
  /** The peer's node public key (compressed, 33 bytes), authenticated by the handshake. */
  readonly remoteNodeId: Uint8Array;
  /** Resolves once the connection is closed, with the reason when there is one. Never rejects. */
  readonly closed: Promise<Error | undefined>;

  readonly #socket: Socket;
  readonly #encryptor: FrameEncryptor;
  readonly #decryptor: FrameDecryptor;
  readonly #raw: ByteQueue;
  readonly #maxQueuedBytes: number;
  readonly #maxInboundBytes: number;
  readonly #maxWaitingSends: number;
  readonly #maxMessageSize: number;

  // inbound
  #inbound: Buffer[] = [];
  #inboundHead = 0;
  #inboundBytes = 0;
  #pendingLength = -1; // body length of a frame whose header is decrypted, or -1
  #paused = false;
  #reader: { resolve: (m: Buffer | null) => void; reject: (e: Error) => void } | undefined;

  // outbound
  #batch: Batch | undefined;
  #flushScheduled = false;
  #needDrain = false;
  #waiters: Waiter[] = [];
  #waitersHead = 0;

  #closeReason: Error | undefined;
  #isClosed = false;
  #resolveClosed!: (reason: Error | undefined) => void;

  /** @internal Built by `openConnection` once the handshake is done. */
  constructor(socket: Socket, result: HandshakeResult, leftover: ByteQueue, limits: Required<Pick<ConnectionOptions, 'maxQueuedBytes' | 'maxInboundBytes' | 'maxWaitingSends' | 'maxMessageSize'>>) {
    this.#socket = socket;
    this.remoteNodeId = result.remoteStaticKey;
    this.#encryptor = result.encryptor;
    this.#decryptor = result.decryptor;
    this.#raw = leftover;
    this.#maxQueuedBytes = limits.maxQueuedBytes;
    this.#maxInboundBytes = limits.maxInboundBytes;
    this.#maxWaitingSends = limits.maxWaitingSends;
    this.#maxMessageSize = limits.maxMessageSize;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => {
      // After close() we only drain the socket (see close()); nothing is kept.
      if (this.#isClosed) return;
      this.#raw.push(chunk);
      this.#parse();
    });
    socket.on('drain', () => {
      this.#needDrain = false;
      this.#flush();
    });
    socket.on('end', () => this.close(new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, 'the peer closed the connection')));
    socket.on('error', (err) => this.close(new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, `socket error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.close(new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, 'the connection closed')));
    // Bytes that arrived with act three (the peer's init, typically) are parsed now.
    if (this.#raw.length > 0) queueMicrotask(() => this.#parse());
    socket.resume();
  }

  /** True once `close()` ran or the socket ended. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Encrypted bytes not yet handed to the kernel: our batch plus what the socket buffers. */
  get queuedBytes(): number {
    return (this.#batch?.bytes ?? 0) + this.#socket.writableLength;
  }

  /** Decrypted bytes waiting for the consumer. */
  get inboundBytes(): number {
    return this.#inboundBytes;
  }

  /** True if a `send()` now would have to wait for queue room. */
  get needsDrain(): boolean {
    return this.#waitersHead < this.#waiters.length || this.queuedBytes >= this.#maxQueuedBytes;
  }

  /** The socket's remote address as `host:port`, for logs and events. */
  get remoteAddress(): string {
    const host = this.#socket.remoteAddress ?? '?';
    return `${host.includes(':') ? `[${host}]` : host}:${this.#socket.remotePort ?? '?'}`;
  }

  /**
   * Queues `message` (at most 65535 bytes; RangeError otherwise) and resolves once its frame
   * was handed to the kernel. Messages leave in call order. Rejects with
   * PEER_CONNECTION_CLOSED if the connection closes first, PEER_SEND_QUEUE_FULL if too many
   * sends already wait for room.
   */
  send(message: Uint8Array): Promise<void> {
    if (!(message instanceof Uint8Array)) throw new TypeError(`expected the message to be a Uint8Array, got ${typeof message}`);
    if (message.length > MAX_MESSAGE_SIZE) throw new RangeError(`expected a message of at most ${MAX_MESSAGE_SIZE} bytes, got ${message.length}`);
    if (this.#isClosed) return Promise.reject(this.#closedError());
    return new Promise<void>((resolve, reject) => {
      if (this.#waitersHead === this.#waiters.length && this.queuedBytes < this.#maxQueuedBytes) {
        this.#enqueue(message, resolve, reject);
        return;
      }
      if (this.#waiters.length - this.#waitersHead >= this.#maxWaitingSends) {
        reject(new PeerError(ErrorCode.PEER_SEND_QUEUE_FULL, `${this.#maxWaitingSends} sends already wait for room on this connection`));
        return;
      }
      this.#waiters.push({ message, resolve, reject });
    });
  }

  /**
   * The next message from the peer. Resolves with null once the connection is closed and
   * every message received before that has been taken.
   */
  receive(): Promise<Buffer | null> {
    if (this.#reader !== undefined) throw new TypeError('expected one reader at a time, got a second concurrent receive()');
    const message = this.#shiftInbound();
    if (message !== undefined) return Promise.resolve(message);
    if (this.#isClosed) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  /** Iterates over the peer's messages until the connection closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const message = await this.receive();
      if (message === null) return;
      yield message;
    }
  }

  /**
   * Closes the connection now: rejects waiting and unflushed sends, ends the inbound stream
   * (after the messages already queued), resolves `closed`, and shuts the socket down (FIN,
   * then destroy within LINGER_MS). Idempotent; the first reason wins. To make sure a last
   * message (an `error`) leaves, await its `send()` first.
   */
  close(reason?: Error): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closeReason = reason;
    // A lingering close: send FIN after what was already handed to the socket (a last
    // `error` or `warning`), and drain the peer's bytes meanwhile. Destroying at once with
    // unread input would make the kernel send RST, which can discard that last message on the
    // peer's side. The socket is destroyed when the peer closes too, or after LINGER_MS.
    const socket = this.#socket;
    if (!socket.destroyed) {
      socket.end();
      socket.resume();
      const timer = setTimeout(() => socket.destroy(), LINGER_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
    this.#raw.clear();
    const err = this.#closedError();
    for (let i = this.#waitersHead; i < this.#waiters.length; i++) this.#waiters[i]!.reject(err);
    this.#waiters = [];
    this.#waitersHead = 0;
    const batch = this.#batch;
    this.#batch = undefined;
    for (const cb of batch?.callbacks ?? []) cb.reject(err);
    const reader = this.#reader;
    if (reader !== undefined && this.#inboundHead === this.#inbound.length) {
      this.#reader = undefined;
      reader.resolve(null);
    }
    this.#resolveClosed(reason);
  }

  #closedError(): PeerError {
    return new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, 'the connection is closed', this.#closeReason === undefined ? undefined : { cause: this.#closeReason });
  }

  // --- writing -------------------------------------------------------------------------------

  #enqueue(message: Uint8Array, resolve: () => void, reject: (err: Error) => void): void {
    const frame = this.#encryptor.encrypt(message);
    let batch = this.#batch;
    if (batch === undefined) {
      batch = { frames: [], bytes: 0, callbacks: [] };
      this.#batch = batch;
    }
    batch.frames.push(frame);
    batch.bytes += frame.length;
    batch.callbacks.push({ resolve, reject });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Everything sent in this turn of the event loop goes out in one write.
      process.nextTick(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  #flush(): void {
    if (this.#isClosed || this.#needDrain) return;
    const batch = this.#batch;
    if (batch !== undefined) {
      this.#batch = undefined;
      const data = batch.frames.length === 1 ? batch.frames[0]! : Buffer.concat(batch.frames, batch.bytes);
      const ok = this.#socket.write(data, (err) => {
        if (err) {
          const e = new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, `write failed: ${err.message}`, { cause: err });
          for (const cb of batch.callbacks) cb.reject(e);
          this.close(e);
        } else {
          for (const cb of batch.callbacks) cb.resolve();
        }
      });
      if (!ok) this.#needDrain = true;
    }
    this.#admitWaiters();
  }

  #admitWaiters(): void {
    while (this.#waitersHead < this.#waiters.length && this.queuedBytes < this.#maxQueuedBytes) {
      const w = this.#waiters[this.#waitersHead]!;
      this.#waiters[this.#waitersHead] = undefined as unknown as Waiter;
      this.#waitersHead += 1;
      this.#enqueue(w.message, w.resolve, w.reject);
    }
    if (this.#waitersHead === this.#waiters.length) {
      this.#waiters = [];
      this.#waitersHead = 0;
    }
  }

  // --- reading -------------------------------------------------------------------------------

  #parse(): void {
    try {
      while (!this.#isClosed && this.#inboundBytes < this.#maxInboundBytes) {
        if (this.#pendingLength < 0) {
          if (this.#raw.length < LENGTH_HEADER_SIZE) break;
          const len = this.#decryptor.decryptLength(this.#raw.take(LENGTH_HEADER_SIZE));
          if (len > this.#maxMessageSize) {
            throw new PeerError(ErrorCode.PEER_PROTOCOL_VIOLATION, `the peer announced a ${len}-byte message, more than the ${this.#maxMessageSize}-byte limit`);
          }
          this.#pendingLength = len;
        }
        if (this.#raw.length < this.#pendingLength + MAC_SIZE) break;
        const message = this.#decryptor.decryptMessage(this.#raw.take(this.#pendingLength + MAC_SIZE));
        this.#pendingLength = -1;
        this.#pushInbound(message);
      }
    } catch (err) {
      // Bad bytes from the peer end this connection only; the reason reaches `closed`.
      this.close(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.#inboundBytes >= this.#maxInboundBytes) {
      if (!this.#paused && !this.#isClosed) {
        this.#paused = true;
        this.#socket.pause();
      }
    } else if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #pushInbound(message: Buffer): void {
    const reader = this.#reader;
    if (reader !== undefined) {
      this.#reader = undefined;
      reader.resolve(message);
      return;
    }
    this.#inbound.push(message);
    this.#inboundBytes += message.length;
  }

  #shiftInbound(): Buffer | undefined {
    if (this.#inboundHead === this.#inbound.length) return undefined;
    const message = this.#inbound[this.#inboundHead]!;
    this.#inbound[this.#inboundHead] = undefined as unknown as Buffer;
    this.#inboundHead += 1;
    this.#inboundBytes -= message.length;
    if (this.#inboundHead === this.#inbound.length) {
      this.#inbound = [];
      this.#inboundHead = 0;
    } else if (this.#inboundHead > 1024 && this.#inboundHead * 2 > this.#inbound.length) {
      this.#inbound = this.#inbound.slice(this.#inboundHead);
      this.#inboundHead = 0;
    }
    // Resume reading once the consumer has taken the queue below half of its cap.
    if (this.#paused && this.#inboundBytes < this.#maxInboundBytes / 2) queueMicrotask(() => this.#parse());
    return message;
  }
}

/**
 * Runs the BOLT 8 handshake on a connected `socket` and returns the session. Initiates when
 * `remoteStaticKey` is given (the peer must prove it holds that key), responds otherwise (the
 * peer's key is learnt from act three). Rejects with NoiseHandshakeError (a bad act; EOF
 * mid-act is that act's READ_FAILED), PEER_HANDSHAKE_TIMEOUT, or PEER_CONNECTION_CLOSED
 * (socket error); the socket is destroyed in every failure case.
 */
export function openConnection(options: ConnectionOptions): Promise<Connection> {
  const { socket } = options;
  const limits = {
    maxQueuedBytes: positiveInt('maxQueuedBytes', options.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES),
    maxInboundBytes: positiveInt('maxInboundBytes', options.maxInboundBytes, DEFAULT_MAX_INBOUND_BYTES),
    maxWaitingSends: positiveInt('maxWaitingSends', options.maxWaitingSends, DEFAULT_MAX_WAITING_SENDS),
    maxMessageSize: positiveInt('maxMessageSize', options.maxMessageSize, MAX_MESSAGE_SIZE),
  };
  if (limits.maxMessageSize > MAX_MESSAGE_SIZE) throw new RangeError(`expected maxMessageSize of at most ${MAX_MESSAGE_SIZE}, got ${limits.maxMessageSize}`);
  const timeoutMs = positiveInt('handshakeTimeoutMs', options.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS);
  const ephemeralKey = options.ephemeralKey ?? generateEphemeralKey();
  if (options.remoteStaticKey !== undefined && !isCompressedPublicKey(options.remoteStaticKey)) {
    throw new TypeError('expected remoteStaticKey to be a valid 33-byte compressed public key');
  }
  // Constructors validate the keys (TypeError) before any byte is sent.
  const initiator =
    options.remoteStaticKey === undefined ? undefined : new InitiatorHandshake({ localStaticKey: options.localStaticKey, remoteStaticKey: options.remoteStaticKey, ephemeralKey });
  const responder = initiator === undefined ? new ResponderHandshake({ localStaticKey: options.localStaticKey, ephemeralKey }) : undefined;

  return new Promise<Connection>((resolve, reject) => {
    const raw = new ByteQueue();
    // Which act we wait for, and its size.
    let act: 1 | 2 | 3 = initiator !== undefined ? 2 : 1;
    let settled = false;
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      // Late socket errors after we gave up must not become unhandled 'error' events.
      socket.on('error', () => undefined);
      socket.destroy();
      reject(err);
    };
    const succeed = (result: HandshakeResult) => {
      settled = true;
      cleanup();
      // Pause until the Connection has its own listeners, so no byte is lost in between.
      socket.pause();
      resolve(new Connection(socket, result, raw, limits));
    };
    const onData = (chunk: Buffer) => {
      raw.push(chunk);
      try {
        if (act === 1 && raw.length >= ACT_ONE_SIZE) {
          socket.write(responder!.actOne(raw.take(ACT_ONE_SIZE)));
          act = 3;
        }
        if (act === 2 && raw.length >= ACT_TWO_SIZE) {
          const { actThree, result } = initiator!.actTwo(raw.take(ACT_TWO_SIZE));
          socket.write(actThree);
          succeed(result);
          return;
        }
        if (act === 3 && raw.length >= ACT_THREE_SIZE) {
          succeed(responder!.actThree(raw.take(ACT_THREE_SIZE)));
        }
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const onEnd = () => fail(new NoiseHandshakeError(`ACT${act}_READ_FAILED`, `the connection ended after ${raw.length} bytes of act ${act === 1 ? 'one' : act === 2 ? 'two' : 'three'}`));
    const onError = (err: Error) => fail(new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, `socket error during the handshake: ${err.message}`, { cause: err }));
    const timer = setTimeout(() => fail(new PeerError(ErrorCode.PEER_HANDSHAKE_TIMEOUT, `the handshake did not finish within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    socket.setNoDelay(true);
    if (socket.destroyed) {
      fail(new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, 'the socket is already closed'));
      return;
    }
    // A server may hand over its sockets paused (pauseOnConnect); reading starts here.
    socket.resume();
    if (initiator !== undefined) socket.write(initiator.actOne());
  });
}
