/**
 * BOLT 2 channel-establishment parameters: what chand proposes, and the receiver-side checks
 * of `open_channel` and `accept_channel`. Pure functions; a failed check returns the reason
 * the node puts in its `error` message, in words another implementation's user can act on.
 *
 * The MUST-fail rules of BOLT 2 "The `open_channel` Message" / "The `accept_channel` Message"
 * are all checked; of the MAY-fail rules chand applies the ones that protect it (a reserve or
 * minimum HTLC so large the channel is unusable, a minimum depth it would wait days for).
 */
import { commitmentFee } from '../bitcoin/bolt3-fees.js';
import { assertPublicKey } from '../bitcoin/ecdsa.js';
import { hexToBytes } from '../codec/bytes.js';
import type { AcceptChannel, OpenChannel as OpenChannelMsg } from '../wire/types.js';
import { CHAND_CHANNEL_TYPE, decodeChannelType, encodeChannelType } from '../wire/features.js';

/** BOLT 3's lowest dust limit a node may use (the largest standard dust threshold). */
export const MIN_DUST_LIMIT_SAT = 354n;
/** The dust limit chand uses on its own commitments: Bitcoin Core's P2PKH dust threshold. */
export const OUR_DUST_LIMIT_SAT = 546n;
/** BOLT 2: at most 483 HTLCs per direction. */
export const MAX_ACCEPTED_HTLCS = 483;
/** Without option_support_large_channel, a channel is below 2^24 sat. */
export const MAX_FUNDING_SAT = (1n << 24n) - 1n;
/** The lowest fee rate a commitment may use (Bitcoin Core's relay floor, 253 sat/kw). */
export const MIN_FEERATE_PER_KW = 253;
/** Fee rates above this are refused as unreasonable (1,000 sat/vB). */
export const MAX_FEERATE_PER_KW = 250_000;

/** What chand asks of its peer and accepts from it. Values a node operator may tune. */
export interface ChannelPolicy {
  /** The to_self_delay we impose on the peer's outputs (blocks). */
  readonly toSelfDelay: number;
  /** The largest to_self_delay we accept on our own outputs (blocks). */
  readonly maxToSelfDelay: number;
  /** The confirmations we require before channel_ready (as acceptor: our minimum_depth). */
  readonly minimumDepth: number;
  /** The largest minimum_depth we accept from an acceptor. */
  readonly maxMinimumDepth: number;
  /** Smallest channel we accept (sat). */
  readonly minChannelSizeSat: bigint;
  /** The smallest HTLC we accept (msat). */
  readonly htlcMinimumMsat: bigint;
  /** Largest reserve, as a fraction of capacity (per mille), we accept to keep. */
  readonly maxReservePerMille: number;
}

/** chand's defaults: a day of to_self_delay, 3 confirmations, 20,000 sat minimum. */
export const DEFAULT_CHANNEL_POLICY: ChannelPolicy = Object.freeze({
  toSelfDelay: 144,
  maxToSelfDelay: 2016,
  minimumDepth: 3,
  maxMinimumDepth: 144,
  minChannelSizeSat: 20_000n,
  htlcMinimumMsat: 1n,
  maxReservePerMille: 200,
});

/** The reserve chand asks the peer to keep: 1% of capacity, at least both dust limits. */
export function reserveFor(capacitySat: bigint, peerDustLimitSat: bigint): bigint {
  let reserve = capacitySat / 100n;
  if (reserve < OUR_DUST_LIMIT_SAT) reserve = OUR_DUST_LIMIT_SAT;
  if (reserve < peerDustLimitSat) reserve = peerDustLimitSat;
  return reserve;
}

/** The channel_type TLV chand proposes and accepts (static_remotekey, no anchors). */
export function ourChannelType(): Uint8Array {
  return encodeChannelType(CHAND_CHANNEL_TYPE);
}

