import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, Side, TimeInForce, createCommand } from '../../src/domain/commands.ts';
import { DoneReason } from '../../src/domain/events.ts';
import type { CoreLimits } from '../../src/domain/limits.ts';
import { defaultMarketSet, notionalFloor } from '../../src/domain/markets.ts';
import type { RestingOrder } from '../../src/matching/matching_engine.ts';
import { MatchingEngine } from '../../src/matching/matching_engine.ts';
import { buy, cancel, marketBuy, marketSell, sell } from './support/commands.ts';
import type { RecordedEvent } from './support/recording_sink.ts';
import { RecordingSink } from './support/recording_sink.ts';

const BTC = 0;
const ETH = 1;
const marketSet = defaultMarketSet();

function setup(limits: Partial<CoreLimits> = {}) {
  const sink = new RecordingSink();
  const engine = new MatchingEngine(
    marketSet,
    { ordersOpenMax: 64, accountsMax: 16, fillsPerCommandMax: 100, clientOrderIdsMax: 16, ...limits },
    sink,
  );
  /** Applies a command, checks the book invariants and returns the events it produced. */
  const run = (command: Command): RecordedEvent[] => {
    engine.apply(command);
    engine.checkInvariants();
    return sink.take();
  };
  return { engine, sink, run };
}

function openOrders(engine: MatchingEngine, marketId = ETH): RestingOrder[] {
  const orders: RestingOrder[] = [];
  for (const side of [Side.Buy, Side.Sell]) engine.forEachOpenOrder(marketId, side, (order) => orders.push({ ...order }));
  return orders;
}

function levels(engine: MatchingEngine, side: Side, marketId = ETH, depth = 100): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  engine.forEachLevel(marketId, side, depth, (price, qty) => result.push([price, qty]));
  return result;
}

const trades = (events: RecordedEvent[]) => events.filter((event) => event.kind === 'trade');
const fills = (events: RecordedEvent[]) =>
  trades(events).map((event) => (event.kind === 'trade' ? [event.makerOrderId, event.priceTicks, event.qtySteps] : []));
const doneOf = (events: RecordedEvent[], orderId: number) => events.find((event) => event.kind === 'done' && event.orderId === orderId);

