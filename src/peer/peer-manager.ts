/**
 * The PeerManager: accepts and makes BOLT 8 connections, runs BOLT 1 on each (init, ping/pong,
 * error/warning), keeps one connection per peer, reconnects to persistent peers, and hands
 * channel messages to a ChannelMessageHandler.
 *
 * Design:
 * - A connection becomes a session. We send our `init` at once and wait (bounded by
 *   `initTimeoutMs`) for the peer's; the first message must be `init`. A peer whose `init`
 *   fails `checkPeerInit` is sent a `warning` (all-zero channel id: no channel fails) and
 *   dropped. After that the session is online: one read loop per peer handles its messages in
 *   order; bad bytes, an unknown even message or a malformed one close that peer only (an
 *   unknown even or malformed message first gets an `error`, BOLT 1's "further communication
 *   unusable"). A slow handler pauses that peer's socket through Connection's bounded queue.
 * - One connection per peer: a newer session replaces an older one (a restarted peer's new
 *   connection wins over our stale one). Only when two sessions of opposite directions come
 *   up within `duplicateWindowMs` — both sides dialled at once — do both nodes keep the one
 *   initiated by the greater node id, so they agree and do not drop each other's.
 * - Liveness: every `pingIntervalMs` we ping (if no liveness ping is outstanding) and drop a
 *   peer from which nothing arrived for `pingTimeoutMs` (PEER_PING_TIMEOUT; BOLT 1 says not to
 *   fail channels for that). Pings with num_pong_bytes >= 65532 get no pong.
 * - Persistent peers are redialled after they go offline or a dial fails, with exponential
 *   backoff (`backoffDelay`: capped, with jitter); addresses come from the PeerAddressBook,
 *   plus the last address that worked.
 * - stop() is graceful and idempotent: stop listening, cancel redials, close every session and
 *   wait for every read loop to finish. A stopped manager does not start again.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { hexToBytes } from '../codec/bytes.js';
import { ErrorCode, isChandError } from '../errors.js';
import { chandInitFeatures, FeatureVector } from '../wire/features.js';
import { channelIdOfMessage, decodeMessage, encodeMessage } from '../wire/message-codec.js';
import { ALL_CHANNELS, buildInit, initFeatures, printableErrorData } from '../wire/setup-messages.js';
import type { DecodedMessage, Hex, WireMessage } from '../wire/types.js';
import {
  type Connection,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_QUEUED_BYTES,
  openConnection,
} from './connection.js';
import { PeerError } from './errors.js';
import { checkPeerInit } from './init-policy.js';
import { MAX_MESSAGE_SIZE } from './noise-cipher.js';
import { publicKeyOf } from './noise-handshake.js';
import { formatAddress, nodeIdOf, parseHostPort, parsePeerAddress, type PeerTarget } from './peer-address.js';
import type { ChannelMessageHandler, PeerAddress, PeerAddressBook, PeerEvent, PeerEventListener, PeerHandle } from './types.js';

/** Limits and timers of the manager. Every field has a default (see DEFAULT_PEER_LIMITS). */
export interface PeerLimits {
  /** Inbound connections (in handshake, in init, or online) at once; more are refused. */
  readonly maxInboundConnections: number;
  readonly handshakeTimeoutMs: number;
  /** Time the peer has to send `init` after the handshake. */
  readonly initTimeoutMs: number;
  /** Time a TCP dial may take. */
  readonly connectTimeoutMs: number;
  readonly pingIntervalMs: number;
  /** A peer silent (no message at all) for longer is dropped. */
  readonly pingTimeoutMs: number;
  /** Largest message accepted from a peer (<= 65535). */
  readonly maxMessageSize: number;
  /** Per connection: encrypted bytes waiting to be written. */
  readonly maxQueuedBytes: number;
  /** Per connection: decrypted bytes waiting for the read loop before the socket pauses. */
  readonly maxInboundBytes: number;
  /** Per connection: our pings still waiting for a pong. */
  readonly maxOutstandingPings: number;
  /** See the module comment: the window in which simultaneous connections are tie-broken. */
  readonly duplicateWindowMs: number;
}

