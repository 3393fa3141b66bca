/**
 * Persisted record schemas of channel state, shared by every backend that stores records
 * as bytes (the KV backends, and the opaque columns of the SQL backends).
 *
 * Field types follow BOLT 1 parity: even = required, odd = optional. Never renumber or
 * reuse a type: add a new optional (odd) field, or bump the record version and write a
 * migration. The schema fingerprint test lists every table below.
 */
import { ByteReader } from '../codec/bytes.js';
import { field, RecordSchema, type FieldCodec } from '../codec/record.js';
import { decodeTlvStream } from '../codec/tlv.js';
import { DecodeError } from '../errors.js';
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
  Htlc,
  HtlcEntry,
  KeyDescriptor,
  KeyLocator,
  LogUpdate,
  OpenChannel,
  OutPoint,
  PkgFilter,
  RemoteRevocationState,
  RevocationLogEntry,
  ShachainEntry,
  ShutdownInfo,
} from './types.js';

const hex32 = field.hex(32);
const hex33 = field.hex(33);

/** A UTF-8 string field. */
export const utf8: FieldCodec<string> = {
  kind: 'utf8',
  write: (w, v) => w.bytes(new TextEncoder().encode(v)),
  read: (r) => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(r.rest());
    } catch (err) {
      throw new DecodeError('invalid UTF-8', { cause: err });
    }
  },
};

/** A closed set of string values stored as u8 codes (the array index). */
export function enumCodec<T extends string>(kind: string, values: readonly T[]): FieldCodec<T> {
  return {
    kind,
    write: (w, v) => {
      const code = values.indexOf(v);
      if (code < 0) throw new RangeError(`expected one of ${values.join('|')}, got ${String(v)}`);
      w.u8(code);
    },
    read: (r) => {
      const code = r.u8();
      const value = values[code];
      if (value === undefined) throw new DecodeError(`unknown ${kind} code ${code}`);
      return value;
    },
  };
}

/** A number restricted to a known set of values (persisted enums such as FwdState). */
function numericEnum(kind: string, max: number): FieldCodec<number> {
  return {
    kind,
    write: (w, v) => {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`expected ${kind} in 0..${max}, got ${v}`);
      w.u8(v);
    },
    read: (r) => {
      const v = r.u8();
      if (v > max) throw new DecodeError(`unknown ${kind} ${v}`);
      return v;
    },
  };
}

const partyCodec = enumCodec<ChannelParty>('party', ['local', 'remote']);

export const outPointRecord = new RecordSchema<OutPoint>('OutPoint', [
  { type: 0, name: 'txid', codec: hex32 },
  { type: 2, name: 'index', codec: field.u32 },
]);

export const keyLocatorRecord = new RecordSchema<KeyLocator>('KeyLocator', [
  { type: 0, name: 'family', codec: field.u32 },
  { type: 2, name: 'index', codec: field.u32 },
]);

export const keyDescriptorRecord = new RecordSchema<KeyDescriptor>('KeyDescriptor', [
  { type: 0, name: 'pubkey', codec: hex33 },
  { type: 1, name: 'locator', codec: field.record(keyLocatorRecord) },
]);

const keyDescriptor = field.record(keyDescriptorRecord);

export const channelConfigRecord = new RecordSchema<ChannelConfig>('ChannelConfig', [
  { type: 0, name: 'chanReserveSat', codec: field.amount },
  { type: 2, name: 'maxPendingAmountMsat', codec: field.amount },
  { type: 4, name: 'minHtlcMsat', codec: field.amount },
  { type: 6, name: 'maxAcceptedHtlcs', codec: field.u16 },
  { type: 8, name: 'dustLimitSat', codec: field.amount },
  { type: 10, name: 'csvDelay', codec: field.u16 },
  { type: 12, name: 'multiSigKey', codec: keyDescriptor },
  { type: 14, name: 'revocationBasePoint', codec: keyDescriptor },
  { type: 16, name: 'paymentBasePoint', codec: keyDescriptor },
  { type: 18, name: 'delayBasePoint', codec: keyDescriptor },
  { type: 20, name: 'htlcBasePoint', codec: keyDescriptor },
]);

