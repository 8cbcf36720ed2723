/**
 * Segment files: the WAL is a directory `<dataDir>/wal/` of segments named by the seq of their
 * first record, zero-padded to 20 digits so that names sort in seq order
 * (`00000000000000000001.wal`). Each segment starts with a file header:
 *
 *   offset  size  field
 *        0     8  magic        "EXWALSEG"
 *        8     4  version      u32, SEGMENT_FORMAT_VERSION
 *       12     4  headerBytes  u32, SEGMENT_HEADER_BYTES
 *       16     8  firstSeq     u64, equal to the seq in the file name
 *       24     4  prevCrc      u32, the chain seed of the first record: the crc of the last record
 *                              of the previous segment (0 for the log's first segment)
 *       28     4  headerCrc    u32, CRC-32 of bytes [0, 28)
 *
 * A segment is created atomically: header written to `<name>.tmp`, fdatasync, rename, fsync of the
 * directory. A segment file therefore always has a complete, durable header, and a crash during
 * creation leaves at most a `.tmp` file, which holds no records and is overwritten next time.
 */
import * as path from 'node:path';
import { assert } from '../domain/assert.ts';
import type { FileLayer } from './file_layer.ts';
import { closeAfterError, writeFully } from './file_layer.ts';
import { crc32, readSafeU64, readU32, writeSafeU64, writeU32 } from './record_codec.ts';

export const SEGMENT_MAGIC = 'EXWALSEG';
export const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_MAGIC_OFFSET = 0;
export const SEGMENT_VERSION_OFFSET = 8;
export const SEGMENT_HEADER_BYTES_OFFSET = 12;
export const SEGMENT_FIRST_SEQ_OFFSET = 16;
export const SEGMENT_PREV_CRC_OFFSET = 24;
export const SEGMENT_HEADER_CRC_OFFSET = 28;
export const SEGMENT_HEADER_BYTES = 32;

assert(SEGMENT_MAGIC.length === SEGMENT_VERSION_OFFSET - SEGMENT_MAGIC_OFFSET, 'segment header: magic is 8 bytes');
assert(SEGMENT_HEADER_BYTES_OFFSET === SEGMENT_VERSION_OFFSET + 4, 'segment header: header size follows the version');
assert(SEGMENT_FIRST_SEQ_OFFSET === SEGMENT_HEADER_BYTES_OFFSET + 4, 'segment header: firstSeq follows the header size');
assert(SEGMENT_PREV_CRC_OFFSET === SEGMENT_FIRST_SEQ_OFFSET + 8, 'segment header: prevCrc follows firstSeq');
assert(SEGMENT_HEADER_CRC_OFFSET === SEGMENT_PREV_CRC_OFFSET + 4, 'segment header: headerCrc follows prevCrc');
assert(SEGMENT_HEADER_BYTES === SEGMENT_HEADER_CRC_OFFSET + 4, 'segment header size matches its layout');

const MAGIC_BYTES = new TextEncoder().encode(SEGMENT_MAGIC);
const SEQ_DIGITS = 20;
const SEGMENT_NAME_PATTERN = /^(\d{20})\.wal$/;
export const SEGMENT_TEMP_SUFFIX = '.tmp';

export function walDirectory(dataDir: string): string {
  return path.join(dataDir, 'wal');
}

export function segmentFileName(firstSeq: number): string {
  assert(Number.isSafeInteger(firstSeq) && firstSeq >= 1, `segmentFileName: bad firstSeq ${firstSeq}`);
  return `${String(firstSeq).padStart(SEQ_DIGITS, '0')}.wal`;
}

/** The first seq a segment file name stands for, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME_PATTERN.exec(name);
  if (match === null) return null;
  const firstSeq = Number(match[1]);
  return Number.isSafeInteger(firstSeq) && firstSeq >= 1 ? firstSeq : null;
}

export interface SegmentName {
  /** File name inside the WAL directory. */
  name: string;
  firstSeq: number;
}

export interface SegmentListing {
  /** Segments in seq order. */
  segments: SegmentName[];
  /** Other entries of the WAL directory (side files of repairs, leftover .tmp files), sorted. */
  ignored: string[];
}

export function listSegments(layer: FileLayer, walDir: string): SegmentListing {
  const segments: SegmentName[] = [];
  const ignored: string[] = [];
  for (const name of layer.readdir(walDir)) {
    const firstSeq = parseSegmentFileName(name);
    if (firstSeq === null) ignored.push(name);
    else segments.push({ name, firstSeq });
  }
  // Fixed-width names sort in seq order.
  segments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  ignored.sort();
  return { segments, ignored };
}

