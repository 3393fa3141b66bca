/**
 * The KV implementation of LinkNodeStore, plus the transaction-scoped helpers the KV
 * coordinator composes with channel-state writes.
 *
 * Layout: `link-nodes -> <nodePub 33> -> LinkNode record` (keys.ts LINK_NODES).
 */
import { utf8, enumCodec } from '../chanstate/records.js';
import { normalizedLinkNode, seenAt } from '../chanstate/rules.js';
import { field, RecordSchema } from '../codec/record.js';
import { ChandError, ErrorCode } from '../errors.js';
import { NETWORK_NAMES, type Network } from '../bitcoin/network.js';
import type { LinkNode, LinkNodeStore } from '../linknode/store.js';
import { checksummedEngine } from './checksummed-engine.js';
import type { KvEngine, KvReadTx, KvWriteTx } from './engine.js';
import { LINK_NODES, byteKey, keys, prefixRange } from './keys.js';


/** The persisted LinkNode record. */
export const linkNodeRecord = new RecordSchema<LinkNode>('LinkNode', [
  { type: 0, name: 'network', codec: enumCodec<Network>('network', NETWORK_NAMES) },
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

function linkNodeNotFound(pub: string): ChandError {
  return new ChandError(ErrorCode.LINK_NODE_NOT_FOUND, `no link node for peer ${pub}`);
}

/** Link nodes over a KvEngine. Arguments must already be validated (openChannelDb wraps it). */
export class KvLinkNodeStore implements LinkNodeStore {
  private readonly engine: KvEngine;

  /** `engine` is the bare engine; values are read and written through its checksummed view. */
  constructor(engine: KvEngine) {
    this.engine = checksummedEngine(engine);
  }

  async createLinkNodes(nodes: readonly LinkNode[]): Promise<void> {
    await this.engine.update((tx) => nodes.forEach((node) => putLinkNode(tx, normalizedLinkNode(node))));
  }

  fetchLinkNode(identityPub: string): Promise<LinkNode> {
    return this.engine.read((tx) => {
      const node = readLinkNode(tx, identityPub);
      if (node === undefined) throw linkNodeNotFound(identityPub);
      return node;
    });
  }

  fetchAllLinkNodes(): Promise<LinkNode[]> {
    return this.engine.read(allLinkNodes);
  }

  async deleteLinkNode(identityPub: string): Promise<void> {
    await this.engine.update((tx) => deleteLinkNodeTx(tx, identityPub));
  }

  findMissingLinkNodes(identityPubs: readonly string[]): Promise<string[]> {
    return this.engine.read((tx) => identityPubs.filter((pub) => readLinkNode(tx, pub) === undefined));
  }

  addrsForNode(identityPub: string): Promise<{ known: boolean; addresses: string[] }> {
    return this.engine.read((tx) => {
      const node = readLinkNode(tx, identityPub);
      return node === undefined ? { known: false, addresses: [] } : { known: true, addresses: [...node.addresses] };
    });
  }

  addAddress(identityPub: string, address: string, seenAtMs: number): Promise<LinkNode> {
    return this.engine.update((tx) => {
      const node = readLinkNode(tx, identityPub);
      if (node === undefined) throw linkNodeNotFound(identityPub);
      const next = seenAt(node, address, seenAtMs);
      putLinkNode(tx, next);
      return next;
    });
  }
}
