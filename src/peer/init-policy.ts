/**
 * The BOLT 1 rules for accepting a peer's `init`, as one pure function, so they are tested
 * without sockets and written once.
 */
import { ErrorCode } from '../errors.js';
import { ASSUMED_FEATURES, checkPeerFeatures, featureName, type FeatureVector } from '../wire/features.js';
import { initFeatures } from '../wire/setup-messages.js';
import type { Hex, Init } from '../wire/types.js';
import { PeerError } from './errors.js';

/**
 * Why `init` from a peer is unacceptable, or undefined if it is fine:
 * - PEER_FEATURES_INCOMPATIBLE if the peer requires (even bit) a feature we do not offer, offers
 *   a feature without its BOLT 9 dependencies, or does not offer a feature we require (an even
 *   bit of ours beyond the ones BOLT 9 lets every node assume);
 * - PEER_CHAIN_MISMATCH if the peer lists `networks` and `chainHash` (display-order hex) is not
 *   among them. A peer that omits `networks` is accepted (the TLV is optional).
 * Unknown odd bits are ignored, as BOLT 1 says.
 */
export function checkPeerInit(ours: FeatureVector, init: Init, chainHash: Hex): PeerError | undefined {
  const theirs = initFeatures(init);
  const verdict = checkPeerFeatures(ours, theirs);
  if (!verdict.ok) return new PeerError(ErrorCode.PEER_FEATURES_INCOMPATIBLE, verdict.reason);
  const assumed = new Set<number>(ASSUMED_FEATURES);
  for (const bit of ours.bits()) {
    if (bit % 2 !== 0 || assumed.has(bit) || theirs.offers(bit)) continue;
    return new PeerError(ErrorCode.PEER_FEATURES_INCOMPATIBLE, `we require feature bit ${bit} (${featureName(bit)}), which the peer does not offer`);
  }
  if (init.networks !== undefined && !init.networks.includes(chainHash.toLowerCase())) {
    return new PeerError(ErrorCode.PEER_CHAIN_MISMATCH, `the peer's networks (${init.networks.length === 0 ? 'none' : init.networks.join(', ')}) do not include our chain ${chainHash}`);
  }
  return undefined;
}
