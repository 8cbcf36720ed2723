/**
 * The ledger driven by hand-written matching events: every settlement path, its credits and
 * balance reports, and the invariants after each step.
 */
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import type { Command } from '../../src/domain/commands.ts';
import { Side, TimeInForce } from '../../src/domain/commands.ts';
import type { LedgerSink, OrderDoneEvent, TradeEvent } from '../../src/domain/events.ts';
import { DoneReason } from '../../src/domain/events.ts';
import type { CoreLimits } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import type { LedgerState } from '../../src/settlement/ledger.ts';
import { Ledger } from '../../src/settlement/ledger.ts';
import {
  BTC,
  BTC_USDT,
  ETH,
  ETH_USDT,
  SMALL_LIMITS,
  USDT,
  cancel,
  deposit,
  limit,
  marketBuy,
  marketSell,
  withdraw,
} from '../sequencer/command_builders.ts';

const marketSet = defaultMarketSet();
const ETH_STEP = marketSet.markets[ETH_USDT]!.stepUnits; // 10_000 ETH units; notional = ticks × steps
const BTC_STEP = marketSet.markets[BTC_USDT]!.stepUnits; // 100 BTC units; notional = ticks × steps / 100

class RecordingSink implements LedgerSink {
  credits: [number, number, number][] = [];
  closed: number[] = [];
  balances: [number, number, number, number][] = [];

  onCredit(accountId: number, assetId: number, amountUnits: number): void {
    this.credits.push([accountId, assetId, amountUnits]);
  }

  onOrderClosed(orderId: number): void {
    this.closed.push(orderId);
  }

  onBalance(accountId: number, assetId: number, availableUnits: number, lockedUnits: number): void {
    this.balances.push([accountId, assetId, availableUnits, lockedUnits]);
  }

  clear(): void {
    this.credits = [];
    this.closed = [];
    this.balances = [];
  }
}

/** A ledger, its sink, and the seq and tradeId counters that the sequencer and engine would keep. */
class Harness {
  readonly sink = new RecordingSink();
  readonly ledger: Ledger;
  private seq = 0;
  private tradeId = 0;

  constructor(limits: CoreLimits = SMALL_LIMITS) {
    this.ledger = new Ledger(marketSet, limits, this.sink);
  }

  /** Applies a command with the next seq; checks the invariants; returns the command (an order's id is its seq). */
  apply(command: Command): Command {
    this.seq += 1;
    command.seq = this.seq;
    this.ledger.applyCommand(command);
    this.ledger.checkInvariants();
    return command;
  }

  trade(taker: Command, maker: Command, priceTicks: number, qtySteps: number, takerRemaining: number, makerRemaining: number): void {
    this.tradeId += 1;
    const event: TradeEvent = {
      marketId: taker.marketId,
      tradeId: this.tradeId,
      seq: taker.seq,
      timestampMs: 0,
      takerOrderId: taker.seq,
      takerAccountId: taker.accountId,
      takerSide: taker.side,
      makerOrderId: maker.seq,
      makerAccountId: maker.accountId,
      priceTicks,
      qtySteps,
      makerRemainingSteps: makerRemaining,
      takerRemainingSteps: takerRemaining,
    };
    this.ledger.onTrade(event);
    this.ledger.checkInvariants();
  }

  done(order: Command, reason: DoneReason, remainingSteps: number): void {
    const event: OrderDoneEvent = {
      marketId: order.marketId,
      orderId: order.seq,
      accountId: order.accountId,
      side: order.side,
      reason,
      remainingSteps,
      seq: this.seq,
    };
    this.ledger.onOrderDone(event);
    this.ledger.checkInvariants();
  }

  fund(accountId: number, assetId: number, amountUnits: number): void {
    this.apply(deposit(accountId, assetId, amountUnits));
  }

  balance(accountId: number, assetId: number): [number, number] {
    return [this.ledger.availableUnits(accountId, assetId), this.ledger.lockedUnits(accountId, assetId)];
  }
}

