/**
 * The outputs of a confirmed close that are ours to claim ("contracts", after lnd's contract
 * court), and how each is claimed. Pure apart from signing: every contract is rebuilt from
 * the channel record and the close transaction, so a restart recomputes the same ones and
 * the same (deterministic, RFC 6979) claim transactions.
 *
 * - Our commitment: to_local after to_self_delay; each HTLC output through its second-level
 *   transaction (HTLC-timeout at cltv_expiry, HTLC-success with the preimage) whose output
 *   is a new contract swept after to_self_delay.
 * - The peer's commitment: to_remote at once (P2WPKH, static_remotekey); the HTLCs we offered
 *   after expiry and those it offered with the preimage, spent directly.
 * - A revoked commitment: its to_local and every HTLC output through the revocation key (one
 *   justice transaction, see resolver.ts), and the output of any second-level transaction the
 *   peer moved an HTLC to; our to_remote as above, in a separate sweep.
 * - Anything else (an unknown commitment, e.g. after our data loss): every output paying our
 *   static to_remote key.
 *
 * The commitment is rebuilt with the channel core's own builder (`buildViewTx`) and its txid
 * checked against the close, so HTLC outputs and second-level transactions match the ones
 * both sides signed.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual } from '../bitcoin/bytes.js';
import type { CommitmentTx } from '../bitcoin/commitment.js';
import { buildHtlcTxs, finalizeHtlcTx, htlcTxSighash, type HtlcTx } from '../bitcoin/htlc-tx.js';
import type { JusticeInput } from '../bitcoin/justice.js';
import type { KeyChain, KeyLocator } from '../bitcoin/key-chain.js';
import { perCommitmentPoint } from '../bitcoin/key-derivation.js';
import { toLocalWitnessScript, offeredHtlcWitnessScript, receivedHtlcWitnessScript } from '../bitcoin/bolt3-scripts.js';
import { p2wpkhScript, p2wshScript } from '../bitcoin/script.js';
import { buildDelayedSweepTx, delayedSweepSighash, finalizeDelayedSweep, type DelayedOutput } from '../bitcoin/sweep.js';
import { encodeTx, txidOf, type BitcoinTx, type OutPoint } from '../bitcoin/transaction.js';
import type { ChainTransaction } from '../chain/chain.js';
import { buildViewTx, viewOf } from '../channel/core/commitment-view.js';
import { OUTPUT_INDEX_NONE, type ChannelCommitment, type ChannelConfig, type OpenChannel, type RevocationLogEntry } from '../chanstate/types.js';
import { bytesToHex, hexToBytes } from '../codec/bytes.js';
import { commitmentKeys, type SideBasepoints } from '../funding/initial-channel.js';
import { revealedSecret, type CloseKind } from './classify.js';
import {
  buildDirectClaim,
  htlcSuccessClaimSpec,
  htlcTimeoutClaimSpec,
  p2wpkhClaimSpec,
  type ClaimResult,
  type DirectClaimSpec,
} from './direct-claim.js';

/** Kinds of output a close leaves us. HTLC kinds are named from our side: `htlc_offered` is an HTLC we offered. */
export type OutputKind = 'to_local' | 'to_remote' | 'htlc_offered' | 'htlc_received' | 'htlc_second_level' | 'revoked';

/** The HTLC behind a contract. `incoming` = offered to us. */
export interface HtlcRef {
  readonly paymentHash: string;
  /** The HTLC's id; absent for revoked HTLCs whose log entry did not keep it. */
  readonly htlcIndex?: number;
  readonly incoming: boolean;
  readonly cltvExpiry: number;
}

/** A claim we can build: the transaction, 'dust' (not worth a spend), or 'preimage' (we do not know it). */
export type ClaimPlan = ClaimResult | 'preimage';

/** A spend of a contract's output that leads to a further output to watch. */
export interface FollowedSpend {
  readonly child: Contract;
  /** True if the spend is our own (our second-level HTLC transaction). */
  readonly ours: boolean;
}

