/**
 * The gateway's read models: order states, open orders per account, clientOrderId lookups,
 * balances, aggregated books and recent trades, built only from the execution stream.
 *
 * The pipeline delivers, per sequenced command and in seq order: onCommand, the command's matching
 * events and balance changes, then onCommandEnd. Because the HTTP reply to a write is sent only
 * after its command went through here, every GET answered from these models reflects every write
 * that was acknowledged before it, without crossing threads. Recovery feeds the same stream from
 * the WAL replay, so the models come back after a restart too. Pure: no I/O, no clock.
 *
 * Memory bounds (STYLE.md: a limit on everything):
 * - open orders: as many as the core allows (ordersOpenMax); an open order is never evicted;
 * - closed orders: the last `closedOrdersMax` to close (default 100,000) are kept, the oldest closed
 *   order is evicted first, together with its clientOrderId entry;
 * - fills kept on closed orders (the trades of the command that placed them, for the 201 body and
 *   idempotent retries): at most `closedOrderFillsMax` in total (default 1,000,000); beyond it the
 *   oldest closed orders lose their fill list first (the order itself stays);
 * - trades: the last `tradesMax` per market (default 1,000) in a preallocated ring;
 * - deposit/withdrawal results (the balance right after each one): the last `fundingResultsMax`;
 * - book levels: bounded by the open orders; balances: bounded by the core's accountsMax.
 */
import { assert, invariantBroken } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../domain/commands.ts';
import type { CancelRejectEvent, ExecutionSink, LevelEvent, OrderDoneEvent, TradeEvent } from '../domain/events.ts';
import { DoneReason } from '../domain/events.ts';
import type { MarketSet } from '../domain/markets.ts';
import { BookLevels } from './book_levels.ts';
import type { TradeRecord } from './trade_history.ts';
import { TradeHistory } from './trade_history.ts';

export type OrderStatus = 'new' | 'partially_filled' | 'filled' | 'expired' | 'cancelled';

export interface Fill {
  readonly tradeId: number;
  readonly priceTicks: number;
  readonly qtySteps: number;
  readonly makerOrderId: number;
}

/** What the read model knows about one order. Mutated in place as events arrive. */
export interface OrderState {
  /** The seq of the command that placed it. */
  readonly orderId: number;
  readonly accountId: number;
  readonly marketId: number;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  /** 0 for market orders. */
  readonly priceTicks: number;
  /** 0 for a market buy (it has a quote budget instead). */
  readonly qtySteps: number;
  /** Market buys only. */
  readonly quoteQtyUnits: number;
  /** '' when none. */
  readonly clientOrderId: string;
  readonly timestampMs: number;
  readonly status: OrderStatus;
  /** Filled so far, as taker and as maker. */
  readonly filledSteps: number;
  /** Still open (0 once filled; the unfilled part once expired or cancelled; always 0 for a market buy). */
  readonly remainingSteps: number;
  /** Seq of the command that closed it; 0 while open. */
  readonly closedSeq: number;
  /** The trades of the placing command (this order as taker), oldest first; null once dropped. */
  readonly fills: readonly Fill[] | null;
}

type MutableOrderState = { -readonly [K in keyof OrderState]: OrderState[K] } & { fills: Fill[] | null };

/** An order's state as of the end of the command that placed it (the 201 body). */
export interface PlacementState {
  status: OrderStatus;
  filledSteps: number;
  remainingSteps: number;
}

export interface BalanceState {
  availableUnits: number;
  lockedUnits: number;
}

/** An open order known from a snapshot rather than from the execution stream. */
export interface RestoredOrder {
  orderId: number;
  accountId: number;
  marketId: number;
  side: Side;
  priceTicks: number;
  remainingSteps: number;
  filledSteps: number;
}

/**
 * Everything the read models hold, as plain data: what a snapshot stores so that after a restart
 * GET /orders/{id} answers for open and retained closed orders and clientOrderId retries still
 * resolve, exactly as if the whole log had been replayed (exportState / restoreState).
 */
