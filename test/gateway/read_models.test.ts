import { describe, expect, it } from 'vitest';
import { ExchangeCore } from '../../src/core/exchange_core.ts';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce, createCommand } from '../../src/domain/commands.ts';
import { DoneReason } from '../../src/domain/events.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import type { ReadModelsOptions } from '../../src/gateway/read_models.ts';
import { READ_MODELS_DEFAULTS, ReadModels } from '../../src/gateway/read_models.ts';

const BTC = 0;
const USDT = 2;
const BTC_USDT = 0;

/** A real core whose listener is the read models, with helpers that build commands. */
function setup(options: ReadModelsOptions = {}) {
  const marketSet = defaultMarketSet();
  const readModels = new ReadModels(marketSet, options);
  const core = new ExchangeCore(marketSet, { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 1_000, accountsMax: 100 }, readModels);
  let nowMs = 1_000;
  const submit = (fields: Partial<Command>): number => {
    const command = Object.assign(createCommand(), fields);
    const code = core.submit(command, nowMs++);
    expect(code).toBe(RejectCode.None);
    return command.seq;
  };
  const deposit = (accountId: number, assetId: number, amountUnits: number) =>
    submit({ type: CommandType.Deposit, accountId, assetId, amountUnits });
  const limit = (accountId: number, side: Side, priceTicks: number, qtySteps: number, extra: Partial<Command> = {}) =>
    submit({ type: CommandType.Place, accountId, marketId: BTC_USDT, side, orderType: OrderType.Limit, priceTicks, qtySteps, ...extra });
  const cancel = (accountId: number, orderId: number) => submit({ type: CommandType.Cancel, accountId, orderId });
  return { marketSet, readModels, core, submit, deposit, limit, cancel };
}

/** 5000000 ticks = 50000.00 USDT; 100000 steps = 0.1 BTC. */
const PRICE = 5_000_000;
const TENTH = 100_000;