/** One output of ours to resolve. */
export interface Contract {
  readonly outpoint: OutPoint;
  readonly amountSat: bigint;
  readonly kind: OutputKind;
  readonly htlc?: HtlcRef;
  /** Blocks after the transaction holding the output confirms before the claim is valid (CSV). */
  readonly csv?: number;
  /** nLockTime of the claim (CLTV): valid from block `lockTime + 1`. */
  readonly lockTime?: number;
  /** Builds our claim; absent for revoked outputs (they go into the justice transaction). */
  readonly claim?: () => ClaimPlan;
  /** For a revoked output: its justice input and the signer of its digest. */
  readonly justice?: { readonly input: JusticeInput; sign(digest: Uint8Array): Uint8Array };
  /** The output to watch next when `spend` (input `vin` spends this output) is a second-level transaction, else undefined. */
  readonly follow?: (spend: ChainTransaction, vin: number) => FollowedSpend | undefined;
}

/** The keys the court signs with (a KeyChain). */
export type CourtKeys = Pick<KeyChain, 'signDigest' | 'signDigestTweaked' | 'signDigestRevocation' | 'shachainProducer'>;

/** What contracts are built from, besides the close itself. */
export interface ContractContext {
  readonly channel: OpenChannel;
  readonly keys: CourtKeys;
  readonly sweepScript: Uint8Array;
  readonly feeratePerKw: number;
  readonly preimageFor: (paymentHash: string) => Uint8Array | undefined;
}

/** The contracts of a close, and the channel's HTLCs that this close gives no output to claim. */
export interface CloseContracts {
  readonly contracts: readonly Contract[];
  /**
   * HTLCs of our current commitments (local, remote, pending remote) that no output of the
   * close carries: trimmed on the confirmed commitment, or absent from it (dangling). They can
   * only fail. On a breach, every current HTLC (the revoked state is not the live one); empty
   * for cooperative and unknown closes.
   */
  readonly offChain: readonly HtlcRef[];
}

/**
 * The contracts of `closeTx`, classified as `kind`. `pendingRemote` is needed for a pending
 * remote close, `revokedState` for a breach (TypeError if missing; RangeError if it is not
 * the entry of this transaction). Throws RangeError if the stored commitment does not rebuild
 * to `closeTx` or a revoked output does not have the script its keys give.
 */
export function closeContracts(
  ctx: ContractContext,
  kind: CloseKind,
  closeTx: BitcoinTx,
  pendingRemote?: ChannelCommitment,
  revokedState?: RevocationLogEntry,
): CloseContracts {
  switch (kind.kind) {
    case 'cooperative':
      return { contracts: [], offChain: [] };
    case 'local':
      return localContracts(ctx, closeTx, pendingRemote);
    case 'remote': {
      const commitment = kind.pending ? pendingRemote : ctx.channel.remoteCommitment;
      if (commitment === undefined) throw new TypeError('expected pendingRemote for a close by the pending remote commitment, got none');
      const pointHex = kind.pending ? ctx.channel.remoteRevocation.nextPoint : ctx.channel.remoteRevocation.currentPoint;
      if (pointHex === undefined) throw new TypeError(`expected the peer's ${kind.pending ? 'next' : 'current'} per-commitment point, got none`);
      return remoteContracts(ctx, closeTx, commitment, hexToBytes(pointHex), pendingRemote);
    }
    case 'breach':
      if (revokedState === undefined) throw new TypeError(`expected revokedState (findPreviousState(${kind.commitHeight})) for a breach, got none`);
      return breachContracts(ctx, closeTx, kind.commitHeight, revokedState, pendingRemote);
    case 'unknown':
      return { contracts: staticRemoteContracts(ctx, closeTx), offChain: [] };
  }
}

// ---- our commitment --------------------------------------------------------------------------

