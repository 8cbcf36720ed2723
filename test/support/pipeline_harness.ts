/**
 * Starts the real threaded pipeline on a temporary data directory, with the gateway's real read
 * models as its sink, and replays a data directory single-threaded for comparison.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExchangeCore } from '../../src/core/exchange_core.ts';
import { stateDigest } from '../../src/core/state_digest.ts';
import type { StateSummary } from '../../src/core/state_digest.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import type { CoreLimits } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { ReadModels } from '../../src/gateway/read_models.ts';
import { ThreadedPipeline } from '../../src/pipeline/threaded_pipeline.ts';
import type { PipelineOptions } from '../../src/pipeline/threaded_pipeline.ts';
import { DEFAULT_THREAD_LAYOUT, parseThreadLayout } from '../../src/pipeline/thread_layout.ts';
import type { WalConfig } from '../../src/wal/wal_config.ts';
import { walConfig } from '../../src/wal/wal_config.ts';
import { recoverWal } from '../../src/wal/recovery.ts';

export function tempDataDir(prefix = 'exchange-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface HarnessOptions {
  dataDir: string;
  ringCapacity?: number;
  layout?: string;
  limits?: Partial<CoreLimits>;
  batchRecords?: number;
  batchDelayMs?: number;
  durability?: 'fsync' | 'none';
  /** WAL settings beyond durability (sizes), as walConfig takes them. */
  wal?: Partial<Omit<WalConfig, 'dataDir' | 'durability'>>;
  onFatal?: (error: Error) => void;
}

export const silentLog = { info() {}, warn() {}, error() {} };

export function createPipeline(options: HarnessOptions): { pipeline: ThreadedPipeline; readModels: ReadModels } {
  const marketSet = defaultMarketSet();
  const readModels = new ReadModels(marketSet);
  const pipelineOptions: PipelineOptions = {
    marketSet,
    limits: { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 100_000, ...options.limits },
    wal: walConfig(options.dataDir, { ...options.wal, durability: options.durability ?? 'fsync' }),
    walPolicy: { batchRecords: options.batchRecords ?? 4096, batchDelayMs: options.batchDelayMs ?? 0 },
    ringCapacity: options.ringCapacity ?? 1024,
    layout: parseThreadLayout(options.layout ?? DEFAULT_THREAD_LAYOUT),
    repair: false,
    sink: readModels,
    log: silentLog,
    onFatal: options.onFatal ?? ((error) => {
      throw error;
    }),
  };
  return { pipeline: new ThreadedPipeline(pipelineOptions), readModels };
}

/** The replay command's view of a data directory: single-thread replay of the whole WAL. */
export function replayDigest(dataDir: string, limits: Partial<CoreLimits> = {}): StateSummary {
  const core = new ExchangeCore(defaultMarketSet(), { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 100_000, ...limits });
  recoverWal(dataDir, { onRecord: (command) => core.replay(command) });
  core.ledger.checkInvariants();
  return stateDigest(core);
}
