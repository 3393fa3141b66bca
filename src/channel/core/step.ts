/**
 * The BOLT 2 normal-operation state machine as a pure function: `step(state, event)`
 * returns the next state and the effects the actor runs, in order (persist before send).
 * No I/O, no clock, no randomness; signatures come from the injected CoreSigner
 * (deterministic), so the same state and event always give the same result.
 *
 * Overview:
 * - Updates (`update_*`) are appended to the sender's log and sent at once. A
 *   `commitment_signed` covers, in the receiver's commitment, every update of the signer so
 *   far and every update of the receiver that the signer has acked (revoked for). We keep
 *   at most one signed, unrevoked remote commitment (`remoteTip`).
 * - Every check BOLT 2 asks of a receiver is made on the receiver's commitment as the
 *   sender last signed it, plus the sender's later updates. The sender can compute exactly
 *   that view (its last signed remote commitment plus its own later updates), so a sender
 *   that refuses what would break a limit (offer_refused) is never failed by the receiver,
 *   whatever the two sides send concurrently.
 * - A peer message that breaks BOLT 2 gives one `fail_channel` effect and the unchanged
 *   input state.
 *
 * Persistence (src/chanstate/store.ts CommitmentStore), and what a restart rebuilds:
 * - sign → persist_remote_commit (appendRemoteCommitChain: the diff holds our updates since
 *   the last commitment_signed and the serialized message, for retransmission);
 * - their commitment_signed → persist_local_commit (updateCommitment, with their updates
 *   the new local commitment holds that the remote commitment does not have yet) then
 *   revoke_and_ack;
 * - their revoke_and_ack → persist_revocation (advanceCommitChainTail: the forwarding
 *   package of their updates it locked in, and our updates they acked that our local
 *   commitment lacks).
 * coreFromStore rebuilds the logs from those three lists; what no commitment covers is
 * gone, exactly as after a disconnect.
 *
 * Recovery: `disconnected` forgets the uncommitted updates of both sides (our adds are
 * reported as htlc_forgotten; our fulfills, fails and fee updates are queued again and go
 * out after the reestablish). `peer_reestablish` retransmits what the peer missed, in the
 * original order, and detects a peer that proves we lost data.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { commitmentSighash, verifyCommitmentSignature } from '../../bitcoin/commitment.js';
import { buildHtlcTxs, htlcTxSighash, verifyHtlcTxSignature } from '../../bitcoin/htlc-tx.js';
import { perCommitmentPoint } from '../../bitcoin/key-derivation.js';
import { revealedPoint } from '../../bitcoin/secret-point.js';
import { commitmentIndex, ShachainStore } from '../../bitcoin/shachain.js';
import { channelIdOf } from '../../chanstate/channel-id.js';
import { newFwdPkg } from '../../chanstate/pkg-filter.js';
import type { ChannelCommitment, CommitDiff, LogUpdate, Hex } from '../../chanstate/types.js';
import { bytesToHex, equalBytes, hexToBytes } from '../../codec/bytes.js';
import { MIN_FEERATE_PER_KW } from '../../funding/channel-params.js';
import { decodeMessage, encodeMessage } from '../../wire/message-codec.js';
import type {
  ChannelReestablish,
  CommitmentSigned,
  RevokeAndAck,
  UpdateAddHtlc,
  UpdateFailHtlc,
  UpdateFailMalformedHtlc,
  UpdateFee,
  UpdateFulfillHtlc,
  WireMessage,
} from '../../wire/types.js';
import { ONION_PACKET_SIZE } from '../../wire/commitment-messages.js';
import { reestablishMessage } from '../reestablish.js';
import { applyUpdates, baseFeeOf, buildViewTx, commitmentRecordOf, viewOf, type CommitView, type Owner } from './commitment-view.js';
import type { CoreEffect, CoreEvent, CoreResult, CoreState, CoreSummary, LogEntry, StoredChannelView, UpdateMessage, CoreSigner, CoreOptions } from './types.js';

/** BOLT 4: the BADONION bit every update_fail_malformed_htlc failure code carries. */
export const BADONION = 0x8000;
/** BOLT 2: cltv_expiry must be below this (it would be a UNIX time otherwise). */
export const MAX_CLTV_EXPIRY = 500_000_000;

/** A BOLT 2 violation by the peer (internal: step turns it into a fail_channel effect). */
class Violation extends Error {
  override readonly name = 'Violation';
  constructor(
    readonly code: string,
    reason: string,
  ) {
    super(reason);
  }
}

const isAdd = (e: LogEntry): e is LogEntry & { update: UpdateAddHtlc } => e.update.type === 'update_add_htlc';
const isRemoval = (e: LogEntry): boolean =>
  e.update.type === 'update_fulfill_htlc' || e.update.type === 'update_fail_htlc' || e.update.type === 'update_fail_malformed_htlc';
const toLogUpdate = (e: LogEntry): LogUpdate => ({ logIndex: e.logIndex, message: e.bytes });

/** The remote commitment we signed last (the unrevoked tip if any): the peer's commitment as our updates build on it. */
function ourBase(s: CoreState): ChannelCommitment {
  return s.remoteTip?.commitment ?? s.remoteCommit;
}

