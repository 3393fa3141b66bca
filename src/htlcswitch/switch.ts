/**
 * The switch: what happens to the updates a peer's revocation locked in (a forwarding
 * package, stored by advanceCommitChainTail in the same transaction as the revocation).
 *
 * - An add that ends here: peel the onion, let the invoice registry decide (it stores the
 *   settle first), then fulfill or fail it on the channel. Its ack is written when the
 *   fulfill/fail is signed for (appendRemoteCommitChain's addAcks), so until then a restart or
 *   a reconnect processes it again, with the same outcome.
 * - An add to forward: chand does not forward yet, so it fails with `unknown_next_peer`.
 * - A fulfill or fail of our own HTLC: the payment sender records the outcome, then the
 *   settle/fail is acked.
 * - A package with everything acked is removed.
 * Packages are processed when they are locked in and again after every reestablish (the
 * fulfills of a lost connection were forgotten by both sides and must be sent again).
 */
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import type { FwdPkgStore } from '../chanstate/store.js';
import type { FwdPkg, OutPoint } from '../chanstate/types.js';
import { filterContains, fwdPkgState, newPkgFilter } from '../chanstate/pkg-filter.js';
import { FwdState } from '../chanstate/types.js';
import { decodeHopPayload, encodeFailureMessage, createFailureOnion, peelOnion, OnionError, type FailureMessage, type OnionKeySource } from '../onion/index.js';
import { decodeMessage } from '../wire/message-codec.js';
import type { UpdateAddHtlc, WireMessage } from '../wire/types.js';
import type { InvoiceRegistry } from './invoice-registry.js';
import type { ChannelLink, Resolution } from './link.js';
import type { PaymentSender } from './payment-sender.js';

export interface SwitchDeps {
  readonly fwdPkgs: Pick<FwdPkgStore, 'loadFwdPkgs' | 'ackSettleFails' | 'setFwdFilter' | 'removeFwdPkgs'>;
  readonly registry: InvoiceRegistry;
  readonly sender: PaymentSender;
  /** The node key as an onion key source (ECDH with the ephemeral key). */
  readonly onionKey: OnionKeySource;
  readonly tipHeight: () => Promise<number>;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

function decodeStored(message: Uint8Array): WireMessage | undefined {
  try {
    const decoded = decodeMessage(message);
    return decoded.kind === 'known' ? decoded.message : undefined;
  } catch {
    return undefined;
  }
}

export class HtlcSwitch {
  readonly #deps: SwitchDeps;
  /** Adds being resolved now, so a package processed twice at once does not resolve twice. */
  readonly #inProgress = new Set<string>();

  constructor(deps: SwitchDeps) {
    this.#deps = deps;
  }

  /** Processes every package of the channel that is not completed (after a reestablish, at start). */
  async resync(link: ChannelLink, chanPoint: OutPoint): Promise<void> {
    const pkgs = await this.#deps.fwdPkgs.loadFwdPkgs(chanPoint);
    for (const pkg of pkgs) await this.process(link, chanPoint, pkg);
  }

