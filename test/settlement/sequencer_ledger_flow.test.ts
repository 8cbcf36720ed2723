/**
 * Seeded random flows through sequencer → ledger, with a small reference matcher standing in for the
 * matching engine and the ledger's credits and closes flowing back to the sequencer *late*, a few at
 * a time, as they do across threads. After every command: the ledger's invariants hold and the
 * spendable view never runs ahead of the ledger. At the end, with everything delivered, the two
 * agree exactly, and replaying the accepted commands in one thread rebuilds both states exactly.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce, createCommand } from '../../src/domain/commands.ts';
import type { LedgerSink, MatchSink } from '../../src/domain/events.ts';
import { DoneReason } from '../../src/domain/events.ts';
import type { CoreLimits } from '../../src/domain/limits.ts';
import type { Market } from '../../src/domain/markets.ts';
import { defaultMarketSet, notionalFloor } from '../../src/domain/markets.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import { Sequencer } from '../../src/sequencer/sequencer.ts';
import { Ledger } from '../../src/settlement/ledger.ts';
import type { LedgerState } from '../../src/settlement/ledger.ts';

const marketSet = defaultMarketSet();
const LIMITS: CoreLimits = { ordersOpenMax: 64, accountsMax: 8, fillsPerCommandMax: 1_000, clientOrderIdsMax: 12 };
const ACCOUNT_IDS_MAX = 10; // more ids than accountsMax, so some deposits hit TooManyAccounts
const STEPS = 3_000;

/** mulberry32: a tiny seeded generator, so every failure can be replayed from its seed. */
function randomGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RestingOrder {
  orderId: number;
  accountId: number;
  marketId: number;
  side: Side;
  priceTicks: number;
  remainingSteps: number;
}

/**
 * A deliberately simple price-time matcher that emits the engine's events: trades at the maker's
 * price, makers done when filled, takers done unless a GTC limit remainder rests, market buys
 * spending a quote budget (floor per fill).
 */
class ReferenceMatcher {
  private readonly book: RestingOrder[] = [];
  tradeId = 0;
  /** Sequenced cancels whose order had already left the book (accepted live on a stale view). */
  cancelRejects = 0;

  constructor(private readonly sink: MatchSink) {}

  apply(command: Readonly<Command>): void {
    if (command.type === CommandType.Cancel) this.cancel(command);
    if (command.type === CommandType.Place) this.place(command);
  }

  private cancel(command: Readonly<Command>): void {
    const at = this.book.findIndex((order) => order.orderId === command.orderId);
    if (at < 0) {
      this.cancelRejects += 1;
      this.sink.onCancelReject({ orderId: command.orderId, accountId: command.accountId, seq: command.seq });
      return;
    }
    const [order] = this.book.splice(at, 1) as [RestingOrder];
    this.done(order, DoneReason.Cancelled, order.remainingSteps, command.seq);
  }

  private place(command: Readonly<Command>): void {
    const market = marketSet.markets[command.marketId]!;
    const isMarket = command.orderType === OrderType.Market;
    const isMarketBuy = isMarket && command.side === Side.Buy;
    const crosses = (maker: RestingOrder): boolean =>
      isMarket || (command.side === Side.Buy ? maker.priceTicks <= command.priceTicks : maker.priceTicks >= command.priceTicks);
    const makers = this.book
      .filter((order) => order.marketId === market.id && order.side !== command.side && crosses(order))
      .sort((a, b) => (command.side === Side.Buy ? a.priceTicks - b.priceTicks : b.priceTicks - a.priceTicks) || a.orderId - b.orderId);
    const taker: RestingOrder = { ...command, orderId: command.seq, remainingSteps: command.qtySteps };
    let budgetUnits = command.quoteQtyUnits;
    for (const maker of makers) {
      const wanted = isMarketBuy ? affordableSteps(market, maker.priceTicks, budgetUnits) : taker.remainingSteps;
      const qtySteps = Math.min(maker.remainingSteps, wanted);
      if (qtySteps === 0) break;
      maker.remainingSteps -= qtySteps;
      if (isMarketBuy) budgetUnits -= notionalFloor(market, maker.priceTicks, qtySteps);
      else taker.remainingSteps -= qtySteps;
      this.tradeId += 1;
      this.sink.onTrade({
        marketId: market.id,
        tradeId: this.tradeId,
        seq: command.seq,
        timestampMs: command.timestampMs,
        takerOrderId: command.seq,
        takerAccountId: command.accountId,
        takerSide: command.side,
        makerOrderId: maker.orderId,
        makerAccountId: maker.accountId,
        priceTicks: maker.priceTicks,
        qtySteps,
        makerRemainingSteps: maker.remainingSteps,
        takerRemainingSteps: taker.remainingSteps,
      });
      if (maker.remainingSteps === 0) {
        this.book.splice(this.book.indexOf(maker), 1);
        this.done(maker, DoneReason.Filled, 0, command.seq);
      }
      if (!isMarketBuy && taker.remainingSteps === 0) break;
    }
    if (isMarketBuy) this.done(taker, budgetUnits === 0 ? DoneReason.Filled : DoneReason.Expired, 0, command.seq);
    else if (taker.remainingSteps === 0) this.done(taker, DoneReason.Filled, 0, command.seq);
    else if (!isMarket && command.timeInForce === TimeInForce.GTC) this.book.push(taker);
    else this.done(taker, DoneReason.Expired, taker.remainingSteps, command.seq);
  }

