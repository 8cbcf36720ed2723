/**
 * Core benchmark: sequencer + matching + settlement in one thread (ExchangeCore.submit), the
 * business logic without threads, rings or I/O, on the realistic mixed flow.
 *
 * - Throughput: the flow is recorded once through a core (bench/recorded_flow.ts), turned into
 *   Command objects, and a fresh core is timed on that exact sequence; generation and set-up are
 *   not timed. Every run must accept exactly what the recording accepted. Median of the runs after
 *   one warm-up run.
 * - Heap: a long run on one core with a bounded book (the flow cancels down to its book target,
 *   see BoundedFlowSource) and a bounded idempotency map, commands generated on the fly into one
 *   reused Command; heap used after a full GC before, halfway and after. Steady state must not
 *   grow per command.
 * - WAL replay through the core: the recorded accepted commands are written as a WAL, then
 *   recovered by the real recovery path (recoverState, as start-up recovery and `npm run replay
 *   --full` run it: a fresh core built, the log read + verified + decoded + applied, with the reader
 *   thread when its policy picks it), timed from the call, each run in a fresh process as the
 *   replay command and a restarted server meet it (this process holds the recorded flow and the
 *   cores of the runs before, which slowed the same recovery by ~10-25% here). The same log is also
 *   recovered with the other reading (inline or thread) for comparison, alternating runs. The log
 *   is in the page cache: this is the CPU side of recovery.
 *
 * Run alone: node --import tsx --expose-gc bench/core_bench.ts [--quick]
 */
import * as path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ExchangeCore } from '../src/core/exchange_core.ts';
import type { Command } from '../src/domain/commands.ts';
import { createCommand } from '../src/domain/commands.ts';
import type { CoreLimits } from '../src/domain/limits.ts';
import { DEFAULT_CORE_LIMITS } from '../src/domain/limits.ts';
import { defaultMarketSet } from '../src/domain/markets.ts';
import { RejectCode } from '../src/domain/reject_codes.ts';
import { recoverState } from '../src/snapshot/recover_state.ts';
import { recoverWal } from '../src/wal/recovery.ts';
import { walConfig } from '../src/wal/wal_config.ts';
import { WalWriter } from '../src/wal/wal_writer.ts';
import { benchTempDir, collectGarbage, formatInteger, freshProcessRequest, inFreshProcess, megabytes, median, progress, removeDir } from './bench_support.ts';
import { BoundedFlowSource, RecordedFlow, clockMsAt } from './recorded_flow.ts';

export interface CoreBenchResult {
  commandsPerSec: number;
  commands: number;
  runs: number;
  acceptedShare: number;
  heapCommands: number;
  heapUsedBeforeMb: number;
  heapUsedMidMb: number;
  heapUsedAfterMb: number;
  heapGrowthBytesPerCommand: number;
  heapRunCommandsPerSec: number;
  heapRunGcEvents: number;
  heapRunOpenOrdersAtEnd: number;
}

/**
 * The heap run bounds what the core is allowed to remember: the book by the flow's own target
 * (MIXED_FLOW.bookTarget), remembered clientOrderIds by this cap (the default, 1,000,000, would
 * take ~8M commands of this flow to fill, so the run would measure the fill, not the steady state).
 */
const HEAP_RUN_LIMITS: CoreLimits = { ...DEFAULT_CORE_LIMITS, clientOrderIdsMax: 20_000 };

export async function benchCore(options: { quick: boolean }): Promise<CoreBenchResult> {
  const commandCount = options.quick ? 300_000 : 2_000_000;
  const runs = options.quick ? 3 : 4;
  progress(`core: recording ${formatInteger(commandCount)} commands of the mixed flow through a core`);
  const flow = RecordedFlow.record(commandCount);
  progress(`core: ${flow.describe()}`);
  const rates = timeRecordedFlow(flow, runs);
  collectGarbage();
  const heap = await steadyHeapRun(options.quick ? 1_000_000 : 10_000_000, options.quick ? 150_000 : 1_000_000);
  return {
    commandsPerSec: median(rates.slice(1)),
    commands: commandCount,
    runs: runs - 1,
    acceptedShare: flow.acceptedCount / flow.length,
    ...heap,
  };
}

