/**
 * `tsx bench/secp256k1-ops.ts [--ms 400] [--batches 5]`: the secp256k1 operations of the
 * payment path, as chand computes them today (noble, through its own src/ functions) and the
 * same result computed with tiny-secp256k1 (libsecp256k1 in WebAssembly). Each pair is first
 * checked to give the same bytes (the bench stops otherwise), then timed in batches of about
 * `--ms` each; the table shows the median µs per call. Prints a markdown table and writes
 * bench/results/secp256k1-ops-<timestamp>.json; no assertions on time.
 *
 * "per round" is how often one side of a payment round (we sign one commitment, verify one,
 * revoke and check one revocation; N HTLCs on the commitment) calls the operation, read off
 * src/channel/core/step.ts and src/funding/initial-channel.ts (commitmentKeys).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tiny from 'tiny-secp256k1';
import { signDigest, verifyDigest } from '../src/bitcoin/ecdsa.js';
import { derivePrivateKey, derivePublicKey, deriveRevocationPublicKey, perCommitmentPoint } from '../src/bitcoin/key-derivation.js';
import { revealedPoint } from '../src/bitcoin/secret-point.js';
import { wasmRevealedPoint } from '../src/bitcoin/secret-point-wasm.js';
import { blindEphemeralKey, onionSharedSecret } from '../src/onion/keys.js';

const { values: flags } = parseArgs({
  options: {
    ms: { type: 'string', default: '400' },
    batches: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const batchMs = Number(flags.ms);
const batches = Number.parseInt(flags.batches!, 10);
if (!(batchMs > 0) || !Number.isSafeInteger(batches) || batches < 1) throw new RangeError(`expected --ms > 0 and --batches >= 1, got ${flags.ms}, ${flags.batches}`);

/** Deterministic 32-byte secrets (all valid scalars: a SHA-256 is below n but for ~2^-128). */
const secret = (label: string) => sha256(new TextEncoder().encode(label));
const SECRETS = Array.from({ length: 64 }, (_, i) => secret(`secret ${i}`));
const POINTS = SECRETS.map((s) => secp256k1.getPublicKey(s, true));
const DIGESTS = SECRETS.map((s) => sha256(s));
const BASE_SECRET = secret('basepoint');
const BASEPOINT = secp256k1.getPublicKey(BASE_SECRET, true);
const SIGS = DIGESTS.map((d, i) => signDigest(d, SECRETS[i]!));
const hex = (b: Uint8Array | null | boolean) => (typeof b === 'boolean' ? String(b) : b === null ? 'null' : Buffer.from(b).toString('hex'));
const need = <T>(v: T | null): T => {
  if (v === null) throw new Error('tiny-secp256k1 returned null');
  return v;
};

interface Op {
  readonly name: string;
  /** How often one side calls it in a payment round with N HTLCs. */
  readonly perRound: string;
  readonly noble: (i: number) => Uint8Array | boolean;
  readonly wasm: (i: number) => Uint8Array | boolean;
}

