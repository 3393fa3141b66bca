/**
 * IndexedDB facet: the commitment update protocol. The payment hot path touches only the
 * commitment, diff, update-list, revocation-state, revocation-log and forwarding-package
 * stores; the channel's info record is read for two fields and never rewritten.
 */
import { commitDiffRecord, revocationLogRecord } from '../chanstate/records.js';
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
  writeCommitment,
  writeFwdPkg,
  writeRevocation,
  writeUpdates,
  type IdbStoreContext,
} from './chanstate-tx.js';
import { ackAddsTx, ackSettleFailsTx } from './fwd-pkgs.js';
import {
  CHANNELS,
  COMMIT_DIFFS,
  COMMITMENTS,
  FINAL_HTLCS,
  FWD_PACKAGES,
  LAST_WAS_REVOKE,
  REMOTE_UNSIGNED_LOCAL_UPDATES,
  REVOCATION_LOG,
  REVOCATION_STATES,
  UNSIGNED_ACKED_UPDATES,
  numbersUnder,
  opKey,
  scidKey,
  under,
} from './stores.js';
import type { IdbKey } from './idb-api.js';

function decodeEntry(height: number, bytes: Uint8Array): RevocationLogEntry {
  const stored = revocationLogRecord.decode(bytes);
  return { ...stored, commitHeight: height, htlcs: stored.htlcs ?? [] };
}

function encodeEntry(entry: RevocationLogEntry): Uint8Array {
  const { commitHeight: _h, htlcs, ...rest } = entry;
  return revocationLogRecord.encode(htlcs.length === 0 ? rest : { ...rest, htlcs });
}

/** The height part of a `[<op>, height]` key. */
function heightOf(key: IdbKey): number {
  const height = Array.isArray(key) ? key[1] : undefined;
  if (typeof height !== 'number') throw new TypeError(`expected a [channel point, height] key, got ${JSON.stringify(key)}`);
  return height;
}

