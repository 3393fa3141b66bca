/**
 * Link nodes: the peers we have channels with, and how to reach them.
 *
 * The invariant "a link node exists iff the peer has a channel" is kept by channelcoord's
 * Coordinator, which changes channels and link nodes in one transaction. This store alone
 * never looks at channels.
 */
import type { Hex } from '../chanstate/types.js';

import type { Network } from '../bitcoin/network.js';
/** Bitcoin networks a link node can belong to (derived from the channel's chain hash); one definition, in src/bitcoin. */
export type { Network };

/** A peer we have (or had) channels with. */
export interface LinkNode {
  readonly network: Network;
  /** 33-byte compressed public key, hex. */
  readonly identityPub: Hex;
  /** Last time we saw the peer online (UNIX ms). */
  readonly lastSeenMs: number;
  /** Known addresses, "host:port", without duplicates. */
  readonly addresses: readonly string[];
}

/** The link-node store contract. Each method is one atomic transaction. */
export interface LinkNodeStore {
  /** Writes the nodes, replacing existing records with the same identity key. */
  createLinkNodes(nodes: readonly LinkNode[]): Promise<void>;
  /** LINK_NODE_NOT_FOUND if absent. */
  fetchLinkNode(identityPub: Hex): Promise<LinkNode>;
  /** All link nodes, ordered by identity key. */
  fetchAllLinkNodes(): Promise<LinkNode[]>;
  /** Deletes the node; a missing node is not an error. */
  deleteLinkNode(identityPub: Hex): Promise<void>;
  /** The keys among `identityPubs` that have no link node, in input order. */
  findMissingLinkNodes(identityPubs: readonly Hex[]): Promise<Hex[]>;
  /** Whether the node is known, and its addresses. */
  addrsForNode(identityPub: Hex): Promise<{ known: boolean; addresses: string[] }>;
  /** Adds an address (ignored if present) and refreshes lastSeen. LINK_NODE_NOT_FOUND if absent. */
  addAddress(identityPub: Hex, address: string, seenAtMs: number): Promise<LinkNode>;
}

/** Genesis block hashes (display order) of the known networks. */
export const CHAIN_HASHES: Readonly<Record<Network, Hex>> = {
  mainnet: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  testnet: '000000000933ea01ad0ee984209779baaec3ced90fa3f1c85b31a6b3ad29e66e',
  testnet4: '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
  signet: '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6',
  regtest: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
};

/**
 * The network of a chain hash. Unknown chains (a private regtest-like chain with a genesis of
 * its own) are treated as regtest.
 */
export function networkOfChainHash(chainHash: Hex): Network {
  for (const [network, hash] of Object.entries(CHAIN_HASHES)) if (hash === chainHash) return network as Network;
  return 'regtest';
}

/** Checks a peer address at the public edge: "host:port". TypeError otherwise. */
export function assertPeerAddress(address: string): void {
  if (typeof address !== 'string' || !/^.+:\d{1,5}$/.test(address)) {
    throw new TypeError(`expected an address "host:port", got ${JSON.stringify(address)}`);
  }
}
