/**
 * The Bitcoin networks chand knows, by name: the one `Network` type every layer uses (key
 * derivation, address parameters, peer records, chain hashes). Per-network parameters live
 * with the code that needs them, keyed by this type: the BIP 44 coin type in key-chain.ts,
 * address parameters in src/chain/network.ts, chain hashes in the link-node store.
 */

/** A Bitcoin network by name. testnet is testnet3; testnet4 is BIP 94's. */
export type Network = 'mainnet' | 'testnet' | 'testnet4' | 'signet' | 'regtest';

/** Every `Network`, mainnet first. Frozen; the order is stable and is the order messages list them in. */
export const NETWORK_NAMES: readonly Network[] = Object.freeze(['mainnet', 'testnet', 'testnet4', 'signet', 'regtest']);

/** True if `value` is one of the `Network` names (exact, case-sensitive). */
export function isNetwork(value: unknown): value is Network {
  return typeof value === 'string' && (NETWORK_NAMES as readonly string[]).includes(value);
}

/** `value` as a Network; TypeError "expected network mainnet, testnet, ..., got X" otherwise. */
export function assertNetwork(value: unknown): Network {
  if (!isNetwork(value)) throw new TypeError(`expected network ${NETWORK_NAMES.join(', ')}, got ${String(value)}`);
  return value;
}
