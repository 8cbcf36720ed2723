/**
 * Follows the live WAL from the snapshot worker's thread: delivers the records up to a seq the WAL
 * writer has published as durable (SharedCounters.durableSeq), incrementally, remembering the
 * segment, the file offset and the chain crc where it stopped.
 *
 * It never reads past what it was asked for: the writer may be in the middle of writing the next
 * batch, and those bytes are not yet a record. Everything up to the requested seq was written (and
 * synced) before the writer published it, so a record that does not verify there, a gap, or a
 * missing segment is an error: the follower throws, and the snapshot worker stops taking snapshots
 * rather than take a wrong one.
 *
 * Starting point: the position right after the snapshot the worker starts from (found by the
 * recovery scan, with the chain checked to meet the snapshot), or the start of the log.
 */
import * as path from 'node:path';
import { assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import { createCommand } from '../domain/commands.ts';
import type { FileLayer } from '../wal/file_layer.ts';
import { nodeFileLayer, readFully } from '../wal/file_layer.ts';
import { RECORD_BYTES_MAX, RecordDecoder, RecordFault, recordFaultName } from '../wal/record_codec.ts';
import { SEGMENT_HEADER_BYTES, parseSegmentHeader, segmentFileName, walDirectory } from '../wal/segment_file.ts';
import type { SnapshotChainPoint, WalRecordPosition } from '../wal/wal_reader.ts';
import { scanWal } from '../wal/wal_reader.ts';

const FOLLOW_CHUNK_BYTES = 4 * 1024 * 1024;

export class WalFollowError extends Error {
  override readonly name = 'WalFollowError';
}

export class WalFollower {
  private readonly layer: FileLayer;
  private readonly walDir: string;
  private readonly chunk = new Uint8Array(FOLLOW_CHUNK_BYTES);
  private readonly decoder = new RecordDecoder();
  private readonly command = createCommand();
  private fd = -1;
  private segmentName = '';
  /** File offset of the next record in the current segment. */
  private offset = 0;
  private chainSeqValue: number;
  private chainCrcValue: number;
  private lastTimestampValue: number;
  /** Where the record `chainSeq` was written ('' when unknown): what a snapshot records. */
  private lastRecordSegment = '';
  private lastRecordOffset = 0;
  private lastRecordEnd = 0;

  private constructor(dataDir: string, layer: FileLayer, chainSeq: number, chainCrc: number, lastTimestampMs: number) {
    this.layer = layer;
    this.walDir = walDirectory(dataDir);
    this.chainSeqValue = chainSeq;
    this.chainCrcValue = chainCrc;
    this.lastTimestampValue = lastTimestampMs;
  }

  /**
   * A follower positioned right after `start` (a snapshot's chain point), or at the start of the log.
   * Scans (and verifies) the segment that holds the starting point, as recovery does.
   */
  static open(dataDir: string, start: SnapshotChainPoint | null, layer: FileLayer = nodeFileLayer): WalFollower {
    const startSeq = start?.seq ?? 0;
    const scan = scanWal(dataDir, { fileLayer: layer, toSeq: startSeq, ...(start === null ? {} : { afterSnapshot: start }) });
    if (scan.snapshotMismatch !== null) throw new WalFollowError(`the WAL does not continue the snapshot at seq ${startSeq}: ${scan.snapshotMismatch}`);
    const last = scan.segments[scan.segments.length - 1];
    if (last === undefined) {
      // An empty log: the first segment will be the one named after seq 1.
      if (start !== null) throw new WalFollowError(`the WAL is empty, the snapshot is at seq ${startSeq}`);
      return new WalFollower(dataDir, layer, 0, 0, 0);
    }
    if (scan.lastSeq !== startSeq && !(startSeq === 0 && scan.records === 0)) {
      throw new WalFollowError(`the WAL could not be read up to seq ${startSeq} (it stops at ${scan.lastSeq})`);
    }
    if (last.validBytes < SEGMENT_HEADER_BYTES) throw new WalFollowError(`segment ${last.name} has a bad header`);
    const follower = new WalFollower(dataDir, layer, startSeq === 0 ? last.firstSeq - 1 : startSeq, scan.lastCrc, scan.lastTimestampMs);
    const position = start?.position;
    if (position !== undefined && position !== null) {
      follower.lastRecordSegment = position.segment;
      follower.lastRecordOffset = position.recordOffset;
      follower.lastRecordEnd = position.nextOffset;
    }
    follower.openSegment(last.name, last.validBytes);
    return follower;
  }

  /** Seq of the last record delivered (or of the starting point). */
  get chainSeq(): number {
    return this.chainSeqValue;
  }

  /** Chain crc of that record: what a snapshot at `chainSeq` records. */
  get chainCrc(): number {
    return this.chainCrcValue;
  }

  get lastTimestampMs(): number {
    return this.lastTimestampValue;
  }

  /** Where the record `chainSeq` is in the log, or null when unknown (nothing read yet). */
  get lastRecordPosition(): WalRecordPosition | null {
    if (this.lastRecordSegment === '') return null;
    return { segment: this.lastRecordSegment, recordOffset: this.lastRecordOffset, nextOffset: this.lastRecordEnd };
  }

  /**
   * Delivers the records after `chainSeq` up to `toSeq` (which the writer has published as durable),
   * at most `recordsMax` of them. Returns how many. Throws WalFollowError when the log does not hold them.
   */
  readUpTo(toSeq: number, recordsMax: number, onRecord: (command: Readonly<Command>) => void): number {
    assert(Number.isSafeInteger(recordsMax) && recordsMax >= 1, 'WalFollower.readUpTo: recordsMax must be >= 1');
    let delivered = 0;
    while (this.chainSeqValue < toSeq && delivered < recordsMax) {
      const wanted = Math.min(toSeq - this.chainSeqValue, recordsMax - delivered);
      const bytes = this.fd === -1 ? 0 : this.readChunk(wanted * RECORD_BYTES_MAX);
      if (bytes === 0) {
        this.nextSegment(toSeq);
        continue;
      }
      const consumed = this.decodeChunk(bytes, wanted, onRecord);
      if (consumed.records === 0) {
        throw new WalFollowError(`${this.segmentName} at offset ${this.offset}: record ${this.chainSeqValue + 1} is incomplete, yet durable seq is ${toSeq}`);
      }
      this.offset += consumed.bytes;
      delivered += consumed.records;
    }
    return delivered;
  }

  close(): void {
    if (this.fd === -1) return;
    const fd = this.fd;
    this.fd = -1;
    this.layer.close(fd);
  }

  /** Reads what the file holds at the current offset, at most `bytesMax`; 0 at its end. */
  private readChunk(bytesMax: number): number {
    const stat = this.layer.stat(path.join(this.walDir, this.segmentName));
    if (stat === null) throw new WalFollowError(`segment ${this.segmentName} disappeared`);
    const bytes = Math.min(this.chunk.length, bytesMax, stat.size - this.offset);
    if (bytes <= 0) return 0;
    readFully(this.layer, this.fd, this.chunk, 0, bytes, this.offset);
    return bytes;
  }

  private decodeChunk(end: number, recordsMax: number, onRecord: (command: Readonly<Command>) => void): { bytes: number; records: number } {
    const { chunk, decoder, command } = this;
    let at = 0;
    let records = 0;
    while (records < recordsMax) {
      const size = decoder.decode(chunk, at, end, this.chainCrcValue, command);
      if (size === RecordFault.NeedMore) break;
      if (size < 0) {
        const reason = size === RecordFault.BadBody ? `${recordFaultName(size)}: ${decoder.bodyFault}` : recordFaultName(size);
        throw new WalFollowError(`${this.segmentName} at offset ${this.offset + at}: record ${this.chainSeqValue + 1}: ${reason}`);
      }
      if (command.seq !== this.chainSeqValue + 1) {
        throw new WalFollowError(`${this.segmentName} at offset ${this.offset + at}: seq ${command.seq}, expected ${this.chainSeqValue + 1}`);
      }
      if (command.timestampMs < this.lastTimestampValue) throw new WalFollowError(`timestamp goes backwards at seq ${command.seq}`);
      this.chainSeqValue = command.seq;
      this.chainCrcValue = decoder.crc;
      this.lastTimestampValue = command.timestampMs;
      this.lastRecordSegment = this.segmentName;
      this.lastRecordOffset = this.offset + at;
      this.lastRecordEnd = this.offset + at + size;
      at += size;
      records += 1;
      onRecord(command);
    }
    return { bytes: at, records };
  }

  /** The current segment is exhausted: the next record must start the segment named after it. */
  private nextSegment(toSeq: number): void {
    const name = segmentFileName(this.chainSeqValue + 1);
    const file = path.join(this.walDir, name);
    const stat = this.layer.stat(file);
    if (stat === null) {
      throw new WalFollowError(`durable seq is ${toSeq}, but the WAL ends at seq ${this.chainSeqValue} (${this.segmentName || 'no segment'}, no ${name})`);
    }
    const header = new Uint8Array(SEGMENT_HEADER_BYTES);
    const fd = this.layer.open(file, 'r');
    try {
      readFully(this.layer, fd, header, 0, SEGMENT_HEADER_BYTES, 0);
    } finally {
      this.layer.close(fd);
    }
    const parsed = parseSegmentHeader(header);
    if (!parsed.ok) throw new WalFollowError(`segment ${name}: ${parsed.reason}`);
    if (parsed.firstSeq !== this.chainSeqValue + 1) throw new WalFollowError(`segment ${name} says firstSeq ${parsed.firstSeq}`);
    // The log's first segment has prevCrc 0 and starts the chain; later ones continue it.
    if (this.fd !== -1 && parsed.prevCrc !== this.chainCrcValue) throw new WalFollowError(`segment ${name}: prevCrc breaks the chain`);
    this.chainCrcValue = parsed.prevCrc;
    this.close();
    this.openSegment(name, SEGMENT_HEADER_BYTES);
  }

  private openSegment(name: string, offset: number): void {
    this.fd = this.layer.open(path.join(this.walDir, name), 'r');
    this.segmentName = name;
    this.offset = offset;
  }
}