describe('ReadModels driven by the real core', () => {
  it('balances appear with the first deposit and follow every change', () => {
    const { readModels, deposit } = setup();
    expect(readModels.hasAccount(1)).toBe(false);
    expect(readModels.balance(1, USDT)).toBeUndefined();
    const seq = deposit(1, USDT, 1_000_000_000);
    expect(readModels.hasAccount(1)).toBe(true);
    expect(readModels.balance(1, USDT)).toEqual({ availableUnits: 1_000_000_000, lockedUnits: 0 });
    expect(readModels.balance(1, BTC)).toEqual({ availableUnits: 0, lockedUnits: 0 });
    expect(readModels.fundingResult(seq)).toEqual({ availableUnits: 1_000_000_000, lockedUnits: 0 });
    expect(readModels.lastSeq).toBe(seq);
  });

  it('a resting order is new, open, indexed by clientOrderId and on the book', () => {
    const { readModels, deposit, limit } = setup();
    deposit(1, USDT, 100_000_000_000);
    const orderId = limit(1, Side.Buy, PRICE, TENTH, { clientOrderId: 'c-1' });
    const order = readModels.order(orderId)!;
    expect(order).toMatchObject({ status: 'new', filledSteps: 0, remainingSteps: TENTH, closedSeq: 0, clientOrderId: 'c-1' });
    expect(order.fills).toEqual([]);
    expect(readModels.orderByClientOrderId(1, 'c-1')).toEqual(order);
    expect(readModels.orderByClientOrderId(2, 'c-1')).toBeUndefined();
    expect(readModels.openOrders(1).map((o) => o.orderId)).toEqual([orderId]);
    const bids = readModels.bookSide(BTC_USDT, Side.Buy);
    expect([bids.size, bids.priceAt(0), bids.qtyAt(0)]).toEqual([1, PRICE, TENTH]);
    expect(readModels.balance(1, USDT)).toEqual({ availableUnits: 95_000_000_000, lockedUnits: 5_000_000_000 });
  });

  it('a crossing order fills the maker, records fills, trades and the placement state', () => {
    const { readModels, deposit, limit } = setup();
    deposit(1, USDT, 100_000_000_000);
    deposit(2, BTC, 100_000_000);
    const maker = limit(2, Side.Sell, PRICE, 3 * TENTH);
    const taker = limit(1, Side.Buy, PRICE + 100, 5 * TENTH);
    const takerState = readModels.order(taker)!;
    expect(takerState).toMatchObject({ status: 'partially_filled', filledSteps: 3 * TENTH, remainingSteps: 2 * TENTH, closedSeq: 0 });
    expect(takerState.fills).toEqual([{ tradeId: 1, priceTicks: PRICE, qtySteps: 3 * TENTH, makerOrderId: maker }]);
    expect(readModels.order(maker)).toMatchObject({ status: 'filled', filledSteps: 3 * TENTH, remainingSteps: 0, closedSeq: taker });
    expect(readModels.openOrders(2)).toEqual([]);
    expect(readModels.openOrders(1).map((o) => o.orderId)).toEqual([taker]);
    expect(readModels.bookSide(BTC_USDT, Side.Sell).size).toBe(0);
    expect(readModels.bookSide(BTC_USDT, Side.Buy).qtyAt(0)).toBe(2 * TENTH);
    expect(readModels.recentTrades(BTC_USDT, 10)).toEqual([
      { tradeId: 1, priceTicks: PRICE, qtySteps: 3 * TENTH, takerSide: Side.Buy, seq: taker, timestampMs: 1_003 },
    ]);
    expect(readModels.placementState(takerState)).toEqual({ status: 'partially_filled', filledSteps: 3 * TENTH, remainingSteps: 2 * TENTH });
  });

  it('placementState reports the order as its own command left it, even after later fills', () => {
    const { readModels, deposit, limit } = setup();
    deposit(1, USDT, 100_000_000_000);
    deposit(2, BTC, 100_000_000);
    const resting = limit(1, Side.Buy, PRICE, 2 * TENTH);
    limit(2, Side.Sell, PRICE, TENTH);
    const order = readModels.order(resting)!;
    expect(order.status).toBe('partially_filled');
    expect(readModels.placementState(order)).toEqual({ status: 'new', filledSteps: 0, remainingSteps: 2 * TENTH });
  });

  it('cancel closes the order as cancelled with the cancel seq; a second cancel is a cancel reject', () => {
    const { readModels, core, deposit, limit, cancel } = setup();
    deposit(1, USDT, 100_000_000_000);
    const orderId = limit(1, Side.Buy, PRICE, TENTH);
    const cancelSeq = cancel(1, orderId);
    expect(readModels.order(orderId)).toMatchObject({ status: 'cancelled', closedSeq: cancelSeq, remainingSteps: TENTH });
    expect(readModels.openOrders(1)).toEqual([]);
    expect(readModels.bookSide(BTC_USDT, Side.Buy).size).toBe(0);
    expect(readModels.balance(1, USDT)).toEqual({ availableUnits: 100_000_000_000, lockedUnits: 0 });
    // The sequencer forgot the order: a second cancel is refused before the log.
    expect(core.submit(Object.assign(createCommand(), { type: CommandType.Cancel, accountId: 1, orderId }), 5_000)).toBe(
      RejectCode.OrderNotFound,
    );
  });

  it('IOC remainder expires; FOK that cannot fill expires untouched; post-only crossing expires', () => {
    const { readModels, deposit, limit } = setup();
    deposit(1, USDT, 100_000_000_000);
    deposit(2, BTC, 100_000_000);
    limit(2, Side.Sell, PRICE, TENTH);
    const ioc = limit(1, Side.Buy, PRICE, 2 * TENTH, { timeInForce: TimeInForce.IOC });
    expect(readModels.order(ioc)).toMatchObject({ status: 'expired', filledSteps: TENTH, remainingSteps: TENTH, closedSeq: ioc });
    limit(2, Side.Sell, PRICE, TENTH);
    const fok = limit(1, Side.Buy, PRICE, 2 * TENTH, { timeInForce: TimeInForce.FOK });
    expect(readModels.order(fok)).toMatchObject({ status: 'expired', filledSteps: 0, remainingSteps: 2 * TENTH });
    const postOnly = limit(1, Side.Buy, PRICE, TENTH, { postOnly: true });
    expect(readModels.order(postOnly)).toMatchObject({ status: 'expired', filledSteps: 0 });
    expect(readModels.openOrders(1)).toEqual([]);
  });

  it('a market buy spends its quote budget and keeps remaining at 0', () => {
    const { readModels, deposit, limit, submit } = setup();
    deposit(1, USDT, 100_000_000_000);
    deposit(2, BTC, 100_000_000);
    limit(2, Side.Sell, PRICE, TENTH);
    const orderId = submit({
      type: CommandType.Place,
      accountId: 1,
      marketId: BTC_USDT,
      side: Side.Buy,
      orderType: OrderType.Market,
      timeInForce: TimeInForce.IOC,
      quoteQtyUnits: 10_000_000_000, // 10000 USDT: more than the 5000 on the book
    });
    expect(readModels.order(orderId)).toMatchObject({ status: 'expired', filledSteps: TENTH, remainingSteps: 0, timeInForce: TimeInForce.IOC });
  });

  it('keeps book levels sorted best first on both sides', () => {
    const { readModels, deposit, limit } = setup();
    deposit(1, USDT, 100_000_000_000);
    deposit(2, BTC, 100_000_000);
    for (const price of [PRICE - 300, PRICE - 100, PRICE - 200]) limit(1, Side.Buy, price, TENTH);
    limit(1, Side.Buy, PRICE - 100, TENTH);
    for (const price of [PRICE + 300, PRICE + 100, PRICE + 200]) limit(2, Side.Sell, price, TENTH);
    const bids = readModels.bookSide(BTC_USDT, Side.Buy);
    const asks = readModels.bookSide(BTC_USDT, Side.Sell);
    expect([0, 1, 2].map((i) => [bids.priceAt(i), bids.qtyAt(i)])).toEqual([
      [PRICE - 100, 2 * TENTH],
      [PRICE - 200, TENTH],
      [PRICE - 300, TENTH],
    ]);
    expect([0, 1, 2].map((i) => asks.priceAt(i))).toEqual([PRICE + 100, PRICE + 200, PRICE + 300]);
  });

  it('a withdrawal records the balance right after it', () => {
    const { readModels, deposit, submit } = setup();
    deposit(1, USDT, 1_000_000);
    const seq = submit({ type: CommandType.Withdraw, accountId: 1, assetId: USDT, amountUnits: 400_000 });
    expect(readModels.fundingResult(seq)).toEqual({ availableUnits: 600_000, lockedUnits: 0 });
  });

  it('waitForSeq resolves once the models reach the seq', async () => {
    const { readModels, deposit } = setup();
    let resolved = false;
    const waiting = readModels.waitForSeq(2).then(() => {
      resolved = true;
    });
    deposit(1, USDT, 1);
    await Promise.resolve();
    expect(resolved).toBe(false);
    deposit(1, USDT, 1);
    await waiting;
    expect(resolved).toBe(true);
    await readModels.waitForSeq(1);
  });
});

