/**
 * Pipeline benchmark: the real ThreadedPipeline, composed and configured exactly as `npm start`
 * does it (parseConfig with no flags, then src/cli/start_server.ts: default thread layout, ring
 * capacity, WAL batching, fsync on, the gateway's ReadModels as its sink, and whatever else the
 * server runs beside it), on a temp data dir on the repository's disk (not tmpfs). The main thread
 * drives it the way the gateway does, minus HTTP: pipeline.submitWith() per command (the result by
 * callback, as POST /orders gets it), many commands in flight. (The server's HTTP socket listens on a free port and idles.)
 *
 * The flow is the recorded mixed flow (bench/recorded_flow.ts), so generation is not timed. The
 * opening deposits are submitted first and allowed to settle (the sequencer's spendable view is
 * credited only when settlement reports a deposit back). A cancel is sent only once the result of
 * the place it names has come back, as a real client must, and it names the seq the pipeline
 * gave that place (which may differ from the recording's).
 *
 * - Closed loop: a window of W commands in flight; a finished command is replaced at once
 *   ('overloaded' is retried). Throughput = commands / time of the segment; latency = submit to
 *   result, per command, for the same commands. A few windows are measured (latency grows with
 *   the window by Little's law); the headline is the best throughput, with its own latency.
 * - Open loop: a fixed rate (100,000 commands/s by default), commands sent on a 1 ms timer, to
 *   show latency at a moderate load.
 * - The same closed-loop windows with the layout 'sequencer,wal,matching+settlement' (the previous default).
 *
 * Run alone: node --import tsx --expose-gc bench/pipeline_bench.ts [--quick] [--default-only]
 * (--default-only: only npm start's layout, for quicker A/B comparisons; 'alternative' repeats it)
 * With PIPELINE_BENCH_PROFILE_DIR=DIR set, the main thread is CPU-profiled during each measured
 * segment only (not the recording, start-up or warm-up), one .cpuprofile per segment in DIR.
 */
import * as fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseConfig } from '../src/cli/config.ts';
import { startServer } from '../src/cli/start_server.ts';
import type { Command } from '../src/domain/commands.ts';
import { CommandType, createCommand } from '../src/domain/commands.ts';
import { defaultMarketSet } from '../src/domain/markets.ts';
import { REJECT_INFO, RejectCode } from '../src/domain/reject_codes.ts';
import { SubmitStatus } from '../src/pipeline/pipeline_handle.ts';
import type { SubmitCallback } from '../src/pipeline/pipeline_handle.ts';
import type { ThreadedPipeline } from '../src/pipeline/threaded_pipeline.ts';
import { DEFAULT_THREAD_LAYOUT } from '../src/pipeline/thread_layout.ts';
import type { LatencySummary } from './bench_support.ts';
import {
  benchTempDir,
  collectGarbage,
  formatInteger,
  megabytes,
  ownPeakRssMb,
  progress,
  removeDir,
  summarizeLatencies,
} from './bench_support.ts';
import { BENCH_FLOW, RecordedFlow } from './recorded_flow.ts';

const COMMAND_TYPE_NAMES: Record<number, string> = {
  [CommandType.Deposit]: 'deposit',
  [CommandType.Withdraw]: 'withdraw',
  [CommandType.Place]: 'place',
  [CommandType.Cancel]: 'cancel',
};

export const ALTERNATIVE_LAYOUT = 'sequencer,wal,matching+settlement';
export const FIXED_RATE_PER_SEC = 100_000;

export interface SegmentResult extends LatencySummary {
  mode: 'window' | 'rate';
  /** Commands in flight (closed loop), or the target rate (open loop). */
  window: number;
  ratePerSec: number;
  commandsPerSec: number;
  /** CPU of the whole process (all threads) per second of the segment: 2.0 = two cores busy. */
  cpuCores: number;
  /** Share of the segment the main thread's event loop was busy. */
  mainThreadUtilization: number;
  /**
   * CPU time of the main thread (gateway side of the pipeline, plus this driver) per command, in µs:
   * what limits the rate when the main thread is the bottleneck, and less disturbed by other load
   * on the machine than the rate itself (NaN where /proc is not available).
   */
  mainThreadCpuUsPerCommand: number;
  /**
   * CPU µs per command by thread: 'main', each stage worker by its stages, and 'other' (the
   * snapshot worker, V8's GC helpers and libuv's pool): where the process's CPU goes (Linux only).
   */
  cpuUsPerCommandByThread: Record<string, number>;
  overloadedRetries: number;
}

