/**
 * BOLT 2 receiver checks of `open_channel` and `accept_channel` (02-peer-protocol.md, "The
 * `open_channel` Message" and "The `accept_channel` Message", Requirements). A valid proposal
 * built from real channel keys is accepted; then every MUST-fail rule, and each MAY-fail rule
 * chand applies, has a case that changes one field and expects a reason naming that field,
 * with the value exactly at each limit accepted and one past it refused. A property test feeds
 * random field values (wire-decodable and worse) and checks the checks never throw, and that
 * whatever they accept satisfies every MUST rule.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commitmentFee } from '../../src/bitcoin/bolt3-fees.js';
import { KeyChain } from '../../src/bitcoin/key-chain.js';
import { bytesToHex } from '../../src/codec/bytes.js';
import {
  checkAcceptChannel,
  checkOpenChannel,
  DEFAULT_CHANNEL_POLICY,
  MAX_ACCEPTED_HTLCS,
  MAX_FEERATE_PER_KW,
  MAX_FUNDING_SAT,
  MIN_DUST_LIMIT_SAT,
  MIN_FEERATE_PER_KW,
  OUR_DUST_LIMIT_SAT,
  ourChannelType,
  reserveFor,
  type ChannelPolicy,
} from '../../src/funding/channel-params.js';
import { CHAIN_HASHES } from '../../src/linknode/store.js';
import { encodeChannelType, Feature, FeatureVector } from '../../src/wire/features.js';
import type { AcceptChannel, OpenChannel } from '../../src/wire/types.js';

const CHAIN = CHAIN_HASHES.regtest;
const POLICY = DEFAULT_CHANNEL_POLICY;

/** The basepoints and first per-commitment point of channel 0 of a node whose BIP 32 seed is 32 bytes of `n`. */
function keysOf(n: number) {
  const chain = KeyChain.fromBip39Seed(new Uint8Array(32).fill(n), 'regtest');
  const keys = chain.channelKeys(0);
  return {
    fundingPubkey: keys.funding.pubkey,
    revocationBasepoint: keys.revocationBasepoint.pubkey,
    paymentBasepoint: keys.paymentBasepoint.pubkey,
    delayedPaymentBasepoint: keys.delayedPaymentBasepoint.pubkey,
    htlcBasepoint: keys.htlcBasepoint.pubkey,
    firstPerCommitmentPoint: bytesToHex(chain.shachainProducer(keys.shachainRoot).perCommitmentPoint(0n)),
  };
}
const KEYS_A = keysOf(1);
const KEYS_B = keysOf(2);

/** A valid open_channel for `fundingSat`: 1% reserve, every HTLC limit at its most permissive. */
function openFor(fundingSat: bigint, change: Partial<OpenChannel> = {}): OpenChannel {
  return {
    type: 'open_channel',
    chainHash: CHAIN,
    temporaryChannelId: '11'.repeat(32),
    fundingSat,
    pushMsat: 0n,
    dustLimitSat: OUR_DUST_LIMIT_SAT,
    maxHtlcValueInFlightMsat: fundingSat * 1000n,
    channelReserveSat: reserveFor(fundingSat, OUR_DUST_LIMIT_SAT),
    htlcMinimumMsat: 1n,
    feeratePerKw: 2500,
    toSelfDelay: 144,
    maxAcceptedHtlcs: MAX_ACCEPTED_HTLCS,
    ...KEYS_A,
    channelFlags: 0,
    upfrontShutdownScript: new Uint8Array(0),
    channelType: ourChannelType(),
    ...change,
  };
}

const FUNDING = 1_000_000n;
const OPEN = openFor(FUNDING);

