/**
 * The matching engine: a pure state machine between the WAL writer and the settlement ledger.
 * `apply(command)` matches a sequenced place or cancel against the books and reports, in the order
 * it happens, every trade, every order that leaves the book and every level whose total changed.
 *
 * Rules: price-time priority, one book per market, every trade at the maker's price. A command
 * makes at most `fillsPerCommandMax` trades; a taker that reaches the cap has its remainder expired
 * (it never rests, since the book could still cross it). orderId is the seq of the placing command;
 * tradeId is a counter kept here, from 1, across all markets.
 *
 * Events, in order: onTrade per trade (a market buy reports takerRemainingSteps 0: it has no qty);
 * a maker that reaches 0 gets OrderDone Filled right after its trade; one onLevel per level whose
 * total changed, when the taker leaves that level (0: the level is gone) and for the level it rests
 * on; the taker's own OrderDone last, unless it rests. There is no self-trade prevention: an
 * account's taker may fill its own resting orders.
 *
 * No I/O, clock, randomness or threads: the shell feeds it and the WAL replay feeds it the same
 * commands, and both get the same events. The hot path allocates nothing: one reusable object per
 * event kind (sinks copy what they keep), taker state in fields, books in preallocated typed arrays.
 */
import { InvariantError, assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../domain/commands.ts';
import type { CancelRejectEvent, LevelEvent, MatchSink, OrderDoneEvent, TradeEvent } from '../domain/events.ts';
import { DoneReason } from '../domain/events.ts';
import type { CoreLimits } from '../domain/limits.ts';
import type { Market, MarketSet } from '../domain/markets.ts';
import { notionalFloor, notionalInRange } from '../domain/markets.ts';
import { affordableSteps } from './market_buy_budget.ts';
import { OrderBooks, bookOf, priorityKey } from './order_book.ts';
import { NIL } from './price_tree.ts';

/** An open order as the engine reports it (snapshots, order walks) and accepts it back (restore). */
export interface RestingOrder {
  orderId: number;
  accountId: number;
  marketId: number;
  side: Side;
  priceTicks: number;
  remainingSteps: number;
  filledSteps: number;
}

function fail(message: string): never {
  throw new InvariantError(message);
}

function oppositeSide(side: Side): Side {
  return side === Side.Buy ? Side.Sell : Side.Buy;
}

function isPositiveSafeInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

export class MatchingEngine {
  private readonly markets: readonly Market[];
  private readonly fillsPerCommandMax: number;
  private readonly sink: MatchSink;
  private readonly books: OrderBooks;
  private tradeIdCounter = 0;

  // One reusable object per event kind; the sink copies what it keeps before returning.
  private readonly tradeEvent: TradeEvent;
  private readonly doneEvent: OrderDoneEvent;
  private readonly levelEvent: LevelEvent;
  private readonly cancelRejectEvent: CancelRejectEvent;
  private readonly restingScratch: RestingOrder;

  // State of the taker in flight, kept in fields so the match loop neither allocates nor returns tuples.
  private takerRemainingSteps = 0;
  private takerBudgetUnits = 0;
  private takerFills = 0;
  private takerBudgetExhausted = false;

  constructor(marketSet: MarketSet, limits: CoreLimits, sink: MatchSink) {
    assert(marketSet.markets.length >= 1, 'MatchingEngine: the market set has no markets');
    marketSet.markets.forEach((market, index) => assert(market.id === index, 'MatchingEngine: market ids must be their index'));
    assert(isPositiveSafeInteger(limits.ordersOpenMax), 'MatchingEngine: ordersOpenMax must be a positive integer');
    assert(isPositiveSafeInteger(limits.fillsPerCommandMax), 'MatchingEngine: fillsPerCommandMax must be a positive integer');
    this.markets = marketSet.markets;
    this.fillsPerCommandMax = limits.fillsPerCommandMax;
    this.sink = sink;
    this.books = new OrderBooks(marketSet.markets.length, limits.ordersOpenMax);
    this.tradeEvent = {
      marketId: 0, tradeId: 0, seq: 0, timestampMs: 0,
      takerOrderId: 0, takerAccountId: 0, takerSide: Side.Buy,
      makerOrderId: 0, makerAccountId: 0,
      priceTicks: 0, qtySteps: 0, makerRemainingSteps: 0, takerRemainingSteps: 0,
    };
    this.doneEvent = { marketId: 0, orderId: 0, accountId: 0, side: Side.Buy, reason: DoneReason.Filled, remainingSteps: 0, seq: 0 };
    this.levelEvent = { marketId: 0, side: Side.Buy, priceTicks: 0, qtySteps: 0 };
    this.cancelRejectEvent = { orderId: 0, accountId: 0, seq: 0 };
    this.restingScratch = { orderId: 0, accountId: 0, marketId: 0, side: Side.Buy, priceTicks: 0, remainingSteps: 0, filledSteps: 0 };
  }

  /** Last tradeId issued, 0 before the first trade. */
  get tradeIdLast(): number {
    return this.tradeIdCounter;
  }

  get openOrderCount(): number {
    return this.books.pool.used;
  }

  apply(command: Readonly<Command>): void {
    switch (command.type) {
      case CommandType.Place:
        this.place(command);
        return;
      case CommandType.Cancel:
        this.cancel(command);
        return;
      case CommandType.Deposit:
      case CommandType.Withdraw:
        // Funding moves balances only; the books never see it.
        return;
      default:
        fail('MatchingEngine.apply: unknown command type');
    }
  }

  bestBidTicks(marketId: number): number {
    return this.books.bestPrice(bookOf(this.market(marketId).id, Side.Buy));
  }

  bestAskTicks(marketId: number): number {
    return this.books.bestPrice(bookOf(this.market(marketId).id, Side.Sell));
  }

  /** Aggregated levels best first, up to `depth`: calls fn(priceTicks, totalQtySteps). */
  forEachLevel(marketId: number, side: Side, depth: number, fn: (priceTicks: number, qtySteps: number) => void): void {
    const books = this.books;
    const tree = books.tree(bookOf(this.market(marketId).id, side));
    let shown = 0;
    for (let level = tree.first(); level !== NIL && shown < depth; level = tree.next(level)) {
      fn(books.levelPrice[level]!, books.levelTotal[level]!);
      shown += 1;
    }
  }

  /**
   * Every open order of a market side in priority order (best price first, FIFO within a level).
   * The order object is reused between calls: copy what you keep, and do not apply commands
   * from inside `fn`.
   */
  forEachOpenOrder(marketId: number, side: Side, fn: (order: Readonly<RestingOrder>) => void): void {
    const books = this.books;
    const pool = books.pool;
    const tree = books.tree(bookOf(this.market(marketId).id, side));
    const order = this.restingScratch;
    for (let level = tree.first(); level !== NIL; level = tree.next(level)) {
      for (let slot = books.levelHead[level]!; slot !== NIL; slot = pool.next(slot)) {
        order.orderId = pool.orderId(slot);
        order.accountId = pool.accountId(slot);
        order.marketId = marketId;
        order.side = side;
        order.priceTicks = books.levelPrice[level]!;
        order.remainingSteps = pool.remainingSteps(slot);
        order.filledSteps = pool.filledSteps(slot);
        fn(order);
      }
    }
  }

  /**
   * Snapshot restore: appends an open order at the back of its level, without matching and without
   * events. Feed orders in priority order to rebuild the exact queues.
   */
  restoreOrder(order: Readonly<RestingOrder>): void {
    const market = this.market(order.marketId);
    assert(order.side === Side.Buy || order.side === Side.Sell, 'restoreOrder: side must be Buy or Sell');
    assert(isPositiveSafeInteger(order.orderId), 'restoreOrder: orderId must be a positive integer');
    assert(isPositiveSafeInteger(order.accountId), 'restoreOrder: accountId must be a positive integer');
    this.assertLimitPrice(market, order.priceTicks, order.remainingSteps);
    assert(Number.isSafeInteger(order.filledSteps) && order.filledSteps >= 0, 'restoreOrder: filledSteps must be a non-negative integer');
    const makerSide = oppositeSide(order.side);
    assert(!this.books.crosses(bookOf(market.id, makerSide), priorityKey(makerSide, order.priceTicks)), 'restoreOrder: the order would cross the book');
    this.books.rest(bookOf(market.id, order.side), order.priceTicks, order.orderId, order.accountId, order.remainingSteps, order.filledSteps);
  }

  restoreTradeIdLast(tradeIdLast: number): void {
    assert(Number.isSafeInteger(tradeIdLast) && tradeIdLast >= 0, 'restoreTradeIdLast: must be a non-negative integer');
    this.tradeIdCounter = tradeIdLast;
  }

  /** Debug check for tests and replay: see OrderBooks.checkInvariants. O(open orders). */
  checkInvariants(): void {
    this.books.checkInvariants();
  }

  private market(marketId: number): Market {
    const market = this.markets[marketId];
    if (market === undefined) fail(`MatchingEngine: unknown marketId ${marketId}`);
    return market;
  }

  private assertLimitPrice(market: Market, priceTicks: number, qtySteps: number): void {
    if (!isPositiveSafeInteger(priceTicks) || priceTicks > market.priceTicksMax) fail('MatchingEngine: priceTicks out of range');
    if (!isPositiveSafeInteger(qtySteps) || qtySteps > market.qtyStepsMax) fail('MatchingEngine: qtySteps out of range');
    // Every fill of this order, as maker or taker, computes notionalFloor(price, ≤ qty): keep it exact.
    if (!notionalInRange(market, priceTicks, qtySteps)) fail('MatchingEngine: price × qty leaves the exact range');
  }

  private place(command: Readonly<Command>): void {
    const market = this.market(command.marketId);
    if (!isPositiveSafeInteger(command.seq)) fail('MatchingEngine: a place needs a positive seq (its orderId)');
    if (command.side !== Side.Buy && command.side !== Side.Sell) fail('MatchingEngine: side must be Buy or Sell');
    this.beginTaker(command);
    if (command.orderType === OrderType.Limit) {
      this.placeLimit(command, market);
    } else if (command.orderType === OrderType.Market) {
      if (command.side === Side.Buy) this.placeMarketBuy(command, market);
      else this.placeMarketSell(command, market);
    } else {
      fail('MatchingEngine: unknown order type');
    }
  }

  /** Resets the taker state and stamps the per-command fields of the reused trade event once. */
  private beginTaker(command: Readonly<Command>): void {
    this.takerRemainingSteps = 0;
    this.takerBudgetUnits = 0;
    this.takerFills = 0;
    this.takerBudgetExhausted = false;
    const trade = this.tradeEvent;
    trade.marketId = command.marketId;
    trade.seq = command.seq;
    trade.timestampMs = command.timestampMs;
    trade.takerOrderId = command.seq;
    trade.takerAccountId = command.accountId;
    trade.takerSide = command.side;
  }

  private placeLimit(command: Readonly<Command>, market: Market): void {
    const qtySteps = command.qtySteps;
    this.assertLimitPrice(market, command.priceTicks, qtySteps);
    const makerSide = oppositeSide(command.side);
    const opposite = bookOf(market.id, makerSide);
    // The limit in the makers' key space: a maker crosses when its key is at or below it.
    const limitKey = priorityKey(makerSide, command.priceTicks);
    const tif = command.timeInForce;
    if (tif !== TimeInForce.GTC && tif !== TimeInForce.IOC && tif !== TimeInForce.FOK) fail('MatchingEngine: unknown time in force');
    if (command.postOnly) {
      // A post-only order never takes: if it would cross it is not placed. If it would not cross
      // there is nothing to match, so GTC rests and IOC/FOK expire unfilled.
      if (tif === TimeInForce.GTC && !this.books.crosses(opposite, limitKey)) this.restTaker(command, qtySteps);
      else this.emitTakerDone(command, DoneReason.Expired, qtySteps);
      return;
    }
    if (tif === TimeInForce.FOK && !this.books.canFill(opposite, limitKey, qtySteps, this.fillsPerCommandMax)) {
      this.emitTakerDone(command, DoneReason.Expired, qtySteps);
      return;
    }
    this.takerRemainingSteps = qtySteps;
    this.matchAgainst(command, market, opposite, limitKey, false);
    const remaining = this.takerRemainingSteps;
    if (remaining === 0) {
      this.emitTakerDone(command, DoneReason.Filled, 0);
      return;
    }
    if (tif === TimeInForce.FOK) fail('MatchingEngine: a FOK order passed its pre-check but did not fill');
    if (tif === TimeInForce.GTC && this.takerFills < this.fillsPerCommandMax) this.restTaker(command, remaining);
    else this.emitTakerDone(command, DoneReason.Expired, remaining);
  }

  private placeMarketSell(command: Readonly<Command>, market: Market): void {
    const qtySteps = command.qtySteps;
    if (!isPositiveSafeInteger(qtySteps) || qtySteps > market.qtyStepsMax) fail('MatchingEngine: market sell qtySteps out of range');
    this.takerRemainingSteps = qtySteps;
    this.matchAgainst(command, market, bookOf(market.id, Side.Buy), Infinity, false);
    const remaining = this.takerRemainingSteps;
    this.emitTakerDone(command, remaining === 0 ? DoneReason.Filled : DoneReason.Expired, remaining);
  }

  /**
   * A market buy spends its quote budget walking the asks. It is Filled when, after at least one
   * trade, the budget cannot buy one more step at the best ask; it is Expired when it traded
   * nothing, ran out of book, or hit the fill cap. Its remainingSteps is always 0 (it has no qty).
   */
  private placeMarketBuy(command: Readonly<Command>, market: Market): void {
    if (!isPositiveSafeInteger(command.quoteQtyUnits)) fail('MatchingEngine: market buy quoteQtyUnits must be a positive integer');
    this.takerBudgetUnits = command.quoteQtyUnits;
    this.matchAgainst(command, market, bookOf(market.id, Side.Sell), Infinity, true);
    const filled = this.takerFills > 0 && this.takerBudgetExhausted;
    this.emitTakerDone(command, filled ? DoneReason.Filled : DoneReason.Expired, 0);
  }

  /**
   * Takes liquidity from `book` level by level while the taker wants more, the best level is at or
   * better than `limitKey` and the fill cap is not reached. `byBudget` selects the market-buy rule.
   */
  private matchAgainst(command: Readonly<Command>, market: Market, book: number, limitKey: number, byBudget: boolean): void {
    const tree = this.books.tree(book);
    for (;;) {
      if (!byBudget && this.takerRemainingSteps === 0) return;
      const level = tree.first();
      if (level === NIL || tree.key(level) > limitKey) return;
      if (this.takerFills >= this.fillsPerCommandMax) return;
      if (!this.matchLevel(command, market, level, byBudget)) return;
    }
  }

  /** Fills makers of one level in FIFO order; returns false when a market buy's budget ran out. */
  private matchLevel(command: Readonly<Command>, market: Market, level: number, byBudget: boolean): boolean {
    const books = this.books;
    const pool = books.pool;
    const priceTicks = books.levelPrice[level]!;
    const fillsMax = this.fillsPerCommandMax;
    let budgetLeft = true;
    let traded = false;
    let slot = books.levelHead[level]!;
    while (slot !== NIL && this.takerFills < fillsMax) {
      const makerRemaining = pool.remainingSteps(slot);
      let qtySteps: number;
      if (byBudget) {
        qtySteps = affordableSteps(market, priceTicks, makerRemaining, this.takerBudgetUnits);
        if (qtySteps === 0) {
          this.takerBudgetExhausted = true;
          budgetLeft = false;
          break;
        }
        this.takerBudgetUnits -= notionalFloor(market, priceTicks, qtySteps);
      } else {
        const wanted = this.takerRemainingSteps;
        if (wanted === 0) break;
        qtySteps = wanted < makerRemaining ? wanted : makerRemaining;
        this.takerRemainingSteps = wanted - qtySteps;
      }
      const nextSlot = pool.next(slot);
      this.fillMaker(command, slot, level, priceTicks, qtySteps);
      traded = true;
      slot = nextSlot;
    }
    // One level event per level touched by this command, after its last trade there. A level
    // emptied by the fills has left the tree and its total reads 0 (its node is not reused before
    // the next allocation, which cannot happen inside this loop).
    if (traded) this.emitLevel(command.marketId, oppositeSide(command.side), priceTicks, books.levelTotal[level]!);
    return budgetLeft;
  }

  private fillMaker(command: Readonly<Command>, slot: number, level: number, priceTicks: number, qtySteps: number): void {
    const books = this.books;
    const pool = books.pool;
    const makerRemaining = pool.remainingSteps(slot) - qtySteps;
    pool.setRemainingSteps(slot, makerRemaining);
    pool.setFilledSteps(slot, pool.filledSteps(slot) + qtySteps);
    books.levelTotal[level] = books.levelTotal[level]! - qtySteps;
    this.tradeIdCounter += 1;
    this.takerFills += 1;
    const makerOrderId = pool.orderId(slot);
    const makerAccountId = pool.accountId(slot);
    const trade = this.tradeEvent;
    trade.tradeId = this.tradeIdCounter;
    trade.makerOrderId = makerOrderId;
    trade.makerAccountId = makerAccountId;
    trade.priceTicks = priceTicks;
    trade.qtySteps = qtySteps;
    trade.makerRemainingSteps = makerRemaining;
    trade.takerRemainingSteps = this.takerRemainingSteps;
    this.sink.onTrade(trade);
    if (makerRemaining === 0) {
      const done = this.doneEvent;
      done.marketId = command.marketId;
      done.orderId = makerOrderId;
      done.accountId = makerAccountId;
      done.side = oppositeSide(command.side);
      done.reason = DoneReason.Filled;
      done.remainingSteps = 0;
      done.seq = command.seq;
      books.remove(slot, makerOrderId);
      this.sink.onOrderDone(done);
    }
  }

  private restTaker(command: Readonly<Command>, remainingSteps: number): void {
    const books = this.books;
    const level = books.rest(
      bookOf(command.marketId, command.side),
      command.priceTicks,
      command.seq,
      command.accountId,
      remainingSteps,
      command.qtySteps - remainingSteps,
    );
    this.emitLevel(command.marketId, command.side, command.priceTicks, books.levelTotal[level]!);
  }

  private cancel(command: Readonly<Command>): void {
    const books = this.books;
    const pool = books.pool;
    const bucket = books.index.find(command.orderId);
    const slot = bucket < 0 ? NIL : books.index.valueAt(bucket);
    if (slot === NIL || pool.accountId(slot) !== command.accountId) {
      // Filled or expired since the sequencer accepted the cancel, or never this account's order.
      const reject = this.cancelRejectEvent;
      reject.orderId = command.orderId;
      reject.accountId = command.accountId;
      reject.seq = command.seq;
      this.sink.onCancelReject(reject);
      return;
    }
    const level = pool.level(slot);
    const book = books.levelBook[level]!;
    const priceTicks = books.levelPrice[level]!;
    const remainingSteps = pool.remainingSteps(slot);
    const levelTotal = books.remove(slot, command.orderId, bucket);
    const marketId = book >> 1;
    const side = (book & 1) as Side;
    const done = this.doneEvent;
    done.marketId = marketId;
    done.orderId = command.orderId;
    done.accountId = command.accountId;
    done.side = side;
    done.reason = DoneReason.Cancelled;
    done.remainingSteps = remainingSteps;
    done.seq = command.seq;
    this.sink.onOrderDone(done);
    this.emitLevel(marketId, side, priceTicks, levelTotal);
  }

  private emitTakerDone(command: Readonly<Command>, reason: DoneReason, remainingSteps: number): void {
    const done = this.doneEvent;
    done.marketId = command.marketId;
    done.orderId = command.seq;
    done.accountId = command.accountId;
    done.side = command.side;
    done.reason = reason;
    done.remainingSteps = remainingSteps;
    done.seq = command.seq;
    this.sink.onOrderDone(done);
  }

  private emitLevel(marketId: number, side: Side, priceTicks: number, qtySteps: number): void {
    const event = this.levelEvent;
    event.marketId = marketId;
    event.side = side;
    event.priceTicks = priceTicks;
    event.qtySteps = qtySteps;
    this.sink.onLevel(event);
  }
}
