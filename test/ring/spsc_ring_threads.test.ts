/**
 * The ring across two threads: a producer worker and a consumer on the test's thread. Every
 * message is checked for its place in the sequence and its payload; the sleep/wake paths must
 * never lose a wake-up (a lost one shows up as a timed-out wait, since both sides then sleep).
 */
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SpscRing } from '../../src/ring/spsc_ring.ts';
import { spawnTsWorker } from './spawn_ts_worker.ts';
import type { ConsumerResult, ProducerReport, ProducerWorkerData } from './ring_test_protocol.ts';
import {
  STATUS_CONSUMER_GAVE_UP,
  STATUS_PRODUCER_FAILED,
  STATUS_WORDS,
  TIMEOUTS_MAX,
  busySpin,
  checkMessage,
  createRandom,
  nextChecksum,
} from './ring_test_protocol.ts';

/** Long enough that only a lost wake-up (or a wedged machine) can make a wait time out. */
const WAIT_TIMEOUT_MS = 2_000;

interface Run {
  ring: SpscRing;
  worker: Worker;
  status: Int32Array;
  report: Promise<ProducerReport>;
  exited: Promise<unknown[]>;
}

async function startProducer(ring: SpscRing, options: Partial<ProducerWorkerData> & { count: number }): Promise<Run> {
  const statusBuffer = new SharedArrayBuffer(STATUS_WORDS * 4);
  const workerData: ProducerWorkerData = {
    ringBuffer: ring.buffer,
    statusBuffer,
    seed: 1,
    batchMax: 1,
    pauseChance: 0,
    pauseSpinMax: 0,
    drainChance: 0,
    waitTimeoutMs: WAIT_TIMEOUT_MS,
    spinIterations: 256,
    ...options,
  };
  const worker = spawnTsWorker(new URL('./ring_producer_worker.ts', import.meta.url), workerData);
  const exited = once(worker, 'exit');
  const report = new Promise<ProducerReport>((resolve, reject) => {
    worker.on('message', (message: { type: string }) => {
      if (message.type === 'done') resolve(message as ProducerReport);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`producer exited with ${code} before reporting`)));
  });
  const [ready] = (await once(worker, 'message')) as [{ type: string }];
  expect(ready.type).toBe('ready');
  return { ring, worker, status: new Int32Array(statusBuffer), report, exited };
}

/** Blocking consumer (as a worker stage would run), with optional seeded pauses to fill the ring. */
function consumeBlocking(run: Run, count: number, pause?: { seed: number; chance: number; spinMax: number }): ConsumerResult {
  const { ring } = run;
  const random = createRandom(pause?.seed ?? 0);
  const result: ConsumerResult = { received: 0, checksum: 0, errors: 0, timeouts: 0 };
  let sink = 0;
  while (result.received < count) {
    const available = ring.waitForData(WAIT_TIMEOUT_MS);
    if (available === 0) {
      if (giveUp(run, result)) break;
      continue;
    }
    for (let i = 0; i < available; i++) {
      const payload = checkMessage(ring, ring.readOffset(i), result.received);
      if (payload < 0) result.errors++;
      else result.checksum = nextChecksum(result.checksum, payload);
      result.received++;
    }
    ring.release(available);
    if (pause !== undefined && random() < pause.chance) sink += busySpin(Math.floor(random() * pause.spinMax));
  }
  if (sink === 0.5) result.errors = -1; // keeps the pauses from being optimised away
  return result;
}

async function consumeAsync(run: Run, count: number): Promise<ConsumerResult> {
  const { ring } = run;
  const result: ConsumerResult = { received: 0, checksum: 0, errors: 0, timeouts: 0 };
  while (result.received < count) {
    const available = await ring.waitForDataAsync(WAIT_TIMEOUT_MS);
    if (available === 0) {
      if (giveUp(run, result)) break;
      continue;
    }
    for (let i = 0; i < available; i++) {
      const payload = checkMessage(ring, ring.readOffset(i), result.received);
      if (payload < 0) result.errors++;
      else result.checksum = nextChecksum(result.checksum, payload);
      result.received++;
    }
    ring.release(available);
  }
  return result;
}

/** A timed-out wait means a lost wake-up: after TIMEOUTS_MAX of them, stop both sides. */
function giveUp(run: Run, result: ConsumerResult): boolean {
  result.timeouts++;
  if (Atomics.load(run.status, STATUS_PRODUCER_FAILED) === 0 && result.timeouts < TIMEOUTS_MAX) return false;
  Atomics.store(run.status, STATUS_CONSUMER_GAVE_UP, 1);
  return true;
}

