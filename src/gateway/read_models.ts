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
 * Storage is columnar: every order lives in a slot of typed-array columns (found by an IdTable
 * from its orderId), open orders of an account are a linked list through those slots, and fills are
 * a ring indexed by tradeId. Applying the execution stream allocates nothing per order or per fill,
 * so the main thread, which also serves HTTP, spends its time on requests rather than on the
 * garbage collector. `order()` and friends build plain OrderState objects on demand for replies.
 *
 * Memory bounds (STYLE.md: a limit on everything):
 * - open orders: as many as the core allows (ordersOpenMax); an open order is never evicted;
 * - closed orders: the last `closedOrdersMax` to close (default 100,000) are kept, the oldest closed
 *   order is evicted first, together with its clientOrderId entry;
 * - fills kept on orders (the trades of the command that placed them, for the 201 body and
 *   idempotent retries): those of the most recent `fillsMax` trades (default 1,000,000), a ring
 *   indexed by tradeId; an order whose fills are older reports `fills: null` (the order itself stays);
 * - trades: the last `tradesMax` per market (default 1,000) in a preallocated ring;
 * - deposit/withdrawal results (the balance right after each one): the last `fundingResultsMax`;
 * - book levels: bounded by the open orders; balances: bounded by the core's accountsMax.
 */
import { assert, invariantBroken } from '../domain/assert.ts';
import { ABSENT, IdTable } from '../domain/id_table.ts';
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
  /**
   * The same orders as columns (snapshots: a hundred thousand orders restore from typed arrays,
   * with no object per order or fill). When present, `orders` is empty.
   */
  orderColumns?: OrderColumnsState;
  /** The retained closed orders, oldest first (the order they are evicted in). */
  closedOrderIds: number[];
  /** How many retained closed orders have had their fills dropped (informational). */
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

/** Orders as columns, row i being one order; its fills are `fillCount[i]` rows of the fill columns, in order. */
export interface OrderColumnsState {
  orderId: Float64Array;
  accountId: Uint32Array;
  marketId: Uint32Array;
  side: Uint8Array;
  orderType: Uint8Array;
  timeInForce: Uint8Array;
  postOnly: Uint8Array;
  priceTicks: Float64Array;
  qtySteps: Float64Array;
  quoteQtyUnits: Float64Array;
  clientOrderId: string[];
  timestampMs: Float64Array;
  /** Index in ORDER_STATUS_CODES. */
  status: Uint8Array;
  filledSteps: Float64Array;
  remainingSteps: Float64Array;
  closedSeq: Float64Array;
  /** Fills kept per order; FILLS_DROPPED (0xffffffff) when they were dropped (`fills: null`). */
  fillCount: Uint32Array;
  fillTradeId: Float64Array;
  fillPriceTicks: Float64Array;
  fillQtySteps: Float64Array;
  fillMakerOrderId: Float64Array;
}

export interface ReadModelsOptions {
  /** Closed orders kept for GET /orders/{id} and idempotent retries (default 100,000). */
  closedOrdersMax?: number;
  /** Recent trades kept per market (default 1,000). */
  tradesMax?: number;
  /** Fills kept: those of the most recent N trades, open and closed orders alike (default 1,000,000). */
  fillsMax?: number;
  /** Deposit/withdrawal results kept by seq (default 65,536). */
  fundingResultsMax?: number;
}

