/**
 * The matching engine's stage shell: takes durable commands from W→M, forwards each command to
 * settlement (M→T) ahead of its events, lets the engine match it, encodes every event as it is
 * emitted, and closes the command with a CommandEnd. Deposits and withdrawals pass straight
 * through. If M→T fills up mid-command the rest is staged; the next command waits for staging
 * to empty, so nothing is dropped, reordered or blocked on.
 */
import type { CancelRejectEvent, LevelEvent, MatchSink, OrderDoneEvent, TradeEvent } from '../domain/events.ts';
import {
  createCommandMessage,
  decodeCommand,
  encodeCancelReject,
  encodeCommandEnd,
  encodeLevel,
  encodeOrderDone,
  encodeTrade,
} from '../ring/messages.ts';
import type { Inbox, Outbox } from '../ring/ring_endpoints.ts';
import type { Stage } from '../ring/stage.ts';
import type { MatchingEngine } from './matching_engine.ts';

/** Commands matched per step before output is flushed. */
export const MATCHING_BATCH_MAX = 256;

export interface MatchingStageLinks {
  durable: Inbox; // W→M
  events: Outbox; // M→T
}

/** Encodes engine events into the outbox as they happen. */
export class RingMatchSink implements MatchSink {
  constructor(private readonly events: Outbox) {}

  onTrade(event: Readonly<TradeEvent>): void {
    this.events.write(encodeTrade, event);
  }

  onOrderDone(event: Readonly<OrderDoneEvent>): void {
    this.events.write(encodeOrderDone, event);
  }

  onLevel(event: Readonly<LevelEvent>): void {
    this.events.write(encodeLevel, event);
  }

  onCancelReject(event: Readonly<CancelRejectEvent>): void {
    this.events.write(encodeCancelReject, event);
  }
}

export class MatchingStage implements Stage {
  private readonly message = createCommandMessage();
  private readonly end = { seq: 0, requestId: 0 };

  constructor(
    private readonly engine: MatchingEngine,
    private readonly links: MatchingStageLinks,
  ) {}

  step(): boolean {
    const { durable, events } = this.links;
    events.flush();
    if (events.staged > 0) return false;
    const count = Math.min(durable.available(), MATCHING_BATCH_MAX);
    if (count === 0) return false;
    let done = 0;
    while (done < count && events.staged === 0) {
      const offset = durable.offset(done);
      decodeCommand(durable.ring, offset, this.message);
      events.forward(durable.ring, offset);
      this.engine.apply(this.message.command);
      this.end.seq = this.message.command.seq;
      this.end.requestId = this.message.requestId;
      events.write(encodeCommandEnd, this.end);
      done += 1;
    }
    durable.release(done);
    events.flush();
    return true;
  }

  hasWork(): boolean {
    const { durable, events } = this.links;
    if (events.staged > 0) return events.freeSlots() > 0;
    return durable.available() > 0;
  }
}
