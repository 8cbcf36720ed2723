/**
 * The two ends of a pipeline ring as the stages use them.
 *
 * `Outbox` (producer): encoders write straight into claimed ring slots. When the ring is full in
 * the middle of a command, messages go to a local staging ring of the same slot format instead,
 * and every later message follows them there until they have been copied across, so order is kept
 * and a stage never blocks half-way through a command. A stage starts a new command only when its
 * staging is empty, so staging needs room for one command's worth of messages at most.
 *
 * `Inbox` (consumer): reads slots in place and, on release, rings the producer thread's doorbell if
 * the ring was full before the release: every producer waits for room only after a claim failed on
 * a full ring (a stage with staged messages waits for `freeSlots() > 0`, the WAL forwards only into
 * free slots), and publishes what it claimed before it sleeps. A producer thread usually sleeps
 * because it has no input, not for room: ringing it on every release woke it for nothing and cost
 * the releasing thread a futex wake (and, on 2 cores, often its CPU) per batch.
 *
 * Both ring the doorbell of the thread on the other side: a thread that runs several stages waits
 * on one doorbell for all of its rings.
 */
import { assert } from '../domain/assert.ts';
import type { SlotViews } from './messages.ts';
import { SpscRing } from './spsc_ring.ts';
import type { Doorbell } from './doorbell.ts';

export class Outbox {
  /** The views the last `claim()` refers to: the shared ring's or the staging ring's. */
  private target: SlotViews;
  private readonly staging: SpscRing;

  constructor(
    readonly ring: SpscRing,
    private readonly consumerDoorbell: Doorbell,
    stagingSlots: number,
  ) {
    this.staging = SpscRing.create(nextPowerOfTwo(stagingSlots), ring.slotBytes);
    this.target = ring;
  }

  /** Messages waiting in staging; a stage must not start a new command while this is non-zero. */
  get staged(): number {
    return this.staging.available() + this.staging.claimedSlots();
  }

  /** A slot for the next message (ring or staging); `target` then holds the views to write it in. */
  private claim(): number {
    if (this.staged === 0) {
      const offset = this.ring.claim();
      if (offset >= 0) {
        this.target = this.ring;
        return offset;
      }
    }
    const offset = this.staging.claim();
    assert(offset >= 0, 'outbox: staging overflow (one command produced more messages than its staging holds)');
    this.target = this.staging;
    return offset;
  }

  /**
   * Encodes one message into the next slot. The slot is claimed before its views are chosen: the
   * claim decides between ring and staging, so the encoder must see the views of that choice.
   */
  write<T>(encode: (views: SlotViews, offset: number, message: T) => void, message: T): void {
    const offset = this.claim();
    encode(this.target, offset, message);
  }

  /** Copies one slot from a ring the caller consumes, unchanged (forwarding a message). */
  forward(from: SlotViews, fromOffset: number): void {
    const offset = this.claim();
    copySlot(from, fromOffset, this.target, offset, this.ring.slotBytes);
  }

  /** Publishes what is in the ring, then moves staged messages across as room allows. */
  flush(): void {
    this.staging.publish();
    let moved = 0;
    const stagedCount = this.staging.available();
    while (moved < stagedCount) {
      const offset = this.ring.claim();
      if (offset < 0) break;
      copySlot(this.staging, this.staging.readOffset(moved), this.ring, offset, this.ring.slotBytes);
      moved += 1;
    }
    if (moved > 0) this.staging.release(moved);
    if (this.ring.publish() > 0) this.consumerDoorbell.ring();
  }

  /** Free slots in the shared ring right now. */
  freeSlots(): number {
    return this.ring.freeSlots();
  }
}

export class Inbox {
  constructor(
    readonly ring: SpscRing,
    private readonly producerDoorbell: Doorbell,
  ) {}

  available(): number {
    return this.ring.available();
  }

  offset(index: number): number {
    return this.ring.readOffset(index);
  }

  release(count: number): void {
    if (count === 0) return;
    this.ring.release(count);
    if (this.ring.wasFullBeforeRelease(count)) this.producerDoorbell.ring();
  }
}

/**
 * Copies a slot word by word. Not `bytes.set(bytes.subarray(...))`: subarray makes a new view object
 * per call, and settlement forwards every message of every command (the WAL every command), so that
 * was garbage per message on the hot path of two threads. u32 words, not f64: a float copy may
 * canonicalize NaN bit patterns, and slots hold arbitrary bytes. Offsets and size are multiples of 8
 * (slot layout, asserted by the rings).
 */
function copySlot(from: SlotViews, fromOffset: number, to: SlotViews, toOffset: number, slotBytes: number): void {
  const source = from.u32;
  const target = to.u32;
  const fromWord = fromOffset >>> 2;
  const toWord = toOffset >>> 2;
  const words = slotBytes >>> 2;
  for (let word = 0; word < words; word++) target[toWord + word] = source[fromWord + word]!;
}

export function nextPowerOfTwo(value: number): number {
  assert(value >= 1 && value <= 1 << 30, 'nextPowerOfTwo: out of range');
  let power = 1;
  while (power < value) power *= 2;
  return power;
}
