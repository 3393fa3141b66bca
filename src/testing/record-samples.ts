/**
 * One representative value per channel-state record schema, keyed by schema name, with
 * every optional field set. Used by the record-level conformance checks.
 */
import { newFwdPkg, newPkgFilter, withBit } from '../chanstate/pkg-filter.js';
import { revocationBlockRecord, type ChannelInfo, type StoredRevocationLogEntry } from '../chanstate/records.js';
import { storeInOpen } from '../chanstate/revocation-blocks.js';
import { ClosureType, FwdState, OpeningStage, type OpenChannel } from '../chanstate/types.js';
import {
  detBytes,
  legacyTxid,
  makeChannel,
  makeCloseSummary,
  makeCommitment,
  makeExternalFunding,
  makeExternallyFunded,
  makeHtlc,
  makeLogUpdate,
  modelOf,
  planRound,
  pubkeyOf,
} from './fixtures.js';

/** The info record part of a channel (what channelInfoRecord stores). */
export function channelInfoOf(channel: OpenChannel): ChannelInfo {
  const { localCommitment: _l, remoteCommitment: _r, remoteRevocation: _v, lastWasRevoke: _w, externalFunding: _e, ...info } = channel;
  return info;
}

/** A sample value for every schema in CHANSTATE_RECORDS, by schema name. */
export function recordSamples(): Record<string, unknown> {
  const channel = makeChannel(2, { realScid: 0x0c_5a00_0001_0000n, closeConfirmationHeight: 900_000, remoteShutdownScript: detBytes('rss', 22) });
  const plan = planRound(modelOf(channel), { settle: [0], ourAdds: 1, remoteAdds: 2, remoteFails: [1] });
  const pkg = newFwdPkg(channel.shortChannelId, 4, plan.advance.fwdPkg.adds, plan.advance.fwdPkg.settleFails);
  const storedEntry: StoredRevocationLogEntry = {
    ourOutputIndex: 0,
    theirOutputIndex: 0xffff,
    commitTxid: legacyTxid(channel.remoteCommitment.commitTx),
    ourBalanceMsat: 1n,
    theirBalanceMsat: 2n ** 63n,
    htlcs: [{ paymentHash: 'ab'.repeat(32), refundTimeout: 800_100, outputIndex: 3, incoming: false, amountSat: 20_000n, htlcIndex: 9 }],
  };
  return {
    OutPoint: channel.fundingOutpoint,
    KeyLocator: { family: 6, index: 2 ** 32 - 1 },
    KeyDescriptor: channel.localConfig.multiSigKey,
    ChannelConfig: channel.localConfig,
    Htlc: makeHtlc('sample', { outputIndex: -1, extraData: Uint8Array.of(1, 2, 3) }),
    ChannelCommitment: makeCommitment(7, 4, { seed: 'sample', dust: 2, customBlob: Uint8Array.of(9) }),
    LogUpdate: makeLogUpdate('add', 12, 3),
    LogUpdateList: { updates: [makeLogUpdate('settle', 1, 1), makeLogUpdate('fail', 2, 2)] },
    CircuitKey: { channel: channel.shortChannelId, htlcId: 2 ** 53 - 1 },
    CommitDiff: plan.tip,
    PkgFilter: withBit(newPkgFilter(11), 10),
    FwdPkg: { ...pkg, state: FwdState.Processed, fwdFilter: withBit(newPkgFilter(2), 1) },
    ChannelCloseSummary: makeCloseSummary(channel, { closeType: ClosureType.Breach }),
    ShutdownInfo: { deliveryScript: detBytes('delivery', 34), closer: 'remote' },
    HtlcEntry: { paymentHash: 'cd'.repeat(32), refundTimeout: 1, outputIndex: 0, incoming: true, amountSat: 0n, htlcIndex: 0 },
    RevocationLogEntry: storedEntry,
    // An open block (both optional fields set) of two states sharing an HTLC.
    RevocationBlock: revocationBlockRecord.decode(
      storeInOpen(storeInOpen(undefined, { commitHeight: 7, ...storedEntry, htlcs: storedEntry.htlcs ?? [] }, 4000)!.open, { commitHeight: 8, ...storedEntry, ourBalanceMsat: 5n, htlcs: storedEntry.htlcs ?? [] }, 4000)!.open,
    ),
    ShachainEntry: { index: 2n ** 48n - 1n, secret: detBytes('secret', 32) },
    RemoteRevocationState: plan.next.revocation,
    ExternalFundingState: { ...makeExternalFunding(2), submitted: true, signedTx: makeExternallyFunded(2).signedTx },
    ChannelInfo: channelInfoOf(channel),
    ArchivedChannel: {
      info: channelInfoOf(channel),
      localCommitment: channel.localCommitment,
      remoteCommitment: channel.remoteCommitment,
      remoteRevocation: { secrets: [{ index: 5n, secret: detBytes('s', 32) }], nextPoint: pubkeyOf('np') },
      lastWasRevoke: true,
    },
    ChannelOpeningState: { stage: OpeningStage.AddedToGraph, shortChannelId: channel.shortChannelId },
    ForwardingPolicy: { minHtlcMsat: 1_000n, maxHtlcMsat: 2n ** 64n - 1n, baseFeeMsat: 0n, feeRatePpm: 2 ** 32 - 1, timeLockDelta: 65_535 },
  };
}
