/**
 * Argument validation at the public edge of the storage contracts, written once.
 *
 * Every store method's arguments pass through these checks (checked-store.ts) before a
 * backend sees them, so every backend accepts and refuses exactly the same values, and
 * backends do not re-validate. Misuse throws TypeError (wrong type or shape) or RangeError
 * (a number out of range), with a message "expected X, got Y" naming the field.
 *
 * The ranges are those every backend can store exactly: amounts are below 2^63 (a signed
 * 64-bit SQL column; 21 million BTC is 2.1 * 10^18 msat, far below), heights and indexes
 * are safe integers, short channel ids and shachain indexes are full u64 / 48-bit values.
 */
import { isNetwork, NETWORK_NAMES } from '../bitcoin/network.js';
import { assertPeerAddress, type LinkNode } from '../linknode/store.js';
import { OUTPUT_INDEX_NONE } from './types.js';
import type {
  AddRef,
  AdvanceTailArgs,
  ChannelCloseSummary,
  ChannelCommitment,
  ChannelConfig,
  ChannelOpeningState,
  ChannelShell,
  CommitDiff,
  ExternalFundingState,
  ForwardingPolicy,
  FwdPkg,
  Htlc,
  KeyDescriptor,
  KeyLocator,
  LogUpdate,
  OpenChannel,
  OutPoint,
  PkgFilter,
  RemoteRevocationState,
  SettleFailRef,
  ShutdownInfo,
} from './types.js';

/**
 * Runs `check` and then `call`, turning a throw of `check` into a rejected promise so a
 * caller sees one failure path: the pattern of every checked-store method.
 */
export function checked<T>(check: () => void, call: () => Promise<T>): Promise<T> {
  try {
    check();
  } catch (err) {
    return Promise.reject(err);
  }
  return call();
}

const TWO_63 = 1n << 63n;
const TWO_64 = 1n << 64n;
const TWO_48 = 1n << 48n;
const HEX = /^[0-9a-f]*$/;

/** A short rendering of a rejected value for "expected X, got Y" messages. */
export function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Throws TypeError unless `value` is a plain (non-array) object. */
export function object(value: unknown, what: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`expected ${what} to be an object, got ${show(value)}`);
}

function array(value: unknown, what: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`expected ${what} to be an array, got ${show(value)}`);
}

/** Lowercase hex of exactly `bytes` bytes. */
export function hex(value: unknown, bytes: number, what: string): void {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !HEX.test(value)) {
    throw new TypeError(`expected ${what} to be ${bytes * 2} lowercase hex chars, got ${show(value)}`);
  }
}

/** A Uint8Array (of at most `max` bytes, and at least `min`). */
export function bytes(value: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`expected ${what} to be a Uint8Array, got ${show(value)}`);
  if (value.length < min || value.length > max) {
    throw new RangeError(`expected ${what} to be ${min === max ? `${min}` : `${min}..${max}`} bytes, got ${value.length}`);
  }
}

/** A boolean. */
export function bool(value: unknown, what: string): void {
  if (typeof value !== 'boolean') throw new TypeError(`expected ${what} to be a boolean, got ${show(value)}`);
}

/** An unsigned integer below 2^bits (53: any safe integer). */
export function uint(value: unknown, bits: number, what: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || (bits < 53 && value >= 2 ** bits)) {
    throw new RangeError(`expected ${what} to be an unsigned ${bits}-bit integer, got ${show(value)}`);
  }
}

/** An amount: a bigint in 0..2^63-1. */
export function amount(value: unknown, what: string): void {
  if (typeof value !== 'bigint' || value < 0n || value >= TWO_63) throw new RangeError(`expected ${what} to be a bigint in 0..2^63-1, got ${show(value)}`);
}

/** A full u64 kept as bigint (short channel ids). */
export function u64(value: unknown, what: string): void {
  if (typeof value !== 'bigint' || value < 0n || value >= TWO_64) throw new RangeError(`expected ${what} to be a bigint in 0..2^64-1, got ${show(value)}`);
}

function optional<T>(value: T | undefined, check: (v: T) => void): void {
  if (value !== undefined) check(value);
}

/** An OutPoint: 64 lowercase hex chars of txid and a u32 index. */
export function outPoint(op: unknown, what = 'channel point'): asserts op is OutPoint {
  object(op, what);
  hex(op['txid'], 32, `${what}.txid`);
  uint(op['index'], 32, `${what}.index`);
}

