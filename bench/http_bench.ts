/**
 * HTTP benchmark: the real server against a no-op Fastify route with the same schema, in the same
 * run, with the same load generator (autocannon, in-process), the same connections and duration.
 *
 * - The real server is `npm start`'s command (`node src/boot/start.mjs`) as a child process: PORT and
 *   DATA_DIR (a temp dir on the repository's disk, not tmpfs) set, every other option at its
 *   default (fsync on), none inherited from this process's environment.
 * - The ceiling is bench/noop_server.ts: POST /orders with the gateway's route schema
 *   (placeOrderRoute() from src/gateway/schemas.ts) and a handler that does nothing.
 * - Accounts are funded first through POST /accounts/{id}/deposits. Then every request is a
 *   DISTINCT limit order from one of many accounts: alternating buys and sells around a mid price,
 *   so some cross and trade; a quarter carry a unique clientOrderId.
 * - Both servers run side by side for the whole section. After the funding and a warm-up of each,
 *   the measured time is split into short windows that ALTERNATE between the two (ABBA order: noop,
 *   server, server, noop, ...), each target getting the same total duration. On a shared 2-core
 *   machine the load from other work drifts within seconds; measured one after the other (as this
 *   benchmark did before), the two halves saw different machines and the ratio of repeated quick
 *   runs ranged from 0.5 to 1.1. Interleaved, both see the same conditions. While one target is
 *   loaded the other is idle; its CPU in those windows is measured and reported (`otherServerCpuCores`:
 *   were it busy, e.g. the real server's snapshot worker, it would lower the other's figure), and
 *   the per-round ratios are reported (`roundRatios`) so the spread is visible.
 * - Other work on the machine does not hit both alike even so: the scheduler shares CPU per thread,
 *   and the real server has five busy threads where the ceiling has one, so under contention the
 *   ratio reads HIGHER than on a quiet machine. The 1-minute load average at the start is recorded
 *   (`loadAverage1mAtStart`) and a warning is printed above LOAD_AVERAGE_QUIET_MAX: compare ratios
 *   measured on a quiet machine only.
 * - Latency is per response, submit to reply, as the load generator sees it, pooled over a target's
 *   windows; every non-2xx reply is counted by status (503 = the server shed load).
 * - Where the tail comes from: both servers expose the same main-thread stall histograms in
 *   /metrics (event-loop delay of a 10 ms probe timer, GC pauses; src/gateway/runtime_metrics.ts),
 *   scraped right before and after each window, so `stalls` covers the target's loaded windows only;
 *   for the real server, the pipeline's own submit → result latency and fsync latency as well.
 *
 * Every child binds 127.0.0.1 and is stopped (SIGTERM, then SIGKILL) by this module, also on errors
 * and when this process exits. Run alone: node --import tsx bench/http_bench.ts [--quick]
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { STALL_MS_BOUNDS } from '../src/gateway/runtime_metrics.ts';
import {
  REPO_ROOT,
  benchModuleArgs,
  benchTempDir,
  cpuSecondsOf,
  formatInteger,
  freePort,
  ownChild,
  processCpuSeconds,
  processPeakRssMb,
  progress,
  removeDir,
  SERVER_NODE_ARGS,
  serverEnv,
  sleep,
  stopChild,
  summarizeLatencies,
  tail,
} from './bench_support.ts';
import { mulberry32 } from './flows.ts';

export const HTTP_CONNECTIONS = 64;
const ACCOUNTS = 1000;
const HEALTH_TIMEOUT_MS = 120_000;
const FUNDING_CONCURRENCY = 64;
/** A 1-minute load average above this at the start means other work competes for the 2 cores. */
const LOAD_AVERAGE_QUIET_MAX = 1.5;

export interface HttpRunResult {
  /** 2xx replies per second of the measured run. */
  requestsPerSec: number;
  responses: number;
  non2xx: number;
  /** Every reply by HTTP status (201 = placed; 200 would be an idempotent retry). */
  byStatus: Record<string, number>;
  errors: number;
  timeouts: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** CPU of the server process (all its threads) per second: 1.0 = one core busy. */
  serverCpuCores: number;
  /** CPU of this process (the load generator). */
  loadGeneratorCpuCores: number;
  /**
   * CPU of the server's main thread (event loop: HTTP, and for the real server the gateway's share
   * of the pipeline) per reply, in µs. Less sensitive to other load on the machine than the rates.
   */
  mainThreadCpuUsPerReply: number;
  serverPeakRssMb: number | undefined;
  /** From the real server's /metrics over the measured run (undefined for the ceiling). */
  serverMetrics?: ServerMetrics;
  /** The server's main-thread stalls during this target's windows only (both servers measure them alike). */
  stalls: StallSummary;
  /**
   * CPU of the OTHER server, not loaded, during this target's windows: it should idle (~0); were it
   * busy (say the real server's snapshot worker), it would take CPU from this target's figure.
   */
  otherServerCpuCores: number;
}