/** Accounts 1 (buyer) and 2 (seller), funded; the sink starts empty. */
function twoTraders(limits?: CoreLimits): Harness {
  const harness = new Harness(limits);
  harness.fund(1, USDT, 10_000_000);
  harness.fund(2, ETH, 100 * ETH_STEP);
  harness.fund(2, BTC, 100 * BTC_STEP);
  harness.sink.clear();
  return harness;
}

describe('Ledger: deposits and withdrawals', () => {
  it('credits a deposit to available, creating the account, and reports credit and balance', () => {
    const harness = new Harness();
    expect(harness.ledger.hasAccount(5)).toBe(false);
    harness.apply(deposit(5, USDT, 1_500));
    harness.apply(deposit(5, USDT, 500));
    expect(harness.ledger.hasAccount(5)).toBe(true);
    expect(harness.balance(5, USDT)).toEqual([2_000, 0]);
    expect(harness.ledger.supplyOf(USDT)).toBe(2_000);
    expect(harness.sink.credits).toEqual([
      [5, USDT, 1_500],
      [5, USDT, 500],
    ]);
    expect(harness.sink.balances).toEqual([
      [5, USDT, 1_500, 0],
      [5, USDT, 2_000, 0],
    ]);
  });

  it('takes a withdrawal from available and the supply, reporting the balance but no credit', () => {
    const harness = new Harness();
    harness.fund(5, USDT, 2_000);
    harness.sink.clear();
    harness.apply(withdraw(5, USDT, 1_200));
    expect(harness.balance(5, USDT)).toEqual([800, 0]);
    expect(harness.ledger.supplyOf(USDT)).toBe(800);
    expect(harness.sink.credits).toEqual([]);
    expect(harness.sink.balances).toEqual([[5, USDT, 800, 0]]);
    harness.apply(withdraw(5, USDT, 800));
    expect(harness.balance(5, USDT)).toEqual([0, 0]);
  });

  it('refuses a withdrawal the sequencer could not have accepted', () => {
    const harness = new Harness();
    harness.fund(5, USDT, 100);
    expect(() => harness.apply(withdraw(5, USDT, 101))).toThrow(/exceeds account 5 available/);
    expect(() => harness.apply(withdraw(6, USDT, 1))).toThrow(/unknown account 6/);
    expect(() => harness.apply(withdraw(5, USDT, 0))).toThrow(InvariantError);
    expect(harness.balance(5, USDT)).toEqual([100, 0]);
  });

  it('refuses commands out of seq order', () => {
    const harness = new Harness();
    harness.fund(5, USDT, 100);
    const stale = deposit(5, USDT, 1, 1);
    expect(() => harness.ledger.applyCommand(stale)).toThrow(/seq 1 after 1/);
  });

  it('lists balances by ascending account id and asset id', () => {
    const harness = new Harness();
    harness.fund(9, USDT, 9);
    harness.fund(2, ETH, 2);
    const seen: [number, number, number, number][] = [];
    harness.ledger.forEachBalance((accountId, assetId, available, locked) => seen.push([accountId, assetId, available, locked]));
    expect(seen).toEqual([
      [2, BTC, 0, 0],
      [2, ETH, 2, 0],
      [2, USDT, 0, 0],
      [9, BTC, 0, 0],
      [9, ETH, 0, 0],
      [9, USDT, 9, 0],
    ]);
  });
});

