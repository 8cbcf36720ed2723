import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import type { Command } from '../../src/domain/commands.ts';
import { CLIENT_ORDER_ID_PATTERN, CommandType, OrderType, Side, TimeInForce, createCommand } from '../../src/domain/commands.ts';
import { UNITS_MAX } from '../../src/domain/fixed_point.ts';
import type { CoreLimits } from '../../src/domain/limits.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import { Sequencer } from '../../src/sequencer/sequencer.ts';
import {
  BTC,
  BTC_USDT,
  ETH,
  ETH_USDT,
  SMALL_LIMITS,
  USDT,
  cancel,
  deposit,
  limit,
  marketBuy,
  marketSell,
  withdraw,
} from './command_builders.ts';

const marketSet = defaultMarketSet();
const btcUsdt = marketSet.markets[BTC_USDT]!;
const ethUsdt = marketSet.markets[ETH_USDT]!;

function newSequencer(limits: CoreLimits = SMALL_LIMITS): Sequencer {
  return new Sequencer(marketSet, limits);
}

/** Deposits and delivers the credit settlement would send back, as the pipeline does. */
function fund(sequencer: Sequencer, accountId: number, assetId: number, amountUnits: number): void {
  expect(sequencer.submit(deposit(accountId, assetId, amountUnits), 1_000)).toBe(RejectCode.None);
  sequencer.credit(accountId, assetId, amountUnits);
}

function accept(sequencer: Sequencer, command: Command, nowMs = 1_000): number {
  expect(sequencer.submit(command, nowMs)).toBe(RejectCode.None);
  return command.seq;
}

/** Submits a command that must be rejected with `code` and checks that nothing changed. */
function expectRejected(sequencer: Sequencer, command: Command, code: RejectCode): void {
  const before = sequencer.exportState();
  const commandBefore = { ...command };
  expect(sequencer.submit(command, 999_999)).toBe(code);
  expect(sequencer.exportState()).toEqual(before);
  expect(command).toEqual(commandBefore);
}

/** A sequencer with accounts 1 and 2 funded in every asset. */
function fundedSequencer(limits: CoreLimits = SMALL_LIMITS): Sequencer {
  const sequencer = newSequencer(limits);
  for (const accountId of [1, 2]) {
    fund(sequencer, accountId, BTC, 1_000_000);
    fund(sequencer, accountId, ETH, 1_000_000);
    fund(sequencer, accountId, USDT, 10_000_000);
  }
  return sequencer;
}

describe('Sequencer: seq and timestamps', () => {
  it('gives accepted commands gap-free seqs, skipping none for rejected ones', () => {
    const sequencer = newSequencer();
    expect(sequencer.nextSeq).toBe(1);
    expect(accept(sequencer, deposit(1, USDT, 100))).toBe(1);
    expect(sequencer.submit(withdraw(1, USDT, 100), 1_000)).toBe(RejectCode.InsufficientBalance);
    expect(sequencer.submit(deposit(1, 99, 100), 1_000)).toBe(RejectCode.UnknownAsset);
    expect(accept(sequencer, deposit(2, USDT, 100))).toBe(2);
    sequencer.credit(1, USDT, 100);
    expect(accept(sequencer, withdraw(1, USDT, 40))).toBe(3);
    expect(accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 6))).toBe(4);
    expect(accept(sequencer, cancel(1, 4))).toBe(5);
    expect(sequencer.nextSeq).toBe(6);
  });

  it('knows no account 0 (the empty marker of its tables), even after account 1 exists', () => {
    const sequencer = newSequencer();
    accept(sequencer, deposit(1, USDT, 100));
    sequencer.credit(1, USDT, 100);
    expect(sequencer.submit(withdraw(0, USDT, 10), 1_000)).toBe(RejectCode.AccountNotFound);
    expect(sequencer.submit(limit(0, ETH_USDT, Side.Buy, 1, 1), 1_000)).toBe(RejectCode.AccountNotFound);
    expect(sequencer.hasAccount(0)).toBe(false);
    expect(sequencer.spendableUnits(1, USDT)).toBe(100);
  });

  it('starts at the nextSeq it is given', () => {
    const sequencer = new Sequencer(marketSet, SMALL_LIMITS, 42);
    expect(accept(sequencer, deposit(1, USDT, 1))).toBe(42);
    expect(sequencer.nextSeq).toBe(43);
  });

  it('stamps timestamps that never decrease, even when the clock steps back', () => {
    const sequencer = newSequencer();
    const stamps: number[] = [];
    for (const nowMs of [5_000, 7_000, 6_000, 6_500, 9_000, 0]) {
      const command = deposit(1, USDT, 1);
      accept(sequencer, command, nowMs);
      stamps.push(command.timestampMs);
    }
    expect(stamps).toEqual([5_000, 7_000, 7_000, 7_000, 9_000, 9_000]);
    expect(sequencer.lastTimestampMs).toBe(9_000);
  });

  it('does not move the timestamp for a rejected command', () => {
    const sequencer = newSequencer();
    accept(sequencer, deposit(1, USDT, 1), 5_000);
    expect(sequencer.submit(withdraw(1, USDT, 1), 8_000)).toBe(RejectCode.InsufficientBalance);
    expect(sequencer.lastTimestampMs).toBe(5_000);
  });

  it('rejects an unknown command type as a validation failure', () => {
    const sequencer = fundedSequencer();
    const command = { ...createCommand(), type: 9 as CommandType, accountId: 1 };
    expectRejected(sequencer, command, RejectCode.Validation);
  });

  it('refuses a clock that is not a non-negative integer', () => {
    const sequencer = newSequencer();
    expect(() => sequencer.submit(deposit(1, USDT, 1), 1.5)).toThrow(InvariantError);
    expect(() => sequencer.submit(deposit(1, USDT, 1), -1)).toThrow(InvariantError);
    expect(sequencer.nextSeq).toBe(1);
  });
});

