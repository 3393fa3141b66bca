/**
 * Conformance: the link-node store (LinkNodeStore).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { makeLinkNode, peerPub } from './fixtures.js';
import { expectCode, useDb, type SuiteContext } from './harness.js';

/** Registers the link-node tests. */
export function linkNodesSuite({ factory }: SuiteContext): void {
  describe('link nodes', () => {
    const h = useDb(factory);

    it('createLinkNodes writes nodes that read back exactly; fetchAllLinkNodes orders them by identity key', async () => {
      const nodes = [makeLinkNode(1), makeLinkNode(2, { network: 'mainnet', addresses: [] }), makeLinkNode(3, { network: 'signet' })];
      await h.db.linkNodes.createLinkNodes(nodes);
      for (const node of nodes) expect(await h.db.linkNodes.fetchLinkNode(node.identityPub)).toEqual(node);
      const sorted = [...nodes].sort((a, b) => (a.identityPub < b.identityPub ? -1 : 1));
      expect(await h.db.linkNodes.fetchAllLinkNodes()).toEqual(sorted);
    });

    it('createLinkNodes replaces a node with the same identity key', async () => {
      await h.db.linkNodes.createLinkNodes([makeLinkNode(1)]);
      const replacement = makeLinkNode(1, { lastSeenMs: 1_800_000_000_000, addresses: ['[2001:db8::1]:9735', 'example.onion:9735'] });
      await h.db.linkNodes.createLinkNodes([replacement]);
      expect(await h.db.linkNodes.fetchLinkNode(peerPub(1))).toEqual(replacement);
      expect(await h.db.linkNodes.fetchAllLinkNodes()).toHaveLength(1);
    });

    it('fetchLinkNode fails LINK_NODE_NOT_FOUND for an unknown peer; an empty store lists nothing', async () => {
      expect(await h.db.linkNodes.fetchAllLinkNodes()).toEqual([]);
      await expectCode(h.db.linkNodes.fetchLinkNode(peerPub(1)), ErrorCode.LINK_NODE_NOT_FOUND);
    });

    it('deleteLinkNode removes only that node; deleting a missing node is not an error', async () => {
      await h.db.linkNodes.createLinkNodes([makeLinkNode(1), makeLinkNode(2)]);
      await h.db.linkNodes.deleteLinkNode(peerPub(1));
      await h.db.linkNodes.deleteLinkNode(peerPub(1));
      await h.db.linkNodes.deleteLinkNode(peerPub(3));
      await expectCode(h.db.linkNodes.fetchLinkNode(peerPub(1)), ErrorCode.LINK_NODE_NOT_FOUND);
      expect(await h.db.linkNodes.fetchAllLinkNodes()).toEqual([makeLinkNode(2)]);
    });

    it('findMissingLinkNodes returns the unknown keys in input order', async () => {
      await h.db.linkNodes.createLinkNodes([makeLinkNode(2), makeLinkNode(4)]);
      const asked = [peerPub(5), peerPub(2), peerPub(1), peerPub(4), peerPub(3)];
      expect(await h.db.linkNodes.findMissingLinkNodes(asked)).toEqual([peerPub(5), peerPub(1), peerPub(3)]);
      expect(await h.db.linkNodes.findMissingLinkNodes([])).toEqual([]);
    });

    it('addrsForNode says whether the node is known and gives its addresses', async () => {
      await h.db.linkNodes.createLinkNodes([makeLinkNode(1, { addresses: ['10.0.0.1:9735', '10.0.0.2:9736'] })]);
      expect(await h.db.linkNodes.addrsForNode(peerPub(1))).toEqual({ known: true, addresses: ['10.0.0.1:9735', '10.0.0.2:9736'] });
      expect(await h.db.linkNodes.addrsForNode(peerPub(2))).toEqual({ known: false, addresses: [] });
    });

    it('addAddress adds a new address once and refreshes lastSeen; LINK_NODE_NOT_FOUND for an unknown peer', async () => {
      const node = makeLinkNode(1, { addresses: ['10.0.0.1:9735'], lastSeenMs: 1_700_000_000_000 });
      await h.db.linkNodes.createLinkNodes([node]);
      const added = await h.db.linkNodes.addAddress(peerPub(1), '10.0.0.9:9735', 1_700_000_005_000);
      expect(added).toEqual({ ...node, addresses: ['10.0.0.1:9735', '10.0.0.9:9735'], lastSeenMs: 1_700_000_005_000 });
      const again = await h.db.linkNodes.addAddress(peerPub(1), '10.0.0.1:9735', 1_700_000_009_000);
      expect(again).toEqual({ ...node, addresses: ['10.0.0.1:9735', '10.0.0.9:9735'], lastSeenMs: 1_700_000_009_000 });
      expect(await h.db.linkNodes.fetchLinkNode(peerPub(1))).toEqual(again);
      await expectCode(h.db.linkNodes.addAddress(peerPub(2), '10.0.0.1:9735', 1), ErrorCode.LINK_NODE_NOT_FOUND);
    });
  });
}
