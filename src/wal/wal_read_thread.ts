/**
 * Parallel WAL reading for recovery and replay: a worker thread reads the segments and verifies
 * them (lengths, the CRC chain, gap-free seqs, every body: the very scanner of wal_reader.ts),
 * and hands each record, decoded, over a preallocated SharedArrayBuffer SPSC ring (src/ring) to the
 * thread that applies it. On two cores the wall time of a replay approaches max(read, apply)
 * instead of their sum.
 *
 * Nothing about the scan changes: the worker runs `scanWal` with the same options, and the
 * `WalScan` it returns (fault, torn tail, snapshot mismatch, segments) is handed back whole, so
 * recovery (recovery.ts) and replay (wal_reader.ts `readRecords`) decide exactly as they do with an
 * inline scan; only the delivery of records crosses a thread. Read-only: cutting a torn tail or a
 * repair stays on the caller's thread, after the scan, as before.
 *
 * The worker takes some 40-150 ms to start (a thread, its modules). The caller does not wait for
 * it: it scans inline meanwhile and hands over at a record boundary once the worker is ready
 * (`scan`), so a replay gains from the thread from its first milliseconds and never loses to it.
 *
 * Protocol (one scan at a time, the caller's thread blocks while it consumes):
 * - the caller posts a request (options without callbacks) on a MessagePort;
 * - the worker publishes every record as a record slot (record_slot.ts, tagged with the request's
 *   id), in batches; then it posts its result (the WalScan, or the error it met) on the port, and
 *   only then publishes an end slot (the request, the last seq delivered): the result is waiting on the port
 *   when the caller sees the end, and the caller takes it with `receiveMessageOnPort`;
 * - the caller checks every record's seq (+1 each, the pair of the worker's check), the end's
 *   requestId and seq, and the record count.
 * Waits are bounded: a worker that stops making progress is an error, never a hang; one that never
 * starts is never waited for.
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { InvariantError, assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import { createCommand } from '../domain/commands.ts';
import { SpscRing } from '../ring/spsc_ring.ts';
import { nodeFileLayer } from './file_layer.ts';
import { RECORD_SLOT_BYTES, SLOT_END, decodeRecordSlot, endSlotSeq, slotTag } from './record_slot.ts';
import type { ScanOptions, WalScan } from './wal_reader.ts';
import { continuationOf, joinScans, scanWal } from './wal_reader.ts';
import { startBundleWorker } from '../boot/source_bundle.mjs';

/** Slots of the record ring: 2 MiB of shared memory, enough for the reader to stay well ahead. */
export const WAL_READ_RING_CAPACITY = 16_384;
/** Records the worker writes before it publishes them with one store (and at most one wake-up). */
export const WAL_READ_PUBLISH_BATCH = 256;
/**
 * While the worker starts (some 40-150 ms), the caller scans inline and asks whether it is ready
 * every this many records (a few ms of replay), then hands the rest of the scan over to it.
 */
export const HANDOVER_CHECK_RECORDS = 4096;
/** How long the caller waits without a single new record before it declares the worker stuck. */
const WAL_READ_STALL_TIMEOUT_MS = 60_000;
/** One sleep of the caller on the ring; between sleeps it checks the deadlines. */
const WAIT_SLICE_MS = 100;

assert(WAL_READ_PUBLISH_BATCH < WAL_READ_RING_CAPACITY, 'wal read thread: a publish batch fits the ring');

/** Words of the control memory shared with the worker. */
export const ReadControl = { State: 0, Cancel: 1, Words: 2 } as const;
export const ReadState = { Starting: 0, Ready: 1, Failed: 2 } as const;

export interface WalReadWorkerData {
  ring: SharedArrayBuffer;
  control: SharedArrayBuffer;
  port: MessagePort;
}

