/**
 * A MatchSink that copies every event into a plain tagged record, so tests can compare whole event
 * streams with toEqual (the engine reuses its event objects, so keeping references would be wrong).
 */
import type { CancelRejectEvent, LevelEvent, MatchSink, OrderDoneEvent, TradeEvent } from '../../../src/domain/events.ts';

export type RecordedEvent =
  | ({ kind: 'trade' } & TradeEvent)
  | ({ kind: 'done' } & OrderDoneEvent)
  | ({ kind: 'level' } & LevelEvent)
  | ({ kind: 'cancelReject' } & CancelRejectEvent);

export class RecordingSink implements MatchSink {
  events: RecordedEvent[] = [];

  onTrade(event: Readonly<TradeEvent>): void {
    this.events.push({ kind: 'trade', ...event });
  }

  onOrderDone(event: Readonly<OrderDoneEvent>): void {
    this.events.push({ kind: 'done', ...event });
  }

  onLevel(event: Readonly<LevelEvent>): void {
    this.events.push({ kind: 'level', ...event });
  }

  onCancelReject(event: Readonly<CancelRejectEvent>): void {
    this.events.push({ kind: 'cancelReject', ...event });
  }

  /** Returns the events recorded since the last call and starts a new batch. */
  take(): RecordedEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  trades(): Array<{ kind: 'trade' } & TradeEvent> {
    return this.events.filter((event): event is { kind: 'trade' } & TradeEvent => event.kind === 'trade');
  }
}