export interface ReadModelsState {
  lastSeq: number;
  cancelRejects: number;
  /** Every order held, open and retained closed, in orderId order. */
  orders: OrderState[];
  /** The retained closed orders, oldest first (the order they are evicted in). */
  closedOrderIds: number[];
  /** How many of the oldest retained closed orders have had their fills dropped. */
  closedFillsDropped: number;
  /** [accountId, clientOrderId, orderId], as lookups by clientOrderId resolve them. */
  clientOrderIds: [number, string, number][];
  /** In the order accounts appeared; `units` is [available, locked] per asset id, interleaved. */
  balances: { accountId: number; units: number[] }[];
  /** Deposit/withdrawal results, oldest first: [seq, availableUnits, lockedUnits]. */
  fundingResults: [number, number, number][];
  /** Per book (market id × 2 + side): its levels best first, as [priceTicks, qtySteps]. */
  books: [number, number][][];
  /** Per market id: the retained trades, oldest first. */
  trades: TradeRecord[][];
}

const ORDER_STATUSES: ReadonlySet<string> = new Set<OrderStatus>(['new', 'partially_filled', 'filled', 'expired', 'cancelled']);

export interface ReadModelsOptions {
  /** Closed orders kept for GET /orders/{id} and idempotent retries (default 100,000). */
  closedOrdersMax?: number;
  /** Recent trades kept per market (default 1,000). */
  tradesMax?: number;
  /** Fills kept across all closed orders (default 1,000,000). */
  closedOrderFillsMax?: number;
  /** Deposit/withdrawal results kept by seq (default 65,536). */
  fundingResultsMax?: number;
}

export const READ_MODELS_DEFAULTS = Object.freeze({
  closedOrdersMax: 100_000,
  tradesMax: 1_000,
  closedOrderFillsMax: 1_000_000,
  fundingResultsMax: 65_536,
});

const DONE_STATUS: Readonly<Record<DoneReason, OrderStatus>> = {
  [DoneReason.Filled]: 'filled',
  [DoneReason.Expired]: 'expired',
  [DoneReason.Cancelled]: 'cancelled',
};

function positiveOption(value: number | undefined, fallback: number, name: string): number {
  const result = value ?? fallback;
  if (!(Number.isSafeInteger(result) && result >= 1)) invariantBroken(`ReadModels: ${name} must be a positive integer, got ${result}`);
  return result;
}

function clientOrderIdKey(accountId: number, clientOrderId: string): string {
  return `${accountId}:${clientOrderId}`;
}

export class ReadModels implements ExecutionSink {
  readonly marketSet: MarketSet;
  readonly closedOrdersMax: number;
  readonly tradesMax: number;
  readonly closedOrderFillsMax: number;
  readonly fundingResultsMax: number;

  private readonly orders = new Map<number, MutableOrderState>();
  private readonly openOrderIdsByAccount = new Map<number, Set<number>>();
  private readonly orderIdByClientOrderId = new Map<string, number>();
  /** Per account: [available, locked] per asset id, interleaved. */
  private readonly balances = new Map<number, Float64Array>();
  private readonly fundingResults = new Map<number, BalanceState>();
  /** Index market id × 2 + side. */
  private readonly books: BookLevels[];
  private readonly trades: TradeHistory[];

  /** Closed orders, oldest first: a ring of orderIds. */
  private readonly closedRing: Float64Array;
  private closedHead = 0;
  private closedCount = 0;
  /** Closed orders at ring offsets below this one have had their fills dropped. */
  private fillsCursor = 0;
  private closedFillsTotal = 0;

  private openCount = 0;
  private lastSeqValue = 0;
  private cancelRejectCount = 0;
  private readonly seqWaiters: { seq: number; resolve: () => void }[] = [];

  constructor(marketSet: MarketSet, options: ReadModelsOptions = {}) {
    this.marketSet = marketSet;
    this.closedOrdersMax = positiveOption(options.closedOrdersMax, READ_MODELS_DEFAULTS.closedOrdersMax, 'closedOrdersMax');
    this.tradesMax = positiveOption(options.tradesMax, READ_MODELS_DEFAULTS.tradesMax, 'tradesMax');
    this.closedOrderFillsMax = positiveOption(
      options.closedOrderFillsMax,
      READ_MODELS_DEFAULTS.closedOrderFillsMax,
      'closedOrderFillsMax',
    );
    this.fundingResultsMax = positiveOption(options.fundingResultsMax, READ_MODELS_DEFAULTS.fundingResultsMax, 'fundingResultsMax');
    marketSet.markets.forEach((market, index) => assert(market.id === index, 'ReadModels: market ids must be their index'));
    this.books = [];
    this.trades = [];
    for (let marketId = 0; marketId < marketSet.markets.length; marketId += 1) {
      this.books.push(new BookLevels(true), new BookLevels(false));
      this.trades.push(new TradeHistory(this.tradesMax));
    }
    this.closedRing = new Float64Array(this.closedOrdersMax);
  }