/** The defaults: lnd-like liveness (ping every minute, drop after 5 minutes of silence). */
export const DEFAULT_PEER_LIMITS: PeerLimits = Object.freeze({
  maxInboundConnections: 128,
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  initTimeoutMs: 15_000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 60_000,
  pingTimeoutMs: 300_000,
  maxMessageSize: MAX_MESSAGE_SIZE,
  maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
  maxInboundBytes: DEFAULT_MAX_INBOUND_BYTES,
  maxOutstandingPings: 1024,
  duplicateWindowMs: 2_000,
});

/** Reconnection backoff: `initialMs * factor^attempt`, capped at `maxMs`, minus up to `jitter` of it. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** Fraction in [0, 1] of each delay that is randomized away (0: none). */
  readonly jitter: number;
}

/** Defaults: 1 s, doubling, capped at 5 minutes, up to half of each delay random. */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 1_000, maxMs: 300_000, factor: 2, jitter: 0.5 });

/**
 * The delay before redial number `attempt` (0-based): exponential, capped, jittered.
 * `random` returns a number in [0, 1). Pure.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new RangeError(`expected a non-negative integer attempt, got ${String(attempt)}`);
  const base = Math.min(options.maxMs, options.initialMs * Math.pow(options.factor, Math.min(attempt, 64)));
  return Math.round(base * (1 - options.jitter * random()));
}

/** What a PeerManager needs. Only `nodeKey` and `chainHash` are required. */
export interface PeerManagerOptions {
  /** Our node private key, 32 bytes (KeyChain.nodeKey()'s private key). */
  readonly nodeKey: Uint8Array;
  /** The chain we are on: its genesis block hash, display-order hex; sent in `init` networks and required of peers that send networks. */
  readonly chainHash: Hex;
  /** The features we send in `init`; chandInitFeatures() by default. */
  readonly features?: FeatureVector;
  /** Where to listen; false to not listen. Default 127.0.0.1:9735. */
  readonly listen?: PeerAddress | false;
  readonly addressBook?: PeerAddressBook;
  readonly channelHandler?: ChannelMessageHandler;
  readonly limits?: Partial<PeerLimits>;
  readonly backoff?: Partial<BackoffOptions>;
  /** Randomness for backoff jitter and ping sizes, [0, 1). Math.random by default. */
  readonly random?: () => number;
}

/** An online peer. */
export interface PeerInfo {
  readonly nodeId: Hex;
  readonly address: string;
  readonly inbound: boolean;
  readonly features: readonly number[];
  readonly onlineSinceMs: number;
  readonly messagesReceived: number;
  readonly pingsAnswered: number;
}

interface PendingPing {
  readonly sentAt: number;
  readonly bytes: number;
  readonly resolve: (rttMs: number) => void;
  readonly reject: (err: Error) => void;
  readonly liveness: boolean;
}

class Session {
  state: 'init' | 'online' | 'closed' = 'init';
  features: FeatureVector = FeatureVector.empty();
  onlineAt = 0;
  lastReceived = Date.now();
  messagesReceived = 0;
  pingsAnswered = 0;
  readonly pings: PendingPing[] = [];
  /** Set when a newer session took over: this one's end is not an "offline". */
  superseded = false;
  initTimer: NodeJS.Timeout | undefined;
  pingTimer: NodeJS.Timeout | undefined;
  readLoop: Promise<void> = Promise.resolve();
  readonly online: Promise<PeerInfo>;
  resolveOnline!: (info: PeerInfo) => void;
  rejectOnline!: (err: Error) => void;
  readonly handle: PeerHandle;

  constructor(
    readonly conn: Connection,
    readonly nodeId: Hex,
    readonly inbound: boolean,
    readonly address: string,
  ) {
    this.online = new Promise((resolve, reject) => {
      this.resolveOnline = resolve;
      this.rejectOnline = reject;
    });
    // Nobody may be waiting (an inbound session); the outcome is reported by events.
    this.online.catch(() => undefined);
    const session = this;
    this.handle = {
      nodeId,
      get features() {
        return session.features;
      },
      inbound,
      send: (message) => session.send(message),
    };
  }

  send(message: WireMessage): Promise<void> {
    return this.conn.send(encodeMessage(message));
  }

  info(): PeerInfo {
    return {
      nodeId: this.nodeId,
      address: this.address,
      inbound: this.inbound,
      features: this.features.bits(),
      onlineSinceMs: this.onlineAt,
      messagesReceived: this.messagesReceived,
      pingsAnswered: this.pingsAnswered,
    };
  }
}

