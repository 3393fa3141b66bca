/**
 * Test helpers: keys with P2WPKH addresses, and a raw transaction builder that signs
 * P2WPKH and P2WSH inputs over BIP143 digests computed by btc-signer.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { p2wpkh, RawTx, Transaction } from '@scure/btc-signer';
import { p2pkhScriptFromHash } from '../../../src/bitcoin/script.js';
import type { OutPoint } from '../../../src/bitcoin/transaction.js';
import { hexToBytes } from '../../../src/codec/bytes.js';
import { REGTEST } from '../../../src/chain/network.js';

export const SIGHASH_ALL = 0x01;

/** A deterministic key with its P2WPKH script and regtest address. */
export interface TestKey {
  readonly priv: Uint8Array;
  readonly pub: Uint8Array;
  readonly script: Uint8Array;
  readonly address: string;
}

export function testKey(label: string): TestKey {
  const priv = sha256(new TextEncoder().encode(`chain test key ${label}`));
  const pub = secp256k1.getPublicKey(priv, true);
  const payment = p2wpkh(pub, REGTEST);
  return { priv, pub, script: payment.script, address: payment.address! };
}

export interface BuildInput extends OutPoint {
  readonly value: bigint;
  readonly sequence?: number;
  /** Signs a P2WPKH input with this key... */
  readonly key?: TestKey;
  /** ...or builds the witness from a signer for P2WSH spends (the witness script is appended). */
  readonly witnessScript?: Uint8Array;
  readonly witness?: (sign: (key: TestKey, hashType?: number) => Uint8Array) => Uint8Array[];
}

export interface BuildOptions {
  readonly inputs: readonly BuildInput[];
  readonly outputs: readonly { readonly script: Uint8Array; readonly value: bigint }[];
  readonly version?: number;
  readonly lockTime?: number;
}

/** A signed raw transaction. */
export function buildTx(options: BuildOptions): Uint8Array {
  const base = {
    version: options.version ?? 2,
    inputs: options.inputs.map((input) => ({
      txid: hexToBytes(input.txid),
      index: input.index,
      finalScriptSig: new Uint8Array(0),
      sequence: input.sequence ?? 0xffff_fffd,
    })),
    outputs: options.outputs.map((o) => ({ amount: o.value, script: o.script })),
    lockTime: options.lockTime ?? 0,
  };
  const unsigned = RawTx.encode({ ...base, segwitFlag: false, witnesses: undefined });
  const view = Transaction.fromRaw(unsigned, { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true });
  const witnesses = options.inputs.map((input, i) => {
    const scriptCode = input.witnessScript ?? p2pkhScriptFromHash(pubkeyHash(input.key!));
    const sign = (key: TestKey, hashType = SIGHASH_ALL): Uint8Array => {
      const digest = view.preimageWitnessV0(i, scriptCode, hashType, input.value);
      return Uint8Array.of(...secp256k1.sign(digest, key.priv, { prehash: false, format: 'der' }), hashType);
    };
    if (input.witnessScript !== undefined) return [...input.witness!(sign), input.witnessScript];
    return [sign(input.key!), input.key!.pub];
  });
  return RawTx.encode({ ...base, segwitFlag: true, witnesses });
}

/** HASH160 of the key's public key: the P2WPKH program. */
function pubkeyHash(key: TestKey): Uint8Array {
  return key.script.subarray(2);
}
