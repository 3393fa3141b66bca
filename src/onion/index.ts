/**
 * BOLT 4 onion routing, pure and Node-free: Sphinx packet construction and peeling, typed hop
 * payloads, failure messages, and failure onions (built by the erring node, wrapped by each hop,
 * attributed by the origin). ChaCha20 is implemented here (RFC 8439); hashing and curve
 * arithmetic come from noble.
 */
export * from './chacha20.js';
export * from './errors.js';
export * from './failure-messages.js';
export * from './failure-onion.js';
export * from './hop-payload.js';
export * from './keys.js';
export * from './packet.js';
