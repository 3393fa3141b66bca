/**
 * The node's structured log: one JSON object per line — `{"t": ISO time, "level", "msg",
 * ...fields}` — appended to `<datadir>/logs/chand.log` and written to stderr. Callers pass
 * only public data (ids, amounts, heights, error messages); nothing here redacts, so secrets
 * must never be given to it.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A structured logger. */
export interface Logger {
  (level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /** Flushes and closes the file. Idempotent. */
  close(): Promise<void>;
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Opens the log of `datadir` at `level` (lines below it are dropped). */
export function openLogger(options: { datadir: string; level: LogLevel; stderr?: boolean }): Logger {
  const dir = join(options.datadir, 'logs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let file: WriteStream | undefined = createWriteStream(join(dir, 'chand.log'), { flags: 'a', mode: 0o600 });
  file.on('error', () => {
    file = undefined; // a full disk must not take the node down through its log
  });
  const min = RANK[options.level];
  const log = ((level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < min) return;
    const line = `${JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields }, jsonSafe)}\n`;
    file?.write(line);
    if (options.stderr !== false) process.stderr.write(line);
  }) as Logger;
  log.close = () =>
    new Promise<void>((resolve) => {
      const f = file;
      file = undefined;
      if (f === undefined) return resolve();
      f.end(() => resolve());
    });
  return log;
}
