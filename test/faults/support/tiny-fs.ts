/**
 * A tiny filesystem for disk-full tests: a tmpfs of a few hundred KB mounted on a fresh
 * directory. Needs root and mount permission; otherwise `mountTinyFs` says why, and the
 * caller skips loudly (or falls back to a per-connection size limit).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A mounted tmpfs; `unmount` removes it and its mount point. */
export interface TinyFs {
  readonly dir: string;
  unmount(): void;
}

/** Mounts a tmpfs of `bytes` bytes, or returns why it cannot. */
export function mountTinyFs(bytes: number): TinyFs | string {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = mkdtempSync(join(tmpdir(), 'chand-tinyfs-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(mounted.stderr || mounted.error?.message || '').trim()}`;
  }
  return {
    dir,
    unmount() {
      const result = spawnSync('umount', [dir], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`umount ${dir} failed: ${result.stderr.trim()}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
