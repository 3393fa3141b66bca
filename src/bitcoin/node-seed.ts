/**
 * The node seed: a BIP 39 mnemonic from which every key of the node is derived (see
 * key-chain.ts and docs/keys.md), and the file it lives in.
 *
 * Design:
 * - `NodeSeed` holds the mnemonic in a private field. `toString`, `toJSON` and
 *   `util.inspect` print a redacted placeholder; the only way out is `revealMnemonic()`,
 *   meant for the one-time backup display. Error messages never contain the mnemonic, and
 *   parse errors of a seed file carry no `cause` (JSON parse errors quote file content).
 * - Seed file: one JSON document, versioned, either plaintext or encrypted with a passphrase
 *   (scrypt N=2^15, r=8, p=1 → AES-256-GCM, the header bound as associated data). It is
 *   created with mode 0600 through a temporary file that is fsynced and then hard-linked
 *   into place, so an existing seed is never overwritten and a crash never leaves a partial
 *   seed under the real name. Reading refuses a file that group or others may access.
 * - JS strings cannot be wiped; the mnemonic stays in memory as long as the NodeSeed does.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { link, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { ErrorCode } from '../errors.js';
import { BitcoinError } from './errors.js';
import { Redacted } from './redacted.js';

const FILE_KIND = 'chand-node-seed';
const FILE_VERSION = 1;
const SCRYPT_DEFAULT_LOG_N = 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;

/** A node's BIP 39 mnemonic. Never printed; see the module comment. */
export class NodeSeed extends Redacted {
  readonly #mnemonic: string;

  private constructor(mnemonic: string) {
    super();
    this.#mnemonic = mnemonic;
  }

  /** A fresh 24-word mnemonic (256 bits from the OS CSPRNG). */
  static generate(): NodeSeed {
    return new NodeSeed(generateMnemonic(wordlist, 256));
  }

  /**
   * A seed from an existing English mnemonic (12–24 words; spacing and case are normalized).
   * Throws RangeError if the words or checksum are wrong — without echoing them; validate
   * user input with `isValidMnemonic` first.
   */
  static fromMnemonic(mnemonic: string): NodeSeed {
    if (typeof mnemonic !== 'string') throw new TypeError('expected the mnemonic to be a string');
    const normalized = normalizeMnemonic(mnemonic);
    if (!validateMnemonic(normalized, wordlist)) {
      throw new RangeError(`expected a valid BIP 39 English mnemonic, got ${normalized.split(' ').length} words that are not one`);
    }
    return new NodeSeed(normalized);
  }

  /** True if `mnemonic` (spacing and case aside) is a valid BIP 39 English mnemonic. */
  static isValidMnemonic(mnemonic: string): boolean {
    if (typeof mnemonic !== 'string') return false;
    return validateMnemonic(normalizeMnemonic(mnemonic), wordlist);
  }

  /** The mnemonic words, for showing the user a backup once. Handle the result as a secret. */
  revealMnemonic(): string {
    return this.#mnemonic;
  }

