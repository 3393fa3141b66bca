/**
 * Lightning wire messages (BOLT 1 and BOLT 2) as plain values.
 *
 * This file is the contract: it holds only types and the message-number table, no codec. Each
 * message is an immutable-by-convention object with a literal `type` (the spec's message name)
 * and camelCase fields named after the spec's fields. Conventions, shared with `chanstate`:
 * - channel ids and temporary channel ids are 64 lowercase hex chars, in wire byte order;
 * - points (public keys, basepoints, per-commitment points) are 66 lowercase hex chars
 *   (compressed SEC1). The codec checks the length only; whether a point is on the curve is
 *   a protocol decision for the caller (BOLT 2 says to fail the channel);
 * - chain hashes and txids are hex in display (reversed) order, like every txid in chand; the
 *   codec reverses them to and from the wire's internal byte order. Plain SHA-256 values
 *   (`paymentHash`, `sha256OfOnion`) are not reversed;
 * - amounts are bigint (`...Sat`, `...Msat`); u16/u32 fields, HTLC ids and commitment numbers
 *   are numbers (a u64 id or counter above 2^53 - 1 is refused as malformed: BOLT commitment
 *   numbers are 48-bit and HTLC ids count up from 0);
 * - signatures are 64-byte compact Uint8Arrays; scripts, onions, secrets and opaque data are
 *   Uint8Array. Decoded byte fields are copies, never views into the input.
 *
 * Every message may carry `unknownTlvs`: unknown odd records of its TLV extension, kept as
 * received (BOLT 1 lets a reader discard them; keeping them lets a message be re-encoded to
 * the same bytes). Decoding sets the field only when there is at least one such record.
 */
import type { Hex, ShortChannelId } from '../chanstate/types.js';
import type { TlvRecord } from '../codec/tlv.js';

export type { Hex, ShortChannelId };

/** BOLT message type numbers of every message chand decodes (the 2-byte prefix). */
export const MessageType = {
  Warning: 1,
  Init: 16,
  Error: 17,
  Ping: 18,
  Pong: 19,
  OpenChannel: 32,
  AcceptChannel: 33,
  FundingCreated: 34,
  FundingSigned: 35,
  ChannelReady: 36,
  Shutdown: 38,
  ClosingSigned: 39,
  ClosingComplete: 40,
  ClosingSig: 41,
  UpdateAddHtlc: 128,
  UpdateFulfillHtlc: 130,
  UpdateFailHtlc: 131,
  CommitmentSigned: 132,
  RevokeAndAck: 133,
  UpdateFee: 134,
  UpdateFailMalformedHtlc: 135,
  ChannelReestablish: 136,
} as const;

/** One of the message type numbers in {@link MessageType}. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * BOLT 7 gossip message numbers. chand does not decode gossip yet, but these types are defined
 * by the spec, so an even one (e.g. `channel_update`, which peers send for private channels)
 * must not be treated as an unknown even message that closes the connection.
 */
export const GossipMessageType = {
  ChannelAnnouncement: 256,
  NodeAnnouncement: 257,
  ChannelUpdate: 258,
  AnnouncementSignatures: 259,
  QueryShortChannelIds: 261,
  ReplyShortChannelIdsEnd: 262,
  QueryChannelRange: 263,
  ReplyChannelRange: 264,
  GossipTimestampFilter: 265,
} as const;

/** Fields every message can carry: the unknown odd TLV records of its extension. */
export interface WithExtension {
  /** Unknown odd extension records in increasing type order; absent when there are none. */
  readonly unknownTlvs?: readonly TlvRecord[];
}

// ---- BOLT 1: setup and control -------------------------------------------------------------

/** `init` (16): the first message on every connection, carrying the sender's features. */
export interface Init extends WithExtension {
  readonly type: 'init';
  /** Legacy global feature bits (big-endian, bit 0 = lowest bit of the last byte); usually empty. */
  readonly globalFeatures: Uint8Array;
  /** Feature bits (same layout); the logical feature set is the OR of both fields. */
  readonly features: Uint8Array;
  /** TLV 1 `networks`: chain hashes (display order) the sender is interested in. */
  readonly networks?: readonly Hex[];
  /** TLV 3 `remote_addr`: the receiver's address as the sender sees it (a BOLT 7 address descriptor). */
  readonly remoteAddr?: Uint8Array;
}

