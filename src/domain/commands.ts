/**
 * Commands: what clients ask for, as one flat, reusable record (like exchange-core's OrderCommand).
 *
 * The gateway fills a Command from a validated request; the sequencer stamps `seq` and
 * `timestampMs`; the WAL stores it; matching and settlement read it. State machines never keep
 * a reference to a Command: they copy the fields they need, so shells reuse one object per slot.
 */
import { assert } from './assert.ts';
import type { Market } from './markets.ts';
import { notionalCeil } from './markets.ts';

export const CommandType = { Deposit: 1, Withdraw: 2, Place: 3, Cancel: 4 } as const;
export type CommandType = (typeof CommandType)[keyof typeof CommandType];

export const Side = { Buy: 0, Sell: 1 } as const;
export type Side = (typeof Side)[keyof typeof Side];

export const OrderType = { Limit: 0, Market: 1 } as const;
export type OrderType = (typeof OrderType)[keyof typeof OrderType];

export const TimeInForce = { GTC: 0, IOC: 1, FOK: 2 } as const;
export type TimeInForce = (typeof TimeInForce)[keyof typeof TimeInForce];

/** A clientOrderId is 1–36 characters of [A-Za-z0-9_-] (API.md); '' means none. */
export const CLIENT_ORDER_ID_LENGTH_MAX = 36;
export const CLIENT_ORDER_ID_PATTERN = /^[A-Za-z0-9_-]{1,36}$/;

/** One character of a clientOrderId, as CLIENT_ORDER_ID_PATTERN allows it (hot paths test codes, not the regex). */
export function isClientOrderIdChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x5f || // _
    code === 0x2d // -
  );
}
assert(CLIENT_ORDER_ID_PATTERN.source === '^[A-Za-z0-9_-]{1,36}$', 'isClientOrderIdChar implements CLIENT_ORDER_ID_PATTERN');
export const ACCOUNT_ID_MAX = 4294967295;

export interface Command {
  type: CommandType;
  /** Gap-free sequence number from the sequencer; 0 until sequenced. Also the orderId of a place. */
  seq: number;
  /** Milliseconds since the epoch, stamped by the sequencer, never decreasing. */
  timestampMs: number;
  accountId: number;
  /** Deposit and withdrawal. */
  assetId: number;
  amountUnits: number;
  /** Place. */
  marketId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  postOnly: boolean;
  /** Limit orders: price in ticks. 0 for market orders. */
  priceTicks: number;
  /** Limit orders and market sells: quantity in steps. 0 for a market buy. */
  qtySteps: number;
  /** Market buys only: the most quote units to spend. */
  quoteQtyUnits: number;
  /** '' when the client gave none. */
  clientOrderId: string;
  /** Cancel: the order to cancel. */
  orderId: number;
}

export function createCommand(): Command {
  return {
    type: CommandType.Deposit,
    seq: 0,
    timestampMs: 0,
    accountId: 0,
    assetId: 0,
    amountUnits: 0,
    marketId: 0,
    side: Side.Buy,
    orderType: OrderType.Limit,
    timeInForce: TimeInForce.GTC,
    postOnly: false,
    priceTicks: 0,
    qtySteps: 0,
    quoteQtyUnits: 0,
    clientOrderId: '',
    orderId: 0,
  };
}

export function copyCommand(from: Readonly<Command>, to: Command): Command {
  to.type = from.type;
  to.seq = from.seq;
  to.timestampMs = from.timestampMs;
  to.accountId = from.accountId;
  to.assetId = from.assetId;
  to.amountUnits = from.amountUnits;
  to.marketId = from.marketId;
  to.side = from.side;
  to.orderType = from.orderType;
  to.timeInForce = from.timeInForce;
  to.postOnly = from.postOnly;
  to.priceTicks = from.priceTicks;
  to.qtySteps = from.qtySteps;
  to.quoteQtyUnits = from.quoteQtyUnits;
  to.clientOrderId = from.clientOrderId;
  to.orderId = from.orderId;
  return to;
}

export function resetCommand(command: Command): Command {
  return copyCommand(EMPTY_COMMAND, command);
}

const EMPTY_COMMAND: Readonly<Command> = Object.freeze(createCommand());

/** The asset a place command reserves: quote for a buy, base for a sell. */
export function reservedAssetId(market: Market, side: Side): number {
  return side === Side.Buy ? market.quote.id : market.base.id;
}

/**
 * Units a place command reserves when it is accepted: limit buy price × qty of quote (rounded up),
 * market buy its quoteQty, any sell its qty of base. Sequencer and ledger both call this, so the
 * pre-check and the lock can never disagree.
 */
export function reservationUnits(market: Market, command: Readonly<Command>): number {
  if (command.side === Side.Sell) return command.qtySteps * market.stepUnits;
  if (command.orderType === OrderType.Market) return command.quoteQtyUnits;
  return notionalCeil(market, command.priceTicks, command.qtySteps);
}

/** What a resting buy of `remainingSteps` at its limit must keep locked. */
export function restingBuyReservation(market: Market, priceTicks: number, remainingSteps: number): number {
  return notionalCeil(market, priceTicks, remainingSteps);
}
