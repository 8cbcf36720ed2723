/**
 * Validated request bodies → commands. The JSON schema has already checked types and enums; this
 * checks what a schema cannot: symbols and assets of the market set, the field combinations of
 * API.md, and every amount against the market's tick, step, minimum and exact-arithmetic bounds.
 * Whatever fails here is a 400 and never reaches the sequencer, let alone the log.
 */
import type { Command } from '../domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce, resetCommand } from '../domain/commands.ts';
import type { MarketSet } from '../domain/markets.ts';
import { notionalInRange } from '../domain/markets.ts';
import { ErrorCode, badRequest } from './api_error.ts';
import type { MarketScale } from './decimal_codec.ts';
import { parseAmount, parsePrice, parseQty, parseQuoteQty } from './decimal_codec.ts';

export interface PlaceOrderBody {
  accountId: number;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  price?: string;
  qty?: string;
  quoteQty?: string;
  timeInForce?: 'GTC' | 'IOC' | 'FOK';
  postOnly?: boolean;
  clientOrderId?: string;
}

export interface FundingBody {
  asset: string;
  amount: string;
}

const TIME_IN_FORCE: Readonly<Record<'GTC' | 'IOC' | 'FOK', TimeInForce>> = {
  GTC: TimeInForce.GTC,
  IOC: TimeInForce.IOC,
  FOK: TimeInForce.FOK,
};

function forbid(present: unknown, message: string): void {
  if (present !== undefined) throw badRequest(ErrorCode.ValidationFailed, message);
}

function required(value: string | undefined, message: string): string {
  if (value === undefined) throw badRequest(ErrorCode.ValidationFailed, message);
  return value;
}

/** Fills `command` with the place order of `body`; throws an ApiError (400) when it is not valid. */
export function buildPlaceCommand(
  marketSet: MarketSet,
  scales: readonly MarketScale[],
  body: Readonly<PlaceOrderBody>,
  command: Command,
): Command {
  const market = marketSet.marketBySymbol.get(body.symbol);
  if (market === undefined) throw badRequest(ErrorCode.UnknownSymbol, `unknown symbol ${body.symbol}`);
  const scale = scales[market.id];
  if (scale === undefined) throw new Error(`buildPlaceCommand: no scale for market ${market.id}`);
  resetCommand(command);
  command.type = CommandType.Place;
  command.accountId = body.accountId;
  command.marketId = market.id;
  command.side = body.side === 'buy' ? Side.Buy : Side.Sell;
  command.postOnly = body.postOnly === true;
  command.clientOrderId = body.clientOrderId ?? '';
  if (body.type === 'limit') fillLimit(scale, body, command);
  else fillMarket(scale, body, command);
  return command;
}

function fillLimit(scale: MarketScale, body: Readonly<PlaceOrderBody>, command: Command): void {
  forbid(body.quoteQty, 'quoteQty is only for market buy orders');
  const priceText = required(body.price, 'price is required for a limit order');
  const qtyText = required(body.qty, 'qty is required for a limit order');
  const timeInForce = TIME_IN_FORCE[body.timeInForce ?? 'GTC'];
  if (command.postOnly && timeInForce !== TimeInForce.GTC) {
    throw badRequest(ErrorCode.ValidationFailed, 'a postOnly order must be GTC (it only ever rests)');
  }
  command.orderType = OrderType.Limit;
  command.timeInForce = timeInForce;
  command.priceTicks = parsePrice(scale, priceText);
  command.qtySteps = parseQty(scale, qtyText);
  if (!notionalInRange(scale.market, command.priceTicks, command.qtySteps)) {
    throw badRequest(ErrorCode.AmountTooLarge, 'price × qty is too large');
  }
}

function fillMarket(scale: MarketScale, body: Readonly<PlaceOrderBody>, command: Command): void {
  forbid(body.price, 'price is only for limit orders');
  if (body.timeInForce !== undefined && body.timeInForce !== 'IOC') {
    throw badRequest(ErrorCode.ValidationFailed, 'market orders are always IOC');
  }
  if (command.postOnly) throw badRequest(ErrorCode.ValidationFailed, 'postOnly is only for limit orders');
  command.orderType = OrderType.Market;
  command.timeInForce = TimeInForce.IOC;
  if (command.side === Side.Buy) {
    forbid(body.qty, 'a market buy takes quoteQty (the most to spend), not qty; to buy a quantity send an IOC limit');
    command.quoteQtyUnits = parseQuoteQty(scale.market, required(body.quoteQty, 'quoteQty is required for a market buy'));
  } else {
    forbid(body.quoteQty, 'quoteQty is only for market buy orders');
    command.qtySteps = parseQty(scale, required(body.qty, 'qty is required for a market sell'));
  }
}

/** Fills `command` with a deposit or withdrawal; throws an ApiError (400) when it is not valid. */
export function buildFundingCommand(
  marketSet: MarketSet,
  type: typeof CommandType.Deposit | typeof CommandType.Withdraw,
  accountId: number,
  body: Readonly<FundingBody>,
  command: Command,
): Command {
  const asset = marketSet.assetBySymbol.get(body.asset);
  if (asset === undefined) throw badRequest(ErrorCode.UnknownAsset, `unknown asset ${body.asset}`);
  const amountUnits = parseAmount(asset, body.amount);
  resetCommand(command);
  command.type = type;
  command.accountId = accountId;
  command.assetId = asset.id;
  command.amountUnits = amountUnits;
  return command;
}

export function buildCancelCommand(accountId: number, orderId: number, command: Command): Command {
  resetCommand(command);
  command.type = CommandType.Cancel;
  command.accountId = accountId;
  command.orderId = orderId;
  return command;
}
