/**
 * The first commitments of a new channel and the record the store keeps for it, built from
 * what both sides said in `open_channel`/`accept_channel`. Pure: no keys are read here except
 * the public ones passed in; signing is the caller's (it holds the KeyChain).
 *
 * Naming: `ours` is what we sent (our basepoints, and the limits we impose on the peer: the
 * reserve it must keep, the to_self_delay of its outputs), `theirs` what the peer sent.
 * The stored ChannelConfig follows lnd's convention: `localConfig` holds our keys, our dust
 * limit, and the constraints the *peer* imposed on us (reserve we keep, delay on our outputs,
 * the HTLC limits we may offer); `remoteConfig` the mirror image.
 */
import { buildCommitmentTx, commitmentObscuringFactor, type CommitmentKeys, type CommitmentTx } from '../bitcoin/commitment.js';
import type { ChannelKeySet } from '../bitcoin/key-chain.js';
import { derivePublicKey, deriveRevocationPublicKey } from '../bitcoin/key-derivation.js';
import { encodeTx, type OutPoint } from '../bitcoin/transaction.js';
import { hexToBytes } from '../codec/bytes.js';
import { channelIdOf } from '../chanstate/channel-id.js';
import {
  ChannelStatus,
  ChannelType,
  OUTPUT_INDEX_NONE,
  type ChannelCommitment,
  type ChannelConfig,
  type ExternalFundingState,
  type KeyDescriptor,
  type OpenChannel,
} from '../chanstate/types.js';

/** One side's half of the negotiation: the fields of its open_channel or accept_channel. */
export interface SideParams {
  readonly dustLimitSat: bigint;
  readonly maxHtlcValueInFlightMsat: bigint;
  /** The reserve this side requires the other to keep. */
  readonly channelReserveSat: bigint;
  readonly htlcMinimumMsat: bigint;
  /** The delay this side imposes on the other's outputs. */
  readonly toSelfDelay: number;
  readonly maxAcceptedHtlcs: number;
  readonly fundingPubkey: string;
  readonly revocationBasepoint: string;
  readonly paymentBasepoint: string;
  readonly delayedPaymentBasepoint: string;
  readonly htlcBasepoint: string;
  readonly firstPerCommitmentPoint: string;
}

/** Everything agreed on before the funding outpoint is known. */
export interface ChannelTerms {
  readonly isInitiator: boolean;
  readonly chainHash: string;
  /** The peer's node id. */
  readonly peerId: string;
  readonly capacitySat: bigint;
  readonly pushMsat: bigint;
  readonly feeratePerKw: number;
  /** Confirmations the acceptor asked for. */
  readonly minimumDepth: number;
  readonly channelFlags: number;
  readonly ours: SideParams;
  readonly theirs: SideParams;
  /** Our channel keys (their index is the channel's key index). */
  readonly keys: ChannelKeySet;
}

/** Both first commitments, unsigned. */
export interface InitialCommitments {
  readonly local: CommitmentTx;
  readonly remote: CommitmentTx;
}

/** Our and the peer's msat balances at open. */
export function initialBalances(terms: ChannelTerms): { localMsat: bigint; remoteMsat: bigint } {
  const funderMsat = terms.capacitySat * 1000n - terms.pushMsat;
  return terms.isInitiator ? { localMsat: funderMsat, remoteMsat: terms.pushMsat } : { localMsat: terms.pushMsat, remoteMsat: funderMsat };
}

/** The basepoints (hex) of one side that the per-commitment keys derive from. */
export type SideBasepoints = Pick<SideParams, 'revocationBasepoint' | 'paymentBasepoint' | 'delayedPaymentBasepoint' | 'htlcBasepoint'>;

/**
 * The per-commitment keys of a commitment owned by `owner` at its per-commitment `point`
 * (BOLT 3 key derivation, option_static_remotekey). Shared with the channel state machine,
 * which builds every later commitment the same way.
 */