describe('Sequencer: deposits', () => {
  it('creates the account at the first deposit but credits spendable only when settlement says so', () => {
    const sequencer = newSequencer();
    expect(sequencer.hasAccount(7)).toBe(false);
    accept(sequencer, deposit(7, USDT, 500));
    expect(sequencer.hasAccount(7)).toBe(true);
    expect(sequencer.spendableUnits(7, USDT)).toBe(0);
    sequencer.credit(7, USDT, 500);
    expect(sequencer.spendableUnits(7, USDT)).toBe(500);
    expect(sequencer.spendableUnits(7, BTC)).toBe(0);
    expect(sequencer.spendableUnits(8, USDT)).toBe(0);
    expect(sequencer.spendableUnits(7, 99)).toBe(0);
  });

  it('rejects an unknown asset', () => {
    expectRejected(fundedSequencer(), deposit(1, 3, 10), RejectCode.UnknownAsset);
    expectRejected(fundedSequencer(), deposit(1, -1, 10), RejectCode.UnknownAsset);
  });

  it('rejects a zero, negative or fractional amount, and a bad account id', () => {
    const sequencer = fundedSequencer();
    expectRejected(sequencer, deposit(1, USDT, 0), RejectCode.Validation);
    expectRejected(sequencer, deposit(1, USDT, -5), RejectCode.Validation);
    expectRejected(sequencer, deposit(1, USDT, 1.5), RejectCode.Validation);
    expectRejected(sequencer, deposit(1, USDT, Number.NaN), RejectCode.Validation);
    expectRejected(sequencer, deposit(0, USDT, 1), RejectCode.Validation);
    expectRejected(sequencer, deposit(4294967296, USDT, 1), RejectCode.Validation);
  });

  it('rejects a deposit that would take the asset supply past UNITS_MAX', () => {
    const sequencer = newSequencer();
    accept(sequencer, deposit(1, BTC, UNITS_MAX - 10));
    expectRejected(sequencer, deposit(2, BTC, 11), RejectCode.AmountTooLarge);
    expectRejected(sequencer, deposit(1, BTC, UNITS_MAX + 1), RejectCode.AmountTooLarge);
    accept(sequencer, deposit(2, BTC, 10));
    expectRejected(sequencer, deposit(2, BTC, 1), RejectCode.AmountTooLarge);
    // Other assets are bounded separately; a withdrawal makes room again.
    accept(sequencer, deposit(2, USDT, 1));
    sequencer.credit(1, BTC, UNITS_MAX - 10);
    accept(sequencer, withdraw(1, BTC, 5));
    accept(sequencer, deposit(2, BTC, 5));
  });

  it('rejects a new account past accountsMax but keeps funding existing ones', () => {
    const sequencer = newSequencer();
    for (const accountId of [10, 20, 30]) accept(sequencer, deposit(accountId, USDT, 1));
    expect(sequencer.accountCount).toBe(3);
    expectRejected(sequencer, deposit(40, USDT, 1), RejectCode.TooManyAccounts);
    accept(sequencer, deposit(20, BTC, 1));
    expect(sequencer.hasAccount(40)).toBe(false);
  });
});

