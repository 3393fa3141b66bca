/**
 * Node configuration: flags beat `CHAND_*` environment variables, which beat `chand.conf`,
 * which beats the defaults, setting by setting; every bad value is CONFIG_INVALID naming the
 * setting as its source spells it (`--min-depth`, `CHAND_MIN_DEPTH`, `chand.conf min-depth`);
 * mainnet needs allow-mainnet; `devnet` is regtest against the local devnet Esplora; and the
 * conf file's syntax (comments, `name = value`, unknown names) is checked line by line.
 */
import { describe, expect, it } from 'vitest';
import { ChandError, ErrorCode } from '../../src/errors.js';
import {
  DEFAULT_DEVNET_ESPLORA,
  envName,
  parseConfFile,
  parseHostPort,
  resolveConfig,
  settingsFromEnv,
  SETTINGS,
  type RawSettings,
  type SettingName,
} from '../../src/node/config.js';

const DATADIR = '/tmp/chand-config-test';
const resolve = (flags: RawSettings = {}, env: RawSettings = {}, file: RawSettings = {}) => resolveConfig(DATADIR, { flags, env, file });

/** The ChandError `fn` throws (fails the test if it throws anything else or nothing). */
function chandErrorOf(fn: () => unknown): ChandError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ChandError);
    return err as ChandError;
  }
  throw new Error('expected a ChandError, got no error');
}

describe('envName and settingsFromEnv', () => {
  it('upper-cases the flag name, dashes to underscores, prefixed CHAND_', () => {
    expect(envName('min-chan-size')).toBe('CHAND_MIN_CHAN_SIZE');
    expect(envName('network')).toBe('CHAND_NETWORK');
    expect(envName('rpc-allow-remote')).toBe('CHAND_RPC_ALLOW_REMOTE');
  });

  it('reads every known setting from its variable, and nothing else; empty values are unset', () => {
    const env = { CHAND_MIN_DEPTH: '6', CHAND_NETWORK: 'signet', CHAND_LOG_LEVEL: '', CHAND_UNKNOWN: 'x', PATH: '/bin' };
    expect(settingsFromEnv(env)).toEqual({ 'min-depth': '6', network: 'signet' });
    const all = Object.fromEntries((Object.keys(SETTINGS) as SettingName[]).map((n) => [envName(n), `v-${n}`]));
    expect(Object.keys(settingsFromEnv(all)).sort()).toEqual(Object.keys(SETTINGS).sort());
  });
});

describe('resolveConfig defaults', () => {
  it('is a local devnet node when nothing is set', () => {
    expect(resolve()).toEqual({
      datadir: DATADIR,
      network: 'regtest',
      esploraUrl: DEFAULT_DEVNET_ESPLORA,
      listen: { host: '127.0.0.1', port: 9735 },
      rpc: { host: '127.0.0.1', port: 8227 },
      rpcAllowRemote: false,
      backend: 'sqlite',
      dbUrl: undefined,
      seedPassphrase: undefined,
      minChanSizeSat: 20_000n,
      minDepth: 3,
      allowMainnet: false,
      logLevel: 'info',
      chainPollMs: 5000,
      closeDepth: 6,
      externalFundingTimeoutSecs: 600,
    });
  });
});

