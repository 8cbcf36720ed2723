/**
 * Snapshot benchmark: how long a restart takes with a long log, with snapshots and without.
 *
 * 1. A log of 10,000,000 records (quick: 1,000,000) of the realistic mixed flow (MIXED_FLOW) is
 *    generated: commands from the seeded FlowGenerator, sequenced and pre-checked by a core, and
 *    appended with a WalWriter in durability 'none' — FOR GENERATION ONLY, so that writing the
 *    log takes seconds instead of an fsync per batch; the restart reads the same bytes either way.
 * 2. While it is written, a SnapshotTaker follows it exactly as the server's snapshot worker does
 *    (durable records only, its own core and read models) and writes a snapshot every 250,000
 *    records (quick: 100,000), up to one interval before the end of the log.
 * 3. Restarts, timed: recoverState as ThreadedPipeline.start runs it ('recover' mode, the gateway's
 *    read models restored and fed). For each policy interval N (250k, 500k, 1M; quick: 100k, 200k,
 *    500k) the newest snapshot used is the one N records before the end — a restart right before
 *    the next snapshot was due, the worst case of that policy (on average the tail is half);
 *    newer snapshots are moved aside for that run. Then the whole log (`--full`). Every restart
 *    must give the full replay's digest.
 *
 * Figures: log size, snapshot size and the time to write one (encode, verify, fsync), restart per
 * N (snapshot load + tail), restart by full replay. The log is in the page cache: this is the CPU
 * side of recovery, as on a restart right after a crash. In-process: a real start adds the spawn
 * of the worker threads. Each restart reports wall time and CPU time (user + system, all threads of
 * this process): on a shared machine the CPU time is the steadier figure.
 *
 * Run alone: node --import tsx --expose-gc bench/snapshot_bench.ts [--quick]
 */
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
import { recoverState } from '../src/snapshot/recover_state.ts';
import { parseSnapshotFileName, snapshotDirectory } from '../src/snapshot/snapshot_file.ts';
import { SnapshotTaker } from '../src/snapshot/snapshot_taker.ts';
import type { TakenSnapshot } from '../src/snapshot/snapshot_taker.ts';
import { recoverWal } from '../src/wal/recovery.ts';
import { walConfig } from '../src/wal/wal_config.ts';
import { WalWriter } from '../src/wal/wal_writer.ts';
import { benchTempDir, collectGarbage, formatInteger, megabytes, progress, removeDir } from './bench_support.ts';
import type { FlowOptions } from './flows.ts';
import { FlowGenerator, MIXED_FLOW } from './flows.ts';

export interface RestartFigures {
  /** The snapshot policy's interval N: the newest snapshot is N records before the end of the log. */
  everyRecords: number;
  snapshotSeq: number;
  tailRecords: number;
  snapshotLoadMs: number;
  restartMs: number;
  restartCpuMs: number;
}