  // -----------------------------------------------------------------------------------------------
  // Queries.

  /** The seq of the last command whose results are in the models. */
  get lastSeq(): number {
    return this.lastSeqValue;
  }

  get openOrderCount(): number {
    return this.openCount;
  }

  get closedOrderCount(): number {
    return this.closedCount;
  }

  get accountCount(): number {
    return this.balances.size;
  }

  get cancelRejects(): number {
    return this.cancelRejectCount;
  }

  order(orderId: number): OrderState | undefined {
    return this.orders.get(orderId);
  }

  orderByClientOrderId(accountId: number, clientOrderId: string): OrderState | undefined {
    const orderId = this.orderIdByClientOrderId.get(clientOrderIdKey(accountId, clientOrderId));
    return orderId === undefined ? undefined : this.orders.get(orderId);
  }

  /** The account's open orders in orderId order. */
  openOrders(accountId: number): OrderState[] {
    const orderIds = this.openOrderIdsByAccount.get(accountId);
    if (orderIds === undefined) return [];
    const result: OrderState[] = [];
    for (const orderId of orderIds) {
      const order = this.orders.get(orderId);
      if (!(order !== undefined)) invariantBroken(`ReadModels: open order ${orderId} has no state`);
      result.push(order);
    }
    return result;
  }

  /** An account exists from its first deposit. */
  hasAccount(accountId: number): boolean {
    return this.balances.has(accountId);
  }

  /** The balance of (account, asset); zeros for an asset the account never held, undefined for an unknown account. */
  balance(accountId: number, assetId: number): BalanceState | undefined {
    const columns = this.balances.get(accountId);
    if (columns === undefined) return undefined;
    return { availableUnits: columns[assetId * 2] ?? 0, lockedUnits: columns[assetId * 2 + 1] ?? 0 };
  }

  /** The balance right after the deposit or withdrawal sequenced as `seq`, while it is retained. */
  fundingResult(seq: number): BalanceState | undefined {
    return this.fundingResults.get(seq);
  }

  bookSide(marketId: number, side: Side): BookLevels {
    const book = this.books[marketId * 2 + side];
    if (!(book !== undefined)) invariantBroken(`ReadModels.bookSide: unknown market ${marketId}`);
    return book;
  }

  /** Up to `limit` recent trades of the market, newest first. */
  recentTrades(marketId: number, limit: number): TradeRecord[] {
    const history = this.trades[marketId];
    if (!(history !== undefined)) invariantBroken(`ReadModels.recentTrades: unknown market ${marketId}`);
    return history.newest(limit);
  }

  /**
   * The order as of the end of its placing command: what the 201 reply reports, even if later
   * commands already traded against it. Falls back to the current state once its fills were dropped.
   */
  placementState(order: OrderState): PlacementState {
    if (order.closedSeq === order.orderId || order.fills === null) {
      return { status: order.status, filledSteps: order.filledSteps, remainingSteps: order.remainingSteps };
    }
    let filledSteps = 0;
    for (const fill of order.fills) filledSteps += fill.qtySteps;
    return {
      status: filledSteps > 0 ? 'partially_filled' : 'new',
      filledSteps,
      remainingSteps: order.qtySteps - filledSteps,
    };
  }

  /**
   * Resolves once the models reflect `seq`. The sequencer answers a duplicate clientOrderId at once,
   * possibly before the original order's results reached the main thread; the gateway waits here.
   */
  waitForSeq(seq: number): Promise<void> {
    if (seq <= this.lastSeqValue) return Promise.resolve();
    return new Promise((resolve) => {
      this.seqWaiters.push({ seq, resolve });
    });
  }

  // -----------------------------------------------------------------------------------------------
  // The execution stream (ExecutionSink).

  onCommand(command: Readonly<Command>): void {
    if (!(command.seq > this.lastSeqValue)) invariantBroken(`ReadModels: seq ${command.seq} after ${this.lastSeqValue}`);
    if (command.type === CommandType.Place) this.addOrder(command);
  }

