/**
 * The threaded pipeline as the main thread runs it.
 *
 * start(): recovers the state (src/snapshot/recover_state.ts: the newest valid snapshot, if
 * snapshots are on, then the WAL after it with a torn tail cut and corruption refused) through the
 * core in this thread, feeding the gateway's read models; then starts the workers from that state,
 * and the snapshot worker from the same point, and opens for commands. submit(): encodes the command into ring G→S (503 when full) and resolves
 * when its result comes back on T→G (durable, matched, settled) or its refusal on S→G.
 * stop(): closes intake, waits until every accepted command has come back, asks the workers to
 * stop, and computes the state digest from what they hand back (the replay command's digest).
 * A worker that dies takes the whole pipeline down through `onFatal`: never half-alive.
 */
import { Worker } from 'node:worker_threads';
import { assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import { CommandType, createCommand } from '../domain/commands.ts';
import type { OrderType, Side, TimeInForce } from '../domain/commands.ts';
import type { ExecutionSink } from '../domain/events.ts';
import type { CoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import { RejectCode } from '../domain/reject_codes.ts';
import { exportCoreState } from '../core/core_state.ts';
import type { CoreState } from '../core/core_state.ts';
import { digestOf } from '../core/state_digest.ts';
import type { StateSummary } from '../core/state_digest.ts';
import { Ledger } from '../settlement/ledger.ts';
import { engineFromState } from '../core/core_state.ts';
import {
  MessageTag,
  createAcceptedMessage,
  createBalanceMessage,
  createCancelRejectEvent,
  createCommandEndMessage,
  createLevelEvent,
  createOrderDoneEvent,
  createRejectMessage,
  createTradeEvent,
  decodeAccepted,
  decodeBalance,
  decodeCancelReject,
  decodeCommandEnd,
  decodeLevel,
  decodeOrderDone,
  decodeReject,
  decodeTrade,
  encodeCommandOf,
  readTag,
} from '../ring/messages.ts';
import type { Inbox } from '../ring/ring_endpoints.ts';
import type { SpscRing } from '../ring/spsc_ring.ts';
import type { WalConfig } from '../wal/wal_config.ts';
import { validateWalConfig } from '../wal/wal_config.ts';
import type { ReadModels, ReadModelsOptions } from '../gateway/read_models.ts';
import { recoverState } from '../snapshot/recover_state.ts';
import type { RejectedSnapshot, UsedSnapshot } from '../snapshot/recover_state.ts';
import { SnapshotService } from '../snapshot/snapshot_service.ts';
import type { SnapshotStatus } from '../snapshot/snapshot_service.ts';
import { snapshotsEnabled } from '../snapshot/snapshot_policy.ts';
import type { SnapshotPolicy } from '../snapshot/snapshot_policy.ts';
import type { WalRecovery } from '../wal/recovery.ts';
import type { WalStagePolicy } from '../wal/wal_stage.ts';
import { SubmitStatus } from './pipeline_handle.ts';
import type { PipelineCounters, PipelineHandle, PipelinePhase, SubmitCallback, SubmitResult } from './pipeline_handle.ts';
import { RING_NAMES, ThreadWiring, createWiring } from './ring_wiring.ts';
import { SharedCounters } from './shared_counters.ts';
import type { StageWorkerData, StageWorkerReport } from './stage_worker.ts';
import type { StageName, ThreadLayout } from './thread_layout.ts';
import { LatencyHistogram } from './latency_histogram.ts';
import { startBundleWorker } from '../boot/source_bundle.mjs';

export interface PipelineOptions {
  marketSet: MarketSet;
  limits: CoreLimits;
  wal: WalConfig;
  walPolicy: WalStagePolicy;
  ringCapacity: number;
  layout: ThreadLayout;
  repair: boolean;
  /** The gateway's read models: rebuilt by recovery, then fed from ring T→G. */
  sink: ExecutionSink;
  log: PipelineLog;
  /** A worker died or the pipeline broke: the caller must end the process (the server exits 1). */
  onFatal: (error: Error) => void;
  /**
   * Snapshots: recovery starts from the newest valid one, restoring `readModels` (which must be the
   * `sink`), and a background worker writes new ones per `policy`. Absent: the whole WAL is replayed.
   */
  snapshots?: { policy: SnapshotPolicy; readModels: ReadModels };
}

export interface PipelineLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface RecoveryReport {
  /** Records replayed from the WAL (after the snapshot, when one was used). */
  records: number;
  /** The snapshot recovery started from, or null (the whole WAL). */
  snapshot: UsedSnapshot | null;
  rejectedSnapshots: RejectedSnapshot[];
  lastSeq: number;
  segments: number;
  tornTail: WalRecovery['tornTail'];
  repair: WalRecovery['repair'];
  /** Recovery itself: the snapshot loaded and the WAL after it replayed. */
  elapsedMs: number;
  /** The stage workers started on the recovered state, until all of them were ready. */
  workersMs: number;
}

export interface StopReport extends StateSummary {
  durableSeq: number;
}

/**
 * The requests in flight, in preallocated rows: a request id is a slot + 1 (0 means "no request"
 * on the rings), taken from a stack of free slots at submit and given back when its result
 * arrives. Bounded: with every slot taken, submit answers "overloaded" (503), as for a full ring.
 *
 * A row holds the request's submit time, the caller's tag and every field of its command but the
 * two the sequencer stamps (seq, timestamp): settlement then reports an accepted command with those
 * two alone (Accepted on T→G) and the command is rebuilt here, instead of travelling back in full.
 * The most recently freed slot is taken first, so the rows in use stay few and warm in the cache.
 */
class PendingRequests {
  readonly capacity: number;
  private readonly callbacks: (SubmitCallback | undefined)[];
  private readonly f64: Float64Array;
  private readonly u32: Uint32Array;
  private readonly bytes: Uint8Array;
  /** The command's clientOrderId (the caller's string, kept as it is). */
  private readonly clientOrderIds: string[];
  private readonly freeSlots: Int32Array;
  private freeCount: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.callbacks = new Array<SubmitCallback | undefined>(capacity).fill(undefined);
    const rows = new ArrayBuffer(capacity * ROW_BYTES);
    this.f64 = new Float64Array(rows);
    this.u32 = new Uint32Array(rows);
    this.bytes = new Uint8Array(rows);
    this.clientOrderIds = new Array<string>(capacity).fill('');
    this.freeSlots = new Int32Array(capacity);
    for (let slot = 0; slot < capacity; slot += 1) this.freeSlots[slot] = capacity - 1 - slot;
    this.freeCount = capacity;
  }

  get size(): number {
    return this.capacity - this.freeCount;
  }

  /** A request id, or 0 when every slot is taken. */
  take(): number {
    if (this.freeCount === 0) return 0;
    this.freeCount -= 1;
    return this.freeSlots[this.freeCount]! + 1;
  }

  /** Gives back an id that take() handed out and that never got a callback (encoding failed). */
  giveBack(requestId: number): void {
    this.freeSlots[this.freeCount] = requestId - 1;
    this.freeCount += 1;
  }

  /** `command` was encoded (so checked) before: its fields are stored as they are. */
  attach(requestId: number, onResult: SubmitCallback, tag: number, startedAt: number, command: Readonly<Command>): void {
    const slot = requestId - 1;
    this.callbacks[slot] = onResult;
    this.clientOrderIds[slot] = command.clientOrderId;
    const d = slot * ROW_F64;
    const f64 = this.f64;
    f64[d + ROW_STARTED_AT] = startedAt;
    f64[d + ROW_TAG] = tag;
    f64[d + ROW_AMOUNT_UNITS] = command.amountUnits;
    f64[d + ROW_PRICE_TICKS] = command.priceTicks;
    f64[d + ROW_QTY_STEPS] = command.qtySteps;
    f64[d + ROW_QUOTE_QTY_UNITS] = command.quoteQtyUnits;
    f64[d + ROW_ORDER_ID] = command.orderId;
    const w = slot * ROW_U32;
    const u32 = this.u32;
    u32[w + ROW_ACCOUNT_ID] = command.accountId;
    u32[w + ROW_ASSET_ID] = command.assetId;
    u32[w + ROW_MARKET_ID] = command.marketId;
    const b = slot * ROW_BYTES;
    const bytes = this.bytes;
    bytes[b + ROW_TYPE] = command.type;
    bytes[b + ROW_SIDE] = command.side;
    bytes[b + ROW_ORDER_TYPE] = command.orderType;
    bytes[b + ROW_TIME_IN_FORCE] = command.timeInForce;
    bytes[b + ROW_POST_ONLY] = command.postOnly ? 1 : 0;
  }

  /** Whether `requestId` is a request in flight. */
  inFlight(requestId: number): boolean {
    const slot = requestId - 1;
    return slot >= 0 && slot < this.capacity && this.callbacks[slot] !== undefined;
  }

  /** The command a request in flight was submitted with, stamped with `seq` and `timestampMs`, into `into`. */
  commandOf(requestId: number, seq: number, timestampMs: number, into: Command): Command {
    const slot = requestId - 1;
    const d = slot * ROW_F64;
    const w = slot * ROW_U32;
    const b = slot * ROW_BYTES;
    const { f64, u32, bytes } = this;
    into.type = bytes[b + ROW_TYPE] as CommandType;
    into.seq = seq;
    into.timestampMs = timestampMs;
    into.accountId = u32[w + ROW_ACCOUNT_ID]!;
    into.assetId = u32[w + ROW_ASSET_ID]!;
    into.amountUnits = f64[d + ROW_AMOUNT_UNITS]!;
    into.marketId = u32[w + ROW_MARKET_ID]!;
    into.side = bytes[b + ROW_SIDE] as Side;
    into.orderType = bytes[b + ROW_ORDER_TYPE] as OrderType;
    into.timeInForce = bytes[b + ROW_TIME_IN_FORCE] as TimeInForce;
    into.postOnly = bytes[b + ROW_POST_ONLY] === 1;
    into.priceTicks = f64[d + ROW_PRICE_TICKS]!;
    into.qtySteps = f64[d + ROW_QTY_STEPS]!;
    into.quoteQtyUnits = f64[d + ROW_QUOTE_QTY_UNITS]!;
    into.clientOrderId = this.clientOrderIds[slot]!;
    into.orderId = f64[d + ROW_ORDER_ID]!;
    return into;
  }

  /** When a request in flight was submitted (performance.now()). */
  startedAtOf(requestId: number): number {
    return this.f64[(requestId - 1) * ROW_F64 + ROW_STARTED_AT] ?? 0;
  }

  /** The caller's tag of a request in flight. */
  tagOf(requestId: number): number {
    return this.f64[(requestId - 1) * ROW_F64 + ROW_TAG] ?? 0;
  }

  /** Completes a request: its callback, or undefined for an id not in flight. */
  complete(requestId: number): SubmitCallback | undefined {
    const slot = requestId - 1;
    if (!(slot >= 0 && slot < this.capacity)) return undefined;
    const onResult = this.callbacks[slot];
    if (onResult === undefined) return undefined;
    this.callbacks[slot] = undefined;
    this.clientOrderIds[slot] = '';
    this.freeSlots[this.freeCount] = slot;
    this.freeCount += 1;
    return onResult;
  }
}

/** A pending request's row: f64 fields first, then u32, then u8 (indexes in each view's units). */
const ROW_BYTES = 80;
const ROW_F64 = ROW_BYTES / 8;
const ROW_U32 = ROW_BYTES / 4;
const ROW_STARTED_AT = 0;
const ROW_TAG = 1;
const ROW_AMOUNT_UNITS = 2;
const ROW_PRICE_TICKS = 3;
const ROW_QTY_STEPS = 4;
const ROW_QUOTE_QTY_UNITS = 5;
const ROW_ORDER_ID = 6;
const ROW_ACCOUNT_ID = 14; // bytes 56..59
const ROW_ASSET_ID = 15;
const ROW_MARKET_ID = 16;
const ROW_TYPE = 68;
const ROW_SIDE = 69;
const ROW_ORDER_TYPE = 70;
const ROW_TIME_IN_FORCE = 71;
const ROW_POST_ONLY = 72;
assert(ROW_BYTES % 8 === 0, 'pending requests: rows keep their f64 fields aligned');
assert((ROW_ORDER_ID + 1) * 8 <= ROW_ACCOUNT_ID * 4, 'pending requests: the f64 fields end before the u32 fields');
assert(ROW_MARKET_ID * 4 + 4 <= ROW_TYPE, 'pending requests: the u32 fields end before the byte fields');
assert(ROW_POST_ONLY < ROW_BYTES, 'pending requests: the byte fields fit the row');

/** Messages handled per turn of the main-thread consumer before it yields to HTTP. */
const CONSUME_BATCH_MAX = 8192;
/** Requests in flight per ring slot of G→S: room for every ring of the pipeline to be full. */
const PENDING_PER_RING_SLOT = 8;

export class ThreadedPipeline implements PipelineHandle {
  private phaseValue: PipelinePhase = 'recovering';
  private lastSeqValue = 0;
  private readonly counterMemory = new SharedCounters();
  private wiring: ThreadWiring | undefined;
  private workers: Worker[] = [];
  private readonly pending: PendingRequests;
  private commandsRing: SpscRing | undefined;
  private rejects: Inbox | undefined;
  private reports: Inbox | undefined;
  private readonly latency = new LatencyHistogram();
  private consumer: Promise<void> | undefined;
  private stopWaiters: Array<() => void> = [];
  private stoppedReports: StageWorkerReport[] = [];
  private fatal: Error | undefined;
  private snapshotService: SnapshotService | undefined;
  private readonly stageThreadIds: { stages: string; threadId: number }[] = [];
  private publishScheduled = false;
  /**
   * The clock as the first command of this turn's batch was submitted: every command of the batch
   * is stamped with it (one clock read per batch, not per command). A later command of the same
   * turn is thus timed from a little before its submit: the latency metric errs long, never short.
   */
  private batchStartedAt = 0;
  /** Submit times of the requests completed in the current consumer batch (see recordLatencies). */
  private readonly completedStartedAt = new Float64Array(CONSUME_BATCH_MAX);
  private completedCount = 0;
  private readonly publishCommands = (): void => {
    this.publishScheduled = false;
    if (this.commandsRing!.publish() > 0) this.wiring!.ringDoorbellOf('GS');
  };
  private readonly scratch = {
    accepted: createAcceptedMessage(),
    command: createCommand(),
    trade: createTradeEvent(),
    done: createOrderDoneEvent(),
    level: createLevelEvent(),
    cancelReject: createCancelRejectEvent(),
    end: createCommandEndMessage(),
    reject: createRejectMessage(),
    balance: createBalanceMessage(),
  };

  constructor(private readonly options: PipelineOptions) {
    // Refused here, before recovery, rather than by the WAL thread once everything else has started.
    const walProblems = validateWalConfig(options.wal);
    if (walProblems.length > 0) throw new Error(`pipeline: invalid WAL configuration: ${walProblems.join('; ')}`);
    this.pending = new PendingRequests(options.ringCapacity * PENDING_PER_RING_SLOT);
  }

  get phase(): PipelinePhase {
    return this.phaseValue;
  }

  get lastSeq(): number {
    return this.lastSeqValue;
  }

  get durableSeq(): number {
    return this.counterMemory.durableSeq;
  }

  /** Recovery, then workers; resolves when the pipeline accepts commands. */
  async start(): Promise<RecoveryReport> {
    const { options } = this;
    const snapshots = options.snapshots;
    if (snapshots !== undefined && (snapshots.readModels as ExecutionSink) !== options.sink) {
      throw new Error('pipeline: snapshots.readModels must be the sink (the models restored are the models fed)');
    }
    const recovered = recoverState(options.wal.dataDir, {
      marketSet: options.marketSet,
      limits: options.limits,
      mode: 'recover',
      repair: options.repair,
      log: options.log,
      ...(snapshots === undefined ? { useSnapshots: false, listener: options.sink } : { readModels: snapshots.readModels }),
    });
    const recovery = recovered.walRecovery!;
    this.logRecovery(recovery);
    this.lastSeqValue = recovered.core.lastSeq;
    this.counterMemory.setDurableSeq(recovery.lastSeq);
    const report: RecoveryReport = {
      records: recovery.records,
      snapshot: recovered.snapshot,
      rejectedSnapshots: recovered.rejectedSnapshots,
      lastSeq: recovery.lastSeq,
      segments: recovery.segments.length,
      tornTail: recovery.tornTail,
      repair: recovery.repair,
      elapsedMs: recovered.elapsedMs,
      workersMs: 0,
    };
    const workersStartedAt = performance.now();
    // The clientOrderId table as an image: the sequencer worker adopts it rather than hashing a million ids again.
    await this.startWorkers(exportCoreState(recovered.core, { clientOrderIdImage: true }), recovery);
    report.workersMs = performance.now() - workersStartedAt;
    if (snapshots !== undefined && snapshotsEnabled(snapshots.policy)) {
      this.snapshotService = new SnapshotService({
        dataDir: options.wal.dataDir,
        marketSet: options.marketSet,
        limits: options.limits,
        readModels: readModelsOptionsOf(snapshots.readModels),
        policy: snapshots.policy,
        log: options.log,
      });
      this.snapshotService.start(recovered.snapshot?.seq ?? 0, this.counterMemory.buffer);
    }
    this.phaseValue = 'running';
    this.consumer = this.consumeLoop();
    return report;
  }

  /**
   * The OS thread ids of the stage workers (Linux; 0 where unknown), by the stages they run: what
   * the benchmarks read per-thread CPU time for, from /proc/<pid>/task/<id>/stat.
   */
  stageThreads(): readonly { stages: string; threadId: number }[] {
    return this.stageThreadIds;
  }

  /** The snapshot worker's state, for /health and tests; 'off' when snapshots are not taken. */
  snapshotStatus(): Readonly<SnapshotStatus> {
    return this.snapshotService?.status ?? { state: 'off', lastSnapshotSeq: 0, written: 0, writeFailures: 0, failure: null };
  }

  submit(command: Readonly<Command>): Promise<SubmitResult> {
    let settle: ((result: SubmitResult) => void) | undefined;
    const status = this.submitWith(command, (_tag, seq, rejectCode, duplicateOrderId) => {
      settle!(rejectCode === RejectCode.None ? { status: 'accepted', seq } : { status: 'rejected', code: rejectCode, duplicateOrderId });
    });
    if (status === SubmitStatus.Overloaded) return Promise.resolve({ status: 'overloaded' });
    if (status === SubmitStatus.Unavailable) return Promise.resolve({ status: 'unavailable', phase: this.phaseValue });
    // The executor runs now; the callback comes later, from the consumer loop.
    return new Promise((resolve) => {
      settle = resolve;
    });
  }

  submitWith(command: Readonly<Command>, onResult: SubmitCallback, tag = 0): SubmitStatus {
    assert(Number.isSafeInteger(tag), 'pipeline.submitWith: tag must be a safe integer');
    if (this.phaseValue !== 'running') return SubmitStatus.Unavailable;
    const ring = this.commandsRing!;
    const offset = ring.claim();
    if (offset < 0) return SubmitStatus.Overloaded;
    const requestId = this.pending.take();
    if (requestId === 0) {
      ring.unclaim();
      return SubmitStatus.Overloaded;
    }
    try {
      encodeCommandOf(ring, offset, requestId, command);
    } catch (error) {
      ring.unclaim();
      this.pending.giveBack(requestId);
      throw error;
    }
    // Batched publication: every command submitted in this turn of the event loop (all the HTTP
    // requests its poll phase parsed, not just this one) becomes visible with one store of the
    // ring's tail and at most one wake-up of the sequencer thread: a futex wake costs more than
    // handling a request, so waking once per request would make it the main thread's largest cost.
    if (!this.publishScheduled) {
      this.publishScheduled = true;
      this.batchStartedAt = performance.now();
      setImmediate(this.publishCommands);
    }
    this.pending.attach(requestId, onResult, tag, this.batchStartedAt, command);
    return SubmitStatus.Submitted;
  }

  counters(): PipelineCounters {
    const memory = this.counterMemory;
    const byType = (read: (type: number) => number) => ({
      deposit: read(CommandType.Deposit),
      withdraw: read(CommandType.Withdraw),
      place: read(CommandType.Place),
      cancel: read(CommandType.Cancel),
    });
    const ringOccupancy: Record<string, { size: number; capacity: number }> = {};
    if (this.wiring !== undefined) {
      for (const name of RING_NAMES) {
        const ring = this.wiring.ring(name);
        ringOccupancy[name] = { size: ring.size(), capacity: ring.capacity };
      }
    }
    return {
      acceptedByType: byType((type) => memory.accepted(type)),
      rejectedByType: byType((type) => memory.rejected(type)),
      walFsyncs: memory.walFsyncs,
      walRecords: memory.walRecords,
      recordsPerFsync: memory.recordsPerFsync(),
      fsyncLatencyMs: memory.fsyncLatencyMs(),
      commandLatencyMs: this.latency.snapshot(),
      ringOccupancy,
    };
  }

  /** Graceful stop: no new commands, drain everything accepted, stop the workers, digest. */
  async stop(): Promise<StopReport> {
    if (this.phaseValue === 'recovering' || this.phaseValue === 'stopped') throw new Error(`pipeline: cannot stop while ${this.phaseValue}`);
    this.phaseValue = 'stopping';
    // The consumer sleeps in Atomics.waitAsync, which holds no handle on the event loop: once the
    // workers are gone, a process with nothing else open (a script, no HTTP server) would end
    // before the stop finished. This timer keeps it alive until then.
    const keepAlive = setInterval(() => undefined, 1_000);
    try {
      while (this.pending.size > 0 && this.fatal === undefined) await new Promise<void>((resolve) => this.stopWaiters.push(resolve));
      const reports = await this.stopWorkers();
      await this.snapshotService?.stop();
      this.phaseValue = 'stopped';
      await this.consumer;
      return { ...this.digestFrom(reports), durableSeq: this.durableSeq };
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async startWorkers(state: CoreState, recovery: WalRecovery): Promise<void> {
    const { options } = this;
    const buffers = createWiring(options.layout, options.ringCapacity, this.counterMemory.buffer);
    this.wiring = new ThreadWiring(buffers, 0);
    this.commandsRing = this.wiring.ring('GS');
    this.rejects = this.wiring.inbox('SG');
    this.reports = this.wiring.inbox('TG');
    const ready: Promise<void>[] = [];
    for (let threadIndex = 1; threadIndex <= options.layout.length; threadIndex++) {
      const workerData: StageWorkerData = {
        threadIndex,
        wiring: buffers,
        marketSet: options.marketSet,
        limits: options.limits,
        state: stateForThread(state, options.layout[threadIndex - 1] ?? []),
        wal: { config: options.wal, position: recovery, policy: options.walPolicy },
        stagingSlots: options.limits.fillsPerCommandMax * 3 + 8,
      };
      // The clientOrderId image (tens of MB) moves to its thread instead of being copied there.
      const image = workerData.state.sequencer?.clientOrderIdImage;
      const worker = spawnStageWorker(workerData, image === undefined ? [] : [image.buffer]);
      this.workers.push(worker);
      ready.push(this.watchWorker(worker, threadIndex));
    }
    await Promise.all(ready);
  }

  private watchWorker(worker: Worker, threadIndex: number): Promise<void> {
    return new Promise((resolve, reject) => {
      worker.on('message', (report: StageWorkerReport) => {
        if (report.type === 'ready') {
          this.stageThreadIds.push({ stages: this.options.layout[threadIndex - 1]?.join('+') ?? '', threadId: report.threadId });
          resolve();
        }
        else this.stoppedReports.push(report);
      });
      worker.on('error', (error) => {
        reject(error);
        this.die(new Error(`pipeline worker ${threadIndex} (${this.options.layout[threadIndex - 1]?.join('+')}) failed: ${error.message}`, { cause: error }));
      });
      worker.on('exit', (code) => {
        if (code !== 0 || this.phaseValue !== 'stopping') {
          const error = new Error(`pipeline worker ${threadIndex} exited with code ${code} while ${this.phaseValue}`);
          reject(error);
          if (this.phaseValue !== 'stopping' && this.phaseValue !== 'stopped') this.die(error);
        }
      });
    });
  }

  private die(error: Error): void {
    if (this.fatal !== undefined) return;
    this.fatal = error;
    this.phaseValue = 'stopped';
    this.options.log.error({ err: error }, 'pipeline: fatal error, no further command is acknowledged');
    this.wiring?.requestStop();
    this.snapshotService?.terminate();
    for (const wake of this.stopWaiters.splice(0)) wake();
    this.options.onFatal(error);
  }

  private async stopWorkers(): Promise<StageWorkerReport[]> {
    const exits = this.workers.map((worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())));
    this.wiring!.requestStop();
    await Promise.all(exits);
    return this.stoppedReports;
  }

  private digestFrom(reports: StageWorkerReport[]): StateSummary {
    const { marketSet, limits } = this.options;
    let engineState: CoreState['engine'] | undefined;
    let ledgerState: CoreState['ledger'] | undefined;
    for (const report of reports) {
      if (report.type !== 'stopped') continue;
      engineState = report.engine ?? engineState;
      ledgerState = report.ledger ?? ledgerState;
    }
    if (engineState === undefined || ledgerState === undefined) throw new Error('pipeline: workers did not report their final state');
    const silent = { onTrade() {}, onOrderDone() {}, onLevel() {}, onCancelReject() {} };
    const engine = engineFromState(marketSet, limits, silent, engineState);
    const ledger = Ledger.fromState(marketSet, limits, { onCredit() {}, onOrderClosed() {}, onBalance() {} }, ledgerState);
    return digestOf({
      lastSeq: this.lastSeqValue,
      tradeIdLast: engine.tradeIdLast,
      marketCount: marketSet.markets.length,
      forEachBalance: (fn) => ledger.forEachBalance(fn),
      forEachOpenOrder: (marketId, side, fn) => engine.forEachOpenOrder(marketId, side, fn),
    });
  }

  /** The main-thread consumer of S→G and T→G: runs between HTTP callbacks, sleeps when idle. */
  private async consumeLoop(): Promise<void> {
    const wiring = this.wiring!;
    const hasWork = (): boolean => this.rejects!.available() > 0 || this.reports!.available() > 0 || this.phaseValue === 'stopped';
    while (this.phaseValue !== 'stopped') {
      const handled = this.consumeRejects() + this.consumeReports();
      if (this.phaseValue === 'stopping' && this.pending.size === 0) for (const wake of this.stopWaiters.splice(0)) wake();
      if (handled >= CONSUME_BATCH_MAX) await new Promise<void>((resolve) => setImmediate(resolve));
      else if (handled === 0) await wiring.doorbell.sleepAsync(hasWork, 50);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private consumeRejects(): number {
    const rejects = this.rejects!;
    const count = Math.min(rejects.available(), CONSUME_BATCH_MAX);
    if (count === 0) return 0;
    for (let i = 0; i < count; i++) {
      const reject = decodeReject(rejects.ring, rejects.offset(i), this.scratch.reject);
      this.complete(reject.requestId, 0, reject.code, reject.duplicateOrderId);
    }
    rejects.release(count);
    this.recordLatencies();
    return count;
  }

  private consumeReports(): number {
    const reports = this.reports!;
    const sink = this.options.sink;
    const scratch = this.scratch;
    const views = reports.ring;
    const count = Math.min(reports.available(), CONSUME_BATCH_MAX);
    if (count === 0) return 0;
    for (let i = 0; i < count; i++) {
      const offset = reports.offset(i);
      switch (readTag(views, offset)) {
        case MessageTag.Accepted: {
          const accepted = decodeAccepted(views, offset, scratch.accepted);
          if (!this.pending.inFlight(accepted.requestId)) {
            this.die(new Error(`pipeline: an accepted command came back for unknown request ${accepted.requestId}`));
            return count;
          }
          sink.onCommand(this.pending.commandOf(accepted.requestId, accepted.seq, accepted.timestampMs, scratch.command));
          break;
        }
        case MessageTag.Trade:
          sink.onTrade(decodeTrade(views, offset, scratch.trade));
          break;
        case MessageTag.OrderDone:
          sink.onOrderDone(decodeOrderDone(views, offset, scratch.done));
          break;
        case MessageTag.Level:
          sink.onLevel(decodeLevel(views, offset, scratch.level));
          break;
        case MessageTag.CancelReject:
          sink.onCancelReject(decodeCancelReject(views, offset, scratch.cancelReject));
          break;
        case MessageTag.Balance: {
          const balance = decodeBalance(views, offset, scratch.balance);
          sink.onBalance(balance.accountId, balance.assetId, balance.availableUnits, balance.lockedUnits);
          break;
        }
        case MessageTag.CommandEnd: {
          const end = decodeCommandEnd(views, offset, scratch.end);
          // Framing: the command this ends is the one the last Accepted began.
          if (!(end.seq === scratch.command.seq && end.requestId === scratch.accepted.requestId)) {
            this.die(new Error(`pipeline: CommandEnd of seq ${end.seq} does not end the command of seq ${scratch.command.seq}`));
            return count;
          }
          sink.onCommandEnd(scratch.command);
          this.lastSeqValue = end.seq;
          this.complete(end.requestId, end.seq, RejectCode.None, 0);
          break;
        }
        default:
          throw new Error(`pipeline: unexpected message tag on T→G at slot offset ${offset}`);
      }
    }
    reports.release(count);
    this.recordLatencies();
    return count;
  }

  /**
   * The latencies of the requests completed in this batch, all timed to its end (one clock read per
   * batch; a result handled early in the batch is timed a little long, never short).
   */
  private recordLatencies(): void {
    const count = this.completedCount;
    if (count === 0) return;
    const now = performance.now();
    for (let i = 0; i < count; i++) this.latency.record(now - this.completedStartedAt[i]!);
    this.completedCount = 0;
  }

  /**
   * Hands a result to its request's callback, synchronously: the read models already hold every
   * message before this one, so the callback sees its own command's effects. A callback that throws
   * must not leave the batch half consumed: its error is rethrown on its own, after this turn, as an
   * uncaught exception (what an unhandled rejection of the Promise API would have been).
   */
  private complete(requestId: number, seq: number, rejectCode: RejectCode, duplicateOrderId: number): void {
    const startedAt = this.pending.startedAtOf(requestId);
    const tag = this.pending.tagOf(requestId);
    const onResult = this.pending.complete(requestId);
    if (onResult === undefined) {
      this.die(new Error(`pipeline: a result came back for unknown request ${requestId}`));
      return;
    }
    // At most CONSUME_BATCH_MAX messages per batch, so at most as many completions.
    this.completedStartedAt[this.completedCount++] = startedAt;
    try {
      onResult(tag, seq, rejectCode, duplicateOrderId);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  private logRecovery(recovery: WalRecovery): void {
    const { log } = this.options;
    if (recovery.tornTail !== null) log.warn({ tornTail: recovery.tornTail }, 'wal: torn tail truncated (an unacknowledged partial write)');
    if (recovery.repair !== null) log.warn({ repair: recovery.repair }, 'wal: --repair cut the log at the first bad record');
    log.info({ records: recovery.records, lastSeq: recovery.lastSeq, segments: recovery.segments.length }, 'wal: recovered');
  }
}

/** The limits of the gateway's read models: the snapshot worker keeps its own models like them. */
function readModelsOptionsOf(readModels: ReadModels): ReadModelsOptions {
  return {
    closedOrdersMax: readModels.closedOrdersMax,
    tradesMax: readModels.tradesMax,
    fillsMax: readModels.fillsMax,
    fundingResultsMax: readModels.fundingResultsMax,
  };
}

/**
 * The parts of the recovered state a thread's stages start from: each part is cloned into the
 * thread that runs its stage and no other (the clientOrderId columns alone are tens of MB).
 */
function stateForThread(state: CoreState, stages: readonly StageName[]): StageWorkerData['state'] {
  const part: StageWorkerData['state'] = {};
  if (stages.includes('sequencer')) part.sequencer = state.sequencer;
  if (stages.includes('matching')) part.engine = state.engine;
  if (stages.includes('settlement')) part.ledger = state.ledger;
  return part;
}

function spawnStageWorker(workerData: StageWorkerData, transferList: ArrayBuffer[]): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  if (!fromSources) return new Worker(new URL('./stage_worker.js', import.meta.url), { workerData, transferList });
  // From sources: an esbuild bundle of the worker's module (src/boot/source_bundle.mjs).
  return startBundleWorker(new URL('./stage_worker.ts', import.meta.url), { workerData, transferList });
}