function entryOf(logIndex: number, update: UpdateMessage, refs: Pick<LogEntry, 'addRef' | 'settleFailRef'> = {}): LogEntry {
  return {
    logIndex,
    update,
    bytes: encodeMessage(update),
    ...(refs.addRef !== undefined ? { addRef: refs.addRef } : {}),
    ...(refs.settleFailRef !== undefined ? { settleFailRef: refs.settleFailRef } : {}),
  };
}

/** A log entry from a stored LogUpdate. RangeError if it is not an update message. */
function entryFromStore(u: LogUpdate): LogEntry {
  const decoded = decodeMessage(u.message);
  if (decoded.kind !== 'known') throw new RangeError(`expected a stored update message at log index ${u.logIndex}, got type ${decoded.type}`);
  const m = decoded.message;
  switch (m.type) {
    case 'update_add_htlc':
    case 'update_fulfill_htlc':
    case 'update_fail_htlc':
    case 'update_fail_malformed_htlc':
    case 'update_fee':
      return { logIndex: u.logIndex, update: m, bytes: u.message };
    default:
      throw new RangeError(`expected a stored update message at log index ${u.logIndex}, got ${m.type}`);
  }
}

// --- views the checks run on -----------------------------------------------------------------

/**
 * The receiver's commitment as the sender of an update sees it: the last commitment the
 * sender signed for the receiver plus the sender's later updates (and `extra`). Both sides
 * compute the same view (see the file comment). Returns the owner of that commitment too.
 */
function receiverView(s: CoreState, fromUs: boolean, extra: readonly LogEntry[]): { view: CommitView; owner: Owner } {
  if (fromUs) {
    const base = ourBase(s);
    return { view: applyUpdates(viewOf(base), [...s.ourLog.filter((e) => e.logIndex >= base.localLogIndex), ...extra], true), owner: 'remote' };
  }
  const base = s.localCommit;
  return { view: applyUpdates(viewOf(base), [...s.theirLog.filter((e) => e.logIndex >= base.remoteLogIndex), ...extra], false), owner: 'local' };
}

/** Our next local commitment if the peer signed everything now (a sender-side extra check). */
function fullLocalView(s: CoreState, extraOurs: readonly LogEntry[]): CommitView {
  const ours = [...s.ourLog.filter((e) => e.logIndex >= s.localCommit.localLogIndex), ...extraOurs];
  const theirs = s.theirLog.filter((e) => e.logIndex >= s.localCommit.remoteLogIndex);
  return applyUpdates(applyUpdates(viewOf(s.localCommit), ours, true), theirs, false);
}

/** The sender's balance left above the commitment fee (if it is the funder) on `view`, msat. */
function spendableOf(s: CoreState, view: CommitView, owner: Owner, senderIsUs: boolean): bigint {
  const balance = senderIsUs ? view.localBalanceMsat : view.remoteBalanceMsat;
  const funder = senderIsUs === s.channel.isInitiator;
  return funder ? balance - baseFeeOf(s.channel, view, owner) * 1000n : balance;
}

/** The BOLT 2 receiver checks of an update_add_htlc of `fromUs`'s side, on the receiver's view. */
function addViolation(s: CoreState, entry: LogEntry & { update: UpdateAddHtlc }, fromUs: boolean): Violation | undefined {
  const add = entry.update;
  // The limits the receiver imposed on the sender (localConfig holds those imposed on us).
  const limits = fromUs ? s.channel.localConfig : s.channel.remoteConfig;
  if (add.amountMsat <= 0n) return new Violation('htlc-amount-zero', 'update_add_htlc amount_msat is 0');
  if (add.amountMsat < limits.minHtlcMsat) {
    return new Violation('htlc-below-minimum', `update_add_htlc amount_msat ${add.amountMsat} is below htlc_minimum_msat ${limits.minHtlcMsat}`);
  }
  if (add.cltvExpiry >= MAX_CLTV_EXPIRY) return new Violation('htlc-cltv-too-large', `update_add_htlc cltv_expiry ${add.cltvExpiry} is not below ${MAX_CLTV_EXPIRY}`);
  const { view, owner } = receiverView(s, fromUs, [entry]);
  const offered = view.htlcs.filter((h) => h.incoming !== fromUs);
  if (offered.length > limits.maxAcceptedHtlcs) {
    return new Violation('too-many-htlcs', `the HTLC would be the sender's ${offered.length}th, above max_accepted_htlcs ${limits.maxAcceptedHtlcs}`);
  }
  const inFlight = offered.reduce((sum, h) => sum + h.amountMsat, 0n);
  if (inFlight > limits.maxPendingAmountMsat) {
    return new Violation('htlc-in-flight-too-large', `offered HTLCs would total ${inFlight} msat, above max_htlc_value_in_flight_msat ${limits.maxPendingAmountMsat}`);
  }
  const spendable = spendableOf(s, view, owner, fromUs);
  const reserve = limits.chanReserveSat * 1000n;
  if (spendable < reserve) {
    return new Violation('htlc-unaffordable', `after the HTLC the sender keeps ${spendable} msat above the commitment fee, below its reserve of ${reserve} msat`);
  }
  return undefined;
}