export const htlcRecord = new RecordSchema<Htlc>('Htlc', [
  { type: 0, name: 'signature', codec: field.bytes },
  { type: 2, name: 'paymentHash', codec: hex32 },
  { type: 4, name: 'amountMsat', codec: field.amount },
  { type: 6, name: 'refundTimeout', codec: field.u32 },
  { type: 8, name: 'outputIndex', codec: field.i32 },
  { type: 10, name: 'incoming', codec: field.bool },
  { type: 12, name: 'onionBlob', codec: field.bytes },
  { type: 14, name: 'htlcIndex', codec: field.tu53 },
  { type: 16, name: 'logIndex', codec: field.tu53 },
  { type: 17, name: 'extraData', codec: field.bytes },
]);

export const commitmentRecord = new RecordSchema<ChannelCommitment>('ChannelCommitment', [
  { type: 0, name: 'commitHeight', codec: field.tu53 },
  { type: 2, name: 'localLogIndex', codec: field.tu53 },
  { type: 4, name: 'localHtlcIndex', codec: field.tu53 },
  { type: 6, name: 'remoteLogIndex', codec: field.tu53 },
  { type: 8, name: 'remoteHtlcIndex', codec: field.tu53 },
  { type: 10, name: 'localBalanceMsat', codec: field.amount },
  { type: 12, name: 'remoteBalanceMsat', codec: field.amount },
  { type: 14, name: 'commitFeeSat', codec: field.amount },
  { type: 16, name: 'feePerKw', codec: field.amount },
  { type: 18, name: 'commitTx', codec: field.bytes },
  { type: 20, name: 'commitSig', codec: field.bytes },
  { type: 22, name: 'htlcs', codec: field.list(field.record(htlcRecord)) },
  { type: 23, name: 'customBlob', codec: field.bytes },
  // Added in schema 2 (odd: older records lack them; the revocation log then has no main output indexes).
  { type: 25, name: 'localOutputIndex', codec: field.u16 },
  { type: 27, name: 'remoteOutputIndex', codec: field.u16 },
]);

/** An HTLC as a revocation log entry needs it (no signature, onion or extra data). */
export type RevocableHtlc = Pick<Htlc, 'paymentHash' | 'amountMsat' | 'refundTimeout' | 'outputIndex' | 'incoming' | 'htlcIndex'>;

/** A commitment as a revocation log entry needs it: what revocationLogEntryOf reads. */
export type RevocableCommitment = Pick<ChannelCommitment, 'commitHeight' | 'localBalanceMsat' | 'remoteBalanceMsat' | 'commitTx' | 'localOutputIndex' | 'remoteOutputIndex'> & {
  readonly htlcs: readonly RevocableHtlc[];
};

const REVOCABLE_FIELDS: ReadonlySet<string> = new Set(['commitHeight', 'localBalanceMsat', 'remoteBalanceMsat', 'commitTx', 'localOutputIndex', 'remoteOutputIndex']);
const REVOCABLE_HTLC_FIELDS: ReadonlySet<string> = new Set(['paymentHash', 'amountMsat', 'refundTimeout', 'outputIndex', 'incoming', 'htlcIndex']);
const HTLCS_TYPE = 22n;

/**
 * Decodes from a stored ChannelCommitment record only what its revocation log entry needs,
 * skipping signatures, onions and extra data (the commitment being revoked, on every payment
 * round). The same validation as a full decode of those fields; DECODE_FAILED if malformed.
 */
export function decodeRevocableCommitment(bytes: Uint8Array): RevocableCommitment {
  const head = commitmentRecord.decode(bytes, REVOCABLE_FIELDS) as Omit<RevocableCommitment, 'htlcs'>;
  const htlcs: RevocableHtlc[] = [];
  const list = decodeTlvStream(bytes.subarray(2)).find((r) => r.type === HTLCS_TYPE)?.value;
  if (list === undefined) throw new DecodeError('ChannelCommitment: required field htlcs (type 22) is missing');
  const r = new ByteReader(list);
  const count = r.bigSize();
  if (count > BigInt(r.remaining)) throw new DecodeError(`ChannelCommitment.htlcs: list claims ${count} elements in ${r.remaining} bytes`);
  for (let i = 0n; i < count; i++) htlcs.push(htlcRecord.decodeBody(r.varBytes(), REVOCABLE_HTLC_FIELDS));
  r.expectDone('ChannelCommitment.htlcs');
  return { ...head, htlcs };
}

