/**
 * The public edge of the link-node store: validates every argument once and hands the
 * call to a backend (see src/chanstate/checked-store.ts for the pattern).
 */
import * as v from '../chanstate/validate.js';
import { checked } from '../chanstate/validate.js';
import { assertPeerAddress, type LinkNode, type LinkNodeStore } from './store.js';


const pub = (identityPub: string) => v.hex(identityPub, 33, 'identityPub');

/** A LinkNodeStore that validates arguments, then delegates to `backend`. */
export class CheckedLinkNodeStore implements LinkNodeStore {
  constructor(private readonly backend: LinkNodeStore) {}

  createLinkNodes(nodes: readonly LinkNode[]): Promise<void> {
    return checked(
      () => {
        if (!Array.isArray(nodes)) throw new TypeError('expected an array of link nodes');
        nodes.forEach((n, i) => v.linkNode(n, `nodes[${i}]`));
      },
      () => this.backend.createLinkNodes(nodes),
    );
  }
  fetchLinkNode(identityPub: string): Promise<LinkNode> {
    return checked(() => pub(identityPub), () => this.backend.fetchLinkNode(identityPub));
  }
  fetchAllLinkNodes(): Promise<LinkNode[]> {
    return this.backend.fetchAllLinkNodes();
  }
  deleteLinkNode(identityPub: string): Promise<void> {
    return checked(() => pub(identityPub), () => this.backend.deleteLinkNode(identityPub));
  }
  findMissingLinkNodes(identityPubs: readonly string[]): Promise<string[]> {
    return checked(
      () => {
        if (!Array.isArray(identityPubs)) throw new TypeError('expected an array of identity keys');
        identityPubs.forEach(pub);
      },
      () => this.backend.findMissingLinkNodes(identityPubs),
    );
  }
  addrsForNode(identityPub: string): Promise<{ known: boolean; addresses: string[] }> {
    return checked(() => pub(identityPub), () => this.backend.addrsForNode(identityPub));
  }
  addAddress(identityPub: string, address: string, seenAtMs: number): Promise<LinkNode> {
    return checked(
      () => (pub(identityPub), assertPeerAddress(address), v.timeMs(seenAtMs, 'seenAtMs')),
      () => this.backend.addAddress(identityPub, address, seenAtMs),
    );
  }
}