describe('Sequencer: withdrawals', () => {
  it('reserves the amount from spendable at once', () => {
    const sequencer = fundedSequencer();
    accept(sequencer, withdraw(1, USDT, 4_000_000));
    expect(sequencer.spendableUnits(1, USDT)).toBe(6_000_000);
    // The same funds cannot be spent twice.
    expectRejected(sequencer, withdraw(1, USDT, 6_000_001), RejectCode.InsufficientBalance);
    accept(sequencer, withdraw(1, USDT, 6_000_000));
    expect(sequencer.spendableUnits(1, USDT)).toBe(0);
  });

  it('rejects an unknown account, an unknown asset and bad amounts', () => {
    const sequencer = fundedSequencer();
    expectRejected(sequencer, withdraw(3, USDT, 1), RejectCode.AccountNotFound);
    expectRejected(sequencer, withdraw(1, 7, 1), RejectCode.UnknownAsset);
    expectRejected(sequencer, withdraw(1, USDT, 0), RejectCode.Validation);
    expectRejected(sequencer, withdraw(1, USDT, 2.5), RejectCode.Validation);
    expectRejected(sequencer, withdraw(1, USDT, UNITS_MAX + 1), RejectCode.AmountTooLarge);
  });

  it('rejects more than spendable, counting a deposit not yet credited back as not spendable', () => {
    const sequencer = fundedSequencer();
    expectRejected(sequencer, withdraw(1, USDT, 10_000_001), RejectCode.InsufficientBalance);
    accept(sequencer, deposit(1, USDT, 5));
    expectRejected(sequencer, withdraw(1, USDT, 10_000_001), RejectCode.InsufficientBalance);
    sequencer.credit(1, USDT, 5);
    accept(sequencer, withdraw(1, USDT, 10_000_001));
  });
});

