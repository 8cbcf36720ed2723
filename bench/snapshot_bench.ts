/**
 * Snapshot benchmark: how long a restart takes with a long log, with snapshots and without.
 *
 * 1. A log of 10,000,000 records (quick: 1,000,000) of the realistic mixed flow (MIXED_FLOW) is
 *    generated: commands from the seeded FlowGenerator, sequenced and pre-checked by a core, and
 *    appended with a WalWriter in durability 'none' — FOR GENERATION ONLY, so that writing the
 *    log takes seconds instead of an fsync per batch; the restart reads the same bytes either way.
 * 2. While it is written, a SnapshotTaker follows it exactly as the server's snapshot worker does
 *    (durable records only, its own core and read models) and writes a snapshot N records before
 *    the end of the log for each interval N: 100,000, the default policy's
 *    SNAPSHOT_EVERY_RECORDS_DEFAULT, and 1,000,000 (quick: 500,000).
 * 3. Restarts, timed: recoverState as ThreadedPipeline.start runs it ('recover' mode, the gateway's
 *    read models restored and fed), each in a fresh process (cold, as after a crash: this process
 *    has just run the same code to write the log and its snapshots, which would flatter it). For each N the newest snapshot used is the one N records before
 *    the end — a restart right before the next snapshot was due, the worst case of that policy (on
 *    average the tail is half); newer snapshots are moved aside for that run.
 * 4. Restart by full replay (`--full`, no snapshot). Quick run: the whole 1,000,000-record log,
 *    measured. Full run: replaying 10,000,000 records would take minutes of the 15-minute budget,
 *    so the first 1,000,000 records are replayed (the replay command's read-only recovery with
 *    `--to-seq`) and the time is EXTRAPOLATED linearly to the whole log (`fullReplayExtrapolated`:
 *    the state is bounded, so the rate does not fall with the log's length).
 *    Every restart from a snapshot must give the same digest: the full replay's (quick run), or,
 *    in the full run, each other's (snapshots of different ages, each checked on load).
 *
 * 5. The real server (`npm start`'s command) started on the same log from the default policy's
 *    worst-case snapshot, timed from the spawn until /health answers 200.
 *
 * Figures: log size, snapshot size and the time to write one (encode, verify, fsync), restart per
 * N (snapshot load + tail), restart by full replay, the real server's start. The log is in the
 * page cache: this is the CPU side of recovery, as on a restart right after a crash. Steps 3 and 4
 * run in a child process each, timed inside it around recovery; step 5 adds what a real start adds (process start, worker threads, the
 * listener). Each restart reports wall time and CPU time (user + system, all threads of the
 * process): on a shared machine the CPU time is the steadier figure.
 *
 * Run alone: node --import tsx --expose-gc bench/snapshot_bench.ts [--quick]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExchangeCore } from '../src/core/exchange_core.ts';
import { stateDigest } from '../src/core/state_digest.ts';
import { createCommand } from '../src/domain/commands.ts';
import type { CoreLimits } from '../src/domain/limits.ts';
import { DEFAULT_CORE_LIMITS } from '../src/domain/limits.ts';
import type { MarketSet } from '../src/domain/markets.ts';
import { defaultMarketSet } from '../src/domain/markets.ts';
import { RejectCode } from '../src/domain/reject_codes.ts';
import type { ReadModelsOptions } from '../src/gateway/read_models.ts';
import { ReadModels } from '../src/gateway/read_models.ts';
import type { LoadPhases } from '../src/snapshot/recover_state.ts';
import { recoverState } from '../src/snapshot/recover_state.ts';
import { parseSnapshotFileName, snapshotDirectory } from '../src/snapshot/snapshot_file.ts';
import { SNAPSHOT_EVERY_RECORDS_DEFAULT } from '../src/snapshot/snapshot_policy.ts';
import { SnapshotTaker } from '../src/snapshot/snapshot_taker.ts';
import type { TakenSnapshot } from '../src/snapshot/snapshot_taker.ts';
import { recoverWal } from '../src/wal/recovery.ts';
import { walConfig } from '../src/wal/wal_config.ts';
import { WalWriter } from '../src/wal/wal_writer.ts';
import {
  REPO_ROOT,
  benchTempDir,
  collectGarbage,
  formatInteger,
  freePort,
  freshProcessRequest,
  inFreshProcess,
  megabytes,
  ownChild,
  processCpuSeconds,
  progress,
  removeDir,
  SERVER_NODE_ARGS,
  serverEnv,
  sleep,
  stopChild,
  tail,
} from './bench_support.ts';
import type { FlowOptions } from './flows.ts';
import { FlowGenerator, MIXED_FLOW } from './flows.ts';

export interface RestartFigures {
  /** The snapshot policy's interval N: the newest snapshot is N records before the end of the log. */
  everyRecords: number;
  snapshotSeq: number;
  tailRecords: number;
  snapshotLoadMs: number;
  /** Where the load went: file (read, SHA-256, parse), core rebuilt, digest + invariants, read models. */
  snapshotLoadPhasesMs: LoadPhases | null;
  restartMs: number;
  restartCpuMs: number;
  /** Whether recovery read the tail with its reader thread (its own choice, as on a server start). */
  walReadThread: boolean;
}

