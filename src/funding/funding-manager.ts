/**
 * The funding manager: BOLT 2 channel establishment v1 for opens funded from the node's
 * wallet, both as initiator and as acceptor, up to the moment the pending channel is stored.
 * From there a channel actor takes over (confirmations, channel_ready, reestablish).
 *
 * Ordering, which is what makes a crash at any moment safe:
 *
 *   initiator: open_channel → accept_channel (checked) → funding tx built and signed, its
 *     coins reserved → funding_created (our signature of the peer's commitment: harmless
 *     before broadcast) → funding_signed (the peer's signature of ours, checked) → the pending
 *     channel, with the signed funding tx, stored in one coordinator transaction → broadcast.
 *   acceptor: open_channel (checked) → accept_channel → funding_created (signature checked)
 *     → pending channel stored → funding_signed.
 *
 * Nothing is stored before the channel is, so a crash earlier leaves no trace on our side.
 * The initiator never broadcasts before it holds a valid signature of its own commitment
 * (its refund), and stores the transaction before broadcasting it, so the node rebroadcasts
 * it at start. The acceptor stores the channel before sending funding_signed, so a funder
 * that broadcasts finds a peer that knows the channel. If the acceptor stored the channel
 * and the funder never got funding_signed, the funder answers the acceptor's next
 * channel_reestablish with `error`, and the acceptor forgets the unfunded channel.
 *
 * Negotiations live in memory, keyed by peer and temporary channel id, and end when the peer
 * disconnects, refuses with `error`, or does not answer within `negotiationTimeoutMs`.
 */
import { randomBytes } from 'node:crypto';
import { commitmentSighash, verifyCommitmentSignature } from '../bitcoin/commitment.js';
import type { FundingUtxo } from '../bitcoin/funding.js';
import { createFundingPsbt, type FundingPsbt } from '../bitcoin/psbt-funding.js';
import type { KeyChain } from '../bitcoin/key-chain.js';
import { hexToBytes, bytesToHex } from '../codec/bytes.js';
import type { Chain } from '../chain/chain.js';
import { feeRateForTarget } from '../chain/fee-estimates.js';
import type { KeyIndexStore } from '../chanstate/store.js';
import type { OpenChannel } from '../chanstate/types.js';
import type { ChannelLifecycle } from '../channelcoord/coordinator.js';
import { ChandError, ErrorCode, isChandError } from '../errors.js';
import type { NodeWallet } from '../wallet/node-wallet.js';
import type {
  AcceptChannel,
  ErrorMsg,
  FundingCreated,
  FundingSigned,
  OpenChannel as OpenChannelMsg,
  WireMessage,
} from '../wire/types.js';
import type { LogFn } from '../channel/channel-actor.js';
import {
  checkAcceptChannel,
  checkOpenChannel,
  MAX_ACCEPTED_HTLCS,
  MAX_FUNDING_SAT,
  MIN_FEERATE_PER_KW,
  OUR_DUST_LIMIT_SAT,
  ourChannelType,
  reserveFor,
  type ChannelPolicy,
} from './channel-params.js';
import { buildInitialCommitments, finalChannelId, pendingChannelRecord, type ChannelTerms, type SideParams } from './initial-channel.js';

/** What the funding manager needs from the node: narrow facets, no database. */
export interface FundingManagerDeps {
  readonly chainHash: string;
  readonly keyChain: KeyChain;
  readonly coordinator: Pick<ChannelLifecycle, 'syncPendingChannel'>;
  readonly keyIndexes: KeyIndexStore;
  readonly wallet: Pick<NodeWallet, 'fundChannel' | 'release'>;
  readonly chain: Pick<Chain, 'broadcast' | 'getTipHeight' | 'getFeeEstimates'>;
  readonly peers: {
    send(peerId: string, message: WireMessage): Promise<void>;
    isOnline(peerId: string): boolean;
    /** The address we dialed the peer at (kept in its link node for reconnection), if we dialed it. */
    dialedAddress(peerId: string): string | undefined;
  };
  readonly policy: ChannelPolicy;
  readonly log: LogFn;
  /** A channel was stored (pending): the node starts its actor on the live connection. */
  readonly onChannelStored: (channel: OpenChannel) => Promise<void>;
  /** Test hook: a named point where a test may kill the process. */
  readonly crashPoint: (name: string) => void;
  readonly negotiationTimeoutMs?: number;
  /** The clock of deadlines (UNIX ms). */
  readonly now: () => number;
}

