import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32, writeU32 } from '../../src/wal/record_codec.ts';
import {
  SEGMENT_HEADER_BYTES,
  createSegment,
  encodeSegmentHeader,
  listSegments,
  parseSegmentFileName,
  parseSegmentHeader,
  segmentFileName,
} from '../../src/wal/segment_file.ts';
import { TestFileLayer, makeTempDir, removeDir } from './wal_test_helpers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

describe('segment files', () => {
  it('uses the standard CRC-32 (IEEE), seedable to continue a chain', () => {
    const text = new TextEncoder().encode('123456789');
    expect(crc32(text, 0)).toBe(0xcbf43926);
    expect(crc32(text.subarray(4), crc32(text.subarray(0, 4), 0))).toBe(0xcbf43926);
  });

  it('names segments by their first seq, zero-padded to 20 digits so that names sort in seq order', () => {
    expect(segmentFileName(1)).toBe('00000000000000000001.wal');
    expect(segmentFileName(Number.MAX_SAFE_INTEGER)).toBe('00009007199254740991.wal');
    expect(parseSegmentFileName('00000000000000000042.wal')).toBe(42);
    for (const name of ['42.wal', '00000000000000000042.wal.tmp', '00000000000000000042.wal.corrupt', '00000000000000000000.wal']) {
      expect(parseSegmentFileName(name)).toBeNull();
    }
    const seqs = [1, 9, 10, 99, 100, 123_456_789];
    const names = seqs.map(segmentFileName);
    expect([...names].reverse().sort()).toEqual(names);
  });

  it('lists segments in seq order and reports everything else as ignored', () => {
    const dir = makeTempDir();
    dirs.push(dir);
    for (const name of ['00000000000000000100.wal', '00000000000000000002.wal', 'x.wal.tmp', '00000000000000000002.wal.torn-40']) {
      fs.writeFileSync(path.join(dir, name), '');
    }
    const layer = new TestFileLayer().layer;
    const listing = listSegments(layer, dir);
    expect(listing.segments.map((segment) => segment.firstSeq)).toEqual([2, 100]);
    expect(listing.ignored).toEqual(['00000000000000000002.wal.torn-40', 'x.wal.tmp']);
  });

  it('round-trips the file header and rejects bad magic, version, size and checksum', () => {
    const header = new Uint8Array(SEGMENT_HEADER_BYTES);
    encodeSegmentHeader(77, 0xdeadbeef, header);
    expect(parseSegmentHeader(header)).toEqual({ ok: true, firstSeq: 77, prevCrc: 0xdeadbeef });
    const badMagic = header.slice();
    badMagic[0] = 0x41;
    expect(parseSegmentHeader(badMagic)).toMatchObject({ ok: false, reason: 'bad segment magic' });
    const flipped = header.slice();
    flipped[17]! ^= 4;
    expect(parseSegmentHeader(flipped)).toMatchObject({ ok: false, reason: 'segment header checksum mismatch' });
    expect(parseSegmentHeader(header.subarray(0, 20))).toMatchObject({ ok: false });
    // A newer version with a valid checksum is refused by name.
    const newer = header.slice();
    writeU32(newer, 8, 2);
    encodeWithChecksum(newer);
    expect(parseSegmentHeader(newer)).toMatchObject({ ok: false, reason: expect.stringMatching(/version 2/) });
  });

  it('creates a segment atomically: tmp file, fdatasync, rename, directory fsync; never replaces one', () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const files = new TestFileLayer();
    const created = createSegment(files.layer, dir, 5, 99);
    files.layer.close(created.fd);
    expect(created).toMatchObject({ name: '00000000000000000005.wal', bytes: SEGMENT_HEADER_BYTES });
    expect(files.counts).toMatchObject({ write: 1, fdatasync: 1, rename: 1, fsyncDirectory: 1 });
    expect(fs.readdirSync(dir)).toEqual(['00000000000000000005.wal']);
    const header = parseSegmentHeader(fs.readFileSync(path.join(dir, created.name)));
    expect(header).toEqual({ ok: true, firstSeq: 5, prevCrc: 99 });
    expect(() => createSegment(files.layer, dir, 5, 99)).toThrow(/already exists/);
  });
});

function encodeWithChecksum(header: Uint8Array): void {
  writeU32(header, 28, crc32(header.subarray(0, 28), 0));
}
