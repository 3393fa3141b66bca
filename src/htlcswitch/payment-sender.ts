/**
 * The payer side: `send_payment` for a BOLT 11 invoice or a keysend, over a direct channel.
 *
 * Order of writes, so a crash at any point neither loses nor repeats a payment:
 *   initPayment (refuses a hash in flight or already paid)
 *   → registerAttempt with the HTLC id, inside the channel's mailbox, before the add can be
 *     signed for → the channel signs (appendRemoteCommitChain) → ...
 *   → the peer's update_fulfill_htlc: settleAttempt with the preimage (the payment succeeded)
 *   → or its fail, once locked in: failAttempt then failPayment.
 * At start, an in-flight attempt whose HTLC is in no signed commitment was never sent (it
 * was lost with an unsigned update log): it is failed, which is safe because the peer never
 * saw a commitment with it.
 *
 * Routes are direct (one hop) in this version: the destination must be a peer with an open
 * channel. Pathfinding comes with gossip.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode, isChandError } from '../errors.js';
import { DEFAULT_MIN_FINAL_CLTV_EXPIRY } from '../invoice/index.js';
import type { Network } from '../bitcoin/network.js';
import { constructOnion, decryptFailureOnion, encodeHopPayload, routeKeys, failureName } from '../onion/index.js';
import type { PaymentStore } from '../payments/store.js';
import type { Payment, PaymentAttempt, RouteHop } from '../payments/types.js';
import type { ChannelLink } from './link.js';
import { invoiceForPayment } from './invoice-registry.js';

/** Most hops a route may have (BOLT 4 allows 20 of the smallest payloads in 1300 bytes). */
const MAX_ROUTE_HOPS = 20;
/** Blocks added to the final CLTV delta, for blocks found while the HTLC travels (as lnd does). */
const CLTV_SAFETY_BLOCKS = 3;

/**
 * One hop of a route given by the caller: the node reached, the channel into it, and what
 * that node charges to forward onwards (ignored for the last hop, the destination).
 */
export interface RouteHint {
  readonly pubkey: string;
  readonly shortChannelId: bigint;
  readonly feeMsat: bigint;
  readonly cltvExpiryDelta: number;
}

/** What `send_payment` asks for (validated at the RPC edge). `route`: the hops to the destination, first hop a direct peer. */
export type PayRequest =
  | { readonly invoice: string; readonly amountMsat?: bigint; readonly route?: readonly RouteHint[] }
  | { readonly keysend: true; readonly destination: string; readonly amountMsat: bigint; readonly route?: readonly RouteHint[] };

export interface PaymentSenderDeps {
  readonly store: PaymentStore;
  readonly links: () => Iterable<ChannelLink>;
  readonly tipHeight: () => Promise<number>;
  readonly network: Network;
  readonly nodeId: string;
  readonly now: () => number;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

interface AttemptKey {
  readonly paymentHash: string;
  readonly attemptId: number;
}

function linkKey(channelId: string, htlcId: number): string {
  return `${channelId}/${htlcId}`;
}

/** The text of a decrypted failure onion, for the payment record. */
function describeFailure(sharedSecrets: readonly Uint8Array[], reason: Uint8Array, route: readonly RouteHop[]): string {
  try {
    const decrypted = decryptFailureOnion(sharedSecrets, reason);
    const hop = route[decrypted.hopIndex];
    const message = decrypted.failure;
    const what = message === undefined ? 'an undecodable failure message' : message.name === 'unknown' ? `failure code ${message.code}` : message.name;
    return `${what} from hop ${decrypted.hopIndex}${hop === undefined ? '' : ` (${hop.pubkey})`}`;
  } catch (err) {
    return `a failure no hop of the route could be identified for (${(err as Error).message})`;
  }
}

export class PaymentSender {
  readonly #deps: PaymentSenderDeps;
  /** In-flight attempts by channel and HTLC id. */
  readonly #byHtlc = new Map<string, AttemptKey>();
  readonly #waiters = new Map<string, Array<(p: Payment) => void>>();

  constructor(deps: PaymentSenderDeps) {
    this.#deps = deps;
  }