/** The HTLC a removal by `fromUs` names, or the violation (unknown, not committed, already removed). */
function removalViolation(s: CoreState, id: number, fromUs: boolean): Violation | undefined {
  // A removal resolves an HTLC the other side offered: incoming for us, outgoing for them.
  const incoming = fromUs;
  const matches = (h: { incoming: boolean; htlcIndex: number }) => h.incoming === incoming && h.htlcIndex === id;
  // Irrevocably committed in both commitments: for our removal, in the peer's current
  // commitment (their add reaches it after our local one); for theirs, in our local one.
  const committedIn = fromUs ? s.remoteCommit : s.localCommit;
  if (!committedIn.htlcs.some(matches) || (fromUs && !s.localCommit.htlcs.some(matches))) {
    const known =
      s.localCommit.htlcs.some(matches) ||
      s.remoteCommit.htlcs.some(matches) ||
      (s.remoteTip?.commitment.htlcs.some(matches) ?? false) ||
      (fromUs ? s.theirLog : s.ourLog).some((e) => isAdd(e) && e.update.id === id);
    return known
      ? new Violation('htlc-not-committed', `HTLC ${id} is not irrevocably committed yet`)
      : new Violation('unknown-htlc-id', `no HTLC ${id} to remove`);
  }
  const log = fromUs ? s.ourLog : s.theirLog;
  if (log.some((e) => isRemoval(e) && (e.update as { id: number }).id === id)) {
    return new Violation('htlc-already-removed', `HTLC ${id} already has a pending removal`);
  }
  return undefined;
}

function htlcOf(c: ChannelCommitment, id: number, incoming: boolean) {
  return c.htlcs.find((h) => h.incoming === incoming && h.htlcIndex === id);
}

// --- local requests ---------------------------------------------------------------------------

function withOurEntry(s: CoreState, entry: LogEntry): CoreState {
  return {
    ...s,
    ourLog: [...s.ourLog, entry],
    ourNextLogIndex: entry.logIndex + 1,
    ourNextHtlcId: isAdd(entry) ? entry.update.id + 1 : s.ourNextHtlcId,
  };
}

/** Appends our update; sends it now when synced, else it waits for the reestablish. */
function queueOurs(s: CoreState, entry: LogEntry, before: readonly CoreEffect[] = []): CoreResult {
  const effects: CoreEffect[] = [...before];
  if (s.synced) effects.push({ kind: 'send', message: entry.update });
  return { state: withOurEntry(s, entry), effects };
}

function offerHtlc(s: CoreState, ev: Extract<CoreEvent, { kind: 'offer_htlc' }>): CoreResult {
  const refuse = (reason: string): CoreResult => ({ state: s, effects: [{ kind: 'offer_refused', reason }] });
  if (!s.synced) return refuse('the channel is not reestablished with the peer');
  if (s.remoteRevocation.nextPoint === undefined) return refuse('the peer has not sent channel_ready yet');
  if (typeof ev.paymentHash !== 'string' || !/^[0-9a-f]{64}$/.test(ev.paymentHash)) return refuse('expected a 32-byte lowercase hex payment hash');
  if (!(ev.onion instanceof Uint8Array) || ev.onion.length !== ONION_PACKET_SIZE) return refuse(`expected a ${ONION_PACKET_SIZE}-byte onion`);
  if (typeof ev.amountMsat !== 'bigint' || ev.amountMsat >= 1n << 64n) return refuse('expected amount_msat as a u64 bigint');
  if (!Number.isSafeInteger(ev.cltvExpiry) || ev.cltvExpiry < 0) return refuse('expected cltv_expiry as a non-negative integer');
  const add: UpdateAddHtlc = {
    type: 'update_add_htlc',
    channelId: s.channelId,
    id: s.ourNextHtlcId,
    amountMsat: ev.amountMsat,
    paymentHash: ev.paymentHash,
    cltvExpiry: ev.cltvExpiry,
    onionRoutingPacket: ev.onion.slice(),
  };
  const entry = entryOf(s.ourNextLogIndex, add) as LogEntry & { update: UpdateAddHtlc };
  const violation = addViolation(s, entry, true);
  if (violation !== undefined) return refuse(violation.message);
  // Sender-only rules (stricter than what the peer checks, so never a cause of failure):
  // the funder must also afford our own next commitment; a non-funder should not leave the
  // funder unable to pay the fee of the peer's commitment.
  if (s.channel.isInitiator) {
    const local = fullLocalView(s, [entry]);
    if (spendableOf(s, local, 'local', true) < s.channel.localConfig.chanReserveSat * 1000n) {
      return refuse('we could not pay the fee of our own commitment above our reserve');
    }
  } else {
    const { view, owner } = receiverView(s, true, [entry]);
    if (spendableOf(s, view, owner, false) < 0n) return refuse("the funder could not pay the peer's commitment fee with this HTLC");
  }
  return queueOurs(s, entry, [{ kind: 'offered', htlcId: add.id, paymentHash: add.paymentHash }]);
}

type RemovalEvent = Extract<CoreEvent, { kind: 'fulfill_htlc' | 'fail_htlc' | 'fail_malformed_htlc' }>;

