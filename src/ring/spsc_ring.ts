/**
 * Single-producer/single-consumer ring over a preallocated SharedArrayBuffer: every arrow of the
 * pipeline (G→S, S→W, W→M, M→T, T→G, S→G, T→S) is one of these (DESIGN.md).
 *
 * Fixed-size slots, written and read in place through typed-array views over the data region,
 * so a codec encodes straight into shared memory and nothing is allocated per message. The
 * producer claims slots, writes them, then publishes the whole batch with ONE `Atomics.store` of
 * the tail and at most one `Atomics.notify`; the consumer reads everything available, then
 * releases it with one store of the head. A full ring is backpressure: `claim()` says so and the
 * producer decides (the gateway answers 503, an internal stage waits with `waitForSpace`); a slot
 * is never overwritten before it is released, so nothing is dropped or reordered.
 *
 * Buffer layout (Int32 words; each counter and flag alone on its own 128 bytes, i.e. two 64-byte
 * cache lines, so neither false sharing nor the adjacent-line prefetcher couples the two threads):
 *
 *   bytes   0..127  metadata (written once by create): magic, version, capacity, slotBytes, headerBytes
 *   bytes 128..255  tail              written by the producer only (slots published, a wrapping int32)
 *   bytes 256..383  head              written by the consumer only (slots released, a wrapping int32)
 *   bytes 384..511  consumerSleeping  written by the consumer only (1 while it is about to wait/waits)
 *   bytes 512..639  producerWaiting   written by the producer only (1 while it is about to wait/waits)
 *   bytes 640..     data: capacity × slotBytes, slot i at byte (i × slotBytes) of the data views
 *
 * Counters are free-running int32 that wrap at 2^32: occupancy is `(tail - head) | 0` and the slot
 * of a counter is `counter & (capacity - 1)`; both are exact across the wrap because the capacity
 * is a power of two no larger than 2^24 (far below 2^31).
 *
 * Sleep/wake without lost wake-ups. A sleeper waits on the very word its peer advances, with the
 * value it last saw as the expected value, so a store that lands between its check and its wait
 * makes `Atomics.wait` return at once ("not-equal"). Only the sleeper sets and clears its own flag:
 *   consumer: store sleeping=1; load tail; if unchanged, wait(tail, seen); store sleeping=0
 *   producer: store tail; load sleeping; if 1, notify(tail)
 * All are sequentially consistent atomics, so either the consumer's load sees the new tail or the
 * producer's load sees the flag and notifies (and the wait's own value check covers the gap).
 * The space wait (producer sleeps on `head`, consumer notifies on release) is the mirror image.
 * A wake-up can also be stale (the notify of a publish whose data the consumer already took
 * without sleeping lands in a later wait), so every wait loops until the data or space is really
 * there or its deadline passes.
 */
import { assert } from '../domain/assert.ts';

/** Slots per ring; a power of two. 2^24 keeps `(tail - head) | 0` far from the int32 sign bit. */
export const RING_CAPACITY_MAX = 1 << 24;
/** Bytes per slot; a multiple of 8 so Float64 fields stay aligned. */
export const RING_SLOT_BYTES_MAX = 4096;
/** Bytes of the data region (capacity × slotBytes). */
export const RING_DATA_BYTES_MAX = 1 << 30;
/** Bound on the busy-poll before a wait (each iteration is one atomic load). */
export const RING_SPIN_ITERATIONS_MAX = 1 << 20;
export const RING_SPIN_ITERATIONS_DEFAULT = 256;

const CACHE_LINE_BYTES = 64;
/** Two cache lines per counter: also keeps the adjacent-line prefetcher from pairing them. */
const SEPARATION_BYTES = 2 * CACHE_LINE_BYTES;
const SEPARATION_INT32 = SEPARATION_BYTES / Int32Array.BYTES_PER_ELEMENT;

const MAGIC_INDEX = 0;
const VERSION_INDEX = 1;
const CAPACITY_INDEX = 2;
const SLOT_BYTES_INDEX = 3;
const HEADER_BYTES_INDEX = 4;
const TAIL_INDEX = 1 * SEPARATION_INT32;
const HEAD_INDEX = 2 * SEPARATION_INT32;
const CONSUMER_SLEEPING_INDEX = 3 * SEPARATION_INT32;
const PRODUCER_WAITING_INDEX = 4 * SEPARATION_INT32;
const HEADER_WORDS = 5 * SEPARATION_INT32;