describe('Sequencer: placing orders', () => {
  it('reserves what reservationUnits says: ceil(price × qty) quote for a limit buy', () => {
    const sequencer = fundedSequencer();
    // BTC-USDT: 101 ticks × 3 steps = 3.03 USDT units, reserved as 4.
    accept(sequencer, limit(1, BTC_USDT, Side.Buy, 101, 3));
    expect(sequencer.spendableUnits(1, USDT)).toBe(10_000_000 - 4);
    // ETH-USDT is exact: 250 × 4 = 1000 units.
    accept(sequencer, limit(1, ETH_USDT, Side.Buy, 250, 4));
    expect(sequencer.spendableUnits(1, USDT)).toBe(10_000_000 - 4 - 1_000);
  });

  it('reserves the base quantity for a sell and the budget for a market buy', () => {
    const sequencer = fundedSequencer();
    accept(sequencer, limit(1, BTC_USDT, Side.Sell, 101, 3));
    expect(sequencer.spendableUnits(1, BTC)).toBe(1_000_000 - 3 * btcUsdt.stepUnits);
    accept(sequencer, marketSell(1, ETH_USDT, 2));
    expect(sequencer.spendableUnits(1, ETH)).toBe(1_000_000 - 2 * ethUsdt.stepUnits);
    accept(sequencer, marketBuy(1, ETH_USDT, 12_345));
    expect(sequencer.spendableUnits(1, USDT)).toBe(10_000_000 - 12_345);
    expect(sequencer.openOrderCount).toBe(3);
  });

  it('accepts an order that takes exactly all of spendable and rejects one unit more', () => {
    const sequencer = newSequencer();
    fund(sequencer, 1, USDT, 1_000);
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Buy, 1_001, 1), RejectCode.InsufficientBalance);
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Sell, 1, 1), RejectCode.InsufficientBalance);
    expectRejected(sequencer, marketBuy(1, ETH_USDT, 1_001), RejectCode.InsufficientBalance);
    // BTC-USDT: 100_001 ticks × 1 step = 1000.01 units, reserved as 1001.
    expectRejected(sequencer, limit(1, BTC_USDT, Side.Buy, 100_001, 1), RejectCode.InsufficientBalance);
    accept(sequencer, limit(1, ETH_USDT, Side.Buy, 1_000, 1));
    expect(sequencer.spendableUnits(1, USDT)).toBe(0);
  });

  it('rejects an unknown market and an unknown account', () => {
    const sequencer = fundedSequencer();
    expectRejected(sequencer, limit(1, 2, Side.Buy, 1, 1), RejectCode.UnknownMarket);
    expectRejected(sequencer, limit(1, -1, Side.Buy, 1, 1), RejectCode.UnknownMarket);
    expectRejected(sequencer, limit(1, 0.5, Side.Buy, 1, 1), RejectCode.UnknownMarket);
    expectRejected(sequencer, limit(3, BTC_USDT, Side.Buy, 1, 1), RejectCode.AccountNotFound);
  });

  it('rejects limit prices out of range', () => {
    const sequencer = fundedSequencer();
    expectRejected(sequencer, limit(1, BTC_USDT, Side.Buy, 0, 1), RejectCode.InvalidPrice);
    expectRejected(sequencer, limit(1, BTC_USDT, Side.Sell, -3, 1), RejectCode.InvalidPrice);
    expectRejected(sequencer, limit(1, BTC_USDT, Side.Sell, btcUsdt.priceTicksMax + 1, 1), RejectCode.AmountTooLarge);
    expectRejected(sequencer, limit(1, BTC_USDT, Side.Sell, 1.5, 1), RejectCode.Validation);
  });

  it('rejects quantities out of range and notionals beyond the exact range', () => {
    const sequencer = fundedSequencer();
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Sell, 10, 0), RejectCode.InvalidQty);
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Sell, 10, ethUsdt.qtyStepsMax + 1), RejectCode.AmountTooLarge);
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Sell, 10, 2.5), RejectCode.Validation);
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Buy, ethUsdt.priceTicksMax, 100_000), RejectCode.AmountTooLarge);
    expectRejected(sequencer, marketSell(1, ETH_USDT, 0), RejectCode.InvalidQty);
    expectRejected(sequencer, marketSell(1, ETH_USDT, ethUsdt.qtyStepsMax + 1), RejectCode.AmountTooLarge);
  });

  it('rejects a market buy budget that is zero, fractional or too large', () => {
    const sequencer = fundedSequencer();
    expectRejected(sequencer, marketBuy(1, ETH_USDT, 0), RejectCode.InvalidQty);
    expectRejected(sequencer, marketBuy(1, ETH_USDT, -1), RejectCode.InvalidQty);
    expectRejected(sequencer, marketBuy(1, ETH_USDT, 0.5), RejectCode.Validation);
    expectRejected(sequencer, marketBuy(1, ETH_USDT, UNITS_MAX + 1), RejectCode.AmountTooLarge);
  });

  it('rejects malformed shapes that only a non-HTTP caller could send', () => {
    const sequencer = fundedSequencer();
    expectRejected(sequencer, { ...limit(1, ETH_USDT, Side.Buy, 10, 1), side: 2 as Side }, RejectCode.Validation);
    expectRejected(sequencer, { ...limit(1, ETH_USDT, Side.Buy, 10, 1), orderType: 5 as OrderType }, RejectCode.Validation);
    expectRejected(sequencer, { ...limit(1, ETH_USDT, Side.Buy, 10, 1), timeInForce: 3 as TimeInForce }, RejectCode.Validation);
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'has space' }), RejectCode.Validation);
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'x'.repeat(37) }), RejectCode.Validation);
    // The pre-check tests clientOrderIds character by character: it must agree with CLIENT_ORDER_ID_PATTERN,
    // at the edges of each allowed range and beyond ASCII.
    const edges = ['/', '0', '9', ':', '@', 'A', 'Z', '[', '`', 'a', 'z', '{', '_', '-', '.', '\u00e9', '\u0130', '\ud83d\ude00', '\u0000'];
    for (const text of [...edges, ...edges.map((edge) => `ok${edge}`), 'y'.repeat(36), 'y'.repeat(35) + '\u00e9']) {
      const code = sequencer.submit(limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: text }), 1_000);
      expect(code === RejectCode.Validation, JSON.stringify(text)).toBe(!CLIENT_ORDER_ID_PATTERN.test(text));
    }
    expectRejected(sequencer, { ...limit(1, ETH_USDT, Side.Buy, 10, 1), quoteQtyUnits: 5 }, RejectCode.Validation);
    expectRejected(sequencer, { ...marketBuy(1, ETH_USDT, 10), priceTicks: 5 }, RejectCode.Validation);
    expectRejected(sequencer, { ...marketBuy(1, ETH_USDT, 10), qtySteps: 5 }, RejectCode.Validation);
    expectRejected(sequencer, { ...marketSell(1, ETH_USDT, 1), quoteQtyUnits: 5 }, RejectCode.Validation);
  });

  it('rejects an order past ordersOpenMax until settlement closes one', () => {
    const sequencer = fundedSequencer();
    const ids = [1, 2, 3, 4].map((price) => accept(sequencer, limit(1, ETH_USDT, Side.Buy, price, 1)));
    expect(sequencer.openOrderCount).toBe(SMALL_LIMITS.ordersOpenMax);
    expectRejected(sequencer, limit(2, ETH_USDT, Side.Sell, 100, 1), RejectCode.TooManyOpenOrders);
    // A cancel is accepted (it reserves nothing) but the order stays open until settlement says so.
    accept(sequencer, cancel(1, ids[0]!));
    expectRejected(sequencer, limit(2, ETH_USDT, Side.Sell, 100, 1), RejectCode.TooManyOpenOrders);
    sequencer.orderClosed(ids[0]!);
    expect(sequencer.isOrderOpen(ids[0]!)).toBe(false);
    accept(sequencer, limit(2, ETH_USDT, Side.Sell, 100, 1));
  });

  it('checks the market before the account, and the shape before the balance', () => {
    const sequencer = newSequencer();
    fund(sequencer, 1, USDT, 1);
    expect(sequencer.submit(limit(9, 7, Side.Buy, 0, 0), 1)).toBe(RejectCode.UnknownMarket);
    expect(sequencer.submit(limit(9, ETH_USDT, Side.Buy, 0, 0), 1)).toBe(RejectCode.AccountNotFound);
    expect(sequencer.submit(limit(1, ETH_USDT, Side.Buy, 0, 1_000_000), 1)).toBe(RejectCode.InvalidPrice);
  });
});

