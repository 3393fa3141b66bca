/**
 * The devnet script interpreter against every BOLT 3 witness script (03-transactions.md:
 * funding 2-of-2, to_local, to_remote with option_anchors, anchors, offered and received
 * HTLCs with and without option_anchors, HTLC transaction outputs), built here from the
 * spec's templates with real keys, signed over real BIP143 digests (btc-signer) with
 * SIGHASH_ALL and SIGHASH_SINGLE|ANYONECANPAY, and spent along every branch — plus the
 * spends that must fail.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Script, Transaction, type ScriptType } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { p2wshScript } from '../../src/bitcoin/script.js';
import { withWitness } from '../../src/bitcoin/transaction.js';
import { decodeTransaction, inputChecker, verifyInputWitness } from '../../src/chain/devnet/tx-validation.js';
import { verifyWitnessV0, type ScriptResult } from '../../src/chain/devnet/script-interpreter.js';

const SIGHASH_ALL = 0x01;
const SIGHASH_SINGLE_ACP = 0x83;
const AMOUNT = 100_000n;
const EMPTY = new Uint8Array(0);
const ONE = Uint8Array.of(1);

/** A deterministic key pair for a role name. */
function key(role: string): { priv: Uint8Array; pub: Uint8Array } {
  const priv = sha256(new TextEncoder().encode(`bolt03-scripts ${role}`));
  return { priv, pub: secp256k1.getPublicKey(priv, true) };
}

const local = key('local_htlc');
const remote = key('remote_htlc');
const revocation = key('revocation');
const delayed = key('local_delayed');
const fundingA = key('funding_a');
const fundingB = key('funding_b');
const preimage = sha256(new TextEncoder().encode('payment preimage'));
const paymentHash = sha256(preimage);

// ---- the BOLT 3 templates ----

function toLocalScript(toSelfDelay: number): Uint8Array {
  return Script.encode(['IF', revocation.pub, 'ELSE', toSelfDelay, 'CHECKSEQUENCEVERIFY', 'DROP', delayed.pub, 'ENDIF', 'CHECKSIG']);
}

function fundingScript(): Uint8Array {
  const [first, second] = [fundingA.pub, fundingB.pub].sort((a, b) => Buffer.compare(a, b));
  return Script.encode([2, first!, second!, 2, 'CHECKMULTISIG']);
}

function toRemoteAnchorsScript(): Uint8Array {
  return Script.encode([remote.pub, 'CHECKSIGVERIFY', 1, 'CHECKSEQUENCEVERIFY']);
}

function anchorScript(): Uint8Array {
  return Script.encode([fundingA.pub, 'CHECKSIG', 'IFDUP', 'NOTIF', 16, 'CHECKSEQUENCEVERIFY', 'ENDIF']);
}

function offeredHtlcScript(anchors: boolean): Uint8Array {
  const ops: ScriptType = [
    'DUP', 'HASH160', ripemd160(sha256(revocation.pub)), 'EQUAL',
    'IF', 'CHECKSIG',
    'ELSE', remote.pub, 'SWAP', 'SIZE', 32, 'EQUAL',
    'NOTIF', 'DROP', 2, 'SWAP', local.pub, 2, 'CHECKMULTISIG',
    'ELSE', 'HASH160', ripemd160(paymentHash), 'EQUALVERIFY', 'CHECKSIG',
    'ENDIF',
  ];
  if (anchors) ops.push(1, 'CHECKSEQUENCEVERIFY', 'DROP');
  ops.push('ENDIF');
  return Script.encode(ops);
}

function receivedHtlcScript(anchors: boolean, cltvExpiry: number): Uint8Array {
  const ops: ScriptType = [
    'DUP', 'HASH160', ripemd160(sha256(revocation.pub)), 'EQUAL',
    'IF', 'CHECKSIG',
    'ELSE', remote.pub, 'SWAP', 'SIZE', 32, 'EQUAL',
    'IF', 'HASH160', ripemd160(paymentHash), 'EQUALVERIFY', 2, 'SWAP', local.pub, 2, 'CHECKMULTISIG',
    'ELSE', 'DROP', cltvExpiry, 'CHECKLOCKTIMEVERIFY', 'DROP', 'CHECKSIG',
    'ENDIF',
  ];
  if (anchors) ops.push(1, 'CHECKSEQUENCEVERIFY', 'DROP');
  ops.push('ENDIF');
  return Script.encode(ops);
}

// ---- spending harness ----

interface Spend {
  readonly script: Uint8Array;
  readonly sequence?: number;
  readonly lockTime?: number;
  readonly version?: number;
  /** Extra outputs/inputs make SIGHASH_SINGLE|ANYONECANPAY meaningful. */
  readonly extraInput?: boolean;
}

