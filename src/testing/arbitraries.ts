/**
 * fast-check arbitraries for the channel-state domain types, keyed (in RECORD_ARBITRARIES)
 * by the name of the record schema that persists them. Values span each field's whole
 * persisted range (u64 amounts, 53-bit indexes, -1 output indexes, empty byte strings) and
 * leave optional fields out as often as they set them.
 */
import fc from 'fast-check';
import type { ChannelInfo, RevocationBlockFields, StoredRevocationLogEntry } from '../chanstate/records.js';
import type {
  ChannelCloseSummary,
  ChannelCommitment,
  ChannelConfig,
  ChannelOpeningState,
  ChannelParty,
  CircuitKey,
  CommitDiff,
  ExternalFundingState,
  ForwardingPolicy,
  FwdPkg,
  FwdState,
  Htlc,
  HtlcEntry,
  KeyDescriptor,
  KeyLocator,
  LogUpdate,
  OpenChannel,
  OutPoint,
  PkgFilter,
  RemoteRevocationState,
  ShachainEntry,
  ShutdownInfo,
  ClosureType,
  OpeningStage,
} from '../chanstate/types.js';
import { bytesToHex } from '../codec/bytes.js';

/** One arbitrary per property of T (optional ones included, without their undefined). */
type Model<T> = { readonly [K in keyof T]-?: fc.Arbitrary<Exclude<T[K], undefined>> };

/** A record arbitrary whose `optional` keys are sometimes absent (never present-but-undefined). */
function recordOf<T>(model: Model<T>, optional: readonly (keyof T & string)[] = []): fc.Arbitrary<T> {
  const requiredKeys = Object.keys(model).filter((k) => !(optional as readonly string[]).includes(k));
  return fc.record(model as Record<string, fc.Arbitrary<unknown>>, { requiredKeys, noNullPrototype: true }) as unknown as fc.Arbitrary<T>;
}

const MAX_U64 = 2n ** 64n - 1n;

/** Primitive arbitraries matching the field codecs of codec/record.ts. */
export const prim = {
  u8: fc.integer({ min: 0, max: 0xff }),
  u16: fc.integer({ min: 0, max: 0xffff }),
  u32: fc.integer({ min: 0, max: 0xffff_ffff }),
  i32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  /** Safe integers, biased to small values and the 2^53 edge. */
  u53: fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.constantFrom(0, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()),
  u64: fc.oneof(fc.constantFrom(0n, 1n, MAX_U64), fc.bigInt({ min: 0n, max: MAX_U64 })),
  bool: fc.boolean(),
  bytes: fc.uint8Array({ maxLength: 80 }),
  hex: (length: number) => fc.uint8Array({ minLength: length, maxLength: length }).map(bytesToHex),
};

const hex32 = prim.hex(32);
const hex33 = prim.hex(33);
const list = <T>(arb: fc.Arbitrary<T>, maxLength = 3) => fc.array(arb, { maxLength });

/** Arbitrary outPoint values (optional fields sometimes absent). */
export const outPointArb = recordOf<OutPoint>({ txid: hex32, index: prim.u32 });
/** Arbitrary keyLocator values (optional fields sometimes absent). */
export const keyLocatorArb = recordOf<KeyLocator>({ family: prim.u32, index: prim.u32 });
/** Arbitrary keyDescriptor values (optional fields sometimes absent). */
export const keyDescriptorArb = recordOf<KeyDescriptor>({ pubkey: hex33, locator: keyLocatorArb }, ['locator']);

/** Arbitrary channelConfig values (optional fields sometimes absent). */
export const channelConfigArb = recordOf<ChannelConfig>({
  chanReserveSat: prim.u64,
  maxPendingAmountMsat: prim.u64,
  minHtlcMsat: prim.u64,
  maxAcceptedHtlcs: prim.u16,
  dustLimitSat: prim.u64,
  csvDelay: prim.u16,
  multiSigKey: keyDescriptorArb,
  revocationBasePoint: keyDescriptorArb,
  paymentBasePoint: keyDescriptorArb,
  delayBasePoint: keyDescriptorArb,
  htlcBasePoint: keyDescriptorArb,
});

/** Arbitrary htlc values (optional fields sometimes absent). */
export const htlcArb = recordOf<Htlc>(
  {
    signature: prim.bytes,
    paymentHash: hex32,
    amountMsat: prim.u64,
    refundTimeout: prim.u32,
    outputIndex: fc.oneof(fc.constant(-1), prim.i32),
    incoming: prim.bool,
    onionBlob: prim.bytes,
    htlcIndex: prim.u53,
    logIndex: prim.u53,
    extraData: prim.bytes,
  },
  ['extraData'],
);