describe('MatchingEngine: limit GTC', () => {
  it('rests a non-crossing order at its level and reports the level', () => {
    const { engine, run } = setup();
    expect(run(buy(1, 100, 5, { marketId: ETH }))).toEqual([{ kind: 'level', marketId: ETH, side: Side.Buy, priceTicks: 100, qtySteps: 5 }]);
    expect(run(buy(2, 100, 3, { marketId: ETH }))).toEqual([{ kind: 'level', marketId: ETH, side: Side.Buy, priceTicks: 100, qtySteps: 8 }]);
    expect(engine.bestBidTicks(ETH)).toBe(100);
    expect(engine.bestAskTicks(ETH)).toBe(-1);
    expect(engine.openOrderCount).toBe(2);
    expect(engine.bestBidTicks(BTC)).toBe(-1);
  });

  it('fills partially at the maker price, reports everything in order, then rests the remainder', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 5, { marketId: ETH, accountId: 7 }));
    const events = run(buy(2, 101, 8, { marketId: ETH, accountId: 9, timestampMs: 1234 }));
    expect(events).toEqual([
      {
        kind: 'trade', marketId: ETH, tradeId: 1, seq: 2, timestampMs: 1234,
        takerOrderId: 2, takerAccountId: 9, takerSide: Side.Buy,
        makerOrderId: 1, makerAccountId: 7, priceTicks: 100, qtySteps: 5,
        makerRemainingSteps: 0, takerRemainingSteps: 3,
      },
      { kind: 'done', marketId: ETH, orderId: 1, accountId: 7, side: Side.Sell, reason: DoneReason.Filled, remainingSteps: 0, seq: 2 },
      { kind: 'level', marketId: ETH, side: Side.Sell, priceTicks: 100, qtySteps: 0 },
      { kind: 'level', marketId: ETH, side: Side.Buy, priceTicks: 101, qtySteps: 3 },
    ]);
    expect(openOrders(engine)).toEqual([
      { orderId: 2, accountId: 9, marketId: ETH, side: Side.Buy, priceTicks: 101, remainingSteps: 3, filledSteps: 5 },
    ]);
  });

  it('sweeps levels best first up to its limit and rests the rest at its own price', () => {
    const { engine, run } = setup();
    run(sell(1, 103, 4, { marketId: ETH }));
    run(sell(2, 100, 2, { marketId: ETH }));
    run(sell(3, 101, 3, { marketId: ETH }));
    const events = run(buy(4, 102, 6, { marketId: ETH }));
    expect(fills(events)).toEqual([[2, 100, 2], [3, 101, 3]]);
    expect(events.filter((event) => event.kind === 'level')).toEqual([
      { kind: 'level', marketId: ETH, side: Side.Sell, priceTicks: 100, qtySteps: 0 },
      { kind: 'level', marketId: ETH, side: Side.Sell, priceTicks: 101, qtySteps: 0 },
      { kind: 'level', marketId: ETH, side: Side.Buy, priceTicks: 102, qtySteps: 1 },
    ]);
    expect(levels(engine, Side.Sell)).toEqual([[103, 4]]);
    expect(levels(engine, Side.Buy)).toEqual([[102, 1]]);
  });

  it('fills FIFO within a level and reports the level total after partial fills', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 2, { marketId: ETH, accountId: 1 }));
    run(sell(2, 100, 3, { marketId: ETH, accountId: 2 }));
    run(sell(3, 100, 4, { marketId: ETH, accountId: 3 }));
    const events = run(buy(4, 100, 4, { marketId: ETH, accountId: 4 }));
    expect(fills(events)).toEqual([[1, 100, 2], [2, 100, 2]]);
    expect(events.at(-2)).toEqual({ kind: 'level', marketId: ETH, side: Side.Sell, priceTicks: 100, qtySteps: 5 });
    expect(events.at(-1)).toMatchObject({ kind: 'done', orderId: 4, reason: DoneReason.Filled, remainingSteps: 0 });
    expect(openOrders(engine).map((order) => [order.orderId, order.remainingSteps, order.filledSteps])).toEqual([[2, 1, 2], [3, 4, 0]]);
  });

  it('trades at the maker price on both sides', () => {
    const { run } = setup();
    run(sell(1, 100, 1, { marketId: ETH }));
    expect(fills(run(buy(2, 110, 1, { marketId: ETH })))).toEqual([[1, 100, 1]]);
    run(buy(3, 100, 1, { marketId: ETH }));
    expect(fills(run(sell(4, 90, 1, { marketId: ETH })))).toEqual([[3, 100, 1]]);
  });

  it('issues gap-free tradeIds across markets and continues after a restored counter', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 10, { marketId: ETH }));
    run(sell(2, 5_000_000, 10, { marketId: BTC }));
    const ids = [
      ...trades(run(buy(3, 100, 2, { marketId: ETH }))),
      ...trades(run(buy(4, 5_000_000, 3, { marketId: BTC }))),
      ...trades(run(buy(5, 100, 1, { marketId: ETH }))),
    ].map((event) => (event.kind === 'trade' ? event.tradeId : 0));
    expect(ids).toEqual([1, 2, 3]);
    expect(engine.tradeIdLast).toBe(3);
    engine.restoreTradeIdLast(41);
    expect(trades(run(buy(6, 100, 1, { marketId: ETH })))[0]).toMatchObject({ tradeId: 42 });
  });
});

