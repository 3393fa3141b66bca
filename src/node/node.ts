/**
 * `ChandNode`: the composition root of a running node — the only module that holds the whole
 * channel database; every service it builds receives the narrow store facets it uses.
 *
 * Start order (DESIGN.md "A node, end to end"):
 *   1. data directory, log, node seed (created 0600 at first start), key chain;
 *   2. the channel database (migrated first if an older schema), link-node repair;
 *   3. chain client, wallet, chain watcher;
 *   4. hydrate: one actor per stored channel; funding transactions of pending channels we
 *      funded are re-reserved in the wallet and rebroadcast; their confirmations re-watched;
 *   5. the peer listener, and redials of peers we have channels with;
 *   6. the JSON-RPC server, its token (`rpc.token`, 0600) and endpoint file (`rpc.json`).
 * Stop runs the same steps backwards; it is idempotent. SIGKILL at any moment loses nothing:
 * every durable step was written before anything depending on it was sent.
 */
import { mkdir, access } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyChain } from '../bitcoin/key-chain.js';
import { NodeSeed, readSeedFile, writeSeedFile } from '../bitcoin/node-seed.js';
import { EsploraClient } from '../chain/esplora-client.js';
import { NETWORKS } from '../chain/network.js';
import { ChainWatcher } from '../chain/watcher.js';
import { ChannelActor, formatScid } from '../channel/channel-actor.js';
import { signedLocalCommitment, toLocalSweep } from '../channel/unilateral-close.js';
import { addressToScript } from '../chain/network.js';
import { ChannelStatus, ClosureType, type OutPoint } from '../chanstate/types.js';
import { ClosingManager } from './closing-manager.js';
import { feeRateForTarget } from '../chain/fee-estimates.js';
import { Feature } from '../wire/features.js';
import { wasmRevealedPoint } from '../bitcoin/secret-point-wasm.js';
import { openChannelDb, type ChannelDb, type ChannelDbConfig } from '../channeldb/open.js';
import type { OpenChannel } from '../chanstate/types.js';
import { ChandError, ErrorCode } from '../errors.js';
import { DEFAULT_CHANNEL_POLICY, MIN_FEERATE_PER_KW, type ChannelPolicy } from '../funding/channel-params.js';
import type { FeeEstimates } from '../chain/chain.js';
import { FundingManager } from '../funding/funding-manager.js';
import { CHAIN_HASHES } from '../linknode/store.js';
import { PeerManager } from '../peer/peer-manager.js';
import type { PeerEvent, PeerHandle } from '../peer/types.js';
import { ensureRpcToken, removeRpcEndpoint, writeRpcEndpoint } from '../rpc/endpoint-files.js';
import { RpcServer } from '../rpc/server.js';
import { NodeWallet, WALLET_STATE_FILE } from '../wallet/node-wallet.js';
import { chandInitFeatures } from '../wire/features.js';
import type { WireMessage } from '../wire/types.js';
import type { NodeConfig } from './config.js';
import { openLogger, type Logger } from './log.js';
import { NodeRpcApi } from './node-api.js';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { InvoiceRegistry } from '../htlcswitch/invoice-registry.js';
import { PaymentSender } from '../htlcswitch/payment-sender.js';
import { HtlcSwitch } from '../htlcswitch/switch.js';
import type { ChannelHtlcEvents } from '../channel/channel-actor.js';
import { onionSharedSecret } from '../onion/index.js';

/** Blocks before an offered HTLC's expiry at which an unresolved one forces the channel on chain (lnd's default broadcast delta). */
export const FORCE_CLOSE_DELTA = 10;

/** Sat per 1000 weight for a confirmation target, from sat/vB estimates (at least BOLT's floor of 253). */
function feeratePerKw(estimates: FeeEstimates, targetBlocks: number): number {
  return Math.max(MIN_FEERATE_PER_KW, Math.ceil(feeRateForTarget(estimates, targetBlocks) * 250));
}

/** File name of the node seed in the data directory. */
export const SEED_FILE = 'seed.json';
/** chand's version, reported by node_info. */
export const CHAND_VERSION = '0.1.0';

