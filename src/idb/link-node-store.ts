/**
 * The IndexedDB implementation of LinkNodeStore, plus the transaction-scoped helpers the
 * IndexedDB coordinator composes with channel-state writes.
 *
 * Layout: `link-nodes -> <identityPub hex> -> LinkNode` (stores.ts LINK_NODES), the node as
 * a plain object (IndexedDB stores structured clones; the row is the record, as in SQL).
 * Storage only: arguments are validated at the public edge (CheckedLinkNodeStore), address
 * rules are rules.ts's.
 */
import { normalizedLinkNode, seenAt } from '../chanstate/rules.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { LinkNode, LinkNodeStore } from '../linknode/store.js';
import { LINK_NODES } from './stores.js';
import type { IdbConnection, IdbTx } from './transactions.js';

/** The link node of `pub`, or undefined. */
export function readLinkNode(tx: IdbTx, pub: string): Promise<LinkNode | undefined> {
  return tx.get<LinkNode>(LINK_NODES, pub);
}

/** Writes a link node under its identity key (a copy with exactly the contract's fields). */
export function putLinkNode(tx: IdbTx, node: LinkNode): void {
  const row: LinkNode = { network: node.network, identityPub: node.identityPub, lastSeenMs: node.lastSeenMs, addresses: [...node.addresses] };
  tx.put(LINK_NODES, node.identityPub, row);
}

/** Deletes a link node; a missing one is fine. */
export function deleteLinkNodeTx(tx: IdbTx, pub: string): void {
  tx.delete(LINK_NODES, pub);
}

/** Every link node, ordered by identity key. */
export function allLinkNodes(tx: IdbTx): Promise<LinkNode[]> {
  return tx.getAll<LinkNode>(LINK_NODES);
}

function linkNodeNotFound(pub: string): ChandError {
  return new ChandError(ErrorCode.LINK_NODE_NOT_FOUND, `no link node for peer ${pub}`);
}

/** Link nodes over an IdbConnection; each method is one transaction over LINK_NODES. Arguments must already be validated. */
export class IdbLinkNodeStore implements LinkNodeStore {
  constructor(private readonly conn: IdbConnection) {}

  async createLinkNodes(nodes: readonly LinkNode[]): Promise<void> {
    await this.conn.run([LINK_NODES], 'readwrite', async (tx) => nodes.forEach((node) => putLinkNode(tx, normalizedLinkNode(node))));
  }

  fetchLinkNode(identityPub: string): Promise<LinkNode> {
    return this.conn.run([LINK_NODES], 'readonly', async (tx) => {
      const node = await readLinkNode(tx, identityPub);
      if (node === undefined) throw linkNodeNotFound(identityPub);
      return node;
    });
  }

  fetchAllLinkNodes(): Promise<LinkNode[]> {
    return this.conn.run([LINK_NODES], 'readonly', allLinkNodes);
  }

  async deleteLinkNode(identityPub: string): Promise<void> {
    await this.conn.run([LINK_NODES], 'readwrite', async (tx) => deleteLinkNodeTx(tx, identityPub));
  }

  findMissingLinkNodes(identityPubs: readonly string[]): Promise<string[]> {
    return this.conn.run([LINK_NODES], 'readonly', async (tx) => {
      const found = await Promise.all(identityPubs.map((pub) => tx.count(LINK_NODES, pub)));
      return identityPubs.filter((_, i) => found[i] === 0);
    });
  }

  addrsForNode(identityPub: string): Promise<{ known: boolean; addresses: string[] }> {
    return this.conn.run([LINK_NODES], 'readonly', async (tx) => {
      const node = await readLinkNode(tx, identityPub);
      return node === undefined ? { known: false, addresses: [] } : { known: true, addresses: [...node.addresses] };
    });
  }

  addAddress(identityPub: string, address: string, seenAtMs: number): Promise<LinkNode> {
    return this.conn.run([LINK_NODES], 'readwrite', async (tx) => {
      const node = await readLinkNode(tx, identityPub);
      if (node === undefined) throw linkNodeNotFound(identityPub);
      const next = seenAt(node, address, seenAtMs);
      putLinkNode(tx, next);
      return next;
    });
  }
}