  /** Processes one package (just locked in, or loaded). Errors are logged; the package stays for the next pass. */
  async process(link: ChannelLink, chanPoint: OutPoint, pkg: FwdPkg): Promise<void> {
    try {
      if (fwdPkgState(pkg) === FwdState.Completed) {
        await this.#deps.fwdPkgs.removeFwdPkgs(chanPoint, [pkg.height]);
        return;
      }
      await this.#settleFails(link, pkg);
      if (pkg.fwdFilter === undefined) {
        // Nothing is forwarded onwards (chand is the final hop of every HTLC it accepts).
        await this.#deps.fwdPkgs.setFwdFilter(chanPoint, pkg.height, newPkgFilter(pkg.adds.length));
      }
      await this.#adds(link, pkg);
    } catch (err) {
      this.#deps.log('warn', 'forwarding package not fully processed; retried after the next reestablish', {
        channel_id: link.channelId,
        height: pkg.height,
        error: (err as Error).message,
      });
    }
  }

  /**
   * The channel is closing on chain: its locked-in adds can no longer be answered off chain, but
   * an invoice one pays can still be settled — the contract court then claims that HTLC's
   * output with the preimage. Decides every unanswered add (the registry stores a settle
   * before answering, and refuses an HTLC too close to its expiry to be claimed in time) and
   * sends nothing.
   */
  async decideOnChain(link: ChannelLink, chanPoint: OutPoint): Promise<void> {
    const height = await this.#deps.tipHeight();
    for (const pkg of await this.#deps.fwdPkgs.loadFwdPkgs(chanPoint)) {
      for (const [index, update] of pkg.adds.entries()) {
        if (filterContains(pkg.ackFilter, index)) continue;
        const msg = decodeStored(update.message);
        if (msg?.type !== 'update_add_htlc') continue;
        const key = `${link.channelId}/${msg.id}`;
        if (this.#inProgress.has(key)) continue;
        this.#inProgress.add(key);
        try {
          await this.#decide(link, msg, height);
        } finally {
          this.#inProgress.delete(key);
        }
      }
    }
  }

  /** Removes the channel's completed packages. */
  async sweep(chanPoint: OutPoint): Promise<void> {
    const pkgs = await this.#deps.fwdPkgs.loadFwdPkgs(chanPoint);
    const done = pkgs.filter((p) => fwdPkgState(p) === FwdState.Completed).map((p) => p.height);
    if (done.length > 0) await this.#deps.fwdPkgs.removeFwdPkgs(chanPoint, done);
  }

  async #settleFails(link: ChannelLink, pkg: FwdPkg): Promise<void> {
    const acks = [];
    for (const [index, update] of pkg.settleFails.entries()) {
      if (filterContains(pkg.settleFailFilter, index)) continue;
      const msg = decodeStored(update.message);
      if (msg?.type === 'update_fulfill_htlc') await this.#deps.sender.onPreimage(link.channelId, msg.id, msg.paymentPreimage);
      else if (msg?.type === 'update_fail_htlc') await this.#deps.sender.onFailed(link.channelId, msg.id, { reason: msg.reason });
      else if (msg?.type === 'update_fail_malformed_htlc') await this.#deps.sender.onFailed(link.channelId, msg.id, { malformedCode: msg.failureCode });
      else this.#deps.log('error', 'a forwarding package holds an unexpected settle/fail record', { channel_id: link.channelId, height: pkg.height, index });
      acks.push({ source: pkg.source, height: pkg.height, index });
    }
    if (acks.length > 0) await this.#deps.fwdPkgs.ackSettleFails(acks);
  }

  async #adds(link: ChannelLink, pkg: FwdPkg): Promise<void> {
    if (!link.canUpdate()) return; // resolved after the next reestablish
    const height = await this.#deps.tipHeight();
    for (const [index, update] of pkg.adds.entries()) {
      if (filterContains(pkg.ackFilter, index)) continue;
      const msg = decodeStored(update.message);
      if (msg?.type !== 'update_add_htlc') {
        this.#deps.log('error', 'a forwarding package holds an unexpected add record', { channel_id: link.channelId, height: pkg.height, index });
        continue;
      }
      const key = `${link.channelId}/${msg.id}`;
      if (this.#inProgress.has(key)) continue;
      this.#inProgress.add(key);
      try {
        const resolution = await this.#decide(link, msg, height);
        await link.resolveHtlc(msg.id, resolution, { height: pkg.height, index });
      } finally {
        this.#inProgress.delete(key);
      }
    }
  }

  async #decide(link: ChannelLink, add: UpdateAddHtlc, height: number): Promise<Resolution> {
    let peeled;
    try {
      peeled = peelOnion(add.onionRoutingPacket, this.#deps.onionKey, hexToBytes(add.paymentHash));
    } catch (err) {
      if (err instanceof OnionError && err.sha256OfOnion !== undefined) {
        return { kind: 'fail_malformed', sha256OfOnion: bytesToHex(err.sha256OfOnion), failureCode: err.failureCode };
      }
      if (err instanceof OnionError) return { kind: 'fail_malformed', sha256OfOnion: bytesToHex(new Uint8Array(32)), failureCode: err.failureCode };
      throw err;
    }
    const fail = (failure: FailureMessage): Resolution => ({ kind: 'fail', reason: createFailureOnion(peeled.sharedSecret, encodeFailureMessage(failure)) });
    if (!peeled.final) return fail({ name: 'unknown_next_peer' });
    let payload;
    try {
      const p = decodeHopPayload(peeled.payload, { final: true });
      if (p.kind !== 'final') return fail({ name: 'invalid_onion_payload', type: 0n, offset: 0 });
      payload = p;
    } catch (err) {
      if (err instanceof OnionError) return fail(err.failure);
      throw err;
    }
    const decision = await this.#deps.registry.decide(
      { ref: { channelId: link.channelId, htlcId: add.id }, paymentHash: add.paymentHash, amountMsat: add.amountMsat, cltvExpiry: add.cltvExpiry, payload },
      height,
    );
    if (decision.kind === 'settle') {
      this.#deps.log('info', 'invoice settled', { payment_hash: add.paymentHash, amount_msat: String(add.amountMsat), channel_id: link.channelId, htlc_id: add.id });
      return { kind: 'fulfill', preimage: decision.preimage };
    }
    this.#deps.log('info', 'incoming HTLC refused', { payment_hash: add.paymentHash, channel_id: link.channelId, htlc_id: add.id, reason: decision.reason });
    return fail(decision.failure);
  }
}
