/**
 * WAL reader: scans every segment in seq order, verifies it and hands each record to a callback
 * as one reused Command. Recovery (recovery.ts) and replay (`readRecords`) share this scan.
 *
 * What is verified: each segment's header (magic, version, header checksum, firstSeq equal to the
 * file name), the record lengths, the CRC chain (across segments too: a segment's prevCrc is the
 * last crc of the one before), gap-free seqs (+1 each, across segments too), non-decreasing
 * timestamps, and every body (valid msgpack of the right shape, fields in range). The log's first
 * record may have any seq >= 1 (a log can start after a snapshot); `firstSeq` says which.
 *
 * A fault is *torn* when it is at the end of the last segment with nothing valid after it: a
 * partial header, a length past the end of the file, a bad length or checksum (zero fill is a bad
 * length) where no later record verifies. That is a write that was never acknowledged. Every other
 * fault is corruption: readRecords throws a WalCorruptionError naming file, offset and seq.
 *
 * Segments are read in large chunks into one preallocated buffer; records are verified and decoded
 * where they lie in it, and decoding allocates nothing but a clientOrderId's string.
 *
 * After a snapshot (`afterSnapshot`): the scan starts at the segment that holds the snapshot's
 * seq + 1 (the last one whose firstSeq <= seq + 1; earlier ones are `skippedSegments`, neither read
 * nor verified). Records of that segment up to the snapshot's seq are verified as usual but not
 * delivered, and the chain must meet the snapshot there: the crc of record `seq` (or the prevCrc of
 * a segment that starts at seq + 1) must be the snapshot's chain crc. When it does not, or when the
 * log cannot be read up to that seq, the scan stops with `snapshotMismatch` set and no fault: the
 * snapshot does not belong to this log, and recovery falls back to an older one without changing
 * anything.
 */
import * as path from 'node:path';
import { InvariantError, assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import { CommandType, createCommand } from '../domain/commands.ts';
import type { FileLayer } from './file_layer.ts';
import { nodeFileLayer, readFully } from './file_layer.ts';
import {
  RECORD_BODY_BYTES_MAX,
  RECORD_BYTES_MAX,
  RECORD_CRC_COVERED_FROM,
  RECORD_CRC_OFFSET,
  RECORD_HEADER_BYTES,
  RECORD_PADDING_BYTES,
  RECORD_PADDING_OFFSET,
  RECORD_SEQ_OFFSET,
  RECORD_TIMESTAMP_OFFSET,
  RECORD_TYPE_OFFSET,
  RecordDecoder,
  RecordFault,
  crc32,
  readSafeU64,
  readU32,
  recordFaultName,
} from './record_codec.ts';
import type { SegmentName } from './segment_file.ts';
import { SEGMENT_HEADER_BYTES, listSegments, parseSegmentHeader, segmentFileName, walDirectory } from './segment_file.ts';

export const READ_CHUNK_BYTES_DEFAULT = 4 * 1024 * 1024;
const READ_CHUNK_BYTES_MIN = 64 * 1024;
assert(READ_CHUNK_BYTES_MIN >= 2 * RECORD_BYTES_MAX, 'a read chunk holds a partial record plus a whole one');

/** Damage that is not a torn tail: the server refuses to start (or `--repair`s). */
export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly seq: number,
    readonly reason: string,
  ) {
    super(`WAL corruption in ${file} at offset ${offset} (record seq ${seq}): ${reason}`);
  }
}

export interface ScannedSegment {
  name: string;
  firstSeq: number;
  /** Size of the file. */
  fileBytes: number;
  /** End of its last valid record (the header size when it has none; 0 when the header is bad). */
  validBytes: number;
  records: number;
}

export interface ScanFault {
  /** Index of the faulty segment in `WalScan.segments`. */
  segmentIndex: number;
  file: string;
  offset: number;
  /** The seq the record at `offset` should have had. */
  seq: number;
  reason: string;
  /** True for a torn tail (see the module comment), false for corruption. */
  torn: boolean;
}

