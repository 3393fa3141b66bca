/**
 * Our unilateral close of a channel from its stored record: the latest local commitment
 * with both signatures, and later the sweep of its `to_local` output once `to_self_delay`
 * has passed. Pure apart from the signing callbacks (the caller holds the KeyChain).
 *
 * Used today by the recovery of an external open that was aborted at its deadline but whose
 * funding confirmed anyway (DESIGN.md "External funding" item 7): the peer has forgotten the
 * channel, so our commitment is the way the coins come back. The contract court of the
 * closing work generalizes this (HTLC outputs, remote commitments, breaches).
 */
import type { KeyChain } from '../bitcoin/key-chain.js';
import { derivePublicKey, deriveRevocationPublicKey } from '../bitcoin/key-derivation.js';
import { finalizeFundingInput, fundingInputSighash, type FundingInputInfo } from '../bitcoin/funding-input.js';
import { buildDelayedSweepTx, delayedSweepSighash, finalizeDelayedSweep } from '../bitcoin/sweep.js';
import { decodeTx, encodeTx, txidOf } from '../bitcoin/transaction.js';
import { hexToBytes } from '../codec/bytes.js';
import { OUTPUT_INDEX_NONE, type OpenChannel } from '../chanstate/types.js';

function fundingInfo(channel: OpenChannel): FundingInputInfo {
  return {
    fundingAmountSat: channel.capacitySat,
    localFundingPubkey: hexToBytes(channel.localConfig.multiSigKey.pubkey),
    remoteFundingPubkey: hexToBytes(channel.remoteConfig.multiSigKey.pubkey),
  };
}

/** Our latest commitment, signed by both sides, ready to broadcast; and its txid. */
export function signedLocalCommitment(channel: OpenChannel, keys: Pick<KeyChain, 'signDigest'>): { raw: Uint8Array; txid: string } {
  const tx = decodeTx(channel.localCommitment.commitTx);
  const info = fundingInfo(channel);
  const locator = channel.localConfig.multiSigKey.locator;
  if (locator === undefined) throw new RangeError('expected our funding key to have its locator');
  const ours = keys.signDigest(locator, fundingInputSighash(tx, info));
  const signed = finalizeFundingInput(tx, info, ours, channel.localCommitment.commitSig);
  return { raw: encodeTx(signed), txid: txidOf(signed) };
}

/**
 * The sweep of our commitment's `to_local` output to `destinationScript`, valid once the
 * commitment has `localConfig.csvDelay` confirmations; undefined when the output is trimmed
 * or too small to pay the fee.
 */
export function toLocalSweep(
  channel: OpenChannel,
  keys: Pick<KeyChain, 'signDigestTweaked' | 'shachainProducer'>,
  destinationScript: Uint8Array,
  feeratePerKw: number,
): { raw: Uint8Array; txid: string; feeSat: bigint } | undefined {
  const commitment = channel.localCommitment;
  const index = commitment.localOutputIndex;
  if (index === undefined || index === OUTPUT_INDEX_NONE) return undefined;
  const tx = decodeTx(commitment.commitTx);
  const output = tx.outputs[index];
  if (output === undefined) return undefined;
  const point = keys.shachainProducer(channel.revocationKeyLocator).perCommitmentPoint(BigInt(commitment.commitHeight));
  const delayLocator = channel.localConfig.delayBasePoint.locator;
  if (delayLocator === undefined) throw new RangeError('expected our delayed-payment basepoint to have its locator');
  let sweep;
  try {
    sweep = buildDelayedSweepTx({
      outputs: [
        {
          outpoint: { txid: txidOf(tx), index },
          amountSat: output.value,
          revocationPubkey: deriveRevocationPublicKey(hexToBytes(channel.remoteConfig.revocationBasePoint.pubkey), point),
          localDelayedPubkey: derivePublicKey(hexToBytes(channel.localConfig.delayBasePoint.pubkey), point),
          toSelfDelay: channel.localConfig.csvDelay,
        },
      ],
      destinationScript,
      feeratePerKw,
    });
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
  const signature = keys.signDigestTweaked(delayLocator, point, delayedSweepSighash(sweep, 0));
  const signed = finalizeDelayedSweep(sweep, [signature]);
  return { raw: encodeTx(signed), txid: txidOf(signed), feeSat: sweep.feeSat };
}
