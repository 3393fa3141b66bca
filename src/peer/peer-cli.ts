/**
 * `chand peer` groundwork: runs one PeerManager in its own process and prints one JSON line
 * per event on stdout. Used by the multi-process tests and the transport benchmark; the real
 * `chand peer` commands will be RPC clients of a node.
 *
 *   node --import tsx src/peer/peer-cli.ts (--key-hex HEX | --seed-file PATH [--network N])
 *     [--listen HOST:PORT | --no-listen] [--connect PUBKEY@HOST:PORT]...
 *     [--chain-hash HEX (default: the genesis hash of --network, regtest by default)]
 *     [--feature BIT]... [--ping-interval-ms N] [--ping-timeout-ms N] [--init-timeout-ms N]
 *     [--handshake-timeout-ms N] [--backoff-initial-ms N] [--backoff-max-ms N]
 *
 * Lines on stdin are commands: `ping NODEID COUNT [WINDOW]` (pipelined pings; prints a
 * `ping-stats` line), `peers` (prints a `peers` line), `stop`. SIGTERM/SIGINT stop gracefully.
 * The first line is `{"event":"started","nodeId":...,"host":...,"port":...}`; the last, on a
 * graceful stop, `{"event":"stopped"}`. The node key is never printed.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { KeyChain } from '../bitcoin/key-chain.js';
import { assertNetwork } from '../bitcoin/network.js';
import { readSeedFile } from '../bitcoin/node-seed.js';
import { hexToBytes } from '../codec/bytes.js';
import { CHAIN_HASHES } from '../linknode/store.js';
import { isChandError } from '../errors.js';
import { chandInitFeatures } from '../wire/features.js';
import { parsePeerAddress } from './peer-address.js';
import { PeerManager } from './peer-manager.js';

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`expected --${name} to be a positive integer, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'key-hex': { type: 'string' },
      'seed-file': { type: 'string' },
      network: { type: 'string', default: 'regtest' },
      listen: { type: 'string', default: '127.0.0.1:9735' },
      'no-listen': { type: 'boolean', default: false },
      connect: { type: 'string', multiple: true, default: [] },
      'chain-hash': { type: 'string' },
      feature: { type: 'string', multiple: true, default: [] },
      'ping-interval-ms': { type: 'string' },
      'ping-timeout-ms': { type: 'string' },
      'init-timeout-ms': { type: 'string' },
      'handshake-timeout-ms': { type: 'string' },
      'backoff-initial-ms': { type: 'string' },
      'backoff-max-ms': { type: 'string' },
    },
  });

  let nodeKey: Uint8Array;
  if (values['key-hex'] !== undefined) {
    nodeKey = hexToBytes(values['key-hex']);
  } else if (values['seed-file'] !== undefined) {
    const seed = await readSeedFile(values['seed-file']);
    const keys = KeyChain.fromSeed(seed, assertNetwork(values.network));
    nodeKey = keys.privateKey(keys.nodeKey().locator);
  } else {
    throw new TypeError('expected --key-hex or --seed-file');
  }

  let features = chandInitFeatures();
  for (const bit of values.feature) features = features.with(Number(bit));

  let listen: { host: string; port: number } | false = false;
  if (!values['no-listen']) {
    const m = /^(.*):(\d+)$/.exec(values.listen);
    if (m === null) throw new TypeError(`expected --listen HOST:PORT, got ${values.listen}`);
    listen = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }

  const limits: Record<string, number> = {};
  const setLimit = (key: string, flag: string) => {
    const v = int(flag, values[flag as keyof typeof values] as string | undefined);
    if (v !== undefined) limits[key] = v;
  };
  setLimit('pingIntervalMs', 'ping-interval-ms');
  setLimit('pingTimeoutMs', 'ping-timeout-ms');
  setLimit('initTimeoutMs', 'init-timeout-ms');
  setLimit('handshakeTimeoutMs', 'handshake-timeout-ms');
  const backoff: Record<string, number> = {};
  const initialMs = int('backoff-initial-ms', values['backoff-initial-ms']);
  const maxMs = int('backoff-max-ms', values['backoff-max-ms']);
  if (initialMs !== undefined) backoff.initialMs = initialMs;
  if (maxMs !== undefined) backoff.maxMs = maxMs;
  if (initialMs !== undefined && maxMs === undefined) backoff.maxMs = Math.max(initialMs, 300_000);

  const network = assertNetwork(values.network);
  const chainHash = values['chain-hash'] ?? CHAIN_HASHES[network];
  const manager = new PeerManager({ nodeKey, chainHash, features, listen, limits, backoff });
  manager.on((event) => print({ event: event.type, ...event, type: undefined }));
  await manager.start();
  const bound = manager.address();
  print({ event: 'started', nodeId: manager.nodeId, host: bound?.host ?? null, port: bound?.port ?? null });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await manager.stop();
    print({ event: 'stopped' });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());

  for (const target of values.connect) {
    const t = parsePeerAddress(target);
    // Failures are printed as events and retried with backoff (the peer is persistent).
    manager.connect(t, { persistent: true }).catch(() => undefined);
  }

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [cmd, ...args] = line.trim().split(/\s+/);
    if (cmd === 'stop') void stop();
    else if (cmd === 'peers') print({ event: 'peers', peers: manager.peers() });
    else if (cmd === 'ping') void pingMany(manager, args[0] ?? '', Number(args[1] ?? 1), Number(args[2] ?? 64));
    else if (cmd !== undefined && cmd !== '') print({ event: 'bad-command', line });
  });
  // Without a controlling stdin (closed pipe) the process keeps serving until signalled.
  rl.on('close', () => undefined);
}

/** Sends `count` pings to `nodeId`, at most `window` outstanding; prints one `ping-stats` line. */
async function pingMany(manager: PeerManager, nodeId: string, count: number, window: number): Promise<void> {
  const started = performance.now();
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const rtts: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      try {
        rtts.push(await manager.ping(nodeId, 4));
        ok += 1;
      } catch (err) {
        failed += 1;
        firstError ??= isChandError(err) ? `${err.code}: ${err.message}` : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(window, count)) }, worker));
  rtts.sort((a, b) => a - b);
  print({
    event: 'ping-stats',
    nodeId,
    count,
    ok,
    failed,
    firstError: firstError ?? null,
    elapsedMs: Math.round(performance.now() - started),
    p50RttMs: rtts.length === 0 ? null : Number(rtts[Math.floor(rtts.length / 2)]!.toFixed(3)),
  });
}

main().catch((err: unknown) => {
  print({ event: 'fatal', code: isChandError(err) ? err.code : null, message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
