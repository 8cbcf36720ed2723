/**
 * A per-thread doorbell in shared memory. A thread that runs several stages has several input
 * rings (and output rings it may be waiting to drain), and Atomics.wait can watch one address
 * only, so every ring endpoint rings the doorbell of the thread on its other side.
 *
 * Free of lost wake-ups: the sleeper reads the wake counter, sets its own `sleeping` flag
 * (only the sleeper ever sets or clears it), re-checks for work, then waits *on the counter value
 * it read*. A producer publishes first, then looks at the flag and, if set, bumps the counter and
 * notifies. Either the sleeper's re-check sees the publication, or the producer sees the flag and
 * the bumped counter makes the wait return at once, even if the notify came before the wait.
 */
import { assert } from '../domain/assert.ts';

// Node 20 has Atomics.waitAsync, but lib ES2022 (tsconfig) does not declare it.
type WaitAsyncResult = { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number, t: number) => WaitAsyncResult })
  .waitAsync;
assert(typeof waitAsync === 'function', 'doorbell: this Node.js has no Atomics.waitAsync');

const SLEEPING = 0;
const COUNTER = 16; // its own 64-byte line
export const DOORBELL_BYTES = 128;

export class Doorbell {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;

  private constructor(buffer: SharedArrayBuffer) {
    assert(buffer.byteLength === DOORBELL_BYTES, 'doorbell: wrong buffer size');
    this.buffer = buffer;
    this.words = new Int32Array(buffer);
  }

  static create(): Doorbell {
    return new Doorbell(new SharedArrayBuffer(DOORBELL_BYTES));
  }

  static attach(buffer: SharedArrayBuffer): Doorbell {
    return new Doorbell(buffer);
  }

  /** Producer side: call after publishing (or after freeing space the other side may wait for). */
  ring(): void {
    if (Atomics.load(this.words, SLEEPING) !== 0) {
      Atomics.add(this.words, COUNTER, 1);
      Atomics.notify(this.words, COUNTER);
    }
  }

  /** Wakes the sleeper whether or not it announced sleep (stop requests, rare events). */
  ringAlways(): void {
    Atomics.add(this.words, COUNTER, 1);
    Atomics.notify(this.words, COUNTER);
  }

  /** Sleeper side, blocking (workers). `hasWork` is re-checked after the flag is set. */
  sleep(hasWork: () => boolean, timeoutMs: number): void {
    const counter = Atomics.load(this.words, COUNTER);
    Atomics.store(this.words, SLEEPING, 1);
    if (!hasWork()) Atomics.wait(this.words, COUNTER, counter, timeoutMs);
    Atomics.store(this.words, SLEEPING, 0);
  }

  /** Sleeper side, for the main thread: resolves when rung (or after the timeout). */
  async sleepAsync(hasWork: () => boolean, timeoutMs: number): Promise<void> {
    const counter = Atomics.load(this.words, COUNTER);
    Atomics.store(this.words, SLEEPING, 1);
    if (!hasWork()) {
      const waiter = waitAsync(this.words, COUNTER, counter, timeoutMs);
      if (waiter.async) await waiter.value;
    }
    Atomics.store(this.words, SLEEPING, 0);
  }
}