describe('Ledger: placing orders locks their reservation', () => {
  it('locks ceil(price × qty) of quote for a limit buy, qty of base for a sell, the budget for a market buy', () => {
    const harness = twoTraders();
    harness.apply(limit(1, BTC_USDT, Side.Buy, 101, 3)); // 3.03 → 4
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 4, 4]);
    harness.apply(marketBuy(1, ETH_USDT, 5_000));
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 5_004, 5_004]);
    harness.apply(limit(2, ETH_USDT, Side.Sell, 100, 7));
    expect(harness.balance(2, ETH)).toEqual([93 * ETH_STEP, 7 * ETH_STEP]);
    harness.apply(marketSell(2, BTC_USDT, 5));
    expect(harness.balance(2, BTC)).toEqual([95 * BTC_STEP, 5 * BTC_STEP]);
    expect(harness.ledger.openOrderCount).toBe(4);
    expect(harness.sink.credits).toEqual([]);
    expect(harness.sink.balances.at(-1)).toEqual([2, BTC, 95 * BTC_STEP, 5 * BTC_STEP]);
  });

  it('changes nothing for a cancel command: the done event releases', () => {
    const harness = twoTraders();
    const sell = harness.apply(limit(2, ETH_USDT, Side.Sell, 100, 7));
    const before = harness.ledger.exportState();
    harness.apply(cancel(2, sell.seq));
    expect({ ...harness.ledger.exportState(), lastSeq: before.lastSeq }).toEqual(before);
  });

  it('refuses an order the sequencer could not have accepted', () => {
    const harness = twoTraders();
    expect(() => harness.apply(limit(1, ETH_USDT, Side.Buy, 1_000_001, 10))).toThrow(/reserves more than account 1 has/);
    expect(() => harness.apply(limit(3, ETH_USDT, Side.Buy, 1, 1))).toThrow(/unknown account 3/);
    expect(() => harness.apply(limit(1, 7, Side.Buy, 1, 1))).toThrow(/unknown market 7/);
  });

  it('holds at most ordersOpenMax orders and reuses the slots of closed ones', () => {
    const harness = twoTraders();
    const orders = [1, 2, 3, 4].map((price) => harness.apply(limit(1, ETH_USDT, Side.Buy, price, 1)));
    const before = harness.ledger.exportState();
    expect(() => harness.apply(limit(1, ETH_USDT, Side.Buy, 5, 1))).toThrow(/more than ordersOpenMax/);
    expect({ ...harness.ledger.exportState(), lastSeq: before.lastSeq }).toEqual(before);
    harness.done(orders[1]!, DoneReason.Cancelled, 1);
    harness.apply(limit(1, ETH_USDT, Side.Buy, 6, 1));
    expect(harness.ledger.openOrderCount).toBe(4);
  });
});

