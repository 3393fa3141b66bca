/**
 * chand's peer layer: the BOLT 8 Noise transport (pure handshake and framing state), a
 * backpressured Connection over node:net, and the PeerManager (BOLT 1 init, ping/pong,
 * one connection per peer, reconnection, channel-message routing). `peer-cli.ts` is a script,
 * not part of this API.
 */
export * from './errors.js';
export * from './types.js';
export * from './noise-cipher.js';
export * from './noise-handshake.js';
export * from './connection.js';
export * from './init-policy.js';
export * from './peer-address.js';
export * from './peer-manager.js';