function resolveHtlc(s: CoreState, ev: RemovalEvent): CoreResult {
  const refuse = (reason: string): CoreResult => ({ state: s, effects: [{ kind: 'update_refused', request: ev.kind, htlcId: ev.htlcId, reason }] });
  if (!Number.isSafeInteger(ev.htlcId) || ev.htlcId < 0) return refuse('expected an HTLC id');
  const violation = removalViolation(s, ev.htlcId, true);
  if (violation !== undefined) return refuse(violation.message);
  let update: UpdateFulfillHtlc | UpdateFailHtlc | UpdateFailMalformedHtlc;
  switch (ev.kind) {
    case 'fulfill_htlc': {
      const htlc = htlcOf(s.remoteCommit, ev.htlcId, true)!;
      if (!(ev.preimage instanceof Uint8Array) || ev.preimage.length !== 32 || bytesToHex(sha256(ev.preimage)) !== htlc.paymentHash) {
        return refuse('the preimage does not hash to the payment hash of the HTLC');
      }
      update = { type: 'update_fulfill_htlc', channelId: s.channelId, id: ev.htlcId, paymentPreimage: ev.preimage.slice() };
      break;
    }
    case 'fail_htlc':
      if (!(ev.reason instanceof Uint8Array) || ev.reason.length > 0xffff) return refuse('expected a failure reason of at most 65535 bytes');
      update = { type: 'update_fail_htlc', channelId: s.channelId, id: ev.htlcId, reason: ev.reason.slice() };
      break;
    case 'fail_malformed_htlc':
      if (!Number.isInteger(ev.failureCode) || ev.failureCode < 0 || ev.failureCode > 0xffff || (ev.failureCode & BADONION) === 0) {
        return refuse('update_fail_malformed_htlc needs a u16 failure code with the BADONION bit');
      }
      if (typeof ev.sha256OfOnion !== 'string' || !/^[0-9a-f]{64}$/.test(ev.sha256OfOnion)) return refuse('expected sha256_of_onion as 32-byte hex');
      update = { type: 'update_fail_malformed_htlc', channelId: s.channelId, id: ev.htlcId, sha256OfOnion: ev.sha256OfOnion, failureCode: ev.failureCode };
      break;
  }
  const refs = { ...(ev.addRef !== undefined ? { addRef: ev.addRef } : {}), ...(ev.settleFailRef !== undefined ? { settleFailRef: ev.settleFailRef } : {}) };
  return queueOurs(s, entryOf(s.ourNextLogIndex, update, refs));
}

function feeViolation(s: CoreState, entry: LogEntry & { update: UpdateFee }, fromUs: boolean, reserve: bigint): Violation | undefined {
  if (fromUs !== s.channel.isInitiator) return new Violation('fee-from-non-funder', 'update_fee from the side that does not pay the fee');
  const rate = entry.update.feeratePerKw;
  if (rate < MIN_FEERATE_PER_KW) return new Violation('fee-too-low', `update_fee feerate_per_kw ${rate} is below ${MIN_FEERATE_PER_KW}`);
  const { view, owner } = receiverView(s, fromUs, [entry]);
  const spendable = spendableOf(s, view, owner, fromUs);
  if (spendable < reserve) return new Violation('fee-unaffordable', `the funder cannot pay the commitment fee at ${rate} sat/kw (${spendable} msat left)`);
  return undefined;
}

function updateFee(s: CoreState, ev: Extract<CoreEvent, { kind: 'update_fee' }>): CoreResult {
  const refuse = (reason: string): CoreResult => ({ state: s, effects: [{ kind: 'update_refused', request: ev.kind, reason }] });
  if (!s.channel.isInitiator) return refuse('only the funder sends update_fee');
  if (!Number.isInteger(ev.feeratePerKw) || ev.feeratePerKw < 0 || ev.feeratePerKw > 0xffff_ffff) return refuse('expected feerate_per_kw as a u32');
  const entry = entryOf(s.ourNextLogIndex, { type: 'update_fee', channelId: s.channelId, feeratePerKw: ev.feeratePerKw }) as LogEntry & { update: UpdateFee };
  // We keep our reserve (the peer only asks that the fee is paid), on both commitments.
  const reserve = s.channel.localConfig.chanReserveSat * 1000n;
  const violation = feeViolation(s, entry, true, reserve);
  if (violation !== undefined) return refuse(violation.message);
  if (spendableOf(s, fullLocalView(s, [entry]), 'local', true) < reserve) return refuse('we could not pay the fee of our own commitment above our reserve');
  return queueOurs(s, entry);
}

