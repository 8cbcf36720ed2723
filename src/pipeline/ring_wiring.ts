/**
 * The rings of the pipeline and the doorbells of its threads, created once at start-up on the main
 * thread and handed to every worker as SharedArrayBuffers.
 *
 * Thread 0 is the main thread (gateway); workers are 1..n in the order of the thread layout.
 * Every ring knows the thread that produces into it and the thread that consumes it, so either
 * side can ring the other's doorbell.
 */
import { invariantBroken } from '../domain/assert.ts';
import { Doorbell } from '../ring/doorbell.ts';
import { MESSAGE_SLOT_BYTES } from '../ring/messages.ts';
import { Inbox, Outbox } from '../ring/ring_endpoints.ts';
import { SpscRing } from '../ring/spsc_ring.ts';
import type { StageName, ThreadLayout } from './thread_layout.ts';

export const RING_NAMES = ['GS', 'SG', 'SW', 'WM', 'MT', 'TG', 'TS'] as const;
export type RingName = (typeof RING_NAMES)[number];

/** Producer and consumer stage of each ring ('gateway' is the main thread). */
const RING_ENDS: Readonly<Record<RingName, readonly [StageName | 'gateway', StageName | 'gateway']>> = {
  GS: ['gateway', 'sequencer'],
  SG: ['sequencer', 'gateway'],
  SW: ['sequencer', 'wal'],
  WM: ['wal', 'matching'],
  MT: ['matching', 'settlement'],
  TG: ['settlement', 'gateway'],
  TS: ['settlement', 'sequencer'],
};

export interface WiringBuffers {
  rings: Record<RingName, SharedArrayBuffer>;
  /** One per thread, index 0 = main. */
  doorbells: SharedArrayBuffer[];
  /** Int32 control words: [0] = stop requested. */
  control: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  layout: ThreadLayout;
}

export function createWiring(layout: ThreadLayout, ringCapacity: number, counters: SharedArrayBuffer): WiringBuffers {
  const rings = {} as Record<RingName, SharedArrayBuffer>;
  for (const name of RING_NAMES) rings[name] = SpscRing.create(ringCapacity, MESSAGE_SLOT_BYTES).buffer;
  const doorbells = Array.from({ length: layout.length + 1 }, () => Doorbell.create().buffer);
  return { rings, doorbells, control: new SharedArrayBuffer(8), counters, layout };
}

export function threadOf(layout: ThreadLayout, stage: StageName | 'gateway'): number {
  if (stage === 'gateway') return 0;
  const index = layout.findIndex((stages) => stages.includes(stage));
  if (!(index >= 0)) invariantBroken(`wiring: stage ${stage} has no thread`);
  return index + 1;
}

/** The endpoints one thread uses, attached to the shared buffers. */
export class ThreadWiring {
  private readonly doorbells: Doorbell[];
  private readonly rings = new Map<RingName, SpscRing>();
  readonly control: Int32Array;

  constructor(
    private readonly buffers: WiringBuffers,
    readonly threadIndex: number,
  ) {
    this.doorbells = buffers.doorbells.map((buffer) => Doorbell.attach(buffer));
    this.control = new Int32Array(buffers.control);
  }

  get doorbell(): Doorbell {
    return this.doorbells[this.threadIndex]!;
  }

  ring(name: RingName): SpscRing {
    let ring = this.rings.get(name);
    if (ring === undefined) {
      ring = SpscRing.attach(this.buffers.rings[name]);
      this.rings.set(name, ring);
    }
    return ring;
  }

  inbox(name: RingName): Inbox {
    const [producer, consumer] = RING_ENDS[name];
    if (!(threadOf(this.buffers.layout, consumer) === this.threadIndex)) invariantBroken(`wiring: ring ${name} is not consumed here`);
    return new Inbox(this.ring(name), this.doorbells[threadOf(this.buffers.layout, producer)]!);
  }

  outbox(name: RingName, stagingSlots: number): Outbox {
    const [producer, consumer] = RING_ENDS[name];
    if (!(threadOf(this.buffers.layout, producer) === this.threadIndex)) invariantBroken(`wiring: ring ${name} is not produced here`);
    return new Outbox(this.ring(name), this.doorbells[threadOf(this.buffers.layout, consumer)]!, stagingSlots);
  }

  /** After publishing into `name` from this thread: wake its consumer thread if it sleeps. */
  ringDoorbellOf(name: RingName): void {
    this.doorbells[threadOf(this.buffers.layout, RING_ENDS[name][1])]!.ring();
  }

  stopRequested(): boolean {
    return Atomics.load(this.control, 0) !== 0;
  }

  requestStop(): void {
    Atomics.store(this.control, 0, 1);
    for (const doorbell of this.doorbells) doorbell.ringAlways();
  }
}
