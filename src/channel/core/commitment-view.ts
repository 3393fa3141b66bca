/**
 * Commitment contents as the update log changes them, and the BOLT 3 transactions and
 * records built from them. Pure helpers of the channel core.
 *
 * A CommitView is what a commitment holds (HTLCs, both balances before the fee, fee rate,
 * log and HTLC indexes), always from our point of view: `local...` is us, `incoming` means
 * offered to us, whichever side owns the commitment. Applying an update changes a view the
 * way BOLT 2 says: an add moves its amount out of the sender's balance, a fulfill pays it to
 * the fulfiller, a fail returns it to the offerer, update_fee replaces the fee rate.
 */
import { commitmentFee, isHtlcTrimmed, type HtlcDirection } from '../../bitcoin/bolt3-fees.js';
import { buildCommitmentTx, commitmentObscuringFactor, type CommitmentHtlc, type CommitmentTx } from '../../bitcoin/commitment.js';
import { encodeTx } from '../../bitcoin/transaction.js';
import { OUTPUT_INDEX_NONE, type ChannelCommitment, type Hex, type Htlc, type OpenChannel } from '../../chanstate/types.js';
import { bytesToHex, hexToBytes } from '../../codec/bytes.js';
import { commitmentKeys, type SideBasepoints } from '../../funding/initial-channel.js';
import type { LogEntry } from './types.js';

/** An HTLC of a view. */
export interface ViewHtlc {
  readonly incoming: boolean;
  readonly htlcIndex: number;
  /** Log index of its update_add_htlc in the sender's log. */
  readonly logIndex: number;
  readonly amountMsat: bigint;
  readonly paymentHash: Hex;
  readonly refundTimeout: number;
  readonly onionBlob: Uint8Array;
}

/** The contents of a commitment (see the file comment). */
export interface CommitView {
  readonly htlcs: readonly ViewHtlc[];
  readonly localBalanceMsat: bigint;
  readonly remoteBalanceMsat: bigint;
  readonly feePerKw: number;
  readonly localLogIndex: number;
  readonly localHtlcIndex: number;
  readonly remoteLogIndex: number;
  readonly remoteHtlcIndex: number;
}

/** Which side owns (broadcasts) a commitment. */
export type Owner = 'local' | 'remote';

/** The view of a stored commitment. */
export function viewOf(c: ChannelCommitment): CommitView {
  return {
    htlcs: c.htlcs.map((h) => ({
      incoming: h.incoming,
      htlcIndex: h.htlcIndex,
      logIndex: h.logIndex,
      amountMsat: h.amountMsat,
      paymentHash: h.paymentHash,
      refundTimeout: h.refundTimeout,
      onionBlob: h.onionBlob,
    })),
    localBalanceMsat: c.localBalanceMsat,
    remoteBalanceMsat: c.remoteBalanceMsat,
    feePerKw: Number(c.feePerKw),
    localLogIndex: c.localLogIndex,
    localHtlcIndex: c.localHtlcIndex,
    remoteLogIndex: c.remoteLogIndex,
    remoteHtlcIndex: c.remoteHtlcIndex,
  };
}

/** Thrown by applyUpdates for an update the log should never hold (a removal of an absent HTLC). */
export class InconsistentLogError extends Error {
  override readonly name = 'InconsistentLogError';
}

/**
 * `view` with `entries` (updates of one side, `fromUs`, in log order) applied. Throws
 * InconsistentLogError if a removal names an HTLC the view does not have: the core checks
 * every update before logging it, so that means a bug, not bad peer input.
 */
