/**
 * The node's configuration: one value per setting, from (highest first) command-line flags,
 * `CHAND_*` environment variables, `<datadir>/chand.conf`, and defaults.
 *
 * `chand.conf` holds `name = value` lines with the flag names without their dashes
 * (`network = regtest`, `min-chan-size = 50000`); a line starting with `#` is a comment (a `#`
 * later in a line is part of the value, as passphrases and URLs may hold one). A setting's
 * environment variable is its flag name upper-cased with dashes as underscores, prefixed
 * with CHAND_ (`CHAND_MIN_CHAN_SIZE`). Every value is checked here; a bad one is a
 * CONFIG_INVALID error naming the setting and where it came from.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { NETWORK_NAMES, type Network } from '../bitcoin/network.js';
import { ChandError, ErrorCode } from '../errors.js';

/** Where `--network devnet` finds `chand devnet` by default. */
export const DEFAULT_DEVNET_ESPLORA = 'http://127.0.0.1:3002';

const DEFAULT_ESPLORA: Readonly<Record<Network, string>> = {
  mainnet: 'https://blockstream.info/api',
  testnet: 'https://blockstream.info/testnet/api',
  testnet4: 'https://mempool.space/testnet4/api',
  signet: 'https://mempool.space/signet/api',
  regtest: DEFAULT_DEVNET_ESPLORA,
};

/** A resolved host:port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** The backends a node can keep its channels in. */
export type NodeBackend = 'sqlite' | 'lmdb' | 'postgres';

/** Every setting of a node, resolved and checked. */
export interface NodeConfig {
  readonly datadir: string;
  /** The Bitcoin network (`devnet` is chand's local regtest chain: `regtest`). */
  readonly network: Network;
  readonly esploraUrl: string;
  /** Peer listener; false when `--listen off`. */
  readonly listen: HostPort | false;
  readonly rpc: HostPort;
  readonly rpcAllowRemote: boolean;
  readonly backend: NodeBackend;
  readonly dbUrl: string | undefined;
  readonly seedPassphrase: string | undefined;
  readonly minChanSizeSat: bigint;
  readonly minDepth: number;
  readonly allowMainnet: boolean;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** How often the chain is polled, ms. */
  readonly chainPollMs: number;
  /** Confirmations at which a closing transaction and its sweeps count as final. */
  readonly closeDepth: number;
  /** Default deadline of an externally funded open, seconds. */
  readonly externalFundingTimeoutSecs: number;
}

/** The settings, by flag name, with their help text. */
export const SETTINGS = {
  datadir: 'data directory (default ~/.chand)',
  network: 'devnet, regtest, signet, testnet, testnet4 or mainnet (default devnet)',
  esplora: 'Esplora API base URL (default: chand devnet on 127.0.0.1:3002 for devnet/regtest, a public server otherwise)',
  listen: 'peer listener host:port, or "off" (default 127.0.0.1:9735)',
  rpc: 'JSON-RPC host:port (default 127.0.0.1:8227)',
  'rpc-allow-remote': 'allow a non-loopback --rpc address (true/false)',
  backend: 'sqlite, lmdb or postgres (default sqlite)',
  'db-url': 'PostgreSQL URL for --backend postgres',
  'seed-passphrase': 'passphrase that encrypts the seed file (set it at first start)',
  'min-chan-size': 'smallest incoming channel accepted, sat (default 20000)',
  'min-depth': 'confirmations required before a channel opens (default 3)',
  'close-depth': 'confirmations after which a closing transaction and its sweeps count as final (default 6)',
  'allow-mainnet': 'required for --network mainnet (true/false)',
  'log-level': 'debug, info, warn or error (default info)',
  'chain-poll-ms': 'chain polling interval, ms (default 5000)',
  'external-funding-timeout': 'seconds a user has to sign an externally funded open (default 600)',
} as const;

/** A setting's flag name. */
export type SettingName = keyof typeof SETTINGS;

/** Raw values by flag name, as strings (or booleans for switches), from one source. */
export type RawSettings = Partial<Record<SettingName, string | boolean>>;

/** The environment variable of a setting: `min-chan-size` → `CHAND_MIN_CHAN_SIZE`. */
export function envName(setting: SettingName): string {
  return `CHAND_${setting.toUpperCase().replace(/-/g, '_')}`;
}

/** Settings from the environment. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const out: RawSettings = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const v = env[envName(name)];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

/** Parses chand.conf text. CONFIG_INVALID for an unknown setting or a line without `=`. */
export function parseConfFile(text: string, path: string): RawSettings {
  const out: RawSettings = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    // Only whole-line comments: a value (a passphrase, a URL) may contain '#'.
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) throw new ChandError(ErrorCode.CONFIG_INVALID, `${path}:${i + 1}: expected "name = value", got "${line}"`);
    const name = line.slice(0, eq).trim();
    // Own keys only: `in` would also accept inherited names such as `constructor`.
    if (!Object.hasOwn(SETTINGS, name)) throw new ChandError(ErrorCode.CONFIG_INVALID, `${path}:${i + 1}: unknown setting "${name}" (known: ${Object.keys(SETTINGS).join(', ')})`);
    if (name === 'datadir') throw new ChandError(ErrorCode.CONFIG_INVALID, `${path}:${i + 1}: datadir cannot be set inside the data directory's own chand.conf`);
    out[name as SettingName] = line.slice(eq + 1).trim();
  });
  return out;
}

