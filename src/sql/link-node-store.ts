/**
 * The SQL implementation of LinkNodeStore, plus the transaction-scoped helpers the SQL
 * coordinator composes with channel-state queries.
 *
 * Layout: `link_nodes (pubkey)` and `link_node_addresses (pubkey, seq)`; addresses keep
 * their order by `seq`. Writes run `exclusive` (transactions.ts), like the coordinator whose
 * "link node exists iff channels exist" checks they take part in. Storage only: arguments
 * are validated at the public edge (CheckedLinkNodeStore), address rules are rules.ts's.
 */
import { normalizedLinkNode, seenAt } from '../chanstate/rules.js';
import { hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { LinkNode, LinkNodeStore, Network } from '../linknode/store.js';
import { hexOf, num } from './columns.js';
import type { SqlBackend, SqlTx } from './transactions.js';

const NETWORKS: readonly Network[] = ['mainnet', 'testnet', 'testnet4', 'signet', 'regtest'];

function networkOf(text: string): Network {
  const network = NETWORKS.find((n) => n === text);
  if (network === undefined) throw new ChandError(ErrorCode.DECODE_FAILED, `unknown network ${JSON.stringify(text)} in link_nodes`);
  return network;
}

/** Rows of link nodes (optionally only `pubs`), with their addresses, ordered by key. */
async function loadLinkNodes(tx: SqlTx, pubs?: readonly Uint8Array[]): Promise<LinkNode[]> {
  if (pubs !== undefined && pubs.length === 0) return [];
  const nodes = await tx
    .selectFrom('link_nodes')
    .selectAll()
    .$if(pubs !== undefined, (qb) => qb.where('pubkey', 'in', pubs!))
    .orderBy('pubkey')
    .execute();
  if (nodes.length === 0) return [];
  const addresses = await tx
    .selectFrom('link_node_addresses')
    .select(['pubkey', 'address'])
    .$if(pubs !== undefined, (qb) => qb.where('pubkey', 'in', pubs!))
    .orderBy('pubkey')
    .orderBy('seq')
    .execute();
  const byPub = new Map<string, string[]>();
  for (const row of addresses) {
    const key = hexOf(row.pubkey, 33, 'link_node_addresses.pubkey');
    let list = byPub.get(key);
    if (list === undefined) byPub.set(key, (list = []));
    list.push(row.address);
  }
  return nodes.map((row) => {
    const identityPub = hexOf(row.pubkey, 33, 'link_nodes.pubkey');
    return { network: networkOf(row.network), identityPub, lastSeenMs: num(row.last_seen_ms), addresses: byPub.get(identityPub) ?? [] };
  });
}

/** The link node of `pub`, or undefined. */
export async function readLinkNode(tx: SqlTx, pub: string): Promise<LinkNode | undefined> {
  const [node] = await loadLinkNodes(tx, [hexToBytes(pub)]);
  return node;
}

/** Every link node, ordered by identity key. */
export function allLinkNodes(tx: SqlTx): Promise<LinkNode[]> {
  return loadLinkNodes(tx);
}

/** Writes `node`, replacing any record (and addresses) with the same key. */
export async function putLinkNode(tx: SqlTx, node: LinkNode): Promise<void> {
  const pubkey = hexToBytes(node.identityPub);
  const values = { network: node.network, last_seen_ms: node.lastSeenMs };
  await tx
    .insertInto('link_nodes')
    .values({ pubkey, ...values })
    .onConflict((oc) => oc.column('pubkey').doUpdateSet(values))
    .execute();
  await tx.deleteFrom('link_node_addresses').where('pubkey', '=', pubkey).execute();
  if (node.addresses.length > 0) {
    await tx
      .insertInto('link_node_addresses')
      .values(node.addresses.map((address, seq) => ({ pubkey, seq, address })))
      .execute();
  }
}

/** Deletes the link node of `pub` and its addresses; a missing node is not an error. */
export async function deleteLinkNodeTx(tx: SqlTx, pub: string): Promise<void> {
  const pubkey = hexToBytes(pub);
  await tx.deleteFrom('link_node_addresses').where('pubkey', '=', pubkey).execute();
  await tx.deleteFrom('link_nodes').where('pubkey', '=', pubkey).execute();
}

function linkNodeNotFound(identityPub: string): ChandError {
  return new ChandError(ErrorCode.LINK_NODE_NOT_FOUND, `no link node for peer ${identityPub}`);
}

/** Link nodes over a SqlBackend. Holds no state: any number may share one backend. */
export class SqlLinkNodeStore implements LinkNodeStore {
  constructor(private readonly backend: SqlBackend) {}

  async createLinkNodes(nodes: readonly LinkNode[]): Promise<void> {
    await this.backend.runTx('exclusive', async (tx) => {
      for (const node of nodes) await putLinkNode(tx, normalizedLinkNode(node));
    });
  }

  fetchLinkNode(identityPub: string): Promise<LinkNode> {
    return this.backend.runTx('read', async (tx) => {
      const node = await readLinkNode(tx, identityPub);
      if (node === undefined) throw linkNodeNotFound(identityPub);
      return node;
    });
  }

  fetchAllLinkNodes(): Promise<LinkNode[]> {
    return this.backend.runTx('read', allLinkNodes);
  }

  async deleteLinkNode(identityPub: string): Promise<void> {
    await this.backend.runTx('exclusive', (tx) => deleteLinkNodeTx(tx, identityPub));
  }

  findMissingLinkNodes(identityPubs: readonly string[]): Promise<string[]> {
    return this.backend.runTx('read', async (tx) => {
      const present = new Set((await loadLinkNodes(tx, identityPubs.map(hexToBytes))).map((n) => n.identityPub));
      return identityPubs.filter((pub) => !present.has(pub));
    });
  }

  addrsForNode(identityPub: string): Promise<{ known: boolean; addresses: string[] }> {
    return this.backend.runTx('read', async (tx) => {
      const node = await readLinkNode(tx, identityPub);
      return node === undefined ? { known: false, addresses: [] } : { known: true, addresses: [...node.addresses] };
    });
  }

  addAddress(identityPub: string, address: string, seenAtMs: number): Promise<LinkNode> {
    return this.backend.runTx('exclusive', async (tx) => {
      const node = await readLinkNode(tx, identityPub);
      if (node === undefined) throw linkNodeNotFound(identityPub);
      const next = seenAt(node, address, seenAtMs);
      await putLinkNode(tx, next);
      return next;
    });
  }
}
