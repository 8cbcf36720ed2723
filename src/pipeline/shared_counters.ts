/**
 * Counters the worker threads publish for /metrics and /health through shared memory, not
 * messages. Each slot has exactly one writing thread (named below), so plain stores suffice; the
 * main thread only reads. Float64 holds exact integers up to 2^53.
 */
export const HISTOGRAM_BUCKETS = 16;

/** Records per fsync: upper bounds of the buckets (the last is +Inf). */
export const RECORDS_PER_FSYNC_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
/** Fsync latency in ms: upper bounds of the buckets (the last is +Inf). */
export const FSYNC_LATENCY_MS_BOUNDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

const enum Slot {
  /** Sequencer thread: accepted and rejected by command type (1..4). */
  Accepted = 0,
  Rejected = 8,
  /** WAL thread. */
  WalFsyncs = 16,
  WalRecords = 17,
  DurableSeq = 18,
  RecordsPerFsyncSum = 19,
  FsyncLatencySumMs = 20,
  RecordsPerFsyncBuckets = 32,
  FsyncLatencyBuckets = 48,
  Total = 64,
}

export class SharedCounters {
  readonly buffer: SharedArrayBuffer;
  private readonly values: Float64Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(Slot.Total * 8)) {
    this.buffer = buffer;
    this.values = new Float64Array(buffer);
  }

  countAccepted(commandType: number): void {
    this.values[Slot.Accepted + commandType]! += 1;
  }

  countRejected(commandType: number): void {
    this.values[Slot.Rejected + commandType]! += 1;
  }

  accepted(commandType: number): number {
    return this.values[Slot.Accepted + commandType]!;
  }

  rejected(commandType: number): number {
    return this.values[Slot.Rejected + commandType]!;
  }

  recordFsync(records: number, latencyMs: number, durableSeq: number): void {
    const values = this.values;
    values[Slot.WalFsyncs]! += 1;
    values[Slot.WalRecords]! += records;
    values[Slot.RecordsPerFsyncSum]! += records;
    values[Slot.FsyncLatencySumMs]! += latencyMs;
    values[Slot.RecordsPerFsyncBuckets + bucketOf(RECORDS_PER_FSYNC_BOUNDS, records)]! += 1;
    values[Slot.FsyncLatencyBuckets + bucketOf(FSYNC_LATENCY_MS_BOUNDS, latencyMs)]! += 1;
    values[Slot.DurableSeq] = durableSeq;
  }

  setDurableSeq(seq: number): void {
    this.values[Slot.DurableSeq] = seq;
  }

  get durableSeq(): number {
    return this.values[Slot.DurableSeq]!;
  }

  get walFsyncs(): number {
    return this.values[Slot.WalFsyncs]!;
  }

  get walRecords(): number {
    return this.values[Slot.WalRecords]!;
  }

  recordsPerFsync(): { bounds: readonly number[]; counts: number[]; sum: number; count: number } {
    return this.histogram(RECORDS_PER_FSYNC_BOUNDS, Slot.RecordsPerFsyncBuckets, Slot.RecordsPerFsyncSum);
  }

  fsyncLatencyMs(): { bounds: readonly number[]; counts: number[]; sum: number; count: number } {
    return this.histogram(FSYNC_LATENCY_MS_BOUNDS, Slot.FsyncLatencyBuckets, Slot.FsyncLatencySumMs);
  }

  private histogram(bounds: readonly number[], first: number, sumSlot: number) {
    const counts = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => this.values[first + i]!);
    return { bounds, counts, sum: this.values[sumSlot]!, count: this.values[Slot.WalFsyncs]! };
  }
}

export function bucketOf(bounds: readonly number[], value: number): number {
  for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) return i;
  return bounds.length;
}
