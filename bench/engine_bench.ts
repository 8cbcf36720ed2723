/**
 * Matching engine micro-benchmark, side by side with the npm package nodejs-order-book (the peer).
 *
 * - Mixed flow: the same pre-generated seeded commands (two-sided limit orders around a drifting mid,
 *   a share of them crossing, IOC orders, cancels, market orders; integer ticks and steps) are fed
 *   to a fresh engine and to a fresh peer book per iteration. Generation and set-up are not timed.
 * - Deep cancel: one price level 50,000 orders deep, cancelled in random order. The peer scans the
 *   level on every cancel, so it only gets a sample of a few hundred cancels on the same deep level.
 * - Steady run (standalone only): a long run on one engine with commands generated into one reused
 *   Command, reporting heap before/after and the number of GCs during the run.
 *
 * Called by the bench runner as `benchEngine({ quick })`; standalone:
 * `node --import tsx --expose-gc bench/engine_bench.ts [--quick]`.
 */
import { availableParallelism, loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { OrderBook, Side as PeerSide } from 'nodejs-order-book';
import { Bench } from 'tinybench';
import type { Command } from '../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce, createCommand } from '../src/domain/commands.ts';
import type { CancelRejectEvent, LevelEvent, MatchSink, OrderDoneEvent, TradeEvent } from '../src/domain/events.ts';
import { defaultMarketSet } from '../src/domain/markets.ts';
import { MatchingEngine } from '../src/matching/matching_engine.ts';

export interface EngineBenchResult {
  opsPerSec: number;
  peerOpsPerSec: number;
  ratioVsPeer: number;
  deepCancelsPerSec: number;
  peerDeepCancelsPerSec: number;
}

const MARKET_ID = 1; // ETH-USDT: notional = ticks × steps, so the peer's market buy by size is comparable
const MID_TICKS = 300_000; // 3000.00 USDT
const DEEP_LEVEL_ORDERS = 50_000;
const TIF_NAMES = { [TimeInForce.GTC]: 'GTC', [TimeInForce.IOC]: 'IOC', [TimeInForce.FOK]: 'FOK' } as const;

/**
 * mulberry32, with its state in a typed array and results cut to 30 bits: a uint32 above 2^30 in a
 * closure variable, and a float returned from a call that is not inlined, are boxed on the heap,
 * and the steady run must not allocate.
 */
class Mulberry32 {
  private readonly state = new Uint32Array(1);

  constructor(seed: number) {
    this.state[0] = seed >>> 0;
  }

  /** Uniform in [0, 2^30). */
  next30(): number {
    const state = (this.state[0]! + 0x6d2b79f5) | 0;
    this.state[0] = state;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 2;
  }

  /** Uniform integer in [min, max] (max − min well below 2^30). */
  int(min: number, max: number): number {
    return min + (this.next30() % (max - min + 1));
  }

  /** True with probability `percent` / 100. */
  percent(percent: number): boolean {
    return this.next30() % 100 < percent;
  }
}

/** A sink that does the least a real one must: look at each event. */
class CountingSink implements MatchSink {
  trades = 0;
  tradedSteps = 0;
  done = 0;
  levels = 0;
  rejects = 0;
  onTrade(event: Readonly<TradeEvent>): void {
    this.trades += 1;
    this.tradedSteps += event.qtySteps;
  }
  onOrderDone(_event: Readonly<OrderDoneEvent>): void {
    this.done += 1;
  }
  onLevel(_event: Readonly<LevelEvent>): void {
    this.levels += 1;
  }
  onCancelReject(_event: Readonly<CancelRejectEvent>): void {
    this.rejects += 1;
  }
}

type PeerOp =
  | { kind: 'limit'; options: Parameters<OrderBook['limit']>[0] }
  | { kind: 'market'; options: Parameters<OrderBook['market']>[0] }
  | { kind: 'cancel'; orderId: string };

interface Flow {
  commands: Command[];
  peerOps: PeerOp[];
}

/** Writes the next command of the mixed flow into `command`; shared by the pre-generated flow and the steady run. */
class FlowGenerator {
  private readonly prng: Mulberry32;
  /** Resting candidates for cancels: orderId and its owner. */
  private readonly recent: Float64Array;
  private readonly recentAccount: Float64Array;
  private recentCount = 0;
  private midTicks = MID_TICKS;
  seq = 0;

  /**
   * `bookTarget`: the number of cancellable orders the flow hovers around (above it, it cancels
   * more). Every resting order stays cancellable, so the book never outgrows 2 × bookTarget.
   */
  constructor(seed: number, private readonly bookTarget = 5_000) {
    this.prng = new Mulberry32(seed);
    this.recent = new Float64Array(bookTarget * 2);
    this.recentAccount = new Float64Array(bookTarget * 2);
  }

  next(command: Command): void {
    this.seq += 1;
    const roll = this.prng.int(0, 99);
    command.seq = this.seq;
    command.timestampMs = 1_700_000_000_000 + this.seq;
    command.accountId = this.prng.int(1, 1000);
    command.marketId = MARKET_ID;
    command.postOnly = false;
    command.priceTicks = 0;
    command.qtySteps = 0;
    command.quoteQtyUnits = 0;
    command.orderId = 0;
    const cancelPercent = this.recentCount === this.recent.length ? 100 : this.recentCount > this.bookTarget ? 40 : 20;
    if (roll < cancelPercent && this.recentCount > 0) {
      // Cancel a recent order (some are already filled: those are rejected, as in real traffic).
      command.type = CommandType.Cancel;
      const index = this.prng.int(0, this.recentCount - 1);
      command.orderId = this.recent[index]!;
      command.accountId = this.recentAccount[index]!;
      this.recent[index] = this.recent[this.recentCount - 1]!;
      this.recentAccount[index] = this.recentAccount[this.recentCount - 1]!;
      this.recentCount -= 1;
      return;
    }
    command.type = CommandType.Place;
    command.side = this.prng.percent(50) ? Side.Buy : Side.Sell;
    if (this.prng.percent(6)) {
      command.orderType = OrderType.Market;
      command.timeInForce = TimeInForce.IOC;
      if (command.side === Side.Sell) command.qtySteps = this.prng.int(1, 200);
      else command.quoteQtyUnits = this.prng.int(1, 200) * this.midTicks;
      return;
    }
    // The mid drifts slowly. Most orders are passive, up to 60 ticks behind the mid; a quarter are
    // aggressive, up to 15 ticks through it, and cross whatever rests there.
    if (this.prng.percent(5)) this.midTicks += this.prng.percent(50) ? -1 : 1;
    const offset = this.prng.percent(25) ? -this.prng.int(0, 15) : this.prng.int(1, 60);
    command.orderType = OrderType.Limit;
    command.timeInForce = this.prng.percent(10) ? TimeInForce.IOC : TimeInForce.GTC;
    command.priceTicks = command.side === Side.Buy ? this.midTicks - offset : this.midTicks + offset;
    command.qtySteps = this.prng.int(1, 100);
    if (command.timeInForce === TimeInForce.GTC) {
      this.recent[this.recentCount] = this.seq;
      this.recentAccount[this.recentCount] = command.accountId;
      this.recentCount += 1;
    }
  }
}

function peerOpFor(command: Command): PeerOp {
  if (command.type === CommandType.Cancel) return { kind: 'cancel', orderId: String(command.orderId) };
  const side = command.side === Side.Buy ? PeerSide.BUY : PeerSide.SELL;
  if (command.orderType === OrderType.Market) {
    // The peer's market orders are by size: give a buy the size its budget buys at the mid.
    const size = command.side === Side.Sell ? command.qtySteps : Math.max(1, Math.floor(command.quoteQtyUnits / MID_TICKS));
    return { kind: 'market', options: { side, size } };
  }
  return {
    kind: 'limit',
    options: {
      id: String(command.seq),
      side,
      size: command.qtySteps,
      price: command.priceTicks,
      timeInForce: TIF_NAMES[command.timeInForce] as never,
    },
  };
}

export function generateFlow(seed: number, count: number): Flow {
  const generator = new FlowGenerator(seed);
  const commands: Command[] = [];
  const peerOps: PeerOp[] = [];
  for (let index = 0; index < count; index += 1) {
    const command = createCommand();
    generator.next(command);
    commands.push(command);
    peerOps.push(peerOpFor(command));
  }
  return { commands, peerOps };
}

function applyPeerOp(peer: OrderBook, op: PeerOp): void {
  if (op.kind === 'limit') peer.limit(op.options);
  else if (op.kind === 'market') peer.market(op.options);
  else peer.cancel(op.orderId);
}

function newEngine(ordersOpenMax: number, sink: MatchSink): MatchingEngine {
  return new MatchingEngine(defaultMarketSet(), { ordersOpenMax, accountsMax: 1000, fillsPerCommandMax: 10_000, clientOrderIdsMax: 1000 }, sink);
}

interface TaskOptions {
  /** Minimum timed iterations, and minimum timed milliseconds; both must be reached. */
  iterations: number;
  timeMs: number;
  warmupIterations: number;
}

/**
 * Runs one task in its own tinybench Bench and returns the median time of one iteration in ms.
 * The machine is shared (2 cores, other jobs), so an iteration that was preempted would drag a
 * mean; the median of the samples is the robust figure, and both sides get the same treatment.
 * `beforeEach` (fresh state) runs before every iteration and is not timed.
 */
async function medianIterationMs(name: string, fn: () => void, beforeEach: () => void, options: TaskOptions): Promise<number> {
  const bench = new Bench({
    iterations: options.iterations,
    time: options.timeMs,
    warmupIterations: options.warmupIterations,
    warmupTime: 0,
    warmup: options.warmupIterations > 0,
  });
  bench.add(name, fn, { beforeEach });
  await bench.run();
  const result = bench.getTask(name)?.result;
  if (result === undefined || (result.state !== 'completed' && result.state !== 'aborted-with-statistics')) {
    const error = result !== undefined && result.state === 'errored' ? result.error : undefined;
    throw new Error(`benchmark task ${name} did not complete${error === undefined ? '' : `: ${error.message}`}`);
  }
  return result.latency.p50;
}

async function benchMixedFlow(quick: boolean): Promise<{ opsPerSec: number; peerOpsPerSec: number }> {
  const count = quick ? 20_000 : 100_000;
  const flow = generateFlow(7, count);
  let engine = newEngine(count, new CountingSink());
  let peer = new OrderBook();
  const engineMs = await medianIterationMs(
    'engine mixed flow',
    () => {
      const commands = flow.commands;
      for (let index = 0; index < commands.length; index += 1) engine.apply(commands[index]!);
    },
    () => void (engine = newEngine(count, new CountingSink())),
    { iterations: quick ? 5 : 15, timeMs: quick ? 200 : 1_000, warmupIterations: quick ? 2 : 3 },
  );
  const peerMs = await medianIterationMs(
    'peer mixed flow',
    () => {
      const ops = flow.peerOps;
      for (let index = 0; index < ops.length; index += 1) applyPeerOp(peer, ops[index]!);
    },
    () => void (peer = new OrderBook()),
    { iterations: quick ? 3 : 5, timeMs: 0, warmupIterations: 1 },
  );
  return { opsPerSec: count / (engineMs / 1000), peerOpsPerSec: count / (peerMs / 1000) };
}

/** Cancel ids 1..n in a seeded random order. */
function shuffledIds(count: number, seed: number): number[] {
  const prng = new Mulberry32(seed);
  const ids = Array.from({ length: count }, (_, index) => index + 1);
  for (let index = count - 1; index > 0; index -= 1) {
    const other = prng.int(0, index);
    const swap = ids[index]!;
    ids[index] = ids[other]!;
    ids[other] = swap;
  }
  return ids;
}

async function benchDeepCancel(quick: boolean): Promise<{ deepCancelsPerSec: number; peerDeepCancelsPerSec: number }> {
  const ids = shuffledIds(DEEP_LEVEL_ORDERS, 99);
  const cancels = ids.map((orderId, index) => {
    const command = createCommand();
    command.type = CommandType.Cancel;
    command.seq = DEEP_LEVEL_ORDERS + 1 + index;
    command.accountId = 1;
    command.orderId = orderId;
    return command;
  });
  const places = ids.map((_, index) => {
    const command = createCommand();
    command.type = CommandType.Place;
    command.seq = index + 1;
    command.accountId = 1;
    command.marketId = MARKET_ID;
    command.side = Side.Sell;
    command.orderType = OrderType.Limit;
    command.priceTicks = MID_TICKS;
    command.qtySteps = 1 + (index % 7);
    return command;
  });
  // The peer needs milliseconds per cancel at this depth: a sample keeps the run short.
  const peerSample = ids.slice(0, quick ? 50 : 200).map(String);
  let engine = newEngine(DEEP_LEVEL_ORDERS, new CountingSink());
  let peer = new OrderBook();
  const engineMs = await medianIterationMs(
    'engine deep cancel',
    () => {
      for (let index = 0; index < cancels.length; index += 1) engine.apply(cancels[index]!);
    },
    () => {
      engine = newEngine(DEEP_LEVEL_ORDERS, new CountingSink());
      for (const command of places) engine.apply(command);
    },
    { iterations: quick ? 5 : 15, timeMs: 0, warmupIterations: 2 },
  );
  const peerMs = await medianIterationMs(
    'peer deep cancel',
    () => {
      for (let index = 0; index < peerSample.length; index += 1) peer.cancel(peerSample[index]!);
    },
    () => {
      peer = new OrderBook();
      for (const command of places) peer.limit({ id: String(command.seq), side: PeerSide.SELL, size: command.qtySteps, price: command.priceTicks });
    },
    { iterations: quick ? 2 : 3, timeMs: 0, warmupIterations: 0 },
  );
  return {
    deepCancelsPerSec: cancels.length / (engineMs / 1000),
    peerDeepCancelsPerSec: peerSample.length / (peerMs / 1000),
  };
}

export async function benchEngine(options: { quick: boolean }): Promise<EngineBenchResult> {
  const mixed = await benchMixedFlow(options.quick);
  const deep = await benchDeepCancel(options.quick);
  return {
    opsPerSec: mixed.opsPerSec,
    peerOpsPerSec: mixed.peerOpsPerSec,
    ratioVsPeer: mixed.opsPerSec / mixed.peerOpsPerSec,
    deepCancelsPerSec: deep.deepCancelsPerSec,
    peerDeepCancelsPerSec: deep.peerDeepCancelsPerSec,
  };
}

export interface SteadyRunResult {
  commands: number;
  seconds: number;
  opsPerSec: number;
  openOrdersAtEnd: number;
  heapUsedBeforeBytes: number;
  heapUsedAfterBytes: number;
  gcEventsDuringRun: number;
}

function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) {
    exposed();
    return;
  }
  // Without --expose-gc: switch the flag on at runtime and fetch gc from a fresh context.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * A long run on one engine, commands generated on the fly into one reused Command (the generator
 * allocates nothing either), after a warm-up. Heap is measured after a full GC before and after;
 * GC events during the run show whether the steady state allocates.
 */