describe('Sequencer: idempotency by clientOrderId', () => {
  it('answers a repeated (account, clientOrderId) with the earlier order and reserves nothing', () => {
    const sequencer = fundedSequencer();
    const first = accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'abc-1' }));
    expect(sequencer.orderIdForClientOrderId(1, 'abc-1')).toBe(first);
    const before = sequencer.exportState();
    const repeat = limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'abc-1' });
    expect(sequencer.submit(repeat, 2_000)).toBe(RejectCode.DuplicateClientOrderId);
    expect(sequencer.duplicateOrderId).toBe(first);
    expect(repeat.seq).toBe(0);
    expect(sequencer.exportState()).toEqual(before);
    // Even a different order (or one that could not be afforded) under the same id is the duplicate.
    expect(sequencer.submit(limit(1, ETH_USDT, Side.Sell, 99, 9_999_999, { clientOrderId: 'abc-1' }), 2_000)).toBe(
      RejectCode.DuplicateClientOrderId,
    );
    // The next submit clears duplicateOrderId.
    accept(sequencer, deposit(1, USDT, 1));
    expect(sequencer.duplicateOrderId).toBe(0);
  });

  it('scopes clientOrderIds per account and ignores empty ones', () => {
    const sequencer = fundedSequencer();
    const mine = accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'same' }));
    const theirs = accept(sequencer, limit(2, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'same' }));
    expect(sequencer.orderIdForClientOrderId(1, 'same')).toBe(mine);
    expect(sequencer.orderIdForClientOrderId(2, 'same')).toBe(theirs);
    accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1));
    accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1));
    expect(sequencer.clientOrderIdCount).toBe(2);
    expect(sequencer.orderIdForClientOrderId(1, '')).toBe(0);
    expect(sequencer.orderIdForClientOrderId(3, 'same')).toBe(0);
  });

  it('remembers a clientOrderId after its order closed', () => {
    const sequencer = fundedSequencer();
    const orderId = accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'c1' }));
    sequencer.orderClosed(orderId);
    expectRejected(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'c1' }), RejectCode.DuplicateClientOrderId);
  });

  it('checks idempotency before the open-order limit and the balance', () => {
    const sequencer = fundedSequencer();
    const first = accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'k' }));
    for (let i = 0; i < 3; i += 1) accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1));
    const repeat = limit(1, ETH_USDT, Side.Buy, 10, 1, { clientOrderId: 'k' });
    expect(sequencer.submit(repeat, 1)).toBe(RejectCode.DuplicateClientOrderId);
    expect(sequencer.duplicateOrderId).toBe(first);
  });

  it('forgets the oldest pair first when clientOrderIdsMax is reached', () => {
    const sequencer = fundedSequencer({ ...SMALL_LIMITS, ordersOpenMax: 100 });
    const ids = ['a', 'b', 'c', 'd'].map((id) => accept(sequencer, limit(1, ETH_USDT, Side.Buy, 1, 1, { clientOrderId: id })));
    expect(sequencer.clientOrderIdCount).toBe(SMALL_LIMITS.clientOrderIdsMax);
    expect(sequencer.orderIdForClientOrderId(1, 'a')).toBe(0);
    expect(sequencer.orderIdForClientOrderId(1, 'b')).toBe(ids[1]);
    expect(sequencer.orderIdForClientOrderId(1, 'd')).toBe(ids[3]);
    expect(sequencer.exportState().clientOrderIds.map(([, clientOrderId]) => clientOrderId)).toEqual(['b', 'c', 'd']);
    // A forgotten id is a new order again (and pushes out the next oldest).
    const again = accept(sequencer, limit(1, ETH_USDT, Side.Buy, 1, 1, { clientOrderId: 'a' }));
    expect(sequencer.orderIdForClientOrderId(1, 'a')).toBe(again);
    expect(sequencer.orderIdForClientOrderId(1, 'b')).toBe(0);
    expect(sequencer.exportState().clientOrderIds.map(([, clientOrderId]) => clientOrderId)).toEqual(['c', 'd', 'a']);
  });
});

