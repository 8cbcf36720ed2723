/**
 * Cross-thread throughput of the SPSC ring: a producer worker sends numbered messages to the main
 * thread, which consumes them the way a worker stage does (drain, release, spin briefly, sleep
 * with Atomics.wait). Compared with postMessage of small objects, the transport it replaces.
 *
 *   single       claim, write 2 fields, publish: one tail store per message
 *   batched      up to 64 messages per publish (one store, at most one notify per batch)
 *   codec        batched, each message a full TradeEvent through encodeTrade/decodeTrade
 *   postMessage  one { seq, payload } object per message
 *
 * Run alone: node --import tsx bench/ring_bench.ts [--quick]
 */
import { isMainThread, Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { createTradeEvent, decodeTrade, MESSAGE_SLOT_BYTES } from '../src/ring/messages.ts';
import { SpscRing } from '../src/ring/spsc_ring.ts';
import { startBundleWorker } from '../src/boot/source_bundle.mjs';

export type RingBenchMode = 'single' | 'batched' | 'codec' | 'postMessage';

export interface RingBenchWorkerData {
  mode: RingBenchMode;
  count: number;
  batchMax: number;
  /** Absent for postMessage. */
  ringBuffer?: SharedArrayBuffer;
  /** Int32 words: [CONTROL_READY] set by the worker, [CONTROL_GO] set by the main thread. */
  controlBuffer: SharedArrayBuffer;
}

export const CONTROL_READY = 0;
export const CONTROL_GO = 1;
const CONTROL_WORDS = 2;

export interface RingBenchResult {
  /** One publish per message. */
  messagesPerSec: number;
  /** Up to BATCH_MAX messages per publish. */
  batchedMessagesPerSec: number;
  /** postMessage of one small object per message. */
  postMessagePerSec: number;
  /** Batched, every message a TradeEvent encoded and decoded by the slot codecs. */
  codecMessagesPerSec: number;
}

const RING_CAPACITY = 1024;
const BATCH_MAX = 64;
const WAIT_TIMEOUT_MS = 10_000;

function startWorker(data: RingBenchWorkerData): Worker {
  return startBundleWorker(new URL('./ring_bench_worker.ts', import.meta.url), { workerData: data });
}

function doneMessage(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    worker.on('message', (message: { done?: boolean; checksum?: number }) => {
      if (message.done === true) resolve(message.checksum ?? NaN);
    });
    worker.on('error', reject);
  });
}

