/**
 * The settlement ledger's stage shell: takes commands and matching events from M→T, settles them
 * in the ledger, and reports them to the gateway on T→G; credits and order closes go back to the
 * sequencer on T→S.
 *
 * What the gateway hears of a command (src/ring/messages.ts): Accepted (seq and timestamp only: the
 * gateway kept the command it submitted, so echoing all 124 bytes of it back cost both threads a
 * copy and the gateway a full decode), the matching events as they came, then one Balance per
 * (account, asset) the command changed, with its final values, then CommandEnd. The ledger reports
 * a balance after every change (a trade moves four), and the read models keep only the last value
 * of each, so the rest was work for this thread and the main thread with nothing to show for it.
 *
 * Ordering: credits are published to T→S before the results they belong to reach T→G, so by the
 * time a client hears of a deposit or a fill, the sequencer already has the credit waiting at the
 * front of its input: an immediate follow-up order never sees a stale spendable balance.
 */
import type { LedgerSink } from '../domain/events.ts';
import { assert } from '../domain/assert.ts';
import {
  MessageTag,
  createAcceptedMessage,
  createCommandMessage,
  createOrderDoneEvent,
  createTradeEvent,
  decodeCommand,
  decodeOrderDone,
  decodeTrade,
  encodeAccepted,
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

/**
 * Distinct (account, asset) balances held back per command before they are sent anyway: a sweep
 * through many makers sends them in groups of this many (a later change of one already sent is
 * sent again; the last value is what counts). Bounds the linear search and the burst of messages.
 */
export const BALANCES_PENDING_MAX = 64;

/**
 * Staging for T→G: one input message emits at most BALANCES_PENDING_MAX balances and itself (the
 * stage takes no new input while anything is staged).
 */
export const REPORTS_STAGING_SLOTS = 2 * BALANCES_PENDING_MAX;
assert(REPORTS_STAGING_SLOTS >= BALANCES_PENDING_MAX + 1, 'settlement: T→G staging holds a burst of balances and the message after it');

export interface SettlementStageLinks {
  events: Inbox; // M→T
  reports: Outbox; // T→G
  credits: Outbox; // T→S
}

/**
 * The ledger's output, encoded into the two outboxes: credits and closes at once, balances held
 * back per (account, asset) until `sendBalances` (the stage calls it before each CommandEnd).
 */
export class RingLedgerSink implements LedgerSink {
  private readonly credit = { accountId: 0, assetId: 0, amountUnits: 0 };
  private readonly closed = { orderId: 0 };
  private readonly balance = { accountId: 0, assetId: 0, availableUnits: 0, lockedUnits: 0 };
  /** The balances changed by the current command, in the order first changed (as the ledger reported them). */
  private readonly pendingAccountIds = new Float64Array(BALANCES_PENDING_MAX);
  private readonly pendingAssetIds = new Float64Array(BALANCES_PENDING_MAX);
  private readonly pendingAvailable = new Float64Array(BALANCES_PENDING_MAX);
  private readonly pendingLocked = new Float64Array(BALANCES_PENDING_MAX);
  private pendingCount = 0;

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
    const count = this.pendingCount;
    let index = 0;
    while (index < count && (this.pendingAccountIds[index] !== accountId || this.pendingAssetIds[index] !== assetId)) index += 1;
    if (index === BALANCES_PENDING_MAX) {
      this.sendBalances();
      index = 0;
    }
    if (index === this.pendingCount) {
      this.pendingAccountIds[index] = accountId;
      this.pendingAssetIds[index] = assetId;
      this.pendingCount = index + 1;
    }
    this.pendingAvailable[index] = availableUnits;
    this.pendingLocked[index] = lockedUnits;
  }

  /** Sends the balances held back, each once with its latest values, in the order first changed. */
  sendBalances(): void {
    const balance = this.balance;
    for (let index = 0; index < this.pendingCount; index += 1) {
      balance.accountId = this.pendingAccountIds[index]!;
      balance.assetId = this.pendingAssetIds[index]!;
      balance.availableUnits = this.pendingAvailable[index]!;
      balance.lockedUnits = this.pendingLocked[index]!;
      this.reports.write(encodeBalance, balance);
    }
    this.pendingCount = 0;
  }
}

export class SettlementStage implements Stage {
  private readonly message = createCommandMessage();
  private readonly accepted = createAcceptedMessage();
  private readonly trade = createTradeEvent();
  private readonly done = createOrderDoneEvent();

  constructor(
    private readonly ledger: Ledger,
    private readonly sink: RingLedgerSink,
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
   * Settles one message and reports it to the gateway: a command as Accepted, before anything it
   * causes; a trade or order-done after the ledger has settled it; the command's balances right
   * before its CommandEnd.
   */
  private settle(views: Inbox['ring'], offset: number): void {
    const { reports } = this.links;
    switch (readTag(views, offset)) {
      case MessageTag.Command: {
        const command = decodeCommand(views, offset, this.message).command;
        const accepted = this.accepted;
        accepted.requestId = this.message.requestId;
        accepted.seq = command.seq;
        accepted.timestampMs = command.timestampMs;
        reports.write(encodeAccepted, accepted);
        this.ledger.applyCommand(command);
        return;
      }
      case MessageTag.Trade:
        this.ledger.onTrade(decodeTrade(views, offset, this.trade));
        reports.forward(views, offset);
        return;
      case MessageTag.OrderDone:
        this.ledger.onOrderDone(decodeOrderDone(views, offset, this.done));
        reports.forward(views, offset);
        return;
      case MessageTag.CommandEnd:
        this.sink.sendBalances();
        reports.forward(views, offset);
        return;
      default:
        // Level and CancelReject settle nothing; they are only forwarded.
        reports.forward(views, offset);
        return;
    }
  }
}