/** `error` (17): fails the channel `channelId`, or all channels when it is all zeros. */
export interface ErrorMsg extends WithExtension {
  readonly type: 'error';
  readonly channelId: Hex;
  /** Free-form data, often ASCII; print it only if it is printable. */
  readonly data: Uint8Array;
}

/** `warning` (1): reports a problem without failing the channel. */
export interface Warning extends WithExtension {
  readonly type: 'warning';
  readonly channelId: Hex;
  readonly data: Uint8Array;
}

/** `ping` (18): asks for a `pong` with `numPongBytes` bytes (ignored when >= 65532). */
export interface Ping extends WithExtension {
  readonly type: 'ping';
  readonly numPongBytes: number;
  /** Padding; should be zeros. */
  readonly ignored: Uint8Array;
}

/** `pong` (19): the reply to a `ping`; `ignored.length` must equal the ping's `numPongBytes`. */
export interface Pong extends WithExtension {
  readonly type: 'pong';
  readonly ignored: Uint8Array;
}

// ---- BOLT 2: channel establishment v1 ------------------------------------------------------

/** `open_channel` (32): the funder proposes a channel. */
export interface OpenChannel extends WithExtension {
  readonly type: 'open_channel';
  /** Genesis hash of the chain (display order). */
  readonly chainHash: Hex;
  readonly temporaryChannelId: Hex;
  readonly fundingSat: bigint;
  readonly pushMsat: bigint;
  readonly dustLimitSat: bigint;
  readonly maxHtlcValueInFlightMsat: bigint;
  readonly channelReserveSat: bigint;
  readonly htlcMinimumMsat: bigint;
  readonly feeratePerKw: number;
  readonly toSelfDelay: number;
  readonly maxAcceptedHtlcs: number;
  readonly fundingPubkey: Hex;
  readonly revocationBasepoint: Hex;
  readonly paymentBasepoint: Hex;
  readonly delayedPaymentBasepoint: Hex;
  readonly htlcBasepoint: Hex;
  readonly firstPerCommitmentPoint: Hex;
  /** Bit 0 = `announce_channel`; other bits are undefined and must be ignored. */
  readonly channelFlags: number;
  /** TLV 0: script to close to; empty means "no commitment". */
  readonly upfrontShutdownScript?: Uint8Array;
  /** TLV 1: the channel type as feature bits (see `decodeChannelType`). */
  readonly channelType?: Uint8Array;
}

/** `accept_channel` (33): the fundee accepts an `open_channel`. */
export interface AcceptChannel extends WithExtension {
  readonly type: 'accept_channel';
  readonly temporaryChannelId: Hex;
  readonly dustLimitSat: bigint;
  readonly maxHtlcValueInFlightMsat: bigint;
  readonly channelReserveSat: bigint;
  readonly htlcMinimumMsat: bigint;
  readonly minimumDepth: number;
  readonly toSelfDelay: number;
  readonly maxAcceptedHtlcs: number;
  readonly fundingPubkey: Hex;
  readonly revocationBasepoint: Hex;
  readonly paymentBasepoint: Hex;
  readonly delayedPaymentBasepoint: Hex;
  readonly htlcBasepoint: Hex;
  readonly firstPerCommitmentPoint: Hex;
  /** TLV 0, as in `open_channel`. */
  readonly upfrontShutdownScript?: Uint8Array;
  /** TLV 1, must equal the `open_channel`'s. */
  readonly channelType?: Uint8Array;
}

/** `funding_created` (34): the funder's funding outpoint and signature for the fundee's first commitment. */
export interface FundingCreated extends WithExtension {
  readonly type: 'funding_created';
  readonly temporaryChannelId: Hex;
  /** Funding txid, display order. */
  readonly fundingTxid: Hex;
  readonly fundingOutputIndex: number;
  readonly signature: Uint8Array;
}

