/**
 * THE IN-PROCESS TEST HARNESS FOR THE HTTP MAPPING — not the production pipeline.
 *
 * A PipelineHandle on top of the real state machines (ExchangeCore: sequencer → matching →
 * settlement in one thread), with the gateway's ReadModels as the core's listener. `submit` runs
 * the command through the core synchronously and resolves at once: accepted (the read models
 * already reflect it) or rejected by the pre-check. There are no rings, threads, WAL or fsync here,
 * so gateway tests exercise validation, decimal conversion, error mapping and read models against
 * the exact semantics of the core, independent of timing. The threaded pipeline and a real socket
 * are covered by their own suites.
 *
 * Tests can force the pipeline answers the core never gives (`phase`, `overloadNext`).
 */
import { ExchangeCore } from '../../src/core/exchange_core.ts';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, copyCommand, createCommand } from '../../src/domain/commands.ts';
import type { CoreLimits } from '../../src/domain/limits.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import type { MarketSet } from '../../src/domain/markets.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import type { ReadModelsOptions } from '../../src/gateway/read_models.ts';
import { ReadModels } from '../../src/gateway/read_models.ts';
import type { PipelineCounters, PipelineHandle, PipelinePhase, SubmitResult } from '../../src/pipeline/pipeline_handle.ts';

type TypeName = 'deposit' | 'withdraw' | 'place' | 'cancel';
const TYPE_NAMES: Readonly<Record<CommandType, TypeName>> = {
  [CommandType.Deposit]: 'deposit',
  [CommandType.Withdraw]: 'withdraw',
  [CommandType.Place]: 'place',
  [CommandType.Cancel]: 'cancel',
};

function emptyHistogram(): PipelineCounters['recordsPerFsync'] {
  return { bounds: [1, 10, 100], counts: [0, 0, 0], sum: 0, count: 0 };
}

/** A clock that advances one millisecond per command: timestamps in tests are deterministic. */
export function steppingClock(startMs = 1_700_000_000_000): () => number {
  let nowMs = startMs;
  return () => nowMs++;
}

export class InlinePipeline implements PipelineHandle {
  phase: PipelinePhase = 'running';
  /** When > 0, the next submits answer 'overloaded' (and decrement it) without touching the core. */
  overloadNext = 0;
  readonly core: ExchangeCore;
  /** Every command the core accepted, in seq order (what the WAL would hold). */
  readonly accepted: Command[] = [];
  private readonly scratch = createCommand();
  private readonly clock: () => number;
  private readonly acceptedByType: Record<TypeName, number> = { deposit: 0, withdraw: 0, place: 0, cancel: 0 };
  private readonly rejectedByType: Record<TypeName, number> = { deposit: 0, withdraw: 0, place: 0, cancel: 0 };

  constructor(core: ExchangeCore, clock: () => number = steppingClock()) {
    this.core = core;
    this.clock = clock;
  }

  get lastSeq(): number {
    return this.core.lastSeq;
  }

  get durableSeq(): number {
    return this.core.lastSeq;
  }

  async submit(command: Readonly<Command>): Promise<SubmitResult> {
    if (this.phase !== 'running') return { status: 'unavailable', phase: this.phase };
    if (this.overloadNext > 0) {
      this.overloadNext -= 1;
      return { status: 'overloaded' };
    }
    const scratch = copyCommand(command, this.scratch);
    const type = TYPE_NAMES[scratch.type];
    const code = this.core.submit(scratch, this.clock());
    if (code !== RejectCode.None) {
      this.rejectedByType[type] += 1;
      return { status: 'rejected', code, duplicateOrderId: this.core.sequencer.duplicateOrderId };
    }
    this.acceptedByType[type] += 1;
    this.accepted.push(copyCommand(scratch, createCommand()));
    return { status: 'accepted', seq: scratch.seq };
  }

  counters(): PipelineCounters {
    const records = this.accepted.length;
    return {
      acceptedByType: { ...this.acceptedByType },
      rejectedByType: { ...this.rejectedByType },
      walFsyncs: records,
      walRecords: records,
      recordsPerFsync: { bounds: [1, 10, 100], counts: [records, 0, 0], sum: records, count: records },
      fsyncLatencyMs: emptyHistogram(),
      commandLatencyMs: emptyHistogram(),
      ringOccupancy: { 'gateway-sequencer': { size: 0, capacity: 1024 } },
    };
  }
}

export interface InlineExchange {
  marketSet: MarketSet;
  readModels: ReadModels;
  core: ExchangeCore;
  pipeline: InlinePipeline;
}

export interface InlineExchangeOptions {
  marketSet?: MarketSet;
  coreLimits?: Partial<CoreLimits>;
  readModels?: ReadModelsOptions;
}

/** A real core with read models as its listener, behind an InlinePipeline. */
export function createInlineExchange(options: InlineExchangeOptions = {}): InlineExchange {
  const marketSet = options.marketSet ?? defaultMarketSet();
  const readModels = new ReadModels(marketSet, options.readModels ?? {});
  const limits: CoreLimits = { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 10_000, accountsMax: 10_000, ...options.coreLimits };
  const core = new ExchangeCore(marketSet, limits, readModels);
  return { marketSet, readModels, core, pipeline: new InlinePipeline(core) };
}