export function applyUpdates(view: CommitView, entries: readonly LogEntry[], fromUs: boolean): CommitView {
  let htlcs = [...view.htlcs];
  let { localBalanceMsat, remoteBalanceMsat, feePerKw, localLogIndex, localHtlcIndex, remoteLogIndex, remoteHtlcIndex } = view;
  for (const entry of entries) {
    const u = entry.update;
    if (fromUs) localLogIndex = Math.max(localLogIndex, entry.logIndex + 1);
    else remoteLogIndex = Math.max(remoteLogIndex, entry.logIndex + 1);
    switch (u.type) {
      case 'update_add_htlc': {
        htlcs.push({
          incoming: !fromUs,
          htlcIndex: u.id,
          logIndex: entry.logIndex,
          amountMsat: u.amountMsat,
          paymentHash: u.paymentHash,
          refundTimeout: u.cltvExpiry,
          onionBlob: u.onionRoutingPacket,
        });
        if (fromUs) {
          localBalanceMsat -= u.amountMsat;
          localHtlcIndex = Math.max(localHtlcIndex, u.id + 1);
        } else {
          remoteBalanceMsat -= u.amountMsat;
          remoteHtlcIndex = Math.max(remoteHtlcIndex, u.id + 1);
        }
        break;
      }
      case 'update_fulfill_htlc':
      case 'update_fail_htlc':
      case 'update_fail_malformed_htlc': {
        // A removal by one side resolves an HTLC the other side offered.
        const i = htlcs.findIndex((h) => h.incoming === fromUs && h.htlcIndex === u.id);
        if (i < 0) throw new InconsistentLogError(`${u.type} of HTLC ${u.id} (${fromUs ? 'ours' : 'theirs'}) names no HTLC of the commitment`);
        const amount = htlcs[i]!.amountMsat;
        htlcs = htlcs.filter((_, j) => j !== i);
        const settled = u.type === 'update_fulfill_htlc';
        // Fulfilled: to the side that removed it; failed: back to the side that offered it.
        if (settled === fromUs) localBalanceMsat += amount;
        else remoteBalanceMsat += amount;
        break;
      }
      case 'update_fee':
        feePerKw = u.feeratePerKw;
        break;
    }
  }
  // Canonical order (offered by us first, then by id), so records compare equal however built.
  htlcs.sort((a, b) => (a.incoming === b.incoming ? a.htlcIndex - b.htlcIndex : a.incoming ? 1 : -1));
  return { htlcs, localBalanceMsat, remoteBalanceMsat, feePerKw, localLogIndex, localHtlcIndex, remoteLogIndex, remoteHtlcIndex };
}

/** BOLT 3 direction of an HTLC on a commitment of `owner` ("offered" = offered by the owner). */
function directionOf(h: ViewHtlc, owner: Owner): HtlcDirection {
  const offeredByUs = !h.incoming;
  return offeredByUs === (owner === 'local') ? 'offered' : 'received';
}

/** The dust limit of `owner`'s commitment. */
function dustLimitOf(channel: OpenChannel, owner: Owner): bigint {
  return owner === 'local' ? channel.localConfig.dustLimitSat : channel.remoteConfig.dustLimitSat;
}

/** The base fee (satoshi) `owner`'s commitment of `view` charges the funder: 724 + 172 per untrimmed HTLC weight. */
export function baseFeeOf(channel: OpenChannel, view: CommitView, owner: Owner): bigint {
  const dust = dustLimitOf(channel, owner);
  // buildCommitmentTx also never creates an HTLC output below one satoshi.
  const untrimmed = view.htlcs.filter((h) => !(h.amountMsat < 1000n || isHtlcTrimmed(directionOf(h, owner), h.amountMsat, view.feePerKw, dust))).length;
  return commitmentFee(view.feePerKw, untrimmed);
}

function basepoints(c: OpenChannel['localConfig']): SideBasepoints {
  return {
    revocationBasepoint: c.revocationBasePoint.pubkey,
    paymentBasepoint: c.paymentBasePoint.pubkey,
    delayedPaymentBasepoint: c.delayBasePoint.pubkey,
    htlcBasepoint: c.htlcBasePoint.pubkey,
  };
}

/** The obscuring factor of the channel's commitment numbers (opener's payment basepoint first). */
export function obscuringFactorOf(channel: OpenChannel): bigint {
  const ours = hexToBytes(channel.localConfig.paymentBasePoint.pubkey);
  const theirs = hexToBytes(channel.remoteConfig.paymentBasePoint.pubkey);
  return channel.isInitiator ? commitmentObscuringFactor(ours, theirs) : commitmentObscuringFactor(theirs, ours);
}

/**
 * The unsigned commitment transaction of `view`, owned by `owner`, at commitment number
 * `height` with the owner's per-commitment `point`. Roles as in funding/initial-channel.ts:
 * the owner's dust limit, the to_self_delay the other side imposed on the owner, the funder
 * pays the fee, static_remotekey. `params.htlcs[i]` is `view.htlcs[i]`.
 */
/**
 * The per-commitment keys of a commitment, memoized: a step builds the same commitment's
 * view several times (checks, signing, verification) and each key costs EC multiplications.
 * Keys are public and a function of the basepoints and the point, so the cache key is those.
 */
