/**
 * The `chand` command line. Each command family lives in its own file and registers itself
 * on the root program; this file only wires them together and maps errors to exit codes.
 */
import { Command } from 'commander';
import { isChandError } from '../errors.js';
import { registerDbCommands } from './db-command.js';
import { registerDevnetCommand } from './devnet-command.js';
import { registerWalletCommands } from './wallet-command.js';

const program = new Command()
  .name('chand')
  .description('chand: a Lightning (BOLT) node with backend-neutral channel storage')
  .version('0.1.0')
  .showHelpAfterError();

registerDbCommands(program);
registerDevnetCommand(program);
registerWalletCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isChandError(err)) {
    process.stderr.write(`chand: ${err.code}: ${err.message}\n`);
    process.exitCode = 1;
  } else if (err instanceof TypeError || err instanceof RangeError) {
    process.stderr.write(`chand: invalid input: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