function sign(s: CoreState): CoreResult {
  const none: CoreResult = { state: s, effects: [] };
  const nextPoint = s.remoteRevocation.nextPoint;
  if (!s.synced || s.remoteTip !== undefined || nextPoint === undefined) return none;
  const ours = s.ourLog.filter((e) => e.logIndex >= s.remoteCommit.localLogIndex);
  const theirs = s.theirLog.filter((e) => e.logIndex >= s.remoteCommit.remoteLogIndex && e.logIndex < s.localCommit.remoteLogIndex);
  if (ours.length === 0 && theirs.length === 0) return none;
  const applied = applyUpdates(applyUpdates(viewOf(s.remoteCommit), ours, true), theirs, false);
  const view: CommitView = {
    ...applied,
    localLogIndex: s.ourNextLogIndex,
    localHtlcIndex: s.ourNextHtlcId,
    remoteLogIndex: s.localCommit.remoteLogIndex,
    remoteHtlcIndex: s.localCommit.remoteHtlcIndex,
  };
  const height = s.remoteCommit.commitHeight + 1;
  const point = hexToBytes(nextPoint);
  const tx = buildViewTx(s.channel, view, 'remote', height, point);
  const signature = s.signer.signFunding(commitmentSighash(tx));
  const htlcSignatures = buildHtlcTxs(tx).map((h) => s.signer.signHtlc(point, htlcTxSighash(h)));
  const message: CommitmentSigned = { type: 'commitment_signed', channelId: s.channelId, signature, htlcSignatures };
  const diff: CommitDiff = {
    commitment: commitmentRecordOf(view, tx, 'remote', height, signature, new Map()),
    logUpdates: ours.map(toLogUpdate),
    commitSig: encodeMessage(message),
    openedCircuitKeys: [],
    closedCircuitKeys: [],
    addAcks: ours.flatMap((e) => (e.addRef !== undefined ? [e.addRef] : [])),
    settleFailAcks: ours.flatMap((e) => (e.settleFailRef !== undefined ? [e.settleFailRef] : [])),
  };
  return {
    state: { ...s, remoteTip: diff, lastWasRevoke: false },
    effects: [
      { kind: 'persist_remote_commit', diff },
      { kind: 'send', message },
    ],
  };
}

// --- peer messages --------------------------------------------------------------------------

function withTheirEntry(s: CoreState, entry: LogEntry): CoreState {
  return {
    ...s,
    theirLog: [...s.theirLog, entry],
    theirNextLogIndex: entry.logIndex + 1,
    theirNextHtlcId: isAdd(entry) ? entry.update.id + 1 : s.theirNextHtlcId,
  };
}

function receiveAdd(s: CoreState, m: UpdateAddHtlc): CoreResult {
  if (m.id !== s.theirNextHtlcId) throw new Violation('htlc-id-mismatch', `update_add_htlc id ${m.id}, expected ${s.theirNextHtlcId}`);
  const entry = entryOf(s.theirNextLogIndex, m) as LogEntry & { update: UpdateAddHtlc };
  const violation = addViolation(s, entry, false);
  if (violation !== undefined) throw violation;
  return { state: withTheirEntry(s, entry), effects: [] };
}

function receiveRemoval(s: CoreState, m: UpdateFulfillHtlc | UpdateFailHtlc | UpdateFailMalformedHtlc): CoreResult {
  const violation = removalViolation(s, m.id, false);
  if (violation !== undefined) throw violation;
  const effects: CoreEffect[] = [];
  if (m.type === 'update_fulfill_htlc') {
    const htlc = htlcOf(s.localCommit, m.id, false)!;
    if (bytesToHex(sha256(m.paymentPreimage)) !== htlc.paymentHash) {
      throw new Violation('bad-preimage', `update_fulfill_htlc preimage of HTLC ${m.id} does not hash to its payment hash`);
    }
    effects.push({ kind: 'preimage_received', htlcId: m.id, paymentHash: htlc.paymentHash, preimage: m.paymentPreimage.slice() });
  } else if (m.type === 'update_fail_malformed_htlc' && (m.failureCode & BADONION) === 0) {
    throw new Violation('malformed-without-badonion', `update_fail_malformed_htlc failure_code ${m.failureCode} lacks the BADONION bit`);
  }
  return { state: withTheirEntry(s, entryOf(s.theirNextLogIndex, m)), effects };
}

function receiveFee(s: CoreState, m: UpdateFee): CoreResult {
  const entry = entryOf(s.theirNextLogIndex, m) as LogEntry & { update: UpdateFee };
  // The receiver asks only that the funder can pay the fee (BOLT 3 lets a fee eat into the reserve).
  const violation = feeViolation(s, entry, false, 0n);
  if (violation !== undefined) throw violation;
  return { state: withTheirEntry(s, entry), effects: [] };
}

function receiveCommitmentSigned(s: CoreState, m: CommitmentSigned): CoreResult {
  const theirs = s.theirLog.filter((e) => e.logIndex >= s.localCommit.remoteLogIndex);
  const ours = s.ourLog.filter((e) => e.logIndex >= s.localCommit.localLogIndex && e.logIndex < s.remoteCommit.localLogIndex);
  if (theirs.length === 0 && ours.length === 0) throw new Violation('commitment-without-changes', 'commitment_signed covers no update');
  const applied = applyUpdates(applyUpdates(viewOf(s.localCommit), ours, true), theirs, false);
  const view: CommitView = {
    ...applied,
    localLogIndex: s.remoteCommit.localLogIndex,
    localHtlcIndex: s.remoteCommit.localHtlcIndex,
    remoteLogIndex: s.theirNextLogIndex,
    remoteHtlcIndex: s.theirNextHtlcId,
  };
  const height = s.localCommit.commitHeight + 1;
  const point = perCommitmentPoint(s.signer.perCommitmentSecret(height));
  const tx = buildViewTx(s.channel, view, 'local', height, point);
  if (!verifyCommitmentSignature(tx, m.signature, hexToBytes(s.channel.remoteConfig.multiSigKey.pubkey))) {
    throw new Violation('bad-commitment-signature', `commitment_signed signature does not sign our commitment ${height}`);
  }
  const htlcTxs = buildHtlcTxs(tx);
  if (m.htlcSignatures.length !== htlcTxs.length) {
    throw new Violation('wrong-htlc-signature-count', `commitment_signed has ${m.htlcSignatures.length} HTLC signatures, our commitment ${height} has ${htlcTxs.length} HTLC outputs`);
  }
  const sigs = new Map<number, Uint8Array>();
  htlcTxs.forEach((h, i) => {
    const sig = m.htlcSignatures[i]!;
    if (!verifyHtlcTxSignature(h, sig, tx.params.keys.remoteHtlcPubkey)) {
      throw new Violation('bad-htlc-signature', `HTLC signature ${i} of commitment_signed does not sign its HTLC transaction`);
    }
    sigs.set(h.htlcIndex, sig.slice());
  });
  const commitment = commitmentRecordOf(view, tx, 'local', height, m.signature.slice(), sigs);
  const revoke: RevokeAndAck = {
    type: 'revoke_and_ack',
    channelId: s.channelId,
    perCommitmentSecret: s.signer.perCommitmentSecret(height - 1),
    nextPerCommitmentPoint: bytesToHex(perCommitmentPoint(s.signer.perCommitmentSecret(height + 1))),
  };
  // Their updates our new commitment holds that the peer's current commitment does not have yet.
  const unsignedAckedUpdates = s.theirLog.filter((e) => e.logIndex >= s.remoteCommit.remoteLogIndex).map(toLogUpdate);
  return {
    state: { ...s, localCommit: commitment, lastWasRevoke: true, ourLog: s.ourLog.filter((e) => e.logIndex >= commitment.localLogIndex) },
    effects: [
      { kind: 'persist_local_commit', commitment, unsignedAckedUpdates },
      { kind: 'send', message: revoke },
    ],
  };
}