async function expectAllDelivered(run: Run, result: ConsumerResult, count: number): Promise<ProducerReport> {
  let report: ProducerReport;
  try {
    report = await run.report;
    await run.exited;
  } finally {
    await run.worker.terminate();
  }
  expect(result.errors).toBe(0);
  expect(result.timeouts).toBe(0);
  expect(report.timeouts).toBe(0);
  expect(report.sent).toBe(count);
  expect(result.received).toBe(count);
  expect(result.checksum).toBe(report.checksum);
  expect(run.ring.size()).toBe(0);
  return report;
}

describe('SpscRing across threads', { timeout: 60_000 }, () => {
  it('delivers 5M messages published one by one, in order and intact', async () => {
    const count = 5_000_000;
    const ring = SpscRing.create(1024, 128);
    const run = await startProducer(ring, { count });
    const result = consumeBlocking(run, count);
    await expectAllDelivered(run, result, count);
  });

  it('delivers 5M messages published in random batches of up to 64', async () => {
    const count = 5_000_000;
    const ring = SpscRing.create(1024, 128);
    const run = await startProducer(ring, { count, seed: 7, batchMax: 64 });
    const result = consumeBlocking(run, count);
    await expectAllDelivered(run, result, count);
  });

  it('never loses a wake-up when producer and consumer keep falling asleep on each other', async () => {
    // Small random batches, random pauses on both sides, and often a full round trip (the producer
    // waits until the consumer has emptied the ring): with no spinning, each side goes to sleep
    // right as the other is about to wake it. A lost wake-up leaves both asleep: a timed-out wait.
    const count = 200_000;
    const ring = SpscRing.create(64, 64, { spinIterations: 0 });
    const run = await startProducer(ring, {
      count,
      seed: 42,
      batchMax: 4,
      pauseChance: 0.3,
      pauseSpinMax: 2_000,
      drainChance: 0.5,
      spinIterations: 0,
    });
    const result = consumeBlocking(run, count, { seed: 43, chance: 0.5, spinMax: 2_000 });
    const report = await expectAllDelivered(run, result, count);
    // Both sleep paths really ran, many times over.
    expect(ring.consumerSleeps).toBeGreaterThan(5_000);
    expect(report.producerSleeps).toBeGreaterThan(5_000);
  });

  it('makes a producer wait for space in a tiny ring and loses nothing', async () => {
    const count = 200_000;
    const ring = SpscRing.create(2, 24, { spinIterations: 0 });
    const run = await startProducer(ring, { count, seed: 3, batchMax: 5, spinIterations: 0 });
    const result = consumeBlocking(run, count, { seed: 9, chance: 0.2, spinMax: 20_000 });
    const report = await expectAllDelivered(run, result, count);
    expect(report.producerSleeps).toBeGreaterThan(1_000);
  });

  it('feeds an async consumer on the event loop (Atomics.waitAsync)', async () => {
    const count = 300_000;
    const ring = SpscRing.create(256, 128);
    const run = await startProducer(ring, { count, seed: 11, batchMax: 16, pauseChance: 0.05, pauseSpinMax: 200_000 });
    const result = await consumeAsync(run, count);
    await expectAllDelivered(run, result, count);
    expect(ring.consumerSleeps).toBeGreaterThan(100);
  });

  it.each(['blocking', 'async'] as const)(
    'keeps waiting through wake-ups that bring no data (a stale notify is not a timeout): %s',
    async (mode) => {
      const ring = SpscRing.create(4, 16, { spinIterations: 0 });
      const worker = spawnTsWorker(new URL('./stray_notify_worker.ts', import.meta.url), { ringBuffer: ring.buffer });
      const report = once(worker, 'message') as Promise<[{ woken: number }]>;
      try {
        const available = mode === 'blocking' ? ring.waitForData(10_000) : await ring.waitForDataAsync(10_000);
        expect(available).toBe(1);
        expect(ring.f64[ring.readOffset(0) >>> 3]).toBe(42);
        const [{ woken }] = await report;
        expect(woken).toBeGreaterThan(0); // the consumer really was woken with nothing to read
        expect(ring.consumerSleeps).toBeGreaterThanOrEqual(woken);
      } finally {
        await worker.terminate();
      }
    },
  );
});
