/**
 * One actor per stored channel: a mailbox that handles one event at a time, so the
 * channel's store writes and messages happen in a fixed order.
 *
 * This version covers a channel from the moment it is stored (after `funding_signed`) to
 * open: the funding confirmations, `channel_ready` both ways, and `channel_reestablish` after
 * every reconnection. Every step persists before it sends:
 *
 *   funding at minimum depth → markConfirmationHeight, markOpen(scid), stage MarkedOpen
 *     → send channel_ready → stage ChannelReadySent
 *   peer's channel_ready → insertNextRevocation(second point)
 *   both done → opening state deleted: the channel is open.
 *
 * A restart at any point resumes from the stored stage: a MarkedOpen channel sends its
 * `channel_ready` after the next reestablish; BOLT 2 asks both sides to retransmit it while
 * both commitment numbers are still 1. Our `channel_ready` is a function of the channel (its
 * second per-commitment point and an alias derived from the channel id), so a resend is
 * byte-identical.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { KeyChain } from '../bitcoin/key-chain.js';
import { ShachainStore } from '../bitcoin/shachain.js';
import type { SecretToPoint } from '../bitcoin/secret-point.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import type { Chain } from '../chain/chain.js';
import { channelIdOf } from '../chanstate/channel-id.js';
import type {
  ChannelLifecycleStore,
  ChannelCloseTxStore,
  ChannelSetupStore,
  ChannelShutdownStore,
  ChannelStatusStore,
  ClosedChannelStore,
  CommitmentStore,
  ExternalFundingStore,
  OpenChannelReads,
} from '../chanstate/store.js';
import { ChannelStatus, ClosureType, OpeningStage, type ChannelCloseSummary, type ChannelParty, type ChannelOpeningState, type ExternalFundingState, type OpenChannel, type ShortChannelId } from '../chanstate/types.js';
import { verifySignedFunding, type SignedFunding } from '../bitcoin/psbt-funding.js';
import type { ChannelLifecycle } from '../channelcoord/coordinator.js';
import { ChandError, isChandError, ErrorCode } from '../errors.js';
import type { ChannelReady, ChannelReestablish, ClosingSigned, ErrorMsg, Shutdown, WireMessage } from '../wire/types.js';
import { ClosingNegotiation, feeRangeFor, type NegotiationStep } from './closing/negotiation.js';
import { shutdownScriptProblem } from './closing/shutdown-script.js';
import { classifyOutputScript } from '../bitcoin/script.js';
import { signedLocalCommitment } from './unilateral-close.js';
import { decideReestablish, reestablishMessage, type ReestablishView } from './reestablish.js';
import { coreFromStore, coreSummary, nextHtlcId, nextReestablish, step, type CoreEffect, type CoreEvent, type CoreSigner, type CoreState, type CoreSummary } from './core/index.js';
import type { ChannelLink, OfferRequest, Resolution } from '../htlcswitch/link.js';
import { commitmentFee } from '../bitcoin/bolt3-fees.js';
import type { AddRef, CommitDiff, FwdPkg } from '../chanstate/types.js';

/** The store facets a channel actor uses. */
export type ChannelActorStore = Pick<OpenChannelReads, 'fetchChannel'> &
  Pick<ChannelLifecycleStore, 'markConfirmationHeight' | 'markOpen'> &
  Pick<ChannelSetupStore, 'saveChannelOpeningState' | 'getChannelOpeningState' | 'deleteChannelOpeningState'> &
  Pick<
    CommitmentStore,
    | 'insertNextRevocation'
    | 'appendRemoteCommitChain'
    | 'advanceCommitChainTail'
    | 'updateCommitment'
    | 'remoteCommitChainTip'
    | 'unsignedAckedUpdates'
    | 'remoteUnsignedLocalUpdates'
  > &
  Pick<ChannelStatusStore, 'markDataLoss' | 'markBorked'> &
  Pick<ChannelShutdownStore, 'storeShutdownInfo' | 'fetchShutdownInfo'> &
  Pick<ChannelCloseTxStore, 'markCommitmentBroadcasted' | 'markCoopBroadcasted'> &
  Pick<ClosedChannelStore, 'closeChannel'> &
  Pick<ExternalFundingStore, 'submitExternalFunding' | 'cancelExternalFunding'>;

/** A structured log sink. */
export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** What a channel actor needs from the node. */
export interface ChannelActorDeps {
  readonly store: ChannelActorStore;
  readonly lifecycle: Pick<ChannelLifecycle, 'markChannelFullyClosed'>;
  readonly keys: Pick<KeyChain, 'shachainProducer' | 'signDigest' | 'signDigestTweaked'>;
  /** Where the HTLC outcomes of this channel go (the switch and the payment sender). */
  readonly htlcs: ChannelHtlcEvents;
  readonly chain: Pick<Chain, 'getBlockTxids' | 'getTxStatus' | 'getTipHeight' | 'getRawTransaction' | 'broadcast'>;
  /** The clock of deadlines (UNIX ms). */
  readonly now: () => number;
  /** An external open was aborted at its deadline: the node keeps watching its funding outpoint. */
  readonly onAborted: (channelId: string, channel: OpenChannel) => void;
  /** Sends to the peer; rejects if it is offline. */
  readonly send: (peerId: string, message: WireMessage) => Promise<void>;
  readonly log: LogFn;
  /** Called when the channel left the open set (e.g. forgotten after the funder's error). */
  readonly onForgotten: (channelId: string) => void;
  /** Test hook: a named point where a test may kill the process. */
  readonly crashPoint: (name: string) => void;
  /** What closing needs from the node. */
  readonly closing: ChannelClosingDeps;
  /** secret·G for the revoke_and_ack check (CoreOptions.secretToPoint; default noble's). */
  readonly secretToPoint?: SecretToPoint;
}

/** What a channel actor needs from the node to close. */
export interface ChannelClosingDeps {
  /** A fresh wallet scriptpubkey for our output of a cooperative close. */
  deliveryScript(): Promise<Uint8Array>;
  /** Feerates (sat per 1000 weight) bounding and targeting the closing fee. */
  feerates(): Promise<{ min: number; target: number; max: number }>;
  /** The features negotiated with the peer that decide which shutdown scripts are allowed. */
  peerFeatures(peerId: string): { anySegwit: boolean; simpleClose: boolean; upfrontShutdown: boolean };
  /** The channel failed (the peer broke the protocol, sent `error`, or negotiation failed): the node decides to force close. */
  onChannelFailed(channelId: string, reason: string): void;
  /** How long we wait for the peer's answer to our closing_signed before failing the channel (default NEGOTIATION_TIMEOUT_MS). */
  readonly negotiationTimeoutMs?: number;
}

/**
 * BOLT 2: a sender of closing_signed that "doesn't receive a closing_signed response after a
 * reasonable amount of time: MUST fail the channel". Two minutes, on one connection.
 */
export const NEGOTIATION_TIMEOUT_MS = 120_000;

/** Progress of a cooperative close (BOLT 2 "Channel Close") on the current connection. */
interface CloseProgress {
  /** Our scriptpubkey, stored with storeShutdownInfo before it is sent. */
  ours: Uint8Array | undefined;
  closer: ChannelParty;
  /** Our shutdown went out on this connection. */
  sent: boolean;
  /** The peer's shutdown scriptpubkey on this connection. */
  theirs: Uint8Array | undefined;
  /** The user's target feerate (sat per 1000 weight), if given. */
  feeratePerKw: number | undefined;
  negotiation: ClosingNegotiation | undefined;
}