  onTrade(event: Readonly<TradeEvent>): void {
    const taker = this.orders.get(event.takerOrderId);
    const maker = this.orders.get(event.makerOrderId);
    if (!(taker !== undefined)) invariantBroken(`ReadModels.onTrade: unknown taker ${event.takerOrderId}`);
    if (!(maker !== undefined)) invariantBroken(`ReadModels.onTrade: unknown maker ${event.makerOrderId}`);
    taker.fills?.push({
      tradeId: event.tradeId,
      priceTicks: event.priceTicks,
      qtySteps: event.qtySteps,
      makerOrderId: event.makerOrderId,
    });
    taker.filledSteps += event.qtySteps;
    taker.remainingSteps = taker.orderType === OrderType.Market && taker.side === Side.Buy ? 0 : event.takerRemainingSteps;
    taker.status = 'partially_filled';
    maker.filledSteps += event.qtySteps;
    maker.remainingSteps = event.makerRemainingSteps;
    maker.status = 'partially_filled';
    const history = this.trades[event.marketId];
    if (!(history !== undefined)) invariantBroken(`ReadModels.onTrade: unknown market ${event.marketId}`);
    history.push(event);
  }

  onOrderDone(event: Readonly<OrderDoneEvent>): void {
    const order = this.orders.get(event.orderId);
    if (!(order !== undefined)) invariantBroken(`ReadModels.onOrderDone: unknown order ${event.orderId}`);
    if (!(order.closedSeq === 0)) invariantBroken(`ReadModels.onOrderDone: order ${event.orderId} closed twice`);
    order.status = DONE_STATUS[event.reason];
    order.remainingSteps = event.remainingSteps;
    order.closedSeq = event.seq;
    const open = this.openOrderIdsByAccount.get(order.accountId);
    if (!(open?.delete(order.orderId) === true)) invariantBroken(`ReadModels.onOrderDone: order ${event.orderId} was not open`);
    if (open.size === 0) this.openOrderIdsByAccount.delete(order.accountId);
    this.openCount -= 1;
    this.retainClosed(order);
  }

  onLevel(event: Readonly<LevelEvent>): void {
    this.bookSide(event.marketId, event.side).set(event.priceTicks, event.qtySteps);
  }

  onCancelReject(_event: Readonly<CancelRejectEvent>): void {
    // The gateway learns the outcome from the order itself (its closedSeq is not the cancel's seq).
    this.cancelRejectCount += 1;
  }

  onBalance(accountId: number, assetId: number, availableUnits: number, lockedUnits: number): void {
    if (!(assetId >= 0 && assetId < this.marketSet.assets.length)) invariantBroken(`ReadModels.onBalance: unknown asset ${assetId}`);
    let columns = this.balances.get(accountId);
    if (columns === undefined) {
      columns = new Float64Array(this.marketSet.assets.length * 2);
      this.balances.set(accountId, columns);
    }
    columns[assetId * 2] = availableUnits;
    columns[assetId * 2 + 1] = lockedUnits;
  }

  onCommandEnd(command: Readonly<Command>): void {
    this.lastSeqValue = command.seq;
    if (command.type === CommandType.Deposit || command.type === CommandType.Withdraw) this.recordFunding(command);
    if (this.seqWaiters.length > 0) this.wakeWaiters();
  }

  // -----------------------------------------------------------------------------------------------
  // Snapshot recovery: state that the execution stream will not replay. Call before the first event.

  restoreBalance(accountId: number, assetId: number, availableUnits: number, lockedUnits: number): void {
    this.onBalance(accountId, assetId, availableUnits, lockedUnits);
  }

  restoreOpenOrder(restored: Readonly<RestoredOrder>, clientOrderId = ''): void {
    if (!(!this.orders.has(restored.orderId))) invariantBroken(`ReadModels.restoreOpenOrder: order ${restored.orderId} twice`);
    const order: MutableOrderState = {
      orderId: restored.orderId,
      accountId: restored.accountId,
      marketId: restored.marketId,
      side: restored.side,
      orderType: OrderType.Limit,
      timeInForce: TimeInForce.GTC,
      postOnly: false,
      priceTicks: restored.priceTicks,
      qtySteps: restored.remainingSteps + restored.filledSteps,
      quoteQtyUnits: 0,
      clientOrderId,
      timestampMs: 0,
      status: restored.filledSteps > 0 ? 'partially_filled' : 'new',
      filledSteps: restored.filledSteps,
      remainingSteps: restored.remainingSteps,
      closedSeq: 0,
      fills: null,
    };
    this.registerOpen(order);
    const book = this.bookSide(order.marketId, order.side);
    book.set(order.priceTicks, book.qtyAtPrice(order.priceTicks) + order.remainingSteps);
  }

