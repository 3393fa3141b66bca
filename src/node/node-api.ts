/**
 * The node's answers to the JSON-RPC methods (src/rpc/api.ts): each method reads the
 * services the composition root built and formats the result with docs/rpc.md's
 * conventions. Commands are safe to repeat: connecting to an online peer returns it,
 * disconnecting an offline one says PEER_NOT_CONNECTED, an address request hands out a new
 * address each time (as every wallet does).
 */
import { channelIdOf } from '../chanstate/channel-id.js';
import type { Chain } from '../chain/chain.js';
import type { ChannelActor, ChannelSnapshot } from '../channel/channel-actor.js';
import type { ClosedChannelStore } from '../chanstate/store.js';
import { ClosureType, OpeningStage, type ShortChannelId } from '../chanstate/types.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { FundingManager } from '../funding/funding-manager.js';
import type { PeerManager } from '../peer/peer-manager.js';
import type {
  ChannelResult,
  NodeApi,
  NodeInfoResult,
  OpenChannelParams,
  OpenChannelResult,
  PeerResult,
  WalletBalanceResult,
} from '../rpc/api.js';
import type { NodeWallet } from '../wallet/node-wallet.js';
import { base64, hex } from '@scure/base';
import type { FundingUtxo } from '../bitcoin/funding.js';
import type { SignedFunding } from '../bitcoin/psbt-funding.js';
import { classifyOutputScript } from '../bitcoin/script.js';
import { addressToScript, type BitcoinNetwork } from '../chain/network.js';
import { isChandError } from '../errors.js';
import type { ExternalFundingResult, ExternalFundingStateName, OpenExternalParams, OpenExternalResult, SubmitFundingParams } from '../rpc/api.js';
import { chandInitFeatures } from '../wire/features.js';
import { NodePaymentsApi, type PaymentsApiDeps } from './payments-api.js';
import type { ClosingEntry } from './closing-manager.js';
import type { ClosedChannelResult, ClosingInfo, ShutdownChannelParams, ShutdownChannelResult } from '../rpc/api.js';

/** What the RPC answers are made from. */
export interface NodeApiDeps {
  readonly nodeId: string;
  readonly network: string;
  readonly chainHash: string;
  readonly version: string;
  readonly peers: Pick<PeerManager, 'connect' | 'disconnect' | 'peers' | 'peer' | 'address'>;
  /** Addresses we dialed, by peer id (kept for the link node of a new channel). */
  readonly dialed: Map<string, string>;
  readonly funding: Pick<FundingManager, 'openChannel' | 'negotiations'>;
  readonly actors: () => readonly ChannelActor[];
  readonly closed: Pick<ClosedChannelStore, 'fetchClosedChannels' | 'fetchClosedChannelById'>;
  readonly chain: Pick<Chain, 'getTipHeight' | 'getTransaction' | 'getOutspend' | 'getAddressUtxos'>;
  /** Address parameters of the node's network. */
  readonly bitcoinNetwork: BitcoinNetwork;
  /** Default deadline of an external open, ms. */
  readonly externalFundingTimeoutMs: number;
  readonly wallet: Pick<NodeWallet, 'newAddress' | 'balance'>;
  readonly onlinePeer: (peerId: string) => boolean;
  readonly formatScid: (scid: ShortChannelId) => string;
  readonly payments: PaymentsApiDeps;
  /** Channels being resolved on chain. */
  readonly closing: (channelId: string) => ClosingEntry | undefined;
}

function sat(v: bigint): number {
  return Number(v);
}

const CLOSE_TYPE_NAMES: Readonly<Record<number, string>> = {
  [ClosureType.Cooperative]: 'cooperative close',
  [ClosureType.LocalForce]: 'force closed by us',
  [ClosureType.Breach]: 'breach punished',
  [ClosureType.FundingCanceled]: 'funding canceled',
  [ClosureType.RemoteForce]: 'force closed by the peer',
  [ClosureType.Abandoned]: 'abandoned',
};

