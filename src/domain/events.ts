/**
 * Events the matching engine emits and the ledger consumes. The engine reuses one event object
 * per kind and hands it to its sink synchronously, so the steady-state hot path allocates nothing:
 * a sink copies what it needs before returning.
 */
import type { Command, Side } from './commands.ts';

export const DoneReason = { Filled: 1, Expired: 2, Cancelled: 3 } as const;
export type DoneReason = (typeof DoneReason)[keyof typeof DoneReason];

export interface TradeEvent {
  marketId: number;
  /** Counter inside the matching engine, from 1, gap-free per engine (not per market). */
  tradeId: number;
  /** seq and timestamp of the command that caused the trade (the taker's). */
  seq: number;
  timestampMs: number;
  takerOrderId: number;
  takerAccountId: number;
  takerSide: Side;
  makerOrderId: number;
  makerAccountId: number;
  /** The maker's price. */
  priceTicks: number;
  qtySteps: number;
  /** Unfilled quantity after this trade; a maker at 0 is followed by its Filled done event. */
  makerRemainingSteps: number;
  takerRemainingSteps: number;
}

export interface OrderDoneEvent {
  marketId: number;
  orderId: number;
  accountId: number;
  side: Side;
  reason: DoneReason;
  /** Unfilled quantity when the order left (0 for Filled; for a market buy the steps it never bought: 0). */
  remainingSteps: number;
  seq: number;
}

export interface LevelEvent {
  marketId: number;
  side: Side;
  priceTicks: number;
  /** Total quantity resting at the level after the change; 0 means the level is gone. */
  qtySteps: number;
}

export interface CancelRejectEvent {
  orderId: number;
  accountId: number;
  seq: number;
}

/** Where the matching engine sends what it did, in order, within `apply`. */
export interface MatchSink {
  onTrade(event: Readonly<TradeEvent>): void;
  onOrderDone(event: Readonly<OrderDoneEvent>): void;
  onLevel(event: Readonly<LevelEvent>): void;
  /** A sequenced cancel found its order no longer open (filled or expired in between). */
  onCancelReject(event: Readonly<CancelRejectEvent>): void;
}

/** Where the ledger sends what flows back: credits to the sequencer's spendable view, balance changes. */
export interface LedgerSink {
  /** `amountUnits` became available to `accountId` (deposit, fill proceeds, release). */
  onCredit(accountId: number, assetId: number, amountUnits: number): void;
  /** The order left the book for good; the sequencer forgets it as a cancel target. */
  onOrderClosed(orderId: number): void;
  onBalance(accountId: number, assetId: number, availableUnits: number, lockedUnits: number): void;
}

/**
 * Everything that happens to one sequenced command, in order, as the gateway's read models see it:
 * onCommand, then its matching events and balance changes, then onCommandEnd. The threaded pipeline
 * delivers these from ring T→G on the main thread; recovery delivers them from replay.
 */
export interface ExecutionSink extends MatchSink {
  onCommand(command: Readonly<Command>): void;
  onBalance(accountId: number, assetId: number, availableUnits: number, lockedUnits: number): void;
  onCommandEnd(command: Readonly<Command>): void;
}
