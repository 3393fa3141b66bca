/**
 * Bitcoin and Lightning primitives: node seed and BIP 32 keys, BOLT 3 key derivation,
 * per-commitment secrets (shachain), BOLT 3 scripts and transactions (funding, commitment,
 * HTLC, closing, delayed sweep, justice), signatures and sighashes, and PSBT funding.
 * Internal helpers (bytes.ts) are not re-exported.
 */
export * from './bolt3-fees.js';
export * from './bolt3-scripts.js';
export * from './closing.js';
export * from './commitment.js';
export * from './ecdsa.js';
export * from './errors.js';
export * from './funding.js';
export * from './funding-input.js';
export * from './htlc-tx.js';
export * from './justice.js';
export * from './key-chain.js';
export * from './key-derivation.js';
export * from './network.js';
export * from './node-seed.js';
export * from './psbt-funding.js';
export * from './script.js';
export * from './shachain.js';
export * from './sighash.js';
export * from './sweep.js';
export * from './transaction.js';
export * from './txid.js';
export * from './weight.js';
