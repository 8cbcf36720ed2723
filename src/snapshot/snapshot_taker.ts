/**
 * The snapshot worker's logic, synchronous and free of threads so that tests and the benchmark can
 * drive it directly: its own ExchangeCore and ReadModels, fed from the durable WAL by a WalFollower,
 * and a snapshot written from them when the policy says so.
 *
 * Never a wrong snapshot: before a snapshot is written, the core's invariants are checked, its
 * digest computed, and the encoded bytes are decoded again and rebuilt into a fresh core and fresh
 * read models, which must give the same digest and agree with each other (open orders, balances).
 * Only then is the file written (snapshot_file.ts: temp file, fsync, rename, fsync of the directory).
 */
import { exportCoreState } from '../core/core_state.ts';
import { ExchangeCore } from '../core/exchange_core.ts';
import { checkCoreInvariants } from '../core/invariants.ts';
import { stateDigest } from '../core/state_digest.ts';
import type { StateSummary } from '../core/state_digest.ts';
import { assert } from '../domain/assert.ts';
import type { CoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import type { ReadModelsOptions } from '../gateway/read_models.ts';
import { ReadModels } from '../gateway/read_models.ts';
import type { FileLayer } from '../wal/file_layer.ts';
import { nodeFileLayer } from '../wal/file_layer.ts';
import type { RetentionReport } from './retention.ts';
import { applyRetention } from './retention.ts';
import type { SnapshotContent } from './snapshot_codec.ts';
import { decodeSnapshotBody, encodeSnapshotBody, marketsFingerprint } from './snapshot_codec.ts';
import { readSnapshotFile, snapshotDirectory, snapshotFileName, writeSnapshotBytes } from './snapshot_file.ts';
import type { SnapshotPolicy } from './snapshot_policy.ts';
import { WalFollower } from './wal_follower.ts';
import * as path from 'node:path';

export interface SnapshotTakerOptions {
  dataDir: string;
  marketSet: MarketSet;
  limits: CoreLimits;
  /** The gateway's read-model limits: the snapshot holds what the gateway would hold. */
  readModels: ReadModelsOptions;
  policy: SnapshotPolicy;
  /** The snapshot recovery started from (its seq), or 0 for the whole WAL. */
  startSeq: number;
  fileLayer?: FileLayer;
  /** Wall clock for the time trigger (ms). */
  clock?: () => number;
}

export interface TakenSnapshot {
  seq: number;
  file: string;
  bytes: number;
  digest: StateSummary;
  /** Encode, verify and write, in ms. */
  elapsedMs: number;
  retention: RetentionReport;
}

export class SnapshotTaker {
  readonly core: ExchangeCore;
  readonly readModels: ReadModels;
  private readonly follower: WalFollower;
  private readonly options: SnapshotTakerOptions;
  private readonly layer: FileLayer;
  private readonly clock: () => number;
  private readonly markets: string;
  /** Seq and time of the last snapshot (or of the start), for the triggers. */
  private lastSnapshotSeq: number;
  private lastSnapshotAtMs: number;

  constructor(options: SnapshotTakerOptions) {
    this.options = options;
    this.layer = options.fileLayer ?? nodeFileLayer;
    this.clock = options.clock ?? Date.now;
    this.markets = marketsFingerprint(options.marketSet);
    this.readModels = new ReadModels(options.marketSet, options.readModels);
    if (options.startSeq === 0) {
      this.core = new ExchangeCore(options.marketSet, options.limits, this.readModels);
      this.follower = WalFollower.open(options.dataDir, null, this.layer);
    } else {
      const file = path.join(snapshotDirectory(options.dataDir), snapshotFileName(options.startSeq));
      const loaded = readSnapshotFile(file, this.layer);
      const readModelsState = loaded.body.readModels();
      assert(readModelsState !== null, `snapshot ${file} holds no read models`);
      this.core = ExchangeCore.fromState(options.marketSet, options.limits, loaded.body.core(), this.readModels);
      assert(stateDigest(this.core).digest === loaded.header.stateDigest, `snapshot ${file}: the state rebuilt does not match its digest`);
      this.readModels.restoreState(readModelsState);
      const { seq, walChainCrc, lastTimestampMs, walPosition } = loaded.body.meta;
      this.follower = WalFollower.open(options.dataDir, { seq, chainCrc: walChainCrc, lastTimestampMs, position: walPosition }, this.layer);
    }
    this.lastSnapshotSeq = options.startSeq;
    this.lastSnapshotAtMs = this.clock();
  }

  get lastSeq(): number {
    return this.core.lastSeq;
  }

  /** Applies durable records up to `durableSeq`, at most `recordsMax`; returns how many. */
  follow(durableSeq: number, recordsMax: number): number {
    const core = this.core;
    return this.follower.readUpTo(durableSeq, recordsMax, (command) => core.replay(command));
  }

  /**
   * True when the policy asks for a snapshot now. While far behind the log (catching up after a
   * start from the full WAL), the count trigger waits until the backlog is small, but never beyond
   * two intervals, so a worker slower than the traffic still takes snapshots.
   */
  due(durableSeq: number): boolean {
    const { everyRecords, everyMs } = this.options.policy;
    const since = this.core.lastSeq - this.lastSnapshotSeq;
    if (since <= 0) return false;
    if (everyRecords > 0 && since >= everyRecords) {
      const backlog = durableSeq - this.core.lastSeq;
      return backlog < everyRecords || since >= 2 * everyRecords;
    }
    return everyMs > 0 && this.clock() - this.lastSnapshotAtMs >= everyMs;
  }

  /** Marks the triggers as served even when writing failed, so that a failure is retried at the next one. */
  private served(): void {
    this.lastSnapshotSeq = this.core.lastSeq;
    this.lastSnapshotAtMs = this.clock();
  }

  /** Verifies and writes a snapshot of the state at `lastSeq`, then applies retention. Throws on any failure. */
  take(): TakenSnapshot {
    const started = performance.now();
    this.served();
    const { core, readModels, follower } = this;
    assert(core.lastSeq === follower.chainSeq, 'SnapshotTaker: the core is not where the follower is');
    assert(core.lastSeq >= 1, 'SnapshotTaker: nothing to snapshot');
    assert(readModels.lastSeq === core.lastSeq, 'SnapshotTaker: the read models are not at the core seq');
    checkCoreInvariants(core);
    const digest = stateDigest(core);
    const content: SnapshotContent = {
      seq: core.lastSeq,
      walChainCrc: follower.chainCrc,
      lastTimestampMs: follower.lastTimestampMs,
      walPosition: follower.lastRecordPosition,
      markets: this.markets,
      digest,
      core: exportCoreState(core, { clientOrderIdColumns: true }),
      readModels: readModels.exportState({ orderColumns: true }),
    };
    const body = encodeSnapshotBody(content);
    this.verify(body, digest);
    const dir = snapshotDirectory(this.options.dataDir);
    const written = writeSnapshotBytes(dir, content.seq, body, content.walChainCrc, digest.digest, this.layer);
    const retention = applyRetention(this.options.dataDir, this.options.policy.keep, this.options.policy.walRetention, this.layer);
    return { seq: content.seq, file: written.file, bytes: written.bytes, digest, elapsedMs: performance.now() - started, retention };
  }

  /** The bytes about to be written, decoded and rebuilt: the same digest, models that agree with the core. */
  private verify(body: Uint8Array, digest: StateSummary): void {
    const { marketSet, limits } = this.options;
    const decoded = decodeSnapshotBody(body);
    const state = decoded.core();
    // Sized to the state, not to the configured limits: this core only proves the bytes rebuild the
    // state, it never applies a command, and preallocating a million-order book would cost more than
    // the check itself.
    const sized: CoreLimits = {
      ...limits,
      ordersOpenMax: Math.max(1, state.engine.orders.length, state.ledger.orders.length, state.sequencer.openOrders.length),
      accountsMax: Math.max(1, state.ledger.accounts.length, state.sequencer.accounts.length),
      clientOrderIdsMax: Math.max(1, state.sequencer.clientOrderIds.length, state.sequencer.clientOrderIdColumns?.accountIds.length ?? 0),
    };
    const rebuilt = ExchangeCore.fromState(marketSet, sized, state);
    const rebuiltDigest = stateDigest(rebuilt);
    assert(rebuiltDigest.digest === digest.digest, `snapshot at ${digest.lastSeq}: the encoded state does not give the same digest`);
    const readModelsState = decoded.readModels();
    assert(readModelsState !== null, 'snapshot: the read models were not encoded');
    const models = new ReadModels(marketSet, this.options.readModels);
    models.restoreState(readModelsState);
    assert(models.lastSeq === digest.lastSeq, 'snapshot: read models at another seq');
    assert(models.openOrderCount === rebuilt.engine.openOrderCount, 'snapshot: read models and engine disagree on open orders');
    rebuilt.ledger.forEachBalance((accountId, assetId, availableUnits, lockedUnits) => {
      const balance = models.balance(accountId, assetId);
      assert(
        balance !== undefined && balance.availableUnits === availableUnits && balance.lockedUnits === lockedUnits,
        `snapshot: read models and ledger disagree on the balance of ${accountId}/${assetId}`,
      );
    });
  }

  close(): void {
    this.follower.close();
  }
}