/** Times a fresh core on the recorded sequence `runs` times; the first is the warm-up. */
function timeRecordedFlow(flow: RecordedFlow, runs: number): number[] {
  const commands: Command[] = [];
  for (let index = 0; index < flow.length; index += 1) commands.push(flow.read(index, createCommand()));
  const marketSet = defaultMarketSet();
  const rates: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const core = new ExchangeCore(marketSet, DEFAULT_CORE_LIMITS);
    collectGarbage();
    let accepted = 0;
    const started = performance.now();
    for (let index = 0; index < commands.length; index += 1) {
      if (core.submit(commands[index]!, clockMsAt(index)) === RejectCode.None) accepted += 1;
    }
    const elapsedMs = performance.now() - started;
    if (accepted !== flow.acceptedCount) throw new Error(`core: run ${run} accepted ${accepted} commands, the recording ${flow.acceptedCount}`);
    const rate = (commands.length / elapsedMs) * 1000;
    rates.push(rate);
    progress(`core: run ${run + 1}/${runs}${run === 0 ? ' (warm-up)' : ''}: ${formatInteger(rate)} commands/s`);
  }
  return rates;
}

interface HeapRun {
  heapCommands: number;
  heapUsedBeforeMb: number;
  heapUsedMidMb: number;
  heapUsedAfterMb: number;
  /** Heap growth per command over the second half of the run (the first may still fill bounded maps). */
  heapGrowthBytesPerCommand: number;
  heapRunCommandsPerSec: number;
  heapRunGcEvents: number;
  heapRunOpenOrdersAtEnd: number;
}

/**
 * One core, the flow generated on the fly into one reused Command (its only garbage is the odd
 * clientOrderId string), after a warm-up that fills the bounded structures. Heap used is taken
 * after a full GC before, halfway and after; the slope of the second half is the figure.
 */