/** A valid accept_channel answering `sent`. */
function acceptFor(sent: OpenChannel, change: Partial<AcceptChannel> = {}): AcceptChannel {
  return {
    type: 'accept_channel',
    temporaryChannelId: sent.temporaryChannelId,
    dustLimitSat: OUR_DUST_LIMIT_SAT,
    maxHtlcValueInFlightMsat: sent.fundingSat * 1000n,
    channelReserveSat: reserveFor(sent.fundingSat, sent.dustLimitSat),
    htlcMinimumMsat: 1n,
    minimumDepth: 3,
    toSelfDelay: 144,
    maxAcceptedHtlcs: MAX_ACCEPTED_HTLCS,
    ...KEYS_B,
    upfrontShutdownScript: new Uint8Array(0),
    ...(sent.channelType !== undefined ? { channelType: sent.channelType } : {}),
    ...change,
  };
}

function withoutChannelType<T extends { channelType?: Uint8Array }>(m: T): T {
  const { channelType: _dropped, ...rest } = m;
  return rest as T;
}

/** Public keys no receiver may accept: wrong prefix, uncompressed, short, x not below p, off the curve, not hex. */
const BAD_KEYS: ReadonlyArray<[string, string]> = [
  ['prefix 04 (uncompressed marker)', '04' + KEYS_A.fundingPubkey.slice(2)],
  ['prefix 05', '05' + KEYS_A.fundingPubkey.slice(2)],
  ['uncompressed 65 bytes', bytesToHex(secp256k1.Point.fromHex(KEYS_A.fundingPubkey).toBytes(false))],
  ['32 bytes', KEYS_A.fundingPubkey.slice(0, 64)],
  ['x = 2^256 - 1', '02' + 'ff'.repeat(32)],
  ['x off the curve', '02' + offCurveX()],
  ['not hex', 'zz'.repeat(33)],
];

/** The first x (counting up from 1) for which x^3 + 7 has no square root mod p. */
function offCurveX(): string {
  for (let x = 1; x < 100; x++) {
    const hex = x.toString(16).padStart(64, '0');
    try {
      secp256k1.Point.fromHex('02' + hex);
    } catch {
      return hex;
    }
  }
  throw new Error('no off-curve x below 100');
}

const KEY_FIELDS = [
  ['fundingPubkey', 'funding_pubkey'],
  ['revocationBasepoint', 'revocation_basepoint'],
  ['paymentBasepoint', 'payment_basepoint'],
  ['delayedPaymentBasepoint', 'delayed_payment_basepoint'],
  ['htlcBasepoint', 'htlc_basepoint'],
  ['firstPerCommitmentPoint', 'first_per_commitment_point'],
] as const;

describe('reserveFor', () => {
  it('is 1% of capacity, but never below our dust limit or the peer\'s', () => {
    expect(reserveFor(1_000_000n, 354n)).toBe(10_000n);
    expect(reserveFor(20_000n, 354n)).toBe(OUR_DUST_LIMIT_SAT);
    expect(reserveFor(20_000n, 700n)).toBe(700n);
    expect(reserveFor(MAX_FUNDING_SAT, 354n)).toBe(MAX_FUNDING_SAT / 100n);
  });
});