export interface WalScan {
  walDir: string;
  /** Segments wholly before the snapshot's seq + 1 (`afterSnapshot` only): not read. */
  skippedSegments: SegmentName[];
  /** Why the log does not continue the snapshot (`afterSnapshot` only), or null. */
  snapshotMismatch: string | null;
  /** Records up to the snapshot's seq that were verified but not delivered. */
  skippedRecords: number;
  /** Segments scanned, in order; the faulty one, if any, is the last of them. */
  segments: ScannedSegment[];
  /** Segments after the faulty one, or after the one where `toSeq` stopped the scan. */
  notScanned: SegmentName[];
  /** Entries of the WAL directory that are not segments (side files of repairs, .tmp files). */
  ignoredFiles: string[];
  /** Seq of the first record delivered, 0 when there is none. */
  firstSeq: number;
  /** Seq of the last valid record, 0 when there is none (after a snapshot: at least its seq). */
  lastSeq: number;
  /** Chain seed for the next record: crc of the last valid record (or the first segment's prevCrc). */
  lastCrc: number;
  lastTimestampMs: number;
  records: number;
  fault: ScanFault | null;
  /** True when the scan stopped at `toSeq` (or when `stopWhen` said so) before the end of the log. */
  stoppedAtToSeq: boolean;
  /** Where the last valid record this scan read was written (null when it read none). */
  lastRecord: WalRecordPosition | null;
}

export interface ScanOptions {
  fileLayer?: FileLayer;
  /** Stop after this seq (replay to a point); the rest is neither delivered nor verified. */
  toSeq?: number;
  /** Called with every valid record in seq order; the Command is reused, copy what you keep. */
  onRecord?: (command: Readonly<Command>) => void;
  chunkBytes?: number;
  /** Deliver only the records after a snapshot, checking that the chain meets it (module comment). */
  afterSnapshot?: SnapshotChainPoint;
  /**
   * Asked after each delivered record, with the number delivered so far: true stops the scan right
   * after that record, as `toSeq` would (`stoppedAtToSeq`). The reader thread's hand-over uses it
   * (wal_read_thread.ts); `continuationOf` gives the point to go on from.
   */
  stopWhen?: (delivered: number) => boolean;
}

/** Where a snapshot stands in the log: its seq and the chain crc of the record with that seq. */
export interface SnapshotChainPoint {
  seq: number;
  chainCrc: number;
  /** The timestamp of the record with that seq (the writer's floor when the tail is empty). */
  lastTimestampMs: number;
  /** Where that record was written, when known: the scan starts right after it (see seekToSnapshot). */
  position?: WalRecordPosition | null;
}

/** A record's place in the log: its segment, its offset and the offset right after it. */
export interface WalRecordPosition {
  segment: string;
  recordOffset: number;
  nextOffset: number;
}

/** The log does not continue a snapshot: the snapshot cannot be used with this log. */
export class SnapshotMismatchError extends Error {
  override readonly name = 'SnapshotMismatchError';
}

/** Something that runs `scanWal`: the function itself, or a reader thread's `scan` (same result). */
export type ScanFunction = (dataDir: string, options: ScanOptions) => WalScan;

/** Scans and verifies the WAL under `dataDir` without changing anything. */
export function scanWal(dataDir: string, options: ScanOptions = {}): WalScan {
  return new WalScanner(dataDir, options).scan();
}

/**
 * Where a scan that stopped early (`stopWhen`) goes on from: the chain point of its last record,
 * with that record's position, so the next scan starts right after it (`afterSnapshot`, which
 * checks that the record there is exactly that one).
 */
export function continuationOf(scan: WalScan): SnapshotChainPoint {
  assert(scan.stoppedAtToSeq && scan.fault === null && scan.snapshotMismatch === null, 'continuationOf: only a scan that stopped early and clean goes on');
  assert(scan.records > 0 && scan.lastRecord !== null, 'continuationOf: the scan read no record');
  return { seq: scan.lastSeq, chainCrc: scan.lastCrc, lastTimestampMs: scan.lastTimestampMs, position: scan.lastRecord };
}