/**
 * The server's main thread during a target's windows, from the stall histograms of its /metrics
 * (src/gateway/runtime_metrics.ts), scraped right before and after each window: how late a 10 ms
 * probe timer ran (all HTTP and results wait as long), and the garbage collector's pauses.
 */
export interface StallSummary {
  eventLoopProbes: number;
  /** Upper bound of the bucket holding the 50th / 99th percentile probe delay (ms). */
  eventLoopDelayP50BucketMs: number;
  eventLoopDelayP99BucketMs: number;
  /** Share of probes that ran more than 20 ms / 50 ms late. */
  eventLoopDelayOver20MsShare: number;
  eventLoopDelayOver50MsShare: number;
  gcPauses: number;
  /** Milliseconds of GC pause per second of the windows. */
  gcPauseMsPerSec: number;
  /** Upper bound of the bucket holding the longest GC pause (ms). */
  gcPauseMaxBucketMs: number;
}

/** Where a request's time goes inside the real server, from its /metrics before and after the run. */
export interface ServerMetrics {
  /** Submit → result inside the server (pipeline and read models), mean and bucket upper bounds. */
  pipelineLatencyMeanMs: number;
  pipelineLatencyP50BucketMs: number;
  pipelineLatencyP99BucketMs: number;
  fsyncs: number;
  fsyncMeanMs: number;
  recordsPerFsync: number;
}

export interface HttpBenchResult {
  ordersPerSec: number;
  ceilingReqPerSec: number;
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  non2xx: number;
  connections: number;
  durationSec: number;
  server: HttpRunResult;
  ceiling: HttpRunResult;
  /** Measured windows per target (interleaved with the other target's). */
  rounds: number;
  /** Real ÷ ceiling of each round (its two adjacent windows): the spread of the headline ratio. */
  roundRatios: number[];
  /** os.loadavg()[0] when the section started: above LOAD_AVERAGE_QUIET_MAX the ratio flatters the real server. */
  loadAverage1mAtStart: number;
}

export interface HttpBenchOptions {
  quick: boolean;
  /** Node arguments that start the real server (default: npm start's, SERVER_NODE_ARGS). */
  serverNodeArgs?: string[];
}

export async function benchHttp(options: HttpBenchOptions): Promise<HttpBenchResult> {
  const durationSec = options.quick ? 6 : 20;
  const warmUpSec = options.quick ? 2 : 5;
  const rounds = options.quick ? 3 : 5;
  const windowSec = durationSec / rounds;
  const loadAverage1mAtStart = os.loadavg()[0]!;
  if (loadAverage1mAtStart > LOAD_AVERAGE_QUIET_MAX) {
    progress(
      `http: WARNING load average ${loadAverage1mAtStart.toFixed(2)} at the start (> ${LOAD_AVERAGE_QUIET_MAX}): other work competes ` +
        'for the CPU, which takes more from the one-threaded ceiling than from the real server; the ratio reads high',
    );
  }
  const noop = await startTarget('noop', options.serverNodeArgs);
  try {
    const real = await startTarget('server', options.serverNodeArgs);
    try {
      await Promise.all([waitForHealth(noop), waitForHealth(real)]);
      progress(`http [server]: funding ${ACCOUNTS} accounts (${ACCOUNTS * 3} deposits)`);
      await fundAccounts(real.url);
      for (const target of [noop, real]) {
        progress(`http [${target.kind}]: warm-up ${warmUpSec} s, ${HTTP_CONNECTIONS} connections`);
        await runWindow(target, warmUpSec, noop === target ? real : noop);
      }
      const metricsBefore = await scrapeMetrics(real.url);
      const windows = { noop: [] as LoadWindow[], server: [] as LoadWindow[] };
      progress(`http: measuring ${rounds} rounds of ${windowSec} s per target, alternating (ABBA), ${HTTP_CONNECTIONS} connections`);
      for (let round = 0; round < rounds; round += 1) {
        const order = round % 2 === 0 ? [noop, real] : [real, noop];
        for (const target of order) windows[target.kind].push(await runWindow(target, windowSec, target === noop ? real : noop));
      }
      const server = summarizeWindows(windows.server, real);
      const ceiling = summarizeWindows(windows.noop, noop);
      server.serverMetrics = metricsDelta(metricsBefore, await scrapeMetrics(real.url));
      const roundRatios = windows.server.map((window, index) => okPerSec(window) / okPerSec(windows.noop[index]!));
      reportTarget(ceiling, 'noop');
      reportTarget(server, 'server');
      progress(`http: real ÷ ceiling per round ${roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}`);
      return {
        ordersPerSec: server.requestsPerSec,
        ceilingReqPerSec: ceiling.requestsPerSec,
        ratio: server.requestsPerSec / ceiling.requestsPerSec,
        p50Ms: server.p50Ms,
        p99Ms: server.p99Ms,
        p999Ms: server.p999Ms,
        non2xx: server.non2xx,
        connections: HTTP_CONNECTIONS,
        durationSec,
        server,
        ceiling,
        rounds,
        roundRatios,
        loadAverage1mAtStart,
      };
    } finally {
      await stopTarget(real);
    }
  } finally {
    await stopTarget(noop);
  }
}

