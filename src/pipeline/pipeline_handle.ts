/**
 * What the gateway sees of the pipeline: submit a command and hear back once it is durable,
 * matched and settled (or refused before the log), plus the phase and counters for /health and
 * /metrics. The threaded pipeline implements it; the gateway never touches rings or threads.
 */
import type { Command } from '../domain/commands.ts';
import type { RejectCode } from '../domain/reject_codes.ts';

export type SubmitResult =
  /** Durable in the WAL, matched and settled; the read models already reflect it. */
  | { readonly status: 'accepted'; readonly seq: number }
  /** Refused by the sequencer's pre-check: no seq, nothing reserved, nothing written. */
  | { readonly status: 'rejected'; readonly code: RejectCode; readonly duplicateOrderId: number }
  /** The inbound ring is full: answer 503 OVERLOADED with Retry-After. Nothing was queued. */
  | { readonly status: 'overloaded' }
  /** Not accepting commands: 503 RECOVERING or SHUTTING_DOWN. */
  | { readonly status: 'unavailable'; readonly phase: PipelinePhase };

export type PipelinePhase = 'recovering' | 'running' | 'stopping' | 'stopped';

export interface PipelineCounters {
  acceptedByType: Readonly<Record<'deposit' | 'withdraw' | 'place' | 'cancel', number>>;
  rejectedByType: Readonly<Record<'deposit' | 'withdraw' | 'place' | 'cancel', number>>;
  walFsyncs: number;
  walRecords: number;
  /** Histogram of records per fsync: upper bounds and cumulative-free bucket counts. */
  recordsPerFsync: { bounds: readonly number[]; counts: readonly number[]; sum: number; count: number };
  fsyncLatencyMs: { bounds: readonly number[]; counts: readonly number[]; sum: number; count: number };
  commandLatencyMs: { bounds: readonly number[]; counts: readonly number[]; sum: number; count: number };
  ringOccupancy: Readonly<Record<string, { size: number; capacity: number }>>;
}

export interface PipelineHandle {
  readonly phase: PipelinePhase;
  /** Highest seq whose results reached the main thread. */
  readonly lastSeq: number;
  /** Highest seq known to be on stable storage. */
  readonly durableSeq: number;
  /** The command is copied before this returns; the caller may reuse it. */
  submit(command: Readonly<Command>): Promise<SubmitResult>;
  counters(): PipelineCounters;
}