describe('MatchingEngine: IOC and FOK', () => {
  it('IOC: fills what crosses, expires the remainder, never rests', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 3, { marketId: ETH }));
    const events = run(buy(2, 100, 5, { marketId: ETH, timeInForce: TimeInForce.IOC }));
    expect(fills(events)).toEqual([[1, 100, 3]]);
    expect(events.at(-1)).toEqual({ kind: 'done', marketId: ETH, orderId: 2, accountId: 1, side: Side.Buy, reason: DoneReason.Expired, remainingSteps: 2, seq: 2 });
    expect(engine.openOrderCount).toBe(0);
  });

  it('IOC: fully filled is Filled; nothing crossing is Expired with the whole qty', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 3, { marketId: ETH }));
    expect(doneOf(run(buy(2, 100, 2, { marketId: ETH, timeInForce: TimeInForce.IOC })), 2)).toMatchObject({ reason: DoneReason.Filled, remainingSteps: 0 });
    expect(run(buy(3, 99, 2, { marketId: ETH, timeInForce: TimeInForce.IOC }))).toEqual([
      { kind: 'done', marketId: ETH, orderId: 3, accountId: 1, side: Side.Buy, reason: DoneReason.Expired, remainingSteps: 2, seq: 3 },
    ]);
    expect(engine.openOrderCount).toBe(1);
  });

  it('FOK: fills completely across levels when the book can fill it', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 2, { marketId: ETH }));
    run(sell(2, 101, 2, { marketId: ETH }));
    run(sell(3, 102, 2, { marketId: ETH }));
    const events = run(buy(4, 101, 4, { marketId: ETH, timeInForce: TimeInForce.FOK }));
    expect(fills(events)).toEqual([[1, 100, 2], [2, 101, 2]]);
    expect(doneOf(events, 4)).toMatchObject({ reason: DoneReason.Filled });
    expect(levels(engine, Side.Sell)).toEqual([[102, 2]]);
  });

  it('FOK: not fillable within its limit price expires whole and leaves the book untouched', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 2, { marketId: ETH }));
    run(sell(2, 101, 2, { marketId: ETH }));
    run(sell(3, 102, 2, { marketId: ETH }));
    const before = openOrders(engine);
    // 6 steps exist, but only 4 at or below 101.
    expect(run(buy(4, 101, 5, { marketId: ETH, timeInForce: TimeInForce.FOK }))).toEqual([
      { kind: 'done', marketId: ETH, orderId: 4, accountId: 1, side: Side.Buy, reason: DoneReason.Expired, remainingSteps: 5, seq: 4 },
    ]);
    // More than the whole book (6 steps) at any price.
    expect(run(buy(6, 200, 7, { marketId: ETH, timeInForce: TimeInForce.FOK }))).toHaveLength(1);
    expect(openOrders(engine).filter((order) => order.side === Side.Sell)).toEqual(before);
    expect(engine.tradeIdLast).toBe(0);
  });

  it('FOK: counts fillsPerCommandMax in the pre-check', () => {
    const { engine, run } = setup({ fillsPerCommandMax: 2 });
    for (let seq = 1; seq <= 3; seq += 1) run(sell(seq, 100, 1, { marketId: ETH }));
    expect(run(buy(4, 100, 3, { marketId: ETH, timeInForce: TimeInForce.FOK }))).toEqual([
      { kind: 'done', marketId: ETH, orderId: 4, accountId: 1, side: Side.Buy, reason: DoneReason.Expired, remainingSteps: 3, seq: 4 },
    ]);
    expect(engine.openOrderCount).toBe(3);
    const events = run(buy(5, 100, 2, { marketId: ETH, timeInForce: TimeInForce.FOK }));
    expect(fills(events)).toEqual([[1, 100, 1], [2, 100, 1]]);
    expect(doneOf(events, 5)).toMatchObject({ reason: DoneReason.Filled });
  });

  it('FOK: the pre-check can finish inside a level deeper than the fill cap', () => {
    const { run } = setup({ fillsPerCommandMax: 3 });
    run(sell(1, 100, 5, { marketId: ETH }));
    for (let seq = 2; seq <= 6; seq += 1) run(sell(seq, 101, 1, { marketId: ETH }));
    // 5 + 1 + 1 = 7 steps in 3 fills; 8 would need a 4th fill.
    expect(trades(run(buy(7, 101, 8, { marketId: ETH, timeInForce: TimeInForce.FOK })))).toHaveLength(0);
    expect(fills(run(buy(8, 101, 7, { marketId: ETH, timeInForce: TimeInForce.FOK })))).toEqual([[1, 100, 5], [2, 101, 1], [3, 101, 1]]);
  });
});

describe('MatchingEngine: post-only', () => {
  it('is not placed when it would cross (also at an equal price); the book is untouched', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 2, { marketId: ETH }));
    for (const [seq, price] of [[2, 100], [3, 105]] as const) {
      expect(run(buy(seq, price, 1, { marketId: ETH, postOnly: true }))).toEqual([
        { kind: 'done', marketId: ETH, orderId: seq, accountId: 1, side: Side.Buy, reason: DoneReason.Expired, remainingSteps: 1, seq },
      ]);
    }
    expect(levels(engine, Side.Sell)).toEqual([[100, 2]]);
    expect(levels(engine, Side.Buy)).toEqual([]);
  });

  it('rests like GTC when it does not cross', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 2, { marketId: ETH }));
    expect(run(buy(2, 99, 4, { marketId: ETH, postOnly: true }))).toEqual([{ kind: 'level', marketId: ETH, side: Side.Buy, priceTicks: 99, qtySteps: 4 }]);
    expect(run(sell(3, 101, 1, { marketId: ETH, postOnly: true }))).toHaveLength(1);
    expect(engine.openOrderCount).toBe(3);
  });

  it('with IOC or FOK and no cross expires unfilled (it may not take, and may not rest)', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 2, { marketId: ETH }));
    for (const [seq, timeInForce] of [[2, TimeInForce.IOC], [3, TimeInForce.FOK]] as const) {
      expect(run(buy(seq, 99, 1, { marketId: ETH, postOnly: true, timeInForce }))).toEqual([
        { kind: 'done', marketId: ETH, orderId: seq, accountId: 1, side: Side.Buy, reason: DoneReason.Expired, remainingSteps: 1, seq },
      ]);
    }
    expect(engine.openOrderCount).toBe(1);
  });
});

