/**
 * A test network of real processes on 127.0.0.1: one `chand devnet` and N `chand node start`
 * processes, each with free ports and a temporary data directory. Nodes run the CLI as
 * `node <build>/src/cli/main.js node start ...` (spawn-args.ts; through tsx with
 * CHAND_TEST_TSX=1): one process per node (no wrapper), so a
 * SIGKILL by PID hits the node itself. A node can be killed (SIGTERM or SIGKILL) and started
 * again on the same data directory and ports. `stop()` kills, by PID, every process this
 * network started and removes the temporary directories; every wait is bounded in time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REGTEST } from '../../src/chain/network.js';
import { DevnetClient } from '../../src/chain/devnet-client.js';
import { Wallet } from '../../src/chain/wallet.js';
import { readRpcEndpoint, readRpcToken } from '../../src/rpc/endpoint-files.js';
import { RpcClient } from '../../src/rpc/client.js';
import { chandShellCommand, chandSpawnArgs } from './spawn-args.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs one of the user scripts (scripts/walkthrough.sh, scripts/e2e/...) on free ports in
 * `demoDir`, as a user would run it, and returns its exit code and output. On timeout the
 * script gets SIGTERM, whose trap stops every process it started by PID.
 */
export async function runDemoScript(script: string, demoDir: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const ports = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
  const child = spawn('bash', [script], {
    cwd: repoRoot,
    env: {
      ...process.env,
      CHAND_DEMO_DIR: demoDir,
      CHAND_CMD: chandShellCommand(),
      DEVNET_PORT: String(ports[0]),
      ALICE_PORT: String(ports[1]),
      ALICE_RPC: String(ports[2]),
      BOB_PORT: String(ports[3]),
      BOB_RPC: String(ports[4]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, out };
}

/** Polls `check` until it returns a value other than undefined, at most `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`}`);
}

class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = '';

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, chandSpawnArgs(...args), { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-200_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and waits (bounded) for the exit; SIGKILL if SIGTERM is not enough in time. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    process.kill(this.pid, signal);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs));
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      if (this.running) process.kill(this.pid, 'SIGKILL');
      await this.exited;
    }
  }
}

/** One node of the network. */
export class TestNode {
  readonly name: string;
  readonly datadir: string;
  readonly listenPort: number;
  readonly rpcPort: number;
  nodeId = '';
  rpc!: RpcClient;
  #proc: Proc | undefined;
  readonly #network: TestNetwork;
  readonly #args: readonly string[];

  constructor(network: TestNetwork, name: string, datadir: string, listenPort: number, rpcPort: number, args: readonly string[]) {
    this.#network = network;
    this.name = name;
    this.datadir = datadir;
    this.listenPort = listenPort;
    this.rpcPort = rpcPort;
    this.#args = args;
  }

  /** `<node id>@127.0.0.1:<listen port>`. */
  get address(): string {
    return `${this.nodeId}@127.0.0.1:${this.listenPort}`;
  }

  get pid(): number | undefined {
    return this.#proc?.running === true ? this.#proc.pid : undefined;
  }

  /** Everything the process printed (stdout and stderr, last 200 kB). */
  get output(): string {
    return this.#proc?.output ?? '';
  }

  /** The exit of the current process. */
  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined {
    return this.#proc?.exited;
  }

  /**
   * Starts the node process and waits until its RPC answers node_info. `env` is added to the
   * process environment (e.g. CHAND_TEST_CRASH_AT). With `waitReady: false` it returns at once.
   */
  async start(options: { env?: NodeJS.ProcessEnv; waitReady?: boolean } = {}): Promise<void> {
    if (this.#proc?.running === true) throw new Error(`${this.name} is already running`);
    const args = [
      'node', 'start',
      '--datadir', this.datadir,
      '--network', 'devnet',
      '--esplora', this.#network.devnetUrl,
      '--listen', `127.0.0.1:${this.listenPort}`,
      '--rpc', `127.0.0.1:${this.rpcPort}`,
      '--min-depth', '1',
      '--chain-poll-ms', '200',
      ...this.#args,
    ];
    const proc = new Proc(args, { CHAND_TEST_CRASH_AT: '', ...options.env });
    this.#proc = proc;
    this.#network.track(proc);
    if (options.waitReady === false) return;
    await this.waitReady();
  }

  /** Waits until this process wrote its endpoint and its RPC answers. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const proc = this.#proc!;
    await waitFor(`${this.name} RPC`, async () => {
      if (!proc.running) throw new Error(`${this.name} exited: ${proc.output.slice(-2000)}`);
      const endpoint = await readRpcEndpoint(this.datadir).catch(() => undefined);
      if (endpoint === undefined || endpoint.pid !== proc.pid) return undefined;
      this.rpc = new RpcClient({ url: endpoint.url, token: await readRpcToken(this.datadir), timeoutMs: 60_000 });
      const info = (await this.rpc.call('node_info', {})) as { node_id: string };
      this.nodeId = info.node_id;
      return true;
    }, timeoutMs);
  }

  /** A JSON-RPC call. */
  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return this.rpc.call(method, params) as Promise<T>;
  }

  /** Kills the process (SIGKILL by default) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.#proc?.kill(signal);
  }

  /** Kill (SIGKILL) and start again on the same data directory. */
  async restart(options: { env?: NodeJS.ProcessEnv } = {}): Promise<void> {
    await this.kill('SIGKILL');
    await this.start(options);
  }

  /** The channels list_channels reports. */
  async channels(): Promise<Array<Record<string, unknown> & { channel_id: string; state: string }>> {
    return ((await this.call('list_channels', {})) as { channels: Array<Record<string, unknown> & { channel_id: string; state: string }> }).channels;
  }

  /** Connects to `other` (retried until it answers) and waits until both see each other online. */
  async connect(other: TestNode): Promise<void> {
    await waitFor(`${this.name} → ${other.name} connection`, async () => {
      await this.call('connect_peer', { address: other.address });
      const peers = ((await other.call('list_peers')) as { peers: Array<{ peer_id: string }> }).peers;
      return peers.some((p) => p.peer_id === this.nodeId) ? true : undefined;
    });
  }
}

/** See the module comment. */
export class TestNetwork {
  readonly root: string;
  devnetUrl = '';
  devnet!: DevnetClient;
  readonly nodes = new Map<string, TestNode>();
  readonly #procs = new Set<Proc>();
  #devnet: Proc | undefined;

  private constructor(root: string) {
    this.root = root;
  }

  /** Starts devnet and the named nodes (not yet connected), each ready for RPC. */
  static async start(options: { nodes: readonly string[]; nodeArgs?: readonly string[]; nodeArgsFor?: (name: string) => readonly string[] }): Promise<TestNetwork> {
    const net = new TestNetwork(await mkdtemp(path.join(tmpdir(), 'chand-net-')));
    try {
      const port = await freePort();
      net.devnetUrl = `http://127.0.0.1:${port}`;
      net.#devnet = new Proc(['devnet', '--port', String(port), '--datadir', path.join(net.root, 'devnet'), '--initial-blocks', '5'], {});
      net.track(net.#devnet);
      net.devnet = new DevnetClient({ baseUrl: net.devnetUrl, network: REGTEST });
      await waitFor('devnet', async () => ((await net.devnet.getTipHeight()) >= 0 ? true : undefined));
      for (const name of options.nodes) {
        const node = new TestNode(net, name, path.join(net.root, name), await freePort(), await freePort(), [...(options.nodeArgs ?? []), ...(options.nodeArgsFor?.(name) ?? [])]);
        net.nodes.set(name, node);
      }
      await Promise.all([...net.nodes.values()].map((n) => n.start()));
      return net;
    } catch (err) {
      await net.stop();
      throw err;
    }
  }

  /** Records a process so stop() kills it. */
  track(proc: Proc): void {
    this.#procs.add(proc);
  }

  node(name: string): TestNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** Pays `amountSat` from the faucet to a new address of `node`'s wallet and mines it. */
  async fund(node: TestNode, amountSat: number): Promise<void> {
    const { address } = await node.call<{ address: string }>('new_address');
    await this.devnet.faucet(address, BigInt(amountSat));
    await this.devnet.mine(1);
    await waitFor(`${node.name} wallet funds`, async () => {
      const b = await node.call<{ confirmed_sat: number }>('wallet_balance');
      return b.confirmed_sat >= amountSat ? true : undefined;
    });
  }

  /**
   * A BIP84 wallet in the test process playing the user's external signer (hardware, mobile
   * or browser wallet), holding `coins` confirmed faucet coins of `amountSat` each.
   */
  async externalSigner(coins: number, amountSat: bigint): Promise<Wallet> {
    const signer = Wallet.fromMnemonic(Wallet.generateMnemonic(), { chain: this.devnet, network: REGTEST });
    for (let i = 0; i < coins; i++) await this.devnet.faucet(signer.nextReceiveAddress(), amountSat);
    await this.devnet.mine(1);
    return signer;
  }

  /** Kills every process started here (by PID) and removes the temporary directories. */
  async stop(): Promise<void> {
    for (const p of this.#procs) await p.kill('SIGKILL').catch(() => undefined);
    this.#procs.clear();
    await rm(this.root, { recursive: true, force: true });
  }
}