  /**
   * Loads the in-flight payments. An attempt whose channel has no such HTLC in a signed
   * commitment was never committed: it fails now (and its payment, when nothing else is in
   * flight). Call after the channels are hydrated, before peers reconnect.
   */
  async hydrate(): Promise<void> {
    const links = new Map([...this.#deps.links()].map((l) => [l.channelId, l]));
    for (const payment of await this.#deps.store.fetchInFlightPayments()) {
      for (const attempt of payment.attempts) {
        if (attempt.status !== 'in_flight') continue;
        const link = links.get(attempt.channelId);
        if (link !== undefined && link.hasOutgoingHtlc(attempt.htlcId, payment.paymentHash)) {
          this.#byHtlc.set(linkKey(attempt.channelId, attempt.htlcId), { paymentHash: payment.paymentHash, attemptId: attempt.attemptId });
          continue;
        }
        await this.#deps.store.failAttempt(payment.paymentHash, attempt.attemptId, 'the HTLC was never signed for (the node stopped first); nothing was sent', this.#deps.now());
      }
      await this.#finishIfDone(payment.paymentHash, 'no attempt is left in flight');
    }
  }

  /**
   * Starts a payment. Resolves once its first HTLC is offered (or it failed without one),
   * with the stored payment and a promise of its final state.
   */
  async pay(req: PayRequest): Promise<{ payment: Payment; done: Promise<Payment> }> {
    const nowMs = this.#deps.now();
    if ('invoice' in req) {
      const invoice = invoiceForPayment(req.invoice, this.#deps.network, nowMs);
      if (invoice.amountMsat !== undefined && req.amountMsat !== undefined && req.amountMsat !== invoice.amountMsat) {
        throw new ChandError(ErrorCode.INVOICE_AMOUNT_MISMATCH, `the invoice asks for ${invoice.amountMsat} msat; amount_msat ${req.amountMsat} differs (leave it out)`);
      }
      const amountMsat = invoice.amountMsat ?? req.amountMsat;
      if (amountMsat === undefined) throw new ChandError(ErrorCode.INVOICE_AMOUNT_MISMATCH, 'the invoice names no amount: give amount_msat');
      if (amountMsat <= 0n) throw new ChandError(ErrorCode.INVOICE_AMOUNT_MISMATCH, 'the amount must be above 0 msat');
      return this.#start({
        paymentHash: invoice.paymentHash,
        destination: invoice.payeeNodeId,
        amountMsat,
        finalDelta: invoice.minFinalCltvExpiry,
        invoiceText: req.invoice,
        keysend: false,
        paymentSecret: hexToBytes(invoice.paymentSecret),
        ...(req.route !== undefined ? { route: req.route } : {}),
      });
    }
    // Keysend (as lnd, CLN and LDK deploy it): the payer picks the preimage and sends it in
    // the final payload's TLV 5482373484.
    const keysendPreimage = this.#deps.randomBytes(32);
    return this.#start({
      paymentHash: bytesToHex(sha256(keysendPreimage)),
      destination: req.destination,
      amountMsat: req.amountMsat,
      finalDelta: DEFAULT_MIN_FINAL_CLTV_EXPIRY,
      invoiceText: '',
      keysend: true,
      keysendPreimage,
      ...(req.route !== undefined ? { route: req.route } : {}),
    });
  }