/** A key locator: u32 family and index. */
export function keyLocator(l: KeyLocator, what: string): void {
  object(l, what);
  uint(l.family, 32, `${what}.family`);
  uint(l.index, 32, `${what}.index`);
}

/** A key descriptor: a 33-byte public key, with a locator for our own keys. */
export function keyDescriptor(k: KeyDescriptor, what: string): void {
  object(k, what);
  hex(k.pubkey, 33, `${what}.pubkey`);
  optional(k.locator, (l) => keyLocator(l, `${what}.locator`));
}

/** One side's channel parameters and base points. */
export function channelConfig(c: ChannelConfig, what: string): void {
  object(c, what);
  amount(c.chanReserveSat, `${what}.chanReserveSat`);
  amount(c.maxPendingAmountMsat, `${what}.maxPendingAmountMsat`);
  amount(c.minHtlcMsat, `${what}.minHtlcMsat`);
  uint(c.maxAcceptedHtlcs, 16, `${what}.maxAcceptedHtlcs`);
  amount(c.dustLimitSat, `${what}.dustLimitSat`);
  uint(c.csvDelay, 16, `${what}.csvDelay`);
  keyDescriptor(c.multiSigKey, `${what}.multiSigKey`);
  keyDescriptor(c.revocationBasePoint, `${what}.revocationBasePoint`);
  keyDescriptor(c.paymentBasePoint, `${what}.paymentBasePoint`);
  keyDescriptor(c.delayBasePoint, `${what}.delayBasePoint`);
  keyDescriptor(c.htlcBasePoint, `${what}.htlcBasePoint`);
}

/** An HTLC of a commitment (output index -1 for dust). */
export function htlc(h: Htlc, what: string): void {
  object(h, what);
  bytes(h.signature, `${what}.signature`);
  hex(h.paymentHash, 32, `${what}.paymentHash`);
  amount(h.amountMsat, `${what}.amountMsat`);
  uint(h.refundTimeout, 32, `${what}.refundTimeout`);
  if (typeof h.outputIndex !== 'number' || !Number.isInteger(h.outputIndex) || h.outputIndex < -1 || h.outputIndex >= 2 ** 31) {
    throw new RangeError(`expected ${what}.outputIndex to be -1 (dust) or an output index, got ${show(h.outputIndex)}`);
  }
  bool(h.incoming, `${what}.incoming`);
  bytes(h.onionBlob, `${what}.onionBlob`);
  uint(h.htlcIndex, 53, `${what}.htlcIndex`);
  uint(h.logIndex, 53, `${what}.logIndex`);
  optional(h.extraData, (b) => bytes(b, `${what}.extraData`));
}

function mainOutputIndex(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > OUTPUT_INDEX_NONE) {
    throw new RangeError(`expected ${what} to be an output index in 0..${OUTPUT_INDEX_NONE} (${OUTPUT_INDEX_NONE}: none), got ${show(value)}`);
  }
}

/**
 * A commitment. With `remote`, its output indexes are required: a remote commitment's
 * revocation log entry needs them when it is revoked.
 */
export function commitment(c: ChannelCommitment, what: string, remote: boolean): void {
  object(c, what);
  uint(c.commitHeight, 48, `${what}.commitHeight`);
  uint(c.localLogIndex, 53, `${what}.localLogIndex`);
  uint(c.localHtlcIndex, 53, `${what}.localHtlcIndex`);
  uint(c.remoteLogIndex, 53, `${what}.remoteLogIndex`);
  uint(c.remoteHtlcIndex, 53, `${what}.remoteHtlcIndex`);
  amount(c.localBalanceMsat, `${what}.localBalanceMsat`);
  amount(c.remoteBalanceMsat, `${what}.remoteBalanceMsat`);
  amount(c.commitFeeSat, `${what}.commitFeeSat`);
  amount(c.feePerKw, `${what}.feePerKw`);
  bytes(c.commitTx, `${what}.commitTx`, 1);
  bytes(c.commitSig, `${what}.commitSig`);
  array(c.htlcs, `${what}.htlcs`);
  c.htlcs.forEach((h, i) => htlc(h, `${what}.htlcs[${i}]`));
  optional(c.customBlob, (b) => bytes(b, `${what}.customBlob`));
  if (remote || c.localOutputIndex !== undefined || c.remoteOutputIndex !== undefined) {
    if (remote && (c.localOutputIndex === undefined || c.remoteOutputIndex === undefined)) {
      throw new TypeError(`expected ${what} to have localOutputIndex and remoteOutputIndex (a remote commitment's revocation log entry needs them)`);
    }
    optional(c.localOutputIndex, (v) => mainOutputIndex(v, `${what}.localOutputIndex`));
    optional(c.remoteOutputIndex, (v) => mainOutputIndex(v, `${what}.remoteOutputIndex`));
  }
}

