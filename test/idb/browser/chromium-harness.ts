// Node-side harness of the Chromium tests: a node:http server on 127.0.0.1 (a free port)
// serving the test page and its bundle (IndexedDB is denied on data: URLs), and headless
// Debian Chromium started as a real process with its own profile directory, driven over
// the DevTools protocol by playwright-core. The process is ours: it is stopped (or, for the
// kill tests, SIGKILLed) by PID, with its whole process group.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ChandIdbPageApi } from './page-entry.js';

/** Where the Debian chromium package puts its launcher. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, headless, sandbox-less run (the sandbox needs user namespaces CI may lack). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumUnavailable(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (run .ci/install-chromium as root to install the Debian chromium package)`;
}

/** The test page server. */
export interface PageServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `/` (a page loading the bundle as a module) and `/bundle.js` on 127.0.0.1. */
export async function servePage(bundle: string): Promise<PageServer> {
  const html = '<!doctype html><meta charset="utf-8"><title>chand idb tests</title><script type="module" src="/bundle.js"></script>';
  const server: Server = createServer((req, res) => {
    if (req.url === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(bundle);
    } else if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err === undefined ? resolve() : reject(err)));
      }),
  };
}

/** A running Chromium process with a profile directory, and the CDP connection to it. */
export interface RunningChromium {
  readonly pid: number;
  readonly browser: Browser;
  /** The default (persistent, on-disk) context of the profile. */
  readonly context: BrowserContext;
  /** Graceful stop: closes the browser, then makes sure the process group is gone. */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group (no shutdown, no flush), then waits for the exit. */
  kill(): Promise<void>;
}

const DEVTOOLS_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Starts Chromium on profile `userDataDir` and connects to it. */
export async function launchChromium(userDataDir: string): Promise<RunningChromium> {
  // detached: its own process group, so the renderers and helpers die with it.
  const child = spawn(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${userDataDir}`, '--remote-debugging-port=0', 'about:blank'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${CHROMIUM}`);
  let stderr = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Chromium printed no DevTools endpoint within ${DEVTOOLS_TIMEOUT_MS} ms:\n${stderr}`)), DEVTOOLS_TIMEOUT_MS);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  }).catch((err: unknown) => {
    killGroup(pid, 'SIGKILL');
    throw err;
  });
  // Keep draining stderr so the pipe never fills.
  child.stderr!.resume();
  let browser: Browser;
  try {
    browser = await chromium.connectOverCDP(endpoint);
  } catch (err) {
    killGroup(pid, 'SIGKILL');
    throw err;
  }
  const context = browser.contexts()[0]!;
  return {
    pid,
    browser,
    context,
    async stop() {
      await browser.close().catch(() => undefined);
      killGroup(pid, 'SIGTERM');
      if (!(await exited(child, EXIT_TIMEOUT_MS))) {
        killGroup(pid, 'SIGKILL');
        await exited(child, EXIT_TIMEOUT_MS);
      }
    },
    async kill() {
      killGroup(pid, 'SIGKILL');
      if (!(await exited(child, EXIT_TIMEOUT_MS))) throw new Error(`Chromium ${pid} did not exit after SIGKILL`);
      await browser.close().catch(() => undefined);
    },
  };
}

/** Opens the test page in `context` and waits until its module has loaded. */
export async function openTestPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as { chandIdb?: { ready: boolean } }).chandIdb?.ready === true, undefined, { timeout: 30_000 }).catch((err: unknown) => {
    throw new Error(`the test page did not load: ${errors.join('\n') || String(err)}`);
  });
  return page;
}

/** Calls `method` of the page's chandIdb API with `args` and returns its result. */
export function call<K extends keyof ChandIdbPageApi>(
  page: Page,
  method: K,
  ...args: ChandIdbPageApi[K] extends (...a: infer A) => unknown ? A : never
): Promise<ChandIdbPageApi[K] extends (...a: never[]) => infer R ? Awaited<R> : never> {
  return page.evaluate(
    ([m, a]) => {
      const api = (globalThis as unknown as { chandIdb: Record<string, (...x: unknown[]) => unknown> }).chandIdb;
      return api[m as string]!(...(a as unknown[]));
    },
    [method, args] as const,
  ) as never;
}