/** `funding_signed` (35): the fundee's signature for the funder's first commitment. */
export interface FundingSigned extends WithExtension {
  readonly type: 'funding_signed';
  readonly channelId: Hex;
  readonly signature: Uint8Array;
}

/** `channel_ready` (36): the funding transaction is deep enough; gives the second per-commitment point. */
export interface ChannelReady extends WithExtension {
  readonly type: 'channel_ready';
  readonly channelId: Hex;
  readonly secondPerCommitmentPoint: Hex;
  /** TLV 1 `short_channel_id`: an alias the peer may route to this channel with. */
  readonly alias?: ShortChannelId;
}

// ---- BOLT 2: closing -----------------------------------------------------------------------

/** `shutdown` (38): starts a cooperative close, paying the sender to `scriptPubkey`. */
export interface Shutdown extends WithExtension {
  readonly type: 'shutdown';
  readonly channelId: Hex;
  readonly scriptPubkey: Uint8Array;
}

/** `closing_signed` (39): legacy fee negotiation for the closing transaction. */
export interface ClosingSigned extends WithExtension {
  readonly type: 'closing_signed';
  readonly channelId: Hex;
  readonly feeSat: bigint;
  readonly signature: Uint8Array;
  /** TLV 1 `fee_range`: the fees the sender accepts. */
  readonly feeRange?: { readonly minFeeSat: bigint; readonly maxFeeSat: bigint };
}

/** Fields shared by `closing_complete` and `closing_sig` (option_simple_close). */
interface SimpleCloseFields extends WithExtension {
  readonly channelId: Hex;
  readonly closerScriptPubkey: Uint8Array;
  readonly closeeScriptPubkey: Uint8Array;
  readonly feeSat: bigint;
  readonly locktime: number;
  /** TLV 1: signature of the closing transaction with only the closer's output. */
  readonly closerOutputOnly?: Uint8Array;
  /** TLV 2: signature of the closing transaction with only the closee's output. */
  readonly closeeOutputOnly?: Uint8Array;
  /** TLV 3: signature of the closing transaction with both outputs. */
  readonly closerAndCloseeOutputs?: Uint8Array;
}

/** `closing_complete` (40): the closer proposes a closing transaction paying `feeSat` from its own balance. */
export interface ClosingComplete extends SimpleCloseFields {
  readonly type: 'closing_complete';
}

/** `closing_sig` (41): the closee's single signature, in the TLV field it picked from `closing_complete`. */
export interface ClosingSig extends SimpleCloseFields {
  readonly type: 'closing_sig';
}

// ---- BOLT 2: normal operation --------------------------------------------------------------

/** `update_add_htlc` (128): offers an HTLC. */
export interface UpdateAddHtlc extends WithExtension {
  readonly type: 'update_add_htlc';
  readonly channelId: Hex;
  readonly id: number;
  readonly amountMsat: bigint;
  readonly paymentHash: Hex;
  readonly cltvExpiry: number;
  /** The BOLT 4 onion, exactly 1366 bytes. */
  readonly onionRoutingPacket: Uint8Array;
  /** TLV 0 `blinded_path`: the `path_key` point for a blinded route. */
  readonly pathKey?: Hex;
}

/** `update_fulfill_htlc` (130): settles HTLC `id` with its preimage. */
export interface UpdateFulfillHtlc extends WithExtension {
  readonly type: 'update_fulfill_htlc';
  readonly channelId: Hex;
  readonly id: number;
  /** 32 bytes. */
  readonly paymentPreimage: Uint8Array;
  /** TLV 1 `attribution_data`: 20 u32 hold times then 210 truncated HMACs, exactly 920 bytes. */
  readonly attributionData?: Uint8Array;
}

/** `update_fail_htlc` (131): fails HTLC `id` with an encrypted BOLT 4 failure. */
export interface UpdateFailHtlc extends WithExtension {
  readonly type: 'update_fail_htlc';
  readonly channelId: Hex;
  readonly id: number;
  readonly reason: Uint8Array;
  /** TLV 1 `attribution_data`, exactly 920 bytes. */
  readonly attributionData?: Uint8Array;
}

