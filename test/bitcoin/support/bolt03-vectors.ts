/**
 * Reads the BOLT 3 test vectors (Appendices B–E) straight from the spec markdown in
 * /work/shared/specs/bolts, so the tests are tied to the spec text rather than to a copy.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from '@noble/hashes/utils.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Absolute path of the BOLT 3 markdown. */
export const BOLT3_PATH = path.resolve(repoRoot, '../shared/specs/bolts/03-transactions.md');

let cached: string | undefined;
function specText(): string {
  cached ??= readFileSync(BOLT3_PATH, 'utf8');
  return cached;
}

/** The text of one appendix, from its heading to the next top-level heading. */
export function appendix(letter: string): string {
  const text = specText();
  const start = text.indexOf(`\n# Appendix ${letter}:`);
  if (start < 0) throw new Error(`BOLT 3 has no Appendix ${letter}`);
  const next = text.indexOf('\n# Appendix ', start + 1);
  return text.slice(start, next < 0 ? undefined : next);
}

/** Hex (optionally 0x-prefixed) to bytes; a 33-byte private key with the trailing 01 "compressed" marker loses it. */
export function hex(value: string): Uint8Array {
  return hexToBytes(value.trim().replace(/^0x/i, ''));
}

/** A private key as printed in BOLT 3 (32 bytes + trailing 01). */
export function privkey(value: string): Uint8Array {
  const bytes = hex(value);
  if (bytes.length === 33 && bytes[32] === 1) return bytes.subarray(0, 32);
  if (bytes.length === 32) return bytes;
  throw new Error(`not a BOLT 3 private key: ${bytes.length} bytes`);
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim());
}

