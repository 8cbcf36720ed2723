/**
 * Raw access to the WAL files for the torn-write tests: where the records of the last segment
 * start and end (from the documented layout: a 32-byte segment header, then records of a 32-byte
 * header whose first u32 is the body length and whose u64 at offset 8 is the seq), and the damage a
 * crash in the middle of a write can leave: a cut inside the unacknowledged records, zeros or
 * garbage after them, a partial copy of a record header.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Prng } from '../../matching/support/prng.ts';

export const SEGMENT_HEADER_BYTES = 32;
export const RECORD_HEADER_BYTES = 32;
const RECORD_BODY_BYTES_MAX = 128;

export interface RecordSpan {
  seq: number;
  offset: number;
  end: number;
}

export interface SegmentLayout {
  file: string;
  size: number;
  records: RecordSpan[];
}

/** The last segment (by name: names sort in seq order) and the spans of its whole records. */
export function lastSegmentLayout(walDir: string): SegmentLayout | null {
  const names = fs.readdirSync(walDir).filter((name) => /^\d{20}\.wal$/.test(name)).sort();
  const name = names[names.length - 1];
  if (name === undefined) return null;
  const file = path.join(walDir, name);
  const bytes = fs.readFileSync(file);
  const records: RecordSpan[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  while (offset + RECORD_HEADER_BYTES <= bytes.length) {
    const bodyBytes = bytes.readUInt32LE(offset);
    if (bodyBytes < 1 || bodyBytes > RECORD_BODY_BYTES_MAX) break;
    const end = offset + RECORD_HEADER_BYTES + bodyBytes;
    if (end > bytes.length) break;
    const seq = bytes.readUInt32LE(offset + 8) + bytes.readUInt32LE(offset + 12) * 2 ** 32;
    records.push({ seq, offset, end });
    offset = end;
  }
  return { file, size: bytes.length, records };
}

/** What is left after the cut: nothing, zeros, garbage, or the start of a record. */
export type TailKind = 'none' | 'garbage' | 'partial-record' | 'zeros' | 'partial-header';
export const TAIL_KINDS: readonly TailKind[] = ['none', 'garbage', 'partial-record', 'zeros', 'partial-header'];

export interface Tear {
  tail: TailKind;
  file: string;
  /** Bytes of the segment kept (the cut point), and the bytes appended after it. */
  keptBytes: number;
  appendedBytes: number;
  /** Records cut off, whole or in part (all of them unacknowledged). */
  recordsCut: number;
  /** The file now ends inside a record (a cut off the record boundaries, or bytes appended). */
  endsInsideRecord: boolean;
  /** Size before and after. */
  sizeBefore: number;
  sizeAfter: number;
}

/**
 * Damages the end of the last segment as a crash during a write could, never touching a record at
 * or below `keepSeq` (acknowledged, or already seen by clients after an earlier restart): first a
 * cut at a seeded offset inside the records after it, when there are any (a write that reached the
 * disk only in part), then `tail` after the cut. With nothing to cut, 'none' becomes 'zeros'.
 */
export function tearTail(walDir: string, keepSeq: number, tail: TailKind, prng: Prng): Tear | null {
  const layout = lastSegmentLayout(walDir);
  if (layout === null) return null;
  const kept = layout.records.filter((record) => record.seq <= keepSeq);
  const floor = kept.length === 0 ? SEGMENT_HEADER_BYTES : kept[kept.length - 1]!.end;
  const cuttable = layout.size - floor;
  const keptBytes = cuttable > 0 ? floor + prng.int(0, cuttable - 1) : layout.size;
  const effective: TailKind = tail === 'none' && cuttable === 0 ? 'zeros' : tail;
  let bytes = Buffer.alloc(0);
  const sample = layout.records[layout.records.length - 1];
  switch (effective) {
    case 'none':
      break;
    case 'zeros':
      bytes = Buffer.alloc(prng.int(1, 400));
      break;
    case 'garbage':
      bytes = Buffer.from(Array.from({ length: prng.int(1, 400) }, () => prng.int(0, 255)));
      break;
    case 'partial-header':
    case 'partial-record': {
      // The start of a record as a crash mid-write leaves it: copied from the last whole record
      // (its length field and seq look plausible), cut before its end.
      if (sample === undefined) {
        bytes = Buffer.alloc(prng.int(1, RECORD_HEADER_BYTES - 1));
        break;
      }
      const record = fs.readFileSync(layout.file).subarray(sample.offset, sample.end);
      const length = effective === 'partial-header' ? prng.int(1, RECORD_HEADER_BYTES - 1) : prng.int(RECORD_HEADER_BYTES, record.length - 1);
      bytes = Buffer.from(record.subarray(0, length));
      break;
    }
  }
  const fd = fs.openSync(layout.file, 'r+');
  try {
    fs.ftruncateSync(fd, keptBytes);
    if (bytes.length > 0) fs.writeSync(fd, bytes, 0, bytes.length, keptBytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return {
    tail: effective,
    file: layout.file,
    keptBytes,
    appendedBytes: bytes.length,
    recordsCut: layout.records.filter((record) => record.end > keptBytes).length,
    endsInsideRecord: bytes.length > 0 || (keptBytes !== floor && !layout.records.some((record) => record.end === keptBytes)) || keptBytes > (layout.records.at(-1)?.end ?? SEGMENT_HEADER_BYTES),
    sizeBefore: layout.size,
    sizeAfter: keptBytes + bytes.length,
  };
}