/** `update_fail_malformed_htlc` (135): fails HTLC `id` whose onion could not be parsed. */
export interface UpdateFailMalformedHtlc extends WithExtension {
  readonly type: 'update_fail_malformed_htlc';
  readonly channelId: Hex;
  readonly id: number;
  readonly sha256OfOnion: Hex;
  readonly failureCode: number;
}

/** `commitment_signed` (132): signs the receiver's next commitment and its HTLC transactions. */
export interface CommitmentSigned extends WithExtension {
  readonly type: 'commitment_signed';
  readonly channelId: Hex;
  readonly signature: Uint8Array;
  /** One signature per HTLC output, in commitment output order; at most 65535. */
  readonly htlcSignatures: readonly Uint8Array[];
  /** TLV 1: the funding txid (display order) the commitment spends (splicing). */
  readonly fundingTxid?: Hex;
}

/** `revoke_and_ack` (133): revokes the previous commitment and gives the next per-commitment point. */
export interface RevokeAndAck extends WithExtension {
  readonly type: 'revoke_and_ack';
  readonly channelId: Hex;
  /** 32 bytes: the secret of the commitment being revoked. */
  readonly perCommitmentSecret: Uint8Array;
  readonly nextPerCommitmentPoint: Hex;
}

/** `update_fee` (134): the funder changes the commitment fee rate. */
export interface UpdateFee extends WithExtension {
  readonly type: 'update_fee';
  readonly channelId: Hex;
  readonly feeratePerKw: number;
}

/** `channel_reestablish` (136): resynchronizes a channel after reconnection. */
export interface ChannelReestablish extends WithExtension {
  readonly type: 'channel_reestablish';
  readonly channelId: Hex;
  readonly nextCommitmentNumber: number;
  readonly nextRevocationNumber: number;
  /** 32 bytes; zeros while `nextRevocationNumber` is 0. */
  readonly yourLastPerCommitmentSecret: Uint8Array;
  readonly myCurrentPerCommitmentPoint: Hex;
  /** TLV 1 `next_funding`: an interactive funding transaction still being signed. */
  readonly nextFunding?: { readonly txid: Hex; readonly retransmitFlags: number };
  /** TLV 5 `my_current_funding_locked`: the latest funding transaction the sender has locked (splicing). */
  readonly myCurrentFundingLocked?: { readonly txid: Hex; readonly retransmitFlags: number };
}

/** Every message chand decodes. Switch on `type`. */
export type WireMessage =
  | Init
  | ErrorMsg
  | Warning
  | Ping
  | Pong
  | OpenChannel
  | AcceptChannel
  | FundingCreated
  | FundingSigned
  | ChannelReady
  | Shutdown
  | ClosingSigned
  | ClosingComplete
  | ClosingSig
  | UpdateAddHtlc
  | UpdateFulfillHtlc
  | UpdateFailHtlc
  | UpdateFailMalformedHtlc
  | CommitmentSigned
  | RevokeAndAck
  | UpdateFee
  | ChannelReestablish;

/** The `type` names of {@link WireMessage}. */
export type WireMessageName = WireMessage['type'];

/**
 * What `decodeMessage` made of a message:
 * - `known`: a message chand decodes;
 * - `unknown-odd`: an odd type chand does not know; BOLT 1 says to ignore it;
 * - `gossip`: a BOLT 7 message (types 256-265) chand does not decode yet; `payload` is the
 *   raw bytes after the type, for a gossip handler or to drop.
 * An unknown even type is not a result: decodeMessage throws (code WIRE_UNKNOWN_EVEN_MESSAGE).
 */
export type DecodedMessage =
  | { readonly kind: 'known'; readonly message: WireMessage }
  | { readonly kind: 'unknown-odd'; readonly type: number }
  | { readonly kind: 'gossip'; readonly type: number; readonly payload: Uint8Array };
