/**
 * `Wallet`: a small single-account P2WPKH wallet from a BIP39 mnemonic, seeing the chain
 * through `Chain`. It plays the "external wallet" in chand's tests and backs `chand wallet`.
 *
 * Keys follow BIP84: m/84'/<coin>'/0'/<0 receive | 1 change>/<index>, coin 0 on mainnet and
 * 1 elsewhere. The mnemonic comes in as a `NodeSeed` (src/bitcoin/node-seed.ts), the type
 * that validates and normalizes it and keeps it out of logs; the CLI keeps it in a seed file.
 * The wallet keeps no chain state: balance and coins are read from the chain on each call,
 * over the addresses handed out so far plus a lookahead gap (so coins sent to an address
 * given out by another copy of the wallet are still found). How many addresses have
 * been handed out is the caller's to persist (`receiveCount`, `changeCount`); the CLI keeps
 * them in its wallet file.
 *
 * Signing is PSBT-based: `signPsbt` signs every input whose `witnessUtxo` pays one of the
 * wallet's scripts (SIGHASH_ALL) and leaves the others alone, so the same code signs the
 * wallet's own payments and a channel-funding PSBT built by someone else.
 */
import { HDKey } from '@scure/bip32';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { NETWORK, p2wpkh, Transaction } from '@scure/btc-signer';
import { NodeSeed } from '../bitcoin/node-seed.js';
import { bytesToHex } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import type { Coin } from '../bitcoin/transaction.js';
import type { Chain, Utxo } from './chain.js';
import { fundTransaction } from './coin-selection.js';
import { feeRateForTarget } from './fee-estimates.js';
import { addressToScript, REGTEST, type BitcoinNetwork } from './network.js';

/** Addresses past the last handed-out one that are still scanned for coins. */
export const DEFAULT_ADDRESS_GAP = 10;
/** Confirmation target used for fees when no fee rate is given. */
export const DEFAULT_TARGET_BLOCKS = 6;

/** Options of `Wallet.fromSeed` and `Wallet.fromMnemonic`. */
export interface WalletOptions {
  readonly chain: Chain;
  /** Address network (default REGTEST). */
  readonly network?: BitcoinNetwork;
  /** Optional BIP39 passphrase. */
  readonly passphrase?: string;
  /** Receive addresses handed out so far (default 0). */
  readonly receiveCount?: number;
  /** Change addresses used so far (default 0). */
  readonly changeCount?: number;
  /** Lookahead past the counts when scanning (default DEFAULT_ADDRESS_GAP). */
  readonly gap?: number;
}

/** A UTXO of the wallet, with the address and derivation path that own it. */
export interface WalletUtxo extends Utxo {
  readonly address: string;
  readonly path: string;
}

/** Balance split by confirmation. */
export interface WalletBalance {
  readonly confirmed: bigint;
  readonly unconfirmed: bigint;
}

/** A payment request: amounts in sat. */
export interface WalletPayment {
  readonly address: string;
  readonly amountSat: bigint;
}

interface OwnedKey {
  readonly path: string;
  readonly address: string;
  readonly privateKey: Uint8Array;
}

/** A BIP84 P2WPKH wallet. Not safe for concurrent address allocation from several processes. */
export class Wallet {
  readonly network: BitcoinNetwork;
  readonly #chain: Chain;
  readonly #account: HDKey;
  readonly #coinType: number;
  readonly #gap: number;
  readonly #byScript = new Map<string, OwnedKey>();
  #receiveCount: number;
  #changeCount: number;

