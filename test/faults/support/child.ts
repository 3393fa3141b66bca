/**
 * A child process speaking JSON lines, for fault tests: collects its stdout lines, waits
 * (bounded) for a line or a condition, and is always stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { nodeArgs } from '../../support/spawn-args.js';

/** The repository root (the children's working directory). */
export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

/** A running child and what it said so far. */
export interface JsonChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every JSON line so far, in order. */
  readonly lines: Array<Record<string, unknown>>;
  /** Everything it wrote on stderr. */
  stderr(): string;
  /** Resolves once `predicate` holds for the lines so far; rejects after `timeoutMs` or if the child exits first. */
  waitUntil(what: string, predicate: (lines: ReadonlyArray<Record<string, unknown>>) => boolean, timeoutMs: number): Promise<void>;
  /** Resolves with the exit code (or signal) once it exited; rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs it by PID if it still runs. */
  kill(): void;
}

/** Starts `node <script> ...args` (compiled, see test/support/spawn-args.ts) in the repository root. */
export function spawnJsonChild(script: string, args: readonly string[]): JsonChild {
  const child = spawn(process.execPath, nodeArgs(script, args), { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${script}`);
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ unparsed: line });
      }
    }
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    notify();
  });
  const wait = <T>(what: string, check: () => T | undefined, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        listeners.delete(listener);
        fn();
      };
      const listener = () => {
        let value: T | undefined;
        try {
          value = check();
        } catch (err) {
          done(() => reject(err as Error));
          return;
        }
        if (value !== undefined) done(() => resolve(value));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${stderr.slice(-2000)}`))), timeoutMs);
      listeners.add(listener);
      listener();
    });
  return {
    process: child,
    pid: child.pid,
    lines,
    stderr: () => stderr,
    waitUntil: (what, predicate, timeoutMs) =>
      wait(
        what,
        () => {
          if (predicate(lines)) return true;
          if (exit !== undefined) throw new Error(`child exited (${JSON.stringify(exit)}) before ${what}; stderr: ${stderr.slice(-2000)}`);
          return undefined;
        },
        timeoutMs,
      ).then(() => {}),
    exited: (timeoutMs) => wait('the child to exit', () => exit, timeoutMs),
    kill() {
      if (exit === undefined) {
        try {
          process.kill(child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    },
  };
}