describe('Sequencer: cancels', () => {
  it('accepts a cancel of an open order of the same account and reserves nothing', () => {
    const sequencer = fundedSequencer();
    const orderId = accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1));
    const spendable = sequencer.spendableUnits(1, USDT);
    const cancelSeq = accept(sequencer, cancel(1, orderId));
    expect(cancelSeq).toBe(orderId + 1);
    expect(sequencer.spendableUnits(1, USDT)).toBe(spendable);
    // Until settlement reports the close, the order is still a valid target.
    expect(sequencer.isOrderOpen(orderId)).toBe(true);
    accept(sequencer, cancel(1, orderId));
  });

  it('rejects a cancel of an unknown order, of another account and of a closed order', () => {
    const sequencer = fundedSequencer();
    const orderId = accept(sequencer, limit(1, ETH_USDT, Side.Buy, 10, 1));
    expectRejected(sequencer, cancel(1, orderId + 100), RejectCode.OrderNotFound);
    expectRejected(sequencer, cancel(1, 1), RejectCode.OrderNotFound); // seq 1 was a deposit
    expectRejected(sequencer, cancel(2, orderId), RejectCode.OrderNotFound);
    expectRejected(sequencer, cancel(3, orderId), RejectCode.OrderNotFound);
    sequencer.orderClosed(orderId);
    expectRejected(sequencer, cancel(1, orderId), RejectCode.OrderNotFound);
  });
});

describe('Sequencer: credits and closes from settlement', () => {
  it('adds credits to spendable', () => {
    const sequencer = fundedSequencer();
    accept(sequencer, limit(1, ETH_USDT, Side.Buy, 100, 10));
    sequencer.credit(1, ETH, 10 * ethUsdt.stepUnits);
    sequencer.credit(1, USDT, 1_000);
    expect(sequencer.spendableUnits(1, ETH)).toBe(1_000_000 + 10 * ethUsdt.stepUnits);
    expect(sequencer.spendableUnits(1, USDT)).toBe(10_000_000);
  });

  it('refuses credits it cannot explain and closes of orders it does not know', () => {
    const sequencer = fundedSequencer();
    expect(() => sequencer.credit(3, USDT, 1)).toThrow(InvariantError);
    expect(() => sequencer.credit(1, 5, 1)).toThrow(InvariantError);
    expect(() => sequencer.credit(1, USDT, 0)).toThrow(InvariantError);
    expect(() => sequencer.credit(1, USDT, 0.5)).toThrow(InvariantError);
    expect(() => sequencer.credit(1, USDT, 20_000_001)).toThrow(/spendable above supply/);
    expect(() => sequencer.orderClosed(77)).toThrow(InvariantError);
  });

  it('lists spendable balances by ascending account id', () => {
    const sequencer = newSequencer();
    fund(sequencer, 9, USDT, 9);
    fund(sequencer, 2, BTC, 2);
    const seen: [number, number, number][] = [];
    sequencer.forEachSpendable((accountId, assetId, units) => seen.push([accountId, assetId, units]));
    expect(seen).toEqual([
      [2, BTC, 2],
      [2, ETH, 0],
      [2, USDT, 0],
      [9, BTC, 0],
      [9, ETH, 0],
      [9, USDT, 9],
    ]);
  });
});

/** A session of submits with the credits and closes settlement would send back, recorded for replay. */
interface Recorded {
  commands: Command[];
  /** Feedback delivered after command i (index i). */
  feedback: ((sequencer: Sequencer) => void)[];
}

