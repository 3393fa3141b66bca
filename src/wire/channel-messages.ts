/**
 * BOLT 2 channel establishment (v1) and closing messages: `open_channel`, `accept_channel`,
 * `funding_created`, `funding_signed`, `channel_ready`, `shutdown`, `closing_signed`,
 * `closing_complete`, `closing_sig`. Field order and sizes follow BOLT 2 exactly.
 */
import { ByteReader, ByteWriter } from '../codec/bytes.js';
import type { TlvRecord } from '../codec/tlv.js';
import type { MessageCodec } from './codec-spec.js';
import {
  assertFixed,
  expectTlvLength,
  optional,
  pointBytes,
  readCopy,
  readDisplayHash,
  readExtension,
  readHex,
  readU16Bytes,
  writeDisplayHash,
  writeExtension,
  writeFixed,
  writeHex,
  writeU16Bytes,
} from './fields.js';
import { MessageType, type ClosingComplete, type ClosingSig } from './types.js';

const SIG = 64;

/** A TLV record holding `value` verbatim, or undefined when absent; TypeError unless a Uint8Array. */
function bytesRecord(type: bigint, value: Uint8Array | undefined, what: string): TlvRecord | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) throw new TypeError(`expected ${what} as Uint8Array, got ${typeof value}`);
  return { type, value };
}

/** A TLV record holding a 64-byte signature, or undefined when absent. */
function sigRecord(type: bigint, sig: Uint8Array | undefined, what: string): TlvRecord | undefined {
  if (sig === undefined) return undefined;
  assertFixed(sig, SIG, what);
  return { type, value: sig };
}

/** The copied 64-byte signature in a known TLV record, or undefined when absent. */
function sigOf(value: Uint8Array | undefined, what: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  expectTlvLength(value, SIG, what);
  return value.slice();
}

/** Writes the five basepoints and the first per-commitment point shared by open/accept. */
function writeKeys(
  w: ByteWriter,
  m: {
    fundingPubkey: string;
    revocationBasepoint: string;
    paymentBasepoint: string;
    delayedPaymentBasepoint: string;
    htlcBasepoint: string;
    firstPerCommitmentPoint: string;
  },
  what: string,
): void {
  w.bytes(pointBytes(m.fundingPubkey, `${what} fundingPubkey`));
  w.bytes(pointBytes(m.revocationBasepoint, `${what} revocationBasepoint`));
  w.bytes(pointBytes(m.paymentBasepoint, `${what} paymentBasepoint`));
  w.bytes(pointBytes(m.delayedPaymentBasepoint, `${what} delayedPaymentBasepoint`));
  w.bytes(pointBytes(m.htlcBasepoint, `${what} htlcBasepoint`));
  w.bytes(pointBytes(m.firstPerCommitmentPoint, `${what} firstPerCommitmentPoint`));
}

/** Reads the six points written by {@link writeKeys}. */
function readKeys(r: ByteReader) {
  return {
    fundingPubkey: readHex(r, 33),
    revocationBasepoint: readHex(r, 33),
    paymentBasepoint: readHex(r, 33),
    delayedPaymentBasepoint: readHex(r, 33),
    htlcBasepoint: readHex(r, 33),
    firstPerCommitmentPoint: readHex(r, 33),
  };
}

const UPFRONT_SHUTDOWN_SCRIPT = 0n;
const CHANNEL_TYPE = 1n;
/** `open_channel_tlvs` and `accept_channel_tlvs` define the same two records. */
const OPENING_TLVS = [UPFRONT_SHUTDOWN_SCRIPT, CHANNEL_TYPE] as const;