/** What list_channels shows of a close in progress. */
export interface CloseSnapshot {
  readonly phase: 'shutting_down' | 'negotiating' | 'closing_tx_broadcast';
  readonly closer: ChannelParty | undefined;
  readonly waitingForHtlcs: number;
  readonly lastFeeSat: bigint | undefined;
  readonly closeTxid: string | undefined;
}

/** What an open channel reports to the node about its HTLCs. Each call may run store writes; errors are logged. */
export interface ChannelHtlcEvents {
  /** A revocation locked in a forwarding package (already stored). Called outside the mailbox. */
  onFwdPkg(link: ChannelLink, pkg: FwdPkg): Promise<void>;
  /** The channel was reestablished with the peer (and its retransmissions sent): unresolved packages are processed again. */
  onSynced(link: ChannelLink): Promise<void>;
  /** The peer fulfilled our HTLC: the preimage is valid for its hash. */
  onPreimage(channelId: string, htlcId: number, preimage: Uint8Array): Promise<void>;
  /** Our add was dropped unsigned at a disconnect. */
  onForgotten(channelId: string, htlcId: number): Promise<void>;
}

/** What list_channels shows of an actor's channel. */
export interface ChannelSnapshot {
  readonly channel: OpenChannel;
  readonly stage: OpeningStage | undefined;
  readonly confirmations: number;
  readonly fundingSeen: boolean;
  /** Set once an external open was aborted at its deadline (the record is then closed). */
  readonly abortedReason: string | undefined;
  /** The live commitment state of an open channel (balances move with payments). */
  readonly core: CoreSummary | undefined;
  /** Set when the peer broke the protocol and the channel stopped taking updates. */
  readonly failedReason: string | undefined;
  /** Set while a close is in progress. */
  readonly close: CloseSnapshot | undefined;
}

function expired(channelId: string, why: string): ChandError {
  return new ChandError(ErrorCode.EXTERNAL_FUNDING_EXPIRED, `the externally funded open of channel ${channelId} was aborted: ${why}; nothing was broadcast by chand, open again`);
}

/** A channel_ready alias: an scid in block range 16,000,000+ that no real block has yet, derived from the channel id. */
export function aliasScid(channelId: string): ShortChannelId {
  const h = sha256(hexToBytes(channelId));
  const block = 16_000_000 + (((h[0]! << 16) | (h[1]! << 8) | h[2]!) % 700_000);
  const tx = (h[3]! << 16) | (h[4]! << 8) | h[5]!;
  const out = (h[6]! << 8) | h[7]!;
  return (BigInt(block) << 40n) | (BigInt(tx) << 16n) | BigInt(out);
}

/** The BOLT 7 short channel id of an output. */
export function makeScid(blockHeight: number, txIndex: number, outputIndex: number): ShortChannelId {
  for (const [what, v, max] of [['block height', blockHeight, 0xffffff], ['tx index', txIndex, 0xffffff], ['output index', outputIndex, 0xffff]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`expected ${what} in 0..${max}, got ${v}`);
  }
  return (BigInt(blockHeight) << 40n) | (BigInt(txIndex) << 16n) | BigInt(outputIndex);
}

/** "BLOCKxTXxOUTPUT". */
export function formatScid(scid: ShortChannelId): string {
  return `${scid >> 40n}x${(scid >> 16n) & 0xffffffn}x${scid & 0xffffn}`;
}

/** See the module comment. Create with the stored record, then `start()`. */
export class ChannelActor implements ChannelLink {
  readonly channelId: string;
  readonly peerId: string;
  readonly #deps: ChannelActorDeps;
  #channel: OpenChannel;
  #stage: OpeningStage | undefined;
  #confirmations = 0;
  #fundingSeen = false;
  /** True once both sides exchanged channel_reestablish on the current connection (or the channel was created on it). */
  #synced: boolean;
  #reestablishSent = false;
  #online: boolean;
  #mailbox: Promise<void> = Promise.resolve();
  #stopped = false;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #abortedReason: string | undefined;
  /** An `error` owed to the peer (an abort while it was offline), sent when it comes online. */
  #owedError: string | undefined;
  /** The BOLT 2 update state machine, once the channel is open. */
  #core: CoreState | undefined;
  /** Set when the peer broke BOLT 2: no more updates on this channel (closing comes later). */
  #failed: string | undefined;
  #signScheduled = false;
  #close: CloseProgress | undefined;
  #negotiationTimer: NodeJS.Timeout | undefined;
  /** Set once a closing transaction (ours or the cooperative one) was stored: the channel takes no more updates. */
  #closeTx: { txid: string | undefined; kind: 'cooperative' | 'commitment' | 'spent' } | undefined;

  /** `createdOnLiveConnection`: the channel was just negotiated on the peer's current connection, which needs no reestablish. */
  constructor(deps: ChannelActorDeps, channel: OpenChannel, options: { online: boolean; createdOnLiveConnection: boolean }) {
    this.#deps = deps;
    this.#channel = channel;
    this.channelId = channelIdOf(channel.fundingOutpoint);
    this.peerId = channel.identityPub;
    this.#online = options.online;
    this.#synced = options.online && options.createdOnLiveConnection;
  }

  /** The channel as last stored, with its opening progress. */
  snapshot(): ChannelSnapshot {
    return {
      channel: this.#channel,
      stage: this.#stage,
      confirmations: this.#confirmations,
      fundingSeen: this.#fundingSeen,
      abortedReason: this.#abortedReason,
      core: this.#core === undefined ? undefined : coreSummary(this.#core),
      failedReason: this.#failed,
      close: this.#closeSnapshot(),
    };
  }

  /** True when channel_ready went both ways and the opening state is gone. */
  get isOpen(): boolean {
    return !this.#channel.isPending && this.#channel.remoteRevocation.nextPoint !== undefined && this.#stage === undefined;
  }