/** What crosses to the worker: the scan options that are data (no callbacks, no file layer). */
export interface WalReadRequest {
  requestId: number;
  dataDir: string;
  toSeq?: number;
  chunkBytes?: number;
  afterSnapshot?: ScanOptions['afterSnapshot'];
}

export type WalReadResult =
  | { requestId: number; ok: true; scan: WalScan }
  | { requestId: number; ok: false; name: string; message: string; stack: string };

export class WalReadThread {
  private readonly worker: Worker;
  private readonly ring: SpscRing;
  private readonly control: Int32Array;
  private readonly port: MessagePort;
  private readonly command = createCommand();
  private requestId = 0;
  private delivered = 0;
  private closed = false;

  private constructor(workerUrl: URL | undefined) {
    this.ring = SpscRing.create(WAL_READ_RING_CAPACITY, RECORD_SLOT_BYTES);
    const control = new SharedArrayBuffer(ReadControl.Words * Int32Array.BYTES_PER_ELEMENT);
    this.control = new Int32Array(control);
    const channel = new MessageChannel();
    this.port = channel.port1;
    const workerData: WalReadWorkerData = { ring: this.ring.buffer, control, port: channel.port2 };
    this.worker = workerUrl === undefined ? spawnReadWorker(workerData, [channel.port2]) : new Worker(workerUrl, { workerData, transferList: [channel.port2] });
    // Never keeps the process alive: it only ever works while the caller's thread waits for it.
    this.worker.unref();
    this.port.unref();
    this.worker.on('error', () => Atomics.store(this.control, ReadControl.State, ReadState.Failed));
  }

  /** Starts the worker now, so that it loads its modules while the caller does other work (a snapshot load). */
  static spawn(): WalReadThread {
    return new WalReadThread(undefined);
  }

  /** Tests: a reader whose worker runs another module (one that fails to start). */
  static spawnForTest(workerUrl: URL): WalReadThread {
    return new WalReadThread(workerUrl);
  }

  /**
   * `scanWal(dataDir, options)` with the reading and verifying in the worker: `onRecord` is called
   * here, on the caller's thread, with every record in seq order (one reused Command). Throws what
   * the scan threw; an exception of `onRecord` ends the worker and is rethrown.
   *
   * Never waits for the worker to start: until it is ready, this thread scans inline, and hands
   * over to the worker at the first record boundary after it is (asked every HANDOVER_CHECK_RECORDS
   * records); the worker goes on from right after that record (`continuationOf`), and the two parts
   * are joined into the one scan the inline reader would have returned (`joinScans`). A worker
   * that never starts costs nothing but its spawn: the whole scan is then inline.
   */
  scan(dataDir: string, options: ScanOptions): WalScan {
    assert(!this.closed, 'WalReadThread.scan: the thread is closed');
    assert(options.fileLayer === undefined || options.fileLayer === nodeFileLayer, 'WalReadThread.scan: the worker reads through node:fs only');
    if (this.state === ReadState.Ready) return this.scanInWorker(dataDir, options);
    let head: WalScan;
    try {
      head = scanWal(dataDir, { ...options, stopWhen: (delivered) => delivered % HANDOVER_CHECK_RECORDS === 0 && this.state === ReadState.Ready });
    } catch (error) {
      this.close();
      throw error;
    }
    const toSeq = options.toSeq ?? Number.MAX_SAFE_INTEGER;
    const handedOver = head.stoppedAtToSeq && head.fault === null && head.snapshotMismatch === null && head.records > 0 && head.lastSeq < toSeq;
    if (!handedOver) return head;
    return joinScans(head, this.scanInWorker(dataDir, { ...options, afterSnapshot: continuationOf(head) }));
  }

  /** Records the worker has delivered, over all scans (0: everything was read on the caller's thread). */
  get recordsDelivered(): number {
    return this.delivered;
  }

  /** True when the worker failed to start (or died): scans are then read on the caller's thread. */
  get failed(): boolean {
    return this.state === ReadState.Failed;
  }