describe('MatchingEngine: market orders', () => {
  it('market sell takes bids at any price, best first, and expires what is left', () => {
    const { engine, run } = setup();
    run(buy(1, 100, 2, { marketId: ETH }));
    run(buy(2, 50, 2, { marketId: ETH }));
    run(buy(3, 1, 2, { marketId: ETH }));
    const events = run(marketSell(4, 7, { marketId: ETH }));
    expect(fills(events)).toEqual([[1, 100, 2], [2, 50, 2], [3, 1, 2]]);
    expect(events.at(-1)).toEqual({ kind: 'done', marketId: ETH, orderId: 4, accountId: 1, side: Side.Sell, reason: DoneReason.Expired, remainingSteps: 1, seq: 4 });
    expect(engine.bestBidTicks(ETH)).toBe(-1);
  });

  it('market sell fully filled is Filled; on an empty book it expires whole', () => {
    const { run } = setup();
    expect(run(marketSell(1, 3, { marketId: ETH }))).toEqual([
      { kind: 'done', marketId: ETH, orderId: 1, accountId: 1, side: Side.Sell, reason: DoneReason.Expired, remainingSteps: 3, seq: 1 },
    ]);
    run(buy(2, 100, 5, { marketId: ETH }));
    expect(doneOf(run(marketSell(3, 3, { marketId: ETH })), 3)).toMatchObject({ reason: DoneReason.Filled, remainingSteps: 0 });
  });

  it('market buy spends its budget level by level and stops mid-level when the next step is unaffordable', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 5, { marketId: ETH, accountId: 2 }));
    run(sell(2, 101, 5, { marketId: ETH, accountId: 3 }));
    // ETH-USDT: notional = ticks × steps exactly. 5 × 100 = 500, then 700 − 500 = 200 buys 1 at 101.
    const events = run(marketBuy(3, 700, { marketId: ETH }));
    expect(fills(events)).toEqual([[1, 100, 5], [2, 101, 1]]);
    expect(trades(events).map((event) => (event.kind === 'trade' ? event.takerRemainingSteps : -1))).toEqual([0, 0]);
    expect(events.at(-2)).toEqual({ kind: 'level', marketId: ETH, side: Side.Sell, priceTicks: 101, qtySteps: 4 });
    expect(events.at(-1)).toEqual({ kind: 'done', marketId: ETH, orderId: 3, accountId: 1, side: Side.Buy, reason: DoneReason.Filled, remainingSteps: 0, seq: 3 });
    expect(levels(engine, Side.Sell)).toEqual([[101, 4]]);
  });

  it('market buy that empties the book, or cannot afford one step, is Expired', () => {
    const { run } = setup();
    run(sell(1, 100, 2, { marketId: ETH }));
    expect(run(marketBuy(2, 99, { marketId: ETH }))).toEqual([
      { kind: 'done', marketId: ETH, orderId: 2, accountId: 1, side: Side.Buy, reason: DoneReason.Expired, remainingSteps: 0, seq: 2 },
    ]);
    const events = run(marketBuy(3, 1_000_000, { marketId: ETH }));
    expect(fills(events)).toEqual([[1, 100, 2]]);
    expect(doneOf(events, 3)).toMatchObject({ reason: DoneReason.Expired, remainingSteps: 0 });
    expect(run(marketBuy(4, 1_000_000, { marketId: ETH }))).toHaveLength(1);
  });

  it('market buy rounds like the ledger charges on BTC-USDT (notional denominator 100)', () => {
    const { run } = setup();
    // 50000.01 USDT = 5,000,001 ticks; one step (0.000001 BTC) costs 50000.01 units, charged 50000.
    run(sell(1, 5_000_001, 10, { marketId: BTC }));
    const budget = 100_000; // 0.1 USDT: 2 steps are 100000.02 exact, charged floor 100000.
    const events = run(marketBuy(2, budget, { marketId: BTC }));
    expect(fills(events)).toEqual([[1, 5_000_001, 2]]);
    expect(notionalFloor(marketSet.markets[BTC]!, 5_000_001, 2)).toBe(budget);
    expect(doneOf(events, 2)).toMatchObject({ reason: DoneReason.Filled });
    expect(fills(run(marketBuy(3, budget - 1, { marketId: BTC })))).toEqual([[1, 5_000_001, 1]]);
  });
});

