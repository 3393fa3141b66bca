/**
 * KV facet: the commitment update protocol. The payment hot path touches only commitment,
 * diff, update-list, revocation-state, revocation-log and forwarding-package keys; the
 * channel's info record is read for two fields and never rewritten. advanceCommitChainTail
 * moves the chain tip's commitment into the remote slot as the bytes it was stored as (no
 * decode and re-encode), decodes of the revoked commitment only what its log entry needs, and
 * rewrites an update list only when it changed.
 *
 * Revocation log: blocks of revoked states (chanstate/revocation-blocks.ts), the newest one
 * open under `revocation-open-block -> <chanPoint>`, the sealed ones under
 * `revocation-blocks -> <chanPoint> <first height>` (keys.ts). KV_BLOCK_LIMIT sizes a sealed
 * block so that, with its key and checksum, it fills one LMDB overflow page.
 */
import { commitDiffRecord, commitmentRecord, decodeRevocableCommitment, remoteRevocationRecord } from '../chanstate/records.js';
import { revocationLogEntryOf } from '../chanstate/revocation-log.js';
import { appendToOpen, decodeBlock, findInBlock, openBlockSummary, storeInOpen, storeInSealed, type RevocationBlock } from '../chanstate/revocation-blocks.js';
import {
  advanceRevocation,
  assertHasScid,
  assertPkgSource,
  lockInUpdates,
  logEntryNotFound,
  missingCommitment,
  noPendingCommit,
  outputIndexesOf,
  stillUnsignedAcked,
} from '../chanstate/rules.js';
import type { CommitmentStore } from '../chanstate/store.js';
import type { AdvanceTailArgs, ChannelCommitment, CommitDiff, Hex, LogUpdate, OutPoint, RevocationLogEntry } from '../chanstate/types.js';
import { decodeTlvStream } from '../codec/tlv.js';
import { DecodeError } from '../errors.js';
import {
  LOCAL,
  readCommitment,
  readRevocation,
  readUpdates,
  REMOTE,
  requireInfo,
  requireMutable,
  writeFwdPkg,
  writeUpdates,
  type KvStoreContext,
} from './chanstate-tx.js';
import type { KvReadTx, KvWriteTx } from './engine.js';
import { ackAddsTx, ackSettleFailsTx } from './fwd-pkgs.js';
import {
  COMMIT_DIFF,
  COMMITMENT,
  FINAL_HTLCS,
  LAST_WAS_REVOKE,
  REMOTE_UNSIGNED_LOCAL_UPDATES,
  REVOCATION_BLOCKS,
  REVOCATION_OPEN_BLOCK,
  REVOCATION_STATE,
  UNSIGNED_ACKED_UPDATES,
  keys,
  prefixRange,
  readU64Key,
  u64Key,
} from './keys.js';

// --- the revocation log --------------------------------------------------------------------

/**
 * Most bytes of a sealed revocation block: with its 4-byte checksum the value fits one LMDB
 * overflow page (4,096 bytes less the page header), so blocks fill their pages.
 */
export const KV_BLOCK_LIMIT = 4060;

const blockKey = (op: OutPoint, firstHeight: number) => keys.chan(REVOCATION_BLOCKS, op, u64Key(firstHeight));

/** The sealed block of `op` with the greatest first height at or below `height`, or undefined. */
function sealedAtOrBelow(tx: KvReadTx, op: OutPoint, height: number): RevocationBlock | undefined {
  const prefix = keys.chan(REVOCATION_BLOCKS, op);
  for (const [k, v] of tx.range({ start: prefix, end: blockKey(op, height + 1), reverse: true, limit: 1 })) {
    return { firstHeight: Number(readU64Key(k, prefix.length)), bytes: v };
  }
  return undefined;
}

/**
 * Stores a revoked state of `op`, replacing a stored state of the same height. `limit` (the
 * block size) is for tests that want many blocks from few states.
 */