/** Writes the opening TLVs shared by open/accept. */
function writeOpeningTlvs(
  w: ByteWriter,
  m: { upfrontShutdownScript?: Uint8Array; channelType?: Uint8Array; unknownTlvs?: readonly TlvRecord[] },
  what: string,
): void {
  writeExtension(
    w,
    OPENING_TLVS,
    [
      bytesRecord(UPFRONT_SHUTDOWN_SCRIPT, m.upfrontShutdownScript, `${what} upfrontShutdownScript`),
      bytesRecord(CHANNEL_TYPE, m.channelType, `${what} channelType`),
    ],
    m.unknownTlvs,
  );
}

/** Reads the opening TLVs shared by open/accept. Both values are opaque byte strings of any length. */
function readOpeningTlvs(r: ByteReader) {
  const ext = readExtension(r, OPENING_TLVS);
  return {
    ...optional('upfrontShutdownScript', ext.known.get(UPFRONT_SHUTDOWN_SCRIPT)?.slice()),
    ...optional('channelType', ext.known.get(CHANNEL_TYPE)?.slice()),
    ...optional('unknownTlvs', ext.unknownTlvs),
  };
}

/** `open_channel` (32). */
export const openChannelCodec: MessageCodec<'open_channel'> = {
  typeNumber: MessageType.OpenChannel,
  name: 'open_channel',
  write(w, m) {
    writeDisplayHash(w, m.chainHash, 'open_channel chainHash');
    writeHex(w, m.temporaryChannelId, 32, 'open_channel temporaryChannelId');
    w.u64(m.fundingSat).u64(m.pushMsat).u64(m.dustLimitSat).u64(m.maxHtlcValueInFlightMsat);
    w.u64(m.channelReserveSat).u64(m.htlcMinimumMsat);
    w.u32(m.feeratePerKw).u16(m.toSelfDelay).u16(m.maxAcceptedHtlcs);
    writeKeys(w, m, 'open_channel');
    w.u8(m.channelFlags);
    writeOpeningTlvs(w, m, 'open_channel');
  },
  read(r) {
    return {
      type: 'open_channel',
      chainHash: readDisplayHash(r),
      temporaryChannelId: readHex(r, 32),
      fundingSat: r.u64(),
      pushMsat: r.u64(),
      dustLimitSat: r.u64(),
      maxHtlcValueInFlightMsat: r.u64(),
      channelReserveSat: r.u64(),
      htlcMinimumMsat: r.u64(),
      feeratePerKw: r.u32(),
      toSelfDelay: r.u16(),
      maxAcceptedHtlcs: r.u16(),
      ...readKeys(r),
      channelFlags: r.u8(),
      ...readOpeningTlvs(r),
    };
  },
};

/** `accept_channel` (33). */
export const acceptChannelCodec: MessageCodec<'accept_channel'> = {
  typeNumber: MessageType.AcceptChannel,
  name: 'accept_channel',
  write(w, m) {
    writeHex(w, m.temporaryChannelId, 32, 'accept_channel temporaryChannelId');
    w.u64(m.dustLimitSat).u64(m.maxHtlcValueInFlightMsat).u64(m.channelReserveSat).u64(m.htlcMinimumMsat);
    w.u32(m.minimumDepth).u16(m.toSelfDelay).u16(m.maxAcceptedHtlcs);
    writeKeys(w, m, 'accept_channel');
    writeOpeningTlvs(w, m, 'accept_channel');
  },
  read(r) {
    return {
      type: 'accept_channel',
      temporaryChannelId: readHex(r, 32),
      dustLimitSat: r.u64(),
      maxHtlcValueInFlightMsat: r.u64(),
      channelReserveSat: r.u64(),
      htlcMinimumMsat: r.u64(),
      minimumDepth: r.u32(),
      toSelfDelay: r.u16(),
      maxAcceptedHtlcs: r.u16(),
      ...readKeys(r),
      ...readOpeningTlvs(r),
    };
  },
};

