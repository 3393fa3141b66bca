/**
 * The Node SecretToPoint: libsecp256k1 compiled to WebAssembly (tiny-secp256k1), about 3x
 * faster than noble's. Node only: tiny-secp256k1's Node build reads its .wasm file with fs
 * when this module is loaded, so only Node composition roots (channeldb/open.ts, the node)
 * import it, and the browser root keeps noble's default (secret-point.ts).
 */
import { pointFromScalar } from 'tiny-secp256k1';
import { assertRevealedSecret, type SecretToPoint } from './secret-point.js';

/**
 * secret·G by libsecp256k1, compressed: the same bytes as `revealedPoint`, and the same
 * refusals (checked before libsecp256k1 sees the secret, so its errors never surface).
 */
export const wasmRevealedPoint: SecretToPoint = (secret) => {
  assertRevealedSecret(secret);
  const point = pointFromScalar(secret, true);
  // Only the point at infinity gives null, and k·G is never that for 0 < k < n.
  if (point === null) throw new Error('libsecp256k1 gave no point for a valid scalar');
  return point;
};
