/**
 * The settlement ledger: the authority on balances.
 *
 * It sees every sequenced command before the matching engine does (`applyCommand`: deposits,
 * withdrawals, and the lock an accepted order takes) and then the engine's events (`MatchSink`):
 * each trade moves quote from the buyer's lock to the seller and base from the seller's lock to the
 * buyer; each order that leaves the book releases whatever it still has locked. Every amount that
 * becomes available is reported to the sink as a credit, which flows back to the sequencer's
 * spendable view.
 *
 * Per order it keeps the reservation it holds, so that locked funds always equal what open orders
 * reserve, a resting limit buy locks exactly ceil(limit × remaining), and a resting sell exactly its
 * remaining base. Pure: no I/O, no clock, no threads; the order table is preallocated.
 */
import { assert, invariantBroken } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import { ACCOUNT_ID_MAX, CommandType, OrderType, Side, reservationUnits, reservedAssetId, restingBuyReservation } from '../domain/commands.ts';
import type { CancelRejectEvent, LedgerSink, LevelEvent, MatchSink, OrderDoneEvent, TradeEvent } from '../domain/events.ts';
import { DoneReason } from '../domain/events.ts';
import { UNITS_MAX } from '../domain/fixed_point.ts';
import { ABSENT, IdTable } from '../domain/id_table.ts';
import type { CoreLimits } from '../domain/limits.ts';
import { validateCoreLimits } from '../domain/limits.ts';
import type { Market, MarketSet } from '../domain/markets.ts';
import { notionalFloor } from '../domain/markets.ts';

/** One open order's reservation, as exported. */
export interface LedgerOrderState {
  orderId: number;
  accountId: number;
  marketId: number;
  side: Side;
  isMarket: boolean;
  /** The limit price; 0 for a market order. */
  priceTicks: number;
  /** Unfilled steps; a market buy, which spends quote rather than buying steps, keeps 0. */
  remainingSteps: number;
  reservedUnits: number;
}

/** A plain, JSON-able copy of the ledger's state, for snapshots. */
export interface LedgerState {
  /** The seq of the last command applied (0 before the first). */
  lastSeq: number;
  /** Per asset id: Σ deposits − Σ withdrawals. */
  supplyUnits: number[];
  /** In the order the accounts were created; the arrays are indexed by asset id. */
  accounts: { accountId: number; availableUnits: number[]; lockedUnits: number[] }[];
  /** Open orders in placement (seq) order. */
  orders: LedgerOrderState[];
}

/**
 * One open order's record in the ledger's order table: 64 bytes, so that settling a fill or closing
 * an order touches one cache line per order (a struct of arrays touched one line per field).
 * f64 words: orderId, limit price (0 for a market order), unfilled steps, reserved units;
 * u32 words after them: account index, market id, side, is-market (1/0).
 */
const ORDER_RECORD_BYTES = 64;
const ORDER_F64_STRIDE = ORDER_RECORD_BYTES / 8;
const ORDER_U32_STRIDE = ORDER_RECORD_BYTES / 4;
const O_ID = 0;
/** O_ID of a slot that holds no order (order ids are positive): the open orders are the slots below the high-water mark with an id. */
const FREE_SLOT = 0;
const O_PRICE = 1;
const O_REMAINING = 2;
const O_RESERVED = 3;
const O_ACCOUNT_INDEX = 8;
const O_MARKET = 9;
const O_SIDE = 10;
const O_IS_MARKET = 11;

export class Ledger implements MatchSink {
  private readonly markets: readonly Market[];
  private readonly assetCount: number;
  private readonly limits: Readonly<CoreLimits>;
  private readonly sink: LedgerSink;

  private lastSeqValue = 0;
  private readonly supplyUnits: Float64Array;

  private readonly accountIndexById: IdTable;
  private readonly accountIds: Uint32Array;
  private accountCountValue = 0;
  /**
   * Per (account index, asset), b = index × assetCount + assetId: available at balances[2b], locked
   * at balances[2b + 1], side by side so that moving funds between them touches one cache line.
   */
  private readonly balances: Float64Array;

  // The order reservation table: one 64-byte record per open order (one cache line, see ORDER_*),
  // read through two views of one buffer, and a stack of free slots.
  private readonly slotByOrderId: IdTable;
  private readonly orderF64: Float64Array;
  private readonly orderU32: Uint32Array;
  /** Released slots (a stack); slots at or above `slotHighWater` have never been used. */
  private readonly freeSlots: Uint32Array;
  private freeSlotCount = 0;
  private slotHighWater = 0;
  /**
   * Where the order table last held the taker (placed or traded) and the maker of the last trade:
   * hints for the lookups of the same orders' next events (`IdTable.findHinted` checks them), which
   * come within the same command: a taker's trades and its done event, a maker's fill and its close.
   */
  private takerBucketHint = -1;
  private makerOrderIdHint = 0;
  private makerBucketHint = -1;