describe('MatchingEngine: fillsPerCommandMax', () => {
  it('stops a GTC taker after the cap and expires the remainder instead of resting it', () => {
    const { engine, run } = setup({ fillsPerCommandMax: 3 });
    for (let seq = 1; seq <= 5; seq += 1) run(sell(seq, 100, 1, { marketId: ETH }));
    const events = run(buy(6, 100, 5, { marketId: ETH }));
    expect(trades(events)).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ kind: 'done', orderId: 6, reason: DoneReason.Expired, remainingSteps: 2 });
    expect(engine.bestBidTicks(ETH)).toBe(-1);
    expect(levels(engine, Side.Sell)).toEqual([[100, 2]]);
  });

  it('caps market orders too', () => {
    const { run } = setup({ fillsPerCommandMax: 2 });
    for (let seq = 1; seq <= 3; seq += 1) run(buy(seq, 100, 1, { marketId: ETH }));
    const events = run(marketSell(4, 3, { marketId: ETH }));
    expect(trades(events)).toHaveLength(2);
    expect(doneOf(events, 4)).toMatchObject({ reason: DoneReason.Expired, remainingSteps: 1 });
    for (let seq = 5; seq <= 7; seq += 1) run(sell(seq, 100, 1, { marketId: ETH }));
    const buyEvents = run(marketBuy(8, 1_000, { marketId: ETH }));
    expect(trades(buyEvents)).toHaveLength(2);
    expect(doneOf(buyEvents, 8)).toMatchObject({ reason: DoneReason.Expired });
  });
});

describe('MatchingEngine: cancel', () => {
  it('cancels its own open order with the remaining quantity and reports the level', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 5, { marketId: ETH, accountId: 7 }));
    run(sell(2, 100, 4, { marketId: ETH, accountId: 8 }));
    run(buy(3, 100, 2, { marketId: ETH, accountId: 9 }));
    expect(run(cancel(4, 1, 7))).toEqual([
      { kind: 'done', marketId: ETH, orderId: 1, accountId: 7, side: Side.Sell, reason: DoneReason.Cancelled, remainingSteps: 3, seq: 4 },
      { kind: 'level', marketId: ETH, side: Side.Sell, priceTicks: 100, qtySteps: 4 },
    ]);
    expect(run(cancel(5, 2, 8))).toEqual([
      { kind: 'done', marketId: ETH, orderId: 2, accountId: 8, side: Side.Sell, reason: DoneReason.Cancelled, remainingSteps: 4, seq: 5 },
      { kind: 'level', marketId: ETH, side: Side.Sell, priceTicks: 100, qtySteps: 0 },
    ]);
    expect(engine.openOrderCount).toBe(0);
    expect(engine.bestAskTicks(ETH)).toBe(-1);
  });

  it('rejects a cancel for another account, an unknown id, or an order already filled', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 5, { marketId: ETH, accountId: 7 }));
    expect(run(cancel(2, 1, 8))).toEqual([{ kind: 'cancelReject', orderId: 1, accountId: 8, seq: 2 }]);
    expect(engine.openOrderCount).toBe(1);
    expect(run(cancel(3, 999, 7))).toEqual([{ kind: 'cancelReject', orderId: 999, accountId: 7, seq: 3 }]);
    run(buy(4, 100, 5, { marketId: ETH, accountId: 9 }));
    expect(run(cancel(5, 1, 7))).toEqual([{ kind: 'cancelReject', orderId: 1, accountId: 7, seq: 5 }]);
    expect(run(cancel(6, 4, 9))).toEqual([{ kind: 'cancelReject', orderId: 4, accountId: 9, seq: 6 }]);
  });

  it('cancels from the middle of a level without disturbing FIFO order', () => {
    const { engine, run } = setup();
    for (let seq = 1; seq <= 5; seq += 1) run(sell(seq, 100, 1, { marketId: ETH }));
    run(cancel(6, 3));
    run(cancel(7, 1));
    run(cancel(8, 5));
    expect(openOrders(engine).map((order) => order.orderId)).toEqual([2, 4]);
    expect(fills(run(buy(9, 100, 2, { marketId: ETH })))).toEqual([[2, 100, 1], [4, 100, 1]]);
  });
});