export interface SnapshotBenchResult {
  records: number;
  walMb: number;
  snapshotMb: number;
  /** Encode, verify (decode, rebuild, compare) and write one snapshot, in the worker. */
  snapshotWriteMs: number;
  /** The default policy's interval (SNAPSHOT_EVERY_RECORDS_DEFAULT). */
  everyRecords: number;
  /** Restart from the snapshot `everyRecords` before the end: the default policy's worst case. */
  restartMs: number;
  restartCpuMs: number;
  snapshotLoadMs: number;
  tailRecords: number;
  /**
   * The same restart with the other choice of WAL reading (the reader thread forced on when the
   * policy read the tail inline, or off when it used the thread), run right after it, for comparison.
   */
  restartOtherReaderMs: number;
  restartOtherReaderCpuMs: number;
  /** Whether that comparison run used the reader thread. */
  otherReaderThread: boolean;
  /** Restart right before the next snapshot was due, for each interval N (the worst case of N). */
  restarts: RestartFigures[];
  /** The real server started on the log from that same snapshot: spawn until /health is 200 (see timedServerStart). */
  serverStartMs: number;
  serverStartCpuMs: number;
  /** The server's own account of that start (boot, recovery, workers, listen, total), from its log. */
  serverStartupMs: ServerStartupMs | null;
  /**
   * Restart by replaying the whole log of `records`. Measured when `fullReplayMeasuredRecords`
   * equals `records`; otherwise (the full run) extrapolated linearly from the replay of the first
   * `fullReplayMeasuredRecords` records, and `fullReplayExtrapolated` is true.
   */
  fullReplayMs: number;
  fullReplayExtrapolated: boolean;
  fullReplayMeasuredRecords: number;
  fullReplayMeasuredMs: number;
  fullReplayMeasuredCpuMs: number;
  fullReplayRecordsPerSec: number;
  openOrders: number;
  accounts: number;
}

export interface FlowLogOptions {
  /** Records to write (accepted commands: seq 1..records). */
  records: number;
  seed: number;
  flow?: Partial<Omit<FlowOptions, 'seed'>>;
  segmentBytesMax?: number;
  marketSet?: MarketSet;
  limits?: CoreLimits;
  /** Called after every flush with the last seq written (where a snapshot worker may follow). */
  onFlushed?: (lastSeq: number) => void;
}

const CLOCK_BASE_MS = 1_700_000_000_000;

/**
 * Writes the log a server would have written for a seeded flow: the commands a core accepts, in
 * seq order. Durability 'none': this is test and benchmark data generation, not the server.
 */
export function writeFlowLog(dataDir: string, options: FlowLogOptions): { lastSeq: number } {
  const marketSet = options.marketSet ?? defaultMarketSet();
  const generator = new FlowGenerator(marketSet, { ...MIXED_FLOW, ...options.flow, seed: options.seed });
  const core = new ExchangeCore(marketSet, options.limits ?? DEFAULT_CORE_LIMITS);
  const overrides = options.segmentBytesMax === undefined ? {} : { segmentBytesMax: options.segmentBytesMax, batchBytesMax: 16 * 1024 };
  const writer = new WalWriter(walConfig(dataDir, { durability: 'none', batchRecordsMax: 4096, ...overrides }), recoverWal(dataDir));
  const command = createCommand();
  for (let index = 0; core.lastSeq < options.records; index += 1) {
    generator.next(command);
    if (core.submit(command, CLOCK_BASE_MS + Math.floor(index / 1000)) !== RejectCode.None) continue;
    generator.accepted(command);
    writer.append(command);
    if (writer.full) {
      writer.flush();
      options.onFlushed?.(writer.durableSeq);
    }
  }
  writer.flush();
  options.onFlushed?.(writer.durableSeq);
  writer.close();
  return { lastSeq: core.lastSeq };
}

