/**
 * Seeded property test of the whole core: sequencer → matching → settlement with credits flowing
 * back, over a long random flow. After EVERY command it checks DESIGN.md's invariants from the
 * outside, recomputing what should hold from the book itself rather than trusting the ledger's
 * own bookkeeping.
 */
import { describe, expect, it } from 'vitest';
import { FlowGenerator } from '../../bench/flows.ts';
import { ExchangeCore } from '../../src/core/exchange_core.ts';
import { CommandType, Side, createCommand, copyCommand } from '../../src/domain/commands.ts';
import { checkCoreInvariants } from '../../src/core/invariants.ts';
import type { Command } from '../../src/domain/commands.ts';
import { DoneReason } from '../../src/domain/events.ts';
import type { OrderDoneEvent, TradeEvent } from '../../src/domain/events.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';

const COMMANDS = 100_000;
const ACCOUNTS = 24;

interface Tally {
  supply: number[];
  placed: Set<number>;
  done: Map<number, DoneReason>;
  trades: number;
  lastTradeId: number;
}

/** Plain checks (not expect) keep 100,000 rounds of whole-state checks fast; any break throws with context. */
function check(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(`invariant broken: ${message()}`);
}

function checkInvariants(core: ExchangeCore, tally: Tally): void {
  // Conservation against this test's own tally of deposits − withdrawals, balances, reservations, books.
  checkCoreInvariants(core, tally.supply);
  // In one thread the spendable view is exactly the ledger's available (threads may only lag below).
  core.ledger.forEachBalance((accountId, assetId, available) => {
    const spendable = core.sequencer.spendableUnits(accountId, assetId);
    check(spendable === available, () => `spendable ${spendable} != available ${available} for ${accountId}/${assetId}`);
  });
  // Each accepted order is in exactly one state: open, or done once.
  let open = 0;
  for (const market of core.marketSet.markets) {
    for (const side of [Side.Buy, Side.Sell]) {
      core.engine.forEachOpenOrder(market.id, side, (order) => {
        open += 1;
        check(!tally.done.has(order.orderId), () => `order ${order.orderId} is open and done`);
      });
    }
  }
  check(open + tally.done.size === tally.placed.size, () => `open ${open} + done ${tally.done.size} != placed ${tally.placed.size}`);
}

function runFlow(seed: number, commands: number): { core: ExchangeCore; tally: Tally; accepted: Command[] } {
  const marketSet = defaultMarketSet();
  const tally: Tally = {
    supply: new Array<number>(marketSet.assets.length).fill(0),
    placed: new Set(),
    done: new Map(),
    trades: 0,
    lastTradeId: 0,
  };
  const core = new ExchangeCore(marketSet, { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 5_000 }, {
    onTrade(event: Readonly<TradeEvent>) {
      check(event.tradeId === tally.lastTradeId + 1, () => `tradeId ${event.tradeId} after ${tally.lastTradeId}`);
      check(event.qtySteps > 0, () => `empty trade ${event.tradeId}`);
      tally.lastTradeId = event.tradeId;
      tally.trades += 1;
    },
    onOrderDone(event: Readonly<OrderDoneEvent>) {
      check(!tally.done.has(event.orderId), () => `order ${event.orderId} done twice`);
      tally.done.set(event.orderId, event.reason);
    },
  });
  const generator = new FlowGenerator(marketSet, {
    seed,
    accounts: ACCOUNTS,
    depositShare: 0.02,
    withdrawShare: 0.02,
    cancelShare: 0.3,
    marketShare: 0.08,
    bookTarget: 150,
    fundingScale: 0.001,
  });
  const command = createCommand();
  const accepted: Command[] = [];
  let expectedSeq = 1;
  const rejects = new Map<RejectCode, number>();
  for (let i = 0; i < commands; i++) {
    generator.next(command);
    const code = core.submit(command, 1_700_000_000_000 + i);
    if (code !== RejectCode.None) {
      rejects.set(code, (rejects.get(code) ?? 0) + 1);
      check(command.seq === 0, () => 'a rejected command got a seq');
    } else {
      check(command.seq === expectedSeq, () => `seq ${command.seq}, expected ${expectedSeq} (gap-free)`);
      expectedSeq += 1;
      generator.accepted(command);
      accepted.push(copyCommand(command, createCommand()));
      if (command.type === CommandType.Deposit) tally.supply[command.assetId]! += command.amountUnits;
      if (command.type === CommandType.Withdraw) tally.supply[command.assetId]! -= command.amountUnits;
      if (command.type === CommandType.Place) tally.placed.add(command.seq);
    }
    checkInvariants(core, tally);
  }
  // The flow must actually exercise the interesting paths.
  expect(tally.trades).toBeGreaterThan(commands / 10);
  expect([...tally.done.values()]).toEqual(expect.arrayContaining([DoneReason.Filled, DoneReason.Expired, DoneReason.Cancelled]));
  expect(rejects.get(RejectCode.InsufficientBalance) ?? 0).toBeGreaterThan(0);
  expect(rejects.get(RejectCode.OrderNotFound) ?? 0).toBeGreaterThan(0);
  core.ledger.checkInvariants();
  return { core, tally, accepted };
}

describe('exchange core under a long seeded random flow', () => {
  it(`keeps every invariant after each of ${COMMANDS} commands`, () => {
    runFlow(20261122, COMMANDS);
  });

  it('is deterministic: replaying the accepted commands rebuilds the same state', async () => {
    const { stateDigest } = await import('../../src/core/state_digest.ts');
    const first = runFlow(7, 20_000);
    const replayed = new ExchangeCore(first.core.marketSet, first.core.limits);
    for (const command of first.accepted) replayed.replay(command);
    expect(stateDigest(replayed)).toEqual(stateDigest(first.core));
    expect(replayed.sequencer.nextSeq).toBe(first.core.sequencer.nextSeq);
  });
});