/**
 * One scan from two: `head` stopped early, and `tail` went on from `continuationOf(head)`. The
 * result is exactly what one scan of the same log and options would have returned (the reader
 * thread's tests check it field by field): the segment the two share counted once, the tail's
 * fault re-indexed to the joined segments, the head's view of the start (first seq, snapshot,
 * skipped segments) and the tail's of the end.
 */
export function joinScans(head: WalScan, tail: WalScan): WalScan {
  const point = continuationOf(head);
  if (tail.snapshotMismatch !== null) {
    throw new InvariantError(`WAL scan: the log does not go on after seq ${point.seq}, where the previous part of the scan stopped: ${tail.snapshotMismatch}`);
  }
  const segments = head.segments.map((segment) => ({ ...segment }));
  const tailSegments = tail.segments.map((segment) => ({ ...segment }));
  const shared = segments[segments.length - 1];
  const first = tailSegments[0];
  if (shared !== undefined && first !== undefined && first.name === shared.name) {
    // The tail went on in the segment the head stopped in. Records it verified again to get back
    // to the point (when it could not seek there) are the head's, counted once.
    shared.records += first.records - tail.skippedRecords;
    shared.validBytes = first.validBytes;
    shared.fileBytes = first.fileBytes;
    tailSegments.shift();
  }
  const indexOffset = segments.length - (tail.segments.length - tailSegments.length);
  segments.push(...tailSegments);
  return {
    walDir: head.walDir,
    skippedSegments: head.skippedSegments,
    snapshotMismatch: null,
    skippedRecords: head.skippedRecords,
    segments,
    notScanned: tail.notScanned,
    ignoredFiles: tail.ignoredFiles,
    firstSeq: head.firstSeq,
    lastSeq: tail.lastSeq,
    lastCrc: tail.lastCrc,
    lastTimestampMs: tail.lastTimestampMs,
    records: head.records + tail.records,
    fault: tail.fault === null ? null : { ...tail.fault, segmentIndex: tail.fault.segmentIndex + indexOffset },
    stoppedAtToSeq: tail.stoppedAtToSeq,
    lastRecord: tail.lastRecord ?? head.lastRecord,
  };
}

export interface TornTail {
  file: string;
  offset: number;
  bytes: number;
}

export interface ReadSummary {
  records: number;
  firstSeq: number;
  lastSeq: number;
  lastCrc: number;
  /** A torn tail found at the end (not truncated: reading never changes the log), or null. */
  tornTail: TornTail | null;
}

/**
 * Streams every record of the WAL (up to `toSeq`) to `onRecord`, verifying as it goes. Read-only.
 * Throws WalCorruptionError on corruption (after delivering the records before it).
 */
export function readRecords(
  dataDir: string,
  options: {
    toSeq?: number;
    onRecord: (command: Readonly<Command>) => void;
    fileLayer?: FileLayer;
    chunkBytes?: number;
    afterSnapshot?: SnapshotChainPoint;
    /** Who scans: `scanWal` on this thread (default), or a reader thread (wal_read_thread.ts). */
    scanner?: ScanFunction;
  },
): ReadSummary {
  const { scanner, ...scanOptions } = options;
  const scan = (scanner ?? scanWal)(dataDir, scanOptions);
  if (scan.snapshotMismatch !== null) throw new SnapshotMismatchError(scan.snapshotMismatch);
  const fault = scan.fault;
  if (fault !== null && !fault.torn) throw corruptionError(fault);
  let tornTail: TornTail | null = null;
  if (fault !== null) {
    const segment = scan.segments[fault.segmentIndex]!;
    tornTail = { file: fault.file, offset: fault.offset, bytes: segment.fileBytes - fault.offset };
  }
  return { records: scan.records, firstSeq: scan.firstSeq, lastSeq: scan.lastSeq, lastCrc: scan.lastCrc, tornTail };
}

