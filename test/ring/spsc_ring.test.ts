/**
 * Single-thread behaviour of the SPSC ring: layout validation, full and empty, batch publication,
 * wrap-around of the slots and of the 32-bit counters, and the bounded waits.
 */
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import { RING_CAPACITY_MAX, RING_HEADER_BYTES, SpscRing } from '../../src/ring/spsc_ring.ts';

/** Producer and consumer are two SpscRing objects over one buffer, as in two threads. */
function pair(capacity: number, slotBytes: number, startIndex = 0): { producer: SpscRing; consumer: SpscRing } {
  const producer = SpscRing.create(capacity, slotBytes, { startIndex, spinIterations: 0 });
  const consumer = SpscRing.attach(producer.buffer, { spinIterations: 0 });
  return { producer, consumer };
}

function write(ring: SpscRing, value: number): boolean {
  const offset = ring.claim();
  if (offset < 0) return false;
  ring.f64[offset >>> 3] = value;
  ring.f64[(offset + ring.slotBytes - 8) >>> 3] = -value; // the slot's last word too
  return true;
}

/** Reads and releases everything available; a slot whose last word disagrees reads as NaN. */
function readAll(ring: SpscRing): number[] {
  const count = ring.available();
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    const offset = ring.readOffset(i);
    const value = ring.f64[offset >>> 3] ?? NaN;
    values.push(ring.f64[(offset + ring.slotBytes - 8) >>> 3] === -value ? value : NaN);
  }
  ring.release(count);
  return values;
}

describe('SpscRing layout', () => {
  it('rejects a capacity that is not a power of two, and slot sizes that are not multiples of 8', () => {
    for (const capacity of [0, 3, 6, 100, -4, 1.5, RING_CAPACITY_MAX * 2]) {
      expect(() => SpscRing.create(capacity, 64)).toThrow(InvariantError);
    }
    for (const slotBytes of [0, 4, 12, 65, 8.5]) {
      expect(() => SpscRing.create(8, slotBytes)).toThrow(InvariantError);
    }
    expect(() => SpscRing.create(8, 64, { startIndex: 2 ** 31 })).toThrow(InvariantError);
    expect(() => SpscRing.create(8, 64, { spinIterations: -1 })).toThrow(InvariantError);
  });

  it('puts the header first and attaches to the same memory', () => {
    const ring = SpscRing.create(16, 128);
    expect(ring.buffer.byteLength).toBe(RING_HEADER_BYTES + 16 * 128);
    expect(ring.capacity).toBe(16);
    expect(ring.slotBytes).toBe(128);
    expect(ring.bytes.byteOffset).toBe(RING_HEADER_BYTES);
    expect(ring.f64.length).toBe((16 * 128) / 8);
    const other = SpscRing.attach(ring.buffer);
    expect(other.capacity).toBe(16);
    expect(other.slotBytes).toBe(128);
    expect(other.f64.buffer).toBe(ring.f64.buffer);
  });

  it('refuses to attach to memory that is not a ring', () => {
    expect(() => SpscRing.attach(new SharedArrayBuffer(RING_HEADER_BYTES + 1024))).toThrow(/magic/);
    expect(() => SpscRing.attach(new SharedArrayBuffer(16))).toThrow(InvariantError);
    const ring = SpscRing.create(8, 64);
    const truncated = new SharedArrayBuffer(ring.buffer.byteLength - 64);
    new Uint8Array(truncated).set(new Uint8Array(ring.buffer, 0, truncated.byteLength));
    expect(() => SpscRing.attach(truncated)).toThrow(/size/);
  });
});