/** The user's coins of an externally signed open (DESIGN.md "External funding (PSBT)"). */
export interface ExternalFundingRequest {
  /** Segwit coins (P2WPKH or P2TR) with value and script, so the txid is fixed before signing. */
  readonly utxos: readonly FundingUtxo[];
  readonly changeScript: Uint8Array;
  readonly feeRateSatPerVb: number;
  /** The deadline is now + timeoutMs when the pending channel is stored. */
  readonly timeoutMs: number;
}

/** An open request, validated at the RPC edge. */
export interface OpenRequest {
  readonly peerId: string;
  readonly fundingAmountSat: bigint;
  readonly pushMsat: bigint;
  readonly fundingFeeRateSatPerVb?: number;
  /** Funded by a PSBT the user signs elsewhere instead of the node's wallet. */
  readonly external?: ExternalFundingRequest;
}

/** The result of a successful open: stored and broadcast (or to be rebroadcast), or, for an external open, stored with its PSBT to sign. */
export interface OpenResult {
  readonly temporaryChannelId: string;
  readonly channelId: string;
  readonly fundingTxid: string;
  readonly fundingOutputIndex: number;
  /** External opens: the unsigned funding PSBT and the submit deadline (UNIX ms). */
  readonly psbt?: Uint8Array;
  readonly expiresAtMs?: number;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

interface OutgoingOpen {
  readonly peerId: string;
  readonly temporaryChannelId: string;
  /** Set once funding_created is sent: funding_signed carries the final id. */
  channelId?: string;
  waiter?: Waiter<AcceptChannel | FundingSigned>;
  expecting: 'accept_channel' | 'funding_signed';
}

interface IncomingOpen {
  readonly peerId: string;
  readonly open: OpenChannelMsg;
  readonly ours: SideParams;
  readonly keyIndex: number;
  readonly timer: NodeJS.Timeout;
}

const DEFAULT_NEGOTIATION_TIMEOUT_MS = 60_000;
/** An acceptor forgets an open_channel whose funding_created does not come within this. */
const INCOMING_OPEN_TTL_MS = 10 * 60_000;

function failed(message: string, cause?: unknown): ChandError {
  return new ChandError(ErrorCode.CHANNEL_OPEN_FAILED, message, cause === undefined ? undefined : { cause });
}

/** A request value the node refuses (the RPC edge reports it as -32602 naming `field`). */
function invalidParam(field: string, problem: string): ChandError {
  return Object.assign(new ChandError(ErrorCode.INVALID_PARAMS, `params.${field}: ${problem}`), { field });
}

function errorText(msg: ErrorMsg): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(msg.data);
  return /^[\x20-\x7e]*$/.test(text) ? text : bytesToHex(msg.data);
}

/** See the module comment. */
export class FundingManager {
  readonly #deps: FundingManagerDeps;
  readonly #timeoutMs: number;
  /** key: peerId + temporary id (and, after funding_created, peerId + final id) */
  readonly #outgoing = new Map<string, OutgoingOpen>();
  readonly #incoming = new Map<string, IncomingOpen>();

  constructor(deps: FundingManagerDeps) {
    this.#deps = deps;
    this.#timeoutMs = deps.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS;
  }