export function putRevokedState(tx: KvWriteTx, op: OutPoint, entry: RevocationLogEntry, limit = KV_BLOCK_LIMIT): void {
  const openKey = keys.chan(REVOCATION_OPEN_BLOCK, op);
  const open = tx.get(openKey);
  if (open === undefined && sealedAtOrBelow(tx, op, Number.MAX_SAFE_INTEGER - 1) !== undefined) {
    throw new DecodeError(`the revocation log of ${op.txid}:${op.index} has sealed blocks but no open block`);
  }
  const write = storeInOpen(open, entry, limit);
  if (write !== undefined) {
    for (const block of write.sealed) tx.put(blockKey(op, block.firstHeight), block.bytes);
    tx.put(openKey, write.open);
    return;
  }
  for (const block of storeInSealed(sealedAtOrBelow(tx, op, entry.commitHeight), entry, limit)) tx.put(blockKey(op, block.firstHeight), block.bytes);
}

/**
 * Stores revoked states of `op`, each above every stored one, in height order (a bulk
 * import): the open block is read and written once for all of them. RangeError for a height
 * not above the last stored one.
 */
export function appendRevokedStates(tx: KvWriteTx, op: OutPoint, entries: readonly RevocationLogEntry[]): void {
  if (entries.length === 0) return;
  const openKey = keys.chan(REVOCATION_OPEN_BLOCK, op);
  const open = tx.get(openKey);
  if (open === undefined && sealedAtOrBelow(tx, op, Number.MAX_SAFE_INTEGER - 1) !== undefined) {
    throw new DecodeError(`the revocation log of ${op.txid}:${op.index} has sealed blocks but no open block`);
  }
  const write = appendToOpen(open, entries, KV_BLOCK_LIMIT);
  for (const block of write.sealed) tx.put(blockKey(op, block.firstHeight), block.bytes);
  tx.put(openKey, write.open);
}

/** The revoked state of `op` at `height`, or undefined. */
export function findRevokedState(tx: KvReadTx, op: OutPoint, height: number): RevocationLogEntry | undefined {
  const open = tx.get(keys.chan(REVOCATION_OPEN_BLOCK, op));
  if (open !== undefined && height >= openBlockSummary(open).firstHeight) return findInBlock(open, height);
  const at = sealedAtOrBelow(tx, op, height);
  return at === undefined ? undefined : findInBlock(at.bytes, height, at.firstHeight);
}

/** The revoked states of `op` from height `from` on, in height order, at most `limit`. */
export function revokedStatesFrom(tx: KvReadTx, op: OutPoint, from: number, limit: number): RevocationLogEntry[] {
  const out: RevocationLogEntry[] = [];
  const take = (entries: readonly RevocationLogEntry[]) => {
    for (const e of entries) if (e.commitHeight >= from && out.length < limit) out.push(e);
  };
  const prefix = keys.chan(REVOCATION_BLOCKS, op);
  const first = sealedAtOrBelow(tx, op, from);
  if (first !== undefined) take(decodeBlock(first.bytes, first.firstHeight));
  for (const [k, v] of tx.range({ start: blockKey(op, from + 1), end: prefixRange(prefix).end })) {
    if (out.length >= limit) return out;
    take(decodeBlock(v, Number(readU64Key(k, prefix.length))));
  }
  const open = tx.get(keys.chan(REVOCATION_OPEN_BLOCK, op));
  if (open !== undefined && out.length < limit) take(decodeBlock(open));
  return out;
}

/** The height of the newest revoked state of `op`, or undefined when the log is empty. */
export function revokedTailHeight(tx: KvReadTx, op: OutPoint): number | undefined {
  const open = tx.get(keys.chan(REVOCATION_OPEN_BLOCK, op));
  return open === undefined ? undefined : openBlockSummary(open).lastHeight;
}

// --- the hot path's partial reads ------------------------------------------------------------

const REMOTE_LOG_INDEX: ReadonlySet<string> = new Set(['remoteLogIndex']);
/** TLV type of CommitDiff.commitment (records.ts). */
const DIFF_COMMITMENT_TYPE = 0n;

