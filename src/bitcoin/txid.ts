/**
 * Transaction ids from raw bytes.
 *
 * The txid is the double SHA-256 of the legacy (non-witness) serialization, shown in
 * reversed byte order. Segwit transactions (marker 0x00, flag 0x01) are stripped of their
 * marker, flag and witnesses first. Both functions parse with the strict codec of
 * `transaction.ts`, so there is one transaction parser in the code base.
 */
import { decodeTx, encodeTx, txidOf } from './transaction.js';

/** The txid of a serialized transaction, as lowercase hex in display (reversed) order. Throws DecodeError on malformed bytes. */
export function computeTxid(raw: Uint8Array): string {
  return txidOf(decodeTx(raw));
}

/** The legacy serialization of `raw` (raw itself when it has no witness). Throws DecodeError on malformed bytes. */
export function stripWitness(raw: Uint8Array): Uint8Array {
  const tx = decodeTx(raw);
  if (tx.inputs.every((input) => input.witness.length === 0)) return raw;
  return encodeTx(tx, { witness: false });
}