export function encodeSegmentHeader(firstSeq: number, prevCrc: number, target: Uint8Array): void {
  assert(target.length >= SEGMENT_HEADER_BYTES, 'encodeSegmentHeader: target too small');
  assert(Number.isSafeInteger(firstSeq) && firstSeq >= 1, 'encodeSegmentHeader: bad firstSeq');
  assert(Number.isInteger(prevCrc) && prevCrc >= 0 && prevCrc <= 0xffffffff, 'encodeSegmentHeader: bad prevCrc');
  target.set(MAGIC_BYTES, SEGMENT_MAGIC_OFFSET);
  writeU32(target, SEGMENT_VERSION_OFFSET, SEGMENT_FORMAT_VERSION);
  writeU32(target, SEGMENT_HEADER_BYTES_OFFSET, SEGMENT_HEADER_BYTES);
  writeSafeU64(target, SEGMENT_FIRST_SEQ_OFFSET, firstSeq);
  writeU32(target, SEGMENT_PREV_CRC_OFFSET, prevCrc);
  writeU32(target, SEGMENT_HEADER_CRC_OFFSET, crc32(target.subarray(0, SEGMENT_HEADER_CRC_OFFSET), 0));
}

export type SegmentHeader = { ok: true; firstSeq: number; prevCrc: number } | { ok: false; reason: string };

export function parseSegmentHeader(bytes: Uint8Array): SegmentHeader {
  if (bytes.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'segment shorter than its header' };
  for (let i = 0; i < MAGIC_BYTES.length; i++) {
    if (bytes[SEGMENT_MAGIC_OFFSET + i] !== MAGIC_BYTES[i]) return { ok: false, reason: 'bad segment magic' };
  }
  const headerCrc = crc32(bytes.subarray(0, SEGMENT_HEADER_CRC_OFFSET), 0);
  if (headerCrc !== readU32(bytes, SEGMENT_HEADER_CRC_OFFSET)) return { ok: false, reason: 'segment header checksum mismatch' };
  const version = readU32(bytes, SEGMENT_VERSION_OFFSET);
  if (version !== SEGMENT_FORMAT_VERSION) {
    return { ok: false, reason: `unsupported segment format version ${version} (this build reads ${SEGMENT_FORMAT_VERSION})` };
  }
  if (readU32(bytes, SEGMENT_HEADER_BYTES_OFFSET) !== SEGMENT_HEADER_BYTES) return { ok: false, reason: 'bad segment header size' };
  const firstSeq = readSafeU64(bytes, SEGMENT_FIRST_SEQ_OFFSET);
  if (firstSeq < 1) return { ok: false, reason: 'bad segment firstSeq' };
  return { ok: true, firstSeq, prevCrc: readU32(bytes, SEGMENT_PREV_CRC_OFFSET) };
}

export interface CreatedSegment {
  fd: number;
  name: string;
  /** Bytes in the file: the header. */
  bytes: number;
}

/**
 * Creates the segment for `firstSeq` atomically (see the module comment) and returns it open for
 * writing after its header. Throws when the segment already exists: segments are never replaced.
 */
export function createSegment(layer: FileLayer, walDir: string, firstSeq: number, prevCrc: number): CreatedSegment {
  const name = segmentFileName(firstSeq);
  const finalPath = path.join(walDir, name);
  const tempPath = finalPath + SEGMENT_TEMP_SUFFIX;
  if (layer.stat(finalPath) !== null) throw new Error(`WAL segment ${finalPath} already exists`);
  const header = new Uint8Array(SEGMENT_HEADER_BYTES);
  encodeSegmentHeader(firstSeq, prevCrc, header);
  // 'w': a leftover .tmp from a crash during creation holds no records and may be replaced.
  const fd = layer.open(tempPath, 'w');
  try {
    writeFully(layer, fd, header, 0, SEGMENT_HEADER_BYTES, 0);
    layer.fdatasync(fd);
    layer.rename(tempPath, finalPath);
    layer.fsyncDirectory(walDir);
  } catch (error) {
    closeAfterError(layer, fd);
    throw error;
  }
  return { fd, name, bytes: SEGMENT_HEADER_BYTES };
}