  private get state(): number {
    return Atomics.load(this.control, ReadControl.State);
  }

  private scanInWorker(dataDir: string, options: ScanOptions): WalScan {
    this.requestId += 1;
    const request: WalReadRequest = { requestId: this.requestId, dataDir };
    if (options.toSeq !== undefined) request.toSeq = options.toSeq;
    if (options.chunkBytes !== undefined) request.chunkBytes = options.chunkBytes;
    if (options.afterSnapshot !== undefined) request.afterSnapshot = options.afterSnapshot;
    this.port.postMessage(request);
    let ended = false;
    try {
      const delivered = this.consume(options.onRecord ?? null);
      ended = true;
      return this.result(delivered);
    } finally {
      if (!ended) this.close();
    }
  }

  /** Ends the worker (also when it is in the middle of a scan). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, ReadControl.Cancel, 1);
    this.port.close();
    void this.worker.terminate();
  }

  /** Applies records until the end of this request; returns how many were delivered. */
  private consume(onRecord: ((command: Readonly<Command>) => void) | null): { records: number; lastSeq: number } {
    const ring = this.ring;
    const command = this.command;
    const requestId = this.requestId;
    let records = 0;
    let lastSeq = 0;
    let progressAt = performance.now();
    for (;;) {
      const available = ring.waitForData(WAIT_SLICE_MS);
      if (available === 0) {
        if (Atomics.load(this.control, ReadControl.State) === ReadState.Failed) throw new Error('WAL read thread: the worker died during a scan');
        if (performance.now() - progressAt > WAL_READ_STALL_TIMEOUT_MS) {
          throw new Error(`WAL read thread: no record for ${WAL_READ_STALL_TIMEOUT_MS} ms, the worker is stuck`);
        }
        continue;
      }
      progressAt = performance.now();
      for (let index = 0; index < available; index++) {
        const offset = ring.readOffset(index);
        if (slotTag(ring, offset, requestId) === SLOT_END) {
          const endSeq = endSlotSeq(ring, offset);
          ring.release(index + 1);
          assert(index + 1 === available, 'WAL read thread: nothing follows the end of a scan');
          assert(endSeq === lastSeq, 'WAL read thread: the end names another last seq than the records delivered');
          return { records, lastSeq };
        }
        decodeRecordSlot(ring, offset, command);
        if (records !== 0 && command.seq !== lastSeq + 1) throw new InvariantError('WAL read thread: records must arrive gap-free, in seq order');
        records += 1;
        this.delivered += 1;
        lastSeq = command.seq;
        if (onRecord !== null) {
          try {
            onRecord(command);
          } catch (error) {
            ring.release(index + 1);
            throw error;
          }
        }
      }
      ring.release(available);
    }
  }

  /** The scan the worker posted right before the end; its error, rethrown here. */
  private result(delivered: { records: number; lastSeq: number }): WalScan {
    const received = receiveMessageOnPort(this.port);
    assert(received !== undefined, 'WAL read thread: the result is posted before the end is published');
    const result = received.message as WalReadResult;
    assert(result.requestId === this.requestId, 'WAL read thread: the result of another request');
    if (!result.ok) {
      const error = result.name === 'InvariantError' ? new InvariantError(result.message) : new Error(result.message);
      error.stack = result.stack;
      throw error;
    }
    const scan = result.scan;
    assert(scan.records === delivered.records, 'WAL read thread: the scan counts other records than were delivered');
    return scan;
  }
}

function spawnReadWorker(workerData: WalReadWorkerData, transferList: MessagePort[]): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  if (!fromSources) return new Worker(new URL('./wal_read_worker.js', import.meta.url), { workerData, transferList });
  // From sources: an esbuild bundle of the worker's module (src/boot/source_bundle.mjs).
  return startBundleWorker(new URL('./wal_read_worker.ts', import.meta.url), { workerData, transferList });
}
