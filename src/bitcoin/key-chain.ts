/**
 * BIP 32 keys of the node, addressed by key locators.
 *
 * Path scheme (docs/keys.md): m/1017'/coin'/family'/0/index, coin 0 on mainnet and 1 on
 * test networks. A `KeyLocator` { family, index } names one key; channel records store
 * locators and public keys, never private keys, and the keys are re-derived when needed.
 * Families are fixed numbers (`KeyFamily`); a channel takes one index and uses it in every
 * channel family. The per-commitment secrets of a channel come from a shachain whose seed is
 * a hash of the channel's REVOCATION_ROOT key, so they are recoverable from the node seed.
 *
 * Account-level nodes (m/1017'/coin'/family'/0) are cached; never export their extended
 * public keys: with non-hardened children, an xpub plus any one child private key reveals
 * every sibling.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { assertBytes, assertInt } from './bytes.js';
import { signDigest } from './ecdsa.js';
import { derivePrivateKey as tweakPrivateKey, deriveRevocationPrivateKey } from './key-derivation.js';
import { assertNetwork, type Network } from './network.js';
import type { NodeSeed } from './node-seed.js';
import { ShachainProducer } from './shachain.js';
import { Redacted } from './redacted.js';

/** BIP 43 purpose of chand's key tree (the one Lightning implementations commonly use). */
export const KEY_PURPOSE = 1017;

/** The key families. Numbers are persisted in channel records: never renumber. */
export const KeyFamily = {
  /** Channel funding keys (2-of-2 multisig). */
  MULTISIG: 0,
  /** Channel revocation_basepoint. */
  REVOCATION_BASE: 1,
  /** Channel htlc_basepoint. */
  HTLC_BASE: 2,
  /** Channel payment_basepoint (with option_static_remotekey, also where our to_remote pays). */
  PAYMENT_BASE: 3,
  /** Channel delayed_payment_basepoint. */
  DELAY_BASE: 4,
  /** Root of the channel's per-commitment secret chain (shachain seed = SHA256(tag || key)). */
  REVOCATION_ROOT: 5,
  /** The node identity key (index 0). */
  NODE_KEY: 6,
} as const;

/** One of the `KeyFamily` numbers. */
export type KeyFamily = (typeof KeyFamily)[keyof typeof KeyFamily];

/** Names one key of the tree: key family and index, never the key itself. Safe to persist. */
export interface KeyLocator {
  readonly family: number;
  readonly index: number;
}

/**
 * A public key with the locator it was derived from: what channel records store. The locator
 * is absent for keys that are not ours (the peer's basepoints). Code that needs the key as
 * bytes converts with `hexToBytes(descriptor.pubkey)` where it uses it.
 */
export interface KeyDescriptor {
  readonly locator?: KeyLocator;
  /** 33-byte compressed public key, lowercase hex (66 chars). */
  readonly pubkey: string;
}

/** A descriptor of one of our own keys: it always has its locator. */
export type LocatedKeyDescriptor = KeyDescriptor & { readonly locator: KeyLocator };

/** The keys of one channel: one index in every channel family. Plain data, safe to persist. */
export interface ChannelKeySet {
  readonly index: number;
  readonly funding: LocatedKeyDescriptor;
  readonly revocationBasepoint: LocatedKeyDescriptor;
  readonly htlcBasepoint: LocatedKeyDescriptor;
  readonly paymentBasepoint: LocatedKeyDescriptor;
  readonly delayedPaymentBasepoint: LocatedKeyDescriptor;
  /** Locator of the shachain root; its key is never shared, so no public key is kept. */
  readonly shachainRoot: KeyLocator;
}

const MAX_CHILD = 0x7fff_ffff;
const SHACHAIN_TAG = utf8ToBytes('chand/shachain-seed/v1');

/** The BIP 44 coin type of a network: 0 for mainnet, 1 for every test network (testnet4 included). TypeError for an unknown name. */
export function coinType(network: Network): number {
  return assertNetwork(network) === 'mainnet' ? 0 : 1;
}

/** The BIP 32 path of a locator: m/1017'/coin'/family'/0/index. */
export function keyPath(locator: KeyLocator, network: Network): string {
  checkLocator(locator);
  return `m/${KEY_PURPOSE}'/${coinType(network)}'/${locator.family}'/0/${locator.index}`;
}

/**
 * Derives the node's keys from its seed. Holds the BIP 32 root privately; string, JSON and
 * inspect forms are redacted. Deterministic: the same seed and network give the same keys.
 */
export class KeyChain extends Redacted {
  readonly network: Network;
  readonly #root: HDKey;
  readonly #accounts = new Map<number, HDKey>();

  private constructor(root: HDKey, network: Network) {
    super();
    this.#root = root;
    this.network = network;
  }