describe('SpscRing producer and consumer', () => {
  it('is empty at first, fills up to its capacity, refuses the next claim, then empties', () => {
    const { producer, consumer } = pair(8, 64);
    expect(consumer.available()).toBe(0);
    expect(producer.freeSlots()).toBe(8);
    for (let i = 0; i < 8; i++) expect(write(producer, i + 1)).toBe(true);
    expect(producer.claim()).toBe(-1);
    expect(producer.freeSlots()).toBe(0);
    expect(producer.publish()).toBe(8);
    expect(producer.size()).toBe(8);
    expect(producer.claim()).toBe(-1);
    expect(readAll(consumer)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(consumer.available()).toBe(0);
    expect(producer.size()).toBe(0);
    expect(producer.freeSlots()).toBe(8);
  });

  it('shows a batch to the consumer only when it is published, all at once and in order', () => {
    const { producer, consumer } = pair(16, 32);
    for (let i = 0; i < 5; i++) write(producer, 100 + i);
    expect(producer.claimedSlots()).toBe(5);
    expect(consumer.available()).toBe(0);
    expect(producer.size()).toBe(0);
    expect(producer.freeSlots()).toBe(11);
    expect(producer.publish()).toBe(5);
    expect(producer.publish()).toBe(0);
    expect(producer.claimedSlots()).toBe(0);
    expect(consumer.available()).toBe(5);
    expect(readAll(consumer)).toEqual([100, 101, 102, 103, 104]);
  });

  it('releases part of what is available and keeps the rest in order', () => {
    const { producer, consumer } = pair(8, 16);
    for (let i = 0; i < 6; i++) write(producer, i);
    producer.publish();
    expect(consumer.available()).toBe(6);
    consumer.release(2);
    expect(consumer.available()).toBe(4);
    expect(consumer.f64[consumer.readOffset(0) >>> 3]).toBe(2);
    expect(producer.freeSlots()).toBe(4);
    expect(readAll(consumer)).toEqual([2, 3, 4, 5]);
  });

  it('tells after a release whether the ring was full just before it, also across the counter wrap', () => {
    for (const startIndex of [0, 0x7ffffffe, -2]) {
      const { producer, consumer } = pair(4, 16, startIndex);
      for (let i = 0; i < 3; i++) write(producer, i);
      producer.publish();
      expect(consumer.available()).toBe(3);
      consumer.release(1);
      expect(consumer.wasFullBeforeRelease(1)).toBe(false);
      for (let i = 3; i < 5; i++) write(producer, i);
      producer.publish(); // full: 4 of 4
      expect(consumer.available()).toBe(4);
      consumer.release(2);
      expect(consumer.wasFullBeforeRelease(2)).toBe(true);
      // The producer refilled the ring between the consumer's last available() and this release.
      for (let i = 5; i < 7; i++) write(producer, i);
      producer.publish();
      consumer.release(1);
      expect(consumer.wasFullBeforeRelease(1)).toBe(true);
      expect(readAll(consumer)).toEqual([4, 5, 6]);
    }
  });

  it('refuses to read or release beyond what it has seen available', () => {
    const { producer, consumer } = pair(8, 16);
    write(producer, 1);
    expect(consumer.available()).toBe(0);
    expect(() => consumer.readOffset(0)).toThrow(InvariantError);
    producer.publish();
    expect(consumer.available()).toBe(1);
    expect(() => consumer.readOffset(1)).toThrow(InvariantError);
    expect(() => consumer.release(2)).toThrow(InvariantError);
    expect(() => consumer.readOffset(-1)).toThrow(InvariantError);
    consumer.release(1);
  });

  it('unclaims the last unpublished claim only', () => {
    const { producer, consumer } = pair(4, 16);
    write(producer, 1);
    write(producer, 2);
    producer.unclaim();
    expect(producer.claimedSlots()).toBe(1);
    write(producer, 3);
    producer.publish();
    expect(() => producer.unclaim()).toThrow(InvariantError);
    expect(readAll(consumer)).toEqual([1, 3]);
  });

  it('wraps around its slots many times without losing or reordering anything', () => {
    const { producer, consumer } = pair(8, 24);
    let next = 0;
    let expected = 0;
    let mismatches = 0;
    let seed = 12345;
    const check = (values: number[]): void => {
      for (const value of values) if (value !== expected++) mismatches++;
    };
    for (let round = 0; round < 5_000; round++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const batch = seed % 9; // 0..8
      for (let i = 0; i < batch && write(producer, next); i++) next++;
      producer.publish();
      if ((seed & 0x300) !== 0) check(readAll(consumer));
    }
    check(readAll(consumer));
    expect(mismatches).toBe(0);
    expect(expected).toBe(next);
    expect(next).toBeGreaterThan(8 * 1_000);
  });

  it.each([
    ['2^31', 2 ** 31 - 5],
    ['2^32', -5],
  ])('keeps counting correctly across the int32 counter wrap at %s', (_name, startIndex) => {
    const { producer, consumer } = pair(4, 16, startIndex | 0);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 20; round++) {
      while (write(producer, next)) next++;
      expect(producer.freeSlots()).toBe(0);
      producer.publish();
      expect(consumer.available()).toBe(4);
      expect(consumer.size()).toBe(4);
      const values = readAll(consumer);
      expect(values).toEqual([expected, expected + 1, expected + 2, expected + 3]);
      expected += 4;
    }
    expect(expected).toBe(80);
  });
});

describe('SpscRing waits', () => {
  it('returns at once when data is there, and 0 after the timeout when none comes', () => {
    const { producer, consumer } = pair(4, 16);
    expect(consumer.waitForData(5)).toBe(0);
    expect(consumer.consumerSleeps).toBe(1);
    write(producer, 7);
    producer.publish();
    expect(consumer.waitForData(1_000)).toBe(1);
    expect(consumer.consumerSleeps).toBe(1);
  });

  it('returns free space at once, and less than wanted after the timeout when the ring stays full', () => {
    const { producer } = pair(4, 16);
    expect(producer.waitForSpace(1_000, 4)).toBe(4);
    write(producer, 1);
    write(producer, 2);
    expect(producer.waitForSpace(5, 3)).toBe(2);
    expect(producer.claimedSlots()).toBe(0); // published before sleeping
    expect(producer.producerSleeps).toBeGreaterThanOrEqual(1);
    expect(() => producer.waitForSpace(5, 5)).toThrow(InvariantError);
  });

  it('resolves the async wait when data is published and after a timeout', async () => {
    const { producer, consumer } = pair(4, 16);
    expect(await consumer.waitForDataAsync(5)).toBe(0);
    const pending = consumer.waitForDataAsync(10_000);
    expect(() => consumer.waitForDataAsync(10)).toThrow(/already pending/);
    write(producer, 1);
    producer.publish();
    expect(await pending).toBe(1);
    expect(readAll(consumer)).toEqual([1]);
  });
});
