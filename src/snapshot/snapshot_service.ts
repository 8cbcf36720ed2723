/**
 * The main thread's side of the snapshot worker: starts it after recovery, logs what it reports,
 * and stops it. Nothing here is on the path of a command: a worker that fails is logged loudly
 * and the server keeps trading (snapshots are an optimisation; recovery falls back to the WAL).
 */
import { Worker } from 'node:worker_threads';
import type { CoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import type { ReadModelsOptions } from '../gateway/read_models.ts';
import type { RecoveryLog } from './recover_state.ts';
import type { SnapshotPolicy } from './snapshot_policy.ts';
import type { SnapshotWorkerData, SnapshotWorkerMessage } from './snapshot_worker.ts';
import { startBundleWorker } from '../boot/source_bundle.mjs';

export interface SnapshotServiceOptions {
  dataDir: string;
  marketSet: MarketSet;
  limits: CoreLimits;
  readModels: ReadModelsOptions;
  policy: SnapshotPolicy;
  log: RecoveryLog;
}

export type SnapshotServiceState = 'off' | 'starting' | 'running' | 'failed' | 'stopped';

export interface SnapshotStatus {
  state: SnapshotServiceState;
  /** Seq of the newest snapshot this run wrote (or started from), 0 when none. */
  lastSnapshotSeq: number;
  written: number;
  writeFailures: number;
  /** Why the worker ended, when it failed. */
  failure: string | null;
}

/** How long a graceful stop waits for a snapshot being written before it terminates the worker. */
const STOP_GRACE_MS = 5_000;

export class SnapshotService {
  private worker: Worker | undefined;
  private readonly control = new SharedArrayBuffer(4);
  private exited: Promise<void> = Promise.resolve();
  private readonly statusValue: SnapshotStatus = { state: 'off', lastSnapshotSeq: 0, written: 0, writeFailures: 0, failure: null };

  constructor(private readonly options: SnapshotServiceOptions) {}

  get status(): Readonly<SnapshotStatus> {
    return this.statusValue;
  }

  /** Starts the worker from the snapshot recovery used (`startSeq`, 0 for the whole WAL). */
  start(startSeq: number, counters: SharedArrayBuffer): void {
    const { options } = this;
    const workerData: SnapshotWorkerData = {
      dataDir: options.dataDir,
      marketSet: options.marketSet,
      limits: options.limits,
      readModels: options.readModels,
      policy: options.policy,
      startSeq,
      counters,
      control: this.control,
    };
    this.statusValue.state = 'starting';
    this.statusValue.lastSnapshotSeq = startSeq;
    const worker = spawnSnapshotWorker(workerData);
    this.worker = worker;
    worker.on('message', (message: SnapshotWorkerMessage) => this.onMessage(message));
    worker.on('error', (error) => this.fail(`${error.name}: ${error.message}`, error.stack ?? ''));
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /** Asks the worker to stop; a snapshot being written gets a few seconds, then the thread is ended. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    const flag = new Int32Array(this.control);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
    });
    const outcome = await Promise.race([this.exited.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    // An interrupted snapshot leaves at most a .tmp file, which is never read and removed next start.
    if (outcome === 'timeout') await worker.terminate();
    if (this.statusValue.state !== 'failed') this.statusValue.state = 'stopped';
  }

  /** The pipeline died: end the worker at once. */
  terminate(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) void worker.terminate();
  }

  private onMessage(message: SnapshotWorkerMessage): void {
    const { log } = this.options;
    const status = this.statusValue;
    switch (message.type) {
      case 'ready':
        status.state = 'running';
        if (message.leftoversRemoved.length > 0) log.warn({ files: message.leftoversRemoved }, 'snapshot: removed leftovers of an interrupted snapshot');
        if (message.niceError !== '') log.warn({ error: message.niceError }, 'snapshot: could not lower the worker thread priority; it competes with trading for CPU');
        log.info({ startSeq: message.startSeq, policy: this.options.policy, nice: message.niceError === '' ? message.nice : 0 }, 'snapshot: worker following the WAL');
        return;
      case 'written':
        status.written += 1;
        status.lastSnapshotSeq = message.seq;
        log.info(
          {
            seq: message.seq,
            file: message.file,
            bytes: message.bytes,
            elapsedMs: Math.round(message.elapsedMs),
            digest: message.digest.digest,
            removedSnapshots: message.retention.removedSnapshots,
            walRetention: message.retention.walRetention,
            walSegmentsRetired: message.retention.walSegments,
          },
          `snapshot: written at seq ${message.seq}`,
        );
        return;
      case 'write-failed':
        status.writeFailures += 1;
        log.error({ seq: message.seq, error: message.message }, 'snapshot: WRITING FAILED, retrying at the next trigger; trading continues');
        return;
      case 'failed':
        this.fail(message.message, message.stack);
        return;
    }
  }

  private fail(message: string, stack: string): void {
    if (this.statusValue.state === 'failed') return;
    this.statusValue.state = 'failed';
    this.statusValue.failure = message;
    this.options.log.error(
      { error: message, stack },
      'snapshot: WORKER FAILED, no further snapshots until restart; trading continues, recovery will replay more of the WAL',
    );
  }
}

function spawnSnapshotWorker(workerData: SnapshotWorkerData): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  if (!fromSources) return new Worker(new URL('./snapshot_worker.js', import.meta.url), { workerData });
  // From sources: an esbuild bundle of the worker's module (src/boot/source_bundle.mjs).
  return startBundleWorker(new URL('./snapshot_worker.ts', import.meta.url), { workerData });
}
