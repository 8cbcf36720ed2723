/**
 * WAL benchmark: group commit vs one fdatasync per record, through the same writer with fsync on,
 * over the same pre-built realistic commands (the seeded mixed flow of bench/flows.ts: mostly
 * places, some cancels, deposits and withdrawals); plus replay (read + verify + decode).
 *
 * Writes to a temp dir on a real disk: os.tmpdir() unless that is tmpfs (then data/bench-tmp/),
 * removed afterwards. Run alone: `node --import tsx bench/wal_bench.ts [--quick]`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../src/domain/commands.ts';
import { CommandType, createCommand } from '../src/domain/commands.ts';
import { defaultMarketSet } from '../src/domain/markets.ts';
import { RECORD_BYTES_MAX } from '../src/wal/record_codec.ts';
import { recoverWal } from '../src/wal/recovery.ts';
import type { WalDurability } from '../src/wal/wal_config.ts';
import { WAL_BATCH_BYTES_MAX, walConfig } from '../src/wal/wal_config.ts';
import { readRecords } from '../src/wal/wal_reader.ts';
import { WalWriter } from '../src/wal/wal_writer.ts';
import { isTmpfs } from './bench_support.ts';
import { FlowGenerator, MIXED_FLOW } from './flows.ts';

export interface WalBenchResult {
  groupCommitRecordsPerSec: number;
  perRecordFsyncRecordsPerSec: number;
  speedup: number;
  replayRecordsPerSec: number;
}

interface SweepPoint {
  batchRecords: number;
  recordsPerSec: number;
  cpuMicrosPerRecord: number;
  flushes: number;
  bytesPerRecord: number;
}

/** Distinct pre-built commands, reused in a cycle with a fresh seq and timestamp each time. */
const COMMAND_POOL_SIZE = 65_536;
const GROUP_BATCH_RECORDS = 4096;
const SWEEP_BATCH_RECORDS = [1, 16, 64, 256, 1024, 4096, 16_384];

