/**
 * Test producer thread: sends `count` numbered messages through the ring in seeded random
 * batches, pausing and waiting for the consumer at random so that both sleep paths run often.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SpscRing } from '../../src/ring/spsc_ring.ts';
import type { ProducerReport, ProducerWorkerData } from './ring_test_protocol.ts';
import { STATUS_CONSUMER_GAVE_UP, STATUS_PRODUCER_FAILED, TIMEOUTS_MAX, busySpin, createRandom, nextChecksum, writeMessage } from './ring_test_protocol.ts';

function produce(data: ProducerWorkerData): ProducerReport {
  const ring = SpscRing.attach(data.ringBuffer, { spinIterations: data.spinIterations });
  const random = createRandom(data.seed);
  const status = new Int32Array(data.statusBuffer);
  let seq = 0;
  let checksum = 0;
  let timeouts = 0;
  let sink = 0;
  const stopped = (): boolean => timeouts >= TIMEOUTS_MAX || Atomics.load(status, STATUS_CONSUMER_GAVE_UP) !== 0;
  while (seq < data.count && !stopped()) {
    const batch = Math.min(1 + Math.floor(random() * data.batchMax), data.count - seq);
    for (let i = 0; i < batch; i++) {
      let offset = ring.claim();
      while (offset < 0 && !stopped()) {
        if (ring.waitForSpace(data.waitTimeoutMs) === 0) timeouts++;
        offset = ring.claim();
      }
      if (offset < 0) break;
      checksum = nextChecksum(checksum, writeMessage(ring, offset, seq));
      seq++;
    }
    ring.publish();
    if (data.pauseChance > 0 && random() < data.pauseChance) sink += busySpin(Math.floor(random() * data.pauseSpinMax));
    if (data.drainChance > 0 && random() < data.drainChance) {
      if (ring.waitForSpace(data.waitTimeoutMs, ring.capacity) < ring.capacity) timeouts++;
    }
  }
  ring.publish();
  if (sink === 0.5) timeouts = -1; // keeps the busy pauses from being optimised away
  return { type: 'done', sent: seq, checksum, timeouts, producerSleeps: ring.producerSleeps };
}

const data = workerData as ProducerWorkerData;
try {
  parentPort?.postMessage({ type: 'ready' });
  parentPort?.postMessage(produce(data));
} catch (error) {
  Atomics.store(new Int32Array(data.statusBuffer), STATUS_PRODUCER_FAILED, 1);
  throw error;
}
