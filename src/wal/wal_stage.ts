/**
 * The WAL writer's stage shell, on its own thread: takes sequenced commands from S→W, appends
 * them to the group-commit batch, and flushes (one write + one fdatasync) when `batchRecords` are
 * pending, when `batchDelayMs` has passed since the first pending record, or — with a delay of
 * 0 — as soon as the input ring is drained (the natural batch that built up during the last fsync).
 *
 * Only after the fsync returns are the records forwarded to matching (W→M). The slots are
 * forwarded straight from S→W and released there only once copied, so a batch waiting for its
 * fsync, or for room downstream, simply stays in the input ring: no copy, no extra queue.
 * A failed write or fsync throws WalWriteError out of the loop: the worker dies, the process
 * exits, and nothing after the last durable record is ever acknowledged.
 */
import { createCommandMessage, decodeCommand } from '../ring/messages.ts';
import type { Inbox, Outbox } from '../ring/ring_endpoints.ts';
import type { Stage } from '../ring/stage.ts';
import type { SharedCounters } from '../pipeline/shared_counters.ts';
import type { WalWriter } from './wal_writer.ts';

export interface WalStageLinks {
  sequenced: Inbox; // S→W
  durable: Outbox; // W→M
}

export interface WalStagePolicy {
  batchRecords: number;
  batchDelayMs: number;
}

export class WalStage implements Stage {
  private readonly message = createCommandMessage();
  /** Slots at the head of S→W that are durable but not yet forwarded. */
  private durableSlots = 0;
  /** Slots after those that are appended to the batch but not yet flushed. */
  private appendedSlots = 0;
  private readonly batchRecords: number;

  constructor(
    private readonly writer: WalWriter,
    private readonly links: WalStageLinks,
    private readonly policy: WalStagePolicy,
    private readonly counters: SharedCounters,
    private readonly clock: () => number = performance.now.bind(performance),
  ) {
    this.batchRecords = Math.min(policy.batchRecords, links.sequenced.ring.capacity);
  }

  step(): boolean {
    const forwarded = this.forward();
    const appended = this.append();
    const flushed = this.maybeFlush();
    return forwarded || appended > 0 || flushed;
  }

  hasWork(): boolean {
    const { sequenced, durable } = this.links;
    if (this.durableSlots > 0 && durable.freeSlots() > 0) return true;
    return sequenced.available() > this.durableSlots + this.appendedSlots;
  }

  sleepBudgetMs(): number {
    if (this.appendedSlots === 0) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.writer.firstPendingAtMs + this.policy.batchDelayMs - this.clock());
  }

  private forward(): boolean {
    const { sequenced, durable } = this.links;
    const count = Math.min(this.durableSlots, durable.freeSlots());
    if (count === 0) return false;
    for (let i = 0; i < count; i++) durable.forward(sequenced.ring, sequenced.offset(i));
    durable.flush();
    sequenced.release(count);
    this.durableSlots -= count;
    return true;
  }

  private append(): number {
    const { sequenced } = this.links;
    const first = this.durableSlots + this.appendedSlots;
    const room = this.batchRecords - this.appendedSlots;
    const count = Math.min(sequenced.available() - first, room);
    if (count <= 0) return 0;
    const nowMs = this.clock();
    let appended = 0;
    while (appended < count && !this.writer.full) {
      decodeCommand(sequenced.ring, sequenced.offset(first + appended), this.message);
      this.writer.append(this.message.command, nowMs);
      appended += 1;
    }
    this.appendedSlots += appended;
    return appended;
  }

  private maybeFlush(): boolean {
    if (this.appendedSlots === 0) return false;
    const { sequenced } = this.links;
    const due =
      this.appendedSlots >= this.batchRecords ||
      this.writer.full ||
      (this.policy.batchDelayMs === 0
        ? sequenced.available() === this.durableSlots + this.appendedSlots
        : this.clock() - this.writer.firstPendingAtMs >= this.policy.batchDelayMs);
    if (!due) return false;
    const started = this.clock();
    const records = this.writer.flush();
    this.counters.recordFsync(records, this.clock() - started, this.writer.durableSeq);
    this.durableSlots += this.appendedSlots;
    this.appendedSlots = 0;
    this.forward();
    return true;
  }
}
