/**
 * The snapshot worker thread: follows the durable WAL into its own core and read models
 * (SnapshotTaker) and writes snapshots in the background, so that trading never waits for one.
 *
 * It reads only what the WAL writer has published as durable (SharedCounters.durableSeq), from the
 * segment files, and talks to the main thread only by messages: it is not on the path of any
 * acknowledgement. A failed write is reported and retried at the next trigger; anything that
 * questions its own state (a record that does not verify, a broken invariant, a snapshot that does
 * not decode to the same digest) ends the worker, reported loudly, and the server keeps trading
 * without new snapshots: a snapshot is an optimisation, a wrong one is never written.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InvariantError } from '../domain/assert.ts';
import type { CoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import { InvariantViolation } from '../core/invariants.ts';
import type { StateSummary } from '../core/state_digest.ts';
import type { ReadModelsOptions } from '../gateway/read_models.ts';
import { SharedCounters } from '../pipeline/shared_counters.ts';
import type { RetentionReport } from './retention.ts';
import { removeSnapshotLeftovers } from './retention.ts';
import type { SnapshotPolicy } from './snapshot_policy.ts';
import { SnapshotTaker } from './snapshot_taker.ts';

export interface SnapshotWorkerData {
  dataDir: string;
  marketSet: MarketSet;
  limits: CoreLimits;
  readModels: ReadModelsOptions;
  policy: SnapshotPolicy;
  /** The snapshot recovery used, or 0: the worker starts from the same point. */
  startSeq: number;
  /** The pipeline's SharedCounters memory (durableSeq). */
  counters: SharedArrayBuffer;
  /** Int32 slot 0: set to 1 (and notified) to stop. */
  control: SharedArrayBuffer;
}

export type SnapshotWorkerMessage =
  | { type: 'ready'; startSeq: number; leftoversRemoved: string[] }
  | { type: 'written'; seq: number; file: string; bytes: number; elapsedMs: number; digest: StateSummary; retention: RetentionReport }
  | { type: 'write-failed'; seq: number; message: string }
  | { type: 'failed'; message: string; stack: string };

/** Records applied between looks at the stop flag and the triggers. */
const FOLLOW_BATCH_RECORDS = 16_384;
/** How long an idle worker sleeps before it looks at durableSeq again. */
const IDLE_POLL_MS = 20;

function post(message: SnapshotWorkerMessage): void {
  parentPort?.postMessage(message);
}

function describe(error: unknown): { message: string; stack: string } {
  const cause = error instanceof Error ? error : new Error(String(error));
  return { message: `${cause.name}: ${cause.message}`, stack: cause.stack ?? '' };
}

function run(data: SnapshotWorkerData): void {
  const control = new Int32Array(data.control);
  const counters = new SharedCounters(data.counters);
  const leftoversRemoved = removeSnapshotLeftovers(data.dataDir);
  const taker = new SnapshotTaker({
    dataDir: data.dataDir,
    marketSet: data.marketSet,
    limits: data.limits,
    readModels: data.readModels,
    policy: data.policy,
    startSeq: data.startSeq,
  });
  post({ type: 'ready', startSeq: data.startSeq, leftoversRemoved });
  try {
    while (Atomics.load(control, 0) === 0) {
      const durableSeq = counters.durableSeq;
      const applied = durableSeq > taker.lastSeq ? taker.follow(durableSeq, FOLLOW_BATCH_RECORDS) : 0;
      if (taker.due(durableSeq)) takeOne(taker);
      else if (applied === 0) Atomics.wait(control, 0, 0, IDLE_POLL_MS);
    }
  } finally {
    taker.close();
  }
}

function takeOne(taker: SnapshotTaker): void {
  try {
    const taken = taker.take();
    post({ type: 'written', ...taken });
  } catch (error) {
    // A state that fails its own checks is not retried: the worker ends (see the module comment).
    if (error instanceof InvariantError || error instanceof InvariantViolation) throw error;
    post({ type: 'write-failed', seq: taker.lastSeq, ...describe(error) });
  }
}

try {
  run(workerData as SnapshotWorkerData);
} catch (error) {
  post({ type: 'failed', ...describe(error) });
}