/** An update-log entry: log index and wire message. */
export function logUpdate(u: LogUpdate, what: string): void {
  object(u, what);
  uint(u.logIndex, 53, `${what}.logIndex`);
  bytes(u.message, `${what}.message`);
}

/** A list of update-log entries. */
export function logUpdates(list: readonly LogUpdate[], what: string): void {
  array(list, what);
  list.forEach((u, i) => logUpdate(u, `${what}[${i}]`));
}

/** References to adds of forwarding packages. */
export function addRefs(refs: readonly AddRef[], what = 'refs'): void {
  array(refs, what);
  refs.forEach((r, i) => {
    object(r, `${what}[${i}]`);
    uint(r.height, 53, `${what}[${i}].height`);
    uint(r.index, 16, `${what}[${i}].index`);
  });
}

/** References to settles/fails of forwarding packages, with their source scid. */
export function settleFailRefs(refs: readonly SettleFailRef[], what = 'refs'): void {
  array(refs, what);
  refs.forEach((r, i) => {
    object(r, `${what}[${i}]`);
    u64(r.source, `${what}[${i}].source`);
    uint(r.height, 53, `${what}[${i}].height`);
    uint(r.index, 16, `${what}[${i}].index`);
  });
}

/** A CommitDiff for appendRemoteCommitChain (its commitment is a remote one: output indexes required). */
export function commitDiff(d: CommitDiff, what = 'diff'): void {
  object(d, what);
  commitment(d.commitment, `${what}.commitment`, true);
  logUpdates(d.logUpdates, `${what}.logUpdates`);
  bytes(d.commitSig, `${what}.commitSig`);
  for (const field of ['openedCircuitKeys', 'closedCircuitKeys'] as const) {
    array(d[field], `${what}.${field}`);
    d[field].forEach((k, i) => {
      object(k, `${what}.${field}[${i}]`);
      u64(k.channel, `${what}.${field}[${i}].channel`);
      uint(k.htlcId, 53, `${what}.${field}[${i}].htlcId`);
    });
  }
  optional(d.addAcks, (r) => addRefs(r, `${what}.addAcks`));
  optional(d.settleFailAcks, (r) => settleFailRefs(r, `${what}.settleFailAcks`));
}

/** A forwarding-package filter: a bit count and exactly enough bytes for it. */
export function pkgFilter(f: PkgFilter, what: string): void {
  object(f, what);
  uint(f.count, 16, `${what}.count`);
  bytes(f.bits, `${what}.bits`, Math.ceil(f.count / 8), Math.ceil(f.count / 8));
}

/** A forwarding package, its filters sized to its updates. */
export function fwdPkg(p: FwdPkg, what = 'fwdPkg'): void {
  object(p, what);
  u64(p.source, `${what}.source`);
  uint(p.height, 53, `${what}.height`);
  logUpdates(p.adds, `${what}.adds`);
  logUpdates(p.settleFails, `${what}.settleFails`);
  pkgFilter(p.ackFilter, `${what}.ackFilter`);
  pkgFilter(p.settleFailFilter, `${what}.settleFailFilter`);
  optional(p.fwdFilter, (f) => pkgFilter(f, `${what}.fwdFilter`));
  if (p.ackFilter.count !== p.adds.length) throw new RangeError(`expected ${what}.ackFilter to have ${p.adds.length} bits, got ${p.ackFilter.count}`);
  if (p.settleFailFilter.count !== p.settleFails.length) {
    throw new RangeError(`expected ${what}.settleFailFilter to have ${p.settleFails.length} bits, got ${p.settleFailFilter.count}`);
  }
}