interface Persistent {
  lastAddress: PeerAddress | undefined;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
}

const textEncoder = new TextEncoder();

/** See the module comment. Create, `start()`, use, `stop()`. */
export class PeerManager {
  /** Our node id (compressed public key hex). */
  readonly nodeId: Hex;

  readonly #nodeKey: Uint8Array;
  readonly #chainHash: Hex;
  readonly #features: FeatureVector;
  readonly #listen: PeerAddress | false;
  readonly #book: PeerAddressBook | undefined;
  readonly #handler: ChannelMessageHandler | undefined;
  readonly #limits: PeerLimits;
  readonly #backoff: BackoffOptions;
  readonly #random: () => number;

  readonly #listeners = new Set<PeerEventListener>();
  readonly #sessions = new Set<Session>();
  readonly #online = new Map<Hex, Session>();
  readonly #dials = new Map<Hex, Promise<PeerInfo>>();
  readonly #handshaking = new Set<Socket>();
  readonly #persistent = new Map<Hex, Persistent>();
  #inboundCount = 0;
  #server: Server | undefined;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #stopping: Promise<void> | undefined;
  #starting: Promise<void> | undefined;

  /** Validates the options (TypeError/RangeError); opens nothing until start(). */
  constructor(options: PeerManagerOptions) {
    this.nodeId = nodeIdOf(publicKeyOf(options.nodeKey));
    this.#nodeKey = Uint8Array.from(options.nodeKey);
    if (typeof options.chainHash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(options.chainHash)) {
      throw new TypeError(`expected chainHash as 64 hex chars, got ${JSON.stringify(options.chainHash)}`);
    }
    this.#chainHash = options.chainHash.toLowerCase();
    this.#features = options.features ?? chandInitFeatures();
    this.#listen = options.listen ?? { host: '127.0.0.1', port: 9735 };
    this.#book = options.addressBook;
    this.#handler = options.channelHandler;
    this.#limits = { ...DEFAULT_PEER_LIMITS, ...options.limits };
    for (const [k, v] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`expected limits.${k} to be a positive integer, got ${String(v)}`);
    }
    if (this.#limits.maxMessageSize > MAX_MESSAGE_SIZE) throw new RangeError(`expected limits.maxMessageSize <= ${MAX_MESSAGE_SIZE}, got ${this.#limits.maxMessageSize}`);
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    if (!(this.#backoff.initialMs > 0 && this.#backoff.maxMs >= this.#backoff.initialMs && this.#backoff.factor >= 1 && this.#backoff.jitter >= 0 && this.#backoff.jitter <= 1)) {
      throw new RangeError(`expected backoff with 0 < initialMs <= maxMs, factor >= 1, jitter in [0, 1], got ${JSON.stringify(this.#backoff)}`);
    }
    this.#random = options.random ?? Math.random;
  }

  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: PeerEventListener): () => void {
    if (typeof listener !== 'function') throw new TypeError(`expected a listener function, got ${typeof listener}`);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Starts listening (unless `listen: false`). Resolves once the server accepts connections.
   * Idempotent (concurrent calls share one start); rejects with PEER_MANAGER_STOPPED after
   * stop(), and with the socket error if the address cannot be bound (start may then be retried).
   */
  start(): Promise<void> {
    if (this.#state === 'stopped') return Promise.reject(new PeerError(ErrorCode.PEER_MANAGER_STOPPED, 'the peer manager was stopped'));
    this.#starting ??= this.#doStart().catch((err: unknown) => {
      // A failed listen (EADDRINUSE, ...) leaves nothing open; start() may be called again.
      this.#starting = undefined;
      this.#server = undefined;
      if (this.#state === 'starting') this.#state = 'new';
      throw err;
    });
    return this.#starting;
  }

  async #doStart(): Promise<void> {
    this.#state = 'starting';
    if (this.#listen !== false) {
      const server = createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket));
      this.#server = server;
      const { host, port } = this.#listen;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      // Accept errors (EMFILE, ...) must not crash the node; the server keeps listening.
      server.on('error', () => undefined);
      if (this.#state !== 'starting') return; // stop() ran meanwhile; it closes the server
      const bound = this.address()!;
      this.#emit({ type: 'listening', host: bound.host, port: bound.port });
    }
    if (this.#state === 'starting') this.#state = 'running';
  }