  /**
   * The 64-byte BIP 39 seed, the input of BIP 32. The node's keys use the empty BIP 39
   * passphrase (the default); a wallet may give its own.
   */
  toBip39Seed(passphrase = ''): Uint8Array {
    if (typeof passphrase !== 'string') throw new TypeError('expected the BIP 39 passphrase to be a string');
    return mnemonicToSeedSync(this.#mnemonic, passphrase);
  }

}

/** Options of `writeSeedFile`. */
export interface WriteSeedFileOptions {
  /** Encrypt the mnemonic with this passphrase (non-empty). Without it the file is plaintext, protected by its 0600 mode only. */
  readonly passphrase?: string;
  /** log2 of scrypt's N (default 15). Lower only in tests. */
  readonly scryptLogN?: number;
}

/** Options of `readSeedFile`. */
export interface ReadSeedFileOptions {
  /** The passphrase the file was encrypted with. */
  readonly passphrase?: string;
}

interface PlainFile {
  kind: typeof FILE_KIND;
  version: number;
  encryption: 'none';
  mnemonic: string;
}

interface EncryptedFile {
  kind: typeof FILE_KIND;
  version: number;
  encryption: 'scrypt-aes-256-gcm';
  kdf: { logN: number; r: number; p: number; salt: string };
  iv: string;
  ciphertext: string;
  tag: string;
}

/**
 * Writes `seed` to a new file at `filePath` with mode 0600, optionally encrypted. Never
 * overwrites: throws BitcoinError(SEED_FILE_EXISTS) if the path exists. The file and its
 * directory are fsynced before this resolves.
 */
export async function writeSeedFile(filePath: string, seed: NodeSeed, options: WriteSeedFileOptions = {}): Promise<void> {
  if (typeof filePath !== 'string' || filePath === '') throw new TypeError('expected a seed file path');
  if (!(seed instanceof NodeSeed)) throw new TypeError('expected a NodeSeed');
  const body = options.passphrase === undefined ? plainFile(seed) : await encryptedFile(seed, options.passphrase, options.scryptLogN ?? SCRYPT_DEFAULT_LOG_N);
  const content = `${JSON.stringify(body)}\n`;
  const tmp = `${filePath}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.chmod(0o600); // the umask may have cleared bits; make the mode exact
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // link() fails if the target exists: an atomic create-if-absent of a complete file.
    await link(tmp, filePath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new BitcoinError(ErrorCode.SEED_FILE_EXISTS, `seed file ${filePath} already exists; refusing to overwrite it`);
    }
    throw err;
  } finally {
    await unlink(tmp);
  }
  const dir = await open(path.dirname(filePath), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Reads the seed file at `filePath`. Throws BitcoinError with SEED_NOT_FOUND (no file),
 * SEED_FILE_INSECURE (group/other permission bits set, or not a regular file), SEED_FILE_INVALID
 * (not a chand seed file, or a bad mnemonic) or SEED_DECRYPT_FAILED (missing, unexpected or
 * wrong passphrase).
 */
export async function readSeedFile(filePath: string, options: ReadSeedFileOptions = {}): Promise<NodeSeed> {
  if (typeof filePath !== 'string' || filePath === '') throw new TypeError('expected a seed file path');
  let handle;
  try {
    handle = await open(filePath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BitcoinError(ErrorCode.SEED_NOT_FOUND, `seed file ${filePath} does not exist`);
    }
    throw err;
  }
  let content: string;
  try {
    // Check the opened file itself, so a swap between check and read cannot fool us.
    const st = await handle.stat();
    if (!st.isFile()) throw new BitcoinError(ErrorCode.SEED_FILE_INSECURE, `seed file ${filePath} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new BitcoinError(
        ErrorCode.SEED_FILE_INSECURE,
        `seed file ${filePath} has mode ${(st.mode & 0o777).toString(8)}, which lets group or others access it; run chmod 600 on it`,
      );
    }
    content = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  return parseSeedFile(content, options.passphrase, filePath);
}

function normalizeMnemonic(mnemonic: string): string {
  return mnemonic.normalize('NFKD').trim().toLowerCase().split(/\s+/).join(' ');
}

function plainFile(seed: NodeSeed): PlainFile {
  return { kind: FILE_KIND, version: FILE_VERSION, encryption: 'none', mnemonic: seed.revealMnemonic() };
}

async function encryptedFile(seed: NodeSeed, passphrase: string, logN: number): Promise<EncryptedFile> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new TypeError('expected a non-empty passphrase');
  if (!Number.isInteger(logN) || logN < 10 || logN > 20) throw new RangeError(`expected scryptLogN in [10, 20], got ${String(logN)}`);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const kdf = { logN, r: SCRYPT_R, p: SCRYPT_P, salt: salt.toString('hex') };
  const key = await deriveKey(passphrase, salt, logN, SCRYPT_R, SCRYPT_P);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(kdf, iv.toString('hex')));
  const ciphertext = Buffer.concat([cipher.update(seed.revealMnemonic(), 'utf8'), cipher.final()]);
  key.fill(0);
  return {
    kind: FILE_KIND,
    version: FILE_VERSION,
    encryption: 'scrypt-aes-256-gcm',
    kdf,
    iv: iv.toString('hex'),
    ciphertext: ciphertext.toString('hex'),
    tag: cipher.getAuthTag().toString('hex'),
  };
}

