/**
 * Producer thread of bench/ring_bench.ts: attaches to the ring, says it is ready, waits for the
 * start signal, then sends `count` messages the way the mode says and reports its checksum.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TradeEvent } from '../src/domain/events.ts';
import { createTradeEvent, encodeTrade } from '../src/ring/messages.ts';
import { SpscRing } from '../src/ring/spsc_ring.ts';
import type { RingBenchWorkerData } from './ring_bench.ts';
import { CONTROL_GO, CONTROL_READY } from './ring_bench.ts';

const WAIT_TIMEOUT_MS = 10_000;

function waitForGo(control: Int32Array): void {
  Atomics.store(control, CONTROL_READY, 1);
  Atomics.notify(control, CONTROL_READY);
  while (Atomics.load(control, CONTROL_GO) === 0) Atomics.wait(control, CONTROL_GO, 0, WAIT_TIMEOUT_MS);
}

/** Claims a slot, waiting for space when the ring is full (the space-wait path publishes first). */
function claim(ring: SpscRing): number {
  let offset = ring.claim();
  while (offset < 0) {
    ring.waitForSpace(WAIT_TIMEOUT_MS);
    offset = ring.claim();
  }
  return offset;
}

function produceRaw(ring: SpscRing, count: number, batchMax: number): number {
  const { f64, u32 } = ring;
  let checksum = 0;
  let seq = 0;
  while (seq < count) {
    const end = Math.min(seq + batchMax, count);
    for (; seq < end; seq++) {
      const offset = claim(ring);
      const payload = seq & 0xffff;
      f64[offset >>> 3] = seq;
      u32[(offset >>> 2) + 2] = payload;
      checksum = (checksum + payload) | 0;
    }
    ring.publish();
  }
  return checksum;
}

function produceTrades(ring: SpscRing, count: number, batchMax: number): number {
  const trade: TradeEvent = createTradeEvent();
  trade.marketId = 1;
  trade.takerAccountId = 7;
  trade.makerAccountId = 9;
  let checksum = 0;
  let seq = 0;
  while (seq < count) {
    const end = Math.min(seq + batchMax, count);
    for (; seq < end; seq++) {
      trade.tradeId = seq;
      trade.seq = seq;
      trade.priceTicks = 5_000_000 + (seq & 0xff);
      trade.qtySteps = seq & 0xffff;
      encodeTrade(ring, claim(ring), trade);
      checksum = (checksum + trade.qtySteps) | 0;
    }
    ring.publish();
  }
  return checksum;
}

function producePostMessage(count: number): number {
  let checksum = 0;
  for (let seq = 0; seq < count; seq++) {
    const payload = seq & 0xffff;
    parentPort?.postMessage({ seq, payload });
    checksum = (checksum + payload) | 0;
  }
  return checksum;
}

function run(data: RingBenchWorkerData): number {
  const control = new Int32Array(data.controlBuffer);
  if (data.mode === 'postMessage') {
    waitForGo(control);
    return producePostMessage(data.count);
  }
  if (data.ringBuffer === undefined) throw new Error('ring bench worker: ringBuffer is required');
  const ring = SpscRing.attach(data.ringBuffer);
  waitForGo(control);
  if (data.mode === 'codec') return produceTrades(ring, data.count, data.batchMax);
  return produceRaw(ring, data.count, data.mode === 'single' ? 1 : data.batchMax);
}

const data = workerData as RingBenchWorkerData;
const checksum = run(data);
parentPort?.postMessage({ done: true, checksum });