/** Bytes before the data region. */
export const RING_HEADER_BYTES = HEADER_WORDS * Int32Array.BYTES_PER_ELEMENT;

const RING_MAGIC = 0x52494e47; // "RING"
const RING_VERSION = 1;

assert(RING_HEADER_BYTES === 640, 'ring header: layout is 5 × 128 bytes');
assert(RING_HEADER_BYTES % CACHE_LINE_BYTES === 0, 'ring header: data region starts on a cache line');
assert(HEADER_BYTES_INDEX < TAIL_INDEX, 'ring header: metadata fits before the tail line');
assert(isPowerOfTwo(RING_CAPACITY_MAX), 'ring: RING_CAPACITY_MAX is a power of two');
assert(RING_CAPACITY_MAX <= 1 << 30, 'ring: occupancy stays exact in int32 arithmetic');
assert(RING_SLOT_BYTES_MAX % 8 === 0, 'ring: RING_SLOT_BYTES_MAX is a multiple of 8');

// Node 20 has Atomics.waitAsync, but lib ES2022 (tsconfig) does not declare it.
type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs?: number) => WaitAsyncResult;
const atomicsWaitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
}

function validateTimeout(timeoutMs: number): void {
  assert(timeoutMs >= 0, 'ring: timeoutMs must be >= 0 (Infinity allowed)');
}

export interface SpscRingOptions {
  /** Atomic polls before sleeping in `waitForData`/`waitForSpace` (0 = sleep at once). */
  spinIterations?: number;
}

export interface SpscRingCreateOptions extends SpscRingOptions {
  /**
   * Initial value of both counters (an int32). Only tests need it: starting just below 2^31 or
   * 2^32 drives the counters across both wrap points within a few slots.
   */
  startIndex?: number;
}