/** An unsigned transaction spending a P2WSH output of `spend.script`, with a signer over its digests. */
function spender(spend: Spend) {
  const tx = new Transaction({ version: spend.version ?? 2, lockTime: spend.lockTime ?? 0, allowUnknownOutputs: true });
  tx.addInput({ txid: sha256(Uint8Array.of(1)), index: 0, sequence: spend.sequence ?? 0xffff_fffe });
  if (spend.extraInput === true) tx.addInput({ txid: sha256(Uint8Array.of(2)), index: 3, sequence: 0xffff_fffe });
  tx.addOutput({ script: Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(7)), amount: AMOUNT - 1000n });
  const raw = tx.toBytes(true, false);
  const view = Transaction.fromRaw(raw, { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true });
  const sign = (signer: { priv: Uint8Array }, hashType = SIGHASH_ALL): Uint8Array => {
    const digest = view.preimageWitnessV0(0, spend.script, hashType, AMOUNT);
    return Uint8Array.of(...secp256k1.sign(digest, signer.priv, { prehash: false, format: 'der' }), hashType);
  };
  const verify = (stack: Uint8Array[]): ScriptResult =>
    verifyWitnessV0(p2wshScript(spend.script), [...stack, spend.script], inputChecker(decodeTransaction(raw), 0, AMOUNT));
  return { sign, verify, tx: decodeTransaction(raw) };
}

function expectOk(result: ScriptResult): void {
  expect(result).toEqual({ ok: true });
}

function expectFail(result: ScriptResult, pattern: RegExp): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.error).toMatch(pattern);
}

describe('BOLT 3 funding output: 2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG', () => {
  const script = fundingScript();
  const [first, second] = [fundingA, fundingB].sort((a, b) => Buffer.compare(a.pub, b.pub));

  it('is spent by 0 <sig1> <sig2> in key order, with SIGHASH_ALL', () => {
    const s = spender({ script });
    expectOk(s.verify([EMPTY, s.sign(first!), s.sign(second!)]));
  });

  it('rejects signatures out of key order, a missing signature and a non-empty dummy', () => {
    const s = spender({ script });
    expectFail(s.verify([EMPTY, s.sign(second!), s.sign(first!)]), /multisig signature verification failed/);
    expectFail(s.verify([EMPTY, s.sign(first!), EMPTY]), /multisig signature verification failed/);
    expectFail(s.verify([EMPTY, EMPTY, EMPTY]), /script evaluated to false/);
    expectFail(s.verify([ONE, s.sign(first!), s.sign(second!)]), /NULLDUMMY/);
  });

  it('rejects a signature by a key not in the script', () => {
    const s = spender({ script });
    expectFail(s.verify([EMPTY, s.sign(first!), s.sign(local)]), /verification failed/);
  });
});

describe('BOLT 3 to_local output', () => {
  const script = toLocalScript(144);

  it('pays the local node after to_self_delay: <local_delayedsig> <> with nSequence = to_self_delay', () => {
    const s = spender({ script, sequence: 144 });
    expectOk(s.verify([s.sign(delayed), EMPTY]));
  });

  it('refuses the delayed path with a shorter relative lock (spending early)', () => {
    const s = spender({ script, sequence: 143 });
    expectFail(s.verify([s.sign(delayed), EMPTY]), /relative locktime requirement not satisfied/);
  });

  it('refuses the delayed path from a version 1 transaction or with the disable flag set', () => {
    const v1 = spender({ script, sequence: 144, version: 1 });
    expectFail(v1.verify([v1.sign(delayed), EMPTY]), /relative locktime/);
    const disabled = spender({ script, sequence: (0x8000_0000 | 144) >>> 0 });
    expectFail(disabled.verify([disabled.sign(delayed), EMPTY]), /relative locktime/);
  });

  it('pays the revocation key at once: <revocation_sig> 1', () => {
    const s = spender({ script, sequence: 0 });
    expectOk(s.verify([s.sign(revocation), ONE]));
  });

  it('refuses the wrong key on either branch', () => {
    const s = spender({ script, sequence: 144 });
    expectFail(s.verify([s.sign(remote), ONE]), /verification failed/);
    expectFail(s.verify([s.sign(revocation), EMPTY]), /verification failed/);
  });

  it('enforces MINIMALIF: the branch selector must be empty or exactly 1', () => {
    const s = spender({ script, sequence: 144 });
    expectFail(s.verify([s.sign(revocation), Uint8Array.of(2)]), /MINIMALIF/);
    expectFail(s.verify([s.sign(delayed), Uint8Array.of(0)]), /MINIMALIF/);
  });
});

