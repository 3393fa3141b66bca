/**
 * Runs `src/peer/peer-cli.ts` as a real child process (compiled, see test/support/spawn-args.ts) and follows the JSON
 * event lines it prints. Every process started here is recorded, and `stopAll()` kills what
 * is left by PID and waits (bounded) for it to exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeArgs } from '../../support/spawn-args.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(repoRoot, 'src/peer/peer-cli.ts');

/** One printed event line. */
export type CliEvent = Record<string, unknown> & { readonly event: string };

const live = new Set<PeerProcess>();

export { freePort } from '../../support/test-network.js';

/** A running peer-cli process. */
export class PeerProcess {
  readonly events: CliEvent[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<() => void>();
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === '') continue;
        try {
          this.events.push(JSON.parse(line) as CliEvent);
        } catch {
          this.events.push({ event: 'unparsed', line });
        }
      }
      for (const w of [...this.#waiters]) w();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
  }

  /** Starts the CLI with `args`; resolves once it printed `started` (at most `timeoutMs`). */
  static async start(args: readonly string[], timeoutMs = 30_000): Promise<PeerProcess> {
    const child = spawn(process.execPath, nodeArgs(CLI, args), { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new PeerProcess(child);
    live.add(p);
    void p.exited.then(() => live.delete(p));
    await p.waitFor((e) => e.event === 'started' || e.event === 'fatal', { timeoutMs, what: 'started' }).then((e) => {
      if (e.event === 'fatal') throw new Error(`peer-cli failed: ${JSON.stringify(e)}`);
    });
    return p;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** The node id it printed at start. */
  get nodeId(): string {
    return this.events.find((e) => e.event === 'started')!.nodeId as string;
  }

  /** The port it listens on. */
  get port(): number {
    return this.events.find((e) => e.event === 'started')!.port as number;
  }

  /** Writes one command line to its stdin. */
  command(line: string): void {
    this.#child.stdin!.write(`${line}\n`);
  }

  /**
   * The first event at index >= `from` matching `match`; rejects after `timeoutMs` (with the
   * events seen, for diagnosis) or if the process exits first.
   */
  waitFor(match: (e: CliEvent) => boolean, options: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<CliEvent> {
    const from = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < this.events.length; i++) {
          if (match(this.events[i]!)) {
            done();
            resolve(this.events[i]!);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'an event'}; events: ${JSON.stringify(this.events.slice(from))}; stderr: ${this.#stderr}`));
      }, timeoutMs);
      const onExit = () => {
        // Give the last stdout chunk a moment to be parsed before giving up.
        setTimeout(() => {
          check();
          done();
          reject(new Error(`process exited while waiting for ${options.what ?? 'an event'}; stderr: ${this.#stderr}`));
        }, 50);
      };
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        this.#child.off('exit', onExit);
      };
      this.#waiters.add(check);
      this.#child.once('exit', onExit);
      check();
    });
  }

  /** Sends `signal` to the process by PID and waits (at most 10 s) for it to exit. */
  async kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) process.kill(this.pid, signal);
    return Promise.race([this.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`pid ${this.pid} did not exit after ${signal}`)), 10_000))]);
  }

  /** Kills every process this module started that is still running. */
  static async stopAll(): Promise<void> {
    await Promise.all([...live].map((p) => p.kill('SIGKILL').catch(() => undefined)));
  }
}