  async #start(p: {
    paymentHash: string;
    destination: string;
    amountMsat: bigint;
    finalDelta: number;
    invoiceText: string;
    keysend: boolean;
    paymentSecret?: Uint8Array;
    keysendPreimage?: Uint8Array;
    route?: readonly RouteHint[];
  }): Promise<{ payment: Payment; done: Promise<Payment> }> {
    if (p.destination === this.#deps.nodeId) throw new ChandError(ErrorCode.NO_ROUTE, 'the invoice is our own: a node cannot pay itself');
    const hints = p.route ?? [];
    if (hints.length > 0 && hints[hints.length - 1]!.pubkey !== p.destination) {
      throw new ChandError(ErrorCode.NO_ROUTE, `the route ends at ${hints[hints.length - 1]!.pubkey}, not at the destination ${p.destination}`);
    }
    if (hints.length > MAX_ROUTE_HOPS) throw new ChandError(ErrorCode.NO_ROUTE, `a route of at most ${MAX_ROUTE_HOPS} hops fits in an onion, got ${hints.length}`);
    const firstHop = hints[0]?.pubkey ?? p.destination;
    // What the first HTLC carries: the amount plus every intermediate hop's fee.
    const fees = hints.slice(0, -1).reduce((sum, h) => sum + h.feeMsat, 0n);
    const link = this.#pickLink(firstHop, p.amountMsat + fees, hints[0]?.shortChannelId);
    let payment = await this.#deps.store.initPayment({
      paymentHash: p.paymentHash,
      amountMsat: p.amountMsat,
      destination: p.destination,
      invoice: p.invoiceText,
      keysend: p.keysend,
      createdAtMs: this.#deps.now(),
    });
    const done = this.#waitFor(p.paymentHash);
    const tip = await this.#deps.tipHeight();
    const finalCltv = tip + p.finalDelta + CLTV_SAFETY_BLOCKS;
    const sessionKey = this.#deps.randomBytes(32);
    // Hops with what each receives (BOLT 4): built backwards from the destination's amount and CLTV.
    const path = hints.length > 0 ? hints : [{ pubkey: p.destination, shortChannelId: link.shortChannelId(), feeMsat: 0n, cltvExpiryDelta: 0 }];
    const route: RouteHop[] = new Array<RouteHop>(path.length);
    let amount = p.amountMsat;
    let cltv = finalCltv;
    for (let i = path.length - 1; i >= 0; i--) {
      route[i] = { pubkey: path[i]!.pubkey, shortChannelId: path[i]!.shortChannelId, amountMsat: amount, cltvExpiry: cltv };
      if (i > 0) {
        amount += path[i - 1]!.feeMsat;
        cltv += path[i - 1]!.cltvExpiryDelta;
      }
    }
    const payloads = route.map((hop, i) =>
      i < route.length - 1
        ? encodeHopPayload({ kind: 'forward', amtToForwardMsat: route[i + 1]!.amountMsat, outgoingCltvValue: route[i + 1]!.cltvExpiry, shortChannelId: route[i + 1]!.shortChannelId })
        : encodeHopPayload({
            kind: 'final',
            amtToForwardMsat: hop.amountMsat,
            outgoingCltvValue: hop.cltvExpiry,
            ...(p.paymentSecret !== undefined ? { paymentData: { paymentSecret: p.paymentSecret, totalMsat: p.amountMsat } } : {}),
            ...(p.keysendPreimage !== undefined ? { keysendPreimage: p.keysendPreimage } : {}),
          }),
    );
    const onion = constructOnion({
      sessionKey,
      hops: route.map((hop, i) => ({ pubkey: hexToBytes(hop.pubkey), payload: payloads[i]! })),
      associatedData: hexToBytes(p.paymentHash),
    });
    const first = route[0]!;
    const attemptId = payment.attempts.length + 1;
    try {
      await link.offerHtlc({ amountMsat: first.amountMsat, paymentHash: p.paymentHash, cltvExpiry: first.cltvExpiry, onion: onion.packet }, async (htlcId) => {
        const attempt: PaymentAttempt = {
          attemptId,
          channelId: link.channelId,
          htlcId,
          amountMsat: first.amountMsat,
          route,
          sessionKey,
          startedAtMs: this.#deps.now(),
          status: 'in_flight',
          resolvedAtMs: 0,
        };
        payment = await this.#deps.store.registerAttempt(p.paymentHash, attempt);
        this.#byHtlc.set(linkKey(link.channelId, htlcId), { paymentHash: p.paymentHash, attemptId });
      });
    } catch (err) {
      const reason = `the channel refused the HTLC: ${(err as Error).message}`;
      if (payment.attempts.some((a) => a.attemptId === attemptId)) await this.#deps.store.failAttempt(p.paymentHash, attemptId, reason, this.#deps.now());
      for (const [key, value] of this.#byHtlc) if (value.paymentHash === p.paymentHash && value.attemptId === attemptId) this.#byHtlc.delete(key);
      await this.#finishIfDone(p.paymentHash, reason);
      if (isChandError(err)) throw err;
      throw new ChandError(ErrorCode.HTLC_REFUSED, reason, { cause: err });
    }
    this.#deps.log('info', 'payment sent', { payment_hash: p.paymentHash, amount_msat: String(p.amountMsat), channel_id: link.channelId });
    return { payment, done };
  }

  /** The channel to `peer` (the one of `scid` when given): open, reestablished, with enough to send. */
  #pickLink(peer: string, amountMsat: bigint, scid?: bigint): ChannelLink {
    const destination = peer;
    const direct = [...this.#deps.links()].filter((l) => l.peerId === destination && (scid === undefined || l.shortChannelId() === scid));
    if (direct.length === 0 && scid !== undefined) throw new ChandError(ErrorCode.NO_ROUTE, `the route's first hop is not one of our channels: no channel ${scid} with ${peer}`);
    if (direct.length === 0) throw new ChandError(ErrorCode.NO_ROUTE, `no channel with ${destination}: chand pays direct peers only in this version`);
    const active = direct.filter((l) => l.canOffer());
    if (active.length === 0) throw new ChandError(ErrorCode.CHANNEL_NOT_ACTIVE, `the channel(s) with ${destination} cannot carry a payment now (not open, closing, or the peer is not connected and reestablished)`);
    // The channel with the most to send; each estimate is computed once.
    const [best, available] = active.map((l) => [l, l.availableMsat()] as const).reduce((a, b) => (a[1] >= b[1] ? a : b));
    if (available < amountMsat) {
      throw new ChandError(ErrorCode.NO_ROUTE, `not enough outbound capacity to ${destination}: ${amountMsat} msat asked, ${available} msat available`);
    }
    return best;
  }

  #waitFor(paymentHash: string): Promise<Payment> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(paymentHash) ?? [];
      list.push(resolve);
      this.#waiters.set(paymentHash, list);
    });
  }

  #notify(payment: Payment): void {
    if (payment.status === 'in_flight') return;
    const list = this.#waiters.get(payment.paymentHash);
    this.#waiters.delete(payment.paymentHash);
    for (const resolve of list ?? []) resolve(payment);
  }

  /** The payment of `paymentHash` once it is no longer in flight. */
  async waitForResult(paymentHash: string): Promise<Payment> {
    const waiting = this.#waitFor(paymentHash);
    const now = await this.#deps.store.fetchPayment(paymentHash);
    if (now.status !== 'in_flight') this.#notify(now);
    return waiting;
  }

  /** The peer fulfilled our HTLC (the preimage is checked against the hash by the store). */
  async onPreimage(channelId: string, htlcId: number, preimage: Uint8Array): Promise<void> {
    const key = this.#byHtlc.get(linkKey(channelId, htlcId));
    if (key === undefined) return; // settled already (a retransmission) or not ours
    const payment = await this.#deps.store.settleAttempt(key.paymentHash, key.attemptId, preimage, this.#deps.now());
    this.#byHtlc.delete(linkKey(channelId, htlcId));
    this.#deps.log('info', 'payment succeeded', { payment_hash: key.paymentHash, channel_id: channelId, htlc_id: htlcId });
    this.#notify(payment);
  }

  /** A fail of our HTLC got locked in: the HTLC is gone from both commitments. */
  async onFailed(channelId: string, htlcId: number, failure: { reason: Uint8Array } | { malformedCode: number }): Promise<void> {
    const key = this.#byHtlc.get(linkKey(channelId, htlcId));
    if (key === undefined) return;
    const payment = await this.#deps.store.fetchPayment(key.paymentHash);
    const attempt = payment.attempts.find((a) => a.attemptId === key.attemptId);
    let text: string;
    if ('reason' in failure) {
      const secrets = attempt === undefined ? [] : routeKeys(attempt.sessionKey, attempt.route.map((h) => hexToBytes(h.pubkey))).map((k) => k.sharedSecret);
      text = describeFailure(secrets, failure.reason, attempt?.route ?? []);
    } else {
      text = `the peer could not parse the onion (${failureName(failure.malformedCode) ?? `code ${failure.malformedCode}`})`;
    }
    await this.#deps.store.failAttempt(key.paymentHash, key.attemptId, text, this.#deps.now());
    this.#byHtlc.delete(linkKey(channelId, htlcId));
    this.#deps.log('info', 'payment attempt failed', { payment_hash: key.paymentHash, reason: text });
    await this.#finishIfDone(key.paymentHash, text);
  }

  /** Our add was dropped before it was signed (the peer disconnected): it never existed. */
  async onForgotten(channelId: string, htlcId: number): Promise<void> {
    const key = this.#byHtlc.get(linkKey(channelId, htlcId));
    if (key === undefined) return;
    const text = 'the peer disconnected before the HTLC was signed for; nothing was sent';
    await this.#deps.store.failAttempt(key.paymentHash, key.attemptId, text, this.#deps.now());
    this.#byHtlc.delete(linkKey(channelId, htlcId));
    await this.#finishIfDone(key.paymentHash, text);
  }

  /** Fails the payment for good when no attempt is in flight (no retries in this version). */
  async #finishIfDone(paymentHash: string, reason: string): Promise<void> {
    const payment = await this.#deps.store.fetchPayment(paymentHash);
    if (payment.status !== 'in_flight' || payment.attempts.some((a) => a.status === 'in_flight')) return;
    const failed = await this.#deps.store.failPayment(paymentHash, reason, this.#deps.now());
    this.#notify(failed);
  }
}