  /** The address the server is bound to (port 0 resolved), or undefined when not listening. */
  address(): PeerAddress | undefined {
    const a = this.#server?.address();
    if (a === null || a === undefined || typeof a === 'string') return undefined;
    return { host: a.address, port: a.port };
  }

  /**
   * Stops: no new connections, no redials, every session closed (PEER_MANAGER_STOPPED), every
   * read loop finished. Idempotent; concurrent calls share one stop.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    this.#state = 'stopped';
    const server = this.#server;
    const serverClosed = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const p of this.#persistent.values()) clearTimeout(p.timer);
    this.#persistent.clear();
    for (const socket of this.#handshaking) socket.destroy();
    const stopped = new PeerError(ErrorCode.PEER_MANAGER_STOPPED, 'the peer manager stopped');
    const sessions = [...this.#sessions];
    for (const s of sessions) s.conn.close(stopped);
    await Promise.all(sessions.map((s) => s.readLoop));
    await Promise.allSettled([...this.#dials.values()]);
    await serverClosed;
  }

  /** The peers online now. */
  peers(): PeerInfo[] {
    return [...this.#online.values()].map((s) => s.info());
  }

  /** The online peer `nodeId`, or undefined. */
  peer(nodeId: Hex): PeerInfo | undefined {
    return this.#online.get(nodeId.toLowerCase())?.info();
  }

  /**
   * Connects to `pubkey@host:port` (or a parsed target) and resolves once `init` was exchanged
   * and accepted. Already online: resolves with that session at once; a dial in flight to the
   * same node is shared. `persistent` marks the peer for redial with backoff whenever it goes
   * offline, including when this dial fails. Rejects with PEER_ADDRESS_INVALID,
   * PEER_CONNECT_FAILED, NOISE_HANDSHAKE_FAILED, PEER_HANDSHAKE_TIMEOUT, PEER_INIT_TIMEOUT,
   * PEER_FEATURES_INCOMPATIBLE, PEER_CHAIN_MISMATCH, PEER_CONNECTION_CLOSED or
   * PEER_MANAGER_STOPPED.
   */
  async connect(target: string | PeerTarget, options: { persistent?: boolean } = {}): Promise<PeerInfo> {
    const t = typeof target === 'string' ? parsePeerAddress(target) : { ...parsePeerAddress(`${target.nodeId}@${formatAddress(target)}`) };
    this.#assertRunning();
    if (t.nodeId === this.nodeId) throw new PeerError(ErrorCode.PEER_ADDRESS_INVALID, 'refusing to connect to our own node id');
    if (options.persistent === true) {
      const p = this.#persistentOf(t.nodeId);
      p.lastAddress = { host: t.host, port: t.port };
    }
    const existing = this.#online.get(t.nodeId);
    if (existing !== undefined) return existing.info();
    try {
      return await this.#dial(t.nodeId, t);
    } catch (err) {
      this.#scheduleReconnect(t.nodeId);
      throw err;
    }
  }

  /** Marks `nodeId` persistent (redialled with backoff) or not; unmarking cancels a pending redial. */
  setPersistent(nodeId: Hex, persistent: boolean): void {
    const id = nodeId.toLowerCase();
    if (persistent) {
      this.#persistentOf(id);
      if (!this.#online.has(id)) this.#scheduleReconnect(id);
    } else {
      clearTimeout(this.#persistent.get(id)?.timer);
      this.#persistent.delete(id);
    }
  }

  /** Closes the connection with `nodeId` (if any) and stops redialling it. Idempotent. */
  async disconnect(nodeId: Hex): Promise<void> {
    const id = nodeId.toLowerCase();
    this.setPersistent(id, false);
    const s = this.#online.get(id);
    if (s === undefined) return;
    s.conn.close(new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, 'disconnected on request'));
    await s.readLoop;
  }

  /** Sends `message` to the online peer `nodeId`; rejects with PEER_NOT_CONNECTED if it is not online. */
  send(nodeId: Hex, message: WireMessage): Promise<void> {
    const s = this.#online.get(nodeId.toLowerCase());
    if (s === undefined) return Promise.reject(new PeerError(ErrorCode.PEER_NOT_CONNECTED, `peer ${nodeId} is not connected`));
    return s.send(message);
  }

  /**
   * Pings `nodeId` asking for `numPongBytes` (< 65532) bytes back; resolves with the round
   * trip in milliseconds when the pong arrives. Pings may be pipelined (pongs come back in
   * order). Rejects with PEER_NOT_CONNECTED, PEER_SEND_QUEUE_FULL (too many outstanding) or
   * PEER_CONNECTION_CLOSED.
   */
  ping(nodeId: Hex, numPongBytes = 0): Promise<number> {
    if (!Number.isInteger(numPongBytes) || numPongBytes < 0 || numPongBytes >= 65532) {
      throw new RangeError(`expected numPongBytes in [0, 65531], got ${String(numPongBytes)}`);
    }
    const s = this.#online.get(nodeId.toLowerCase());
    if (s === undefined) return Promise.reject(new PeerError(ErrorCode.PEER_NOT_CONNECTED, `peer ${nodeId} is not connected`));
    return this.#sendPing(s, numPongBytes, false);
  }

  // --- connection setup ----------------------------------------------------------------------

  #assertRunning(): void {
    if (this.#state === 'stopped') throw new PeerError(ErrorCode.PEER_MANAGER_STOPPED, 'the peer manager is stopped');
    if (this.#state !== 'running') throw new PeerError(ErrorCode.PEER_MANAGER_STOPPED, 'the peer manager is not started');
  }

  #persistentOf(nodeId: Hex): Persistent {
    let p = this.#persistent.get(nodeId);
    if (p === undefined) {
      p = { lastAddress: undefined, attempt: 0, timer: undefined, dialing: false };
      this.#persistent.set(nodeId, p);
    }
    return p;
  }

  #dial(nodeId: Hex, address: PeerAddress): Promise<PeerInfo> {
    const inFlight = this.#dials.get(nodeId);
    if (inFlight !== undefined) return inFlight;
    const attempt = this.#dialOnce(nodeId, address).finally(() => this.#dials.delete(nodeId));
    this.#dials.set(nodeId, attempt);
    return attempt;
  }

  async #dialOnce(nodeId: Hex, address: PeerAddress): Promise<PeerInfo> {
    const where = formatAddress(address);
    const socket = netConnect({ host: address.host, port: address.port });
    // Errors are handled by the listeners below and then by Connection; this one only keeps
    // a late error (after a timeout destroyed the socket) from being an unhandled event.
    socket.on('error', () => undefined);
    this.#handshaking.add(socket);
    let sessionStarted = false;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new PeerError(ErrorCode.PEER_CONNECT_FAILED, `connecting to ${where} timed out after ${this.#limits.connectTimeoutMs} ms`)), this.#limits.connectTimeoutMs);
        const onError = (err: Error) => {
          done();
          reject(new PeerError(ErrorCode.PEER_CONNECT_FAILED, `cannot connect to ${where}: ${err.message}`, { cause: err }));
        };
        const onClose = () => {
          done();
          reject(new PeerError(ErrorCode.PEER_CONNECT_FAILED, `the connection to ${where} closed before it was made`));
        };
        const done = () => {
          clearTimeout(timer);
          socket.off('error', onError);
          socket.off('close', onClose);
        };
        socket.once('connect', () => {
          done();
          resolve();
        });
        socket.once('error', onError);
        socket.once('close', onClose);
      });
      if (this.#state === 'stopped') throw new PeerError(ErrorCode.PEER_MANAGER_STOPPED, 'the peer manager stopped');
      const conn = await openConnection({ socket, localStaticKey: this.#nodeKey, remoteStaticKey: hexToBytes(nodeId), ...this.#connectionLimits() });
      this.#handshaking.delete(socket);
      const session = this.#startSession(conn, false, where);
      sessionStarted = true;
      return await session.online;
    } catch (err) {
      socket.destroy();
      // A session reports its own end; report here only what failed before one existed.
      if (!sessionStarted && this.#state !== 'stopped') {
        this.#emit({ type: 'rejected', nodeId, address: where, inbound: false, code: codeOf(err), reason: messageOf(err) });
      }
      throw err;
    } finally {
      this.#handshaking.delete(socket);
    }
  }

  #connectionLimits() {
    return {
      handshakeTimeoutMs: this.#limits.handshakeTimeoutMs,
      maxMessageSize: this.#limits.maxMessageSize,
      maxQueuedBytes: this.#limits.maxQueuedBytes,
      maxInboundBytes: this.#limits.maxInboundBytes,
    };
  }

  #accept(socket: Socket): void {
    const where = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.#state !== 'running' || this.#inboundCount >= this.#limits.maxInboundConnections) {
      socket.destroy();
      this.#emit({ type: 'rejected', nodeId: undefined, address: where, inbound: true, code: undefined, reason: this.#state === 'running' ? `more than ${this.#limits.maxInboundConnections} inbound connections` : 'not running' });
      return;
    }
    this.#inboundCount += 1;
    socket.on('error', () => undefined); // see #dialOnce
    this.#handshaking.add(socket);
    // The count drops when the socket closes, whatever stage it reached.
    socket.once('close', () => {
      this.#inboundCount -= 1;
    });
    openConnection({ socket, localStaticKey: this.#nodeKey, ...this.#connectionLimits() }).then(
      (conn) => {
        this.#handshaking.delete(socket);
        if (this.#state !== 'running') {
          conn.close(new PeerError(ErrorCode.PEER_MANAGER_STOPPED, 'the peer manager stopped'));
          return;
        }
        this.#startSession(conn, true, where);
      },
      (err: unknown) => {
        this.#handshaking.delete(socket);
        if (this.#state === 'running') this.#emit({ type: 'rejected', nodeId: undefined, address: where, inbound: true, code: codeOf(err), reason: messageOf(err) });
      },
    );
  }

  // --- sessions ------------------------------------------------------------------------------

  #startSession(conn: Connection, inbound: boolean, address: string): Session {
    const s = new Session(conn, nodeIdOf(conn.remoteNodeId), inbound, address);
    this.#sessions.add(s);
    s.initTimer = setTimeout(() => s.conn.close(new PeerError(ErrorCode.PEER_INIT_TIMEOUT, `no init within ${this.#limits.initTimeoutMs} ms`)), this.#limits.initTimeoutMs);
    // BOLT 1: init is the first message; we send ours without waiting for theirs.
    s.send(buildInit({ features: this.#features, networks: [this.#chainHash] })).catch(() => undefined);
    s.readLoop = this.#readLoop(s);
    return s;
  }

  async #readLoop(s: Session): Promise<void> {
    try {
      for await (const bytes of s.conn) {
        s.lastReceived = Date.now();
        s.messagesReceived += 1;
        await this.#onMessage(s, bytes);
        if (s.conn.isClosed) break;
      }
    } catch (err) {
      // #onMessage handles peer misbehaviour itself; anything else is our bug, but it must
      // still end only this peer: close it with the error as the reason.
      s.conn.close(err instanceof Error ? err : new Error(String(err)));
    }
    const reason = await s.conn.closed;
    this.#onClosed(s, reason);
  }

  async #onMessage(s: Session, bytes: Uint8Array): Promise<void> {
    let decoded: DecodedMessage;
    try {
      decoded = decodeMessage(bytes);
    } catch (err) {
      // Unknown even type or malformed: BOLT 1 says close; `error` tells the peer why.
      await this.#failPeer(s, 'error', new PeerError(ErrorCode.PEER_PROTOCOL_VIOLATION, messageOf(err), { cause: err }));
      return;
    }
    if (s.state === 'init') {
      if (decoded.kind !== 'known' || decoded.message.type !== 'init') {
        await this.#failPeer(s, 'warning', new PeerError(ErrorCode.PEER_PROTOCOL_VIOLATION, 'the first message was not init'));
        return;
      }
      const problem = checkPeerInit(this.#features, decoded.message, this.#chainHash);
      if (problem !== undefined) {
        await this.#failPeer(s, 'warning', problem);
        return;
      }
      s.features = initFeatures(decoded.message);
      this.#goOnline(s);
      return;
    }
    if (decoded.kind !== 'known') return; // unknown odd, or gossip we do not process yet
    const message = decoded.message;
    switch (message.type) {
      case 'init':
        await this.#failPeer(s, 'warning', new PeerError(ErrorCode.PEER_PROTOCOL_VIOLATION, 'a second init on the connection'));
        return;
      case 'ping':
        // BOLT 1: num_pong_bytes >= 65532 means "no reply".
        if (message.numPongBytes < 65532) {
          s.pingsAnswered += 1;
          s.send({ type: 'pong', ignored: new Uint8Array(message.numPongBytes) }).catch(() => undefined);
        }
        return;
      case 'pong':
        this.#onPong(s, message.ignored.length);
        return;
      case 'error':
      case 'warning':
        this.#emit({
          type: message.type === 'error' ? 'peer-error' : 'peer-warning',
          nodeId: s.nodeId,
          channelId: message.channelId,
          data: printableErrorData(message.data) ?? Buffer.from(message.data).toString('hex'),
        });
        await this.#dispatch(s, message);
        return;
      default:
        if (channelIdOfMessage(message) !== undefined) await this.#dispatch(s, message);
    }
  }

  async #dispatch(s: Session, message: WireMessage): Promise<void> {
    if (this.#handler === undefined) return;
    try {
      await this.#handler.handle(s.handle, message);
    } catch (err) {
      this.#emit({ type: 'handler-failed', nodeId: s.nodeId, messageType: message.type, reason: messageOf(err) });
    }
  }

  /** Tells the peer why (warning or error, all channels), waits briefly for it to leave, closes. */
  async #failPeer(s: Session, kind: 'warning' | 'error', reason: PeerError): Promise<void> {
    const data = textEncoder.encode(reason.message.slice(0, 1000));
    const sent = s.send({ type: kind, channelId: ALL_CHANNELS, data });
    // The peer may not read: never let it hold this session open past a short grace period.
    // A failed send is fine here: the connection is being closed for `reason` anyway.
    await Promise.race([sent.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    s.conn.close(reason);
  }

  #goOnline(s: Session): void {
    clearTimeout(s.initTimer);
    const existing = this.#online.get(s.nodeId);
    if (existing !== undefined && existing !== s) {
      const simultaneous = existing.inbound !== s.inbound && Date.now() - existing.onlineAt < this.#limits.duplicateWindowMs;
      // Who initiated each: for an inbound session the peer did, else we did.
      const keepExisting = simultaneous && (existing.inbound ? s.nodeId : this.nodeId) > (s.inbound ? s.nodeId : this.nodeId);
      if (keepExisting) {
        s.superseded = true;
        s.conn.close(new PeerError(ErrorCode.PEER_REPLACED, 'a simultaneous connection with this peer is kept instead'));
        s.resolveOnline(existing.info());
        return;
      }
      existing.superseded = true;
      this.#online.delete(s.nodeId);
      this.#emit({ type: 'offline', nodeId: existing.nodeId, address: existing.address, code: ErrorCode.PEER_REPLACED, reason: 'replaced by a newer connection' });
      existing.conn.close(new PeerError(ErrorCode.PEER_REPLACED, 'replaced by a newer connection with the same peer'));
    }
    s.state = 'online';
    s.onlineAt = Date.now();
    this.#online.set(s.nodeId, s);
    const p = this.#persistent.get(s.nodeId);
    if (p !== undefined) {
      p.attempt = 0;
      clearTimeout(p.timer);
      p.timer = undefined;
    }
    s.pingTimer = setInterval(() => this.#livenessTick(s), this.#limits.pingIntervalMs);
    this.#emit({ type: 'online', nodeId: s.nodeId, address: s.address, inbound: s.inbound, features: s.features.bits() });
    s.resolveOnline(s.info());
  }

  #onClosed(s: Session, reason: Error | undefined): void {
    clearTimeout(s.initTimer);
    clearInterval(s.pingTimer);
    this.#sessions.delete(s);
    const wasOnline = s.state === 'online';
    s.state = 'closed';
    const closedErr = new PeerError(ErrorCode.PEER_CONNECTION_CLOSED, 'the connection closed', reason === undefined ? undefined : { cause: reason });
    for (const ping of s.pings.splice(0)) ping.reject(closedErr);
    if (s.superseded) return;
    if (wasOnline) {
      if (this.#online.get(s.nodeId) === s) this.#online.delete(s.nodeId);
      if (this.#state === 'stopped') return;
      this.#emit({ type: 'offline', nodeId: s.nodeId, address: s.address, code: codeOf(reason), reason: messageOf(reason) });
      this.#scheduleReconnect(s.nodeId);
      return;
    }
    // Never came online: the dial (if any) rejects with the reason, reported once, here.
    const err = reason ?? closedErr;
    if (this.#state !== 'stopped') {
      this.#emit({ type: 'rejected', nodeId: s.nodeId, address: s.address, inbound: s.inbound, code: codeOf(err), reason: messageOf(err) });
    }
    s.rejectOnline(err);
  }

  // --- liveness ------------------------------------------------------------------------------

  #livenessTick(s: Session): void {
    if (s.state !== 'online') return;
    if (Date.now() - s.lastReceived > this.#limits.pingTimeoutMs) {
      s.conn.close(new PeerError(ErrorCode.PEER_PING_TIMEOUT, `nothing received for more than ${this.#limits.pingTimeoutMs} ms`));
      return;
    }
    if (s.pings.some((p) => p.liveness)) return;
    // A little random size makes pings less recognizable (BOLT 1 "synthetic traffic").
    this.#sendPing(s, Math.floor(this.#random() * 32), true).catch(() => undefined);
  }

  #sendPing(s: Session, numPongBytes: number, liveness: boolean): Promise<number> {
    if (s.pings.length >= this.#limits.maxOutstandingPings) {
      return Promise.reject(new PeerError(ErrorCode.PEER_SEND_QUEUE_FULL, `${s.pings.length} pings already wait for a pong`));
    }
    return new Promise<number>((resolve, reject) => {
      const entry: PendingPing = { sentAt: performance.now(), bytes: numPongBytes, resolve, reject, liveness };
      s.pings.push(entry);
      s.send({ type: 'ping', numPongBytes, ignored: new Uint8Array(0) }).catch((err: unknown) => {
        // A ping that never left expects no pong: drop it so later pongs still match.
        const at = s.pings.indexOf(entry);
        if (at >= 0) s.pings.splice(at, 1);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  #onPong(s: Session, length: number): void {
    const ping = s.pings[0];
    // An unsolicited pong is harmless; BOLT 1 only allows (does not require) closing.
    if (ping === undefined) return;
    s.pings.shift();
    if (ping.bytes !== length) {
      const err = new PeerError(ErrorCode.PEER_PROTOCOL_VIOLATION, `pong of ${length} bytes for a ping asking ${ping.bytes}`);
      ping.reject(err);
      s.conn.close(err);
      return;
    }
    ping.resolve(performance.now() - ping.sentAt);
  }

  // --- reconnection --------------------------------------------------------------------------

  #scheduleReconnect(nodeId: Hex): void {
    const p = this.#persistent.get(nodeId);
    if (p === undefined || this.#state !== 'running' || p.timer !== undefined || p.dialing || this.#online.has(nodeId)) return;
    const delayMs = backoffDelay(p.attempt, this.#backoff, this.#random);
    this.#emit({ type: 'reconnect-scheduled', nodeId, attempt: p.attempt + 1, delayMs });
    p.attempt += 1;
    p.timer = setTimeout(() => {
      p.timer = undefined;
      void this.#redial(nodeId, p);
    }, delayMs);
  }

  async #redial(nodeId: Hex, p: Persistent): Promise<void> {
    if (this.#state !== 'running' || this.#online.has(nodeId) || this.#persistent.get(nodeId) !== p) return;
    p.dialing = true;
    try {
      const addresses: PeerAddress[] = [];
      if (this.#book !== undefined) {
        try {
          for (const text of (await this.#book.addrsForNode(nodeId)).addresses) {
            const parsed = parseHostPort(text);
            if (parsed !== undefined) addresses.push(parsed);
          }
        } catch (err) {
          this.#emit({ type: 'rejected', nodeId, address: '', inbound: false, code: codeOf(err), reason: `address book failed: ${messageOf(err)}` });
        }
      }
      if (p.lastAddress !== undefined && !addresses.some((a) => a.host === p.lastAddress!.host && a.port === p.lastAddress!.port)) addresses.push(p.lastAddress);
      for (const address of addresses) {
        if (this.#state !== 'running' || this.#online.has(nodeId)) return;
        try {
          await this.#dial(nodeId, address);
          p.lastAddress = address;
          return;
        } catch {
          // Reported as a `rejected` event by #dialOnce; try the next address.
        }
      }
    } finally {
      p.dialing = false;
    }
    this.#scheduleReconnect(nodeId);
  }

  #emit(event: PeerEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        // A listener bug must surface, but not inside the peer's read loop.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

function codeOf(err: unknown): ErrorCode | undefined {
  return isChandError(err) ? err.code : undefined;
}

function messageOf(err: unknown): string {
  if (err === undefined) return 'closed';
  return err instanceof Error ? err.message : String(err);
}