export const logUpdateRecord = new RecordSchema<LogUpdate>('LogUpdate', [
  { type: 0, name: 'logIndex', codec: field.tu53 },
  { type: 2, name: 'message', codec: field.bytes },
]);

/** A list of log updates, as stored under the unsigned-updates keys. */
export const logUpdateListRecord = new RecordSchema<{ updates: readonly LogUpdate[] }>('LogUpdateList', [
  { type: 0, name: 'updates', codec: field.list(field.record(logUpdateRecord)) },
]);

export const circuitKeyRecord = new RecordSchema<CircuitKey>('CircuitKey', [
  { type: 0, name: 'channel', codec: field.u64 },
  { type: 2, name: 'htlcId', codec: field.tu53 },
]);

/** CommitDiff without its ack lists, which are applied at append time and never stored. */
export const commitDiffRecord = new RecordSchema<CommitDiff>('CommitDiff', [
  { type: 0, name: 'commitment', codec: field.record(commitmentRecord) },
  { type: 2, name: 'logUpdates', codec: field.list(field.record(logUpdateRecord)) },
  { type: 4, name: 'commitSig', codec: field.bytes },
  { type: 6, name: 'openedCircuitKeys', codec: field.list(field.record(circuitKeyRecord)) },
  { type: 8, name: 'closedCircuitKeys', codec: field.list(field.record(circuitKeyRecord)) },
]);

export const pkgFilterRecord = new RecordSchema<PkgFilter>('PkgFilter', [
  { type: 0, name: 'count', codec: field.u16 },
  { type: 2, name: 'bits', codec: field.bytes },
]);

export const fwdPkgRecord = new RecordSchema<FwdPkg>('FwdPkg', [
  { type: 0, name: 'source', codec: field.u64 },
  { type: 2, name: 'height', codec: field.tu53 },
  { type: 4, name: 'state', codec: numericEnum('FwdState', 2) },
  { type: 6, name: 'adds', codec: field.list(field.record(logUpdateRecord)) },
  { type: 8, name: 'settleFails', codec: field.list(field.record(logUpdateRecord)) },
  { type: 10, name: 'ackFilter', codec: field.record(pkgFilterRecord) },
  { type: 12, name: 'settleFailFilter', codec: field.record(pkgFilterRecord) },
  { type: 13, name: 'fwdFilter', codec: field.record(pkgFilterRecord) },
]);

export const closeSummaryRecord = new RecordSchema<ChannelCloseSummary>('ChannelCloseSummary', [
  { type: 0, name: 'chanPoint', codec: field.record(outPointRecord) },
  { type: 2, name: 'shortChannelId', codec: field.u64 },
  { type: 4, name: 'chainHash', codec: hex32 },
  { type: 6, name: 'closingTxid', codec: hex32 },
  { type: 8, name: 'remotePub', codec: hex33 },
  { type: 10, name: 'capacitySat', codec: field.amount },
  { type: 12, name: 'closeHeight', codec: field.u32 },
  { type: 14, name: 'settledBalanceSat', codec: field.amount },
  { type: 16, name: 'timeLockedBalanceSat', codec: field.amount },
  { type: 18, name: 'closeType', codec: numericEnum('ClosureType', 5) },
  { type: 20, name: 'isPending', codec: field.bool },
  { type: 22, name: 'localConfig', codec: field.record(channelConfigRecord) },
  { type: 23, name: 'remoteCurrentRevocation', codec: hex33 },
  { type: 25, name: 'remoteNextRevocation', codec: hex33 },
  { type: 27, name: 'lastChanSyncMsg', codec: field.bytes },
]);

export const shutdownInfoRecord = new RecordSchema<ShutdownInfo>('ShutdownInfo', [
  { type: 0, name: 'deliveryScript', codec: field.bytes },
  { type: 2, name: 'closer', codec: partyCodec },
]);

export const htlcEntryRecord = new RecordSchema<HtlcEntry>('HtlcEntry', [
  { type: 0, name: 'paymentHash', codec: hex32 },
  { type: 2, name: 'refundTimeout', codec: field.tu53 },
  { type: 4, name: 'outputIndex', codec: field.tu53 },
  { type: 6, name: 'incoming', codec: field.bool },
  { type: 8, name: 'amountSat', codec: field.amount },
  { type: 9, name: 'htlcIndex', codec: field.tu53 },
]);