interface Target {
  kind: 'server' | 'noop';
  url: string;
  child: ChildProcess;
  dir: string;
  logFile: string;
  /** Distinct order bodies, continued from window to window. */
  bodies: OrderBodies;
}

async function startTarget(kind: 'server' | 'noop', serverNodeArgs: string[] | undefined): Promise<Target> {
  const dir = benchTempDir(kind === 'server' ? 'http-server-' : 'http-noop-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(dir, 'server.log');
  const child = startChild(kind, dir, port, logFile, serverNodeArgs);
  progress(`http [${kind}]: started pid ${child.pid} on ${url}; waiting for /health`);
  return { kind, url, child, dir, logFile, bodies: new OrderBodies(1) };
}

async function stopTarget(target: Target): Promise<void> {
  const stopStarted = performance.now();
  const code = await stopChild(target.child);
  progress(`http [${target.kind}]: stopped (SIGTERM) in ${((performance.now() - stopStarted) / 1000).toFixed(1)} s, exit code ${code}`);
  if (code !== 0) process.stderr.write(`http [${target.kind}]: exited with code ${code}; log:\n${tail(target.logFile, 30)}\n`);
  removeDir(target.dir);
}

function reportTarget(result: HttpRunResult, kind: 'server' | 'noop'): void {
  const stalls = result.stalls;
  progress(
    `http [${kind}]: main thread stalls in its windows: event-loop delay p50 ≤ ${stalls.eventLoopDelayP50BucketMs} ms, ` +
      `p99 ≤ ${stalls.eventLoopDelayP99BucketMs} ms, ${(stalls.eventLoopDelayOver20MsShare * 100).toFixed(1)}% of ${stalls.eventLoopProbes} probes > 20 ms, ` +
      `${(stalls.eventLoopDelayOver50MsShare * 100).toFixed(1)}% > 50 ms; GC ${stalls.gcPauses} pauses, ${stalls.gcPauseMsPerSec.toFixed(1)} ms/s, longest ≤ ${stalls.gcPauseMaxBucketMs} ms`,
  );
  const metrics = result.serverMetrics;
  if (metrics !== undefined) {
    progress(
      `http [${kind}]: inside the server: submit → result mean ${metrics.pipelineLatencyMeanMs.toFixed(2)} ms ` +
        `(p50 ≤ ${metrics.pipelineLatencyP50BucketMs} ms, p99 ≤ ${metrics.pipelineLatencyP99BucketMs} ms); ` +
        `${metrics.fsyncs} fdatasyncs, mean ${metrics.fsyncMeanMs.toFixed(2)} ms, ${metrics.recordsPerFsync.toFixed(1)} records each`,
    );
  }
  progress(
    `http [${kind}]: ${formatInteger(result.requestsPerSec)} 2xx/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
      `p99.9 ${result.p999Ms.toFixed(2)} ms; replies by status ${JSON.stringify(result.byStatus)}, errors ${result.errors}; ` +
      `server CPU ${result.serverCpuCores.toFixed(2)} cores (the other, idle server: ${result.otherServerCpuCores.toFixed(2)}), ` +
      `main thread ${result.mainThreadCpuUsPerReply.toFixed(0)} µs per reply, ` +
      `load generator ${result.loadGeneratorCpuCores.toFixed(2)} cores, server peak RSS ${result.serverPeakRssMb?.toFixed(0) ?? '?'} MB`,
  );
}

function startChild(kind: 'server' | 'noop', dir: string, port: number, logFile: string, serverNodeArgs: string[] | undefined): ChildProcess {
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const env = serverEnv(port, dataDir);
  const log = fs.openSync(logFile, 'a');
  const args =
    kind === 'server'
      ? (serverNodeArgs ?? [...SERVER_NODE_ARGS])
      : benchModuleArgs('noop_server');
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['pipe', log, log] });
  fs.closeSync(log);
  return ownChild(child);
}

async function waitForHealth(target: Target): Promise<void> {
  const { url, child } = target;
  const deadline = performance.now() + HEALTH_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.stderr.write(`http [${target.kind}]: failed; last lines of ${target.logFile}:\n${tail(target.logFile, 30)}\n`);
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it was healthy`);
    }
    try {
      const response = await fetch(`${url}/health`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server at ${url} was not healthy within ${HEALTH_TIMEOUT_MS} ms`);
}

async function fundAccounts(url: string): Promise<void> {
  const deposits: { accountId: number; asset: string; amount: string }[] = [];
  for (let accountId = 1; accountId <= ACCOUNTS; accountId += 1) {
    deposits.push({ accountId, asset: 'USDT', amount: '1000000' });
    deposits.push({ accountId, asset: 'BTC', amount: '1000' });
    deposits.push({ accountId, asset: 'ETH', amount: '10000' });
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < deposits.length) {
      const deposit = deposits[next++]!;
      const response = await fetch(`${url}/accounts/${deposit.accountId}/deposits`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ asset: deposit.asset, amount: deposit.amount }),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`deposit for account ${deposit.accountId} answered ${response.status}: ${text}`);
    }
  };
  await Promise.all(Array.from({ length: FUNDING_CONCURRENCY }, worker));
}

const MARKETS = [
  // BTC-USDT: tick 0.01, step 0.000001; ETH-USDT: tick 0.01, step 0.0001 (API.md's default markets).
  { symbol: 'BTC-USDT', midTicks: 6_500_000, stepDecimals: 6, qtyStepsMin: 1_000, qtyStepsSpread: 2_000, share: 0.8 },
  { symbol: 'ETH-USDT', midTicks: 300_000, stepDecimals: 4, qtyStepsMin: 100, qtyStepsSpread: 200, share: 0.2 },
];

/**
 * Distinct order bodies: accounts in a scattered order, sides alternating, prices a few ticks
 * through to 40 ticks behind the mid (about one order in six crosses), 1 in 10 IOC, a quarter with
 * a clientOrderId that is never reused.
 */
class OrderBodies {
  private readonly random: () => number;
  private count = 0;
  private readonly tag: string;

  constructor(seed: number) {
    this.random = mulberry32(seed);
    this.tag = `b${Date.now().toString(36)}`;
  }

  next(): string {
    const index = this.count++;
    const market = this.random() < MARKETS[0]!.share ? MARKETS[0]! : MARKETS[1]!;
    const side = index % 2 === 0 ? 'buy' : 'sell';
    const offsetTicks = Math.floor(this.random() * 47) - 6;
    const priceTicks = side === 'buy' ? market.midTicks - offsetTicks : market.midTicks + offsetTicks;
    const qtySteps = market.qtyStepsMin + Math.floor(this.random() * market.qtyStepsSpread);
    const body: Record<string, unknown> = {
      accountId: 1 + ((index * 7919) % ACCOUNTS),
      symbol: market.symbol,
      side,
      type: 'limit',
      price: (priceTicks / 100).toFixed(2),
      qty: (qtySteps / 10 ** market.stepDecimals).toFixed(market.stepDecimals),
    };
    if (this.random() < 0.1) body['timeInForce'] = 'IOC';
    if (this.random() < 0.25) body['clientOrderId'] = `${this.tag}-${index}`;
    return JSON.stringify(body);
  }
}


/** CPU of a process's main thread alone (its thread id is the process id): the event loop's time. */
function mainThreadCpuSeconds(pid: number): number {
  return cpuSecondsOf(`/proc/${pid}/task/${pid}/stat`);
}


/** One measured (or warm-up) window of load on one target. */
interface LoadWindow {
  latencies: number[];
  byStatus: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** autocannon's own duration of the window. */
  durationSec: number;
  elapsedSec: number;
  serverCpuSec: number;
  mainThreadCpuSec: number;
  /** CPU of the other target, which is not loaded in this window. */
  idleCpuSec: number;
  /** Bucket counts of the target's stall histograms gained during the window. */
  eventLoopDelayCounts: number[];
  gcPauseCounts: number[];
  gcPauseSumMs: number;
  loadGeneratorCpuSec: number;
}

function okPerSec(window: LoadWindow): number {
  return (window.latencies.length - window.non2xx) / window.durationSec;
}

async function runWindow(target: Target, durationSec: number, idle: Target): Promise<LoadWindow> {
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  let non2xx = 0;
  const serverCpuBefore = processCpuSeconds(target.child.pid!);
  const mainThreadCpuBefore = mainThreadCpuSeconds(target.child.pid!);
  const idleCpuBefore = processCpuSeconds(idle.child.pid!);
  const stallsBefore = await scrapeMetrics(target.url);
  const ownCpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections: HTTP_CONNECTIONS,
        pipelining: 1,
        duration: durationSec,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: '/orders',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({ ...request, body: target.bodies.next() }),
          },
        ],
      },
      (error: unknown, finished: autocannon.Result) => (error ? reject(error as Error) : resolve(finished)),
    );
    // autocannon's own histogram keeps whole milliseconds: keep every latency at full precision.
    (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      latencies.push(responseTimeMs);
      byStatus[statusCode] = (byStatus[statusCode] ?? 0) + 1;
      if (statusCode < 200 || statusCode >= 300) non2xx += 1;
    });
  });
  const ownCpu = process.cpuUsage(ownCpuBefore);
  const elapsedSec = (performance.now() - started) / 1000;
  const stallsAfter = await scrapeMetrics(target.url);
  const bucketDelta = (name: string): number[] => {
    const before = cumulativeBuckets(stallsBefore, name);
    return cumulativeBuckets(stallsAfter, name).map((bucket, index) => bucket.count - (before[index]?.count ?? 0));
  };
  return {
    latencies,
    byStatus,
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: result.duration,
    elapsedSec,
    eventLoopDelayCounts: bucketDelta('exchange_event_loop_delay_ms'),
    gcPauseCounts: bucketDelta('exchange_gc_pause_ms'),
    gcPauseSumMs: (stallsAfter.get('exchange_gc_pause_ms_sum') ?? 0) - (stallsBefore.get('exchange_gc_pause_ms_sum') ?? 0),
    serverCpuSec: processCpuSeconds(target.child.pid!) - serverCpuBefore,
    mainThreadCpuSec: mainThreadCpuSeconds(target.child.pid!) - mainThreadCpuBefore,
    idleCpuSec: processCpuSeconds(idle.child.pid!) - idleCpuBefore,
    loadGeneratorCpuSec: (ownCpu.user + ownCpu.system) / 1e6,
  };
}

/** A target's measured windows as one run: rates over their summed durations, latencies pooled. */
function summarizeWindows(windows: readonly LoadWindow[], target: Target): HttpRunResult {
  const latencies = windows.flatMap((window) => window.latencies);
  const byStatus: Record<string, number> = {};
  for (const window of windows) for (const [status, count] of Object.entries(window.byStatus)) byStatus[status] = (byStatus[status] ?? 0) + count;
  const sum = (field: (window: LoadWindow) => number): number => windows.reduce((total, window) => total + field(window), 0);
  const non2xx = sum((window) => window.non2xx);
  const elapsedSec = sum((window) => window.elapsedSec);
  const summary = summarizeLatencies(Float64Array.from(latencies), latencies.length);
  return {
    requestsPerSec: (latencies.length - non2xx) / sum((window) => window.durationSec),
    responses: latencies.length,
    non2xx,
    byStatus,
    errors: sum((window) => window.errors),
    timeouts: sum((window) => window.timeouts),
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    p999Ms: summary.p999Ms,
    maxMs: summary.maxMs,
    serverCpuCores: sum((window) => window.serverCpuSec) / elapsedSec,
    loadGeneratorCpuCores: sum((window) => window.loadGeneratorCpuSec) / elapsedSec,
    mainThreadCpuUsPerReply: (sum((window) => window.mainThreadCpuSec) * 1e6) / latencies.length,
    serverPeakRssMb: processPeakRssMb(target.child.pid!),
    otherServerCpuCores: sum((window) => window.idleCpuSec) / elapsedSec,
    stalls: summarizeStalls(windows, sum((window) => window.durationSec)),
  };
}

/** Cumulative bucket counts of a Prometheus histogram, in bound order (the +Inf bucket last). */
function cumulativeBuckets(samples: Map<string, number>, name: string): { bound: number; count: number }[] {
  const buckets: { bound: number; count: number }[] = [];
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}_bucket{`)) continue;
    const bound = /le="([^"]+)"/.exec(key)?.[1];
    buckets.push({ bound: bound === '+Inf' ? Infinity : Number(bound), count: value });
  }
  return buckets.sort((a, b) => a.bound - b.bound);
}