export async function benchSteadyHeap(commands: number): Promise<SteadyRunResult> {
  const generator = new FlowGenerator(1234);
  const engine = newEngine(20_000, new CountingSink());
  const command = createCommand();
  for (let index = 0; index < 200_000; index += 1) {
    generator.next(command);
    engine.apply(command);
  }
  collectGarbage();
  const heapUsedBeforeBytes = process.memoryUsage().heapUsed;
  let gcEventsDuringRun = 0;
  const observer = new PerformanceObserver((list) => {
    gcEventsDuringRun += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  const started = performance.now();
  for (let index = 0; index < commands; index += 1) {
    generator.next(command);
    engine.apply(command);
  }
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the observer deliver
  observer.disconnect();
  collectGarbage();
  const heapUsedAfterBytes = process.memoryUsage().heapUsed;
  return {
    commands,
    seconds,
    opsPerSec: commands / seconds,
    openOrdersAtEnd: engine.openOrderCount,
    heapUsedBeforeBytes,
    heapUsedAfterBytes,
    gcEventsDuringRun,
  };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  // The figures depend on what else the (shared) machine is doing: say so next to them.
  console.log(`node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  const format = (value: number): string => Math.round(value).toLocaleString('en-US');
  const result = await benchEngine({ quick });
  console.log(`mixed flow      engine ${format(result.opsPerSec)} ops/s   peer ${format(result.peerOpsPerSec)} ops/s   ratio ${result.ratioVsPeer.toFixed(1)}x`);
  console.log(`deep cancel     engine ${format(result.deepCancelsPerSec)} cancels/s   peer ${format(result.peerDeepCancelsPerSec)} cancels/s (level ${DEEP_LEVEL_ORDERS} deep)`);
  const steady = await benchSteadyHeap(quick ? 500_000 : 5_000_000);
  const megabytes = (bytes: number): string => (bytes / 1_048_576).toFixed(2);
  console.log(
    `steady run      ${format(steady.commands)} commands in ${steady.seconds.toFixed(2)} s (${format(steady.opsPerSec)} ops/s), ` +
      `${format(steady.openOrdersAtEnd)} open orders, heap ${megabytes(steady.heapUsedBeforeBytes)} MB -> ${megabytes(steady.heapUsedAfterBytes)} MB, ` +
      `${steady.gcEventsDuringRun} GC events during the run`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
