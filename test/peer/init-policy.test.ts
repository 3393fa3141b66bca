/**
 * The pure rules of the peer layer: which `init` a node accepts (BOLT 1 / BOLT 9) and the
 * reconnection backoff schedule.
 */
import { describe, expect, it } from 'vitest';
import { checkPeerInit } from '../../src/peer/init-policy.js';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/peer/peer-manager.js';
import { chandInitFeatures, Feature, FeatureVector } from '../../src/wire/features.js';
import { buildInit } from '../../src/wire/setup-messages.js';

const CHAIN = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';
const OTHER = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';
const ours = chandInitFeatures();

describe('checkPeerInit', () => {
  it('accepts chand talking to chand, with or without networks', () => {
    expect(checkPeerInit(ours, buildInit({ features: ours, networks: [CHAIN] }), CHAIN)).toBeUndefined();
    expect(checkPeerInit(ours, buildInit({ features: ours }), CHAIN)).toBeUndefined();
  });
  it('ignores unknown odd bits and accepts a peer listing several chains including ours', () => {
    expect(checkPeerInit(ours, buildInit({ features: ours.with(201), networks: [OTHER, CHAIN] }), CHAIN)).toBeUndefined();
  });
  it('refuses an unknown even bit', () => {
    expect(checkPeerInit(ours, buildInit({ features: ours.with(200) }), CHAIN)).toMatchObject({ code: 'PEER_FEATURES_INCOMPATIBLE' });
  });
  it('refuses a feature without its dependency (option_zeroconf needs option_scid_alias)', () => {
    const err = checkPeerInit(ours.with(Feature.zeroConf + 1), buildInit({ features: ours.with(Feature.zeroConf + 1) }), CHAIN);
    expect(err).toMatchObject({ code: 'PEER_FEATURES_INCOMPATIBLE' });
    expect(err!.message).toMatch(/dependency/);
  });
  it('refuses a peer lacking a feature we require, but not one we only offer', () => {
    const requiring = ours.with(Feature.anchors);
    expect(checkPeerInit(requiring, buildInit({ features: ours }), CHAIN)?.message).toMatch(/require feature bit 22/);
    expect(checkPeerInit(requiring, buildInit({ features: ours.with(Feature.anchors + 1) }), CHAIN)).toBeUndefined();
    expect(checkPeerInit(ours.with(Feature.anchors + 1), buildInit({ features: ours }), CHAIN)).toBeUndefined();
  });
  it('treats the features every node must assume as present even when omitted', () => {
    expect(checkPeerInit(ours, buildInit({ features: FeatureVector.empty() }), CHAIN)).toBeUndefined();
  });
  it('refuses a peer whose networks do not include our chain', () => {
    expect(checkPeerInit(ours, buildInit({ features: ours, networks: [OTHER] }), CHAIN)).toMatchObject({ code: 'PEER_CHAIN_MISMATCH' });
    expect(checkPeerInit(ours, buildInit({ features: ours, networks: [] }), CHAIN)).toMatchObject({ code: 'PEER_CHAIN_MISMATCH' });
  });
});

describe('backoffDelay', () => {
  it('doubles from initialMs and is capped at maxMs without jitter', () => {
    const opts = { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1_000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 100].map((a) => backoffDelay(a, opts, () => 0.5))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });
  it('removes at most `jitter` of each delay', () => {
    const opts = { ...DEFAULT_BACKOFF, initialMs: 1_000, maxMs: 10_000, jitter: 0.5 };
    expect(backoffDelay(2, opts, () => 0)).toBe(4_000);
    expect(backoffDelay(2, opts, () => 0.999999)).toBe(2_000);
    expect(backoffDelay(10, opts, () => 0.5)).toBe(7_500);
  });
  it('refuses a negative attempt', () => {
    expect(() => backoffDelay(-1, DEFAULT_BACKOFF, Math.random)).toThrow(RangeError);
  });
});
