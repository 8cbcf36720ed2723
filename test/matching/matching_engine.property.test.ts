/**
 * Seeded property test: long random command flows through the engine and through the simple
 * reference engine must give identical event streams, command by command; after every command the
 * engine's books must pass their invariant check (never crossed, every order in exactly one place,
 * level totals equal the sum of their orders) and agree with the reference's levels.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, Side, TimeInForce, createCommand } from '../../src/domain/commands.ts';
import type { CoreLimits } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { MatchingEngine } from '../../src/matching/matching_engine.ts';
import { cancel, limit, marketBuy, marketSell } from './support/commands.ts';
import { Prng } from './support/prng.ts';
import { RecordingSink } from './support/recording_sink.ts';
import { ReferenceEngine } from './support/reference_engine.ts';

const marketSet = defaultMarketSet();
/** Narrow bands around a mid so that orders cross often: ETH in whole ticks, BTC near 50,000.00. */
const MIDS = [5_000_000, 1_000];

interface FlowState {
  prng: Prng;
  seq: number;
  placed: Array<{ orderId: number; accountId: number }>;
}

function randomCommand(state: FlowState, openOrders: number): Command {
  const { prng } = state;
  state.seq += 1;
  const seq = state.seq;
  const marketId = prng.chance(0.7) ? 1 : 0;
  const accountId = prng.int(1, 5);
  const mid = MIDS[marketId] ?? 1_000;
  const roll = prng.next();
  const cancelShare = openOrders > 250 ? 0.5 : 0.18;
  if (roll < cancelShare && state.placed.length > 0) {
    const target = state.placed[prng.int(Math.max(0, state.placed.length - 400), state.placed.length - 1)];
    if (target === undefined || prng.chance(0.03)) return cancel(seq, prng.int(1, seq + 10), accountId);
    // Mostly the owner; sometimes another account (must be rejected).
    return cancel(seq, target.orderId, prng.chance(0.9) ? target.accountId : (target.accountId % 5) + 1);
  }
  if (roll < cancelShare + 0.05) return marketSell(seq, prng.int(1, 30), { marketId, accountId });
  if (roll < cancelShare + 0.1) {
    const budget = marketId === 1 ? prng.int(1, 30 * mid) : prng.int(1, (30 * mid) / 100);
    return marketBuy(seq, budget, { marketId, accountId });
  }
  if (roll < cancelShare + 0.12) {
    const funding = createCommand();
    funding.type = prng.chance(0.5) ? CommandType.Deposit : CommandType.Withdraw;
    funding.seq = seq;
    funding.accountId = accountId;
    funding.amountUnits = prng.int(1, 1000);
    return funding;
  }
  const side = prng.chance(0.5) ? Side.Buy : Side.Sell;
  // Buyers lean above mid and sellers below it, so a good share of orders cross.
  const lean = side === Side.Buy ? 2 : -2;
  const priceTicks = mid + lean + prng.int(-12, 12);
  const tifRoll = prng.next();
  const timeInForce = tifRoll < 0.72 ? TimeInForce.GTC : tifRoll < 0.87 ? TimeInForce.IOC : TimeInForce.FOK;
  const postOnly = prng.chance(0.12);
  state.placed.push({ orderId: seq, accountId });
  return limit({ seq, marketId, accountId, side, priceTicks, qtySteps: prng.int(1, 25), timeInForce, postOnly });
}

function runFlow(seed: number, commands: number, limits: CoreLimits): { trades: number; restsMax: number } {
  const sink = new RecordingSink();
  const engine = new MatchingEngine(marketSet, limits, sink);
  const reference = new ReferenceEngine(marketSet, limits.fillsPerCommandMax);
  const state: FlowState = { prng: new Prng(seed), seq: 0, placed: [] };
  let restsMax = 0;
  for (let index = 0; index < commands; index += 1) {
    const command = randomCommand(state, engine.openOrderCount);
    engine.apply(command);
    reference.apply(command);
    const actual = sink.take();
    const expected = reference.events;
    reference.events = [];
    // Compare cheaply, and let expect() print a readable diff only when they differ.
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      expect({ seed, index, command, events: actual }).toEqual({ seed, index, command, events: expected });
    }
    engine.checkInvariants();
    if (engine.openOrderCount !== reference.openOrderCount()) throw new Error(`seed ${seed} command ${index}: open order counts differ`);
    if (index % 50 === 0) compareBooks(engine, reference, `seed ${seed} command ${index}`);
    restsMax = Math.max(restsMax, engine.openOrderCount);
  }
  compareBooks(engine, reference, `seed ${seed} end`);
  expect(engine.tradeIdLast).toBe(reference.tradeIdLast);
  return { trades: engine.tradeIdLast, restsMax };
}

function compareBooks(engine: MatchingEngine, reference: ReferenceEngine, where: string): void {
  for (let marketId = 0; marketId < marketSet.markets.length; marketId += 1) {
    for (const side of [Side.Buy, Side.Sell]) {
      const levels: Array<[number, number]> = [];
      engine.forEachLevel(marketId, side, 1_000_000, (price, qty) => levels.push([price, qty]));
      const orders: number[] = [];
      engine.forEachOpenOrder(marketId, side, (order) => orders.push(order.orderId, order.remainingSteps, order.filledSteps));
      const expectedOrders = reference.sorted(marketId, side).flatMap((order) => [order.orderId, order.remainingSteps, order.filledSteps]);
      if (JSON.stringify(levels) !== JSON.stringify(reference.levels(marketId, side))) throw new Error(`${where}: levels differ`);
      if (JSON.stringify(orders) !== JSON.stringify(expectedOrders)) throw new Error(`${where}: open orders differ`);
      const best = side === Side.Buy ? engine.bestBidTicks(marketId) : engine.bestAskTicks(marketId);
      if (best !== (levels[0]?.[0] ?? -1)) throw new Error(`${where}: best price differs from the first level`);
    }
  }
}

describe('MatchingEngine vs reference engine (seeded property test)', () => {
  it('gives identical event streams over 50,000 random commands with a generous fill cap', () => {
    const limits = { ordersOpenMax: 4_000, accountsMax: 8, fillsPerCommandMax: 1_000, clientOrderIdsMax: 8 };
    let trades = 0;
    for (const seed of [11, 12]) {
      const result = runFlow(seed, 25_000, limits);
      expect(result.restsMax).toBeLessThan(limits.ordersOpenMax);
      trades += result.trades;
    }
    // The flow must actually exercise matching, not just resting.
    expect(trades).toBeGreaterThan(20_000);
  }, 60_000);

  it('gives identical event streams with a tight fill cap (capped takers, FOK pre-check by count)', () => {
    const limits = { ordersOpenMax: 4_000, accountsMax: 8, fillsPerCommandMax: 3, clientOrderIdsMax: 8 };
    const result = runFlow(21, 15_000, limits);
    expect(result.trades).toBeGreaterThan(5_000);
  }, 60_000);
});