  private constructor(account: HDKey, coinType: number, options: WalletOptions) {
    this.#account = account;
    this.#coinType = coinType;
    this.#chain = options.chain;
    this.network = options.network ?? REGTEST;
    this.#gap = options.gap ?? DEFAULT_ADDRESS_GAP;
    this.#receiveCount = options.receiveCount ?? 0;
    this.#changeCount = options.changeCount ?? 0;
    for (const [name, n] of [['receiveCount', this.#receiveCount], ['changeCount', this.#changeCount], ['gap', this.#gap]] as const) {
      if (!Number.isInteger(n) || n < 0 || n > 1_000_000) throw new RangeError(`expected ${name} as an integer in [0, 1000000], got ${n}`);
    }
  }

  /** A fresh 12-word English BIP39 mnemonic from the system CSPRNG. */
  static generateMnemonic(): string {
    return generateMnemonic(wordlist, 128);
  }

  /**
   * Opens the wallet of `mnemonic` (spacing and case are normalized as `NodeSeed` does).
   * TypeError if it is not a valid English BIP39 mnemonic (the words are not echoed).
   */
  static fromMnemonic(mnemonic: string, options: WalletOptions): Wallet {
    if (!NodeSeed.isValidMnemonic(mnemonic)) throw new TypeError('expected a valid English BIP39 mnemonic');
    return Wallet.fromSeed(NodeSeed.fromMnemonic(mnemonic), options);
  }

  /** Opens the wallet of `seed`'s mnemonic, e.g. one read with `readSeedFile`. */
  static fromSeed(seed: NodeSeed, options: WalletOptions): Wallet {
    if (!(seed instanceof NodeSeed)) throw new TypeError('expected a NodeSeed');
    const network = options.network ?? REGTEST;
    const coinType = network.bech32 === NETWORK.bech32 ? 0 : 1;
    const root = HDKey.fromMasterSeed(seed.toBip39Seed(options.passphrase ?? ''));
    return new Wallet(root.derive(`m/84'/${coinType}'/0'`), coinType, options);
  }

  /** Receive addresses handed out so far. */
  get receiveCount(): number {
    return this.#receiveCount;
  }

  /** Change addresses used so far. */
  get changeCount(): number {
    return this.#changeCount;
  }

  /** The address at `index` of the receive (or change) chain. Pure: hands nothing out. */
  address(index: number, change = false): string {
    return this.#key(change ? 1 : 0, index).address;
  }

  /** Hands out the next receive address (increments `receiveCount`). */
  nextReceiveAddress(): string {
    return this.#key(0, this.#receiveCount++).address;
  }

  /** Hands out the next change address (increments `changeCount`). */
  nextChangeAddress(): string {
    return this.#key(1, this.#changeCount++).address;
  }

  #key(branch: 0 | 1, index: number): OwnedKey {
    if (!Number.isInteger(index) || index < 0 || index >= 0x8000_0000) throw new RangeError(`expected an address index in [0, 2^31), got ${index}`);
    const node = this.#account.deriveChild(branch).deriveChild(index);
    const payment = p2wpkh(node.publicKey!, this.network);
    const key: OwnedKey = {
      path: `m/84'/${this.#coinType}'/0'/${branch}/${index}`,
      address: payment.address!,
      privateKey: node.privateKey!,
    };
    this.#byScript.set(bytesToHex(payment.script), key);
    return key;
  }

  /** Every address scanned: handed-out ones plus the gap, on both chains. */
  #scanKeys(): OwnedKey[] {
    const keys: OwnedKey[] = [];
    for (let i = 0; i < this.#receiveCount + this.#gap; i++) keys.push(this.#key(0, i));
    for (let i = 0; i < this.#changeCount + this.#gap; i++) keys.push(this.#key(1, i));
    return keys;
  }

  /** The wallet's unspent coins, mempool included (coins spent in the mempool excluded). */
  async listUtxos(): Promise<WalletUtxo[]> {
    const keys = this.#scanKeys();
    const perKey = await Promise.all(keys.map((key) => this.#chain.getAddressUtxos(key.address)));
    return perKey.flatMap((utxos, i) => utxos.map((u) => ({ ...u, address: keys[i]!.address, path: keys[i]!.path })));
  }

  /** Sum of the wallet's coins, split into confirmed and unconfirmed. */
  async getBalance(): Promise<WalletBalance> {
    let confirmed = 0n;
    let unconfirmed = 0n;
    for (const utxo of await this.listUtxos()) {
      if (utxo.status.confirmed) confirmed += utxo.value;
      else unconfirmed += utxo.value;
    }
    return { confirmed, unconfirmed };
  }

  /**
   * Builds an unsigned PSBT paying `payments` from the wallet's coins (mempool coins included),
   * with change to a new change address. Fee rate in sat/vB, or the chain's estimate for
   * DEFAULT_TARGET_BLOCKS. Throws ChandError INSUFFICIENT_FUNDS.
   */
  async createPsbt(payments: readonly WalletPayment[], options: { feeRate?: number } = {}): Promise<{ psbt: Uint8Array; fee: bigint }> {
    const outputs = payments.map((p) => {
      if (typeof p.amountSat !== 'bigint') throw new TypeError(`expected amountSat as bigint, got ${typeof p.amountSat}`);
      return { script: addressToScript(p.address, this.network), value: p.amountSat };
    });
    const feeRate = options.feeRate ?? feeRateForTarget(await this.#chain.getFeeEstimates(), DEFAULT_TARGET_BLOCKS);
    const utxos = await this.listUtxos();
    const coins: Coin[] = utxos.map((u) => ({ txid: u.txid, index: u.index, value: u.value, script: addressToScript(u.address, this.network) }));
    const change = this.#key(1, this.#changeCount);
    const funded = fundTransaction({ coins, outputs, feeRate, changeScript: addressToScript(change.address, this.network) });
    if (funded.changeIndex !== undefined) this.#changeCount++;
    return { psbt: funded.tx.toPSBT(), fee: funded.fee };
  }

  /**
   * Signs every input of `psbt` that spends one of the wallet's scripts (SIGHASH_ALL) and
   * returns the updated PSBT with how many inputs it signed. Inputs must carry `witnessUtxo`.
   * Throws ChandError PSBT_INVALID for bytes that are not a PSBT.
   */
  signPsbt(psbt: Uint8Array): { psbt: Uint8Array; signedInputs: number } {
    const tx = parsePsbt(psbt);
    this.#scanKeys();
    let signedInputs = 0;
    for (let i = 0; i < tx.inputsLength; i++) {
      const script = tx.getInput(i).witnessUtxo?.script;
      const key = script === undefined ? undefined : this.#byScript.get(bytesToHex(script));
      if (key === undefined) continue;
      if (tx.signIdx(key.privateKey, i)) signedInputs++;
    }
    return { psbt: tx.toPSBT(), signedInputs };
  }

  /** Finalizes a fully signed PSBT into a raw transaction. ChandError PSBT_NOT_FINALIZED if an input lacks signatures. */
  static finalizePsbt(psbt: Uint8Array): Uint8Array {
    const tx = parsePsbt(psbt);
    try {
      tx.finalize();
      return tx.extract();
    } catch (err) {
      throw new ChandError(ErrorCode.PSBT_NOT_FINALIZED, `PSBT cannot be finalized: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Pays `payments`: build, sign, finalize and broadcast. Returns the txid, fee and raw transaction. */
  async send(payments: readonly WalletPayment[], options: { feeRate?: number } = {}): Promise<{ txid: string; fee: bigint; rawTx: Uint8Array }> {
    const { psbt, fee } = await this.createPsbt(payments, options);
    const rawTx = Wallet.finalizePsbt(this.signPsbt(psbt).psbt);
    const txid = await this.#chain.broadcast(rawTx);
    return { txid, fee, rawTx };
  }
}

function parsePsbt(psbt: Uint8Array): Transaction {
  if (!(psbt instanceof Uint8Array)) throw new TypeError(`expected PSBT as Uint8Array, got ${typeof psbt}`);
  try {
    return Transaction.fromPSBT(psbt, { allowUnknownOutputs: true });
  } catch (err) {
    throw new ChandError(ErrorCode.PSBT_INVALID, `not a valid PSBT: ${(err as Error).message}`, { cause: err });
  }
}
