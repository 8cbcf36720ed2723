/**
 * Test thread that wakes the ring's consumer without publishing anything (as a stale notify from
 * an earlier publish would), several times, and only then publishes one message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SpscRing } from '../../src/ring/spsc_ring.ts';

/** The tail counter's Int32 index in the ring header (bytes 128..255, documented in spsc_ring.ts). */
const TAIL_WORD = 128 / 4;
const STRAY_NOTIFIES = 5;

const ring = SpscRing.attach((workerData as { ringBuffer: SharedArrayBuffer }).ringBuffer);
const header = new Int32Array(ring.buffer, 0, TAIL_WORD + 1);
const pause = new Int32Array(new SharedArrayBuffer(4));
let woken = 0;
for (let i = 0; i < STRAY_NOTIFIES; i++) {
  Atomics.wait(pause, 0, 0, 20);
  woken += Atomics.notify(header, TAIL_WORD, 1);
}
const offset = ring.claim();
ring.f64[offset >>> 3] = 42;
ring.publish();
parentPort?.postMessage({ woken });
