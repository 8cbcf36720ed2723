/**
 * State recovery, the one code path of the server's start-up (ThreadedPipeline.start) and of the
 * replay command: the newest valid snapshot plus the WAL after it, or the whole WAL.
 *
 * 1. Snapshots are tried newest first (at most `toSeq`). One is used only when everything checks:
 *    the file (header crc, size, SHA-256, msgpack), its market set, the state rebuilt from it (the
 *    state machines' own checks, the core invariants, and the digest it recorded), and then the WAL,
 *    which must continue it: the chain crc of its record `seq` must be the snapshot's
 *    (wal_reader.ts `afterSnapshot`). Anything else rejects it, says why in the log, and the next
 *    older one is tried. In 'recover' mode, once the state is rebuilt, a rejected snapshot is
 *    renamed `<name>.rejected` (kept, never read again): the log now continues without it.
 * 2. Without a usable snapshot, the whole WAL is replayed, which must then start at seq 1: a log
 *    whose older segments were archived or deleted cannot be rebuilt without its snapshot, and an
 *    empty log next to snapshots is not an empty exchange. Both refuse with a RecoveryError.
 *
 * 'recover' mode (server start) goes through recoverWal: a torn tail is cut, corruption refused or,
 * with `repair`, cut off. 'read' mode (replay command) changes nothing on disk.
 *
 * The gateway's read models, when given, are restored from the snapshot and fed every event of the
 * tail, so that they answer exactly as if the whole log had been replayed.
 *
 * Reading and applying overlap: when much of the WAL is left to read, a reader thread
 * (wal/wal_read_thread.ts) reads and verifies the log while this thread applies it. It runs the same
 * scan and returns the same result, so what is cut, refused or reported does not depend on it
 * (`walReadThread`). What counts is the WAL after the snapshot, not the whole log: with a snapshot
 * its file is read first, which says exactly where its tail starts, and the thread is started then
 * (so it still loads while the state is rebuilt) only when that tail is long. This thread never
 * waits for the reader to start: it reads inline until the reader is ready and hands over then.
 */