describe('checkOpenChannel', () => {
  const check = (m: OpenChannel, policy: ChannelPolicy = POLICY) => checkOpenChannel(m, CHAIN, policy);

  it('accepts a valid open_channel built from real channel keys', () => {
    expect(check(OPEN)).toBeUndefined();
    expect(check(openFor(FUNDING, { pushMsat: 250_000_000n, channelFlags: 1 }))).toBeUndefined();
  });

  it('ignores undefined bits in channel_flags (MUST ignore)', () => {
    expect(check(openFor(FUNDING, { channelFlags: 0xfe }))).toBeUndefined();
    expect(check(openFor(FUNDING, { channelFlags: 0xff }))).toBeUndefined();
  });

  describe('MUST fail', () => {
    it('chain_hash of a chain unknown to the receiver', () => {
      expect(check(openFor(FUNDING, { chainHash: CHAIN_HASHES.mainnet }))).toMatch(/chain_hash/);
      expect(check(openFor(FUNDING, { chainHash: '00'.repeat(32) }))).toMatch(/chain_hash/);
    });

    it('no channel_type', () => {
      expect(check(withoutChannelType(OPEN))).toMatch(/channel_type/);
    });

    it('a channel_type that is not suitable (anchors, zero-conf, scid-alias, undefined bits, empty)', () => {
      const unsuitable = [
        encodeChannelType({ anchors: true, scidAlias: false, zeroConf: false }),
        encodeChannelType({ anchors: false, scidAlias: true, zeroConf: true }),
        encodeChannelType({ anchors: false, scidAlias: true, zeroConf: false }),
        FeatureVector.fromBits([Feature.staticRemoteKey, 100]).toBytes(),
        FeatureVector.fromBits([Feature.staticRemoteKey + 1]).toBytes(),
        new Uint8Array(0),
      ];
      for (const channelType of unsuitable) expect(check(openFor(FUNDING, { channelType }))).toMatch(/channel_type/);
    });

    it('funding_satoshis >= 2^24 without option_support_large_channel (2^24 - 1 accepted)', () => {
      expect(check(openFor(MAX_FUNDING_SAT))).toBeUndefined();
      expect(MAX_FUNDING_SAT).toBe(2n ** 24n - 1n);
      expect(check(openFor(MAX_FUNDING_SAT + 1n))).toMatch(/funding_satoshis/);
      expect(check(openFor(2n ** 40n))).toMatch(/funding_satoshis/);
    });

    it('push_msat greater than funding_satoshis * 1000', () => {
      expect(check(openFor(FUNDING, { pushMsat: FUNDING * 1000n + 1n }))).toMatch(/push_msat/);
      // Exactly funding * 1000 passes this rule; it then fails the fee rule (the funder keeps nothing).
      const atLimit = check(openFor(FUNDING, { pushMsat: FUNDING * 1000n }));
      expect(atLimit).not.toMatch(/push_msat/);
      expect(atLimit).toMatch(/fee/);
    });

    it('to_self_delay unreasonably large (policy maximum accepted, one more refused)', () => {
      expect(check(openFor(FUNDING, { toSelfDelay: POLICY.maxToSelfDelay }))).toBeUndefined();
      expect(check(openFor(FUNDING, { toSelfDelay: POLICY.maxToSelfDelay + 1 }))).toMatch(/to_self_delay/);
      expect(check(openFor(FUNDING, { toSelfDelay: 0xffff }))).toMatch(/to_self_delay/);
      const strict = { ...POLICY, maxToSelfDelay: 100 };
      expect(check(openFor(FUNDING, { toSelfDelay: 100 }), strict)).toBeUndefined();
      expect(check(openFor(FUNDING, { toSelfDelay: 101 }), strict)).toMatch(/to_self_delay/);
    });

    it('max_accepted_htlcs greater than 483', () => {
      expect(check(openFor(FUNDING, { maxAcceptedHtlcs: 483 }))).toBeUndefined();
      expect(check(openFor(FUNDING, { maxAcceptedHtlcs: 484 }))).toMatch(/max_accepted_htlcs/);
      expect(check(openFor(FUNDING, { maxAcceptedHtlcs: 0xffff }))).toMatch(/max_accepted_htlcs/);
    });

    it('feerate_per_kw too small for timely processing (253 accepted, 252 refused)', () => {
      expect(check(openFor(FUNDING, { feeratePerKw: MIN_FEERATE_PER_KW }))).toBeUndefined();
      expect(check(openFor(FUNDING, { feeratePerKw: MIN_FEERATE_PER_KW - 1 }))).toMatch(/feerate_per_kw/);
      expect(check(openFor(FUNDING, { feeratePerKw: 0 }))).toMatch(/feerate_per_kw/);
    });

    it('feerate_per_kw unreasonably large (250,000 accepted, 250,001 refused)', () => {
      expect(check(openFor(FUNDING, { feeratePerKw: MAX_FEERATE_PER_KW }))).toBeUndefined();
      expect(check(openFor(FUNDING, { feeratePerKw: MAX_FEERATE_PER_KW + 1 }))).toMatch(/feerate_per_kw/);
      expect(check(openFor(FUNDING, { feeratePerKw: 0xffff_ffff }))).toMatch(/feerate_per_kw/);
    });

    for (const [field, wireName] of KEY_FIELDS) {
      it(`${wireName} not a valid compressed secp256k1 key`, () => {
        for (const [, bad] of BAD_KEYS) {
          expect(check(openFor(FUNDING, { [field]: bad })), bad).toMatch(new RegExp(wireName));
        }
      });
    }

    it('dust_limit_satoshis greater than channel_reserve_satoshis (equal accepted)', () => {
      expect(check(openFor(FUNDING, { dustLimitSat: 5000n, channelReserveSat: 5000n }))).toBeUndefined();
      const reason = check(openFor(FUNDING, { dustLimitSat: 5001n, channelReserveSat: 5000n }));
      expect(reason).toMatch(/dust_limit_satoshis/);
      expect(reason).toMatch(/channel_reserve_satoshis/);
    });

    it('dust_limit_satoshis smaller than 354 satoshis', () => {
      expect(check(openFor(FUNDING, { dustLimitSat: MIN_DUST_LIMIT_SAT }))).toBeUndefined();
      expect(check(openFor(FUNDING, { dustLimitSat: MIN_DUST_LIMIT_SAT - 1n }))).toMatch(/dust_limit_satoshis/);
      expect(check(openFor(FUNDING, { dustLimitSat: 0n }))).toMatch(/dust_limit_satoshis/);
    });

    it("the funder's amount cannot pay the initial commitment's full fee (exact fee accepted)", () => {
      const feeSat = commitmentFee(MIN_FEERATE_PER_KW, 0);
      expect(feeSat).toBe(183n);
      // The funder keeps exactly the fee: to_local is 0, the pushed to_remote is far above the reserve.
      const exact = openFor(FUNDING, { feeratePerKw: MIN_FEERATE_PER_KW, pushMsat: (FUNDING - feeSat) * 1000n });
      expect(check(exact)).toBeUndefined();
      expect(check({ ...exact, pushMsat: exact.pushMsat + 1n })).toMatch(/fee/);
      // Without any push: a 20,000 sat channel cannot pay 181,000 sat of fee at the maximum rate.
      expect(check(openFor(20_000n, { feeratePerKw: MAX_FEERATE_PER_KW, channelReserveSat: 4000n }))).toMatch(/fee/);
    });

    it('both to_local and to_remote at or below the channel reserve', () => {
      // 20,000 sat at 25,000 sat/kw: 18,100 sat of fee leaves 1,900 sat to split. The funder
      // must keep more than the 546 sat we ask of it, or the fundee more than the 4,000 sat asked of it.
      const feeratePerKw = 25_000;
      expect(commitmentFee(feeratePerKw, 0)).toBe(18_100n);
      expect(reserveFor(20_000n, 354n)).toBe(546n);
      const base = openFor(20_000n, { feeratePerKw, dustLimitSat: 354n, channelReserveSat: 4000n });
      expect(check(base)).toBeUndefined();
      expect(check({ ...base, pushMsat: 1_353_000n })).toBeUndefined(); // funder keeps 547 sat
      expect(check({ ...base, pushMsat: 1_354_000n })).toMatch(/reserve/); // funder 546, fundee 1,354 <= 4,000
      expect(check({ ...base, pushMsat: 1_900_000n })).toMatch(/reserve/); // funder 0, fundee 1,900
    });
  });

  describe('MAY fail, as chand does', () => {
    it('funding_satoshis too small (the policy minimum accepted)', () => {
      expect(check(openFor(POLICY.minChannelSizeSat))).toBeUndefined();
      expect(check(openFor(POLICY.minChannelSizeSat - 1n))).toMatch(/funding_satoshis/);
      expect(check(openFor(0n, { channelReserveSat: 546n }))).toMatch(/funding_satoshis/);
    });

    it('htlc_minimum_msat too large (1% of the channel accepted)', () => {
      expect(check(openFor(FUNDING, { htlcMinimumMsat: FUNDING * 10n }))).toBeUndefined();
      expect(check(openFor(FUNDING, { htlcMinimumMsat: FUNDING * 10n + 1n }))).toMatch(/htlc_minimum_msat/);
    });

    it('max_htlc_value_in_flight_msat too small (1% of the channel accepted)', () => {
      expect(check(openFor(FUNDING, { maxHtlcValueInFlightMsat: FUNDING * 10n }))).toBeUndefined();
      expect(check(openFor(FUNDING, { maxHtlcValueInFlightMsat: FUNDING * 10n - 1n }))).toMatch(/max_htlc_value_in_flight_msat/);
      expect(check(openFor(FUNDING, { maxHtlcValueInFlightMsat: 0n }))).toMatch(/max_htlc_value_in_flight_msat/);
    });

    it('channel_reserve_satoshis too large (20% of the channel accepted)', () => {
      const limit = (FUNDING * BigInt(POLICY.maxReservePerMille)) / 1000n;
      expect(limit).toBe(200_000n);
      expect(check(openFor(FUNDING, { channelReserveSat: limit }))).toBeUndefined();
      expect(check(openFor(FUNDING, { channelReserveSat: limit + 1n }))).toMatch(/channel_reserve_satoshis/);
    });

    it('max_accepted_htlcs too small (1 accepted, 0 refused)', () => {
      expect(check(openFor(FUNDING, { maxAcceptedHtlcs: 1 }))).toBeUndefined();
      expect(check(openFor(FUNDING, { maxAcceptedHtlcs: 0 }))).toMatch(/max_accepted_htlcs/);
    });
  });
});