export function commitmentKeys(owner: SideBasepoints, other: SideBasepoints, point: Uint8Array): CommitmentKeys {
  return {
    revocationPubkey: deriveRevocationPublicKey(hexToBytes(other.revocationBasepoint), point),
    localDelayedPubkey: derivePublicKey(hexToBytes(owner.delayedPaymentBasepoint), point),
    localHtlcPubkey: derivePublicKey(hexToBytes(owner.htlcBasepoint), point),
    remoteHtlcPubkey: derivePublicKey(hexToBytes(other.htlcBasepoint), point),
    // option_static_remotekey: the other side is paid to its untweaked payment_basepoint.
    remotePaymentPubkey: hexToBytes(other.paymentBasepoint),
  };
}

/** Builds both commitments number 0 on `fundingOutpoint`. Throws RangeError for inconsistent terms. */
export function buildInitialCommitments(terms: ChannelTerms, fundingOutpoint: OutPoint): InitialCommitments {
  const { ours, theirs } = terms;
  const opener = terms.isInitiator ? ours : theirs;
  const accepter = terms.isInitiator ? theirs : ours;
  const obscuringFactor = commitmentObscuringFactor(hexToBytes(opener.paymentBasepoint), hexToBytes(accepter.paymentBasepoint));
  const { localMsat, remoteMsat } = initialBalances(terms);
  const common = { fundingOutpoint, fundingAmountSat: terms.capacitySat, commitmentNumber: 0n, obscuringFactor, feeratePerKw: terms.feeratePerKw, htlcs: [] };
  const local = buildCommitmentTx({
    ...common,
    localFundingPubkey: hexToBytes(ours.fundingPubkey),
    remoteFundingPubkey: hexToBytes(theirs.fundingPubkey),
    toLocalMsat: localMsat,
    toRemoteMsat: remoteMsat,
    localIsFunder: terms.isInitiator,
    dustLimitSat: ours.dustLimitSat,
    toSelfDelay: theirs.toSelfDelay,
    keys: commitmentKeys(ours, theirs, hexToBytes(ours.firstPerCommitmentPoint)),
  });
  const remote = buildCommitmentTx({
    ...common,
    localFundingPubkey: hexToBytes(theirs.fundingPubkey),
    remoteFundingPubkey: hexToBytes(ours.fundingPubkey),
    toLocalMsat: remoteMsat,
    toRemoteMsat: localMsat,
    localIsFunder: !terms.isInitiator,
    dustLimitSat: theirs.dustLimitSat,
    toSelfDelay: ours.toSelfDelay,
    keys: commitmentKeys(theirs, ours, hexToBytes(theirs.firstPerCommitmentPoint)),
  });
  return { local, remote };
}

function outputIndex(i: number): number {
  return i < 0 ? OUTPUT_INDEX_NONE : i;
}

function commitmentRecord(c: CommitmentTx, localMsat: bigint, remoteMsat: bigint, signature: Uint8Array, ownedByUs: boolean): ChannelCommitment {
  return {
    commitHeight: 0,
    localLogIndex: 0,
    localHtlcIndex: 0,
    remoteLogIndex: 0,
    remoteHtlcIndex: 0,
    localBalanceMsat: localMsat,
    remoteBalanceMsat: remoteMsat,
    commitFeeSat: c.feeSat,
    feePerKw: BigInt(c.params.feeratePerKw),
    commitTx: encodeTx(c.tx),
    commitSig: signature,
    htlcs: [],
    // On our commitment the output paying us is to_local; on theirs it is to_remote.
    localOutputIndex: outputIndex(ownedByUs ? c.toLocalOutputIndex : c.toRemoteOutputIndex),
    remoteOutputIndex: outputIndex(ownedByUs ? c.toRemoteOutputIndex : c.toLocalOutputIndex),
  };
}

function located(keys: ChannelKeySet): Pick<ChannelConfig, 'multiSigKey' | 'revocationBasePoint' | 'paymentBasePoint' | 'delayBasePoint' | 'htlcBasePoint'> {
  return {
    multiSigKey: keys.funding,
    revocationBasePoint: keys.revocationBasepoint,
    paymentBasePoint: keys.paymentBasepoint,
    delayBasePoint: keys.delayedPaymentBasepoint,
    htlcBasePoint: keys.htlcBasepoint,
  };
}

