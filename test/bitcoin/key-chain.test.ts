/**
 * Key chain: the documented BIP 32 path scheme, determinism, channel key sets that hold only
 * locators and public keys, and signing with tweaked and revocation keys that verify against
 * the BOLT 3 public derivations.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { verifyDigest } from '../../src/bitcoin/ecdsa.js';
import { coinType, KeyChain, KeyFamily, keyPath } from '../../src/bitcoin/key-chain.js';
import { assertNetwork, isNetwork, NETWORK_NAMES } from '../../src/bitcoin/network.js';
import { deriveRevocationPublicKey, derivePublicKey, perCommitmentPoint } from '../../src/bitcoin/key-derivation.js';
import { NodeSeed } from '../../src/bitcoin/node-seed.js';

const seed = NodeSeed.generate();
const chain = KeyChain.fromSeed(seed, 'regtest');

describe('KeyChain', () => {
  it('derives every locator at m/1017\'/coin\'/family\'/0/index', () => {
    const root = HDKey.fromMasterSeed(seed.toBip39Seed());
    for (const locator of [{ family: KeyFamily.NODE_KEY, index: 0 }, { family: KeyFamily.MULTISIG, index: 7 }, { family: 4, index: 123456 }]) {
      expect(keyPath(locator, 'regtest')).toBe(`m/1017'/1'/${locator.family}'/0/${locator.index}`);
      expect(bytesToHex(chain.publicKey(locator))).toBe(bytesToHex(root.derive(keyPath(locator, 'regtest')).publicKey!));
    }
    expect(keyPath({ family: 6, index: 0 }, 'mainnet')).toBe("m/1017'/0'/6'/0/0");
  });

  it('uses coin type 0 on mainnet and 1 on every test network, testnet4 included', () => {
    expect(NETWORK_NAMES.map((n) => [n, coinType(n)])).toEqual([['mainnet', 0], ['testnet', 1], ['testnet4', 1], ['signet', 1], ['regtest', 1]]);
    expect(keyPath({ family: 6, index: 0 }, 'testnet4')).toBe("m/1017'/1'/6'/0/0");
    expect(() => coinType('bitcoin' as never)).toThrow(TypeError);
    expect(() => KeyChain.fromSeed(seed, 'Mainnet' as never)).toThrow(TypeError);
    expect(isNetwork('testnet4')).toBe(true);
    expect(isNetwork('testnet3')).toBe(false);
    expect(() => assertNetwork(4)).toThrow(/expected network mainnet, testnet, testnet4, signet, regtest, got 4/);
  });

  it('describes a key by its locator and its compressed public key as lowercase hex', () => {
    const locator = { family: KeyFamily.HTLC_BASE, index: 42 };
    const descriptor = chain.descriptor(locator);
    expect(descriptor).toEqual({ locator, pubkey: bytesToHex(chain.publicKey(locator)) });
    expect(descriptor.pubkey).toMatch(/^0[23][0-9a-f]{64}$/);
    expect(chain.nodeKey()).toEqual({ locator: { family: KeyFamily.NODE_KEY, index: 0 }, pubkey: bytesToHex(chain.publicKey({ family: 6, index: 0 })) });
  });

  it('is deterministic per seed and network', () => {
    const again = KeyChain.fromSeed(NodeSeed.fromMnemonic(seed.revealMnemonic()), 'regtest');
    expect(again.nodeKey().pubkey).toEqual(chain.nodeKey().pubkey);
    expect(KeyChain.fromSeed(seed, 'mainnet').nodeKey().pubkey).not.toEqual(chain.nodeKey().pubkey);
    expect(KeyChain.fromSeed(NodeSeed.generate(), 'regtest').nodeKey().pubkey).not.toEqual(chain.nodeKey().pubkey);
  });

  it('channel key sets are plain locators and public keys, distinct per family and channel', () => {
    const a = chain.channelKeys(0);
    const b = chain.channelKeys(1);
    const keys = [a, b].flatMap((k) => [k.funding, k.revocationBasepoint, k.htlcBasepoint, k.paymentBasepoint, k.delayedPaymentBasepoint]);
    expect(new Set(keys.map((k) => k.pubkey)).size).toBe(10);
    for (const k of keys) expect(Object.keys(k).sort()).toEqual(['locator', 'pubkey']);
    const privs = keys.map((k) => bytesToHex(chain.privateKey(k.locator)));
    const serialized = JSON.stringify(a, (_, v: unknown) => (v instanceof Uint8Array ? bytesToHex(v) : v));
    for (const p of privs) expect(serialized).not.toContain(p);
    expect(a.shachainRoot).toEqual({ family: KeyFamily.REVOCATION_ROOT, index: 0 });
  });

  it('gives each channel its own reproducible per-commitment chain', () => {
    const p0 = chain.shachainProducer(chain.channelKeys(0).shachainRoot);
    const p1 = chain.shachainProducer(chain.channelKeys(1).shachainRoot);
    expect(p0.perCommitmentSecret(5n)).toEqual(KeyChain.fromSeed(seed, 'regtest').shachainProducer({ family: 5, index: 0 }).perCommitmentSecret(5n));
    expect(p0.perCommitmentSecret(5n)).not.toEqual(p1.perCommitmentSecret(5n));
  });

  it('signs with plain, per-commitment tweaked and revocation keys that verify against the public derivations', () => {
    const digest = sha256(new Uint8Array([1, 2, 3]));
    const keys = chain.channelKeys(3);
    expect(verifyDigest(chain.signDigest(keys.funding.locator, digest), digest, hexToBytes(keys.funding.pubkey))).toBe(true);

    const producer = chain.shachainProducer(keys.shachainRoot);
    const pcp = producer.perCommitmentPoint(9n);
    const htlcPub = derivePublicKey(hexToBytes(keys.htlcBasepoint.pubkey), pcp);
    expect(verifyDigest(chain.signDigestTweaked(keys.htlcBasepoint.locator, pcp, digest), digest, htlcPub)).toBe(true);
    expect(verifyDigest(chain.signDigestTweaked(keys.htlcBasepoint.locator, pcp, digest), digest, hexToBytes(keys.htlcBasepoint.pubkey))).toBe(false);

    // Revocation: our basepoint, the peer's revealed secret.
    const peerSecret = sha256(new Uint8Array([9]));
    const revocationPub = deriveRevocationPublicKey(hexToBytes(keys.revocationBasepoint.pubkey), perCommitmentPoint(peerSecret));
    expect(verifyDigest(chain.signDigestRevocation(keys.revocationBasepoint.locator, peerSecret, digest), digest, revocationPub)).toBe(true);
  });

  it('rejects malformed locators and never prints keys', () => {
    expect(() => chain.publicKey({ family: -1, index: 0 })).toThrow(RangeError);
    expect(() => chain.publicKey({ family: 0, index: 2 ** 31 })).toThrow(RangeError);
    const priv = bytesToHex(chain.privateKey({ family: 6, index: 0 }));
    const printed = `${String(chain)} ${JSON.stringify({ chain })} ${inspect(chain)}`;
    expect(printed).toContain('redacted');
    expect(printed).not.toContain(priv);
  });
});