  #enqueue(what: string, fn: () => Promise<void>): Promise<void> {
    const run = this.#mailbox.then(async () => {
      if (this.#stopped) return;
      try {
        await fn();
      } catch (err) {
        this.#deps.log('error', `channel ${what} failed`, { channel_id: this.channelId, error: (err as Error).message, code: (err as { code?: unknown }).code });
      }
    });
    this.#mailbox = run;
    return run;
  }

  /** Like #enqueue, but the caller gets the result or the error. */
  #call<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#mailbox.then(() => {
      if (this.#stopped) throw new ChandError(ErrorCode.STORE_CLOSED, 'the node is stopping');
      return fn();
    });
    this.#mailbox = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Loads the opening stage and re-arms the deadline of an external open (a deadline that
   * passed while the node was down aborts now); if the peer is online, a reestablish follows
   * through `peerOnline`.
   */
  start(): Promise<void> {
    return this.#enqueue('start', async () => {
      this.#stage = await this.#loadStage();
      if (!this.#channel.isPending) this.#fundingSeen = true;
      this.#armDeadline();
      if (this.isOpen) await this.#loadCore();
      const status = this.#channel.status;
      if ((status & ChannelStatus.CoopBroadcasted) !== 0) this.#closeTx = { txid: undefined, kind: 'cooperative' };
      else if ((status & ChannelStatus.CommitBroadcasted) !== 0) this.#closeTx = { txid: undefined, kind: 'commitment' };
      const info = await this.#deps.store.fetchShutdownInfo(this.#channel.fundingOutpoint);
      if (info !== undefined && this.#closeTx === undefined) {
        this.#close = { ours: info.deliveryScript, closer: info.closer, sent: false, theirs: undefined, feeratePerKw: undefined, negotiation: undefined };
      }
    });
  }

  /** Waits for queued events, then ignores new ones. */
  async stop(): Promise<void> {
    clearTimeout(this.#deadlineTimer);
    clearTimeout(this.#negotiationTimer);
    const last = this.#mailbox;
    this.#stopped = true;
    await last;
  }

  #external(): ExternalFundingState | undefined {
    return this.#abortedReason === undefined ? this.#channel.externalFunding : undefined;
  }

  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    const ef = this.#external();
    if (ef === undefined || ef.submitted) return;
    // A timer re-checks the stored deadline when it fires (DESIGN.md "Durable flows").
    const delay = Math.max(0, Math.min(ef.deadlineMs - this.#deps.now(), 2 ** 31 - 1));
    this.#deadlineTimer = setTimeout(() => void this.#enqueue('deadline', () => this.#onDeadline()), delay);
  }

  async #onDeadline(): Promise<void> {
    const ef = this.#external();
    if (ef === undefined || ef.submitted) return;
    const now = this.#deps.now();
    if (now < ef.deadlineMs) return this.#armDeadline();
    const tip = await this.#deps.chain.getTipHeight();
    try {
      // One atomic check-and-close: a submit that won the race makes this fail, never the reverse.
      await this.#deps.store.cancelExternalFunding(this.#channel.fundingOutpoint, now, tip);
    } catch (err) {
      if (isChandError(err, ErrorCode.EXTERNAL_FUNDING_SUBMITTED)) {
        await this.#refresh();
        return;
      }
      throw err;
    }
    this.#abortedReason = 'the deadline passed before a signed funding transaction was submitted';
    this.#deps.log('info', 'external funding aborted at its deadline', { channel_id: this.channelId, deadline_ms: ef.deadlineMs });
    this.#owedError = `funding aborted: ${this.#abortedReason}`;
    if (this.#online) await this.#sendOwedError();
    this.#deps.onAborted(this.channelId, this.#channel);
  }

  async #sendOwedError(): Promise<void> {
    if (this.#owedError === undefined) return;
    try {
      await this.#deps.send(this.peerId, { type: 'error', channelId: this.channelId, data: utf8ToBytes(this.#owedError) });
      this.#owedError = undefined;
    } catch {
      // still owed: sent at the next connection
    }
  }

  /**
   * Submits the user's signed funding (a signed PSBT, finalized here if needed, or a raw
   * transaction): verified against the stored unsigned PSBT, stored (submitted), then
   * broadcast. Idempotent for the same transaction. EXTERNAL_FUNDING_EXPIRED past the
   * deadline or after an abort; EXTERNAL_FUNDING_NOT_FOUND if the channel has no external
   * funding in progress; the PSBT_* / SIGNATURE_INVALID codes of verifySignedFunding for a
   * transaction that is not the one the peer signed for. A rejection changes nothing.
   */
  submitFunding(signed: SignedFunding): Promise<ExternalFundingState> {
    return this.#call(async () => {
      if (this.#abortedReason !== undefined) throw expired(this.channelId, this.#abortedReason);
      const ef = this.#channel.externalFunding;
      if (ef === undefined) throw new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `channel ${this.channelId} has no external funding in progress`);
      if (!ef.submitted && this.#deps.now() >= ef.deadlineMs) {
        await this.#onDeadline();
        throw expired(this.channelId, 'the deadline passed before this submit');
      }
      const verified = verifySignedFunding(ef.unsignedPsbt, signed);
      const state = await this.#deps.store.submitExternalFunding(this.#channel.fundingOutpoint, verified.raw);
      await this.#refresh();
      clearTimeout(this.#deadlineTimer);
      this.#deps.log('info', 'signed funding submitted', { channel_id: this.channelId, txid: verified.txid });
      this.#deps.crashPoint('after-store:submitted-funding');
      await this.#broadcastFunding(verified.raw);
      return state;
    });
  }

  async #broadcastFunding(raw: Uint8Array): Promise<void> {
    try {
      await this.#deps.chain.broadcast(raw);
      this.#fundingSeen = true; // the chain accepted it into its mempool
      this.#deps.log('info', 'funding transaction broadcast', { channel_id: this.channelId, txid: this.#channel.fundingOutpoint.txid });
    } catch (err) {
      this.#deps.log('warn', 'funding broadcast failed; it is retried at start', { channel_id: this.channelId, error: (err as Error).message });
    }
  }

  /** The signer broadcast the funding itself (many wallets do): take the chain's copy as the submit. */
  async #adoptBroadcastFunding(): Promise<void> {
    const ef = this.#external();
    if (ef === undefined || ef.submitted) return;
    const raw = await this.#deps.chain.getRawTransaction(this.#channel.fundingOutpoint.txid);
    if (raw === undefined) return;
    await this.#deps.store.submitExternalFunding(this.#channel.fundingOutpoint, raw);
    await this.#refresh();
    clearTimeout(this.#deadlineTimer);
    this.#deps.log('info', 'the signer broadcast the funding transaction itself; treated as submitted', { channel_id: this.channelId });
  }

  async #loadStage(): Promise<OpeningStage | undefined> {
    try {
      return (await this.#deps.store.getChannelOpeningState(this.#channel.fundingOutpoint)).stage;
    } catch (err) {
      if (isChandError(err, ErrorCode.OPENING_STATE_NOT_FOUND)) return undefined;
      throw err;
    }
  }

  /** The peer came online (a new connection): send our channel_reestablish. */
  peerOnline(): Promise<void> {
    return this.#enqueue('reestablish', async () => {
      this.#online = true;
      this.#synced = false;
      this.#reestablishSent = false;
      if (this.#abortedReason !== undefined) return this.#sendOwedError();
      await this.#sendReestablish();
    });
  }

  /** The peer's connection ended. */
  peerOffline(): Promise<void> {
    return this.#enqueue('offline', async () => {
      this.#online = false;
      this.#synced = false;
      this.#reestablishSent = false;
      if (this.#close !== undefined) {
        // BOLT 2: shutdown is retransmitted after the reconnection; negotiation starts over.
        this.#close = { ...this.#close, sent: false, theirs: undefined, negotiation: undefined };
        clearTimeout(this.#negotiationTimer);
      }
      if (this.#core !== undefined) await this.#step({ kind: 'disconnected' });
    });
  }

  /** A message from the peer for this channel. Resolves once it was handled. */
  deliver(message: WireMessage): Promise<void> {
    return this.#enqueue(message.type, async () => {
      switch (message.type) {
        case 'channel_reestablish':
          return this.#onReestablish(message);
        case 'channel_ready':
          return this.#onChannelReady(message);
        case 'error':
          return this.#onError(message);
        case 'warning':
          this.#deps.log('warn', 'peer sent a warning', { channel_id: this.channelId, data: new TextDecoder().decode(message.data) });
          return;
        case 'shutdown':
          return this.#onShutdown(message);
        case 'closing_signed':
          return this.#onClosingSigned(message);
        case 'update_add_htlc':
        case 'update_fulfill_htlc':
        case 'update_fail_htlc':
        case 'update_fail_malformed_htlc':
        case 'update_fee':
        case 'commitment_signed':
        case 'revoke_and_ack':
          if (this.#closeTx !== undefined) {
            this.#deps.log('warn', `ignoring ${message.type}: the channel is closing on chain`, { channel_id: this.channelId });
            return;
          }
          if (message.type === 'update_add_htlc' && this.#close?.theirs !== undefined) {
            // BOLT 2: no update_add_htlc after a shutdown.
            return this.#failChannel('update_add_htlc after shutdown');
          }
          if (this.#core === undefined || this.#failed !== undefined) {
            const why = this.#failed ?? 'the channel is not open';
            this.#deps.log('warn', `refusing ${message.type}: ${why}`, { channel_id: this.channelId });
            await this.#trySend({ type: 'error', channelId: this.channelId, data: utf8ToBytes(`${message.type} refused: ${why}`) });
            return;
          }
          await this.#step({ kind: 'peer_message', message });
          this.#scheduleSign();
          await this.#advanceClose();
          return;
        default:
          // Updates and closing come with later work; tell the peer rather than drop silently.
          this.#deps.log('warn', `ignoring ${message.type}: not supported on this channel yet`, { channel_id: this.channelId });
          await this.#trySend({ type: 'warning', channelId: this.channelId, data: utf8ToBytes(`chand does not handle ${message.type} yet`) });
      }
    });
  }

  /**
   * BOLT 2: an acceptor may forget a channel whose funding did not appear within 2016 blocks
   * (nothing of ours is in it). Called with each new tip.
   */
  checkFundingTimeout(tip: number): Promise<void> {
    return this.#enqueue('funding-timeout', async () => {
      const ch = this.#channel;
      if (!ch.isPending || ch.isInitiator || this.#fundingSeen || tip - ch.fundingBroadcastHeight < 2016) return;
      if ((await this.#deps.chain.getTxStatus(ch.fundingOutpoint.txid)) !== undefined) return;
      await this.#forget('the funding transaction did not appear within 2016 blocks');
    });
  }

  /** A confirmation count change of the funding transaction (0 while unconfirmed, no status when unknown). */
  fundingConfirmations(confirmations: number, seen: boolean): Promise<void> {
    return this.#enqueue('confirmations', async () => {
      this.#confirmations = confirmations;
      this.#fundingSeen = this.#fundingSeen || seen;
      if (seen) await this.#adoptBroadcastFunding();
    });
  }

  /** The funding transaction reached the channel's minimum depth in block `blockHash` at `blockHeight`. */
  fundingDeep(blockHeight: number, blockHash: string, confirmations: number): Promise<void> {
    return this.#enqueue('funding-deep', async () => {
      this.#confirmations = confirmations;
      this.#fundingSeen = true;
      if (this.#abortedReason !== undefined || !this.#channel.isPending) return;
      await this.#adoptBroadcastFunding();
      const op = this.#channel.fundingOutpoint;
      const txids = await this.#deps.chain.getBlockTxids(blockHash);
      const txIndex = txids?.indexOf(op.txid) ?? -1;
      if (txIndex < 0) throw new Error(`funding transaction ${op.txid} is not in block ${blockHash}`);
      const scid = makeScid(blockHeight, txIndex, op.index);
      await this.#deps.store.markConfirmationHeight(op, blockHeight);
      await this.#deps.store.markOpen(op, scid);
      await this.#saveStage(OpeningStage.MarkedOpen, scid);
      await this.#refresh();
      this.#deps.log('info', 'funding confirmed', { channel_id: this.channelId, short_channel_id: formatScid(scid), block_height: blockHeight });
      if (!this.#synced) return; // sent after the next reestablish
      try {
        await this.#sendChannelReady();
      } catch (err) {
        this.#deps.log('info', 'channel_ready not sent (peer offline); it goes out after the next reestablish', { channel_id: this.channelId, error: (err as Error).message });
      }
    });
  }

  async #saveStage(stage: OpeningStage, scid: ShortChannelId): Promise<void> {
    const state: ChannelOpeningState = { stage, shortChannelId: scid };
    await this.#deps.store.saveChannelOpeningState(this.#channel.fundingOutpoint, state);
    this.#stage = stage;
  }

  async #refresh(): Promise<void> {
    this.#channel = await this.#deps.store.fetchChannel(this.#channel.fundingOutpoint);
  }

  #view(): ReestablishView {
    const producer = this.#deps.keys.shachainProducer(this.#channel.revocationKeyLocator);
    const theirs = ShachainStore.fromEntries(this.#channel.remoteRevocation.secrets);
    return {
      channelId: this.channelId,
      localCommitHeight: this.#channel.localCommitment.commitHeight,
      remoteCommitHeight: this.#channel.remoteCommitment.commitHeight,
      ourSecret: (n) => producer.perCommitmentSecret(BigInt(n)),
      theirSecret: (n) => theirs.perCommitmentSecret(BigInt(n)),
    };
  }

  async #sendReestablish(): Promise<void> {
    if (this.#reestablishSent || !this.#online) return;
    await this.#send(this.#core !== undefined ? nextReestablish(this.#core) : reestablishMessage(this.#view()));
    this.#reestablishSent = true;
  }

  #channelReady(): ChannelReady {
    const producer = this.#deps.keys.shachainProducer(this.#channel.revocationKeyLocator);
    return {
      type: 'channel_ready',
      channelId: this.channelId,
      secondPerCommitmentPoint: bytesToHex(producer.perCommitmentPoint(1n)),
      alias: aliasScid(this.channelId),
    };
  }

  async #sendChannelReady(): Promise<void> {
    await this.#send(this.#channelReady());
    if (this.#stage === OpeningStage.MarkedOpen) await this.#saveStage(OpeningStage.ChannelReadySent, this.#channel.shortChannelId);
    await this.#maybeOpen();
  }

  async #maybeOpen(): Promise<void> {
    if (this.#channel.isPending || this.#channel.remoteRevocation.nextPoint === undefined) return;
    if (this.#stage === OpeningStage.MarkedOpen) return; // our channel_ready is not sent yet
    if (this.#stage !== undefined) {
      await this.#deps.store.deleteChannelOpeningState(this.#channel.fundingOutpoint);
      this.#stage = undefined;
      this.#deps.log('info', 'channel open', { channel_id: this.channelId, short_channel_id: formatScid(this.#channel.shortChannelId) });
    }
    if (this.#core === undefined && this.isOpen) {
      await this.#loadCore();
      // Opened on this connection: both sides are in sync without a reestablish.
      const loaded = this.#core as CoreState | undefined;
      if (this.#synced && loaded !== undefined) this.#core = { ...loaded, synced: true };
      if (this.#synced) void this.#deps.htlcs.onSynced(this);
    }
  }

  async #onReestablish(msg: ChannelReestablish): Promise<void> {
    await this.#sendReestablish();
    if (this.#closeTx !== undefined) return; // closing on chain: nothing more to exchange
    if (this.#core !== undefined) {
      if (this.#failed !== undefined) {
        await this.#trySend({ type: 'error', channelId: this.channelId, data: utf8ToBytes(this.#failed) });
        return;
      }
      const failedBefore = this.#failed;
      await this.#step({ kind: 'peer_reestablish', message: msg });
      if (this.#failed !== failedBefore) {
        if ((this.#failed as string | undefined)?.startsWith('we-lost-data') === true) {
          // Never broadcast our (old) commitment: the peer holds a newer one and would punish it.
          await this.#deps.store.markDataLoss(this.#channel.fundingOutpoint, msg.myCurrentPerCommitmentPoint);
          await this.#refresh();
        }
        return;
      }
      this.#synced = true;
      this.#deps.log('info', 'channel reestablished', { channel_id: this.channelId });
      void this.#deps.htlcs.onSynced(this);
      this.#scheduleSign();
      await this.#advanceClose();
      return;
    }
    const decision = decideReestablish(this.#view(), msg, !this.#channel.isPending);
    switch (decision.kind) {
      case 'in-sync':
        this.#synced = true;
        this.#deps.log('info', 'channel reestablished', { channel_id: this.channelId, resend_channel_ready: decision.resendChannelReady });
        if (!this.#channel.isPending && (decision.resendChannelReady || this.#stage === OpeningStage.MarkedOpen)) await this.#sendChannelReady();
        return;
      case 'we-lost-data':
        // Never broadcast our (old) commitment: the peer holds a newer one and would punish it.
        await this.#deps.store.markDataLoss(this.#channel.fundingOutpoint, msg.myCurrentPerCommitmentPoint);
        await this.#refresh();
        this.#deps.log('error', 'peer proves we lost channel state; the channel is frozen and must be closed by the peer', { channel_id: this.channelId, reason: decision.reason });
        await this.#trySend({ type: 'error', channelId: this.channelId, data: utf8ToBytes(`we lost data: ${decision.reason}; please force close`) });
        return;
      case 'fail':
        this.#deps.log('error', 'channel_reestablish does not match our state', { channel_id: this.channelId, reason: decision.reason });
        await this.#trySend({ type: 'error', channelId: this.channelId, data: utf8ToBytes(decision.reason) });
        return;
    }
  }

  async #onChannelReady(msg: ChannelReady): Promise<void> {
    const stored = this.#channel.remoteRevocation.nextPoint;
    if (stored === msg.secondPerCommitmentPoint) return; // a BOLT 2 retransmission
    if (stored !== undefined) {
      this.#deps.log('warn', 'ignoring a channel_ready with another second point', { channel_id: this.channelId });
      return;
    }
    await this.#deps.store.insertNextRevocation(this.#channel.fundingOutpoint, msg.secondPerCommitmentPoint);
    await this.#refresh();
    this.#deps.log('info', 'received channel_ready', { channel_id: this.channelId });
    await this.#maybeOpen();
  }

  async #onError(msg: ErrorMsg): Promise<void> {
    const text = new TextDecoder().decode(msg.data);
    const ch = this.#channel;
    const ef = this.#external();
    if (ef !== undefined && !ef.submitted) {
      // The peer gave up before the user signed: end the flow now. closeChannel refuses a
      // submitted flow atomically (its funding may confirm), so a racing submit wins.
      try {
        await this.#deps.store.closeChannel(ch.fundingOutpoint, this.#summary(ClosureType.FundingCanceled, await this.#deps.chain.getTipHeight(), true));
      } catch (err) {
        if (isChandError(err, ErrorCode.EXTERNAL_FUNDING_SUBMITTED)) return this.#refresh();
        throw err;
      }
      clearTimeout(this.#deadlineTimer);
      this.#abortedReason = `the peer ended the open: ${text}`;
      this.#deps.log('info', 'external funding aborted by the peer', { channel_id: this.channelId, error: text });
      this.#deps.onAborted(this.channelId, ch);
      return;
    }
    if (ch.isPending && !ch.isInitiator) {
      // The funder gave up (or never stored the channel). As acceptor nothing of ours is in
      // the funding output, so once the chain confirms it never saw the funding transaction,
      // the channel can be forgotten.
      const status = await this.#deps.chain.getTxStatus(ch.fundingOutpoint.txid);
      if (status === undefined) {
        await this.#forget(`the funder sent error: ${text}`);
        return;
      }
    }
    this.#deps.log('error', 'peer sent error on the channel', { channel_id: this.channelId, error: text, pending: ch.isPending, initiator: ch.isInitiator });
    // BOLT 1: an `error` fails the channel, which means our commitment goes on chain — unless
    // the peer proved we lost data (our commitment is old: broadcasting it would be punished).
    if (this.#closeTx === undefined && (ch.status & ChannelStatus.LocalDataLoss) === 0) {
      this.#deps.closing.onChannelFailed(this.channelId, `the peer sent error: ${text}`);
    }
  }

  #summary(closeType: ClosureType, closeHeight: number, isPending: boolean): ChannelCloseSummary {
    const ch = this.#channel;
    return {
      chanPoint: ch.fundingOutpoint,
      shortChannelId: ch.shortChannelId,
      chainHash: ch.chainHash,
      closingTxid: '0'.repeat(64),
      remotePub: ch.identityPub,
      capacitySat: ch.capacitySat,
      closeHeight,
      settledBalanceSat: 0n,
      timeLockedBalanceSat: 0n,
      closeType,
      isPending,
      localConfig: ch.localConfig,
    };
  }

  async #forget(reason: string): Promise<void> {
    const ch = this.#channel;
    await this.#deps.store.closeChannel(ch.fundingOutpoint, this.#summary(ClosureType.FundingCanceled, await this.#deps.chain.getTipHeight(), false));
    await this.#deps.lifecycle.markChannelFullyClosed(ch.fundingOutpoint);
    this.#stopped = true;
    this.#deps.log('info', 'forgot an unfunded channel', { channel_id: this.channelId, reason });
    this.#deps.onForgotten(this.channelId);
  }

  // ---- Closing (BOLT 2 "Channel Close"): shutdown, closing_signed, and our commitment --------

  /**
   * Starts a cooperative close: stores our shutdown scriptpubkey (the upfront one if we sent
   * one, else `script`, else a fresh wallet script), then sends `shutdown` as soon as BOLT 2
   * allows (peer connected and reestablished, our updates committed). New HTLCs are refused
   * from now on; HTLCs in flight resolve first; then the funder starts the fee negotiation.
   * CHANNEL_NOT_ACTIVE if the channel is not open or already closing on chain.
   */
  shutdown(options: { script?: Uint8Array; feeratePerKw?: number }): Promise<{ deliveryScript: Uint8Array; alreadyClosing: boolean }> {
    return this.#call(async () => {
      if (this.#closeTx !== undefined) throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `channel ${this.channelId} is already closing on chain`);
      if (this.#core === undefined) throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `channel ${this.channelId} is not open yet: only a force close can end it now`);
      if (this.#failed !== undefined) throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `channel ${this.channelId} has failed (${this.#failed}): only a force close can end it`);
      if (this.#close?.ours !== undefined) {
        if (options.feeratePerKw !== undefined) this.#close.feeratePerKw = options.feeratePerKw;
        return { deliveryScript: this.#close.ours, alreadyClosing: true };
      }
      const upfront = this.#channel.localShutdownScript;
      let script = options.script;
      if (upfront !== undefined && upfront.length > 0) {
        if (script !== undefined && !sameBytes(script, upfront)) {
          throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `channel ${this.channelId} committed to an upfront shutdown script at open; close_script must be that one or omitted`);
        }
        script = upfront;
      }
      script ??= await this.#deps.closing.deliveryScript();
      const kind = classifyOutputScript(script);
      // BOLT 2's sender forms are segwit only; P2PKH/P2SH are accepted from old peers, never sent.
      const problem = kind === 'p2pkh' || kind === 'p2sh' ? `it is ${kind.toUpperCase()}, which a sender must not use` : shutdownScriptProblem(script, this.#deps.closing.peerFeatures(this.peerId));
      if (problem !== undefined) throw new RangeError(`expected a scriptpubkey BOLT 2 lets us send in shutdown, got one where ${problem}`);
      await this.#deps.store.storeShutdownInfo(this.#channel.fundingOutpoint, { deliveryScript: script, closer: this.#close?.closer ?? 'local' });
      this.#close ??= { ours: undefined, closer: 'local', sent: false, theirs: undefined, feeratePerKw: undefined, negotiation: undefined };
      this.#close.ours = script;
      this.#close.feeratePerKw = options.feeratePerKw;
      this.#deps.log('info', 'cooperative close requested', { channel_id: this.channelId });
      await this.#advanceClose();
      return { deliveryScript: script, alreadyClosing: false };
    });
  }

  /**
   * Broadcasts our latest commitment (stored first with markCommitmentBroadcasted, so a
   * restart rebroadcasts it). The channel takes no more updates. Refused after data loss: our
   * commitment is then an old one the peer could punish. Idempotent: a repeat returns the
   * stored commitment's txid.
   */
  forceClose(reason: string): Promise<{ txid: string }> {
    return this.#call(async () => {
      await this.#refresh();
      const ch = this.#channel;
      if ((ch.status & ChannelStatus.LocalDataLoss) !== 0) {
        throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `channel ${this.channelId} lost data: our commitment is outdated and broadcasting it would be punished; the peer must close`);
      }
      if (this.#closeTx?.kind === 'cooperative' || this.#closeTx?.kind === 'spent') {
        throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `channel ${this.channelId} is already closing on chain (${this.#closeTx.kind})`);
      }
      const { raw, txid } = signedLocalCommitment(ch, this.#deps.keys);
      if (this.#closeTx === undefined) {
        await this.#deps.store.markCommitmentBroadcasted(ch.fundingOutpoint, raw, 'local');
        this.#deps.crashPoint('after-store:commitment-broadcast');
        this.#closeTx = { txid, kind: 'commitment' };
        await this.#refresh();
        this.#deps.log('warn', 'force closing: our commitment goes on chain', { channel_id: this.channelId, txid, reason });
      }
      await this.#broadcastClose(raw, txid, 'commitment');
      return { txid };
    });
  }

  /** The funding output was spent on chain (by any transaction): no more updates, whatever the peer says. */
  fundingSpent(spendingTxid: string): Promise<void> {
    return this.#enqueue('funding-spent', async () => {
      if (this.#closeTx?.txid === spendingTxid) return;
      this.#closeTx = { txid: spendingTxid, kind: this.#closeTx?.kind ?? 'spent' };
      this.#deps.log('info', 'the funding output was spent on chain', { channel_id: this.channelId, spending_txid: spendingTxid });
    });
  }

  #closeSnapshot(): CloseSnapshot | undefined {
    const c = this.#close;
    if (c === undefined && this.#closeTx === undefined) return undefined;
    const core = this.#core;
    const htlcs = core === undefined ? 0 : new Set([...core.localCommit.htlcs, ...core.remoteCommit.htlcs, ...(core.remoteTip?.commitment.htlcs ?? [])].map((h) => `${h.incoming}:${h.htlcIndex}`)).size;
    return {
      phase: this.#closeTx !== undefined ? 'closing_tx_broadcast' : c?.negotiation !== undefined ? 'negotiating' : 'shutting_down',
      closer: c?.closer,
      waitingForHtlcs: htlcs,
      lastFeeSat: c?.negotiation?.lastSentFeeSat,
      closeTxid: this.#closeTx?.txid,
    };
  }

  async #onShutdown(msg: Shutdown): Promise<void> {
    if (this.#closeTx !== undefined) return;
    if (this.#core === undefined) {
      await this.#trySend({ type: 'warning', channelId: this.channelId, data: utf8ToBytes('shutdown before the channel is open is not supported by chand; the channel stays pending') });
      return;
    }
    const features = this.#deps.closing.peerFeatures(this.peerId);
    const problem = shutdownScriptProblem(msg.scriptPubkey, features);
    if (problem !== undefined) {
      // BOLT 2: "if the scriptpubkey is not in one of the above forms: SHOULD send a warning".
      await this.#trySend({ type: 'warning', channelId: this.channelId, data: utf8ToBytes(`shutdown refused: ${problem}`) });
      return;
    }
    const upfront = this.#channel.remoteShutdownScript;
    if (features.upfrontShutdown && upfront !== undefined && upfront.length > 0 && !sameBytes(upfront, msg.scriptPubkey)) {
      // BOLT 2: a script other than the upfront one: "MAY send a warning. MUST fail the connection."
      await this.#trySend({ type: 'warning', channelId: this.channelId, data: utf8ToBytes('shutdown scriptpubkey differs from the upfront_shutdown_script of the open') });
      return;
    }
    const c = (this.#close ??= { ours: undefined, closer: 'remote', sent: false, theirs: undefined, feeratePerKw: undefined, negotiation: undefined });
    if (c.theirs !== undefined) {
      if (!sameBytes(c.theirs, msg.scriptPubkey)) await this.#trySend({ type: 'warning', channelId: this.channelId, data: utf8ToBytes('a second shutdown with another scriptpubkey') });
      return;
    }
    c.theirs = msg.scriptPubkey.slice();
    this.#deps.log('info', 'peer sent shutdown', { channel_id: this.channelId });
    await this.#advanceClose();
  }

  /** Moves the close forward as far as BOLT 2 allows now; called after every step that may unblock it. */
  async #advanceClose(): Promise<void> {
    const c = this.#close;
    const core = this.#core;
    if (c === undefined || core === undefined || this.#closeTx !== undefined || this.#failed !== undefined) return;
    if (!this.#synced || !this.#online) return;
    const summary = coreSummary(core);
    if (c.ours === undefined) {
      // BOLT 2: "once there are no outstanding updates on the peer ... MUST reply to a shutdown with a shutdown".
      if (summary.pendingRemoteUpdates > 0) return;
      const upfront = this.#channel.localShutdownScript;
      const script = upfront !== undefined && upfront.length > 0 ? upfront : await this.#deps.closing.deliveryScript();
      await this.#deps.store.storeShutdownInfo(this.#channel.fundingOutpoint, { deliveryScript: script, closer: 'remote' });
      c.ours = script;
    }
    if (!c.sent) {
      // BOLT 2: no shutdown while updates are pending on the receiving node's commitment.
      if (summary.pendingLocalUpdates > 0) return this.#scheduleSign();
      await this.#send({ type: 'shutdown', channelId: this.channelId, scriptPubkey: c.ours });
      c.sent = true;
      this.#deps.log('info', 'shutdown sent', { channel_id: this.channelId, closer: c.closer });
    }
    if (c.theirs === undefined || c.negotiation !== undefined) return;
    const noHtlcs =
      core.localCommit.htlcs.length === 0 && core.remoteCommit.htlcs.length === 0 && core.remoteTip === undefined && core.ourLog.length === 0 && core.theirLog.length === 0;
    if (!noHtlcs) return;
    const ch = this.#channel;
    const fundingLocator = ch.localConfig.multiSigKey.locator;
    if (fundingLocator === undefined) throw new RangeError(`channel ${this.channelId} has no locator for our funding key`);
    const base = {
      fundingOutpoint: ch.fundingOutpoint,
      fundingAmountSat: ch.capacitySat,
      localFundingPubkey: hexToBytes(ch.localConfig.multiSigKey.pubkey),
      remoteFundingPubkey: hexToBytes(ch.remoteConfig.multiSigKey.pubkey),
      weAreFunder: ch.isInitiator,
      localScript: c.ours,
      remoteScript: c.theirs,
      localBalanceMsat: core.localCommit.localBalanceMsat,
      remoteBalanceMsat: core.localCommit.remoteBalanceMsat,
      localDustLimitSat: ch.localConfig.dustLimitSat,
      remoteDustLimitSat: ch.remoteConfig.dustLimitSat,
    };
    const rates = await this.#deps.closing.feerates();
    const target = c.feeratePerKw ?? rates.target;
    const fees = feeRangeFor(base, { min: Math.min(rates.min, target), target, max: Math.max(rates.max, target) });
    c.negotiation = new ClosingNegotiation({ ...base, ...fees }, (digest) => this.#deps.keys.signDigest(fundingLocator, digest));
    this.#deps.log('info', 'closing fee negotiation starts', { channel_id: this.channelId, funder: ch.isInitiator, fee_sat: fees.ourFeeSat, min_fee_sat: fees.ourFeeRange.minFeeSat, max_fee_sat: fees.ourFeeRange.maxFeeSat });
    if (ch.isInitiator) await this.#negotiationStep(c.negotiation.start());
  }

  async #onClosingSigned(msg: ClosingSigned): Promise<void> {
    if (this.#closeTx !== undefined) return; // a retransmission after we finished
    clearTimeout(this.#negotiationTimer);
    await this.#advanceClose();
    const negotiation = this.#close?.negotiation;
    if (negotiation === undefined) {
      await this.#trySend({ type: 'warning', channelId: this.channelId, data: utf8ToBytes('closing_signed before both shutdowns were exchanged and every HTLC resolved') });
      return;
    }
    await this.#negotiationStep(negotiation.onClosingSigned(msg));
  }

  async #negotiationStep(stepResult: NegotiationStep): Promise<void> {
    const closingSigned = (m: { feeSat: bigint; signature: Uint8Array; feeRange: { minFeeSat: bigint; maxFeeSat: bigint } }): ClosingSigned => ({
      type: 'closing_signed',
      channelId: this.channelId,
      feeSat: m.feeSat,
      signature: m.signature,
      feeRange: m.feeRange,
    });
    switch (stepResult.action) {
      case 'send':
        await this.#send(closingSigned(stepResult.message));
        this.#armNegotiationTimer(stepResult.message.feeSat);
        return;
      case 'send_and_done':
        // Persist before send: the peer can broadcast as soon as it has our signature.
        await this.#coopDone(stepResult.closingTx, stepResult.txid, stepResult.feeSat);
        await this.#trySend(closingSigned(stepResult.message));
        return;
      case 'done':
        await this.#coopDone(stepResult.closingTx, stepResult.txid, stepResult.feeSat);
        return;
      case 'fail':
        this.#deps.log('warn', 'closing negotiation failed', { channel_id: this.channelId, reason: stepResult.reason, warning: stepResult.warning });
        if (stepResult.warning) {
          await this.#trySend({ type: 'warning', channelId: this.channelId, data: utf8ToBytes(stepResult.reason) });
          if (this.#close !== undefined) this.#close.negotiation = undefined;
          return;
        }
        return this.#failChannel(`closing negotiation failed: ${stepResult.reason}`);
    }
  }

  #armNegotiationTimer(feeSat: bigint): void {
    clearTimeout(this.#negotiationTimer);
    const negotiation = this.#close?.negotiation;
    const ms = this.#deps.closing.negotiationTimeoutMs ?? NEGOTIATION_TIMEOUT_MS;
    this.#negotiationTimer = setTimeout(() => {
      void this.#enqueue('closing-timeout', async () => {
        // Still the same negotiation, unanswered (an answer, a disconnect or the end clears it).
        if (this.#close?.negotiation !== negotiation || negotiation?.lastSentFeeSat !== feeSat || this.#closeTx !== undefined) return;
        await this.#failChannel(`no closing_signed answer within ${Math.round(ms / 1000)} s`);
      });
    }, ms);
  }

  async #coopDone(raw: Uint8Array, txid: string, feeSat: bigint): Promise<void> {
    const closer = this.#close?.closer ?? 'local';
    await this.#deps.store.markCoopBroadcasted(this.#channel.fundingOutpoint, raw, closer);
    this.#deps.crashPoint('after-store:coop-close');
    this.#closeTx = { txid, kind: 'cooperative' };
    await this.#refresh();
    this.#deps.log('info', 'cooperative close agreed', { channel_id: this.channelId, txid, fee_sat: feeSat, closer });
    await this.#broadcastClose(raw, txid, 'cooperative');
  }

  async #broadcastClose(raw: Uint8Array, txid: string, kind: 'cooperative' | 'commitment'): Promise<void> {
    try {
      await this.#deps.chain.broadcast(raw);
      this.#deps.log('info', `${kind === 'cooperative' ? 'cooperative close' : 'commitment'} transaction broadcast`, { channel_id: this.channelId, txid });
    } catch (err) {
      this.#deps.log('warn', 'closing transaction broadcast failed; it is retried at start', { channel_id: this.channelId, txid, error: (err as Error).message });
    }
  }

  /** Fails the channel for good: Borked (survives restarts), `error` to the peer, and the node force closes. */
  async #failChannel(reason: string): Promise<void> {
    this.#failed = `failed: ${reason}`;
    this.#deps.log('error', 'failing the channel', { channel_id: this.channelId, reason });
    await this.#deps.store.markBorked(this.#channel.fundingOutpoint);
    await this.#refresh();
    await this.#trySend({ type: 'error', channelId: this.channelId, data: utf8ToBytes(reason) });
    this.#deps.closing.onChannelFailed(this.channelId, reason);
  }

  // ---- HTLC updates (BOLT 2 normal operation), through the pure core -------------------

  #signer(): CoreSigner {
    const ch = this.#channel;
    const keys = this.#deps.keys;
    const producer = keys.shachainProducer(ch.revocationKeyLocator);
    const fundingLocator = ch.localConfig.multiSigKey.locator;
    const htlcLocator = ch.localConfig.htlcBasePoint.locator;
    if (fundingLocator === undefined || htlcLocator === undefined) throw new RangeError(`channel ${this.channelId} has no key locators for our keys`);
    return {
      signFunding: (digest) => keys.signDigest(fundingLocator, digest),
      signHtlc: (point, digest) => keys.signDigestTweaked(htlcLocator, point, digest),
      perCommitmentSecret: (n) => producer.perCommitmentSecret(BigInt(n)),
    };
  }

  /** Rebuilds the core from the store: at start, when the channel opens, and after a failed write. */
  async #loadCore(): Promise<void> {
    const op = this.#channel.fundingOutpoint;
    this.#channel = await this.#deps.store.fetchChannel(op);
    let remoteTip: CommitDiff | undefined;
    try {
      remoteTip = await this.#deps.store.remoteCommitChainTip(op);
    } catch (err) {
      if (!isChandError(err, ErrorCode.NO_PENDING_COMMIT)) throw err;
    }
    const [unsignedAckedUpdates, remoteUnsignedLocalUpdates] = await Promise.all([
      this.#deps.store.unsignedAckedUpdates(op),
      this.#deps.store.remoteUnsignedLocalUpdates(op),
    ]);
    const { secretToPoint } = this.#deps;
    this.#core = coreFromStore(
      { channel: this.#channel, remoteTip, unsignedAckedUpdates, remoteUnsignedLocalUpdates },
      this.#signer(),
      secretToPoint === undefined ? {} : { secretToPoint },
    );
    const status = this.#channel.status;
    if ((status & ChannelStatus.Borked) !== 0) this.#failed ??= 'the channel was failed earlier (borked): it takes no more updates';
    else if ((status & ChannelStatus.LocalDataLoss) !== 0) this.#failed ??= 'we-lost-data: the peer proved a newer state; the channel is frozen until it closes';
  }

  /**
   * Runs one core step and its effects in order, each persist awaited before the next effect
   * (persist before send). If a write fails, the in-memory state is rebuilt from the store and
   * the channel waits for the next reestablish, which resends whatever the peer lacks.
   */
  async #step(event: CoreEvent): Promise<CoreEffect[]> {
    const core = this.#core;
    if (core === undefined) throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `channel ${this.channelId} is not open`);
    const result = step(core, event);
    this.#core = result.state;
    const op = this.#channel.fundingOutpoint;
    const pkgs: FwdPkg[] = [];
    const answers: CoreEffect[] = [];
    try {
      for (const effect of result.effects) {
        switch (effect.kind) {
          case 'persist_remote_commit':
            await this.#deps.store.appendRemoteCommitChain(op, effect.diff);
            this.#deps.crashPoint('after-store:remote-commit');
            break;
          case 'persist_revocation':
            await this.#deps.store.advanceCommitChainTail(op, effect.args);
            this.#deps.crashPoint('after-store:revocation');
            pkgs.push(effect.args.fwdPkg);
            break;
          case 'persist_local_commit':
            await this.#deps.store.updateCommitment(op, effect.commitment, effect.unsignedAckedUpdates);
            this.#deps.crashPoint('after-store:local-commit');
            break;
          case 'send':
            if (this.#online) await this.#trySend(effect.message);
            this.#deps.crashPoint(`after-send:${effect.message.type}`);
            break;
          case 'preimage_received':
            await this.#deps.htlcs.onPreimage(this.channelId, effect.htlcId, effect.preimage);
            break;
          case 'htlc_forgotten':
            await this.#deps.htlcs.onForgotten(this.channelId, effect.htlcId);
            break;
          case 'resend_channel_ready':
            await this.#sendChannelReady();
            break;
          case 'fail_channel':
            this.#failed = `${effect.code}: ${effect.reason}`;
            this.#deps.log('error', 'the peer broke the channel protocol; the channel takes no more updates', { channel_id: this.channelId, code: effect.code, reason: effect.reason });
            // BOLT 1: after our `error` the channel is failed for good, across restarts too
            // (data loss is recorded by markDataLoss instead, with the peer's point).
            if (effect.code !== 'we-lost-data') await this.#deps.store.markBorked(op);
            await this.#trySend({ type: 'error', channelId: this.channelId, data: utf8ToBytes(effect.reason) });
            if (effect.code !== 'we-lost-data') this.#deps.closing.onChannelFailed(this.channelId, this.#failed);
            break;
          default:
            answers.push(effect);
        }
      }
    } catch (err) {
      this.#deps.log('error', 'a channel update could not be stored; state reloaded from the store', { channel_id: this.channelId, error: (err as Error).message, code: (err as { code?: unknown }).code });
      this.#synced = false;
      this.#reestablishSent = false;
      await this.#loadCore();
      throw err;
    }
    for (const pkg of pkgs) void this.#deps.htlcs.onFwdPkg(this, pkg);
    return answers;
  }

  /** Sends commitment_signed soon, once the events queued now are handled (so updates batch into one round). */
  #scheduleSign(): void {
    if (this.#signScheduled) return;
    this.#signScheduled = true;
    setImmediate(() => {
      void this.#enqueue('sign', async () => {
        this.#signScheduled = false;
        if (this.#core === undefined || !this.#synced || !this.#online || this.#failed !== undefined || this.#closeTx !== undefined) return;
        await this.#step({ kind: 'sign' });
        await this.#advanceClose();
      });
    });
  }

  /** ChannelLink: the short channel id (0n while pending). */
  shortChannelId(): bigint {
    return this.#channel.shortChannelId;
  }

  /** ChannelLink: open, reestablished with a connected peer, not failed, not closing on chain. */
  canUpdate(): boolean {
    return this.#core !== undefined && this.#synced && this.#online && this.#failed === undefined && this.#closeTx === undefined && !this.#stopped;
  }

  /** ChannelLink: canUpdate and no shutdown either way (BOLT 2: no update_add_htlc after shutdown). */
  canOffer(): boolean {
    return this.canUpdate() && this.#close === undefined;
  }

  /** ChannelLink: an estimate of what we can offer now (the core has the last word). */
  availableMsat(): bigint {
    const core = this.#core;
    if (core === undefined) return 0n;
    const s = coreSummary(core);
    const reserveMsat = this.#channel.localConfig.chanReserveSat * 1000n;
    const feeMsat = this.#channel.isInitiator ? commitmentFee(s.feePerKw, s.pendingHtlcs.length + 1) * 1000n * 2n : 0n;
    const outgoingUnsigned = core.ourLog.reduce((sum, e) => (e.update.type === 'update_add_htlc' ? sum + e.update.amountMsat : sum), 0n);
    const available = s.localBalanceMsat - reserveMsat - feeMsat - outgoingUnsigned;
    return available > 0n ? available : 0n;
  }

  /** ChannelLink: offers an HTLC; see ChannelLink.offerHtlc. */
  offerHtlc(request: OfferRequest, beforeOffer: (htlcId: number) => Promise<void>): Promise<number> {
    return this.#call(async () => {
      if (!this.canOffer()) {
        const why = this.#failed ?? (this.#closeTx !== undefined || this.#close !== undefined ? 'closing' : this.#core === undefined ? 'not open' : 'peer not connected and reestablished');
        throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `channel ${this.channelId} cannot take new HTLCs now (${why})`);
      }
      const htlcId = nextHtlcId(this.#core!);
      await beforeOffer(htlcId);
      const answers = await this.#step({ kind: 'offer_htlc', ...request });
      this.#scheduleSign();
      for (const a of answers) {
        if (a.kind === 'offered') return a.htlcId;
        if (a.kind === 'offer_refused') throw Object.assign(new ChandError(ErrorCode.HTLC_REFUSED, `the HTLC was not offered: ${a.reason}`), { reason: a.reason });
      }
      throw new Error(`the channel core did not answer offer_htlc on ${this.channelId}`);
    });
  }

  /** ChannelLink: fulfills or fails an incoming, locked-in HTLC. A repeat of a resolution already in the log is ignored. */
  resolveHtlc(htlcId: number, resolution: Resolution, addRef: AddRef): Promise<void> {
    return this.#call(async () => {
      if (!this.canUpdate()) return; // resolved again after the next reestablish
      const event: CoreEvent =
        resolution.kind === 'fulfill'
          ? { kind: 'fulfill_htlc', htlcId, preimage: resolution.preimage, addRef }
          : resolution.kind === 'fail'
            ? { kind: 'fail_htlc', htlcId, reason: resolution.reason, addRef }
            : { kind: 'fail_malformed_htlc', htlcId, sha256OfOnion: resolution.sha256OfOnion, failureCode: resolution.failureCode, addRef };
      const answers = await this.#step(event);
      for (const a of answers) {
        if (a.kind === 'update_refused') this.#deps.log('debug', 'HTLC resolution not queued', { channel_id: this.channelId, htlc_id: htlcId, reason: a.reason });
      }
      this.#scheduleSign();
    });
  }

  /** ChannelLink: whether our HTLC is in a commitment either side signed. */
  hasOutgoingHtlc(htlcId: number, paymentHash: string): boolean {
    const core = this.#core;
    const commitments = core === undefined
      ? [this.#channel.localCommitment, this.#channel.remoteCommitment]
      : [core.localCommit, core.remoteCommit, ...(core.remoteTip === undefined ? [] : [core.remoteTip.commitment])];
    return commitments.some((c) => c.htlcs.some((h) => !h.incoming && h.htlcIndex === htlcId && h.paymentHash === paymentHash));
  }

  async #send(message: WireMessage): Promise<void> {
    await this.#deps.send(this.peerId, message);
    this.#deps.crashPoint(`after-send:${message.type}`);
  }

  /** Sends, logging (not throwing) if the peer is gone: the next reestablish repeats what matters. */
  async #trySend(message: WireMessage): Promise<void> {
    try {
      await this.#deps.send(this.peerId, message);
    } catch (err) {
      this.#deps.log('debug', `could not send ${message.type}`, { channel_id: this.channelId, error: (err as Error).message });
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