export function corruptionError(fault: ScanFault): WalCorruptionError {
  return new WalCorruptionError(fault.file, fault.offset, fault.seq, fault.reason);
}

class WalScanner {
  private readonly layer: FileLayer;
  private readonly walDir: string;
  private readonly toSeq: number;
  private readonly onRecord: ((command: Readonly<Command>) => void) | null;
  private readonly stopWhen: ((delivered: number) => boolean) | null;
  private readonly chunkBytesMax: number;
  private chunk = new Uint8Array(0);
  private readonly decoder = new RecordDecoder();
  private readonly command = createCommand();
  private firstSeq = 0;
  /** Seq of the last valid record, or the first segment's firstSeq - 1 before any record. */
  private chainSeq = 0;
  private chainCrc = 0;
  private lastTimestampMs = 0;
  private records = 0;
  private fault: ScanFault | null = null;
  private stopped = false;
  private readonly snapshot: SnapshotChainPoint | null;
  private snapshotMismatch: string | null = null;
  private skippedRecords = 0;
  /** True once lastTimestampMs holds a real record's timestamp (or the snapshot's). */
  private timestampKnown = false;
  /** The last valid record read: its segment ('' before any) and where it starts and ends. */
  private lastRecordSegment = '';
  private lastRecordOffset = 0;
  private lastRecordEnd = 0;

  constructor(dataDir: string, options: ScanOptions) {
    this.layer = options.fileLayer ?? nodeFileLayer;
    this.walDir = walDirectory(dataDir);
    this.toSeq = options.toSeq ?? Number.MAX_SAFE_INTEGER;
    assert(Number.isSafeInteger(this.toSeq) && this.toSeq >= 0, 'scanWal: toSeq must be a safe integer >= 0');
    this.onRecord = options.onRecord ?? null;
    this.stopWhen = options.stopWhen ?? null;
    const chunkBytes = options.chunkBytes ?? READ_CHUNK_BYTES_DEFAULT;
    assert(Number.isInteger(chunkBytes) && chunkBytes >= READ_CHUNK_BYTES_MIN, `scanWal: chunkBytes must be >= ${READ_CHUNK_BYTES_MIN}`);
    this.chunkBytesMax = chunkBytes;
    this.snapshot = options.afterSnapshot ?? null;
    if (this.snapshot !== null) {
      const { seq, chainCrc, lastTimestampMs } = this.snapshot;
      assert(Number.isSafeInteger(seq) && seq >= 1, 'scanWal: afterSnapshot.seq must be a safe integer >= 1');
      assert(Number.isInteger(chainCrc) && chainCrc >= 0 && chainCrc <= 0xffffffff, 'scanWal: afterSnapshot.chainCrc must be a u32');
      assert(Number.isSafeInteger(lastTimestampMs) && lastTimestampMs >= 0, 'scanWal: afterSnapshot.lastTimestampMs must be >= 0');
      assert(this.toSeq >= seq, 'scanWal: toSeq must not be before the snapshot');
    }
  }

  scan(): WalScan {
    const listing = this.layer.stat(this.walDir) === null ? { segments: [], ignored: [] } : listSegments(this.layer, this.walDir);
    const start = this.firstSegmentToScan(listing.segments);
    const sizes = listing.segments.map((entry, index) => (index < start ? 0 : this.segmentSize(entry)));
    // One buffer for the whole scan, no larger than the largest segment needs.
    this.chunk = new Uint8Array(Math.min(this.chunkBytesMax, Math.max(READ_CHUNK_BYTES_MIN, ...sizes)));
    const scanned: ScannedSegment[] = [];
    let index = start;
    for (; index < listing.segments.length && this.fault === null && !this.stopped && this.snapshotMismatch === null; index++) {
      const entry = listing.segments[index]!;
      scanned.push(this.scanSegment(entry, sizes[index]!, scanned.length, index === listing.segments.length - 1));
    }
    this.checkSnapshotReached();
    return {
      walDir: this.walDir,
      skippedSegments: listing.segments.slice(0, start),
      snapshotMismatch: this.snapshotMismatch,
      skippedRecords: this.skippedRecords,
      segments: scanned,
      notScanned: listing.segments.slice(index),
      ignoredFiles: listing.ignored,
      firstSeq: this.firstSeq,
      lastSeq: this.records > 0 || (this.snapshot !== null && this.snapshotMismatch === null) ? this.chainSeq : 0,
      lastCrc: this.chainCrc,
      lastTimestampMs: this.lastTimestampMs,
      records: this.records,
      fault: this.fault,
      stoppedAtToSeq: this.stopped,
      lastRecord:
        this.lastRecordSegment === '' ? null : { segment: this.lastRecordSegment, recordOffset: this.lastRecordOffset, nextOffset: this.lastRecordEnd },
    };
  }