describe('checkAcceptChannel', () => {
  const check = (m: AcceptChannel, sent: OpenChannel = OPEN, policy: ChannelPolicy = POLICY) => checkAcceptChannel(m, sent, policy);
  const ACCEPT = acceptFor(OPEN);

  it('accepts a valid accept_channel built from real channel keys', () => {
    expect(check(ACCEPT)).toBeUndefined();
  });

  describe('MUST fail', () => {
    it('no channel_type', () => {
      expect(check(withoutChannelType(ACCEPT))).toMatch(/channel_type/);
    });

    it('a channel_type other than the one in our open_channel', () => {
      expect(check(acceptFor(OPEN, { channelType: encodeChannelType({ anchors: true, scidAlias: false, zeroConf: false }) }))).toMatch(/channel_type/);
      expect(check(acceptFor(OPEN, { channelType: new Uint8Array(0) }))).toMatch(/channel_type/);
    });

    it('channel_reserve_satoshis less than the dust_limit_satoshis of our open_channel (equal accepted)', () => {
      expect(OPEN.dustLimitSat).toBe(546n);
      expect(check(acceptFor(OPEN, { channelReserveSat: 546n, dustLimitSat: 354n }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { channelReserveSat: 545n, dustLimitSat: 354n }))).toMatch(/channel_reserve_satoshis/);
    });

    it('our channel_reserve_satoshis less than its dust_limit_satoshis (equal accepted)', () => {
      expect(OPEN.channelReserveSat).toBe(10_000n);
      expect(check(acceptFor(OPEN, { dustLimitSat: 10_000n, channelReserveSat: 10_000n }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { dustLimitSat: 10_001n, channelReserveSat: 20_000n }))).toMatch(/dust_limit_satoshis/);
    });

    it('dust_limit_satoshis greater than its own channel_reserve_satoshis (same rule as open_channel)', () => {
      // 600 <= our reserve (10,000), 599 >= our dust (546): only the accepter's own pair is wrong.
      expect(check(acceptFor(OPEN, { dustLimitSat: 600n, channelReserveSat: 600n }))).toBeUndefined();
      const reason = check(acceptFor(OPEN, { dustLimitSat: 600n, channelReserveSat: 599n }));
      expect(reason).toMatch(/dust_limit_satoshis/);
      expect(reason).toMatch(/channel_reserve_satoshis/);
    });

    it('dust_limit_satoshis smaller than 354 satoshis', () => {
      expect(check(acceptFor(OPEN, { dustLimitSat: 354n }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { dustLimitSat: 353n }))).toMatch(/dust_limit_satoshis/);
      expect(check(acceptFor(OPEN, { dustLimitSat: 0n }))).toMatch(/dust_limit_satoshis/);
    });

    it('to_self_delay unreasonably large', () => {
      expect(check(acceptFor(OPEN, { toSelfDelay: POLICY.maxToSelfDelay }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { toSelfDelay: POLICY.maxToSelfDelay + 1 }))).toMatch(/to_self_delay/);
    });

    it('max_accepted_htlcs greater than 483', () => {
      expect(check(acceptFor(OPEN, { maxAcceptedHtlcs: 483 }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { maxAcceptedHtlcs: 484 }))).toMatch(/max_accepted_htlcs/);
    });

    for (const [field, wireName] of KEY_FIELDS) {
      it(`${wireName} not a valid compressed secp256k1 key`, () => {
        for (const [, bad] of BAD_KEYS) {
          expect(check(acceptFor(OPEN, { [field]: bad })), bad).toMatch(new RegExp(wireName));
        }
      });
    }

    it('both initial balances at or below the reserves (accepter\'s reserve on the funder)', () => {
      // As in the open_channel case: 1,900 sat to split after fees, 1,354 sat pushed, the funder keeps 546.
      const sent = openFor(20_000n, { feeratePerKw: 25_000, dustLimitSat: 354n, channelReserveSat: 4000n, pushMsat: 1_354_000n });
      expect(check(acceptFor(sent, { dustLimitSat: 354n, channelReserveSat: 545n }), sent)).toBeUndefined();
      expect(check(acceptFor(sent, { dustLimitSat: 354n, channelReserveSat: 546n }), sent)).toMatch(/reserve/);
    });

    it("the funder's (our) amount cannot pay the initial commitment's fee", () => {
      const sent = openFor(FUNDING, { pushMsat: FUNDING * 1000n });
      expect(check(acceptFor(sent), sent)).toMatch(/fee/);
    });
  });

  describe('MAY fail, as chand does', () => {
    it('minimum_depth unreasonably large (policy maximum accepted)', () => {
      expect(check(acceptFor(OPEN, { minimumDepth: POLICY.maxMinimumDepth }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { minimumDepth: POLICY.maxMinimumDepth + 1 }))).toMatch(/minimum_depth/);
      expect(check(acceptFor(OPEN, { minimumDepth: 0xffff_ffff }))).toMatch(/minimum_depth/);
    });

    it('minimum_depth 0 without option_zeroconf', () => {
      expect(check(acceptFor(OPEN, { minimumDepth: 1 }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { minimumDepth: 0 }))).toMatch(/minimum_depth/);
    });

    it('channel_reserve_satoshis too large (20% of our funding accepted)', () => {
      expect(check(acceptFor(OPEN, { channelReserveSat: 200_000n }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { channelReserveSat: 200_001n }))).toMatch(/channel_reserve_satoshis/);
    });

    it('htlc_minimum_msat too large', () => {
      expect(check(acceptFor(OPEN, { htlcMinimumMsat: FUNDING * 10n }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { htlcMinimumMsat: FUNDING * 10n + 1n }))).toMatch(/htlc_minimum_msat/);
    });

    it('max_htlc_value_in_flight_msat too small', () => {
      expect(check(acceptFor(OPEN, { maxHtlcValueInFlightMsat: FUNDING * 10n }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { maxHtlcValueInFlightMsat: FUNDING * 10n - 1n }))).toMatch(/max_htlc_value_in_flight_msat/);
    });

    it('max_accepted_htlcs too small', () => {
      expect(check(acceptFor(OPEN, { maxAcceptedHtlcs: 1 }))).toBeUndefined();
      expect(check(acceptFor(OPEN, { maxAcceptedHtlcs: 0 }))).toMatch(/max_accepted_htlcs/);
    });
  });
});