describe('ReadModels memory bounds', () => {
  it('evicts the oldest closed orders first and keeps every open order', () => {
    const { readModels, deposit, limit, cancel } = setup({ closedOrdersMax: 3 });
    deposit(1, USDT, 100_000_000_000);
    const keptOpen = limit(1, Side.Buy, PRICE - 1000, TENTH, { clientOrderId: 'open' });
    const closed: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const orderId = limit(1, Side.Buy, PRICE, TENTH, { clientOrderId: `c${i}` });
      cancel(1, orderId);
      closed.push(orderId);
    }
    expect(readModels.closedOrderCount).toBe(3);
    expect(closed.map((orderId) => readModels.order(orderId) !== undefined)).toEqual([false, false, true, true, true]);
    expect(readModels.orderByClientOrderId(1, 'c0')).toBeUndefined();
    expect(readModels.orderByClientOrderId(1, 'c4')?.orderId).toBe(closed[4]);
    expect(readModels.order(keptOpen)?.status).toBe('new');
    expect(readModels.openOrderCount).toBe(1);
  });

  it('keeps the fills of the last fillsMax trades only', () => {
    const { readModels, deposit, limit } = setup({ fillsMax: 2 });
    deposit(1, USDT, 100_000_000_000);
    deposit(2, BTC, 100_000_000);
    const takers: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      limit(2, Side.Sell, PRICE, TENTH);
      takers.push(limit(1, Side.Buy, PRICE, TENTH));
    }
    // Makers close with no fills of their own; each taker closes with one fill.
    expect(takers.map((orderId) => readModels.order(orderId)?.fills?.length ?? null)).toEqual([null, 1, 1]);
    expect(readModels.order(takers[0]!)).toMatchObject({ status: 'filled', filledSteps: TENTH });
    expect(readModels.placementState(readModels.order(takers[0]!)!)).toMatchObject({ status: 'filled' });
  });

  it('keeps only the last tradesMax trades per market, newest first', () => {
    const { readModels, deposit, limit } = setup({ tradesMax: 2 });
    deposit(1, USDT, 100_000_000_000);
    deposit(2, BTC, 100_000_000);
    for (let i = 0; i < 4; i += 1) {
      limit(2, Side.Sell, PRICE + i, TENTH);
      limit(1, Side.Buy, PRICE + i, TENTH);
    }
    expect(readModels.recentTrades(BTC_USDT, 10).map((trade) => trade.tradeId)).toEqual([4, 3]);
    expect(readModels.recentTrades(BTC_USDT, 1).map((trade) => trade.priceTicks)).toEqual([PRICE + 3]);
    expect(readModels.recentTrades(1, 10)).toEqual([]);
  });

  it('keeps only the last fundingResultsMax funding results', () => {
    const { readModels, deposit } = setup({ fundingResultsMax: 2 });
    const seqs = [deposit(1, USDT, 1), deposit(1, USDT, 1), deposit(1, USDT, 1)];
    expect(seqs.map((seq) => readModels.fundingResult(seq)?.availableUnits)).toEqual([undefined, 2, 3]);
  });

  it('documents its defaults', () => {
    expect(READ_MODELS_DEFAULTS).toEqual({ closedOrdersMax: 100_000, tradesMax: 1_000, fillsMax: 1_000_000, fundingResultsMax: 65_536 });
    expect(() => new ReadModels(defaultMarketSet(), { closedOrdersMax: 0 })).toThrow(/closedOrdersMax/);
  });
});