const OPS: Op[] = [
  {
    name: 'revealed secret·G (store and core revoke_and_ack check), variable-time',
    perRound: '2 (store + core)',
    noble: (i) => revealedPoint(SECRETS[i]!),
    wasm: (i) => wasmRevealedPoint(SECRETS[i]!),
  },
  {
    name: 'own per-commitment point secret·G (perCommitmentPoint), constant-time',
    perRound: '2 (commitment_signed received) + 1 per reestablish',
    noble: (i) => perCommitmentPoint(SECRETS[i]!),
    wasm: (i) => need(tiny.pointFromScalar(SECRETS[i]!, true)),
  },
  {
    name: 'BOLT 3 derivePublicKey: basepoint + SHA256(point||basepoint)·G',
    perRound: '3 per commitment built (2 built) = 6',
    noble: (i) => derivePublicKey(BASEPOINT, POINTS[i]!),
    wasm: (i) => need(tiny.pointAddScalar(BASEPOINT, sha256(concatBytes(POINTS[i]!, BASEPOINT)), true)),
  },
  {
    name: 'BOLT 3 deriveRevocationPublicKey: two point multiplies + add',
    perRound: '1 per commitment built = 2',
    noble: (i) => deriveRevocationPublicKey(BASEPOINT, POINTS[i]!),
    wasm: (i) =>
      need(
        tiny.pointAdd(
          need(tiny.pointMultiply(BASEPOINT, sha256(concatBytes(BASEPOINT, POINTS[i]!)), true)),
          need(tiny.pointMultiply(POINTS[i]!, sha256(concatBytes(POINTS[i]!, BASEPOINT)), true)),
          true,
        ),
      ),
  },
  {
    name: 'BOLT 3 derivePrivateKey (HTLC signing key), constant-time basepoint·G',
    perRound: 'N (one per HTLC signature)',
    noble: (i) => derivePrivateKey(BASE_SECRET, POINTS[i]!),
    wasm: (i) => need(tiny.privateAdd(BASE_SECRET, sha256(concatBytes(POINTS[i]!, need(tiny.pointFromScalar(BASE_SECRET, true)))))),
  },
  {
    name: 'ECDSA sign (RFC 6979, low-S)',
    perRound: '1 + N',
    noble: (i) => signDigest(DIGESTS[i]!, SECRETS[i]!),
    wasm: (i) => tiny.sign(DIGESTS[i]!, SECRETS[i]!),
  },
  {
    name: 'ECDSA verify',
    perRound: '1 + N',
    noble: (i) => verifyDigest(SIGS[i]!, DIGESTS[i]!, POINTS[i]!),
    wasm: (i) => tiny.verify(DIGESTS[i]!, POINTS[i]!, SIGS[i]!),
  },
  {
    name: 'ECDH, SHA256(k·P) (BOLT 4 onion per hop, BOLT 8 handshake x3)',
    perRound: '1 per HTLC received or forwarded; 0 per round on a live connection',
    noble: (i) => onionSharedSecret(SECRETS[i]!, POINTS[(i + 1) % POINTS.length]!),
    wasm: (i) => sha256(need(tiny.pointMultiply(POINTS[(i + 1) % POINTS.length]!, SECRETS[i]!, true))),
  },
  {
    name: 'onion ephemeral key blinding (forwarding hop)',
    perRound: '1 per HTLC forwarded',
    noble: (i) => blindEphemeralKey(POINTS[i]!, DIGESTS[i]!),
    wasm: (i) => need(tiny.pointMultiply(POINTS[i]!, sha256(concatBytes(POINTS[i]!, DIGESTS[i]!)), true)),
  },
];

/** Median µs per call of `f` over `batches` batches of about batchMs each. */
function time(f: (i: number) => unknown): { medianUs: number; runsUs: number[] } {
  // Warm up (JIT, point caches) and size a batch.
  let calls = 0;
  const w0 = performance.now();
  while (performance.now() - w0 < batchMs / 2) f(calls++ % SECRETS.length);
  const perBatch = Math.max(10, Math.round((calls / (performance.now() - w0)) * batchMs));
  const runsUs: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) f(i % SECRETS.length);
    runsUs.push(((performance.now() - t0) * 1000) / perBatch);
  }
  const sorted = [...runsUs].sort((x, y) => x - y);
  return { medianUs: sorted[Math.floor(sorted.length / 2)]!, runsUs };
}

const startedAt = new Date().toISOString();
const results = [];
for (const op of OPS) {
  for (let i = 0; i < SECRETS.length; i++) {
    if (hex(op.noble(i)) !== hex(op.wasm(i))) throw new Error(`${op.name}: noble and tiny-secp256k1 disagree for input ${i}`);
  }
  const noble = time(op.noble);
  const wasm = time(op.wasm);
  results.push({ name: op.name, perRound: op.perRound, nobleUs: noble.medianUs, wasmUs: wasm.medianUs, nobleRunsUs: noble.runsUs, wasmRunsUs: wasm.runsUs });
}

const f = (us: number) => (us >= 100 ? us.toFixed(0) : us.toFixed(1));
const lines = [
  '| operation | per round (one side) | noble µs | tiny-secp256k1 µs | ratio |',
  '| --- | --- | ---: | ---: | ---: |',
  ...results.map((r) => `| ${r.name} | ${r.perRound} | ${f(r.nobleUs)} | ${f(r.wasmUs)} | ${(r.nobleUs / r.wasmUs).toFixed(1)}x |`),
  '',
  `- median of ${batches} batches of ~${batchMs} ms each; node ${process.version}; inputs checked equal before timing`,
];
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(flags.out!, { recursive: true });
const file = join(flags.out!, `secp256k1-ops-${startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ startedAt, batchMs, batches, node: process.version, results, table }, null, 2)}\n`);
process.stderr.write(`wrote ${file}\n`);