function isPoint(hex: Hex): boolean {
  try {
    secp256k1.Point.fromHex(hex);
    return hex.length === 66;
  } catch {
    return false;
  }
}

function receiveRevokeAndAck(s: CoreState, m: RevokeAndAck): CoreResult {
  const tip = s.remoteTip?.commitment;
  const current = s.remoteRevocation.currentPoint;
  if (tip === undefined || current === undefined) throw new Violation('unexpected-revoke-and-ack', 'revoke_and_ack without an outstanding commitment_signed');
  let point: Hex;
  try {
    point = bytesToHex(s.secretToPoint(m.perCommitmentSecret));
  } catch {
    throw new Violation('bad-revocation-secret', 'revoke_and_ack per_commitment_secret is not a valid secret key');
  }
  const revoked = s.remoteCommit.commitHeight;
  if (point !== current) throw new Violation('revocation-secret-mismatch', `revoke_and_ack secret does not generate the point of commitment ${revoked}`);
  const secrets = ShachainStore.fromEntries(s.remoteRevocation.secrets);
  try {
    secrets.insert(commitmentIndex(BigInt(revoked)), m.perCommitmentSecret);
  } catch {
    throw new Violation('revocation-secret-not-shachain', `revoke_and_ack secret of commitment ${revoked} does not derive the earlier secrets`);
  }
  if (!isPoint(m.nextPerCommitmentPoint)) throw new Violation('bad-next-point', 'revoke_and_ack next_per_commitment_point is not a valid point');
  const locked = s.theirLog.filter((e) => e.logIndex >= s.remoteCommit.remoteLogIndex && e.logIndex < tip.remoteLogIndex);
  const args = {
    revocationSecret: m.perCommitmentSecret.slice(),
    nextPoint: m.nextPerCommitmentPoint,
    fwdPkg: newFwdPkg(s.channel.shortChannelId, tip.commitHeight, locked.filter(isAdd).map(toLogUpdate), locked.filter(isRemoval).map(toLogUpdate)),
    remoteUnsignedLocalUpdates: s.ourLog.filter((e) => e.logIndex >= s.localCommit.localLogIndex && e.logIndex < tip.localLogIndex).map(toLogUpdate),
  };
  const state: CoreState = {
    ...s,
    remoteCommit: tip,
    remoteTip: undefined,
    remoteRevocation: { secrets: secrets.entries(), currentPoint: s.remoteRevocation.nextPoint!, nextPoint: m.nextPerCommitmentPoint },
    theirLog: s.theirLog.filter((e) => e.logIndex >= tip.remoteLogIndex),
  };
  return { state, effects: [{ kind: 'persist_revocation', args }] };
}

function receive(s: CoreState, message: WireMessage): CoreResult {
  if (!s.synced) throw new Violation('message-before-reestablish', `${message.type} before channel_reestablish`);
  if ('channelId' in message && message.channelId !== s.channelId) {
    throw new Violation('wrong-channel-id', `${message.type} for channel ${message.channelId}, not ${s.channelId}`);
  }
  switch (message.type) {
    case 'update_add_htlc':
      return receiveAdd(s, message);
    case 'update_fulfill_htlc':
    case 'update_fail_htlc':
    case 'update_fail_malformed_htlc':
      return receiveRemoval(s, message);
    case 'update_fee':
      return receiveFee(s, message);
    case 'commitment_signed':
      return receiveCommitmentSigned(s, message);
    case 'revoke_and_ack':
      return receiveRevokeAndAck(s, message);
    default:
      throw new Violation('unexpected-message', `${message.type} is not a normal-operation message`);
  }
}

// --- disconnect and reestablish --------------------------------------------------------------

