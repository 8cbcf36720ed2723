/**
 * Response bodies built from the read models, in API.md's canonical number formats: prices with
 * the tick's decimals, quantities with the step's, balances, amounts and quoteQty with the asset's;
 * orderId and tradeId as decimal strings, seq as an integer.
 */
import { OrderType, Side, TimeInForce } from '../domain/commands.ts';
import type { Asset, MarketSet } from '../domain/markets.ts';
import type { MarketScale } from './decimal_codec.ts';
import { formatAssetUnits, formatPrice, formatQty } from './decimal_codec.ts';
import type { BalanceState, OrderState, OrderStatus, ReadModels } from './read_models.ts';

export const SIDE_NAMES: Readonly<Record<Side, 'buy' | 'sell'>> = { [Side.Buy]: 'buy', [Side.Sell]: 'sell' };
export const ORDER_TYPE_NAMES: Readonly<Record<OrderType, 'limit' | 'market'>> = {
  [OrderType.Limit]: 'limit',
  [OrderType.Market]: 'market',
};
export const TIME_IN_FORCE_NAMES: Readonly<Record<TimeInForce, 'GTC' | 'IOC' | 'FOK'>> = {
  [TimeInForce.GTC]: 'GTC',
  [TimeInForce.IOC]: 'IOC',
  [TimeInForce.FOK]: 'FOK',
};

export interface FillView {
  tradeId: string;
  price: string;
  qty: string;
  makerOrderId: string;
}

export interface OrderView {
  orderId: string;
  clientOrderId?: string;
  seq: number;
  accountId: number;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  timeInForce: 'GTC' | 'IOC' | 'FOK';
  price?: string;
  qty?: string;
  quoteQty?: string;
  status: OrderStatus;
  filledQty: string;
  remainingQty: string;
  fills?: FillView[];
}

export interface OrderViewOptions {
  /** Include the fills of the placing command (201, idempotent retry). */
  fills: boolean;
  /** Report the state as of the placing command (201) instead of the current state. */
  asOfPlacement: boolean;
}

/** The markets' print scales, computed once per app. */
export type MarketScales = readonly MarketScale[];

export function orderView(readModels: ReadModels, scales: MarketScales, order: OrderState, options: OrderViewOptions): OrderView {
  const scale = scales[order.marketId];
  if (scale === undefined) throw new Error(`orderView: unknown market ${order.marketId}`);
  const market = scale.market;
  const state = options.asOfPlacement ? readModels.placementState(order) : order;
  const view: OrderView = {
    orderId: String(order.orderId),
    seq: order.orderId,
    accountId: order.accountId,
    symbol: market.symbol,
    side: SIDE_NAMES[order.side],
    type: ORDER_TYPE_NAMES[order.orderType],
    timeInForce: TIME_IN_FORCE_NAMES[order.timeInForce],
    status: state.status,
    filledQty: formatQty(scale, state.filledSteps),
    remainingQty: formatQty(scale, state.remainingSteps),
  };
  if (order.clientOrderId !== '') view.clientOrderId = order.clientOrderId;
  if (order.orderType === OrderType.Limit) view.price = formatPrice(scale, order.priceTicks);
  if (order.orderType === OrderType.Market && order.side === Side.Buy) {
    view.quoteQty = formatAssetUnits(market.quote, order.quoteQtyUnits);
  } else {
    view.qty = formatQty(scale, order.qtySteps);
  }
  if (options.fills) {
    view.fills = (order.fills ?? []).map((fill) => ({
      tradeId: String(fill.tradeId),
      price: formatPrice(scale, fill.priceTicks),
      qty: formatQty(scale, fill.qtySteps),
      makerOrderId: String(fill.makerOrderId),
    }));
  }
  return view;
}

export interface BalanceView {
  available: string;
  locked: string;
}

export function balanceView(asset: Asset, balance: BalanceState): BalanceView {
  return {
    available: formatAssetUnits(asset, balance.availableUnits),
    locked: formatAssetUnits(asset, balance.lockedUnits),
  };
}

/** Every asset of the market set, zero for those the account never held, in asset order. */
export function balancesView(readModels: ReadModels, marketSet: MarketSet, accountId: number): Record<string, BalanceView> {
  const balances: Record<string, BalanceView> = {};
  for (const asset of marketSet.assets) {
    const balance = readModels.balance(accountId, asset.id) ?? { availableUnits: 0, lockedUnits: 0 };
    balances[asset.symbol] = balanceView(asset, balance);
  }
  return balances;
}

export type LevelView = [string, string];

export function bookSideView(readModels: ReadModels, scale: MarketScale, side: Side, depth: number): LevelView[] {
  const book = readModels.bookSide(scale.market.id, side);
  const shown = Math.min(depth, book.size);
  const levels: LevelView[] = new Array<LevelView>(shown);
  for (let index = 0; index < shown; index += 1) {
    levels[index] = [formatPrice(scale, book.priceAt(index)), formatQty(scale, book.qtyAt(index))];
  }
  return levels;
}

export interface TradeView {
  tradeId: string;
  price: string;
  qty: string;
  takerSide: 'buy' | 'sell';
  seq: number;
  /** Milliseconds since the epoch: the sequencer's timestamp of the taker's command. */
  time: number;
}

export function tradesView(readModels: ReadModels, scale: MarketScale, limit: number): TradeView[] {
  return readModels.recentTrades(scale.market.id, limit).map((trade) => ({
    tradeId: String(trade.tradeId),
    price: formatPrice(scale, trade.priceTicks),
    qty: formatQty(scale, trade.qtySteps),
    takerSide: SIDE_NAMES[trade.takerSide],
    seq: trade.seq,
    time: trade.timestampMs,
  }));
}
