/**
 * Legacy cooperative-close fee negotiation (BOLT 2 "Legacy Closing Negotiation:
 * closing_signed", BOLT 3 "Legacy Closing Transaction"), as a pure state machine.
 *
 * Overview: one `ClosingNegotiation` lives from the moment both `shutdown`s are exchanged and
 * no HTLC is left until the closing transaction is agreed or the negotiation fails. The actor
 * feeds it each `closing_signed` and performs the returned step (send, broadcast, warn or
 * fail); the module itself does no I/O, keeps no clock and asks the caller's `signer` only to
 * sign digests with our funding key. The actor enforces the timeouts the spec asks for ("MUST
 * fail the channel" when no response comes after a reasonable time). A reconnection restarts
 * the negotiation: make a new instance (the "strictly between" rule holds "UNLESS it has
 * since reconnected").
 *
 * Which transaction is signed: BOLT 3 says the signer "MUST remove any output below its own
 * `dust_limit_satoshis`" and "MAY eliminate its own output", so each side may sign a
 * different variant. We sign the variant without any output below either side's dust limit
 * (and without our own output if it is below the relay dust threshold of its script, rather
 * than force the peer to fail the channel over it). A peer's signature is checked against
 * every variant it may have signed: with its own dust limit, with or without its own output,
 * and ours (which a peer adopting our proposal, or sharing our rule, signs); none of them
 * leaves out our output unless it is below a dust limit. Once a fee is agreed we (re)sign
 * exactly the variant the peer's signature covers, after checking that it holds no output we
 * may not sign (below our dust limit) or relay; so both signatures always meet on one
 * transaction.
 */
import { feeForWeight, MAX_FEERATE_PER_KW } from '../../bitcoin/bolt3-fees.js';
import { fundingWitnessScript } from '../../bitcoin/bolt3-scripts.js';
import { assertBigInt, assertBytes, assertInt } from '../../bitcoin/bytes.js';
import { buildClosingTx, closingSighash, finalizeClosingTx, verifyClosingSignature } from '../../bitcoin/closing.js';
import type { ClosingTx, ClosingTxParams } from '../../bitcoin/closing.js';
import { classifyOutputScript, dustThreshold } from '../../bitcoin/script.js';
import { encodeTx, MAX_MONEY_SAT } from '../../bitcoin/transaction.js';
import type { OutPoint } from '../../bitcoin/transaction.js';
import { expectedTxWeight, witnessSize } from '../../bitcoin/weight.js';

/** A `fee_range` TLV: the fees, in satoshis, a side accepts for the closing transaction (inclusive). */
export interface FeeRange {
  readonly minFeeSat: bigint;
  readonly maxFeeSat: bigint;
}

/** Everything the negotiation needs about the channel, fixed once both `shutdown`s are exchanged. */
export interface ClosingTerms {
  readonly fundingOutpoint: OutPoint;
  readonly fundingAmountSat: bigint;
  readonly localFundingPubkey: Uint8Array;
  readonly remoteFundingPubkey: Uint8Array;
  /** The funder pays the fee and sends the first closing_signed. */
  readonly weAreFunder: boolean;
  /** The scriptpubkeys of our and the peer's `shutdown`. */
  readonly localScript: Uint8Array;
  readonly remoteScript: Uint8Array;
  /** Final balances, no HTLCs left: they add up to the funding amount. */
  readonly localBalanceMsat: bigint;
  readonly remoteBalanceMsat: bigint;
  readonly localDustLimitSat: bigint;
  readonly remoteDustLimitSat: bigint;
  /** Our acceptable fee range in sat (see `feeRangeFor`); its maximum is at most the funder's balance. */
  readonly ourFeeRange: FeeRange;
  /** Our preferred fee, inside `ourFeeRange`. */
  readonly ourFeeSat: bigint;
}

