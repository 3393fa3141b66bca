/**
 * Durable small files (Node only): state and credential files a node keeps beside its
 * database. Each write goes to a fresh temporary file (mode 0600, fsynced) that is then
 * renamed or linked into place and the directory fsynced, so a crash leaves the old content
 * or the new one, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsyncs a directory, making a rename or link inside it durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `content` to a fresh temporary file beside `target` with mode 0600, fsynced; returns its path. */
export async function writeTempFile(target: string, content: string): Promise<string> {
  const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.chmod(0o600); // the umask may have cleared bits; make the mode exact
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  return tmp;
}

/** Replaces `path` with `content` (mode 0600) atomically and durably. */
export async function replaceFileAtomic(path: string, content: string): Promise<void> {
  const tmp = await writeTempFile(path, content);
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}

/** The parsed JSON of `path`, or undefined if the file does not exist. SyntaxError for a file that is not JSON. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as unknown;
}