/** The data directory: flag, then CHAND_DATADIR, then ~/.chand. */
export function resolveDatadir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const fromEnv = env['CHAND_DATADIR'];
  const value = flag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.chand'));
  return resolve(value.startsWith('~/') ? join(homedir(), value.slice(2)) : value);
}

/**
 * Resolves every setting from the three sources (flags win, then env, then the file).
 * CONFIG_INVALID for a bad value; MAINNET_NOT_ENABLED for mainnet without allow-mainnet.
 */
export function resolveConfig(datadir: string, sources: { flags: RawSettings; env: RawSettings; file: RawSettings }): NodeConfig {
  const pick = (name: SettingName): { value: string | boolean; from: string } | undefined => {
    if (sources.flags[name] !== undefined) return { value: sources.flags[name]!, from: `--${name}` };
    if (sources.env[name] !== undefined) return { value: sources.env[name]!, from: envName(name) };
    if (sources.file[name] !== undefined) return { value: sources.file[name]!, from: `chand.conf ${name}` };
    return undefined;
  };
  const bad = (from: string, expected: string, got: unknown): ChandError =>
    new ChandError(ErrorCode.CONFIG_INVALID, `${from}: expected ${expected}, got ${JSON.stringify(got)}`);
  const str = (name: SettingName): { value: string; from: string } | undefined => {
    const p = pick(name);
    if (p === undefined) return undefined;
    if (typeof p.value !== 'string') throw bad(p.from, 'a value', p.value);
    return { value: p.value, from: p.from };
  };
  const bool = (name: SettingName): boolean => {
    const p = pick(name);
    if (p === undefined) return false;
    if (typeof p.value === 'boolean') return p.value;
    if (/^(true|1|yes)$/i.test(p.value)) return true;
    if (/^(false|0|no)$/i.test(p.value)) return false;
    throw bad(p.from, 'true or false', p.value);
  };
  const int = (name: SettingName, fallback: number, min: number, max: number): number => {
    const p = str(name);
    if (p === undefined) return fallback;
    const n = Number(p.value);
    if (!/^\d+$/.test(p.value) || !Number.isSafeInteger(n) || n < min || n > max) throw bad(p.from, `an integer in ${min}..${max}`, p.value);
    return n;
  };
  const hostPort = (name: SettingName, fallback: HostPort): HostPort => {
    const p = str(name);
    if (p === undefined) return fallback;
    return parseHostPort(p.value, p.from);
  };

  const networkRaw = str('network');
  const networkName = networkRaw?.value ?? 'devnet';
  let network: Network;
  if (networkName === 'devnet') network = 'regtest';
  else if ((NETWORK_NAMES as readonly string[]).includes(networkName)) network = networkName as Network;
  else throw bad(networkRaw!.from, `devnet or one of ${NETWORK_NAMES.join(', ')}`, networkName);
  const allowMainnet = bool('allow-mainnet');
  if (network === 'mainnet' && !allowMainnet) {
    throw new ChandError(ErrorCode.MAINNET_NOT_ENABLED, 'mainnet needs --allow-mainnet: chand is new software; use it with amounts you can afford to lose');
  }
  const esplora = str('esplora');
  let esploraUrl = esplora?.value ?? DEFAULT_ESPLORA[network];
  try {
    const u = new URL(esploraUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw bad(esplora?.from ?? 'esplora', 'an http(s) URL', esploraUrl);
  }
  esploraUrl = esploraUrl.replace(/\/+$/, '');
  const listenRaw = str('listen');
  const listen = listenRaw?.value === 'off' ? false : hostPort('listen', { host: '127.0.0.1', port: 9735 });
  const backendRaw = str('backend');
  const backend = (backendRaw?.value ?? 'sqlite') as NodeBackend;
  if (!['sqlite', 'lmdb', 'postgres'].includes(backend)) throw bad(backendRaw!.from, 'sqlite, lmdb or postgres', backend);
  const dbUrl = str('db-url')?.value;
  if (backend === 'postgres' && dbUrl === undefined) throw new ChandError(ErrorCode.CONFIG_INVALID, '--backend postgres needs --db-url (e.g. postgres://user@127.0.0.1:5432/chand)');
  const logLevelRaw = str('log-level');
  const logLevel = (logLevelRaw?.value ?? 'info') as NodeConfig['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw bad(logLevelRaw!.from, 'debug, info, warn or error', logLevel);
  const minChan = str('min-chan-size');
  if (minChan !== undefined && !/^\d{1,16}$/.test(minChan.value)) throw bad(minChan.from, 'an amount in sat', minChan.value);
  return {
    datadir,
    network,
    esploraUrl,
    listen,
    rpc: hostPort('rpc', { host: '127.0.0.1', port: 8227 }),
    rpcAllowRemote: bool('rpc-allow-remote'),
    backend,
    dbUrl,
    seedPassphrase: str('seed-passphrase')?.value,
    minChanSizeSat: BigInt(minChan?.value ?? '20000'),
    minDepth: int('min-depth', 3, 1, 144),
    allowMainnet,
    logLevel,
    chainPollMs: int('chain-poll-ms', 5000, 50, 600_000),
    closeDepth: int('close-depth', 6, 1, 144),
    externalFundingTimeoutSecs: int('external-funding-timeout', 600, 1, 7 * 86_400),
  };
}

/** Parses "host:port" ("[v6]:port" for IPv6). CONFIG_INVALID otherwise. */
export function parseHostPort(text: string, from: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new ChandError(ErrorCode.CONFIG_INVALID, `${from}: expected host:port (e.g. 127.0.0.1:9735), got ${JSON.stringify(text)}`);
  return { host: m[1] ?? m[2]!, port };
}
