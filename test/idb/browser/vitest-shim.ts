// A small browser test runtime standing in for `vitest` in the Chromium bundle (esbuild
// aliases the `vitest` import of src/testing to this file): describe/it/hooks collect a tree,
// runRegistered() runs it in order and reports one result per test. `expect` is the real
// one: @vitest/expect's Jest matchers installed on chai, as vitest itself builds it.
import * as chai from 'chai';
import { JestAsymmetricMatchers, JestChaiExpect, JestExtend, setState, type ExpectStatic } from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

/** Jest-style expect over chai, like vitest's createExpect without the test bookkeeping. */
export const expect = ((value: unknown, message?: string) => chai.expect(value, message)) as unknown as ExpectStatic;
Object.assign(expect, chai.expect);
setState(
  {
    assertionCalls: 0,
    isExpectingAssertions: false,
    isExpectingAssertionsError: null,
    expectedAssertionsNumber: null,
    expectedAssertionsNumberErrorGen: null,
    testPath: 'chromium',
    currentTestName: '',
  },
  expect,
);

type Fn = () => unknown;

interface TestNode {
  readonly kind: 'test';
  readonly name: string;
  readonly fn: Fn;
  readonly skip: boolean;
  readonly timeoutMs: number;
}

interface SuiteNode {
  readonly kind: 'suite';
  readonly name: string;
  readonly skip: boolean;
  readonly children: Array<TestNode | SuiteNode>;
  readonly beforeAll: Fn[];
  readonly beforeEach: Fn[];
  readonly afterEach: Fn[];
  readonly afterAll: Fn[];
}

/** One test's outcome, as the Node side of the Chromium test reads it. */
export interface TestResult {
  readonly name: string;
  readonly state: 'pass' | 'fail' | 'skip';
  readonly error?: string;
  readonly ms: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

function newSuite(name: string, skip: boolean): SuiteNode {
  return { kind: 'suite', name, skip, children: [], beforeAll: [], beforeEach: [], afterEach: [], afterAll: [] };
}

let root = newSuite('', false);
let current = root;

function collect(name: string, fn: () => void, skip: boolean): void {
  const suite = newSuite(name, skip || current.skip);
  current.children.push(suite);
  const parent = current;
  current = suite;
  try {
    fn();
  } finally {
    current = parent;
  }
}

function addTest(name: string, fn: Fn, skip: boolean, timeoutMs?: number): void {
  current.children.push({ kind: 'test', name, fn, skip: skip || current.skip, timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS });
}

/** printf-style titles of it.each: %s, %d, %i, %j take the row's values in order. */
function title(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%[sdij]/g, () => String(args[i++]));
}

type Each = (table: readonly unknown[]) => (name: string, fn: (...args: never[]) => unknown) => void;

function eachOf(skip: boolean): Each {
  return (table) => (name, fn) => {
    for (const row of table) {
      const args = Array.isArray(row) ? row : [row];
      addTest(title(name, args), () => (fn as (...a: unknown[]) => unknown)(...args), skip);
    }
  };
}

/** vitest's describe (with .skip). */
export const describe = Object.assign((name: string, fn: () => void) => collect(name, fn, false), {
  skip: (name: string, fn: () => void) => collect(name, fn, true),
});

/** vitest's it (with .skip and .each). */
export const it = Object.assign((name: string, fn: Fn, timeoutMs?: number) => addTest(name, fn, false, timeoutMs), {
  skip: (name: string, fn: Fn = () => {}) => addTest(name, fn, true),
  each: eachOf(false),
});
/** vitest's test, the same as it. */
export const test = it;

export function beforeAll(fn: Fn): void {
  current.beforeAll.push(fn);
}
export function beforeEach(fn: Fn): void {
  current.beforeEach.push(fn);
}
export function afterEach(fn: Fn): void {
  current.afterEach.push(fn);
}
export function afterAll(fn: Fn): void {
  current.afterAll.push(fn);
}

function message(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}${err.stack === undefined ? '' : `\n${err.stack}`}`;
  return String(err);
}

async function withTimeout(fn: Fn, timeoutMs: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function runSuite(suite: SuiteNode, path: string[], eachChain: Array<{ before: Fn[]; after: Fn[] }>, out: TestResult[]): Promise<void> {
  const chain = [...eachChain, { before: suite.beforeEach, after: suite.afterEach }];
  const here = suite.name === '' ? path : [...path, suite.name];
  let setupError: unknown;
  if (!suite.skip) {
    for (const hook of suite.beforeAll) {
      try {
        await withTimeout(hook, DEFAULT_TIMEOUT_MS, 'beforeAll');
      } catch (err) {
        setupError ??= err;
      }
    }
  }
  for (const child of suite.children) {
    if (child.kind === 'suite') {
      await runSuite(child, here, chain, out);
      continue;
    }
    const name = [...here, child.name].join(' > ');
    if (child.skip) {
      out.push({ name, state: 'skip', ms: 0 });
      continue;
    }
    const started = performance.now();
    let failure: unknown = setupError;
    if (failure === undefined) {
      try {
        for (const level of chain) for (const hook of level.before) await withTimeout(hook, DEFAULT_TIMEOUT_MS, 'beforeEach');
        await withTimeout(child.fn, child.timeoutMs, 'test');
      } catch (err) {
        failure = err;
      }
      // afterEach hooks always run, innermost first, even after a failure.
      for (const level of [...chain].reverse()) {
        for (const hook of level.after) {
          try {
            await withTimeout(hook, DEFAULT_TIMEOUT_MS, 'afterEach');
          } catch (err) {
            failure ??= err;
          }
        }
      }
    }
    const ms = performance.now() - started;
    out.push(failure === undefined ? { name, state: 'pass', ms } : { name, state: 'fail', error: message(failure), ms });
  }
  if (!suite.skip) {
    for (const hook of suite.afterAll) {
      try {
        await withTimeout(hook, DEFAULT_TIMEOUT_MS, 'afterAll');
      } catch (err) {
        out.push({ name: [...here, '(afterAll)'].join(' > '), state: 'fail', error: message(err), ms: 0 });
      }
    }
  }
}

/** Runs every test registered so far, in registration order, and forgets them. */
export async function runRegistered(): Promise<TestResult[]> {
  const tree = root;
  root = newSuite('', false);
  current = root;
  const out: TestResult[] = [];
  await runSuite(tree, [], [], out);
  return out;
}
