/**
 * Just enough of BOLT 2 update messages for the store: which HTLC a settle or fail refers
 * to. The full wire codecs live in wire/.
 */
import type { LogUpdate } from './types.js';

/** BOLT 2 message types of channel updates. */
export const UpdateMessageType = {
  UpdateAddHtlc: 128,
  UpdateFulfillHtlc: 130,
  UpdateFailHtlc: 131,
  UpdateFee: 134,
  UpdateFailMalformedHtlc: 135,
} as const;

/** The type of a serialized wire message, or -1 if it is too short to have one. */
export function messageType(message: Uint8Array): number {
  return message.length < 2 ? -1 : (message[0]! << 8) | message[1]!;
}

/**
 * For a settle or fail update: the HTLC id it resolves and whether it settles it.
 * Undefined for other updates or messages too short to carry an id (2 + 32 + 8 bytes).
 */
export function htlcResolution(update: LogUpdate): { htlcId: number; settled: boolean } | undefined {
  const type = messageType(update.message);
  const settled = type === UpdateMessageType.UpdateFulfillHtlc;
  if (!settled && type !== UpdateMessageType.UpdateFailHtlc && type !== UpdateMessageType.UpdateFailMalformedHtlc) return undefined;
  if (update.message.length < 42) return undefined;
  const view = new DataView(update.message.buffer, update.message.byteOffset + 34, 8);
  return { htlcId: Number(view.getBigUint64(0)), settled };
}