/** The arguments of advanceCommitChainTail. */
export function advanceArgs(a: AdvanceTailArgs): void {
  object(a, 'args');
  bytes(a.revocationSecret, 'args.revocationSecret', 32, 32);
  hex(a.nextPoint, 33, 'args.nextPoint');
  fwdPkg(a.fwdPkg, 'args.fwdPkg');
  logUpdates(a.remoteUnsignedLocalUpdates, 'args.remoteUnsignedLocalUpdates');
}

/** A remote revocation state: at most 49 shachain entries and optional points. */
export function remoteRevocation(r: RemoteRevocationState, what: string): void {
  object(r, what);
  array(r.secrets, `${what}.secrets`);
  if (r.secrets.length > 49) throw new RangeError(`expected at most 49 shachain entries in ${what}.secrets, got ${r.secrets.length}`);
  r.secrets.forEach((e, i) => {
    object(e, `${what}.secrets[${i}]`);
    if (typeof e.index !== 'bigint' || e.index < 0n || e.index >= TWO_48) throw new RangeError(`expected ${what}.secrets[${i}].index to be a 48-bit bigint, got ${show(e.index)}`);
    bytes(e.secret, `${what}.secrets[${i}].secret`, 32, 32);
  });
  optional(r.currentPoint, (p) => hex(p, 33, `${what}.currentPoint`));
  optional(r.nextPoint, (p) => hex(p, 33, `${what}.nextPoint`));
}

/** External funding state: signed transaction present exactly when submitted. */
export function externalFunding(e: ExternalFundingState, what = 'externalFunding'): void {
  object(e, what);
  bytes(e.unsignedPsbt, `${what}.unsignedPsbt`, 1);
  uint(e.deadlineMs, 53, `${what}.deadlineMs`);
  bool(e.submitted, `${what}.submitted`);
  optional(e.signedTx, (b) => bytes(b, `${what}.signedTx`, 1));
  if (e.submitted !== (e.signedTx !== undefined)) throw new TypeError(`expected ${what}.signedTx to be present exactly when submitted`);
}

/**
 * A whole channel as the coordinator writes it. A channel restored from a backup shell
 * (`restored`) may lack its remote commitment's output indexes: it never signs again.
 */
export function openChannel(c: OpenChannel, what = 'channel', restored = false): void {
  object(c, what);
  uint(c.chanType, 53, `${what}.chanType`);
  hex(c.chainHash, 32, `${what}.chainHash`);
  outPoint(c.fundingOutpoint, `${what}.fundingOutpoint`);
  u64(c.shortChannelId, `${what}.shortChannelId`);
  optional(c.realScid, (s) => u64(s, `${what}.realScid`));
  bool(c.isPending, `${what}.isPending`);
  bool(c.isInitiator, `${what}.isInitiator`);
  uint(c.status, 53, `${what}.status`);
  uint(c.fundingBroadcastHeight, 32, `${what}.fundingBroadcastHeight`);
  uint(c.confirmationHeight, 32, `${what}.confirmationHeight`);
  optional(c.closeConfirmationHeight, (h) => uint(h, 32, `${what}.closeConfirmationHeight`));
  uint(c.numConfsRequired, 16, `${what}.numConfsRequired`);
  uint(c.channelFlags, 8, `${what}.channelFlags`);
  hex(c.identityPub, 33, `${what}.identityPub`);
  for (const f of ['capacitySat', 'totalMsatSent', 'totalMsatReceived', 'initialLocalBalanceMsat', 'initialRemoteBalanceMsat'] as const) amount(c[f], `${what}.${f}`);
  channelConfig(c.localConfig, `${what}.localConfig`);
  channelConfig(c.remoteConfig, `${what}.remoteConfig`);
  commitment(c.localCommitment, `${what}.localCommitment`, false);
  commitment(c.remoteCommitment, `${what}.remoteCommitment`, !restored);
  remoteRevocation(c.remoteRevocation, `${what}.remoteRevocation`);
  keyLocator(c.revocationKeyLocator, `${what}.revocationKeyLocator`);
  for (const f of ['fundingTx', 'localShutdownScript', 'remoteShutdownScript', 'memo'] as const) optional(c[f], (b) => bytes(b, `${what}.${f}`));
  uint(c.thawHeight, 32, `${what}.thawHeight`);
  bool(c.lastWasRevoke, `${what}.lastWasRevoke`);
  optional(c.externalFunding, (e) => externalFunding(e, `${what}.externalFunding`));
}

