/**
 * Reading and writing the PSBT files that `chand channel open --external --psbt-out`,
 * `chand signer sign-psbt` and `chand channel submit-psbt` hand each other, so the three
 * compose with files (or pipes) whatever wrote them:
 *
 * - written: base64 text plus a newline, mode 0600, replaced atomically (src/fs/durable-file.ts);
 * - read: base64 text (whitespace, such as line wrapping, ignored), a binary PSBT (BIP 174's
 *   magic `psbt\xff` first), or — where a transaction is acceptable — a hex raw transaction.
 *   `-` reads stdin. A base64 PSBT always starts with "cHNidP8" (the magic), which is not hex,
 *   so the forms cannot be confused.
 */
import { readFile } from 'node:fs/promises';
import { replaceFileAtomic } from '../fs/durable-file.js';

/** BIP 174's magic, `psbt` then 0xff. */
const PSBT_MAGIC = Buffer.from([0x70, 0x73, 0x62, 0x74, 0xff]);
/** How every base64 PSBT starts (the magic, encoded). */
export const PSBT_BASE64_PREFIX = 'cHNidP8';
/** Largest input read (the node's RPC body limit is 1 MiB; a PSBT file is far smaller). */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** The bytes of `path`, or of stdin for `-`. RangeError beyond 4 MiB or when empty. */
export async function readInput(path: string): Promise<Buffer> {
  let bytes: Buffer;
  if (path === '-') {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of process.stdin) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      total += buf.length;
      if (total > MAX_INPUT_BYTES) throw new RangeError(`expected at most ${MAX_INPUT_BYTES} bytes on stdin, got more`);
      chunks.push(buf);
    }
    bytes = Buffer.concat(chunks);
  } else {
    bytes = await readFile(path);
    if (bytes.length > MAX_INPUT_BYTES) throw new RangeError(`expected at most ${MAX_INPUT_BYTES} bytes in ${path}, got ${bytes.length}`);
  }
  if (bytes.length === 0) throw new RangeError(`expected a PSBT in ${path === '-' ? 'stdin' : path}, got an empty input`);
  return bytes;
}

/** What a signed-funding file holds: a PSBT (as base64) or a raw transaction (as lowercase hex). */
export type FundingFileContent = { readonly psbt: string } | { readonly tx: string };

/**
 * Detects what `bytes` hold: a binary PSBT, a base64 PSBT, or (if `allowTx`) a hex
 * transaction. RangeError naming `source` for anything else. Only the form is checked; the
 * node (or the signer) checks the content.
 */
export function decodeFundingFile(bytes: Buffer, source: string, allowTx: boolean): FundingFileContent {
  if (bytes.subarray(0, PSBT_MAGIC.length).equals(PSBT_MAGIC)) return { psbt: bytes.toString('base64') };
  const text = bytes.toString('utf8').replace(/\s+/g, '');
  if (allowTx && /^(?:[0-9a-fA-F]{2})+$/.test(text)) return { tx: text.toLowerCase() };
  if (text.startsWith(PSBT_BASE64_PREFIX) && text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text)) return { psbt: text };
  const what = allowTx ? 'a base64 PSBT, a binary PSBT or a hex transaction' : 'a base64 or binary PSBT';
  const shown = text.length > 24 ? `"${text.slice(0, 21)}..."` : JSON.stringify(text);
  throw new RangeError(`expected ${source} to hold ${what}, got ${shown}`);
}

/** The base64 PSBT that `bytes` hold (base64 or binary); RangeError naming `source` otherwise. */
export function decodePsbtFile(bytes: Buffer, source: string): string {
  const content = decodeFundingFile(bytes, source, false);
  if (!('psbt' in content)) throw new RangeError(`expected ${source} to hold a PSBT, got a transaction`);
  return content.psbt;
}

/** Writes a base64 PSBT to `path` as one line, mode 0600, replacing any file there atomically. */
export async function writePsbtFile(path: string, psbtBase64: string): Promise<void> {
  await replaceFileAtomic(path, `${psbtBase64}\n`);
}
