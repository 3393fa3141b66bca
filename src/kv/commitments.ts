/**
 * KV facet: the commitment update protocol. The payment hot path touches only commitment,
 * diff, update-list, revocation-state, revocation-log and forwarding-package keys; the
 * channel's info record is read for two fields and never rewritten.
 */
import { commitDiffRecord, commitmentRecord, remoteRevocationRecord, revocationLogRecord } from '../chanstate/records.js';
import { revocationLogEntryOf } from '../chanstate/revocation-log.js';
import {
  advanceRevocation,
  assertHasScid,
  assertPkgSource,
  lockInUpdates,
  logEntryNotFound,
  noPendingCommit,
  outputIndexesOf,
  stillUnsignedAcked,
} from '../chanstate/rules.js';
import type { CommitmentStore } from '../chanstate/store.js';
import type { AdvanceTailArgs, ChannelCommitment, CommitDiff, Hex, LogUpdate, OutPoint, RevocationLogEntry } from '../chanstate/types.js';
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
import { ackAddsTx, ackSettleFailsTx } from './fwd-pkgs.js';
import {
  COMMIT_DIFF,
  COMMITMENT,
  FINAL_HTLCS,
  LAST_WAS_REVOKE,
  REMOTE_UNSIGNED_LOCAL_UPDATES,
  REVOCATION_LOG,
  REVOCATION_STATE,
  UNSIGNED_ACKED_UPDATES,
  keys,
  prefixRange,
  readU64Key,
  u64Key,
} from './keys.js';

function decodeEntry(height: number, bytes: Uint8Array): RevocationLogEntry {
  const stored = revocationLogRecord.decode(bytes);
  return { ...stored, commitHeight: height, htlcs: stored.htlcs ?? [] };
}

function encodeEntry(entry: RevocationLogEntry): Uint8Array {
  const { commitHeight: _h, htlcs, ...rest } = entry;
  return revocationLogRecord.encode(htlcs.length === 0 ? rest : { ...rest, htlcs });
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
        const { finalized, remaining } = lockInUpdates(readUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint), newCommitment.localLogIndex);
        if (ctx.finalHtlcs) {
          for (const [htlcId, settled] of finalized) tx.put(keys.scid(FINAL_HTLCS, info.shortChannelId, u64Key(htlcId)), Uint8Array.of((settled ? 1 : 0) | 2));
        }
        writeUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint, remaining);
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
        const tip = commitDiffRecord.decode(tipBytes);
        const revoked = readCommitment(tx, chanPoint, REMOTE);
        // Checked before anything is written: a wrong secret changes nothing.
        const revocation = advanceRevocation(chanPoint, readRevocation(tx, chanPoint), revoked.commitHeight, args.revocationSecret, args.nextPoint);

        const { ourOutputIndex, theirOutputIndex } = outputIndexesOf(revoked);
        const entry = revocationLogEntryOf(revoked, ourOutputIndex, theirOutputIndex, ctx.balances);
        tx.put(keys.chan(REVOCATION_LOG, chanPoint, u64Key(revoked.commitHeight)), encodeEntry(entry));
        tx.put(keys.chan(COMMITMENT, chanPoint, REMOTE), commitmentRecord.encode(tip.commitment));
        tx.delete(keys.chan(COMMIT_DIFF, chanPoint));
        tx.put(keys.chan(REVOCATION_STATE, chanPoint), remoteRevocationRecord.encode(revocation));
        writeFwdPkg(tx, args.fwdPkg);
        writeUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint, stillUnsignedAcked(readUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint), tip.commitment.remoteLogIndex));
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

    revocationLogTailHeight: (chanPoint: OutPoint) =>
      engine.read((tx) => {
        requireInfo(tx, chanPoint);
        const prefix = keys.chan(REVOCATION_LOG, chanPoint);
        for (const [k] of tx.range({ ...prefixRange(prefix), reverse: true, limit: 1 })) return Number(readU64Key(k, prefix.length));
        return undefined;
      }),
    findPreviousState: (chanPoint: OutPoint, commitHeight: number) =>
      engine.read((tx) => {
        requireInfo(tx, chanPoint);
        const bytes = tx.get(keys.chan(REVOCATION_LOG, chanPoint, u64Key(commitHeight)));
        if (bytes === undefined) throw logEntryNotFound(chanPoint, commitHeight);
        return decodeEntry(commitHeight, bytes);
      }),
    fetchRevocationLog: (chanPoint: OutPoint, from: number, limit: number) =>
      engine.read((tx) => {
        requireInfo(tx, chanPoint);
        const prefix = keys.chan(REVOCATION_LOG, chanPoint);
        const out: RevocationLogEntry[] = [];
        for (const [k, v] of tx.range({ start: keys.chan(REVOCATION_LOG, chanPoint, u64Key(from)), end: prefixRange(prefix).end, limit })) {
          out.push(decodeEntry(Number(readU64Key(k, prefix.length)), v));
        }
        return out;
      }),
  };
}