  /** Index of the first segment to read: 0, or after a snapshot the one holding its seq + 1. */
  private firstSegmentToScan(segments: readonly SegmentName[]): number {
    if (this.snapshot === null) return 0;
    const next = this.snapshot.seq + 1;
    let start = -1;
    for (let index = 0; index < segments.length && segments[index]!.firstSeq <= next; index++) start = index;
    if (start >= 0) return start;
    this.snapshotMismatch =
      segments.length === 0
        ? `the WAL is empty: nothing holds seq ${next}, right after the snapshot`
        : `no WAL segment holds seq ${next}, right after the snapshot (the first one starts at ${segments[0]!.firstSeq})`;
    return segments.length;
  }

  /** After a snapshot: a log that ends (or breaks) before the snapshot's seq does not continue it. */
  private checkSnapshotReached(): void {
    const snapshot = this.snapshot;
    if (snapshot === null || this.snapshotMismatch !== null || this.chainSeq >= snapshot.seq) return;
    const fault = this.fault;
    this.snapshotMismatch =
      fault === null
        ? `the WAL ends at seq ${this.chainSeq}, before the snapshot's seq ${snapshot.seq}`
        : `the WAL cannot be read up to the snapshot's seq ${snapshot.seq}: ${fault.reason} in ${fault.file} at offset ${fault.offset} (seq ${fault.seq})`;
    // Nothing is cut on this attempt: recovery falls back, and the fallback meets the fault itself.
    this.fault = null;
  }

  private segmentSize(entry: SegmentName): number {
    const stat = this.layer.stat(path.join(this.walDir, entry.name));
    assert(stat !== null, `scanWal: ${entry.name} disappeared during the scan`);
    return stat.size;
  }

  private scanSegment(entry: SegmentName, fileBytes: number, index: number, isLast: boolean): ScannedSegment {
    const file = path.join(this.walDir, entry.name);
    const segment: ScannedSegment = { name: entry.name, firstSeq: entry.firstSeq, fileBytes, validBytes: 0, records: 0 };
    const fd = this.layer.open(file, 'r');
    try {
      if (this.checkHeader(fd, segment, index, file)) {
        const start = index === 0 ? this.seekToSnapshot(fd, segment) : SEGMENT_HEADER_BYTES;
        segment.validBytes = start;
        this.scanRecords(fd, segment, index, file, isLast, start);
      }
    } finally {
      this.layer.close(fd);
    }
    return segment;
  }

  private checkHeader(fd: number, segment: ScannedSegment, index: number, file: string): boolean {
    const headerBytes = Math.min(segment.fileBytes, SEGMENT_HEADER_BYTES);
    readFully(this.layer, fd, this.chunk, 0, headerBytes, 0);
    const header = parseSegmentHeader(this.chunk.subarray(0, headerBytes));
    const expectedSeq = index === 0 ? segment.firstSeq : this.chainSeq + 1;
    const fail = (reason: string): boolean => {
      this.fault = { segmentIndex: index, file, offset: 0, seq: expectedSeq, reason, torn: false };
      return false;
    };
    if (!header.ok) return fail(header.reason);
    if (header.firstSeq !== segment.firstSeq) return fail(`segment header says firstSeq ${header.firstSeq}, its name ${segment.firstSeq}`);
    if (index === 0) return this.seedChain(header.firstSeq, header.prevCrc);
    if (header.firstSeq !== this.chainSeq + 1) {
      return fail(`seq gap between segments: expected seq ${this.chainSeq + 1}, segment starts at ${header.firstSeq}`);
    }
    if (header.prevCrc !== this.chainCrc) return fail('checksum chain broken: segment prevCrc is not the last crc of the previous segment');
    return true;
  }

