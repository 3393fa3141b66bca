/**
 * BOLT 2 "Message Retransmission": the `channel_reestablish` we send after a reconnection and
 * the decision on the one we receive. Pure: the caller passes the channel's commitment
 * numbers and secrets, and performs what the decision says.
 *
 * Numbers, from our side:
 * - our local commitment has number `localCommitHeight`: we expect the peer's next
 *   `commitment_signed` for `localCommitHeight + 1` (our `next_commitment_number`);
 * - the peer's current commitment (the one we signed and it has not revoked) has number
 *   `remoteCommitHeight`: we expect its `revoke_and_ack` for that one next (our
 *   `next_revocation_number`), and we hold its secrets below that number.
 * This channels have no updates yet, so a peer that asks for a retransmission of
 * `commitment_signed` or `revoke_and_ack` is out of sync with us in a way chand cannot repair
 * yet; the decision says so instead of guessing (the payments work adds retransmission).
 */
import { bytesEqual } from '../bitcoin/bytes.js';
import { perCommitmentPoint } from '../bitcoin/key-derivation.js';
import { bytesToHex } from '../codec/bytes.js';
import type { ChannelReestablish } from '../wire/types.js';

/** What the decision needs to know about the channel. */
export interface ReestablishView {
  readonly channelId: string;
  readonly localCommitHeight: number;
  readonly remoteCommitHeight: number;
  /** Our per-commitment secret of commitment `n` (from our shachain producer). */
  readonly ourSecret: (commitmentNumber: number) => Uint8Array;
  /** The peer's revealed secret of commitment `n`, if we hold it. */
  readonly theirSecret: (commitmentNumber: number) => Uint8Array | undefined;
}

/** Our `channel_reestablish` for the channel's current state. */
export function reestablishMessage(view: ReestablishView): ChannelReestablish {
  const lastSecret = view.remoteCommitHeight === 0 ? new Uint8Array(32) : view.theirSecret(view.remoteCommitHeight - 1);
  if (lastSecret === undefined) throw new RangeError(`expected the peer's secret of commitment ${view.remoteCommitHeight - 1} to be stored`);
  return {
    type: 'channel_reestablish',
    channelId: view.channelId,
    nextCommitmentNumber: view.localCommitHeight + 1,
    nextRevocationNumber: view.remoteCommitHeight,
    yourLastPerCommitmentSecret: lastSecret,
    myCurrentPerCommitmentPoint: bytesToHex(perCommitmentPoint(view.ourSecret(view.localCommitHeight))),
  };
}

/** The outcome of a received `channel_reestablish`. */
export type ReestablishDecision =
  /** Both sides agree; `resendChannelReady` when BOLT 2 says to retransmit `channel_ready`. */
  | { readonly kind: 'in-sync'; readonly resendChannelReady: boolean }
  /** The peer proves it has a newer state than ours: we lost data. Never broadcast our commitment. */
  | { readonly kind: 'we-lost-data'; readonly reason: string }
  /** The peer is inconsistent (or needs a retransmission chand cannot do yet): fail with `error`. */
  | { readonly kind: 'fail'; readonly reason: string };

/**
 * Decides what a received `channel_reestablish` means. `channelReadySent` is whether we have
 * sent (or must send) `channel_ready`, i.e. the funding reached our minimum depth.
 */
export function decideReestablish(view: ReestablishView, msg: ChannelReestablish, channelReadySent: boolean): ReestablishDecision {
  const theirNextRevocation = msg.nextRevocationNumber;
  // The peer's view of the revocations we sent: it expects our revoke_and_ack of commitment
  // `theirNextRevocation`, and proves it with our secret of the one before.
  if (theirNextRevocation > view.localCommitHeight) {
    if (theirNextRevocation > 0 && bytesEqual(msg.yourLastPerCommitmentSecret, view.ourSecret(theirNextRevocation - 1))) {
      return { kind: 'we-lost-data', reason: `the peer expects our revocation number ${theirNextRevocation}, but our local commitment is number ${view.localCommitHeight}` };
    }
    return { kind: 'fail', reason: `next_revocation_number ${theirNextRevocation} is ahead of our commitment number ${view.localCommitHeight} and your_last_per_commitment_secret does not prove it` };
  }
  if (theirNextRevocation > 0) {
    if (!bytesEqual(msg.yourLastPerCommitmentSecret, view.ourSecret(theirNextRevocation - 1))) {
      return { kind: 'fail', reason: `your_last_per_commitment_secret is not our secret of commitment ${theirNextRevocation - 1}` };
    }
  } else if (!msg.yourLastPerCommitmentSecret.every((b) => b === 0)) {
    return { kind: 'fail', reason: 'your_last_per_commitment_secret must be all zeros when next_revocation_number is 0' };
  }
  if (theirNextRevocation < view.localCommitHeight) {
    return { kind: 'fail', reason: `next_revocation_number ${theirNextRevocation} asks for a revoke_and_ack retransmission (we are at commitment ${view.localCommitHeight}), which this version cannot do` };
  }
  // The peer's next_commitment_number: one above the remote commitment we signed.
  const expectedNextCommitment = view.remoteCommitHeight + 1;
  if (msg.nextCommitmentNumber > expectedNextCommitment) {
    return { kind: 'fail', reason: `next_commitment_number ${msg.nextCommitmentNumber} is ahead of the commitment we signed (${view.remoteCommitHeight})` };
  }
  if (msg.nextCommitmentNumber < expectedNextCommitment) {
    return { kind: 'fail', reason: `next_commitment_number ${msg.nextCommitmentNumber} asks for a commitment_signed retransmission, which this version cannot do` };
  }
  // BOLT 2: both next_commitment_numbers are 1 → retransmit channel_ready.
  const resendChannelReady = channelReadySent && msg.nextCommitmentNumber === 1 && view.localCommitHeight === 0;
  return { kind: 'in-sync', resendChannelReady };
}