/**
 * The commitment of a stored CommitDiff as a stored ChannelCommitment record: the nested
 * record's TLV stream under the commitment record's own envelope, byte for byte what
 * encoding the decoded commitment would give. DECODE_FAILED if the diff is malformed or
 * needs a newer reader.
 */
function tipCommitmentRecord(diff: Uint8Array): { record: Uint8Array; remoteLogIndex: number } {
  if (diff.length < 2) throw new DecodeError(`CommitDiff: record of ${diff.length} bytes has no envelope`);
  if (diff[1]! > commitDiffRecord.versions.version) throw new DecodeError(`CommitDiff: record version ${diff[0]} needs reader version ${diff[1]}`);
  const body = decodeTlvStream(diff.subarray(2)).find((r) => r.type === DIFF_COMMITMENT_TYPE)?.value;
  if (body === undefined) throw new DecodeError('CommitDiff: required field commitment (type 0) is missing');
  const record = new Uint8Array(body.length + 2);
  record[0] = commitmentRecord.versions.version;
  record[1] = commitmentRecord.versions.minReaderVersion;
  record.set(body, 2);
  return { record, remoteLogIndex: commitmentRecord.decode(record, REMOTE_LOG_INDEX).remoteLogIndex };
}

/** Writes update list `bucket` unless it is `stored` unchanged (same length: filtering only ever removes). */
function writeUpdatesIfChanged(tx: KvWriteTx, bucket: number, op: OutPoint, stored: readonly LogUpdate[], next: readonly LogUpdate[]): void {
  if (next.length !== stored.length) writeUpdates(tx, bucket, op, next);
}