  constructor(marketSet: MarketSet, limits: CoreLimits, sink: LedgerSink) {
    const limitErrors = validateCoreLimits(limits);
    if (!(limitErrors.length === 0)) invariantBroken(`Ledger: invalid limits: ${limitErrors.join('; ')}`);
    marketSet.markets.forEach((market, id) => assert(market.id === id, 'Ledger: market ids must equal their index'));
    marketSet.assets.forEach((asset, id) => assert(asset.id === id, 'Ledger: asset ids must equal their index'));
    this.markets = marketSet.markets;
    this.assetCount = marketSet.assets.length;
    this.limits = Object.freeze({ ...limits });
    this.sink = sink;
    this.supplyUnits = new Float64Array(this.assetCount);
    this.accountIds = new Uint32Array(limits.accountsMax);
    this.balances = new Float64Array(limits.accountsMax * this.assetCount * 2);
    const ordersMax = limits.ordersOpenMax;
    const orderTable = new ArrayBuffer(ordersMax * ORDER_RECORD_BYTES);
    this.orderF64 = new Float64Array(orderTable);
    this.orderU32 = new Uint32Array(orderTable);
    this.freeSlots = new Uint32Array(ordersMax);
    this.accountIndexById = new IdTable(limits.accountsMax, 'accountsMax');
    this.slotByOrderId = new IdTable(ordersMax, 'ordersOpenMax', 'sequential', 'bucket-scan');
  }

  get lastSeq(): number {
    return this.lastSeqValue;
  }

  get accountCount(): number {
    return this.accountCountValue;
  }

  get openOrderCount(): number {
    return this.slotByOrderId.size;
  }

  hasAccount(accountId: number): boolean {
    return this.accountIndexById.has(accountId);
  }

  hasOrder(orderId: number): boolean {
    return this.slotByOrderId.has(orderId);
  }

  availableUnits(accountId: number, assetId: number): number {
    const index = this.accountIndexById.get(accountId);
    if (index === ABSENT || !this.isAssetId(assetId)) return 0;
    return this.balances[(index * this.assetCount + assetId) * 2]!;
  }

  lockedUnits(accountId: number, assetId: number): number {
    const index = this.accountIndexById.get(accountId);
    if (index === ABSENT || !this.isAssetId(assetId)) return 0;
    return this.balances[(index * this.assetCount + assetId) * 2 + 1]!;
  }

  /** Σ deposits − Σ withdrawals of an asset. */
  supplyOf(assetId: number): number {
    if (!(this.isAssetId(assetId))) invariantBroken(`Ledger.supplyOf: unknown asset ${assetId}`);
    return this.supplyUnits[assetId]!;
  }