function recordSession(sequencer: Sequencer): Recorded {
  const recorded: Recorded = { commands: [], feedback: [] };
  const step = (command: Command, nowMs: number, feedback: (s: Sequencer) => void = () => {}): number => {
    expect(sequencer.submit(command, nowMs)).toBe(RejectCode.None);
    feedback(sequencer);
    recorded.commands.push({ ...command });
    recorded.feedback.push(feedback);
    return command.seq;
  };
  step(deposit(1, USDT, 50_000), 10, (s) => s.credit(1, USDT, 50_000));
  step(deposit(2, ETH, 90_000), 20, (s) => s.credit(2, ETH, 90_000));
  const buy = step(limit(1, ETH_USDT, Side.Buy, 100, 3, { clientOrderId: 'b1' }), 15);
  const sell = step(limit(2, ETH_USDT, Side.Sell, 100, 9, { clientOrderId: 's1' }), 30, (s) => {
    s.credit(1, ETH, 30_000); // buyer gets 3 steps
    s.credit(2, USDT, 300); // seller gets 300 quote
    s.orderClosed(buy);
  });
  step(withdraw(2, USDT, 200), 31);
  step(cancel(2, sell), 29, (s) => {
    s.credit(2, ETH, 60_000);
    s.orderClosed(sell);
  });
  step(marketBuy(1, ETH_USDT, 700), 40, (s) => {
    s.credit(1, USDT, 700);
    s.orderClosed(s.nextSeq - 1); // the market buy itself found nothing to buy
  });
  return recorded;
}

describe('Sequencer: replay', () => {
  it('reproduces exactly the state that submit built', () => {
    const live = newSequencer();
    const recorded = recordSession(live);
    const replayed = newSequencer();
    recorded.commands.forEach((command, i) => {
      replayed.replay(command);
      recorded.feedback[i]!(replayed);
    });
    expect(replayed.exportState()).toEqual(live.exportState());
    expect(replayed.nextSeq).toBe(live.nextSeq);
    expect(replayed.lastTimestampMs).toBe(40);
  });

  it('asserts the next seq, a non-decreasing timestamp and a passing pre-check', () => {
    const recorded = recordSession(newSequencer());
    const [first, second, third] = recorded.commands as [Command, Command, Command];
    const replayed = newSequencer();
    expect(() => replayed.replay(second)).toThrow(/seq 2, expected 1/);
    replayed.replay(first);
    expect(() => replayed.replay({ ...second, timestampMs: 5 })).toThrow(/timestamp/);
    replayed.replay(second);
    // Without the deposit's credit the buy cannot be afforded: the WAL and the state disagree.
    expect(() => replayed.replay(third)).toThrow(/fails the pre-check: INSUFFICIENT_BALANCE/);
    expect(replayed.nextSeq).toBe(3);
  });

  it('accepts a cancel whose order closed while the cancel was on its way', () => {
    const sequencer = fundedSequencer();
    const order = limit(1, ETH_USDT, Side.Buy, 10, 1);
    accept(sequencer, order);
    // Live, the cancel was accepted before the fill's close came back; replay delivers the close first.
    sequencer.orderClosed(order.seq);
    expect(sequencer.submit(cancel(1, order.seq), 1_000)).toBe(RejectCode.OrderNotFound);
    const seq = sequencer.nextSeq;
    sequencer.replay({ ...cancel(1, order.seq), seq, timestampMs: 1_000 });
    expect(sequencer.nextSeq).toBe(seq + 1);
    // A cancel of an order that is open under another account still fails, as it did live.
    const other = limit(2, ETH_USDT, Side.Buy, 10, 1);
    accept(sequencer, other);
    expect(() => sequencer.replay({ ...cancel(1, other.seq), seq: sequencer.nextSeq, timestampMs: 1_000 })).toThrow(
      /ORDER_NOT_FOUND/,
    );
    // And so does one of an order id that was never sequenced.
    expect(() => sequencer.replay({ ...cancel(1, 999), seq: sequencer.nextSeq, timestampMs: 1_000 })).toThrow(/ORDER_NOT_FOUND/);
  });
});

