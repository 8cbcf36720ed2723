/**
 * Differential test against an independent implementation, the npm package nodejs-order-book:
 * the same seeded flow of limit orders (GTC, IOC, FOK, post-only), market sells and cancels must
 * produce the same fills (maker id, price, qty) command by command, the same cancel outcomes and
 * the same depth. The peer computes with JS floats, so it is fed integer ticks and steps only.
 */
import { OrderBook, Side as PeerSide } from 'nodejs-order-book';
import type { IProcessOrder } from 'nodejs-order-book/dist/types/types.js';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../../src/domain/commands.ts';
import { DoneReason } from '../../src/domain/events.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { MatchingEngine } from '../../src/matching/matching_engine.ts';
import { cancel, limit, marketSell } from './support/commands.ts';
import { Prng } from './support/prng.ts';
import { RecordingSink } from './support/recording_sink.ts';

type Fill = [makerOrderId: number, priceTicks: number, qtySteps: number];

const ETH = 1;
const TIF_NAMES = { [TimeInForce.GTC]: 'GTC', [TimeInForce.IOC]: 'IOC', [TimeInForce.FOK]: 'FOK' } as const;

/** The peer reports fully filled makers in `done` (plus the taker itself when it fills) and the one partially filled maker in `partial`. */
function peerFills(result: IProcessOrder, takerId: string): Fill[] {
  const fills: Fill[] = [];
  for (const order of result.done) if (order.id !== takerId) fills.push([Number(order.id), 'price' in order ? order.price : NaN, order.size]);
  const partial = result.partial;
  if (partial !== null && partial.id !== takerId) fills.push([Number(partial.id), partial.price, result.partialQuantityProcessed]);
  return fills;
}

function applyToPeer(peer: OrderBook, command: Command): { fills: Fill[]; cancelledSteps: number | null } {
  const side = command.side === Side.Buy ? PeerSide.BUY : PeerSide.SELL;
  if (command.type === CommandType.Cancel) {
    const cancelled = peer.cancel(String(command.orderId));
    return { fills: [], cancelledSteps: cancelled?.order === undefined ? null : cancelled.order.size };
  }
  if (command.orderType === OrderType.Market) {
    return { fills: peerFills(peer.market({ side, size: command.qtySteps }), ''), cancelledSteps: null };
  }
  const id = String(command.seq);
  const result = peer.limit({
    id,
    side,
    size: command.qtySteps,
    price: command.priceTicks,
    postOnly: command.postOnly,
    // The peer's TimeInForce enum is not exported from its entry point; its values are these strings.
    timeInForce: TIF_NAMES[command.timeInForce] as never,
  });
  return { fills: peerFills(result, id), cancelledSteps: null };
}

function applyToEngine(engine: MatchingEngine, sink: RecordingSink, command: Command): { fills: Fill[]; cancelledSteps: number | null } {
  engine.apply(command);
  const fills: Fill[] = [];
  let cancelledSteps: number | null = null;
  for (const event of sink.take()) {
    if (event.kind === 'trade') fills.push([event.makerOrderId, event.priceTicks, event.qtySteps]);
    if (event.kind === 'done' && event.reason === DoneReason.Cancelled) cancelledSteps = event.remainingSteps;
  }
  return { fills, cancelledSteps };
}

function depthOf(engine: MatchingEngine): [Array<[number, number]>, Array<[number, number]>] {
  const asks: Array<[number, number]> = [];
  const bids: Array<[number, number]> = [];
  engine.forEachLevel(ETH, Side.Sell, 1_000_000, (price, qty) => asks.push([price, qty]));
  engine.forEachLevel(ETH, Side.Buy, 1_000_000, (price, qty) => bids.push([price, qty]));
  return [asks, bids];
}

function randomCommand(prng: Prng, seq: number, open: number[]): Command {
  const roll = prng.next();
  if (roll < (open.length > 200 ? 0.45 : 0.2) && open.length > 0) {
    // Cancel an order we placed (it may have been filled since: both sides must agree it is gone).
    const index = prng.int(0, open.length - 1);
    const orderId = open[index] ?? 0;
    open.splice(index, 1);
    return cancel(seq, orderId, 1);
  }
  if (roll < 0.25) return marketSell(seq, prng.int(1, 40), { marketId: ETH });
  const side = prng.chance(0.5) ? Side.Buy : Side.Sell;
  const priceTicks = 1_000 + (side === Side.Buy ? 2 : -2) + prng.int(-15, 15);
  const tifRoll = prng.next();
  const timeInForce = tifRoll < 0.7 ? TimeInForce.GTC : tifRoll < 0.85 ? TimeInForce.IOC : TimeInForce.FOK;
  const postOnly = prng.chance(0.1);
  if (timeInForce === TimeInForce.GTC) open.push(seq);
  return limit({ seq, marketId: ETH, side, priceTicks, qtySteps: prng.int(1, 30), timeInForce, postOnly });
}

describe('MatchingEngine vs nodejs-order-book (differential)', () => {
  it('makes the same fills, cancels and depth over a seeded flow', () => {
    let fillsCompared = 0;
    for (const seed of [101, 202]) {
      const prng = new Prng(seed);
      const sink = new RecordingSink();
      const engine = new MatchingEngine(defaultMarketSet(), { ordersOpenMax: 10_000, accountsMax: 4, fillsPerCommandMax: 1_000_000, clientOrderIdsMax: 4 }, sink);
      const peer = new OrderBook();
      const open: number[] = [];
      for (let seq = 1; seq <= 8_000; seq += 1) {
        const command = randomCommand(prng, seq, open);
        const ours = applyToEngine(engine, sink, command);
        const theirs = applyToPeer(peer, command);
        if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
          expect({ seed, seq, command, ...ours }).toEqual({ seed, seq, command, ...theirs });
        }
        fillsCompared += ours.fills.length;
        if (seq % 100 === 0) expect(depthOf(engine)).toEqual(peer.depth());
      }
      expect(depthOf(engine)).toEqual(peer.depth());
    }
    expect(fillsCompared).toBeGreaterThan(5_000);
  }, 60_000);
});
