/**
 * `chand node start`: runs a node in the foreground until SIGINT/SIGTERM (Ctrl-C), then
 * stops it gracefully. Settings come from flags, `CHAND_*` variables and `<datadir>/chand.conf`
 * (src/node/config.ts); the node logs JSON lines to stderr and `<datadir>/logs/chand.log`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseConfFile, resolveConfig, resolveDatadir, settingsFromEnv, SETTINGS, type RawSettings, type SettingName } from '../node/config.js';
import { ChandNode } from '../node/node.js';

const SWITCHES: readonly SettingName[] = ['rpc-allow-remote', 'allow-mainnet'];

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

async function readConf(datadir: string): Promise<RawSettings> {
  const path = join(datadir, 'chand.conf');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  return parseConfFile(text, path);
}

/** Adds `chand node start` to `program`. */
export function registerNodeCommand(program: Command): void {
  const node = program.command('node').description('run a chand node');
  const start = node
    .command('start')
    .description('start a node in the foreground (Ctrl-C stops it); creates the seed and database on first start');
  for (const [name, help] of Object.entries(SETTINGS) as Array<[SettingName, string]>) {
    if (SWITCHES.includes(name)) start.option(`--${name}`, help);
    else start.option(`--${name} <value>`, help);
  }
  start.action(async (opts: Record<string, string | boolean | undefined>) => {
    const flags: RawSettings = {};
    for (const name of Object.keys(SETTINGS) as SettingName[]) {
      const v = opts[camel(name)];
      if (v !== undefined) flags[name] = v;
    }
    const datadir = resolveDatadir(typeof flags.datadir === 'string' ? flags.datadir : undefined, process.env);
    const config = resolveConfig(datadir, { flags, env: settingsFromEnv(process.env), file: await readConf(datadir) });
    const running = await ChandNode.start(config);
    process.stdout.write(`chand node ${running.nodeId} running; RPC ${running.rpcUrl}; data in ${datadir} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      const onSignal = (): void => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        void running.stop().then(resolve, resolve);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
  });
}
