/**
 * The WAL read worker (wal_read_thread.ts has the protocol): runs `scanWal` for each request and
 * publishes every record it delivers into the shared ring, then posts the scan's result and
 * publishes the end of the request. It only reads: nothing on disk is changed here.
 */
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { Command } from '../domain/commands.ts';
import { SpscRing } from '../ring/spsc_ring.ts';
import { encodeEndSlot, encodeRecordSlot } from './record_slot.ts';
import type { WalReadRequest, WalReadResult, WalReadWorkerData } from './wal_read_thread.ts';
import { ReadControl, ReadState, WAL_READ_PUBLISH_BATCH } from './wal_read_thread.ts';
import type { ScanOptions } from './wal_reader.ts';
import { scanWal } from './wal_reader.ts';

/** How long one wait for space lasts before the cancel flag is looked at again. */
const SPACE_WAIT_SLICE_MS = 100;

class ReadCancelled extends Error {
  override readonly name = 'ReadCancelled';
}

class RecordPublisher {
  private requestId = 0;
  private lastSeq = 0;

  constructor(
    private readonly ring: SpscRing,
    private readonly control: Int32Array,
  ) {}

  begin(requestId: number): void {
    this.requestId = requestId;
    this.lastSeq = 0;
  }

  /** Bound once: the scanner's callback for every record it delivers. */
  readonly publishRecord = (command: Readonly<Command>): void => {
    encodeRecordSlot(this.ring, this.claim(), this.requestId, command);
    this.lastSeq = command.seq;
    if (this.ring.claimedSlots() >= WAL_READ_PUBLISH_BATCH) this.ring.publish();
  };

  finish(): void {
    encodeEndSlot(this.ring, this.claim(), this.requestId, this.lastSeq);
    this.ring.publish();
  }

  private claim(): number {
    for (;;) {
      const offset = this.ring.claim();
      if (offset >= 0) return offset;
      if (Atomics.load(this.control, ReadControl.Cancel) !== 0) throw new ReadCancelled('the reader was closed');
      this.ring.waitForSpace(SPACE_WAIT_SLICE_MS);
    }
  }
}

function describe(requestId: number, error: unknown): WalReadResult {
  const cause = error instanceof Error ? error : new Error(String(error));
  return { requestId, ok: false, name: cause.name, message: cause.message, stack: cause.stack ?? '' };
}

function serve(request: WalReadRequest, publisher: RecordPublisher, port: MessagePort): void {
  publisher.begin(request.requestId);
  const options: ScanOptions = { onRecord: publisher.publishRecord };
  if (request.toSeq !== undefined) options.toSeq = request.toSeq;
  if (request.chunkBytes !== undefined) options.chunkBytes = request.chunkBytes;
  if (request.afterSnapshot !== undefined) options.afterSnapshot = request.afterSnapshot;
  let result: WalReadResult;
  try {
    result = { requestId: request.requestId, ok: true, scan: scanWal(request.dataDir, options) };
  } catch (error) {
    if (error instanceof ReadCancelled) return;
    result = describe(request.requestId, error);
  }
  // The result first: when the caller sees the end, the result is already on its port.
  port.postMessage(result);
  publisher.finish();
}

function main(data: WalReadWorkerData): void {
  const ring = SpscRing.attach(data.ring);
  const control = new Int32Array(data.control);
  const publisher = new RecordPublisher(ring, control);
  data.port.on('message', (request: WalReadRequest) => {
    try {
      serve(request, publisher, data.port);
    } catch (error) {
      if (!(error instanceof ReadCancelled)) throw error;
    }
  });
  Atomics.store(control, ReadControl.State, ReadState.Ready);
  Atomics.notify(control, ReadControl.State);
}

main(workerData as WalReadWorkerData);
