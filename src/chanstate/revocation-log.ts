/**
 * Building the compact revocation log entry of a revoked remote commitment.
 */
import { computeTxid } from '../bitcoin/txid.js';
import type { RevocableCommitment } from './records.js';
import type { RevocationLogEntry } from './types.js';

/**
 * The revocation log entry for `commitment` (the remote commitment being revoked). Dust
 * HTLCs (output index -1) are skipped: they have no output to punish. Balances are kept
 * unless `withBalances` is false (a watchtower needs them to back up the state).
 */
export function revocationLogEntryOf(
  commitment: RevocableCommitment,
  ourOutputIndex: number,
  theirOutputIndex: number,
  withBalances: boolean,
): RevocationLogEntry {
  const htlcs = commitment.htlcs
    .filter((h) => h.outputIndex >= 0)
    .map((h) => ({
      paymentHash: h.paymentHash,
      refundTimeout: h.refundTimeout,
      outputIndex: h.outputIndex,
      incoming: h.incoming,
      amountSat: h.amountMsat / 1000n,
      htlcIndex: h.htlcIndex,
    }));
  const entry: RevocationLogEntry = {
    commitHeight: commitment.commitHeight,
    ourOutputIndex,
    theirOutputIndex,
    commitTxid: computeTxid(commitment.commitTx),
    htlcs,
  };
  if (!withBalances) return entry;
  return { ...entry, ourBalanceMsat: commitment.localBalanceMsat, theirBalanceMsat: commitment.remoteBalanceMsat };
}