export interface LayoutResult {
  label: string;
  layout: string;
  segments: SegmentResult[];
  /** The segment with the best throughput. */
  best: SegmentResult;
  recordsPerFsync: number;
  fsyncMeanMs: number;
  /**
   * Commands whose acceptance differed from the single-thread recording: live, the sequencer may
   * accept a cancel of an order whose close is still on its way back (matching then rejects it).
   */
  acceptanceDiffers: number;
  acceptanceDifferences: Record<string, number>;
  skippedCancels: number;
}

export interface PipelineBenchResult {
  layout: string;
  commandsPerSec: number;
  window: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Best closed-loop throughput among the segments whose p99 met the 5 ms target (0: none did). */
  commandsPerSecWithinP99Target: number;
  fixedRate: SegmentResult;
  default: LayoutResult;
  alternative: LayoutResult;
  /** Full runs only: the default layout with the background snapshot worker switched off. */
  withoutSnapshots?: LayoutResult;
  /** Of the benchmark process after the runs; it also holds the recorded flow (recordedFlowMb). */
  memory: { peakRssMb: number; heapUsedMb: number; heapTotalMb: number; externalMb: number; recordedFlowMb: number };
}

export const P99_TARGET_MS = 5;

interface Plan {
  warmUpCommands: number;
  warmUpMaxMs: number;
  /** Commands per closed-loop segment, and the most time one may take (then it stops sending). */
  segmentCommands: number;
  segmentMaxMs: number;
  windows: number[];
  fixedRateSeconds: number;
}

function planFor(quick: boolean): Plan {
  return quick
    ? { warmUpCommands: 100_000, warmUpMaxMs: 3_000, segmentCommands: 300_000, segmentMaxMs: 3_000, windows: [256, 8192], fixedRateSeconds: 2 }
    : { warmUpCommands: 300_000, warmUpMaxMs: 10_000, segmentCommands: 800_000, segmentMaxMs: 10_000, windows: [256, 1024, 4096, 16_384], fixedRateSeconds: 10 };
}

export async function benchPipeline(options: { quick: boolean; defaultOnly?: boolean }): Promise<PipelineBenchResult> {
  const plan = planFor(options.quick);
  // The opening deposits (accounts × assets), then what the default variant consumes at most.
  const fundingCommands = BENCH_FLOW.accounts * defaultMarketSet().assets.length;
  const flowLength =
    fundingCommands + plan.warmUpCommands + plan.segmentCommands * plan.windows.length + FIXED_RATE_PER_SEC * plan.fixedRateSeconds;
  progress(`pipeline: recording ${formatInteger(flowLength)} commands of the mixed flow through a core`);
  const flow = RecordedFlow.record(flowLength);
  progress(`pipeline: ${flow.describe()}; ${megabytes(flow.bytes).toFixed(0)} MB of columns`);
  collectGarbage();
  const defaultLayout = await benchVariant(flow, { ...plan, label: 'default', env: {}, fixedRate: true });
  const alternative =
    options.defaultOnly === true
      ? defaultLayout
      : await benchVariant(flow, { ...plan, label: 'alternative layout', env: { PIPELINE_THREADS: ALTERNATIVE_LAYOUT }, fixedRate: false });
  // What the background snapshot worker costs (it replays the WAL through a core of its own).
  const withoutSnapshots = options.quick || options.defaultOnly === true
    ? undefined
    : await benchVariant(flow, {
        ...plan,
        windows: [plan.windows[plan.windows.length - 1]!],
        label: 'default, snapshots off',
        env: { SNAPSHOT_EVERY_RECORDS: '0', SNAPSHOT_EVERY_MINUTES: '0' },
        fixedRate: false,
      });
  const best = defaultLayout.best;
  const withinTarget = defaultLayout.segments.filter((segment) => segment.mode === 'window' && segment.p99Ms <= P99_TARGET_MS);
  const fixedRate = defaultLayout.segments.find((segment) => segment.mode === 'rate')!;
  const memoryUsage = process.memoryUsage();
  return {
    layout: defaultLayout.layout,
    commandsPerSec: best.commandsPerSec,
    window: best.window,
    p50Ms: best.p50Ms,
    p99Ms: best.p99Ms,
    p999Ms: best.p999Ms,
    maxMs: best.maxMs,
    commandsPerSecWithinP99Target: Math.max(0, ...withinTarget.map((segment) => segment.commandsPerSec)),
    fixedRate,
    default: defaultLayout,
    alternative,
    ...(withoutSnapshots === undefined ? {} : { withoutSnapshots }),
    memory: {
      peakRssMb: ownPeakRssMb(),
      heapUsedMb: megabytes(memoryUsage.heapUsed),
      heapTotalMb: megabytes(memoryUsage.heapTotal),
      externalMb: megabytes(memoryUsage.external),
      recordedFlowMb: megabytes(flow.bytes),
    },
  };
}

