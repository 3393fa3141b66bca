/**
 * Short channel ids (BOLT 7: block height << 40 | tx index << 16 | output index) and the
 * channel_ready alias chand derives from a channel id: deterministic, in the block range
 * 16,000,000+ that no real block reaches for centuries, and different for different channels.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aliasScid, formatScid, makeScid } from '../../src/channel/channel-actor.js';
import { bytesToHex } from '../../src/codec/bytes.js';

const channelId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
const parts = (scid: bigint) => ({ block: Number(scid >> 40n), tx: Number((scid >> 16n) & 0xffffffn), out: Number(scid & 0xffffn) });

describe('makeScid and formatScid', () => {
  it('match the BOLT 7 layout on a known value', () => {
    expect(makeScid(539268, 845, 1)).toBe(592_931_436_542_885_889n);
    expect(formatScid(592_931_436_542_885_889n)).toBe('539268x845x1');
    expect(formatScid(makeScid(0, 0, 0))).toBe('0x0x0');
    expect(formatScid(makeScid(0xffffff, 0xffffff, 0xffff))).toBe('16777215x16777215x65535');
    expect(makeScid(0xffffff, 0xffffff, 0xffff)).toBe(2n ** 64n - 1n);
  });

  it('round-trip every block, transaction and output index (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffff }), (block, tx, out) => {
        const scid = makeScid(block, tx, out);
        expect(formatScid(scid)).toBe(`${block}x${tx}x${out}`);
        expect(parts(scid)).toEqual({ block, tx, out });
        const [b, t, o] = formatScid(scid).split('x').map(Number);
        expect(makeScid(b!, t!, o!)).toBe(scid);
      }),
      { numRuns: 500 },
    );
  });
});

describe('aliasScid', () => {
  it('is deterministic', () => {
    const id = 'ab'.repeat(32);
    expect(aliasScid(id)).toBe(aliasScid(id));
    expect(aliasScid(id)).toBe(aliasScid('AB'.repeat(32)));
  });

  it('is in block range 16,000,000 and above, below 2^24 blocks, for any channel id (property)', () => {
    fc.assert(
      fc.property(channelId, (id) => {
        const scid = aliasScid(id);
        const { block } = parts(scid);
        expect(block).toBeGreaterThanOrEqual(16_000_000);
        expect(block).toBeLessThan(2 ** 24);
        expect(scid).toBeLessThan(2n ** 64n);
        expect(formatScid(scid)).toMatch(/^16\d{6}x\d+x\d+$/);
      }),
      { numRuns: 500 },
    );
  });

  it('differs for different channel ids (property, and over 2,000 ids at once)', () => {
    fc.assert(
      fc.property(channelId, channelId, (a, b) => {
        fc.pre(a !== b);
        expect(aliasScid(a)).not.toBe(aliasScid(b));
      }),
      { numRuns: 300 },
    );
    // Consecutive ids (0, 1, 2, ... as 32-byte big-endian numbers): neighbours differ in a few low bits.
    const ids = Array.from({ length: 2048 }, (_, i) => {
      const bytes = new Uint8Array(32);
      bytes[30] = i >> 8;
      bytes[31] = i & 0xff;
      return bytesToHex(bytes);
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map(aliasScid)).size).toBe(ids.length);
  });
});
