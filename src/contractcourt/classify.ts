/**
 * Which close a spend of the funding output is (BOLT 5 "Failure"/"Unilateral Close" cases,
 * in the order lnd's chain watcher tries them): our current commitment, the peer's current
 * or pending commitment, a revoked commitment of the peer's, a cooperative close, or
 * something we cannot place. Pure: reads only the channel record and the transaction.
 *
 * A commitment hides its 48-bit number in nLockTime (upper byte 0x20) and the input's
 * nSequence (upper byte 0x80), XORed with the channel's obscuring factor (BOLT 3); a spend
 * without those marker bytes is no commitment, so it is the closing transaction.
 *
 * Both sides number their commitments alike, so a number alone cannot tell an old commitment
 * of ours from a revoked one of theirs: one that pays the peer's static to_remote key is ours
 * (reported unknown). The revocation log entry the caller then fetches settles it: resolveClose
 * refuses a breach whose entry names another txid.
 */
import { bytesEqual } from '../bitcoin/bytes.js';
import { decodeObscuredCommitmentNumber } from '../bitcoin/commitment.js';
import { p2wpkhScript } from '../bitcoin/script.js';
import { ShachainStore } from '../bitcoin/shachain.js';
import { decodeTx, txidOf, type BitcoinTx } from '../bitcoin/transaction.js';
import type { ChannelCommitment, OpenChannel } from '../chanstate/types.js';
import { obscuringFactorOf } from '../channel/core/commitment-view.js';
import { hexToBytes } from '../codec/bytes.js';

/** What a spend of the funding output is, from our point of view. */
export type CloseKind =
  /** Spends the funding output without the commitment-number markers: the closing transaction. */
  | { readonly kind: 'cooperative' }
  /** Our current local commitment. */
  | { readonly kind: 'local'; readonly commitHeight: number }
  /** The peer's current commitment, or (`pending`) the one we signed that it has not revoked the previous one for. */
  | { readonly kind: 'remote'; readonly commitHeight: number; readonly pending: boolean }
  /** A revoked commitment of the peer's: its number is below the peer's current and we hold its secret. */
  | { readonly kind: 'breach'; readonly commitHeight: number }
  /** A commitment we cannot place (e.g. a newer remote state after our data loss, or an old state of ours). */
  | { readonly kind: 'unknown'; readonly commitHeight?: number };

/**
 * Classifies `spend`, a transaction spending the channel's funding outpoint. `pendingRemote`
 * is the remote commitment we signed and the peer has not revoked for yet (remoteCommitChainTip),
 * if any. Throws RangeError if `spend` does not spend the funding outpoint.
 */
export function classifySpend(channel: OpenChannel, spend: BitcoinTx, pendingRemote?: ChannelCommitment): CloseKind {
  assertSpendsFunding(channel, spend);
  const txid = txidOf(spend);
  if (txid === commitmentTxid(channel.localCommitment)) return { kind: 'local', commitHeight: channel.localCommitment.commitHeight };
  if (txid === commitmentTxid(channel.remoteCommitment)) {
    return { kind: 'remote', commitHeight: channel.remoteCommitment.commitHeight, pending: false };
  }
  if (pendingRemote !== undefined && txid === commitmentTxid(pendingRemote)) {
    return { kind: 'remote', commitHeight: pendingRemote.commitHeight, pending: true };
  }
  const number = decodeObscuredCommitmentNumber(spend, obscuringFactorOf(channel));
  if (number === undefined) return { kind: 'cooperative' };
  const commitHeight = Number(number);
  // Both sides' commitments carry the same numbering; one paying the peer's static key is ours (an old state), not theirs.
  const theirs = !spend.outputs.some((o) => bytesEqual(o.script, p2wpkhScript(hexToBytes(channel.remoteConfig.paymentBasePoint.pubkey))));
  if (theirs && commitHeight < channel.remoteCommitment.commitHeight && revealedSecret(channel, commitHeight) !== undefined) {
    return { kind: 'breach', commitHeight };
  }
  return { kind: 'unknown', commitHeight };
}

/** The peer's revealed per-commitment secret of its commitment `commitHeight`, or undefined if not revealed. */
export function revealedSecret(channel: OpenChannel, commitHeight: number): Uint8Array | undefined {
  return ShachainStore.fromEntries(channel.remoteRevocation.secrets).perCommitmentSecret(BigInt(commitHeight));
}

/** Throws RangeError unless one input of `spend` is the channel's funding outpoint. */
export function assertSpendsFunding(channel: OpenChannel, spend: BitcoinTx): void {
  if (typeof spend !== 'object' || spend === null || !Array.isArray(spend.inputs)) {
    throw new TypeError(`expected a decoded transaction, got ${spend === null ? 'null' : typeof spend}`);
  }
  const { txid, index } = channel.fundingOutpoint;
  if (!spend.inputs.some((i) => i.txid === txid && i.index === index)) {
    const spent = spend.inputs.map((i) => `${i.txid}:${i.index}`).join(', ');
    throw new RangeError(`expected a transaction spending the funding outpoint ${txid}:${index}, got one spending ${spent || 'nothing'}`);
  }
}

function commitmentTxid(commitment: ChannelCommitment): string {
  return txidOf(decodeTx(commitment.commitTx));
}