/** A configuration to measure: npm start's, or npm start's with a few settings changed. */
interface Variant extends Plan {
  label: string;
  /** Environment on top of npm start's defaults (none for the default). */
  env: Record<string, string>;
  fixedRate: boolean;
}

/** One pipeline, started fresh: funding, warm-up, the closed-loop windows, then (if asked) the fixed rate. */
async function benchVariant(flow: RecordedFlow, variant: Variant): Promise<LayoutResult> {
  const plan = variant;
  const dataDir = benchTempDir('pipeline-');
  // npm start's configuration: no flags, nothing from this process's environment but the data
  // dir, a port the system chooses (the HTTP side idles) and the variant's own settings.
  const env: NodeJS.ProcessEnv = { DATA_DIR: dataDir, PORT: '0', ...variant.env };
  const config = parseConfig([], env);
  const layout = config.threads.map((stages) => stages.join('+')).join(',');
  const name = variant.label.includes('snapshots off') ? `${layout}, snapshots off` : layout;
  if (config.wal.durability !== 'fsync') throw new Error('pipeline bench: the default configuration must fsync');
  let fatal: Error | undefined;
  progress(`pipeline [${name}]: starting (ring capacity ${config.ringCapacity}, WAL batch ${config.wal.batchRecordsMax}, fsync on, data in ${dataDir})`);
  // The server's own composition (src/cli/start_server.ts), so the pipeline is exactly npm start's.
  const server = await startServer(config, { log: pino({ level: 'warn' }, pino.destination(2)), onFatal: (error) => (fatal = error) });
  const pipeline = server.pipeline;
  const driver = new FlowDriver(pipeline, flow, () => fatal);
  const segments: SegmentResult[] = [];
  try {
    let cursor = await driver.closedLoop(0, flow.fundingCount, 1024);
    progress(`pipeline [${name}]: ${formatInteger(flow.fundingCount)} opening deposits settled; warm-up ${formatInteger(plan.warmUpCommands)} commands`);
    cursor = await driver.closedLoop(cursor, cursor + plan.warmUpCommands, plan.windows[plan.windows.length - 1]!, plan.warmUpMaxMs);
    for (const window of plan.windows) {
      const from = cursor;
      const { next, ...segment } = await driver.measure(
        () => driver.closedLoop(from, Math.min(flow.length, from + plan.segmentCommands), window, plan.segmentMaxMs),
        'window',
        window,
        0,
      );
      cursor = next;
      segments.push(segment);
      progress(`pipeline [${name}]: window ${window}: ${describeSegment(segment)}`);
    }
    if (variant.fixedRate) {
      const from = cursor;
      const end = Math.min(flow.length, from + FIXED_RATE_PER_SEC * plan.fixedRateSeconds);
      const { next, ...segment } = await driver.measure(
        () => driver.openLoop(from, end, FIXED_RATE_PER_SEC, plan.fixedRateSeconds * 1000),
        'rate',
        0,
        FIXED_RATE_PER_SEC,
      );
      cursor = next;
      segments.push(segment);
      progress(`pipeline [${name}]: fixed rate ${formatInteger(FIXED_RATE_PER_SEC)}/s: ${describeSegment(segment)}`);
    }
  } finally {
    if (fatal === undefined) await server.stop();
    removeDir(dataDir);
  }
  if (fatal !== undefined) throw fatal;
  progress(
    `pipeline [${name}]: acceptance differed from the single-thread recording for ${driver.acceptanceDiffers} commands ` +
      `${JSON.stringify(driver.differences)}; ${driver.skippedCancels} cancels skipped (their place was refused here)`,
  );
  const counters = pipeline.counters();
  const closedLoop = segments.filter((segment) => segment.mode === 'window');
  return {
    label: variant.label,
    layout,
    segments,
    best: closedLoop.reduce((best, segment) => (segment.commandsPerSec > best.commandsPerSec ? segment : best)),
    recordsPerFsync: counters.walFsyncs === 0 ? 0 : counters.walRecords / counters.walFsyncs,
    fsyncMeanMs: counters.fsyncLatencyMs.count === 0 ? 0 : counters.fsyncLatencyMs.sum / counters.fsyncLatencyMs.count,
    acceptanceDiffers: driver.acceptanceDiffers,
    acceptanceDifferences: driver.differences,
    skippedCancels: driver.skippedCancels,
  };
}