  private done(order: RestingOrder, reason: DoneReason, remainingSteps: number, seq: number): void {
    const { marketId, orderId, accountId, side } = order;
    this.sink.onOrderDone({ marketId, orderId, accountId, side, reason, remainingSteps, seq });
  }
}

/** The most steps whose floor notional at `priceTicks` fits `budgetUnits`. */
function affordableSteps(market: Market, priceTicks: number, budgetUnits: number): number {
  return Math.floor(((budgetUnits + 1) * market.notionalDenominator - 1) / (priceTicks * market.notionalNumerator));
}

/** Makes random commands: valid-looking ones mostly, with enough misses to exercise every rejection. */
class CommandSource {
  readonly ownerByOrderId = new Map<number, number>();
  readonly placed: number[] = [];

  constructor(private readonly random: () => number) {}

  next(): Command {
    const roll = this.random();
    if (roll < 0.14) return this.deposit();
    if (roll < 0.2) return this.withdraw();
    if (roll < 0.68) return this.limit();
    if (roll < 0.8) return this.market();
    return this.cancel();
  }

  private pick(count: number): number {
    return Math.floor(this.random() * count);
  }

  private account(): number {
    return 1 + this.pick(ACCOUNT_IDS_MAX);
  }

  private deposit(): Command {
    const assetId = this.pick(3);
    const scale = [2_000, 200_000, 20_000][assetId]!;
    return { ...createCommand(), type: CommandType.Deposit, accountId: this.account(), assetId, amountUnits: 1 + this.pick(scale) };
  }

  private withdraw(): Command {
    const assetId = this.pick(3);
    const scale = [1_000, 100_000, 10_000][assetId]!;
    return { ...createCommand(), type: CommandType.Withdraw, accountId: this.account(), assetId, amountUnits: 1 + this.pick(scale) };
  }

  private limit(): Command {
    const withClientOrderId = this.random() < 0.25;
    return {
      ...createCommand(),
      type: CommandType.Place,
      accountId: this.account(),
      marketId: this.pick(2),
      side: this.random() < 0.5 ? Side.Buy : Side.Sell,
      orderType: OrderType.Limit,
      timeInForce: this.random() < 0.8 ? TimeInForce.GTC : TimeInForce.IOC,
      priceTicks: 90 + this.pick(21),
      qtySteps: 1 + this.pick(20),
      clientOrderId: withClientOrderId ? `c${this.pick(10)}` : '',
    };
  }

  private market(): Command {
    const buy = this.random() < 0.5;
    return {
      ...createCommand(),
      type: CommandType.Place,
      accountId: this.account(),
      marketId: this.pick(2),
      side: buy ? Side.Buy : Side.Sell,
      orderType: OrderType.Market,
      timeInForce: TimeInForce.IOC,
      qtySteps: buy ? 0 : 1 + this.pick(15),
      quoteQtyUnits: buy ? 1 + this.pick(2_500) : 0,
    };
  }

  private cancel(): Command {
    // Recent orders most often: their fills or expiries may still be on their way back.
    const recent = Math.min(this.placed.length, this.random() < 0.5 ? 4 : this.placed.length);
    const known = this.placed.length > 0 && this.random() < 0.95;
    const orderId = known ? this.placed[this.placed.length - 1 - this.pick(recent)]! : 1 + this.pick(50);
    const owner = this.ownerByOrderId.get(orderId);
    const accountId = owner !== undefined && this.random() < 0.8 ? owner : this.account();
    return { ...createCommand(), type: CommandType.Cancel, accountId, orderId };
  }

  accepted(command: Readonly<Command>): void {
    if (command.type !== CommandType.Place) return;
    this.placed.push(command.seq);
    this.ownerByOrderId.set(command.seq, command.accountId);
  }
}

interface FlowResult {
  sequencer: Sequencer;
  ledger: Ledger;
  accepted: Command[];
  codes: Map<RejectCode, number>;
  trades: number;
  cancelRejects: number;
}