async function parseSeedFile(content: string, passphrase: string | undefined, filePath: string): Promise<NodeSeed> {
  const invalid = (why: string): BitcoinError => new BitcoinError(ErrorCode.SEED_FILE_INVALID, `seed file ${filePath} ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    // No cause: the parser's message may quote the file's content.
    throw invalid('is not valid JSON');
  }
  if (!isRecord(doc) || doc['kind'] !== FILE_KIND) throw invalid('is not a chand seed file');
  if (doc['version'] !== FILE_VERSION) throw invalid(`has unsupported version ${String(doc['version'])}`);
  if (doc['encryption'] === 'none') {
    if (passphrase !== undefined) throw new BitcoinError(ErrorCode.SEED_DECRYPT_FAILED, `seed file ${filePath} is not encrypted, but a passphrase was given`);
    if (typeof doc['mnemonic'] !== 'string') throw invalid('has no mnemonic');
    return fromStoredMnemonic(doc['mnemonic'], invalid);
  }
  if (doc['encryption'] !== 'scrypt-aes-256-gcm') throw invalid('uses an unknown encryption');
  if (passphrase === undefined) throw new BitcoinError(ErrorCode.SEED_DECRYPT_FAILED, `seed file ${filePath} is encrypted; a passphrase is required`);
  const kdf = doc['kdf'];
  const iv = doc['iv'];
  const ciphertext = doc['ciphertext'];
  const tag = doc['tag'];
  if (
    !isRecord(kdf) ||
    !isHex(kdf['salt'], 16) ||
    !isIntIn(kdf['logN'], 10, 20) ||
    kdf['r'] !== SCRYPT_R ||
    kdf['p'] !== SCRYPT_P ||
    !isHex(iv, 12) ||
    !isHex(tag, 16) ||
    typeof ciphertext !== 'string' ||
    !/^(?:[0-9a-f]{2})+$/.test(ciphertext)
  ) {
    throw invalid('has malformed encryption parameters');
  }
  const header = { logN: kdf['logN'] as number, r: SCRYPT_R, p: SCRYPT_P, salt: kdf['salt'] as string };
  const key = await deriveKey(passphrase, Buffer.from(header.salt, 'hex'), header.logN, SCRYPT_R, SCRYPT_P);
  let plaintext: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv as string, 'hex'));
    decipher.setAAD(associatedData(header, iv as string));
    decipher.setAuthTag(Buffer.from(tag as string, 'hex'));
    plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'hex')), decipher.final()]).toString('utf8');
  } catch {
    throw new BitcoinError(ErrorCode.SEED_DECRYPT_FAILED, `seed file ${filePath} could not be decrypted: wrong passphrase or corrupted file`);
  } finally {
    key.fill(0);
  }
  return fromStoredMnemonic(plaintext, invalid);
}

function fromStoredMnemonic(mnemonic: string, invalid: (why: string) => BitcoinError): NodeSeed {
  try {
    return NodeSeed.fromMnemonic(mnemonic);
  } catch {
    throw invalid('holds an invalid mnemonic');
  }
}

function deriveKey(passphrase: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    // scrypt needs 128 * N * r bytes; allow that plus headroom.
    scryptCb(passphrase.normalize('NFKC'), salt, 32, { N, r, p, maxmem: 256 * N * r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function associatedData(kdf: { logN: number; r: number; p: number; salt: string }, iv: string): Buffer {
  return Buffer.from(`${FILE_KIND}/${FILE_VERSION}/scrypt-aes-256-gcm/${kdf.logN}/${kdf.r}/${kdf.p}/${kdf.salt}/${iv}`, 'utf8');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isHex(v: unknown, bytes: number): v is string {
  return typeof v === 'string' && v.length === bytes * 2 && /^[0-9a-f]+$/.test(v);
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