const KEY_CACHE_SIZE = 256;
const keyCache = new Map<string, ReturnType<typeof commitmentKeys>>();
function cachedKeys(owner: SideBasepoints, other: SideBasepoints, point: Uint8Array): ReturnType<typeof commitmentKeys> {
  const key = `${owner.revocationBasepoint}${owner.delayedPaymentBasepoint}${owner.htlcBasepoint}${owner.paymentBasepoint}|${other.revocationBasepoint}${other.htlcBasepoint}${other.paymentBasepoint}${other.delayedPaymentBasepoint}|${bytesToHex(point)}`;
  let keys = keyCache.get(key);
  if (keys === undefined) {
    keys = commitmentKeys(owner, other, point);
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(key, keys);
  }
  return keys;
}

export function buildViewTx(channel: OpenChannel, view: CommitView, owner: Owner, height: number, point: Uint8Array): CommitmentTx {
  const ours = basepoints(channel.localConfig);
  const theirs = basepoints(channel.remoteConfig);
  const local = owner === 'local';
  const htlcs: CommitmentHtlc[] = view.htlcs.map((h) => ({
    direction: directionOf(h, owner),
    amountMsat: h.amountMsat,
    paymentHash: hexToBytes(h.paymentHash),
    cltvExpiry: h.refundTimeout,
  }));
  return buildCommitmentTx({
    fundingOutpoint: channel.fundingOutpoint,
    fundingAmountSat: channel.capacitySat,
    localFundingPubkey: hexToBytes((local ? channel.localConfig : channel.remoteConfig).multiSigKey.pubkey),
    remoteFundingPubkey: hexToBytes((local ? channel.remoteConfig : channel.localConfig).multiSigKey.pubkey),
    commitmentNumber: BigInt(height),
    obscuringFactor: obscuringFactorOf(channel),
    toLocalMsat: local ? view.localBalanceMsat : view.remoteBalanceMsat,
    toRemoteMsat: local ? view.remoteBalanceMsat : view.localBalanceMsat,
    localIsFunder: local === channel.isInitiator,
    feeratePerKw: view.feePerKw,
    dustLimitSat: dustLimitOf(channel, owner),
    toSelfDelay: (local ? channel.localConfig : channel.remoteConfig).csvDelay,
    keys: local ? cachedKeys(ours, theirs, point) : cachedKeys(theirs, ours, point),
    htlcs,
  });
}

function outputIndex(i: number): number {
  return i < 0 ? OUTPUT_INDEX_NONE : i;
}

/**
 * The ChannelCommitment record of a built commitment: `commitSig` is the peer's signature
 * on our commitment and ours on theirs; `htlcSignatures[i]` the peer's signature of HTLC
 * i's second-level transaction (empty when none: trimmed, or a remote commitment).
 */
export function commitmentRecordOf(
  view: CommitView,
  tx: CommitmentTx,
  owner: Owner,
  height: number,
  commitSig: Uint8Array,
  htlcSignatures: ReadonlyMap<number, Uint8Array>,
): ChannelCommitment {
  const htlcs: Htlc[] = view.htlcs.map((h, i) => ({
    signature: htlcSignatures.get(i) ?? new Uint8Array(0),
    paymentHash: h.paymentHash,
    amountMsat: h.amountMsat,
    refundTimeout: h.refundTimeout,
    outputIndex: tx.htlcOutputIndexes[i]!,
    incoming: h.incoming,
    onionBlob: h.onionBlob,
    htlcIndex: h.htlcIndex,
    logIndex: h.logIndex,
  }));
  const ownedByUs = owner === 'local';
  return {
    commitHeight: height,
    localLogIndex: view.localLogIndex,
    localHtlcIndex: view.localHtlcIndex,
    remoteLogIndex: view.remoteLogIndex,
    remoteHtlcIndex: view.remoteHtlcIndex,
    localBalanceMsat: view.localBalanceMsat,
    remoteBalanceMsat: view.remoteBalanceMsat,
    commitFeeSat: tx.feeSat,
    feePerKw: BigInt(view.feePerKw),
    commitTx: encodeTx(tx.tx),
    commitSig,
    htlcs,
    // On our commitment the output paying us is to_local; on theirs it is to_remote.
    localOutputIndex: outputIndex(ownedByUs ? tx.toLocalOutputIndex : tx.toRemoteOutputIndex),
    remoteOutputIndex: outputIndex(ownedByUs ? tx.toRemoteOutputIndex : tx.toLocalOutputIndex),
  };
}