  /** The key chain of a node seed on `network`. */
  static fromSeed(seed: NodeSeed, network: Network): KeyChain {
    return KeyChain.fromBip39Seed(seed.toBip39Seed(), network);
  }

  /** The key chain of a raw 16–64-byte BIP 32 seed (for tests and imports). */
  static fromBip39Seed(seed: Uint8Array, network: Network): KeyChain {
    assertBytes('BIP 32 seed', seed);
    if (seed.length < 16 || seed.length > 64) throw new RangeError(`expected a 16-64 byte BIP 32 seed, got ${seed.length} bytes`);
    coinType(network);
    return new KeyChain(HDKey.fromMasterSeed(seed), network);
  }

  /** The compressed public key at `locator`. */
  publicKey(locator: KeyLocator): Uint8Array {
    return Uint8Array.from(this.#node(locator).publicKey!);
  }

  /** `locator` with its public key (hex). */
  descriptor(locator: KeyLocator): LocatedKeyDescriptor {
    return { locator: { family: locator.family, index: locator.index }, pubkey: bytesToHex(this.publicKey(locator)) };
  }

  /** The private key at `locator`. Sensitive: use it, never store or log it. Prefer the sign* methods. */
  privateKey(locator: KeyLocator): Uint8Array {
    return Uint8Array.from(this.#node(locator).privateKey!);
  }

  /** The node identity key (NODE_KEY family, index 0). */
  nodeKey(): LocatedKeyDescriptor {
    return this.descriptor({ family: KeyFamily.NODE_KEY, index: 0 });
  }

  /** The keys of the channel that was given key index `index` (the caller allocates and persists indexes). */
  channelKeys(index: number): ChannelKeySet {
    assertInt('channel key index', index, 0, MAX_CHILD);
    return {
      index,
      funding: this.descriptor({ family: KeyFamily.MULTISIG, index }),
      revocationBasepoint: this.descriptor({ family: KeyFamily.REVOCATION_BASE, index }),
      htlcBasepoint: this.descriptor({ family: KeyFamily.HTLC_BASE, index }),
      paymentBasepoint: this.descriptor({ family: KeyFamily.PAYMENT_BASE, index }),
      delayedPaymentBasepoint: this.descriptor({ family: KeyFamily.DELAY_BASE, index }),
      shachainRoot: { family: KeyFamily.REVOCATION_ROOT, index },
    };
  }

  /** The per-commitment secret producer of a channel, from its shachain root locator. */
  shachainProducer(rootLocator: KeyLocator): ShachainProducer {
    const key = this.privateKey(rootLocator);
    try {
      return new ShachainProducer(sha256(concatBytes(SHACHAIN_TAG, key)));
    } finally {
      key.fill(0);
    }
  }

  /** Signs a 32-byte digest with the key at `locator` (64-byte compact, low-S). */
  signDigest(locator: KeyLocator, digest: Uint8Array): Uint8Array {
    const key = this.privateKey(locator);
    try {
      return signDigest(digest, key);
    } finally {
      key.fill(0);
    }
  }

  /**
   * Signs with the BOLT 3 per-commitment key of a basepoint (localprivkey, local_htlcprivkey,
   * local_delayedprivkey): basepoint secret + SHA256(per_commitment_point || basepoint).
   */
  signDigestTweaked(basepointLocator: KeyLocator, perCommitmentPoint: Uint8Array, digest: Uint8Array): Uint8Array {
    const base = this.privateKey(basepointLocator);
    const tweaked = tweakPrivateKey(base, perCommitmentPoint);
    try {
      return signDigest(digest, tweaked);
    } finally {
      base.fill(0);
      tweaked.fill(0);
    }
  }

  /** Signs with the revocation private key of a revoked commitment (our revocation basepoint + the peer's revealed secret). */
  signDigestRevocation(revocationBasepointLocator: KeyLocator, perCommitmentSecret: Uint8Array, digest: Uint8Array): Uint8Array {
    const base = this.privateKey(revocationBasepointLocator);
    const key = deriveRevocationPrivateKey(base, perCommitmentSecret);
    try {
      return signDigest(digest, key);
    } finally {
      base.fill(0);
      key.fill(0);
    }
  }


  #node(locator: KeyLocator): HDKey {
    checkLocator(locator);
    let account = this.#accounts.get(locator.family);
    if (account === undefined) {
      account = this.#root.derive(`m/${KEY_PURPOSE}'/${coinType(this.network)}'/${locator.family}'/0`);
      this.#accounts.set(locator.family, account);
    }
    return account.deriveChild(locator.index);
  }
}

function checkLocator(locator: KeyLocator): void {
  if (typeof locator !== 'object' || locator === null) throw new TypeError('expected a key locator { family, index }');
  assertInt('key family', locator.family, 0, MAX_CHILD);
  assertInt('key index', locator.index, 0, MAX_CHILD);
}