function localContracts(ctx: ContractContext, closeTx: BitcoinTx, pendingRemote: ChannelCommitment | undefined): CloseContracts {
  const { channel, keys } = ctx;
  const commitment = channel.localCommitment;
  const point = keys.shachainProducer(channel.revocationKeyLocator).perCommitmentPoint(BigInt(commitment.commitHeight));
  const built = rebuild(channel, commitment, 'local', point, closeTx);
  const { revocationPubkey, localDelayedPubkey } = built.params.keys;
  const delay = channel.localConfig.csvDelay;
  const delayLocator = locatorOf('delayed-payment basepoint', channel.localConfig.delayBasePoint);
  const delayedContract = (outpoint: OutPoint, amountSat: bigint, kind: OutputKind, htlc?: HtlcRef): Contract => ({
    outpoint,
    amountSat,
    kind,
    ...(htlc === undefined ? {} : { htlc }),
    csv: delay,
    claim: () => delayedClaim(ctx, { outpoint, amountSat, revocationPubkey, localDelayedPubkey, toSelfDelay: delay }, delayLocator, point),
  });

  const contracts: Contract[] = [];
  const txid = built.txid;
  if (built.toLocalOutputIndex >= 0) {
    contracts.push(delayedContract({ txid, index: built.toLocalOutputIndex }, built.outputs[built.toLocalOutputIndex]!.value, 'to_local'));
  }
  const htlcLocator = locatorOf('HTLC basepoint', channel.localConfig.htlcBasePoint);
  for (const htlcTx of buildHtlcTxs(built)) {
    const record = commitment.htlcs[htlcTx.htlcIndex]!;
    const htlc = refOf(record.paymentHash, record.htlcIndex, record.incoming, record.refundTimeout);
    const outpoint = { txid, index: htlcTx.commitmentOutputIndex };
    const secondLevel: OutPoint = { txid: htlcTx.txid, index: 0 };
    const timeout = htlcTx.kind === 'timeout';
    contracts.push({
      outpoint,
      amountSat: htlcTx.inputAmountSat,
      kind: timeout ? 'htlc_offered' : 'htlc_received',
      htlc,
      ...(timeout ? { lockTime: htlcTx.htlc.cltvExpiry } : {}),
      claim: () => secondLevelClaim(ctx, htlcTx, record.signature, htlcLocator, point, htlc.paymentHash),
      follow: (spend) =>
        spend.txid === htlcTx.txid
          ? { child: delayedContract(secondLevel, htlcTx.tx.outputs[0]!.value, 'htlc_second_level', htlc), ours: true }
          : undefined,
    });
  }
  return { contracts, offChain: offChainHtlcs(channel, commitment, pendingRemote) };
}

/** Our signed HTLC-timeout or HTLC-success transaction (fees from the commitment), or 'preimage' when a success lacks it. */
function secondLevelClaim(
  ctx: ContractContext,
  htlcTx: HtlcTx,
  peerSignature: Uint8Array,
  htlcLocator: KeyLocator,
  point: Uint8Array,
  paymentHash: string,
): ClaimPlan {
  let preimage: Uint8Array | undefined;
  if (htlcTx.kind === 'success') {
    preimage = knownPreimage(ctx, paymentHash);
    if (preimage === undefined) return 'preimage';
  }
  if (peerSignature.length !== 64) throw new RangeError(`expected the peer's 64-byte signature of HTLC ${htlcTx.htlcIndex}'s transaction, got ${peerSignature.length} bytes`);
  const ours = ctx.keys.signDigestTweaked(htlcLocator, point, htlcTxSighash(htlcTx));
  const signed = finalizeHtlcTx(htlcTx, { local: ours, remote: peerSignature }, preimage);
  return { raw: encodeTx(signed), txid: txidOf(signed), feeSat: htlcTx.inputAmountSat - htlcTx.tx.outputs[0]!.value };
}

/** Our signed sweep of a delayed output (to_local or a second-level output) after its CSV, or 'dust'. */
function delayedClaim(ctx: ContractContext, output: DelayedOutput, delayLocator: KeyLocator, point: Uint8Array): ClaimResult {
  let sweep;
  try {
    sweep = buildDelayedSweepTx({ outputs: [output], destinationScript: ctx.sweepScript, feeratePerKw: ctx.feeratePerKw });
  } catch (err) {
    // Every other argument was built here and is valid: a RangeError is the fee/dust check.
    if (err instanceof RangeError) return 'dust';
    throw err;
  }
  const signature = ctx.keys.signDigestTweaked(delayLocator, point, delayedSweepSighash(sweep, 0));
  const signed = finalizeDelayedSweep(sweep, [signature]);
  return { raw: encodeTx(signed), txid: txidOf(signed), feeSat: sweep.feeSat };
}