// ---- property: random mutations never throw, and what is accepted obeys every MUST rule ----

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
/** Amounts biased to the neighbourhood of the limits the rules use. */
const sat = fc.oneof(u64, fc.bigInt({ min: 0n, max: 2_000_000n }), fc.constantFrom(0n, 353n, 354n, 546n, 10_000n, 20_000n, MAX_FUNDING_SAT, MAX_FUNDING_SAT + 1n));
const msat = fc.oneof(u64, fc.bigInt({ min: 0n, max: 2_000_000_000n }), fc.constantFrom(0n, 1n, 10_000_000n, 1_000_000_000n));
const validKey = fc.bigInt({ min: 1n, max: secp256k1.Point.CURVE().n - 1n }).map((k) => secp256k1.Point.BASE.multiply(k).toHex(true));
const anyKey = fc.oneof(
  validKey,
  fc.uint8Array({ minLength: 33, maxLength: 33 }).map(bytesToHex),
  fc.uint8Array({ maxLength: 70 }).map(bytesToHex),
  fc.string({ maxLength: 70 }),
);
const channelTypeArb = fc.oneof(
  fc.constant(ourChannelType()),
  fc.uint8Array({ maxLength: 9 }),
  fc.constantFrom(...[true, false].flatMap((anchors) => [true, false].map((scidAlias) => encodeChannelType({ anchors, scidAlias, zeroConf: false })))),
);
const keyMutations = {
  fundingPubkey: anyKey,
  revocationBasepoint: anyKey,
  paymentBasepoint: anyKey,
  delayedPaymentBasepoint: anyKey,
  htlcBasepoint: anyKey,
  firstPerCommitmentPoint: anyKey,
};
const openFields = {
  chainHash: fc.oneof(fc.constant(CHAIN), fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex)),
  fundingSat: sat,
  pushMsat: msat,
  dustLimitSat: sat,
  maxHtlcValueInFlightMsat: msat,
  channelReserveSat: sat,
  htlcMinimumMsat: msat,
  feeratePerKw: fc.oneof(u32, fc.integer({ min: 0, max: 300_000 })),
  toSelfDelay: u16,
  maxAcceptedHtlcs: u16,
  channelFlags: fc.integer({ min: 0, max: 0xff }),
  channelType: fc.option(channelTypeArb, { nil: undefined }),
  ...keyMutations,
};
const acceptFields = {
  dustLimitSat: sat,
  maxHtlcValueInFlightMsat: msat,
  channelReserveSat: sat,
  htlcMinimumMsat: msat,
  minimumDepth: fc.oneof(u32, fc.integer({ min: 0, max: 200 })),
  toSelfDelay: u16,
  maxAcceptedHtlcs: u16,
  channelType: fc.option(channelTypeArb, { nil: undefined }),
  ...keyMutations,
};