describe('BOLT 3 to_remote output (option_anchors): <remotepubkey> OP_CHECKSIGVERIFY 1 OP_CHECKSEQUENCEVERIFY', () => {
  const script = toRemoteAnchorsScript();

  it('is spent by <remote_sig> with nSequence 1', () => {
    const s = spender({ script, sequence: 1 });
    expectOk(s.verify([s.sign(remote)]));
  });

  it('is not spendable in the same block (nSequence 0)', () => {
    const s = spender({ script, sequence: 0 });
    expectFail(s.verify([s.sign(remote)]), /relative locktime/);
  });
});

describe('BOLT 3 anchor output', () => {
  const script = anchorScript();

  it('is spent at once by <funding_sig>', () => {
    const s = spender({ script, sequence: 0 });
    expectOk(s.verify([s.sign(fundingA)]));
  });

  it('is spent by anyone with <> after 16 blocks, but not before', () => {
    const late = spender({ script, sequence: 16 });
    expectOk(late.verify([EMPTY]));
    const early = spender({ script, sequence: 15 });
    expectFail(early.verify([EMPTY]), /relative locktime/);
  });
});

for (const anchors of [false, true]) {
  const hashType = anchors ? SIGHASH_SINGLE_ACP : SIGHASH_ALL;
  const sequence = anchors ? 1 : 0;
  const label = anchors ? 'with option_anchors (SIGHASH_SINGLE|ANYONECANPAY)' : 'without option_anchors (SIGHASH_ALL)';

  describe(`BOLT 3 offered HTLC output ${label}`, () => {
    const script = offeredHtlcScript(anchors);

    it('is taken by the remote node with <remotehtlcsig> <payment_preimage>', () => {
      const s = spender({ script, sequence });
      expectOk(s.verify([s.sign(remote), preimage]));
    });

    it('refuses a wrong preimage', () => {
      const s = spender({ script, sequence });
      expectFail(s.verify([s.sign(remote), sha256(Uint8Array.of(9))]), /OP_EQUALVERIFY failed/);
    });

    it('is timed out through 0 <remotehtlcsig> <localhtlcsig> <> (HTLC-timeout)', () => {
      const s = spender({ script, sequence, extraInput: anchors });
      expectOk(s.verify([EMPTY, s.sign(remote, hashType), s.sign(local, hashType), EMPTY]));
    });

    it('is swept by the revocation key with <revocation_sig> <revocationpubkey>', () => {
      const s = spender({ script, sequence });
      expectOk(s.verify([s.sign(revocation), revocation.pub]));
    });

    it('refuses the revocation branch signed by another key', () => {
      const s = spender({ script, sequence });
      expectFail(s.verify([s.sign(local), revocation.pub]), /verification failed/);
    });

    if (anchors) {
      it('requires nSequence >= 1 on the remote preimage path', () => {
        const s = spender({ script, sequence: 0 });
        expectFail(s.verify([s.sign(remote), preimage]), /relative locktime/);
      });
    }
  });

  describe(`BOLT 3 received HTLC output ${label}`, () => {
    const cltvExpiry = 500;
    const script = receivedHtlcScript(anchors, cltvExpiry);

    it('is claimed through 0 <remotehtlcsig> <localhtlcsig> <payment_preimage> (HTLC-success)', () => {
      const s = spender({ script, sequence, extraInput: anchors });
      expectOk(s.verify([EMPTY, s.sign(remote, hashType), s.sign(local, hashType), preimage]));
    });

    it('is timed out by the remote node with <remotehtlcsig> <> once nLockTime reaches cltv_expiry', () => {
      const s = spender({ script, sequence, lockTime: cltvExpiry });
      expectOk(s.verify([s.sign(remote), EMPTY]));
    });

    it('refuses the timeout before cltv_expiry, and with a final nSequence', () => {
      const early = spender({ script, sequence, lockTime: cltvExpiry - 1 });
      expectFail(early.verify([early.sign(remote), EMPTY]), /locktime requirement not satisfied/);
      const final = spender({ script, sequence: 0xffff_ffff, lockTime: cltvExpiry });
      expectFail(final.verify([final.sign(remote), EMPTY]), /locktime/);
    });

    it('refuses a timestamp nLockTime against a block-height cltv_expiry', () => {
      const s = spender({ script, sequence, lockTime: 600_000_000 });
      expectFail(s.verify([s.sign(remote), EMPTY]), /locktime requirement not satisfied/);
    });

    it('is swept by the revocation key with <revocation_sig> <revocationpubkey>', () => {
      const s = spender({ script, sequence });
      expectOk(s.verify([s.sign(revocation), revocation.pub]));
    });
  });
}

