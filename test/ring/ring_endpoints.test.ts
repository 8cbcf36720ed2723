/**
 * Ring endpoints: an Inbox wakes its producer's thread on release only when the ring was full
 * before the release (the only time a producer waits for room), never for an ordinary release.
 */
import { describe, expect, it } from 'vitest';
import { Doorbell } from '../../src/ring/doorbell.ts';
import { Inbox } from '../../src/ring/ring_endpoints.ts';
import { SpscRing } from '../../src/ring/spsc_ring.ts';

/** The doorbell's words as the sleeper sees them: [0] = sleeping flag, [16] = wake counter. */
function sleepingDoorbell(): { doorbell: Doorbell; wakes: () => number } {
  const doorbell = Doorbell.create();
  const words = new Int32Array(doorbell.buffer);
  Atomics.store(words, 0, 1); // the producer thread announced that it sleeps
  return { doorbell, wakes: () => Atomics.load(words, 16) };
}

describe('Inbox.release', () => {
  it('rings the producer only when the ring was full before the release', () => {
    const producer = SpscRing.create(4, 16);
    const { doorbell, wakes } = sleepingDoorbell();
    const inbox = new Inbox(SpscRing.attach(producer.buffer), doorbell);
    for (let i = 0; i < 3; i++) producer.claim();
    producer.publish();
    expect(inbox.available()).toBe(3);
    inbox.release(3);
    expect(wakes()).toBe(0);
    for (let i = 0; i < 4; i++) expect(producer.claim()).toBeGreaterThanOrEqual(0);
    expect(producer.claim()).toBe(-1);
    producer.publish();
    expect(inbox.available()).toBe(4);
    inbox.release(1);
    expect(wakes()).toBe(1);
    inbox.release(0);
    inbox.release(3);
    expect(wakes()).toBe(1);
  });
});