/** The commitment methods over `ctx.conn`. */
export function commitmentsFacet(ctx: IdbStoreContext): CommitmentStore {
  const { conn } = ctx;
  return {
    updateCommitment: (chanPoint: OutPoint, newCommitment: ChannelCommitment, unsignedAckedUpdates: readonly LogUpdate[]) =>
      conn.run([CHANNELS, COMMITMENTS, UNSIGNED_ACKED_UPDATES, LAST_WAS_REVOKE, REMOTE_UNSIGNED_LOCAL_UPDATES, FINAL_HTLCS], 'readwrite', async (tx) => {
        const [info, pending] = await Promise.all([requireMutable(tx, chanPoint), readUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint)]);
        writeCommitment(tx, chanPoint, LOCAL, newCommitment);
        writeUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint, unsignedAckedUpdates);
        tx.put(LAST_WAS_REVOKE, opKey(chanPoint), 1);
        const { finalized, remaining } = lockInUpdates(pending, newCommitment.localLogIndex);
        if (ctx.finalHtlcs) {
          for (const [htlcId, settled] of finalized) tx.put(FINAL_HTLCS, [scidKey(info.shortChannelId), htlcId], (settled ? 1 : 0) | 2);
        }
        writeUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint, remaining);
        return finalized;
      }),

    async appendRemoteCommitChain(chanPoint: OutPoint, diff: CommitDiff) {
      await conn.run([CHANNELS, FWD_PACKAGES, LAST_WAS_REVOKE, COMMIT_DIFFS], 'readwrite', async (tx) => {
        const info = await requireMutable(tx, chanPoint);
        if (diff.addAcks !== undefined && diff.addAcks.length > 0) await ackAddsTx(tx, info.shortChannelId, diff.addAcks);
        if (diff.settleFailAcks !== undefined && diff.settleFailAcks.length > 0) await ackSettleFailsTx(tx, diff.settleFailAcks);
        tx.put(LAST_WAS_REVOKE, opKey(chanPoint), 0);
        const { addAcks: _a, settleFailAcks: _s, ...stored } = diff;
        tx.put(COMMIT_DIFFS, opKey(chanPoint), commitDiffRecord.encode(stored));
      });
    },

    remoteCommitChainTip: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, COMMIT_DIFFS], 'readonly', async (tx) => {
        await requireInfo(tx, chanPoint);
        const bytes = await tx.get<Uint8Array>(COMMIT_DIFFS, opKey(chanPoint));
        if (bytes === undefined) throw noPendingCommit(chanPoint);
        return commitDiffRecord.decode(bytes);
      }),

    unsignedAckedUpdates: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, UNSIGNED_ACKED_UPDATES], 'readonly', async (tx) => (await requireInfo(tx, chanPoint), readUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint))),
    remoteUnsignedLocalUpdates: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, REMOTE_UNSIGNED_LOCAL_UPDATES], 'readonly', async (tx) => (await requireInfo(tx, chanPoint), readUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint))),

    async insertNextRevocation(chanPoint: OutPoint, nextPoint: Hex) {
      await conn.run([CHANNELS, REVOCATION_STATES], 'readwrite', async (tx) => {
        await requireInfo(tx, chanPoint);
        writeRevocation(tx, chanPoint, { ...(await readRevocation(tx, chanPoint)), nextPoint });
      });
    },

    async advanceCommitChainTail(chanPoint: OutPoint, args: AdvanceTailArgs) {
      const stores = [CHANNELS, COMMIT_DIFFS, COMMITMENTS, REVOCATION_STATES, REVOCATION_LOG, FWD_PACKAGES, UNSIGNED_ACKED_UPDATES, REMOTE_UNSIGNED_LOCAL_UPDATES];
      await conn.run(stores, 'readwrite', async (tx) => {
        const key = opKey(chanPoint);
        const [info, tipBytes, revoked, stored, acked] = await Promise.all([
          requireMutable(tx, chanPoint),
          tx.get<Uint8Array>(COMMIT_DIFFS, key),
          readCommitment(tx, chanPoint, REMOTE),
          readRevocation(tx, chanPoint),
          readUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint),
        ]);
        assertHasScid(info.shortChannelId, chanPoint);
        assertPkgSource(args.fwdPkg, info.shortChannelId);
        if (tipBytes === undefined) throw noPendingCommit(chanPoint);
        const tip = commitDiffRecord.decode(tipBytes);
        // Checked before anything is written: a wrong secret changes nothing.
        const revocation = advanceRevocation(chanPoint, stored, revoked.commitHeight, args.revocationSecret, args.nextPoint, ctx.secretToPoint);

        const { ourOutputIndex, theirOutputIndex } = outputIndexesOf(revoked);
        const entry = revocationLogEntryOf(revoked, ourOutputIndex, theirOutputIndex, ctx.balances);
        tx.put(REVOCATION_LOG, [key, revoked.commitHeight], encodeEntry(entry));
        writeCommitment(tx, chanPoint, REMOTE, tip.commitment);
        tx.delete(COMMIT_DIFFS, key);
        writeRevocation(tx, chanPoint, revocation);
        writeFwdPkg(tx, args.fwdPkg);
        writeUpdates(tx, UNSIGNED_ACKED_UPDATES, chanPoint, stillUnsignedAcked(acked, tip.commitment.remoteLogIndex));
        writeUpdates(tx, REMOTE_UNSIGNED_LOCAL_UPDATES, chanPoint, args.remoteUnsignedLocalUpdates);
      });
    },

    commitmentHeight: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, COMMITMENTS], 'readonly', async (tx) => (await requireInfo(tx, chanPoint), (await readCommitment(tx, chanPoint, LOCAL)).commitHeight)),
    latestCommitments: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, COMMITMENTS], 'readonly', async (tx) => {
        await requireInfo(tx, chanPoint);
        const [local, remote] = await Promise.all([readCommitment(tx, chanPoint, LOCAL), readCommitment(tx, chanPoint, REMOTE)]);
        return { local, remote };
      }),
    remoteRevocationStore: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, REVOCATION_STATES], 'readonly', async (tx) => (await requireInfo(tx, chanPoint), readRevocation(tx, chanPoint))),

    revocationLogTailHeight: (chanPoint: OutPoint) =>
      conn.run([CHANNELS, REVOCATION_LOG], 'readonly', async (tx) => {
        await requireInfo(tx, chanPoint);
        const last = await tx.lastKey(REVOCATION_LOG, under(tx.ranges, opKey(chanPoint)));
        return last === undefined ? undefined : heightOf(last);
      }),
    findPreviousState: (chanPoint: OutPoint, commitHeight: number) =>
      conn.run([CHANNELS, REVOCATION_LOG], 'readonly', async (tx) => {
        await requireInfo(tx, chanPoint);
        const bytes = await tx.get<Uint8Array>(REVOCATION_LOG, [opKey(chanPoint), commitHeight]);
        if (bytes === undefined) throw logEntryNotFound(chanPoint, commitHeight);
        return decodeEntry(commitHeight, bytes);
      }),
    fetchRevocationLog: (chanPoint: OutPoint, from: number, limit: number) =>
      conn.run([CHANNELS, REVOCATION_LOG], 'readonly', async (tx) => {
        await requireInfo(tx, chanPoint);
        // IndexedDB reads a count of 0 as "no limit", and takes at most 2^32 - 1.
        if (limit === 0) return [];
        const count = Math.min(limit, 0xffff_ffff);
        const range = numbersUnder(tx.ranges, opKey(chanPoint), from);
        const [keys, values] = await Promise.all([tx.getAllKeys(REVOCATION_LOG, range, count), tx.getAll<Uint8Array>(REVOCATION_LOG, range, count)]);
        return keys.map((k, i) => decodeEntry(heightOf(k), values[i]!));
      }),
  };
}