describe('Ledger: trades', () => {
  it('settles a limit buy taker against a resting sell at the same price (exact market)', () => {
    const harness = twoTraders();
    const sell = harness.apply(limit(2, ETH_USDT, Side.Sell, 250, 10));
    const buy = harness.apply(limit(1, ETH_USDT, Side.Buy, 250, 4));
    harness.sink.clear();
    harness.trade(buy, sell, 250, 4, 0, 6);
    // Buyer: paid 1000 from its lock, got 4 ETH steps; seller: gave 4 steps from its lock, got 1000.
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 1_000, 0]);
    expect(harness.balance(1, ETH)).toEqual([4 * ETH_STEP, 0]);
    expect(harness.balance(2, ETH)).toEqual([90 * ETH_STEP, 6 * ETH_STEP]);
    expect(harness.balance(2, USDT)).toEqual([1_000, 0]);
    expect(harness.sink.credits).toEqual([
      [2, USDT, 1_000],
      [1, ETH, 4 * ETH_STEP],
    ]);
    expect(harness.sink.balances).toEqual([
      [1, USDT, 10_000_000 - 1_000, 0],
      [1, ETH, 4 * ETH_STEP, 0],
      [2, ETH, 90 * ETH_STEP, 6 * ETH_STEP],
      [2, USDT, 1_000, 0],
    ]);
    harness.sink.clear();
    harness.done(buy, DoneReason.Filled, 0);
    expect(harness.sink.credits).toEqual([]); // nothing left to release
    expect(harness.sink.closed).toEqual([buy.seq]);
    expect(harness.ledger.hasOrder(buy.seq)).toBe(false);
    expect(harness.ledger.hasOrder(sell.seq)).toBe(true);
  });

  it('settles a sell taker against a resting buy maker, releasing the maker at its fill', () => {
    const harness = twoTraders();
    const buy = harness.apply(limit(1, ETH_USDT, Side.Buy, 300, 5));
    const sell = harness.apply(limit(2, ETH_USDT, Side.Sell, 280, 8));
    harness.trade(sell, buy, 300, 5, 3, 0);
    harness.done(buy, DoneReason.Filled, 0);
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 1_500, 0]);
    expect(harness.balance(1, ETH)).toEqual([5 * ETH_STEP, 0]);
    // The seller sold at the maker's better price and keeps 3 steps resting.
    expect(harness.balance(2, USDT)).toEqual([1_500, 0]);
    expect(harness.balance(2, ETH)).toEqual([92 * ETH_STEP, 3 * ETH_STEP]);
    expect(harness.ledger.exportState().orders).toEqual([
      { orderId: sell.seq, accountId: 2, marketId: ETH_USDT, side: Side.Sell, isMarket: false, priceTicks: 280, remainingSteps: 3, reservedUnits: 3 * ETH_STEP },
    ]);
  });

  it('releases price improvement to a limit buy taker that keeps resting', () => {
    const harness = twoTraders();
    const sell = harness.apply(limit(2, ETH_USDT, Side.Sell, 100, 4));
    const buy = harness.apply(limit(1, ETH_USDT, Side.Buy, 110, 10)); // locks 1100
    harness.sink.clear();
    harness.trade(buy, sell, 100, 4, 6, 0);
    harness.done(sell, DoneReason.Filled, 0);
    // Paid 400 for 4 steps; the 6 left keep exactly 6 × 110 = 660 locked; 40 comes back.
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 1_100 + 40, 660]);
    expect(harness.sink.credits).toContainEqual([1, USDT, 40]);
    expect(harness.ledger.exportState().orders[0]).toMatchObject({ orderId: buy.seq, remainingSteps: 6, reservedUnits: 660 });
  });

  it('keeps a buy on a rounding market reserving ceil(limit × remaining) while paying floor per fill', () => {
    // BTC-USDT: 50 ticks × 1 step = 0.5 units. A buy of 3 steps at 50 reserves ceil(1.5) = 2.
    const harness = twoTraders();
    const buy = harness.apply(limit(1, BTC_USDT, Side.Buy, 50, 3));
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 2, 2]);
    const sell1 = harness.apply(limit(2, BTC_USDT, Side.Sell, 50, 1));
    harness.sink.clear();
    harness.trade(sell1, buy, 50, 1, 0, 2);
    harness.done(sell1, DoneReason.Filled, 0);
    // The fill costs floor(0.5) = 0; the remaining 2 steps need ceil(1.0) = 1: 1 unit comes back.
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 1, 1]);
    expect(harness.balance(1, BTC)).toEqual([BTC_STEP, 0]);
    expect(harness.balance(2, USDT)).toEqual([0, 0]);
    expect(harness.sink.credits).toEqual([
      [1, BTC, BTC_STEP],
      [1, USDT, 1],
    ]); // no zero credit for the seller
    const sell2 = harness.apply(limit(2, BTC_USDT, Side.Sell, 40, 2));
    harness.trade(sell2, buy, 50, 2, 0, 0); // at the maker's price
    harness.done(buy, DoneReason.Filled, 0);
    harness.done(sell2, DoneReason.Filled, 0);
    // floor(100 / 100) = 1 paid; in total the buyer paid 1 for 3 steps and the seller got exactly that.
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 1, 0]);
    expect(harness.balance(1, BTC)).toEqual([3 * BTC_STEP, 0]);
    expect(harness.balance(2, USDT)).toEqual([1, 0]);
    expect(harness.balance(2, BTC)).toEqual([97 * BTC_STEP, 0]);
  });

  it('releases the last rounding unit of a buy with the fill that completes it', () => {
    // 101 ticks × 3 steps = 3.03 → reserves 4; three fills of 1 step pay 1 each; 1 is left over.
    const harness = twoTraders();
    const buy = harness.apply(limit(1, BTC_USDT, Side.Buy, 101, 3));
    const sell = harness.apply(limit(2, BTC_USDT, Side.Sell, 101, 3));
    harness.trade(sell, buy, 101, 1, 2, 2);
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 4, 3]); // ceil(2.02) = 3 kept
    harness.trade(sell, buy, 101, 1, 1, 1);
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 4, 2]); // ceil(1.01) = 2 kept
    harness.sink.clear();
    harness.trade(sell, buy, 101, 1, 0, 0);
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 3, 0]);
    expect(harness.sink.credits).toEqual([
      [2, USDT, 1],
      [1, BTC, BTC_STEP],
      [1, USDT, 1],
    ]);
    harness.sink.clear();
    harness.done(buy, DoneReason.Filled, 0);
    harness.done(sell, DoneReason.Filled, 0);
    expect(harness.sink.credits).toEqual([]);
    expect(harness.sink.closed).toEqual([buy.seq, sell.seq]);
    expect(harness.balance(2, USDT)).toEqual([3, 0]);
  });

  it('spends a market buy budget fill by fill and releases the rest when it is done', () => {
    const harness = twoTraders();
    const sellLow = harness.apply(limit(2, ETH_USDT, Side.Sell, 100, 2));
    const sellHigh = harness.apply(limit(2, ETH_USDT, Side.Sell, 120, 5));
    const buy = harness.apply(marketBuy(1, ETH_USDT, 500));
    harness.trade(buy, sellLow, 100, 2, 0, 0);
    harness.done(sellLow, DoneReason.Filled, 0);
    harness.trade(buy, sellHigh, 120, 2, 0, 3);
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 500, 500 - 200 - 240]);
    harness.sink.clear();
    harness.done(buy, DoneReason.Expired, 0);
    expect(harness.sink.credits).toEqual([[1, USDT, 60]]);
    expect(harness.sink.closed).toEqual([buy.seq]);
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 440, 0]);
    expect(harness.balance(1, ETH)).toEqual([4 * ETH_STEP, 0]);
    expect(harness.balance(2, USDT)).toEqual([440, 0]);
  });

  it('releases the unsold base of a market sell that expires', () => {
    const harness = twoTraders();
    const buy = harness.apply(limit(1, ETH_USDT, Side.Buy, 100, 3));
    const sell = harness.apply(marketSell(2, ETH_USDT, 10));
    harness.trade(sell, buy, 100, 3, 7, 0);
    harness.done(buy, DoneReason.Filled, 0);
    harness.sink.clear();
    harness.done(sell, DoneReason.Expired, 7);
    expect(harness.sink.credits).toEqual([[2, ETH, 7 * ETH_STEP]]);
    expect(harness.balance(2, ETH)).toEqual([97 * ETH_STEP, 0]);
    expect(harness.balance(2, USDT)).toEqual([300, 0]);
  });

  it('releases what is left of an IOC limit buy that expires after a partial fill', () => {
    const harness = twoTraders();
    const sell = harness.apply(limit(2, BTC_USDT, Side.Sell, 99, 1));
    const buy = harness.apply(limit(1, BTC_USDT, Side.Buy, 101, 5, { timeInForce: TimeInForce.IOC })); // ceil(5.05) = 6
    harness.trade(buy, sell, 99, 1, 4, 0);
    harness.done(sell, DoneReason.Filled, 0);
    // Paid floor(0.99) = 0; 4 left keep ceil(4.04) = 5: 1 released at the trade.
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 5, 5]);
    harness.sink.clear();
    harness.done(buy, DoneReason.Expired, 4);
    expect(harness.sink.credits).toEqual([[1, USDT, 5]]);
    expect(harness.sink.balances).toEqual([[1, USDT, 10_000_000, 0]]);
    expect(harness.balance(1, BTC)).toEqual([BTC_STEP, 0]);
  });

  it('releases a cancelled resting buy and sell in full, and a partly filled one for its remainder', () => {
    const harness = twoTraders();
    const buy = harness.apply(limit(1, ETH_USDT, Side.Buy, 90, 10));
    const sell = harness.apply(limit(2, ETH_USDT, Side.Sell, 95, 10));
    const taker = harness.apply(marketSell(2, ETH_USDT, 4));
    harness.trade(taker, buy, 90, 4, 0, 6);
    harness.done(taker, DoneReason.Filled, 0);
    harness.apply(cancel(1, buy.seq));
    harness.sink.clear();
    harness.done(buy, DoneReason.Cancelled, 6);
    expect(harness.sink.credits).toEqual([[1, USDT, 540]]);
    expect(harness.sink.closed).toEqual([buy.seq]);
    harness.apply(cancel(2, sell.seq));
    harness.done(sell, DoneReason.Cancelled, 10);
    expect(harness.balance(1, USDT)).toEqual([10_000_000 - 360, 0]);
    expect(harness.balance(2, ETH)).toEqual([96 * ETH_STEP, 0]);
    expect(harness.ledger.openOrderCount).toBe(0);
    // Book levels and cancel rejects move no money.
    const before = harness.ledger.exportState();
    harness.ledger.onLevel({ marketId: ETH_USDT, side: Side.Buy, priceTicks: 90, qtySteps: 0 });
    harness.ledger.onCancelReject({ orderId: buy.seq, accountId: 1, seq: 9 });
    expect(harness.ledger.exportState()).toEqual(before);
  });

  it('settles a self-trade without creating or losing anything', () => {
    const harness = twoTraders();
    harness.fund(2, USDT, 1_000);
    const sell = harness.apply(limit(2, ETH_USDT, Side.Sell, 100, 5));
    const buy = harness.apply(limit(2, ETH_USDT, Side.Buy, 100, 5));
    harness.sink.clear();
    harness.trade(buy, sell, 100, 5, 0, 0);
    expect(harness.sink.balances).toHaveLength(2);
    harness.done(sell, DoneReason.Filled, 0);
    harness.done(buy, DoneReason.Filled, 0);
    expect(harness.balance(2, USDT)).toEqual([1_000, 0]);
    expect(harness.balance(2, ETH)).toEqual([100 * ETH_STEP, 0]);
  });

  it('withdraws proceeds of trades', () => {
    const harness = twoTraders();
    const sell = harness.apply(limit(2, ETH_USDT, Side.Sell, 100, 5));
    const buy = harness.apply(limit(1, ETH_USDT, Side.Buy, 100, 5));
    harness.trade(buy, sell, 100, 5, 0, 0);
    harness.done(sell, DoneReason.Filled, 0);
    harness.done(buy, DoneReason.Filled, 0);
    harness.apply(withdraw(2, USDT, 500));
    harness.apply(withdraw(1, ETH, 5 * ETH_STEP));
    expect(harness.balance(2, USDT)).toEqual([0, 0]);
    expect(harness.balance(1, ETH)).toEqual([0, 0]);
    expect(harness.ledger.supplyOf(USDT)).toBe(10_000_000 - 500);
    expect(harness.ledger.supplyOf(ETH)).toBe(95 * ETH_STEP);
  });
});

