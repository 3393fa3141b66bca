/**
 * What the switch and the payment sender need of a channel: a narrow view of its actor.
 * Everything here runs through the actor's mailbox, so it is ordered with the channel's
 * store writes and messages.
 */
import type { AddRef } from '../chanstate/types.js';

/** An HTLC to offer on a channel. */
export interface OfferRequest {
  readonly amountMsat: bigint;
  readonly paymentHash: string;
  readonly cltvExpiry: number;
  /** The 1366-byte onion. */
  readonly onion: Uint8Array;
}

/** How an incoming HTLC is resolved. */
export type Resolution =
  | { readonly kind: 'fulfill'; readonly preimage: Uint8Array }
  | { readonly kind: 'fail'; readonly reason: Uint8Array }
  | { readonly kind: 'fail_malformed'; readonly sha256OfOnion: string; readonly failureCode: number };

export interface ChannelLink {
  readonly channelId: string;
  readonly peerId: string;
  /** The short channel id (its alias until confirmed); 0n while pending. */
  shortChannelId(): bigint;
  /** Open, peer connected and channel reestablished: updates can flow now. */
  canUpdate(): boolean;
  /** canUpdate, and no shutdown sent or received: new HTLCs may be offered. */
  canOffer(): boolean;
  /** What we could offer now, at most (balance above our reserve, minus HTLCs in flight). */
  availableMsat(): bigint;
  /**
   * Offers an HTLC. `beforeOffer(htlcId)` runs first, inside the channel's mailbox, with the
   * id the HTLC will get: the caller stores its attempt there (durable before the HTLC can be
   * signed for). Resolves with the id once the add is queued; rejects with
   * CHANNEL_NOT_ACTIVE or HTLC_REFUSED (nothing was offered; `beforeOffer` may have run).
   */
  offerHtlc(request: OfferRequest, beforeOffer: (htlcId: number) => Promise<void>): Promise<number>;
  /** Resolves an incoming, locked-in HTLC; `addRef` is its place in its forwarding package. */
  resolveHtlc(htlcId: number, resolution: Resolution, addRef: AddRef): Promise<void>;
  /** Whether our HTLC `htlcId` with `paymentHash` is in a commitment signed by either side (it may still settle). */
  hasOutgoingHtlc(htlcId: number, paymentHash: string): boolean;
}