describe('MatchingEngine: views, snapshots and limits', () => {
  it('walks levels best first up to a depth on both sides', () => {
    const { engine, run } = setup();
    for (const [seq, price] of [[1, 98], [2, 99], [3, 97], [4, 99]] as const) run(buy(seq, price, seq, { marketId: ETH }));
    for (const [seq, price] of [[5, 103], [6, 101], [7, 102]] as const) run(sell(seq, price, 1, { marketId: ETH }));
    expect(levels(engine, Side.Buy)).toEqual([[99, 6], [98, 1], [97, 3]]);
    expect(levels(engine, Side.Buy, ETH, 2)).toEqual([[99, 6], [98, 1]]);
    expect(levels(engine, Side.Sell, ETH, 2)).toEqual([[101, 1], [102, 1]]);
    expect(levels(engine, Side.Sell, ETH, 0)).toEqual([]);
  });

  it('restores a snapshot into a fresh engine that then behaves identically', () => {
    const original = setup();
    const seqs = { next: 1 };
    const flow = (target: ReturnType<typeof setup>, start: number) => {
      const events: RecordedEvent[] = [];
      for (let index = 0; index < 40; index += 1) {
        const seq = start + index;
        const price = 95 + ((index * 7) % 11);
        const command = index % 2 === 0 ? buy(seq, price, 1 + (index % 4), { marketId: ETH, accountId: 1 + (index % 3) }) : sell(seq, price + 3, 2, { marketId: ETH });
        events.push(...target.run(command));
      }
      return events;
    };
    flow(original, seqs.next);
    const restored = setup();
    for (const side of [Side.Buy, Side.Sell]) {
      for (const marketId of [BTC, ETH]) original.engine.forEachOpenOrder(marketId, side, (order) => restored.engine.restoreOrder(order));
    }
    restored.engine.restoreTradeIdLast(original.engine.tradeIdLast);
    restored.engine.checkInvariants();
    expect(restored.sink.take()).toEqual([]);
    expect(openOrders(restored.engine)).toEqual(openOrders(original.engine));
    expect(flow(restored, 100)).toEqual(flow(original, 100));
  });

  it('refuses to restore an order that would cross the book', () => {
    const { engine, run } = setup();
    run(sell(1, 100, 1, { marketId: ETH }));
    expect(() =>
      engine.restoreOrder({ orderId: 2, accountId: 1, marketId: ETH, side: Side.Buy, priceTicks: 100, remainingSteps: 1, filledSteps: 0 }),
    ).toThrow(/cross/);
  });

  it('crashes with a message naming ordersOpenMax when the pool is full', () => {
    const { run } = setup({ ordersOpenMax: 2 });
    run(buy(1, 100, 1, { marketId: ETH }));
    run(buy(2, 101, 1, { marketId: ETH }));
    expect(() => run(buy(3, 102, 1, { marketId: ETH }))).toThrow(/ordersOpenMax/);
  });

  it('ignores deposits and withdrawals', () => {
    const { engine, run } = setup();
    for (const type of [CommandType.Deposit, CommandType.Withdraw]) {
      const command = createCommand();
      command.type = type;
      command.seq = 1;
      command.accountId = 1;
      command.amountUnits = 10;
      expect(run(command)).toEqual([]);
    }
    expect(engine.openOrderCount).toBe(0);
  });

  it('asserts its inputs: unknown market, bad price, duplicate open orderId', () => {
    const { run } = setup();
    expect(() => run(buy(1, 100, 1, { marketId: 9 }))).toThrow(/unknown marketId/);
    expect(() => run(buy(2, 0, 1, { marketId: ETH }))).toThrow(/priceTicks/);
    expect(() => run(buy(3, 100, 0, { marketId: ETH }))).toThrow(/qtySteps/);
    run(buy(4, 100, 1, { marketId: ETH }));
    expect(() => run(buy(4, 99, 1, { marketId: ETH }))).toThrow(/already present/);
  });
});