/** Arbitrary commitment values (optional fields sometimes absent). */
export const commitmentArb = recordOf<ChannelCommitment>(
  {
    commitHeight: prim.u53,
    localLogIndex: prim.u53,
    localHtlcIndex: prim.u53,
    remoteLogIndex: prim.u53,
    remoteHtlcIndex: prim.u53,
    localBalanceMsat: prim.u64,
    remoteBalanceMsat: prim.u64,
    commitFeeSat: prim.u64,
    feePerKw: prim.u64,
    commitTx: prim.bytes,
    commitSig: prim.bytes,
    htlcs: list(htlcArb),
    customBlob: prim.bytes,
    localOutputIndex: fc.integer({ min: 0, max: 0xffff }),
    remoteOutputIndex: fc.integer({ min: 0, max: 0xffff }),
  },
  ['customBlob', 'localOutputIndex', 'remoteOutputIndex'],
);

/** Arbitrary logUpdate values (optional fields sometimes absent). */
export const logUpdateArb = recordOf<LogUpdate>({ logIndex: prim.u53, message: prim.bytes });
/** Arbitrary circuitKey values (optional fields sometimes absent). */
export const circuitKeyArb = recordOf<CircuitKey>({ channel: prim.u64, htlcId: prim.u53 });

/** A CommitDiff as stored: without the ack lists, which are never persisted. */
export const commitDiffArb = recordOf<CommitDiff>(
  {
    commitment: commitmentArb,
    logUpdates: list(logUpdateArb),
    commitSig: prim.bytes,
    openedCircuitKeys: list(circuitKeyArb),
    closedCircuitKeys: list(circuitKeyArb),
    addAcks: fc.constant([]),
    settleFailAcks: fc.constant([]),
  },
  ['addAcks', 'settleFailAcks'],
).map(({ addAcks: _a, settleFailAcks: _s, ...stored }) => stored as CommitDiff);

/** Arbitrary pkgFilter values (optional fields sometimes absent). */
export const pkgFilterArb = recordOf<PkgFilter>({ count: prim.u16, bits: prim.bytes });

/** Arbitrary fwdPkg values (optional fields sometimes absent). */
export const fwdPkgArb = recordOf<FwdPkg>(
  {
    source: prim.u64,
    height: prim.u53,
    state: fc.constantFrom<FwdState>(0, 1, 2),
    adds: list(logUpdateArb),
    settleFails: list(logUpdateArb),
    fwdFilter: pkgFilterArb,
    ackFilter: pkgFilterArb,
    settleFailFilter: pkgFilterArb,
  },
  ['fwdFilter'],
);

/** Arbitrary closeSummary values (optional fields sometimes absent). */
export const closeSummaryArb = recordOf<ChannelCloseSummary>(
  {
    chanPoint: outPointArb,
    shortChannelId: prim.u64,
    chainHash: hex32,
    closingTxid: hex32,
    remotePub: hex33,
    capacitySat: prim.u64,
    closeHeight: prim.u32,
    settledBalanceSat: prim.u64,
    timeLockedBalanceSat: prim.u64,
    closeType: fc.constantFrom<ClosureType>(0, 1, 2, 3, 4, 5),
    isPending: prim.bool,
    remoteCurrentRevocation: hex33,
    remoteNextRevocation: hex33,
    localConfig: channelConfigArb,
    lastChanSyncMsg: prim.bytes,
  },
  ['remoteCurrentRevocation', 'remoteNextRevocation', 'lastChanSyncMsg'],
);

/** Arbitrary shutdownInfo values (optional fields sometimes absent). */
export const shutdownInfoArb = recordOf<ShutdownInfo>({ deliveryScript: prim.bytes, closer: fc.constantFrom<ChannelParty>('local', 'remote') });

/** Arbitrary htlcEntry values (optional fields sometimes absent). */
export const htlcEntryArb = recordOf<HtlcEntry>(
  { paymentHash: hex32, refundTimeout: prim.u53, outputIndex: prim.u53, incoming: prim.bool, amountSat: prim.u64, htlcIndex: prim.u53 },
  ['htlcIndex'],
);

/** Arbitrary storedRevocationLogEntry values (optional fields sometimes absent). */
export const storedRevocationLogEntryArb = recordOf<StoredRevocationLogEntry>(
  {
    ourOutputIndex: prim.u53,
    theirOutputIndex: prim.u53,
    commitTxid: hex32,
    ourBalanceMsat: prim.u64,
    theirBalanceMsat: prim.u64,
    htlcs: list(htlcEntryArb),
  },
  ['ourBalanceMsat', 'theirBalanceMsat', 'htlcs'],
);

/** Arbitrary revocation block shells (the record's TLV fields; their byte layouts are revocation-blocks.ts'). */
export const revocationBlockArb = recordOf<RevocationBlockFields>(
  { count: prim.u53, firstHeight: prim.u53, htlcs: prim.bytes, states: prim.bytes, tail: prim.bytes },
  ['firstHeight', 'tail'],
);

/** Arbitrary shachainEntry values (optional fields sometimes absent). */
export const shachainEntryArb = recordOf<ShachainEntry>({ index: prim.u64, secret: prim.bytes });