function isValidPublicKey(hex: string): boolean {
  try {
    assertPublicKey('key', hexToBytes(hex));
    return true;
  } catch {
    return false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function channelTypeProblem(channelType: Uint8Array | undefined): string | undefined {
  if (channelType === undefined) return 'channel_type is missing (BOLT 2 requires it)';
  let decoded;
  try {
    decoded = decodeChannelType(channelType);
  } catch {
    return 'channel_type is not a defined channel type';
  }
  if (decoded === undefined || !sameBytes(encodeChannelType(decoded), ourChannelType())) {
    return 'channel_type is not supported: chand opens option_static_remotekey channels only';
  }
  return undefined;
}

function keysProblem(m: Pick<OpenChannelMsg, 'fundingPubkey' | 'revocationBasepoint' | 'paymentBasepoint' | 'delayedPaymentBasepoint' | 'htlcBasepoint' | 'firstPerCommitmentPoint'>): string | undefined {
  const keys = {
    funding_pubkey: m.fundingPubkey,
    revocation_basepoint: m.revocationBasepoint,
    payment_basepoint: m.paymentBasepoint,
    delayed_payment_basepoint: m.delayedPaymentBasepoint,
    htlc_basepoint: m.htlcBasepoint,
    first_per_commitment_point: m.firstPerCommitmentPoint,
  };
  for (const [name, hex] of Object.entries(keys)) {
    if (!isValidPublicKey(hex)) return `${name} is not a valid compressed secp256k1 public key`;
  }
  return undefined;
}

/**
 * Receiver checks of `open_channel` (chand as acceptor). `chainHash` is ours.
 * Returns the failure reason, or undefined if chand accepts the proposal.
 */
export function checkOpenChannel(msg: OpenChannelMsg, chainHash: string, policy: ChannelPolicy): string | undefined {
  if (msg.chainHash !== chainHash) return `chain_hash ${msg.chainHash} is not our chain (${chainHash})`;
  const typeProblem = channelTypeProblem(msg.channelType);
  if (typeProblem !== undefined) return typeProblem;
  if (msg.fundingSat > MAX_FUNDING_SAT) return `funding_satoshis ${msg.fundingSat} is at least 2^24 and option_support_large_channel is not supported`;
  if (msg.fundingSat < policy.minChannelSizeSat) return `funding_satoshis ${msg.fundingSat} is below our minimum channel size of ${policy.minChannelSizeSat} sat`;
  if (msg.pushMsat > msg.fundingSat * 1000n) return `push_msat ${msg.pushMsat} is more than funding_satoshis * 1000`;
  if (msg.toSelfDelay > policy.maxToSelfDelay) return `to_self_delay ${msg.toSelfDelay} is above our maximum of ${policy.maxToSelfDelay} blocks`;
  if (msg.maxAcceptedHtlcs > MAX_ACCEPTED_HTLCS) return `max_accepted_htlcs ${msg.maxAcceptedHtlcs} is above 483`;
  if (msg.maxAcceptedHtlcs < 1) return 'max_accepted_htlcs 0 leaves the channel unusable';
  if (msg.feeratePerKw < MIN_FEERATE_PER_KW) return `feerate_per_kw ${msg.feeratePerKw} is below ${MIN_FEERATE_PER_KW}, too low to confirm`;
  if (msg.feeratePerKw > MAX_FEERATE_PER_KW) return `feerate_per_kw ${msg.feeratePerKw} is unreasonably large (above ${MAX_FEERATE_PER_KW})`;
  const keyProblem = keysProblem(msg);
  if (keyProblem !== undefined) return keyProblem;
  if (msg.dustLimitSat > msg.channelReserveSat) return `dust_limit_satoshis ${msg.dustLimitSat} is greater than channel_reserve_satoshis ${msg.channelReserveSat}`;
  if (msg.dustLimitSat < MIN_DUST_LIMIT_SAT) return `dust_limit_satoshis ${msg.dustLimitSat} is below 354`;
  if (msg.channelReserveSat * 1000n > msg.fundingSat * BigInt(policy.maxReservePerMille)) {
    return `channel_reserve_satoshis ${msg.channelReserveSat} is more than ${policy.maxReservePerMille / 10}% of the channel`;
  }
  if (msg.htlcMinimumMsat > msg.fundingSat * 10n) return `htlc_minimum_msat ${msg.htlcMinimumMsat} is more than 1% of the channel`;
  if (msg.maxHtlcValueInFlightMsat < msg.fundingSat * 10n) return `max_htlc_value_in_flight_msat ${msg.maxHtlcValueInFlightMsat} is less than 1% of the channel`;
  return initialBalancesProblem(msg.fundingSat, msg.pushMsat, msg.feeratePerKw, msg.channelReserveSat, reserveFor(msg.fundingSat, msg.dustLimitSat));
}

/**
 * Receiver checks of `accept_channel` (chand as initiator), against the `open_channel` we sent.
 * Returns the failure reason, or undefined.
 */
export function checkAcceptChannel(msg: AcceptChannel, sent: OpenChannelMsg, policy: ChannelPolicy): string | undefined {
  if (msg.channelType === undefined) return 'channel_type is missing (BOLT 2 requires it)';
  if (sent.channelType === undefined || !sameBytes(msg.channelType, sent.channelType)) return 'channel_type does not match the one in our open_channel';
  if (msg.minimumDepth > policy.maxMinimumDepth) return `minimum_depth ${msg.minimumDepth} is above our maximum of ${policy.maxMinimumDepth}`;
  if (msg.minimumDepth < 1) return 'minimum_depth 0 (zero-conf) was not negotiated';
  if (msg.channelReserveSat < sent.dustLimitSat) return `channel_reserve_satoshis ${msg.channelReserveSat} is less than our dust_limit_satoshis ${sent.dustLimitSat}`;
  if (sent.channelReserveSat < msg.dustLimitSat) return `dust_limit_satoshis ${msg.dustLimitSat} is greater than our channel_reserve_satoshis ${sent.channelReserveSat}`;
  // "Other fields have the same requirements as their counterparts in open_channel": the
  // reserve the accepter asks of us must not be dust on its own commitment.
  if (msg.dustLimitSat > msg.channelReserveSat) return `dust_limit_satoshis ${msg.dustLimitSat} is greater than channel_reserve_satoshis ${msg.channelReserveSat}`;
  if (msg.dustLimitSat < MIN_DUST_LIMIT_SAT) return `dust_limit_satoshis ${msg.dustLimitSat} is below 354`;
  if (msg.toSelfDelay > policy.maxToSelfDelay) return `to_self_delay ${msg.toSelfDelay} is above our maximum of ${policy.maxToSelfDelay} blocks`;
  if (msg.maxAcceptedHtlcs > MAX_ACCEPTED_HTLCS) return `max_accepted_htlcs ${msg.maxAcceptedHtlcs} is above 483`;
  if (msg.maxAcceptedHtlcs < 1) return 'max_accepted_htlcs 0 leaves the channel unusable';
  const keyProblem = keysProblem(msg);
  if (keyProblem !== undefined) return keyProblem;
  if (msg.channelReserveSat * 1000n > sent.fundingSat * BigInt(policy.maxReservePerMille)) {
    return `channel_reserve_satoshis ${msg.channelReserveSat} is more than ${policy.maxReservePerMille / 10}% of the channel`;
  }
  if (msg.htlcMinimumMsat > sent.fundingSat * 10n) return `htlc_minimum_msat ${msg.htlcMinimumMsat} is more than 1% of the channel`;
  if (msg.maxHtlcValueInFlightMsat < sent.fundingSat * 10n) return `max_htlc_value_in_flight_msat ${msg.maxHtlcValueInFlightMsat} is less than 1% of the channel`;
  return initialBalancesProblem(sent.fundingSat, sent.pushMsat, sent.feeratePerKw, sent.channelReserveSat, msg.channelReserveSat);
}

/**
 * BOLT 2: the funder must afford the first commitment's fee, and at least one side must have
 * more than the reserve it must keep (`funderReserveSat`: what the fundee asks of the funder;
 * `fundeeReserveSat`: what the funder asks of the fundee).
 */
function initialBalancesProblem(fundingSat: bigint, pushMsat: bigint, feeratePerKw: number, fundeeReserveSat: bigint, funderReserveSat: bigint): string | undefined {
  const feeSat = commitmentFee(feeratePerKw, 0);
  const funderMsat = fundingSat * 1000n - pushMsat;
  if (funderMsat < feeSat * 1000n) return `the funder's ${funderMsat} msat cannot pay the first commitment's fee of ${feeSat} sat`;
  const toFunderSat = funderMsat / 1000n - feeSat;
  const toFundeeSat = pushMsat / 1000n;
  if (toFunderSat <= funderReserveSat && toFundeeSat <= fundeeReserveSat) {
    return 'both initial balances are at or below the channel reserve';
  }
  return undefined;
}