export interface SnapshotBenchResult {
  records: number;
  walMb: number;
  snapshotMb: number;
  /** Encode, verify (decode, rebuild, compare) and write one snapshot, in the worker. */
  snapshotWriteMs: number;
  /** Restart right before the next snapshot was due, for each interval N (the worst case of N). */
  restarts: RestartFigures[];
  restartFullReplayMs: number;
  restartFullReplayCpuMs: number;
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

export async function benchSnapshot(options: { quick: boolean }): Promise<SnapshotBenchResult> {
  const records = options.quick ? 1_000_000 : 10_000_000;
  const intervals = options.quick ? [100_000, 200_000, 500_000] : [250_000, 500_000, 1_000_000];
  const step = intervals[0]!;
  const largest = intervals[intervals.length - 1]!;
  const marketSet = defaultMarketSet();
  const dir = benchTempDir('snapshot-');
  try {
    progress(`snapshot: writing a log of ${formatInteger(records)} records (durability 'none', generation only), a snapshot every ${formatInteger(step)}`);
    const taken = writeLogWithSnapshots(dir, marketSet, records, step, largest / step);
    const last = taken[taken.length - 1];
    if (last === undefined) throw new Error('snapshot bench: no snapshot was taken');
    const walBytes = recoverWal(dir).segments.reduce((sum, segment) => sum + segment.bytes, 0);

    const restarts: RestartFigures[] = [];
    const digests: string[] = [];
    for (const everyRecords of intervals) {
      collectGarbage();
      const restart = withNewerSnapshotsAside(dir, records - everyRecords, () => timedRestart(dir, marketSet, true));
      progress(
        `snapshot: N = ${formatInteger(everyRecords)}: restart from the snapshot at ${formatInteger(restart.snapshotSeq)} ` +
          `(loaded in ${restart.loadMs.toFixed(0)} ms) + ${formatInteger(restart.tail)} records: ${restart.ms.toFixed(0)} ms (cpu ${restart.cpuMs.toFixed(0)} ms)`,
      );
      restarts.push({
        everyRecords,
        snapshotSeq: restart.snapshotSeq,
        tailRecords: restart.tail,
        snapshotLoadMs: restart.loadMs,
        restartMs: restart.ms,
        restartCpuMs: restart.cpuMs,
      });
      digests.push(restart.digest);
    }
    collectGarbage();
    const full = timedRestart(dir, marketSet, false);
    progress(`snapshot: restart by full replay of ${formatInteger(full.tail)} records: ${full.ms.toFixed(0)} ms (cpu ${full.cpuMs.toFixed(0)} ms)`);
    for (const digest of digests) if (digest !== full.digest) throw new Error(`snapshot bench: digests differ (${digest} vs ${full.digest})`);
    return {
      records,
      walMb: megabytes(walBytes),
      snapshotMb: megabytes(last.bytes),
      snapshotWriteMs: last.elapsedMs,
      restarts,
      restartFullReplayMs: full.ms,
      restartFullReplayCpuMs: full.cpuMs,
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
 * at every multiple of `step` up to `records − step`; the newest `keep` are kept.
 */
function writeLogWithSnapshots(dir: string, marketSet: MarketSet, records: number, step: number, keep: number): TakenSnapshot[] {
  let taker: SnapshotTaker | undefined;
  const taken: TakenSnapshot[] = [];
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
        policy: { everyRecords: step, everyMs: 0, keep, walRetention: 'keep' },
        startSeq: 0,
      });
      for (;;) {
        const next = (Math.floor(taker.lastSeq / step) + 1) * step;
        if (next > records - step || next > lastSeq) break;
        taker.follow(next, Number.MAX_SAFE_INTEGER);
        taken.push(taker.take());
        progress(`snapshot: written at seq ${formatInteger(taker.lastSeq)} in ${taken[taken.length - 1]!.elapsedMs.toFixed(0)} ms`);
      }
    },
  });
  taker?.close();
  progress(`snapshot: log and snapshots written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return taken;
}

/** Runs `fn` with the snapshots after `seq` moved aside (a restart as if they had not been written yet). */
function withNewerSnapshotsAside<T>(dir: string, seq: number, fn: () => T): T {
  const snapshots = snapshotDirectory(dir);
  const aside = path.join(dir, 'snapshots-aside');
  fs.mkdirSync(aside, { recursive: true });
  const moved = fs.readdirSync(snapshots).filter((name) => (parseSnapshotFileName(name) ?? 0) > seq);
  for (const name of moved) fs.renameSync(path.join(snapshots, name), path.join(aside, name));
  try {
    return fn();
  } finally {
    for (const name of moved) fs.renameSync(path.join(aside, name), path.join(snapshots, name));
  }
}

/** ThreadedPipeline.start's recovery, timed: the gateway's read models restored and fed. */
function timedRestart(dir: string, marketSet: MarketSet, useSnapshots: boolean) {
  const readModels = new ReadModels(marketSet, READ_MODELS);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const recovered = recoverState(dir, { marketSet, limits: DEFAULT_CORE_LIMITS, mode: 'recover', useSnapshots, readModels });
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const summary = stateDigest(recovered.core);
  return {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    tail: recovered.walRecords,
    snapshotSeq: recovered.snapshot?.seq ?? 0,
    loadMs: recovered.snapshot?.loadMs ?? 0,
    digest: summary.digest,
    openOrders: summary.openOrders,
    accounts: summary.accounts,
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const result = await benchSnapshot({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(result, null, 2));
}
