/**
 * The group-commit WAL writer. It runs in its own worker thread (the shell around it decides
 * when to flush); everything here is synchronous.
 *
 * `append` encodes a sequenced command into the preallocated batch buffer. `flush` writes the
 * whole batch with ONE write and makes it durable with ONE fdatasync; only then do `durableSeq`
 * and the return value say that those records are on stable storage, and only then may the shell
 * forward them to matching. A failed write or fdatasync is fatal: it is thrown as a WalWriteError,
 * the writer refuses every later call, and nothing of the batch is ever reported durable. An
 * fdatasync is never retried (after a failure the kernel may have dropped the dirty pages and a
 * second fdatasync could succeed without the data on disk); the process restarts and recovers.
 */
import * as path from 'node:path';
import { InvariantError, assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import type { FileLayer } from './file_layer.ts';
import { closeAfterError, nodeFileLayer, writeFully } from './file_layer.ts';
import { RECORD_BYTES_MAX, RecordEncoder } from './record_codec.ts';
import { createSegment, walDirectory } from './segment_file.ts';
import type { WalConfig, WalDurability } from './wal_config.ts';
import { validateWalConfig } from './wal_config.ts';

/** Where the log ends, as recovery found it (WalRecovery satisfies this). */
export interface WalPosition {
  /** Seq of the last record in the log, 0 when the log is empty. */
  lastSeq: number;
  /** CRC of the last record: the chain seed of the next one (the first segment's prevCrc when empty). */
  lastCrc: number;
  lastTimestampMs: number;
  /** The last segment, to append to; null when there is none yet. */
  appendSegment: { name: string; firstSeq: number; bytes: number } | null;
}

/** A write or fdatasync failed: fatal, the process must restart and recover from the log. */
export class WalWriteError extends Error {
  override readonly name = 'WalWriteError';
}

export class WalWriter {
  readonly durability: WalDurability;
  readonly batchRecordsMax: number;
  readonly batchBytesMax: number;
  readonly segmentBytesMax: number;
  readonly walDir: string;
  /** Counters for metrics: batches flushed, records flushed, segments created. */
  flushes = 0;
  recordsFlushed = 0;
  segmentsCreated = 0;

  private readonly layer: FileLayer;
  private readonly encoder = new RecordEncoder();
  private readonly batch: Uint8Array;
  private fd = -1;
  private segmentNameValue = '';
  private segmentBytesValue = 0;
  /** The seq the next record must have; 0 while any seq >= 1 is accepted (an empty log). */
  private nextSeq: number;
  private lastSeqValue: number;
  private lastCrcValue: number;
  private lastTimestampMs: number;
  private durableSeqValue: number;
  private durableCrc: number;
  private pendingRecordsValue = 0;
  private pendingBytesValue = 0;
  private firstPendingSeq = 0;
  private firstPendingAtMsValue = -1;
  private failure: Error | null = null;
  private closed = false;

  constructor(config: WalConfig, position: WalPosition, layer: FileLayer = nodeFileLayer) {
    const errors = validateWalConfig(config);
    assert(errors.length === 0, `WalWriter: invalid configuration: ${errors.join('; ')}`);
    assert(Number.isSafeInteger(position.lastSeq) && position.lastSeq >= 0, 'WalWriter: bad recovered lastSeq');
    this.durability = config.durability;
    this.batchRecordsMax = config.batchRecordsMax;
    this.batchBytesMax = config.batchBytesMax;
    this.segmentBytesMax = config.segmentBytesMax;
    this.walDir = walDirectory(config.dataDir);
    this.layer = layer;
    this.batch = new Uint8Array(config.batchBytesMax);
    this.lastSeqValue = position.lastSeq;
    this.durableSeqValue = position.lastSeq;
    this.lastCrcValue = position.lastCrc >>> 0;
    this.durableCrc = this.lastCrcValue;
    this.lastTimestampMs = position.lastTimestampMs;
    this.nextSeq = position.lastSeq > 0 ? position.lastSeq + 1 : (position.appendSegment?.firstSeq ?? 0);
    this.ensureDirectory(config.dataDir);
    if (position.appendSegment !== null) this.openSegment(position.appendSegment);
  }

  /** Seq of the last record appended (pending or durable); 0 when the log is empty. */
  get lastSeq(): number {
    return this.lastSeqValue;
  }

  /** Seq of the last record on stable storage (written, in durability 'none'). */
  get durableSeq(): number {
    return this.durableSeqValue;
  }

  /** CRC of the last record appended: the chain continues from it. */
  get lastCrc(): number {
    return this.lastCrcValue;
  }

  get pendingRecords(): number {
    return this.pendingRecordsValue;
  }

  get pendingBytes(): number {
    return this.pendingBytesValue;
  }

  /** The `nowMs` passed with the first pending record, or -1 when nothing is pending. */
  get firstPendingAtMs(): number {
    return this.firstPendingAtMsValue;
  }

  /** True when the batch has no room for another record: flush before appending again. */
  get full(): boolean {
    return this.pendingRecordsValue >= this.batchRecordsMax || this.pendingBytesValue + RECORD_BYTES_MAX > this.batchBytesMax;
  }

  /** The segment being appended to ('' before the first one) and its size in bytes. */
  get segmentName(): string {
    return this.segmentNameValue;
  }

  get segmentBytes(): number {
    return this.segmentBytesValue;
  }

  /**
   * Encodes a sequenced command into the batch. `nowMs` (any clock the shell likes) is remembered
   * for the first pending record so that the shell can flush T ms after it. Throws an
   * InvariantError, with the batch unchanged, for a full batch, a seq that is not the next one, a
   * timestamp that goes backwards or an invalid command.
   */
  append(command: Readonly<Command>, nowMs = 0): void {
    this.checkUsable();
    assert(!this.full, 'WalWriter.append: the batch is full, flush first');
    // Messages are built only on failure: a template literal argument would cost on every record.
    if (this.nextSeq !== 0 && command.seq !== this.nextSeq) {
      throw new InvariantError(`WalWriter.append: seq ${command.seq} is not the next seq ${this.nextSeq}`);
    }
    if (command.timestampMs < this.lastTimestampMs) {
      throw new InvariantError(`WalWriter.append: timestamp goes backwards at seq ${command.seq}`);
    }
    const bytes = this.encoder.encode(command, this.lastCrcValue, this.batch, this.pendingBytesValue);
    if (this.pendingRecordsValue === 0) {
      this.firstPendingSeq = command.seq;
      this.firstPendingAtMsValue = nowMs;
    }
    this.pendingRecordsValue += 1;
    this.pendingBytesValue += bytes;
    this.lastSeqValue = command.seq;
    this.lastCrcValue = this.encoder.crc;
    this.lastTimestampMs = command.timestampMs;
    this.nextSeq = command.seq + 1;
  }

  /**
   * Writes the pending batch with one write and makes it durable with one fdatasync (rotating to
   * a new segment first when the batch would take the current one past segmentBytesMax).
   * Returns the number of records that are now durable. Throws WalWriteError, fatal, on failure.
   */
  flush(): number {
    this.checkUsable();
    const records = this.pendingRecordsValue;
    if (records === 0) return 0;
    const bytes = this.pendingBytesValue;
    try {
      if (this.fd === -1 || this.segmentBytesValue + bytes > this.segmentBytesMax) this.rotate();
      writeFully(this.layer, this.fd, this.batch, 0, bytes, this.segmentBytesValue);
      if (this.durability === 'fsync') this.layer.fdatasync(this.fd);
    } catch (error) {
      throw this.fail(`flush of seq ${this.firstPendingSeq}..${this.lastSeqValue} to ${this.segmentNameValue}`, error);
    }
    this.segmentBytesValue += bytes;
    this.durableSeqValue = this.lastSeqValue;
    this.durableCrc = this.lastCrcValue;
    this.pendingRecordsValue = 0;
    this.pendingBytesValue = 0;
    this.firstPendingAtMsValue = -1;
    this.flushes += 1;
    this.recordsFlushed += records;
    return records;
  }

  /** Flushes what is pending (unless the writer has failed) and closes the segment. */
  close(): void {
    if (this.closed) return;
    if (this.failure === null) this.flush();
    this.closed = true;
    if (this.fd === -1) return;
    const fd = this.fd;
    this.fd = -1;
    if (this.failure !== null) {
      closeAfterError(this.layer, fd);
      return;
    }
    this.layer.close(fd);
  }

  private checkUsable(): void {
    if (this.failure !== null) throw new WalWriteError('WAL writer has failed before; restart and recover', { cause: this.failure });
    assert(!this.closed, 'WalWriter: used after close');
  }

  private fail(what: string, error: unknown): WalWriteError {
    const cause = error instanceof Error ? error : new Error(String(error));
    this.failure = cause;
    return new WalWriteError(`WAL ${what} failed: ${cause.message}`, { cause });
  }

  private ensureDirectory(dataDir: string): void {
    if (this.layer.stat(this.walDir) !== null) return;
    this.layer.mkdir(this.walDir);
    // The new directory entry must survive a crash like any segment created in it.
    this.layer.fsyncDirectory(dataDir);
  }

  private openSegment(segment: { name: string; firstSeq: number; bytes: number }): void {
    const file = path.join(this.walDir, segment.name);
    const stat = this.layer.stat(file);
    assert(stat !== null, `WalWriter: ${file} is missing`);
    assert(stat.size === segment.bytes, `WalWriter: ${file} is not the size recovery found (${segment.bytes})`);
    const fd = this.layer.open(file, 'r+');
    // A crash between a batch's write and its fdatasync leaves records that only the page cache
    // holds; recovery has just replayed them and the server is about to serve them (a GET, a
    // clientOrderId retry answered 200). Make them durable before that, or a power cut could take
    // back what a client was already shown (test/crash/power_loss_after_restart.test.ts).
    if (this.durability === 'fsync') {
      try {
        this.layer.fdatasync(fd);
      } catch (error) {
        closeAfterError(this.layer, fd);
        throw this.fail(`fdatasync of the recovered segment ${segment.name}`, error);
      }
    }
    this.fd = fd;
    this.segmentNameValue = segment.name;
    this.segmentBytesValue = segment.bytes;
  }

  /** Starts the segment for the first pending record; the previous one is already durable. */
  private rotate(): void {
    if (this.fd !== -1) {
      const fd = this.fd;
      this.fd = -1;
      this.layer.close(fd);
    }
    const created = createSegment(this.layer, this.walDir, this.firstPendingSeq, this.durableCrc);
    this.fd = created.fd;
    this.segmentNameValue = created.name;
    this.segmentBytesValue = created.bytes;
    this.segmentsCreated += 1;
  }
}
