/**
 * What the snapshot tests share: a seeded log on disk (bench/snapshot_bench.ts writeFlowLog),
 * a SnapshotTaker driven by hand, recovery both ways (newest snapshot + tail, whole WAL), and a
 * log that records what recovery said.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFlowLog } from '../../bench/snapshot_bench.ts';
import { exportCoreState } from '../../src/core/core_state.ts';
import type { CoreState } from '../../src/core/core_state.ts';
import { stateDigest } from '../../src/core/state_digest.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import type { ReadModelsOptions, ReadModelsState } from '../../src/gateway/read_models.ts';
import { ReadModels } from '../../src/gateway/read_models.ts';
import type { StateRecovery, StateRecoveryOptions } from '../../src/snapshot/recover_state.ts';
import { recoverState } from '../../src/snapshot/recover_state.ts';
import type { SnapshotPolicy } from '../../src/snapshot/snapshot_policy.ts';
import { SnapshotTaker } from '../../src/snapshot/snapshot_taker.ts';

export const marketSet = defaultMarketSet();
export const limits = DEFAULT_CORE_LIMITS;

/** Small read-model limits, so that eviction of closed orders, fills and funding results happens. */
export const READ_MODELS: ReadModelsOptions = { closedOrdersMax: 700, fillsMax: 400, fundingResultsMax: 60, tradesMax: 25 };

/** A flow small enough for a test, with a real book and real idempotency traffic. */
export const TEST_FLOW = { accounts: 150, bookTarget: 1_500, fundingScale: 0.05 };

/** Small segments: a 20,000-record log spans several of them. */
export const SEGMENT_BYTES = 128 * 1024;

export function tempDir(prefix = 'snapshot-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function writeLog(dataDir: string, records: number, seed = 11): number {
  return writeFlowLog(dataDir, { records, seed, flow: TEST_FLOW, segmentBytesMax: SEGMENT_BYTES }).lastSeq;
}

export function newTaker(dataDir: string, policy: Partial<SnapshotPolicy> = {}, startSeq = 0): SnapshotTaker {
  return new SnapshotTaker({
    dataDir,
    marketSet,
    limits,
    readModels: READ_MODELS,
    policy: { everyRecords: 1, everyMs: 0, keep: 100, walRetention: 'keep', ...policy },
    startSeq,
  });
}

/** Follows the log to each seq in turn and takes a snapshot there; returns their seqs. */
export function takeSnapshotsAt(dataDir: string, seqs: readonly number[], policy: Partial<SnapshotPolicy> = {}): number[] {
  const taker = newTaker(dataDir, policy);
  try {
    for (const seq of seqs) {
      taker.follow(seq, Number.MAX_SAFE_INTEGER);
      taker.take();
    }
  } finally {
    taker.close();
  }
  return [...seqs];
}

export interface RecordingLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  lines: { level: string; message: string; fields: object }[];
}

export function recordingLog(): RecordingLog {
  const lines: RecordingLog['lines'] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', message, fields }),
    warn: (fields, message) => lines.push({ level: 'warn', message, fields }),
    error: (fields, message) => lines.push({ level: 'error', message, fields }),
  };
}

export interface Recovered {
  recovery: StateRecovery;
  digest: string;
  core: CoreState;
  readModels: ReadModelsState;
}

/** recoverState with fresh read models (READ_MODELS limits); the whole state, exported for comparison. */
export function recover(dataDir: string, options: Partial<StateRecoveryOptions> = {}): Recovered {
  const readModels = new ReadModels(marketSet, READ_MODELS);
  const recovery = recoverState(dataDir, { marketSet, limits, mode: 'read', readModels, ...options });
  return {
    recovery,
    digest: stateDigest(recovery.core).digest,
    core: exportCoreState(recovery.core),
    readModels: readModels.exportState(),
  };
}

export function snapshotFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'snapshots');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

export function flipBit(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = bytes[at]! ^ 0x10;
  fs.writeFileSync(file, bytes);
}
