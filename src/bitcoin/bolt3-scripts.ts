/**
 * The BOLT 3 witness scripts (no option_anchors): funding 2-of-2, to_local (also the output
 * of HTLC-success/-timeout transactions), offered HTLC and received HTLC.
 *
 * "local" is always the owner of the commitment transaction the script appears in: the side
 * whose funds are delayed and who needs a second-stage HTLC transaction. When building the
 * peer's commitment, pass the peer's keys as "local".
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { assertBytes, assertInt, compareBytes } from './bytes.js';
import { assertPublicKey } from './ecdsa.js';
import { OP, compileScript, hash160, p2wshScript, scriptNum } from './script.js';

/** The two funding public keys in script order: lexicographically lesser first. */
export function sortFundingPubkeys(a: Uint8Array, b: Uint8Array): [Uint8Array, Uint8Array] {
  return compareBytes(a, b) <= 0 ? [a, b] : [b, a];
}

/** `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG` with the keys sorted. */
export function fundingWitnessScript(localFundingPubkey: Uint8Array, remoteFundingPubkey: Uint8Array): Uint8Array {
  assertPublicKey('local funding pubkey', localFundingPubkey);
  assertPublicKey('remote funding pubkey', remoteFundingPubkey);
  const [first, second] = sortFundingPubkeys(localFundingPubkey, remoteFundingPubkey);
  return compileScript([OP.OP_2, first, second, OP.OP_2, OP.OP_CHECKMULTISIG]);
}

/** The P2WSH scriptPubKey of the funding output. */
export function fundingScriptPubKey(localFundingPubkey: Uint8Array, remoteFundingPubkey: Uint8Array): Uint8Array {
  return p2wshScript(fundingWitnessScript(localFundingPubkey, remoteFundingPubkey));
}

/** The witness that spends the funding output: `0 <sig for pubkey1> <sig for pubkey2> <script>`; signatures are witness-encoded (DER + sighash byte). */
export function fundingWitness(
  localFundingPubkey: Uint8Array,
  localSignature: Uint8Array,
  remoteFundingPubkey: Uint8Array,
  remoteSignature: Uint8Array,
): Uint8Array[] {
  assertBytes('local signature', localSignature);
  assertBytes('remote signature', remoteSignature);
  const script = fundingWitnessScript(localFundingPubkey, remoteFundingPubkey);
  const localFirst = compareBytes(localFundingPubkey, remoteFundingPubkey) <= 0;
  return localFirst
    ? [new Uint8Array(0), localSignature, remoteSignature, script]
    : [new Uint8Array(0), remoteSignature, localSignature, script];
}

/**
 * to_local (and HTLC-transaction output) script:
 * `OP_IF <revocationpubkey> OP_ELSE <to_self_delay> OP_CSV OP_DROP <local_delayedpubkey> OP_ENDIF OP_CHECKSIG`.
 */
export function toLocalWitnessScript(revocationPubkey: Uint8Array, toSelfDelay: number, localDelayedPubkey: Uint8Array): Uint8Array {
  assertPublicKey('revocation pubkey', revocationPubkey);
  assertPublicKey('local delayed pubkey', localDelayedPubkey);
  assertInt('to_self_delay', toSelfDelay, 0, 0xffff);
  return compileScript([
    OP.OP_IF,
    revocationPubkey,
    OP.OP_ELSE,
    scriptNum(toSelfDelay),
    OP.OP_CHECKSEQUENCEVERIFY,
    OP.OP_DROP,
    localDelayedPubkey,
    OP.OP_ENDIF,
    OP.OP_CHECKSIG,
  ]);
}

/** Keys of an HTLC output script. */
export interface HtlcScriptKeys {
  readonly revocationPubkey: Uint8Array;
  readonly localHtlcPubkey: Uint8Array;
  readonly remoteHtlcPubkey: Uint8Array;
}

/** Offered HTLC script (HTLC sent by the commitment owner): remote claims with the preimage, local times out via HTLC-timeout. */
export function offeredHtlcWitnessScript(keys: HtlcScriptKeys, paymentHash: Uint8Array): Uint8Array {
  checkHtlcKeys(keys);
  assertBytes('payment hash', paymentHash, 32);
  return compileScript([
    OP.OP_DUP,
    OP.OP_HASH160,
    hash160(keys.revocationPubkey),
    OP.OP_EQUAL,
    OP.OP_IF,
    OP.OP_CHECKSIG,
    OP.OP_ELSE,
    keys.remoteHtlcPubkey,
    OP.OP_SWAP,
    OP.OP_SIZE,
    scriptNum(32),
    OP.OP_EQUAL,
    OP.OP_NOTIF,
    OP.OP_DROP,
    OP.OP_2,
    OP.OP_SWAP,
    keys.localHtlcPubkey,
    OP.OP_2,
    OP.OP_CHECKMULTISIG,
    OP.OP_ELSE,
    OP.OP_HASH160,
    ripemd160(paymentHash),
    OP.OP_EQUALVERIFY,
    OP.OP_CHECKSIG,
    OP.OP_ENDIF,
    OP.OP_ENDIF,
  ]);
}

/** Received HTLC script (HTLC sent to the commitment owner): local claims via HTLC-success, remote times out after `cltvExpiry`. */
export function receivedHtlcWitnessScript(keys: HtlcScriptKeys, paymentHash: Uint8Array, cltvExpiry: number): Uint8Array {
  checkHtlcKeys(keys);
  assertBytes('payment hash', paymentHash, 32);
  assertInt('cltv_expiry', cltvExpiry, 0, 0xffff_ffff);
  return compileScript([
    OP.OP_DUP,
    OP.OP_HASH160,
    hash160(keys.revocationPubkey),
    OP.OP_EQUAL,
    OP.OP_IF,
    OP.OP_CHECKSIG,
    OP.OP_ELSE,
    keys.remoteHtlcPubkey,
    OP.OP_SWAP,
    OP.OP_SIZE,
    scriptNum(32),
    OP.OP_EQUAL,
    OP.OP_IF,
    OP.OP_HASH160,
    ripemd160(paymentHash),
    OP.OP_EQUALVERIFY,
    OP.OP_2,
    OP.OP_SWAP,
    keys.localHtlcPubkey,
    OP.OP_2,
    OP.OP_CHECKMULTISIG,
    OP.OP_ELSE,
    OP.OP_DROP,
    scriptNum(cltvExpiry),
    OP.OP_CHECKLOCKTIMEVERIFY,
    OP.OP_DROP,
    OP.OP_CHECKSIG,
    OP.OP_ENDIF,
    OP.OP_ENDIF,
  ]);
}

function checkHtlcKeys(keys: HtlcScriptKeys): void {
  assertPublicKey('revocation pubkey', keys.revocationPubkey);
  assertPublicKey('local htlc pubkey', keys.localHtlcPubkey);
  assertPublicKey('remote htlc pubkey', keys.remoteHtlcPubkey);
}