const READ_MODELS: ReadModelsOptions = {};
/** The full run measures full replay on a prefix of the log and extrapolates (10M would take minutes). */
const FULL_REPLAY_MEASURED_RECORDS = 1_000_000;
const SERVER_START_TIMEOUT_MS = 120_000;

export async function benchSnapshot(options: { quick: boolean }): Promise<SnapshotBenchResult> {
  const records = options.quick ? 1_000_000 : 10_000_000;
  const everyRecords = SNAPSHOT_EVERY_RECORDS_DEFAULT;
  const largest = options.quick ? 500_000 : 1_000_000;
  const intervals = [...new Set([100_000, everyRecords, largest])].filter((interval) => interval < records).sort((a, b) => a - b);
  if (!intervals.includes(everyRecords)) throw new Error(`snapshot bench: the default interval ${everyRecords} does not fit a log of ${records}`);
  const marketSet = defaultMarketSet();
  const dir = benchTempDir('snapshot-');
  try {
    progress(`snapshot: writing a log of ${formatInteger(records)} records (durability 'none', generation only), snapshots ${intervals.map(formatInteger).join(', ')} records before its end`);
    const taken = writeLogWithSnapshots(dir, marketSet, records, intervals.map((interval) => records - interval));
    const last = taken[taken.length - 1];
    if (last === undefined) throw new Error('snapshot bench: no snapshot was taken');
    const walBytes = recoverWal(dir).segments.reduce((sum, segment) => sum + segment.bytes, 0);

    const restarts: RestartFigures[] = [];
    const digests: string[] = [];
    for (const interval of intervals) {
      collectGarbage();
      const restart = withNewerSnapshotsAside(dir, records - interval, () => coldRestart(dir, true));
      progress(
        `snapshot: N = ${formatInteger(interval)}: restart from the snapshot at ${formatInteger(restart.snapshotSeq)} ` +
          `(loaded in ${restart.loadMs.toFixed(0)} ms: ${phasesText(restart.loadPhases)}) + ${formatInteger(restart.tail)} records` +
          `${restart.walReadThread ? ' (reader thread)' : ''}: ${restart.ms.toFixed(0)} ms (cpu ${restart.cpuMs.toFixed(0)} ms)`,
      );
      restarts.push({
        everyRecords: interval,
        snapshotSeq: restart.snapshotSeq,
        tailRecords: restart.tail,
        snapshotLoadMs: restart.loadMs,
        snapshotLoadPhasesMs: restart.loadPhases,
        restartMs: restart.ms,
        restartCpuMs: restart.cpuMs,
        walReadThread: restart.walReadThread,
      });
      digests.push(restart.digest);
    }
    const worst = restarts.find((restart) => restart.everyRecords === everyRecords)!;
    collectGarbage();
    const otherReader = worst.walReadThread ? 'off' : 'on';
    const other = withNewerSnapshotsAside(dir, records - everyRecords, () => coldRestart(dir, true, undefined, otherReader));
    digests.push(other.digest);
    progress(
      `snapshot: N = ${formatInteger(everyRecords)} again with the WAL read ${other.walReadThread ? 'by the reader thread' : 'inline'}: ` +
        `${other.ms.toFixed(0)} ms (cpu ${other.cpuMs.toFixed(0)} ms)`,
    );
    collectGarbage();
    const measuredRecords = Math.min(records, FULL_REPLAY_MEASURED_RECORDS);
    const full = coldRestart(dir, false, measuredRecords === records ? undefined : measuredRecords);
    const extrapolated = measuredRecords !== records;
    const fullReplayMs = (full.ms * records) / full.tail;
    progress(
      `snapshot: restart by full replay of ${formatInteger(full.tail)} records: ${full.ms.toFixed(0)} ms (cpu ${full.cpuMs.toFixed(0)} ms)` +
        (extrapolated ? `; × ${records / full.tail} for the whole log: ${(fullReplayMs / 1000).toFixed(1)} s (extrapolated)` : ''),
    );
    // Every restart from a snapshot must give the state of a full replay: the same digest. The full
    // run does not replay the whole log (minutes), so there the restarts from snapshots of different
    // ages, each checked against its own digest while loading, must agree with each other.
    const reference = extrapolated ? digests[0]! : full.digest;
    for (const digest of digests) if (digest !== reference) throw new Error(`snapshot bench: digests differ (${digest} vs ${reference})`);
    collectGarbage();
    const server = await timedServerStart(dir, records - everyRecords);
    progress(
      `snapshot: the real server (npm start) on the same log, newest snapshot ${formatInteger(everyRecords)} records before its end: ` +
        `/health 200 after ${server.ms.toFixed(0)} ms (process cpu ${server.cpuMs.toFixed(0)} ms, all threads); the server's account: ${JSON.stringify(server.startupMs)}`,
    );
    return {
      records,
      walMb: megabytes(walBytes),
      snapshotMb: megabytes(last.bytes),
      snapshotWriteMs: last.elapsedMs,
      everyRecords,
      restartMs: worst.restartMs,
      restartCpuMs: worst.restartCpuMs,
      snapshotLoadMs: worst.snapshotLoadMs,
      tailRecords: worst.tailRecords,
      restartOtherReaderMs: other.ms,
      restartOtherReaderCpuMs: other.cpuMs,
      otherReaderThread: other.walReadThread,
      restarts,
      serverStartMs: server.ms,
      serverStartCpuMs: server.cpuMs,
      serverStartupMs: server.startupMs,
      fullReplayMs,
      fullReplayExtrapolated: extrapolated,
      fullReplayMeasuredRecords: full.tail,
      fullReplayMeasuredMs: full.ms,
      fullReplayMeasuredCpuMs: full.cpuMs,
      fullReplayRecordsPerSec: full.tail / (full.ms / 1000),
      openOrders: full.openOrders,
      accounts: full.accounts,
    };
  } finally {
    removeDir(dir);
  }
}