/** The stall histograms of a target's windows, added up (cumulative counts, as scraped). */
function summarizeStalls(windows: readonly LoadWindow[], seconds: number): StallSummary {
  const bounds = [...STALL_MS_BOUNDS, Infinity];
  const add = (field: (window: LoadWindow) => number[]): number[] =>
    bounds.map((_bound, index) => windows.reduce((total, window) => total + (field(window)[index] ?? 0), 0));
  const delay = add((window) => window.eventLoopDelayCounts);
  const gc = add((window) => window.gcPauseCounts);
  const probes = delay[delay.length - 1] ?? 0;
  const pauses = gc[gc.length - 1] ?? 0;
  const quantileBound = (cumulative: number[], quantile: number): number => {
    const total = cumulative[cumulative.length - 1] ?? 0;
    const index = cumulative.findIndex((count) => count >= quantile * total);
    return total === 0 || index < 0 ? NaN : bounds[index]!;
  };
  const over = (boundMs: number): number => {
    const index = bounds.indexOf(boundMs);
    return probes === 0 ? NaN : (probes - (delay[index] ?? 0)) / probes;
  };
  let maxIndex = -1;
  for (let index = 0; index < gc.length; index += 1) if ((gc[index] ?? 0) > (index === 0 ? 0 : (gc[index - 1] ?? 0))) maxIndex = index;
  return {
    eventLoopProbes: probes,
    eventLoopDelayP50BucketMs: quantileBound(delay, 0.5),
    eventLoopDelayP99BucketMs: quantileBound(delay, 0.99),
    eventLoopDelayOver20MsShare: over(20),
    eventLoopDelayOver50MsShare: over(50),
    gcPauses: pauses,
    gcPauseMsPerSec: windows.reduce((total, window) => total + window.gcPauseSumMs, 0) / seconds,
    gcPauseMaxBucketMs: maxIndex < 0 ? 0 : bounds[maxIndex]!,
  };
}