  /** Visits every balance: accounts in ascending id order, assets in id order. */
  forEachBalance(fn: (accountId: number, assetId: number, availableUnits: number, lockedUnits: number) => void): void {
    for (const [accountId, index] of this.accountIndexById.sortedEntries()) {
      const base = index * this.assetCount;
      for (let assetId = 0; assetId < this.assetCount; assetId += 1) {
        fn(accountId, assetId, this.balances[(base + assetId) * 2]!, this.balances[(base + assetId) * 2 + 1]!);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Commands, in seq order, each before the matching engine sees it.

  applyCommand(command: Readonly<Command>): void {
    if (!Number.isSafeInteger(command.seq)) invariantBroken(`Ledger.applyCommand: bad seq ${command.seq}`);
    if (!(command.seq > this.lastSeqValue)) invariantBroken(`Ledger.applyCommand: seq ${command.seq} after ${this.lastSeqValue}`);
    switch (command.type) {
      case CommandType.Deposit:
        this.applyDeposit(command);
        break;
      case CommandType.Withdraw:
        this.applyWithdraw(command);
        break;
      case CommandType.Place:
        this.applyPlace(command);
        break;
      case CommandType.Cancel:
        break; // The engine's Cancelled done event releases the reservation.
      default:
        invariantBroken(`Ledger.applyCommand: unknown command type ${String(command.type)}`);
    }
    this.lastSeqValue = command.seq;
  }

  private applyDeposit(command: Readonly<Command>): void {
    const { accountId, assetId, amountUnits } = command;
    if (!(this.isAssetId(assetId))) invariantBroken(`Ledger: deposit of unknown asset ${assetId}`);
    assertPositiveUnits(amountUnits, 'deposit amount');
    if (!(amountUnits <= UNITS_MAX - this.supplyUnits[assetId]!)) invariantBroken(`Ledger: deposit would take asset ${assetId} past UNITS_MAX`);
    let index = this.accountIndexById.get(accountId);
    if (index === ABSENT) index = this.createAccount(accountId);
    const slot = index * this.assetCount + assetId;
    this.supplyUnits[assetId] = this.supplyUnits[assetId]! + amountUnits;
    this.balances[slot * 2] = this.balances[slot * 2]! + amountUnits;
    this.sink.onCredit(accountId, assetId, amountUnits);
    this.emitBalance(index, assetId);
  }

  private applyWithdraw(command: Readonly<Command>): void {
    const { accountId, assetId, amountUnits } = command;
    if (!(this.isAssetId(assetId))) invariantBroken(`Ledger: withdrawal of unknown asset ${assetId}`);
    assertPositiveUnits(amountUnits, 'withdrawal amount');
    const index = this.accountIndexById.get(accountId);
    if (index === ABSENT) invariantBroken(`Ledger: withdrawal from unknown account ${accountId}`);
    const slot = index * this.assetCount + assetId;
    if (!(this.balances[slot * 2]! >= amountUnits)) invariantBroken(`Ledger: withdrawal of ${amountUnits} exceeds account ${accountId} available`);
    this.balances[slot * 2] = this.balances[slot * 2]! - amountUnits;
    this.supplyUnits[assetId] = this.supplyUnits[assetId]! - amountUnits;
    this.emitBalance(index, assetId);
  }

  private applyPlace(command: Readonly<Command>): void {
    const market = this.markets[command.marketId];
    if (!(market !== undefined)) invariantBroken(`Ledger: order ${command.seq} for unknown market ${command.marketId}`);
    const index = this.accountIndexById.get(command.accountId);
    if (index === ABSENT) invariantBroken(`Ledger: order ${command.seq} of unknown account ${command.accountId}`);
    if (!(this.slotByOrderId.size < this.limits.ordersOpenMax)) invariantBroken(`Ledger: more than ordersOpenMax (${this.limits.ordersOpenMax}) open orders`);
    const assetId = reservedAssetId(market, command.side);
    const units = reservationUnits(market, command);
    if (!(Number.isSafeInteger(units) && units >= 0)) invariantBroken(`Ledger: order ${command.seq} has a bad reservation`);
    const balanceSlot = index * this.assetCount + assetId;
    if (!(this.balances[balanceSlot * 2]! >= units)) invariantBroken(`Ledger: order ${command.seq} reserves more than account ${command.accountId} has`);
    this.balances[balanceSlot * 2] = this.balances[balanceSlot * 2]! - units;
    this.balances[balanceSlot * 2 + 1] = this.balances[balanceSlot * 2 + 1]! + units;
    const isMarket = command.orderType === OrderType.Market;
    const isMarketBuy = isMarket && command.side === Side.Buy;
    this.takerBucketHint = this.insertOrder(command.seq, index, market.id, command.side, isMarket, command.priceTicks, isMarketBuy ? 0 : command.qtySteps, units);
    this.emitBalance(index, assetId);
  }

  // ---------------------------------------------------------------------------------------------
  // Matching engine events.

  onTrade(event: Readonly<TradeEvent>): void {
    const market = this.markets[event.marketId];
    if (!(market !== undefined)) invariantBroken(`Ledger.onTrade: unknown market ${event.marketId}`);
    if (!(Number.isSafeInteger(event.qtySteps) && event.qtySteps > 0)) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} bad qty`);
    if (!(Number.isSafeInteger(event.priceTicks) && event.priceTicks > 0)) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} bad price`);
    if (!(event.takerSide === Side.Buy || event.takerSide === Side.Sell)) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} bad taker side`);
    if (!(event.takerOrderId !== event.makerOrderId)) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} order trades with itself`);
    const takerBucket = this.findOrder(event, event.takerOrderId, this.takerBucketHint);
    this.takerBucketHint = takerBucket;
    const takerSlot = this.tradeParty(event, event.takerOrderId, takerBucket, event.takerAccountId, event.takerSide);
    const makerSide = event.takerSide === Side.Buy ? Side.Sell : Side.Buy;
    const makerBucket = this.findOrder(event, event.makerOrderId, -1);
    this.makerOrderIdHint = event.makerOrderId;
    this.makerBucketHint = makerBucket;
    const makerSlot = this.tradeParty(event, event.makerOrderId, makerBucket, event.makerAccountId, makerSide);
    if (!(this.orderU32[makerSlot * ORDER_U32_STRIDE + O_IS_MARKET] === 0)) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} maker is a market order`);
    if (this.orderF64[makerSlot * ORDER_F64_STRIDE + O_PRICE] !== event.priceTicks) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} not at the maker's price`);
    const buySlot = event.takerSide === Side.Buy ? takerSlot : makerSlot;
    const sellSlot = event.takerSide === Side.Buy ? makerSlot : takerSlot;
    this.assertTradePriceWithinLimits(event, buySlot, sellSlot);
    // Checked before anything moves, so that a bad event changes nothing before it crashes.
    this.assertFillable(sellSlot, event.qtySteps);
    if (!this.isMarketBuy(buySlot)) this.assertFillable(buySlot, event.qtySteps);

    const quoteUnits = notionalFloor(market, event.priceTicks, event.qtySteps);
    const baseUnits = event.qtySteps * market.stepUnits;
    this.settleSell(market, sellSlot, event.qtySteps, baseUnits, quoteUnits);
    this.settleBuy(market, buySlot, event.qtySteps, baseUnits, quoteUnits);

    this.assertRemaining(takerSlot, event.takerRemainingSteps, event.tradeId);
    this.assertRemaining(makerSlot, event.makerRemainingSteps, event.tradeId);
    const buyerIndex = this.orderU32[buySlot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]!;
    const sellerIndex = this.orderU32[sellSlot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]!;
    this.emitBalance(buyerIndex, market.quote.id);
    this.emitBalance(buyerIndex, market.base.id);
    if (sellerIndex !== buyerIndex) {
      this.emitBalance(sellerIndex, market.base.id);
      this.emitBalance(sellerIndex, market.quote.id);
    }
  }

  onOrderDone(event: Readonly<OrderDoneEvent>): void {
    const reason = event.reason;
    const knownReason = reason === DoneReason.Filled || reason === DoneReason.Expired || reason === DoneReason.Cancelled;
    if (!knownReason) invariantBroken(`Ledger.onOrderDone: order ${event.orderId} unknown reason ${reason}`);
    const hint = event.orderId === this.makerOrderIdHint ? this.makerBucketHint : this.takerBucketHint;
    const bucket = this.slotByOrderId.findHinted(event.orderId, hint);
    if (bucket < 0) invariantBroken(`Ledger.onOrderDone: order ${event.orderId} is not open`);
    const slot = this.slotByOrderId.valueAt(bucket);
    const index = this.orderU32[slot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]!;
    if (this.accountIds[index] !== event.accountId) invariantBroken(`Ledger.onOrderDone: order ${event.orderId} account mismatch`);
    if (this.orderU32[slot * ORDER_U32_STRIDE + O_MARKET] !== event.marketId) invariantBroken(`Ledger.onOrderDone: order ${event.orderId} market mismatch`);
    if (this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] !== event.side) invariantBroken(`Ledger.onOrderDone: order ${event.orderId} side mismatch`);
    if (!this.isMarketBuy(slot)) {
      const remaining = this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING]!;
      if (event.remainingSteps !== remaining) invariantBroken(`Ledger.onOrderDone: order ${event.orderId} remaining ${event.remainingSteps}, ledger ${remaining}`);
      if (!(reason !== DoneReason.Filled || remaining === 0)) invariantBroken(`Ledger.onOrderDone: order ${event.orderId} filled with steps left`);
    }
    const market = this.markets[event.marketId]!;
    const assetId = reservedAssetId(market, event.side);
    const released = this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED]!;
    this.removeOrder(event.orderId, slot, bucket);
    if (released > 0) {
      this.release(index, assetId, released);
      this.emitBalance(index, assetId);
    }
    this.sink.onOrderClosed(event.orderId);
  }

  onLevel(_event: Readonly<LevelEvent>): void {
    // Book levels move no money.
  }

  onCancelReject(_event: Readonly<CancelRejectEvent>): void {
    // The order already left the book and was released then.
  }

  // ---------------------------------------------------------------------------------------------
  // Settlement of one trade.

  /** The seller's lock gives up the base sold; the seller receives the quote paid. */
  private settleSell(market: Market, slot: number, qtySteps: number, baseUnits: number, quoteUnits: number): void {
    const index = this.orderU32[slot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]!;
    this.takeFromReservation(slot, index, market.base.id, baseUnits);
    this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING] = this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING]! - qtySteps;
    if (!(this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING]! >= 0)) invariantBroken(`Ledger: sell ${this.orderF64[slot * ORDER_F64_STRIDE + O_ID]} filled beyond its quantity`);
    if (quoteUnits > 0) this.release(index, market.quote.id, quoteUnits);
  }

  /**
   * The buyer's lock pays the quote (floor per fill) and the buyer receives the base. A limit buy then
   * keeps exactly ceil(limit × remaining) and gets the rest back at once: price improvement when it
   * traded below its limit, and the rounding surplus of paying floor per fill against a ceiling
   * reservation. At remaining 0 that is everything left, so the invariant holds after every event.
   */
  private settleBuy(market: Market, slot: number, qtySteps: number, baseUnits: number, quoteUnits: number): void {
    const index = this.orderU32[slot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]!;
    this.takeFromReservation(slot, index, market.quote.id, quoteUnits);
    this.release(index, market.base.id, baseUnits);
    if (this.orderU32[slot * ORDER_U32_STRIDE + O_IS_MARKET] === 1) return; // A market buy spends its budget; the rest goes back when it is done.
    const remaining = this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING]! - qtySteps;
    if (!(remaining >= 0)) invariantBroken(`Ledger: buy ${this.orderF64[slot * ORDER_F64_STRIDE + O_ID]} filled beyond its quantity`);
    this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING] = remaining;
    const keep = restingBuyReservation(market, this.orderF64[slot * ORDER_F64_STRIDE + O_PRICE]!, remaining);
    const surplus = this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED]! - keep;
    if (!(surplus >= 0)) invariantBroken(`Ledger: buy ${this.orderF64[slot * ORDER_F64_STRIDE + O_ID]} reserves less than its remainder needs`);
    if (surplus === 0) return;
    this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED] = keep;
    const balanceSlot = index * this.assetCount + market.quote.id;
    this.balances[balanceSlot * 2 + 1] = this.balances[balanceSlot * 2 + 1]! - surplus;
    this.release(index, market.quote.id, surplus);
  }

  /** Spends `units` of an order's reservation (they leave the account's lock and the order's). */
  private takeFromReservation(slot: number, index: number, assetId: number, units: number): void {
    const reserved = this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED]! - units;
    if (!(reserved >= 0)) invariantBroken(`Ledger: order ${this.orderF64[slot * ORDER_F64_STRIDE + O_ID]} spends more than it reserved`);
    this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED] = reserved;
    const balanceSlot = index * this.assetCount + assetId;
    const locked = this.balances[balanceSlot * 2 + 1]! - units;
    if (!(locked >= 0)) invariantBroken(`Ledger: account ${this.accountIds[index]} locked funds went negative`);
    this.balances[balanceSlot * 2 + 1] = locked;
  }

  /** Makes `units` available to the account and reports the credit. The caller adjusts the lock. */
  private release(index: number, assetId: number, units: number): void {
    const balanceSlot = index * this.assetCount + assetId;
    this.balances[balanceSlot * 2] = this.balances[balanceSlot * 2]! + units;
    this.sink.onCredit(this.accountIds[index]!, assetId, units);
  }

  /** The order table bucket of a trade's order (`hint`: where it was last seen, or -1). */
  private findOrder(event: Readonly<TradeEvent>, orderId: number, hint: number): number {
    const bucket = this.slotByOrderId.findHinted(orderId, hint);
    if (bucket < 0) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} order ${orderId} is not open`);
    return bucket;
  }

  private tradeParty(event: Readonly<TradeEvent>, orderId: number, bucket: number, accountId: number, side: Side): number {
    const slot = this.slotByOrderId.valueAt(bucket);
    if (!(this.accountIds[this.orderU32[slot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]!] === accountId)) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} order ${orderId} account mismatch`);
    if (this.orderU32[slot * ORDER_U32_STRIDE + O_MARKET] !== event.marketId) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} order ${orderId} market mismatch`);
    if (this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] !== side) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} order ${orderId} side mismatch`);
    return slot;
  }

  private assertTradePriceWithinLimits(event: Readonly<TradeEvent>, buySlot: number, sellSlot: number): void {
    if (this.orderU32[buySlot * ORDER_U32_STRIDE + O_IS_MARKET] === 0) {
      if (!(event.priceTicks <= this.orderF64[buySlot * ORDER_F64_STRIDE + O_PRICE]!)) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} above the buy limit`);
    }
    if (this.orderU32[sellSlot * ORDER_U32_STRIDE + O_IS_MARKET] === 0) {
      if (!(event.priceTicks >= this.orderF64[sellSlot * ORDER_F64_STRIDE + O_PRICE]!)) invariantBroken(`Ledger.onTrade: trade ${event.tradeId} below the sell limit`);
    }
  }

  private assertFillable(slot: number, qtySteps: number): void {
    const side = this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] === Side.Buy ? 'buy' : 'sell';
    if (!(this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING]! >= qtySteps)) invariantBroken(`Ledger: ${side} ${this.orderF64[slot * ORDER_F64_STRIDE + O_ID]} filled beyond its quantity`);
  }

  /** Pairs the engine's count of unfilled steps with the ledger's (a market buy counts none). */
  private assertRemaining(slot: number, remainingSteps: number, tradeId: number): void {
    if (this.isMarketBuy(slot)) return;
    if (this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING] !== remainingSteps) invariantBroken(`Ledger.onTrade: trade ${tradeId} order ${this.orderF64[slot * ORDER_F64_STRIDE + O_ID]} remaining ${remainingSteps}, ledger ${this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING]}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants.

  /** Throws InvariantError when the balances and the order table disagree with each other. */
  checkInvariants(): void {
    const assetCount = this.assetCount;
    const lockedByOrders = new Float64Array(this.accountCountValue * assetCount);
    let open = 0;
    this.forEachOpenSlot((orderId, slot) => {
      open += 1;
      if (this.slotByOrderId.get(orderId) !== slot) invariantBroken(`invariant: order ${orderId} in slot ${slot} is not in the order table there`);
      this.checkOrderInvariants(orderId, slot);
      const market = this.markets[this.orderU32[slot * ORDER_U32_STRIDE + O_MARKET]!]!;
      const balanceSlot = this.orderU32[slot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]! * assetCount + reservedAssetId(market, this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] as Side);
      lockedByOrders[balanceSlot] = lockedByOrders[balanceSlot]! + this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED]!;
    });
    // With every open slot found in the table, equal counts mean the table holds nothing else.
    assert(open === this.slotByOrderId.size, 'invariant: the order table and the open slots disagree');
    assert(this.slotByOrderId.size + this.freeSlotCount === this.slotHighWater, 'invariant: order slots leaked');
    const totals = new Float64Array(assetCount);
    for (let index = 0; index < this.accountCountValue; index += 1) {
      const accountId = this.accountIds[index]!;
      for (let assetId = 0; assetId < assetCount; assetId += 1) {
        const balanceSlot = index * assetCount + assetId;
        const available = this.balances[balanceSlot * 2]!;
        const locked = this.balances[balanceSlot * 2 + 1]!;
        if (!(isUnits(available))) invariantBroken(`invariant: account ${accountId} asset ${assetId} available ${available} is negative or not an integer`);
        if (!(isUnits(locked))) invariantBroken(`invariant: account ${accountId} asset ${assetId} locked ${locked} is negative or not an integer`);
        const expected = lockedByOrders[balanceSlot]!;
        if (locked !== expected) invariantBroken(`invariant: account ${accountId} asset ${assetId} locked ${locked}, open orders reserve ${expected}`);
        totals[assetId] = totals[assetId]! + available + locked;
      }
    }
    for (let assetId = 0; assetId < assetCount; assetId += 1) {
      const supply = this.supplyUnits[assetId]!;
      if (!(isUnits(supply))) invariantBroken(`invariant: asset ${assetId} supply ${supply} is negative or not an integer`);
      if (totals[assetId] !== supply) invariantBroken(`invariant: asset ${assetId} balances sum to ${totals[assetId]}, deposits − withdrawals = ${supply}`);
    }
  }

  /** Every open order with its slot, in slot order: the slots below the high-water mark that hold an id (O(slots ever used), not O(table)). */
  private forEachOpenSlot(fn: (orderId: number, slot: number) => void): void {
    for (let slot = 0; slot < this.slotHighWater; slot += 1) {
      const orderId = this.orderF64[slot * ORDER_F64_STRIDE + O_ID]!;
      if (orderId !== FREE_SLOT) fn(orderId, slot);
    }
  }

  private checkOrderInvariants(orderId: number, slot: number): void {
    if (this.orderF64[slot * ORDER_F64_STRIDE + O_ID] !== orderId) invariantBroken(`invariant: order ${orderId} slot holds ${this.orderF64[slot * ORDER_F64_STRIDE + O_ID]}`);
    const market = this.markets[this.orderU32[slot * ORDER_U32_STRIDE + O_MARKET]!]!;
    const reserved = this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED]!;
    const remaining = this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING]!;
    if (!(isUnits(reserved))) invariantBroken(`invariant: order ${orderId} reserved ${reserved} is negative or not an integer`);
    if (!(isUnits(remaining))) invariantBroken(`invariant: order ${orderId} remaining ${remaining} is negative or not an integer`);
    if (this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] === Side.Sell) {
      const expected = remaining * market.stepUnits;
      if (reserved !== expected) invariantBroken(`invariant: sell ${orderId} reserves ${reserved}, its remainder needs ${expected}`);
    } else if (this.orderU32[slot * ORDER_U32_STRIDE + O_IS_MARKET] === 0) {
      const expected = restingBuyReservation(market, this.orderF64[slot * ORDER_F64_STRIDE + O_PRICE]!, remaining);
      if (reserved !== expected) invariantBroken(`invariant: buy ${orderId} reserves ${reserved}, its remainder needs ${expected}`);
    }
    // A market buy lives only within its own command: its budget has no resting counterpart.
    else if (remaining !== 0) invariantBroken(`invariant: market buy ${orderId} counts ${remaining} steps`);
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots.

  exportState(): LedgerState {
    const accounts: LedgerState['accounts'] = [];
    for (let index = 0; index < this.accountCountValue; index += 1) {
      const base = index * this.assetCount;
      accounts.push({
        accountId: this.accountIds[index]!,
        availableUnits: Array.from({ length: this.assetCount }, (_, assetId) => this.balances[(base + assetId) * 2]!),
        lockedUnits: Array.from({ length: this.assetCount }, (_, assetId) => this.balances[(base + assetId) * 2 + 1]!),
      });
    }
    const orders: LedgerOrderState[] = [];
    this.forEachOpenSlot((orderId, slot) => {
      orders.push({
        orderId,
        accountId: this.accountIds[this.orderU32[slot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]!]!,
        marketId: this.orderU32[slot * ORDER_U32_STRIDE + O_MARKET]!,
        side: this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] as Side,
        isMarket: this.orderU32[slot * ORDER_U32_STRIDE + O_IS_MARKET] === 1,
        priceTicks: this.orderF64[slot * ORDER_F64_STRIDE + O_PRICE]!,
        remainingSteps: this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING]!,
        reservedUnits: this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED]!,
      });
    });
    orders.sort((a, b) => a.orderId - b.orderId);
    return { lastSeq: this.lastSeqValue, supplyUnits: Array.from(this.supplyUnits), accounts, orders };
  }

  /** Rebuilds a ledger from `exportState()`; checks the invariants of what it restored. */
  static fromState(marketSet: MarketSet, limits: CoreLimits, sink: LedgerSink, state: LedgerState): Ledger {
    const ledger = new Ledger(marketSet, limits, sink);
    ledger.restore(state);
    ledger.checkInvariants();
    return ledger;
  }

  private restore(state: LedgerState): void {
    assert(isUnits(state.lastSeq), 'Ledger.fromState: bad lastSeq');
    this.lastSeqValue = state.lastSeq;
    assert(state.supplyUnits.length === this.assetCount, 'Ledger.fromState: supplyUnits length');
    state.supplyUnits.forEach((units, assetId) => {
      if (!(isUnits(units))) invariantBroken(`Ledger.fromState: bad supply of asset ${assetId}`);
      this.supplyUnits[assetId] = units;
    });
    assert(state.accounts.length <= this.limits.accountsMax, 'Ledger.fromState: more accounts than accountsMax');
    for (const account of state.accounts) {
      if (!(!this.accountIndexById.has(account.accountId))) invariantBroken(`Ledger.fromState: account ${account.accountId} twice`);
      const base = this.createAccount(account.accountId) * this.assetCount;
      assert(account.availableUnits.length === this.assetCount, 'Ledger.fromState: availableUnits length');
      assert(account.lockedUnits.length === this.assetCount, 'Ledger.fromState: lockedUnits length');
      for (let assetId = 0; assetId < this.assetCount; assetId += 1) {
        this.balances[(base + assetId) * 2] = account.availableUnits[assetId]!;
        this.balances[(base + assetId) * 2 + 1] = account.lockedUnits[assetId]!;
      }
    }
    assert(state.orders.length <= this.limits.ordersOpenMax, 'Ledger.fromState: more orders than ordersOpenMax');
    for (const order of state.orders) this.restoreOrder(order);
  }

  private restoreOrder(order: LedgerOrderState): void {
    const index = this.accountIndexById.get(order.accountId);
    if (index === ABSENT) invariantBroken(`Ledger.fromState: order ${order.orderId} of unknown account ${order.accountId}`);
    const market = this.markets[order.marketId];
    if (!(market !== undefined)) invariantBroken(`Ledger.fromState: order ${order.orderId} of unknown market ${order.marketId}`);
    if (!(order.side === Side.Buy || order.side === Side.Sell)) invariantBroken(`Ledger.fromState: order ${order.orderId} bad side`);
    if (!(order.orderId >= 1 && order.orderId <= this.lastSeqValue)) invariantBroken(`Ledger.fromState: order ${order.orderId} after lastSeq`);
    if (!(isUnits(order.priceTicks))) invariantBroken(`Ledger.fromState: order ${order.orderId} bad price`);
    this.insertOrder(order.orderId, index, market.id, order.side, order.isMarket, order.priceTicks, order.remainingSteps, order.reservedUnits);
  }

  // ---------------------------------------------------------------------------------------------
  // Accounts and the order table.

  private insertOrder(
    orderId: number,
    index: number,
    marketId: number,
    side: Side,
    isMarket: boolean,
    priceTicks: number,
    remainingSteps: number,
    reservedUnits: number,
  ): number {
    // Never-used slots come from the high-water mark: construction touches none of the table.
    const reuse = this.freeSlotCount > 0;
    if (!(reuse || this.slotHighWater < this.limits.ordersOpenMax)) invariantBroken(`Ledger: more than ordersOpenMax (${this.limits.ordersOpenMax}) open orders`);
    const slot = reuse ? this.freeSlots[this.freeSlotCount - 1]! : this.slotHighWater;
    // Refuses an order that is already open before anything changes.
    const bucket = this.slotByOrderId.insert(orderId, slot);
    if (reuse) this.freeSlotCount -= 1;
    else this.slotHighWater += 1;
    this.orderF64[slot * ORDER_F64_STRIDE + O_ID] = orderId;
    this.orderU32[slot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX] = index;
    this.orderU32[slot * ORDER_U32_STRIDE + O_MARKET] = marketId;
    this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] = side;
    this.orderU32[slot * ORDER_U32_STRIDE + O_IS_MARKET] = isMarket ? 1 : 0;
    this.orderF64[slot * ORDER_F64_STRIDE + O_PRICE] = priceTicks;
    this.orderF64[slot * ORDER_F64_STRIDE + O_REMAINING] = remainingSteps;
    this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED] = reservedUnits;
    return bucket;
  }

  /** Frees the order's slot (in `bucket` of the order table) and takes its whole reservation out of the account's lock. */
  private removeOrder(orderId: number, slot: number, bucket: number): void {
    const market = this.markets[this.orderU32[slot * ORDER_U32_STRIDE + O_MARKET]!]!;
    const balanceSlot = this.orderU32[slot * ORDER_U32_STRIDE + O_ACCOUNT_INDEX]! * this.assetCount + reservedAssetId(market, this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] as Side);
    const locked = this.balances[balanceSlot * 2 + 1]! - this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED]!;
    if (!(locked >= 0)) invariantBroken(`Ledger: order ${orderId} releases more than its account has locked`);
    this.balances[balanceSlot * 2 + 1] = locked;
    this.orderF64[slot * ORDER_F64_STRIDE + O_RESERVED] = 0;
    this.orderF64[slot * ORDER_F64_STRIDE + O_ID] = FREE_SLOT;
    this.slotByOrderId.removeAt(bucket);
    this.freeSlots[this.freeSlotCount] = slot;
    this.freeSlotCount += 1;
  }

  private isMarketBuy(slot: number): boolean {
    return this.orderU32[slot * ORDER_U32_STRIDE + O_IS_MARKET] === 1 && this.orderU32[slot * ORDER_U32_STRIDE + O_SIDE] === Side.Buy;
  }

  private createAccount(accountId: number): number {
    if (!(this.accountCountValue < this.limits.accountsMax)) invariantBroken(`Ledger: more than accountsMax (${this.limits.accountsMax}) accounts`);
    if (!(Number.isInteger(accountId) && accountId >= 1 && accountId <= ACCOUNT_ID_MAX)) invariantBroken(`Ledger: bad account id ${accountId}`);
    const index = this.accountCountValue;
    this.accountCountValue += 1;
    this.accountIds[index] = accountId;
    this.accountIndexById.insert(accountId, index);
    return index;
  }

  private emitBalance(index: number, assetId: number): void {
    const balanceSlot = index * this.assetCount + assetId;
    this.sink.onBalance(this.accountIds[index]!, assetId, this.balances[balanceSlot * 2]!, this.balances[balanceSlot * 2 + 1]!);
  }

  private isAssetId(assetId: number): boolean {
    return Number.isInteger(assetId) && assetId >= 0 && assetId < this.assetCount;
  }
}

function isUnits(units: number): boolean {
  return Number.isSafeInteger(units) && units >= 0;
}

function assertPositiveUnits(units: number, what: string): void {
  if (!Number.isSafeInteger(units)) invariantBroken(`Ledger: ${what} ${units} is not an integer`);
  if (!(units > 0)) invariantBroken(`Ledger: ${what} ${units} must be positive`);
}
