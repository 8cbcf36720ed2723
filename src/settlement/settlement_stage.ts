/**
 * The settlement ledger's stage shell: takes commands and matching events from M→T, settles them
 * in the ledger, and forwards everything (plus balance changes) to the gateway on T→G; credits and
 * order closes go back to the sequencer on T→S.
 *
 * Ordering: credits are published to T→S before the results they belong to reach T→G, so by the
 * time a client hears of a deposit or a fill, the sequencer already has the credit waiting at the
 * front of its input: an immediate follow-up order never sees a stale spendable balance.
 */
import type { LedgerSink } from '../domain/events.ts';
import {
  MessageTag,
  createCommandMessage,
  createOrderDoneEvent,
  createTradeEvent,
  decodeCommand,
  decodeOrderDone,
  decodeTrade,
  encodeBalance,
  encodeCredit,
  encodeOrderClosed,
  readTag,
} from '../ring/messages.ts';
import type { Inbox, Outbox } from '../ring/ring_endpoints.ts';
import type { Stage } from '../ring/stage.ts';
import type { Ledger } from './ledger.ts';

/** Messages settled per step before output is flushed. */
export const SETTLEMENT_BATCH_MAX = 1024;

export interface SettlementStageLinks {
  events: Inbox; // M→T
  reports: Outbox; // T→G
  credits: Outbox; // T→S
}

/** The ledger's output, encoded into the two outboxes. */
export class RingLedgerSink implements LedgerSink {
  private readonly credit = { accountId: 0, assetId: 0, amountUnits: 0 };
  private readonly closed = { orderId: 0 };
  private readonly balance = { accountId: 0, assetId: 0, availableUnits: 0, lockedUnits: 0 };

  constructor(
    private readonly reports: Outbox,
    private readonly credits: Outbox,
  ) {}

  onCredit(accountId: number, assetId: number, amountUnits: number): void {
    this.credit.accountId = accountId;
    this.credit.assetId = assetId;
    this.credit.amountUnits = amountUnits;
    this.credits.write(encodeCredit, this.credit);
  }

  onOrderClosed(orderId: number): void {
    this.closed.orderId = orderId;
    this.credits.write(encodeOrderClosed, this.closed);
  }

  onBalance(accountId: number, assetId: number, availableUnits: number, lockedUnits: number): void {
    this.balance.accountId = accountId;
    this.balance.assetId = assetId;
    this.balance.availableUnits = availableUnits;
    this.balance.lockedUnits = lockedUnits;
    this.reports.write(encodeBalance, this.balance);
  }
}

export class SettlementStage implements Stage {
  private readonly message = createCommandMessage();
  private readonly trade = createTradeEvent();
  private readonly done = createOrderDoneEvent();

  constructor(
    private readonly ledger: Ledger,
    private readonly links: SettlementStageLinks,
  ) {}

  step(): boolean {
    if (!this.flushInOrder()) return false;
    const { events, reports, credits } = this.links;
    const count = Math.min(events.available(), SETTLEMENT_BATCH_MAX);
    if (count === 0) return false;
    let done = 0;
    while (done < count && reports.staged === 0 && credits.staged === 0) {
      this.settle(events.ring, events.offset(done));
      done += 1;
    }
    events.release(done);
    this.flushInOrder();
    return true;
  }

  hasWork(): boolean {
    const { events, reports, credits } = this.links;
    if (credits.staged > 0) return credits.freeSlots() > 0;
    if (reports.staged > 0) return reports.freeSlots() > 0;
    return events.available() > 0;
  }

  /** Credits first; results only once every credit before them is published. */
  private flushInOrder(): boolean {
    const { reports, credits } = this.links;
    credits.flush();
    if (credits.staged > 0) return false;
    reports.flush();
    return reports.staged === 0;
  }

  /**
   * Settles one message and forwards it to the gateway, in the order the in-process core reports
   * them (src/core/exchange_core.ts): a command before the balance changes it causes, a trade or
   * order-done after the ledger has settled it.
   */
  private settle(views: Inbox['ring'], offset: number): void {
    const { reports } = this.links;
    switch (readTag(views, offset)) {
      case MessageTag.Command:
        reports.forward(views, offset);
        decodeCommand(views, offset, this.message);
        this.ledger.applyCommand(this.message.command);
        return;
      case MessageTag.Trade:
        this.ledger.onTrade(decodeTrade(views, offset, this.trade));
        reports.forward(views, offset);
        return;
      case MessageTag.OrderDone:
        this.ledger.onOrderDone(decodeOrderDone(views, offset, this.done));
        reports.forward(views, offset);
        return;
      default:
        // Level, CancelReject and CommandEnd settle nothing; they are only forwarded.
        reports.forward(views, offset);
        return;
    }
  }
}
