/**
 * The KV implementation of LinkNodeStore, plus the transaction-scoped helpers the KV
 * coordinator composes with channel-state writes.
 *
 * Layout: `link-nodes -> <nodePub 33> -> LinkNode record` (keys.ts LINK_NODES).
 */
import { assertHex } from '../chanstate/channel-id.js';
import { utf8, enumCodec } from '../chanstate/records.js';
import { field, RecordSchema } from '../codec/record.js';
import { ChandError, ErrorCode } from '../errors.js';
import { assertPeerAddress, type LinkNode, type LinkNodeStore, type Network } from '../linknode/store.js';
import type { KvEngine, KvReadTx, KvWriteTx } from './engine.js';
import { LINK_NODES, byteKey, keys, prefixRange } from './keys.js';

const NETWORKS: readonly Network[] = ['mainnet', 'testnet', 'testnet4', 'signet', 'regtest'];

/** The persisted LinkNode record. */
export const linkNodeRecord = new RecordSchema<LinkNode>('LinkNode', [
  { type: 0, name: 'network', codec: enumCodec('network', NETWORKS) },
  { type: 2, name: 'identityPub', codec: field.hex(33) },
  { type: 4, name: 'lastSeenMs', codec: field.tu53 },
  { type: 6, name: 'addresses', codec: field.list(utf8) },
]);

/** The link node of `pub`, or undefined. */
export function readLinkNode(tx: KvReadTx, pub: string): LinkNode | undefined {
  const bytes = tx.get(keys.node(LINK_NODES, pub));
  return bytes === undefined ? undefined : linkNodeRecord.decode(bytes);
}

export function putLinkNode(tx: KvWriteTx, node: LinkNode): void {
  tx.put(keys.node(LINK_NODES, node.identityPub), linkNodeRecord.encode(node));
}

export function deleteLinkNodeTx(tx: KvWriteTx, pub: string): void {
  tx.delete(keys.node(LINK_NODES, pub));
}

export function allLinkNodes(tx: KvReadTx): LinkNode[] {
  const out: LinkNode[] = [];
  for (const [, v] of tx.range(prefixRange(byteKey(LINK_NODES)))) out.push(linkNodeRecord.decode(v));
  return out;
}

/** Link nodes over a KvEngine. */
export class KvLinkNodeStore implements LinkNodeStore {
  constructor(private readonly engine: KvEngine) {}

  async createLinkNodes(nodes: readonly LinkNode[]): Promise<void> {
    for (const node of nodes) {
      assertHex(node.identityPub, 33, 'identityPub');
      node.addresses.forEach(assertPeerAddress);
    }
    await this.engine.update((tx) => nodes.forEach((node) => putLinkNode(tx, { ...node, addresses: [...new Set(node.addresses)] })));
  }

  fetchLinkNode(identityPub: string): Promise<LinkNode> {
    assertHex(identityPub, 33, 'identityPub');
    return this.engine.read((tx) => {
      const node = readLinkNode(tx, identityPub);
      if (node === undefined) throw new ChandError(ErrorCode.LINK_NODE_NOT_FOUND, `no link node for peer ${identityPub}`);
      return node;
    });
  }

  fetchAllLinkNodes(): Promise<LinkNode[]> {
    return this.engine.read(allLinkNodes);
  }

  async deleteLinkNode(identityPub: string): Promise<void> {
    assertHex(identityPub, 33, 'identityPub');
    await this.engine.update((tx) => deleteLinkNodeTx(tx, identityPub));
  }

  findMissingLinkNodes(identityPubs: readonly string[]): Promise<string[]> {
    identityPubs.forEach((pub) => assertHex(pub, 33, 'identityPub'));
    return this.engine.read((tx) => identityPubs.filter((pub) => readLinkNode(tx, pub) === undefined));
  }

  addrsForNode(identityPub: string): Promise<{ known: boolean; addresses: string[] }> {
    assertHex(identityPub, 33, 'identityPub');
    return this.engine.read((tx) => {
      const node = readLinkNode(tx, identityPub);
      return node === undefined ? { known: false, addresses: [] } : { known: true, addresses: [...node.addresses] };
    });
  }

  addAddress(identityPub: string, address: string, seenAtMs: number): Promise<LinkNode> {
    assertHex(identityPub, 33, 'identityPub');
    assertPeerAddress(address);
    return this.engine.update((tx) => {
      const node = readLinkNode(tx, identityPub);
      if (node === undefined) throw new ChandError(ErrorCode.LINK_NODE_NOT_FOUND, `no link node for peer ${identityPub}`);
      const next: LinkNode = {
        ...node,
        lastSeenMs: Math.max(node.lastSeenMs, seenAtMs),
        addresses: node.addresses.includes(address) ? node.addresses : [...node.addresses, address],
      };
      putLinkNode(tx, next);
      return next;
    });
  }
}