  restoreLastSeq(seq: number): void {
    if (!(Number.isSafeInteger(seq) && seq >= this.lastSeqValue)) invariantBroken(`ReadModels.restoreLastSeq: bad seq ${seq}`);
    this.lastSeqValue = seq;
  }

  // -----------------------------------------------------------------------------------------------
  // Snapshots: the whole state out, and back into fresh models (src/snapshot/).

  /** A copy of everything the models hold (nothing shared with the live state). */
  exportState(): ReadModelsState {
    const orders = [...this.orders.values()]
      .sort((a, b) => a.orderId - b.orderId)
      .map((order) => ({ ...order, fills: order.fills === null ? null : order.fills.map((fill) => ({ ...fill })) }));
    const closedOrderIds: number[] = [];
    for (let offset = 0; offset < this.closedCount; offset += 1) {
      closedOrderIds.push(this.closedRing[(this.closedHead + offset) % this.closedOrdersMax]!);
    }
    const clientOrderIds: [number, string, number][] = [];
    for (const [key, orderId] of this.orderIdByClientOrderId) {
      const colon = key.indexOf(':');
      clientOrderIds.push([Number(key.slice(0, colon)), key.slice(colon + 1), orderId]);
    }
    const balances = [...this.balances].map(([accountId, units]) => ({ accountId, units: Array.from(units) }));
    const fundingResults = [...this.fundingResults].map(
      ([seq, balance]): [number, number, number] => [seq, balance.availableUnits, balance.lockedUnits],
    );
    const books = this.books.map((book) => {
      const levels: [number, number][] = [];
      for (let index = 0; index < book.size; index += 1) levels.push([book.priceAt(index), book.qtyAt(index)]);
      return levels;
    });
    const trades = this.trades.map((history) => history.newest(history.capacity).reverse());
    return {
      lastSeq: this.lastSeqValue,
      cancelRejects: this.cancelRejectCount,
      orders,
      closedOrderIds,
      closedFillsDropped: this.fillsCursor,
      clientOrderIds,
      balances,
      fundingResults,
      books,
      trades,
    };
  }

  /**
   * Loads `exportState()` output into models that have seen nothing yet. The limits of these models
   * apply: when they are smaller than the exporter's, the oldest closed orders, fills, funding results
   * and trades are let go exactly as the execution stream would have let them go. The order objects
   * of `state` become the models' own (a decoded snapshot is not used for anything else).
   */
  restoreState(state: Readonly<ReadModelsState>): void {
    assert(this.lastSeqValue === 0 && this.orders.size === 0 && this.balances.size === 0, 'ReadModels.restoreState: the models are not empty');
    assert(Number.isSafeInteger(state.lastSeq) && state.lastSeq >= 0, 'ReadModels.restoreState: bad lastSeq');
    this.restoreOrders(state);
    this.restoreClosedRing(state);
    for (const { accountId, units } of state.balances) {
      if (units.length !== this.marketSet.assets.length * 2) invariantBroken(`ReadModels.restoreState: balance of ${accountId} has the wrong shape`);
      for (let assetId = 0; assetId < this.marketSet.assets.length; assetId += 1) {
        this.onBalance(accountId, assetId, units[assetId * 2]!, units[assetId * 2 + 1]!);
      }
    }
    for (const [seq, availableUnits, lockedUnits] of state.fundingResults.slice(-this.fundingResultsMax)) {
      this.fundingResults.set(seq, { availableUnits, lockedUnits });
    }
    assert(state.books.length === this.books.length, 'ReadModels.restoreState: books of another market set');
    state.books.forEach((levels, index) => {
      for (const [priceTicks, qtySteps] of levels) this.books[index]!.set(priceTicks, qtySteps);
    });
    assert(state.trades.length === this.trades.length, 'ReadModels.restoreState: trades of another market set');
    state.trades.forEach((trades, marketId) => {
      for (const trade of trades) this.trades[marketId]!.push(trade);
    });
    this.cancelRejectCount = state.cancelRejects;
    this.lastSeqValue = state.lastSeq;
  }

