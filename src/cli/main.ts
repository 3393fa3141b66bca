/**
 * The `chand` command line. Each command family lives in its own file and registers itself
 * on the root program; this file only wires them together and maps errors to exit codes.
 *
 * Every failure prints exactly one line, `chand: CODE: message`, and exits non-zero: 1 for a
 * ChandError (its stable code), 2 for invalid input (INVALID_INPUT: a TypeError/RangeError
 * from argument checks), 3 for anything unexpected (the error's own code, e.g. EACCES, else
 * INTERNAL) — a bug or an environment problem, never a stack trace unless `--debug` (or
 * CHAND_DEBUG=1) asks for one.
 */
import { Command } from 'commander';
import { isChandError } from '../errors.js';
import { registerDbCommands } from './db-command.js';
import { registerDevnetCommand } from './devnet-command.js';
import { registerNodeClientCommands } from './node-client-commands.js';
import { registerNodeCommand } from './node-command.js';
import { registerSignerCommands } from './signer-command.js';

const program = new Command()
  .name('chand')
  .description('chand: a Lightning (BOLT) node with backend-neutral channel storage')
  .version('0.1.0')
  .option('--debug', 'print the stack trace (and causes) of an error')
  .showHelpAfterError();

registerDbCommands(program);
registerDevnetCommand(program);
registerSignerCommands(program);
registerNodeClientCommands(program);
registerNodeCommand(program);

/** The one-line report of `err`, and its exit code. */
function describeFailure(err: unknown): { line: string; exitCode: number } {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  if (isChandError(err)) return { line: `chand: ${err.code}: ${message}`, exitCode: 1 };
  if (err instanceof TypeError || err instanceof RangeError) return { line: `chand: INVALID_INPUT: ${message}`, exitCode: 2 };
  const code = (err as { code?: unknown } | null)?.code;
  return { line: `chand: ${typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'INTERNAL'}: ${message}`, exitCode: 3 };
}

/** The stack of `err` and of each `cause` under it. */
function stackOf(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(`${depth === 0 ? '' : 'caused by: '}${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    if (!(e instanceof Error)) break;
  }
  return parts.join('\n');
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const { line, exitCode } = describeFailure(err);
  process.stderr.write(`${line}\n`);
  // Read directly too: a failure inside parsing may come before the option is parsed.
  if (program.opts<{ debug?: boolean }>().debug === true || process.argv.includes('--debug') || process.env['CHAND_DEBUG'] === '1') {
    process.stderr.write(`${stackOf(err)}\n`);
  }
  process.exitCode = exitCode;
}