function disconnected(s: CoreState): CoreResult {
  const base = ourBase(s);
  const effects: CoreEffect[] = [];
  const kept = s.ourLog.filter((e) => e.logIndex < base.localLogIndex);
  // Our updates no commitment_signed covered: the peer forgets them. Adds are reported (the
  // node may offer again); fulfills, fails and fee updates are queued again in order.
  let next = base.localLogIndex;
  const requeued: LogEntry[] = [];
  for (const e of s.ourLog.filter((e) => e.logIndex >= base.localLogIndex)) {
    if (isAdd(e)) effects.push({ kind: 'htlc_forgotten', htlcId: e.update.id, paymentHash: e.update.paymentHash });
    else requeued.push({ ...e, logIndex: next++ });
  }
  const state: CoreState = {
    ...s,
    ourLog: [...kept, ...requeued],
    ourNextLogIndex: next,
    ourNextHtlcId: base.localHtlcIndex,
    theirLog: s.theirLog.filter((e) => e.logIndex < s.localCommit.remoteLogIndex),
    theirNextLogIndex: s.localCommit.remoteLogIndex,
    theirNextHtlcId: s.localCommit.remoteHtlcIndex,
    synced: false,
  };
  return { state, effects };
}

/** Our channel_reestablish for the current state (BOLT 2 "Message Retransmission"). */
export function nextReestablish(s: CoreState): ChannelReestablish {
  const theirs = ShachainStore.fromEntries(s.remoteRevocation.secrets);
  return reestablishMessage({
    channelId: s.channelId,
    localCommitHeight: s.localCommit.commitHeight,
    remoteCommitHeight: s.remoteCommit.commitHeight,
    ourSecret: (n) => s.signer.perCommitmentSecret(n),
    theirSecret: (n) => theirs.perCommitmentSecret(BigInt(n)),
  });
}

/** The revoke_and_ack we sent for our commitment `revokedHeight` (regenerated: deterministic). */
function revokeFor(s: CoreState, revokedHeight: number): RevokeAndAck {
  return {
    type: 'revoke_and_ack',
    channelId: s.channelId,
    perCommitmentSecret: s.signer.perCommitmentSecret(revokedHeight),
    nextPerCommitmentPoint: bytesToHex(perCommitmentPoint(s.signer.perCommitmentSecret(revokedHeight + 2))),
  };
}

function decodedOrFail(bytes: Uint8Array): WireMessage {
  const d = decodeMessage(bytes);
  if (d.kind !== 'known') throw new RangeError(`stored message of type ${d.type} cannot be retransmitted`);
  return d.message;
}

function reestablish(s: CoreState, m: ChannelReestablish): CoreResult {
  if (s.synced) throw new Violation('unexpected-reestablish', 'channel_reestablish on a channel already reestablished');
  if (m.channelId !== s.channelId) throw new Violation('wrong-channel-id', `channel_reestablish for channel ${m.channelId}, not ${s.channelId}`);
  const localHeight = s.localCommit.commitHeight;
  const remoteHeight = s.remoteCommit.commitHeight;
  if (m.nextCommitmentNumber === 0) throw new Violation('bad-commitment-number', 'next_commitment_number is 0');

  // Their next_revocation_number: the revoke_and_ack they expect from us next.
  const nr = m.nextRevocationNumber;
  if (nr > localHeight) {
    if (equalBytes(m.yourLastPerCommitmentSecret, s.signer.perCommitmentSecret(nr - 1))) {
      throw new Violation('we-lost-data', `the peer proves it holds our revocation of commitment ${nr - 1}, but our local commitment is number ${localHeight}`);
    }
    throw new Violation('bad-revocation-number', `next_revocation_number ${nr} is ahead of our commitment ${localHeight} without proof`);
  }
  const expectedSecret = nr === 0 ? new Uint8Array(32) : s.signer.perCommitmentSecret(nr - 1);
  if (!equalBytes(m.yourLastPerCommitmentSecret, expectedSecret)) {
    throw new Violation('bad-last-secret', `your_last_per_commitment_secret is not our secret of commitment ${nr - 1}`);
  }
  let resendRevoke = false;
  if (nr === localHeight - 1) resendRevoke = true;
  else if (nr !== localHeight) throw new Violation('bad-revocation-number', `next_revocation_number ${nr} is behind our last revocation (commitment ${localHeight - 1})`);

  // Their next_commitment_number: the commitment_signed they expect from us next.
  const nc = m.nextCommitmentNumber;
  let resendCommit = false;
  if (s.remoteTip !== undefined) {
    const tipHeight = s.remoteTip.commitment.commitHeight;
    if (nc === tipHeight) resendCommit = true;
    else if (nc !== tipHeight + 1) throw new Violation('bad-commitment-number', `next_commitment_number ${nc}, expected ${tipHeight} or ${tipHeight + 1}`);
  } else if (nc !== remoteHeight + 1) {
    throw new Violation('bad-commitment-number', `next_commitment_number ${nc}, expected ${remoteHeight + 1}`);
  }

  const effects: CoreEffect[] = [];
  if (nc === 1 && localHeight === 0) effects.push({ kind: 'resend_channel_ready' });
  const commitMessages: CoreEffect[] = resendCommit
    ? [...s.remoteTip!.logUpdates.map((u) => decodedOrFail(u.message)), decodedOrFail(s.remoteTip!.commitSig)].map((message) => ({ kind: 'send', message }))
    : [];
  const revokeMessages: CoreEffect[] = resendRevoke ? [{ kind: 'send', message: revokeFor(s, localHeight - 1) }] : [];
  // BOLT 2: in the order first sent; lastWasRevoke says which of the two came last.
  if (s.lastWasRevoke) effects.push(...commitMessages, ...revokeMessages);
  else effects.push(...revokeMessages, ...commitMessages);
  // Then our updates queued while disconnected.
  const base = ourBase(s);
  for (const e of s.ourLog) if (e.logIndex >= base.localLogIndex) effects.push({ kind: 'send', message: e.update });
  return { state: { ...s, synced: true }, effects };
}

