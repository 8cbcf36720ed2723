/**
 * A deliberately simple reference matching engine for property tests: plain arrays, linear scans,
 * order-by-order matching (no levels, no trees, no pools). It states the same rules as
 * matching_engine.ts in the most obvious way so that the two can be compared event for event.
 */
import type { Command } from '../../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../../../src/domain/commands.ts';
import { DoneReason } from '../../../src/domain/events.ts';
import type { Market, MarketSet } from '../../../src/domain/markets.ts';
import { notionalFloor } from '../../../src/domain/markets.ts';
import type { RecordedEvent } from './recording_sink.ts';

interface ReferenceOrder {
  orderId: number;
  accountId: number;
  side: Side;
  priceTicks: number;
  remainingSteps: number;
  filledSteps: number;
  arrival: number;
}

/** Largest q ≤ maxSteps with notionalFloor(price, q) ≤ budget, by binary search (independent of the engine's formula). */
export function referenceAffordableSteps(market: Market, priceTicks: number, maxSteps: number, budgetUnits: number): number {
  let low = 0;
  let high = maxSteps;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (notionalFloor(market, priceTicks, middle) <= budgetUnits) low = middle;
    else high = middle - 1;
  }
  return low;
}

export class ReferenceEngine {
  events: RecordedEvent[] = [];
  tradeIdLast = 0;
  /** books[marketId][side] */
  readonly books: ReferenceOrder[][][];
  private arrivals = 0;

  constructor(
    private readonly marketSet: MarketSet,
    private readonly fillsPerCommandMax: number,
  ) {
    this.books = marketSet.markets.map(() => [[], []]);
  }

  /** Orders of a side, best first: price priority, then arrival. */
  sorted(marketId: number, side: Side): ReferenceOrder[] {
    const orders = [...this.side(marketId, side)];
    orders.sort((a, b) => (side === Side.Buy ? b.priceTicks - a.priceTicks : a.priceTicks - b.priceTicks) || a.arrival - b.arrival);
    return orders;
  }

  levels(marketId: number, side: Side): Array<[number, number]> {
    const levels: Array<[number, number]> = [];
    for (const order of this.sorted(marketId, side)) {
      const last = levels[levels.length - 1];
      if (last !== undefined && last[0] === order.priceTicks) last[1] += order.remainingSteps;
      else levels.push([order.priceTicks, order.remainingSteps]);
    }
    return levels;
  }

  openOrderCount(): number {
    return this.books.flat(2).length;
  }

  apply(command: Readonly<Command>): void {
    if (command.type === CommandType.Place) this.place(command);
    else if (command.type === CommandType.Cancel) this.cancel(command);
  }

  private side(marketId: number, side: Side): ReferenceOrder[] {
    const orders = this.books[marketId]?.[side];
    if (orders === undefined) throw new Error(`reference: no book ${marketId}/${side}`);
    return orders;
  }

  private levelTotal(marketId: number, side: Side, priceTicks: number): number {
    return this.side(marketId, side)
      .filter((order) => order.priceTicks === priceTicks)
      .reduce((sum, order) => sum + order.remainingSteps, 0);
  }

  private crosses(takerSide: Side, limitTicks: number, makerPrice: number): boolean {
    return takerSide === Side.Buy ? makerPrice <= limitTicks : makerPrice >= limitTicks;
  }

  private place(command: Readonly<Command>): void {
    const market = this.marketSet.markets[command.marketId];
    if (market === undefined) throw new Error('reference: unknown market');
    if (command.orderType === OrderType.Market) {
      const byBudget = command.side === Side.Buy;
      const result = this.match(command, market, byBudget ? Infinity : -Infinity, byBudget);
      if (byBudget) this.done(command, command.seq, command.accountId, command.side, result.traded && result.exhausted ? DoneReason.Filled : DoneReason.Expired, 0);
      else this.done(command, command.seq, command.accountId, command.side, result.remaining === 0 ? DoneReason.Filled : DoneReason.Expired, result.remaining);
      return;
    }
    const opposite = this.sorted(command.marketId, command.side === Side.Buy ? Side.Sell : Side.Buy);
    const crossing = opposite.filter((order) => this.crosses(command.side, command.priceTicks, order.priceTicks));
    if (command.postOnly) {
      if (command.timeInForce === TimeInForce.GTC && crossing.length === 0) this.rest(command, command.qtySteps);
      else this.done(command, command.seq, command.accountId, command.side, DoneReason.Expired, command.qtySteps);
      return;
    }
    if (command.timeInForce === TimeInForce.FOK) {
      const usable = crossing.slice(0, this.fillsPerCommandMax);
      const available = usable.reduce((sum, order) => sum + order.remainingSteps, 0);
      if (available < command.qtySteps) {
        this.done(command, command.seq, command.accountId, command.side, DoneReason.Expired, command.qtySteps);
        return;
      }
    }
    const result = this.match(command, market, command.priceTicks, false);
    if (result.remaining === 0) this.done(command, command.seq, command.accountId, command.side, DoneReason.Filled, 0);
    else if (command.timeInForce === TimeInForce.GTC && result.fills < this.fillsPerCommandMax) this.rest(command, result.remaining);
    else this.done(command, command.seq, command.accountId, command.side, DoneReason.Expired, result.remaining);
  }