// ---- the peer's commitment -------------------------------------------------------------------

function remoteContracts(
  ctx: ContractContext,
  closeTx: BitcoinTx,
  commitment: ChannelCommitment,
  point: Uint8Array,
  pendingRemote: ChannelCommitment | undefined,
): CloseContracts {
  const { channel, keys } = ctx;
  const built = rebuild(channel, commitment, 'remote', point, closeTx);
  const contracts: Contract[] = [];
  if (built.toRemoteOutputIndex >= 0) {
    const index = built.toRemoteOutputIndex;
    contracts.push(toRemoteContract(ctx, { txid: built.txid, index }, built.outputs[index]!.value));
  }
  const htlcLocator = locatorOf('HTLC basepoint', channel.localConfig.htlcBasePoint);
  const ourHtlcPubkey = built.params.keys.remoteHtlcPubkey;
  const sign = (digest: Uint8Array): Uint8Array => keys.signDigestTweaked(htlcLocator, point, digest);
  built.outputs.forEach((output, index) => {
    if (output.kind !== 'htlc') return;
    const record = commitment.htlcs[output.htlcIndex]!;
    const htlc = refOf(record.paymentHash, record.htlcIndex, record.incoming, record.refundTimeout);
    const outpoint = { txid: built.txid, index };
    if (!record.incoming) {
      // Their received HTLC: ours again after expiry.
      contracts.push({
        outpoint,
        amountSat: output.value,
        kind: 'htlc_offered',
        htlc,
        lockTime: htlc.cltvExpiry,
        claim: () => claimDirect(ctx, htlcTimeoutClaimSpec(outpoint, output.value, output.witnessScript, htlc.cltvExpiry, ourHtlcPubkey, sign)),
      });
    } else {
      contracts.push({
        outpoint,
        amountSat: output.value,
        kind: 'htlc_received',
        htlc,
        claim: () => {
          const preimage = knownPreimage(ctx, htlc.paymentHash);
          if (preimage === undefined) return 'preimage';
          return claimDirect(ctx, htlcSuccessClaimSpec(outpoint, output.value, output.witnessScript, preimage, ourHtlcPubkey, sign));
        },
      });
    }
  });
  return { contracts, offChain: offChainHtlcs(channel, commitment, pendingRemote) };
}

function toRemoteContract(ctx: ContractContext, outpoint: OutPoint, amountSat: bigint): Contract {
  const base = ctx.channel.localConfig.paymentBasePoint;
  const locator = locatorOf('payment basepoint', base);
  const spec = (): DirectClaimSpec => p2wpkhClaimSpec(outpoint, amountSat, hexToBytes(base.pubkey), (d) => ctx.keys.signDigest(locator, d));
  return { outpoint, amountSat, kind: 'to_remote', claim: () => claimDirect(ctx, spec()) };
}

/** Every output of `closeTx` paying our static to_remote key (option_static_remotekey: the same on every remote commitment). */
function staticRemoteContracts(ctx: ContractContext, closeTx: BitcoinTx): Contract[] {
  const script = p2wpkhScript(hexToBytes(ctx.channel.localConfig.paymentBasePoint.pubkey));
  const txid = txidOf(closeTx);
  return closeTx.outputs.flatMap((o, index) => (bytesEqual(o.script, script) ? [toRemoteContract(ctx, { txid, index }, o.value)] : []));
}

// ---- a revoked commitment --------------------------------------------------------------------

