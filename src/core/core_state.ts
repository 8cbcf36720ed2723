/**
 * The exported state of the three state machines: what the pipeline's workers start from after
 * recovery, and what a snapshot holds. Plain JSON-able data; every import checks what it restores.
 */
import { Side } from '../domain/commands.ts';
import type { MatchSink } from '../domain/events.ts';
import type { CoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import type { RestingOrder } from '../matching/matching_engine.ts';
import { MatchingEngine } from '../matching/matching_engine.ts';
import type { SequencerState } from '../sequencer/sequencer.ts';
import type { LedgerState } from '../settlement/ledger.ts';
import type { ExchangeCore } from './exchange_core.ts';

export interface EngineState {
  tradeIdLast: number;
  /** By market, bids then asks, each in priority order: restoring in this order keeps priority. */
  orders: RestingOrder[];
}

export interface CoreState {
  lastSeq: number;
  sequencer: SequencerState;
  ledger: LedgerState;
  engine: EngineState;
}

export function exportEngineState(engine: MatchingEngine, marketSet: MarketSet): EngineState {
  const orders: RestingOrder[] = [];
  for (const market of marketSet.markets) {
    for (const side of [Side.Buy, Side.Sell]) engine.forEachOpenOrder(market.id, side, (order) => orders.push({ ...order }));
  }
  return { tradeIdLast: engine.tradeIdLast, orders };
}

export function engineFromState(marketSet: MarketSet, limits: CoreLimits, sink: MatchSink, state: EngineState): MatchingEngine {
  const engine = new MatchingEngine(marketSet, limits, sink);
  for (const order of state.orders) engine.restoreOrder(order);
  engine.restoreTradeIdLast(state.tradeIdLast);
  return engine;
}

/**
 * `clientOrderIdColumns`: the sequencer's clientOrderIds as columns (snapshots), not rows;
 * `clientOrderIdImage`: as an image of its table (the pipeline's workers, same process).
 */
export function exportCoreState(core: ExchangeCore, options: { clientOrderIdColumns?: boolean; clientOrderIdImage?: boolean } = {}): CoreState {
  return {
    lastSeq: core.lastSeq,
    sequencer: core.sequencer.exportState(options),
    ledger: core.ledger.exportState(),
    engine: exportEngineState(core.engine, core.marketSet),
  };
}