describe('ReadModels from hand-written event sequences', () => {
  function placeCommand(seq: number, fields: Partial<Command> = {}): Command {
    return Object.assign(createCommand(), {
      type: CommandType.Place,
      seq,
      timestampMs: 10 * seq,
      accountId: 7,
      marketId: BTC_USDT,
      side: Side.Sell,
      priceTicks: 100,
      qtySteps: 10,
      ...fields,
    });
  }

  it('follows a maker through partial fills to filled', () => {
    const readModels = new ReadModels(defaultMarketSet());
    const maker = placeCommand(1);
    readModels.onCommand(maker);
    readModels.onLevel({ marketId: BTC_USDT, side: Side.Sell, priceTicks: 100, qtySteps: 10 });
    readModels.onCommandEnd(maker);
    for (const [seq, qty, remaining] of [
      [2, 4, 6],
      [3, 6, 0],
    ] as const) {
      const taker = placeCommand(seq, { accountId: 8, side: Side.Buy, qtySteps: qty });
      readModels.onCommand(taker);
      readModels.onTrade({
        marketId: BTC_USDT,
        tradeId: seq - 1,
        seq,
        timestampMs: 10 * seq,
        takerOrderId: seq,
        takerAccountId: 8,
        takerSide: Side.Buy,
        makerOrderId: 1,
        makerAccountId: 7,
        priceTicks: 100,
        qtySteps: qty,
        makerRemainingSteps: remaining,
        takerRemainingSteps: 0,
      });
      if (remaining === 0) {
        readModels.onOrderDone({ marketId: BTC_USDT, orderId: 1, accountId: 7, side: Side.Sell, reason: DoneReason.Filled, remainingSteps: 0, seq });
      }
      readModels.onOrderDone({ marketId: BTC_USDT, orderId: seq, accountId: 8, side: Side.Buy, reason: DoneReason.Filled, remainingSteps: 0, seq });
      readModels.onLevel({ marketId: BTC_USDT, side: Side.Sell, priceTicks: 100, qtySteps: remaining });
      readModels.onCommandEnd(taker);
      if (seq === 2) expect(readModels.order(1)).toMatchObject({ status: 'partially_filled', filledSteps: 4, remainingSteps: 6 });
    }
    expect(readModels.order(1)).toMatchObject({ status: 'filled', filledSteps: 10, remainingSteps: 0, closedSeq: 3 });
    expect(readModels.bookSide(BTC_USDT, Side.Sell).size).toBe(0);
    expect(readModels.recentTrades(BTC_USDT, 5).map((trade) => trade.tradeId)).toEqual([2, 1]);
    expect(readModels.lastSeq).toBe(3);
  });

  it('grows past its initial columns and keeps the open orders of each account in orderId order', () => {
    const readModels = new ReadModels(defaultMarketSet(), { closedOrdersMax: 10 });
    const total = 70_000; // more than the 65,536 slots the columns start with
    for (let seq = 1; seq <= total; seq += 1) {
      const command = placeCommand(seq, { accountId: 1 + (seq % 3), clientOrderId: seq % 1000 === 0 ? `c${seq}` : '' });
      readModels.onCommand(command);
      readModels.onCommandEnd(command);
    }
    // Close every order of account 2 but the last, in reverse, then one of account 1 in the middle.
    let seq = total;
    const close = (orderId: number, accountId: number) => {
      seq += 1;
      const cancel = Object.assign(createCommand(), { type: CommandType.Cancel, seq, accountId, orderId });
      readModels.onCommand(cancel);
      readModels.onOrderDone({ orderId, accountId, marketId: BTC_USDT, side: Side.Sell, reason: DoneReason.Cancelled, remainingSteps: 10, seq });
      readModels.onCommandEnd(cancel);
    };
    const ofAccount2 = Array.from({ length: total }, (_, i) => i + 1).filter((id) => id % 3 === 1);
    for (const orderId of ofAccount2.slice(0, -1).reverse()) close(orderId, 2);
    close(30_000, 1);
    expect(readModels.openOrders(2).map((order) => order.orderId)).toEqual([ofAccount2.at(-1)]);
    const ofAccount1 = readModels.openOrders(1).map((order) => order.orderId);
    expect(ofAccount1).toEqual(Array.from({ length: total }, (_, i) => i + 1).filter((id) => id % 3 === 0 && id !== 30_000));
    expect(readModels.openOrderCount).toBe(total - ofAccount2.length);
    expect(readModels.closedOrderCount).toBe(10);
    // Only the last 10 closed orders are kept; the clientOrderId of an evicted one is forgotten.
    expect(readModels.order(30_000)).toMatchObject({ status: 'cancelled', closedSeq: seq });
    expect(readModels.order(ofAccount2[0]!)).toBeDefined(); // closed last of its account
    expect(readModels.order(ofAccount2[100]!)).toBeUndefined();
    expect(readModels.orderByClientOrderId(1, 'c69000')?.orderId).toBe(69_000);
    const evictedWithId = ofAccount2.find((id) => id % 1000 === 0 && readModels.order(id) === undefined)!;
    expect(readModels.orderByClientOrderId(2, `c${evictedWithId}`)).toBeUndefined();
    // A fresh model restored from this one's export answers the same.
    const restored = new ReadModels(defaultMarketSet(), { closedOrdersMax: 10 });
    restored.restoreState(readModels.exportState());
    expect(restored.exportState()).toEqual(readModels.exportState());
    expect(restored.openOrders(1).length).toBe(ofAccount1.length);
  });

  it('a cancel reject leaves the order untouched and is counted', () => {
    const readModels = new ReadModels(defaultMarketSet());
    const cancel = Object.assign(createCommand(), { type: CommandType.Cancel, seq: 1, accountId: 7, orderId: 99 });
    readModels.onCommand(cancel);
    readModels.onCancelReject({ orderId: 99, accountId: 7, seq: 1 });
    readModels.onCommandEnd(cancel);
    expect(readModels.cancelRejects).toBe(1);
    expect(readModels.order(99)).toBeUndefined();
  });

  it('refuses events out of order: a trade against an unknown maker, a seq going back', () => {
    const readModels = new ReadModels(defaultMarketSet());
    const command = placeCommand(5);
    readModels.onCommand(command);
    readModels.onCommandEnd(command);
    expect(() => readModels.onCommand(placeCommand(4))).toThrow(/seq 4 after 5/);
    expect(() =>
      readModels.onTrade({
        marketId: 0, tradeId: 1, seq: 6, timestampMs: 0, takerOrderId: 5, takerAccountId: 7, takerSide: Side.Sell,
        makerOrderId: 77, makerAccountId: 1, priceTicks: 100, qtySteps: 1, makerRemainingSteps: 0, takerRemainingSteps: 0,
      }),
    ).toThrow(/unknown maker 77/);
  });
});
