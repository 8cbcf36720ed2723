/**
 * Builders of commands for the sequencer and settlement tests, on the default market set:
 * assets BTC (0), ETH (1), USDT (2); markets BTC-USDT (0: a tick × a step is 1/100 of a USDT unit,
 * so notional rounds) and ETH-USDT (1: notional is exact, ticks × steps units).
 */
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce, createCommand } from '../../src/domain/commands.ts';
import type { CoreLimits } from '../../src/domain/limits.ts';

export const BTC = 0;
export const ETH = 1;
export const USDT = 2;
export const BTC_USDT = 0;
export const ETH_USDT = 1;

export const SMALL_LIMITS: Readonly<CoreLimits> = Object.freeze({
  ordersOpenMax: 4,
  accountsMax: 3,
  fillsPerCommandMax: 16,
  clientOrderIdsMax: 3,
});

export function deposit(accountId: number, assetId: number, amountUnits: number, seq = 0): Command {
  return { ...createCommand(), type: CommandType.Deposit, accountId, assetId, amountUnits, seq };
}

export function withdraw(accountId: number, assetId: number, amountUnits: number, seq = 0): Command {
  return { ...createCommand(), type: CommandType.Withdraw, accountId, assetId, amountUnits, seq };
}

export interface LimitOptions {
  clientOrderId?: string;
  timeInForce?: TimeInForce;
  seq?: number;
}

export function limit(
  accountId: number,
  marketId: number,
  side: Side,
  priceTicks: number,
  qtySteps: number,
  options: LimitOptions = {},
): Command {
  return {
    ...createCommand(),
    type: CommandType.Place,
    accountId,
    marketId,
    side,
    orderType: OrderType.Limit,
    timeInForce: options.timeInForce ?? TimeInForce.GTC,
    priceTicks,
    qtySteps,
    clientOrderId: options.clientOrderId ?? '',
    seq: options.seq ?? 0,
  };
}

export function marketBuy(accountId: number, marketId: number, quoteQtyUnits: number, seq = 0): Command {
  return {
    ...createCommand(),
    type: CommandType.Place,
    accountId,
    marketId,
    side: Side.Buy,
    orderType: OrderType.Market,
    timeInForce: TimeInForce.IOC,
    quoteQtyUnits,
    seq,
  };
}

export function marketSell(accountId: number, marketId: number, qtySteps: number, seq = 0): Command {
  return {
    ...createCommand(),
    type: CommandType.Place,
    accountId,
    marketId,
    side: Side.Sell,
    orderType: OrderType.Market,
    timeInForce: TimeInForce.IOC,
    qtySteps,
    seq,
  };
}

export function cancel(accountId: number, orderId: number, seq = 0): Command {
  return { ...createCommand(), type: CommandType.Cancel, accountId, orderId, seq };
}