function expectSpendableWithinAvailable(sequencer: Sequencer, ledger: Ledger, exact: boolean): void {
  let checked = 0;
  ledger.forEachBalance((accountId, assetId, available) => {
    const spendable = sequencer.spendableUnits(accountId, assetId);
    if (exact) expect(spendable).toBe(available);
    else if (spendable > available) expect.fail(`account ${accountId} asset ${assetId}: spendable ${spendable} > available ${available}`);
    checked += 1;
  });
  expect(checked).toBe(sequencer.accountCount * marketSet.assets.length);
}

function runLiveFlow(seed: number): FlowResult {
  const random = randomGenerator(seed);
  const sequencer = new Sequencer(marketSet, LIMITS);
  // What settlement sends back, in order, delivered late (a ring between threads).
  const feedback: (() => void)[] = [];
  const sink: LedgerSink = {
    onCredit: (accountId, assetId, amountUnits) => feedback.push(() => sequencer.credit(accountId, assetId, amountUnits)),
    onOrderClosed: (orderId) => feedback.push(() => sequencer.orderClosed(orderId)),
    onBalance: () => {},
  };
  const ledger = new Ledger(marketSet, LIMITS, sink);
  const matcher = new ReferenceMatcher(ledger);
  const source = new CommandSource(random);
  const accepted: Command[] = [];
  const codes = new Map<RejectCode, number>();
  for (let step = 0; step < STEPS; step += 1) {
    const deliver = random() < 0.25 ? feedback.length : Math.min(feedback.length, Math.floor(random() * 4));
    for (const item of feedback.splice(0, deliver)) item();
    const command = source.next();
    const nowMs = 1_000_000 + step * 3 - (random() < 0.1 ? 100 : 0); // a clock that sometimes steps back
    const code = sequencer.submit(command, nowMs);
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (code === RejectCode.None) {
      accepted.push({ ...command });
      source.accepted(command);
      ledger.applyCommand(command);
      matcher.apply(command);
    }
    ledger.checkInvariants();
    expectSpendableWithinAvailable(sequencer, ledger, false);
    if (step % 500 === 0) {
      const state = ledger.exportState();
      const copy = JSON.parse(JSON.stringify(state)) as LedgerState;
      expect(Ledger.fromState(marketSet, LIMITS, sink, copy).exportState()).toEqual(state);
    }
  }
  for (const item of feedback.splice(0)) item();
  return { sequencer, ledger, accepted, codes, trades: matcher.tradeId, cancelRejects: matcher.cancelRejects };
}

function replayFlow(accepted: readonly Command[]): { sequencer: Sequencer; ledger: Ledger } {
  const sequencer = new Sequencer(marketSet, LIMITS);
  const sink: LedgerSink = {
    onCredit: (accountId, assetId, amountUnits) => sequencer.credit(accountId, assetId, amountUnits),
    onOrderClosed: (orderId) => sequencer.orderClosed(orderId),
    onBalance: () => {},
  };
  const ledger = new Ledger(marketSet, LIMITS, sink);
  const matcher = new ReferenceMatcher(ledger);
  for (const command of accepted) {
    sequencer.replay(command);
    ledger.applyCommand(command);
    matcher.apply(command);
  }
  ledger.checkInvariants();
  return { sequencer, ledger };
}

describe('sequencer → ledger random flows with late credits', () => {
  for (const seed of [1, 2, 3, 0xc0ffee]) {
    it(`seed ${seed}: invariants hold throughout; spendable catches up exactly; replay rebuilds both`, () => {
      const live = runLiveFlow(seed);
      // The flow exercised acceptance and the main rejections.
      expect(live.accepted.length).toBeGreaterThan(STEPS / 3);
      for (const code of [RejectCode.InsufficientBalance, RejectCode.OrderNotFound, RejectCode.AccountNotFound, RejectCode.DuplicateClientOrderId]) {
        expect(live.codes.get(code) ?? 0, `code ${code}`).toBeGreaterThan(0);
      }
      expect(live.trades).toBeGreaterThan(300);
      expect(live.cancelRejects).toBeGreaterThan(0);
      // With every credit and close delivered, the spendable view equals the ledger's available.
      expectSpendableWithinAvailable(live.sequencer, live.ledger, true);
      expect(live.sequencer.openOrderCount).toBe(live.ledger.openOrderCount);

      const replayed = replayFlow(live.accepted);
      expect(replayed.ledger.exportState()).toEqual(live.ledger.exportState());
      expect(replayed.sequencer.exportState()).toEqual(live.sequencer.exportState());
    });
  }
});