/** See the module comment. */
export class NodeRpcApi extends NodePaymentsApi implements NodeApi {
  readonly #d: NodeApiDeps;

  constructor(deps: NodeApiDeps) {
    super(deps.payments);
    this.#d = deps;
  }

  async nodeInfo(): Promise<NodeInfoResult> {
    const listen = this.#d.peers.address();
    const actors = this.#d.actors();
    return {
      node_id: this.#d.nodeId,
      network: this.#d.network,
      chain_hash: this.#d.chainHash,
      version: this.#d.version,
      listen_addresses: listen === undefined ? [] : [listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`],
      block_height: await this.#d.chain.getTipHeight(),
      peers: this.#d.peers.peers().length,
      pending_channels: actors.filter((a) => !a.isOpen).length,
      open_channels: actors.filter((a) => a.isOpen).length,
      features: chandInitFeatures().bits(),
    };
  }

  async connectPeer(params: { readonly peer_id: string; readonly address: string }): Promise<PeerResult> {
    const info = await this.#d.peers.connect(`${params.peer_id}@${params.address}`);
    this.#d.dialed.set(info.nodeId, params.address);
    return peerResult(info);
  }

  async disconnectPeer(params: { readonly peer_id: string }): Promise<void> {
    if (this.#d.peers.peer(params.peer_id) === undefined) throw new ChandError(ErrorCode.PEER_NOT_CONNECTED, `peer ${params.peer_id} is not connected`);
    await this.#d.peers.disconnect(params.peer_id);
  }

  async listPeers(): Promise<readonly PeerResult[]> {
    return this.#d.peers.peers().map(peerResult);
  }

  async openChannel(params: OpenChannelParams): Promise<OpenChannelResult> {
    const result = await this.#d.funding.openChannel({
      peerId: params.peer_id,
      fundingAmountSat: params.funding_amount_sat,
      pushMsat: params.push_amount_msat ?? 0n,
      ...(params.fee_rate_sat_per_vb !== undefined ? { fundingFeeRateSatPerVb: params.fee_rate_sat_per_vb } : {}),
    });
    return {
      temporary_channel_id: result.temporaryChannelId,
      channel_id: result.channelId,
      funding_txid: result.fundingTxid,
      funding_output_index: result.fundingOutputIndex,
    };
  }

  async listChannels(params: { readonly peer_id?: string; readonly include_closed?: boolean }): Promise<readonly ChannelResult[]> {
    const tip = await this.#d.chain.getTipHeight();
    const out: ChannelResult[] = [];
    const wanted = (peerId: string): boolean => params.peer_id === undefined || params.peer_id === peerId;
    for (const actor of this.#d.actors()) {
      if (!wanted(actor.peerId)) continue;
      const snap = actor.snapshot();
      const { channel: c, stage, confirmations, fundingSeen, core, failedReason } = snap;
      const closing = closingInfo(snap, this.#d.closing(actor.channelId));
      const confs = c.isPending ? confirmations : Math.max(0, tip - c.confirmationHeight + 1);
      let state: ChannelResult['state'];
      let reason: string | undefined;
      if (closing !== undefined) {
        state = 'closing';
        reason = closingReason(closing);
      } else if (c.isPending) {
        state = 'pending_open';
        reason = !fundingSeen
          ? 'funding transaction not seen on chain yet'
          : `waiting for ${Math.max(0, c.numConfsRequired - confs)} more confirmation(s) (${confs}/${c.numConfsRequired})`;
      } else if (actor.isOpen) {
        state = 'open';
        if (failedReason !== undefined) reason = `the peer broke the protocol; no more payments on this channel: ${failedReason}`;
      } else {
        state = 'awaiting_channel_ready';
        reason =
          stage === OpeningStage.MarkedOpen
            ? 'funding confirmed; our channel_ready goes out when the peer is connected'
            : "waiting for the peer's channel_ready";
      }
      out.push({
        channel_id: actor.channelId,
        peer_id: actor.peerId,
        state,
        ...(reason !== undefined ? { pending_reason: reason } : {}),
        is_initiator: c.isInitiator,
        capacity_sat: sat(c.capacitySat),
        // An open channel's live balances (they move with payments), else the stored ones.
        local_balance_msat: (core?.localBalanceMsat ?? c.localCommitment.localBalanceMsat).toString(),
        remote_balance_msat: (core?.remoteBalanceMsat ?? c.localCommitment.remoteBalanceMsat).toString(),
        funding_txid: c.fundingOutpoint.txid,
        funding_output_index: c.fundingOutpoint.index,
        confirmations: confs,
        confirmations_required: c.numConfsRequired,
        ...(c.shortChannelId !== 0n ? { short_channel_id: this.#d.formatScid(c.shortChannelId) } : {}),
        peer_online: this.#d.onlinePeer(actor.peerId),
        ...(c.externalFunding !== undefined
          ? { external_funding: { state: externalStateOf(actor.snapshot()), ...(c.externalFunding.submitted ? {} : { expires_at_ms: c.externalFunding.deadlineMs }) } }
          : {}),
        ...(closing !== undefined ? { closing } : {}),
      });
    }
    for (const n of this.#d.funding.negotiations()) {
      if (!wanted(n.peerId)) continue;
      out.push({
        channel_id: n.temporaryChannelId,
        peer_id: n.peerId,
        state: 'negotiating',
        pending_reason: 'open_channel in progress (temporary channel id)',
        is_initiator: n.isInitiator,
        capacity_sat: sat(n.fundingSat),
        local_balance_msat: '0',
        remote_balance_msat: '0',
        funding_txid: '',
        funding_output_index: 0,
        confirmations: 0,
        confirmations_required: 0,
        peer_online: this.#d.onlinePeer(n.peerId),
      });
    }
    if (params.include_closed === true) {
      for (const s of await this.#d.closed.fetchClosedChannels(false)) {
        if (!wanted(s.remotePub)) continue;
        out.push({
          channel_id: channelIdOf(s.chanPoint),
          peer_id: s.remotePub,
          state: 'closed',
          pending_reason: CLOSE_TYPE_NAMES[s.closeType] ?? `close type ${s.closeType}`,
          is_initiator: false,
          capacity_sat: sat(s.capacitySat),
          local_balance_msat: (s.settledBalanceSat * 1000n).toString(),
          remote_balance_msat: '0',
          funding_txid: s.chanPoint.txid,
          funding_output_index: s.chanPoint.index,
          confirmations: 0,
          confirmations_required: 0,
          ...(s.shortChannelId !== 0n ? { short_channel_id: this.#d.formatScid(s.shortChannelId) } : {}),
          peer_online: this.#d.onlinePeer(s.remotePub),
        });
      }
    }
    return out;
  }

  async shutdownChannel(params: ShutdownChannelParams): Promise<ShutdownChannelResult> {
    const actor = this.#d.actors().find((a) => a.channelId === params.channel_id);
    if (actor === undefined) throw new ChandError(ErrorCode.CHANNEL_NOT_FOUND, `no open or pending channel ${params.channel_id}`);
    if (params.force === true) {
      const { txid } = await actor.forceClose('requested by the user');
      return { channel_id: actor.channelId, state: 'force_closed', closing_txid: txid };
    }
    let script: Uint8Array | undefined;
    if (params.close_address !== undefined) script = this.#script(params.close_address, 'close_address');
    if (params.close_script !== undefined) script = hex.decode(params.close_script);
    const feeratePerKw = params.fee_rate_sat_per_vb === undefined ? undefined : Math.ceil(params.fee_rate_sat_per_vb * 250);
    let result;
    try {
      result = await actor.shutdown({ ...(script === undefined ? {} : { script }), ...(feeratePerKw === undefined ? {} : { feeratePerKw }) });
    } catch (err) {
      if (err instanceof RangeError) throw invalid(params.close_script !== undefined ? 'close_script' : 'close_address', err.message, err);
      throw err;
    }
    return { channel_id: actor.channelId, state: 'shutting_down', close_script: hex.encode(result.deliveryScript) };
  }

  async listClosedChannels(params: { readonly peer_id?: string }): Promise<readonly ClosedChannelResult[]> {
    const out: ClosedChannelResult[] = [];
    for (const s of await this.#d.closed.fetchClosedChannels(false)) {
      if (params.peer_id !== undefined && params.peer_id !== s.remotePub) continue;
      out.push({
        channel_id: channelIdOf(s.chanPoint),
        peer_id: s.remotePub,
        close_type: CLOSE_TYPE_NAMES[s.closeType] ?? `close type ${s.closeType}`,
        closing_txid: s.closingTxid,
        close_height: s.closeHeight,
        capacity_sat: sat(s.capacitySat),
        settled_sat: sat(s.settledBalanceSat),
        time_locked_sat: sat(s.timeLockedBalanceSat),
        ...(s.shortChannelId !== 0n ? { short_channel_id: this.#d.formatScid(s.shortChannelId) } : {}),
        fully_resolved: !s.isPending,
      });
    }
    return out;
  }

  async openChannelWithExternalFunding(params: OpenExternalParams): Promise<OpenExternalResult> {
    const changeScript = this.#script(params.change_address, 'change_address');
    const utxos = await this.#fundingUtxos(params.funding_source);
    const result = await this.#d.funding.openChannel({
      peerId: params.peer_id,
      fundingAmountSat: params.funding_amount_sat,
      pushMsat: params.push_amount_msat ?? 0n,
      external: {
        utxos,
        changeScript,
        feeRateSatPerVb: params.fee_rate_sat_per_vb,
        timeoutMs: params.timeout_secs !== undefined ? params.timeout_secs * 1000 : this.#d.externalFundingTimeoutMs,
      },
    });
    return {
      temporary_channel_id: result.temporaryChannelId,
      channel_id: result.channelId,
      funding_txid: result.fundingTxid,
      funding_output_index: result.fundingOutputIndex,
      psbt: base64.encode(result.psbt!),
      expires_at_ms: result.expiresAtMs!,
    };
  }

  async submitSignedFundingTx(params: SubmitFundingParams): Promise<ExternalFundingResult> {
    const actor = this.#actor(params.channel_id);
    if (actor === undefined) {
      if ((await this.#aborted(params.channel_id)) !== undefined) {
        throw new ChandError(ErrorCode.EXTERNAL_FUNDING_EXPIRED, `the externally funded open of channel ${params.channel_id} was aborted: ${ABORT_REASON}; open again`);
      }
      throw new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `no externally funded open in progress for channel ${params.channel_id}`);
    }
    let signed: SignedFunding;
    try {
      signed = params.psbt !== undefined ? { psbt: base64.decode(params.psbt) } : { tx: hex.decode(params.tx!) };
    } catch (err) {
      throw invalid(params.psbt !== undefined ? 'psbt' : 'tx', params.psbt !== undefined ? 'expected a base64 PSBT' : 'expected a hex transaction', err);
    }
    await actor.submitFunding(signed);
    return this.getExternalFunding({ channel_id: params.channel_id });
  }

  async getExternalFunding(params: { readonly channel_id: string }): Promise<ExternalFundingResult> {
    const actor = this.#actor(params.channel_id);
    if (actor === undefined) {
      const aborted = await this.#aborted(params.channel_id);
      if (aborted !== undefined) return aborted;
      throw new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `no channel ${params.channel_id} with external funding`);
    }
    const snap = actor.snapshot();
    const c = snap.channel;
    const ef = c.externalFunding;
    const state = externalStateOf(snap);
    if (ef === undefined && c.isPending) throw new ChandError(ErrorCode.EXTERNAL_FUNDING_NOT_FOUND, `channel ${params.channel_id} is funded from the node's wallet`);
    return {
      channel_id: actor.channelId,
      state,
      funding_txid: c.fundingOutpoint.txid,
      ...(ef !== undefined && !ef.submitted ? { psbt: base64.encode(ef.unsignedPsbt), expires_at_ms: ef.deadlineMs } : {}),
      ...(state === 'confirming' ? { confirmations: snap.confirmations, confirmations_required: c.numConfsRequired } : {}),
    };
  }

  #actor(channelId: string): ChannelActor | undefined {
    return this.#d.actors().find((a) => a.channelId === channelId);
  }

  /** The state of an open aborted at its deadline (a closed FundingCanceled record), or undefined. */
  async #aborted(channelId: string): Promise<ExternalFundingResult | undefined> {
    let summary;
    try {
      summary = await this.#d.closed.fetchClosedChannelById(channelId);
    } catch (err) {
      if (isChandError(err, ErrorCode.CLOSED_CHANNEL_NOT_FOUND)) return undefined;
      throw err;
    }
    if (summary.closeType !== ClosureType.FundingCanceled) return undefined;
    return { channel_id: channelId, state: 'aborted', funding_txid: summary.chanPoint.txid, reason: ABORT_REASON };
  }

