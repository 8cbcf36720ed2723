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
import * as os from 'node:os';
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
  | { type: 'ready'; startSeq: number; leftoversRemoved: string[]; nice: number; niceError: string }
  | { type: 'written'; seq: number; file: string; bytes: number; elapsedMs: number; digest: StateSummary; retention: RetentionReport }
  | { type: 'write-failed'; seq: number; message: string }
  | { type: 'failed'; message: string; stack: string };

/** Records applied between looks at the stop flag and the triggers. */
const FOLLOW_BATCH_RECORDS = 16_384;
/**
 * The worker's thread runs at this nice value (Linux: the nice value is per thread). It re-executes
 * every command the pipeline executes, so on a 2-core machine it competes with the gateway and the
 * stages for CPU; a lower priority lets them go first, and the worker catches up in idle time. It
 * reads the durable WAL from the files, so falling behind slows nothing but the next snapshot. +5
 * (CFS weight 335 against 1024) still gives it about a quarter of a contended core, so it keeps
 * taking snapshots under sustained load, only later.
 */
const SNAPSHOT_WORKER_NICE = 5;
/** How long an idle worker sleeps before it looks at durableSeq again. */
const IDLE_POLL_MS = 20;

function post(message: SnapshotWorkerMessage): void {
  parentPort?.postMessage(message);
}

function describe(error: unknown): { message: string; stack: string } {
  const cause = error instanceof Error ? error : new Error(String(error));
  return { message: `${cause.name}: ${cause.message}`, stack: cause.stack ?? '' };
}

/** Lowers this thread's priority; returns why it could not ('' when it did). */
function lowerThreadPriority(): string {
  try {
    // pid 0 is the calling thread on Linux; elsewhere it is the whole process, which must not be lowered.
    if (process.platform !== 'linux') return `no per-thread nice value on ${process.platform}`;
    os.setPriority(0, SNAPSHOT_WORKER_NICE);
    return '';
  } catch (error) {
    return describe(error).message;
  }
}

/** Sleeps until the stop request or IDLE_POLL_MS; a function of its own so that profiles tell this wait from work. */
function idle(control: Int32Array): void {
  Atomics.wait(control, 0, 0, IDLE_POLL_MS);
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
  const niceError = lowerThreadPriority();
  post({ type: 'ready', startSeq: data.startSeq, leftoversRemoved, nice: SNAPSHOT_WORKER_NICE, niceError });
  try {
    while (Atomics.load(control, 0) === 0) {
      const durableSeq = counters.durableSeq;
      const applied = durableSeq > taker.lastSeq ? taker.follow(durableSeq, FOLLOW_BATCH_RECORDS) : 0;
      if (taker.due(durableSeq)) takeOne(taker);
      else if (applied === 0) idle(control);
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