/** The stored form of a revocation log entry: its height is the key, not part of the value. */
export type StoredRevocationLogEntry = Omit<RevocationLogEntry, 'commitHeight' | 'htlcs'> & {
  /** Omitted when there are no HTLCs, which keeps the common entry small. */
  readonly htlcs?: readonly HtlcEntry[];
};

export const revocationLogRecord = new RecordSchema<StoredRevocationLogEntry>('RevocationLogEntry', [
  { type: 0, name: 'ourOutputIndex', codec: field.tu53 },
  { type: 2, name: 'theirOutputIndex', codec: field.tu53 },
  { type: 4, name: 'commitTxid', codec: hex32 },
  { type: 5, name: 'ourBalanceMsat', codec: field.amount },
  { type: 7, name: 'theirBalanceMsat', codec: field.amount },
  { type: 9, name: 'htlcs', codec: field.list(field.record(htlcEntryRecord)) },
]);

/** The stored shape of a revocation block (chanstate/revocation-blocks.ts, which defines the byte layouts). */
export interface RevocationBlockFields {
  readonly count: number;
  /** Open form only. */
  readonly firstHeight?: number;
  readonly htlcs: Uint8Array;
  readonly states: Uint8Array;
  /** Open form only. */
  readonly tail?: Uint8Array;
}

/**
 * Opaque bytes whose inner layout is named by `kind` (so the fingerprint names the layout's
 * version). Decoded as a view into the record's bytes, not a copy: a block is decoded on
 * every payment round, read and never changed.
 */
function layoutBytes(kind: string): FieldCodec<Uint8Array> {
  return { kind, write: (w, v) => w.bytes(v), read: (r) => r.rest() };
}

/** A block of revoked states: see chanstate/revocation-blocks.ts for the layouts of its byte fields. */
export const revocationBlockRecord = new RecordSchema<RevocationBlockFields>('RevocationBlock', [
  { type: 0, name: 'count', codec: field.tu53 },
  { type: 1, name: 'firstHeight', codec: field.tu53 },
  { type: 2, name: 'htlcs', codec: layoutBytes('revocation-htlc-dictionary/1') },
  { type: 4, name: 'states', codec: layoutBytes('revoked-states/1') },
  { type: 5, name: 'tail', codec: layoutBytes('revoked-state-tail/1') },
]);

export const shachainEntryRecord = new RecordSchema<ShachainEntry>('ShachainEntry', [
  { type: 0, name: 'index', codec: field.tu64 },
  { type: 2, name: 'secret', codec: field.bytes },
]);

export const remoteRevocationRecord = new RecordSchema<RemoteRevocationState>('RemoteRevocationState', [
  { type: 0, name: 'secrets', codec: field.list(field.record(shachainEntryRecord)) },
  { type: 1, name: 'currentPoint', codec: hex33 },
  { type: 3, name: 'nextPoint', codec: hex33 },
]);

export const externalFundingRecord = new RecordSchema<ExternalFundingState>('ExternalFundingState', [
  { type: 0, name: 'unsignedPsbt', codec: field.bytes },
  { type: 2, name: 'deadlineMs', codec: field.tu53 },
  { type: 4, name: 'submitted', codec: field.bool },
  { type: 5, name: 'signedTx', codec: field.bytes },
]);

/** The parts of an OpenChannel stored in its info record; the rest lives under its own keys. */
export type ChannelInfo = Omit<
  OpenChannel,
  'localCommitment' | 'remoteCommitment' | 'remoteRevocation' | 'lastWasRevoke' | 'externalFunding'
>;