/** Prometheus text → sample name with labels → value. */
async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

function metricsDelta(before: Map<string, number>, after: Map<string, number>): ServerMetrics {
  const delta = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const latencyCount = delta('exchange_command_latency_ms_count');
  const fsyncs = delta('exchange_wal_fsync_latency_ms_count');
  // Cumulative buckets: the first bound whose count reaches the quantile.
  const bucketBound = (quantile: number): number => {
    const buckets = [...after.keys()]
      .filter((name) => name.startsWith('exchange_command_latency_ms_bucket{'))
      .map((name) => ({ name, bound: Number(/le="([^"]+)"/.exec(name)?.[1] ?? NaN) }))
      .filter((bucket) => Number.isFinite(bucket.bound))
      .sort((a, b) => a.bound - b.bound);
    for (const bucket of buckets) if (delta(bucket.name) >= quantile * latencyCount) return bucket.bound;
    return Infinity;
  };
  return {
    pipelineLatencyMeanMs: latencyCount === 0 ? NaN : delta('exchange_command_latency_ms_sum') / latencyCount,
    pipelineLatencyP50BucketMs: bucketBound(0.5),
    pipelineLatencyP99BucketMs: bucketBound(0.99),
    fsyncs,
    fsyncMeanMs: fsyncs === 0 ? NaN : delta('exchange_wal_fsync_latency_ms_sum') / fsyncs,
    recordsPerFsync: fsyncs === 0 ? NaN : delta('exchange_wal_records_total') / fsyncs,
  };
}



if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const quick = process.argv.includes('--quick');
  const result = await benchHttp({ quick });
  console.log(JSON.stringify(result, null, 2));
}
