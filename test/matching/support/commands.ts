/**
 * Builders for the commands the matching tests feed: each returns a fresh, fully populated Command.
 */
import type { Command } from '../../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce, createCommand } from '../../../src/domain/commands.ts';

export interface LimitOptions {
  seq: number;
  accountId?: number;
  marketId?: number;
  side: Side;
  priceTicks: number;
  qtySteps: number;
  timeInForce?: TimeInForce;
  postOnly?: boolean;
  timestampMs?: number;
}

export function limit(options: LimitOptions): Command {
  const command = createCommand();
  command.type = CommandType.Place;
  command.seq = options.seq;
  command.timestampMs = options.timestampMs ?? 1_700_000_000_000 + options.seq;
  command.accountId = options.accountId ?? 1;
  command.marketId = options.marketId ?? 0;
  command.side = options.side;
  command.orderType = OrderType.Limit;
  command.timeInForce = options.timeInForce ?? TimeInForce.GTC;
  command.postOnly = options.postOnly ?? false;
  command.priceTicks = options.priceTicks;
  command.qtySteps = options.qtySteps;
  return command;
}

export function buy(seq: number, priceTicks: number, qtySteps: number, extra: Partial<LimitOptions> = {}): Command {
  return limit({ seq, side: Side.Buy, priceTicks, qtySteps, ...extra });
}

export function sell(seq: number, priceTicks: number, qtySteps: number, extra: Partial<LimitOptions> = {}): Command {
  return limit({ seq, side: Side.Sell, priceTicks, qtySteps, ...extra });
}

export function marketSell(seq: number, qtySteps: number, extra: { accountId?: number; marketId?: number } = {}): Command {
  const command = createCommand();
  command.type = CommandType.Place;
  command.seq = seq;
  command.timestampMs = 1_700_000_000_000 + seq;
  command.accountId = extra.accountId ?? 1;
  command.marketId = extra.marketId ?? 0;
  command.side = Side.Sell;
  command.orderType = OrderType.Market;
  command.timeInForce = TimeInForce.IOC;
  command.qtySteps = qtySteps;
  return command;
}

export function marketBuy(seq: number, quoteQtyUnits: number, extra: { accountId?: number; marketId?: number } = {}): Command {
  const command = createCommand();
  command.type = CommandType.Place;
  command.seq = seq;
  command.timestampMs = 1_700_000_000_000 + seq;
  command.accountId = extra.accountId ?? 1;
  command.marketId = extra.marketId ?? 0;
  command.side = Side.Buy;
  command.orderType = OrderType.Market;
  command.timeInForce = TimeInForce.IOC;
  command.quoteQtyUnits = quoteQtyUnits;
  return command;
}

export function cancel(seq: number, orderId: number, accountId = 1): Command {
  const command = createCommand();
  command.type = CommandType.Cancel;
  command.seq = seq;
  command.timestampMs = 1_700_000_000_000 + seq;
  command.accountId = accountId;
  command.orderId = orderId;
  return command;
}