export const channelInfoRecord = new RecordSchema<ChannelInfo>('ChannelInfo', [
  { type: 0, name: 'chanType', codec: field.tu53 },
  { type: 2, name: 'chainHash', codec: hex32 },
  { type: 4, name: 'fundingOutpoint', codec: field.record(outPointRecord) },
  { type: 6, name: 'shortChannelId', codec: field.u64 },
  { type: 8, name: 'isPending', codec: field.bool },
  { type: 10, name: 'isInitiator', codec: field.bool },
  { type: 12, name: 'status', codec: field.tu53 },
  { type: 14, name: 'fundingBroadcastHeight', codec: field.u32 },
  { type: 16, name: 'confirmationHeight', codec: field.u32 },
  { type: 18, name: 'numConfsRequired', codec: field.u16 },
  { type: 20, name: 'channelFlags', codec: field.u8 },
  { type: 22, name: 'identityPub', codec: hex33 },
  { type: 24, name: 'capacitySat', codec: field.amount },
  { type: 26, name: 'totalMsatSent', codec: field.amount },
  { type: 28, name: 'totalMsatReceived', codec: field.amount },
  { type: 30, name: 'initialLocalBalanceMsat', codec: field.amount },
  { type: 32, name: 'initialRemoteBalanceMsat', codec: field.amount },
  { type: 34, name: 'localConfig', codec: field.record(channelConfigRecord) },
  { type: 36, name: 'remoteConfig', codec: field.record(channelConfigRecord) },
  { type: 38, name: 'revocationKeyLocator', codec: field.record(keyLocatorRecord) },
  { type: 40, name: 'thawHeight', codec: field.u32 },
  { type: 41, name: 'realScid', codec: field.u64 },
  { type: 43, name: 'closeConfirmationHeight', codec: field.u32 },
  { type: 45, name: 'fundingTx', codec: field.bytes },
  { type: 47, name: 'localShutdownScript', codec: field.bytes },
  { type: 49, name: 'remoteShutdownScript', codec: field.bytes },
  { type: 51, name: 'memo', codec: field.bytes },
]);

/** A full channel as archived at close (historical channels). */
export const archivedChannelRecord = new RecordSchema<{
  info: ChannelInfo;
  localCommitment: ChannelCommitment;
  remoteCommitment: ChannelCommitment;
  remoteRevocation: RemoteRevocationState;
  lastWasRevoke: boolean;
}>('ArchivedChannel', [
  { type: 0, name: 'info', codec: field.record(channelInfoRecord) },
  { type: 2, name: 'localCommitment', codec: field.record(commitmentRecord) },
  { type: 4, name: 'remoteCommitment', codec: field.record(commitmentRecord) },
  { type: 6, name: 'remoteRevocation', codec: field.record(remoteRevocationRecord) },
  { type: 8, name: 'lastWasRevoke', codec: field.bool },
]);

/** The channel an ArchivedChannel record holds, as fetchHistoricalChannel returns it. */
export function channelOfArchive(bytes: Uint8Array): OpenChannel {
  const archived = archivedChannelRecord.decode(bytes);
  return {
    ...archived.info,
    localCommitment: archived.localCommitment,
    remoteCommitment: archived.remoteCommitment,
    remoteRevocation: archived.remoteRevocation,
    lastWasRevoke: archived.lastWasRevoke,
  };
}

export const openingStateRecord = new RecordSchema<ChannelOpeningState>('ChannelOpeningState', [
  { type: 0, name: 'stage', codec: numericEnum('OpeningStage', 2) as FieldCodec<never> },
  { type: 2, name: 'shortChannelId', codec: field.u64 },
]);

export const forwardingPolicyRecord = new RecordSchema<ForwardingPolicy>('ForwardingPolicy', [
  { type: 0, name: 'minHtlcMsat', codec: field.amount },
  { type: 2, name: 'maxHtlcMsat', codec: field.amount },
  { type: 4, name: 'baseFeeMsat', codec: field.amount },
  { type: 6, name: 'feeRatePpm', codec: field.u32 },
  { type: 8, name: 'timeLockDelta', codec: field.u16 },
]);

/** Every channel-state record schema, for fingerprints and property tests. */
export const CHANSTATE_RECORDS: readonly RecordSchema<never>[] = [
  outPointRecord,
  keyLocatorRecord,
  keyDescriptorRecord,
  channelConfigRecord,
  htlcRecord,
  commitmentRecord,
  logUpdateRecord,
  logUpdateListRecord,
  circuitKeyRecord,
  commitDiffRecord,
  pkgFilterRecord,
  fwdPkgRecord,
  closeSummaryRecord,
  shutdownInfoRecord,
  htlcEntryRecord,
  revocationLogRecord,
  revocationBlockRecord,
  shachainEntryRecord,
  remoteRevocationRecord,
  externalFundingRecord,
  channelInfoRecord,
  archivedChannelRecord,
  openingStateRecord,
  forwardingPolicyRecord,
] as unknown as RecordSchema<never>[];