/** `key: value` pairs of a block (first occurrence wins); INTERNAL: prefixes are dropped. */
function keyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines(text)) {
    const m = /^(?:INTERNAL:\s*)?([A-Za-z0-9_ ]+?)\s*:\s*(.+)$/.exec(line);
    if (m && !out.has(m[1]!)) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

function required(map: Map<string, string>, key: string): string {
  const v = map.get(key);
  if (v === undefined) throw new Error(`BOLT 3 vector field missing: ${key}`);
  return v;
}

// ---------------------------------------------------------------- Appendix B

/** Appendix B: the funding transaction. */
export interface FundingVector {
  localFundingPubkey: Uint8Array;
  remoteFundingPubkey: Uint8Array;
  fundingWitnessScript: Uint8Array;
  inputTxid: string;
  inputIndex: number;
  inputSat: bigint;
  fundingSat: bigint;
  feeratePerKw: number;
  changeSat: bigint;
  fundingOutputIndex: number;
  fundingTx: Uint8Array;
  txid: string;
  coinbaseTx: Uint8Array;
  coinbasePrivkey: Uint8Array;
}

/** Parses Appendix B. */
export function fundingVector(): FundingVector {
  const text = appendix('B');
  const kv = keyValues(text);
  const comment = (key: string): string => {
    const m = new RegExp(`#\\s*${key}\\s*[:=]\\s*(\\S+)`).exec(text);
    if (!m) throw new Error(`BOLT 3 Appendix B comment missing: ${key}`);
    return m[1]!;
  };
  return {
    localFundingPubkey: hex(required(kv, 'local_funding_pubkey')),
    remoteFundingPubkey: hex(required(kv, 'remote_funding_pubkey')),
    fundingWitnessScript: hex(comment('funding witness script')),
    inputTxid: required(kv, 'input txid'),
    inputIndex: Number(required(kv, 'input index')),
    inputSat: BigInt(required(kv, 'input satoshis')),
    fundingSat: BigInt(required(kv, 'funding satoshis')),
    feeratePerKw: Number(comment('feerate_per_kw')),
    changeSat: BigInt(required(kv, 'change satoshis')),
    fundingOutputIndex: Number(required(kv, 'funding output')),
    fundingTx: hex(required(kv, 'funding tx')),
    txid: comment('txid'),
    coinbaseTx: hex(required(kv, 'Block 1 coinbase transaction')),
    coinbasePrivkey: privkey(required(kv, 'Block 1 coinbase privkey')),
  };
}

// ---------------------------------------------------------------- Appendix C

/** One HTLC of the Appendix C parameter block. */
export interface VectorHtlc {
  id: number;
  /** From local's point of view: remote->local is received, local->remote offered. */
  direction: 'offered' | 'received';
  amountMsat: bigint;
  expiry: number;
  preimage: Uint8Array;
}

/** One HTLC transaction of a commitment case. */
export interface VectorHtlcTx {
  outputIndex: number;
  kind: 'success' | 'timeout';
  htlcId: number;
  remoteSignature: Uint8Array;
  localSignature: Uint8Array;
  tx: Uint8Array;
}

/** One named case of Appendix C. */
export interface CommitmentCase {
  name: string;
  toLocalMsat: bigint;
  toRemoteMsat: bigint;
  feeratePerKw: number;
  baseFeeSat: bigint | undefined;
  actualFeeSat: bigint | undefined;
  /** HTLC ids listed in the case's `# HTLC #n` comments (the untrimmed ones). */
  listedHtlcIds: number[];
  remoteSignature: Uint8Array;
  localSignature: Uint8Array;
  commitTx: Uint8Array;
  numHtlcs: number;
  htlcTxs: VectorHtlcTx[];
}

/** The Appendix C parameters shared by every case, plus the cases. */
export interface CommitmentVectors {
  fundingTxid: string;
  fundingOutputIndex: number;
  fundingAmountSat: bigint;
  commitmentNumber: bigint;
  localDelay: number;
  localDustLimitSat: bigint;
  htlcs: VectorHtlc[];
  remoteFundingPrivkey: Uint8Array;
  localFundingPrivkey: Uint8Array;
  localFundingPubkey: Uint8Array;
  remoteFundingPubkey: Uint8Array;
  localPaymentBasepointSecret: Uint8Array;
  remoteRevocationBasepointSecret: Uint8Array;
  localDelayedPaymentBasepointSecret: Uint8Array;
  remotePaymentBasepointSecret: Uint8Array;
  localPerCommitmentSecret: Uint8Array;
  localPerCommitmentPoint: Uint8Array;
  localPaymentBasepoint: Uint8Array;
  remotePaymentBasepoint: Uint8Array;
  localHtlcBasepoint: Uint8Array;
  remoteHtlcBasepoint: Uint8Array;
  remoteRevocationBasepoint: Uint8Array;
  localDelayedPaymentBasepoint: Uint8Array;
  localPrivkey: Uint8Array;
  localHtlcPubkey: Uint8Array;
  remoteHtlcPubkey: Uint8Array;
  localDelayedPubkey: Uint8Array;
  localRevocationPubkey: Uint8Array;
  obscuredCommitmentNumberComment: { factor: bigint; number: bigint };
  cases: CommitmentCase[];
}

/** Parses Appendix C. */
export function commitmentVectors(): CommitmentVectors {
  const text = appendix('C');
  const firstCase = text.indexOf('name: ');
  const preamble = text.slice(0, firstCase);
  const kv = keyValues(preamble);
  const htlcs: VectorHtlc[] = [];
  for (let id = 0; kv.has(`htlc ${id} direction`); id++) {
    const direction = required(kv, `htlc ${id} direction`);
    htlcs.push({
      id,
      direction: direction === 'remote->local' ? 'received' : direction === 'local->remote' ? 'offered' : fail(`direction ${direction}`),
      amountMsat: BigInt(required(kv, `htlc ${id} amount_msat`)),
      expiry: Number(required(kv, `htlc ${id} expiry`)),
      preimage: hex(required(kv, `htlc ${id} payment_preimage`)),
    });
  }
  const obscured = /obscured commitment number = (0x[0-9a-f]+) \^ (\d+)/.exec(preamble) ?? fail('obscured commitment number comment');

  const caseTexts = text.slice(firstCase).split(/\n\s*(?=name: )/).filter((t) => t.trim().startsWith('name: '));
  const cases = caseTexts.map(parseCase);
  return {
    fundingTxid: required(kv, 'funding_tx_id'),
    fundingOutputIndex: Number(required(kv, 'funding_output_index')),
    fundingAmountSat: BigInt(required(kv, 'funding_amount_satoshi')),
    commitmentNumber: BigInt(required(kv, 'commitment_number')),
    localDelay: Number(required(kv, 'local_delay')),
    localDustLimitSat: BigInt(required(kv, 'local_dust_limit_satoshi')),
    htlcs,
    remoteFundingPrivkey: privkey(required(kv, 'remote_funding_privkey')),
    localFundingPrivkey: privkey(required(kv, 'local_funding_privkey')),
    localFundingPubkey: hex(required(kv, 'local_funding_pubkey')),
    remoteFundingPubkey: hex(required(kv, 'remote_funding_pubkey')),
    localPaymentBasepointSecret: privkey(required(kv, 'local_payment_basepoint_secret')),
    remoteRevocationBasepointSecret: privkey(required(kv, 'remote_revocation_basepoint_secret')),
    localDelayedPaymentBasepointSecret: privkey(required(kv, 'local_delayed_payment_basepoint_secret')),
    remotePaymentBasepointSecret: privkey(required(kv, 'remote_payment_basepoint_secret')),
    localPerCommitmentSecret: privkey(required(kv, 'x_local_per_commitment_secret')),
    localPerCommitmentPoint: hex(required(kv, 'local_per_commitment_point')),
    localPaymentBasepoint: hex(required(kv, 'local_payment_basepoint')),
    remotePaymentBasepoint: hex(required(kv, 'remote_payment_basepoint')),
    localHtlcBasepoint: hex(required(kv, 'local_htlc_basepoint')),
    remoteHtlcBasepoint: hex(required(kv, 'remote_htlc_basepoint')),
    remoteRevocationBasepoint: hex(required(kv, 'remote_revocation_basepoint')),
    localDelayedPaymentBasepoint: hex(required(kv, 'local_delayed_payment_basepoint')),
    localPrivkey: privkey(required(kv, 'local_privkey')),
    localHtlcPubkey: hex(required(kv, 'local_htlcpubkey')),
    remoteHtlcPubkey: hex(required(kv, 'remote_htlcpubkey')),
    localDelayedPubkey: hex(required(kv, 'local_delayedpubkey')),
    localRevocationPubkey: hex(required(kv, 'local_revocation_pubkey')),
    obscuredCommitmentNumberComment: { factor: BigInt(obscured[1]!), number: BigInt(obscured[2]!) },
    cases,
  };
}

function parseCase(text: string): CommitmentCase {
  const ls = lines(text);
  const value = (re: RegExp): string | undefined => {
    for (const l of ls) {
      const m = re.exec(l);
      if (m) return m[1];
    }
    return undefined;
  };
  const need = (re: RegExp, what: string): string => value(re) ?? fail(`${what} in case ${ls[0]}`);
  const listedHtlcIds: number[] = [];
  for (const l of ls) {
    const m = /^# HTLC #(\d+) (offered|received) amount/.exec(l);
    if (m) listedHtlcIds.push(Number(m[1]));
  }
  const htlcTxs: VectorHtlcTx[] = [];
  for (let i = 0; i < ls.length; i++) {
    const m = /^# signature for output #(\d+) \(htlc-(success|timeout) for htlc #(\d+)\)$/.exec(ls[i]!);
    if (!m) continue;
    const remote = /^remote_htlc_signature = ([0-9a-f]+)$/.exec(ls[i + 1]!) ?? fail('remote_htlc_signature');
    const local = /^# local_htlc_signature = ([0-9a-f]+)$/.exec(ls[i + 2]!) ?? fail('local_htlc_signature');
    const tx = /^htlc_(success|timeout)_tx \(htlc #(\d+)\): ([0-9a-f]+)$/.exec(ls[i + 3]!) ?? fail('htlc tx');
    if (tx[1] !== m[2] || tx[2] !== m[3]) fail(`htlc tx header mismatch at ${ls[i]}`);
    htlcTxs.push({
      outputIndex: Number(m[1]),
      kind: m[2] as 'success' | 'timeout',
      htlcId: Number(m[3]),
      remoteSignature: hex(remote[1]!),
      localSignature: hex(local[1]!),
      tx: hex(tx[3]!),
    });
  }
  const base = value(/^# base commitment transaction fee = (\d+)$/);
  const actual = value(/^# actual commitment transaction fee = (\d+)$/);
  return {
    name: need(/^name: (.+)$/, 'name'),
    toLocalMsat: BigInt(need(/^to_local_msat: (\d+)$/, 'to_local_msat')),
    toRemoteMsat: BigInt(need(/^to_remote_msat: (\d+)$/, 'to_remote_msat')),
    feeratePerKw: Number(need(/^local_feerate_per_kw: (\d+)$/, 'local_feerate_per_kw')),
    baseFeeSat: base === undefined ? undefined : BigInt(base),
    actualFeeSat: actual === undefined ? undefined : BigInt(actual),
    listedHtlcIds,
    remoteSignature: hex(need(/^remote_signature = ([0-9a-f]+)$/, 'remote_signature')),
    localSignature: hex(need(/^# local_signature = ([0-9a-f]+)$/, 'local_signature')),
    commitTx: hex(need(/^output commit_tx: ([0-9a-f]+)$/, 'commit_tx')),
    numHtlcs: Number(need(/^num_htlcs: (\d+)$/, 'num_htlcs')),
    htlcTxs,
  };
}

// ---------------------------------------------------------------- Appendix D

/** One generate_from_seed case. */
export interface GenerationCase {
  name: string;
  seed: Uint8Array;
  index: bigint;
  output: Uint8Array;
}

/** One insert_secret step. */
export interface StorageStep {
  index: bigint;
  secret: Uint8Array;
  ok: boolean;
}

/** One storage case. */
export interface StorageCase {
  name: string;
  steps: StorageStep[];
}

/** Parses Appendix D into its generation and storage cases. */
export function shachainVectors(): { generation: GenerationCase[]; storage: StorageCase[] } {
  const text = appendix('D');
  const storageAt = text.indexOf('## Storage Tests');
  const genText = text.slice(0, storageAt);
  const storeText = text.slice(storageAt);
  const generation: GenerationCase[] = [];
  let current: Partial<GenerationCase> = {};
  for (const l of lines(genText)) {
    const m = /^(name|seed|I|output): (.+)$/.exec(l);
    if (!m) continue;
    const [, key, v] = m as unknown as [string, string, string];
    if (key === 'name') current = { name: v };
    else if (key === 'seed') current.seed = hex(v);
    else if (key === 'I') current.index = BigInt(v);
    else {
      current.output = hex(v);
      generation.push(current as GenerationCase);
    }
  }
  const storage: StorageCase[] = [];
  let pending: { index?: bigint; secret?: Uint8Array } = {};
  for (const l of lines(storeText)) {
    const m = /^(name|I|secret|output): (.+)$/.exec(l);
    if (!m) continue;
    const [, key, v] = m as unknown as [string, string, string];
    if (key === 'name') storage.push({ name: v, steps: [] });
    else if (key === 'I') pending = { index: BigInt(v) };
    else if (key === 'secret') pending.secret = hex(v);
    else {
      const last = storage[storage.length - 1] ?? fail('storage step before a name');
      if (pending.index === undefined || pending.secret === undefined) fail('incomplete storage step');
      last.steps.push({ index: pending.index, secret: pending.secret, ok: v === 'OK' ? true : v === 'ERROR' ? false : fail(`output ${v}`) });
    }
  }
  return { generation, storage };
}

// ---------------------------------------------------------------- Appendix E

/** Appendix E inputs and expected outputs. */
export interface KeyDerivationVector {
  baseSecret: Uint8Array;
  perCommitmentSecret: Uint8Array;
  basePoint: Uint8Array;
  perCommitmentPoint: Uint8Array;
  localPubkey: Uint8Array;
  localPrivkey: Uint8Array;
  revocationPubkey: Uint8Array;
  revocationPrivkey: Uint8Array;
}

/** Parses Appendix E. */
export function keyDerivationVector(): KeyDerivationVector {
  const kv = keyValues(appendix('E'));
  return {
    baseSecret: hex(required(kv, 'base_secret')),
    perCommitmentSecret: hex(required(kv, 'per_commitment_secret')),
    basePoint: hex(required(kv, 'base_point')),
    perCommitmentPoint: hex(required(kv, 'per_commitment_point')),
    localPubkey: hex(required(kv, 'localpubkey')),
    localPrivkey: hex(required(kv, 'localprivkey')),
    revocationPubkey: hex(required(kv, 'revocationpubkey')),
    revocationPrivkey: hex(required(kv, 'revocationprivkey')),
  };
}

function fail(what: string): never {
  throw new Error(`BOLT 3 vector parse error: ${what}`);
}