describe('BOLT 3 HTLC-timeout/HTLC-success output (the to_local script)', () => {
  it('is spent after to_self_delay by <local_delayedsig> 0 and at once by <revocationsig> 1', () => {
    const script = toLocalScript(6);
    const delayedSpend = spender({ script, sequence: 6 });
    expectOk(delayedSpend.verify([delayedSpend.sign(delayed), EMPTY]));
    const penalty = spender({ script, sequence: 0 });
    expectOk(penalty.verify([penalty.sign(revocation), ONE]));
  });
});

describe('SIGHASH_SINGLE|ANYONECANPAY signatures', () => {
  it('stay valid when other inputs are added, while SIGHASH_ALL signatures do not', () => {
    const script = toLocalScript(10);
    const alone = spender({ script, sequence: 10 });
    const withOther = spender({ script, sequence: 10, extraInput: true });
    const acp = alone.sign(delayed, SIGHASH_SINGLE_ACP);
    expectOk(withOther.verify([acp, EMPTY]));
    const all = alone.sign(delayed, SIGHASH_ALL);
    expectFail(withOther.verify([all, EMPTY]), /verification failed/);
  });
});

describe('signature and key encoding rules', () => {
  const script = toLocalScript(1);

  it('rejects a high-S signature', () => {
    const s = spender({ script, sequence: 0 });
    const sig = s.sign(revocation);
    const parsed = secp256k1.Signature.fromBytes(sig.subarray(0, -1), 'der');
    const high = new secp256k1.Signature(parsed.r, secp256k1.Point.CURVE().n - parsed.s);
    expectFail(s.verify([Uint8Array.of(...high.toBytes('der'), SIGHASH_ALL), ONE]), /high/);
  });

  it('rejects an undefined sighash type and a non-DER signature', () => {
    const s = spender({ script, sequence: 0 });
    const sig = s.sign(revocation);
    expectFail(s.verify([Uint8Array.of(...sig.subarray(0, -1), 0x04), ONE]), /undefined sighash type/);
    expectFail(s.verify([Uint8Array.of(0x30, 0x02, 0x01, 0x01), ONE]), /strict DER/);
  });

  it('rejects an uncompressed public key', () => {
    const uncompressed = secp256k1.getPublicKey(revocation.priv, false);
    const p2pk = Script.encode([uncompressed, 'CHECKSIG']);
    const s = spender({ script: p2pk, sequence: 0 });
    expectFail(s.verify([s.sign(revocation)]), /not compressed/);
  });
});

describe('the input check of every submitted transaction (verifyInputWitness)', () => {
  const script = toLocalScript(144);
  const spent = { script: p2wshScript(script), value: AMOUNT };
  const s = spender({ script, sequence: 144 });
  const signed = withWitness(s.tx, 0, [s.sign(delayed), EMPTY, script]);

  it('accepts a witness that satisfies the spent output', () => {
    expectOk(verifyInputWitness(signed, 0, spent));
  });

  it('refuses a non-empty scriptSig, which BIP143 signatures do not cover', () => {
    const withScriptSig = { ...signed, inputs: [{ ...signed.inputs[0]!, scriptSig: Uint8Array.of(0x51) }] };
    expect(verifyInputWitness(withScriptSig, 0, spent)).toEqual({ ok: false, policy: false, error: expect.stringMatching(/empty scriptSig/) });
  });

  it('refuses the signature when the spent amount differs from the signed one', () => {
    expectFail(verifyInputWitness(signed, 0, { ...spent, value: AMOUNT + 1n }), /verification failed/);
  });
});

describe('witness programs', () => {
  it('rejects a witness script whose hash is not the P2WSH program', () => {
    const s = spender({ script: toLocalScript(5), sequence: 5 });
    const other = toLocalScript(6);
    const result = verifyWitnessV0(p2wshScript(toLocalScript(5)), [s.sign(delayed), EMPTY, other], {
      verifySignature: () => true,
      checkLockTime: () => true,
      checkSequence: () => true,
    });
    expectFail(result, /does not match the P2WSH program/);
  });

  it('rejects spends of non-segwit-v0 outputs with a reason', () => {
    const result = verifyWitnessV0(Uint8Array.of(0x51, 0x20, ...new Uint8Array(32)), [], {
      verifySignature: () => true,
      checkLockTime: () => true,
      checkSequence: () => true,
    });
    expectFail(result, /segwit v0/);
  });
});