export const READ_MODELS_DEFAULTS = Object.freeze({
  closedOrdersMax: 100_000,
  tradesMax: 1_000,
  fillsMax: 1_000_000,
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

const STATUS_NAMES: readonly OrderStatus[] = ['new', 'partially_filled', 'filled', 'expired', 'cancelled'];
/** Order statuses by code in OrderColumnsState (and in snapshots, so append only). */
export const ORDER_STATUS_CODES: readonly OrderStatus[] = STATUS_NAMES;
const STATUS_NEW = 0;
const STATUS_PARTIALLY_FILLED = 1;
const STATUS_CODE_OF_DONE: Readonly<Record<DoneReason, number>> = {
  [DoneReason.Filled]: STATUS_NAMES.indexOf(DONE_STATUS[DoneReason.Filled]),
  [DoneReason.Expired]: STATUS_NAMES.indexOf(DONE_STATUS[DoneReason.Expired]),
  [DoneReason.Cancelled]: STATUS_NAMES.indexOf(DONE_STATUS[DoneReason.Cancelled]),
};
/**
 * orderId → slot. Iterated only to export state or to grow, so by scanning its buckets: no dense
 * list to write at a random place on every insert and delete (as the engine's and the ledger's).
 */
function orderIndex(capacity: number): IdTable {
  return new IdTable(capacity, 'read model orders', 'sequential', 'bucket-scan');
}

/** The end of a linked list of slots. */
const NONE = -1;
/** fillCount of an order restored from a snapshot that had already dropped its fills. */
export const FILLS_DROPPED = 0xffffffff;
const ORDER_SLOTS_INITIAL = 1 << 16;

/** Orders as objects → the same orders as columns (what restoreState and the snapshot codec work from). */
export function orderColumnsOf(orders: readonly Readonly<OrderState>[]): OrderColumnsState {
  const count = orders.length;
  let fillTotal = 0;
  for (const order of orders) fillTotal += order.fills?.length ?? 0;
  const columns: OrderColumnsState = {
    orderId: new Float64Array(count),
    accountId: new Uint32Array(count),
    marketId: new Uint32Array(count),
    side: new Uint8Array(count),
    orderType: new Uint8Array(count),
    timeInForce: new Uint8Array(count),
    postOnly: new Uint8Array(count),
    priceTicks: new Float64Array(count),
    qtySteps: new Float64Array(count),
    quoteQtyUnits: new Float64Array(count),
    clientOrderId: new Array<string>(count),
    timestampMs: new Float64Array(count),
    status: new Uint8Array(count),
    filledSteps: new Float64Array(count),
    remainingSteps: new Float64Array(count),
    closedSeq: new Float64Array(count),
    fillCount: new Uint32Array(count),
    fillTradeId: new Float64Array(fillTotal),
    fillPriceTicks: new Float64Array(fillTotal),
    fillQtySteps: new Float64Array(fillTotal),
    fillMakerOrderId: new Float64Array(fillTotal),
  };
  let fillAt = 0;
  for (let row = 0; row < count; row += 1) {
    const order = orders[row]!;
    const status = STATUS_NAMES.indexOf(order.status);
    if (!(status >= 0)) invariantBroken(`ReadModels: order ${order.orderId} has a bad status`);
    columns.orderId[row] = order.orderId;
    columns.accountId[row] = order.accountId;
    columns.marketId[row] = order.marketId;
    columns.side[row] = order.side;
    columns.orderType[row] = order.orderType;
    columns.timeInForce[row] = order.timeInForce;
    columns.postOnly[row] = order.postOnly ? 1 : 0;
    columns.priceTicks[row] = order.priceTicks;
    columns.qtySteps[row] = order.qtySteps;
    columns.quoteQtyUnits[row] = order.quoteQtyUnits;
    columns.clientOrderId[row] = order.clientOrderId;
    columns.timestampMs[row] = order.timestampMs;
    columns.status[row] = status;
    columns.filledSteps[row] = order.filledSteps;
    columns.remainingSteps[row] = order.remainingSteps;
    columns.closedSeq[row] = order.closedSeq;
    const fits = columns.accountId[row] === order.accountId && columns.marketId[row] === order.marketId && columns.side[row] === order.side;
    if (!(fits && columns.orderType[row] === order.orderType && columns.timeInForce[row] === order.timeInForce)) invariantBroken(`ReadModels: order ${order.orderId} has a field out of range`);
    const fills = order.fills;
    columns.fillCount[row] = fills === null ? FILLS_DROPPED : fills.length;
    if (fills === null) continue;
    for (const fill of fills) {
      columns.fillTradeId[fillAt] = fill.tradeId;
      columns.fillPriceTicks[fillAt] = fill.priceTicks;
      columns.fillQtySteps[fillAt] = fill.qtySteps;
      columns.fillMakerOrderId[fillAt] = fill.makerOrderId;
      fillAt += 1;
    }
  }
  return columns;
}

/**
 * The order columns: one slot per order held (open or retained closed), a stack of free slots.
 * Grows by doubling when full (the core bounds open orders, the models bound closed ones).
 */
class OrderColumns {
  capacity = 0;
  orderId: Float64Array = new Float64Array(0);
  accountId: Float64Array = new Float64Array(0);
  marketId: Uint32Array = new Uint32Array(0);
  side: Uint8Array = new Uint8Array(0);
  orderType: Uint8Array = new Uint8Array(0);
  timeInForce: Uint8Array = new Uint8Array(0);
  postOnly: Uint8Array = new Uint8Array(0);
  status: Uint8Array = new Uint8Array(0);
  priceTicks: Float64Array = new Float64Array(0);
  qtySteps: Float64Array = new Float64Array(0);
  quoteQtyUnits: Float64Array = new Float64Array(0);
  timestampMs: Float64Array = new Float64Array(0);
  filledSteps: Float64Array = new Float64Array(0);
  remainingSteps: Float64Array = new Float64Array(0);
  closedSeq: Float64Array = new Float64Array(0);
  /** The tradeId of the order's first fill as taker (0: none yet), and how many fills it took. */
  firstTradeId: Float64Array = new Float64Array(0);
  fillCount: Uint32Array = new Uint32Array(0);
  /** Links of the owner's open-order list (NONE at either end). */
  previous: Int32Array = new Int32Array(0);
  /** The owner's index in AccountColumns while the order is open (closing it needs no account lookup). */
  accountIndex: Int32Array = new Int32Array(0);
  next: Int32Array = new Int32Array(0);
  clientOrderId: string[] = [];
  private freeSlots: Int32Array = new Int32Array(0);
  private freeCount = 0;

  constructor() {
    this.grow(ORDER_SLOTS_INITIAL);
  }

  get used(): number {
    return this.capacity - this.freeCount;
  }

  allocate(): number {
    if (this.freeCount === 0) this.grow(this.capacity * 2);
    this.freeCount -= 1;
    return this.freeSlots[this.freeCount]!;
  }

  /**
   * Columns that hold nothing yet take slots 0 … count − 1 at once, sized to hold them (a restore
   * copies whole columns into them); the free stack keeps handing out the lowest slot first.
   */
  takeFirst(count: number): void {
    assert(this.freeCount === this.capacity, 'OrderColumns.takeFirst: slots are in use');
    let capacity = this.capacity;
    while (capacity < count) capacity *= 2;
    if (capacity > this.capacity) this.grow(capacity);
    for (let index = 0; index < capacity; index += 1) this.freeSlots[index] = capacity - 1 - index;
    this.freeCount = capacity - count;
  }

  /** `withClientOrderId`: the slot's clientOrderId is not '' (only then is it cleared: a cold write less). */
  release(slot: number, withClientOrderId: boolean): void {
    if (withClientOrderId) this.clientOrderId[slot] = '';
    this.freeSlots[this.freeCount] = slot;
    this.freeCount += 1;
  }

  clear(): void {
    this.freeCount = 0;
    for (let slot = this.capacity - 1; slot >= 0; slot -= 1) this.release(slot, true);
  }

  private grow(capacity: number): void {
    const old = this.capacity;
    const float = (column: Float64Array) => copied(new Float64Array(capacity), column);
    this.orderId = float(this.orderId);
    this.accountId = float(this.accountId);
    this.marketId = copied(new Uint32Array(capacity), this.marketId);
    this.side = copied(new Uint8Array(capacity), this.side);
    this.orderType = copied(new Uint8Array(capacity), this.orderType);
    this.timeInForce = copied(new Uint8Array(capacity), this.timeInForce);
    this.postOnly = copied(new Uint8Array(capacity), this.postOnly);
    this.status = copied(new Uint8Array(capacity), this.status);
    this.priceTicks = float(this.priceTicks);
    this.qtySteps = float(this.qtySteps);
    this.quoteQtyUnits = float(this.quoteQtyUnits);
    this.timestampMs = float(this.timestampMs);
    this.filledSteps = float(this.filledSteps);
    this.remainingSteps = float(this.remainingSteps);
    this.closedSeq = float(this.closedSeq);
    this.firstTradeId = float(this.firstTradeId);
    this.fillCount = copied(new Uint32Array(capacity), this.fillCount);
    this.previous = copied(new Int32Array(capacity), this.previous);
    this.accountIndex = copied(new Int32Array(capacity), this.accountIndex);
    this.next = copied(new Int32Array(capacity), this.next);
    const freeSlots = new Int32Array(capacity);
    freeSlots.set(this.freeSlots.subarray(0, this.freeCount));
    // New slots go under the existing free ones; the lowest new slot is handed out first.
    let count = this.freeCount;
    for (let slot = capacity - 1; slot >= old; slot -= 1) {
      freeSlots[count] = slot;
      count += 1;
      this.clientOrderId.push('');
    }
    this.freeSlots = freeSlots;
    this.freeCount = count;
    this.capacity = capacity;
  }
}

function copied<T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(into: T, from: T): T {
  into.set(from as never);
  return into;
}

/** The fills of the most recent trades, slot = tradeId mod capacity (each trade has one taker). */
class FillRing {
  readonly capacity: number;
  readonly priceTicks: Float64Array;
  readonly qtySteps: Float64Array;
  readonly makerOrderId: Float64Array;
  /** The highest tradeId written; fills with tradeId ≤ lastTradeId − capacity are gone. */
  lastTradeId = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.priceTicks = new Float64Array(capacity);
    this.qtySteps = new Float64Array(capacity);
    this.makerOrderId = new Float64Array(capacity);
  }

  write(tradeId: number, priceTicks: number, qtySteps: number, makerOrderId: number): void {
    const at = tradeId % this.capacity;
    this.priceTicks[at] = priceTicks;
    this.qtySteps[at] = qtySteps;
    this.makerOrderId[at] = makerOrderId;
    if (tradeId > this.lastTradeId) this.lastTradeId = tradeId;
  }

  holds(firstTradeId: number): boolean {
    return firstTradeId > this.lastTradeId - this.capacity;
  }

  read(tradeId: number): Fill {
    const at = tradeId % this.capacity;
    return { tradeId, priceTicks: this.priceTicks[at]!, qtySteps: this.qtySteps[at]!, makerOrderId: this.makerOrderId[at]! };
  }
}

/** Per account (dense index, in order of appearance): balances and the open-order list. */
class AccountColumns {
  private readonly indexById = new Map<number, number>();
  ids: number[] = [];
  /** [available, locked] per asset id, interleaved, `width` numbers per account. */
  units: Float64Array;
  openHead: Int32Array;
  openTail: Int32Array;
  hasBalance: Uint8Array;

  constructor(private readonly width: number) {
    this.units = new Float64Array(width * 1024);
    this.openHead = new Int32Array(1024).fill(NONE);
    this.openTail = new Int32Array(1024).fill(NONE);
    this.hasBalance = new Uint8Array(1024);
  }

  get count(): number {
    return this.ids.length;
  }

  indexOf(accountId: number): number {
    return this.indexById.get(accountId) ?? NONE;
  }

  indexOrCreate(accountId: number): number {
    const known = this.indexById.get(accountId);
    if (known !== undefined) return known;
    const index = this.ids.length;
    if (index === this.openHead.length) this.grow(index * 2);
    this.ids.push(accountId);
    this.indexById.set(accountId, index);
    return index;
  }

  /** Accounts that have a balance (exist from their first deposit). */
  withBalance = 0;

  markBalance(index: number): void {
    if (this.hasBalance[index] === 1) return;
    this.hasBalance[index] = 1;
    this.withBalance += 1;
  }

  reset(): void {
    this.indexById.clear();
    this.ids = [];
    this.units.fill(0);
    this.openHead.fill(NONE);
    this.openTail.fill(NONE);
    this.hasBalance.fill(0);
    this.withBalance = 0;
  }

  private grow(capacity: number): void {
    this.units = copied(new Float64Array(capacity * this.width), this.units);
    this.openHead = copied(new Int32Array(capacity).fill(NONE), this.openHead);
    this.openTail = copied(new Int32Array(capacity).fill(NONE), this.openTail);
    this.hasBalance = copied(new Uint8Array(capacity), this.hasBalance);
  }
}

export class ReadModels implements ExecutionSink {
  readonly marketSet: MarketSet;
  readonly closedOrdersMax: number;
  readonly tradesMax: number;
  readonly fillsMax: number;
  readonly fundingResultsMax: number;

  private readonly columns = new OrderColumns();
  private slotByOrderId = orderIndex(ORDER_SLOTS_INITIAL);
  private readonly fills: FillRing;
  private readonly accounts: AccountColumns;
  private readonly assetCount: number;
  private readonly orderIdByClientOrderId = new Map<string, number>();
  private readonly fundingResults = new Map<number, BalanceState>();
  /** Index market id × 2 + side. */
  private readonly books: BookLevels[];
  private readonly trades: TradeHistory[];

  /**
   * Closed orders, oldest first: a ring of orderIds, with each one's slot and whether it has a
   * clientOrderId beside it. Evicting the oldest then touches only what must change (its index entry
   * and, for one with a clientOrderId, that lookup): its columns were written ~closedOrdersMax orders
   * ago and are long out of the cache, and reading them back cost the main thread a cache miss each.
   */
  private readonly closedRing: Float64Array;
  private readonly closedSlots: Int32Array;
  private readonly closedWithClientOrderId: Uint8Array;
  private closedHead = 0;
  private closedCount = 0;

  private openCount = 0;
  private lastSeqValue = 0;
  private cancelRejectCount = 0;
  private readonly seqWaiters: { seq: number; resolve: () => void }[] = [];

  constructor(marketSet: MarketSet, options: ReadModelsOptions = {}) {
    this.marketSet = marketSet;
    this.closedOrdersMax = positiveOption(options.closedOrdersMax, READ_MODELS_DEFAULTS.closedOrdersMax, 'closedOrdersMax');
    this.tradesMax = positiveOption(options.tradesMax, READ_MODELS_DEFAULTS.tradesMax, 'tradesMax');
    this.fillsMax = positiveOption(options.fillsMax, READ_MODELS_DEFAULTS.fillsMax, 'fillsMax');
    this.fundingResultsMax = positiveOption(options.fundingResultsMax, READ_MODELS_DEFAULTS.fundingResultsMax, 'fundingResultsMax');
    marketSet.markets.forEach((market, index) => assert(market.id === index, 'ReadModels: market ids must be their index'));
    this.assetCount = marketSet.assets.length;
    this.accounts = new AccountColumns(this.assetCount * 2);
    this.fills = new FillRing(this.fillsMax);
    this.books = [];
    this.trades = [];
    for (let marketId = 0; marketId < marketSet.markets.length; marketId += 1) {
      this.books.push(new BookLevels(true), new BookLevels(false));
      this.trades.push(new TradeHistory(this.tradesMax));
    }
    this.closedRing = new Float64Array(this.closedOrdersMax);
    this.closedSlots = new Int32Array(this.closedOrdersMax);
    this.closedWithClientOrderId = new Uint8Array(this.closedOrdersMax);
  }

  // -----------------------------------------------------------------------------------------------
  // Queries. Orders come out as fresh plain objects: a copy of the order as it is now.

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
    return this.accounts.withBalance;
  }

  get cancelRejects(): number {
    return this.cancelRejectCount;
  }

  order(orderId: number): OrderState | undefined {
    const slot = this.slotByOrderId.get(orderId);
    return slot === ABSENT ? undefined : this.orderAt(slot);
  }

  orderByClientOrderId(accountId: number, clientOrderId: string): OrderState | undefined {
    const orderId = this.orderIdByClientOrderId.get(clientOrderIdKey(accountId, clientOrderId));
    return orderId === undefined ? undefined : this.order(orderId);
  }

  /** The account's open orders in orderId order. */
  openOrders(accountId: number): OrderState[] {
    const index = this.accounts.indexOf(accountId);
    const result: OrderState[] = [];
    if (index === NONE) return result;
    for (let slot = this.accounts.openHead[index]!; slot !== NONE; slot = this.columns.next[slot]!) result.push(this.orderAt(slot));
    return result;
  }

  /** An account exists from its first deposit. */
  hasAccount(accountId: number): boolean {
    const index = this.accounts.indexOf(accountId);
    return index !== NONE && this.accounts.hasBalance[index] === 1;
  }

  /** The balance of (account, asset); zeros for an asset the account never held, undefined for an unknown account. */
  balance(accountId: number, assetId: number): BalanceState | undefined {
    if (!this.hasAccount(accountId)) return undefined;
    if (!(assetId >= 0 && assetId < this.assetCount)) return { availableUnits: 0, lockedUnits: 0 };
    const base = this.accounts.indexOf(accountId) * this.assetCount * 2 + assetId * 2;
    return { availableUnits: this.accounts.units[base]!, lockedUnits: this.accounts.units[base + 1]! };
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
  // The execution stream (ExecutionSink). Nothing here allocates per order or per fill.

  onCommand(command: Readonly<Command>): void {
    if (!(command.seq > this.lastSeqValue)) invariantBroken(`ReadModels: seq ${command.seq} after ${this.lastSeqValue}`);
    if (command.type === CommandType.Place) this.addOrder(command);
  }

  onTrade(event: Readonly<TradeEvent>): void {
    const taker = this.slotByOrderId.get(event.takerOrderId);
    const maker = this.slotByOrderId.get(event.makerOrderId);
    if (taker === ABSENT) invariantBroken(`ReadModels.onTrade: unknown taker ${event.takerOrderId}`);
    if (maker === ABSENT) invariantBroken(`ReadModels.onTrade: unknown maker ${event.makerOrderId}`);
    if (!(event.tradeId > this.fills.lastTradeId)) invariantBroken(`ReadModels.onTrade: trade ${event.tradeId} after ${this.fills.lastTradeId}`);
    const columns = this.columns;
    this.fills.write(event.tradeId, event.priceTicks, event.qtySteps, event.makerOrderId);
    if (columns.fillCount[taker] === 0) columns.firstTradeId[taker] = event.tradeId;
    else if (columns.firstTradeId[taker]! + columns.fillCount[taker]! !== event.tradeId) invariantBroken(`ReadModels.onTrade: taker ${event.takerOrderId} fills are not consecutive`);
    columns.fillCount[taker] = columns.fillCount[taker]! + 1;
    columns.filledSteps[taker] = columns.filledSteps[taker]! + event.qtySteps;
    const marketBuy = columns.orderType[taker] === OrderType.Market && columns.side[taker] === Side.Buy;
    columns.remainingSteps[taker] = marketBuy ? 0 : event.takerRemainingSteps;
    columns.status[taker] = STATUS_PARTIALLY_FILLED;
    columns.filledSteps[maker] = columns.filledSteps[maker]! + event.qtySteps;
    columns.remainingSteps[maker] = event.makerRemainingSteps;
    columns.status[maker] = STATUS_PARTIALLY_FILLED;
    const history = this.trades[event.marketId];
    if (!(history !== undefined)) invariantBroken(`ReadModels.onTrade: unknown market ${event.marketId}`);
    history.push(event);
  }

  onOrderDone(event: Readonly<OrderDoneEvent>): void {
    const slot = this.slotByOrderId.get(event.orderId);
    if (slot === ABSENT) invariantBroken(`ReadModels.onOrderDone: unknown order ${event.orderId}`);
    const columns = this.columns;
    if (!(columns.closedSeq[slot] === 0)) invariantBroken(`ReadModels.onOrderDone: order ${event.orderId} closed twice`);
    columns.status[slot] = STATUS_CODE_OF_DONE[event.reason];
    columns.remainingSteps[slot] = event.remainingSteps;
    columns.closedSeq[slot] = event.seq;
    this.unlinkOpen(slot);
    this.openCount -= 1;
    this.retainClosed(event.orderId, slot);
  }

  onLevel(event: Readonly<LevelEvent>): void {
    this.bookSide(event.marketId, event.side).set(event.priceTicks, event.qtySteps);
  }

  onCancelReject(_event: Readonly<CancelRejectEvent>): void {
    // The gateway learns the outcome from the order itself (its closedSeq is not the cancel's seq).
    this.cancelRejectCount += 1;
  }

  onBalance(accountId: number, assetId: number, availableUnits: number, lockedUnits: number): void {
    if (!(assetId >= 0 && assetId < this.assetCount)) invariantBroken(`ReadModels.onBalance: unknown asset ${assetId}`);
    const accounts = this.accounts;
    const index = accounts.indexOrCreate(accountId);
    accounts.markBalance(index);
    const base = index * this.assetCount * 2 + assetId * 2;
    accounts.units[base] = availableUnits;
    accounts.units[base + 1] = lockedUnits;
  }

  onCommandEnd(command: Readonly<Command>): void {
    this.lastSeqValue = command.seq;
    if (command.type === CommandType.Deposit || command.type === CommandType.Withdraw) this.recordFunding(command);
    if (this.seqWaiters.length > 0) this.wakeWaiters();
  }

  // -----------------------------------------------------------------------------------------------
  // Snapshots: the whole state out, and back into fresh models (src/snapshot/).

  /**
   * A copy of everything the models hold (nothing shared with the live state). `orderColumns`: the
   * orders as columns (snapshots), not objects.
   */
  exportState(options: { orderColumns?: boolean } = {}): ReadModelsState {
    const slots = this.slotsInOrderIdOrder();
    const orders = options.orderColumns === true ? [] : Array.from(slots, (slot) => this.orderAt(slot));
    const closedOrderIds: number[] = [];
    let closedFillsDropped = 0;
    for (let offset = 0; offset < this.closedCount; offset += 1) {
      const orderId = this.closedRing[(this.closedHead + offset) % this.closedOrdersMax]!;
      closedOrderIds.push(orderId);
      if (!this.fillsHeld(this.slotByOrderId.get(orderId))) closedFillsDropped += 1;
    }
    const clientOrderIds: [number, string, number][] = [];
    for (const [key, orderId] of this.orderIdByClientOrderId) {
      const colon = key.indexOf(':');
      clientOrderIds.push([Number(key.slice(0, colon)), key.slice(colon + 1), orderId]);
    }
    const balances: ReadModelsState['balances'] = [];
    const width = this.assetCount * 2;
    for (let index = 0; index < this.accounts.count; index += 1) {
      if (this.accounts.hasBalance[index] !== 1) continue;
      balances.push({ accountId: this.accounts.ids[index]!, units: Array.from(this.accounts.units.subarray(index * width, (index + 1) * width)) });
    }
    const fundingResults = [...this.fundingResults].map(
      ([seq, balance]): [number, number, number] => [seq, balance.availableUnits, balance.lockedUnits],
    );
    const books = this.books.map((book) => {
      const levels: [number, number][] = [];
      for (let index = 0; index < book.size; index += 1) levels.push([book.priceAt(index), book.qtyAt(index)]);
      return levels;
    });
    const trades = this.trades.map((history) => history.newest(history.capacity).reverse());
    const state: ReadModelsState = {
      lastSeq: this.lastSeqValue,
      cancelRejects: this.cancelRejectCount,
      orders,
      closedOrderIds,
      closedFillsDropped,
      clientOrderIds,
      balances,
      fundingResults,
      books,
      trades,
    };
    if (options.orderColumns === true) state.orderColumns = this.exportOrderColumns(slots);
    return state;
  }

  /** The slot of every order held, in orderId order (the ids sorted as numbers, then looked up). */
  private slotsInOrderIdOrder(): Int32Array {
    const orderIds = new Float64Array(this.slotByOrderId.size);
    let count = 0;
    this.slotByOrderId.forEach((orderId) => {
      orderIds[count] = orderId;
      count += 1;
    });
    orderIds.sort();
    const slots = new Int32Array(count);
    for (let row = 0; row < count; row += 1) slots[row] = this.slotByOrderId.get(orderIds[row]!);
    return slots;
  }

  /** The orders in `slots` (orderId order) as columns, their fills as the ring holds them. */
  private exportOrderColumns(slots: Int32Array): OrderColumnsState {
    const source = this.columns;
    const count = slots.length;
    let fillTotal = 0;
    for (let row = 0; row < count; row += 1) if (this.fillsHeld(slots[row]!)) fillTotal += source.fillCount[slots[row]!]!;
    const orders = orderColumnsOf([]);
    // One gather per column, by row: no closure or pair per value (a snapshot holds ~100k orders).
    const gather = <T extends Float64Array | Uint32Array | Uint8Array>(into: T, from: Float64Array | Uint32Array | Uint8Array): T => {
      for (let row = 0; row < count; row += 1) into[row] = from[slots[row]!]!;
      return into;
    };
    const float = (from: Float64Array) => gather(new Float64Array(count), from);
    const byte = (from: Uint8Array) => gather(new Uint8Array(count), from);
    orders.orderId = float(source.orderId);
    orders.accountId = gather(new Uint32Array(count), source.accountId);
    orders.marketId = gather(new Uint32Array(count), source.marketId);
    orders.side = byte(source.side);
    orders.orderType = byte(source.orderType);
    orders.timeInForce = byte(source.timeInForce);
    orders.postOnly = byte(source.postOnly);
    orders.priceTicks = float(source.priceTicks);
    orders.qtySteps = float(source.qtySteps);
    orders.quoteQtyUnits = float(source.quoteQtyUnits);
    orders.clientOrderId = Array.from(slots, (slot) => source.clientOrderId[slot]!);
    orders.timestampMs = float(source.timestampMs);
    orders.status = byte(source.status);
    orders.filledSteps = float(source.filledSteps);
    orders.remainingSteps = float(source.remainingSteps);
    orders.closedSeq = float(source.closedSeq);
    orders.fillCount = new Uint32Array(count);
    orders.fillTradeId = new Float64Array(fillTotal);
    orders.fillPriceTicks = new Float64Array(fillTotal);
    orders.fillQtySteps = new Float64Array(fillTotal);
    orders.fillMakerOrderId = new Float64Array(fillTotal);
    const fills = this.fills;
    let fillAt = 0;
    for (let row = 0; row < count; row += 1) {
      const slot = slots[row]!;
      if (!this.fillsHeld(slot)) {
        orders.fillCount[row] = FILLS_DROPPED;
        continue;
      }
      const first = source.firstTradeId[slot]!;
      const fillCount = source.fillCount[slot]!;
      orders.fillCount[row] = fillCount;
      for (let offset = 0; offset < fillCount; offset += 1) {
        const at = (first + offset) % fills.capacity;
        orders.fillTradeId[fillAt] = first + offset;
        orders.fillPriceTicks[fillAt] = fills.priceTicks[at]!;
        orders.fillQtySteps[fillAt] = fills.qtySteps[at]!;
        orders.fillMakerOrderId[fillAt] = fills.makerOrderId[at]!;
        fillAt += 1;
      }
    }
    return orders;
  }

  /**
   * Loads `exportState()` output into models that have seen nothing yet. The limits of these models
   * apply: when they are smaller than the exporter's, the oldest closed orders, fills, funding results
   * and trades are let go exactly as the execution stream would have let them go.
   */
  restoreState(state: Readonly<ReadModelsState>): void {
    assert(this.lastSeqValue === 0 && this.slotByOrderId.size === 0 && this.accounts.count === 0, 'ReadModels.restoreState: the models are not empty');
    assert(Number.isSafeInteger(state.lastSeq) && state.lastSeq >= 0, 'ReadModels.restoreState: bad lastSeq');
    assert(state.trades.length === this.trades.length, 'ReadModels.restoreState: trades of another market set');
    // Each trade has one taker, so the fill ring is positioned by tradeId: the newest trade of any
    // market is the newest trade of all, whatever orders were evicted since.
    for (const trades of state.trades) for (const trade of trades) this.fills.lastTradeId = Math.max(this.fills.lastTradeId, trade.tradeId);
    // Balances first: accounts are numbered in the order they appeared, which export follows.
    const width = this.assetCount * 2;
    for (const { accountId, units } of state.balances) {
      if (units.length !== width) invariantBroken(`ReadModels.restoreState: balance of ${accountId} has the wrong shape`);
      for (let assetId = 0; assetId < this.assetCount; assetId += 1) {
        this.onBalance(accountId, assetId, units[assetId * 2]!, units[assetId * 2 + 1]!);
      }
    }
    assert(state.orderColumns === undefined || state.orders.length === 0, 'ReadModels.restoreState: orders as objects and as columns');
    this.restoreOrders(state.orderColumns ?? orderColumnsOf(state.orders), state);
    this.restoreClosedRing(state);
    for (const [seq, availableUnits, lockedUnits] of state.fundingResults.slice(-this.fundingResultsMax)) {
      this.fundingResults.set(seq, { availableUnits, lockedUnits });
    }
    assert(state.books.length === this.books.length, 'ReadModels.restoreState: books of another market set');
    state.books.forEach((levels, index) => {
      for (const [priceTicks, qtySteps] of levels) this.books[index]!.set(priceTicks, qtySteps);
    });
    state.trades.forEach((trades, marketId) => {
      for (const trade of trades) this.trades[marketId]!.push(trade);
    });
    this.cancelRejectCount = state.cancelRejects;
    this.lastSeqValue = state.lastSeq;
  }

  /** Back to empty, as constructed: recovery giving up on a snapshot it had started to restore. */
  reset(): void {
    this.columns.clear();
    this.slotByOrderId = orderIndex(this.columns.capacity);
    this.orderIdByClientOrderId.clear();
    this.accounts.reset();
    this.fundingResults.clear();
    for (let marketId = 0; marketId < this.trades.length; marketId += 1) {
      this.books[marketId * 2] = new BookLevels(true);
      this.books[marketId * 2 + 1] = new BookLevels(false);
      this.trades[marketId] = new TradeHistory(this.tradesMax);
    }
    this.fills.lastTradeId = 0;
    this.closedHead = 0;
    this.closedCount = 0;
    this.openCount = 0;
    this.lastSeqValue = 0;
    this.cancelRejectCount = 0;
  }

  /**
   * The orders of restored columns go into slots 0 … count − 1 of the (empty) models: checked row by
   * row, then copied column by column, then indexed, linked into their owners' open-order lists and
   * their fills written back into the ring at their tradeIds.
   */
  private restoreOrders(orders: Readonly<OrderColumnsState>, state: Readonly<ReadModelsState>): void {
    const count = orders.orderId.length;
    const { fillTradeId, fillCount } = orders;
    let previousOrderId = 0;
    let fillAt = 0;
    let lastTradeId = this.fills.lastTradeId;
    for (let row = 0; row < count; row += 1) {
      const orderId = orders.orderId[row]!;
      if (!(Number.isSafeInteger(orderId) && orderId > previousOrderId)) invariantBroken('ReadModels.restoreState: orders out of order');
      if (orderId > state.lastSeq) invariantBroken(`ReadModels.restoreState: order ${orderId} after lastSeq`);
      if (!(orders.status[row]! < STATUS_NAMES.length)) invariantBroken(`ReadModels.restoreState: order ${orderId} has a bad status`);
      if (!(orders.marketId[row]! < this.trades.length)) invariantBroken(`ReadModels.restoreState: order ${orderId} of an unknown market`);
      previousOrderId = orderId;
      const fills = fillCount[row] === FILLS_DROPPED ? 0 : fillCount[row]!;
      if (!(fillAt + fills <= fillTradeId.length)) invariantBroken(`ReadModels.restoreState: order ${orderId} has fewer fills than it counts`);
      for (let offset = 1; offset < fills; offset += 1) {
        if (fillTradeId[fillAt + offset] !== fillTradeId[fillAt]! + offset) invariantBroken(`ReadModels: order ${orderId} fills are not consecutive trades`);
      }
      if (fills > 0 && fillTradeId[fillAt]! + fills - 1 > lastTradeId) lastTradeId = fillTradeId[fillAt]! + fills - 1;
      fillAt += fills;
    }
    if (!(fillAt === fillTradeId.length)) invariantBroken('ReadModels.restoreState: more fills than the orders count');
    // The ring is positioned at the newest trade first: fills older than it can hold read as dropped.
    this.fills.lastTradeId = lastTradeId;

    const columns = this.columns;
    columns.takeFirst(count);
    if (columns.capacity > this.slotByOrderId.capacity) this.slotByOrderId = orderIndex(columns.capacity);
    columns.orderId.set(orders.orderId);
    columns.accountId.set(orders.accountId);
    columns.marketId.set(orders.marketId);
    columns.side.set(orders.side);
    columns.orderType.set(orders.orderType);
    columns.timeInForce.set(orders.timeInForce);
    columns.postOnly.set(orders.postOnly);
    columns.status.set(orders.status);
    columns.priceTicks.set(orders.priceTicks);
    columns.qtySteps.set(orders.qtySteps);
    columns.quoteQtyUnits.set(orders.quoteQtyUnits);
    columns.timestampMs.set(orders.timestampMs);
    columns.filledSteps.set(orders.filledSteps);
    columns.remainingSteps.set(orders.remainingSteps);
    columns.closedSeq.set(orders.closedSeq);
    columns.fillCount.set(fillCount);
    const index = this.slotByOrderId;
    const fillRing = this.fills;
    fillAt = 0;
    for (let slot = 0; slot < count; slot += 1) {
      index.insert(columns.orderId[slot]!, slot);
      columns.clientOrderId[slot] = orders.clientOrderId[slot]!;
      const fills = fillCount[slot]!;
      columns.firstTradeId[slot] = 0;
      if (fills !== FILLS_DROPPED && fills > 0) {
        const first = fillTradeId[fillAt]!;
        columns.firstTradeId[slot] = first;
        if (fillRing.holds(first)) {
          for (let offset = 0; offset < fills; offset += 1) {
            const at = fillAt + offset;
            fillRing.write(first + offset, orders.fillPriceTicks[at]!, orders.fillQtySteps[at]!, orders.fillMakerOrderId[at]!);
          }
        }
        fillAt += fills;
      }
      if (columns.closedSeq[slot] === 0) this.linkOpen(slot, columns.accountId[slot]!);
    }
    for (const [accountId, clientOrderId, orderId] of state.clientOrderIds) {
      const slot = index.get(orderId);
      if (slot === ABSENT || columns.clientOrderId[slot] !== clientOrderId || columns.accountId[slot] !== accountId) {
        invariantBroken(`ReadModels.restoreState: clientOrderId of order ${orderId} unknown`);
      }
      this.orderIdByClientOrderId.set(clientOrderIdKey(accountId, clientOrderId), orderId);
    }
  }

  /** The closed-order ring, oldest first, evicting what no longer fits these models' limits. */
  private restoreClosedRing(state: Readonly<ReadModelsState>): void {
    const ids = state.closedOrderIds;
    assert(ids.length === this.slotByOrderId.size - this.openCount, 'ReadModels.restoreState: closed orders and the ring disagree');
    assert(state.closedFillsDropped >= 0 && state.closedFillsDropped <= ids.length, 'ReadModels.restoreState: bad closedFillsDropped');
    const evicted = Math.max(0, ids.length - this.closedOrdersMax);
    for (let index = 0; index < ids.length; index += 1) {
      const slot = this.slotByOrderId.get(ids[index]!);
      if (!(slot !== ABSENT && this.columns.closedSeq[slot] !== 0)) invariantBroken(`ReadModels.restoreState: closed order ${ids[index]} unknown or open`);
      if (index < evicted) {
        this.forgetOrder(ids[index]!, slot, this.columns.clientOrderId[slot] !== '');
        continue;
      }
      this.closedRing[this.closedCount] = ids[index]!;
      this.closedSlots[this.closedCount] = slot;
      this.closedWithClientOrderId[this.closedCount] = this.columns.clientOrderId[slot] !== '' ? 1 : 0;
      this.closedCount += 1;
    }
    this.closedHead = 0;
  }

  // -----------------------------------------------------------------------------------------------

  /** A plain copy of the order in `slot`. */
  private orderAt(slot: number): OrderState {
    const columns = this.columns;
    const status = STATUS_NAMES[columns.status[slot]!];
    if (!(status !== undefined)) invariantBroken(`ReadModels: order in slot ${slot} has a bad status`);
    return {
      orderId: columns.orderId[slot]!,
      accountId: columns.accountId[slot]!,
      marketId: columns.marketId[slot]!,
      side: columns.side[slot] as Side,
      orderType: columns.orderType[slot] as OrderType,
      timeInForce: columns.timeInForce[slot] as TimeInForce,
      postOnly: columns.postOnly[slot] === 1,
      priceTicks: columns.priceTicks[slot]!,
      qtySteps: columns.qtySteps[slot]!,
      quoteQtyUnits: columns.quoteQtyUnits[slot]!,
      clientOrderId: columns.clientOrderId[slot]!,
      timestampMs: columns.timestampMs[slot]!,
      status,
      filledSteps: columns.filledSteps[slot]!,
      remainingSteps: columns.remainingSteps[slot]!,
      closedSeq: columns.closedSeq[slot]!,
      fills: this.fillsOf(slot),
    };
  }

  private fillsHeld(slot: number): boolean {
    const count = this.columns.fillCount[slot]!;
    if (count === 0) return true;
    return count !== FILLS_DROPPED && this.fills.holds(this.columns.firstTradeId[slot]!);
  }

  private fillsOf(slot: number): Fill[] | null {
    if (!this.fillsHeld(slot)) return null;
    const first = this.columns.firstTradeId[slot]!;
    const count = this.columns.fillCount[slot]!;
    const fills: Fill[] = [];
    for (let offset = 0; offset < count; offset += 1) fills.push(this.fills.read(first + offset));
    return fills;
  }

  private addOrder(command: Readonly<Command>): void {
    const marketBuy = command.orderType === OrderType.Market && command.side === Side.Buy;
    const slot = this.allocateOrder(command.seq, command.accountId, command.clientOrderId);
    const columns = this.columns;
    columns.marketId[slot] = command.marketId;
    columns.side[slot] = command.side;
    columns.orderType[slot] = command.orderType;
    columns.timeInForce[slot] = command.orderType === OrderType.Market ? TimeInForce.IOC : command.timeInForce;
    columns.postOnly[slot] = command.postOnly ? 1 : 0;
    columns.status[slot] = STATUS_NEW;
    columns.priceTicks[slot] = command.priceTicks;
    columns.qtySteps[slot] = command.qtySteps;
    columns.quoteQtyUnits[slot] = command.quoteQtyUnits;
    columns.timestampMs[slot] = command.timestampMs;
    columns.filledSteps[slot] = 0;
    columns.remainingSteps[slot] = marketBuy ? 0 : command.qtySteps;
    columns.closedSeq[slot] = 0;
    columns.firstTradeId[slot] = 0;
    columns.fillCount[slot] = 0;
    this.linkOpen(slot, command.accountId);
  }

  private allocateOrder(orderId: number, accountId: number, clientOrderId: string): number {
    const columns = this.columns;
    const slot = columns.allocate();
    if (columns.capacity > this.slotByOrderId.capacity) this.growIndex();
    // Throws (InvariantError) for an orderId already present: an order placed twice.
    this.slotByOrderId.insert(orderId, slot);
    columns.orderId[slot] = orderId;
    columns.accountId[slot] = accountId;
    columns.clientOrderId[slot] = clientOrderId;
    if (clientOrderId !== '') this.orderIdByClientOrderId.set(clientOrderIdKey(accountId, clientOrderId), orderId);
    return slot;
  }

  /** The columns doubled: a table as large, rebuilt from the slots in use. */
  private growIndex(): void {
    const grown = orderIndex(this.columns.capacity);
    this.slotByOrderId.forEach((orderId, slot) => grown.insert(orderId, slot));
    this.slotByOrderId = grown;
  }

  private linkOpen(slot: number, accountId: number): void {
    const accounts = this.accounts;
    const index = accounts.indexOrCreate(accountId);
    const tail = accounts.openTail[index]!;
    const columns = this.columns;
    columns.accountIndex[slot] = index;
    columns.previous[slot] = tail;
    columns.next[slot] = NONE;
    if (tail === NONE) accounts.openHead[index] = slot;
    else columns.next[tail] = slot;
    accounts.openTail[index] = slot;
    this.openCount += 1;
  }

  private unlinkOpen(slot: number): void {
    const accounts = this.accounts;
    const columns = this.columns;
    const index = columns.accountIndex[slot]!;
    if (!(accounts.ids[index] === columns.accountId[slot])) invariantBroken(`ReadModels: order ${columns.orderId[slot]} is not in its account's list`);
    const previous = columns.previous[slot]!;
    const next = columns.next[slot]!;
    if (previous === NONE) {
      if (accounts.openHead[index] !== slot) invariantBroken(`ReadModels: order ${columns.orderId[slot]} was not open`);
      accounts.openHead[index] = next;
    } else columns.next[previous] = next;
    if (next === NONE) accounts.openTail[index] = previous;
    else columns.previous[next] = previous;
    columns.previous[slot] = NONE;
    columns.next[slot] = NONE;
  }

  /** Appends a just-closed order to the ring, evicting the oldest closed order when full. */
  private retainClosed(orderId: number, slot: number): void {
    if (this.closedCount === this.closedOrdersMax) this.evictOldestClosed();
    const index = (this.closedHead + this.closedCount) % this.closedOrdersMax;
    this.closedRing[index] = orderId;
    this.closedSlots[index] = slot;
    this.closedWithClientOrderId[index] = this.columns.clientOrderId[slot] !== '' ? 1 : 0;
    this.closedCount += 1;
  }

  private evictOldestClosed(): void {
    const head = this.closedHead;
    this.forgetOrder(this.closedRing[head]!, this.closedSlots[head]!, this.closedWithClientOrderId[head] === 1);
    this.closedHead = (head + 1) % this.closedOrdersMax;
    this.closedCount -= 1;
  }

  /**
   * Drops a closed order and its clientOrderId entry (when it still points at this order). Its
   * index entry must name `slot`: the one check that the ring and the index agree.
   */
  private forgetOrder(orderId: number, slot: number, withClientOrderId: boolean): void {
    const indexed = this.slotByOrderId.take(orderId);
    if (indexed !== slot) invariantBroken(`ReadModels: closed order ${orderId} is not indexed at its slot ${slot} (${indexed})`);
    const columns = this.columns;
    if (withClientOrderId) {
      const key = clientOrderIdKey(columns.accountId[slot]!, columns.clientOrderId[slot]!);
      if (this.orderIdByClientOrderId.get(key) === orderId) this.orderIdByClientOrderId.delete(key);
    }
    columns.release(slot, withClientOrderId);
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
