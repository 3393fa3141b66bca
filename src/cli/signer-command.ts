/**
 * `chand signer ...`: a standalone test wallet (BIP84 P2WPKH from a BIP39 mnemonic) over an
 * Esplora API. It plays the external signer (PSBT) and the faucet spender in tests; it is not
 * the node's own wallet (that is `chand wallet`, a client of a running node).
 *
 *   chand signer create                       new wallet file with a fresh mnemonic
 *   chand signer address                      hand out the next receive address
 *   chand signer balance | utxos              read from the chain
 *   chand signer send <address> <amount_sat>  pay, with change back to the wallet
 *   chand signer sign-psbt <base64|FILE|->    sign the wallet's inputs of a PSBT (--out FILE writes it, 0600)
 *
 * A wallet is two files. The wallet file (--wallet, $CHAND_WALLET, default
 * ./chand-wallet.json) is JSON holding the network and how many addresses were handed out;
 * it is written with mode 0600 and replaced atomically. The mnemonic is not in it but in the
 * wallet's seed file beside it (`alice.seed.json` for `alice.json`, see `walletSeedPath`),
 * written and read by `writeSeedFile` / `readSeedFile` of src/bitcoin/node-seed.ts: created
 * with mode 0600 and never overwritten (only `create --force` deletes it first), refused when
 * group or others may access it. The mnemonic is stored unencrypted: this is a wallet for
 * devnets and tests, not for real funds. Nothing prints the mnemonic.
 */
import { randomBytes } from 'node:crypto';
import { access, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { isNetwork, NETWORK_NAMES, type Network } from '../bitcoin/network.js';
import { NodeSeed, readSeedFile, writeSeedFile } from '../bitcoin/node-seed.js';
import { EsploraClient } from '../chain/esplora-client.js';
import { NETWORKS, type BitcoinNetwork } from '../chain/network.js';
import { Wallet } from '../chain/wallet.js';
import { ChandError, ErrorCode, isChandError } from '../errors.js';
import { toJson } from './db-command.js';
import { esploraUrlOption, parseCount } from './devnet-command.js';
import { decodePsbtFile, PSBT_BASE64_PREFIX, readInput, writePsbtFile } from './psbt-file.js';

/** Version of the wallet file format. Version 1 held the mnemonic itself. */
const WALLET_FILE_VERSION = 2;

/** The contents of a wallet file: no secrets (the mnemonic is in the seed file). */
interface WalletFile {
  readonly version: number;
  readonly network: Network;
  readonly receiveCount: number;
  readonly changeCount: number;
}

/** The seed file of the wallet file at `walletPath`: its name with `.json` replaced by `.seed.json` (`alice.json` -> `alice.seed.json`). */
function walletSeedPath(walletPath: string): string {
  return `${walletPath.replace(/\.json$/i, '')}.seed.json`;
}

interface WalletFlags {
  readonly wallet: string;
  readonly esplora: string;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function readWalletFile(path: string): Promise<WalletFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ChandError(ErrorCode.WALLET_NOT_FOUND, `no wallet at ${path}; create one with "chand signer create --wallet ${path}"`);
    }
    throw err;
  }
  let parsed: Partial<WalletFile>;
  try {
    parsed = JSON.parse(text) as Partial<WalletFile>;
  } catch (err) {
    throw new ChandError(ErrorCode.DECODE_FAILED, `wallet file ${path} is not valid JSON`, { cause: err });
  }
  if (parsed.version === 1) {
    throw new ChandError(
      ErrorCode.DECODE_FAILED,
      `wallet file ${path} is a version 1 chand wallet, which kept the mnemonic inside it; this chand reads version ${WALLET_FILE_VERSION}, with the mnemonic in ${walletSeedPath(path)}`,
    );
  }
  if (parsed.version !== WALLET_FILE_VERSION || !isNetwork(parsed.network)) {
    throw new ChandError(ErrorCode.DECODE_FAILED, `wallet file ${path} is not a version ${WALLET_FILE_VERSION} chand wallet`);
  }
  return {
    version: parsed.version,
    network: parsed.network,
    receiveCount: Number(parsed.receiveCount ?? 0),
    changeCount: Number(parsed.changeCount ?? 0),
  };
}

/** Writes the wallet file with mode 0600, replacing it atomically. */
async function writeWalletFile(path: string, file: WalletFile): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temp, path);
}

/**
 * Creates the wallet file at `path` and its seed file with a fresh mnemonic. Without `force`,
 * throws WALLET_ALREADY_EXISTS if either file exists; the seed file's exclusive creation is
 * what settles a race between two creates. With `force`, deletes an existing seed file first.
 */
async function createWallet(path: string, network: Network, force: boolean): Promise<void> {
  const seedPath = walletSeedPath(path);
  const alreadyExists = (): ChandError =>
    new ChandError(ErrorCode.WALLET_ALREADY_EXISTS, `a wallet already exists at ${path} (use --force to replace it)`);
  if (force) await rm(seedPath, { force: true });
  else if (await exists(path)) throw alreadyExists();
  try {
    await writeSeedFile(seedPath, NodeSeed.fromMnemonic(Wallet.generateMnemonic()));
  } catch (err) {
    if (isChandError(err, ErrorCode.SEED_FILE_EXISTS)) throw alreadyExists();
    throw err;
  }
  await writeWalletFile(path, { version: WALLET_FILE_VERSION, network, receiveCount: 0, changeCount: 0 });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Opens the wallet of a file on the file's network, with chain access through `esplora`. */
async function openWallet(flags: WalletFlags): Promise<{ wallet: Wallet; file: WalletFile }> {
  const file = await readWalletFile(flags.wallet);
  const seed = await readSeedFile(walletSeedPath(flags.wallet));
  const network: BitcoinNetwork = NETWORKS[file.network];
  const chain = new EsploraClient({ baseUrl: flags.esplora, network });
  const wallet = Wallet.fromSeed(seed, { chain, network, receiveCount: file.receiveCount, changeCount: file.changeCount });
  return { wallet, file };
}

/** Persists the wallet's address counters if they moved. */
async function saveCounters(flags: WalletFlags, file: WalletFile, wallet: Wallet): Promise<void> {
  if (wallet.receiveCount === file.receiveCount && wallet.changeCount === file.changeCount) return;
  await writeWalletFile(flags.wallet, { ...file, receiveCount: wallet.receiveCount, changeCount: wallet.changeCount });
}

function parseFeeRate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`expected --fee-rate as a positive number of sat/vB, got "${value}"`);
  return rate;
}

