/**
 * CRC-32 (IEEE 802.3, the zlib / PNG / `crc-32` polynomial) for the WAL's checksum chain.
 *
 * `crc32` is the `crc-32` package itself. `crc32Range` computes the same function over a range of a
 * byte array instead of a whole view: the record codec checksums each record where it lies in the
 * batch or read buffer, and a fresh Uint8Array view per record (which `CRC32.buf` needs) was a
 * measurable share of the hot path's time and garbage. It is the textbook slicing-by-8 algorithm
 * over the reflected polynomial 0xedb88320, checked against the package at module load and in the
 * tests.
 */
import CRC32 from 'crc-32';
import { assert } from '../domain/assert.ts';

/** CRC-32 of `bytes` continuing from `seed`, as an unsigned 32-bit number (the `crc-32` package). */
export function crc32(bytes: Uint8Array, seed: number): number {
  return CRC32.buf(bytes, seed) >>> 0;
}

const POLYNOMIAL_REFLECTED = 0xedb88320;
const SLICES = 8;
const TABLE_SIZE = 256;

/** SLICES tables of 256 entries, one after the other: table k maps a byte k positions further on. */
const TABLES = buildTables();
const T0 = TABLES.subarray(0 * TABLE_SIZE, 1 * TABLE_SIZE);
const T1 = TABLES.subarray(1 * TABLE_SIZE, 2 * TABLE_SIZE);
const T2 = TABLES.subarray(2 * TABLE_SIZE, 3 * TABLE_SIZE);
const T3 = TABLES.subarray(3 * TABLE_SIZE, 4 * TABLE_SIZE);
const T4 = TABLES.subarray(4 * TABLE_SIZE, 5 * TABLE_SIZE);
const T5 = TABLES.subarray(5 * TABLE_SIZE, 6 * TABLE_SIZE);
const T6 = TABLES.subarray(6 * TABLE_SIZE, 7 * TABLE_SIZE);
const T7 = TABLES.subarray(7 * TABLE_SIZE, 8 * TABLE_SIZE);

function buildTables(): Int32Array {
  const tables = new Int32Array(SLICES * TABLE_SIZE);
  for (let n = 0; n < TABLE_SIZE; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? POLYNOMIAL_REFLECTED ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let n = 0; n < TABLE_SIZE; n++) {
      const previous = tables[(k - 1) * TABLE_SIZE + n]!;
      tables[k * TABLE_SIZE + n] = (previous >>> 8) ^ tables[previous & 0xff]!;
    }
  }
  return tables;
}

/**
 * CRC-32 of `bytes[start, end)` continuing from `seed`, as an unsigned 32-bit number: equal to
 * `crc32(bytes.subarray(start, end), seed)` without creating the view.
 */
export function crc32Range(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let c = ~seed;
  let i = start;
  for (const last = end - SLICES; i <= last; i += SLICES) {
    const low = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      T7[low & 0xff]! ^
      T6[(low >>> 8) & 0xff]! ^
      T5[(low >>> 16) & 0xff]! ^
      T4[low >>> 24]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ T0[(c ^ bytes[i]!) & 0xff]!;
  return ~c >>> 0;
}

/** The standard check value of CRC-32 ("123456789" → 0xcbf43926), and agreement with the package. */
function selfCheck(): boolean {
  const check = new TextEncoder().encode('0123456789123456789');
  const sample = new Uint8Array(TABLE_SIZE + 61).map((_, index) => (index * 151 + 7) & 0xff);
  for (let n = 0; n < TABLE_SIZE; n++) sample[n] = n;
  return (
    crc32Range(sample, 0, TABLE_SIZE, 0) === crc32(sample.subarray(0, TABLE_SIZE), 0) &&
    crc32Range(check, 10, 19, 0) === 0xcbf43926 &&
    crc32Range(sample, 3, sample.length, 0x1234_5678) === crc32(sample.subarray(3), 0x1234_5678) &&
    crc32Range(sample, 5, 5, 0xdead_beef) === 0xdead_beef
  );
}
assert(selfCheck(), 'crc32Range agrees with the crc-32 package');