describe('Ledger: events that cannot be right are refused', () => {
  function withBook(): { harness: Harness; buy: Command; sell: Command } {
    const harness = twoTraders();
    const buy = harness.apply(limit(1, ETH_USDT, Side.Buy, 100, 5));
    const sell = harness.apply(limit(2, ETH_USDT, Side.Sell, 110, 5));
    return { harness, buy, sell };
  }

  it('refuses trades that do not match the orders', () => {
    const { harness, buy, sell } = withBook();
    const before = harness.ledger.exportState();
    expect(() => harness.trade({ ...buy, seq: 99 }, sell, 110, 1, 4, 4)).toThrow(/order 99 is not open/);
    expect(() => harness.trade({ ...buy, accountId: 2 }, sell, 110, 1, 4, 4)).toThrow(/account mismatch/);
    expect(() => harness.trade(buy, sell, 110, 1, 4, 4)).toThrow(/above the buy limit/);
    expect(() => harness.trade(sell, buy, 105, 1, 4, 4)).toThrow(/not at the maker's price/);
    expect(() => harness.trade(sell, buy, 100, 0, 5, 5)).toThrow(/bad qty/);
    expect(() => harness.trade(sell, { ...sell, side: Side.Buy }, 100, 1, 4, 4)).toThrow(/trades with itself/);
    expect(harness.ledger.exportState()).toEqual(before);
    const taker = harness.apply(limit(2, ETH_USDT, Side.Sell, 100, 2));
    const withTaker = harness.ledger.exportState();
    expect(() => harness.trade(taker, buy, 100, 3, 0, 2)).toThrow(/sell \d+ filled beyond its quantity/);
    expect(() => harness.trade(taker, buy, 100, 6, 0, 0)).toThrow(/filled beyond its quantity/);
    expect(harness.ledger.exportState()).toEqual(withTaker);
  });

  it('refuses a trade whose remaining quantities disagree with the ledger', () => {
    const { harness, buy } = withBook();
    const taker = harness.apply(limit(2, ETH_USDT, Side.Sell, 100, 2));
    expect(() => harness.trade(taker, buy, 100, 2, 0, 4)).toThrow(/remaining 4, ledger 3/);
  });

  it('refuses done events that do not match the order', () => {
    const { harness, buy } = withBook();
    expect(() => harness.done({ ...buy, seq: 99 }, DoneReason.Cancelled, 5)).toThrow(/order 99 is not open/);
    expect(() => harness.done(buy, DoneReason.Cancelled, 4)).toThrow(/remaining 4, ledger 5/);
    expect(() => harness.done(buy, DoneReason.Filled, 5)).toThrow(/filled with steps left/);
    expect(() => harness.done({ ...buy, side: Side.Sell }, DoneReason.Cancelled, 5)).toThrow(/side mismatch/);
    expect(() => harness.done(buy, 7 as DoneReason, 5)).toThrow(/unknown reason/);
    expect(harness.ledger.hasOrder(buy.seq)).toBe(true);
  });
});

describe('Ledger: invariants', () => {
  /** A ledger with some of everything: balances, a partly filled buy with improvement, resting sells. */
  function busyLedger(): Harness {
    const harness = twoTraders({ ...SMALL_LIMITS, ordersOpenMax: 16 });
    harness.fund(3, USDT, 77);
    const sell = harness.apply(limit(2, BTC_USDT, Side.Sell, 150, 7));
    const buy = harness.apply(limit(1, BTC_USDT, Side.Buy, 163, 10));
    harness.trade(buy, sell, 150, 7, 3, 0);
    harness.done(sell, DoneReason.Filled, 0);
    harness.apply(limit(2, ETH_USDT, Side.Sell, 500, 9));
    harness.apply(withdraw(1, USDT, 1_000));
    return harness;
  }

  function mutated(state: LedgerState, change: (state: LedgerState) => void): LedgerState {
    const copy = structuredClone(state);
    change(copy);
    return copy;
  }

  it('holds through every path above, and catches each kind of broken state', () => {
    const harness = busyLedger();
    harness.ledger.checkInvariants();
    const state = harness.ledger.exportState();
    const restore = (broken: LedgerState): Ledger => Ledger.fromState(marketSet, { ...SMALL_LIMITS, ordersOpenMax: 16 }, new RecordingSink(), broken);
    expect(() => restore(mutated(state, (s) => (s.accounts[0]!.availableUnits[USDT]! += 1)))).toThrow(
      /asset 2 balances sum to .*deposits − withdrawals/,
    );
    expect(() => restore(mutated(state, (s) => (s.supplyUnits[BTC]! -= 1)))).toThrow(/asset 0 balances sum/);
    expect(() => restore(mutated(state, (s) => (s.accounts[2]!.availableUnits[USDT] = -1)))).toThrow(/negative/);
    expect(() =>
      restore(
        mutated(state, (s) => {
          s.accounts[0]!.availableUnits[USDT]! -= 1;
          s.accounts[0]!.lockedUnits[USDT]! += 1;
        }),
      ),
    ).toThrow(/account 1 asset 2 locked .* open orders reserve/);
    expect(() =>
      restore(
        mutated(state, (s) => {
          s.orders[0]!.reservedUnits += 1;
          s.accounts[0]!.lockedUnits[USDT]! += 1;
          s.accounts[0]!.availableUnits[USDT]! -= 1;
        }),
      ),
    ).toThrow(/buy \d+ reserves \d+, its remainder needs/);
    expect(() => restore(mutated(state, (s) => (s.orders[1]!.remainingSteps -= 1)))).toThrow(/sell \d+ reserves/);
    expect(() => restore(mutated(state, (s) => (s.orders[1]!.accountId = 42)))).toThrow(/unknown account 42/);
  });

  it('catches a broken live ledger, not just a broken snapshot', () => {
    const harness = busyLedger();
    // Reach inside on purpose, as a bug would: one unit appears from nowhere.
    const internals = harness.ledger as unknown as { balances: Float64Array };
    internals.balances[0]! += 1; // available of the first (account, asset)
    expect(() => harness.ledger.checkInvariants()).toThrow(InvariantError);
  });

  it('catches an order table that disagrees with the order slots, both ways', () => {
    // The check walks the slots, not the table: an entry missing from the table, or one the slots do not hold, must still show.
    type Internals = { slotByOrderId: { insert(id: number, value: number): number; get(id: number): number; delete(id: number): boolean } };
    const missing = busyLedger();
    const [openOrder] = missing.ledger.exportState().orders;
    (missing.ledger as unknown as Internals).slotByOrderId.delete(openOrder!.orderId);
    expect(() => missing.ledger.checkInvariants()).toThrow(/is not in the order table there/);
    const extra = busyLedger();
    (extra.ledger as unknown as Internals).slotByOrderId.insert(999_999, 0);
    expect(() => extra.ledger.checkInvariants()).toThrow(/the order table and the open slots disagree/);
  });
});

describe('Ledger: snapshots', () => {
  it('round-trips exactly through JSON and settles the same afterwards', () => {
    const limits = { ...SMALL_LIMITS, ordersOpenMax: 8 };
    const live = new Harness(limits);
    live.fund(1, USDT, 1_000_000);
    live.fund(2, BTC, 1_000 * BTC_STEP);
    const sell = live.apply(limit(2, BTC_USDT, Side.Sell, 120, 9));
    const buy = live.apply(limit(1, BTC_USDT, Side.Buy, 133, 20));
    live.trade(buy, sell, 120, 9, 11, 0);
    live.done(sell, DoneReason.Filled, 0);
    const budget = live.apply(marketBuy(1, ETH_USDT, 999)); // a snapshot may even catch one mid-command

    const state = live.ledger.exportState();
    const sink = new RecordingSink();
    const restored = Ledger.fromState(marketSet, limits, sink, JSON.parse(JSON.stringify(state)) as LedgerState);
    expect(restored.exportState()).toEqual(state);

    live.sink.clear();
    const next = (ledger: Ledger): void => {
      const sell2 = limit(2, BTC_USDT, Side.Sell, 130, 11, { seq: state.lastSeq + 1 });
      ledger.applyCommand(sell2);
      ledger.onTrade({
        marketId: BTC_USDT, tradeId: 2, seq: sell2.seq, timestampMs: 0, takerOrderId: sell2.seq, takerAccountId: 2,
        takerSide: Side.Sell, makerOrderId: buy.seq, makerAccountId: 1, priceTicks: 133, qtySteps: 11,
        makerRemainingSteps: 0, takerRemainingSteps: 0,
      });
      for (const order of [buy, sell2]) {
        ledger.onOrderDone({ marketId: BTC_USDT, orderId: order.seq, accountId: order.accountId, side: order.side, reason: DoneReason.Filled, remainingSteps: 0, seq: sell2.seq });
      }
      ledger.onOrderDone({ marketId: ETH_USDT, orderId: budget.seq, accountId: 1, side: Side.Buy, reason: DoneReason.Expired, remainingSteps: 0, seq: sell2.seq });
      ledger.checkInvariants();
    };
    next(live.ledger);
    next(restored);
    expect(restored.exportState()).toEqual(live.ledger.exportState());
    expect(sink.credits).toEqual(live.sink.credits);
    expect(sink.balances).toEqual(live.sink.balances);
    expect(sink.closed).toEqual(live.sink.closed);
  });
});