  /** Back to empty, as constructed: recovery giving up on a snapshot it had started to restore. */
  reset(): void {
    this.orders.clear();
    this.openOrderIdsByAccount.clear();
    this.orderIdByClientOrderId.clear();
    this.balances.clear();
    this.fundingResults.clear();
    for (let marketId = 0; marketId < this.trades.length; marketId += 1) {
      this.books[marketId * 2] = new BookLevels(true);
      this.books[marketId * 2 + 1] = new BookLevels(false);
      this.trades[marketId] = new TradeHistory(this.tradesMax);
    }
    this.closedHead = 0;
    this.closedCount = 0;
    this.fillsCursor = 0;
    this.closedFillsTotal = 0;
    this.openCount = 0;
    this.lastSeqValue = 0;
    this.cancelRejectCount = 0;
  }

  private restoreOrders(state: Readonly<ReadModelsState>): void {
    let previousOrderId = 0;
    for (const restored of state.orders) {
      assert(Number.isSafeInteger(restored.orderId) && restored.orderId > previousOrderId, 'ReadModels.restoreState: orders out of order');
      if (restored.orderId > state.lastSeq) invariantBroken(`ReadModels.restoreState: order ${restored.orderId} after lastSeq`);
      if (!ORDER_STATUSES.has(restored.status)) invariantBroken(`ReadModels.restoreState: order ${restored.orderId} has a bad status`);
      if (!(restored.marketId >= 0 && restored.marketId < this.trades.length)) invariantBroken(`ReadModels.restoreState: order ${restored.orderId} of an unknown market`);
      previousOrderId = restored.orderId;
      // Taken over, not copied: a restored state is decoded for these models alone (see restoreState).
      const order = restored as MutableOrderState;
      this.orders.set(order.orderId, order);
      if (order.closedSeq !== 0) continue;
      let open = this.openOrderIdsByAccount.get(order.accountId);
      if (open === undefined) {
        open = new Set();
        this.openOrderIdsByAccount.set(order.accountId, open);
      }
      open.add(order.orderId);
      this.openCount += 1;
    }
    for (const [accountId, clientOrderId, orderId] of state.clientOrderIds) {
      if (this.orders.get(orderId)?.clientOrderId !== clientOrderId) invariantBroken(`ReadModels.restoreState: clientOrderId of order ${orderId} unknown`);
      this.orderIdByClientOrderId.set(clientOrderIdKey(accountId, clientOrderId), orderId);
    }
  }

  /** The closed-order ring, oldest first, evicting what no longer fits these models' limits. */
  private restoreClosedRing(state: Readonly<ReadModelsState>): void {
    const ids = state.closedOrderIds;
    assert(ids.length === this.orders.size - this.openCount, 'ReadModels.restoreState: closed orders and the ring disagree');
    assert(state.closedFillsDropped >= 0 && state.closedFillsDropped <= ids.length, 'ReadModels.restoreState: bad closedFillsDropped');
    const evicted = Math.max(0, ids.length - this.closedOrdersMax);
    for (let index = 0; index < ids.length; index += 1) {
      const order = this.orders.get(ids[index]!);
      if (!(order !== undefined && order.closedSeq !== 0)) invariantBroken(`ReadModels.restoreState: closed order ${ids[index]} unknown or open`);
      if (index < evicted) {
        this.orders.delete(order.orderId);
        const key = clientOrderIdKey(order.accountId, order.clientOrderId);
        if (order.clientOrderId !== '' && this.orderIdByClientOrderId.get(key) === order.orderId) this.orderIdByClientOrderId.delete(key);
        continue;
      }
      this.closedRing[this.closedCount] = order.orderId;
      this.closedCount += 1;
    }
    this.closedHead = 0;
    this.fillsCursor = Math.max(0, state.closedFillsDropped - evicted);
    this.closedFillsTotal = 0;
    for (let offset = this.fillsCursor; offset < this.closedCount; offset += 1) {
      this.closedFillsTotal += this.orders.get(this.closedRing[offset]!)!.fills?.length ?? 0;
    }
    while (this.closedFillsTotal > this.closedOrderFillsMax) this.dropOldestFills();
  }

