/**
 * Network parameters and address <-> output-script conversion.
 *
 * chand's devnet is a regtest chain: Bitcoin regtest's genesis block (so its chain hash is
 * the one every BOLT implementation knows) and address parameters (bech32 prefix `bcrt`).
 */
import { Address, NETWORK, OutScript, TEST_NETWORK } from '@scure/btc-signer';
import type { BTC_NETWORK } from '@scure/btc-signer/utils.js';
import type { Network } from '../bitcoin/network.js';
import { classifyOutputScript, type OutputScriptType } from '../bitcoin/script.js';

/** Address parameters of one Bitcoin network, in @scure/btc-signer's shape. */
export type BitcoinNetwork = BTC_NETWORK;

/** Bitcoin regtest address parameters (bech32 `bcrt`, base58 versions 0x6f / 0xc4). */
export const REGTEST: BitcoinNetwork = Object.freeze({ bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef });

/** Address parameters of each `Network` (testnet, testnet4 and signet share bech32 `tb`). */
export const NETWORKS: Readonly<Record<Network, BitcoinNetwork>> = Object.freeze({
  mainnet: NETWORK,
  testnet: TEST_NETWORK,
  testnet4: TEST_NETWORK,
  signet: TEST_NETWORK,
  regtest: REGTEST,
});

/** The output script paying `address`. Throws TypeError if it is not a valid address of `network`. */
export function addressToScript(address: string, network: BitcoinNetwork): Uint8Array {
  if (typeof address !== 'string') throw new TypeError(`expected address as string, got ${typeof address}`);
  try {
    return OutScript.encode(Address(network).decode(address));
  } catch (err) {
    throw new TypeError(`expected an address of network "${network.bech32}", got "${address}"`, { cause: err });
  }
}

/** The address of an output script on `network`, or undefined for scripts without one (OP_RETURN, bare scripts). */
export function scriptToAddress(script: Uint8Array, network: BitcoinNetwork): string | undefined {
  try {
    const decoded = OutScript.decode(script);
    if (decoded.type === 'unknown' || decoded.type === 'ms' || decoded.type === 'pk') return undefined;
    return Address(network).encode(decoded);
  } catch {
    // Not an address-bearing script: that is an answer, not an error.
    return undefined;
  }
}

/** Esplora's names for the script types `classifyOutputScript` tells apart. */
const ESPLORA_SCRIPT_TYPES: Readonly<Record<OutputScriptType, string>> = Object.freeze({
  p2wpkh: 'v0_p2wpkh',
  p2wsh: 'v0_p2wsh',
  p2tr: 'v1_p2tr',
  p2pkh: 'p2pkh',
  p2sh: 'p2sh',
  op_return: 'op_return',
  unknown: 'unknown',
});

/** Esplora's name for an output script's type (`v0_p2wpkh`, `v0_p2wsh`, `op_return`, ...). */
export function esploraScriptType(script: Uint8Array): string {
  return ESPLORA_SCRIPT_TYPES[classifyOutputScript(script)];
}