/** The channel part of `ClosingTerms`: what `feeRangeFor` needs. */
export type ClosingChannelTerms = Omit<ClosingTerms, 'ourFeeRange' | 'ourFeeSat'>;

/** Feerates, in sat per 1000 weight units, from which `feeRangeFor` derives fees. */
export interface ClosingFeerates {
  readonly min: number;
  readonly target: number;
  readonly max: number;
}

/** The fields of a `closing_signed` we send (the actor adds the channel id). */
export interface OutgoingClosingSigned {
  readonly feeSat: bigint;
  /** 64-byte compact signature with our funding key. */
  readonly signature: Uint8Array;
  readonly feeRange: FeeRange;
}

/** The fields of a `closing_signed` we received. */
export interface IncomingClosingSigned {
  readonly feeSat: bigint;
  readonly signature: Uint8Array;
  readonly feeRange?: FeeRange;
}

/**
 * What the actor does next. `send`: send the message, keep negotiating. `send_and_done`: send
 * the message and broadcast `closingTx` (the fee is agreed). `done`: broadcast `closingTx`,
 * nothing to send (the peer accepted the fee we had sent). `fail`: with `warning` true send a
 * `warning` and disconnect (the spec's "SHOULD send a warning" cases, and those where it
 * allows a warning instead of an error); with false send an `error` and fail the channel.
 * After any step but `send` the negotiation is over.
 */
export type NegotiationStep =
  | { readonly action: 'send'; readonly message: OutgoingClosingSigned }
  | {
      readonly action: 'send_and_done';
      readonly message: OutgoingClosingSigned;
      /** Fully signed closing transaction, ready to broadcast. */
      readonly closingTx: Uint8Array;
      readonly txid: string;
      readonly feeSat: bigint;
    }
  | { readonly action: 'done'; readonly closingTx: Uint8Array; readonly txid: string; readonly feeSat: bigint }
  | { readonly action: 'fail'; readonly reason: string; readonly warning: boolean };

/**
 * Expected weight of the legacy closing transaction with both outputs: one funding input
 * whose witness is `0 <sig> <sig> <2-of-2 script>` with 73-byte signatures (the BOLT 3
 * expected-weight assumption), and one output per shutdown script.
 */
export function closingTxWeight(localScript: Uint8Array, remoteScript: Uint8Array, localFundingPubkey: Uint8Array, remoteFundingPubkey: Uint8Array): number {
  assertBytes('local script', localScript);
  assertBytes('remote script', remoteScript);
  const script = fundingWitnessScript(localFundingPubkey, remoteFundingPubkey);
  return expectedTxWeight(
    [{ scriptSigSize: 0, witnessSize: witnessSize([0, 73, 73, script.length]) }],
    [
      { value: 0n, script: localScript },
      { value: 0n, script: remoteScript },
    ],
  );
}

/**
 * Our fee range and preferred fee from feerates: each fee is feerate × `closingTxWeight` /
 * 1000 (rounded down), capped by the funder's balance. Throws TypeError/RangeError if a
 * feerate is not an integer in [0, 2^32-1], if not min ≤ target ≤ max, or for a malformed
 * term.
 */
export function feeRangeFor(terms: ClosingChannelTerms, feeratePerKw: ClosingFeerates): { ourFeeRange: FeeRange; ourFeeSat: bigint } {
  for (const key of ['min', 'target', 'max'] as const) assertInt(`feeratePerKw.${key}`, feeratePerKw[key], 0, MAX_FEERATE_PER_KW);
  if (feeratePerKw.min > feeratePerKw.target || feeratePerKw.target > feeratePerKw.max) {
    throw new RangeError(`expected feerates min <= target <= max, got ${feeratePerKw.min}, ${feeratePerKw.target}, ${feeratePerKw.max}`);
  }
  checkBalances(terms);
  const weight = closingTxWeight(terms.localScript, terms.remoteScript, terms.localFundingPubkey, terms.remoteFundingPubkey);
  const cap = funderBalanceSat(terms);
  const fee = (rate: number): bigint => minBig(feeForWeight(rate, weight), cap);
  return { ourFeeRange: { minFeeSat: fee(feeratePerKw.min), maxFeeSat: fee(feeratePerKw.max) }, ourFeeSat: fee(feeratePerKw.target) };
}