import * as path from 'node:path';
import type { CoreListener } from '../core/exchange_core.ts';
import { ExchangeCore } from '../core/exchange_core.ts';
import { checkCoreInvariants } from '../core/invariants.ts';
import { stateDigest } from '../core/state_digest.ts';
import type { Command } from '../domain/commands.ts';
import type { CoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import type { ReadModels, ReadModelsState } from '../gateway/read_models.ts';
import type { FileLayer } from '../wal/file_layer.ts';
import { nodeFileLayer } from '../wal/file_layer.ts';
import type { WalRecovery } from '../wal/recovery.ts';
import { recoverWal } from '../wal/recovery.ts';
import { listSegments, walDirectory } from '../wal/segment_file.ts';
import { WalReadThread } from '../wal/wal_read_thread.ts';
import type { ScanFunction, SnapshotChainPoint, TornTail } from '../wal/wal_reader.ts';
import { SnapshotMismatchError, readRecords } from '../wal/wal_reader.ts';
import { marketsFingerprint } from './snapshot_codec.ts';
import type { LoadedSnapshotFile, SnapshotName } from './snapshot_file.ts';
import { listSnapshots, readSnapshotFile, setSnapshotAside, snapshotDirectory } from './snapshot_file.ts';

export interface RecoveryLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface StateRecoveryOptions {
  marketSet: MarketSet;
  limits: CoreLimits;
  /** 'recover': the server's start (may cut a torn tail, repair, set snapshots aside). 'read': read-only. */
  mode: 'recover' | 'read';
  /** Start from the newest valid snapshot (default); false replays the whole WAL (`replay --full`). */
  useSnapshots?: boolean;
  /** Fresh read models to restore from the snapshot and to feed the replayed tail. */
  readModels?: ReadModels;
  /** Hears every event of the replay; only without snapshots (it cannot be restored from one). */
  listener?: CoreListener;
  /** Called with every record replayed, after the core applied it. */
  onRecord?: (command: Readonly<Command>) => void;
  /** 'recover' mode: cut corruption off instead of refusing to start. */
  repair?: boolean;
  /** 'read' mode: stop after this seq (and use no snapshot after it). */
  toSeq?: number;
  log?: RecoveryLog;
  fileLayer?: FileLayer;
  /**
   * Read and verify the WAL in a worker thread while this one applies it: 'auto' (default) when at
   * least WAL_READ_THREAD_BYTES_MIN of WAL is left to replay (after the snapshot used, or all of it)
   * and files go through node:fs, 'on', or 'off'.
   */
  walReadThread?: 'auto' | 'on' | 'off';
  /** Tests: how the reader thread is started (default WalReadThread.spawn). */
  spawnWalReader?: () => WalReadThread;
}

/**
 * Below this much WAL to replay the reader thread is not started: the reading it takes over is
 * ~0.4–0.6 µs per record here (~45 bytes per record in the benchmark's flow: 16 MiB is ~0.2 s),
 * and handing records across costs CPU on both sides. Measured on the benchmark's 10M-record log,
 * restarting cold from a snapshot 250,000 records before its end (an 11 MiB tail), 4 alternating
 * runs with the worker starting from its bundle: 2.96–3.54 s with the thread, 2.79–3.49 s without,
 * and ~0.5 s more CPU with it: no steady gain at that size.
 */
export const WAL_READ_THREAD_BYTES_MIN = 16 * 1024 * 1024;

export interface UsedSnapshot {
  file: string;
  seq: number;
  digest: string;
  bytes: number;
  /** Reading, verifying and rebuilding the state, in ms. */
  loadMs: number;
  /** Where `loadMs` went: the file (read, SHA-256, parse), the core rebuilt, its digest and invariants, the read models. */
  loadPhasesMs: LoadPhases;
}

export interface LoadPhases {
  fileMs: number;
  coreMs: number;
  checkMs: number;
  readModelsMs: number;
}

export interface RejectedSnapshot {
  file: string;
  reason: string;
  /** The `.rejected` name it was set aside as ('recover' mode), or null. */
  setAsideAs: string | null;
}

export interface StateRecovery {
  core: ExchangeCore;
  /** The snapshot the state started from, or null for the whole WAL. */
  snapshot: UsedSnapshot | null;
  rejectedSnapshots: RejectedSnapshot[];
  /** Records replayed from the WAL (after the snapshot), and their seqs (0 when none). */
  walRecords: number;
  walFirstSeq: number;
  /** The last seq of the log read (the snapshot's when the tail is empty). */
  walLastSeq: number;
  /** A torn tail: cut in 'recover' mode, only reported in 'read' mode. */
  tornTail: TornTail | null;
  /** 'recover' mode: where the log ends and the writer continues. */
  walRecovery: WalRecovery | null;
  /** True when a reader thread read (some of) the WAL while this thread applied it (`walReadThread`). */
  walReadThread: boolean;
  elapsedMs: number;
}

/** The state cannot be rebuilt from what is on disk: the server refuses to start. */
export class RecoveryError extends Error {
  override readonly name = 'RecoveryError';
}

const silentLog: RecoveryLog = { info() {}, warn() {}, error() {} };

export function recoverState(dataDir: string, options: StateRecoveryOptions): StateRecovery {
  const started = performance.now();
  const log = options.log ?? silentLog;
  const layer = options.fileLayer ?? nodeFileLayer;
  if (options.listener !== undefined && options.readModels !== undefined) throw new Error('recoverState: readModels or listener, not both');
  if (options.listener !== undefined && options.useSnapshots !== false) throw new Error('recoverState: a plain listener needs useSnapshots: false');
  if (options.toSeq !== undefined && options.mode !== 'read') throw new Error("recoverState: toSeq is for 'read' mode");
  const rejected: RejectedSnapshot[] = [];
  const candidates = options.useSnapshots === false ? [] : snapshotCandidates(dataDir, options.toSeq, layer);
  const source = new WalSource(options.walReadThread ?? 'auto', layer, log, options.spawnWalReader ?? WalReadThread.spawn);
  let result: Attempt | undefined;
  try {
    // Without a snapshot the whole WAL is read: the thread, when wanted, starts at once.
    if (candidates.length === 0) source.startReaderFor(walBytesAfter(dataDir, layer, null));
    for (const candidate of candidates) {
      const attempt = trySnapshot(dataDir, candidate, options, source, log);
      if ('core' in attempt) {
        result = attempt;
        break;
      }
      rejected.push({ ...attempt, setAsideAs: null });
      log.error({ file: attempt.file, reason: attempt.reason }, 'snapshot: REJECTED, falling back to an older snapshot or the full WAL');
    }
    if (result === undefined) {
      if (candidates.length > 0) log.warn({ rejected: rejected.length }, 'snapshot: none usable, replaying the whole WAL');
      source.startReaderFor(walBytesAfter(dataDir, layer, null));
      result = replayWholeLog(dataDir, options, source, candidates, rejected);
    }
  } finally {
    source.close();
  }
  // Only once the state is rebuilt: a start that is refused leaves every snapshot where it was.
  if (options.mode === 'recover') {
    for (const entry of rejected) {
      entry.setAsideAs = setSnapshotAside(entry.file, layer);
      log.warn({ file: entry.file, setAsideAs: entry.setAsideAs }, 'snapshot: a rejected snapshot was set aside (kept, never read again)');
    }
  }
  return { ...result, rejectedSnapshots: rejected, walReadThread: source.readerUsed, elapsedMs: performance.now() - started };
}

/**
 * Where the WAL is read from: the file layer, and the reader thread's scan once one is started
 * ('on': at once; 'auto': by `startReaderFor`, when enough WAL is left to replay).
 */
class WalSource {
  readonly layer: FileLayer;
  private readonly mode: 'auto' | 'on' | 'off';
  private reader: WalReadThread | null = null;
  private failureReported = false;

  private readonly log: RecoveryLog;

  private readonly spawnReader: () => WalReadThread;

  constructor(mode: 'auto' | 'on' | 'off', layer: FileLayer, log: RecoveryLog, spawnReader: () => WalReadThread) {
    this.layer = layer;
    this.log = log;
    this.mode = mode;
    this.spawnReader = spawnReader;
    if (mode === 'on') {
      if (layer !== nodeFileLayer) throw new Error("recoverState: walReadThread 'on' needs the node:fs file layer");
      this.reader = spawnReader();
    }
  }

  /** 'auto': starts the reader thread when `bytes` of WAL are left to replay and files go through node:fs. */
  startReaderFor(bytes: number): void {
    if (this.mode !== 'auto' || this.reader !== null || this.layer !== nodeFileLayer) return;
    if (bytes >= WAL_READ_THREAD_BYTES_MIN) this.reader = this.spawnReader();
  }

  /** True when records came through the reader thread (false: all were read on this thread). */
  get readerUsed(): boolean {
    return this.reader !== null && this.reader.recordsDelivered > 0;
  }

  /**
   * The reader thread's scan, or undefined (inline). Until its worker is ready the scan runs on
   * this thread and hands over then (WalReadThread.scan); a worker that never starts is reported,
   * and everything is read here.
   */
  get scanner(): ScanFunction | undefined {
    const reader = this.reader;
    if (reader === null) return undefined;
    return (dir, scanOptions) => {
      const scan = reader.scan(dir, scanOptions);
      if (reader.failed && !this.failureReported) {
        this.failureReported = true;
        this.log.warn({}, 'wal: the reader thread did not start; the WAL was read on this thread');
      }
      return scan;
    };
  }

  close(): void {
    this.reader?.close();
  }
}

/**
 * Bytes of WAL a replay reads after `point` (null: all of it): from right after the snapshot's
 * record when its position is known, else from the start of the segment holding the seq after it,
 * to the end of the log.
 */
export function walBytesAfter(dataDir: string, layer: FileLayer, point: SnapshotChainPoint | null): number {
  const walDir = walDirectory(dataDir);
  if (layer.stat(walDir) === null) return 0;
  const segments = listSegments(layer, walDir).segments;
  let first = 0;
  if (point !== null) for (let index = 0; index < segments.length && segments[index]!.firstSeq <= point.seq + 1; index++) first = index;
  let bytes = 0;
  for (let index = first; index < segments.length; index++) {
    const segment = segments[index]!;
    const size = layer.stat(path.join(walDir, segment.name))?.size ?? 0;
    const position = point?.position;
    const skipped = position !== undefined && position !== null && position.segment === segment.name ? Math.min(position.nextOffset, size) : 0;
    bytes += size - skipped;
  }
  return bytes;
}

function snapshotCandidates(dataDir: string, toSeq: number | undefined, layer: FileLayer): SnapshotName[] {
  const { snapshots } = listSnapshots(layer, snapshotDirectory(dataDir));
  return toSeq === undefined ? snapshots : snapshots.filter((snapshot) => snapshot.seq <= toSeq);
}

type Attempt = Omit<StateRecovery, 'rejectedSnapshots' | 'walReadThread' | 'elapsedMs'>;

function trySnapshot(
  dataDir: string,
  candidate: SnapshotName,
  options: StateRecoveryOptions,
  source: WalSource,
  log: RecoveryLog,
): Attempt | { file: string; reason: string } {
  const layer = source.layer;
  const file = path.join(snapshotDirectory(dataDir), candidate.name);
  const loadStarted = performance.now();
  let loaded: LoadedSnapshotFile;
  let core: ExchangeCore;
  const phases: LoadPhases = { fileMs: 0, coreMs: 0, checkMs: 0, readModelsMs: 0 };
  try {
    loaded = readSnapshotFile(file, layer);
    phases.fileMs = performance.now() - loadStarted;
    // Decided now that the tail's start is known; the thread loads while the state is rebuilt.
    source.startReaderFor(walBytesAfter(dataDir, layer, chainPointOf(loaded)));
    core = rebuild(loaded, options, phases);
  } catch (error) {
    options.readModels?.reset();
    return { file, reason: (error as Error).message };
  }
  const { meta } = loaded.body;
  const used: UsedSnapshot = { file, seq: meta.seq, digest: meta.digest.digest, bytes: loaded.bytes, loadMs: performance.now() - loadStarted, loadPhasesMs: phases };
  try {
    const tail = replayTail(dataDir, core, options, source, chainPointOf(loaded));
    log.info(
      { file, seq: used.seq, digest: used.digest, bytes: used.bytes, loadMs: Math.round(used.loadMs), loadPhasesMs: phases, tailRecords: tail.walRecords },
      `snapshot: recovered from ${candidate.name}, then the WAL after seq ${used.seq}`,
    );
    return { ...tail, core, snapshot: used };
  } catch (error) {
    if (!(error instanceof SnapshotMismatchError)) throw error;
    options.readModels?.reset();
    return { file, reason: `the WAL does not continue it: ${error.message}` };
  }
}

function chainPointOf(loaded: LoadedSnapshotFile): SnapshotChainPoint {
  const { meta } = loaded.body;
  return { seq: meta.seq, chainCrc: meta.walChainCrc, lastTimestampMs: meta.lastTimestampMs, position: meta.walPosition };
}

/**
 * The state of a snapshot as a core (and read models), checked; throws on any disagreement.
 *
 * The core is built first, while the heap is still small: its preallocated tables (hundreds of
 * megabytes of typed arrays at the default limits) make V8 run full collections as they are
 * allocated, and each of those walks whatever else is alive, such as decoded read models.
 */
function rebuild(loaded: LoadedSnapshotFile, options: StateRecoveryOptions, phases: LoadPhases): ExchangeCore {
  const { meta } = loaded.body;
  if (meta.markets !== marketsFingerprint(options.marketSet)) throw new Error('it was made with another market set');
  if (options.readModels !== undefined && !loaded.body.hasReadModels) throw new Error('it holds no read models');
  let started = performance.now();
  const core = ExchangeCore.fromState(options.marketSet, options.limits, loaded.body.core(), options.readModels ?? {});
  phases.coreMs = performance.now() - started;
  started = performance.now();
  const digest = stateDigest(core);
  if (digest.digest !== meta.digest.digest) throw new Error(`digest mismatch: the state rebuilt gives ${digest.digest}, the snapshot says ${meta.digest.digest}`);
  checkCoreInvariants(core);
  phases.checkMs = performance.now() - started;
  if (options.readModels !== undefined) {
    started = performance.now();
    const readModelsState: ReadModelsState | null = loaded.body.readModels();
    if (readModelsState === null) throw new Error('it holds no read models');
    options.readModels.restoreState(readModelsState);
    phases.readModelsMs = performance.now() - started;
  }
  return core;
}

type TailResult = Omit<Attempt, 'core' | 'snapshot'>;

/** Replays the WAL after `point` (or all of it) into `core`; throws SnapshotMismatchError first when it does not continue `point`. */
function replayTail(dataDir: string, core: ExchangeCore, options: StateRecoveryOptions, source: WalSource, point: SnapshotChainPoint | null): TailResult {
  const { layer, scanner } = source;
  const onRecord = options.onRecord;
  const apply = onRecord === undefined ? (command: Readonly<Command>) => core.replay(command) : (command: Readonly<Command>) => {
    core.replay(command);
    onRecord(command);
  };
  const after = { ...(point === null ? {} : { afterSnapshot: point }), ...(scanner === undefined ? {} : { scanner }) };
  if (options.mode === 'read') {
    const read = readRecords(dataDir, { onRecord: apply, fileLayer: layer, ...after, ...(options.toSeq === undefined ? {} : { toSeq: options.toSeq }) });
    const walLastSeq = Math.max(read.lastSeq, point?.seq ?? 0);
    return { walRecords: read.records, walFirstSeq: read.firstSeq, walLastSeq, tornTail: read.tornTail, walRecovery: null };
  }
  const recovery = recoverWal(dataDir, { onRecord: apply, fileLayer: layer, repair: options.repair === true, ...after });
  const tornTail = recovery.tornTail === null ? null : { file: recovery.tornTail.file, offset: recovery.tornTail.offset, bytes: recovery.tornTail.bytes };
  return { walRecords: recovery.records, walFirstSeq: recovery.firstSeq, walLastSeq: recovery.lastSeq, tornTail, walRecovery: recovery };
}

function replayWholeLog(
  dataDir: string,
  options: StateRecoveryOptions,
  source: WalSource,
  candidates: readonly SnapshotName[],
  rejected: readonly RejectedSnapshot[],
): Attempt {
  const layer = source.layer;
  const walDir = walDirectory(dataDir);
  const segments = layer.stat(walDir) === null ? [] : listSegments(layer, walDir).segments;
  const first = segments[0];
  const why = rejected.length === 0 ? '' : ` (snapshots rejected: ${rejected.map((entry) => `${path.basename(entry.file)}: ${entry.reason}`).join('; ')})`;
  if (first !== undefined && first.firstSeq !== 1) {
    throw new RecoveryError(
      `the WAL starts at seq ${first.firstSeq} (older segments were archived or deleted) and no usable snapshot covers seq ${first.firstSeq - 1}: the state cannot be rebuilt${why}`,
    );
  }
  if (first === undefined && candidates.length > 0) {
    throw new RecoveryError(
      `the WAL is empty but snapshots up to seq ${candidates[0]!.seq} exist: refusing to start from an empty state; move ${snapshotDirectory(dataDir)} away to start a new exchange${why}`,
    );
  }
  const core = new ExchangeCore(options.marketSet, options.limits, options.readModels ?? options.listener ?? {});
  return { ...replayTail(dataDir, core, options, source, null), core, snapshot: null };
}
