/**
 * Recovery on start: verify the whole WAL (wal_reader.ts), cut a torn tail, refuse corruption
 * (or, with `repair`, cut it off), and say where the writer continues.
 *
 * - A torn tail at the end of the last segment (a write that was never acknowledged) is
 *   truncated. Its bytes are kept in `<segment>.torn-<offset>` and the result reports file,
 *   offset and size for the caller to log.
 * - Any other damage throws a WalCorruptionError naming file, offset and seq: the server refuses to
 *   start. With `repair: true` the segment is truncated at the first bad record, the cut bytes are
 *   kept in `<segment>.corrupt-<offset>`, and every later segment is set aside by renaming it to
 *   `<segment>.corrupt` (a bad segment header sets its whole segment aside the same way).
 *
 * Nothing is ever deleted: side files are written and made durable before the truncation.
 *
 * With `afterSnapshot`, only the log after a snapshot is read and replayed (see wal_reader.ts). When
 * the log does not continue the snapshot, a SnapshotMismatchError is thrown before anything changes.
 */
import * as path from 'node:path';
import { assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import type { FileLayer } from './file_layer.ts';
import { nodeFileLayer, readFully, writeFully } from './file_layer.ts';
import { SEGMENT_HEADER_BYTES } from './segment_file.ts';
import type { ScanFault, ScannedSegment, SnapshotChainPoint, WalScan, ScanFunction } from './wal_reader.ts';
import { SnapshotMismatchError, corruptionError, scanWal } from './wal_reader.ts';
import type { WalPosition } from './wal_writer.ts';

export interface WalRecoveryOptions {
  /** Cut corruption off instead of refusing to start (`--repair`). */
  repair?: boolean;
  fileLayer?: FileLayer;
  /** Replay while verifying: called with every valid record in seq order (the Command is reused). */
  onRecord?: (command: Readonly<Command>) => void;
  chunkBytes?: number;
  /** Read and replay only the records after this snapshot point. */
  afterSnapshot?: SnapshotChainPoint;
  /** Who scans: `scanWal` on this thread (default), or a reader thread (wal_read_thread.ts). */
  scanner?: ScanFunction;
}

export interface RecoveredSegment {
  name: string;
  firstSeq: number;
  /** Size after recovery. */
  bytes: number;
  records: number;
}

export interface RecoveredTornTail {
  file: string;
  offset: number;
  bytes: number;
  /** The side file holding the cut bytes. */
  savedAs: string;
}

export interface RecoveredRepair {
  file: string;
  offset: number;
  seq: number;
  reason: string;
  /** The side file holding the cut bytes, or null when a whole segment was set aside. */
  savedAs: string | null;
  /** Segments renamed to `.corrupt`, as their new names. */
  setAside: string[];
}

export interface WalRecovery extends WalPosition {
  walDir: string;
  /** Seq of the first record replayed, 0 for none. The log may start at any seq >= 1. */
  firstSeq: number;
  /** Seq of the last record, 0 for an empty log. */
  lastSeq: number;
  /** Chain seed for the next record. */
  lastCrc: number;
  lastTimestampMs: number;
  records: number;
  segments: RecoveredSegment[];
  /** The last segment, where the writer continues; null when there is none. */
  appendSegment: { name: string; firstSeq: number; bytes: number } | null;
  tornTail: RecoveredTornTail | null;
  repair: RecoveredRepair | null;
  /** Entries of the WAL directory that are not segments (earlier side files, .tmp files). */
  ignoredFiles: string[];
  /** With `afterSnapshot`: segments wholly before the snapshot, not read. */
  skippedSegments: string[];
  /** With `afterSnapshot`: records up to the snapshot's seq, verified but not replayed. */
  skippedRecords: number;
}

/** Side-file names get a counter when taken: a second repair never overwrites the first one's. */
const SIDE_NAME_ATTEMPTS_MAX = 1000;

export function recoverWal(dataDir: string, options: WalRecoveryOptions = {}): WalRecovery {
  const layer = options.fileLayer ?? nodeFileLayer;
  const scanOptions: Parameters<typeof scanWal>[1] = { fileLayer: layer };
  if (options.onRecord !== undefined) scanOptions.onRecord = options.onRecord;
  if (options.chunkBytes !== undefined) scanOptions.chunkBytes = options.chunkBytes;
  if (options.afterSnapshot !== undefined) scanOptions.afterSnapshot = options.afterSnapshot;
  const scan = (options.scanner ?? scanWal)(dataDir, scanOptions);
  if (scan.snapshotMismatch !== null) throw new SnapshotMismatchError(scan.snapshotMismatch);
  assert(!scan.stoppedAtToSeq, 'recoverWal: the scan must cover the whole log');
  const fault = scan.fault;
  let segments = scan.segments.map(recoveredSegment);
  let tornTail: RecoveredTornTail | null = null;
  let repair: RecoveredRepair | null = null;
  if (fault !== null && fault.torn) {
    tornTail = cutTornTail(layer, scan, fault, segments);
  } else if (fault !== null) {
    if (options.repair !== true) throw corruptionError(fault);
    repair = repairCorruption(layer, scan, fault, segments);
    if (fault.offset < SEGMENT_HEADER_BYTES) segments = segments.slice(0, -1);
  }
  const last = segments[segments.length - 1];
  return {
    walDir: scan.walDir,
    firstSeq: scan.firstSeq,
    lastSeq: scan.lastSeq,
    lastCrc: scan.lastCrc,
    lastTimestampMs: scan.lastTimestampMs,
    records: scan.records,
    segments,
    appendSegment: last === undefined ? null : { name: last.name, firstSeq: last.firstSeq, bytes: last.bytes },
    tornTail,
    repair,
    ignoredFiles: scan.ignoredFiles,
    skippedSegments: scan.skippedSegments.map((entry) => entry.name),
    skippedRecords: scan.skippedRecords,
  };
}

function recoveredSegment(segment: ScannedSegment): RecoveredSegment {
  return { name: segment.name, firstSeq: segment.firstSeq, bytes: segment.fileBytes, records: segment.records };
}

function cutTornTail(layer: FileLayer, scan: WalScan, fault: ScanFault, segments: RecoveredSegment[]): RecoveredTornTail {
  assert(fault.segmentIndex === scan.segments.length - 1, 'a torn tail is in the last segment scanned');
  assert(scan.notScanned.length === 0, 'a torn tail has no segment after it');
  const segment = segments[fault.segmentIndex]!;
  const bytes = segment.bytes - fault.offset;
  const savedAs = cutSegment(layer, scan.walDir, segment, fault.offset, 'torn');
  assert(savedAs !== null, 'a torn tail has bytes');
  return { file: fault.file, offset: fault.offset, bytes, savedAs };
}

function repairCorruption(layer: FileLayer, scan: WalScan, fault: ScanFault, segments: RecoveredSegment[]): RecoveredRepair {
  const segment = segments[fault.segmentIndex]!;
  const setAsideNames = scan.notScanned.map((entry) => entry.name);
  let savedAs: string | null = null;
  if (fault.offset < SEGMENT_HEADER_BYTES) {
    setAsideNames.unshift(segment.name); // the header itself is bad: the whole segment goes
  } else {
    savedAs = cutSegment(layer, scan.walDir, segment, fault.offset, 'corrupt');
  }
  const setAside: string[] = [];
  for (const name of setAsideNames) {
    const target = freeSideName(layer, scan.walDir, `${name}.corrupt`);
    layer.rename(path.join(scan.walDir, name), path.join(scan.walDir, target));
    setAside.push(target);
  }
  if (setAside.length > 0) layer.fsyncDirectory(scan.walDir);
  return { file: fault.file, offset: fault.offset, seq: fault.seq, reason: fault.reason, savedAs, setAside };
}

/**
 * Truncates a segment at `offset`, first keeping the cut bytes in a durable side file
 * `<segment>.<kind>-<offset>`. Returns the side file's name, or null when nothing was cut.
 */
function cutSegment(layer: FileLayer, walDir: string, segment: RecoveredSegment, offset: number, kind: string): string | null {
  assert(offset >= SEGMENT_HEADER_BYTES, 'cutSegment: offset after the segment header');
  assert(offset <= segment.bytes, 'cutSegment: offset inside the segment');
  const file = path.join(walDir, segment.name);
  let sideName: string | null = null;
  const fd = layer.open(file, 'r+');
  try {
    if (segment.bytes > offset) {
      const cut = new Uint8Array(segment.bytes - offset);
      readFully(layer, fd, cut, 0, cut.length, offset);
      sideName = freeSideName(layer, walDir, `${segment.name}.${kind}-${offset}`);
      writeSideFile(layer, path.join(walDir, sideName), cut);
      layer.fsyncDirectory(walDir);
    }
    layer.truncate(fd, offset);
    layer.fdatasync(fd);
  } finally {
    layer.close(fd);
  }
  segment.bytes = offset;
  return sideName;
}

function writeSideFile(layer: FileLayer, file: string, bytes: Uint8Array): void {
  const fd = layer.open(file, 'wx');
  try {
    writeFully(layer, fd, bytes, 0, bytes.length, 0);
    layer.fdatasync(fd);
  } finally {
    layer.close(fd);
  }
}

function freeSideName(layer: FileLayer, walDir: string, base: string): string {
  for (let attempt = 0; attempt < SIDE_NAME_ATTEMPTS_MAX; attempt++) {
    const name = attempt === 0 ? base : `${base}.${attempt}`;
    if (layer.stat(path.join(walDir, name)) === null) return name;
  }
  throw new Error(`recoverWal: no free side-file name for ${base} after ${SIDE_NAME_ATTEMPTS_MAX} attempts`);
}