  // -----------------------------------------------------------------------------------------------

  private addOrder(command: Readonly<Command>): void {
    if (!(!this.orders.has(command.seq))) invariantBroken(`ReadModels: order ${command.seq} placed twice`);
    const marketBuy = command.orderType === OrderType.Market && command.side === Side.Buy;
    const order: MutableOrderState = {
      orderId: command.seq,
      accountId: command.accountId,
      marketId: command.marketId,
      side: command.side,
      orderType: command.orderType,
      timeInForce: command.orderType === OrderType.Market ? TimeInForce.IOC : command.timeInForce,
      postOnly: command.postOnly,
      priceTicks: command.priceTicks,
      qtySteps: command.qtySteps,
      quoteQtyUnits: command.quoteQtyUnits,
      clientOrderId: command.clientOrderId,
      timestampMs: command.timestampMs,
      status: 'new',
      filledSteps: 0,
      remainingSteps: marketBuy ? 0 : command.qtySteps,
      closedSeq: 0,
      fills: [],
    };
    this.registerOpen(order);
  }

  private registerOpen(order: MutableOrderState): void {
    this.orders.set(order.orderId, order);
    let open = this.openOrderIdsByAccount.get(order.accountId);
    if (open === undefined) {
      open = new Set();
      this.openOrderIdsByAccount.set(order.accountId, open);
    }
    open.add(order.orderId);
    this.openCount += 1;
    if (order.clientOrderId !== '') {
      this.orderIdByClientOrderId.set(clientOrderIdKey(order.accountId, order.clientOrderId), order.orderId);
    }
  }

  /** Appends a just-closed order to the ring, evicting the oldest closed order when full. */
  private retainClosed(order: MutableOrderState): void {
    if (this.closedCount === this.closedOrdersMax) this.evictOldestClosed();
    const index = (this.closedHead + this.closedCount) % this.closedOrdersMax;
    this.closedRing[index] = order.orderId;
    this.closedCount += 1;
    this.closedFillsTotal += order.fills?.length ?? 0;
    while (this.closedFillsTotal > this.closedOrderFillsMax) this.dropOldestFills();
  }

  private evictOldestClosed(): void {
    const orderId = this.closedRing[this.closedHead]!;
    const order = this.orders.get(orderId);
    if (!(order !== undefined && order.closedSeq !== 0)) invariantBroken(`ReadModels: closed order ${orderId} missing`);
    if (this.fillsCursor > 0) this.fillsCursor -= 1;
    else this.closedFillsTotal -= order.fills?.length ?? 0;
    this.orders.delete(orderId);
    if (order.clientOrderId !== '') {
      const key = clientOrderIdKey(order.accountId, order.clientOrderId);
      if (this.orderIdByClientOrderId.get(key) === orderId) this.orderIdByClientOrderId.delete(key);
    }
    this.closedHead = (this.closedHead + 1) % this.closedOrdersMax;
    this.closedCount -= 1;
  }

  private dropOldestFills(): void {
    assert(this.fillsCursor < this.closedCount, 'ReadModels: fills counted for no closed order');
    const orderId = this.closedRing[(this.closedHead + this.fillsCursor) % this.closedOrdersMax]!;
    const order = this.orders.get(orderId);
    if (!(order !== undefined)) invariantBroken(`ReadModels: closed order ${orderId} missing`);
    this.closedFillsTotal -= order.fills?.length ?? 0;
    order.fills = null;
    this.fillsCursor += 1;
  }

  private recordFunding(command: Readonly<Command>): void {
    const balance = this.balance(command.accountId, command.assetId);
    if (!(balance !== undefined)) invariantBroken(`ReadModels: funding of account ${command.accountId} left no balance`);
    if (this.fundingResults.size >= this.fundingResultsMax) {
      const oldest = this.fundingResults.keys().next().value;
      if (oldest !== undefined) this.fundingResults.delete(oldest);
    }
    this.fundingResults.set(command.seq, balance);
  }

  private wakeWaiters(): void {
    const waiters = this.seqWaiters;
    let kept = 0;
    for (const waiter of waiters) {
      if (waiter.seq <= this.lastSeqValue) waiter.resolve();
      else waiters[kept++] = waiter;
    }
    waiters.length = kept;
  }
}
