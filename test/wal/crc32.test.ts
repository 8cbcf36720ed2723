import CRC32 from 'crc-32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Range } from '../../src/wal/crc32.ts';

describe('crc32Range', () => {
  it('gives the standard CRC-32 check value', () => {
    const bytes = new TextEncoder().encode('xx123456789yy');
    expect(crc32Range(bytes, 2, 11, 0)).toBe(0xcbf43926);
    expect(crc32(bytes.subarray(2, 11), 0)).toBe(0xcbf43926);
  });

  it('returns the seed for an empty range', () => {
    expect(crc32Range(new Uint8Array(8), 3, 3, 0x1234_5678)).toBe(0x1234_5678);
    expect(crc32Range(new Uint8Array(0), 0, 0, 0)).toBe(0);
  });

  it('equals the crc-32 package over any range, with any seed, as an unsigned number', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffffffff }),
        (bytes, a, b, seed) => {
          const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
          const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
          const expected = CRC32.buf(bytes.subarray(start, end), seed) >>> 0;
          expect(crc32Range(bytes, start, end, seed)).toBe(expected);
          // Seeds given as the signed numbers CRC32.buf returns chain the same way.
          expect(crc32Range(bytes, start, end, seed | 0)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('chains: the crc of a range seeded with the crc of the range before equals one crc over both', () => {
    const bytes = new Uint8Array(200).map((_, index) => (index * 37 + 11) & 0xff);
    for (const cut of [0, 1, 7, 8, 9, 63, 64, 65, 199, 200]) {
      expect(crc32Range(bytes, cut, 200, crc32Range(bytes, 0, cut, 0))).toBe(crc32Range(bytes, 0, 200, 0));
    }
  });

  it('reads a view at its own offsets, not its buffer', () => {
    const buffer = new Uint8Array(64).map((_, index) => index);
    const view = buffer.subarray(10, 50);
    expect(crc32Range(view, 5, 30, 7)).toBe(crc32(buffer.subarray(15, 40), 7));
  });
});