  /** The chain starts at the first segment scanned: from its header, or from the snapshot. */
  private seedChain(firstSeq: number, prevCrc: number): boolean {
    const snapshot = this.snapshot;
    if (snapshot !== null && firstSeq === snapshot.seq + 1) {
      if (prevCrc !== snapshot.chainCrc) {
        this.snapshotMismatch = `segment ${segmentFileName(firstSeq)} has prevCrc ${prevCrc}, the snapshot's chain crc is ${snapshot.chainCrc}`;
        return false;
      }
      this.lastTimestampMs = snapshot.lastTimestampMs;
      this.timestampKnown = true;
    }
    this.chainSeq = firstSeq - 1;
    this.chainCrc = prevCrc;
    return true;
  }

  /**
   * With the snapshot's record position: the first segment is read from right after the snapshot's
   * record instead of from its start (a 64 MiB segment is a million records to walk). The record
   * there must be exactly the snapshot's: its seq, its stored crc (the snapshot's chain crc), its
   * timestamp and its length all agree; the records after it then verify chained from that crc.
   * Anything else (a segment cut shorter, another log) falls back to walking the whole segment.
   */
  private seekToSnapshot(fd: number, segment: ScannedSegment): number {
    const snapshot = this.snapshot;
    const position = snapshot?.position;
    if (snapshot === null || position === undefined || position === null || position.segment !== segment.name) return SEGMENT_HEADER_BYTES;
    const { recordOffset, nextOffset } = position;
    const header = this.chunk.subarray(0, RECORD_HEADER_BYTES);
    const plausible =
      Number.isSafeInteger(recordOffset) && recordOffset >= SEGMENT_HEADER_BYTES && nextOffset > recordOffset && nextOffset <= segment.fileBytes;
    if (!plausible) return SEGMENT_HEADER_BYTES;
    readFully(this.layer, fd, header, 0, RECORD_HEADER_BYTES, recordOffset);
    const matches =
      recordOffset + RECORD_HEADER_BYTES + readU32(header, 0) === nextOffset &&
      readSafeU64(header, RECORD_SEQ_OFFSET) === snapshot.seq &&
      readU32(header, RECORD_CRC_OFFSET) === snapshot.chainCrc &&
      readSafeU64(header, RECORD_TIMESTAMP_OFFSET) === snapshot.lastTimestampMs;
    if (!matches) return SEGMENT_HEADER_BYTES;
    this.chainSeq = snapshot.seq;
    this.chainCrc = snapshot.chainCrc;
    this.lastTimestampMs = snapshot.lastTimestampMs;
    this.timestampKnown = true;
    return nextOffset;
  }

