/**
 * What the cross-thread ring tests agree on: the message each slot carries (a sequence number, a
 * payload derived from it, and the sequence number again in the slot's last word), a seeded
 * random generator, and the worker's parameters and report.
 */
import type { SpscRing } from '../../src/ring/spsc_ring.ts';

export interface ProducerWorkerData {
  ringBuffer: SharedArrayBuffer;
  /**
   * Int32 words: [STATUS_PRODUCER_FAILED] = 1 when the worker failed (a blocked consumer cannot see
   * its messages); [STATUS_CONSUMER_GAVE_UP] = 1 when the consumer stopped, so the producer stops too.
   */
  statusBuffer: SharedArrayBuffer;
  count: number;
  seed: number;
  /** Messages per publish: uniformly 1..batchMax. */
  batchMax: number;
  /** After a publish: chance of a busy pause of 0..pauseSpinMax iterations. */
  pauseChance: number;
  pauseSpinMax: number;
  /** After a publish: chance of waiting until the consumer has emptied the ring (a ping-pong). */
  drainChance: number;
  waitTimeoutMs: number;
  spinIterations: number;
}

export interface ProducerReport {
  type: 'done';
  sent: number;
  checksum: number;
  timeouts: number;
  producerSleeps: number;
}

export const STATUS_PRODUCER_FAILED = 0;
export const STATUS_CONSUMER_GAVE_UP = 1;
export const STATUS_WORDS = 2;
/** Timed-out waits either side tolerates before it gives up (each one is a lost wake-up). */
export const TIMEOUTS_MAX = 2;

/** A cheap 32-bit mix of the sequence number, so a misplaced slot cannot carry the right payload. */
export function payloadOf(seq: number): number {
  let x = Math.imul(seq ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  return Math.imul(x, 0xc2b2ae35) >>> 0;
}

export function nextChecksum(checksum: number, payload: number): number {
  return (Math.imul(checksum, 31) + payload) | 0;
}

/** mulberry32: seeded, so a failing run can be replayed. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function busySpin(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x + i) | 0;
  return x;
}

export function writeMessage(ring: SpscRing, offset: number, seq: number): number {
  const payload = payloadOf(seq);
  ring.f64[offset >>> 3] = seq;
  ring.u32[(offset >>> 2) + 2] = payload;
  ring.f64[(offset + ring.slotBytes - 8) >>> 3] = seq;
  return payload;
}

export interface ConsumerResult {
  received: number;
  checksum: number;
  /** Slots whose seq, payload or last word was not what the order of arrival requires. */
  errors: number;
  timeouts: number;
}

/** Checks the slot against the next expected seq; returns its payload, or -1 when it is wrong. */
export function checkMessage(ring: SpscRing, offset: number, expectedSeq: number): number {
  const payload = ring.u32[(offset >>> 2) + 2] ?? -1;
  if (ring.f64[offset >>> 3] !== expectedSeq) return -1;
  if (ring.f64[(offset + ring.slotBytes - 8) >>> 3] !== expectedSeq) return -1;
  if (payload !== payloadOf(expectedSeq)) return -1;
  return payload;
}