describe('precedence: flags > env > chand.conf > default', () => {
  /** Per setting: [flag value, env value, file value, default], and how to read it from the config. */
  const cases: ReadonlyArray<{ name: SettingName; values: [string, string, string]; fallback: unknown; read: (c: ReturnType<typeof resolve>) => unknown; parse: (v: string) => unknown }> = [
    { name: 'min-depth', values: ['6', '9', '12'], fallback: 3, read: (c) => c.minDepth, parse: Number },
    { name: 'network', values: ['signet', 'testnet4', 'testnet'], fallback: 'regtest', read: (c) => c.network, parse: (v) => v },
    { name: 'log-level', values: ['debug', 'warn', 'error'], fallback: 'info', read: (c) => c.logLevel, parse: (v) => v },
    { name: 'min-chan-size', values: ['30000', '40000', '50000'], fallback: 20_000n, read: (c) => c.minChanSizeSat, parse: BigInt },
    { name: 'chain-poll-ms', values: ['100', '200', '300'], fallback: 5000, read: (c) => c.chainPollMs, parse: Number },
    { name: 'listen', values: ['127.0.0.1:1001', '127.0.0.1:1002', '127.0.0.1:1003'], fallback: { host: '127.0.0.1', port: 9735 }, read: (c) => c.listen, parse: (v) => parseHostPort(v, 'x') },
    { name: 'rpc', values: ['127.0.0.1:2001', '127.0.0.1:2002', '127.0.0.1:2003'], fallback: { host: '127.0.0.1', port: 8227 }, read: (c) => c.rpc, parse: (v) => parseHostPort(v, 'x') },
    { name: 'esplora', values: ['http://127.0.0.1:1/a', 'http://127.0.0.1:2/b', 'https://example.org/c'], fallback: DEFAULT_DEVNET_ESPLORA, read: (c) => c.esploraUrl, parse: (v) => v },
    { name: 'backend', values: ['lmdb', 'sqlite', 'lmdb'], fallback: 'sqlite', read: (c) => c.backend, parse: (v) => v },
    { name: 'seed-passphrase', values: ['flag-pass', 'env-pass', 'file-pass'], fallback: undefined, read: (c) => c.seedPassphrase, parse: (v) => v },
    { name: 'rpc-allow-remote', values: ['true', 'false', 'yes'], fallback: false, read: (c) => c.rpcAllowRemote, parse: (v) => /^(true|yes|1)$/.test(v) },
  ];

  for (const { name, values, fallback, read, parse } of cases) {
    it(`${name}: the highest source present wins, in every combination`, () => {
      for (let mask = 0; mask < 8; mask++) {
        const [flag, env, file] = values;
        const sources = { flags: {} as RawSettings, env: {} as RawSettings, file: {} as RawSettings };
        if (mask & 1) sources.flags[name] = flag;
        if (mask & 2) sources.env[name] = env;
        if (mask & 4) sources.file[name] = file;
        const expected = mask & 1 ? parse(flag) : mask & 2 ? parse(env) : mask & 4 ? parse(file) : fallback;
        expect(read(resolveConfig(DATADIR, sources)), `mask ${mask}`).toEqual(expected);
      }
    });
  }

  it('combines settings from different sources', () => {
    const c = resolve({ 'min-depth': '1' }, { network: 'signet', 'log-level': 'debug' }, { 'min-chan-size': '100000', 'log-level': 'error' });
    expect(c).toMatchObject({ minDepth: 1, network: 'signet', logLevel: 'debug', minChanSizeSat: 100_000n });
    expect(c.esploraUrl).toBe('https://mempool.space/signet/api');
  });

  it('a boolean switch flag (true) beats a false in the environment', () => {
    expect(resolve({ 'rpc-allow-remote': true }, { 'rpc-allow-remote': 'false' }).rpcAllowRemote).toBe(true);
    expect(resolve({ 'rpc-allow-remote': false }, { 'rpc-allow-remote': 'true' }).rpcAllowRemote).toBe(false);
  });

  it('only the value that wins is checked: a bad value hidden by a higher source does not fail', () => {
    expect(resolve({ 'min-depth': '5' }, { 'min-depth': 'many' }, { 'min-depth': '-1' }).minDepth).toBe(5);
  });
});

