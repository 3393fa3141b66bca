/**
 * Progress of `chand db migrate` (migrate.ts events) for people and for programs: on a
 * terminal, one bar redrawn in place on stderr (phase, section, records, records/s, ETA);
 * otherwise one JSON line per page on stdout, so a log or a supervisor can follow it.
 */
import type { MigrateProgress } from './migrate.js';

/** Where progress goes. */
export interface ProgressSink {
  write(text: string): unknown;
}

const WIDTH = 28;

function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** One redrawn line for a terminal: `copy  [#####.....]  45%  45,000/100,000 records  120,000/s  ETA 00:01  revocationLogEntry`. */
export function progressBar(p: MigrateProgress): string {
  const fraction = p.total > 0 ? Math.min(1, p.records / p.total) : 1;
  const filled = Math.round(fraction * WIDTH);
  const n = (x: number) => Math.round(x).toLocaleString('en');
  return `${p.phase.padEnd(6)} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${n(p.records)}/${n(p.total)} records  ${n(p.recordsPerSecond)}/s  ETA ${duration(p.etaSeconds)}  ${p.section}${p.resumed ? '  (resumed)' : ''}`;
}

/** The JSON line of an event (no trailing newline). */
export function progressJson(p: MigrateProgress): string {
  return JSON.stringify({ event: 'progress', ...p, recordsPerSecond: Math.round(p.recordsPerSecond), ...(p.etaSeconds === undefined ? {} : { etaSeconds: Math.round(p.etaSeconds * 10) / 10 }) });
}

/**
 * A progress callback writing bars to `terminal` when `isTty`, else JSON lines to `lines`.
 * Bars are redrawn at most every 100 ms (and whenever the phase changes); `end()` finishes
 * the last bar with a newline.
 */
export function progressReporter(options: { isTty: boolean; terminal: ProgressSink; lines: ProgressSink; now?: () => number }): { onProgress(p: MigrateProgress): void; end(): void } {
  const now = options.now ?? (() => performance.now());
  let last = -Infinity;
  let phase: string | undefined;
  let pending: MigrateProgress | undefined;
  const draw = (p: MigrateProgress) => {
    options.terminal.write(`\r${progressBar(p)}\x1b[K`);
    last = now();
    pending = undefined;
  };
  return {
    onProgress(p) {
      if (!options.isTty) {
        options.lines.write(`${progressJson(p)}\n`);
        return;
      }
      if (phase !== undefined && phase !== p.phase) {
        if (pending !== undefined) draw(pending);
        options.terminal.write('\n');
      }
      phase = p.phase;
      if (now() - last >= 100) draw(p);
      else pending = p;
    },
    end() {
      if (!options.isTty) return;
      if (pending !== undefined) draw(pending);
      if (phase !== undefined) options.terminal.write('\n');
    },
  };
}
