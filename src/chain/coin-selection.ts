/**
 * Funding a transaction from P2WPKH coins: pick coins, size the fee, add change. Used by the
 * wallet and by the devnet faucet, which both hold P2WPKH outputs only.
 *
 * Selection is largest-first: simple, deterministic, and good enough for test wallets. Sizes
 * are estimated from P2WPKH input and output weights (a signature is at most 72 bytes), so
 * the fee paid is at least `feeRate` times the final virtual size.
 */
import { Transaction } from '@scure/btc-signer';
import { dustThreshold } from '../bitcoin/script.js';
import type { Coin } from '../bitcoin/transaction.js';
import { hexToBytes } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';

/** An output to create. */
export interface Payment {
  readonly script: Uint8Array;
  readonly value: bigint;
}

/** Virtual size of version, counts, locktime and the segwit marker (10.5 vB, rounded up). */
const TX_OVERHEAD_VBYTES = 11;
/** Virtual size of a P2WPKH input: 41 bytes outside the witness plus a 108-byte witness / 4. */
const P2WPKH_INPUT_VBYTES = 68;
/** nSequence of funded inputs: final for locktime purposes, signals replaceability (BIP125). */
export const RBF_SEQUENCE = 0xffff_fffd;

const outputVbytes = (script: Uint8Array): number => 8 + 1 + script.length;

/** Estimated virtual size of a transaction spending `inputs` P2WPKH coins to outputs with these scripts. */
export function estimateVsize(inputs: number, outputScripts: readonly Uint8Array[]): number {
  return TX_OVERHEAD_VBYTES + inputs * P2WPKH_INPUT_VBYTES + outputScripts.reduce((sum, s) => sum + outputVbytes(s), 0);
}

/** A funded, unsigned transaction and what went into it. */
export interface FundedTransaction {
  /** Unsigned; every input carries `witnessUtxo`, so it is also a ready PSBT. */
  readonly tx: Transaction;
  readonly inputs: readonly Coin[];
  readonly fee: bigint;
  /** Index of the change output, or undefined when change would have been dust. */
  readonly changeIndex: number | undefined;
}

/**
 * Builds an unsigned version-2 transaction paying `outputs` from `coins` (P2WPKH) at `feeRate`
 * (sat/vB), sending change to `changeScript`. Throws ChandError INSUFFICIENT_FUNDS when the
 * coins cannot cover outputs and fee; RangeError on a non-positive amount or fee rate.
 */
export function fundTransaction(options: {
  readonly coins: readonly Coin[];
  readonly outputs: readonly Payment[];
  readonly feeRate: number;
  readonly changeScript: Uint8Array;
  readonly lockTime?: number;
}): FundedTransaction {
  const { coins, outputs, feeRate, changeScript } = options;
  if (!(feeRate > 0) || !Number.isFinite(feeRate)) throw new RangeError(`expected a positive fee rate, got ${feeRate}`);
  if (outputs.length === 0) throw new RangeError('expected at least one output, got none');
  let target = 0n;
  for (const output of outputs) {
    if (output.value <= 0n) throw new RangeError(`expected positive output amounts, got ${output.value}`);
    target += output.value;
  }
  const scripts = outputs.map((o) => o.script);
  const feeFor = (inputs: number, withChange: boolean): bigint =>
    BigInt(Math.ceil(feeRate * estimateVsize(inputs, withChange ? [...scripts, changeScript] : scripts)));

  const sorted = [...coins].sort((a, b) => (a.value === b.value ? 0 : a.value > b.value ? -1 : 1));
  const chosen: Coin[] = [];
  let total = 0n;
  for (const coin of sorted) {
    chosen.push(coin);
    total += coin.value;
    const feeNoChange = feeFor(chosen.length, false);
    if (total < target + feeNoChange) continue;
    const feeWithChange = feeFor(chosen.length, true);
    const change = total - target - feeWithChange;
    // Change below the dust threshold of its script (294 sat for P2WPKH) is not worth an output.
    const withChange = change >= dustThreshold(changeScript);
    const tx = new Transaction({ version: 2, lockTime: options.lockTime ?? 0, allowUnknownOutputs: true });
    for (const input of chosen) {
      tx.addInput({
        txid: hexToBytes(input.txid),
        index: input.index,
        sequence: RBF_SEQUENCE,
        witnessUtxo: { script: input.script, amount: input.value },
      });
    }
    for (const output of outputs) tx.addOutput({ script: output.script, amount: output.value });
    if (withChange) tx.addOutput({ script: changeScript, amount: change });
    return {
      tx,
      inputs: chosen,
      fee: withChange ? feeWithChange : total - target,
      changeIndex: withChange ? outputs.length : undefined,
    };
  }
  throw new ChandError(
    ErrorCode.INSUFFICIENT_FUNDS,
    `need ${target} sat plus fee at ${feeRate} sat/vB, have ${total} sat in ${coins.length} coins`,
  );
}