/** Adds `chand signer` and its subcommands to `program`. */
export function registerSignerCommands(program: Command): void {
  const wallet = program.command('signer').description('a standalone BIP84 wallet that plays the external signer (PSBT) and faucet spender in tests');
  const common = (cmd: Command): Command =>
    cmd
      .addOption(new Option('--wallet <file>', 'wallet file').env('CHAND_WALLET').default('./chand-wallet.json'))
      .addOption(esploraUrlOption('--esplora <url>'));

  common(wallet.command('create'))
    .description('create a wallet file and its seed file with a fresh 12-word mnemonic (never printed)')
    .option('--network <name>', NETWORK_NAMES.join(', '), 'regtest')
    .option('--force', 'replace an existing wallet (deletes its seed file)')
    .action(async (flags: WalletFlags & { network: string; force?: boolean }) => {
      if (!isNetwork(flags.network)) throw new RangeError(`expected --network ${NETWORK_NAMES.join('|')}, got "${flags.network}"`);
      await createWallet(flags.wallet, flags.network, flags.force === true);
      print(`created ${flags.network} wallet ${flags.wallet} (mnemonic in ${walletSeedPath(flags.wallet)})`);
    });

  common(wallet.command('address'))
    .description('hand out the next receive address')
    .action(async (flags: WalletFlags) => {
      const { wallet: w, file } = await openWallet(flags);
      const address = w.nextReceiveAddress();
      await saveCounters(flags, file, w);
      print(address);
    });

  common(wallet.command('balance'))
    .description('confirmed and unconfirmed balance in satoshis')
    .action(async (flags: WalletFlags) => {
      const { wallet: w } = await openWallet(flags);
      const balance = await w.getBalance();
      print(JSON.stringify(toJson({ confirmed_sat: balance.confirmed, unconfirmed_sat: balance.unconfirmed }), null, 2));
    });

  common(wallet.command('utxos'))
    .description("the wallet's unspent outputs")
    .action(async (flags: WalletFlags) => {
      const { wallet: w } = await openWallet(flags);
      print(JSON.stringify(toJson(await w.listUtxos()), null, 2));
    });

  common(wallet.command('send'))
    .description('pay an address; prints the txid and fee')
    .argument('<address>', 'destination address')
    .argument('<amount_sat>', 'amount in satoshis')
    .option('--fee-rate <sat_per_vb>', "fee rate (default: the chain's 6-block estimate)")
    .action(async (address: string, amount: string, flags: WalletFlags & { feeRate?: string }) => {
      const { wallet: w, file } = await openWallet(flags);
      const feeRate = parseFeeRate(flags.feeRate);
      const sent = await w.send([{ address, amountSat: BigInt(parseCount(amount, 'amount_sat')) }], feeRate === undefined ? {} : { feeRate });
      await saveCounters(flags, file, w);
      print(JSON.stringify(toJson({ txid: sent.txid, fee_sat: sent.fee }), null, 2));
    });

  common(wallet.command('sign-psbt'))
    .description("sign the wallet's inputs of a PSBT; prints the signed PSBT (base64), writes it with --out, or broadcasts it with --broadcast")
    .argument('<psbt>', `the PSBT: base64 (it starts with ${PSBT_BASE64_PREFIX}), or a file holding it (base64 or binary), or - for stdin`)
    .option('--out <file>', 'write the signed PSBT (base64) to this file, mode 0600, instead of printing it')
    .option('--broadcast', 'finalize and broadcast (every input must then be signed)')
    .action(async (psbtArg: string, flags: WalletFlags & { broadcast?: boolean; out?: string }) => {
      if (flags.broadcast === true && flags.out !== undefined) throw new RangeError('expected one of --out and --broadcast, got both');
      // A base64 PSBT always starts with the encoded magic, so it cannot be mistaken for a path.
      const inline = psbtArg.trim();
      const psbtBase64 = inline.startsWith(PSBT_BASE64_PREFIX) ? inline : decodePsbtFile(await readInput(psbtArg), psbtArg === '-' ? 'stdin' : psbtArg);
      const { wallet: w } = await openWallet(flags);
      const signed = w.signPsbt(new Uint8Array(Buffer.from(psbtBase64, 'base64')));
      if (signed.signedInputs === 0) process.stderr.write('chand signer: no input of this PSBT belongs to the wallet\n');
      if (flags.out !== undefined) {
        await writePsbtFile(flags.out, Buffer.from(signed.psbt).toString('base64'));
        print(`signed ${signed.signedInputs} input${signed.signedInputs === 1 ? '' : 's'}; wrote ${flags.out}`);
        return;
      }
      if (flags.broadcast !== true) {
        print(Buffer.from(signed.psbt).toString('base64'));
        return;
      }
      const chain = new EsploraClient({ baseUrl: flags.esplora, network: w.network });
      print(await chain.broadcast(Wallet.finalizePsbt(signed.psbt)));
    });
}