/**
 * One side of a legacy closing_signed negotiation. Deterministic: the same terms and messages
 * give the same steps. Not reentrant; the actor calls it from its mailbox. Throws
 * TypeError/RangeError on malformed terms (balances that do not add up, a fee range that is
 * empty, does not hold `ourFeeSat` or exceeds the funder's balance) or if `signer` returns a
 * signature that does not verify with our funding key; a peer's bad message is never thrown,
 * it is a `fail` step.
 */
export class ClosingNegotiation {
  readonly #terms: ClosingTerms;
  readonly #signer: (digest: Uint8Array) => Uint8Array;
  #sent: OutgoingClosingSigned | undefined;
  #lastReceivedFeeSat: bigint | undefined;
  #finished = false;

  /** `signer` signs a 32-byte sighash with our funding key and returns the 64-byte compact signature. */
  constructor(terms: ClosingTerms, signer: (digest: Uint8Array) => Uint8Array) {
    if (typeof signer !== 'function') throw new TypeError(`expected signer to be a function, got ${typeof signer}`);
    checkTerms(terms);
    this.#terms = terms;
    this.#signer = signer;
  }

  /** The fee we last proposed, if any. */
  get lastSentFeeSat(): bigint | undefined {
    return this.#sent?.feeSat;
  }