function breachContracts(
  ctx: ContractContext,
  closeTx: BitcoinTx,
  commitHeight: number,
  entry: RevocationLogEntry,
  pendingRemote: ChannelCommitment | undefined,
): CloseContracts {
  const { channel, keys } = ctx;
  const txid = txidOf(closeTx);
  if (entry.commitHeight !== commitHeight || entry.commitTxid !== txid) {
    throw new RangeError(`expected the revocation log entry of commitment ${commitHeight} (${txid}), got height ${entry.commitHeight} (${entry.commitTxid})`);
  }
  const secret = revealedSecret(channel, commitHeight);
  if (secret === undefined) throw new RangeError(`expected the peer's revealed secret of commitment ${commitHeight}, got none`);
  const point = perCommitmentPoint(secret);
  const theirKeys = commitmentKeys(sideOf(channel.remoteConfig), sideOf(channel.localConfig), point);
  const revocationLocator = locatorOf('revocation basepoint', channel.localConfig.revocationBasePoint);
  const signRevocation = (digest: Uint8Array): Uint8Array => keys.signDigestRevocation(revocationLocator, secret, digest);
  const theirDelay = channel.remoteConfig.csvDelay;
  const toLocalScript = p2wshScript(toLocalWitnessScript(theirKeys.revocationPubkey, theirDelay, theirKeys.localDelayedPubkey));

  const outputAt = (index: number, what: string): { outpoint: OutPoint; amountSat: bigint; script: Uint8Array } => {
    const output = closeTx.outputs[index];
    if (output === undefined) throw new RangeError(`expected the revoked commitment to have ${what} output ${index}, got ${closeTx.outputs.length} outputs`);
    return { outpoint: { txid, index }, amountSat: output.value, script: output.script };
  };
  const revokedToLocal = (outpoint: OutPoint, amountSat: bigint, htlc?: HtlcRef): Contract => ({
    outpoint,
    amountSat,
    kind: 'revoked',
    ...(htlc === undefined ? {} : { htlc }),
    justice: {
      input: { kind: 'to_local', outpoint, amountSat, revocationPubkey: theirKeys.revocationPubkey, localDelayedPubkey: theirKeys.localDelayedPubkey, toSelfDelay: theirDelay },
      sign: signRevocation,
    },
  });

  const contracts: Contract[] = [];
  if (entry.theirOutputIndex !== OUTPUT_INDEX_NONE) {
    const o = outputAt(entry.theirOutputIndex, 'to_local');
    expectScript(o.script, toLocalScript, `revoked to_local output ${o.outpoint.index}`);
    contracts.push(revokedToLocal(o.outpoint, o.amountSat));
  }
  if (entry.ourOutputIndex !== OUTPUT_INDEX_NONE) {
    const o = outputAt(entry.ourOutputIndex, 'to_remote');
    expectScript(o.script, p2wpkhScript(theirKeys.remotePaymentPubkey), `to_remote output ${o.outpoint.index}`);
    contracts.push(toRemoteContract(ctx, o.outpoint, o.amountSat));
  }
  const htlcKeys = { revocationPubkey: theirKeys.revocationPubkey, localHtlcPubkey: theirKeys.localHtlcPubkey, remoteHtlcPubkey: theirKeys.remoteHtlcPubkey };
  for (const h of entry.htlcs) {
    const o = outputAt(h.outputIndex, 'HTLC');
    const paymentHash = hexToBytes(h.paymentHash);
    const htlc = refOf(h.paymentHash, h.htlcIndex, h.incoming, h.refundTimeout);
    // Offered to us = offered by the owner of the revoked commitment.
    const input: JusticeInput = h.incoming
      ? { kind: 'offered_htlc', outpoint: o.outpoint, amountSat: o.amountSat, keys: htlcKeys, paymentHash }
      : { kind: 'received_htlc', outpoint: o.outpoint, amountSat: o.amountSat, keys: htlcKeys, paymentHash, cltvExpiry: h.refundTimeout };
    const script = h.incoming ? offeredHtlcWitnessScript(htlcKeys, paymentHash) : receivedHtlcWitnessScript(htlcKeys, paymentHash, h.refundTimeout);
    expectScript(o.script, p2wshScript(script), `revoked HTLC output ${o.outpoint.index}`);
    contracts.push({
      outpoint: o.outpoint,
      amountSat: o.amountSat,
      kind: 'revoked',
      htlc,
      justice: { input, sign: signRevocation },
      // Its HTLC-success/-timeout transaction pays the revocable to_local script: take that output too.
      follow: (spend, vin) => {
        const out = spend.outputs[0];
        if (spend.inputs[vin]?.witness.length !== 5 || out === undefined || !bytesEqual(out.script, toLocalScript)) return undefined;
        return { child: revokedToLocal({ txid: spend.txid, index: 0 }, out.value, htlc), ours: false };
      },
    });
  }
  return { contracts, offChain: offChainHtlcs(channel, undefined, pendingRemote) };
}