  /** Opens in progress, for list_channels ("negotiating"). */
  negotiations(): Array<{ peerId: string; temporaryChannelId: string; isInitiator: boolean; fundingSat: bigint }> {
    const out: Array<{ peerId: string; temporaryChannelId: string; isInitiator: boolean; fundingSat: bigint }> = [];
    for (const n of new Set(this.#outgoing.values())) out.push({ peerId: n.peerId, temporaryChannelId: n.temporaryChannelId, isInitiator: true, fundingSat: 0n });
    for (const n of this.#incoming.values()) out.push({ peerId: n.peerId, temporaryChannelId: n.open.temporaryChannelId, isInitiator: false, fundingSat: n.open.fundingSat });
    return out;
  }

  #ourSide(keyIndex: number, capacitySat: bigint, reserveSat: bigint, dustLimitSat: bigint): SideParams {
    const keys = this.#deps.keyChain.channelKeys(keyIndex);
    const producer = this.#deps.keyChain.shachainProducer(keys.shachainRoot);
    return {
      dustLimitSat,
      maxHtlcValueInFlightMsat: capacitySat * 1000n,
      channelReserveSat: reserveSat,
      htlcMinimumMsat: this.#deps.policy.htlcMinimumMsat,
      toSelfDelay: this.#deps.policy.toSelfDelay,
      maxAcceptedHtlcs: MAX_ACCEPTED_HTLCS,
      fundingPubkey: keys.funding.pubkey,
      revocationBasepoint: keys.revocationBasepoint.pubkey,
      paymentBasepoint: keys.paymentBasepoint.pubkey,
      delayedPaymentBasepoint: keys.delayedPaymentBasepoint.pubkey,
      htlcBasepoint: keys.htlcBasepoint.pubkey,
      firstPerCommitmentPoint: bytesToHex(producer.perCommitmentPoint(0n)),
    };
  }

  async #commitmentFeeratePerKw(): Promise<number> {
    const satPerVb = feeRateForTarget(await this.#deps.chain.getFeeEstimates(), 6);
    return Math.max(MIN_FEERATE_PER_KW, Math.ceil(satPerVb * 250));
  }

  async #send(peerId: string, message: WireMessage): Promise<void> {
    await this.#deps.peers.send(peerId, message);
    this.#deps.crashPoint(`after-send:${message.type}`);
  }

  async #sendError(peerId: string, channelId: string, reason: string): Promise<void> {
    try {
      await this.#deps.peers.send(peerId, { type: 'error', channelId, data: new TextEncoder().encode(reason) });
    } catch {
      // The peer is gone; it forgets the open on disconnect too.
    }
  }