/** One to three fields of a message changed at once (so that some mutated messages stay valid). */
function mutationOf<T extends Record<string, fc.Arbitrary<unknown>>>(fields: T): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.record(fields), fc.subarray(Object.keys(fields), { minLength: 1, maxLength: 3 }))
    .map(([values, chosen]) => Object.fromEntries(chosen.map((k) => [k, (values as Record<string, unknown>)[k]])));
}
const openMutation = mutationOf(openFields);
const acceptMutation = mutationOf(acceptFields);
const RUNS = 1000;

function isCompressedKey(hex: string): boolean {
  if (!/^0[23][0-9a-fA-F]{64}$/.test(hex)) return false;
  try {
    secp256k1.Point.fromHex(hex);
    return true;
  } catch {
    return false;
  }
}

function applied<T extends object>(base: T, mutation: object): T {
  const out = { ...base, ...mutation } as Record<string, unknown>;
  if ('channelType' in mutation && mutation.channelType === undefined) delete out['channelType'];
  return out as T;
}

/** The MUST rules BOLT 2 sets for both messages' shared fields, for a message a receiver accepted. */
function expectMustRules(m: OpenChannel | AcceptChannel): void {
  expect(m.maxAcceptedHtlcs).toBeLessThanOrEqual(483);
  expect(m.dustLimitSat).toBeGreaterThanOrEqual(354n);
  expect(m.channelType).toBeDefined();
  expect(m.toSelfDelay).toBeLessThanOrEqual(POLICY.maxToSelfDelay);
  for (const [field] of KEY_FIELDS) expect(isCompressedKey(m[field]), field).toBe(true);
}