/**
 * A test hook: `CHAND_TEST_CRASH_AT=<point>` makes the process SIGKILL itself at that named
 * point (e.g. `after-send:funding_created`, `after-broadcast:funding`), so restart tests hit
 * an exact protocol step. Unset in normal use; it only ever kills, never alters behaviour.
 */
function crashHook(env: NodeJS.ProcessEnv): (point: string) => void {
  const at = env['CHAND_TEST_CRASH_AT'];
  if (at === undefined || at === '') return () => undefined;
  return (point) => {
    if (point === at) process.kill(process.pid, 'SIGKILL');
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** See the module comment. */
export class ChandNode {
  readonly config: NodeConfig;
  readonly nodeId: string;
  readonly chainHash: string;
  readonly log: Logger;
  /** The RPC URL once started. */
  rpcUrl = '';

  readonly #db: ChannelDb;
  readonly #chain: EsploraClient;
  readonly #wallet: NodeWallet;
  readonly #watcher: ChainWatcher;
  readonly #peers: PeerManager;
  readonly #funding: FundingManager;
  readonly #keyChain: KeyChain;
  readonly #actors = new Map<string, ChannelActor>();
  readonly #byFundingTxid = new Map<string, ChannelActor>();
  readonly #dialed = new Map<string, string>();
  /** External opens aborted at their deadline whose funding we keep watching, by funding txid. */
  readonly #aborted = new Map<string, { chanPoint: OutPoint; closeHeight: number }>();
  #tickTimer: NodeJS.Timeout | undefined;
  #ticking = false;
  readonly #crash: (point: string) => void;
  #rpc: RpcServer | undefined;
  #stopping: Promise<void> | undefined;
  readonly #registry: InvoiceRegistry;
  readonly #sender: PaymentSender;
  readonly #switch: HtlcSwitch;
  readonly #htlcEvents: ChannelHtlcEvents;
  readonly #closing: ClosingManager;

  private constructor(parts: {
    config: NodeConfig;
    log: Logger;
    keyChain: KeyChain;
    db: ChannelDb;
    chain: EsploraClient;
    wallet: NodeWallet;
    policy: ChannelPolicy;
    env: NodeJS.ProcessEnv;
  }) {
    this.config = parts.config;
    this.log = parts.log;
    this.#keyChain = parts.keyChain;
    this.#db = parts.db;
    this.#chain = parts.chain;
    this.#wallet = parts.wallet;
    this.#crash = crashHook(parts.env);
    this.chainHash = CHAIN_HASHES[parts.config.network];
    this.#watcher = new ChainWatcher({ chain: this.#chain, pollIntervalMs: parts.config.chainPollMs, maxBackoffMs: Math.max(parts.config.chainPollMs, 60_000) });
    const nodeKey = parts.keyChain.privateKey(parts.keyChain.nodeKey().locator);
    this.#peers = new PeerManager({
      nodeKey,
      chainHash: this.chainHash,
      features: chandInitFeatures(),
      listen: parts.config.listen === false ? false : parts.config.listen,
      addressBook: parts.db.linkNodes,
      channelHandler: { handle: (peer, message) => this.#route(peer, message) },
      backoff: { initialMs: 500, maxMs: 30_000 },
    });
    nodeKey.fill(0);
    this.nodeId = this.#peers.nodeId;
    // The node key signs invoices and peels every incoming onion; derived once and held for
    // the process's life, as the peer manager holds it for BOLT 8.
    const nodePrivateKey = parts.keyChain.privateKey(parts.keyChain.nodeKey().locator);
    const withNodeKey = <T>(use: (key: Uint8Array) => T): T => use(nodePrivateKey);
    const entropy = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
    this.#registry = new InvoiceRegistry({
      store: parts.db.invoices,
      network: parts.config.network,
      nodeId: this.nodeId,
      now: () => Date.now(),
      randomBytes: entropy,
      sign: (digest) =>
        withNodeKey((key) => {
          const sig = secp256k1.sign(digest, key, { prehash: false, lowS: true, format: 'recovered' });
          return { signature64: sig.subarray(1), recovery: sig[0]! };
        }),
    });
    this.#sender = new PaymentSender({
      store: parts.db.payments,
      links: () => this.#actors.values(),
      tipHeight: () => this.#chain.getTipHeight(),
      network: parts.config.network,
      nodeId: this.nodeId,
      now: () => Date.now(),
      randomBytes: entropy,
      log: parts.log,
    });
    this.#switch = new HtlcSwitch({
      fwdPkgs: parts.db.channelState,
      registry: this.#registry,
      sender: this.#sender,
      onionKey: (ephemeral) => withNodeKey((key) => onionSharedSecret(key, ephemeral)),
      tipHeight: () => this.#chain.getTipHeight(),
      log: parts.log,
    });
    this.#htlcEvents = {
      onFwdPkg: (link, pkg) => this.#switch.process(link, this.#actors.get(link.channelId)!.snapshot().channel.fundingOutpoint, pkg),
      onSynced: (link) => this.#switch.resync(link, this.#actors.get(link.channelId)!.snapshot().channel.fundingOutpoint),
      onPreimage: (channelId, htlcId, preimage) => this.#sender.onPreimage(channelId, htlcId, preimage),
      onForgotten: (channelId, htlcId) => this.#sender.onForgotten(channelId, htlcId),
    };
    const chain = this.#chain;
    this.#closing = new ClosingManager({
      store: parts.db.channelState,
      lifecycle: parts.db.coordinator,
      invoices: parts.db.invoices,
      chain: {
        getTxStatus: (txid) => chain.getTxStatus(txid),
        getTransaction: (txid) => chain.getTransaction(txid),
        getOutspend: (txid, index) => chain.getOutspend(txid, index),
        broadcast: (raw) => chain.broadcast(raw),
        getRawTransaction: (txid) => chain.getRawTransaction(txid),
        getTip: async () => ({ height: await chain.getTipHeight(), hash: await chain.getTipHash() }),
      },
      keys: parts.keyChain,
      sweepScript: () => this.#walletScript(),
      sweepFeerate: async () => feeratePerKw(await this.#chain.getFeeEstimates(), 6),
      onPreimage: (channelId, htlcId, preimage) => this.#sender.onPreimage(channelId, htlcId, preimage),
      onHtlcTimedOut: (channelId, htlcId) => this.#sender.onFailed(channelId, htlcId, { reason: new Uint8Array(0) }),
      decideIncoming: async (channelId) => {
        const actor = this.#actors.get(channelId);
        if (actor !== undefined) await this.#switch.decideOnChain(actor, actor.snapshot().channel.fundingOutpoint);
      },
      onFullyClosed: (channelId) => {
        const actor = this.#actors.get(channelId);
        this.#actors.delete(channelId);
        if (actor !== undefined) {
          const op = actor.snapshot().channel.fundingOutpoint;
          this.#watcher.unwatchOutpoint(op.txid, op.index);
          void actor.stop();
        }
      },
      finalDepth: parts.config.closeDepth,
      log: parts.log,
    });
    const state = parts.db.channelState;
    this.#funding = new FundingManager({
      chainHash: this.chainHash,
      keyChain: parts.keyChain,
      coordinator: parts.db.coordinator,
      keyIndexes: state,
      wallet: parts.wallet,
      chain: parts.chain,
      peers: {
        send: (peerId, m) => this.#peers.send(peerId, m),
        isOnline: (peerId) => this.#peers.peer(peerId) !== undefined,
        dialedAddress: (peerId) => this.#dialed.get(peerId),
      },
      policy: parts.policy,
      log: parts.log,
      onChannelStored: (channel) => this.#addActor(channel, true),
      crashPoint: this.#crash,
      now: () => Date.now(),
    });
  }

  /**
   * Starts a node on `config` (see the module comment for the order). Rejects with the cause
   * of the first step that fails, after undoing the steps before it (e.g. DB_LOCKED when
   * another node holds the data directory, SEED_DECRYPT_FAILED for a wrong passphrase).
   */
  static async start(config: NodeConfig, env: NodeJS.ProcessEnv = process.env): Promise<ChandNode> {
    await mkdir(config.datadir, { recursive: true, mode: 0o700 });
    const log = openLogger({ datadir: config.datadir, level: config.logLevel });
    let db: ChannelDb | undefined;
    try {
      if (config.network === 'mainnet') log('warn', 'running on MAINNET: chand is new software; use amounts you can afford to lose');
      const seedPath = join(config.datadir, SEED_FILE);
      const passphrase = config.seedPassphrase !== undefined ? { passphrase: config.seedPassphrase } : {};
      let seed: NodeSeed;
      if (await exists(seedPath)) {
        seed = await readSeedFile(seedPath, passphrase);
      } else {
        seed = NodeSeed.generate();
        await writeSeedFile(seedPath, seed, passphrase);
        log('info', 'created a new node seed', { path: seedPath, encrypted: config.seedPassphrase !== undefined });
      }
      const keyChain = KeyChain.fromSeed(seed, config.network);
      db = await openChannelDb(dbConfig(config));
      if (db.migration.from !== db.migration.to) log('info', 'migrated the channel database', { from: db.migration.from, to: db.migration.to });
      const chain = new EsploraClient({ baseUrl: config.esploraUrl, network: NETWORKS[config.network] });
      const wallet = await NodeWallet.open({ seed, chain, network: NETWORKS[config.network], statePath: join(config.datadir, WALLET_STATE_FILE) });
      const policy: ChannelPolicy = { ...DEFAULT_CHANNEL_POLICY, minChannelSizeSat: config.minChanSizeSat, minimumDepth: config.minDepth };
      const node = new ChandNode({ config, log, keyChain, db, chain, wallet, policy, env });
      await node.#run();
      return node;
    } catch (err) {
      await db?.close().catch(() => undefined);
      log('error', 'node failed to start', { error: (err as Error).message, code: (err as { code?: unknown }).code });
      await log.close();
      throw err;
    }
  }

  async #run(): Promise<void> {
    const { coordinator, channelState, linkNodes } = this.#db;
    const repaired = await coordinator.repairLinkNodes();
    const pruned = await coordinator.pruneLinkNodes();
    if (repaired + pruned > 0) this.log('info', 'repaired link nodes', { created: repaired, deleted: pruned });

    this.#peers.on((event) => this.#onPeerEvent(event));
    this.#watcher.on('confirmations', (e) => {
      void this.#byFundingTxid.get(e.txid)?.fundingConfirmations(e.confirmations, e.status !== undefined);
    });
    this.#watcher.on('deep', (e) => {
      const actor = this.#byFundingTxid.get(e.txid);
      if (actor === undefined) return;
      void actor.fundingDeep(e.blockHeight, e.blockHash, e.confirmations).then(() => {
        if (!actor.snapshot().channel.isPending) this.#byFundingTxid.delete(e.txid);
      });
    });
    this.#watcher.on('spent', (e) => {
      const actor = this.#byFundingOutpoint(e);
      if (actor !== undefined) void this.#closing.fundingSpent(actor, e.spendingTxid);
    });
    this.#watcher.on('error', (err) => this.log('warn', 'chain poll failed', { error: err.message }));

    // Hydrate every stored channel before peers or RPC can reach the node.
    const channels = await channelState.fetchAllChannels();
    for (const channel of channels) await this.#addActor(channel, false);
    for (const channel of channels) {
      if (!channel.isPending || !channel.isInitiator) continue;
      const raw = channel.fundingTx ?? channel.externalFunding?.signedTx;
      if (raw === undefined) continue;
      if (channel.fundingTx !== undefined) this.#wallet.reserveInputsOf(channel.fundingTx, `channel:${channel.fundingOutpoint.txid}`);
      try {
        await this.#chain.broadcast(raw);
        this.log('info', 'rebroadcast a pending funding transaction', { txid: channel.fundingOutpoint.txid });
      } catch (err) {
        this.log('warn', 'funding rebroadcast failed', { txid: channel.fundingOutpoint.txid, error: (err as Error).message });
      }
    }
    for (const channel of channels) {
      if ((channel.status & ChannelStatus.CoopBroadcasted) !== 0) await this.#closing.rebroadcastStored(channel, 'cooperative');
      else if ((channel.status & ChannelStatus.CommitBroadcasted) !== 0) await this.#closing.rebroadcastStored(channel, 'commitment');
    }
    for (const summary of await channelState.fetchClosedChannels(true)) {
      if (summary.closeType === ClosureType.FundingCanceled) this.#watchAborted(summary.chanPoint, summary.closeHeight);
      // A close is stored only once every output is resolved; a crash before the next step leaves it pending.
      else if (summary.closeType !== ClosureType.Abandoned) await coordinator.markChannelFullyClosed(summary.chanPoint);
    }
    await this.#sender.hydrate();
    this.log('info', 'hydrated channels', { channels: channels.length, pending: channels.filter((c) => c.isPending).length, aborted_watched: this.#aborted.size });
    this.#watcher.start();
    this.#tickTimer = setInterval(() => void this.#tick(), Math.max(1000, this.config.chainPollMs));

    await this.#peers.start();
    const peerIds = new Set(channels.map((c) => c.identityPub));
    for (const peerId of peerIds) {
      const { addresses } = await linkNodes.addrsForNode(peerId);
      const address = addresses[0];
      if (address === undefined) continue; // an inbound-only peer dials us
      this.#dialed.set(peerId, address);
      this.#peers.connect(`${peerId}@${address}`, { persistent: true }).catch((err: unknown) => {
        this.log('info', 'peer not reachable yet; retrying with backoff', { peer_id: peerId, error: (err as Error).message });
      });
    }

    const token = await ensureRpcToken(this.config.datadir);
    this.#rpc = new RpcServer({
      api: new NodeRpcApi(this.#apiDeps()),
      host: this.config.rpc.host,
      port: this.config.rpc.port,
      token,
      allowRemote: this.config.rpcAllowRemote,
      log: (level, msg, fields) => this.log(level, msg, { ...fields }),
    });
    const { url } = await this.#rpc.start();
    this.rpcUrl = url;
    await writeRpcEndpoint(this.config.datadir, { url, pid: process.pid });
    const listen = this.#peers.address();
    this.log('info', 'node started', {
      node_id: this.nodeId,
      network: this.config.network,
      rpc: url,
      listen: listen === undefined ? 'off' : `${listen.host}:${listen.port}`,
      backend: this.#db.backend,
    });
  }

  #apiDeps(): ConstructorParameters<typeof NodeRpcApi>[0] {
    return {
      nodeId: this.nodeId,
      network: this.config.network,
      chainHash: this.chainHash,
      version: CHAND_VERSION,
      peers: this.#peers,
      dialed: this.#dialed,
      funding: this.#funding,
      actors: () => [...this.#actors.values()],
      closed: this.#db.channelState,
      chain: this.#chain,
      wallet: this.#wallet,
      onlinePeer: (peerId) => this.#peers.peer(peerId) !== undefined,
      formatScid,
      bitcoinNetwork: NETWORKS[this.config.network],
      externalFundingTimeoutMs: this.config.externalFundingTimeoutSecs * 1000,
      payments: {
        network: this.config.network,
        registry: this.#registry,
        sender: this.#sender,
        invoices: this.#db.invoices,
        payments: this.#db.payments,
        now: () => Date.now(),
      },
      closing: (channelId) => this.#closing.entry(channelId),
    };
  }

  /** Starts the actor of a stored channel. `live`: it was just negotiated on the peer's current connection. */
  async #addActor(channel: OpenChannel, live: boolean): Promise<void> {
    const actor = new ChannelActor(
      {
        store: this.#db.channelState,
        lifecycle: this.#db.coordinator,
        keys: this.#keyChain,
        chain: this.#chain,
        htlcs: this.#htlcEvents,
        send: (peerId, m) => this.#peers.send(peerId, m),
        log: this.log,
        onForgotten: (channelId) => {
          this.#actors.delete(channelId);
          this.#byFundingTxid.delete(channel.fundingOutpoint.txid);
        },
        crashPoint: this.#crash,
        now: () => Date.now(),
        // The store checks the same secret with openChannelDb's libsecp256k1 one.
        secretToPoint: wasmRevealedPoint,
        closing: {
          deliveryScript: () => this.#walletScript(),
          feerates: async () => {
            const estimates = await this.#chain.getFeeEstimates();
            const target = feeratePerKw(estimates, 6);
            return { min: feeratePerKw(estimates, 1008), target, max: Math.max(feeratePerKw(estimates, 1), target * 2) };
          },
          peerFeatures: (peerId) => {
            const theirs = new Set(this.#peers.peer(peerId)?.features ?? []);
            const ours = chandInitFeatures();
            const both = (f: number): boolean => (theirs.has(f & ~1) || theirs.has(f | 1)) && ours.offers(f);
            return { anySegwit: both(Feature.shutdownAnySegwit), simpleClose: both(Feature.simpleClose), upfrontShutdown: both(Feature.upfrontShutdownScript) };
          },
          onChannelFailed: (channelId, reason) => {
            const failed = this.#actors.get(channelId);
            void failed?.forceClose(reason).catch((err: unknown) => this.log('error', 'force close after a channel failure did not go through', { channel_id: channelId, error: (err as Error).message }));
          },
        },
        onAborted: (channelId) => {
          this.#actors.delete(channelId);
          this.#byFundingTxid.delete(channel.fundingOutpoint.txid);
          void this.#chain.getTipHeight().then(
            (tip) => this.#watchAborted(channel.fundingOutpoint, tip),
            () => this.#watchAborted(channel.fundingOutpoint, 0),
          );
        },
      },
      channel,
      { online: this.#peers.peer(channel.identityPub) !== undefined, createdOnLiveConnection: live },
    );
    this.#actors.set(actor.channelId, actor);
    await actor.start();
    // Any spend of the funding output ends the channel's off-chain life: watch it from the start.
    this.#watcher.watchOutpoint(channel.fundingOutpoint.txid, channel.fundingOutpoint.index);
    if (channel.isPending) {
      this.#byFundingTxid.set(channel.fundingOutpoint.txid, actor);
      this.#watcher.watchTransaction(channel.fundingOutpoint.txid, { depth: channel.numConfsRequired });
    }
    if (live) {
      // A peer we dialed and now share a channel with is redialled after disconnects.
      if (this.#dialed.has(channel.identityPub)) this.#peers.setPersistent(channel.identityPub, true);
    } else if (this.#peers.peer(channel.identityPub) !== undefined) {
      void actor.peerOnline();
    }
  }

  #onPeerEvent(event: PeerEvent): void {
    switch (event.type) {
      case 'online':
        this.log('info', 'peer online', { peer_id: event.nodeId, address: event.address, inbound: event.inbound });
        for (const actor of this.#actors.values()) if (actor.peerId === event.nodeId) void actor.peerOnline();
        return;
      case 'offline':
        this.log('info', 'peer offline', { peer_id: event.nodeId, reason: event.reason });
        this.#funding.peerOffline(event.nodeId);
        for (const actor of this.#actors.values()) if (actor.peerId === event.nodeId) void actor.peerOffline();
        return;
      case 'peer-error':
      case 'peer-warning':
        this.log('warn', `peer sent ${event.type === 'peer-error' ? 'error' : 'warning'}`, { peer_id: event.nodeId, channel_id: event.channelId, data: event.data });
        return;
      case 'handler-failed':
        this.log('error', 'channel message handler failed', { peer_id: event.nodeId, message: event.messageType, error: event.reason });
        return;
      case 'rejected':
        this.log('debug', 'connection rejected', { peer_id: event.nodeId, address: event.address, code: event.code, reason: event.reason });
        return;
      default:
        return;
    }
  }

  /** Routes a peer's channel message: establishment to the funding manager, the rest to the channel's actor. */
  async #route(peer: PeerHandle, message: WireMessage): Promise<void> {
    const peerId = peer.nodeId;
    switch (message.type) {
      case 'open_channel':
      case 'accept_channel':
      case 'funding_created':
        return this.#funding.handle(peerId, message);
      case 'funding_signed':
        return this.#funding.handle(peerId, message);
      case 'error':
      case 'warning': {
        const all = /^0{64}$/.test(message.channelId);
        if (message.type === 'error') await this.#funding.handle(peerId, message);
        for (const actor of this.#actors.values()) {
          if (actor.peerId === peerId && (all || actor.channelId === message.channelId)) await actor.deliver(message);
        }
        return;
      }
      default: {
        const channelId = (message as { channelId?: string }).channelId;
        if (channelId === undefined) return;
        const actor = this.#actors.get(channelId);
        if (actor !== undefined && actor.peerId === peerId) return actor.deliver(message);
        if (message.type === 'channel_reestablish') {
          // BOLT 2: a peer that remembers a channel we do not know learns it at once, so an
          // acceptor left with an unfunded channel can forget it.
          this.log('info', 'channel_reestablish for an unknown channel', { peer_id: peerId, channel_id: channelId });
          await peer.send({ type: 'error', channelId, data: new TextEncoder().encode('unknown channel') }).catch(() => undefined);
        }
        return;
      }
    }
  }

  #watchAborted(chanPoint: OutPoint, closeHeight: number): void {
    this.#aborted.set(chanPoint.txid, { chanPoint, closeHeight });
  }

  /** Periodic work that follows the chain: aborted opens whose funding may confirm anyway, and the acceptor's BOLT 2 funding timeout. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#stopping !== undefined) return;
    this.#ticking = true;
    try {
      for (const [txid, entry] of [...this.#aborted]) await this.#recoverAborted(txid, entry);
      const tip = await this.#chain.getTipHeight();
      for (const actor of [...this.#actors.values()]) await actor.checkFundingTimeout(tip);
      await this.#forceCloseExpiring(tip);
      await this.#closing.tick();
    } catch (err) {
      this.log('warn', 'chain follow-up failed; retried', { error: (err as Error).message });
    } finally {
      this.#ticking = false;
    }
  }

  /**
   * An external open aborted at its deadline whose funding transaction confirmed anyway (the
   * user broadcast it after all): the peer has forgotten the channel, so we close it with our
   * commitment (we hold the peer's signature on it) and, once to_self_delay has passed, sweep
   * to_local to the wallet. Every step is derived from the chain and the archived record, so
   * it resumes after any restart. A funding that never appears is given up after 2016 blocks.
   */
  async #recoverAborted(txid: string, entry: { chanPoint: OutPoint; closeHeight: number }): Promise<void> {
    const status = await this.#chain.getTxStatus(txid);
    if (status === undefined || !status.confirmed) {
      const tip = await this.#chain.getTipHeight();
      if (status === undefined && entry.closeHeight > 0 && tip - entry.closeHeight >= 2016) {
        await this.#db.coordinator.markChannelFullyClosed(entry.chanPoint);
        this.#aborted.delete(txid);
        this.log('info', 'gave up watching an aborted open: its funding never appeared', { txid });
      }
      return;
    }
    const channel = await this.#db.channelState.fetchHistoricalChannel(entry.chanPoint);
    const commitment = signedLocalCommitment(channel, this.#keyChain);
    const fundingSpend = await this.#chain.getOutspend(txid, entry.chanPoint.index);
    if (!fundingSpend.spent) {
      await this.#chain.broadcast(commitment.raw);
      this.log('warn', 'the funding of an aborted open confirmed anyway: closed it with our commitment', { txid, commitment_txid: commitment.txid });
      return;
    }
    if (fundingSpend.txid !== commitment.txid) {
      this.log('warn', 'the funding of an aborted open was spent by another transaction', { txid, spender: fundingSpend.txid });
      return;
    }
    const index = channel.localCommitment.localOutputIndex;
    const commitStatus = fundingSpend.status;
    if (index === undefined || !commitStatus.confirmed || commitStatus.confirmations < channel.localConfig.csvDelay) return;
    const sweepSpend = await this.#chain.getOutspend(commitment.txid, index);
    if (!sweepSpend.spent) {
      const address = await this.#wallet.newAddress();
      const sweep = toLocalSweep(channel, this.#keyChain, addressToScript(address, NETWORKS[this.config.network]), 253 * 4);
      if (sweep === undefined) return;
      await this.#chain.broadcast(sweep.raw);
      this.log('info', 'swept to_local of the recovered channel to the wallet', { txid: sweep.txid, fee_sat: sweep.feeSat });
      return;
    }
    if (sweepSpend.status.confirmed) {
      await this.#db.coordinator.markChannelFullyClosed(entry.chanPoint);
      this.#aborted.delete(txid);
      this.log('info', 'recovered the coins of an aborted open', { txid, sweep_txid: sweepSpend.txid });
    }
  }

  #byFundingOutpoint(op: OutPoint): ChannelActor | undefined {
    for (const actor of this.#actors.values()) {
      const f = actor.snapshot().channel.fundingOutpoint;
      if (f.txid === op.txid && f.index === op.index) return actor;
    }
    return undefined;
  }

  /** A new wallet address's scriptpubkey: where closes and sweeps pay us. */
  async #walletScript(): Promise<Uint8Array> {
    return addressToScript(await this.#wallet.newAddress(), NETWORKS[this.config.network]);
  }

  /**
   * BOLT 2 "the timeout deadline": an HTLC we offered that is still unresolved this close to
   * its expiry must be resolved on chain (the peer may be unresponsive), so the channel is
   * force closed.
   */
  async #forceCloseExpiring(tip: number): Promise<void> {
    for (const actor of this.#actors.values()) {
      const snap = actor.snapshot();
      if (snap.core === undefined || snap.close?.phase === 'closing_tx_broadcast' || this.#closing.entry(actor.channelId) !== undefined) continue;
      const due = snap.core.pendingHtlcs.find((h) => !h.incoming && h.cltvExpiry <= tip + FORCE_CLOSE_DELTA);
      if (due === undefined) continue;
      this.log('warn', 'an HTLC we offered is about to expire unresolved: force closing', { channel_id: actor.channelId, htlc_id: due.htlcId, cltv_expiry: due.cltvExpiry, tip });
      await actor.forceClose(`HTLC ${due.htlcId} expires at ${due.cltvExpiry}, tip ${tip}`).catch((err: unknown) => this.log('error', 'force close failed', { channel_id: actor.channelId, error: (err as Error).message }));
    }
  }

  /** Channels being resolved on chain (for list_channels). */
  closingEntries(): ReturnType<ClosingManager['entries']> {
    return this.#closing.entries();
  }

  /** The actor of a channel, by channel id. */
  actor(channelId: string): ChannelActor | undefined {
    return this.#actors.get(channelId);
  }

  /** The address the peer server listens on. */
  listenAddress(): { host: string; port: number } | undefined {
    return this.#peers.address();
  }

  /** Stops RPC, peers, watcher, actors and the database, in that order. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.log('info', 'node stopping');
      clearInterval(this.#tickTimer);
      await this.#rpc?.stop().catch(() => undefined);
      await removeRpcEndpoint(this.config.datadir).catch(() => undefined);
      await this.#peers.stop();
      await this.#watcher.stop();
      for (const actor of this.#actors.values()) await actor.stop();
      await this.#db.close();
      this.log('info', 'node stopped');
      await this.log.close();
    })();
    return this.#stopping;
  }
}

function dbConfig(config: NodeConfig): ChannelDbConfig {
  switch (config.backend) {
    case 'sqlite':
      return { backend: 'sqlite', path: config.datadir };
    case 'lmdb':
      return { backend: 'lmdb', path: config.datadir };
    case 'postgres':
      if (config.dbUrl === undefined) throw new ChandError(ErrorCode.CONFIG_INVALID, '--backend postgres needs --db-url');
      return { backend: 'postgres', url: config.dbUrl };
  }
}

