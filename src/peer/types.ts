/**
 * Contracts of the peer layer: what the PeerManager needs from the rest of the node (where a
 * peer can be reached, who handles channel messages) and what it reports (events). Types only;
 * no implementation imports.
 */
import type { ErrorCode } from '../errors.js';
import type { FeatureVector } from '../wire/features.js';
import type { Hex, WireMessage } from '../wire/types.js';

/** A TCP address of a peer. `host` is an IPv4/IPv6 literal or a DNS name. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Where a peer can be reached, asked each time the manager reconnects to a persistent peer.
 * The same shape as `LinkNodeStore.addrsForNode`, so the link-node store can be passed as is:
 * addresses are `host:port` strings (IPv6 in brackets). `known` false means the node has no
 * record of that peer; the manager then only tries the address it last used. Unparsable
 * addresses are skipped.
 */
export interface PeerAddressBook {
  addrsForNode(nodeId: Hex): Promise<{ readonly known: boolean; readonly addresses: readonly string[] }>;
}

/** An online peer as seen by handlers: who it is, what it offered, how to answer it. */
export interface PeerHandle {
  /** The peer's node id: its compressed public key, 66 lowercase hex chars. */
  readonly nodeId: Hex;
  /** The peer's combined `init` features. */
  readonly features: FeatureVector;
  /** True if the peer connected to us. */
  readonly inbound: boolean;
  /**
   * Sends a message on this connection; resolves once it was handed to the kernel. Rejects
   * with PEER_CONNECTION_CLOSED if this connection is gone (even if the peer reconnected).
   */
  send(message: WireMessage): Promise<void>;
}

/**
 * Receives every message that concerns a channel (those with a `channel_id` or
 * `temporary_channel_id`, plus `error` and `warning`, whose all-zero id means every channel
 * with the peer), in the order the peer sent them. The manager awaits `handle` before reading
 * the peer's next message, so a slow handler slows that peer only (its socket is paused), never
 * the others. A handler that throws does not close the connection; the manager reports it as a
 * `handler-failed` event.
 */
export interface ChannelMessageHandler {
  handle(peer: PeerHandle, message: WireMessage): void | Promise<void>;
}

/** What the PeerManager reports. Plain data: safe to print as JSON. */
export type PeerEvent =
  | { readonly type: 'listening'; readonly host: string; readonly port: number }
  /** `init` was exchanged and accepted: the peer is usable. */
  | { readonly type: 'online'; readonly nodeId: Hex; readonly address: string; readonly inbound: boolean; readonly features: readonly number[] }
  /** An online peer's connection ended. `code` says why (PEER_REPLACED, PEER_PING_TIMEOUT, ...). */
  | { readonly type: 'offline'; readonly nodeId: Hex; readonly address: string; readonly code: ErrorCode | undefined; readonly reason: string }
  /** A connection ended before the peer came online: handshake or init failed, limits, ... */
  | { readonly type: 'rejected'; readonly nodeId: Hex | undefined; readonly address: string; readonly inbound: boolean; readonly code: ErrorCode | undefined; readonly reason: string }
  /** A reconnection to a persistent peer is scheduled. */
  | { readonly type: 'reconnect-scheduled'; readonly nodeId: Hex; readonly attempt: number; readonly delayMs: number }
  /** The peer sent `warning` or `error`. `data` is printable ASCII text or hex. */
  | { readonly type: 'peer-warning' | 'peer-error'; readonly nodeId: Hex; readonly channelId: Hex; readonly data: string }
  /** The channel message handler threw; the connection stays up. */
  | { readonly type: 'handler-failed'; readonly nodeId: Hex; readonly messageType: string; readonly reason: string };

/** A listener of PeerManager events. It must not throw (an exception is rethrown asynchronously). */
export type PeerEventListener = (event: PeerEvent) => void;