  #await<T extends AcceptChannel | FundingSigned>(n: OutgoingOpen, expecting: OutgoingOpen['expecting']): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(failed(`the peer did not answer with ${expecting} within ${this.#timeoutMs / 1000} s`)), this.#timeoutMs);
      n.expecting = expecting;
      n.waiter = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /**
   * Opens a channel funded from the node's wallet. Resolves once the pending channel is
   * stored and its funding transaction handed to the chain (a failed broadcast is retried at
   * every start). ChandError CHANNEL_OPEN_FAILED, PEER_NOT_CONNECTED or INSUFFICIENT_FUNDS;
   * on failure nothing is stored and the coins are released.
   */
  async openChannel(request: OpenRequest): Promise<OpenResult> {
    const { peerId, fundingAmountSat, pushMsat } = request;
    if (!this.#deps.peers.isOnline(peerId)) throw new ChandError(ErrorCode.PEER_NOT_CONNECTED, `peer ${peerId} is not connected; connect_peer first`);
    if (fundingAmountSat > MAX_FUNDING_SAT) throw invalidParam('funding_amount_sat', `expected less than 2^24 sat (16777216; large channels are not supported), got ${fundingAmountSat}`);
    if (fundingAmountSat < this.#deps.policy.minChannelSizeSat) throw invalidParam('funding_amount_sat', `expected at least ${this.#deps.policy.minChannelSizeSat} sat, got ${fundingAmountSat}`);
    if (pushMsat < 0n || pushMsat > fundingAmountSat * 1000n) throw invalidParam('push_amount_msat', `expected 0..${fundingAmountSat * 1000n} msat, got ${pushMsat}`);

    const temporaryChannelId = bytesToHex(randomBytes(32));
    const keyIndex = await this.#deps.keyIndexes.nextChannelKeyIndex();
    const feeratePerKw = await this.#commitmentFeeratePerKw();
    const fundingFeeratePerKw =
      request.fundingFeeRateSatPerVb !== undefined ? Math.max(MIN_FEERATE_PER_KW, Math.ceil(request.fundingFeeRateSatPerVb * 250)) : feeratePerKw;
    const ours = this.#ourSide(keyIndex, fundingAmountSat, reserveFor(fundingAmountSat, OUR_DUST_LIMIT_SAT), OUR_DUST_LIMIT_SAT);
    // SideParams carries exactly the per-side fields of open_channel/accept_channel, by their wire names.
    const open: OpenChannelMsg = {
      type: 'open_channel',
      chainHash: this.#deps.chainHash,
      temporaryChannelId,
      fundingSat: fundingAmountSat,
      pushMsat,
      feeratePerKw,
      ...ours,
      channelFlags: 0,
      upfrontShutdownScript: new Uint8Array(0),
      channelType: ourChannelType(),
    };
    const n: OutgoingOpen = { peerId, temporaryChannelId, expecting: 'accept_channel' };
    const tempKey = `${peerId}:${temporaryChannelId}`;
    this.#outgoing.set(tempKey, n);
    let finalKey: string | undefined;
    try {
      const acceptP = this.#await<AcceptChannel>(n, 'accept_channel');
      await this.#send(peerId, open);
      const accept = await acceptP;
      const problem = checkAcceptChannel(accept, open, this.#deps.policy);
      if (problem !== undefined) {
        await this.#sendError(peerId, temporaryChannelId, problem);
        throw failed(`the peer's accept_channel is unacceptable: ${problem}`);
      }
      const keys = this.#deps.keyChain.channelKeys(keyIndex);
      const fundingKeys = { localFundingPubkey: hexToBytes(ours.fundingPubkey), remoteFundingPubkey: hexToBytes(accept.fundingPubkey) };
      const external = request.external;
      const funded: FundingPsbt & { signedTx?: Uint8Array } =
        external === undefined
          ? await this.#deps.wallet.fundChannel({ owner: temporaryChannelId, fundingAmountSat, ...fundingKeys, feeratePerKw: fundingFeeratePerKw })
          : this.#externalPsbt(external, fundingAmountSat, fundingKeys);
      const fundingOutpoint = { txid: funded.funding.txid, index: funded.funding.fundingOutputIndex };
      const terms: ChannelTerms = {
        isInitiator: true,
        chainHash: this.#deps.chainHash,
        peerId,
        capacitySat: fundingAmountSat,
        pushMsat,
        feeratePerKw,
        minimumDepth: accept.minimumDepth,
        channelFlags: open.channelFlags,
        ours,
        theirs: sideOf(accept),
        keys,
      };
      const commitments = buildInitialCommitments(terms, fundingOutpoint);
      const ourSignature = this.#deps.keyChain.signDigest(keys.funding.locator, commitmentSighash(commitments.remote));
      const channelId = finalChannelId(fundingOutpoint);
      n.channelId = channelId;
      finalKey = `${peerId}:${channelId}`;
      this.#outgoing.set(finalKey, n);
      const signedP = this.#await<FundingSigned>(n, 'funding_signed');
      await this.#send(peerId, {
        type: 'funding_created',
        temporaryChannelId,
        fundingTxid: fundingOutpoint.txid,
        fundingOutputIndex: fundingOutpoint.index,
        signature: ourSignature,
      });
      const signed = await signedP;
      if (!verifyCommitmentSignature(commitments.local, signed.signature, hexToBytes(accept.fundingPubkey))) {
        await this.#sendError(peerId, channelId, 'funding_signed signature does not verify for our commitment');
        throw failed("the peer's funding_signed signature does not verify for our commitment; nothing was broadcast");
      }
      const tip = await this.#deps.chain.getTipHeight();
      const externalFunding =
        external === undefined ? undefined : { unsignedPsbt: funded.psbt, deadlineMs: this.#deps.now() + external.timeoutMs, submitted: false };
      const record = pendingChannelRecord({
        terms,
        fundingOutpoint,
        commitments,
        theirSignature: signed.signature,
        ourSignature,
        ...(funded.signedTx !== undefined ? { fundingTx: funded.signedTx } : {}),
        ...(externalFunding !== undefined ? { externalFunding } : {}),
        broadcastHeight: tip,
      });
      // Stored before broadcast (or, for an external open, before the user can sign): from
      // here on the node rebroadcasts at every start, or re-arms the deadline.
      await this.#deps.coordinator.syncPendingChannel(record, this.#deps.peers.dialedAddress(peerId), tip);
      this.#deps.log('info', 'pending channel stored', { channel_id: channelId, peer_id: peerId, capacity_sat: fundingAmountSat.toString(), external: external !== undefined });
      await this.#deps.onChannelStored(record);
      this.#deps.crashPoint('after-store:pending-channel');
      if (externalFunding !== undefined) {
        return {
          temporaryChannelId,
          channelId,
          fundingTxid: fundingOutpoint.txid,
          fundingOutputIndex: fundingOutpoint.index,
          psbt: externalFunding.unsignedPsbt,
          expiresAtMs: externalFunding.deadlineMs,
        };
      }
      try {
        await this.#deps.chain.broadcast(funded.signedTx!);
        this.#deps.log('info', 'funding transaction broadcast', { channel_id: channelId, txid: fundingOutpoint.txid });
      } catch (err) {
        this.#deps.log('warn', 'funding broadcast failed; it is retried at start', { channel_id: channelId, error: (err as Error).message });
      }
      this.#deps.crashPoint('after-broadcast:funding');
      return { temporaryChannelId, channelId, fundingTxid: fundingOutpoint.txid, fundingOutputIndex: fundingOutpoint.index };
    } catch (err) {
      this.#deps.wallet.release(temporaryChannelId);
      if (isChandError(err) && err.code.startsWith('PEER_')) throw failed(`the peer went away during the open: ${err.message}`, err);
      if (isChandError(err)) throw err;
      if (err instanceof TypeError || err instanceof RangeError) throw err;
      throw failed(`channel open failed: ${(err as Error).message}`, err);
    } finally {
      this.#outgoing.delete(tempKey);
      if (finalKey !== undefined) this.#outgoing.delete(finalKey);
    }
  }

  /** The unsigned PSBT of an external open: the user's coins, change to the user's address. */
  #externalPsbt(external: ExternalFundingRequest, fundingAmountSat: bigint, keys: { localFundingPubkey: Uint8Array; remoteFundingPubkey: Uint8Array }): FundingPsbt {
    return createFundingPsbt({
      utxos: external.utxos,
      fundingAmountSat,
      ...keys,
      changeScript: external.changeScript,
      feeratePerKw: Math.max(MIN_FEERATE_PER_KW, Math.ceil(external.feeRateSatPerVb * 250)),
    });
  }

  /** The peer went offline: every open in progress with it fails (BOLT 2: it forgets them too). */
  peerOffline(peerId: string): void {
    for (const n of new Set(this.#outgoing.values())) {
      if (n.peerId === peerId) n.waiter?.reject(failed(`the peer disconnected while we waited for ${n.expecting}`));
    }
    for (const [key, n] of this.#incoming) {
      if (n.peerId !== peerId) continue;
      clearTimeout(n.timer);
      this.#incoming.delete(key);
    }
  }

  /** Whether a message with this (temporary or final) id belongs to a negotiation. */
  owns(peerId: string, channelId: string): boolean {
    const key = `${peerId}:${channelId}`;
    return this.#outgoing.has(key) || this.#incoming.has(key);
  }

  /** Handles open_channel, accept_channel, funding_created, funding_signed, and error/warning for a negotiation. */
  async handle(peerId: string, message: WireMessage): Promise<void> {
    switch (message.type) {
      case 'open_channel':
        return this.#onOpenChannel(peerId, message);
      case 'accept_channel':
        return this.#answer(peerId, message.temporaryChannelId, message);
      case 'funding_signed':
        return this.#answer(peerId, message.channelId, message);
      case 'funding_created':
        return this.#onFundingCreated(peerId, message);
      case 'error':
        return this.#onError(peerId, message);
      default:
        return;
    }
  }

  #answer(peerId: string, id: string, message: AcceptChannel | FundingSigned): void {
    const n = this.#outgoing.get(`${peerId}:${id}`);
    if (n === undefined || n.waiter === undefined || n.expecting !== message.type) {
      this.#deps.log('warn', `unexpected ${message.type}`, { peer_id: peerId, channel_id: id });
      return;
    }
    n.waiter.resolve(message);
  }

  #onError(peerId: string, message: ErrorMsg): void {
    const text = errorText(message);
    const all = /^0{64}$/.test(message.channelId);
    for (const n of new Set(this.#outgoing.values())) {
      if (n.peerId !== peerId) continue;
      if (all || n.temporaryChannelId === message.channelId || n.channelId === message.channelId) {
        n.waiter?.reject(failed(`the peer refused the channel: ${text}`));
      }
    }
    for (const [key, n] of this.#incoming) {
      if (n.peerId === peerId && (all || n.open.temporaryChannelId === message.channelId)) {
        clearTimeout(n.timer);
        this.#incoming.delete(key);
      }
    }
  }

  async #onOpenChannel(peerId: string, open: OpenChannelMsg): Promise<void> {
    const key = `${peerId}:${open.temporaryChannelId}`;
    const previous = this.#incoming.get(key);
    if (previous !== undefined) {
      // BOLT 2: a repeated open_channel before funding_created replaces the earlier one.
      clearTimeout(previous.timer);
      this.#incoming.delete(key);
    }
    const problem = checkOpenChannel(open, this.#deps.chainHash, this.#deps.policy);
    if (problem !== undefined) {
      this.#deps.log('info', 'refused open_channel', { peer_id: peerId, reason: problem });
      await this.#sendError(peerId, open.temporaryChannelId, problem);
      return;
    }
    const keyIndex = await this.#deps.keyIndexes.nextChannelKeyIndex();
    // Our dust limit may not exceed the reserve the funder asks of us (BOLT 2).
    const dust = OUR_DUST_LIMIT_SAT <= open.channelReserveSat ? OUR_DUST_LIMIT_SAT : open.channelReserveSat;
    const ours = this.#ourSide(keyIndex, open.fundingSat, reserveFor(open.fundingSat, open.dustLimitSat), dust);
    const accept: AcceptChannel = {
      type: 'accept_channel',
      temporaryChannelId: open.temporaryChannelId,
      minimumDepth: this.#deps.policy.minimumDepth,
      ...ours,
      upfrontShutdownScript: new Uint8Array(0),
      ...(open.channelType !== undefined ? { channelType: open.channelType } : {}),
    };
    const timer = setTimeout(() => this.#incoming.delete(key), INCOMING_OPEN_TTL_MS);
    timer.unref();
    this.#incoming.set(key, { peerId, open, ours, keyIndex, timer });
    await this.#send(peerId, accept);
  }

  async #onFundingCreated(peerId: string, msg: FundingCreated): Promise<void> {
    const key = `${peerId}:${msg.temporaryChannelId}`;
    const n = this.#incoming.get(key);
    if (n === undefined) {
      await this.#sendError(peerId, msg.temporaryChannelId, 'funding_created for an unknown temporary_channel_id');
      return;
    }
    clearTimeout(n.timer);
    this.#incoming.delete(key);
    const fundingOutpoint = { txid: msg.fundingTxid, index: msg.fundingOutputIndex };
    const keys = this.#deps.keyChain.channelKeys(n.keyIndex);
    const terms: ChannelTerms = {
      isInitiator: false,
      chainHash: this.#deps.chainHash,
      peerId,
      capacitySat: n.open.fundingSat,
      pushMsat: n.open.pushMsat,
      feeratePerKw: n.open.feeratePerKw,
      minimumDepth: this.#deps.policy.minimumDepth,
      channelFlags: n.open.channelFlags,
      ours: n.ours,
      theirs: sideOf(n.open),
      keys,
    };
    const commitments = buildInitialCommitments(terms, fundingOutpoint);
    if (!verifyCommitmentSignature(commitments.local, msg.signature, hexToBytes(n.open.fundingPubkey))) {
      this.#deps.log('warn', 'funding_created signature invalid', { peer_id: peerId });
      await this.#sendError(peerId, msg.temporaryChannelId, 'funding_created signature does not verify for our commitment');
      return;
    }
    const ourSignature = this.#deps.keyChain.signDigest(keys.funding.locator, commitmentSighash(commitments.remote));
    const tip = await this.#deps.chain.getTipHeight();
    const record = pendingChannelRecord({ terms, fundingOutpoint, commitments, theirSignature: msg.signature, ourSignature, broadcastHeight: tip });
    const channelId = finalChannelId(fundingOutpoint);
    // Stored before funding_signed: once the funder can broadcast, we know the channel.
    await this.#deps.coordinator.syncPendingChannel(record, undefined, tip);
    this.#deps.log('info', 'pending channel stored', { channel_id: channelId, peer_id: peerId, capacity_sat: n.open.fundingSat.toString() });
    await this.#deps.onChannelStored(record);
    await this.#send(peerId, { type: 'funding_signed', channelId, signature: ourSignature });
  }
}

/** The SideParams of a peer's open_channel or accept_channel. */
function sideOf(m: OpenChannelMsg | AcceptChannel): SideParams {
  return {
    dustLimitSat: m.dustLimitSat,
    maxHtlcValueInFlightMsat: m.maxHtlcValueInFlightMsat,
    channelReserveSat: m.channelReserveSat,
    htlcMinimumMsat: m.htlcMinimumMsat,
    toSelfDelay: m.toSelfDelay,
    maxAcceptedHtlcs: m.maxAcceptedHtlcs,
    fundingPubkey: m.fundingPubkey,
    revocationBasepoint: m.revocationBasepoint,
    paymentBasepoint: m.paymentBasepoint,
    delayedPaymentBasepoint: m.delayedPaymentBasepoint,
    htlcBasepoint: m.htlcBasepoint,
    firstPerCommitmentPoint: m.firstPerCommitmentPoint,
  };
}