export class SpscRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly slotBytes: number;
  /** Views over the data region only; a slot's byte offset comes from `claim()` / `readOffset()`. */
  readonly bytes: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;

  private readonly control: Int32Array;
  private readonly mask: number;
  private readonly spinIterations: number;

  // Producer-side state (meaningful only in the producer's SpscRing object).
  /** Next slot to claim; runs ahead of the shared tail by the claimed-but-unpublished slots. */
  private claimTail: number;
  private publishedTail: number;
  /** Last head seen; refreshed only when the ring looks full (Disruptor's cached gating sequence). */
  private cachedHead: number;
  private producerSleepCount = 0;

  // Consumer-side state (meaningful only in the consumer's SpscRing object).
  /** Slots released so far; the consumer is the only writer of the shared head. */
  private head: number;
  /** Last tail seen by `available()`; bounds `readOffset` and `release`. */
  private cachedTail: number;
  private consumerSleepCount = 0;

  /** Bytes of the SharedArrayBuffer a ring of this shape needs. */
  static bufferBytes(capacity: number, slotBytes: number): number {
    assert(isPowerOfTwo(capacity), 'ring: capacity must be a power of two');
    assert(capacity <= RING_CAPACITY_MAX, 'ring: capacity exceeds RING_CAPACITY_MAX');
    assert(Number.isInteger(slotBytes), 'ring: slotBytes must be an integer');
    assert(slotBytes >= 8, 'ring: slotBytes must be at least 8');
    assert(slotBytes % 8 === 0, 'ring: slotBytes must be a multiple of 8');
    assert(slotBytes <= RING_SLOT_BYTES_MAX, 'ring: slotBytes exceeds RING_SLOT_BYTES_MAX');
    assert(capacity * slotBytes <= RING_DATA_BYTES_MAX, 'ring: capacity × slotBytes exceeds RING_DATA_BYTES_MAX');
    return RING_HEADER_BYTES + capacity * slotBytes;
  }

  /** Allocates the shared memory once; hand `ring.buffer` to the other thread, which calls `attach`. */
  static create(capacity: number, slotBytes: number, options: SpscRingCreateOptions = {}): SpscRing {
    const buffer = new SharedArrayBuffer(SpscRing.bufferBytes(capacity, slotBytes));
    const control = new Int32Array(buffer, 0, HEADER_WORDS);
    const startIndex = options.startIndex ?? 0;
    assert(Number.isInteger(startIndex), 'ring: startIndex must be an integer');
    assert(startIndex === (startIndex | 0), 'ring: startIndex must be an int32');
    control[MAGIC_INDEX] = RING_MAGIC;
    control[VERSION_INDEX] = RING_VERSION;
    control[CAPACITY_INDEX] = capacity;
    control[SLOT_BYTES_INDEX] = slotBytes;
    control[HEADER_BYTES_INDEX] = RING_HEADER_BYTES;
    Atomics.store(control, TAIL_INDEX, startIndex);
    Atomics.store(control, HEAD_INDEX, startIndex);
    return new SpscRing(buffer, options);
  }

  /** Attaches to a ring made by `create` (in this or another thread); validates the header. */
  static attach(buffer: SharedArrayBuffer, options: SpscRingOptions = {}): SpscRing {
    return new SpscRing(buffer, options);
  }

  private constructor(buffer: SharedArrayBuffer, options: SpscRingOptions) {
    assert(buffer instanceof SharedArrayBuffer, 'ring: buffer must be a SharedArrayBuffer');
    assert(buffer.byteLength >= RING_HEADER_BYTES, 'ring: buffer is smaller than the header');
    const control = new Int32Array(buffer, 0, HEADER_WORDS);
    assert(Atomics.load(control, MAGIC_INDEX) === RING_MAGIC, 'ring: bad magic (not a ring buffer)');
    assert(Atomics.load(control, VERSION_INDEX) === RING_VERSION, 'ring: unsupported layout version');
    assert(Atomics.load(control, HEADER_BYTES_INDEX) === RING_HEADER_BYTES, 'ring: header size mismatch');
    const capacity = Atomics.load(control, CAPACITY_INDEX);
    const slotBytes = Atomics.load(control, SLOT_BYTES_INDEX);
    assert(buffer.byteLength === SpscRing.bufferBytes(capacity, slotBytes), 'ring: buffer size does not match its header');
    const spinIterations = options.spinIterations ?? RING_SPIN_ITERATIONS_DEFAULT;
    assert(Number.isInteger(spinIterations), 'ring: spinIterations must be an integer');
    assert(spinIterations >= 0, 'ring: spinIterations must be >= 0');
    assert(spinIterations <= RING_SPIN_ITERATIONS_MAX, 'ring: spinIterations exceeds RING_SPIN_ITERATIONS_MAX');

    const dataBytes = capacity * slotBytes;
    this.buffer = buffer;
    this.capacity = capacity;
    this.slotBytes = slotBytes;
    this.control = control;
    this.mask = capacity - 1;
    this.spinIterations = spinIterations;
    this.bytes = new Uint8Array(buffer, RING_HEADER_BYTES, dataBytes);
    this.u32 = new Uint32Array(buffer, RING_HEADER_BYTES, dataBytes / 4);
    this.i32 = new Int32Array(buffer, RING_HEADER_BYTES, dataBytes / 4);
    this.f64 = new Float64Array(buffer, RING_HEADER_BYTES, dataBytes / 8);
    const tail = Atomics.load(control, TAIL_INDEX);
    const head = Atomics.load(control, HEAD_INDEX);
    this.claimTail = tail;
    this.publishedTail = tail;
    this.cachedHead = head;
    this.head = head;
    this.cachedTail = head;
  }

  // ── Either side ────────────────────────────────────────────────────────────────────────────

  /**
   * Published slots not yet released, from any thread (for metrics). A snapshot of two counters
   * read one after the other: head first, so it is never negative; clamped to the capacity.
   */
  size(): number {
    const head = Atomics.load(this.control, HEAD_INDEX);
    const tail = Atomics.load(this.control, TAIL_INDEX);
    return Math.min((tail - head) | 0, this.capacity);
  }

  /** Times this object's consumer side actually went to sleep (metrics and tests). */
  get consumerSleeps(): number {
    return this.consumerSleepCount;
  }

  /** Times this object's producer side actually went to sleep waiting for space. */
  get producerSleeps(): number {
    return this.producerSleepCount;
  }

  // ── Producer ───────────────────────────────────────────────────────────────────────────────

  /** Slots the producer may still claim (free minus already claimed); reads the shared head. */
  freeSlots(): number {
    this.cachedHead = Atomics.load(this.control, HEAD_INDEX);
    return this.capacity - ((this.claimTail - this.cachedHead) | 0);
  }

  /**
   * Claims the next slot and returns its byte offset in the data views, or -1 when the ring is
   * full. The slot is invisible to the consumer until `publish()`. Claim several, then publish once.
   */
  claim(): number {
    if (((this.claimTail - this.cachedHead) | 0) >= this.capacity) {
      this.cachedHead = Atomics.load(this.control, HEAD_INDEX);
      if (((this.claimTail - this.cachedHead) | 0) >= this.capacity) return -1;
    }
    const offset = (this.claimTail & this.mask) * this.slotBytes;
    this.claimTail = (this.claimTail + 1) | 0;
    return offset;
  }

  /**
   * Gives back the most recent unpublished claim, e.g. when an encoder refused the message (codecs
   * check before they write, so the slot is untouched). Without it the slot would be published
   * with whatever it held before.
   */
  unclaim(): void {
    assert(((this.claimTail - this.publishedTail) | 0) > 0, 'ring: unclaim without an unpublished claim');
    this.claimTail = (this.claimTail - 1) | 0;
  }

  /** Slots claimed since the last publish. */
  claimedSlots(): number {
    return (this.claimTail - this.publishedTail) | 0;
  }

  /**
   * Makes every claimed slot visible with ONE store of the tail, then wakes the consumer if (and
   * only if) it has announced that it sleeps. Returns the number of slots published.
   */
  publish(): number {
    const count = (this.claimTail - this.publishedTail) | 0;
    if (count === 0) return 0;
    this.publishedTail = this.claimTail;
    Atomics.store(this.control, TAIL_INDEX, this.claimTail);
    if (Atomics.load(this.control, CONSUMER_SLEEPING_INDEX) !== 0) {
      Atomics.notify(this.control, TAIL_INDEX, 1);
    }
    return count;
  }

  /**
   * For internal producers (worker threads): publishes what is claimed, then spins briefly and
   * sleeps until at least `slotsWanted` slots are free or `timeoutMs` passed. Returns `freeSlots()`
   * (less than `slotsWanted` only on timeout). Blocks the thread: not for the main thread.
   */
  waitForSpace(timeoutMs: number, slotsWanted = 1): number {
    validateTimeout(timeoutMs);
    assert(Number.isInteger(slotsWanted), 'ring: slotsWanted must be an integer');
    assert(slotsWanted >= 1, 'ring: slotsWanted must be >= 1');
    assert(slotsWanted <= this.capacity, 'ring: slotsWanted exceeds the capacity');
    this.publish(); // Claimed slots held while sleeping would only delay the consumer.
    let free = this.freeSlots();
    for (let spin = 0; free < slotsWanted && spin < this.spinIterations; spin++) free = this.freeSlots();
    if (free >= slotsWanted) return free;
    return this.sleepForSpace(timeoutMs, slotsWanted);
  }

  private sleepForSpace(timeoutMs: number, slotsWanted: number): number {
    const deadline = performance.now() + timeoutMs;
    let free = 0;
    Atomics.store(this.control, PRODUCER_WAITING_INDEX, 1);
    for (;;) {
      const head = Atomics.load(this.control, HEAD_INDEX);
      this.cachedHead = head;
      free = this.capacity - ((this.claimTail - head) | 0);
      if (free >= slotsWanted) break;
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0) break;
      this.producerSleepCount++;
      // Returns at once if the head moved after the load above ("not-equal").
      Atomics.wait(this.control, HEAD_INDEX, head, remainingMs);
    }
    Atomics.store(this.control, PRODUCER_WAITING_INDEX, 0);
    return free;
  }

  // ── Consumer ───────────────────────────────────────────────────────────────────────────────

  /** Published slots not yet released; reads the shared tail. */
  available(): number {
    this.cachedTail = Atomics.load(this.control, TAIL_INDEX);
    return (this.cachedTail - this.head) | 0;
  }

  /** Byte offset of the `index`-th available slot (0 = oldest), valid until `release`. */
  readOffset(index: number): number {
    assert(index >= 0, 'ring: readOffset index must be >= 0');
    assert(index < ((this.cachedTail - this.head) | 0), 'ring: readOffset beyond available()');
    return ((this.head + index) & this.mask) * this.slotBytes;
  }

  /** Hands `count` oldest slots back to the producer with ONE store; wakes it if it waits for space. */
  release(count: number): void {
    assert(count >= 0, 'ring: release count must be >= 0');
    assert(count <= ((this.cachedTail - this.head) | 0), 'ring: release beyond available()');
    if (count === 0) return;
    this.head = (this.head + count) | 0;
    Atomics.store(this.control, HEAD_INDEX, this.head);
    if (Atomics.load(this.control, PRODUCER_WAITING_INDEX) !== 0) {
      Atomics.notify(this.control, HEAD_INDEX, 1);
    }
  }

  /**
   * Right after `release(count)`: whether the ring was full just before it, as the producer may
   * have seen it (published slots only; a producer publishes before it sleeps). Loads the tail
   * AFTER the release's store of the head, so with sequentially consistent atomics a producer that
   * found the ring full either sees the new head itself or its publication is seen here.
   */
  wasFullBeforeRelease(count: number): boolean {
    const tail = Atomics.load(this.control, TAIL_INDEX);
    return ((tail - ((this.head - count) | 0)) | 0) >= this.capacity;
  }

  /**
   * Worker threads: returns `available()` at once if non-zero, else spins (bounded), else sleeps
   * with `Atomics.wait` until the producer publishes or `timeoutMs` passes (then returns 0).
   */
  waitForData(timeoutMs: number): number {
    validateTimeout(timeoutMs);
    let count = this.available();
    for (let spin = 0; count === 0 && spin < this.spinIterations; spin++) count = this.available();
    if (count !== 0) return count;
    return this.sleepForData(timeoutMs);
  }

  /**
   * Loops because a wake-up can be stale: a notify from an earlier publish, whose data this
   * consumer already took without sleeping, may land in a later wait. Only the data counts.
   */
  private sleepForData(timeoutMs: number): number {
    const deadline = performance.now() + timeoutMs;
    Atomics.store(this.control, CONSUMER_SLEEPING_INDEX, 1);
    for (;;) {
      const tail = Atomics.load(this.control, TAIL_INDEX);
      if (tail !== this.head) break;
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0) break;
      this.consumerSleepCount++;
      // Returns at once if the tail moved after the load above ("not-equal").
      Atomics.wait(this.control, TAIL_INDEX, tail, remainingMs);
    }
    Atomics.store(this.control, CONSUMER_SLEEPING_INDEX, 0);
    return this.available();
  }

  /**
   * Main thread: like `waitForData` but with `Atomics.waitAsync`, so the event loop keeps running
   * while the ring is empty. No spinning (it would stall the event loop). Resolves to `available()`,
   * 0 on timeout. At most one pending call per ring.
   */
  waitForDataAsync(timeoutMs: number): Promise<number> {
    validateTimeout(timeoutMs);
    const count = this.available();
    if (count !== 0) return Promise.resolve(count);
    assert(atomicsWaitAsync !== undefined, 'ring: Atomics.waitAsync is not available in this runtime');
    assert(Atomics.load(this.control, CONSUMER_SLEEPING_INDEX) === 0, 'ring: a waitForDataAsync is already pending');
    return this.sleepForDataAsync(atomicsWaitAsync, timeoutMs);
  }

  private async sleepForDataAsync(waitAsync: WaitAsync, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    Atomics.store(this.control, CONSUMER_SLEEPING_INDEX, 1);
    try {
      for (;;) {
        const tail = Atomics.load(this.control, TAIL_INDEX);
        if (tail !== this.head) break;
        const remainingMs = deadline - performance.now();
        if (remainingMs <= 0) break;
        const result = waitAsync.call(Atomics, this.control, TAIL_INDEX, tail, remainingMs);
        if (result.async) {
          this.consumerSleepCount++;
          await result.value;
        }
      }
    } finally {
      Atomics.store(this.control, CONSUMER_SLEEPING_INDEX, 0);
    }
    return this.available();
  }
}