/** Arbitrary remoteRevocation values (optional fields sometimes absent). */
export const remoteRevocationArb = recordOf<RemoteRevocationState>(
  { secrets: list(shachainEntryArb), currentPoint: hex33, nextPoint: hex33 },
  ['currentPoint', 'nextPoint'],
);

/** Arbitrary externalFunding values (optional fields sometimes absent). */
export const externalFundingArb = recordOf<ExternalFundingState>(
  { unsignedPsbt: prim.bytes, deadlineMs: prim.u53, submitted: prim.bool, signedTx: prim.bytes },
  ['signedTx'],
);

/** Arbitrary channelInfo values (optional fields sometimes absent). */
export const channelInfoArb = recordOf<ChannelInfo>(
  {
    chanType: prim.u53,
    chainHash: hex32,
    fundingOutpoint: outPointArb,
    shortChannelId: prim.u64,
    realScid: prim.u64,
    isPending: prim.bool,
    isInitiator: prim.bool,
    status: prim.u53,
    fundingBroadcastHeight: prim.u32,
    confirmationHeight: prim.u32,
    closeConfirmationHeight: prim.u32,
    numConfsRequired: prim.u16,
    channelFlags: prim.u8,
    identityPub: hex33,
    capacitySat: prim.u64,
    totalMsatSent: prim.u64,
    totalMsatReceived: prim.u64,
    initialLocalBalanceMsat: prim.u64,
    initialRemoteBalanceMsat: prim.u64,
    localConfig: channelConfigArb,
    remoteConfig: channelConfigArb,
    revocationKeyLocator: keyLocatorArb,
    fundingTx: prim.bytes,
    localShutdownScript: prim.bytes,
    remoteShutdownScript: prim.bytes,
    thawHeight: prim.u32,
    memo: prim.bytes,
  },
  ['realScid', 'closeConfirmationHeight', 'fundingTx', 'localShutdownScript', 'remoteShutdownScript', 'memo'],
);

/** Arbitrary archivedChannel values (optional fields sometimes absent). */
export const archivedChannelArb = fc.record(
  {
    info: channelInfoArb,
    localCommitment: commitmentArb,
    remoteCommitment: commitmentArb,
    remoteRevocation: remoteRevocationArb,
    lastWasRevoke: prim.bool,
  },
  { noNullPrototype: true },
);

/** A whole OpenChannel (not a record itself; its parts are). */
export const openChannelArb: fc.Arbitrary<OpenChannel> = fc
  .tuple(archivedChannelArb, fc.option(externalFundingArb, { nil: undefined }))
  .map(([a, external]) => {
    const channel: OpenChannel = {
      ...a.info,
      localCommitment: a.localCommitment,
      remoteCommitment: a.remoteCommitment,
      remoteRevocation: a.remoteRevocation,
      lastWasRevoke: a.lastWasRevoke,
    };
    return external === undefined ? channel : { ...channel, externalFunding: external };
  });

/** Arbitrary openingState values (optional fields sometimes absent). */
export const openingStateArb = recordOf<ChannelOpeningState>({ stage: fc.constantFrom<OpeningStage>(0, 1, 2), shortChannelId: prim.u64 });

/** Arbitrary forwardingPolicy values (optional fields sometimes absent). */
export const forwardingPolicyArb = recordOf<ForwardingPolicy>({
  minHtlcMsat: prim.u64,
  maxHtlcMsat: prim.u64,
  baseFeeMsat: prim.u64,
  feeRatePpm: prim.u32,
  timeLockDelta: prim.u16,
});

/** An arbitrary for every schema in CHANSTATE_RECORDS, by schema name. */
export const RECORD_ARBITRARIES: Readonly<Record<string, fc.Arbitrary<unknown>>> = {
  OutPoint: outPointArb,
  KeyLocator: keyLocatorArb,
  KeyDescriptor: keyDescriptorArb,
  ChannelConfig: channelConfigArb,
  Htlc: htlcArb,
  ChannelCommitment: commitmentArb,
  LogUpdate: logUpdateArb,
  LogUpdateList: fc.record({ updates: list(logUpdateArb, 5) }, { noNullPrototype: true }),
  CircuitKey: circuitKeyArb,
  CommitDiff: commitDiffArb,
  PkgFilter: pkgFilterArb,
  FwdPkg: fwdPkgArb,
  ChannelCloseSummary: closeSummaryArb,
  ShutdownInfo: shutdownInfoArb,
  HtlcEntry: htlcEntryArb,
  RevocationLogEntry: storedRevocationLogEntryArb,
  RevocationBlock: revocationBlockArb,
  ShachainEntry: shachainEntryArb,
  RemoteRevocationState: remoteRevocationArb,
  ExternalFundingState: externalFundingArb,
  ChannelInfo: channelInfoArb,
  ArchivedChannel: archivedChannelArb,
  ChannelOpeningState: openingStateArb,
  ForwardingPolicy: forwardingPolicyArb,
};
