/** `pubkey@host:port` and `host:port` parsing: what users, RPC and the link-node store give. */
import { describe, expect, it } from 'vitest';
import { formatAddress, parseHostPort, parsePeerAddress } from '../../src/peer/peer-address.js';

const PUB = '028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7';

describe('parsePeerAddress', () => {
  it('parses IPv4, DNS and bracketed IPv6 hosts; the port defaults to 9735; the key is lowercased', () => {
    expect(parsePeerAddress(`${PUB}@127.0.0.1:9736`)).toEqual({ nodeId: PUB, host: '127.0.0.1', port: 9736 });
    expect(parsePeerAddress(`${PUB.toUpperCase()}@node.example`)).toEqual({ nodeId: PUB, host: 'node.example', port: 9735 });
    expect(parsePeerAddress(`${PUB}@[::1]:10000`)).toEqual({ nodeId: PUB, host: '::1', port: 10000 });
  });
  it('refuses malformed input with PEER_ADDRESS_INVALID', () => {
    for (const bad of ['', PUB, `${PUB}@`, `${PUB}@host:0`, `${PUB}@host:70000`, `${PUB.slice(2)}@host:1`, `04${PUB.slice(2)}@host:1`, `${PUB}@::1:9735`]) {
      expect(() => parsePeerAddress(bad), bad).toThrow(expect.objectContaining({ code: 'PEER_ADDRESS_INVALID' }));
    }
  });
});

describe('parseHostPort', () => {
  it('round-trips with formatAddress and refuses what is not host:port', () => {
    for (const a of [{ host: '10.0.0.1', port: 1 }, { host: 'fe80::1', port: 9735 }, { host: 'x.onion', port: 65535 }]) {
      expect(parseHostPort(formatAddress(a))).toEqual(a);
    }
    expect(parseHostPort('host')).toBeUndefined();
    expect(parseHostPort('host:0')).toBeUndefined();
    expect(parseHostPort('::1:9735')).toBeUndefined();
  });
});