export async function benchWal(options: { quick: boolean }): Promise<WalBenchResult> {
  const root = benchRoot();
  const pool = buildCommandPool();
  const records = options.quick ? 300_000 : 1_000_000;
  const perRecordMs = options.quick ? 1_000 : 3_000;
  try {
    warmUp(root, pool, options.quick ? 200_000 : 500_000);
    const sweep = sweepBatchSizes(root, pool, options.quick ? 100_000 : 300_000, perRecordMs);
    printSweep(sweep);
    const runs = options.quick ? 1 : 3;
    const groupRates: number[] = [];
    const replayRates: number[] = [];
    for (let run = 0; run < runs; run++) {
      const dir = freshDir(root);
      const group = writeRecords(dir, pool, records, GROUP_BATCH_RECORDS, 'fsync', Infinity);
      groupRates.push(group.recordsPerSec);
      const replayed = replay(dir, records);
      replayRates.push(replayed.recordsPerSec);
      console.log(
        `  run ${run + 1}: group commit ${format(group.recordsPerSec)} records/s (${group.cpuMicrosPerRecord.toFixed(2)} CPU µs/record, ` +
          `${group.flushes} fdatasyncs); replay ${format(replayed.recordsPerSec)} records/s (${replayed.cpuMicrosPerRecord.toFixed(2)} CPU µs/record)`,
      );
      fs.rmSync(dir, { recursive: true, force: true });
      collectGarbage();
    }
    const replayRate = median(replayRates);
    const dir = freshDir(root);
    const perRecord = writeRecords(dir, pool, records, 1, 'fsync', perRecordMs).recordsPerSec;
    fs.rmSync(dir, { recursive: true, force: true });
    const groupCommitRecordsPerSec = median(groupRates);
    return {
      groupCommitRecordsPerSec,
      perRecordFsyncRecordsPerSec: perRecord,
      speedup: groupCommitRecordsPerSec / perRecord,
      replayRecordsPerSec: replayRate,
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** The commands of the mixed flow, with places that name earlier ones so cancels have targets. */
function buildCommandPool(): Command[] {
  const generator = new FlowGenerator(defaultMarketSet(), { seed: 42, ...MIXED_FLOW });
  const pool: Command[] = [];
  for (let seq = 1; pool.length < COMMAND_POOL_SIZE; seq++) {
    const command = generator.next(createCommand());
    command.seq = seq;
    generator.accepted(command);
    pool.push(command);
  }
  // Skip most of the initial funding burst so the pool looks like steady-state traffic.
  return pool.filter((command, index) => index >= 2_000 || command.type !== CommandType.Deposit || index % 10 === 0);
}

interface WriteRun {
  records: number;
  recordsPerSec: number;
  /** CPU time of the process per record (encode, copy, syscalls; not the wait for the disk). */
  cpuMicrosPerRecord: number;
  flushes: number;
  bytes: number;
}

/**
 * Appends `records` commands (or fewer, when `timeLimitMs` runs out first), flushing every
 * `batchRecords`: the shell's "flush when N are pending" policy with an input that never drains.
 */
function writeRecords(
  dir: string,
  pool: readonly Command[],
  records: number,
  batchRecords: number,
  durability: WalDurability,
  timeLimitMs: number,
): WriteRun {
  const config = walConfig(dir, {
    batchRecordsMax: batchRecords,
    batchBytesMax: Math.min(WAL_BATCH_BYTES_MAX, Math.max(64 * 1024, batchRecords * RECORD_BYTES_MAX)),
    durability,
  });
  const writer = new WalWriter(config, recoverWal(dir));
  const baseTimestampMs = 1_700_000_000_000;
  const checkEvery = Math.max(1, Math.min(batchRecords, 1024));
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const deadline = started + timeLimitMs;
  let seq = 0;
  while (seq < records) {
    const command = pool[seq % pool.length]!;
    seq += 1;
    command.seq = seq;
    command.timestampMs = baseTimestampMs + (seq >>> 10);
    writer.append(command);
    if (writer.full) {
      writer.flush();
      if (seq % checkEvery === 0 && performance.now() > deadline) break;
    }
  }
  writer.flush();
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const bytes = writer.segmentBytes;
  writer.close();
  return {
    records: seq,
    recordsPerSec: (seq / elapsedMs) * 1000,
    cpuMicrosPerRecord: (cpu.user + cpu.system) / seq,
    flushes: writer.flushes,
    bytes,
  };
}

/** Read + verify + decode of the whole log (from the page cache: this measures the CPU side). */
function replay(dir: string, expectedRecords: number): { recordsPerSec: number; cpuMicrosPerRecord: number } {
  let seqSum = 0;
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const summary = readRecords(dir, { onRecord: (command) => (seqSum += command.seq) });
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  if (summary.records !== expectedRecords || seqSum !== (expectedRecords * (expectedRecords + 1)) / 2) {
    throw new Error(`replay read ${summary.records} records, expected ${expectedRecords}`);
  }
  return { recordsPerSec: (summary.records / elapsedMs) * 1000, cpuMicrosPerRecord: (cpu.user + cpu.system) / summary.records };
}

function sweepBatchSizes(root: string, pool: readonly Command[], records: number, perRecordMs: number): SweepPoint[] {
  const points: SweepPoint[] = [];
  for (const batchRecords of SWEEP_BATCH_RECORDS) {
    const dir = freshDir(root);
    // Small batches are slow: cap them by time like the per-record run.
    const run = writeRecords(dir, pool, records, batchRecords, 'fsync', batchRecords < 1024 ? perRecordMs : Infinity);
    points.push({
      batchRecords,
      recordsPerSec: run.recordsPerSec,
      cpuMicrosPerRecord: run.cpuMicrosPerRecord,
      flushes: run.flushes,
      bytesPerRecord: run.bytes / run.records,
    });
    fs.rmSync(dir, { recursive: true, force: true });
    collectGarbage();
  }
  return points;
}

/**
 * Steady state is what matters for a long-running writer: TurboFan takes a few hundred thousand
 * records (longer on a busy machine) before the encode and decode paths reach their final speed.
 */
function warmUp(root: string, pool: readonly Command[], records: number): void {
  for (let round = 0; round < 3; round++) {
    const dir = freshDir(root);
    writeRecords(dir, pool, records, 4096, 'none', Infinity);
    replay(dir, records);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  collectGarbage();
}

function printSweep(points: readonly SweepPoint[]): void {
  console.log('WAL group commit, fsync on: records per fdatasync → records/s');
  for (const point of points) {
    console.log(
      `  batch ${String(point.batchRecords).padStart(6)}: ${format(point.recordsPerSec).padStart(11)} records/s` +
        `  (${point.flushes} fdatasyncs, ${point.cpuMicrosPerRecord.toFixed(2)} CPU µs/record, ` +
        `${point.bytesPerRecord.toFixed(1)} bytes/record on disk)`,
    );
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A temp dir on a real disk: fsync on tmpfs would measure nothing. */
function benchRoot(): string {
  const tmp = os.tmpdir();
  const base = isTmpfs(tmp) ? fileURLToPath(new URL('../data/bench-tmp/', import.meta.url)) : tmp;
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, 'wal-bench-'));
}

function freshDir(root: string): string {
  return fs.mkdtempSync(path.join(root, 'run-'));
}


function format(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const quick = process.argv.includes('--quick');
  const result = await benchWal({ quick });
  console.log(`group commit (batch ${GROUP_BATCH_RECORDS}, fsync): ${format(result.groupCommitRecordsPerSec)} records/s`);
  console.log(`one fdatasync per record:           ${format(result.perRecordFsyncRecordsPerSec)} records/s`);
  console.log(`speedup:                            ${result.speedup.toFixed(1)}x`);
  console.log(`replay (read + verify + decode):    ${format(result.replayRecordsPerSec)} records/s`);
}