  #script(address: string, field: string): Uint8Array {
    try {
      return addressToScript(address, this.#d.bitcoinNetwork);
    } catch (err) {
      throw invalid(field, `expected an address of this node's network (${this.#d.bitcoinNetwork.bech32}...), got ${JSON.stringify(address)}`, err);
    }
  }

  /** The coins of a funding source, with value and script, each checked to be unspent and segwit. */
  async #fundingUtxos(source: OpenExternalParams['funding_source']): Promise<FundingUtxo[]> {
    if ('address' in source) {
      const script = this.#script(source.address, 'funding_source.address');
      const utxos = (await this.#d.chain.getAddressUtxos(source.address)).filter((u) => u.status.confirmed);
      if (utxos.length === 0) throw invalid('funding_source.address', `${source.address} has no confirmed coins`);
      return utxos.map((u) => ({ txid: u.txid, index: u.index, value: u.value, script }));
    }
    const out: FundingUtxo[] = [];
    for (const [i, u] of source.utxos.entries()) {
      const tx = await this.#d.chain.getTransaction(u.txid);
      const output = tx?.outputs[u.vout];
      if (tx === undefined || output === undefined) throw invalid(`funding_source.utxos[${i}]`, `${u.txid}:${u.vout} is not a known output`);
      if ((await this.#d.chain.getOutspend(u.txid, u.vout)).spent) throw invalid(`funding_source.utxos[${i}]`, `${u.txid}:${u.vout} is already spent`);
      const kind = classifyOutputScript(output.script);
      if (kind !== 'p2wpkh' && kind !== 'p2tr') throw invalid(`funding_source.utxos[${i}]`, `${u.txid}:${u.vout} is ${kind}; external funding takes P2WPKH or P2TR coins (the txid must not change when signed)`);
      out.push({ txid: u.txid, index: u.vout, value: output.value, script: output.script });
    }
    return out;
  }

  async newAddress(): Promise<{ readonly address: string }> {
    return { address: await this.#d.wallet.newAddress() };
  }

  async walletBalance(): Promise<WalletBalanceResult> {
    const b = await this.#d.wallet.balance();
    return { confirmed_sat: sat(b.confirmedSat), unconfirmed_sat: sat(b.unconfirmedSat), reserved_sat: sat(b.reservedSat) };
  }
}

/** Where an external open stands, from its actor's snapshot. */
function externalStateOf(snap: ChannelSnapshot): ExternalFundingStateName {
  const c = snap.channel;
  if (snap.abortedReason !== undefined) return 'aborted';
  const ef = c.externalFunding;
  if (ef !== undefined && !ef.submitted) return 'awaiting_signature';
  if (c.isPending) {
    if (!snap.fundingSeen) return 'submitted';
    return snap.confirmations === 0 ? 'broadcast' : 'confirming';
  }
  return snap.stage === undefined && c.remoteRevocation.nextPoint !== undefined ? 'open' : 'confirming';
}

const ABORT_REASON = 'the deadline passed before a signed funding transaction was submitted';

function invalid(field: string, problem: string, cause?: unknown): ChandError {
  return Object.assign(new ChandError(ErrorCode.INVALID_PARAMS, `params.${field}: ${problem}`, cause === undefined ? undefined : { cause }), { field });
}

function peerResult(info: { nodeId: string; address: string; inbound: boolean; features: readonly number[]; onlineSinceMs: number }): PeerResult {
  return { peer_id: info.nodeId, address: info.address, inbound: info.inbound, features: info.features, online_since_ms: info.onlineSinceMs };
}


/** The close of a channel as list_channels shows it, or undefined when it is not closing. */
function closingInfo(snap: ChannelSnapshot, entry: ClosingEntry | undefined): ClosingInfo | undefined {
  const close = snap.close;
  if (close === undefined && entry === undefined) return undefined;
  const report = entry?.report;
  return {
    phase: entry !== undefined ? 'resolving' : close!.phase,
    ...(close?.closer !== undefined ? { closer: close.closer } : {}),
    htlcs_in_flight: close?.waitingForHtlcs ?? 0,
    ...(close?.lastFeeSat !== undefined ? { last_fee_sat: Number(close.lastFeeSat) } : {}),
    ...((entry?.closeTxid ?? close?.closeTxid) !== undefined ? { closing_txid: entry?.closeTxid ?? close!.closeTxid! } : {}),
    ...(entry?.kind !== undefined ? { close_kind: entry.kind.kind } : {}),
    ...(report !== undefined ? { close_confirmations: report.closeConfirmations } : {}),
    ...(report !== undefined
      ? {
          pending_outputs: report.pending.map((p) => ({
            outpoint: `${p.outpoint.txid}:${p.outpoint.index}`,
            amount_sat: Number(p.amountSat),
            kind: p.kind,
            waiting_for: p.waitingFor,
            ...(p.maturityHeight !== undefined ? { maturity_height: p.maturityHeight } : {}),
            ...(p.blocksLeft !== undefined ? { blocks_left: p.blocksLeft } : {}),
            ...(p.paymentHash !== undefined ? { payment_hash: p.paymentHash } : {}),
          })),
        }
      : {}),
    ...(entry?.lastError !== undefined ? { last_error: entry.lastError } : {}),
  };
}

function closingReason(c: ClosingInfo): string {
  switch (c.phase) {
    case 'shutting_down':
      return c.htlcs_in_flight > 0 ? `shutdown: waiting for ${c.htlcs_in_flight} HTLC(s) to resolve` : 'shutdown: waiting for the peer';
    case 'negotiating':
      return `negotiating the closing fee${c.last_fee_sat !== undefined ? ` (last offer ${c.last_fee_sat} sat)` : ''}`;
    case 'closing_tx_broadcast':
      return `closing transaction ${c.closing_txid ?? ''} broadcast, waiting for it to confirm`.replace('  ', ' ');
    case 'resolving': {
      const waiting = (c.pending_outputs ?? []).map((p) => `${p.kind} ${p.waiting_for}${p.blocks_left !== undefined ? ` (${p.blocks_left} blocks)` : ''}`);
      return `${c.close_kind ?? 'close'} on chain (${c.close_confirmations ?? 0} conf)${waiting.length > 0 ? `: ${waiting.join(', ')}` : ''}`;
    }
  }
}