  /**
   * The funder's first closing_signed, at `ourFeeSat` with `ourFeeRange` (BOLT 2: the funding
   * node "SHOULD send a `closing_signed` message"). Throws RangeError if we are not the funder
   * or anything was already sent or received.
   */
  start(): NegotiationStep {
    if (!this.#terms.weAreFunder) throw new RangeError('expected start() on the funder, got it on the fundee');
    if (this.#sent !== undefined || this.#lastReceivedFeeSat !== undefined || this.#finished) {
      throw new RangeError('expected start() before any closing_signed, got it after the negotiation began');
    }
    return this.#propose(this.#terms.ourFeeSat, this.#terms.ourFeeRange);
  }

  /**
   * Handles the peer's closing_signed: checks the message, its signature (on any variant the
   * peer may have signed) and the dust rules, then applies the fee_range rules (or, without
   * fee_range, the legacy "strictly between" rule) and returns what to do. Throws TypeError
   * only for values of the wrong JavaScript type.
   */
  onClosingSigned(msg: IncomingClosingSigned): NegotiationStep {
    assertBigInt('closing_signed fee_satoshis', msg.feeSat, 0n, (1n << 64n) - 1n);
    assertBytes('closing_signed signature', msg.signature);
    if (msg.feeRange !== undefined) {
      assertBigInt('closing_signed min_fee_satoshis', msg.feeRange.minFeeSat, 0n, (1n << 64n) - 1n);
      assertBigInt('closing_signed max_fee_satoshis', msg.feeRange.maxFeeSat, 0n, (1n << 64n) - 1n);
    }
    if (this.#finished) return this.#fail('closing_signed received after the negotiation ended', true);
    const fee = msg.feeSat;
    const theirRange = msg.feeRange;
    if (theirRange !== undefined && theirRange.minFeeSat > theirRange.maxFeeSat) {
      return this.#fail(`fee_range is empty: min_fee_satoshis ${theirRange.minFeeSat} > max_fee_satoshis ${theirRange.maxFeeSat}`, false);
    }
    if (theirRange !== undefined && !inRange(fee, theirRange)) {
      return this.#fail(`fee_satoshis ${fee} is outside the sender's own fee_range [${theirRange.minFeeSat}, ${theirRange.maxFeeSat}]`, false);
    }
    const funderSat = funderBalanceSat(this.#terms);
    if (fee > funderSat) return this.#fail(`fee_satoshis ${fee} exceeds the funder's balance of ${funderSat} sat`, false);

    const closing = this.#variantSignedByPeer(fee, msg.signature);
    // "if the `signature` is not valid for either variant of closing transaction ... OR
    // non-compliant with LOW-S-standard rule: MUST send a `warning` and close the connection,
    // or send an `error` and fail the channel." (verifyDigest refuses high-S signatures.)
    if (closing === undefined) return this.#fail(`closing_signed signature for fee ${fee} sat is not valid for any closing transaction variant`, true);
    const problem = this.#unsignableProblem(closing);
    if (problem !== undefined) return this.#fail(problem, false);
    const signed: PeerSigned = { closing, signature: msg.signature };

    const previousReceived = this.#lastReceivedFeeSat;
    this.#lastReceivedFeeSat = fee;
    const sent = this.#sent;
    // "if `fee_satoshis` is equal to its previously sent `fee_satoshis`: SHOULD sign and
    // broadcast the final closing transaction."
    if (sent !== undefined && fee === sent.feeSat) return this.#complete(signed, undefined);
    if (theirRange !== undefined) return this.#onFeeRange(signed, theirRange);
    // "if `fee_satoshis` matches its previously sent `fee_range`: SHOULD use `fee_satoshis` to
    // sign and broadcast ... SHOULD reply with a `closing_signed` with the same `fee_satoshis`".
    const ourRange = sent?.feeRange ?? this.#terms.ourFeeRange;
    if (sent !== undefined && inRange(fee, ourRange)) return this.#complete(signed, ourRange);
    // "otherwise, if `fee_satoshis` is not strictly between its last-sent `fee_satoshis` and
    // its previously-received `fee_satoshis` ...: SHOULD send a `warning` and close the
    // connection, or send an `error` and fail the channel."
    if (sent !== undefined && previousReceived !== undefined && !strictlyBetween(fee, sent.feeSat, previousReceived)) {
      return this.#fail(`fee_satoshis ${fee} is not strictly between our ${sent.feeSat} and their previous ${previousReceived}`, true);
    }
    // "otherwise, if the receiver agrees with the fee: SHOULD reply with a `closing_signed` with
    // the same `fee_satoshis` value."
    if (inRange(fee, ourRange)) return this.#complete(signed, ourRange);
    // "otherwise: MUST propose a value "strictly between" the received `fee_satoshis` and its
    // previously-sent `fee_satoshis`."
    if (sent === undefined) return this.#propose(this.#terms.ourFeeSat, ourRange);
    const next = feeStrictlyBetween(sent.feeSat, fee, ourRange);
    if (next === undefined) return this.#fail(`no fee strictly between our ${sent.feeSat} and their ${fee} sat lies in our range [${ourRange.minFeeSat}, ${ourRange.maxFeeSat}]`, true);
    return this.#propose(next, ourRange);
  }

  /** The fee_range branch of the receiver's rules. */
  #onFeeRange(signed: PeerSigned, theirRange: FeeRange): NegotiationStep {
    const fee = signed.closing.params.feeSat;
    const ourRange = this.#rangeToSend(theirRange);
    const overlap = intersect(ourRange, theirRange);
    // "if there is no overlap between that and its own `fee_range`: SHOULD send a warning"
    // (the actor fails the channel if no satisfying fee_range comes in time).
    if (overlap === undefined) {
      return this.#fail(`no overlap between our fee_range [${ourRange.minFeeSat}, ${ourRange.maxFeeSat}] and theirs [${theirRange.minFeeSat}, ${theirRange.maxFeeSat}]`, true);
    }
    if (this.#terms.weAreFunder) {
      // "if `fee_satoshis` is not in the overlap between the sent and received `fee_range`:
      // MUST fail the channel; otherwise: MUST reply with the same `fee_satoshis`."
      if (!inRange(fee, overlap)) return this.#fail(`fee_satoshis ${fee} is outside the overlap [${overlap.minFeeSat}, ${overlap.maxFeeSat}] of the fee ranges`, false);
      return this.#complete(signed, ourRange);
    }
    // "if it has already sent a `closing_signed`: if `fee_satoshis` is not the same as the
    // value it sent: MUST fail the channel" (the same value was handled by the caller).
    if (this.#sent !== undefined) return this.#fail(`fee_satoshis ${fee} differs from the ${this.#sent.feeSat} sat we sent`, false);
    // "otherwise: MUST propose a `fee_satoshis` in the overlap between received and
    // (about-to-be) sent `fee_range`": theirs if it is there, else ours moved into it.
    if (inRange(fee, overlap)) return this.#complete(signed, ourRange);
    return this.#propose(clamp(this.#terms.ourFeeSat, overlap), ourRange);
  }

  /**
   * The fee_range we send. The fundee, as the spec asks, "SHOULD set `max_fee_satoshis` to at
   * least the `max_fee_satoshis` received" (the funder pays, up to its balance); the funder
   * always sends its own.
   */
  #rangeToSend(theirRange: FeeRange | undefined): FeeRange {
    const ours = this.#sent?.feeRange ?? this.#terms.ourFeeRange;
    if (this.#terms.weAreFunder || theirRange === undefined) return ours;
    const theirMax = minBig(theirRange.maxFeeSat, funderBalanceSat(this.#terms));
    return { minFeeSat: ours.minFeeSat, maxFeeSat: maxBig(ours.maxFeeSat, theirMax) };
  }

  /** Signs our variant at `feeSat` and sends it. */
  #propose(feeSat: bigint, feeRange: FeeRange): NegotiationStep {
    let ours: ClosingTx;
    try {
      ours = this.#ourVariant(feeSat);
    } catch (cause) {
      if (cause instanceof RangeError) return this.#fail(`cannot build a closing transaction at fee ${feeSat} sat: ${cause.message}`, false);
      throw cause;
    }
    const problem = relayDustProblem(ours);
    if (problem !== undefined) return this.#fail(problem, false);
    const message: OutgoingClosingSigned = { feeSat, signature: this.#sign(ours), feeRange };
    this.#sent = message;
    return { action: 'send', message };
  }

  /** Agreement on `signed` (the peer's variant): sign it, finalize it, reply unless `replyRange` is undefined. */
  #complete(signed: PeerSigned, replyRange: FeeRange | undefined): NegotiationStep {
    const { closing } = signed;
    const feeSat = closing.params.feeSat;
    const ourSignature = this.#sign(closing);
    const closingTx = encodeTx(finalizeClosingTx(closing, ourSignature, signed.signature));
    this.#finished = true;
    if (replyRange === undefined) return { action: 'done', closingTx, txid: closing.txid, feeSat };
    const message: OutgoingClosingSigned = { feeSat, signature: ourSignature, feeRange: replyRange };
    this.#sent = message;
    return { action: 'send_and_done', message, closingTx, txid: closing.txid, feeSat };
  }

  #fail(reason: string, warning: boolean): NegotiationStep {
    this.#finished = true;
    return { action: 'fail', reason, warning };
  }

  /**
   * The closing transaction variant `signature` is valid for at `feeSat`, if any. The peer
   * "MUST remove any output below its own `dust_limit_satoshis`" and "MAY eliminate its own
   * output"; a peer that adopted our proposal signs our variant.
   */
  #variantSignedByPeer(feeSat: bigint, signature: Uint8Array): ClosingTx | undefined {
    const t = this.#terms;
    const seen = new Set<string>();
    // The variant a peer with our rule signs (it equals the larger-dust-limit variant whenever
    // that one is signable), then the peer's two BOLT 3 variants.
    const attempts: (() => ClosingTx)[] = [
      () => this.#ourVariant(feeSat),
      () => this.#build(feeSat, t.remoteDustLimitSat, false, false),
      () => this.#build(feeSat, t.remoteDustLimitSat, false, true),
    ];
    for (const attempt of attempts) {
      let candidate: ClosingTx;
      try {
        candidate = attempt();
      } catch (cause) {
        // A variant without any output above dust does not exist; try the others.
        if (cause instanceof RangeError) continue;
        throw cause;
      }
      if (seen.has(candidate.txid)) continue;
      seen.add(candidate.txid);
      if (verifyClosingSignature(candidate, signature, t.remoteFundingPubkey)) return candidate;
    }
    return undefined;
  }

  /** Why we cannot co-sign the peer's variant, or undefined. */
  #unsignableProblem(closing: ClosingTx): string | undefined {
    const t = this.#terms;
    const relay = relayDustProblem(closing);
    if (relay !== undefined) return relay;
    // BOLT 3: each node offering a signature "MUST remove any output below its own
    // `dust_limit_satoshis`", so we cannot sign a variant that keeps one.
    for (const output of closing.tx.outputs) {
      if (classifyOutputScript(output.script) !== 'op_return' && output.value < t.localDustLimitSat) {
        return `closing output of ${output.value} sat is below our dust limit of ${t.localDustLimitSat} sat`;
      }
    }
    return undefined;
  }

  /**
   * The variant we sign: no output below either side's dust limit, and our own output left
   * out (BOLT 3: "MAY eliminate its own output") if it is below its script's relay dust
   * threshold, which would otherwise make the peer fail the channel.
   */
  #ourVariant(feeSat: bigint): ClosingTx {
    const t = this.#terms;
    const limit = maxBig(t.localDustLimitSat, t.remoteDustLimitSat);
    const full = this.#build(feeSat, limit, false, false);
    const local = full.localOutputIndex >= 0 ? full.tx.outputs[full.localOutputIndex] : undefined;
    if (local === undefined || local.value >= dustThreshold(local.script)) return full;
    return this.#build(feeSat, limit, true, false);
  }

