/**
 * The revocation log as stored before the compact blocks (KV schema 1-3, SQL schema 1-2):
 * one record per revoked state. FROZEN: read only by the migrations that move these
 * entries into blocks (KV migration 4, SQL migration 3), decoded at the TLV level here so
 * that they never depend on the live record schemas.
 *
 * KV value: `[version][minReaderVersion]` then TLV 0 ourOutputIndex (tu64), 2
 * theirOutputIndex (tu64), 4 commitTxid (32 bytes), 5 ourBalanceMsat (tu64), 7
 * theirBalanceMsat (tu64), 9 htlcs (list). SQL `revocation_log.htlcs`: the same envelope,
 * TLV 0 htlcs (list). A list is a BigSize count, then each element as a BigSize length and a
 * TLV stream: 0 paymentHash (32 bytes), 2 refundTimeout (tu64), 4 outputIndex (tu64), 6
 * incoming (one byte 0/1), 8 amountSat (tu64), 9 htlcIndex (tu64).
 */
import { ByteReader, bytesToHex } from '../codec/bytes.js';
import { decodeTlvStream, type TlvRecord } from '../codec/tlv.js';
import { DecodeError } from '../errors.js';
import type { HtlcEntry, RevocationLogEntry } from './types.js';

function fields(stream: Uint8Array, known: readonly number[], what: string): Map<number, Uint8Array> {
  const records: TlvRecord[] = decodeTlvStream(stream, { isKnownType: (t) => known.includes(Number(t)) });
  const out = new Map<number, Uint8Array>();
  for (const r of records) if (known.includes(Number(r.type))) out.set(Number(r.type), r.value);
  for (const t of known) if (t % 2 === 0 && !out.has(t)) throw new DecodeError(`${what}: required field ${t} is missing`);
  return out;
}

function envelope(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length < 2) throw new DecodeError(`${what}: record of ${bytes.length} bytes has no envelope`);
  if (bytes[1]! > 1) throw new DecodeError(`${what}: record needs reader version ${bytes[1]}`);
  return bytes.subarray(2);
}

function int(value: Uint8Array | undefined, what: string): number {
  if (value === undefined) throw new DecodeError(`${what} is missing`);
  if (value.length > 7 || (value.length > 0 && value[0] === 0)) throw new DecodeError(`${what}: not a minimal integer below 2^53`);
  let n = 0;
  for (const b of value) n = n * 256 + b;
  if (!Number.isSafeInteger(n)) throw new DecodeError(`${what}: beyond 2^53`);
  return n;
}

function amount(value: Uint8Array, what: string): bigint {
  if (value.length > 8 || (value.length > 0 && value[0] === 0)) throw new DecodeError(`${what}: not a minimal u64`);
  let n = 0n;
  for (const b of value) n = (n << 8n) | BigInt(b);
  return n;
}

function hash(value: Uint8Array | undefined, what: string): string {
  if (value?.length !== 32) throw new DecodeError(`${what}: expected 32 bytes`);
  return bytesToHex(value);
}

function htlcList(value: Uint8Array): HtlcEntry[] {
  const r = new ByteReader(value);
  const count = r.bigSize();
  if (count > BigInt(r.remaining)) throw new DecodeError(`HTLC list claims ${count} elements in ${r.remaining} bytes`);
  const out: HtlcEntry[] = [];
  for (let i = 0n; i < count; i++) {
    const f = fields(r.varBytes(), [0, 2, 4, 6, 8, 9], 'HtlcEntry');
    const incoming = f.get(6)!;
    if (incoming.length !== 1 || incoming[0]! > 1) throw new DecodeError('HtlcEntry.incoming: expected one byte 0 or 1');
    const entry: HtlcEntry = {
      paymentHash: hash(f.get(0), 'HtlcEntry.paymentHash'),
      refundTimeout: int(f.get(2), 'HtlcEntry.refundTimeout'),
      outputIndex: int(f.get(4), 'HtlcEntry.outputIndex'),
      incoming: incoming[0] === 1,
      amountSat: amount(f.get(8)!, 'HtlcEntry.amountSat'),
    };
    const index = f.get(9);
    out.push(index === undefined ? entry : { ...entry, htlcIndex: int(index, 'HtlcEntry.htlcIndex') });
  }
  r.expectDone('HTLC list');
  return out;
}

/** The entry of a KV revocation-log value (schema 1-3) stored under `height`. */
export function decodeKvLogEntryV0(height: number, bytes: Uint8Array): RevocationLogEntry {
  const f = fields(envelope(bytes, 'RevocationLogEntry'), [0, 2, 4, 5, 7, 9], 'RevocationLogEntry');
  const ours = f.get(5);
  const theirs = f.get(7);
  const htlcs = f.get(9);
  return {
    commitHeight: height,
    ourOutputIndex: int(f.get(0), 'RevocationLogEntry.ourOutputIndex'),
    theirOutputIndex: int(f.get(2), 'RevocationLogEntry.theirOutputIndex'),
    commitTxid: hash(f.get(4), 'RevocationLogEntry.commitTxid'),
    ...(ours === undefined ? {} : { ourBalanceMsat: amount(ours, 'RevocationLogEntry.ourBalanceMsat') }),
    ...(theirs === undefined ? {} : { theirBalanceMsat: amount(theirs, 'RevocationLogEntry.theirBalanceMsat') }),
    htlcs: htlcs === undefined ? [] : htlcList(htlcs),
  };
}

/** The HTLCs of an SQL `revocation_log.htlcs` value (schema 1-2); none for NULL. */
export function decodeSqlLogHtlcsV0(bytes: Uint8Array | null): HtlcEntry[] {
  if (bytes === null) return [];
  return htlcList(fields(envelope(bytes, 'HtlcEntryList'), [0], 'HtlcEntryList').get(0)!);
}