describe('Sequencer: snapshots', () => {
  it('round-trips exactly through JSON and behaves the same afterwards', () => {
    const live = newSequencer({ ...SMALL_LIMITS, ordersOpenMax: 10 });
    recordSession(live);
    accept(live, limit(1, ETH_USDT, Side.Buy, 1, 1, { clientOrderId: 'x1' }));
    const state = live.exportState();
    const restored = Sequencer.fromState(marketSet, { ...SMALL_LIMITS, ordersOpenMax: 10 }, JSON.parse(JSON.stringify(state)));
    expect(restored.exportState()).toEqual(state);
    expect(restored.nextSeq).toBe(live.nextSeq);
    expect(restored.lastTimestampMs).toBe(live.lastTimestampMs);
    const commands = [
      limit(1, ETH_USDT, Side.Buy, 1, 1, { clientOrderId: 'x1' }),
      limit(1, ETH_USDT, Side.Buy, 1, 1, { clientOrderId: 'x2' }),
      withdraw(1, USDT, 1_000_000),
      withdraw(1, USDT, 10),
      deposit(3, BTC, 5),
      deposit(4, BTC, 5),
    ];
    for (const command of commands) {
      const copy = { ...command };
      expect(restored.submit(copy, 50)).toBe(live.submit(command, 50));
      expect(copy).toEqual(command);
      expect(restored.duplicateOrderId).toBe(live.duplicateOrderId);
    }
    expect(restored.exportState()).toEqual(live.exportState());
  });

  it('refuses a state that cannot be right', () => {
    const live = newSequencer();
    recordSession(live);
    const state = live.exportState();
    const broken = (change: (s: typeof state) => void): void => {
      const copy = structuredClone(state);
      change(copy);
      expect(() => Sequencer.fromState(marketSet, SMALL_LIMITS, copy)).toThrow(InvariantError);
    };
    broken((s) => (s.supplyUnits = [1, 2]));
    broken((s) => (s.accounts[0]!.spendableUnits[USDT] = -1));
    broken((s) => s.accounts.push({ ...s.accounts[0]! }));
    broken((s) => s.openOrders.push([s.nextSeq, 1]));
    broken((s) => s.openOrders.push([1, 99]));
    broken((s) => s.openOrders.push([1, 0]));
    broken((s) => s.clientOrderIds.push([0, 'x9', 3]));
    broken((s) => s.clientOrderIds.push([1, 'bad id', 3]));
    broken((s) => (s.nextSeq = 0));
  });

  /** A recorded session, then two orders with clientOrderIds x1 and x2 from account 1. */
  function sequencerWithClientOrderIds(): Sequencer {
    const live = newSequencer();
    recordSession(live);
    accept(live, limit(1, ETH_USDT, Side.Buy, 1, 1, { clientOrderId: 'x1' }));
    accept(live, limit(1, ETH_USDT, Side.Buy, 1, 1, { clientOrderId: 'x2' }));
    return live;
  }

  it('hands its clientOrderId table to another thread as an image, adopted as is; never into a snapshot', () => {
    const live = sequencerWithClientOrderIds();
    const state = live.exportState({ clientOrderIdImage: true });
    expect(state.clientOrderIds).toEqual([]);
    const restored = Sequencer.fromState(marketSet, SMALL_LIMITS, structuredClone(state));
    expect(restored.exportState()).toEqual(live.exportState());
    expect(restored.orderIdForClientOrderId(1, 'x2')).toBe(live.orderIdForClientOrderId(1, 'x2'));
    expect(() => live.exportState({ clientOrderIdImage: true, clientOrderIdColumns: true })).toThrow(InvariantError);
    expect(() => Sequencer.fromState(marketSet, SMALL_LIMITS, { ...state, clientOrderIds: [[1, 'x3', 1]] })).toThrow(InvariantError);
  });

  it('refuses clientOrderId columns of unknown accounts or orders not yet sequenced', () => {
    const live = sequencerWithClientOrderIds();
    const state = live.exportState({ clientOrderIdColumns: true });
    const columns = state.clientOrderIdColumns!;
    const restored = Sequencer.fromState(marketSet, SMALL_LIMITS, { ...state, clientOrderIdColumns: { ...columns } });
    expect(restored.exportState()).toEqual(live.exportState());
    const broken = (change: (c: typeof columns) => void, message: RegExp): void => {
      const copy = { accountIds: columns.accountIds.slice(), orderIds: columns.orderIds.slice(), lengths: columns.lengths.slice(), bytes: columns.bytes.slice() };
      change(copy);
      expect(() => Sequencer.fromState(marketSet, SMALL_LIMITS, { ...state, clientOrderIdColumns: copy })).toThrow(message);
    };
    // Account 1 is known (and remembered by the check) before a row names an unknown one.
    broken((c) => (c.accountIds[1] = 99), /unknown account 99/);
    broken((c) => (c.accountIds[1] = 1 + 4096), /unknown account 4097/);
    broken((c) => (c.accountIds[1] = 0), /unknown account 0/);
    broken((c) => (c.orderIds[1] = state.nextSeq), /out of range/);
    broken((c) => (c.orderIds[0] = 0), /out of range/);
  });
});

describe('Sequencer: limits', () => {
  it('refuses invalid limits at construction', () => {
    expect(() => new Sequencer(marketSet, { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 0 })).toThrow(/ordersOpenMax/);
    expect(() => new Sequencer(marketSet, SMALL_LIMITS, 0)).toThrow(InvariantError);
  });
});