/** Channel shells from a static backup, with their peer addresses. */
export function channelShells(shells: readonly ChannelShell[]): void {
  array(shells, 'shells');
  shells.forEach((s, i) => {
    object(s, `shells[${i}]`);
    openChannel(s.channel, `shells[${i}].channel`, true);
    array(s.nodeAddresses, `shells[${i}].nodeAddresses`);
    s.nodeAddresses.forEach((a) => assertPeerAddress(a));
  });
}

/** A close summary. */
export function closeSummary(s: ChannelCloseSummary, what = 'summary'): void {
  object(s, what);
  outPoint(s.chanPoint, `${what}.chanPoint`);
  u64(s.shortChannelId, `${what}.shortChannelId`);
  hex(s.chainHash, 32, `${what}.chainHash`);
  hex(s.closingTxid, 32, `${what}.closingTxid`);
  hex(s.remotePub, 33, `${what}.remotePub`);
  amount(s.capacitySat, `${what}.capacitySat`);
  uint(s.closeHeight, 32, `${what}.closeHeight`);
  amount(s.settledBalanceSat, `${what}.settledBalanceSat`);
  amount(s.timeLockedBalanceSat, `${what}.timeLockedBalanceSat`);
  uint(s.closeType, 3, `${what}.closeType`);
  if (s.closeType > 5) throw new RangeError(`expected ${what}.closeType in 0..5, got ${s.closeType}`);
  bool(s.isPending, `${what}.isPending`);
  channelConfig(s.localConfig, `${what}.localConfig`);
  optional(s.remoteCurrentRevocation, (p) => hex(p, 33, `${what}.remoteCurrentRevocation`));
  optional(s.remoteNextRevocation, (p) => hex(p, 33, `${what}.remoteNextRevocation`));
  optional(s.lastChanSyncMsg, (b) => bytes(b, `${what}.lastChanSyncMsg`));
}

/** What we sent in shutdown. */
export function shutdownInfo(i: ShutdownInfo): void {
  object(i, 'info');
  bytes(i.deliveryScript, 'info.deliveryScript');
  if (i.closer !== 'local' && i.closer !== 'remote') throw new TypeError(`expected info.closer to be "local" or "remote", got ${show(i.closer)}`);
}

/** "local" or "remote". */
export function party(p: unknown, what: string): void {
  if (p !== 'local' && p !== 'remote') throw new TypeError(`expected ${what} to be "local" or "remote", got ${show(p)}`);
}

/** Funding-manager opening state. */
export function openingState(s: ChannelOpeningState): void {
  object(s, 'state');
  uint(s.stage, 2, 'state.stage');
  if (s.stage > 2) throw new RangeError(`expected state.stage in 0..2, got ${s.stage}`);
  u64(s.shortChannelId, 'state.shortChannelId');
}

/** An initial forwarding policy. */
export function forwardingPolicy(p: ForwardingPolicy): void {
  object(p, 'policy');
  amount(p.minHtlcMsat, 'policy.minHtlcMsat');
  amount(p.maxHtlcMsat, 'policy.maxHtlcMsat');
  amount(p.baseFeeMsat, 'policy.baseFeeMsat');
  uint(p.feeRatePpm, 32, 'policy.feeRatePpm');
  uint(p.timeLockDelta, 16, 'policy.timeLockDelta');
}

/** A list of heights. */
export function heights(list: readonly number[], what = 'heights'): void {
  array(list, what);
  list.forEach((h, i) => uint(h, 53, `${what}[${i}]`));
}

/** A positive batch size. */
export function batchSize(n: number, what = 'maxRecords'): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new RangeError(`expected ${what} to be a positive integer, got ${show(n)}`);
}


/** A link node as createLinkNodes takes it. */
export function linkNode(n: LinkNode, what = 'node'): void {
  object(n, what);
  if (!isNetwork(n.network)) throw new TypeError(`expected ${what}.network to be one of ${NETWORK_NAMES.join('|')}, got ${show(n.network)}`);
  hex(n.identityPub, 33, `${what}.identityPub`);
  uint(n.lastSeenMs, 53, `${what}.lastSeenMs`);
  array(n.addresses, `${what}.addresses`);
  n.addresses.forEach((a) => assertPeerAddress(a));
}

/** A UNIX time in ms. */
export function timeMs(value: number, what: string): void {
  uint(value, 53, what);
}