/** `funding_created` (34): no TLVs defined. */
export const fundingCreatedCodec: MessageCodec<'funding_created'> = {
  typeNumber: MessageType.FundingCreated,
  name: 'funding_created',
  write(w, m) {
    writeHex(w, m.temporaryChannelId, 32, 'funding_created temporaryChannelId');
    writeDisplayHash(w, m.fundingTxid, 'funding_created fundingTxid');
    w.u16(m.fundingOutputIndex);
    writeFixed(w, m.signature, SIG, 'funding_created signature');
    writeExtension(w, [], [], m.unknownTlvs);
  },
  read(r) {
    const temporaryChannelId = readHex(r, 32);
    const fundingTxid = readDisplayHash(r);
    const fundingOutputIndex = r.u16();
    const signature = readCopy(r, SIG);
    const ext = readExtension(r, []);
    return {
      type: 'funding_created',
      temporaryChannelId,
      fundingTxid,
      fundingOutputIndex,
      signature,
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

/** `funding_signed` (35): no TLVs defined. */
export const fundingSignedCodec: MessageCodec<'funding_signed'> = {
  typeNumber: MessageType.FundingSigned,
  name: 'funding_signed',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'funding_signed channelId');
    writeFixed(w, m.signature, SIG, 'funding_signed signature');
    writeExtension(w, [], [], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const signature = readCopy(r, SIG);
    const ext = readExtension(r, []);
    return { type: 'funding_signed', channelId, signature, ...optional('unknownTlvs', ext.unknownTlvs) };
  },
};

const READY_ALIAS = 1n;

/** `channel_ready` (36): TLV 1 `short_channel_id` alias (8 bytes). */
export const channelReadyCodec: MessageCodec<'channel_ready'> = {
  typeNumber: MessageType.ChannelReady,
  name: 'channel_ready',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'channel_ready channelId');
    w.bytes(pointBytes(m.secondPerCommitmentPoint, 'channel_ready secondPerCommitmentPoint'));
    let alias: TlvRecord | undefined;
    if (m.alias !== undefined) alias = { type: READY_ALIAS, value: new ByteWriter(8).u64(m.alias).finish() };
    writeExtension(w, [READY_ALIAS], [alias], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const secondPerCommitmentPoint = readHex(r, 33);
    const ext = readExtension(r, [READY_ALIAS]);
    const av = ext.known.get(READY_ALIAS);
    let alias: bigint | undefined;
    if (av !== undefined) {
      expectTlvLength(av, 8, 'channel_ready short_channel_id');
      alias = new ByteReader(av).u64();
    }
    return {
      type: 'channel_ready',
      channelId,
      secondPerCommitmentPoint,
      ...optional('alias', alias),
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

/** `shutdown` (38): no TLVs defined. */
export const shutdownCodec: MessageCodec<'shutdown'> = {
  typeNumber: MessageType.Shutdown,
  name: 'shutdown',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'shutdown channelId');
    writeU16Bytes(w, m.scriptPubkey, 'shutdown scriptPubkey');
    writeExtension(w, [], [], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const scriptPubkey = readU16Bytes(r);
    const ext = readExtension(r, []);
    return { type: 'shutdown', channelId, scriptPubkey, ...optional('unknownTlvs', ext.unknownTlvs) };
  },
};

const FEE_RANGE = 1n;

/** `closing_signed` (39): TLV 1 `fee_range` (two u64, 16 bytes). */
export const closingSignedCodec: MessageCodec<'closing_signed'> = {
  typeNumber: MessageType.ClosingSigned,
  name: 'closing_signed',
  write(w, m) {
    writeHex(w, m.channelId, 32, 'closing_signed channelId');
    w.u64(m.feeSat);
    writeFixed(w, m.signature, SIG, 'closing_signed signature');
    let range: TlvRecord | undefined;
    if (m.feeRange !== undefined) {
      range = { type: FEE_RANGE, value: new ByteWriter(16).u64(m.feeRange.minFeeSat).u64(m.feeRange.maxFeeSat).finish() };
    }
    writeExtension(w, [FEE_RANGE], [range], m.unknownTlvs);
  },
  read(r) {
    const channelId = readHex(r, 32);
    const feeSat = r.u64();
    const signature = readCopy(r, SIG);
    const ext = readExtension(r, [FEE_RANGE]);
    const rv = ext.known.get(FEE_RANGE);
    let feeRange: { minFeeSat: bigint; maxFeeSat: bigint } | undefined;
    if (rv !== undefined) {
      expectTlvLength(rv, 16, 'closing_signed fee_range');
      const rr = new ByteReader(rv);
      feeRange = { minFeeSat: rr.u64(), maxFeeSat: rr.u64() };
    }
    return {
      type: 'closing_signed',
      channelId,
      feeSat,
      signature,
      ...optional('feeRange', feeRange),
      ...optional('unknownTlvs', ext.unknownTlvs),
    };
  },
};

const CLOSER_OUTPUT_ONLY = 1n;
const CLOSEE_OUTPUT_ONLY = 2n;
const CLOSER_AND_CLOSEE_OUTPUTS = 3n;
const CLOSING_TLVS = [CLOSER_OUTPUT_ONLY, CLOSEE_OUTPUT_ONLY, CLOSER_AND_CLOSEE_OUTPUTS] as const;

/** Codec for `closing_complete` and `closing_sig`, which share layout and `closing_tlvs`. */
function simpleClose<N extends 'closing_complete' | 'closing_sig'>(name: N, typeNumber: number): MessageCodec<N> {
  return {
    typeNumber,
    name,
    write(w, msg) {
      const m = msg as ClosingComplete | ClosingSig;
      writeHex(w, m.channelId, 32, `${name} channelId`);
      writeU16Bytes(w, m.closerScriptPubkey, `${name} closerScriptPubkey`);
      writeU16Bytes(w, m.closeeScriptPubkey, `${name} closeeScriptPubkey`);
      w.u64(m.feeSat).u32(m.locktime);
      writeExtension(
        w,
        CLOSING_TLVS,
        [
          sigRecord(CLOSER_OUTPUT_ONLY, m.closerOutputOnly, `${name} closerOutputOnly`),
          sigRecord(CLOSEE_OUTPUT_ONLY, m.closeeOutputOnly, `${name} closeeOutputOnly`),
          sigRecord(CLOSER_AND_CLOSEE_OUTPUTS, m.closerAndCloseeOutputs, `${name} closerAndCloseeOutputs`),
        ],
        m.unknownTlvs,
      );
    },
    read(r) {
      const channelId = readHex(r, 32);
      const closerScriptPubkey = readU16Bytes(r);
      const closeeScriptPubkey = readU16Bytes(r);
      const feeSat = r.u64();
      const locktime = r.u32();
      const ext = readExtension(r, CLOSING_TLVS);
      const msg: ClosingComplete | ClosingSig = {
        type: name,
        channelId,
        closerScriptPubkey,
        closeeScriptPubkey,
        feeSat,
        locktime,
        ...optional('closerOutputOnly', sigOf(ext.known.get(CLOSER_OUTPUT_ONLY), `${name} closer_output_only`)),
        ...optional('closeeOutputOnly', sigOf(ext.known.get(CLOSEE_OUTPUT_ONLY), `${name} closee_output_only`)),
        ...optional(
          'closerAndCloseeOutputs',
          sigOf(ext.known.get(CLOSER_AND_CLOSEE_OUTPUTS), `${name} closer_and_closee_outputs`),
        ),
        ...optional('unknownTlvs', ext.unknownTlvs),
      };
      return msg as never;
    },
  };
}

/** `closing_complete` (40). */
export const closingCompleteCodec: MessageCodec<'closing_complete'> = simpleClose('closing_complete', MessageType.ClosingComplete);

/** `closing_sig` (41). */
export const closingSigCodec: MessageCodec<'closing_sig'> = simpleClose('closing_sig', MessageType.ClosingSig);