describe('bad values: CONFIG_INVALID naming the source', () => {
  const sourceOf = (name: SettingName) =>
    [
      ['flag', `--${name}`, (v: string | boolean) => resolve({ [name]: v })],
      ['env', envName(name), (v: string | boolean) => resolve({}, { [name]: v })],
      ['file', `chand.conf ${name}`, (v: string | boolean) => resolve({}, {}, { [name]: v })],
    ] as const;

  const bad: ReadonlyArray<[SettingName, string | boolean]> = [
    ['min-depth', '0'],
    ['min-depth', '145'],
    ['min-depth', '3.5'],
    ['min-depth', '-1'],
    ['min-depth', 'three'],
    ['min-depth', ''],
    ['min-depth', true],
    ['chain-poll-ms', '49'],
    ['chain-poll-ms', '600001'],
    ['min-chan-size', 'abc'],
    ['min-chan-size', '-5'],
    ['min-chan-size', '12345678901234567'],
    ['network', 'bitcoin'],
    ['network', 'Mainnet'],
    ['backend', 'mysql'],
    ['log-level', 'loud'],
    ['esplora', 'ftp://127.0.0.1/api'],
    ['esplora', 'not a url'],
    ['listen', 'localhost'],
    ['listen', '127.0.0.1:65536'],
    ['listen', '::1:9735'],
    ['rpc', '127.0.0.1'],
    ['rpc', ':8227'],
    ['allow-mainnet', 'maybe'],
    ['rpc-allow-remote', 'perhaps'],
  ];

  for (const [name, value] of bad) {
    it(`${name} = ${JSON.stringify(value)} from each source`, () => {
      for (const [, from, run] of sourceOf(name)) {
        const err = chandErrorOf(() => run(value));
        expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
        expect(err.message.startsWith(`${from}:`), err.message).toBe(true);
      }
    });
  }

  it('the edges of each range are accepted', () => {
    expect(resolve({ 'min-depth': '1' }).minDepth).toBe(1);
    expect(resolve({ 'min-depth': '144' }).minDepth).toBe(144);
    expect(resolve({ 'chain-poll-ms': '50' }).chainPollMs).toBe(50);
    expect(resolve({ 'chain-poll-ms': '600000' }).chainPollMs).toBe(600_000);
    expect(resolve({ 'min-chan-size': '0' }).minChanSizeSat).toBe(0n);
    expect(resolve({ listen: '127.0.0.1:65535' }).listen).toEqual({ host: '127.0.0.1', port: 65535 });
  });
});

