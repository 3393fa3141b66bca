/**
 * Which `scriptpubkey` a `shutdown` may carry (BOLT 2 "Closing Initiation: shutdown").
 *
 * The sender "MUST set `scriptpubkey` in one of the following forms": P2WPKH, P2WSH, a
 * witness v1–v16 program of 2 to 40 bytes "if (and only if) `option_shutdown_anysegwit` is
 * negotiated", and a single-push `OP_RETURN` "if (and only if) `option_simple_close` is
 * negotiated". P2PKH and P2SH are accepted too: the spec's rationale lets a receiver take the
 * non-segwit scripts old nodes send "for backwards-compatibility" (their higher dust
 * thresholds are enforced when the closing transaction is checked). Nothing else is.
 */
import { OP, classifyOutputScript } from '../../bitcoin/script.js';

/** Which negotiated features widen the accepted forms. */
export interface ShutdownScriptFeatures {
  /** `option_shutdown_anysegwit` (bits 26/27) negotiated. */
  readonly anySegwit: boolean;
  /** `option_simple_close` (bits 60/61) negotiated. */
  readonly simpleClose: boolean;
}

/**
 * Why a shutdown scriptpubkey is refused, or undefined if it is acceptable: P2PKH, P2SH,
 * P2WPKH, P2WSH; witness v1–v16 with a 2–40 byte program only with `anySegwit`; `OP_RETURN`
 * followed by one push of 6–80 bytes only with `simpleClose`. Pure; throws TypeError only if
 * `script` is not a Uint8Array.
 */
export function shutdownScriptProblem(script: Uint8Array, opts: ShutdownScriptFeatures): string | undefined {
  if (!(script instanceof Uint8Array)) throw new TypeError(`expected the shutdown scriptpubkey as a Uint8Array, got ${typeof script}`);
  switch (classifyOutputScript(script)) {
    case 'p2wpkh':
    case 'p2wsh':
    case 'p2pkh':
    case 'p2sh':
      return undefined;
    case 'op_return':
      if (!opts.simpleClose) return 'an OP_RETURN scriptpubkey needs option_simple_close';
      return isSinglePushOpReturn(script) ? undefined : 'an OP_RETURN scriptpubkey must be OP_RETURN then one push of 6 to 80 bytes';
    case 'p2tr':
    case 'unknown':
      break;
  }
  if (isFutureWitnessProgram(script)) {
    return opts.anySegwit ? undefined : 'a witness v1-v16 scriptpubkey needs option_shutdown_anysegwit';
  }
  return `scriptpubkey of ${script.length} bytes is not P2PKH, P2SH, P2WPKH, P2WSH or an allowed witness program`;
}

/** `OP_1`..`OP_16` then a single push of 2 to 40 bytes, nothing after (P2TR is v1 with 32 bytes). */
function isFutureWitnessProgram(script: Uint8Array): boolean {
  const version = script[0];
  const pushLength = script[1];
  if (version === undefined || pushLength === undefined) return false;
  return version >= OP.OP_1 && version <= OP.OP_16 && pushLength >= 2 && pushLength <= 40 && script.length === 2 + pushLength;
}

/**
 * BOLT 2: "`OP_RETURN` followed by one of: `6` to `75` inclusive followed by exactly that many
 * bytes; `76` followed by `76` to `80` followed by exactly that many bytes".
 */
function isSinglePushOpReturn(script: Uint8Array): boolean {
  const first = script[1];
  if (first === undefined) return false;
  if (first >= 6 && first <= 75) return script.length === 2 + first;
  const length = script[2];
  if (first !== OP.OP_PUSHDATA1 || length === undefined) return false;
  return length >= 76 && length <= 80 && script.length === 3 + length;
}