function describeSegment(segment: SegmentResult): string {
  return (
    `${formatInteger(segment.commandsPerSec)} commands/s, latency p50 ${segment.p50Ms.toFixed(2)} ms, p99 ${segment.p99Ms.toFixed(2)} ms, ` +
    `p99.9 ${segment.p999Ms.toFixed(2)} ms, max ${segment.maxMs.toFixed(1)} ms; CPU ${segment.cpuCores.toFixed(2)} cores, ` +
    `main thread busy ${(segment.mainThreadUtilization * 100).toFixed(0)}%; CPU µs per command by thread ` +
    Object.entries(segment.cpuUsPerCommandByThread)
      .map(([label, micros]) => `${label} ${micros.toFixed(1)}`)
      .join(', ')
  );
}

/** CPU seconds of every thread of this process by OS thread id, from /proc (empty elsewhere). */
function threadCpuSeconds(): Map<number, number> {
  const seconds = new Map<number, number>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(`/proc/${process.pid}/task`);
  } catch {
    return seconds;
  }
  for (const name of names) {
    try {
      const stat = fs.readFileSync(`/proc/${process.pid}/task/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seconds.set(Number(name), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // A thread that ended between the listing and the read: its time is left out.
    }
  }
  return seconds;
}

/** CPU seconds of this process's main thread (its thread id is the process id), from /proc. */
function mainThreadCpuSeconds(): number {
  try {
    const stat = fs.readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: utime and stime are fields 14 and 15 of proc(5), in clock ticks (100/s).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Segment {
  start: number;
  next: number;
  end: number;
  /** Closed loop: the window; open loop: the most commands in flight before sending waits. */
  inFlightMax: number;
  /** Open loop only (0: closed loop). */
  ratePerSec: number;
  began: number;
  /** No new command is taken from the flow after this time (performance.now()). */
  deadline: number;
  resolve: (next: number) => void;
  reject: (error: Error) => void;
}

/** The main thread's CPU profile of one measured segment, when PIPELINE_BENCH_PROFILE_DIR asks for it. */
class SegmentProfiler {
  private constructor(
    private readonly session: Session,
    private readonly dir: string,
  ) {}

  static async start(): Promise<SegmentProfiler | undefined> {
    const dir = process.env.PIPELINE_BENCH_PROFILE_DIR;
    if (dir === undefined || dir === '') return undefined;
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    return new SegmentProfiler(session, dir);
  }

  async stop(name: string): Promise<void> {
    const { profile } = await this.session.post('Profiler.stop');
    this.session.disconnect();
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, `main-${name.replaceAll(/[^a-z0-9,+-]/gi, '_')}.cpuprofile`), JSON.stringify(profile));
  }
}

/** Most commands in flight in the open loop: beyond it the rate is not being met anyway. */
const OPEN_LOOP_IN_FLIGHT_MAX = 32_768;

/**
 * Submits commands of the recorded flow to the pipeline and records, per command, the time from
 * submit to result. Indices are flow indices; segments continue the flow where the last one
 * stopped, so every command is submitted once (plus retries after 'overloaded').
 */
class FlowDriver {
  /** Per flow index: the seq the pipeline gave (> 0), -1 when refused, 0 while unknown. */
  private readonly seqOf: Float64Array;
  /** Per place index: the cancel waiting for its result, -1 when none. */
  private readonly waitingCancel: Int32Array;
  private readonly submittedAt: Float64Array;
  private readonly scratch: Command = createCommand();
  /** Deferred cancels whose place has resolved, and overloaded commands to retry. */
  private readonly ready: number[] = [];
  private inFlight = 0;
  private segment: Segment | undefined;
  private latencies: Float64Array;
  private latencyCount = 0;
  /**
   * Flow indices whose results came back since the last step: their latencies are taken with the
   * step's one clock read, after them (so they err long, never short), as sends are stamped with it
   * before they go. Two clock reads per command were a noticeable part of the main thread's work.
   */
  private readonly completed: Int32Array;
  private completedCount = 0;
  private overloaded = 0;
  private stepScheduled = false;
  private readonly stepNow = (): void => this.step();
  private readonly onResultNow: SubmitCallback = (index, seq, rejectCode) => this.onResult(index, seq, rejectCode);
  acceptanceDiffers = 0;
  /** 'type: recorded code here pipeline code' → count, for the commands whose acceptance differed. */
  readonly differences: Record<string, number> = {};
  skippedCancels = 0;

  constructor(
    private readonly pipeline: ThreadedPipeline,
    private readonly flow: RecordedFlow,
    private readonly fatal: () => Error | undefined,
  ) {
    this.seqOf = new Float64Array(flow.length);
    this.waitingCancel = new Int32Array(flow.length).fill(-1);
    this.submittedAt = new Float64Array(flow.length);
    this.completed = new Int32Array(flow.length);
    this.latencies = new Float64Array(1024);
  }

  /** Runs `run`, measuring throughput, latency, CPU and main-thread utilization of it. */
  async measure(run: () => Promise<number>, mode: 'window' | 'rate', window: number, ratePerSec: number): Promise<SegmentResult & { next: number }> {
    collectGarbage();
    const profiler = await SegmentProfiler.start();
    this.latencyCount = 0;
    this.overloaded = 0;
    const cpuBefore = process.cpuUsage();
    const mainCpuBefore = mainThreadCpuSeconds();
    const threadsBefore = threadCpuSeconds();
    const elu = performance.eventLoopUtilization();
    const started = performance.now();
    const next = await run();
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const mainCpuSec = mainThreadCpuSeconds() - mainCpuBefore;
    const threadsAfter = threadCpuSeconds();
    const utilization = performance.eventLoopUtilization(elu).utilization;
    await profiler?.stop(`${this.pipeline.stageThreads().map(({ stages }) => stages).join(',')}-${mode}-${mode === 'window' ? window : ratePerSec}`);
    return {
      next,
      mode,
      window,
      ratePerSec,
      commandsPerSec: (this.latencyCount / elapsedMs) * 1000,
      cpuCores: (cpu.user + cpu.system) / 1000 / elapsedMs,
      mainThreadUtilization: utilization,
      mainThreadCpuUsPerCommand: (mainCpuSec * 1e6) / this.latencyCount,
      cpuUsPerCommandByThread: this.cpuByThread(threadsBefore, threadsAfter),
      overloadedRetries: this.overloaded,
      ...summarizeLatencies(this.latencies, this.latencyCount),
    };
  }

  private cpuByThread(before: Map<number, number>, after: Map<number, number>): Record<string, number> {
    const labels = new Map<number, string>([[process.pid, 'main']]);
    for (const { stages, threadId } of this.pipeline.stageThreads()) labels.set(threadId, stages);
    const byLabel: Record<string, number> = {};
    for (const [threadId, seconds] of after) {
      const label = labels.get(threadId) ?? 'other';
      byLabel[label] = (byLabel[label] ?? 0) + ((seconds - (before.get(threadId) ?? 0)) * 1e6) / this.latencyCount;
    }
    return byLabel;
  }

  /**
   * Closed loop over flow indices [start, end): `window` commands in flight, each one replaced as
   * it comes back; no new command after `maxMs`. Resolves with the first index not sent, once
   * every command sent is back.
   */
  closedLoop(start: number, end: number, window: number, maxMs = Infinity): Promise<number> {
    return this.run(start, end, window, 0, maxMs);
  }

  /** Open loop: commands sent at `ratePerSec` (paced by a 1 ms timer and by results), for at most `maxMs`. */
  openLoop(start: number, end: number, ratePerSec: number, maxMs = Infinity): Promise<number> {
    const done = this.run(start, end, OPEN_LOOP_IN_FLIGHT_MAX, ratePerSec, maxMs);
    const tick = (): void => {
      if (this.segment === undefined) return;
      this.step();
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    return done;
  }

  private run(start: number, end: number, inFlightMax: number, ratePerSec: number, maxMs: number): Promise<number> {
    if (this.segment !== undefined) throw new Error('pipeline bench: one segment at a time');
    if (this.latencies.length < this.latencyCount + (end - start)) {
      const grown = new Float64Array(this.latencyCount + (end - start));
      grown.set(this.latencies.subarray(0, this.latencyCount));
      this.latencies = grown;
    }
    return new Promise<number>((resolve, reject) => {
      const began = performance.now();
      this.segment = { start, next: start, end, inFlightMax, ratePerSec, began, deadline: began + maxMs, resolve, reject };
      this.step();
    });
  }

  /** Sends what may be sent now; ends the segment when everything sent is back. */
  private step(): void {
    this.stepScheduled = false;
    const segment = this.segment;
    if (segment === undefined) return;
    const error = this.fatal();
    if (error !== undefined) {
      this.segment = undefined;
      segment.reject(error);
      return;
    }
    const now = performance.now();
    this.recordCompleted(now);
    if (now > segment.deadline) segment.end = Math.min(segment.end, segment.next);
    let open = true;
    while (open && this.inFlight < segment.inFlightMax && this.ready.length > 0) open = this.send(this.ready.pop()!, now);
    const due =
      segment.ratePerSec === 0
        ? segment.end
        : Math.min(segment.end, segment.start + Math.floor(((now - segment.began) * segment.ratePerSec) / 1000));
    while (open && this.inFlight < segment.inFlightMax && segment.next < due) open = this.send(segment.next++, now);
    // Overloaded: results coming back will step again; with none in flight, try again next turn.
    if (!open && this.inFlight === 0) setImmediate(this.stepNow);
    if (segment.next >= segment.end && this.inFlight === 0 && this.ready.length === 0) {
      this.segment = undefined;
      segment.resolve(segment.next);
    }
  }

  /** The latencies of the results that came back since the last step, as of `now`. */
  private recordCompleted(now: number): void {
    for (let i = 0; i < this.completedCount; i++) this.latencies[this.latencyCount++] = now - this.submittedAt[this.completed[i]!]!;
    this.completedCount = 0;
  }

  /**
   * Submits one command of the flow, stamped `now` (read before it is sent) the first time;
   * false when the pipeline was overloaded (the command waits in `ready`).
   */
  private send(index: number, now: number): boolean {
    const flow = this.flow;
    const command = flow.read(index, this.scratch);
    if (command.type === CommandType.Cancel) {
      const target = flow.targetIndex[index]!;
      const targetSeq = target < 0 ? 0 : this.seqOf[target]!;
      if (target >= 0 && targetSeq === 0) {
        // Its place is still in flight: a client cannot know the orderId yet.
        this.waitingCancel[target] = index;
        return true;
      }
      if (targetSeq < 0) {
        // The place was refused here (not in the recording): there is nothing to cancel.
        this.skippedCancels += 1;
        return true;
      }
      if (target >= 0) command.orderId = targetSeq;
    }
    if (this.submittedAt[index] === 0) this.submittedAt[index] = now;
    // As POST /orders does it: the result by callback, tagged with the flow index (no Promise,
    // closure or result object per command).
    const status = this.pipeline.submitWith(command, this.onResultNow, index);
    if (status === SubmitStatus.Submitted) {
      this.inFlight += 1;
      return true;
    }
    if (status === SubmitStatus.Unavailable) {
      this.segment?.reject(new Error(`pipeline bench: the pipeline is ${this.pipeline.phase}`));
      this.segment = undefined;
      return false;
    }
    this.overloaded += 1;
    this.ready.push(index);
    return false;
  }

  private onResult(index: number, seq: number, rejectCode: RejectCode): void {
    this.inFlight -= 1;
    this.scheduleStep();
    this.completed[this.completedCount++] = index;
    const accepted = rejectCode === RejectCode.None;
    this.seqOf[index] = accepted ? seq : -1;
    const recordedCode = this.flow.code[index]!;
    if (accepted !== (recordedCode === RejectCode.None)) {
      this.acceptanceDiffers += 1;
      const key = `${COMMAND_TYPE_NAMES[this.flow.type[index]!]}: ${REJECT_INFO[recordedCode as RejectCode].code} here ${REJECT_INFO[rejectCode].code}`;
      this.differences[key] = (this.differences[key] ?? 0) + 1;
    }
    const cancel = this.waitingCancel[index]!;
    if (cancel >= 0) {
      this.waitingCancel[index] = -1;
      this.ready.push(cancel);
    }
  }

  /** One step per burst of results: they arrive in batches from ring T→G. */
  private scheduleStep(): void {
    if (this.stepScheduled) return;
    this.stepScheduled = true;
    queueMicrotask(this.stepNow);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const quick = process.argv.includes('--quick');
  const result = await benchPipeline({ quick, defaultOnly: process.argv.includes('--default-only') });
  console.log(JSON.stringify(result, null, 2));
  console.log(`default layout: ${DEFAULT_THREAD_LAYOUT}`);
}