async function steadyHeapRun(commands: number, warmUpCommands: number): Promise<HeapRun> {
  const source = new BoundedFlowSource(77, HEAP_RUN_LIMITS);
  const core = source.core;
  const command = createCommand();
  let index = 0;
  const runUntil = (end: number): void => {
    while (index < end) {
      source.next(command, clockMsAt(index));
      index += 1;
    }
  };
  progress(`core heap: warm-up ${formatInteger(warmUpCommands)} commands`);
  runUntil(warmUpCommands);
  let gcEvents = 0;
  let counting = false;
  const observer = new PerformanceObserver((list) => {
    if (counting) gcEvents += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  const heapAfterGc = async (): Promise<number> => {
    await new Promise((resolve) => setTimeout(resolve, 20)); // let the observer deliver the run's events
    counting = false;
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const used = process.memoryUsage().heapUsed;
    counting = true;
    return used;
  };
  const before = await heapAfterGc();
  progress(`core heap: ${formatInteger(commands)} commands on one core (heap used ${megabytes(before).toFixed(2)} MB after GC)`);
  const half = warmUpCommands + Math.floor(commands / 2);
  let elapsedMs = 0;
  let started = performance.now();
  runUntil(half);
  elapsedMs += performance.now() - started;
  const mid = await heapAfterGc();
  started = performance.now();
  runUntil(warmUpCommands + commands);
  elapsedMs += performance.now() - started;
  const after = await heapAfterGc();
  observer.disconnect();
  progress(
    `core heap: ${megabytes(before).toFixed(2)} → ${megabytes(mid).toFixed(2)} → ${megabytes(after).toFixed(2)} MB, ` +
      `${gcEvents} GC events during the run, ${formatInteger(core.engine.openOrderCount)} open orders at the end ` +
      `(${formatInteger(source.ordersHandedBack)} orders of refused foreign cancels handed back to the flow)`,
  );
  return {
    heapCommands: commands,
    heapUsedBeforeMb: megabytes(before),
    heapUsedMidMb: megabytes(mid),
    heapUsedAfterMb: megabytes(after),
    heapGrowthBytesPerCommand: (after - mid) / (warmUpCommands + commands - half),
    heapRunCommandsPerSec: (commands / elapsedMs) * 1000,
    heapRunGcEvents: gcEvents,
    heapRunOpenOrdersAtEnd: core.engine.openOrderCount,
  };
}

export interface WalReplayThroughCoreResult {
  /** recoverState as the server and `replay --full` run it (its own choice of reader thread). */
  recordsPerSec: number;
  /** CPU time of the process (all threads) per run, median, ms. */
  cpuMs: number;
  /** Whether that path used the reader thread for this log. */
  readThread: boolean;
  /** The same log recovered with the other reading (inline when the path used the thread, else the thread). */
  otherRecordsPerSec: number;
  otherCpuMs: number;
  records: number;
  walBytes: number;
  runs: number;
}

/** Writes the recorded accepted commands as a WAL, then times its recovery (build + read + verify + decode + apply). */
export async function benchWalReplayThroughCore(options: { quick: boolean }): Promise<WalReplayThroughCoreResult> {
  const commandCount = options.quick ? 300_000 : 1_000_000;
  const runs = options.quick ? 2 : 3;
  progress(`wal replay through the core: recording ${formatInteger(commandCount)} commands of the mixed flow`);
  const flow = RecordedFlow.record(commandCount);
  const dir = benchTempDir('wal-core-replay-');
  try {
    const walBytes = writeAcceptedAsWal(dir, flow);
    progress(`wal replay through the core: ${formatInteger(flow.acceptedCount)} records, ${megabytes(walBytes).toFixed(1)} MB of log`);
    const real = { rates: [] as number[], cpuMs: [] as number[], thread: false };
    const other = { rates: [] as number[], cpuMs: [] as number[] };
    for (let run = 0; run < runs; run += 1) {
      // Alternating, so that both readings see the same load on a shared machine. Every run is cold
      // (a fresh process), so none is a warm-up.
      const measured = coldWalRecovery({ dir, records: flow.acceptedCount, walReadThread: 'auto' });
      real.thread = measured.thread;
      const compared = coldWalRecovery({ dir, records: flow.acceptedCount, walReadThread: measured.thread ? 'off' : 'on' });
      real.rates.push(measured.rate);
      real.cpuMs.push(measured.cpuMs);
      other.rates.push(compared.rate);
      other.cpuMs.push(compared.cpuMs);
      progress(
        `wal replay through the core: run ${run + 1}/${runs} (fresh process): ${formatInteger(measured.rate)} records/s ` +
          `(cpu ${measured.cpuMs.toFixed(0)} ms, ${measured.thread ? 'reader thread' : 'inline'}); ` +
          `${measured.thread ? 'inline' : 'reader thread'}: ${formatInteger(compared.rate)} records/s (cpu ${compared.cpuMs.toFixed(0)} ms)`,
      );
    }
    return {
      recordsPerSec: median(real.rates),
      cpuMs: median(real.cpuMs),
      readThread: real.thread,
      otherRecordsPerSec: median(other.rates),
      otherCpuMs: median(other.cpuMs),
      records: flow.acceptedCount,
      walBytes,
      runs,
    };
  } finally {
    removeDir(dir);
  }
}

const REPLAY_CHILD_FLAG = '--replay-child';

interface ReplayRequest {
  dir: string;
  records: number;
  walReadThread: 'auto' | 'on' | 'off';
}

/** `timedWalRecovery` in a fresh process (bench_support.ts `inFreshProcess`). */
function coldWalRecovery(request: ReplayRequest): TimedRecovery {
  return inFreshProcess<TimedRecovery>('core_bench', REPLAY_CHILD_FLAG, request);
}

interface TimedRecovery {
  rate: number;
  cpuMs: number;
  thread: boolean;
}

/** One recovery of the whole log (`replay --full`'s path: read-only, no snapshot), timed from the call. */
function timedWalRecovery(dir: string, records: number, walReadThread: 'auto' | 'on' | 'off'): TimedRecovery {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const recovered = recoverState(dir, { marketSet: defaultMarketSet(), limits: DEFAULT_CORE_LIMITS, mode: 'read', useSnapshots: false, walReadThread });
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  if (recovered.walRecords !== records || recovered.core.lastSeq !== records) {
    throw new Error(`wal replay through the core: replayed ${recovered.walRecords} records, expected ${records}`);
  }
  return { rate: (records / elapsedMs) * 1000, cpuMs: (cpu.user + cpu.system) / 1000, thread: recovered.walReadThread };
}

/** The WAL the live server would have written for this flow: the accepted commands, in seq order. */
function writeAcceptedAsWal(dir: string, flow: RecordedFlow): number {
  const writer = new WalWriter(walConfig(dir, { durability: 'none', batchRecordsMax: 4096 }), recoverWal(dir));
  const command = createCommand();
  let seq = 0;
  for (let index = 0; index < flow.length; index += 1) {
    if (flow.code[index] !== RejectCode.None) continue;
    seq += 1;
    writer.append(flow.readSequenced(index, seq, command));
    if (writer.full) writer.flush();
  }
  writer.flush();
  writer.close();
  return recoverWal(dir).segments.reduce((sum, segment) => sum + segment.bytes, 0);
}

const replayRequest = freshProcessRequest<ReplayRequest>(REPLAY_CHILD_FLAG);
if (replayRequest !== undefined) {
  process.stdout.write(`${JSON.stringify(timedWalRecovery(replayRequest.dir, replayRequest.records, replayRequest.walReadThread))}\n`);
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const quick = process.argv.includes('--quick');
  const core = await benchCore({ quick });
  console.log(JSON.stringify(core, null, 2));
  const replay = await benchWalReplayThroughCore({ quick });
  console.log(JSON.stringify(replay, null, 2));
}