describe('networks', () => {
  it('mainnet without allow-mainnet is MAINNET_NOT_ENABLED, from any source', () => {
    for (const run of [() => resolve({ network: 'mainnet' }), () => resolve({}, { network: 'mainnet' }), () => resolve({}, {}, { network: 'mainnet' })]) {
      expect(chandErrorOf(run).code).toBe(ErrorCode.MAINNET_NOT_ENABLED);
    }
    expect(chandErrorOf(() => resolve({ network: 'mainnet' }, { 'allow-mainnet': 'false' })).code).toBe(ErrorCode.MAINNET_NOT_ENABLED);
  });

  it('mainnet with allow-mainnet resolves, against a public Esplora by default', () => {
    const c = resolve({ network: 'mainnet', 'allow-mainnet': true });
    expect(c.network).toBe('mainnet');
    expect(c.allowMainnet).toBe(true);
    expect(c.esploraUrl).toMatch(/^https:\/\//);
    expect(resolve({}, { network: 'mainnet' }, { 'allow-mainnet': 'yes' }).network).toBe('mainnet');
  });

  it('devnet is regtest with the devnet Esplora default; regtest uses it too', () => {
    expect(resolve({ network: 'devnet' })).toMatchObject({ network: 'regtest', esploraUrl: DEFAULT_DEVNET_ESPLORA });
    expect(DEFAULT_DEVNET_ESPLORA).toBe('http://127.0.0.1:3002');
    expect(resolve({ network: 'regtest' }).esploraUrl).toBe(DEFAULT_DEVNET_ESPLORA);
    expect(resolve({ network: 'devnet', esplora: 'http://127.0.0.1:4000/' }).esploraUrl).toBe('http://127.0.0.1:4000');
  });

  it('every test network gets its own public Esplora default', () => {
    const urls = ['testnet', 'testnet4', 'signet'].map((network) => resolve({ network }).esploraUrl);
    expect(new Set(urls).size).toBe(3);
    for (const u of urls) expect(u).toMatch(/^https:\/\//);
  });
});

describe('listen, rpc and backend', () => {
  it('listen = off disables the peer listener, from the file or a flag', () => {
    expect(resolve({}, {}, { listen: 'off' }).listen).toBe(false);
    expect(resolve({ listen: 'off' }).listen).toBe(false);
    expect(resolve({ listen: '127.0.0.1:9999' }, {}, { listen: 'off' }).listen).toEqual({ host: '127.0.0.1', port: 9999 });
  });

  it('parses IPv6 in brackets', () => {
    expect(parseHostPort('[::1]:9735', '--listen')).toEqual({ host: '::1', port: 9735 });
    expect(resolve({ listen: '[::1]:9735', rpc: '[fe80::1]:8227' })).toMatchObject({ listen: { host: '::1', port: 9735 }, rpc: { host: 'fe80::1', port: 8227 } });
    expect(parseHostPort(' 0.0.0.0:1 ', 'x')).toEqual({ host: '0.0.0.0', port: 1 });
    expect(parseHostPort('node.example:9735', 'x')).toEqual({ host: 'node.example', port: 9735 });
  });

  it('parseHostPort errors name their source', () => {
    for (const text of ['::1', '[::1]', '[::1]9735', 'host:', 'host:123456', 'a b:1', '']) {
      const err = chandErrorOf(() => parseHostPort(text, 'chand.conf rpc'));
      expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
      expect(err.message).toMatch(/^chand\.conf rpc:/);
    }
  });

  it('postgres needs db-url', () => {
    const err = chandErrorOf(() => resolve({ backend: 'postgres' }));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toMatch(/db-url/);
    const c = resolve({ backend: 'postgres' }, { 'db-url': 'postgres://chand@127.0.0.1:5432/test' });
    expect(c).toMatchObject({ backend: 'postgres', dbUrl: 'postgres://chand@127.0.0.1:5432/test' });
  });
});

describe('parseConfFile', () => {
  const PATH = '/data/chand.conf';

  it('reads name = value lines; skips blank lines and whole-line # comments; trims; accepts CRLF', () => {
    const text = [
      '# chand.conf',
      '',
      'network = signet',
      '   # six confirmations',
      '   min-depth=6   ',
      'listen = off',
      '\tlog-level =  debug\t',
      'esplora = http://127.0.0.1:3002/api',
    ].join('\r\n');
    expect(parseConfFile(text, PATH)).toEqual({ network: 'signet', 'min-depth': '6', listen: 'off', 'log-level': 'debug', esplora: 'http://127.0.0.1:3002/api' });
    expect(parseConfFile('', PATH)).toEqual({});
    expect(parseConfFile('# only\n   \n#comments\n', PATH)).toEqual({});
  });

  it('keeps a # inside a value (passphrases and URLs may hold one)', () => {
    expect(parseConfFile('seed-passphrase = correct#horse # battery', PATH)).toEqual({ 'seed-passphrase': 'correct#horse # battery' });
    expect(parseConfFile('esplora = http://127.0.0.1:3002/#frag', PATH)).toEqual({ esplora: 'http://127.0.0.1:3002/#frag' });
  });

  it('keeps everything after the first = as the value', () => {
    expect(parseConfFile('db-url = postgres://u@127.0.0.1:5432/db?sslmode=disable', PATH)).toEqual({ 'db-url': 'postgres://u@127.0.0.1:5432/db?sslmode=disable' });
  });

  it('a file read this way feeds resolveConfig', () => {
    const file = parseConfFile('network = testnet4\nmin-chan-size = 75000\nlisten = [::1]:19735\n', PATH);
    expect(resolve({}, {}, file)).toMatchObject({ network: 'testnet4', minChanSizeSat: 75_000n, listen: { host: '::1', port: 19735 } });
  });

  it('an unknown setting is CONFIG_INVALID with the file and line', () => {
    const err = chandErrorOf(() => parseConfFile('network = signet\nmin-dept = 3\n', PATH));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toMatch(/^\/data\/chand\.conf:2: /);
    expect(err.message).toMatch(/min-dept/);
  });

  it('names that exist on every object are unknown settings too', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const err = chandErrorOf(() => parseConfFile(`${name} = 1`, PATH));
      expect(err.code, name).toBe(ErrorCode.CONFIG_INVALID);
      expect(err.message).toMatch(/unknown setting/);
    }
  });

  it('a line without = is CONFIG_INVALID with the file and line', () => {
    const err = chandErrorOf(() => parseConfFile('# ok\nnetwork signet\n', PATH));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toMatch(/^\/data\/chand\.conf:2: /);
    expect(err.message).toMatch(/network signet/);
  });

  it('datadir cannot be set in the data directory\'s own chand.conf', () => {
    const err = chandErrorOf(() => parseConfFile('datadir = /elsewhere', PATH));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toMatch(/datadir/);
  });
});