/** Blocks until the worker has attached (its start-up is not part of the measurement). */
async function waitReady(control: Int32Array): Promise<void> {
  // Poll with short blocking waits, letting the event loop run in between for worker errors.
  for (let attempt = 0; Atomics.load(control, CONTROL_READY) === 0; attempt++) {
    if (attempt > 1_000) throw new Error('ring bench: worker did not start');
    Atomics.wait(control, CONTROL_READY, 0, 10);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function go(control: Int32Array): number {
  const start = performance.now();
  Atomics.store(control, CONTROL_GO, 1);
  Atomics.notify(control, CONTROL_GO);
  return start;
}

function consumeRaw(ring: SpscRing, count: number): number {
  let received = 0;
  let checksum = 0;
  while (received < count) {
    const available = ring.waitForData(WAIT_TIMEOUT_MS);
    if (available === 0) throw new Error(`ring bench: stalled after ${received} messages`);
    for (let i = 0; i < available; i++) {
      const offset = ring.readOffset(i);
      if (ring.f64[offset >>> 3] !== received) throw new Error(`ring bench: message ${received} out of order`);
      checksum = (checksum + (ring.u32[(offset >>> 2) + 2] ?? 0)) | 0;
      received++;
    }
    ring.release(available);
  }
  return checksum;
}

function consumeTrades(ring: SpscRing, count: number): number {
  const trade = createTradeEvent();
  let received = 0;
  let checksum = 0;
  while (received < count) {
    const available = ring.waitForData(WAIT_TIMEOUT_MS);
    if (available === 0) throw new Error(`ring bench: stalled after ${received} messages`);
    for (let i = 0; i < available; i++) {
      decodeTrade(ring, ring.readOffset(i), trade);
      if (trade.seq !== received) throw new Error(`ring bench: trade ${received} out of order`);
      checksum = (checksum + trade.qtySteps) | 0;
      received++;
    }
    ring.release(available);
  }
  return checksum;
}

async function measureRing(mode: 'single' | 'batched' | 'codec', count: number): Promise<number> {
  const ring = SpscRing.create(RING_CAPACITY, MESSAGE_SLOT_BYTES);
  const controlBuffer = new SharedArrayBuffer(CONTROL_WORDS * 4);
  const control = new Int32Array(controlBuffer);
  const worker = startWorker({ mode, count, batchMax: BATCH_MAX, ringBuffer: ring.buffer, controlBuffer });
  const sent = doneMessage(worker);
  try {
    await waitReady(control);
    const start = go(control);
    const checksum = mode === 'codec' ? consumeTrades(ring, count) : consumeRaw(ring, count);
    const seconds = (performance.now() - start) / 1000;
    if ((await sent) !== checksum) throw new Error(`ring bench (${mode}): checksum mismatch`);
    return count / seconds;
  } finally {
    await worker.terminate();
  }
}

async function measurePostMessage(count: number): Promise<number> {
  const controlBuffer = new SharedArrayBuffer(CONTROL_WORDS * 4);
  const control = new Int32Array(controlBuffer);
  const worker = startWorker({ mode: 'postMessage', count, batchMax: 1, controlBuffer });
  let received = 0;
  let checksum = 0;
  let end = 0;
  worker.on('message', (message: { seq?: number; payload?: number }) => {
    if (message.seq === undefined) return;
    if (message.seq !== received) throw new Error(`postMessage bench: message ${received} out of order`);
    checksum = (checksum + (message.payload ?? 0)) | 0;
    received++;
    if (received === count) end = performance.now();
  });
  const sent = doneMessage(worker);
  try {
    await waitReady(control);
    const start = go(control);
    const producerChecksum = await sent;
    while (received < count) await new Promise((resolve) => setImmediate(resolve));
    if (producerChecksum !== checksum) throw new Error('postMessage bench: checksum mismatch');
    return count / ((end - start) / 1000);
  } finally {
    await worker.terminate();
  }
}

async function best(runs: number, measure: () => Promise<number>): Promise<number> {
  let result = 0;
  for (let run = 0; run < runs; run++) result = Math.max(result, await measure());
  return result;
}

export async function benchRing(options: { quick: boolean }): Promise<RingBenchResult> {
  const ringCount = options.quick ? 2_000_000 : 10_000_000;
  const postCount = options.quick ? 200_000 : 1_000_000;
  const runs = options.quick ? 1 : 3;
  return {
    messagesPerSec: await best(runs, () => measureRing('single', ringCount)),
    batchedMessagesPerSec: await best(runs, () => measureRing('batched', ringCount)),
    codecMessagesPerSec: await best(runs, () => measureRing('codec', ringCount)),
    postMessagePerSec: await best(runs, () => measurePostMessage(postCount)),
  };
}

function format(perSec: number): string {
  return `${(perSec / 1e6).toFixed(2)}M msgs/s`;
}

const isEntryPoint = isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntryPoint) {
  const quick = process.argv.includes('--quick');
  const result = await benchRing({ quick });
  console.log(`SPSC ring, ${RING_CAPACITY} slots × ${MESSAGE_SLOT_BYTES} B, producer worker → consumer thread${quick ? ' (quick)' : ''}`);
  console.log(`  one publish per message     ${format(result.messagesPerSec)}`);
  console.log(`  batched publish (≤${BATCH_MAX})      ${format(result.batchedMessagesPerSec)}`);
  console.log(`  batched, TradeEvent codec   ${format(result.codecMessagesPerSec)}`);
  console.log(`  postMessage (small object)  ${format(result.postMessagePerSec)}`);
}