function peerKey(pubkey: string): KeyDescriptor {
  return { pubkey };
}

/** What the pending-channel record needs beyond the terms and commitments. */
export interface PendingChannelInputs {
  readonly terms: ChannelTerms;
  readonly fundingOutpoint: OutPoint;
  readonly commitments: InitialCommitments;
  /** The peer's signature of our commitment. */
  readonly theirSignature: Uint8Array;
  /** Our signature of theirs. */
  readonly ourSignature: Uint8Array;
  /** Our signed funding transaction, when we funded it from our wallet. */
  readonly fundingTx?: Uint8Array;
  /** The flow state of an externally signed funding (unsigned PSBT, deadline). */
  readonly externalFunding?: ExternalFundingState;
  readonly broadcastHeight: number;
}

/** The OpenChannel record of a new pending channel, ready for Coordinator.syncPendingChannel. */
export function pendingChannelRecord(inputs: PendingChannelInputs): OpenChannel {
  const { terms, commitments } = inputs;
  const { ours, theirs } = terms;
  const { localMsat, remoteMsat } = initialBalances(terms);
  const localConfig: ChannelConfig = {
    chanReserveSat: theirs.channelReserveSat,
    maxPendingAmountMsat: theirs.maxHtlcValueInFlightMsat,
    minHtlcMsat: theirs.htlcMinimumMsat,
    maxAcceptedHtlcs: theirs.maxAcceptedHtlcs,
    dustLimitSat: ours.dustLimitSat,
    csvDelay: theirs.toSelfDelay,
    ...located(terms.keys),
  };
  const remoteConfig: ChannelConfig = {
    chanReserveSat: ours.channelReserveSat,
    maxPendingAmountMsat: ours.maxHtlcValueInFlightMsat,
    minHtlcMsat: ours.htlcMinimumMsat,
    maxAcceptedHtlcs: ours.maxAcceptedHtlcs,
    dustLimitSat: theirs.dustLimitSat,
    csvDelay: ours.toSelfDelay,
    multiSigKey: peerKey(theirs.fundingPubkey),
    revocationBasePoint: peerKey(theirs.revocationBasepoint),
    paymentBasePoint: peerKey(theirs.paymentBasepoint),
    delayBasePoint: peerKey(theirs.delayedPaymentBasepoint),
    htlcBasePoint: peerKey(theirs.htlcBasepoint),
  };
  return {
    chanType: ChannelType.SingleFunderTweakless,
    chainHash: terms.chainHash,
    fundingOutpoint: inputs.fundingOutpoint,
    shortChannelId: 0n,
    isPending: true,
    isInitiator: terms.isInitiator,
    status: ChannelStatus.Default,
    fundingBroadcastHeight: inputs.broadcastHeight,
    confirmationHeight: 0,
    numConfsRequired: terms.minimumDepth,
    channelFlags: terms.channelFlags,
    identityPub: terms.peerId,
    capacitySat: terms.capacitySat,
    totalMsatSent: 0n,
    totalMsatReceived: 0n,
    initialLocalBalanceMsat: localMsat,
    initialRemoteBalanceMsat: remoteMsat,
    localConfig,
    remoteConfig,
    localCommitment: commitmentRecord(commitments.local, localMsat, remoteMsat, inputs.theirSignature, true),
    remoteCommitment: commitmentRecord(commitments.remote, localMsat, remoteMsat, inputs.ourSignature, false),
    remoteRevocation: { secrets: [], currentPoint: theirs.firstPerCommitmentPoint },
    revocationKeyLocator: terms.keys.shachainRoot,
    ...(inputs.fundingTx !== undefined ? { fundingTx: inputs.fundingTx } : {}),
    ...(inputs.externalFunding !== undefined ? { externalFunding: inputs.externalFunding } : {}),
    thawHeight: 0,
    lastWasRevoke: false,
  };
}

/** The final channel id of a funding outpoint (BOLT 2: txid XOR output index). */
export function finalChannelId(fundingOutpoint: OutPoint): string {
  return channelIdOf(fundingOutpoint);
}