  /** Walks the records of one segment through the chunk buffer, refilling it as records run out. */
  private scanRecords(fd: number, segment: ScannedSegment, index: number, file: string, isLast: boolean, start: number): void {
    const chunk = this.chunk;
    const decoder = this.decoder;
    const command = this.command;
    const fileBytes = segment.fileBytes;
    let filePos = start;
    let chunkStart = filePos;
    let chunkEnd = 0;
    let at = 0;
    for (;;) {
      const size = decoder.decode(chunk, at, chunkEnd, this.chainCrc, command);
      if (size > 0) {
        const fault = this.checkSequence(command);
        if (fault !== null) return this.setFault(fd, segment, index, file, chunkStart + at, fault, false, false);
        if (command.seq > this.toSeq) {
          this.stopped = true;
          return;
        }
        this.accept(command, decoder.crc);
        this.lastRecordOffset = chunkStart + at;
        at += size;
        segment.records += 1;
        segment.validBytes = chunkStart + at;
        this.lastRecordSegment = segment.name;
        this.lastRecordEnd = segment.validBytes;
        if (this.snapshot === null || command.seq > this.snapshot.seq) {
          this.deliver(command);
          if (this.stopWhen !== null && command.seq < this.toSeq && this.stopWhen(this.records)) {
            this.stopped = true;
            return;
          }
        } else if (!this.skipBeforeSnapshot(command.seq)) return;
        if (command.seq === this.toSeq) {
          this.stopped = true;
          return;
        }
        continue;
      }
      if (size === RecordFault.NeedMore && filePos < fileBytes) {
        const remaining = chunkEnd - at;
        chunk.copyWithin(0, at, chunkEnd);
        chunkStart += at;
        at = 0;
        chunkEnd = remaining;
        const want = Math.min(chunk.length - chunkEnd, fileBytes - filePos);
        readFully(this.layer, fd, chunk, chunkEnd, want, filePos);
        filePos += want;
        chunkEnd += want;
        continue;
      }
      if (size === RecordFault.NeedMore && at === chunkEnd) return; // clean end of the segment
      const reason = size === RecordFault.BadBody ? `${recordFaultName(size)}: ${decoder.bodyFault}` : faultReason(size, chunkEnd - at);
      const tornCandidate = size === RecordFault.NeedMore || size === RecordFault.BadLength || size === RecordFault.Checksum;
      return this.setFault(fd, segment, index, file, chunkStart + at, reason, tornCandidate, isLast);
    }
  }

  /** Gap-free seqs and non-decreasing timestamps; null when the record follows on correctly. */
  private checkSequence(command: Readonly<Command>): string | null {
    const expected = this.chainSeq + 1;
    if (command.seq !== expected) return `seq gap: record has seq ${command.seq}, expected ${expected}`;
    if (this.timestampKnown && command.timestampMs < this.lastTimestampMs) return `timestamp goes backwards at seq ${command.seq}`;
    return null;
  }

  private accept(command: Readonly<Command>, crc: number): void {
    this.chainSeq = command.seq;
    this.chainCrc = crc;
    this.lastTimestampMs = command.timestampMs;
    this.timestampKnown = true;
  }

  private deliver(command: Readonly<Command>): void {
    if (this.records === 0) this.firstSeq = command.seq;
    this.records += 1;
    this.onRecord?.(command);
  }

  /** A verified record up to the snapshot's seq; false when the chain does not meet the snapshot. */
  private skipBeforeSnapshot(seq: number): boolean {
    this.skippedRecords += 1;
    const snapshot = this.snapshot!;
    if (seq < snapshot.seq || this.chainCrc === snapshot.chainCrc) return true;
    this.snapshotMismatch = `record ${seq} has crc ${this.chainCrc}, the snapshot's chain crc is ${snapshot.chainCrc}`;
    return false;
  }

  private setFault(
    fd: number,
    segment: ScannedSegment,
    index: number,
    file: string,
    offset: number,
    reason: string,
    tornCandidate: boolean,
    isLast: boolean,
  ): void {
    let torn = false;
    if (tornCandidate && isLast) {
      const rest = new Uint8Array(segment.fileBytes - offset);
      readFully(this.layer, fd, rest, 0, rest.length, offset);
      torn = findValidRecordAfterFault(rest, this.chainSeq, this.chainCrc) < 0;
    }
    this.fault = { segmentIndex: index, file, offset, seq: this.chainSeq + 1, reason, torn };
  }
}

function faultReason(fault: number, bytesLeft: number): string {
  if (fault === RecordFault.NeedMore) {
    return bytesLeft < RECORD_HEADER_BYTES ? 'partial record header at the end of the file' : 'record length runs past the end of the file';
  }
  return recordFaultName(fault);
}

// ---------------------------------------------------------------------------------------------
// Telling a torn tail from corruption (error path only: allocation is fine here).