/**
 * The log, with a SnapshotTaker following it as the server's worker does and writing a snapshot
 * at each of `snapshotSeqs` (all kept).
 */
function writeLogWithSnapshots(dir: string, marketSet: MarketSet, records: number, snapshotSeqs: number[]): TakenSnapshot[] {
  let taker: SnapshotTaker | undefined;
  const taken: TakenSnapshot[] = [];
  const pending = [...snapshotSeqs].sort((a, b) => a - b);
  const started = performance.now();
  writeFlowLog(dir, {
    records,
    seed: 8,
    onFlushed: (lastSeq) => {
      taker ??= new SnapshotTaker({
        dataDir: dir,
        marketSet,
        limits: DEFAULT_CORE_LIMITS,
        readModels: READ_MODELS,
        policy: { everyRecords: 1, everyMs: 0, keep: pending.length, walRetention: 'keep' },
        startSeq: 0,
      });
      while (pending.length > 0 && pending[0]! <= lastSeq) {
        taker.follow(pending.shift()!, Number.MAX_SAFE_INTEGER);
        taken.push(taker.take());
        progress(`snapshot: written at seq ${formatInteger(taker.lastSeq)} in ${taken[taken.length - 1]!.elapsedMs.toFixed(0)} ms`);
      }
    },
  });
  taker?.close();
  progress(`snapshot: log and snapshots written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return taken;
}

function phasesText(phases: LoadPhases | null): string {
  if (phases === null) return 'no phases';
  return `file ${phases.fileMs.toFixed(0)}, core ${phases.coreMs.toFixed(0)}, digest + invariants ${phases.checkMs.toFixed(0)}, read models ${phases.readModelsMs.toFixed(0)} ms`;
}

/** Runs `fn` with the snapshots after `seq` moved aside (a restart as if they had not been written yet). */
function withNewerSnapshotsAside<T>(dir: string, seq: number, fn: () => T): T {
  const restore = setNewerSnapshotsAside(dir, seq);
  try {
    return fn();
  } finally {
    restore();
  }
}

/** Moves the snapshots newer than `seq` aside; returns what puts them back. */
function setNewerSnapshotsAside(dir: string, seq: number): () => void {
  const snapshots = snapshotDirectory(dir);
  const aside = path.join(dir, 'snapshots-aside');
  fs.mkdirSync(aside, { recursive: true });
  const moved = fs.readdirSync(snapshots).filter((name) => (parseSnapshotFileName(name) ?? 0) > seq);
  for (const name of moved) fs.renameSync(path.join(snapshots, name), path.join(aside, name));
  return () => {
    for (const name of moved) fs.renameSync(path.join(aside, name), path.join(snapshots, name));
  };
}

/**
 * The real server (`npm start`'s command) started on the log, from the same worst-case snapshot,
 * timed from the spawn until /health answers 200: what an operator waits for after a crash. On top
 * of recovery it counts the process start (node, the sources' bundle, the gateway's routes), the
 * stage workers' start (each rebuilds its part of the state from the recovered one) and the HTTP
 * listener; the server's own account of where the time went (`startupMs` of its listening line)
 * comes with it.
 * Run last: the server's own snapshot worker may write a snapshot into the directory.
 */
async function timedServerStart(dir: string, snapshotSeq: number): Promise<{ ms: number; cpuMs: number; startupMs: ServerStartupMs | null }> {
  const restore = setNewerSnapshotsAside(dir, snapshotSeq);
  const port = await freePort();
  const logFile = path.join(dir, 'server-start.log');
  const log = fs.openSync(logFile, 'a');
  const started = performance.now();
  const child = ownChild(
    spawn(process.execPath, [...SERVER_NODE_ARGS], { cwd: REPO_ROOT, env: serverEnv(port, dir), stdio: ['ignore', log, log] }),
  );
  fs.closeSync(log);
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`snapshot bench: the server exited before it was healthy:\n${tail(logFile, 20)}`);
      if (performance.now() - started > SERVER_START_TIMEOUT_MS) throw new Error(`snapshot bench: the server was not healthy within ${SERVER_START_TIMEOUT_MS} ms`);
      const healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
        async (response) => {
          await response.arrayBuffer();
          return response.status === 200;
        },
        () => false,
      );
      if (healthy) break;
      await sleep(20);
    }
    return { ms: performance.now() - started, cpuMs: processCpuSeconds(child.pid!) * 1000, startupMs: startupMsOf(logFile) };
  } finally {
    const code = await stopChild(child);
    restore();
    if (code !== 0) progress(`snapshot: the started server exited with code ${code}:\n${tail(logFile, 20)}`);
  }
}

/** Where a server start's time went, as the server logs it (src/cli/start_server.ts). */
export interface ServerStartupMs {
  boot: number;
  recovery: number;
  workers: number;
  listen: number;
  total: number;
}

function startupMsOf(logFile: string): ServerStartupMs | null {
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"startupMs"')) continue;
    try {
      return (JSON.parse(line) as { startupMs: ServerStartupMs }).startupMs;
    } catch {
      return null;
    }
  }
  return null;
}

type RestartResult = ReturnType<typeof timedRestart>;

/**
 * A restart as a restarted server meets it: `timedRestart` in a fresh process, so that nothing is
 * compiled yet (this process has just run the same code to write the log and its snapshots). Only
 * recovery itself is timed, from inside the child; the child's own start is not counted.
 */
function coldRestart(dir: string, useSnapshots: boolean, toSeq?: number, walReadThread: 'auto' | 'on' | 'off' = 'auto'): RestartResult {
  const request: RestartRequest = { dir, useSnapshots, toSeq: toSeq ?? null, walReadThread };
  return inFreshProcess<RestartResult>('snapshot_bench', RESTART_CHILD_FLAG, request);
}

interface RestartRequest {
  dir: string;
  useSnapshots: boolean;
  toSeq: number | null;
  walReadThread: 'auto' | 'on' | 'off';
}

const RESTART_CHILD_FLAG = '--restart-child';

/**
 * ThreadedPipeline.start's recovery, timed: the gateway's read models restored and fed. With
 * `toSeq`, the replay command's read-only recovery up to that seq (a prefix of the log).
 */
function timedRestart(dir: string, marketSet: MarketSet, useSnapshots: boolean, toSeq?: number, walReadThread: 'auto' | 'on' | 'off' = 'auto') {
  const readModels = new ReadModels(marketSet, READ_MODELS);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const mode = toSeq === undefined ? { mode: 'recover' as const } : { mode: 'read' as const, toSeq };
  const recovered = recoverState(dir, { marketSet, limits: DEFAULT_CORE_LIMITS, ...mode, useSnapshots, readModels, walReadThread });
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const summary = stateDigest(recovered.core);
  return {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    tail: recovered.walRecords,
    snapshotSeq: recovered.snapshot?.seq ?? 0,
    loadMs: recovered.snapshot?.loadMs ?? 0,
    loadPhases: recovered.snapshot?.loadPhasesMs ?? null,
    digest: summary.digest,
    walReadThread: recovered.walReadThread,
    openOrders: summary.openOrders,
    accounts: summary.accounts,
  };
}

const request = freshProcessRequest<RestartRequest>(RESTART_CHILD_FLAG);
if (request !== undefined) {
  const result = timedRestart(request.dir, defaultMarketSet(), request.useSnapshots, request.toSeq ?? undefined, request.walReadThread);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const result = await benchSnapshot({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(result, null, 2));
}