/** Funder's balance after the fee, and the fundee's, in sat (both rounded down, as on the commitment). */
function initialOutputs(fundingSat: bigint, pushMsat: bigint, feeratePerKw: number): { funderMsat: bigint; toFunder: bigint; toFundee: bigint } {
  const funderMsat = fundingSat * 1000n - pushMsat;
  return { funderMsat, toFunder: funderMsat / 1000n - commitmentFee(feeratePerKw, 0), toFundee: pushMsat / 1000n };
}

describe('property: random field values', () => {
  it('checkOpenChannel never throws, returns a reason or undefined, and accepts only what BOLT 2 allows', () => {
    let accepted = 0;
    fc.assert(
      fc.property(openMutation, (mutation) => {
        const m = applied(OPEN, mutation);
        const reason = checkOpenChannel(m, CHAIN, POLICY);
        if (reason !== undefined) {
          expect(typeof reason).toBe('string');
          expect(reason.length).toBeGreaterThan(0);
          return;
        }
        accepted++;
        expectMustRules(m);
        expect(m.chainHash).toBe(CHAIN);
        expect(m.fundingSat).toBeLessThan(2n ** 24n);
        expect(m.pushMsat).toBeLessThanOrEqual(m.fundingSat * 1000n);
        expect(m.feeratePerKw).toBeGreaterThanOrEqual(MIN_FEERATE_PER_KW);
        expect(m.feeratePerKw).toBeLessThanOrEqual(MAX_FEERATE_PER_KW);
        expect(m.dustLimitSat).toBeLessThanOrEqual(m.channelReserveSat);
        const { funderMsat, toFunder, toFundee } = initialOutputs(m.fundingSat, m.pushMsat, m.feeratePerKw);
        expect(funderMsat).toBeGreaterThanOrEqual(commitmentFee(m.feeratePerKw, 0) * 1000n);
        expect(toFunder > reserveFor(m.fundingSat, m.dustLimitSat) || toFundee > m.channelReserveSat).toBe(true);
      }),
      { numRuns: RUNS },
    );
    // The rules above were exercised on accepted messages, not only on refusals.
    expect(accepted).toBeGreaterThan(RUNS / 20);
  });

  it('checkAcceptChannel never throws, returns a reason or undefined, and accepts only what BOLT 2 allows', () => {
    let accepted = 0;
    fc.assert(
      fc.property(acceptMutation, (mutation) => {
        const m = applied(acceptFor(OPEN), mutation);
        const reason = checkAcceptChannel(m, OPEN, POLICY);
        if (reason !== undefined) {
          expect(typeof reason).toBe('string');
          expect(reason.length).toBeGreaterThan(0);
          return;
        }
        accepted++;
        expectMustRules(m);
        expect(bytesToHex(m.channelType!)).toBe(bytesToHex(OPEN.channelType!));
        expect(m.channelReserveSat).toBeGreaterThanOrEqual(OPEN.dustLimitSat);
        expect(m.dustLimitSat).toBeLessThanOrEqual(OPEN.channelReserveSat);
        expect(m.dustLimitSat).toBeLessThanOrEqual(m.channelReserveSat);
        const { toFunder, toFundee } = initialOutputs(OPEN.fundingSat, OPEN.pushMsat, OPEN.feeratePerKw);
        expect(toFunder > m.channelReserveSat || toFundee > OPEN.channelReserveSat).toBe(true);
      }),
      { numRuns: RUNS },
    );
    // The rules above were exercised on accepted messages, not only on refusals.
    expect(accepted).toBeGreaterThan(RUNS / 20);
  });

  it('a single valid-looking key mutation is accepted exactly when the key is a valid compressed point', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KEY_FIELDS), anyKey, ([field], key) => {
        const reason = checkOpenChannel(openFor(FUNDING, { [field]: key }), CHAIN, POLICY);
        expect(reason === undefined).toBe(isCompressedKey(key));
      }),
      { numRuns: 300 },
    );
  });
});