/**
 * Size of the body of a plausible record header at `bytes[at..]` (length in range and within
 * the bytes, known type, zero padding, seq in [seqMin, seqMax]), or -1.
 */
function plausibleBodyBytes(bytes: Uint8Array, at: number, seqMin: number, seqMax: number): number {
  if (at + RECORD_HEADER_BYTES > bytes.length) return -1;
  const bodyBytes = readU32(bytes, at);
  if (bodyBytes < 1 || bodyBytes > RECORD_BODY_BYTES_MAX || at + RECORD_HEADER_BYTES + bodyBytes > bytes.length) return -1;
  const type = bytes[at + RECORD_TYPE_OFFSET]!;
  if (type < CommandType.Deposit || type > CommandType.Cancel) return -1;
  for (let i = 0; i < RECORD_PADDING_BYTES; i++) if (bytes[at + RECORD_PADDING_OFFSET + i] !== 0) return -1;
  const seq = readSafeU64(bytes, at + RECORD_SEQ_OFFSET);
  return seq >= seqMin && seq <= seqMax ? bodyBytes : -1;
}

function checksumAt(bytes: Uint8Array, at: number, bodyBytes: number, seed: number): number {
  return crc32(bytes.subarray(at + RECORD_CRC_COVERED_FROM, at + RECORD_HEADER_BYTES + bodyBytes), seed);
}

/**
 * Looks for a valid record after a bad one at `rest[0]` (rest = the file from the fault to its
 * end). A candidate counts when its checksum verifies chained to the bad record (seeded with the
 * bad record's stored crc, or with the crc its bytes should have had: one of them is right when a
 * single field was damaged), when it and the record after it verify as a chain of their own, or
 * when it is exactly the record that should follow the bad one and decodes to a valid command.
 * Returns the candidate's offset in `rest`, or -1 when nothing valid follows (a torn tail).
 */
export function findValidRecordAfterFault(rest: Uint8Array, lastGoodSeq: number, lastGoodCrc: number): number {
  const seeds: number[] = [];
  if (rest.length >= RECORD_CRC_COVERED_FROM) seeds.push(readU32(rest, RECORD_CRC_OFFSET));
  const badBodyBytes = rest.length >= 4 ? readU32(rest, 0) : 0;
  if (badBodyBytes >= 1 && badBodyBytes <= RECORD_BODY_BYTES_MAX && RECORD_HEADER_BYTES + badBodyBytes <= rest.length) {
    seeds.push(checksumAt(rest, 0, badBodyBytes, lastGoodCrc));
  }
  const decoder = new RecordDecoder();
  const command = createCommand();
  const seqMin = lastGoodSeq + 1;
  const seqMax = seqMin + Math.ceil(rest.length / (RECORD_HEADER_BYTES + 1));
  for (let at = 1; at + RECORD_HEADER_BYTES < rest.length; at++) {
    const bodyBytes = plausibleBodyBytes(rest, at, seqMin, seqMax);
    if (bodyBytes < 0) continue;
    const stored = readU32(rest, at + RECORD_CRC_OFFSET);
    for (const seed of seeds) if (checksumAt(rest, at, bodyBytes, seed) === stored) return at;
    const next = at + RECORD_HEADER_BYTES + bodyBytes;
    const seq = readSafeU64(rest, at + RECORD_SEQ_OFFSET);
    const nextBodyBytes = plausibleBodyBytes(rest, next, seq + 1, seq + 1);
    if (nextBodyBytes >= 0 && checksumAt(rest, next, nextBodyBytes, stored) === readU32(rest, next + RECORD_CRC_OFFSET)) return at;
    // Exactly the record that should follow the bad one, well-formed down to its body: evidence
    // too (the bad one may be damaged beyond what the seeds cover, with nothing after to chain to).
    if (seq === lastGoodSeq + 2 && decoder.decodeUnverified(rest, at, rest.length, command) > 0) return at;
  }
  return -1;
}