// --- the public API ----------------------------------------------------------------------------

/**
 * Rebuilds the core from what the store holds (at start, or after a restart). Updates no
 * commitment covers are gone, as after a disconnect; the core waits for a reestablish
 * (`canSendUpdates` is false). RangeError if the stored lists are not update messages.
 * `options` injects secret·G for revoke_and_ack (noble's by default).
 */
export function coreFromStore(view: StoredChannelView, signer: CoreSigner, options: CoreOptions = {}): CoreState {
  const { channel } = view;
  const localCommit = channel.localCommitment;
  const remoteCommit = channel.remoteCommitment;
  const base = view.remoteTip?.commitment ?? remoteCommit;
  const ours = new Map<number, LogEntry>();
  for (const u of [...view.remoteUnsignedLocalUpdates, ...(view.remoteTip?.logUpdates ?? [])]) {
    if (u.logIndex >= localCommit.localLogIndex && u.logIndex < base.localLogIndex) ours.set(u.logIndex, entryFromStore(u));
  }
  const theirs = view.unsignedAckedUpdates
    .filter((u) => u.logIndex >= remoteCommit.remoteLogIndex && u.logIndex < localCommit.remoteLogIndex)
    .map(entryFromStore);
  return {
    channel,
    signer,
    secretToPoint: options.secretToPoint ?? revealedPoint,
    channelId: channelIdOf(channel.fundingOutpoint),
    localCommit,
    remoteCommit,
    remoteTip: view.remoteTip,
    remoteRevocation: channel.remoteRevocation,
    lastWasRevoke: channel.lastWasRevoke,
    ourLog: [...ours.values()].sort((a, b) => a.logIndex - b.logIndex),
    theirLog: theirs.sort((a, b) => a.logIndex - b.logIndex),
    ourNextLogIndex: base.localLogIndex,
    ourNextHtlcId: base.localHtlcIndex,
    theirNextLogIndex: localCommit.remoteLogIndex,
    theirNextHtlcId: localCommit.remoteHtlcIndex,
    synced: false,
  };
}

/**
 * Runs one event. Never throws for peer input: a peer that breaks BOLT 2 gives
 * `{ state (the input, unchanged), effects: [fail_channel] }`. Local requests that cannot
 * be honoured give offer_refused / update_refused and the unchanged state.
 */
export function step(state: CoreState, event: CoreEvent): CoreResult {
  switch (event.kind) {
    case 'offer_htlc':
      return offerHtlc(state, event);
    case 'fulfill_htlc':
    case 'fail_htlc':
    case 'fail_malformed_htlc':
      return resolveHtlc(state, event);
    case 'update_fee':
      return updateFee(state, event);
    case 'sign':
      return sign(state);
    case 'disconnected':
      return disconnected(state);
    case 'peer_message':
    case 'peer_reestablish':
      try {
        return event.kind === 'peer_message' ? receive(state, event.message) : reestablish(state, event.message);
      } catch (err) {
        const violation =
          err instanceof Violation ? err : new Violation('internal-error', `the message could not be processed: ${(err as Error).message ?? String(err)}`);
        return { state, effects: [{ kind: 'fail_channel', code: violation.code, reason: violation.message }] };
      }
  }
}

/** The id the next offer_htlc will get. */
export function nextHtlcId(state: CoreState): number {
  return state.ourNextHtlcId;
}

/** False after a disconnect or restart until the peer's channel_reestablish was processed. */
export function canSendUpdates(state: CoreState): boolean {
  return state.synced;
}

/** The channel as our local commitment has it, plus the protocol position (for list_channels and tests). */
export function coreSummary(state: CoreState): CoreSummary {
  const c = state.localCommit;
  return {
    localBalanceMsat: c.localBalanceMsat,
    remoteBalanceMsat: c.remoteBalanceMsat,
    commitFeeSat: c.commitFeeSat,
    feePerKw: Number(c.feePerKw),
    pendingHtlcs: c.htlcs.map((h) => ({ htlcId: h.htlcIndex, incoming: h.incoming, amountMsat: h.amountMsat, paymentHash: h.paymentHash, cltvExpiry: h.refundTimeout })),
    localCommitHeight: c.commitHeight,
    remoteCommitHeight: state.remoteCommit.commitHeight,
    hasPendingRemoteCommit: state.remoteTip !== undefined,
    pendingLocalUpdates: state.ourLog.filter((e) => e.logIndex >= c.localLogIndex).length,
    pendingRemoteUpdates: state.theirLog.filter((e) => e.logIndex >= c.remoteLogIndex).length,
    synced: state.synced,
  };
}
