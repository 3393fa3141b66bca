/**
 * `chand devnet ...`: run the devnet chain, and drive a running one.
 *
 *   chand devnet [--port 3002] [--host 127.0.0.1] [--datadir ./chand-devnet]   serve until Ctrl-C
 *   chand devnet mine [blocks] [--address <addr>]                             mine blocks
 *   chand devnet faucet <address> <amount_sat>                                pay from the faucet
 *   chand devnet info                                                         chain hash and tip
 *
 * The chain starts at Bitcoin's regtest genesis block, so its chain hash is regtest's. A data
 * directory created by an older chand (whose devnet had a genesis of its own) is refused with
 * DEVNET_GENESIS_MISMATCH.
 *
 * The control subcommands talk HTTP to `--url` (or $CHAND_ESPLORA_URL), default
 * http://127.0.0.1:3002: the port Blockstream's electrs uses for regtest.
 */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { DevnetClient } from '../chain/devnet-client.js';
import { devnetGenesis } from '../chain/devnet/block.js';
import { Devnet } from '../chain/devnet/devnet.js';
import { REGTEST } from '../chain/network.js';
import { ChandError, ErrorCode, isChandError } from '../errors.js';
import { toJson } from './db-command.js';

/** Port `chand devnet` listens on by default. */
export const DEFAULT_DEVNET_PORT = 3002;
/** Where the devnet controls and the wallet look for the chain by default. */
export const DEFAULT_ESPLORA_URL = `http://127.0.0.1:${DEFAULT_DEVNET_PORT}`;

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Parses a non-negative integer option/argument; RangeError otherwise. */
export function parseCount(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new RangeError(`expected ${what} as a non-negative integer, got "${value}"`);
  return Number(value);
}

/** The `--url` option shared by devnet controls: the devnet's Esplora base URL. */
export function esploraUrlOption(flag = '--url <url>'): Option {
  return new Option(flag, 'Esplora API base URL of the devnet').env('CHAND_ESPLORA_URL').default(DEFAULT_ESPLORA_URL);
}

/** Adds `chand devnet` and its control subcommands to `program`. */
export function registerDevnetCommand(program: Command): void {
  const devnet = program
    .command('devnet')
    .description('run a persisted regtest-like chain serving the Esplora API (Ctrl-C to stop), or drive one')
    .option('--port <port>', 'TCP port to listen on (0 picks a free one)', String(DEFAULT_DEVNET_PORT))
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--datadir <dir>', 'directory holding the chain (created if missing)', './chand-devnet')
    .option('--initial-blocks <n>', 'blocks mined to the faucet when the chain is new', '5')
    .action(async (flags: { port: string; host: string; datadir: string; initialBlocks: string }) => {
      // Loaded here: `chand db` on SQLite never loads the lmdb driver.
      const { openLmdbEngine } = await import('../kv/lmdb-engine.js');
      const node = new Devnet({
        engine: await openLmdbEngine({ path: join(flags.datadir, 'chain') }),
        host: flags.host,
        port: parseCount(flags.port, '--port'),
        initialBlocks: parseCount(flags.initialBlocks, '--initial-blocks'),
        onError: (err) => process.stderr.write(`chand devnet: internal error: ${(err as Error)?.stack ?? String(err)}\n`),
      });
      try {
        await node.start();
      } catch (err) {
        // Name the directory to delete or replace: the ledger does not know where it lives.
        if (isChandError(err, ErrorCode.DEVNET_GENESIS_MISMATCH)) {
          throw new ChandError(ErrorCode.DEVNET_GENESIS_MISMATCH, `--datadir ${flags.datadir}: ${err.message}`, { cause: err });
        }
        throw err;
      }
      const tip = await node.ledger.getTip();
      print(`chand devnet: Esplora API at ${node.url}`);
      print(`chain hash (genesis) ${devnetGenesis().hash}, tip height ${tip.height}, data in ${flags.datadir}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await node.stop();
      print('chand devnet: stopped');
    });

  devnet
    .command('mine')
    .description('mine blocks (the first takes the whole mempool); prints the new height and block hashes')
    .argument('[blocks]', 'how many blocks', '1')
    .option('--address <address>', 'pay the coinbases to this address (default: the faucet)')
    .addOption(esploraUrlOption())
    .action(async (blocks: string, flags: { address?: string; url: string }) => {
      const client = new DevnetClient({ baseUrl: flags.url, network: REGTEST });
      const hashes = await client.mine(parseCount(blocks, 'blocks'), flags.address);
      print(JSON.stringify({ height: await client.getTipHeight(), hashes }, null, 2));
    });

  devnet
    .command('faucet')
    .description('pay an address from the devnet faucet (unconfirmed until mined); prints txid and output index')
    .argument('<address>', 'regtest address to pay')
    .argument('<amount_sat>', 'amount in satoshis')
    .addOption(esploraUrlOption())
    .action(async (address: string, amount: string, flags: { url: string }) => {
      const client = new DevnetClient({ baseUrl: flags.url, network: REGTEST });
      print(JSON.stringify(await client.faucet(address, BigInt(parseCount(amount, 'amount_sat'))), null, 2));
    });

  devnet
    .command('info')
    .description('print the devnet network, chain hash (genesis block hash) and tip')
    .addOption(esploraUrlOption())
    .action(async (flags: { url: string }) => {
      const client = new DevnetClient({ baseUrl: flags.url, network: REGTEST });
      print(JSON.stringify(toJson(await client.info()), null, 2));
    });
}
