/**
 * Parsing of `pubkey@host:port` peer addresses, the form users and RPC give.
 */
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { ErrorCode } from '../errors.js';
import type { Hex } from '../wire/types.js';
import { PeerError } from './errors.js';
import { isCompressedPublicKey } from './noise-handshake.js';
import type { PeerAddress } from './types.js';

/** The default Lightning port (BOLT 1). */
export const DEFAULT_PEER_PORT = 9735;

/** A node id with where to reach it. */
export interface PeerTarget extends PeerAddress {
  readonly nodeId: Hex;
}

/**
 * Parses `pubkey@host[:port]` (IPv6 hosts in brackets: `pubkey@[::1]:9735`; the port defaults
 * to 9735). The node id is normalized to lowercase. Throws PeerError PEER_ADDRESS_INVALID for
 * anything else, including a public key that is not a valid compressed point.
 */
export function parsePeerAddress(text: string): PeerTarget {
  if (typeof text !== 'string') throw new TypeError(`expected a peer address string, got ${typeof text}`);
  const m = /^([0-9a-fA-F]{66})@(\[[0-9a-fA-F:.]+\]|[^:@[\]\s]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (m === null) throw new PeerError(ErrorCode.PEER_ADDRESS_INVALID, `expected pubkey@host:port, got ${JSON.stringify(text)}`);
  const nodeId = m[1]!.toLowerCase();
  if (!isCompressedPublicKey(hexToBytes(nodeId))) {
    throw new PeerError(ErrorCode.PEER_ADDRESS_INVALID, `${nodeId} is not a valid compressed public key`);
  }
  const port = m[3] === undefined ? DEFAULT_PEER_PORT : Number(m[3]);
  if (port < 1 || port > 65535) throw new PeerError(ErrorCode.PEER_ADDRESS_INVALID, `expected a port in [1, 65535], got ${port}`);
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { nodeId, host, port };
}

/** Parses `host:port` (IPv6 host in brackets), or undefined if it is not one. */
export function parseHostPort(text: string): PeerAddress | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:@[\]\s]+):(\d{1,5})$/.exec(text.trim());
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!, port };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(address: PeerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The 66-char lowercase hex node id of a 33-byte public key. */
export function nodeIdOf(publicKey: Uint8Array): Hex {
  return bytesToHex(publicKey);
}