  private match(command: Readonly<Command>, market: Market, limitTicks: number, byBudget: boolean) {
    const makerSide = command.side === Side.Buy ? Side.Sell : Side.Buy;
    let remaining = byBudget ? 0 : command.qtySteps;
    let budget = byBudget ? command.quoteQtyUnits : 0;
    let fills = 0;
    let exhausted = false;
    let currentPrice: number | null = null;
    for (;;) {
      if (!byBudget && remaining === 0) break;
      const best = this.sorted(command.marketId, makerSide)[0];
      if (best === undefined) break;
      if (command.orderType === OrderType.Limit && !this.crosses(command.side, limitTicks, best.priceTicks)) break;
      if (fills >= this.fillsPerCommandMax) break;
      let qty: number;
      if (byBudget) {
        qty = referenceAffordableSteps(market, best.priceTicks, best.remainingSteps, budget);
        if (qty === 0) {
          exhausted = true;
          break;
        }
        budget -= notionalFloor(market, best.priceTicks, qty);
      } else {
        qty = Math.min(remaining, best.remainingSteps);
        remaining -= qty;
      }
      if (currentPrice !== null && currentPrice !== best.priceTicks) this.level(command.marketId, makerSide, currentPrice);
      currentPrice = best.priceTicks;
      best.remainingSteps -= qty;
      best.filledSteps += qty;
      fills += 1;
      this.tradeIdLast += 1;
      this.events.push({
        kind: 'trade',
        marketId: command.marketId,
        tradeId: this.tradeIdLast,
        seq: command.seq,
        timestampMs: command.timestampMs,
        takerOrderId: command.seq,
        takerAccountId: command.accountId,
        takerSide: command.side,
        makerOrderId: best.orderId,
        makerAccountId: best.accountId,
        priceTicks: best.priceTicks,
        qtySteps: qty,
        makerRemainingSteps: best.remainingSteps,
        takerRemainingSteps: remaining,
      });
      if (best.remainingSteps === 0) {
        const orders = this.side(command.marketId, makerSide);
        orders.splice(orders.indexOf(best), 1);
        this.done(command, best.orderId, best.accountId, makerSide, DoneReason.Filled, 0);
      }
    }
    if (currentPrice !== null) this.level(command.marketId, makerSide, currentPrice);
    return { remaining, fills, exhausted, traded: fills > 0 };
  }

  private rest(command: Readonly<Command>, remainingSteps: number): void {
    this.arrivals += 1;
    this.side(command.marketId, command.side).push({
      orderId: command.seq,
      accountId: command.accountId,
      side: command.side,
      priceTicks: command.priceTicks,
      remainingSteps,
      filledSteps: command.qtySteps - remainingSteps,
      arrival: this.arrivals,
    });
    this.level(command.marketId, command.side, command.priceTicks);
  }

  private cancel(command: Readonly<Command>): void {
    for (const [marketId, sides] of this.books.entries()) {
      for (const orders of sides) {
        const index = orders.findIndex((order) => order.orderId === command.orderId);
        const order = orders[index];
        if (order === undefined) continue;
        if (order.accountId !== command.accountId) break;
        orders.splice(index, 1);
        this.events.push({
          kind: 'done',
          marketId,
          orderId: order.orderId,
          accountId: order.accountId,
          side: order.side,
          reason: DoneReason.Cancelled,
          remainingSteps: order.remainingSteps,
          seq: command.seq,
        });
        this.level(marketId, order.side, order.priceTicks);
        return;
      }
    }
    this.events.push({ kind: 'cancelReject', orderId: command.orderId, accountId: command.accountId, seq: command.seq });
  }

  private done(command: Readonly<Command>, orderId: number, accountId: number, side: Side, reason: DoneReason, remainingSteps: number): void {
    this.events.push({ kind: 'done', marketId: command.marketId, orderId, accountId, side, reason, remainingSteps, seq: command.seq });
  }

  private level(marketId: number, side: Side, priceTicks: number): void {
    this.events.push({ kind: 'level', marketId, side, priceTicks, qtySteps: this.levelTotal(marketId, side, priceTicks) });
  }
}