  #build(feeSat: bigint, dustLimitSat: bigint, omitLocalOutput: boolean, omitRemoteOutput: boolean): ClosingTx {
    return buildClosingTx({ ...closingParams(this.#terms, feeSat, dustLimitSat), omitLocalOutput, omitRemoteOutput });
  }

  #sign(closing: ClosingTx): Uint8Array {
    const signature = this.#signer(closingSighash(closing));
    if (!(signature instanceof Uint8Array) || !verifyClosingSignature(closing, signature, this.#terms.localFundingPubkey)) {
      throw new RangeError('expected the signer to return a valid signature for the local funding key, got one that does not verify');
    }
    return signature;
  }
}

/** A closing transaction variant with the peer's valid signature of it. */
interface PeerSigned {
  readonly closing: ClosingTx;
  readonly signature: Uint8Array;
}

/**
 * BOLT 2: "if one of the outputs in the closing transaction is below the dust limit for its
 * `scriptpubkey` (see BOLT 3): MUST fail the channel".
 */
function relayDustProblem(closing: ClosingTx): string | undefined {
  for (const output of closing.tx.outputs) {
    const threshold = dustThreshold(output.script);
    if (output.value < threshold) return `closing output of ${output.value} sat is below the ${threshold} sat dust threshold of its scriptpubkey`;
  }
  return undefined;
}

/** A fee strictly between `sent` and `received`, in `range`, moving halfway toward `received`; undefined if there is none. */
function feeStrictlyBetween(sent: bigint, received: bigint, range: FeeRange): bigint | undefined {
  const candidate = received > sent ? minBig((sent + received) / 2n, range.maxFeeSat) : maxBig((sent + received + 1n) / 2n, range.minFeeSat);
  return strictlyBetween(candidate, sent, received) && inRange(candidate, range) ? candidate : undefined;
}

function checkTerms(t: ClosingTerms): void {
  if (typeof t !== 'object' || t === null) throw new TypeError(`expected closing terms as an object, got ${t === null ? 'null' : typeof t}`);
  if (typeof t.weAreFunder !== 'boolean') throw new TypeError(`expected weAreFunder to be a boolean, got ${typeof t.weAreFunder}`);
  checkBalances(t);
  assertBigInt('local dust limit', t.localDustLimitSat, 0n, MAX_MONEY_SAT);
  assertBigInt('remote dust limit', t.remoteDustLimitSat, 0n, MAX_MONEY_SAT);
  assertBigInt('ourFeeRange.minFeeSat', t.ourFeeRange?.minFeeSat, 0n, MAX_MONEY_SAT);
  assertBigInt('ourFeeRange.maxFeeSat', t.ourFeeRange.maxFeeSat, t.ourFeeRange.minFeeSat, funderBalanceSat(t));
  assertBigInt('ourFeeSat', t.ourFeeSat, t.ourFeeRange.minFeeSat, t.ourFeeRange.maxFeeSat);
  // Builds once so a malformed outpoint, key or script is reported now, not mid-negotiation.
  buildClosingTx(closingParams(t, 0n, 0n));
}

/** The BOLT 3 legacy closing transaction of `t` at `feeSat`, outputs below `dustLimitSat` left out. */
function closingParams(t: ClosingChannelTerms, feeSat: bigint, dustLimitSat: bigint): ClosingTxParams {
  return {
    fundingOutpoint: t.fundingOutpoint,
    fundingAmountSat: t.fundingAmountSat,
    localFundingPubkey: t.localFundingPubkey,
    remoteFundingPubkey: t.remoteFundingPubkey,
    localScript: t.localScript,
    remoteScript: t.remoteScript,
    localAmountMsat: t.localBalanceMsat,
    remoteAmountMsat: t.remoteBalanceMsat,
    feeSat,
    // BOLT 3: "MUST subtract the fee given by `fee_satoshis` from the output to the funder."
    feePayer: t.weAreFunder ? 'local' : 'remote',
    dustLimitSat,
  };
}

function checkBalances(t: ClosingChannelTerms): void {
  assertBigInt('funding amount', t.fundingAmountSat, 1n, MAX_MONEY_SAT);
  assertBigInt('local balance', t.localBalanceMsat, 0n, MAX_MONEY_SAT * 1000n);
  assertBigInt('remote balance', t.remoteBalanceMsat, 0n, MAX_MONEY_SAT * 1000n);
  const total = t.localBalanceMsat + t.remoteBalanceMsat;
  if (total !== t.fundingAmountSat * 1000n) {
    throw new RangeError(`expected balances to add up to the funding amount ${t.fundingAmountSat * 1000n} msat, got ${total} msat`);
  }
}

/** The funder's balance in whole satoshis: the most fee it can pay. */
function funderBalanceSat(t: ClosingChannelTerms): bigint {
  return (t.weAreFunder ? t.localBalanceMsat : t.remoteBalanceMsat) / 1000n;
}

function inRange(fee: bigint, range: FeeRange): boolean {
  return fee >= range.minFeeSat && fee <= range.maxFeeSat;
}

function strictlyBetween(fee: bigint, a: bigint, b: bigint): boolean {
  return a < b ? fee > a && fee < b : fee > b && fee < a;
}

function intersect(a: FeeRange, b: FeeRange): FeeRange | undefined {
  const minFeeSat = maxBig(a.minFeeSat, b.minFeeSat);
  const maxFeeSat = minBig(a.maxFeeSat, b.maxFeeSat);
  return minFeeSat <= maxFeeSat ? { minFeeSat, maxFeeSat } : undefined;
}

function clamp(value: bigint, range: FeeRange): bigint {
  return minBig(maxBig(value, range.minFeeSat), range.maxFeeSat);
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
