/**
 * The command line of crash-writer.ts, written and read in one place so the test and the
 * writer cannot drift: `<seed> <start op> <state file> <backend> <location>` with backend
 * and location `lmdb <dir>`, `sqlite <dir>` or `postgres <url> <schema>`. The state file
 * holds the workload state after `start` ops (v8.serialize), or is `-` for start 0.
 */
import type { ChannelDbConfig } from '../../src/channeldb/open.js';

/** What the writer needs: the workload seed, the first operation to run, the database. */
export interface WriterArgs {
  readonly seed: number;
  /** Operations the database already holds; the writer runs op `start + 1` next. */
  readonly start: number;
  /** File with v8.serialize(stateAfter(start)); absent for start 0. */
  readonly stateFile?: string;
  readonly config: ChannelDbConfig;
}

/** The argv tail for `args`. TypeError for a backend the writer cannot open. */
export function toWriterArgs(args: WriterArgs): string[] {
  const head = [String(args.seed), String(args.start), args.stateFile ?? '-'];
  const c = args.config;
  if (c.backend === 'lmdb') return [...head, 'lmdb', c.path];
  if (c.backend === 'postgres') {
    if (c.schema === undefined) throw new TypeError('expected a schema for the postgres crash writer, got none');
    return [...head, 'postgres', c.url, c.schema];
  }
  if (c.backend === undefined || c.backend === 'sqlite') return [...head, 'sqlite', c.path];
  throw new TypeError(`expected backend lmdb, sqlite or postgres, got ${c.backend}`);
}

/** Parses an argv tail written by toWriterArgs. TypeError for anything else. */
export function fromWriterArgs(argv: readonly string[]): WriterArgs {
  const [seedArg, startArg, file, backend, a, b] = argv;
  const seed = Number(seedArg);
  const start = Number(startArg);
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(start) || start < 0 || file === undefined || (file === '-') !== (start === 0)) {
    throw new TypeError(`expected "<seed> <start op> <state file, - for op 0> <backend> ...", got ${JSON.stringify(argv)}`);
  }
  const head = file === '-' ? { seed, start } : { seed, start, stateFile: file };
  if ((backend === 'lmdb' || backend === 'sqlite') && a !== undefined) return { ...head, config: { backend, path: a } };
  if (backend === 'postgres' && a !== undefined && b !== undefined) return { ...head, config: { backend, url: a, schema: b, maxConnections: 2 } };
  throw new TypeError(`expected backend "lmdb <dir>", "sqlite <dir>" or "postgres <url> <schema>", got ${JSON.stringify(argv.slice(3))}`);
}