// ---- helpers ---------------------------------------------------------------------------------

/** The commitment `commitment` of `owner` rebuilt at `point`; RangeError unless it is `closeTx`. */
function rebuild(channel: OpenChannel, commitment: ChannelCommitment, owner: 'local' | 'remote', point: Uint8Array, closeTx: BitcoinTx): CommitmentTx {
  const built = buildViewTx(channel, viewOf(commitment), owner, commitment.commitHeight, point);
  const txid = txidOf(closeTx);
  if (built.txid !== txid) {
    throw new RangeError(`expected the stored ${owner} commitment ${commitment.commitHeight} to rebuild to ${txid}, got ${built.txid}`);
  }
  return built;
}

function claimDirect(ctx: ContractContext, spec: DirectClaimSpec): ClaimResult {
  return buildDirectClaim(spec, ctx.sweepScript, ctx.feeratePerKw);
}

/** The preimage of `paymentHash` if known and correct (a wrong one from the callback is ignored, never used). */
function knownPreimage(ctx: ContractContext, paymentHash: string): Uint8Array | undefined {
  const preimage = ctx.preimageFor(paymentHash);
  if (preimage === undefined || preimage.length !== 32 || bytesToHex(sha256(preimage)) !== paymentHash) return undefined;
  return preimage;
}

/** The HTLCs of our current commitments without an output on `confirmed` (all of them when undefined), once each. */
function offChainHtlcs(channel: OpenChannel, confirmed: ChannelCommitment | undefined, pendingRemote: ChannelCommitment | undefined): HtlcRef[] {
  const key = (h: { incoming: boolean; htlcIndex: number }): string => `${h.incoming}:${h.htlcIndex}`;
  const onChain = new Set((confirmed?.htlcs ?? []).filter((h) => h.outputIndex >= 0).map(key));
  const seen = new Set<string>();
  const out: HtlcRef[] = [];
  for (const c of [channel.localCommitment, channel.remoteCommitment, ...(pendingRemote === undefined ? [] : [pendingRemote])]) {
    for (const h of c.htlcs) {
      const k = key(h);
      if (onChain.has(k) || seen.has(k)) continue;
      seen.add(k);
      out.push(refOf(h.paymentHash, h.htlcIndex, h.incoming, h.refundTimeout));
    }
  }
  return out;
}

function refOf(paymentHash: string, htlcIndex: number | undefined, incoming: boolean, cltvExpiry: number): HtlcRef {
  return { paymentHash, ...(htlcIndex === undefined ? {} : { htlcIndex }), incoming, cltvExpiry };
}

function sideOf(config: ChannelConfig): SideBasepoints {
  return {
    revocationBasepoint: config.revocationBasePoint.pubkey,
    paymentBasepoint: config.paymentBasePoint.pubkey,
    delayedPaymentBasepoint: config.delayBasePoint.pubkey,
    htlcBasepoint: config.htlcBasePoint.pubkey,
  };
}

function locatorOf(name: string, key: { readonly locator?: KeyLocator }): KeyLocator {
  if (key.locator === undefined) throw new TypeError(`expected our ${name} to have its key locator, got none`);
  return key.locator;
}

function expectScript(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (!bytesEqual(actual, expected)) throw new RangeError(`expected ${what} to pay ${bytesToHex(expected)}, got ${bytesToHex(actual)}`);
}