/** The commitment methods over `ctx.engine`. */
export function commitmentsFacet(ctx: KvStoreContext): CommitmentStore {
  const { engine } = ctx;
  return {
    updateCommitment: (chanPoint: OutPoint, newCommitment: ChannelCommitment, unsignedAckedUpdates: readonly LogUpdate[]) =>
      engine.update((tx) => {
        const info = requireMutable(tx, chanPoint);
        tx.put(keys.chan(COMMITMENT, chanPoint, LOCAL), commitmentRecord.encode(newCommitment));
        writeUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint, unsignedAckedUpdates);
        tx.put(keys.chan(LAST_WAS_REVOKE, chanPoint), Uint8Array.of(1));
        const pending = readUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint);
        const { finalized, remaining } = lockInUpdates(pending, newCommitment.localLogIndex);
        if (ctx.finalHtlcs) {
          for (const [htlcId, settled] of finalized) tx.put(keys.scid(FINAL_HTLCS, info.shortChannelId, u64Key(htlcId)), Uint8Array.of((settled ? 1 : 0) | 2));
        }
        writeUpdatesIfChanged(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint, pending, remaining);
        return finalized;
      }),

    async appendRemoteCommitChain(chanPoint: OutPoint, diff: CommitDiff) {
      await engine.update((tx) => {
        const info = requireMutable(tx, chanPoint);
        if (diff.addAcks !== undefined && diff.addAcks.length > 0) ackAddsTx(tx, info.shortChannelId, diff.addAcks);
        if (diff.settleFailAcks !== undefined && diff.settleFailAcks.length > 0) ackSettleFailsTx(tx, diff.settleFailAcks);
        tx.put(keys.chan(LAST_WAS_REVOKE, chanPoint), Uint8Array.of(0));
        const { addAcks: _a, settleFailAcks: _s, ...stored } = diff;
        tx.put(keys.chan(COMMIT_DIFF, chanPoint), commitDiffRecord.encode(stored));
      });
    },

    remoteCommitChainTip: (chanPoint: OutPoint) =>
      engine.read((tx) => {
        requireInfo(tx, chanPoint);
        const bytes = tx.get(keys.chan(COMMIT_DIFF, chanPoint));
        if (bytes === undefined) throw noPendingCommit(chanPoint);
        return commitDiffRecord.decode(bytes);
      }),

    unsignedAckedUpdates: (chanPoint: OutPoint) => engine.read((tx) => (requireInfo(tx, chanPoint), readUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint))),
    remoteUnsignedLocalUpdates: (chanPoint: OutPoint) => engine.read((tx) => (requireInfo(tx, chanPoint), readUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint))),

    async insertNextRevocation(chanPoint: OutPoint, nextPoint: Hex) {
      await engine.update((tx) => {
        requireInfo(tx, chanPoint);
        tx.put(keys.chan(REVOCATION_STATE, chanPoint), remoteRevocationRecord.encode({ ...readRevocation(tx, chanPoint), nextPoint }));
      });
    },

    async advanceCommitChainTail(chanPoint: OutPoint, args: AdvanceTailArgs) {
      await engine.update((tx) => {
        const info = requireMutable(tx, chanPoint);
        assertHasScid(info.shortChannelId, chanPoint);
        assertPkgSource(args.fwdPkg, info.shortChannelId);
        const tipBytes = tx.get(keys.chan(COMMIT_DIFF, chanPoint));
        if (tipBytes === undefined) throw noPendingCommit(chanPoint);
        const tip = tipCommitmentRecord(tipBytes);
        const revokedBytes = tx.get(keys.chan(COMMITMENT, chanPoint, REMOTE));
        if (revokedBytes === undefined) throw missingCommitment(chanPoint, 'remote');
        const revoked = decodeRevocableCommitment(revokedBytes);
        // Checked before anything is written: a wrong secret changes nothing.
        const revocation = advanceRevocation(chanPoint, readRevocation(tx, chanPoint), revoked.commitHeight, args.revocationSecret, args.nextPoint, ctx.secretToPoint);

        const { ourOutputIndex, theirOutputIndex } = outputIndexesOf(revoked);
        putRevokedState(tx, chanPoint, revocationLogEntryOf(revoked, ourOutputIndex, theirOutputIndex, ctx.balances));
        tx.put(keys.chan(COMMITMENT, chanPoint, REMOTE), tip.record);
        tx.delete(keys.chan(COMMIT_DIFF, chanPoint));
        tx.put(keys.chan(REVOCATION_STATE, chanPoint), remoteRevocationRecord.encode(revocation));
        writeFwdPkg(tx, args.fwdPkg);
        const acked = readUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint);
        writeUpdatesIfChanged(tx, UNSIGNED_ACKED_UPDATES, chanPoint, acked, stillUnsignedAcked(acked, tip.remoteLogIndex));
        writeUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint, args.remoteUnsignedLocalUpdates);
      });
    },

    commitmentHeight: (chanPoint: OutPoint) => engine.read((tx) => (requireInfo(tx, chanPoint), readCommitment(tx, chanPoint, LOCAL).commitHeight)),
    latestCommitments: (chanPoint: OutPoint) =>
      engine.read((tx) => {
        requireInfo(tx, chanPoint);
        return { local: readCommitment(tx, chanPoint, LOCAL), remote: readCommitment(tx, chanPoint, REMOTE) };
      }),
    remoteRevocationStore: (chanPoint: OutPoint) => engine.read((tx) => (requireInfo(tx, chanPoint), readRevocation(tx, chanPoint))),

    revocationLogTailHeight: (chanPoint: OutPoint) => engine.read((tx) => (requireInfo(tx, chanPoint), revokedTailHeight(tx, chanPoint))),
    findPreviousState: (chanPoint: OutPoint, commitHeight: number) =>
      engine.read((tx) => {
        requireInfo(tx, chanPoint);
        const entry = findRevokedState(tx, chanPoint, commitHeight);
        if (entry === undefined) throw logEntryNotFound(chanPoint, commitHeight);
        return entry;
      }),
    fetchRevocationLog: (chanPoint: OutPoint, from: number, limit: number) =>
      engine.read((tx) => (requireInfo(tx, chanPoint), revokedStatesFrom(tx, chanPoint, from, limit))),
  };
}
